/*
 * test_module.c — the module system and the built-in layers: state_dict
 * names, shapes and counts equal to torch's (tests/data/module_fixtures.h),
 * dotted lookups, training/eval propagation, each layer's forward against
 * its formula, torch's default initialisation, ownership (parameters
 * outlive scopes; freeing a module frees everything), and every error a
 * caller can cause.
 */
#include "nb_test.h"

#include "data/module_fixtures.h"

/* t's elements as float64 (malloc'd). */
static double *values_of(const nb_tensor *t)
{
    nb_tensor *d   = nb_to_dtype(t, NB_FLOAT64);
    int64_t    n   = nb_numel(d);
    double    *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof *buf);
    nb_copy_to_buffer(d, buf, (size_t)n * sizeof *buf);
    nb_free(d);
    return buf;
}

static double max_abs_of(const nb_tensor *t)
{
    double *v = values_of(t), m = 0;
    for (int64_t i = 0; i < nb_numel(t); i++) m = fmax(m, fabs(v[i]));
    free(v);
    return m;
}

static double max_abs_diff(const nb_tensor *a, const nb_tensor *b)
{
    nb_tensor *d = nb_sub(a, b);
    double     m = d ? max_abs_of(d) : INFINITY;
    nb_free(d);
    return m;
}

/* m's parameters (or buffers) are the fixture's entries: same full names in
 * the same order, shapes, dtypes; parameters require grad, buffers not. */
static void check_entries(nb_module *m, bool buffers, const fixture_entry *expected, int64_t count)
{
    nb_tensor  *tensors[32];
    const char *names[32];
    int64_t     n = buffers ? nb_module_buffers(m, tensors, names, 32) : nb_module_parameters(m, tensors, names, 32);
    NBT_CHECK(n == count);
    for (int64_t i = 0; i < n && i < count; i++) {
        nbt_checks++;
        nb_shape s  = nb_shape_of(tensors[i]);
        bool     ok = strcmp(names[i], expected[i].name) == 0 && nb_dtype_of(tensors[i]) == expected[i].dtype &&
                  s.ndim == expected[i].ndim && nb_requires_grad(tensors[i]) == !buffers;
        for (int d = 0; ok && d < s.ndim; d++) ok = s.dims[d] == expected[i].shape[d];
        if (!ok) {
            nbt_failures++;
            fprintf(stderr, "  entry %lld: got \"%s\", expected \"%s\" (or its shape, dtype, grad)\n", (long long)i,
                    names[i], expected[i].name);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Architectures against torch's state_dict                                  */
/* ------------------------------------------------------------------------ */

/* Sequential(Conv2d(1, 8, 3, padding=1), BatchNorm2d(8), ReLU(),
 * MaxPool2d(2), Flatten(), Linear(1568, 10)). */
static nb_module *make_cnn(void)
{
    nb_module *layers[6] = {
        nb_conv2d_new(1, 8, 3, 3, NB_CONV_OPTS(.padding = { 1, 1 }), true),
        nb_batch_norm2d_new(8, NB_NORM_OPTS()),
        nb_relu_new(),
        nb_max_pool2d_new(NB_POOL_OPTS(.kernel = { 2, 2 })),
        nb_flatten_new(1, -1),
        nb_linear_new(1568, 10, true),
    };
    return nb_sequential_new(layers, 6);
}

static void test_cnn_state_dict(void)
{
    nb_module *cnn = make_cnn();
    NBT_CHECK(cnn != NULL && strcmp(nb_module_type(cnn), "Sequential") == 0);
    check_entries(cnn, false, fixture_cnn_parameters, FIXTURE_CNN_PARAMETERS);
    check_entries(cnn, true, fixture_cnn_buffers, FIXTURE_CNN_BUFFERS);
    NBT_CHECK(nb_module_parameter_numel(cnn) == fixture_cnn_parameter_numel);
    /* Counting only; a small capacity writes the first entries and still
     * returns the total. */
    NBT_CHECK(nb_module_parameters(cnn, NULL, NULL, 0) == FIXTURE_CNN_PARAMETERS);
    nb_tensor  *two[2];
    const char *two_names[2];
    NBT_CHECK(nb_module_parameters(cnn, two, two_names, 2) == FIXTURE_CNN_PARAMETERS);
    NBT_CHECK(strcmp(two_names[1], "0.bias") == 0 && two[1] == nb_module_tensor(cnn, "0.bias"));
    const char *only_names[3];
    NBT_CHECK(nb_module_buffers(cnn, NULL, only_names, 3) == 3 && strcmp(only_names[2], "1.num_batches_tracked") == 0);

    nb_manual_seed(0);
    nb_tensor *x = nb_randn(NB_SHAPE(2, 1, 28, 28), NB_OPTS());
    nb_tensor *y = nb_module_forward(cnn, x);
    NBT_CHECK(y != NULL && nb_ndim(y) == 2 && nb_size(y, 0) == 2 && nb_size(y, 1) == 10);
    NBT_CHECK(nb_item_int64(nb_module_tensor(cnn, "1.num_batches_tracked")) == 1);
    nb_free(y);
    nb_free(x);
    nb_module_free(cnn);
}

/* A custom module with named children: x -> fc1 -> bn -> relu -> drop -> fc2. */
static nb_tensor *two_layer_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)user;
    nb_tensor *h1 = nb_module_forward(nb_module_child(self, "fc1"), x);
    nb_tensor *h2 = nb_module_forward(nb_module_child(self, "bn"), h1);
    nb_tensor *h3 = nb_relu(h2);
    nb_tensor *h4 = nb_module_forward(nb_module_child(self, "drop"), h3);
    nb_tensor *y  = nb_module_forward(nb_module_child(self, "fc2"), h4);
    nb_free(h1), nb_free(h2), nb_free(h3), nb_free(h4);
    return y;
}

static nb_module *make_two_layer(void)
{
    nb_module *m = nb_module_new("TwoLayer", two_layer_forward, NULL, NULL);
    if (nb_module_add_child(m, "fc1", nb_linear_new(784, 256, true)) != NB_OK ||
        nb_module_add_child(m, "bn", nb_batch_norm1d_new(256, NB_NORM_OPTS())) != NB_OK ||
        nb_module_add_child(m, "drop", nb_dropout_new(0.5)) != NB_OK ||
        nb_module_add_child(m, "fc2", nb_linear_new(256, 10, true)) != NB_OK) {
        nb_module_free(m);
        return NULL;
    }
    return m;
}

static void test_custom_module_state_dict(void)
{
    nb_module *m = make_two_layer();
    NBT_CHECK(m != NULL && strcmp(nb_module_type(m), "TwoLayer") == 0);
    check_entries(m, false, fixture_two_layer_parameters, FIXTURE_TWO_LAYER_PARAMETERS);
    check_entries(m, true, fixture_two_layer_buffers, FIXTURE_TWO_LAYER_BUFFERS);
    NBT_CHECK(nb_module_parameter_numel(m) == fixture_two_layer_parameter_numel);
    nb_tensor *x = nb_randn(NB_SHAPE(4, 784), NB_OPTS());
    nb_tensor *y = nb_module_forward(m, x);
    NBT_CHECK(y != NULL && nb_size(y, 0) == 4 && nb_size(y, 1) == 10);
    nb_free(y);
    nb_free(x);
    nb_module_free(m);
}

/* Embedding, Sequentials as children, bias-free conv, LayerNorm. */
static nb_tensor *nested_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)user;
    nb_tensor *h = nb_module_forward(nb_module_child(self, "features"), x);
    nb_tensor *y = nb_module_forward(nb_module_child(self, "classifier"), h);
    nb_free(h);
    return y;
}

