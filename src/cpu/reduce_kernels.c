/*
 * reduce_kernels.c — CPU reductions (see reduce_kernels.h for the layouts
 * and the accuracy rules, core/reduce_args.h for the plan); the columns
 * layout is reduce_columns.c.
 *
 * Layout of this file:
 *   leaves       one block of a run: contiguous floats go to the vectorized
 *                loops of reduce_loops.c; everything else is gathered into
 *                doubles (float inputs) or int64 (integer inputs) and
 *                reduced there
 *   tree         pairwise combination of leaves; threads take subtrees
 *   rows         one output at a time (the final formula of each op)
 */
#include "reduce_kernels.h"

static inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Strided float sums: 4 interleaved accumulators. */
#define DEFINE_STRIDED_SUM(suffix, T)                                                                                  \
    static T sum_##suffix##_strided(const T *x, int64_t n, int64_t stride)                                             \
    {                                                                                                                  \
        T       acc[4] = {0, 0, 0, 0};                                                                                 \
        int64_t i      = 0;                                                                                            \
        for (; i + 4 <= n; i += 4)                                                                                     \
            for (int k = 0; k < 4; k++)                                                                                \
                acc[k] += x[(i + k) * stride];                                                                         \
        for (; i < n; i++)                                                                                             \
            acc[0] += x[i * stride];                                                                                   \
        return (acc[0] + acc[1]) + (acc[2] + acc[3]);                                                                  \
    }
DEFINE_STRIDED_SUM(f32, float)
DEFINE_STRIDED_SUM(f64, double)
#undef DEFINE_STRIDED_SUM

/* ------------------------------------------------------------------------ */
/* Passes and the generic leaf                                               */
/* ------------------------------------------------------------------------ */

/* What one walk over a run computes. The first group takes every dtype; the
 * second only floats, accumulated in double. */
typedef enum {
    PASS_SUM,
    PASS_PROD,
    PASS_MAX,
    PASS_MIN,
    PASS_ARGMAX,
    PASS_ARGMIN,
    PASS_ALL,
    PASS_ANY,
    PASS_SUM_DOUBLE,
    PASS_ABS_SUM,
    PASS_SQUARE_SUM,
    PASS_POW_SUM, /* sum |x|^param */
    PASS_NONZERO_COUNT,
    PASS_ABS_MAX,
    PASS_ABS_MIN,
    PASS_DEVIATION_SUM,         /* sum (x - param) */
    PASS_SQUARED_DEVIATION_SUM, /* sum (x - param)^2 */
    PASS_EXP_SUM,               /* sum exp(x - param) */
} pass_kind;

typedef struct {
    pass_kind kind;
    nb_dtype  dtype;
    size_t    itemsize;
    double    param;
} pass;

/* The result of a pass over part of a run. Which fields mean something
 * depends on the pass and dtype (see combine). */
typedef struct {
    double  d;     /* float values, double sums */
    float   s;     /* float32 SUM and PROD stay in float32 */
    int64_t i;     /* integer values; ALL/ANY flag */
    int64_t index; /* ARGMAX/ARGMIN: position in the run */
} partial;

/* float16 / bfloat16 are floats reduced in float32: each leaf (and each
 * column tile) widens its block as it reads it, so no float32 copy of the
 * tensor is made and the sums are the ones float32 has for that layout. */
static bool is_float(nb_dtype d) { return d == NB_FLOAT32 || d == NB_FLOAT64 || nbi_is_half(d); }
/* sums and products of these accumulate in float32 (partial.s) */
static bool in_float32(nb_dtype d) { return d == NB_FLOAT32 || nbi_is_half(d); }

void nbi_reduce_widen_half(float *out, const char *x, int64_t n, int64_t stride, nb_dtype dtype)
{
    char   *data[2]    = {(char *)out, (char *)x};
    int64_t strides[2] = {(int64_t)sizeof(float), stride * 2};
    nbi_cast_loop(dtype, NB_FLOAT32)(data, strides, n, NULL);
}

/* Gather m elements (stride apart) as double / as int64. */
static void gather_f64(double *buf, const char *x, int m, int64_t stride, nb_dtype dtype)
{
    if (dtype == NB_FLOAT32) {
        const float *p = (const float *)x;
        for (int i = 0; i < m; i++)
            buf[i] = p[i * stride];
    } else {
        const double *p = (const double *)x;
        for (int i = 0; i < m; i++)
            buf[i] = p[i * stride];
    }
}

#define GATHER_AS(T, VALUE)                                                                                            \
    do {                                                                                                               \
        const T *p = (const T *)x;                                                                                     \
        for (int i = 0; i < m; i++)                                                                                    \
            buf[i] = VALUE(p[i * stride]);                                                                             \
    } while (0)
