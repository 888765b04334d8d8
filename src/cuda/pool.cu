/*
 * pool.cu — 2-D pooling on the GPU (core/pool_args.h), float32 and
 * float64, over planes (every leading index one H x W plane). Each result
 * is computed in the CPU's order (cpu/pool_kernels.c), so all four entries
 * give the CPU's bits:
 *
 *   max_pool2d   one thread per output scans its window row by row with
 *                torch's rule (a larger value or a NaN takes over).
 *   window_mean  one thread per output sums its window row by row.
 *   adjoint      one thread per pixel adds y / divisor of the windows that
 *                cover it, in (p, q) order: the CPU's scatter, gathered.
 *   max_unpool   x = 0 with g added at the indices. The entry is given no
 *                windows (only plane sizes), so a pixel cannot know which
 *                outputs point at it: the (pixel, output) pairs are sorted
 *                by pixel with CUB's stable radix sort, and each pixel adds
 *                its run in output order, as the CPU's loop does. No
 *                atomics; without room for the sort (or for tiny outputs) a
 *                pixel scans its plane's indices instead, in the same order.
 */
#include "cuda_runtime_api.h"
#include "cuda_stream.h"
#include "nn_kernels.h"

#include <cub/device/device_radix_sort.cuh>
#include <cuda_runtime.h>
#include <math.h>

namespace {

/* ------------------------------------------------------------------------ */
/* Max pooling                                                               */
/* ------------------------------------------------------------------------ */

/* First valid tap and the end of a window starting at start (may be < 0):
 * cpu/pool_kernels.c's window_range, its loop solved. */
__device__ inline void window_range(int64_t start, int64_t kernel, int64_t dilation, int64_t size, int64_t *first,
                                    int64_t *end)
{
    int64_t stop = start + (kernel - 1) * dilation + 1;
    if (stop > size) stop = size;
    if (start < 0) start += (-start + dilation - 1) / dilation * dilation;
    *first = start;
    *end   = stop;
}

/* y, indices (planes, P, Q) from x (planes, H, W). */
template <typename T> __global__ void max_pool_kernel(nbi_max_pool_shape s, const T *x, T *y, int64_t *indices)
{
    const int64_t W = s.width, PQ = s.out_h * s.out_w;
    NBI_GRID_STRIDE(e, s.planes * PQ)
    {
        int64_t plane = e / PQ, p = e % PQ / s.out_w, q = e % s.out_w;
        int64_t h0, h1, w0, w1;
        window_range(p * s.stride_h - s.pad_h, s.kernel_h, s.dilation_h, s.height, &h0, &h1);
        window_range(q * s.stride_w - s.pad_w, s.kernel_w, s.dilation_w, W, &w0, &w1);
        const T *image = x + plane * s.height * W;
        T        best  = (T)-INFINITY;
        int64_t  at    = h0 * W + w0;
        for (int64_t h = h0; h < h1; h += s.dilation_h)
            for (int64_t w = w0; w < w1; w += s.dilation_w) {
                T v = image[h * W + w];
                if (v > best || v != v) { /* NOTE: the CPU's rule: the first maximum, the last NaN */
                    best = v;
                    at   = h * W + w;
                }
            }
        y[e] = best;
        if (indices) indices[e] = at;
    }
}

/* ------------------------------------------------------------------------ */
/* max_unpool                                                                */
/* ------------------------------------------------------------------------ */

/* Outputs per sorted piece of planes: bounds the sort's scratch (24 bytes
 * each, and CUB's temporary: ~30 MiB) whatever the batch. */
constexpr int64_t sort_piece = int64_t(1) << 20;
/* Outputs per plane up to which scanning the plane beats sorting. */
constexpr int64_t scan_below = 16;

/* Pixel e of x (planes, H W): the sum of g over the outputs of its plane
 * whose index is that pixel, in output order, from 0. */
template <typename T>
__global__ void unpool_scan(const T *g, const int64_t *indices, int64_t planes, int64_t HW, int64_t PQ, T *x)
{
    NBI_GRID_STRIDE(e, planes * HW)
    {
        int64_t        plane = e / HW, pixel = e % HW;
        const T       *gp    = g + plane * PQ;
        const int64_t *ip    = indices + plane * PQ;
        T              sum   = 0;
        for (int64_t i = 0; i < PQ; i++)
            if (ip[i] == pixel) sum += gp[i];
        x[e] = sum;
    }
}

/* The sort's input for count outputs: key (plane in the piece) HW + index,
 * value the output's position in the piece. An index outside its plane
 * (max pooling's window that holds no pixel gives one) gets the key past
 * every pixel, dropped as the scan drops it. */
__global__ void unpool_keys(const int64_t *indices, int64_t count, int64_t HW, int64_t PQ, uint64_t past,
                            uint64_t *keys, uint32_t *positions)
{
    NBI_GRID_STRIDE(i, count)
    {
        int64_t index = indices[i];
        keys[i]       = index >= 0 && index < HW ? (uint64_t)((i / PQ) * HW + index) : past;
        positions[i]  = (uint32_t)i;
    }
}

/* Pixel k of the piece (pixels HW each of its planes): the sum of g over
 * its run of sorted keys, whose positions ascend (a stable sort of
 * ascending positions), from 0. */
template <typename T>
__global__ void unpool_runs(const T *g, const uint64_t *keys, const uint32_t *positions, int64_t count, int64_t pixels,
                            T *x)
{
    NBI_GRID_STRIDE(k, pixels)
    {
        int64_t lo = 0, hi = count; /* the first key >= k */
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (keys[mid] < (uint64_t)k)
                lo = mid + 1;
            else
                hi = mid;
        }
        T sum = 0;
        for (int64_t j = lo; j < count && keys[j] == (uint64_t)k; j++) sum += g[positions[j]];
        x[k] = sum;
    }
}

