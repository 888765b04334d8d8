/*
 * collectives.c — all_reduce, broadcast, all_gather and reduce_scatter of
 * CPU tensors over MPI, and of CUDA tensors over NCCL (nccl.c).
 *
 * Each collective runs in three steps:
 *   1. local checks (tensor, device, dtype, op, root, shape), which record
 *      this rank's error but do not return yet;
 *   2. the agreement: one small all-reduce of the call's fingerprint
 *      (whether the local checks passed, the kind of call, dtype, shape,
 *      root or op). Ranks that differ all fail here with NB_ERR_DIST, and a
 *      rank whose own checks failed still takes part, so its peers learn of
 *      it instead of waiting for data that never comes;
 *   3. the data, through MPI's blocking collective. NOTE: the agreement is
 *      the rendezvous that carries the deadline (nbi_dist_wait): once every
 *      rank has passed it, all are inside the same call, and the blocking
 *      form uses OpenMPI's tuned algorithms: its nonblocking MPI_Iallreduce
 *      (libnbc) took 3.0 ms for 10 MB on 2 local processes where
 *      MPI_Allreduce took 2.5 ms. A peer that crashes mid-transfer ends the
 *      job through mpirun; a stalled one is not caught here.
 * Tensors are staged through a contiguous copy when they are not
 * contiguous; MPI reduces in place (MPI_IN_PLACE) otherwise.
 */
#ifdef NB_HAVE_MPI
#include "dist_internal.h"

#include <limits.h>

/* valid, kind, dtype, device type, ndim, numel, 8 sizes, extra (op or root). */
enum { FINGERPRINT = 6 + NB_MAX_DIMS + 1 };
static const char *const fingerprint_names[FINGERPRINT] = {
    "whether the call's arguments are valid (a rank failed its own checks)",
    "which collective is called",
    "the dtype (as nb_dtype)",
    "the device type (0 CPU through MPI, 1 CUDA through NCCL)",
    "the number of dimensions",
    "the number of elements",
    "size 0",
    "size 1",
    "size 2",
    "size 3",
    "size 4",
    "size 5",
    "size 6",
    "size 7",
    "the reduce op or root",
};

/* The local error, kept across the agreement so a rank reports its own
 * cause rather than the disagreement it caused. */
typedef struct {
    bool      valid;
    nb_status status;
    char      message[512];
} local_check;

static void local_failed(local_check *check)
{
    check->valid  = false;
    check->status = nb_last_status();
    snprintf(check->message, sizeof check->message, "%s", nb_last_error());
}

/* Steps 1 and 2 shared: t may be NULL (the local checks failed before it
 * was looked at). Returns NB_OK when every rank may go on. */
static nb_status agree(local_check *check, nbi_collective_kind kind, const nb_tensor *t, int64_t extra, const char *op)
{
    int64_t fingerprint[FINGERPRINT] = { 0 };
    fingerprint[0]                   = check->valid;
    fingerprint[1]                   = kind;
    if (check->valid) {
        fingerprint[2] = (int64_t)t->dtype;
        fingerprint[3] = (int64_t)t->storage->device.type;
        fingerprint[4] = t->ndim;
        fingerprint[5] = t->numel;
        for (int d = 0; d < t->ndim; d++)
            fingerprint[6 + d] = t->shape[d];
        fingerprint[6 + NB_MAX_DIMS] = extra;
    }
    nb_status status = nbi_dist_agree(fingerprint, fingerprint_names, FINGERPRINT, op);
    if (!check->valid) {
        /* The agreement's own error (if any) is about this rank's failure:
         * report the cause instead (without a message when the cause was a
         * NULL argument under a pending error: the NULL-in rule). */
        nb_set_error(check->status, "%s", check->message);
        return check->status;
    }
    return status;
}

/* The group can run a collective; when it cannot, a NULL or freed t is
 * reported first (the NULL-in rule of nabla.h keeps a pending error). In a
 * ready group a bad t is a local failure that still takes part in the
 * agreement. */
