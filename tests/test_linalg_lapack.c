/*
 * test_linalg_lapack.c — torch.linalg through LAPACK (src/ops/linalg_lapack.c)
 * and the linear-algebra composites (linalg_composite.c, einsum.c): values
 * worked by hand or checked by identities (Q R = A, V diag(L) V^T = A, ...),
 * errors (singular, not positive-definite, shapes, dtypes), batched and
 * non-contiguous inputs, nb_gradcheck and nb_gradgradcheck in float64 with
 * losses that do not depend on the eigen/singular vectors' signs, and in a
 * build without LAPACK: NB_ERR_UNSUPPORTED with a message that says why.
 * The differential rows against PyTorch are in tests/op_info.h.
 */
#include "nb_test.h"

static bool have_lapack(void) { return strcmp(nb_gemm_backend(), "openblas") == 0; }

static nb_tensor *f64(nb_shape shape, const double *values) { return nbt_tensor(shape, NB_FLOAT64, values); }

/* A = R R^T + n I for a deterministic R: symmetric positive-definite. */
static nb_tensor *spd(int64_t batch, int64_t n)
{
    nb_tensor *R   = nb_reshape(nb_sin(nb_arange(1, 1 + (double)(batch * n * n), 1, NB_OPTS(.dtype = NB_FLOAT64))),
                                NB_SHAPE(batch, n, n));
    nb_tensor *RRt = nb_matmul(R, nb_transpose(R, -1, -2));
    nb_tensor *A   = nb_add(RRt, nb_mul_scalar(nb_eye(n, n, NB_OPTS(.dtype = NB_FLOAT64)), (double)n));
    return batch == 1 ? nb_squeeze_dim(A, 0) : A;
}

/* A well-conditioned general (batch, m, n) matrix. */
static nb_tensor *general(int64_t batch, int64_t m, int64_t n)
{
    nb_tensor *x = nb_reshape(nb_cos(nb_mul_scalar(nb_arange(0, (double)(batch * m * n), 1, NB_OPTS(.dtype = NB_FLOAT64)), 1.7)),
                              NB_SHAPE(batch, m, n));
    nb_tensor *eye = nb_eye(m, n, NB_OPTS(.dtype = NB_FLOAT64));
    return nb_add(x, nb_mul_scalar(eye, 2.0));
}

