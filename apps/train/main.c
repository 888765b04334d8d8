/*
 * main.c — nabla-train: train a small CNN (or an MLP) on handwritten
 * digits and evaluate it. The README's first command runs it on the
 * bundled data:
 *
 *   load IDX files -> normalise -> shuffled mini-batches -> forward ->
 *   cross-entropy -> backward -> optimizer step, for each epoch; then test
 *   accuracy, a confusion matrix, the weights as .safetensors and the loss
 *   and accuracy curves as an SVG plot.
 *
 * With --distributed it is one of mpirun's processes (nabla/dist.h): each
 * trains a replica on its shard of every epoch, nb_ddp averages the
 * gradients, the loss shown is the mean over the processes, and rank 0
 * alone prints and writes files. A failure on any rank ends the job
 * (nb_dist_abort) instead of leaving the others waiting.
 *
 * Nothing a user can give it takes it down or writes a wrong result: data
 * files are checked (dtype, pixel range, labels 0-9, no empty split) before
 * training; a NaN or infinite loss stops the run with status 1 and no model
 * written; every error says what failed and why.
 */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The MNIST mean and standard deviation of pixel / 255, as torchvision's
 * examples normalise. */
static const double PIXEL_MEAN = 0.1307, PIXEL_STD = 0.3081;

typedef struct {
    nb_tensor *images; /* (N, H, W) as in the file: uint8, int32 (0-255) or float32/64 (0-1) */
    nb_tensor *labels; /* (N) int64 */
    int64_t    height, width;
} split;

static void free_split(split *s)
{
    nb_free(s->images);
    nb_free(s->labels);
}

/* dir/name, or NULL when out of memory; the caller frees it. */
static char *join_path(const char *dir, const char *name)
{
    size_t size = strlen(dir) + 1 + strlen(name) + 1;
    char  *path = malloc(size);
    if (path) snprintf(path, size, "%s/%s", dir, name);
    return path;
}

/* dir/name.gz, else dir/name: the standard MNIST file names. */
static nb_tensor *load_idx_file(const char *dir, const char *name)
{
    size_t size = strlen(dir) + strlen(name) + sizeof "/.gz";
    char  *path = malloc(size);
    if (path == NULL) {
        nb_set_error(NB_ERR_OOM, "out of memory for the path of %s", name);
        return NULL;
    }
    snprintf(path, size, "%s/%s.gz", dir, name);
    FILE *probe = fopen(path, "rb");
    if (probe)
        fclose(probe);
    else
        snprintf(path, size, "%s/%s", dir, name);
    if (!probe && access(path, F_OK) != 0 && errno == ENOENT) { /* neither name is there: say both were tried */
        nb_set_error(NB_ERR_IO, "%s: no such file (nor %s.gz)", path, name);
        free(path);
        return NULL;
    }
    nb_tensor *t = nb_load_idx(path);
    free(path);
    return t;
}

/* nb_last_error(), never empty: what a failed call left for the message. */
static const char *last_reason(void)
{
    const char *reason = nb_last_error();
    return reason[0] ? reason : "no reason was recorded (out of memory?)";
}

/* The checks of the file's contents that the models rely on, with the
 * file's name in the message. images: (N, H, W); labels: (N), any dtype. */
