/*
 * norm_kernels.h — batch normalisation's loops on the CPU (norm_kernels.c),
 * for the fused op of src/nn/batch_norm.c: the backend's bn_* entries
 * (core/norm_args.h).
 *
 * x, g, y, dx are contiguous (N, C, S): N samples, C channels, S values per
 * channel and sample (H*W for 2-d, 1 for 1-d input). Per-channel numbers
 * (mean, var, coefficients, sums) are C doubles. Every per-channel sum runs
 * in a fixed order (sample by sample, each sample's plane in 16 lanes), so
 * the results are the same at any thread count.
 */
#ifndef NABLA_NORM_KERNELS_H
#define NABLA_NORM_KERNELS_H

#include "../core/norm_args.h"
#include "cpu.h"

/* The mean and the biased variance of each channel (two passes: the
 * variance sums squared deviations from the mean, not x^2 - mean^2). */
void nbi_bn_stats(const nbi_bn_shape *s, const void *x, double *mean, double *var);
/* y = x * scale[c] + shift[c], clamped at 0 as nb_relu when relu. */
void nbi_bn_affine(const nbi_bn_shape *s, const void *x, const double *scale, const double *shift, bool relu, void *y);
/* sum_g[c] = sum of g; sum_gx[c] = sum of g * (x - mean[c]), over channel
 * c; with relu, g counts only where the fused relu passed (norm_args.h). */
void nbi_bn_grad_sums(const nbi_bn_shape *s, const void *x, const void *g, const nbi_bn_relu *relu,
                      const double *mean, double *sum_g, double *sum_gx);
/* dx = a[c] * g + b[c] * x + c[c], g masked as in nbi_bn_grad_sums. */
void nbi_bn_grad_input(const nbi_bn_shape *s, const void *x, const void *g, const nbi_bn_relu *relu, const double *a,
                       const double *b, const double *c, void *dx);

#endif
