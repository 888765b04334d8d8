/*
 * pool_derivatives.c — gradients of pooling and padding (ops/nn_primitives.h):
 *
 *   y = window_mean(x)          dx = window_mean_adjoint(g)   (and the reverse)
 *   y = max_pool2d(x)           dx = max_unpool(g, indices)   (g added at the argmax)
 *   y = max_unpool(g, indices)  dg = gather of the gradient at indices
 *   y = pad(x, pads)            dx = pad(g, -pads) with zeros (crops what was
 *                               added, and zero-fills what was cropped)
 *
 * All are linear in their differentiable input, so the formulas are again
 * ops of the set and differentiate any number of times.
 */
#include "nn_derivatives.h"

static nbi_node *record(nb_tensor *out, const char *name, nbi_backward_fn backward, int count,
                        const nb_tensor *const *inputs, uint32_t saves)
{
    nbi_node *node = nbi_record(out, name, backward, count, inputs, saves);
    if (node == NULL) nb_free(out);
    return node;
}

/* ------------------------------------------------------------------------ */
/* Window means (avg_pool2d, adaptive_avg_pool2d)                            */
/* ------------------------------------------------------------------------ */

/* A window mean's node parameters: its windows, and whether the op was the
 * adjoint (whose gradient is the mean again). */
typedef struct {
    nbi_window_spec spec;
    bool            adjoint;
} window_params;

/* inputs (t) */
static nb_status window_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    const window_params *p    = NBI_NODE_PARAMS(node, window_params);
    nb_tensor           *grad = p->adjoint ? nbi_window_mean_op(g, &p->spec) : nbi_window_mean_adjoint_op(g, &p->spec);
    if (!p->adjoint) /* torch's avg_pool2d_backward takes x: a zero second derivative through it */
        grad = nbi_link_to_input(node, 0, grad,
                                 p->spec.adaptive ? "AdaptiveAvgPool2DBackwardBackward0" : "AvgPool2DBackwardBackward0");
    nb_status            status = nbi_keep_grad(grad, &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_window_mean(nb_tensor *out, const nb_tensor *x, const nbi_window_spec *spec, bool adjoint)
{
    if (out == NULL || !nbi_should_record(1, &x)) return out;
    const char *name = adjoint
                           ? (spec->adaptive ? "AdaptiveAvgPool2DBackwardBackward0" : "AvgPool2DBackwardBackward0")
                           : (spec->adaptive ? "AdaptiveAvgPool2DBackward0" : "AvgPool2DBackward0");
    nbi_node   *node = record(out, name, window_backward, 1, &x, 0);
    if (node == NULL) return NULL;
    *NBI_NODE_PARAMS(node, window_params) = (window_params){ .spec = *spec, .adjoint = adjoint };
    return out;
}

/* ------------------------------------------------------------------------ */
/* Max pooling                                                               */
/* ------------------------------------------------------------------------ */

/* inputs (x, indices) */
static nb_status max_pool2d_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x      = nbi_input(node, 0);
    nb_tensor *grad   = nbi_max_unpool_op(g, nbi_input(node, 1), x->shape[x->ndim - 2], x->shape[x->ndim - 1]);
    nb_status  status = nbi_keep_grad(nbi_link_to_input(node, 0, grad, "MaxPool2DWithIndicesBackwardBackward0"),
                                      &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_max_pool2d(nb_tensor *out, const nb_tensor *x, const nb_tensor *indices)
{
    const nb_tensor *inputs[2] = {x, indices};
    if (out == NULL || !nbi_should_record(1, &x)) return out;
    return record(out, "MaxPool2DWithIndicesBackward0", max_pool2d_backward, 2, inputs, NBI_SAVES(1)) ? out : NULL;
}

/* inputs (g, indices); gg (..., H, W) is read at the indices of each plane. */
static nb_status max_unpool_backward(nbi_node *node, nb_tensor *gg, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *g = nbi_input(node, 0), *indices = nbi_input(node, 1);
    int64_t    planes = 1;
    for (int d = 0; d < g->ndim - 2; d++)
        planes *= g->shape[d];
    int64_t    count = g->shape[g->ndim - 2] * g->shape[g->ndim - 1];
    int64_t    size  = gg->shape[gg->ndim - 2] * gg->shape[gg->ndim - 1];
    nb_tensor *picked =
        nb_gather(nb_reshape(gg, NB_SHAPE(planes, size)), 1, nb_reshape(indices, NB_SHAPE(planes, count)));
    nb_status status = nbi_keep_grad(picked ? nb_reshape(picked, nb_shape_of(g)) : NULL, &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_max_unpool(nb_tensor *out, const nb_tensor *g, const nb_tensor *indices)
{
    const nb_tensor *inputs[2] = {g, indices};
    if (out == NULL || !nbi_should_record(1, &g)) return out;
    return record(out, "MaxPool2DWithIndicesBackwardBackward0", max_unpool_backward, 2, inputs, NBI_SAVES(1)) ? out : NULL;
}

/* ------------------------------------------------------------------------ */
/* Constant padding                                                          */
/* ------------------------------------------------------------------------ */

/* A pad's node parameters: its (before, after) pairs. */
typedef struct {
    int     npads;
    int64_t pads[2 * NB_MAX_DIMS];
} pad_params;

/* inputs (x) */
static nb_status pad_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    const pad_params *p = NBI_NODE_PARAMS(node, pad_params);
    int64_t           negated[2 * NB_MAX_DIMS];
    for (int i = 0; i < p->npads; i++)
        negated[i] = -p->pads[i];
    nb_status status = nbi_keep_grad(nbi_pad_op(g, negated, p->npads, 0.0), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_pad(nb_tensor *out, const nb_tensor *x, const int64_t *pads, int npads)
{
    if (out == NULL || !nbi_should_record(1, &x)) return out;
    nbi_node *node = record(out, "ConstantPadNdBackward0", pad_backward, 1, &x, 0);
    if (node == NULL) return NULL;
    pad_params *p = NBI_NODE_PARAMS(node, pad_params);
    p->npads      = npads;
    if (npads > 0) memcpy(p->pads, pads, sizeof p->pads[0] * (size_t)npads); /* pads may be NULL for none */
    return out;
}
