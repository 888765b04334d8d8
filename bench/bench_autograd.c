/*
 * bench_autograd.c — times nabla's autograd (recording, backward, zeroing
 * grads) on the CPU and prints one machine-readable line per (case, thread
 * count), as bench_core does:
 *
 *   case threads min_us median_us
 *
 * Times are microseconds per iteration (a batch of iterations is timed with
 * CLOCK_MONOTONIC and divided by the batch size). Lines starting with '#'
 * are comments; the memory readings are comments too. bench/compare_autograd.py
 * runs the same cases, by the same names, in PyTorch and NumPy (by hand),
 * bench/bench_autograd_torch.cpp in libtorch, and bench/compare_autograd.sh
 * puts them side by side.
 *
 * The cases (float32):
 *   seed_step          the seed text's training step: X (4,3) constant, W (3,2)
 *                      and b (2) requiring grad; y = X W + b; loss = sum(y);
 *                      backward; grads set to none. One scope per step.
 *   add_4x3_record     out = nb_add(a, b) with a requiring grad (a graph node
 *                      is recorded); nb_free(out) releases it.
 *   add_4x3_norecord   the same with no input requiring grad (reference: what
 *                      recording adds is the difference).
 *   mlp_step_b64       2-layer MLP 784-256-10, batch 64: relu(X W1 + b1) W2 + b2,
 *                      loss = -mean(log_softmax(logits) * onehot), backward,
 *                      SGD (p -= lr * grad) under no-grad, grads set to none.
 *   memory             (no timing line) 10,000 seed steps, each in a scope:
 *                      peak RSS (getrusage ru_maxrss) after 100 and after
 *                      10,000 steps, and nb_live_tensors() before and after.
 *                      Runs first, before any timed case, so the peak is the
 *                      steps' own; only at the first thread count.
 *
 * Before timing, seed_step and mlp_step_b64 check one step's gradients (seed:
 * dL/dW = X^T ones, dL/db = 4; MLP: the loss decreases after a few steps)
 * and fail the case if they are wrong.
 *
 * Usage: bench_autograd [--threads N] [--filter SUBSTRING] [--reps N]
 *   --threads N   run at N threads only (default: 1 and then 2)
 *   --filter S    run only the cases whose name contains S ("memory" too)
 *   --reps N      timed repetitions per case (default 7)
 */
#define _POSIX_C_SOURCE 199309L

#include "bench_common.h"

#include <math.h>
#include <sys/resource.h>

/* ------------------------------------------------------------------------ */
/* The cases' state and one iteration of each                               */
/* ------------------------------------------------------------------------ */

/* Every tensor a case uses, made outside any scope before timing and freed
 * after it. Unused fields stay NULL. */
typedef struct {
    nb_tensor *x;      /* input batch (constant)                    */
    nb_tensor *onehot; /* mlp: float32 (64, 10) one-hot labels       */
    nb_tensor *params[4];
    int        nparams;
    nb_tensor *a, *b; /* add cases */
} case_state;

static void free_state(case_state *s)
{
    nb_free(s->x);
    nb_free(s->onehot);
    for (int i = 0; i < s->nparams; i++) nb_free(s->params[i]);
    nb_free(s->a);
    nb_free(s->b);
    memset(s, 0, sizeof *s);
}

/* seed: X (4,3), W (3,2) and b (2) requiring grad. */
static bool make_seed(case_state *s)
{
    s->x         = nb_randn(NB_SHAPE(4, 3), NB_OPTS());
    s->params[0] = nb_randn(NB_SHAPE(3, 2), NB_OPTS(.requires_grad = true));
    s->params[1] = nb_randn(NB_SHAPE(2), NB_OPTS(.requires_grad = true));
    s->nparams   = 2;
    return s->x && s->params[0] && s->params[1];
}

/* y = X W + b; loss = sum(y); backward; then W.grad = b.grad = None. The
 * graph and every intermediate live in the step's scope; the gradients
 * belong to W and b until nb_zero_grad. */
static bool seed_step(case_state *s)
{
    if (nb_scope_begin() != NB_OK) return false;
    nb_tensor *y    = nb_add(nb_matmul(s->x, s->params[0]), s->params[1]);
    nb_tensor *loss = nb_sum(y);
    bool       ok   = loss && nb_backward(loss) == NB_OK;
    if (nb_scope_end() != NB_OK) ok = false;
    nb_zero_grad(s->params, s->nparams);
    return ok;
}

/* One step with its gradients checked against the hand-derived ones:
 * dL/dW = X^T ones(4, 2), dL/db = 4 ones(2). */
