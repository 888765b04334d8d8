/*
 * test_elementwise.c — the table-driven op test for the elementwise
 * primitives: it walks src/core/ops.def, so an op registered there is tested
 * here with no further edit, and an op with no reference formula below fails.
 *
 * For every op and every dtype the op takes: values against a float64
 * reference (libm) on contiguous, transposed, strided-slice and broadcast
 * operands, 0-d and empty tensors; dtypes the op refuses give NB_ERR_DTYPE;
 * and every instruction-set build of the kernels (baseline, AVX2, AVX-512)
 * agrees with the baseline.
 */
#include "autograd/elementwise_derivatives.h"
#include "cpu/cpu.h"
#include "nb_test.h"

/* ------------------------------------------------------------------------ */
/* Reference formulas, written independently of the kernels                  */
/* ------------------------------------------------------------------------ */

static bool ref_missing;

static double ref_unary(nbi_unary_op op, double x, const nbi_params *p)
{
    switch (op) {
    case NBI_UNARY_neg: return -x;
    case NBI_UNARY_abs: return fabs(x);
    case NBI_UNARY_sign: return x > 0 ? 1 : (x < 0 ? -1 : 0);
    case NBI_UNARY_exp: return exp(x);
    case NBI_UNARY_log: return log(x);
    case NBI_UNARY_log1p: return log1p(x);
    case NBI_UNARY_expm1: return expm1(x);
    case NBI_UNARY_sqrt: return sqrt(x);
    case NBI_UNARY_rsqrt: return 1 / sqrt(x);
    case NBI_UNARY_sin: return sin(x);
    case NBI_UNARY_cos: return cos(x);
    case NBI_UNARY_tanh: return tanh(x);
    case NBI_UNARY_sigmoid: return 1 / (1 + exp(-x));
    case NBI_UNARY_relu: return x < 0 ? 0 : x;
    case NBI_UNARY_silu: return x / (1 + exp(-x));
    case NBI_UNARY_erf: return erf(x);
    case NBI_UNARY_logical_not: return x == 0;
    case NBI_UNARY_isnan: return isnan(x);
    case NBI_UNARY_isinf: return isinf(x) != 0;
    case NBI_UNARY_isfinite: return isfinite(x) != 0;
    case NBI_UNARY_gelu:
        if (p->flag) return 0.5 * x * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
        return 0.5 * x * (1 + erf(x / sqrt(2)));
    case NBI_UNARY_softplus: return p->a * x > p->b ? x : log1p(exp(p->a * x)) / p->a;
    case NBI_UNARY_clamp: return isnan(x) ? x : fmin(fmax(x, p->a), p->b);
    case NBI_UNARY_tan: return tan(x);
    case NBI_UNARY_asin: return asin(x);
    case NBI_UNARY_acos: return acos(x);
    case NBI_UNARY_atan: return atan(x);
    case NBI_UNARY_sinh: return sinh(x);
    case NBI_UNARY_cosh: return cosh(x);
    case NBI_UNARY_asinh: return asinh(x);
    case NBI_UNARY_acosh: return acosh(x);
    case NBI_UNARY_atanh: return atanh(x);
    case NBI_UNARY_log2: return log2(x);
    case NBI_UNARY_log10: return log10(x);
    case NBI_UNARY_exp2: return exp2(x);
    case NBI_UNARY_reciprocal: return 1 / x;
    case NBI_UNARY_sinc: return x == 0 ? 1 : sin(3.14159265358979323846 * x) / (3.14159265358979323846 * x);
    case NBI_UNARY_floor: return floor(x);
    case NBI_UNARY_ceil: return ceil(x);
    case NBI_UNARY_round: return nearbyint(x);
    case NBI_UNARY_trunc: return trunc(x);
    case NBI_UNARY_frac: return x - trunc(x);
    case NBI_UNARY_round_decimals: return p->flag ? nearbyint(x / p->a) * p->a : nearbyint(x * p->a) / p->a;
    case NBI_UNARY_square: return x * x;
    case NBI_UNARY_hardswish: return isnan(x) ? x : x * fmin(fmax(x + 3, 0), 6) / 6;
    case NBI_UNARY_hardsigmoid: return isnan(x) ? x : fmin(fmax(x + 3, 0), 6) / 6;
    case NBI_UNARY_mish: return x * tanh(log1p(exp(x)));
    case NBI_UNARY_logsigmoid: return fmin(x, 0) - log1p(exp(-fabs(x)));
    case NBI_UNARY_leaky_relu: return x > 0 ? x : x * p->a;
    case NBI_UNARY_elu:
    case NBI_UNARY_celu: return x <= 0 ? p->a * p->b * expm1(x * p->c) : p->b * x; /* expm1: torch's exp - 1 loses tiny x */
    case NBI_UNARY_hardtanh: return isnan(x) ? x : fmin(fmax(x, p->a), p->b);
    case NBI_UNARY_nan_to_num: return isnan(x) ? p->a : (x == INFINITY ? p->b : (x == -INFINITY ? p->c : x));
    case NBI_UNARY_bitwise_not: return (double)~(int64_t)x; /* bool: see check_unary_values */
    case NBI_NUM_UNARY: break;
    }
    ref_missing = true;
    return NAN;
}

static double ref_binary(nbi_binary_op op, double a, double b)
{
    switch (op) {
    case NBI_BINARY_add: return a + b;
    case NBI_BINARY_sub: return a - b;
    case NBI_BINARY_mul: return a * b;
    case NBI_BINARY_div: return a / b;
    case NBI_BINARY_floor_divide: return floor(a / b);
    case NBI_BINARY_remainder: return a - b * floor(a / b);
    case NBI_BINARY_pow: return pow(a, b);
    case NBI_BINARY_maximum: return isnan(a) || isnan(b) ? NAN : fmax(a, b);
    case NBI_BINARY_minimum: return isnan(a) || isnan(b) ? NAN : fmin(a, b);
    case NBI_BINARY_eq: return a == b;
    case NBI_BINARY_ne: return a != b;
    case NBI_BINARY_lt: return a < b;
    case NBI_BINARY_le: return a <= b;
    case NBI_BINARY_gt: return a > b;
    case NBI_BINARY_ge: return a >= b;
    case NBI_BINARY_logical_and: return a != 0 && b != 0;
    case NBI_BINARY_logical_or: return a != 0 || b != 0;
    case NBI_BINARY_fmod: return fmod(a, b);
    case NBI_BINARY_atan2: return atan2(a, b);
    case NBI_BINARY_copysign: return copysign(a, b);
    case NBI_BINARY_hypot: return hypot(a, b);
    case NBI_BINARY_xlogy: return isnan(b) ? b : a == 0 ? 0 : a * log(b);
    case NBI_BINARY_logical_xor: return (a != 0) != (b != 0);
    case NBI_BINARY_bitwise_and: return (double)((int64_t)a & (int64_t)b);
    case NBI_BINARY_bitwise_or: return (double)((int64_t)a | (int64_t)b);
    case NBI_BINARY_bitwise_xor: return (double)((int64_t)a ^ (int64_t)b);
    case NBI_NUM_BINARY: break;
    }
    ref_missing = true;
    return NAN;
}

