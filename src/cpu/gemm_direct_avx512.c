/*
 * gemm_direct_avx512.c — float32 GEMM kernels that read B where it lies
 * instead of packing it, for the shapes of small-batch training.
 *
 * Why: a packing GEMM (OpenBLAS, our fallback) copies its operands into
 * cache-shaped panels first and zeroes C when beta is 0. For a product whose
 * operands already sit in cache with unit stride along the dimension the
 * kernel walks, those passes are pure overhead: in a Linear(784, 256) step
 * at batch 64 they are ~20% of each GEMM (measured on Zen 4, bench_gemm's
 * "direct" rows). Two forms cover the layouts training produces:
 *
 *   dot form    C = alpha A B^T + beta C, A (m x k) and B (n x k) both
 *               row-major: each C element is a dot product of two unit-stride
 *               rows (the forward x W^T of a linear layer). A 4 x 4 tile of C
 *               keeps 16 vector accumulators running down k, then reduces
 *               each across lanes.
 *   outer form  C = alpha op(A) B + beta C, B (k x n) row-major: C is a sum of
 *               k outer products of a column of op(A) and a row of B (the
 *               dW = g^T x and dx = g W of the backward). A 12 x 32 tile of C
 *               lives in 24 accumulators; the 12 x k sliver of op(A) is
 *               copied once into p-major order (it is small), B rows are read
 *               in place.
 *
 * Both need AVX-512F/VL (masked loads handle every edge without scalar
 * tails); gemm.c calls them only on CPUs that have it and only for the
 * shapes where they were measured to beat the packing GEMM.
 */
#include "gemm.h"

#include <immintrin.h>

/* Lanes [0, count) of a 16-float vector, count in [0, 16]. */
static inline __mmask16 lanes_below(int64_t count)
{
    return count >= 16 ? (__mmask16)0xffff : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

/* (sum of w, sum of x, sum of y, sum of z) */
static inline __m128 sum_lanes4(__m512 w, __m512 x, __m512 y, __m512 z)
{
#define NBI_HALVES(v) _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1))
    __m256 wx   = _mm256_hadd_ps(NBI_HALVES(w), NBI_HALVES(x));
    __m256 yz   = _mm256_hadd_ps(NBI_HALVES(y), NBI_HALVES(z));
    __m256 wxyz = _mm256_hadd_ps(wx, yz);
#undef NBI_HALVES
    return _mm_add_ps(_mm256_castps256_ps128(wxyz), _mm256_extractf128_ps(wxyz, 1));
}

/* out[0..count) = alpha * v + beta * out (beta == 0: out is not read). */
static inline void store4(float *out, int64_t count, __m128 v, float alpha, float beta)
{
    __mmask8 mask   = (__mmask8)((1u << count) - 1);
    __m128   result = _mm_mul_ps(v, _mm_set1_ps(alpha));
    if (beta != 0) result = _mm_fmadd_ps(_mm_maskz_loadu_ps(mask, out), _mm_set1_ps(beta), result);
    _mm_mask_storeu_ps(out, mask, result);
}

static inline void store16(float *out, __mmask16 mask, __m512 v, float alpha, float beta)
{
    __m512 result = alpha == 1 ? v : _mm512_mul_ps(v, _mm512_set1_ps(alpha));
    if (beta != 0) result = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, out), _mm512_set1_ps(beta), result);
    _mm512_mask_storeu_ps(out, mask, result);
}

/* ------------------------------------------------------------------------ */
/* Dot form                                                                  */
/* ------------------------------------------------------------------------ */

enum { DOT_TILE = 4 };

/* The DOT_TILE x DOT_TILE tile of C at (i, j); rows past m and columns past
 * n_end are computed from row m - 1 / column n_end - 1 (their pointers are
 * clamped so every load is in bounds) and not stored. */
static inline void dot_tile(int64_t i, int64_t j, int64_t m, int64_t n_end, int64_t k, float alpha, const float *a,
                            int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    const float *rows[DOT_TILE], *cols[DOT_TILE];
    NBI_UNROLL for (int t = 0; t < DOT_TILE; t++) {
        rows[t] = a + (i + t < m ? i + t : m - 1) * lda;
        cols[t] = b + (j + t < n_end ? j + t : n_end - 1) * ldb;
    }
    __m512 acc[DOT_TILE][DOT_TILE];
    NBI_UNROLL for (int r = 0; r < DOT_TILE; r++)
        NBI_UNROLL for (int s = 0; s < DOT_TILE; s++) acc[r][s] = _mm512_setzero_ps();
    int64_t p = 0;
    for (; p + 16 <= k; p += 16) {
        __m512 bv[DOT_TILE];
        NBI_UNROLL for (int s = 0; s < DOT_TILE; s++) bv[s] = _mm512_loadu_ps(cols[s] + p);
        NBI_UNROLL for (int r = 0; r < DOT_TILE; r++) {
            __m512 av = _mm512_loadu_ps(rows[r] + p);
            NBI_UNROLL for (int s = 0; s < DOT_TILE; s++) acc[r][s] = _mm512_fmadd_ps(av, bv[s], acc[r][s]);
        }
    }
    if (p < k) {
        __mmask16 tail = lanes_below(k - p);
        __m512    bv[DOT_TILE];
        NBI_UNROLL for (int s = 0; s < DOT_TILE; s++) bv[s] = _mm512_maskz_loadu_ps(tail, cols[s] + p);
        NBI_UNROLL for (int r = 0; r < DOT_TILE; r++) {
            __m512 av = _mm512_maskz_loadu_ps(tail, rows[r] + p);
            NBI_UNROLL for (int s = 0; s < DOT_TILE; s++) acc[r][s] = _mm512_fmadd_ps(av, bv[s], acc[r][s]);
        }
    }
    /* NOTE: the store loops run a constant count (with the bound test inside)
     * so the compiler keeps acc in registers; a loop to a variable bound
     * indexes acc, which makes gcc store all of it to the stack at every
     * step of the p loop. */
    int64_t col_count = n_end - j < DOT_TILE ? n_end - j : DOT_TILE;
    NBI_UNROLL for (int r = 0; r < DOT_TILE; r++)
        if (i + r < m)
            store4(c + (i + r) * ldc + j, col_count, sum_lanes4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]), alpha,
                   beta);
}

