/*
 * nn_kernels.h — the CUDA entry points of the network families:
 * convolution (conv.cu), pooling (pool.cu) and batch normalisation
 * (norm.cu), for cuda/backend.c to put in the table. A plain C header
 * that the .cu files also include (as C++), so it uses only the
 * C++-compatible core headers.
 *
 * The entries that can fail return 0 or a cudaError_t code, as
 * nbi_cuda_matmul does, with cuda_kernels.h's NBI_CUDA_OUT_OF_MEMORY when
 * the scratch could not be had and NBI_CUDA_CUBLAS_FAILED when cuBLAS
 * refused. The messages are for backend.c to write (nbi_fail_status is C
 * only).
 */
#ifndef NABLA_CUDA_NN_KERNELS_H
#define NABLA_CUDA_NN_KERNELS_H

#include <stdbool.h>

#include "../core/conv_args.h"
#include "../core/norm_args.h"
#include "../core/pool_args.h"
#include "cuda_kernels.h" /* the return codes: NBI_CUDA_OUT_OF_MEMORY, ... */

#ifdef __cplusplus
extern "C" {
#endif

/* conv.cu: the three products of conv_args.h, float32 or float64, as
 * im2col + cuBLAS over chunks of the batch (bounded column scratch). */
int nbi_cuda_conv_forward(nb_dtype dtype, const nbi_conv_shape *shape, const void *x, const void *w, const void *bias,
                          void *y);
int nbi_cuda_conv_input_grad(nb_dtype dtype, const nbi_conv_shape *shape, const void *y, const void *w,
                             const void *bias, void *x);
int nbi_cuda_conv_weight_grad(nb_dtype dtype, const nbi_conv_shape *shape, const void *x, const void *y, void *w);

/* pool.cu: max pooling, its gradient scatter, window means and their
 * adjoint (pool_args.h), float32 or float64. */
int  nbi_cuda_max_pool2d(nb_dtype dtype, const nbi_max_pool_shape *shape, const void *x, void *y, int64_t *indices);
void nbi_cuda_max_unpool(nb_dtype dtype, const nbi_max_pool_shape *shape, const void *g, const int64_t *indices,
                         void *x);
int  nbi_cuda_window_mean(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *x, void *y);
int  nbi_cuda_window_mean_adjoint(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *y, void *x);

/* norm.cu: the batch-norm entries (norm_args.h; per-channel arrays in host
 * memory). They cannot report a failure: if the device or its scratch
 * fails, the host results are NaN and the device outputs NaN-filled. */
void nbi_cuda_bn_stats(const nbi_bn_shape *shape, const void *x, double *mean, double *var);
void nbi_cuda_bn_affine(const nbi_bn_shape *shape, const void *x, const double *scale, const double *shift, bool relu,
                        void *y);
void nbi_cuda_bn_grad_sums(const nbi_bn_shape *shape, const void *x, const void *g, const nbi_bn_relu *relu,
                           const double *mean, double *sum_g, double *sum_gx);
void nbi_cuda_bn_grad_input(const nbi_bn_shape *shape, const void *x, const void *g, const nbi_bn_relu *relu,
                            const double *a, const double *b, const double *c, void *dx);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_CUDA_NN_KERNELS_H */
