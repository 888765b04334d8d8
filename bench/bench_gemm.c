/*
 * bench_gemm.c — float32 matrix products: nb_matmul (whatever GEMM the build
 * has), nabla's fallback kernel alone, and raw cblas_sgemm when the build has
 * OpenBLAS, side by side, on 1 and 2 threads.
 *
 * Each cell is GFLOPS (2 m n k / time) of the best and the median of RUNS
 * runs; a run repeats the product enough times to last ~30 ms, so that small
 * sizes are not timer noise. Build in Release (the default) before reading
 * the numbers: bench_gemm [max_size] skips square sizes above max_size;
 * bench_gemm --direct runs only the table of the direct kernels (gemm.c
 * picks them by shape from that table's numbers).
 */
#define _POSIX_C_SOURCE 200809L
#include "cpu/gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(NB_HAVE_OPENBLAS)
#include <cblas.h>
#endif

enum { RUNS = 7 };

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    int64_t    m, n, k;
    bool       ta, tb;         /* the layout: op(A) = A^T, op(B) = B^T */
    nb_tensor *a, *b;          /* for nb_matmul */
    float     *ra, *rb, *rc;   /* raw buffers for the kernels */
} problem;

typedef enum { VIA_MATMUL, VIA_FALLBACK, VIA_CBLAS, VIA_VARIANT, VIA_DIRECT } via;

static int variant_under_test; /* for VIA_VARIANT */

static void run_once(const problem *p, via how)
{
    int64_t lda = p->ta ? p->m : p->k, ldb = p->tb ? p->k : p->n;
    switch (how) {
    case VIA_MATMUL: nb_free(nb_matmul(p->a, p->b)); break;
    case VIA_FALLBACK:
        nbi_gemm_fallback_f32(p->ta, p->tb, p->m, p->n, p->k, 1.0f, p->ra, lda, p->rb, ldb, 0.0f, p->rc, p->n);
        break;
    case VIA_DIRECT:
        nbi_gemm_direct_f32(p->ta, p->tb, p->m, p->n, p->k, 1.0f, p->ra, lda, p->rb, ldb, 0.0f, p->rc, p->n);
        break;
    case VIA_VARIANT:
        nbi_gemm_fallback_variant_f32(variant_under_test, false, false, p->m, p->n, p->k, 1.0f, p->ra, p->k, p->rb,
                                      p->n, 0.0f, p->rc, p->n);
        break;
    case VIA_CBLAS:
#if defined(NB_HAVE_OPENBLAS)
        cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans, p->tb ? CblasTrans : CblasNoTrans,
                    (blasint)p->m, (blasint)p->n, (blasint)p->k, 1.0f, p->ra, (blasint)lda, p->rb, (blasint)ldb,
                    0.0f, p->rc, (blasint)p->n);
#endif
        break;
    }
}

