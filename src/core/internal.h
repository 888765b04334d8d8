/*
 * internal.h — what every part of the library shares but users never see:
 * the tensor and storage structs, error helpers, shape helpers, allocation,
 * element load/store by dtype, and the per-dtype X-macro.
 *
 * Internal names start with nbi_. Public ones (nb_) live in include/nabla.h.
 */
#ifndef NABLA_INTERNAL_H
#define NABLA_INTERNAL_H

#include "nabla.h"

#include "formulas.h" /* nbi_f64_to_i64: float to integer as PyTorch on x86 */
#include "handles.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

/* NBI_ALWAYS_INLINE: for helpers that vectorize only inside their caller's
 * loop (or that take constant flags meant to compile away); GCC's inliner
 * may otherwise give up on them once the file grows. */
#if defined(__GNUC__)
#define NBI_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#define NBI_LIKELY(x)   __builtin_expect(!!(x), 1)
#define NBI_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NBI_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define NBI_PRINTF(fmt_index, first_arg)
#define NBI_LIKELY(x)   (x)
#define NBI_UNLIKELY(x) (x)
#define NBI_ALWAYS_INLINE inline
#endif

/* ------------------------------------------------------------------------ */
/* Dtypes                                                                    */
/* ------------------------------------------------------------------------ */

/* Every dtype with its C storage type and a short suffix used in generated
 * kernel names. NOTE: bool is stored as uint8_t holding 0 or 1, never as C
 * bool, so that loading a byte written by a file or a user is defined. */
#define NBI_FOR_EACH_DTYPE(X)                                                  \
    X(NB_FLOAT32, float, f32)                                                  \
    X(NB_FLOAT64, double, f64)                                                 \
    X(NB_INT64, int64_t, i64)                                                  \
    X(NB_INT32, int32_t, i32)                                                  \
    X(NB_UINT8, uint8_t, u8)                                                   \
    X(NB_BOOL, uint8_t, b8)                                                    \
    X(NB_INT16, int16_t, i16)                                                  \
    X(NB_INT8, int8_t, i8)                                                     \
    X(NB_FLOAT16, uint16_t, f16)                                               \
    X(NB_BFLOAT16, uint16_t, bf16)

static inline bool nbi_is_integral(nb_dtype d)
{
    return d == NB_INT64 || d == NB_INT32 || d == NB_UINT8 || d == NB_INT16 || d == NB_INT8;
}
/* float16 and bfloat16: stored as their bits, computed in float32. */
static inline bool nbi_is_half(nb_dtype d) { return d == NB_FLOAT16 || d == NB_BFLOAT16; }

/* Read / write one element of any dtype as double or int64. Slow paths only
 * (printing, item, fills); kernels use typed loops. */
double  nbi_load_f64(const void *p, nb_dtype dtype);
int64_t nbi_load_i64(const void *p, nb_dtype dtype);
/* nbi_store_f64, nbi_store_i64: core/formulas.h (shared with the CUDA kernels). */

/* PyTorch's rule for a scalar written into a tensor of dtype (a fill value):
 * false with NB_ERR_ARG ("op: value 300 cannot be converted to ...") when it
 * does not fit. */
bool nbi_check_fill_value(double value, nb_dtype dtype, const char *op);

/* A number argument as the caller gave it: an int64 (the _i64 forms, exact
 * at any size) or a double. */
typedef struct {
    bool    integral; /* i holds it; else d */
    int64_t i;
    double  d;
} nbi_number;
static inline nbi_number nbi_number_f64(double d) { return (nbi_number){ .integral = false, .d = d }; }
static inline nbi_number nbi_number_i64(int64_t i) { return (nbi_number){ .integral = true, .i = i }; }
static inline double     nbi_number_as_f64(nbi_number n) { return n.integral ? (double)n.i : n.d; }
/* n in dtype's bytes: an int64 into an integer dtype exactly (wrapping into
 * a narrower one, as torch), otherwise through double. */
