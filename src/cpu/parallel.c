/*
 * parallel.c — the one thread pool of the library (OpenMP's), and the thread
 * count setting.
 *
 * NOTE: OpenBLAS is linked in its OpenMP build, so GEMM and our kernels share
 * this pool instead of fighting over the cores with two pools.
 */
#include "cpu.h"

#include <stdatomic.h>

#if defined(NB_HAVE_OPENMP)
#include <omp.h>
#endif

/* 0 until first asked: then the core count. NOTE: atomic because any thread
 * may ask while another sets it (a plain int would be a data race in C11);
 * relaxed order is enough, nothing else is published with it. */
static atomic_int thread_count;

int nb_get_num_threads(void)
{
    int count = atomic_load_explicit(&thread_count, memory_order_relaxed);
    if (count == 0) {
#if defined(NB_HAVE_OPENMP)
        count = omp_get_max_threads();
#else
        count = 1;
#endif
        /* A count set by another thread meanwhile wins over the default. */
        int expected = 0;
        if (!atomic_compare_exchange_strong_explicit(&thread_count, &expected, count, memory_order_relaxed,
                                                     memory_order_relaxed))
            count = expected;
    }
    return count;
}

nb_status nb_set_num_threads(int n)
{
    if (n < 1) return nbi_fail_status(NB_ERR_ARG, "nb_set_num_threads: need at least 1 thread, got %d", n);
#if defined(NB_HAVE_OPENMP)
    atomic_store_explicit(&thread_count, n, memory_order_relaxed);
#else
    atomic_store_explicit(&thread_count, 1, memory_order_relaxed); /* without OpenMP: one thread whatever is asked */
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
