/*
 * options.c — nabla-train's command line. Every bad argument is a one-line
 * reason; main prints the usage after it and exits with status 2. The
 * parser only reads argv and writes *o and *error: it never exits, prints
 * or allocates, so it can be fuzzed alone (fuzz/fuzz_train_options.c).
 */
#define _POSIX_C_SOURCE 200809L /* PATH_MAX */
#include "train.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void print_usage(FILE *f, const char *program)
{
    fprintf(f,
            "usage: %s [options]\n"
            "Train an image classifier (10 classes) on IDX data and evaluate it.\n"
            "  --model cnn|mlp|lstm|vit\n"
            "                         network (default cnn: two conv-relu-pool stages and a linear\n"
            "                         head; mlp: 784-256-10; lstm: an LSTM(28, 128) reading the 28\n"
            "                         rows as steps, linear head on the last step; vit: a 2-layer\n"
            "                         transformer on 7x7 patches)\n"
            "  --epochs N             passes over the training set (default 12 for cnn, 10 for mlp\n"
            "                         and lstm, 15 for vit)\n"
            "  --batch-size N         samples per step (default 64)\n"
            "  --lr X                 peak learning rate, annealed to 0 by a cosine over the run\n"
            "                         (default 2e-3 for cnn, lstm and vit, 1e-3 for mlp; 0.05 with sgd)\n"
            "  --optimizer NAME       adam, adamw, sgd (momentum 0.9) or rmsprop (default adam)\n"
            "  --data DIR             IDX files with the standard MNIST names, .gz or plain (default data)\n"
            "  --seed N               seed of initialisation and shuffling (default 0)\n"
            "  --threads N            CPU threads (default: all cores)\n"
            "  --device auto|cpu|cuda where to train (default auto: the CPU until the CUDA backend has run on a GPU)\n"
            "  --out DIR              where model.safetensors and curves.svg go (default nabla-out)\n"
            "  --augment K            shift each training image by a random offset in [-K, K] pixels\n"
            "                         (default 1; 0 for lstm)\n"
            "  --label-smoothing X    cross-entropy label smoothing in [0, 1) (default 0.1 for cnn, 0 for mlp and lstm)\n"
            "  --detect-anomaly       check every gradient for NaN and infinity (slower): a non-finite\n"
            "                         gradient stops training naming the backward node and its op\n"
            "  --distributed          data-parallel training, run as mpirun -np N %s --distributed:\n"
            "                         each process trains on its shard of every epoch with batch\n"
            "                         --batch-size (N times that per step in all), gradients are\n"
            "                         averaged over the processes; rank 0 prints and writes the files.\n"
            "                         Threads per process default to the cores / processes per machine\n"
            "  --help                 this text\n"
            "The images are IDX files of 28x28 images, light on dark as in MNIST (the bundled data are\n"
            "digits): ubyte (or any integer type) pixels from 0 to 255, or float/double intensities from\n"
            "0 to 1 (pixel / 255); labels are class indices from 0 to 9. A file classes.txt in the data\n"
            "folder (one name per line) names the classes in the report. Anything else is refused with\n"
            "the reason. A run whose loss becomes NaN or infinite stops with status 1 and writes no model.\n",
            program, program);
}

/* A whole-string integer in [min, max]. */
static bool parse_int(const char *text, long long min, long long max, long long *value)
{
    char *end;
    errno          = 0;
    long long v    = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return false;
    *value = v;
    return true;
}

/* NOTE: a path that does not fit the system's limit once a file name is
 * appended is refused here rather than cut short later: a cut path names
 * another file. */
#ifndef PATH_MAX
#define PATH_MAX 4096
#endif
static bool path_fits(const char *flag, const char *dir, const char *longest_name, char *error, size_t error_size)
{
    size_t length = strlen(dir) + 1 + strlen(longest_name);
    if (length < PATH_MAX) return true;
    snprintf(error, error_size, "%s is %zu characters long; with '/%s' it would exceed the system's limit of %d",
             flag, strlen(dir), longest_name, PATH_MAX - 1);
    return false;
}

/* An argument as a message shows it: at most 60 bytes (then "..."), control
 * bytes as \xNN, so that a reason stays one line of a sane length whatever
 * argv holds. Returns buffer. */
enum { SHOWN_SIZE = 60 * 4 + 4 };
static const char *shown(const char *text, char buffer[SHOWN_SIZE])
{
    size_t used = 0;
    for (size_t i = 0; text[i] != '\0'; i++) {
        if (i == 60) {
            memcpy(buffer + used, "...", 3);
            used += 3;
            break;
        }
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f)
            used += (size_t)snprintf(buffer + used, 5, "\\x%02x", c);
        else
            buffer[used++] = (char)c;
    }
    buffer[used] = '\0';
    return buffer;
}

const char *const train_models[]     = { "cnn", "mlp", "lstm", "vit", NULL };
const char *const train_optimizers[] = { "adam", "adamw", "sgd", "rmsprop", NULL };
const char *const train_devices[]    = { "auto", "cpu", "cuda", NULL };

static bool one_of(const char *value, const char *const *choices)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(value, choices[i]) == 0) return true;
    return false;
}

