/*
 * reduce_loops.c — the vectorized inner loops of reductions and softmax,
 * compiled twice on x86 (baseline SSE2 and AVX2, through target attributes)
 * and picked once at run time; portable C elsewhere.
 *
 * Each loop keeps a fixed number of independent accumulators ("lanes") and
 * combines them in a fixed order at the end. Vectorizing keeps every lane's
 * own order of additions, so both builds give bit-identical results: the
 * choice of instruction set never changes a sum. Only contiguous data comes
 * here; strided runs use the scalar loops of reduce_kernels.c.
 */
/* NOTE: GCC if-converts the selects of vecmath.h's nbi_expf, and so
 * vectorizes exp loops, only when float compares may not trap. This changes
 * no result, only whether FP exception flags could be raised. It must come
 * before any function (nbi_expf included), or GCC refuses to inline across
 * the differing options. Clang vectorizes without it. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "reduce_kernels.h"

#include "cpu_features.h"
#include "vecmath.h"

#include <stdatomic.h>

#if NB_HAVE_X86_ISAS && (defined(__GNUC__) || defined(__clang__))
#define NBI_AVX2_CLONES 1
#endif
#if defined(__GNUC__) || defined(__clang__)
#define NBI_VECTOR_EXT 1
#endif

/* ------------------------------------------------------------------------ */
/* Sums                                                                      */
/* ------------------------------------------------------------------------ */

/* NOTE: 32 separate accumulators combined pairwise at the end. The compiler
 * turns them into vector registers without reordering a single add. Do not
 * "simplify" into one accumulator: that is both slower and less accurate. */
#define SUM_LANES 32

#define DEFINE_SUM_BODY(suffix, T)                                                                                     \
    static NBI_ALWAYS_INLINE T sum_##suffix##_body(const T *x, int64_t n)                                              \
    {                                                                                                                  \
        T       acc[SUM_LANES] = {0};                                                                                  \
        int64_t i              = 0;                                                                                    \
        for (; i + SUM_LANES <= n; i += SUM_LANES)                                                                     \
            for (int k = 0; k < SUM_LANES; k++)                                                                        \
                acc[k] += x[i + k];                                                                                    \
        T tail = 0;                                                                                                    \
        for (; i < n; i++)                                                                                             \
            tail += x[i];                                                                                              \
        for (int width = SUM_LANES / 2; width > 0; width /= 2)                                                         \
            for (int k = 0; k < width; k++)                                                                            \
                acc[k] += acc[k + width];                                                                              \
        return acc[0] + tail;                                                                                          \
    }
DEFINE_SUM_BODY(f32, float)
DEFINE_SUM_BODY(f64, double)
#undef DEFINE_SUM_BODY

/* The float32 sum of n halves, widened SUM_LANES at a time into the lanes
 * sum_f32_body adds them in: the same adds in the same order, so the same
 * sum as float32's of the widened values, without writing them out. */
static NBI_ALWAYS_INLINE float sum_lanes_finish(float *acc, float tail)
{
    for (int width = SUM_LANES / 2; width > 0; width /= 2)
        for (int k = 0; k < width; k++)
            acc[k] += acc[k + width];
    return acc[0] + tail;
}

static NBI_ALWAYS_INLINE float widen_one(uint16_t h, bool bf16) { return bf16 ? nbi_bf16_to_f32(h) : nbi_f16_to_f32(h); }

static NBI_ALWAYS_INLINE float sum_half_body(const uint16_t *x, int64_t n, bool bf16)
{
    float   acc[SUM_LANES] = {0};
    int64_t i              = 0;
    if (bf16) /* a shift: the compiler vectorizes it */
        for (; i + SUM_LANES <= n; i += SUM_LANES)
            for (int k = 0; k < SUM_LANES; k++)
                acc[k] += nbi_bf16_to_f32(x[i + k]);
    else
        for (; i + SUM_LANES <= n; i += SUM_LANES)
            for (int k = 0; k < SUM_LANES; k++)
                acc[k] += nbi_f16_to_f32(x[i + k]);
    float tail = 0;
    for (; i < n; i++)
        tail += widen_one(x[i], bf16);
    return sum_lanes_finish(acc, tail);
}

