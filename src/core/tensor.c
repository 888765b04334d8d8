/*
 * tensor.c — tensor handles and storage: making and releasing them, the
 * accessors of nabla.h, and scopes.
 *
 * Ownership in one paragraph: storage is counted by the tensors viewing it.
 * A tensor handle is counted by its owner (the user, or the scope it was made
 * in) plus internal holders such as the autograd graph. nb_free and
 * nb_scope_end drop the owner's count; the last count frees the handle and
 * drops its storage count.
 *
 * Handles and storage headers are recycled through per-thread free lists:
 * a 4x3 add must cost well under 0.15 us, and malloc/free of two small
 * structs per op would be a third of that.
 */
#include "internal.h"
#include "backend.h"

#include <assert.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* Live count and free lists                                                 */
/* ------------------------------------------------------------------------ */

static atomic_int_fast64_t live_tensors;

int64_t nb_live_tensors(void) { return (int64_t)atomic_load_explicit(&live_tensors, memory_order_relaxed); }

/* Tensor headers are slots of one handle kind (handles.h): a freed handle
 * is refused by its generation even after its slot holds a new tensor. A
 * released header also waits in a quarantine (a ring, oldest out first) for
 * QUARANTINE later releases before it can be reused: where handles carry no
 * generation (handles.h says where) that delay alone catches a freed
 * handle used again, or freed twice. The quarantine and the free list are
 * per thread: most headers come and go without a lock. */
nbi_handle_class nbi_tensor_handles = NBI_HANDLE_CLASS("tensor", sizeof(nb_tensor), 27);

enum { FREE_LIST_MAX = 1024, QUARANTINE = 2048 };
static _Thread_local nb_tensor   *free_tensors[FREE_LIST_MAX];
static _Thread_local int          free_tensor_count;
static _Thread_local nb_tensor   *quarantine[QUARANTINE];
static _Thread_local int          quarantine_head, quarantine_count;
static _Thread_local nbi_storage *free_storages[FREE_LIST_MAX];
static _Thread_local int          free_storage_count;
enum { RETIRED = 64 };
static _Thread_local void *retired[RETIRED];
static _Thread_local int   retired_next;
static _Thread_local bool  retired_any;

void nbi_retire(void *object)
{
    if (object == NULL) return;
    if (!retired_any) nbi_thread_holds_caches();
    retired_any = true;
    free(retired[retired_next]);
    retired[retired_next] = object;
    retired_next          = (retired_next + 1) % RETIRED;
}

static nb_tensor *tensor_header_alloc(void)
{
    nb_tensor *t = free_tensor_count > 0 ? nbi_handle_reissue(&nbi_tensor_handles, free_tensors[--free_tensor_count])
                                         : nbi_handle_alloc(&nbi_tensor_handles);
    if (t) atomic_fetch_add_explicit(&live_tensors, 1, memory_order_relaxed);
    return t;
}

static void tensor_header_release(nb_tensor *t)
{
    atomic_fetch_sub_explicit(&live_tensors, 1, memory_order_relaxed);
    t->head.magic = NBI_TENSOR_DEAD;
    nbi_handle_retire(&nbi_tensor_handles, t);
    if (quarantine_count == 0 && free_tensor_count == 0) nbi_thread_holds_caches();
    if (quarantine_count < QUARANTINE) {
        quarantine[(quarantine_head + quarantine_count++) % QUARANTINE] = t;
        return;
    }
    nb_tensor *oldest           = quarantine[quarantine_head];
    quarantine[quarantine_head] = t;
    quarantine_head             = (quarantine_head + 1) % QUARANTINE;
    if (free_tensor_count < FREE_LIST_MAX)
        free_tensors[free_tensor_count++] = oldest;
    else
        nbi_handle_free(&nbi_tensor_handles, oldest);
}

/* ------------------------------------------------------------------------ */
/* Storage                                                                   */
/* ------------------------------------------------------------------------ */

