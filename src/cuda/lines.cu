/*
 * lines.cu — the ops along one dim that keep the shape (reduce.def's
 * NBI_LINE rows) on the GPU: cumsum, cumprod, cummax, cummin for float32,
 * float64, int64, int32, uint8 and bool; softmax and log_softmax for the
 * floats. Their CPU counterparts are cpu/line_kernels.c, formula for
 * formula: float cumsum / cumprod accumulate in double, integers in int64
 * wrapping; cummax / cummin move the position to the later element on a tie
 * and let a NaN stick (at the latest NaN's position).
 *
 * A running op is a scan with an associative combine (a state for "the
 * line so far" combined with the state of what follows). Short lines take
 * one thread each, in order: the CPU's own loop, so the same bits. Longer
 * lines take a block: each thread scans a contiguous chunk, thread 0 scans
 * the 256 chunk totals in order, then each thread rescans its chunk from its
 * prefix. The order depends on the line's length alone (deterministic);
 * float sums may differ from the CPU's sequential ones in the last bits.
 */
#include "block_reduce.h"
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"

#include <cuda_runtime.h>
#include <math.h>

namespace {

constexpr int block = nbi_block_threads;
/* Lines up to this long run one per thread. */
constexpr int64_t short_line = 64;

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

/* cumsum / cumprod: the running sum or product in Acc (double for floats,
 * uint64 wrapping for integers), stored as Out (T for floats, int64). */
template <typename T, typename Acc, typename Out> struct running_sum {
    bool multiply, flags; /* flags: T is bool's byte */
    typedef Acc state;
    __device__ state identity() const { return multiply ? (Acc)1 : (Acc)0; }
    __device__ state load(const char *p, int64_t) const
    {
        T v = *(const T *)p;
        if (flags) return (Acc)(v != 0);
        if constexpr (sizeof(Acc) == sizeof(uint64_t) && !std::is_floating_point<Acc>::value)
            return (Acc)(int64_t)v;
        else
            return (Acc)v;
    }
    __device__ state combine(state a, state b) const { return multiply ? a * b : a + b; }
    __device__ void  store(const nbi_line_plan &, char *p, state s) const { *(Out *)p = (Out)s; }
};

/* cummax / cummin: the running extreme and where it was. at < 0: none yet. */
template <typename T> struct extreme_state {
    T       value;
    int64_t at;
};

template <typename T> struct running_extreme {
    bool is_max;
    typedef extreme_state<T> state;
    __device__ state identity() const { return state{(T)0, -1}; }
    __device__ state load(const char *p, int64_t i) const { return state{*(const T *)p, i}; }
    /* b follows a: b wins when it is NaN (the latest NaN), when a is not NaN
     * and b is at least as good (a tie moves to the later position). */
    __device__ state combine(state a, state b) const
    {
        if (b.at < 0) return a;
        if (a.at < 0) return b;
        bool a_nan = a.value != a.value, b_nan = b.value != b.value;
        if (b_nan) return b;
        if (a_nan) return a;
        return (is_max ? b.value >= a.value : b.value <= a.value) ? b : a;
    }
    /* The positions lie as out does, element for element (reduce_args.h). */
    __device__ void store(const nbi_line_plan &plan, char *p, state s) const
    {
        *(T *)p                                            = s.value;
        plan.indices[(p - plan.out) / (int64_t)sizeof(T)] = s.at;
    }
};

/* One line per thread, in order. */
template <typename Scan> __global__ void scan_short_kernel(nbi_line_plan plan, Scan scan)
{
    NBI_GRID_STRIDE(line, plan.lines)
    {
        const char *in;
        char       *out;
        line_start(plan, line, &in, &out);
        typename Scan::state run = scan.identity();
        for (int64_t i = 0; i < plan.n; i++) {
            run = scan.combine(run, scan.load(in + i * plan.in_step, i));
            scan.store(plan, out + i * plan.out_step, run);
        }
    }
}

/* One line per block, in chunks (the file's comment). */
template <typename Scan> __global__ void scan_block_kernel(nbi_line_plan plan, Scan scan)
{
    typedef typename Scan::state state;
    __shared__ state totals[block];
    const char      *in;
    char            *out;
    line_start(plan, blockIdx.x, &in, &out);
    int     t     = threadIdx.x;
    int64_t chunk = (plan.n + block - 1) / block;
    int64_t begin = t * chunk < plan.n ? t * chunk : plan.n;
    int64_t end   = begin + chunk < plan.n ? begin + chunk : plan.n;
    state   local = scan.identity();
    for (int64_t i = begin; i < end; i++)
        local = scan.combine(local, scan.load(in + i * plan.in_step, i));
    totals[t] = local;
    __syncthreads();
    if (t == 0) {
        state run = scan.identity();
        for (int k = 0; k < block; k++) {
            state mine = totals[k];
            totals[k]  = run; /* what comes before chunk k */
            run        = scan.combine(run, mine);
        }
    }
    __syncthreads();
    state run = totals[t];
    for (int64_t i = begin; i < end; i++) {
        run = scan.combine(run, scan.load(in + i * plan.in_step, i));
        scan.store(plan, out + i * plan.out_step, run);
    }
}

template <typename Scan> void launch_scan(const nbi_line_plan *plan, Scan scan, cudaStream_t stream)
{
    if (plan->n <= short_line)
        scan_short_kernel<<<nbi_cuda_blocks(plan->lines), nbi_cuda_threads, 0, stream>>>(*plan, scan);
    else
        scan_block_kernel<<<(unsigned)plan->lines, block, 0, stream>>>(*plan, scan);
}

template <typename T> void launch_running(const nbi_line_plan *plan, nbi_line_op op, bool flags, cudaStream_t stream)
{
    bool multiply = op == NBI_LINE_cumprod;
    if (op == NBI_LINE_cummax || op == NBI_LINE_cummin)
        launch_scan(plan, running_extreme<T>{op == NBI_LINE_cummax}, stream);
    else if constexpr (std::is_floating_point<T>::value)
        launch_scan(plan, running_sum<T, double, T>{multiply, false}, stream);
    else
        launch_scan(plan, running_sum<T, uint64_t, int64_t>{multiply, flags}, stream);
}

/* An all -inf line gives NaN (-inf - -inf), a NaN anywhere NaN, as torch. */
template <typename T> __global__ void softmax_kernel(nbi_line_plan plan, bool log_form)
{
    __shared__ double partial[block];
    const char       *in;
    char             *out;
    line_start(plan, blockIdx.x, &in, &out);
    int    t = threadIdx.x;
    double m = -INFINITY; /* the thread's max; NaN once it has seen one */
    for (int64_t i = t; i < plan.n; i += block) {
        double v = (double)*(const T *)(in + i * plan.in_step);
        m        = (m != m || v != v) ? NAN : (v > m ? v : m);
    }
    T max = (T)nbi_block_combine(m, partial, [](double a, double b) {
        return (a != a || b != b) ? (double)NAN : (a > b ? a : b);
    });
    double s = 0;
    for (int64_t i = t; i < plan.n; i += block)
        s += (double)exp(*(const T *)(in + i * plan.in_step) - max);
    double sum = nbi_block_sum(s, partial);
    if (log_form) {
        T log_sum = (T)log(sum);
        for (int64_t i = t; i < plan.n; i += block) {
            T v                             = *(const T *)(in + i * plan.in_step);
            *(T *)(out + i * plan.out_step) = (v - max) - log_sum;
        }
    } else {
        T scale = (T)(1.0 / sum);
        for (int64_t i = t; i < plan.n; i += block)
            *(T *)(out + i * plan.out_step) = (T)exp(*(const T *)(in + i * plan.in_step) - max) * scale;
    }
}

} // namespace

