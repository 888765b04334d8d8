/*
 * reshape_ops.c — shape ops beyond the views of view.c (issue 13): flip,
 * roll, movedim, swapaxes, unbind, tril/triu, trace, repeat, tile,
 * repeat_interleave, tensor_split, meshgrid, diag, diag_embed, with
 * PyTorch 1.13's semantics.
 *
 * Where torch returns views (movedim, swapaxes, unbind, tensor_split,
 * meshgrid, atleast_Nd) these are made of view.c's views, so they share
 * storage and autograd's view rules hold. The others compose public ops
 * (cat, expand + reshape, where, index_select) or copy through the device's
 * cast kernel (flip), with grad mode off, and record one node of their own
 * with torch's grad_fn name (autograd/shape_derivatives.c); no new kernel
 * is needed, so they run on every device.
 */
#include "autograd/shape_derivatives.h"
#include "core/backend.h"
#include "pieces.h"

#include <stdio.h>
#include <string.h>

/* out made with grad mode off from t: a result that still shares t's
 * storage (a no-op flip, a repeat by ones) becomes a copy, as torch's ops
 * here never return a view. Takes over out. */
static nb_tensor *own_storage(nb_tensor *out, const nb_tensor *t)
{
    if (out == t) return nb_clone(t); /* nothing was computed: t is not ours to free */
    if (out == NULL || out->storage != t->storage) return out;
    nb_tensor *copy = nb_clone(out);
    nb_free(out);
    return copy;
}

/* Replace *cur (freed unless it is keep) by next; false when next is NULL. */
static bool step(nb_tensor **cur, nb_tensor *next, const nb_tensor *keep)
{
    if (*cur != keep) nb_free(*cur);
    *cur = next;
    return next != NULL;
}

/* Wrap each of dims into out (dims of a tensor of ndim dims); a repeated
 * dim is NB_ERR_ARG with `what` in the message. */
static bool wrap_dims(nb_dims dims, int ndim, const char *op, const char *what, nb_dims *out)
{
    if (dims.n < 0 || dims.n > NB_MAX_DIMS) {
        nbi_fail(NB_ERR_ARG, "%s: %s lists %d dims; 0 to %d are allowed", op, what, dims.n, NB_MAX_DIMS);
        return false;
    }
    out->n = dims.n;
    for (int i = 0; i < dims.n; i++) {
        int d = nbi_wrap_dim(dims.dims[i], ndim, op);
        if (d < 0) return false;
        for (int j = 0; j < i; j++)
            if (out->dims[j] == d) {
                nbi_fail(NB_ERR_ARG, "%s: dim %d appears multiple times in %s", op, d, what);
                return false;
            }
        out->dims[i] = d;
    }
    return true;
}

/* int64 arange(start, end, step_by) on t's device. */
static nb_tensor *index_range(const nb_tensor *t, double start, double end, double step_by)
{
    return nb_arange(start, end, step_by, NB_OPTS(.dtype = NB_INT64, .device = t->storage->device));
}

/* ------------------------------------------------------------------------ */
/* flip, roll                                                                */
/* ------------------------------------------------------------------------ */

/* One copy from t read backwards: the source is a temporary geometry over
 * t's storage with the flipped dims' strides negated (the iterator's byte
 * strides are signed on every device). It is never handed out, so no
 * tensor of nabla's ever has a negative stride. */
nb_tensor *nb_flip(const nb_tensor *t, nb_dims dims)
{
    const char *op = "nb_flip";
    nb_dims     wrapped;
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_device1(op, t, "t")) return NULL;
    if (!wrap_dims(dims, t->ndim, op, "dims", &wrapped)) return NULL;
    if (!nbi_check_supported(nbi_backend_of(t), NBI_FAMILY_CAST, (int)t->dtype, t->dtype, op)) return NULL;
    nb_tensor *out = nbi_empty(t->ndim, t->shape, t->dtype, t->storage->device);
    if (out == NULL) return NULL;
    nb_tensor backwards = {
        .storage = t->storage, .offset = t->offset, .ndim = t->ndim, .dtype = t->dtype, .numel = t->numel};
    for (int d = 0; d < t->ndim; d++) {
        backwards.shape[d]  = t->shape[d];
        backwards.stride[d] = t->stride[d];
    }
    for (int i = 0; i < wrapped.n && t->ndim > 0 && t->numel > 0; i++) {
        int d = wrapped.dims[i];
        backwards.offset += (t->shape[d] - 1) * t->stride[d];
        backwards.stride[d] = -t->stride[d];
    }
    nbi_copy_into(out, &backwards);
    return nbi_record_flip(out, t, wrapped);
}

/* x rolled by shift (in (0, size)) along d: the last shift elements move
 * to the front. */
