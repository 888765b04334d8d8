/*
 * data_parallel.c — nb_ddp, torch's DistributedDataParallel on MPI.
 *
 * Layout. The module's parameters, in reverse registration order (the order
 * backward tends to produce their gradients), are cut into buckets of about
 * bucket_bytes, one dtype per bucket. A bucket is one flat host buffer that
 * holds its parameters' gradients side by side (slot i at offset[i]) and is
 * all-reduced with one MPI_Iallreduce (sum), then divided by the world size.
 *
 * Overlap. A gradient hook on each parameter copies the gradient, the moment
 * backward has summed it, into the parameter's slot; when a bucket's last
 * slot fills, its all-reduce starts, while backward goes on with the rest of
 * the graph. Buckets start strictly in order (bucket k only after k - 1),
 * so every rank issues the same collectives in the same order even if its
 * hooks fire in another. nb_ddp_sync_grads fills the slots no hook filled
 * (from .grad, or zeros), starts what is left, waits, and writes each
 * average over the parameter's .grad.
 *
 * NOTE: MPI progresses a nonblocking collective only while the process
 * calls into MPI, so each hook also polls the reductions in flight
 * (nbi_dist_poke); without it they would all wait for nb_ddp_sync_grads.
 */
#ifdef NB_HAVE_MPI
#include "dist_internal.h"

#include "nn/module.h"

#include <stdlib.h>
#include <string.h>

typedef struct nb_ddp_slot {
    struct nb_ddp *ddp;
    nb_tensor     *param;   /* borrowed from the module */
    int            bucket;
    int64_t        offset;  /* elements into the bucket */
    bool           filled;  /* this step's gradient is in the bucket */
    int64_t        hook_id; /* 0: no hook */
} ddp_slot;

typedef struct {
    nb_dtype    dtype;
    char       *data;
    int64_t     numel;
    int         nslots, nfilled;
    bool        launched;
    MPI_Request request;
} ddp_bucket;

struct nb_ddp {
    nbi_handle_head head; /* NBI_OBJECT_LIVE; DEAD once freed; the generation (handles.h) */
    nb_module  *module;
    nb_device   device;   /* every parameter's */
    ddp_slot   *slots; /* reverse registration order */
    int64_t     nslots;
    ddp_bucket *buckets;
    int         nbuckets;
    int         next_launch;
    double      comm_seconds;
    int64_t     syncs;
};

static nbi_handle_class ddp_handles = NBI_HANDLE_CLASS("data-parallel wrapper", sizeof(nb_ddp), 16);

static bool check_ddp(const nb_ddp *ddp, const char *op)
{
    if (!nbi_check_pointer(ddp, op, "ddp")) return false;
    if (nbi_handle_live(&ddp_handles, ddp, NBI_OBJECT_LIVE)) return true;
    nbi_fail(NB_ERR_STATE, "%s: argument 'ddp' was freed", op);
    return false;
}

/* Start every bucket that is full and whose predecessors have started. */
static nb_status launch_ready(nb_ddp *ddp, const char *op)
{
    while (ddp->next_launch < ddp->nbuckets) {
        ddp_bucket *b = &ddp->buckets[ddp->next_launch];
        if (b->nfilled < b->nslots) break;
        int code = MPI_Iallreduce(MPI_IN_PLACE, b->data, (int)b->numel, nbi_dist_mpi_type(b->dtype, op), MPI_SUM,
                                  nbi_dist.comm, &b->request);
        if (code != MPI_SUCCESS) return nbi_dist_mpi_fail(code, op, "a gradient bucket's MPI_Iallreduce");
        b->launched = true;
        ddp->next_launch++;
    }
    return NB_OK;
}

