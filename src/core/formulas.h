/*
 * formulas.h — the scalar formula of every elementwise primitive in ops.def
 * (<op>_<dtype suffix>(x, params)), written once for every device: the CPU's
 * loops (cpu/elementwise_kernels.inc) and the CUDA kernels
 * (cuda/elementwise.cu) are generated from the same rows over the same
 * functions, so the CPU tests exercise the GPU's arithmetic too. Also the
 * dtype conversions (cpu/cast.c, the CUDA casts) and the dtype groups that
 * turn ops.def's dtype column into a list of suffixes.
 *
 * A plain C header that nvcc also compiles as C++: NBI_HOST_DEVICE marks
 * each function for both sides there. Float formulas take the elementary
 * functions (exp, tanh, sigmoid, expm1, log1p; libm-style names) as macro
 * arguments: the CPU passes its vectorizable float32 versions (vecmath.h), CUDA its own,
 * so the two may differ by an ulp in those functions, never in the formula.
 */
#ifndef NABLA_FORMULAS_H
#define NABLA_FORMULAS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nabla.h"

#ifdef __CUDACC__
#define NBI_HOST_DEVICE __host__ __device__
#else
#define NBI_HOST_DEVICE
#include <stdatomic.h>
#endif
#define NBI_FORMULA static NBI_HOST_DEVICE inline

/* What an op passes to a parametrised kernel: clamp's bounds (NaN for
 * none), softplus's beta and threshold, gelu's tanh-approximation flag,
 * elu's three coefficients, nan_to_num's three replacements (ops.def says
 * which row reads what). */
typedef struct {
    double a, b, c;
    int    flag;
} nbi_op_params;

/* What integer kernels can find that only the data reveals. */
enum { NBI_KERNEL_OK = 0, NBI_KERNEL_DIV_BY_ZERO = 1, NBI_KERNEL_NEGATIVE_POWER = 2 };

/* What a formula sees: the op's parameters and where to raise an error
 * (threads of a CPU loop, or of a GPU kernel, may all raise it). */
#ifdef __CUDACC__
typedef int nbi_error_flag;
#else
typedef atomic_int nbi_error_flag;
#endif
typedef struct {
    double          a, b, c;
    int             flag;
    nbi_error_flag *error;
} nbi_params;

NBI_FORMULA void nbi_raise(const nbi_params *p, int code)
{
#ifdef __CUDACC__
    if (p && p->error) *p->error = code;
#else
    if (p && p->error) atomic_store_explicit(p->error, code, memory_order_relaxed);
#endif
}

/* Dtype groups: the suffixes of ops.def's dtype classes, with C types. */
#define NBI_FOR_FLOAT(X, name)   X(name, f32, float) X(name, f64, double)
#define NBI_FOR_INTEGER(X, name)                                                               \
    X(name, i64, int64_t) X(name, i32, int32_t) X(name, u8, uint8_t) X(name, i16, int16_t) X(name, i8, int8_t)
#define NBI_FOR_NUMERIC(X, name) NBI_FOR_FLOAT(X, name) NBI_FOR_INTEGER(X, name)
#define NBI_FOR_ALL(X, name)     NBI_FOR_NUMERIC(X, name) X(name, b8, uint8_t)

/* ------------------------------------------------------------------------ */
/* Scalar formulas: floats                                                   */
/* ------------------------------------------------------------------------ */

/* One formula for both float types where the math is the same; f32 calls
 * the vectorizable functions of vecmath.h, f64 calls libm. */
