/*
 * test_functional.c — nb_linear, nb_dropout and nb_embedding: values
 * (hand-computed), layouts (1-d, 3-d, transposed, empty), gradients
 * (gradcheck and gradgradcheck in float64), dropout's statistics and
 * determinism, and every error a caller can cause.
 */
#include "nb_test.h"

static nb_tensor *f64(const double *values, nb_shape shape)
{
    return nb_from_data(values, shape, NB_OPTS(.dtype = NB_FLOAT64));
}

static nb_tensor *input(nb_shape shape)
{
    nb_tensor *x = nb_add_scalar(nb_mul_scalar(nb_rand(shape, NB_OPTS(.dtype = NB_FLOAT64)), 4), -2);
    nb_requires_grad_(x, true);
    return x;
}

/* ------------------------------------------------------------------------ */
/* linear                                                                    */
/* ------------------------------------------------------------------------ */

static const double linear_x[6]  = {1, 2, 3, 4, 5, 6};                   /* (2, 3) */
static const double linear_w[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}; /* (4, 3) */
static const double linear_b[4]  = {0.5, -1, 2, 0};

static void test_linear_values(void)
{
    nb_scope_begin();
    nb_tensor *x = f64(linear_x, NB_SHAPE(2, 3)), *w = f64(linear_w, NB_SHAPE(4, 3)), *b = f64(linear_b, NB_SHAPE(4));
    NBT_CHECK_TENSOR(nb_linear(x, w, b), NB_SHAPE(2, 4), 1e-12, 1.5, 1, 5, 6, 4.5, 4, 8, 15);
    NBT_CHECK_TENSOR(nb_linear(x, w, NULL), NB_SHAPE(2, 4), 1e-12, 1, 2, 3, 6, 4, 5, 6, 15);
    /* 1-d x: (in) -> (out); 3-d x: (2, 1, 3) -> (2, 1, 4). */
    NBT_CHECK_TENSOR(nb_linear(nb_select(x, 0, 1), w, b), NB_SHAPE(4), 1e-12, 4.5, 4, 8, 15);
    NBT_CHECK_TENSOR(nb_linear(nb_reshape(x, NB_SHAPE(2, 1, 3)), w, b), NB_SHAPE(2, 1, 4), 1e-12, 1.5, 1, 5, 6, 4.5, 4,
                     8, 15);
    /* Transposed x and a weight stored as (in, out) and viewed transposed. */
    nb_tensor *xt = nb_t(nb_contiguous(nb_t(x)));
    nb_tensor *wt = nb_t(nb_contiguous(nb_t(w)));
    NBT_CHECK(!nb_is_contiguous(xt) && !nb_is_contiguous(wt));
    NBT_CHECK_TENSOR(nb_linear(xt, wt, b), NB_SHAPE(2, 4), 1e-12, 1.5, 1, 5, 6, 4.5, 4, 8, 15);
    /* float32 */
    nb_tensor *y32 = nb_linear(nb_to_dtype(x, NB_FLOAT32), nb_to_dtype(w, NB_FLOAT32), nb_to_dtype(b, NB_FLOAT32));
    NBT_CHECK(nb_dtype_of(y32) == NB_FLOAT32);
    NBT_CHECK_TENSOR(y32, NB_SHAPE(2, 4), 1e-6, 1.5, 1, 5, 6, 4.5, 4, 8, 15);
    /* Empty batch, and zero in_features (the bias alone). */
    NBT_CHECK(nb_numel(nb_linear(nb_zeros(NB_SHAPE(0, 3), NB_OPTS(.dtype = NB_FLOAT64)), w, b)) == 0);
    nb_tensor *no_in = nb_linear(nb_zeros(NB_SHAPE(2, 0), NB_OPTS(.dtype = NB_FLOAT64)),
                                 nb_zeros(NB_SHAPE(4, 0), NB_OPTS(.dtype = NB_FLOAT64)), b);
    NBT_CHECK_TENSOR(no_in, NB_SHAPE(2, 4), 0, 0.5, -1, 2, 0, 0.5, -1, 2, 0);
    nb_scope_end();
}

