/*
 * dist_internal.h — what the files of src/dist/ share: the process group
 * (process_group.c), the checks every collective makes, and the wait with
 * a deadline that every MPI request goes through.
 *
 * Only files built with NB_HAVE_MPI include <mpi.h>; without MPI,
 * no_mpi.c gives every function of nabla/dist.h that needs a peer its
 * NB_ERR_UNSUPPORTED answer.
 */
#ifndef NABLA_DIST_INTERNAL_H
#define NABLA_DIST_INTERNAL_H

#include "../core/internal.h"

/* The permutation of [0, n) a loader with this seed visits in epoch
 * (src/data/loader.c's Fisher-Yates on Philox), into order[0..n). */
void    nbi_loader_permutation(int64_t *order, int64_t n, bool shuffle, uint64_t seed, uint64_t epoch);
/* How many indices each of world ranks visits out of n (sampler.c), and
 * rank's shard of order[0..n) into shard[0..that). */
int64_t nbi_shard_length(int64_t n, int world_size, bool drop_last);
void    nbi_shard_take(const int64_t *order, int64_t n, int rank, int world_size, bool drop_last, int64_t *shard);
/* rank in [0, world_size) and world_size >= 1; else false with NB_ERR_ARG. */
bool    nbi_shard_check(int rank, int world_size, const char *op);

#ifdef NB_HAVE_MPI
#include <mpi.h>

/* The group (one per process): MPI_COMM_WORLD duplicated, with
 * MPI_ERRORS_RETURN so MPI's failures come back as codes. */
typedef struct {
    bool     initialized;
    bool     started_mpi; /* nb_dist_init called MPI_Init (so it finalizes) */
    bool     broken;      /* a collective failed or timed out */
    char     broken_reason[256];
    MPI_Comm comm;
    int      rank, size;
} nbi_dist_group;
extern nbi_dist_group nbi_dist;

/* true when the group can run a collective; else false with NB_ERR_STATE
 * (not initialised) or NB_ERR_DIST (broken). */
bool      nbi_dist_ready(const char *op);
/* A failed MPI call: NB_ERR_DIST "op: what: MPI's error string", and the
 * group marked broken. */
nb_status nbi_dist_mpi_fail(int code, const char *op, const char *what);
/* Wait for count requests until they complete or the timeout passes
 * (NB_ERR_DIST, the group broken). Polls MPI_Testall, which also drives
 * MPI's progress. */
nb_status nbi_dist_wait(MPI_Request *requests, int count, const char *op, const char *what);
/* Drive MPI's progress on requests without waiting (in the DDP hooks). */
void      nbi_dist_poke(MPI_Request *requests, int count);
/* Every rank passed the same values[0..count) (a fingerprint of the call:
 * kind, dtype, shape, root ...); else NB_ERR_DIST on every rank, naming
 * the field (names[i]) that differs and its smallest and largest value. One
 * small all-reduce. */
nb_status nbi_dist_agree(const int64_t *values, const char *const *names, int count, const char *op);
/* The MPI type of a dtype, or MPI_DATATYPE_NULL with NB_ERR_DTYPE. */
MPI_Datatype nbi_dist_mpi_type(nb_dtype dtype, const char *op);
/* The MPI op for op on dtype (bool: or / and); MPI_OP_NULL with an error
 * for an unknown op or MEAN of a non-float. */
MPI_Op    nbi_dist_mpi_op(nb_reduce_op op, nb_dtype dtype, const char *name);
/* x /= divisor over count contiguous elements (floating dtypes; others
 * are left alone). */
void      nbi_dist_divide(void *data, int64_t count, nb_dtype dtype, int divisor);
/* How many of ddp's gradient buckets have started their all-reduce in this
 * step (0 after nb_ddp_sync_grads), and how many it has: the tests' view
 * of the overlap with backward. */
int       nbi_ddp_buckets_started(const nb_ddp *ddp, int *total);
/* Monotonic seconds. */
double    nbi_dist_now(void);
/* The group is broken (the first reason given is the one kept): every
 * later collective fails at once with NB_ERR_DIST naming it. */
void      nbi_dist_mark_broken(const char *reason);
/* nb_dist_set_timeout's seconds (0: wait forever). */
double    nbi_dist_timeout(void);

/* The collectives (collectives.c's fingerprint names them by these). */
typedef enum {
    NBI_ALL_REDUCE = 1,
    NBI_BROADCAST,
    NBI_ALL_GATHER,
    NBI_REDUCE_SCATTER
} nbi_collective_kind;

/* CUDA tensors' collectives (nccl.c), in builds with the CUDA backend and
 * NCCL's header. nbi_nccl_check is a local check (collectives.c's step 1):
 * NCCL can be loaded and takes t's dtype (NB_ERR_UNSUPPORTED, NB_ERR_DTYPE).
 * nbi_nccl_run runs kind after the agreement on a contiguous work tensor
 * of t's device: in place (all_reduce, broadcast; out NULL) or into out;
 * arg is the nb_reduce_op or the root. */
bool      nbi_nccl_check(const nb_tensor *t, const char *op);
nb_status nbi_nccl_run(nbi_collective_kind kind, nb_tensor *work, nb_tensor *out, int arg, const char *op);
/* At nb_dist_finalize: the communicator goes (no-op without one). */
void      nbi_nccl_finalize(void);
#endif

#endif /* NABLA_DIST_INTERNAL_H */