/* grad (t's shape and dtype) into its slot. */
static nb_status fill_slot(ddp_slot *slot, const nb_tensor *grad, const char *op)
{
    ddp_bucket *b     = &slot->ddp->buckets[slot->bucket];
    size_t      bytes = (size_t)slot->param->numel * nbi_itemsize(slot->param);
    char       *dst   = b->data + (size_t)slot->offset * nbi_itemsize(slot->param);
    if (grad == NULL) {
        memset(dst, 0, bytes);
    } else if (grad->dtype != slot->param->dtype || grad->numel != slot->param->numel) {
        return nbi_fail_status(NB_ERR_STATE, "%s: a gradient of dtype %s and %lld elements for a %s parameter of %lld",
                               op, nb_dtype_name(grad->dtype), (long long)grad->numel,
                               nb_dtype_name(slot->param->dtype), (long long)slot->param->numel);
    } else {
        nb_tensor *c = nbi_host_contiguous(grad);
        if (c == NULL) return nb_last_status();
        if (bytes > 0) memcpy(dst, nbi_ptr(c), bytes);
        nb_free(c);
    }
    slot->filled = true;
    b->nfilled++;
    return NB_OK;
}

static nb_status on_gradient(const nb_tensor *grad, nb_tensor **replacement, void *user)
{
    (void)replacement;
    const char *op   = "nb_ddp (gradient hook)";
    ddp_slot   *slot = user;
    nb_ddp     *ddp  = slot->ddp;
    if (!nbi_dist_ready(op)) return nb_last_status();
    if (slot->filled)
        return nbi_fail_status(NB_ERR_STATE,
                               "%s: a parameter got a second gradient before nb_ddp_sync_grads; with overlap, run "
                               "one backward per sync (make the wrapper with no_overlap to accumulate gradients)",
                               op);
    if (nbi_identity(slot->param)->grad != NULL)
        return nbi_fail_status(NB_ERR_STATE,
                               "%s: a parameter already had a gradient before this backward; with overlap, clear "
                               "gradients before each backward (nb_optim_zero_grad / nb_module_zero_grad), or make "
                               "the wrapper with no_overlap to accumulate them",
                               op);
    nb_status status = fill_slot(slot, grad, op);
    if (status == NB_OK) status = launch_ready(ddp, op);
    for (int k = 0; k < ddp->next_launch; k++)
        if (ddp->buckets[k].launched) nbi_dist_poke(&ddp->buckets[k].request, 1);
    return status;
}

/* The bucket's averages over its parameters' .grad (each gets a tensor of
 * its own, reused when it is the parameter's alone). */
static nb_status write_grads(nb_ddp *ddp, const ddp_bucket *b, int index)
{
    for (int64_t i = 0; i < ddp->nslots; i++) {
        ddp_slot *slot = &ddp->slots[i];
        if (slot->bucket != index) continue;
        nb_tensor  *t     = nbi_identity(slot->param);
        size_t      bytes = (size_t)t->numel * nbi_itemsize(t);
        const char *src   = b->data + (size_t)slot->offset * nbi_itemsize(t);
        nb_tensor  *g     = t->grad;
        bool        reuse = g != NULL && nb_is_contiguous(g) && !nbi_has_internal_overlap(g) && g->dtype == t->dtype &&
                     atomic_load(&g->refcount) == 1 && atomic_load(&g->storage->refcount) == 1;
        if (!reuse) {
            g = nbi_empty(t->ndim, t->shape, t->dtype, NB_DEVICE_CPU);
            if (g == NULL) return nb_last_status();
            nbi_unscope(g);
            if (t->grad) nbi_tensor_release(t->grad);
            t->grad = g;
        }
        if (bytes > 0) memcpy(nbi_ptr(g), src, bytes);
        nbi_bump_version(g);
    }
    return NB_OK;
}

/* A CUDA module's bucket k: its gradients gathered into one tensor on the
 * device, averaged across ranks through NCCL (nb_dist_all_reduce), and
 * copied back into each parameter's .grad. */
