/*
 * pool_args.h — what a device's pooling entries take (the pooling entries
 * of core/backend.h): 2-D pooling over planes, the last two dims (H, W) of
 * a contiguous tensor, every leading index (batch, channel) one plane.
 * Float32 and float64, data in the memory of the device.
 *
 * Averaging windows are separable: output (p, q) averages the rows of
 * window p and the columns of window q. Where one window lies along a dim
 * is a formula (nbi_window_bounds below), the same for every device: the
 * CPU tabulates it once per call, a GPU thread computes its own window.
 *
 * A plain C header that nvcc also compiles as C++.
 */
#ifndef NABLA_POOL_ARGS_H
#define NABLA_POOL_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "formulas.h"
#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The op of NBI_FAMILY_POOL: which entry. */
typedef enum {
    NBI_POOL_MAX,        /* max_pool2d */
    NBI_POOL_MAX_UNPOOL, /* max_unpool */
    NBI_POOL_MEAN,       /* window_mean and window_mean_adjoint */
    NBI_NUM_POOL_OPS
} nbi_pool_op;

/* Max pooling windows: output (p, q) looks at rows p * stride_h - pad_h +
 * i * dilation_h (i < kernel_h) and the like for columns, inside the plane. */
typedef struct {
    int     device; /* index of the device the data lives on */
    int64_t planes, height, width, out_h, out_w;
    int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
} nbi_max_pool_shape;

/* Averaging windows over the last two dims, (..., H, W) -> (..., out_h,
 * out_w): avg_pool2d's (kernel, stride, padding, exclude_pad; ceil_mode is
 * already in out_h / out_w) or, when adaptive, adaptive_avg_pool2d's.
 * [0] is height, [1] width. */
typedef struct {
    bool    adaptive;
    bool    exclude_pad;
    int64_t height, width, out_h, out_w;
    int64_t kernel[2], stride[2], padding[2];
} nbi_window_spec;

/* One call of the window mean or its adjoint: planes of spec's windows. */
typedef struct {
    int             device; /* index of the device the data lives on */
    int64_t         planes;
    nbi_window_spec spec;
} nbi_mean_pool_shape;

/* Window o along dim d (0: rows, 1: columns) of spec: it covers
 * [*start, *end) inside the plane (empty when *end == *start) and its sum
 * is divided by *divisor. torch's windows: adaptive ones are its
 * start_index / end_index in exact integers; avg_pool2d's divisor counts
 * the padding unless exclude_pad. */
static NBI_HOST_DEVICE inline void nbi_window_bounds(const nbi_window_spec *spec, int d, int64_t o, int64_t *start,
                                                     int64_t *end, int64_t *divisor)
{
    int64_t size = d == 0 ? spec->height : spec->width, out = d == 0 ? spec->out_h : spec->out_w;
    if (spec->adaptive) {
        *start   = o * size / out;
        *end     = ((o + 1) * size + out - 1) / out;
        *divisor = *end - *start;
        return;
    }
    int64_t first = o * spec->stride[d] - spec->padding[d];
    int64_t last  = first + spec->kernel[d];
    if (last > size + spec->padding[d]) last = size + spec->padding[d];
    int64_t pool = last - first; /* counts the padding */
    if (first < 0) first = 0;
    if (last > size) last = size;
    if (last < first) last = first;
    *start   = first;
    *end     = last;
    *divisor = spec->exclude_pad ? last - first : pool;
}

#ifdef __cplusplus
}
#endif

#endif /* NABLA_POOL_ARGS_H */
