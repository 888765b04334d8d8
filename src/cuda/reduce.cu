/*
 * reduce.cu — reductions and softmax-style line ops on the GPU
 * (core/reduce_args.h), for float32 and float64: sum, mean, max, min,
 * argmax, argmin; softmax and log_softmax. (cuda/backend.c's supports says
 * so; the other rows of reduce.def answer NB_ERR_UNSUPPORTED on CUDA.)
 *
 * One block per output (or line), 256 threads. Thread t takes elements t,
 * t + 256, ... of the run, then the block combines the 256 partials in a
 * fixed tree: the order depends on the run's length alone, so results are
 * the same on every run (reduce_args.h's rule), though the tree differs
 * from the CPU's, so sums may differ from the CPU's in the last bits.
 * float32 sums accumulate in double.
 */
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"

#include <cuda_runtime.h>
#include <math.h>

namespace {

constexpr int block = 256;

__device__ inline const char *run_start(const nbi_reduce_plan &plan, int64_t o)
{
    const char *p = plan.base;
    for (int d = plan.nkept - 1; d >= 0; d--) {
        p += (o % plan.kept_size[d]) * plan.kept_stride[d];
        o /= plan.kept_size[d];
    }
    return p;
}

/* A candidate for max/min/argmax/argmin: NaN wins, then the better value,
 * then the earlier index (torch's first occurrence). */
template <typename T> struct pick {
    T       value;
    int64_t index;
};

template <typename T> __device__ inline pick<T> better(pick<T> a, pick<T> b, bool want_max)
{
    if (a.index < 0) return b;
    if (b.index < 0) return a;
    bool a_nan = a.value != a.value, b_nan = b.value != b.value;
    if (a_nan || b_nan) return a_nan && (!b_nan || a.index < b.index) ? a : b;
    if (a.value == b.value) return a.index < b.index ? a : b;
    return (want_max ? a.value > b.value : a.value < b.value) ? a : b;
}

template <typename T> __global__ void reduce_kernel(nbi_reduce_plan plan, nbi_reduce_job job)
{
    __shared__ double  sums[block];
    __shared__ T       values[block];
    __shared__ int64_t indices[block];
    int64_t     o = blockIdx.x;
    const char *x = run_start(plan, o);
    int         t = threadIdx.x;
    bool summing  = job.op == NBI_REDUCE_sum || job.op == NBI_REDUCE_mean;
    bool want_max = job.op == NBI_REDUCE_max || job.op == NBI_REDUCE_argmax;
    double  s = 0;
    pick<T> best{(T)0, -1};
    for (int64_t i = t; i < plan.n; i += block) {
        T v = *(const T *)(x + i * plan.stride);
        if (summing)
            s += (double)v;
        else
            best = better(best, pick<T>{v, i}, want_max);
    }
    sums[t]    = s;
    values[t]  = best.value;
    indices[t] = best.index;
    __syncthreads();
    for (int half = block / 2; half > 0; half /= 2) {
        if (t < half) {
            if (summing) {
                sums[t] += sums[t + half];
            } else {
                pick<T> c  = better(pick<T>{values[t], indices[t]}, pick<T>{values[t + half], indices[t + half]}, want_max);
                values[t]  = c.value;
                indices[t] = c.index;
            }
        }
        __syncthreads();
    }
    if (t != 0) return;
    if (summing) {
        double r = sums[0];
        if (job.op == NBI_REDUCE_mean) r = plan.n > 0 ? r / (double)plan.n : NAN;
        ((T *)job.values)[o] = (T)r;
        return;
    }
    if (job.indices) job.indices[o] = indices[0] < 0 ? 0 : indices[0];
    if (job.values) ((T *)job.values)[o] = values[0];
}

__device__ inline void line_start(const nbi_line_plan &plan, int64_t line, const char **in, char **out)
{
    const char *i = plan.in;
    char       *w = plan.out;
    for (int d = plan.nouter - 1; d >= 0; d--) {
        int64_t c = line % plan.outer_size[d];
        line /= plan.outer_size[d];
        i += c * plan.outer_in_stride[d];
        w += c * plan.outer_out_stride[d];
    }
    *in  = i;
    *out = w;
}

/* An all -inf line gives NaN (-inf - -inf), a NaN anywhere NaN, as torch. */
template <typename T> __global__ void softmax_kernel(nbi_line_plan plan, bool log_form)
{
    __shared__ double partial[block];
    __shared__ int    nan_seen[block];
    const char *in;
    char       *out;
    line_start(plan, blockIdx.x, &in, &out);
    int t = threadIdx.x;
    T   m = -INFINITY;
    int saw_nan = 0;
    for (int64_t i = t; i < plan.n; i += block) {
        T v = *(const T *)(in + i * plan.in_step);
        saw_nan |= v != v;
        m = v > m ? v : m;
    }
    partial[t]  = (double)m;
    nan_seen[t] = saw_nan;
    __syncthreads();
    for (int half = block / 2; half > 0; half /= 2) {
        if (t < half) {
            partial[t]  = partial[t] > partial[t + half] ? partial[t] : partial[t + half];
            nan_seen[t] = nan_seen[t] | nan_seen[t + half];
        }
        __syncthreads();
    }
    T max = nan_seen[0] ? (T)NAN : (T)partial[0];
    __syncthreads();
    double s = 0;
    for (int64_t i = t; i < plan.n; i += block) s += (double)exp(*(const T *)(in + i * plan.in_step) - max);
    partial[t] = s;
    __syncthreads();
    for (int half = block / 2; half > 0; half /= 2) {
        if (t < half) partial[t] += partial[t + half];
        __syncthreads();
    }
    double sum = partial[0];
    if (log_form) {
        T log_sum = (T)log(sum);
        for (int64_t i = t; i < plan.n; i += block) {
            T v                               = *(const T *)(in + i * plan.in_step);
            *(T *)(out + i * plan.out_step) = (v - max) - log_sum;
        }
    } else {
        T scale = (T)(1.0 / sum);
        for (int64_t i = t; i < plan.n; i += block)
            *(T *)(out + i * plan.out_step) = (T)exp(*(const T *)(in + i * plan.in_step) - max) * scale;
    }
}

} // namespace

