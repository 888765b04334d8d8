/* The elementwise kernels compiled for the avx2 instruction set (CMake adds
 * the matching -m flags to this file alone); see elementwise_kernels.inc. */
#define NBI_KERNEL_TABLE nbi_elementwise_table_avx2
#include "elementwise_kernels.inc"
