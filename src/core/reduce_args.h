/*
 * reduce_args.h — what a device's reduction and line kernels take: the
 * geometry of the input (plans), what to compute and where to write it
 * (jobs), and the order rule every device's sums follow. Plain data with
 * byte strides and raw pointers (no tensors), in a plain C header, so a CUDA
 * kernel takes it by value and the .cu files include it too.
 *
 * How a reduction runs: the op (src/ops/reduce.c) checks its arguments and
 * makes the output; nbi_reduce_plan_init (reduce_args.c) describes the input
 * as the kept dims (output order) and ONE reduced run of n elements, stride
 * bytes apart; the device's backend (core/backend.h) runs the job over the
 * plan. When the reduced dims of a view do not merge into one run, the op
 * copies them into a contiguous block first (nbi_reduce_plan_init says so).
 * A line op (cumsum, softmax, log_softmax) runs along one dim and keeps the
 * shape: nbi_line_plan_init describes the lines.
 *
 * The order rule (determinism): the order of a reduction's adds depends on
 * the plan alone (sizes, strides, dtype), never on the thread count, the
 * launch geometry or timing. A long float run is summed as a pairwise tree
 * over leaves of NBI_REDUCE_LEAF elements split by nbi_tree_split; threads
 * (or blocks) compute whole subtrees of that tree and combine them in its
 * order. src/cpu/reduce_kernels.h states the CPU's loops in full.
 */
#ifndef NABLA_REDUCE_ARGS_H
#define NABLA_REDUCE_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "nabla.h"
#include "op_ids.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Elements per leaf of the reduction tree (a power of two). */
#define NBI_REDUCE_LEAF 4096

/* Split point of a run of n > leaf: the largest power-of-two multiple of
 * leaf below n. The CPU's row tree and column tiles both split this way. */
static inline int64_t nbi_tree_split(int64_t n, int64_t leaf)
{
    int64_t half = leaf;
    while (half < n - half)
        half *= 2;
    return half;
}

/* ------------------------------------------------------------------------ */
/* Reductions: the NBI_REDUCE(_WITH_PARAMS) rows of src/core/reduce.def      */
/* ------------------------------------------------------------------------ */

/* The input as a reduction sees it. Strides in bytes. */
typedef struct {
    const char *base;   /* element 0 of the input */
    nb_dtype    dtype;  /* the input's */
    int         device; /* the device index of the input's and the outputs' memory */
    int         nkept;  /* kept dims of size > 1, outermost first, merged where possible */
    int64_t     kept_size[NB_MAX_DIMS];
    int64_t     kept_stride[NB_MAX_DIMS];
    int64_t     out_numel; /* product of kept_size */
    int64_t     n;         /* elements reduced into each output (0 for an empty dim) */
    int64_t     stride;    /* between those elements */
} nbi_reduce_plan;

/* Fill plan for reducing the dims of t marked in reduce_mask. Reduced dims
 * may be reordered by stride to merge them when allow_reorder (sum, max;
 * not argmax, whose index is in row-major order). Returns false when the
 * reduced dims do not merge into one run: the caller then passes a
 * contiguous copy with the reduced dims moved last. */
bool nbi_reduce_plan_init(nbi_reduce_plan *plan, const nb_tensor *t, const bool *reduce_mask, bool allow_reorder);

/* What to compute over a plan, and where the outputs go (memory of the
 * plan's device, out_numel contiguous elements each). */
typedef struct {
    nbi_reduce_op op;           /* the row of reduce.def; its comment says what it computes */
    int64_t       correction;   /* var, std: the divisor is max(0, n - correction) */
    double        p;            /* norm: 0, 1, 2, INFINITY, -INFINITY or any other p */
    void         *values;       /* values_dtype elements, or NULL (arg ops) */
    nb_dtype      values_dtype; /* what the row's out column gives */
    int64_t      *indices;      /* argmax, argmin: int64 positions along the run, or NULL */
} nbi_reduce_job;

/* ------------------------------------------------------------------------ */
/* Line ops: the NBI_LINE rows (one output line per input line, same shape)  */
/* ------------------------------------------------------------------------ */

/* Strides in bytes. */
typedef struct {
    const char *in;
    nb_dtype    in_dtype;
    char       *out;
    nb_dtype    out_dtype; /* the row's out column */
    int         device;    /* the device index of in's and out's memory */
    int         nouter;    /* the other dims of size > 1 */
    int64_t     outer_size[NB_MAX_DIMS];
    int64_t     outer_in_stride[NB_MAX_DIMS];
    int64_t     outer_out_stride[NB_MAX_DIMS];
    int64_t     lines; /* product of outer_size */
    int64_t     n;     /* length of a line */
    int64_t     in_step, out_step;
    /* cummax, cummin: int64 positions along the line, laid out as out
     * element for element (both are new contiguous tensors of one shape);
     * NULL for the other rows. */
    int64_t *indices;
} nbi_line_plan;

/* Plan lines along dim (already wrapped) of in, writing out (same shape). */
void nbi_line_plan_init(nbi_line_plan *plan, const nb_tensor *in, nb_tensor *out, int dim);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_REDUCE_ARGS_H */
