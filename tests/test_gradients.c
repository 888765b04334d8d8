/*
 * test_gradients.c — the op table for everything differentiable outside
 * ops.def (whose rows test_elementwise.c checks): views, copies,
 * reductions, matmul, joining and indexing. Each row is a function of
 * float64 inputs; every row must pass nb_gradcheck (first derivatives, every
 * input) and, unless marked first-order only, nb_gradgradcheck.
 *
 * Inputs are drawn in (0.5, 2) so every op is inside its domain and away
 * from kinks; rows that need other values say so in their function.
 */
#include "nb_test.h"

typedef nb_tensor *(*row_fn)(nb_tensor *const *x, int count, void *user);

typedef struct {
    const char *name;
    row_fn      fn;
    int         count;
    nb_shape    shapes[3];
    bool        first_order_only; /* piecewise ops whose 2nd derivative is a delta */
    bool        transposed_input; /* x[0] is a transposed view (non-contiguous) */
} grad_row;

/* ------------------------------------------------------------------------ */
/* Views and copies                                                          */
/* ------------------------------------------------------------------------ */

static nb_tensor *row_reshape(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_reshape(x[0], NB_SHAPE(4, -1)); }
static nb_tensor *row_view_chain(nb_tensor *const *x, int n, void *u)
{
    (void)n; (void)u;
    return nb_flatten(nb_unsqueeze(nb_squeeze(nb_unflatten(x[0], 1, NB_SHAPE(2, 2))), 0), 0, -1);
}
static nb_tensor *row_transpose(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_mul(nb_transpose(x[0], 0, 1), nb_transpose(x[0], 0, 1)); }
static nb_tensor *row_permute(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_exp(nb_permute(x[0], NB_DIMS(2, 0, 1))); }
static nb_tensor *row_expand(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_mul(nb_expand(x[0], NB_SHAPE(2, 3, 4)), nb_expand(x[0], NB_SHAPE(2, 3, 4))); }
static nb_tensor *row_narrow(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_exp(nb_narrow(x[0], 1, 1, 2)); }
static nb_tensor *row_slice_step(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_sin(nb_slice(x[0], 1, 0, NB_END, 2)); }
static nb_tensor *row_select(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_mul(nb_select(x[0], 0, -1), nb_select(x[0], 1, 2)); }
static nb_tensor *row_diagonal(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_exp(nb_diagonal(x[0], 1, 0, 1)); }
static nb_tensor *row_contiguous(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_exp(nb_contiguous(nb_t(x[0]))); }
static nb_tensor *row_clone(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_mul(nb_clone(x[0]), x[0]); }
/* ------------------------------------------------------------------------ */
/* Reductions                                                                */
/* ------------------------------------------------------------------------ */

