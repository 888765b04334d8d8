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
#include "../core/creation_args.h"
#include "../core/index_args.h"
#include "../core/iter.h"
#include "../core/loss_args.h"
#include "../core/matmul_args.h"
#include "../core/optim_args.h"
#include "../core/reduce_args.h"
#include "../core/sort_args.h"
#include "../core/op_ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The dtypes CUDA kernels exist for (issue 13's float16, bfloat16, int8
 * and int16 have none yet). */
static inline bool nbi_cuda_has_dtype(nb_dtype dtype)
{
    return dtype == NB_FLOAT32 || dtype == NB_FLOAT64 || dtype == NB_INT64 || dtype == NB_INT32 ||
           dtype == NB_UINT8 || dtype == NB_BOOL;
}

/* elementwise.cu: every ops.def row, every dtype its CPU loop takes. The
 * iterator's device field names the GPU. */
bool nbi_cuda_unary_supported(int op, nb_dtype dtype);
bool nbi_cuda_binary_supported(int op, nb_dtype dtype);
void nbi_cuda_unary(const nbi_iter *it, nbi_unary_op op, nb_dtype dtype, const nbi_op_params *params);
int  nbi_cuda_binary(const nbi_iter *it, nbi_binary_op op, nb_dtype dtype);
void nbi_cuda_where(const nbi_iter *it, nb_dtype dtype);
void nbi_cuda_relu_backward(const nbi_iter *it, nb_dtype dtype);
void nbi_cuda_cast(const nbi_iter *it, nb_dtype from, nb_dtype to);

/* creation.cu: fills, arange/linspace, random fills (Philox keyed as on the
 * CPU: uniform and integer values bit-identical). */
void nbi_cuda_fill(const nbi_iter *it, nb_dtype dtype, const nbi_element *value);
void nbi_cuda_range(nbi_range_kind kind, const nbi_range_args *args);
void nbi_cuda_random(nbi_random_kind kind, const nbi_random_args *args);

/* Codes of the entries below that return int, besides 0 and a
 * cudaError_t (out of memory is cudaErrorMemoryAllocation): cuBLAS
 * refused (cudaErrorUnknown's value), and an input larger than a vendor
 * library takes. */
enum { NBI_CUDA_OUT_OF_MEMORY = 2 /* cudaErrorMemoryAllocation */, NBI_CUDA_CUBLAS_FAILED = 999,
       NBI_CUDA_TOO_LARGE = 1000 };

/* reduce.cu: every reduce.def reduction (float32, float64, int64, int32,
 * uint8, bool; the float-only rows for floats). */
bool nbi_cuda_reduce_supported(int op, nb_dtype dtype);
void nbi_cuda_reduce(const nbi_reduce_plan *plan, const nbi_reduce_job *job);
/* lines.cu: cumsum, cumprod, cummax, cummin (the same dtypes); softmax,
 * log_softmax (floats). */
bool nbi_cuda_line_supported(int op, nb_dtype dtype);
void nbi_cuda_line(const nbi_line_plan *plan, nbi_line_op op);

/* sort.cu: sort and topk (CUB's segmented radix sort) of every dtype the
 * backend has; 0 or a code. */
int nbi_cuda_sort(const nbi_sort_args *args);

/* select.cu: masked_select and nonzero, as the backend's select entry; a
 * negative count when the counting call failed: */
enum { NBI_CUDA_SELECT_OOM = -1, NBI_CUDA_SELECT_FAILED = -2 };
int64_t nbi_cuda_select(nbi_index_op op, nbi_select_args *args);

/* loss.cu: the fused cross-entropy. The forward returns NB_OK, or the
 * status to report (its message is for backend.c to write). */
nb_status nbi_cuda_cross_entropy_forward(const nbi_cross_entropy_rows *rows, nb_reduction reduction, void *loss);
void      nbi_cuda_cross_entropy_backward(const nbi_cross_entropy_rows *rows, const nbi_loss_grad *grad_loss,
                                          void *grad_logits);

/* index.cu: gather, scatter(_add), range checks, one_hot, masked_fill. */
bool    nbi_cuda_index_supported(int op, nb_dtype dtype);
int64_t nbi_cuda_index_check(const nbi_walk *index, int64_t size, int64_t *bad_value);
void    nbi_cuda_index_min_max(const nbi_walk *index, int64_t *min, int64_t *max);
void    nbi_cuda_gather(const nbi_gather_args *args);
void    nbi_cuda_scatter(const nbi_gather_args *args, bool accumulate);
void    nbi_cuda_masked_fill(const nbi_iter *it, nb_dtype dtype, const nbi_element *value);
void    nbi_cuda_one_hot(const nbi_walk *classes, int64_t *out, int64_t num_classes);

/* matmul.cu: the batched product (cuBLAS for floats); 0, a cudaError_t, or
 * NBI_CUDA_CUBLAS_FAILED when cuBLAS refused. */
int nbi_cuda_matmul(const nbi_matmul_args *args);

/* optim.cu: the fused optimizer steps. */
void nbi_cuda_sgd_step(const nbi_optim_param *param, void *momentum_buffer, const nbi_sgd_hyper *hyper);
void nbi_cuda_adam_step(const nbi_optim_param *param, void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq,
                        const nbi_adam_hyper *hyper);
void nbi_cuda_rmsprop_step(const nbi_optim_param *param, void *square_avg, void *momentum_buffer, void *grad_avg,
                           const nbi_rmsprop_hyper *hyper);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_CUDA_KERNELS_H */
