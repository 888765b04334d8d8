/*
 * linalg_lapack.c — torch.linalg's factorizations and solves: solve, inv,
 * det, slogdet, cholesky, qr, eigh, eigvalsh, svd, svdvals, lstsq, pinv.
 *
 * Each op checks its arguments, then runs as one node of nb_function_apply:
 * the forward here copies its input matrices to a contiguous batch (A is
 * (*, m, n): * the batch dims, broadcast between two operands), runs the
 * device's LAPACK entry (core/lapack_args.h) and reads LAPACK's info; the
 * backward formulas are in autograd/linalg_lapack_derivatives.c. pinv is a
 * composite of svd.
 *
 * Without LAPACK (a build without OpenBLAS) and on devices whose table has
 * no LAPACK entry (CUDA), every op here fails with NB_ERR_UNSUPPORTED
 * before it computes anything, empty inputs included.
 */
#include <float.h>
#include <limits.h>
#include <math.h>

#include "autograd/autograd.h"
#include "core/backend.h"
#include "linalg_lapack.h"

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */
/* ------------------------------------------------------------------------ */

static bool check_lapack(const nb_tensor *t, nbi_lapack_op lapack_op, const char *op)
{
    const nbi_backend *backend = nbi_backend_of(t);
    if (backend->lapack != NULL && backend->supports(NBI_FAMILY_LAPACK, (int)lapack_op, t->dtype)) return true;
    if (t->storage->device.type == NB_CPU) {
        nbi_fail(NB_ERR_UNSUPPORTED,
                 "%s: this build of nabla has no LAPACK (it was built without OpenBLAS: configure with "
                 "NB_USE_OPENBLAS=ON and OpenBLAS installed)",
                 op);
        return false;
    }
    return nbi_check_supported(backend, NBI_FAMILY_LAPACK, (int)lapack_op, t->dtype, op);
}

/* t: a float32/float64 batch of matrices (*, m, n), square if asked; the
 * device's LAPACK op is checked after every argument (check_matrices). */
static bool check_matrix_args(const nb_tensor *t, bool square, const char *op, const char *name)
{
    char buf[NBI_SHAPE_STR_SIZE];
    if (!nbi_check_tensor(t, op, name) || !nbi_check_device1(op, t, name)) return false;
    if (t->ndim < 2) {
        nbi_fail(NB_ERR_SHAPE, "%s: %s must have at least 2 dims (a batch of matrices), got shape %s", op, name,
                 nbi_shape_str(t->ndim, t->shape, buf, sizeof buf));
        return false;
    }
    int64_t m = t->shape[t->ndim - 2], n = t->shape[t->ndim - 1];
    if (square && m != n) {
        nbi_fail(NB_ERR_SHAPE, "%s: %s must be a batch of square matrices, got shape %s", op, name,
                 nbi_shape_str(t->ndim, t->shape, buf, sizeof buf));
        return false;
    }
    if (t->dtype != NB_FLOAT32 && t->dtype != NB_FLOAT64) { /* halves too, as torch's CPU LAPACK ops */
        nbi_fail(NB_ERR_DTYPE, "%s: %s must be float32 or float64, got %s", op, name, nb_dtype_name(t->dtype));
        return false;
    }
    /* LAPACK counts in 32-bit integers. */
    if (m > INT_MAX / 8 || n > INT_MAX / 8 || (m > 0 && n > INT_MAX / 8 / m)) {
        nbi_fail(NB_ERR_ARG, "%s: %s of shape %s is too large for LAPACK's 32-bit sizes", op, name,
                 nbi_shape_str(t->ndim, t->shape, buf, sizeof buf));
        return false;
    }
    return true;
}

static bool check_matrices(const nb_tensor *t, bool square, nbi_lapack_op lapack_op, const char *op, const char *name)
{
    return check_matrix_args(t, square, op, name) && check_lapack(t, lapack_op, op);
}

