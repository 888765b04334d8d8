/*
 * norm_kernels.c — batch normalisation's loops (see norm_kernels.h).
 *
 * Statistics and gradient sums run over channels in parallel, each channel
 * by one thread; the elementwise passes run over (sample, channel) planes.
 * A plane's sum is taken in LANES independent accumulators of the element
 * type (the compiler vectorizes them; a single accumulator would be a
 * serial chain) and the lanes are then added in double, plane after plane.
 * With S == 1 (batch norm over (N, C)) there are no planes: channels are
 * summed side by side, row after row, in double.
 */
#include "norm_kernels.h"

enum { LANES = 16 };

/* Channels per thread piece: enough values (~32k) to pay for a wake-up. */
static int64_t channel_grain(const nbi_bn_shape *s)
{
    int64_t per_channel = s->batch * s->spatial;
    return NBI_PARALLEL_GRAIN / (per_channel > 0 ? per_channel : 1) + 1;
}

/* The forward's x * scale + shift, one expression used by the forward and
 * by the relu mask of the backward, so both round (or contract) alike:
 * the mask must find exactly the elements the forward's relu zeroed. */
#define affine(x, scale, shift) ((x) * (scale) + (shift))

/* One definition per element type; T is float or double. */
#define DEFINE_PLANE_LOOPS(T, suffix)                                                                                  \
    /* g where the fused relu passed it, else 0 (nb_relu's rule: 0 where                                               \
     * its input is <= 0, so NaN passes). NOTE: written as two selects of                                              \
     * values: gcc (12) vectorizes that in the 16-lane sums, while one                                                 \
     * select whose test is a compare kept 16 scalar compares there. */                                                \
    static inline T masked_g_##suffix(T x, T g, T scale, T shift)                                                      \
    {                                                                                                                  \
        T keep = affine(x, scale, shift) <= 0 ? (T)0 : (T)1;                                                           \
        return keep == 0 ? (T)0 : g;                                                                                   \
    }                                                                                                                  \
                                                                                                                       \
    /* The sum of (x[i] - shift) over a plane. */                                                                      \
    static double plane_sum_##suffix(const T *x, int64_t n, T shift)                                                   \
    {                                                                                                                  \
        T       lane[LANES] = { 0 };                                                                                   \
        int64_t i           = 0;                                                                                       \
        for (; i + LANES <= n; i += LANES)                                                                             \
            for (int l = 0; l < LANES; l++)                                                                            \
                lane[l] += x[i + l] - shift;                                                                           \
        double sum = 0;                                                                                                \
        for (int l = 0; l < LANES; l++)                                                                                \
            sum += lane[l];                                                                                            \
        for (; i < n; i++)                                                                                             \
            sum += x[i] - shift;                                                                                       \
        return sum;                                                                                                    \
    }                                                                                                                  \
                                                                                                                       \
    /* The sum of (x[i] - mean)^2 over a plane. */                                                                     \
    static double plane_squares_##suffix(const T *x, int64_t n, T mean)                                                \
    {                                                                                                                  \
        T       lane[LANES] = { 0 };                                                                                   \
        int64_t i           = 0;                                                                                       \
        for (; i + LANES <= n; i += LANES)                                                                             \
            for (int l = 0; l < LANES; l++) {                                                                          \
                T d = x[i + l] - mean;                                                                                 \
                lane[l] += d * d;                                                                                      \
            }                                                                                                          \
        double sum = 0;                                                                                                \
        for (int l = 0; l < LANES; l++)                                                                                \
            sum += lane[l];                                                                                            \
        for (; i < n; i++)                                                                                             \
            sum += ((double)x[i] - mean) * ((double)x[i] - mean);                                                      \
        return sum;                                                                                                    \
    }                                                                                                                  \
                                                                                                                       \
    /* The sums of g and of g * (x - mean) over a plane; with masked, g                                                \
     * counts only where the fused relu passed (masked_g). */                                                          \
    static NBI_ALWAYS_INLINE void plane_grad_sums_##suffix(const T *x, const T *g, int64_t n, T mean, bool masked,     \
                                                          T scale, T shift, double *sum_g, double *sum_gx)             \
    {                                                                                                                  \
        T       lane_g[LANES] = { 0 }, lane_gx[LANES] = { 0 };                                                         \
        int64_t i             = 0;                                                                                     \
        if (masked)                                                                                                    \
            for (; i + LANES <= n; i += LANES)                                                                         \
                for (int l = 0; l < LANES; l++) {                                                                      \
                    T gm = masked_g_##suffix(x[i + l], g[i + l], scale, shift);                                        \
                    lane_g[l] += gm;                                                                                   \
                    lane_gx[l] += gm * (x[i + l] - mean);                                                              \
                }                                                                                                      \
        else                                                                                                           \
            for (; i + LANES <= n; i += LANES)                                                                         \
                for (int l = 0; l < LANES; l++) {                                                                      \
                    lane_g[l] += g[i + l];                                                                             \
                    lane_gx[l] += g[i + l] * (x[i + l] - mean);                                                        \
                }                                                                                                      \
        double sg = 0, sgx = 0;                                                                                        \
        for (int l = 0; l < LANES; l++) {                                                                              \
            sg += lane_g[l];                                                                                           \
            sgx += lane_gx[l];                                                                                         \
        }                                                                                                              \
        for (; i < n; i++) {                                                                                           \
            T gm = masked ? masked_g_##suffix(x[i], g[i], scale, shift) : g[i];                                        \
            sg += gm;                                                                                                  \
            sgx += (double)gm * ((double)x[i] - mean);                                                                 \
        }                                                                                                              \
        *sum_g += sg;                                                                                                  \
        *sum_gx += sgx;                                                                                                \
    }                                                                                                                  \
                                                                                                                       \
    /* out = a g + b x + c over a plane (no g: b x + c; no x term: a g), then                                          \
     * relu or the relu mask on g. */                                                                                  \
    static NBI_ALWAYS_INLINE void plane_affine_##suffix(const T *x, const T *g, int64_t n, T a, T b, T c, bool x_term, \
                                                       bool relu, T mask_scale, T mask_shift, T *out)                  \
    {                                                                                                                  \
        if (g == NULL && relu)                                                                                         \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                T y    = affine(x[i], b, c);                                                                           \
                out[i] = y < 0 ? (T)0 : y;                                                                             \
            }                                                                                                          \
        else if (g == NULL)                                                                                            \
            for (int64_t i = 0; i < n; i++)                                                                            \
                out[i] = affine(x[i], b, c);                                                                           \
        else if (relu && !x_term)                                                                                      \
            for (int64_t i = 0; i < n; i++)                                                                            \
                out[i] = a * masked_g_##suffix(x[i], g[i], mask_scale, mask_shift);                                    \
        else if (relu)                                                                                                 \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                out[i] = a * masked_g_##suffix(x[i], g[i], mask_scale, mask_shift) + b * x[i] + c;                     \
            }                                                                                                          \
        else if (!x_term)                                                                                              \
            for (int64_t i = 0; i < n; i++)                                                                            \
                out[i] = a * g[i];                                                                                     \
        else                                                                                                           \
            for (int64_t i = 0; i < n; i++)                                                                            \
                out[i] = a * g[i] + b * x[i] + c;                                                                      \
    }

