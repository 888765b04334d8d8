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

/* float16 <-> float32 with the F16C instructions where the CPU has them
 * (the same bits as the formulas: see elementwise_kernels.inc): contiguous
 * runs only, the rest through the loops above. This file is compiled for
 * the baseline ISA, so the F16C code is a function of its own target. */
#if NB_HAVE_X86_ISAS && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <stdatomic.h>
#include <immintrin.h>

static bool cpu_has_f16c(void)
{
    /* 0 unknown, 1 no, 2 yes; atomic: the pool's threads ask at once (every
     * one finds the same, but a plain int is a data race all the same) */
    static atomic_int known;
    int               value = atomic_load_explicit(&known, memory_order_relaxed);
    if (value == 0) {
        unsigned eax, ebx, ecx, edx;
        value = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) && (ecx & (1u << 28)) ? 2 : 1;
        atomic_store_explicit(&known, value, memory_order_relaxed);
    }
    return value == 2;
}

__attribute__((target("avx,f16c"))) static void widen_f16c(float *out, const uint16_t *in, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
    for (; i < n; i++) out[i] = nbi_f16_to_f32(in[i]);
}

__attribute__((target("avx,f16c"))) static void narrow_f16c(uint16_t *out, const float *in, int64_t n)
{
    const __m256 sign = _mm256_set1_ps(-0.0f), quiet = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FC00000));
    int64_t      i    = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x   = _mm256_loadu_ps(in + i);
        __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q); /* NaN: torch's 0x7E00 with its sign */
        x          = _mm256_blendv_ps(x, _mm256_or_ps(_mm256_and_ps(x, sign), quiet), nan);
        _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    for (; i < n; i++) out[i] = nbi_f32_to_f16(in[i]);
}

static void cast_f16_to_f32_fast(char **data, const int64_t *strides, int64_t n, const void *ctx)
{
    if (strides[0] == 4 && strides[1] == 2 && cpu_has_f16c())
        widen_f16c((float *)data[0], (const uint16_t *)data[1], n);
    else
        cast_f16_to_f32(data, strides, n, ctx);
}

static void cast_f32_to_f16_fast(char **data, const int64_t *strides, int64_t n, const void *ctx)
{
    if (strides[0] == 2 && strides[1] == 4 && cpu_has_f16c())
        narrow_f16c((uint16_t *)data[0], (const float *)data[1], n);
    else
        cast_f32_to_f16(data, strides, n, ctx);
}

nbi_loop_fn nbi_cast_loop(nb_dtype src, nb_dtype dst)
{
    if (src == NB_FLOAT16 && dst == NB_FLOAT32) return cast_f16_to_f32_fast;
    if (src == NB_FLOAT32 && dst == NB_FLOAT16) return cast_f32_to_f16_fast;
    return cast_table[src][dst];
}
#else
nbi_loop_fn nbi_cast_loop(nb_dtype src, nb_dtype dst) { return cast_table[src][dst]; }
#endif
