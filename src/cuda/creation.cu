/*
 * creation.cu — fills, ranges (arange, linspace) and random fills on the
 * GPU (core/creation_args.h), element for element what cpu/creation_kernels.c
 * computes: each value depends on its index only, random ones on the Philox
 * key (seed, offset, index) of core/random.h, whose inline functions both
 * devices compile. Uniform and integer random values are therefore
 * bit-identical to the CPU's; normals go through log/sin/cos, whose last
 * bit may differ.
 */
#include "../core/random.h"
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"

#include <cuda_runtime.h>

namespace {

__device__ inline int64_t size_of(nb_dtype dtype)
{
    return dtype == NB_FLOAT64 || dtype == NB_INT64 ? 8 : (dtype == NB_FLOAT32 || dtype == NB_INT32 ? 4 : 1);
}

__global__ void fill_kernel(nbi_iter it, nbi_element value, int itemsize)
{
    NBI_GRID_STRIDE(i, it.numel)
    {
        char   *p    = it.base[0];
        int64_t rest = i;
        for (int d = it.ndim - 1; d >= 0; d--) {
            p += (rest % it.shape[d]) * it.strides[d][0];
            rest /= it.shape[d];
        }
        for (int b = 0; b < itemsize; b++) p[b] = (char)value.bytes[b];
    }
}

__global__ void arange_kernel(nbi_range_args a)
{
    NBI_GRID_STRIDE(i, a.count)
    {
        char *p = (char *)a.out + i * size_of(a.dtype);
        if (a.dtype == NB_FLOAT32)
            *(float *)p = (float)(a.start + a.step * (double)i);
        else if (a.dtype == NB_FLOAT64)
            *(double *)p = a.start + a.step * (double)i;
        else
            nbi_store_i64(p, a.dtype, (int64_t)((uint64_t)a.start_int + (uint64_t)a.step_int * (uint64_t)i));
    }
}

__global__ void linspace_kernel(nbi_range_args a)
{
    NBI_GRID_STRIDE(i, a.count)
    {
        char *p = (char *)a.out + i * size_of(a.dtype);
        if (a.dtype == NB_FLOAT32) {
            float start = (float)a.start, stop = (float)a.end, step = (float)a.step;
            *(float *)p = i < a.halfway ? start + step * (float)i : stop - step * (float)(a.count - 1 - i);
        } else {
            double v = i < a.halfway ? a.start + a.step * (double)i : a.end - a.step * (double)(a.count - 1 - i);
            nbi_store_f64(p, a.dtype, v);
        }
    }
}

__device__ inline int64_t wrap_to_i64(uint64_t u)
{
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
}

__global__ void random_kernel(nbi_random_kind kind, nbi_random_args a)
{
    NBI_GRID_STRIDE(i, a.count)
    {
        char *p = (char *)a.out + i * size_of(a.dtype);
        if (kind == NBI_RANDOM_UNIFORM) {
            if (a.dtype == NB_FLOAT32)
                *(float *)p = nbi_philox_uniform_f32(a.seed, a.offset, (uint64_t)i);
            else
                *(double *)p = nbi_philox_uniform_f64(a.seed, a.offset, (uint64_t)i);
        } else if (kind == NBI_RANDOM_NORMAL) {
            double v = a.mean + a.std * nbi_philox_normal(a.seed, a.offset, (uint64_t)i);
            if (a.dtype == NB_FLOAT32)
                *(float *)p = (float)v;
            else
                *(double *)p = v;
        } else {
            uint64_t r = nbi_philox_u64(a.seed, a.offset, (uint64_t)i) % a.range;
            nbi_store_i64(p, a.dtype, wrap_to_i64((uint64_t)a.low + r));
        }
    }
}

} // namespace

extern "C" void nbi_cuda_fill(const nbi_iter *it, nb_dtype dtype, const nbi_element *value)
{
    if (it->numel == 0 || nbi_cuda_use(it->device) != 0) return;
    int itemsize = (int)nb_dtype_size(dtype);
    fill_kernel<<<nbi_cuda_blocks(it->numel), nbi_cuda_threads, 0, nbi_cuda_stream(it->device)>>>(*it, *value, itemsize);
    nbi_cuda_note_launch(it->device);
}

extern "C" void nbi_cuda_range(nbi_range_kind kind, const nbi_range_args *args)
{
    if (args->count == 0 || nbi_cuda_use(args->device) != 0) return;
    cudaStream_t stream = nbi_cuda_stream(args->device);
    if (kind == NBI_RANGE_LINSPACE)
        linspace_kernel<<<nbi_cuda_blocks(args->count), nbi_cuda_threads, 0, stream>>>(*args);
    else
        arange_kernel<<<nbi_cuda_blocks(args->count), nbi_cuda_threads, 0, stream>>>(*args);
    nbi_cuda_note_launch(args->device);
}

extern "C" void nbi_cuda_random(nbi_random_kind kind, const nbi_random_args *args)
{
    if (args->count == 0 || nbi_cuda_use(args->device) != 0) return;
    random_kernel<<<nbi_cuda_blocks(args->count), nbi_cuda_threads, 0, nbi_cuda_stream(args->device)>>>(kind, *args);
    nbi_cuda_note_launch(args->device);
}
