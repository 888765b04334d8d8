/*
 * elementwise_dispatch.c — picks, once, the elementwise kernel table for the
 * best instruction set this CPU runs: AVX-512, AVX2+FMA, or portable C.
 */
#include "cpu.h"

extern const nbi_elementwise_kernels nbi_elementwise_table_baseline;
#if NB_HAVE_X86_ISAS
extern const nbi_elementwise_kernels nbi_elementwise_table_avx2;
extern const nbi_elementwise_kernels nbi_elementwise_table_avx512;
#endif

static const nbi_elementwise_kernels *chosen;
static const char                    *chosen_name;

static void choose(void)
{
    chosen      = &nbi_elementwise_table_baseline;
    chosen_name = "baseline";
#if NB_HAVE_X86_ISAS && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        chosen      = &nbi_elementwise_table_avx512;
        chosen_name = "avx512";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        chosen      = &nbi_elementwise_table_avx2;
        chosen_name = "avx2";
    }
#endif
}

/* NOTE: a benign race: two threads may both choose, and pick the same. */
const nbi_elementwise_kernels *nbi_elementwise(void)
{
    if (NBI_UNLIKELY(chosen == NULL)) choose();
    return chosen;
}

const char *nbi_elementwise_isa(void)
{
    nbi_elementwise();
    return chosen_name;
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
    if (count < capacity && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        tables[count]  = &nbi_elementwise_table_avx2;
        names[count++] = "avx2";
    }
    if (count < capacity && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        tables[count]  = &nbi_elementwise_table_avx512;
        names[count++] = "avx512";
    }
#endif
    return count;
}