static int compare_doubles(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Best and median GFLOPS of RUNS timed runs. */
static void measure(const problem *p, via how, double *best, double *median)
{
    double flops = 2.0 * (double)p->m * (double)p->n * (double)p->k;
    run_once(p, how); /* warm up: caches, thread pool, packing buffers */
    double t0 = now_seconds();
    run_once(p, how);
    double one = now_seconds() - t0;
    int    reps = one > 0.03 ? 1 : (int)(0.03 / (one > 1e-7 ? one : 1e-7)) + 1;
    double gflops[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double start = now_seconds();
        for (int i = 0; i < reps; i++) run_once(p, how);
        double per_product = (now_seconds() - start) / reps;
        gflops[r]          = flops / per_product * 1e-9;
    }
    qsort(gflops, RUNS, sizeof gflops[0], compare_doubles);
    *best   = gflops[RUNS - 1];
    *median = gflops[RUNS / 2];
}

/* The cells of one table row: `first`, the fallback, then (with OpenBLAS)
 * cblas_sgemm and the ratio of `compared`'s best to cblas's best. The
 * caller has set nabla's thread count; OpenBLAS's follows it. */
static void print_cells(const problem *p, via first, via compared)
{
    double best[2], median;
    measure(p, first, &best[0], &median);
    printf("   %7.1f %7.1f", best[0], median);
    measure(p, VIA_FALLBACK, &best[1], &median);
    printf("   %7.1f %7.1f", best[1], median);
#if defined(NB_HAVE_OPENBLAS)
    double cblas_best;
    openblas_set_num_threads(nb_get_num_threads());
    measure(p, VIA_CBLAS, &cblas_best, &median);
    printf("   %7.1f %7.1f   %5.2f", cblas_best, median, best[compared == first ? 0 : 1] / cblas_best);
#else
    (void)compared;
#endif
    printf("\n");
    fflush(stdout);
}

static problem problem_new(int64_t m, int64_t n, int64_t k)
{
    problem p = { .m = m, .n = n, .k = k };
    p.a       = nb_rand(NB_SHAPE(m, k), NB_OPTS());
    p.b       = nb_rand(NB_SHAPE(k, n), NB_OPTS());
    p.ra      = malloc((size_t)(m * k) * sizeof(float));
    p.rb      = malloc((size_t)(k * n) * sizeof(float));
    p.rc      = malloc((size_t)(m * n) * sizeof(float));
    nb_copy_to_buffer(p.a, p.ra, (size_t)(m * k) * sizeof(float));
    nb_copy_to_buffer(p.b, p.rb, (size_t)(k * n) * sizeof(float));
    return p;
}

static void problem_free(problem *p)
{
    nb_free(p->a);
    nb_free(p->b);
    free(p->ra);
    free(p->rb);
    free(p->rc);
}

static void bench_case(int64_t m, int64_t n, int64_t k)
{
    problem p = problem_new(m, n, k);

    for (int threads = 1; threads <= 2; threads++) {
        if (nb_set_num_threads(threads) != NB_OK) {
            nb_clear_error();
            continue;
        }
#if defined(NB_HAVE_OPENBLAS)
        openblas_set_num_threads(threads);
#endif
        char name[64];
        snprintf(name, sizeof name, "%lldx%lld . %lldx%lld", (long long)m, (long long)k, (long long)k, (long long)n);
        printf("%-22s %7d", name, threads);
        print_cells(&p, VIA_MATMUL, VIA_FALLBACK);
    }
    problem_free(&p);
}

/* The direct kernels against the packing GEMMs, in the layouts a training
 * step produces: NT is a linear layer's forward (x W^T), TN its weight
 * gradient (g^T x), NN its input gradient (g W). */
static void bench_direct(void)
{
    if (!nbi_gemm_direct_available()) {
        printf("\ndirect kernels: not on this CPU (they need AVX-512F/VL/DQ)\n");
        return;
    }
    static const struct {
        bool    ta, tb;
        int64_t m, n, k;
        const char *what;
    } cases[] = {
        { false, true, 64, 256, 784, "fc1 forward, batch 64" },    { true, false, 256, 784, 64, "fc1 dW, batch 64" },
        { false, false, 64, 784, 256, "fc1 dx, batch 64" },        { false, true, 256, 256, 784, "fc1 forward, b256" },
        { true, false, 256, 784, 256, "fc1 dW, batch 256" },       { false, true, 64, 10, 256, "fc2 forward, batch 64" },
        { true, false, 10, 256, 64, "fc2 dW, batch 64" },          { false, false, 64, 256, 10, "fc2 dx, batch 64" },
        { false, true, 64, 10, 1568, "cnn head forward" },         { true, false, 10, 1568, 64, "cnn head dW" },
        { false, false, 64, 1568, 10, "cnn head dx" },              { false, true, 256, 256, 256, "square 256" },
        { true, false, 256, 256, 256, "square 256" },              { false, false, 256, 256, 256, "square 256" },
        { false, true, 1024, 1024, 1024, "square 1024" },          { true, false, 1024, 1024, 512, "k 512" },
        { false, true, 1024, 1024, 64, "k 64" },                   { false, true, 8, 4096, 4096, "8 rows" },
        /* nabla-train's CNN, per image: conv 1->16 and 16->32 (3x3, pad 1) */
        { false, false, 16, 784, 10, "conv1 forward" },            { false, false, 32, 196, 145, "conv2 forward" },
        { false, true, 16, 9, 784, "conv1 dW" },                   { false, true, 32, 144, 196, "conv2 dW" },
        { true, false, 144, 196, 32, "conv2 dcols" },
    };
    printf("\ndirect kernels (no packing of B) vs the packing GEMMs, GFLOPS best / median:\n");
    printf("%-4s %-22s %-22s %7s   %-15s   %-15s", "form", "m x n x k", "", "threads", "direct", "fallback");
#if defined(NB_HAVE_OPENBLAS)
    printf("   %-15s   %s", "cblas_sgemm", "direct/cblas (best)");
#endif
    printf("\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        problem p = problem_new(cases[i].m, cases[i].n, cases[i].k);
        p.ta      = cases[i].ta;
        p.tb      = cases[i].tb;
        for (int threads = 1; threads <= 2; threads++) {
            if (nb_set_num_threads(threads) != NB_OK) {
                nb_clear_error();
                continue;
            }
            char name[64];
            snprintf(name, sizeof name, "%lldx%lldx%lld", (long long)p.m, (long long)p.n, (long long)p.k);
            printf("%c%c   %-22s %-22s %7d", p.ta ? 'T' : 'N', p.tb ? 'T' : 'N', name, cases[i].what, threads);
            print_cells(&p, VIA_DIRECT, VIA_DIRECT);
        }
        problem_free(&p);
    }
}

/* Each micro-kernel variant this CPU runs, alone on one thread. */
static void bench_variants(int64_t size)
{
    problem p = problem_new(size, size, size);
    nb_set_num_threads(1);
    printf("\nfallback variants, %lldx%lld . %lldx%lld, 1 thread (GFLOPS best / median):\n", (long long)size,
           (long long)size, (long long)size, (long long)size);
    for (int v = 0; v < nbi_gemm_fallback_variant_count(); v++) {
        double best, median;
        variant_under_test = v;
        measure(&p, VIA_VARIANT, &best, &median);
        printf("  %-10s %7.1f %7.1f\n", nbi_gemm_fallback_variant_name(v), best, median);
    }
    problem_free(&p);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--direct") == 0) {
        bench_direct();
        return 0;
    }
    int64_t max_size = argc > 1 ? atoll(argv[1]) : 2048;
    int     saved    = nb_get_num_threads();
    printf("float32 GEMM, GFLOPS best / median of %d runs. nb_matmul uses: %s; fallback kernel: %s\n", RUNS,
           nb_gemm_backend(), nbi_gemm_fallback_isa());
    printf("%-22s %7s   %-15s   %-15s", "m x k . k x n", "threads", "nb_matmul", "fallback");
#if defined(NB_HAVE_OPENBLAS)
    printf("   %-15s   %s", "cblas_sgemm", "fallback/cblas (best)");
#endif
    printf("\n");
    static const int64_t squares[] = { 64, 256, 1024, 2048 };
    for (int i = 0; i < 4; i++)
        if (squares[i] <= max_size) bench_case(squares[i], squares[i], squares[i]);
    bench_case(64, 256, 784); /* an MLP layer: batch 64, 784 -> 256 */
    bench_direct();
    bench_variants(max_size < 1024 ? max_size : 1024);
    nb_set_num_threads(saved);
    return 0;
}
