/*
 * test_cuda_nn.c — the CUDA backend's convolution, pooling and batch-norm
 * entries against the CPU's: forward and backward of nb_conv2d (groups,
 * stride, padding, dilation, bias, non-square, 1x1, a batch in several
 * column chunks), nb_conv_transpose2d, nb_max_pool2d with its indices,
 * nb_avg_pool2d and nb_adaptive_avg_pool2d, nb_batch_norm in training and
 * eval and BatchNorm2d + ReLU fused in a Sequential. Pooling gives the
 * CPU's bits (the same sums in the same order); convolutions and batch
 * norm agree within rounding (cuBLAS and the block sums add in another
 * order). Results that must not depend on timing are run twice.
 *
 * Without a GPU (or without the CUDA backend in the build) it prints one
 * line saying so and passes, as test_cuda.c.
 */
#include "cuda_compare.h"
#include "nabla/nn.h"

static const nb_dtype float_dtypes[2] = { NB_FLOAT32, NB_FLOAT64 };

/* Convolutions agree within rounding: float32 sums of a few hundred
 * products, float64 the same to ~1e-12. */
static double conv_tolerance(nb_dtype dtype) { return dtype == NB_FLOAT32 ? 2e-4 : 1e-10; }

/* An op on up to three inputs (NULL ones stay NULL). */
typedef nb_tensor *(*op_fn)(nb_tensor *const in[3], const void *ctx);

/* A leaf on device with t's values, requiring grad. */
static nb_tensor *leaf_on(const nb_tensor *t, nb_device device)
{
    nb_tensor *c = nb_clone(nb_to(t, device));
    nb_requires_grad_(c, true);
    return c;
}

/* op on each device from the same inputs, then backward from the same
 * upstream gradient: the outputs and every input's gradient agree within
 * tol. Makes its tensors in the current scope. */
static void check_op(const char *name, op_fn op, const void *ctx, nb_tensor *const in[3], double tol)
{
    nb_tensor *leaves[2][3] = { { NULL } }, *out[2], *g = NULL;
    for (int side = 0; side < 2; side++) {
        nb_device device = side ? cuda0 : NB_DEVICE_CPU;
        for (int k = 0; k < 3; k++)
            if (in[k]) leaves[side][k] = leaf_on(in[k], device);
        out[side] = op(leaves[side], ctx);
        if (out[side] != NULL && g == NULL) g = nb_randn(nb_shape_of(out[0]), NB_OPTS(.dtype = nb_dtype_of(out[0])));
        if (out[side] == NULL || nb_backward_with(out[side], nb_to(g, device), NB_GRAD_OPTS()) != NB_OK) {
            NBT_CHECK(!"the op ran on both devices");
            fprintf(stderr, "  %s on %s: %s\n", name, side ? "cuda" : "cpu", nb_last_error());
            nb_clear_error();
            return;
        }
    }
    bool ok = same_values(out[0], out[1], tol);
    for (int k = 0; k < 3; k++)
        if (in[k]) ok = same_values(nb_grad(leaves[0][k]), nb_grad(leaves[1][k]), tol) && ok;
    if (!ok) fprintf(stderr, "  %s differs\n", name);
    NBT_CHECK(ok);
}

/* ------------------------------------------------------------------------ */
/* Convolution                                                               */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char  *name;
    nb_shape     x, w;
    bool         bias, transpose;
    nb_conv_opts opts;
} conv_case;

static nb_tensor *conv_op(nb_tensor *const in[3], const void *ctx)
{
    const conv_case *c = ctx;
    return c->transpose ? nb_conv_transpose2d(in[0], in[1], in[2], c->opts) : nb_conv2d(in[0], in[1], in[2], c->opts);
}

