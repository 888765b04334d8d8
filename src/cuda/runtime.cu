/*
 * runtime.cu — devices, streams and copies for the CUDA backend. Each
 * device has one stream made at first use; every kernel, copy and release
 * of that device is queued on it, so they run in the order the host issued
 * them and a freed block can be handed to the next kernel without an event.
 * The host waits (nbi_cuda_sync, a copy to the host) only where it reads.
 */
#include "cuda_runtime_api.h"
#include "cuda_stream.h"

#include <atomic>
#include <cuda_runtime.h>
#include <mutex>

namespace {

constexpr int max_devices = 64;

std::once_flag count_once;
int            device_count = 0;
std::mutex     stream_mutex;
cudaStream_t   streams[max_devices];
void          *scratch[max_devices];
std::mutex     scratch_mutex[max_devices];
/* The first failed launch on each device not yet reported (0: none). */
std::atomic<int> launch_error[max_devices];

/* code, else the launch failure kept for device (taken: reported once). */
int with_launch_error(int device, int code)
{
    int kept = launch_error[device].exchange(0);
    return code != 0 ? code : kept;
}

} // namespace

void nbi_cuda_note_launch(int device)
{
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess || device < 0 || device >= max_devices) return;
    int none = 0;
    launch_error[device].compare_exchange_strong(none, (int)e);
}

extern "C" int nbi_cuda_count(void)
{
    std::call_once(count_once, [] {
        int n = 0;
        /* No driver or no GPU: an error here means "none", and the error
         * must not linger for the next call to find. */
        if (cudaGetDeviceCount(&n) != cudaSuccess) {
            (void)cudaGetLastError();
            n = 0;
        }
        device_count = n < max_devices ? n : max_devices;
    });
    return device_count;
}

extern "C" const char *nbi_cuda_error_string(int code) { return cudaGetErrorString((cudaError_t)code); }

cudaStream_t nbi_cuda_stream(int device)
{
    std::lock_guard<std::mutex> lock(stream_mutex);
    if (streams[device] == nullptr) {
        /* The scratch words come with the stream, so a kernel that reports
         * back (a range check, a division by zero) has them whenever the
         * device is usable at all. */
        cudaStream_t s;
        void        *words;
        if (cudaMalloc(&words, nbi_cuda_scratch_bytes) != cudaSuccess) return nullptr;
        if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess) {
            (void)cudaFree(words);
            return nullptr;
        }
        scratch[device] = words;
        streams[device] = s;
    }
    return streams[device];
}

nbi_cuda_scratch::nbi_cuda_scratch(int device) : lock(scratch_mutex[device])
{
    std::lock_guard<std::mutex> streams_lock(stream_mutex);
    words = scratch[device];
}

extern "C" int nbi_cuda_use(int device)
{
    if (device < 0 || device >= nbi_cuda_count()) return (int)cudaErrorInvalidDevice;
    cudaError_t e = cudaSetDevice(device);
    if (e != cudaSuccess) return (int)e;
    return nbi_cuda_stream(device) != nullptr ? 0 : (int)cudaGetLastError();
}

extern "C" void *nbi_cuda_stream_handle(int device)
{
    return nbi_cuda_use(device) == 0 ? (void *)nbi_cuda_stream(device) : nullptr;
}

extern "C" int nbi_cuda_stream_poll(int device)
{
    int e = nbi_cuda_use(device);
    if (e != 0) return e;
    cudaError_t state = cudaStreamQuery(nbi_cuda_stream(device));
    return state == cudaErrorNotReady ? -1 : (int)state;
}

extern "C" int nbi_cuda_sync(int device)
{
    int e = nbi_cuda_use(device);
    if (e != 0) return e;
    return with_launch_error(device, (int)cudaStreamSynchronize(nbi_cuda_stream(device)));
}

extern "C" int nbi_cuda_copy_to_device(int device, void *dst, const void *host, size_t bytes)
{
    int e = nbi_cuda_use(device);
    if (e != 0 || bytes == 0) return e;
    /* From pageable host memory the copy has read the source when the call
     * returns (the runtime stages it), so the caller may free it at once. */
    e = (int)cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, nbi_cuda_stream(device));
    if (e != 0) return e;
    return (int)cudaStreamSynchronize(nbi_cuda_stream(device));
}

extern "C" int nbi_cuda_copy_to_host(int device, void *host, const void *src, size_t bytes)
{
    int e = nbi_cuda_use(device);
    if (e != 0 || bytes == 0) return e;
    e = (int)cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, nbi_cuda_stream(device));
    if (e != 0) return with_launch_error(device, e);
    return with_launch_error(device, (int)cudaStreamSynchronize(nbi_cuda_stream(device)));
}

extern "C" int nbi_cuda_copy_on_device(int device, void *dst, const void *src, size_t bytes)
{
    int e = nbi_cuda_use(device);
    if (e != 0 || bytes == 0) return e;
    return (int)cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, nbi_cuda_stream(device));
}

extern "C" int nbi_cuda_copy_between(int dst_device, void *dst, int src_device, const void *src, size_t bytes)
{
    if (dst_device == src_device) return nbi_cuda_copy_on_device(dst_device, dst, src, bytes);
    /* The source's queued writes must land before the peer copy reads it,
     * and the destination's stream must not reuse dst meanwhile. */
    int e = nbi_cuda_sync(src_device);
    if (e == 0) e = nbi_cuda_sync(dst_device);
    if (e != 0 || bytes == 0) return e;
    e = (int)cudaMemcpyPeerAsync(dst, dst_device, src, src_device, bytes, nbi_cuda_stream(dst_device));
    if (e != 0) return e;
    return (int)cudaStreamSynchronize(nbi_cuda_stream(dst_device));
}
