/*
 * pool_kernels.c — max pooling (with argmax positions), its gradient
 * scatter, and separable window means with their adjoint. Planes are
 * independent, so each kernel spreads planes over threads; within a plane
 * the loops follow torch's CPU kernels (the same windows, the same NaN rule).
 */
#include "pool_kernels.h"

#include <stdlib.h>

/* Planes per thread piece so that a piece touches ~NBI_PARALLEL_GRAIN elements. */
static int64_t plane_grain(int64_t plane_elements)
{
    int64_t grain = NBI_PARALLEL_GRAIN / (plane_elements > 0 ? plane_elements : 1);
    return grain < 1 ? 1 : grain;
}

/* ------------------------------------------------------------------------ */
/* Max pooling                                                               */
/* ------------------------------------------------------------------------ */

typedef struct {
    nb_dtype                  dtype;
    const nbi_max_pool_shape *s;
    const void               *x;
    void                     *y;
    int64_t                  *indices;
    atomic_int               *failed;
} max_pool_job;

/* First valid tap and the end of a window starting at start (may be < 0). */
static void window_range(int64_t start, int64_t kernel, int64_t dilation, int64_t size, int64_t *first, int64_t *end)
{
    int64_t stop = start + (kernel - 1) * dilation + 1;
    if (stop > size) stop = size;
    while (start < 0)
        start += dilation;
    *first = start;
    *end   = stop;
}

/* NOTE: the rule `v > best || isnan(v)` is torch's: scanning a window row
 * by row, a larger value or any NaN takes over, so the first maximum wins a
 * tie, the last NaN wins over everything, and a window of -inf keeps its
 * first valid position. Updates are bit-mask selects, not branches (nor
 * `?:`, which compilers turn back into branches): on random data a branch
 * per element mispredicts half the time, which made the loop 15x slower.
 * U is the unsigned integer as wide as T, so that values and positions sit
 * in lanes of the same width and the selects vectorize. */
