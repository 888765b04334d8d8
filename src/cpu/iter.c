/*
 * iter.c — running 1-D loops over an iterator's geometry (core/iter.h) on
 * the CPU: the element range is cut into pieces for the thread pool, and
 * each piece walks its rows, calling the loop once per contiguous run.
 */
#include "cpu.h"

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
