/*
 * index.cu — gathering and scattering on the GPU (core/index_args.h):
 * gather / index_select, scatter and scatter_add, the index range check,
 * the class range of one_hot, one_hot, and masked_fill. (masked_select
 * and nonzero, whose output sizes need a prefix sum, are select.cu.)
 *
 * Determinism: scatter runs one thread per row, the scattered dim walked
 * in order inside it (the walk puts that dim innermost), so repeated
 * indices resolve as on the CPU (last write wins) and scatter_add adds in
 * index order: no atomics, the same result on every run. The range check
 * and min/max combine with atomic min/max, whose result does not depend
 * on order.
 */
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"

#include <cuda_runtime.h>

namespace {

/* Operand k's address at row-major position i of the walk's first `dims`
 * dims (the rest at 0). */
__device__ inline char *walk_at(const nbi_walk &w, int k, int64_t i, int dims)
{
    char *p = w.base[k];
    for (int d = dims - 1; d >= 0; d--) {
        p += (i % w.shape[d]) * w.stride[k][d];
        i /= w.shape[d];
    }
    return p;
}

__global__ void check_kernel(nbi_walk w, int64_t size, unsigned long long *first_bad)
{
    NBI_GRID_STRIDE(i, w.numel)
    {
        int64_t v = *(const int64_t *)walk_at(w, 0, i, w.ndim);
        if (v < 0 || v >= size) atomicMin(first_bad, (unsigned long long)i);
    }
}

__global__ void min_max_kernel(nbi_walk w, long long *range)
{
    NBI_GRID_STRIDE(i, w.numel)
    {
        long long v = *(const int64_t *)walk_at(w, 0, i, w.ndim);
        atomicMin(&range[0], v);
        atomicMax(&range[1], v);
    }
}

template <int Size> struct bytes {
    unsigned char b[Size];
};

template <typename T> __global__ void gather_kernel(nbi_gather_args g)
{
    NBI_GRID_STRIDE(i, g.walk.numel)
    {
        int64_t index                  = *(const int64_t *)walk_at(g.walk, 2, i, g.walk.ndim);
        *(T *)walk_at(g.walk, 0, i, g.walk.ndim) = *(const T *)(walk_at(g.walk, 1, i, g.walk.ndim) + index * g.dim_step);
    }
}

/* One thread per row of the walk (all dims but the last, the scattered one). */
template <typename T, bool Add> __global__ void scatter_kernel(nbi_gather_args g, int64_t rows)
{
    int     last = g.walk.ndim - 1;
    int64_t n    = g.walk.shape[last];
    NBI_GRID_STRIDE(r, rows)
    {
        char       *target = walk_at(g.walk, 0, r, last);
        const char *src    = walk_at(g.walk, 1, r, last);
        const char *index  = walk_at(g.walk, 2, r, last);
        for (int64_t j = 0; j < n; j++) {
            int64_t at = *(const int64_t *)(index + j * g.walk.stride[2][last]);
            T       v  = *(const T *)(src + j * g.walk.stride[1][last]);
            T      *t  = (T *)(target + at * g.dim_step);
            if (Add)
                *t = *t + v;
            else
                *t = v;
        }
    }
}

__global__ void one_hot_kernel(nbi_walk w, int64_t *out, int64_t classes)
{
    NBI_GRID_STRIDE(i, w.numel * classes) out[i] = 0;
}

__global__ void one_hot_set(nbi_walk w, int64_t *out, int64_t classes)
{
    NBI_GRID_STRIDE(i, w.numel) out[i * classes + *(const int64_t *)walk_at(w, 0, i, w.ndim)] = 1;
}

/* (out, t, mask): out = mask ? value : t, values as raw bytes. */
template <int Size> __global__ void masked_fill_kernel(nbi_iter it, bytes<Size> value)
{
    NBI_GRID_STRIDE(i, it.numel)
    {
        char   *p[3] = {it.base[0], it.base[1], it.base[2]};
        int64_t rest = i;
        for (int d = it.ndim - 1; d >= 0; d--) {
            int64_t c = rest % it.shape[d];
            rest /= it.shape[d];
            for (int k = 0; k < 3; k++) p[k] += c * it.strides[d][k];
        }
        *(bytes<Size> *)p[0] = *(const uint8_t *)p[2] ? value : *(const bytes<Size> *)p[1];
    }
}

/* A scalar result of a kernel, read back (the host waits for the kernel). */
template <typename T> bool read_back(int device, const T *src, T *dst, size_t count)
{
    return nbi_cuda_copy_to_host(device, dst, src, count * sizeof(T)) == 0;
}

} // namespace

