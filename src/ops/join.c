/*
 * join.c — joining tensors (nb_cat, nb_stack) and splitting them into views
 * (nb_split, nb_chunk), with torch.cat / torch.stack / torch.split /
 * torch.chunk semantics.
 *
 * Joining makes one contiguous output and copies each input into its region
 * of it with the cast kernel of their device (core/backend.h), so inputs of
 * any strides and dtypes (promoted as torch.cat does) need no temporaries.
 * Splitting only makes views: nothing is copied.
 */
#include "autograd/autograd.h"
#include "core/backend.h"
#include "pieces.h"

#include <stdio.h>

enum { NAME_SIZE = 32 };

/* Validate a list of tensors: non-NULL array, count >= 1, every element
 * non-NULL, all on one device that can convert each one's dtype to their
 * promoted dtype (returned in *dtype). */
static bool check_list(nb_tensor *const *tensors, int count, const char *op, nb_dtype *dtype)
{
    if (tensors == NULL) {
        nbi_fail(NB_ERR_ARG, "%s: tensors is NULL", op);
        return false;
    }
    if (count < 1) {
        nbi_fail(NB_ERR_ARG, "%s: expected at least one tensor, got count %d", op, count);
        return false;
    }
    for (int i = 0; i < count; i++) {
        char name[NAME_SIZE];
        snprintf(name, sizeof name, "tensors[%d]", i);
        if (!nbi_check_tensor(tensors[i], op, name)) return false;
        *dtype = i == 0 ? tensors[i]->dtype : nb_promote_types(*dtype, tensors[i]->dtype);
    }
    /* One device: the first tensor that differs from tensors[0] is named
     * in the message (only then is its name formatted). */
    for (int i = 1; i < count; i++) {
        nb_device first = tensors[0]->storage->device, device = tensors[i]->storage->device;
        if (device.type == first.type && device.index == first.index) continue;
        char name[NAME_SIZE];
        snprintf(name, sizeof name, "tensors[%d]", i);
        const nb_tensor *pair[2] = {tensors[0], tensors[i]};
        return nbi_check_device(op, 2, pair, (const char *const[]){"tensors[0]", name});
    }
    if (!nbi_check_device1(op, tensors[0], "tensors[0]")) return false;
    const nbi_backend *backend = nbi_backend_of(tensors[0]);
    for (int i = 0; i < count; i++)
        if (!nbi_check_supported(backend, NBI_FAMILY_CAST, (int)tensors[i]->dtype, *dtype, op)) return false;
    return true;
}

/* Copy src into the region of out described by (ndim, shape, out's strides
 * without or with a dim, offset), converting src's dtype to out's. The
 * region has src's shape. */
static void copy_into_region(nb_tensor *out, int ndim, const int64_t *shape, const int64_t *stride, int64_t offset,
                             const nb_tensor *src)
{
    if (src->numel == 0) return;
    /* A stack geometry over out's storage: all the copy reads of it. */
    nb_tensor region = {.storage = out->storage, .offset = out->offset + offset, .ndim = ndim, .dtype = out->dtype};
    region.numel     = src->numel;
    for (int d = 0; d < ndim; d++) {
        region.shape[d]  = shape[d];
        region.stride[d] = stride[d];
    }
    nbi_copy_into(&region, src);
}

/* The legacy rule of torch.cat: a 1-D tensor of shape [0] joins anything
 * (it is skipped), whatever the other tensors' ranks. */
static bool is_legacy_empty(const nb_tensor *t) { return t->ndim == 1 && t->shape[0] == 0; }