DEFINE_PLANE_LOOPS(float, f32)
DEFINE_PLANE_LOOPS(double, f64)

static double load(const void *p, nb_dtype dtype, int64_t i)
{
    return dtype == NB_FLOAT32 ? ((const float *)p)[i] : ((const double *)p)[i];
}

/* ------------------------------------------------------------------------ */
/* Statistics                                                                */
/* ------------------------------------------------------------------------ */

typedef struct {
    const nbi_bn_shape *s;
    const void         *x, *g;
    const nbi_bn_relu  *relu; /* grad sums: the fused relu's mask, or NULL */
    const double       *mean;
    double             *out0, *out1; /* stats: mean, var; grad sums: sum_g, sum_gx */
} channel_job;

/* Channels [begin, end) of every sample lie side by side: the loops walk
 * samples outside and channels inside, so memory is read in order (a
 * channel-outer walk jumps C*S values at every plane and ran ~2x slower on
 * the CNN's (128, 32, 28, 28)); each channel still adds its planes in
 * sample order, so the sums do not depend on the split. */
static void stats_channels(int64_t begin, int64_t end, void *ctx)
{
    const channel_job  *job = ctx;
    const nbi_bn_shape *s   = job->s;
    const int64_t       C = s->channels, S = s->spatial, count = s->batch * S;
    for (int64_t c = begin; c < end; c++)
        job->out0[c] = job->out1[c] = 0;
    for (int64_t n = 0; n < s->batch; n++) /* pass 1: the mean */
        for (int64_t c = begin; c < end; c++) {
            int64_t at = (n * C + c) * S;
            job->out0[c] += s->dtype == NB_FLOAT32 ? plane_sum_f32((const float *)job->x + at, S, 0)
                                                   : plane_sum_f64((const double *)job->x + at, S, 0);
        }
    for (int64_t c = begin; c < end; c++)
        job->out0[c] = count > 0 ? job->out0[c] / (double)count : NAN;
    for (int64_t n = 0; n < s->batch; n++) /* pass 2: squared deviations */
        for (int64_t c = begin; c < end; c++) {
            int64_t at = (n * C + c) * S;
            job->out1[c] += s->dtype == NB_FLOAT32
                                ? plane_squares_f32((const float *)job->x + at, S, (float)job->out0[c])
                                : plane_squares_f64((const double *)job->x + at, S, job->out0[c]);
        }
    for (int64_t c = begin; c < end; c++)
        job->out1[c] = count > 0 ? job->out1[c] / (double)count : NAN;
}