static bool check_split(const char *dir, const char *images_name, const nb_tensor *images, const char *labels_name,
                        const nb_tensor *labels, char *error, size_t error_size)
{
    if (nb_size(images, 0) == 0) {
        snprintf(error, error_size, "%s/%s holds no images", dir, images_name);
        return false;
    }
    bool ok = false;
    nb_scope_begin();
    nb_dtype dtype = nb_dtype_of(images);
    if (dtype != NB_UINT8) { /* uint8 is 0-255 by its type */
        bool       floating = nb_dtype_is_floating(dtype);
        double     high     = floating ? 1 : 255;
        nb_tensor *finite   = nb_all(nb_isfinite(images));
        nb_tensor *low_t = nb_min(images), *high_t = nb_max(images);
        if (finite == NULL || low_t == NULL || high_t == NULL) {
            snprintf(error, error_size, "%s/%s: %s", dir, images_name, last_reason());
            goto done;
        }
        if (nb_item(finite) == 0) {
            snprintf(error, error_size, "%s/%s: %s pixels include NaN or infinity", dir, images_name,
                     nb_dtype_name(dtype));
            goto done;
        }
        if (nb_item(low_t) < 0 || nb_item(high_t) > high) {
            snprintf(error, error_size, "%s/%s: %s pixels must be from 0 to %g%s; they range from %g to %g", dir,
                     images_name, nb_dtype_name(dtype), high, floating ? " (pixel / 255)" : "", nb_item(low_t),
                     nb_item(high_t));
            goto done;
        }
    }
    /* Labels: whole numbers 0-9, whatever the file's type. A float label
     * that does not survive the trip through int64 is not a whole number. */
    nb_tensor *as_int = nb_to_dtype(labels, NB_INT64);
    nb_tensor *whole  = nb_all(nb_eq(nb_to_dtype(as_int, nb_dtype_of(labels)), labels));
    nb_tensor *low_t = nb_min(as_int), *high_t = nb_max(as_int);
    if (whole == NULL || low_t == NULL || high_t == NULL) {
        snprintf(error, error_size, "%s/%s: %s", dir, labels_name, last_reason());
        goto done;
    }
    if (nb_item(whole) == 0) {
        snprintf(error, error_size, "%s/%s: the labels must be whole class indices from 0 to 9; some %s labels are not",
                 dir, labels_name, nb_dtype_name(nb_dtype_of(labels)));
        goto done;
    }
    if (nb_item_int64(low_t) < 0 || nb_item_int64(high_t) > 9) {
        snprintf(error, error_size, "%s/%s: the labels must be class indices from 0 to 9; they range from %lld to %lld",
                 dir, labels_name, (long long)nb_item_int64(low_t), (long long)nb_item_int64(high_t));
        goto done;
    }
    ok = true;
done:
    nb_scope_end();
    return ok;
}

/* Images stay uint8 until a batch is drawn (see model_input): converting
 * all 8,000 up front would delay the first batch by tens of ms. */
static bool load_split(const char *dir, const char *images_name, const char *labels_name, split *out, char *error,
                       size_t error_size)
{
    out->images = out->labels = NULL;
    nb_tensor *images = load_idx_file(dir, images_name);
    nb_tensor *labels = images ? load_idx_file(dir, labels_name) : NULL;
    if (images == NULL || labels == NULL) {
        snprintf(error, error_size, "%s", last_reason());
        nb_free(images);
        return false;
    }
    if (nb_ndim(images) != 3 || nb_ndim(labels) != 1 || nb_size(images, 0) != nb_size(labels, 0)) {
        snprintf(error, error_size, "%s: expected images (N, H, W) and labels (N); got %d-d images and %d-d labels "
                                    "with %lld and %lld samples", dir, nb_ndim(images), nb_ndim(labels),
                 (long long)nb_size(images, 0), (long long)nb_size(labels, 0));
        nb_free(images);
        nb_free(labels);
        return false;
    }
    if (!check_split(dir, images_name, images, labels_name, labels, error, error_size)) {
        nb_free(images);
        nb_free(labels);
        return false;
    }
    out->images = images;
    out->labels = nb_to_dtype(labels, NB_INT64);
    out->height = nb_size(images, 1);
    out->width  = nb_size(images, 2);
    nb_free(labels);
    if (out->labels == NULL) {
        snprintf(error, error_size, "%s", last_reason());
        free_split(out);
        return false;
    }
    return true;
}

/* images (B, H, W) as the model's input: float32 intensities in [0, 1]
 * (integer pixels / 255; float pixels as they are, check_split saw them in
 * [0, 1]), normalised, and (B, 1, H, W) for the CNN, (B, H*W) for the MLP,
 * (B, H, W) for the LSTM (rows as steps). In the current scope. */
typedef enum { INPUT_IMAGE, INPUT_FLAT, INPUT_ROWS } input_layout;

static input_layout layout_of(const char *model)
{
    return strcmp(model, "mlp") == 0 ? INPUT_FLAT : strcmp(model, "lstm") == 0 ? INPUT_ROWS : INPUT_IMAGE;
}

