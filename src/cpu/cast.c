/*
 * cast.c — dtype conversion loops, one per (source, destination) pair, and
 * plain copies (same dtype) which are the same loops.
 *
 * Conversion rules are PyTorch's on x86: floats to integers truncate toward
 * zero; a value outside the target's range (or NaN, inf) gives the target's
 * minimum for int64 and int32 (what cvttss2si returns), and uint8 takes the
 * low byte of the int32 conversion; anything to bool is "!= 0" (NaN is true).
 */
#include "cpu.h"

static inline int32_t f64_to_i32(double v)
{
    if (!(v > -2147483649.0 && v < 2147483648.0)) return INT32_MIN;
    return (int32_t)v;
}

/* to_<dst>(value) for each destination from each source C type. */
#define CONVERT_TO_f32(x) ((float)(x))
#define CONVERT_TO_f64(x) ((double)(x))
#define CONVERT_TO_b8(x)  ((uint8_t)((x) != 0))

static inline int64_t float_to_i64(double v) { return nbi_f64_to_i64(v); }

#define CAST_LOOP(src_sfx, TSRC, dst_sfx, TDST, CONVERT)                                       \
    static void cast_##src_sfx##_to_##dst_sfx(char **data, const int64_t *strides, int64_t n, const void *ctx) \
    {                                                                                          \
        (void)ctx;                                                                             \
        if (strides[0] == (int64_t)sizeof(TDST) && strides[1] == (int64_t)sizeof(TSRC)) {      \
            TDST       *out = (TDST *)data[0];                                                 \
            const TSRC *in  = (const TSRC *)data[1];                                           \
            for (int64_t i = 0; i < n; i++) out[i] = CONVERT(in[i]);                           \
        } else {                                                                               \
            for (int64_t i = 0; i < n; i++)                                                    \
                *(TDST *)(data[0] + i * strides[0]) = CONVERT(*(const TSRC *)(data[1] + i * strides[1])); \
        }                                                                                      \
    }

/* Integer sources convert to integer destinations by wrapping. */
#define WRAP_TO_i64(x) ((int64_t)(x))
#define WRAP_TO_i32(x) ((int32_t)(uint32_t)(uint64_t)(int64_t)(x))
#define WRAP_TO_u8(x)  ((uint8_t)(uint64_t)(int64_t)(x))
/* Float sources. */
#define FLOAT_TO_i64(x) float_to_i64((double)(x))
#define FLOAT_TO_i32(x) f64_to_i32((double)(x))
#define FLOAT_TO_u8(x)  ((uint8_t)(uint32_t)f64_to_i32((double)(x)))

#define CASTS_FROM_FLOAT(sfx, T)                                                               \
    CAST_LOOP(sfx, T, f32, float, CONVERT_TO_f32)                                              \
    CAST_LOOP(sfx, T, f64, double, CONVERT_TO_f64)                                             \
    CAST_LOOP(sfx, T, i64, int64_t, FLOAT_TO_i64)                                              \
    CAST_LOOP(sfx, T, i32, int32_t, FLOAT_TO_i32)                                              \
    CAST_LOOP(sfx, T, u8, uint8_t, FLOAT_TO_u8)                                                \
    CAST_LOOP(sfx, T, b8, uint8_t, CONVERT_TO_b8)
#define CASTS_FROM_INTEGER(sfx, T)                                                             \
    CAST_LOOP(sfx, T, f32, float, CONVERT_TO_f32)                                              \
    CAST_LOOP(sfx, T, f64, double, CONVERT_TO_f64)                                             \
    CAST_LOOP(sfx, T, i64, int64_t, WRAP_TO_i64)                                               \
    CAST_LOOP(sfx, T, i32, int32_t, WRAP_TO_i32)                                               \
    CAST_LOOP(sfx, T, u8, uint8_t, WRAP_TO_u8)                                                 \
    CAST_LOOP(sfx, T, b8, uint8_t, CONVERT_TO_b8)

CASTS_FROM_FLOAT(f32, float)
CASTS_FROM_FLOAT(f64, double)
CASTS_FROM_INTEGER(i64, int64_t)
CASTS_FROM_INTEGER(i32, int32_t)
CASTS_FROM_INTEGER(u8, uint8_t)
CASTS_FROM_INTEGER(b8, uint8_t)

#define ROW(sfx)                                                                               \
    { [NB_FLOAT32] = cast_##sfx##_to_f32, [NB_FLOAT64] = cast_##sfx##_to_f64,                  \
      [NB_INT64] = cast_##sfx##_to_i64,   [NB_INT32] = cast_##sfx##_to_i32,                    \
      [NB_UINT8] = cast_##sfx##_to_u8,    [NB_BOOL] = cast_##sfx##_to_b8 }

static const nbi_loop_fn cast_table[NB_NUM_DTYPES][NB_NUM_DTYPES] = {
    [NB_FLOAT32] = ROW(f32), [NB_FLOAT64] = ROW(f64), [NB_INT64] = ROW(i64),
    [NB_INT32] = ROW(i32),   [NB_UINT8] = ROW(u8),    [NB_BOOL] = ROW(b8),
};

nbi_loop_fn nbi_cast_loop(nb_dtype src, nb_dtype dst) { return cast_table[src][dst]; }
