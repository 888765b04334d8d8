/*
 * pool_kernels.h — 2-D pooling on the CPU over planes: the last two dims
 * (H, W) of a contiguous tensor, every leading index (batch, channel) one
 * plane. Float32 and float64.
 */
#ifndef NABLA_POOL_KERNELS_H
#define NABLA_POOL_KERNELS_H

#include "cpu.h"

/* Max pooling windows: output (p, q) looks at rows p * stride_h - pad_h +
 * i * dilation_h (i < kernel_h) and the like for columns, inside the plane. */
typedef struct {
    int64_t planes, height, width, out_h, out_w;
    int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
} nbi_max_pool_shape;

/* y (planes, out_h, out_w) = the window maxima of x (planes, H, W); a NaN
 * wins (as torch). indices (may be NULL): the position of each maximum in
 * its plane (row * W + col). NB_ERR_OOM (nothing recorded) when it could
 * not get a scratch row. */
nb_status nbi_max_pool2d(nb_dtype dtype, const nbi_max_pool_shape *shape, const void *x, void *y, int64_t *indices);
/* torch's loop as it is written (branches and all), for the tests. */
void nbi_max_pool2d_reference_f64(const nbi_max_pool_shape *shape, const double *x, double *y, int64_t *indices);
/* x (planes, plane_size) = zeros with g (planes, count) added at indices
 * (planes, count), which lie in [0, plane_size). */
void nbi_max_unpool(nb_dtype dtype, int64_t planes, int64_t count, int64_t plane_size, const void *g,
                    const int64_t *indices, void *x);

/* Averaging windows, separable: output (p, q) averages rows
 * [row_start[p], row_end[p]) and columns [col_start[q], col_end[q]) (inside
 * the plane) and divides the sum by row_div[p] * col_div[q]; an empty
 * window gives 0. */
typedef struct {
    int64_t        planes, height, width, out_h, out_w;
    const int64_t *row_start, *row_end, *row_div; /* out_h each */
    const int64_t *col_start, *col_end, *col_div; /* out_w each */
} nbi_window_tables;

/* y (planes, out_h, out_w) = window means of x (planes, H, W). */
void nbi_window_mean(nb_dtype dtype, const nbi_window_tables *tables, const void *x, void *y);
/* The adjoint: x (planes, H, W) = sum over windows covering each pixel of
 * y / divisor. */
void nbi_window_mean_adjoint(nb_dtype dtype, const nbi_window_tables *tables, const void *y, void *x);

#endif /* NABLA_POOL_KERNELS_H */
