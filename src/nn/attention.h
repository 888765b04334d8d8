/*
 * attention.h — what MultiheadAttention (transformer.c) needs from
 * attention.c beyond the public API: the composite with its weights.
 */
#ifndef NABLA_NN_ATTENTION_H
#define NABLA_NN_ATTENTION_H

#include "core/internal.h"

/* The composite scaled-dot-product attention on checked arguments (scale
 * already resolved, nonzero), with the attention probabilities after
 * dropout in *weights when weights is not NULL (a new tensor, as the
 * result: in the caller's scope). */
nb_tensor *nbf_attention_composite(const nb_tensor *q, const nb_tensor *k, const nb_tensor *v, const nb_tensor *mask,
                                   double dropout_p, bool is_causal, double scale, nb_tensor **weights);

#endif /* NABLA_NN_ATTENTION_H */