#define NBI_FLOAT_FORMULAS(sfx, T, EXP, TANH, SIGMOID, EXPM1, LOG1P, FUN)                                        \
    NBI_FORMULA T neg_##sfx(T x, const nbi_params *p) { (void)p; return -x; }                \
    NBI_FORMULA T abs_##sfx(T x, const nbi_params *p) { (void)p; return FUN(fabs)(x); }      \
    /* NOTE: torch gives sign(NaN) = 0, not NaN. */                                            \
    NBI_FORMULA T sign_##sfx(T x, const nbi_params *p) { (void)p; return (T)((x > 0) - (x < 0)); } \
    NBI_FORMULA T exp_##sfx(T x, const nbi_params *p) { (void)p; return EXP(x); }            \
    NBI_FORMULA T log_##sfx(T x, const nbi_params *p) { (void)p; return FUN(log)(x); }       \
    NBI_FORMULA T log1p_##sfx(T x, const nbi_params *p) { (void)p; return FUN(log1p)(x); }   \
    NBI_FORMULA T expm1_##sfx(T x, const nbi_params *p) { (void)p; return FUN(expm1)(x); }   \
    NBI_FORMULA T sqrt_##sfx(T x, const nbi_params *p) { (void)p; return FUN(sqrt)(x); }     \
    NBI_FORMULA T rsqrt_##sfx(T x, const nbi_params *p) { (void)p; return 1 / FUN(sqrt)(x); } \
    NBI_FORMULA T sin_##sfx(T x, const nbi_params *p) { (void)p; return FUN(sin)(x); }       \
    NBI_FORMULA T cos_##sfx(T x, const nbi_params *p) { (void)p; return FUN(cos)(x); }       \
    NBI_FORMULA T tanh_##sfx(T x, const nbi_params *p) { (void)p; return TANH(x); }          \
    NBI_FORMULA T sigmoid_##sfx(T x, const nbi_params *p) { (void)p; return SIGMOID(x); }    \
    /* NOTE: x < 0 ? 0 : x, not max(x, 0): keeps NaN and -0.0 as torch. */                     \
    NBI_FORMULA T relu_##sfx(T x, const nbi_params *p) { (void)p; return x < 0 ? (T)0 : x; } \
    NBI_FORMULA T silu_##sfx(T x, const nbi_params *p) { (void)p; return x * SIGMOID(x); }   \
    NBI_FORMULA T erf_##sfx(T x, const nbi_params *p) { (void)p; return FUN(erf)(x); }       \
    NBI_FORMULA T gelu_##sfx(T x, const nbi_params *p)                                       \
    {                                                                                          \
        if (p->flag) { /* tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */        \
            const T k = (T)0.7978845608028654;                                                 \
            return (T)0.5 * x * (1 + TANH(k * (x + (T)0.044715 * x * x * x)));                 \
        }                                                                                      \
        return (T)0.5 * x * (1 + FUN(erf)(x * (T)0.7071067811865476));                         \
    }                                                                                          \
    NBI_FORMULA T softplus_##sfx(T x, const nbi_params *p)                                   \
    {                                                                                          \
        T bx = (T)p->a * x;                                                                    \
        return bx > (T)p->b ? x : FUN(log1p)(EXP(bx)) / (T)p->a;                               \
    }                                                                                          \
    /* clamp: NaN bounds mean "none"; NaN x stays NaN (comparisons fail). */                   \
    NBI_FORMULA T clamp_##sfx(T x, const nbi_params *p)                                      \
    {                                                                                          \
        T lo = (T)p->a, hi = (T)p->b;                                                          \
        x    = (lo == lo && x < lo) ? lo : x;                                                  \
        return (hi == hi && x > hi) ? hi : x;                                                  \
    }                                                                                          \
    NBI_FORMULA uint8_t logical_not_##sfx(T x, const nbi_params *p) { (void)p; return x == 0; } \
    NBI_FORMULA uint8_t isnan_##sfx(T x, const nbi_params *p) { (void)p; return x != x; }    \
    NBI_FORMULA uint8_t isinf_##sfx(T x, const nbi_params *p) { (void)p; return FUN(fabs)(x) == (T)INFINITY; } \
    NBI_FORMULA uint8_t isfinite_##sfx(T x, const nbi_params *p) { (void)p; return x - x == 0; } \
    NBI_FORMULA T add_##sfx(T a, T b, const nbi_params *p) { (void)p; return a + b; }        \
    NBI_FORMULA T sub_##sfx(T a, T b, const nbi_params *p) { (void)p; return a - b; }        \
    NBI_FORMULA T mul_##sfx(T a, T b, const nbi_params *p) { (void)p; return a * b; }        \
    NBI_FORMULA T div_##sfx(T a, T b, const nbi_params *p) { (void)p; return a / b; }        \
    /* Python's float // and %: exact via fmod, rounding toward -inf. */                       \
    NBI_FORMULA T floor_divide_##sfx(T a, T b, const nbi_params *p)                          \
    {                                                                                          \
        (void)p;                                                                               \
        if (b == 0) return a / b;                                                              \
        T mod = FUN(fmod)(a, b);                                                               \
        T div = (a - mod) / b;                                                                 \
        if (mod != 0 && (b < 0) != (mod < 0)) div -= 1;                                        \
        T floordiv = FUN(floor)(div);                                                          \
        if (div - floordiv > (T)0.5) floordiv += 1;                                            \
        return div == 0 ? FUN(copysign)((T)0, a / b) : floordiv;                               \
    }                                                                                          \
    NBI_FORMULA T remainder_##sfx(T a, T b, const nbi_params *p)                             \
    {                                                                                          \
        (void)p;                                                                               \
        T mod = FUN(fmod)(a, b);                                                               \
        return (mod != 0 && (b < 0) != (mod < 0)) ? mod + b : mod;                             \
    }                                                                                          \
    NBI_FORMULA T pow_##sfx(T a, T b, const nbi_params *p) { (void)p; return FUN(pow)(a, b); } \
    NBI_FORMULA T maximum_##sfx(T a, T b, const nbi_params *p)                               \
    {                                                                                          \
        (void)p;                                                                               \
        return a != a ? a : (b != b ? b : (a > b ? a : b));                                    \
    }                                                                                          \
    NBI_FORMULA T minimum_##sfx(T a, T b, const nbi_params *p)                               \
    {                                                                                          \
        (void)p;                                                                               \
        return a != a ? a : (b != b ? b : (a < b ? a : b));                                    \
    } \
    NBI_FLOAT_FORMULAS_ISSUE13(sfx, T, EXP, TANH, SIGMOID, EXPM1, LOG1P, FUN)

/* Issue 13's float formulas (float math, rounding, activations, fmod and
 * friends), kept apart so NBI_FLOAT_FORMULAS stays readable. Each follows
 * torch 1.13's CPU kernel, NaN included: "x < 0 ? a : b" forms are chosen
 * so that NaN falls where torch's does. */
