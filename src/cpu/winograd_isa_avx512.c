/* The Winograd lane kernels compiled for the avx512 instruction set (CMake adds
 * the matching -m flags to this file alone); see winograd_kernels.inc. */
#define NBI_WINOGRAD_TABLE nbi_winograd_kernels_avx512
#include "winograd_kernels.inc"