static nb_tensor *model_input(const nb_tensor *images, input_layout flat)
{
    int64_t    b = nb_size(images, 0), h = nb_size(images, 1), w = nb_size(images, 2);
    nb_tensor *pixels = nb_to_dtype(images, NB_FLOAT32);
    if (!nb_dtype_is_floating(nb_dtype_of(images))) pixels = nb_div_scalar(pixels, 255.0);
    nb_tensor *normal = nb_div_scalar(nb_sub_scalar(pixels, PIXEL_MEAN), PIXEL_STD);
    if (flat == INPUT_ROWS) return normal;
    return flat == INPUT_FLAT ? nb_reshape(normal, NB_SHAPE(b, h * w)) : nb_reshape(normal, NB_SHAPE(b, 1, h, w));
}

static nb_optim *make_optimizer(const train_options *o, nb_module *model)
{
    int64_t     count  = nb_module_parameters(model, NULL, NULL, 0);
    nb_tensor **params = malloc((size_t)count * sizeof *params);
    if (params == NULL) return NULL;
    nb_module_parameters(model, params, NULL, count);
    nb_optim *opt = NULL;
    if (strcmp(o->optimizer, "sgd") == 0) {
        nb_sgd_opts s = nb_sgd_defaults(o->lr > 0 ? o->lr : 0.05);
        s.nesterov    = false;
        s.momentum    = 0.9;
        opt           = nb_sgd_new(params, count, s);
    } else if (strcmp(o->optimizer, "rmsprop") == 0) {
        nb_rmsprop_opts r = nb_rmsprop_defaults();
        r.lr              = o->lr > 0 ? o->lr : 1e-3;
        opt               = nb_rmsprop_new(params, count, r);
    } else {
        bool         decoupled = strcmp(o->optimizer, "adamw") == 0;
        nb_adam_opts a         = decoupled ? nb_adamw_defaults() : nb_adam_defaults();
        a.lr                   = o->lr > 0 ? o->lr : 1e-3;
        opt                    = decoupled ? nb_adamw_new(params, count, a) : nb_adam_new(params, count, a);
    }
    free(params);
    return opt;
}

typedef struct {
    double  loss;
    int64_t correct, seen;
    int64_t step;       /* steps done in this epoch; the failing one when training stops */
    double  last_loss;  /* the loss of that step */
} tally;

typedef enum { EPOCH_DONE, EPOCH_FAILED, EPOCH_DIVERGED } epoch_result;

/* Correct predictions of a batch, without recording. */
static int64_t count_correct(const nb_tensor *logits, const nb_tensor *labels)
{
    nb_no_grad_begin();
    nb_tensor *hits    = nb_eq(nb_argmax_dim(logits, 1, false), labels);
    int64_t    correct = nb_item_int64(nb_sum(hits));
    nb_no_grad_end();
    return correct;
}

/* One pass over the training set. EPOCH_DIVERGED: step t->step gave the
 * non-finite loss t->last_loss, and the parameters are those that gave it
 * (no step was taken with its gradient). EPOCH_FAILED: nb_last_error() says
 * why (under --detect-anomaly, the backward node that made a NaN). */
/* The mean over the processes of a local value (itself when not
 * distributed); false when the collective failed. */
static bool mean_over_ranks(double *value, nb_ddp *ddp)
{
    if (ddp == NULL) return true;
    nb_tensor *v  = nb_scalar(*value, NB_OPTS(.dtype = NB_FLOAT64));
    bool       ok = v && nb_dist_all_reduce(v, NB_REDUCE_MEAN) == NB_OK;
    if (ok) *value = nb_item(v);
    nb_free(v);
    return ok;
}

/* t on device (the model's): itself on the CPU, else a copy there (in the
 * current scope). Batches come from the loader on the CPU; they move as
 * bytes, before the conversion to float, so four times less crosses. */
static nb_tensor *on_device(nb_tensor *t, nb_device device)
{
    return device.type == NB_CPU ? t : nb_to(t, device);
}

/* ddp: NULL, or the wrapper whose gradients are averaged over the
 * processes after each backward. */
