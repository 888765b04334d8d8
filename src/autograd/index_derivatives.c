/*
 * index_derivatives.c — gradients of joining and indexing: cat, stack,
 * index_select, gather, scatter, scatter_add, masked_fill, masked_select,
 * and the values of sort / topk / max / min along a dim.
 *
 * The rule behind most of them: an op that reads t at some positions has
 * the gradient "add g into zeros of t's shape at those positions", which is
 * scatter_add; and scatter_add's own gradient is gather. Written with those
 * public ops, the formulas differentiate again for free.
 */
#include "autograd.h"
#include "ops/nn_primitives.h"

/* Record with the given inputs, dim in ints[0] and flag in ints[1] (what
 * the formula needs beside the inputs), or free out on failure. */
static nb_tensor *record(nb_tensor *out, const char *name, nbi_backward_fn backward, int count,
                         const nb_tensor *const *inputs, uint32_t saves, int64_t dim, int64_t flag)
{
    if (out == NULL || !nb_dtype_is_floating(out->dtype) || !nbi_should_record(count, inputs)) return out;
    nbi_node *node = nbi_record(out, name, backward, count, inputs, saves);
    if (node == NULL) {
        nb_free(out);
        return NULL;
    }
    node->ints[0] = dim;
    node->ints[1] = flag;
    return out;
}

/* piece (a slice of g, or NULL) in x's dtype, which cat and stack may have
 * promoted; takes over piece. */
static nb_tensor *in_dtype_of(nb_tensor *piece, const nb_tensor *x)
{
    if (piece == NULL || piece->dtype == x->dtype) return piece;
    nb_tensor *converted = nb_to_dtype(piece, x->dtype);
    nb_free(piece);
    return converted;
}

/* zeros shaped like x, in g's dtype, with g added at index along dim. */
static nb_tensor *scatter_into_zeros(const nb_tensor *x, int dim, const nb_tensor *index, nb_tensor *g)
{
    nb_tensor *zeros = nb_zeros(nb_shape_of(x), NB_OPTS(.dtype = g->dtype));
    return nb_scatter_add(zeros, dim, index, g);
}

/* ------------------------------------------------------------------------ */
/* cat and stack: each input's gradient is its slice of g                    */
/* ------------------------------------------------------------------------ */

static nb_status cat_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    int       dim    = (int)node->ints[0];
    int64_t   offset = 0;
    nb_status status = NB_OK;
    for (int i = 0; i < node->ninputs && status == NB_OK; i++) {
        nb_tensor *x = nbi_input(node, i);
        /* Legacy 1-D empty inputs were skipped by cat; their gradient is
         * empty too (torch's, not none). */
        if (x->ndim == 1 && x->numel == 0 && g->ndim != 1) {
            if (nbi_input_needs_grad(node, i) && (grad_inputs[i] = nb_zeros_like(x)) == NULL) status = nb_last_status();
            continue;
        }
        int64_t size = x->shape[dim];
        if (nbi_input_needs_grad(node, i)) {
            grad_inputs[i] = in_dtype_of(nb_narrow(g, dim, offset, size), x);
            if (grad_inputs[i] == NULL) status = nb_last_status();
        }
        offset += size;
    }
    return status;
}

nb_tensor *nbi_record_cat(nb_tensor *out, nb_tensor *const *tensors, int count, int dim)
{
    return record(out, "CatBackward0", cat_backward, count, (const nb_tensor *const *)tensors, 0, dim, 0);
}

static nb_status stack_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    for (int i = 0; i < node->ninputs; i++) {
        if (!nbi_input_needs_grad(node, i)) continue;
        grad_inputs[i] = in_dtype_of(nb_select(g, (int)node->ints[0], i), nbi_input(node, i));
        if (grad_inputs[i] == NULL) return nb_last_status();
    }
    return NB_OK;
}

nb_tensor *nbi_record_stack(nb_tensor *out, nb_tensor *const *tensors, int count, int dim)
{
    return record(out, "StackBackward0", stack_backward, count, (const nb_tensor *const *)tensors, 0, dim, 0);
}

/* ------------------------------------------------------------------------ */
/* index_select, gather, scatter                                             */
/* ------------------------------------------------------------------------ */

/* inputs (t, index): g goes back to the selected rows, summed where an
 * index repeats. index is expanded along the other dims to g's shape. */
static nb_status index_select_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *t = nbi_input(node, 0), *index = nbi_input(node, 1);
    int        dim = (int)node->ints[0];
    nb_status  status;
    if (t->ndim == 0) {
        status = nbi_keep_grad(nb_reshape(g, NB_SCALAR_SHAPE), &grad_inputs[0]);
    } else {
        nb_shape along = { .ndim = g->ndim };
        for (int d = 0; d < g->ndim; d++) along.dims[d] = d == dim ? index->numel : 1;
        nb_tensor *expanded = nb_expand(nb_reshape(index, along), nb_shape_of(g));
        status              = nbi_keep_grad(scatter_into_zeros(t, dim, nb_contiguous(expanded), g), &grad_inputs[0]);
    }
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_index_select(nb_tensor *out, const nb_tensor *t, int dim, const nb_tensor *index)
{
    const nb_tensor *inputs[2] = { t, index };
    return record(out, "IndexSelectBackward0", index_select_backward, 2, inputs, NBI_SAVES(1), dim, 0);
}

