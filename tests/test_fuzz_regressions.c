/*
 * test_fuzz_regressions.c — disagreements with PyTorch 1.13 that a random
 * differential fuzzer found (edge values: infinities and NaN in the
 * upstream gradient, gradients of very different sizes in one line), each
 * pinned by the numbers torch 1.13 printed on the CPU, so that a regression
 * shows as a wrong number. Several were silent wrong gradients.
 */
#include "nb_test.h"
#include "nabla/nn.h"

#include <math.h>

static nb_tensor *f32(nb_shape shape, const float *values, bool requires_grad)
{
    return nb_from_data(values, shape, NB_OPTS(.dtype = NB_FLOAT32, .requires_grad = requires_grad));
}

/* The gradient of sum(y * w) with respect to x, or NULL. */
static nb_tensor *weighted_grad(nb_tensor *y, const nb_tensor *w, nb_tensor *x)
{
    nb_tensor *loss = nb_sum(nb_mul(y, w));
    if (loss == NULL || nb_backward(loss) != NB_OK) return NULL;
    return nb_grad(x);
}

/* cumsum's gradient is the sum of g from each element to the end of its
 * line. It was sum(g) - cumsum(g) + g: a 1e8 beside ones cancelled the
 * ones away, and one infinite or NaN g spoilt the whole line. */
static void test_cumsum_gradient_does_not_cancel(void)
{
    nb_scope_begin();
    const float weights[3][4] = { { 1e8f, 1, 1, 1 }, { 1, INFINITY, 1, 1 }, { 1, 1, NAN, 1 } };
    const double expected[3][4] = { { 1e8, 3, 2, 1 }, { INFINITY, INFINITY, 2, 1 }, { NAN, NAN, NAN, 1 } };
    for (int k = 0; k < 3; k++) {
        nb_tensor *x = f32(NB_SHAPE(4), (const float[]){ 1, 2, 3, 4 }, true);
        nb_tensor *g = weighted_grad(nb_cumsum(x, 0), f32(NB_SHAPE(4), weights[k], false), x);
        NBT_CHECK_TENSOR(g, NB_SHAPE(4), 0, expected[k][0], expected[k][1], expected[k][2], expected[k][3]);
    }
    nb_scope_end();
}

/* clamp, hardtanh, relu6, maximum and minimum pass g or 0 by selection
 * (torch's where / masked_fill), so an infinite or NaN g where the input
 * did not matter gives 0, not inf * 0 = NaN. */
static void test_masked_gradients_select(void)
{
    nb_scope_begin();
    const float x_values[5] = { -1, 0.25f, 2, NAN, INFINITY };
    nb_tensor  *w           = f32(NB_SHAPE(5), (const float[]){ INFINITY, NAN, INFINITY, 1, 1 }, false);
    nb_tensor  *half        = nb_full(NB_SHAPE(5), 0.5, NB_OPTS());
    nb_tensor  *x;

    x = f32(NB_SHAPE(5), x_values, true);
    NBT_CHECK_TENSOR(weighted_grad(nb_clamp(x, -0.5, 0.5), w, x), NB_SHAPE(5), 0, 0, NAN, 0, 0, 0);
    x = f32(NB_SHAPE(5), x_values, true);
    NBT_CHECK_TENSOR(weighted_grad(nb_hardtanh(x, -0.5, 0.5), w, x), NB_SHAPE(5), 0, 0, NAN, 0, 1, 0);
    x = f32(NB_SHAPE(5), x_values, true);
    NBT_CHECK_TENSOR(weighted_grad(nb_relu6(nb_mul_scalar(x, 8)), w, x), NB_SHAPE(5), 0, 0, NAN, 0, 8, 0);
    x = f32(NB_SHAPE(5), x_values, true);
    NBT_CHECK_TENSOR(weighted_grad(nb_maximum_scalar(x, 0.5), w, x), NB_SHAPE(5), 0, 0, 0, INFINITY, 1, 1);
    x = f32(NB_SHAPE(5), x_values, true);
    NBT_CHECK_TENSOR(weighted_grad(nb_minimum(x, half), w, x), NB_SHAPE(5), 0, INFINITY, NAN, 0, 1, 0);
    x = f32(NB_SHAPE(5), x_values, false);
    nb_tensor *z = nb_full(NB_SHAPE(5), 0.5, NB_OPTS(.requires_grad = true));
    NBT_CHECK_TENSOR(weighted_grad(nb_maximum(x, z), w, z), NB_SHAPE(5), 0, INFINITY, NAN, 0, 1, 0);
    nb_scope_end();
}

