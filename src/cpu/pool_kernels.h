/*
 * pool_kernels.h — 2-D pooling on the CPU over planes: the last two dims
 * (H, W) of a contiguous tensor, every leading index (batch, channel) one
 * plane. Float32 and float64. The backend's pooling entries (their shapes
 * in core/pool_args.h).
 */
#ifndef NABLA_POOL_KERNELS_H
#define NABLA_POOL_KERNELS_H

#include "../core/pool_args.h"
#include "cpu.h"

/* y (planes, out_h, out_w) = the window maxima of x (planes, H, W); a NaN
 * wins (as torch). indices (may be NULL): the position of each maximum in
 * its plane (row * W + col). NB_ERR_OOM, recorded, when it could not get a
 * scratch row. */
nb_status nbi_max_pool2d(nb_dtype dtype, const nbi_max_pool_shape *shape, const void *x, void *y, int64_t *indices);
/* torch's loop as it is written (branches and all), for the tests. */
void nbi_max_pool2d_reference_f64(const nbi_max_pool_shape *shape, const double *x, double *y, int64_t *indices);
/* x (planes, H, W) = zeros with g (planes, out_h, out_w) added at indices
 * (planes, out_h, out_w), which lie in [0, H * W). */
void nbi_max_unpool(nb_dtype dtype, const nbi_max_pool_shape *shape, const void *g, const int64_t *indices, void *x);

/* y (planes, out_h, out_w) = the window means of x (planes, H, W), and the
 * adjoint: x = the sum over windows covering each pixel of y / divisor.
 * NB_ERR_OOM, recorded, when there is no room for the window tables. */
nb_status nbi_window_mean(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *x, void *y);
nb_status nbi_window_mean_adjoint(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *y, void *x);

#endif /* NABLA_POOL_KERNELS_H */
