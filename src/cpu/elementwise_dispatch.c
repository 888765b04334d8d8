/*
 * elementwise_dispatch.c — picks, once, the elementwise kernel table for the
 * instruction-set level of cpu_features.h: AVX-512, AVX2+FMA, or portable C.
 */
#include "cpu.h"
#include "cpu_features.h"

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

/* The table of each level (cpu_features.h), best last. */
static const nbi_elementwise_kernels *const tables_by_level[] = {
    [NBI_CPU_BASELINE] = &nbi_elementwise_table_baseline,
#if NB_HAVE_X86_ISAS
    [NBI_CPU_AVX2]   = &nbi_elementwise_table_avx2,
    [NBI_CPU_AVX512] = &nbi_elementwise_table_avx512,
#endif
};

static const nbi_elementwise_kernels *choose(void)
{
    /* without the x86 kernels compiled, the level is always the baseline */
    const nbi_elementwise_kernels *pick = tables_by_level[nbi_cpu_level_used()];
    atomic_store_explicit(&chosen, pick, memory_order_relaxed);
    return pick;
}

const nbi_elementwise_kernels *nbi_elementwise(void)
{
    const nbi_elementwise_kernels *table = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (NBI_UNLIKELY(table == NULL)) table = choose();
    return table;
}

const char *nbi_elementwise_isa(void) { return nbi_cpu_level_name(nbi_cpu_level_used()); }

int nbi_elementwise_tables(const nbi_elementwise_kernels **tables, const char **names, int capacity)
{
    int count = 0;
    for (int level = NBI_CPU_BASELINE; level <= (int)nbi_cpu_level_used() && count < capacity; level++) {
        tables[count]  = tables_by_level[level];
        names[count++] = nbi_cpu_level_name((nbi_cpu_level)level);
    }
    return count;
}