static const conv_case conv_cases[] = {
    { "groups, stride, padding, dilation", NB_SHAPE(2, 4, 9, 7), NB_SHAPE(6, 2, 3, 2), true, false,
      NB_CONV_OPTS(.groups = 2, .stride = { 2, 1 }, .padding = { 1, 2 }, .dilation = { 1, 2 }) },
    { "3x3 same padding", NB_SHAPE(3, 3, 8, 10), NB_SHAPE(5, 3, 3, 3), false, false, NB_CONV_OPTS(.padding = { 1, 1 }) },
    { "1x1 (the image is its column matrix)", NB_SHAPE(2, 8, 5, 6), NB_SHAPE(4, 8, 1, 1), true, false, NB_CONV_OPTS() },
    { "depthwise, stride 2", NB_SHAPE(2, 4, 7, 7), NB_SHAPE(4, 1, 3, 3), true, false,
      NB_CONV_OPTS(.groups = 4, .stride = { 2, 2 }, .padding = { 1, 1 }) },
    { "wide stride, kernel taps that read no pixel", NB_SHAPE(1, 2, 6, 5), NB_SHAPE(3, 2, 4, 3), true, false,
      NB_CONV_OPTS(.stride = { 3, 2 }, .padding = { 2, 1 }) },
    { "transpose: groups, stride, output_padding", NB_SHAPE(2, 6, 5, 4), NB_SHAPE(6, 2, 3, 3), true, true,
      NB_CONV_OPTS(.groups = 3, .stride = { 2, 2 }, .padding = { 1, 0 }, .output_padding = { 1, 1 }) },
    { "transpose: dilation, non-square", NB_SHAPE(3, 4, 4, 6), NB_SHAPE(4, 3, 2, 3), false, true,
      NB_CONV_OPTS(.stride = { 1, 2 }, .dilation = { 2, 1 }, .padding = { 1, 1 }) },
    { "transpose 1x1", NB_SHAPE(2, 5, 4, 4), NB_SHAPE(5, 3, 1, 1), true, true, NB_CONV_OPTS() },
};

static void test_conv_matches_the_cpu(void)
{
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
        for (int k = 0; k < 2; k++) {
            nb_scope_begin();
            const conv_case *c     = &conv_cases[i];
            nb_dtype         dtype = float_dtypes[k];
            int64_t          out_channels = c->transpose ? c->w.dims[1] * (c->opts.groups ? c->opts.groups : 1)
                                                         : c->w.dims[0];
            nb_tensor *in[3] = { nb_randn(c->x, NB_OPTS(.dtype = dtype)), nb_randn(c->w, NB_OPTS(.dtype = dtype)),
                                 c->bias ? nb_randn(NB_SHAPE(out_channels), NB_OPTS(.dtype = dtype)) : NULL };
            check_op(c->name, conv_op, c, in, conv_tolerance(dtype));
            nb_scope_end();
        }
}

/* A batch whose columns take more than one chunk of the GPU's scratch
 * (forward ~56 images a chunk here, the weight gradient ~46): the chunks
 * must tile the batch, and the weight gradient add them all. */
static void test_conv_over_several_chunks(void)
{
    nb_scope_begin();
    conv_case  c     = { "60 images", NB_SHAPE(60, 4, 64, 64), NB_SHAPE(8, 4, 3, 3), true, false,
                         NB_CONV_OPTS(.padding = { 1, 1 }) };
    nb_tensor *in[3] = { nb_randn(c.x, NB_OPTS(.dtype = NB_FLOAT64)), nb_randn(c.w, NB_OPTS(.dtype = NB_FLOAT64)),
                         nb_randn(NB_SHAPE(8), NB_OPTS(.dtype = NB_FLOAT64)) };
    check_op(c.name, conv_op, &c, in, 1e-10);
    nb_scope_end();
}

/* The GPU's weight gradient and input gradient are the same bits on every
 * run (no atomics), and the column scratch goes back to the allocator. */
static void test_conv_gradients_are_deterministic(void)
{
    nb_cuda_memory_stats before, after;
    NBT_CHECK(nb_cuda_memory(0, &before) == NB_OK);
    nb_scope_begin();
    nb_tensor *x = nb_to(nb_randn(NB_SHAPE(16, 6, 12, 12), NB_OPTS()), cuda0);
    nb_tensor *w = nb_to(nb_randn(NB_SHAPE(8, 3, 3, 3), NB_OPTS()), cuda0);
    nb_tensor *g = nb_to(nb_randn(NB_SHAPE(16, 8, 6, 6), NB_OPTS()), cuda0);
    nb_tensor *grads[2][2];
    for (int run = 0; run < 2; run++) {
        nb_tensor *xl = leaf_on(x, cuda0), *wl = leaf_on(w, cuda0);
        nb_tensor *y  = nb_conv2d(xl, wl, NULL, NB_CONV_OPTS(.groups = 2, .stride = { 2, 2 }, .padding = { 1, 1 }));
        NBT_CHECK(y != NULL && nb_backward_with(y, g, NB_GRAD_OPTS()) == NB_OK);
        grads[run][0] = nb_grad(xl);
        grads[run][1] = nb_grad(wl);
    }
    NBT_CHECK(same_values(nb_to(grads[0][0], NB_DEVICE_CPU), grads[1][0], 0));
    NBT_CHECK(same_values(nb_to(grads[0][1], NB_DEVICE_CPU), grads[1][1], 0));
    nb_scope_end();
    NBT_CHECK(nb_cuda_memory(0, &after) == NB_OK);
    NBT_CHECK(after.allocated == before.allocated);
}