#if NBI_AVX2_CLONES
#include <immintrin.h>
/* float16 with F16C (every CPU of the avx2 table has it): 4 registers of 8
 * lanes are sum_half_body's 32. */
__attribute__((target("avx2,f16c"))) static float sum_half_f16c(const uint16_t *x, int64_t n, bool bf16)
{
    if (bf16) return sum_half_body(x, n, true);
    __m256  v[SUM_LANES / 8];
    int64_t i = 0;
    for (int r = 0; r < SUM_LANES / 8; r++)
        v[r] = _mm256_setzero_ps();
    for (; i + SUM_LANES <= n; i += SUM_LANES)
        for (int r = 0; r < SUM_LANES / 8; r++)
            v[r] = _mm256_add_ps(v[r], _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 8 * r))));
    float acc[SUM_LANES];
    for (int r = 0; r < SUM_LANES / 8; r++)
        _mm256_storeu_ps(acc + 8 * r, v[r]);
    float tail = 0;
    for (; i < n; i++)
        tail += nbi_f16_to_f32(x[i]);
    return sum_lanes_finish(acc, tail);
}
#endif

/* Sum in double of f(x) over 16 lanes, f chosen outside the loop. */
#define DOUBLE_LANES 16
#define LANE_LOOP(EXPR)                                                                                                \
    do {                                                                                                               \
        for (; i + DOUBLE_LANES <= n; i += DOUBLE_LANES)                                                               \
            for (int k = 0; k < DOUBLE_LANES; k++) {                                                                   \
                double v = (double)x[i + k];                                                                           \
                acc[k] += (EXPR);                                                                                      \
            }                                                                                                          \
        for (; i < n; i++) {                                                                                           \
            double v = (double)x[i];                                                                                   \
            tail += (EXPR);                                                                                            \
        }                                                                                                              \
    } while (0)

#define DEFINE_TRANSFORM_SUM_BODY(suffix, T)                                                                           \
    static NBI_ALWAYS_INLINE double transform_sum_##suffix##_body(const T *x, int64_t n, nbi_lane_transform f,         \
                                                                  double param)                                        \
    {                                                                                                                  \
        double  acc[DOUBLE_LANES] = {0};                                                                               \
        double  tail              = 0.0;                                                                               \
        int64_t i                 = 0;                                                                                 \
        switch (f) {                                                                                                   \
        case NBI_LANES_PLAIN:                                                                                          \
            LANE_LOOP(v);                                                                                              \
            break;                                                                                                     \
        case NBI_LANES_ABS:                                                                                            \
            LANE_LOOP(fabs(v));                                                                                        \
            break;                                                                                                     \
        case NBI_LANES_SQUARE:                                                                                         \
            LANE_LOOP(v *v);                                                                                           \
            break;                                                                                                     \
        case NBI_LANES_DEVIATION:                                                                                      \
            LANE_LOOP(v - param);                                                                                      \
            break;                                                                                                     \
        case NBI_LANES_SQUARED_DEVIATION:                                                                              \
            LANE_LOOP((v - param) * (v - param));                                                                      \
            break;                                                                                                     \
        }                                                                                                              \
        for (int width = DOUBLE_LANES / 2; width > 0; width /= 2)                                                      \
            for (int k = 0; k < width; k++)                                                                            \
                acc[k] += acc[k + width];                                                                              \
        return acc[0] + tail;                                                                                          \
    }
DEFINE_TRANSFORM_SUM_BODY(f32, float)
DEFINE_TRANSFORM_SUM_BODY(f64, double)
#undef DEFINE_TRANSFORM_SUM_BODY
#undef LANE_LOOP

