/*
 * process_group.c — the process group on MPI: nb_dist_init / finalize,
 * rank and size, the timeout, and what every collective shares: the
 * readiness check, MPI error messages, the wait with a deadline, and the
 * cross-rank agreement check.
 *
 * Why nonblocking calls everywhere: a blocking MPI collective whose peer
 * has exited cleanly (or never calls it) waits forever; OpenMPI notices a
 * peer that crashed, but not one that is merely gone or late. Each
 * collective here starts MPI's nonblocking form and polls MPI_Testall until
 * it completes or the deadline passes, so a missing peer costs a bounded
 * wait and an NB_ERR_DIST, never a hang.
 */
#define _DEFAULT_SOURCE /* clock_gettime, sched_yield */
#ifdef NB_HAVE_MPI
#include "dist_internal.h"

#include <math.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

nbi_dist_group nbi_dist;
static _Noreturn void end_job(int code);
static double  timeout_seconds = 300.0;

double nbi_dist_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static void mpi_error_string(int code, char *buf, size_t size)
{
    char text[MPI_MAX_ERROR_STRING];
    int  length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
    text[length < MPI_MAX_ERROR_STRING ? length : MPI_MAX_ERROR_STRING - 1] = '\0';
    snprintf(buf, size, "%s (MPI error %d)", length > 0 ? text : "unknown MPI error", code);
}

void nbi_dist_mark_broken(const char *reason)
{
    if (nbi_dist.broken) return; /* the first cause is the one to report */
    nbi_dist.broken = true;
    snprintf(nbi_dist.broken_reason, sizeof nbi_dist.broken_reason, "%s", reason);
}

double nbi_dist_timeout(void) { return timeout_seconds; }

nb_status nbi_dist_mpi_fail(int code, const char *op, const char *what)
{
    char reason[MPI_MAX_ERROR_STRING + 32];
    mpi_error_string(code, reason, sizeof reason);
    nb_status status = nbi_fail_status(NB_ERR_DIST, "%s: %s failed: %s", op, what, reason);
    nbi_dist_mark_broken(nb_last_error());
    return status;
}

bool nbi_dist_ready(const char *op)
{
    if (!nbi_dist.initialized) {
        nbi_fail(NB_ERR_STATE, "%s: the process group is not initialised (call nb_dist_init first)", op);
        return false;
    }
    if (nbi_dist.broken) {
        nbi_fail(NB_ERR_DIST, "%s: the process group is broken by an earlier failure (%s); finalize and restart "
                              "the job",
                 op, nbi_dist.broken_reason);
        return false;
    }
    return true;
}

void nbi_dist_poke(MPI_Request *requests, int count)
{
    int done = 0;
    if (count > 0) MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE);
}

nb_status nbi_dist_wait(MPI_Request *requests, int count, const char *op, const char *what)
{
    /* After a failure the peers may be gone: do not wait out another
     * timeout per request still pending. */
    if (nbi_dist.broken) return nbi_fail_status(NB_ERR_DIST, "%s: %s abandoned: %s", op, what, nbi_dist.broken_reason);
    double start = timeout_seconds > 0 ? nbi_dist_now() : 0;
    for (int64_t spins = 0;; spins++) {
        int done = 0;
        int code = MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE);
        if (code != MPI_SUCCESS) return nbi_dist_mpi_fail(code, op, what);
        if (done) return NB_OK;
        /* NOTE: check the clock every 256 polls only (a poll is ~100 ns);
         * yield so an oversubscribed peer on the same core can run. */
        if ((spins & 255) == 255) {
            if (timeout_seconds > 0 && nbi_dist_now() - start > timeout_seconds) {
                nb_status status = nbi_fail_status(
                    NB_ERR_DIST,
                    "%s: %s timed out after %g s on rank %d of %d (a peer exited, crashed or did not make the "
                    "same call; see nb_dist_set_timeout)",
                    op, what, timeout_seconds, nbi_dist.rank, nbi_dist.size);
                nbi_dist_mark_broken(nb_last_error());
                return status;
            }
            /* After ~1 ms of polling, a nap between polls: a peer that is
             * still computing (or waiting for a core on a busy machine)
             * then gets this core. */
            if (spins > 8192) {
                struct timespec nap = { 0, 20000 };
                nanosleep(&nap, NULL);
            } else {
                sched_yield();
            }
        }
    }
}

