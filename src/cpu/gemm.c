/*
 * gemm.c — GEMM on the CPU: OpenBLAS when the build has it, else nabla's own
 * blocked kernel ("the fallback", built in every configuration so the tests
 * can hold it against OpenBLAS and the reference triple loop).
 *
 * The fallback is the BLIS/GotoBLAS design in plain C: op(A) and op(B) are
 * copied ("packed") into blocks laid out in the exact order a micro-kernel
 * reads them, and the micro-kernel keeps an mr x nr tile of C in registers
 * while it runs down the shared dimension. The micro-kernel is written as
 * fixed-size loops that gcc and clang unroll and vectorize; it is compiled
 * for AVX2+FMA and AVX-512F too on x86-64 (target attributes, chosen at run
 * time), since a build for the baseline ISA would leave 4-8x on the table.
 * Tile shapes per variant (float / double), measured on a Zen 4 core:
 *   baseline  4 x 8  / 4 x 4    (SSE2: 8 of 16 registers hold C)
 *   avx2      4 x 16 / 4 x 8    (8 ymm accumulators; 6 x 16 spills in both compilers)
 *   avx512    6 x 32 / 6 x 16   (12 zmm accumulators of 32 registers)
 * The driver (packing, blocking, threads) is gemm_fallback.inc, included once
 * per element type.
 */
#include "gemm.h"

#include "cpu_features.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(NB_HAVE_OPENBLAS)
#include <cblas.h>
#endif

#if NB_HAVE_X86_ISAS && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NBI_GEMM_X86 1
#define NBI_TARGET_AVX2   __attribute__((target("avx2,fma")))
#define NBI_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define NBI_GEMM_X86 0
#endif

/* Cache budgets of the blocking: a packed kc x nr sliver of B gets this much
 * of L1, an mc x kc block of A this much of L2. */
#ifndef NBI_GEMM_L1_BYTES
#define NBI_GEMM_L1_BYTES 16384
#endif
#ifndef NBI_GEMM_L2_BYTES
#define NBI_GEMM_L2_BYTES 196608
#endif

/* Largest mr * nr of any variant: the edge-tile buffer of the driver. */
#define NBI_GEMM_MAX_TILE 256

enum {
    GEMV_LANES = 8,   /* partial sums of a matrix-vector dot product        */
    GEMV_CHUNK = 256, /* outputs accumulated at once in the axpy form        */
    MAX_SLOTS  = 64,  /* packing buffer pairs: the most threads GEMM uses    */
};

/* ------------------------------------------------------------------------ */
/* Micro-kernels                                                             */
/* ------------------------------------------------------------------------ */

/* c (MR x NR, row stride ldc) = alpha * (a b) + beta * c, where a is a packed
 * sliver of kc x MR (MR values per p) and b of kc x NR. beta == 0 does not
 * read c. MULADD(x, y, z) is z + x * y, fused where the ISA has FMA. */
#define NBI_GEMM_MICRO_KERNEL(name, T, MR, NR, MULADD)                                                  \
    static void name(int64_t kc, const T *restrict a, const T *restrict b, T *restrict c, int64_t ldc, \
                     T alpha, T beta)                                                                  \
    {                                                                                                  \
        T acc[MR][NR];                                                                                 \
        NBI_UNROLL for (int i = 0; i < MR; i++) NBI_UNROLL for (int j = 0; j < NR; j++) acc[i][j] = 0; \
        for (int64_t p = 0; p < kc; p++, a += MR, b += NR) {                                           \
            NBI_UNROLL for (int i = 0; i < MR; i++)                                                    \
            {                                                                                          \
                const T a_ip = a[i];                                                                   \
                NBI_UNROLL for (int j = 0; j < NR; j++) acc[i][j] = MULADD(a_ip, b[j], acc[i][j]);     \
            }                                                                                          \
        }                                                                                              \
        if (beta == 0) {                                                                               \
            for (int i = 0; i < MR; i++)                                                               \
                for (int j = 0; j < NR; j++) c[i * ldc + j] = alpha * acc[i][j];                       \
        } else {                                                                                       \
            for (int i = 0; i < MR; i++)                                                               \
                for (int j = 0; j < NR; j++) c[i * ldc + j] = alpha * acc[i][j] + beta * c[i * ldc + j]; \
        }                                                                                              \
    }

