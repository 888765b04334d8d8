/*
 * norm.cu — batch normalisation's passes on the GPU (core/norm_args.h),
 * float32 and float64, over x (N, C, S): N samples, C channels, S values
 * per channel and sample.
 *
 * Per-channel sums (bn_stats, bn_grad_sums): one block per channel. Thread
 * t takes values t, t + 256, ... of the channel's N S (in memory order),
 * in double, and the block adds its 256 partials in a fixed tree, so the
 * order depends on the shape alone and every run gives the same bits
 * (though not the CPU's: its lanes and planes add in another order).
 * Statistics take two passes as the CPU's: the mean, then the squared
 * deviations from it.
 *
 * Elementwise passes (bn_affine, bn_grad_input): one thread per value, the
 * CPU's expressions rounded step by step (__fmul_rn, __fadd_rn: no FMA,
 * as norm_kernels.c is compiled with -ffp-contract=off), so they give the
 * CPU's bits, and the relu mask of the backward finds exactly the values
 * the forward's relu zeroed.
 *
 * The per-channel numbers are host doubles: they go to device scratch
 * before a kernel, and sums come back (the host waits) after it. The
 * entries cannot report failure; if the device or its scratch fails, host
 * results are NaN and device results NaN-filled, never left as they were.
 */
#include "block_reduce.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"
#include "nn_kernels.h"

#include <cuda_runtime.h>
#include <math.h>

namespace {

constexpr int block = nbi_block_threads;

/* x * scale + shift rounded twice, as the CPU's affine(). */
__device__ inline float  affine(float x, float scale, float shift) { return __fadd_rn(__fmul_rn(x, scale), shift); }
__device__ inline double affine(double x, double scale, double shift) { return __dadd_rn(__dmul_rn(x, scale), shift); }
/* a g + b x + c, left to right, as the CPU's plane_affine. */
__device__ inline float gradient(float a, float g, float b, float x, float c)
{
    return __fadd_rn(__fadd_rn(__fmul_rn(a, g), __fmul_rn(b, x)), c);
}
__device__ inline double gradient(double a, double g, double b, double x, double c)
{
    return __dadd_rn(__dadd_rn(__dmul_rn(a, g), __dmul_rn(b, x)), c);
}

/* g where the fused relu passed its value: not (x scale + shift <= 0). */
template <typename T> __device__ inline T masked(T x, T g, T scale, T shift)
{
    return affine(x, scale, shift) <= 0 ? (T)0 : g;
}

/* f(offset) for this thread's values of channel c: j = t, t + block, ... of
 * the channel's N S, at (n C + c) S + s for j = n S + s; (n, s) steps by
 * (block / S, block % S), no division per value. */
template <typename F> __device__ inline void for_channel(const nbi_bn_shape &s, int64_t c, F f)
{
    const int64_t S = s.spatial, step_n = block / S, step_s = block % S;
    int64_t       n = threadIdx.x / S, i = threadIdx.x % S;
    while (n < s.batch) {
        f((n * s.channels + c) * S + i);
        n += step_n;
        i += step_s;
        if (i >= S) {
            i -= S;
            n++;
        }
    }
}

/* out[c] = channel c's mean, out[C + c] its biased variance. */
template <typename T> __global__ void stats_kernel(nbi_bn_shape s, const T *x, double *out)
{
    __shared__ double partial[block];
    const int64_t     c     = blockIdx.x;
    const double      count = (double)(s.batch * s.spatial);
    double            sum   = 0;
    for_channel(s, c, [&](int64_t at) { sum += (double)x[at]; });
    const double mean    = nbi_block_sum(sum, partial) / count;
    double       squares = 0;
    for_channel(s, c, [&](int64_t at) {
        double d = (double)x[at] - mean;
        squares += d * d;
    });
    double var = nbi_block_sum(squares, partial) / count;
    if (threadIdx.x == 0) {
        out[c]              = mean;
        out[s.channels + c] = var;
    }
}

/* coef: mean (C), then the relu's scale and shift (C each) when masked.
 * out[c] = the sum of g, out[C + c] of g (x - mean), over channel c. */
template <typename T>
__global__ void grad_sums_kernel(nbi_bn_shape s, const T *x, const T *g, const double *coef, bool masked_by_relu,
                                 double *out)
{
    __shared__ double partial[block];
    const int64_t     C = s.channels, c = blockIdx.x;
    const double      mean  = coef[c];
    const T           scale = masked_by_relu ? (T)coef[C + c] : (T)0, shift = masked_by_relu ? (T)coef[2 * C + c] : (T)0;
    double            sum_g = 0, sum_gx = 0;
    for_channel(s, c, [&](int64_t at) {
        T gm = masked_by_relu ? masked(x[at], g[at], scale, shift) : g[at];
        sum_g += (double)gm;
        sum_gx += (double)gm * ((double)x[at] - mean);
    });
    sum_g  = nbi_block_sum(sum_g, partial);
    sum_gx = nbi_block_sum(sum_gx, partial);
    if (threadIdx.x == 0) {
        out[c]     = sum_g;
        out[C + c] = sum_gx;
    }
}

/* y = x scale[c] + shift[c] (coef: scale, shift), clamped at 0 when relu
 * (y < 0 ? 0 : y, as the CPU's: NaN passes). */
template <typename T> __global__ void affine_kernel(nbi_bn_shape s, const T *x, const double *coef, bool relu, T *y)
{
    const int64_t C = s.channels;
    NBI_GRID_STRIDE(e, s.batch * C * s.spatial)
    {
        int64_t c = e / s.spatial % C;
        T       v = affine(x[e], (T)coef[c], (T)coef[C + c]);
        y[e]      = relu && v < 0 ? (T)0 : v;
    }
}

/* dx = a[c] gm + b[c] x + c[c] (coef: a, b, c, then the relu's scale and
 * shift when masked), gm g masked as in grad_sums_kernel. */
template <typename T>
__global__ void grad_input_kernel(nbi_bn_shape s, const T *x, const T *g, const double *coef, bool x_term,
                                  bool masked_by_relu, T *dx)
{
    const int64_t C = s.channels;
    NBI_GRID_STRIDE(e, s.batch * C * s.spatial)
    {
        int64_t c  = e / s.spatial % C;
        T       gm = masked_by_relu ? masked(x[e], g[e], (T)coef[3 * C + c], (T)coef[4 * C + c]) : g[e];
        /* without the x term (eval mode): a g alone, as the CPU */
        dx[e] = x_term ? gradient((T)coef[c], gm, (T)coef[C + c], x[e], (T)coef[2 * C + c]) : (T)coef[c] * gm;
    }
}

/* One device block: count host arrays of C doubles each, copied in, then
 * room for `results` more arrays that a kernel fills. */
struct channel_scratch {
    int     device;
    size_t  bytes;
    double *data; /* NULL when the device or its memory failed */