static epoch_result train_epoch(nb_module *model, nb_optim *opt, nb_scheduler *schedule, nb_loader *loader,
                                nb_ddp *ddp, const train_options *o, nb_device device, int epoch, progress *p,
                                tally *t)
{
    nb_tensor *batch[2];
    *t = (tally){ 0 };
    nb_module_train(model, true);
    nb_loader_reset(loader); /* epoch e shuffles with stream e, as it always has */
    for (;;) {
        nb_scope_begin();
        if (!nb_loader_next(loader, batch)) {
            nb_scope_end();
            return nb_loader_ended(loader) ? EPOCH_DONE : EPOCH_FAILED;
        }
        t->step++;
        input_layout flat = layout_of(o->model);
        nb_tensor *images = augment_shift(batch[0], o->augment, o->seed, (uint64_t)epoch << 32 | (uint64_t)t->seen);
        nb_tensor *labels = on_device(batch[1], device);
        nb_tensor *logits = nb_module_forward(model, model_input(on_device(images, device), flat));
        nb_tensor *loss   = nb_cross_entropy(logits, labels,
                                             NB_CROSS_ENTROPY_OPTS(.label_smoothing = o->label_smoothing));
        if (loss == NULL) {
            nb_scope_end();
            return EPOCH_FAILED;
        }
        /* NOTE: checked before backward and the step, so a diverged run
         * stops before its parameters take a NaN step. Under
         * --detect-anomaly backward still runs, to name the op. */
        t->last_loss = nb_item(loss);
        /* NOTE: distributed, every rank must see the same loss here, or one
         * would stop for a NaN while the others wait for its gradients. */
        if (!mean_over_ranks(&t->last_loss, ddp)) {
            nb_scope_end();
            return EPOCH_FAILED;
        }
        if (!isfinite(t->last_loss) && !o->detect_anomaly) {
            nb_scope_end();
            return EPOCH_DIVERGED;
        }
        if (nb_backward(loss) != NB_OK || (ddp && nb_ddp_sync_grads(ddp) != NB_OK) || nb_optim_step(opt) != NB_OK ||
            nb_scheduler_step(schedule) != NB_OK) {
            nb_scope_end();
            return EPOCH_FAILED;
        }
        if (!isfinite(t->last_loss)) { /* anomaly mode found no NaN gradient: still diverged */
            nb_scope_end();
            return EPOCH_DIVERGED;
        }
        nb_optim_zero_grad(opt);
        int64_t n = nb_size(batch[1], 0);
        t->loss += t->last_loss * (double)n;
        t->correct += count_correct(logits, labels);
        t->seen += n;
        nb_scope_end();
        int world = ddp ? nb_dist_world_size() : 1; /* samples of all the processes so far */
        progress_update(p, t->step, t->seen * world, t->loss / (double)t->seen, (double)t->correct / (double)t->seen);
    }
}

/* Accuracy on a split in eval mode into *accuracy; fills
 * confusion[true][predicted]. false when an op failed (nb_last_error). */
static bool evaluate(nb_module *model, const split *s, input_layout flat, nb_device device, int64_t confusion[10][10],
                     double *accuracy)
{
    int64_t n = nb_size(s->labels, 0), correct = 0;
    bool    ok = true;
    memset(confusion, 0, sizeof(int64_t) * 100);
    nb_module_train(model, false);
    nb_no_grad_begin();
    for (int64_t start = 0; start < n && ok; start += 100) {
        int64_t length = n - start < 100 ? n - start : 100; /* small chunks keep peak memory low */
        nb_scope_begin();
        nb_tensor *images    = model_input(on_device(nb_narrow(s->images, 0, start, length), device), flat);
        nb_tensor *predicted = nb_argmax_dim(nb_module_forward(model, images), 1, false);
        nb_tensor *truth     = nb_narrow(s->labels, 0, start, length);
        int64_t    p[100], y[100];
        ok = nb_copy_to_buffer(predicted, p, sizeof p) == NB_OK
          && nb_copy_to_buffer(nb_contiguous(truth), y, sizeof y) == NB_OK;
        for (int64_t i = 0; ok && i < length; i++) {
            correct += p[i] == y[i];
            if (y[i] >= 0 && y[i] < 10 && p[i] >= 0 && p[i] < 10) confusion[y[i]][p[i]]++;
        }
        nb_scope_end();
    }
    nb_no_grad_end();
    *accuracy = n > 0 ? (double)correct / (double)n : 0;
    return ok;
}

