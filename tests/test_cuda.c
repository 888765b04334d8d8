/*
 * test_cuda.c — the CUDA backend against the CPU: every op that runs on the
 * GPU gives the CPU's result (bit-identical where the arithmetic is the
 * same, within an ulp-sized tolerance where CUDA's exp/tanh/erf differ from
 * the CPU's), on random shapes, broadcast operands and non-contiguous
 * views; moves between devices are exact; mixing devices is an error;
 * the caching allocator returns to its starting usage.
 *
 * Without a GPU (or without the CUDA backend in the build) it prints one
 * line saying so and passes: the CPU side of the seam is covered by every
 * other test.
 */
#include "cuda_compare.h"
#include "nabla/nn.h"

#include <stdint.h>

/* Random values for dtype: normal floats, small integers (positive when
 * divisor is set), 0/1 for bool. Made in the current scope. */
static nb_tensor *sample(nb_shape shape, nb_dtype dtype, bool divisor)
{
    if (nb_dtype_is_floating(dtype)) return nb_randn(shape, NB_OPTS(.dtype = dtype));
    if (dtype == NB_BOOL) return nb_to_dtype(nb_randint(0, 2, shape, NB_OPTS(.dtype = NB_INT64)), NB_BOOL);
    int64_t low = divisor ? 1 : (dtype == NB_UINT8 ? 0 : -5);
    return nb_randint(low, 6, shape, NB_OPTS(.dtype = dtype));
}

static const nb_dtype float_dtypes[]   = { NB_FLOAT32, NB_FLOAT64 };
static const nb_dtype numeric_dtypes[] = { NB_FLOAT32, NB_FLOAT64, NB_INT64, NB_INT32, NB_UINT8 };
static const nb_dtype all_dtypes[]     = { NB_FLOAT32, NB_FLOAT64, NB_INT64, NB_INT32, NB_UINT8, NB_BOOL };
static const nb_dtype integral_dtypes[] = { NB_INT64, NB_INT32, NB_UINT8, NB_BOOL };
#define DTYPES_FLOAT   float_dtypes, 2
#define DTYPES_NUMERIC numeric_dtypes, 5
#define DTYPES_ALL     all_dtypes, 6
#define DTYPES_INTEGRAL integral_dtypes, 4

typedef nb_tensor *(*unary_fn)(const nb_tensor *);
typedef nb_tensor *(*binary_fn)(const nb_tensor *, const nb_tensor *);

static const struct {
    const char     *name;
    unary_fn        fn;
    const nb_dtype *dtypes;
    int             ndtypes;
} unary_ops[] = {
#define NBI_UNARY(name, dtypes, ...) { #name, nb_##name, DTYPES_##dtypes },
#define NBI_UNARY_WITH_PARAMS(...)
#define NBI_BINARY(...)
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
};

static const struct {
    const char     *name;
    binary_fn       fn;
    const nb_dtype *dtypes;
    int             ndtypes;
} binary_ops[] = {
#define NBI_UNARY(...)
#define NBI_UNARY_WITH_PARAMS(...)
#define NBI_BINARY(name, dtypes, ...) { #name, nb_##name, DTYPES_##dtypes },
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
};

/* Float32 transcendental functions may differ by a few ulp between the
 * CPU's vectorized versions and CUDA's. */
static double tolerance(nb_dtype dtype) { return dtype == NB_FLOAT32 ? 2e-6 : (dtype == NB_FLOAT64 ? 1e-14 : 0); }

static void test_moves_are_exact(void)
{
    nb_scope_begin();
    for (int k = 0; k < 6; k++) {
        nb_tensor *x    = sample(NB_SHAPE(3, 5, 7), all_dtypes[k], false);
        nb_tensor *xt   = nb_transpose(x, 0, 2); /* non-contiguous source */
        nb_tensor *on   = nb_to(xt, cuda0);
        nb_tensor *back = nb_to(on, NB_DEVICE_CPU);
        NBT_CHECK(on != NULL && nb_device_of(on).type == NB_CUDA);
        NBT_CHECK(back != NULL && same_values(xt, back, 0));
    }
    nb_scope_end();
}

static void test_unary_ops_match_the_cpu(void)
{
    nb_scope_begin();
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++) {
        for (int k = 0; k < unary_ops[i].ndtypes; k++) {
            nb_dtype   dtype = unary_ops[i].dtypes[k];
            nb_tensor *x     = sample(NB_SHAPE(4, 33, 9), dtype, false);
            nb_tensor *view  = nb_transpose(x, 0, 1);
            nb_tensor *cpu   = unary_ops[i].fn(view);
            nb_tensor *gpu   = unary_ops[i].fn(nb_to(view, cuda0));
            if (!(cpu != NULL && gpu != NULL && same_values(cpu, gpu, tolerance(dtype)))) {
                NBT_CHECK(!"unary op differs");
                fprintf(stderr, "  %s on %s: %s\n", unary_ops[i].name, nb_dtype_name(dtype), nb_last_error());
                nb_clear_error();
            }
        }
    }
    nb_scope_end();
}

