/*
 * loss_kernels.c — the fused cross-entropy on the CPU (core/loss_args.h):
 * (R, C) logits against int64 class indices, the forward's per-row losses
 * and the backward's gradient, rows cut across threads.
 *
 * Each row is computed the same way on any thread, and the forward's sum
 * runs in row order, so the results do not depend on the thread count.
 * nn/cross_entropy.c decides when this applies and tests it against its
 * composite (nll of log_softmax).
 */
#include "cpu.h"
#include "loss_kernels.h"
#include "reduce_kernels.h"

typedef struct {
    const nbi_cross_entropy_rows *rows;
    double                       *loss;      /* forward: (R) */
    char                         *exps;      /* (R, C) of rows' dtype: the forward's scratch, the backward's gradient */
    const nbi_loss_grad          *grad_loss; /* backward */
} cross_entropy_job;

enum { ROW_BLOCK = 64 }; /* rows per step of a thread's range */

/* Rows [first, first + count): max[k] of each row (NaN if the row holds
 * one), exps = exp(x - max) into job->exps, sum[k] of each row's exps in
 * double. The exps of the whole block are one call of the vectorized loop
 * log_softmax uses (float32), however short the rows: per-row calls would
 * cost more than the math for C = 10. */
static void block_exps(const cross_entropy_job *job, int64_t first, int64_t count, double *max, double *sum)
{
    int64_t classes = job->rows->classes;
    if (job->rows->dtype == NB_FLOAT32) {
        const float *x    = (const float *)job->rows->logits + first * classes;
        float       *exps = (float *)job->exps + first * classes;
        for (int64_t k = 0; k < count; k++) {
            const float *row = x + k * classes;
            float        m   = -INFINITY;
            for (int64_t c = 0; c < classes; c++)
                m = (row[c] > m || row[c] != row[c]) ? row[c] : m; /* NaN wins */
            for (int64_t c = 0; c < classes; c++)
                exps[k * classes + c] = row[c] - m;
            max[k] = m;
        }
        nbi_reduce_loops_get()->exp_shifted_f32(exps, count * classes, 0.0f, exps);
        for (int64_t k = 0; k < count; k++) {
            double s = 0;
            for (int64_t c = 0; c < classes; c++)
                s += exps[k * classes + c];
            sum[k] = s;
        }
    } else {
        const double *x    = (const double *)job->rows->logits + first * classes;
        double       *exps = (double *)job->exps + first * classes;
        for (int64_t k = 0; k < count; k++) {
            const double *row = x + k * classes;
            double        m = -INFINITY, s = 0;
            for (int64_t c = 0; c < classes; c++)
                m = (row[c] > m || row[c] != row[c]) ? row[c] : m;
            for (int64_t c = 0; c < classes; c++)
                s += exps[k * classes + c] = exp(row[c] - m);
            max[k] = m;
            sum[k] = s;
        }
    }
}

/* loss_i = (max_i - x[i, t_i]) + log(sum_i): finite for finite logits of any
 * magnitude; +inf when the target's logit alone is -inf; NaN for a row
 * holding NaN or +inf, or all -inf (sum_i is NaN then), as log_softmax. */
static void forward_rows(int64_t begin, int64_t end, void *ctx)
{
    const cross_entropy_job     *job  = ctx;
    const nbi_cross_entropy_rows rows = *job->rows; /* a copy: the stores below cannot change it */
    double                       max[ROW_BLOCK], sum[ROW_BLOCK];
    for (int64_t first = begin; first < end; first += ROW_BLOCK) {
        int64_t count = end - first < ROW_BLOCK ? end - first : ROW_BLOCK;
        block_exps(job, first, count, max, sum);
        for (int64_t k = 0; k < count; k++) {
            int64_t i = first + k, at = i * rows.classes + rows.target[i];
            double  picked =
                rows.dtype == NB_FLOAT32 ? ((const float *)rows.logits)[at] : ((const double *)rows.logits)[at];
            double shifted = max[k] - picked;
            job->loss[i]   = shifted + log(sum[k]);
        }
    }
}