    channel_scratch(int dev, int64_t C, const double *const *arrays, int count, int results)
        : device(dev), bytes((size_t)(C * (count + results)) * sizeof(double)), data(nullptr)
    {
        if (nbi_cuda_use(device) != 0) return;
        data = (double *)nbi_cuda_alloc(device, bytes);
        cudaStream_t stream = nbi_cuda_stream(device);
        /* From pageable memory the copy has read the source when it returns. */
        for (int k = 0; data != nullptr && k < count; k++)
            if (cudaMemcpyAsync(data + k * C, arrays[k], (size_t)C * sizeof(double), cudaMemcpyHostToDevice,
                                stream) != cudaSuccess)
                release();
    }
    ~channel_scratch() { release(); }
    void release()
    {
        nbi_cuda_release(device, data, bytes); /* stream-ordered after the kernels */
        data = nullptr;
    }
};

void fill_nan(double *host, int64_t C)
{
    for (int64_t c = 0; c < C; c++) host[c] = NAN;
}

/* The device result of a failed elementwise pass: NaN everywhere. */
void poison(const nbi_bn_shape &s, void *out)
{
    size_t bytes = (size_t)(s.batch * s.channels * s.spatial) * (s.dtype == NB_FLOAT32 ? 4 : 8);
    if (nbi_cuda_use(s.device) == 0) cudaMemsetAsync(out, 0xff, bytes, nbi_cuda_stream(s.device));
}

/* Read back out0, out1 (C each) from the scratch's results (after count
 * input arrays); false when the copy failed. */
bool read_results(const channel_scratch &scratch, int64_t C, int count, double *out0, double *out1)
{
    size_t bytes = (size_t)C * sizeof(double);
    return nbi_cuda_copy_to_host(scratch.device, out0, scratch.data + count * C, bytes) == 0 &&
           nbi_cuda_copy_to_host(scratch.device, out1, scratch.data + (count + 1) * C, bytes) == 0;
}

} // namespace

