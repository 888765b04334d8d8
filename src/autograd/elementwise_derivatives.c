/*
 * elementwise_derivatives.c — the backward formula of every differentiable
 * row of src/core/ops.def, written with public nb_* ops (as PyTorch's
 * derivatives.yaml), so they run on every device and, under create_graph,
 * record themselves for second derivatives.
 *
 * g is the gradient of the output; x (unary) or a, b (binary) the inputs.
 * Binary gradients are summed back to each input's shape (broadcasting's
 * adjoint) and converted to its dtype (float32 + float64 inputs).
 *
 * NOTE: formulas that could reuse the output (exp, tanh, sigmoid, sqrt) read
 * the saved output only when not recording; with create_graph they
 * recompute it from the input, because the saved output is detached and a
 * second derivative must see how it depends on x.
 */
#include "autograd.h"
#include "elementwise_derivatives.h"

/* Keep gi out of the formula's scope, shaped and typed as input i. */
static nb_status finish_input_grad(nbi_node *node, int i, nb_tensor *gi, nb_tensor **grad_inputs)
{
    if (gi == NULL) return nb_last_status();
    nb_tensor *input = nbi_input(node, i);
    nb_tensor *fitted = nbi_sum_to(gi, input->ndim, input->shape);
    if (fitted != NULL && fitted->dtype != input->dtype) fitted = nb_to_dtype(fitted, input->dtype);
    if (fitted == NULL) return nb_last_status();
    grad_inputs[i] = nb_keep(fitted);
    return NB_OK;
}

/* The saved output; when recording (create_graph), as a tensor that this
 * node made, so that second derivatives pass through it. op recomputes it
 * from the input for a node that did not save it. */
static nb_tensor *output_of(nbi_node *node, nb_tensor *(*op)(const nb_tensor *))
{
    nb_tensor *saved = nbi_saved_output(node);
    if (saved == NULL) return op(nbi_input(node, 0));
    return nbi_grad_enabled() ? nbi_output_with_history(node) : saved;
}

/* ------------------------------------------------------------------------ */
/* Unary                                                                     */
/* ------------------------------------------------------------------------ */

/* g with the elements where drop holds set to 0. NOTE: a selection, not
 * g * !drop: torch's masked_fill / where, so an infinite or NaN g where
 * the input did not matter gives 0 there, not inf * 0 = NaN. */
static nb_tensor *masked_out(nb_tensor *g, const nb_tensor *drop)
{
    return nb_masked_fill(g, drop, 0.0);
}

/* Formulas as expressions of g, x and (where saved) y; each defines
 * <name>_backward. */
#define UNARY_FORMULA(name, EXPR)                                                              \
    static nb_status name##_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)    \
    {                                                                                          \
        NBI_FORMULA_BEGIN();                                                                       \
        nb_tensor *x = nbi_input(node, 0);                                                     \
        (void)x;                                                                               \
        nb_status status = finish_input_grad(node, 0, (EXPR), grad_inputs);                    \
        NBI_FORMULA_END(status);                                                                   \
    }

static nb_tensor *square(const nb_tensor *t) { return nb_mul(t, t); }

/* For the ops whose torch backward is one kernel (tanh_backward,
 * sigmoid_backward, silu_backward, gelu_backward, softplus_backward,
 * elu_backward, hardswish_backward, mish_backward, log_sigmoid_backward):
 * on float16 / bfloat16 those compute in float32 and round once, so these
 * formulas take g and x in float32 (finish_input_grad rounds back; a saved
 * half output promotes). Composite formulas (sin's g cos x, ...) stay in
 * the half dtype, rounding per op as torch's do. */
static void widen_half(nb_tensor **g, nb_tensor **x)
{
    *x = nbi_float32_if_half(*x);
    *g = nbi_float32_if_half(*g);
}

