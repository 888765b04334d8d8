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
 */
#include "internal.h"

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

void nbi_release_thread_caches(void)
{
    nbi_alloc_release_thread_cache();
    nbi_tensor_release_thread_cache();
    nbi_node_release_thread_cache();
}
