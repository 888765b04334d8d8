/*
 * sort_kernels.h — the CPU's sort kernel (the sort entry of core/backend.h;
 * arguments in core/sort_args.h).
 */
#ifndef NABLA_SORT_KERNELS_H
#define NABLA_SORT_KERNELS_H

#include "../core/sort_args.h"
#include "cpu.h"

/* NB_ERR_OOM (recorded, naming args->op) when a thread cannot get its
 * scratch of 2n pairs. */
nb_status nbi_cpu_sort(const nbi_sort_args *args);

#endif /* NABLA_SORT_KERNELS_H */