/* ------------------------------------------------------------------------ */
/* Max and min                                                               */
/* ------------------------------------------------------------------------ */

/* NOTE: compilers do not vectorize a select inside unrolled lanes (GCC 12
 * leaves `best = v > best ? v : best` scalar), so the lanes are written
 * with GCC/Clang vector types: a compare gives a mask, the mask picks. The
 * baseline build splits each 32-byte vector into two SSE registers. */
#if NBI_VECTOR_EXT
typedef float   vf32 __attribute__((vector_size(32)));
typedef int32_t vi32 __attribute__((vector_size(32)));
typedef double  vf64 __attribute__((vector_size(32)));
typedef int64_t vi64 __attribute__((vector_size(32)));

#define DEFINE_MINMAX_BODY(suffix, T, VF, VI)                                                                          \
    static NBI_ALWAYS_INLINE T minmax_##suffix##_body(const T *x, int64_t n, bool is_max, bool *saw_nan)               \
    {                                                                                                                  \
        enum { W = (int)(sizeof(VF) / sizeof(T)) };                                                                    \
        int64_t i      = 0;                                                                                            \
        T       result = x[0];                                                                                         \
        bool    nan    = false;                                                                                        \
        if (n >= 2 * W) {                                                                                              \
            VF a, b;                                                                                                   \
            VI nan_a = {0}, nan_b = {0};                                                                               \
            memcpy(&a, x, sizeof a);                                                                                   \
            b = a;                                                                                                     \
            for (; i + 2 * W <= n; i += 2 * W) {                                                                       \
                VF u, v;                                                                                               \
                memcpy(&u, x + i, sizeof u);                                                                           \
                memcpy(&v, x + i + W, sizeof v);                                                                       \
                VI pick_u = is_max ? (u > a) : (u < a);                                                                \
                VI pick_v = is_max ? (v > b) : (v < b);                                                                \
                a         = (VF)(((VI)u & pick_u) | ((VI)a & ~pick_u));                                                \
                b         = (VF)(((VI)v & pick_v) | ((VI)b & ~pick_v));                                                \
                nan_a |= u != u;                                                                                       \
                nan_b |= v != v;                                                                                       \
            }                                                                                                          \
            for (int k = 0; k < W; k++) {                                                                              \
                T ak = a[k], bk = b[k];                                                                                \
                nan |= nan_a[k] != 0 || nan_b[k] != 0;                                                                 \
                result = is_max ? (ak > result ? ak : result) : (ak < result ? ak : result);                           \
                result = is_max ? (bk > result ? bk : result) : (bk < result ? bk : result);                           \
            }                                                                                                          \
        }                                                                                                              \
        for (; i < n; i++) {                                                                                           \
            T v = x[i];                                                                                                \
            nan |= v != v;                                                                                             \
            result = is_max ? (v > result ? v : result) : (v < result ? v : result);                                   \
        }                                                                                                              \
        *saw_nan = nan;                                                                                                \
        return result;                                                                                                 \
    }
DEFINE_MINMAX_BODY(f32, float, vf32, vi32)
DEFINE_MINMAX_BODY(f64, double, vf64, vi64)
#undef DEFINE_MINMAX_BODY
#else
#define DEFINE_MINMAX_BODY(suffix, T)                                                                                  \
    static T minmax_##suffix##_body(const T *x, int64_t n, bool is_max, bool *saw_nan)                                 \
    {                                                                                                                  \
        T    result = x[0];                                                                                            \
        bool nan    = false;                                                                                           \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            T v = x[i];                                                                                                \
            nan |= v != v;                                                                                             \
            result = is_max ? (v > result ? v : result) : (v < result ? v : result);                                   \
        }                                                                                                              \
        *saw_nan = nan;                                                                                                \
        return result;                                                                                                 \
    }
DEFINE_MINMAX_BODY(f32, float)
DEFINE_MINMAX_BODY(f64, double)
#undef DEFINE_MINMAX_BODY
#endif

