/*
 * test_losses.c — the losses of nabla/nn.h: values and gradients against
 * PyTorch 1.13 (tests/data/loss_fixtures.h, from
 * scripts/make_loss_fixtures.py) in float64 and float32, on contiguous and
 * transposed inputs; gradcheck and gradgradcheck of every loss; stability
 * at huge logits; and every error a caller can cause.
 */
#include "nb_test.h"

#include "data/loss_fixtures.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static nb_shape shape_of(loss_fixture_shape s) { return nbt_shape(s.ndim, s.dims); }

/* A tensor of dtype from float64 data (in the current scope). */
static nb_tensor *tensor_of(const double *data, loss_fixture_shape s, nb_dtype dtype)
{
    return nbt_tensor(shape_of(s), dtype, data);
}

/* Every element of t within atol + rtol |expected| (NaN matches NaN, inf
 * the same inf), with shape s; reports what and where otherwise. */
static bool close_to(const nb_tensor *t, loss_fixture_shape s, const double *expected, double rtol, double atol,
                     const char *what, const char *name, const char *variant)
{
    nbt_checks++;
    if (nbt_tensor_close(t, shape_of(s), expected, rtol, atol)) return true;
    nbt_failures++;
    fprintf(stderr, "  %s [%s] %s differs (%s)\n", name, variant, what, nb_last_error());
    return false;
}

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                  */
/* ------------------------------------------------------------------------ */

static nb_tensor *run_loss(const loss_fixture *c, const nb_tensor *x, const nb_tensor *t, const nb_tensor *w,
                           const nb_tensor *pos_weight)
{
    nb_reduction r = (nb_reduction)c->reduction;
    switch (c->loss) {
    case LOSS_MSE:
        return nb_mse_loss(x, t, r);
    case LOSS_L1:
        return nb_l1_loss(x, t, r);
    case LOSS_SMOOTH_L1:
        return nb_smooth_l1_loss(x, t, r, c->param);
    case LOSS_BCE:
        return nb_binary_cross_entropy(x, t, w, r);
    case LOSS_BCE_LOGITS:
        return nb_binary_cross_entropy_with_logits(x, t, w, pos_weight, r);
    case LOSS_KL_DIV:
        return nb_kl_div(x, t, r, c->log_target != 0);
    default: {
        nb_cross_entropy_opts opts =
            NB_CROSS_ENTROPY_OPTS(.reduction = r, .has_ignore_index = c->has_ignore_index != 0,
                                  .ignore_index = c->ignore_index, .label_smoothing = c->param, .weight = w);
        return c->loss == LOSS_NLL ? nb_nll_loss(x, t, opts) : nb_cross_entropy(x, t, opts);
    }
    }
}

/* The leaf holding v's values (a transposed copy when transposed) and the
 * view of it equal to v that goes into the loss. */
static nb_tensor *leaf_for(nb_tensor *v, bool transposed, nb_tensor **leaf)
{
    if (!transposed || nb_ndim(v) < 2) {
        *leaf = nb_detach(v);
        nb_requires_grad_(*leaf, true);
        return *leaf;
    }
    int last = nb_ndim(v) - 1;
    *leaf    = nb_contiguous(nb_transpose(v, 0, last));
    nb_requires_grad_(*leaf, true);
    return nb_transpose(*leaf, 0, last); /* non-contiguous, same values as v */
}

/* One fixture case in one dtype and layout: value, then the gradients for
 * its grad_output. */
static void check_case(const loss_fixture *c, nb_dtype dtype, bool transposed)
{
    const char *variant = dtype == NB_FLOAT64 ? (transposed ? "float64 transposed" : "float64")
                                              : (transposed ? "float32 transposed" : "float32");
    double      rtol = dtype == NB_FLOAT64 ? 1e-10 : 2e-5, atol = dtype == NB_FLOAT64 ? 1e-12 : 2e-5;
    nb_scope_begin();
    nb_tensor *x_leaf, *t_leaf = NULL;
    nb_tensor *x = leaf_for(tensor_of(c->input, c->input_shape, dtype), transposed, &x_leaf);
    nb_tensor *t = tensor_of(c->target, c->target_shape, c->target_is_index ? NB_INT64 : dtype);
    if (c->grad_target != NULL) t = leaf_for(t, transposed, &t_leaf);
    nb_tensor *w   = c->weight ? tensor_of(c->weight, c->weight_shape, dtype) : NULL;
    nb_tensor *pw  = c->pos_weight ? tensor_of(c->pos_weight, c->pos_weight_shape, dtype) : NULL;
    nb_tensor *out = run_loss(c, x, t, w, pw);
    if (close_to(out, c->out_shape, c->expected, rtol, atol, "value", c->name, variant) && nb_numel(out) > 0) {
        nb_tensor *grad_output = tensor_of(c->grad_output, c->out_shape, dtype);
        nbt_checks++;
        if (nb_backward_with(out, grad_output, NB_GRAD_OPTS()) != NB_OK) {
            nbt_failures++;
            fprintf(stderr, "  %s [%s]: backward failed: %s\n", c->name, variant, nb_last_error());
            nb_clear_error();
        } else {
            nb_tensor *gx = nb_grad(x_leaf);
            if (transposed && nb_ndim(x_leaf) >= 2) gx = nb_transpose(gx, 0, nb_ndim(x_leaf) - 1);
            close_to(gx, c->input_shape, c->grad_input, rtol, atol, "grad of input", c->name, variant);
            if (t_leaf != NULL) {
                nb_tensor *gt = nb_grad(t_leaf);
                if (transposed && nb_ndim(t_leaf) >= 2) gt = nb_transpose(gt, 0, nb_ndim(t_leaf) - 1);
                close_to(gt, c->target_shape, c->grad_target, rtol, atol, "grad of target", c->name, variant);
            }
        }
    }
    nb_scope_end();
}