void nbi_gemm_dot_avx512(int64_t m, int64_t n_begin, int64_t n_end, int64_t k, float alpha, const float *a,
                         int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    /* Rows of A are taken in blocks of ~256 KiB, which stay in L2 while the
     * tiles sweep the columns; the DOT_TILE rows of B a sweep step uses stay
     * in L1 across the block. (Smaller blocks read B from L3 once more per
     * block: 128 KiB cost 6% at 64 x 256 x 784.) */
    int64_t block = (65536 / (k > 0 ? k : 1)) / DOT_TILE * DOT_TILE;
    if (block < DOT_TILE) block = DOT_TILE;
    for (int64_t i0 = 0; i0 < m; i0 += block) {
        int64_t i1 = i0 + block < m ? i0 + block : m;
        for (int64_t j = n_begin; j < n_end; j += DOT_TILE)
            for (int64_t i = i0; i < i1; i += DOT_TILE)
                dot_tile(i, j, i1, n_end, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}

/* ------------------------------------------------------------------------ */
/* Outer form                                                                */
/* ------------------------------------------------------------------------ */

enum { OUTER_ROWS = NBI_GEMM_OUTER_ROWS };

#define NBI_NOINLINE __attribute__((noinline))

/* C[r][0..32) (rows r < row_count, columns masked) = alpha * (sum over p of
 * packed[p * OUTER_ROWS + r] * b[p * ldb + 0..32)) + beta * C.
 * NOTE: noinline keeps the caller's loop-invariant pointers out of this
 * loop's registers: inlined, gcc hoisted the 12 row pointers of C out of
 * the column loop and had to spill a B vector to make room. */
static NBI_NOINLINE void outer_tile(int64_t k, const float *packed, const float *b, int64_t ldb, __mmask16 mask0,
                                    __mmask16 mask1, float *c, int64_t ldc, int64_t row_count, float alpha,
                                    float beta)
{
    __m512 acc[OUTER_ROWS][2];
    NBI_UNROLL for (int r = 0; r < OUTER_ROWS; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int64_t p = 0; p < k; p++, b += ldb, packed += OUTER_ROWS) {
        __m512 b0 = _mm512_maskz_loadu_ps(mask0, b), b1 = _mm512_maskz_loadu_ps(mask1, b + 16);
        NBI_UNROLL for (int r = 0; r < OUTER_ROWS; r++) {
            __m512 av = _mm512_set1_ps(packed[r]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    NBI_UNROLL for (int r = 0; r < OUTER_ROWS; r++) /* a constant count: see dot_tile's NOTE */
        if (r < row_count) {
            store16(c + r * ldc, mask0, acc[r][0], alpha, beta);
            store16(c + r * ldc + 16, mask1, acc[r][1], alpha, beta);
        }
}

void nbi_gemm_outer_avx512(bool trans_a, int64_t m_begin, int64_t m_end, int64_t n, int64_t k, float alpha,
                           const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                           int64_t ldc, float *packed)
{
    /* op(A)(i, p) is a[p * lda + i] transposed, a[i * lda + p] not. */
    /* Columns go in blocks whose k x width panel of B (1 MiB, the L2 of a
     * Zen 4 or Skylake-SP core) stays in L2 while every row tile passes over
     * it, so a wide B is not streamed from memory once per row tile; the
     * sliver of op(A) is copied again per block, 1/width of the work.
     * (Smaller panels measured no better on the training shapes.) */
    int64_t width = (262144 / (k > 0 ? k : 1)) / 32 * 32;
    if (width < 32) width = 32;
    for (int64_t j0 = 0; j0 < n; j0 += width) {
        int64_t j1 = j0 + width < n ? j0 + width : n;
        for (int64_t i = m_begin; i < m_end; i += OUTER_ROWS) {
            if (trans_a) { /* the sliver's rows are contiguous runs of a: one masked load per p */
                __mmask16 rows = lanes_below(m_end - i);
                for (int64_t p = 0; p < k; p++)
                    _mm512_mask_storeu_ps(packed + p * OUTER_ROWS, (__mmask16)((1u << OUTER_ROWS) - 1),
                                          _mm512_maskz_loadu_ps(rows, a + p * lda + i));
            } else {
                for (int64_t p = 0; p < k; p++)
                    NBI_UNROLL for (int r = 0; r < OUTER_ROWS; r++)
                        packed[p * OUTER_ROWS + r] = i + r < m_end ? a[(i + r) * lda + p] : 0.0f;
            }
            int64_t row_count = m_end - i < OUTER_ROWS ? m_end - i : OUTER_ROWS;
            for (int64_t j = j0; j < j1; j += 32)
                outer_tile(k, packed, b + j, ldb, lanes_below(j1 - j), lanes_below(j1 - j - 16), c + i * ldc + j,
                           ldc, row_count, alpha, beta);
        }
    }
}
