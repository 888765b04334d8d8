/*
 * conv.c — nb_conv2d and nb_conv_transpose2d: the checks of torch's
 * convolution front door, and the output sizes. Both run on the primitives
 * of ops/conv.c (ops/nn_primitives.h), which their gradients call again.
 *
 * Letters as in core/conv_args.h: the image side (N, C, H, W) is conv2d's
 * input, the column side (N, O, P, Q) its output; weights are (O, C/G, kh,
 * kw).
 */
#include "core/backend.h"
#include "ops/nn_primitives.h"

/* ------------------------------------------------------------------------ */
/* Checks shared by both front doors                                         */
/* ------------------------------------------------------------------------ */

/* Options above this are refused: below it, no size arithmetic here can
 * overflow (tensor sizes are below 2^59). */
#define MAX_OPTION ((int64_t)INT32_MAX)

/* Geometry from opts (zero fields: the defaults); negative or huge values
 * are refused. */
static bool resolve_geometry(nb_conv_opts opts, const char *op, nbi_conv_geometry *geom)
{
    const char    *names[4]  = {"stride", "padding", "dilation", "output_padding"};
    const int64_t *values[4] = {opts.stride, opts.padding, opts.dilation, opts.output_padding};
    for (int f = 0; f < 4; f++) {
        int64_t a = values[f][0], b = values[f][1];
        if (a < 0 || b < 0 || a > MAX_OPTION || b > MAX_OPTION)
            return nbi_fail(NB_ERR_ARG, "%s: %s must be %s, got (%lld, %lld)", op, names[f],
                            a < 0 || b < 0 ? "non-negative" : "at most 2147483647", (long long)a, (long long)b) != NULL;
    }
    if (opts.groups < 0 || opts.groups > MAX_OPTION)
        return nbi_fail(NB_ERR_ARG, "%s: groups must be in [0, 2147483647], got %lld", op, (long long)opts.groups) !=
               NULL;
    for (int d = 0; d < 2; d++) {
        geom->stride[d]   = opts.stride[d] ? opts.stride[d] : 1;
        geom->padding[d]  = opts.padding[d];
        geom->dilation[d] = opts.dilation[d] ? opts.dilation[d] : 1;
    }
    geom->groups = opts.groups ? opts.groups : 1;
    return true;
}

/* x's and weight's shapes as messages show them. */
typedef struct {
    char x[NBI_SHAPE_STR_SIZE], weight[NBI_SHAPE_STR_SIZE];
} operand_shapes;

/* Device, dtypes and ranks of (x, weight, bias), the geometry, and weight's
 * dim 0 (its "output" channels for conv2d, "input" for conv_transpose2d) a
 * positive multiple of groups. Fills geom and shown. */
static bool check_operands(const nb_tensor *x, const nb_tensor *weight, const nb_tensor *bias, nb_conv_opts opts,
                           const char *op, const char *weight_dim0, nbi_conv_geometry *geom, operand_shapes *shown)
{
    if (!nbi_check_tensor(x, op, "x") || !nbi_check_tensor(weight, op, "weight")) return false;
    const nb_tensor *all[3]   = {x, weight, bias};
    const char      *names[3] = {"x", "weight", "bias"};
    if (!nbi_check_device(op, 3, all, names)) return false;
    for (int i = 0; i < 3; i++) {
        if (all[i] == NULL) continue;
        if (!nb_dtype_is_floating(all[i]->dtype))
            return nbi_fail(NB_ERR_DTYPE, "%s: expected floating %s, got %s", op, names[i],
                            nb_dtype_name(all[i]->dtype)) != NULL;
        if (all[i]->dtype != x->dtype)
            return nbi_fail(NB_ERR_DTYPE, "%s: x is %s but %s is %s; convert with nb_to_dtype", op,
                            nb_dtype_name(x->dtype), names[i], nb_dtype_name(all[i]->dtype)) != NULL;
    }
    const char *xs = nbi_shape_str(x->ndim, x->shape, shown->x, sizeof shown->x);
    const char *ws = nbi_shape_str(weight->ndim, weight->shape, shown->weight, sizeof shown->weight);
    if (x->ndim != 4 && x->ndim != 3)
        return nbi_fail(NB_ERR_SHAPE, "%s: expected input with 4 dims (N, C, H, W) or 3, got shape %s", op, xs) != NULL;
    if (weight->ndim != 4)
        return nbi_fail(NB_ERR_SHAPE, "%s: expected weight with 4 dims, got shape %s", op, ws) != NULL;
    if (weight->shape[2] == 0 || weight->shape[3] == 0 || weight->shape[2] > MAX_OPTION ||
        weight->shape[3] > MAX_OPTION)
        return nbi_fail(NB_ERR_SHAPE, "%s: weight of shape %s has an empty or huge kernel", op, ws) != NULL;
    if (!resolve_geometry(opts, op, geom)) return false;
    if (weight->shape[0] == 0 || weight->shape[0] % geom->groups != 0)
        return nbi_fail(NB_ERR_SHAPE,
                        "%s: weight of shape %s: its %lld %s channels are not a positive multiple of groups=%lld", op,
                        ws, (long long)weight->shape[0], weight_dim0, (long long)geom->groups) != NULL;
    return true;
}