static void test_fixtures(void)
{
    size_t count = sizeof loss_fixtures / sizeof loss_fixtures[0];
    for (size_t i = 0; i < count; i++) {
        check_case(&loss_fixtures[i], NB_FLOAT64, false);
        check_case(&loss_fixtures[i], NB_FLOAT32, false);
        check_case(&loss_fixtures[i], NB_FLOAT64, true);
    }
}

/* ------------------------------------------------------------------------ */
/* Gradient checks (float64)                                                 */
/* ------------------------------------------------------------------------ */

typedef nb_tensor *(*row_fn)(nb_tensor *const *x, int count, void *user);

/* Input ranges: away from kinks and inside each loss's domain. */
typedef enum { SIGNED, PROBABILITY, POSITIVE } value_range;

typedef struct {
    const char *name;
    row_fn      fn;
    int         count;
    nb_shape    shapes[4];
    value_range ranges[4];
} grad_row;

static nb_tensor *int64_of(const int64_t *values, nb_shape shape)
{
    return nb_from_data(values, shape, NB_OPTS(.dtype = NB_INT64));
}

static nb_tensor *row_mse(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_mse_loss(x[0], x[1], NB_REDUCTION_MEAN);
}
static nb_tensor *row_l1(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_l1_loss(x[0], x[1], NB_REDUCTION_NONE);
}
static nb_tensor *row_smooth_l1(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_smooth_l1_loss(x[0], x[1], NB_REDUCTION_SUM, 0.7);
}
static nb_tensor *row_bce(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_binary_cross_entropy(x[0], x[1], x[2], NB_REDUCTION_MEAN);
}
static nb_tensor *row_bce_none(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_binary_cross_entropy(x[0], x[1], NULL, NB_REDUCTION_NONE);
}
static nb_tensor *row_bce_logits(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_binary_cross_entropy_with_logits(x[0], x[1], x[2], x[3], NB_REDUCTION_SUM);
}
static nb_tensor *row_bce_logits_none(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_binary_cross_entropy_with_logits(x[0], x[1], NULL, NULL, NB_REDUCTION_NONE);
}
static nb_tensor *row_kl(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_kl_div(x[0], x[1], NB_REDUCTION_BATCHMEAN, false);
}
static nb_tensor *row_kl_log(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_kl_div(x[0], x[1], NB_REDUCTION_NONE, true);
}

static nb_tensor *class_row(nb_tensor *const *x, bool nll, nb_cross_entropy_opts opts, const int64_t *labels,
                            nb_shape label_shape)
{
    nb_tensor *target = int64_of(labels, label_shape);
    nb_tensor *out    = nll ? nb_nll_loss(x[0], target, opts) : nb_cross_entropy(x[0], target, opts);
    nb_free(target);
    return out;
}
static const int64_t labels5[5] = {0, 3, 1, 3, 2};
static nb_tensor    *row_ce(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return class_row(x, false, NB_CROSS_ENTROPY_OPTS(), labels5, NB_SHAPE(5));
}
static nb_tensor *row_ce_composite(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    nb_tensor *target = int64_of(labels5, NB_SHAPE(5));
    nb_tensor *out    = nb_cross_entropy(nb_t(x[0]), target, NB_CROSS_ENTROPY_OPTS(.reduction = NB_REDUCTION_NONE));
    nb_free(target);
    return out;
}
static nb_tensor *row_ce_fused_none(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return class_row(x, false, NB_CROSS_ENTROPY_OPTS(.reduction = NB_REDUCTION_NONE), labels5, NB_SHAPE(5));
}
static nb_tensor *row_ce_all_options(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return class_row(
        x, false,
        NB_CROSS_ENTROPY_OPTS(.has_ignore_index = true, .ignore_index = 3, .label_smoothing = 0.2, .weight = x[1]),
        labels5, NB_SHAPE(5));
}
static nb_tensor *row_ce_nd(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    static const int64_t labels[6] = {0, 2, 1, 1, 2, 0};
    return class_row(x, false, NB_CROSS_ENTROPY_OPTS(.reduction = NB_REDUCTION_NONE, .label_smoothing = 0.1), labels,
                     NB_SHAPE(2, 3));
}
static nb_tensor *row_ce_single(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    static const int64_t label = 2;
    return class_row(x, false, NB_CROSS_ENTROPY_OPTS(.reduction = NB_REDUCTION_SUM), &label, NB_SCALAR_SHAPE);
}
static nb_tensor *row_ce_probs(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return nb_cross_entropy(x[0], x[1], NB_CROSS_ENTROPY_OPTS(.label_smoothing = 0.1, .weight = x[2]));
}
static nb_tensor *row_nll(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    (void)u;
    return class_row(x, true, NB_CROSS_ENTROPY_OPTS(.weight = x[1], .has_ignore_index = true, .ignore_index = 1),
                     labels5, NB_SHAPE(5));
}

