/*
 * nn_primitives.h — the primitives behind convolution, pooling and padding
 * (ops/conv.c, ops/pool.c, ops/pad.c). nn's front doors (nn/conv.c, pool.c,
 * pad.c) check the arguments and call them; their gradients
 * (autograd/conv_derivatives.c, pool_derivatives.c) call them again.
 *
 * The primitives come in adjoint pairs, so that each one's gradient is
 * another primitive of the set and gradients of gradients work at any order:
 *
 *   conv2d(x, w)            d/dx: conv_transpose2d(g, w)   d/dw: conv2d_weight(x, g)
 *   conv_transpose2d(x, w)  d/dx: conv2d(g, w)             d/dw: conv2d_weight(g, x)
 *   conv2d_weight(x, g)     d/dx: conv_transpose2d(g, G)   d/dg: conv2d(x, G)
 *   window_mean(x)          d/dx: window_mean_adjoint(g)   (and back again)
 *   max_pool2d(x)           d/dx: max_unpool(g, indices)
 *   max_unpool(g, indices)  d/dg: gather at indices        (max_pool2d's gradient)
 *   pad(x, pads)            d/dx: pad(g, -pads)
 *
 * The _op functions take checked arguments (the public front doors check
 * them), run the kernel on contiguous copies where needed, and record.
 */
#ifndef NABLA_OPS_NN_PRIMITIVES_H
#define NABLA_OPS_NN_PRIMITIVES_H

#include "core/internal.h"
#include "core/pool_args.h"

/* ------------------------------------------------------------------------ */
/* Convolution (ops/conv.c)                                                  */
/* ------------------------------------------------------------------------ */

/* nb_conv_opts with its defaults resolved. [0] is height, [1] width. */
typedef struct {
    int64_t stride[2], padding[2], dilation[2], groups;
} nbi_conv_geometry;

/* The extent of a kernel of size taps along dim d, dilation included. */
static inline int64_t nbi_conv_kernel_span(const nbi_conv_geometry *geom, int d, int64_t taps)
{
    return geom->dilation[d] * (taps - 1) + 1;
}

/* conv2d's output size along dim d for an input of size (padded input at
 * least as large as the kernel's span). */
static inline int64_t nbi_conv_output_size(const nbi_conv_geometry *geom, int d, int64_t size, int64_t taps)
{
    return (size + 2 * geom->padding[d] - nbi_conv_kernel_span(geom, d, taps)) / geom->stride[d] + 1;
}

/* x (N, C, H, W), w (O, C/G, kh, kw), bias (O) or NULL -> (N, O, P, Q) with
 * P = (H + 2 pad - dil (kh - 1) - 1) / stride + 1 (likewise Q). */
nb_tensor *nbi_conv2d_op(const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias, const nbi_conv_geometry *geom);
/* x (N, O, P, Q), w (O, C/G, kh, kw), bias (C) or NULL -> (N, C, out_h, out_w):
 * the adjoint of conv2d in its input, for an input of out_h x out_w. */
nb_tensor *nbi_conv_transpose2d_op(const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                                   const nbi_conv_geometry *geom, int64_t out_h, int64_t out_w);
/* x (N, C, H, W), g (N, O, P, Q) -> (O, C/G, kh, kw): the adjoint of conv2d
 * in its weight (the weight's gradient for output gradient g). */
nb_tensor *nbi_conv2d_weight_op(const nb_tensor *x, const nb_tensor *g, const nbi_conv_geometry *geom, int64_t kernel_h,
                                int64_t kernel_w);

/* ------------------------------------------------------------------------ */
/* Pooling (ops/pool.c)                                                      */
/* ------------------------------------------------------------------------ */

/* x (..., H, W) -> (..., out_size[0], out_size[1]): the maximum of each
 * window of opts (defaults resolved: stride, dilation nonzero). indices, when
 * not NULL, receives the int64 positions of the maxima in each H*W plane (a
 * new handle), and is left alone on failure. */
nb_tensor *nbi_max_pool2d_op(const nb_tensor *x, const nb_pool_opts *opts, const int64_t out_size[2],
                             nb_tensor **indices);
/* g (..., P, Q), indices (..., P, Q) int64 positions in H*W planes ->
 * (..., H, W): g added at the indices (max_pool2d's input gradient). */
nb_tensor *nbi_max_unpool_op(const nb_tensor *g, const nb_tensor *indices, int64_t height, int64_t width);

/* Averaging windows over the last two dims, (..., H, W) -> (..., out_h,
 * out_w), as nbi_window_spec (core/pool_args.h) gives them. */
nb_tensor *nbi_window_mean_op(const nb_tensor *x, const nbi_window_spec *spec);
/* g (..., out_h, out_w) -> (..., H, W): each output's gradient spread over
 * its window with the same divisor. */
nb_tensor *nbi_window_mean_adjoint_op(const nb_tensor *g, const nbi_window_spec *spec);

/* ------------------------------------------------------------------------ */
/* Padding (ops/pad.c)                                                       */
/* ------------------------------------------------------------------------ */

/* nb_pad without its checks: x padded with value by (before, after) pairs
 * from the last dim backwards (npads <= 2 ndim), a negative pad cropping;
 * the sizes that result are valid. */
nb_tensor *nbi_pad_op(const nb_tensor *x, const int64_t *pads, int npads, double value);

#endif /* NABLA_OPS_NN_PRIMITIVES_H */