/* Batch norm in eval mode: dx = g weight / sqrt(running_var + eps), finite
 * at an infinite x (the training form's x term gave 0 * inf = NaN). */
static void test_batch_norm_eval_gradient_at_infinity(void)
{
    nb_scope_begin();
    nb_tensor *x      = f32(NB_SHAPE(2, 2), (const float[]){ 1, INFINITY, 2, 3 }, true);
    nb_tensor *mean   = f32(NB_SHAPE(2), (const float[]){ 0.5f, 0.1f }, false);
    nb_tensor *var    = f32(NB_SHAPE(2), (const float[]){ 1, 2 }, false);
    nb_tensor *weight = f32(NB_SHAPE(2), (const float[]){ 1.5f, 0.5f }, false);
    nb_tensor *y      = nb_batch_norm(x, mean, var, weight, NULL, false, 0.1, 1e-3);
    nb_tensor *g      = weighted_grad(y, f32(NB_SHAPE(2, 2), (const float[]){ 1, 2, 3, 4 }, false), x);
    NBT_CHECK_TENSOR(g, NB_SHAPE(2, 2), 1e-6, 1.4992506504058838, 0.7069300413131714, 4.4977521896362305,
                     1.4138600826263428);
    nb_scope_end();
}

/* The induced matrix norms (1, -1, inf, -inf) with an infinite row or
 * column sum: torch's value and amax / amin gradient. The value was the
 * extreme plus a sum of (t - extreme) over the ties: inf - inf = NaN. */
static void test_matrix_norm_with_infinite_sums(void)
{
    nb_scope_begin();
    const float           rows[2][4] = { { 1, 2, -INFINITY, 3 }, { 1, 2, INFINITY, 3 } };
    const nb_matrix_norm_ord ords[4] = { NB_NORM_NEG_INF, NB_NORM_INF, NB_NORM_ONE, NB_NORM_NEG_ONE };
    const double expected[4][5] = { { 3, 1, 1, 0, 0 }, { INFINITY, 0, 0, -1, 1 }, { INFINITY, 1, 0, 1, 0 },
                                    { 5, 0, 1, 0, 1 } };
    for (int k = 0; k < 4; k++) {
        nb_tensor *x = f32(NB_SHAPE(2, 2), rows[k / 2], true);
        nb_tensor *y = nb_linalg_matrix_norm(x, ords[k], NB_DIMS(0, 1), false);
        NBT_CHECK_TENSOR(y, NB_SCALAR_SHAPE, 0, expected[k][0]);
        NBT_CHECK(y != NULL && nb_backward(y) == NB_OK);
        NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2, 2), 0, expected[k][1], expected[k][2], expected[k][3], expected[k][4]);
    }
    nb_scope_end();
}

/* A 0-d int64 index tensor acts as an integer (torch's indexing selects
 * with it), so x[i, :, j] keeps the sliced dim first: (3, 2), not the
 * (2, 3) of a broadcast advanced index moved to the front (numpy's rule). */