static inline void nbi_store_number(void *p, nb_dtype dtype, nbi_number n)
{
    if (n.integral && !nb_dtype_is_floating(dtype))
        nbi_store_i64(p, dtype, n.i);
    else
        nbi_store_f64(p, dtype, nbi_number_as_f64(n));
}
/* nbi_check_fill_value for either kind of number. */
bool nbi_check_fill_number(nbi_number n, nb_dtype dtype, const char *op);

/* ------------------------------------------------------------------------ */
/* Storage and tensor                                                        */
/* ------------------------------------------------------------------------ */

/* The bytes, on one device; shared by every view. */
typedef struct nbi_storage {
    atomic_int_fast64_t refcount;
    void               *data;
    size_t              nbytes;
    nb_device           device;
    /* Bumped by every in-place write; autograd compares it with the value
     * saved at forward time. Shared by views, as in PyTorch. */
    uint64_t            version;
} nbi_storage;

struct nbi_scope;
struct nbi_node;

/* A live handle's mark; a released one's is NBI_TENSOR_DEAD. With the
 * handle's generation (handles.h) it tells a freed handle, even one whose
 * memory holds another tensor by now, so a use after free is caught
 * (NB_ERR_STATE) instead of acting on a recycled tensor. */
#define NBI_TENSOR_LIVE 0x4c54424eu /* "NBTL" */
#define NBI_TENSOR_DEAD 0x44414544u /* "DEAD" */

struct nb_tensor {
    nbi_handle_head   head;                   /* the live mark and the generation */
    /* The owner's count (the user's handle, its scope, or a module) is
     * still held: a second nb_free is an error, not a release. */
    bool              handle_open;
    nbi_storage      *storage;
    int64_t           offset;                 /* elements from storage->data */
    int               ndim;
    int64_t           shape[NB_MAX_DIMS];
    int64_t           stride[NB_MAX_DIMS];    /* elements */
    int64_t           numel;
    nb_dtype          dtype;
    bool              requires_grad;
    /* One count for the user's handle (or its scope), one per internal
     * holder (autograd graph). */
    atomic_int        refcount;
    struct nbi_scope *scope;                  /* owning scope, or NULL */
    int64_t           scope_slot;             /* index in scope->tensors */
    /* Autograd (src/autograd): the accumulated gradient (an internal
     * reference, in no scope), the node that made this tensor (NULL for a
     * leaf), and whether a non-leaf keeps its gradient. */
    nb_tensor        *grad;
    struct nbi_node  *grad_fn;
    int               output_nr;              /* which output of grad_fn this is */
    bool              retains_grad;
    /* Views (src/autograd/view_history.c): the non-view tensor whose storage
     * this one views (a reference, or NULL), and view_base->grad_fn when
     * this view's history was last derived from it. An in-place op on the
     * base or on another of its views gives the base a new grad_fn; the
     * view's history is then stale and is re-derived before it is used. */
    nb_tensor        *view_base;
    struct nbi_node  *view_base_fn;
    /* Gradient hooks of a leaf (a non-leaf keeps them on its grad_fn). */
    struct nbi_hook  *hooks;
    /* A second handle to a leaf (what an op that returns its input in
     * PyTorch returns here: contiguous of a contiguous tensor, to() the same
     * dtype): the leaf it stands for, a reference. Its gradient, hooks and
     * requires_grad are that leaf's (nbi_identity). */
    nb_tensor        *same_as;
    /* A view made while grad mode was off, of a tensor that requires grad:
     * it reports requires_grad as PyTorch does, but has no history and no
     * gradient reaches it or its base; writing it in place with grad mode
     * on is refused. */
    bool              view_without_grad;
    /* The module that owns this tensor (a parameter or buffer), or NULL:
     * a tensor belongs to one module, and only the module frees it. */
    const void       *module_owner;
};

/* Tensor headers come from this kind's slots (tensor.c). */
extern nbi_handle_class nbi_tensor_handles;

