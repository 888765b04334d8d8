/*
 * alloc.c — host memory for tensor data: the user's allocation hooks and a
 * per-thread cache of freed blocks in size classes.
 *
 * Why a cache: a fresh 4 KiB page costs ~2.2 us on first touch here, so an op
 * that allocates 1e7 floats runs 3-9x slower than one writing into a reused
 * buffer. Freed blocks go back to a bin of their size class instead of the
 * OS, and the next tensor of that class reuses the already-touched pages.
 * Large blocks ask the kernel for transparent huge pages.
 *
 * Size classes: 64 B, then four classes per power of two (1, 1.25, 1.5 and
 * 1.75 times 2^k), so rounding wastes at most 25%.
 */
#define _DEFAULT_SOURCE /* posix_memalign, madvise */
#include "internal.h"

#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

enum {
    NUM_CLASSES     = 240,
    HUGE_PAGE_BYTES = 2 << 20,
    /* A training step in a scope frees hundreds of small tensors at once and
     * makes them again next step: small classes keep many blocks, large
     * ones few (each may be megabytes). */
    SMALL_CLASS_BYTES  = 64 << 10,
    SMALL_CLASS_BLOCKS = 1024,
    LARGE_CLASS_BLOCKS = 16,
    /* From this size a request that misses the cache first gives back
     * cached blocks of other sizes (release_large_blocks). */
    LARGE_BLOCK_BYTES = 1 << 20,
};
/* Past this many cached bytes per thread, freed blocks go back to the OS. */
static const size_t CACHE_LIMIT_BYTES = (size_t)1 << 31;

typedef struct {
    void **blocks; /* a stack, allocated on first release into this class */
    int    count;
    int    capacity;
    int    requests; /* of this class, saturating at 2 ("more than once") */
} size_bin;

static _Thread_local size_bin bins[NUM_CLASSES];
static _Thread_local size_t   cached_bytes;

static void *default_alloc(size_t bytes, void *user)
{
    (void)user;
    size_t alignment = bytes >= HUGE_PAGE_BYTES ? HUGE_PAGE_BYTES : 64;
    void  *p         = NULL;
    if (posix_memalign(&p, alignment, bytes) != 0) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= HUGE_PAGE_BYTES) madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

static void default_release(void *ptr, size_t bytes, void *user)
{
    (void)bytes;
    (void)user;
    free(ptr);
}

static nb_alloc_fn   alloc_hook   = default_alloc;
static nb_release_fn release_hook = default_release;
static void         *hook_user    = NULL;

/* Class index and its rounded size for a request of bytes (> 0). */
static int size_class(size_t bytes, size_t *class_bytes)
{
    if (bytes <= 64) {
        *class_bytes = 64;
        return 0;
    }
    int    log2_floor = 63 - __builtin_clzll((unsigned long long)(bytes - 1));
    size_t base       = (size_t)1 << log2_floor; /* base < bytes <= 2 base */
    size_t quarter    = base / 4;
    size_t steps      = (bytes - base + quarter - 1) / quarter; /* 1..4 */
    *class_bytes      = base + steps * quarter;
    return (log2_floor - 6) * 4 + (int)steps;
}

/* The inverse of size_class: the rounded size of class cls. */
static size_t class_size(int cls)
{
    if (cls == 0) return 64;
    size_t base = (size_t)1 << ((cls - 1) / 4 + 6);
    return base + (size_t)((cls - 1) % 4 + 1) * (base / 4);
}

/* Give back cached large blocks of sizes asked for only once, largest
 * first, until at least bytes went: a large request that misses the cache
 * is often a size the program has moved on to (the next layer of an
 * evaluation, a bigger batch), and blocks of sizes it made once would
 * otherwise stay resident beside the new ones. NOTE: sizes asked for more
 * than once stay. A training step frees activations while it makes
 * gradients of other sizes; giving back those blocks made every step fault
 * its pages in again (~20% of a CNN step), and so did a rule that spared
 * only sizes served from the cache, as two such sizes then evicted each
 * other every step without either ever being served. */
