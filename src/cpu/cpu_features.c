/*
 * cpu_features.c — the instruction-set level (see cpu_features.h).
 */
#include "cpu_features.h"

#include "core/internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if NB_HAVE_X86_ISAS && (defined(__GNUC__) || defined(__clang__))
#define NBI_X86_DETECTION 1
#include <cpuid.h>
#else
#define NBI_X86_DETECTION 0
#endif

#if NBI_X86_DETECTION
/* F16C is CPUID leaf 1, ECX bit 29 (clang's __builtin_cpu_supports has no
 * "f16c"); AVX512_BF16 leaf 7 subleaf 1, EAX bit 5 (not every compiler's
 * __builtin_cpu_supports knows it). */
enum { EAX = 0, ECX = 2 }; /* cpuid_bit's reg */

static bool cpuid_bit(unsigned leaf, unsigned subleaf, int reg, int bit)
{
    unsigned r[4] = { 0 };
    if (!__get_cpuid_count(leaf, subleaf, &r[0], &r[1], &r[2], &r[3])) return false;
    return (r[reg] >> bit) & 1u;
}

static nbi_cpu_level hardware_level(void)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") || !cpuid_bit(1, 0, ECX, 29))
        return NBI_CPU_BASELINE;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl"))
        return NBI_CPU_AVX512;
    return NBI_CPU_AVX2;
}

/* The cap NB_CPU_CAPABILITY asks for; AVX-512 (no cap) when it is unset or
 * not one of the names. */
static nbi_cpu_level requested_cap(void)
{
    const char *text = getenv("NB_CPU_CAPABILITY");
    if (text == NULL) return NBI_CPU_AVX512;
    if (strcmp(text, "baseline") == 0 || strcmp(text, "default") == 0) return NBI_CPU_BASELINE;
    if (strcmp(text, "avx2") == 0) return NBI_CPU_AVX2;
    return NBI_CPU_AVX512;
}
#endif

/* -1 until first asked. NOTE: atomic: threads racing here compute the same
 * value, but a plain int written by one while another reads it is a data
 * race in C11 (ThreadSanitizer reports it). */
static atomic_int level_used = -1;

nbi_cpu_level nbi_cpu_level_used(void)
{
    int level = atomic_load_explicit(&level_used, memory_order_relaxed);
    if (NBI_UNLIKELY(level < 0)) {
#if NBI_X86_DETECTION
        nbi_cpu_level hardware = hardware_level(), cap = requested_cap();
        level                  = (int)(hardware < cap ? hardware : cap);
#else
        level = NBI_CPU_BASELINE;
#endif
        atomic_store_explicit(&level_used, level, memory_order_relaxed);
    }
    return (nbi_cpu_level)level;
}

const char *nbi_cpu_level_name(nbi_cpu_level level)
{
    switch (level) {
    case NBI_CPU_AVX512: return "avx512";
    case NBI_CPU_AVX2: return "avx2";
    case NBI_CPU_BASELINE: break;
    }
    return "baseline";
}

bool nbi_cpu_has_avx512_bf16(void)
{
#if NBI_X86_DETECTION
    static atomic_int has = -1; /* as level_used */
    int               value = atomic_load_explicit(&has, memory_order_relaxed);
    if (value < 0) {
        value = nbi_cpu_level_used() == NBI_CPU_AVX512 && cpuid_bit(7, 1, EAX, 5);
        atomic_store_explicit(&has, value, memory_order_relaxed);
    }
    return value;
#else
    return false;
#endif
}