extern "C" bool nbi_cuda_index_supported(int op, nb_dtype dtype)
{
    switch (op) {
    case NBI_INDEX_GATHER:
    case NBI_INDEX_SCATTER:
    case NBI_INDEX_MASKED_FILL: return true;
    case NBI_INDEX_MASKED_SELECT:
    case NBI_INDEX_NONZERO: return nbi_cuda_has_dtype(dtype); /* select.cu */
    case NBI_INDEX_SCATTER_ADD: return dtype != NB_BOOL;
    case NBI_INDEX_ONE_HOT: return dtype == NB_INT64;
    default: return false;
    }
}

extern "C" int64_t nbi_cuda_index_check(const nbi_walk *index, int64_t size, int64_t *bad_value)
{
    if (index->numel == 0 || nbi_cuda_use(index->device) != 0) return -1;
    nbi_cuda_scratch    scratch(index->device);
    unsigned long long *first = (unsigned long long *)scratch.words;
    cudaStream_t stream = nbi_cuda_stream(index->device);
    cudaMemsetAsync(first, 0xff, sizeof *first, stream); /* ULLONG_MAX: none bad */
    check_kernel<<<nbi_cuda_blocks(index->numel), nbi_cuda_threads, 0, stream>>>(*index, size, first);
    nbi_cuda_note_launch(index->device);
    unsigned long long bad = ~0ull;
    read_back(index->device, first, &bad, 1);
    if (bad == ~0ull) return -1;
    /* The first bad value, from its position in the walk. */
    int64_t pos = (int64_t)bad, offset = 0, rest = pos;
    for (int d = index->ndim - 1; d >= 0; d--) {
        offset += (rest % index->shape[d]) * index->stride[0][d];
        rest /= index->shape[d];
    }
    read_back(index->device, (const int64_t *)(index->base[0] + offset), bad_value, 1);
    return pos;
}

extern "C" void nbi_cuda_index_min_max(const nbi_walk *index, int64_t *min, int64_t *max)
{
    *min = INT64_MAX;
    *max = INT64_MIN;
    if (index->numel == 0 || nbi_cuda_use(index->device) != 0) return;
    nbi_cuda_scratch scratch(index->device);
    long long       *range = (long long *)scratch.words;
    long long start[2] = {INT64_MAX, INT64_MIN};
    nbi_cuda_copy_to_device(index->device, range, start, sizeof start);
    min_max_kernel<<<nbi_cuda_blocks(index->numel), nbi_cuda_threads, 0, nbi_cuda_stream(index->device)>>>(*index, range);
    nbi_cuda_note_launch(index->device);
    long long result[2];
    if (read_back(index->device, range, result, 2)) {
        *min = result[0];
        *max = result[1];
    }
}