static nbi_storage *storage_new(size_t nbytes, nb_device device)
{
    /* A device that passes has a table: without the CUDA backend there is
     * no CUDA device. */
    if (!nbi_check_target_device(device, "nabla")) return NULL;
    const nbi_backend *backend = nbi_backend_for(device.type);
    nbi_storage *s = free_storage_count > 0 ? free_storages[--free_storage_count] : malloc(sizeof *s);
    if (s == NULL) return nbi_fail(NB_ERR_OOM, "nabla: out of host memory for a storage header");
    s->data = backend->alloc(nbytes, device.index);
    if (s->data == NULL) {
        free(s);
        char name[NBI_DEVICE_STR_SIZE];
        return nbi_fail(NB_ERR_OOM, "nabla: out of %s memory allocating %zu bytes",
                        device.type == NB_CPU ? "host" : nbi_device_str(device, name, sizeof name), nbytes);
    }
    atomic_init(&s->refcount, 1);
    s->nbytes  = nbytes;
    s->device  = device;
    s->version = 0;
    return s;
}

static void storage_release(nbi_storage *s)
{
    if (atomic_fetch_sub_explicit(&s->refcount, 1, memory_order_acq_rel) != 1) return;
    nbi_backend_for(s->device.type)->release(s->data, s->nbytes, s->device.index);
    if (free_storage_count == 0) nbi_thread_holds_caches();
    if (free_storage_count < FREE_LIST_MAX)
        free_storages[free_storage_count++] = s;
    else
        free(s);
}


/* ------------------------------------------------------------------------ */
/* Scopes                                                                    */
/* ------------------------------------------------------------------------ */

enum { MAX_SCOPE_DEPTH = 64 };

typedef struct nbi_scope {
    nb_tensor **tensors; /* slots; NULL where a tensor left early */
    int64_t     count;
    int64_t     capacity;
} nbi_scope;

static _Thread_local nbi_scope scopes[MAX_SCOPE_DEPTH];
static _Thread_local int       scope_depth;

/* The header free lists, and the slot arrays of the scopes this thread no
 * longer has open (a thread that exits inside a scope keeps that scope's
 * tensors: they are the user's). */
void nbi_tensor_release_thread_cache(void)
{
    while (free_tensor_count > 0) nbi_handle_free(&nbi_tensor_handles, free_tensors[--free_tensor_count]);
    for (; quarantine_count > 0; quarantine_count--, quarantine_head = (quarantine_head + 1) % QUARANTINE)
        nbi_handle_free(&nbi_tensor_handles, quarantine[quarantine_head]);
    quarantine_head = 0;
    for (int i = 0; i < RETIRED; i++) {
        free(retired[i]);
        retired[i] = NULL;
    }
    retired_any = false;
    while (free_storage_count > 0) free(free_storages[--free_storage_count]);
    for (int d = scope_depth; d < MAX_SCOPE_DEPTH; d++) {
        free(scopes[d].tensors);
        scopes[d] = (nbi_scope){ 0 };
    }
}

/* Give t to scope (or to nobody when scope is NULL). False on OOM. */
static bool scope_adopt(nbi_scope *scope, nb_tensor *t)
{
    t->scope = scope;
    if (scope == NULL) return true;
    if (scope->count == scope->capacity) {
        int64_t     capacity = scope->capacity ? scope->capacity * 2 : 256;
        nb_tensor **grown    = realloc(scope->tensors, (size_t)capacity * sizeof *grown);
        if (grown == NULL) {
            t->scope = NULL;
            return false;
        }
        if (scope->tensors == NULL) nbi_thread_holds_caches();
        scope->tensors  = grown;
        scope->capacity = capacity;
    }
    t->scope_slot                  = scope->count;
    scope->tensors[scope->count++] = t;
    return true;
}

static void scope_forget(nb_tensor *t)
{
    if (t->scope) t->scope->tensors[t->scope_slot] = NULL;
    t->scope = NULL;
}

nb_status nb_scope_begin(void)
{
    if (scope_depth == MAX_SCOPE_DEPTH)
        return nbi_fail_status(NB_ERR_STATE, "nb_scope_begin: scopes nest at most %d deep", MAX_SCOPE_DEPTH);
    scopes[scope_depth++].count = 0;
    return NB_OK;
}