static nb_tensor *roll_dim(const nb_tensor *x, int d, int64_t shift)
{
    int64_t    size     = x->shape[d];
    nb_tensor *parts[2] = {nb_narrow(x, d, size - shift, shift), nb_narrow(x, d, 0, size - shift)};
    nb_tensor *out      = parts[0] && parts[1] ? nb_cat(parts, 2, d) : NULL;
    nb_free(parts[0]);
    nb_free(parts[1]);
    return out;
}

/* shift in [0, size) (0 when size is 0). */
static int64_t normalize_shift(int64_t shift, int64_t size)
{
    if (size == 0) return 0;
    int64_t s = shift % size;
    return s < 0 ? s + size : s;
}

nb_tensor *nb_roll(const nb_tensor *t, nb_shape shifts, nb_dims dims)
{
    const char *op = "nb_roll";
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (dims.n < 0 || dims.n > NB_MAX_DIMS)
        return nbi_fail(NB_ERR_ARG, "%s: dims lists %d dims; 0 to %d are allowed", op, dims.n, NB_MAX_DIMS);
    if (shifts.ndim < 0 || shifts.ndim > NB_MAX_DIMS || (dims.n == 0 ? shifts.ndim != 1 : shifts.ndim != dims.n))
        return nbi_fail(NB_ERR_ARG, "%s: shifts and dims must align (%d shifts, %d dims)", op, shifts.ndim, dims.n);
    nb_dims  wrapped = {.n = dims.n};
    nb_shape normal  = {.ndim = shifts.ndim};
    for (int i = 0; i < dims.n; i++) {
        if (t->ndim == 0)
            return nbi_fail(NB_ERR_INDEX, "%s: dim %d was given but t is 0-d (it has no dims)", op, dims.dims[i]);
        int d = nbi_wrap_dim(dims.dims[i], t->ndim, op);
        if (d < 0) return NULL;
        wrapped.dims[i] = d;
        normal.dims[i]  = normalize_shift(shifts.dims[i], t->shape[d]);
    }
    if (dims.n == 0) normal.dims[0] = normalize_shift(shifts.dims[0], t->numel);
    nbi_grad_mode_push(false);
    nb_tensor *out = NULL;
    if (dims.n == 0) {
        nb_tensor *flat   = nb_reshape(t, NB_SHAPE(-1));
        nb_tensor *rolled = flat && normal.dims[0] != 0 ? roll_dim(flat, 0, normal.dims[0]) : NULL;
        out               = flat ? nb_reshape(rolled ? rolled : flat, nb_shape_of(t)) : NULL;
        nb_free(flat);
        nb_free(rolled);
    } else {
        nb_tensor *cur = (nb_tensor *)t;
        bool       ok  = true;
        for (int i = 0; i < dims.n && ok; i++)
            if (normal.dims[i] != 0) ok = step(&cur, roll_dim(cur, wrapped.dims[i], normal.dims[i]), t);
        out = ok ? cur : NULL;
    }
    out = own_storage(out, t);
    nbi_grad_mode_pop();
    return nbi_record_roll(out, t, normal, wrapped);
}

/* ------------------------------------------------------------------------ */
/* movedim, swapaxes, unbind (views)                                         */
/* ------------------------------------------------------------------------ */

static nb_tensor *movedim(const nb_tensor *t, nb_dims source, nb_dims destination, const char *op)
{
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (source.n != destination.n)
        return nbi_fail(NB_ERR_ARG,
                        "%s: source (%d dims) should contain the same number of dims as destination (%d dims)", op,
                        source.n, destination.n);
    nb_dims src, dst;
    if (!wrap_dims(source, t->ndim, op, "source", &src) || !wrap_dims(destination, t->ndim, op, "destination", &dst))
        return NULL;
    if (t->ndim == 0) /* torch returns t.alias() */
        return nbi_record_view(nbi_make_view(t, 0, t->shape, t->stride, t->offset), t, NBI_VIEW_RESHAPE, NULL, 0,
                               "AliasBackward0");
    /* order[k] = the dim of t that lands at k: the moved ones first, then
     * the rest of t's dims, in order, into the free places. */
    int  order[NB_MAX_DIMS];
    bool placed[NB_MAX_DIMS] = {false}, moved[NB_MAX_DIMS] = {false};
    for (int i = 0; i < src.n; i++) {
        order[dst.dims[i]]  = src.dims[i];
        placed[dst.dims[i]] = true;
        moved[src.dims[i]]  = true;
    }
    for (int k = 0, next = 0; k < t->ndim; k++) {
        if (placed[k]) continue;
        while (moved[next])
            next++;
        order[k] = next++;
    }
    nb_dims permutation = {.n = t->ndim};
    for (int k = 0; k < t->ndim; k++)
        permutation.dims[k] = order[k];
    return nb_permute(t, permutation);
}