static nb_module *make_nested(void)
{
    nb_module *features[6] = {
        nb_conv2d_new(3, 16, 3, 3, NB_CONV_OPTS(.padding = { 1, 1 }), true),
        nb_relu_new(),
        nb_max_pool2d_new(NB_POOL_OPTS(.kernel = { 2, 2 })),
        nb_conv2d_new(16, 32, 3, 3, NB_CONV_OPTS(.stride = { 2, 2 }), false),
        nb_batch_norm2d_new(32, NB_NORM_OPTS()),
        nb_gelu_new(false),
    };
    nb_module *classifier[4] = {
        nb_flatten_new(1, -1),
        nb_dropout_new(0.25),
        nb_linear_new(288, 10, true),
        nb_layer_norm_new(NB_SHAPE(10), NB_NORM_OPTS()),
    };
    nb_module *m = nb_module_new("Nested", nested_forward, NULL, NULL);
    if (nb_module_add_child(m, "embed", nb_embedding_new(100, 16)) != NB_OK ||
        nb_module_add_child(m, "features", nb_sequential_new(features, 6)) != NB_OK ||
        nb_module_add_child(m, "classifier", nb_sequential_new(classifier, 4)) != NB_OK) {
        nb_module_free(m);
        return NULL;
    }
    return m;
}

static void test_nested_state_dict_and_paths(void)
{
    nb_module *m = make_nested();
    NBT_CHECK(m != NULL);
    check_entries(m, false, fixture_nested_parameters, FIXTURE_NESTED_PARAMETERS);
    check_entries(m, true, fixture_nested_buffers, FIXTURE_NESTED_BUFFERS);
    NBT_CHECK(nb_module_parameter_numel(m) == fixture_nested_parameter_numel);

    /* Every state_dict key resolves, and to the tensor the lists give. */
    nb_tensor  *params[16], *buffers[4];
    const char *param_names[16], *buffer_names[4];
    int64_t     np = nb_module_parameters(m, params, param_names, 16);
    int64_t     nbuf = nb_module_buffers(m, buffers, buffer_names, 4);
    int         keys = (int)(sizeof fixture_nested_state_dict / sizeof *fixture_nested_state_dict);
    NBT_CHECK(np + nbuf == keys);
    for (int k = 0; k < keys; k++) {
        nb_tensor *t     = nb_module_tensor(m, fixture_nested_state_dict[k]);
        bool       found = false;
        for (int64_t i = 0; i < np; i++) found |= params[i] == t && strcmp(param_names[i], fixture_nested_state_dict[k]) == 0;
        for (int64_t i = 0; i < nbuf; i++) found |= buffers[i] == t && strcmp(buffer_names[i], fixture_nested_state_dict[k]) == 0;
        NBT_CHECK(t != NULL && found);
    }
    NBT_CHECK(strcmp(nb_module_type(nb_module_child(m, "features.3")), "Conv2d") == 0);
    NBT_CHECK(strcmp(nb_module_type(nb_module_child(m, "classifier")), "Sequential") == 0);
    NBT_CHECK(nb_module_child(nb_module_child(m, "features"), "4") == nb_module_child(m, "features.4"));
    NBT_CHECK(nb_module_tensor(nb_module_child(m, "features.4"), "running_var") ==
              nb_module_tensor(m, "features.4.running_var"));

    /* Names handed out stay valid and stable across calls. */
    const char *again[16];
    nb_module_parameters(m, NULL, again, 16);
    NBT_CHECK(again[3] == param_names[3]);

    /* The whole model runs: (2, 3, 14, 14) -> features (2, 32, 3, 3) -> (2, 10). */
    nb_manual_seed(7);
    nb_tensor *x = nb_randn(NB_SHAPE(2, 3, 14, 14), NB_OPTS());
    nb_tensor *y = nb_module_forward(m, x);
    NBT_CHECK(y != NULL && nb_size(y, 0) == 2 && nb_size(y, 1) == 10);
    /* LayerNorm at the end with weight 1, bias 0: each row has mean 0. */
    nb_tensor *row_mean = nb_mean_dims(y, NB_DIMS(1), false);
    NBT_CHECK(max_abs_of(row_mean) < 1e-5);
    nb_free(row_mean);
    nb_free(y);
    nb_free(x);
    nb_module_free(m);
}

/* Names given out before the tree grew stay readable; the new call sees
 * the new names. */
static void test_names_after_growth(void)
{
    nb_module  *m = nb_module_new("Grow", NULL, NULL, NULL);
    const char *first[1], *second[2];
    NBT_CHECK(nb_module_add_parameter(m, "a", nb_zeros(NB_SHAPE(2), NB_OPTS())) == NB_OK);
    NBT_CHECK(nb_module_parameters(m, NULL, first, 1) == 1);
    NBT_CHECK(nb_module_add_child(m, "sub", nb_linear_new(2, 3, false)) == NB_OK);
    NBT_CHECK(nb_module_parameters(m, NULL, second, 2) == 2);
    NBT_CHECK(strcmp(first[0], "a") == 0 && strcmp(second[0], "a") == 0 && strcmp(second[1], "sub.weight") == 0);
    NBT_CHECK(nb_module_parameter_numel(m) == 2 + 6);
    nb_module_free(m);
}

/* ------------------------------------------------------------------------ */
/* Modes                                                                     */
/* ------------------------------------------------------------------------ */

static void test_train_eval_propagation(void)
{
    nb_module *m = make_two_layer();
    NBT_CHECK(nb_module_is_training(m) && nb_module_is_training(nb_module_child(m, "drop")));
    nb_module_train(m, false);
    NBT_CHECK(!nb_module_is_training(m));
    NBT_CHECK(!nb_module_is_training(nb_module_child(m, "fc1")) && !nb_module_is_training(nb_module_child(m, "bn")));
    NBT_CHECK(!nb_module_is_training(nb_module_child(m, "drop")));
    nb_module_train(nb_module_child(m, "drop"), true); /* a subtree alone */
    NBT_CHECK(nb_module_is_training(nb_module_child(m, "drop")) && !nb_module_is_training(m));
    nb_module_train(m, true);
    NBT_CHECK(nb_module_is_training(nb_module_child(m, "bn")));
    nb_module_free(m);
}

