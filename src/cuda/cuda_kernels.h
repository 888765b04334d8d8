/*
 * cuda_kernels.h — the CUDA kernels' entry points, in the backend table's
 * own signatures (core/backend.h), for cuda/backend.c to put in the table.
 * A plain C header that the .cu files also include (as C++), so it uses
 * only the C++-compatible core headers: iter.h and op_ids.h.
 */
#ifndef NABLA_CUDA_KERNELS_H
#define NABLA_CUDA_KERNELS_H

#include <stdbool.h>

#include "../core/formulas.h"
#include "../core/iter.h"
#include "../core/op_ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/* elementwise.cu: every ops.def row, every dtype its CPU loop takes. The
 * iterator's device field names the GPU. */
bool nbi_cuda_unary_supported(int op, nb_dtype dtype);
bool nbi_cuda_binary_supported(int op, nb_dtype dtype);
void nbi_cuda_unary(const nbi_iter *it, nbi_unary_op op, nb_dtype dtype, const nbi_op_params *params);
int  nbi_cuda_binary(const nbi_iter *it, nbi_binary_op op, nb_dtype dtype);
void nbi_cuda_where(const nbi_iter *it, nb_dtype dtype);
void nbi_cuda_relu_backward(const nbi_iter *it, nb_dtype dtype);
void nbi_cuda_cast(const nbi_iter *it, nb_dtype from, nb_dtype to);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_CUDA_KERNELS_H */