extern "C" void nbi_cuda_gather(const nbi_gather_args *args)
{
    if (args->walk.numel == 0 || nbi_cuda_use(args->walk.device) != 0) return;
    cudaStream_t stream = nbi_cuda_stream(args->walk.device);
    unsigned     blocks = nbi_cuda_blocks(args->walk.numel);
    switch (nb_dtype_size(args->dtype)) {
    case 8: gather_kernel<uint64_t><<<blocks, nbi_cuda_threads, 0, stream>>>(*args); break;
    case 4: gather_kernel<uint32_t><<<blocks, nbi_cuda_threads, 0, stream>>>(*args); break;
    default: gather_kernel<uint8_t><<<blocks, nbi_cuda_threads, 0, stream>>>(*args); break;
    }
    nbi_cuda_note_launch(args->walk.device);
}

template <bool Add> void scatter_typed(const nbi_gather_args *args, unsigned blocks, int64_t rows, cudaStream_t s)
{
    switch (args->dtype) {
    case NB_FLOAT32: scatter_kernel<float, Add><<<blocks, nbi_cuda_threads, 0, s>>>(*args, rows); break;
    case NB_FLOAT64: scatter_kernel<double, Add><<<blocks, nbi_cuda_threads, 0, s>>>(*args, rows); break;
    case NB_INT64: scatter_kernel<int64_t, Add><<<blocks, nbi_cuda_threads, 0, s>>>(*args, rows); break;
    case NB_INT32: scatter_kernel<int32_t, Add><<<blocks, nbi_cuda_threads, 0, s>>>(*args, rows); break;
    default: scatter_kernel<uint8_t, Add><<<blocks, nbi_cuda_threads, 0, s>>>(*args, rows); break;
    }
}

extern "C" void nbi_cuda_scatter(const nbi_gather_args *args, bool accumulate)
{
    if (args->walk.numel == 0 || nbi_cuda_use(args->walk.device) != 0) return;
    int64_t rows = args->walk.numel / args->walk.shape[args->walk.ndim - 1];
    /* NOTE: uint8 adds wrap in the type, as the CPU's. */
    cudaStream_t stream = nbi_cuda_stream(args->walk.device);
    if (accumulate)
        scatter_typed<true>(args, nbi_cuda_blocks(rows), rows, stream);
    else
        scatter_typed<false>(args, nbi_cuda_blocks(rows), rows, stream);
    nbi_cuda_note_launch(args->walk.device);
}

extern "C" void nbi_cuda_masked_fill(const nbi_iter *it, nb_dtype dtype, const nbi_element *value)
{
    if (it->numel == 0 || nbi_cuda_use(it->device) != 0) return;
    cudaStream_t stream = nbi_cuda_stream(it->device);
    unsigned     blocks = nbi_cuda_blocks(it->numel);
    switch (nb_dtype_size(dtype)) {
    case 8: {
        bytes<8> v;
        memcpy(v.b, value->bytes, 8);
        masked_fill_kernel<8><<<blocks, nbi_cuda_threads, 0, stream>>>(*it, v);
        break;
    }
    case 4: {
        bytes<4> v;
        memcpy(v.b, value->bytes, 4);
        masked_fill_kernel<4><<<blocks, nbi_cuda_threads, 0, stream>>>(*it, v);
        break;
    }
    default: {
        bytes<1> v;
        v.b[0] = value->bytes[0];
        masked_fill_kernel<1><<<blocks, nbi_cuda_threads, 0, stream>>>(*it, v);
        break;
    }
    }
    nbi_cuda_note_launch(it->device);
}

extern "C" void nbi_cuda_one_hot(const nbi_walk *classes, int64_t *out, int64_t num_classes)
{
    if (nbi_cuda_use(classes->device) != 0) return;
    cudaStream_t stream = nbi_cuda_stream(classes->device);
    int64_t      total  = classes->numel * num_classes;
    if (total == 0) return;
    one_hot_kernel<<<nbi_cuda_blocks(total), nbi_cuda_threads, 0, stream>>>(*classes, out, num_classes);
    one_hot_set<<<nbi_cuda_blocks(classes->numel), nbi_cuda_threads, 0, stream>>>(*classes, out, num_classes);
    nbi_cuda_note_launch(classes->device);
}