static void test_binary_ops_match_the_cpu(void)
{
    nb_scope_begin();
    for (size_t i = 0; i < sizeof binary_ops / sizeof binary_ops[0]; i++) {
        bool divides = strcmp(binary_ops[i].name, "floor_divide") == 0 || strcmp(binary_ops[i].name, "remainder") == 0
                       || strcmp(binary_ops[i].name, "fmod") == 0;
        for (int k = 0; k < binary_ops[i].ndtypes; k++) {
            nb_dtype   dtype = binary_ops[i].dtypes[k];
            nb_tensor *a     = sample(NB_SHAPE(5, 1, 17), dtype, false);        /* broadcast */
            nb_tensor *b     = nb_transpose(sample(NB_SHAPE(17, 6), dtype, divides), 0, 1);
            nb_tensor *cpu   = binary_ops[i].fn(a, b);
            nb_tensor *gpu   = binary_ops[i].fn(nb_to(a, cuda0), nb_to(b, cuda0));
            if (!(cpu != NULL && gpu != NULL && same_values(cpu, gpu, tolerance(dtype)))) {
                NBT_CHECK(!"binary op differs");
                fprintf(stderr, "  %s on %s: %s\n", binary_ops[i].name, nb_dtype_name(dtype), nb_last_error());
                nb_clear_error();
            }
        }
    }
    nb_scope_end();
}

/* The gradient of op at x (and y) for upstream gradient g, on x's device,
 * brought back to the CPU: grads[0] for x, grads[1] for y. */
static bool gradients_on(nb_device device, const char *name, unary_fn unary, binary_fn binary, const nb_tensor *x,
                         const nb_tensor *y, const nb_tensor *g, nb_tensor **grads)
{
    nb_tensor *xd = nb_clone(nb_to(x, device));
    nb_tensor *yd = y ? nb_clone(nb_to(y, device)) : NULL;
    nb_requires_grad_(xd, true);
    if (yd) nb_requires_grad_(yd, true);
    nb_tensor *out = unary ? unary(xd) : binary(xd, yd);
    if (out == NULL || nb_backward_with(out, nb_to(g, device), NB_GRAD_OPTS()) != NB_OK) {
        fprintf(stderr, "  %s backward on %s: %s\n", name, device.type == NB_CUDA ? "cuda" : "cpu", nb_last_error());
        nb_clear_error();
        return false;
    }
    grads[0] = nb_to(nb_grad(xd), NB_DEVICE_CPU);
    grads[1] = yd ? nb_to(nb_grad(yd), NB_DEVICE_CPU) : NULL;
    return grads[0] != NULL;
}

static void check_unary_gradient(const char *name, unary_fn fn, bool differentiable, const nb_tensor *x,
                                 const nb_tensor *g)
{
    if (!differentiable) return;
    nb_tensor *cpu[2], *gpu[2];
    bool ok = gradients_on(NB_DEVICE_CPU, name, fn, NULL, x, NULL, g, cpu)
              && gradients_on(cuda0, name, fn, NULL, x, NULL, g, gpu) && same_values(cpu[0], gpu[0], 1e-13);
    if (!ok) fprintf(stderr, "  gradient of %s differs\n", name);
    NBT_CHECK(ok);
}

static void check_binary_gradient(const char *name, binary_fn fn, bool differentiable, const nb_tensor *x,
                                  const nb_tensor *y, const nb_tensor *g)
{
    if (!differentiable) return;
    nb_tensor *cpu[2], *gpu[2];
    bool ok = gradients_on(NB_DEVICE_CPU, name, NULL, fn, x, y, g, cpu)
              && gradients_on(cuda0, name, NULL, fn, x, y, g, gpu) && same_values(cpu[0], gpu[0], 1e-13)
              && same_values(cpu[1], gpu[1], 1e-13);
    if (!ok) fprintf(stderr, "  gradient of %s differs\n", name);
    NBT_CHECK(ok);
}

/* Every differentiable elementwise row's backward on the GPU gives the
 * CPU's gradient (same-shape operands: broadcasting's reduction is the
 * reduction family's to test). */
