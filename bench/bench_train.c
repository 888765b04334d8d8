/*
 * bench_train.c — times whole training steps built from nabla's modules,
 * loss and optimizer, and the training program's start-up and memory, and
 * prints one machine-readable line per (case, thread count), as
 * bench_autograd does:
 *
 *   case threads min_us median_us
 *
 * Times are microseconds per step (a batch of steps is timed with
 * CLOCK_MONOTONIC and divided by the batch size). Lines starting with '#'
 * are comments. bench/compare_train.py runs the same cases, by the same
 * names, in PyTorch, bench/bench_train_torch.cpp in libtorch, and
 * bench/compare_train.sh puts them side by side.
 *
 * The step cases (float32, random inputs and labels; one step is
 * nb_optim_zero_grad, forward, nb_cross_entropy with int64 labels,
 * nb_backward, nb_optim_step, all in one scope):
 *   mlp_step_b64   Linear(784, 256) ReLU Linear(256, 10), x (64, 784); SGD
 *                  with lr 0.01, as the three cases of issue 4
 *   mlp_step_b256  the same, x (256, 784)
 *   cnn_step_b64   Conv2d(1, 8, 3, padding 1) ReLU MaxPool2d(2) Flatten
 *                  Linear(1568, 10), x (64, 1, 28, 28); SGD
 *   cnnbn_step_b128     Conv2d(1, 32, 3, padding 1) BatchNorm2d(32) ReLU
 *                       MaxPool2d(2) Conv2d(32, 64, 3, padding 1)
 *                       BatchNorm2d(64) ReLU MaxPool2d(2) Flatten
 *                       Linear(3136, 10), x (128, 1, 28, 28); Adam with
 *                       nb_adam_defaults() (lr 1e-3); batch norms with eps
 *                       1e-5, momentum 0.1, in training mode (issue 10)
 *   cnn_nobn_step_b128  the same net without its two batch norms
 * Before timing, 20 steps on the case's batch must lower its loss (a sign or
 * scale error in a backward formula would not), else the case fails.
 *
 * The batch-norm case (one iteration is nb_zero_grad of x, weight and bias,
 * then in one scope the forward and the backward):
 *   batchnorm2d_fwd_bwd  y = nb_batch_norm(x, running_mean, running_var,
 *                        weight, bias, training, momentum 0.1, eps 1e-5)
 *                        on x (128, 64, 14, 14) (the second batch norm of
 *                        cnnbn_step_b128), x, weight (64), bias (64) all
 *                        requiring grad; nb_backward_with(y, r) for a fixed
 *                        standard normal r of x's shape (the gradient of
 *                        sum(y * r)). Before timing, one iteration's three
 *                        gradients must exist and be finite.
 *
 * The LSTM case (issue 14): nb_lstm_new(28, 128, batch_first), x (64, 28,
 * 28) and r (64, 28, 128) standard normal; one iteration is
 * nb_module_zero_grad, then in one scope out = nb_module_forward(lstm, x)
 * and nb_backward_with(out, r):
 *   lstm_fwd_bwd   forward and backward through time of one LSTM layer,
 *                  input 28, hidden 128, 28 steps, batch 64
 * Before timing, one iteration must leave finite gradients.
 *
 * After each case's line, a comment line
 *
 *   # cpu case threads iterations wall_us cpu_us
 *
 * gives the wall and the CPU time of the whole process (every thread,
 * spinning helpers included: CLOCK_PROCESS_CPUTIME_ID) per iteration, over
 * the warm-up, calibration and timed batches: cpu_us / wall_us above 1 is
 * parallel work, and cpu_us at 2 threads over cpu_us at 1 is what the second
 * thread costs (bench/contention.sh reads these lines).
 *
 * The process cases run the training program (--train PATH, by default
 * nabla-train beside this program) as a child:
 *   startup   `nabla-train --epochs 1 --model mlp --threads T`, five times
 *             per thread count: the row is the time from fork to the moment
 *             its "setup (...) took N ms; training starts" line arrives (the
 *             child's stdout is made line-buffered with coreutils'
 *             libstdbuf, as `stdbuf -oL` does; without it the row is left
 *             out), i.e. process start to first training batch, exec and
 *             loading included. N itself (measured from main's start) is a
 *             '#' line. The child is killed once the line is read.
 *   peak_rss  ('#' lines only) the default run, `nabla-train --out
 *             /tmp/nb-bench-out` at its default thread count, once: the
 *             child's peak RSS (wait4's ru_maxrss), its wall time, and its
 *             own setup, accuracy and total-time lines.
 *
 * Usage: bench_train [--threads N] [--filter SUBSTRING] [--reps N]
 *                    [--train PATH] [--data DIR]
 *   --threads N   run at N threads only (default: 1 and then 2)
 *   --filter S    run only the cases whose name contains S
 *   --reps N      timed repetitions per step case (default 7)
 *   --train PATH  the training program (default: nabla-train in this
 *                 program's directory)
 *   --data DIR    passed to the training program as --data (default: none,
 *                 so it reads ./data: run from the repository root)
 */
