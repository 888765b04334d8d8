/*
 * pool.c — nb_max_pool2d, nb_avg_pool2d, nb_adaptive_avg_pool2d: torch's
 * checks and output sizes, and the primitives behind them (kernels in
 * src/cpu/pool_kernels.c, gradients in autograd/pool_derivatives.c).
 *
 * Inputs are (N, C, H, W) or (C, H, W); every leading index is one H x W
 * plane, so the unbatched form needs no reshaping. Both averages are one
 * primitive, a mean over separable windows (nbi_window_spec), with its
 * adjoint as gradient; max pooling keeps the argmax positions and its
 * gradient adds g back at them (max_unpool, whose gradient is a gather).
 */
#include "autograd/nn_derivatives.h"
#include "cpu/pool_kernels.h"

#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                            */
/* ------------------------------------------------------------------------ */

/* A contiguous copy (or handle) of t made without recording. */
static nb_tensor *contiguous_data(const nb_tensor *t)
{
    nbi_grad_mode_push(false);
    nb_tensor *c = nb_contiguous(t);
    nbi_grad_mode_pop();
    return c;
}

/* A new tensor of t's leading dims followed by (h, w). */
static nb_tensor *planes_like(const nb_tensor *t, int64_t h, int64_t w, nb_dtype dtype)
{
    int64_t shape[NB_MAX_DIMS];
    for (int d = 0; d < t->ndim - 2; d++)
        shape[d] = t->shape[d];
    shape[t->ndim - 2] = h;
    shape[t->ndim - 1] = w;
    return nbi_empty(t->ndim, shape, dtype, t->storage->device);
}

static int64_t plane_count(const nb_tensor *t)
{
    int64_t planes = 1;
    for (int d = 0; d < t->ndim - 2; d++)
        planes *= t->shape[d];
    return planes;
}

/* x: a floating CPU tensor of 3 or 4 dims whose last nonempty dims have
 * sizes above zero (torch lets only the batch dim be empty). */
static bool check_input(const nb_tensor *x, const char *op, int nonempty)
{
    if (!nbi_check_tensor(x, op, "x")) return false;
    if (x->storage->device.type != NB_CPU)
        return nbi_fail(NB_ERR_DEVICE, "%s: x is on a device this build cannot run (only the CPU is)", op) != NULL;
    if (!nb_dtype_is_floating(x->dtype))
        return nbi_fail(NB_ERR_DTYPE, "%s: expected a floating x, got %s", op, nb_dtype_name(x->dtype)) != NULL;
    char xs[NBI_SHAPE_STR_SIZE];
    nbi_shape_str(x->ndim, x->shape, xs, sizeof xs);
    if (x->ndim != 4 && x->ndim != 3)
        return nbi_fail(NB_ERR_SHAPE, "%s: expected input with 4 dims (N, C, H, W) or 3, got shape %s", op, xs) != NULL;
    for (int d = x->ndim - nonempty; d < x->ndim; d++)
        if (x->shape[d] == 0)
            return nbi_fail(NB_ERR_SHAPE, "%s: expected non-zero %s, got shape %s", op,
                            nonempty == 3 ? "C, H and W" : "H and W", xs) != NULL;
    return true;
}

/* torch's pooling_output_shape: floor (or ceil) division, and in ceil mode
 * the last window must start inside the input or its left padding. */
static int64_t pooled_size(int64_t size, int64_t kernel, int64_t pad, int64_t stride, int64_t dilation, bool ceil_mode)
{
    int64_t num = size + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
    int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
    if (ceil_mode && (out - 1) * stride >= size + pad) out--;
    return out;
}

/* The window options with defaults resolved (stride 0 = kernel, dilation
 * 0 = 1) and checked as torch does; sizes out[2] of x's planes. */
