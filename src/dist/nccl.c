/*
 * nccl.c — collectives of CUDA tensors through NCCL.
 *
 * CPU tensors go through MPI (collectives.c); a CUDA tensor's bytes go
 * GPU to GPU through NCCL, the library the field uses for this, queued on
 * the device's one stream, so they are ordered with the kernels that made
 * the tensor and the ones that read the result.
 *
 * NCCL is opened (dlopen) the first time a CUDA tensor meets a collective,
 * not linked: a build with the CUDA backend then still runs where NCCL is
 * not installed, as the static CUDA runtime lets it run without a driver,
 * and only that collective fails (NB_ERR_UNSUPPORTED, saying so). The
 * header comes with the CUDA toolkit; the build is told where its library
 * was found (NB_NCCL_LIBRARY) and tries the loader's search path first.
 *
 * The communicator: one per process, on the device of the first CUDA
 * tensor given to a collective. Rank 0 makes NCCL's unique id and MPI
 * broadcasts it; every rank then joins (ncclCommInitRank). This happens
 * inside a collective that every rank has agreed to (collectives.c's
 * fingerprint includes the device), so all ranks join together.
 *
 * Waiting: the host polls the stream and NCCL's asynchronous error until
 * the work is done, up to the group's timeout (nb_dist_set_timeout). A
 * timeout, an asynchronous NCCL error or a CUDA error aborts the
 * communicator, marks the group broken and returns NB_ERR_DIST, as a
 * failed MPI call does: the other ranks then fail on their own timeout
 * instead of hanging.
 *
 * float16 and bfloat16 are reduced by NCCL in their own type (as PyTorch's
 * NCCL backend does), not widened as the MPI path does; int16 has no NCCL
 * type and is refused.
 */
#if defined(NB_HAVE_MPI) && defined(NB_HAVE_NCCL)
#define _DEFAULT_SOURCE /* nanosleep */
#include "dist_internal.h"

#include "../cuda/cuda_runtime_api.h"

#include <dlfcn.h>
#include <nccl.h>
#include <string.h>
#include <time.h>

typedef struct {
    ncclResult_t (*get_unique_id)(ncclUniqueId *);
    ncclResult_t (*comm_init_rank)(ncclComm_t *, int, ncclUniqueId, int);
    ncclResult_t (*comm_abort)(ncclComm_t);
    ncclResult_t (*comm_destroy)(ncclComm_t);
    ncclResult_t (*comm_get_async_error)(ncclComm_t, ncclResult_t *);
    const char *(*get_error_string)(ncclResult_t);
    ncclResult_t (*all_reduce)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t);
    ncclResult_t (*broadcast)(const void *, void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t);
    ncclResult_t (*all_gather)(const void *, void *, size_t, ncclDataType_t, ncclComm_t, cudaStream_t);
    ncclResult_t (*reduce_scatter)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t,
                                   cudaStream_t);
} nccl_api;

static struct {
    bool       tried;        /* dlopen attempted (once per process) */
    bool       loaded;
    char       load_error[256];
    nccl_api   api;
    bool       has_comm;
    ncclComm_t comm;
    int        device;       /* the communicator's */
} nccl;

#ifndef NB_NCCL_LIBRARY
#define NB_NCCL_LIBRARY "libnccl.so"
#endif

/* dlsym into a function pointer: through memcpy, as ISO C has no cast
 * between object and function pointers. */
static bool load_symbol(void *library, const char *name, void *slot, size_t slot_size)
{
    void *symbol = dlsym(library, name);
    if (symbol == NULL) {
        snprintf(nccl.load_error, sizeof nccl.load_error, "%s has no %s (NCCL too old?)", NB_NCCL_LIBRARY, name);
        return false;
    }
    memcpy(slot, &symbol, slot_size);
    return true;
}

#define LOAD(field, name) load_symbol(library, name, &nccl.api.field, sizeof nccl.api.field)

static bool load_nccl(void)
{
    if (nccl.tried) return nccl.loaded;
    nccl.tried    = true;
    void *library = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) library = dlopen(NB_NCCL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *why = dlerror();
        snprintf(nccl.load_error, sizeof nccl.load_error, "could not open NCCL (libnccl.so.2, %s): %s",
                 NB_NCCL_LIBRARY, why ? why : "not found");
        return false;
    }
    nccl.loaded = LOAD(get_unique_id, "ncclGetUniqueId") && LOAD(comm_init_rank, "ncclCommInitRank") &&
                  LOAD(comm_abort, "ncclCommAbort") && LOAD(comm_destroy, "ncclCommDestroy") &&
                  LOAD(comm_get_async_error, "ncclCommGetAsyncError") &&
                  LOAD(get_error_string, "ncclGetErrorString") && LOAD(all_reduce, "ncclAllReduce") &&
                  LOAD(broadcast, "ncclBroadcast") && LOAD(all_gather, "ncclAllGather") &&
                  LOAD(reduce_scatter, "ncclReduceScatter");
    if (!nccl.loaded) dlclose(library);
    return nccl.loaded;
}

