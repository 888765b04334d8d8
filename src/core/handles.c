/*
 * handles.c — the regions behind generation-carrying handles (handles.h).
 *
 * A kind's region is one memfd of a view's size, mapped NBI_HANDLE_VIEWS
 * times back to back into one reservation. Slots are handed out in order,
 * and freed slots queue (first in, first out) for reuse, so a slot comes
 * back as late as possible. The queue is linked through the freed slots
 * themselves (just past the head, which a stale handle may still read).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* memfd_create */
#endif
#include "handles.h"

#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#define NB_HANDLE_VIEWS_POSSIBLE 1
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define NB_HAVE_VALGRIND_H 1
#endif
#endif
#if defined(NB_HAVE_PTHREAD)
#include <pthread.h>
#endif
#else
#define NB_HANDLE_VIEWS_POSSIBLE 0
#endif

/* The sanitizers and valgrind track memory by address: they would see the
 * views as unrelated memory, and LeakSanitizer would not scan them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NB_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define NB_UNDER_SANITIZER 1
#endif
#endif
#ifndef NB_UNDER_SANITIZER
#define NB_UNDER_SANITIZER 0
#endif

enum { SLOT_ALIGN = 64, SETUP_READY = 1 };

/* Held while a kind is set up, and across fork: a child never inherits a
 * kind half set up by a thread it does not have. */
static atomic_flag setting_up = ATOMIC_FLAG_INIT;

static void lock(nbi_handle_class *c)
{
    while (atomic_flag_test_and_set_explicit(&c->lock, memory_order_acquire)) {
    }
}

static void unlock(nbi_handle_class *c) { atomic_flag_clear_explicit(&c->lock, memory_order_release); }

static char *slot_address(const nbi_handle_class *c, int64_t slot, uint32_t generation)
{
    uintptr_t view = (uintptr_t)(generation & (NBI_HANDLE_VIEWS - 1)) << c->view_shift;
    return (char *)(c->base + view + (uintptr_t)slot * c->slot_bytes);
}

static int64_t slot_of(const nbi_handle_class *c, const void *object)
{
    uintptr_t within_view = ((uintptr_t)object - c->base) & (((uintptr_t)1 << c->view_shift) - 1);
    return (int64_t)(within_view / c->slot_bytes);
}

/* The queue's link, stored in a freed slot just past its head. */
static uint64_t *queue_link(const nbi_handle_class *c, int64_t slot)
{
    return (uint64_t *)(slot_address(c, slot, 0) + sizeof(nbi_handle_head));
}