static bool seed_step_checked(case_state *s)
{
    bool ok = nb_scope_begin() == NB_OK;
    if (!ok) return false;
    nb_tensor *loss = nb_sum(nb_add(nb_matmul(s->x, s->params[0]), s->params[1]));
    ok              = loss && nb_backward(loss) == NB_OK;
    nb_tensor *dW = nb_grad(s->params[0]), *db = nb_grad(s->params[1]);
    if (ok && dW && db) {
        nb_tensor *want_dW = nb_matmul(nb_t(s->x), nb_ones(NB_SHAPE(4, 2), NB_OPTS()));
        double     err_W   = nb_item(nb_max(nb_abs(nb_sub(want_dW, dW))));
        double     err_b   = nb_item(nb_max(nb_abs(nb_sub_scalar(db, 4.0))));
        ok                 = err_W < 1e-5 && err_b < 1e-5;
        if (!ok) fprintf(stderr, "bench_autograd: seed_step: wrong gradients (|dW err| %g, |db err| %g)\n", err_W, err_b);
    } else if (ok) {
        fprintf(stderr, "bench_autograd: seed_step: backward left no gradient in W or b\n");
        ok = false;
    }
    if (nb_scope_end() != NB_OK) ok = false;
    nb_zero_grad(s->params, s->nparams);
    return ok;
}

/* add: a (4,3) requiring grad (or not), b (4,3) constant. */
static bool make_add(case_state *s, bool record)
{
    s->a = nb_randn(NB_SHAPE(4, 3), NB_OPTS(.requires_grad = record));
    s->b = nb_randn(NB_SHAPE(4, 3), NB_OPTS());
    return s->a && s->b;
}

/* Freeing the output drops the only reference to its node. */
static bool add_step(case_state *s)
{
    nb_tensor *out = nb_add(s->a, s->b);
    if (!out) return false;
    nb_free(out);
    return true;
}

enum { MLP_BATCH = 64, MLP_IN = 784, MLP_HIDDEN = 256, MLP_OUT = 10 };
static const double mlp_lr = 0.01;

/* Weights scaled like PyTorch's default Linear init (uniform-ish 1/sqrt(in)),
 * biases zero; labels uniform in [0, 10). */
static bool make_mlp(case_state *s)
{
    s->x = nb_randn(NB_SHAPE(MLP_BATCH, MLP_IN), NB_OPTS());
    nb_scope_begin();
    nb_tensor *labels = nb_randint(0, MLP_OUT, NB_SHAPE(MLP_BATCH), NB_OPTS(.dtype = NB_INT64));
    s->onehot         = nb_keep(nb_to_dtype(nb_one_hot(labels, MLP_OUT), NB_FLOAT32));
    s->params[0] = nb_keep(nb_mul_scalar(nb_randn(NB_SHAPE(MLP_IN, MLP_HIDDEN), NB_OPTS()), 1.0 / sqrt(MLP_IN)));
    s->params[1] = nb_keep(nb_zeros(NB_SHAPE(MLP_HIDDEN), NB_OPTS()));
    s->params[2] = nb_keep(nb_mul_scalar(nb_randn(NB_SHAPE(MLP_HIDDEN, MLP_OUT), NB_OPTS()), 1.0 / sqrt(MLP_HIDDEN)));
    s->params[3] = nb_keep(nb_zeros(NB_SHAPE(MLP_OUT), NB_OPTS()));
    nb_scope_end();
    s->nparams = 4;
    if (!s->x || !s->onehot) return false;
    for (int i = 0; i < s->nparams; i++)
        if (!s->params[i] || nb_requires_grad_(s->params[i], true) != NB_OK) return false;
    return true;
}

/* One training step; *loss_out (if not NULL) receives the loss before the
 * update. */
static bool mlp_step_loss(case_state *s, double *loss_out)
{
    if (nb_scope_begin() != NB_OK) return false;
    nb_tensor *hidden = nb_relu(nb_add(nb_matmul(s->x, s->params[0]), s->params[1]));
    nb_tensor *logits = nb_add(nb_matmul(hidden, s->params[2]), s->params[3]);
    nb_tensor *loss   = nb_neg(nb_mean(nb_mul(nb_log_softmax(logits, 1), s->onehot)));
    bool       ok     = loss && nb_backward(loss) == NB_OK;
    if (ok && loss_out) *loss_out = nb_item(loss);
    if (ok && nb_no_grad_begin() == NB_OK) {
        for (int i = 0; i < s->nparams && ok; i++)
            ok = nb_sub_(s->params[i], nb_mul_scalar(nb_grad(s->params[i]), mlp_lr)) != NULL;
        if (nb_no_grad_end() != NB_OK) ok = false;
    } else {
        ok = false;
    }
    if (nb_scope_end() != NB_OK) ok = false;
    nb_zero_grad(s->params, s->nparams);
    return ok;
}

static bool mlp_step(case_state *s) { return mlp_step_loss(s, NULL); }

/* A few steps on the same batch must lower the loss (the gradients point
 * downhill); a sign or scale error in a backward formula would not. */