nb_status nb_scope_end(void)
{
    if (scope_depth == 0) return nbi_fail_status(NB_ERR_STATE, "nb_scope_end: no scope is open");
    nbi_scope *scope = &scopes[scope_depth - 1];
    /* Release newest first: later tensors may view earlier ones' storage,
     * and the order keeps free lists warm. */
    for (int64_t i = scope->count - 1; i >= 0; i--) {
        nb_tensor *t = scope->tensors[i];
        if (t == NULL) continue;
        t->scope       = NULL;
        t->handle_open = false;
        nbi_tensor_release(t);
    }
    scope->count = 0;
    scope_depth--;
    if (scope_depth == 0) {
        /* Outermost scope closed: keep the slot arrays of deeper levels for
         * the next step of a training loop, but not unbounded ones. */
        for (int d = 0; d < MAX_SCOPE_DEPTH && scopes[d].capacity > 0; d++) {
            if (scopes[d].capacity > (1 << 20)) {
                free(scopes[d].tensors);
                scopes[d].tensors  = NULL;
                scopes[d].capacity = 0;
            }
        }
    }
    return NB_OK;
}

/* The handle the user passes to nb_free or nb_keep is theirs to give up:
 * false with NB_ERR_STATE when it was freed already (or belongs to a
 * module, which frees it). */
static bool handle_is_users(const nb_tensor *t, const char *op)
{
    if (!nbi_tensor_live(t) || !t->handle_open) {
        nbi_fail(NB_ERR_STATE, "%s: the tensor was already freed (by nb_free, or when its scope ended)", op);
        return false;
    }
    if (t->module_owner) {
        nbi_fail(NB_ERR_STATE, "%s: the tensor belongs to a module, which frees it (nb_module_free)", op);
        return false;
    }
    return true;
}

nb_tensor *nb_keep(nb_tensor *t)
{
    if (t == NULL) return NULL;
    if (!handle_is_users(t, "nb_keep")) return NULL;
    if (t->scope == NULL) return t; /* already the caller's */
    nbi_scope *own = t->scope;
    nbi_scope *outer = NULL;
    for (int d = scope_depth - 1; d >= 0; d--) {
        if (&scopes[d] == own) {
            outer = d > 0 ? &scopes[d - 1] : NULL;
            break;
        }
    }
    scope_forget(t);
    if (!scope_adopt(outer, t)) {
        /* Could not record it in the outer scope: the caller owns it now,
         * which leaks at worst but never frees a tensor in use. */
        nbi_fail(NB_ERR_OOM, "nb_keep: out of memory growing the scope; the tensor is now the caller's to free");
    }
    return t;
}

/* ------------------------------------------------------------------------ */
/* Handles                                                                   */
/* ------------------------------------------------------------------------ */

static nb_tensor *tensor_new_in(nbi_scope *scope, nbi_storage *storage, nb_dtype dtype);

static nb_tensor *tensor_new(nbi_storage *storage, nb_dtype dtype)
{
    return tensor_new_in(scope_depth > 0 ? &scopes[scope_depth - 1] : NULL, storage, dtype);
}

static nb_tensor *tensor_new_in(nbi_scope *scope, nbi_storage *storage, nb_dtype dtype)
{
    nb_tensor *t = tensor_header_alloc();
    if (t == NULL) return nbi_fail(NB_ERR_OOM, "nabla: out of host memory for a tensor header");
    t->head.magic    = NBI_TENSOR_LIVE;
    t->handle_open   = true;
    t->module_owner  = NULL;
    t->storage       = storage;
    t->offset        = 0;
    t->dtype         = dtype;
    t->requires_grad = false;
    atomic_init(&t->refcount, 1);
    t->grad         = NULL;
    t->grad_fn      = NULL;
    t->output_nr    = 0;
    t->retains_grad = false;
    t->view_base    = NULL;
    t->view_base_fn = NULL;
    t->hooks        = NULL;
    t->same_as      = NULL;
    t->view_without_grad = false;
    if (!scope_adopt(scope, t)) {
        tensor_header_release(t);
        return nbi_fail(NB_ERR_OOM, "nabla: out of host memory growing the scope");
    }
    return t;
}

