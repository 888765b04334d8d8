/*
 * test_elementwise13.c — what the op tables cannot show of issue 13's
 * elementwise ops: dtype rules particular to one op (square of bool, integer
 * hardtanh bounds, isclose of integers), C's fmod against Python's
 * remainder with their gradients, nan_to_num's defaults, rounding ties,
 * gradients at the exact kinks (values read from torch 1.13), prelu and glu
 * through gradcheck, and the activation modules of nn.h.
 */
#include "cpu/vecmath.h"
#include "nb_test.h"

#include <float.h>
#include <stdint.h>

/* d/dx sum(op(x)) for x holding values (float32, as torch's printed ones). */
static nb_tensor *gradient_of(nb_tensor *(*op)(const nb_tensor *), const double *values, int64_t n)
{
    nb_tensor *x = nbt_tensor(NB_SHAPE(n), NB_FLOAT32, values);
    nb_requires_grad_(x, true);
    nb_tensor *y = op(x);
    nb_tensor *g = NULL;
    if (y != NULL && nb_backward(nb_sum(y)) == NB_OK) g = nb_clone(nb_grad(x));
    nb_free(y);
    nb_free(x);
    return g;
}

static const double kinks[7] = { -1, 0, 6, 1, -3, 3, NAN };

static nb_tensor *hardtanh_default(const nb_tensor *t) { return nb_hardtanh(t, -1, 1); }
static nb_tensor *leaky_relu_01(const nb_tensor *t) { return nb_leaky_relu(t, 0.1); }
static nb_tensor *elu_1(const nb_tensor *t) { return nb_elu(t, 1); }
static nb_tensor *celu_2(const nb_tensor *t) { return nb_celu(t, 2); }
static nb_tensor *nan_to_num_default(const nb_tensor *t) { return nb_nan_to_num(t, 0, NAN, NAN); }

/* torch 1.13: torch.autograd.grad(F.op(x).sum(), x) at the kinks above. */
static void test_gradients_at_kinks(void)
{
    nb_scope_begin();
    NBT_CHECK_TENSOR(gradient_of(hardtanh_default, kinks, 7), NB_SHAPE(7), 0, 0, 1, 0, 0, 0, 0, 1);
    NBT_CHECK_TENSOR(gradient_of(nb_relu6, kinks, 7), NB_SHAPE(7), 0, 0, 0, 0, 1, 0, 1, 1);
    NBT_CHECK_TENSOR(gradient_of(nb_hardswish, kinks, 7), NB_SHAPE(7), 1e-6, 1.0 / 6, 0.5, 1, 5.0 / 6, -0.5, 1.5, 1);
    NBT_CHECK_TENSOR(gradient_of(nb_hardsigmoid, kinks, 7), NB_SHAPE(7), 1e-6, 1.0 / 6, 1.0 / 6, 0, 1.0 / 6, 0, 0, 0);
    NBT_CHECK_TENSOR(gradient_of(leaky_relu_01, kinks, 7), NB_SHAPE(7), 1e-7, 0.1, 0.1, 1, 1, 0.1, 1, 0.1);
    NBT_CHECK_TENSOR(gradient_of(elu_1, kinks, 7), NB_SHAPE(7), 1e-6, 0.36787944, 1, 1, 1, 0.049787068, 1, 1);
    NBT_CHECK_TENSOR(gradient_of(nb_selu, kinks, 7), NB_SHAPE(7), 1e-6, 0.64676863, 1.7580993, 1.0507010, 1.0507010,
                     0.087530605, 1.0507010, 1.0507010);
    NBT_CHECK_TENSOR(gradient_of(celu_2, kinks, 7), NB_SHAPE(7), 1e-6, 0.60653066, 1, 1, 1, 0.22313017, 1, 1);
    NBT_CHECK_TENSOR(gradient_of(nb_floor, kinks, 7), NB_SHAPE(7), 0, 0, 0, 0, 0, 0, 0, 0);
    NBT_CHECK_TENSOR(gradient_of(nb_frac, kinks, 7), NB_SHAPE(7), 0, 1, 1, 1, 1, 1, 1, 1);
    NBT_CHECK_TENSOR(gradient_of(nan_to_num_default, kinks, 7), NB_SHAPE(7), 0, 1, 1, 1, 1, 1, 1, 0);
    NBT_CHECK_TENSOR(gradient_of(nb_sinc, (const double[]){ 0, -0.0, 1 }, 3), NB_SHAPE(3), 1e-6, 0, 0, -1);
    NBT_CHECK_TENSOR(gradient_of(nb_square, kinks, 7), NB_SHAPE(7), 0, -2, 0, 12, 2, -6, 6, NAN);
    NBT_CHECK_TENSOR(gradient_of(nb_reciprocal, (const double[]){ -1, 0, 1, INFINITY }, 4), NB_SHAPE(4), 0, -1,
                     -INFINITY, -1, -0.0);
    nb_scope_end();
}

