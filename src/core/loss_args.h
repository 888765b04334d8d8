/*
 * loss_args.h — what a device's fused cross-entropy takes (the fused-loss
 * entries of core/backend.h): the classification case of every training
 * loop, (rows, classes) logits against int64 class indices, without class
 * weights, ignore_index or label smoothing (nn/cross_entropy.c takes the
 * composite for the rest, and tests the fused kernels against it).
 *
 * Pointers are memory of the device that runs the kernel; the op has
 * checked the shapes and every target index. A plain C header that nvcc
 * also compiles as C++.
 */
#ifndef NABLA_LOSS_ARGS_H
#define NABLA_LOSS_ARGS_H

#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

/* R rows, C classes. */
typedef struct {
    int            device;  /* index of the device every pointer is on */
    nb_dtype       dtype;   /* NB_FLOAT32 or NB_FLOAT64: of logits, the loss and the gradient */
    int64_t        rows;    /* R */
    int64_t        classes; /* C */
    const void    *logits;  /* (R, C), contiguous */
    const int64_t *target;  /* (R), contiguous, each in [0, C) */
} nbi_cross_entropy_rows;

/* The loss's gradient as the backward reads it: row i's scale is
 * values[i * step] (of dtype) times factor. */
typedef struct {
    const void *values;
    nb_dtype    dtype;
    int64_t     step;   /* elements; 0: one value for every row (a reduced loss) */
    double      factor; /* 1 / R for a mean, else 1 */
} nbi_loss_grad;

#ifdef __cplusplus
}
#endif

#endif /* NABLA_LOSS_ARGS_H */