#define NBI_FLOAT_FORMULAS_ISSUE13(sfx, T, EXP, TANH, SIGMOID, EXPM1, LOG1P, FUN)                                \
    NBI_FORMULA T tan_##sfx(T x, const nbi_params *p) { (void)p; return FUN(tan)(x); }       \
    NBI_FORMULA T asin_##sfx(T x, const nbi_params *p) { (void)p; return FUN(asin)(x); }     \
    NBI_FORMULA T acos_##sfx(T x, const nbi_params *p) { (void)p; return FUN(acos)(x); }     \
    NBI_FORMULA T atan_##sfx(T x, const nbi_params *p) { (void)p; return FUN(atan)(x); }     \
    NBI_FORMULA T sinh_##sfx(T x, const nbi_params *p) { (void)p; return FUN(sinh)(x); }     \
    NBI_FORMULA T cosh_##sfx(T x, const nbi_params *p) { (void)p; return FUN(cosh)(x); }     \
    NBI_FORMULA T asinh_##sfx(T x, const nbi_params *p) { (void)p; return FUN(asinh)(x); }   \
    NBI_FORMULA T acosh_##sfx(T x, const nbi_params *p) { (void)p; return FUN(acosh)(x); }   \
    NBI_FORMULA T atanh_##sfx(T x, const nbi_params *p) { (void)p; return FUN(atanh)(x); }   \
    NBI_FORMULA T log2_##sfx(T x, const nbi_params *p) { (void)p; return FUN(log2)(x); }     \
    NBI_FORMULA T log10_##sfx(T x, const nbi_params *p) { (void)p; return FUN(log10)(x); }   \
    NBI_FORMULA T exp2_##sfx(T x, const nbi_params *p) { (void)p; return FUN(exp2)(x); }     \
    NBI_FORMULA T reciprocal_##sfx(T x, const nbi_params *p) { (void)p; return 1 / x; }      \
    /* sin(pi x) / (pi x), 1 at 0 (the product in T, as torch). */                             \
    NBI_FORMULA T sinc_##sfx(T x, const nbi_params *p)                                       \
    {                                                                                          \
        (void)p;                                                                               \
        if (x == 0) return 1;                                                                  \
        T product = (T)3.14159265358979323846 * x;                                             \
        return FUN(sin)(product) / product;                                                    \
    }                                                                                          \
    NBI_FORMULA T floor_##sfx(T x, const nbi_params *p) { (void)p; return FUN(floor)(x); }   \
    NBI_FORMULA T ceil_##sfx(T x, const nbi_params *p) { (void)p; return FUN(ceil)(x); }     \
    /* Half to even: rint in the default rounding mode, as torch's nearbyint. */               \
    NBI_FORMULA T round_##sfx(T x, const nbi_params *p) { (void)p; return FUN(rint)(x); }    \
    NBI_FORMULA T trunc_##sfx(T x, const nbi_params *p) { (void)p; return FUN(trunc)(x); }   \
    NBI_FORMULA T frac_##sfx(T x, const nbi_params *p) { (void)p; return x - FUN(trunc)(x); } \
    /* torch.round(decimals=d): a = 10^|d| in T, flag = d < 0. */                              \
    NBI_FORMULA T round_decimals_##sfx(T x, const nbi_params *p)                             \
    {                                                                                          \
        T ten_pow = (T)p->a;                                                                   \
        return p->flag ? FUN(rint)(x / ten_pow) * ten_pow : FUN(rint)(x * ten_pow) / ten_pow;  \
    }                                                                                          \
    NBI_FORMULA T square_##sfx(T x, const nbi_params *p) { (void)p; return x * x; }          \
    /* x * clip(x + 3, 0, 6) / 6: the comparisons keep NaN, as torch. */                       \
    NBI_FORMULA T hardswish_##sfx(T x, const nbi_params *p)                                  \
    {                                                                                          \
        (void)p;                                                                               \
        T r = x + 3;                                                                           \
        r   = r < 0 ? (T)0 : r;                                                                \
        r   = r > 6 ? (T)6 : r;                                                                \
        return x * r / 6;                                                                      \
    }                                                                                          \
    NBI_FORMULA T hardsigmoid_##sfx(T x, const nbi_params *p)                                \
    {                                                                                          \
        (void)p;                                                                               \
        T r = x + 3;                                                                           \
        r   = r < 0 ? (T)0 : r;                                                                \
        r   = r > 6 ? (T)6 : r;                                                                \
        return r / 6;                                                                          \
    }                                                                                          \
    NBI_FORMULA T mish_##sfx(T x, const nbi_params *p) { (void)p; return x * TANH(LOG1P(EXP(x))); } \
    /* min(x, 0) - log1p(exp(-|x|)): no overflow for large |x|. */                             \
    NBI_FORMULA T logsigmoid_##sfx(T x, const nbi_params *p)                                 \
    {                                                                                          \
        (void)p;                                                                               \
        return (x < 0 ? x : (T)0) - LOG1P(EXP(-FUN(fabs)(x)));                            \
    }                                                                                          \
    /* NOTE: the product is computed unconditionally so that the loop is a  \
     * select the compiler vectorizes (a branch here costs 20x). */            \
    NBI_FORMULA T leaky_relu_##sfx(T x, const nbi_params *p)                                 \
    {                                                                                          \
        T scaled = x * (T)p->a;                                                                \
        return x > 0 ? x : scaled;                                                             \
    }                                                                                          \
    /* x <= 0: alpha scale (exp(x input_scale) - 1); else scale x. */                          \
    NBI_FORMULA T elu_##sfx(T x, const nbi_params *p)                                        \
    {                                                                                          \
        T negative = EXPM1(x * (T)p->c) * (T)(p->a * p->b); /* unconditional: a select */    \
        return x <= 0 ? negative : x * (T)p->b;              \
    }                                                                                          \
    NBI_FORMULA T celu_##sfx(T x, const nbi_params *p) { return elu_##sfx(x, p); }           \
    /* clamp's order (min first, then max): hardtanh(x, 2, 1) is 1, as torch. */               \
    NBI_FORMULA T hardtanh_##sfx(T x, const nbi_params *p)                                   \
    {                                                                                          \
        T lo = (T)p->a, hi = (T)p->b;                                                          \
        x    = x < lo ? lo : x;                                                                \
        return x > hi ? hi : x;                                                                \
    }                                                                                          \
    NBI_FORMULA T nan_to_num_##sfx(T x, const nbi_params *p)                                 \
    {                                                                                          \
        if (x != x) return (T)p->a;                                                            \
        if (x == (T)INFINITY) return (T)p->b;                                                  \
        return x == -(T)INFINITY ? (T)p->c : x;                                                \
    }                                                                                          \
    NBI_FORMULA T fmod_##sfx(T a, T b, const nbi_params *p) { (void)p; return FUN(fmod)(a, b); } \
    NBI_FORMULA T atan2_##sfx(T a, T b, const nbi_params *p) { (void)p; return FUN(atan2)(a, b); } \
    NBI_FORMULA T copysign_##sfx(T a, T b, const nbi_params *p) { (void)p; return FUN(copysign)(a, b); } \
    NBI_FORMULA T hypot_##sfx(T a, T b, const nbi_params *p) { (void)p; return FUN(hypot)(a, b); } \
    NBI_FORMULA T xlogy_##sfx(T a, T b, const nbi_params *p)                                 \
    {                                                                                          \
        (void)p;                                                                               \
        if (b != b) return b;                                                                  \
        return a == 0 ? (T)0 : a * FUN(log)(b);                                                \
    }

