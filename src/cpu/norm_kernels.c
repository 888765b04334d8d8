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

/* One definition per element type; T is float or double. */
#define DEFINE_PLANE_LOOPS(T, suffix)                                                                                  \
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
    /* The sums of g and of g * (x - mean) over a plane. */                                                            \
    static void plane_grad_sums_##suffix(const T *x, const T *g, int64_t n, T mean, double *sum_g, double *sum_gx)     \
    {                                                                                                                  \
        T       lane_g[LANES] = { 0 }, lane_gx[LANES] = { 0 };                                                         \
        int64_t i             = 0;                                                                                     \
        for (; i + LANES <= n; i += LANES)                                                                             \
            for (int l = 0; l < LANES; l++) {                                                                          \
                lane_g[l] += g[i + l];                                                                                 \
                lane_gx[l] += g[i + l] * (x[i + l] - mean);                                                            \
            }                                                                                                          \
        double sg = 0, sgx = 0;                                                                                        \
        for (int l = 0; l < LANES; l++) {                                                                              \
            sg += lane_g[l];                                                                                           \
            sgx += lane_gx[l];                                                                                         \
        }                                                                                                              \
        for (; i < n; i++) {                                                                                           \
            sg += g[i];                                                                                                \
            sgx += (double)g[i] * ((double)x[i] - mean);                                                               \
        }                                                                                                              \
        *sum_g += sg;                                                                                                  \
        *sum_gx += sgx;                                                                                                \
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
    const double       *mean;
    double             *out0, *out1; /* stats: mean, var; grad sums: sum_g, sum_gx */
} channel_job;

static void stats_channels(int64_t begin, int64_t end, void *ctx)
{
    const channel_job  *job = ctx;
    const nbi_bn_shape *s   = job->s;
    const int64_t       C = s->channels, S = s->spatial, count = s->batch * S;
    for (int64_t c = begin; c < end; c++) {
        double sum = 0, squares = 0;
        for (int64_t n = 0; n < s->batch; n++) { /* pass 1: the mean */
            int64_t at = (n * C + c) * S;
            sum += s->dtype == NB_FLOAT32 ? plane_sum_f32((const float *)job->x + at, S, 0)
                                          : plane_sum_f64((const double *)job->x + at, S, 0);
        }
        double mean = count > 0 ? sum / (double)count : NAN;
        for (int64_t n = 0; n < s->batch; n++) { /* pass 2: squared deviations */
            int64_t at = (n * C + c) * S;
            squares += s->dtype == NB_FLOAT32 ? plane_squares_f32((const float *)job->x + at, S, (float)mean)
                                              : plane_squares_f64((const double *)job->x + at, S, mean);
        }
        job->out0[c] = mean;
        job->out1[c] = count > 0 ? squares / (double)count : NAN;
    }
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

static void grad_sums_channels(int64_t begin, int64_t end, void *ctx)
{
    const channel_job  *job = ctx;
    const nbi_bn_shape *s   = job->s;
    const int64_t       C = s->channels, S = s->spatial;
    for (int64_t c = begin; c < end; c++) {
        double sum_g = 0, sum_gx = 0;
        for (int64_t n = 0; n < s->batch; n++) {
            int64_t at = (n * C + c) * S;
            if (s->dtype == NB_FLOAT32)
                plane_grad_sums_f32((const float *)job->x + at, (const float *)job->g + at, S, (float)job->mean[c],
                                    &sum_g, &sum_gx);
            else
                plane_grad_sums_f64((const double *)job->x + at, (const double *)job->g + at, S, job->mean[c], &sum_g,
                                    &sum_gx);
        }
        job->out0[c] = sum_g;
        job->out1[c] = sum_gx;
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
            double g = load(job->g, s->dtype, n * C + c);
            job->out0[c] += g;
            job->out1[c] += g * (load(job->x, s->dtype, n * C + c) - job->mean[c]);
        }
}

void nbi_bn_grad_sums(const nbi_bn_shape *s, const void *x, const void *g, const double *mean, double *sum_g,
                      double *sum_gx)
{
    channel_job job = { .s = s, .x = x, .g = g, .mean = mean, .out0 = sum_g, .out1 = sum_gx };
    nbi_parallel_for(s->channels, channel_grain(s), s->spatial == 1 ? grad_sums_columns : grad_sums_channels, &job);
}

/* ------------------------------------------------------------------------ */
/* Elementwise passes                                                        */
/* ------------------------------------------------------------------------ */

typedef struct {
    const nbi_bn_shape *s;
    const void         *x, *g;
    const double       *a, *b, *c; /* out = a * g + b * x + c; affine: g unused, a NULL */
    void               *out;
} plane_job;

/* Items are (sample, channel) planes; with S == 1 each item is a row. */
static void planes_body(int64_t begin, int64_t end, void *ctx)
{
    const plane_job    *job = ctx;
    const nbi_bn_shape *s   = job->s;
    const int64_t       C   = s->channels;
    const bool          row = s->spatial == 1;
    for (int64_t item = begin; item < end; item++) {
        int64_t first = row ? 0 : item % C, count = row ? C : 1;
        int64_t S = row ? 1 : s->spatial, at = row ? item * C : item * S;
        for (int64_t k = 0; k < count; k++) {
            int64_t ch = first + k, base = at + k * S;
            double  a = job->a ? job->a[ch] : 0, b = job->b[ch], c = job->c[ch];
            if (s->dtype == NB_FLOAT32) {
                const float *x = (const float *)job->x + base, *g = job->a ? (const float *)job->g + base : NULL;
                float       *o = (float *)job->out + base;
                float        fa = (float)a, fb = (float)b, fc = (float)c;
                if (g)
                    for (int64_t i = 0; i < S; i++)
                        o[i] = fa * g[i] + fb * x[i] + fc;
                else
                    for (int64_t i = 0; i < S; i++)
                        o[i] = fb * x[i] + fc;
            } else {
                const double *x = (const double *)job->x + base, *g = job->a ? (const double *)job->g + base : NULL;
                double       *o = (double *)job->out + base;
                if (g)
                    for (int64_t i = 0; i < S; i++)
                        o[i] = a * g[i] + b * x[i] + c;
                else
                    for (int64_t i = 0; i < S; i++)
                        o[i] = b * x[i] + c;
            }
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

void nbi_bn_affine(const nbi_bn_shape *s, const void *x, const double *scale, const double *shift, void *y)
{
    plane_job job = { .s = s, .x = x, .b = scale, .c = shift, .out = y };
    run_planes(&job);
}

void nbi_bn_grad_input(const nbi_bn_shape *s, const void *x, const void *g, const double *a, const double *b,
                       const double *c, void *dx)
{
    plane_job job = { .s = s, .x = x, .g = g, .a = a, .b = b, .c = c, .out = dx };
    run_planes(&job);
}