/* ------------------------------------------------------------------------ */
/* The table, as ops.def declares it                                         */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *dtypes;
    const char *result;
    const char *grad;
} row;

static const row unary_rows[] = {
#define NBI_UNARY(name, dtypes, result, grad, saves) { #name, #dtypes, #result, #grad },
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves) NBI_UNARY(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b)
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
};

static const row binary_rows[] = {
#define NBI_UNARY(name, dtypes, result, grad, saves)
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b) { #name, #dtypes, #result, #grad },
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
};

static bool takes(const row *r, nb_dtype d)
{
    if (strcmp(r->dtypes, "FLOAT") == 0) return nb_dtype_is_floating(d);
    if (strcmp(r->dtypes, "NUMERIC") == 0) return d != NB_BOOL;
    if (strcmp(r->dtypes, "INTEGRAL") == 0) return !nb_dtype_is_floating(d);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Calling an op by its enum through the public API                          */
/* ------------------------------------------------------------------------ */

static nb_tensor *call_unary(nbi_unary_op op, const nb_tensor *t, nbi_params *p)
{
    switch (op) {
#define NBI_UNARY(name, dtypes, result, grad, saves) case NBI_UNARY_##name: return nb_##name(t);
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b)
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
    case NBI_UNARY_gelu: return nb_gelu(t, p->flag);
    case NBI_UNARY_softplus: return nb_softplus(t, p->a, p->b);
    case NBI_UNARY_clamp: return nb_clamp(t, p->a, p->b);
    case NBI_UNARY_square: return nb_square(t);
    case NBI_UNARY_logsigmoid: return nb_logsigmoid(t);
    case NBI_UNARY_round_decimals: return nb_round_decimals(t, p->flag ? -1 : 1);
    case NBI_UNARY_leaky_relu: return nb_leaky_relu(t, p->a);
    case NBI_UNARY_elu: return nb_elu(t, p->a);
    case NBI_UNARY_celu: return nb_celu(t, p->a);
    case NBI_UNARY_hardtanh: return nb_hardtanh(t, p->a, p->b);
    case NBI_UNARY_nan_to_num: return nb_nan_to_num(t, p->a, p->b, p->c);
    default: return NULL;
    }
}