#define NBI_FUN_F32(name) name##f
#define NBI_FUN_F64(name) name

/* ------------------------------------------------------------------------ */
/* Scalar formulas: integers (wrapping, as torch's on every platform)        */
/* ------------------------------------------------------------------------ */

/* Arithmetic in the unsigned type U so that overflow wraps instead of being
 * undefined behaviour. */
#define NBI_INTEGER_FORMULAS(sfx, T, U)                                                            \
    NBI_FORMULA T add_##sfx(T a, T b, const nbi_params *p) { (void)p; return (T)((U)a + (U)b); } \
    NBI_FORMULA T sub_##sfx(T a, T b, const nbi_params *p) { (void)p; return (T)((U)a - (U)b); } \
    NBI_FORMULA T mul_##sfx(T a, T b, const nbi_params *p) { (void)p; return (T)((U)a * (U)b); } \
    NBI_FORMULA T maximum_##sfx(T a, T b, const nbi_params *p) { (void)p; return a > b ? a : b; } \
    NBI_FORMULA T minimum_##sfx(T a, T b, const nbi_params *p) { (void)p; return a < b ? a : b; } \
    NBI_FORMULA T clamp_##sfx(T x, const nbi_params *p)                                      \
    {                                                                                          \
        /* Bounds arrive as integers (the op widened to float otherwise). */                   \
        if (p->a == p->a && (double)x < p->a) x = (T)p->a;                                     \
        if (p->b == p->b && (double)x > p->b) x = (T)p->b;                                     \
        return x;                                                                              \
    }                                                                                          \
    NBI_FORMULA uint8_t logical_not_##sfx(T x, const nbi_params *p) { (void)p; return x == 0; } \
    NBI_FORMULA uint8_t isnan_##sfx(T x, const nbi_params *p) { (void)p; (void)x; return 0; } \
    NBI_FORMULA uint8_t isinf_##sfx(T x, const nbi_params *p) { (void)p; (void)x; return 0; } \
    NBI_FORMULA uint8_t isfinite_##sfx(T x, const nbi_params *p) { (void)p; (void)x; return 1; } \
    /* Square-and-multiply, wrapping. Negative exponents give what torch's     \
     * integer pow gives: 1 for base 1, +-1 for base -1, 0 otherwise. */                       \
    NBI_FORMULA T pow_##sfx(T a, T b, const nbi_params *p)                                   \
    {                                                                                          \
        (void)p;                                                                               \
        if (b < (T)1) {                                                                        \
            if (b == 0 || a == 1) return 1;                                                    \
            if (a == (T)-1) return (b & 1) ? a : (T)1;                                          \
            return 0;                                                                          \
        }                                                                                      \
        U result = 1, base = (U)a;                                                             \
        for (U e = (U)b; e; e >>= 1) {                                                         \
            if (e & 1) result *= base;                                                         \
            base *= base;                                                                      \
        }                                                                                      \
        return (T)result;                                                                      \
    } \
    /* Issue 13: rounding leaves integers as they are (as torch); hardtanh's  \
     * bounds arrive as integers (the front door truncates them); C's %.  */ \
    NBI_FORMULA T floor_##sfx(T x, const nbi_params *p) { (void)p; return x; }               \
    NBI_FORMULA T ceil_##sfx(T x, const nbi_params *p) { (void)p; return x; }                \
    NBI_FORMULA T round_##sfx(T x, const nbi_params *p) { (void)p; return x; }               \
    NBI_FORMULA T trunc_##sfx(T x, const nbi_params *p) { (void)p; return x; }               \
    NBI_FORMULA T nan_to_num_##sfx(T x, const nbi_params *p) { (void)p; return x; }          \
    NBI_FORMULA T square_##sfx(T x, const nbi_params *p) { (void)p; return (T)((U)x * (U)x); } \
    NBI_FORMULA T hardtanh_##sfx(T x, const nbi_params *p)                                   \
    {                                                                                          \
        if ((double)x < p->a) x = (T)p->a;                                                     \
        if ((double)x > p->b) x = (T)p->b;                                                     \
        return x;                                                                              \
    }                                                                                          \
    NBI_FORMULA T bitwise_not_##sfx(T x, const nbi_params *p) { (void)p; return (T)~(U)x; }  \
    NBI_FORMULA T bitwise_and_##sfx(T a, T b, const nbi_params *p) { (void)p; return (T)((U)a & (U)b); } \
    NBI_FORMULA T bitwise_or_##sfx(T a, T b, const nbi_params *p) { (void)p; return (T)((U)a | (U)b); } \
    NBI_FORMULA T bitwise_xor_##sfx(T a, T b, const nbi_params *p) { (void)p; return (T)((U)a ^ (U)b); }

