/*
 * dtype.c — dtype names and sizes, PyTorch's promotion rules, and slow
 * element access by dtype.
 */
#include "internal.h"

#include <float.h>

const char *nb_dtype_name(nb_dtype dtype)
{
    switch (dtype) {
    case NB_FLOAT32: return "float32";
    case NB_FLOAT64: return "float64";
    case NB_INT64: return "int64";
    case NB_INT32: return "int32";
    case NB_UINT8: return "uint8";
    case NB_BOOL: return "bool";
    case NB_FLOAT16: return "float16";
    case NB_BFLOAT16: return "bfloat16";
    case NB_INT16: return "int16";
    case NB_INT8: return "int8";
    default: return "invalid";
    }
}

size_t nb_dtype_size(nb_dtype dtype)
{
    switch (dtype) {
    case NB_FLOAT32: return 4;
    case NB_FLOAT64: return 8;
    case NB_INT64: return 8;
    case NB_INT32: return 4;
    case NB_UINT8: return 1;
    case NB_BOOL: return 1;
    case NB_FLOAT16: return 2;
    case NB_BFLOAT16: return 2;
    case NB_INT16: return 2;
    case NB_INT8: return 1;
    default: return 0;
    }
}

bool nb_dtype_is_floating(nb_dtype dtype)
{
    return dtype == NB_FLOAT32 || dtype == NB_FLOAT64 || dtype == NB_FLOAT16 || dtype == NB_BFLOAT16;
}

/* The signed integers by width, for promotion. */
static int signed_rank(nb_dtype d)
{
    switch (d) {
    case NB_INT8: return 1;
    case NB_INT16: return 2;
    case NB_INT32: return 3;
    case NB_INT64: return 4;
    default: return 0;
    }
}

/* Categories order the kinds of number: a higher category always wins. */
typedef enum { CATEGORY_BOOL, CATEGORY_INTEGRAL, CATEGORY_FLOATING } category;

static category category_of(nb_dtype d)
{
    if (d == NB_BOOL) return CATEGORY_BOOL;
    return nb_dtype_is_floating(d) ? CATEGORY_FLOATING : CATEGORY_INTEGRAL;
}

nb_dtype nb_promote_types(nb_dtype a, nb_dtype b)
{
    if (a == b) return a;
    category ca = category_of(a), cb = category_of(b);
    if (ca != cb) return ca > cb ? a : b;
    /* Floats: float64 wins; else float32 (float16 with bfloat16 too: neither
     * holds the other). */
    if (ca == CATEGORY_FLOATING) return a == NB_FLOAT64 || b == NB_FLOAT64 ? NB_FLOAT64 : NB_FLOAT32;
    /* Integers: uint8 with int8 gives int16 (the smallest holding both),
     * with a wider signed type that type; signed types the wider. */
    if (a == NB_UINT8 || b == NB_UINT8) {
        nb_dtype other = a == NB_UINT8 ? b : a;
        return other == NB_INT8 ? NB_INT16 : other;
    }
    return signed_rank(a) > signed_rank(b) ? a : b;
}

/* torch.result_type: three tiers, each only able to raise the category.
 * Dimensioned tensors decide the dtype; a 0-d tensor of a higher category
 * sets it to that 0-d tensor's dtype; a C scalar of a higher category sets
 * it to the default dtype of its category (float32 / int64). */
nb_dtype nbi_result_type(int count, const nb_tensor *const *tensors, bool has_scalar,
                         bool scalar_is_float)
{
    bool     have_dim = false, have_zero = false;
    nb_dtype dim_type = NB_BOOL, zero_type = NB_BOOL;
    for (int i = 0; i < count; i++) {
        const nb_tensor *t = tensors[i];
        if (t->ndim > 0) {
            dim_type = have_dim ? nb_promote_types(dim_type, t->dtype) : t->dtype;
            have_dim = true;
        } else {
            zero_type = have_zero ? nb_promote_types(zero_type, t->dtype) : t->dtype;
            have_zero = true;
        }
    }
    nb_dtype result;
    if (have_dim) {
        result = dim_type;
        if (have_zero && category_of(zero_type) > category_of(result)) result = zero_type;
    } else {
        result = have_zero ? zero_type : NB_BOOL;
    }
    if (has_scalar) {
        category scalar_category = scalar_is_float ? CATEGORY_FLOATING : CATEGORY_INTEGRAL;
        if (!have_dim && !have_zero)
            result = scalar_is_float ? NB_FLOAT32 : NB_INT64;
        else if (scalar_category > category_of(result))
            result = scalar_is_float ? NB_FLOAT32 : NB_INT64;
    }
    return result;
}

