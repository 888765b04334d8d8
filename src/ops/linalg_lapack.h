/*
 * linalg_lapack.h — what the LAPACK-backed ops (ops/linalg_lapack.c) and
 * their derivatives (autograd/linalg_lapack_derivatives.c) share: each op
 * is one node made by nb_function_apply, whose forward is in the op file
 * and whose backward is in the derivatives file.
 */
#ifndef NABLA_LINALG_LAPACK_H
#define NABLA_LINALG_LAPACK_H

#include "nabla.h"

/* Options of a node, reached through nb_ctx_user: static tables, since a
 * node outlives the call that made it. */
typedef struct {
    bool upper;    /* cholesky, eigh */
    bool complete; /* qr, svd */
} nbi_linalg_flags;

nb_status nbi_solve_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                             nb_tensor **grad_inputs, int n_inputs);
nb_status nbi_inv_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                           nb_tensor **grad_inputs, int n_inputs);
nb_status nbi_det_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                           nb_tensor **grad_inputs, int n_inputs);
nb_status nbi_slogdet_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                               nb_tensor **grad_inputs, int n_inputs);
nb_status nbi_cholesky_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                                nb_tensor **grad_inputs, int n_inputs);
nb_status nbi_eigh_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                            nb_tensor **grad_inputs, int n_inputs);
nb_status nbi_qr_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                          nb_tensor **grad_inputs, int n_inputs);
nb_status nbi_svd_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                           nb_tensor **grad_inputs, int n_inputs);
nb_status nbi_lstsq_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                             nb_tensor **grad_inputs, int n_inputs);

#endif /* NABLA_LINALG_LAPACK_H */
