/*
 * test_loader.c — nb_tensor_dataset_new and nb_loader_*: batch shapes and
 * values, drop_last, every sample exactly once per epoch, the shuffle's
 * determinism (same seed -> same order on any thread count and whatever
 * nb_manual_seed did; new epoch or seed -> new order; a pinned order so a
 * change of the algorithm shows), non-contiguous dataset tensors, empty
 * datasets, the bundled digits, and each error a caller can cause.
 */
#include "nb_test.h"

#define DATA_DIR NB_TEST_DATA_DIR "/../../data/"

/* X (n, 3) float32 with X[i] = (3i, 3i + 1, 3i + 2); y (n) int64 = i. */
static void make_data(int64_t n, nb_tensor **x, nb_tensor **y)
{
    nb_tensor *flat = nb_arange(0, (double)(3 * n), 1, NB_OPTS());
    *x              = nb_reshape(flat, NB_SHAPE(n, 3));
    *y              = nb_arange(0, (double)n, 1, NB_OPTS(.dtype = NB_INT64));
    nb_free(flat);
}

/* The sample numbers of one epoch, in order, checking along the way that
 * each batch is contiguous, (b, 3) / (b) with b == batch_size except
 * perhaps the last, and that x's rows match y's samples. Returns the count
 * of samples written to order. */
static int64_t run_epoch(nb_loader *l, int64_t batch_size, int64_t *order, int64_t capacity)
{
    int64_t    count = 0;
    nb_tensor *batch[2];
    int64_t    batches   = 0;
    bool       saw_short = false;
    while (nb_loader_next(l, batch)) {
        batches++;
        int64_t b = nb_size(batch[1], 0);
        NBT_CHECK(b >= 1 && b <= batch_size);
        /* Only the last batch may be short. */
        NBT_CHECK(!saw_short);
        saw_short = b < batch_size;
        NBT_CHECK(nb_ndim(batch[0]) == 2 && nb_size(batch[0], 0) == b && nb_size(batch[0], 1) == 3);
        NBT_CHECK(nb_is_contiguous(batch[0]) && nb_is_contiguous(batch[1]));
        NBT_CHECK(nb_dtype_of(batch[0]) == NB_FLOAT32 && nb_dtype_of(batch[1]) == NB_INT64);
        const float   *x = nb_data(batch[0]);
        const int64_t *y = nb_data(batch[1]);
        for (int64_t i = 0; i < b; i++) {
            NBT_CHECK(x[3 * i] == (float)(3 * y[i]) && x[3 * i + 2] == (float)(3 * y[i] + 2));
            if (count < capacity) order[count] = y[i];
            count++;
        }
        nb_free(batch[0]);
        nb_free(batch[1]);
    }
    NBT_CHECK(batch[0] == NULL && batch[1] == NULL);
    NBT_CHECK(nb_last_status() == NB_OK);
    NBT_CHECK(batches == nb_loader_num_batches(l));
    return count;
}

