/*
 * iter.c — the N-d iterator's geometry (iter.h): lines operands up against
 * the output's shape and simplifies it, for any device's kernels.
 *
 * Simplification, in order: drop size-1 dims; order dims by the output's
 * strides (so writes stay sequential even into a transposed view); merge
 * neighbouring dims that every operand walks as one (stride[d] ==
 * stride[d+1] * shape[d+1]). A contiguous tensor of any rank becomes one
 * dim, so the kernel gets one long run and its contiguous fast path.
 */
#include "iter.h"

#include "internal.h"

void nbi_iter_init(nbi_iter *it, int noperands, const nb_tensor *const *operands)
{
    const nb_tensor *out  = operands[0];
    int              ndim = out->ndim;
    it->noperands         = noperands;
    it->device            = out->storage->device.index;
    it->numel             = out->numel;

    int64_t shape[NB_MAX_DIMS];
    int64_t strides[NB_MAX_DIMS][NBI_MAX_OPERANDS];
    for (int k = 0; k < noperands; k++) {
        const nb_tensor *t        = operands[k];
        int64_t          itemsize = (int64_t)nbi_itemsize(t);
        it->base[k]               = nbi_ptr(t);
        /* Align t's dims with the output's from the right; missing or
         * size-1 dims broadcast with stride 0. */
        for (int d = 0; d < ndim; d++) {
            int td        = d - (ndim - t->ndim);
            strides[d][k] = (td >= 0 && t->shape[td] != 1) ? t->stride[td] * itemsize : 0;
        }
    }
    /* Drop size-1 dims. */
    int kept = 0;
    for (int d = 0; d < ndim; d++) {
        if (out->shape[d] == 1) continue;
        shape[kept] = out->shape[d];
        for (int k = 0; k < noperands; k++) strides[kept][k] = strides[d][k];
        kept++;
    }
    ndim = kept;
    /* Order by the output's stride, largest (outermost) first. Insertion
     * sort: at most 8 dims, and usually already in order. */
    for (int d = 1; d < ndim; d++) {
        for (int e = d; e > 0; e--) {
            int64_t outer = strides[e - 1][0], inner = strides[e][0];
            if ((outer < 0 ? -outer : outer) >= (inner < 0 ? -inner : inner)) break;
            int64_t s = shape[e];
            shape[e] = shape[e - 1];
            shape[e - 1] = s;
            for (int k = 0; k < noperands; k++) {
                int64_t x         = strides[e][k];
                strides[e][k]     = strides[e - 1][k];
                strides[e - 1][k] = x;
            }
        }
    }
    /* Merge dim d into d+1 when every operand steps over d as a block. */
    it->ndim = 0;
    for (int d = 0; d < ndim; d++) {
        if (it->ndim > 0) {
            int  prev      = it->ndim - 1;
            bool mergeable = true;
            for (int k = 0; k < noperands && mergeable; k++)
                mergeable = it->strides[prev][k] == strides[d][k] * shape[d]; /* prev: the merged dim so far */
            if (mergeable) {
                it->shape[prev] *= shape[d];
                for (int k = 0; k < noperands; k++) it->strides[prev][k] = strides[d][k];
                continue;
            }
        }
        it->shape[it->ndim] = shape[d];
        for (int k = 0; k < noperands; k++) it->strides[it->ndim][k] = strides[d][k];
        it->ndim++;
    }
    if (it->ndim == 0) { /* 0-d or all size 1: one element */
        it->ndim     = 1;
        it->shape[0] = 1;
        for (int k = 0; k < noperands; k++) it->strides[0][k] = 0;
    }
    if (it->numel == 0) it->shape[0] = 0;
}