nb_tensor *nbi_empty(int ndim, const int64_t *shape, nb_dtype dtype, nb_device device)
{
    int64_t numel = 1, nonzero_product = 1; /* strides multiply the nonzero sizes */
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && nonzero_product > INT64_MAX / 16 / shape[i]) {
            char buf[NBI_SHAPE_STR_SIZE];
            return nbi_fail(NB_ERR_OOM, "nabla: a tensor of shape %s is too large",
                            nbi_shape_str(ndim, shape, buf, sizeof buf));
        }
        numel *= shape[i];
        if (shape[i] != 0) nonzero_product *= shape[i];
    }
    nbi_storage *storage = storage_new((size_t)numel * nb_dtype_size(dtype), device);
    if (storage == NULL) return NULL;
    nb_tensor *t = tensor_new(storage, dtype);
    if (t == NULL) {
        storage_release(storage);
        return NULL;
    }
    t->ndim  = ndim;
    t->numel = numel;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    nbi_contiguous_strides(ndim, shape, t->stride);
    return t;
}

nb_tensor *nbi_make_view(const nb_tensor *base, int ndim, const int64_t *shape,
                         const int64_t *stride, int64_t offset)
{
    nb_tensor *t = tensor_new(base->storage, base->dtype);
    if (t == NULL) return NULL;
    atomic_fetch_add_explicit(&base->storage->refcount, 1, memory_order_relaxed);
    t->offset = offset;
    t->ndim   = ndim;
    t->numel  = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i]  = shape[i];
        t->stride[i] = stride[i];
        t->numel *= shape[i];
    }
    return t;
}

nb_tensor *nbi_alias(const nb_tensor *t) { return nbi_make_view(t, t->ndim, t->shape, t->stride, t->offset); }

nb_tensor *nbi_alias_unscoped(const nb_tensor *t)
{
    nb_tensor *alias = tensor_new_in(NULL, t->storage, t->dtype);
    if (alias == NULL) return NULL;
    atomic_fetch_add_explicit(&t->storage->refcount, 1, memory_order_relaxed);
    alias->offset = t->offset;
    alias->ndim   = t->ndim;
    alias->numel  = t->numel;
    memcpy(alias->shape, t->shape, sizeof alias->shape);
    memcpy(alias->stride, t->stride, sizeof alias->stride);
    return alias;
}

void nbi_set_view_base(nb_tensor *v, const nb_tensor *t)
{
    nb_tensor *base = t->view_base ? t->view_base : (nb_tensor *)t;
    if (v->view_base == base) return;
    nbi_tensor_retain(base);
    if (v->view_base) nbi_tensor_release(v->view_base);
    v->view_base    = base;
    v->view_base_fn = base->grad_fn;
}

void nbi_unscope(nb_tensor *t) { scope_forget(t); }

void nbi_adopt(nb_tensor *t)
{
    if (t->scope == NULL && scope_depth > 0 && !scope_adopt(&scopes[scope_depth - 1], t))
        nbi_fail(NB_ERR_OOM, "nabla: out of memory growing the scope; the tensor is now the caller's to free");
}

void nbi_tensor_retain(nb_tensor *t) { atomic_fetch_add_explicit(&t->refcount, 1, memory_order_relaxed); }

/* Autograd's table (internal.h): NULL until autograd makes its first node
 * or hook. */
static _Atomic(const nbi_autograd_callbacks *) autograd_callbacks;

void nbi_set_autograd_callbacks(const nbi_autograd_callbacks *callbacks)
{
    if (atomic_load_explicit(&autograd_callbacks, memory_order_acquire) != callbacks)
        atomic_store_explicit(&autograd_callbacks, callbacks, memory_order_release);
}

void nbi_tensor_release(nb_tensor *t)
{
    if (atomic_fetch_sub_explicit(&t->refcount, 1, memory_order_acq_rel) != 1) return;
    if (t->grad) nbi_tensor_release(t->grad);
    if (t->grad_fn || t->hooks) {
        const nbi_autograd_callbacks *autograd = atomic_load_explicit(&autograd_callbacks, memory_order_acquire);
        assert(autograd != NULL); /* set before the node or hook was made */
        autograd->release_graph(t);
    }
    if (t->view_base) nbi_tensor_release(t->view_base);
    if (t->same_as) nbi_tensor_release(t->same_as);
    storage_release(t->storage);
    tensor_header_release(t);
}

void nb_free(nb_tensor *t)
{
    if (t == NULL || !handle_is_users(t, "nb_free")) return;
    t->handle_open = false;
    scope_forget(t);
    nbi_tensor_release(t);
}