/* The name of a parameter holding NaN or infinity, or NULL when all are
 * finite. A finite loss does not prove it: the last step may have been the
 * one to overflow. */
static const char *non_finite_parameter(nb_module *model)
{
    int64_t      count   = nb_module_parameters(model, NULL, NULL, 0);
    nb_tensor  **tensors = malloc((size_t)(count > 0 ? count : 1) * sizeof *tensors);
    const char **names   = malloc((size_t)(count > 0 ? count : 1) * sizeof *names);
    const char  *found   = NULL;
    if (count < 0 || tensors == NULL || names == NULL) {
        found = "(none could be read: out of memory)";
        count = 0;
    } else {
        nb_module_parameters(model, tensors, names, count);
    }
    nb_no_grad_begin();
    for (int64_t i = 0; i < count && found == NULL; i++) {
        nb_scope_begin();
        nb_tensor *finite = nb_all(nb_isfinite(tensors[i]));
        if (finite == NULL || nb_item(finite) == 0) found = names[i];
        nb_scope_end();
    }
    nb_no_grad_end();
    free(tensors);
    free(names);
    return found;
}

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "nabla-train: %s: %s\n", what, why[0] ? why : "no reason was recorded");
    /* Distributed, the other processes would wait for this one until the
     * collectives time out: end the job now. */
    if (nb_dist_is_initialized()) nb_dist_abort(1);
    return 1;
}

/* --distributed: join mpirun's job; threads default to this machine's cores
 * shared among its processes; only rank 0 prints to stdout. */
static int join_job(train_options *o, int *rank, int *world)
{
    if (nb_dist_init() != NB_OK) return fail("--distributed", last_reason());
    *rank  = nb_dist_rank();
    *world = nb_dist_world_size();
    if (o->threads == 0) {
        const char *local  = getenv("OMPI_COMM_WORLD_LOCAL_SIZE"); /* OpenMPI's processes on this machine */
        int         shared = local && atoi(local) > 0 ? atoi(local) : 1;
        int         cores  = nb_get_num_threads();
        o->threads         = cores / shared > 0 ? cores / shared : 1;
        nb_set_num_threads(o->threads);
    }
    if (*rank != 0 && freopen("/dev/null", "w", stdout) == NULL) return fail("--distributed", strerror(errno));
    return 0;
}

