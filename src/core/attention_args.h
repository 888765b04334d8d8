/*
 * attention_args.h — what a device's fused scaled-dot-product attention
 * takes (the attention entries of core/backend.h), for the fused path of
 * nn/attention.c.
 *
 * Letters: B flattened batch (every dim before the last two, heads
 * included), L query positions, S key/value positions, E the query/key
 * width, V the value width. q (B, L, E), k (B, S, E), v (B, S, V), out
 * (B, L, V) and their gradients are contiguous in the device's memory;
 * lse (B, L) holds each query row's log-sum-exp of its scaled, masked
 * scores (all the backward needs to recompute a probability tile).
 *
 * The mask (optional) is read in place through strides, so a mask
 * broadcast over batch and heads costs no memory: element (b, i, j) is at
 * mask + mask_batch_offset[b] + i * mask_row_stride + j * mask_col_stride
 * (elements, not bytes; mask_batch_offset is a HOST array of B entries).
 *
 * A plain C header that nvcc also compiles as C++.
 */
#ifndef NABLA_ATTENTION_ARGS_H
#define NABLA_ATTENTION_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    NBI_ATTENTION_MASK_NONE = 0,
    NBI_ATTENTION_MASK_BOOL,    /* uint8: nonzero = may attend, zero = score -inf */
    NBI_ATTENTION_MASK_ADDITIVE /* of dtype: added to the scaled score */
} nbi_attention_mask_kind;

typedef struct {
    int      device; /* index of the device every pointer is on */
    nb_dtype dtype;  /* NB_FLOAT32 or NB_FLOAT64: of q, k, v, out, lse and gradients */
    int64_t  batch, q_len, kv_len, qk_dim, v_dim; /* B, L, S, E, V; all > 0 */
    double   scale;  /* the scores are scale * q k^T */
    bool     causal; /* query i attends to keys j <= i only (top-left aligned) */
    nbi_attention_mask_kind mask_kind;
    const void    *mask;
    const int64_t *mask_batch_offset;
    int64_t        mask_row_stride, mask_col_stride;
} nbi_attention_shape;

#ifdef __cplusplus
}
#endif

#endif /* NABLA_ATTENTION_ARGS_H */
