/*
 * allocator.cu — the caching allocator: cudaMalloc is slow (it may
 * synchronize the device) and an op makes a fresh output every call, so a
 * released block goes to a free list by size class and the next request of
 * that class takes it back. Classes: multiples of 512 bytes below 1 MiB,
 * of 2 MiB above, so a training step's repeated shapes hit the cache
 * after the first step. Blocks are reused on the device's one stream, where
 * the kernels that used a block come before the ones that reuse it.
 *
 * Out of memory: give back every cached block of the device and retry once;
 * still out, NULL (the op reports NB_ERR_OOM and the process goes on).
 */
#include "cuda_runtime_api.h"

#include <cuda_runtime.h>
#include <map>
#include <mutex>
#include <vector>

namespace {

constexpr size_t small_step  = 512;
constexpr size_t large_from  = size_t(1) << 20;
constexpr size_t large_step  = size_t(2) << 20;
constexpr int    max_devices = 64;

size_t size_class(size_t bytes)
{
    if (bytes == 0) bytes = 1;
    size_t step = bytes < large_from ? small_step : large_step;
    return (bytes + step - 1) / step * step;
}

struct device_pool {
    std::mutex                               mutex;
    std::map<size_t, std::vector<void *>>    free_blocks; /* class -> blocks */
    nbi_cuda_memory                          stats{};
};

device_pool pools[max_devices];

/* Give every cached block of pool back to the driver; the caller holds
 * the pool's mutex and has made its device current. */
void release_cached(device_pool &pool)
{
    for (auto &entry : pool.free_blocks) {
        for (void *p : entry.second) {
            (void)cudaFree(p);
            pool.stats.reserved -= entry.first;
        }
    }
    pool.free_blocks.clear();
}

} // namespace

extern "C" void *nbi_cuda_alloc(int device, size_t bytes)
{
    if (nbi_cuda_use(device) != 0) return nullptr;
    size_t       cls  = size_class(bytes);
    device_pool &pool = pools[device];
    std::lock_guard<std::mutex> lock(pool.mutex);
    void *ptr = nullptr;
    auto  hit = pool.free_blocks.find(cls);
    if (hit != pool.free_blocks.end() && !hit->second.empty()) {
        ptr = hit->second.back();
        hit->second.pop_back();
    } else {
        pool.stats.cudamalloc_calls++;
        if (cudaMalloc(&ptr, cls) != cudaSuccess) {
            (void)cudaGetLastError();
            /* cudaFree waits for the device, so blocks still read by queued
             * kernels are not pulled from under them. */
            release_cached(pool);
            pool.stats.cudamalloc_calls++;
            if (cudaMalloc(&ptr, cls) != cudaSuccess) {
                (void)cudaGetLastError();
                return nullptr;
            }
        }
        pool.stats.reserved += cls;
    }
    pool.stats.allocated += cls;
    if (pool.stats.allocated > pool.stats.peak_allocated) pool.stats.peak_allocated = pool.stats.allocated;
    return ptr;
}

extern "C" void nbi_cuda_release(int device, void *ptr, size_t bytes)
{
    if (ptr == nullptr) return;
    size_t       cls  = size_class(bytes);
    device_pool &pool = pools[device];
    std::lock_guard<std::mutex> lock(pool.mutex);
    pool.free_blocks[cls].push_back(ptr);
    pool.stats.allocated -= cls;
}

extern "C" void nbi_cuda_empty_cache_all(void)
{
    int count = nbi_cuda_count();
    for (int d = 0; d < count; d++) {
        if (nbi_cuda_use(d) != 0) continue;
        std::lock_guard<std::mutex> lock(pools[d].mutex);
        release_cached(pools[d]);
    }
}

extern "C" void nbi_cuda_memory_of(int device, nbi_cuda_memory *out)
{
    std::lock_guard<std::mutex> lock(pools[device].mutex);
    *out = pools[device].stats;
}

extern "C" void nbi_cuda_reset_peak(int device)
{
    std::lock_guard<std::mutex> lock(pools[device].mutex);
    pools[device].stats.peak_allocated = pools[device].stats.allocated;
}