static nb_tensor *call_binary(nbi_binary_op op, const nb_tensor *a, const nb_tensor *b)
{
    switch (op) {
#define NBI_UNARY(name, dtypes, result, grad, saves)
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b) case NBI_BINARY_##name: return nb_##name(a, b);
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
    default: return NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static const double float_samples[] = { -3.5, -1, -0.5, -0.0, 0, 0.25, 1, 2.5, 7, 30, NAN, INFINITY, -INFINITY, -50 };
static const double int_samples[]   = { -7, -3, -1, 0, 1, 2, 5, 3, 0, 9, -2, 4, 6, 1 };
enum { NUM_SAMPLES = 14 };

static const double *samples_for(nb_dtype d) { return nb_dtype_is_floating(d) ? float_samples : int_samples; }

/* Round v as storing it in dtype d would (for the reference's inputs). */
static double as_dtype_value(double v, nb_dtype d)
{
    switch (d) {
    case NB_FLOAT32: return (float)v;
    case NB_BOOL: return v != 0;
    case NB_UINT8: return (double)(uint8_t)(int64_t)v;
    case NB_INT8: return isfinite(v) ? (double)(int8_t)(uint8_t)(int64_t)v : v;
    case NB_INT16: return isfinite(v) ? (double)(int16_t)(uint16_t)(int64_t)v : v;
    case NB_FLOAT16: return nbi_f16_to_f32(nbi_f32_to_f16((float)v));
    case NB_BFLOAT16: return nbi_bf16_to_f32(nbi_f32_to_bf16((float)v));
    default: return v;
    }
}

static double tolerance(nb_dtype d, double expected)
{
    if (d == NB_FLOAT32) return 4e-6 * fabs(expected) + 1e-6;
    if (d == NB_FLOAT64) return 1e-12 * fabs(expected) + 1e-13;
    /* one unit in the last place (the float32 result, rounded once, may
     * differ from the double one rounded) */
    if (d == NB_FLOAT16) return 1e-3 * fabs(expected) + 1e-7;
    if (d == NB_BFLOAT16) return 8e-3 * fabs(expected) + 1e-7;
    return 0;
}

static nb_tensor *tensor_of(const double *values, nb_shape shape, nb_dtype dtype)
{
    nb_tensor *d = nb_from_data(values, shape, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *t = nb_to_dtype(d, dtype);
    nb_free(d);
    return t;
}

/* Reads t (any layout) into a new array of doubles. */
static double *values_of(const nb_tensor *t)
{
    nb_tensor *d   = nb_to_dtype(t, NB_FLOAT64);
    int64_t    n   = nb_numel(d);
    double    *buf = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    nb_copy_to_buffer(d, buf, (size_t)n * sizeof(double));
    nb_free(d);
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Unary ops                                                                 */
/* ------------------------------------------------------------------------ */

static nbi_params params_for(nbi_unary_op op, bool variant)
{
    nbi_params p = { 0 };
    if (op == NBI_UNARY_gelu) p.flag = variant;
    if (op == NBI_UNARY_softplus) { p.a = variant ? 2 : 1; p.b = variant ? 5 : 20; }
    /* Bounds every dtype holds (uint8 wraps negative ones, as torch). */
    if (op == NBI_UNARY_clamp) { p.a = variant ? 0 : 1; p.b = variant ? 2 : 3; }
    /* Issue 13's rows: what their front doors pass for the call below. */
    if (op == NBI_UNARY_round_decimals) { p.a = 10; p.flag = variant; }
    if (op == NBI_UNARY_leaky_relu) p.a = variant ? 0.2 : 0.01;
    if (op == NBI_UNARY_elu) { p.a = variant ? 0.5 : 1; p.b = 1; p.c = 1; }
    if (op == NBI_UNARY_celu) { p.a = variant ? 2 : 1; p.b = 1; p.c = 1 / p.a; }
    if (op == NBI_UNARY_hardtanh) { p.a = variant ? 0 : 1; p.b = variant ? 6 : 3; }
    if (op == NBI_UNARY_nan_to_num) { p.a = variant ? 1.5 : 0; p.b = variant ? 1e300 : 100; p.c = variant ? -1e300 : -100; }
    return p;
}

/* op(t) against the reference for a view t of the samples. */
static void check_unary_values(nbi_unary_op op, nb_dtype dtype, const nb_tensor *t, nbi_params *p,
                               const char *layout)
{
    nb_tensor *out = call_unary(op, t, p);
    if (out == NULL) {
        NBT_CHECK(!"unary op failed");
        fprintf(stderr, "  nb_%s(%s, %s): %s\n", unary_rows[op].name, nb_dtype_name(dtype), layout, nb_last_error());
        nb_clear_error();
        return;
    }
    bool want_bool = strcmp(unary_rows[op].result, "BOOL") == 0;
    NBT_CHECK(nb_dtype_of(out) == (want_bool ? NB_BOOL : dtype));
    double *in = values_of(t), *got = values_of(out);
    for (int64_t i = 0; i < nb_numel(t); i++) {
        double expected = ref_unary(op, in[i], p);
        if (!want_bool) expected = as_dtype_value(expected, dtype);
        if (op == NBI_UNARY_bitwise_not && dtype == NB_BOOL) expected = in[i] == 0; /* logical on bool */
        double tol = want_bool ? 0 : tolerance(dtype, expected);
        /* float32 formulas near singular points: compare relative to the
         * reference evaluated on neighbouring floats. */
        if (!nbt_near(got[i], expected, tol)) {
            nbt_failures++;
            fprintf(stderr, "  nb_%s(%s %s)[%lld]: f(%.9g) = %.9g, expected %.9g\n", unary_rows[op].name,
                    nb_dtype_name(dtype), layout, (long long)i, in[i], got[i], expected);
        }
        nbt_checks++;
    }
    free(in);
    free(got);
    nb_free(out);
}

static void test_unary_table(void)
{
    NBT_CHECK((int)(sizeof unary_rows / sizeof unary_rows[0]) == NBI_NUM_UNARY);
    for (int op = 0; op < NBI_NUM_UNARY; op++) {
        for (nb_dtype dtype = 0; dtype < NB_NUM_DTYPES; dtype++) {
            nb_scope_begin();
            double in[NUM_SAMPLES];
            for (int i = 0; i < NUM_SAMPLES; i++) in[i] = samples_for(dtype)[i];
            if (dtype == NB_BOOL)
                for (int i = 0; i < NUM_SAMPLES; i++) in[i] = i % 3 == 0;
            nb_tensor *t = tensor_of(in, NB_SHAPE(2, 7), dtype);
            if (op == NBI_UNARY_square && dtype == NB_BOOL) {
                /* torch.square(bool) is int64: checked in test_issue13_semantics. */
                nb_scope_end();
                continue;
            }
            if (!takes(&unary_rows[op], dtype)) {
                nbi_params p = params_for((nbi_unary_op)op, false);
                NBT_CHECK(call_unary((nbi_unary_op)op, t, &p) == NULL);
                NBT_CHECK(nb_last_status() == NB_ERR_DTYPE);
                nb_clear_error();
                nb_scope_end();
                continue;
            }
            for (int variant = 0; variant < 2; variant++) {
                nbi_params p = params_for((nbi_unary_op)op, variant);
                check_unary_values((nbi_unary_op)op, dtype, t, &p, "contiguous");
                nb_tensor *tt = nb_transpose(t, 0, 1);
                check_unary_values((nbi_unary_op)op, dtype, tt, &p, "transposed");
                nb_tensor *stepped = nb_slice(t, 1, 1, NB_END, 2);
                check_unary_values((nbi_unary_op)op, dtype, stepped, &p, "sliced with step 2");
                nb_tensor *scalar = nb_select(nb_select(t, 0, 1), 0, 2);
                check_unary_values((nbi_unary_op)op, dtype, scalar, &p, "0-d");
                nb_tensor *empty = nb_narrow(t, 1, 0, 0);
                nb_tensor *empty_out = call_unary((nbi_unary_op)op, empty, &p);
                NBT_CHECK(empty_out != NULL && nb_numel(empty_out) == 0 && nb_size(empty_out, 0) == 2);
                nb_free(empty_out);
                nb_free(empty);
                nb_free(scalar);
                nb_free(stepped);
                nb_free(tt);
            }
            nb_scope_end();
        }
    }
    NBT_CHECK(!ref_missing);
}

/* ------------------------------------------------------------------------ */
/* Binary ops                                                                */
/* ------------------------------------------------------------------------ */

static bool skip_pair(nbi_binary_op op, nb_dtype dtype, double a, double b)
{
    bool integer = !nb_dtype_is_floating(dtype);
    if ((op == NBI_BINARY_floor_divide || op == NBI_BINARY_remainder) && (b == 0 || !isfinite(a) || !isfinite(b)))
        return true; /* division by zero and inf: their own tests */
    if (op == NBI_BINARY_pow && integer && (b < 0 || fabs(pow(a, b)) > 1e9)) return true;
    if (op == NBI_BINARY_pow && (!isfinite(a) || !isfinite(b) || fabs(a) > 10 || fabs(b) > 10)) return true;
    if (dtype == NB_UINT8 && (op == NBI_BINARY_sub || op == NBI_BINARY_mul || op == NBI_BINARY_add)) return false;
    return false;
}

static void check_binary(nbi_binary_op op, nb_dtype dtype, const nb_tensor *a, const nb_tensor *b,
                         const char *layout)
{
    nb_tensor *out = call_binary(op, a, b);
    if (out == NULL) {
        nbt_failures++;
        fprintf(stderr, "  nb_%s(%s, %s): %s\n", binary_rows[op].name, nb_dtype_name(dtype), layout, nb_last_error());
        nb_clear_error();
        return;
    }
    nb_shape shape;
    nb_broadcast_shapes(nb_shape_of(a), nb_shape_of(b), &shape);
    nb_tensor *ea = nb_contiguous(nb_expand(a, shape));
    nb_tensor *eb = nb_contiguous(nb_expand(b, shape));
    double    *va = values_of(ea), *vb = values_of(eb), *got = values_of(out);
    bool       want_bool = strcmp(binary_rows[op].result, "BOOL") == 0;
    nb_dtype   out_dtype = want_bool ? NB_BOOL
                         : (strcmp(binary_rows[op].result, "FLOAT_RESULT") == 0 && !nb_dtype_is_floating(dtype))
                             ? NB_FLOAT32 : dtype;
    NBT_CHECK(nb_dtype_of(out) == out_dtype);
    for (int64_t i = 0; i < nb_numel(out); i++) {
        if (skip_pair(op, dtype, va[i], vb[i])) continue;
        double expected = ref_binary(op, va[i], vb[i]);
        if (!want_bool) expected = as_dtype_value(expected, out_dtype);
        if (dtype == NB_BOOL && !want_bool) expected = expected != 0;
        double tol = want_bool ? 0 : tolerance(out_dtype, expected);
        nbt_checks++;
        if (!nbt_near(got[i], expected, tol)) {
            nbt_failures++;
            fprintf(stderr, "  nb_%s(%s %s)[%lld]: f(%.9g, %.9g) = %.9g, expected %.9g\n", binary_rows[op].name,
                    nb_dtype_name(dtype), layout, (long long)i, va[i], vb[i], got[i], expected);
        }
    }
    free(va);
    free(vb);
    free(got);
    nb_free(ea);
    nb_free(eb);
    nb_free(out);
}

static void test_binary_table(void)
{
    NBT_CHECK((int)(sizeof binary_rows / sizeof binary_rows[0]) == NBI_NUM_BINARY);
    for (int op = 0; op < NBI_NUM_BINARY; op++) {
        for (nb_dtype dtype = 0; dtype < NB_NUM_DTYPES; dtype++) {
            nb_scope_begin();
            double av[NUM_SAMPLES], bv[NUM_SAMPLES];
            for (int i = 0; i < NUM_SAMPLES; i++) {
                av[i] = samples_for(dtype)[i];
                bv[i] = samples_for(dtype)[(i * 5 + 3) % NUM_SAMPLES];
                /* Integer division by zero is an error: tested on its own. */
                bool divides = op == NBI_BINARY_floor_divide || op == NBI_BINARY_remainder || op == NBI_BINARY_fmod;
                if (divides && !nb_dtype_is_floating(dtype) && bv[i] == 0) bv[i] = 3;
                if (dtype == NB_BOOL) {
                    av[i] = i % 2;
                    bv[i] = i % 3 == 0;
                }
            }
            nb_tensor *a = tensor_of(av, NB_SHAPE(2, 7), dtype);
            nb_tensor *b = tensor_of(bv, NB_SHAPE(2, 7), dtype);
            if (!takes(&binary_rows[op], dtype) && strcmp(binary_rows[op].result, "FLOAT_RESULT") != 0) {
                NBT_CHECK(call_binary((nbi_binary_op)op, a, b) == NULL);
                NBT_CHECK(nb_last_status() == NB_ERR_DTYPE);
                nb_clear_error();
                nb_scope_end();
                continue;
            }
            if (!takes(&binary_rows[op], dtype) && dtype == NB_BOOL) {
                nb_scope_end();
                continue;
            }
            check_binary((nbi_binary_op)op, dtype, a, b, "contiguous");
            check_binary((nbi_binary_op)op, dtype, nb_transpose(a, 0, 1), nb_transpose(b, 0, 1), "transposed");
            check_binary((nbi_binary_op)op, dtype, a, nb_slice(b, 0, 1, 2, 1), "broadcast rows");
            check_binary((nbi_binary_op)op, dtype, nb_slice(a, 1, 0, NB_END, 3), nb_unsqueeze(nb_select(b, 1, 4), 1),
                         "stepped slice with a broadcast column");
            check_binary((nbi_binary_op)op, dtype, nb_select(nb_select(a, 0, 1), 0, 3), b, "0-d with 2-d");
            check_binary((nbi_binary_op)op, dtype, nb_unsqueeze(nb_select(a, 0, 0), 1),
                         nb_unsqueeze(nb_select(b, 0, 1), 0), "outer broadcast (7,1) with (1,7)");
            nb_tensor *empty = call_binary((nbi_binary_op)op, nb_narrow(a, 0, 0, 0), b);
            NBT_CHECK(empty == NULL); /* (0, 7) with (2, 7) does not broadcast */
            nb_clear_error();
            empty = call_binary((nbi_binary_op)op, nb_narrow(a, 1, 0, 0), nb_narrow(b, 1, 0, 0));
            NBT_CHECK(empty != NULL && nb_numel(empty) == 0);
            nb_scope_end();
        }
    }
    NBT_CHECK(!ref_missing);
}

/* ------------------------------------------------------------------------ */
/* Every instruction-set build agrees with the baseline                      */
/* ------------------------------------------------------------------------ */

static void test_isa_tables_agree(void)
{
    const nbi_elementwise_kernels *tables[4];
    const char                    *names[4];
    int                            count = nbi_elementwise_tables(tables, names, 4);
    NBT_CHECK(count >= 1 && strcmp(names[0], "baseline") == 0);
    /* 4099 floats: a vector body plus a remainder, over a wide range. */
    enum { N = 4099 };
    float *x = malloc(N * sizeof(float)), *ref = malloc(N * sizeof(float)), *got = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) x[i] = (float)((i - N / 2) * 0.05);
    x[0] = NAN;
    x[1] = INFINITY;
    x[2] = -INFINITY;
    x[3] = 88.9f;
    x[4] = -104.5f;
    x[5] = 1e-30f;
    nbi_params params = { .a = 1, .b = 20 };
    for (int op = 0; op < NBI_NUM_UNARY; op++) {
        if (strcmp(unary_rows[op].result, "SAME") != 0 || tables[0]->unary[op][NB_FLOAT32] == NULL) continue;
        int64_t strides[2] = { 4, 4 };
        char   *ref_data[2] = { (char *)ref, (char *)x };
        tables[0]->unary[op][NB_FLOAT32](ref_data, strides, N, &params);
        for (int t = 1; t < count; t++) {
            char *data[2] = { (char *)got, (char *)x };
            tables[t]->unary[op][NB_FLOAT32](data, strides, N, &params);
            int mismatches = 0;
            for (int i = 0; i < N; i++) {
                float tol = 2e-7f * fabsf(ref[i]) + 1e-30f;
                if (!(got[i] == ref[i] || fabsf(got[i] - ref[i]) <= tol || (isnan(got[i]) && isnan(ref[i]))))
                    mismatches++;
            }
            NBT_CHECK(mismatches == 0);
            if (mismatches) fprintf(stderr, "  %s: nb_%s differs from baseline at %d points\n", names[t], unary_rows[op].name, mismatches);
        }
    }
    free(x);
    free(ref);
    free(got);
}

/* The half loops (float16, bfloat16) of every instruction-set build
 * against the baseline's scalar conversions, on the layouts the loops take
 * apart: contiguous, a broadcast operand (stride 0), strided inputs, a
 * strided output. A float32 result may differ in its last bit between
 * builds (the vector exp and friends), so a half result may differ by one
 * unit in its last place; results correctly rounded in float32 must have
 * the same bits, NaNs included (torch's: 0x7E00 with the sign, 0xFFFF), and
 * bool results must be equal. */
static float half_value(uint16_t h, bool bf16) { return bf16 ? nbi_bf16_to_f32(h) : nbi_f16_to_f32(h); }

static int half_mismatches(const uint16_t *got, const uint16_t *ref, int64_t n, int64_t step, bool bf16, bool exact)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint16_t g = got[i * step], r = ref[i * step];
        float    gv = half_value(g, bf16), rv = half_value(r, bf16);
        float    tol = exact ? 0 : (bf16 ? 0x1p-7f : 0x1p-10f) * fabsf(rv) + (bf16 ? 0x1p-133f : 0x1p-24f);
        /* which NaN operand a vector loop propagates may differ, so its sign */
        bool     same = isnan(rv) ? (exact ? g == r : (bool)isnan(gv)) : (g == r || fabsf(gv - rv) <= tol);
        bad += !same;
    }
    return bad;
}