#define NBI_SIGNED_FORMULAS(sfx, T, U, MIN)                                                        \
    NBI_INTEGER_FORMULAS(sfx, T, U)                                                                \
    NBI_FORMULA T neg_##sfx(T x, const nbi_params *p) { (void)p; return (T)(0 - (U)x); }     \
    NBI_FORMULA T abs_##sfx(T x, const nbi_params *p) { (void)p; return x < 0 ? (T)(0 - (U)x) : x; } \
    NBI_FORMULA T sign_##sfx(T x, const nbi_params *p) { (void)p; return (T)((x > 0) - (x < 0)); } \
    NBI_FORMULA T relu_##sfx(T x, const nbi_params *p) { (void)p; return x < 0 ? 0 : x; }    \
    /* Python's // and %: round toward -inf. Division by zero is an error. */                  \
    NBI_FORMULA T floor_divide_##sfx(T a, T b, const nbi_params *p)                          \
    {                                                                                          \
        if (b == 0) { nbi_raise(p, NBI_KERNEL_DIV_BY_ZERO); return 0; }               \
        if (a == MIN && b == -1) return MIN; /* wraps, as torch */                             \
        T q = a / b;                                                                           \
        if (a % b != 0 && ((a < 0) != (b < 0))) q--;                                           \
        return q;                                                                              \
    }                                                                                          \
    NBI_FORMULA T remainder_##sfx(T a, T b, const nbi_params *p)                             \
    {                                                                                          \
        if (b == 0) { nbi_raise(p, NBI_KERNEL_DIV_BY_ZERO); return 0; }               \
        if (b == -1) return 0;                                                                 \
        T r = a % b;                                                                           \
        return (r != 0 && ((r < 0) != (b < 0))) ? (T)(r + b) : r;                              \
    } \
    /* C's %: the sign of a. b == -1 is 0 (MIN % -1 would trap; torch's does). */            \
    NBI_FORMULA T fmod_##sfx(T a, T b, const nbi_params *p)                                  \
    {                                                                                          \
        if (b == 0) { nbi_raise(p, NBI_KERNEL_DIV_BY_ZERO); return 0; }               \
        return b == -1 ? (T)0 : (T)(a % b);                                                    \
    }

NBI_SIGNED_FORMULAS(i64, int64_t, uint64_t, INT64_MIN)
NBI_SIGNED_FORMULAS(i32, int32_t, uint32_t, INT32_MIN)
NBI_SIGNED_FORMULAS(i16, int16_t, uint32_t, INT16_MIN)
NBI_SIGNED_FORMULAS(i8, int8_t, uint32_t, INT8_MIN)

NBI_INTEGER_FORMULAS(u8, uint8_t, uint32_t)
NBI_FORMULA uint8_t neg_u8(uint8_t x, const nbi_params *p) { (void)p; return (uint8_t)(0u - x); }
NBI_FORMULA uint8_t abs_u8(uint8_t x, const nbi_params *p) { (void)p; return x; }
NBI_FORMULA uint8_t sign_u8(uint8_t x, const nbi_params *p) { (void)p; return x > 0; }
NBI_FORMULA uint8_t relu_u8(uint8_t x, const nbi_params *p) { (void)p; return x; }
NBI_FORMULA uint8_t floor_divide_u8(uint8_t a, uint8_t b, const nbi_params *p)
{
    if (b == 0) {
        nbi_raise(p, NBI_KERNEL_DIV_BY_ZERO);
        return 0;
    }
    return (uint8_t)(a / b);
}
NBI_FORMULA uint8_t remainder_u8(uint8_t a, uint8_t b, const nbi_params *p)
{
    if (b == 0) {
        nbi_raise(p, NBI_KERNEL_DIV_BY_ZERO);
        return 0;
    }
    return (uint8_t)(a % b);
}
NBI_FORMULA uint8_t fmod_u8(uint8_t a, uint8_t b, const nbi_params *p) { return remainder_u8(a, b, p); }

/* Bool: add is or, mul is and, maximum is or, minimum is and (as torch). */
NBI_FORMULA uint8_t add_b8(uint8_t a, uint8_t b, const nbi_params *p) { (void)p; return a | b; }
NBI_FORMULA uint8_t mul_b8(uint8_t a, uint8_t b, const nbi_params *p) { (void)p; return a & b; }
NBI_FORMULA uint8_t maximum_b8(uint8_t a, uint8_t b, const nbi_params *p) { (void)p; return a | b; }
NBI_FORMULA uint8_t minimum_b8(uint8_t a, uint8_t b, const nbi_params *p) { (void)p; return a & b; }
NBI_FORMULA uint8_t sign_b8(uint8_t x, const nbi_params *p) { (void)p; return x != 0; } /* torch: sign(bool) is itself */
NBI_FORMULA uint8_t logical_not_b8(uint8_t x, const nbi_params *p) { (void)p; return !x; }
NBI_FORMULA uint8_t isnan_b8(uint8_t x, const nbi_params *p) { (void)p; (void)x; return 0; }
NBI_FORMULA uint8_t isinf_b8(uint8_t x, const nbi_params *p) { (void)p; (void)x; return 0; }
NBI_FORMULA uint8_t isfinite_b8(uint8_t x, const nbi_params *p) { (void)p; (void)x; return 1; }
NBI_FORMULA uint8_t nan_to_num_b8(uint8_t x, const nbi_params *p) { (void)p; return x; }
NBI_FORMULA uint8_t bitwise_not_b8(uint8_t x, const nbi_params *p) { (void)p; return !x; }
NBI_FORMULA uint8_t bitwise_and_b8(uint8_t a, uint8_t b, const nbi_params *p) { (void)p; return a & b; }
NBI_FORMULA uint8_t bitwise_or_b8(uint8_t a, uint8_t b, const nbi_params *p) { (void)p; return a | b; }
NBI_FORMULA uint8_t bitwise_xor_b8(uint8_t a, uint8_t b, const nbi_params *p) { (void)p; return a ^ b; }

/* Comparisons and logical ops, every dtype. */
#define NBI_COMPARE_FORMULAS(sfx, T)                                                               \
    NBI_FORMULA uint8_t eq_##sfx(T a, T b, const nbi_params *p) { (void)p; return a == b; }  \
    NBI_FORMULA uint8_t ne_##sfx(T a, T b, const nbi_params *p) { (void)p; return a != b; }  \
    NBI_FORMULA uint8_t lt_##sfx(T a, T b, const nbi_params *p) { (void)p; return a < b; }   \
    NBI_FORMULA uint8_t le_##sfx(T a, T b, const nbi_params *p) { (void)p; return a <= b; }  \
    NBI_FORMULA uint8_t gt_##sfx(T a, T b, const nbi_params *p) { (void)p; return a > b; }   \
    NBI_FORMULA uint8_t ge_##sfx(T a, T b, const nbi_params *p) { (void)p; return a >= b; }  \
    NBI_FORMULA uint8_t logical_and_##sfx(T a, T b, const nbi_params *p) { (void)p; return a != 0 && b != 0; } \
    NBI_FORMULA uint8_t logical_or_##sfx(T a, T b, const nbi_params *p) { (void)p; return a != 0 || b != 0; } \
    NBI_FORMULA uint8_t logical_xor_##sfx(T a, T b, const nbi_params *p) { (void)p; return (a != 0) != (b != 0); }
