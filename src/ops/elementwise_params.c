/*
 * elementwise_params.c — issue 13's elementwise front doors that take
 * parameters or compose rows: the parametrised rows of ops.def (square,
 * logsigmoid, round with decimals, leaky_relu, elu / selu / celu,
 * hardtanh / relu6, nan_to_num), and the composites softsign, glu, prelu,
 * isclose and allclose (autograd differentiates what they are made of).
 *
 * Each checks its parameters here, then runs the row through
 * nbi_run_unary (src/ops/elementwise.c), which checks the tensor.
 */
#include "core/backend.h"
#include "core/internal.h"
#include "ops/elementwise.h"

#include <math.h>

/* ------------------------------------------------------------------------ */
/* Rows without parameters but with a hand-written front door               */
/* ------------------------------------------------------------------------ */

/* torch.square is pow(x, 2): bool widens to int64 first (in place it is
 * refused, as int64 cannot be written into bool). */
static nb_tensor *square(nb_tensor *t, bool in_place)
{
    const char         *name   = in_place ? "nb_square_" : "nb_square";
    const nbi_op_params params = { 0 };
    if (!nbi_check_tensor(t, name, "t")) return NULL;
    if (t->dtype == NB_BOOL && in_place)
        return nbi_fail(NB_ERR_DTYPE, "%s: the result type int64 can't be written into a bool tensor (as torch)", name);
    if (t->dtype == NB_BOOL) {
        nb_tensor *widened = nb_to_dtype(t, NB_INT64);
        nb_tensor *out     = widened ? nbi_run_unary(NBI_UNARY_square, name, widened, &params, false) : NULL;
        nb_free(widened);
        return out;
    }
    return nbi_run_unary(NBI_UNARY_square, name, t, &params, in_place);
}
nb_tensor *nb_square(const nb_tensor *t) { return square((nb_tensor *)t, false); }
nb_tensor *nb_square_(nb_tensor *t) { return square(t, true); }

nb_tensor *nb_logsigmoid(const nb_tensor *t)
{
    const nbi_op_params params = { 0 };
    return nbi_run_unary(NBI_UNARY_logsigmoid, "nb_logsigmoid", t, &params, false);
}

/* ------------------------------------------------------------------------ */
/* round(decimals)                                                           */
/* ------------------------------------------------------------------------ */

static nb_tensor *round_decimals(nb_tensor *t, int64_t decimals, bool in_place)
{
    const char *name = in_place ? "nb_round_decimals_" : "nb_round_decimals";
    /* 10^308 is the largest power a double holds; beyond it torch's
     * ten_pow is inf too, and rounding gives NaN / the input alike. */
    if (decimals > 400 || decimals < -400)
        return nbi_fail(NB_ERR_ARG, "%s: decimals must be within [-400, 400], got %lld", name, (long long)decimals);
    int64_t       magnitude = decimals < 0 ? -decimals : decimals;
    nbi_op_params params    = { .a = pow(10.0, (double)magnitude), .flag = decimals < 0 };
    return nbi_run_unary(NBI_UNARY_round_decimals, name, t, &params, in_place);
}
nb_tensor *nb_round_decimals(const nb_tensor *t, int64_t decimals) { return round_decimals((nb_tensor *)t, decimals, false); }
nb_tensor *nb_round_decimals_(nb_tensor *t, int64_t decimals) { return round_decimals(t, decimals, true); }

/* ------------------------------------------------------------------------ */
/* Activations with parameters                                               */
/* ------------------------------------------------------------------------ */

static nb_tensor *leaky_relu(nb_tensor *t, double negative_slope, bool in_place)
{
    const char *name = in_place ? "nb_leaky_relu_" : "nb_leaky_relu";
    if (isnan(negative_slope))
        return nbi_fail(NB_ERR_ARG, "%s: negative_slope must be a number, got NaN", name);
    nbi_op_params params = { .a = negative_slope };
    return nbi_run_unary(NBI_UNARY_leaky_relu, name, t, &params, in_place);
}
nb_tensor *nb_leaky_relu(const nb_tensor *t, double negative_slope) { return leaky_relu((nb_tensor *)t, negative_slope, false); }
nb_tensor *nb_leaky_relu_(nb_tensor *t, double negative_slope) { return leaky_relu(t, negative_slope, true); }