#define NBI_MULADD_PLAIN(x, y, z) ((z) + (x) * (y))
#define NBI_MULADD_FMAF(x, y, z)  fmaf((x), (y), (z))
#define NBI_MULADD_FMA(x, y, z)   fma((x), (y), (z))

/* The baseline fuses only where fma is an instruction (aarch64, -mfma...):
 * elsewhere fmaf is a slow library call. */
#if defined(FP_FAST_FMAF) && defined(FP_FAST_FMA)
NBI_GEMM_MICRO_KERNEL(micro_baseline_f32, float, 4, 8, NBI_MULADD_FMAF)
NBI_GEMM_MICRO_KERNEL(micro_baseline_f64, double, 4, 4, NBI_MULADD_FMA)
#else
NBI_GEMM_MICRO_KERNEL(micro_baseline_f32, float, 4, 8, NBI_MULADD_PLAIN)
NBI_GEMM_MICRO_KERNEL(micro_baseline_f64, double, 4, 4, NBI_MULADD_PLAIN)
#endif

#if NBI_GEMM_X86
NBI_TARGET_AVX2 NBI_GEMM_MICRO_KERNEL(micro_avx2_f32, float, 4, 16, NBI_MULADD_FMAF)
NBI_TARGET_AVX2 NBI_GEMM_MICRO_KERNEL(micro_avx2_f64, double, 4, 8, NBI_MULADD_FMA)
NBI_TARGET_AVX512 NBI_GEMM_MICRO_KERNEL(micro_avx512_f32, float, 6, 32, NBI_MULADD_FMAF)
NBI_TARGET_AVX512 NBI_GEMM_MICRO_KERNEL(micro_avx512_f64, double, 6, 16, NBI_MULADD_FMA)
#endif

typedef void (*micro_f32_fn)(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c,
                             int64_t ldc, float alpha, float beta);
typedef void (*micro_f64_fn)(int64_t kc, const double *restrict a, const double *restrict b, double *restrict c,
                             int64_t ldc, double alpha, double beta);

typedef struct {
    const char  *name;
    int          mr_f32, nr_f32;
    micro_f32_fn kernel_f32;
    int          mr_f64, nr_f64;
    micro_f64_fn kernel_f64;
} gemm_variant;

static const gemm_variant variants[] = {
    { "baseline", 4, 8, micro_baseline_f32, 4, 4, micro_baseline_f64 },
#if NBI_GEMM_X86
    { "avx2", 4, 16, micro_avx2_f32, 4, 8, micro_avx2_f64 },
    { "avx512", 6, 32, micro_avx512_f32, 6, 16, micro_avx512_f64 },
#endif
};

/* How many variants of the table this CPU runs: they are ordered by
 * instruction-set level, one per level of cpu_features.h. */
int nbi_gemm_fallback_variant_count(void)
{
#if NBI_GEMM_X86
    return (int)nbi_cpu_level_used() + 1;
#else
    return 1;
#endif
}

static const gemm_variant *variant_at(int variant)
{
    if (variant < 0 || variant >= nbi_gemm_fallback_variant_count()) return NULL;
    return &variants[variant];
}

static const gemm_variant *best_variant(void) { return &variants[nbi_gemm_fallback_variant_count() - 1]; }

const char *nbi_gemm_fallback_variant_name(int variant)
{
    const gemm_variant *v = variant_at(variant);
    return v ? v->name : NULL;
}

const char *nbi_gemm_fallback_isa(void) { return best_variant()->name; }

/* ------------------------------------------------------------------------ */
/* The fallback driver, once per type                                        */
/* ------------------------------------------------------------------------ */

#define T        float
#define SFX      f32
#define MICRO_FN micro_f32_fn
#include "gemm_fallback.inc"
#undef T
#undef SFX
#undef MICRO_FN

#define T        double
#define SFX      f64
#define MICRO_FN micro_f64_fn
#include "gemm_fallback.inc"
#undef T
#undef SFX
#undef MICRO_FN

/* ------------------------------------------------------------------------ */
/* The library's GEMM: OpenBLAS or the fallback                              */
/* ------------------------------------------------------------------------ */

const char *nb_gemm_backend(void)
{
#if defined(NB_HAVE_OPENBLAS)
    return "openblas";
#else
    return "fallback";
#endif
}

#if defined(NB_HAVE_OPENBLAS)
/* OpenBLAS runs on one thread inside nabla's pool (parallel.c): the product
 * is cut into blocks of C that the pool's threads take. NOTE: an OpenMP
 * build of OpenBLAS keeps its thread count per calling thread, so each
 * thread sets it once, before its first call. */