bool parse_options(int argc, char **argv, train_options *o, char *error, size_t error_size)
{
    /* -1 / 0 mark "not given": the end of this function fills them per model. */
    *o = (train_options){ .model = "cnn", .epochs = 0, .batch_size = 0, .lr = 0, .optimizer = "adam",
                          .data_dir = "data", .seed = 0, .threads = 0, .device = "auto", .out_dir = "nabla-out",
                          .augment = -1, .label_smoothing = -1, .detect_anomaly = false, .distributed = false, .help = false };
    char shown_flag[SHOWN_SIZE], shown_value[SHOWN_SIZE];
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
            o->help = true;
            return true;
        }
        if (strcmp(flag, "--detect-anomaly") == 0) {
            o->detect_anomaly = true;
            continue;
        }
        if (strcmp(flag, "--distributed") == 0) {
            o->distributed = true;
            continue;
        }
        if (strncmp(flag, "--", 2) != 0) {
            snprintf(error, error_size, "unexpected argument '%s'", shown(flag, shown_flag));
            return false;
        }
        if (i + 1 >= argc) {
            snprintf(error, error_size, "%s needs a value", shown(flag, shown_flag));
            return false;
        }
        const char *value = argv[++i];
        long long   n;
        if (strcmp(flag, "--model") == 0) {
            if (!one_of(value, train_models)) goto bad_choice;
            o->model = value;
        } else if (strcmp(flag, "--optimizer") == 0) {
            if (!one_of(value, train_optimizers)) goto bad_choice;
            o->optimizer = value;
        } else if (strcmp(flag, "--device") == 0) {
            if (!one_of(value, train_devices)) goto bad_choice;
            o->device = value;
        } else if (strcmp(flag, "--epochs") == 0) {
            if (!parse_int(value, 1, 100000, &n)) goto bad_number;
            o->epochs = (int)n;
        } else if (strcmp(flag, "--batch-size") == 0) {
            if (!parse_int(value, 1, 1 << 20, &n)) goto bad_number;
            o->batch_size = n;
        } else if (strcmp(flag, "--threads") == 0) {
            if (!parse_int(value, 1, 4096, &n)) goto bad_number;
            o->threads = (int)n;
        } else if (strcmp(flag, "--augment") == 0) {
            if (!parse_int(value, 0, 8, &n)) {
                snprintf(error, error_size, "--augment takes a whole number of pixels from 0 to 8, got '%s'",
                         shown(value, shown_value));
                return false;
            }
            o->augment = (int)n;
        } else if (strcmp(flag, "--seed") == 0) {
            if (!parse_int(value, 0, (long long)(~0ull >> 1), &n)) goto bad_number;
            o->seed = (uint64_t)n;
        } else if (strcmp(flag, "--lr") == 0) {
            char  *end;
            double lr = strtod(value, &end);
            if (end == value || *end != '\0' || !(lr > 0 && lr < 100)) {
                snprintf(error, error_size, "--lr must be a number in (0, 100), got '%s'", shown(value, shown_value));
                return false;
            }
            o->lr = lr;
        } else if (strcmp(flag, "--label-smoothing") == 0) {
            char  *end;
            double ls = strtod(value, &end);
            if (end == value || *end != '\0' || !(ls >= 0 && ls < 1)) {
                snprintf(error, error_size, "--label-smoothing must be a number in [0, 1), got '%s'",
                         shown(value, shown_value));
                return false;
            }
            o->label_smoothing = ls;
        } else if (strcmp(flag, "--data") == 0) {
            if (!path_fits(flag, value, TRAIN_LONGEST_DATA_NAME, error, error_size)) return false;
            o->data_dir = value;
        } else if (strcmp(flag, "--out") == 0) {
            if (!path_fits(flag, value, TRAIN_LONGEST_OUT_NAME, error, error_size)) return false;
            o->out_dir = value;
        } else {
            snprintf(error, error_size, "unknown option '%s'", shown(flag, shown_flag));
            return false;
        }
        continue;
    bad_choice:
        snprintf(error, error_size, "%s does not take '%s'", flag, shown(value, shown_value));
        return false;
    bad_number:
        snprintf(error, error_size, "%s needs a positive whole number in range, got '%s'", flag,
                 shown(value, shown_value));
        return false;
    }
    /* The recipes that reach the accuracy on the bundled digits
     * (CNN >= 98%, MLP >= 96%) in well under a minute; README.md "Results". */
    bool cnn = strcmp(o->model, "cnn") == 0, lstm = strcmp(o->model, "lstm") == 0, vit = strcmp(o->model, "vit") == 0;
    if (o->epochs == 0) o->epochs = cnn ? 12 : vit ? 15 : 10;
    if (o->batch_size == 0) o->batch_size = 64;
    if (o->lr == 0 && strcmp(o->optimizer, "sgd") != 0) o->lr = cnn || lstm || vit ? 2e-3 : 1e-3;
    if (o->augment < 0) o->augment = lstm ? 0 : 1; /* scripts/train_lstm_torch.py's recipe */
    if (o->label_smoothing < 0) o->label_smoothing = cnn ? 0.1 : 0;
    return true;
}