int main(int argc, char **argv)
{
    train_options o;
    char          error[1024];
    if (!parse_options(argc, argv, &o, error, sizeof error)) {
        /* The reason and a pointer, not 20 lines of usage burying it. */
        fprintf(stderr, "nabla-train: %s\n(%s --help lists the options)\n", error, argv[0]);
        return 2;
    }
    if (o.help) {
        print_usage(stdout, argv[0]);
        return 0;
    }
    double started = now_seconds();
    if (o.threads > 0) nb_set_num_threads(o.threads);
    int rank = 0, world = 1;
    if (o.distributed && join_job(&o, &rank, &world) != 0) return 1;
    if (o.detect_anomaly) nb_set_detect_anomaly(true);
    /* NOTE: auto means the CPU until the CUDA backend has passed
     * scripts/gpu-check on a GPU (issue 12: its kernels have been compiled
     * but never run); --device cuda asks for it explicitly. */
    bool cuda = strcmp(o.device, "cuda") == 0;
    if (cuda && !nb_cuda_is_available()) return fail("--device cuda", "CUDA is not available in this build or on this machine");
    nb_device device = cuda ? NB_DEVICE_CUDA(0) : NB_DEVICE_CPU;
    printf("nabla-train: %s on %s, %d thread%s, %s, seed %llu%s\n", o.model, cuda ? "cuda:0" : "cpu",
           nb_get_num_threads(), nb_get_num_threads() == 1 ? "" : "s", o.optimizer, (unsigned long long)o.seed,
           o.detect_anomaly ? ", anomaly detection on" : "");
    if (o.distributed)
        printf("distributed: %d processes (%d thread%s each), batch %lld per process, %lld per step\n", world,
               nb_get_num_threads(), nb_get_num_threads() == 1 ? "" : "s", (long long)o.batch_size,
               (long long)o.batch_size * world);

    input_layout flat = layout_of(o.model);
    split train, test;
    if (!load_split(o.data_dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", &train, error, sizeof error))
        return fail("training data", error);
    if (!load_split(o.data_dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", &test, error, sizeof error)) {
        free_split(&train);
        return fail("test data", error);
    }
    if (train.height != 28 || train.width != 28 || test.height != 28 || test.width != 28) {
        snprintf(error, sizeof error, "%s: the models take 28x28 images, the files hold %lldx%lld and %lldx%lld",
                 o.data_dir, (long long)train.height, (long long)train.width, (long long)test.height,
                 (long long)test.width);
        free_split(&train);
        free_split(&test);
        return fail("data", error);
    }
    printf("data: %lld training and %lld test images of %lldx%lld from %s\n", (long long)nb_size(train.labels, 0),
           (long long)nb_size(test.labels, 0), (long long)train.height, (long long)train.width, o.data_dir);

    nb_manual_seed(o.seed);
    nb_module    *model      = build_model(o.model);
    /* The optimizer's state is made where the parameters are: move first. */
    bool          moved      = model && (!cuda || nb_module_to(model, device) == NB_OK);
    nb_optim     *opt        = moved ? make_optimizer(&o, model) : NULL;
    nb_tensor    *pair[2]    = { train.images, train.labels };
    nb_dataset   *dataset    = nb_tensor_dataset_new(pair, 2);
    nb_loader    *loader     = dataset ? nb_loader_new(dataset, o.batch_size, true, false, o.seed) : NULL;
    nb_scheduler *schedule   = NULL;
    nb_ddp       *ddp        = NULL;
    double       *train_loss = calloc((size_t)o.epochs, sizeof(double));
    double       *train_acc  = calloc((size_t)o.epochs, sizeof(double));
    double       *test_acc   = calloc((size_t)o.epochs, sizeof(double));
    char         *weights    = join_path(o.out_dir, "model.safetensors"), *plot = join_path(o.out_dir, "curves.svg");
    int           status     = 0;
    if (loader == NULL || opt == NULL) {
        status = fail("setup", last_reason());
        goto done;
    }
    /* Each process its shard of every epoch's order (the same order on
     * all: same seed), and rank 0's initial weights everywhere. */
    if (o.distributed && (nb_loader_shard(loader, rank, world, false) != NB_OK ||
                          (ddp = nb_ddp_new(model, NB_DDP_OPTS())) == NULL)) {
        status = fail("--distributed setup", last_reason());
        goto done;
    }
    if (train_loss == NULL || train_acc == NULL || test_acc == NULL || weights == NULL || plot == NULL) {
        status = fail("setup", "out of memory");
        goto done;
    }
    /* The output directory now, not after the run: a bad --out costs no
     * training. */
    if (rank == 0 && mkdir(o.out_dir, 0755) != 0 && errno != EEXIST) {
        status = fail(o.out_dir, strerror(errno));
        goto done;
    }
    /* The learning rate follows a cosine from its start to 0 over the run,
     * updated after every step. */
    schedule = nb_cosine_annealing_lr_new(opt, o.epochs * nb_loader_num_batches(loader), 0);
    if (schedule == NULL) {
        status = fail("setup", last_reason());
        goto done;
    }
    printf("model: %lld parameters\n", (long long)nb_module_parameter_numel(model));

    int64_t confusion[10][10];
    printf("setup (data, model, optimizer) took %.0f ms; training starts\n", (now_seconds() - started) * 1e3);

    int64_t batches = nb_loader_num_batches(loader);
    for (int epoch = 0; epoch < o.epochs && status == 0; epoch++) {
        progress     p;
        tally        t;
        progress_begin(&p, epoch + 1, o.epochs, batches, nb_dataset_size(dataset));
        epoch_result result = train_epoch(model, opt, schedule, loader, ddp, &o, device, epoch, &p, &t);
        if (result == EPOCH_DONE && ddp) { /* the epoch's numbers over all the processes */
            nb_tensor *sums = nb_from_data((double[]){ t.loss, (double)t.correct, (double)t.seen }, NB_SHAPE(3),
                                           NB_OPTS(.dtype = NB_FLOAT64));
            double     all[3];
            if (sums == NULL || nb_dist_all_reduce(sums, NB_REDUCE_SUM) != NB_OK ||
                nb_copy_to_buffer(sums, all, sizeof all) != NB_OK) {
                result = EPOCH_FAILED;
            } else {
                t.loss    = all[0];
                t.correct = (int64_t)all[1];
                t.seen    = (int64_t)all[2];
            }
            nb_free(sums);
        }
        if (result != EPOCH_DONE && p.live) printf("\n"); /* below the progress bar */
        fflush(stdout);
        if (result == EPOCH_DIVERGED) {
            fprintf(stderr,
                    "nabla-train: training diverged: the loss is %g at epoch %d, step %lld of %lld; no model "
                    "written.\nnabla-train: try a lower --lr, or rerun with --detect-anomaly to find the op that "
                    "first made a NaN or infinite gradient\n",
                    t.last_loss, epoch + 1, (long long)t.step, (long long)batches);
            status = 1;
            break;
        }
        if (result == EPOCH_FAILED) {
            snprintf(error, sizeof error, "epoch %d, step %lld of %lld: %s", epoch + 1, (long long)t.step,
                     (long long)batches, last_reason());
            status = fail("training", error);
            break;
        }
        train_loss[epoch] = t.loss / (double)t.seen;
        train_acc[epoch]  = (double)t.correct / (double)t.seen;
        if (!evaluate(model, &test, flat, device, confusion, &test_acc[epoch])) {
            status = fail("evaluating on the test set", last_reason());
            break;
        }
        progress_end(&p, train_loss[epoch], train_acc[epoch], test_acc[epoch]);
    }
    if (status != 0) goto done;

    printf("\ntest accuracy: %.2f%% (%lld images)\n", 100 * test_acc[o.epochs - 1], (long long)nb_size(test.labels, 0));
    class_names names     = { 0 };
    char       *names_txt = join_path(o.data_dir, "classes.txt");
    if (names_txt) read_class_names(names_txt, &names);
    free(names_txt);
    print_confusion_matrix(stdout, confusion, &names);
    const char *bad = non_finite_parameter(model);
    if (bad) {
        snprintf(error, sizeof error, "the parameter %s holds NaN or infinity after the last step; no model written. "
                                      "Try a lower --lr, or rerun with --detect-anomaly", bad);
        status = fail("training diverged", error);
    } else if (rank != 0) {
        /* rank 0 writes the files: the replicas are identical */
    } else if (nb_module_save(model, weights) != NB_OK) {
        status = fail("saving weights", last_reason());
    } else if (!write_curves_svg(plot,
                                 &(curves){ .model = o.model, .data = o.data_dir, .epochs = o.epochs,
                                            .label_smoothing = o.label_smoothing, .train_loss = train_loss,
                                            .train_acc = train_acc, .test_acc = test_acc },
                                 error, sizeof error)) {
        status = fail("writing the plot", error);
    } else {
        printf("wrote %s and %s\n", weights, plot);
    }
    if (ddp) printf("gradient all-reduce time not hidden by backward: %.3f s over %lld steps (%.2f ms per step)\n",
                    nb_ddp_comm_seconds(ddp), (long long)nb_ddp_sync_count(ddp),
                    1e3 * nb_ddp_comm_seconds(ddp) / (double)(nb_ddp_sync_count(ddp) > 0 ? nb_ddp_sync_count(ddp) : 1));
    printf("total time %.1f s\n", now_seconds() - started);
done:
    nb_ddp_free(ddp);
    free(train_loss);
    free(train_acc);
    free(test_acc);
    free(weights);
    free(plot);
    nb_scheduler_free(schedule);
    nb_loader_free(loader);
    nb_dataset_free(dataset);
    nb_optim_free(opt);
    nb_module_free(model);
    free_split(&train);
    free_split(&test);
    if (o.distributed) {
        if (status != 0) nb_dist_abort(status);
        nb_dist_finalize();
    }
    return status;
}
