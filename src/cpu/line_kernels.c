/*
 * line_kernels.c — ops that run along one dim and keep the shape: cumsum,
 * cumprod, cummax, cummin, softmax and log_softmax. Each line (all elements along the dim for one
 * index of the other dims) is independent; threads take whole lines, so
 * results never depend on the thread count. Plans (core/reduce_args.h) hold
 * byte strides; the per-line loops take element steps, as they index typed
 * pointers.
 */
#include "reduce_kernels.h"

#include "vecmath.h"

/* ------------------------------------------------------------------------ */
/* cumsum                                                                    */
/* ------------------------------------------------------------------------ */

/* Integers and bool accumulate in int64, wrapping (in uint64: no UB). */
#define CUMSUM_INTEGER(T, LOAD)                                                                                        \
    do {                                                                                                               \
        const T *x   = (const T *)in;                                                                                  \
        uint64_t acc = 0;                                                                                              \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            acc += (uint64_t)(LOAD(x[i * is]));                                                                        \
            y[i * os] = (int64_t)acc;                                                                                  \
        }                                                                                                              \
    } while (0)
#define LOAD_SIGNED(v) ((int64_t)(v))
#define LOAD_BOOL(v) ((v) != 0)

/* Floats accumulate in double, as torch does on the CPU. is and os: the
 * steps along the line, in elements. */
static void cumsum_line(const nbi_line_plan *plan, const char *in, char *out, int64_t is, int64_t os)
{
    int64_t n = plan->n;
    if (plan->in_dtype == NB_FLOAT32) {
        const float *x   = (const float *)in;
        float       *y   = (float *)out;
        double       acc = 0.0;
        for (int64_t i = 0; i < n; i++)
            y[i * os] = (float)(acc += x[i * is]);
        return;
    }
    if (plan->in_dtype == NB_FLOAT64) {
        const double *x   = (const double *)in;
        double       *y   = (double *)out;
        double        acc = 0.0;
        for (int64_t i = 0; i < n; i++)
            y[i * os] = acc += x[i * is];
        return;
    }
    int64_t *y = (int64_t *)out;
    switch (plan->in_dtype) {
    case NB_INT64:
        CUMSUM_INTEGER(int64_t, LOAD_SIGNED);
        break;
    case NB_INT32:
        CUMSUM_INTEGER(int32_t, LOAD_SIGNED);
        break;
    case NB_UINT8:
        CUMSUM_INTEGER(uint8_t, LOAD_SIGNED);
        break;
    default:
        CUMSUM_INTEGER(uint8_t, LOAD_BOOL);
        break;
    }
}
#undef CUMSUM_INTEGER
#undef LOAD_SIGNED
#undef LOAD_BOOL

/* ------------------------------------------------------------------------ */
/* cumprod                                                                   */
/* ------------------------------------------------------------------------ */

/* Integers and bool multiply in int64, wrapping (in uint64: no UB). */
#define CUMPROD_INTEGER(T, LOAD)                                                                                       \
    do {                                                                                                               \
        const T *x   = (const T *)in;                                                                                  \
        uint64_t acc = 1;                                                                                              \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            acc *= (uint64_t)(LOAD(x[i * is]));                                                                        \
            y[i * os] = (int64_t)acc;                                                                                  \
        }                                                                                                              \
    } while (0)
#define LOAD_SIGNED(v) ((int64_t)(v))
#define LOAD_BOOL(v) ((v) != 0)

/* Floats multiply in double, as torch does on the CPU. */
static void cumprod_line(const nbi_line_plan *plan, const char *in, char *out, int64_t is, int64_t os)
{
    int64_t n = plan->n;
    if (plan->in_dtype == NB_FLOAT32) {
        const float *x   = (const float *)in;
        float       *y   = (float *)out;
        double       acc = 1.0;
        for (int64_t i = 0; i < n; i++)
            y[i * os] = (float)(acc *= x[i * is]);
        return;
    }
    if (plan->in_dtype == NB_FLOAT64) {
        const double *x   = (const double *)in;
        double       *y   = (double *)out;
        double        acc = 1.0;
        for (int64_t i = 0; i < n; i++)
            y[i * os] = acc *= x[i * is];
        return;
    }
    int64_t *y = (int64_t *)out;
    switch (plan->in_dtype) {
    case NB_INT64:
        CUMPROD_INTEGER(int64_t, LOAD_SIGNED);
        break;
    case NB_INT32:
        CUMPROD_INTEGER(int32_t, LOAD_SIGNED);
        break;
    case NB_UINT8:
        CUMPROD_INTEGER(uint8_t, LOAD_SIGNED);
        break;
    default:
        CUMPROD_INTEGER(uint8_t, LOAD_BOOL);
        break;
    }
}
#undef CUMPROD_INTEGER
#undef LOAD_SIGNED
#undef LOAD_BOOL