/* NCCL's type for a dtype; false where it has none. */
static bool nccl_type(nb_dtype dtype, ncclDataType_t *type)
{
    switch (dtype) {
    case NB_FLOAT32: *type = ncclFloat32; return true;
    case NB_FLOAT64: *type = ncclFloat64; return true;
    case NB_FLOAT16: *type = ncclFloat16; return true;
    case NB_BFLOAT16: *type = ncclBfloat16; return true;
    case NB_INT64: *type = ncclInt64; return true;
    case NB_INT32: *type = ncclInt32; return true;
    case NB_INT8: *type = ncclInt8; return true;
    case NB_UINT8:
    case NB_BOOL: *type = ncclUint8; return true; /* bool: 0/1 bytes, reduced by max (or) and min (and) */
    default: return false;
    }
}

/* The op on dtype, after nbi_dist_mpi_op has checked the pair (MEAN of a
 * non-float is refused there). */
static ncclRedOp_t nccl_op(nb_reduce_op reduce, nb_dtype dtype)
{
    bool is_bool = dtype == NB_BOOL;
    switch (reduce) {
    case NB_REDUCE_SUM: return is_bool ? ncclMax : ncclSum;
    case NB_REDUCE_MEAN: return ncclAvg;
    case NB_REDUCE_MAX: return ncclMax;
    case NB_REDUCE_MIN: return ncclMin;
    }
    return ncclSum;
}

bool nbi_nccl_check(const nb_tensor *t, const char *op)
{
    if (!load_nccl()) {
        nbi_fail(NB_ERR_UNSUPPORTED, "%s: collectives on CUDA tensors need NCCL: %s", op, nccl.load_error);
        return false;
    }
    ncclDataType_t type;
    if (!nccl_type(t->dtype, &type)) {
        nbi_fail(NB_ERR_DTYPE, "%s: NCCL has no %s type; convert the tensor (e.g. to int32) or copy it to the CPU",
                 op, nb_dtype_name(t->dtype));
        return false;
    }
    if (nccl.has_comm && t->storage->device.index != nccl.device) {
        nbi_fail(NB_ERR_DEVICE, "%s: this process's NCCL communicator is on cuda:%d, the tensor on cuda:%d (one "
                                "device per process)",
                 op, nccl.device, t->storage->device.index);
        return false;
    }
    return true;
}

/* A failure after the agreement: the group is broken, the communicator
 * aborted (its peers may be inside the same collective). */
static nb_status nccl_fail(const char *op, const char *what, const char *reason)
{
    nb_status status = nbi_fail_status(NB_ERR_DIST, "%s: %s failed on rank %d of %d: %s", op, what, nbi_dist.rank,
                                       nbi_dist.size, reason);
    nbi_dist_mark_broken(nb_last_error());
    if (nccl.has_comm) {
        nccl.api.comm_abort(nccl.comm);
        nccl.has_comm = false;
    }
    return status;
}

static nb_status nccl_result(ncclResult_t result, const char *op, const char *what)
{
    if (result == ncclSuccess || result == ncclInProgress) return NB_OK;
    return nccl_fail(op, what, nccl.api.get_error_string(result));
}

/* The communicator on device, made with every rank (see above). */
static nb_status ensure_comm(int device, const char *op)
{
    if (nccl.has_comm) return NB_OK;
    struct {
        int32_t      ok;
        ncclUniqueId id;
    } offer;
    memset(&offer, 0, sizeof offer);
    if (nbi_dist.rank == 0) offer.ok = nccl.api.get_unique_id(&offer.id) == ncclSuccess;
    int code = MPI_Bcast(&offer, (int)sizeof offer, MPI_BYTE, 0, nbi_dist.comm);
    if (code != MPI_SUCCESS) return nbi_dist_mpi_fail(code, op, "sending NCCL's unique id (MPI_Bcast)");
    if (!offer.ok) return nccl_fail(op, "making NCCL's unique id", "ncclGetUniqueId failed on rank 0");
    int e = nbi_cuda_use(device);
    if (e != 0) return nccl_fail(op, "selecting the device", nbi_cuda_error_string(e));
    ncclComm_t   comm;
    ncclResult_t result = nccl.api.comm_init_rank(&comm, nbi_dist.size, offer.id, nbi_dist.rank);
    if (result != ncclSuccess) return nccl_fail(op, "joining the NCCL communicator", nccl.api.get_error_string(result));
    nccl.comm     = comm;
    nccl.device   = device;
    nccl.has_comm = true;
    return NB_OK;
}