/* t is a live tensor: its mark, and a handle of its current generation. */
static inline bool nbi_tensor_live(const nb_tensor *t)
{
    return nbi_handle_live(&nbi_tensor_handles, t, NBI_TENSOR_LIVE);
}

/* The tensor t stands for in autograd: itself, or the leaf it is a second
 * handle to. */
static inline nb_tensor *nbi_identity(const nb_tensor *t) { return t->same_as ? t->same_as : (nb_tensor *)t; }

/* Element size and the address of element 0 (the view's first element). */
static inline size_t nbi_itemsize(const nb_tensor *t) { return nb_dtype_size(t->dtype); }
static inline char  *nbi_ptr(const nb_tensor *t)
{
    return (char *)t->storage->data + t->offset * (int64_t)nb_dtype_size(t->dtype);
}

/* A new contiguous tensor (uninitialised data) owned by the current scope. */
nb_tensor *nbi_empty(int ndim, const int64_t *shape, nb_dtype dtype, nb_device device);
/* A new handle viewing base's storage with the given geometry. */
nb_tensor *nbi_make_view(const nb_tensor *base, int ndim, const int64_t *shape,
                         const int64_t *stride, int64_t offset);
/* A new handle with t's exact geometry: what an op returns when it would
 * "return t" (handles are owned one by one, so t itself cannot be returned). */
nb_tensor *nbi_alias(const nb_tensor *t);
/* The same, owned by the caller (in no scope): for internal holders. */
nb_tensor *nbi_alias_unscoped(const nb_tensor *t);
/* Make v a view of t for autograd: an in-place op on v rewrites the history
 * of t's base, and v's history follows later changes of the base. */
void       nbi_set_view_base(nb_tensor *v, const nb_tensor *t);
/* Take t out of its scope (the caller now owns it), or put an unscoped t
 * into the current scope. */
void       nbi_unscope(nb_tensor *t);
void       nbi_adopt(nb_tensor *t);
/* Free an object a user holds a pointer to (a module, an optimizer) after
 * a delay: it waits in a small per-thread quarantine first, so a use or a
 * second free of it can still read its dead mark and be refused. */
void       nbi_retire(void *object);
/* The live and dead marks of such objects (their first field). */
#define NBI_OBJECT_LIVE 0x4a424f4eu /* "NOBJ" */
#define NBI_OBJECT_DEAD 0x44414544u
/* nb_free for the module that owns t (nb_free refuses module tensors). */
void       nbi_module_free_tensor(nb_tensor *t);
/* Internal references (autograd): retain adds one, release drops one and
 * frees at zero. nb_free is release plus leaving the scope. */
void       nbi_tensor_retain(nb_tensor *t);
void       nbi_tensor_release(nb_tensor *t);
/* Write src into dst elementwise (src broadcast to dst's shape, converted
 * to dst's dtype; dst may be any strided view). The caller checked shapes. */
void       nbi_copy_into(nb_tensor *dst, const nb_tensor *src);
/* A contiguous copy of t in dtype, recorded by nothing (kernels that
 * compute float16 / bfloat16 in float32 widen their inputs with it). */
nb_tensor *nbi_copy_as(const nb_tensor *t, nb_dtype dtype);
/* t itself, or a float16 / bfloat16 t as float32 through nb_to_dtype (a
 * recorded cast, so gradients flow back in t's dtype); NULL stays NULL. How
 * ops that compute halves in float32 and round once widen their operands. */
static inline nb_tensor *nbi_float32_if_half(const nb_tensor *t)
{
    return t != NULL && nbi_is_half(t->dtype) ? nb_to_dtype(t, NB_FLOAT32) : (nb_tensor *)t;
}
/* count contiguous elements at src (from) into dst (to), both memory of
 * device: the device's cast kernel over raw buffers. */
void       nbi_cast_buffer(void *dst, nb_dtype to, const void *src, nb_dtype from, int64_t count, nb_device device);
/* t's values where the host can read them: a contiguous CPU tensor (a new
 * handle to t when it already is one), copied from t's device otherwise;
 * never recorded by autograd (ops/copy.c). NULL on error. */
