/*
 * view_history.c — PyTorch's rule for in-place ops on views, and for views
 * whose base changed history.
 *
 * A view v of a base b shares b's memory. When an in-place op writes v:
 *
 *   b's history becomes CopySlices(b's old history, result):
 *       b_new = b_old with v's elements replaced by the op's result
 *   v's history becomes AsStridedBackward0(b_new): v is a view of b_new
 *
 * and every other view of b, whose history still leads to b's old value,
 * re-derives it from b's new history the next time it is used
 * (nbi_refresh_view: the view notices that b->grad_fn is not the node its
 * history was derived from).
 *
 * Both formulas need to know which of b's elements v covers. That is a
 * tensor of positions, made once per rebase: for each element of v (in v's
 * row-major order), its row-major index in b. With it,
 *
 *   AsStridedBackward0: grad_b = zeros(b).flat.scatter_add(pos, grad_v)
 *   CopySlices:         grad_b_old  = grad_b_new with v's elements zeroed
 *                       grad_result = grad_b_new.flat[pos]
 *
 * are written with public ops (scatter_add, index_select, where), so they
 * are differentiable again under create_graph.
 */
#include "autograd.h"

#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* Positions of a view's elements in its base                                */
/* ------------------------------------------------------------------------ */

/* Row-major index in base of the element at storage offset `offset`, or -1
 * when no element of base lives there. base must not overlap itself (its
 * elements are written in place); its dims are tried by decreasing stride. */
static int64_t logical_index(const nb_tensor *base, const int *order, int norder, const int64_t *row_stride,
                             int64_t offset)
{
    int64_t rest = offset - base->offset, index = 0;
    if (rest < 0) return -1;
    for (int k = 0; k < norder; k++) {
        int     d = order[k];
        int64_t q = rest / base->stride[d];
        if (q >= base->shape[d]) return -1;
        rest -= q * base->stride[d];
        index += q * row_stride[d];
    }
    return rest == 0 ? index : -1;
}

/* int64 tensor of view's shape: the row-major index in base of each of
 * view's elements. NOTE: host memory; the CUDA backend will need a kernel. */
static nb_tensor *view_positions(const nb_tensor *base, const nb_tensor *view, const char *op)
{
    int     order[NB_MAX_DIMS], norder = 0;
    int64_t row_stride[NB_MAX_DIMS];
    nbi_contiguous_strides(base->ndim, base->shape, row_stride);
    for (int d = 0; d < base->ndim; d++) {
        if (base->shape[d] == 1) continue;
        if (base->stride[d] <= 0)
            return nbi_fail(NB_ERR_UNSUPPORTED, "%s: the tensor viewed has a stride %lld; an in-place op on its "
                                                "view cannot be recorded", op, (long long)base->stride[d]);
        int k = norder++;
        while (k > 0 && base->stride[order[k - 1]] < base->stride[d]) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = d;
    }
    nbi_grad_mode_push(false);
    nb_tensor *positions = nbi_empty(view->ndim, view->shape, NB_INT64, NB_DEVICE_CPU);
    nbi_grad_mode_pop();
    if (positions == NULL) return NULL;
    int64_t *out = (int64_t *)nbi_ptr(positions);
    int64_t  at[NB_MAX_DIMS] = { 0 };
    for (int64_t i = 0; i < view->numel; i++) {
        int64_t offset = view->offset;
        for (int d = 0; d < view->ndim; d++) offset += at[d] * view->stride[d];
        out[i] = logical_index(base, order, norder, row_stride, offset);
        if (out[i] < 0) {
            nb_free(positions);
            return nbi_fail(NB_ERR_UNSUPPORTED, "%s: the view's elements cannot be located in the tensor it views",
                            op);
        }
        for (int d = view->ndim - 1; d >= 0 && ++at[d] == view->shape[d]; d--) at[d] = 0;
    }
    return positions;
}

static nb_tensor *flat(const nb_tensor *t) { return nb_reshape(t, NB_SHAPE(-1)); }

/* ------------------------------------------------------------------------ */
/* AsStridedBackward0: a view's history re-derived from its base             */
/* ------------------------------------------------------------------------ */

