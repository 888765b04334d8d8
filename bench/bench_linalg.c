/*
 * bench_linalg.c — times torch.linalg's LAPACK-backed ops in nabla on
 * 256 x 256 float64 matrices (issue 13's target: within 2x of PyTorch,
 * which calls LAPACK too). bench/compare_linalg.py runs the same cases in
 * PyTorch and prints both side by side with the ratios.
 *
 *   build/bench/bench_linalg [--threads N] [--filter S] [--reps N]
 *
 * Cases (A symmetric positive-definite, R R^T / n + I, so every op is
 * defined; B 256 x 256): linalg_solve_256, linalg_inv_256,
 * linalg_cholesky_256, linalg_svd_256 (U, S, Vh, reduced), linalg_det_256,
 * linalg_eigh_256, linalg_qr_256. Without LAPACK the cases fail (reported).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nabla.h"

#include "bench_common.h"

enum { N = 256 };

typedef enum { SOLVE, INV, CHOLESKY, SVD, DET, EIGH, QR } linalg_case;

typedef struct {
    linalg_case which;
    nb_tensor  *A, *B;
} bench_ctx;

static double time_batch(void *opaque, int64_t calls)
{
    bench_ctx *ctx   = opaque;
    double     start = bench_now_us();
    for (int64_t c = 0; c < calls; c++) {
        if (nb_scope_begin() != NB_OK) return -1;
        nb_tensor *out = NULL, *second = NULL, *third = NULL;
        switch (ctx->which) {
        case SOLVE: out = nb_linalg_solve(ctx->A, ctx->B); break;
        case INV: out = nb_linalg_inv(ctx->A); break;
        case CHOLESKY: out = nb_linalg_cholesky(ctx->A, false); break;
        case SVD: out = nb_linalg_svd(ctx->A, false, &second, &third); break;
        case DET: out = nb_linalg_det(ctx->A); break;
        case EIGH: out = nb_linalg_eigh(ctx->A, false, &second); break;
        case QR: out = nb_linalg_qr(ctx->A, false, &second); break;
        }
        nb_scope_end();
        if (out == NULL) return -1;
    }
    return bench_now_us() - start;
}

int main(int argc, char **argv)
{
    bench_options o;
    if (!bench_parse_options(&o, argc, argv)) return 2;
    nb_manual_seed(0);
    nb_tensor *R = nb_randn(NB_SHAPE(N, N), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *A = nb_add(nb_div_scalar(nb_matmul(R, nb_t(R)), N), nb_eye(N, N, NB_OPTS(.dtype = NB_FLOAT64)));
    nb_tensor *B = nb_randn(NB_SHAPE(N, N), NB_OPTS(.dtype = NB_FLOAT64));
    if (A == NULL || B == NULL) {
        fprintf(stderr, "bench_linalg: %s\n", nb_last_error());
        return 1;
    }
    static const struct {
        const char *name;
        linalg_case which;
    } cases[] = { { "linalg_solve_256", SOLVE }, { "linalg_inv_256", INV },   { "linalg_cholesky_256", CHOLESKY },
                  { "linalg_svd_256", SVD },     { "linalg_det_256", DET },   { "linalg_eigh_256", EIGH },
                  { "linalg_qr_256", QR } };
    printf("# nabla bench_linalg: gemm=%s float64 %dx%d\n# case threads min_us median_us\n", nb_gemm_backend(), N, N);
    int reps = o.reps > 0 ? o.reps : 7;
    for (int t = 0; t < o.nthread_counts; t++) {
        if (!bench_set_threads("bench_linalg", o.thread_counts[t])) return 1;
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            if (!bench_selected(&o, cases[k].name)) continue;
            bench_ctx ctx = { cases[k].which, A, B };
            if (!bench_measure(cases[k].name, o.thread_counts[t], reps, time_batch, &ctx, 0))
                bench_report_failure("bench_linalg", cases[k].name);
        }
    }
    nb_free(R);
    nb_free(A);
    nb_free(B);
    return 0;
}