#define AS_IS(v)   (v)
#define AS_FLAG(v) ((v) != 0)

static void gather_i64(int64_t *buf, const char *x, int m, int64_t stride, nb_dtype dtype)
{
    switch (dtype) {
    case NB_INT64: GATHER_AS(int64_t, AS_IS); break;
    case NB_INT32: GATHER_AS(int32_t, AS_IS); break;
    case NB_INT16: GATHER_AS(int16_t, AS_IS); break;
    case NB_INT8: GATHER_AS(int8_t, AS_IS); break;
    case NB_UINT8: GATHER_AS(uint8_t, AS_IS); break;
    default: GATHER_AS(uint8_t, AS_FLAG); break; /* bool: any nonzero byte is true */
    }
}
#undef GATHER_AS
#undef AS_IS
#undef AS_FLAG

enum { GATHER = 256 };

/* Sum of buf into acc[4] (four interleaved chains). */
static void add_into(double *acc, const double *buf, int m)
{
    int i = 0;
    for (; i + 4 <= m; i += 4)
        for (int k = 0; k < 4; k++)
            acc[k] += buf[i + k];
    for (; i < m; i++)
        acc[0] += buf[i];
}

/* A float run of n >= 1 elements, any pass but PASS_SUM. */
static partial leaf_float(const pass *ps, const char *x, int64_t n, int64_t stride, int64_t first)
{
    double  buf[GATHER];
    double  acc[4] = {0, 0, 0, 0};
    double  best = 0.0, prod = 1.0;
    float   prod32  = 1.0f;
    int64_t best_at = -1;
    bool    saw_nan = false, flag = ps->kind == PASS_ALL;
    partial r = {0};
    for (int64_t b = 0; b < n; b += GATHER) {
        int m = (int)min_i64(GATHER, n - b);
        gather_f64(buf, x + (size_t)(b * stride) * ps->itemsize, m, stride, ps->dtype);
        switch (ps->kind) {
        case PASS_PROD:
            if (ps->dtype == NB_FLOAT32)
                for (int i = 0; i < m; i++)
                    prod32 *= (float)buf[i];
            else
                for (int i = 0; i < m; i++)
                    prod *= buf[i];
            break;
        case PASS_ABS_MAX:
        case PASS_ABS_MIN:
            for (int i = 0; i < m; i++)
                buf[i] = fabs(buf[i]);
            /* fall through */
        case PASS_MAX:
        case PASS_MIN: {
            bool want_max = ps->kind == PASS_MAX || ps->kind == PASS_ABS_MAX;
            if (b == 0) best = buf[0];
            for (int i = 0; i < m; i++) {
                double v = buf[i];
                saw_nan |= v != v;
                best = want_max ? (v > best ? v : best) : (v < best ? v : best);
            }
            break;
        }
        case PASS_ARGMAX:
        case PASS_ARGMIN:
            for (int i = 0; i < m; i++) {
                double v = buf[i];
                if (v != v) { /* the first NaN wins, as in torch */
                    r.d     = v;
                    r.index = first + b + i;
                    return r;
                }
                bool better = ps->kind == PASS_ARGMAX ? v > best : v < best;
                if (best_at < 0 || better) {
                    best    = v;
                    best_at = b + i;
                }
            }
            break;
        case PASS_ALL:
            for (int i = 0; i < m; i++)
                flag &= buf[i] != 0.0;
            break;
        case PASS_ANY:
            for (int i = 0; i < m; i++)
                flag |= buf[i] != 0.0;
            break;
        case PASS_SUM:
        case PASS_SUM_DOUBLE:
            add_into(acc, buf, m);
            break;
        case PASS_ABS_SUM:
            for (int i = 0; i < m; i++)
                buf[i] = fabs(buf[i]);
            add_into(acc, buf, m);
            break;
        case PASS_SQUARE_SUM:
            for (int i = 0; i < m; i++)
                buf[i] *= buf[i];
            add_into(acc, buf, m);
            break;
        case PASS_POW_SUM:
            for (int i = 0; i < m; i++)
                buf[i] = pow(fabs(buf[i]), ps->param);
            add_into(acc, buf, m);
            break;
        case PASS_NONZERO_COUNT:
            for (int i = 0; i < m; i++)
                buf[i] = buf[i] != 0.0;
            add_into(acc, buf, m);
            break;
        case PASS_DEVIATION_SUM:
            for (int i = 0; i < m; i++)
                buf[i] -= ps->param;
            add_into(acc, buf, m);
            break;
        case PASS_SQUARED_DEVIATION_SUM:
            for (int i = 0; i < m; i++) {
                double dev = buf[i] - ps->param;
                buf[i]     = dev * dev;
            }
            add_into(acc, buf, m);
            break;
        case PASS_EXP_SUM:
            for (int i = 0; i < m; i++)
                buf[i] = exp(buf[i] - ps->param);
            add_into(acc, buf, m);
            break;
        }
    }
    switch (ps->kind) {
    case PASS_PROD:
        r.s = prod32;
        r.d = prod;
        break;
    case PASS_MAX:
    case PASS_MIN:
    case PASS_ABS_MAX:
    case PASS_ABS_MIN:
        r.d = saw_nan ? NAN : best;
        break;
    case PASS_ARGMAX:
    case PASS_ARGMIN:
        r.d     = best;
        r.index = first + best_at;
        break;
    case PASS_ALL:
    case PASS_ANY:
        r.i = flag;
        break;
    default:
        r.d = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        break;
    }
    return r;
}