#define _DEFAULT_SOURCE /* fork, pipe, wait4, setenv, kill */

#include "bench_common.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

enum { STARTUP_RUNS = 5, MAX_PARAMS = 16 };

static const double sgd_lr = 0.01;

/* ------------------------------------------------------------------------ */
/* The training steps                                                        */
/* ------------------------------------------------------------------------ */

/* A model, its optimizer and one batch (the step cases), or batch norm's
 * tensors (batchnorm2d_fwd_bwd), made outside any scope before timing and
 * freed after it; the fields a case does not use stay NULL. */
typedef struct {
    nb_module *model;
    nb_optim  *opt;
    nb_tensor *x;      /* (B, 784) or (B, 1, 28, 28) float32, standard normal;
                          batch norm: (N, C, H, W), requiring grad */
    nb_tensor *labels; /* (B) int64 in [0, 10) */
    /* batchnorm2d_fwd_bwd only */
    nb_tensor *weight, *bias;              /* (C) float32, requiring grad: ones, zeros */
    nb_tensor *running_mean, *running_var; /* (C) float32: zeros, ones */
    nb_tensor *grad_output;                /* like x, standard normal */
} case_state;

static void free_state(case_state *s)
{
    nb_optim_free(s->opt); /* borrows the model's parameters: first */
    nb_module_free(s->model);
    nb_tensor *tensors[] = { s->x, s->labels, s->weight, s->bias, s->running_mean, s->running_var, s->grad_output };
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++) nb_free(tensors[i]);
    memset(s, 0, sizeof *s);
}

typedef enum { OPTIM_SGD, OPTIM_ADAM } optim_kind;

/* Takes over model (freed on failure too); SGD (lr 0.01) or Adam (torch's
 * defaults) over all its parameters. */
static bool finish_state(case_state *s, nb_module *model, nb_shape x_shape, optim_kind optim)
{
    s->model = model;
    if (model == NULL) return false;
    nb_tensor *params[MAX_PARAMS];
    int64_t    count = nb_module_parameters(model, params, NULL, MAX_PARAMS);
    if (count < 1 || count > MAX_PARAMS) return false;
    s->opt    = optim == OPTIM_ADAM ? nb_adam_new(params, count, nb_adam_defaults())
                                    : nb_sgd_new(params, count, nb_sgd_defaults(sgd_lr));
    s->x      = nb_randn(x_shape, NB_OPTS());
    s->labels = nb_randint(0, 10, NB_SHAPE(x_shape.dims[0]), NB_OPTS(.dtype = NB_INT64));
    return s->opt && s->x && s->labels;
}

/* Linear(784, 256) ReLU Linear(256, 10) on x (batch, 784). */
static bool make_mlp(case_state *s, int64_t batch)
{
    nb_module *layers[] = { nb_linear_new(784, 256, true), nb_relu_new(), nb_linear_new(256, 10, true) };
    return finish_state(s, nb_sequential_new(layers, 3), NB_SHAPE(batch, 784), OPTIM_SGD);
}