static void test_values_torch_gives(void)
{
    nb_scope_begin();
    /* Half to even, and round(decimals) in both directions. */
    nb_tensor *ties = nbt_tensor(NB_SHAPE(5), NB_FLOAT32, (const double[]){ 0.5, 1.5, 2.5, -0.5, -2.5 });
    NBT_CHECK_TENSOR(nb_round(ties), NB_SHAPE(5), 0, 0, 2, 2, -0.0, -2);
    nb_tensor *hundreds = nbt_tensor(NB_SHAPE(2), NB_FLOAT32, (const double[]){ 1234.5, 1250 });
    NBT_CHECK_TENSOR(nb_round_decimals(hundreds, -2), NB_SHAPE(2), 0, 1200, 1200);
    nb_tensor *digits = nbt_tensor(NB_SHAPE(2), NB_FLOAT64, (const double[]){ 1.2345678, -2.675 });
    /* -2.675 * 100 rounds to -267.5 in float64, then to even: -2.68 (torch too). */
    NBT_CHECK_TENSOR(nb_round_decimals(digits, 2), NB_SHAPE(2), 1e-15, 1.23, -2.68);
    /* Integers pass through rounding; bool does not (torch). */
    nb_tensor *ints = nbt_tensor(NB_SHAPE(4), NB_INT64, (const double[]){ -3, 0, 2, 7 });
    NBT_CHECK_TENSOR_IS(nb_ceil(ints), NB_INT64, NB_SHAPE(4), (int64_t[]){ -3, 0, 2, 7 });
    nb_tensor *mask = nbt_tensor(NB_SHAPE(2), NB_BOOL, (const double[]){ 1, 0 });
    NBT_CHECK(nb_floor(mask) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_floor");
    nb_clear_error();
    /* square: bool becomes int64, uint8 wraps; in place, bool is refused. */
    NBT_CHECK_TENSOR_IS(nb_square(mask), NB_INT64, NB_SHAPE(2), (int64_t[]){ 1, 0 });
    nb_tensor *bytes = nbt_tensor(NB_SHAPE(2), NB_UINT8, (const double[]){ 200, 15 });
    NBT_CHECK_TENSOR_IS(nb_square(bytes), NB_UINT8, NB_SHAPE(2), (uint8_t[]){ 64, 225 });
    NBT_CHECK(nb_square_(nb_clone(mask)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_square_");
    nb_clear_error();
    /* hardtanh on integers: bounds truncated toward zero; uint8 refuses
     * negative ones. */
    NBT_CHECK_TENSOR_IS(nb_hardtanh(ints, -0.5, 2.5), NB_INT64, NB_SHAPE(4), (int64_t[]){ 0, 0, 2, 2 });
    NBT_CHECK_TENSOR_IS(nb_hardtanh(ints, -1.7, 2.2), NB_INT64, NB_SHAPE(4), (int64_t[]){ -1, 0, 2, 2 });
    NBT_CHECK(nb_hardtanh(bytes, -1, 100) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "unsigned type with negative limits");
    nb_clear_error();
    /* nan_to_num's defaults are the dtype's extremes. */
    const double specials[4] = { NAN, INFINITY, -INFINITY, 1 };
    NBT_CHECK_TENSOR(nb_nan_to_num(nbt_tensor(NB_SHAPE(4), NB_FLOAT32, specials), 0, NAN, NAN), NB_SHAPE(4), 0, 0,
                     FLT_MAX, -FLT_MAX, 1);
    NBT_CHECK_TENSOR(nb_nan_to_num(nbt_tensor(NB_SHAPE(4), NB_FLOAT64, specials), 0, NAN, NAN), NB_SHAPE(4), 0, 0,
                     DBL_MAX, -DBL_MAX, 1);
    NBT_CHECK_TENSOR(nb_nan_to_num(nbt_tensor(NB_SHAPE(4), NB_FLOAT64, specials), 2, 3, -4), NB_SHAPE(4), 0, 2, 3, -4, 1);
    /* Large magnitudes without overflow. */
    nb_tensor *far = nbt_tensor(NB_SHAPE(3), NB_FLOAT64, (const double[]){ -100, 100, -1000 });
    NBT_CHECK_TENSOR(nb_logsigmoid(far), NB_SHAPE(3), 1e-12, -100, -3.7200759760208356e-44, -1000);
    /* Bitwise ops: two's complement on signed, bool as logical. */
    nb_tensor *i32 = nbt_tensor(NB_SHAPE(3), NB_INT32, (const double[]){ -1, 6, -8 });
    nb_tensor *j32 = nbt_tensor(NB_SHAPE(3), NB_INT32, (const double[]){ 6, 3, 3 });
    NBT_CHECK_TENSOR_IS(nb_bitwise_and(i32, j32), NB_INT32, NB_SHAPE(3), (int32_t[]){ 6, 2, 0 });
    NBT_CHECK_TENSOR_IS(nb_bitwise_or(i32, j32), NB_INT32, NB_SHAPE(3), (int32_t[]){ -1, 7, -5 });
    NBT_CHECK_TENSOR_IS(nb_bitwise_xor(i32, j32), NB_INT32, NB_SHAPE(3), (int32_t[]){ -7, 5, -5 });
    NBT_CHECK_TENSOR_IS(nb_bitwise_not(bytes), NB_UINT8, NB_SHAPE(2), (uint8_t[]){ 55, 240 });
    NBT_CHECK_TENSOR_IS(nb_bitwise_not(mask), NB_BOOL, NB_SHAPE(2), (uint8_t[]){ 0, 1 });
    NBT_CHECK(nb_bitwise_and(i32, nb_to_dtype(j32, NB_FLOAT32)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "expected an integer or bool tensor");
    nb_clear_error();
    nb_scope_end();
}

/* C's fmod (sign of a) against Python's remainder (sign of b), values and
 * gradients (torch: d/db fmod = -trunc(a / b), remainder -floor(a / b)). */
static void test_fmod_and_remainder(void)
{
    nb_scope_begin();
    nb_tensor *a = nbt_tensor(NB_SHAPE(4), NB_INT64, (const double[]){ 7, -7, 7, -7 });
    nb_tensor *b = nbt_tensor(NB_SHAPE(4), NB_INT64, (const double[]){ 3, 3, -3, -3 });
    NBT_CHECK_TENSOR_IS(nb_fmod(a, b), NB_INT64, NB_SHAPE(4), (int64_t[]){ 1, -1, 1, -1 });
    NBT_CHECK_TENSOR_IS(nb_remainder(a, b), NB_INT64, NB_SHAPE(4), (int64_t[]){ 1, 2, -2, -1 });
    nb_tensor *smallest = nb_from_data((const int64_t[]){ INT64_MIN }, NB_SHAPE(1), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK_TENSOR_IS(nb_fmod_scalar(smallest, -1), NB_INT64, NB_SHAPE(1), (int64_t[]){ 0 });
    NBT_CHECK(nb_fmod(a, nb_zeros_like(b)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_fmod: integer division by zero");
    nb_clear_error();
    nb_tensor *kept = nb_clone(a);
    NBT_CHECK(nb_fmod_scalar_(kept, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_fmod_scalar_: integer division by zero");
    nb_clear_error();
    NBT_CHECK_TENSOR_IS(kept, NB_INT64, NB_SHAPE(4), (int64_t[]){ 7, -7, 7, -7 });

    nb_tensor *x = nbt_tensor(NB_SHAPE(3), NB_FLOAT64, (const double[]){ -3.5, 3.5, 2 });
    nb_tensor *y = nbt_tensor(NB_SHAPE(3), NB_FLOAT64, (const double[]){ 2, -2, INFINITY });
    NBT_CHECK_TENSOR(nb_fmod(x, y), NB_SHAPE(3), 0, -1.5, 1.5, 2);
    NBT_CHECK_TENSOR(nb_remainder(x, y), NB_SHAPE(3), 0, 0.5, -0.5, 2);
    nb_requires_grad_(x, true);
    nb_requires_grad_(y, true);
    NBT_CHECK(nb_backward(nb_sum(nb_fmod(x, y))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(y), NB_SHAPE(3), 0, 1, 1, -0.0);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 0, 1, 1, 1);
    nb_zero_grad((nb_tensor *[]){ x, y }, 2);
    NBT_CHECK(nb_backward(nb_sum(nb_remainder(x, y))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(y), NB_SHAPE(3), 0, 2, 2, -0.0);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 0, 1, 1, 1);
    /* -0.0 keeps its sign in both. */
    nb_tensor *negative_zero = nbt_tensor(NB_SHAPE(1), NB_FLOAT64, (const double[]){ -0.0 });
    NBT_CHECK_TENSOR_IS(nb_remainder_scalar(negative_zero, 3), NB_FLOAT64, NB_SHAPE(1), (double[]){ -0.0 });
    NBT_CHECK_TENSOR_IS(nb_fmod_scalar(negative_zero, 3), NB_FLOAT64, NB_SHAPE(1), (double[]){ -0.0 });
    nb_scope_end();
}

static void test_isclose_and_allclose(void)
{
    nb_scope_begin();
    nb_tensor *a = nbt_tensor(NB_SHAPE(4), NB_FLOAT32, (const double[]){ 1, INFINITY, NAN, INFINITY });
    nb_tensor *b = nbt_tensor(NB_SHAPE(4), NB_FLOAT32, (const double[]){ 1 + 1e-9, INFINITY, NAN, -INFINITY });
    NBT_CHECK_TENSOR_IS(nb_isclose(a, b, 1e-5, 1e-8, true), NB_BOOL, NB_SHAPE(4), (uint8_t[]){ 1, 1, 1, 0 });
    NBT_CHECK_TENSOR_IS(nb_isclose(a, b, 1e-5, 1e-8, false), NB_BOOL, NB_SHAPE(4), (uint8_t[]){ 1, 1, 0, 0 });
    /* Integers compare in float32: no uint8 wrap, int64 rounds past 2^24. */
    nb_tensor *u = nbt_tensor(NB_SHAPE(2), NB_UINT8, (const double[]){ 4, 6 });
    nb_tensor *v = nbt_tensor(NB_SHAPE(2), NB_UINT8, (const double[]){ 6, 4 });
    NBT_CHECK_TENSOR_IS(nb_isclose(u, v, 0, 2, false), NB_BOOL, NB_SHAPE(2), (uint8_t[]){ 1, 1 });
    nb_tensor *big  = nb_from_data((const int64_t[]){ 16777217 }, NB_SHAPE(1), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *near = nb_from_data((const int64_t[]){ 16777216 }, NB_SHAPE(1), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK_TENSOR_IS(nb_isclose(big, near, 0, 0.5, false), NB_BOOL, NB_SHAPE(1), (uint8_t[]){ 1 });
    bool close = false;
    NBT_CHECK(nb_allclose(a, a, 1e-5, 1e-8, true, &close) == NB_OK && close);
    NBT_CHECK(nb_allclose(a, b, 1e-5, 1e-8, true, &close) == NB_OK && !close);
    close = true;
    NBT_CHECK(nb_allclose(a, nb_to_dtype(b, NB_FLOAT64), 1e-5, 1e-8, true, &close) == NB_ERR_DTYPE && !close);
    nb_clear_error();
    nb_scope_end();
}

static nb_tensor *apply_prelu(nb_tensor *const *inputs, int count, void *user)
{
    (void)count, (void)user;
    return nb_prelu(inputs[0], inputs[1]);
}

static nb_tensor *apply_glu(nb_tensor *const *inputs, int count, void *user)
{
    (void)count;
    return nb_glu(inputs[0], *(const int *)user);
}

/* float64 values away from 0 (prelu's kink). */
static nb_tensor *away_from_zero(nb_shape shape)
{
    nb_tensor *r    = nb_rand(shape, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *sign = nb_sign(nb_sub_scalar(nb_rand(shape, NB_OPTS(.dtype = NB_FLOAT64)), 0.5));
    nb_tensor *x    = nb_mul(nb_add_scalar(r, 0.2), sign);
    nb_requires_grad_(x, true);
    return x;
}

static void test_prelu_and_glu_gradients(void)
{
    nb_scope_begin();
    nb_manual_seed(13);
    nb_tensor *x = away_from_zero(NB_SHAPE(2, 3, 4));
    nb_tensor *per_channel = nb_rand(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *one         = nb_rand(NB_SHAPE(1), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nbt_gradcheck("prelu per channel", apply_prelu, (nb_tensor *[]){ x, per_channel }, 2, NULL, 2);
    nbt_gradcheck("prelu one weight", apply_prelu, (nb_tensor *[]){ x, one }, 2, NULL, 2);
    /* torch's value at x == 0: the gradient of x is the weight there. */
    nb_tensor *at_zero = nb_zeros(NB_SHAPE(1, 2), NB_OPTS(.requires_grad = true));
    nb_tensor *w       = nb_full(NB_SHAPE(1), 0.5, NB_OPTS(.requires_grad = true));
    NBT_CHECK(nb_backward(nb_sum(nb_prelu(at_zero, w))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(at_zero), NB_SHAPE(1, 2), 0, 0.5, 0.5);
    NBT_CHECK_TENSOR(nb_grad(w), NB_SHAPE(1), 0, 0);
    int dims[2] = { -1, 0 };
    nb_tensor *g = nb_randn(NB_SHAPE(4, 6), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nbt_gradcheck("glu dim -1", apply_glu, &g, 1, &dims[0], 2);
    nbt_gradcheck("glu dim 0", apply_glu, &g, 1, &dims[1], 2);
    nb_scope_end();
}

static void test_modules(void)
{
    nb_scope_begin();
    nb_tensor *x = nbt_tensor(NB_SHAPE(2, 3), NB_FLOAT32, (const double[]){ -2, -0.5, 0, 0.5, 2, 7 });
    nb_module *leaky = nb_leaky_relu_new(0.1), *hardtanh = nb_hardtanh_new(-1, 1), *relu6 = nb_relu6_new();
    nb_module *celu = nb_celu_new(2), *glu = nb_glu_new(0), *prelu = nb_prelu_new(3, 0.25);
    NBT_CHECK(leaky && hardtanh && relu6 && celu && glu && prelu);
    NBT_CHECK(strcmp(nb_module_type(leaky), "LeakyReLU") == 0 && strcmp(nb_module_type(prelu), "PReLU") == 0);
    NBT_CHECK_TENSOR(nb_module_forward(leaky, x), NB_SHAPE(2, 3), 1e-7, -0.2, -0.05, 0, 0.5, 2, 7);
    NBT_CHECK_TENSOR(nb_module_forward(hardtanh, x), NB_SHAPE(2, 3), 0, -1, -0.5, 0, 0.5, 1, 1);
    NBT_CHECK_TENSOR(nb_module_forward(relu6, x), NB_SHAPE(2, 3), 0, 0, 0, 0, 0.5, 2, 6);
    NBT_CHECK_TENSOR(nb_module_forward(celu, x), NB_SHAPE(2, 3), 1e-6, 2 * expm1(-1.0), 2 * expm1(-0.25), 0, 0.5, 2, 7);
    NBT_CHECK_TENSOR(nb_module_forward(glu, x), NB_SHAPE(1, 3), 1e-6, -2 / (1 + exp(-0.5)), -0.5 / (1 + exp(-2.0)),
                     0 / (1 + exp(-7.0)));
    /* PReLU: one parameter, (3,) of 0.25, against dim 1 of x. */
    nb_tensor *weight = NULL;
    NBT_CHECK(nb_module_parameters(prelu, &weight, NULL, 1) == 1);
    NBT_CHECK_TENSOR(weight, NB_SHAPE(3), 0, 0.25, 0.25, 0.25);
    NBT_CHECK_TENSOR(nb_module_forward(prelu, x), NB_SHAPE(2, 3), 0, -0.5, -0.125, 0, 0.5, 2, 7);
    NBT_CHECK(nb_hardtanh_new(1, -1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_hardtanh_new");
    nb_clear_error();
    nb_module_free(leaky);
    nb_module_free(hardtanh);
    nb_module_free(relu6);
    nb_module_free(celu);
    nb_module_free(glu);
    nb_module_free(prelu);
    nb_scope_end();
}

/* vecmath.h's expm1 and log1p (mish, logsigmoid, elu and celu run on them
 * in float32) against double libm over a sweep of magnitudes and signs. */
static void test_vectorizable_expm1_and_log1p(void)
{
    double worst_expm1 = 0, worst_log1p = 0;
    for (double magnitude = 1e-30; magnitude < 1e30; magnitude *= 1.0137) {
        for (int sign = -1; sign <= 1; sign += 2) {
            float x = (float)(sign * magnitude);
            if (fabs(x) < 88) {
                double want = expm1((double)x), got = nbi_expm1f(x);
                double err  = fabs(got - want) / fmax(fabs(want), 1e-37);
                worst_expm1 = fmax(worst_expm1, err);
            }
            if (x > -1) {
                double want = log1p((double)x), got = nbi_log1pf(x);
                double err  = fabs(got - want) / fmax(fabs(want), 1e-37);
                worst_log1p = fmax(worst_log1p, err);
            }
        }
    }
    NBT_CHECK(worst_expm1 < 4e-7);
    NBT_CHECK(worst_log1p < 4e-7);
    if (worst_expm1 >= 4e-7 || worst_log1p >= 4e-7)
        fprintf(stderr, "  worst relative error: expm1 %g, log1p %g\n", worst_expm1, worst_log1p);
    NBT_CHECK(nbi_expm1f(-INFINITY) == -1 && nbi_expm1f(INFINITY) == INFINITY && isnan(nbi_expm1f(NAN)));
    NBT_CHECK(nbi_log1pf(-1) == -INFINITY && isnan(nbi_log1pf(-2)) && nbi_log1pf(INFINITY) == INFINITY);
    NBT_CHECK(isnan(nbi_log1pf(NAN)) && nbi_log1pf(0) == 0 && nbi_log1pf(1e-30f) == 1e-30f);
}

int main(void)
{
    NBT_RUN(test_vectorizable_expm1_and_log1p);
    NBT_RUN(test_gradients_at_kinks);
    NBT_RUN(test_values_torch_gives);
    NBT_RUN(test_fmod_and_remainder);
    NBT_RUN(test_isclose_and_allclose);
    NBT_RUN(test_prelu_and_glu_gradients);
    NBT_RUN(test_modules);
    return nbt_finish();
}