nb_tensor *nb_movedim(const nb_tensor *t, nb_dims source, nb_dims destination)
{
    return movedim(t, source, destination, "nb_movedim");
}

nb_tensor *nb_moveaxis(const nb_tensor *t, nb_dims source, nb_dims destination)
{
    return movedim(t, source, destination, "nb_moveaxis");
}

static nb_tensor *swap(const nb_tensor *t, int dim0, int dim1, const char *op)
{
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (nbi_wrap_dim(dim0, t->ndim, op) < 0 || nbi_wrap_dim(dim1, t->ndim, op) < 0) return NULL;
    return nb_transpose(t, dim0, dim1);
}

nb_tensor *nb_swapaxes(const nb_tensor *t, int dim0, int dim1) { return swap(t, dim0, dim1, "nb_swapaxes"); }
nb_tensor *nb_swapdims(const nb_tensor *t, int dim0, int dim1) { return swap(t, dim0, dim1, "nb_swapdims"); }

/* Free out[0 .. count) after a failure; -1. */
static int64_t free_pieces(nb_tensor **out, int64_t count)
{
    for (int64_t j = 0; j < count; j++) {
        nb_free(out[j]);
        out[j] = NULL;
    }
    return -1;
}

int64_t nb_unbind(const nb_tensor *t, int dim, nb_tensor **out, int64_t capacity)
{
    int d = nbi_check_pieces(t, dim, out, capacity, "nb_unbind");
    if (d < 0) return -1;
    int64_t size = t->shape[d];
    for (int64_t i = 0; i < size && i < capacity; i++) {
        out[i] = nb_select(t, d, i);
        if (out[i] == NULL) return free_pieces(out, i);
    }
    return size;
}

/* ------------------------------------------------------------------------ */
/* tensor_split (views)                                                      */
/* ------------------------------------------------------------------------ */

int64_t nb_tensor_split(const nb_tensor *t, int64_t sections, int dim, nb_tensor **out, int64_t capacity)
{
    const char *op = "nb_tensor_split";
    int         d  = nbi_check_pieces(t, dim, out, capacity, op);
    if (d < 0) return -1;
    if (sections < 1) {
        nbi_fail(NB_ERR_ARG, "%s: the number of sections must be at least 1, got %lld", op, (long long)sections);
        return -1;
    }
    int64_t size = t->shape[d], base = size / sections, longer = size % sections;
    int64_t start = 0;
    for (int64_t i = 0; i < sections && i < capacity; i++) {
        int64_t length = base + (i < longer);
        out[i]         = nb_narrow(t, d, start, length);
        if (out[i] == NULL) return free_pieces(out, i);
        start += length;
    }
    return sections;
}

int64_t nb_tensor_split_indices(const nb_tensor *t, const int64_t *indices, int count, int dim, nb_tensor **out,
                                int64_t capacity)
{
    const char *op = "nb_tensor_split_indices";
    int         d  = nbi_check_pieces(t, dim, out, capacity, op);
    if (d < 0) return -1;
    if (count < 0 || (indices == NULL && count > 0)) {
        nbi_fail(NB_ERR_ARG, "%s: indices is %s with count %d", op, indices ? "given" : "NULL", count);
        return -1;
    }
    for (int64_t i = 0; i <= count && i < capacity; i++) {
        int64_t start = i == 0 ? 0 : indices[i - 1];
        int64_t stop  = i == count ? NB_END : indices[i];
        out[i]        = nb_slice(t, d, start, stop, 1);
        if (out[i] == NULL) return free_pieces(out, i);
    }
    return (int64_t)count + 1;
}

/* ------------------------------------------------------------------------ */
/* meshgrid (views)                                                          */
/* ------------------------------------------------------------------------ */