/* x's channel count (dim 1 of the batched shape). */
static int64_t channels_of(const nb_tensor *x) { return x->shape[x->ndim - 3]; }

/* bias must be (count) when given. */
static bool check_bias(const nb_tensor *bias, int64_t count, const nb_tensor *weight, const char *op)
{
    if (bias == NULL || (bias->ndim == 1 && bias->shape[0] == count)) return true;
    char bs[NBI_SHAPE_STR_SIZE], ws[NBI_SHAPE_STR_SIZE];
    return nbi_fail(NB_ERR_SHAPE, "%s: expected bias of shape [%lld] for weight of shape %s, got shape %s", op,
                    (long long)count, nbi_shape_str(weight->ndim, weight->shape, ws, sizeof ws),
                    nbi_shape_str(bias->ndim, bias->shape, bs, sizeof bs)) != NULL;
}

/* Run op on x made 4-D (a 3-D x gains a batch dim of 1, removed after). */
typedef nb_tensor *(*batched_fn)(const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                                 const nbi_conv_geometry *geom, const int64_t *out_size);

static nb_tensor *run_batched(batched_fn fn, const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                              const nbi_conv_geometry *geom, const int64_t *out_size)
{
    if (x->ndim == 4) return fn(x, w, bias, geom, out_size);
    nb_tensor *batched = nb_unsqueeze(x, 0);
    nb_tensor *out     = batched ? fn(batched, w, bias, geom, out_size) : NULL;
    nb_tensor *result  = out ? nb_squeeze_dim(out, 0) : NULL;
    nb_free(batched);
    nb_free(out);
    return result;
}

/* ------------------------------------------------------------------------ */
/* nb_conv2d                                                                 */
/* ------------------------------------------------------------------------ */

static nb_tensor *conv2d_batched(const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                                 const nbi_conv_geometry *geom, const int64_t *out_size)
{
    (void)out_size;
    return nbi_conv2d_op(x, w, bias, geom);
}

nb_tensor *nb_conv2d(const nb_tensor *x, const nb_tensor *weight, const nb_tensor *bias, nb_conv_opts opts)
{
    const char       *op = "nb_conv2d";
    nbi_conv_geometry geom;
    operand_shapes    shown;
    if (!check_operands(x, weight, bias, opts, op, "output", &geom, &shown)) return NULL;
    const char *xs = shown.x, *ws = shown.weight;
    int64_t     out_channels = weight->shape[0], groups = geom.groups;
    if (channels_of(x) != weight->shape[1] * groups)
        return nbi_fail(NB_ERR_SHAPE,
                        "%s: input of shape %s has %lld channels, but weight of shape %s with "
                        "groups=%lld expects %lld",
                        op, xs, (long long)channels_of(x), ws, (long long)groups,
                        (long long)(weight->shape[1] * groups));
    if (!check_bias(bias, out_channels, weight, op)) return NULL;
    nb_shape out = {.ndim = 4, .dims = {x->ndim == 4 ? x->shape[0] : 1, out_channels}};
    for (int d = 0; d < 2; d++) {
        int64_t size = x->shape[x->ndim - 2 + d];
        if (nbi_conv_kernel_span(&geom, d, weight->shape[2 + d]) > size + 2 * geom.padding[d])
            return nbi_fail(NB_ERR_SHAPE,
                            "%s: the kernel (%lld x %lld, dilation %lld x %lld) is larger than the "
                            "padded input (%lld x %lld) of input shape %s",
                            op, (long long)weight->shape[2], (long long)weight->shape[3], (long long)geom.dilation[0],
                            (long long)geom.dilation[1], (long long)(x->shape[x->ndim - 2] + 2 * geom.padding[0]),
                            (long long)(x->shape[x->ndim - 1] + 2 * geom.padding[1]), xs);
        out.dims[2 + d] = nbi_conv_output_size(&geom, d, size, weight->shape[2 + d]);
    }
    if (opts.output_padding[0] != 0 || opts.output_padding[1] != 0)
        return nbi_fail(NB_ERR_ARG, "%s: output_padding is for nb_conv_transpose2d only, got (%lld, %lld)", op,
                        (long long)opts.output_padding[0], (long long)opts.output_padding[1]);
    if (!nbi_check_shape(out, op)) return NULL;
    return run_batched(conv2d_batched, x, weight, bias, &geom, NULL);
}