int bits_for(uint64_t n)
{
    int bits = 1;
    while (bits < 64 && (n >> bits) != 0) bits++;
    return bits;
}

/* The sorting path over pieces of whole planes; false when there was no
 * room for its scratch (nothing written then). */
template <typename T>
bool unpool_sorted(int device, cudaStream_t stream, const T *g, const int64_t *indices, int64_t planes, int64_t HW,
                   int64_t PQ, T *x)
{
    int64_t per_piece = PQ < sort_piece ? sort_piece / PQ : 1; /* planes */
    if (per_piece > planes) per_piece = planes;
    int64_t most = per_piece * PQ;
    int     end_bit = bits_for((uint64_t)(per_piece * HW)); /* keys up to per_piece HW (past every pixel) */
    size_t  temp_bytes = 0;
    if (cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, (const uint64_t *)nullptr, (uint64_t *)nullptr,
                                        (const uint32_t *)nullptr, (uint32_t *)nullptr, (int)most, 0, end_bit,
                                        stream) != cudaSuccess)
        return false;
    size_t keys_bytes = (size_t)most * sizeof(uint64_t), positions_bytes = (size_t)most * sizeof(uint32_t);
    size_t temp_at    = (2 * keys_bytes + 2 * positions_bytes + 255) / 256 * 256;
    size_t bytes      = temp_at + temp_bytes;
    char  *scratch    = (char *)nbi_cuda_alloc(device, bytes);
    if (scratch == nullptr) return false;
    uint64_t *keys_in = (uint64_t *)scratch, *keys_out = keys_in + most;
    uint32_t *positions_in = (uint32_t *)(keys_out + most), *positions_out = positions_in + most;
    for (int64_t first = 0; first < planes; first += per_piece) {
        int64_t count = (planes - first < per_piece ? planes - first : per_piece) * PQ;
        int64_t pixels = count / PQ * HW;
        unpool_keys<<<nbi_cuda_blocks(count), nbi_cuda_threads, 0, stream>>>(indices + first * PQ, count, HW, PQ,
                                                                               (uint64_t)(per_piece * HW), keys_in,
                                                                               positions_in);
        size_t temp = temp_bytes; /* NOTE: sized for the largest piece; a shorter one needs no more */
        if (cub::DeviceRadixSort::SortPairs(scratch + temp_at, temp, keys_in, keys_out, positions_in, positions_out,
                                            (int)count, 0, end_bit, stream) == cudaSuccess)
            unpool_runs<T><<<nbi_cuda_blocks(pixels), nbi_cuda_threads, 0, stream>>>(g + first * PQ, keys_out,
                                                                                      positions_out, count, pixels,
                                                                                      x + first * HW);
        else /* the same sums, slower */
            unpool_scan<T><<<nbi_cuda_blocks(pixels), nbi_cuda_threads, 0, stream>>>(
                g + first * PQ, indices + first * PQ, count / PQ, HW, PQ, x + first * HW);
    }
    nbi_cuda_release(device, scratch, bytes);
    return true;
}

