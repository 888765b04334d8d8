/*
 * gemm_bf16_avx512.c — bfloat16 GEMM on the AVX-512 BF16 instructions:
 * C (float32) = op(A) op(B), op(A) m x k and op(B) k x n bfloat16 in
 * gemm.h's layout (row-major, transposed or not).
 *
 * Why its own kernel: widening both operands to float32 and calling the
 * float32 GEMM costs two conversions and runs at float32's rate, while
 * VDPBF16PS multiplies 32 bfloat16 pairs and accumulates in float32 per
 * instruction, twice the products of a float32 FMA. Debian's OpenBLAS is
 * built without its bfloat16 GEMM (no cblas_sbgemm), so nabla has one.
 *
 * The instruction takes pairs along k: lane j of one operand holds
 * (x[2p][j], x[2p+1][j]). So both operands are packed, per block of KC
 * along k, into pair-interleaved panels: B into NR-column panels (32-bit
 * lane j of pair row p = B[2p][j] | B[2p+1][j] << 16), A into MR-row
 * slivers (pair p of row r = A[r][2p] | A[r][2p+1] << 16), an odd k padded
 * with a zero. The micro-kernel keeps an MR x NR tile of C in 24 zmm
 * accumulators, broadcasting a pair of A against two vectors of B. Tiles
 * of C are shared out to the pool's threads; each owns its tile, and the
 * blocks along k run in order, so the result does not depend on the
 * thread count (gemm.c's nbi_gemm_bf16_available says whether this CPU
 * has the instructions). Products are exact in float32 (8-bit significands), so
 * the result differs from the float32 GEMM of the widened operands only
 * in the order of the sums.
 */
#include "gemm.h"

#include <immintrin.h>

enum { MR = 12, NR = 32, KC = 256 };

#define NBI_TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* kc rows (row_step apart) of nr <= NR columns (column_step apart) of B
 * into pairs; missing columns 0. */
static void pack_b_panel(const uint16_t *b, int64_t row_step, int64_t column_step, int64_t kc, int64_t nr,
                         uint32_t *out)
{
    for (int64_t p = 0; p < (kc + 1) / 2; p++, out += NR) {
        const uint16_t *even = b + 2 * p * row_step, *odd = 2 * p + 1 < kc ? even + row_step : NULL;
        int64_t         j    = 0;
        for (; j < nr; j++) out[j] = even[j * column_step] | (uint32_t)(odd ? odd[j * column_step] : 0) << 16;
        for (; j < NR; j++) out[j] = 0;
    }
}

/* mr <= MR rows (row_step apart) of kc columns (column_step apart) of A
 * into pairs; missing rows 0. */
static void pack_a_sliver(const uint16_t *a, int64_t row_step, int64_t column_step, int64_t mr, int64_t kc,
                          uint32_t *out)
{
    int64_t pairs = (kc + 1) / 2;
    for (int64_t r = 0; r < MR; r++) {
        const uint16_t *row = a + r * row_step;
        for (int64_t p = 0; p < pairs; p++) {
            uint32_t even = r < mr ? row[2 * p * column_step] : 0;
            uint32_t odd  = r < mr && 2 * p + 1 < kc ? row[(2 * p + 1) * column_step] : 0;
            out[p * MR + r] = even | odd << 16;
        }
    }
}

/* The MR x NR tile of C (mr x nr of it stored) += or = the product of a
 * packed sliver and panel over `pairs` pairs of k. */
NBI_TARGET_BF16 static void bf16_micro(int64_t pairs, const uint32_t *a, const uint32_t *b, float *c, int64_t ldc,
                                       int64_t mr, int64_t nr, bool accumulate)
{
    __m512 acc[MR][2];
    NBI_UNROLL for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int64_t p = 0; p < pairs; p++, a += MR, b += NR) {
        __m512bh low = (__m512bh)_mm512_loadu_si512(b), high = (__m512bh)_mm512_loadu_si512(b + 16);
        NBI_UNROLL for (int r = 0; r < MR; r++) {
            __m512bh pair = (__m512bh)_mm512_set1_epi32((int)a[r]);
            acc[r][0]     = _mm512_dpbf16_ps(acc[r][0], pair, low);
            acc[r][1]     = _mm512_dpbf16_ps(acc[r][1], pair, high);
        }
    }
    __mmask16 first  = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    __mmask16 second = nr >= 32 ? (__mmask16)0xffff : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
    for (int r = 0; r < mr; r++, c += ldc) {
        __m512 low = acc[r][0], high = acc[r][1];
        if (accumulate) {
            low  = _mm512_add_ps(low, _mm512_maskz_loadu_ps(first, c));
            high = _mm512_add_ps(high, _mm512_maskz_loadu_ps(second, c + 16));
        }
        _mm512_mask_storeu_ps(c, first, low);
        _mm512_mask_storeu_ps(c + 16, second, high);
    }
}

