/*
 * test_thread_determinism.c — training gives the same weights, bit for bit,
 * whatever the thread count (issue 10, item 5).
 *
 * Each model of the training program (apps/train/models.c), plus the
 * convolutional net with batch norm of bench_train, trains a few Adam steps
 * on random data at 1, 2 and 3 threads; every parameter and buffer must
 * equal the one-thread run's bytes. The batches are big enough that every
 * parallel path runs split (conv products, their weight gradients summed
 * over the batch, GEMM blocks, reductions, batch-norm statistics, the
 * optimizer's update).
 */
#include "nb_test.h"
#include "train.h"

enum { MAX_TENSORS = 32, STEPS = 3 };

typedef struct {
    int64_t count;
    size_t  bytes[MAX_TENSORS];
    void   *data[MAX_TENSORS];
} snapshot;

static void snapshot_free(snapshot *s)
{
    for (int64_t i = 0; i < s->count; i++)
        free(s->data[i]);
    s->count = 0;
}

/* Copy every parameter and buffer of model into s. */
static bool take_snapshot(nb_module *model, snapshot *s)
{
    nb_tensor *tensors[MAX_TENSORS];
    int64_t    params  = nb_module_parameters(model, tensors, NULL, MAX_TENSORS);
    int64_t    buffers = params >= 0 ? nb_module_buffers(model, tensors + params, NULL, MAX_TENSORS - params) : -1;
    if (params < 0 || buffers < 0) return false;
    s->count = 0;
    for (int64_t i = 0; i < params + buffers; i++) {
        size_t bytes = (size_t)nb_numel(tensors[i]) * nb_dtype_size(nb_dtype_of(tensors[i]));
        s->data[i]   = malloc(bytes ? bytes : 1);
        if (s->data[i] == NULL) return false;
        s->count    = i + 1;
        s->bytes[i] = bytes;
        if (nb_copy_to_buffer(tensors[i], s->data[i], bytes) != NB_OK) return false;
    }
    return true;
}

/* conv(1, 16)-BN-ReLU-pool, conv(16, 16)-BN-ReLU-pool, linear: bench_train's
 * cnnbn net narrowed to 16 channels, which the second convolution's
 * Winograd products (cpu/winograd.c) still take. */
static nb_module *build_cnn_bn(void)
{
    nb_conv_opts same = NB_CONV_OPTS(.padding = { 1, 1 });
    nb_pool_opts half = NB_POOL_OPTS(.kernel = { 2, 2 });
    nb_module   *layers[] = {
        nb_conv2d_new(1, 16, 3, 3, same, true), nb_batch_norm2d_new(16, NB_NORM_OPTS()), nb_relu_new(),
        nb_max_pool2d_new(half),                nb_conv2d_new(16, 16, 3, 3, same, true),
        nb_batch_norm2d_new(16, NB_NORM_OPTS()),     nb_relu_new(),                      nb_max_pool2d_new(half),
        nb_flatten_new(1, -1),                  nb_linear_new(16 * 7 * 7, 10, true),
    };
    return nb_sequential_new(layers, 10);
}

/* Build the named model (seeded), train STEPS Adam steps at the given thread
 * count on fixed random batches, and snapshot it. */
static bool train_at(const char *name, int threads, int64_t batch, snapshot *out)
{
    nb_set_num_threads(threads);
    nb_manual_seed(1234);
    nb_module *model = strcmp(name, "cnn_bn") == 0 ? build_cnn_bn() : build_model(name);
    if (model == NULL) return false;
    nb_tensor *params[MAX_TENSORS];
    int64_t    count = nb_module_parameters(model, params, NULL, MAX_TENSORS);
    nb_optim  *opt   = count > 0 ? nb_adam_new(params, count, nb_adam_defaults()) : NULL;
    bool       ok    = opt != NULL;
    for (int step = 0; step < STEPS && ok; step++) {
        nb_optim_zero_grad(opt);
        ok = nb_scope_begin() == NB_OK;
        if (!ok) break;
        nb_tensor *x      = nb_rand(NB_SHAPE(batch, 1, 28, 28), NB_OPTS());
        nb_tensor *labels = nb_randint(0, 10, NB_SHAPE(batch), NB_OPTS(.dtype = NB_INT64));
        nb_tensor *loss   = nb_cross_entropy(nb_module_forward(model, x), labels, NB_CROSS_ENTROPY_OPTS());
        ok                = loss && nb_backward(loss) == NB_OK && nb_optim_step(opt) == NB_OK;
        if (nb_scope_end() != NB_OK) ok = false;
    }
    ok = ok && take_snapshot(model, out);
    nb_optim_free(opt);
    nb_module_free(model);
    return ok;
}

static void check_model(const char *name, int64_t batch)
{
    snapshot one = { 0 };
    NBT_CHECK(train_at(name, 1, batch, &one));
    for (int threads = 2; threads <= 3; threads++) {
        snapshot many = { 0 };
        NBT_CHECK(train_at(name, threads, batch, &many));
        NBT_CHECK(many.count == one.count && one.count > 0);
        for (int64_t i = 0; i < one.count && i < many.count; i++) {
            bool same = one.bytes[i] == many.bytes[i] && memcmp(one.data[i], many.data[i], one.bytes[i]) == 0;
            if (!same) fprintf(stderr, "%s: tensor %lld differs at %d threads\n", name, (long long)i, threads);
            NBT_CHECK(same);
        }
        snapshot_free(&many);
    }
    snapshot_free(&one);
}

static void test_mlp(void) { check_model("mlp", 256); }
static void test_cnn(void) { check_model("cnn", 128); }
static void test_cnn_bn(void) { check_model("cnn_bn", 128); }

int main(void)
{
    NBT_RUN(test_mlp);
    NBT_RUN(test_cnn);
    NBT_RUN(test_cnn_bn);
    nb_set_num_threads(1);
    return nbt_finish();
}
