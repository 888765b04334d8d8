/*
 * linalg_lapack_derivatives.c — the backward formulas of the LAPACK-backed
 * ops (ops/linalg_lapack.c), as PyTorch 1.13's FunctionsManual.cpp writes
 * them, in public nb_* ops: each runs as the backward of the op's
 * nb_function_apply node (the node's formula scope holds the temporaries).
 *
 * Shapes: A (*, m, n); a transpose T(x) swaps the last two dims. Real
 * matrices only, so torch's conjugate transposes are transposes.
 *
 * NOTE: the node keeps the forward's outputs as detached aliases (holding
 * them with history would be a cycle). A backward recorded under
 * create_graph (grad mode on here) therefore recomputes them from the input
 * with the public op, so that the second derivative sees their dependence
 * on A; a plain backward reads the saved ones.
 */
#include "autograd.h"
#include "ops/linalg_lapack.h"

static nb_tensor *T(const nb_tensor *x) { return nb_transpose(x, -1, -2); }

/* (*, n) -> (*, n, n) with v on the diagonal. */
static nb_tensor *diag_embed(const nb_tensor *v)
{
    int64_t    n        = nb_shape_of(v).dims[nb_ndim(v) - 1];
    nb_tensor *identity = nb_eye(n, n, NB_OPTS(.dtype = nb_dtype_of(v)));
    return nb_mul(identity, nb_unsqueeze(v, -2));
}

/* (n, n) of dtype: 1 strictly below the diagonal (above when upper), diag
 * on it, 0 elsewhere. */
static nb_tensor *triangle_mask(int64_t n, nb_dtype dtype, bool upper, double diag)
{
    size_t  count  = (size_t)(n * n);
    double *values = nbi_host_alloc(count * sizeof(double) + 8);
    if (values == NULL) return nbi_fail(NB_ERR_OOM, "linalg backward: out of memory");
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) values[i * n + j] = i == j ? diag : (upper ? j > i : j < i) ? 1.0 : 0.0;
    nb_tensor *mask = nb_from_data(values, NB_SHAPE(n, n), NB_OPTS(.dtype = NB_FLOAT64));
    nbi_host_release(values, count * sizeof(double) + 8);
    return mask ? nb_to_dtype(mask, dtype) : NULL;
}

static int64_t size_at(const nb_tensor *t, int dim) { return nb_shape_of(t).dims[nb_ndim(t) + dim]; }

static nb_tensor *sum_to_like(const nb_tensor *g, const nb_tensor *like)
{
    if (g == NULL) return NULL;
    nb_shape shape = nb_shape_of(like);
    return nbi_sum_to(g, shape.ndim, shape.dims);
}

static nb_status set_grad(nb_tensor **slot, nb_tensor *grad)
{
    if (grad == NULL) return nb_last_status();
    *slot = grad;
    return NB_OK;
}

/* ------------------------------------------------------------------------ */
/* solve, inv, det, slogdet                                                  */
/* ------------------------------------------------------------------------ */

/* As the forward's rule (torch 1.13): B is a batch of vectors when 1-D, or
 * when shaped as A without its last dim. */
static bool rhs_is_vector(const nb_tensor *A, const nb_tensor *B)
{
    nb_shape a = nb_shape_of(A), b = nb_shape_of(B);
    if (b.ndim == 1) return true;
    if (b.ndim != a.ndim - 1) return false;
    for (int d = 0; d < b.ndim; d++)
        if (b.dims[d] != a.dims[d]) return false;
    return true;
}

/* X = A^-1 B:  gB = A^-T g,  gA = -gB X^T (each summed over broadcast dims). */
nb_status nbi_solve_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                             nb_tensor **grad_inputs, int n_inputs)
{
    (void)n_outputs, (void)n_inputs;
    nb_tensor *A = nb_ctx_saved(ctx, 0), *B = nb_ctx_saved(ctx, 1), *X = nb_ctx_saved(ctx, 2);
    if (nbi_grad_enabled()) X = nb_linalg_solve(A, B);
    nb_tensor *gB = nb_linalg_solve(T(A), grad_outputs[0]);
    if (gB == NULL || X == NULL) return nb_last_status();
    nb_status status = NB_OK;
    if (nb_ctx_needs_input_grad(ctx, 0)) {
        bool       vector = rhs_is_vector(A, B);
        nb_tensor *outer  = vector ? nb_mul(nb_unsqueeze(gB, -1), nb_unsqueeze(X, -2)) : nb_matmul(gB, T(X));
        status            = set_grad(&grad_inputs[0], sum_to_like(nb_neg(outer), A));
    }
    if (status == NB_OK && nb_ctx_needs_input_grad(ctx, 1)) status = set_grad(&grad_inputs[1], sum_to_like(gB, B));
    return status;
}