nb_status nbi_dist_agree(const int64_t *values, const char *const *names, int count, const char *op)
{
    enum { MAX_FIELDS = 24 };
    if (count > MAX_FIELDS) return nbi_fail_status(NB_ERR_ARG, "%s: too many fields to agree on", op);
    /* One MAX reduction gives both extremes: the max of v and of -v. */
    int64_t send[2 * MAX_FIELDS], receive[2 * MAX_FIELDS];
    for (int i = 0; i < count; i++) {
        send[i]         = values[i];
        send[count + i] = -values[i];
    }
    MPI_Request request;
    int code = MPI_Iallreduce(send, receive, 2 * count, MPI_INT64_T, MPI_MAX, nbi_dist.comm, &request);
    if (code != MPI_SUCCESS) return nbi_dist_mpi_fail(code, op, "the agreement check (MPI_Iallreduce)");
    nb_status status = nbi_dist_wait(&request, 1, op, "the agreement check");
    if (status != NB_OK) return status;
    for (int i = 0; i < count; i++) {
        int64_t high = receive[i], low = -receive[count + i];
        if (high != low)
            /* NOTE: not a broken group: every rank saw the same extremes and
             * returns here, so the next collective can run. */
            return nbi_fail_status(NB_ERR_DIST,
                                   "%s: the ranks disagree on %s (from %lld to %lld across ranks; this rank, %d, "
                                   "has %lld): every rank must pass the same dtype and shape",
                                   op, names[i], (long long)low, (long long)high, nbi_dist.rank,
                                   (long long)values[i]);
    }
    return NB_OK;
}

MPI_Datatype nbi_dist_mpi_type(nb_dtype dtype, const char *op)
{
    switch (dtype) {
    case NB_FLOAT32: return MPI_FLOAT;
    case NB_FLOAT64: return MPI_DOUBLE;
    case NB_INT64: return MPI_INT64_T;
    case NB_INT32: return MPI_INT32_T;
    case NB_UINT8: return MPI_UINT8_T;
    case NB_INT16: return MPI_INT16_T;
    case NB_INT8: return MPI_INT8_T;
    case NB_BOOL: return MPI_C_BOOL;
    /* MPI has no half types: their bits move as uint16 (broadcast, gather);
     * the reductions sum them as float32 (collectives.c). */
    case NB_FLOAT16:
    case NB_BFLOAT16: return MPI_UINT16_T;
    default: break;
    }
    nbi_fail(NB_ERR_DTYPE, "%s: no MPI type for dtype %s", op, nb_dtype_name(dtype));
    return MPI_DATATYPE_NULL;
}

MPI_Op nbi_dist_mpi_op(nb_reduce_op op, nb_dtype dtype, const char *name)
{
    bool is_bool = dtype == NB_BOOL;
    switch (op) {
    case NB_REDUCE_SUM: return is_bool ? MPI_LOR : MPI_SUM;
    case NB_REDUCE_MAX: return is_bool ? MPI_LOR : MPI_MAX;
    case NB_REDUCE_MIN: return is_bool ? MPI_LAND : MPI_MIN;
    case NB_REDUCE_MEAN:
        if (nb_dtype_is_floating(dtype)) return MPI_SUM;
        nbi_fail(NB_ERR_DTYPE, "%s: NB_REDUCE_MEAN needs a floating-point tensor, got %s", name,
                 nb_dtype_name(dtype));
        return MPI_OP_NULL;
    }
    nbi_fail(NB_ERR_ARG, "%s: unknown reduce op %d", name, (int)op);
    return MPI_OP_NULL;
}

/* ------------------------------------------------------------------------ */