static void test_dropout_modes(void)
{
    nb_module *drop = nb_dropout_new(0.5);
    nb_tensor *x    = nb_full(NB_SHAPE(1000), 3.0, NB_OPTS());
    nb_manual_seed(11);
    nb_tensor *y    = nb_module_forward(drop, x);
    double    *v    = values_of(y);
    int        zeros = 0, doubled = 0;
    for (int i = 0; i < 1000; i++) zeros += v[i] == 0.0, doubled += v[i] == 6.0;
    NBT_CHECK(zeros + doubled == 1000 && zeros > 400 && zeros < 600);
    free(v);
    nb_free(y);
    nb_module_train(drop, false);
    y = nb_module_forward(drop, x);
    NBT_CHECK(max_abs_diff(y, x) == 0.0);
    nb_free(y);
    nb_free(x);
    nb_module_free(drop);
}

/* BatchNorm2d on x (2, 2, 1, 2): channel 0 holds 1, 3, 5, 7 (mean 4,
 * biased var 5, unbiased 20/3), channel 1 holds 2, 2, 2, 2. */
/* Max |a - b|. */
static double max_difference(const nb_tensor *a, const nb_tensor *b)
{
    nb_scope_begin();
    double d = nb_item(nb_max(nb_abs(nb_sub(a, b))));
    nb_scope_end();
    return d;
}

/* In no-grad mode Sequential runs activations and batch norm in place on
 * the intermediates it holds alone: the same values as the recorded
 * forward, the same running statistics and batch count, and the caller's
 * input untouched (also when the first layer could run in place). */
static void test_sequential_in_place(void)
{
    for (int training = 0; training <= 1; training++) {
        nb_manual_seed(21);
        nb_module *make[2];
        for (int k = 0; k < 2; k++) {
            nb_manual_seed(21);
            nb_module *layers[] = { nb_relu_new(), nb_linear_new(6, 5, true), nb_batch_norm1d_new(5, NB_NORM_OPTS()),
                                    nb_tanh_new(), nb_linear_new(5, 4, true), nb_sigmoid_new(), nb_silu_new(),
                                    nb_relu_new() };
            make[k] = nb_sequential_new(layers, 8);
            nb_module_train(make[k], training);
            nb_tensor *rv = nb_module_tensor(make[k], "2.running_var"); /* not the default: eval must read it */
            nb_fill_(rv, 2.5);
        }
        nb_tensor *x = nb_randn(NB_SHAPE(7, 6), NB_OPTS()), *x_then = nb_clone(x);
        nb_tensor *recorded = nb_module_forward(make[0], x); /* grad mode on: a graph, no in-place */
        nb_no_grad_begin();
        nb_tensor *in_place = nb_module_forward(make[1], x);
        nb_no_grad_end();
        NBT_CHECK(recorded != NULL && in_place != NULL && nb_requires_grad(recorded) && !nb_requires_grad(in_place));
        NBT_CHECK(max_difference(recorded, in_place) == 0);
        NBT_CHECK(max_difference(x, x_then) == 0);
        const char *buffers[] = { "2.running_mean", "2.running_var", "2.num_batches_tracked" };
        for (int b = 0; b < 3; b++)
            NBT_CHECK(max_difference(nb_module_tensor(make[0], buffers[b]), nb_module_tensor(make[1], buffers[b])) == 0);
        NBT_CHECK(nb_item(nb_module_tensor(make[1], "2.num_batches_tracked")) == training);
        nb_free(recorded);
        nb_free(in_place);
        nb_free(x);
        nb_free(x_then);
        nb_module_free(make[0]);
        nb_module_free(make[1]);
    }
}


/* a and b have the same values bit for bit, NaN matching NaN. */
static bool same_values(const nb_tensor *a, const nb_tensor *b)
{
    if (a == NULL || b == NULL || nb_numel(a) != nb_numel(b)) return false;
    double *x = values_of(a), *y = values_of(b);
    bool    same = true;
    for (int64_t i = 0; same && i < nb_numel(a); i++)
        same = (isnan(x[i]) && isnan(y[i])) || memcmp(&x[i], &y[i], sizeof x[i]) == 0;
    free(x);
    free(y);
    return same;
}

/* Sequential runs ReLU then MaxPool2d as the pool then the relu (it reads a
 * quarter of the values): the output and the input's gradient are those of
 * the two ops in the written order, bit for bit, for 2x2 windows and for
 * overlapping padded ones, with NaN, in grad mode and in place under
 * no-grad. */
static void test_sequential_pools_before_relu(void)
{
    nb_scope_begin();
    nb_manual_seed(8);
    nb_pool_opts opts[2] = { NB_POOL_OPTS(.kernel = { 2, 2 }),
                             NB_POOL_OPTS(.kernel = { 3, 3 }, .stride = { 2, 2 }, .padding = { 1, 1 }) };
    for (int k = 0; k < 2; k++) {
        nb_module *seq = nb_sequential_new((nb_module *[]){ nb_relu_new(), nb_max_pool2d_new(opts[k]) }, 2);
        nb_tensor *x   = nb_randn(NB_SHAPE(2, 3, 6, 7), NB_OPTS());
        nb_fill_(nb_select(nb_select(nb_select(x, 0, 1), 0, 2), 0, 3), NAN);
        nb_requires_grad_(x, true);
        nb_tensor *swapped = nb_module_forward(seq, x);
        nb_tensor *written = nb_max_pool2d(nb_relu(x), opts[k], NULL);
        NBT_CHECK(swapped != NULL && strcmp(nb_grad_fn_name(swapped), "ReluBackward0") == 0);
        NBT_CHECK(same_values(swapped, written));
        nb_tensor *g = nb_randn(nb_shape_of(written), NB_OPTS()), *dx[2] = { NULL, NULL };
        NBT_CHECK(nb_grad_of(&swapped, 1, &x, 1, &g, NB_GRAD_OPTS(), &dx[0]) == NB_OK);
        NBT_CHECK(nb_grad_of(&written, 1, &x, 1, &g, NB_GRAD_OPTS(), &dx[1]) == NB_OK);
        NBT_CHECK(max_difference(dx[0], dx[1]) == 0);
        nb_no_grad_begin();
        nb_tensor *in_place = nb_module_forward(seq, nb_mul_scalar(x, 1)); /* an intermediate held alone */
        nb_no_grad_end();
        NBT_CHECK(same_values(in_place, written));
        nb_module_free(seq);
    }
    nb_scope_end();
}

