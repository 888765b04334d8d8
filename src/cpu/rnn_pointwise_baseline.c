/* The recurrent steps' elementwise halves compiled for the baseline instruction
 * set (CMake adds the matching -m flags to this file alone); see
 * rnn_pointwise.inc. */
#define NBI_RNN_POINTWISE_TABLE nbi_rnn_pointwise_baseline
#include "rnn_pointwise.inc"
