/*
 * op_ids.h — the ids of the primitive ops, generated from the op tables in
 * this folder (ops.def, reduce.def), so that every layer (the kernels in
 * src/cpu, the front doors in src/ops, the formulas in src/autograd) names an
 * op the same way without including a layer above it.
 */
#ifndef NABLA_OP_IDS_H
#define NABLA_OP_IDS_H

#define NBI_UNARY(name, dtypes, result, grad, saves)             NBI_UNARY_##name,
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves) NBI_UNARY_##name,
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b)
typedef enum {
#include "ops.def"
    NBI_NUM_UNARY
} nbi_unary_op;
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY

#define NBI_UNARY(name, dtypes, result, grad, saves)
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b) NBI_BINARY_##name,
typedef enum {
#include "ops.def"
    NBI_NUM_BINARY
} nbi_binary_op;
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY

#define NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims) NBI_REDUCE_##name,
#define NBI_REDUCE_WITH_PARAMS(name, dtypes, out, grad, formula, saves, node_all, node_dims) NBI_REDUCE_##name,
#define NBI_LINE(name, dtypes, out, grad, formula, saves, node)
typedef enum {
#include "reduce.def"
    NBI_NUM_REDUCE
} nbi_reduce_op;
#undef NBI_REDUCE
#undef NBI_REDUCE_WITH_PARAMS
#undef NBI_LINE

#define NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_REDUCE_WITH_PARAMS(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_LINE(name, dtypes, out, grad, formula, saves, node) NBI_LINE_##name,
typedef enum {
#include "reduce.def"
    NBI_NUM_LINE
} nbi_line_op;
#undef NBI_REDUCE
#undef NBI_REDUCE_WITH_PARAMS
#undef NBI_LINE

#endif /* NABLA_OP_IDS_H */
