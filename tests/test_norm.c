/*
 * test_norm.c — nb_batch_norm, nb_layer_norm and nb_group_norm against
 * PyTorch 1.13 (tests/data/loss_fixtures.h, normalisation section): batch
 * norm over three training steps with its running statistics, then eval;
 * layer and group norm with and without affine parameters; gradients;
 * gradcheck and gradgradcheck; empty and strided inputs; every error;
 * batch norm fused with the relu after it against the two ops.
 */
#include "nb_test.h"

#include "data/loss_fixtures.h"
#include "nn/functional_args.h"

/* A tensor of dtype from float64 data (in the current scope). */
static nb_tensor *tensor_of(const double *data, nb_shape shape, nb_dtype dtype)
{
    return nbt_tensor(shape, dtype, data);
}

static nb_tensor *leaf_of(const double *data, nb_shape shape, nb_dtype dtype)
{
    nb_tensor *t = nb_detach(tensor_of(data, shape, dtype));
    nb_requires_grad_(t, true);
    return t;
}

/* Every element of t within atol + rtol |expected| (tolerances of dtype),
 * with the given shape. */
static void check_close(const nb_tensor *t, nb_shape shape, const double *expected, nb_dtype dtype, const char *what)
{
    double rtol = dtype == NB_FLOAT64 ? 1e-10 : 2e-5, atol = dtype == NB_FLOAT64 ? 1e-12 : 2e-5;
    nbt_checks++;
    if (nbt_tensor_close(t, shape, expected, rtol, atol)) return;
    nbt_failures++;
    fprintf(stderr, "  %s (%s) differs (%s)\n", what, nb_dtype_name(dtype), nb_last_error());
}

static bool backward_with(nb_tensor *out, const double *grad_output, nb_dtype dtype)
{
    bool ok = nb_backward_with(out, tensor_of(grad_output, nb_shape_of(out), dtype), NB_GRAD_OPTS()) == NB_OK;
    NBT_CHECK(ok);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Values and gradients against torch                                        */
/* ------------------------------------------------------------------------ */

static void batch_norm_steps(nb_dtype dtype)
{
    nb_scope_begin();
    const double *xs[3] = {bn_x0, bn_x1, bn_x2}, *outs[3] = {bn_out0, bn_out1, bn_out2};
    const double *means[3] = {bn_running_mean0, bn_running_mean1, bn_running_mean2};
    const double *vars[3]  = {bn_running_var0, bn_running_var1, bn_running_var2};
    nb_tensor    *weight = leaf_of(bn_weight, NB_SHAPE(3), dtype), *bias = leaf_of(bn_bias, NB_SHAPE(3), dtype);
    nb_tensor    *running_mean = nb_zeros(NB_SHAPE(3), NB_OPTS(.dtype = dtype));
    nb_tensor    *running_var  = nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = dtype));
    for (int step = 0; step < 3; step++) {
        nb_tensor *x   = leaf_of(xs[step], NB_SHAPE(4, 3, 2), dtype);
        nb_tensor *out = nb_batch_norm(x, running_mean, running_var, weight, bias, true, 0.1, 1e-5);
        check_close(out, NB_SHAPE(4, 3, 2), outs[step], dtype, "batch_norm training output");
        check_close(running_mean, NB_SHAPE(3), means[step], dtype, "running_mean");
        check_close(running_var, NB_SHAPE(3), vars[step], dtype, "running_var");
        NBT_CHECK(!nb_requires_grad(running_mean) && !nb_requires_grad(running_var));
        if (step == 0 && backward_with(out, bn_train_gout, dtype)) {
            check_close(nb_grad(x), NB_SHAPE(4, 3, 2), bn_train_grad_x, dtype, "batch_norm grad x");
            check_close(nb_grad(weight), NB_SHAPE(3), bn_train_grad_weight, dtype, "batch_norm grad weight");
            check_close(nb_grad(bias), NB_SHAPE(3), bn_train_grad_bias, dtype, "batch_norm grad bias");
            nb_zero_grad(&weight, 1);
            nb_zero_grad(&bias, 1);
        }
    }
    /* Eval: the running statistics normalise, and stay as they are. */
    nb_tensor *x   = leaf_of(bn_eval_x, NB_SHAPE(4, 3, 2), dtype);
    nb_tensor *out = nb_batch_norm(x, running_mean, running_var, weight, bias, false, 0.1, 1e-5);
    check_close(out, NB_SHAPE(4, 3, 2), bn_eval_out, dtype, "batch_norm eval output");
    check_close(running_mean, NB_SHAPE(3), bn_running_mean2, dtype, "running_mean after eval");
    if (backward_with(out, bn_eval_gout, dtype)) {
        check_close(nb_grad(x), NB_SHAPE(4, 3, 2), bn_eval_grad_x, dtype, "batch_norm eval grad x");
        check_close(nb_grad(weight), NB_SHAPE(3), bn_eval_grad_weight, dtype, "batch_norm eval grad weight");
        check_close(nb_grad(bias), NB_SHAPE(3), bn_eval_grad_bias, dtype, "batch_norm eval grad bias");
    }

    /* (N, C) input without affine parameters; momentum 0.3, eps 1e-3. */
    nb_tensor *mean2 = tensor_of(bn2d_running_mean_before, NB_SHAPE(3), dtype);
    nb_tensor *var2  = tensor_of(bn2d_running_var_before, NB_SHAPE(3), dtype);
    nb_tensor *x2    = leaf_of(bn2d_x, NB_SHAPE(5, 3), dtype);
    nb_tensor *out2  = nb_batch_norm(x2, mean2, var2, NULL, NULL, true, 0.3, 1e-3);
    check_close(out2, NB_SHAPE(5, 3), bn2d_out, dtype, "batch_norm (N, C) output");
    check_close(mean2, NB_SHAPE(3), bn2d_running_mean, dtype, "batch_norm (N, C) running_mean");
    check_close(var2, NB_SHAPE(3), bn2d_running_var, dtype, "batch_norm (N, C) running_var");
    if (backward_with(out2, bn2d_gout, dtype))
        check_close(nb_grad(x2), NB_SHAPE(5, 3), bn2d_grad_x, dtype, "batch_norm (N, C) grad x");
    nb_scope_end();
}