nb_tensor *nb_cat(nb_tensor *const *tensors, int count, int dim)
{
    nb_dtype dtype = NB_FLOAT32;
    if (!check_list(tensors, count, "nb_cat", &dtype)) return NULL;
    for (int i = 0; i < count; i++)
        if (tensors[i]->ndim == 0)
            return nbi_fail(NB_ERR_SHAPE,
                            "nb_cat: tensors[%d] is 0-d and cannot be concatenated (nb_stack joins 0-d tensors)", i);

    /* The first tensor that is not a legacy empty sets the rank and the
     * sizes every other one must match outside dim. */
    int first = -1;
    for (int i = 0; i < count && first < 0; i++)
        if (!is_legacy_empty(tensors[i])) first = i;
    if (first < 0) { /* all are [0]: torch returns a [0] without looking at dim */
        int64_t zero = 0;
        return nbi_record_cat(nbi_empty(1, &zero, dtype, tensors[0]->storage->device), tensors, count, 0);
    }
    const nb_tensor *ref  = tensors[first];
    int              ndim = ref->ndim;
    int              d    = nbi_wrap_dim(dim, ndim, "nb_cat");
    if (d < 0) return NULL;

    int64_t shape[NB_MAX_DIMS];
    for (int k = 0; k < ndim; k++)
        shape[k] = ref->shape[k];
    shape[d] = 0;
    for (int i = 0; i < count; i++) {
        const nb_tensor *t = tensors[i];
        if (is_legacy_empty(t)) continue;
        char got[NBI_SHAPE_STR_SIZE], want[NBI_SHAPE_STR_SIZE];
        if (t->ndim != ndim)
            return nbi_fail(NB_ERR_SHAPE,
                            "nb_cat: tensors[%d] has %d dims (shape %s) but tensors[%d] has %d (shape %s)", i, t->ndim,
                            nbi_shape_str(t->ndim, t->shape, got, sizeof got), first, ndim,
                            nbi_shape_str(ndim, ref->shape, want, sizeof want));
        for (int k = 0; k < ndim; k++) {
            if (k != d && t->shape[k] != ref->shape[k])
                return nbi_fail(NB_ERR_SHAPE,
                                "nb_cat: sizes must match except in dim %d, but tensors[%d] has shape %s and "
                                "tensors[%d] has shape %s",
                                d, i, nbi_shape_str(ndim, t->shape, got, sizeof got), first,
                                nbi_shape_str(ndim, ref->shape, want, sizeof want));
        }
        if (t->shape[d] > INT64_MAX / 16 - shape[d])
            return nbi_fail(NB_ERR_SHAPE, "nb_cat: the joined size of dim %d is too large", d);
        shape[d] += t->shape[d];
    }

    nb_tensor *out = nbi_empty(ndim, shape, dtype, ref->storage->device);
    if (out == NULL) return NULL;
    int64_t start = 0; /* where the next input begins along dim */
    for (int i = 0; i < count; i++) {
        const nb_tensor *t = tensors[i];
        if (is_legacy_empty(t)) continue;
        copy_into_region(out, ndim, t->shape, out->stride, start * out->stride[d], t);
        start += t->shape[d];
    }
    return nbi_record_cat(out, tensors, count, d);
}

nb_tensor *nb_stack(nb_tensor *const *tensors, int count, int dim)
{
    nb_dtype dtype = NB_FLOAT32;
    if (!check_list(tensors, count, "nb_stack", &dtype)) return NULL;
    const nb_tensor *ref  = tensors[0];
    int              ndim = ref->ndim;
    for (int i = 1; i < count; i++) {
        const nb_tensor *t    = tensors[i];
        bool             same = t->ndim == ndim;
        for (int k = 0; same && k < ndim; k++)
            same = t->shape[k] == ref->shape[k];
        if (!same) {
            char got[NBI_SHAPE_STR_SIZE], want[NBI_SHAPE_STR_SIZE];
            return nbi_fail(NB_ERR_SHAPE,
                            "nb_stack: every tensor must have the same shape, but tensors[%d] has shape %s and "
                            "tensors[0] has shape %s",
                            i, nbi_shape_str(t->ndim, t->shape, got, sizeof got),
                            nbi_shape_str(ndim, ref->shape, want, sizeof want));
        }
    }
    if (ndim == NB_MAX_DIMS)
        return nbi_fail(NB_ERR_SHAPE, "nb_stack: the tensors already have %d dims, the most a tensor can have", ndim);
    int d = nbi_wrap_dim(dim, ndim + 1, "nb_stack");
    if (d < 0) return NULL;

    /* out: the inputs' shape with count inserted at d; input i is the slice
     * out[..., i, ...] (dim d removed from out's strides). */
    int64_t shape[NB_MAX_DIMS];
    for (int k = 0, j = 0; k <= ndim; k++)
        shape[k] = k == d ? count : ref->shape[j++];
    nb_tensor *out = nbi_empty(ndim + 1, shape, dtype, ref->storage->device);
    if (out == NULL) return NULL;
    int64_t slice_stride[NB_MAX_DIMS];
    for (int k = 0, j = 0; k <= ndim; k++)
        if (k != d) slice_stride[j++] = out->stride[k];
    for (int i = 0; i < count; i++)
        copy_into_region(out, ndim, ref->shape, slice_stride, i * out->stride[d], tensors[i]);
    return nbi_record_stack(out, tensors, count, d);
}