extern "C" void nbi_cuda_bn_stats(const nbi_bn_shape *shape, const void *x, double *mean, double *var)
{
    const nbi_bn_shape &s = *shape;
    if (s.channels == 0) return;
    if (s.batch * s.spatial > 0) {
        channel_scratch scratch(s.device, s.channels, nullptr, 0, 2);
        if (scratch.data != nullptr) {
            cudaStream_t stream = nbi_cuda_stream(s.device);
            if (s.dtype == NB_FLOAT32)
                stats_kernel<float><<<(unsigned)s.channels, block, 0, stream>>>(s, (const float *)x, scratch.data);
            else
                stats_kernel<double><<<(unsigned)s.channels, block, 0, stream>>>(s, (const double *)x, scratch.data);
            nbi_cuda_note_launch(s.device); /* read_results then fails with it */
            if (read_results(scratch, s.channels, 0, mean, var)) return;
        }
    }
    fill_nan(mean, s.channels); /* no values (the CPU's NaN too), or a failure */
    fill_nan(var, s.channels);
}

extern "C" void nbi_cuda_bn_affine(const nbi_bn_shape *shape, const void *x, const double *scale, const double *shift,
                                   bool relu, void *y)
{
    const nbi_bn_shape &s     = *shape;
    int64_t             total = s.batch * s.channels * s.spatial;
    if (total == 0) return;
    const double   *arrays[2] = {scale, shift};
    channel_scratch scratch(s.device, s.channels, arrays, 2, 0);
    if (scratch.data == nullptr) return poison(s, y);
    cudaStream_t stream = nbi_cuda_stream(s.device);
    if (s.dtype == NB_FLOAT32)
        affine_kernel<float><<<nbi_cuda_blocks(total), nbi_cuda_threads, 0, stream>>>(s, (const float *)x,
                                                                                       scratch.data, relu, (float *)y);
    else
        affine_kernel<double><<<nbi_cuda_blocks(total), nbi_cuda_threads, 0, stream>>>(s, (const double *)x,
                                                                                        scratch.data, relu, (double *)y);
    nbi_cuda_note_launch(s.device);
}

extern "C" void nbi_cuda_bn_grad_sums(const nbi_bn_shape *shape, const void *x, const void *g, const nbi_bn_relu *relu,
                                      const double *mean, double *sum_g, double *sum_gx)
{
    const nbi_bn_shape &s = *shape;
    if (s.channels == 0) return;
    if (s.batch * s.spatial == 0) { /* empty sums */
        for (int64_t c = 0; c < s.channels; c++) sum_g[c] = sum_gx[c] = 0;
        return;
    }
    const double   *arrays[3] = {mean, relu ? relu->scale : nullptr, relu ? relu->shift : nullptr};
    int             count     = relu ? 3 : 1;
    channel_scratch scratch(s.device, s.channels, arrays, count, 2);
    if (scratch.data != nullptr) {
        cudaStream_t stream = nbi_cuda_stream(s.device);
        if (s.dtype == NB_FLOAT32)
            grad_sums_kernel<float><<<(unsigned)s.channels, block, 0, stream>>>(
                s, (const float *)x, (const float *)g, scratch.data, relu != nullptr, scratch.data + count * s.channels);
        else
            grad_sums_kernel<double><<<(unsigned)s.channels, block, 0, stream>>>(
                s, (const double *)x, (const double *)g, scratch.data, relu != nullptr,
                scratch.data + count * s.channels);
        nbi_cuda_note_launch(s.device);
        if (read_results(scratch, s.channels, count, sum_g, sum_gx)) return;
    }
    fill_nan(sum_g, s.channels);
    fill_nan(sum_gx, s.channels);
}

extern "C" void nbi_cuda_bn_grad_input(const nbi_bn_shape *shape, const void *x, const void *g,
                                       const nbi_bn_relu *relu, const double *a, const double *b, const double *c,
                                       void *dx)
{
    const nbi_bn_shape &s     = *shape;
    int64_t             total = s.batch * s.channels * s.spatial;
    if (total == 0) return;
    /* b and c NULL: the eval form a g; a stands in for them (unread) */
    bool            x_term    = b != nullptr;
    const double   *arrays[5] = {a, x_term ? b : a, x_term ? c : a, relu ? relu->scale : nullptr,
                                 relu ? relu->shift : nullptr};
    channel_scratch scratch(s.device, s.channels, arrays, relu ? 5 : 3, 0);
    if (scratch.data == nullptr) return poison(s, dx);
    cudaStream_t stream = nbi_cuda_stream(s.device);
    if (s.dtype == NB_FLOAT32)
        grad_input_kernel<float><<<nbi_cuda_blocks(total), nbi_cuda_threads, 0, stream>>>(
            s, (const float *)x, (const float *)g, scratch.data, x_term, relu != nullptr, (float *)dx);
    else
        grad_input_kernel<double><<<nbi_cuda_blocks(total), nbi_cuda_threads, 0, stream>>>(
            s, (const double *)x, (const double *)g, scratch.data, x_term, relu != nullptr, (double *)dx);
    nbi_cuda_note_launch(s.device);
}
