/*
 * im2col.h — 2-D convolution on the CPU as im2col + GEMM: the column
 * matrices of one image (im2col) and their adjoint (col2im), and the three
 * products built from them that convolution and its gradients need.
 *
 * The shape struct, its letters and the three products are described in
 * core/conv_args.h; here K = C / G * kernel_h * kernel_w is the rows of one
 * group's column matrix and L = P * Q its columns.
 */
#ifndef NABLA_IM2COL_H
#define NABLA_IM2COL_H

#include "../core/conv_args.h"
#include "cpu.h"

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

/* The backend's three convolution entries (conv_args.h), for float32 or
 * float64. Images are spread over threads when the work is large; results
 * depend on neither timing nor the thread count (weight_grad sums partial
 * products of pieces of the batch fixed by its size, in order). Return
 * NB_OK or NB_ERR_OOM, recorded ("out of memory for the column buffers";
 * outputs unspecified). */
nb_status nbi_conv_forward(nb_dtype dtype, const nbi_conv_shape *shape, const void *x, const void *w, const void *bias,
                           void *y);
nb_status nbi_conv_input_grad(nb_dtype dtype, const nbi_conv_shape *shape, const void *y, const void *w,
                              const void *bias, void *x);
nb_status nbi_conv_weight_grad(nb_dtype dtype, const nbi_conv_shape *shape, const void *x, const void *y, void *w);

#endif /* NABLA_IM2COL_H */