/* X = A^-1:  gA = -X^T g X^T. */
nb_status nbi_inv_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                           nb_tensor **grad_inputs, int n_inputs)
{
    (void)n_outputs, (void)n_inputs;
    nb_tensor *A = nb_ctx_saved(ctx, 0), *X = nb_ctx_saved(ctx, 1);
    if (nbi_grad_enabled()) X = nb_linalg_inv(A);
    nb_tensor *Xt = X ? T(X) : NULL;
    return set_grad(&grad_inputs[0], nb_neg(nb_matmul(nb_matmul(Xt, grad_outputs[0]), Xt)));
}

/* d det(A) = det(A) A^-T. NOTE: an exactly singular matrix of the batch
 * gets a zero gradient, as torch 1.13 gives (the true derivative there is
 * the cofactor matrix): it is replaced by I before the inverse, so that
 * the others still invert, and det(A) = 0 zeroes its term. */
nb_status nbi_det_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                           nb_tensor **grad_inputs, int n_inputs)
{
    (void)n_outputs, (void)n_inputs;
    nb_tensor *A = nb_ctx_saved(ctx, 0), *det = nb_ctx_saved(ctx, 1);
    if (nbi_grad_enabled()) det = nb_linalg_det(A);
    int64_t    n        = size_at(A, -1);
    nb_tensor *singular = det ? nb_unsqueeze(nb_unsqueeze(nb_eq_scalar(det, 0), -1), -1) : NULL;
    nb_tensor *safe     = singular ? nb_where(singular, nb_eye(n, n, NB_OPTS(.dtype = nb_dtype_of(A))), A) : NULL;
    nb_tensor *scale    = nb_mul(grad_outputs[0], det);
    nb_tensor *scale2   = scale ? nb_unsqueeze(nb_unsqueeze(scale, -1), -1) : NULL;
    return set_grad(&grad_inputs[0], nb_mul(scale2, T(nb_linalg_inv(safe))));
}

/* d log|det(A)| = A^-T. */
nb_status nbi_slogdet_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                               nb_tensor **grad_inputs, int n_inputs)
{
    (void)n_outputs, (void)n_inputs;
    nb_tensor *A = nb_ctx_saved(ctx, 0), *g = grad_outputs[1];
    nb_tensor *g2 = nb_unsqueeze(nb_unsqueeze(g, -1), -1);
    return set_grad(&grad_inputs[0], nb_mul(g2, T(nb_linalg_inv(A))));
}

/* ------------------------------------------------------------------------ */
/* cholesky                                                                  */
/* ------------------------------------------------------------------------ */

/* Iain Murray (2016), arXiv 1602.07527, as torch's cholesky_backward:
 *   phi = tril(L^T gL) with its diagonal halved,
 *   gA  = L^-T phi L^-1, symmetrized. */
nb_status nbi_cholesky_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                                nb_tensor **grad_inputs, int n_inputs)
{
    (void)n_outputs, (void)n_inputs;
    const nbi_linalg_flags *flags = nb_ctx_user(ctx);
    nb_tensor              *A = nb_ctx_saved(ctx, 0), *L = nb_ctx_saved(ctx, 1), *gL = grad_outputs[0];
    if (nbi_grad_enabled()) L = nb_linalg_cholesky(A, flags->upper);
    if (L == NULL) return nb_last_status();
    if (flags->upper) {
        L  = T(L);
        gL = T(gL);
    }
    int64_t    n     = size_at(A, -1);
    nb_tensor *L_inv = nb_linalg_inv(L);
    nb_tensor *phi   = nb_mul(nb_matmul(T(L), gL), triangle_mask(n, nb_dtype_of(A), false, 0.5));
    nb_tensor *gA    = nb_matmul(nb_matmul(T(L_inv), phi), L_inv);
    return set_grad(&grad_inputs[0], gA ? nb_mul_scalar(nb_add(gA, T(gA)), 0.5) : NULL);
}