NBI_COMPARE_FORMULAS(f32, float)
NBI_COMPARE_FORMULAS(f64, double)
NBI_COMPARE_FORMULAS(i64, int64_t)
NBI_COMPARE_FORMULAS(i32, int32_t)
NBI_COMPARE_FORMULAS(u8, uint8_t)
NBI_COMPARE_FORMULAS(i16, int16_t)
NBI_COMPARE_FORMULAS(i8, int8_t)
NBI_COMPARE_FORMULAS(b8, uint8_t)

/* ------------------------------------------------------------------------ */
/* ops.def's dtype and result columns as lists of (suffix, type) for X      */
/* ------------------------------------------------------------------------ */

#define NBI_LOOPS_FLOAT_SAME(X_SAME, X_BOOL, name)    NBI_FOR_FLOAT(X_SAME, name)
#define NBI_LOOPS_NUMERIC_SAME(X_SAME, X_BOOL, name)  NBI_FOR_NUMERIC(X_SAME, name)
#define NBI_LOOPS_ALL_SAME(X_SAME, X_BOOL, name)      NBI_FOR_ALL(X_SAME, name)
#define NBI_LOOPS_INTEGRAL_SAME(X_SAME, X_BOOL, name) NBI_FOR_INTEGER(X_SAME, name) X_SAME(name, b8, uint8_t)
#define NBI_LOOPS_ALL_BOOL(X_SAME, X_BOOL, name)      NBI_FOR_ALL(X_BOOL, name)
#define NBI_LOOPS_FLOAT_FLOAT_RESULT(X_SAME, X_BOOL, name) NBI_FOR_FLOAT(X_SAME, name)

#define NBI_DTYPE_OF_f32 NB_FLOAT32
#define NBI_DTYPE_OF_f64 NB_FLOAT64
#define NBI_DTYPE_OF_i64 NB_INT64
#define NBI_DTYPE_OF_i32 NB_INT32
#define NBI_DTYPE_OF_u8  NB_UINT8
#define NBI_DTYPE_OF_b8  NB_BOOL
#define NBI_DTYPE_OF_i16 NB_INT16
#define NBI_DTYPE_OF_i8  NB_INT8
#define NBI_DTYPE_OF_f16 NB_FLOAT16
#define NBI_DTYPE_OF_bf16 NB_BFLOAT16

/* ------------------------------------------------------------------------ */
/* Dtype conversions                                                         */
/* ------------------------------------------------------------------------ */

/* PyTorch's rules on x86: floats to integers truncate toward zero; a value
 * outside the target's range (or NaN, inf) gives the target's minimum for
 * int64 and int32 (what cvttss2si returns), and uint8 takes the low byte of
 * the int32 conversion; integers to integers wrap; anything to bool is
 * "!= 0" (NaN is true). */
NBI_FORMULA int64_t nbi_f64_to_i64(double v)
{
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
    return (int64_t)v;
}
NBI_FORMULA int32_t nbi_f64_to_i32(double v)
{
    if (!(v > -2147483649.0 && v < 2147483648.0)) return INT32_MIN;
    return (int32_t)v;
}
/* float16 and bfloat16 are stored as their bits (uint16_t) and converted
 * through float32, as c10::Half and c10::BFloat16: float32 to either
 * rounds to nearest even, overflows to inf, keeps NaN a NaN (bfloat16's
 * is 0x7FC0); anything else goes through float32 first (so a float64
 * rounds twice, as torch's static_cast<Half>(double)). */
NBI_FORMULA uint32_t nbi_float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
NBI_FORMULA float nbi_bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
/* Maratyszcza's FP16 (what c10::Half uses), without branches so that
 * loops of it vectorize: the exponent is rebiased by a multiply (which
 * also quiets a NaN, keeping its payload, as the F16C instruction torch's
 * conversions use), subnormals come from a magic subtraction. */
NBI_FORMULA float nbi_f16_to_f32(uint16_t h)
{
    uint32_t w = (uint32_t)h << 16, sign = w & 0x80000000u, two_w = w + w;
    float    normalized   = nbi_bits_float((two_w >> 4) + (0xE0u << 23)) * 1.925929944387236e-34f; /* 2^-112 */
    float    denormalized = nbi_bits_float((two_w >> 17) | (126u << 23)) - 0.5f;
    return nbi_bits_float(sign | (two_w < (1u << 27) ? nbi_float_bits(denormalized) : nbi_float_bits(normalized)));
}
/* Maratyszcza's FP16 (what c10::Half uses): the float unit does the
 * rounding by adding a power of two that pushes the dropped bits out. */
NBI_FORMULA uint16_t nbi_f32_to_f16(float f)
{
    const float scale_to_inf = 5.192296858534828e+33f, scale_to_zero = 7.703719777548943e-34f; /* 2^112, 2^-110 */
    float       base = (fabsf(f) * scale_to_inf) * scale_to_zero;
    uint32_t    w = nbi_float_bits(f), shl1_w = w + w, sign = w & 0x80000000u;
    uint32_t    bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base              = nbi_bits_float((bias >> 1) + 0x07800000u) + base;
    uint32_t bits     = nbi_float_bits(base);
    uint32_t nonsign  = ((bits >> 13) & 0x7C00u) + (bits & 0x0FFFu);
    return (uint16_t)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}
NBI_FORMULA float nbi_bf16_to_f32(uint16_t b) { return nbi_bits_float((uint32_t)b << 16); }
/* float32 to bfloat16 as torch's tensor kernels round (its vectorized
 * conversion, which every float32 copy and every bfloat16 op result takes):
 * a NaN becomes 0xFFFF. */