void nbi_module_free_tensor(nb_tensor *t)
{
    t->module_owner = NULL;
    nb_free(t);
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                 */
/* ------------------------------------------------------------------------ */

int nb_ndim(const nb_tensor *t) { return nbi_readable(t, "nb_ndim") ? t->ndim : -1; }

nb_shape nb_shape_of(const nb_tensor *t)
{
    nb_shape s = { .ndim = 0 };
    if (!nbi_readable(t, "nb_shape_of")) return s;
    s.ndim = t->ndim;
    for (int i = 0; i < t->ndim; i++) s.dims[i] = t->shape[i];
    return s;
}

int64_t nb_size(const nb_tensor *t, int dim)
{
    if (!nbi_check_tensor(t, "nb_size", "t")) return -1;
    int d = nbi_wrap_dim(dim, t->ndim, "nb_size");
    if (d < 0) return -1;
    return t->ndim == 0 ? 1 : t->shape[d];
}

int64_t nb_stride(const nb_tensor *t, int dim)
{
    if (!nbi_check_tensor(t, "nb_stride", "t")) return -1;
    int d = nbi_wrap_dim(dim, t->ndim, "nb_stride");
    if (d < 0) return -1;
    return t->ndim == 0 ? 1 : t->stride[d];
}

int64_t   nb_numel(const nb_tensor *t) { return nbi_readable(t, "nb_numel") ? t->numel : -1; }
int64_t   nb_storage_offset(const nb_tensor *t) { return nbi_readable(t, "nb_storage_offset") ? t->offset : -1; }
nb_dtype  nb_dtype_of(const nb_tensor *t) { return nbi_readable(t, "nb_dtype_of") ? t->dtype : NB_FLOAT32; }
nb_device nb_device_of(const nb_tensor *t)
{
    return nbi_readable(t, "nb_device_of") ? t->storage->device : NB_DEVICE_CPU;
}

bool nb_is_contiguous(const nb_tensor *t)
{
    if (!nbi_readable(t, "nb_is_contiguous")) return false;
    int64_t expected = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] == 1) continue; /* any stride is fine for size 1 */
        if (t->shape[i] == 0) return true;
        if (t->stride[i] != expected) return false;
        expected *= t->shape[i];
    }
    return true;
}

void *nb_data(nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_data", "t")) return NULL;
    if (t->storage->device.type != NB_CPU)
        return nbi_fail(NB_ERR_DEVICE, "nb_data: the tensor is not on the CPU; copy it with nb_to first");
    if (!nb_is_contiguous(t))
        return nbi_fail(NB_ERR_STATE, "nb_data: the tensor is not contiguous; call nb_contiguous first");
    return nbi_ptr(t);
}

static bool check_item(const nb_tensor *t, const char *op)
{
    if (!nbi_check_tensor(t, op, "t")) return false;
    if (t->numel != 1) {
        char buf[NBI_SHAPE_STR_SIZE];
        nbi_fail(NB_ERR_SHAPE, "%s: a tensor with %lld elements (shape %s) cannot be converted to a scalar",
                 op, (long long)t->numel, nbi_shape_str(t->ndim, t->shape, buf, sizeof buf));
        return false;
    }
    if (t->storage->device.type != NB_CPU) {
        nbi_fail(NB_ERR_DEVICE, "%s: the tensor is not on the CPU", op);
        return false;
    }
    return true;
}

double nb_item(const nb_tensor *t)
{
    if (!check_item(t, "nb_item")) return NAN;
    return nbi_load_f64(nbi_ptr(t), t->dtype);
}

int64_t nb_item_int64(const nb_tensor *t)
{
    if (!check_item(t, "nb_item_int64")) return 0;
    return nbi_load_i64(nbi_ptr(t), t->dtype);
}

void nbi_tensor_take_storage(nb_tensor *t, const nb_tensor *donor)
{
    atomic_fetch_add_explicit(&donor->storage->refcount, 1, memory_order_relaxed);
    storage_release(t->storage);
    t->storage = donor->storage;
    t->offset  = donor->offset;
    memcpy(t->stride, donor->stride, sizeof t->stride);
}
