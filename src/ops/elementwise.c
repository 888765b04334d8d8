/*
 * elementwise.c — the front doors of every elementwise op in ops.def:
 * argument checks, type promotion, broadcasting, output allocation, and the
 * call into the CPU kernel table.
 *
 * Flow of nb_add(a, b): check both are usable and on one device -> result
 * dtype by torch.result_type -> refuse dtypes the op does not take -> convert
 * inputs to the compute dtype if they differ -> broadcast shapes -> make the
 * output -> run the kernel through the N-d iterator.
 */
#include "autograd/elementwise_derivatives.h"
#include "core/backend.h"
#include "ops/elementwise.h"

typedef enum { DTYPES_FLOAT, DTYPES_NUMERIC, DTYPES_INTEGRAL, DTYPES_ALL } dtype_class;
typedef enum { RESULT_SAME, RESULT_BOOL, RESULT_FLOAT_RESULT } result_kind;

typedef enum { SAVES_NONE, SAVES_INPUT, SAVES_OUTPUT } saves_kind;

typedef struct {
    const char *name;
    dtype_class dtypes;
    result_kind result;
    saves_kind  saves;       /* unary: what the formula reads */
    uint32_t    reads[2];    /* binary: NBI_SAVES bits the gradient of a [0] and of b [1] reads */
} op_info;

#define DTYPES_OF_FLOAT   DTYPES_FLOAT
#define DTYPES_OF_NUMERIC DTYPES_NUMERIC
#define DTYPES_OF_INTEGRAL DTYPES_INTEGRAL
#define DTYPES_OF_ALL     DTYPES_ALL
#define RESULT_OF_SAME         RESULT_SAME
#define RESULT_OF_BOOL         RESULT_BOOL
#define RESULT_OF_FLOAT_RESULT RESULT_FLOAT_RESULT
#define SAVES_OF_NONE   SAVES_NONE
#define SAVES_OF_INPUT  SAVES_INPUT
#define SAVES_OF_OUTPUT SAVES_OUTPUT
#define READS_OF_NONE 0u
#define READS_OF_A    NBI_SAVES(0)
#define READS_OF_B    NBI_SAVES(1)
#define READS_OF_AB   (NBI_SAVES(0) | NBI_SAVES(1))

/* op_info.name is the op's name and "Backward": the node name of a row
 * the tables below forget. */
static const op_info unary_info[NBI_NUM_UNARY] = {
#define NBI_UNARY(name, dtypes, result, grad, saves)                                          \
    [NBI_UNARY_##name] = { #name "Backward", DTYPES_OF_##dtypes, RESULT_OF_##result, SAVES_OF_##saves, { 0, 0 } },
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves) NBI_UNARY(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b)
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
};