/* ------------------------------------------------------------------------ */
/* Pooling                                                                   */
/* ------------------------------------------------------------------------ */

/* Values with many ties (multiples of 0.5), a few NaNs and -infs. */
static nb_tensor *tied_values(nb_shape shape, nb_dtype dtype)
{
    nb_tensor *x    = nb_div_scalar(nb_round(nb_mul_scalar(nb_randn(shape, NB_OPTS(.dtype = dtype)), 2)), 2);
    nb_tensor *u    = nb_rand(shape, NB_OPTS(.dtype = dtype));
    nb_tensor *nans = nb_full(shape, NAN, NB_OPTS(.dtype = dtype));
    nb_tensor *infs = nb_full(shape, -INFINITY, NB_OPTS(.dtype = dtype));
    return nb_where(nb_gt_scalar(u, 0.97), nans, nb_where(nb_lt_scalar(u, 0.03), infs, x));
}

static nb_tensor *max_pool_op(nb_tensor *const in[3], const void *ctx)
{
    return nb_max_pool2d(in[0], *(const nb_pool_opts *)ctx, NULL);
}

static nb_tensor *avg_pool_op(nb_tensor *const in[3], const void *ctx)
{
    return nb_avg_pool2d(in[0], *(const nb_pool_opts *)ctx);
}

static nb_tensor *adaptive_op(nb_tensor *const in[3], const void *ctx)
{
    const int64_t *size = ctx;
    return nb_adaptive_avg_pool2d(in[0], size[0], size[1]);
}

static const nb_pool_opts max_cases[] = {
    NB_POOL_OPTS(.kernel = { 2, 2 }), /* the CPU's two-pass 2x2 path */
    NB_POOL_OPTS(.kernel = { 3, 2 }, .stride = { 2, 1 }, .padding = { 1, 1 }, .dilation = { 1, 2 }),
    NB_POOL_OPTS(.kernel = { 3, 3 }, .stride = { 1, 1 }, .padding = { 1, 1 }), /* overlapping: shared maxima */
    NB_POOL_OPTS(.kernel = { 3, 3 }, .stride = { 2, 2 }, .ceil_mode = true),
    NB_POOL_OPTS(.kernel = { 5, 5 }, .stride = { 1, 1 }, .padding = { 2, 2 }), /* > 16 outputs: the sorted unpool */
};

/* Max pooling: the CPU's maxima, positions and gradient, bit for bit
 * (ties to the first position, NaN over everything); the gradient the
 * same bits on every run. */
static void test_max_pool_matches_the_cpu(void)
{
    for (size_t i = 0; i < sizeof max_cases / sizeof max_cases[0]; i++)
        for (int k = 0; k < 2; k++) {
            nb_scope_begin();
            nb_tensor *x     = tied_values(NB_SHAPE(2, 3, 9, 11), float_dtypes[k]);
            nb_tensor *in[3] = { x, NULL, NULL };
            check_op("max_pool2d", max_pool_op, &max_cases[i], in, 0);
            nb_tensor *ci = NULL, *gi = NULL;
            nb_tensor *cy = nb_max_pool2d(x, max_cases[i], &ci), *gy = nb_max_pool2d(nb_to(x, cuda0), max_cases[i], &gi);
            NBT_CHECK(cy && gy && same_values(cy, gy, 0) && same_values(ci, gi, 0));
            nb_free(ci);
            nb_free(gi);
            nb_scope_end();
        }
    nb_scope_begin();
    nb_tensor *x = nb_to(tied_values(NB_SHAPE(4, 8, 16, 16), NB_FLOAT32), cuda0), *grads[2];
    nb_tensor *g = nb_to(nb_randn(NB_SHAPE(4, 8, 16, 16), NB_OPTS()), cuda0);
    for (int run = 0; run < 2; run++) {
        nb_tensor *xl = leaf_on(x, cuda0);
        nb_tensor *y  = nb_max_pool2d(xl, max_cases[2], NULL);
        NBT_CHECK(y != NULL && nb_backward_with(y, g, NB_GRAD_OPTS()) == NB_OK);
        grads[run] = nb_grad(xl);
    }
    NBT_CHECK(same_values(nb_to(grads[0], NB_DEVICE_CPU), grads[1], 0));
    nb_scope_end();
}

