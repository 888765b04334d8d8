/*
 * dataset.h — the dataset struct, shared by dataset.c (which makes it) and
 * loader.c (which draws batches from it).
 */
#ifndef NABLA_DATA_DATASET_H
#define NABLA_DATA_DATASET_H

#include "../core/internal.h"

/* count tensors (borrowed: the caller keeps them alive while the dataset
 * lives), each of ndim >= 1, all with size(0) == size: sample i is row i of
 * every tensor. */
struct nb_dataset {
    nb_tensor **tensors; /* count entries, owned array of borrowed handles */
    int         count;
    int64_t     size;
};

/* The rule of nbi_check_tensor for the data objects: true when p is not
 * NULL; otherwise "op: argument 'name' is NULL" (NB_ERR_ARG) unless an
 * error is already pending, so that the failure that made the NULL is what
 * the caller sees. */
static inline bool nbi_check_object(const void *p, const char *op, const char *name)
{
    if (p != NULL) return true;
    if (nb_last_status() == NB_OK) nbi_fail(NB_ERR_ARG, "%s: argument '%s' is NULL", op, name);
    return false;
}

#endif /* NABLA_DATA_DATASET_H */