nb_status nb_meshgrid(nb_tensor *const *tensors, int count, const char *indexing, nb_tensor **out)
{
    const char *op = "nb_meshgrid";
    if (out == NULL) return nbi_fail(NB_ERR_ARG, "%s: out is NULL", op), nb_last_status();
    if (tensors == NULL || count < 1 || count > NB_MAX_DIMS) {
        nbi_fail(NB_ERR_ARG, "%s: expected 1 to %d tensors, got %d%s", op, NB_MAX_DIMS, count,
                 tensors == NULL ? " (tensors is NULL)" : "");
        return nb_last_status();
    }
    for (int i = 0; i < count; i++)
        out[i] = NULL;
    bool xy = indexing != NULL && strcmp(indexing, "xy") == 0;
    if (indexing == NULL || (!xy && strcmp(indexing, "ij") != 0)) {
        nbi_fail(NB_ERR_ARG, "%s: indexing must be \"ij\" or \"xy\", got %s%s%s", op, indexing ? "\"" : "",
                 indexing ? indexing : "NULL", indexing ? "\"" : "");
        return nb_last_status();
    }
    nb_shape grid = {.ndim = count};
    for (int i = 0; i < count; i++) {
        const nb_tensor *t = tensors[i];
        char             name[32];
        snprintf(name, sizeof name, "tensors[%d]", i);
        if (!nbi_check_tensor(t, op, name)) return nb_last_status();
        if (t->ndim > 1) {
            nbi_fail(NB_ERR_SHAPE, "%s: expected 0-d or 1-d tensors, but tensors[%d] has %d dims", op, i, t->ndim);
            return nb_last_status();
        }
        if (t->dtype != tensors[0]->dtype) {
            nbi_fail(NB_ERR_DTYPE, "%s: all tensors must have the same dtype, but tensors[%d] is %s and tensors[0] %s",
                     op, i, nb_dtype_name(t->dtype), nb_dtype_name(tensors[0]->dtype));
            return nb_last_status();
        }
        if (!nbi_check_device(op, 2, (const nb_tensor *const[]){tensors[0], t},
                              (const char *const[]){"tensors[0]", name}))
            return nb_last_status();
        grid.dims[i] = t->numel;
    }
    /* "xy": the first two tensors vary along dims 1 and 0. */
    int axis[NB_MAX_DIMS];
    for (int i = 0; i < count; i++)
        axis[i] = i;
    if (xy && count >= 2) {
        axis[0]       = 1;
        axis[1]       = 0;
        int64_t first = grid.dims[0];
        grid.dims[0]  = grid.dims[1];
        grid.dims[1]  = first;
    }
    for (int i = 0; i < count; i++) {
        nb_shape line = {.ndim = count};
        for (int k = 0; k < count; k++)
            line.dims[k] = k == axis[i] ? grid.dims[k] : 1;
        nb_tensor *viewed = nb_reshape(tensors[i], line);
        out[i]            = viewed ? nb_expand(viewed, grid) : NULL;
        nb_free(viewed);
        if (out[i] == NULL) {
            free_pieces(out, i);
            return nb_last_status();
        }
    }
    return NB_OK;
}

/* ------------------------------------------------------------------------ */
/* tril, triu, trace                                                         */
/* ------------------------------------------------------------------------ */

static nb_tensor *triangle(const nb_tensor *t, int64_t diagonal, bool upper, const char *op)
{
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (t->ndim < 2) return nbi_fail(NB_ERR_SHAPE, "%s: t must have at least 2 dims, got %d", op, t->ndim);
    int64_t rows = t->shape[t->ndim - 2], cols = t->shape[t->ndim - 1];
    /* Beyond the matrix every diagonal keeps all or nothing: clamp so that
     * the comparison below in doubles is exact. */
    int64_t k = diagonal < -rows - 1 ? -rows - 1 : diagonal > cols + 1 ? cols + 1 : diagonal;
    nbi_grad_mode_push(false);
    /* keep[i][j]: j - i <= k (tril) or >= k (triu). */
    nb_tensor *rank = index_range(t, 0, (double)rows, 1);
    nb_tensor *row  = rank ? nb_reshape(rank, NB_SHAPE(rows, 1)) : NULL;
    nb_tensor *col  = index_range(t, 0, (double)cols, 1);
    nb_tensor *diff = row && col ? nb_sub(col, row) : NULL;
    nb_tensor *keep = diff ? (upper ? nb_ge_scalar(diff, (double)k) : nb_le_scalar(diff, (double)k)) : NULL;
    nb_tensor *zero = nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = t->dtype, .device = t->storage->device));
    nb_tensor *out  = keep && zero ? nb_where(keep, t, zero) : NULL;
    nb_free(rank);
    nb_free(row);
    nb_free(col);
    nb_free(diff);
    nb_free(keep);
    nb_free(zero);
    nbi_grad_mode_pop();
    return nbi_record_triangle(out, t, diagonal, upper);
}

nb_tensor *nb_tril(const nb_tensor *t, int64_t diagonal) { return triangle(t, diagonal, false, "nb_tril"); }
nb_tensor *nb_triu(const nb_tensor *t, int64_t diagonal) { return triangle(t, diagonal, true, "nb_triu"); }

nb_tensor *nb_trace(const nb_tensor *t)
{
    const char *op = "nb_trace";
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (t->ndim != 2) return nbi_fail(NB_ERR_SHAPE, "%s: expected a matrix, but t has %d dims", op, t->ndim);
    if (t->dtype == NB_BOOL) return nbi_fail(NB_ERR_DTYPE, "%s: not implemented for bool", op);
    nbi_grad_mode_push(false);
    nb_tensor *diagonal = nb_diagonal(t, 0, 0, 1);
    nb_tensor *out      = diagonal ? nb_sum(diagonal) : NULL;
    nb_free(diagonal);
    nbi_grad_mode_pop();
    return nbi_record_trace(out, t);
}

