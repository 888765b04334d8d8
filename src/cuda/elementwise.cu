/*
 * elementwise.cu — every elementwise primitive of core/ops.def on the GPU,
 * from the same scalar formulas the CPU loops use (core/formulas.h): the
 * rows generate one functor per (op, dtype), and two kernels run any
 * functor, a contiguous one (plain index) and a strided one (the
 * iterator's geometry: shape and byte strides per operand, as on the CPU).
 *
 * Launches are asynchronous on the device's stream. Integer division by
 * zero is the one error a kernel can find: the integer floor_divide,
 * remainder and fmod kernels write a flag in device memory, which the host reads
 * (waiting for the kernel) only for those ops.
 */
#include "../core/formulas.h"
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"

#include <cuda_runtime.h>

/* The float formulas on CUDA's math functions (the CPU uses vecmath.h's
 * vectorizable exp/tanh for float32; results may differ by an ulp). */
static __host__ __device__ inline float  sigmoid_cuda_f32(float x) { return 1.0f / (1.0f + expf(-x)); }
static __host__ __device__ inline double sigmoid_cuda_f64(double x) { return 1.0 / (1.0 + exp(-x)); }
NBI_FLOAT_FORMULAS(f32, float, expf, tanhf, sigmoid_cuda_f32, expm1f, log1pf, NBI_FUN_F32)
NBI_FLOAT_FORMULAS(f64, double, exp, tanh, sigmoid_cuda_f64, expm1, log1p, NBI_FUN_F64)

namespace {

__device__ inline void locate(const nbi_iter &it, int64_t i, char **ptr)
{
    for (int k = 0; k < it.noperands; k++) ptr[k] = it.base[k];
    for (int d = it.ndim - 1; d >= 0; d--) {
        int64_t c = i % it.shape[d];
        i /= it.shape[d];
        for (int k = 0; k < it.noperands; k++) ptr[k] += c * it.strides[d][k];
    }
}

/* An element op: reads operands 1.. at ptr, writes operand 0. */
template <typename Op> __global__ void strided_kernel(nbi_iter it, nbi_params p, Op op)
{
    int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < it.numel; i += step) {
        char *ptr[NBI_MAX_OPERANDS];
        locate(it, i, ptr);
        op(ptr, &p);
    }
}

template <typename Op> __global__ void contiguous_kernel(nbi_iter it, nbi_params p, Op op)
{
    int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < it.numel; i += step) {
        char *ptr[NBI_MAX_OPERANDS];
        for (int k = 0; k < it.noperands; k++) ptr[k] = it.base[k] + i * it.strides[0][k];
        op(ptr, &p);
    }
}

/* One dim whose every operand steps by its element size (or 0: a
 * broadcast scalar): no division per element. */
bool is_linear(const nbi_iter &it) { return it.ndim == 1; }

template <typename Op> void launch(const nbi_iter *it, const nbi_params &p, Op op)
{
    if (it->numel == 0 || nbi_cuda_use(it->device) != 0) return;
    cudaStream_t stream = nbi_cuda_stream(it->device);
    if (is_linear(*it))
        contiguous_kernel<<<nbi_cuda_blocks(it->numel), nbi_cuda_threads, 0, stream>>>(*it, p, op);
    else
        strided_kernel<<<nbi_cuda_blocks(it->numel), nbi_cuda_threads, 0, stream>>>(*it, p, op);
    nbi_cuda_note_launch(it->device);
}

#define UNARY_FUNCTOR(name, sfx, TIN, TOUT)                                                    \
    struct name##_unary_##sfx {                                                                \
        __device__ void operator()(char **ptr, const nbi_params *p) const                      \
        {                                                                                      \
            *(TOUT *)ptr[0] = name##_##sfx(*(const TIN *)ptr[1], p);                           \
        }                                                                                      \
    };
#define BINARY_FUNCTOR(name, sfx, T, TOUT)                                                     \
    struct name##_binary_##sfx {                                                               \
        __device__ void operator()(char **ptr, const nbi_params *p) const                      \
        {                                                                                      \
            *(TOUT *)ptr[0] = name##_##sfx(*(const T *)ptr[1], *(const T *)ptr[2], p);         \
        }                                                                                      \
    };
#define SAME_UNARY(name, sfx, T)  UNARY_FUNCTOR(name, sfx, T, T)
#define BOOL_UNARY(name, sfx, T)  UNARY_FUNCTOR(name, sfx, T, uint8_t)
#define SAME_BINARY(name, sfx, T) BINARY_FUNCTOR(name, sfx, T, T)
#define BOOL_BINARY(name, sfx, T) BINARY_FUNCTOR(name, sfx, T, uint8_t)

#define NBI_UNARY(name, dtypes, result, ...) NBI_LOOPS_##dtypes##_##result(SAME_UNARY, BOOL_UNARY, name)
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, ...) NBI_UNARY(name, dtypes, result)
#define NBI_BINARY(name, dtypes, result, ...) NBI_LOOPS_##dtypes##_##result(SAME_BINARY, BOOL_BINARY, name)
#include "../core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY

