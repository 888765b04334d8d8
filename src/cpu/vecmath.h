/*
 * vecmath.h — float32 exp, tanh, sigmoid, expm1 and log1p written so that compilers can
 * vectorize them: no branches (selects only), no libm calls, integer tricks
 * for 2^n. libm's expf is a scalar call, which makes exp over 1e7 floats
 * compute-bound at ~4x the memory time; these run at memory speed in the
 * AVX2 and AVX-512 builds of the elementwise kernels.
 *
 * Accuracy: within 2 ulp of libm over the whole float range (tested in
 * tests/test_elementwise.c), NaN and +-inf handled as libm does.
 */
#ifndef NABLA_VECMATH_H
#define NABLA_VECMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../core/internal.h"

/* These vectorize only where inlined into the loop: a loop that calls one
 * runs libm's speed or worse. GCC's inliner gave up on them once the half
 * loops inlined the same formulas too (exp over 1e6 floats: 0.45 -> 3.7
 * ms), so inlining is not left to its judgement. */
#define NBI_VECMATH static NBI_ALWAYS_INLINE

NBI_VECMATH float nbi_bits_to_float(int32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* exp(x): x = n ln2 + r with |r| <= ln2/2, exp(r) by Cephes' degree-6
 * polynomial, times 2^n built from exponent bits. 2^n is applied as two
 * factors 2^(n/2) 2^(n - n/2) so that results near overflow and in the
 * subnormal range stay exact. */
NBI_VECMATH float nbi_expf(float x)
{
    const float max_arg = 88.72283935546875f, min_arg = -103.97208404541015625f;
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float       xc = x > max_arg ? max_arg : x;
    xc             = xc < min_arg ? min_arg : xc;
    xc             = x == x ? xc : 0.0f; /* NaN: compute on 0, return NaN below */
    float n        = (xc * log2e + round_magic) - round_magic;
    float r        = xc - n * ln2_hi - n * ln2_lo;
    float p        = 1.9875691500e-4f;
    p              = p * r + 1.3981999507e-3f;
    p              = p * r + 8.3334519073e-3f;
    p              = p * r + 4.1665795894e-2f;
    p              = p * r + 1.6666665459e-1f;
    p              = p * r + 5.0000001201e-1f;
    p              = p * r * r + r + 1.0f;
    int32_t ni     = (int32_t)n;
    int32_t n1     = ni / 2, n2 = ni - n1;
    float   y      = p * nbi_bits_to_float((n1 + 127) << 23) * nbi_bits_to_float((n2 + 127) << 23);
    y              = x > max_arg ? INFINITY : y;
    return x == x ? y : x;
}

/* tanh(x): an odd polynomial near 0 (where 1 - 2/(e^2x + 1) would cancel),
 * the exp form elsewhere; exactly +-1 past |x| = 9, where tanh rounds to 1
 * in float32 (the exp form would give 1 - 2^-24). */
NBI_VECMATH float nbi_tanhf(float x)
{
    float ax    = fabsf(x);
    float z     = x * x;
    float small = -5.70498872745e-3f;
    small       = small * z + 2.06390887954e-2f;
    small       = small * z - 5.37397155531e-2f;
    small       = small * z + 1.33314422036e-1f;
    small       = small * z - 3.33332819422e-1f;
    small       = x + x * z * small;
    small       = x == 0 ? x : small; /* -0 stays -0 (-0 + +0 would be +0) */
    float e     = nbi_expf(2.0f * (ax > 9.0f ? 9.0f : ax));
    float large = 1.0f - 2.0f / (e + 1.0f);
    large       = ax > 9.0f ? 1.0f : large;
    large       = x < 0 ? -large : large;
    return ax < 0.625f ? small : large; /* NaN falls to large: NaN */
}

/* 1 / (1 + e^-x): exp overflowing to inf gives exactly 0, as it should. */
NBI_VECMATH float nbi_sigmoidf(float x) { return 1.0f / (1.0f + nbi_expf(-x)); }

/* exp(x) - 1: near 0, where that would cancel, the Taylor polynomial to
 * x^8 / 8! (truncation below 1e-9 relative for |x| < 0.35); elsewhere the
 * subtraction loses at most a few ulp. -inf gives -1, NaN NaN. */
NBI_VECMATH float nbi_expm1f(float x)
{
    float p     = 2.4801587302e-5f;
    p           = p * x + 1.9841269841e-4f;
    p           = p * x + 1.3888888889e-3f;
    p           = p * x + 8.3333333333e-3f;
    p           = p * x + 4.1666666667e-2f;
    p           = p * x + 1.6666666667e-1f;
    p           = p * x + 0.5f;
    float small = x + x * x * p;
    small       = x == 0 ? x : small; /* -0 stays -0 */
    float large = nbi_expf(x) - 1.0f;
    return fabsf(x) < 0.35f ? small : large; /* NaN falls to large: NaN */
}

/* log(1 + y) for y >= 0 and for y > -1 with 1 + y a normal float (what the
 * elementwise formulas pass: exp's results). u = 1 + y = 2^e m with m in
 * [sqrt(1/2), sqrt(2)); log(m) by Cephes' logf polynomial; the rounding of
 * 1 + y is corrected to first order by (y - (u - 1)) / u, so tiny y give
 * y. y == -1 gives -inf, y < -1 NaN, +inf +inf. */
NBI_VECMATH float nbi_log1pf(float y)
{
    float   u = 1.0f + y;
    int32_t bits;
    memcpy(&bits, &u, sizeof bits);
    int32_t e     = ((bits >> 23) & 0xff) - 127;
    float   m     = nbi_bits_to_float((bits & 0x007fffff) | 0x3f800000);
    int32_t above = m > 1.41421356237f;
    m             = above ? 0.5f * m : m;
    e             = above ? e + 1 : e;
    float f       = m - 1.0f;
    float z       = f * f;
    float p       = 7.0376836292e-2f;
    p             = p * f - 1.1514610310e-1f;
    p             = p * f + 1.1676998740e-1f;
    p             = p * f - 1.2420140846e-1f;
    p             = p * f + 1.4249322787e-1f;
    p             = p * f - 1.6668057665e-1f;
    p             = p * f + 2.0000714765e-1f;
    p             = p * f - 2.4999993993e-1f;
    p             = p * f + 3.3333331174e-1f;
    float fe      = (float)e;
    float r       = f * z * p + fe * -2.12194440e-4f - 0.5f * z;
    r             = f + r + fe * 0.693359375f + (y - (u - 1.0f)) / u;
    r             = y == -1.0f ? -INFINITY : r;
    r             = y < -1.0f ? NAN : r;
    r             = y == INFINITY ? INFINITY : r;
    return y == y ? r : y;
}

#endif /* NABLA_VECMATH_H */