static _Thread_local bool openblas_is_serial;

static void openblas_make_serial(void)
{
    if (!openblas_is_serial) {
        openblas_set_num_threads(1);
        openblas_is_serial = true;
    }
}

/* Every size and leading dimension fits OpenBLAS's blasint. */
static bool fits_blas(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc)
{
    const int64_t max = (int64_t)(sizeof(blasint) >= 8 ? INT64_MAX : INT_MAX);
    return m <= max && n <= max && k <= max && lda <= max && ldb <= max && ldc <= max;
}

/* A block of C's rows or columns is worth a thread from this many
 * multiply-adds (~5 us on a core; OpenBLAS draws its own line at 64^3).
 * Blocks are at least 128 rows or columns: each block's call packs the
 * whole of the other operand, so thin blocks would pack it many times. */
#define NBI_GEMM_BLOCK_MACS (1 << 18)
enum { GEMM_BLOCK_UNIT = 16, GEMM_MIN_BLOCK = 128, GEMM_MAX_BLOCKS = 64 };

/* C's blocks: along its columns when n >= m, else along its rows. NOTE:
 * the blocks depend on the sizes only, never on the thread count, and each
 * block is one OpenBLAS call whichever thread makes it: OpenBLAS picks its
 * kernel (small-matrix or packed) from the call's sizes, so a product is
 * bit-identical at any number of threads. */
typedef struct {
    bool        trans_a, trans_b, by_columns;
    int64_t     m, n, k, lda, ldb, ldc, units, blocks;
    double      alpha, beta;
    const void *a, *b;
    void       *c;
    size_t      itemsize;
} blas_job;

static int64_t gemm_block_count(int64_t m, int64_t n, int64_t k, bool by_columns)
{
    double  macs   = (double)m * (double)n * (double)k;
    int64_t blocks = (by_columns ? n : m) / GEMM_MIN_BLOCK;
    if (blocks > GEMM_MAX_BLOCKS) blocks = GEMM_MAX_BLOCKS;
    if ((double)blocks > macs / NBI_GEMM_BLOCK_MACS) blocks = (int64_t)(macs / NBI_GEMM_BLOCK_MACS);
    return blocks < 1 ? 1 : blocks;
}

static void blas_blocks(int64_t begin, int64_t end, void *ctx)
{
    const blas_job *job = ctx;
    openblas_make_serial();
    for (int64_t block = begin; block < end; block++) {
        int64_t first = job->units * block / job->blocks * GEMM_BLOCK_UNIT;
        int64_t last  = job->units * (block + 1) / job->blocks * GEMM_BLOCK_UNIT;
        int64_t size  = job->by_columns ? job->n : job->m;
        if (last > size) last = size;
        if (first >= last) continue;
        int64_t     m = job->m, n = job->n;
        const char *a = job->a, *b = job->b;
        char       *c = job->c;
        if (job->by_columns) { /* op(B)'s columns first..last: B's columns, or its rows when transposed */
            n = last - first;
            b += (size_t)(job->trans_b ? first * job->ldb : first) * job->itemsize;
            c += (size_t)first * job->itemsize;
        } else { /* op(A)'s rows first..last */
            m = last - first;
            a += (size_t)(job->trans_a ? first : first * job->lda) * job->itemsize;
            c += (size_t)(first * job->ldc) * job->itemsize;
        }
        CBLAS_TRANSPOSE ta = job->trans_a ? CblasTrans : CblasNoTrans, tb = job->trans_b ? CblasTrans : CblasNoTrans;
        if (job->itemsize == sizeof(float))
            cblas_sgemm(CblasRowMajor, ta, tb, (blasint)m, (blasint)n, (blasint)job->k, (float)job->alpha,
                        (const float *)a, (blasint)job->lda, (const float *)b, (blasint)job->ldb, (float)job->beta,
                        (float *)c, (blasint)job->ldc);
        else
            cblas_dgemm(CblasRowMajor, ta, tb, (blasint)m, (blasint)n, (blasint)job->k, job->alpha,
                        (const double *)a, (blasint)job->lda, (const double *)b, (blasint)job->ldb, job->beta,
                        (double *)c, (blasint)job->ldc);
    }
}

