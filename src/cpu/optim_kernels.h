/*
 * optim_kernels.h — the CPU's fused optimizer steps (optim_kernels.c), the
 * optimizer-step entries of the CPU table (cpu/backend.c). What they take
 * and compute: core/optim_args.h.
 */
#ifndef NABLA_CPU_OPTIM_KERNELS_H
#define NABLA_CPU_OPTIM_KERNELS_H

#include "../core/optim_args.h"

void nbi_cpu_sgd_step(const nbi_optim_param *param, void *momentum_buffer, const nbi_sgd_hyper *hyper);
void nbi_cpu_adam_step(const nbi_optim_param *param, void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq,
                       const nbi_adam_hyper *hyper);
void nbi_cpu_rmsprop_step(const nbi_optim_param *param, void *square_avg, void *momentum_buffer, void *grad_avg,
                          const nbi_rmsprop_hyper *hyper);

#endif /* NABLA_CPU_OPTIM_KERNELS_H */
