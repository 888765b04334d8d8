/*
 * creation_args.h — what a device's creation kernels take (core/backend.h):
 * a fill value in its dtype's bytes, and the descriptions of ranges
 * (arange, linspace) and random fills over a contiguous output. Fills of
 * any layout take an nbi_iter (core/iter.h) with the output as operand 0.
 *
 * Every value is a function of its element index alone (random ones of
 * (seed, offset, index), core/random.h), so a kernel may split the work any
 * way it likes and a GPU gives the same numbers as the CPU.
 *
 * A plain C header that nvcc also compiles as C++ (no internal.h).
 */
#ifndef NABLA_CREATION_ARGS_H
#define NABLA_CREATION_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One element in its dtype's bytes (the first nb_dtype_size of them),
 * converted by the op with PyTorch's rules (uint8 wraps, fractions
 * truncate), so a kernel only replicates bytes. */
typedef struct {
    unsigned char bytes[8];
} nbi_element;

/* The `op` of NBI_FAMILY_RANGE. */
typedef enum { NBI_RANGE_ARANGE, NBI_RANGE_LINSPACE, NBI_NUM_RANGES } nbi_range_kind;

/* out[i], i in [0, count), out contiguous in dtype:
 *   arange, floating dtype: start + step * i in double, stored in dtype;
 *   arange, integer dtype:  start_int + step_int * i modulo 2^64, stored
 *                           (wrapping) in dtype, as torch's casts do;
 *   linspace: start + step * i for i < halfway, end - step * (count-1-i)
 *             from there (torch's symmetric form: the last value is exactly
 *             end). NOTE: float32 computes in float (start, end and step
 *             rounded to float first), as torch's kernel does, to match it
 *             bit for bit; other dtypes in double, then stored. */
typedef struct {
    int      device;
    nb_dtype dtype;
    void    *out;
    int64_t  count;
    double   start, end, step;
    int64_t  start_int, step_int;
    int64_t  halfway;
} nbi_range_args;

/* The `op` of NBI_FAMILY_RANDOM. */
typedef enum { NBI_RANDOM_UNIFORM, NBI_RANDOM_NORMAL, NBI_RANDOM_INTEGER, NBI_NUM_RANDOMS } nbi_random_kind;

/* out[i], i in [0, count), out contiguous in dtype, from the Philox key
 * (seed, offset, i) of core/random.h:
 *   uniform: on [0, 1) (float32 or float64: nbi_philox_uniform_f32/_f64);
 *   normal:  mean + std * nbi_philox_normal(i) in double, stored in dtype
 *            (float32 or float64);
 *   integer: low + nbi_philox_u64(i) % range modulo 2^64, stored in dtype
 *            (the op has checked that [low, low + range) fits it). */
typedef struct {
    int      device;
    nb_dtype dtype;
    void    *out;
    int64_t  count;
    uint64_t seed, offset; /* from nbi_rng_reserve(count) */
    double   mean, std;
    int64_t  low;
    uint64_t range; /* >= 1 */
} nbi_random_args;

#ifdef __cplusplus
}
#endif

#endif /* NABLA_CREATION_ARGS_H */
