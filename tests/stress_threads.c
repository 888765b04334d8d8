/*
 * stress_threads.c — four pthreads each train their own small MLP on the same
 * read-only data at once; built in every configuration and run under
 * ThreadSanitizer by `make test-tsan` (issue 9).
 *
 * What it proves: the library's process-wide state (the kernel tables chosen
 * on first use, the thread count, the random generator, the live-tensor
 * count, reference counts of shared tensors) is safe to use from several
 * threads, and its per-thread state (errors, scopes, grad mode, block cache)
 * is really per thread. Each thread:
 *   - builds Linear(16, 32) - ReLU - Linear(32, 4) and copies the shared
 *     initial weights into it (so every thread trains the same model);
 *   - trains it with Adam on mini-batches of the shared data from its own
 *     loader (the same seed everywhere), STEPS steps, each step in a scope;
 *   - provokes an error of its own every step and checks that the message it
 *     reads back is its own (errors are thread-local);
 *   - thread 0 also sets the thread count while the others read it.
 * Then the main thread trains the same model alone; every thread's losses
 * must equal it bit for bit (the same computation on the same thread count),
 * and no tensor may be left alive.
 *
 * Shapes: X is (SAMPLES, 16) float32, y is (SAMPLES) int64 classes in [0, 4).
 *
 *   usage: stress_threads [rounds]     (default 2: the first round meets
 *                                       every lazily chosen table cold)
 */
#include "nabla.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 4, SAMPLES = 128, FEATURES = 16, HIDDEN = 32, CLASSES = 4, BATCH = 32, STEPS = 40 };

/* Read-only after main makes them, shared by every thread. */
static nb_tensor *shared_x, *shared_y;
static nb_tensor *shared_init[4]; /* fc1.weight, fc1.bias, fc2.weight, fc2.bias */

typedef struct {
    int    id;
    int    failed;
    char   why[256];
    double losses[STEPS];
} worker;

/* A deterministic value in [-1, 1) from a 64-bit LCG: data made without any
 * library kernel, so the threads are the first to run those. */
static double lcg(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
}

static nb_tensor *lcg_tensor(nb_shape shape, uint64_t seed, double scale)
{
    int64_t n = 1;
    for (int i = 0; i < shape.ndim; i++) n *= shape.dims[i];
    float *values = malloc((size_t)n * sizeof *values);
    if (values == NULL) return NULL;
    for (int64_t i = 0; i < n; i++) values[i] = (float)(lcg(&seed) * scale);
    nb_tensor *t = nb_from_data(values, shape, NB_OPTS());
    free(values);
    return t;
}

static int fail(worker *w, const char *what)
{
    if (!w->failed) snprintf(w->why, sizeof w->why, "%s: %s", what, nb_last_error());
    w->failed = 1;
    return 0;
}

/* The model with the shared initial weights, or NULL (w says why). */
static nb_module *make_model(worker *w)
{
    nb_module *layers[3] = { nb_linear_new(FEATURES, HIDDEN, true), nb_relu_new(),
                             nb_linear_new(HIDDEN, CLASSES, true) };
    nb_module *model     = nb_sequential_new(layers, 3);
    if (model == NULL) return fail(w, "nb_sequential_new"), NULL;
    nb_tensor *params[4];
    if (nb_module_parameters(model, params, NULL, 4) != 4) return fail(w, "parameters"), nb_module_free(model), NULL;
    nb_no_grad_begin();
    for (int i = 0; i < 4; i++)
        if (nb_copy_(params[i], shared_init[i]) == NULL) fail(w, "nb_copy_ of the initial weights");
    nb_no_grad_end();
    if (w->failed) nb_module_free(model), model = NULL;
    return model;
}

/* One provoked error: it must read back as this thread's own message. */
static void check_own_error(worker *w, int step)
{
    nb_clear_error();
    char expected[64];
    snprintf(expected, sizeof expected, "thread %d step %d", w->id, step);
    nb_set_error(NB_ERR_STATE, "thread %d step %d", w->id, step);
    if (nb_last_status() != NB_ERR_STATE || strcmp(nb_last_error(), expected) != 0) {
        snprintf(w->why, sizeof w->why, "error of thread %d step %d read back as '%s'", w->id, step, nb_last_error());
        w->failed = 1;
    }
    nb_clear_error();
}