extern "C" bool nbi_cuda_reduce_supported(int op, nb_dtype dtype)
{
    bool floating = dtype == NB_FLOAT32 || dtype == NB_FLOAT64;
    return floating && (op == NBI_REDUCE_sum || op == NBI_REDUCE_mean || op == NBI_REDUCE_max ||
                        op == NBI_REDUCE_min || op == NBI_REDUCE_argmax || op == NBI_REDUCE_argmin);
}

extern "C" bool nbi_cuda_line_supported(int op, nb_dtype dtype)
{
    return (dtype == NB_FLOAT32 || dtype == NB_FLOAT64) && (op == NBI_LINE_softmax || op == NBI_LINE_log_softmax);
}

extern "C" void nbi_cuda_reduce(const nbi_reduce_plan *plan, const nbi_reduce_job *job)
{
    if (plan->out_numel == 0 || nbi_cuda_use(plan->device) != 0) return;
    cudaStream_t stream = nbi_cuda_stream(plan->device);
    /* NOTE: one block per output; grids past 2^31 - 1 outputs are not
     * expected of a reduction. */
    unsigned blocks = (unsigned)plan->out_numel;
    if (plan->dtype == NB_FLOAT32)
        reduce_kernel<float><<<blocks, block, 0, stream>>>(*plan, *job);
    else
        reduce_kernel<double><<<blocks, block, 0, stream>>>(*plan, *job);
}

extern "C" void nbi_cuda_line(const nbi_line_plan *plan, nbi_line_op op)
{
    if (plan->lines == 0 || plan->n == 0 || nbi_cuda_use(plan->device) != 0) return;
    cudaStream_t stream = nbi_cuda_stream(plan->device);
    bool         log_form = op == NBI_LINE_log_softmax;
    if (plan->in_dtype == NB_FLOAT32)
        softmax_kernel<float><<<(unsigned)plan->lines, block, 0, stream>>>(*plan, log_form);
    else
        softmax_kernel<double><<<(unsigned)plan->lines, block, 0, stream>>>(*plan, log_form);
}