/* grad[i, c] = scale_i (exps[i, c] / sum_i - [c == t_i]) */
static void backward_rows(int64_t begin, int64_t end, void *ctx)
{
    const cross_entropy_job     *job        = ctx;
    const nbi_cross_entropy_rows rows       = *job->rows; /* copies: the stores below cannot change them */
    const nbi_loss_grad          grad_loss  = *job->grad_loss;
    size_t                       scale_size = nb_dtype_size(grad_loss.dtype);
    double                       max[ROW_BLOCK], sum[ROW_BLOCK];
    for (int64_t first = begin; first < end; first += ROW_BLOCK) {
        int64_t count = end - first < ROW_BLOCK ? end - first : ROW_BLOCK;
        block_exps(job, first, count, max, sum);
        for (int64_t k = 0; k < count; k++) {
            int64_t     i = first + k, offset = i * rows.classes;
            const char *at     = (const char *)grad_loss.values + i * grad_loss.step * (int64_t)scale_size;
            double      scale  = nbi_load_f64(at, grad_loss.dtype) * grad_loss.factor;
            double      factor = scale / sum[k];
            if (rows.dtype == NB_FLOAT32) {
                float *grad = (float *)job->exps + offset;
                for (int64_t c = 0; c < rows.classes; c++)
                    grad[c] *= (float)factor;
                grad[rows.target[i]] -= (float)scale;
            } else {
                double *grad = (double *)job->exps + offset;
                for (int64_t c = 0; c < rows.classes; c++)
                    grad[c] *= factor;
                grad[rows.target[i]] -= scale;
            }
        }
    }
}

/* Rows per thread: at least ~32k elements of work. */
static int64_t rows_grain(int64_t classes) { return 32768 / (classes > 0 ? classes : 1) + 1; }

nb_status nbi_cpu_cross_entropy_forward(const nbi_cross_entropy_rows *rows, nb_reduction reduction, void *loss)
{
    /* Scratch: the rows' losses (doubles), then their exps (the logits' dtype). */
    size_t  loss_bytes = (size_t)rows->rows * sizeof(double);
    size_t  bytes      = loss_bytes + (size_t)(rows->rows * rows->classes) * nb_dtype_size(rows->dtype);
    double *row_loss   = nbi_host_alloc(bytes > 0 ? bytes : 1);
    if (row_loss == NULL)
        return nbi_fail_status(NB_ERR_OOM, "nb_cross_entropy: out of memory for %zu bytes of scratch", bytes);
    cross_entropy_job job = {.rows = rows, .loss = row_loss, .exps = (char *)row_loss + loss_bytes};
    nbi_parallel_for(rows->rows, rows_grain(rows->classes), forward_rows, &job);
    if (reduction == NB_REDUCTION_NONE) {
        for (int64_t i = 0; i < rows->rows; i++)
            nbi_store_f64((char *)loss + i * (int64_t)nb_dtype_size(rows->dtype), rows->dtype, row_loss[i]);
    } else {
        double sum = 0; /* in row order: the same on every thread count */
        for (int64_t i = 0; i < rows->rows; i++)
            sum += row_loss[i];
        nbi_store_f64(loss, rows->dtype, reduction == NB_REDUCTION_MEAN ? sum / (double)rows->rows : sum);
    }
    nbi_host_release(row_loss, bytes > 0 ? bytes : 1);
    return NB_OK;
}

void nbi_cpu_cross_entropy_backward(const nbi_cross_entropy_rows *rows, const nbi_loss_grad *grad_loss,
                                    void *grad_logits)
{
    cross_entropy_job job = {.rows = rows, .exps = grad_logits, .grad_loss = grad_loss};
    nbi_parallel_for(rows->rows, rows_grain(rows->classes), backward_rows, &job);
}