/* output_of, in x's dtype (float32 once widen_half widened x). */
static nb_tensor *output_as(nbi_node *node, nb_tensor *(*op)(const nb_tensor *), const nb_tensor *x)
{
    return nbi_in_dtype_of(output_of(node, op), x);
}

static nb_tensor *sigmoid_slope(const nb_tensor *y) { return nb_mul(y, nb_rsub_scalar(y, 1)); }

/* UNARY_FORMULA for those ops. */
#define UNARY_KERNEL_FORMULA(name, EXPR)                                                       \
    static nb_status name##_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)    \
    {                                                                                          \
        NBI_FORMULA_BEGIN();                                                                   \
        nb_tensor *x = nbi_input(node, 0);                                                     \
        widen_half(&g, &x);                                                                    \
        nb_status status = finish_input_grad(node, 0, (EXPR), grad_inputs);                    \
        NBI_FORMULA_END(status);                                                               \
    }

UNARY_FORMULA(neg, nb_neg(g))
UNARY_FORMULA(abs, nb_mul(g, nb_sign(x)))
UNARY_FORMULA(sign, nb_zeros_like(g))
UNARY_FORMULA(exp, nb_mul(g, output_of(node, nb_exp)))
UNARY_FORMULA(log, nb_div(g, x))
UNARY_FORMULA(log1p, nb_div(g, nb_add_scalar(x, 1)))
UNARY_FORMULA(expm1, nb_mul(g, nb_add_scalar(output_of(node, nb_expm1), 1)))
UNARY_FORMULA(sqrt, nb_div(g, nb_mul_scalar(output_of(node, nb_sqrt), 2)))
UNARY_FORMULA(rsqrt, nb_mul(nb_mul_scalar(g, -0.5), nb_pow_scalar(output_of(node, nb_rsqrt), 3)))
UNARY_FORMULA(sin, nb_mul(g, nb_cos(x)))
UNARY_FORMULA(cos, nb_neg(nb_mul(g, nb_sin(x))))
/* tanh' = 1 - y^2 */
UNARY_KERNEL_FORMULA(tanh, nb_mul(g, nb_rsub_scalar(square(output_as(node, nb_tanh, x)), 1)))
/* sigmoid' = y (1 - y) */
UNARY_KERNEL_FORMULA(sigmoid, nb_mul(g, sigmoid_slope(output_as(node, nb_sigmoid, x))))
/* The mask of !(x <= 0), as a number: relu' (0 at 0, 1 at NaN, as torch's
 * threshold_backward). */
UNARY_FORMULA(relu, nbi_link_to_input(node, 0, nbi_relu_backward(g, x), "ThresholdBackwardBackward0"))
/* silu' = s (1 + x (1 - s)), s = sigmoid(x) */
UNARY_KERNEL_FORMULA(silu, nb_mul(g, nb_mul(nb_sigmoid(x), nb_add_scalar(nb_mul(x, nb_rsub_scalar(nb_sigmoid(x), 1)), 1))))
/* erf' = 2/sqrt(pi) exp(-x^2) */
UNARY_FORMULA(erf, nb_mul(g, nb_mul_scalar(nb_exp(nb_neg(square(x))), 1.1283791670955126)))

static nb_status gelu_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x = nbi_input(node, 0), *derivative;
    widen_half(&g, &x);
    if (node->scalars[0] != 0) {
        /* tanh form: u = k (x + c x^3), d = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2) */
        const double k = 0.7978845608028654, c = 0.044715;
        nb_tensor *x2 = square(x);
        nb_tensor *t  = nb_tanh(nb_mul_scalar(nb_add(x, nb_mul_scalar(nb_mul(x2, x), c)), k));
        nb_tensor *left  = nb_mul_scalar(nb_add_scalar(t, 1), 0.5);
        nb_tensor *right = nb_mul(nb_mul_scalar(x, 0.5 * k),
                                  nb_mul(nb_rsub_scalar(square(t), 1), nb_add_scalar(nb_mul_scalar(x2, 3 * c), 1)));
        derivative = nb_add(left, right);
    } else {
        /* erf form: Phi(x) + x phi(x) */
        nb_tensor *cdf = nb_mul_scalar(nb_add_scalar(nb_erf(nb_mul_scalar(x, 0.7071067811865476)), 1), 0.5);
        nb_tensor *pdf = nb_mul_scalar(nb_exp(nb_mul_scalar(square(x), -0.5)), 0.3989422804014327);
        derivative     = nb_add(cdf, nb_mul(x, pdf));
    }
    nb_status status = finish_input_grad(node, 0, nb_mul(g, derivative), grad_inputs);
    NBI_FORMULA_END(status);
}

