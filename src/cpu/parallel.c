/*
 * parallel.c — the one thread pool of the library (OpenMP's), and the thread
 * count setting.
 *
 * NOTE: OpenBLAS is linked in its OpenMP build, so GEMM and our kernels share
 * this pool instead of fighting over the cores with two pools.
 */
#include "cpu.h"

#if defined(NB_HAVE_OPENMP)
#include <omp.h>
#endif

static int thread_count; /* 0 until first asked: then the core count */

int nb_get_num_threads(void)
{
    if (thread_count == 0) {
#if defined(NB_HAVE_OPENMP)
        thread_count = omp_get_max_threads();
#else
        thread_count = 1;
#endif
    }
    return thread_count;
}

nb_status nb_set_num_threads(int n)
{
    if (n < 1) return nbi_fail_status(NB_ERR_ARG, "nb_set_num_threads: need at least 1 thread, got %d", n);
#if defined(NB_HAVE_OPENMP)
    thread_count = n;
#else
    thread_count = 1; /* a build without OpenMP runs on one thread whatever is asked */
#endif
    return NB_OK;
}

void nbi_parallel_for(int64_t n, int64_t grain, nbi_range_fn body, void *ctx)
{
    if (n <= 0) return;
    int threads = nb_get_num_threads();
    if (grain < 1) grain = 1;
    int64_t max_pieces = (n + grain - 1) / grain;
    if (max_pieces < threads) threads = (int)max_pieces;
#if defined(NB_HAVE_OPENMP)
    if (threads > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(threads)
        {
            int     pieces = omp_get_num_threads();
            int     id     = omp_get_thread_num();
            int64_t begin  = n * id / pieces;
            int64_t end    = n * (id + 1) / pieces;
            if (begin < end) body(begin, end, ctx);
        }
        return;
    }
#endif
    body(0, n, ctx);
}
