/*
 * elementwise_derivatives.h — the backward formulas of ops.def's rows,
 * indexed like the kernel tables (NULL for NONDIFF rows), for the
 * elementwise front doors to record with.
 */
#ifndef NABLA_ELEMENTWISE_DERIVATIVES_H
#define NABLA_ELEMENTWISE_DERIVATIVES_H

#include "autograd.h"
#include "core/op_ids.h"

extern const nbi_backward_fn nbi_unary_backward[NBI_NUM_UNARY];
extern const nbi_backward_fn nbi_binary_backward[NBI_NUM_BINARY];
extern const nbi_backward_fn nbi_where_backward;

/* g where x > 0, else 0, in one fused pass (the composite g * (x > 0) when
 * recording or for mismatched inputs). A new handle. */
nb_tensor *nbi_relu_backward(const nb_tensor *g, const nb_tensor *x);

#endif