/* g where beta x > threshold (the linear part), else g sigmoid(beta x). */
static nb_status softplus_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x    = nbi_input(node, 0);
    widen_half(&g, &x);
    nb_tensor *z    = nb_mul_scalar(x, node->scalars[0]);
    nb_tensor *one  = nb_ones(NB_SCALAR_SHAPE, NB_OPTS(.dtype = x->dtype));
    nb_tensor *mask = nb_where(nb_gt_scalar(z, node->scalars[1]), one, nb_sigmoid(z));
    nb_status status = finish_input_grad(node, 0, nb_mul(g, mask), grad_inputs);
    NBI_FORMULA_END(status);
}

/* g where min <= x <= max (a missing bound always passes), else 0. */
static nb_status clamp_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x      = nbi_input(node, 0);
    double     lo     = node->scalars[0], hi = node->scalars[1];
    nb_tensor *inside = nb_ones(nb_shape_of(x), NB_OPTS(.dtype = NB_BOOL, .device = nb_device_of(x)));
    if (!isnan(lo)) inside = nb_logical_and(inside, nb_ge_scalar(x, lo));
    if (!isnan(hi)) inside = nb_logical_and(inside, nb_le_scalar(x, hi));
    nb_status status = finish_input_grad(node, 0, masked_out(g, nb_logical_not(inside)), grad_inputs);
    NBI_FORMULA_END(status);
}

/* Issue 13's unary rows. Forms follow torch's derivatives.yaml, so kinks,
 * NaN and the edges of domains get torch's values. */
UNARY_FORMULA(tan, nb_mul(g, nb_add_scalar(square(output_of(node, nb_tan)), 1)))
UNARY_FORMULA(asin, nb_mul(g, nb_rsqrt(nb_rsub_scalar(square(x), 1))))
UNARY_FORMULA(acos, nb_neg(nb_mul(g, nb_rsqrt(nb_rsub_scalar(square(x), 1)))))
UNARY_FORMULA(atan, nb_div(g, nb_add_scalar(square(x), 1)))
UNARY_FORMULA(sinh, nb_mul(g, nb_cosh(x)))
UNARY_FORMULA(cosh, nb_mul(g, nb_sinh(x)))
UNARY_FORMULA(asinh, nb_mul(g, nb_rsqrt(nb_add_scalar(square(x), 1))))
UNARY_FORMULA(acosh, nb_mul(g, nb_rsqrt(nb_sub_scalar(square(x), 1))))
UNARY_FORMULA(atanh, nb_div(g, nb_rsub_scalar(square(x), 1)))
UNARY_FORMULA(log2, nb_div(g, nb_mul_scalar(x, 0.6931471805599453)))
UNARY_FORMULA(log10, nb_div(g, nb_mul_scalar(x, 2.302585092994046)))
UNARY_FORMULA(exp2, nb_mul(g, nb_mul_scalar(output_of(node, nb_exp2), 0.6931471805599453)))
/* -g y^2 */
UNARY_FORMULA(reciprocal, nb_neg(nb_mul(g, square(output_of(node, nb_reciprocal)))))
UNARY_FORMULA(floor, nb_zeros_like(g))
UNARY_FORMULA(ceil, nb_zeros_like(g))
UNARY_FORMULA(round, nb_zeros_like(g))
UNARY_FORMULA(trunc, nb_zeros_like(g))
UNARY_FORMULA(round_decimals, nb_zeros_like(g))
UNARY_FORMULA(frac, nbi_alias_recorded(g, "FracBackward0"))
UNARY_FORMULA(square, nb_mul(g, nb_mul_scalar(x, 2)))
/* logsigmoid' = sigmoid(-x) */
UNARY_KERNEL_FORMULA(logsigmoid, nb_mul(g, nb_sigmoid(nb_neg(x))))