/* S == 1: the channels of rows [0, N) side by side. */
static void stats_columns(int64_t begin, int64_t end, void *ctx)
{
    const channel_job  *job = ctx;
    const nbi_bn_shape *s   = job->s;
    const int64_t       C = s->channels, N = s->batch;
    for (int64_t c = begin; c < end; c++)
        job->out0[c] = job->out1[c] = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = begin; c < end; c++)
            job->out0[c] += load(job->x, s->dtype, n * C + c);
    for (int64_t c = begin; c < end; c++)
        job->out0[c] = N > 0 ? job->out0[c] / (double)N : NAN;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = begin; c < end; c++) {
            double d = load(job->x, s->dtype, n * C + c) - job->out0[c];
            job->out1[c] += d * d;
        }
    for (int64_t c = begin; c < end; c++)
        job->out1[c] = N > 0 ? job->out1[c] / (double)N : NAN;
}

void nbi_bn_stats(const nbi_bn_shape *s, const void *x, double *mean, double *var)
{
    channel_job job = { .s = s, .x = x, .out0 = mean, .out1 = var };
    nbi_parallel_for(s->channels, channel_grain(s), s->spatial == 1 ? stats_columns : stats_channels, &job);
}

/* ------------------------------------------------------------------------ */
/* Gradient sums                                                             */
/* ------------------------------------------------------------------------ */

/* Whether the fused relu passed element i of channel c (always, without
 * one), computed in x's dtype as the forward computed it. */
static bool relu_passed(const nbi_bn_relu *relu, nb_dtype dtype, const void *x, int64_t i, int64_t c)
{
    if (relu == NULL) return true;
    if (dtype == NB_FLOAT32)
        return !(affine(((const float *)x)[i], (float)relu->scale[c], (float)relu->shift[c]) <= 0);
    return !(affine(((const double *)x)[i], relu->scale[c], relu->shift[c]) <= 0);
}

/* In memory order, as stats_channels. */
static void grad_sums_channels(int64_t begin, int64_t end, void *ctx)
{
    const channel_job  *job  = ctx;
    const nbi_bn_shape *s    = job->s;
    const nbi_bn_relu  *relu = job->relu;
    const int64_t       C = s->channels, S = s->spatial;
    for (int64_t c = begin; c < end; c++)
        job->out0[c] = job->out1[c] = 0;
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t c = begin; c < end; c++) {
            int64_t at = (n * C + c) * S;
            if (s->dtype == NB_FLOAT32) {
                const float *x = (const float *)job->x + at, *g = (const float *)job->g + at;
                float        mean = (float)job->mean[c];
                if (relu)
                    plane_grad_sums_f32(x, g, S, mean, true, (float)relu->scale[c], (float)relu->shift[c],
                                        &job->out0[c], &job->out1[c]);
                else
                    plane_grad_sums_f32(x, g, S, mean, false, 0, 0, &job->out0[c], &job->out1[c]);
            } else {
                const double *x = (const double *)job->x + at, *g = (const double *)job->g + at;
                if (relu)
                    plane_grad_sums_f64(x, g, S, job->mean[c], true, relu->scale[c], relu->shift[c], &job->out0[c],
                                        &job->out1[c]);
                else
                    plane_grad_sums_f64(x, g, S, job->mean[c], false, 0, 0, &job->out0[c], &job->out1[c]);
            }
        }
}

