/*
 * test_alloc_failure.c — every allocation of a training step, and of a model
 * save and load, made to fail in turn (issue 9).
 *
 * An allocation is an "event": a tensor block from the allocator hook
 * (nb_set_allocator) and, where the linker can wrap them (GNU ld's --wrap,
 * set in CMakeLists.txt, NBT_WRAP_MALLOC), every malloc / calloc / realloc
 * the library makes for handles, graph nodes, modules, optimizer state and
 * file buffers. For each region the test first counts the events of a clean
 * run, then for every event k runs the region again with
 *   - "once": event k refused, the others served (error paths that carry on);
 *   - "from": event k and every one after it refused (cleanup with no memory);
 * and checks each time that
 *   - the region failed with a status other than NB_OK and a message, or,
 *     if the library absorbed the refusal, gave exactly the clean result;
 *   - nothing leaked: nb_live_tensors is back where it was (ASan/LSan
 *     check the malloc'd memory in the sanitize build);
 *   - a failed nb_module_load left the module unchanged;
 *   - the library still works: a fresh clean run gives the reference result
 *     bit for bit.
 *
 * Model: Linear(8, 16) - ReLU - Linear(16, 3), Adam; x is (12, 8) float32,
 * y is (12) int64 classes. Each run is on a fresh thread with one kernel
 * thread, so the events come in one order.
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "nb_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

enum { PARAMS = 4, MAX_VALUES = 8 * 16 + 16 + 16 * 3 + 3 };

/* ------------------------------------------------------------------------ */
/* The failing allocator                                                    */
/* ------------------------------------------------------------------------ */

static atomic_bool  armed;      /* count (and maybe refuse) events now        */
static atomic_llong events;     /* events since armed                         */
static atomic_llong refused;    /* events refused since armed                 */
static long long    fail_at;    /* the first event to refuse; -1: none        */
static bool         fail_rest;  /* refuse every event after fail_at too       */

static bool refuse_this_one(void)
{
    if (!atomic_load(&armed)) return false;
    long long i = atomic_fetch_add(&events, 1);
    if (fail_at >= 0 && (i == fail_at || (fail_rest && i > fail_at))) {
        atomic_fetch_add(&refused, 1);
        errno = ENOMEM; /* as a real failing malloc leaves it */
        return true;
    }
    return false;
}

static void *hook_alloc(size_t bytes, void *user)
{
    (void)user;
    if (refuse_this_one()) return NULL;
    return aligned_alloc(64, (bytes + 63) / 64 * 64);
}

static void hook_release(void *ptr, size_t bytes, void *user)
{
    (void)bytes;
    (void)user;
    free(ptr);
}

#if defined(NBT_WRAP_MALLOC)
void *__real_malloc(size_t bytes);
void *__real_calloc(size_t count, size_t bytes);
void *__real_realloc(void *ptr, size_t bytes);
void *__wrap_malloc(size_t bytes);
void *__wrap_calloc(size_t count, size_t bytes);
void *__wrap_realloc(void *ptr, size_t bytes);
void *__wrap_malloc(size_t bytes) { return refuse_this_one() ? NULL : __real_malloc(bytes); }
void *__wrap_calloc(size_t count, size_t bytes) { return refuse_this_one() ? NULL : __real_calloc(count, bytes); }
void *__wrap_realloc(void *ptr, size_t bytes) { return refuse_this_one() ? NULL : __real_realloc(ptr, bytes); }
#endif

/* Start counting events, refusing from event k on (once or all: rest). */
static void arm(long long k, bool rest)
{
    nb_empty_cache(); /* so that every tensor block reaches the hook */
    fail_at   = k;
    fail_rest = rest;
    atomic_store(&events, 0);
    atomic_store(&refused, 0);
    atomic_store(&armed, true);
}

static void disarm(void) { atomic_store(&armed, false); }

/* ------------------------------------------------------------------------ */
/* The model and the regions                                                */
/* ------------------------------------------------------------------------ */

typedef struct {
    nb_module *model;
    nb_optim  *optim;
} net;

static nb_tensor *x_data, *y_data;

/* A fresh net with the weights of seed (unarmed: setup is not a region). */
static bool make_net(net *n, uint64_t seed)
{
    nb_manual_seed(seed);
    nb_module *layers[3] = { nb_linear_new(8, 16, true), nb_relu_new(), nb_linear_new(16, 3, true) };
    n->model             = nb_sequential_new(layers, 3);
    nb_tensor *params[PARAMS];
    n->optim = n->model && nb_module_parameters(n->model, params, NULL, PARAMS) == PARAMS
                   ? nb_adam_new(params, PARAMS, nb_adam_defaults())
                   : NULL;
    return n->optim != NULL;
}