static nb_status reduce_bucket_on_device(nb_ddp *ddp, int k)
{
    ddp_bucket *b      = &ddp->buckets[k];
    nb_tensor  *bucket = nbi_empty(1, &b->numel, b->dtype, ddp->device);
    if (bucket == NULL) return nb_last_status();
    nb_status status = NB_OK;
    for (int64_t i = 0; status == NB_OK && i < ddp->nslots; i++) {
        ddp_slot *slot = &ddp->slots[i];
        if (slot->bucket != k) continue;
        nb_tensor *t    = nbi_identity(slot->param);
        nb_tensor *view = nbi_make_view(bucket, 1, &t->numel, (const int64_t[]){ 1 }, slot->offset);
        nb_tensor *grad = t->grad ? nb_reshape(t->grad, NB_SHAPE(t->numel)) : NULL;
        if (view == NULL || (t->grad && grad == NULL))
            status = nb_last_status();
        else if (grad == NULL)
            nb_fill_(view, 0.0);
        else
            nbi_copy_into(view, grad);
        nb_free(view);
        nb_free(grad);
    }
    bool floating = nb_dtype_is_floating(b->dtype);
    if (status == NB_OK) status = nb_dist_all_reduce(bucket, floating ? NB_REDUCE_MEAN : NB_REDUCE_SUM);
    for (int64_t i = 0; status == NB_OK && i < ddp->nslots; i++) {
        ddp_slot *slot = &ddp->slots[i];
        if (slot->bucket != k) continue;
        nb_tensor *t = nbi_identity(slot->param);
        int64_t    strides[NB_MAX_DIMS];
        nbi_contiguous_strides(t->ndim, t->shape, strides);
        nb_tensor *view = nbi_make_view(bucket, t->ndim, t->shape, strides, slot->offset);
        nb_tensor *g    = view ? nbi_copy_as(view, t->dtype) : NULL;
        nb_free(view);
        if (g == NULL) {
            status = nb_last_status();
            break;
        }
        nbi_unscope(g);
        if (t->grad) nbi_tensor_release(t->grad);
        t->grad = g;
    }
    nb_free(bucket);
    return status;
}

nb_status nb_ddp_sync_grads(nb_ddp *ddp)
{
    const char *op = "nb_ddp_sync_grads";
    if (!check_ddp(ddp, op)) return ddp ? NB_ERR_STATE : NB_ERR_ARG;
    if (!nbi_dist_ready(op)) return nb_last_status();
    double    start  = nbi_dist_now();
    nb_status status = NB_OK;
    if (ddp->device.type != NB_CPU) {
        for (int k = 0; status == NB_OK && k < ddp->nbuckets; k++)
            status = reduce_bucket_on_device(ddp, k);
        ddp->comm_seconds += nbi_dist_now() - start;
        ddp->syncs++;
        return status;
    }
    for (int64_t i = 0; status == NB_OK && i < ddp->nslots; i++)
        if (!ddp->slots[i].filled) status = fill_slot(&ddp->slots[i], nbi_identity(ddp->slots[i].param)->grad, op);
    if (status == NB_OK) status = launch_ready(ddp, op);
    /* Wait for every bucket that started, also after a failure (a request
     * left pending would stall MPI's shutdown). */
    for (int k = 0; k < ddp->nbuckets; k++) {
        ddp_bucket *b = &ddp->buckets[k];
        if (!b->launched) continue;
        nb_status waited = nbi_dist_wait(&b->request, 1, op, "a gradient bucket's all-reduce");
        b->launched      = false;
        if (status == NB_OK) status = waited;
        if (status != NB_OK) continue;
        nbi_dist_divide(b->data, b->numel, b->dtype, nbi_dist.size);
        status = write_grads(ddp, b, k);
    }
    /* The next step starts empty, also after a failure. */
    for (int64_t i = 0; i < ddp->nslots; i++)
        ddp->slots[i].filled = false;
    for (int k = 0; k < ddp->nbuckets; k++)
        ddp->buckets[k].nfilled = 0;
    ddp->next_launch = 0;
    ddp->comm_seconds += nbi_dist_now() - start;
    ddp->syncs++;
    return status;
}

nb_status nb_ddp_broadcast_buffers(nb_ddp *ddp)
{
    const char *op = "nb_ddp_broadcast_buffers";
    if (!check_ddp(ddp, op)) return ddp ? NB_ERR_STATE : NB_ERR_ARG;
    int64_t count = nb_module_buffers(ddp->module, NULL, NULL, 0);
    if (count < 0) return nb_last_status();
    nb_tensor **buffers = malloc((size_t)(count + 1) * sizeof *buffers);
    if (buffers == NULL) return nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    nb_module_buffers(ddp->module, buffers, NULL, count);
    nb_status status = NB_OK;
    for (int64_t i = 0; status == NB_OK && i < count; i++)
        status = nb_dist_broadcast(buffers[i], 0);
    free(buffers);
    return status;
}

/* ------------------------------------------------------------------------ */