static void train(worker *w)
{
    nb_module *model = make_model(w);
    if (model == NULL) return;
    nb_tensor *params[4];
    nb_module_parameters(model, params, NULL, 4);
    nb_optim   *optim     = nb_adam_new(params, 4, nb_adam_defaults());
    nb_tensor  *tensors[] = { shared_x, shared_y };
    nb_dataset *data      = nb_tensor_dataset_new(tensors, 2);
    nb_loader  *loader    = data ? nb_loader_new(data, BATCH, true, false, 1234) : NULL;
    if (optim == NULL || loader == NULL) fail(w, "optimizer or loader");
    for (int step = 0; step < STEPS && !w->failed; step++) {
        if (w->id == 0 && nb_set_num_threads(nb_get_num_threads()) != NB_OK) fail(w, "nb_set_num_threads");
        nb_scope_begin();
        nb_tensor *batch[2];
        if (!nb_loader_next(loader, batch)) {
            nb_loader_reset(loader);
            if (!nb_loader_next(loader, batch)) fail(w, "nb_loader_next");
        }
        if (!w->failed) {
            nb_tensor *logits = nb_module_forward(model, batch[0]);
            nb_tensor *loss   = nb_cross_entropy(logits, batch[1], NB_CROSS_ENTROPY_OPTS());
            if (loss == NULL || nb_backward(loss) != NB_OK || nb_optim_step(optim) != NB_OK)
                fail(w, "training step");
            else
                w->losses[step] = nb_item(loss);
            nb_optim_zero_grad(optim);
        }
        nb_scope_end();
        check_own_error(w, step);
    }
    nb_loader_free(loader);
    nb_dataset_free(data);
    nb_optim_free(optim);
    nb_module_free(model);
}

static void *thread_main(void *arg)
{
    worker *w = arg;
    train(w);
    return NULL;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 2;
    if (rounds < 1) rounds = 1;
    int64_t live = nb_live_tensors();

    shared_x = lcg_tensor(NB_SHAPE(SAMPLES, FEATURES), 1, 1.0);
    int64_t labels[SAMPLES];
    uint64_t state = 2;
    for (int i = 0; i < SAMPLES; i++) labels[i] = (int64_t)((lcg(&state) + 1.0) * 2.0) % CLASSES;
    shared_y       = nb_from_data(labels, NB_SHAPE(SAMPLES), NB_OPTS(.dtype = NB_INT64));
    shared_init[0] = lcg_tensor(NB_SHAPE(HIDDEN, FEATURES), 3, 0.25);
    shared_init[1] = lcg_tensor(NB_SHAPE(HIDDEN), 4, 0.25);
    shared_init[2] = lcg_tensor(NB_SHAPE(CLASSES, HIDDEN), 5, 0.18);
    shared_init[3] = lcg_tensor(NB_SHAPE(CLASSES), 6, 0.18);
    if (!shared_x || !shared_y || !shared_init[0] || !shared_init[1] || !shared_init[2] || !shared_init[3]) {
        fprintf(stderr, "stress_threads: making the shared data failed: %s\n", nb_last_error());
        return 1;
    }

    int failures = 0;
    for (int round = 0; round < rounds; round++) {
        worker    workers[THREADS];
        pthread_t threads[THREADS];
        for (int i = 0; i < THREADS; i++) {
            workers[i] = (worker){ .id = i };
            if (pthread_create(&threads[i], NULL, thread_main, &workers[i]) != 0) {
                fprintf(stderr, "stress_threads: pthread_create failed\n");
                return 1;
            }
        }
        for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);

        worker reference = { .id = THREADS };
        train(&reference);
        if (reference.failed) {
            fprintf(stderr, "round %d, main thread: %s\n", round, reference.why);
            failures++;
        }
        if (!(reference.losses[STEPS - 1] < reference.losses[0])) {
            fprintf(stderr, "round %d: the loss did not fall (%g -> %g)\n", round, reference.losses[0],
                    reference.losses[STEPS - 1]);
            failures++;
        }
        for (int i = 0; i < THREADS; i++) {
            if (workers[i].failed) {
                fprintf(stderr, "round %d, thread %d: %s\n", round, i, workers[i].why);
                failures++;
            } else if (memcmp(workers[i].losses, reference.losses, sizeof reference.losses) != 0) {
                for (int s = 0; s < STEPS; s++)
                    if (workers[i].losses[s] != reference.losses[s]) {
                        fprintf(stderr, "round %d, thread %d: step %d loss %.9g, alone %.9g\n", round, i, s,
                                workers[i].losses[s], reference.losses[s]);
                        break;
                    }
                failures++;
            }
        }
        printf("round %d: %d threads x %d steps, loss %.4f -> %.4f\n", round, THREADS, STEPS, reference.losses[0],
               reference.losses[STEPS - 1]);
    }

    nb_free(shared_x);
    nb_free(shared_y);
    for (int i = 0; i < 4; i++) nb_free(shared_init[i]);
    if (nb_live_tensors() != live) {
        fprintf(stderr, "stress_threads: %lld tensors leaked\n", (long long)(nb_live_tensors() - live));
        failures++;
    }
    printf("stress_threads: %d rounds, %s\n", rounds, failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