static nb_tensor *row_sum(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_sum(nb_mul(x[0], x[0])); }
static nb_tensor *row_sum_dims(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_sum_dims(nb_exp(x[0]), NB_DIMS(0, 2), false); }
static nb_tensor *row_sum_keepdim(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_mul(nb_sum_dims(x[0], NB_DIMS(-1), true), x[0]); }
static nb_tensor *row_mean(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_mean_dims(nb_mul(x[0], x[0]), NB_DIMS(1), false); }
static nb_tensor *row_prod(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_prod_dims(x[0], NB_DIMS(1), false); }
static nb_tensor *row_prod_with_zeros(nb_tensor *const *x, int n, void *u)
{
    (void)n; (void)u;
    /* Zeros at fixed places: one in row 0, two in row 1, none in row 2. */
    double     m[12] = { 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1 };
    nb_tensor *mask  = nb_from_data(m, NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *out   = nb_prod_dims(nb_mul(x[0], mask), NB_DIMS(1), false);
    nb_free(mask);
    return out;
}
static nb_tensor *row_max(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_mul(nb_max(x[0]), nb_min(x[0])); }
static nb_tensor *row_max_dim(nb_tensor *const *x, int n, void *u)
{
    (void)n; (void)u;
    nb_tensor *indices = NULL;
    nb_tensor *values  = nb_max_dim(x[0], 1, false, &indices);
    nb_free(indices);
    nb_tensor *mins = nb_min_dim(x[0], 0, true, NULL);
    nb_tensor *out  = nb_add(nb_unsqueeze(values, 1), mins);
    nb_free(values);
    nb_free(mins);
    return out;
}
static nb_tensor *row_var(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_var_dims(x[0], NB_DIMS(1), 1, false); }
static nb_tensor *row_std(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_std_dims(x[0], NB_DIMS(0), 0, true); }
static nb_tensor *row_logsumexp(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_logsumexp(x[0], NB_DIMS(1), false); }
static nb_tensor *row_norm2(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_norm_dims(x[0], 2, NB_DIMS(1), false); }
static nb_tensor *row_norm1(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_norm(x[0], 1); }
static nb_tensor *row_norm_inf(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_norm_dims(x[0], INFINITY, NB_DIMS(0), false); }
static nb_tensor *row_cumsum(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_mul(nb_cumsum(x[0], 1), x[0]); }
static nb_tensor *row_softmax(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_softmax(x[0], 1); }
static nb_tensor *row_log_softmax(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_log_softmax(x[0], 0); }

/* ------------------------------------------------------------------------ */
/* matmul                                                                    */
/* ------------------------------------------------------------------------ */

static nb_tensor *row_matmul(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_matmul(x[0], x[1]); }

/* ------------------------------------------------------------------------ */
/* Joining and indexing                                                      */
/* ------------------------------------------------------------------------ */

static nb_tensor *row_cat(nb_tensor *const *x, int n, void *u) { (void)u; return nb_cat(x, n, 1); }
static nb_tensor *row_stack(nb_tensor *const *x, int n, void *u) { (void)u; return nb_stack(x, n, 0); }
static nb_tensor *row_split(nb_tensor *const *x, int n, void *u)
{
    (void)n; (void)u;
    nb_tensor *pieces[2] = { NULL, NULL };
    nb_split(x[0], 2, 1, pieces, 2);
    nb_tensor *out = nb_mul(pieces[0], pieces[1]);
    nb_free(pieces[0]);
    nb_free(pieces[1]);
    return out;
}
static nb_tensor *index_of(const int64_t *values, nb_shape shape)
{
    return nb_from_data(values, shape, NB_OPTS(.dtype = NB_INT64));
}
static nb_tensor *row_index_select(nb_tensor *const *x, int n, void *u)
{
    (void)n; (void)u;
    int64_t    i[4] = { 2, 0, 2, 1 }; /* a repeated index sums */
    nb_tensor *index = index_of(i, NB_SHAPE(4));
    nb_tensor *out   = nb_index_select(x[0], 1, index);
    nb_free(index);
    return out;
}
static nb_tensor *row_gather(nb_tensor *const *x, int n, void *u)
{
    (void)n; (void)u;
    int64_t    i[6] = { 0, 3, 3, 1, 2, 0 };
    nb_tensor *index = index_of(i, NB_SHAPE(3, 2));
    nb_tensor *out   = nb_gather(x[0], 1, index);
    nb_free(index);
    return out;
}
static nb_tensor *row_scatter(nb_tensor *const *x, int n, void *u)
{
    (void)n; (void)u;
    int64_t    i[3] = { 1, 3, 0 }; /* distinct: scatter's gradient is then defined */
    nb_tensor *index = index_of(i, NB_SHAPE(3, 1));
    nb_tensor *out   = nb_scatter(x[0], 1, index, x[1]);
    nb_free(index);
    return out;
}
static nb_tensor *row_scatter_add(nb_tensor *const *x, int n, void *u)
{
    (void)n; (void)u;
    int64_t    i[6] = { 1, 1, 3, 0, 2, 2 };
    nb_tensor *index = index_of(i, NB_SHAPE(3, 2));
    nb_tensor *out   = nb_scatter_add(x[0], 1, index, x[1]);
    nb_free(index);
    return out;
}
static nb_tensor *masked(nb_tensor *const *x, bool select)
{
    nb_tensor *mask = nb_gt_scalar(x[1], 1.2);
    nb_tensor *out  = select ? nb_masked_select(x[0], mask) : nb_masked_fill(x[0], mask, -1);
    nb_free(mask);
    return out;
}
static nb_tensor *row_masked_fill(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return masked(x, false); }
static nb_tensor *row_masked_select(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return masked(x, true); }
static nb_tensor *row_sort(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_sort(x[0], 1, true, NULL); }
static nb_tensor *row_topk(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_topk(x[0], 2, 0, false, NULL); }

static const grad_row rows[] = {
    { "reshape", row_reshape, 1, { NB_SHAPE(2, 6) }, false, true },
    { "unflatten/squeeze/unsqueeze/flatten", row_view_chain, 1, { NB_SHAPE(3, 4) }, false, false },
    { "transpose", row_transpose, 1, { NB_SHAPE(3, 4) }, false, true },
    { "permute", row_permute, 1, { NB_SHAPE(2, 3, 4) }, false, false },
    { "expand", row_expand, 1, { NB_SHAPE(3, 1) }, false, false },
    { "narrow", row_narrow, 1, { NB_SHAPE(3, 4) }, false, true },
    { "slice with step", row_slice_step, 1, { NB_SHAPE(3, 5) }, false, false },
    { "select", row_select, 1, { NB_SHAPE(3, 3) }, false, true },
    { "diagonal", row_diagonal, 1, { NB_SHAPE(3, 4) }, false, false },
    { "contiguous", row_contiguous, 1, { NB_SHAPE(3, 4) }, false, false },
    { "clone", row_clone, 1, { NB_SHAPE(3, 4) }, false, true },
    { "sum", row_sum, 1, { NB_SHAPE(3, 4) }, false, true },
    { "sum_dims", row_sum_dims, 1, { NB_SHAPE(2, 3, 4) }, false, false },
    { "sum_dims keepdim", row_sum_keepdim, 1, { NB_SHAPE(3, 4) }, false, false },
    { "mean_dims", row_mean, 1, { NB_SHAPE(3, 4) }, false, true },
    { "prod_dims", row_prod, 1, { NB_SHAPE(3, 4) }, false, false },
    { "prod_dims with zeros", row_prod_with_zeros, 1, { NB_SHAPE(3, 4) }, true, false },
    { "max and min", row_max, 1, { NB_SHAPE(3, 4) }, true, false },
    { "max_dim and min_dim", row_max_dim, 1, { NB_SHAPE(3, 4) }, true, true },
    { "var_dims", row_var, 1, { NB_SHAPE(3, 4) }, false, true },
    { "std_dims", row_std, 1, { NB_SHAPE(3, 4) }, false, false },
    { "logsumexp", row_logsumexp, 1, { NB_SHAPE(3, 4) }, false, true },
    { "norm p=2", row_norm2, 1, { NB_SHAPE(3, 4) }, false, false },
    { "norm p=1", row_norm1, 1, { NB_SHAPE(3, 4) }, true, false },
    { "norm p=inf", row_norm_inf, 1, { NB_SHAPE(3, 4) }, true, false },
    { "cumsum", row_cumsum, 1, { NB_SHAPE(3, 4) }, false, true },
    { "softmax", row_softmax, 1, { NB_SHAPE(3, 4) }, false, true },
    { "log_softmax", row_log_softmax, 1, { NB_SHAPE(3, 4) }, false, false },
    { "matmul 2-d", row_matmul, 2, { NB_SHAPE(3, 4), NB_SHAPE(4, 2) }, false, true },
    { "matmul 1-d . 1-d", row_matmul, 2, { NB_SHAPE(4), NB_SHAPE(4) }, false, false },
    { "matmul 1-d . 3-d", row_matmul, 2, { NB_SHAPE(3), NB_SHAPE(2, 3, 2) }, false, false },
    { "matmul 3-d . 1-d", row_matmul, 2, { NB_SHAPE(2, 2, 3), NB_SHAPE(3) }, false, false },
    { "matmul broadcast batch", row_matmul, 2, { NB_SHAPE(2, 1, 2, 3), NB_SHAPE(3, 3, 2) }, false, false },
    { "cat", row_cat, 3, { NB_SHAPE(2, 1), NB_SHAPE(2, 3), NB_SHAPE(2, 2) }, false, false },
    { "stack", row_stack, 2, { NB_SHAPE(2, 3), NB_SHAPE(2, 3) }, false, false },
    { "split", row_split, 1, { NB_SHAPE(3, 4) }, false, true },
    { "index_select", row_index_select, 1, { NB_SHAPE(2, 3) }, false, false },
    { "gather", row_gather, 1, { NB_SHAPE(3, 4) }, false, true },
    { "scatter", row_scatter, 2, { NB_SHAPE(3, 4), NB_SHAPE(3, 1) }, false, false },
    { "scatter_add", row_scatter_add, 2, { NB_SHAPE(3, 4), NB_SHAPE(3, 2) }, false, false },
    { "masked_fill", row_masked_fill, 2, { NB_SHAPE(3, 4), NB_SHAPE(4) }, false, false },
    { "masked_select", row_masked_select, 2, { NB_SHAPE(3, 4), NB_SHAPE(3, 4) }, false, false },
    { "sort values", row_sort, 1, { NB_SHAPE(3, 4) }, true, true },
    { "topk values", row_topk, 1, { NB_SHAPE(3, 4) }, true, false },
};

/* float64 in (0.5, 2); transposed: the same values viewed through a
 * transpose of a (cols, rows) base. */
static nb_tensor *make_input(nb_shape shape, bool transposed)
{
    nb_shape base = shape;
    if (transposed) {
        base.dims[0] = shape.dims[1];
        base.dims[1] = shape.dims[0];
    }
    nb_tensor *r = nb_rand(base, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *x = nb_add_scalar(nb_mul_scalar(r, 1.5), 0.5);
    if (transposed) x = nb_transpose(x, 0, 1);
    nb_requires_grad_(x, true); /* a leaf, or a view of one */
    return x;
}

static void test_gradient_table(void)
{
    nb_manual_seed(11);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        const grad_row *row = &rows[r];
        nb_scope_begin();
        nb_tensor *inputs[3] = { NULL, NULL, NULL };
        for (int i = 0; i < row->count; i++) inputs[i] = make_input(row->shapes[i], i == 0 && row->transposed_input);
        if (row->transposed_input) {
            /* make_input asked a view to require grad: give that to its base. */
            nb_tensor *base = nb_contiguous(inputs[0]);
            inputs[0]       = nb_transpose(nb_transpose(base, 0, 1), 0, 1);
            nb_tensor *leaf = nb_detach(nb_t(inputs[0]));
            nb_requires_grad_(leaf, true);
            inputs[0] = nb_t(leaf);
        }
        nbt_gradcheck(row->name, row->fn, inputs, row->count, NULL, row->first_order_only ? 1 : 2);
        nb_scope_end();
    }
}

static void test_gradcheck_catches_a_wrong_gradient(void)
{
    /* The check can fail: f(x) = x * detach(x) has gradient detach(x), not
     * the 2x finite differences see. */
    nb_scope_begin();
    nb_tensor *x = make_input(NB_SHAPE(3), false);
    nb_tensor *inputs[1] = { x };
    NBT_CHECK(nb_gradcheck(row_clone, inputs, 1, NULL, NB_GRADCHECK_OPTS()) == NB_OK);
    nb_scope_end();
}

static nb_tensor *wrong_gradient(nb_tensor *const *x, int n, void *u)
{
    (void)n; (void)u;
    nb_tensor *frozen = nb_detach(x[0]);
    nb_tensor *out    = nb_mul(x[0], frozen);
    nb_free(frozen);
    return out;
}

static void test_gradcheck_reports_mismatch(void)
{
    nb_scope_begin();
    nb_tensor *x = make_input(NB_SHAPE(3), false);
    NBT_CHECK(nb_gradcheck(wrong_gradient, &x, 1, NULL, NB_GRADCHECK_OPTS()) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_gradcheck: Jacobian mismatch for output element 0 with respect to input 0");
    nb_tensor *ints = nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_gradcheck(wrong_gradient, &ints, 1, NULL, NB_GRADCHECK_OPTS()) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_gradcheck: no input requires grad");
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_gradient_table);
    NBT_RUN(test_gradcheck_catches_a_wrong_gradient);
    NBT_RUN(test_gradcheck_reports_mismatch);
    return nbt_finish();
}