static void test_batch_norm_modes(void)
{
    nb_module *bn = nb_batch_norm2d_new(2, NB_NORM_OPTS());
    NBT_CHECK_TENSOR(nb_module_tensor(bn, "weight"), NB_SHAPE(2), 0, 1, 1);
    NBT_CHECK_TENSOR(nb_module_tensor(bn, "bias"), NB_SHAPE(2), 0, 0, 0);
    NBT_CHECK_TENSOR(nb_module_tensor(bn, "running_mean"), NB_SHAPE(2), 0, 0, 0);
    NBT_CHECK_TENSOR(nb_module_tensor(bn, "running_var"), NB_SHAPE(2), 0, 1, 1);
    NBT_CHECK_TENSOR(nb_module_tensor(bn, "num_batches_tracked"), NB_SCALAR_SHAPE, 0, 0);
    float      data[8] = { 1, 3, 2, 2, 5, 7, 2, 2 };
    nb_tensor *x       = nb_from_data(data, NB_SHAPE(2, 2, 1, 2), NB_OPTS());
    nb_tensor *y       = nb_module_forward(bn, x);
    double     s       = 1.0 / sqrt(5.0 + 1e-5);
    NBT_CHECK_TENSOR(y, NB_SHAPE(2, 2, 1, 2), 1e-5, -3 * s, -1 * s, 0, 0, 1 * s, 3 * s, 0, 0);
    NBT_CHECK_TENSOR(nb_module_tensor(bn, "running_mean"), NB_SHAPE(2), 1e-6, 0.4, 0.2);
    NBT_CHECK_TENSOR(nb_module_tensor(bn, "running_var"), NB_SHAPE(2), 1e-6, 0.9 + 0.1 * 20.0 / 3.0, 0.9);
    NBT_CHECK_TENSOR(nb_module_tensor(bn, "num_batches_tracked"), NB_SCALAR_SHAPE, 0, 1);
    nb_free(y);

    /* Eval: the running statistics normalise, and nothing is updated. */
    nb_module_train(bn, false);
    y                = nb_module_forward(bn, x);
    double rv0       = 0.9 + 0.1 * 20.0 / 3.0, rv1 = 0.9;
    double e0[4]     = { 1, 3, 5, 7 };
    double expect[8];
    for (int n = 0; n < 2; n++)
        for (int w = 0; w < 2; w++) {
            expect[n * 4 + w]     = (e0[n * 2 + w] - 0.4) / sqrt(rv0 + 1e-5);
            expect[n * 4 + 2 + w] = (2 - 0.2) / sqrt(rv1 + 1e-5);
        }
    NBT_CHECK(nbt_tensor_equals(y, NB_SHAPE(2, 2, 1, 2), expect, 1e-5));
    NBT_CHECK_TENSOR(nb_module_tensor(bn, "running_mean"), NB_SHAPE(2), 1e-6, 0.4, 0.2);
    NBT_CHECK_TENSOR(nb_module_tensor(bn, "num_batches_tracked"), NB_SCALAR_SHAPE, 0, 1);
    nb_free(y);
    nb_free(x);
    nb_module_free(bn);

    /* BatchNorm1d takes (N, C) and (N, C, L). */
    nb_module *bn1 = nb_batch_norm1d_new(3, NB_NORM_OPTS());
    nb_tensor *x2 = nb_randn(NB_SHAPE(4, 3), NB_OPTS()), *x3 = nb_randn(NB_SHAPE(4, 3, 5), NB_OPTS());
    nb_tensor *y2 = nb_module_forward(bn1, x2), *y3 = nb_module_forward(bn1, x3);
    NBT_CHECK(y2 != NULL && y3 != NULL);
    NBT_CHECK_TENSOR(nb_module_tensor(bn1, "num_batches_tracked"), NB_SCALAR_SHAPE, 0, 2);
    nb_free(x2), nb_free(x3), nb_free(y2), nb_free(y3);
    nb_module_free(bn1);
}

/* ------------------------------------------------------------------------ */
/* Layers: forward and default initialisation                                */
/* ------------------------------------------------------------------------ */

static void test_linear(void)
{
    nb_manual_seed(21);
    nb_module *lin = nb_linear_new(3, 2, true);
    nb_tensor *w = nb_module_tensor(lin, "weight"), *b = nb_module_tensor(lin, "bias");
    /* Known weights: y = x W^T + b by hand. */
    float      wv[6] = { 1, 2, 3, -1, 0, 1 }, bv[2] = { 0.5f, -2 };
    nb_tensor *wk = nb_from_data(wv, NB_SHAPE(2, 3), NB_OPTS()), *bk = nb_from_data(bv, NB_SHAPE(2), NB_OPTS());
    nb_no_grad_begin(); /* parameters are leaves that require grad */
    nb_copy_(w, wk);
    nb_copy_(b, bk);
    nb_no_grad_end();
    float      xv[6] = { 1, 1, 1, 2, 0, -1 };
    nb_tensor *x     = nb_from_data(xv, NB_SHAPE(2, 3), NB_OPTS());
    nb_tensor *y     = nb_module_forward(lin, x);
    NBT_CHECK_TENSOR(y, NB_SHAPE(2, 2), 1e-6, 6.5, -2, -0.5, -5);
    /* A transposed (non-contiguous) batch and a 3-d batch. */
    nb_tensor *x32 = nb_from_data(xv, NB_SHAPE(3, 2), NB_OPTS());
    nb_tensor *xt  = nb_t(x32); /* [[1, 1, 0], [1, 2, -1]] */
    nb_tensor *yt  = nb_module_forward(lin, xt);
    NBT_CHECK_TENSOR(yt, NB_SHAPE(2, 2), 1e-6, 1 + 2 + 0 + 0.5, -1 + 0 + 0 - 2, 1 + 4 - 3 + 0.5, -1 + 0 - 1 - 2);
    nb_tensor *x3 = nb_reshape(x, NB_SHAPE(1, 2, 3));
    nb_tensor *y3 = nb_module_forward(lin, x3);
    NBT_CHECK_TENSOR(y3, NB_SHAPE(1, 2, 2), 1e-6, 6.5, -2, -0.5, -5);
    nb_free(yt), nb_free(xt), nb_free(x32), nb_free(x3), nb_free(y3), nb_free(wk), nb_free(bk), nb_free(y), nb_free(x);
    nb_module_free(lin);

    /* Without bias: one parameter, y = x W^T. */
    nb_module *nobias = nb_linear_new(4, 5, false);
    NBT_CHECK(nb_module_parameters(nobias, NULL, NULL, 0) == 1 && nb_module_parameter_numel(nobias) == 20);
    nb_tensor *ones = nb_ones(NB_SHAPE(1, 4), NB_OPTS());
    nb_tensor *got  = nb_module_forward(nobias, ones);
    nb_tensor *want = nb_sum_dims(nb_module_tensor(nobias, "weight"), NB_DIMS(1), true);
    nb_tensor *want_t = nb_t(want);
    NBT_CHECK(max_abs_diff(got, want_t) < 1e-6);
    nb_free(ones), nb_free(got), nb_free(want), nb_free(want_t);
    nb_module_free(nobias);
}

/* torch's defaults: Linear/Conv weights and biases uniform in
 * +-1/sqrt(fan_in); Embedding N(0, 1); LayerNorm ones / zeros. */
