/*
 * random.c — the global generator state (seed, offset), Philox4x32-10, and
 * the conversions from its words to uniform, normal and integer values.
 * See random.h for the keying scheme and why it makes results independent
 * of the thread count.
 */
#include "random.h"

#include "internal.h"

/* ------------------------------------------------------------------------ */
/* Global state                                                              */
/* ------------------------------------------------------------------------ */

/* (seed, offset) change together under a tiny spin lock: a reserve racing
 * with nb_manual_seed sees either the old pair or the new one, never a mix.
 * Both calls are rare (once per random tensor), so contention is nil. */
static atomic_flag rng_lock = ATOMIC_FLAG_INIT;
static uint64_t    rng_seed = NBI_DEFAULT_SEED;
static uint64_t    rng_offset;

static void rng_lock_acquire(void)
{
    while (atomic_flag_test_and_set_explicit(&rng_lock, memory_order_acquire)) {
    }
}

static void rng_lock_release(void) { atomic_flag_clear_explicit(&rng_lock, memory_order_release); }

void nb_manual_seed(uint64_t seed)
{
    rng_lock_acquire();
    rng_seed   = seed;
    rng_offset = 0;
    rng_lock_release();
}

uint64_t nb_initial_seed(void)
{
    rng_lock_acquire();
    uint64_t seed = rng_seed;
    rng_lock_release();
    return seed;
}

void nbi_rng_reserve(uint64_t count, uint64_t *seed, uint64_t *offset)
{
    rng_lock_acquire();
    *seed   = rng_seed;
    *offset = rng_offset;
    rng_offset += count; /* wraps after 2^64 values: unsigned, so defined */
    rng_lock_release();
}

/* ------------------------------------------------------------------------ */
/* Philox4x32-10                                                             */
/* ------------------------------------------------------------------------ */

enum {
    PHILOX_ROUNDS = 10,
};
#define PHILOX_M0 UINT32_C(0xD2511F53) /* round multipliers */
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9) /* key schedule: golden ratio, sqrt(3) - 1 */
#define PHILOX_W1 UINT32_C(0xBB67AE85)

void nbi_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
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

void nbi_philox_words(uint64_t seed, uint64_t offset, uint64_t index, uint32_t out[4])
{
    const uint32_t counter[4] = {(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)offset, (uint32_t)(offset >> 32)};
    const uint32_t key[2]     = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    nbi_philox4x32_10(counter, key, out);
}

/* ------------------------------------------------------------------------ */
/* Distributions                                                             */
/* ------------------------------------------------------------------------ */

/* 53 bits of (hi, lo) scaled to [0, 1). */
static double uniform53(uint32_t hi, uint32_t lo)
{
    uint64_t bits = (((uint64_t)hi << 32) | lo) >> 11;
    return (double)bits * 0x1.0p-53;
}

float nbi_philox_uniform_f32(uint64_t seed, uint64_t offset, uint64_t index)
{
    uint32_t w[4];
    nbi_philox_words(seed, offset, index, w);
    return (float)(w[0] >> 8) * 0x1.0p-24f;
}

double nbi_philox_uniform_f64(uint64_t seed, uint64_t offset, uint64_t index)
{
    uint32_t w[4];
    nbi_philox_words(seed, offset, index, w);
    return uniform53(w[0], w[1]);
}

uint64_t nbi_philox_u64(uint64_t seed, uint64_t offset, uint64_t index)
{
    uint32_t w[4];
    nbi_philox_words(seed, offset, index, w);
    return ((uint64_t)w[0] << 32) | w[1];
}

void nbi_philox_normal_pair(uint64_t seed, uint64_t offset, uint64_t pair, double out[2])
{
    uint32_t w[4];
    nbi_philox_words(seed, offset, pair * 2, w);
    /* NOTE: u1 is taken from (0, 1], not [0, 1): log(0) would give inf. */
    double u1     = 1.0 - uniform53(w[0], w[1]);
    double u2     = uniform53(w[2], w[3]);
    double radius = sqrt(-2.0 * log(u1));
    double theta  = 6.283185307179586476925286766559 * u2;
    out[0]        = radius * cos(theta);
    out[1]        = radius * sin(theta);
}

double nbi_philox_normal(uint64_t seed, uint64_t offset, uint64_t index)
{
    double pair[2];
    nbi_philox_normal_pair(seed, offset, index / 2, pair);
    return pair[index & 1];
}
