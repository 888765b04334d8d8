/*
 * elementwise.h — what the front doors of ops.def's parametrised rows
 * (src/ops/elementwise_params.c) share with src/ops/elementwise.c.
 */
#ifndef NABLA_OPS_ELEMENTWISE_H
#define NABLA_OPS_ELEMENTWISE_H

#include "core/formulas.h"
#include "core/op_ids.h"

/* op(t) with params after the checks every unary row makes (tensor,
 * device, the row's dtypes, the backend): a new tensor recorded for
 * autograd, or t itself changed in place. name is the public function's. */
nb_tensor *nbi_run_unary(nbi_unary_op op, const char *name, const nb_tensor *t, const nbi_op_params *params,
                         bool in_place);

#endif