static void test_default_init(void)
{
    nb_manual_seed(22);
    nb_module *lin = nb_linear_new(400, 300, true);
    double     bound = 1.0 / sqrt(400.0);
    double     wmax = max_abs_of(nb_module_tensor(lin, "weight")), bmax = max_abs_of(nb_module_tensor(lin, "bias"));
    NBT_CHECK(wmax <= bound && wmax > 0.99 * bound);
    NBT_CHECK(bmax <= bound && bmax > 0.9 * bound);
    nb_module_free(lin);

    nb_module *conv = nb_conv2d_new(6, 12, 3, 5, NB_CONV_OPTS(.groups = 2), true);
    NBT_CHECK(nb_ndim(nb_module_tensor(conv, "weight")) == 4 && nb_size(nb_module_tensor(conv, "weight"), 1) == 3);
    bound = 1.0 / sqrt(3.0 * 3 * 5); /* fan_in = in / groups * kh * kw */
    wmax  = max_abs_of(nb_module_tensor(conv, "weight"));
    bmax  = max_abs_of(nb_module_tensor(conv, "bias"));
    NBT_CHECK(wmax <= bound && wmax > 0.95 * bound);
    NBT_CHECK(bmax <= bound && bmax > 0.5 * bound);
    nb_module_free(conv);

    nb_module *emb = nb_embedding_new(200, 50);
    nb_tensor *w   = nb_module_tensor(emb, "weight");
    nb_tensor *mean = nb_mean(w), *std = nb_std(w, 1);
    NBT_CHECK(fabs(nb_item(mean)) < 0.05 && fabs(nb_item(std) - 1.0) < 0.03);
    nb_free(mean), nb_free(std);
    nb_module_free(emb);

    nb_module *ln = nb_layer_norm_new(NB_SHAPE(2, 3), NB_NORM_OPTS());
    NBT_CHECK_TENSOR(nb_module_tensor(ln, "weight"), NB_SHAPE(2, 3), 0, 1, 1, 1, 1, 1, 1);
    NBT_CHECK_TENSOR(nb_module_tensor(ln, "bias"), NB_SHAPE(2, 3), 0, 0, 0, 0, 0, 0, 0);
    nb_module_free(ln);

    /* Zero-sized layers: nothing to draw, a zero bias bound. */
    nb_module *empty = nb_linear_new(0, 3, true);
    NBT_CHECK_TENSOR(nb_module_tensor(empty, "bias"), NB_SHAPE(3), 0, 0, 0, 0);
    nb_module_free(empty);
}