static bool resolve_window(const nb_tensor *x, nb_pool_opts *o, const char *op, int64_t out[2])
{
    const char *fields[4] = {"kernel", "stride", "padding", "dilation"};
    int64_t    *values[4] = {o->kernel, o->stride, o->padding, o->dilation};
    for (int f = 0; f < 4; f++) {
        int64_t a = values[f][0], b = values[f][1];
        /* The upper bound keeps every size computed below from overflowing. */
        if (a < 0 || b < 0 || (f == 0 && (a == 0 || b == 0)) || a > INT32_MAX || b > INT32_MAX)
            return nbi_fail(NB_ERR_ARG, "%s: %s must be %s, got (%lld, %lld)", op, fields[f],
                            a > INT32_MAX || b > INT32_MAX ? "at most 2147483647"
                            : f == 0                       ? "positive"
                                                           : "non-negative",
                            (long long)a, (long long)b) != NULL;
    }
    for (int d = 0; d < 2; d++) {
        if (o->stride[d] == 0) o->stride[d] = o->kernel[d];
        if (o->dilation[d] == 0) o->dilation[d] = 1;
    }
    if (o->padding[0] > o->kernel[0] / 2 || o->padding[1] > o->kernel[1] / 2)
        return nbi_fail(NB_ERR_ARG, "%s: padding (%lld, %lld) must be at most half the kernel (%lld, %lld)", op,
                        (long long)o->padding[0], (long long)o->padding[1], (long long)o->kernel[0],
                        (long long)o->kernel[1]) != NULL;
    for (int d = 0; d < 2; d++)
        out[d] = pooled_size(x->shape[x->ndim - 2 + d], o->kernel[d], o->padding[d], o->stride[d], o->dilation[d],
                             o->ceil_mode);
    if (out[0] < 1 || out[1] < 1) {
        char xs[NBI_SHAPE_STR_SIZE];
        return nbi_fail(NB_ERR_SHAPE, "%s: input of shape %s gives an output of %lld x %lld, which is too small", op,
                        nbi_shape_str(x->ndim, x->shape, xs, sizeof xs), (long long)out[0], (long long)out[1]) != NULL;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Max pooling                                                               */
/* ------------------------------------------------------------------------ */

nb_tensor *nb_max_pool2d(const nb_tensor *x, nb_pool_opts opts, nb_tensor **indices)
{
    const char *op = "nb_max_pool2d";
    if (indices) *indices = NULL;
    int64_t out_size[2];
    if (!check_input(x, op, 3) || !resolve_window(x, &opts, op, out_size)) return NULL;
    bool       want_indices = indices != NULL || (nbi_should_record(1, &x));
    nb_tensor *out          = planes_like(x, out_size[0], out_size[1], x->dtype);
    nb_tensor *positions    = want_indices ? planes_like(x, out_size[0], out_size[1], NB_INT64) : NULL;
    nb_tensor *data         = contiguous_data(x);
    if (out == NULL || data == NULL || (want_indices && positions == NULL)) {
        nb_free(out), nb_free(positions), nb_free(data);
        return NULL;
    }
    nbi_max_pool_shape s = {
        .planes     = plane_count(x),
        .height     = x->shape[x->ndim - 2],
        .width      = x->shape[x->ndim - 1],
        .out_h      = out_size[0],
        .out_w      = out_size[1],
        .kernel_h   = opts.kernel[0],
        .kernel_w   = opts.kernel[1],
        .stride_h   = opts.stride[0],
        .stride_w   = opts.stride[1],
        .pad_h      = opts.padding[0],
        .pad_w      = opts.padding[1],
        .dilation_h = opts.dilation[0],
        .dilation_w = opts.dilation[1],
    };
    nb_status status =
        nbi_max_pool2d(x->dtype, &s, nbi_ptr(data), nbi_ptr(out), positions ? (int64_t *)nbi_ptr(positions) : NULL);
    nb_free(data);
    if (status != NB_OK) {
        nb_free(out), nb_free(positions);
        return nbi_fail(status, "%s: out of memory", op);
    }
    out = nbi_record_max_pool2d(out, x, positions);
    if (out != NULL && indices != NULL)
        *indices = positions;
    else
        nb_free(positions);
    return out;
}

nb_tensor *nbi_max_unpool_op(const nb_tensor *g, const nb_tensor *indices, int64_t height, int64_t width)
{
    nb_tensor *out  = planes_like(g, height, width, g->dtype);
    nb_tensor *data = contiguous_data(g), *where = contiguous_data(indices);
    if (out == NULL || data == NULL || where == NULL) {
        nb_free(out), nb_free(data), nb_free(where);
        return NULL;
    }
    int64_t count = g->shape[g->ndim - 2] * g->shape[g->ndim - 1];
    nbi_max_unpool(g->dtype, plane_count(g), count, height * width, nbi_ptr(data), (const int64_t *)nbi_ptr(where),
                   nbi_ptr(out));
    nb_free(data), nb_free(where);
    return nbi_record_max_unpool(out, g, indices);
}

/* ------------------------------------------------------------------------ */
/* Window means: avg_pool2d and adaptive_avg_pool2d                          */
/* ------------------------------------------------------------------------ */

/* start, end and divisor of each of out windows along one dim. */
static void window_table(const nbi_window_spec *spec, int d, int64_t *start, int64_t *end, int64_t *div)
{
    int64_t size = d == 0 ? spec->height : spec->width, out = d == 0 ? spec->out_h : spec->out_w;
    for (int64_t o = 0; o < out; o++) {
        if (spec->adaptive) { /* torch's start_index / end_index, in exact integers */
            start[o] = o * size / out;
            end[o]   = ((o + 1) * size + out - 1) / out;
            div[o]   = end[o] - start[o];
            continue;
        }
        int64_t first = o * spec->stride[d] - spec->padding[d];
        int64_t last  = first + spec->kernel[d];
        if (last > size + spec->padding[d]) last = size + spec->padding[d];
        int64_t pool = last - first; /* counts the padding */
        if (first < 0) first = 0;
        if (last > size) last = size;
        if (last < first) last = first;
        start[o] = first;
        end[o]   = last;
        div[o]   = spec->exclude_pad ? last - first : pool;
    }
}

/* Run the mean (adjoint false: x (..., H, W) -> (..., out_h, out_w)) or
 * its adjoint (the other way) on t. */
static nb_tensor *window_op(const nb_tensor *t, const nbi_window_spec *spec, bool adjoint)
{
    int64_t    rows = adjoint ? spec->height : spec->out_h, cols = adjoint ? spec->width : spec->out_w;
    nb_tensor *out   = planes_like(t, rows, cols, t->dtype);
    nb_tensor *data  = contiguous_data(t);
    int64_t   *table = malloc((size_t)(3 * (spec->out_h + spec->out_w) + 1) * sizeof(int64_t));
    if (out == NULL || data == NULL || table == NULL) {
        if (out && data) nbi_fail(NB_ERR_OOM, "nb_avg_pool2d: out of memory for the window tables");
        nb_free(out), nb_free(data), free(table);
        return NULL;
    }
    int64_t *r = table, *c = table + 3 * spec->out_h;
    window_table(spec, 0, r, r + spec->out_h, r + 2 * spec->out_h);
    window_table(spec, 1, c, c + spec->out_w, c + 2 * spec->out_w);
    nbi_window_tables tables = {
        .planes    = plane_count(t),
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
    if (adjoint)
        nbi_window_mean_adjoint(t->dtype, &tables, nbi_ptr(data), nbi_ptr(out));
    else
        nbi_window_mean(t->dtype, &tables, nbi_ptr(data), nbi_ptr(out));
    free(table);
    nb_free(data);
    return nbi_record_window_mean(out, t, spec, adjoint);
}

nb_tensor *nbi_window_mean_op(const nb_tensor *x, const nbi_window_spec *spec) { return window_op(x, spec, false); }

nb_tensor *nbi_window_mean_adjoint_op(const nb_tensor *g, const nbi_window_spec *spec)
{
    return window_op(g, spec, true);
}

nb_tensor *nb_avg_pool2d(const nb_tensor *x, nb_pool_opts opts)
{
    const char *op = "nb_avg_pool2d";
    int64_t     out_size[2];
    if (!check_input(x, op, 3)) return NULL;
    if (opts.dilation[0] > 1 || opts.dilation[1] > 1)
        return nbi_fail(NB_ERR_ARG, "%s: dilation is not supported (torch's avg_pool2d has none), got (%lld, %lld)", op,
                        (long long)opts.dilation[0], (long long)opts.dilation[1]);
    if (!resolve_window(x, &opts, op, out_size)) return NULL;
    nbi_window_spec spec = {
        .exclude_pad = opts.exclude_pad_from_avg,
        .height      = x->shape[x->ndim - 2],
        .width       = x->shape[x->ndim - 1],
        .out_h       = out_size[0],
        .out_w       = out_size[1],
        .kernel      = {opts.kernel[0], opts.kernel[1]},
        .stride      = {opts.stride[0], opts.stride[1]},
        .padding     = {opts.padding[0], opts.padding[1]},
    };
    return nbi_window_mean_op(x, &spec);
}

nb_tensor *nb_adaptive_avg_pool2d(const nb_tensor *x, int64_t out_h, int64_t out_w)
{
    const char *op = "nb_adaptive_avg_pool2d";
    if (!check_input(x, op, 2)) return NULL;
    if (out_h < 0 || out_w < 0 || out_h > INT32_MAX || out_w > INT32_MAX)
        return nbi_fail(NB_ERR_ARG, "%s: output size must be in [0, 2147483647], got (%lld, %lld)", op,
                        (long long)out_h, (long long)out_w);
    /* The window bounds multiply an output index by the input size. */
    if (x->shape[x->ndim - 2] > ((int64_t)1 << 62) / (out_h + 1) ||
        x->shape[x->ndim - 1] > ((int64_t)1 << 62) / (out_w + 1))
        return nbi_fail(NB_ERR_ARG, "%s: output size (%lld, %lld) is too large for this input", op, (long long)out_h,
                        (long long)out_w);
    nb_shape out           = nb_shape_of(x);
    out.dims[out.ndim - 2] = out_h;
    out.dims[out.ndim - 1] = out_w;
    if (!nbi_check_shape(out, op)) return NULL;
    nbi_window_spec spec = {
        .adaptive = true,
        .height   = x->shape[x->ndim - 2],
        .width    = x->shape[x->ndim - 1],
        .out_h    = out_h,
        .out_w    = out_w,
    };
    return nbi_window_mean_op(x, &spec);
}