double nbi_load_f64(const void *p, nb_dtype dtype)
{
    switch (dtype) {
    case NB_FLOAT32: return *(const float *)p;
    case NB_FLOAT64: return *(const double *)p;
    case NB_INT64: return (double)*(const int64_t *)p;
    case NB_INT32: return *(const int32_t *)p;
    case NB_UINT8: return *(const uint8_t *)p;
    case NB_BOOL: return *(const uint8_t *)p != 0;
    case NB_FLOAT16: return nbi_f16_to_f32(*(const uint16_t *)p);
    case NB_BFLOAT16: return nbi_bf16_to_f32(*(const uint16_t *)p);
    case NB_INT16: return *(const int16_t *)p;
    case NB_INT8: return *(const int8_t *)p;
    default: return NAN;
    }
}

int64_t nbi_load_i64(const void *p, nb_dtype dtype)
{
    switch (dtype) {
    case NB_FLOAT32: return nbi_f64_to_i64(*(const float *)p);
    case NB_FLOAT64: return nbi_f64_to_i64(*(const double *)p);
    case NB_INT64: return *(const int64_t *)p;
    case NB_INT32: return *(const int32_t *)p;
    case NB_UINT8: return *(const uint8_t *)p;
    case NB_BOOL: return *(const uint8_t *)p != 0;
    case NB_FLOAT16: return nbi_f64_to_i64(nbi_f16_to_f32(*(const uint16_t *)p));
    case NB_BFLOAT16: return nbi_f64_to_i64(nbi_bf16_to_f32(*(const uint16_t *)p));
    case NB_INT16: return *(const int16_t *)p;
    case NB_INT8: return *(const int8_t *)p;
    default: return 0;
    }
}

/* PyTorch's overflow rule for a fill value (c10::overflows): integers take
 * values in their range (truncated toward zero), uint8 also takes the whole
 * numbers -255..-1 (they wrap, as two's complement; torch allows that for a
 * Python int only, so a fractional negative such as -0.5 is refused), NaN
 * and inf fit no integer, float32 takes any finite value up to FLT_MAX plus
 * inf and NaN, float64 and bool take anything. */
bool nbi_check_fill_value(double value, nb_dtype dtype, const char *op)
{
    bool fits = true;
    switch (dtype) {
    case NB_FLOAT32:
        fits = !isfinite(value) || fabs(value) <= FLT_MAX;
        break;
    case NB_FLOAT64:
    case NB_BOOL:
        fits = true;
        break;
    case NB_INT64:
        fits = value >= -9223372036854775808.0 && value < 9223372036854775808.0;
        break;
    case NB_INT32:
        fits = value >= (double)INT32_MIN && value <= (double)INT32_MAX;
        break;
    case NB_FLOAT16:
        fits = !isfinite(value) || fabs(value) <= 65504.0;
        break;
    case NB_BFLOAT16:
        fits = !isfinite(value) || fabs(value) <= 3.3895313892515355e38;
        break;
    case NB_INT16:
        fits = value >= (double)INT16_MIN && value <= (double)INT16_MAX;
        break;
    case NB_INT8:
        fits = value >= (double)INT8_MIN && value <= (double)INT8_MAX;
        break;
    case NB_UINT8:
        fits = value <= 255.0 && (value >= 0.0 || (value >= -255.0 && value == floor(value)));
        break;
    default:
        fits = false;
        break;
    }
    if (!fits)
        nbi_fail(NB_ERR_ARG, "%s: value %g cannot be converted to %s without overflow", op, value,
                 nb_dtype_name(dtype));
    return fits;
}

bool nbi_check_fill_number(nbi_number n, nb_dtype dtype, const char *op)
{
    if (!n.integral) return nbi_check_fill_value(n.d, dtype, op);
    bool fits = true;
    switch (dtype) {
    case NB_INT32: fits = n.i >= INT32_MIN && n.i <= INT32_MAX; break;
    case NB_UINT8: fits = n.i >= -255 && n.i <= 255; break;
    case NB_INT16: fits = n.i >= INT16_MIN && n.i <= INT16_MAX; break;
    case NB_INT8: fits = n.i >= INT8_MIN && n.i <= INT8_MAX; break;
    case NB_FLOAT16: fits = n.i >= -65504 && n.i <= 65504; break;
    default: fits = true; break; /* int64 holds it; the wider floats and bool convert */
    }
    if (!fits)
        nbi_fail(NB_ERR_ARG, "%s: value %lld cannot be converted to %s without overflow", op, (long long)n.i,
                 nb_dtype_name(dtype));
    return fits;
}
