/*
 * misuse_nn.h — the misuse cases of include/nabla/nn.h (functional layers
 * and losses, modules, optimizers and schedulers, datasets and loaders),
 * included by test_misuse.c where the cases of nabla.h end: it uses that
 * file's fixtures and check macros, and is not compiled on its own.
 */
/* ------------------------------------------------------------------------ */
/* nn: functional layers and losses                                         */
/* ------------------------------------------------------------------------ */

static void run_functional(void)
{
    nb_tensor *w   = nb_ones(NB_SHAPE(4, 3), NB_OPTS());
    nb_tensor *x4  = nb_ones(NB_SHAPE(2, 3, 5, 5), NB_OPTS());
    nb_tensor *k33 = nb_ones(NB_SHAPE(4, 3, 3, 3), NB_OPTS());
    begin("nb_linear");
    FAILS("NULL x", nb_linear(NULL, w, NULL));
    FAILS("NULL weight", nb_linear(f, NULL, NULL));
    FREED("freed bias", nb_linear(f, w, fresh_gone()));
    FAILS("in features differ", nb_linear(f, nb_ones(NB_SHAPE(4, 2), NB_OPTS()), NULL));
    FAILS("bias of the wrong size", nb_linear(f, w, nb_ones(NB_SHAPE(3), NB_OPTS())));
    FAILS("int64 x", nb_linear(i64, w, NULL));
    begin("nb_conv2d");
    FAILS("NULL x", nb_conv2d(NULL, k33, NULL, NB_CONV_OPTS()));
    FAILS("NULL weight", nb_conv2d(x4, NULL, NULL, NB_CONV_OPTS()));
    FREED("freed x", nb_conv2d(fresh_gone(), k33, NULL, NB_CONV_OPTS()));
    FAILS("2-d x", nb_conv2d(f, k33, NULL, NB_CONV_OPTS()));
    FAILS("channels differ", nb_conv2d(f4, k33, NULL, NB_CONV_OPTS()));
    FAILS("stride -1", nb_conv2d(x4, k33, NULL, NB_CONV_OPTS(.stride = { -1, 1 })));
    FAILS("padding -1", nb_conv2d(x4, k33, NULL, NB_CONV_OPTS(.padding = { -1, 0 })));
    FAILS("dilation -1", nb_conv2d(x4, k33, NULL, NB_CONV_OPTS(.dilation = { -1, 1 })));
    FAILS("groups 2 of 3 channels", nb_conv2d(x4, k33, NULL, NB_CONV_OPTS(.groups = 2)));
    FAILS("groups -1", nb_conv2d(x4, k33, NULL, NB_CONV_OPTS(.groups = -1)));
    FAILS("kernel larger than x", nb_conv2d(x4, nb_ones(NB_SHAPE(4, 3, 9, 9), NB_OPTS()), NULL, NB_CONV_OPTS()));
    FAILS("padding INT64_MAX", nb_conv2d(x4, k33, NULL, NB_CONV_OPTS(.padding = { INT64_MAX, 0 })));
    FAILS("dilation INT64_MAX", nb_conv2d(x4, k33, NULL, NB_CONV_OPTS(.dilation = { INT64_MAX, 1 })));
    FAILS("bias of the wrong size", nb_conv2d(x4, k33, nb_ones(NB_SHAPE(3), NB_OPTS()), NB_CONV_OPTS()));
    begin("nb_conv_transpose2d");
    nb_tensor *kt = nb_ones(NB_SHAPE(3, 4, 3, 3), NB_OPTS());
    FAILS("NULL x", nb_conv_transpose2d(NULL, kt, NULL, NB_CONV_OPTS()));
    FREED("freed weight", nb_conv_transpose2d(x4, fresh_gone(), NULL, NB_CONV_OPTS()));
    FAILS("channels differ", nb_conv_transpose2d(f4, kt, NULL, NB_CONV_OPTS()));
    FAILS("output_padding >= stride", nb_conv_transpose2d(x4, kt, NULL, NB_CONV_OPTS(.output_padding = { 2, 2 })));
    FAILS("stride INT64_MAX", nb_conv_transpose2d(x4, kt, NULL, NB_CONV_OPTS(.stride = { INT64_MAX, 1 })));
    begin("nb_max_pool2d");
    nb_tensor *indices = NULL;
    FAILS("NULL", nb_max_pool2d(NULL, NB_POOL_OPTS(.kernel = { 2, 2 }), &indices));
    FREED("freed", nb_max_pool2d(fresh_gone(), NB_POOL_OPTS(.kernel = { 2, 2 }), NULL));
    FAILS("no kernel", nb_max_pool2d(x4, NB_POOL_OPTS(), NULL));
    FAILS("kernel -2", nb_max_pool2d(x4, NB_POOL_OPTS(.kernel = { -2, 2 }), NULL));
    FAILS("padding past half the kernel", nb_max_pool2d(x4, NB_POOL_OPTS(.kernel = { 2, 2 }, .padding = { 2, 2 }), NULL));
    FAILS("kernel INT64_MAX", nb_max_pool2d(x4, NB_POOL_OPTS(.kernel = { INT64_MAX, 2 }), NULL));
    FAILS("int64", nb_max_pool2d(nb_ones(NB_SHAPE(1, 1, 4, 4), NB_OPTS(.dtype = NB_INT64)), NB_POOL_OPTS(.kernel = { 2, 2 }), NULL));
    FAILS("2-d", nb_max_pool2d(f, NB_POOL_OPTS(.kernel = { 2, 2 }), NULL));
    begin("nb_avg_pool2d");
    FAILS("NULL", nb_avg_pool2d(NULL, NB_POOL_OPTS(.kernel = { 2, 2 })));
    FREED("freed", nb_avg_pool2d(fresh_gone(), NB_POOL_OPTS(.kernel = { 2, 2 })));
    FAILS("no kernel", nb_avg_pool2d(x4, NB_POOL_OPTS()));
    FAILS("dilation 2", nb_avg_pool2d(x4, NB_POOL_OPTS(.kernel = { 2, 2 }, .dilation = { 2, 2 })));
    FAILS("stride -1", nb_avg_pool2d(x4, NB_POOL_OPTS(.kernel = { 2, 2 }, .stride = { -1, 1 })));
    begin("nb_adaptive_avg_pool2d");
    FAILS("NULL", nb_adaptive_avg_pool2d(NULL, 1, 1));
    FREED("freed", nb_adaptive_avg_pool2d(fresh_gone(), 1, 1));
    ALLOWED("size 0 (an empty result, as torch)", nb_adaptive_avg_pool2d(x4, 0, 1));
    FAILS("size -1", nb_adaptive_avg_pool2d(x4, 1, -1));
    FAILS("size 2^40 x 2^40", nb_adaptive_avg_pool2d(x4, (int64_t)1 << 40, (int64_t)1 << 40));
    FAILS("2-d", nb_adaptive_avg_pool2d(f, 1, 1));
    begin("nb_batch_norm");
    nb_tensor *c3 = nb_zeros(NB_SHAPE(3), NB_OPTS());
    FAILS("NULL x", nb_batch_norm(NULL, c3, c3, NULL, NULL, true, 0.1, 1e-5));
    FREED("freed running mean", nb_batch_norm(x4, fresh_gone(), c3, NULL, NULL, true, 0.1, 1e-5));
    FAILS("running mean of the wrong size", nb_batch_norm(x4, nb_zeros(NB_SHAPE(4), NB_OPTS()), c3, NULL, NULL, true, 0.1, 1e-5));
    FAILS("eval without running statistics", nb_batch_norm(x4, NULL, NULL, NULL, NULL, false, 0.1, 1e-5));
    FAILS("weight of the wrong size", nb_batch_norm(x4, NULL, NULL, nb_ones(NB_SHAPE(2), NB_OPTS()), NULL, true, 0.1, 1e-5));
    FAILS("1-d x", nb_batch_norm(nb_ones(NB_SHAPE(3), NB_OPTS()), NULL, NULL, NULL, NULL, true, 0.1, 1e-5));
    begin("nb_layer_norm");
    FAILS("NULL x", nb_layer_norm(NULL, NB_SHAPE(3), NULL, NULL, 1e-5));
    FREED("freed", nb_layer_norm(fresh_gone(), NB_SHAPE(3), NULL, NULL, 1e-5));
    FAILS("shape that is not x's tail", nb_layer_norm(f, NB_SHAPE(4), NULL, NULL, 1e-5));
    for (int j = 0; j < BAD_SHAPES; j++) FAILS(nth("bad shape", j), nb_layer_norm(f, bad_shapes[j], NULL, NULL, 1e-5));
    FAILS("weight of the wrong shape", nb_layer_norm(f, NB_SHAPE(3), nb_ones(NB_SHAPE(4), NB_OPTS()), NULL, 1e-5));
    FAILS("int64", nb_layer_norm(i64, NB_SHAPE(3), NULL, NULL, 1e-5));
    begin("nb_group_norm");
    FAILS("NULL x", nb_group_norm(NULL, 1, NULL, NULL, 1e-5));
    FREED("freed", nb_group_norm(fresh_gone(), 1, NULL, NULL, 1e-5));
    FAILS("groups 0", nb_group_norm(x4, 0, NULL, NULL, 1e-5));
    FAILS("groups -1", nb_group_norm(x4, -1, NULL, NULL, 1e-5));
    FAILS("3 channels in 2 groups", nb_group_norm(x4, 2, NULL, NULL, 1e-5));
    begin("nb_dropout");
    FAILS("NULL", nb_dropout(NULL, 0.5, true));
    FREED("freed", nb_dropout(fresh_gone(), 0.5, true));
    FAILS("p -0.1", nb_dropout(f, -0.1, true));
    FAILS("p 1.5", nb_dropout(f, 1.5, true));
    FAILS("p NaN", nb_dropout(f, NAN, true));
    begin("nb_embedding");
    FAILS("NULL indices", nb_embedding(NULL, w));
    FAILS("NULL weight", nb_embedding(idx, NULL));
    FREED("freed weight", nb_embedding(idx, fresh_gone()));
    FAILS("float indices", nb_embedding(f, w));
    FAILS("index past the table", nb_embedding(nb_full(NB_SHAPE(2), 4, NB_OPTS(.dtype = NB_INT64)), w));
    FAILS("negative index", nb_embedding(nb_full(NB_SHAPE(2), -1, NB_OPTS(.dtype = NB_INT64)), w));
    FAILS("1-d weight", nb_embedding(idx, nb_ones(NB_SHAPE(4), NB_OPTS())));
    begin("nb_pad");
    int64_t pads[4] = { 1, 1, 1, 1 };
    FAILS("NULL x", nb_pad(NULL, pads, 2, 0));
    FREED("freed", nb_pad(fresh_gone(), pads, 2, 0));
    FAILS("NULL pads", nb_pad(f, NULL, 2, 0));
    FAILS("odd count", nb_pad(f, pads, 3, 0));
    FAILS("count -2", nb_pad(f, pads, -2, 0));
    FAILS("more pads than dims", nb_pad(f, (int64_t[6]){ 0 }, 6, 0));
    FAILS("cropping past the size", nb_pad(f, (int64_t[2]){ -2, -2 }, 2, 0));
    FAILS("pad INT64_MAX", nb_pad(f, (int64_t[2]){ INT64_MAX, 1 }, 2, 0));
    FAILS("pad INT64_MIN", nb_pad(f, (int64_t[2]){ INT64_MIN, 0 }, 2, 0));
    FAILS("2^40 on two dims", nb_pad(f, (int64_t[4]){ (int64_t)1 << 40, 0, (int64_t)1 << 40, 0 }, 4, 0));
    FAILS("-1 into uint8", nb_pad(nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_UINT8)), pads, 2, -1));

    /* Losses. */
    typedef nb_tensor *(*loss_fn)(const nb_tensor *, const nb_tensor *, nb_reduction);
    static const struct {
        const char *name;
        loss_fn     fn;
    } losses[] = { { "nb_mse_loss", nb_mse_loss }, { "nb_l1_loss", nb_l1_loss } };
    for (int k = 0; k < 2; k++) {
        begin(losses[k].name);
        FAILS("NULL input", losses[k].fn(NULL, f, NB_REDUCTION_MEAN));
        FAILS("NULL target", losses[k].fn(f, NULL, NB_REDUCTION_MEAN));
        FREED("freed target", losses[k].fn(f, fresh_gone(), NB_REDUCTION_MEAN));
        FAILS("shapes differ", losses[k].fn(f, s, NB_REDUCTION_MEAN));
        FAILS("dtypes differ", losses[k].fn(f, d, NB_REDUCTION_MEAN));
        FAILS("int64", losses[k].fn(i64, i64, NB_REDUCTION_MEAN));
        FAILS("reduction 99", losses[k].fn(f, f, (nb_reduction)99));
        FAILS("batchmean", losses[k].fn(f, f, NB_REDUCTION_BATCHMEAN));
    }
    begin("nb_smooth_l1_loss");
    FAILS("NULL", nb_smooth_l1_loss(NULL, f, NB_REDUCTION_MEAN, 1));
    FREED("freed", nb_smooth_l1_loss(fresh_gone(), f, NB_REDUCTION_MEAN, 1));
    FAILS("beta -1", nb_smooth_l1_loss(f, f, NB_REDUCTION_MEAN, -1));
    FAILS("beta NaN", nb_smooth_l1_loss(f, f, NB_REDUCTION_MEAN, NAN));
    FAILS("reduction 99", nb_smooth_l1_loss(f, f, (nb_reduction)99, 1));
    nb_tensor *classes = nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64));
    typedef nb_tensor *(*ce_fn)(const nb_tensor *, const nb_tensor *, nb_cross_entropy_opts);
    static const struct {
        const char *name;
        ce_fn       fn;
    } ces[] = { { "nb_cross_entropy", nb_cross_entropy }, { "nb_nll_loss", nb_nll_loss } };
    for (int k = 0; k < 2; k++) {
        begin(ces[k].name);
        FAILS("NULL logits", ces[k].fn(NULL, classes, NB_CROSS_ENTROPY_OPTS()));
        FAILS("NULL target", ces[k].fn(f, NULL, NB_CROSS_ENTROPY_OPTS()));
        FREED("freed target", ces[k].fn(f, fresh_gone(), NB_CROSS_ENTROPY_OPTS()));
        FAILS("class 3 of 3", ces[k].fn(f, nb_full(NB_SHAPE(2), 3, NB_OPTS(.dtype = NB_INT64)), NB_CROSS_ENTROPY_OPTS()));
        FAILS("class -1", ces[k].fn(f, nb_full(NB_SHAPE(2), -1, NB_OPTS(.dtype = NB_INT64)), NB_CROSS_ENTROPY_OPTS()));
        FAILS("target of the wrong length", ces[k].fn(f, nb_zeros(NB_SHAPE(5), NB_OPTS(.dtype = NB_INT64)), NB_CROSS_ENTROPY_OPTS()));
        FAILS("int64 logits", ces[k].fn(i64, classes, NB_CROSS_ENTROPY_OPTS()));
        FAILS("reduction 99", ces[k].fn(f, classes, NB_CROSS_ENTROPY_OPTS(.reduction = (nb_reduction)99)));
        FAILS("weight of the wrong size", ces[k].fn(f, classes, NB_CROSS_ENTROPY_OPTS(.weight = w)));
        FREED("freed weight", ces[k].fn(f, classes, NB_CROSS_ENTROPY_OPTS(.weight = fresh_gone())));
        FAILS("0-d logits", ces[k].fn(s, classes, NB_CROSS_ENTROPY_OPTS()));
    }
    begin("nb_cross_entropy");
    FAILS("label smoothing 1.5", nb_cross_entropy(f, classes, NB_CROSS_ENTROPY_OPTS(.label_smoothing = 1.5)));
    FAILS("label smoothing NaN", nb_cross_entropy(f, classes, NB_CROSS_ENTROPY_OPTS(.label_smoothing = NAN)));
    begin("nb_binary_cross_entropy");
    nb_tensor *half = nb_full(NB_SHAPE(2, 3), 0.5, NB_OPTS());
    FAILS("NULL probs", nb_binary_cross_entropy(NULL, half, NULL, NB_REDUCTION_MEAN));
    FREED("freed target", nb_binary_cross_entropy(half, fresh_gone(), NULL, NB_REDUCTION_MEAN));
    FAILS("probs outside [0, 1]", nb_binary_cross_entropy(nb_full(NB_SHAPE(2, 3), 2, NB_OPTS()), half, NULL, NB_REDUCTION_MEAN));
    FAILS("NaN probs", nb_binary_cross_entropy(nb_full(NB_SHAPE(2, 3), NAN, NB_OPTS()), half, NULL, NB_REDUCTION_MEAN));
    FAILS("shapes differ", nb_binary_cross_entropy(half, s, NULL, NB_REDUCTION_MEAN));
    FAILS("weight that does not broadcast", nb_binary_cross_entropy(half, half, w, NB_REDUCTION_MEAN));
    begin("nb_binary_cross_entropy_with_logits");
    FAILS("NULL logits", nb_binary_cross_entropy_with_logits(NULL, half, NULL, NULL, NB_REDUCTION_MEAN));
    FREED("freed pos_weight", nb_binary_cross_entropy_with_logits(f, half, NULL, fresh_gone(), NB_REDUCTION_MEAN));
    FAILS("shapes differ", nb_binary_cross_entropy_with_logits(f, s, NULL, NULL, NB_REDUCTION_MEAN));
    FAILS("pos_weight of the wrong size", nb_binary_cross_entropy_with_logits(f, half, NULL, w, NB_REDUCTION_MEAN));
    FAILS("reduction 99", nb_binary_cross_entropy_with_logits(f, half, NULL, NULL, (nb_reduction)99));
    begin("nb_kl_div");
    FAILS("NULL input", nb_kl_div(NULL, half, NB_REDUCTION_BATCHMEAN, false));
    FREED("freed target", nb_kl_div(f, fresh_gone(), NB_REDUCTION_BATCHMEAN, false));
    FAILS("shapes differ", nb_kl_div(f, s, NB_REDUCTION_BATCHMEAN, false));
    FAILS("reduction 99", nb_kl_div(f, half, (nb_reduction)99, false));
}

