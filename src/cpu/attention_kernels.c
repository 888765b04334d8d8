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
 * The tile loops are in attention_tiles.inc, once per dtype and
 * instruction set (attention_isa_*.c). The reference
 * they are tested against is the composite of nn/attention.c.
 */
#include "attention_kernels.h"
#include "cpu.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define ROWS NBI_ATTENTION_ROWS
#define COLS NBI_ATTENTION_COLS

extern const nbi_attention_tiles nbi_attention_tiles_baseline;
#if NB_HAVE_X86_ISAS
extern const nbi_attention_tiles nbi_attention_tiles_avx2;
extern const nbi_attention_tiles nbi_attention_tiles_avx512;
#endif

/* The tile loops of the instruction set the elementwise kernels chose. */
static const nbi_attention_tiles *tiles(void)
{
#if NB_HAVE_X86_ISAS
    const char *isa = nbi_elementwise_isa();
    if (strcmp(isa, "avx512") == 0) return &nbi_attention_tiles_avx512;
    if (strcmp(isa, "avx2") == 0) return &nbi_attention_tiles_avx2;
#endif
    return &nbi_attention_tiles_baseline;
}

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
    nbi_attention_forward_fn forward = tiles()->forward[s->dtype == NB_FLOAT64];
    for (int64_t w = begin; w < end; w++) {
        int64_t b = w / job->row_tiles, row0 = w % job->row_tiles * ROWS;
        int64_t rows = s->q_len - row0 < ROWS ? s->q_len - row0 : ROWS;
        forward(s, b, job->q, job->k, job->v, job->dst_out, job->dst_lse, row0, rows, scratch);
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
    nbi_attention_backward_fn backward = tiles()->backward[s->dtype == NB_FLOAT64];
    for (int64_t b = begin; b < end; b++)
        backward(s, b, job->q, job->k, job->v, job->out, job->lse, job->dout, job->dq, job->dk, job->dv, scratch);
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