/* An integer or bool run of n >= 1 elements. Sums and products wrap as
 * two's complement int64 (computed in uint64: no undefined overflow).
 * NOTE: kept apart from leaf_float on purpose: int64 values past 2^53 are
 * not exact in double, and each typed loop stays simple enough to vectorize. */
static partial leaf_integer(const pass *ps, const char *x, int64_t n, int64_t stride, int64_t first)
{
    int64_t  buf[GATHER];
    uint64_t sum = 0, prod = 1;
    int64_t  best = 0, best_at = -1;
    bool     flag = ps->kind == PASS_ALL;
    partial  r    = {0};
    for (int64_t b = 0; b < n; b += GATHER) {
        int m = (int)min_i64(GATHER, n - b);
        gather_i64(buf, x + (size_t)(b * stride) * ps->itemsize, m, stride, ps->dtype);
        switch (ps->kind) {
        case PASS_SUM:
            for (int i = 0; i < m; i++)
                sum += (uint64_t)buf[i];
            break;
        case PASS_PROD:
            for (int i = 0; i < m; i++)
                prod *= (uint64_t)buf[i];
            break;
        case PASS_MAX:
            if (b == 0) best = buf[0];
            for (int i = 0; i < m; i++)
                best = buf[i] > best ? buf[i] : best;
            break;
        case PASS_MIN:
            if (b == 0) best = buf[0];
            for (int i = 0; i < m; i++)
                best = buf[i] < best ? buf[i] : best;
            break;
        case PASS_ARGMAX:
        case PASS_ARGMIN:
            for (int i = 0; i < m; i++) {
                bool better = ps->kind == PASS_ARGMAX ? buf[i] > best : buf[i] < best;
                if (best_at < 0 || better) {
                    best    = buf[i];
                    best_at = b + i;
                }
            }
            break;
        case PASS_ALL:
            for (int i = 0; i < m; i++)
                flag &= buf[i] != 0;
            break;
        case PASS_ANY:
            for (int i = 0; i < m; i++)
                flag |= buf[i] != 0;
            break;
        default:
            break; /* float-only passes never reach integers */
        }
    }
    switch (ps->kind) {
    case PASS_SUM:
        r.i = (int64_t)sum;
        break;
    case PASS_PROD:
        r.i = (int64_t)prod;
        break;
    case PASS_ARGMAX:
    case PASS_ARGMIN:
        r.i     = best;
        r.index = first + best_at;
        break;
    case PASS_ALL:
    case PASS_ANY:
        r.i = flag;
        break;
    default:
        r.i = best;
        break;
    }
    return r;
}

/* A contiguous float block (elements first.. of the run) through the
 * vectorized loops; false when the pass has none. */
