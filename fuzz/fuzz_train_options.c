/*
 * fuzz_train_options.c — libFuzzer target for nabla-train's option parser
 * (apps/train/options.c), alone: nothing is loaded or trained. Not part of
 * the default build.
 *
 * An input is a command line: its bytes split at each NUL into argv[1..]
 * (argv[0] is "nabla-train"; a NUL at the very end ends the last argument,
 * it does not add an empty one). The parser is built from the training
 * program's own source, so what is fuzzed is what ships.
 *
 * Build (clang), from the repository root; the parser needs only libc:
 *
 *   mkdir -p build/fuzz
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Iapps/train \
 *         fuzz/fuzz_train_options.c apps/train/options.c \
 *         -o build/fuzz/fuzz_train_options
 *
 * (or with CMake's NB_BUILD_FUZZERS=ON, target fuzz_train_options).
 *
 * Run, seeded with the committed command lines, for a minute:
 *
 *   mkdir -p build/fuzz/corpus_train_options
 *   build/fuzz/fuzz_train_options -max_total_time=60 -rss_limit_mb=2048 \
 *         build/fuzz/corpus_train_options fuzz/corpus/train_options
 *
 * What it checks, for any argv: no crash, no sanitizer report, no exit or
 * abort inside the parser (main decides the exit status); a refusal is a
 * non-empty, terminated one-line reason, also when the error buffer is
 * tiny; an acceptance leaves every option in the range main relies on,
 * with strings that are the defaults or arguments of argv.
 */
#include "train.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_ARGS = 512 };

/* s is one of argv[1..argc) (the very pointer), or equal to a default. */
static bool from_argv_or(const char *s, int argc, char **argv, const char *const *defaults)
{
    if (s == NULL) return false;
    for (int i = 1; i < argc; i++)
        if (s == argv[i]) return true;
    for (int i = 0; defaults[i]; i++)
        if (strcmp(s, defaults[i]) == 0) return true;
    return false;
}

static bool one_of(const char *s, const char *const *choices)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(s, choices[i]) == 0) return true;
    return false;
}

static void check_accepted(const train_options *o, int argc, char **argv)
{
    /* the parser's own lists: a model added there is accepted here too */
    const char *const *models = train_models, *const *optimizers = train_optimizers, *const *devices = train_devices;
    static const char *const data[] = { "data", NULL }, *const out[] = { "nabla-out", NULL };
    if (!from_argv_or(o->model, argc, argv, models) || !one_of(o->model, models)) abort();
    if (!from_argv_or(o->optimizer, argc, argv, optimizers) || !one_of(o->optimizer, optimizers)) abort();
    if (!from_argv_or(o->device, argc, argv, devices) || !one_of(o->device, devices)) abort();
    if (!from_argv_or(o->data_dir, argc, argv, data) || !from_argv_or(o->out_dir, argc, argv, out)) abort();
    if (o->help) return; /* --help stops parsing: the numbers need not have their defaults yet */
    if (o->epochs < 1 || o->epochs > 100000) abort();
    if (o->batch_size < 1 || o->batch_size > (1 << 20)) abort();
    if (o->threads < 0 || o->threads > 4096) abort();
    if (o->augment < 0 || o->augment > 8) abort();
    if (!(o->label_smoothing >= 0 && o->label_smoothing < 1)) abort();
    /* lr 0 only with sgd, whose default main fills in */
    if (!(o->lr > 0 && o->lr < 100) && !(o->lr == 0 && strcmp(o->optimizer, "sgd") == 0)) abort();
    if (o->seed > (uint64_t)LLONG_MAX) abort();
}

/* A refusal: a reason that fits the buffer, terminated, on one line. */
static void check_refused(const char *error, size_t error_size)
{
    if (error_size == 0) return;
    const char *end = memchr(error, '\0', error_size);
    if (end == NULL) abort();
    if (error_size > 1 && end == error) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The arguments live in a copy that ends in a NUL, split in place. */
    char *text = malloc(size + 1);
    if (text == NULL) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[MAX_ARGS + 2];
    int   argc = 0;
    argv[argc++] = "nabla-train";
    for (size_t start = 0; start < size && argc <= MAX_ARGS;) {
        argv[argc++] = text + start;
        start += strlen(text + start) + 1;
    }
    argv[argc] = NULL;

    /* A full-size buffer as main has, then a tiny one: the reason must be
     * cut short safely, and the verdict must not depend on the buffer. */
    train_options o;
    char          error[1024];
    memset(error, 'x', sizeof error);
    bool accepted = parse_options(argc, argv, &o, error, sizeof error);
    if (accepted)
        check_accepted(&o, argc, argv);
    else
        check_refused(error, sizeof error);
    if (!accepted && strchr(error, '\n') != NULL) abort();

    char tiny[4];
    memset(tiny, 'x', sizeof tiny);
    train_options again;
    if (parse_options(argc, argv, &again, tiny, sizeof tiny) != accepted) abort();
    if (!accepted) check_refused(tiny, sizeof tiny);
    free(text);
    return 0;
}