static bool make_mlp_b64(case_state *s) { return make_mlp(s, 64); }
static bool make_mlp_b256(case_state *s) { return make_mlp(s, 256); }

/* Conv2d(1, 8, 3, padding 1) ReLU MaxPool2d(2) Flatten Linear(8*14*14, 10) on
 * x (64, 1, 28, 28). */
static bool make_cnn_b64(case_state *s)
{
    nb_module *layers[] = {
        nb_conv2d_new(1, 8, 3, 3, NB_CONV_OPTS(.padding = { 1, 1 }), true),
        nb_relu_new(),
        nb_max_pool2d_new(NB_POOL_OPTS(.kernel = { 2, 2 })),
        nb_flatten_new(1, -1),
        nb_linear_new(8 * 14 * 14, 10, true),
    };
    return finish_state(s, nb_sequential_new(layers, 5), NB_SHAPE(64, 1, 28, 28), OPTIM_SGD);
}

/* Issue 10's net on x (128, 1, 28, 28), with Adam: two stages of
 * Conv2d(in, out, 3, padding 1) [BatchNorm2d(out)] ReLU MaxPool2d(2)
 * (1->32 channels at 28x28, 32->64 at 14x14), Flatten, Linear(64*7*7, 10). */
static bool make_cnn_b128(case_state *s, bool batch_norm)
{
    nb_module   *layers[11];
    int          n = 0;
    layers[n++]    = nb_conv2d_new(1, 32, 3, 3, NB_CONV_OPTS(.padding = { 1, 1 }), true);
    if (batch_norm) layers[n++] = nb_batch_norm2d_new(32, NB_NORM_OPTS());
    layers[n++] = nb_relu_new();
    layers[n++] = nb_max_pool2d_new(NB_POOL_OPTS(.kernel = { 2, 2 }));
    layers[n++] = nb_conv2d_new(32, 64, 3, 3, NB_CONV_OPTS(.padding = { 1, 1 }), true);
    if (batch_norm) layers[n++] = nb_batch_norm2d_new(64, NB_NORM_OPTS());
    layers[n++] = nb_relu_new();
    layers[n++] = nb_max_pool2d_new(NB_POOL_OPTS(.kernel = { 2, 2 }));
    layers[n++] = nb_flatten_new(1, -1);
    layers[n++] = nb_linear_new(64 * 7 * 7, 10, true);
    return finish_state(s, nb_sequential_new(layers, n), NB_SHAPE(128, 1, 28, 28), OPTIM_ADAM);
}

static bool make_cnnbn_b128(case_state *s) { return make_cnn_b128(s, true); }
static bool make_cnn_nobn_b128(case_state *s) { return make_cnn_b128(s, false); }

/* One step, as a training loop writes it; *loss_out (if not NULL) receives
 * the loss before the update. The graph and the intermediates die with the
 * scope; the gradients stay with the parameters until the next zero_grad
 * (as in torch, whose zero_grad is also at the top of the step). */
static bool train_step_loss(case_state *s, double *loss_out)
{
    nb_optim_zero_grad(s->opt);
    if (nb_scope_begin() != NB_OK) return false;
    nb_tensor *logits = nb_module_forward(s->model, s->x);
    nb_tensor *loss   = nb_cross_entropy(logits, s->labels, NB_CROSS_ENTROPY_OPTS());
    bool       ok     = loss && nb_backward(loss) == NB_OK && nb_optim_step(s->opt) == NB_OK;
    if (ok && loss_out) *loss_out = nb_item(loss);
    if (nb_scope_end() != NB_OK) ok = false;
    return ok;
}

static bool train_step(case_state *s) { return train_step_loss(s, NULL); }

/* 20 steps on the same batch must lower the loss. */
static bool check_descends(const char *name, case_state *s)
{
    double first = 0, last = 0;
    bool   ok = train_step_loss(s, &first);
    for (int i = 0; ok && i < 20; i++) ok = train_step_loss(s, &last);
    if (ok && !(last < first)) {
        fprintf(stderr, "bench_train: %s: loss did not decrease (%g -> %g)\n", name, first, last);
        return false;
    }
    return ok;
}