static const grad_row rows[] = {
    {"mse_loss", row_mse, 2, {NB_SHAPE(3, 4), NB_SHAPE(3, 4)}, {SIGNED, SIGNED}},
    {"l1_loss", row_l1, 2, {NB_SHAPE(3, 4), NB_SHAPE(3, 4)}, {SIGNED, SIGNED}},
    {"smooth_l1_loss", row_smooth_l1, 2, {NB_SHAPE(3, 4), NB_SHAPE(3, 4)}, {SIGNED, SIGNED}},
    {"binary_cross_entropy weight",
     row_bce,
     3,
     {NB_SHAPE(3, 4), NB_SHAPE(3, 4), NB_SHAPE(4)},
     {PROBABILITY, PROBABILITY, POSITIVE}},
    {"binary_cross_entropy none", row_bce_none, 2, {NB_SHAPE(5), NB_SHAPE(5)}, {PROBABILITY, PROBABILITY}},
    {"bce_with_logits weight pos_weight",
     row_bce_logits,
     4,
     {NB_SHAPE(3, 4), NB_SHAPE(3, 4), NB_SHAPE(3, 1), NB_SHAPE(4)},
     {SIGNED, PROBABILITY, POSITIVE, POSITIVE}},
    {"bce_with_logits none", row_bce_logits_none, 2, {NB_SHAPE(2, 3), NB_SHAPE(2, 3)}, {SIGNED, PROBABILITY}},
    {"kl_div batchmean", row_kl, 2, {NB_SHAPE(3, 4), NB_SHAPE(3, 4)}, {SIGNED, PROBABILITY}},
    {"kl_div log_target", row_kl_log, 2, {NB_SHAPE(3, 4), NB_SHAPE(3, 4)}, {SIGNED, SIGNED}},
    {"cross_entropy (fused)", row_ce, 1, {NB_SHAPE(5, 4)}, {SIGNED}},
    {"cross_entropy none (fused)", row_ce_fused_none, 1, {NB_SHAPE(5, 4)}, {SIGNED}},
    {"cross_entropy none (composite)", row_ce_composite, 1, {NB_SHAPE(4, 5)}, {SIGNED}},
    {"cross_entropy weight ignore smoothing", row_ce_all_options, 2, {NB_SHAPE(5, 4), NB_SHAPE(4)}, {SIGNED, POSITIVE}},
    {"cross_entropy (N, C, d) none", row_ce_nd, 1, {NB_SHAPE(2, 3, 3)}, {SIGNED}},
    {"cross_entropy (C) 0-d target", row_ce_single, 1, {NB_SHAPE(4)}, {SIGNED}},
    {"cross_entropy probabilities",
     row_ce_probs,
     3,
     {NB_SHAPE(3, 4), NB_SHAPE(3, 4), NB_SHAPE(4)},
     {SIGNED, PROBABILITY, POSITIVE}},
    {"nll_loss weight ignore", row_nll, 2, {NB_SHAPE(5, 4), NB_SHAPE(4)}, {SIGNED, POSITIVE}},
};

/* float64 values in the range, as a leaf that requires grad. */
static nb_tensor *make_input(nb_shape shape, value_range range)
{
    nb_tensor *r = nb_rand(shape, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *x = range == SIGNED        ? nb_add_scalar(nb_mul_scalar(r, 4), -2)
                   : range == PROBABILITY ? nb_add_scalar(nb_mul_scalar(r, 0.8), 0.1)
                                          : nb_add_scalar(nb_mul_scalar(r, 1.5), 0.5);
    nb_requires_grad_(x, true);
    return x;
}

static void test_gradcheck(void)
{
    nb_manual_seed(21);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        const grad_row *row = &rows[r];
        nb_scope_begin();
        nb_tensor *inputs[4] = {NULL, NULL, NULL, NULL};
        for (int i = 0; i < row->count; i++)
            inputs[i] = make_input(row->shapes[i], row->ranges[i]);
        nbt_gradcheck(row->name, row->fn, inputs, row->count, NULL, 2);
        nb_scope_end();
    }
}

/* ------------------------------------------------------------------------ */
/* Stability                                                                 */
/* ------------------------------------------------------------------------ */