/* g * cond ? then : otherwise, the branches given as factors of g. */
static nb_tensor *where_scalar_factor(const nb_tensor *cond, const nb_tensor *then, double otherwise)
{
    nb_tensor *other = then ? nb_full(NB_SCALAR_SHAPE, otherwise, NB_OPTS(.dtype = then->dtype)) : NULL;
    return nb_where(cond, then, other);
}

/* g (pi x cos(pi x) - sin(pi x)) / (pi x^2), 0 where pi x^2 is 0: also
 * where x^2 underflows (x = 1e-30 in float32), whose quotient would be
 * 0/0 (torch's mask). */
static nb_status sinc_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    const double pi      = 3.14159265358979323846;
    nb_tensor   *x       = nbi_input(node, 0);
    nb_tensor   *px      = nb_mul_scalar(x, pi);
    nb_tensor   *squared = nb_mul_scalar(nb_mul(x, x), pi);
    nb_tensor   *d       = nb_div(nb_mul(g, nb_sub(nb_mul(px, nb_cos(px)), nb_sin(px))), squared);
    nb_tensor   *zero    = nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = d ? d->dtype : x->dtype));
    nb_status    status  = finish_input_grad(node, 0, nb_where(nb_eq_scalar(squared, 0), zero, d), grad_inputs);
    NBI_FORMULA_END(status);
}

/* 0 below -3, x/3 + 1/2 up to 3 (both ends included, as torch), else 1;
 * NaN falls in "else". */
static nb_status hardswish_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x      = nbi_input(node, 0);
    widen_half(&g, &x);
    nb_tensor *middle = nb_where(nb_le_scalar(x, 3), nb_add_scalar(nb_div_scalar(x, 3), 0.5),
                                 nb_ones(NB_SCALAR_SHAPE, NB_OPTS(.dtype = x->dtype)));
    /* +0 below -3 whatever g's sign, as torch's kernel (g * 0 is -0 for g < 0) */
    nb_tensor *grad   = nb_where(nb_lt_scalar(x, -3), nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = x->dtype)),
                                 nb_mul(g, middle));
    nb_status  status = finish_input_grad(node, 0, grad, grad_inputs);
    NBI_FORMULA_END(status);
}

/* 1/6 strictly inside (-3, 3), else 0 (NaN too). */
static nb_status hardsigmoid_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x      = nbi_input(node, 0);
    nb_tensor *inside = nb_logical_and(nb_gt_scalar(x, -3), nb_lt_scalar(x, 3));
    nb_status  status = finish_input_grad(node, 0, nb_mul_scalar(nb_mul(g, inside), 1.0 / 6), grad_inputs);
    NBI_FORMULA_END(status);
}

/* t + x sigmoid(x) (1 - t^2), t = tanh(softplus(x)). */
static nb_status mish_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x = nbi_input(node, 0);
    widen_half(&g, &x);
    nb_tensor *t = nb_tanh(nb_softplus(x, 1, 20));
    nb_tensor *d = nb_add(t, nb_mul(nb_mul(x, nb_sigmoid(x)), nb_rsub_scalar(square(t), 1)));
    nb_status  status = finish_input_grad(node, 0, nb_mul(g, d), grad_inputs);
    NBI_FORMULA_END(status);
}

