/*
 * half.h — IEEE 754 binary16 (float16) and bfloat16 to and from float32,
 * bit-exactly, for files that store them (safetensors F16 / BF16).
 *
 * Widening (16 -> 32 bits) is exact for every input, NaN payloads included.
 * Narrowing (32 -> 16 bits) rounds to nearest, ties to even, as numpy's
 * astype(float16) and torch's .half() / .bfloat16() do: values past the
 * largest finite half go to infinity, tiny values to subnormals or zero,
 * and a NaN stays a (quiet) NaN with its sign.
 *
 * Bit layouts: float16 is 1 sign, 5 exponent (bias 15), 10 mantissa bits;
 * bfloat16 is the top 16 bits of a float32 (1, 8, 7).
 */
#ifndef NABLA_IO_HALF_H
#define NABLA_IO_HALF_H

#include <stdint.h>
#include <string.h>

static inline float nbi_bits_to_f32(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint32_t nbi_f32_to_bits(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

static inline float nbi_f16_to_f32(uint16_t h)
{
    uint32_t sign     = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1Fu;
    uint32_t mantissa = h & 0x3FFu;
    if (exponent == 0x1F) /* inf / NaN: keep the payload */
        return nbi_bits_to_f32(sign | 0x7F800000u | mantissa << 13);
    if (exponent != 0) /* normal: rebias 15 -> 127 */
        return nbi_bits_to_f32(sign | (exponent + 112) << 23 | mantissa << 13);
    if (mantissa == 0) return nbi_bits_to_f32(sign);
    /* Subnormal: mantissa * 2^-24, normal as a float32. Shift the leading
     * one up to bit 10 and lower the exponent once per shift. */
    uint32_t shift = 0;
    while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        shift++;
    }
    return nbi_bits_to_f32(sign | (113 - shift) << 23 | (mantissa & 0x3FFu) << 13);
}

static inline uint16_t nbi_f32_to_f16(float f)
{
    uint32_t bits     = nbi_f32_to_bits(f);
    uint16_t sign     = (uint16_t)((bits >> 16) & 0x8000u);
    uint32_t exponent = (bits >> 23) & 0xFFu;
    uint32_t mantissa = bits & 0x7FFFFFu;
    if (exponent == 0xFF) /* inf stays inf; NaN keeps its top payload, quieted */
        return (uint16_t)(sign | 0x7C00u | (mantissa ? 0x200u | mantissa >> 13 : 0));
    int32_t half_exponent = (int32_t)exponent - 112;              /* rebias 127 -> 15 */
    if (half_exponent >= 0x1F) return (uint16_t)(sign | 0x7C00u); /* too large */
    if (half_exponent <= 0) {
        /* Subnormal or zero in half: value = (1.m) * 2^(e-127); the result
         * mantissa is value / 2^-24, rounded. Below 2^-25 it rounds to 0. */
        if (half_exponent < -10) return sign;
        uint32_t full    = mantissa | 0x800000u; /* the implicit one */
        uint32_t shift   = (uint32_t)(14 - half_exponent);
        uint32_t kept    = full >> shift;
        uint32_t rest    = full & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (kept & 1))) kept++;
        return (uint16_t)(sign | kept); /* kept may carry into the exponent: right */
    }
    uint32_t kept = (uint32_t)half_exponent << 10 | mantissa >> 13;
    uint32_t rest = mantissa & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (kept & 1))) kept++; /* may round up to inf: right */
    return (uint16_t)(sign | kept);
}

static inline float nbi_bf16_to_f32(uint16_t b) { return nbi_bits_to_f32((uint32_t)b << 16); }

static inline uint16_t nbi_f32_to_bf16(float f)
{
    uint32_t bits = nbi_f32_to_bits(f);
    if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x7FFFFFu) != 0)
        return (uint16_t)(bits >> 16 | 0x40u); /* NaN: quiet, never rounded into inf */
    uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
    return (uint16_t)((bits + rounding) >> 16);
}

#endif /* NABLA_IO_HALF_H */