/* Odd functions keep the sign of zero: f(-0.) is -0. where the C
 * reference (and torch) gives it, in float32 and float64, on a single
 * element and on a vector body (tanh's polynomial gave +0). */
static void test_signed_zero(void)
{
    nbi_params params = { .a = 1, .b = 20 };
    for (int op = 0; op < NBI_NUM_UNARY; op++) {
        if (strcmp(unary_rows[op].result, "SAME") != 0 || !takes(&unary_rows[op], NB_FLOAT32)) continue;
        double want = ref_unary((nbi_unary_op)op, -0.0, &params);
        if (want != 0) continue;
        for (int d = 0; d < 2; d++) {
            nb_dtype dtype = d ? NB_FLOAT64 : NB_FLOAT32;
            for (int n = 1; n <= 33; n += 32) {
                nb_scope_begin();
                nb_tensor *x = nb_full(NB_SHAPE(n), -0.0, NB_OPTS(.dtype = dtype));
                nb_tensor *y = call_unary((nbi_unary_op)op, x, &params);
                nb_tensor *w = y ? nb_to_dtype(y, NB_FLOAT64) : NULL;
                bool same = w != NULL && signbit(((const double *)nb_data(w))[n - 1]) == signbit(want);
                NBT_CHECK(same);
                if (!same)
                    fprintf(stderr, "  nb_%s(-0.) in %s (%d elements): the sign of zero differs from C's\n",
                            unary_rows[op].name, nb_dtype_name(dtype), n);
                nb_scope_end();
            }
        }
    }
}