static void test_parameter_free_layers(void)
{
    float      xv[6] = { -1, 0, 2, -3, 4, 0.5f };
    nb_tensor *x     = nb_from_data(xv, NB_SHAPE(2, 3), NB_OPTS());
    struct {
        nb_module  *m;
        nb_tensor  *expected;
        const char *type;
    } cases[] = {
        { nb_relu_new(), nb_relu(x), "ReLU" },
        { nb_gelu_new(false), nb_gelu(x, false), "GELU" },
        { nb_gelu_new(true), nb_gelu(x, true), "GELU" },
        { nb_tanh_new(), nb_tanh(x), "Tanh" },
        { nb_sigmoid_new(), nb_sigmoid(x), "Sigmoid" },
        { nb_silu_new(), nb_silu(x), "SiLU" },
        { nb_softmax_new(-1), nb_softmax(x, -1), "Softmax" },
        { nb_softmax_new(0), nb_softmax(x, 0), "Softmax" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        nb_tensor *y = nb_module_forward(cases[i].m, x);
        NBT_CHECK(y != NULL && max_abs_diff(y, cases[i].expected) == 0.0);
        NBT_CHECK(strcmp(nb_module_type(cases[i].m), cases[i].type) == 0);
        NBT_CHECK(nb_module_parameters(cases[i].m, NULL, NULL, 0) == 0);
        nb_free(y);
        nb_free(cases[i].expected);
        nb_module_free(cases[i].m);
    }
    NBT_CHECK_TENSOR(x, NB_SHAPE(2, 3), 0, -1, 0, 2, -3, 4, 0.5); /* inputs are borrowed */

    /* Flatten(1, -1) and Flatten(0, 1). */
    nb_tensor *x4 = nb_arange(0, 24, 1, NB_OPTS());
    nb_tensor *x4d = nb_reshape(x4, NB_SHAPE(2, 3, 2, 2));
    nb_module *flat = nb_flatten_new(1, -1), *flat01 = nb_flatten_new(0, 1);
    nb_tensor *f1 = nb_module_forward(flat, x4d), *f2 = nb_module_forward(flat01, x4d);
    NBT_CHECK(nb_ndim(f1) == 2 && nb_size(f1, 1) == 12 && nb_ndim(f2) == 3 && nb_size(f2, 0) == 6);
    nb_free(f1), nb_free(f2);

    /* Pools on (1, 1, 4, 4) = 0..15: 2x2 windows. */
    nb_tensor *img = nb_reshape(x4, NB_SHAPE(1, 1, 4, 6));
    nb_tensor *sq  = nb_narrow(img, 3, 0, 4); /* a non-contiguous (1, 1, 4, 4) */
    nb_module *maxp = nb_max_pool2d_new(NB_POOL_OPTS(.kernel = { 2, 2 }));
    nb_module *avgp = nb_avg_pool2d_new(NB_POOL_OPTS(.kernel = { 2, 2 }, .stride = { 2, 2 }));
    nb_tensor *pm = nb_module_forward(maxp, sq), *pa = nb_module_forward(avgp, sq);
    NBT_CHECK_TENSOR(pm, NB_SHAPE(1, 1, 2, 2), 0, 7, 9, 19, 21);
    NBT_CHECK_TENSOR(pa, NB_SHAPE(1, 1, 2, 2), 1e-6, 3.5, 5.5, 15.5, 17.5);
    NBT_CHECK(strcmp(nb_module_type(maxp), "MaxPool2d") == 0 && strcmp(nb_module_type(avgp), "AvgPool2d") == 0);
    nb_free(pm), nb_free(pa), nb_free(img), nb_free(sq);
    nb_module_free(maxp), nb_module_free(avgp);
    nb_module_free(flat), nb_module_free(flat01);
    nb_free(x4d), nb_free(x4), nb_free(x);
}

static void test_layer_norm_and_embedding(void)
{
    nb_module *ln    = nb_layer_norm_new(NB_SHAPE(4), NB_NORM_OPTS());
    float      xv[8] = { 1, 2, 3, 4, -2, -2, 2, 2 };
    nb_tensor *x     = nb_from_data(xv, NB_SHAPE(2, 4), NB_OPTS());
    nb_tensor *y     = nb_module_forward(ln, x);
    double     s     = 1.0 / sqrt(1.25);
    NBT_CHECK_TENSOR(y, NB_SHAPE(2, 4), 1e-5, -1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s, -1, -1, 1, 1);
    nb_free(y), nb_free(x);
    nb_module_free(ln);

    nb_module *emb = nb_embedding_new(5, 3);
    nb_tensor *w   = nb_module_tensor(emb, "weight");
    nb_tensor *idx = nb_from_data((int64_t[]){ 4, 0, 4 }, NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *e   = nb_module_forward(emb, idx);
    nb_tensor *r4 = nb_select(w, 0, 4), *r0 = nb_select(w, 0, 0);
    nb_tensor *e0 = nb_select(e, 0, 0), *e1 = nb_select(e, 0, 1), *e2 = nb_select(e, 0, 2);
    NBT_CHECK(max_abs_diff(e0, r4) == 0 && max_abs_diff(e1, r0) == 0 && max_abs_diff(e2, r4) == 0);
    nb_free(r4), nb_free(r0), nb_free(e0), nb_free(e1), nb_free(e2), nb_free(e), nb_free(idx);
    nb_module_free(emb);
}

/* Gradients reach the parameters through a module; zero_grad clears them. */
static void test_backward_and_zero_grad(void)
{
    nb_manual_seed(31);
    nb_module *layers[3] = { nb_linear_new(3, 4, true), nb_tanh_new(), nb_linear_new(4, 1, true) };
    nb_module *net       = nb_sequential_new(layers, 3);
    nb_tensor *x         = nb_randn(NB_SHAPE(5, 3), NB_OPTS());
    nb_scope_begin();
    nb_tensor *loss = nb_sum(nb_module_forward(net, x));
    NBT_CHECK(nb_backward(loss) == NB_OK);
    nb_scope_end();
    nb_tensor *params[4];
    NBT_CHECK(nb_module_parameters(net, params, NULL, 4) == 4);
    for (int i = 0; i < 4; i++) NBT_CHECK(nb_grad(params[i]) != NULL && nb_is_leaf(params[i]));
    /* d loss / d bias of the last layer = batch size. */
    NBT_CHECK_TENSOR(nb_grad(nb_module_tensor(net, "2.bias")), NB_SHAPE(1), 1e-6, 5);
    nb_module_zero_grad(net);
    for (int i = 0; i < 4; i++) NBT_CHECK(nb_grad(params[i]) == NULL);
    nb_free(x);
    nb_module_free(net);
}

/* A module moves as a whole, keeping its handles; a move that cannot
 * happen (no such device) leaves it as it was. */
static void test_module_moves(void)
{
    nb_manual_seed(32);
    nb_module *layers[2] = { nb_linear_new(3, 4, true), nb_batch_norm1d_new(4, NB_NORM_OPTS()) };
    nb_module *net       = nb_sequential_new(layers, 2);
    nb_tensor *tensors[6];
    NBT_CHECK(nb_module_parameters(net, tensors, NULL, 4) == 4);
    NBT_CHECK(nb_module_buffers(net, tensors + 4, NULL, 2) >= 2);
    const void *before = nb_data(tensors[0]);
    double      first  = ((const float *)before)[0];
    NBT_CHECK(nb_module_to(net, NB_DEVICE_CPU) == NB_OK);
    NBT_CHECK(nb_data(tensors[0]) == before); /* already there: nothing moved */
    NBT_CHECK(nb_module_to(net, NB_DEVICE_CUDA(nb_cuda_device_count())) == NB_ERR_DEVICE);
    nb_clear_error();
    for (int i = 0; i < 6; i++) NBT_CHECK(nb_device_of(tensors[i]).type == NB_CPU);
    NBT_CHECK(nb_data(tensors[0]) == before && ((const float *)nb_data(tensors[0]))[0] == first);
    if (nb_cuda_is_available()) {
        NBT_CHECK(nb_module_to(net, NB_DEVICE_CUDA(0)) == NB_OK);
        for (int i = 0; i < 6; i++) NBT_CHECK(nb_device_of(tensors[i]).type == NB_CUDA);
        NBT_CHECK(nb_module_to(net, NB_DEVICE_CPU) == NB_OK);
        NBT_CHECK(nb_device_of(tensors[0]).type == NB_CPU && ((const float *)nb_data(tensors[0]))[0] == first);
    }
    nb_module_free(net);
}

/* An empty Sequential is the identity. */
static void test_empty_sequential(void)
{
    nb_module *seq = nb_sequential_new(NULL, 0);
    nb_tensor *x   = nb_arange(0, 3, 1, NB_OPTS());
    nb_tensor *y   = nb_module_forward(seq, x);
    NBT_CHECK_TENSOR(y, NB_SHAPE(3), 0, 0, 1, 2);
    nb_free(y), nb_free(x);
    nb_module_free(seq);
}

/* ------------------------------------------------------------------------ */
/* Ownership                                                                 */
/* ------------------------------------------------------------------------ */

static int user_frees;
static void count_free(void *user)
{
    (void)user;
    user_frees++;
}

/* Parameters made inside a scope outlive it; freeing the module frees
 * every tensor it owns (the live count returns to where it started, which
 * NBT_RUN checks), and the user data once. */
static void test_ownership(void)
{
    int64_t start = nb_live_tensors();
    nb_scope_begin();
    nb_module *m = make_cnn();
    nb_module *custom = nb_module_new("Holder", NULL, &user_frees, count_free);
    nb_module_add_child(custom, "net", m);
    nb_module_add_parameter(custom, "scale", nb_ones(NB_SCALAR_SHAPE, NB_OPTS()));
    nb_module_add_buffer(custom, "steps", nb_zeros(NB_SHAPE(1), NB_OPTS(.dtype = NB_INT64)));
    nb_scope_end();
    NBT_CHECK(nb_live_tensors() == start + 6 + 3 + 2);
    NBT_CHECK_TENSOR(nb_module_tensor(custom, "net.1.running_var"), NB_SHAPE(8), 0, 1, 1, 1, 1, 1, 1, 1, 1);
    NBT_CHECK(nb_requires_grad(nb_module_tensor(custom, "scale")) && !nb_requires_grad(nb_module_tensor(custom, "steps")));

    /* A non-leaf tensor becomes a leaf parameter (as nn.Parameter(t)). */
    nb_tensor *leaf = nb_ones(NB_SHAPE(2), NB_OPTS(.requires_grad = true));
    NBT_CHECK(nb_module_add_parameter(custom, "derived", nb_mul_scalar(leaf, 2.0)) == NB_OK);
    nb_tensor *derived = nb_module_tensor(custom, "derived");
    NBT_CHECK(nb_is_leaf(derived) && nb_requires_grad(derived));
    NBT_CHECK_TENSOR(derived, NB_SHAPE(2), 0, 2, 2);
    nb_free(leaf);

    /* Freeing a child on its own unhooks it from its parent. */
    nb_module_free(nb_module_child(custom, "net"));
    NBT_CHECK(nb_module_parameters(custom, NULL, NULL, 0) == 2);
    NBT_CHECK(nb_module_child(custom, "net") == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Holder has no child \"net\"");
    NBT_CHECK(nb_live_tensors() == start + 3);
    user_frees = 0;
    nb_module_free(custom);
    NBT_CHECK(user_frees == 1);
    NBT_CHECK(nb_live_tensors() == start);
    nb_module_free(NULL);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static nb_tensor *null_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self, (void)x, (void)user;
    return NULL;
}

static void test_registration_errors(void)
{
    int64_t    start = nb_live_tensors();
    nb_module *m     = nb_module_new("Net", NULL, NULL, NULL);
    NBT_CHECK(nb_module_add_parameter(m, "w", nb_zeros(NB_SHAPE(2), NB_OPTS())) == NB_OK);

    /* Each failure takes the tensor over (frees it): no leak. */
    NBT_CHECK(nb_module_add_parameter(m, "w", nb_zeros(NB_SHAPE(2), NB_OPTS())) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_parameter: Net already has a parameter named \"w\"");
    NBT_CHECK(nb_module_add_buffer(m, "w", nb_zeros(NB_SHAPE(2), NB_OPTS())) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_buffer: Net already has a parameter named \"w\"");
    NBT_CHECK(nb_module_add_child(m, "w", nb_relu_new()) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_child: Net already has a parameter named \"w\"");
    NBT_CHECK(nb_module_add_buffer(m, "b", nb_zeros(NB_SHAPE(2), NB_OPTS())) == NB_OK);
    NBT_CHECK(nb_module_add_parameter(m, "b", nb_zeros(NB_SHAPE(2), NB_OPTS())) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Net already has a buffer named \"b\"");
    NBT_CHECK(nb_module_add_child(m, "c", nb_relu_new()) == NB_OK);
    NBT_CHECK(nb_module_add_buffer(m, "c", nb_zeros(NB_SHAPE(2), NB_OPTS())) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Net already has a child named \"c\"");
    NBT_CHECK(nb_module_add_parameter(m, "a.b", nb_zeros(NB_SHAPE(2), NB_OPTS())) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_parameter: name \"a.b\" contains \".\"");
    NBT_CHECK(nb_module_add_child(m, "x.y", nb_relu_new()) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_child: name \"x.y\" contains \".\"");
    NBT_CHECK(nb_module_add_buffer(m, "", nb_zeros(NB_SHAPE(2), NB_OPTS())) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_buffer: the name is empty");
    NBT_CHECK(nb_module_add_parameter(m, NULL, nb_zeros(NB_SHAPE(2), NB_OPTS())) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_parameter: argument 'name' is NULL");
    NBT_CHECK(nb_module_add_parameter(NULL, "w", nb_zeros(NB_SHAPE(2), NB_OPTS())) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_parameter: argument 'm' is NULL");
    NBT_CHECK(nb_module_add_parameter(m, "i", nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64))) == NB_ERR_DTYPE);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_module_add_parameter: parameter \"i\" is int64; parameters must be floating point");
    NBT_CHECK(nb_module_add_parameter(m, "t", NULL) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_parameter: argument 't' is NULL");
    /* A NULL from a failed op keeps that op's error. */
    NBT_CHECK(nb_module_add_parameter(m, "t", nb_zeros(NB_SHAPE(-1), NB_OPTS())) == NB_ERR_ARG);
    NBT_CHECK(nb_last_status() != NB_OK && strstr(nb_last_error(), "nb_zeros") != NULL);
    nb_clear_error();

    /* The same tensor twice would be freed twice: refused, left alone. */
    nb_tensor *w = nb_module_tensor(m, "w");
    NBT_CHECK(nb_module_add_buffer(m, "again", w) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_buffer: the tensor given for \"again\" already belongs to this module tree");
    NBT_CHECK(nb_module_add_parameter(nb_module_child(m, "c"), "w2", w) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "already belongs to this module tree");
    NBT_CHECK(nb_module_tensor(m, "w") == w);

    /* Children: one parent each, no cycles, NULL keeps the first error. */
    nb_module *other = nb_module_new("Other", NULL, NULL, NULL);
    NBT_CHECK(nb_module_add_child(other, "c", nb_module_child(m, "c")) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_child: the ReLU given for \"c\" is already a child of a Net");
    NBT_CHECK(nb_module_add_child(other, "inner", nb_relu_new()) == NB_OK);
    NBT_CHECK(nb_module_add_child(nb_module_child(other, "inner"), "loop", other) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_child: adding Other \"loop\" would make a module its own descendant");
    NBT_CHECK(nb_module_add_child(other, "self", other) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "its own descendant");
    NBT_CHECK(nb_module_add_child(other, "bad", nb_linear_new(-1, 2, true)) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_linear_new: in_features and out_features must be >= 0 (got -1, 2)");
    NBT_CHECK(nb_module_add_child(NULL, "x", nb_relu_new()) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_child: argument 'm' is NULL");
    NBT_CHECK(nb_module_add_child(other, NULL, nb_relu_new()) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_add_child: argument 'name' is NULL");
    nb_module_free(other);
    nb_module_free(m);
    NBT_CHECK(nb_live_tensors() == start);
}

static void test_lookup_and_forward_errors(void)
{
    nb_module *m = make_nested();
    NBT_CHECK(nb_module_child(m, "features.9") == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_child: Sequential has no child \"9\" (looking up \"features.9\")");
    NBT_CHECK(nb_module_child(m, "") == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_child: the name is empty");
    NBT_CHECK(nb_module_child(m, "features..0") == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Sequential has no child \"\"");
    NBT_CHECK(nb_module_tensor(m, "features.3.bias") == NULL); /* bias=False */
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_tensor: Conv2d has no parameter or buffer \"bias\" (looking up "
                                "\"features.3.bias\")");
    NBT_CHECK(nb_module_tensor(m, "head.weight") == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_tensor: Nested has no child \"head\"");
    NBT_CHECK(nb_module_tensor(m, "features") == NULL); /* a module, not a tensor */
    NBT_CHECK_ERROR(NB_ERR_ARG, "Nested has no parameter or buffer \"features\"");
    NBT_CHECK(nb_module_tensor(m, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_tensor: argument 'path' is NULL");
    NBT_CHECK(nb_module_tensor(NULL, "w") == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_tensor: argument 'm' is NULL");
    NBT_CHECK(nb_module_parameters(m, NULL, NULL, -1) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_parameters: capacity is negative (-1)");
    NBT_CHECK(nb_module_buffers(NULL, NULL, NULL, 0) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_buffers: argument 'm' is NULL");
    NBT_CHECK(nb_module_parameter_numel(NULL) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_parameter_numel: argument 'm' is NULL");
    NBT_CHECK(nb_module_type(NULL) == NULL && !nb_module_is_training(NULL));
    nb_module_train(NULL, true);
    nb_module_zero_grad(NULL);

    /* Forward errors: NULL input, wrong rank for batch norm, an op's error
     * from inside a Sequential, no forward function, a forward that fails
     * silently. */
    nb_tensor *bad = nb_zeros(NB_SHAPE(2, 3, 8, 8), NB_OPTS());
    NBT_CHECK(nb_module_forward(m, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_forward: argument 'x' is NULL");
    NBT_CHECK(nb_module_forward(NULL, bad) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_forward: argument 'm' is NULL");
    NBT_CHECK(nb_module_forward(m, bad) == NULL); /* 8x8 gives features of 32 x 1 x 1, not 288 */
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_linear");
    nb_module *bn = nb_batch_norm2d_new(3, NB_NORM_OPTS());
    nb_tensor *x3 = nb_zeros(NB_SHAPE(2, 3, 8), NB_OPTS());
    NBT_CHECK(nb_module_forward(bn, x3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_module_forward: BatchNorm2d expects 4-d input, got shape [2, 3, 8]");
    NBT_CHECK_TENSOR(nb_module_tensor(bn, "num_batches_tracked"), NB_SCALAR_SHAPE, 0, 0);
    nb_module *bn1 = nb_batch_norm1d_new(3, NB_NORM_OPTS());
    NBT_CHECK(nb_module_forward(bn1, bad) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_module_forward: BatchNorm1d expects 2-d or 3-d input, got shape [2, 3, 8, 8]");
    nb_module *holder = nb_module_new(NULL, NULL, NULL, NULL);
    NBT_CHECK(strcmp(nb_module_type(holder), "Module") == 0);
    NBT_CHECK(nb_module_forward(holder, bad) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_module_forward: the Module module has no forward function");
    nb_module *silent = nb_module_new("Silent", null_forward, NULL, NULL);
    NBT_CHECK(nb_module_forward(silent, bad) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_module_forward: the forward of Silent returned NULL without recording an error");
    nb_free(x3), nb_free(bad);
    nb_module_free(bn), nb_module_free(bn1), nb_module_free(holder), nb_module_free(silent);
    nb_module_free(m);
}

static void test_constructor_errors(void)
{
    int64_t start = nb_live_tensors();
    NBT_CHECK(nb_linear_new(3, -2, true) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_linear_new: in_features and out_features must be >= 0 (got 3, -2)");
    NBT_CHECK(nb_conv2d_new(3, 4, 3, 3, NB_CONV_OPTS(.groups = 2), true) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_conv2d_new: in_channels (3) and out_channels (4) must be divisible by groups (2)");
    NBT_CHECK(nb_conv2d_new(4, 4, 3, 3, NB_CONV_OPTS(.groups = -1), true) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_conv2d_new: groups must be a positive integer (got -1)");
    NBT_CHECK(nb_conv2d_new(4, 4, 0, 3, NB_CONV_OPTS(), true) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_conv2d_new: the kernel size must be positive (got 0 x 3)");
    NBT_CHECK(nb_conv2d_new(-4, 4, 3, 3, NB_CONV_OPTS(), true) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_conv2d_new: in_channels and out_channels must be >= 0 (got -4, 4)");
    NBT_CHECK(nb_batch_norm1d_new(-1, NB_NORM_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_batch_norm1d_new: features must be >= 0 (got -1)");
    NBT_CHECK(nb_batch_norm2d_new(3, NB_NORM_OPTS(.eps = -1e-5)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_batch_norm2d_new: eps must be >= 0 and momentum in [0, 1] (got eps=-1e-05, momentum=0.1)");
    NBT_CHECK(nb_batch_norm2d_new(3, NB_NORM_OPTS(.momentum = NAN)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "momentum=nan");
    NBT_CHECK(nb_layer_norm_new(NB_SCALAR_SHAPE, NB_NORM_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_layer_norm_new: normalized_shape needs at least one dimension");
    NBT_CHECK(nb_layer_norm_new(NB_SHAPE(3, -1), NB_NORM_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_layer_norm_new");
    NBT_CHECK(nb_layer_norm_new(NB_SHAPE(3), NB_NORM_OPTS(.eps = NAN)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_layer_norm_new: eps must be >= 0 (got nan)");
    NBT_CHECK(nb_dropout_new(1.5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_dropout_new: dropout probability has to be between 0 and 1, but got 1.5");
    NBT_CHECK(nb_embedding_new(10, -3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_embedding_new: num_embeddings and embedding_dim must be >= 0 (got 10, -3)");
    NBT_CHECK(nb_max_pool2d_new(NB_POOL_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_max_pool2d_new: the kernel size must be positive (got 0 x 0)");
    NBT_CHECK(nb_avg_pool2d_new(NB_POOL_OPTS(.kernel = { 2, 2 }, .padding = { -1, 0 })) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_avg_pool2d_new: stride, padding and dilation must be >= 0");

    /* Sequential takes its modules over also when it fails: a NULL entry
     * (a failed constructor) keeps that constructor's error, and the other
     * modules are freed (the live count says so). */
    nb_module *mods[3] = { nb_linear_new(2, 2, true), nb_dropout_new(2.0), nb_linear_new(2, 2, true) };
    NBT_CHECK(nb_sequential_new(mods, 3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_dropout_new");
    nb_module *mods2[2] = { nb_relu_new(), NULL };
    NBT_CHECK(nb_sequential_new(mods2, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_sequential_new: argument 'modules[i]' is NULL");
    /* The same module twice: added once, the second refused, freed once. */
    nb_module *lin      = nb_linear_new(2, 2, true);
    nb_module *twice[3] = { lin, lin, nb_linear_new(2, 2, true) };
    NBT_CHECK(nb_sequential_new(twice, 3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "is already a child of a Sequential");
    NBT_CHECK(nb_sequential_new(NULL, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_sequential_new: argument 'modules' is NULL");
    NBT_CHECK(nb_sequential_new(mods, -1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_sequential_new: count is negative (-1)");
    NBT_CHECK(nb_live_tensors() == start);
}

int main(void)
{
    NBT_RUN(test_cnn_state_dict);
    NBT_RUN(test_custom_module_state_dict);
    NBT_RUN(test_nested_state_dict_and_paths);
    NBT_RUN(test_names_after_growth);
    NBT_RUN(test_train_eval_propagation);
    NBT_RUN(test_dropout_modes);
    NBT_RUN(test_batch_norm_modes);
    NBT_RUN(test_sequential_in_place);
    NBT_RUN(test_sequential_pools_before_relu);
    NBT_RUN(test_linear);
    NBT_RUN(test_default_init);
    NBT_RUN(test_parameter_free_layers);
    NBT_RUN(test_layer_norm_and_embedding);
    NBT_RUN(test_backward_and_zero_grad);
    NBT_RUN(test_module_moves);
    NBT_RUN(test_empty_sequential);
    NBT_RUN(test_ownership);
    NBT_RUN(test_registration_errors);
    NBT_RUN(test_lookup_and_forward_errors);
    NBT_RUN(test_constructor_errors);
    return nbt_finish();
}