static bool group_ready(const nb_tensor *t, const char *op)
{
    if ((!nbi_dist.initialized || nbi_dist.broken) && !nbi_check_tensor(t, op, "t")) return false;
    return nbi_dist_ready(op);
}

static bool on_cuda(const nb_tensor *t) { return t->storage->device.type == NB_CUDA; }

/* The common local checks of a tensor argument; writes: the collective
 * writes t in place. */
static bool check_tensor(const nb_tensor *t, bool writes, const char *op)
{
    if (!nbi_check_tensor(t, op, "t")) return false;
    if (writes && nbi_has_internal_overlap(t)) {
        nbi_fail(NB_ERR_ARG, "%s: t is an expanded tensor (a stride of 0): its elements share memory and cannot be "
                             "written in place; clone it",
                 op);
        return false;
    }
    if (on_cuda(t)) return nbi_nccl_check(t, op);
    return nbi_dist_mpi_type(t->dtype, op) != MPI_DATATYPE_NULL;
}

/* x /= divisor over a contiguous floating buffer (the MEAN ops). */
void nbi_dist_divide(void *data, int64_t count, nb_dtype dtype, int divisor)
{
    if (dtype == NB_FLOAT32) {
        float *x = data;
        for (int64_t i = 0; i < count; i++)
            x[i] /= (float)divisor;
    } else if (dtype == NB_FLOAT64) {
        double *x = data;
        for (int64_t i = 0; i < count; i++)
            x[i] /= (double)divisor;
    }
}

/* MPI counts are int: a buffer of more elements goes as several calls. */
enum { MAX_CHUNKS = 64 }; /* at most 2^36 elements */
static const int64_t CHUNK = INT_MAX / 2 + 1; /* 2^30 elements */

static bool check_count(int64_t numel, int64_t per_call_limit, const char *op)
{
    if (numel <= per_call_limit) return true;
    nbi_fail(NB_ERR_UNSUPPORTED, "%s: %lld elements are more than this collective takes (%lld)", op,
             (long long)numel, (long long)per_call_limit);
    return false;
}

/* A contiguous tensor with t's values (t itself, a new handle) for MPI to
 * read and write (on the host) or NCCL (on t's GPU); NULL on error. */
static nb_tensor *contiguous_work(const nb_tensor *t)
{
    if (!on_cuda(t)) return nbi_host_contiguous(t);
    return nb_is_contiguous(t) ? nbi_alias(t) : nbi_copy_as(t, t->dtype);
}

/* The dtype t is reduced in: on the CPU, float16 and bfloat16 (which MPI
 * cannot add) as float32, rounded back once at the end; else t's own
 * (NCCL reduces halves itself). */
static nb_dtype reduction_dtype(const nb_tensor *t)
{
    return nbi_is_half(t->dtype) && !on_cuda(t) ? NB_FLOAT32 : t->dtype;
}

/* contiguous_work in the reduction's dtype. */
static nb_tensor *reduction_work(const nb_tensor *t)
{
    nb_dtype dtype = reduction_dtype(t);
    return dtype != t->dtype ? nbi_copy_as(t, dtype) : contiguous_work(t);
}

/* After an in-place collective on work: t gets its values. */
static void finish_in_place(nb_tensor *t, nb_tensor *work)
{
    if (work->storage != t->storage) nbi_copy_into(t, work);
    nbi_bump_version(t);
    nb_free(work);
}