static void blas_gemm(size_t itemsize, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                      const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c, int64_t ldc)
{
    blas_job job = { .trans_a = trans_a, .trans_b = trans_b, .by_columns = n >= m, .m = m, .n = n, .k = k,
                     .lda = lda, .ldb = ldb, .ldc = ldc, .alpha = alpha, .beta = beta, .a = a, .b = b, .c = c,
                     .itemsize = itemsize };
    job.units  = ((job.by_columns ? n : m) + GEMM_BLOCK_UNIT - 1) / GEMM_BLOCK_UNIT;
    job.blocks = gemm_block_count(m, n, k, job.by_columns);
    nbi_parallel_for(job.blocks, 1, blas_blocks, &job);
}
#endif

/* The OpenBLAS calls for both types, as one macro so they cannot drift apart.
 * Matrix-vector shapes go to ?gemv, as in PyTorch: OpenBLAS 0.3.21's ?gemm
 * pads an n == 1 product to its full register tile. */
#define NBI_OPENBLAS_GEMM(T, gemv, scale_c)                                                                   \
    do {                                                                                                     \
        openblas_make_serial();                                                                              \
        if (k <= 0 || alpha == 0) {                                                                          \
            scale_c(m, n, beta, c, ldc);                                                                     \
        } else if (n == 1) { /* c[:, 0] = op(A) x, x = op(B)[:, 0] */                                        \
            gemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, (blasint)(trans_a ? k : m),              \
                 (blasint)(trans_a ? m : k), alpha, a, (blasint)lda, b, (blasint)(trans_b ? 1 : ldb), beta,  \
                 c, (blasint)ldc);                                                                           \
        } else if (m == 1) { /* c[0, :] = op(B)^T x, x = op(A)[0, :] */                                      \
            gemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, (blasint)(trans_b ? n : k),              \
                 (blasint)(trans_b ? k : n), alpha, b, (blasint)ldb, a, (blasint)(trans_a ? lda : 1), beta,  \
                 c, 1);                                                                                      \
        } else {                                                                                             \
            blas_gemm(sizeof(T), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);            \
        }                                                                                                    \
        return NB_OK;                                                                                        \
    } while (0)

/* ------------------------------------------------------------------------ */
/* The direct kernels (gemm_direct_avx512.c)                                 */
/* ------------------------------------------------------------------------ */

bool nbi_gemm_direct_available(void)
{
#if NB_HAVE_X86_ISAS
    return nbi_cpu_level_used() == NBI_CPU_AVX512;
#else
    return false;
#endif
}

bool nbi_gemm_bf16_available(void) { return nbi_cpu_has_avx512_bf16(); }

#if !NB_HAVE_X86_ISAS
/* Builds without the x86 kernels (other CPUs, NB_X86_ISAS=OFF) have no
 * bfloat16 GEMM: nbi_gemm_bf16_available() is false there, so the backend
 * never offers the native product and this is not reached; it exists so
 * that the callers link. */
nb_status nbi_gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                        const uint16_t *b, int64_t ldb, float *c, int64_t ldc)
{
    (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)c,
        (void)ldc;
    return nbi_fail_status(NB_ERR_UNSUPPORTED, "the bfloat16 GEMM needs the x86-64 AVX-512 kernels, not built here");
}
#endif

/* Below this many multiply-adds a product stays on one thread. */
#define NBI_GEMM_DIRECT_PARALLEL_MACS (1 << 18)

typedef struct {
    bool         trans_a;
    int64_t      m, n, k;
    float        alpha, beta;
    const float *a, *b;
    int64_t      lda, ldb, ldc;
    float       *c;
    int64_t      tile; /* the unit the range counts: columns (dot) or rows (outer) of C */
} direct_job;

#if NB_HAVE_X86_ISAS
static void dot_range(int64_t begin, int64_t end, void *ctx)
{
    const direct_job *job = ctx;
    int64_t           n_end = end * job->tile < job->n ? end * job->tile : job->n;
    nbi_gemm_dot_avx512(job->m, begin * job->tile, n_end, job->k, job->alpha, job->a, job->lda, job->b, job->ldb,
                        job->beta, job->c, job->ldc);
}

static void outer_range(int64_t begin, int64_t end, void *ctx)
{
    const direct_job *job = ctx;
    float             packed[NBI_GEMM_OUTER_ROWS * NBI_GEMM_OUTER_MAX_K];
    int64_t           m_end = end * job->tile < job->m ? end * job->tile : job->m;
    nbi_gemm_outer_avx512(job->trans_a, begin * job->tile, m_end, job->n, job->k, job->alpha, job->a, job->lda,
                          job->b, job->ldb, job->beta, job->c, job->ldc, packed);
}
#endif

