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
