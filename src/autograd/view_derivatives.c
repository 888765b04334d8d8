/*
 * view_derivatives.c — gradients of views, and of the copies that behave
 * like identities (contiguous, clone, dtype conversion).
 *
 * A view's gradient is the view undone: reshaped back, transposed back,
 * permuted back, summed back over broadcast dims, or (for views that pick a
 * region: narrow, slice, select, diagonal) embedded into zeros of the
 * base's shape. The embedding is itself recorded, with the view as its
 * backward, so second derivatives pass through views too.
 */
#include "autograd.h"

/* Re-apply the recorded view op to t (any tensor of the base's shape). */
static nb_tensor *apply_view(const nb_tensor *t, nbi_view_kind kind, const int64_t *a)
{
    switch (kind) {
    case NBI_VIEW_NARROW: return nb_narrow(t, (int)a[0], a[1], a[2]);
    case NBI_VIEW_SLICE: return nb_slice(t, (int)a[0], a[1], a[2], a[3]);
    case NBI_VIEW_SELECT: return nb_select(t, (int)a[0], a[1]);
    case NBI_VIEW_DIAGONAL: return nb_diagonal(t, a[0], (int)a[1], (int)a[2]);
    default: return nbi_fail(NB_ERR_STATE, "apply_view: view kind %d does not pick a region", (int)kind);
    }
}

static nb_status embed_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    grad_inputs[0] = apply_view(g, (nbi_view_kind)node->ints[0], node->ints + 1);
    return grad_inputs[0] ? NB_OK : nb_last_status();
}

/* zeros of shape with g written where the view of kind reads. */
static nb_tensor *embed(nb_tensor *g, int ndim, const int64_t *shape, nbi_view_kind kind, const int64_t *args,
                        int nargs)
{
    nb_shape s = { .ndim = ndim };
    for (int d = 0; d < ndim; d++) s.dims[d] = shape[d];
    nbi_grad_mode_push(false);
    nb_tensor *zeros  = nb_zeros(s, NB_OPTS(.dtype = g->dtype, .device = g->storage->device));
    nb_tensor *region = zeros ? apply_view(zeros, kind, args) : NULL;
    if (region) nbi_copy_into(region, g);
    nbi_grad_mode_pop();
    nb_free(region);
    if (region == NULL) {
        nb_free(zeros);
        return NULL;
    }
    const nb_tensor *input = g;
    if (zeros && nbi_should_record(1, &input)) {
        nbi_node *node = nbi_record(zeros, "EmbedBackward0", embed_backward, 1, &input, 0);
        if (node == NULL) {
            nb_free(zeros);
            return NULL;
        }
        node->ints[0] = kind;
        for (int i = 0; i < nargs; i++) node->ints[1 + i] = args[i];
    }
    return zeros;
}

static nb_status view_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    nb_tensor    *x    = nbi_input(node, 0);
    nbi_view_kind kind = (nbi_view_kind)node->ints[0];
    const int64_t *args = node->ints + 1;
    nb_tensor    *grad = NULL;
    switch (kind) {
    case NBI_VIEW_RESHAPE: {
        nb_shape s = { .ndim = x->ndim };
        for (int d = 0; d < x->ndim; d++) s.dims[d] = x->shape[d];
        grad = nb_reshape(g, s);
        break;
    }
    case NBI_VIEW_TRANSPOSE: grad = nb_transpose(g, (int)args[0], (int)args[1]); break;
    case NBI_VIEW_PERMUTE: {
        nb_dims inverse = { .n = x->ndim };
        for (int i = 0; i < x->ndim; i++) inverse.dims[args[i]] = i;
        grad = nb_permute(g, inverse);
        break;
    }
    case NBI_VIEW_EXPAND: grad = nbi_sum_to(g, x->ndim, x->shape); break;
    default: grad = embed(g, x->ndim, x->shape, kind, args, (int)node->ints[NBI_NODE_MAX_INTS - 1]); break;
    }
    grad_inputs[0] = grad;
    return grad ? NB_OK : nb_last_status();
}

