/*
 * norm_args.h — what a device's batch-normalisation entries take (the bn_*
 * entries of core/backend.h), for the fused op of nn/batch_norm.c.
 *
 * x, g, y, dx are contiguous (N, C, S) in the memory of the device: N
 * samples, C channels, S values per channel and sample (H*W for 2-d, 1 for
 * 1-d input). NOTE: the per-channel numbers (mean, var, coefficients,
 * sums) are C doubles in HOST memory, not the device's: the op does its
 * per-channel arithmetic (invstd, scale and shift, running statistics) on
 * the host, and C is small. A GPU backend copies them over (and waits for
 * the sums it returns).
 *
 * Every per-channel sum runs in an order fixed by the shape, so the
 * results are the same at any thread count.
 *
 * A plain C header that nvcc also compiles as C++.
 */
#ifndef NABLA_NORM_ARGS_H
#define NABLA_NORM_ARGS_H

#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int      device; /* index of the device x, g, y and dx live on */
    nb_dtype dtype;  /* NB_FLOAT32 or NB_FLOAT64 */
    int64_t  batch, channels, spatial;
} nbi_bn_shape;

/* Batch norm fused with the relu after it (nn/batch_norm.c, for
 * Sequential's BatchNorm-then-ReLU): y = relu(x * scale[c] + shift[c]).
 * The backward entries count g only where that relu passed it: where
 * x * scale[c] + shift[c], computed in x's dtype exactly as the forward
 * computed it, is not <= 0 (nb_relu's gradient rule), so the fused
 * gradients are bit for bit the unfused ones. NULL: no relu. */
typedef struct {
    const double *scale, *shift; /* C host doubles each */
} nbi_bn_relu;

#ifdef __cplusplus
}
#endif

#endif /* NABLA_NORM_ARGS_H */