/* g where x > 0, else g * slope (x == 0 and NaN take the slope, as torch). */
static nb_status leaky_relu_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x      = nbi_input(node, 0);
    nb_tensor *one    = nb_ones(NB_SCALAR_SHAPE, NB_OPTS(.dtype = x->dtype));
    nb_tensor *d      = where_scalar_factor(nb_gt_scalar(x, 0), one, node->scalars[0]);
    nb_tensor *grad   = nbi_link_to_input(node, 0, nb_mul(g, d), "LeakyReluBackwardBackward0");
    nb_status  status = finish_input_grad(node, 0, grad, grad_inputs);
    NBI_FORMULA_END(status);
}

/* elu and celu: alpha scale input_scale exp(x input_scale) where x <= 0
 * (x == 0 included, as torch), else scale (NaN too). */
static nb_status elu_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x     = nbi_input(node, 0);
    widen_half(&g, &x);
    double     alpha = node->scalars[0], scale = node->scalars[1], input_scale = node->scalars[2];
    /* NOTE: exp of x where x <= 0 only (0 elsewhere): exp of a large x is
     * inf, and the second derivative of the untaken branch, 0 * inf, would
     * be NaN where torch has 0 */
    nb_tensor *at_most_0 = nb_le_scalar(x, 0);
    nb_tensor *x_kept    = nb_where(at_most_0, x, nb_zeros_like(x));
    nb_tensor *negative  = nb_mul_scalar(nb_exp(nb_mul_scalar(x_kept, input_scale)), alpha * scale * input_scale);
    nb_tensor *positive  = nb_full(NB_SCALAR_SHAPE, scale, NB_OPTS(.dtype = x->dtype));
    nb_tensor *d         = nb_where(at_most_0, negative, positive);
    nb_status  status   = finish_input_grad(node, 0, nb_mul(g, d), grad_inputs);
    NBI_FORMULA_END(status);
}
static nb_status celu_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    return elu_backward(node, g, grad_inputs);
}

/* g strictly inside (min, max), else 0; NaN passes g, as torch. */
static nb_status hardtanh_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x       = nbi_input(node, 0);
    nb_tensor *outside = nb_logical_or(nb_le_scalar(x, node->scalars[0]), nb_ge_scalar(x, node->scalars[1]));
    nb_tensor *grad    = nbi_link_to_input(node, 0, masked_out(g, outside), "HardtanhBackwardBackward0");
    nb_status  status  = finish_input_grad(node, 0, grad, grad_inputs);
    NBI_FORMULA_END(status);
}

/* g where x is finite: a replaced value does not depend on x. */
UNARY_FORMULA(nan_to_num, nb_mul(g, nb_isfinite(x)))

/* ------------------------------------------------------------------------ */
/* Binary                                                                    */
/* ------------------------------------------------------------------------ */

/* Input i as the formula sees it: in the op's result dtype. NOTE: the op
 * computed in that dtype, so its formula must too; an integer input (pow's
 * int base with a float exponent that requires grad) would otherwise reach
 * ops that refuse integers (nb_log) or compute in the wrong type. */
static nb_tensor *input_in_result_dtype(nbi_node *node, int i)
{
    nb_tensor *input = nbi_input(node, i);
    return input->dtype == node->dtype ? input : nb_to_dtype(input, node->dtype);
}

/* ga and gb from expressions of g, a and b (in the result dtype), each
 * computed only when that input needs a gradient. */
#define BINARY_FORMULA(name, EXPR_A, EXPR_B)                                                   \
    static nb_status name##_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)    \
    {                                                                                          \
        NBI_FORMULA_BEGIN();                                                                       \
        nb_tensor *a = input_in_result_dtype(node, 0), *b = input_in_result_dtype(node, 1);    \
        (void)a;                                                                               \
        (void)b;                                                                               \
        nb_status status = NB_OK;                                                              \
        if (nbi_input_needs_grad(node, 0)) status = finish_input_grad(node, 0, (EXPR_A), grad_inputs); \
        if (status == NB_OK && nbi_input_needs_grad(node, 1))                                  \
            status = finish_input_grad(node, 1, (EXPR_B), grad_inputs);                        \
        NBI_FORMULA_END(status);                                                                   \
    }