static bool leaf_contiguous_float(const pass *ps, const char *x, int64_t n, int64_t first, partial *r)
{
    const nbi_reduce_loops *loops = nbi_reduce_loops_get();
    bool                    f32   = ps->dtype == NB_FLOAT32;
    const float            *xf    = (const float *)x;
    const double           *xd    = (const double *)x;
    nbi_lane_transform      f;
    switch (ps->kind) {
    case PASS_SUM:
        if (f32)
            r->s = loops->sum_f32(xf, n);
        else
            r->d = loops->sum_f64(xd, n);
        return true;
    case PASS_MAX:
    case PASS_MIN: {
        bool saw_nan = false, is_max = ps->kind == PASS_MAX;
        r->d = f32 ? loops->minmax_f32(xf, n, is_max, &saw_nan) : loops->minmax_f64(xd, n, is_max, &saw_nan);
        if (saw_nan) r->d = NAN;
        return true;
    }
    case PASS_ARGMAX:
    case PASS_ARGMIN: {
        /* the extreme value, then its first position (first NaN if any) */
        bool saw_nan = false, is_max = ps->kind == PASS_ARGMAX;
        if (f32) {
            float v  = loops->minmax_f32(xf, n, is_max, &saw_nan);
            v        = saw_nan ? NAN : v;
            r->d     = v;
            r->index = first + loops->find_f32(xf, n, v);
        } else {
            double v = loops->minmax_f64(xd, n, is_max, &saw_nan);
            v        = saw_nan ? NAN : v;
            r->d     = v;
            r->index = first + loops->find_f64(xd, n, v);
        }
        return true;
    }
    case PASS_EXP_SUM: {
        if (!f32) return false; /* float64 exp: libm, in the generic leaf */
        float  buf[GATHER];
        double sum = 0.0;
        for (int64_t b = 0; b < n; b += GATHER) {
            int64_t m = min_i64(GATHER, n - b);
            loops->exp_shifted_f32(xf + b, m, (float)ps->param, buf);
            sum += loops->transform_sum_f32(buf, m, NBI_LANES_PLAIN, 0.0);
        }
        r->d = sum;
        return true;
    }
    case PASS_SUM_DOUBLE:
        f = NBI_LANES_PLAIN;
        break;
    case PASS_ABS_SUM:
        f = NBI_LANES_ABS;
        break;
    case PASS_SQUARE_SUM:
        f = NBI_LANES_SQUARE;
        break;
    case PASS_DEVIATION_SUM:
        f = NBI_LANES_DEVIATION;
        break;
    case PASS_SQUARED_DEVIATION_SUM:
        f = NBI_LANES_SQUARED_DEVIATION;
        break;
    default:
        return false;
    }
    r->d = f32 ? loops->transform_sum_f32(xf, n, f, ps->param) : loops->transform_sum_f64(xd, n, f, ps->param);
    return true;
}

/* The sum of a contiguous integer or bool run into *sum, in uint64
 * (wrapping as leaf_integer does): a typed loop the compiler vectorizes
 * (integer sums may be reordered), where leaf_integer's gather costs 2-3x.
 * False for a dtype it has no loop for (leaf_integer sums those). */
#define SUM_CONTIGUOUS(type, value)                                                                              \
    do {                                                                                                       \
        const type *p   = (const type *)x;                                                                     \
        uint64_t    acc = 0;                                                                                   \
        for (int64_t i = 0; i < n; i++) acc += value(p[i]);                                                    \
        *sum = (int64_t)acc;                                                                                   \
        return true;                                                                                           \
    } while (0)
/* int16 / int8 leaves add in int32, which vectorizes twice as wide as
 * int64 and cannot overflow within one leaf: */
_Static_assert((int64_t)NBI_REDUCE_LEAF * 32768 < INT32_MAX, "an int16 leaf's sum fits int32");
#define SUM_CONTIGUOUS_NARROW(type)                                                                            \
    do {                                                                                                       \
        const type *p   = (const type *)x;                                                                     \
        int32_t     acc = 0;                                                                                   \
        for (int64_t i = 0; i < n; i++) acc += p[i];                                                           \
        *sum = acc;                                                                                            \
        return true;                                                                                           \
    } while (0)
#define AS_U64(v)   ((uint64_t)(int64_t)(v))
#define AS_FLAG(v)  ((uint64_t)((v) != 0))

static bool sum_integer_contiguous(const char *x, int64_t n, nb_dtype dtype, int64_t *sum)
{
    switch (dtype) {
    case NB_INT64: SUM_CONTIGUOUS(int64_t, AS_U64);
    case NB_INT32: SUM_CONTIGUOUS(int32_t, AS_U64);
    case NB_INT16: SUM_CONTIGUOUS_NARROW(int16_t);
    case NB_INT8: SUM_CONTIGUOUS_NARROW(int8_t);
    case NB_UINT8: SUM_CONTIGUOUS(uint8_t, AS_U64);
    case NB_BOOL: SUM_CONTIGUOUS(uint8_t, AS_FLAG); /* any nonzero byte counts one */
    default: return false;
    }
}
#undef SUM_CONTIGUOUS
#undef SUM_CONTIGUOUS_NARROW
#undef AS_U64
#undef AS_FLAG

static partial leaf(const pass *ps, const char *x, int64_t n, int64_t stride, int64_t first);

/* A float16 / bfloat16 leaf: widened into float32, then float32's leaf. */
static partial leaf_half(const pass *ps, const char *x, int64_t n, int64_t stride, int64_t first)
{
    if (ps->kind == PASS_SUM && stride == 1) /* the common case, without the copy */
        return (partial){.s = nbi_reduce_loops_get()->sum_half((const uint16_t *)x, n, ps->dtype == NB_BFLOAT16)};
    float wide[NBI_REDUCE_LEAF];
    nbi_reduce_widen_half(wide, x, n, stride, ps->dtype);
    pass as_float = *ps;
    as_float.dtype    = NB_FLOAT32;
    as_float.itemsize = sizeof(float);
    return leaf(&as_float, (const char *)wide, n, 1, first);
}

