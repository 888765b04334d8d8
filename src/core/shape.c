/*
 * shape.c — shape arithmetic shared by every op: formatting for messages,
 * dim wrapping, validation, broadcasting and contiguous strides.
 */
#include "internal.h"

#include <stdio.h>

char *nbi_shape_str(int ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

int nbi_wrap_dim(int dim, int ndim, const char *op)
{
    /* A 0-d tensor takes dims -1 and 0, as PyTorch's. */
    int range = ndim > 0 ? ndim : 1;
    if (dim < -range || dim >= range) {
        nbi_fail(NB_ERR_INDEX, "%s: dim %d is out of range for a %d-d tensor (expected %d to %d)", op, dim,
                 ndim, -range, range - 1);
        return -1;
    }
    return dim < 0 ? dim + range : dim;
}

bool nbi_check_shape(nb_shape shape, const char *op)
{
    if (shape.ndim < 0 || shape.ndim > NB_MAX_DIMS) {
        nbi_fail(NB_ERR_SHAPE, "%s: a shape has 0 to %d dims, not %d", op, NB_MAX_DIMS, shape.ndim);
        return false;
    }
    /* NOTE: the product of the nonzero sizes is bounded too: a zero size
     * makes numel 0, but strides still multiply the other sizes. */
    int64_t nonzero_product = 1;
    for (int i = 0; i < shape.ndim; i++) {
        if (shape.dims[i] < 0) {
            char buf[NBI_SHAPE_STR_SIZE];
            nbi_fail(NB_ERR_SHAPE, "%s: size %lld in shape %s is negative", op, (long long)shape.dims[i],
                     nbi_shape_str(shape.ndim, shape.dims, buf, sizeof buf));
            return false;
        }
        if (shape.dims[i] > 0 && nonzero_product > (INT64_MAX / 16) / shape.dims[i]) {
            char buf[NBI_SHAPE_STR_SIZE];
            nbi_fail(NB_ERR_SHAPE, "%s: shape %s has too many elements", op,
                     nbi_shape_str(shape.ndim, shape.dims, buf, sizeof buf));
            return false;
        }
        if (shape.dims[i] > 0) nonzero_product *= shape.dims[i];
    }
    return true;
}

int64_t nbi_shape_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

bool nbi_broadcast(int ndim_a, const int64_t *a, int ndim_b, const int64_t *b, int *ndim_out,
                   int64_t *out, const char *op)
{
    int ndim = ndim_a > ndim_b ? ndim_a : ndim_b;
    /* Align from the right: dim i of the result is dim i - (ndim - ndim_x) of x. */
    for (int i = ndim - 1; i >= 0; i--) {
        int     ia = i - (ndim - ndim_a), ib = i - (ndim - ndim_b);
        int64_t sa = ia >= 0 ? a[ia] : 1, sb = ib >= 0 ? b[ib] : 1;
        if (sa != sb && sa != 1 && sb != 1) {
            char buf_a[NBI_SHAPE_STR_SIZE], buf_b[NBI_SHAPE_STR_SIZE];
            nbi_fail(NB_ERR_SHAPE, "%s: shapes %s and %s cannot be broadcast (dim %d: %lld vs %lld)", op,
                     nbi_shape_str(ndim_a, a, buf_a, sizeof buf_a), nbi_shape_str(ndim_b, b, buf_b, sizeof buf_b),
                     i, (long long)sa, (long long)sb);
            return false;
        }
        out[i] = sa == 1 ? sb : sa;
    }
    *ndim_out = ndim;
    return true;
}

nb_status nb_broadcast_shapes(nb_shape a, nb_shape b, nb_shape *out)
{
    if (out == NULL) return nbi_fail_status(NB_ERR_ARG, "nb_broadcast_shapes: out is NULL");
    if (!nbi_check_shape(a, "nb_broadcast_shapes") || !nbi_check_shape(b, "nb_broadcast_shapes"))
        return nb_last_status();
    nb_shape result;
    if (!nbi_broadcast(a.ndim, a.dims, b.ndim, b.dims, &result.ndim, result.dims, "nb_broadcast_shapes"))
        return NB_ERR_SHAPE;
    *out = result;
    return NB_OK;
}

void nbi_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= shape[i] > 1 ? shape[i] : 1;
    }
}

/* ------------------------------------------------------------------------ */
/* Memory overlap                                                            */
/* ------------------------------------------------------------------------ */

/* Its elements fill [offset, offset + numel) exactly, in some dim order. */
static bool non_overlapping_and_dense(const nb_tensor *t)
{
    int     order[NB_MAX_DIMS], n = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] == 1) continue;
        int k = n++;
        while (k > 0 && t->stride[order[k - 1]] > t->stride[d]) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = d;
    }
    int64_t expected = 1;
    for (int k = 0; k < n; k++) {
        if (t->stride[order[k]] != expected) return false;
        expected *= t->shape[order[k]];
    }
    return true;
}

nbi_overlap nbi_memory_overlap(const nb_tensor *a, const nb_tensor *b)
{
    if (a->numel == 0 || b->numel == 0 || a->storage != b->storage) return NBI_OVERLAP_NO;
    bool same = a->offset == b->offset && a->ndim == b->ndim;
    for (int d = 0; same && d < a->ndim; d++) same = a->shape[d] == b->shape[d] && a->stride[d] == b->stride[d];
    if (same) return NBI_OVERLAP_FULL;
    if (!non_overlapping_and_dense(a) || !non_overlapping_and_dense(b)) return NBI_OVERLAP_TOO_HARD;
    int64_t a_end = a->offset + a->numel, b_end = b->offset + b->numel;
    return a->offset < b_end && b->offset < a_end ? NBI_OVERLAP_PARTIAL : NBI_OVERLAP_NO;
}

static bool refuse_overlap(const char *op)
{
    nbi_fail(NB_ERR_ARG, "%s: some elements of the input tensor and the written-to tensor refer to a single memory "
                         "location; clone the input first", op);
    return false;
}

bool nbi_check_no_partial_overlap(const nb_tensor *written, const nb_tensor *read, const char *op)
{
    return nbi_memory_overlap(written, read) != NBI_OVERLAP_PARTIAL || refuse_overlap(op);
}

bool nbi_check_no_overlap(const nb_tensor *written, const nb_tensor *read, const char *op)
{
    nbi_overlap overlap = nbi_memory_overlap(written, read);
    return (overlap != NBI_OVERLAP_PARTIAL && overlap != NBI_OVERLAP_FULL) || refuse_overlap(op);
}