/* ------------------------------------------------------------------------ */
/* eigh                                                                      */
/* ------------------------------------------------------------------------ */

/* A = V diag(L) V^T:
 *   gA = V (diag(gL) + skew(V^T gV) / E) V^T,  E_ij = L_j - L_i (1 on the
 * diagonal, where skew(.) = (X - X^T) / 2 is 0). */
nb_status nbi_eigh_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                            nb_tensor **grad_inputs, int n_inputs)
{
    (void)n_inputs;
    const nbi_linalg_flags *flags = nb_ctx_user(ctx);
    nb_tensor              *A = nb_ctx_saved(ctx, 0), *L = nb_ctx_saved(ctx, 1), *V = nb_ctx_saved(ctx, 2);
    nb_tensor              *gL = grad_outputs[0], *gV = n_outputs > 1 ? grad_outputs[1] : NULL;
    if (nbi_grad_enabled()) L = nb_linalg_eigh(A, flags->upper, &V);
    if (L == NULL) return nb_last_status();
    nb_tensor *inner = NULL;
    if (gV != NULL) {
        int64_t    n     = size_at(A, -1);
        nb_tensor *VtgV  = nb_matmul(T(V), gV);
        nb_tensor *skew  = nb_mul_scalar(nb_sub(VtgV, T(VtgV)), 0.5);
        nb_tensor *E     = nb_sub(nb_unsqueeze(L, -2), nb_unsqueeze(L, -1));
        nb_tensor *E_one = nb_add(E, nb_eye(n, n, NB_OPTS(.dtype = nb_dtype_of(A))));
        inner            = nb_div(skew, E_one);
        if (gL != NULL) inner = nb_add(inner, diag_embed(gL));
    } else if (gL != NULL) {
        inner = diag_embed(gL);
    } else {
        return NB_OK;
    }
    return set_grad(&grad_inputs[0], nb_matmul(nb_matmul(V, inner), T(V)));
}

/* ------------------------------------------------------------------------ */
/* qr                                                                        */
/* ------------------------------------------------------------------------ */

/* The square / tall case (m >= n), torch's linalg_qr_backward:
 *   M  = gR R^T - Q^T gQ,
 *   gA = (gQ + Q syminvadj(triu(M))) R^-T,
 * where syminvadj(X) = X + X^T with the diagonal halved. gQ, gR may be NULL. */
static nb_tensor *qr_backward_tall(nb_tensor *gQ, nb_tensor *gR, nb_tensor *Q, nb_tensor *R)
{
    nb_tensor *M = NULL;
    if (gR != NULL) M = nb_matmul(gR, T(R));
    if (gQ != NULL) {
        nb_tensor *QtgQ = nb_matmul(T(Q), gQ);
        M               = M ? nb_sub(M, QtgQ) : nb_neg(QtgQ);
    }
    int64_t    n      = size_at(R, -1);
    nb_tensor *upper  = nb_mul(M, triangle_mask(n, nb_dtype_of(R), true, 1.0));
    nb_tensor *strict = nb_mul(M, triangle_mask(n, nb_dtype_of(R), true, 0.0));
    nb_tensor *sym    = nb_add(upper, T(strict));
    nb_tensor *b      = nb_matmul(Q, sym);
    if (gQ != NULL) b = nb_add(b, gQ);
    return T(nb_linalg_solve(R, T(b)));
}

