/*
 * reduce.cu — every reduction of reduce.def on the GPU (core/reduce_args.h),
 * for the dtypes the CUDA backend has (float32, float64, int64, int32,
 * uint8, bool): sum, mean, prod, max, min, argmax, argmin, all, any, var,
 * std, norm, logsumexp. The line ops (cumsum, softmax, ...) are lines.cu.
 *
 * One block per output, 256 threads. Thread t takes elements t, t + 256,
 * ... of the run; the block then combines the 256 partials in a fixed tree
 * (block_reduce.h). The order depends on the run's length alone, so results
 * are the same on every run (reduce_args.h's rule), though the tree differs
 * from the CPU's: float sums may differ from the CPU's in the last bits.
 *
 * What each op computes is the CPU's (cpu/reduce_kernels.c), formula for
 * formula: float sums and every float statistic accumulate in double
 * (float32 sums too, which is more accurate than the CPU's float32 lanes);
 * integer sums and products wrap in int64; max / min / argmax let a NaN win
 * (argmax's first NaN); var takes the mean first and then the squared
 * deviations from it; logsumexp subtracts the max.
 */
#include "block_reduce.h"
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"

#include <cuda_runtime.h>
#include <math.h>
#include <type_traits>

namespace {

constexpr int block = nbi_block_threads;

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
 * then the earlier index (torch's first occurrence). index < 0: none yet. */
template <typename T> struct pick {
    T       value;
    int64_t index;
};

template <typename T> __device__ inline bool is_nan(T v) { return v != v; }

template <typename T> __device__ inline pick<T> better(pick<T> a, pick<T> b, bool want_max)
{
    if (a.index < 0) return b;
    if (b.index < 0) return a;
    bool a_nan = is_nan(a.value), b_nan = is_nan(b.value);
    if (a_nan || b_nan) return a_nan && (!b_nan || a.index < b.index) ? a : b;
    if (a.value == b.value) return a.index < b.index ? a : b;
    return (want_max ? a.value > b.value : a.value < b.value) ? a : b;
}

/* Scratch for the block's partials, big enough for the widest (pick<double>). */
struct block_scratch {
    alignas(16) unsigned char bytes[block * sizeof(pick<double>)];
    template <typename A> __device__ A *as() { return reinterpret_cast<A *>(bytes); }
};

/* The reduction of one run: the values of T at x + i * stride, i < n.
 * flags: T is bool's byte (every nonzero byte counts as 1 in sums). */
template <typename T> struct run {
    const char    *x;
    int64_t        n, stride;
    bool           flags;
    block_scratch *scratch;

    __device__ T at(int64_t i) const { return *(const T *)(x + i * stride); }

    /* Sum of f(value as double) in double. */
    template <typename F> __device__ double sum_double(F f) const
    {
        double s = 0;
        for (int64_t i = threadIdx.x; i < n; i += block)
            s += f((double)at(i));
        return nbi_block_sum(s, scratch->as<double>());
    }

    /* Sum (or product) wrapping in int64, computed in uint64 (no overflow UB). */
    __device__ uint64_t wrap(T v) const { return flags ? (uint64_t)(v != 0) : (uint64_t)(int64_t)v; }
    __device__ int64_t  sum_integer(bool multiply) const
    {
        uint64_t acc = multiply ? 1 : 0;
        for (int64_t i = threadIdx.x; i < n; i += block)
            acc = multiply ? acc * wrap(at(i)) : acc + wrap(at(i));
        uint64_t r = nbi_block_combine(acc, scratch->as<uint64_t>(),
                                   [multiply](uint64_t a, uint64_t b) { return multiply ? a * b : a + b; });
        return (int64_t)r;
    }

    /* Product of floats in T (torch multiplies float32 in float32). */
    __device__ T product() const
    {
        T acc = 1;
        for (int64_t i = threadIdx.x; i < n; i += block)
            acc *= at(i);
        return nbi_block_combine(acc, scratch->as<T>(), [](T a, T b) { return a * b; });
    }

    /* The extreme of g(value) (g: identity or |.|) and its first position. */
    template <typename G> __device__ pick<T> extreme(bool want_max, G g) const
    {
        pick<T> best{(T)0, -1};
        for (int64_t i = threadIdx.x; i < n; i += block)
            best = better(best, pick<T>{g(at(i)), i}, want_max);
        return nbi_block_combine(best, scratch->as<pick<T>>(),
                             [want_max](pick<T> a, pick<T> b) { return better(a, b, want_max); });
    }

    __device__ bool all_or_any(bool is_all) const
    {
        int flag = is_all;
        for (int64_t i = threadIdx.x; i < n; i += block)
            flag = is_all ? (flag & (at(i) != 0)) : (flag | (at(i) != 0));
        return nbi_block_combine(flag, scratch->as<int>(), [is_all](int a, int b) { return is_all ? a & b : a | b; });
    }
};

/* var / std: the CPU's variance_of_run, step for step. */
template <typename T> __device__ double variance(const run<T> &r, int64_t correction, bool several_outputs)
{
    double mean;
    if (r.n == 0) {
        mean = NAN;
    } else if (several_outputs) {
        /* first + the mean deviation from it: a constant run has exactly its
         * value as mean and variance 0 */
        double first = (double)r.at(0);
        mean         = first + r.sum_double([first](double v) { return v - first; }) / (double)r.n;
    } else {
        mean = r.sum_double([](double v) { return v; }) / (double)r.n;
    }
    double ss      = r.n > 0 ? r.sum_double([mean](double v) { return (v - mean) * (v - mean); }) : 0.0;
    double divisor = correction >= r.n ? 0.0 : (double)r.n - (double)correction;
    return ss / divisor;
}

template <typename T> __device__ double norm(const run<T> &r, double p)
{
    if (r.n == 0) return 0.0;
    if (p == 1.0) return r.sum_double([](double v) { return fabs(v); });
    if (p == 2.0) return sqrt(r.sum_double([](double v) { return v * v; }));
    if (p == 0.0) return r.sum_double([](double v) { return v != 0.0 ? 1.0 : 0.0; });
    if (p == INFINITY || p == -INFINITY) {
        pick<T> e = r.extreme(p > 0, [](T v) { return (T)fabs((double)v); });
        return (double)e.value;
    }
    return pow(r.sum_double([p](double v) { return pow(fabs(v), p); }), 1.0 / p);
}

template <typename T> __device__ double logsumexp(const run<T> &r)
{
    if (r.n == 0) return -INFINITY;
    double max = (double)r.extreme(true, [](T v) { return v; }).value;
    if (max != max) return max;
    double shift = isinf(max) ? 0.0 : max;
    return log(r.sum_double([shift](double v) { return exp(v - shift); })) + shift;
}

template <typename T> __global__ void reduce_kernel(nbi_reduce_plan plan, nbi_reduce_job job, bool flags)
{
    __shared__ block_scratch scratch;
    constexpr bool floating = std::is_floating_point<T>::value;
    int64_t        o        = blockIdx.x;
    run<T>         r{run_start(plan, o), plan.n, plan.stride, flags, &scratch};
    double         value = 0; /* a float op's result, stored as T below */
    switch (job.op) {
    case NBI_REDUCE_sum:
    case NBI_REDUCE_mean:
        if constexpr (floating) {
            value = r.sum_double([](double v) { return v; });
            if (job.op == NBI_REDUCE_mean) value = plan.n > 0 ? value / (double)plan.n : NAN;
            break;
        } else {
            int64_t s = r.sum_integer(false);
            if (threadIdx.x == 0) ((int64_t *)job.values)[o] = s;
            return;
        }
    case NBI_REDUCE_prod:
        if constexpr (floating) {
            value = (double)r.product();
            break;
        } else {
            int64_t p = r.sum_integer(true);
            if (threadIdx.x == 0) ((int64_t *)job.values)[o] = p;
            return;
        }
    case NBI_REDUCE_max:
    case NBI_REDUCE_min:
    case NBI_REDUCE_argmax:
    case NBI_REDUCE_argmin: {
        bool    want_max = job.op == NBI_REDUCE_max || job.op == NBI_REDUCE_argmax;
        pick<T> e        = r.extreme(want_max, [](T v) { return v; });
        if (threadIdx.x != 0) return;
        if (job.indices) job.indices[o] = e.index < 0 ? 0 : e.index;
        if (job.values) ((T *)job.values)[o] = e.value; /* max and min keep the dtype */
        return;
    }
    case NBI_REDUCE_all:
    case NBI_REDUCE_any: {
        bool flag = r.all_or_any(job.op == NBI_REDUCE_all);
        if (threadIdx.x == 0) ((uint8_t *)job.values)[o] = flag;
        return;
    }
    case NBI_REDUCE_var:
    case NBI_REDUCE_std:
        value = variance(r, job.correction, plan.out_numel > 1);
        if (job.op == NBI_REDUCE_std) value = sqrt(value);
        break;
    case NBI_REDUCE_norm: value = norm(r, job.p); break;
    case NBI_REDUCE_logsumexp: value = logsumexp(r); break;
    default: return;
    }
    /* the float-valued ops (the float-only rows reach here only for floats) */
    if (threadIdx.x == 0) ((T *)job.values)[o] = (T)value;
}

template <typename T> void launch(const nbi_reduce_plan *plan, const nbi_reduce_job *job, bool flags)
{
    /* NOTE: one block per output; grids past 2^31 - 1 outputs are not
     * expected of a reduction. */
    reduce_kernel<T><<<(unsigned)plan->out_numel, block, 0, nbi_cuda_stream(plan->device)>>>(*plan, *job, flags);
}

} // namespace

extern "C" bool nbi_cuda_reduce_supported(int op, nb_dtype dtype)
{
    bool floating = dtype == NB_FLOAT32 || dtype == NB_FLOAT64;
    switch (op) {
    case NBI_REDUCE_sum:
    case NBI_REDUCE_prod:
    case NBI_REDUCE_max:
    case NBI_REDUCE_min:
    case NBI_REDUCE_all:
    case NBI_REDUCE_any: return nbi_cuda_has_dtype(dtype);
    case NBI_REDUCE_argmax:
    case NBI_REDUCE_argmin: return nbi_cuda_has_dtype(dtype) && dtype != NB_BOOL;
    case NBI_REDUCE_mean:
    case NBI_REDUCE_var:
    case NBI_REDUCE_std:
    case NBI_REDUCE_norm:
    case NBI_REDUCE_logsumexp: return floating;
    default: return false;
    }
}

extern "C" void nbi_cuda_reduce(const nbi_reduce_plan *plan, const nbi_reduce_job *job)
{
    if (plan->out_numel == 0 || nbi_cuda_use(plan->device) != 0) return;
    nbi_cuda_visit_dtype(plan->dtype, [&](auto zero) { launch<decltype(zero)>(plan, job, plan->dtype == NB_BOOL); });
    nbi_cuda_note_launch(plan->device);
}