/* order[0..n) is a permutation of 0..n-1. */
static bool is_permutation(const int64_t *order, int64_t n)
{
    bool *seen = calloc((size_t)n + 1, 1);
    bool  ok   = true;
    for (int64_t i = 0; i < n && ok; i++) {
        ok = order[i] >= 0 && order[i] < n && !seen[order[i]];
        if (ok) seen[order[i]] = true;
    }
    free(seen);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Batches in order                                                          */
/* ------------------------------------------------------------------------ */

static void test_sequential_batches(void)
{
    nb_tensor *x, *y;
    make_data(10, &x, &y);
    nb_tensor  *tensors[2] = {x, y};
    nb_dataset *d          = nb_tensor_dataset_new(tensors, 2);
    NBT_CHECK(nb_dataset_size(d) == 10);

    /* 10 samples in batches of 4: 4, 4, 2. */
    nb_loader *l = nb_loader_new(d, 4, false, false, 0);
    NBT_CHECK(nb_loader_num_batches(l) == 3);
    nb_tensor *batch[2];
    NBT_CHECK(nb_loader_next(l, batch));
    NBT_CHECK_TENSOR(batch[0], NB_SHAPE(4, 3), 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    NBT_CHECK_TENSOR(batch[1], NB_SHAPE(4), 0, 0, 1, 2, 3);
    nb_free(batch[0]);
    nb_free(batch[1]);
    NBT_CHECK(nb_loader_next(l, batch));
    NBT_CHECK_TENSOR(batch[1], NB_SHAPE(4), 0, 4, 5, 6, 7);
    nb_free(batch[0]);
    nb_free(batch[1]);
    NBT_CHECK(nb_loader_next(l, batch));
    NBT_CHECK_TENSOR(batch[0], NB_SHAPE(2, 3), 0, 24, 25, 26, 27, 28, 29);
    NBT_CHECK_TENSOR(batch[1], NB_SHAPE(2), 0, 8, 9);
    nb_free(batch[0]);
    nb_free(batch[1]);
    /* The end of the epoch is not an error, and the loader says so. */
    NBT_CHECK(!nb_loader_ended(l));
    NBT_CHECK(!nb_loader_next(l, batch));
    NBT_CHECK(nb_last_status() == NB_OK && nb_loader_ended(l));
    /* The next call starts the next epoch by itself (without shuffling:
     * the same order). */
    NBT_CHECK(nb_loader_next(l, batch));
    NBT_CHECK(!nb_loader_ended(l));
    NBT_CHECK_TENSOR(batch[1], NB_SHAPE(4), 0, 0, 1, 2, 3);
    nb_free(batch[0]);
    nb_free(batch[1]);
    /* A new epoch without shuffling repeats the order. */
    nb_loader_reset(l);
    int64_t order[16];
    NBT_CHECK(run_epoch(l, 4, order, 16) == 10);
    for (int64_t i = 0; i < 10; i++)
        NBT_CHECK(order[i] == i);
    nb_loader_free(l);

    /* drop_last: the short batch is left out. */
    l = nb_loader_new(d, 4, false, true, 0);
    NBT_CHECK(nb_loader_num_batches(l) == 2);
    NBT_CHECK(run_epoch(l, 4, order, 16) == 8);
    nb_loader_free(l);
    /* A batch size that divides the data: drop_last changes nothing. */
    l = nb_loader_new(d, 5, false, true, 0);
    NBT_CHECK(nb_loader_num_batches(l) == 2);
    NBT_CHECK(run_epoch(l, 5, order, 16) == 10);
    nb_loader_free(l);
    /* A batch larger than the data: one batch of everything, or none. */
    l = nb_loader_new(d, 64, true, false, 3);
    NBT_CHECK(nb_loader_num_batches(l) == 1);
    NBT_CHECK(run_epoch(l, 64, order, 16) == 10);
    NBT_CHECK(is_permutation(order, 10));
    nb_loader_free(l);
    l = nb_loader_new(d, 64, false, true, 0);
    NBT_CHECK(nb_loader_num_batches(l) == 0);
    NBT_CHECK(run_epoch(l, 64, order, 16) == 0);
    nb_loader_free(l);
    /* Batch size 1. */
    l = nb_loader_new(d, 1, false, false, 0);
    NBT_CHECK(nb_loader_num_batches(l) == 10);
    NBT_CHECK(run_epoch(l, 1, order, 16) == 10);
    nb_loader_free(l);

    nb_dataset_free(d);
    nb_free(x);
    nb_free(y);
}

/* Batches are new tensors in the current scope: a scope per step frees
 * them, as a training loop does. */
static void test_batches_in_scopes(void)
{
    nb_tensor *x, *y;
    make_data(7, &x, &y);
    nb_tensor  *tensors[2] = {x, y};
    nb_dataset *d          = nb_tensor_dataset_new(tensors, 2);
    nb_loader  *l          = nb_loader_new(d, 2, true, false, 11);
    int64_t     live       = nb_live_tensors();
    int         steps      = 0;
    for (;;) {
        nb_scope_begin();
        nb_tensor *batch[2];
        bool       more = nb_loader_next(l, batch);
        nb_scope_end();
        NBT_CHECK(nb_live_tensors() == live);
        if (!more) break;
        steps++;
    }
    NBT_CHECK(steps == 4);
    nb_loader_free(l);
    nb_dataset_free(d);
    nb_free(x);
    nb_free(y);
}

/* Dataset tensors of any layout: a transposed x, an expanded y, a stepped
 * slice; batches are contiguous copies of the right rows. */
static void test_non_contiguous(void)
{
    nb_tensor  *base       = nb_arange(0, 12, 1, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor  *m          = nb_reshape(base, NB_SHAPE(3, 4));
    nb_tensor  *xt         = nb_transpose(m, 0, 1); /* (4, 3): xt[i] = (i, 4 + i, 8 + i) */
    nb_tensor  *row        = nb_arange(0, 2, 1, NB_OPTS(.dtype = NB_INT32));
    nb_tensor  *ye         = nb_expand(row, NB_SHAPE(4, 2)); /* every row (0, 1) */
    nb_tensor  *big        = nb_arange(0, 8, 1, NB_OPTS(.dtype = NB_UINT8));
    nb_tensor  *step       = nb_slice(big, 0, 0, 8, 2); /* (4): 0, 2, 4, 6 */
    nb_tensor  *tensors[3] = {xt, ye, step};
    nb_dataset *d          = nb_tensor_dataset_new(tensors, 3);
    nb_loader  *l          = nb_loader_new(d, 3, false, false, 0);
    nb_tensor  *batch[3];
    NBT_CHECK(nb_loader_next(l, batch));
    NBT_CHECK_TENSOR(batch[0], NB_SHAPE(3, 3), 0, 0, 4, 8, 1, 5, 9, 2, 6, 10);
    NBT_CHECK_TENSOR(batch[1], NB_SHAPE(3, 2), 0, 0, 1, 0, 1, 0, 1);
    NBT_CHECK_TENSOR(batch[2], NB_SHAPE(3), 0, 0, 2, 4);
    for (int k = 0; k < 3; k++) {
        NBT_CHECK(nb_is_contiguous(batch[k]));
        nb_free(batch[k]);
    }
    NBT_CHECK(nb_loader_next(l, batch));
    NBT_CHECK_TENSOR(batch[0], NB_SHAPE(1, 3), 0, 3, 7, 11);
    NBT_CHECK(nb_dtype_of(batch[1]) == NB_INT32 && nb_dtype_of(batch[2]) == NB_UINT8);
    NBT_CHECK_TENSOR(batch[2], NB_SHAPE(1), 0, 6);
    for (int k = 0; k < 3; k++)
        nb_free(batch[k]);
    NBT_CHECK(!nb_loader_next(l, batch));
    nb_loader_free(l);
    nb_dataset_free(d);
    nb_tensor *all[] = {base, m, xt, row, ye, big, step};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        nb_free(all[i]);
}

/* Contiguous dataset tensors take a memcpy fast path; it must give what
 * nb_index_select gives. A tensor that requires grad goes through
 * nb_index_select, so its batches are part of the graph. */
static void test_fast_path_matches_index_select(void)
{
    nb_manual_seed(5);
    nb_tensor  *x    = nb_randn(NB_SHAPE(9, 2, 3), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor  *w    = nb_randn(NB_SHAPE(9, 4), NB_OPTS(.requires_grad = true));
    nb_tensor  *id   = nb_arange(0, 9, 1, NB_OPTS(.dtype = NB_INT64));
    nb_tensor  *u8   = nb_randint(0, 256, NB_SHAPE(9, 5), NB_OPTS(.dtype = NB_UINT8));
    nb_tensor  *t[4] = {x, w, id, u8};
    nb_dataset *d    = nb_tensor_dataset_new(t, 4);
    nb_loader  *l    = nb_loader_new(d, 4, true, false, 9);
    nb_tensor  *batch[4];
    int         batches = 0;
    while (nb_loader_next(l, batch)) {
        batches++;
        for (int k = 0; k < 4; k++) {
            nb_tensor *expected = nb_index_select(t[k], 0, batch[2]);
            nb_tensor *same     = nb_eq(batch[k], expected);
            nb_tensor *all      = nb_all(same);
            NBT_CHECK(nb_item(all) == 1);
            NBT_CHECK(nb_is_contiguous(batch[k]));
            NBT_CHECK(nb_requires_grad(batch[k]) == (k == 1));
            nb_free(all);
            nb_free(same);
            nb_free(expected);
        }
        for (int k = 0; k < 4; k++)
            nb_free(batch[k]);
    }
    NBT_CHECK(batches == 3);
    nb_loader_free(l);
    nb_dataset_free(d);
    for (int k = 0; k < 4; k++)
        nb_free(t[k]);
}

/* A dataset with no samples: no batches, no error. One tensor is enough. */
static void test_empty_dataset(void)
{
    nb_tensor  *x = nb_zeros(NB_SHAPE(0, 5), NB_OPTS());
    nb_dataset *d = nb_tensor_dataset_new(&x, 1);
    NBT_CHECK(nb_dataset_size(d) == 0);
    nb_loader *l = nb_loader_new(d, 4, true, false, 1);
    NBT_CHECK(nb_loader_num_batches(l) == 0);
    nb_tensor *batch[1] = {x};
    NBT_CHECK(!nb_loader_next(l, batch));
    NBT_CHECK(batch[0] == NULL);
    NBT_CHECK(nb_last_status() == NB_OK);
    nb_loader_reset(l);
    NBT_CHECK(!nb_loader_next(l, batch));
    nb_loader_free(l);
    nb_dataset_free(d);
    nb_free(x);
}

/* ------------------------------------------------------------------------ */
/* Shuffling                                                                 */
/* ------------------------------------------------------------------------ */

enum { N = 100, EPOCHS = 3 };

/* The orders of EPOCHS epochs of a shuffling loader over N samples;
 * between epochs nb_loader_reset when reset, else nothing (the loader
 * starts the next epoch by itself). */
static void epoch_orders(uint64_t seed, int64_t batch_size, int64_t orders[EPOCHS][N], bool reset)
{
    nb_tensor *x, *y;
    make_data(N, &x, &y);
    nb_tensor  *tensors[2] = {x, y};
    nb_dataset *d          = nb_tensor_dataset_new(tensors, 2);
    nb_loader  *l          = nb_loader_new(d, batch_size, true, false, seed);
    for (int e = 0; e < EPOCHS; e++) {
        if (e > 0 && reset) nb_loader_reset(l);
        NBT_CHECK(run_epoch(l, batch_size, orders[e], N) == N);
        NBT_CHECK(is_permutation(orders[e], N));
    }
    nb_loader_free(l);
    nb_dataset_free(d);
    nb_free(x);
    nb_free(y);
}

static void shuffled_orders(uint64_t seed, int64_t batch_size, int64_t orders[EPOCHS][N])
{
    epoch_orders(seed, batch_size, orders, true);
}

static bool same_order(const int64_t *a, const int64_t *b) { return memcmp(a, b, N * sizeof *a) == 0; }

/* Without nb_loader_reset every epoch is whole, and the epochs are those
 * an explicit reset gives. */
static void test_epochs_without_reset(void)
{
    static int64_t with_reset[EPOCHS][N], without[EPOCHS][N];
    epoch_orders(11, 7, with_reset, true);
    epoch_orders(11, 7, without, false);
    for (int e = 0; e < EPOCHS; e++)
        NBT_CHECK(same_order(with_reset[e], without[e]));
    NBT_CHECK(!same_order(without[0], without[1]));
}

static void test_shuffle(void)
{
    static int64_t a[EPOCHS][N], b[EPOCHS][N], c[EPOCHS][N];
    shuffled_orders(42, 8, a);
    /* Each epoch a new permutation, and not the identity. */
    NBT_CHECK(!same_order(a[0], a[1]) && !same_order(a[1], a[2]) && !same_order(a[0], a[2]));
    int64_t identity[N];
    for (int64_t i = 0; i < N; i++)
        identity[i] = i;
    NBT_CHECK(!same_order(a[0], identity));

    /* The same seed gives the same orders, whatever the library generator
     * did in between, the thread count, or the batch size. */
    nb_manual_seed(7);
    nb_tensor *noise   = nb_rand(NB_SHAPE(1000), NB_OPTS());
    int        threads = nb_get_num_threads();
    nb_set_num_threads(1);
    shuffled_orders(42, 8, b);
    nb_set_num_threads(threads);
    for (int e = 0; e < EPOCHS; e++)
        NBT_CHECK(same_order(a[e], b[e]));
    shuffled_orders(42, 33, c);
    for (int e = 0; e < EPOCHS; e++)
        NBT_CHECK(same_order(a[e], c[e]));
    nb_free(noise);

    /* Another seed, another order. */
    shuffled_orders(43, 8, b);
    for (int e = 0; e < EPOCHS; e++)
        NBT_CHECK(!same_order(a[e], b[e]));
}

/* The exact order of a small case, so that any change to the shuffle (or
 * to the Philox stream under it) shows: this is what "the same batches on
 * every machine" promises. The values were checked against an independent
 * Python Philox4x32-10 (Random123's known answer for counter 0, key 0
 * reproduced) running the same Fisher-Yates: for i = n-1 .. 1, swap i with
 * u64(key = seed, counter = (i, 2^63 | epoch)) mod (i + 1). */
static void test_pinned_order(void)
{
    nb_tensor *x, *y;
    make_data(10, &x, &y);
    nb_tensor  *tensors[2] = {x, y};
    nb_dataset *d          = nb_tensor_dataset_new(tensors, 2);
    nb_loader  *l          = nb_loader_new(d, 10, true, false, 2024);
    int64_t     order[10];
    NBT_CHECK(run_epoch(l, 10, order, 10) == 10);
    const int64_t epoch0[10] = {9, 0, 8, 3, 1, 7, 2, 6, 5, 4};
    NBT_CHECK(memcmp(order, epoch0, sizeof order) == 0);
    nb_loader_reset(l);
    NBT_CHECK(run_epoch(l, 10, order, 10) == 10);
    const int64_t epoch1[10] = {6, 8, 2, 1, 0, 7, 4, 9, 5, 3};
    NBT_CHECK(memcmp(order, epoch1, sizeof order) == 0);
    nb_loader_free(l);
    nb_dataset_free(d);
    nb_free(x);
    nb_free(y);
}

/* ------------------------------------------------------------------------ */
/* The bundled digits through a loader                                       */
/* ------------------------------------------------------------------------ */

static void test_digits_loader(void)
{
    nb_tensor *images = nb_load_idx(DATA_DIR "t10k-images-idx3-ubyte.gz");
    nb_tensor *labels = nb_load_idx(DATA_DIR "t10k-labels-idx1-ubyte.gz");
    if (images == NULL || labels == NULL) {
        /* Only a build without zlib may fail here. */
        NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no zlib");
        nb_free(images);
        nb_free(labels);
        return;
    }
    nb_tensor  *tensors[2] = {images, labels};
    nb_dataset *d          = nb_tensor_dataset_new(tensors, 2);
    nb_loader  *l          = nb_loader_new(d, 64, true, true, 1);
    NBT_CHECK(nb_loader_num_batches(l) == 31); /* 2000 / 64, the last 16 dropped */
    int64_t    per_class[10] = {0}, samples = 0;
    nb_tensor *batch[2];
    while (nb_loader_next(l, batch)) {
        nb_shape s = nb_shape_of(batch[0]);
        NBT_CHECK(s.ndim == 3 && s.dims[0] == 64 && s.dims[1] == 28 && s.dims[2] == 28);
        NBT_CHECK(nb_dtype_of(batch[0]) == NB_UINT8 && nb_dtype_of(batch[1]) == NB_UINT8);
        const uint8_t *label = nb_data(batch[1]);
        for (int i = 0; i < 64; i++)
            per_class[label[i] < 10 ? label[i] : 0]++;
        samples += 64;
        nb_free(batch[0]);
        nb_free(batch[1]);
    }
    NBT_CHECK(samples == 1984);
    int64_t total = 0;
    for (int c = 0; c < 10; c++) {
        NBT_CHECK(per_class[c] > 150); /* each class is there, ~200 each */
        total += per_class[c];
    }
    NBT_CHECK(total == 1984);
    nb_loader_free(l);
    nb_dataset_free(d);
    nb_free(images);
    nb_free(labels);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static void test_errors(void)
{
    nb_tensor *x, *y;
    make_data(6, &x, &y);
    nb_tensor *short_y = nb_arange(0, 5, 1, NB_OPTS());
    nb_tensor *scalar  = nb_scalar(1, NB_OPTS());

    NBT_CHECK(nb_tensor_dataset_new(NULL, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_tensor_dataset_new: argument 'tensors' is NULL");
    nb_tensor *pair[2] = {x, y};
    NBT_CHECK(nb_tensor_dataset_new(pair, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_tensor_dataset_new: count must be at least 1, got 0");
    NBT_CHECK(nb_tensor_dataset_new(pair, -2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "count must be at least 1, got -2");
    nb_tensor *with_null[2] = {x, NULL};
    NBT_CHECK(nb_tensor_dataset_new(with_null, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_tensor_dataset_new: argument 'tensors[1]' is NULL");
    nb_tensor *mismatch[2] = {x, short_y};
    NBT_CHECK(nb_tensor_dataset_new(mismatch, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE,
                    "nb_tensor_dataset_new: tensors[1] has shape [5], whose first dim 5 differs from tensors[0]'s 6");
    nb_tensor *with_scalar[2] = {x, scalar};
    NBT_CHECK(nb_tensor_dataset_new(with_scalar, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_tensor_dataset_new: tensors[1] is 0-d");

    /* A NULL from a failed call keeps that call's error. */
    nb_dataset *d = nb_tensor_dataset_new(mismatch, 2);
    NBT_CHECK(nb_loader_new(d, 2, false, false, 0) == NULL);
    NBT_CHECK(nb_dataset_size(d) == -1);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "differs from tensors[0]'s 6");
    NBT_CHECK(nb_loader_new(NULL, 2, false, false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_loader_new: argument 'd' is NULL");
    NBT_CHECK(nb_dataset_size(NULL) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_dataset_size: argument 'd' is NULL");

    d = nb_tensor_dataset_new(pair, 2);
    NBT_CHECK(nb_loader_new(d, 0, false, false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_loader_new: batch_size must be at least 1, got 0");
    NBT_CHECK(nb_loader_new(d, -3, true, false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "batch_size must be at least 1, got -3");
    nb_loader *l = nb_loader_new(d, 2, false, false, 0);
    NBT_CHECK(!nb_loader_next(l, NULL));
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_loader_next: argument 'batch' is NULL");
    nb_tensor *batch[2];
    NBT_CHECK(!nb_loader_next(NULL, batch));
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_loader_next: argument 'l' is NULL");
    NBT_CHECK(nb_loader_num_batches(NULL) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_loader_num_batches: argument 'l' is NULL");
    /* The loader still works after those. */
    NBT_CHECK(nb_loader_next(l, batch));
    nb_free(batch[0]);
    nb_free(batch[1]);

    /* Freeing and resetting NULL are harmless. */
    nb_loader_reset(NULL);
    nb_loader_free(NULL);
    nb_dataset_free(NULL);
    NBT_CHECK(nb_last_status() == NB_OK);

    nb_loader_free(l);
    nb_dataset_free(d);
    nb_free(x);
    nb_free(y);
    nb_free(short_y);
    nb_free(scalar);
}

int main(void)
{
    NBT_RUN(test_sequential_batches);
    NBT_RUN(test_batches_in_scopes);
    NBT_RUN(test_non_contiguous);
    NBT_RUN(test_fast_path_matches_index_select);
    NBT_RUN(test_empty_dataset);
    NBT_RUN(test_shuffle);
    NBT_RUN(test_epochs_without_reset);
    NBT_RUN(test_pinned_order);
    NBT_RUN(test_digits_loader);
    NBT_RUN(test_errors);
    return nbt_finish();
}