/* ------------------------------------------------------------------------ */
/* repeat, tile, repeat_interleave                                           */
/* ------------------------------------------------------------------------ */

/* x with dim d repeated r times (r >= 0) as whole blocks: [a, b] -> [a, b, a, b]. */
static nb_tensor *repeat_dim(const nb_tensor *x, int d, int64_t r)
{
    nb_shape target = nb_shape_of(x);
    target.dims[d] *= r;
    if (x->ndim < NB_MAX_DIMS) { /* (.., 1, s, ..) expanded to (.., r, s, ..), merged */
        nb_shape wide = {.ndim = x->ndim + 1};
        for (int k = 0, j = 0; k < x->ndim; k++) {
            if (k == d) wide.dims[j++] = r;
            wide.dims[j++] = x->shape[k];
        }
        nb_tensor *lifted   = nb_unsqueeze(x, d);
        nb_tensor *expanded = lifted ? nb_expand(lifted, wide) : NULL;
        nb_tensor *out      = expanded ? nb_reshape(expanded, target) : NULL;
        nb_free(lifted);
        nb_free(expanded);
        return out;
    }
    /* At the most dims a tensor has: r copies joined. */
    if (r == 0) return nb_empty(target, NB_OPTS(.dtype = x->dtype, .device = x->storage->device));
    nb_tensor **copies = nbi_host_alloc((size_t)r * sizeof *copies);
    if (copies == NULL) return nbi_fail(NB_ERR_OOM, "nb_repeat: out of memory for %lld pieces", (long long)r);
    for (int64_t i = 0; i < r; i++)
        copies[i] = (nb_tensor *)x;
    nb_tensor *out = r <= INT32_MAX ? nb_cat(copies, (int)r, d) : nbi_fail(NB_ERR_SHAPE, "nb_repeat: too many repeats");
    nbi_host_release(copies, (size_t)r * sizeof *copies);
    return out;
}

static nb_tensor *repeat(const nb_tensor *t, nb_shape sizes, const char *op)
{
    char buf[NBI_SHAPE_STR_SIZE];
    if (sizes.ndim < t->ndim || sizes.ndim > NB_MAX_DIMS)
        return nbi_fail(NB_ERR_SHAPE, "%s: %d repeat sizes for a %d-d tensor (need %d to %d)", op, sizes.ndim, t->ndim,
                        t->ndim, NB_MAX_DIMS);
    nb_shape padded = {.ndim = sizes.ndim};
    int64_t  numel  = 1;
    for (int i = 0; i < sizes.ndim; i++) {
        int src        = i - (sizes.ndim - t->ndim);
        padded.dims[i] = src >= 0 ? t->shape[src] : 1;
        if (sizes.dims[i] < 0)
            return nbi_fail(NB_ERR_SHAPE, "%s: repeat size %lld is negative (sizes %s)", op, (long long)sizes.dims[i],
                            nbi_shape_str(sizes.ndim, sizes.dims, buf, sizeof buf));
        int64_t size = padded.dims[i];
        if (size > 0 && sizes.dims[i] > (INT64_MAX / 16) / size)
            return nbi_fail(NB_ERR_SHAPE, "%s: the result of sizes %s is too large", op,
                            nbi_shape_str(sizes.ndim, sizes.dims, buf, sizeof buf));
        size *= sizes.dims[i];
        if (size > 0 && numel > (INT64_MAX / 16) / size)
            return nbi_fail(NB_ERR_SHAPE, "%s: the result of sizes %s is too large", op,
                            nbi_shape_str(sizes.ndim, sizes.dims, buf, sizeof buf));
        numel *= size;
    }
    /* The dims that repeat, each as a (repeats, size) pair: one copy when
     * they fit in a tensor's dims, else one copy per repeated dim. */
    int paired = sizes.ndim;
    for (int i = 0; i < sizes.ndim; i++)
        paired += sizes.dims[i] != 1;
    nbi_grad_mode_push(false);
    nb_tensor *cur = nb_reshape(t, padded);
    bool       ok  = cur != NULL;
    if (ok && paired <= NB_MAX_DIMS) {
        nb_shape lifted = {.ndim = 0}, wide = {.ndim = 0}, target = {.ndim = sizes.ndim};
        for (int i = 0; i < sizes.ndim; i++) {
            if (sizes.dims[i] != 1) {
                lifted.dims[lifted.ndim++] = 1;
                wide.dims[wide.ndim++]     = sizes.dims[i];
            }
            lifted.dims[lifted.ndim++] = padded.dims[i];
            wide.dims[wide.ndim++]     = padded.dims[i];
            target.dims[i]             = padded.dims[i] * sizes.dims[i];
        }
        nb_tensor *spaced   = nb_reshape(cur, lifted);
        nb_tensor *expanded = spaced ? nb_expand(spaced, wide) : NULL;
        ok                  = step(&cur, expanded ? nb_reshape(expanded, target) : NULL, t);
        nb_free(spaced);
        nb_free(expanded);
    } else {
        for (int i = 0; i < sizes.ndim && ok; i++)
            if (sizes.dims[i] != 1) ok = step(&cur, repeat_dim(cur, i, sizes.dims[i]), t);
    }
    nb_tensor *out = ok ? own_storage(cur, t) : NULL;
    nbi_grad_mode_pop();
    return nbi_record_repeat(out, t, sizes);
}