static bool all_finite(nb_tensor *t) { return t != NULL && nb_item(nb_all(nb_isfinite(t))) == 1; }

/* Logits of +-1e4 (and +-1e30) in float32: finite loss and gradients, and
 * the values the limit gives. */
static void test_cross_entropy_huge_logits(void)
{
    nb_scope_begin();
    float      values[6] = {1e4f, -1e4f, 0.0f, -1e30f, 1e30f, 1e4f};
    int64_t    labels[2] = {1, 1};
    nb_tensor *logits    = nb_from_data(values, NB_SHAPE(2, 3), NB_OPTS());
    nb_requires_grad_(logits, true);
    nb_tensor *target = int64_of(labels, NB_SHAPE(2));
    nb_tensor *loss   = nb_cross_entropy(logits, target, NB_CROSS_ENTROPY_OPTS(.reduction = NB_REDUCTION_NONE));
    NBT_CHECK_TENSOR(loss, NB_SHAPE(2), 1e-3, 2e4, 0);
    NBT_CHECK(nb_backward(nb_sum(loss)) == NB_OK);
    NBT_CHECK(all_finite(nb_grad(logits)));
    /* d loss / d logits = softmax - onehot */
    NBT_CHECK_TENSOR(nb_grad(logits), NB_SHAPE(2, 3), 1e-6, 1, -1, 0, 0, 0, 0);

    nb_tensor *smoothed = nb_cross_entropy(logits, target, NB_CROSS_ENTROPY_OPTS(.label_smoothing = 0.1));
    NBT_CHECK(all_finite(smoothed));
    nb_tensor *gx = NULL;
    NBT_CHECK(nb_grad_of(&smoothed, 1, &logits, 1, NULL, NB_GRAD_OPTS(), &gx) == NB_OK);
    NBT_CHECK(all_finite(gx));
    nb_free(gx);

    nb_tensor *bce = nb_binary_cross_entropy_with_logits(logits, nb_zeros_like(logits), NULL, NULL, NB_REDUCTION_SUM);
    NBT_CHECK(all_finite(bce));
    NBT_CHECK_NEAR(nb_item(bce), 2e4 + 1e30 + 0.6931471805599453, 1e24);
    nb_scope_end();
}

/* A saturated probability (exactly 0 or 1) keeps binary_cross_entropy's
 * gradient finite, as torch's. */
