/*
 * cpu_features.h — which x86 instruction-set level nabla's kernels use:
 * one answer for the elementwise tables, the reductions, the GEMM kernels,
 * the RNN and attention tiles, so that they never disagree.
 *
 * The level is the best this CPU runs, capped by the environment variable
 * NB_CPU_CAPABILITY ("baseline" or "default", "avx2", "avx512"), read once.
 * As PyTorch's ATEN_CPU_CAPABILITY, the cap can only lower the level: it
 * serves to compare kernels, reproduce results of an older machine, or run
 * the AVX2 code on an AVX-512 machine. An unknown value is ignored, as an
 * unusable NB_NUM_THREADS is.
 */
#ifndef NABLA_CPU_FEATURES_H
#define NABLA_CPU_FEATURES_H

#include <stdbool.h>

typedef enum {
    NBI_CPU_BASELINE = 0, /* portable C, compiled for the target's base ISA */
    NBI_CPU_AVX2     = 1, /* AVX2, FMA and F16C */
    NBI_CPU_AVX512   = 2, /* AVX-512 F, DQ, BW and VL, with the AVX2 set */
} nbi_cpu_level;

/* The level the kernels use (see above); constant for the process. */
nbi_cpu_level nbi_cpu_level_used(void);
/* Its name: "baseline", "avx2" or "avx512". */
const char *nbi_cpu_level_name(nbi_cpu_level level);
/* The used level is AVX-512 and the CPU has AVX512_BF16 (VDPBF16PS). */
bool nbi_cpu_has_avx512_bf16(void);

#endif
