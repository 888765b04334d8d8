/*
 * parallel.c — the one thread pool of the library, and the thread count
 * setting.
 *
 * Why not OpenMP's pool: libgomp's workers spin at every barrier for a core
 * they may not get. On a machine where other programs run (a laptop, a CI
 * runner, a shared server) two threads then took 3.7x the time of one
 * (issue 10). This pool is built so that a thread the system does not
 * schedule costs nothing:
 *
 *  - A region is cut into chunks that threads claim one at a time from a
 *    counter. The calling thread claims too, and it never waits for a helper
 *    that has not started a chunk: a helper that wakes late finds the counter
 *    exhausted and goes back. The caller waits only for chunks a helper has
 *    claimed and not finished, one chunk at most per helper.
 *  - A helper with nothing to do spins briefly (regions in a training step
 *    come microseconds apart) and then sleeps on a condition variable. The
 *    spin adapts: it doubles each time a region arrived during the spin and
 *    halves each time the helper had to sleep.
 *  - The pool notices when its threads are not being scheduled: a thread
 *    whose chunks took much more wall time than CPU time was kept from its
 *    core while it could run, so another program wants the cores.
 *    The caller then runs the next regions alone, helpers asleep, for a
 *    stretch that doubles while preemptions go on; between stretches a
 *    region probes with the helpers again, cut finer (four chunks a thread)
 *    so that a preempted helper holds up little.
 *  - Which thread runs a chunk depends on timing, but every kernel computes
 *    each output the same way whatever chunk it falls in (reductions split
 *    into pieces fixed by their size, see reduce_kernels.c and im2col.c):
 *    a result is bit-identical whatever the number of threads.
 *
 * GEMM goes through the same pool: OpenBLAS runs single-threaded inside our
 * chunks (gemm.c), whatever threading its build has.
 */
#define _GNU_SOURCE /* pthread_sigmask, sched_yield */

#include "cpu.h"

#include <stdatomic.h>
#include <stdlib.h>

#if defined(NB_HAVE_PTHREAD)
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#endif

/* 0 until first asked: then the core count. NOTE: atomic because any thread
 * may ask while another sets it (a plain int would be a data race in C11);
 * relaxed order is enough, nothing else is published with it. */
static atomic_int thread_count;

static int core_count(void)
{
#if defined(NB_HAVE_PTHREAD) && defined(_SC_NPROCESSORS_ONLN)
#if defined(__linux__)
    /* The cores this process may run on (taskset, cgroups' cpusets). */
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) > 0) return CPU_COUNT(&allowed);
#endif
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)(online < 1024 ? online : 1024) : 1;
#else
    return 1;
#endif
}

/* The default: NB_NUM_THREADS from the environment when it is a whole
 * number >= 1, else the cores this process may use. */
static int default_count(void)
{
    const char *text = getenv("NB_NUM_THREADS");
    if (text != NULL && *text != '\0') {
        char *end;
        long  n = strtol(text, &end, 10);
        if (*end == '\0' && n >= 1) return n < NBI_MAX_THREADS ? (int)n : NBI_MAX_THREADS;
    }
    return core_count();
}

int nb_get_num_threads(void)
{
    int count = atomic_load_explicit(&thread_count, memory_order_relaxed);
    if (count == 0) {
        count = default_count();
        /* A count set by another thread meanwhile wins over the default. */
        int expected = 0;
        if (!atomic_compare_exchange_strong_explicit(&thread_count, &expected, count, memory_order_relaxed,
                                                     memory_order_relaxed))
            count = expected;
    }
    return count;
}

nb_status nb_set_num_threads(int n)
{
    if (n < 1) return nbi_fail_status(NB_ERR_ARG, "nb_set_num_threads: need at least 1 thread, got %d", n);
#if defined(NB_HAVE_PTHREAD)
    if (n > NBI_MAX_THREADS) n = NBI_MAX_THREADS;
    atomic_store_explicit(&thread_count, n, memory_order_relaxed);
#else
    atomic_store_explicit(&thread_count, 1, memory_order_relaxed); /* without threads: one, whatever is asked */
#endif
    return NB_OK;
}

#if defined(NB_HAVE_PTHREAD)

/* Chunks per thread: one while the machine is ours (fewer, longer body
 * calls: the GEMM kernels lose ~10% on a small training step cut finer);
 * four after preemptions (a preempted helper then holds up a quarter of its
 * share). */
enum { CHUNKS_PER_THREAD = 1, CHUNKS_PER_THREAD_CONTENDED = 4 };

/* Every chunk at least grain long, as nbi_parallel_for promises. Kernels
 * compute each output the same way whatever range it falls in, so the
 * count may follow the thread count (and the contention) without changing
 * a result. */