/* x (128, 64, 14, 14) and r like it, standard normal; weight ones, bias
 * zeros, running_mean zeros, running_var ones (64), as BatchNorm2d(64)
 * starts. */
static bool make_batchnorm2d(case_state *s)
{
    const nb_shape x_shape = NB_SHAPE(128, 64, 14, 14), channels = NB_SHAPE(64);
    s->x            = nb_randn(x_shape, NB_OPTS(.requires_grad = true));
    s->grad_output  = nb_randn(x_shape, NB_OPTS());
    s->weight       = nb_ones(channels, NB_OPTS(.requires_grad = true));
    s->bias         = nb_zeros(channels, NB_OPTS(.requires_grad = true));
    s->running_mean = nb_zeros(channels, NB_OPTS());
    s->running_var  = nb_ones(channels, NB_OPTS());
    return s->x && s->grad_output && s->weight && s->bias && s->running_mean && s->running_var;
}

/* One forward and backward of batch norm in training mode (the running
 * statistics updated, as BatchNorm2d does); the gradients of x, weight and
 * bias are set to none first, as the step cases' zero_grad. */
static bool batchnorm2d_step(case_state *s)
{
    nb_tensor *leaves[] = { s->x, s->weight, s->bias };
    nb_zero_grad(leaves, 3);
    if (nb_scope_begin() != NB_OK) return false;
    nb_tensor *y  = nb_batch_norm(s->x, s->running_mean, s->running_var, s->weight, s->bias, true, 0.1, 1e-5);
    bool       ok = y && nb_backward_with(y, s->grad_output, NB_GRAD_OPTS()) == NB_OK;
    if (nb_scope_end() != NB_OK) ok = false;
    return ok;
}

/* One iteration must leave finite gradients on x, weight and bias. */
static bool check_finite_grads(const char *name, case_state *s)
{
    if (!batchnorm2d_step(s)) return false;
    const nb_tensor *grads[] = { nb_grad(s->x), nb_grad(s->weight), nb_grad(s->bias) };
    if (nb_scope_begin() != NB_OK) return false;
    bool finite = true;
    for (int i = 0; i < 3; i++) finite = finite && grads[i] && nb_item(nb_all(nb_isfinite(grads[i]))) != 0;
    if (nb_scope_end() != NB_OK) return false;
    if (!finite) fprintf(stderr, "bench_train: %s: a gradient is missing or not finite\n", name);
    return finite;
}

/* nn.LSTM(28, 128, batch_first=True) with x (64, 28, 28), r (64, 28, 128). */
static bool make_lstm(case_state *s)
{
    s->model       = nb_lstm_new(28, 128, NB_RNN_OPTS(.batch_first = true));
    s->x           = nb_randn(NB_SHAPE(64, 28, 28), NB_OPTS());
    s->grad_output = nb_randn(NB_SHAPE(64, 28, 128), NB_OPTS());
    return s->model && s->x && s->grad_output;
}

static bool lstm_step(case_state *s)
{
    nb_module_zero_grad(s->model);
    if (nb_scope_begin() != NB_OK) return false;
    nb_tensor *out = nb_module_forward(s->model, s->x);
    bool       ok  = out && nb_backward_with(out, s->grad_output, NB_GRAD_OPTS()) == NB_OK;
    if (nb_scope_end() != NB_OK) ok = false;
    return ok;
}

static bool check_lstm_grads(const char *name, case_state *s)
{
    if (!lstm_step(s)) return false;
    nb_tensor *params[4];
    if (nb_module_parameters(s->model, params, NULL, 4) != 4 || nb_scope_begin() != NB_OK) return false;
    bool finite = true;
    for (int i = 0; i < 4; i++) finite = finite && nb_grad(params[i]) && nb_item(nb_all(nb_isfinite(nb_grad(params[i])))) != 0;
    if (nb_scope_end() != NB_OK) return false;
    if (!finite) fprintf(stderr, "bench_train: %s: a gradient is missing or not finite\n", name);
    return finite;
}