/* The first i with x[i] == value (x[i] is NaN when value is NaN); n if none.
 * With max/min above this makes argmax two vectorized passes. */
#if NBI_VECTOR_EXT
#define DEFINE_FIND_BODY(suffix, T, VF, VI)                                                                            \
    static NBI_ALWAYS_INLINE int64_t find_##suffix##_body(const T *x, int64_t n, T value)                              \
    {                                                                                                                  \
        enum { W = (int)(sizeof(VF) / sizeof(T)) };                                                                    \
        bool    want_nan = value != value;                                                                             \
        int64_t i        = 0;                                                                                          \
        VF      target;                                                                                                \
        for (int k = 0; k < W; k++)                                                                                    \
            target[k] = value;                                                                                         \
        for (; i + W <= n; i += W) {                                                                                   \
            VF u;                                                                                                      \
            memcpy(&u, x + i, sizeof u);                                                                               \
            VI   hit = want_nan ? (u != u) : (u == target);                                                            \
            bool any = false;                                                                                          \
            for (int k = 0; k < W; k++)                                                                                \
                any |= hit[k] != 0;                                                                                    \
            if (any) break;                                                                                            \
        }                                                                                                              \
        for (; i < n; i++)                                                                                             \
            if (want_nan ? x[i] != x[i] : x[i] == value) return i;                                                     \
        return n;                                                                                                      \
    }
DEFINE_FIND_BODY(f32, float, vf32, vi32)
DEFINE_FIND_BODY(f64, double, vf64, vi64)
#else
#define DEFINE_FIND_BODY(suffix, T, VF, VI)                                                                            \
    static int64_t find_##suffix##_body(const T *x, int64_t n, T value)                                                \
    {                                                                                                                  \
        bool want_nan = value != value;                                                                                \
        for (int64_t i = 0; i < n; i++)                                                                                \
            if (want_nan ? x[i] != x[i] : x[i] == value) return i;                                                     \
        return n;                                                                                                      \
    }
DEFINE_FIND_BODY(f32, float, , )
DEFINE_FIND_BODY(f64, double, , )
#endif
#undef DEFINE_FIND_BODY

/* ------------------------------------------------------------------------ */
/* Column tiles and exp                                                      */
/* ------------------------------------------------------------------------ */

/* acc[0..w) = sum of `rows` rows of x, row_stride apart (w <= NBI_COLUMN_TILE). */
#define DEFINE_COLUMN_SUM_BODY(suffix, T)                                                                              \
    static NBI_ALWAYS_INLINE void column_sum_##suffix##_body(const T *x, int64_t rows, int64_t row_stride, int w,      \
                                                             T *acc)                                                   \
    {                                                                                                                  \
        if (w == NBI_COLUMN_TILE) {                                                                                    \
            T tile[NBI_COLUMN_TILE] = {0};                                                                             \
            for (int64_t r = 0; r < rows; r++)                                                                         \
                for (int j = 0; j < NBI_COLUMN_TILE; j++)                                                              \
                    tile[j] += x[r * row_stride + j];                                                                  \
            memcpy(acc, tile, sizeof tile);                                                                            \
            return;                                                                                                    \
        }                                                                                                              \
        for (int j = 0; j < w; j++)                                                                                    \
            acc[j] = 0;                                                                                                \
        for (int64_t r = 0; r < rows; r++)                                                                             \
            for (int j = 0; j < w; j++)                                                                                \
                acc[j] += x[r * row_stride + j];                                                                       \
    }
DEFINE_COLUMN_SUM_BODY(f32, float)
DEFINE_COLUMN_SUM_BODY(f64, double)
#undef DEFINE_COLUMN_SUM_BODY

/* out[0..w) = max (is_max) or min over rows of w contiguous values,
 * row_stride apart; NaN where a column holds one. */
