/*
 * bench_cuda.c — the GPU numbers of issue 12, for scripts/gpu-check:
 *   add of 1e8 float32 against a device-to-device cudaMemcpy of the same
 *   bytes (target: >= 0.8x its bandwidth), and the cost of launching a
 *   small op (a 1-element add, synchronized every 1000 calls).
 * bench/compare_cuda.py times the same cases with PyTorch CUDA beside it.
 * Without a GPU it says so and exits 0.
 */
#define _POSIX_C_SOURCE 199309L
#include "nabla.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef NB_HAVE_CUDA
#include "core/internal.h" /* nbi_ptr: the device address, for the raw copy */
#include "cuda/cuda_runtime_api.h"
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

enum { REPS = 9 };

static void report(const char *name, double *seconds, double scale, const char *unit)
{
    qsort(seconds, REPS, sizeof seconds[0], compare_doubles);
    printf("%-28s min %10.3f  median %10.3f %s\n", name, seconds[0] * scale, seconds[REPS / 2] * scale, unit);
}

int main(void)
{
    if (!nb_cuda_is_available()) {
        printf("bench_cuda: skipped: no CUDA device\n");
        return 0;
    }
    const nb_device gpu = NB_DEVICE_CUDA(0);
    const int64_t   n   = 100000000;
    nb_tensor      *a   = nb_to(nb_ones(NB_SHAPE(n), NB_OPTS()), gpu);
    nb_tensor      *b   = nb_to(nb_ones(NB_SHAPE(n), NB_OPTS()), gpu);
    if (a == NULL || b == NULL) {
        fprintf(stderr, "bench_cuda: %s\n", nb_last_error());
        return 1;
    }
    double seconds[REPS];
    for (int r = 0; r < REPS; r++) {
        nb_cuda_synchronize();
        double     t0 = now_s();
        nb_tensor *c  = nb_add(a, b);
        nb_cuda_synchronize();
        seconds[r] = now_s() - t0;
        nb_free(c);
    }
    /* Bytes moved: read a and b, write c. */
    double add_gbs;
    {
        double copy[REPS];
        memcpy(copy, seconds, sizeof copy);
        report("add 1e8 float32", copy, 1e3, "ms");
        qsort(copy, REPS, sizeof copy[0], compare_doubles);
        add_gbs = 3.0 * 4.0 * (double)n / copy[REPS / 2] / 1e9;
        printf("%-28s %.1f GB/s\n", "add bandwidth (median)", add_gbs);
    }
#ifdef NB_HAVE_CUDA
    {
        nb_tensor *c = nb_empty(NB_SHAPE(n), NB_OPTS());
        nb_tensor *d = nb_to(c, gpu);
        for (int r = 0; r < REPS; r++) {
            nb_cuda_synchronize();
            double t0 = now_s();
            nbi_cuda_copy_on_device(0, nbi_ptr(d), nbi_ptr(a), 4 * (size_t)n);
            nb_cuda_synchronize();
            seconds[r] = now_s() - t0;
        }
        report("cudaMemcpy D2D 4e8 bytes", seconds, 1e3, "ms");
        double copy_gbs = 2.0 * 4.0 * (double)n / seconds[REPS / 2] / 1e9;
        printf("%-28s %.1f GB/s; add / copy = %.2f (target >= 0.8)\n", "copy bandwidth (median)", copy_gbs,
               add_gbs / copy_gbs);
        nb_free(c);
        nb_free(d);
    }
#endif
    nb_tensor *x = nb_to(nb_ones(NB_SHAPE(1), NB_OPTS()), gpu);
    for (int r = 0; r < REPS; r++) {
        double t0 = now_s();
        for (int i = 0; i < 1000; i++) nb_free(nb_add(x, x));
        nb_cuda_synchronize();
        seconds[r] = (now_s() - t0) / 1000;
    }
    report("small add (launch + op)", seconds, 1e6, "us");
    nb_free(x);
    nb_free(a);
    nb_free(b);
    return 0;
}