/* One leaf (1 <= n <= NBI_REDUCE_LEAF). */
static partial leaf(const pass *ps, const char *x, int64_t n, int64_t stride, int64_t first)
{
    partial r = {0};
    if (nbi_is_half(ps->dtype)) return leaf_half(ps, x, n, stride, first);
    if (is_float(ps->dtype)) {
        if (stride == 1 && leaf_contiguous_float(ps, x, n, first, &r)) return r;
        if (ps->kind == PASS_SUM && ps->dtype == NB_FLOAT32) {
            r.s = sum_f32_strided((const float *)x, n, stride);
            return r;
        }
        if (ps->kind == PASS_SUM) {
            r.d = sum_f64_strided((const double *)x, n, stride);
            return r;
        }
        return leaf_float(ps, x, n, stride, first);
    }
    if (stride == 1 && ps->kind == PASS_SUM && sum_integer_contiguous(x, n, ps->dtype, &r.i)) return r;
    return leaf_integer(ps, x, n, stride, first);
}

/* ------------------------------------------------------------------------ */
/* The tree                                                                  */
/* ------------------------------------------------------------------------ */

/* a covers the earlier part of the run, b the later: ties keep a. */
static partial combine(const pass *ps, partial a, partial b)
{
    bool floating = is_float(ps->dtype);
    switch (ps->kind) {
    case PASS_SUM:
        if (in_float32(ps->dtype))
            a.s += b.s;
        else if (floating)
            a.d += b.d;
        else
            a.i = (int64_t)((uint64_t)a.i + (uint64_t)b.i);
        return a;
    case PASS_PROD:
        if (in_float32(ps->dtype))
            a.s *= b.s;
        else if (floating)
            a.d *= b.d;
        else
            a.i = (int64_t)((uint64_t)a.i * (uint64_t)b.i);
        return a;
    case PASS_MAX:
    case PASS_ABS_MAX:
        if (!floating) return b.i > a.i ? b : a;
        if (a.d != a.d) return a;
        return b.d != b.d || b.d > a.d ? b : a;
    case PASS_MIN:
    case PASS_ABS_MIN:
        if (!floating) return b.i < a.i ? b : a;
        if (a.d != a.d) return a;
        return b.d != b.d || b.d < a.d ? b : a;
    case PASS_ARGMAX:
        if (!floating) return b.i > a.i ? b : a;
        if (a.d != a.d) return a;
        return b.d != b.d || b.d > a.d ? b : a;
    case PASS_ARGMIN:
        if (!floating) return b.i < a.i ? b : a;
        if (a.d != a.d) return a;
        return b.d != b.d || b.d < a.d ? b : a;
    case PASS_ALL:
        a.i = a.i && b.i;
        return a;
    case PASS_ANY:
        a.i = a.i || b.i;
        return a;
    default:
        a.d += b.d;
        return a;
    }
}

/* A run of n >= 1 elements: leaves combined pairwise, split at the largest
 * power-of-two multiple of the leaf below n. */
static partial tree(const pass *ps, const char *x, int64_t n, int64_t stride, int64_t first)
{
    if (n <= NBI_REDUCE_LEAF) return leaf(ps, x, n, stride, first);
    int64_t half  = nbi_tree_split(n, NBI_REDUCE_LEAF);
    partial left  = tree(ps, x, half, stride, first);
    partial right = tree(ps, x + (size_t)(half * stride) * ps->itemsize, n - half, stride, first + half);
    return combine(ps, left, right);
}

/* Combine count chunk results with the same splitting rule as tree. */
static partial combine_chunks(const pass *ps, const partial *parts, int64_t count)
{
    if (count == 1) return parts[0];
    int64_t half = nbi_tree_split(count, 1);
    return combine(ps, combine_chunks(ps, parts, half), combine_chunks(ps, parts + half, count - half));
}

enum { MAX_CHUNKS = 256 };

typedef struct {
    const pass *ps;
    const char *x;
    int64_t     n, stride, chunk;
    partial    *parts;
} chunk_job;

static void chunk_body(int64_t begin, int64_t end, void *ctx)
{
    const chunk_job *job = ctx;
    for (int64_t c = begin; c < end; c++) {
        int64_t start = c * job->chunk;
        job->parts[c] = tree(job->ps, job->x + (size_t)(start * job->stride) * job->ps->itemsize,
                             min_i64(job->chunk, job->n - start), job->stride, start);
    }
}

/* tree() over a run, with threads taking whole subtrees when may_split and
 * the run is long. NOTE: chunks are power-of-two multiples of the leaf, so
 * they are exactly subtrees of tree() and the result is bit-identical to
 * the serial one whatever the thread count. */