/* inputs (t, index) */
static nb_status gather_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_status status = nbi_keep_grad(scatter_into_zeros(nbi_input(node, 0), (int)node->ints[0], nbi_input(node, 1), g),
                                 &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_gather(nb_tensor *out, const nb_tensor *t, int dim, const nb_tensor *index)
{
    const nb_tensor *inputs[2] = { t, index };
    return record(out, "GatherBackward0", gather_backward, 2, inputs, NBI_SAVES(1), dim, 0);
}

/* part (index's shape, which may be smaller than like's in any dim, down to
 * empty) padded with zeros at the end of each dim to like's shape: the
 * elements of src that index does not reach get no gradient. NOTE: gather
 * alone returns index's shape, which is not src's: a gradient of the wrong
 * shape, written through a view, lands on the wrong elements of its base. */
static nb_tensor *padded_to(nb_tensor *part, const nb_tensor *like)
{
    if (part == NULL || part->ndim != like->ndim) return part;
    int64_t pads[2 * NB_MAX_DIMS];
    bool    differs = false;
    for (int k = 0; k < like->ndim; k++) {
        int d           = like->ndim - 1 - k; /* pads list the last dim first */
        pads[2 * k]     = 0;
        pads[2 * k + 1] = like->shape[d] - part->shape[d];
        differs         = differs || pads[2 * k + 1] != 0;
    }
    return differs ? nbi_pad_op(part, pads, 2 * like->ndim, 0) : part;
}

/* inputs (t, index, src); ints[1] = accumulate. t's gradient passes where
 * it was not overwritten (scatter) or everywhere (scatter_add); src's is g
 * gathered at index. */
static nb_status scatter_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *index = nbi_input(node, 1), *src = nbi_input(node, 2);
    int        dim    = (int)node->ints[0];
    nb_status  status = NB_OK;
    if (nbi_input_needs_grad(node, 0)) {
        nb_tensor *gt = node->ints[1] ? nbi_alias_recorded(g, "ScatterAddBackward0")
                                      : nb_scatter(g, dim, index, nb_zeros(nb_shape_of(src), NB_OPTS(.dtype = g->dtype)));
        status = nbi_keep_grad(gt, &grad_inputs[0]);
    }
    if (status == NB_OK && nbi_input_needs_grad(node, 2))
        status = nbi_keep_grad(padded_to(nb_gather(g, dim, index), src), &grad_inputs[2]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_scatter(nb_tensor *out, const nb_tensor *t, int dim, const nb_tensor *index,
                              const nb_tensor *src, bool accumulate)
{
    const nb_tensor *inputs[3] = { t, index, src };
    return record(out, accumulate ? "ScatterAddBackward0" : "ScatterBackward0", scatter_backward, 3, inputs,
                  NBI_SAVES(1), dim, accumulate);
}

/* ------------------------------------------------------------------------ */
/* masked_fill, masked_select                                                */
/* ------------------------------------------------------------------------ */

/* inputs (t, mask) */
static nb_status masked_fill_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *t      = nbi_input(node, 0);
    nb_tensor *passed = nb_masked_fill(g, nbi_input(node, 1), 0);
    nb_status  status = nbi_keep_grad(passed ? nbi_sum_to(passed, t->ndim, t->shape) : NULL, &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_masked_fill(nb_tensor *out, const nb_tensor *t, const nb_tensor *mask)
{
    const nb_tensor *inputs[2] = { t, mask };
    return record(out, "MaskedFillBackward0", masked_fill_backward, 2, inputs, NBI_SAVES(1), 0, 0);
}

/* inputs (t, mask): g (1-D) goes back to the positions the mask chose, in
 * the broadcast shape of t and mask, then summed down to t's shape. */
static nb_status masked_select_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *t = nbi_input(node, 0), *mask = nbi_input(node, 1);
    nb_shape   shape;
    nb_status  status = nb_broadcast_shapes(nb_shape_of(t), nb_shape_of(mask), &shape);
    if (status == NB_OK) {
        nb_tensor *flat_mask = nb_reshape(nb_contiguous(nb_expand(mask, shape)), NB_SHAPE(-1));
        nb_tensor *positions = nb_reshape(nb_nonzero(flat_mask), NB_SHAPE(-1));
        nb_tensor *flat      = nb_zeros(NB_SHAPE(nbi_shape_numel(shape.ndim, shape.dims)), NB_OPTS(.dtype = g->dtype));
        nb_tensor *placed    = nb_reshape(nb_scatter_add(flat, 0, positions, g), shape);
        status = nbi_keep_grad(placed ? nbi_sum_to(placed, t->ndim, t->shape) : NULL, &grad_inputs[0]);
    }
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_masked_select(nb_tensor *out, const nb_tensor *t, const nb_tensor *mask)
{
    const nb_tensor *inputs[2] = { t, mask };
    return record(out, "MaskedSelectBackward0", masked_select_backward, 2, inputs, NBI_SAVES(1), 0, 0);
}

/* ------------------------------------------------------------------------ */
/* Values picked along a dim: sort, topk, max/min with indices               */
/* ------------------------------------------------------------------------ */

/* inputs (t, indices); ints[1]: the dim was kept (sort, topk, keepdim). */
static nb_status picked_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *t = nbi_input(node, 0), *indices = nbi_input(node, 1);
    int        dim = (int)node->ints[0];
    nb_status  status;
    if (t->ndim == 0) {
        status = nbi_keep_grad(nb_reshape(g, NB_SCALAR_SHAPE), &grad_inputs[0]);
    } else {
        nb_tensor *gk = node->ints[1] ? g : nb_unsqueeze(g, dim);
        nb_tensor *ik = node->ints[1] ? indices : nb_unsqueeze(indices, dim);
        status        = nbi_keep_grad(scatter_into_zeros(t, dim, ik, gk), &grad_inputs[0]);
    }
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_picked(nb_tensor *values, const nb_tensor *t, int dim, const nb_tensor *indices, bool dim_kept,
                             const char *name)
{
    const nb_tensor *inputs[2] = { t, indices };
    return record(values, name, picked_backward, 2, inputs, NBI_SAVES(1), dim, dim_kept);
}