typedef struct {
    const char *name;
    bool (*make)(case_state *s);
    bool (*check)(const char *name, case_state *s); /* before timing */
    bool (*step)(case_state *s);                    /* one timed iteration */
} step_case;

static const step_case step_cases[] = {
    { "mlp_step_b64", make_mlp_b64, check_descends, train_step },
    { "mlp_step_b256", make_mlp_b256, check_descends, train_step },
    { "cnn_step_b64", make_cnn_b64, check_descends, train_step },
    { "cnnbn_step_b128", make_cnnbn_b128, check_descends, train_step },
    { "cnn_nobn_step_b128", make_cnn_nobn_b128, check_descends, train_step },
    { "batchnorm2d_fwd_bwd", make_batchnorm2d, check_finite_grads, batchnorm2d_step },
    { "lstm_fwd_bwd", make_lstm, check_lstm_grads, lstm_step },
};

/* What time_batch runs: a case and its state, and how many iterations it ran. */
typedef struct {
    const step_case *c;
    case_state      *s;
    int64_t          iterations;
} timed_case;

/* Time `calls` iterations in microseconds, or a negative number on failure. */
static double time_batch(void *ctx, int64_t calls)
{
    timed_case *t     = ctx;
    double      start = bench_now_us();
    for (int64_t i = 0; i < calls; i++, t->iterations++)
        if (!t->c->step(t->s)) return -1.0;
    return bench_now_us() - start;
}

/* CPU time of the whole process (every thread, helpers spinning included),
 * in microseconds. */
static double process_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

/* Run one case and print its line, then its "# cpu" line (see main); false
 * if an iteration or the check failed. */
static bool run_step_case(const step_case *c, int threads, int reps)
{
    case_state s;
    memset(&s, 0, sizeof s);
    timed_case t  = { c, &s, 0 };
    bool       ok = c->make(&s) && c->check(c->name, &s);
    if (ok) {
        double cpu_start = process_cpu_us(), wall_start = bench_now_us();
        ok = bench_measure(c->name, threads, reps, time_batch, &t, 0);
        double cpu_us = process_cpu_us() - cpu_start, wall_us = bench_now_us() - wall_start;
        if (ok && t.iterations > 0)
            printf("# cpu %s %d %lld %.3f %.3f\n", c->name, threads, (long long)t.iterations,
                   wall_us / (double)t.iterations, cpu_us / (double)t.iterations);
    }
    if (!ok) bench_report_failure("bench_train", c->name);
    free_state(&s);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* The training program as a child process                                   */
/* ------------------------------------------------------------------------ */

/* Where coreutils keeps the library behind `stdbuf` (Debian, then Fedora). */
static const char *find_libstdbuf(void)
{
    static const char *const places[] = { "/usr/libexec/coreutils/libstdbuf.so", "/usr/lib/coreutils/libstdbuf.so" };
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++)
        if (access(places[i], R_OK) == 0) return places[i];
    return NULL;
}

/* Starts argv[0] with argv, its stdout on a pipe whose read end goes to
 * *out (a stdio stream the caller closes) and its stderr left alone.
 * libstdbuf (NULL: none) makes the child's stdout line-buffered, as
 * `stdbuf -oL` does, so that lines arrive as they are printed. The child's
 * pid, or -1 on failure. */
