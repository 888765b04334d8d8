/*
 * advanced_index.c — PyTorch's index expressions: t[1, 2:8:2, None, ...,
 * idx, mask] for reading (nb_index) and writing (nb_index_put, _put_).
 *
 * An expression is applied in two stages, as torch does:
 *   1. The basic items, left to right, as views: an integer selects (the
 *      dim goes), a slice narrows, None inserts a dim of size 1, the
 *      ellipsis skips the dims no other item takes. Index tensors only note
 *      the dim they index (a k-d bool mask: its nonzero coordinates, one
 *      int64 tensor per dim it covers; a 0-d bool: a new dim of size 1 and
 *      the index [0] or []).
 *   2. The index tensors are broadcast together to a shape B and the
 *      result's elements are picked by their offsets in the view made
 *      contiguous: B takes the place of the indexed dims when they are
 *      neighbours, else it comes first (numpy's rule, which torch follows).
 * Without index tensors the result is the view itself.
 *
 * Everything is made of public ops (index_select, scatter, arithmetic on
 * int64 offsets), so it is differentiable and runs on any device that runs
 * those: reading goes through index_select (its gradient accumulates
 * duplicates), writing through scatter / scatter_add on a flat view.
 */
#include <string.h>

#include "autograd/autograd.h"
#include "core/backend.h"

/* The stage-1 result: the view and the dims index tensors take. */
typedef struct {
    nb_tensor *view;
    int        count;                 /* index tensors */
    int        dim[NB_MAX_DIMS];      /* the dim of view each one indexes, ascending */
    nb_tensor *index[NB_MAX_DIMS];    /* int64, not yet broadcast or wrapped */
} parsed_index;

/* How many dims of t an item takes (an ellipsis: 0 here). */
static int dims_taken(const nb_index_item *item)
{
    switch (item->kind) {
    case NB_INDEX_INT:
    case NB_INDEX_SLICE: return 1;
    case NB_INDEX_TENSOR:
        if (item->tensor->dtype == NB_BOOL || item->tensor->dtype == NB_UINT8) return item->tensor->ndim;
        return 1;
    default: return 0;
    }
}

static bool check_items(const nb_tensor *t, nb_index_list list, const char *op)
{
    if (list.n < 0 || list.n > NB_MAX_INDEX_ITEMS)
        return nbi_fail(NB_ERR_ARG, "%s: an index list holds 0 to %d items, not %d", op, NB_MAX_INDEX_ITEMS, list.n),
               false;
    int taken = 0, ellipses = 0, added = 0;
    for (int k = 0; k < list.n; k++) {
        const nb_index_item *item = &list.items[k];
        switch (item->kind) {
        case NB_INDEX_INT:
        case NB_INDEX_SLICE: break;
        case NB_INDEX_NONE: added++; break;
        case NB_INDEX_ELLIPSIS: ellipses++; break;
        case NB_INDEX_TENSOR:
            if (!nbi_check_tensor(item->tensor, op, "an index tensor")) return false;
            if (item->tensor->dtype != NB_INT64 && item->tensor->dtype != NB_BOOL && item->tensor->dtype != NB_UINT8)
                return nbi_fail(NB_ERR_DTYPE, "%s: index tensors must be int64, bool or uint8 (a mask), got %s (as torch)",
                                op, nb_dtype_name(item->tensor->dtype)),
                       false;
            if (item->tensor->ndim == 0 && item->tensor->dtype != NB_INT64) added++;
            break;
        default: return nbi_fail(NB_ERR_ARG, "%s: item %d has an unknown kind %d", op, k, (int)item->kind), false;
        }
        if (item->kind == NB_INDEX_SLICE && item->step <= 0)
            return nbi_fail(NB_ERR_ARG, "%s: item %d: a slice's step must be greater than zero, got %lld (as torch)", op,
                            k, (long long)item->step),
                   false;
        taken += dims_taken(item);
    }
    if (ellipses > 1) return nbi_fail(NB_ERR_ARG, "%s: an index holds at most one ellipsis", op), false;
    if (taken > t->ndim)
        return nbi_fail(NB_ERR_ARG, "%s: too many indices for a tensor of %d dims (they take %d)", op, t->ndim, taken),
               false;
    if (t->ndim - taken + added + list.n > 4 * NB_MAX_DIMS || t->ndim - taken + added > NB_MAX_DIMS)
        return nbi_fail(NB_ERR_SHAPE, "%s: the result would have more than %d dims", op, NB_MAX_DIMS), false;
    return true;
}

/* view's dim d at position i (from the end when negative), or NULL with
 * torch's message. */