/* ------------------------------------------------------------------------ */
/* nn: modules, init, optimizers, schedules, data                           */
/* ------------------------------------------------------------------------ */

static nb_tensor *identity_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self, (void)user;
    return nb_clone(x);
}

static void run_modules(void)
{
    begin("nb_linear_new");
    ALLOWED_M("in 0 (as torch)", nb_linear_new(0, 3, true));
    FAILS_M("out -1", nb_linear_new(3, -1, true));
    FAILS_M("2^40 x 2^40", nb_linear_new((int64_t)1 << 40, (int64_t)1 << 40, true));
    begin("nb_conv2d_new");
    ALLOWED_M("channels 0 (as torch)", nb_conv2d_new(0, 4, 3, 3, NB_CONV_OPTS(), true));
    FAILS_M("kernel -3", nb_conv2d_new(3, 4, -3, 3, NB_CONV_OPTS(), true));
    FAILS_M("groups 2 of 3 channels", nb_conv2d_new(3, 4, 3, 3, NB_CONV_OPTS(.groups = 2), true));
    nb_module *conv = nb_conv2d_new(3, 4, 3, 3, NB_CONV_OPTS(.stride = { -1, 1 }), true);
    ALLOWED("stride -1 (refused when run, as torch)", conv);
    if (conv) FAILS("stride -1, run", nb_module_forward(conv, nb_ones(NB_SHAPE(1, 3, 5, 5), NB_OPTS())));
    nb_module_free(conv);
    FAILS_M("2^31 x 2^31 x 9", nb_conv2d_new((int64_t)1 << 31, (int64_t)1 << 31, 3, 3, NB_CONV_OPTS(), false));
    begin("nb_batch_norm1d_new");
    ALLOWED_M("features 0 (as torch)", nb_batch_norm1d_new(0, NB_NORM_OPTS()));
    FAILS_M("eps -1", nb_batch_norm1d_new(3, NB_NORM_OPTS(.eps = -1)));
    begin("nb_batch_norm2d_new");
    FAILS_M("features -1", nb_batch_norm2d_new(-1, NB_NORM_OPTS()));
    FAILS_M("momentum NaN", nb_batch_norm2d_new(3, NB_NORM_OPTS(.momentum = NAN)));
    begin("nb_layer_norm_new");
    for (int j = 0; j < BAD_SHAPES; j++) FAILS(nth("bad shape", j), nb_layer_norm_new(bad_shapes[j], NB_NORM_OPTS()));
    begin("nb_dropout_new");
    FAILS_M("p 2", nb_dropout_new(2));
    FAILS_M("p NaN", nb_dropout_new(NAN));
    begin("nb_embedding_new");
    ALLOWED_M("num 0 (as torch)", nb_embedding_new(0, 4));
    FAILS_M("dim -4", nb_embedding_new(4, -4));
    begin("nb_flatten_new");
    nb_module *flatten = nb_flatten_new(3, 1);
    ALLOWED("start after end (refused when run, as torch)", flatten);
    if (flatten) FAILS("start after end, run", nb_module_forward(flatten, f4));
    nb_module_free(flatten);
    begin("nb_max_pool2d_new");
    FAILS_M("no kernel", nb_max_pool2d_new(NB_POOL_OPTS()));
    begin("nb_avg_pool2d_new");
    FAILS_M("kernel -1", nb_avg_pool2d_new(NB_POOL_OPTS(.kernel = { -1, 2 })));
    begin("nb_softmax_new");
    nb_module *softmax = nb_softmax_new(INT_MIN);
    ALLOWED("dim INT_MIN (checked when run)", softmax);
    if (softmax) FAILS("its forward", nb_module_forward(softmax, f));
    nb_module_free(softmax);
    begin("nb_sequential_new");
    FAILS_M("NULL list", nb_sequential_new(NULL, 2));
    nb_module *relu = nb_relu_new();
    FAILS_M("count -1", nb_sequential_new(&relu, -1));
    nb_module_free(relu); /* a count of -1 cannot say what to take over: freed here, or caught as freed */
    nb_clear_error();
    FAILS_M("a NULL entry", nb_sequential_new((nb_module *[]){ nb_relu_new(), NULL }, 2));
    nb_module *twice = nb_relu_new();
    FAILS_M("one module twice", nb_sequential_new((nb_module *[]){ twice, twice }, 2));

    begin("nb_module_new");
    nb_module *m = nb_module_new(NULL, identity_forward, NULL, NULL);
    ALLOWED("NULL type", m);
    begin("nb_module_add_parameter");
    FAILS_S("NULL module", nb_module_add_parameter(NULL, "w", nb_ones(NB_SHAPE(2), NB_OPTS())));
    FAILS_S("NULL name", nb_module_add_parameter(m, NULL, nb_ones(NB_SHAPE(2), NB_OPTS())));
    FAILS_S("empty name", nb_module_add_parameter(m, "", nb_ones(NB_SHAPE(2), NB_OPTS())));
    FAILS_S("dotted name", nb_module_add_parameter(m, "a.b", nb_ones(NB_SHAPE(2), NB_OPTS())));
    FAILS_S("NULL tensor", nb_module_add_parameter(m, "w", NULL));
    FAILS_S("int64", nb_module_add_parameter(m, "w", nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64))));
    FREED_S("freed", nb_module_add_parameter(m, "w", fresh_gone()));
    FAILS_S("twice the name", (nb_module_add_parameter(m, "p", nb_ones(NB_SHAPE(2), NB_OPTS())),
                               nb_module_add_parameter(m, "p", nb_ones(NB_SHAPE(2), NB_OPTS()))));
    nb_tensor *p = nb_module_tensor(m, "p");
    FAILS_S("a tensor already in it", nb_module_add_parameter(m, "q", p));
    begin("nb_module_add_buffer");
    FAILS_S("NULL module", nb_module_add_buffer(NULL, "b", nb_ones(NB_SHAPE(2), NB_OPTS())));
    FAILS_S("name of a parameter", nb_module_add_buffer(m, "p", nb_ones(NB_SHAPE(2), NB_OPTS())));
    FAILS_S("NULL tensor", nb_module_add_buffer(m, "b", NULL));
    begin("nb_module_add_child");
    FAILS_S("NULL module", nb_module_add_child(NULL, "c", nb_relu_new()));
    FAILS_S("NULL child", nb_module_add_child(m, "c", NULL));
    FAILS_S("itself", nb_module_add_child(m, "self", m));
    nb_module *child = nb_relu_new();
    nb_module_add_child(m, "c", child);
    FAILS_S("a child twice", nb_module_add_child(m, "d", child));
    FAILS_S("name of a parameter", nb_module_add_child(m, "p", nb_relu_new()));
    begin("nb_module_forward");
    FAILS("NULL module", nb_module_forward(NULL, f));
    FAILS("NULL x", nb_module_forward(m, NULL));
    FREED("freed x", nb_module_forward(m, fresh_gone()));
    nb_module *container = nb_module_new("Container", NULL, NULL, NULL);
    FAILS("no forward", nb_module_forward(container, f));
    nb_module_free(container);
    nb_module *lin = nb_linear_new(3, 2, true);
    FAILS("wrong in features", nb_module_forward(lin, nb_ones(NB_SHAPE(2, 5), NB_OPTS())));
    begin("nb_module_train");
    nb_module_train(NULL, true);
    check_allowed("NULL", nb_last_status() != NB_OK);
    begin("nb_module_is_training");
    ALLOWED_V("NULL", nb_module_is_training(NULL));
    begin("nb_module_type");
    ALLOWED_V("NULL", nb_module_type(NULL));
    begin("nb_module_child");
    FAILS("NULL module", nb_module_child(NULL, "c"));
    FAILS("NULL name", nb_module_child(m, NULL));
    FAILS("absent", nb_module_child(m, "zz"));
    FAILS("empty path parts", nb_module_child(m, "c..x"));
    begin("nb_module_tensor");
    FAILS("NULL module", nb_module_tensor(NULL, "p"));
    FAILS("NULL path", nb_module_tensor(m, NULL));
    FAILS("absent", nb_module_tensor(m, "c.weight"));
    FAILS("trailing dot", nb_module_tensor(m, "p."));
    typedef int64_t (*list_fn)(nb_module *, nb_tensor **, const char **, int64_t);
    static const struct {
        const char *name;
        list_fn     fn;
    } lists[] = { { "nb_module_parameters", nb_module_parameters }, { "nb_module_buffers", nb_module_buffers } };
    for (int k = 0; k < 2; k++) {
        begin(lists[k].name);
        nb_tensor *tensors[1];
        FAILS_V("NULL module", lists[k].fn(NULL, tensors, NULL, 1));
        FAILS_V("negative capacity", lists[k].fn(m, tensors, NULL, -1));
        ALLOWED_V("NULL arrays", lists[k].fn(m, NULL, NULL, 5));
    }
    begin("nb_module_parameter_numel");
    FAILS_V("NULL", nb_module_parameter_numel(NULL));
    begin("nb_module_zero_grad");
    nb_module_zero_grad(NULL);
    check_allowed("NULL", nb_last_status() != NB_OK);
    begin("nb_module_to");
    FAILS_S("NULL", nb_module_to(NULL, NB_DEVICE_CPU));
    FAILS_S("no such device", nb_module_to(lin, NB_DEVICE_CUDA(nb_cuda_device_count())));
    FAILS_S("not a device type", nb_module_to(lin, (nb_device){ (nb_device_type)9, 0 }));

    begin("nb_module_save");
    FAILS_S("NULL module", nb_module_save(NULL, "misuse_module.safetensors"));
    FAILS_S("NULL path", nb_module_save(lin, NULL));
    FAILS_S("into a missing folder", nb_module_save(lin, "no/such/folder/m.safetensors"));
    begin("nb_module_load");
    FAILS_S("NULL module", nb_module_load(NULL, "misuse_module.safetensors"));
    FAILS_S("NULL path", nb_module_load(lin, NULL));
    FAILS_S("missing file", nb_module_load(lin, "no/such/file.safetensors"));
    if (nb_module_save(lin, "misuse_module.safetensors") == NB_OK) {
        nb_module *other = nb_linear_new(3, 4, true);
        FAILS_S("shapes differ", nb_module_load(other, "misuse_module.safetensors"));
        nb_module_free(other);
        other = nb_linear_new(3, 2, false);
        FAILS_S("unexpected key", nb_module_load(other, "misuse_module.safetensors"));
        nb_module_free(other);
    }
    remove("misuse_module.safetensors");

    begin("nb_module_free");
    nb_module_free(NULL);
    check_allowed("NULL", nb_last_status() != NB_OK);
    begin("nb_free");
    nb_free(p);
    check_failed("a module's parameter", nb_last_status() != NB_OK);
    nb_module_free(m);
    begin("nb_module_free");
    nb_module_free(m);
    check_failed("freed twice", nb_last_status() != NB_OK);
    begin("nb_module_forward");
    FAILS("a freed module", nb_module_forward(m, f));

    /* Initialisation. */
    typedef nb_status (*init2_fn)(nb_tensor *, double, double);
    static const struct {
        const char *name;
        init2_fn    fn;
    } init2[] = { { "nb_init_uniform_", nb_init_uniform_ }, { "nb_init_normal_", nb_init_normal_ } };
    for (int k = 0; k < 2; k++) {
        begin(init2[k].name);
        FAILS_S("NULL", init2[k].fn(NULL, 0, 1));
        FREED_S("freed", init2[k].fn(fresh_gone(), 0, 1));
        FAILS_S("int64", init2[k].fn(nb_clone(i64), 0, 1));
        if (init2[k].fn == nb_init_uniform_) FAILS_S("NaN bound", init2[k].fn(nb_clone(f), NAN, 1));
        else ALLOWED_S("NaN mean", init2[k].fn(nb_clone(f), NAN, 1));
    }
    begin("nb_init_uniform_");
    FAILS_S("low > high", nb_init_uniform_(nb_clone(f), 1, 0));
    begin("nb_init_normal_");
    FAILS_S("std -1", nb_init_normal_(nb_clone(f), 0, -1));
    typedef nb_status (*init0_fn)(nb_tensor *);
    static const struct {
        const char *name;
        init0_fn    fn;
    } init0[] = { { "nb_init_zeros_", nb_init_zeros_ }, { "nb_init_ones_", nb_init_ones_ } };
    for (int k = 0; k < 2; k++) {
        begin(init0[k].name);
        FAILS_S("NULL", init0[k].fn(NULL));
        FREED_S("freed", init0[k].fn(fresh_gone()));
        FAILS_S("expanded view", init0[k].fn(nb_expand(s, NB_SHAPE(3, 3))));
    }
    typedef nb_status (*init_gain_fn)(nb_tensor *, double);
    static const struct {
        const char  *name;
        init_gain_fn fn;
    } init_gain[] = { { "nb_init_xavier_uniform_", nb_init_xavier_uniform_ },
                      { "nb_init_xavier_normal_", nb_init_xavier_normal_ },
                      { "nb_init_orthogonal_", nb_init_orthogonal_ } };
    for (int k = 0; k < 3; k++) {
        begin(init_gain[k].name);
        FAILS_S("NULL", init_gain[k].fn(NULL, 1));
        FREED_S("freed", init_gain[k].fn(fresh_gone(), 1));
        FAILS_S("1-d", init_gain[k].fn(nb_ones(NB_SHAPE(4), NB_OPTS()), 1));
        FAILS_S("int64", init_gain[k].fn(nb_clone(i64), 1));
        ALLOWED_S("empty (a no-op, as torch)", init_gain[k].fn(nb_zeros(NB_SHAPE(0, 3), NB_OPTS()), 1));
    }
    typedef nb_status (*kaiming_fn)(nb_tensor *, double, nb_fan_mode, nb_nonlinearity);
    static const struct {
        const char *name;
        kaiming_fn  fn;
    } kaiming[] = { { "nb_init_kaiming_uniform_", nb_init_kaiming_uniform_ },
                    { "nb_init_kaiming_normal_", nb_init_kaiming_normal_ } };
    for (int k = 0; k < 2; k++) {
        begin(kaiming[k].name);
        FAILS_S("NULL", kaiming[k].fn(NULL, 0, NB_FAN_IN, NB_NONLINEARITY_RELU));
        FREED_S("freed", kaiming[k].fn(fresh_gone(), 0, NB_FAN_IN, NB_NONLINEARITY_RELU));
        FAILS_S("fan mode 9", kaiming[k].fn(nb_clone(f), 0, (nb_fan_mode)9, NB_NONLINEARITY_RELU));
        FAILS_S("nonlinearity 99", kaiming[k].fn(nb_clone(f), 0, NB_FAN_IN, (nb_nonlinearity)99));
        FAILS_S("1-d", kaiming[k].fn(nb_ones(NB_SHAPE(4), NB_OPTS()), 0, NB_FAN_IN, NB_NONLINEARITY_RELU));
    }
    nb_module_free(lin);
}

