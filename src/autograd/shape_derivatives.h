/*
 * shape_derivatives.h — the nodes of the shape ops of ops/reshape_ops.c and
 * the index ops of ops/index_put.c (issue 13): each op computes its result
 * with grad mode off, then records one node with PyTorch's grad_fn name
 * whose formula is written with public ops (so it differentiates again).
 *
 * Each nbi_record_* takes over out (freed on failure) and returns it, with
 * a node when an input requires grad and grad mode is on.
 */
#ifndef NABLA_SHAPE_DERIVATIVES_H
#define NABLA_SHAPE_DERIVATIVES_H

#include "autograd/autograd.h"

/* dims already wrapped and distinct. */
nb_tensor *nbi_record_flip(nb_tensor *out, const nb_tensor *t, nb_dims dims);
/* shifts normalized into [0, size of their dim) (dims.n == 0: one shift
 * over the flattened tensor, in [0, numel)). */
nb_tensor *nbi_record_roll(nb_tensor *out, const nb_tensor *t, nb_shape shifts, nb_dims dims);
nb_tensor *nbi_record_triangle(nb_tensor *out, const nb_tensor *t, int64_t diagonal, bool upper);
nb_tensor *nbi_record_trace(nb_tensor *out, const nb_tensor *t);
/* sizes: the repeats of every dim of out (at least t->ndim of them). */
nb_tensor *nbi_record_repeat(nb_tensor *out, const nb_tensor *t, nb_shape sizes);
/* repeat_interleave by a count along dim (t has fewer than NB_MAX_DIMS
 * dims): recorded as torch's index_select. */
nb_tensor *nbi_record_repeat_interleave(nb_tensor *out, const nb_tensor *t, int dim, int64_t repeats);
/* torch.diag of a matrix: out = t's diagonal (offset) as a copy. */
nb_tensor *nbi_record_diag_of_matrix(nb_tensor *out, const nb_tensor *t, int64_t offset);
/* Zeros of (ndim, shape) in src's dtype and device with src written on the
 * diagonal (offset, dim1, dim2) — which must have src's shape — recorded as
 * name with the diagonal as its gradient (diag of a vector, diag_embed). */
nb_tensor *nbi_embed_diagonal(const nb_tensor *src, int ndim, const int64_t *shape, int64_t offset, int dim1, int dim2,
                              const char *name);

/* Index ops; index is int64, 0-d or 1-d, in range; dim wrapped. */
nb_tensor *nbi_record_index_add(nb_tensor *out, const nb_tensor *t, int dim, const nb_tensor *index,
                                const nb_tensor *source, double alpha);
nb_tensor *nbi_record_index_copy(nb_tensor *out, const nb_tensor *t, int dim, const nb_tensor *index,
                                 const nb_tensor *source);
nb_tensor *nbi_record_index_fill(nb_tensor *out, const nb_tensor *t, int dim, const nb_tensor *index);

#endif /* NABLA_SHAPE_DERIVATIVES_H */