#define DEFINE_COLUMN_MINMAX_BODY(suffix, T)                                                                           \
    static NBI_ALWAYS_INLINE void column_minmax_##suffix##_body(const T *x, int64_t rows, int64_t row_stride, int w,   \
                                                                bool is_max, T *out)                                   \
    {                                                                                                                  \
        T best[NBI_COLUMN_TILE], nan_seen[NBI_COLUMN_TILE];                                                            \
        for (int j = 0; j < w; j++) {                                                                                  \
            best[j]     = x[j];                                                                                        \
            nan_seen[j] = 0;                                                                                           \
        }                                                                                                              \
        for (int64_t r = 0; r < rows; r++) {                                                                           \
            const T *row = x + r * row_stride;                                                                         \
            if (is_max)                                                                                                \
                for (int j = 0; j < w; j++)                                                                            \
                    best[j] = row[j] > best[j] ? row[j] : best[j];                                                     \
            else                                                                                                       \
                for (int j = 0; j < w; j++)                                                                            \
                    best[j] = row[j] < best[j] ? row[j] : best[j];                                                     \
            for (int j = 0; j < w; j++)                                                                                \
                nan_seen[j] = row[j] != row[j] ? row[j] : nan_seen[j];                                                 \
        }                                                                                                              \
        for (int j = 0; j < w; j++)                                                                                    \
            out[j] = nan_seen[j] != nan_seen[j] ? nan_seen[j] : best[j];                                               \
    }
DEFINE_COLUMN_MINMAX_BODY(f32, float)
DEFINE_COLUMN_MINMAX_BODY(f64, double)
#undef DEFINE_COLUMN_MINMAX_BODY

/* out[i] = exp(x[i] - shift): a plain loop the vectorizer takes whole. */
static NBI_ALWAYS_INLINE void exp_shifted_f32_body(const float *x, int64_t n, float shift, float *out)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = nbi_expf(x[i] - shift);
}

/* Softmax (or log_softmax) of w lines side by side: line j holds x[j],
 * x[j + in_stride], ... (n values) and goes to y[j], y[j + out_stride], ...
 * Every row of the tile is a contiguous load: this is how softmax over a dim
 * that is not the last one (NCHW channels) runs at memory speed. */
#define DEFINE_SOFTMAX_COLUMNS_BODY(suffix, T, EXP)                                                                    \
    static NBI_ALWAYS_INLINE void softmax_columns_##suffix##_body(const T *x, int64_t n, int64_t in_stride, T *y,      \
                                                                  int64_t out_stride, int w, bool log_form)            \
    {                                                                                                                  \
        T      max[NBI_COLUMN_TILE], nan_seen[NBI_COLUMN_TILE], finish[NBI_COLUMN_TILE];                               \
        double sum[NBI_COLUMN_TILE];                                                                                   \
        for (int j = 0; j < w; j++) {                                                                                  \
            max[j]      = x[j];                                                                                        \
            nan_seen[j] = 0;                                                                                           \
            sum[j]      = 0.0;                                                                                         \
        }                                                                                                              \
        for (int64_t r = 0; r < n; r++) {                                                                              \
            const T *row = x + r * in_stride;                                                                          \
            for (int j = 0; j < w; j++)                                                                                \
                max[j] = row[j] > max[j] ? row[j] : max[j];                                                            \
            for (int j = 0; j < w; j++)                                                                                \
                nan_seen[j] = row[j] != row[j] ? row[j] : nan_seen[j];                                                 \
        }                                                                                                              \
        for (int j = 0; j < w; j++)                                                                                    \
            max[j] = nan_seen[j] != nan_seen[j] ? nan_seen[j] : max[j];                                                \
        for (int64_t r = 0; r < n; r++) {                                                                              \
            const T *row = x + r * in_stride;                                                                          \
            T       *out = y + r * out_stride;                                                                         \
            if (log_form)                                                                                              \
                for (int j = 0; j < w; j++)                                                                            \
                    sum[j] += EXP(row[j] - max[j]);                                                                    \
            else                                                                                                       \
                for (int j = 0; j < w; j++) {                                                                          \
                    T e    = EXP(row[j] - max[j]);                                                                     \
                    out[j] = e;                                                                                        \
                    sum[j] += e;                                                                                       \
                }                                                                                                      \
        }                                                                                                              \
        if (!log_form) {                                                                                               \
            for (int j = 0; j < w; j++)                                                                                \
                finish[j] = (T)(1.0 / sum[j]);                                                                         \
            for (int64_t r = 0; r < n; r++)                                                                            \
                for (int j = 0; j < w; j++)                                                                            \
                    y[r * out_stride + j] *= finish[j];                                                                \
            return;                                                                                                    \
        }                                                                                                              \
        for (int j = 0; j < w; j++)                                                                                    \
            finish[j] = (T)log(sum[j]);                                                                                \
        for (int64_t r = 0; r < n; r++)                                                                                \
            for (int j = 0; j < w; j++)                                                                                \
                y[r * out_stride + j] = (x[r * in_stride + j] - max[j]) - finish[j];                                   \
    }