/* The form the layout asks for, threaded over column tiles (dot) or row
 * tiles (outer). The caller has checked the layout, k and the CPU. */
static void run_direct(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                       int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
#if NB_HAVE_X86_ISAS
    direct_job job = { .trans_a = trans_a, .m = m, .n = n, .k = k, .alpha = alpha, .beta = beta,
                       .a = a, .b = b, .lda = lda, .ldb = ldb, .ldc = ldc, .c = c };
    bool    dot   = trans_b;
    int64_t tiles;
    /* Column tiles of 16 keep each thread's share a whole number of the
     * dot kernel's 4-wide tiles; rows go in the outer kernel's units. */
    job.tile            = dot ? 16 : NBI_GEMM_OUTER_ROWS;
    tiles               = ((dot ? n : m) + job.tile - 1) / job.tile;
    int64_t tile_macs   = job.tile * (dot ? m : n) * k;
    int64_t grain       = NBI_GEMM_DIRECT_PARALLEL_MACS / (tile_macs > 0 ? tile_macs : 1);
    nbi_parallel_for(tiles, grain > 1 ? grain : 1, dot ? dot_range : outer_range, &job);
#else
    (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb,
        (void)beta, (void)c, (void)ldc;
#endif
}

nb_status nbi_gemm_direct_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                              int64_t ldc)
{
    if (!nbi_gemm_direct_available() || (trans_a && trans_b) || (!trans_b && k > NBI_GEMM_OUTER_MAX_K))
        return NB_ERR_ARG;
    if (m <= 0 || n <= 0) return NB_OK;
    if (k <= 0 || alpha == 0) {
        scale_c_f32(m, n, beta, c, ldc);
        return NB_OK;
    }
    run_direct(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return NB_OK;
}

/* Whether a direct kernel beats the packing GEMM on this product, from
 * bench_gemm --direct on a Zen 4 core (best of 7, 1 and 2 threads).
 * Against OpenBLAS (0.3.21):
 *  - below ~1e6 multiply-adds OpenBLAS runs its own unpacked small-matrix
 *    kernels, which beat ours on one thread (a conv forward 32x196x145:
 *    112 against 81 GFLOPS; fc2's 10x256x64 weight gradient: 0.9x), so those
 *    stay with it;
 *  - dot form: its per-element lane reductions need a long k to pay off
 *    (k = 784: 1.1-1.2x OpenBLAS, the CNN head's 64x10x1568: 2x; k = 256:
 *    0.84-1.0x; k = 64: 0.6x), and once m and n are both large packing pays
 *    for itself (1024^3: 0.8-0.95x);
 *  - outer form for op(A) = A^T (weight gradients, k = batch): 1.0-1.4x at
 *    k = 64, a tie at k = 256 and 512;
 *  - the outer form for A untransposed (dx = g W) only tied: not used.
 * Against the fallback (a build without OpenBLAS), which packs like
 * OpenBLAS but more slowly, the direct kernels win wherever their layout
 * applies, but for the dot form at short k (1024x1024x64: 48 against 83). */
#define NBI_GEMM_OPENBLAS_SMALL_MACS 1e6

static bool direct_wins(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k)
{
    if (!nbi_gemm_direct_available() || (trans_a && trans_b)) return false;
    bool dot = !trans_a && trans_b;
#if defined(NB_HAVE_OPENBLAS)
    if ((double)m * (double)n * (double)k <= NBI_GEMM_OPENBLAS_SMALL_MACS) return false;
    if (dot) return k >= 512 && (m <= 256 || n <= 256);
    return trans_a && k <= 128;
#else
    (void)m, (void)n;
    return dot ? k >= 128 : k <= NBI_GEMM_OUTER_MAX_K;
#endif
}

#if defined(NB_HAVE_OPENBLAS)
/* Whether OpenBLAS runs AVX-512 kernels on this CPU: its core name is one of
 * the AVX-512 targets of its DYNAMIC_ARCH builds. */
static bool openblas_has_avx512(void)
{
    static const char *const avx512_cores[] = { "skylakex", "cooperlake", "sapphirerapids", "zen4", "zen5" };
    const char              *core            = openblas_get_corename();
    char                     lower[32]       = "";
    for (size_t i = 0; core != NULL && core[i] != '\0' && i + 1 < sizeof lower; i++)
        lower[i] = (char)(core[i] >= 'A' && core[i] <= 'Z' ? core[i] - 'A' + 'a' : core[i]);
    for (size_t i = 0; i < sizeof avx512_cores / sizeof avx512_cores[0]; i++)
        if (strcmp(lower, avx512_cores[i]) == 0) return true;
    return false;
}

/* Whether nabla's packing kernel (the fallback) beats OpenBLAS on a float32
 * product. Where OpenBLAS has no AVX-512 kernels for the CPU (0.3.21 runs
 * its Haswell ones on Zen 4) and ours has them, ours measured 1.3-1.9x it
 * (bench_gemm, one thread: 256^3 1.76x; the CNN's conv products 64x1568x288
 * 1.63x, 288x1568x64 1.9x, 64x196x288 1.27x), but lost where a side of C is
 * thinner than its register tile (32x9x784: 0.37x). NOTE: decided once;
 * atomic, as cpu_features.c's level. */
static bool packed_wins(int64_t m, int64_t n, int64_t k)
{
    static atomic_int ours_is_faster = -1;
    int               value          = atomic_load_explicit(&ours_is_faster, memory_order_relaxed);
    if (value < 0) {
        value = strcmp(nbi_gemm_fallback_isa(), "avx512") == 0 && !openblas_has_avx512();
        atomic_store_explicit(&ours_is_faster, value, memory_order_relaxed);
    }
    return value && m >= 16 && n >= 16 && k >= 8;
}
#endif

nb_status nbi_gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                       int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    if (m <= 0 || n <= 0) return NB_OK;
    if (alpha != 0 && direct_wins(trans_a, trans_b, m, n, k)) {
        run_direct(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return NB_OK;
    }
#if defined(NB_HAVE_OPENBLAS)
    if (fits_blas(m, n, k, lda, ldb, ldc) && !packed_wins(m, n, k))
        NBI_OPENBLAS_GEMM(float, cblas_sgemv, scale_c_f32);
#endif
    return nbi_gemm_fallback_f32(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

nb_status nbi_gemm_f64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                       const double *a, int64_t lda, const double *b, int64_t ldb, double beta, double *c,
                       int64_t ldc)
{
    if (m <= 0 || n <= 0) return NB_OK;
#if defined(NB_HAVE_OPENBLAS)
    if (fits_blas(m, n, k, lda, ldb, ldc)) NBI_OPENBLAS_GEMM(double, cblas_dgemv, scale_c_f64);
#endif
    return nbi_gemm_fallback_f64(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* ------------------------------------------------------------------------ */
/* Integer matmul                                                            */
/* ------------------------------------------------------------------------ */

/* NOTE: products and sums run in the unsigned type of the same width, whose
 * overflow wraps by definition (signed overflow is undefined behaviour);
 * the bits are those of PyTorch's wrapping int64/int32/uint8 matmul. */
#define NBI_MATMUL_INT_LOOP(T, U)                                                         \
    do {                                                                                  \
        const T *at = a;                                                                  \
        const T *bt = b;                                                                  \
        T       *ct = c;                                                                  \
        for (int64_t i = 0; i < m; i++)                                                   \
            for (int64_t j = 0; j < n; j++) {                                             \
                U sum = 0;                                                                \
                for (int64_t p = 0; p < k; p++)                                           \
                    sum += (U)((U)at[i * a_row + p * a_col] * (U)bt[p * b_row + j * b_col]); \
                ct[i * ldc + j] = (T)sum;                                                 \
            }                                                                             \
    } while (0)

void nbi_matmul_int(nb_dtype dtype, int64_t m, int64_t n, int64_t k, const void *a, int64_t a_row, int64_t a_col,
                    const void *b, int64_t b_row, int64_t b_col, void *c, int64_t ldc)
{
    switch (dtype) {
    case NB_INT64: NBI_MATMUL_INT_LOOP(int64_t, uint64_t); break;
    case NB_INT32: NBI_MATMUL_INT_LOOP(int32_t, uint32_t); break;
    case NB_UINT8: NBI_MATMUL_INT_LOOP(uint8_t, unsigned); break;
    case NB_INT16: NBI_MATMUL_INT_LOOP(int16_t, unsigned); break;
    case NB_INT8: NBI_MATMUL_INT_LOOP(int8_t, unsigned); break;
    default: break; /* the op refused other dtypes */
    }
}
