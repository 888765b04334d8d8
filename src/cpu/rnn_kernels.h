/*
 * rnn_kernels.h — the CPU's entries for the fused recurrent sequence
 * (core/rnn_args.h; rnn_kernels.c). Fail only for scratch memory.
 */
#ifndef NABLA_RNN_KERNELS_H
#define NABLA_RNN_KERNELS_H

#include "../core/rnn_args.h"
#include "cpu.h"

nb_status nbi_cpu_rnn_forward(const nbi_rnn_shape *s, const nbi_rnn_arrays *a);
nb_status nbi_cpu_rnn_backward(const nbi_rnn_shape *s, const nbi_rnn_arrays *a, const nbi_rnn_grads *d);

#endif /* NABLA_RNN_KERNELS_H */