DEFINE_SOFTMAX_COLUMNS_BODY(f32, float, nbi_expf)
DEFINE_SOFTMAX_COLUMNS_BODY(f64, double, exp)
#undef DEFINE_SOFTMAX_COLUMNS_BODY

/* ------------------------------------------------------------------------ */
/* One table per instruction set                                             */
/* ------------------------------------------------------------------------ */

/* HALF_SUM: the table's float16 / bfloat16 sum */
#define DEFINE_LOOPS(NAME, ATTR, HALF_SUM)                                                                                       \
    ATTR static float  sum_f32_##NAME(const float *x, int64_t n) { return sum_f32_body(x, n); }                        \
    ATTR static double sum_f64_##NAME(const double *x, int64_t n) { return sum_f64_body(x, n); }                       \
    ATTR static float  sum_half_##NAME(const uint16_t *x, int64_t n, bool bf16) { return HALF_SUM(x, n, bf16); }       \
    ATTR static double transform_sum_f32_##NAME(const float *x, int64_t n, nbi_lane_transform f, double param)         \
    {                                                                                                                  \
        return transform_sum_f32_body(x, n, f, param);                                                                 \
    }                                                                                                                  \
    ATTR static double transform_sum_f64_##NAME(const double *x, int64_t n, nbi_lane_transform f, double param)        \
    {                                                                                                                  \
        return transform_sum_f64_body(x, n, f, param);                                                                 \
    }                                                                                                                  \
    ATTR static float minmax_f32_##NAME(const float *x, int64_t n, bool is_max, bool *saw_nan)                         \
    {                                                                                                                  \
        return minmax_f32_body(x, n, is_max, saw_nan);                                                                 \
    }                                                                                                                  \
    ATTR static double minmax_f64_##NAME(const double *x, int64_t n, bool is_max, bool *saw_nan)                       \
    {                                                                                                                  \
        return minmax_f64_body(x, n, is_max, saw_nan);                                                                 \
    }                                                                                                                  \
    ATTR static int64_t find_f32_##NAME(const float *x, int64_t n, float value) { return find_f32_body(x, n, value); } \
    ATTR static int64_t find_f64_##NAME(const double *x, int64_t n, double value)                                      \
    {                                                                                                                  \
        return find_f64_body(x, n, value);                                                                             \
    }                                                                                                                  \
    ATTR static void column_sum_f32_##NAME(const float *x, int64_t rows, int64_t row_stride, int w, float *acc)        \
    {                                                                                                                  \
        column_sum_f32_body(x, rows, row_stride, w, acc);                                                              \
    }                                                                                                                  \
    ATTR static void column_sum_f64_##NAME(const double *x, int64_t rows, int64_t row_stride, int w, double *acc)      \
    {                                                                                                                  \
        column_sum_f64_body(x, rows, row_stride, w, acc);                                                              \
    }                                                                                                                  \
    ATTR static void column_minmax_f32_##NAME(const float *x, int64_t rows, int64_t row_stride, int w, bool is_max,    \
                                              float *out)                                                              \
    {                                                                                                                  \
        column_minmax_f32_body(x, rows, row_stride, w, is_max, out);                                                   \
    }                                                                                                                  \
    ATTR static void column_minmax_f64_##NAME(const double *x, int64_t rows, int64_t row_stride, int w, bool is_max,   \
                                              double *out)                                                             \
    {                                                                                                                  \
        column_minmax_f64_body(x, rows, row_stride, w, is_max, out);                                                   \
    }                                                                                                                  \
    ATTR static void exp_shifted_f32_##NAME(const float *x, int64_t n, float shift, float *out)                        \
    {                                                                                                                  \
        exp_shifted_f32_body(x, n, shift, out);                                                                        \
    }                                                                                                                  \
    ATTR static void softmax_columns_f32_##NAME(const float *x, int64_t n, int64_t in_stride, float *y,                \
                                                int64_t out_stride, int w, bool log_form)                              \
    {                                                                                                                  \
        softmax_columns_f32_body(x, n, in_stride, y, out_stride, w, log_form);                                         \
    }                                                                                                                  \
    ATTR static void softmax_columns_f64_##NAME(const double *x, int64_t n, int64_t in_stride, double *y,              \
                                                int64_t out_stride, int w, bool log_form)                              \
    {                                                                                                                  \
        softmax_columns_f64_body(x, n, in_stride, y, out_stride, w, log_form);                                         \
    }                                                                                                                  \
    static const nbi_reduce_loops loops_##NAME = {                                                                     \
        .sum_f32             = sum_f32_##NAME,                                                                         \
        .sum_f64             = sum_f64_##NAME,                                                                         \
        .sum_half            = sum_half_##NAME,                                                                        \
        .transform_sum_f32   = transform_sum_f32_##NAME,                                                               \
        .transform_sum_f64   = transform_sum_f64_##NAME,                                                               \
        .minmax_f32          = minmax_f32_##NAME,                                                                      \
        .minmax_f64          = minmax_f64_##NAME,                                                                      \
        .find_f32            = find_f32_##NAME,                                                                        \
        .find_f64            = find_f64_##NAME,                                                                        \
        .column_sum_f32      = column_sum_f32_##NAME,                                                                  \
        .column_sum_f64      = column_sum_f64_##NAME,                                                                  \
        .column_minmax_f32   = column_minmax_f32_##NAME,                                                               \
        .column_minmax_f64   = column_minmax_f64_##NAME,                                                               \
        .exp_shifted_f32     = exp_shifted_f32_##NAME,                                                                 \
        .softmax_columns_f32 = softmax_columns_f32_##NAME,                                                             \
        .softmax_columns_f64 = softmax_columns_f64_##NAME,                                                             \
        .isa                 = #NAME,                                                                                  \
    };

DEFINE_LOOPS(baseline, , sum_half_body)
#if NBI_AVX2_CLONES
DEFINE_LOOPS(avx2, __attribute__((target("avx2"))), sum_half_f16c)
#endif
#undef DEFINE_LOOPS

/* NOTE: atomic, as elementwise_dispatch.c's choice: two threads may both
 * choose (the same loops), which is harmless, but a plain pointer written by
 * one while another reads it is a data race. */
static _Atomic(const nbi_reduce_loops *) chosen;

const nbi_reduce_loops *nbi_reduce_loops_get(void)
{
    const nbi_reduce_loops *loops = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (NBI_UNLIKELY(loops == NULL)) {
        loops = &loops_baseline;
#if NBI_AVX2_CLONES
        if (nbi_cpu_level_used() >= NBI_CPU_AVX2) loops = &loops_avx2;
#endif
        atomic_store_explicit(&chosen, loops, memory_order_relaxed);
    }
    return loops;
}

const nbi_reduce_loops *nbi_reduce_loops_baseline(void) { return &loops_baseline; }