static nb_tensor *elu_like(nbi_unary_op op, const char *name, nb_tensor *t, double alpha, double scale,
                           double input_scale, bool in_place)
{
    if (!isfinite(alpha))
        return nbi_fail(NB_ERR_ARG, "%s: alpha must be finite, got %g", name, alpha);
    nbi_op_params params = { .a = alpha, .b = scale, .c = input_scale };
    return nbi_run_unary(op, name, t, &params, in_place);
}

nb_tensor *nb_elu(const nb_tensor *t, double alpha)
{
    return elu_like(NBI_UNARY_elu, "nb_elu", (nb_tensor *)t, alpha, 1, 1, false);
}
nb_tensor *nb_elu_(nb_tensor *t, double alpha) { return elu_like(NBI_UNARY_elu, "nb_elu_", t, alpha, 1, 1, true); }

/* SELU's constants, as torch (Klambauer et al. 2017). */
static const double selu_alpha = 1.6732632423543772848170429916717;
static const double selu_scale = 1.0507009873554804934193349852946;

nb_tensor *nb_selu(const nb_tensor *t)
{
    return elu_like(NBI_UNARY_elu, "nb_selu", (nb_tensor *)t, selu_alpha, selu_scale, 1, false);
}
nb_tensor *nb_selu_(nb_tensor *t) { return elu_like(NBI_UNARY_elu, "nb_selu_", t, selu_alpha, selu_scale, 1, true); }

static nb_tensor *celu(nb_tensor *t, double alpha, bool in_place)
{
    const char *name = in_place ? "nb_celu_" : "nb_celu";
    if (alpha == 0) return nbi_fail(NB_ERR_ARG, "%s: alpha cannot be 0 (as torch)", name);
    return elu_like(NBI_UNARY_celu, name, t, alpha, 1, 1 / alpha, in_place);
}
nb_tensor *nb_celu(const nb_tensor *t, double alpha) { return celu((nb_tensor *)t, alpha, false); }
nb_tensor *nb_celu_(nb_tensor *t, double alpha) { return celu(t, alpha, true); }

/* Integer tensors take the bounds truncated toward zero, as torch converts
 * them; uint8 refuses negative ones, as torch; the rest are clipped to the
 * dtype's range so that converting them is defined. */
static nb_tensor *hardtanh(const char *name, nb_tensor *t, double min, double max, bool in_place)
{
    if (!nbi_check_tensor(t, name, "t")) return NULL;
    if (isnan(min) || isnan(max))
        return nbi_fail(NB_ERR_ARG, "%s: min and max must be numbers (got %g, %g)", name, min, max);
    nbi_op_params params = { .a = min, .b = max };
    if (nbi_is_integral(t->dtype)) {
        if (t->dtype == NB_UINT8 && (min < 0 || max < 0))
            return nbi_fail(NB_ERR_ARG, "%s: cannot do hardtanh on an unsigned type with negative limits "
                                        "(min %g, max %g), as torch", name, min, max);
        double lo = t->dtype == NB_UINT8 ? 0 : t->dtype == NB_INT32 ? -2147483648.0 : -9223372036854775808.0;
        double hi = t->dtype == NB_UINT8 ? 255 : t->dtype == NB_INT32 ? 2147483647.0 : 9223372036854774784.0;
        params.a  = trunc(min < lo ? lo : (min > hi ? hi : min));
        params.b  = trunc(max < lo ? lo : (max > hi ? hi : max));
    }
    return nbi_run_unary(NBI_UNARY_hardtanh, name, t, &params, in_place);
}
nb_tensor *nb_hardtanh(const nb_tensor *t, double min, double max) { return hardtanh("nb_hardtanh", (nb_tensor *)t, min, max, false); }
nb_tensor *nb_hardtanh_(nb_tensor *t, double min, double max) { return hardtanh("nb_hardtanh_", t, min, max, true); }
nb_tensor *nb_relu6(const nb_tensor *t) { return hardtanh("nb_relu6", (nb_tensor *)t, 0, 6, false); }
nb_tensor *nb_relu6_(nb_tensor *t) { return hardtanh("nb_relu6_", t, 0, 6, true); }

/* ------------------------------------------------------------------------ */
/* nan_to_num                                                                */
/* ------------------------------------------------------------------------ */