BINARY_FORMULA(add, nbi_alias_recorded(g, "AddBackward0"), nbi_alias_recorded(g, "AddBackward0"))
BINARY_FORMULA(sub, nbi_alias_recorded(g, "SubBackward0"), nb_neg(g))
BINARY_FORMULA(mul, nb_mul(g, b), nb_mul(g, a))
/* d/db a / b = -(g (a / b)) / b, as torch: dividing twice, not by b^2,
 * which overflows or underflows long before a / b / b does (float32
 * b = 1e20: 0 instead of -1e-40 g a) */
BINARY_FORMULA(div, nb_div(g, b), nb_neg(nb_div(nb_mul(g, nb_div(a, b)), b)))
BINARY_FORMULA(floor_divide, nb_zeros_like(g), nb_zeros_like(g))
BINARY_FORMULA(remainder, nbi_alias_recorded(g, "RemainderBackward1"), nb_neg(nb_mul(g, nb_floor_divide(a, b))))
/* d/da a^b = b a^(b-1), 0 where b == 0; d/db a^b = a^b log a, 0 where
 * a == 0 and b >= 0 (the limit, instead of 0 * -inf). */
/* a^(b - 1) as torch's backward takes it: for a number b (the node's
 * scalars: 1 and b) with pow of a number, which runs sqrt or 1 / sqrt for
 * b - 1 = +-0.5 where torch does. */
static nb_tensor *pow_less_one(const nbi_node *node, const nb_tensor *a, const nb_tensor *b)
{
    return node->scalars[0] != 0 ? nb_pow_scalar(a, node->scalars[1] - 1) : nb_pow(a, nb_sub_scalar(b, 1));
}
/* log a as torch's backward takes it: of the base in its own dtype (an
 * integer base in float32, the default float dtype), before the product
 * a^b log a promotes it with the result's dtype: a float32 base under a
 * float64 exponent gets float32's log, and a float16 result from an
 * integer base does not overflow in the product. */
static nb_tensor *log_of_base(nbi_node *node)
{
    const nb_tensor *base = nbi_input(node, 0);
    return nb_log(nb_dtype_is_floating(base->dtype) ? base : nb_to_dtype(base, NB_FLOAT32));
}
/* NOTE: g times the selected factor, not a selection between g * ... and
 * 0, as torch: the derivative with respect to g is then the factor (0
 * where it is 0), not 0 * log 0 = NaN. A number exponent of 0 gives zeros
 * with no graph, as torch's pow_backward. */
static nb_tensor *pow_grad_base(nbi_node *node, nb_tensor *g, nb_tensor *a, nb_tensor *b)
{
    if (node->scalars[0] != 0 && node->scalars[1] == 0) return nb_zeros_like(g);
    nb_tensor *factor = nb_mul(b, pow_less_one(node, a, b));
    return nb_mul(g, nb_where(nb_eq_scalar(b, 0), nb_zeros_like(factor), factor));
}
BINARY_FORMULA(pow, pow_grad_base(node, g, a, b),
               nb_mul(g, nb_where(nb_logical_and(nb_eq_scalar(a, 0), nb_ge_scalar(b, 0)), nb_zeros_like(a),
                                  nb_mul(nb_pow(a, b), log_of_base(node)))))
/* Ties share the gradient equally, as torch 1.13: g, halved where a == b,
 * zeroed where the other input wins. Where a or b is NaN no comparison
 * holds, so both inputs get g, as torch gives. */