static double max_abs_diff(const nb_tensor *a, const nb_tensor *b)
{
    nb_tensor *d = nb_max(nb_abs(nb_sub(a, b)));
    return d ? nb_item(d) : INFINITY;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                    */
/* ------------------------------------------------------------------------ */

static void test_solve_inv_det(void)
{
    if (!have_lapack()) return;
    nb_scope_begin();
    nb_tensor *A = f64(NB_SHAPE(2, 2), (double[]){ 4, 3, 6, 3 });
    nb_tensor *b = f64(NB_SHAPE(2), (double[]){ 10, 12 });
    NBT_CHECK_TENSOR(nb_linalg_solve(A, b), NB_SHAPE(2), 1e-12, 1, 2);
    NBT_CHECK_TENSOR(nb_linalg_inv(A), NB_SHAPE(2, 2), 1e-12, -0.5, 0.5, 1, -2.0 / 3);
    NBT_CHECK_TENSOR(nb_linalg_det(A), NB_SCALAR_SHAPE, 1e-12, -6);
    nb_tensor *logabs = NULL, *sign = nb_linalg_slogdet(A, &logabs);
    NBT_CHECK_TENSOR(sign, NB_SCALAR_SHAPE, 0, -1);
    NBT_CHECK_TENSOR(logabs, NB_SCALAR_SHAPE, 1e-12, log(6.0));
    /* Transposed (non-contiguous) input: A^T. */
    NBT_CHECK_TENSOR(nb_linalg_det(nb_t(A)), NB_SCALAR_SHAPE, 1e-12, -6);
    NBT_CHECK_TENSOR(nb_linalg_solve(nb_t(A), b), NB_SHAPE(2), 1e-12, 7, -3);
    /* Batched with broadcast: A (3, 4, 4) against B (4, 2). */
    nb_tensor *As = general(3, 4, 4), *B = f64(NB_SHAPE(4, 2), (double[]){ 1, 2, 3, 4, 5, 6, 7, 8 });
    nb_tensor *X  = nb_linalg_solve(As, B);
    NBT_CHECK(X && nbt_has_shape(X, NB_SHAPE(3, 4, 2)));
    NBT_CHECK(max_abs_diff(nb_matmul(As, X), nb_expand(B, NB_SHAPE(3, 4, 2))) < 1e-12);
    NBT_CHECK(max_abs_diff(nb_matmul(As, nb_linalg_inv(As)), nb_eye(4, 4, NB_OPTS(.dtype = NB_FLOAT64))) < 1e-12);
    /* float32 */
    nb_tensor *A32 = nb_to_dtype(A, NB_FLOAT32);
    NBT_CHECK_TENSOR(nb_linalg_det(A32), NB_SCALAR_SHAPE, 1e-5, -6);
    NBT_CHECK(nb_dtype_of(nb_linalg_inv(A32)) == NB_FLOAT32);
    /* Singular: solve and inv refuse, det is 0, slogdet (0, -inf). */
    nb_tensor *S = f64(NB_SHAPE(2, 2), (double[]){ 1, 2, 2, 4 });
    NBT_CHECK(nb_linalg_inv(S) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "singular");
    NBT_CHECK(nb_linalg_solve(nb_stack((nb_tensor *[]){ A, S }, 2, 0), b) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "(batch element 1) is singular");
    NBT_CHECK_TENSOR(nb_linalg_det(S), NB_SCALAR_SHAPE, 0, 0);
    sign = nb_linalg_slogdet(S, &logabs);
    NBT_CHECK_TENSOR(sign, NB_SCALAR_SHAPE, 0, 0);
    NBT_CHECK_TENSOR(logabs, NB_SCALAR_SHAPE, 0, -INFINITY);
    /* Empty: det of a (0, 0) matrix is 1; an empty batch is empty. */
    NBT_CHECK_TENSOR(nb_linalg_det(nb_zeros(NB_SHAPE(0, 0), NB_OPTS(.dtype = NB_FLOAT64))), NB_SCALAR_SHAPE, 0, 1);
    NBT_CHECK(nbt_has_shape(nb_linalg_inv(nb_zeros(NB_SHAPE(0, 3, 3), NB_OPTS(.dtype = NB_FLOAT64))), NB_SHAPE(0, 3, 3)));
    /* Errors at the front door. */
    NBT_CHECK(nb_linalg_inv(nb_zeros(NB_SHAPE(2, 3), NB_OPTS(.dtype = NB_FLOAT64))) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "square");
    NBT_CHECK(nb_linalg_det(nb_zeros(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64))) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "at least 2 dims");
    NBT_CHECK(nb_linalg_inv(nb_zeros(NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_INT64))) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "float32 or float64");
    NBT_CHECK(nb_linalg_solve(A, nb_to_dtype(b, NB_FLOAT32)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "same dtype");
    NBT_CHECK(nb_linalg_solve(A, f64(NB_SHAPE(3), (double[]){ 1, 2, 3 })) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "cannot be solved");
    NBT_CHECK(nb_linalg_slogdet(A, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "logabsdet");
    nb_scope_end();
}

static void test_factorizations(void)
{
    if (!have_lapack()) return;
    nb_scope_begin();
    nb_tensor *A = spd(2, 4);
    nb_tensor *L = nb_linalg_cholesky(A, false);
    NBT_CHECK(max_abs_diff(nb_matmul(L, nb_transpose(L, -1, -2)), A) < 1e-12);
    NBT_CHECK_TENSOR(nb_select(nb_select(nb_select(L, 0, 0), 0, 0), 0, 3), NB_SCALAR_SHAPE, 0, 0); /* upper part 0 */
    nb_tensor *U = nb_linalg_cholesky(A, true);
    NBT_CHECK(max_abs_diff(U, nb_transpose(L, -1, -2)) < 1e-12);
    /* Only the lower triangle is read: garbage above it changes nothing. */
    nb_tensor *above = f64(NB_SHAPE(4, 4), (double[]){ 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0 });
    nb_tensor *noisy = nb_add(A, nb_mul_scalar(above, 100.0));
    NBT_CHECK(max_abs_diff(nb_linalg_cholesky(noisy, false), L) < 1e-12);
    NBT_CHECK(nb_linalg_cholesky(f64(NB_SHAPE(2, 2), (double[]){ 1, 2, 2, 1 }), false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "not positive-definite (its leading minor of order 2");

    nb_tensor *G = general(2, 5, 3), *R = NULL;
    nb_tensor *Q = nb_linalg_qr(G, false, &R);
    NBT_CHECK(nbt_has_shape(Q, NB_SHAPE(2, 5, 3)) && nbt_has_shape(R, NB_SHAPE(2, 3, 3)));
    NBT_CHECK(max_abs_diff(nb_matmul(Q, R), G) < 1e-12);
    NBT_CHECK(max_abs_diff(nb_matmul(nb_transpose(Q, -1, -2), Q), nb_eye(3, 3, NB_OPTS(.dtype = NB_FLOAT64))) < 1e-12);
    Q = nb_linalg_qr(nb_transpose(G, -1, -2), true, &R); /* wide (3, 5), complete, non-contiguous */
    NBT_CHECK(nbt_has_shape(Q, NB_SHAPE(2, 3, 3)) && nbt_has_shape(R, NB_SHAPE(2, 3, 5)));
    NBT_CHECK(max_abs_diff(nb_matmul(Q, R), nb_transpose(G, -1, -2)) < 1e-12);
    Q = nb_linalg_qr(G, true, &R);
    NBT_CHECK(nbt_has_shape(Q, NB_SHAPE(2, 5, 5)) && nbt_has_shape(R, NB_SHAPE(2, 5, 3)));
    NBT_CHECK(max_abs_diff(nb_matmul(Q, R), G) < 1e-12);

    nb_tensor *V = NULL, *w = nb_linalg_eigh(A, false, &V);
    NBT_CHECK(max_abs_diff(nb_matmul(nb_mul(V, nb_unsqueeze(w, -2)), nb_transpose(V, -1, -2)), A) < 1e-10);
    NBT_CHECK(max_abs_diff(nb_linalg_eigvalsh(A, true), w) < 1e-12);
    nb_tensor *diag = f64(NB_SHAPE(3, 3), (double[]){ 3, 0, 0, 0, 1, 0, 0, 0, 2 });
    NBT_CHECK_TENSOR(nb_linalg_eigvalsh(diag, false), NB_SHAPE(3), 1e-12, 1, 2, 3);

    nb_tensor *S = NULL, *Vh = NULL;
    nb_tensor *Us = nb_linalg_svd(G, false, &S, &Vh);
    NBT_CHECK(nbt_has_shape(Us, NB_SHAPE(2, 5, 3)) && nbt_has_shape(S, NB_SHAPE(2, 3)) && nbt_has_shape(Vh, NB_SHAPE(2, 3, 3)));
    NBT_CHECK(max_abs_diff(nb_matmul(nb_mul(Us, nb_unsqueeze(S, -2)), Vh), G) < 1e-12);
    NBT_CHECK(max_abs_diff(nb_linalg_svdvals(G), S) < 1e-12);
    Us = nb_linalg_svd(G, true, &S, &Vh);
    NBT_CHECK(nbt_has_shape(Us, NB_SHAPE(2, 5, 5)) && nbt_has_shape(Vh, NB_SHAPE(2, 3, 3)));
    NBT_CHECK_TENSOR(nb_linalg_svdvals(diag), NB_SHAPE(3), 1e-12, 3, 2, 1);

    /* lstsq of a tall full-rank system: the normal equations' solution. */
    nb_tensor *B2 = nb_reshape(nb_arange(0, 10, 1, NB_OPTS(.dtype = NB_FLOAT64)), NB_SHAPE(5, 2));
    NBT_CHECK(nb_linalg_lstsq(G, B2) == NULL); /* fewer dims than A, as torch refuses */
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "as many dims as A");
    nb_tensor *B  = nb_expand(B2, NB_SHAPE(2, 5, 2));
    nb_tensor *X  = nb_linalg_lstsq(G, B);
    nb_tensor *Gt = nb_transpose(G, -1, -2);
    NBT_CHECK(X && max_abs_diff(X, nb_linalg_solve(nb_matmul(Gt, G), nb_matmul(Gt, B))) < 1e-10);
    NBT_CHECK(max_abs_diff(nb_matmul(nb_linalg_pinv(G), B), X) < 1e-10);
    /* pinv of a rank-1 matrix drops the zero singular value. */
    nb_tensor *rank1 = f64(NB_SHAPE(2, 2), (double[]){ 1, 2, 2, 4 });
    NBT_CHECK_TENSOR(nb_linalg_pinv(rank1), NB_SHAPE(2, 2), 1e-12, 0.04, 0.08, 0.08, 0.16);
    nb_scope_end();
}

static void test_composites(void)
{
    nb_scope_begin();
    nb_tensor *a = f64(NB_SHAPE(2, 2), (double[]){ 1, 2, 3, 4 });
    nb_tensor *b = f64(NB_SHAPE(2, 2), (double[]){ 5, 6, 7, 8 });
    nb_tensor *c = f64(NB_SHAPE(2), (double[]){ 1, -1 });
    /* 0.5 * c + 2 * a b, c broadcast over rows */
    NBT_CHECK_TENSOR(nb_addmm(c, a, b, 0.5, 2), NB_SHAPE(2, 2), 1e-12, 38.5, 43.5, 86.5, 99.5);
    nb_tensor *nan_input = f64(NB_SHAPE(2, 2), (double[]){ NAN, NAN, NAN, NAN });
    NBT_CHECK_TENSOR(nb_addmm(nan_input, a, b, 0, 1), NB_SHAPE(2, 2), 1e-12, 19, 22, 43, 50);
    NBT_CHECK(nb_addmm(f64(NB_SHAPE(3), (double[]){ 1, 2, 3 }), a, b, 1, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "cannot be expanded");
    nb_tensor *batch = nb_stack((nb_tensor *[]){ a, b }, 2, 0);
    NBT_CHECK_TENSOR(nb_baddbmm(nb_zeros(NB_SHAPE(1), NB_OPTS(.dtype = NB_FLOAT64)), batch, batch, 1, 1),
                     NB_SHAPE(2, 2, 2), 1e-12, 7, 10, 15, 22, 67, 78, 91, 106);
    NBT_CHECK_TENSOR(nb_kron(c, a), NB_SHAPE(2, 4), 0, 1, 2, -1, -2, 3, 4, -3, -4);
    NBT_CHECK_TENSOR(nb_kron(a, f64(NB_SHAPE(1, 2), (double[]){ 1, 10 })), NB_SHAPE(2, 4), 0, 1, 10, 2, 20, 3, 30, 4, 40);
    nb_tensor *x = f64(NB_SHAPE(3), (double[]){ 1, 0, 0 }), *y = f64(NB_SHAPE(3), (double[]){ 0, 1, 0 });
    NBT_CHECK_TENSOR(nb_linalg_cross(x, y, -1), NB_SHAPE(3), 0, 0, 0, 1);
    NBT_CHECK(nb_linalg_cross(a, b, -1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "size 3");
    NBT_CHECK_TENSOR(nb_linalg_vector_norm(a, 2, NB_DIMS(), false), NB_SCALAR_SHAPE, 1e-12, sqrt(30.0));
    NBT_CHECK_TENSOR(nb_linalg_matrix_norm(a, NB_NORM_ONE, NB_DIMS(-2, -1), false), NB_SCALAR_SHAPE, 0, 6);
    NBT_CHECK_TENSOR(nb_linalg_matrix_norm(a, NB_NORM_INF, NB_DIMS(-2, -1), true), NB_SHAPE(1, 1), 0, 7);
    NBT_CHECK_TENSOR(nb_linalg_matrix_norm(a, NB_NORM_NEG_INF, NB_DIMS(-2, -1), false), NB_SCALAR_SHAPE, 0, 3);
    NBT_CHECK_TENSOR(nb_linalg_matrix_norm(a, NB_NORM_FRO, NB_DIMS(0, 1), false), NB_SCALAR_SHAPE, 1e-12, sqrt(30.0));
    /* einsum: product, trace, diagonal, transpose, implicit output, ellipsis */
    NBT_CHECK_TENSOR(nb_einsum("ij,jk->ik", (nb_tensor *[]){ a, b }, 2), NB_SHAPE(2, 2), 0, 19, 22, 43, 50);
    NBT_CHECK_TENSOR(nb_einsum("ij,jk", (nb_tensor *[]){ a, b }, 2), NB_SHAPE(2, 2), 0, 19, 22, 43, 50);
    NBT_CHECK_TENSOR(nb_einsum("ii", (nb_tensor *[]){ a }, 1), NB_SCALAR_SHAPE, 0, 5);
    NBT_CHECK_TENSOR(nb_einsum("ii->i", (nb_tensor *[]){ a }, 1), NB_SHAPE(2), 0, 1, 4);
    NBT_CHECK_TENSOR(nb_einsum("ji", (nb_tensor *[]){ a }, 1), NB_SHAPE(2, 2), 0, 1, 3, 2, 4);
    NBT_CHECK_TENSOR(nb_einsum("i,j->ij", (nb_tensor *[]){ c, c }, 2), NB_SHAPE(2, 2), 0, 1, -1, -1, 1);
    NBT_CHECK_TENSOR(nb_einsum("...ij,...jk->...ik", (nb_tensor *[]){ batch, a }, 2), NB_SHAPE(2, 2, 2), 0, 7, 10,
                     15, 22, 23, 34, 31, 46);
    NBT_CHECK_TENSOR(nb_einsum("bij,bij->b", (nb_tensor *[]){ batch, batch }, 2), NB_SHAPE(2), 0, 30, 174);
    NBT_CHECK(nb_einsum("ij,jk->ik", (nb_tensor *[]){ a }, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "names 2 operands");
    NBT_CHECK(nb_einsum("ij->k", (nb_tensor *[]){ a }, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "does not appear");
    NBT_CHECK(nb_einsum("i1", (nb_tensor *[]){ a }, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "not a letter");
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Gradients (float64)                                                       */
/* ------------------------------------------------------------------------ */

/* Outputs flattened and joined: one tensor for nb_gradcheck. */
static nb_tensor *joined(nb_tensor *a, nb_tensor *b)
{
    nb_tensor *parts[2] = { nb_reshape(a, NB_SHAPE(-1)), nb_reshape(b, NB_SHAPE(-1)) };
    return nb_cat(parts, 2, 0);
}
static nb_tensor *symmetric(nb_tensor *x) { return nb_mul_scalar(nb_add(x, nb_transpose(x, -1, -2)), 0.5); }

static nb_tensor *f_solve(nb_tensor *const *x, int n, void *u) { (void)n, (void)u; return nb_linalg_solve(x[0], x[1]); }
static nb_tensor *f_inv(nb_tensor *const *x, int n, void *u) { (void)n, (void)u; return nb_linalg_inv(x[0]); }
static nb_tensor *f_det(nb_tensor *const *x, int n, void *u) { (void)n, (void)u; return nb_linalg_det(x[0]); }
static nb_tensor *f_slogdet(nb_tensor *const *x, int n, void *u)
{
    (void)n, (void)u;
    nb_tensor *logabs = NULL, *sign = nb_linalg_slogdet(x[0], &logabs);
    return sign ? nb_mul(sign, logabs) : NULL;
}
static nb_tensor *f_cholesky(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    return nb_linalg_cholesky(symmetric(x[0]), u != NULL);
}
static nb_tensor *f_eigh(nb_tensor *const *x, int n, void *u)
{
    (void)n, (void)u;
    nb_tensor *V = NULL, *w = nb_linalg_eigh(symmetric(x[0]), false, &V);
    return w ? joined(w, nb_mul(V, V)) : NULL; /* V*V: the signs drop out */
}
static nb_tensor *f_eigvalsh(nb_tensor *const *x, int n, void *u) { (void)n, (void)u; return nb_linalg_eigvalsh(symmetric(x[0]), true); }
static nb_tensor *f_qr(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    nb_tensor *R = NULL, *Q = nb_linalg_qr(x[0], u != NULL, &R);
    return Q ? joined(Q, R) : NULL;
}
static nb_tensor *f_svd(nb_tensor *const *x, int n, void *u)
{
    (void)n, (void)u;
    nb_tensor *S = NULL, *Vh = NULL, *U = nb_linalg_svd(x[0], false, &S, &Vh);
    return U ? joined(S, nb_matmul(U, Vh)) : NULL; /* U Vh: each pair's signs cancel */
}
static nb_tensor *f_svdvals(nb_tensor *const *x, int n, void *u) { (void)n, (void)u; return nb_linalg_svdvals(x[0]); }
static nb_tensor *f_lstsq(nb_tensor *const *x, int n, void *u) { (void)n, (void)u; return nb_linalg_lstsq(x[0], x[1]); }
static nb_tensor *f_pinv(nb_tensor *const *x, int n, void *u) { (void)n, (void)u; return nb_linalg_pinv(x[0]); }
static nb_tensor *f_nuc(nb_tensor *const *x, int n, void *u)
{
    (void)n, (void)u;
    return nb_linalg_matrix_norm(x[0], NB_NORM_NUC, NB_DIMS(-2, -1), false);
}

static void gradchecks(const char *what, nb_function f, nb_tensor *const *inputs, int count, void *user)
{
    nb_status first = nb_gradcheck(f, inputs, count, user, NB_GRADCHECK_OPTS());
    if (first != NB_OK) fprintf(stderr, "  gradcheck %s: %s\n", what, nb_last_error());
    NBT_CHECK(first == NB_OK);
    nb_clear_error();
    nb_status second = nb_gradgradcheck(f, inputs, count, user, NB_GRADCHECK_OPTS());
    if (second != NB_OK) fprintf(stderr, "  gradgradcheck %s: %s\n", what, nb_last_error());
    NBT_CHECK(second == NB_OK);
    nb_clear_error();
}

static nb_tensor *leaf(nb_tensor *t)
{
    nb_tensor *x = nb_contiguous(nb_detach(t));
    nb_requires_grad_(x, true);
    return x;
}

static void test_gradients(void)
{
    if (!have_lapack()) return;
    nb_scope_begin();
    nb_tensor *A  = leaf(general(2, 3, 3));
    nb_tensor *B  = leaf(nb_reshape(nb_arange(0, 6, 1, NB_OPTS(.dtype = NB_FLOAT64)), NB_SHAPE(3, 2)));
    nb_tensor *b  = leaf(nb_arange(1, 4, 1, NB_OPTS(.dtype = NB_FLOAT64)));
    nb_tensor *P  = leaf(spd(1, 3));
    nb_tensor *T  = leaf(general(1, 4, 3));
    nb_tensor *W  = leaf(nb_contiguous(nb_transpose(general(1, 4, 3), -1, -2))); /* (1, 3, 4) */
    gradchecks("solve", f_solve, (nb_tensor *[]){ A, B }, 2, NULL);
    gradchecks("solve vector", f_solve, (nb_tensor *[]){ A, b }, 2, NULL);
    gradchecks("inv", f_inv, (nb_tensor *[]){ A }, 1, NULL);
    gradchecks("det", f_det, (nb_tensor *[]){ A }, 1, NULL);
    gradchecks("slogdet", f_slogdet, (nb_tensor *[]){ A }, 1, NULL);
    gradchecks("cholesky", f_cholesky, (nb_tensor *[]){ P }, 1, NULL);
    gradchecks("cholesky upper", f_cholesky, (nb_tensor *[]){ P }, 1, (void *)1);
    gradchecks("eigh", f_eigh, (nb_tensor *[]){ P }, 1, NULL);
    gradchecks("eigvalsh", f_eigvalsh, (nb_tensor *[]){ P }, 1, NULL);
    gradchecks("qr tall", f_qr, (nb_tensor *[]){ T }, 1, NULL);
    gradchecks("qr wide", f_qr, (nb_tensor *[]){ W }, 1, NULL);
    gradchecks("qr square complete", f_qr, (nb_tensor *[]){ A }, 1, (void *)1);
    gradchecks("svd tall", f_svd, (nb_tensor *[]){ T }, 1, NULL);
    gradchecks("svd wide", f_svd, (nb_tensor *[]){ W }, 1, NULL);
    gradchecks("svdvals", f_svdvals, (nb_tensor *[]){ A }, 1, NULL);
    gradchecks("pinv", f_pinv, (nb_tensor *[]){ T }, 1, NULL);
    gradchecks("matrix_norm nuc", f_nuc, (nb_tensor *[]){ A }, 1, NULL);
    /* The gradient of a complete QR of a tall matrix is not defined (torch). */
    nb_tensor *R = NULL, *Q = nb_linalg_qr(T, true, &R);
    NBT_CHECK(nb_backward(nb_sum(Q)) != NB_OK);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "not defined");
    nb_tensor *Bt = leaf(general(1, 4, 2)), *Bw = leaf(general(1, 3, 2)), *bt = leaf(nb_arange(1, 5, 1, NB_OPTS(.dtype = NB_FLOAT64)));
    gradchecks("lstsq tall", f_lstsq, (nb_tensor *[]){ T, Bt }, 2, NULL);
    gradchecks("lstsq wide", f_lstsq, (nb_tensor *[]){ W, Bw }, 2, NULL);
    gradchecks("lstsq vector", f_lstsq, (nb_tensor *[]){ nb_squeeze_dim(T, 0), bt }, 2, NULL);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Without LAPACK                                                            */
/* ------------------------------------------------------------------------ */

static void test_without_lapack(void)
{
    if (have_lapack()) return;
    nb_scope_begin();
    nb_tensor *A = nb_eye(3, 3, NB_OPTS(.dtype = NB_FLOAT64)), *R = NULL, *S = NULL, *Vh = NULL, *V = NULL;
    nb_tensor *empty = nb_zeros(NB_SHAPE(0, 0), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_linalg_solve(A, A) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "has no LAPACK (it was built without OpenBLAS");
    NBT_CHECK(nb_linalg_inv(A) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "nb_linalg_inv: this build of nabla has no LAPACK");
    NBT_CHECK(nb_linalg_det(empty) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no LAPACK");
    NBT_CHECK(nb_linalg_slogdet(A, &R) == NULL && R == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no LAPACK");
    NBT_CHECK(nb_linalg_cholesky(A, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no LAPACK");
    NBT_CHECK(nb_linalg_qr(A, false, &R) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no LAPACK");
    NBT_CHECK(nb_linalg_eigh(A, false, &V) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no LAPACK");
    NBT_CHECK(nb_linalg_eigvalsh(A, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no LAPACK");
    NBT_CHECK(nb_linalg_svd(A, false, &S, &Vh) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no LAPACK");
    NBT_CHECK(nb_linalg_svdvals(A) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no LAPACK");
    NBT_CHECK(nb_linalg_lstsq(A, A) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no LAPACK");
    NBT_CHECK(nb_linalg_pinv(A) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no LAPACK");
    NBT_CHECK(nb_linalg_matrix_norm(A, NB_NORM_NUC, NB_DIMS(-2, -1), false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no LAPACK");
    /* The composites need no LAPACK. */
    NBT_CHECK_TENSOR(nb_linalg_matrix_norm(A, NB_NORM_ONE, NB_DIMS(-2, -1), false), NB_SCALAR_SHAPE, 0, 1);
    nb_scope_end();
}

int main(void)
{
    printf("LAPACK: %s\n", have_lapack() ? "yes (OpenBLAS)" : "no (tests expect NB_ERR_UNSUPPORTED)");
    NBT_RUN(test_solve_inv_det);
    NBT_RUN(test_factorizations);
    NBT_RUN(test_composites);
    NBT_RUN(test_gradients);
    NBT_RUN(test_without_lapack);
    return nbt_finish();
}
