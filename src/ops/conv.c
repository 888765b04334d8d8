/*
 * conv.c — the three primitives nb_conv2d and nb_conv_transpose2d are built
 * on (conv2d, its adjoint in the input = conv_transpose2d, its adjoint in
 * the weight), each running an entry of its device's backend (described in
 * core/conv_args.h) and recording a node whose formula calls the others
 * (autograd/conv_derivatives.c).
 *
 * Why in ops/ and not nn/: these are primitives with kernels, which the
 * gradient formulas call back; nn/conv.c keeps the public front doors and
 * their checks. In nn/ they made autograd call up into nn.
 *
 * Letters as in conv_args.h: the image side (N, C, H, W) is conv2d's input,
 * the column side (N, O, P, Q) its output; weights are (O, C/G, kh, kw).
 * The arguments were checked by the front door (nn/conv.c); the gradient
 * formulas call these too, so each checks devices and the kernel's
 * presence again (a few compares).
 */
#include "autograd/nn_derivatives.h"
#include "core/backend.h"

static nbi_conv_shape conv_shape(const nb_tensor *any, const nbi_conv_geometry *geom, const int64_t *image,
                                 const int64_t *columns, int64_t kernel_h, int64_t kernel_w)
{
    return (nbi_conv_shape){
        .device       = any->storage->device.index,
        .batch        = image[0],
        .groups       = geom->groups,
        .channels     = image[1],
        .height       = image[2],
        .width        = image[3],
        .out_channels = columns[1],
        .out_h        = columns[2],
        .out_w        = columns[3],
        .kernel_h     = kernel_h,
        .kernel_w     = kernel_w,
        .stride_h     = geom->stride[0],
        .stride_w     = geom->stride[1],
        .pad_h        = geom->padding[0],
        .pad_w        = geom->padding[1],
        .dilation_h   = geom->dilation[0],
        .dilation_w   = geom->dilation[1],
    };
}

/* Contiguous copies (or new handles) of up to three tensors, made without
 * recording: the kernels read raw data, the node records the originals. */
/* float16 / bfloat16 convolve in float32 (widened copies of the inputs, a
 * float32 result rounded back once), as torch's CPU path for bfloat16. */
static nb_dtype kernel_dtype(nb_dtype dtype) { return nbi_is_half(dtype) ? NB_FLOAT32 : dtype; }

typedef struct {
    nb_tensor *t[3];
    nb_tensor *wide_out; /* the float32 result of a half convolution */
} contiguous_set;

static void release_contiguous(contiguous_set *set)
{
    for (int i = 0; i < 3; i++)
        nb_free(set->t[i]);
    nb_free(set->wide_out);
}

/* False (all released, the copy's error kept) when a copy fails. For a
 * half out, the copies are float32 and so is the kernel's output. */
static bool make_contiguous(contiguous_set *set, const nb_tensor *a, const nb_tensor *b, const nb_tensor *c,
                            const nb_tensor *out)
{
    const nb_tensor *in[3] = {a, b, c};
    bool             ok    = true, half = nbi_is_half(out->dtype);
    nbi_grad_mode_push(false);
    for (int i = 0; i < 3; i++) {
        set->t[i] = in[i] && ok ? (half ? nbi_copy_as(in[i], NB_FLOAT32) : nb_contiguous(in[i])) : NULL;
        if (in[i] && set->t[i] == NULL) ok = false;
    }
    set->wide_out = ok && half ? nbi_empty(out->ndim, out->shape, NB_FLOAT32, out->storage->device) : NULL;
    if (half && set->wide_out == NULL) ok = false;
    nbi_grad_mode_pop();
    if (!ok) release_contiguous(set);
    return ok;
}

static const void *data_of(const nb_tensor *t) { return t ? nbi_ptr(t) : NULL; }

/* Where the kernel writes out. */
static void *out_data(nb_tensor *out, const contiguous_set *set) { return nbi_ptr(set->wide_out ? set->wide_out : out); }

/* Release the copies; free out and fail unless the kernel succeeded (it
 * recorded why). */
static nb_tensor *finish(nb_tensor *out, contiguous_set *set, nb_status status, const char *op)
{
    if (status == NB_OK && set->wide_out) nbi_copy_into(out, set->wide_out);
    release_contiguous(set);
    if (status == NB_OK) return out;
    nb_free(out);
    return nbi_entry_failed(op);
}

/* a, b and c (may be NULL) on one device, whose backend has the product
 * (and, for the halves, their casts to and from float32). */