static nb_tensor *extremum_share(nb_tensor *g, nb_tensor *loses, const nb_tensor *a, const nb_tensor *b)
{
    return masked_out(nb_where(nb_eq(a, b), nb_mul_scalar(g, 0.5), g), loses);
}
BINARY_FORMULA(maximum, extremum_share(g, nb_lt(a, b), a, b), extremum_share(g, nb_gt(a, b), a, b))
BINARY_FORMULA(minimum, extremum_share(g, nb_gt(a, b), a, b), extremum_share(g, nb_lt(a, b), a, b))

/* Issue 13. fmod: d/db = -trunc(a / b), as torch. */
BINARY_FORMULA(fmod, nbi_alias_recorded(g, "FmodBackward1"), nb_neg(nb_mul(g, nb_trunc(nb_div(a, b)))))
/* atan2: (g b, -g a) / (a^2 + b^2) */
BINARY_FORMULA(atan2, nb_mul(g, nb_mul(b, nb_reciprocal(nb_add(square(a), square(b))))),
               nb_mul(g, nb_mul(nb_neg(a), nb_reciprocal(nb_add(square(a), square(b))))))
/* copysign: g * copysign(a, b) / a, 0 where a == 0 (torch's masked ratio);
 * b gets zeros. */
static nb_tensor *copysign_ratio(const nb_tensor *a, const nb_tensor *b)
{
    nb_tensor *zero = nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = a->dtype));
    return nb_where(nb_eq_scalar(a, 0), zero, nb_div(nb_copysign(a, b), a));
}
BINARY_FORMULA(copysign, nb_mul(g, copysign_ratio(a, b)), nb_zeros_like(g))
/* hypot: g a / hypot(a, b), g b / hypot(a, b) */
BINARY_FORMULA(hypot, nb_mul(g, nb_div(a, nb_hypot(a, b))), nb_mul(g, nb_div(b, nb_hypot(a, b))))
/* xlogy, as torch: a gets xlogy(g, b), 0 where a == 0 and b <= 0 (the
 * limit); b gets g a / b (NaN at a == b == 0, as torch's). */
static nb_tensor *xlogy_grad_a(const nb_tensor *g, const nb_tensor *a, const nb_tensor *b)
{
    nb_tensor *zero = nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = g->dtype));
    return nb_where(nb_logical_and(nb_eq_scalar(a, 0), nb_le_scalar(b, 0)), zero, nb_xlogy(g, b));
}
BINARY_FORMULA(xlogy, xlogy_grad_a(g, a, b), nb_div(nb_mul(g, a), b))

/* where(cond, a, b): inputs (cond, a, b). */
static nb_status where_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *cond = nbi_input(node, 0);
    nb_tensor *zero = nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = g->dtype));
    nb_status  status = NB_OK;
    if (nbi_input_needs_grad(node, 1)) status = finish_input_grad(node, 1, nb_where(cond, g, zero), grad_inputs);
    if (status == NB_OK && nbi_input_needs_grad(node, 2))
        status = finish_input_grad(node, 2, nb_where(cond, zero, g), grad_inputs);
    NBI_FORMULA_END(status);
}

/* ------------------------------------------------------------------------ */
/* The tables the front doors record with                                    */
/* ------------------------------------------------------------------------ */

#define DIFF_ENTRY(name)    name##_backward
#define NONDIFF_ENTRY(name) NULL

const nbi_backward_fn nbi_unary_backward[NBI_NUM_UNARY] = {
#define NBI_UNARY(name, dtypes, result, grad, saves) [NBI_UNARY_##name] = grad##_ENTRY(name),
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves) NBI_UNARY(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b)
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
};

const nbi_backward_fn nbi_binary_backward[NBI_NUM_BINARY] = {
#define NBI_UNARY(name, dtypes, result, grad, saves)
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b) [NBI_BINARY_##name] = grad##_ENTRY(name),
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
};

const nbi_backward_fn nbi_where_backward = where_backward;
