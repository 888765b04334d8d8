/*
 * matmul_args.h — what a device's matrix-product entry takes (the matmul
 * entry of core/backend.h): one description of a whole, possibly batched
 * and broadcast, product
 *
 *   C[b] (m x n) = A[b] (m x k) B[b] (k x n)   for every index b of the batch
 *
 * in elements and raw pointers, with no tensors. The op (ops/linalg.c) has
 * lined the operands up (1-D operands as a row or a column, broadcast batch
 * dims as stride 0), copied those no layout fits, and folded a batch of
 * rows into one tall product where it could.
 *
 * Each operand is described twice, for the two kinds of kernels:
 * - float32 and float64 (GEMM): BLAS's row-major layout, trans and ld as in
 *   cpu/gemm.h. Not transposed, A is stored m x k (element (i, p) at
 *   a[i * lda + p], lda >= max(1, k)); transposed, k x m (element (i, p) at
 *   a[p * lda + i], lda >= max(1, m)). Likewise B, k x n or n x k.
 * - the integer dtypes: any element strides (row_stride, col_stride; 0 for
 *   a broadcast row or column): element (i, p) of A at a[i * row + p * col].
 * Batch strides are in elements, 0 along a dim the operand is broadcast in.
 *
 * A CUDA backend maps it to cuBLAS: row-major C = A B is column-major
 * C^T = B^T A^T, so B goes first with the same trans and ld. When the batch
 * is one dim (or dims that collapse into one) with every operand's stride
 * uniform, it is one cublasGemmStridedBatchedEx (a broadcast operand has
 * stride 0); otherwise a loop of cublasGemmEx over the batch index.
 *
 * A plain C header that nvcc also compiles as C++.
 */
#ifndef NABLA_MATMUL_ARGS_H
#define NABLA_MATMUL_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ops of NBI_FAMILY_MATMUL for supports(): whether the product is
 * offered for a dtype (float16 / bfloat16 then widened to float32 by the
 * op), and whether the entry takes a half dtype itself (no widening). */
typedef enum { NBI_MATMUL_PRODUCT = 0, NBI_MATMUL_HALF_NATIVE = 1 } nbi_matmul_op;

/* One input of the product: A or B. */
typedef struct {
    const void *data; /* element (0, 0) of batch element 0 */
    /* float dtypes: the BLAS layout */
    bool    trans;
    int64_t ld;
    /* integer dtypes: elements from one row (column) to the next */
    int64_t row_stride, col_stride;
    /* elements from one batch index to the next along each batch dim */
    int64_t batch_stride[NB_MAX_DIMS];
} nbi_matmul_operand;

typedef struct {
    int                device;     /* index of the device a, b and c live on */
    nb_dtype           dtype;      /* of a, b and c: float32, float64, int64, int32 or uint8 */
    int64_t            m, n, k;    /* m, n >= 1; k == 0 gives zeros */
    int                batch_ndim; /* 0 for one product */
    int64_t            batch_shape[NB_MAX_DIMS];
    nbi_matmul_operand a, b;
    /* (batch..., m, n), contiguous: batch index b's product at b * m * n. */
    void *c;
} nbi_matmul_args;

#ifdef __cplusplus
}
#endif

#endif /* NABLA_MATMUL_ARGS_H */