static nb_tensor *nan_to_num(nb_tensor *t, double nan, double posinf, double neginf, bool in_place)
{
    const char *name = in_place ? "nb_nan_to_num_" : "nb_nan_to_num";
    if (!nbi_check_tensor(t, name, "t")) return NULL;
    /* the dtype's largest finite value (the halves': 65504 and 0x7F7F) */
    double largest = t->dtype == NB_FLOAT32    ? 3.4028234663852886e38
                     : t->dtype == NB_FLOAT16  ? 65504.0
                     : t->dtype == NB_BFLOAT16 ? 3.3895313892515355e38
                                               : 1.7976931348623157e308;
    nbi_op_params params = { .a = nan, .b = isnan(posinf) ? largest : posinf, .c = isnan(neginf) ? -largest : neginf };
    return nbi_run_unary(NBI_UNARY_nan_to_num, name, t, &params, in_place);
}
nb_tensor *nb_nan_to_num(const nb_tensor *t, double nan, double posinf, double neginf)
{
    return nan_to_num((nb_tensor *)t, nan, posinf, neginf, false);
}
nb_tensor *nb_nan_to_num_(nb_tensor *t, double nan, double posinf, double neginf)
{
    return nan_to_num(t, nan, posinf, neginf, true);
}

/* ------------------------------------------------------------------------ */
/* Composites                                                                */
/* ------------------------------------------------------------------------ */

/* x / (1 + |x|), as torch composes it (integers become float32 through
 * the division, and the node is DivBackward0, as torch's). */
nb_tensor *nb_softsign(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_softsign", "t")) return NULL;
    nb_tensor *magnitude   = nb_abs(t);
    nb_tensor *denominator = nb_add_scalar(magnitude, 1);
    nb_tensor *out         = nb_div(t, denominator);
    nb_free(magnitude);
    nb_free(denominator);
    return out;
}

/* First half of t along dim times sigmoid of the second half. */
nb_tensor *nb_glu(const nb_tensor *t, int dim)
{
    const char *name = "nb_glu";
    if (!nbi_check_tensor(t, name, "t")) return NULL;
    if (t->ndim == 0) return nbi_fail(NB_ERR_SHAPE, "%s: glu does not support scalars because halving size must be even", name);
    int d = dim < 0 ? dim + t->ndim : dim;
    if (d < 0 || d >= t->ndim)
        return nbi_fail(NB_ERR_ARG, "%s: dim %d is out of range for a %d-d tensor", name, dim, t->ndim);
    if (t->shape[d] % 2 != 0)
        return nbi_fail(NB_ERR_SHAPE, "%s: halving dimension must be even, but dimension %d is size %lld", name, d,
                        (long long)t->shape[d]);
    if (!nb_dtype_is_floating(t->dtype))
        return nbi_fail(NB_ERR_DTYPE, "%s: expected a floating-point tensor (float16, bfloat16, float32 or float64), got %s", name,
                        nb_dtype_name(t->dtype));
    int64_t    half   = t->shape[d] / 2;
    nb_tensor *first  = nb_narrow(t, d, 0, half);
    nb_tensor *second = nb_narrow(t, d, half, half);
    nb_tensor *gate   = nb_sigmoid(second);
    nb_tensor *out    = nb_mul(first, gate);
    nb_free(first);
    nb_free(second);
    nb_free(gate);
    return out;
}

/* x where x > 0, else weight * x; weight has 1 element or one per channel
 * (dim 1 of x). */
nb_tensor *nb_prelu(const nb_tensor *x, const nb_tensor *weight)
{
    const char *name = "nb_prelu";
    if (!nbi_check_tensor(x, name, "x") || !nbi_check_tensor(weight, name, "weight")) return NULL;
    const nb_tensor *both[2] = { x, weight };
    if (!nbi_check_device(name, 2, both, (const char *const[]){ "x", "weight" })) return NULL;
    if (!nb_dtype_is_floating(x->dtype) || x->dtype != weight->dtype)
        return nbi_fail(NB_ERR_DTYPE, "%s: x and weight must be floating-point tensors of one dtype, got %s and %s",
                        name, nb_dtype_name(x->dtype), nb_dtype_name(weight->dtype));
    if (weight->ndim > 1)
        return nbi_fail(NB_ERR_SHAPE, "%s: weight must be 1-d or 0-d, got %d dims", name, weight->ndim);
    int64_t channels = x->ndim >= 2 ? x->shape[1] : 1; /* a 1-d x is one channel, as torch */
    if (weight->numel != 1 && weight->numel != channels)
        return nbi_fail(NB_ERR_SHAPE, "%s: weight has %lld elements; expected 1 or the %lld channels of x", name,
                        (long long)weight->numel, (long long)channels);
    /* A per-channel weight as (C, 1, ..., 1) against x's dims 1.. */
    nb_tensor *w;
    if (weight->numel == 1) {
        w = nb_reshape(weight, NB_SCALAR_SHAPE);
    } else {
        nb_shape shape = { .ndim = x->ndim - 1 };
        shape.dims[0]  = channels;
        for (int k = 1; k < shape.ndim; k++) shape.dims[k] = 1;
        w = nb_reshape(weight, shape);
    }
    nb_tensor *positive = nb_gt_scalar(x, 0);
    nb_tensor *scaled   = nb_mul(w, x);
    nb_tensor *out      = nb_where(positive, x, scaled);
    nb_free(w);
    nb_free(positive);
    nb_free(scaled);
    return out;
}

