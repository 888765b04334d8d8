/*
 * reduce_kernels.h — the CPU side of reductions (sum, max, var, norm, ...)
 * and of the "line" ops that run along one dim and keep the shape (cumsum,
 * softmax, log_softmax), behind the backend's reduce and line entries
 * (cpu/backend.c). Four files implement it:
 *   reduce_kernels.c  the reduction tree, rows
 *   reduce_columns.c  the columns layout
 *   reduce_loops.c    the vectorized inner loops, one build per instruction set
 *   line_kernels.c    cumsum, softmax, log_softmax
 *
 * How a reduction runs: the op (src/ops/reduce.c) describes the input as a
 * plan (core/reduce_args.h: the kept dims and ONE reduced run) and calls the
 * backend's reduce entry, which on the CPU is nbi_reduce. It walks the
 * outputs, choosing per layout:
 *   - rows:    the run of each output is contiguous or strided; reduced by a
 *              fixed tree of leaf blocks (below);
 *   - columns: the kept innermost dim is contiguous and the run is strided
 *              (sum over dim 0 of a (R, C) matrix): whole rows are added into
 *              a tile of column accumulators, so the loads are contiguous.
 * Plans hold byte strides; the loops index typed pointers, so nbi_reduce
 * divides the run's stride by the item size once per op.
 *
 * Accuracy and determinism. Every float sum is pairwise over leaf blocks of
 * NBI_REDUCE_LEAF elements: the tree splits a run at the largest
 * power-of-two multiple of the leaf below its length, and a contiguous leaf
 * sums into 32 interleaved accumulators combined pairwise. float32 sums
 * accumulate in float32 this way (as torch's cascade sum does; the error
 * grows with log n, so 1e7 or 2^24+5 ones sum exactly); variance, norms,
 * logsumexp and the softmax denominator accumulate in double; cumsum of
 * floats runs in double (as torch on the CPU). Threads compute whole
 * subtrees of that same tree and combine them in its order, and the
 * vectorized loops never reorder an add, so results depend neither on the
 * thread count nor on the instruction set.
 */
#ifndef NABLA_REDUCE_KERNELS_H
#define NABLA_REDUCE_KERNELS_H

#include "cpu.h"
#include "../core/reduce_args.h"

/* nbi_reduce_op: the reductions, one per NBI_REDUCE(_WITH_PARAMS) row of
 * src/core/reduce.def (core/op_ids.h); the row's comment says what each
 * computes, its out column which dtype values_dtype is. */

/* The reduce entry: run job over plan. The caller has checked dtypes and
 * that arg ops and MAX/MIN have n > 0 whenever out_numel > 0. */
void nbi_reduce(const nbi_reduce_plan *plan, const nbi_reduce_job *job);
/* The columns layout (reduce_columns.c): runs job and returns true when it
 * applies to plan (SUM, MEAN, MAX, MIN with a contiguous kept inner dim and
 * a strided run), else returns false and does nothing. itemsize: of
 * plan->dtype. */
bool nbi_reduce_columns(const nbi_reduce_plan *plan, const nbi_reduce_job *job, size_t itemsize);
/* n float16 / bfloat16 (dtype) elements, stride elements apart from x, as
 * float32 into out: how both layouts read halves. */
void nbi_reduce_widen_half(float *out, const char *x, int64_t n, int64_t stride, nb_dtype dtype);

/* ------------------------------------------------------------------------ */
/* Line ops: one output line per input line along dim, same shape           */
/* ------------------------------------------------------------------------ */

/* The line entry: op along every line of plan. nbi_line_op: cumsum,
 * softmax, log_softmax, the NBI_LINE rows of src/core/reduce.def. cumsum of
 * floats accumulates in double (as torch); softmax and log_softmax subtract
 * the line's max, float only. */
void nbi_line_run(const nbi_line_plan *plan, nbi_line_op op);

/* ------------------------------------------------------------------------ */
/* Vectorized loops (reduce_loops.c)                                         */
/* ------------------------------------------------------------------------ */

/* Columns are summed in tiles of this many outputs. */
#define NBI_COLUMN_TILE 64

/* What transform_sum adds up. */
typedef enum {
    NBI_LANES_PLAIN,             /* x */
    NBI_LANES_ABS,               /* |x| */
    NBI_LANES_SQUARE,            /* x^2 */
    NBI_LANES_DEVIATION,         /* x - param */
    NBI_LANES_SQUARED_DEVIATION, /* (x - param)^2 */
} nbi_lane_transform;

/* Loops over contiguous data, one table per instruction set. Every table
 * gives bit-identical results (same adds in the same order). */
typedef struct {
    float (*sum_f32)(const float *x, int64_t n); /* float32 lanes */
    double (*sum_f64)(const double *x, int64_t n);
    /* float16 (bf16 false) / bfloat16: sum_f32 of the widened values */
    float (*sum_half)(const uint16_t *x, int64_t n, bool bf16);
    double (*transform_sum_f32)(const float *x, int64_t n, nbi_lane_transform f, double param); /* double lanes */
    double (*transform_sum_f64)(const double *x, int64_t n, nbi_lane_transform f, double param);
    /* max (is_max) or min, n >= 1; *saw_nan tells whether a NaN was seen */
    float (*minmax_f32)(const float *x, int64_t n, bool is_max, bool *saw_nan);
    double (*minmax_f64)(const double *x, int64_t n, bool is_max, bool *saw_nan);
    /* first i with x[i] == value (x[i] NaN when value is NaN), n if none */
    int64_t (*find_f32)(const float *x, int64_t n, float value);
    int64_t (*find_f64)(const double *x, int64_t n, double value);
    /* acc[0..w) = sums of rows rows of w contiguous values, row_stride apart */
    void (*column_sum_f32)(const float *x, int64_t rows, int64_t row_stride, int w, float *acc);
    void (*column_sum_f64)(const double *x, int64_t rows, int64_t row_stride, int w, double *acc);
    /* out[0..w) = max (is_max) or min over rows of w values; NaN wins */
    void (*column_minmax_f32)(const float *x, int64_t rows, int64_t row_stride, int w, bool is_max, float *out);
    void (*column_minmax_f64)(const double *x, int64_t rows, int64_t row_stride, int w, bool is_max, double *out);
    /* out[i] = exp(x[i] - shift) (vecmath.h's nbi_expf) */
    void (*exp_shifted_f32)(const float *x, int64_t n, float shift, float *out);
    /* softmax (log_form: log_softmax) of w <= NBI_COLUMN_TILE lines side by
     * side: line j is x[j + r in_stride] for r < n, written to y[j + r out_stride] */
    void (*softmax_columns_f32)(const float *x, int64_t n, int64_t in_stride, float *y, int64_t out_stride, int w,
                                bool log_form);
    void (*softmax_columns_f64)(const double *x, int64_t n, int64_t in_stride, double *y, int64_t out_stride, int w,
                                bool log_form);
    const char *isa; /* "baseline" or "avx2" */
} nbi_reduce_loops;

/* The table for this CPU (chosen once), and the portable one (for tests). */
const nbi_reduce_loops *nbi_reduce_loops_get(void);
const nbi_reduce_loops *nbi_reduce_loops_baseline(void);

#endif /* NABLA_REDUCE_KERNELS_H */
