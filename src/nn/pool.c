/*
 * pool.c — nb_max_pool2d, nb_avg_pool2d, nb_adaptive_avg_pool2d: torch's
 * checks and output sizes. The primitives behind them are in ops/pool.c
 * (ops/nn_primitives.h), their gradients in autograd/pool_derivatives.c.
 *
 * Inputs are (N, C, H, W) or (C, H, W); every leading index is one H x W
 * plane, so the unbatched form needs no reshaping. Both averages are one
 * primitive, a mean over separable windows (nbi_window_spec).
 */
#include "core/backend.h"
#include "ops/nn_primitives.h"

/* ------------------------------------------------------------------------ */
/* Checks and output sizes                                                   */
/* ------------------------------------------------------------------------ */

/* x: a floating tensor of 3 or 4 dims whose last nonempty dims have
 * sizes above zero (torch lets only the batch dim be empty). */
static bool check_input(const nb_tensor *x, const char *op, int nonempty)
{
    if (!nbi_check_tensor(x, op, "x") || !nbi_check_device1(op, x, "x")) return false;
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
    return nbi_max_pool2d_op(x, &opts, out_size, indices);
}

/* ------------------------------------------------------------------------ */
/* Window means: avg_pool2d and adaptive_avg_pool2d                          */
/* ------------------------------------------------------------------------ */

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