/* A second operand B: same dtype and device as A. */
static bool check_pair(const nb_tensor *A, const nb_tensor *B, const char *op)
{
    const nb_tensor   *operands[2] = { A, B };
    static const char *names[2]    = { "A", "B" };
    if (!nbi_check_tensor(B, op, "B") || !nbi_check_device(op, 2, operands, names)) return false;
    if (B->dtype != A->dtype) {
        nbi_fail(NB_ERR_DTYPE, "%s: expected A and B to have the same dtype, got %s and %s", op,
                 nb_dtype_name(A->dtype), nb_dtype_name(B->dtype));
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Running the device's entry                                                */
/* ------------------------------------------------------------------------ */

static int64_t batch_of(const nb_tensor *t, int matrix_dims)
{
    return nbi_shape_numel(t->ndim - matrix_dims, t->shape);
}

/* " (batch element 3)" for a batch, "" for one matrix. */
static const char *batch_note(const nb_tensor *t, int64_t index, char *buf, size_t size)
{
    if (t->ndim <= 2) return "";
    snprintf(buf, size, " (batch element %lld)", (long long)index);
    return buf;
}

/* Runs args (batch and pointers filled) on like's device; *bad gets the
 * first batch index whose LAPACK info is not 0 (-1 when none) and *bad_info
 * that info. */
static bool run_lapack(nbi_lapack_args *args, const nb_tensor *like, const char *op, int64_t *bad, int64_t *bad_info)
{
    *bad          = -1;
    size_t   size = (size_t)args->batch * sizeof(int64_t);
    int64_t *info = nbi_host_alloc(size);
    if (info == NULL) {
        nbi_fail(NB_ERR_OOM, "%s: out of memory for %zu bytes", op, size);
        return false;
    }
    args->device = like->storage->device.index;
    args->dtype  = like->dtype;
    args->info   = info;
    bool ok      = nbi_backend_of(like)->lapack(args) == NB_OK;
    if (!ok) nbi_entry_failed(op);
    for (int64_t i = 0; ok && i < args->batch; i++)
        if (info[i] != 0) {
            *bad      = i;
            *bad_info = info[i];
            break;
        }
    nbi_host_release(info, size);
    return ok;
}

/* A new tensor of the given matrix shape after t's first batch_ndim dims. */
static nb_tensor *empty_batch(const nb_tensor *t, int batch_ndim, int matrix_ndim, const int64_t *matrix_shape)
{
    int64_t shape[NB_MAX_DIMS];
    for (int d = 0; d < batch_ndim; d++) shape[d] = t->shape[d];
    for (int d = 0; d < matrix_ndim; d++) shape[batch_ndim + d] = matrix_shape[d];
    return nbi_empty(batch_ndim + matrix_ndim, shape, t->dtype, t->storage->device);
}

static nb_tensor *zeros_batch(const nb_tensor *t, int batch_ndim, int matrix_ndim, const int64_t *matrix_shape)
{
    nb_tensor *out = empty_batch(t, batch_ndim, matrix_ndim, matrix_shape);
    if (out != NULL && out->numel > 0 && nb_fill_(out, 0) == NULL) {
        nb_free(out);
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------------------ */
/* solve and inv                                                             */
/* ------------------------------------------------------------------------ */

/* torch 1.13's rule: B is a batch of vectors when it is 1-D, or when it has
 * one dim fewer than A and A's shape without its last dim. */
static bool solve_rhs_is_vector(const nb_tensor *A, const nb_tensor *B)
{
    if (B->ndim == 1) return true;
    if (B->ndim != A->ndim - 1) return false;
    for (int d = 0; d < B->ndim; d++)
        if (B->shape[d] != A->shape[d]) return false;
    return true;
}

/* X = A^-1 B for A (*, n, n) and B (*, n, k), batch dims broadcast. */
static nb_tensor *solve_matrices(const nb_tensor *A, const nb_tensor *B, const char *op)
{
    char    buf_a[NBI_SHAPE_STR_SIZE], buf_b[NBI_SHAPE_STR_SIZE];
    int64_t n = A->shape[A->ndim - 1], k = B->shape[B->ndim - 1];
    if (B->shape[B->ndim - 2] != n)
        return nbi_fail(NB_ERR_SHAPE, "%s: A %s and B %s cannot be solved (%lld != %lld rows)", op,
                        nbi_shape_str(A->ndim, A->shape, buf_a, sizeof buf_a),
                        nbi_shape_str(B->ndim, B->shape, buf_b, sizeof buf_b), (long long)B->shape[B->ndim - 2],
                        (long long)n);
    nb_shape batch_a = { .ndim = A->ndim - 2 }, batch_b = { .ndim = B->ndim - 2 }, batch;
    for (int d = 0; d < batch_a.ndim; d++) batch_a.dims[d] = A->shape[d];
    for (int d = 0; d < batch_b.ndim; d++) batch_b.dims[d] = B->shape[d];
    if (nb_broadcast_shapes(batch_a, batch_b, &batch) != NB_OK)
        return nbi_fail(NB_ERR_SHAPE, "%s: the batch dims of A %s and B %s do not broadcast", op,
                        nbi_shape_str(A->ndim, A->shape, buf_a, sizeof buf_a),
                        nbi_shape_str(B->ndim, B->shape, buf_b, sizeof buf_b));
    nb_shape shape_a = batch, shape_b = batch;
    shape_a.dims[shape_a.ndim++] = n;
    shape_a.dims[shape_a.ndim++] = n;
    shape_b.dims[shape_b.ndim++] = n;
    shape_b.dims[shape_b.ndim++] = k;
    nb_tensor *X = nbi_empty(shape_b.ndim, shape_b.dims, A->dtype, A->storage->device);
    if (X == NULL || X->numel == 0) return X;
    nb_tensor *a = nb_contiguous(nb_expand(A, shape_a));
    nb_tensor *b = a ? nb_contiguous(nb_expand(B, shape_b)) : NULL;
    int64_t    bad = -1, info = 0;
    bool       ok  = b != NULL;
    if (ok) {
        nbi_lapack_args args = { .op = NBI_LAPACK_SOLVE, .batch = batch_of(X, 2), .m = n, .n = n, .k = k,
                                 .a = nbi_ptr(a), .b = nbi_ptr(b), .out0 = nbi_ptr(X) };
        ok = run_lapack(&args, A, op, &bad, &info);
    }
    if (ok && bad >= 0) {
        char note[48];
        nbi_fail(NB_ERR_ARG, "%s: the matrix A%s is singular (U[%lld][%lld] of its LU factorization is exactly zero)",
                 op, batch_note(X, bad, note, sizeof note), (long long)info - 1, (long long)info - 1);
        ok = false;
    }
    if (!ok) {
        nb_free(X);
        X = NULL;
    }
    return X;
}

static nb_status solve_forward(nb_function_ctx *ctx, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                               int n_outputs)
{
    (void)n_inputs, (void)n_outputs;
    const nb_tensor *A = inputs[0], *B = inputs[1];
    if (nb_scope_begin() != NB_OK) return nb_last_status();
    bool       vector = solve_rhs_is_vector(A, B);
    nb_tensor *X      = solve_matrices(A, vector ? nb_unsqueeze(B, -1) : B, "nb_linalg_solve");
    if (X != NULL && vector) X = nb_squeeze_dim(X, -1);
    if (X != NULL) X = nb_contiguous(X);
    nb_status status = X ? nb_ctx_save_for_backward(ctx, (nb_tensor *const[]){ inputs[0], inputs[1], X }, 3)
                         : nb_last_status();
    if (status == NB_OK) outputs[0] = nb_keep(X);
    nb_scope_end();
    return status;
}

static nb_status inv_forward(nb_function_ctx *ctx, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                             int n_outputs)
{
    (void)n_inputs, (void)n_outputs;
    const nb_tensor *A = inputs[0];
    if (nb_scope_begin() != NB_OK) return nb_last_status();
    int64_t    n        = A->shape[A->ndim - 1];
    nb_tensor *identity = nb_eye(n, n, NB_OPTS(.dtype = A->dtype, .device = A->storage->device));
    nb_tensor *X        = identity ? solve_matrices(A, identity, "nb_linalg_inv") : NULL;
    if (X != NULL && !nbi_same_shape(X, A)) X = nb_contiguous(nb_expand(X, nb_shape_of(A))); /* A empty */
    nb_status status = X ? nb_ctx_save_for_backward(ctx, (nb_tensor *const[]){ inputs[0], X }, 2) : nb_last_status();
    if (status == NB_OK) outputs[0] = nb_keep(X);
    nb_scope_end();
    return status;
}

static const nb_function_def solve_def = { "LinalgSolveExBackward0", solve_forward, nbi_solve_backward };
static const nb_function_def inv_def   = { "LinalgInvExBackward0", inv_forward, nbi_inv_backward };

/* One output of a function node, or NULL. */
static nb_tensor *apply1(const nb_function_def *def, nb_tensor *const *inputs, int n_inputs, const void *user)
{
    nb_tensor *out = NULL;
    if (nb_function_apply(def, inputs, n_inputs, &out, 1, (void *)user) != NB_OK) return NULL;
    return out;
}

nb_tensor *nb_linalg_solve(const nb_tensor *A, const nb_tensor *B)
{
    const char *op = "nb_linalg_solve";
    if (!check_matrix_args(A, true, op, "A") || !check_pair(A, B, op)) return NULL;
    if (B->ndim == 0)
        return nbi_fail(NB_ERR_SHAPE, "%s: B must have at least 1 dim, got a 0-d tensor", op);
    if (solve_rhs_is_vector(A, B) ? B->shape[B->ndim - 1] != A->shape[A->ndim - 1]
                                  : B->ndim < 2 || B->shape[B->ndim - 2] != A->shape[A->ndim - 1]) {
        char buf_a[NBI_SHAPE_STR_SIZE], buf_b[NBI_SHAPE_STR_SIZE];
        return nbi_fail(NB_ERR_SHAPE, "%s: A %s and B %s cannot be solved (B's rows must match A's size)", op,
                        nbi_shape_str(A->ndim, A->shape, buf_a, sizeof buf_a),
                        nbi_shape_str(B->ndim, B->shape, buf_b, sizeof buf_b));
    }
    if (!check_lapack(A, NBI_LAPACK_SOLVE, op)) return NULL;
    return apply1(&solve_def, (nb_tensor *const[]){ (nb_tensor *)A, (nb_tensor *)B }, 2, NULL);
}

nb_tensor *nb_linalg_inv(const nb_tensor *A)
{
    if (!check_matrices(A, true, NBI_LAPACK_SOLVE, "nb_linalg_inv", "A")) return NULL;
    return apply1(&inv_def, (nb_tensor *const[]){ (nb_tensor *)A }, 1, NULL);
}

/* ------------------------------------------------------------------------ */
/* det and slogdet                                                           */
/* ------------------------------------------------------------------------ */

/* sign, log|det| and det of A (*, n, n), each (*); n == 0 gives 1, 0, 1. */
static bool lu_det(const nb_tensor *A, nb_tensor **sign, nb_tensor **logabs, nb_tensor **det, const char *op)
{
    int        batch_ndim = A->ndim - 2;
    int64_t    n          = A->shape[A->ndim - 1];
    nb_tensor *out[3];
    for (int k = 0; k < 3; k++) out[k] = empty_batch(A, batch_ndim, 0, NULL);
    bool ok = out[0] && out[1] && out[2];
    if (ok && out[0]->numel > 0 && n == 0) {
        ok = nb_fill_(out[0], 1) && nb_fill_(out[1], 0) && nb_fill_(out[2], 1);
    } else if (ok && out[0]->numel > 0) {
        nb_tensor *a = nb_contiguous(A);
        int64_t    bad, info;
        ok           = a != NULL;
        if (ok) {
            nbi_lapack_args args = { .op = NBI_LAPACK_LU_DET, .batch = out[0]->numel, .m = n, .n = n,
                                     .a = nbi_ptr(a), .out0 = nbi_ptr(out[0]), .out1 = nbi_ptr(out[1]),
                                     .out2 = nbi_ptr(out[2]) };
            ok = run_lapack(&args, A, op, &bad, &info); /* info > 0: singular, det 0 (not an error) */
        }
        nb_free(a);
    }
    if (!ok) {
        for (int k = 0; k < 3; k++) nb_free(out[k]);
        return false;
    }
    *sign   = out[0];
    *logabs = out[1];
    *det    = out[2];
    return true;
}

static nb_status det_forward(nb_function_ctx *ctx, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                             int n_outputs)
{
    (void)n_inputs, (void)n_outputs;
    nb_tensor *sign, *logabs, *det;
    if (!lu_det(inputs[0], &sign, &logabs, &det, "nb_linalg_det")) return nb_last_status();
    nb_free(sign);
    nb_free(logabs);
    nb_status status = nb_ctx_save_for_backward(ctx, (nb_tensor *const[]){ inputs[0], det }, 2);
    if (status != NB_OK) nb_free(det);
    else outputs[0] = det;
    return status;
}

static nb_status slogdet_forward(nb_function_ctx *ctx, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                                 int n_outputs)
{
    (void)n_inputs, (void)n_outputs;
    nb_tensor *sign, *logabs, *det;
    if (!lu_det(inputs[0], &sign, &logabs, &det, "nb_linalg_slogdet")) return nb_last_status();
    nb_free(det);
    /* NOTE: sign stays an output of the node, as torch's (it requires grad
     * and its grad_fn is LinalgSlogdetBackward0); the formula ignores its
     * gradient. */
    nb_status status = nb_ctx_save_for_backward(ctx, (nb_tensor *const[]){ inputs[0] }, 1);
    if (status != NB_OK) {
        nb_free(sign);
        nb_free(logabs);
        return status;
    }
    outputs[0] = sign;
    outputs[1] = logabs;
    return NB_OK;
}

static const nb_function_def det_def     = { "LinalgDetBackward0", det_forward, nbi_det_backward };
static const nb_function_def slogdet_def = { "LinalgSlogdetBackward0", slogdet_forward, nbi_slogdet_backward };

nb_tensor *nb_linalg_det(const nb_tensor *A)
{
    if (!check_matrices(A, true, NBI_LAPACK_LU_DET, "nb_linalg_det", "A")) return NULL;
    return apply1(&det_def, (nb_tensor *const[]){ (nb_tensor *)A }, 1, NULL);
}

nb_tensor *nb_linalg_slogdet(const nb_tensor *A, nb_tensor **logabsdet)
{
    if (logabsdet != NULL) *logabsdet = NULL;
    if (!check_matrices(A, true, NBI_LAPACK_LU_DET, "nb_linalg_slogdet", "A")) return NULL;
    if (logabsdet == NULL) return nbi_fail(NB_ERR_ARG, "nb_linalg_slogdet: logabsdet (where the result goes) is NULL");
    nb_tensor *out[2] = { NULL, NULL };
    if (nb_function_apply(&slogdet_def, (nb_tensor *const[]){ (nb_tensor *)A }, 1, out, 2, NULL) != NB_OK) return NULL;
    *logabsdet = out[1];
    return out[0];
}

/* ------------------------------------------------------------------------ */
/* cholesky                                                                  */
/* ------------------------------------------------------------------------ */

static const nbi_linalg_flags lower_flags = { .upper = false }, upper_flags = { .upper = true };
static const nbi_linalg_flags reduced_flags = { .complete = false }, complete_flags = { .complete = true };

static nb_status cholesky_forward(nb_function_ctx *ctx, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                                  int n_outputs)
{
    (void)n_inputs, (void)n_outputs;
    const char             *op    = "nb_linalg_cholesky";
    const nbi_linalg_flags *flags = nb_ctx_user(ctx);
    const nb_tensor        *A     = inputs[0];
    int64_t                 n     = A->shape[A->ndim - 1];
    nb_tensor              *L     = empty_batch(A, A->ndim, 0, NULL);
    if (L == NULL) return nb_last_status();
    if (L->numel > 0) {
        nb_tensor *a = nb_contiguous(A);
        int64_t    bad = -1, info = 0;
        bool       ok  = a != NULL;
        if (ok) {
            nbi_lapack_args args = { .op = NBI_LAPACK_CHOLESKY, .batch = batch_of(A, 2), .m = n, .n = n,
                                     .upper = flags->upper, .a = nbi_ptr(a), .out0 = nbi_ptr(L) };
            ok = run_lapack(&args, A, op, &bad, &info);
        }
        nb_free(a);
        if (ok && bad >= 0) {
            char note[48];
            nbi_fail(NB_ERR_ARG,
                     "%s: the matrix A%s is not positive-definite (its leading minor of order %lld is not "
                     "positive-definite)",
                     op, batch_note(A, bad, note, sizeof note), (long long)info);
            ok = false;
        }
        if (!ok) {
            nb_free(L);
            return nb_last_status();
        }
    }
    nb_status status = nb_ctx_save_for_backward(ctx, (nb_tensor *const[]){ inputs[0], L }, 2);
    if (status != NB_OK) nb_free(L);
    else outputs[0] = L;
    return status;
}

static const nb_function_def cholesky_def = { "LinalgCholeskyExBackward0", cholesky_forward, nbi_cholesky_backward };

nb_tensor *nb_linalg_cholesky(const nb_tensor *A, bool upper)
{
    if (!check_matrices(A, true, NBI_LAPACK_CHOLESKY, "nb_linalg_cholesky", "A")) return NULL;
    return apply1(&cholesky_def, (nb_tensor *const[]){ (nb_tensor *)A }, 1, upper ? &upper_flags : &lower_flags);
}

/* ------------------------------------------------------------------------ */
/* qr                                                                        */
/* ------------------------------------------------------------------------ */

/* An identity (m, cols) in every matrix of a batch shaped like t's. */
static nb_tensor *eye_batch(const nb_tensor *t, int64_t m, int64_t cols)
{
    nb_tensor *identity = nb_eye(m, cols, NB_OPTS(.dtype = t->dtype, .device = t->storage->device));
    nb_shape   shape    = { .ndim = t->ndim };
    for (int d = 0; d < t->ndim - 2; d++) shape.dims[d] = t->shape[d];
    shape.dims[t->ndim - 2] = m;
    shape.dims[t->ndim - 1] = cols;
    nb_tensor *expanded     = identity ? nb_expand(identity, shape) : NULL;
    nb_tensor *out          = expanded ? nb_contiguous(expanded) : NULL;
    nb_free(identity);
    nb_free(expanded);
    return out;
}

static nb_status qr_forward(nb_function_ctx *ctx, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                            int n_outputs)
{
    nb_ctx_set_materialize_grads(ctx, false); /* the formula tells a missing gradient from zeros */
    (void)n_inputs, (void)n_outputs;
    const nbi_linalg_flags *flags = nb_ctx_user(ctx);
    const nb_tensor        *A     = inputs[0];
    int64_t m = A->shape[A->ndim - 2], n = A->shape[A->ndim - 1], k = m < n ? m : n, q = flags->complete ? m : k;
    int     bd = A->ndim - 2;
    nb_tensor *Q = NULL, *R = NULL;
    if (m == 0 || n == 0 || batch_of(A, 2) == 0) {
        Q = flags->complete ? eye_batch(A, m, m) : empty_batch(A, bd, 2, (int64_t[]){ m, q });
        R = zeros_batch(A, bd, 2, (int64_t[]){ q, n });
    } else {
        Q              = empty_batch(A, bd, 2, (int64_t[]){ m, q });
        R              = empty_batch(A, bd, 2, (int64_t[]){ q, n });
        nb_tensor *a   = Q && R ? nb_contiguous(A) : NULL;
        int64_t    bad = -1, info = 0;
        if (a != NULL) {
            nbi_lapack_args args = { .op = NBI_LAPACK_QR, .batch = batch_of(A, 2), .m = m, .n = n,
                                     .complete = flags->complete, .a = nbi_ptr(a), .out0 = nbi_ptr(Q),
                                     .out1 = nbi_ptr(R) };
            if (!run_lapack(&args, A, "nb_linalg_qr", &bad, &info)) {
                nb_free(Q);
                Q = NULL;
            }
        }
        nb_free(a);
    }
    nb_status status = Q && R ? nb_ctx_save_for_backward(ctx, (nb_tensor *const[]){ inputs[0], Q, R }, 3) : nb_last_status();
    if (status != NB_OK) {
        nb_free(Q);
        nb_free(R);
        return status;
    }
    outputs[0] = Q;
    outputs[1] = R;
    return NB_OK;
}

static const nb_function_def qr_def = { "LinalgQrBackward0", qr_forward, nbi_qr_backward };

nb_tensor *nb_linalg_qr(const nb_tensor *A, bool complete, nb_tensor **R)
{
    if (R != NULL) *R = NULL;
    if (!check_matrices(A, false, NBI_LAPACK_QR, "nb_linalg_qr", "A")) return NULL;
    if (R == NULL) return nbi_fail(NB_ERR_ARG, "nb_linalg_qr: R (where the second result goes) is NULL");
    nb_tensor *out[2] = { NULL, NULL };
    if (nb_function_apply(&qr_def, (nb_tensor *const[]){ (nb_tensor *)A }, 1, out, 2,
                          (void *)(complete ? &complete_flags : &reduced_flags))
        != NB_OK)
        return NULL;
    *R = out[1];
    return out[0];
}

/* ------------------------------------------------------------------------ */
/* eigh and eigvalsh                                                         */
/* ------------------------------------------------------------------------ */

/* Eigenvalues (*, n) and, when vectors != NULL, eigenvectors (*, n, n). */
static bool eigh_values(const nb_tensor *A, bool upper, nb_tensor **values, nb_tensor **vectors, const char *op)
{
    int64_t    n  = A->shape[A->ndim - 1];
    int        bd = A->ndim - 2;
    nb_tensor *L  = empty_batch(A, bd, 1, (int64_t[]){ n });
    nb_tensor *V  = vectors ? empty_batch(A, bd, 2, (int64_t[]){ n, n }) : NULL;
    bool       ok = L != NULL && (vectors == NULL || V != NULL);
    if (ok && L->numel > 0) {
        nb_tensor *a   = nb_contiguous(A);
        int64_t    bad = -1, info = 0;
        ok             = a != NULL;
        if (ok) {
            nbi_lapack_args args = { .op = NBI_LAPACK_EIGH, .batch = batch_of(A, 2), .m = n, .n = n, .upper = upper,
                                     .a = nbi_ptr(a), .out0 = nbi_ptr(L), .out1 = V ? nbi_ptr(V) : NULL };
            ok = run_lapack(&args, A, op, &bad, &info);
        }
        nb_free(a);
        if (ok && bad >= 0) {
            char note[48];
            nbi_fail(NB_ERR_ARG, "%s: the eigenvalue algorithm did not converge for A%s (LAPACK info %lld)", op,
                     batch_note(A, bad, note, sizeof note), (long long)info);
            ok = false;
        }
    }
    if (!ok) {
        nb_free(L);
        nb_free(V);
        return false;
    }
    *values = L;
    if (vectors) *vectors = V;
    return true;
}

static nb_status eigh_forward(nb_function_ctx *ctx, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                              int n_outputs)
{
    nb_ctx_set_materialize_grads(ctx, false); /* the formula tells a missing gradient from zeros */
    (void)n_inputs;
    const nbi_linalg_flags *flags = nb_ctx_user(ctx);
    nb_tensor              *L, *V = NULL;
    if (!eigh_values(inputs[0], flags->upper, &L, &V, "nb_linalg_eigh")) return nb_last_status();
    nb_status status = nb_ctx_save_for_backward(ctx, (nb_tensor *const[]){ inputs[0], L, V }, 3);
    if (status != NB_OK) {
        nb_free(L);
        nb_free(V);
        return status;
    }
    outputs[0] = L;
    if (n_outputs > 1) outputs[1] = V;
    else nb_free(V);
    return NB_OK;
}

static const nb_function_def eigh_def     = { "LinalgEighBackward0", eigh_forward, nbi_eigh_backward };

nb_tensor *nb_linalg_eigh(const nb_tensor *A, bool upper, nb_tensor **eigenvectors)
{
    if (eigenvectors != NULL) *eigenvectors = NULL;
    if (!check_matrices(A, true, NBI_LAPACK_EIGH, "nb_linalg_eigh", "A")) return NULL;
    nb_tensor *out[2] = { NULL, NULL };
    /* The values alone still need the vectors for their gradient (as torch's eigvalsh). */
    if (nb_function_apply(&eigh_def, (nb_tensor *const[]){ (nb_tensor *)A }, 1, out, eigenvectors ? 2 : 1,
                          (void *)(upper ? &upper_flags : &lower_flags))
        != NB_OK)
        return NULL;
    if (eigenvectors) *eigenvectors = out[1];
    return out[0];
}

nb_tensor *nb_linalg_eigvalsh(const nb_tensor *A, bool upper)
{
    if (!check_matrices(A, true, NBI_LAPACK_EIGH, "nb_linalg_eigvalsh", "A")) return NULL;
    if (!nbi_should_record(1, &A)) { /* no gradient to come: skip the vectors */
        nb_tensor *L;
        nbi_grad_mode_push(false);
        bool ok = eigh_values(A, upper, &L, NULL, "nb_linalg_eigvalsh");
        nbi_grad_mode_pop();
        return ok ? L : NULL;
    }
    return nb_linalg_eigh(A, upper, NULL);
}

/* ------------------------------------------------------------------------ */
/* svd, svdvals                                                              */
/* ------------------------------------------------------------------------ */

/* U (*, m, u), S (*, k), Vh (*, v, n); U and Vh only when asked. */
static bool svd_run(const nb_tensor *A, bool complete, nb_tensor **U, nb_tensor **S, nb_tensor **Vh, const char *op)
{
    int64_t m = A->shape[A->ndim - 2], n = A->shape[A->ndim - 1], k = m < n ? m : n;
    int64_t ucols = complete ? m : k, vrows = complete ? n : k;
    int     bd    = A->ndim - 2;
    bool    empty = m == 0 || n == 0 || batch_of(A, 2) == 0;
    nb_tensor *u = NULL, *vh = NULL, *s = empty_batch(A, bd, 1, (int64_t[]){ k });
    if (U != NULL) {
        u  = empty && complete ? eye_batch(A, m, m) : empty_batch(A, bd, 2, (int64_t[]){ m, ucols });
        vh = empty && complete ? eye_batch(A, n, n) : empty_batch(A, bd, 2, (int64_t[]){ vrows, n });
    }
    bool ok = s != NULL && (U == NULL || (u != NULL && vh != NULL));
    if (ok && !empty) {
        nb_tensor *a   = nb_contiguous(A);
        int64_t    bad = -1, info = 0;
        ok             = a != NULL;
        if (ok) {
            nbi_lapack_args args = { .op = NBI_LAPACK_SVD, .batch = batch_of(A, 2), .m = m, .n = n,
                                     .complete = complete, .a = nbi_ptr(a), .out0 = u ? nbi_ptr(u) : NULL,
                                     .out1 = nbi_ptr(s), .out2 = vh ? nbi_ptr(vh) : NULL };
            ok = run_lapack(&args, A, op, &bad, &info);
        }
        nb_free(a);
        if (ok && bad >= 0) {
            char note[48];
            nbi_fail(NB_ERR_ARG, "%s: the SVD did not converge for A%s (LAPACK info %lld)", op,
                     batch_note(A, bad, note, sizeof note), (long long)info);
            ok = false;
        }
    }
    if (!ok) {
        nb_free(u);
        nb_free(s);
        nb_free(vh);
        return false;
    }
    *S = s;
    if (U) *U = u, *Vh = vh;
    return true;
}

static nb_status svd_forward(nb_function_ctx *ctx, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                             int n_outputs)
{
    nb_ctx_set_materialize_grads(ctx, false); /* the formula tells a missing gradient from zeros */
    (void)n_inputs, (void)n_outputs;
    const nbi_linalg_flags *flags = nb_ctx_user(ctx);
    nb_tensor              *U, *S, *Vh;
    if (!svd_run(inputs[0], flags->complete, &U, &S, &Vh, "nb_linalg_svd")) return nb_last_status();
    nb_status status = nb_ctx_save_for_backward(ctx, (nb_tensor *const[]){ inputs[0], U, S, Vh }, 4);
    if (status != NB_OK) {
        nb_free(U);
        nb_free(S);
        nb_free(Vh);
        return status;
    }
    outputs[0] = U;
    outputs[1] = S;
    outputs[2] = Vh;
    return NB_OK;
}

static const nb_function_def svd_def = { "LinalgSvdBackward0", svd_forward, nbi_svd_backward };

nb_tensor *nb_linalg_svd(const nb_tensor *A, bool full_matrices, nb_tensor **S, nb_tensor **Vh)
{
    if (S != NULL) *S = NULL;
    if (Vh != NULL) *Vh = NULL;
    if (!check_matrices(A, false, NBI_LAPACK_SVD, "nb_linalg_svd", "A")) return NULL;
    if (S == NULL || Vh == NULL)
        return nbi_fail(NB_ERR_ARG, "nb_linalg_svd: S and Vh (where the other results go) must not be NULL");
    nb_tensor *out[3] = { NULL, NULL, NULL };
    if (nb_function_apply(&svd_def, (nb_tensor *const[]){ (nb_tensor *)A }, 1, out, 3,
                          (void *)(full_matrices ? &complete_flags : &reduced_flags))
        != NB_OK)
        return NULL;
    *S  = out[1];
    *Vh = out[2];
    return out[0];
}

nb_tensor *nb_linalg_svdvals(const nb_tensor *A)
{
    if (!check_matrices(A, false, NBI_LAPACK_SVD, "nb_linalg_svdvals", "A")) return NULL;
    if (!nbi_should_record(1, &A)) { /* no gradient to come: skip the vectors */
        nb_tensor *S;
        nbi_grad_mode_push(false);
        bool ok = svd_run(A, false, NULL, &S, NULL, "nb_linalg_svdvals");
        nbi_grad_mode_pop();
        return ok ? S : NULL;
    }
    nb_tensor *S = NULL, *Vh = NULL;
    nb_tensor *U = nb_linalg_svd(A, false, &S, &Vh);
    nb_free(U);
    nb_free(Vh);
    return S;
}

/* ------------------------------------------------------------------------ */
/* lstsq and pinv                                                            */
/* ------------------------------------------------------------------------ */

static nb_status lstsq_matrices(const nb_tensor *A, const nb_tensor *B_given, nb_tensor **out);

static nb_status lstsq_forward(nb_function_ctx *ctx, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                               int n_outputs)
{
    (void)n_inputs, (void)n_outputs;
    nb_status status = nb_ctx_save_for_backward(ctx, inputs, 2);
    if (status != NB_OK || nb_scope_begin() != NB_OK) return nb_last_status();
    status = lstsq_matrices(inputs[0], inputs[1], outputs);
    nb_scope_end();
    return status;
}

/* X (*, n, k) into *out (kept), for A (*, m, n), B (*, m, k) or a batch of
 * vectors (*, m). */
static nb_status lstsq_matrices(const nb_tensor *A, const nb_tensor *B_given, nb_tensor **out)
{
    const char      *op     = "nb_linalg_lstsq";
    bool             vector = solve_rhs_is_vector(A, B_given);
    const nb_tensor *B      = vector ? nb_unsqueeze(B_given, -1) : B_given;
    if (B == NULL) return nb_last_status();
    int64_t          m = A->shape[A->ndim - 2], n = A->shape[A->ndim - 1], k = B->shape[B->ndim - 1];
    nb_shape         batch_a = { .ndim = A->ndim - 2 }, batch_b = { .ndim = B->ndim - 2 }, batch;
    for (int d = 0; d < batch_a.ndim; d++) batch_a.dims[d] = A->shape[d];
    for (int d = 0; d < batch_b.ndim; d++) batch_b.dims[d] = B->shape[d];
    if (nb_broadcast_shapes(batch_a, batch_b, &batch) != NB_OK) {
        nbi_fail(NB_ERR_SHAPE, "%s: the batch dims of A and B do not broadcast", op);
        return NB_ERR_SHAPE;
    }
    nb_shape shape_a = batch, shape_b = batch, shape_x = batch;
    shape_a.dims[shape_a.ndim++] = m, shape_a.dims[shape_a.ndim++] = n;
    shape_b.dims[shape_b.ndim++] = m, shape_b.dims[shape_b.ndim++] = k;
    shape_x.dims[shape_x.ndim++] = n, shape_x.dims[shape_x.ndim++] = k;
    nb_tensor *X = nbi_empty(shape_x.ndim, shape_x.dims, A->dtype, A->storage->device);
    if (X == NULL) return nb_last_status();
    bool ok = true;
    if (X->numel > 0 && m == 0) {
        ok = nb_fill_(X, 0) != NULL;
    } else if (X->numel > 0) {
        nb_tensor *a = nb_contiguous(nb_expand(A, shape_a));
        nb_tensor *b = a ? nb_contiguous(nb_expand(B, shape_b)) : NULL;
        int64_t    bad = -1, info = 0;
        ok             = b != NULL;
        /* torch's default rcond: the dtype's epsilon times max(m, n). */
        double eps = A->dtype == NB_FLOAT32 ? FLT_EPSILON : DBL_EPSILON;
        if (ok) {
            nbi_lapack_args args = { .op = NBI_LAPACK_LSTSQ, .batch = batch_of(X, 2), .m = m, .n = n, .k = k,
                                     .rcond = eps * (double)(m > n ? m : n), .a = nbi_ptr(a), .b = nbi_ptr(b),
                                     .out0 = nbi_ptr(X) };
            ok = run_lapack(&args, A, op, &bad, &info);
        }
        nb_free(a);
        nb_free(b);
        if (ok && bad >= 0) {
            nbi_fail(NB_ERR_ARG, "%s: the SVD in gelsd did not converge (LAPACK info %lld)", op, (long long)info);
            ok = false;
        }
    }
    if (ok && vector) X = nb_squeeze_dim(X, -1);
    if (!ok || X == NULL) return nb_last_status();
    *out = nb_keep(X);
    return NB_OK;
}

static const nb_function_def lstsq_def = { "LinalgLstsqBackward0", lstsq_forward, nbi_lstsq_backward };

nb_tensor *nb_linalg_lstsq(const nb_tensor *A, const nb_tensor *B)
{
    const char *op = "nb_linalg_lstsq";
    if (!check_matrix_args(A, false, op, "A") || !check_pair(A, B, op)) return NULL;
    /* As torch: B (*, m, k) with as many dims as A, or a batch of vectors. */
    bool vector = solve_rhs_is_vector(A, B);
    if (vector ? B->shape[B->ndim - 1] != A->shape[A->ndim - 2]
               : B->ndim != A->ndim || B->shape[B->ndim - 2] != A->shape[A->ndim - 2]) {
        char buf_a[NBI_SHAPE_STR_SIZE], buf_b[NBI_SHAPE_STR_SIZE];
        return nbi_fail(NB_ERR_SHAPE, "%s: B %s must be (*, m, k) with as many dims as A %s (*, m, n), or (*, m)", op,
                        nbi_shape_str(B->ndim, B->shape, buf_b, sizeof buf_b),
                        nbi_shape_str(A->ndim, A->shape, buf_a, sizeof buf_a));
    }
    if (!check_lapack(A, NBI_LAPACK_LSTSQ, op)) return NULL;
    return apply1(&lstsq_def, (nb_tensor *const[]){ (nb_tensor *)A, (nb_tensor *)B }, 2, NULL);
}

/* pinv(A) = V diag(1/S) U^T over the singular values above torch 1.13's
 * default cutoff, eps * max(m, n) * the largest: a composite of svd, which
 * autograd differentiates. */
nb_tensor *nb_linalg_pinv(const nb_tensor *A)
{
    if (!check_matrices(A, false, NBI_LAPACK_SVD, "nb_linalg_pinv", "A")) return NULL;
    if (nb_scope_begin() != NB_OK) return NULL;
    int64_t    m = A->shape[A->ndim - 2], n = A->shape[A->ndim - 1];
    nb_tensor *S = NULL, *Vh = NULL, *out = NULL;
    nb_tensor *U = nb_linalg_svd(A, false, &S, &Vh);
    if (U != NULL && (m == 0 || n == 0)) {
        out = nb_mul_scalar(nb_transpose(A, -1, -2), 0); /* empty: a new tensor, with A's graph */
    } else if (U != NULL) {
        double     eps    = A->dtype == NB_FLOAT32 ? FLT_EPSILON : DBL_EPSILON;
        nb_tensor *largest = nb_narrow(S, -1, 0, 1); /* descending */
        nb_tensor *cutoff  = nb_mul_scalar(nb_detach(largest), eps * (double)(m > n ? m : n));
        nb_tensor *keep    = nb_gt(S, cutoff);
        nb_tensor *safe_S  = nb_where(keep, S, nb_ones_like(S));
        nb_tensor *S_inv   = nb_where(keep, nb_rdiv_scalar(safe_S, 1), nb_zeros_like(S));
        nb_tensor *scaled  = nb_mul(nb_transpose(Vh, -1, -2), nb_unsqueeze(S_inv, -2));
        out                = nb_matmul(scaled, nb_transpose(U, -1, -2));
    }
    if (out != NULL) nb_keep(out);
    nb_scope_end();
    return out;
}
