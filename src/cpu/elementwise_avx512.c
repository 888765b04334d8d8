/* The elementwise kernels compiled for the avx512 instruction set (CMake adds
 * the matching -m flags to this file alone); see elementwise_kernels.inc. */
#define NBI_KERNEL_TABLE nbi_elementwise_table_avx512
#include "elementwise_kernels.inc"