static partial run_pass(const pass *ps, const char *x, int64_t n, int64_t stride, bool may_split)
{
    if (!may_split || n < 4 * NBI_PARALLEL_GRAIN || nb_get_num_threads() < 2) return tree(ps, x, n, stride, 0);
    int64_t chunk = NBI_REDUCE_LEAF;
    while (chunk < NBI_PARALLEL_GRAIN || (n + chunk - 1) / chunk > MAX_CHUNKS)
        chunk *= 2;
    partial   parts[MAX_CHUNKS];
    chunk_job job   = {.ps = ps, .x = x, .n = n, .stride = stride, .chunk = chunk, .parts = parts};
    int64_t   count = (n + chunk - 1) / chunk;
    nbi_parallel_for(count, 1, chunk_body, &job);
    return combine_chunks(ps, parts, count);
}

/* ------------------------------------------------------------------------ */
/* Rows: one output                                                          */
/* ------------------------------------------------------------------------ */

/* v in values' float dtype; halves round through float32 (the float32
 * result they would have, rounded once more, as torch). */
static void store_float(void *values, nb_dtype dtype, int64_t o, double v)
{
    switch (dtype) {
    case NB_FLOAT64: ((double *)values)[o] = v; break;
    case NB_FLOAT16: ((uint16_t *)values)[o] = nbi_f32_to_f16((float)v); break;
    case NB_BFLOAT16: ((uint16_t *)values)[o] = nbi_f32_to_bf16((float)v); break;
    default: ((float *)values)[o] = (float)v; break;
    }
}

/* v is in the range of dtype (it came from a tensor of that dtype). */
static void store_integer(void *values, nb_dtype dtype, int64_t o, int64_t v)
{
    switch (dtype) {
    case NB_INT64:
        ((int64_t *)values)[o] = v;
        break;
    case NB_INT32:
        ((int32_t *)values)[o] = (int32_t)v;
        break;
    case NB_INT16:
        ((int16_t *)values)[o] = (int16_t)v;
        break;
    case NB_INT8:
        ((int8_t *)values)[o] = (int8_t)v;
        break;
    default:
        ((uint8_t *)values)[o] = (uint8_t)v;
        break;
    }
}

/* A max / min pass's value: r.d (floating) or r.i, in values' dtype. */
static void store_picked(const nbi_reduce_job *job, int64_t o, partial r, bool floating)
{
    if (floating)
        store_float(job->values, job->values_dtype, o, r.d);
    else
        store_integer(job->values, job->values_dtype, o, r.i);
}

/* A reduction under way in the rows layout: what every output's run shares. */
typedef struct {
    const nbi_reduce_plan *plan;
    const nbi_reduce_job  *job;
    size_t                 itemsize;
    int64_t                step;      /* plan->stride in elements: the loops index typed pointers */
    bool                   may_split; /* threads split each run (few long runs) */
    bool                   short_run; /* reduce_short_run applies */
} rows_ctx;

/* A pass over the run at x; run_pass needs n >= 1. */
static partial walk(const rows_ctx *c, pass_kind kind, double param, const char *x)
{
    pass ps = {.kind = kind, .dtype = c->plan->dtype, .itemsize = c->itemsize, .param = param};
    return run_pass(&ps, x, c->plan->n, c->step, c->may_split);
}

static double norm_of_run(const rows_ctx *c, double p, const char *x)
{
    if (c->plan->n == 0) return 0.0; /* every p, as torch.norm */
    if (p == 1.0) return walk(c, PASS_ABS_SUM, 0, x).d;
    if (p == 2.0) return sqrt(walk(c, PASS_SQUARE_SUM, 0, x).d);
    if (p == INFINITY) return walk(c, PASS_ABS_MAX, 0, x).d;
    if (p == -INFINITY) return walk(c, PASS_ABS_MIN, 0, x).d;
    if (p == 0.0) return walk(c, PASS_NONZERO_COUNT, 0, x).d;
    return pow(walk(c, PASS_POW_SUM, p, x).d, 1.0 / p);
}

/* Variance of the run in double: mean first, then squared deviations from
 * it (two passes: no cancellation, unlike sum(x^2) - n mean^2). When the
 * reduction has several outputs the mean is the first element plus the
 * mean deviation from it: a constant run then has exactly its value as
 * mean and a variance of exactly 0 (no overflow for huge constants
 * either), as torch's Welford reductions give there; a reduction into one
 * value keeps sum / n, as torch's std_var_all does (0.1 three times:
 * 1.7e-17). */
