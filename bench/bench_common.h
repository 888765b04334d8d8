/*
 * bench_common.h — the timing, statistics, options and reporting that
 * bench_core, bench_autograd and bench_train share (static inline: each
 * bench is one translation unit). Include it after the feature-test macro
 * (_POSIX_C_SOURCE or _DEFAULT_SOURCE) that makes clock_gettime visible.
 *
 * Every bench prints one line per (case, thread count):
 *
 *   case threads min_us median_us
 *
 * where a batch of calls, grown until it takes about BENCH_TARGET_BATCH_US,
 * is timed with CLOCK_MONOTONIC and divided by its size.
 */
#ifndef NB_BENCH_COMMON_H
#define NB_BENCH_COMMON_H

#include "nabla.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BENCH_MAX_REPS = 1000, BENCH_DEFAULT_REPS = 7 };

/* A batch of calls is grown until it takes about this long, so that clock
 * resolution and loop overhead vanish from the per-call time. */
#define BENCH_TARGET_BATCH_US 20000.0

static inline double bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static inline int bench_compare_doubles(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* values sorted in place (so values[0] is the minimum); their median. */
static inline double bench_sorted_median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof values[0], bench_compare_doubles);
    return count % 2 ? values[count / 2] : 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

/* Times `calls` calls of a case in microseconds, or a negative number if one
 * failed. */
typedef double (*bench_batch_fn)(void *ctx, int64_t calls);

/* Calls per timed batch: fixed_batch when positive, else doubled from 1 until
 * a batch takes BENCH_TARGET_BATCH_US (after one warm-up call, which also
 * warms caches, the block cache and the thread pool). 0 on failure. */
static inline int64_t bench_calibrate(bench_batch_fn time_batch, void *ctx, int64_t fixed_batch)
{
    if (time_batch(ctx, 1) < 0) return 0; /* warm-up */
    if (fixed_batch > 0) return fixed_batch;
    for (int64_t calls = 1;; calls *= 2) {
        double us = time_batch(ctx, calls);
        if (us < 0) return 0;
        if (us >= BENCH_TARGET_BATCH_US / 4 || calls >= ((int64_t)1 << 30)) {
            double  per_call = us / (double)calls;
            int64_t want     = (int64_t)(BENCH_TARGET_BATCH_US / (per_call > 1e-3 ? per_call : 1e-3));
            return want > calls ? want : calls;
        }
    }
}

/* Calibrates, times `reps` batches (at most BENCH_MAX_REPS) and prints the
 * case's line; false (nothing printed) if a batch failed. */
static inline bool bench_measure(const char *name, int threads, int reps, bench_batch_fn time_batch, void *ctx,
                                 int64_t fixed_batch)
{
    if (reps > BENCH_MAX_REPS) reps = BENCH_MAX_REPS;
    int64_t calls = bench_calibrate(time_batch, ctx, fixed_batch);
    if (calls <= 0) return false;
    double per_call_us[BENCH_MAX_REPS];
    for (int r = 0; r < reps; r++) {
        double us = time_batch(ctx, calls);
        if (us < 0) return false;
        per_call_us[r] = us / (double)calls;
    }
    double median = bench_sorted_median(per_call_us, reps);
    printf("%s %d %.3f %.3f\n", name, threads, per_call_us[0], median);
    fflush(stdout);
    return true;
}

/* "<program>: <name> failed[: <nabla's error>]" on stderr; clears the error. */
static inline void bench_report_failure(const char *program, const char *name)
{
    bool has_error = nb_last_status() != NB_OK;
    fprintf(stderr, "%s: %s failed%s%s\n", program, name, has_error ? ": " : "", has_error ? nb_last_error() : "");
    nb_clear_error();
    fflush(stdout);
}

/* The options every bench takes. */
typedef struct {
    int         thread_counts[2]; /* 1 and 2, or --threads N alone */
    int         nthread_counts;
    int         reps;             /* 0: the bench's default */
    const char *filter;           /* NULL: every case */
} bench_options;

static inline void bench_options_init(bench_options *o)
{
    memset(o, 0, sizeof *o);
    o->thread_counts[0] = 1;
    o->thread_counts[1] = 2;
    o->nthread_counts   = 2;
}

/* Takes argv[*i] (and its value) if it is --threads, --filter or --reps.
 * Returns 1 if taken, 0 if not one of them, -1 if its value is invalid. */
static inline int bench_parse_option(bench_options *o, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) return 0;
    if (!strcmp(argv[*i], "--threads")) {
        int n = atoi(argv[++*i]);
        if (n < 0) return -1;
        if (n > 0) {
            o->thread_counts[0] = n;
            o->nthread_counts   = 1;
        }
        return 1;
    }
    if (!strcmp(argv[*i], "--filter")) {
        o->filter = argv[++*i];
        return 1;
    }
    if (!strcmp(argv[*i], "--reps")) {
        o->reps = atoi(argv[++*i]);
        return o->reps < 0 ? -1 : 1;
    }
    return 0;
}

/* Initialises o from a command line of the common options alone; false
 * (with the usage on stderr) for anything else. */
static inline bool bench_parse_options(bench_options *o, int argc, char **argv)
{
    bench_options_init(o);
    for (int i = 1; i < argc; i++)
        if (bench_parse_option(o, argc, argv, &i) != 1) {
            fprintf(stderr, "usage: %s [--threads N] [--filter SUBSTRING] [--reps N]\n", argv[0]);
            return false;
        }
    return true;
}

/* Whether the filter selects the case `name`. */
static inline bool bench_selected(const bench_options *o, const char *name)
{
    return !o->filter || strstr(name, o->filter);
}

/* Sets the thread count; false (with the error on stderr) if that failed. */
static inline bool bench_set_threads(const char *program, int threads)
{
    if (nb_set_num_threads(threads) == NB_OK) return true;
    fprintf(stderr, "%s: %s\n", program, nb_last_error());
    nb_clear_error();
    return false;
}

#endif