static void test_bce_saturated_gradient(void)
{
    nb_scope_begin();
    float      p[3] = {1.0f, 0.0f, 1.0f}, t[3] = {1.0f, 0.0f, 0.0f};
    nb_tensor *probs = nb_from_data(p, NB_SHAPE(3), NB_OPTS(.requires_grad = true));
    nb_tensor *loss  = nb_binary_cross_entropy(probs, nb_from_data(t, NB_SHAPE(3), NB_OPTS()), NULL, NB_REDUCTION_SUM);
    NBT_CHECK_NEAR(nb_item(loss), 100, 1e-4);
    NBT_CHECK(nb_backward(loss) == NB_OK);
    NBT_CHECK(all_finite(nb_grad(probs)));
    NBT_CHECK_TENSOR(nb_grad(probs), NB_SHAPE(3), 1e6, 0, 0, 1e12);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static void test_errors_elementwise_losses(void)
{
    nb_scope_begin();
    nb_tensor *a = nb_zeros(NB_SHAPE(3, 4), NB_OPTS()), *b = nb_zeros(NB_SHAPE(4), NB_OPTS());
    nb_tensor *a64  = nb_zeros(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *ints = nb_zeros(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_INT64));

    NBT_CHECK(nb_mse_loss(a, b, NB_REDUCTION_MEAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_mse_loss: input has shape [3, 4] but target has shape [4]");
    NBT_CHECK(nb_l1_loss(a, a64, NB_REDUCTION_MEAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_l1_loss: target is float64 but input is float32");
    NBT_CHECK(nb_mse_loss(ints, ints, NB_REDUCTION_MEAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_mse_loss: input must be float32 or float64, got int64");
    NBT_CHECK(nb_mse_loss(a, a, (nb_reduction)7) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_mse_loss: reduction 7 is not an nb_reduction");
    NBT_CHECK(nb_l1_loss(a, a, NB_REDUCTION_BATCHMEAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "BATCHMEAN is for nb_kl_div only");
    NBT_CHECK(nb_smooth_l1_loss(a, a, NB_REDUCTION_MEAN, -1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_smooth_l1_loss: beta must be finite and >= 0, got -1");
    NBT_CHECK(nb_smooth_l1_loss(a, a, NB_REDUCTION_MEAN, NAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "beta must be finite");
    NBT_CHECK(nb_mse_loss(NULL, a, NB_REDUCTION_MEAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_mse_loss: argument 'input' is NULL");
    NBT_CHECK(nb_mse_loss(a, NULL, NB_REDUCTION_MEAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_mse_loss: argument 'target' is NULL");
    /* A NULL input keeps the first error. */
    nb_tensor *failed = nb_reshape(a, NB_SHAPE(5));
    NBT_CHECK(nb_kl_div(failed, a, NB_REDUCTION_SUM, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_reshape");

    float      bad[3] = {0.5f, 1.5f, 0.2f}, nan_p[1] = {NAN};
    nb_tensor *p = nb_from_data(bad, NB_SHAPE(3), NB_OPTS());
    NBT_CHECK(nb_binary_cross_entropy(p, p, NULL, NB_REDUCTION_MEAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_binary_cross_entropy: all elements of probs should be between 0 and 1; "
                                "element 1 is 1.5");
    nb_tensor *pn = nb_from_data(nan_p, NB_SHAPE(1), NB_OPTS());
    NBT_CHECK(nb_binary_cross_entropy(pn, pn, NULL, NB_REDUCTION_MEAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "element 0 is nan");
    nb_tensor *half = nb_full(NB_SHAPE(3, 4), 0.5, NB_OPTS());
    NBT_CHECK(nb_binary_cross_entropy(half, half, nb_ones(NB_SHAPE(3), NB_OPTS()), NB_REDUCTION_MEAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_binary_cross_entropy: weight of shape [3] does not broadcast to probs of shape "
                                  "[3, 4]");
    NBT_CHECK(nb_binary_cross_entropy_with_logits(a, a, NULL, nb_ones(NB_SHAPE(2, 3, 4), NB_OPTS()),
                                                  NB_REDUCTION_MEAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "pos_weight of shape [2, 3, 4] does not broadcast to logits of shape [3, 4]");
    NBT_CHECK(nb_binary_cross_entropy_with_logits(a, a, a64, NULL, NB_REDUCTION_MEAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "weight is float64 but logits is float32");
    NBT_CHECK(nb_binary_cross_entropy_with_logits(a, b, NULL, NULL, NB_REDUCTION_MEAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "logits has shape [3, 4] but target has shape [4]");
    NBT_CHECK(nb_kl_div(a, a, NB_REDUCTION_BATCHMEAN, false) != NULL);
    nb_scope_end();
}

static void test_errors_class_losses(void)
{
    nb_scope_begin();
    nb_tensor            *logits  = nb_zeros(NB_SHAPE(3, 4), NB_OPTS());
    int64_t               good[3] = {0, 3, 1}, high[3] = {0, 4, 1}, negative[3] = {0, -1, 1};
    nb_tensor            *target = int64_of(good, NB_SHAPE(3));
    nb_cross_entropy_opts opts   = NB_CROSS_ENTROPY_OPTS();

    NBT_CHECK(nb_cross_entropy(logits, int64_of(high, NB_SHAPE(3)), opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_cross_entropy: target 4 (element 1) is out of range for 4 classes");
    NBT_CHECK(nb_nll_loss(logits, int64_of(negative, NB_SHAPE(3)), opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_nll_loss: target -1 (element 1) is out of range for 4 classes");
    /* An ignored index may be out of range. */
    NBT_CHECK(nb_cross_entropy(logits, int64_of(negative, NB_SHAPE(3)),
                               NB_CROSS_ENTROPY_OPTS(.has_ignore_index = true, .ignore_index = -1)) != NULL);

    NBT_CHECK(nb_cross_entropy(logits, int64_of(good, NB_SHAPE(1, 3)), opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_cross_entropy: target of shape [1, 3] does not fit logits of shape [3, 4]: "
                                  "class indices need shape [3]");
    NBT_CHECK(nb_nll_loss(nb_zeros(NB_SHAPE(4), NB_OPTS()), target, opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "class indices need shape []");
    NBT_CHECK(nb_cross_entropy(nb_zeros(NB_SCALAR_SHAPE, NB_OPTS()), target, opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_cross_entropy: logits must have a class dim");
    NBT_CHECK(nb_cross_entropy(logits, nb_to_dtype(target, NB_INT32), opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_cross_entropy: target must be int64 class indices or class probabilities of "
                                  "logits' dtype, got int32");
    NBT_CHECK(nb_nll_loss(logits, nb_zeros(NB_SHAPE(3, 4), NB_OPTS()), opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_nll_loss: target must be int64 class indices, got float32");
    NBT_CHECK(nb_cross_entropy(logits, nb_zeros(NB_SHAPE(3), NB_OPTS()), opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "target (class probabilities) has shape [3] but logits has shape [3, 4]");
    NBT_CHECK(nb_cross_entropy(logits, nb_zeros(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_FLOAT64)), opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "target (class probabilities) is float64 but logits is float32");
    NBT_CHECK(nb_cross_entropy(logits, logits, NB_CROSS_ENTROPY_OPTS(.has_ignore_index = true, .ignore_index = 0)) ==
              NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "ignore_index applies to class-index targets only");
    NBT_CHECK(nb_cross_entropy(logits, logits, NB_CROSS_ENTROPY_OPTS(.has_ignore_index = true, .ignore_index = -100)) !=
              NULL);
    NBT_CHECK(nb_cross_entropy(nb_to_dtype(target, NB_FLOAT32), target, opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "class indices need shape []");
    NBT_CHECK(nb_cross_entropy(target, target, opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_cross_entropy: logits must be float32 or float64, got int64");

    NBT_CHECK(nb_cross_entropy(logits, target, NB_CROSS_ENTROPY_OPTS(.label_smoothing = 1.5)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5");
    NBT_CHECK(nb_cross_entropy(logits, target, NB_CROSS_ENTROPY_OPTS(.label_smoothing = NAN)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "label_smoothing must be between 0.0 and 1.0");
    NBT_CHECK(nb_nll_loss(logits, target, NB_CROSS_ENTROPY_OPTS(.label_smoothing = 0.1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_nll_loss: label_smoothing is an option of nb_cross_entropy only");
    NBT_CHECK(nb_cross_entropy(logits, target, NB_CROSS_ENTROPY_OPTS(.reduction = NB_REDUCTION_BATCHMEAN)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_cross_entropy: NB_REDUCTION_BATCHMEAN is for nb_kl_div only");
    NBT_CHECK(nb_cross_entropy(logits, target, NB_CROSS_ENTROPY_OPTS(.reduction = (nb_reduction)-1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "reduction -1 is not an nb_reduction");
    NBT_CHECK(nb_cross_entropy(logits, target, NB_CROSS_ENTROPY_OPTS(.weight = nb_ones(NB_SHAPE(3), NB_OPTS()))) ==
              NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_cross_entropy: weight has shape [3]; expected [4] (one per class)");
    NBT_CHECK(nb_cross_entropy(logits, target,
                               NB_CROSS_ENTROPY_OPTS(.weight = nb_ones(NB_SHAPE(4), NB_OPTS(.dtype = NB_FLOAT64)))) ==
              NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_cross_entropy: weight is float64 but logits is float32");
    NBT_CHECK(nb_cross_entropy(NULL, target, opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_cross_entropy: argument 'logits' is NULL");
    NBT_CHECK(nb_nll_loss(logits, NULL, opts) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_nll_loss: argument 'target' is NULL");
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Layouts and edge cases                                                    */
/* ------------------------------------------------------------------------ */

/* Non-contiguous targets (a strided slice, an expanded vector) give the
 * values of their contiguous copies; empty batches follow torch. */
static void test_strided_targets_and_empty(void)
{
    nb_scope_begin();
    nb_manual_seed(3);
    nb_tensor *logits    = nb_randn(NB_SHAPE(4, 5), NB_OPTS(.dtype = NB_FLOAT64));
    int64_t    wide[8]   = {1, 9, 4, 9, 0, 9, 2, 9};
    nb_tensor *strided   = nb_slice(int64_of(wide, NB_SHAPE(8)), 0, 0, NB_END, 2); /* [1, 4, 0, 2] */
    int64_t    packed[4] = {1, 4, 0, 2};
    nb_tensor *a         = nb_cross_entropy(logits, strided, NB_CROSS_ENTROPY_OPTS());
    nb_tensor *b         = nb_cross_entropy(logits, int64_of(packed, NB_SHAPE(4)), NB_CROSS_ENTROPY_OPTS());
    NBT_CHECK_NEAR(nb_item(a), nb_item(b), 1e-12);
    nb_tensor *same = nb_expand(nb_full(NB_SCALAR_SHAPE, 3, NB_OPTS(.dtype = NB_INT64)), NB_SHAPE(4));
    nb_tensor *c    = nb_nll_loss(logits, same, NB_CROSS_ENTROPY_OPTS(.reduction = NB_REDUCTION_SUM));
    NBT_CHECK_NEAR(nb_item(c), -nb_item(nb_sum(nb_select(logits, 1, 3))), 1e-12);

    nb_tensor *empty  = nb_zeros(NB_SHAPE(0, 5), NB_OPTS());
    nb_tensor *labels = nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(isnan(nb_item(nb_cross_entropy(empty, labels, NB_CROSS_ENTROPY_OPTS()))));
    NBT_CHECK_NEAR(nb_item(nb_cross_entropy(empty, labels, NB_CROSS_ENTROPY_OPTS(.reduction = NB_REDUCTION_SUM))), 0,
                   0);
    NBT_CHECK(nb_numel(nb_cross_entropy(empty, labels, NB_CROSS_ENTROPY_OPTS(.reduction = NB_REDUCTION_NONE))) == 0);
    NBT_CHECK(isnan(nb_item(nb_mse_loss(empty, empty, NB_REDUCTION_MEAN))));
    NBT_CHECK(isnan(nb_item(nb_kl_div(empty, empty, NB_REDUCTION_BATCHMEAN, false))));
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* The fused fast path of cross_entropy against the composite                */
/* ------------------------------------------------------------------------ */

/* Contiguous (N, C) logits with plain int64 targets take the fused kernel;
 * a transposed view of the same values takes the composite. */
static void compare_fused_with_composite(int64_t rows, int64_t classes, nb_dtype dtype, nb_reduction reduction)
{
    nb_scope_begin();
    double     tol        = dtype == NB_FLOAT64 ? 1e-12 : 1e-5;
    nb_tensor *values     = nb_mul_scalar(nb_randn(NB_SHAPE(rows, classes), NB_OPTS(.dtype = dtype)), 3);
    nb_tensor *target     = nb_randint(0, classes, NB_SHAPE(rows), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *fused_leaf = nb_detach(values), *composite_leaf = nb_contiguous(nb_t(values));
    nb_requires_grad_(fused_leaf, true);
    nb_requires_grad_(composite_leaf, true);
    nb_cross_entropy_opts opts      = NB_CROSS_ENTROPY_OPTS(.reduction = reduction);
    nb_tensor            *fused     = nb_cross_entropy(fused_leaf, target, opts);
    nb_tensor            *composite = nb_cross_entropy(nb_t(composite_leaf), target, opts);
    NBT_CHECK(fused != NULL && strcmp(nb_grad_fn_name(fused), "NllLossBackward0") == 0);
    /* (A single row viewed transposed is still contiguous: fused too.) */
    NBT_CHECK(composite != NULL && (rows == 1 || strcmp(nb_grad_fn_name(composite), "cross_entropyBackward") != 0));
    NBT_CHECK_NEAR(nb_item(nb_max(nb_abs(nb_sub(fused, composite)))), 0, tol * 10);
    /* A grad_output that is not all ones (and, for none, a strided one). */
    nb_tensor *grad_output = reduction == NB_REDUCTION_NONE
                                 ? nb_slice(nb_rand(NB_SHAPE(2 * rows), NB_OPTS(.dtype = dtype)), 0, 0, NB_END, 2)
                                 : nb_scalar(0.75, NB_OPTS(.dtype = dtype));
    NBT_CHECK(nb_backward_with(fused, grad_output, NB_GRAD_OPTS()) == NB_OK);
    NBT_CHECK(nb_backward_with(composite, grad_output, NB_GRAD_OPTS()) == NB_OK);
    nb_tensor *g_fused = nb_grad(fused_leaf), *g_composite = nb_t(nb_grad(composite_leaf));
    NBT_CHECK_NEAR(nb_item(nb_max(nb_abs(nb_sub(g_fused, g_composite)))), 0, tol);
    /* The recorded form of the fused backward (create_graph) agrees too. */
    nb_tensor *again = nb_cross_entropy(fused_leaf, target, opts), *g_recorded = NULL;
    NBT_CHECK(nb_grad_of(&again, 1, &fused_leaf, 1, &grad_output, NB_GRAD_OPTS(.create_graph = true), &g_recorded) ==
              NB_OK);
    NBT_CHECK(g_recorded != NULL && nb_requires_grad(g_recorded));
    NBT_CHECK_NEAR(nb_item(nb_max(nb_abs(nb_sub(g_recorded, g_fused)))), 0, tol);
    nb_free(g_recorded);
    nb_scope_end();
}

static void test_cross_entropy_fused_matches_composite(void)
{
    nb_manual_seed(17);
    nb_reduction reductions[3] = {NB_REDUCTION_MEAN, NB_REDUCTION_SUM, NB_REDUCTION_NONE};
    for (int r = 0; r < 3; r++) {
        compare_fused_with_composite(7, 5, NB_FLOAT64, reductions[r]);
        compare_fused_with_composite(64, 10, NB_FLOAT32, reductions[r]);
    }
    /* Enough rows to run on several threads. */
    compare_fused_with_composite(96, 1000, NB_FLOAT32, NB_REDUCTION_MEAN);
    compare_fused_with_composite(1, 3, NB_FLOAT64, NB_REDUCTION_MEAN);
    /* Empty batch: NaN mean, zero sum, as the composite. */
    nb_scope_begin();
    nb_tensor *empty  = nb_zeros(NB_SHAPE(0, 4), NB_OPTS(.requires_grad = true));
    nb_tensor *labels = nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(isnan(nb_item(nb_cross_entropy(empty, labels, NB_CROSS_ENTROPY_OPTS()))));
    nb_tensor *sum = nb_cross_entropy(empty, labels, NB_CROSS_ENTROPY_OPTS(.reduction = NB_REDUCTION_SUM));
    NBT_CHECK(nb_item(sum) == 0 && nb_backward(sum) == NB_OK && nb_numel(nb_grad(empty)) == 0);
    /* A row holding NaN or inf gives NaN, as log_softmax does. */
    float      bad[6] = {1, NAN, 0, INFINITY, 0, 0};
    int64_t    t[2]   = {0, 1};
    nb_tensor *loss   = nb_cross_entropy(nb_from_data(bad, NB_SHAPE(2, 3), NB_OPTS()), int64_of(t, NB_SHAPE(2)),
                                         NB_CROSS_ENTROPY_OPTS(.reduction = NB_REDUCTION_NONE));
    NBT_CHECK_TENSOR(loss, NB_SHAPE(2), 0, NAN, NAN);
    nb_scope_end();
}

/* Edge values where nabla and torch 1.13 differed (found by the
 * differential runs); every expected number is torch's. */
static void test_edges_as_torch(void)
{
    nb_scope_begin();
    /* the target's logit alone at -inf: +inf on the fused path, as the composite */
    double     x[6]   = {-INFINITY, 0.0, 1.0, 1.0, 2.0, 3.0};
    int64_t    t[2]   = {0, 1};
    nb_tensor *logits = nb_from_data(x, NB_SHAPE(2, 3), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *target = int64_of(t, NB_SHAPE(2));
    nb_tensor *rows   = nb_cross_entropy(logits, target, NB_CROSS_ENTROPY_OPTS(.reduction = NB_REDUCTION_NONE));
    const double *r   = rows ? nb_data(rows) : NULL;
    NBT_CHECK(r && isinf(r[0]) && r[0] > 0 && fabs(r[1] - 1.4076059644443804) < 1e-12);

    /* label smoothing and class weights whose picked ones sum to 0: NaN (the nll term is 0 / 0) */
    double     wx[12] = {0.1, -0.3, 0.7, 1.2, 0.5, 0.2, -1.0, 0.0, 2.0, 1.0, 0.3, -0.4};
    int64_t    wt[3]  = {1, 1, 2};
    nb_tensor *weight = nb_from_data((double[]){1, 0, 0, 1}, NB_SHAPE(4), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *smoothed =
        nb_cross_entropy(nb_from_data(wx, NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_FLOAT64)), int64_of(wt, NB_SHAPE(3)),
                         NB_CROSS_ENTROPY_OPTS(.weight = weight, .label_smoothing = 0.1));
    NBT_CHECK(smoothed && isnan(nb_item(smoothed)));

    /* smooth_l1's gradient: the sign at an infinite difference, -1 for both
     * input and target where they are equal and beta = 0 */
    for (int b = 0; b < 2; b++) {
        double     beta = b ? 1.0 : 0.0;
        nb_tensor *in   = nb_from_data((double[]){0, 1, 3, NAN, 2}, NB_SHAPE(5),
                                       NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
        nb_tensor *tg   = nb_from_data((double[]){0, INFINITY, -INFINITY, 0, 0.5}, NB_SHAPE(5),
                                       NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
        NBT_CHECK(nb_backward(nb_smooth_l1_loss(in, tg, NB_REDUCTION_SUM, beta)) == NB_OK);
        const double *gi = nb_data(nb_grad(in)), *gt = nb_data(nb_grad(tg));
        double        equal = b ? 0 : -1;
        NBT_CHECK(gi[0] == equal && gi[1] == -1 && gi[2] == 1 && isnan(gi[3]) && gi[4] == 1);
        NBT_CHECK(gt[0] == equal && gt[1] == 1 && gt[2] == -1 && isnan(gt[3]) && gt[4] == -1);
    }

    /* batch norm in training with eps = 0: a constant channel normalises to 0 (torch's invstd is 0 there) */
    double bx[12];
    for (int n = 0; n < 3; n++)
        for (int k = 0; k < 2; k++) {
            bx[n * 4 + k]     = 1.0;
            bx[n * 4 + 2 + k] = 0.1 * (n * 2 + k) - 0.2;
        }
    nb_tensor *bn_in = nb_from_data(bx, NB_SHAPE(3, 2, 2), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *bn    = nb_batch_norm(bn_in, NULL, NULL, NULL, NULL, true, 0.1, 0.0);
    NBT_CHECK(bn && all_finite(bn) && nb_item(nb_select(nb_select(nb_select(bn, 0, 1), 0, 0), 0, 1)) == 0.0);
    NBT_CHECK(nb_backward(nb_sum(nb_mul(bn, bn))) == NB_OK && all_finite(nb_grad(bn_in)));

    /* embedding takes int32 indices too */
    nb_tensor *table = nb_reshape(nb_arange(0, 6, 1, NB_OPTS()), NB_SHAPE(3, 2));
    nb_tensor *picks = nb_from_data((int32_t[]){2, 0}, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT32));
    NBT_CHECK_TENSOR_IS(nb_embedding(picks, table), NB_FLOAT32, NB_SHAPE(2, 2), (float[]){4, 5, 0, 1});
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_fixtures);
    NBT_RUN(test_gradcheck);
    NBT_RUN(test_cross_entropy_huge_logits);
    NBT_RUN(test_bce_saturated_gradient);
    NBT_RUN(test_errors_elementwise_losses);
    NBT_RUN(test_errors_class_losses);
    NBT_RUN(test_strided_targets_and_empty);
    NBT_RUN(test_cross_entropy_fused_matches_composite);
    NBT_RUN(test_edges_as_torch);
    return nbt_finish();
}