static double variance_of_run(const rows_ctx *c, int64_t correction, const char *x)
{
    int64_t n = c->plan->n;
    double  mean;
    if (n == 0) {
        mean = NAN;
    } else if (c->plan->out_numel > 1) {
        double first = nbi_load_f64(x, c->plan->dtype);
        mean         = first + walk(c, PASS_DEVIATION_SUM, first, x).d / (double)n;
    } else {
        mean = walk(c, PASS_SUM_DOUBLE, 0, x).d / (double)n;
    }
    double ss = n > 0 ? walk(c, PASS_SQUARED_DEVIATION_SUM, mean, x).d : 0.0;
    /* max(0, n - correction) without overflow for extreme corrections */
    double divisor = correction >= n ? 0.0 : (double)n - (double)correction;
    return ss / divisor;
}

/* log(sum(exp(x))) with the max subtracted; an infinite max is replaced by
 * 0 so that all -inf gives -inf and any +inf gives +inf (as torch). */
static double logsumexp_of_run(const rows_ctx *c, const char *x)
{
    if (c->plan->n == 0) return -INFINITY;
    double max = walk(c, PASS_MAX, 0, x).d;
    if (max != max) return max;
    double shift = isinf(max) ? 0.0 : max;
    return log(walk(c, PASS_EXP_SUM, shift, x).d) + shift;
}

/* Reduce the run at x into output o. */
static void reduce_one(const rows_ctx *c, const char *x, int64_t o)
{
    const nbi_reduce_job *job      = c->job;
    int64_t               n        = c->plan->n;
    nb_dtype              dtype    = c->plan->dtype;
    bool                  floating = is_float(dtype);
    switch (job->op) {
    case NBI_REDUCE_sum:
    case NBI_REDUCE_mean: {
        partial r = {0};
        if (n > 0) r = walk(c, PASS_SUM, 0, x);
        if (!floating) {
            ((int64_t *)job->values)[o] = r.i;
        } else if (in_float32(dtype)) {
            /* NOTE: mean divides the float32 sum in float32, as torch. */
            store_float(job->values, job->values_dtype, o, job->op == NBI_REDUCE_mean ? r.s / (float)n : r.s);
        } else {
            ((double *)job->values)[o] = job->op == NBI_REDUCE_mean ? r.d / (double)n : r.d;
        }
        break;
    }
    case NBI_REDUCE_prod: {
        partial r = {.d = 1.0, .s = 1.0f, .i = 1};
        if (n > 0) r = walk(c, PASS_PROD, 0, x);
        if (!floating)
            ((int64_t *)job->values)[o] = r.i;
        else if (in_float32(dtype))
            store_float(job->values, job->values_dtype, o, r.s);
        else
            ((double *)job->values)[o] = r.d;
        break;
    }
    case NBI_REDUCE_max:
    case NBI_REDUCE_min: {
        store_picked(job, o, walk(c, job->op == NBI_REDUCE_max ? PASS_MAX : PASS_MIN, 0, x), floating);
        break;
    }
    case NBI_REDUCE_argmax:
    case NBI_REDUCE_argmin: {
        partial r = walk(c, job->op == NBI_REDUCE_argmax ? PASS_ARGMAX : PASS_ARGMIN, 0, x);
        if (job->indices) job->indices[o] = r.index;
        if (job->values) store_picked(job, o, r, floating);
        break;
    }
    case NBI_REDUCE_all:
    case NBI_REDUCE_any: {
        bool is_all = job->op == NBI_REDUCE_all;
        bool flag   = is_all;
        if (n > 0) flag = walk(c, is_all ? PASS_ALL : PASS_ANY, 0, x).i != 0;
        ((uint8_t *)job->values)[o] = flag;
        break;
    }
    case NBI_REDUCE_var:
    case NBI_REDUCE_std: {
        double var = variance_of_run(c, job->correction, x);
        store_float(job->values, job->values_dtype, o, job->op == NBI_REDUCE_std ? sqrt(var) : var);
        break;
    }
    case NBI_REDUCE_norm:
        store_float(job->values, job->values_dtype, o, norm_of_run(c, job->p, x));
        break;
    case NBI_REDUCE_logsumexp:
        store_float(job->values, job->values_dtype, o, logsumexp_of_run(c, x));
        break;
    case NBI_NUM_REDUCE: break; /* not an op: a new reduce.def row without a case fails the build (-Wswitch) */
    }
}

/* Runs shorter than SHORT_RUN skip the tree for float sum, mean, max and
 * min and integer sums: one typed loop per output, in order from +0. For a
 * contiguous run that is exactly what the leaf computes (its lanes stay +0
 * and it adds the tail in order), so the fast path changes no result. */
enum { SHORT_RUN = 32 };

