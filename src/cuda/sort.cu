/*
 * sort.cu — sort and topk on the GPU (core/sort_args.h), through CUB's
 * segmented radix sort (in the CUDA toolkit): every slice along dim is one
 * segment of (key, position) pairs.
 *
 * Why radix sort gives torch's order: it is stable (ties keep input order,
 * ascending and descending alike) and treats -0.0 and 0.0 as equal. NaN
 * has no order of its own in it, so keys are copied with every NaN made
 * the positive quiet NaN, whose bits sort above +inf (first when
 * descending), all NaNs equal. The values written out are then read back
 * from the input at the sorted positions, so a -0.0 or a NaN's payload
 * comes out as it went in.
 *
 * CUB counts items in int: slices go through in groups of fewer than 2^31
 * elements (and of at most group_elements, to bound the scratch).
 */
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"

#include <cub/device/device_segmented_radix_sort.cuh>
#include <cuda_runtime.h>
#include <limits.h>

static_assert(NBI_CUDA_OUT_OF_MEMORY == (int)cudaErrorMemoryAllocation, "the code backend.c reports as OOM");

namespace {

constexpr int64_t group_elements = (int64_t)1 << 26;

/* Byte offset of slice s (row-major over every dim but dim) for strides. */
__device__ inline int64_t slice_offset(const nbi_sort_args &a, const int64_t *stride, int64_t s)
{
    int64_t off = 0;
    for (int d = a.ndim - 1; d >= 0; d--) {
        if (d == a.dim) continue;
        off += (s % a.shape[d]) * stride[d];
        s /= a.shape[d];
    }
    return off;
}

__device__ inline int64_t dim_stride(const nbi_sort_args &a, const int64_t *stride)
{
    return a.ndim == 0 ? 0 : stride[a.dim];
}

template <typename K> __device__ inline K canonical(K v) { return v; }
template <> __device__ inline float canonical(float v) { return v != v ? __int_as_float(0x7fc00000) : v; }
template <> __device__ inline double canonical(double v)
{
    return v != v ? __longlong_as_double(0x7ff8000000000000LL) : v;
}

/* keys and positions of slices first.. (count * n elements), and the
 * segments' offsets. */
template <typename K>
__global__ void load_kernel(nbi_sort_args a, int64_t first, int64_t count, K *keys, int *positions, int *offsets)
{
    int64_t total = count * a.n;
    NBI_GRID_STRIDE(e, total)
    {
        int64_t s = first + e / a.n, i = e % a.n;
        const char *p = a.input + slice_offset(a, a.input_stride, s) + i * dim_stride(a, a.input_stride);
        keys[e]       = canonical(*(const K *)p);
        positions[e]  = (int)i;
    }
    NBI_GRID_STRIDE(g, count + 1) { offsets[g] = (int)(g * a.n); }
}

/* The first k of each sorted slice: the input's value at each sorted
 * position, and the position. */
template <typename K> __global__ void store_kernel(nbi_sort_args a, int64_t first, int64_t count, const int *sorted)
{
    int64_t total = count * a.k;
    NBI_GRID_STRIDE(e, total)
    {
        int64_t g = e / a.k, j = e % a.k, s = first + g;
        int64_t from = sorted[g * a.n + j];
        const char *src = a.input + slice_offset(a, a.input_stride, s) + from * dim_stride(a, a.input_stride);
        char *dst = a.values + slice_offset(a, a.values_stride, s) + j * dim_stride(a, a.values_stride);
        *(K *)dst = *(const K *)src;
        if (a.indices) {
            char *at = (char *)a.indices + slice_offset(a, a.indices_stride, s) + j * dim_stride(a, a.indices_stride);
            *(int64_t *)at = from;
        }
    }
}

/* Device memory released when the sort is done, whatever happens. */
struct scratch_list {
    int    device;
    void  *ptr[6]  = {};
    size_t size[6] = {};
    int    count   = 0;
    explicit scratch_list(int d) : device(d) {}
    void *take(size_t bytes)
    {
        void *p = nbi_cuda_alloc(device, bytes ? bytes : 1);
        if (p) {
            ptr[count]    = p;
            size[count++] = bytes ? bytes : 1;
        }
        return p;
    }
    ~scratch_list()
    {
        for (int i = 0; i < count; i++)
            nbi_cuda_release(device, ptr[i], size[i]);
    }
};

template <typename K> int sort_typed(const nbi_sort_args *a)
{
    cudaStream_t stream = nbi_cuda_stream(a->device);
    int64_t      slices = 1;
    for (int d = 0; d < a->ndim; d++)
        if (d != a->dim) slices *= a->shape[d];
    if (slices == 0) return 0;
    if (a->n > INT_MAX - 1) return NBI_CUDA_TOO_LARGE;
    int64_t group = group_elements / a->n;
    group         = group < 1 ? 1 : (group < slices ? group : slices);
    size_t elements = (size_t)(group * a->n);

    scratch_list scratch(a->device);
    K           *keys_in    = (K *)scratch.take(elements * sizeof(K));
    K           *keys_out   = (K *)scratch.take(elements * sizeof(K));
    int         *pos_in     = (int *)scratch.take(elements * sizeof(int));
    int         *pos_out    = (int *)scratch.take(elements * sizeof(int));
    int         *offsets    = (int *)scratch.take((size_t)(group + 1) * sizeof(int));
    size_t       temp_bytes = 0;
    if (!keys_in || !keys_out || !pos_in || !pos_out || !offsets) return NBI_CUDA_OUT_OF_MEMORY;
    cudaError_t e = cub::DeviceSegmentedRadixSort::SortPairs(nullptr, temp_bytes, keys_in, keys_out, pos_in, pos_out,
                                                             (int)elements, (int)group, offsets, offsets + 1, 0,
                                                             (int)sizeof(K) * 8, stream);
    if (e != cudaSuccess) return (int)e;
    void *temp = scratch.take(temp_bytes);
    if (!temp) return NBI_CUDA_OUT_OF_MEMORY;

    for (int64_t first = 0; first < slices; first += group) {
        int64_t count = slices - first < group ? slices - first : group;
        int     items = (int)(count * a->n);
        load_kernel<K><<<nbi_cuda_blocks(items), nbi_cuda_threads, 0, stream>>>(*a, first, count, keys_in, pos_in,
                                                                                 offsets);
        if (a->descending)
            e = cub::DeviceSegmentedRadixSort::SortPairsDescending(temp, temp_bytes, keys_in, keys_out, pos_in,
                                                                   pos_out, items, (int)count, offsets, offsets + 1, 0,
                                                                   (int)sizeof(K) * 8, stream);
        else
            e = cub::DeviceSegmentedRadixSort::SortPairs(temp, temp_bytes, keys_in, keys_out, pos_in, pos_out, items,
                                                         (int)count, offsets, offsets + 1, 0, (int)sizeof(K) * 8,
                                                         stream);
        if (e != cudaSuccess) return (int)e;
        store_kernel<K><<<nbi_cuda_blocks(count * a->k), nbi_cuda_threads, 0, stream>>>(*a, first, count, pos_out);
        e = cudaGetLastError();
        if (e != cudaSuccess) return (int)e;
    }
    /* The scratch goes back to the cache now; the stream orders its reuse
     * after these kernels. */
    return 0;
}

} // namespace

extern "C" int nbi_cuda_sort(const nbi_sort_args *args)
{
    int e = nbi_cuda_use(args->device);
    if (e != 0) return e;
    return nbi_cuda_visit_dtype(args->dtype, [&](auto zero) { return sort_typed<decltype(zero)>(args); });
}
