/*
 * gemm.h — matrix products on the CPU: GEMM through OpenBLAS when the build
 * has it, else nabla's own blocked kernel; plus the reference kernels the
 * tests compare the fast ones against.
 *
 * Layout convention (BLAS, row-major): C is m x n with row stride ldc;
 * op(A) is m x k and op(B) is k x n. With trans_a false, A is stored m x k
 * (element (i, p) at a[i * lda + p], lda >= max(1, k)); with trans_a true, A
 * is stored k x m (element (i, p) of op(A) at a[p * lda + i], lda >= max(1, m)).
 * Likewise B with ldb: k x n stored (ldb >= max(1, n)) or n x k transposed
 * (ldb >= max(1, k)). Callers guarantee these; the kernels do not check.
 *
 *   C = alpha * op(A) op(B) + beta * C
 *
 * As in BLAS, beta == 0 means C is written without being read (it may hold
 * garbage or NaN), and k == 0 or alpha == 0 leaves beta * C.
 */
#ifndef NABLA_GEMM_H
#define NABLA_GEMM_H

#include "../core/matmul_args.h"
#include "cpu.h"

/* NOTE: a micro-kernel is fast only when its loops over the register tile are
 * fully unrolled (the accumulators then live in registers); without the
 * pragma gcc interchanges the loops or keeps the tile in memory. */
#if defined(__GNUC__) || defined(__clang__)
#define NBI_UNROLL _Pragma("GCC unroll 32")
#else
#define NBI_UNROLL
#endif

/* The library's GEMM: OpenBLAS's cblas_?gemm / cblas_?gemv when built with
 * it (and the sizes fit its 32-bit ints), else the fallback. On the pool's
 * threads (parallel.c); the result does not depend on their number. Returns NB_OK, or NB_ERR_OOM (nothing recorded) when
 * the fallback could not get its packing buffers; C is then unspecified. */
nb_status nbi_gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                       int64_t ldc);
nb_status nbi_gemm_f64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                       const double *a, int64_t lda, const double *b, int64_t ldb, double beta, double *c,
                       int64_t ldc);

/* nabla's own GEMM, built in every configuration: packed panels and a
 * register-blocked micro-kernel, with the instruction set chosen at run
 * time (see nbi_gemm_fallback_isa). Same contract as nbi_gemm_f32. */
nb_status nbi_gemm_fallback_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                                const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                                float *c, int64_t ldc);
nb_status nbi_gemm_fallback_f64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                                const double *a, int64_t lda, const double *b, int64_t ldb, double beta,
                                double *c, int64_t ldc);

/* The micro-kernel variants this CPU can run, best last, for tests that run
 * each one against the reference: variant in [0, nbi_gemm_fallback_variant_count()).
 * Names: "baseline" (plain C), "avx2" (AVX2+FMA), "avx512" (AVX-512F). */
int         nbi_gemm_fallback_variant_count(void);
const char *nbi_gemm_fallback_variant_name(int variant);
/* The variant nbi_gemm_fallback_* uses on this CPU. */
const char *nbi_gemm_fallback_isa(void);
nb_status   nbi_gemm_fallback_variant_f32(int variant, bool trans_a, bool trans_b, int64_t m, int64_t n,
                                          int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                                          int64_t ldb, float beta, float *c, int64_t ldc);
nb_status   nbi_gemm_fallback_variant_f64(int variant, bool trans_a, bool trans_b, int64_t m, int64_t n,
                                          int64_t k, double alpha, const double *a, int64_t lda,
                                          const double *b, int64_t ldb, double beta, double *c, int64_t ldc);

/* The direct float32 kernels (gemm_direct_avx512.c: no packing of B, for the
 * small-batch shapes of training), built on x86-64 only and run only where
 * nbi_gemm_direct_available() (AVX-512F/VL/DQ). nbi_gemm_f32 picks them by
 * shape; tests call them through nbi_gemm_direct_f32, which runs the form
 * the layout asks for (dot form for !trans_a && trans_b, outer form for
 * !trans_b) whatever the shape, and returns NB_ERR_ARG for trans_b with
 * trans_a, for k over NBI_GEMM_OUTER_MAX_K in the outer form, or on a CPU
 * without the instructions. */
enum { NBI_GEMM_OUTER_ROWS = 12, NBI_GEMM_OUTER_MAX_K = 512 };
bool      nbi_gemm_direct_available(void);
nb_status nbi_gemm_direct_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                              int64_t ldc);
void      nbi_gemm_dot_avx512(int64_t m, int64_t n_begin, int64_t n_end, int64_t k, float alpha, const float *a,
                              int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
/* packed: room for NBI_GEMM_OUTER_ROWS * k floats. */
void      nbi_gemm_outer_avx512(bool trans_a, int64_t m_begin, int64_t m_end, int64_t n, int64_t k, float alpha,
                                const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                                int64_t ldc, float *packed);

/* Reference kernels: the plain triple loop (accumulating in double), for
 * tests. Same contract as above. */
void nbi_gemm_reference_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                            const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                            int64_t ldc);
void nbi_gemm_reference_f64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                            const double *a, int64_t lda, const double *b, int64_t ldb, double beta,
                            double *c, int64_t ldc);

/* Integer matrix product for int64, int32 and uint8 (dtype), wrapping on
 * overflow as PyTorch does: C (m x n, contiguous rows of ldc) = A B, where
 * A(i, p) is at a + (i * a_row + p * a_col) elements and B(p, j) at
 * b + (p * b_row + j * b_col). Any strides (broadcast 0 included). */
void nbi_matmul_int(nb_dtype dtype, int64_t m, int64_t n, int64_t k, const void *a, int64_t a_row,
                    int64_t a_col, const void *b, int64_t b_row, int64_t b_col, void *c, int64_t ldc);

/* The backend's matmul entry (matmul.c): the batch of args, each product
 * one nbi_gemm_* or nbi_matmul_int call. NB_ERR_OOM, recorded, when GEMM
 * could not get its packing buffers. */
nb_status nbi_cpu_matmul(const nbi_matmul_args *args);

/* The bfloat16 GEMM (gemm_bf16_avx512.c): C (float32, m x n, ldc) = op(A)
 * op(B), bfloat16 operands in the layout above, products exact and sums in
 * float32; on the pool's threads, the result independent
 * of their number. Run only where nbi_gemm_bf16_available() (AVX-512 BF16,
 * x86-64 builds with NB_X86_ISAS). NB_ERR_OOM for its packing buffers. */
bool      nbi_gemm_bf16_available(void);
nb_status nbi_gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                        const uint16_t *b, int64_t ldb, float *c, int64_t ldc);

#endif /* NABLA_GEMM_H */
