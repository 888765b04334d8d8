/*
 * lapack.h — the CPU's LAPACK entry (core/lapack_args.h), in builds linked
 * with OpenBLAS (NB_HAVE_OPENBLAS), which exports LAPACK's Fortran symbols.
 */
#ifndef NABLA_CPU_LAPACK_H
#define NABLA_CPU_LAPACK_H

#include "../core/lapack_args.h"

#ifdef NB_HAVE_OPENBLAS
#define NBI_CPU_HAS_LAPACK 1
nb_status nbi_cpu_lapack(const nbi_lapack_args *args);
#else
#define NBI_CPU_HAS_LAPACK 0
#endif

#endif /* NABLA_CPU_LAPACK_H */