static const char *view_node_name(nbi_view_kind kind)
{
    switch (kind) {
    case NBI_VIEW_RESHAPE: return "ViewBackward0";
    case NBI_VIEW_TRANSPOSE: return "TransposeBackward0";
    case NBI_VIEW_PERMUTE: return "PermuteBackward0";
    case NBI_VIEW_EXPAND: return "ExpandBackward0";
    case NBI_VIEW_NARROW: return "SliceBackward0";
    case NBI_VIEW_SLICE: return "SliceBackward0";
    case NBI_VIEW_SELECT: return "SelectBackward0";
    case NBI_VIEW_DIAGONAL: return "DiagonalBackward0";
    }
    return "ViewBackward0";
}

nb_tensor *nbi_record_view(nb_tensor *v, const nb_tensor *x, nbi_view_kind kind, const int64_t *args, int nargs,
                           const char *name)
{
    if (v == NULL) return NULL;
    nbi_set_view_base(v, x);
    if (!nbi_should_record(1, &x)) {
        /* PyTorch: a view made in no-grad mode reports its input's
         * requires_grad, but has no history. */
        if (x->requires_grad && !nbi_grad_enabled()) v->requires_grad = v->view_without_grad = true;
        return v;
    }
    nbi_node *node = nbi_record(v, name ? name : view_node_name(kind), view_backward, 1, &x, 0);
    if (node == NULL) {
        nb_free(v);
        return NULL;
    }
    node->is_view = true;
    node->ints[0] = kind;
    for (int i = 0; i < nargs && i + 1 < NBI_NODE_MAX_INTS - 1; i++) node->ints[1 + i] = args[i];
    node->ints[NBI_NODE_MAX_INTS - 1] = nargs;
    return v;
}

/* ------------------------------------------------------------------------ */
/* Copies                                                                    */
/* ------------------------------------------------------------------------ */

static nb_status copy_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    nb_tensor *x = nbi_input(node, 0);
    nb_device  d = x->storage->device, gd = g->storage->device;
    if (d.type != gd.type || d.index != gd.index) { /* nb_to: back to x's device */
        nb_tensor *moved = nb_to(g, d);
        grad_inputs[0]   = moved && moved->dtype != x->dtype ? nb_to_dtype(moved, x->dtype) : moved;
        if (grad_inputs[0] != moved) nb_free(moved);
    } else {
        grad_inputs[0] = g->dtype == x->dtype ? nbi_alias_recorded(g, "ToCopyBackward0") : nb_to_dtype(g, x->dtype);
    }
    return grad_inputs[0] ? NB_OK : nb_last_status();
}

nb_tensor *nbi_record_copy(nb_tensor *out, const nb_tensor *x, const char *name)
{
    if (out == NULL || !nb_dtype_is_floating(out->dtype) || !nbi_should_record(1, &x)) return out;
    if (nbi_record(out, name, copy_backward, 1, &x, 0) == NULL) {
        nb_free(out);
        return NULL;
    }
    return out;
}

/* copy_: dst's new value is src's (broadcast, converted). Inputs: dst's old
 * value (no gradient reaches it), src. */
static nb_status copy_into_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_status status = NB_OK;
    if (nbi_input_needs_grad(node, 0)) status = nbi_keep_grad(nb_zeros_like(g), &grad_inputs[0]);
    if (status == NB_OK && nbi_input_needs_grad(node, 1)) {
        nb_tensor *src  = nbi_input(node, 1);
        nb_tensor *grad = nbi_sum_to(g, src->ndim, src->shape);
        if (grad && grad->dtype != src->dtype) grad = nb_to_dtype(grad, src->dtype);
        status = nbi_keep_grad(grad, &grad_inputs[1]);
    }
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_copy_into(nb_tensor *result, nb_tensor *old, const nb_tensor *src)
{
    const nb_tensor *inputs[2] = { old, src };
    if (result == NULL || !nbi_should_record(2, inputs)) return result;
    if (nbi_record(result, "CopyBackwards", copy_into_backward, 2, inputs, 0) == NULL) {
        nb_free(result);
        return NULL;
    }
    return result;
}