nb_status nbi_qr_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                          nb_tensor **grad_inputs, int n_inputs)
{
    (void)n_outputs, (void)n_inputs;
    const nbi_linalg_flags *flags = nb_ctx_user(ctx);
    nb_tensor              *A = nb_ctx_saved(ctx, 0), *Q = nb_ctx_saved(ctx, 1), *R = nb_ctx_saved(ctx, 2);
    nb_tensor              *gQ = grad_outputs[0], *gR = grad_outputs[1];
    int64_t                 m = size_at(A, -2), n = size_at(A, -1);
    if (flags->complete && m > n)
        return nbi_fail_status(NB_ERR_UNSUPPORTED,
                               "nb_linalg_qr backward: the derivative of a complete QR of a tall matrix (m > n) is "
                               "not defined (Q's last m - n columns are arbitrary), as in torch");
    if (gQ == NULL && gR == NULL) return NB_OK;
    if (nbi_grad_enabled()) Q = nb_linalg_qr(A, flags->complete, &R);
    if (Q == NULL) return nb_last_status();
    if (m >= n) return set_grad(&grad_inputs[0], qr_backward_tall(gQ, gR, Q, R));
    /* Wide: A = Q [R1 R2] with R1 (m, m); A2 = Q R2 moves gR2's part into gQ. */
    nb_tensor *R1 = nb_narrow(R, -1, 0, m);
    nb_tensor *gR1 = gR ? nb_narrow(gR, -1, 0, m) : NULL;
    nb_tensor *gQ1 = gQ;
    nb_tensor *gA2 = NULL;
    if (gR != NULL) {
        nb_tensor *gR2 = nb_narrow(gR, -1, m, n - m);
        nb_tensor *A2  = nb_narrow(A, -1, m, n - m);
        nb_tensor *add = nb_matmul(A2, T(gR2));
        gQ1            = gQ ? nb_add(gQ, add) : add;
        gA2            = nb_matmul(Q, gR2);
    } else {
        gA2 = nb_zeros_like(nb_narrow(A, -1, m, n - m));
    }
    nb_tensor *gA1 = qr_backward_tall(gQ1, gR1, Q, R1);
    if (gA1 == NULL || gA2 == NULL) return nb_last_status();
    return set_grad(&grad_inputs[0], nb_cat((nb_tensor *const[]){ gA1, gA2 }, 2, -1));
}

/* ------------------------------------------------------------------------ */
/* svd                                                                       */
/* ------------------------------------------------------------------------ */

/* torch 1.13's svd_backward, real case, on the reduced factors (k = min(m,
 * n); complete ones are narrowed first):
 *   E_ij = S_j^2 - S_i^2 (1 on the diagonal),
 *   gA   = (skew(U^T gU) S + S skew(V^T gV)) / E + diag(gS),  skew(X) = X - X^T,
 * then U gA V^T, plus (I - U U^T) gU S^-1 V^T when m > n, or
 * U S^-1 gV^T (I - V V^T) when m < n. With only gS: U diag(gS) V^T. */
nb_status nbi_svd_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                           nb_tensor **grad_inputs, int n_inputs)
{
    (void)n_outputs, (void)n_inputs;
    const nbi_linalg_flags *flags = nb_ctx_user(ctx);
    nb_tensor *A = nb_ctx_saved(ctx, 0), *U = nb_ctx_saved(ctx, 1), *S = nb_ctx_saved(ctx, 2);
    nb_tensor *Vh = nb_ctx_saved(ctx, 3);
    nb_tensor *gU = grad_outputs[0], *gS = grad_outputs[1], *gVh = grad_outputs[2];
    if (gU == NULL && gS == NULL && gVh == NULL) return NB_OK;
    if (nbi_grad_enabled()) U = nb_linalg_svd(A, flags->complete, &S, &Vh);
    if (U == NULL) return nb_last_status();
    int64_t m = size_at(A, -2), n = size_at(A, -1), k = m < n ? m : n;
    if (flags->complete) {
        U  = nb_narrow(U, -1, 0, k);
        Vh = nb_narrow(Vh, -2, 0, k);
        if (gU) gU = nb_narrow(gU, -1, 0, k);
        if (gVh) gVh = nb_narrow(gVh, -2, 0, k);
    }
    if (gU == NULL && gVh == NULL)
        return set_grad(&grad_inputs[0], nb_matmul(nb_mul(U, nb_unsqueeze(gS, -2)), Vh));
    nb_tensor *S_row = nb_unsqueeze(S, -2), *S_col = nb_unsqueeze(S, -1);
    nb_tensor *S2    = nb_mul(S, S);
    nb_tensor *E     = nb_add(nb_sub(nb_unsqueeze(S2, -2), nb_unsqueeze(S2, -1)),
                              nb_eye(k, k, NB_OPTS(.dtype = nb_dtype_of(A))));
    nb_tensor *inner = NULL;
    if (gU != NULL) {
        nb_tensor *UtgU = nb_matmul(T(U), gU);
        inner           = nb_mul(nb_sub(UtgU, T(UtgU)), S_row);
    }
    if (gVh != NULL) {
        nb_tensor *VtgV = nb_matmul(Vh, T(gVh));
        nb_tensor *term = nb_mul(S_col, nb_sub(VtgV, T(VtgV)));
        inner           = inner ? nb_add(inner, term) : term;
    }
    nb_tensor *gA = nb_div(inner, E);
    if (gS != NULL) gA = nb_add(gA, diag_embed(gS));
    if (m > n && gU != NULL) {
        gA                = nb_matmul(U, gA);
        nb_tensor *gUSinv = nb_div(gU, S_row);
        gA                = nb_sub(nb_add(gA, gUSinv), nb_matmul(U, nb_matmul(T(U), gUSinv)));
        gA                = nb_matmul(gA, Vh);
    } else if (m < n && gVh != NULL) {
        gA                 = nb_matmul(gA, Vh);
        nb_tensor *SinvgVh = nb_div(gVh, S_col);
        gA                 = nb_sub(nb_add(gA, SinvgVh), nb_matmul(nb_matmul(SinvgVh, T(Vh)), Vh));
        gA                 = nb_matmul(U, gA);
    } else {
        gA = nb_matmul(nb_matmul(U, gA), Vh);
    }
    return set_grad(&grad_inputs[0], gA);
}