static void grad_sums_columns(int64_t begin, int64_t end, void *ctx)
{
    const channel_job  *job = ctx;
    const nbi_bn_shape *s   = job->s;
    const int64_t       C   = s->channels;
    for (int64_t c = begin; c < end; c++)
        job->out0[c] = job->out1[c] = 0;
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t c = begin; c < end; c++) {
            int64_t i = n * C + c;
            double  g = relu_passed(job->relu, s->dtype, job->x, i, c) ? load(job->g, s->dtype, i) : 0;
            job->out0[c] += g;
            job->out1[c] += g * (load(job->x, s->dtype, i) - job->mean[c]);
        }
}

void nbi_bn_grad_sums(const nbi_bn_shape *s, const void *x, const void *g, const nbi_bn_relu *relu,
                      const double *mean, double *sum_g, double *sum_gx)
{
    channel_job job = { .s = s, .x = x, .g = g, .relu = relu, .mean = mean, .out0 = sum_g, .out1 = sum_gx };
    nbi_parallel_for(s->channels, channel_grain(s), s->spatial == 1 ? grad_sums_columns : grad_sums_channels, &job);
}

/* ------------------------------------------------------------------------ */
/* Elementwise passes                                                        */
/* ------------------------------------------------------------------------ */

typedef struct {
    const nbi_bn_shape *s;
    const void         *x, *g;
    const double       *a, *b, *c; /* out = a * g + b * x + c; affine: g unused, a NULL; b, c NULL: a * g */
    bool                relu;      /* affine: clamp at 0 */
    const nbi_bn_relu  *mask;      /* gradient: g where the forward's relu passed */
    void               *out;
} plane_job;

/* Items are (sample, channel) planes; with S == 1 each item is a row. */
static void planes_body(int64_t begin, int64_t end, void *ctx)
{
    const plane_job    *job = ctx;
    const nbi_bn_shape *s   = job->s;
    const int64_t       C   = s->channels;
    const bool          row = s->spatial == 1, relu = job->relu || job->mask != NULL;
    for (int64_t item = begin; item < end; item++) {
        int64_t first = row ? 0 : item % C, count = row ? C : 1;
        int64_t S = row ? 1 : s->spatial, at = row ? item * C : item * S;
        for (int64_t k = 0; k < count; k++) {
            int64_t ch = first + k, base = at + k * S;
            bool    x_term = job->b != NULL; /* NULL: the gradient's eval form, a * g */
            double  a = job->a ? job->a[ch] : 0, b = x_term ? job->b[ch] : 0, c = x_term ? job->c[ch] : 0;
            double  ms = job->mask ? job->mask->scale[ch] : 0, mt = job->mask ? job->mask->shift[ch] : 0;
            if (s->dtype == NB_FLOAT32)
                plane_affine_f32((const float *)job->x + base, job->a ? (const float *)job->g + base : NULL, S,
                                 (float)a, (float)b, (float)c, x_term, relu, (float)ms, (float)mt,
                                 (float *)job->out + base);
            else
                plane_affine_f64((const double *)job->x + base, job->a ? (const double *)job->g + base : NULL, S, a,
                                 b, c, x_term, relu, ms, mt, (double *)job->out + base);
        }
    }
}

static void run_planes(plane_job *job)
{
    const nbi_bn_shape *s     = job->s;
    bool                row   = s->spatial == 1;
    int64_t             items = row ? s->batch : s->batch * s->channels;
    int64_t             size  = row ? s->channels : s->spatial;
    nbi_parallel_for(items, NBI_PARALLEL_GRAIN / (size > 0 ? size : 1) + 1, planes_body, job);
}

void nbi_bn_affine(const nbi_bn_shape *s, const void *x, const double *scale, const double *shift, bool relu, void *y)
{
    plane_job job = { .s = s, .x = x, .b = scale, .c = shift, .relu = relu, .out = y };
    run_planes(&job);
}

void nbi_bn_grad_input(const nbi_bn_shape *s, const void *x, const void *g, const nbi_bn_relu *relu, const double *a,
                       const double *b, const double *c, void *dx)
{
    plane_job job = { .s = s, .x = x, .g = g, .mask = relu, .a = a, .b = b, .c = c, .out = dx };
    run_planes(&job);
}