/* ------------------------------------------------------------------------ */
/* cummax and cummin                                                         */
/* ------------------------------------------------------------------------ */

/* x replaces the running value when x CMP best (ties included, so the
 * position moves to the later element). A NaN replaces anything, and only
 * a NaN replaces a NaN. */
#define CUMEXTREME(T, CMP, IS_NAN)                                                                                           \
    do {                                                                                                               \
        const T *x    = (const T *)in;                                                                                 \
        T       *y    = (T *)out;                                                                                      \
        T        best = x[0];                                                                                          \
        int64_t  at   = 0;                                                                                             \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            T v = x[i * is];                                                                                           \
            if (IS_NAN(v) || (!IS_NAN(best) && v CMP best)) {                                                      \
                best = v;                                                                                              \
                at   = i;                                                                                              \
            }                                                                                                          \
            y[i * os]   = best;                                                                                        \
            pos[i * os] = at;                                                                                          \
        }                                                                                                              \
    } while (0)

#define NEVER_NAN(v) ((void)(v), false)

/* The line's values and positions; os steps out and pos alike. */
static void cumextreme_line(const nbi_line_plan *plan, const char *in, char *out, int64_t *pos, int64_t is, int64_t os,
                            bool max)
{
    int64_t n = plan->n;
    switch (plan->in_dtype) {
#define CUMEXTREME_CASE(dtype, T, IS_NAN)                                                                              \
    case dtype:                                                                                                        \
        if (max) CUMEXTREME(T, >=, IS_NAN);                                                                            \
        else CUMEXTREME(T, <=, IS_NAN);                                                                                \
        break;
        CUMEXTREME_CASE(NB_FLOAT32, float, isnan)
        CUMEXTREME_CASE(NB_FLOAT64, double, isnan)
        CUMEXTREME_CASE(NB_INT64, int64_t, NEVER_NAN)
        CUMEXTREME_CASE(NB_INT32, int32_t, NEVER_NAN)
        CUMEXTREME_CASE(NB_UINT8, uint8_t, NEVER_NAN)
    default:
        /* bool: stored as 0 / 1 bytes */
        if (max) CUMEXTREME(uint8_t, >=, NEVER_NAN);
        else CUMEXTREME(uint8_t, <=, NEVER_NAN);
        break;
#undef CUMEXTREME_CASE
    }
}
#undef CUMEXTREME
#undef NEVER_NAN

/* ------------------------------------------------------------------------ */
/* softmax and log_softmax                                                   */
/* ------------------------------------------------------------------------ */

/* A contiguous float32 line through the vectorized loops: max (NaN wins),
 * exp(x - max), their sum in double lanes, then scale or shift. */
static void softmax_line_f32_contiguous(const float *x, float *y, int64_t n, bool log_form)
{
    const nbi_reduce_loops *loops   = nbi_reduce_loops_get();
    bool                    saw_nan = false;
    float                   max     = loops->minmax_f32(x, n, true, &saw_nan);
    if (saw_nan) max = NAN;
    if (!log_form) {
        loops->exp_shifted_f32(x, n, max, y);
        float scale = (float)(1.0 / loops->transform_sum_f32(y, n, NBI_LANES_PLAIN, 0.0));
        for (int64_t i = 0; i < n; i++)
            y[i] *= scale;
        return;
    }
    enum { BLOCK = 256 };
    float  buf[BLOCK];
    double sum = 0.0;
    for (int64_t b = 0; b < n; b += BLOCK) {
        int64_t m = n - b < BLOCK ? n - b : BLOCK;
        loops->exp_shifted_f32(x + b, m, max, buf);
        sum += loops->transform_sum_f32(buf, m, NBI_LANES_PLAIN, 0.0);
    }
    float log_sum = (float)log(sum);
    for (int64_t i = 0; i < n; i++)
        y[i] = (x[i] - max) - log_sum;
}