NBI_FORMULA uint16_t nbi_f32_to_bf16(float f)
{
    uint32_t u       = nbi_float_bits(f);
    uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    return (uint16_t)(f != f ? 0xFFFFu : rounded); /* a select, not a branch: loops vectorize */
}
/* Anything else to bfloat16 goes through c10::BFloat16's constructor
 * (float64 and float16 sources, fills): the same rounding, but a NaN
 * becomes 0x7FC0. */
NBI_FORMULA uint16_t nbi_scalar_to_bf16(float f) { return f != f ? (uint16_t)0x7FC0 : nbi_f32_to_bf16(f); }
#define NBI_CONVERT_TO_f16(x)  nbi_f32_to_f16((float)(x))
#define NBI_CONVERT_TO_bf16(x) nbi_scalar_to_bf16((float)(x))
#define NBI_F32_TO_bf16(x)     nbi_f32_to_bf16(x)
#define NBI_CONVERT_TO_f32(x) ((float)(x))
#define NBI_CONVERT_TO_f64(x) ((double)(x))
#define NBI_CONVERT_TO_b8(x)  ((uint8_t)((x) != 0))
#define NBI_WRAP_TO_i64(x)    ((int64_t)(x))
#define NBI_WRAP_TO_i32(x)    ((int32_t)(uint32_t)(uint64_t)(int64_t)(x))
#define NBI_WRAP_TO_u8(x)     ((uint8_t)(uint64_t)(int64_t)(x))
#define NBI_FLOAT_TO_i64(x)   nbi_f64_to_i64((double)(x))
#define NBI_FLOAT_TO_i32(x)   nbi_f64_to_i32((double)(x))
/* torch truncates a float to uint8 through int64 (x86: cvttsd2si, 64-bit) */
#define NBI_FLOAT_TO_u8(x)    ((uint8_t)(uint64_t)nbi_f64_to_i64((double)(x)))
#define NBI_WRAP_TO_i16(x)    ((int16_t)(uint16_t)(uint64_t)(int64_t)(x))
#define NBI_WRAP_TO_i8(x)     ((int8_t)(uint8_t)(uint64_t)(int64_t)(x))
#define NBI_FLOAT_TO_i16(x)   ((int16_t)(uint16_t)(uint32_t)nbi_f64_to_i32((double)(x)))
#define NBI_FLOAT_TO_i8(x)    ((int8_t)(uint8_t)(uint32_t)nbi_f64_to_i32((double)(x)))

/* One value into an element of any dtype, by the rules above (the creation
 * kernels of both devices, and the CPU's scalar stores). */
NBI_FORMULA void nbi_store_i64(void *p, nb_dtype dtype, int64_t value)
{
    switch (dtype) {
    case NB_FLOAT32: *(float *)p = (float)value; break;
    case NB_FLOAT64: *(double *)p = (double)value; break;
    case NB_INT64: *(int64_t *)p = value; break;
    case NB_INT32: *(int32_t *)p = NBI_WRAP_TO_i32(value); break;
    case NB_UINT8: *(uint8_t *)p = NBI_WRAP_TO_u8(value); break;
    case NB_BOOL: *(uint8_t *)p = value != 0; break;
    case NB_INT16: *(int16_t *)p = NBI_WRAP_TO_i16(value); break;
    case NB_INT8: *(int8_t *)p = NBI_WRAP_TO_i8(value); break;
    case NB_FLOAT16: *(uint16_t *)p = NBI_CONVERT_TO_f16(value); break;
    case NB_BFLOAT16: *(uint16_t *)p = NBI_CONVERT_TO_bf16(value); break;
    default: break;
    }
}
NBI_FORMULA void nbi_store_f64(void *p, nb_dtype dtype, double value)
{
    switch (dtype) {
    case NB_FLOAT32: *(float *)p = (float)value; break;
    case NB_FLOAT64: *(double *)p = value; break;
    case NB_BOOL: *(uint8_t *)p = value != 0; break;
    case NB_FLOAT16: *(uint16_t *)p = NBI_CONVERT_TO_f16(value); break;
    case NB_BFLOAT16: *(uint16_t *)p = NBI_CONVERT_TO_bf16(value); break;
    default: nbi_store_i64(p, dtype, nbi_f64_to_i64(value)); break;
    }
}

/* X(src suffix, source type, dst suffix, destination type, CONVERT) for
 * every (source, destination) pair. A half source is first widened to
 * float32 (exact), then converted as a float32 would be. */
