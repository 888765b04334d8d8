/*
 * cuda_stream.h — for the .cu files only (C++): the stream that carries a
 * device's work (runtime.cu; the caller has made device current), and the
 * launch shape the elementwise-style kernels share.
 */
#ifndef NABLA_CUDA_STREAM_H
#define NABLA_CUDA_STREAM_H

#include <cuda_runtime.h>
#include <mutex>
#include <stdint.h>

#include "nabla.h"

cudaStream_t nbi_cuda_stream(int device);
/* nbi_cuda_scratch_bytes of device memory for results a kernel hands back
 * to the host (a range check, a division by zero), made with the device's
 * stream, so there after a successful nbi_cuda_use. Held from set-up to
 * read-back by one host thread at a time:
 *   nbi_cuda_scratch scratch(device); int *flag = (int *)scratch.words; */
constexpr size_t nbi_cuda_scratch_bytes = 64;
struct nbi_cuda_scratch {
    std::unique_lock<std::mutex> lock;
    void                        *words;
    explicit nbi_cuda_scratch(int device);
};

/* After a kernel launch on device: a launch that failed (a bad
 * configuration, too many resources) is kept, and the device's next
 * synchronization or copy to the host reports it, so the failure reaches
 * the user as an error where the host next reads, never silently. */
void nbi_cuda_note_launch(int device);

/* Threads per block of the one-thread-per-element kernels, and blocks for n
 * elements: at most 8 * 65535, each thread looping over the rest
 * (NBI_GRID_STRIDE), so any n launches and the grid stays within limits. */
constexpr int nbi_cuda_threads = 256;
inline unsigned nbi_cuda_blocks(int64_t n)
{
    int64_t blocks = (n + nbi_cuda_threads - 1) / nbi_cuda_threads;
    return (unsigned)(blocks < 1 ? 1 : (blocks < 65535 * 8 ? blocks : 65535 * 8));
}
/* f(T()) with T the element type of dtype, one of the dtypes the CUDA
 * kernels take (nbi_cuda_has_dtype); bool comes as its uint8_t byte, so a
 * kernel that counts nonzero bytes tells it apart by dtype. */
template <typename F> auto nbi_cuda_visit_dtype(nb_dtype dtype, F f)
{
    switch (dtype) {
    case NB_FLOAT32: return f(float());
    case NB_FLOAT64: return f(double());
    case NB_INT64: return f(int64_t());
    case NB_INT32: return f(int32_t());
    default: return f(uint8_t()); /* uint8, bool */
    }
}

#define NBI_GRID_STRIDE(i, n)                                                                                          \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

#endif /* NABLA_CUDA_STREAM_H */