/* Any line, any stride: the same steps with scalar loops. An all -inf line
 * gives NaN (-inf - -inf), as torch. */
#define DEFINE_SOFTMAX_LINE(suffix, T, EXP)                                                                            \
    static void softmax_line_##suffix(const T *x, T *y, int64_t n, int64_t is, int64_t os, bool log_form)              \
    {                                                                                                                  \
        T    max     = x[0];                                                                                           \
        bool saw_nan = false;                                                                                          \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            T v = x[i * is];                                                                                           \
            saw_nan |= v != v;                                                                                         \
            max = v > max ? v : max;                                                                                   \
        }                                                                                                              \
        if (saw_nan) max = (T)NAN;                                                                                     \
        double sum = 0.0;                                                                                              \
        if (log_form) {                                                                                                \
            for (int64_t i = 0; i < n; i++)                                                                            \
                sum += EXP(x[i * is] - max);                                                                           \
            T log_sum = (T)log(sum);                                                                                   \
            for (int64_t i = 0; i < n; i++)                                                                            \
                y[i * os] = (x[i * is] - max) - log_sum;                                                               \
            return;                                                                                                    \
        }                                                                                                              \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            T e       = EXP(x[i * is] - max);                                                                          \
            y[i * os] = e;                                                                                             \
            sum += e;                                                                                                  \
        }                                                                                                              \
        T scale = (T)(1.0 / sum);                                                                                      \
        for (int64_t i = 0; i < n; i++)                                                                                \
            y[i * os] *= scale;                                                                                        \
    }
DEFINE_SOFTMAX_LINE(f32, float, nbi_expf)
DEFINE_SOFTMAX_LINE(f64, double, exp)
#undef DEFINE_SOFTMAX_LINE

static void softmax_line(const nbi_line_plan *plan, const char *in, char *out, int64_t is, int64_t os, bool log_form)
{
    int64_t n = plan->n;
    if (plan->in_dtype == NB_FLOAT64) {
        softmax_line_f64((const double *)in, (double *)out, n, is, os, log_form);
    } else if (is == 1 && os == 1) {
        softmax_line_f32_contiguous((const float *)in, (float *)out, n, log_form);
    } else {
        softmax_line_f32((const float *)in, (float *)out, n, is, os, log_form);
    }
}

/* ------------------------------------------------------------------------ */
/* Running lines                                                             */
/* ------------------------------------------------------------------------ */

typedef struct {
    const nbi_line_plan *plan;
    nbi_line_op          op;
    int64_t              in_step, out_step; /* the plan's, in elements */
} lines_ctx;

/* Lines [begin, end): byte offsets by an odometer over the other dims. */
static void lines_body(int64_t begin, int64_t end, void *ctx)
{
    const lines_ctx     *c    = ctx;
    const nbi_line_plan *plan = c->plan;
    int64_t              index[NB_MAX_DIMS], in_off = 0, out_off = 0, rest = begin;
    for (int d = plan->nouter - 1; d >= 0; d--) {
        index[d] = rest % plan->outer_size[d];
        rest /= plan->outer_size[d];
        in_off += index[d] * plan->outer_in_stride[d];
        out_off += index[d] * plan->outer_out_stride[d];
    }
    for (int64_t line = begin; line < end; line++) {
        const char *in  = plan->in + in_off;
        char       *out = plan->out + out_off;
        switch (c->op) {
        case NBI_LINE_cumsum: cumsum_line(plan, in, out, c->in_step, c->out_step); break;
        case NBI_LINE_cumprod: cumprod_line(plan, in, out, c->in_step, c->out_step); break;
        case NBI_LINE_cummax:
        case NBI_LINE_cummin:
            /* the positions sit at out's element offset (same layout) */
            cumextreme_line(plan, in, out, plan->indices + out_off / (int64_t)nb_dtype_size(plan->out_dtype),
                            c->in_step, c->out_step, c->op == NBI_LINE_cummax);
            break;
        case NBI_LINE_softmax:
        case NBI_LINE_log_softmax:
            softmax_line(plan, in, out, c->in_step, c->out_step, c->op == NBI_LINE_log_softmax);
            break;
        case NBI_NUM_LINE: break;
        }
        for (int d = plan->nouter - 1; d >= 0; d--) {
            in_off += plan->outer_in_stride[d];
            out_off += plan->outer_out_stride[d];
            if (++index[d] < plan->outer_size[d]) break;
            in_off -= plan->outer_in_stride[d] * plan->outer_size[d];
            out_off -= plan->outer_out_stride[d] * plan->outer_size[d];
            index[d] = 0;
        }
    }
}

