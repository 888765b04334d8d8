/*
 * attention_kernels.h — the CPU's fused scaled-dot-product attention
 * (attention_kernels.c), the attention entries of the CPU table
 * (cpu/backend.c). What they take and compute: core/attention_args.h and
 * core/backend.h.
 */
#ifndef NABLA_CPU_ATTENTION_KERNELS_H
#define NABLA_CPU_ATTENTION_KERNELS_H

#include "../core/attention_args.h"

nb_status nbi_cpu_attention_forward(const nbi_attention_shape *shape, const void *q, const void *k, const void *v,
                                    void *out, void *lse);
nb_status nbi_cpu_attention_backward(const nbi_attention_shape *shape, const void *q, const void *k, const void *v,
                                     const void *out, const void *lse, const void *grad_out, void *grad_q,
                                     void *grad_k, void *grad_v);

/* The tile loops (attention_tiles.inc), compiled once per instruction set
 * (attention_isa_*.c) and chosen at run time like the elementwise kernels.
 * Pointers are whole (B, ...) arrays of the dtype; b the batch entry.
 * forward: query rows [row0, row0 + rows) of b; backward: all of b. */
typedef void (*nbi_attention_forward_fn)(const nbi_attention_shape *s, int64_t b, const void *q, const void *k,
                                         const void *v, void *out, void *lse, int64_t row0, int64_t rows,
                                         void *scratch);
typedef void (*nbi_attention_backward_fn)(const nbi_attention_shape *s, int64_t b, const void *q, const void *k,
                                          const void *v, const void *out, const void *lse, const void *dout,
                                          void *dq, void *dk, void *dv, void *scratch);
typedef struct {
    nbi_attention_forward_fn  forward[2];  /* [0] float32, [1] float64 */
    nbi_attention_backward_fn backward[2];
} nbi_attention_tiles;

/* Query rows and key columns of a tile: a 64 x 64 float tile is 16 KiB,
 * so a tile, its dP twin and the packed key / value tiles stay in L2. */
#define NBI_ATTENTION_ROWS 64
#define NBI_ATTENTION_COLS 64

#endif /* NABLA_CPU_ATTENTION_KERNELS_H */