nb_tensor *nb_repeat(const nb_tensor *t, nb_shape sizes)
{
    if (!nbi_check_tensor(t, "nb_repeat", "t")) return NULL;
    return repeat(t, sizes, "nb_repeat");
}

nb_tensor *nb_tile(const nb_tensor *t, nb_shape sizes)
{
    if (!nbi_check_tensor(t, "nb_tile", "t")) return NULL;
    if (sizes.ndim < 0 || sizes.ndim > NB_MAX_DIMS)
        return nbi_fail(NB_ERR_SHAPE, "nb_tile: %d sizes; 0 to %d are allowed", sizes.ndim, NB_MAX_DIMS);
    if (sizes.ndim < t->ndim) { /* leading 1s: sizes count from the last dim */
        int      missing = t->ndim - sizes.ndim;
        nb_shape full    = {.ndim = t->ndim};
        for (int i = 0; i < t->ndim; i++)
            full.dims[i] = i < missing ? 1 : sizes.dims[i - missing];
        sizes = full;
    }
    return repeat(t, sizes, "nb_tile");
}

/* t's slices along d repeated counts[i] times (counts: one per slice, or a
 * single count for all when ncounts is 1); total is their sum. */
static nb_tensor *interleave(const nb_tensor *t, int d, const int64_t *counts, int64_t ncounts, int64_t total)
{
    int64_t    size  = t->ndim > 0 ? t->shape[d] : 1;
    nb_tensor *index = nb_empty(NB_SHAPE(total), NB_OPTS(.dtype = NB_INT64));
    if (index == NULL) return NULL;
    int64_t *at = nb_data(index);
    for (int64_t i = 0, k = 0; i < size; i++)
        for (int64_t r = 0, n = counts[ncounts == 1 ? 0 : i]; r < n; r++)
            at[k++] = i;
    nb_tensor *moved = index;
    if (t->storage->device.type != NB_CPU) {
        moved = nb_to(index, t->storage->device);
        nb_free(index);
        if (moved == NULL) return NULL;
    }
    nb_tensor *out = nb_index_select(t, d, moved);
    nb_free(moved);
    return out;
}

/* total = counts summed (each >= 0) over size slices, or -1 with the error. */
static int64_t total_of(const int64_t *counts, int64_t ncounts, int64_t size, const char *op)
{
    int64_t total = 0;
    for (int64_t i = 0; i < size; i++) {
        int64_t n = counts[ncounts == 1 ? 0 : i];
        if (n < 0) {
            nbi_fail(NB_ERR_ARG, "%s: repeats can not be negative, got %lld", op, (long long)n);
            return -1;
        }
        if (n > INT64_MAX / 16 - total) {
            nbi_fail(NB_ERR_SHAPE, "%s: the repeated length is too large", op);
            return -1;
        }
        total += n;
    }
    if (ncounts == 1 && size == 0 && counts[0] < 0) {
        nbi_fail(NB_ERR_ARG, "%s: repeats can not be negative, got %lld", op, (long long)counts[0]);
        return -1;
    }
    return total;
}

nb_tensor *nb_repeat_interleave(const nb_tensor *t, int64_t repeats, int dim)
{
    const char *op = "nb_repeat_interleave";
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (t->ndim == 0) return nbi_fail(NB_ERR_INDEX, "%s: dim %d was given but t is 0-d (it has no dims)", op, dim);
    int d = nbi_wrap_dim(dim, t->ndim, op);
    if (d < 0) return NULL;
    int64_t total = total_of(&repeats, 1, t->shape[d], op);
    if (total < 0) return NULL;
    if (t->ndim == NB_MAX_DIMS) return interleave(t, d, &repeats, 1, total); /* no room for the repeat dim */
    /* (.., s, ..) -> (.., s, 1, ..) expanded to (.., s, r, ..) and merged:
     * one copy, where an index_select would gather element by element. */
    nb_shape wide = {.ndim = t->ndim + 1}, merged = nb_shape_of(t);
    for (int k = 0, j = 0; k < t->ndim; k++) {
        wide.dims[j++] = t->shape[k];
        if (k == d) wide.dims[j++] = repeats;
    }
    merged.dims[d] = total;
    nbi_grad_mode_push(false);
    nb_tensor *lifted   = nb_unsqueeze(t, d + 1);
    nb_tensor *expanded = lifted ? nb_expand(lifted, wide) : NULL;
    nb_tensor *out      = expanded ? own_storage(nb_reshape(expanded, merged), t) : NULL;
    nb_free(lifted);
    nb_free(expanded);
    nbi_grad_mode_pop();
    return nbi_record_repeat_interleave(out, t, d, repeats);
}

