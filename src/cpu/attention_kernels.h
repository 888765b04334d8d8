/*
 * attention_kernels.h — the CPU's fused scaled-dot-product attention
 * (attention_kernels.c), the attention entries of the CPU table
 * (cpu/backend.c). What they take and compute: core/attention_args.h and
 * core/backend.h.
 */
#ifndef NABLA_CPU_ATTENTION_KERNELS_H
#define NABLA_CPU_ATTENTION_KERNELS_H

#include "../core/attention_args.h"

nb_status nbi_cpu_attention_forward(const nbi_attention_shape *shape, const void *q, const void *k, const void *v,
                                    void *out, void *lse);
nb_status nbi_cpu_attention_backward(const nbi_attention_shape *shape, const void *q, const void *k, const void *v,
                                     const void *out, const void *lse, const void *grad_out, void *grad_q,
                                     void *grad_k, void *grad_v);

#endif /* NABLA_CPU_ATTENTION_KERNELS_H */