static nb_tensor *select_checked(nb_tensor *view, int d, int64_t i, const char *op)
{
    int64_t size = view->shape[d];
    if (i < -size || i >= size)
        return nbi_fail(NB_ERR_INDEX, "%s: index %lld is out of bounds for dimension %d with size %lld", op,
                        (long long)i, d, (long long)size);
    return nb_select(view, d, i);
}

/* Stage 1, inside the caller's scope (every tensor made belongs to it). */
static bool parse(const nb_tensor *t, nb_index_list list, const char *op, parsed_index *out)
{
    *out = (parsed_index){ .view = (nb_tensor *)t };
    if (!check_items(t, list, op)) return false;
    int taken = 0;
    for (int k = 0; k < list.n; k++) taken += dims_taken(&list.items[k]);
    nb_tensor *view = (nb_tensor *)t; /* not written through: the basic ops make new views */
    int        d    = 0; /* the next dim of view an item applies to */
    for (int k = 0; k < list.n && view != NULL; k++) {
        const nb_index_item *item = &list.items[k];
        switch (item->kind) {
        case NB_INDEX_INT: view = select_checked(view, d, item->start, op); break;
        case NB_INDEX_SLICE: view = nb_slice(view, d, item->start, item->stop, item->step); d++; break;
        case NB_INDEX_NONE: view = nb_unsqueeze(view, d); d++; break;
        case NB_INDEX_ELLIPSIS: d += t->ndim - taken; break;
        case NB_INDEX_TENSOR: {
            const nb_tensor *index = item->tensor;
            if (index->dtype == NB_INT64 && index->ndim == 0) {
                /* an integer, as torch takes a 0-d integer tensor (a
                 * select, not a broadcast index that would move the
                 * advanced dims to the front when not adjacent) */
                int64_t at;
                view = nb_copy_to_buffer(index, &at, sizeof at) == NB_OK ? select_checked(view, d, at, op) : NULL;
                break;
            }
            if (index->dtype == NB_INT64) {
                out->dim[out->count]     = d++;
                out->index[out->count++] = (nb_tensor *)index;
                break;
            }
            if (index->ndim == 0) {
                /* a 0-d mask: a new dim, all of it (true) or none (false) */
                view = nb_unsqueeze(view, d);
                bool keep = nb_item(index) != 0;
                out->dim[out->count]     = d++;
                out->index[out->count++] = nb_zeros(NB_SHAPE(keep ? 1 : 0), NB_OPTS(.dtype = NB_INT64, .device = nb_device_of(t)));
                break;
            }
            for (int j = 0; j < index->ndim; j++)
                if (index->shape[j] != view->shape[d + j])
                    return nbi_fail(NB_ERR_SHAPE,
                                    "%s: the mask's size %lld at its dim %d does not match the indexed tensor's %lld "
                                    "at dim %d",
                                    op, (long long)index->shape[j], j, (long long)view->shape[d + j], d + j),
                           false;
            nb_tensor *coordinates = nb_nonzero(index);
            for (int j = 0; j < index->ndim; j++) {
                out->dim[out->count]     = d++;
                out->index[out->count++] = nb_select(coordinates, 1, j);
            }
            break;
        }
        }
    }
    out->view = view;
    for (int k = 0; k < out->count; k++)
        if (out->index[k] == NULL) view = NULL;
    return view != NULL;
}

/* ------------------------------------------------------------------------ */
/* Stage 2: offsets of the picked elements                                   */
/* ------------------------------------------------------------------------ */

/* The element offsets (int64, the result's shape) of view's picked
 * elements, measured with strides (in elements) and a start offset: those
 * of the view itself, or of its contiguous copy. Also the result's shape.
 * Index tensors are wrapped (negative counts from the end) and checked. */
