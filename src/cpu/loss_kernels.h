/*
 * loss_kernels.h — the CPU's fused cross-entropy (loss_kernels.c), the
 * fused-loss entries of the CPU table (cpu/backend.c). What they take and
 * compute: core/loss_args.h and core/backend.h.
 */
#ifndef NABLA_CPU_LOSS_KERNELS_H
#define NABLA_CPU_LOSS_KERNELS_H

#include "../core/loss_args.h"

nb_status nbi_cpu_cross_entropy_forward(const nbi_cross_entropy_rows *rows, nb_reduction reduction, void *loss);
void      nbi_cpu_cross_entropy_backward(const nbi_cross_entropy_rows *rows, const nbi_loss_grad *grad_loss,
                                         void *grad_logits);

#endif /* NABLA_CPU_LOSS_KERNELS_H */