nb_tensor *nbi_host_contiguous(const nb_tensor *t);
/* An expanded view (stride 0 over a size > 1): its elements share memory,
 * so it cannot be written in place. */
static inline bool nbi_has_internal_overlap(const nb_tensor *t)
{
    for (int d = 0; d < t->ndim; d++)
        if (t->stride[d] == 0 && t->shape[d] > 1) return true;
    return false;
}
/* How the memory of two tensors overlaps, as PyTorch decides it: FULL when
 * they are the same elements in the same layout, PARTIAL when their ranges
 * meet otherwise, TOO_HARD when either is not dense (then nobody knows). */
typedef enum { NBI_OVERLAP_NO, NBI_OVERLAP_FULL, NBI_OVERLAP_PARTIAL, NBI_OVERLAP_TOO_HARD } nbi_overlap;
nbi_overlap nbi_memory_overlap(const nb_tensor *a, const nb_tensor *b);
/* An in-place op writing `written` while reading `read`: false with
 * NB_ERR_ARG when they partially overlap (the result would depend on the
 * order elements are visited; PyTorch refuses it too). */
bool        nbi_check_no_partial_overlap(const nb_tensor *written, const nb_tensor *read, const char *op);
/* The same, refusing full overlap too (scatter_ reads src at other places
 * than it writes, so even the same elements would race). */
bool        nbi_check_no_overlap(const nb_tensor *written, const nb_tensor *read, const char *op);
/* t gives up its storage and takes donor's, with donor's layout (same shape
 * and dtype): how a module moves between devices while its parameters keep
 * their handles (PyTorch's param.data = moved). */
void nbi_tensor_take_storage(nb_tensor *t, const nb_tensor *donor);

/* Record an in-place write to t's storage. */
static inline void nbi_bump_version(nb_tensor *t) { t->storage->version++; }

/* What core asks of autograd. Core frees tensors, and a tensor may hold
 * what autograd made (its grad_fn, a leaf's hooks), but autograd sits above
 * core, so core cannot call it by name (nor read a node). Autograd hands core
 * this table before it makes its first node or hook (node.c, hooks.c), so a
 * tensor that holds either finds it set, on any thread. */
typedef struct {
    /* t is being freed and has a grad_fn or hooks: release them (and clear
     * the node's weak pointer to t, retain_owner). */
    void (*release_graph)(nb_tensor *t);
} nbi_autograd_callbacks;
/* Set the table (tensor.c keeps it in an atomic pointer): safe from any
 * thread; setting the same table again costs one load. */
void nbi_set_autograd_callbacks(const nbi_autograd_callbacks *callbacks);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* Record an error; return NULL / the status so that a check reads
 * `return nbi_fail(NB_ERR_SHAPE, "nb_add: ...")`. */
void     *nbi_fail(nb_status status, const char *fmt, ...) NBI_PRINTF(2, 3);
nb_status nbi_fail_status(nb_status status, const char *fmt, ...) NBI_PRINTF(2, 3);
/* NULL-argument rule of nabla.h: true when t is usable. When it is NULL,
 * records "op: argument 'name' is NULL" unless an error is already pending,
 * so the first cause of a failed chain survives. */
bool      nbi_check_tensor(const nb_tensor *t, const char *op, const char *name);
/* NB_ERR_UNSUPPORTED unless t is on the CPU: for the ops whose kernels are
 * not behind the backend table (core/backend.h) yet. */
bool      nbi_check_cpu(const nb_tensor *t, const char *op);
/* t is float32 or float64; else NB_ERR_DTYPE "op: expected a floating-point
 * tensor (float32 or float64), got ...": integers are refused, not converted. */