static nb_tensor *picked_offsets(const parsed_index *p, const int64_t *strides, int64_t start, const char *op,
                                 nb_shape *result_shape)
{
    const nb_tensor *view = p->view;
    nb_device        device = nb_device_of(view);
    /* B: the index tensors broadcast together */
    nb_shape b = nb_shape_of(p->index[0]);
    for (int k = 1; k < p->count; k++)
        if (nb_broadcast_shapes(b, nb_shape_of(p->index[k]), &b) != NB_OK)
            return nbi_fail(NB_ERR_SHAPE, "%s: the index tensors cannot be broadcast together", op);
    bool neighbours = true;
    for (int k = 1; k < p->count; k++)
        if (p->dim[k] != p->dim[0] + k) neighbours = false;
    /* The result's dims: (kept dims before, B, kept dims after) for
     * neighbours, else (B, kept dims); where each kept dim lands. */
    int  first_b = neighbours ? p->dim[0] : 0;
    bool indexed[NB_MAX_DIMS] = { false };
    for (int k = 0; k < p->count; k++) indexed[p->dim[k]] = true;
    int kept_at[NB_MAX_DIMS], ndim = 0;
    nb_shape shape = { .ndim = 0 };
    for (int d = 0; d < view->ndim + 1; d++) {
        if (d == first_b) {
            if (ndim + b.ndim > NB_MAX_DIMS) return nbi_fail(NB_ERR_SHAPE, "%s: the result would have more than %d dims", op, NB_MAX_DIMS);
            for (int j = 0; j < b.ndim; j++) shape.dims[ndim++] = b.dims[j];
        }
        if (d == view->ndim || indexed[d]) continue;
        if (ndim >= NB_MAX_DIMS) return nbi_fail(NB_ERR_SHAPE, "%s: the result would have more than %d dims", op, NB_MAX_DIMS);
        kept_at[d]        = ndim;
        shape.dims[ndim++] = view->shape[d];
    }
    shape.ndim    = ndim;
    *result_shape = shape;
    /* B's dims sit at first_b .. first_b + b.ndim of the result */
    nb_shape b_in_result = { .ndim = ndim };
    for (int j = 0; j < ndim; j++) b_in_result.dims[j] = j >= first_b && j < first_b + b.ndim ? shape.dims[j] : 1;
    nb_tensor *offsets = nb_full(NB_SCALAR_SHAPE, (double)start, NB_OPTS(.dtype = NB_INT64, .device = device));
    for (int k = 0; k < p->count && offsets != NULL; k++) {
        int64_t    size  = view->shape[p->dim[k]];
        nb_tensor *index = p->index[k];
        nb_tensor *bad   = nb_any(nb_logical_or(nb_lt_scalar(index, (double)-size), nb_ge_scalar(index, (double)size)));
        if (bad == NULL) return NULL;
        if (nb_item(bad) != 0) {
            nb_tensor *outside = nb_masked_select(index, nb_logical_or(nb_lt_scalar(index, (double)-size),
                                                                     nb_ge_scalar(index, (double)size)));
            long long  first   = outside && nb_numel(outside) > 0 ? (long long)nb_item_int64(nb_select(outside, 0, 0)) : 0;
            return nbi_fail(NB_ERR_INDEX, "%s: index %lld is out of bounds for dimension %d with size %lld", op, first,
                            p->dim[k], (long long)size);
        }
        nb_tensor *wrapped = nb_where(nb_lt_scalar(index, 0), nb_add_scalar(index, (double)size), index);
        nb_tensor *placed  = nb_reshape(nb_broadcast_to(wrapped, b), b_in_result);
        offsets            = nb_add(offsets, nb_mul_scalar(placed, (double)strides[p->dim[k]]));
    }
    for (int d = 0; d < view->ndim && offsets != NULL; d++) {
        if (indexed[d]) continue;
        nb_shape along = { .ndim = ndim };
        for (int j = 0; j < ndim; j++) along.dims[j] = j == kept_at[d] ? view->shape[d] : 1;
        nb_tensor *steps = nb_arange(0, (double)view->shape[d], 1, NB_OPTS(.dtype = NB_INT64, .device = device));
        offsets          = nb_add(offsets, nb_reshape(nb_mul_scalar(steps, (double)strides[d]), along));
    }
    return offsets ? nb_contiguous(nb_expand(offsets, shape)) : NULL;
}

