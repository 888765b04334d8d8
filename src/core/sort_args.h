/*
 * sort_args.h — what a device's sort kernel takes (core/backend.h): every
 * line ("slice") of a tensor along one dim, sorted, with the first k of each
 * written out. One description serves nb_sort (k = n) and nb_topk.
 *
 * A plain C header that nvcc also compiles as C++ (no internal.h).
 */
#ifndef NABLA_SORT_ARGS_H
#define NABLA_SORT_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The order is torch's stable sort: NaN above +inf and equal to every NaN,
 * -0.0 equal to 0.0, ties in input order (in both directions). Slices are
 * numbered row-major over every dim but dim; values and indices have the
 * input's shape with k along dim. A 0-d input is one slice of one element
 * (ndim 0, n = k = 1). */
typedef struct {
    int         device;
    nb_dtype    dtype;
    int         ndim;
    int64_t     shape[NB_MAX_DIMS]; /* the input's */
    int         dim;
    int64_t     n; /* slice length: shape[dim] (1 for 0-d) */
    int64_t     k; /* 1 <= k <= n */
    bool        descending;
    const char *input;
    int64_t     input_stride[NB_MAX_DIMS]; /* bytes */
    char       *values;
    int64_t     values_stride[NB_MAX_DIMS];  /* bytes */
    int64_t    *indices;                     /* positions along dim, or NULL */
    int64_t     indices_stride[NB_MAX_DIMS]; /* bytes */
    const char *op;                          /* the op's name, for the out-of-memory message */
} nbi_sort_args;

#ifdef __cplusplus
}
#endif

#endif /* NABLA_SORT_ARGS_H */