/* ------------------------------------------------------------------------ */
/* Splitting into views                                                      */
/* ------------------------------------------------------------------------ */

int nbi_check_pieces(const nb_tensor *t, int dim, nb_tensor **out, int64_t capacity, const char *op)
{
    if (!nbi_check_tensor(t, op, "t")) return -1;
    if (capacity < 0) {
        nbi_fail(NB_ERR_ARG, "%s: capacity %lld is negative", op, (long long)capacity);
        return -1;
    }
    if (out == NULL && capacity > 0) {
        nbi_fail(NB_ERR_ARG, "%s: out is NULL but capacity is %lld", op, (long long)capacity);
        return -1;
    }
    if (t->ndim == 0) {
        nbi_fail(NB_ERR_SHAPE, "%s: a 0-d tensor cannot be split into pieces (it needs at least 1 dim)", op);
        return -1;
    }
    return nbi_wrap_dim(dim, t->ndim, op);
}

/* Write views of pieces [0, min(pieces, capacity)) to out: piece i starts
 * at i * piece_size along d and holds up to piece_size elements. Returns
 * pieces, or -1 (views already made are freed) when out of memory. */
static int64_t make_pieces(const nb_tensor *t, int d, int64_t piece_size, int64_t pieces, nb_tensor **out,
                           int64_t capacity)
{
    int64_t size    = t->shape[d];
    int64_t written = pieces < capacity ? pieces : capacity;
    int64_t shape[NB_MAX_DIMS];
    for (int k = 0; k < t->ndim; k++)
        shape[k] = t->shape[k];
    for (int64_t i = 0; i < written; i++) {
        int64_t start = i * piece_size;
        shape[d]      = size - start < piece_size ? size - start : piece_size;
        out[i]        = nb_narrow(t, d, start, shape[d]); /* a view, recorded for autograd */
        if (out[i] == NULL) {
            for (int64_t j = 0; j < i; j++) {
                nb_free(out[j]);
                out[j] = NULL;
            }
            return -1;
        }
    }
    return pieces;
}

int64_t nb_split(const nb_tensor *t, int64_t split_size, int dim, nb_tensor **out, int64_t capacity)
{
    int d = nbi_check_pieces(t, dim, out, capacity, "nb_split");
    if (d < 0) return -1;
    int64_t size = t->shape[d];
    if (split_size < 0) {
        nbi_fail(NB_ERR_ARG, "nb_split: split_size %lld is negative", (long long)split_size);
        return -1;
    }
    if (split_size == 0 && size > 0) {
        nbi_fail(NB_ERR_ARG, "nb_split: split_size can be 0 only when dim %d has size 0, but it has size %lld", d,
                 (long long)size);
        return -1;
    }
    /* A dim of size 0 splits into one empty piece, as in torch. */
    int64_t pieces = size == 0 ? 1 : size / split_size + (size % split_size != 0);
    return make_pieces(t, d, split_size, pieces, out, capacity);
}

int64_t nb_chunk(const nb_tensor *t, int64_t chunks, int dim, nb_tensor **out, int64_t capacity)
{
    int d = nbi_check_pieces(t, dim, out, capacity, "nb_chunk");
    if (d < 0) return -1;
    if (chunks <= 0) {
        nbi_fail(NB_ERR_ARG, "nb_chunk: chunks must be at least 1, got %lld", (long long)chunks);
        return -1;
    }
    int64_t size = t->shape[d];
    /* NOTE: torch.chunk gives `chunks` empty pieces for a dim of size 0,
     * but otherwise pieces of ceil(size / chunks), so fewer than chunks
     * pieces can come back (6 in 4 chunks is 2 + 2 + 2). */
    if (size == 0) return make_pieces(t, d, 0, chunks, out, capacity);
    int64_t piece_size = size / chunks + (size % chunks != 0);
    int64_t pieces     = size / piece_size + (size % piece_size != 0);
    return make_pieces(t, d, piece_size, pieces, out, capacity);
}
