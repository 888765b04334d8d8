/*
 * im2col.h — 2-D convolution on the CPU as im2col + GEMM: the column
 * matrices of one image (im2col) and their adjoint (col2im), and the three
 * products built from them that convolution and its gradients need.
 *
 * Letters used throughout (those of the convolution, whichever way it runs):
 *   N       batch
 *   C, H, W the image side: the input of conv2d (the output of conv_transpose2d)
 *   O, P, Q the column side: the output of conv2d (O channels, P x Q positions)
 *   G       groups; each group maps C / G image channels to O / G column ones
 *   K       C / G * kernel_h * kernel_w, the rows of one group's column matrix
 *   L       P * Q, its columns
 * Column position (p, q) and kernel tap (i, j) read image pixel
 *   (p * stride_h - pad_h + i * dilation_h, q * stride_w - pad_w + j * dilation_w),
 * and zero where that lies outside the image.
 */
#ifndef NABLA_IM2COL_H
#define NABLA_IM2COL_H

#include "cpu.h"

typedef struct {
    int64_t batch, groups;
    int64_t channels, height, width;    /* image side: C, H, W */
    int64_t out_channels, out_h, out_w; /* column side: O, P, Q */
    int64_t kernel_h, kernel_w;
    int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
} nbi_conv_shape;

/* One image (channels x H x W, contiguous) to its column matrix
 * (channels * kernel_h * kernel_w rows of P * Q columns, row r at cols + r *
 * ld, ld >= P * Q: several images' matrices side by side make one wider
 * matrix). channels is given apart from shape->channels so that one group
 * can be unfolded. */
void nbi_im2col_f32(const nbi_conv_shape *shape, int64_t channels, const float *image, float *cols, int64_t ld);
void nbi_im2col_f64(const nbi_conv_shape *shape, int64_t channels, const double *image, double *cols, int64_t ld);
/* The adjoint: add every column entry into the pixel it was read from
 * (entries from outside the image are dropped). image is accumulated into.
 * NOTE: cols is scratch: the dropped entries may be overwritten (zeroed). */
void nbi_col2im_f32(const nbi_conv_shape *shape, int64_t channels, float *cols, float *image);
void nbi_col2im_f64(const nbi_conv_shape *shape, int64_t channels, double *cols, double *image);
/* Plain loops over the definition above, for the tests. */
void nbi_im2col_reference_f64(const nbi_conv_shape *shape, int64_t channels, const double *image, double *cols);
void nbi_col2im_reference_f64(const nbi_conv_shape *shape, int64_t channels, const double *cols, double *image);

/* The three products, for float32 or float64 data (all contiguous):
 *
 *   forward     y (N, O, P, Q) = conv(x (N, C, H, W), w (O, C/G, kh, kw)) + bias (O)
 *   input_grad  x (N, C, H, W) = conv^T(y (N, O, P, Q), w) + bias (C)
 *               (the adjoint of forward in x: conv_transpose2d)
 *   weight_grad w (O, C/G, kh, kw) = sum over n of y[n] x[n]^T through the columns
 *               (the adjoint of forward in w)
 *
 * bias may be NULL. Images are spread over threads when the work is large;
 * results depend on neither timing nor the thread count (weight_grad sums
 * partial products of pieces of the batch fixed by its size, in order).
 * Return NB_OK or NB_ERR_OOM (nothing recorded; outputs unspecified). */
nb_status nbi_conv_forward(nb_dtype dtype, const nbi_conv_shape *shape, const void *x, const void *w, const void *bias,
                           void *y);
nb_status nbi_conv_input_grad(nb_dtype dtype, const nbi_conv_shape *shape, const void *y, const void *w,
                              const void *bias, void *x);
nb_status nbi_conv_weight_grad(nb_dtype dtype, const nbi_conv_shape *shape, const void *x, const void *y, void *w);

#endif /* NABLA_IM2COL_H */