static void test_batch_norm_against_torch(void)
{
    batch_norm_steps(NB_FLOAT64);
    batch_norm_steps(NB_FLOAT32);
}

static void layer_and_group_norm(nb_dtype dtype)
{
    nb_scope_begin();
    nb_tensor *x      = leaf_of(ln_x, NB_SHAPE(2, 3, 4), dtype);
    nb_tensor *weight = leaf_of(ln_weight, NB_SHAPE(3, 4), dtype), *bias = leaf_of(ln_bias, NB_SHAPE(3, 4), dtype);
    nb_tensor *out = nb_layer_norm(x, NB_SHAPE(3, 4), weight, bias, 1e-5);
    check_close(out, NB_SHAPE(2, 3, 4), ln_out, dtype, "layer_norm output");
    if (backward_with(out, ln_gout, dtype)) {
        check_close(nb_grad(x), NB_SHAPE(2, 3, 4), ln_grad_x, dtype, "layer_norm grad x");
        check_close(nb_grad(weight), NB_SHAPE(3, 4), ln_grad_weight, dtype, "layer_norm grad weight");
        check_close(nb_grad(bias), NB_SHAPE(3, 4), ln_grad_bias, dtype, "layer_norm grad bias");
    }
    nb_zero_grad(&x, 1);
    out = nb_layer_norm(x, NB_SHAPE(4), NULL, NULL, 1e-3);
    check_close(out, NB_SHAPE(2, 3, 4), ln_last_out, dtype, "layer_norm (4) output");
    if (backward_with(out, ln_last_gout, dtype))
        check_close(nb_grad(x), NB_SHAPE(2, 3, 4), ln_last_grad_x, dtype, "layer_norm (4) grad x");

    nb_tensor *g  = leaf_of(gn_x, NB_SHAPE(2, 4, 3), dtype);
    nb_tensor *gw = leaf_of(gn_weight, NB_SHAPE(4), dtype), *gb = leaf_of(gn_bias, NB_SHAPE(4), dtype);
    out = nb_group_norm(g, 2, gw, gb, 1e-5);
    check_close(out, NB_SHAPE(2, 4, 3), gn_out, dtype, "group_norm output");
    if (backward_with(out, gn_gout, dtype)) {
        check_close(nb_grad(g), NB_SHAPE(2, 4, 3), gn_grad_x, dtype, "group_norm grad x");
        check_close(nb_grad(gw), NB_SHAPE(4), gn_grad_weight, dtype, "group_norm grad weight");
        check_close(nb_grad(gb), NB_SHAPE(4), gn_grad_bias, dtype, "group_norm grad bias");
    }
    nb_zero_grad(&g, 1);
    out = nb_group_norm(g, 4, NULL, NULL, 1e-5);
    check_close(out, NB_SHAPE(2, 4, 3), gn4_out, dtype, "group_norm 4 groups output");
    if (backward_with(out, gn4_gout, dtype))
        check_close(nb_grad(g), NB_SHAPE(2, 4, 3), gn4_grad_x, dtype, "group_norm 4 groups grad x");
    /* One group, through a transposed (non-contiguous) view. */
    nb_tensor *gt = nb_transpose(nb_contiguous(nb_transpose(nb_detach(g), 1, 2)), 1, 2);
    check_close(nb_group_norm(gt, 1, NULL, NULL, 1e-2), NB_SHAPE(2, 4, 3), gn1_out, dtype, "group_norm 1 group");
    nb_scope_end();
}