static void test_isa_half_loops_agree(void)
{
    const nbi_elementwise_kernels *tables[4];
    const char                    *names[4];
    int                            count = nbi_elementwise_tables(tables, names, 4);
    enum { N = 1031 }; /* vector bodies, chunks of 256 and a remainder */
    /* inputs with room for a stride of 2 elements; outputs likewise */
    uint16_t   *a = calloc(2 * N, 2), *b = calloc(2 * N, 2), *ref = calloc(2 * N, 2), *got = calloc(2 * N, 2);
    nbi_params  params = { .a = 1, .b = 20 };
    for (int dtype_index = 0; dtype_index < 2; dtype_index++) {
        bool     bf16  = dtype_index == 1;
        nb_dtype dtype = bf16 ? NB_BFLOAT16 : NB_FLOAT16;
        for (int i = 0; i < 2 * N; i++) {
            float x = (float)((i - N) * 0.0173), y = (float)(1.5 - (i % 97) * 0.031);
            if (i % 211 == 3) x = NAN;
            if (i % 307 == 5) x = -INFINITY;
            if (i % 401 == 7) y = 0.0f;
            a[i] = bf16 ? nbi_f32_to_bf16(x) : nbi_f32_to_f16(x);
            b[i] = bf16 ? nbi_f32_to_bf16(y) : nbi_f32_to_f16(y);
        }
        /* layouts: strides in bytes of (out, a, b) */
        static const int64_t layouts[][3] = { { 2, 2, 2 }, { 2, 2, 0 }, { 2, 0, 2 }, { 2, 4, 4 }, { 4, 2, 2 } };
        for (int arity = 1; arity <= 2; arity++) {
            int ops = arity == 1 ? NBI_NUM_UNARY : NBI_NUM_BINARY;
            for (int op = 0; op < ops; op++) {
                nbi_loop_fn base = arity == 1 ? tables[0]->unary[op][dtype] : tables[0]->binary[op][dtype];
                if (base == NULL) continue;
                const row *r         = arity == 1 ? &unary_rows[op] : &binary_rows[op];
                bool       bool_out  = strcmp(r->result, "BOOL") == 0;
                /* correctly rounded in float32 on every build: the half
                 * results must then be equal, bit for bit */
                char padded[40];
                snprintf(padded, sizeof padded, " %s ", r->name);
                bool exact = strstr(" add sub mul div neg abs maximum minimum ", padded) != NULL;
                for (size_t l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
                    int64_t strides[3] = { layouts[l][0], layouts[l][1], layouts[l][2] };
                    if (arity == 1 && strides[1] == 0) continue;
                    if (bool_out) strides[0] /= 2; /* uint8 out */
                    memset(ref, 0, 4 * N);
                    char *ref_data[3] = { (char *)ref, (char *)a, (char *)b };
                    base(ref_data, strides, N, &params);
                    for (int t = 1; t < count; t++) {
                        nbi_loop_fn loop = arity == 1 ? tables[t]->unary[op][dtype] : tables[t]->binary[op][dtype];
                        memset(got, 0, 4 * N);
                        char *data[3] = { (char *)got, (char *)a, (char *)b };
                        loop(data, strides, N, &params);
                        int bad = bool_out ? memcmp(got, ref, 4 * N) != 0
                                           : half_mismatches(got, ref, N, strides[0] / 2, bf16, exact);
                        NBT_CHECK(bad == 0);
                        if (bad)
                            fprintf(stderr, "  %s: nb_%s in %s, layout %zu, differs from baseline at %d points\n",
                                    names[t], r->name, nb_dtype_name(dtype), l, bad);
                    }
                }
            }
        }
    }
    free(a);
    free(b);
    free(ref);
    free(got);
}

/* ------------------------------------------------------------------------ */
/* Semantics the table cannot show                                           */
/* ------------------------------------------------------------------------ */

static void test_promotion(void)
{
    nb_scope_begin();
    nb_tensor *f32 = nb_ones(NB_SHAPE(3), NB_OPTS());
    nb_tensor *f64 = nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *i32 = nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_INT32));
    nb_tensor *i64 = nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *u8  = nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_UINT8));
    nb_tensor *b8  = nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_BOOL));
    nb_tensor *f64_scalar = nb_scalar(2, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *i64_scalar = nb_scalar(2, NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_dtype_of(nb_add(f32, f64)) == NB_FLOAT64);
    NBT_CHECK(nb_dtype_of(nb_add(i32, f32)) == NB_FLOAT32);
    NBT_CHECK(nb_dtype_of(nb_add(u8, i32)) == NB_INT32);
    NBT_CHECK(nb_dtype_of(nb_add(u8, b8)) == NB_UINT8);
    NBT_CHECK(nb_dtype_of(nb_add(i32, i64)) == NB_INT64);
    /* A 0-d tensor does not widen within a category but can raise it. */
    NBT_CHECK(nb_dtype_of(nb_add(f32, f64_scalar)) == NB_FLOAT32);
    NBT_CHECK(nb_dtype_of(nb_add(i32, i64_scalar)) == NB_INT32);
    NBT_CHECK(nb_dtype_of(nb_add(i32, f64_scalar)) == NB_FLOAT64);
    /* C scalars: never widen; a fraction raises int to float32. */
    NBT_CHECK(nb_dtype_of(nb_add_scalar(f32, 1e300)) == NB_FLOAT32);
    NBT_CHECK(nb_dtype_of(nb_add_scalar(i32, 2)) == NB_INT32);
    NBT_CHECK(nb_dtype_of(nb_add_scalar(i32, 2.5)) == NB_FLOAT32);
    NBT_CHECK(nb_dtype_of(nb_mul_scalar(b8, 3)) == NB_INT64);
    NBT_CHECK(nb_dtype_of(nb_div(i64, i64)) == NB_FLOAT32);
    NBT_CHECK_TENSOR(nb_div(nb_arange(0, 3, 1, NB_OPTS(.dtype = NB_INT64)), nb_full(NB_SHAPE(1), 2, NB_OPTS(.dtype = NB_INT64))),
                     NB_SHAPE(3), 0, 0, 0.5, 1);
    NBT_CHECK_TENSOR(nb_add_scalar(i32, 2.5), NB_SHAPE(3), 0, 3.5, 3.5, 3.5);
    NBT_CHECK_TENSOR(nb_rsub_scalar(f32, 10), NB_SHAPE(3), 0, 9, 9, 9);
    NBT_CHECK_TENSOR(nb_rdiv_scalar(nb_full(NB_SHAPE(2), 4, NB_OPTS()), 1), NB_SHAPE(2), 0, 0.25, 0.25);
    nb_scope_end();
}

