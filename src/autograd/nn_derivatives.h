/*
 * nn_derivatives.h — the primitives behind convolution, pooling and padding
 * (src/nn/conv.c, pool.c, pad.c) and the recorders of their backward nodes
 * (conv_derivatives.c, pool_derivatives.c).
 *
 * The primitives come in adjoint pairs, so that each one's gradient is
 * another primitive of the set and gradients of gradients work at any order:
 *
 *   conv2d(x, w)            d/dx: conv_transpose2d(g, w)   d/dw: conv2d_weight(x, g)
 *   conv_transpose2d(x, w)  d/dx: conv2d(g, w)             d/dw: conv2d_weight(g, x)
 *   conv2d_weight(x, g)     d/dx: conv_transpose2d(g, G)   d/dg: conv2d(x, G)
 *   window_mean(x)          d/dx: window_mean_adjoint(g)   (and back again)
 *   max_unpool(g, indices)  d/dg: gather at indices        (max_pool2d's gradient)
 *
 * The _op functions take checked arguments (the public front doors check
 * them), run the kernel on contiguous copies where needed, and record.
 */
#ifndef NABLA_NN_DERIVATIVES_H
#define NABLA_NN_DERIVATIVES_H

#include "autograd.h"

/* ------------------------------------------------------------------------ */
/* Convolution (src/nn/conv.c)                                               */
/* ------------------------------------------------------------------------ */

/* nb_conv_opts with its defaults resolved. [0] is height, [1] width. */
typedef struct {
    int64_t stride[2], padding[2], dilation[2], groups;
} nbi_conv_geometry;

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

/* Recorders (conv_derivatives.c): each returns out, or NULL (out freed)
 * when recording fails. bias may be NULL. */
nb_tensor *nbi_record_conv2d(nb_tensor *out, const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                             const nbi_conv_geometry *geom);
nb_tensor *nbi_record_conv_transpose2d(nb_tensor *out, const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                                       const nbi_conv_geometry *geom);
nb_tensor *nbi_record_conv2d_weight(nb_tensor *out, const nb_tensor *x, const nb_tensor *g,
                                    const nbi_conv_geometry *geom);

/* ------------------------------------------------------------------------ */
/* Pooling (src/nn/pool.c) and padding (src/nn/pad.c)                        */
/* ------------------------------------------------------------------------ */

/* Averaging windows over the last two dims, (..., H, W) -> (..., out_h,
 * out_w): avg_pool2d's (kernel, stride, padding, exclude_pad; ceil_mode is
 * already in out_h / out_w) or, when adaptive, adaptive_avg_pool2d's. */
typedef struct {
    bool    adaptive;
    bool    exclude_pad;
    int64_t height, width, out_h, out_w;
    int64_t kernel[2], stride[2], padding[2];
} nbi_window_spec;

nb_tensor *nbi_window_mean_op(const nb_tensor *x, const nbi_window_spec *spec);
/* g (..., out_h, out_w) -> (..., H, W): each output's gradient spread over
 * its window with the same divisor. */
nb_tensor *nbi_window_mean_adjoint_op(const nb_tensor *g, const nbi_window_spec *spec);
/* g (..., P, Q), indices (..., P, Q) int64 positions in H*W planes ->
 * (..., H, W): g added at the indices (max_pool2d's input gradient). */
nb_tensor *nbi_max_unpool_op(const nb_tensor *g, const nb_tensor *indices, int64_t height, int64_t width);

/* Recorders (pool_derivatives.c). */
nb_tensor *nbi_record_window_mean(nb_tensor *out, const nb_tensor *x, const nbi_window_spec *spec, bool adjoint);
/* y = max_pool2d(x) with the indices of its maxima. */
nb_tensor *nbi_record_max_pool2d(nb_tensor *out, const nb_tensor *x, const nb_tensor *indices);
nb_tensor *nbi_record_max_unpool(nb_tensor *out, const nb_tensor *g, const nb_tensor *indices);
/* pads as given to nb_pad (npads <= 16). */
nb_tensor *nbi_record_pad(nb_tensor *out, const nb_tensor *x, const int64_t *pads, int npads);

#endif /* NABLA_NN_DERIVATIVES_H */
