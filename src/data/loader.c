/*
 * loader.c — mini-batches over a dataset, as torch.utils.data.DataLoader
 * with a TensorDataset: each batch gathers its samples' rows of every
 * dataset tensor (as nb_index_select along dim 0) into new contiguous
 * tensors.
 *
 * Shuffling: epoch e visits the samples in a permutation drawn by a
 * Fisher-Yates shuffle whose random numbers are Philox values keyed on the
 * loader's own seed, with counter (swap position, LOADER_STREAM | e). It
 * never touches the library's generator (nb_manual_seed), and nothing in it
 * depends on threads or the machine, so a seed gives the same batches
 * everywhere. LOADER_STREAM (the top bit of the offset word) keeps these
 * counters apart from the global stream's, whose offsets count values
 * drawn and never come near 2^63: seed 42 here does not replay the numbers
 * of nb_manual_seed(42).
 */
#include "dataset.h"

#include "core/random.h"
#include "dist/dist_internal.h"

#define LOADER_STREAM (UINT64_C(1) << 63)

struct nb_loader {
    nb_dataset *dataset; /* borrowed */
    int64_t     batch_size;
    bool        shuffle;
    bool        drop_last;
    uint64_t    seed;
    uint64_t    epoch;    /* 0 for the first, +1 per nb_loader_reset */
    int64_t     position; /* samples of this epoch already handed out */
    int64_t     size;     /* dataset->size when the loader was made */
    int64_t    *order;    /* size sample indices, this epoch's order */
    bool        ended;    /* the last nb_loader_next reported the end of the epoch */
    /* nb_loader_shard (src/dist/sampler.c): this rank's part of order, or
     * none (shard_world 1: the loader visits order itself). */
    int         shard_rank, shard_world;
    bool        shard_drop_last;
    int64_t    *shard;
    int64_t     shard_length;
};

/* What this epoch visits, and how many. */
static const int64_t *visit_order(const nb_loader *l) { return l->shard ? l->shard : l->order; }
static int64_t        visit_count(const nb_loader *l) { return l->shard ? l->shard_length : l->size; }

/* order = 0, 1, ..., n-1, shuffled when shuffle. NOTE: the random index
 * is r mod (i + 1) for a 64-bit r; its bias, under (i + 1) / 2^64, is far
 * below anything a dataset that fits memory shows. */
void nbi_loader_permutation(int64_t *order, int64_t n, bool shuffle, uint64_t seed, uint64_t epoch)
{
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    if (!shuffle) return;
    for (int64_t i = n - 1; i > 0; i--) {
        uint64_t r    = nbi_philox_u64(seed, LOADER_STREAM | epoch, (uint64_t)i);
        int64_t  j    = (int64_t)(r % (uint64_t)(i + 1));
        int64_t  swap = order[i];
        order[i]      = order[j];
        order[j]      = swap;
    }
}

static void draw_order(nb_loader *l)
{
    nbi_loader_permutation(l->order, l->size, l->shuffle, l->seed, l->epoch);
    if (l->shard && l->size > 0)
        nbi_shard_take(l->order, l->size, l->shard_rank, l->shard_world, l->shard_drop_last, l->shard);
}

