/*
 * cast.c — dtype conversion loops, one per (source, destination) pair, and
 * plain copies (same dtype) which are the same loops.
 *
 * The conversions themselves are core/formulas.h's (PyTorch's rules on x86),
 * shared with the CUDA casts.
 */
#include "cpu.h"

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

NBI_FOR_EACH_CAST(CAST_LOOP)

#define ROW(sfx)                                                                               \
    { [NB_FLOAT32] = cast_##sfx##_to_f32, [NB_FLOAT64] = cast_##sfx##_to_f64,                  \
      [NB_INT64] = cast_##sfx##_to_i64,   [NB_INT32] = cast_##sfx##_to_i32,                    \
      [NB_UINT8] = cast_##sfx##_to_u8,    [NB_BOOL] = cast_##sfx##_to_b8,                      \
      [NB_INT16] = cast_##sfx##_to_i16,   [NB_INT8] = cast_##sfx##_to_i8,                      \
      [NB_FLOAT16] = cast_##sfx##_to_f16, [NB_BFLOAT16] = cast_##sfx##_to_bf16 }

static const nbi_loop_fn cast_table[NB_NUM_DTYPES][NB_NUM_DTYPES] = {
    [NB_FLOAT32] = ROW(f32), [NB_FLOAT64] = ROW(f64), [NB_INT64] = ROW(i64),
    [NB_INT32] = ROW(i32),   [NB_UINT8] = ROW(u8),    [NB_BOOL] = ROW(b8),
    [NB_INT16] = ROW(i16),   [NB_INT8] = ROW(i8),     [NB_FLOAT16] = ROW(f16), [NB_BFLOAT16] = ROW(bf16),
};

nbi_loop_fn nbi_cast_loop(nb_dtype src, nb_dtype dst) { return cast_table[src][dst]; }