static void test_zero_dim_index_tensor_is_an_integer(void)
{
    nb_scope_begin();
    nb_tensor *x = nb_reshape(nb_arange(1, 25, 1, NB_OPTS(.requires_grad = true)), NB_SHAPE(2, 3, 4));
    nb_tensor *i = nb_scalar(1, NB_OPTS(.dtype = NB_INT64));
    nb_tensor *j = nb_from_data((int64_t[]){ 0, 2 }, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *y = nb_index(x, NB_INDEX(NB_WITH(i), NB_ALL, NB_WITH(j)));
    NBT_CHECK_TENSOR(y, NB_SHAPE(3, 2), 0, 13, 15, 17, 19, 21, 23);
    nb_tensor *bad = nb_scalar(2, NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_index(x, NB_INDEX(NB_WITH(bad))) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "index 2 is out of bounds for dimension 0 with size 2");
    nb_scope_end();
}

/* Refusals torch 1.13 makes: group norm of one sample with one value per
 * group (nothing to normalise), and LAPACK ops on halves (a dtype error,
 * not "no LAPACK in this build"). */
static void test_refusals_as_torch(void)
{
    nb_scope_begin();
    NBT_CHECK(nb_group_norm(nb_ones(NB_SHAPE(1, 2), NB_OPTS()), 2, NULL, NULL, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "expected more than 1 value per group");
    NBT_CHECK(nb_group_norm(nb_ones(NB_SHAPE(2, 2), NB_OPTS()), 2, NULL, NULL, 1e-5) != NULL);
    nb_tensor *half = nb_to_dtype(nb_eye(3, 3, NB_OPTS()), NB_FLOAT16);
    NBT_CHECK(nb_linalg_inv(half) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "must be float32 or float64, got float16");
    nb_scope_end();
}

/* x[2] = v with v of shape (1, 1, 4) fills a row of 4, as torch's
 * setitem drops the value's leading size-1 dims; (2, 4) stays an error. */
static void test_index_put_drops_leading_ones(void)
{
    nb_scope_begin();
    nb_tensor *x = nb_zeros(NB_SHAPE(3, 4), NB_OPTS());
    nb_tensor *y = nb_index_put(x, NB_INDEX(NB_AT(2)), nb_ones(NB_SHAPE(1, 1, 4), NB_OPTS()), false);
    NBT_CHECK_TENSOR(y, NB_SHAPE(3, 4), 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1);
    NBT_CHECK(nb_index_put(x, NB_INDEX(NB_AT(2)), nb_ones(NB_SHAPE(2, 4), NB_OPTS()), false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "cannot be broadcast to the indexed shape");
    nb_scope_end();
}

/* The fused attention's dq and dk where the softmax is one-hot (scores in
 * the thousands): 0, as the composite (and torch's softmax backward) give.
 * D = rowsum(dO * O) from the rounded O left noise of order 0.1 there. */
static void test_attention_gradient_when_softmax_saturates(void)
{
    nb_scope_begin();
    nb_manual_seed(72);
    nb_tensor *in[3], *w = nb_randn(NB_SHAPE(2, 4, 8), NB_OPTS());
    for (int k = 0; k < 3; k++) in[k] = nb_mul_scalar(nb_randn(NB_SHAPE(2, 4, 8), NB_OPTS()), 1000);
    nb_tensor *grads[2][3];
    for (int fused = 0; fused < 2; fused++) {
        nb_tensor *leaf[3];
        for (int k = 0; k < 3; k++) {
            leaf[k] = nb_clone(in[k]);
            nb_requires_grad_(leaf[k], true);
        }
        nb_tensor *out = fused ? nb_scaled_dot_product_attention(leaf[0], leaf[1], leaf[2], NULL, 0, false, 0)
                               : nb_scaled_dot_product_attention_composite(leaf[0], leaf[1], leaf[2], NULL, 0, false, 0);
        NBT_CHECK(out != NULL && nb_backward(nb_sum(nb_mul(out, w))) == NB_OK);
        for (int k = 0; k < 3; k++) grads[fused][k] = nb_grad(leaf[k]);
    }
    for (int k = 0; k < 3; k++) {
        nb_tensor *scale = nb_max(nb_abs(grads[0][2])); /* dv's: of order 1 */
        nb_tensor *diff  = nb_max(nb_abs(nb_sub(grads[1][k], grads[0][k])));
        NBT_CHECK(diff != NULL && scale != NULL && nb_item(diff) <= 1e-6 * nb_item(scale));
    }
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_cumsum_gradient_does_not_cancel);
    NBT_RUN(test_masked_gradients_select);
    NBT_RUN(test_batch_norm_eval_gradient_at_infinity);
    NBT_RUN(test_matrix_norm_with_infinite_sums);
    NBT_RUN(test_zero_dim_index_tensor_is_an_integer);
    NBT_RUN(test_refusals_as_torch);
    NBT_RUN(test_index_put_drops_leading_ones);
    NBT_RUN(test_attention_gradient_when_softmax_saturates);
    return nbt_finish();
}