static bool short_run_applies(const nbi_reduce_plan *plan, const nbi_reduce_job *job)
{
    if (plan->n < 1 || plan->n >= SHORT_RUN) return false;
    if (plan->dtype == NB_FLOAT32 || plan->dtype == NB_FLOAT64)
        return job->op == NBI_REDUCE_sum || job->op == NBI_REDUCE_mean || job->op == NBI_REDUCE_max ||
               job->op == NBI_REDUCE_min;
    return job->op == NBI_REDUCE_sum && (plan->dtype == NB_INT64 || plan->dtype == NB_INT32);
}

#define SHORT_RUN_FLOAT(T)                                                                                             \
    do {                                                                                                               \
        const T *v = (const T *)x;                                                                                     \
        T        r;                                                                                                    \
        if (job->op == NBI_REDUCE_sum || job->op == NBI_REDUCE_mean) {                                                 \
            r = 0;                                                                                                     \
            for (int64_t i = 0; i < n; i++)                                                                            \
                r += v[i * stride];                                                                                    \
            if (job->op == NBI_REDUCE_mean) r /= (T)n;                                                                 \
        } else {                                                                                                       \
            bool is_max = job->op == NBI_REDUCE_max, nan = false;                                                      \
            r = v[0];                                                                                                  \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                T e = v[i * stride];                                                                                   \
                nan |= e != e;                                                                                         \
                r = is_max ? (e > r ? e : r) : (e < r ? e : r);                                                        \
            }                                                                                                          \
            if (nan) r = (T)NAN;                                                                                       \
        }                                                                                                              \
        ((T *)job->values)[o] = r;                                                                                     \
    } while (0)

static void reduce_short_run(const rows_ctx *c, const char *x, int64_t o)
{
    const nbi_reduce_job *job = c->job;
    int64_t               n = c->plan->n, stride = c->step;
    switch (c->plan->dtype) {
    case NB_FLOAT32:
        SHORT_RUN_FLOAT(float);
        break;
    case NB_FLOAT64:
        SHORT_RUN_FLOAT(double);
        break;
    case NB_INT64: {
        const int64_t *v   = (const int64_t *)x;
        uint64_t       sum = 0;
        for (int64_t i = 0; i < n; i++)
            sum += (uint64_t)v[i * stride];
        ((int64_t *)job->values)[o] = (int64_t)sum;
        break;
    }
    default: { /* int32 */
        const int32_t *v   = (const int32_t *)x;
        uint64_t       sum = 0;
        for (int64_t i = 0; i < n; i++)
            sum += (uint64_t)(int64_t)v[i * stride];
        ((int64_t *)job->values)[o] = (int64_t)sum;
        break;
    }
    }
}
#undef SHORT_RUN_FLOAT

/* Outputs [begin, end): input byte offsets by an odometer over the kept dims. */
static void rows_body(int64_t begin, int64_t end, void *ctx)
{
    const rows_ctx        *c    = ctx;
    const nbi_reduce_plan *plan = c->plan;
    int64_t                index[NB_MAX_DIMS], offset = 0, rest = begin;
    for (int d = plan->nkept - 1; d >= 0; d--) {
        index[d] = rest % plan->kept_size[d];
        rest /= plan->kept_size[d];
        offset += index[d] * plan->kept_stride[d];
    }
    for (int64_t o = begin; o < end; o++) {
        const char *x = plan->base + offset;
        if (c->short_run)
            reduce_short_run(c, x, o);
        else
            reduce_one(c, x, o);
        for (int d = plan->nkept - 1; d >= 0; d--) {
            offset += plan->kept_stride[d];
            if (++index[d] < plan->kept_size[d]) break;
            offset -= plan->kept_stride[d] * plan->kept_size[d];
            index[d] = 0;
        }
    }
}

void nbi_reduce(const nbi_reduce_plan *plan, const nbi_reduce_job *job)
{
    if (plan->out_numel == 0) return;
    int64_t work     = plan->n > 0 ? plan->n : 1;
    size_t  itemsize = nb_dtype_size(plan->dtype);
    if (nbi_reduce_columns(plan, job, itemsize)) return;
    rows_ctx c = {.plan      = plan,
                  .job       = job,
                  .itemsize  = itemsize,
                  .step      = plan->stride / (int64_t)itemsize,
                  .may_split = false,
                  .short_run = short_run_applies(plan, job)};
    if (work >= 4 * NBI_PARALLEL_GRAIN && plan->out_numel < 4 * nb_get_num_threads()) {
        /* Few long runs: one after another, threads splitting each (same
         * tree, same result). */
        c.may_split = true;
        rows_body(0, plan->out_numel, &c);
        return;
    }
    nbi_parallel_for(plan->out_numel, NBI_PARALLEL_GRAIN / work + 1, rows_body, &c);
}