static void test_linear_gradients(void)
{
    nb_scope_begin();
    nb_tensor *x = f64(linear_x, NB_SHAPE(2, 3)), *w = f64(linear_w, NB_SHAPE(4, 3)), *b = f64(linear_b, NB_SHAPE(4));
    nb_requires_grad_(w, true);
    nb_requires_grad_(b, true);
    NBT_CHECK(nb_backward(nb_sum(nb_linear(x, w, b))) == NB_OK);
    /* dL/dW[o] = sum of the rows of x; dL/db = batch size. */
    NBT_CHECK_TENSOR(nb_grad(w), NB_SHAPE(4, 3), 1e-12, 5, 7, 9, 5, 7, 9, 5, 7, 9, 5, 7, 9);
    NBT_CHECK_TENSOR(nb_grad(b), NB_SHAPE(4), 1e-12, 2, 2, 2, 2);
    nb_scope_end();
}

static nb_tensor *row_linear(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_linear(x[0], x[1], x[2]);
}
static nb_tensor *row_linear_3d(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_linear(x[0], x[1], NULL);
}

static void test_linear_gradcheck(void)
{
    nb_scope_begin();
    nb_manual_seed(1);
    nb_tensor *in2[3] = {input(NB_SHAPE(3, 4)), input(NB_SHAPE(2, 4)), input(NB_SHAPE(2))};
    nbt_gradcheck("linear", row_linear, in2, 3, NULL, 2);
    nb_tensor *in1[3] = {input(NB_SHAPE(4)), in2[1], in2[2]};
    nbt_gradcheck("linear 1-d x", row_linear, in1, 3, NULL, 2);
    nb_tensor *in3[2] = {input(NB_SHAPE(2, 2, 4)), in2[1]};
    nbt_gradcheck("linear 3-d x", row_linear_3d, in3, 2, NULL, 2);
    nb_scope_end();
}