extern "C" bool nbi_cuda_line_supported(int op, nb_dtype dtype)
{
    switch (op) {
    case NBI_LINE_cumsum:
    case NBI_LINE_cumprod:
    case NBI_LINE_cummax:
    case NBI_LINE_cummin: return nbi_cuda_has_dtype(dtype);
    case NBI_LINE_softmax:
    case NBI_LINE_log_softmax: return dtype == NB_FLOAT32 || dtype == NB_FLOAT64;
    default: return false;
    }
}

extern "C" void nbi_cuda_line(const nbi_line_plan *plan, nbi_line_op op)
{
    if (plan->lines == 0 || plan->n == 0 || nbi_cuda_use(plan->device) != 0) return;
    cudaStream_t stream = nbi_cuda_stream(plan->device);
    if (op == NBI_LINE_softmax || op == NBI_LINE_log_softmax) {
        bool log_form = op == NBI_LINE_log_softmax;
        if (plan->in_dtype == NB_FLOAT32)
            softmax_kernel<float><<<(unsigned)plan->lines, block, 0, stream>>>(*plan, log_form);
        else
            softmax_kernel<double><<<(unsigned)plan->lines, block, 0, stream>>>(*plan, log_form);
    } else {
        nbi_cuda_visit_dtype(plan->in_dtype, [&](auto zero) {
            launch_running<decltype(zero)>(plan, op, plan->in_dtype == NB_BOOL, stream);
        });
    }
    nbi_cuda_note_launch(plan->device);
}
