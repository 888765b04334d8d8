/*
 * misuse_linalg.h — the misuse cases of nabla.h's linear algebra of issue
 * 13 (addmm ... einsum, torch.linalg), included by test_misuse.c: it uses
 * that file's fixtures (f float32 (2, 3), d float64 (2, 3), i64, b, e, s)
 * and check macros, and is not compiled on its own.
 */
static void run_linalg(void)
{
    nb_tensor *sq = nb_eye(3, 3, NB_OPTS(.dtype = NB_FLOAT64)), *v3 = nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *out = NULL, *out2 = NULL;
    /* beta * input + alpha * m1 m2 */
    nb_tensor *m2 = nb_ones(NB_SHAPE(3, 2), NB_OPTS());
    begin("nb_addmm");
    FAILS("NULL input", nb_addmm(NULL, f, m2, 1, 1));
    FAILS("NULL m1", nb_addmm(f, NULL, m2, 1, 1));
    PENDING("NULL, NULL, NULL", nb_addmm(NULL, NULL, NULL, 1, 1));
    FREED("freed m2", nb_addmm(f, f, fresh_gone(), 1, 1));
    FAILS("(2, 3) @ (2, 3)", nb_addmm(f, f, f, 1, 1));
    FAILS("input (2, 3) for a (2, 2) product", nb_addmm(f, f, m2, 1, 1));
    FAILS("float64 input", nb_addmm(nb_ones(NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_FLOAT64)), f, m2, 1, 1));
    FAILS("3-d m1", nb_addmm(s, f4, m2, 1, 1));
    ALLOWED("NaN alpha", nb_addmm(s, f, m2, 1, NAN));
    begin("nb_baddbmm");
    nb_tensor *b3 = nb_ones(NB_SHAPE(2, 2, 3), NB_OPTS()), *c3 = nb_ones(NB_SHAPE(2, 3, 2), NB_OPTS());
    FAILS("NULL b1", nb_baddbmm(s, NULL, c3, 1, 1));
    FREED("freed input", nb_baddbmm(fresh_gone(), b3, c3, 1, 1));
    FAILS("2-d operands", nb_baddbmm(s, f, m2, 1, 1));
    FAILS("batch 2 and 1", nb_baddbmm(s, b3, nb_ones(NB_SHAPE(1, 3, 2), NB_OPTS()), 1, 1));
    ALLOWED("int64 input (converted)", nb_baddbmm(nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64)), b3, c3, 1, 1));
    begin("nb_kron");
    FAILS("NULL, t", nb_kron(NULL, f));
    FREED("t, freed", nb_kron(f, fresh_gone()));
    FAILS("5-d", nb_kron(nb_ones(NB_SHAPE(1, 1, 1, 1, 2), NB_OPTS()), f));
    ALLOWED("bool, int64", nb_kron(b, i64));
    ALLOWED("empty", nb_kron(e, f));
    begin("nb_linalg_cross");
    FAILS("NULL", nb_linalg_cross(NULL, f, -1));
    FREED("freed", nb_linalg_cross(fresh_gone(), f, -1));
    FAILS("size 2 at dim", nb_linalg_cross(f, f, 0));
    ALLOWED("size 3 at dim", nb_linalg_cross(f, f, 1));
    FAILS("dim 2 of 2", nb_linalg_cross(f, f, 2));
    FAILS("dim INT_MIN", nb_linalg_cross(f, f, INT_MIN));
    FAILS("float32, float64", nb_linalg_cross(f, d, 1));
    FAILS("bool", nb_linalg_cross(b, b, 1));
    FAILS("(3), (2, 3)", nb_linalg_cross(nb_ones(NB_SHAPE(3), NB_OPTS()), f, -1));
    begin("nb_linalg_vector_norm");
    FAILS("NULL", nb_linalg_vector_norm(NULL, 2, NB_DIMS(), false));
    FREED("freed", nb_linalg_vector_norm(fresh_gone(), 2, NB_DIMS(), false));
    FAILS("NaN ord", nb_linalg_vector_norm(f, NAN, NB_DIMS(), false));
    FAILS("int64", nb_linalg_vector_norm(i64, 2, NB_DIMS(), false));
    FAILS("dim 5", nb_linalg_vector_norm(f, 2, NB_DIMS(5), false));
    FAILS("dim twice", nb_linalg_vector_norm(f, 2, NB_DIMS(0, 0), false));
    begin("nb_linalg_matrix_norm");
    FAILS("NULL", nb_linalg_matrix_norm(NULL, NB_NORM_FRO, NB_DIMS(-2, -1), false));
    FREED("freed", nb_linalg_matrix_norm(fresh_gone(), NB_NORM_FRO, NB_DIMS(-2, -1), false));
    FAILS("ord 99", nb_linalg_matrix_norm(f, (nb_matrix_norm_ord)99, NB_DIMS(-2, -1), false));
    FAILS("ord -1", nb_linalg_matrix_norm(f, (nb_matrix_norm_ord)-1, NB_DIMS(-2, -1), false));
    FAILS("1-d", nb_linalg_matrix_norm(v3, NB_NORM_ONE, NB_DIMS(-2, -1), false));
    FAILS("one dim", nb_linalg_matrix_norm(f, NB_NORM_ONE, NB_DIMS(0), false));
    FAILS("same dim", nb_linalg_matrix_norm(f, NB_NORM_ONE, NB_DIMS(1, 1), false));
    FAILS("dim 7", nb_linalg_matrix_norm(f, NB_NORM_ONE, NB_DIMS(0, 7), false));
    FAILS("int64", nb_linalg_matrix_norm(i64, NB_NORM_FRO, NB_DIMS(-2, -1), false));
    FAILS("max over an empty dim", nb_linalg_matrix_norm(nb_zeros(NB_SHAPE(3, 0), NB_OPTS()), NB_NORM_ONE,
                                                           NB_DIMS(-2, -1), false));
    begin("nb_einsum");
    nb_tensor *pair[2] = { f, m2 }, *with_null[2] = { f, NULL }, *with_freed[2] = { f, fresh_gone() };
    FAILS("NULL equation", nb_einsum(NULL, pair, 2));
    FAILS("NULL operands", nb_einsum("ij,jk->ik", NULL, 2));
    FAILS("count 0", nb_einsum("", pair, 0));
    FAILS("count -1", nb_einsum("ij", pair, -1));
    FAILS("count INT_MAX", nb_einsum("ij", pair, INT_MAX));
    FAILS("a NULL operand", nb_einsum("ij,jk->ik", with_null, 2));
    FREED("a freed operand", nb_einsum("ij,jk->ik", with_freed, 2));
    FAILS("one operand for two terms", nb_einsum("ij,jk->ik", pair, 1));
    FAILS("sizes differ", nb_einsum("ij,ij->ij", pair, 2));
    FAILS("too few subscripts", nb_einsum("i,jk->ik", pair, 2));
    FAILS("a digit", nb_einsum("i1,jk->ik", pair, 2));
    FAILS("\"..\"", nb_einsum("..ij,jk->ik", pair, 2));
    FAILS("two ellipses", nb_einsum("......,jk", pair, 2));
    FAILS("unknown output label", nb_einsum("ij,jk->iz", pair, 2));
    FAILS("repeated output label", nb_einsum("ij,jk->ii", pair, 2));
    FAILS("float32, float64", nb_einsum("ij,ij->", (nb_tensor *[]){ f, d }, 2));
    FAILS("diagonal of (2, 3)", nb_einsum("ii", pair, 1));
    ALLOWED("empty", nb_einsum("ij->j", (nb_tensor *[]){ e }, 1));
    ALLOWED("0-d", nb_einsum("", (nb_tensor *[]){ s }, 1));

    /* torch.linalg through LAPACK (in a build without it, all fail) */
    typedef nb_tensor *(*matrix_fn)(const nb_tensor *);
    static const struct {
        const char *name;
        matrix_fn   fn;
        bool        square;
    } unary[] = { { "nb_linalg_inv", nb_linalg_inv, true },
                  { "nb_linalg_det", nb_linalg_det, true },
                  { "nb_linalg_svdvals", nb_linalg_svdvals, false },
                  { "nb_linalg_pinv", nb_linalg_pinv, false } };
    for (size_t k = 0; k < sizeof unary / sizeof unary[0]; k++) {
        begin(unary[k].name);
        FAILS("NULL", unary[k].fn(NULL));
        PENDING("NULL pending", unary[k].fn(NULL));
        FREED("freed", unary[k].fn(fresh_gone()));
        FAILS("1-d", unary[k].fn(v3));
        FAILS("0-d", unary[k].fn(s));
        FAILS("int64", unary[k].fn(i64));
        FAILS("bool", unary[k].fn(b));
        if (unary[k].square) FAILS("(2, 3)", unary[k].fn(d));
        ALLOWED("float32", unary[k].fn(f));
        ALLOWED("empty", unary[k].fn(e));
    }
    nb_tensor *singular = nb_zeros(NB_SHAPE(3, 3), NB_OPTS(.dtype = NB_FLOAT64));
    begin("nb_linalg_inv");
    FAILS("singular", nb_linalg_inv(singular));
    begin("nb_linalg_solve");
    FAILS("NULL A", nb_linalg_solve(NULL, v3));
    FAILS("NULL B", nb_linalg_solve(sq, NULL));
    FREED("freed B", nb_linalg_solve(sq, fresh_gone()));
    FAILS("0-d B", nb_linalg_solve(sq, nb_scalar(1, NB_OPTS(.dtype = NB_FLOAT64))));
    FAILS("B (2)", nb_linalg_solve(sq, nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_FLOAT64))));
    FAILS("A (2, 3)", nb_linalg_solve(d, v3));
    FAILS("float64, float32", nb_linalg_solve(sq, nb_ones(NB_SHAPE(3), NB_OPTS())));
    FAILS("singular", nb_linalg_solve(singular, v3));
    FAILS("batch dims 2 and 3", nb_linalg_solve(nb_ones(NB_SHAPE(2, 3, 3), NB_OPTS(.dtype = NB_FLOAT64)),
                                                nb_ones(NB_SHAPE(3, 3, 1), NB_OPTS(.dtype = NB_FLOAT64))));
    begin("nb_linalg_slogdet");
    FAILS("NULL", nb_linalg_slogdet(NULL, &out));
    FREED("freed", nb_linalg_slogdet(fresh_gone(), &out));
    FAILS("NULL logabsdet", nb_linalg_slogdet(sq, NULL));
    FAILS("(2, 3)", nb_linalg_slogdet(d, &out));
    FAILS("int64", nb_linalg_slogdet(i64, &out));
    begin("nb_linalg_cholesky");
    FAILS("NULL", nb_linalg_cholesky(NULL, false));
    FREED("freed", nb_linalg_cholesky(fresh_gone(), true));
    FAILS("(2, 3)", nb_linalg_cholesky(d, false));
    FAILS("int64", nb_linalg_cholesky(i64, false));
    FAILS("not positive-definite", nb_linalg_cholesky(singular, false));
    ALLOWED("NaN (OpenBLAS's potrf may pass NaNs through)", nb_linalg_cholesky(nb_full(NB_SHAPE(2, 2), NAN, NB_OPTS()), false));
    begin("nb_linalg_qr");
    FAILS("NULL", nb_linalg_qr(NULL, false, &out));
    FREED("freed", nb_linalg_qr(fresh_gone(), false, &out));
    FAILS("NULL R", nb_linalg_qr(d, false, NULL));
    FAILS("1-d", nb_linalg_qr(v3, false, &out));
    FAILS("int64", nb_linalg_qr(i64, true, &out));
    begin("nb_linalg_eigh");
    FAILS("NULL", nb_linalg_eigh(NULL, false, &out));
    FREED("freed", nb_linalg_eigh(fresh_gone(), false, &out));
    FAILS("(2, 3)", nb_linalg_eigh(d, false, &out));
    FAILS("int64", nb_linalg_eigh(i64, false, NULL));
    begin("nb_linalg_eigvalsh");
    FAILS("NULL", nb_linalg_eigvalsh(NULL, false));
    FREED("freed", nb_linalg_eigvalsh(fresh_gone(), false));
    FAILS("(2, 3)", nb_linalg_eigvalsh(d, true));
    begin("nb_linalg_svd");
    FAILS("NULL", nb_linalg_svd(NULL, false, &out, &out2));
    FREED("freed", nb_linalg_svd(fresh_gone(), false, &out, &out2));
    FAILS("NULL S", nb_linalg_svd(d, false, NULL, &out2));
    FAILS("NULL Vh", nb_linalg_svd(d, true, &out, NULL));
    FAILS("1-d", nb_linalg_svd(v3, false, &out, &out2));
    FAILS("int64", nb_linalg_svd(i64, false, &out, &out2));
    begin("nb_linalg_lstsq");
    FAILS("NULL A", nb_linalg_lstsq(NULL, d));
    FAILS("NULL B", nb_linalg_lstsq(d, NULL));
    FREED("freed B", nb_linalg_lstsq(d, fresh_gone()));
    FAILS("rows 2 and 3", nb_linalg_lstsq(d, sq));
    FAILS("B 0-d", nb_linalg_lstsq(d, nb_scalar(1, NB_OPTS(.dtype = NB_FLOAT64))));
    FAILS("float64, float32", nb_linalg_lstsq(d, f));
    FAILS("int64", nb_linalg_lstsq(i64, i64));
}