nb_status nb_dist_all_reduce(nb_tensor *t, nb_reduce_op op)
{
    const char *name = "nb_dist_all_reduce";
    if (!group_ready(t, name)) return t ? nb_last_status() : NB_ERR_ARG;
    local_check check = { .valid = true };
    MPI_Op      mpi_op = MPI_OP_NULL;
    if (!check_tensor(t, true, name) || (mpi_op = nbi_dist_mpi_op(op, t->dtype, name)) == MPI_OP_NULL ||
        !check_count(t->numel, CHUNK * MAX_CHUNKS, name))
        local_failed(&check);
    nb_status status = agree(&check, NBI_ALL_REDUCE, t, (int64_t)op, name);
    if (status != NB_OK) return status;

    nb_tensor *work = reduction_work(t);
    if (work == NULL) return nb_last_status();
    if (on_cuda(t)) {
        status = nbi_nccl_run(NBI_ALL_REDUCE, work, NULL, (int)op, name);
        if (status == NB_OK)
            finish_in_place(t, work);
        else
            nb_free(work);
        return status;
    }
    MPI_Datatype type     = nbi_dist_mpi_type(work->dtype, name);
    size_t       itemsize = nbi_itemsize(work);
    for (int64_t start = 0; status == NB_OK && start < t->numel; start += CHUNK) {
        int64_t count = t->numel - start < CHUNK ? t->numel - start : CHUNK;
        int     code  = MPI_Allreduce(MPI_IN_PLACE, nbi_ptr(work) + (size_t)start * itemsize, (int)count, type, mpi_op,
                                      nbi_dist.comm);
        if (code != MPI_SUCCESS) status = nbi_dist_mpi_fail(code, name, "MPI_Allreduce");
    }
    if (status == NB_OK && op == NB_REDUCE_MEAN) nbi_dist_divide(nbi_ptr(work), t->numel, work->dtype, nbi_dist.size);
    if (status == NB_OK) {
        finish_in_place(t, work);
    } else {
        nb_free(work);
    }
    return status;
}

nb_status nb_dist_broadcast(nb_tensor *t, int root)
{
    const char *name = "nb_dist_broadcast";
    if (!group_ready(t, name)) return t ? nb_last_status() : NB_ERR_ARG;
    local_check check = { .valid = true };
    if (!check_tensor(t, true, name) || !check_count(t->numel, CHUNK * MAX_CHUNKS, name)) {
        local_failed(&check);
    } else if (root < 0 || root >= nbi_dist.size) {
        nbi_fail(NB_ERR_ARG, "%s: root %d is not a rank (the group has %d)", name, root, nbi_dist.size);
        local_failed(&check);
    }
    nb_status status = agree(&check, NBI_BROADCAST, t, root, name);
    if (status != NB_OK) return status;

    nb_tensor *work = contiguous_work(t); /* bits, halves included */
    if (work == NULL) return nb_last_status();
    if (on_cuda(t)) {
        status = nbi_nccl_run(NBI_BROADCAST, work, NULL, root, name);
    } else {
        MPI_Datatype type     = nbi_dist_mpi_type(work->dtype, name);
        size_t       itemsize = nbi_itemsize(work);
        for (int64_t start = 0; status == NB_OK && start < t->numel; start += CHUNK) {
            int64_t count = t->numel - start < CHUNK ? t->numel - start : CHUNK;
            int     code = MPI_Bcast(nbi_ptr(work) + (size_t)start * itemsize, (int)count, type, root, nbi_dist.comm);
            if (code != MPI_SUCCESS) status = nbi_dist_mpi_fail(code, name, "MPI_Bcast");
        }
    }
    if (status == NB_OK && nbi_dist.rank != root) {
        finish_in_place(t, work);
    } else {
        nb_free(work);
    }
    return status;
}

