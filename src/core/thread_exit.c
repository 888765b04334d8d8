/*
 * thread_exit.c — a thread's caches go back when the thread ends.
 *
 * Why: the block cache (alloc.c), the free lists of tensor and storage
 * headers (tensor.c) and the graph's release list (node.c) are per thread, so
 * they need no locks; but a thread that made tensors and then exited would
 * leak what they held. The first time a thread caches anything it calls
 * nbi_thread_holds_caches, which sets a POSIX thread-specific key; the key's
 * destructor runs the cleanups when the thread exits. (The main thread's
 * caches stay until the process ends: exit() runs no key destructors, and
 * the memory goes with the process.) Without pthreads the cleanups only run
 * through nb_empty_cache, on the calling thread.
 *
 * Core's own caches are released by name; a module above core (node.c)
 * registers its release function instead, so that core calls nothing above
 * it. The registry is a few slots filled in order by compare-exchange and
 * never cleared: no lock, and no function is registered twice.
 */
#include "internal.h"

#include <assert.h>

#if defined(NB_HAVE_PTHREAD)
#include <pthread.h>

static pthread_key_t  exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static bool           exit_key_made;
static _Thread_local bool registered;

static void on_thread_exit(void *unused)
{
    (void)unused;
    registered = false; /* a later cache (another key's destructor) registers again */
    nbi_release_thread_caches();
}

static void make_exit_key(void) { exit_key_made = pthread_key_create(&exit_key, on_thread_exit) == 0; }

void nbi_thread_holds_caches(void)
{
    if (registered) return;
    pthread_once(&exit_key_once, make_exit_key);
    /* Without a key (the system ran out of them) the caches stay: a leak at
     * thread exit, as before, not an error for the op that got here. */
    registered = exit_key_made && pthread_setspecific(exit_key, &registered) == 0;
}
#else
void nbi_thread_holds_caches(void) {}
#endif

/* The modules' release functions in the order registered; NULL past the
 * last. A slot, once set, never changes. */
enum { MAX_REGISTERED = 8 };
static _Atomic(nbi_thread_cache_release_fn) registered_releases[MAX_REGISTERED];

void nbi_register_thread_cache(nbi_thread_cache_release_fn release)
{
    for (int i = 0; i < MAX_REGISTERED; i++) {
        /* Take the first empty slot, unless release holds one already: the
         * slots before it are set and keep their values, so a function that
         * got past them is in none of them. */
        nbi_thread_cache_release_fn seen = NULL;
        if (atomic_compare_exchange_strong(&registered_releases[i], &seen, release) || seen == release) return;
    }
    assert(!"nbi_register_thread_cache: more modules with caches than MAX_REGISTERED");
}

void nbi_release_thread_caches(void)
{
    nbi_alloc_release_thread_cache();
    nbi_tensor_release_thread_cache();
    for (int i = 0; i < MAX_REGISTERED; i++) {
        nbi_thread_cache_release_fn release = atomic_load_explicit(&registered_releases[i], memory_order_acquire);
        if (release == NULL) break;
        release();
    }
}