#define NBI_HALF_TO_FLOAT_f16(x)  nbi_f16_to_f32(x)
#define NBI_HALF_TO_FLOAT_bf16(x) nbi_bf16_to_f32(x)
#define NBI_CASTS_FROM_ANY_TO_HALF(X, sfx, T, WIDEN)                                           \
    X(sfx, T, f16, uint16_t, WIDEN##_TO_f16)                                                   \
    X(sfx, T, bf16, uint16_t, WIDEN##_TO_bf16)
#define NBI_CASTS_FROM_FLOAT(X, sfx, T, TO_BF16)                                                      \
    X(sfx, T, f32, float, NBI_CONVERT_TO_f32)                                                  \
    X(sfx, T, f64, double, NBI_CONVERT_TO_f64)                                                 \
    X(sfx, T, i64, int64_t, NBI_FLOAT_TO_i64)                                                  \
    X(sfx, T, i32, int32_t, NBI_FLOAT_TO_i32)                                                  \
    X(sfx, T, u8, uint8_t, NBI_FLOAT_TO_u8)                                                    \
    X(sfx, T, b8, uint8_t, NBI_CONVERT_TO_b8)                                                  \
    X(sfx, T, i16, int16_t, NBI_FLOAT_TO_i16)                                                  \
    X(sfx, T, i8, int8_t, NBI_FLOAT_TO_i8)                                                     \
    X(sfx, T, f16, uint16_t, NBI_CONVERT_TO_f16)                                               \
    X(sfx, T, bf16, uint16_t, TO_BF16)
#define NBI_CASTS_FROM_INTEGER(X, sfx, T)                                                      \
    X(sfx, T, f32, float, NBI_CONVERT_TO_f32)                                                  \
    X(sfx, T, f64, double, NBI_CONVERT_TO_f64)                                                 \
    X(sfx, T, i64, int64_t, NBI_WRAP_TO_i64)                                                   \
    X(sfx, T, i32, int32_t, NBI_WRAP_TO_i32)                                                   \
    X(sfx, T, u8, uint8_t, NBI_WRAP_TO_u8)                                                     \
    X(sfx, T, b8, uint8_t, NBI_CONVERT_TO_b8)                                                  \
    X(sfx, T, i16, int16_t, NBI_WRAP_TO_i16)                                                   \
    X(sfx, T, i8, int8_t, NBI_WRAP_TO_i8)                                                      \
    NBI_CASTS_FROM_ANY_TO_HALF(X, sfx, T, NBI_CONVERT)
/* From a half: its float32 value, then the float32 rule. */
#define NBI_HALF_THEN(sfx, RULE, x) RULE(NBI_HALF_TO_FLOAT_##sfx(x))
#define NBI_F16_TO_f32(x)   NBI_HALF_THEN(f16, NBI_CONVERT_TO_f32, x)
#define NBI_F16_TO_f64(x)   NBI_HALF_THEN(f16, NBI_CONVERT_TO_f64, x)
#define NBI_F16_TO_i64(x)   NBI_HALF_THEN(f16, NBI_FLOAT_TO_i64, x)
#define NBI_F16_TO_i32(x)   NBI_HALF_THEN(f16, NBI_FLOAT_TO_i32, x)
#define NBI_F16_TO_u8(x)    NBI_HALF_THEN(f16, NBI_FLOAT_TO_u8, x)
#define NBI_F16_TO_b8(x)    NBI_HALF_THEN(f16, NBI_CONVERT_TO_b8, x)
#define NBI_F16_TO_i16(x)   NBI_HALF_THEN(f16, NBI_FLOAT_TO_i16, x)
#define NBI_F16_TO_i8(x)    NBI_HALF_THEN(f16, NBI_FLOAT_TO_i8, x)
#define NBI_F16_TO_f16(x)   (x)
#define NBI_F16_TO_bf16(x)  NBI_HALF_THEN(f16, NBI_CONVERT_TO_bf16, x)
#define NBI_BF16_TO_f32(x)  NBI_HALF_THEN(bf16, NBI_CONVERT_TO_f32, x)
#define NBI_BF16_TO_f64(x)  NBI_HALF_THEN(bf16, NBI_CONVERT_TO_f64, x)
#define NBI_BF16_TO_i64(x)  NBI_HALF_THEN(bf16, NBI_FLOAT_TO_i64, x)
#define NBI_BF16_TO_i32(x)  NBI_HALF_THEN(bf16, NBI_FLOAT_TO_i32, x)
#define NBI_BF16_TO_u8(x)   NBI_HALF_THEN(bf16, NBI_FLOAT_TO_u8, x)
#define NBI_BF16_TO_b8(x)   NBI_HALF_THEN(bf16, NBI_CONVERT_TO_b8, x)
#define NBI_BF16_TO_i16(x)  NBI_HALF_THEN(bf16, NBI_FLOAT_TO_i16, x)
#define NBI_BF16_TO_i8(x)   NBI_HALF_THEN(bf16, NBI_FLOAT_TO_i8, x)
#define NBI_BF16_TO_f16(x)  NBI_HALF_THEN(bf16, NBI_CONVERT_TO_f16, x)
#define NBI_BF16_TO_bf16(x) (x)
#define NBI_CASTS_FROM_HALF(X, sfx, PREFIX)                                                    \
    X(sfx, uint16_t, f32, float, PREFIX##_TO_f32)                                              \
    X(sfx, uint16_t, f64, double, PREFIX##_TO_f64)                                             \
    X(sfx, uint16_t, i64, int64_t, PREFIX##_TO_i64)                                            \
    X(sfx, uint16_t, i32, int32_t, PREFIX##_TO_i32)                                            \
    X(sfx, uint16_t, u8, uint8_t, PREFIX##_TO_u8)                                              \
    X(sfx, uint16_t, b8, uint8_t, PREFIX##_TO_b8)                                              \
    X(sfx, uint16_t, i16, int16_t, PREFIX##_TO_i16)                                            \
    X(sfx, uint16_t, i8, int8_t, PREFIX##_TO_i8)                                               \
    X(sfx, uint16_t, f16, uint16_t, PREFIX##_TO_f16)                                           \
    X(sfx, uint16_t, bf16, uint16_t, PREFIX##_TO_bf16)
#define NBI_FOR_EACH_CAST(X)                                                                   \
    NBI_CASTS_FROM_FLOAT(X, f32, float, NBI_F32_TO_bf16)                                       \
    NBI_CASTS_FROM_FLOAT(X, f64, double, NBI_CONVERT_TO_bf16)                                  \
    NBI_CASTS_FROM_INTEGER(X, i64, int64_t)                                                    \
    NBI_CASTS_FROM_INTEGER(X, i32, int32_t)                                                    \
    NBI_CASTS_FROM_INTEGER(X, u8, uint8_t)                                                     \
    NBI_CASTS_FROM_INTEGER(X, b8, uint8_t)                                                     \
    NBI_CASTS_FROM_INTEGER(X, i16, int16_t)                                                    \
    NBI_CASTS_FROM_INTEGER(X, i8, int8_t)                                                      \
    NBI_CASTS_FROM_HALF(X, f16, NBI_F16)                                                       \
    NBI_CASTS_FROM_HALF(X, bf16, NBI_BF16)

#endif /* NABLA_FORMULAS_H */
