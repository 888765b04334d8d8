/*
 * creation_kernels.h — the CPU's creation kernels (the fill, range and
 * random entries of core/backend.h; arguments in core/creation_args.h).
 * Each output element is a function of its index alone, so every split of
 * the work across threads gives the same bytes.
 */
#ifndef NABLA_CREATION_KERNELS_H
#define NABLA_CREATION_KERNELS_H

#include "../core/creation_args.h"
#include "cpu.h"

/* it: one operand, every element distinct (no stride-0 dims). */
void nbi_cpu_fill(const nbi_iter *it, nb_dtype dtype, const nbi_element *value);
void nbi_cpu_range(nbi_range_kind kind, const nbi_range_args *args);
void nbi_cpu_random(nbi_random_kind kind, const nbi_random_args *args);

#endif /* NABLA_CREATION_KERNELS_H */