static void run_optim(void)
{
    nb_tensor *w      = nb_keep(nb_ones(NB_SHAPE(3), NB_OPTS(.requires_grad = true)));
    nb_tensor *dup[2] = { w, w };
    nb_tensor *bad[1] = { f };
    nb_adam_opts adam = nb_adam_defaults();
    begin("nb_sgd_new");
    FAILS_O("NULL params", nb_sgd_new(NULL, 1, nb_sgd_defaults(0.1)));
    FAILS_O("count 0", nb_sgd_new(&w, 0, nb_sgd_defaults(0.1)));
    FAILS_O("count -1", nb_sgd_new(&w, -1, nb_sgd_defaults(0.1)));
    FAILS_O("lr -1", nb_sgd_new(&w, 1, nb_sgd_defaults(-1)));
    FAILS_O("lr NaN", nb_sgd_new(&w, 1, nb_sgd_defaults(NAN)));
    FAILS_O("a parameter twice", nb_sgd_new(dup, 2, nb_sgd_defaults(0.1)));
    FAILS_O("needs no grad", nb_sgd_new(bad, 1, nb_sgd_defaults(0.1)));
    FREED("freed", nb_sgd_new((nb_tensor *[]){ fresh_gone() }, 1, nb_sgd_defaults(0.1)));
    FAILS_O("nesterov without momentum", nb_sgd_new(&w, 1, (nb_sgd_opts){ .lr = 0.1, .nesterov = true }));
    typedef nb_optim *(*adam_fn)(nb_tensor *const *, int64_t, nb_adam_opts);
    static const struct {
        const char *name;
        adam_fn     fn;
    } adams[] = { { "nb_adam_new", nb_adam_new }, { "nb_adamw_new", nb_adamw_new } };
    for (int k = 0; k < 2; k++) {
        begin(adams[k].name);
        FAILS_O("NULL params", adams[k].fn(NULL, 1, adam));
        FAILS_O("a NULL entry", adams[k].fn((nb_tensor *[]){ NULL }, 1, adam));
        nb_adam_opts o = adam;
        o.beta1        = 1;
        FAILS_O("beta1 1", adams[k].fn(&w, 1, o));
        o      = adam;
        o.eps  = -1;
        FAILS_O("eps -1", adams[k].fn(&w, 1, o));
        o              = adam;
        o.weight_decay = NAN;
        FAILS_O("weight decay NaN", adams[k].fn(&w, 1, o));
        FAILS_O("int64 parameter", adams[k].fn((nb_tensor *[]){ i64 }, 1, adam));
    }
    begin("nb_rmsprop_new");
    nb_rmsprop_opts rms = nb_rmsprop_defaults();
    rms.alpha           = -1;
    FAILS_O("alpha -1", nb_rmsprop_new(&w, 1, rms));
    /* The module forms: NULL, a module without parameters, bad options. */
    nb_module *no_params = nb_relu_new(), *one_layer = nb_linear_new(2, 2, true);
    begin("nb_sgd_for");
    FAILS_O("NULL", nb_sgd_for(NULL, nb_sgd_defaults(0.1)));
    FAILS_O("no parameters", nb_sgd_for(no_params, nb_sgd_defaults(0.1)));
    FAILS_O("lr -1", nb_sgd_for(one_layer, nb_sgd_defaults(-1)));
    begin("nb_adam_for");
    FAILS_O("NULL", nb_adam_for(NULL, adam));
    FAILS_O("no parameters", nb_adam_for(no_params, adam));
    begin("nb_adamw_for");
    FAILS_O("NULL", nb_adamw_for(NULL, adam));
    FAILS_O("no parameters", nb_adamw_for(no_params, adam));
    begin("nb_rmsprop_for");
    FAILS_O("NULL", nb_rmsprop_for(NULL, nb_rmsprop_defaults()));
    FAILS_O("alpha -1", nb_rmsprop_for(one_layer, rms));
    nb_module_free(no_params);
    nb_module_free(one_layer);
    begin("nb_optim_step");
    FAILS_S("NULL", nb_optim_step(NULL));
    begin("nb_optim_zero_grad");
    nb_optim_zero_grad(NULL);
    check_allowed("NULL", nb_last_status() != NB_OK);
    begin("nb_optim_lr");
    FAILS_V("NULL", nb_optim_lr(NULL));
    nb_optim *o = nb_sgd_new(&w, 1, nb_sgd_defaults(0.1));
    begin("nb_optim_set_lr");
    nb_optim_set_lr(NULL, 0.1);
    check_failed("NULL", nb_last_status() != NB_OK);
    nb_optim_set_lr(o, -1);
    check_failed("lr -1", nb_last_status() != NB_OK);
    nb_optim_set_lr(o, NAN);
    check_failed("lr NaN", nb_last_status() != NB_OK);
    NBT_CHECK(nb_optim_lr(o) == 0.1);
    begin("nb_step_lr_new");
    FAILS_SCHED("NULL optimizer", nb_step_lr_new(NULL, 1, 0.5));
    FAILS_SCHED("step size 0", nb_step_lr_new(o, 0, 0.5));
    FAILS_SCHED("gamma -1", nb_step_lr_new(o, 1, -1));
    begin("nb_cosine_annealing_lr_new");
    FAILS_SCHED("NULL optimizer", nb_cosine_annealing_lr_new(NULL, 10, 0));
    FAILS_SCHED("t_max 0", nb_cosine_annealing_lr_new(o, 0, 0));
    FAILS_SCHED("eta_min -1", nb_cosine_annealing_lr_new(o, 10, -1));
    begin("nb_linear_lr_new");
    FAILS_SCHED("NULL optimizer", nb_linear_lr_new(NULL, 0.5, 1, 10));
    FAILS_SCHED("start factor 0", nb_linear_lr_new(o, 0, 1, 10));
    FAILS_SCHED("end factor 2", nb_linear_lr_new(o, 0.5, 2, 10));
    FAILS_SCHED("total iters -1", nb_linear_lr_new(o, 0.5, 1, -1));
    begin("nb_scheduler_step");
    FAILS_S("NULL", nb_scheduler_step(NULL));
    begin("nb_scheduler_free");
    nb_scheduler_free(NULL);
    check_allowed("NULL", nb_last_status() != NB_OK);
    begin("nb_clip_grad_norm");
    double total = 0;
    FAILS_S("NULL params", nb_clip_grad_norm(NULL, 1, 1, 2, &total));
    FAILS_S("count -1", nb_clip_grad_norm(&w, -1, 1, 2, &total));
    FAILS_S("max norm -1", nb_clip_grad_norm(&w, 1, -1, 2, &total));
    FAILS_S("norm type 0", nb_clip_grad_norm(&w, 1, 1, 0, &total));
    FAILS_S("norm type NaN", nb_clip_grad_norm(&w, 1, 1, NAN, &total));
    FREED_S("freed", nb_clip_grad_norm((nb_tensor *[]){ fresh_gone() }, 1, 1, 2, &total));
    begin("nb_optim_free");
    nb_optim_free(NULL);
    check_allowed("NULL", nb_last_status() != NB_OK);
    nb_optim_free(o);
    nb_optim_free(o);
    check_failed("freed twice", nb_last_status() != NB_OK);
    begin("nb_optim_step");
    FAILS_S("a freed optimizer", nb_optim_step(o));
    nb_free(w);
    begin("nb_sgd_new");
    FREED("a freed parameter", nb_sgd_new(&w, 1, nb_sgd_defaults(0.1)));
}