static void test_layer_and_group_norm_against_torch(void)
{
    layer_and_group_norm(NB_FLOAT64);
    layer_and_group_norm(NB_FLOAT32);
}

/* ------------------------------------------------------------------------ */
/* Modes, layouts, edge cases                                                */
/* ------------------------------------------------------------------------ */

static void test_batch_norm_modes(void)
{
    nb_scope_begin();
    nb_manual_seed(5);
    nb_tensor *x = nb_add_scalar(nb_mul_scalar(nb_randn(NB_SHAPE(8, 2, 3, 3), NB_OPTS(.dtype = NB_FLOAT64)), 2), 1);
    /* Training without running statistics: per-channel mean 0 and biased variance 1. */
    nb_tensor *y = nb_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1, 0);
    NBT_CHECK_TENSOR(nb_mean_dims(y, NB_DIMS(0, 2, 3), false), NB_SHAPE(2), 1e-12, 0, 0);
    NBT_CHECK_TENSOR(nb_var_dims(y, NB_DIMS(0, 2, 3), 0, false), NB_SHAPE(2), 1e-10, 1, 1);

    /* Running statistics that are strided views of a bigger buffer. */
    nb_tensor *buffer = nb_zeros(NB_SHAPE(2, 4), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *mean = nb_select(buffer, 1, 0), *var = nb_select(buffer, 1, 2);
    nb_fill_(var, 1);
    NBT_CHECK(nb_batch_norm(x, mean, var, NULL, NULL, true, 1.0, 1e-5) != NULL);
    /* momentum 1: the batch's mean and unbiased variance themselves. */
    nb_tensor *batch_mean = nb_mean_dims(x, NB_DIMS(0, 2, 3), false);
    nb_tensor *batch_var  = nb_var_dims(x, NB_DIMS(0, 2, 3), 1, false);
    NBT_CHECK_NEAR(nb_item(nb_max(nb_abs(nb_sub(mean, batch_mean)))), 0, 1e-12);
    NBT_CHECK_NEAR(nb_item(nb_max(nb_abs(nb_sub(var, batch_var)))), 0, 1e-12);
    NBT_CHECK(nb_item(nb_sum(nb_select(buffer, 1, 1))) == 0); /* neighbours untouched */

    /* Eval with those statistics equals training's normalisation by them. */
    nb_tensor *eval    = nb_batch_norm(x, mean, var, NULL, NULL, false, 0.1, 1e-5);
    nb_tensor *by_hand = nb_div(nb_sub(x, nb_reshape(mean, NB_SHAPE(1, 2, 1, 1))),
                                nb_sqrt(nb_add_scalar(nb_reshape(var, NB_SHAPE(1, 2, 1, 1)), 1e-5)));
    NBT_CHECK_NEAR(nb_item(nb_max(nb_abs(nb_sub(eval, by_hand)))), 0, 1e-12);

    /* An empty batch gives an empty output and leaves the statistics alone. */
    nb_tensor *empty  = nb_zeros(NB_SHAPE(0, 2, 3), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *before = nb_clone(mean);
    nb_tensor *out    = nb_batch_norm(empty, mean, var, NULL, NULL, true, 0.1, 1e-5);
    NBT_CHECK(out != NULL && nb_numel(out) == 0 && nb_ndim(out) == 3);
    NBT_CHECK(nb_item(nb_all(nb_eq(mean, before))) == 1);
    /* Zero-size trailing dims in layer and group norm. */
    NBT_CHECK(nb_numel(nb_layer_norm(nb_zeros(NB_SHAPE(0, 4), NB_OPTS()), NB_SHAPE(4), NULL, NULL, 1e-5)) == 0);
    NBT_CHECK(nb_numel(nb_group_norm(nb_zeros(NB_SHAPE(2, 4, 0), NB_OPTS()), 2, NULL, NULL, 1e-5)) == 0);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* gradcheck and gradgradcheck (float64)                                     */
/* ------------------------------------------------------------------------ */

static nb_tensor *row_bn_train(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_batch_norm(x[0], NULL, NULL, x[1], x[2], true, 0.1, 1e-5);
}
static nb_tensor *row_bn_train_running(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    nb_tensor **running = u; /* updated on every call; the output does not depend on them */
    return nb_batch_norm(x[0], running[0], running[1], x[1], x[2], true, 0.1, 1e-5);
}
static nb_tensor *row_bn_eval(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    /* running statistics that require grad: eval differentiates through them too. */
    return nb_batch_norm(x[0], x[3], x[4], x[1], x[2], false, 0.1, 1e-5);
}
/* The fused kernels' other paths: eval with constant running statistics,
 * a transposed 4-d view whose planes (35 values) fill the 16 lanes and a
 * tail, and (N, C) rows (one value per sample and channel). */
static nb_tensor *row_bn_eval_constant(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    nb_tensor **running = u;
    return nb_batch_norm(x[0], running[0], running[1], x[1], x[2], false, 0.1, 1e-5);
}
static nb_tensor *row_bn_train_transposed(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_batch_norm(nb_transpose(x[0], 2, 3), NULL, NULL, x[1], x[2], true, 0.1, 1e-5);
}
static nb_tensor *row_bn_train_plain(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_batch_norm(x[0], NULL, NULL, NULL, NULL, true, 0.1, 1e-5);
}
static nb_tensor *row_layer_norm(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_layer_norm(x[0], NB_SHAPE(4), x[1], x[2], 1e-5);
}
static nb_tensor *row_group_norm(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_group_norm(x[0], 2, x[1], x[2], 1e-5);
}
static nb_tensor *row_layer_norm_transposed(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_layer_norm(nb_t(x[0]), NB_SHAPE(3), NULL, NULL, 1e-5);
}

static nb_tensor *input(nb_shape shape, double low, double high)
{
    nb_tensor *x = nb_add_scalar(nb_mul_scalar(nb_rand(shape, NB_OPTS(.dtype = NB_FLOAT64)), high - low), low);
    nb_requires_grad_(x, true);
    return x;
}

static bool same_values(const nb_tensor *a, const nb_tensor *b)
{
    nb_scope_begin();
    nb_tensor *diff = nb_max(nb_abs(nb_sub(a, b)));
    bool       same = diff != NULL && nb_item(diff) == 0;
    nb_scope_end();
    return same;
}

/* Out of memory in a training call leaves the running statistics as they
 * were, under every allocation budget too small for the call; the call that
 * succeeds moves them exactly as a call that never failed. */
static void test_batch_norm_out_of_memory(void)
{
    NBT_CHECK(nb_set_allocator(nbt_budget_alloc, nbt_budget_release, NULL) == NB_OK);
    nb_scope_begin();
    nb_manual_seed(3);
    nb_tensor *x         = nb_randn(NB_SHAPE(6, 3, 2, 2), NB_OPTS());
    nb_tensor *mean      = nb_randn(NB_SHAPE(3), NB_OPTS());
    nb_tensor *var       = nb_add_scalar(nb_rand(NB_SHAPE(3), NB_OPTS()), 0.5);
    nb_tensor *mean_then = nb_clone(mean), *var_then = nb_clone(var);
    nb_tensor *out       = NULL;
    int        failures  = 0;
    for (int64_t budget = 0; budget < 200 && out == NULL; budget++) {
        nb_empty_cache();
        *nbt_alloc_budget() = budget;
        out                 = nb_batch_norm(x, mean, var, NULL, NULL, true, 0.1, 1e-5);
        *nbt_alloc_budget() = -1;
        if (out == NULL) {
            failures++;
            NBT_CHECK(nb_last_status() == NB_ERR_OOM);
            nb_clear_error();
            NBT_CHECK(same_values(mean, mean_then) && same_values(var, var_then));
        }
    }
    NBT_CHECK(out != NULL && failures >= 1);
    nb_tensor *mean_ref = nb_clone(mean_then), *var_ref = nb_clone(var_then);
    NBT_CHECK(nb_batch_norm(x, mean_ref, var_ref, NULL, NULL, true, 0.1, 1e-5) != NULL);
    NBT_CHECK(same_values(mean, mean_ref) && same_values(var, var_ref) && !same_values(mean, mean_then));
    nb_scope_end();
    NBT_CHECK(nb_set_allocator(NULL, NULL, NULL) == NB_OK);
}

static void test_gradcheck(void)
{
    nb_scope_begin();
    nb_manual_seed(9);
    nb_tensor *bn[5] = {input(NB_SHAPE(4, 3, 2), -2, 2), input(NB_SHAPE(3), 0.5, 2), input(NB_SHAPE(3), -1, 1),
                        input(NB_SHAPE(3), -1, 1), input(NB_SHAPE(3), 0.5, 2)};
    nbt_gradcheck("batch_norm training", row_bn_train, bn, 3, NULL, 2);
    nb_tensor *running[2] = {nb_zeros(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64)),
                             nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64))};
    nbt_gradcheck("batch_norm training with running stats", row_bn_train_running, bn, 3, running, 2);
    nbt_gradcheck("batch_norm eval", row_bn_eval, bn, 5, NULL, 2);
    nb_tensor *constant[2] = {nb_randn(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64)),
                              nb_add_scalar(nb_rand(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64)), 0.5)};
    nbt_gradcheck("batch_norm eval, constant running stats", row_bn_eval_constant, bn, 3, constant, 2);
    nb_tensor *planes[3] = {input(NB_SHAPE(2, 3, 5, 7), -2, 2), bn[1], bn[2]};
    nbt_gradcheck("batch_norm training, transposed planes", row_bn_train_transposed, planes, 3, NULL, 2);
    nb_tensor *rows[1] = {input(NB_SHAPE(6, 3), -2, 2)};
    nbt_gradcheck("batch_norm training, (N, C) rows", row_bn_train_plain, rows, 1, NULL, 2);
    nb_tensor *ln[3] = {input(NB_SHAPE(3, 4), -2, 2), input(NB_SHAPE(4), 0.5, 2), input(NB_SHAPE(4), -1, 1)};
    nbt_gradcheck("layer_norm", row_layer_norm, ln, 3, NULL, 2);
    nbt_gradcheck("layer_norm of a transposed view", row_layer_norm_transposed, ln, 1, NULL, 2);
    nb_tensor *gn[3] = {input(NB_SHAPE(2, 4, 3), -2, 2), input(NB_SHAPE(4), 0.5, 2), input(NB_SHAPE(4), -1, 1)};
    nbt_gradcheck("group_norm", row_group_norm, gn, 3, NULL, 2);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static void test_errors(void)
{
    nb_scope_begin();
    nb_tensor *x  = nb_zeros(NB_SHAPE(4, 3, 2), NB_OPTS());
    nb_tensor *c3 = nb_ones(NB_SHAPE(3), NB_OPTS()), *c2 = nb_ones(NB_SHAPE(2), NB_OPTS());
    nb_tensor *c3_64 = nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64));

    NBT_CHECK(nb_batch_norm(nb_zeros(NB_SHAPE(3), NB_OPTS()), NULL, NULL, NULL, NULL, true, 0.1, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_batch_norm: x must have at least 2 dims (N, C, ...), got shape [3]");
    NBT_CHECK(nb_batch_norm(x, c2, c3, NULL, NULL, true, 0.1, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_batch_norm: running_mean has shape [2]; expected [3] (one per channel)");
    NBT_CHECK(nb_batch_norm(x, NULL, NULL, c3, c2, true, 0.1, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_batch_norm: bias has shape [2]; expected [3]");
    NBT_CHECK(nb_batch_norm(x, NULL, NULL, c3_64, NULL, true, 0.1, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_batch_norm: weight is float64 but x is float32");
    {   /* training with one running statistic: it moves as with both (torch) */
        nb_tensor *x4 = nb_randn(NB_SHAPE(4, 3), NB_OPTS());
        nb_tensor *m1 = nb_zeros(NB_SHAPE(3), NB_OPTS()), *v1 = nb_ones(NB_SHAPE(3), NB_OPTS());
        nb_tensor *m2 = nb_zeros(NB_SHAPE(3), NB_OPTS()), *v2 = nb_ones(NB_SHAPE(3), NB_OPTS());
        nb_tensor *both = nb_batch_norm(x4, m1, v1, NULL, NULL, true, 0.1, 1e-5);
        nb_tensor *only_mean = nb_batch_norm(x4, m2, NULL, NULL, NULL, true, 0.1, 1e-5);
        nb_tensor *only_var  = nb_batch_norm(x4, NULL, v2, NULL, NULL, true, 0.1, 1e-5);
        NBT_CHECK(both && only_mean && only_var);
        NBT_CHECK(memcmp(nb_data(m1), nb_data(m2), 12) == 0 && memcmp(nb_data(v1), nb_data(v2), 12) == 0);
        NBT_CHECK(memcmp(nb_data(both), nb_data(only_mean), 48) == 0);
        nb_tensor *all[] = {x4, m1, v1, m2, v2, both, only_mean, only_var};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++) nb_free(all[i]);
    }
    NBT_CHECK(nb_batch_norm(x, c3, NULL, NULL, NULL, false, 0.1, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_batch_norm: running_mean and running_var are required in eval mode");
    NBT_CHECK(nb_batch_norm(x, NULL, NULL, NULL, NULL, false, 0.1, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_batch_norm: running_mean and running_var are required in eval mode");
    NBT_CHECK(nb_batch_norm(nb_zeros(NB_SHAPE(1, 3), NB_OPTS()), NULL, NULL, NULL, NULL, true, 0.1, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "expected more than 1 value per channel when training, got x of shape [1, 3]");
    NBT_CHECK(nb_batch_norm(nb_zeros(NB_SHAPE(1, 3), NB_OPTS()), c3, c3, NULL, NULL, false, 0.1, 1e-5) != NULL);
    NBT_CHECK(nb_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1, -1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_batch_norm: eps must be finite and >= 0, got -1");
    NBT_CHECK(nb_batch_norm(x, NULL, NULL, NULL, NULL, true, NAN, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_batch_norm: momentum is NaN");
    NBT_CHECK(nb_batch_norm(nb_zeros(NB_SHAPE(4, 3), NB_OPTS(.dtype = NB_INT64)), NULL, NULL, NULL, NULL, true, 0.1,
                            1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_batch_norm: x must be float32 or float64, got int64");
    NBT_CHECK(nb_batch_norm(NULL, NULL, NULL, NULL, NULL, true, 0.1, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_batch_norm: argument 'x' is NULL");
    /* Running statistics that cannot be written in place (an expanded view). */
    nb_tensor *expanded = nb_expand(nb_zeros(NB_SHAPE(1), NB_OPTS()), NB_SHAPE(3));
    NBT_CHECK(nb_batch_norm(x, expanded, c3, NULL, NULL, true, 0.1, 1e-5) == NULL);
    NBT_CHECK(nb_last_status() != NB_OK);
    nb_clear_error();

    NBT_CHECK(nb_layer_norm(x, NB_SHAPE(3), NULL, NULL, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_layer_norm: normalized_shape [3] does not match the last dims of x of shape "
                                  "[4, 3, 2]");
    NBT_CHECK(nb_layer_norm(x, NB_SHAPE(5, 4, 3, 2), NULL, NULL, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "does not match the last dims");
    NBT_CHECK(nb_layer_norm(x, NB_SCALAR_SHAPE, NULL, NULL, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_layer_norm: normalized_shape must have at least 1 dim");
    NBT_CHECK(nb_layer_norm(x, NB_SHAPE(3, 2), c3, NULL, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_layer_norm: weight has shape [3]; expected normalized_shape [3, 2]");
    NBT_CHECK(nb_layer_norm(x, NB_SHAPE(2), NULL, c2, NAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_layer_norm: eps must be finite and >= 0, got nan");
    NBT_CHECK(nb_layer_norm(x, NB_SHAPE(2), NULL, nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_FLOAT64)), 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_layer_norm: bias is float64 but x is float32");

    NBT_CHECK(nb_group_norm(x, 2, NULL, NULL, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_group_norm: the 3 channels of x (shape [4, 3, 2]) cannot be split into 2 groups");
    NBT_CHECK(nb_group_norm(x, 0, NULL, NULL, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_group_norm: groups must be >= 1, got 0");
    NBT_CHECK(nb_group_norm(x, 3, c2, NULL, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_group_norm: weight has shape [2]; expected [3] (one per channel)");
    NBT_CHECK(nb_group_norm(c3, 1, NULL, NULL, 1e-5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_group_norm: x must have at least 2 dims");
    nb_scope_end();
}


/* ------------------------------------------------------------------------ */
/* Batch norm fused with ReLU                                                */
/* ------------------------------------------------------------------------ */

/* t, made to require grad. */
static nb_tensor *as_leaf(nb_tensor *t)
{
    nb_requires_grad_(t, true);
    return t;
}

/* a and b hold the same float32/float64 values bit for bit (-0 counts),
 * any NaN matching any NaN (the sign of a NaN made from NaN operands
 * depends on the operand order), or are both NULL. */
static void check_same_bits(const nb_tensor *a, const nb_tensor *b, const char *what)
{
    nbt_checks++;
    if (a == NULL && b == NULL) return;
    bool    same = a != NULL && b != NULL && nb_dtype_of(a) == nb_dtype_of(b) && nb_numel(a) == nb_numel(b);
    int64_t n    = same ? nb_numel(a) : 0;
    double *x = malloc(sizeof(double) * (size_t)(n + 1)), *y = malloc(sizeof(double) * (size_t)(n + 1));
    /* through float64: exact for float32 values, NaN stays NaN */
    nb_tensor *wide_a = same ? nb_to_dtype(a, NB_FLOAT64) : NULL, *wide_b = same ? nb_to_dtype(b, NB_FLOAT64) : NULL;
    same = same && x && y && nb_copy_to_buffer(wide_a, x, (size_t)n * sizeof(double)) == NB_OK &&
           nb_copy_to_buffer(wide_b, y, (size_t)n * sizeof(double)) == NB_OK;
    for (int64_t i = 0; same && i < n; i++)
        same = (isnan(x[i]) && isnan(y[i])) || memcmp(&x[i], &y[i], sizeof(double)) == 0;
    nb_free(wide_a);
    nb_free(wide_b);
    free(x);
    free(y);
    if (same) return;
    nbt_failures++;
    fprintf(stderr, "  fused batch_norm + relu: %s differs from the two ops'\n", what);
}

/* relu(batch_norm(x)) fused (nbf_batch_norm_relu) against nb_relu of
 * nb_batch_norm: outputs, running statistics and the gradients of x,
 * weight and bias, bit for bit, in training and eval; plane tails (S not a
 * multiple of 16), (N, C) rows, a NaN channel (relu passes NaN and its
 * gradient, as nb_relu), and weights of both signs. */
static void fused_relu_case(nb_shape shape, nb_dtype dtype, bool training, bool with_nan)
{
    nb_scope_begin();
    int64_t    C  = shape.dims[1];
    nb_tensor *x0 = nb_mul_scalar(nb_randn(shape, NB_OPTS(.dtype = dtype)), 1.5);
    if (with_nan) nb_fill_(nb_select(nb_select(x0, 1, C - 1), 0, 0), NAN);
    nb_tensor *w0 = nb_randn(NB_SHAPE(C), NB_OPTS(.dtype = dtype)), *b0 = nb_randn(NB_SHAPE(C), NB_OPTS(.dtype = dtype));
    nb_tensor *g  = nb_randn(shape, NB_OPTS(.dtype = dtype));
    nb_tensor *out[2], *grads[2][3], *stats[2][2];
    for (int fused = 0; fused < 2; fused++) {
        nb_tensor *x = as_leaf(nb_clone(x0)), *w = as_leaf(nb_clone(w0));
        nb_tensor *b = as_leaf(nb_clone(b0));
        stats[fused][0] = nb_add_scalar(nb_zeros(NB_SHAPE(C), NB_OPTS(.dtype = dtype)), 0.25);
        stats[fused][1] = nb_add_scalar(nb_ones(NB_SHAPE(C), NB_OPTS(.dtype = dtype)), 0.5);
        out[fused] = fused ? nbf_batch_norm_relu(x, stats[fused][0], stats[fused][1], w, b, training, 0.1, 1e-5)
                           : nb_relu(nb_batch_norm(x, stats[fused][0], stats[fused][1], w, b, training, 0.1, 1e-5));
        NBT_CHECK(out[fused] != NULL && nb_backward_with(out[fused], g, NB_GRAD_OPTS()) == NB_OK);
        grads[fused][0] = nb_grad(x), grads[fused][1] = nb_grad(w), grads[fused][2] = nb_grad(b);
    }
    NBT_CHECK(strcmp(nb_grad_fn_name(out[1]), "BatchNormReluBackward0") == 0);
    check_same_bits(out[0], out[1], "the output");
    check_same_bits(stats[0][0], stats[1][0], "running_mean");
    check_same_bits(stats[0][1], stats[1][1], "running_var");
    const char *names[3] = { "grad x", "grad weight", "grad bias" };
    for (int k = 0; k < 3; k++)
        check_same_bits(grads[0][k], grads[1][k], names[k]);
    /* Under create_graph the fused node's backward runs as ops: equal to
     * the two ops' up to rounding, and differentiable again. */
    if (!with_nan) {
        nb_tensor *x = as_leaf(nb_clone(x0)), *dx[2];
        for (int fused = 0; fused < 2; fused++) {
            nb_tensor *y = fused ? nbf_batch_norm_relu(x, NULL, NULL, w0, b0, true, 0.1, 1e-5)
                                 : nb_relu(nb_batch_norm(x, NULL, NULL, w0, b0, true, 0.1, 1e-5));
            NBT_CHECK(nb_grad_of(&y, 1, &x, 1, &g, NB_GRAD_OPTS(.create_graph = true), &dx[fused]) == NB_OK);
        }
        double tol = dtype == NB_FLOAT64 ? 1e-12 : 1e-4;
        NBT_CHECK_NEAR(nb_item(nb_max(nb_abs(nb_sub(dx[0], dx[1])))), 0, tol);
        NBT_CHECK(nb_requires_grad(dx[1]));
    }
    nb_scope_end();
}

static void test_batch_norm_relu_fused(void)
{
    nb_manual_seed(17);
    nb_dtype dtypes[2] = { NB_FLOAT32, NB_FLOAT64 };
    for (int d = 0; d < 2; d++)
        for (int training = 0; training < 2; training++) {
            fused_relu_case(NB_SHAPE(4, 3, 5, 7), dtypes[d], training, false);
            fused_relu_case(NB_SHAPE(3, 5, 40), dtypes[d], training, false);
            fused_relu_case(NB_SHAPE(6, 5), dtypes[d], training, false);
            fused_relu_case(NB_SHAPE(4, 3, 5, 7), dtypes[d], training, true);
        }
}

/* Sequential runs BatchNorm then ReLU as one fused node: its output,
 * gradients and running statistics are the separate modules' bit for bit,
 * in training, and in eval under no-grad (where it works in place). */
static void test_sequential_fuses_batch_norm_relu(void)
{
    nb_scope_begin();
    nb_manual_seed(3);
    nb_module *fused = nb_sequential_new((nb_module *[]){ nb_batch_norm2d_new(3, NB_NORM_OPTS()), nb_relu_new() }, 2);
    nb_module *bn    = nb_batch_norm2d_new(3, NB_NORM_OPTS());
    nb_module *relu  = nb_relu_new();
    nb_tensor *w = nb_randn(NB_SHAPE(3), NB_OPTS()), *b = nb_randn(NB_SHAPE(3), NB_OPTS());
    nb_no_grad_begin();
    nb_copy_(nb_module_tensor(fused, "0.weight"), w);
    nb_copy_(nb_module_tensor(fused, "0.bias"), b);
    nb_copy_(nb_module_tensor(bn, "weight"), w);
    nb_copy_(nb_module_tensor(bn, "bias"), b);
    nb_no_grad_end();
    for (int step = 0; step < 2; step++) {
        nb_tensor *x  = as_leaf(nb_randn(NB_SHAPE(4, 3, 6, 5), NB_OPTS()));
        nb_tensor *y1 = nb_module_forward(fused, x);
        nb_tensor *y0 = nb_module_forward(relu, nb_module_forward(bn, x));
        NBT_CHECK(y1 != NULL && strcmp(nb_grad_fn_name(y1), "BatchNormReluBackward0") == 0);
        check_same_bits(y0, y1, "Sequential's output");
        nb_tensor *g = nb_randn(NB_SHAPE(4, 3, 6, 5), NB_OPTS());
        nb_tensor *dx0 = NULL, *dx1 = NULL;
        NBT_CHECK(nb_grad_of(&y0, 1, &x, 1, &g, NB_GRAD_OPTS(), &dx0) == NB_OK);
        NBT_CHECK(nb_grad_of(&y1, 1, &x, 1, &g, NB_GRAD_OPTS(), &dx1) == NB_OK);
        check_same_bits(dx0, dx1, "Sequential's grad x");
    }
    check_same_bits(nb_module_tensor(bn, "running_mean"), nb_module_tensor(fused, "0.running_mean"), "running_mean");
    check_same_bits(nb_module_tensor(bn, "running_var"), nb_module_tensor(fused, "0.running_var"), "running_var");
    check_same_bits(nb_module_tensor(bn, "num_batches_tracked"), nb_module_tensor(fused, "0.num_batches_tracked"),
                    "num_batches_tracked");
    nb_module_free(fused);
    nb_module_free(bn);
    nb_module_free(relu);

    /* Eval under no-grad: Sequential(BN, BN, ReLU); the first BN makes an
     * intermediate Sequential holds alone, so the fused pair runs in place
     * on it. Against the three modules one by one. */
    nb_module *seq = nb_sequential_new(
        (nb_module *[]){ nb_batch_norm2d_new(3, NB_NORM_OPTS()), nb_batch_norm2d_new(3, NB_NORM_OPTS()), nb_relu_new() }, 3);
    nb_module *apart[3] = { nb_batch_norm2d_new(3, NB_NORM_OPTS()), nb_batch_norm2d_new(3, NB_NORM_OPTS()), nb_relu_new() };
    const char *names[4] = { "weight", "bias", "running_mean", "running_var" };
    nb_no_grad_begin();
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 4; k++) {
            char path[32];
            snprintf(path, sizeof path, "%d.%s", m, names[k]);
            nb_tensor *value = nb_add_scalar(nb_rand(NB_SHAPE(3), NB_OPTS()), k == 3 ? 0.5 : -0.5);
            nb_copy_(nb_module_tensor(seq, path), value);
            nb_copy_(nb_module_tensor(apart[m], names[k]), value);
        }
    nb_no_grad_end();
    nb_module_train(seq, false);
    for (int m = 0; m < 3; m++)
        nb_module_train(apart[m], false);
    nb_tensor *x = nb_randn(NB_SHAPE(4, 3, 6, 5), NB_OPTS());
    nb_no_grad_begin();
    nb_tensor *y1 = nb_module_forward(seq, x);
    nb_tensor *y0 = nb_module_forward(apart[2], nb_module_forward(apart[1], nb_module_forward(apart[0], x)));
    nb_no_grad_end();
    check_same_bits(y0, y1, "Sequential's output in eval, in place");
    nb_module_free(seq);
    for (int m = 0; m < 3; m++)
        nb_module_free(apart[m]);
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_batch_norm_against_torch);
    NBT_RUN(test_layer_and_group_norm_against_torch);
    NBT_RUN(test_batch_norm_modes);
    NBT_RUN(test_batch_norm_out_of_memory);
    NBT_RUN(test_gradcheck);
    NBT_RUN(test_errors);
    NBT_RUN(test_batch_norm_relu_fused);
    NBT_RUN(test_sequential_fuses_batch_norm_relu);
    return nbt_finish();
}
