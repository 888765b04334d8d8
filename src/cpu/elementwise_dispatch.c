/*
 * elementwise_dispatch.c — picks, once, the elementwise kernel table for the
 * best instruction set this CPU runs: AVX-512, AVX2+FMA, or portable C.
 */
#include "cpu.h"

#include <stdatomic.h>

extern const nbi_elementwise_kernels nbi_elementwise_table_baseline;
#if NB_HAVE_X86_ISAS
extern const nbi_elementwise_kernels nbi_elementwise_table_avx2;
extern const nbi_elementwise_kernels nbi_elementwise_table_avx512;
#endif

/* The choice, made on first use by whichever thread gets there first.
 * NOTE: atomic, not a plain pointer: two threads may both choose (they pick
 * the same table), but a plain pointer read while another thread writes it
 * is a data race in C11 (ThreadSanitizer reports it). Relaxed order is
 * enough: the tables are constants, nothing else is published with them. */
static _Atomic(const nbi_elementwise_kernels *) chosen;

#if NB_HAVE_X86_ISAS && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
/* F16C (CPUID leaf 1, ECX bit 29): the AVX2 and AVX-512 tables convert
 * float16 with it. (clang's __builtin_cpu_supports has no "f16c".) */
static bool has_f16c(void)
{
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29));
}
#endif

static const nbi_elementwise_kernels *choose(void)
{
    const nbi_elementwise_kernels *pick = &nbi_elementwise_table_baseline;
#if NB_HAVE_X86_ISAS && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (!has_f16c()) {
        /* the baseline table */
    } else if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        pick = &nbi_elementwise_table_avx512;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        pick = &nbi_elementwise_table_avx2;
    }
#endif
    atomic_store_explicit(&chosen, pick, memory_order_relaxed);
    return pick;
}

const nbi_elementwise_kernels *nbi_elementwise(void)
{
    const nbi_elementwise_kernels *table = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (NBI_UNLIKELY(table == NULL)) table = choose();
    return table;
}

const char *nbi_elementwise_isa(void)
{
    const nbi_elementwise_kernels *table = nbi_elementwise();
#if NB_HAVE_X86_ISAS
    if (table == &nbi_elementwise_table_avx512) return "avx512";
    if (table == &nbi_elementwise_table_avx2) return "avx2";
#endif
    (void)table;
    return "baseline";
}

int nbi_elementwise_tables(const nbi_elementwise_kernels **tables, const char **names, int capacity)
{
    int count = 0;
    if (count < capacity) {
        tables[count]  = &nbi_elementwise_table_baseline;
        names[count++] = "baseline";
    }
#if NB_HAVE_X86_ISAS && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (count < capacity && has_f16c() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        tables[count]  = &nbi_elementwise_table_avx2;
        names[count++] = "avx2";
    }
    if (count < capacity && has_f16c() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        tables[count]  = &nbi_elementwise_table_avx512;
        names[count++] = "avx512";
    }
#endif
    return count;
}
