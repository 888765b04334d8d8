/*
 * sampler.c — which samples each rank visits (torch's DistributedSampler):
 * every rank draws the same permutation of the epoch (the loader's), makes
 * it a multiple of the world size W by repeating its head (or cutting its
 * tail, drop_last), and takes every W-th index from its rank on. Batch k of
 * rank r then holds entries k*B*W + r, + W, ... of the epoch's order, so
 * the ranks' batches k together are batch k of one process with batch B*W.
 *
 * Pure arithmetic: nothing here talks to another process, so it works in a
 * build without MPI.
 */
#include "dist_internal.h"

int64_t nbi_shard_length(int64_t n, int world_size, bool drop_last)
{
    return drop_last ? n / world_size : (n + world_size - 1) / world_size;
}

void nbi_shard_take(const int64_t *order, int64_t n, int rank, int world_size, bool drop_last, int64_t *shard)
{
    int64_t length = nbi_shard_length(n, world_size, drop_last);
    for (int64_t i = 0; i < length; i++) {
        /* NOTE: padding repeats the order from its start (index mod n), as
         * torch does, also when it must wrap more than once (n < W). */
        int64_t position = i * world_size + rank;
        shard[i]         = order[position % n];
    }
}

static bool check_rank(int rank, int world_size, const char *op)
{
    if (world_size < 1) {
        nbi_fail(NB_ERR_ARG, "%s: world_size must be at least 1, got %d", op, world_size);
        return false;
    }
    if (rank < 0 || rank >= world_size) {
        nbi_fail(NB_ERR_ARG, "%s: rank %d is outside [0, %d)", op, rank, world_size);
        return false;
    }
    return true;
}

nb_tensor *nb_dist_sampler_indices(int64_t n, bool shuffle, uint64_t seed, uint64_t epoch, int rank, int world_size,
                                   bool drop_last)
{
    const char *op = "nb_dist_sampler_indices";
    if (n < 0) return nbi_fail(NB_ERR_ARG, "%s: n must be >= 0, got %lld", op, (long long)n);
    if (!check_rank(rank, world_size, op)) return NULL;
    int64_t  length = nbi_shard_length(n, world_size, drop_last);
    int64_t *order  = nbi_host_alloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    if (order == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory for %lld indices", op, (long long)n);
    nb_tensor *out = nbi_empty(1, &length, NB_INT64, NB_DEVICE_CPU);
    if (out != NULL) {
        nbi_loader_permutation(order, n, shuffle, seed, epoch);
        if (n > 0) nbi_shard_take(order, n, rank, world_size, drop_last, (int64_t *)nbi_ptr(out));
    }
    nbi_host_release(order, (size_t)(n > 0 ? n : 1) * sizeof *order);
    return out;
}

bool nbi_shard_check(int rank, int world_size, const char *op) { return check_rank(rank, world_size, op); }
