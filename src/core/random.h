/*
 * random.h — the counter-based generator behind nb_rand, nb_randn and
 * friends: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy
 * as 1, 2, 3", SC 2011) and the conversions from its 32-bit words to the
 * distributions the creation functions need.
 *
 * Every value is a pure function of (seed, offset, element index):
 *   key     = seed                      (two 32-bit words, low first)
 *   counter = (index, offset)           (four 32-bit words, low first)
 * A creation call takes (seed, offset) from nbi_rng_reserve, which advances
 * the global offset by the number of values reserved, so two calls never
 * share a counter. Nothing depends on which thread computes which element,
 * so results are bit-identical for every thread count (and a GPU kernel
 * that computes the same function gives the same numbers).
 */
#ifndef NABLA_RANDOM_H
#define NABLA_RANDOM_H

#include <math.h>
#include <stdint.h>

#include "formulas.h"

/* The seed the generator starts with, PyTorch's default_rng_seed_val. */
#define NBI_DEFAULT_SEED UINT64_C(67280421310721)

/* The generator as inline functions, compiled into the CPU kernels and the
 * CUDA kernels alike (NBI_FORMULA, core/formulas.h), so both devices
 * compute the same function:
 * - nbi_philox4x32_10(counter, key, out): the block function of Random123,
 *   checked against its known-answer vectors in the tests;
 * - nbi_philox_words(seed, offset, index, out): the four 32-bit words of
 *   element index under (seed, offset);
 * - nbi_philox_uniform_f32/_f64: uniform on [0, 1) from 24 (float, every
 *   value exactly representable, so never 1.0f) or 53 random bits;
 * - nbi_philox_u64: 64 random bits (randint);
 * - nbi_philox_normal_pair / nbi_philox_normal: standard normals by
 *   Box-Muller on pairs (elements 2k and 2k+1 share the counter of index 2k
 *   and get r cos(theta) and r sin(theta)); nbi_philox_normal gives element
 *   index alone, equal to the matching half of its pair, so a range cut at
 *   an odd index is still exact.
 * Uniform and integer values are integer arithmetic and exact scaling, so
 * bit-identical on every device; normals call log, sin and cos, whose last
 * bit may differ between the CPU's libm and CUDA's. */
/* ------------------------------------------------------------------------ */
/* Philox4x32-10                                                             */
/* ------------------------------------------------------------------------ */

#define PHILOX_ROUNDS 10
#define PHILOX_M0 UINT32_C(0xD2511F53) /* round multipliers */
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9) /* key schedule: golden ratio, sqrt(3) - 1 */
#define PHILOX_W1 UINT32_C(0xBB67AE85)

NBI_FORMULA void nbi_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < PHILOX_ROUNDS; round++) {
        if (round > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0          = n0;
        c1          = n1;
        c2          = n2;
        c3          = n3;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

NBI_FORMULA void nbi_philox_words(uint64_t seed, uint64_t offset, uint64_t index, uint32_t out[4])
{
    const uint32_t counter[4] = {(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)offset, (uint32_t)(offset >> 32)};
    const uint32_t key[2]     = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    nbi_philox4x32_10(counter, key, out);
}

/* ------------------------------------------------------------------------ */
/* Distributions                                                             */
/* ------------------------------------------------------------------------ */

/* 53 bits of (hi, lo) scaled to [0, 1). */
NBI_FORMULA double nbi_uniform53(uint32_t hi, uint32_t lo)
{
    uint64_t bits = (((uint64_t)hi << 32) | lo) >> 11;
    return (double)bits * 0x1.0p-53;
}

NBI_FORMULA float nbi_philox_uniform_f32(uint64_t seed, uint64_t offset, uint64_t index)
{
    uint32_t w[4];
    nbi_philox_words(seed, offset, index, w);
    return (float)(w[0] >> 8) * 0x1.0p-24f;
}

NBI_FORMULA double nbi_philox_uniform_f64(uint64_t seed, uint64_t offset, uint64_t index)
{
    uint32_t w[4];
    nbi_philox_words(seed, offset, index, w);
    return nbi_uniform53(w[0], w[1]);
}

NBI_FORMULA uint64_t nbi_philox_u64(uint64_t seed, uint64_t offset, uint64_t index)
{
    uint32_t w[4];
    nbi_philox_words(seed, offset, index, w);
    return ((uint64_t)w[0] << 32) | w[1];
}

NBI_FORMULA void nbi_philox_normal_pair(uint64_t seed, uint64_t offset, uint64_t pair, double out[2])
{
    uint32_t w[4];
    nbi_philox_words(seed, offset, pair * 2, w);
    /* NOTE: u1 is taken from (0, 1], not [0, 1): log(0) would give inf. */
    double u1     = 1.0 - nbi_uniform53(w[0], w[1]);
    double u2     = nbi_uniform53(w[2], w[3]);
    double radius = sqrt(-2.0 * log(u1));
    double theta  = 6.283185307179586476925286766559 * u2;
    out[0]        = radius * cos(theta);
    out[1]        = radius * sin(theta);
}

NBI_FORMULA double nbi_philox_normal(uint64_t seed, uint64_t offset, uint64_t index)
{
    double pair[2];
    nbi_philox_normal_pair(seed, offset, index / 2, pair);
    return pair[index & 1];
}

#endif /* NABLA_RANDOM_H */
