/*
 * cuda_runtime_api.h — what the CUDA files (compiled by nvcc as C++) export
 * to the C side of the backend (cuda/backend.c). A plain C header: the .cu
 * files cannot include core/internal.h (C11 atomics are not C++), so the
 * seam between them is this list of functions on raw pointers and codes.
 *
 * Every function returning int returns 0 on success or a cudaError_t code;
 * nbi_cuda_error_string names it. One stream per device carries all work,
 * so kernels, copies and frees are ordered without events.
 */
#ifndef NABLA_CUDA_RUNTIME_API_H
#define NABLA_CUDA_RUNTIME_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Devices: 0 when there is no driver or no GPU (never an error). */
int         nbi_cuda_count(void);
const char *nbi_cuda_error_string(int code);
/* Make device the calling thread's current device (and create its stream). */
int nbi_cuda_use(int device);
int nbi_cuda_sync(int device);
/* The device's stream (a cudaStream_t) for libraries that queue work on it
 * (NCCL); NULL when the device cannot be used. */
void *nbi_cuda_stream_handle(int device);
/* Whether the device's stream has finished its work: 0 done, -1 still
 * running, else the error code. Does not wait. */
int   nbi_cuda_stream_poll(int device);

/* The caching allocator (allocator.cu). NULL when the device is out of
 * memory even after the cache was given back and the allocation retried. */
void *nbi_cuda_alloc(int device, size_t bytes);
void  nbi_cuda_release(int device, void *ptr, size_t bytes);
void  nbi_cuda_empty_cache_all(void);
typedef struct {
    size_t allocated;      /* bytes in live blocks (rounded to the block size) */
    size_t reserved;       /* allocated + cached, as held from the driver      */
    size_t peak_allocated; /* most allocated since start or the last reset     */
    size_t cudamalloc_calls;
} nbi_cuda_memory;
void nbi_cuda_memory_of(int device, nbi_cuda_memory *out);
void nbi_cuda_reset_peak(int device);

/* Copies on the device's stream; to the host it waits for completion. */
int nbi_cuda_copy_to_device(int device, void *dst, const void *host, size_t bytes);
int nbi_cuda_copy_to_host(int device, void *host, const void *src, size_t bytes);
int nbi_cuda_copy_on_device(int device, void *dst, const void *src, size_t bytes);
int nbi_cuda_copy_between(int dst_device, void *dst, int src_device, const void *src, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_CUDA_RUNTIME_API_H */