nb_status nb_dist_init(void)
{
    const char *op = "nb_dist_init";
    if (nbi_dist.initialized) return nbi_fail_status(NB_ERR_STATE, "%s: already initialised", op);
    int already = 0, finalized = 0;
    MPI_Initialized(&already);
    MPI_Finalized(&finalized);
    if (finalized)
        return nbi_fail_status(NB_ERR_STATE, "%s: MPI was already shut down in this process (it cannot restart)",
                               op);
    if (!already) {
        int provided = 0;
        int code     = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
        if (code != MPI_SUCCESS) {
            char reason[MPI_MAX_ERROR_STRING + 32];
            mpi_error_string(code, reason, sizeof reason);
            return nbi_fail_status(NB_ERR_DIST, "%s: MPI_Init_thread failed: %s", op, reason);
        }
        nbi_dist.started_mpi = true;
    }
    nbi_dist.broken = false;
    int code        = MPI_Comm_dup(MPI_COMM_WORLD, &nbi_dist.comm);
    if (code == MPI_SUCCESS) code = MPI_Comm_set_errhandler(nbi_dist.comm, MPI_ERRORS_RETURN);
    if (code == MPI_SUCCESS) code = MPI_Comm_rank(nbi_dist.comm, &nbi_dist.rank);
    if (code == MPI_SUCCESS) code = MPI_Comm_size(nbi_dist.comm, &nbi_dist.size);
    if (code != MPI_SUCCESS) {
        char reason[MPI_MAX_ERROR_STRING + 32];
        mpi_error_string(code, reason, sizeof reason);
        return nbi_fail_status(NB_ERR_DIST, "%s: setting up the communicator failed: %s", op, reason);
    }
    nbi_dist.initialized = true;
    return NB_OK;
}

nb_status nb_dist_finalize(void)
{
    const char *op = "nb_dist_finalize";
    if (!nbi_dist.initialized) return nbi_fail_status(NB_ERR_STATE, "%s: the process group is not initialised", op);
    if (nbi_dist.broken) {
        /* NOTE: MPI_Finalize with a collective left pending (a timed-out
         * one) can wait forever for the peer that is gone: end the job
         * instead (end_job). */
        fprintf(stderr, "nb_dist_finalize: rank %d ends the job after a failed collective: %s\n", nbi_dist.rank,
                nbi_dist.broken_reason);
        end_job(1);
    }
    nbi_nccl_finalize();
    MPI_Comm_free(&nbi_dist.comm);
    nbi_dist.initialized = false;
    if (nbi_dist.started_mpi) {
        nbi_dist.started_mpi = false;
        int code             = MPI_Finalize();
        if (code != MPI_SUCCESS) return nbi_dist_mpi_fail(code, op, "MPI_Finalize");
    }
    return NB_OK;
}

bool nb_dist_is_initialized(void) { return nbi_dist.initialized; }

/* End this process without MPI_Finalize, with a non-zero status: the
 * launcher (mpirun, srun) then ends every other process of the job.
 * NOTE: not MPI_Abort: under OpenMPI 4.1.4, two ranks calling MPI_Abort at
 * once (both timed out on the same missing peer) left mpirun hanging, with
 * every process gone, in about one run of ten; a plain exit never did. */
static _Noreturn void end_job(int code)
{
    fflush(stdout);
    fflush(stderr);
    _exit(code != 0 ? code : 1);
}

nb_status nb_dist_abort(int code)
{
    if (!nbi_dist.initialized) return nbi_fail_status(NB_ERR_STATE, "nb_dist_abort: the process group is not initialised");
    end_job(code);
    return NB_ERR_DIST; /* not reached */
}

int nb_dist_rank(void)
{
    if (!nbi_dist.initialized) {
        nbi_fail(NB_ERR_STATE, "nb_dist_rank: the process group is not initialised (call nb_dist_init first)");
        return -1;
    }
    return nbi_dist.rank;
}

int nb_dist_world_size(void)
{
    if (!nbi_dist.initialized) {
        nbi_fail(NB_ERR_STATE,
                 "nb_dist_world_size: the process group is not initialised (call nb_dist_init first)");
        return -1;
    }
    return nbi_dist.size;
}

nb_status nb_dist_set_timeout(double seconds)
{
    if (!(seconds >= 0) || isinf(seconds))
        return nbi_fail_status(NB_ERR_ARG, "nb_dist_set_timeout: seconds must be finite and >= 0, got %g", seconds);
    timeout_seconds = seconds;
    return NB_OK;
}

nb_status nb_dist_barrier(void)
{
    const char *op = "nb_dist_barrier";
    if (!nbi_dist_ready(op)) return nb_last_status();
    MPI_Request request;
    int         code = MPI_Ibarrier(nbi_dist.comm, &request);
    if (code != MPI_SUCCESS) return nbi_dist_mpi_fail(code, op, "MPI_Ibarrier");
    return nbi_dist_wait(&request, 1, op, "the barrier");
}
#endif /* NB_HAVE_MPI */