/* Inputs: base, positions (saved). */
static nb_status as_strided_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *base      = nbi_input(node, 0);
    nb_tensor *positions = nbi_input(node, 1);
    nb_tensor *zeros     = nb_zeros(NB_SHAPE(base->numel), NB_OPTS(.dtype = g->dtype, .device = g->storage->device));
    nb_tensor *summed    = nb_scatter_add(zeros, 0, flat(positions), flat(g));
    nb_status  status    = nbi_keep_grad(nb_reshape(summed, nb_shape_of(base)), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

static bool record_as_strided(nb_tensor *view, nb_tensor *base, nb_tensor *positions)
{
    const nb_tensor *inputs[2] = { base, positions };
    nbi_node        *previous  = view->grad_fn;
    if (previous && previous->retain_owner == view) previous->retain_owner = NULL;
    nbi_node *node = nbi_record(view, "AsStridedBackward0", as_strided_backward, 2, inputs, NBI_SAVES(1));
    if (node == NULL) return false;
    node->is_view = true;
    /* retain_grad follows the view to its new history, as in PyTorch. */
    if (view->retains_grad) node->retain_owner = view;
    return true;
}

void nbi_refresh_view_slow(nb_tensor *t)
{
    nb_tensor *base = t->view_base;
    if (!base->requires_grad || t->view_without_grad) {
        t->view_base_fn = base->grad_fn;
        return;
    }
    nb_tensor *positions = view_positions(base, t, "autograd");
    /* NOTE: on failure (out of memory) the view keeps its old history and
     * the error stays recorded; the next use tries again. */
    if (positions != NULL) {
        record_as_strided(t, base, positions);
        nb_free(positions);
    }
}

/* ------------------------------------------------------------------------ */
/* CopySlices: the base after an in-place op on one of its views            */
/* ------------------------------------------------------------------------ */

/* base's elements outside the view: a bool tensor of base's shape. NOTE:
 * host memory, as view_positions. */
static nb_tensor *outside_mask(const nb_tensor *base, const nb_tensor *positions)
{
    nb_tensor *mask = nb_ones(nb_shape_of(base), NB_OPTS(.dtype = NB_BOOL));
    if (mask == NULL) return NULL;
    const int64_t *at   = (const int64_t *)nbi_ptr(positions);
    uint8_t       *keep = (uint8_t *)nbi_ptr(mask);
    for (int64_t i = 0; i < positions->numel; i++) keep[at[i]] = 0;
    return mask;
}

/* Inputs: the base's old value (its history), the op's result, positions
 * (saved; contiguous, made by view_positions). */
static nb_status copy_slices_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *result    = nbi_input(node, 1);
    nb_tensor *positions = nbi_input(node, 2);
    nb_status  status    = NB_OK;
    if (nbi_input_needs_grad(node, 0)) {
        nbi_grad_mode_push(false);
        nb_tensor *mask = outside_mask(nbi_input(node, 0), positions);
        nb_tensor *zero = nb_zeros(NB_SHAPE(), NB_OPTS(.dtype = g->dtype));
        nbi_grad_mode_pop();
        status = nbi_keep_grad(nb_where(mask, g, zero), &grad_inputs[0]);
    }
    if (status == NB_OK && nbi_input_needs_grad(node, 1)) {
        nb_tensor *picked = nb_reshape(nb_index_select(flat(g), 0, flat(positions)), nb_shape_of(result));
        if (picked && picked->dtype != result->dtype) picked = nb_to_dtype(picked, result->dtype);
        status = nbi_keep_grad(picked, &grad_inputs[1]);
    }
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_rebase_view(nb_tensor *view, nb_tensor *result, const char *op)
{
    nb_tensor *base = view->view_base;
    if (!result->requires_grad && !base->requires_grad) return view;
    nb_tensor *positions = view_positions(base, view, op);
    /* old_base stands for the base's value before the write: it carries
     * the base's current history into the CopySlices node. */
    nb_tensor *old_base =
        positions ? nbi_alias_with_history(base, base->grad_fn, base->output_nr, base->requires_grad) : NULL;
    if (old_base == NULL) {
        nb_free(positions);
        return NULL;
    }
    nbi_node        *previous  = base->grad_fn;
    const nb_tensor *inputs[3] = { old_base, result, positions };
    bool ok = nbi_record(base, "CopySlices", copy_slices_backward, 3, inputs, NBI_SAVES(2)) != NULL;
    if (ok && base->retains_grad) {
        if (previous && previous->retain_owner == base) previous->retain_owner = NULL;
        base->grad_fn->retain_owner = base;
    }
    ok = ok && record_as_strided(view, base, positions);
    nbi_tensor_release(old_base);
    nb_free(positions);
    return ok ? view : NULL;
}