typedef struct {
    int64_t         m, n, kc, pc, slivers, panels;
    const uint16_t *a, *b;
    int64_t         a_row, a_column, b_row, b_column, ldc; /* element steps of op(A) and op(B) */
    uint32_t       *packed_a, *packed_b;
    float          *c;
} bf16_job;

static void pack_range(int64_t begin, int64_t end, void *arg)
{
    const bf16_job *job   = arg;
    int64_t         pairs = (job->kc + 1) / 2;
    for (int64_t u = begin; u < end; u++) {
        if (u < job->panels) {
            int64_t j = u * NR;
            pack_b_panel(job->b + job->pc * job->b_row + j * job->b_column, job->b_row, job->b_column, job->kc,
                         job->n - j < NR ? job->n - j : NR, job->packed_b + u * pairs * NR);
        } else {
            int64_t i = (u - job->panels) * MR;
            pack_a_sliver(job->a + i * job->a_row + job->pc * job->a_column, job->a_row, job->a_column,
                          job->m - i < MR ? job->m - i : MR, job->kc, job->packed_a + (u - job->panels) * pairs * MR);
        }
    }
}

/* Tiles panel-major: a thread's consecutive tiles reuse one panel of B
 * (in L1) against the slivers of A (in L2). */
static void tile_range(int64_t begin, int64_t end, void *arg)
{
    const bf16_job *job   = arg;
    int64_t         pairs = (job->kc + 1) / 2;
    for (int64_t u = begin; u < end; u++) {
        int64_t panel = u / job->slivers, sliver = u % job->slivers, i = sliver * MR, j = panel * NR;
        bf16_micro(pairs, job->packed_a + sliver * pairs * MR, job->packed_b + panel * pairs * NR,
                   job->c + i * job->ldc + j, job->ldc, job->m - i < MR ? job->m - i : MR,
                   job->n - j < NR ? job->n - j : NR, job->pc > 0);
    }
}

nb_status nbi_gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                        const uint16_t *b, int64_t ldb, float *c, int64_t ldc)
{
    if (m == 0 || n == 0) return NB_OK;
    if (k == 0) {
        for (int64_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof *c);
        return NB_OK;
    }
    bf16_job job = {.m        = m,
                    .n        = n,
                    .a        = a,
                    .b        = b,
                    .a_row    = trans_a ? 1 : lda,
                    .a_column = trans_a ? lda : 1,
                    .b_row    = trans_b ? 1 : ldb,
                    .b_column = trans_b ? ldb : 1,
                    .ldc      = ldc,
                    .c        = c};
    job.slivers  = (m + MR - 1) / MR;
    job.panels   = (n + NR - 1) / NR;
    job.packed_a = malloc((size_t)(job.slivers * MR * (KC / 2)) * sizeof(uint32_t));
    job.packed_b = malloc((size_t)(job.panels * NR * (KC / 2)) * sizeof(uint32_t));
    if (job.packed_a == NULL || job.packed_b == NULL) {
        free(job.packed_a);
        free(job.packed_b);
        return nbi_fail_status(NB_ERR_OOM, "out of memory for the bfloat16 GEMM's packed panels");
    }
    for (job.pc = 0; job.pc < k; job.pc += KC) {
        job.kc = k - job.pc < KC ? k - job.pc : KC;
        nbi_parallel_for(job.panels + job.slivers, 8, pack_range, &job);
        nbi_parallel_for(job.panels * job.slivers, 64, tile_range, &job); /* 64 tiles: ~12 MFLOP */
    }
    free(job.packed_a);
    free(job.packed_b);
    return NB_OK;
}