/* Until the stream has run what was queued, or the timeout. */
static nb_status wait_for(int device, const char *op, const char *what)
{
    double timeout = nbi_dist_timeout(), start = nbi_dist_now();
    for (;;) {
        int state = nbi_cuda_stream_poll(device);
        if (state == 0) return NB_OK;
        if (state > 0) return nccl_fail(op, what, nbi_cuda_error_string(state));
        ncclResult_t async = ncclSuccess;
        if (nccl.api.comm_get_async_error(nccl.comm, &async) != ncclSuccess ||
            (async != ncclSuccess && async != ncclInProgress))
            return nccl_fail(op, what, nccl.api.get_error_string(async));
        if (timeout > 0 && nbi_dist_now() - start > timeout) {
            char reason[160];
            snprintf(reason, sizeof reason,
                     "timed out after %g s (a peer exited, crashed or did not make the same call; see "
                     "nb_dist_set_timeout)",
                     timeout);
            return nccl_fail(op, what, reason);
        }
        struct timespec nap = { 0, 20000 };
        nanosleep(&nap, NULL);
    }
}

nb_status nbi_nccl_run(nbi_collective_kind kind, nb_tensor *work, nb_tensor *out, int arg, const char *op)
{
    int       device = work->storage->device.index;
    nb_status status = ensure_comm(device, op);
    if (status != NB_OK) return status;
    cudaStream_t stream = (cudaStream_t)nbi_cuda_stream_handle(device);
    if (stream == NULL) return nccl_fail(op, "getting the device's stream", "the device cannot be used");
    ncclDataType_t type = ncclFloat32;
    nccl_type(work->dtype, &type); /* nbi_nccl_check took the dtype */
    void        *data  = nbi_ptr(work);
    size_t       count = (size_t)work->numel;
    ncclResult_t result;
    const char  *what;
    switch (kind) {
    case NBI_ALL_REDUCE:
        what   = "ncclAllReduce";
        result = nccl.api.all_reduce(data, data, count, type, nccl_op((nb_reduce_op)arg, work->dtype), nccl.comm,
                                     stream);
        break;
    case NBI_BROADCAST:
        what   = "ncclBroadcast";
        result = nccl.api.broadcast(data, data, count, type, arg, nccl.comm, stream);
        break;
    case NBI_ALL_GATHER:
        what   = "ncclAllGather";
        result = nccl.api.all_gather(data, nbi_ptr(out), count, type, nccl.comm, stream);
        break;
    default: /* NBI_REDUCE_SCATTER: out holds this rank's share */
        what   = "ncclReduceScatter";
        result = nccl.api.reduce_scatter(data, nbi_ptr(out), (size_t)out->numel, type,
                                         nccl_op((nb_reduce_op)arg, work->dtype), nccl.comm, stream);
        break;
    }
    status = nccl_result(result, op, what);
    return status == NB_OK ? wait_for(device, op, what) : status;
}

void nbi_nccl_finalize(void)
{
    if (!nccl.has_comm) return;
    nccl.api.comm_destroy(nccl.comm);
    nccl.has_comm = false;
}
#elif defined(NB_HAVE_MPI)
#include "dist_internal.h"

/* Without NCCL (no CUDA backend, or a toolkit without nccl.h) a CUDA tensor
 * cannot reach a collective; without the CUDA backend there is none. */
bool nbi_nccl_check(const nb_tensor *t, const char *op)
{
    (void)t;
    nbi_fail(NB_ERR_UNSUPPORTED, "%s: collectives on CUDA tensors need NCCL, which this build does not have (built "
                                 "without the CUDA backend or without NCCL's header); copy the tensor to the CPU",
             op);
    return false;
}

nb_status nbi_nccl_run(nbi_collective_kind kind, nb_tensor *work, nb_tensor *out, int arg, const char *op)
{
    (void)kind, (void)work, (void)out, (void)arg; /* not reached: nbi_nccl_check refused first */
    return nbi_fail_status(NB_ERR_UNSUPPORTED, "%s: this build has no NCCL", op);
}

void nbi_nccl_finalize(void) {}
#endif