static void test_linear_errors(void)
{
    nb_scope_begin();
    nb_tensor *x = nb_zeros(NB_SHAPE(2, 3), NB_OPTS()), *w = nb_zeros(NB_SHAPE(4, 3), NB_OPTS());
    NBT_CHECK(nb_linear(x, nb_zeros(NB_SHAPE(4, 2), NB_OPTS()), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_linear: x of shape [2, 3] does not fit weight of shape [4, 2] (x's last dim "
                                  "must be in_features = 2)");
    NBT_CHECK(nb_linear(x, nb_zeros(NB_SHAPE(3), NB_OPTS()), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_linear: weight must be 2-d (out_features, in_features), got shape [3]");
    NBT_CHECK(nb_linear(nb_zeros(NB_SCALAR_SHAPE, NB_OPTS()), w, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "x of shape [] does not fit weight of shape [4, 3]");
    NBT_CHECK(nb_linear(x, w, nb_zeros(NB_SHAPE(3), NB_OPTS())) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_linear: bias has shape [3]; expected [4] (one per output feature)");
    NBT_CHECK(nb_linear(x, nb_zeros(NB_SHAPE(4, 3), NB_OPTS(.dtype = NB_FLOAT64)), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_linear: weight is float64 but x is float32");
    NBT_CHECK(nb_linear(nb_zeros(NB_SHAPE(2, 3), NB_OPTS(.dtype = NB_INT64)), w, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_linear: x must be float32 or float64, got int64");
    NBT_CHECK(nb_linear(x, NULL, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_linear: argument 'weight' is NULL");
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* dropout                                                                   */
/* ------------------------------------------------------------------------ */

static void test_dropout_statistics(void)
{
    nb_scope_begin();
    nb_manual_seed(7);
    nb_tensor *x   = nb_full(NB_SHAPE(100, 100), 2.0, NB_OPTS(.requires_grad = true));
    nb_tensor *out = nb_dropout(x, 0.3, true);
    /* Every element is 0 or 2 / 0.7; about 30% are 0. */
    nb_tensor *kept    = nb_ne_scalar(out, 0);
    double     n_kept  = nb_item(nb_sum(kept));
    double     rescale = nb_item(nb_max(out));
    NBT_CHECK_NEAR(n_kept / 10000, 0.7, 0.02);
    NBT_CHECK_NEAR(rescale, 2.0 / 0.7, 1e-6);
    NBT_CHECK_NEAR(nb_item(nb_sum(out)), n_kept * 2.0 / 0.7, 1e-2);
    /* The gradient is the mask times 1 / (1 - p). */
    NBT_CHECK(nb_backward(nb_sum(out)) == NB_OK);
    NBT_CHECK_NEAR(nb_item(nb_max(nb_abs(nb_sub(nb_grad(x), nb_div_scalar(out, 2))))), 0, 1e-6);
    nb_scope_end();
}

static void test_dropout_modes(void)
{
    nb_scope_begin();
    double     v[4] = {1, -2, 3, NAN};
    nb_tensor *x    = f64(v, NB_SHAPE(2, 2));
    nb_requires_grad_(x, true);
    /* Eval and p = 0: x itself, still in the graph. */
    nb_tensor *eval = nb_dropout(x, 0.5, false);
    NBT_CHECK_TENSOR(eval, NB_SHAPE(2, 2), 0, 1, -2, 3, NAN);
    NBT_CHECK(nb_requires_grad(eval));
    NBT_CHECK_TENSOR(nb_dropout(x, 0, true), NB_SHAPE(2, 2), 0, 1, -2, 3, NAN);
    /* p = 1: zeros (NaN stays NaN, as torch multiplies by zero); zero gradient. */
    nb_tensor *all = nb_dropout(x, 1, true);
    NBT_CHECK_TENSOR(all, NB_SHAPE(2, 2), 0, 0, 0, 0, NAN);
    NBT_CHECK(nb_backward(nb_sum(nb_narrow(nb_reshape(all, NB_SHAPE(4)), 0, 0, 3))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2, 2), 0, 0, 0, 0, 0);
    /* Empty and non-contiguous inputs. */
    NBT_CHECK(nb_numel(nb_dropout(nb_zeros(NB_SHAPE(0, 3), NB_OPTS()), 0.5, true)) == 0);
    nb_tensor *t   = nb_t(nb_ones(NB_SHAPE(30, 20), NB_OPTS()));
    nb_tensor *out = nb_dropout(t, 0.5, true);
    NBT_CHECK(nb_size(out, 0) == 20 && nb_size(out, 1) == 30);
    NBT_CHECK(nb_item(nb_all(nb_logical_or(nb_eq_scalar(out, 0), nb_eq_scalar(out, 2)))) == 1);
    nb_scope_end();
}

/* The mask depends on the seed only: not on the thread count. */
static void test_dropout_determinism(void)
{
    nb_scope_begin();
    nb_tensor *x       = nb_ones(NB_SHAPE(200, 200), NB_OPTS());
    int        threads = nb_get_num_threads();
    nb_manual_seed(42);
    nb_set_num_threads(1);
    nb_tensor *a = nb_dropout(x, 0.25, true);
    nb_manual_seed(42);
    nb_set_num_threads(2);
    nb_tensor *b = nb_dropout(x, 0.25, true);
    nb_set_num_threads(threads);
    nb_tensor *c = nb_dropout(x, 0.25, true); /* the stream moved on: another mask */
    NBT_CHECK(nb_item(nb_all(nb_eq(a, b))) == 1);
    NBT_CHECK(nb_item(nb_all(nb_eq(a, c))) == 0);
    nb_scope_end();
}

static nb_tensor *row_dropout(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    nb_manual_seed(3); /* the same mask on every evaluation */
    return nb_dropout(x[0], 0.4, true);
}

static void test_dropout_gradcheck_and_errors(void)
{
    nb_scope_begin();
    nb_manual_seed(2);
    nb_tensor *in[1] = {input(NB_SHAPE(4, 5))};
    nbt_gradcheck("dropout", row_dropout, in, 1, NULL, 2);

    nb_tensor *x = nb_ones(NB_SHAPE(3), NB_OPTS());
    NBT_CHECK(nb_dropout(x, 1.5, true) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_dropout: dropout probability has to be between 0 and 1, but got 1.5");
    NBT_CHECK(nb_dropout(x, -0.1, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "but got -0.1");
    NBT_CHECK(nb_dropout(x, NAN, true) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "but got nan");
    NBT_CHECK(nb_dropout(nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64)), 0.5, true) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_dropout: x must be float32 or float64, got int64");
    NBT_CHECK(nb_dropout(NULL, 0.5, true) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_dropout: argument 'x' is NULL");
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* embedding                                                                 */
/* ------------------------------------------------------------------------ */

static void test_embedding(void)
{
    nb_scope_begin();
    nb_tensor *weight  = nb_reshape(nb_arange(0, 15, 1, NB_OPTS()), NB_SHAPE(5, 3)); /* row r: 3r, 3r+1, 3r+2 */
    int64_t    idx[4]  = {4, 0, 4, 2};
    nb_tensor *indices = nbt_int64_tensor(NB_SHAPE(2, 2), idx);
    NBT_CHECK_TENSOR(nb_embedding(indices, weight), NB_SHAPE(2, 2, 3), 0, 12, 13, 14, 0, 1, 2, 12, 13, 14, 6, 7, 8);
    /* Transposed indices, a 0-d index, no indices. */
    NBT_CHECK_TENSOR(nb_embedding(nb_t(indices), weight), NB_SHAPE(2, 2, 3), 0, 12, 13, 14, 12, 13, 14, 0, 1, 2, 6, 7,
                     8);
    NBT_CHECK_TENSOR(nb_embedding(nb_select(nb_reshape(indices, NB_SHAPE(4)), 0, 3), weight), NB_SHAPE(3), 0, 6, 7, 8);
    NBT_CHECK(nb_numel(nb_embedding(nb_zeros(NB_SHAPE(2, 0), NB_OPTS(.dtype = NB_INT64)), weight)) == 0);
    NBT_CHECK(nb_ndim(nb_embedding(nb_zeros(NB_SHAPE(2, 0), NB_OPTS(.dtype = NB_INT64)), weight)) == 3);

    /* The gradient of a row is the sum over its uses. */
    nb_tensor *leaf = nb_detach(weight);
    nb_requires_grad_(leaf, true);
    NBT_CHECK(nb_backward(nb_sum(nb_embedding(indices, leaf))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(leaf), NB_SHAPE(5, 3), 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 2, 2, 2);
    nb_scope_end();
}

static nb_tensor *row_embedding(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    int64_t    idx[5]  = {1, 3, 1, 0, 2};
    nb_tensor *indices = nbt_int64_tensor(NB_SHAPE(5), idx);
    nb_tensor *out     = nb_mul(nb_embedding(indices, x[0]), nb_embedding(indices, x[0]));
    nb_free(indices);
    return out;
}

static void test_embedding_gradcheck_and_errors(void)
{
    nb_scope_begin();
    nb_manual_seed(4);
    nb_tensor *in[1] = {input(NB_SHAPE(4, 3))};
    nbt_gradcheck("embedding", row_embedding, in, 1, NULL, 2);

    nb_tensor *weight  = nb_zeros(NB_SHAPE(5, 3), NB_OPTS());
    int64_t    high[3] = {0, 5, 1}, negative[2] = {-1, 0};
    NBT_CHECK(nb_embedding(nbt_int64_tensor(NB_SHAPE(3), high), weight) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_embedding: index 5 is out of range for 5 embeddings");
    NBT_CHECK(nb_embedding(nbt_int64_tensor(NB_SHAPE(2), negative), weight) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_embedding: index -1 is out of range for 5 embeddings");
    NBT_CHECK(nb_embedding(nb_zeros(NB_SHAPE(2), NB_OPTS()), weight) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_embedding: indices must be int64 or int32, got float32");
    NBT_CHECK(nb_embedding(nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT16)), weight) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "got int16"); /* int32 is taken, as torch */
    NBT_CHECK(nb_embedding(nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64)), nb_zeros(NB_SHAPE(5), NB_OPTS())) ==
              NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_embedding: weight must be 2-d (num_embeddings, embedding_dim), got shape [5]");
    nb_tensor *deep = nb_zeros(NB_SHAPE(1, 1, 1, 1, 1, 1, 1, 1), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_embedding(deep, weight) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_embedding: indices of 8 dims leave no room for the embedding dim");
    NBT_CHECK(nb_embedding(NULL, weight) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_embedding: argument 'indices' is NULL");
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_linear_values);
    NBT_RUN(test_linear_gradients);
    NBT_RUN(test_linear_gradcheck);
    NBT_RUN(test_linear_errors);
    NBT_RUN(test_dropout_statistics);
    NBT_RUN(test_dropout_modes);
    NBT_RUN(test_dropout_determinism);
    NBT_RUN(test_dropout_gradcheck_and_errors);
    NBT_RUN(test_embedding);
    NBT_RUN(test_embedding_gradcheck_and_errors);
    return nbt_finish();
}