nb_tensor *nb_repeat_interleave_tensor(const nb_tensor *t, const nb_tensor *repeats, int dim, int64_t output_size)
{
    const char *op = "nb_repeat_interleave_tensor";
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_tensor(repeats, op, "repeats")) return NULL;
    if (repeats->dtype != NB_INT64 && repeats->dtype != NB_INT32)
        return nbi_fail(NB_ERR_DTYPE, "%s: repeats must be int64 or int32, got %s", op, nb_dtype_name(repeats->dtype));
    if (t->ndim == 0) return nbi_fail(NB_ERR_INDEX, "%s: dim %d was given but t is 0-d (it has no dims)", op, dim);
    if (output_size < -1)
        return nbi_fail(NB_ERR_ARG, "%s: output_size %lld is negative (-1: computed)", op, (long long)output_size);
    int d = nbi_wrap_dim(dim, t->ndim, op);
    if (d < 0) return NULL;
    int64_t size = t->ndim > 0 ? t->shape[d] : 1;
    if (repeats->ndim > 1 || (repeats->numel != 1 && repeats->numel != size))
        return nbi_fail(NB_ERR_SHAPE,
                        "%s: repeats (%d-d, %lld values) must have the same size as t along dim %d (%lld)", op,
                        repeats->ndim, (long long)repeats->numel, d, (long long)size);
    nb_tensor *wide = nb_to_dtype(repeats, NB_INT64);
    nb_tensor *host = wide ? nbi_host_contiguous(wide) : NULL;
    nb_free(wide);
    if (host == NULL) return NULL;
    const int64_t *counts = nb_data(host);
    int64_t        total  = total_of(counts, repeats->numel, size, op);
    nb_tensor     *out    = NULL;
    if (total >= 0 && output_size >= 0 && output_size != total)
        nbi_fail(NB_ERR_SHAPE, "%s: output_size %lld does not match the repeated length %lld", op,
                 (long long)output_size, (long long)total);
    else if (total >= 0)
        out = interleave(t, d, counts, repeats->numel, total);
    nb_free(host);
    return out;
}

/* ------------------------------------------------------------------------ */
/* diag, diag_embed                                                          */
/* ------------------------------------------------------------------------ */

/* n + |offset| as the side of a square matrix, or -1 (NB_ERR_SHAPE) when
 * its n^2 elements would not fit. */
static int64_t embedded_side(int64_t n, int64_t offset, const char *op)
{
    const int64_t limit = 3037000499; /* floor(sqrt(INT64_MAX)) */
    if (offset > limit || offset < -limit || n + (offset < 0 ? -offset : offset) > limit) {
        nbi_fail(NB_ERR_SHAPE, "%s: offset %lld makes a matrix too large", op, (long long)offset);
        return -1;
    }
    return n + (offset < 0 ? -offset : offset);
}

nb_tensor *nb_diag(const nb_tensor *t, int64_t diagonal)
{
    const char *op = "nb_diag";
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (t->ndim == 1) {
        int64_t side = embedded_side(t->shape[0], diagonal, op);
        if (side < 0) return NULL;
        int64_t shape[2] = {side, side};
        return nbi_embed_diagonal(t, 2, shape, diagonal, 0, 1, "DiagBackward0");
    }
    if (t->ndim != 2) return nbi_fail(NB_ERR_SHAPE, "%s: expected a matrix or a vector, got %d dims", op, t->ndim);
    /* NOTE: torch refuses a diagonal wholly outside the matrix (a negative
     * length), though nb_diagonal gives it empty. */
    if ((diagonal >= 0 && diagonal > t->shape[1]) || (diagonal < 0 && diagonal < -t->shape[0]))
        return nbi_fail(NB_ERR_SHAPE, "%s: diagonal %lld lies outside the %lld x %lld matrix", op, (long long)diagonal,
                        (long long)t->shape[0], (long long)t->shape[1]);
    nbi_grad_mode_push(false);
    nb_tensor *view = nb_diagonal(t, diagonal, 0, 1);
    nb_tensor *out  = view ? nb_clone(view) : NULL;
    nb_free(view);
    nbi_grad_mode_pop();
    return nbi_record_diag_of_matrix(out, t, diagonal);
}