/* Softmax over a strided dim whose neighbouring lines are contiguous (the
 * innermost other dim has stride 1 in and out): lines go in tiles of
 * NBI_COLUMN_TILE, side by side. Item = (index of the outer dims but the
 * innermost, tile). */
static bool use_tiles(const nbi_line_plan *plan, nbi_line_op op)
{
    /* softmax keeps the dtype: one item size for in and out */
    int64_t item = (int64_t)nb_dtype_size(plan->in_dtype);
    int     last = plan->nouter - 1;
    return (op == NBI_LINE_softmax || op == NBI_LINE_log_softmax) && plan->in_step != item && last >= 0 && plan->outer_in_stride[last] == item &&
           plan->outer_out_stride[last] == item && plan->outer_size[last] >= 8;
}

static void tiles_body(int64_t begin, int64_t end, void *ctx)
{
    const lines_ctx        *c        = ctx;
    const nbi_line_plan    *plan     = c->plan;
    const nbi_reduce_loops *loops    = nbi_reduce_loops_get();
    int                     last     = plan->nouter - 1;
    int64_t                 width    = plan->outer_size[last];
    int64_t                 tiles    = (width + NBI_COLUMN_TILE - 1) / NBI_COLUMN_TILE;
    size_t                  item     = nb_dtype_size(plan->in_dtype);
    bool                    log_form = c->op == NBI_LINE_log_softmax;
    for (int64_t t = begin; t < end; t++) {
        int64_t outer = t / tiles, first = t % tiles * NBI_COLUMN_TILE, rest = outer;
        int64_t in_off = 0, out_off = 0; /* bytes, of the outer dims but the innermost */
        for (int d = last - 1; d >= 0; d--) {
            int64_t i = rest % plan->outer_size[d];
            rest /= plan->outer_size[d];
            in_off += i * plan->outer_in_stride[d];
            out_off += i * plan->outer_out_stride[d];
        }
        int         w   = (int)(width - first < NBI_COLUMN_TILE ? width - first : NBI_COLUMN_TILE);
        const char *in  = plan->in + in_off + (size_t)first * item;
        char       *out = plan->out + out_off + (size_t)first * item;
        if (plan->in_dtype == NB_FLOAT32)
            loops->softmax_columns_f32((const float *)in, plan->n, c->in_step, (float *)out, c->out_step, w, log_form);
        else
            loops->softmax_columns_f64((const double *)in, plan->n, c->in_step, (double *)out, c->out_step, w,
                                       log_form);
    }
}

void nbi_line_run(const nbi_line_plan *plan, nbi_line_op op)
{
    if (plan->lines == 0 || plan->n == 0) return;
    lines_ctx c = {.plan     = plan,
                   .op       = op,
                   .in_step  = plan->in_step / (int64_t)nb_dtype_size(plan->in_dtype),
                   .out_step = plan->out_step / (int64_t)nb_dtype_size(plan->out_dtype)};
    if (use_tiles(plan, op)) {
        int64_t width = plan->outer_size[plan->nouter - 1];
        int64_t items = plan->lines / width * ((width + NBI_COLUMN_TILE - 1) / NBI_COLUMN_TILE);
        nbi_parallel_for(items, NBI_PARALLEL_GRAIN / (plan->n * NBI_COLUMN_TILE) + 1, tiles_body, &c);
        return;
    }
    nbi_parallel_for(plan->lines, NBI_PARALLEL_GRAIN / plan->n + 1, lines_body, &c);
}