static void free_net(net *n)
{
    nb_optim_free(n->optim);
    nb_module_free(n->model);
    *n = (net){ 0 };
}

/* Every parameter's values, in order, as doubles into values[MAX_VALUES]. */
static bool snapshot(nb_module *m, double *values)
{
    nb_tensor *params[PARAMS];
    if (nb_module_parameters(m, params, NULL, PARAMS) != PARAMS) return false;
    int64_t used = 0;
    for (int i = 0; i < PARAMS; i++) {
        nb_tensor *as_double = nb_to_dtype(params[i], NB_FLOAT64);
        int64_t    n         = nb_numel(params[i]);
        bool       ok        = as_double && used + n <= MAX_VALUES
                 && nb_copy_to_buffer(as_double, values + used, (size_t)n * sizeof(double)) == NB_OK;
        nb_free(as_double);
        if (!ok) return false;
        used += n;
    }
    return used == MAX_VALUES;
}

/* Region 1: one training step: forward, cross-entropy, backward, Adam step
 * (the first, which also makes Adam's state). The status of the first
 * failure, NB_OK if none. */
static nb_status train_step(net *n)
{
    nb_status status = nb_scope_begin();
    if (status != NB_OK) return status;
    nb_tensor *logits = nb_module_forward(n->model, x_data);
    nb_tensor *loss   = nb_cross_entropy(logits, y_data, NB_CROSS_ENTROPY_OPTS());
    status            = nb_backward(loss);
    if (status == NB_OK) status = nb_optim_step(n->optim);
    nb_optim_zero_grad(n->optim);
    nb_scope_end();
    return status;
}

static char saved_path[256];

/* Region 2: save from's weights, load them into into. */
static nb_status save_and_load(net *from, net *into)
{
    nb_status status = nb_module_save(from->model, saved_path);
    if (status == NB_OK) status = nb_module_load(into->model, saved_path);
    return status;
}

/* ------------------------------------------------------------------------ */
/* The injection loops                                                      */
/* ------------------------------------------------------------------------ */

typedef struct {
    long long points;                  /* events of a clean run            */
    long long failed, absorbed;        /* injections that failed / did not */
    long long by_status[NB_ERR_UNSUPPORTED + 1];
} tally;

static double reference_step[MAX_VALUES]; /* the weights after one clean step */
static double reference_load[MAX_VALUES]; /* the weights loaded (seed 1's)   */

/* One run of a region with event k refused (k < 0: none), and its checks.
 * Returns the number of events the run made. */
static long long run_region_here(int region, long long k, bool rest, tally *t)
{
    int64_t live = nb_live_tensors();
    net     a = { 0 }, b = { 0 };
    double  before[MAX_VALUES], after[MAX_VALUES];
    if (!make_net(&a, 1) || (region == 2 && (!make_net(&b, 2) || !snapshot(b.model, before)))) {
        fprintf(stderr, "  setup failed: %s\n", nb_last_error());
        nbt_failures++;
        free_net(&a);
        free_net(&b);
        return 0;
    }
    nb_clear_error();
    arm(k, rest);
    nb_status status = region == 1 ? train_step(&a) : save_and_load(&a, &b);
    disarm();
    long long made    = atomic_load(&events);
    bool      refusal = atomic_load(&refused) > 0;

    nbt_checks++;
    const char *what = region == 1 ? "training step" : "save and load";
    if (status != NB_OK) {
        t->failed++;
        nb_status cause = nb_last_status();
        if (cause >= NB_OK && cause <= NB_ERR_UNSUPPORTED) t->by_status[cause]++;
        if (getenv("NBT_VERBOSE"))
            fprintf(stderr, "%s, event %lld (%s): %s %s\n", what, k, rest ? "from" : "once", nb_status_name(cause),
                    nb_last_error());
        if (!refusal || cause == NB_OK || nb_last_error()[0] == '\0') {
            nbt_failures++;
            fprintf(stderr, "%s, event %lld (%s): failed with %s but last status %s, message '%s'%s\n", what, k,
                    rest ? "from" : "once", nb_status_name(status), nb_status_name(cause), nb_last_error(),
                    refusal ? "" : " with no allocation refused");
        }
        if (region == 2 && (!snapshot(b.model, after) || memcmp(before, after, sizeof before) != 0)) {
            nbt_failures++;
            fprintf(stderr, "%s, event %lld (%s): the failed load changed the module\n", what, k,
                    rest ? "from" : "once");
        }
    } else {
        /* Succeeded: either nothing was refused or the library absorbed
         * it; either way the result is the clean one. */
        if (refusal) t->absorbed++;
        const double *expected = region == 1 ? reference_step : reference_load;
        if (!snapshot(region == 1 ? a.model : b.model, after) || memcmp(after, expected, sizeof after) != 0) {
            nbt_failures++;
            fprintf(stderr, "%s, event %lld (%s): succeeded with a result that differs from the clean run\n",
                    what, k, rest ? "from" : "once");
        }
    }
    nb_clear_error();
    free_net(&a);
    free_net(&b);
    remove(saved_path);
    if (nb_live_tensors() != live) {
        nbt_failures++;
        fprintf(stderr, "%s, event %lld (%s): %lld tensors leaked\n", what, k, rest ? "from" : "once",
                (long long)(nb_live_tensors() - live));
    }
    return made;
}

