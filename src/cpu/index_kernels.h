/*
 * index_kernels.h — the CPU's indexing kernels (the index entries of
 * core/backend.h; arguments in core/index_args.h): the range check of an
 * index, gather, scatter(_add), masked_fill, masked_select, nonzero and
 * one_hot, over a row-major walk run on the thread pool.
 */
#ifndef NABLA_INDEX_KERNELS_H
#define NABLA_INDEX_KERNELS_H

#include "../core/creation_args.h"
#include "../core/index_args.h"
#include "cpu.h"

int64_t nbi_cpu_index_check(const nbi_walk *index, int64_t size, int64_t *bad_value);
void    nbi_cpu_index_min_max(const nbi_walk *index, int64_t *min, int64_t *max);
void    nbi_cpu_gather(const nbi_gather_args *args);
void    nbi_cpu_scatter(const nbi_gather_args *args, bool accumulate);
void    nbi_cpu_masked_fill(const nbi_iter *it, nb_dtype dtype, const nbi_element *value);
int64_t nbi_cpu_select(nbi_index_op op, nbi_select_args *args);
void    nbi_cpu_one_hot(const nbi_walk *classes, int64_t *out, int64_t num_classes);

#endif /* NABLA_INDEX_KERNELS_H */