static pid_t spawn(char *const argv[], const char *libstdbuf, FILE **out)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        if (libstdbuf) {
            setenv("LD_PRELOAD", libstdbuf, 1);
            setenv("_STDBUF_O", "L", 1);
        }
        execv(argv[0], argv);
        fprintf(stderr, "bench_train: cannot run %s\n", argv[0]);
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    *out = fdopen(fds[0], "r");
    if (*out == NULL) {
        close(fds[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

/* The N of a "setup (...) took N ms; training starts" line, or -1. */
static double setup_ms(const char *line)
{
    const char *took = strncmp(line, "setup (", 7) == 0 ? strstr(line, " took ") : NULL;
    return took ? strtod(took + 6, NULL) : -1.0;
}

/* The training program and the options every run of it gets. */
typedef struct {
    const char *program;
    const char *data_dir; /* NULL: the program's default */
} train_program;

/* argv for `program [--data DIR] extra...`; extra ends with NULL. */
static void build_argv(const train_program *p, char *const *extra, char **argv, int capacity)
{
    int n     = 0;
    argv[n++] = (char *)p->program;
    if (p->data_dir) {
        argv[n++] = "--data";
        argv[n++] = (char *)p->data_dir;
    }
    for (int i = 0; extra[i] && n < capacity - 1; i++) argv[n++] = extra[i];
    argv[n] = NULL;
}

/* One run of `--epochs 1 --model mlp --threads T`, killed when its setup
 * line arrives: *start_us gets fork-to-line microseconds, *main_ms the
 * program's own figure. */
static bool startup_once(const train_program *p, const char *libstdbuf, int threads, double *start_us, double *main_ms)
{
    char  threads_text[16];
    char *argv[16];
    snprintf(threads_text, sizeof threads_text, "%d", threads);
    char *extra[] = { "--epochs", "1", "--model", "mlp", "--threads", threads_text, "--out", "/tmp/nb-bench-startup",
                      NULL };
    build_argv(p, extra, argv, 16);
    FILE  *out     = NULL;
    double started = bench_now_us();
    pid_t  pid     = spawn(argv, libstdbuf, &out);
    if (pid < 0) return false;
    char line[1024];
    *main_ms = -1;
    while (*main_ms < 0 && fgets(line, sizeof line, out)) *main_ms = setup_ms(line);
    *start_us = bench_now_us() - started;
    kill(pid, SIGKILL); /* the rest of the epoch is not needed */
    fclose(out);
    waitpid(pid, NULL, 0);
    return *main_ms >= 0;
}

/* The startup row at one thread count, and the program's own figure. */
static bool run_startup(const train_program *p, int threads)
{
    const char *libstdbuf = find_libstdbuf();
    double      start_us[STARTUP_RUNS], main_ms[STARTUP_RUNS];
    for (int r = 0; r < STARTUP_RUNS; r++) {
        if (!startup_once(p, libstdbuf, threads, &start_us[r], &main_ms[r])) {
            fprintf(stderr, "bench_train: startup: %s printed no \"setup (...) took N ms\" line\n", p->program);
            return false;
        }
    }
    double start_median = bench_sorted_median(start_us, STARTUP_RUNS), main_median = bench_sorted_median(main_ms, STARTUP_RUNS);
    printf("# startup %d: nabla-train --epochs 1 --model mlp --threads %d, %d runs: main's start to first batch "
           "(its setup line) min %.0f ms, median %.0f ms; fork to that line min %.1f ms, median %.1f ms\n",
           threads, threads, STARTUP_RUNS, main_ms[0], main_median, start_us[0] * 1e-3, start_median * 1e-3);
    if (libstdbuf)
        printf("startup %d %.3f %.3f\n", threads, start_us[0], start_median);
    else
        printf("# startup %d: no libstdbuf.so (coreutils): the child's output arrives only at its end, so the "
               "fork-to-first-batch row is left out\n", threads);
    fflush(stdout);
    return true;
}

/* The default run, once: its peak RSS and wall time as '#' lines, with its
 * own setup, accuracy and total-time lines. */
static bool run_peak_rss(const train_program *p)
{
    char *argv[16];
    char *extra[] = { "--out", "/tmp/nb-bench-out", NULL };
    build_argv(p, extra, argv, 16);
    FILE  *out     = NULL;
    double started = bench_now_us();
    pid_t  pid     = spawn(argv, NULL, &out);
    if (pid < 0) return false;
    enum { LINE = 1024 };
    char line[LINE], setup[LINE] = "", first[LINE] = "", accuracy[LINE] = "", total[LINE] = "";
    while (fgets(line, sizeof line, out)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (first[0] == '\0') snprintf(first, sizeof first, "%s", line);
        if (setup_ms(line) >= 0) snprintf(setup, sizeof setup, "%s", line);
        if (strncmp(line, "test accuracy", 13) == 0) snprintf(accuracy, sizeof accuracy, "%s", line);
        if (strncmp(line, "total time", 10) == 0) snprintf(total, sizeof total, "%s", line);
    }
    fclose(out);
    int           status = 0;
    struct rusage usage;
    pid_t         waited = wait4(pid, &status, 0, &usage);
    double        wall_s = (bench_now_us() - started) * 1e-6;
    if (waited != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_train: peak_rss: %s --out /tmp/nb-bench-out failed\n", p->program);
        return false;
    }
    printf("# peak_rss: default run `nabla-train --out /tmp/nb-bench-out`: maxrss %ld KiB (%.1f MB), wall %.1f s, "
           "user %.1f s, sys %.1f s\n",
           usage.ru_maxrss, (double)usage.ru_maxrss * 1024 / 1e6, wall_s,
           (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec * 1e-6,
           (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec * 1e-6);
    printf("# peak_rss: its lines: \"%s\" | \"%s\" | \"%s\" | \"%s\"\n", first, setup, accuracy, total);
    fflush(stdout);
    return true;
}

/* nabla-train in the directory of argv0 (in static storage). */
static const char *default_train_program(const char *argv0)
{
    static char path[4096];
    const char *slash = strrchr(argv0, '/');
    int         dir   = slash ? (int)(slash - argv0) : 1;
    snprintf(path, sizeof path, "%.*s/nabla-train", dir, slash ? argv0 : ".");
    return path;
}

static void usage(const char *program)
{
    fprintf(stderr, "usage: %s [--threads N] [--filter SUBSTRING] [--reps N] [--train PATH] [--data DIR]\n",
            program);
}

int main(int argc, char **argv)
{
    bench_options opt;
    bench_options_init(&opt);
    train_program program = { default_train_program(argv[0]), NULL };
    for (int i = 1; i < argc; i++) {
        int taken = bench_parse_option(&opt, argc, argv, &i);
        if (taken == 0 && i + 1 < argc && !strcmp(argv[i], "--train")) program.program = argv[++i];
        else if (taken == 0 && i + 1 < argc && !strcmp(argv[i], "--data")) program.data_dir = argv[++i];
        else if (taken != 1) {
            usage(argv[0]);
            return 2;
        }
    }
    int  reps         = opt.reps > 0 ? opt.reps : BENCH_DEFAULT_REPS;
    bool want_startup = bench_selected(&opt, "startup"), want_rss = bench_selected(&opt, "peak_rss");
    if ((want_startup || want_rss) && access(program.program, X_OK) != 0) {
        fprintf(stderr, "bench_train: %s is not an executable (build the nabla-train target or pass --train PATH); "
                        "skipping startup and peak_rss\n", program.program);
        want_startup = want_rss = false;
    }

    nb_manual_seed(0);
    printf("# nabla bench_train: gemm=%s default_threads=%d\n", nb_gemm_backend(), nb_get_num_threads());
    printf("# case threads min_us median_us\n");
    printf("# cpu case threads iterations wall_us cpu_us: per iteration, over the warm-up, calibration and timed "
           "batches; cpu_us is the process's CPU time (all threads)\n");
    int failures = 0;
    for (int t = 0; t < opt.nthread_counts; t++) {
        if (!bench_set_threads("bench_train", opt.thread_counts[t])) {
            failures++;
            continue;
        }
        for (size_t i = 0; i < sizeof step_cases / sizeof step_cases[0]; i++) {
            if (!bench_selected(&opt, step_cases[i].name)) continue;
            if (!run_step_case(&step_cases[i], opt.thread_counts[t], reps)) failures++;
        }
    }
    nb_empty_cache();
    for (int t = 0; want_startup && t < opt.nthread_counts; t++)
        if (!run_startup(&program, opt.thread_counts[t])) failures++;
    if (want_rss && !run_peak_rss(&program)) failures++;
    return failures ? 1 : 0;
}
