/*
 * conv.c — the three primitives nb_conv2d and nb_conv_transpose2d are built
 * on (conv2d, its adjoint in the input = conv_transpose2d, its adjoint in
 * the weight), each running a kernel of src/cpu/im2col.c and recording a
 * node whose formula calls the others (autograd/conv_derivatives.c).
 *
 * Why in ops/ and not nn/: these are primitives with kernels, which the
 * gradient formulas call back; nn/conv.c keeps the public front doors and
 * their checks. In nn/ they made autograd call up into nn.
 *
 * Letters as in im2col.h: the image side (N, C, H, W) is conv2d's input,
 * the column side (N, O, P, Q) its output; weights are (O, C/G, kh, kw).
 * The arguments were checked by the front door (nn/conv.c).
 */
#include "autograd/nn_derivatives.h"
#include "cpu/im2col.h"

static nbi_conv_shape conv_shape(const nbi_conv_geometry *geom, const int64_t *image, const int64_t *columns,
                                 int64_t kernel_h, int64_t kernel_w)
{
    return (nbi_conv_shape){
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
typedef struct {
    nb_tensor *t[3];
} contiguous_set;

static void release_contiguous(contiguous_set *set)
{
    for (int i = 0; i < 3; i++)
        nb_free(set->t[i]);
}

/* False (all released, the copy's error kept) when a copy fails. */
static bool make_contiguous(contiguous_set *set, const nb_tensor *a, const nb_tensor *b, const nb_tensor *c)
{
    const nb_tensor *in[3] = {a, b, c};
    bool             ok    = true;
    nbi_grad_mode_push(false);
    for (int i = 0; i < 3; i++) {
        set->t[i] = in[i] && ok ? nb_contiguous(in[i]) : NULL;
        if (in[i] && set->t[i] == NULL) ok = false;
    }
    nbi_grad_mode_pop();
    if (!ok) release_contiguous(set);
    return ok;
}

static const void *data_of(const nb_tensor *t) { return t ? nbi_ptr(t) : NULL; }

/* Release the copies; free out and fail unless the kernel succeeded. */
static nb_tensor *finish(nb_tensor *out, contiguous_set *set, nb_status status, const char *op)
{
    release_contiguous(set);
    if (status == NB_OK) return out;
    nb_free(out);
    return nbi_fail(status, "%s: out of memory for the column buffers", op);
}

/* The copies failed (their error is recorded): free out. */
static nb_tensor *abandon(nb_tensor *out)
{
    nb_free(out);
    return NULL;
}

nb_tensor *nbi_conv2d_op(const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias, const nbi_conv_geometry *geom)
{
    int64_t out_shape[4] = {x->shape[0], w->shape[0], 0, 0};
    for (int d = 0; d < 2; d++)
        out_shape[2 + d] = nbi_conv_output_size(geom, d, x->shape[2 + d], w->shape[2 + d]);
    nb_tensor *out = nbi_empty(4, out_shape, x->dtype, x->storage->device);
    if (out == NULL) return NULL;
    contiguous_set set;
    if (!make_contiguous(&set, x, w, bias)) return abandon(out);
    nbi_conv_shape s = conv_shape(geom, x->shape, out_shape, w->shape[2], w->shape[3]);
    nb_status      status =
        nbi_conv_forward(x->dtype, &s, data_of(set.t[0]), data_of(set.t[1]), data_of(set.t[2]), nbi_ptr(out));
    out = finish(out, &set, status, "nb_conv2d");
    return nbi_record_conv2d(out, x, w, bias, geom);
}

nb_tensor *nbi_conv_transpose2d_op(const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                                   const nbi_conv_geometry *geom, int64_t out_h, int64_t out_w)
{
    int64_t    out_shape[4] = {x->shape[0], w->shape[1] * geom->groups, out_h, out_w};
    nb_tensor *out          = nbi_empty(4, out_shape, x->dtype, x->storage->device);
    if (out == NULL) return NULL;
    contiguous_set set;
    if (!make_contiguous(&set, x, w, bias)) return abandon(out);
    nbi_conv_shape s = conv_shape(geom, out_shape, x->shape, w->shape[2], w->shape[3]);
    nb_status      status =
        nbi_conv_input_grad(x->dtype, &s, data_of(set.t[0]), data_of(set.t[1]), data_of(set.t[2]), nbi_ptr(out));
    out = finish(out, &set, status, "nb_conv_transpose2d");
    return nbi_record_conv_transpose2d(out, x, w, bias, geom);
}

nb_tensor *nbi_conv2d_weight_op(const nb_tensor *x, const nb_tensor *g, const nbi_conv_geometry *geom, int64_t kernel_h,
                                int64_t kernel_w)
{
    int64_t    out_shape[4] = {g->shape[1], x->shape[1] / geom->groups, kernel_h, kernel_w};
    nb_tensor *out          = nbi_empty(4, out_shape, x->dtype, x->storage->device);
    if (out == NULL) return NULL;
    contiguous_set set;
    if (!make_contiguous(&set, x, g, NULL)) return abandon(out);
    nbi_conv_shape s      = conv_shape(geom, x->shape, g->shape, kernel_h, kernel_w);
    nb_status      status = nbi_conv_weight_grad(x->dtype, &s, data_of(set.t[0]), data_of(set.t[1]), nbi_ptr(out));
    out                   = finish(out, &set, status, "nb_conv2d");
    return nbi_record_conv2d_weight(out, x, g, geom);
}