/* FNV-1a over what every rank's module must share. */
static uint64_t hash_tensors(nb_tensor *const *tensors, int64_t count)
{
    uint64_t h = 1469598103934665603u;
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211u)
    for (int64_t i = 0; i < count; i++) {
        MIX(tensors[i]->dtype);
        MIX(tensors[i]->ndim);
        for (int d = 0; d < tensors[i]->ndim; d++)
            MIX(tensors[i]->shape[d]);
    }
#undef MIX
    return h;
}

static void free_ddp(nb_ddp *ddp)
{
    for (int64_t i = 0; i < ddp->nslots; i++)
        if (ddp->slots[i].hook_id > 0) nb_remove_hook(ddp->slots[i].param, ddp->slots[i].hook_id);
    for (int k = 0; k < ddp->nbuckets; k++)
        free(ddp->buckets[k].data);
    free(ddp->buckets);
    free(ddp->slots);
    ddp->head.magic = NBI_OBJECT_DEAD;
    nbi_handle_retire(&ddp_handles, ddp);
    nbi_handle_free_later(&ddp_handles, ddp); /* a later use reads the dead mark, not freed memory */
}

/* Cut the slots (already in order) into buckets. */
static bool make_buckets(nb_ddp *ddp, size_t bucket_bytes, const char *op)
{
    ddp->buckets = calloc((size_t)(ddp->nslots > 0 ? ddp->nslots : 1), sizeof *ddp->buckets);
    if (ddp->buckets == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory", op), false;
    for (int64_t i = 0; i < ddp->nslots; i++) {
        nb_tensor  *p    = ddp->slots[i].param;
        ddp_bucket *last = ddp->nbuckets > 0 ? &ddp->buckets[ddp->nbuckets - 1] : NULL;
        size_t      used = last ? (size_t)last->numel * nb_dtype_size(last->dtype) : 0;
        if (last == NULL || last->dtype != p->dtype || used >= bucket_bytes ||
            last->numel + p->numel > INT32_MAX) {
            last        = &ddp->buckets[ddp->nbuckets++];
            last->dtype = p->dtype;
        }
        ddp->slots[i].bucket = ddp->nbuckets - 1;
        ddp->slots[i].offset = last->numel;
        last->numel += p->numel;
        last->nslots++;
    }
    for (int k = 0; k < ddp->nbuckets; k++) {
        ddp_bucket *b = &ddp->buckets[k];
        b->request    = MPI_REQUEST_NULL;
        if (ddp->device.type != NB_CPU) continue; /* reduced on the device (reduce_bucket_on_device) */
        b->data       = malloc((size_t)(b->numel > 0 ? b->numel : 1) * nb_dtype_size(b->dtype));
        if (b->data == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory for the gradient buckets", op), false;
    }
    return true;
}

nb_ddp *nb_ddp_new(nb_module *module, nb_ddp_opts opts)
{
    const char *op = "nb_ddp_new";
    if ((!nbi_dist.initialized || nbi_dist.broken) && !nbi_check_module(module, op, "module")) return NULL;
    if (!nbi_dist_ready(op)) return NULL;
    /* Local checks first; every rank then takes part in the agreement, so
     * one rank's failure reaches all of them. */
    bool      valid = nbi_check_module(module, op, "module");
    int64_t   nparams = 0, nbuffers = 0;
    nb_tensor **params = NULL, **buffers = NULL;
    if (valid) {
        nparams  = nb_module_parameters(module, NULL, NULL, 0);
        nbuffers = nb_module_buffers(module, NULL, NULL, 0);
        params   = malloc((size_t)(nparams + 1) * sizeof *params);
        buffers  = malloc((size_t)(nbuffers + 1) * sizeof *buffers);
        if (params == NULL || buffers == NULL) {
            nbi_fail(NB_ERR_OOM, "%s: out of memory", op);
            valid = false;
        } else {
            nb_module_parameters(module, params, NULL, nparams);
            nb_module_buffers(module, buffers, NULL, nbuffers);
        }
    }
    nb_device device = NB_DEVICE_CPU;
    for (int64_t i = 0; valid && i < nparams + nbuffers; i++) {
        nb_tensor *t = i < nparams ? params[i] : buffers[i - nparams];
        if (i == 0) device = t->storage->device;
        if (t->storage->device.type != device.type || t->storage->device.index != device.index) {
            nbi_fail(NB_ERR_DEVICE, "%s: the module's parameters and buffers are on more than one device (move it "
                                    "with nb_module_to)",
                     op);
            valid = false;
        } else if (i < nparams && t->numel > INT32_MAX) {
            nbi_fail(NB_ERR_UNSUPPORTED, "%s: a parameter of %lld elements is more than one MPI call takes", op,
                     (long long)t->numel);
            valid = false;
        }
    }
    nb_status local_status = nb_last_status();
    char      local_message[512];
    snprintf(local_message, sizeof local_message, "%s", nb_last_error());
    int64_t fingerprint[5] = { valid, nparams, nbuffers, 0, (int64_t)device.type };
    if (valid) {
        /* Two halves of the hash: agree compares int64 extremes. */
        uint64_t h     = hash_tensors(params, nparams) ^ (hash_tensors(buffers, nbuffers) * 31u);
        fingerprint[3] = (int64_t)(h >> 1);
    }
    static const char *const names[5] = { "whether the module is valid (a rank failed its own checks)",
                                          "the number of parameters", "the number of buffers",
                                          "the parameters' and buffers' dtypes and shapes (a hash)",
                                          "the module's device type (0 CPU, 1 CUDA)" };
    nb_status status = nbi_dist_agree(fingerprint, names, 5, op);
    if (!valid) {
        nb_set_error(local_status, "%s", local_message);
        status = local_status;
    }
    nb_ddp *ddp = NULL;
    if (status == NB_OK) {
        ddp = nbi_handle_alloc(&ddp_handles);
        if (ddp == NULL) status = nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    }
    /* NOTE: from here every rank that got this far runs the same calls;
     * an allocation failure on one rank shows on the others as a
     * disagreement in the broadcasts below or a timeout. */
    if (status == NB_OK) {
        *ddp        = (nb_ddp){ .head = ddp->head, .module = module, .device = device, .nslots = nparams };
        ddp->head.magic = NBI_OBJECT_LIVE;
        ddp->slots  = calloc((size_t)(nparams + 1), sizeof *ddp->slots);
        if (ddp->slots == NULL) status = nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    }
    for (int64_t i = 0; status == NB_OK && i < nparams; i++)
        ddp->slots[i] = (ddp_slot){ .ddp = ddp, .param = params[nparams - 1 - i] };
    if (status == NB_OK && !make_buckets(ddp, opts.bucket_bytes ? opts.bucket_bytes : (size_t)1 << 20, op))
        status = nb_last_status();
    for (int64_t i = 0; status == NB_OK && i < nparams + nbuffers; i++)
        status = nb_dist_broadcast(i < nparams ? params[i] : buffers[i - nparams], 0);
    /* On CUDA the buckets are reduced in nb_ddp_sync_grads (no overlap yet). */
    bool overlap = !opts.no_overlap && device.type == NB_CPU;
    for (int64_t i = 0; status == NB_OK && overlap && i < nparams; i++) {
        ddp->slots[i].hook_id = nb_register_hook(ddp->slots[i].param, on_gradient, &ddp->slots[i]);
        if (ddp->slots[i].hook_id < 0) status = nb_last_status();
    }
    free(params);
    free(buffers);
    if (status != NB_OK) {
        if (ddp) free_ddp(ddp);
        return NULL;
    }
    return ddp;
}

int nbi_ddp_buckets_started(const nb_ddp *ddp, int *total)
{
    *total = ddp->nbuckets;
    return ddp->next_launch;
}

double nb_ddp_comm_seconds(const nb_ddp *ddp)
{
    if (!check_ddp(ddp, "nb_ddp_comm_seconds")) return -1.0;
    return ddp->comm_seconds;
}

int64_t nb_ddp_sync_count(const nb_ddp *ddp)
{
    if (!check_ddp(ddp, "nb_ddp_sync_count")) return -1;
    return ddp->syncs;
}

void nb_ddp_free(nb_ddp *ddp)
{
    if (ddp == NULL || !check_ddp(ddp, "nb_ddp_free")) return;
    free_ddp(ddp);
}
#endif /* NB_HAVE_MPI */