static bool check_runnable(const char *op, nbi_conv_op product, const nb_tensor *a, const nb_tensor *b,
                           const nb_tensor *c, const char *const names[3])
{
    const nb_tensor *tensors[3] = { a, b, c };
    if (!nbi_check_device(op, 3, tensors, names)) return false;
    if (nbi_is_half(a->dtype) && !nbi_check_supported(nbi_backend_of(a), NBI_FAMILY_CAST, (int)a->dtype, NB_FLOAT32, op))
        return false;
    return nbi_check_supported(nbi_backend_of(a), NBI_FAMILY_CONV, (int)product, kernel_dtype(a->dtype), op);
}

static const char *const conv_names[3] = { "x", "weight", "bias" };

/* The copies failed (their error is recorded): free out. */
static nb_tensor *abandon(nb_tensor *out)
{
    nb_free(out);
    return NULL;
}

nb_tensor *nbi_conv2d_op(const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias, const nbi_conv_geometry *geom)
{
    if (!check_runnable("nb_conv2d", NBI_CONV_FORWARD, x, w, bias, conv_names)) return NULL;
    int64_t out_shape[4] = {x->shape[0], w->shape[0], 0, 0};
    for (int d = 0; d < 2; d++)
        out_shape[2 + d] = nbi_conv_output_size(geom, d, x->shape[2 + d], w->shape[2 + d]);
    nb_tensor *out = nbi_empty(4, out_shape, x->dtype, x->storage->device);
    if (out == NULL) return NULL;
    contiguous_set set;
    if (!make_contiguous(&set, x, w, bias, out)) return abandon(out);
    nbi_conv_shape s      = conv_shape(x, geom, x->shape, out_shape, w->shape[2], w->shape[3]);
    nb_status      status = nbi_backend_of(x)->conv_forward(kernel_dtype(x->dtype), &s, data_of(set.t[0]),
                                                            data_of(set.t[1]), data_of(set.t[2]), out_data(out, &set));
    out = finish(out, &set, status, "nb_conv2d");
    return nbi_record_conv2d(out, x, w, bias, geom);
}

nb_tensor *nbi_conv_transpose2d_op(const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                                   const nbi_conv_geometry *geom, int64_t out_h, int64_t out_w)
{
    if (!check_runnable("nb_conv_transpose2d", NBI_CONV_INPUT_GRAD, x, w, bias, conv_names)) return NULL;
    int64_t    out_shape[4] = {x->shape[0], w->shape[1] * geom->groups, out_h, out_w};
    nb_tensor *out          = nbi_empty(4, out_shape, x->dtype, x->storage->device);
    if (out == NULL) return NULL;
    contiguous_set set;
    if (!make_contiguous(&set, x, w, bias, out)) return abandon(out);
    nbi_conv_shape s      = conv_shape(x, geom, out_shape, x->shape, w->shape[2], w->shape[3]);
    nb_status      status = nbi_backend_of(x)->conv_input_grad(kernel_dtype(x->dtype), &s, data_of(set.t[0]),
                                                               data_of(set.t[1]), data_of(set.t[2]), out_data(out, &set));
    out = finish(out, &set, status, "nb_conv_transpose2d");
    return nbi_record_conv_transpose2d(out, x, w, bias, geom);
}

nb_tensor *nbi_conv2d_weight_op(const nb_tensor *x, const nb_tensor *g, const nbi_conv_geometry *geom, int64_t kernel_h,
                                int64_t kernel_w)
{
    static const char *const names[3] = { "x", "grad_output", NULL };
    if (!check_runnable("nb_conv2d", NBI_CONV_WEIGHT_GRAD, x, g, NULL, names)) return NULL;
    int64_t    out_shape[4] = {g->shape[1], x->shape[1] / geom->groups, kernel_h, kernel_w};
    nb_tensor *out          = nbi_empty(4, out_shape, x->dtype, x->storage->device);
    if (out == NULL) return NULL;
    contiguous_set set;
    if (!make_contiguous(&set, x, g, NULL, out)) return abandon(out);
    nbi_conv_shape s      = conv_shape(x, geom, x->shape, g->shape, kernel_h, kernel_w);
    nb_status      status = nbi_backend_of(x)->conv_weight_grad(kernel_dtype(x->dtype), &s, data_of(set.t[0]),
                                                                data_of(set.t[1]), out_data(out, &set));
    out                   = finish(out, &set, status, "nb_conv2d");
    return nbi_record_conv2d_weight(out, x, g, geom);
}