/* torch.isclose: a == b, or |a - b| <= atol + rtol |b| with |a - b| finite;
 * NaNs equal only when equal_nan (and only for floats). */
static nb_tensor *isclose(const char *name, const nb_tensor *a, const nb_tensor *b, double rtol, double atol,
                          bool equal_nan)
{
    if (!nbi_check_tensor(a, name, "a") || !nbi_check_tensor(b, name, "b")) return NULL;
    const nb_tensor *both[2] = { a, b };
    if (!nbi_check_device(name, 2, both, (const char *const[]){ "a", "b" })) return NULL;
    if (a->dtype != b->dtype)
        return nbi_fail(NB_ERR_DTYPE, "%s: a and b must have one dtype (as torch), got %s and %s", name,
                        nb_dtype_name(a->dtype), nb_dtype_name(b->dtype));
    if (!(rtol >= 0) || !(atol >= 0))
        return nbi_fail(NB_ERR_ARG, "%s: rtol and atol must be greater than or equal to zero, got %g and %g", name,
                        rtol, atol);
    nb_shape joined;
    if (nb_broadcast_shapes(nb_shape_of(a), nb_shape_of(b), &joined) != NB_OK) { /* name this op, not nb_eq */
        char sa[NBI_SHAPE_STR_SIZE], sb[NBI_SHAPE_STR_SIZE];
        nb_clear_error();
        return nbi_fail(NB_ERR_SHAPE, "%s: shapes %s and %s do not broadcast", name,
                        nbi_shape_str(a->ndim, a->shape, sa, sizeof sa), nbi_shape_str(b->ndim, b->shape, sb, sizeof sb));
    }
    nb_scope_begin();
    nb_tensor *close = nb_eq(a, b);
    if (equal_nan && nb_dtype_is_floating(a->dtype))
        close = nb_logical_or(close, nb_logical_and(nb_isnan(a), nb_isnan(b)));
    if (rtol != 0 || atol != 0) {
        /* As torch 1.13 (measured): integer and bool tensors are compared in
         * float32, so uint8 4 and 6 differ by 2 (no wrap) and int64 values
         * beyond 2^24 round first. */
        const nb_tensor *ca = nb_dtype_is_floating(a->dtype) ? a : nb_to_dtype(a, NB_FLOAT32);
        const nb_tensor *cb = nb_dtype_is_floating(b->dtype) ? b : nb_to_dtype(b, NB_FLOAT32);
        nb_tensor *allowed  = nb_add_scalar(nb_abs(nb_mul_scalar(cb, rtol)), atol);
        nb_tensor *actual   = nb_abs(nb_sub(ca, cb));
        close = nb_logical_or(close, nb_logical_and(nb_isfinite(actual), nb_le(actual, allowed)));
    }
    nb_tensor *out = close ? nb_keep(close) : NULL;
    nb_scope_end();
    return out;
}

nb_tensor *nb_isclose(const nb_tensor *a, const nb_tensor *b, double rtol, double atol, bool equal_nan)
{
    return isclose("nb_isclose", a, b, rtol, atol, equal_nan);
}

nb_status nb_allclose(const nb_tensor *a, const nb_tensor *b, double rtol, double atol, bool equal_nan, bool *result)
{
    if (result == NULL) {
        nbi_fail(NB_ERR_ARG, "nb_allclose: result must not be NULL");
        return NB_ERR_ARG;
    }
    *result        = false;
    nb_tensor *all = NULL;
    nb_tensor *close = isclose("nb_allclose", a, b, rtol, atol, equal_nan);
    if (close != NULL) all = nb_all(close);
    nb_free(close);
    if (all == NULL) return nb_last_status();
    *result = nb_item(all) != 0;
    nb_free(all);
    return NB_OK;
}