static bool mlp_check(case_state *s)
{
    double first = 0, last = 0;
    bool   ok = mlp_step_loss(s, &first);
    for (int i = 0; ok && i < 20; i++) ok = mlp_step_loss(s, &last);
    if (ok && !(last < first)) {
        fprintf(stderr, "bench_autograd: mlp_step_b64: loss did not decrease (%g -> %g)\n", first, last);
        return false;
    }
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Timing                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    bool (*make)(case_state *s);
    bool (*check)(case_state *s); /* NULL: none */
    bool (*step)(case_state *s);
} bench_case;

static bool make_add_record(case_state *s) { return make_add(s, true); }
static bool make_add_norecord(case_state *s) { return make_add(s, false); }

static const bench_case cases[] = {
    { "seed_step", make_seed, seed_step_checked, seed_step },
    { "add_4x3_record", make_add_record, NULL, add_step },
    { "add_4x3_norecord", make_add_norecord, NULL, add_step },
    { "mlp_step_b64", make_mlp, mlp_check, mlp_step },
};

/* A case and its state, for bench_measure. */
typedef struct {
    const bench_case *c;
    case_state       *s;
} case_ctx;

/* Time `calls` iterations in microseconds, or a negative number on failure. */
static double time_batch(void *ctx, int64_t calls)
{
    const case_ctx *x     = ctx;
    double          start = bench_now_us();
    for (int64_t i = 0; i < calls; i++)
        if (!x->c->step(x->s)) return -1.0;
    return bench_now_us() - start;
}

/* Run one case and print its line; false if a step failed or a check did. */
static bool run_case(const bench_case *c, int threads, int reps)
{
    case_state s;
    memset(&s, 0, sizeof s);
    case_ctx ctx = { c, &s };
    bool     ok  = c->make(&s) && (!c->check || c->check(&s)) && bench_measure(c->name, threads, reps, time_batch, &ctx, 0);
    if (!ok) bench_report_failure("bench_autograd", c->name);
    free_state(&s);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Memory                                                                    */
/* ------------------------------------------------------------------------ */

/* Peak resident set size of this process so far, in KiB (Linux units). */
static long peak_rss_kb(void)
{
    struct rusage usage;
    return getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : -1;
}

/* Resident set size now, in KiB, from /proc (-1 where there is none). */
static long current_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    long pages_total = 0, pages_resident = -1;
    if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = -1;
    fclose(f);
    return pages_resident < 0 ? -1 : pages_resident * 4; /* 4 KiB pages */
}

/* 10,000 seed steps; the readings are '#' lines. False if a step failed or
 * tensors leaked. */
static bool run_memory(void)
{
    enum { EARLY_STEPS = 100, ALL_STEPS = 10000 };
    int64_t    live_start = nb_live_tensors();
    case_state s;
    memset(&s, 0, sizeof s);
    bool    ok          = make_seed(&s);
    int64_t live_before = nb_live_tensors();
    long    peak_early = 0, rss_early = 0;
    for (int step = 1; ok && step <= ALL_STEPS; step++) {
        ok = seed_step(&s);
        if (step == EARLY_STEPS) {
            peak_early = peak_rss_kb();
            rss_early  = current_rss_kb();
        }
    }
    long    peak_late  = peak_rss_kb();
    long    rss_late   = current_rss_kb();
    int64_t live_after = nb_live_tensors();
    free_state(&s);
    int64_t live_end = nb_live_tensors();
    if (!ok) {
        fprintf(stderr, "bench_autograd: memory: a seed step failed: %s\n", nb_last_error());
        nb_clear_error();
        return false;
    }
    printf("# memory seed_step: maxrss_kb after %d steps %ld, after %d steps %ld (growth %ld); "
           "rss_kb %ld -> %ld\n",
           EARLY_STEPS, peak_early, ALL_STEPS, peak_late, peak_late - peak_early, rss_early, rss_late);
    printf("# memory seed_step: live tensors before steps %lld, after %d steps %lld "
           "(start %lld, after freeing X W b %lld)\n",
           (long long)live_before, ALL_STEPS, (long long)live_after, (long long)live_start, (long long)live_end);
    fflush(stdout);
    return live_after == live_before && live_end == live_start;
}

int main(int argc, char **argv)
{
    bench_options opt;
    if (!bench_parse_options(&opt, argc, argv)) return 2;
    int reps = opt.reps > 0 ? opt.reps : BENCH_DEFAULT_REPS;

    nb_manual_seed(0);
    printf("# nabla bench_autograd: gemm=%s default_threads=%d\n", nb_gemm_backend(), nb_get_num_threads());
    printf("# case threads min_us median_us\n");
    int failures = 0;
    for (int t = 0; t < opt.nthread_counts; t++) {
        if (!bench_set_threads("bench_autograd", opt.thread_counts[t])) {
            failures++;
            continue;
        }
        if (t == 0 && bench_selected(&opt, "memory") && !run_memory()) failures++;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            if (!bench_selected(&opt, cases[i].name)) continue;
            if (!run_case(&cases[i], opt.thread_counts[t], reps)) failures++;
        }
    }
    nb_empty_cache();
    return failures ? 1 : 0;
}