#if NB_HANDLE_VIEWS_POSSIBLE
static bool under_valgrind(void)
{
#if defined(NB_HAVE_VALGRIND_H)
    if (RUNNING_ON_VALGRIND) return true;
#endif
    const char *preload = getenv("LD_PRELOAD");
    return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

/* Map fd's view NBI_HANDLE_VIEWS times from base; false (nothing of it
 * left mapped over base's reservation being the caller's) on failure. */
static bool map_views(uintptr_t base, size_t view_bytes, int fd)
{
    for (int v = 0; v < NBI_HANDLE_VIEWS; v++) {
        void *at   = (void *)(base + (uintptr_t)v * view_bytes);
        void *view = mmap(at, view_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
        if (view == MAP_FAILED) return false;
    }
    return true;
}

static _Atomic(nbi_handle_class *) set_up_classes;

#if defined(NB_HAVE_PTHREAD)
/* fork: the views are shared memory, so without this a child's tensors
 * would be its parent's. The child copies the slots into a memfd of its
 * own and maps that over the views (same addresses: every pointer stays). */
static void before_fork(void)
{
    while (atomic_flag_test_and_set_explicit(&setting_up, memory_order_acquire)) {
    }
    for (nbi_handle_class *c = atomic_load(&set_up_classes); c; c = c->next_class) lock(c);
}

static void after_fork_in_parent(void)
{
    for (nbi_handle_class *c = atomic_load(&set_up_classes); c; c = c->next_class) unlock(c);
    atomic_flag_clear_explicit(&setting_up, memory_order_release);
}

static void after_fork_in_child(void)
{
    for (nbi_handle_class *c = atomic_load(&set_up_classes); c; c = c->next_class) {
        size_t view_bytes = (size_t)1 << c->view_shift;
        size_t used       = (size_t)c->slots_used * c->slot_bytes;
        int    fd         = memfd_create("nabla-handles", MFD_CLOEXEC);
        bool   sized      = fd >= 0 && ftruncate(fd, (off_t)view_bytes) == 0;
        void  *copy       = sized && used > 0 ? mmap(NULL, used, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
        bool   ok         = sized && (used == 0 || copy != MAP_FAILED);
        if (copy != MAP_FAILED) {
            memcpy(copy, (void *)c->base, used);
            munmap(copy, used);
        }
        if (!ok || !map_views(c->base, view_bytes, fd)) {
            /* Nothing to return an error to: say it once, where it happened. */
            fprintf(stderr, "nabla: after fork, could not give the child its own %s handles; parent and child "
                            "now share them: do not use nabla in the child\n", c->kind);
        }
        if (fd >= 0) close(fd);
        unlock(c);
    }
    atomic_flag_clear_explicit(&setting_up, memory_order_release);
}

static void install_fork_hook(void) { pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child); }
#endif

static void make_region(nbi_handle_class *c)
{
    if (NB_UNDER_SANITIZER || under_valgrind()) return;
    size_t view_bytes = (size_t)1 << c->view_shift;
    size_t all_views  = view_bytes * NBI_HANDLE_VIEWS;
    int    fd         = memfd_create("nabla-handles", MFD_CLOEXEC);
    if (fd < 0) return;
    void *reserved = MAP_FAILED;
    if (ftruncate(fd, (off_t)view_bytes) == 0)
        reserved = mmap(NULL, all_views, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserved == MAP_FAILED || !map_views((uintptr_t)reserved, view_bytes, fd)) {
        if (reserved != MAP_FAILED) munmap(reserved, all_views);
        close(fd);
        return;
    }
    close(fd); /* the mappings keep the memory; a process's descriptors are its user's */
    c->base  = (uintptr_t)reserved;
    c->bytes = all_views;
    nbi_handle_class *first = atomic_load(&set_up_classes);
    do c->next_class = first;
    while (!atomic_compare_exchange_weak(&set_up_classes, &first, c));
}
#else
static void make_region(nbi_handle_class *c) { (void)c; }
#endif

static void set_up(nbi_handle_class *c)
{
#if NB_HANDLE_VIEWS_POSSIBLE && defined(NB_HAVE_PTHREAD)
    static pthread_once_t fork_hook_once = PTHREAD_ONCE_INIT;
    pthread_once(&fork_hook_once, install_fork_hook);
#endif
    while (atomic_flag_test_and_set_explicit(&setting_up, memory_order_acquire)) {
    }
    if (atomic_load_explicit(&c->state, memory_order_acquire) != SETUP_READY) {
        c->slot_bytes    = (c->object_bytes + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
        c->slot_capacity = (int64_t)(((size_t)1 << c->view_shift) / c->slot_bytes);
        make_region(c);
        atomic_store_explicit(&c->state, SETUP_READY, memory_order_release);
    }
    atomic_flag_clear_explicit(&setting_up, memory_order_release);
}

void *nbi_handle_alloc(nbi_handle_class *c)
{
    if (atomic_load_explicit(&c->state, memory_order_acquire) != SETUP_READY) set_up(c);
    if (c->bytes != 0) {
        int64_t slot = -1;
        lock(c);
        if (c->free_head != 0) {
            slot         = (int64_t)c->free_head - 1;
            c->free_head = *queue_link(c, slot);
            if (c->free_head == 0) c->free_tail = 0;
        } else if (c->slots_used < c->slot_capacity) {
            slot = c->slots_used++;
        }
        unlock(c);
        if (slot >= 0) {
            uint32_t generation = ((nbi_handle_head *)slot_address(c, slot, 0))->generation;
            char    *object     = slot_address(c, slot, generation);
            memset(object, 0, c->slot_bytes);
            ((nbi_handle_head *)object)->generation = generation;
            return object;
        }
        /* The region is full: the rest come from malloc. */
    }
    return calloc(1, c->object_bytes);
}

void nbi_handle_retire(nbi_handle_class *c, void *object)
{
    (void)c;
    ((nbi_handle_head *)object)->generation++;
}

static void free_object(nbi_handle_class *c, void *object, bool delay_malloced)
{
    if (object == NULL) return;
    if ((uintptr_t)object - c->base >= c->bytes) {
        if (delay_malloced)
            nbi_retire(object);
        else
            free(object);
        return;
    }
    int64_t slot = slot_of(c, object);
    lock(c);
    *queue_link(c, slot) = 0;
    if (c->free_tail != 0)
        *queue_link(c, (int64_t)c->free_tail - 1) = (uint64_t)slot + 1;
    else
        c->free_head = (uint64_t)slot + 1;
    c->free_tail = (uint64_t)slot + 1;
    unlock(c);
}

void nbi_handle_free(nbi_handle_class *c, void *object) { free_object(c, object, false); }

void nbi_handle_free_later(nbi_handle_class *c, void *object) { free_object(c, object, true); }

bool nbi_handle_generations(nbi_handle_class *c)
{
    if (atomic_load_explicit(&c->state, memory_order_acquire) != SETUP_READY) set_up(c);
    return c->bytes != 0;
}