static const nb_pool_opts avg_cases[] = {
    NB_POOL_OPTS(.kernel = { 2, 2 }),
    NB_POOL_OPTS(.kernel = { 3, 2 }, .stride = { 2, 1 }, .padding = { 1, 1 }),
    NB_POOL_OPTS(.kernel = { 3, 3 }, .stride = { 2, 2 }, .padding = { 1, 1 }, .exclude_pad_from_avg = true),
    NB_POOL_OPTS(.kernel = { 3, 3 }, .stride = { 2, 2 }, .padding = { 1, 0 }, .ceil_mode = true),
    NB_POOL_OPTS(.kernel = { 4, 3 }, .stride = { 1, 1 }, .padding = { 2, 1 }, .ceil_mode = true,
                 .exclude_pad_from_avg = true),
};

/* Window means and their adjoint: the CPU's bits, forward and backward. */
static void test_avg_pool_matches_the_cpu(void)
{
    static const int64_t adaptive_sizes[][2] = { { 4, 3 }, { 1, 1 }, { 9, 11 }, { 13, 5 } };
    for (int k = 0; k < 2; k++) {
        nb_scope_begin();
        nb_tensor *in[3] = { nb_randn(NB_SHAPE(2, 3, 9, 11), NB_OPTS(.dtype = float_dtypes[k])), NULL, NULL };
        for (size_t i = 0; i < sizeof avg_cases / sizeof avg_cases[0]; i++)
            check_op("avg_pool2d", avg_pool_op, &avg_cases[i], in, 0);
        for (size_t i = 0; i < sizeof adaptive_sizes / sizeof adaptive_sizes[0]; i++)
            check_op("adaptive_avg_pool2d", adaptive_op, adaptive_sizes[i], in, 0);
        nb_scope_end();
    }
}

/* ------------------------------------------------------------------------ */
/* Batch normalisation                                                       */
/* ------------------------------------------------------------------------ */

/* nb_batch_norm of x (shape) on each device: the output, the gradients of
 * x, weight and bias, and the running statistics it moved agree. */
static void check_batch_norm(nb_shape shape, nb_dtype dtype, bool training, bool affine, bool running)
{
    nb_scope_begin();
    int64_t    C    = shape.dims[1];
    double     tol  = dtype == NB_FLOAT32 ? 1e-5 : 1e-11;
    nb_opts    opts = NB_OPTS(.dtype = dtype);
    nb_tensor *x    = nb_add_scalar(nb_mul_scalar(nb_randn(shape, opts), 2), 0.5);
    nb_tensor *in[3] = { x, affine ? nb_randn(NB_SHAPE(C), opts) : NULL, affine ? nb_randn(NB_SHAPE(C), opts) : NULL };
    nb_tensor *mean = nb_mul_scalar(nb_randn(NB_SHAPE(C), opts), 0.1), *var = nb_add_scalar(nb_rand(NB_SHAPE(C), opts), 0.5);
    nb_tensor *leaves[2][3] = { { NULL } }, *out[2], *stats[2][2] = { { NULL } }, *g = nb_randn(shape, opts);
    for (int side = 0; side < 2; side++) {
        nb_device device = side ? cuda0 : NB_DEVICE_CPU;
        for (int k = 0; k < 3; k++)
            if (in[k]) leaves[side][k] = leaf_on(in[k], device);
        if (running) {
            stats[side][0] = nb_clone(nb_to(mean, device));
            stats[side][1] = nb_clone(nb_to(var, device));
        }
        out[side] = nb_batch_norm(leaves[side][0], stats[side][0], stats[side][1], leaves[side][1], leaves[side][2],
                                  training, 0.1, 1e-5);
        if (out[side] == NULL || nb_backward_with(out[side], nb_to(g, device), NB_GRAD_OPTS()) != NB_OK) {
            NBT_CHECK(!"batch norm ran on both devices");
            fprintf(stderr, "  on %s: %s\n", side ? "cuda" : "cpu", nb_last_error());
            nb_clear_error();
            nb_scope_end();
            return;
        }
    }
    bool ok = same_values(out[0], out[1], tol);
    for (int k = 0; k < 3; k++)
        if (in[k]) ok = same_values(nb_grad(leaves[0][k]), nb_grad(leaves[1][k]), tol) && ok;
    for (int k = 0; running && k < 2; k++) ok = same_values(stats[0][k], stats[1][k], tol) && ok;
    if (!ok)
        fprintf(stderr, "  batch norm of %s, %s, %s differs\n", nb_dtype_name(dtype), training ? "training" : "eval",
                affine ? "affine" : "no weight");
    NBT_CHECK(ok);
    nb_scope_end();
}

