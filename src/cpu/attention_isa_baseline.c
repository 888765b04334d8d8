/* The fused attention's tile loops compiled for the baseline instruction set
 * (CMake adds the matching -m flags to this file alone); see
 * attention_isa.inc. */
#define NBI_ATTENTION_TABLE nbi_attention_tiles_baseline
#include "attention_isa.inc"