nb_loader *nb_loader_new(nb_dataset *d, int64_t batch_size, bool shuffle, bool drop_last, uint64_t seed)
{
    const char *op = "nb_loader_new";
    if (!nbi_check_object(d, op, "d")) return NULL;
    if (batch_size < 1)
        return nbi_fail(NB_ERR_ARG, "%s: batch_size must be at least 1, got %lld", op, (long long)batch_size);
    nb_loader *l = nbi_host_alloc(sizeof *l);
    if (l == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory", op);
    *l       = (nb_loader){.dataset    = d,
                           .batch_size = batch_size,
                           .shuffle    = shuffle,
                           .drop_last  = drop_last,
                           .seed       = seed,
                           .size       = d->size};
    l->order = nbi_host_alloc((size_t)d->size * sizeof *l->order);
    if (l->order == NULL) {
        nbi_host_release(l, sizeof *l);
        return nbi_fail(NB_ERR_OOM, "%s: out of memory for the order of %lld samples", op, (long long)d->size);
    }
    draw_order(l);
    return l;
}

int64_t nb_loader_num_batches(const nb_loader *l)
{
    if (!nbi_check_object(l, "nb_loader_num_batches", "l")) return -1;
    int64_t n = visit_count(l), b = l->batch_size;
    return l->drop_last ? n / b : n / b + (n % b != 0);
}

/* Rows rows[0..count) of t, gathered along dim 0 into a new contiguous
 * tensor. NOTE: the fast path copies whole rows of a contiguous tensor
 * with memcpy; nb_index_select's general strided walk costs ~100 ns per
 * innermost row (a batch of 64 digits is 1,792 rows of 28 bytes) and
 * wakes threads for ~50k elements, both of which a training step feels.
 * Anything else (views, tensors that require grad and so need a graph
 * node) goes through nb_index_select, which the fast path must equal. */
static nb_tensor *gather_rows(const nb_tensor *t, const int64_t *rows, int64_t count)
{
    if (!nb_is_contiguous(t) || t->requires_grad) {
        nb_tensor *index = nb_from_data(rows, NB_SHAPE(count), NB_OPTS(.dtype = NB_INT64));
        nb_tensor *out   = index ? nb_index_select(t, 0, index) : NULL;
        nb_free(index);
        return out;
    }
    int64_t shape[NB_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[0]       = count;
    nb_tensor *out = nbi_empty(t->ndim, shape, t->dtype, NB_DEVICE_CPU);
    if (out == NULL) return NULL;
    size_t      row_bytes = (size_t)(t->shape[0] > 0 ? t->numel / t->shape[0] : 0) * nbi_itemsize(t);
    const char *src       = nbi_ptr(t);
    char       *dst       = nbi_ptr(out);
    for (int64_t i = 0; i < count; i++)
        memcpy(dst + (size_t)i * row_bytes, src + (size_t)rows[i] * row_bytes, row_bytes);
    return out;
}

bool nb_loader_next(nb_loader *l, nb_tensor **batch)
{
    const char *op = "nb_loader_next";
    if (!nbi_check_object(l, op, "l") || !nbi_check_object(batch, op, "batch")) return false;
    const nb_dataset *d = l->dataset;
    for (int k = 0; k < d->count; k++)
        batch[k] = NULL;
    /* The call after the end of an epoch starts the next one, as a second
     * `for batch in loader` does in PyTorch: forgetting nb_loader_reset
     * used to give an empty epoch. */
    if (l->ended) nb_loader_reset(l);
    int64_t left  = visit_count(l) - l->position;
    int64_t count = left < l->batch_size ? left : l->batch_size;
    if (count == 0 || (l->drop_last && count < l->batch_size)) { /* end of the epoch */
        l->ended = true;
        return false;
    }

    for (int k = 0; k < d->count; k++) {
        batch[k] = gather_rows(d->tensors[k], visit_order(l) + l->position, count);
        if (batch[k] == NULL) {
            for (int j = 0; j < k; j++) {
                nb_free(batch[j]);
                batch[j] = NULL;
            }
            return false;
        }
    }
    l->position += count;
    return true;
}

void nb_loader_reset(nb_loader *l)
{
    if (l == NULL) return;
    l->epoch++;
    l->position = 0;
    l->ended    = false;
    draw_order(l);
}

bool nb_loader_ended(const nb_loader *l)
{
    if (!nbi_check_object(l, "nb_loader_ended", "l")) return false;
    return l->ended;
}

void nb_loader_free(nb_loader *l)
{
    if (l == NULL) return;
    if (l->shard) nbi_host_release(l->shard, (size_t)(l->shard_length + 1) * sizeof *l->shard);
    nbi_host_release(l->order, (size_t)l->size * sizeof *l->order);
    nbi_host_release(l, sizeof *l);
}

nb_status nb_loader_shard(nb_loader *l, int rank, int world_size, bool drop_last)
{
    const char *op = "nb_loader_shard";
    if (!nbi_check_object(l, op, "l")) return NB_ERR_ARG;
    if (!nbi_shard_check(rank, world_size, op)) return NB_ERR_ARG;
    if (l->position != 0)
        return nbi_fail_status(NB_ERR_STATE, "%s: the loader is in the middle of an epoch (%lld samples handed "
                                             "out); shard it before the first batch or after nb_loader_reset",
                               op, (long long)l->position);
    int64_t  length = nbi_shard_length(l->size, world_size, drop_last);
    int64_t *shard  = nbi_host_alloc((size_t)(length + 1) * sizeof *shard); /* + 1: never 0 bytes */
    if (shard == NULL) return nbi_fail_status(NB_ERR_OOM, "%s: out of memory for %lld indices", op, (long long)length);
    if (l->shard) nbi_host_release(l->shard, (size_t)(l->shard_length + 1) * sizeof *l->shard);
    l->shard           = shard;
    l->shard_length    = length;
    l->shard_rank      = rank;
    l->shard_world     = world_size;
    l->shard_drop_last = drop_last;
    draw_order(l);
    return NB_OK;
}