#define DEFINE_MAX_POOL(T, U, suffix)                                                                                  \
    /* Any window: one plane, positions as uint64. */                                                                  \
    static void max_pool_plane_##suffix(const nbi_max_pool_shape *s, const T *x, T *y, int64_t *indices)               \
    {                                                                                                                  \
        const int64_t H = s->height, W = s->width, P = s->out_h, Q = s->out_w;                                         \
        for (int64_t p = 0; p < P; p++) {                                                                              \
            int64_t h0, h1;                                                                                            \
            window_range(p * s->stride_h - s->pad_h, s->kernel_h, s->dilation_h, H, &h0, &h1);                         \
            for (int64_t q = 0; q < Q; q++) {                                                                          \
                int64_t w0, w1;                                                                                        \
                window_range(q * s->stride_w - s->pad_w, s->kernel_w, s->dilation_w, W, &w0, &w1);                     \
                T        best = -(T)INFINITY;                                                                          \
                uint64_t at   = (uint64_t)(h0 * W + w0);                                                               \
                for (int64_t h = h0; h < h1; h += s->dilation_h)                                                       \
                    for (int64_t w = w0; w < w1; w += s->dilation_w) {                                                 \
                        T        v = x[h * W + w];                                                                     \
                        U        vb, bb;                                                                               \
                        uint64_t take = (uint64_t)0 - (uint64_t)((v > best) | (v != v));                               \
                        memcpy(&vb, &v, sizeof vb);                                                                    \
                        memcpy(&bb, &best, sizeof bb);                                                                 \
                        bb = (bb & ~(U)take) | (vb & (U)take);                                                         \
                        memcpy(&best, &bb, sizeof bb);                                                                 \
                        at = (at & ~take) | ((uint64_t)(h * W + w) & take);                                            \
                    }                                                                                                  \
                y[p * Q + q]       = best;                                                                             \
                indices[p * Q + q] = (int64_t)at;                                                                      \
            }                                                                                                          \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    /* 2x2 windows, stride 2, no padding (the common case), in two flat passes                                         \
     * over one plane so that neither runs over rows as short as Q:                                                    \
     *   1. down: each column of each row pair, top against bottom, into                                               \
     *      best/at (P x 2Q; at is 0 or W, the offset in the window);                                                  \
     *   2. across: neighbouring columns of best, as one run of P * Q.                                                 \
     * Splitting the scan changes its order, so pass 2 breaks ties by position                                         \
     * to give torch's answer: the earliest maximum, or the latest NaN.                                                \
     * Positions fit U because W < 2^30. Scratch: best, at (2 P Q each), won (P Q). */                                 \
    static void max_pool_2x2_plane_##suffix(const nbi_max_pool_shape *s, const T *x, T *y, int64_t *indices, T *best,  \
                                            U *at, U *won)                                                             \
    {                                                                                                                  \
        const int64_t W = s->width, P = s->out_h, Q = s->out_w, Q2 = 2 * Q;                                            \
        for (int64_t p = 0; p < P; p++) {                                                                              \
            const T *top = x + 2 * p * W, *bottom = top + W;                                                           \
            for (int64_t w = 0; w < Q2; w++) {                                                                         \
                T a = top[w], c = bottom[w];                                                                           \
                U ab, cb, take = (U)0 - (U)((c > a) | (c != c));                                                       \
                memcpy(&ab, &a, sizeof ab);                                                                            \
                memcpy(&cb, &c, sizeof cb);                                                                            \
                ab = (ab & ~take) | (cb & take);                                                                       \
                memcpy(&best[p * Q2 + w], &ab, sizeof ab);                                                             \
                at[p * Q2 + w] = (U)W & take;                                                                          \
            }                                                                                                          \
        }                                                                                                              \
        for (int64_t k = 0; k < P * Q; k++) {                                                                          \
            T left = best[2 * k], right = best[2 * k + 1];                                                             \
            U left_at = at[2 * k], right_at = at[2 * k + 1] + 1;                                                       \
            U lb, rb;                                                                                                  \
            memcpy(&lb, &left, sizeof lb);                                                                             \
            memcpy(&rb, &right, sizeof rb);                                                                            \
            U right_nan = (U)(right != right), left_nan = (U)(left != left);                                           \
            U earlier = (U)(right_at < left_at);                                                                       \
            U take    = (U)0 - ((U)(right > left) | ((U)(right == left) & earlier) |                                   \
                             (right_nan & ((left_nan ^ 1) | (earlier ^ 1))));                                       \
            lb        = (lb & ~take) | (rb & take);                                                                    \
            won[k]    = (left_at & ~take) | (right_at & take);                                                         \
            memcpy(&y[k], &lb, sizeof lb);                                                                             \
        }                                                                                                              \
        for (int64_t p = 0; p < P; p++)                                                                                \
            for (int64_t q = 0; q < Q; q++)                                                                            \
                indices[p * Q + q] = 2 * (p * W + q) + (int64_t)won[p * Q + q];                                        \
    }                                                                                                                  \
                                                                                                                       \
    static void max_pool_##suffix(int64_t begin, int64_t end, void *ctx)                                               \
    {                                                                                                                  \
        const max_pool_job       *job = ctx;                                                                           \
        const nbi_max_pool_shape *s   = job->s;                                                                        \
        const int64_t             H = s->height, W = s->width, P = s->out_h, Q = s->out_w;                             \
        /* Every property the 2x2 path assumes: adjacent taps (dilation 1),                                            \
         * windows that tile the plane from its corner, inside it. */                                                  \
        bool two_by_two = s->kernel_h == 2 && s->kernel_w == 2 && s->stride_h == 2 && s->stride_w == 2 &&              \
                          s->dilation_h == 1 && s->dilation_w == 1 && s->pad_h == 0 && s->pad_w == 0 && 2 * P <= H &&  \
                          2 * Q <= W && W < ((int64_t)1 << 30);                                                        \
        /* Scratch: the pass-1 rows of the 2x2 path, and positions nobody asked for. */                                \
        size_t scratch_bytes =                                                                                         \
            (size_t)(P * Q) * sizeof(int64_t) + (two_by_two ? (size_t)(P * Q) * (2 * sizeof(T) + 3 * sizeof(U)) : 0);  \
        char *scratch = malloc(scratch_bytes);                                                                         \
        if (scratch == NULL) {                                                                                         \
            atomic_store(job->failed, 1);                                                                              \
            return;                                                                                                    \
        }                                                                                                              \
        T *best = (T *)(scratch + (size_t)(P * Q) * sizeof(int64_t));                                                  \
        U *at = (U *)(best + 2 * P * Q), *won = at + 2 * P * Q;                                                        \
        for (int64_t plane = begin; plane < end; plane++) {                                                            \
            const T *x       = (const T *)job->x + plane * H * W;                                                      \
            T       *y       = (T *)job->y + plane * P * Q;                                                            \
            int64_t *indices = job->indices ? job->indices + plane * P * Q : (int64_t *)scratch;                       \
            if (two_by_two)                                                                                            \
                max_pool_2x2_plane_##suffix(s, x, y, indices, best, at, won);                                          \
            else                                                                                                       \
                max_pool_plane_##suffix(s, x, y, indices);                                                             \
        }                                                                                                              \
        free(scratch);                                                                                                 \
    }

DEFINE_MAX_POOL(float, uint32_t, f32)
DEFINE_MAX_POOL(double, uint64_t, f64)
#undef DEFINE_MAX_POOL

void nbi_max_pool2d_reference_f64(const nbi_max_pool_shape *s, const double *x, double *y, int64_t *indices)
{
    const int64_t H = s->height, W = s->width, P = s->out_h, Q = s->out_w;
    for (int64_t plane = 0; plane < s->planes; plane++, x += H * W, y += P * Q, indices += P * Q)
        for (int64_t p = 0; p < P; p++)
            for (int64_t q = 0; q < Q; q++) {
                int64_t h0 = p * s->stride_h - s->pad_h, w0 = q * s->stride_w - s->pad_w;
                int64_t h1 = h0 + (s->kernel_h - 1) * s->dilation_h + 1,
                        w1 = w0 + (s->kernel_w - 1) * s->dilation_w + 1;
                if (h1 > H) h1 = H;
                if (w1 > W) w1 = W;
                while (h0 < 0)
                    h0 += s->dilation_h;
                while (w0 < 0)
                    w0 += s->dilation_w;
                double  best = -INFINITY;
                int64_t at   = h0 * W + w0;
                for (int64_t h = h0; h < h1; h += s->dilation_h)
                    for (int64_t w = w0; w < w1; w += s->dilation_w)
                        if (x[h * W + w] > best || isnan(x[h * W + w])) {
                            best = x[h * W + w];
                            at   = h * W + w;
                        }
                y[p * Q + q]       = best;
                indices[p * Q + q] = at;
            }
}

nb_status nbi_max_pool2d(nb_dtype dtype, const nbi_max_pool_shape *s, const void *x, void *y, int64_t *indices)
{
    atomic_int failed;
    atomic_init(&failed, 0);
    max_pool_job job = {.dtype = dtype, .s = s, .x = x, .y = y, .indices = indices, .failed = &failed};
    nbi_parallel_for(s->planes, plane_grain(s->height * s->width), dtype == NB_FLOAT32 ? max_pool_f32 : max_pool_f64,
                     &job);
    return atomic_load(&failed) ? nbi_fail_status(NB_ERR_OOM, "out of memory") : NB_OK;
}

typedef struct {
    int64_t        count, plane_size;
    const void    *g;
    const int64_t *indices;
    void          *x;
} unpool_job;

#define DEFINE_UNPOOL(T, suffix)                                                                                       \
    static void unpool_##suffix(int64_t begin, int64_t end, void *ctx)                                                 \
    {                                                                                                                  \
        const unpool_job *job = ctx;                                                                                   \
        for (int64_t plane = begin; plane < end; plane++) {                                                            \
            T             *x       = (T *)job->x + plane * job->plane_size;                                            \
            const T       *g       = (const T *)job->g + plane * job->count;                                           \
            const int64_t *indices = job->indices + plane * job->count;                                                \
            for (int64_t i = 0; i < job->plane_size; i++)                                                              \
                x[i] = 0;                                                                                              \
            for (int64_t i = 0; i < job->count; i++)                                                                   \
                if ((uint64_t)indices[i] < (uint64_t)job->plane_size) x[indices[i]] += g[i];                           \
        }                                                                                                              \
    }

DEFINE_UNPOOL(float, f32)
DEFINE_UNPOOL(double, f64)
#undef DEFINE_UNPOOL

void nbi_max_unpool(nb_dtype dtype, const nbi_max_pool_shape *s, const void *g, const int64_t *indices, void *x)
{
    int64_t    count = s->out_h * s->out_w, plane_size = s->height * s->width;
    unpool_job job   = {.count = count, .plane_size = plane_size, .g = g, .indices = indices, .x = x};
    nbi_parallel_for(s->planes, plane_grain(plane_size + count), dtype == NB_FLOAT32 ? unpool_f32 : unpool_f64, &job);
}

/* ------------------------------------------------------------------------ */
/* Window means                                                              */
/* ------------------------------------------------------------------------ */

/* The windows of a call tabulated (nbi_window_bounds) once for all planes:
 * output (p, q) averages rows [row_start[p], row_end[p]) and columns
 * [col_start[q], col_end[q]) and divides the sum by row_div[p] *
 * col_div[q]; an empty window gives 0. */
typedef struct {
    int64_t  planes, height, width, out_h, out_w;
    int64_t *row_start, *row_end, *row_div; /* out_h each */
    int64_t *col_start, *col_end, *col_div; /* out_w each */
} window_tables;

typedef struct {
    const window_tables *t;
    const void              *in;
    void                    *out;
} window_job;

#define DEFINE_WINDOW_MEAN(T, suffix)                                                                                  \
    static void window_mean_##suffix(int64_t begin, int64_t end, void *ctx)                                            \
    {                                                                                                                  \
        const window_job        *job = ctx;                                                                            \
        const window_tables *t   = job->t;                                                                         \
        const int64_t            W = t->width, P = t->out_h, Q = t->out_w;                                             \
        for (int64_t plane = begin; plane < end; plane++) {                                                            \
            const T *x = (const T *)job->in + plane * t->height * W;                                                   \
            T       *y = (T *)job->out + plane * P * Q;                                                                \
            for (int64_t p = 0; p < P; p++)                                                                            \
                for (int64_t q = 0; q < Q; q++) {                                                                      \
                    T sum = 0;                                                                                         \
                    for (int64_t h = t->row_start[p]; h < t->row_end[p]; h++)                                          \
                        for (int64_t w = t->col_start[q]; w < t->col_end[q]; w++)                                      \
                            sum += x[h * W + w];                                                                       \
                    int64_t divisor = t->row_div[p] * t->col_div[q];                                                   \
                    bool    empty   = t->row_start[p] >= t->row_end[p] || t->col_start[q] >= t->col_end[q];            \
                    y[p * Q + q]    = empty ? (T)0 : sum / (T)divisor;                                                 \
                }                                                                                                      \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    static void window_adjoint_##suffix(int64_t begin, int64_t end, void *ctx)                                         \
    {                                                                                                                  \
        const window_job        *job = ctx;                                                                            \
        const window_tables *t   = job->t;                                                                         \
        const int64_t            W = t->width, P = t->out_h, Q = t->out_w;                                             \
        for (int64_t plane = begin; plane < end; plane++) {                                                            \
            const T *y = (const T *)job->in + plane * P * Q;                                                           \
            T       *x = (T *)job->out + plane * t->height * W;                                                        \
            for (int64_t i = 0; i < t->height * W; i++)                                                                \
                x[i] = 0;                                                                                              \
            for (int64_t p = 0; p < P; p++)                                                                            \
                for (int64_t q = 0; q < Q; q++) {                                                                      \
                    int64_t divisor = t->row_div[p] * t->col_div[q];                                                   \
                    if (divisor == 0) continue;                                                                        \
                    T share = y[p * Q + q] / (T)divisor;                                                               \
                    for (int64_t h = t->row_start[p]; h < t->row_end[p]; h++)                                          \
                        for (int64_t w = t->col_start[q]; w < t->col_end[q]; w++)                                      \
                            x[h * W + w] += share;                                                                     \
                }                                                                                                      \
        }                                                                                                              \
    }

DEFINE_WINDOW_MEAN(float, f32)
DEFINE_WINDOW_MEAN(double, f64)
#undef DEFINE_WINDOW_MEAN

/* The tables of shape in one allocation (free(tables->row_start)); false
 * when there is no room. */
static bool window_tables_of(const nbi_mean_pool_shape *shape, window_tables *t)
{
    const nbi_window_spec *spec  = &shape->spec;
    int64_t               *table = malloc((size_t)(3 * (spec->out_h + spec->out_w) + 1) * sizeof(int64_t));
    if (table == NULL) return false;
    int64_t *r = table, *c = table + 3 * spec->out_h;
    *t         = (window_tables){
                .planes    = shape->planes,
                .height    = spec->height,
                .width     = spec->width,
                .out_h     = spec->out_h,
                .out_w     = spec->out_w,
                .row_start = r,
                .row_end   = r + spec->out_h,
                .row_div   = r + 2 * spec->out_h,
                .col_start = c,
                .col_end   = c + spec->out_w,
                .col_div   = c + 2 * spec->out_w,
    };
    for (int64_t o = 0; o < spec->out_h; o++)
        nbi_window_bounds(spec, 0, o, &t->row_start[o], &t->row_end[o], &t->row_div[o]);
    for (int64_t o = 0; o < spec->out_w; o++)
        nbi_window_bounds(spec, 1, o, &t->col_start[o], &t->col_end[o], &t->col_div[o]);
    return true;
}

/* in to out by body over the planes of shape. */
static nb_status run_windows(const nbi_mean_pool_shape *shape, nbi_range_fn body, const void *in, void *out)
{
    window_tables t;
    if (!window_tables_of(shape, &t)) return nbi_fail_status(NB_ERR_OOM, "out of memory for the window tables");
    window_job job = {.t = &t, .in = in, .out = out};
    nbi_parallel_for(t.planes, plane_grain(t.height * t.width + t.out_h * t.out_w), body, &job);
    free(t.row_start);
    return NB_OK;
}

nb_status nbi_window_mean(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *x, void *y)
{
    return run_windows(shape, dtype == NB_FLOAT32 ? window_mean_f32 : window_mean_f64, x, y);
}

nb_status nbi_window_mean_adjoint(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *y, void *x)
{
    return run_windows(shape, dtype == NB_FLOAT32 ? window_adjoint_f32 : window_adjoint_f64, y, x);
}
