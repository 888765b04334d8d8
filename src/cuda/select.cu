/*
 * select.cu — masked_select and nonzero on the GPU (core/index_args.h):
 * ops whose output size is the number of selected elements, written in
 * row-major order. As on the CPU (cpu/index_kernels.c) an op calls twice:
 *   counting: the walk is cut into pieces (by its size alone); one block per
 *             piece counts its selected elements; the host reads the counts
 *             back and records where each piece starts writing;
 *   writing:  one block per piece walks it in tiles of 256 elements; each
 *             element's place is its piece's start, plus the tile's start,
 *             plus the selected elements before it in the tile (a prefix
 *             sum of the threads' flags: warp ballots, then the 8 warps).
 * Every position is fixed by the data, so the output is the CPU's.
 */
#include "block_reduce.h"
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"

#include <cuda_runtime.h>

namespace {

constexpr int block = nbi_block_threads;
constexpr int warps = block / 32;

__device__ inline char *walk_at(const nbi_walk &w, int k, int64_t i)
{
    char *p = w.base[k];
    for (int d = w.ndim - 1; d >= 0; d--) {
        p += (i % w.shape[d]) * w.stride[k][d];
        i /= w.shape[d];
    }
    return p;
}

/* Whether one element of dtype is nonzero (NaN is; -0.0 is not). */
__device__ inline bool element_is_nonzero(const char *p, nb_dtype dtype)
{
    switch (dtype) {
    case NB_FLOAT32: return *(const float *)p != 0.0f;
    case NB_FLOAT64: return *(const double *)p != 0.0;
    case NB_INT64: return *(const int64_t *)p != 0;
    case NB_INT32: return *(const int32_t *)p != 0;
    default: return *(const uint8_t *)p != 0; /* uint8, bool */
    }
}

__device__ inline bool selected(const nbi_select_args &a, bool nonzero, int64_t i)
{
    if (nonzero) return element_is_nonzero(walk_at(a.walk, 0, i), a.dtype);
    return *(const uint8_t *)walk_at(a.walk, 1, i) != 0;
}

__device__ inline int64_t piece_first(const nbi_select_args &a, int64_t p)
{
    return a.walk.numel * p / a.npieces;
}

__global__ void count_kernel(nbi_select_args a, bool nonzero, int64_t *counts)
{
    __shared__ int64_t partial[block];
    int64_t            first = piece_first(a, blockIdx.x), last = piece_first(a, blockIdx.x + 1);
    int64_t            count = 0;
    for (int64_t i = first + threadIdx.x; i < last; i += block)
        count += selected(a, nonzero, i);
    count = nbi_block_sum(count, partial);
    if (threadIdx.x == 0) counts[blockIdx.x] = count;
}

__global__ void write_kernel(nbi_select_args a, bool nonzero, size_t itemsize)
{
    __shared__ int warp_total[warps];
    int            lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    int64_t        first = piece_first(a, blockIdx.x), last = piece_first(a, blockIdx.x + 1);
    int64_t        pos = a.piece_start[blockIdx.x];
    for (int64_t tile = first; tile < last; tile += block) {
        int64_t  i    = tile + threadIdx.x;
        bool     pick = i < last && selected(a, nonzero, i);
        unsigned ball = __ballot_sync(0xffffffffu, pick);
        if (lane == 0) warp_total[warp] = __popc(ball);
        __syncthreads();
        int64_t before = pos + __popc(ball & ((1u << lane) - 1u));
        int64_t tile_count = 0;
        for (int w = 0; w < warps; w++) {
            if (w < warp) before += warp_total[w];
            tile_count += warp_total[w];
        }
        if (pick) {
            if (nonzero) {
                int64_t *coord = (int64_t *)a.out + before * a.walk.ndim;
                int64_t  rest  = i;
                for (int d = a.walk.ndim - 1; d >= 0; d--) {
                    coord[d] = rest % a.walk.shape[d];
                    rest /= a.walk.shape[d];
                }
            } else {
                const char *src = walk_at(a.walk, 0, i);
                char       *dst = (char *)a.out + before * (int64_t)itemsize;
                for (size_t b = 0; b < itemsize; b++)
                    dst[b] = src[b];
            }
        }
        pos += tile_count;
        __syncthreads(); /* warp_total is rewritten by the next tile */
    }
}

} // namespace

extern "C" int64_t nbi_cuda_select(nbi_index_op op, nbi_select_args *args)
{
    if (args->walk.numel == 0 || nbi_cuda_use(args->walk.device) != 0) return 0;
    int          device  = args->walk.device;
    bool         nonzero = op == NBI_INDEX_NONZERO;
    cudaStream_t stream  = nbi_cuda_stream(device);
    if (args->out) {
        write_kernel<<<(unsigned)args->npieces, block, 0, stream>>>(*args, nonzero, nb_dtype_size(args->dtype));
        nbi_cuda_note_launch(device);
        return 0; /* the count came from the counting call */
    }
    int64_t pieces = args->walk.numel / (64 * block) + 1;
    args->npieces  = (int)(pieces < NBI_SELECT_MAX_PIECES ? pieces : NBI_SELECT_MAX_PIECES);
    size_t   bytes = sizeof(int64_t) * NBI_SELECT_MAX_PIECES;
    int64_t *counts = (int64_t *)nbi_cuda_alloc(device, bytes);
    if (counts == nullptr) return NBI_CUDA_SELECT_OOM;
    count_kernel<<<(unsigned)args->npieces, block, 0, stream>>>(*args, nonzero, counts);
    nbi_cuda_note_launch(device);
    int64_t host[NBI_SELECT_MAX_PIECES];
    int     code = nbi_cuda_copy_to_host(device, host, counts, sizeof(int64_t) * (size_t)args->npieces);
    nbi_cuda_release(device, counts, bytes);
    if (code != 0) return NBI_CUDA_SELECT_FAILED;
    int64_t total = 0;
    for (int p = 0; p < args->npieces; p++) {
        args->piece_start[p] = total;
        total += host[p];
    }
    return total;
}