static int64_t chunk_count(int64_t pieces, int threads, bool contended)
{
    int64_t most = (int64_t)threads * (contended ? CHUNKS_PER_THREAD_CONTENDED : CHUNKS_PER_THREAD);
    return pieces < most ? pieces : most;
}

/* The caller's wait for helpers' chunks spins this many rounds (~0.1-0.3 ms)
 * before it yields the core (their thread may need it). NOTE: a yield is
 * a system call, slow in a VM; most waits end within the spin. */
enum { LONG_WAIT_ROUNDS = 8000 };

/* Spin bounds of an idle helper, in nanoseconds. */
enum { SPIN_MIN_NS = 5000, SPIN_MAX_NS = 200000, SPIN_START_NS = 50000 };

typedef struct {
    nbi_range_fn body;
    void        *ctx;
    int64_t      n, chunks;
    int          helpers; /* helpers with an id below this may join */
    bool         measure; /* threads time their chunks (claim_chunks) */
} region;

static struct {
    pthread_mutex_t lock; /* guards the sleep/wake handshake and starting helpers */
    pthread_cond_t  wake;
    atomic_flag     owned;      /* a caller is running a region on the pool */
    atomic_uint     generation; /* bumped for each region posted */
    atomic_int      open;       /* 1 while the current region takes helpers */
    atomic_int      inside;     /* helpers between joining and leaving a region */
    atomic_int      sleepers;   /* helpers waiting on wake */
    atomic_llong    next;       /* the next chunk to claim */
    atomic_llong    done;       /* chunks finished */
    atomic_int      preempted;  /* a helper was kept from its core in this region */
    region          job;        /* written only by the owner, before open is set */
    int             started;    /* helpers started (owner only) */
    int             alone_left; /* regions the caller runs alone before trying helpers again (owner only) */
    int             backoff;    /* the last such stretch: doubled while preemptions go on, halved when not */
    unsigned        posted;     /* regions posted (owner only) */
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .owned = ATOMIC_FLAG_INIT };

/* True on helpers, and on a caller inside a region: a parallel_for there runs
 * serially (the pool is already busy with the region). */
static _Thread_local bool in_region;

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void run_chunk(const region *job, int64_t chunk)
{
    int64_t begin = job->n * chunk / job->chunks, end = job->n * (chunk + 1) / job->chunks;
    if (begin < end) job->body(begin, end, job->ctx);
}

/* CPU time of the calling thread, ns. */
static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Claim and run chunks of the posted region until none is left. Returns
 * whether this thread was kept from its core meanwhile (only measured when
 * job->measure): its wall time exceeded its CPU time by over 50 us and a
 * fifth (it was runnable and another program ran, or it shared its core).
 * NOTE: a thread's CPU time is a system call (~1 us in a VM), so regions
 * are measured one in 16, and every region while the pool suspects
 * contention. */
enum { STOLEN_NS = 50000, MEASURE_EVERY = 16 };
static bool claim_chunks(const region *job)
{
    int64_t wall = job->measure ? now_ns() : 0, cpu = job->measure ? thread_cpu_ns() : 0;
    bool    ran  = false;
    for (;;) {
        int64_t chunk = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);
        if (chunk >= job->chunks) break;
        run_chunk(job, chunk);
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
        ran = true;
    }
    if (!ran || !job->measure) return false;
    wall = now_ns() - wall;
    cpu  = thread_cpu_ns() - cpu;
    return wall - cpu > STOLEN_NS && wall - cpu > wall / 5;
}

/* Wait for a generation other than seen: spin up to *spin_ns, then sleep.
 * Adapts *spin_ns to how the wait went. Returns the new generation. */
static unsigned wait_for_region(unsigned seen, int64_t *spin_ns)
{
    int64_t deadline = now_ns() + *spin_ns;
    for (int round = 1;; round++) {
        unsigned g = atomic_load_explicit(&pool.generation, memory_order_acquire);
        if (g != seen) {
            if (*spin_ns < SPIN_MAX_NS) *spin_ns *= 2;
            return g;
        }
        cpu_relax();
        if (round % 64 == 0 && now_ns() > deadline) break;
    }
    if (*spin_ns > SPIN_MIN_NS) *spin_ns /= 2;
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add(&pool.sleepers, 1);
    unsigned g;
    while ((g = atomic_load(&pool.generation)) == seen)
        pthread_cond_wait(&pool.wake, &pool.lock);
    atomic_fetch_sub(&pool.sleepers, 1);
    pthread_mutex_unlock(&pool.lock);
    return g;
}

static void *helper_main(void *arg)
{
    int      id      = (int)(intptr_t)arg;
    int64_t  spin_ns = SPIN_START_NS;
    unsigned seen    = 0;
    in_region        = true;
    for (;;) {
        seen = wait_for_region(seen, &spin_ns);
        /* NOTE: announce before looking at the region; the owner closes it
         * and then waits for inside == 0 (both sequentially consistent), so
         * either it waits for us or we see it closed. */
        atomic_fetch_add(&pool.inside, 1);
        if (atomic_load(&pool.open) && id < pool.job.helpers && claim_chunks(&pool.job))
            atomic_store_explicit(&pool.preempted, 1, memory_order_relaxed);
        atomic_fetch_sub_explicit(&pool.inside, 1, memory_order_release);
    }
    return NULL;
}

