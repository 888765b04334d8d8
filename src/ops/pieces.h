/*
 * pieces.h — the checks shared by the ops that write a list of pieces to
 * (out, capacity) and return their count (nb_split, nb_chunk: join.c;
 * nb_unbind, nb_tensor_split: reshape_ops.c).
 */
#ifndef NABLA_OPS_PIECES_H
#define NABLA_OPS_PIECES_H

#include "core/internal.h"

/* t usable and at least 1-d, capacity >= 0 and out non-NULL when capacity
 * is: the wrapped dim, or -1 with the error recorded. */
int nbi_check_pieces(const nb_tensor *t, int dim, nb_tensor **out, int64_t capacity, const char *op);

#endif /* NABLA_OPS_PIECES_H */