/* ------------------------------------------------------------------------ */
/* lstsq                                                                     */
/* ------------------------------------------------------------------------ */

/* The gradient of P = pinv(A) (torch's pinv_backward), for g = dL/dP:
 * m <= n: K = g^T P,  gA = -(P K)^T + K P^T - A P K P^T + P^T P (g^T - K A);
 * m > n:  K = P g^T,  gA = -(K P)^T + (g^T - A K) P P^T + P^T K - P^T K P A. */
static nb_tensor *pinv_backward(nb_tensor *g, nb_tensor *P, nb_tensor *A)
{
    nb_tensor *Pt = T(P), *gt = T(g);
    if (size_at(A, -2) <= size_at(A, -1)) {
        nb_tensor *K   = nb_matmul(gt, P);
        nb_tensor *KPt = nb_matmul(K, Pt);
        nb_tensor *sum = nb_add(nb_neg(T(nb_matmul(P, K))), KPt);
        sum            = nb_sub(sum, nb_matmul(nb_matmul(A, P), KPt));
        return nb_add(sum, nb_matmul(nb_matmul(Pt, P), nb_sub(gt, nb_matmul(K, A))));
    }
    nb_tensor *K   = nb_matmul(P, gt);
    nb_tensor *PtK = nb_matmul(Pt, K);
    nb_tensor *sum = nb_add(nb_neg(T(nb_matmul(K, P))), nb_matmul(nb_matmul(nb_sub(gt, nb_matmul(A, K)), P), Pt));
    return nb_sub(nb_add(sum, PtK), nb_matmul(nb_matmul(PtK, P), A));
}

/* X = pinv(A) B, as torch's linalg_lstsq_backward:
 *   gA = pinv_backward(gX B^T),  gB = pinv(A)^T gX,
 * B and gX taken as matrices (a batch of vectors gains a last dim). */
nb_status nbi_lstsq_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                             nb_tensor **grad_inputs, int n_inputs)
{
    (void)n_outputs, (void)n_inputs;
    nb_tensor *A = nb_ctx_saved(ctx, 0), *B = nb_ctx_saved(ctx, 1), *gX = grad_outputs[0];
    bool       vector = rhs_is_vector(A, B);
    nb_tensor *Bm = vector ? nb_unsqueeze(B, -1) : B, *gXm = vector ? nb_unsqueeze(gX, -1) : gX;
    nb_tensor *P  = nb_linalg_pinv(A);
    if (P == NULL || Bm == NULL || gXm == NULL) return nb_last_status();
    nb_status status = NB_OK;
    if (nb_ctx_needs_input_grad(ctx, 0))
        status = set_grad(&grad_inputs[0], sum_to_like(pinv_backward(nb_matmul(gXm, T(Bm)), P, A), A));
    if (status == NB_OK && nb_ctx_needs_input_grad(ctx, 1)) {
        nb_tensor *gB = nb_matmul(T(P), gXm);
        if (gB != NULL && vector) gB = nb_squeeze_dim(gB, -1);
        status = set_grad(&grad_inputs[1], sum_to_like(gB, B));
    }
    return status;
}
