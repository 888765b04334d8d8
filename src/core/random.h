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

#include <stdint.h>

/* The seed the generator starts with, PyTorch's default_rng_seed_val. */
#define NBI_DEFAULT_SEED UINT64_C(67280421310721)

/* Philox4x32-10 on an explicit counter and key: the block function of
 * Random123, checked against its known-answer vectors in the tests. */
void nbi_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

/* The four 32-bit words of element index under (seed, offset). */
void nbi_philox_words(uint64_t seed, uint64_t offset, uint64_t index, uint32_t out[4]);

/* Uniform on [0, 1) for element index: 24 random bits for float (every value
 * exactly representable, so never 1.0f), 53 for double. */
float  nbi_philox_uniform_f32(uint64_t seed, uint64_t offset, uint64_t index);
double nbi_philox_uniform_f64(uint64_t seed, uint64_t offset, uint64_t index);

/* 64 random bits for element index (randint). */
uint64_t nbi_philox_u64(uint64_t seed, uint64_t offset, uint64_t index);

/* Standard normals by Box-Muller on pairs: elements 2k and 2k+1 share the
 * counter of index 2k and get r cos(theta) and r sin(theta).
 * nbi_philox_normal_pair writes both values of pair `pair` (elements 2*pair
 * and 2*pair + 1); nbi_philox_normal gives element index alone, equal to the
 * matching half of its pair, so a range cut at an odd index is still exact. */
void   nbi_philox_normal_pair(uint64_t seed, uint64_t offset, uint64_t pair, double out[2]);
double nbi_philox_normal(uint64_t seed, uint64_t offset, uint64_t index);

#endif /* NABLA_RANDOM_H */