template <typename T> void max_unpool(const nbi_max_pool_shape &s, const T *g, const int64_t *indices, T *x)
{
    int64_t HW = s.height * s.width, PQ = s.out_h * s.out_w;
    if (s.planes * HW == 0 || nbi_cuda_use(s.device) != 0) return;
    cudaStream_t stream = nbi_cuda_stream(s.device);
    /* The sort's positions are 32-bit and its count an int. */
    bool sortable = PQ > scan_below && PQ <= INT32_MAX && (PQ < sort_piece ? sort_piece / PQ : 1) * HW < (int64_t(1) << 62);
    if (PQ == 0 || !sortable || !unpool_sorted(s.device, stream, g, indices, s.planes, HW, PQ, x))
        unpool_scan<T><<<nbi_cuda_blocks(s.planes * HW), nbi_cuda_threads, 0, stream>>>(g, indices, s.planes, HW, PQ,
                                                                                        x);
    nbi_cuda_note_launch(s.device); /* a void entry: reported at the next read */
}

/* ------------------------------------------------------------------------ */
/* Window means                                                              */
/* ------------------------------------------------------------------------ */

/* y (planes, P, Q) = the window means of x (planes, H, W), 0 for an empty
 * window; the window's sum row by row, as the CPU's. */
template <typename T> __global__ void window_mean_kernel(nbi_mean_pool_shape s, const T *x, T *y)
{
    const nbi_window_spec &spec = s.spec;
    const int64_t          W = spec.width, Q = spec.out_w, PQ = spec.out_h * Q;
    NBI_GRID_STRIDE(e, s.planes * PQ)
    {
        int64_t plane = e / PQ, p = e % PQ / Q, q = e % Q;
        int64_t row_start, row_end, row_div, col_start, col_end, col_div;
        nbi_window_bounds(&spec, 0, p, &row_start, &row_end, &row_div);
        nbi_window_bounds(&spec, 1, q, &col_start, &col_end, &col_div);
        const T *image = x + plane * spec.height * W;
        T        sum   = 0;
        for (int64_t h = row_start; h < row_end; h++)
            for (int64_t w = col_start; w < col_end; w++) sum += image[h * W + w];
        int64_t divisor = row_div * col_div;
        bool    empty   = row_start >= row_end || col_start >= col_end;
        y[e]            = empty ? (T)0 : sum / (T)divisor;
    }
}

/* Windows [*lo, *hi) along dim d include every window covering position i
 * (perhaps a few more: the caller checks each with nbi_window_bounds). */
__device__ inline void covering(const nbi_window_spec &spec, int d, int64_t i, int64_t *lo, int64_t *hi)
{
    int64_t size = d == 0 ? spec.height : spec.width, out = d == 0 ? spec.out_h : spec.out_w;
    if (spec.adaptive) { /* start(o) <= i < end(o) for o in [i out / size, ceil((i + 1) out / size)) */
        *lo = i * out / size - 1;
        *hi = ((i + 1) * out + size - 1) / size + 1;
    } else { /* o stride - padding <= i < o stride - padding + kernel */
        int64_t past = i + spec.padding[d] - spec.kernel[d];
        *lo          = past < 0 ? 0 : past / spec.stride[d] + 1;
        *hi          = (i + spec.padding[d]) / spec.stride[d] + 1;
    }
    if (*lo < 0) *lo = 0;
    if (*hi > out) *hi = out;
}

/* x (planes, H, W) = the sum over the windows covering each pixel of
 * y / divisor, windows in (p, q) order: the order in which the CPU's
 * adjoint adds them, onto the same 0. */