static const op_info binary_info[NBI_NUM_BINARY] = {
#define NBI_UNARY(name, dtypes, result, grad, saves)
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b)                               \
    [NBI_BINARY_##name] = { #name "Backward", DTYPES_OF_##dtypes, RESULT_OF_##result, SAVES_NONE,    \
                            { READS_OF_##saves_a, READS_OF_##saves_b } },
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
};

/* Node names as PyTorch 1.13 prints type(t.grad_fn).__name__ for the same
 * op (scripts/print_grad_fn_names.py prints them). Numbered variants are
 * torch's overloads: clamp's (Tensor, Scalar?, Scalar?) is ClampBackward1,
 * pow and remainder with a tensor exponent / divisor are ...Backward1 and
 * with a scalar ...Backward0, and s - a is RsubBackward1. */
static const char *const unary_node_name[NBI_NUM_UNARY] = {
    [NBI_UNARY_neg] = "NegBackward0",         [NBI_UNARY_abs] = "AbsBackward0",
    [NBI_UNARY_sign] = "SignBackward0",       [NBI_UNARY_exp] = "ExpBackward0",
    [NBI_UNARY_log] = "LogBackward0",         [NBI_UNARY_log1p] = "Log1PBackward0",
    [NBI_UNARY_expm1] = "Expm1Backward0",     [NBI_UNARY_sqrt] = "SqrtBackward0",
    [NBI_UNARY_rsqrt] = "RsqrtBackward0",     [NBI_UNARY_sin] = "SinBackward0",
    [NBI_UNARY_cos] = "CosBackward0",         [NBI_UNARY_tanh] = "TanhBackward0",
    [NBI_UNARY_sigmoid] = "SigmoidBackward0", [NBI_UNARY_relu] = "ReluBackward0",
    [NBI_UNARY_silu] = "SiluBackward0",       [NBI_UNARY_erf] = "ErfBackward0",
    [NBI_UNARY_gelu] = "GeluBackward0",       [NBI_UNARY_softplus] = "SoftplusBackward0",
    [NBI_UNARY_clamp] = "ClampBackward1",
    /* Issue 13. square is torch's pow(x, 2); selu shares elu's node; relu6
     * is hardtanh's. */
    [NBI_UNARY_tan] = "TanBackward0",         [NBI_UNARY_asin] = "AsinBackward0",
    [NBI_UNARY_acos] = "AcosBackward0",       [NBI_UNARY_atan] = "AtanBackward0",
    [NBI_UNARY_sinh] = "SinhBackward0",       [NBI_UNARY_cosh] = "CoshBackward0",
    [NBI_UNARY_asinh] = "AsinhBackward0",     [NBI_UNARY_acosh] = "AcoshBackward0",
    [NBI_UNARY_atanh] = "AtanhBackward0",     [NBI_UNARY_log2] = "Log2Backward0",
    [NBI_UNARY_log10] = "Log10Backward0",     [NBI_UNARY_exp2] = "Exp2Backward0",
    [NBI_UNARY_reciprocal] = "ReciprocalBackward0", [NBI_UNARY_sinc] = "SincBackward0",
    [NBI_UNARY_floor] = "FloorBackward0",     [NBI_UNARY_ceil] = "CeilBackward0",
    [NBI_UNARY_round] = "RoundBackward0",     [NBI_UNARY_trunc] = "TruncBackward0",
    [NBI_UNARY_frac] = "FracBackward0",       [NBI_UNARY_hardswish] = "HardswishBackward0",
    [NBI_UNARY_hardsigmoid] = "HardsigmoidBackward0", [NBI_UNARY_mish] = "MishBackward0",
    [NBI_UNARY_square] = "PowBackward0",      [NBI_UNARY_logsigmoid] = "LogSigmoidBackward0",
    [NBI_UNARY_round_decimals] = "RoundBackward1", [NBI_UNARY_leaky_relu] = "LeakyReluBackward0",
    [NBI_UNARY_elu] = "EluBackward0",         [NBI_UNARY_celu] = "CeluBackward0",
    [NBI_UNARY_hardtanh] = "HardtanhBackward0", [NBI_UNARY_nan_to_num] = "NanToNumBackward0",
};

/* floor_divide is div(rounding_mode="floor") in torch 1.13: DivBackward2,
 * whose backward is "not implemented" there; nabla's gives zeros. */
static const char *const binary_node_name[NBI_NUM_BINARY] = {
    [NBI_BINARY_add] = "AddBackward0",           [NBI_BINARY_sub] = "SubBackward0",
    [NBI_BINARY_mul] = "MulBackward0",           [NBI_BINARY_div] = "DivBackward0",
    [NBI_BINARY_floor_divide] = "DivBackward2",
    [NBI_BINARY_remainder] = "RemainderBackward1", [NBI_BINARY_pow] = "PowBackward1",
    [NBI_BINARY_maximum] = "MaximumBackward0",   [NBI_BINARY_minimum] = "MinimumBackward0",
    [NBI_BINARY_fmod] = "FmodBackward1",         [NBI_BINARY_atan2] = "Atan2Backward0",
    [NBI_BINARY_copysign] = "CopysignBackward0", [NBI_BINARY_hypot] = "HypotBackward0",
    [NBI_BINARY_xlogy] = "XlogyBackward0",
};

typedef enum { OPERAND_TENSOR, OPERAND_SCALAR, OPERAND_REVERSED_SCALAR } operand_form;

static const char *binary_node_name_of(nbi_binary_op op, operand_form form)
{
    if (form == OPERAND_SCALAR && op == NBI_BINARY_pow) return "PowBackward0";
    if (form == OPERAND_SCALAR && op == NBI_BINARY_remainder) return "RemainderBackward0";
    if (form == OPERAND_SCALAR && op == NBI_BINARY_fmod) return "FmodBackward0";
    if (form == OPERAND_SCALAR && op == NBI_BINARY_copysign) return "CopysignBackward1";
    if (form == OPERAND_SCALAR && op == NBI_BINARY_xlogy) return "XlogyBackward2";
    if (form == OPERAND_REVERSED_SCALAR && op == NBI_BINARY_sub) return "RsubBackward1";
    if (form == OPERAND_REVERSED_SCALAR && op == NBI_BINARY_div) return "MulBackward0"; /* torch: s * reciprocal(a) */
    return binary_node_name[op] ? binary_node_name[op] : binary_info[op].name;
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */
/* ------------------------------------------------------------------------ */

static bool dtype_allowed(dtype_class c, nb_dtype d)
{
    switch (c) {
    case DTYPES_FLOAT: return nb_dtype_is_floating(d);
    case DTYPES_NUMERIC: return d != NB_BOOL;
    case DTYPES_INTEGRAL: return !nb_dtype_is_floating(d);
    case DTYPES_ALL: return true;
    }
    return false;
}

static bool check_dtype(const op_info *info, const char *op, nb_dtype d)
{
    if (dtype_allowed(info->dtypes, d)) return true;
    if (info->dtypes == DTYPES_FLOAT)
        nbi_fail(NB_ERR_DTYPE, "%s: expected a floating-point tensor (float16, bfloat16, float32 or float64), got %s; "
                               "convert it with nb_to_dtype", op, nb_dtype_name(d));
    else if (info->dtypes == DTYPES_INTEGRAL)
        nbi_fail(NB_ERR_DTYPE, "%s: expected an integer or bool tensor, got %s (as torch, floating-point "
                               "tensors are refused)", op, nb_dtype_name(d));
    else
        nbi_fail(NB_ERR_DTYPE, "%s: %s tensors are not supported", op, nb_dtype_name(d));
    return false;
}

/* torch.can_cast for in-place ops: no float into an integer, no number
 * into bool. */
static bool can_cast(nb_dtype from, nb_dtype to)
{
    if (nb_dtype_is_floating(from) && !nb_dtype_is_floating(to)) return false;
    if (from != NB_BOOL && to == NB_BOOL) return false;
    return true;
}

static bool check_in_place_target(const nb_tensor *t, nb_dtype result, const char *op)
{
    if (!can_cast(result, t->dtype)) {
        nbi_fail(NB_ERR_DTYPE, "%s: result type %s can't be cast to the desired output type %s", op,
                 nb_dtype_name(result), nb_dtype_name(t->dtype));
        return false;
    }
    if (nbi_has_internal_overlap(t)) {
        nbi_fail(NB_ERR_ARG, "%s: more than one element of the written-to tensor refers to a single memory "
                             "location (an expanded view); clone it first", op);
        return false;
    }
    return true;
}

/* A copy of t in dtype, or a new handle to t when it already is. */
static nb_tensor *as_dtype(const nb_tensor *t, nb_dtype dtype)
{
    return t->dtype == dtype ? nbi_alias(t) : nb_to_dtype(t, dtype);
}

/* ------------------------------------------------------------------------ */
/* Unary                                                                     */
/* ------------------------------------------------------------------------ */

/* Record out = op(t) into the graph, when t requires grad. What the node
 * saves is the row's saves column: a formula that reads the output saves
 * the output, not the input (an in-place change of the input afterwards is
 * then fine, as in PyTorch). */
static nb_tensor *record_unary(nbi_unary_op op, const char *name, nb_tensor *out, const nb_tensor *t,
                               const nbi_op_params *params)
{
    if (nbi_unary_backward[op] == NULL || !nbi_should_record(1, &t)) return out;
    saves_kind  saves     = unary_info[op].saves;
    const char *node_name = unary_node_name[op] ? unary_node_name[op] : unary_info[op].name;
    /* torch's in-place elu_ (selu_), celu_, leaky_relu_, asinh_, acosh_ and
     * atanh_ are the ...Backward1 overloads; name is the public function's. */
    static const char *const in_place_node_name[NBI_NUM_UNARY] = {
        [NBI_UNARY_elu] = "EluBackward1",       [NBI_UNARY_celu] = "CeluBackward1",
        [NBI_UNARY_leaky_relu] = "LeakyReluBackward1", [NBI_UNARY_asinh] = "AsinhBackward1",
        [NBI_UNARY_acosh] = "AcoshBackward1",   [NBI_UNARY_atanh] = "AtanhBackward1",
    };
    if (name[strlen(name) - 1] == '_' && in_place_node_name[op] != NULL) node_name = in_place_node_name[op];
    nbi_node   *node      = nbi_record(out, node_name, nbi_unary_backward[op], 1, &t,
                                       saves == SAVES_INPUT ? NBI_SAVES(0) : 0);
    if (node == NULL || (saves == SAVES_OUTPUT && !nbi_save_output(node, out))) {
        nb_free(out);
        return NULL;
    }
    node->scalars[0] = op == NBI_UNARY_gelu ? params->flag : params->a;
    node->scalars[1] = params->b;
    node->scalars[2] = params->c;
    return out;
}

static nb_tensor *run_unary(nbi_unary_op op, const char *name, const nb_tensor *t, const nbi_op_params *params,
                            bool in_place)
{
    const op_info *info = &unary_info[op];
    if (!nbi_check_tensor(t, name, "t") || !nbi_check_device1(name, t, "t") || !check_dtype(info, name, t->dtype)
        || !nbi_check_supported(nbi_backend_of(t), NBI_FAMILY_UNARY, (int)op, t->dtype, name))
        return NULL;
    nb_dtype   out_dtype = info->result == RESULT_BOOL ? NB_BOOL : t->dtype;
    nb_tensor *out;
    if (in_place) {
        if (!check_in_place_target(t, out_dtype, name)) return NULL;
        if (nbi_in_place_records(t, NULL)) {
            nb_tensor *old = nbi_begin_in_place((nb_tensor *)t, name);
            if (old == NULL) return NULL;
            return nbi_finish_in_place((nb_tensor *)t, old, run_unary(op, name, old, params, false), name);
        }
        out = (nb_tensor *)t;
    } else {
        out = nbi_empty(t->ndim, t->shape, out_dtype, t->storage->device);
        if (out == NULL) return NULL;
    }
    if (t->numel > 0) {
        const nb_tensor *operands[2] = { out, t };
        nbi_iter         it;
        nbi_iter_init(&it, 2, operands);
        nbi_backend_of(t)->unary(&it, op, t->dtype, params);
    }
    if (in_place) {
        nbi_bump_version(out);
        return out;
    }
    return record_unary(op, name, out, t, params);
}

nb_tensor *nbi_run_unary(nbi_unary_op op, const char *name, const nb_tensor *t, const nbi_op_params *params,
                         bool in_place)
{
    return run_unary(op, name, t, params, in_place);
}

static const nbi_op_params no_params = { 0 };

#define INPLACE_SAME(name)                                                                     \
    nb_tensor *nb_##name##_(nb_tensor *t) { return run_unary(NBI_UNARY_##name, "nb_" #name "_", t, &no_params, true); }
#define INPLACE_BOOL(name)
#define NBI_UNARY(name, dtypes, result, grad, saves)                                                 \
    nb_tensor *nb_##name(const nb_tensor *t) { return run_unary(NBI_UNARY_##name, "nb_" #name, t, &no_params, false); } \
    INPLACE_##result(name)
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b)
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY

nb_tensor *nb_gelu(const nb_tensor *t, bool tanh_approx)
{
    nbi_op_params params = { .flag = tanh_approx };
    return run_unary(NBI_UNARY_gelu, "nb_gelu", t, &params, false);
}

nb_tensor *nb_softplus(const nb_tensor *t, double beta, double threshold)
{
    if (!(beta != 0 && isfinite(beta)) || isnan(threshold))
        return nbi_fail(NB_ERR_ARG, "nb_softplus: beta must be finite and nonzero and threshold a number "
                                    "(got beta %g, threshold %g)", beta, threshold);
    nbi_op_params params = { .a = beta, .b = threshold };
    return run_unary(NBI_UNARY_softplus, "nb_softplus", t, &params, false);
}

/* Bounds of clamp for t's dtype: integer bounds are clipped to the dtype's
 * range (so converting them is defined). */
static nbi_op_params clamp_params(nb_dtype dtype, double min, double max)
{
    nbi_op_params params = { .a = min, .b = max };
    if (nbi_is_integral(dtype)) {
        double lo = dtype == NB_UINT8 ? 0 : dtype == NB_INT32 ? -2147483648.0 : -9223372036854775808.0;
        double hi = dtype == NB_UINT8 ? 255 : dtype == NB_INT32 ? 2147483647.0 : 9223372036854774784.0;
        if (!isnan(params.a)) params.a = params.a < lo ? lo : (params.a > hi ? hi : params.a);
        if (!isnan(params.b)) params.b = params.b < lo ? lo : (params.b > hi ? hi : params.b);
    }
    return params;
}

static bool is_integral_value(double v) { return isnan(v) || (isfinite(v) && v == floor(v)); }

static nb_tensor *clamp(nb_tensor *t, double min, double max, bool in_place)
{
    const char *name = in_place ? "nb_clamp_" : "nb_clamp";
    if (!nbi_check_tensor(t, name, "t")) return NULL;
    if (isnan(min) && isnan(max))
        return nbi_fail(NB_ERR_ARG, "%s: at least one of min and max must be a number (not NAN)", name);
    /* An integer tensor with a fractional bound computes in float32, as
     * torch.clamp's type promotion does. */
    nb_dtype result = nbi_result_type(1, (const nb_tensor *const *)&t, true,
                                      !(is_integral_value(min) && is_integral_value(max)));
    if (result != t->dtype && t->dtype != NB_BOOL) {
        if (in_place) {
            if (!check_in_place_target(t, result, name)) return NULL;
        } else {
            nb_tensor *widened = nb_to_dtype(t, result);
            if (widened == NULL) return NULL;
            nbi_op_params params = clamp_params(result, min, max);
            nb_tensor *out    = run_unary(NBI_UNARY_clamp, name, widened, &params, false);
            nb_free(widened);
            return out;
        }
    }
    /* Integer bounds as torch converts them: refused when they do not fit
     * the dtype, and uint8's -255..-1 wrap to 1..255 (clamp(u8, -1) is 255
     * everywhere in torch 1.13, surprising as that is). */
    if (nbi_is_integral(t->dtype)) {
        if ((!isnan(min) && !nbi_check_fill_value(min, t->dtype, name))
            || (!isnan(max) && !nbi_check_fill_value(max, t->dtype, name)))
            return NULL;
        if (t->dtype == NB_UINT8 && min < 0) min += 256;
        if (t->dtype == NB_UINT8 && max < 0) max += 256;
    }
    nbi_op_params params = clamp_params(t->dtype, min, max);
    return run_unary(NBI_UNARY_clamp, name, t, &params, in_place);
}

nb_tensor *nb_clamp(const nb_tensor *t, double min, double max) { return clamp((nb_tensor *)t, min, max, false); }
nb_tensor *nb_clamp_(nb_tensor *t, double min, double max) { return clamp(t, min, max, true); }

/* ------------------------------------------------------------------------ */
/* Binary                                                                    */
/* ------------------------------------------------------------------------ */

static nb_tensor *fail_kernel_error(int code, const char *op)
{
    if (code == NBI_KERNEL_DIV_BY_ZERO) return nbi_fail(NB_ERR_ARG, "%s: integer division by zero", op);
    return nbi_fail(NB_ERR_ARG, "%s: the kernel reported error %d", op, code);
}

/* The dtype the kernel computes in, from the promoted dtype. */
static nb_dtype compute_dtype_of(const op_info *info, nb_dtype promoted)
{
    if (info->result == RESULT_FLOAT_RESULT && !nb_dtype_is_floating(promoted)) return NB_FLOAT32;
    return promoted;
}

/* Which inputs the formula reads, given which need a gradient (the row's
 * saves columns): what PyTorch saves, so that an in-place change to an
 * unread input after the op is no error (x*2 reads nothing of x; a*b reads
 * b for a's gradient). */
static uint32_t binary_saves(nbi_binary_op op, bool a_needs_grad, bool b_needs_grad)
{
    return (a_needs_grad ? binary_info[op].reads[0] : 0) | (b_needs_grad ? binary_info[op].reads[1] : 0);
}

/* torch's pow with a number exponent runs sqrt for 0.5 and 1 / sqrt for
 * -0.5 on float32, float64 and bfloat16 (they differ from pow at -0 and
 * -inf: -0 and NaN, -inf and NaN); a tensor exponent always runs pow. The
 * unary op to run instead of pow, or NBI_NUM_UNARY. */
static nbi_unary_op root_for_number_exponent(double exponent, nb_dtype compute)
{
    if (compute != NB_FLOAT32 && compute != NB_FLOAT64 && compute != NB_BFLOAT16) return NBI_NUM_UNARY;
    return exponent == 0.5 ? NBI_UNARY_sqrt : exponent == -0.5 ? NBI_UNARY_rsqrt : NBI_NUM_UNARY;
}

/* torch's float32 pow with a number computes std::pow(float, double):
 * the exponent stays double (16777217 stays odd, 0.1 is not 0.1f) and the
 * result is rounded once. An exponent float32 holds exactly gives the same
 * result as powf; any other runs here, in float64, into out. */
static bool pow_in_double(nb_tensor *out, const nb_tensor *a, double exponent)
{
    nb_tensor *wide_a = nbi_copy_as(a, NB_FLOAT64);
    nb_tensor *wide_e = nbi_empty(0, NULL, NB_FLOAT64, a->storage->device);
    nb_tensor *wide   = nbi_empty(out->ndim, out->shape, NB_FLOAT64, a->storage->device);
    bool       made   = wide_a != NULL && wide_e != NULL && wide != NULL; /* else: out of memory, recorded */
    if (made) {
        nbi_store_number(nbi_ptr(wide_e), NB_FLOAT64, nbi_number_f64(exponent));
        const nb_tensor *operands[3] = { wide, wide_a, wide_e };
        nbi_iter         it;
        nbi_iter_init(&it, 3, operands);
        nbi_backend_of(out)->binary(&it, NBI_BINARY_pow, NB_FLOAT64); /* float pow reports nothing */
        nbi_copy_into(out, wide);
    }
    nb_free(wide_a);
    nb_free(wide_e);
    nb_free(wide);
    return made;
}

/* What run_kernel answers when its scratch could not be had (the error is
 * recorded), beside the NBI_KERNEL_* codes. */
enum { KERNEL_OUT_OF_MEMORY = -1 };

/* op's kernel over operands (out, a, b) in compute; exponent: b's number
 * when op is pow with a number (NULL otherwise), which picks sqrt, 1 / sqrt
 * or float64 as torch does (above). An NBI_KERNEL_* code. */
static int run_kernel(nbi_binary_op op, nb_dtype compute, const double *exponent, const nb_tensor *const operands[3])
{
    nbi_iter it;
    if (exponent != NULL && compute == NB_FLOAT32 && isfinite(*exponent) && (double)(float)*exponent != *exponent)
        return pow_in_double((nb_tensor *)operands[0], operands[1], *exponent) ? NBI_KERNEL_OK : KERNEL_OUT_OF_MEMORY;
    nbi_unary_op root = exponent != NULL ? root_for_number_exponent(*exponent, compute) : NBI_NUM_UNARY;
    if (root != NBI_NUM_UNARY) {
        nbi_iter_init(&it, 2, operands);
        nbi_backend_of(operands[0])->unary(&it, root, compute, &(nbi_op_params){ 0 });
        return NBI_KERNEL_OK;
    }
    nbi_iter_init(&it, 3, operands);
    return nbi_backend_of(operands[0])->binary(&it, op, compute);
}

/* a op b with the result dtype already decided. When in_place, the output is
 * a itself and the computation runs in a's dtype. number: for the number
 * forms, the value b was made from (pow needs it, above, and so does its
 * backward, from the node's scalars); NULL for two tensors. */
static nb_tensor *run_binary(nbi_binary_op op, const char *name, const nb_tensor *a, const nb_tensor *b,
                             nb_dtype promoted, bool in_place, operand_form form, const double *number)
{
    const op_info *info    = &binary_info[op];
    nb_dtype       compute = compute_dtype_of(info, promoted);
    if (in_place) {
        if (!check_in_place_target(a, compute, name)) return NULL;
        compute = a->dtype;
    }
    if (!check_dtype(info, name, compute)
        || !nbi_check_supported(nbi_backend_of(a), NBI_FAMILY_BINARY, (int)op, compute, name))
        return NULL;

    int     ndim;
    int64_t shape[NB_MAX_DIMS];
    if (!nbi_broadcast(a->ndim, a->shape, b->ndim, b->shape, &ndim, shape, name)) return NULL;
    if (in_place && (ndim != a->ndim || nbi_shape_numel(ndim, shape) != a->numel)) {
        char sa[NBI_SHAPE_STR_SIZE], sb[NBI_SHAPE_STR_SIZE];
        return nbi_fail(NB_ERR_SHAPE, "%s: output with shape %s doesn't match the broadcast shape of %s and %s", name,
                        nbi_shape_str(a->ndim, a->shape, sa, sizeof sa), sa,
                        nbi_shape_str(b->ndim, b->shape, sb, sizeof sb));
    }

    /* Inputs in the compute dtype. An in-place b that shares a's storage in
     * another layout is copied, so it is not read after being written. */
    nb_tensor *a_cast = NULL, *b_cast = NULL, *out = NULL;
    if (!in_place && a->dtype != compute && (a_cast = as_dtype(a, compute)) == NULL) return NULL;
    bool b_overlaps = in_place && b->storage == a->storage
                      && !(b->offset == a->offset && b->ndim == a->ndim
                           && memcmp(b->stride, a->stride, sizeof(int64_t) * (size_t)a->ndim) == 0);
    if (b->dtype != compute || b_overlaps) {
        b_cast = b_overlaps ? nb_clone(b) : as_dtype(b, compute);
        if (b_cast != NULL && b_cast->dtype != compute) {
            nb_tensor *converted = nb_to_dtype(b_cast, compute);
            nb_free(b_cast);
            b_cast = converted;
        }
        if (b_cast == NULL) goto fail;
    }
    if (in_place) {
        out = (nb_tensor *)a;
    } else {
        out = nbi_empty(ndim, shape, info->result == RESULT_BOOL ? NB_BOOL : compute, a->storage->device);
        if (out == NULL) goto fail;
    }
    if (out->numel > 0) {
        const nb_tensor *operands[3]  = { out, a_cast ? a_cast : a, b_cast ? b_cast : b };
        bool pow_number = op == NBI_BINARY_pow && form == OPERAND_SCALAR && number != NULL;
        int  code       = run_kernel(op, compute, pow_number ? number : NULL, operands);
        if (code != NBI_KERNEL_OK) {
            if (!in_place) nb_free(out);
            out = NULL;
            if (code != KERNEL_OUT_OF_MEMORY) fail_kernel_error(code, name);
            goto fail;
        }
    }
    nb_free(a_cast);
    nb_free(b_cast);
    if (in_place) {
        nbi_bump_version(out);
        return out;
    }
    const nb_tensor *inputs[2] = { a, b };
    if (nbi_binary_backward[op] != NULL && nbi_should_record(2, inputs)) {
        uint32_t saves = binary_saves(op, nbi_takes_grad(a), nbi_takes_grad(b));
        nbi_node *node = nbi_record(out, binary_node_name_of(op, form), nbi_binary_backward[op], 2, inputs, saves);
        if (node == NULL) {
            nb_free(out);
            return NULL;
        }
        /* b's number, for pow's backward: torch takes a^(b - 1) with a number */
        node->scalars[0] = number != NULL && form == OPERAND_SCALAR;
        node->scalars[1] = number != NULL ? *number : 0;
    }
    return out;
fail:
    nb_free(a_cast);
    nb_free(b_cast);
    return NULL;
}

/* torch refuses subtraction with any bool operand (not only bool - bool),
 * pointing to logical_not / logical_xor: 1 - mask is usually a mistake for
 * ~mask. */
static bool check_bool_subtraction(nbi_binary_op op, const char *name, nb_dtype a, nb_dtype b)
{
    if (op != NBI_BINARY_sub || (a != NB_BOOL && b != NB_BOOL)) return true;
    if (a == NB_BOOL && b == NB_BOOL)
        nbi_fail(NB_ERR_DTYPE, "%s: subtraction with two bool tensors is not supported (as in torch); "
                               "use nb_logical_and / nb_logical_or / nb_logical_not instead", name);
    else
        nbi_fail(NB_ERR_DTYPE, "%s: subtraction with a bool tensor is not supported (as in torch); "
                               "to invert a mask use nb_logical_not, or convert it with nb_to_dtype", name);
    return false;
}

static nb_tensor *binary(nbi_binary_op op, const char *name, const nb_tensor *a, const nb_tensor *b, bool in_place)
{
    if (!nbi_check_tensor(a, name, "a") || !nbi_check_tensor(b, name, "b")) return NULL;
    if (!check_bool_subtraction(op, name, a->dtype, b->dtype)) return NULL;
    const nb_tensor *operands[2] = { a, b };
    if (!nbi_check_device(name, 2, operands, (const char *const[]){ "a", "b" })) return NULL;
    const nb_tensor *both[2] = { a, b };
    nb_dtype         promoted = nbi_result_type(2, both, false, false);
    if (in_place && !nbi_check_no_partial_overlap(a, b, name)) return NULL;
    if (in_place && nbi_in_place_records(a, b)) {
        if (!check_in_place_target(a, compute_dtype_of(&binary_info[op], promoted), name)) return NULL;
        nb_tensor *old = nbi_begin_in_place((nb_tensor *)a, name);
        if (old == NULL) return NULL;
        return nbi_finish_in_place((nb_tensor *)a, old, binary(op, name, old, b, false), name);
    }
    return run_binary(op, name, a, b, promoted, in_place, OPERAND_TENSOR, NULL);
}

/* a op s (or s op a when reversed), s taking part in promotion as a Python
 * number: it can raise the category (int tensor * 0.5 is float32) but not
 * widen within one (float32 + 1e300 stays float32). In C a double carries
 * no int/float distinction, so an integral value counts as an int; an
 * int64 (the _i64 forms) is one exactly, at any size. */
static nb_tensor *binary_scalar(nbi_binary_op op, const char *name, const nb_tensor *a, nbi_number s, bool reversed,
                                bool in_place)
{
    if (!nbi_check_tensor(a, name, "a") || !nbi_check_device1(name, a, "a")) return NULL;
    if (!check_bool_subtraction(op, name, a->dtype, NB_FLOAT64)) return NULL;
    bool   integral = s.integral || is_integral_value(s.d);
    double value    = nbi_number_as_f64(s);
    /* torch: an integer tensor to a negative integer (Python int) power is
     * refused, since the result is not an integer; a tensor exponent is
     * not (it truncates, 2 ** -1 == 0). */
    if (op == NBI_BINARY_pow && !reversed && !nb_dtype_is_floating(a->dtype) && integral &&
        (s.integral ? s.i < 0 : value < 0))
        return nbi_fail(NB_ERR_ARG, "%s: integers to negative integer powers are not allowed (as in torch): "
                                    "%s tensor to the power %g; convert it with nb_to_dtype or use a float exponent",
                        name, nb_dtype_name(a->dtype), value);
    nb_dtype promoted = nbi_result_type(1, &a, true, !integral || (!s.integral && isnan(s.d)));
    nb_dtype compute  = in_place ? a->dtype : compute_dtype_of(&binary_info[op], promoted);
    /* torch converts an integer exponent to the tensor's integer dtype with
     * an overflow check (the other ops wrap it) */
    if (op == NBI_BINARY_pow && !reversed && integral && nbi_is_integral(compute) && compute != NB_BOOL &&
        !nbi_check_fill_number(s.integral ? s : nbi_number_i64((int64_t)fmax(fmin(value, 9.2e18), -9.2e18)), compute,
                               name))
        return NULL;
    /* and to a float16 / bfloat16 tensor's dtype (torch: "cannot be
     * converted to type at::Half without overflow"; float32 keeps it in
     * double, run_binary's pow_in_double) */
    if (op == NBI_BINARY_pow && !reversed && nbi_is_half(compute) && !nbi_check_fill_number(s, compute, name))
        return NULL;
    if (!dtype_allowed(binary_info[op].dtypes, compute)) compute = promoted; /* run_binary reports it */
    /* Checked before any element is written, so that an in-place a keeps its
     * values (torch checks a number divisor up front too). */
    bool divides = op == NBI_BINARY_fmod || op == NBI_BINARY_remainder || op == NBI_BINARY_floor_divide;
    bool zero    = s.integral ? s.i == 0 : s.d == 0;
    if (divides && zero && nbi_is_integral(compute) && dtype_allowed(binary_info[op].dtypes, compute))
        return fail_kernel_error(NBI_KERNEL_DIV_BY_ZERO, name);
    nb_tensor *scalar = nbi_empty(0, NULL, compute, a->storage->device);
    if (scalar == NULL) return NULL;
    nbi_store_number(nbi_ptr(scalar), compute, s);
    nb_tensor *out;
    if (in_place && nbi_in_place_records(a, NULL)) {
        nb_tensor *old = check_in_place_target(a, compute_dtype_of(&binary_info[op], promoted), name)
                             ? nbi_begin_in_place((nb_tensor *)a, name)
                             : NULL;
        out = old ? nbi_finish_in_place((nb_tensor *)a, old, run_binary(op, name, old, scalar, promoted, false, OPERAND_SCALAR, &value), name)
                  : NULL;
    } else {
        out = reversed ? run_binary(op, name, scalar, a, promoted, false, OPERAND_REVERSED_SCALAR, &value)
                       : run_binary(op, name, a, scalar, promoted, in_place, OPERAND_SCALAR, &value);
    }
    nb_free(scalar);
    return out;
}

#define BINARY_FRONT_DOOR(name)                                                                \
    nb_tensor *nb_##name(const nb_tensor *a, const nb_tensor *b)                               \
    {                                                                                          \
        return binary(NBI_BINARY_##name, "nb_" #name, a, b, false);                            \
    }                                                                                          \
    nb_tensor *nb_##name##_scalar(const nb_tensor *a, double s)                                \
    {                                                                                          \
        return binary_scalar(NBI_BINARY_##name, "nb_" #name "_scalar", a, nbi_number_f64(s), false, false); \
    }                                                                                          \
    nb_tensor *nb_##name##_scalar_i64(const nb_tensor *a, int64_t s)                           \
    {                                                                                          \
        return binary_scalar(NBI_BINARY_##name, "nb_" #name "_scalar_i64", a, nbi_number_i64(s), false, false); \
    }
#define NBI_UNARY(name, dtypes, result, grad, saves)
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b) BINARY_FRONT_DOOR(name)
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY

nb_tensor *nb_rsub_scalar(const nb_tensor *a, double s)
{
    return binary_scalar(NBI_BINARY_sub, "nb_rsub_scalar", a, nbi_number_f64(s), true, false);
}
nb_tensor *nb_rsub_scalar_i64(const nb_tensor *a, int64_t s)
{
    return binary_scalar(NBI_BINARY_sub, "nb_rsub_scalar_i64", a, nbi_number_i64(s), true, false);
}
nb_tensor *nb_rdiv_scalar(const nb_tensor *a, double s)
{
    return binary_scalar(NBI_BINARY_div, "nb_rdiv_scalar", a, nbi_number_f64(s), true, false);
}

#define IN_PLACE_FRONT_DOOR(name)                                                              \
    nb_tensor *nb_##name##_(nb_tensor *a, const nb_tensor *b)                                  \
    {                                                                                          \
        return binary(NBI_BINARY_##name, "nb_" #name "_", a, b, true);                         \
    }                                                                                          \
    nb_tensor *nb_##name##_scalar_(nb_tensor *a, double s)                                     \
    {                                                                                          \
        return binary_scalar(NBI_BINARY_##name, "nb_" #name "_scalar_", a, nbi_number_f64(s), false, true); \
    }                                                                                          \
    nb_tensor *nb_##name##_scalar_i64_(nb_tensor *a, int64_t s)                                \
    {                                                                                          \
        return binary_scalar(NBI_BINARY_##name, "nb_" #name "_scalar_i64_", a, nbi_number_i64(s), false, true); \
    }
IN_PLACE_FRONT_DOOR(add)
IN_PLACE_FRONT_DOOR(sub)
IN_PLACE_FRONT_DOOR(mul)
IN_PLACE_FRONT_DOOR(div)
IN_PLACE_FRONT_DOOR(fmod)
IN_PLACE_FRONT_DOOR(atan2)
IN_PLACE_FRONT_DOOR(copysign)
IN_PLACE_FRONT_DOOR(hypot)
IN_PLACE_FRONT_DOOR(xlogy)
IN_PLACE_FRONT_DOOR(bitwise_and)
IN_PLACE_FRONT_DOOR(bitwise_or)
IN_PLACE_FRONT_DOOR(bitwise_xor)

/* ------------------------------------------------------------------------ */
/* where                                                                     */
/* ------------------------------------------------------------------------ */

nb_tensor *nb_where(const nb_tensor *cond, const nb_tensor *a, const nb_tensor *b)
{
    const char *name = "nb_where";
    if (!nbi_check_tensor(cond, name, "cond") || !nbi_check_tensor(a, name, "a") || !nbi_check_tensor(b, name, "b"))
        return NULL;
    const nb_tensor *operands3[3] = { cond, a, b };
    if (!nbi_check_device(name, 3, operands3, (const char *const[]){ "cond", "a", "b" })) return NULL;
    if (cond->dtype != NB_BOOL)
        return nbi_fail(NB_ERR_DTYPE, "nb_where: cond must be a bool tensor, got %s", nb_dtype_name(cond->dtype));
    int     ndim;
    int64_t shape[NB_MAX_DIMS];
    if (!nbi_broadcast(cond->ndim, cond->shape, a->ndim, a->shape, &ndim, shape, name)
        || !nbi_broadcast(ndim, shape, b->ndim, b->shape, &ndim, shape, name))
        return NULL;
    const nb_tensor *both[2] = { a, b };
    nb_dtype         dtype   = nbi_result_type(2, both, false, false);
    nb_tensor       *a_cast = as_dtype(a, dtype), *b_cast = as_dtype(b, dtype);
    nb_tensor       *out    = a_cast && b_cast ? nbi_empty(ndim, shape, dtype, a->storage->device) : NULL;
    if (out != NULL && out->numel > 0) {
        const nb_tensor *operands[4] = { out, cond, a_cast, b_cast };
        nbi_iter         it;
        nbi_iter_init(&it, 4, operands);
        nbi_backend_of(out)->where(&it, dtype);
    }
    nb_free(a_cast);
    nb_free(b_cast);
    const nb_tensor *inputs[3] = { cond, a, b };
    if (out != NULL && nbi_should_record(3, inputs)
        && nbi_record(out, "WhereBackward0", nbi_where_backward, 3, inputs, NBI_SAVES(0)) == NULL) {
        nb_free(out);
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------------------ */
/* relu's gradient: a fused fast path                                        */
/* ------------------------------------------------------------------------ */

nb_tensor *nbi_relu_backward(const nb_tensor *g, const nb_tensor *x)
{
    const nb_tensor *both[2] = { g, x };
    bool same = g->ndim == x->ndim && g->dtype == x->dtype && nb_dtype_is_floating(g->dtype)
                && g->storage->device.type == x->storage->device.type
                && g->storage->device.index == x->storage->device.index;
    for (int d = 0; same && d < g->ndim; d++) same = g->shape[d] == x->shape[d];
    /* NOTE: when the gradient itself is being recorded (create_graph), the
     * composite runs instead: it is what double backward differentiates. */
    if (!same || nbi_should_record(2, both)) {
        nb_tensor *positive = nb_le_scalar(x, 0);
        nb_tensor *mask     = positive ? nb_logical_not(positive) : NULL;
        nb_tensor *out      = mask ? nb_mul(g, mask) : NULL;
        nb_free(positive);
        nb_free(mask);
        return out;
    }
    nb_tensor *out = nbi_empty(g->ndim, g->shape, g->dtype, g->storage->device);
    if (out != NULL && out->numel > 0) {
        const nb_tensor *operands[3] = { out, g, x };
        nbi_iter         it;
        nbi_iter_init(&it, 3, operands);
        nbi_backend_of(out)->relu_backward(&it, g->dtype);
    }
    return out;
}