/* ------------------------------------------------------------------------ */
/* nb_conv_transpose2d                                                       */
/* ------------------------------------------------------------------------ */

static nb_tensor *conv_transpose2d_batched(const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                                           const nbi_conv_geometry *geom, const int64_t *out_size)
{
    return nbi_conv_transpose2d_op(x, w, bias, geom, out_size[0], out_size[1]);
}

nb_tensor *nb_conv_transpose2d(const nb_tensor *x, const nb_tensor *weight, const nb_tensor *bias, nb_conv_opts opts)
{
    const char       *op = "nb_conv_transpose2d";
    nbi_conv_geometry geom;
    operand_shapes    shown;
    if (!check_operands(x, weight, bias, opts, op, "input", &geom, &shown)) return NULL;
    const char *xs = shown.x, *ws = shown.weight;
    int64_t     in_channels = weight->shape[0], groups = geom.groups;
    if (channels_of(x) != in_channels)
        return nbi_fail(NB_ERR_SHAPE, "%s: input of shape %s has %lld channels, but weight of shape %s expects %lld",
                        op, xs, (long long)channels_of(x), ws, (long long)in_channels);
    if (!check_bias(bias, weight->shape[1] * groups, weight, op)) return NULL;
    int64_t out_size[2];
    for (int d = 0; d < 2; d++) {
        int64_t extra = opts.output_padding[d];
        if (extra >= geom.stride[d] && extra >= geom.dilation[d])
            return nbi_fail(NB_ERR_ARG,
                            "%s: output_padding must be smaller than stride or dilation, got "
                            "output_padding (%lld, %lld), stride (%lld, %lld), dilation (%lld, %lld)",
                            op, (long long)opts.output_padding[0], (long long)opts.output_padding[1],
                            (long long)geom.stride[0], (long long)geom.stride[1], (long long)geom.dilation[0],
                            (long long)geom.dilation[1]);
        int64_t size = x->shape[x->ndim - 2 + d];
        if (size > ((int64_t)1 << 62) / geom.stride[d])
            return nbi_fail(NB_ERR_SHAPE, "%s: input of shape %s with stride (%lld, %lld) gives a too large output", op,
                            xs, (long long)geom.stride[0], (long long)geom.stride[1]);
        out_size[d] = (size - 1) * geom.stride[d] - 2 * geom.padding[d] +
                      nbi_conv_kernel_span(&geom, d, weight->shape[2 + d]) + extra;
    }
    if (out_size[0] <= 0 || out_size[1] <= 0)
        return nbi_fail(NB_ERR_SHAPE, "%s: input of shape %s gives an output of %lld x %lld, which is too small", op,
                        xs, (long long)out_size[0], (long long)out_size[1]);
    nb_shape out = {.ndim = 4,
                    .dims = {x->ndim == 4 ? x->shape[0] : 1, weight->shape[1] * groups, out_size[0], out_size[1]}};
    if (!nbi_check_shape(out, op)) return NULL;
    return run_batched(conv_transpose2d_batched, x, weight, bias, &geom, out_size);
}