nb_tensor *nb_diag_embed(const nb_tensor *t, int64_t offset, int dim1, int dim2)
{
    const char *op = "nb_diag_embed";
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (t->ndim >= NB_MAX_DIMS)
        return nbi_fail(NB_ERR_SHAPE, "%s: t has %d dims; the result would have more than %d", op, t->ndim,
                        NB_MAX_DIMS);
    int ndim = t->ndim + 1;
    int d1   = nbi_wrap_dim(dim1, ndim, op);
    if (d1 < 0) return NULL;
    int d2 = nbi_wrap_dim(dim2, ndim, op);
    if (d2 < 0) return NULL;
    if (d1 == d2) return nbi_fail(NB_ERR_ARG, "%s: diagonal dims cannot be identical (%d, %d)", op, dim1, dim2);
    if (t->ndim == 0) return nbi_fail(NB_ERR_SHAPE, "%s: t must have at least 1 dim", op);
    int64_t side = embedded_side(t->shape[t->ndim - 1], offset, op);
    if (side < 0) return NULL;
    /* out: t's leading dims in order, with side at d1 and d2. */
    int64_t shape[NB_MAX_DIMS];
    for (int k = 0, j = 0; k < ndim; k++)
        shape[k] = k == d1 || k == d2 ? side : t->shape[j++];
    return nbi_embed_diagonal(t, ndim, shape, offset, d1, d2, "DiagEmbedBackward0");
}

/* ------------------------------------------------------------------------ */
/* atleast_1d/2d/3d (views) and hstack, vstack, dstack                       */
/* ------------------------------------------------------------------------ */

/* t with at least rank dims (1 to 3), as torch.atleast_{1,2,3}d: a 0-d t
 * reshaped to ones, a 1-d (n) to (1, n) or (1, n, 1), a 2-d (m, n) to
 * (m, n, 1); otherwise t itself (a new handle in t's graph). */
static nb_tensor *at_least(const nb_tensor *t, int rank, const char *op)
{
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (t->ndim >= rank) return nbi_alias_recorded(t, op);
    if (t->ndim == 0) {
        nb_shape ones = {.ndim = rank, .dims = {1, 1, 1}};
        return nb_reshape(t, ones);
    }
    if (t->ndim == 2) return nb_unsqueeze(t, -1); /* rank 3 */
    nb_tensor *row = nb_unsqueeze(t, 0);          /* 1-d: (1, n) */
    if (rank == 2 || row == NULL) return row;
    nb_tensor *out = nb_unsqueeze(row, -1);
    nb_free(row);
    return out;
}

nb_tensor *nb_atleast_1d(const nb_tensor *t) { return at_least(t, 1, "nb_atleast_1d"); }
nb_tensor *nb_atleast_2d(const nb_tensor *t) { return at_least(t, 2, "nb_atleast_2d"); }
nb_tensor *nb_atleast_3d(const nb_tensor *t) { return at_least(t, 3, "nb_atleast_3d"); }

/* cat of the tensors made at least rank-d, along dim (hstack: dim 0 when
 * they are 1-d, else 1). */
static nb_tensor *stack_at_least(nb_tensor *const *tensors, int count, int rank, int dim, const char *op)
{
    if (tensors == NULL) return nbi_fail(NB_ERR_ARG, "%s: tensors is NULL", op);
    if (count < 1) return nbi_fail(NB_ERR_ARG, "%s: expected at least one tensor, got count %d", op, count);
    nb_tensor **lifted = nbi_host_alloc((size_t)count * sizeof *lifted);
    if (lifted == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory for %d tensors", op, count);
    int made = 0;
    for (; made < count; made++) {
        char name[32];
        snprintf(name, sizeof name, "tensors[%d]", made);
        if (!nbi_check_tensor(tensors[made], op, name)) break;
        lifted[made] = at_least(tensors[made], rank, op);
        if (lifted[made] == NULL) break;
    }
    nb_tensor *out = NULL;
    if (made == count) {
        if (dim < 0) dim = lifted[0]->ndim == 1 ? 0 : 1;
        out = nb_cat(lifted, count, dim);
    }
    for (int k = 0; k < made; k++)
        nb_free(lifted[k]);
    nbi_host_release(lifted, (size_t)count * sizeof *lifted);
    return out;
}

nb_tensor *nb_hstack(nb_tensor *const *tensors, int count)
{
    return stack_at_least(tensors, count, 1, -1, "nb_hstack");
}

nb_tensor *nb_vstack(nb_tensor *const *tensors, int count) { return stack_at_least(tensors, count, 2, 0, "nb_vstack"); }

nb_tensor *nb_dstack(nb_tensor *const *tensors, int count) { return stack_at_least(tensors, count, 3, 2, "nb_dstack"); }
