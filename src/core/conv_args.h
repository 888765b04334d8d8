/*
 * conv_args.h — what a device's convolution entries take (the conv_*
 * entries of core/backend.h): the shape of a 2-D convolution, whichever
 * way it runs, and raw pointers to contiguous float32 or float64 data.
 *
 * Letters used throughout (those of the convolution, whichever way it runs):
 *   N       batch
 *   C, H, W the image side: the input of conv2d (the output of conv_transpose2d)
 *   O, P, Q the column side: the output of conv2d (O channels, P x Q positions)
 *   G       groups; each group maps C / G image channels to O / G column ones
 * Column position (p, q) and kernel tap (i, j) read image pixel
 *   (p * stride_h - pad_h + i * dilation_h, q * stride_w - pad_w + j * dilation_w),
 * and zero where that lies outside the image.
 *
 * The three products (all data contiguous, in the memory of the device):
 *
 *   forward     y (N, O, P, Q) = conv(x (N, C, H, W), w (O, C/G, kh, kw)) + bias (O)
 *   input_grad  x (N, C, H, W) = conv^T(y (N, O, P, Q), w) + bias (C)
 *               (the adjoint of forward in x: conv_transpose2d)
 *   weight_grad w (O, C/G, kh, kw) = sum over n of y[n] x[n]^T through the columns
 *               (the adjoint of forward in w)
 *
 * bias may be NULL. Results must not depend on the thread count or timing:
 * weight_grad's sum over the batch runs in an order fixed by the shapes.
 * A plain C header that nvcc also compiles as C++.
 */
#ifndef NABLA_CONV_ARGS_H
#define NABLA_CONV_ARGS_H

#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The op of NBI_FAMILY_CONV: which of the three products. */
typedef enum { NBI_CONV_FORWARD, NBI_CONV_INPUT_GRAD, NBI_CONV_WEIGHT_GRAD, NBI_NUM_CONV_OPS } nbi_conv_op;

typedef struct {
    int     device; /* index of the device the data lives on */
    int64_t batch, groups;
    int64_t channels, height, width;    /* image side: C, H, W */
    int64_t out_channels, out_h, out_w; /* column side: O, P, Q */
    int64_t kernel_h, kernel_w;
    int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
} nbi_conv_shape;

#ifdef __cplusplus
}
#endif

#endif /* NABLA_CONV_ARGS_H */