/* Dispatch: a case per (op, dtype) the row has. */
#define UNARY_CASE(name, sfx, T)                                                               \
    case NBI_DTYPE_OF_##sfx:                                                                   \
        if (run) launch(it, p, name##_unary_##sfx{});                                          \
        return true;
#define BINARY_CASE(name, sfx, T)                                                              \
    case NBI_DTYPE_OF_##sfx:                                                                   \
        if (run) launch(it, p, name##_binary_##sfx{});                                         \
        return true;

/* Runs the op when run is true; says whether the (op, dtype) exists. */
bool unary_dispatch(int op, nb_dtype dtype, const nbi_iter *it, const nbi_params &p, bool run)
{
    switch (op) {
#define NBI_UNARY(name, dtypes, result, ...)                                                   \
    case NBI_UNARY_##name:                                                                     \
        switch (dtype) {                                                                       \
            NBI_LOOPS_##dtypes##_##result(UNARY_CASE, UNARY_CASE, name) default : return false; \
        }
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, ...) NBI_UNARY(name, dtypes, result)
#define NBI_BINARY(name, dtypes, result, ...)
#include "../core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
    default: return false;
    }
}

bool binary_dispatch(int op, nb_dtype dtype, const nbi_iter *it, const nbi_params &p, bool run)
{
    switch (op) {
#define NBI_UNARY(name, dtypes, result, ...)
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, ...)
#define NBI_BINARY(name, dtypes, result, ...)                                                  \
    case NBI_BINARY_##name:                                                                    \
        switch (dtype) {                                                                       \
            NBI_LOOPS_##dtypes##_##result(BINARY_CASE, BINARY_CASE, name) default : return false; \
        }
#include "../core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
    default: return false;
    }
}

template <typename T> struct where_op {
    __device__ void operator()(char **ptr, const nbi_params *) const
    {
        *(T *)ptr[0] = *(const uint8_t *)ptr[1] ? *(const T *)ptr[2] : *(const T *)ptr[3];
    }
};

template <typename T> struct relu_backward_op {
    __device__ void operator()(char **ptr, const nbi_params *) const
    {
        /* "not <= 0" so that a NaN x passes g, as on the CPU. */
        *(T *)ptr[0] = *(const T *)ptr[2] <= 0 ? (T)0 : *(const T *)ptr[1];
    }
};

#define CAST_FUNCTOR(src_sfx, TSRC, dst_sfx, TDST, CONVERT)                                    \
    struct cast_##src_sfx##_to_##dst_sfx {                                                     \
        __device__ void operator()(char **ptr, const nbi_params *) const                       \
        {                                                                                      \
            *(TDST *)ptr[0] = CONVERT(*(const TSRC *)ptr[1]);                                  \
        }                                                                                      \
    };
NBI_FOR_EACH_CAST(CAST_FUNCTOR)

#define CAST_CASE(src_sfx, TSRC, dst_sfx, TDST, CONVERT)                                       \
    if (from == NBI_DTYPE_OF_##src_sfx && to == NBI_DTYPE_OF_##dst_sfx) {                      \
        launch(it, p, cast_##src_sfx##_to_##dst_sfx{});                                        \
        return;                                                                                \
    }

} // namespace

extern "C" bool nbi_cuda_unary_supported(int op, nb_dtype dtype)
{
    return unary_dispatch(op, dtype, nullptr, nbi_params{}, false);
}

extern "C" bool nbi_cuda_binary_supported(int op, nb_dtype dtype)
{
    return binary_dispatch(op, dtype, nullptr, nbi_params{}, false);
}

extern "C" void nbi_cuda_unary(const nbi_iter *it, nbi_unary_op op, nb_dtype dtype, const nbi_op_params *params)
{
    nbi_params p{};
    if (params != nullptr) {
        p.a    = params->a;
        p.b    = params->b;
        p.c    = params->c;
        p.flag = params->flag;
    }
    unary_dispatch(op, dtype, it, p, true);
}

extern "C" int nbi_cuda_binary(const nbi_iter *it, nbi_binary_op op, nb_dtype dtype)
{
    nbi_params p{};
    bool integer_division = (op == NBI_BINARY_floor_divide || op == NBI_BINARY_remainder || op == NBI_BINARY_fmod)
                         && dtype != NB_FLOAT32 && dtype != NB_FLOAT64;
    if (!integer_division) {
        binary_dispatch(op, dtype, it, p, true);
        return NBI_KERNEL_OK;
    }
    if (it->numel == 0 || nbi_cuda_use(it->device) != 0) return NBI_KERNEL_OK;
    nbi_cuda_scratch scratch(it->device);
    int             *flag = (int *)scratch.words;
    cudaStream_t stream = nbi_cuda_stream(it->device);
    int          code   = NBI_KERNEL_OK;
    cudaMemsetAsync(flag, 0, sizeof(int), stream);
    p.error = flag;
    binary_dispatch(op, dtype, it, p, true);
    nbi_cuda_copy_to_host(it->device, &code, flag, sizeof(int));
    return code;
}

extern "C" void nbi_cuda_where(const nbi_iter *it, nb_dtype dtype)
{
    nbi_params p{};
    switch (dtype) {
    case NB_FLOAT32: launch(it, p, where_op<float>{}); break;
    case NB_FLOAT64: launch(it, p, where_op<double>{}); break;
    case NB_INT64: launch(it, p, where_op<int64_t>{}); break;
    case NB_INT32: launch(it, p, where_op<int32_t>{}); break;
    default: launch(it, p, where_op<uint8_t>{}); break; /* uint8 and bool */
    }
}

extern "C" void nbi_cuda_relu_backward(const nbi_iter *it, nb_dtype dtype)
{
    nbi_params p{};
    if (dtype == NB_FLOAT32) launch(it, p, relu_backward_op<float>{});
    if (dtype == NB_FLOAT64) launch(it, p, relu_backward_op<double>{});
}

extern "C" void nbi_cuda_cast(const nbi_iter *it, nb_dtype from, nb_dtype to)
{
    nbi_params p{};
    NBI_FOR_EACH_CAST(CAST_CASE)
}