typedef struct {
    int       region;
    long long k;
    bool      rest;
    tally    *t;
    long long made;
} region_run;

static void *region_thread(void *arg)
{
    region_run *r = arg;
    nb_set_num_threads(1);
    r->made = run_region_here(r->region, r->k, r->rest, r->t);
    return NULL;
}

/* run_region_here on a new thread: its caches (tensor headers, blocks, the
 * engine's bookkeeping) start empty, so every run makes the same events in
 * the same order, and a run cannot hide an allocation in a cache that an
 * earlier run warmed. */
static long long run_region(int region, long long k, bool rest, tally *t)
{
    region_run r = { region, k, rest, t, 0 };
    pthread_t  thread;
    if (pthread_create(&thread, NULL, region_thread, &r) != 0) {
        nbt_failures++;
        fprintf(stderr, "pthread_create failed\n");
        return 0;
    }
    pthread_join(thread, NULL);
    return r.made;
}

/* The clean result of a region, for run_region to compare with. */
static bool reference(int region)
{
    net a = { 0 }, b = { 0 };
    bool ok = make_net(&a, 1);
    if (region == 1)
        ok = ok && train_step(&a) == NB_OK && snapshot(a.model, reference_step);
    else
        ok = ok && make_net(&b, 2) && save_and_load(&a, &b) == NB_OK && snapshot(b.model, reference_load);
    free_net(&a);
    free_net(&b);
    remove(saved_path);
    return ok;
}

/* k runs up to the most events any run of the region made (the same in
 * every run, unless the library's behaviour depends on more than the
 * thread's own state). */
static void inject(int region)
{
    const char *what = region == 1 ? "training step" : "save and load";
    tally       t    = { 0 };
    NBT_CHECK(reference(region));
    long long most = run_region(region, -1, false, &t);
    NBT_CHECK(most > 0);
    long long runs = 0;
    for (int mode = 0; mode < 2; mode++) {
        for (long long k = 0; k < most; k++, runs++) {
            long long made = run_region(region, k, mode == 1, &t);
            if (made > most) most = made;
            /* The library still works: a clean run gives the reference. */
            tally clean = { 0 };
            made        = run_region(region, -1, false, &clean);
            if (made > most) most = made;
        }
    }
    long long other = t.failed - t.by_status[NB_ERR_OOM];
    printf("%s: up to %lld allocation points, each refused once and from there on (%lld runs, %lld reached "
           "their point): %lld failed cleanly (NB_ERR_OOM %lld, another status %lld), %lld absorbed with the clean "
           "result\n",
           what, most, runs, t.failed + t.absorbed, t.failed, t.by_status[NB_ERR_OOM], other, t.absorbed);
    /* NOTE: not a failure: nbi_writer_open (src/io/file.c) reports a path
     * it cannot copy as NB_ERR_IO "cannot open for writing: Cannot
     * allocate memory"; the message is right, the status arguable. */
    if (other > 0) printf("  %lld allocation failures reported as a status other than NB_ERR_OOM (NBT_VERBOSE=1 lists them)\n", other);
}

static void test_training_step(void) { inject(1); }
static void test_save_and_load(void) { inject(2); }

int main(void)
{
    /* Before any tensor exists, as nb_set_allocator asks. */
    if (nb_set_allocator(hook_alloc, hook_release, NULL) != NB_OK) return 1;
    nb_set_num_threads(1); /* one order of events */
    char dir[] = "/tmp/nb_alloc_failure_XXXXXX";
    if (mkdtemp(dir) == NULL) return 1;
    snprintf(saved_path, sizeof saved_path, "%s/model.safetensors", dir);

    nb_manual_seed(0);
    x_data        = nb_randn(NB_SHAPE(12, 8), NB_OPTS());
    int64_t y[12] = { 0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 2, 1 };
    y_data        = nb_from_data(y, NB_SHAPE(12), NB_OPTS(.dtype = NB_INT64));

    NBT_RUN(test_training_step);
    NBT_RUN(test_save_and_load);

    nb_free(x_data);
    nb_free(y_data);
    rmdir(dir);
#if !defined(NBT_WRAP_MALLOC)
    printf("(tensor blocks only: this build cannot wrap malloc)\n");
#endif
    return nbt_finish();
}
