/*
 * train.h — the pieces of nabla-train, the main job of the project: train a
 * digit classifier on IDX data (the bundled 10,000 MNIST digits by default),
 * evaluate it, and write the weights and the learning curves.
 */
#ifndef NABLA_TRAIN_H
#define NABLA_TRAIN_H

#include <nabla.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *model;     /* "cnn", "mlp", "lstm" or "vit" */
    int         epochs;
    int64_t     batch_size;
    double      lr;        /* 0: the optimizer's usual rate for the model */
    const char *optimizer; /* "adam", "adamw", "sgd", "rmsprop" */
    const char *data_dir;
    uint64_t    seed;
    int         threads;   /* 0: all cores */
    const char *device;    /* "auto", "cpu", "cuda" */
    const char *out_dir;
    int         augment;   /* max random shift in pixels, 0 for none */
    double      label_smoothing;
    bool        detect_anomaly; /* nb_set_detect_anomaly(true) for the run */
    bool        distributed;    /* one of mpirun's processes (nabla/dist.h) */
    bool        help;
} train_options;

/* The longest names joined to --data and --out: the parser refuses a
 * directory whose joined paths would not fit. */
#define TRAIN_LONGEST_DATA_NAME "train-labels-idx1-ubyte.gz"
#define TRAIN_LONGEST_OUT_NAME  "model.safetensors"

/* The values --model, --optimizer and --device accept, NULL-terminated;
 * the first of each is the default. */
extern const char *const train_models[];
extern const char *const train_optimizers[];
extern const char *const train_devices[];

/* Parse argv (argc entries, argv[0] the program); false with a one-line
 * reason in error (always terminated when error_size > 0) on bad arguments.
 * Never exits, prints or allocates; the strings in *o borrow argv. */
bool parse_options(int argc, char **argv, train_options *o, char *error, size_t error_size);
void print_usage(FILE *f, const char *program);

/* images (N, H, W) of any dtype, each shifted by its own random offset in
 * [-max_shift, max_shift]^2 whole pixels (elements, whatever their size)
 * with zero fill; a new contiguous tensor of the same dtype. The offsets
 * depend only on (seed, counter + i). */
nb_tensor *augment_shift(nb_tensor *images, int max_shift, uint64_t seed, uint64_t counter);

/* The models, built with nabla's modules (torch's default init). */
nb_module *build_model(const char *name);
/* The vision transformer (vit.c). */
nb_module *build_vit(void);

/* Progress of one epoch: a live bar on a terminal, plain lines otherwise. */
typedef struct {
    bool    live;
    int     columns; /* the terminal's width */
    int     epoch, epochs;
    int64_t batches, samples_per_epoch;
    double  started;
} progress;
void   progress_begin(progress *p, int epoch, int epochs, int64_t batches, int64_t samples);
void   progress_update(progress *p, int64_t batch, int64_t samples_done, double loss, double accuracy);
void   progress_end(progress *p, double loss, double accuracy, double test_accuracy);
double now_seconds(void);

/* The data set's class names (classes.txt beside the IDX files: one name per
 * line, the first for class 0), cut to 31 printable characters. */
typedef struct {
    int  count; /* 0: none */
    char name[10][32];
} class_names;
/* false (count 0) when the file is missing or empty. */
bool read_class_names(const char *path, class_names *names);

/* Outputs. names may be NULL. */
void print_confusion_matrix(FILE *f, const int64_t confusion[10][10], const class_names *names);
/* What the learning-curve plot shows: per epoch (epochs >= 1 of them) the
 * mean training loss, the training and the test accuracy (0 to 1). */
typedef struct {
    const char   *model, *data; /* for the title */
    int           epochs;
    double        label_smoothing;
    const double *train_loss, *train_acc, *test_acc;
} curves;
/* false with "path: reason" in error when the file cannot be written. */
bool write_curves_svg(const char *path, const curves *c, char *error, size_t error_size);

#endif