/* Start helpers up to want (fewer if the system refuses threads). The owner
 * calls this, so started needs no lock. */
static void start_helpers(int want)
{
    if (pool.started >= want) return;
    sigset_t all, old;
    sigfillset(&all);
    /* Helpers block every signal: a program's handlers run on its own threads. */
    pthread_sigmask(SIG_BLOCK, &all, &old);
    while (pool.started < want) {
        pthread_attr_t attr;
        pthread_t      thread;
        if (pthread_attr_init(&attr) != 0) break;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attr, helper_main, (void *)(intptr_t)pool.started);
        pthread_attr_destroy(&attr);
        if (failed) break;
        pool.started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The child of a fork has only the forking thread: helpers start again. */
static void after_fork_in_child(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    atomic_flag_clear(&pool.owned);
    atomic_store(&pool.open, 0);
    atomic_store(&pool.inside, 0);
    atomic_store(&pool.sleepers, 0);
    pool.started    = 0;
    pool.alone_left = 0;
    pool.backoff    = 0;
    atomic_store(&pool.preempted, 0);
}

static pthread_once_t fork_hook_once = PTHREAD_ONCE_INIT;
static void           install_fork_hook(void) { pthread_atfork(NULL, NULL, after_fork_in_child); }

/* After a region: preempted is whether a thread of it was kept from its
 * core while it ran chunks. Then the caller runs the next regions alone, a stretch
 * that doubles while preemptions go on (64 to 8192 regions) and halves with
 * each region that had none, so a busy machine costs little more than the
 * probes between stretches. */
enum { ALONE_FIRST = 64, ALONE_MOST = 8192 };
static void note_preemption(bool preempted)
{
    if (preempted) {
        pool.backoff    = pool.backoff == 0 ? ALONE_FIRST : pool.backoff < ALONE_MOST ? 2 * pool.backoff : ALONE_MOST;
        pool.alone_left = pool.backoff;
    } else {
        pool.backoff /= 2;
    }
}

/* Run the region on the pool; false if the pool is taken by another thread,
 * or lately preempted threads (note_preemption): the caller then runs it
 * alone. */
static bool run_on_pool(int64_t n, int64_t pieces, int threads, nbi_range_fn body, void *ctx)
{
    if (atomic_flag_test_and_set_explicit(&pool.owned, memory_order_acquire)) return false;
    pthread_once(&fork_hook_once, install_fork_hook);
    start_helpers(threads - 1);
    if (pool.alone_left > 0) { /* the machine is busy: run alone for a while */
        pool.alone_left--;
        atomic_flag_clear_explicit(&pool.owned, memory_order_release);
        return false;
    }
    int64_t chunks = chunk_count(pieces, threads, pool.backoff > 0);
    bool measure = pool.backoff > 0 || ++pool.posted % MEASURE_EVERY == 0;
    pool.job     = (region){ .body = body, .ctx = ctx, .n = n, .chunks = chunks, .helpers = threads - 1, .measure = measure };
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.preempted, 0, memory_order_relaxed);
    atomic_store(&pool.open, 1);
    atomic_fetch_add(&pool.generation, 1);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }

    in_region      = true;
    bool preempted = claim_chunks(&pool.job);
    in_region      = false;

    /* Only chunks claimed by helpers are left: wait for them, spinning a
     * little, then yielding the core (their thread may need it). */
    atomic_store(&pool.open, 0);
    for (int round = 0; atomic_load_explicit(&pool.done, memory_order_acquire) < chunks ||
                        atomic_load_explicit(&pool.inside, memory_order_acquire) > 0;
         round++) {
        if (round < LONG_WAIT_ROUNDS)
            cpu_relax();
        else
            sched_yield();
    }
    if (measure) note_preemption(preempted || atomic_load_explicit(&pool.preempted, memory_order_relaxed));
    atomic_flag_clear_explicit(&pool.owned, memory_order_release);
    return true;
}
#endif /* NB_HAVE_PTHREAD */

void nbi_parallel_for(int64_t n, int64_t grain, nbi_range_fn body, void *ctx)
{
    if (n <= 0) return;
#if defined(NB_HAVE_PTHREAD)
    int     threads = nb_get_num_threads();
    int64_t pieces  = n / (grain > 1 ? grain : 1); /* the most chunks of at least grain */
    if (threads > 1 && pieces > 1 && !in_region && run_on_pool(n, pieces, threads, body, ctx)) return;
#else
    (void)grain;
#endif
    body(0, n, ctx);
}
