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

#include "../core/formulas.h"

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

/* The conversions themselves are core/formulas.h's (the tensor dtypes'
 * casts use them too), so a file and a cast round alike. */

#endif /* NABLA_IO_HALF_H */
