/*
 * loss.cu — the fused cross-entropy on the GPU (core/loss_args.h): one
 * thread per row computes the row's max, the sum of exps (in double) and
 * the loss or the gradient, as cpu/loss_kernels.c does per row; a reduced
 * loss sums the rows' losses in row order in one thread, so the result is
 * the same on every run.
 */
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"

#include <cuda_runtime.h>
#include <math.h>

namespace {

constexpr int threads_per_block = 128;

__device__ inline double load(const void *p, int64_t i, nb_dtype dtype)
{
    return dtype == NB_FLOAT32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

/* max (NaN wins) and sum of exp(x - max) of row i, in double. */
__device__ inline void row_stats(const nbi_cross_entropy_rows &r, int64_t i, double *max, double *sum)
{
    double m = -INFINITY;
    for (int64_t c = 0; c < r.classes; c++) {
        double v = load(r.logits, i * r.classes + c, r.dtype);
        m        = (v > m || v != v) ? v : m;
    }
    double s = 0;
    for (int64_t c = 0; c < r.classes; c++) s += exp(load(r.logits, i * r.classes + c, r.dtype) - m);
    *max = m;
    *sum = s;
}

__global__ void forward_rows(nbi_cross_entropy_rows r, double *row_loss)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= r.rows) return;
    double max, sum;
    row_stats(r, i, &max, &sum);
    double shifted = max - load(r.logits, i * r.classes + r.target[i], r.dtype);
    row_loss[i]    = shifted + log(sum); /* as the CPU's: +inf for a target logit of -inf */
}

__global__ void store_losses(const double *row_loss, int64_t rows, nb_reduction reduction, nb_dtype dtype, void *out)
{
    if (reduction == NB_REDUCTION_NONE) {
        for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < rows; i += (int64_t)gridDim.x * blockDim.x) {
            if (dtype == NB_FLOAT32)
                ((float *)out)[i] = (float)row_loss[i];
            else
                ((double *)out)[i] = row_loss[i];
        }
        return;
    }
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double sum = 0; /* in row order, as on the CPU */
    for (int64_t i = 0; i < rows; i++) sum += row_loss[i];
    double v = reduction == NB_REDUCTION_MEAN ? sum / (double)rows : sum;
    if (dtype == NB_FLOAT32)
        *(float *)out = (float)v;
    else
        *(double *)out = v;
}

__global__ void backward_rows(nbi_cross_entropy_rows r, nbi_loss_grad g, void *grad)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= r.rows) return;
    double max, sum;
    row_stats(r, i, &max, &sum);
    double scale  = load(g.values, i * g.step, g.dtype) * g.factor;
    double factor = scale / sum;
    for (int64_t c = 0; c < r.classes; c++) {
        int64_t at = i * r.classes + c;
        if (r.dtype == NB_FLOAT32) {
            float e = (float)exp(load(r.logits, at, r.dtype) - max);
            float v = e * (float)factor;
            if (c == r.target[i]) v -= (float)scale;
            ((float *)grad)[at] = v;
        } else {
            double v = exp(load(r.logits, at, r.dtype) - max) * factor;
            if (c == r.target[i]) v -= scale;
            ((double *)grad)[at] = v;
        }
    }
}

unsigned blocks_for(int64_t n) { return (unsigned)((n + threads_per_block - 1) / threads_per_block); }

} // namespace

extern "C" nb_status nbi_cuda_cross_entropy_forward(const nbi_cross_entropy_rows *rows, nb_reduction reduction,
                                                    void *loss)
{
    if (nbi_cuda_use(rows->device) != 0) return NB_ERR_DEVICE;
    size_t  bytes    = (size_t)(rows->rows > 0 ? rows->rows : 1) * sizeof(double);
    double *row_loss = (double *)nbi_cuda_alloc(rows->device, bytes);
    if (row_loss == nullptr) return NB_ERR_OOM;
    cudaStream_t stream = nbi_cuda_stream(rows->device);
    if (rows->rows > 0) forward_rows<<<blocks_for(rows->rows), threads_per_block, 0, stream>>>(*rows, row_loss);
    unsigned blocks = reduction == NB_REDUCTION_NONE ? (rows->rows > 0 ? blocks_for(rows->rows) : 1) : 1;
    store_losses<<<blocks, threads_per_block, 0, stream>>>(row_loss, rows->rows, reduction, rows->dtype, loss);
    nbi_cuda_note_launch(rows->device);
    /* Stream order: the block is reused only by work queued after these. */
    nbi_cuda_release(rows->device, row_loss, bytes);
    return NB_OK;
}

extern "C" void nbi_cuda_cross_entropy_backward(const nbi_cross_entropy_rows *rows, const nbi_loss_grad *grad_loss,
                                                void *grad_logits)
{
    if (rows->rows == 0 || nbi_cuda_use(rows->device) != 0) return;
    backward_rows<<<blocks_for(rows->rows), threads_per_block, 0, nbi_cuda_stream(rows->device)>>>(*rows, *grad_loss,
                                                                                                  grad_logits);
    nbi_cuda_note_launch(rows->device);
}