static void test_elementwise_gradients_match_the_cpu(void)
{
    nb_scope_begin();
    nb_tensor *x = nb_randn(NB_SHAPE(7, 11), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *y = nb_add_scalar(nb_rand(NB_SHAPE(7, 11), NB_OPTS(.dtype = NB_FLOAT64)), 0.5);
    nb_tensor *g = nb_randn(NB_SHAPE(7, 11), NB_OPTS(.dtype = NB_FLOAT64));
#define NBI_UNARY(name, dtypes, result, grad, ...) check_unary_gradient(#name, nb_##name, NBI_IS_##grad, x, g);
#define NBI_UNARY_WITH_PARAMS(...)
#define NBI_BINARY(name, dtypes, result, grad, ...) check_binary_gradient(#name, nb_##name, NBI_IS_##grad, x, y, g);
#define NBI_IS_DIFF    true
#define NBI_IS_NONDIFF false
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
    nb_scope_end();
}

static void test_parametrised_ops_and_where(void)
{
    nb_scope_begin();
    nb_tensor *x = nb_randn(NB_SHAPE(1000), NB_OPTS());
    nb_tensor *g = nb_to(x, cuda0);
    NBT_CHECK(same_values(nb_clamp(x, -0.5, 0.7), nb_clamp(g, -0.5, 0.7), 0));
    NBT_CHECK(same_values(nb_gelu(x, true), nb_gelu(g, true), 2e-6));
    NBT_CHECK(same_values(nb_gelu(x, false), nb_gelu(g, false), 2e-6));
    NBT_CHECK(same_values(nb_softplus(x, 2.0, 20.0), nb_softplus(g, 2.0, 20.0), 2e-6));
    /* Issue 13's parametrised rows. */
    NBT_CHECK(same_values(nb_square(x), nb_square(g), 0));
    NBT_CHECK(same_values(nb_logsigmoid(x), nb_logsigmoid(g), 2e-6));
    NBT_CHECK(same_values(nb_round_decimals(x, 2), nb_round_decimals(g, 2), 0));
    NBT_CHECK(same_values(nb_round_decimals(x, -1), nb_round_decimals(g, -1), 0));
    NBT_CHECK(same_values(nb_leaky_relu(x, 0.1), nb_leaky_relu(g, 0.1), 0));
    NBT_CHECK(same_values(nb_elu(x, 0.7), nb_elu(g, 0.7), 2e-6));
    NBT_CHECK(same_values(nb_selu(x), nb_selu(g), 2e-6));
    NBT_CHECK(same_values(nb_celu(x, 2.0), nb_celu(g, 2.0), 2e-6));
    NBT_CHECK(same_values(nb_hardtanh(x, -0.5, 0.7), nb_hardtanh(g, -0.5, 0.7), 0));
    NBT_CHECK(same_values(nb_nan_to_num(nb_log(x), 1, NAN, NAN), nb_nan_to_num(nb_log(g), 1, NAN, NAN), 2e-6));
    nb_tensor *ints = nb_randint(-50, 50, NB_SHAPE(1000), NB_OPTS(.dtype = NB_INT32));
    NBT_CHECK(same_values(nb_hardtanh(ints, -7.5, 9.9), nb_hardtanh(nb_to(ints, cuda0), -7.5, 9.9), 0));
    NBT_CHECK(same_values(nb_square(ints), nb_square(nb_to(ints, cuda0)), 0));
    nb_tensor *cond = nb_gt_scalar(x, 0);
    NBT_CHECK(same_values(nb_where(cond, x, nb_neg(x)), nb_where(nb_to(cond, cuda0), g, nb_neg(g)), 0));
    nb_scope_end();
}

/* The same seed gives the same numbers on both devices: uniform and integer
 * values bit for bit, normals to the last bit of log/sin/cos. */
static void test_random_numbers_match_the_cpu(void)
{
    nb_scope_begin();
    nb_tensor *cpu[4], *gpu[4];
    for (int side = 0; side < 2; side++) {
        nb_tensor **out  = side == 0 ? cpu : gpu;
        nb_opts     opts = side == 0 ? NB_OPTS() : NB_OPTS(.device = cuda0);
        nb_opts     f64  = opts;
        f64.dtype        = NB_FLOAT64;
        nb_opts i32      = opts;
        i32.dtype        = NB_INT32;
        nb_manual_seed(11);
        out[0] = nb_rand(NB_SHAPE(1001), opts);
        out[1] = nb_rand(NB_SHAPE(77, 3), f64);
        out[2] = nb_randint(-7, 1000, NB_SHAPE(999), i32);
        out[3] = nb_randn(NB_SHAPE(1001), f64);
    }
    NBT_CHECK(same_values(cpu[0], gpu[0], 0));
    NBT_CHECK(same_values(cpu[1], gpu[1], 0));
    NBT_CHECK(same_values(cpu[2], gpu[2], 0));
    NBT_CHECK(same_values(cpu[3], gpu[3], 1e-15));
    nb_scope_end();
}

/* Fills and ranges made on the GPU are the CPU's. */
static void test_creation_matches_the_cpu(void)
{
    nb_scope_begin();
    nb_opts g32 = NB_OPTS(.device = cuda0), g64 = NB_OPTS(.dtype = NB_FLOAT64, .device = cuda0);
    nb_opts gi  = NB_OPTS(.dtype = NB_INT64, .device = cuda0);
    NBT_CHECK(same_values(nb_full(NB_SHAPE(5, 3), 2.5, NB_OPTS()), nb_full(NB_SHAPE(5, 3), 2.5, g32), 0));
    NBT_CHECK(same_values(nb_zeros(NB_SHAPE(4), NB_OPTS(.dtype = NB_INT32)),
                          nb_zeros(NB_SHAPE(4), NB_OPTS(.dtype = NB_INT32, .device = cuda0)), 0));
    NBT_CHECK(same_values(nb_arange(-3, 17, 0.7, NB_OPTS()), nb_arange(-3, 17, 0.7, g32), 0));
    NBT_CHECK(same_values(nb_arange(5, -40, -3, NB_OPTS(.dtype = NB_INT64)), nb_arange(5, -40, -3, gi), 0));
    NBT_CHECK(same_values(nb_linspace(-1, 1, 101, NB_OPTS()), nb_linspace(-1, 1, 101, g32), 0));
    NBT_CHECK(same_values(nb_linspace(0, 3, 7, NB_OPTS(.dtype = NB_FLOAT64)), nb_linspace(0, 3, 7, g64), 0));
    nb_scope_end();
}

/* Reductions over dims of strided views, and softmax along a dim: the
 * CPU's values (sums within float32/float64 rounding of a different tree;
 * max, min and the arg ops exactly, NaN and ties included). */
static void test_reductions_match_the_cpu(void)
{
    nb_scope_begin();
    for (int k = 0; k < 2; k++) {
        nb_dtype   dtype = float_dtypes[k];
        double     tol   = dtype == NB_FLOAT32 ? 1e-5 : 1e-12;
        nb_tensor *x     = nb_transpose(nb_randn(NB_SHAPE(6, 1000, 5), NB_OPTS(.dtype = dtype)), 0, 2);
        nb_tensor *g     = nb_to(x, cuda0);
        NBT_CHECK(same_values(nb_sum(x), nb_sum(g), tol));
        NBT_CHECK(same_values(nb_sum_dims(x, NB_DIMS(1), false), nb_sum_dims(g, NB_DIMS(1), false), tol));
        NBT_CHECK(same_values(nb_mean_dims(x, NB_DIMS(0, 2), true), nb_mean_dims(g, NB_DIMS(0, 2), true), tol));
        nb_tensor *ci, *gi;
        NBT_CHECK(same_values(nb_max_dim(x, 1, false, &ci), nb_max_dim(g, 1, false, &gi), 0));
        NBT_CHECK(same_values(ci, gi, 0));
        NBT_CHECK(same_values(nb_argmax_dim(x, 2, false), nb_argmax_dim(g, 2, false), 0));
        NBT_CHECK(same_values(nb_softmax(x, 1), nb_softmax(g, 1), tol));
        NBT_CHECK(same_values(nb_log_softmax(x, 0), nb_log_softmax(g, 0), tol));
    }
    nb_scope_end();
}

/* Every other reduce.def row, on every dtype the CUDA backend takes, over
 * a transposed view and over long runs (the block's tree): the CPU's
 * values, integers exactly. NaN and ties in the data exercise max/argmax's
 * first NaN and first occurrence. */
static void test_all_reductions_match_the_cpu(void)
{
    nb_scope_begin();
    for (int k = 0; k < 6; k++) {
        nb_dtype   dtype = all_dtypes[k];
        bool       fl    = nb_dtype_is_floating(dtype);
        double     tol   = dtype == NB_FLOAT32 ? 1e-5 : (dtype == NB_FLOAT64 ? 1e-12 : 0);
        nb_tensor *x     = nb_transpose(sample(NB_SHAPE(4, 700, 3), dtype, false), 0, 2);
        if (fl) x = nb_where(nb_gt_scalar(nb_abs(x), 2.5), nb_full(NB_SHAPE(1), NAN, NB_OPTS(.dtype = dtype)), x);
        nb_tensor *g = nb_to(x, cuda0);
        NBT_CHECK(same_values(nb_sum_dims(x, NB_DIMS(1), false), nb_sum_dims(g, NB_DIMS(1), false), tol));
        NBT_CHECK(same_values(nb_all_dims(x, NB_DIMS(1), false), nb_all_dims(g, NB_DIMS(1), false), 0));
        NBT_CHECK(same_values(nb_any_dims(x, NB_DIMS(0), true), nb_any_dims(g, NB_DIMS(0), true), 0));
        NBT_CHECK(same_values(nb_amax(x, NB_DIMS(1), false), nb_amax(g, NB_DIMS(1), false), 0));
        nb_tensor *small = nb_narrow(x, 1, 0, 6); /* products that stay in range */
        NBT_CHECK(same_values(nb_prod_dims(small, NB_DIMS(1), false), nb_prod_dims(nb_to(small, cuda0), NB_DIMS(1), false),
                              tol));
        if (dtype != NB_BOOL) {
            nb_tensor *ci, *gi;
            NBT_CHECK(same_values(nb_min_dim(x, 1, false, &ci), nb_min_dim(g, 1, false, &gi), 0));
            NBT_CHECK(same_values(ci, gi, 0));
            NBT_CHECK(same_values(nb_argmax(x), nb_argmax(g), 0));
        }
        if (!fl) continue;
        nb_tensor *clean = nb_nan_to_num(x, 0.0, 0.0, 0.0), *gc = nb_to(clean, cuda0);
        for (int64_t correction = 0; correction <= 2; correction++) {
            NBT_CHECK(same_values(nb_var_dims(clean, NB_DIMS(1), correction, false),
                                  nb_var_dims(gc, NB_DIMS(1), correction, false), tol));
            NBT_CHECK(same_values(nb_std(clean, correction), nb_std(gc, correction), tol));
        }
        const double ps[] = { 0, 1, 2, 3.5, INFINITY, -INFINITY };
        for (int i = 0; i < 6; i++)
            NBT_CHECK(same_values(nb_norm_dims(clean, ps[i], NB_DIMS(1), false), nb_norm_dims(gc, ps[i], NB_DIMS(1), false),
                                  tol));
        NBT_CHECK(same_values(nb_logsumexp(clean, NB_DIMS(1), false), nb_logsumexp(gc, NB_DIMS(1), false), tol));
        NBT_CHECK(same_values(nb_logsumexp(x, NB_DIMS(1), false), nb_logsumexp(g, NB_DIMS(1), false), tol));
    }
    nb_scope_end();
}

/* cumsum, cumprod, cummax, cummin on short lines (one thread each) and long
 * ones (a block each), every dtype: the CPU's values and positions. */
static void test_running_ops_match_the_cpu(void)
{
    nb_scope_begin();
    for (int k = 0; k < 6; k++) {
        nb_dtype dtype = all_dtypes[k];
        double   tol   = dtype == NB_FLOAT32 ? 1e-5 : (dtype == NB_FLOAT64 ? 1e-12 : 0);
        for (int len = 0; len < 2; len++) {
            int64_t    n = len == 0 ? 9 : 3000;
            nb_tensor *x = nb_transpose(sample(NB_SHAPE(n, 5), dtype, false), 0, 1);
            if (nb_dtype_is_floating(dtype))
                x = nb_where(nb_gt_scalar(x, 2.5), nb_full(NB_SHAPE(1), NAN, NB_OPTS(.dtype = dtype)), x);
            nb_tensor *g = nb_to(x, cuda0);
            NBT_CHECK(same_values(nb_cumsum(x, 1), nb_cumsum(g, 1), tol));
            nb_tensor *near_one = nb_dtype_is_floating(dtype) ? nb_add_scalar(nb_mul_scalar(x, 0.01), 1.0) : x;
            NBT_CHECK(same_values(nb_cumprod(near_one, 1), nb_cumprod(nb_to(near_one, cuda0), 1), tol));
            nb_tensor *ci, *gi;
            NBT_CHECK(same_values(nb_cummax(x, 1, &ci), nb_cummax(g, 1, &gi), 0));
            NBT_CHECK(same_values(ci, gi, 0));
            NBT_CHECK(same_values(nb_cummin(x, 1, &ci), nb_cummin(g, 1, &gi), 0));
            NBT_CHECK(same_values(ci, gi, 0));
        }
    }
    nb_scope_end();
}

/* sort and topk (stable: ties, -0.0 against 0.0 and NaNs keep input order
 * in both directions), masked_select and nonzero: exactly the CPU's. */
static void test_sort_and_select_match_the_cpu(void)
{
    nb_scope_begin();
    for (int k = 0; k < 6; k++) {
        nb_dtype   dtype = all_dtypes[k];
        nb_tensor *x     = sample(NB_SHAPE(7, 300), dtype, false);
        if (nb_dtype_is_floating(dtype)) {
            x = nb_round(nb_mul_scalar(x, 2.0)); /* ties, and -0.0 next to 0.0 */
            x = nb_where(nb_gt_scalar(x, 3.0), nb_full(NB_SHAPE(1), NAN, NB_OPTS(.dtype = dtype)), x);
        }
        nb_tensor *xt = nb_transpose(x, 0, 1), *g = nb_to(xt, cuda0);
        for (int dim = 0; dim < 2; dim++) {
            for (int descending = 0; descending < 2; descending++) {
                nb_tensor *ci, *gi;
                NBT_CHECK(same_values(nb_sort(xt, dim, descending, &ci), nb_sort(g, dim, descending, &gi), 0));
                NBT_CHECK(same_values(ci, gi, 0));
                if (dtype == NB_BOOL) continue;
                NBT_CHECK(same_values(nb_topk(xt, 3, dim, descending, &ci), nb_topk(g, 3, dim, descending, &gi), 0));
                NBT_CHECK(same_values(ci, gi, 0));
            }
        }
        nb_tensor *mask = nb_gt_scalar(nb_randn(NB_SHAPE(300, 1), NB_OPTS()), 0.0);
        NBT_CHECK(same_values(nb_masked_select(xt, mask), nb_masked_select(g, nb_to(mask, cuda0)), 0));
        NBT_CHECK(same_values(nb_nonzero(xt), nb_nonzero(g), 0));
    }
    nb_tensor *big = nb_gt_scalar(nb_randn(NB_SHAPE(3, 100000), NB_OPTS()), 1.0); /* many pieces */
    NBT_CHECK(same_values(nb_nonzero(big), nb_nonzero(nb_to(big, cuda0)), 0));
    nb_scope_end();
}

/* nb_embedding on the GPU: the CPU's rows and weight gradient (repeated
 * indices add up), and an index out of range is the CPU's error. */
static void test_embedding_matches_the_cpu(void)
{
    nb_scope_begin();
    nb_tensor *index = nb_randint(0, 10, NB_SHAPE(6, 7), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *w[2], *out[2];
    for (int side = 0; side < 2; side++) {
        nb_device device = side == 0 ? NB_DEVICE_CPU : cuda0;
        w[side]          = nb_clone(nb_to(nb_arange(0, 40, 1, NB_OPTS(.dtype = NB_FLOAT64)), device));
        w[side]          = nb_reshape(w[side], NB_SHAPE(10, 4));
        w[side]          = nb_contiguous(w[side]);
        nb_requires_grad_(w[side], true);
        out[side] = nb_embedding(nb_to(index, device), w[side]);
        NBT_CHECK(out[side] != NULL && nb_backward(nb_sum(nb_mul(out[side], out[side]))) == NB_OK);
    }
    NBT_CHECK(same_values(out[0], out[1], 0));
    NBT_CHECK(same_values(nb_grad(w[0]), nb_grad(w[1]), 0));
    nb_tensor *bad = nb_to(nb_from_data((int64_t[]){ 3, 10, -1 }, NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64)), cuda0);
    NBT_CHECK(nb_embedding(bad, w[1]) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_embedding: index 10 is out of range for 10 embeddings");
    NBT_CHECK(nb_embedding(index, w[1]) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DEVICE, "nb_embedding: expected all tensors on one device");
    nb_scope_end();
}

/* The fused cross-entropy (loss and gradient) and an Adam step on the GPU
 * give the CPU's numbers. */
static void test_cross_entropy_and_adam_match_the_cpu(void)
{
    nb_scope_begin();
    nb_tensor *logits = nb_randn(NB_SHAPE(64, 10), NB_OPTS());
    nb_tensor *target = nb_randint(0, 10, NB_SHAPE(64), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *p[2], *loss[2], *grads[2];
    for (int side = 0; side < 2; side++) {
        nb_device device = side == 0 ? NB_DEVICE_CPU : cuda0;
        p[side]          = nb_clone(nb_to(logits, device));
        nb_requires_grad_(p[side], true);
        loss[side] = nb_cross_entropy(p[side], nb_to(target, device), NB_CROSS_ENTROPY_OPTS());
        NBT_CHECK(loss[side] != NULL && nb_backward(loss[side]) == NB_OK);
        grads[side]   = nb_clone(nb_grad(p[side]));
        nb_adam_opts o = nb_adam_defaults();
        o.lr           = 0.01;
        nb_optim *adam = nb_adam_new(&p[side], 1, o);
        NBT_CHECK(adam != NULL && nb_optim_step(adam) == NB_OK && nb_optim_step(adam) == NB_OK);
        nb_optim_free(adam);
    }
    NBT_CHECK(same_values(loss[0], loss[1], 1e-6));
    NBT_CHECK(same_values(grads[0], grads[1], 1e-6));
    NBT_CHECK(same_values(p[0], p[1], 1e-6));
    nb_scope_end();
}

/* gather, index_select, scatter (repeated indices: last write wins),
 * scatter_add (in index order), masked_fill and one_hot: the CPU's values;
 * an index out of range is the CPU's error. */
static void test_indexing_matches_the_cpu(void)
{
    nb_scope_begin();
    nb_tensor *t     = nb_randn(NB_SHAPE(6, 9), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *index = nb_randint(0, 6, NB_SHAPE(4, 9), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *src   = nb_randn(NB_SHAPE(4, 9), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *mask  = nb_gt_scalar(t, 0.3);
    nb_tensor *gt = nb_to(t, cuda0), *gi = nb_to(index, cuda0), *gs = nb_to(src, cuda0), *gm = nb_to(mask, cuda0);
    NBT_CHECK(same_values(nb_gather(t, 0, index), nb_gather(gt, 0, gi), 0));
    NBT_CHECK(same_values(nb_index_select(t, 1, nb_select(index, 0, 0)), nb_index_select(gt, 1, nb_select(gi, 0, 0)), 0));
    NBT_CHECK(same_values(nb_scatter(t, 0, index, src), nb_scatter(gt, 0, gi, gs), 0));
    NBT_CHECK(same_values(nb_scatter_add(t, 0, index, src), nb_scatter_add(gt, 0, gi, gs), 0));
    NBT_CHECK(same_values(nb_masked_fill(t, mask, -7.5), nb_masked_fill(gt, gm, -7.5), 0));
    NBT_CHECK(same_values(nb_one_hot(nb_select(index, 0, 1), 6), nb_one_hot(nb_select(gi, 0, 1), 6), 0));
    nb_tensor *bad = nb_to(nb_full(NB_SHAPE(4, 9), 6, NB_OPTS(.dtype = NB_INT64)), cuda0);
    NBT_CHECK(nb_gather(gt, 0, bad) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "index 6 is out of bounds for dim 0 with size 6");
    nb_scope_end();
}

/* Products of every shape family matmul takes (vector, matrix, batched,
 * broadcast batch, transposed views), float64 and int64: the CPU's. */
static void test_matmul_matches_the_cpu(void)
{
    nb_scope_begin();
    nb_tensor *cases[][2] = {
        { nb_randn(NB_SHAPE(7), NB_OPTS(.dtype = NB_FLOAT64)), nb_randn(NB_SHAPE(7), NB_OPTS(.dtype = NB_FLOAT64)) },
        { nb_randn(NB_SHAPE(5, 7), NB_OPTS(.dtype = NB_FLOAT64)), nb_randn(NB_SHAPE(7), NB_OPTS(.dtype = NB_FLOAT64)) },
        { nb_randn(NB_SHAPE(3, 5, 7), NB_OPTS(.dtype = NB_FLOAT64)), nb_randn(NB_SHAPE(7, 4), NB_OPTS(.dtype = NB_FLOAT64)) },
        { nb_randn(NB_SHAPE(2, 1, 5, 7), NB_OPTS(.dtype = NB_FLOAT64)), nb_randn(NB_SHAPE(3, 7, 4), NB_OPTS(.dtype = NB_FLOAT64)) },
        { nb_transpose(nb_randn(NB_SHAPE(7, 5), NB_OPTS(.dtype = NB_FLOAT64)), 0, 1),
          nb_transpose(nb_randn(NB_SHAPE(4, 7), NB_OPTS(.dtype = NB_FLOAT64)), 0, 1) },
        { nb_randint(-9, 9, NB_SHAPE(3, 5, 7), NB_OPTS(.dtype = NB_INT64)), nb_randint(-9, 9, NB_SHAPE(7, 4), NB_OPTS(.dtype = NB_INT64)) },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nb_tensor *cpu = nb_matmul(cases[i][0], cases[i][1]);
        nb_tensor *gpu = nb_matmul(nb_to(cases[i][0], cuda0), nb_to(cases[i][1], cuda0));
        if (!(cpu && gpu && same_values(cpu, gpu, 1e-12))) {
            NBT_CHECK(!"matmul differs");
            fprintf(stderr, "  case %zu: %s\n", i, nb_last_error());
            nb_clear_error();
        }
    }
    nb_scope_end();
}

/* Five training steps of a small MLP (linear, relu, linear, cross-entropy,
 * Adam) on each device from the same weights end at the same weights. */
static void test_mlp_training_matches_the_cpu(void)
{
    nb_tensor *weights[2][4];
    nb_module *nets[2];
    for (int side = 0; side < 2; side++) {
        nb_manual_seed(21);
        nb_module *layers[3] = { nb_linear_new(20, 32, true), nb_relu_new(), nb_linear_new(32, 10, true) };
        nets[side]           = nb_sequential_new(layers, 3);
        nb_device device     = side == 0 ? NB_DEVICE_CPU : cuda0;
        NBT_CHECK(nb_module_to(nets[side], device) == NB_OK);
        nb_optim *adam = nb_adam_for(nets[side], nb_adam_defaults());
        nb_manual_seed(22);
        for (int step = 0; step < 5; step++) {
            nb_scope_begin();
            nb_tensor *x    = nb_to(nb_randn(NB_SHAPE(16, 20), NB_OPTS()), device);
            nb_tensor *y    = nb_to(nb_randint(0, 10, NB_SHAPE(16), NB_OPTS(.dtype = NB_INT64)), device);
            nb_tensor *loss = nb_cross_entropy(nb_module_forward(nets[side], x), y, NB_CROSS_ENTROPY_OPTS());
            nb_optim_zero_grad(adam);
            NBT_CHECK(loss != NULL && nb_backward(loss) == NB_OK && nb_optim_step(adam) == NB_OK);
            nb_scope_end();
        }
        nb_optim_free(adam);
        NBT_CHECK(nb_module_parameters(nets[side], weights[side], NULL, 4) == 4);
    }
    for (int i = 0; i < 4; i++) NBT_CHECK(same_values(weights[0][i], weights[1][i], 1e-5));
    nb_module_free(nets[0]);
    nb_module_free(nets[1]);
}

static void test_integer_division_by_zero_is_an_error(void)
{
    nb_scope_begin();
    nb_tensor *a = nb_to(nb_arange(0, 4, 1, NB_OPTS(.dtype = NB_INT64)), cuda0);
    nb_tensor *z = nb_to(nb_zeros(NB_SHAPE(4), NB_OPTS(.dtype = NB_INT64)), cuda0);
    NBT_CHECK(nb_floor_divide(a, z) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "integer division by zero");
    nb_scope_end();
}

static void test_mixing_devices_is_an_error(void)
{
    nb_scope_begin();
    nb_tensor *c = nb_ones(NB_SHAPE(3), NB_OPTS());
    nb_tensor *g = nb_to(c, cuda0);
    NBT_CHECK(nb_add(c, g) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DEVICE, "nb_add: expected all tensors on one device, got a on cpu and b on cuda:0");
    nb_scope_end();
}

static void test_gradient_flows_back_through_moves(void)
{
    nb_scope_begin();
    nb_tensor *x  = nb_randn(NB_SHAPE(6), NB_OPTS(.requires_grad = true));
    nb_tensor *y  = nb_to(x, cuda0);
    nb_tensor *z  = nb_mul(y, y);
    nb_tensor *zc = nb_to(z, NB_DEVICE_CPU);
    NBT_CHECK(nb_backward(nb_sum(zc)) == NB_OK);
    nb_tensor *twice = nb_mul_scalar(x, 2.0);
    NBT_CHECK(nb_grad(x) != NULL && same_values(twice, nb_grad(x), 1e-6));
    nb_scope_end();
}

static void test_allocator_returns_to_its_start(void)
{
    nb_cuda_memory_stats before, after;
    NBT_CHECK(nb_cuda_memory(0, &before) == NB_OK);
    for (int step = 0; step < 20; step++) {
        nb_scope_begin();
        nb_tensor *a = nb_to(nb_randn(NB_SHAPE(257, 129), NB_OPTS()), cuda0);
        nb_tensor *b = nb_exp(nb_add(a, a));
        NBT_CHECK(b != NULL);
        nb_scope_end();
    }
    NBT_CHECK(nb_cuda_memory(0, &after) == NB_OK);
    NBT_CHECK(after.allocated == before.allocated);
    NBT_CHECK(after.peak_allocated >= before.allocated + 257 * 129 * 4);
    nb_cuda_empty_cache();
    NBT_CHECK(nb_cuda_memory(0, &after) == NB_OK);
    NBT_CHECK(after.reserved == after.allocated);
}

int main(void)
{
    if (!nb_cuda_is_available()) {
        printf("test_cuda: skipped: no CUDA device (this build has no CUDA backend, or this machine no GPU)\n");
        return 0;
    }
    nb_manual_seed(7);
    NBT_RUN(test_moves_are_exact);
    NBT_RUN(test_unary_ops_match_the_cpu);
    NBT_RUN(test_binary_ops_match_the_cpu);
    NBT_RUN(test_elementwise_gradients_match_the_cpu);
    NBT_RUN(test_parametrised_ops_and_where);
    NBT_RUN(test_random_numbers_match_the_cpu);
    NBT_RUN(test_creation_matches_the_cpu);
    NBT_RUN(test_reductions_match_the_cpu);
    NBT_RUN(test_all_reductions_match_the_cpu);
    NBT_RUN(test_running_ops_match_the_cpu);
    NBT_RUN(test_sort_and_select_match_the_cpu);
    NBT_RUN(test_cross_entropy_and_adam_match_the_cpu);
    NBT_RUN(test_indexing_matches_the_cpu);
    NBT_RUN(test_embedding_matches_the_cpu);
    NBT_RUN(test_matmul_matches_the_cpu);
    NBT_RUN(test_mlp_training_matches_the_cpu);
    NBT_RUN(test_integer_division_by_zero_is_an_error);
    NBT_RUN(test_mixing_devices_is_an_error);
    NBT_RUN(test_gradient_flows_back_through_moves);
    NBT_RUN(test_allocator_returns_to_its_start);
    return nbt_finish();
}
