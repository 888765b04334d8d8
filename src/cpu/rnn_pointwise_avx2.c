/* The recurrent steps' elementwise halves compiled for the avx2 instruction
 * set (CMake adds the matching -m flags to this file alone); see
 * rnn_pointwise.inc. */
#define NBI_RNN_POINTWISE_TABLE nbi_rnn_pointwise_avx2
#include "rnn_pointwise.inc"
