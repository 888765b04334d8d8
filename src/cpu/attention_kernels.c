/*
 * attention_kernels.c — fused scaled-dot-product attention on the CPU, in
 * the manner of FlashAttention (Dao et al. 2022; the backward of
 * FlashAttention-2): the (L, S) score matrix of a head is never stored.
 * The forward walks key tiles with an online softmax and keeps only the
 * output and each row's log-sum-exp; the backward recomputes each score
 * tile from q, k and that log-sum-exp.
 *
 * Memory: one thread holds one ROWS x COLS score tile (two in the
 * backward) plus a transposed key / value tile; a head's (L, S) scores
 * (L * S elements) never exist.
 *
 * Work split: the forward's items are (batch, query tile) pairs, the
 * backward's whole batch entries (heads), so that each gradient row is
 * summed by one thread in a fixed order: results do not depend on the
 * thread count.
 *
 * The tile loops are in attention_tiles.inc, once per dtype. The reference
 * they are tested against is the composite of nn/attention.c.
 */
#include "attention_kernels.h"
#include "cpu.h"
#include "vecmath.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Query rows and key columns of a tile: a 64 x 64 float tile is 16 KiB,
 * so a tile, its dP twin and the packed key / value tiles stay in L2. */
#define ROWS 64
#define COLS 64

#define REAL     float
#define EXP(x)   nbi_expf(x)
#define TILED(n) n##_f32
#include "attention_tiles.inc"
#undef REAL
#undef EXP
#undef TILED

#define REAL     double
#define EXP(x)   exp(x)
#define TILED(n) n##_f64
#include "attention_tiles.inc"
#undef REAL
#undef EXP
#undef TILED

/* Scratch elements per thread. */
static size_t forward_scratch(const nbi_attention_shape *s)
{
    return (size_t)(ROWS * COLS + s->qk_dim * COLS + ROWS * s->v_dim + 2 * ROWS);
}

static size_t backward_scratch(const nbi_attention_shape *s)
{
    return (size_t)(2 * ROWS * COLS + (s->qk_dim + s->v_dim) * COLS + s->q_len);
}

typedef struct {
    const nbi_attention_shape *shape;
    const void *q, *k, *v, *out, *lse, *dout;
    void       *dst_out, *dst_lse, *dq, *dk, *dv;
    int64_t     row_tiles; /* per batch entry, forward */
    atomic_bool out_of_memory;
} attention_job;

static void forward_range(int64_t begin, int64_t end, void *ctx)
{
    attention_job             *job  = ctx;
    const nbi_attention_shape *s    = job->shape;
    size_t                     item = nb_dtype_size(s->dtype);
    void                      *scratch = malloc(forward_scratch(s) * item);
    if (scratch == NULL) {
        atomic_store(&job->out_of_memory, true);
        return;
    }
    const int64_t L = s->q_len, S = s->kv_len, E = s->qk_dim, V = s->v_dim;
    for (int64_t w = begin; w < end; w++) {
        int64_t b = w / job->row_tiles, row0 = w % job->row_tiles * ROWS;
        int64_t rows = L - row0 < ROWS ? L - row0 : ROWS;
        if (s->dtype == NB_FLOAT32)
            forward_rows_f32(s, b, (const float *)job->q + b * L * E, (const float *)job->k + b * S * E,
                             (const float *)job->v + b * S * V, (float *)job->dst_out + b * L * V,
                             (float *)job->dst_lse + b * L, row0, rows, scratch);
        else
            forward_rows_f64(s, b, (const double *)job->q + b * L * E, (const double *)job->k + b * S * E,
                             (const double *)job->v + b * S * V, (double *)job->dst_out + b * L * V,
                             (double *)job->dst_lse + b * L, row0, rows, scratch);
    }
    free(scratch);
}

nb_status nbi_cpu_attention_forward(const nbi_attention_shape *shape, const void *q, const void *k, const void *v,
                                    void *out, void *lse)
{
    attention_job job = { .shape = shape, .q = q, .k = k, .v = v, .dst_out = out, .dst_lse = lse,
                          .row_tiles = (shape->q_len + ROWS - 1) / ROWS };
    atomic_init(&job.out_of_memory, false);
    nbi_parallel_for(shape->batch * job.row_tiles, 1, forward_range, &job);
    if (atomic_load(&job.out_of_memory))
        return nbi_fail_status(NB_ERR_OOM, "nb_scaled_dot_product_attention: out of memory for the tile scratch");
    return NB_OK;
}

static void backward_range(int64_t begin, int64_t end, void *ctx)
{
    attention_job             *job  = ctx;
    const nbi_attention_shape *s    = job->shape;
    size_t                     item = nb_dtype_size(s->dtype);
    void                      *scratch = malloc(backward_scratch(s) * item);
    if (scratch == NULL) {
        atomic_store(&job->out_of_memory, true);
        return;
    }
    const int64_t L = s->q_len, S = s->kv_len, E = s->qk_dim, V = s->v_dim;
    for (int64_t b = begin; b < end; b++) {
        if (s->dtype == NB_FLOAT32)
            backward_batch_f32(s, b, (const float *)job->q + b * L * E, (const float *)job->k + b * S * E,
                               (const float *)job->v + b * S * V, (const float *)job->out + b * L * V,
                               (const float *)job->lse + b * L, (const float *)job->dout + b * L * V,
                               (float *)job->dq + b * L * E, (float *)job->dk + b * S * E,
                               (float *)job->dv + b * S * V, scratch);
        else
            backward_batch_f64(s, b, (const double *)job->q + b * L * E, (const double *)job->k + b * S * E,
                               (const double *)job->v + b * S * V, (const double *)job->out + b * L * V,
                               (const double *)job->lse + b * L, (const double *)job->dout + b * L * V,
                               (double *)job->dq + b * L * E, (double *)job->dk + b * S * E,
                               (double *)job->dv + b * S * V, scratch);
    }
    free(scratch);
}

nb_status nbi_cpu_attention_backward(const nbi_attention_shape *shape, const void *q, const void *k, const void *v,
                                     const void *out, const void *lse, const void *grad_out, void *grad_q,
                                     void *grad_k, void *grad_v)
{
    attention_job job = { .shape = shape, .q = q, .k = k, .v = v, .out = out, .lse = lse, .dout = grad_out,
                          .dq = grad_q, .dk = grad_k, .dv = grad_v };
    atomic_init(&job.out_of_memory, false);
    nbi_parallel_for(shape->batch, 1, backward_range, &job);
    if (atomic_load(&job.out_of_memory))
        return nbi_fail_status(NB_ERR_OOM, "ScaledDotProductFlashAttentionForCpuBackward0: out of memory for the "
                                           "tile scratch");
    return NB_OK;
}