nb_tensor *nb_dist_all_gather(const nb_tensor *t)
{
    const char *name = "nb_dist_all_gather";
    if (!group_ready(t, name)) return NULL;
    local_check check = { .valid = true };
    if (!check_tensor(t, false, name) || !check_count(t->numel, INT_MAX, name)) {
        local_failed(&check);
    } else if (t->ndim == NB_MAX_DIMS) {
        nbi_fail(NB_ERR_SHAPE, "%s: t has %d dims; the result would have more than %d", name, t->ndim, NB_MAX_DIMS);
        local_failed(&check);
    }
    if (agree(&check, NBI_ALL_GATHER, t, 0, name) != NB_OK) return NULL;

    int64_t shape[NB_MAX_DIMS];
    shape[0] = nbi_dist.size;
    for (int d = 0; d < t->ndim; d++)
        shape[d + 1] = t->shape[d];
    nb_tensor *out  = nbi_empty(t->ndim + 1, shape, t->dtype, t->storage->device);
    nb_tensor *work = out ? contiguous_work(t) : NULL;
    if (work == NULL) {
        nb_free(out);
        return NULL;
    }
    nb_status status;
    if (on_cuda(t)) {
        status = nbi_nccl_run(NBI_ALL_GATHER, work, out, 0, name);
    } else {
        MPI_Datatype type = nbi_dist_mpi_type(t->dtype, name);
        int code = MPI_Allgather(nbi_ptr(work), (int)t->numel, type, nbi_ptr(out), (int)t->numel, type, nbi_dist.comm);
        status   = code == MPI_SUCCESS ? NB_OK : nbi_dist_mpi_fail(code, name, "MPI_Allgather");
    }
    nb_free(work);
    if (status != NB_OK) {
        nb_free(out);
        return NULL;
    }
    return out;
}

nb_tensor *nb_dist_reduce_scatter(const nb_tensor *t, nb_reduce_op op)
{
    const char *name = "nb_dist_reduce_scatter";
    if (!group_ready(t, name)) return NULL;
    local_check check  = { .valid = true };
    MPI_Op      mpi_op = MPI_OP_NULL;
    if (!check_tensor(t, false, name) || (mpi_op = nbi_dist_mpi_op(op, t->dtype, name)) == MPI_OP_NULL ||
        !check_count(t->numel, INT_MAX, name)) {
        local_failed(&check);
    } else if (t->ndim == 0 || t->shape[0] % nbi_dist.size != 0) {
        char shape[NBI_SHAPE_STR_SIZE];
        nbi_fail(NB_ERR_SHAPE, "%s: t's dim 0 must be a multiple of the world size %d; t is %s", name,
                 nbi_dist.size, nbi_shape_str(t->ndim, t->shape, shape, sizeof shape));
        local_failed(&check);
    }
    if (agree(&check, NBI_REDUCE_SCATTER, t, (int64_t)op, name) != NB_OK) return NULL;

    int64_t shape[NB_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++)
        shape[d] = t->shape[d];
    shape[0] /= nbi_dist.size;
    int64_t    count = t->numel / nbi_dist.size;
    nb_dtype   dtype = reduction_dtype(t);
    nb_tensor *out   = nbi_empty(t->ndim, shape, dtype, t->storage->device);
    nb_tensor *work  = out ? reduction_work(t) : NULL;
    if (work == NULL) {
        nb_free(out);
        return NULL;
    }
    nb_status status;
    if (on_cuda(t)) {
        status = nbi_nccl_run(NBI_REDUCE_SCATTER, work, out, (int)op, name);
    } else {
        int code = MPI_Reduce_scatter_block(nbi_ptr(work), nbi_ptr(out), (int)count, nbi_dist_mpi_type(dtype, name),
                                            mpi_op, nbi_dist.comm);
        status   = code == MPI_SUCCESS ? NB_OK : nbi_dist_mpi_fail(code, name, "MPI_Reduce_scatter_block");
    }
    nb_free(work);
    if (status != NB_OK) {
        nb_free(out);
        return NULL;
    }
    if (op == NB_REDUCE_MEAN && !on_cuda(t)) nbi_dist_divide(nbi_ptr(out), count, dtype, nbi_dist.size);
    if (dtype != t->dtype) { /* a half: rounded back once */
        nb_tensor *rounded = nbi_copy_as(out, t->dtype);
        nb_free(out);
        out = rounded;
    }
    return out;
}
#endif /* NB_HAVE_MPI */
