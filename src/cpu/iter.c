/*
 * iter.c — the N-d iterator: lines operands up against the output's shape,
 * simplifies the geometry, and feeds 1-D loop kernels.
 *
 * Simplification, in order: drop size-1 dims; order dims by the output's
 * strides (so writes stay sequential even into a transposed view); merge
 * neighbouring dims that every operand walks as one (stride[d] ==
 * stride[d+1] * shape[d+1]). A contiguous tensor of any rank becomes one
 * dim, so the kernel gets one long run and its contiguous fast path.
 */
#include "cpu.h"

void nbi_iter_init(nbi_iter *it, int noperands, const nb_tensor *const *operands)
{
    const nb_tensor *out  = operands[0];
    int              ndim = out->ndim;
    it->noperands         = noperands;
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

void nbi_iter_run_range(const nbi_iter *it, int64_t begin, int64_t end, nbi_loop_fn loop, const void *ctx)
{
    int     last  = it->ndim - 1;
    int64_t inner = it->shape[last];
    if (inner == 0 || begin >= end) return;
    int64_t coord[NB_MAX_DIMS];
    int64_t rest = begin;
    for (int d = last; d >= 0; d--) {
        coord[d] = rest % it->shape[d];
        rest /= it->shape[d];
    }
    char   *ptr[NBI_MAX_OPERANDS];
    int64_t inner_strides[NBI_MAX_OPERANDS];
    for (int k = 0; k < it->noperands; k++) {
        inner_strides[k] = it->strides[last][k];
        ptr[k]           = it->base[k];
        for (int d = 0; d <= last; d++) ptr[k] += coord[d] * it->strides[d][k];
    }
    int64_t pos = begin;
    while (pos < end) {
        int64_t n = inner - coord[last];
        if (n > end - pos) n = end - pos;
        loop(ptr, inner_strides, n, ctx);
        pos += n;
        if (pos >= end) break;
        /* Next row: carry into the outer dims, then recompute pointers. */
        coord[last] = 0;
        for (int d = last - 1; d >= 0; d--) {
            if (++coord[d] < it->shape[d]) break;
            coord[d] = 0;
        }
        for (int k = 0; k < it->noperands; k++) {
            ptr[k] = it->base[k];
            for (int d = 0; d < last; d++) ptr[k] += coord[d] * it->strides[d][k];
        }
    }
}

typedef struct {
    const nbi_iter *it;
    nbi_loop_fn     loop;
    const void     *ctx;
} iter_job;

static void run_piece(int64_t begin, int64_t end, void *arg)
{
    const iter_job *job = arg;
    nbi_iter_run_range(job->it, begin, end, job->loop, job->ctx);
}

void nbi_iter_run(const nbi_iter *it, nbi_loop_fn loop, const void *ctx)
{
    if (it->numel < NBI_PARALLEL_GRAIN) {
        nbi_iter_run_range(it, 0, it->numel, loop, ctx);
        return;
    }
    iter_job job = { it, loop, ctx };
    nbi_parallel_for(it->numel, NBI_PARALLEL_GRAIN / 2, run_piece, &job);
}