static void run_data(void)
{
    nb_tensor *x = nb_ones(NB_SHAPE(4, 2), NB_OPTS());
    nb_tensor *y = nb_zeros(NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64));
    begin("nb_tensor_dataset_new");
    FAILS("NULL list", nb_tensor_dataset_new(NULL, 1));
    FAILS("count 0", nb_tensor_dataset_new(&x, 0));
    FAILS("count -1", nb_tensor_dataset_new(&x, -1));
    FAILS("first dims differ", nb_tensor_dataset_new((nb_tensor *[]){ x, y }, 2));
    FAILS("a NULL entry", nb_tensor_dataset_new((nb_tensor *[]){ x, NULL }, 2));
    FREED("a freed entry", nb_tensor_dataset_new((nb_tensor *[]){ fresh_gone() }, 1));
    FAILS("a 0-d entry", nb_tensor_dataset_new((nb_tensor *[]){ s }, 1));
    begin("nb_dataset_size");
    FAILS_V("NULL", nb_dataset_size(NULL));
    begin("nb_dataset_free");
    nb_dataset_free(NULL);
    check_allowed("NULL", nb_last_status() != NB_OK);
    nb_dataset *data = nb_tensor_dataset_new(&x, 1);
    begin("nb_loader_new");
    FAILS("NULL dataset", nb_loader_new(NULL, 2, false, false, 0));
    FAILS("batch 0", nb_loader_new(data, 0, false, false, 0));
    FAILS("batch -1", nb_loader_new(data, -1, false, false, 0));
    /* (a loader made after all would leak: ASan says so) */
    nb_loader *huge_batch = nb_loader_new(data, INT64_MAX, false, false, 0);
    ALLOWED("batch INT64_MAX", huge_batch);
    nb_loader_free(huge_batch);
    begin("nb_loader_next");
    nb_tensor *batch[1];
    FAILS_V("NULL loader", nb_loader_next(NULL, batch));
    nb_loader *loader = nb_loader_new(data, 2, true, false, 0);
    FAILS_V("NULL batch", nb_loader_next(loader, NULL));
    begin("nb_loader_reset");
    nb_loader_reset(NULL);
    check_allowed("NULL", nb_last_status() != NB_OK);
    begin("nb_loader_num_batches");
    FAILS_V("NULL", nb_loader_num_batches(NULL));
    begin("nb_loader_ended");
    FAILS_V("NULL", nb_loader_ended(NULL));
    begin("nb_loader_free");
    nb_loader_free(NULL);
    check_allowed("NULL", nb_last_status() != NB_OK);
    nb_loader_free(loader);
    nb_dataset_free(data);
}

