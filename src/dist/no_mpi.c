/*
 * no_mpi.c — nabla/dist.h in a build without MPI (NB_MPI=OFF, or CMake
 * found none): every function that needs another process fails with
 * NB_ERR_UNSUPPORTED and says so; the sampler (sampler.c) still works.
 */
#ifndef NB_HAVE_MPI
#include "dist_internal.h"

#include <math.h>

static nb_status unsupported(const char *op)
{
    return nbi_fail_status(NB_ERR_UNSUPPORTED,
                           "%s: nabla was built without MPI (install Debian's openmpi-bin and libopenmpi-dev, or "
                           "another MPI, and configure with -DNB_MPI=ON)",
                           op);
}

nb_status nb_dist_init(void) { return unsupported("nb_dist_init"); }
nb_status nb_dist_finalize(void) { return unsupported("nb_dist_finalize"); }
bool      nb_dist_is_initialized(void) { return false; }
nb_status nb_dist_abort(int code) { return (void)code, unsupported("nb_dist_abort"); }
int       nb_dist_rank(void) { return unsupported("nb_dist_rank"), -1; }
int       nb_dist_world_size(void) { return unsupported("nb_dist_world_size"), -1; }
nb_status nb_dist_barrier(void) { return unsupported("nb_dist_barrier"); }

nb_status nb_dist_set_timeout(double seconds)
{
    if (!(seconds >= 0) || isinf(seconds))
        return nbi_fail_status(NB_ERR_ARG, "nb_dist_set_timeout: seconds must be finite and >= 0, got %g", seconds);
    return unsupported("nb_dist_set_timeout");
}

nb_status nb_dist_all_reduce(nb_tensor *t, nb_reduce_op op)
{
    (void)op;
    if (!nbi_check_tensor(t, "nb_dist_all_reduce", "t")) return NB_ERR_ARG;
    return unsupported("nb_dist_all_reduce");
}

nb_status nb_dist_broadcast(nb_tensor *t, int root)
{
    (void)root;
    if (!nbi_check_tensor(t, "nb_dist_broadcast", "t")) return NB_ERR_ARG;
    return unsupported("nb_dist_broadcast");
}

nb_tensor *nb_dist_all_gather(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_dist_all_gather", "t")) return NULL;
    return unsupported("nb_dist_all_gather"), NULL;
}

nb_tensor *nb_dist_reduce_scatter(const nb_tensor *t, nb_reduce_op op)
{
    (void)op;
    if (!nbi_check_tensor(t, "nb_dist_reduce_scatter", "t")) return NULL;
    return unsupported("nb_dist_reduce_scatter"), NULL;
}

nb_ddp *nb_ddp_new(nb_module *module, nb_ddp_opts opts)
{
    (void)opts;
    if (module == NULL) { /* the NULL-in rule: a pending error stays */
        if (nb_last_status() == NB_OK) nbi_fail(NB_ERR_ARG, "nb_ddp_new: argument 'module' is NULL");
        return NULL;
    }
    return unsupported("nb_ddp_new"), NULL;
}

/* No nb_ddp can exist in this build: a non-NULL one is a bad pointer. */
nb_status nb_ddp_sync_grads(nb_ddp *ddp) { return (void)ddp, unsupported("nb_ddp_sync_grads"); }
nb_status nb_ddp_broadcast_buffers(nb_ddp *ddp) { return (void)ddp, unsupported("nb_ddp_broadcast_buffers"); }
double    nb_ddp_comm_seconds(const nb_ddp *ddp) { return (void)ddp, unsupported("nb_ddp_comm_seconds"), -1.0; }
int64_t   nb_ddp_sync_count(const nb_ddp *ddp) { return (void)ddp, unsupported("nb_ddp_sync_count"), -1; }
void      nb_ddp_free(nb_ddp *ddp) { (void)ddp; }
#endif /* !NB_HAVE_MPI */