static void release_large_blocks(size_t bytes)
{
    size_t released = 0;
    /* NOTE: only classes that hold blocks are sized: the top classes'
     * sizes do not fit a size_t. */
    for (int cls = NUM_CLASSES - 1; cls >= 0 && released < bytes; cls--) {
        if (bins[cls].count == 0 || bins[cls].requests > 1) continue;
        if (class_size(cls) < LARGE_BLOCK_BYTES) break;
        while (bins[cls].count > 0 && released < bytes) {
            release_hook(bins[cls].blocks[--bins[cls].count], class_size(cls), hook_user);
            cached_bytes -= class_size(cls);
            released += class_size(cls);
        }
    }
}

void *nbi_host_alloc(size_t bytes)
{
    if (bytes == 0) bytes = 1;
    size_t class_bytes;
    int    cls = size_class(bytes, &class_bytes);
    if (cls < NUM_CLASSES && bins[cls].requests < 2) bins[cls].requests++;
    if (cls < NUM_CLASSES && bins[cls].count > 0) {
        cached_bytes -= class_bytes;
        return bins[cls].blocks[--bins[cls].count];
    }
    if (class_bytes >= LARGE_BLOCK_BYTES) release_large_blocks(class_bytes);
    void *p = alloc_hook(class_bytes, hook_user);
    if (p == NULL && cached_bytes > 0) {
        nb_empty_cache(); /* memory is short: give back what we hold, retry */
        p = alloc_hook(class_bytes, hook_user);
    }
    return p;
}

void nbi_host_release(void *ptr, size_t bytes)
{
    if (ptr == NULL) return;
    if (bytes == 0) bytes = 1;
    size_t class_bytes;
    int    cls = size_class(bytes, &class_bytes);
    if (cls < NUM_CLASSES && cached_bytes + class_bytes <= CACHE_LIMIT_BYTES) {
        size_bin *bin = &bins[cls];
        if (bin->blocks == NULL) {
            int capacity = class_bytes <= SMALL_CLASS_BYTES ? SMALL_CLASS_BLOCKS : LARGE_CLASS_BLOCKS;
            bin->blocks  = malloc((size_t)capacity * sizeof *bin->blocks);
            bin->capacity = bin->blocks ? capacity : 0;
            nbi_thread_holds_caches();
        }
        if (bin->count < bin->capacity) {
            bin->blocks[bin->count++] = ptr;
            cached_bytes += class_bytes;
            return;
        }
    }
    release_hook(ptr, class_bytes, hook_user);
}

void nb_empty_cache(void)
{
    for (int cls = 0; cls < NUM_CLASSES; cls++) {
        while (bins[cls].count > 0) {
            void  *p = bins[cls].blocks[--bins[cls].count];
            release_hook(p, class_size(cls), hook_user);
        }
        bins[cls].requests = 0;
    }
    cached_bytes = 0;
}

void nbi_alloc_release_thread_cache(void)
{
    nb_empty_cache();
    for (int cls = 0; cls < NUM_CLASSES; cls++) {
        free(bins[cls].blocks);
        bins[cls] = (size_bin){ 0 };
    }
}

nb_status nb_set_allocator(nb_alloc_fn alloc, nb_release_fn release, void *user)
{
    if ((alloc == NULL) != (release == NULL))
        return nbi_fail_status(NB_ERR_ARG, "nb_set_allocator: give both alloc and release, or neither");
    if (nb_live_tensors() != 0)
        return nbi_fail_status(NB_ERR_STATE,
                               "nb_set_allocator: %lld tensors are alive; set the allocator before making tensors",
                               (long long)nb_live_tensors());
    nb_empty_cache();
    alloc_hook   = alloc ? alloc : default_alloc;
    release_hook = release ? release : default_release;
    hook_user    = alloc ? user : NULL;
    return NB_OK;
}