static void test_integer_semantics(void)
{
    nb_scope_begin();
    int32_t big[2] = { INT32_MAX, INT32_MIN };
    nb_tensor *i32 = nb_from_data(big, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT32));
    NBT_CHECK_TENSOR(nb_add_scalar(i32, 1), NB_SHAPE(2), 0, INT32_MIN, INT32_MIN + 1.0);
    NBT_CHECK_TENSOR(nb_neg(i32), NB_SHAPE(2), 0, -INT32_MAX, INT32_MIN);
    NBT_CHECK_TENSOR(nb_abs(i32), NB_SHAPE(2), 0, INT32_MAX, INT32_MIN);
    uint8_t    bytes[2] = { 200, 10 };
    nb_tensor *u8       = nb_from_data(bytes, NB_SHAPE(2), NB_OPTS(.dtype = NB_UINT8));
    NBT_CHECK_TENSOR(nb_add(u8, u8), NB_SHAPE(2), 0, 144, 20);
    NBT_CHECK_TENSOR(nb_sub_scalar(u8, 11), NB_SHAPE(2), 0, 189, 255);
    int64_t    num[4] = { 5, -5, 5, -5 }, den[4] = { 2, 2, -3, 3 };
    nb_tensor *n = nb_from_data(num, NB_SHAPE(4), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *d = nb_from_data(den, NB_SHAPE(4), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK_TENSOR(nb_floor_divide(n, d), NB_SHAPE(4), 0, 2, -3, -2, -2);
    NBT_CHECK_TENSOR(nb_remainder(n, d), NB_SHAPE(4), 0, 1, 1, -1, 1);
    int64_t    pows[4] = { -1, -2, 0, 3 }, bases[4] = { 2, 1, 7, -2 };
    NBT_CHECK_TENSOR(nb_pow(nb_from_data(bases, NB_SHAPE(4), NB_OPTS(.dtype = NB_INT64)),
                            nb_from_data(pows, NB_SHAPE(4), NB_OPTS(.dtype = NB_INT64))),
                     NB_SHAPE(4), 0, 0, 1, 1, -8);
    /* Integer division by zero is an error, as torch's ZeroDivisionError. */
    NBT_CHECK(nb_floor_divide_scalar(n, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_floor_divide_scalar: integer division by zero");
    NBT_CHECK(nb_remainder(n, nb_zeros_like(n)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "integer division by zero");
    nb_scope_end();
}

static void test_float_special_values(void)
{
    nb_scope_begin();
    double     v[4] = { NAN, INFINITY, -INFINITY, 1 };
    nb_tensor *x    = nb_from_data(v, NB_SHAPE(4), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *f    = nb_to_dtype(x, NB_FLOAT32);
    NBT_CHECK_TENSOR(nb_add(f, f), NB_SHAPE(4), 0, NAN, INFINITY, -INFINITY, 2);
    NBT_CHECK_TENSOR(nb_exp(f), NB_SHAPE(4), 1e-6, NAN, INFINITY, 0, 2.718281828);
    NBT_CHECK_TENSOR(nb_maximum_scalar(f, 0), NB_SHAPE(4), 0, NAN, INFINITY, 0, 1);
    NBT_CHECK_TENSOR(nb_sign(f), NB_SHAPE(4), 0, 0, 1, -1, 1);
    NBT_CHECK_TENSOR(nb_clamp(f, -1, 1), NB_SHAPE(4), 0, NAN, 1, -1, 1);
    NBT_CHECK_TENSOR(nb_isnan(f), NB_SHAPE(4), 0, 1, 0, 0, 0);
    NBT_CHECK_TENSOR(nb_isinf(f), NB_SHAPE(4), 0, 0, 1, 1, 0);
    NBT_CHECK_TENSOR(nb_isfinite(f), NB_SHAPE(4), 0, 0, 0, 0, 1);
    double     num[4] = { 5, -5, 0, 5 }, den[4] = { 0, 0, 0, -INFINITY };
    nb_tensor *n      = nb_from_data(num, NB_SHAPE(4), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *d      = nb_from_data(den, NB_SHAPE(4), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK_TENSOR(nb_floor_divide(n, d), NB_SHAPE(4), 0, INFINITY, -INFINITY, NAN, -1);
    NBT_CHECK_TENSOR(nb_remainder(n, d), NB_SHAPE(4), 0, NAN, NAN, NAN, -INFINITY);
    /* float -> int conversions as torch on x86. */
    double     c[4] = { 300.7, -1.5, NAN, 3e10 };
    nb_tensor *cv   = nb_from_data(c, NB_SHAPE(4), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK_TENSOR(nb_to_dtype(cv, NB_UINT8), NB_SHAPE(4), 0, 44, 255, 0, 0);
    NBT_CHECK_TENSOR(nb_to_dtype(cv, NB_INT32), NB_SHAPE(4), 0, 300, -1, INT32_MIN, INT32_MIN);
    NBT_CHECK_TENSOR(nb_to_dtype(cv, NB_BOOL), NB_SHAPE(4), 0, 1, 1, 1, 1);
    nb_scope_end();
}

static void test_in_place(void)
{
    nb_scope_begin();
    nb_tensor *a = nb_arange(0, 6, 1, NB_OPTS());
    nb_tensor *m = nb_reshape(a, NB_SHAPE(2, 3));
    NBT_CHECK(nb_add_scalar_(m, 1) == m);
    NBT_CHECK_TENSOR(a, NB_SHAPE(6), 0, 1, 2, 3, 4, 5, 6); /* seen through the view */
    nb_tensor *row = nb_arange(0, 3, 1, NB_OPTS());
    NBT_CHECK(nb_mul_(m, row) == m);
    NBT_CHECK_TENSOR(m, NB_SHAPE(2, 3), 0, 0, 2, 6, 0, 5, 12);
    /* a += a.T: the operand shares a's memory in another layout, so the
     * result would depend on the visiting order; refused as torch does,
     * and fine on a copy. */
    nb_tensor *sq = nb_reshape(nb_arange(0, 4, 1, NB_OPTS()), NB_SHAPE(2, 2));
    NBT_CHECK(nb_add_(sq, nb_t(sq)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_add_: some elements of the input tensor and the written-to tensor refer to a "
                                "single memory location");
    NBT_CHECK_TENSOR(sq, NB_SHAPE(2, 2), 0, 0, 1, 2, 3);
    NBT_CHECK(nb_add_(sq, nb_contiguous(nb_t(sq))) == sq);
    NBT_CHECK_TENSOR(sq, NB_SHAPE(2, 2), 0, 0, 3, 3, 6);
    NBT_CHECK(nb_add_(sq, sq) == sq); /* the same elements in the same layout: fine */
    NBT_CHECK_TENSOR(sq, NB_SHAPE(2, 2), 0, 0, 6, 6, 12);
    NBT_CHECK(nb_mul_scalar_(sq, 0.5) == sq);
    NBT_CHECK(nb_relu_(nb_neg_(sq)) != NULL);
    NBT_CHECK_TENSOR(sq, NB_SHAPE(2, 2), 0, 0, 0, 0, 0);
    nb_tensor *ints = nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_add_scalar_(ints, 2) == ints);
    NBT_CHECK_TENSOR(ints, NB_SHAPE(2), 0, 3, 3);
    NBT_CHECK(nb_add_(ints, nb_ones(NB_SHAPE(2), NB_OPTS())) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_add_: result type float32 can't be cast to the desired output type int64");
    NBT_CHECK(nb_div_scalar_(ints, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "can't be cast");
    NBT_CHECK(nb_exp_(ints) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_exp_: expected a floating-point tensor");
    NBT_CHECK(nb_add_(row, m) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_add_: output with shape [3] doesn't match the broadcast shape");
    nb_tensor *expanded = nb_expand(nb_ones(NB_SHAPE(1), NB_OPTS()), NB_SHAPE(4));
    NBT_CHECK(nb_add_scalar_(expanded, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "refers to a single memory location");
    NBT_CHECK_TENSOR(ints, NB_SHAPE(2), 0, 3, 3); /* failed calls left it alone */
    nb_scope_end();
}

static void test_where_and_params(void)
{
    nb_scope_begin();
    nb_tensor *x    = nb_arange(-2, 3, 1, NB_OPTS());
    nb_tensor *cond = nb_gt_scalar(x, 0);
    NBT_CHECK_TENSOR(nb_where(cond, x, nb_scalar(-9, NB_OPTS(.dtype = NB_INT64))), NB_SHAPE(5), 0, -9, -9, -9, 1, 2);
    NBT_CHECK(nb_where(x, x, x) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_where: cond must be a bool tensor, got float32");
    NBT_CHECK_TENSOR(nb_clamp(x, NAN, 0.5), NB_SHAPE(5), 0, -2, -1, 0, 0.5, 0.5);
    NBT_CHECK(nb_clamp(x, NAN, NAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "at least one of min and max");
    nb_tensor *ints = nb_arange(0, 4, 1, NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_dtype_of(nb_clamp(ints, 0.5, 2)) == NB_FLOAT32);
    NBT_CHECK_TENSOR(nb_clamp(ints, 1, 2), NB_SHAPE(4), 0, 1, 1, 2, 2);
    /* Integer bounds must fit the dtype, as torch (test_semantics_fixes.c has the rest). */
    NBT_CHECK(nb_clamp(nb_to_dtype(ints, NB_UINT8), 0, 300) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_clamp: value 300 cannot be converted to uint8 without overflow");
    NBT_CHECK(nb_softplus(x, 0, 20) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_softplus: beta must be finite and nonzero");
    NBT_CHECK_TENSOR(nb_gelu(nb_scalar(1, NB_OPTS()), false), NB_SCALAR_SHAPE, 1e-6, 0.841344746);
    NBT_CHECK_TENSOR(nb_gelu(nb_scalar(1, NB_OPTS()), true), NB_SCALAR_SHAPE, 1e-6, 0.841191990);
    nb_scope_end();
}

static void test_errors(void)
{
    nb_scope_begin();
    nb_tensor *a = nb_ones(NB_SHAPE(4, 3), NB_OPTS());
    nb_tensor *b = nb_ones(NB_SHAPE(2, 2), NB_OPTS());
    NBT_CHECK(nb_add(a, b) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_add: shapes [4, 3] and [2, 2] cannot be broadcast (dim 1: 3 vs 2)");
    NBT_CHECK(nb_sub(nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_BOOL)), nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_BOOL))) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_sub: subtraction with two bool tensors is not supported");
    NBT_CHECK(nb_log(nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64))) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_log: expected a floating-point tensor (float16, bfloat16, float32 or float64), got int64");
    /* NULL in: NULL out, the first error kept. */
    NBT_CHECK(nb_exp(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_exp: argument 't' is NULL");
    NBT_CHECK(nb_mul(nb_add(a, b), a) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_add: shapes [4, 3] and [2, 2]");
    nb_scope_end();
}

static void test_large_parallel(void)
{
    /* Above the parallel grain and above 2^24 elements: each thread count
     * gives the same bits. */
    nb_scope_begin();
    int64_t    n = (1 << 24) + 3;
    nb_tensor *x = nb_arange(0, (double)n, 1, NB_OPTS(.dtype = NB_FLOAT64));
    int        saved = nb_get_num_threads();
    nb_set_num_threads(1);
    nb_tensor *one = nb_add_scalar(x, 1);
    nb_set_num_threads(2);
    nb_tensor *two = nb_add_scalar(x, 1);
    nb_set_num_threads(saved);
    double *v1 = values_of(one), *v2 = values_of(two);
    NBT_CHECK(memcmp(v1, v2, (size_t)n * sizeof(double)) == 0);
    free(v1);
    free(v2);
    NBT_CHECK(nb_item(nb_select(two, 0, -1)) == (double)n);
    NBT_CHECK(nb_item(nb_select(two, 0, 1 << 24)) == (double)(1 << 24) + 1);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Gradients: every DIFF row passes gradcheck and gradgradcheck              */
/* ------------------------------------------------------------------------ */

typedef struct {
    int        op;
    nbi_params params;
} op_call;

static nb_tensor *apply_unary(nb_tensor *const *inputs, int count, void *user)
{
    (void)count;
    op_call *call = user;
    /* Into the domains that (0.5, 2) misses: |x| < 1, and x > 1 for acosh. */
    nb_tensor *moved = NULL;
    if (call->op == NBI_UNARY_asin || call->op == NBI_UNARY_acos || call->op == NBI_UNARY_atanh)
        moved = nb_mul_scalar(inputs[0], 0.45);
    if (call->op == NBI_UNARY_acosh) moved = nb_add_scalar(inputs[0], 1);
    nb_tensor *out = call_unary((nbi_unary_op)call->op, moved ? moved : inputs[0], &call->params);
    nb_free(moved);
    return out;
}

static nb_tensor *apply_binary(nb_tensor *const *inputs, int count, void *user)
{
    (void)count;
    op_call *call = user;
    return call_binary((nbi_binary_op)call->op, inputs[0], inputs[1]);
}

/* float64 values in (0.5, 2): inside every op's domain, away from kinks. */
static nb_tensor *smooth_input(nb_shape shape)
{
    nb_tensor *r = nb_rand(shape, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *x = nb_add_scalar(nb_mul_scalar(r, 1.5), 0.5);
    nb_requires_grad_(x, true);
    return x;
}

static void test_unary_gradients(void)
{
    nb_manual_seed(7);
    for (int op = 0; op < NBI_NUM_UNARY; op++) {
        if (strcmp(unary_rows[op].grad, "DIFF") != 0) continue;
        for (int variant = 0; variant < 2; variant++) {
            nb_scope_begin();
            op_call call = { op, params_for((nbi_unary_op)op, variant) };
            if (op == NBI_UNARY_clamp) { call.params.a = 0.9; call.params.b = variant ? NAN : 1.6; }
            if (op == NBI_UNARY_softplus) { call.params.b = variant ? 2.5 : 20; }
            /* Contiguous, then a transposed view of a base that requires grad. */
            nb_tensor *x  = smooth_input(NB_SHAPE(3, 4));
            nb_tensor *xt = nb_transpose(smooth_input(NB_SHAPE(4, 3)), 0, 1);
            nb_tensor *inputs[2] = { x, xt };
            for (int k = 0; k < 2; k++) {
                if (nb_gradcheck(apply_unary, &inputs[k], 1, &call, NB_GRADCHECK_OPTS()) != NB_OK) {
                    nbt_failures++;
                    fprintf(stderr, "  gradcheck nb_%s (%s): %s\n", unary_rows[op].name, k ? "transposed" : "contiguous", nb_last_error());
                    nb_clear_error();
                }
                nbt_checks++;
            }
            if (nb_gradgradcheck(apply_unary, &x, 1, &call, NB_GRADCHECK_OPTS()) != NB_OK) {
                nbt_failures++;
                fprintf(stderr, "  gradgradcheck nb_%s: %s\n", unary_rows[op].name, nb_last_error());
                nb_clear_error();
            }
            nbt_checks++;
            nb_scope_end();
        }
    }
}

static void test_binary_gradients(void)
{
    nb_manual_seed(8);
    for (int op = 0; op < NBI_NUM_BINARY; op++) {
        if (strcmp(binary_rows[op].grad, "DIFF") != 0) continue;
        nb_scope_begin();
        op_call call = { .op = op };
        /* Same shapes; broadcast both ways ((3,1) with (4)); float32 with float64. */
        nb_tensor *cases[3][2] = {
            { smooth_input(NB_SHAPE(3, 4)), smooth_input(NB_SHAPE(3, 4)) },
            { smooth_input(NB_SHAPE(3, 1)), smooth_input(NB_SHAPE(4)) },
            { nb_transpose(smooth_input(NB_SHAPE(4, 3)), 0, 1), smooth_input(NB_SHAPE(1, 4)) },
        };
        if (op == NBI_BINARY_floor_divide || op == NBI_BINARY_remainder || op == NBI_BINARY_fmod) {
            /* Away from the jumps: a / b stays inside (1, 2) or (0, 1). */
            for (int c = 0; c < 3; c++) {
                bool needs = cases[c][1]->requires_grad;
                cases[c][1] = nb_add_scalar(nb_detach(cases[c][1]), 2.5);
                if (needs) nb_requires_grad_(cases[c][1], true);
            }
        }
        for (int c = 0; c < 3; c++) {
            if (nb_gradcheck(apply_binary, cases[c], 2, &call, NB_GRADCHECK_OPTS()) != NB_OK) {
                nbt_failures++;
                fprintf(stderr, "  gradcheck nb_%s case %d: %s\n", binary_rows[op].name, c, nb_last_error());
                nb_clear_error();
            }
            nbt_checks++;
        }
        if (nb_gradgradcheck(apply_binary, cases[1], 2, &call, NB_GRADCHECK_OPTS()) != NB_OK) {
            nbt_failures++;
            fprintf(stderr, "  gradgradcheck nb_%s: %s\n", binary_rows[op].name, nb_last_error());
            nb_clear_error();
        }
        nbt_checks++;
        nb_scope_end();
    }
}

static nb_tensor *apply_where(nb_tensor *const *inputs, int count, void *user)
{
    (void)count;
    (void)user;
    nb_tensor *cond = nb_gt_scalar(inputs[0], 1.2);
    nb_tensor *out  = nb_where(cond, inputs[0], inputs[1]);
    nb_free(cond);
    return out;
}

static void test_where_gradient(void)
{
    nb_scope_begin();
    nb_tensor *inputs[2] = { smooth_input(NB_SHAPE(3, 4)), smooth_input(NB_SHAPE(4)) };
    NBT_CHECK(nb_gradcheck(apply_where, inputs, 2, NULL, NB_GRADCHECK_OPTS()) == NB_OK);
    NBT_CHECK(nb_gradgradcheck(apply_where, inputs, 2, NULL, NB_GRADCHECK_OPTS()) == NB_OK);
    nb_clear_error();
    nb_scope_end();
}

/* x with every third element set to exactly 0 (relu's kink). */
static nb_tensor *with_zeros(nb_tensor *x)
{
    nb_tensor *index = nb_arange(0, (double)nb_numel(x), 1, NB_OPTS());
    nb_tensor *keep  = nb_ne_scalar(nb_remainder_scalar(index, 3), 0);
    return nb_mul(x, nb_reshape(keep, nb_shape_of(x)));
}

/* The fused relu gradient equals its composite g * (x > 0), on every
 * layout and across the parallel split. */
static void test_relu_backward_fast_path(void)
{
    nb_scope_begin();
    nb_manual_seed(9);
    for (int dtype = 0; dtype < 2; dtype++) {
        nb_tensor *x = with_zeros(nb_randn(NB_SHAPE(300, 200), NB_OPTS(.dtype = dtype)));
        nb_tensor *g = nb_randn(NB_SHAPE(300, 200), NB_OPTS(.dtype = dtype));
        nb_tensor *fast = nbi_relu_backward(g, x);
        nb_tensor *slow = nb_mul(g, nb_gt_scalar(x, 0));
        NBT_CHECK(nb_item(nb_max(nb_abs(nb_sub(fast, slow)))) == 0);
        nb_tensor *fast_t = nbi_relu_backward(nb_t(g), nb_t(x));
        NBT_CHECK(nb_item(nb_max(nb_abs(nb_sub(fast_t, nb_t(slow))))) == 0);
    }
    nb_scope_end();
}

/* The scalar logical forms and erf_, declared in nabla.h since they
 * were generated: as their tensor forms. */
static void test_logical_scalar_and_erf_in_place(void)
{
    nb_scope_begin();
    nb_tensor *a = nbt_tensor(NB_SHAPE(4), NB_FLOAT32, (double[]){ 0, 1, -2, 0.5 });
    NBT_CHECK_TENSOR(nb_logical_and_scalar(a, 3), NB_SHAPE(4), 0, 0, 1, 1, 1);
    NBT_CHECK_TENSOR(nb_logical_and_scalar(a, 0), NB_SHAPE(4), 0, 0, 0, 0, 0);
    NBT_CHECK_TENSOR(nb_logical_or_scalar(a, 0), NB_SHAPE(4), 0, 0, 1, 1, 1);
    NBT_CHECK_TENSOR(nb_logical_or_scalar(a, -1), NB_SHAPE(4), 0, 1, 1, 1, 1);
    NBT_CHECK(nb_dtype_of(nb_logical_or_scalar(a, 1)) == NB_BOOL);
    nb_tensor *e = nb_clone(a);
    NBT_CHECK(nb_erf_(e) == e);
    NBT_CHECK_TENSOR(e, NB_SHAPE(4), 1e-6, 0, erf(1.0), erf(-2.0), erf(0.5));
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_unary_table);
    NBT_RUN(test_binary_table);
    NBT_RUN(test_isa_tables_agree);
    NBT_RUN(test_isa_half_loops_agree);
    NBT_RUN(test_signed_zero);
    NBT_RUN(test_promotion);
    NBT_RUN(test_integer_semantics);
    NBT_RUN(test_float_special_values);
    NBT_RUN(test_in_place);
    NBT_RUN(test_logical_scalar_and_erf_in_place);
    NBT_RUN(test_where_and_params);
    NBT_RUN(test_errors);
    NBT_RUN(test_large_parallel);
    NBT_RUN(test_unary_gradients);
    NBT_RUN(test_binary_gradients);
    NBT_RUN(test_where_gradient);
    NBT_RUN(test_relu_backward_fast_path);
    printf("elementwise kernels: %s\n", nbi_elementwise_isa());
    return nbt_finish();
}