static void test_batch_norm_matches_the_cpu(void)
{
    for (int k = 0; k < 2; k++) {
        nb_dtype dtype = float_dtypes[k];
        check_batch_norm(NB_SHAPE(4, 3, 5, 6), dtype, true, true, true);
        check_batch_norm(NB_SHAPE(4, 3, 5, 6), dtype, false, true, true);
        check_batch_norm(NB_SHAPE(4, 3, 5, 6), dtype, true, false, false);
        check_batch_norm(NB_SHAPE(3, 2, 40, 40), dtype, true, true, true); /* spatial > a block of threads */
        check_batch_norm(NB_SHAPE(300, 7), dtype, true, true, true);       /* (N, C): one value per plane */
        check_batch_norm(NB_SHAPE(5, 4, 3), dtype, false, true, true);
    }
}

/* BatchNorm2d then ReLU in a Sequential runs fused (nbf_batch_norm_relu):
 * on the GPU it gives the CPU's output, gradients and running statistics,
 * in training, in eval, and in place under no-grad. */
static void test_batch_norm_relu_matches_the_cpu(void)
{
    nb_scope_begin();
    nb_tensor *x = nb_randn(NB_SHAPE(4, 3, 6, 5), NB_OPTS()), *g = nb_randn(NB_SHAPE(4, 3, 6, 5), NB_OPTS());
    nb_tensor *results[2][8];
    nb_module *nets[2];
    for (int side = 0; side < 2; side++) {
        nb_device  device    = side ? cuda0 : NB_DEVICE_CPU;
        nb_module *layers[2] = { nb_batch_norm2d_new(3, NB_NORM_OPTS()), nb_relu_new() };
        nets[side]           = nb_sequential_new(layers, 2);
        NBT_CHECK(nets[side] != NULL && nb_module_to(nets[side], device) == NB_OK);
        nb_tensor *xl = leaf_on(x, device), *params[2], *buffers[3];
        nb_tensor *y  = nb_module_forward(nets[side], xl);
        NBT_CHECK(y != NULL && nb_backward_with(y, nb_to(g, device), NB_GRAD_OPTS()) == NB_OK);
        NBT_CHECK(nb_module_parameters(nets[side], params, NULL, 2) == 2);
        NBT_CHECK(nb_module_buffers(nets[side], buffers, NULL, 3) == 3);
        results[side][0] = y;
        results[side][1] = nb_grad(xl);
        results[side][2] = nb_grad(params[0]);
        results[side][3] = nb_grad(params[1]);
        results[side][4] = nb_clone(buffers[0]);
        results[side][5] = nb_clone(buffers[1]);
        nb_module_train(nets[side], false);
        results[side][6] = nb_module_forward(nets[side], nb_to(x, device));
        nb_no_grad_begin();
        results[side][7] = nb_module_forward(nets[side], nb_clone(nb_to(x, device))); /* in place */
        nb_no_grad_end();
    }
    for (int i = 0; i < 8; i++) {
        bool ok = results[0][i] && results[1][i] && same_values(results[0][i], results[1][i], 1e-5);
        if (!ok) fprintf(stderr, "  BatchNorm2d + ReLU: result %d differs\n", i);
        NBT_CHECK(ok);
    }
    nb_module_free(nets[0]);
    nb_module_free(nets[1]);
    nb_scope_end();
}

int main(void)
{
    if (!nb_cuda_is_available()) {
        printf("test_cuda_nn: skipped: no CUDA device (this build has no CUDA backend, or this machine no GPU)\n");
        return 0;
    }
    nb_manual_seed(17);
    NBT_RUN(test_conv_matches_the_cpu);
    NBT_RUN(test_conv_over_several_chunks);
    NBT_RUN(test_conv_gradients_are_deterministic);
    NBT_RUN(test_max_pool_matches_the_cpu);
    NBT_RUN(test_avg_pool_matches_the_cpu);
    NBT_RUN(test_batch_norm_matches_the_cpu);
    NBT_RUN(test_batch_norm_relu_matches_the_cpu);
    return nbt_finish();
}