template <typename T> __global__ void window_adjoint_kernel(nbi_mean_pool_shape s, const T *y, T *x)
{
    const nbi_window_spec &spec = s.spec;
    const int64_t          W = spec.width, HW = spec.height * W, Q = spec.out_w, PQ = spec.out_h * Q;
    NBI_GRID_STRIDE(e, s.planes * HW)
    {
        int64_t plane = e / HW, h = e % HW / W, w = e % W;
        int64_t p_lo, p_hi, q_lo, q_hi;
        covering(spec, 0, h, &p_lo, &p_hi);
        covering(spec, 1, w, &q_lo, &q_hi);
        const T *grad = y + plane * PQ;
        T        sum  = 0;
        for (int64_t p = p_lo; p < p_hi; p++) {
            int64_t row_start, row_end, row_div;
            nbi_window_bounds(&spec, 0, p, &row_start, &row_end, &row_div);
            if (h < row_start || h >= row_end) continue;
            for (int64_t q = q_lo; q < q_hi; q++) {
                int64_t col_start, col_end, col_div;
                nbi_window_bounds(&spec, 1, q, &col_start, &col_end, &col_div);
                int64_t divisor = row_div * col_div;
                if (w < col_start || w >= col_end || divisor == 0) continue;
                sum += grad[p * Q + q] / (T)divisor;
            }
        }
        x[e] = sum;
    }
}

} // namespace

extern "C" int nbi_cuda_max_pool2d(nb_dtype dtype, const nbi_max_pool_shape *shape, const void *x, void *y,
                                   int64_t *indices)
{
    int64_t total = shape->planes * shape->out_h * shape->out_w;
    if (total == 0) return 0;
    int e = nbi_cuda_use(shape->device);
    if (e != 0) return e;
    cudaStream_t stream = nbi_cuda_stream(shape->device);
    if (dtype == NB_FLOAT32)
        max_pool_kernel<float><<<nbi_cuda_blocks(total), nbi_cuda_threads, 0, stream>>>(*shape, (const float *)x,
                                                                                         (float *)y, indices);
    else
        max_pool_kernel<double><<<nbi_cuda_blocks(total), nbi_cuda_threads, 0, stream>>>(*shape, (const double *)x,
                                                                                          (double *)y, indices);
    return (int)cudaGetLastError();
}

extern "C" void nbi_cuda_max_unpool(nb_dtype dtype, const nbi_max_pool_shape *shape, const void *g,
                                    const int64_t *indices, void *x)
{
    if (dtype == NB_FLOAT32)
        max_unpool(*shape, (const float *)g, indices, (float *)x);
    else
        max_unpool(*shape, (const double *)g, indices, (double *)x);
}

/* in to out by the mean (adjoint false) or its adjoint. */
static int run_windows(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *in, void *out, bool adjoint)
{
    const nbi_window_spec &spec  = shape->spec;
    int64_t                total = shape->planes * (adjoint ? spec.height * spec.width : spec.out_h * spec.out_w);
    if (total == 0) return 0;
    int e = nbi_cuda_use(shape->device);
    if (e != 0) return e;
    cudaStream_t stream = nbi_cuda_stream(shape->device);
    unsigned     blocks = nbi_cuda_blocks(total);
    if (dtype == NB_FLOAT32 && adjoint)
        window_adjoint_kernel<float><<<blocks, nbi_cuda_threads, 0, stream>>>(*shape, (const float *)in, (float *)out);
    else if (dtype == NB_FLOAT32)
        window_mean_kernel<float><<<blocks, nbi_cuda_threads, 0, stream>>>(*shape, (const float *)in, (float *)out);
    else if (adjoint)
        window_adjoint_kernel<double><<<blocks, nbi_cuda_threads, 0, stream>>>(*shape, (const double *)in,
                                                                                (double *)out);
    else
        window_mean_kernel<double><<<blocks, nbi_cuda_threads, 0, stream>>>(*shape, (const double *)in, (double *)out);
    return (int)cudaGetLastError();
}

extern "C" int nbi_cuda_window_mean(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *x, void *y)
{
    return run_windows(dtype, shape, x, y, false);
}

extern "C" int nbi_cuda_window_mean_adjoint(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *y, void *x)
{
    return run_windows(dtype, shape, y, x, true);
}