bool      nbi_check_floating(const nb_tensor *t, const char *op);
/* For the accessors (nb_ndim, nb_grad, ...), whose NULL answer is a neutral
 * value: false for NULL (nothing recorded, as nabla.h documents) and for a
 * freed handle (NB_ERR_STATE recorded: a neutral value would hide it). */
bool      nbi_readable_slow(const nb_tensor *t, const char *op);
static inline bool nbi_readable(const nb_tensor *t, const char *op)
{
    return NBI_LIKELY(t != NULL && nbi_tensor_live(t)) || nbi_readable_slow(t, op);
}
/* NOTE: errors are sticky until the next failure or nb_clear_error, as
 * errno is; a successful op does not clear them. */

/* ------------------------------------------------------------------------ */
/* Shapes                                                                    */
/* ------------------------------------------------------------------------ */

/* a and b have the same shape (dims and sizes; strides may differ). */
static inline bool nbi_same_shape(const nb_tensor *a, const nb_tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

/* "[4, 3]" into buf; returns buf. */
char   *nbi_shape_str(int ndim, const int64_t *shape, char *buf, size_t size);
#define NBI_SHAPE_STR_SIZE 200
/* Wrap a possibly negative dim into [0, ndim); -1 with NB_ERR_INDEX
 * recorded ("op: dim 3 is out of range for a 2-d tensor"). A 0-d tensor
 * accepts dims -1 and 0 as PyTorch does, when allow_scalar. */
int     nbi_wrap_dim(int dim, int ndim, const char *op);
/* Validate a shape given by a user (0..8 dims, sizes >= 0, numel fits). */
bool    nbi_check_shape(nb_shape shape, const char *op);
int64_t nbi_shape_numel(int ndim, const int64_t *shape);
/* Broadcast two shapes; false with NB_ERR_SHAPE naming op. */
bool    nbi_broadcast(int ndim_a, const int64_t *a, int ndim_b, const int64_t *b,
                      int *ndim_out, int64_t *out, const char *op);
/* Row-major contiguous strides for shape. */
void    nbi_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);

/* ------------------------------------------------------------------------ */
/* Type promotion                                                            */
/* ------------------------------------------------------------------------ */

/* torch.result_type over tensors (0-d tensors rank below dimensioned ones)
 * plus an optional Python-style scalar (has_scalar; scalar_is_float when it
 * has a fraction or is written as a float). */
nb_dtype nbi_result_type(int count, const nb_tensor *const *tensors,
                         bool has_scalar, bool scalar_is_float);

/* ------------------------------------------------------------------------ */
/* Host memory                                                               */
/* ------------------------------------------------------------------------ */

/* 64-byte aligned host memory through the user's hooks and the block cache.
 * nbi_host_alloc returns NULL (no error recorded) when memory runs out. */
void *nbi_host_alloc(size_t bytes);
void  nbi_host_release(void *ptr, size_t bytes);

/* Per-thread caches (thread_exit.c). A module calls nbi_thread_holds_caches
 * when this thread first puts something in its cache; when the thread exits,
 * nbi_release_thread_caches runs core's own releases below, then those of
 * the modules above core (autograd/node.c: the release list), which core
 * does not name: each registers its release function first, with
 * nbi_register_thread_cache (safe from any thread; again: no effect). They
 * run in the order they were first registered. */
typedef void (*nbi_thread_cache_release_fn)(void);
void nbi_thread_holds_caches(void);
void nbi_register_thread_cache(nbi_thread_cache_release_fn release);
void nbi_release_thread_caches(void);
void nbi_alloc_release_thread_cache(void);  /* alloc.c: cached blocks and bins */
void nbi_tensor_release_thread_cache(void); /* tensor.c: header free lists */

/* ------------------------------------------------------------------------ */
/* Random numbers                                                            */
/* ------------------------------------------------------------------------ */

/* Reserve count values of the global stream; returns the (seed, offset) key
 * the caller passes to the Philox functions. */
void nbi_rng_reserve(uint64_t count, uint64_t *seed, uint64_t *offset);

#endif /* NABLA_INTERNAL_H */