/* Row-major strides (in elements) of a contiguous tensor of view's shape. */
static void contiguous_strides(const nb_tensor *view, int64_t *strides)
{
    int64_t step = 1;
    for (int d = view->ndim - 1; d >= 0; d--) {
        strides[d] = step;
        step *= view->shape[d];
    }
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

nb_tensor *nb_index(const nb_tensor *t, nb_index_list list)
{
    const char *op = "nb_index";
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (nb_scope_begin() != NB_OK) return NULL;
    nb_tensor   *out = NULL;
    parsed_index p;
    if (!parse(t, list, op, &p)) goto done;
    if (p.count == 0) {
        /* basic items only: a view (t[...]: of all of t, as torch's alias) */
        out = p.view == t ? nb_view(t, nb_shape_of(t)) : p.view;
        goto done;
    }
    nb_tensor *block = nb_contiguous(p.view);
    int64_t    strides[NB_MAX_DIMS];
    contiguous_strides(p.view, strides);
    nb_shape   shape;
    nb_tensor *offsets = block ? picked_offsets(&p, strides, 0, op, &shape) : NULL;
    if (offsets == NULL) goto done;
    nb_tensor *picked = nb_index_select(nb_reshape(block, NB_SHAPE(-1)), 0, nb_reshape(offsets, NB_SHAPE(-1)));
    out = nb_reshape(picked, shape);
done:
    out = nb_keep(out);
    nb_scope_end();
    return out;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

static bool check_values(const nb_tensor *t, const nb_tensor *values, const char *op)
{
    if (!nbi_check_tensor(values, op, "values")) return false;
    const nb_tensor  *pair[2]  = { t, values };
    static const char *const names[2] = { "t", "values" };
    return nbi_check_device(op, 2, pair, names);
}

/* values in t's dtype, broadcast to shape (what the index picks). Leading
 * size-1 dims beyond shape's are dropped first, as torch's x[...] = v does
 * (x[2] = v of shape (1, n) into a row of n). */
static nb_tensor *values_for(const nb_tensor *values, const nb_tensor *t, nb_shape shape, const char *op)
{
    while (values != NULL && values->ndim > shape.ndim && values->shape[0] == 1) values = nb_squeeze_dim(values, 0);
    if (values == NULL) return NULL;
    nb_shape joined;
    if (nb_broadcast_shapes(nb_shape_of(values), shape, &joined) != NB_OK || joined.ndim != shape.ndim ||
        memcmp(joined.dims, shape.dims, sizeof(int64_t) * (size_t)shape.ndim) != 0) {
        char have[NBI_SHAPE_STR_SIZE], want[NBI_SHAPE_STR_SIZE];
        nbi_shape_str(values->ndim, values->shape, have, sizeof have);
        nbi_shape_str(shape.ndim, shape.dims, want, sizeof want);
        return nbi_fail(NB_ERR_SHAPE, "%s: values of shape %s cannot be broadcast to the indexed shape %s", op, have, want);
    }
    nb_tensor *cast = values->dtype == t->dtype ? (nb_tensor *)values : nb_to_dtype(values, t->dtype);
    return nb_broadcast_to(cast, shape);
}

/* t with the picked elements replaced by (or, accumulating, increased by)
 * values: a new tensor, or t itself when in_place. */
static nb_tensor *put(nb_tensor *t, nb_index_list list, const nb_tensor *values, bool accumulate, bool in_place,
                      const char *op)
{
    if (!nbi_check_tensor(t, op, "t") || !check_values(t, values, op)) return NULL;
    if (in_place && nbi_has_internal_overlap(t))
        return nbi_fail(NB_ERR_ARG, "%s: t has elements that share memory (an expanded view); clone it first", op);
    if (nb_scope_begin() != NB_OK) return NULL;
    nb_tensor   *out = NULL;
    parsed_index p;
    /* Out of place: write into a contiguous copy. In place on a contiguous
     * t: into t through a flat view; otherwise out of place, copied back. */
    bool       direct = in_place && nb_is_contiguous(t);
    nb_tensor *target = direct ? t : nb_clone(t);
    if (target == NULL || !parse(target, list, op, &p)) goto done;
    if (p.count == 0) {
        nb_tensor *add = values_for(values, t, nb_shape_of(p.view), op);
        if (add == NULL) goto done;
        nb_tensor *written = accumulate ? nb_add_(p.view, add) : nb_copy_(p.view, add);
        if (written == NULL) goto done;
    } else {
        int64_t strides[NB_MAX_DIMS];
        for (int d = 0; d < p.view->ndim; d++) strides[d] = nb_stride(p.view, d);
        nb_shape   shape;
        nb_tensor *offsets = picked_offsets(&p, strides, nb_storage_offset(p.view) - nb_storage_offset(target), op,
                                            &shape);
        nb_tensor *add     = offsets ? values_for(values, t, shape, op) : NULL;
        if (add == NULL) goto done;
        nb_tensor *flat    = nb_view(target, NB_SHAPE(-1));
        nb_tensor *index   = nb_reshape(offsets, NB_SHAPE(-1));
        nb_tensor *source  = nb_reshape(add, NB_SHAPE(-1));
        nb_tensor *written = accumulate ? nb_scatter_add_(flat, 0, index, source) : nb_scatter_(flat, 0, index, source);
        if (written == NULL) goto done;
    }
    if (in_place && !direct && nb_copy_(t, target) == NULL) goto done;
    out = in_place ? nbi_alias(t) : target;
done:
    out = nb_keep(out);
    nb_scope_end();
    return out;
}

nb_tensor *nb_index_put(const nb_tensor *t, nb_index_list list, const nb_tensor *values, bool accumulate)
{
    return put((nb_tensor *)t, list, values, accumulate, false, "nb_index_put");
}

nb_tensor *nb_index_put_(nb_tensor *t, nb_index_list list, const nb_tensor *values, bool accumulate)
{
    nb_tensor *out = put(t, list, values, accumulate, true, "nb_index_put_");
    if (out == NULL) return NULL;
    nb_free(out);
    return t;
}
