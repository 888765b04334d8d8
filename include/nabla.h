/*
 * nabla.h — the whole public API of nabla, and its reference manual.
 *
 * nabla is an N-dimensional tensor library in C11: shapes, strides, dtypes and
 * devices, broadcasting elementwise ops, reductions, matmul, indexing, and
 * reverse-mode automatic differentiation recorded as the program runs
 * (requires_grad, backward, higher orders). Layers, losses, optimizers,
 * data loading and model files are in nabla/nn.h.
 *
 * Conventions that hold for every function below, so they are not repeated:
 *
 *   Errors.   A function that makes a tensor returns NULL on failure; one that
 *             does something returns an nb_status. Either way the failure is
 *             recorded in a thread-local error: nb_last_status() and
 *             nb_last_error() ("nb_matmul: shapes [4, 3] and [2, 2] cannot be
 *             multiplied (3 != 2)"). Nothing aborts on bad input.
 *   NULL in.  A tensor argument that is NULL makes the call return NULL (or
 *             NB_ERR_ARG) *without* overwriting the error already recorded, so
 *             a chained expression needs one check and reports the first cause.
 *   Owning.   Every nb_tensor * returned is a new handle that the caller owns.
 *             Made inside a scope (nb_scope_begin), it belongs to that scope
 *             and is released by nb_scope_end unless nb_keep'd; made outside
 *             any scope, it lives until nb_free. Arguments are borrowed: no
 *             function takes over a tensor passed to it.
 *   Views.    Functions documented as views share storage with their input;
 *             writing through one is visible through the other.
 *   Dims.     A dim argument may be negative (-1 is the last dimension).
 *   Dtypes.   Binary ops promote as torch.result_type does. Ops that need
 *             floating point refuse integer tensors with NB_ERR_DTYPE rather
 *             than converting them silently.
 */
#ifndef NABLA_H
#define NABLA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(NB_BUILDING_SHARED)
#define NB_API __declspec(dllexport)
#elif defined(__GNUC__)
#define NB_API __attribute__((visibility("default")))
#else
#define NB_API
#endif

/* ------------------------------------------------------------------------ */
/* Status and errors                                                         */
/* ------------------------------------------------------------------------ */

typedef enum {
    NB_OK = 0,
    NB_ERR_SHAPE,       /* shapes do not fit the op                      */
    NB_ERR_DTYPE,       /* dtype not supported by the op                 */
    NB_ERR_DEVICE,      /* tensors on different devices, or no device    */
    NB_ERR_OOM,         /* host or device allocation failed              */
    NB_ERR_IO,          /* file missing, unreadable or malformed         */
    NB_ERR_ARG,         /* an argument is out of range or NULL           */
    NB_ERR_STATE,       /* the call is not valid in the current state    */
    NB_ERR_INDEX,       /* an index is out of bounds                     */
    NB_ERR_UNSUPPORTED, /* valid request that this build cannot do       */
    NB_ERR_DIST,        /* a collective failed: MPI error, timeout, peers
                         * that disagree (nabla/dist.h)                   */
} nb_status;

/* The status and message of the most recent failure on this thread.
 * The message stays until the next failure or nb_clear_error(); it is never
 * NULL ("" when there is none). */
NB_API nb_status   nb_last_status(void);
NB_API const char *nb_last_error(void);
NB_API void        nb_clear_error(void);
/* Record a failure from your own code (a gradient hook, a custom function)
 * the way nabla's ops do; returns status. printf-style message. */
NB_API nb_status   nb_set_error(nb_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The name of a status code, e.g. "NB_ERR_SHAPE". */
NB_API const char *nb_status_name(nb_status status);

/* ------------------------------------------------------------------------ */
/* Dtypes and devices                                                        */
/* ------------------------------------------------------------------------ */

typedef enum {
    NB_FLOAT32 = 0, /* the default */
    NB_FLOAT64,
    NB_INT64,
    NB_INT32,
    NB_UINT8,
    NB_BOOL,
    /* Issue 13: appended (the codes above are stored in files). */
    NB_FLOAT16,
    NB_BFLOAT16,
    NB_INT16,
    NB_INT8,
    NB_NUM_DTYPES
} nb_dtype;
/* float16 (IEEE binary16) and bfloat16 are full dtypes on the CPU: creation,
 * printing, nb_item, casts, type promotion (torch.promote_types: float16 with
 * bfloat16 is float32, int8 with uint8 int16; a float16 tensor with a number
 * stays float16), .npy (float16; numpy has no bfloat16) and safetensors.
 * Casts round to nearest even and follow torch 1.13 bit for bit, NaN bits
 * included (float32 -> bfloat16 NaN is 0xFFFF as torch's tensor conversion,
 * float64 / float16 -> bfloat16 NaN 0x7FC0 as c10::BFloat16). Ops compute in
 * float32 and round the result once: elementwise ops, reductions (a float16
 * sum is float16, accumulated in float32), cumulative ops, softmax, matmul /
 * mm / bmm (a float32 GEMM of the widened operands, or bfloat16's own
 * AVX-512 BF16 kernel), linear / addmm with their bias, conv2d, pooling,
 * batch / layer / group norm, quantile and attention. Gradients of float16
 * / bfloat16 tensors are in their dtype: computed in float32 and rounded
 * once where torch's backward is one kernel (tanh, sigmoid, silu, gelu,
 * softplus, elu, hardswish, mish, logsigmoid, softmax, log_softmax, the
 * norms), op by op in the half dtype where torch's formula is a chain of
 * ops (sin's g cos x, ...), as torch's are. Deliberate
 * differences from torch 1.13: nabla computes the many ops torch's CPU
 * kernels refuse for Half ("not implemented for 'Half'": exp, tanh, mm,
 * softmax, cumsum, ...) and a few for BFloat16 (prod, mish, quantile); its
 * bfloat16 matmul accumulates in float32 where torch 1.13's rounds the
 * running sum to bfloat16 after every product; round(decimals) on
 * bfloat16 rounds once. LAPACK ops refuse the halves (as torch), and the
 * CUDA backend has no kernels for the four new dtypes yet: every op on them
 * there fails with NB_ERR_UNSUPPORTED. int8 and int16 run the integer
 * kernels and wrap as torch. nb_from_data and nb_data see a float16 or
 * bfloat16 element as its 16 bits (a uint16_t). */

NB_API const char *nb_dtype_name(nb_dtype dtype);      /* "float32", ...       */
NB_API size_t      nb_dtype_size(nb_dtype dtype);      /* bytes per element    */
NB_API bool        nb_dtype_is_floating(nb_dtype dtype);
/* torch.promote_types: the smallest dtype both a and b convert to safely. */
NB_API nb_dtype    nb_promote_types(nb_dtype a, nb_dtype b);

typedef enum { NB_CPU = 0, NB_CUDA = 1 } nb_device_type;
typedef struct {
    nb_device_type type;
    int            index;
} nb_device;
#define NB_DEVICE_CPU     ((nb_device){ .type = NB_CPU, .index = 0 })
#define NB_DEVICE_CUDA(i) ((nb_device){ .type = NB_CUDA, .index = (i) })

/* ------------------------------------------------------------------------ */
/* Shapes, dim lists and options: small value types                          */
/* ------------------------------------------------------------------------ */

#define NB_MAX_DIMS 8

/* A shape of 0 to NB_MAX_DIMS dimensions: NB_SHAPE(4, 3); NB_SCALAR_SHAPE
 * for a 0-d tensor. More than NB_MAX_DIMS sizes fail to compile. */
typedef struct {
    int     ndim;
    int64_t dims[NB_MAX_DIMS];
} nb_shape;
#define NB_SHAPE(...)                                                          \
    ((nb_shape){ .ndim = (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), \
                 .dims = { __VA_ARGS__ } })
#define NB_SCALAR_SHAPE ((nb_shape){ .ndim = 0 })

/* A list of dimensions for reductions and permute: NB_DIMS(0, -1). */
typedef struct {
    int n;
    int dims[NB_MAX_DIMS];
} nb_dims;
#define NB_DIMS(...)                                                           \
    ((nb_dims){ .n = (int)(sizeof((int[]){ __VA_ARGS__ }) / sizeof(int)),      \
                .dims = { __VA_ARGS__ } })

/* Options for creation functions; the zero value is the default
 * (float32, CPU, no grad): NB_OPTS(), NB_OPTS(.dtype = NB_INT64). */
typedef struct {
    int       reserved_; /* lets NB_OPTS() be empty; leave it zero */
    nb_dtype  dtype;
    nb_device device;
    bool      requires_grad;
} nb_opts;
#define NB_OPTS(...) ((nb_opts){ .reserved_ = 0, __VA_ARGS__ })

/* "Until the end" for nb_slice's stop. */
#define NB_END INT64_MAX

/* ------------------------------------------------------------------------ */
/* The tensor and its accessors                                              */
/* ------------------------------------------------------------------------ */

typedef struct nb_tensor nb_tensor;

NB_API int       nb_ndim(const nb_tensor *t);
NB_API nb_shape  nb_shape_of(const nb_tensor *t);
/* Size and stride (in elements) of one dim; negative dims count from the end.
 * An out-of-range dim returns -1 and records NB_ERR_INDEX. */
NB_API int64_t   nb_size(const nb_tensor *t, int dim);
NB_API int64_t   nb_stride(const nb_tensor *t, int dim);
NB_API int64_t   nb_numel(const nb_tensor *t);
NB_API int64_t   nb_storage_offset(const nb_tensor *t);
NB_API nb_dtype  nb_dtype_of(const nb_tensor *t);
NB_API nb_device nb_device_of(const nb_tensor *t);
NB_API bool      nb_is_contiguous(const nb_tensor *t);
NB_API bool      nb_requires_grad(const nb_tensor *t);
/* The element data of a contiguous CPU tensor (borrowed; valid while the
 * tensor lives), or NULL with NB_ERR_STATE for a non-contiguous or device
 * tensor (call nb_contiguous first). */
NB_API void     *nb_data(nb_tensor *t);
/* The value of a one-element tensor, converted to double / int64.
 * Other sizes: NAN / 0 and NB_ERR_SHAPE. */
NB_API double    nb_item(const nb_tensor *t);
NB_API int64_t   nb_item_int64(const nb_tensor *t);
/* Copy all elements, in row-major order and the tensor's dtype, into buf
 * (which must hold nb_numel * nb_dtype_size bytes; NB_ERR_ARG if smaller). */
NB_API nb_status nb_copy_to_buffer(const nb_tensor *t, void *buf, size_t buf_bytes);

/* ------------------------------------------------------------------------ */
/* Memory: handles, scopes, allocation hooks                                 */
/* ------------------------------------------------------------------------ */

/* Release a handle. Safe on NULL. A tensor owned by a scope may be freed
 * early; the scope then forgets it. Storage is freed with its last view.
 * Misuse is caught, not acted on: freeing a handle twice (or after its
 * scope ended), or freeing a module's parameter, records NB_ERR_STATE and
 * frees nothing; any op given a freed handle fails with NB_ERR_STATE
 * ("... a tensor that was freed"), even after its memory holds another
 * tensor: on Linux a handle's address carries a generation (see
 * src/core/handles.h), so a stale one is told from the new tensor (all but
 * a stale handle whose memory was reused exactly a multiple of 128 times,
 * freed memory being reused oldest first). (Builds
 * under a sanitizer or valgrind, and other systems, catch a freed handle
 * only while it waits in a quarantine of the thread's last 2048 releases.)
 * Modules, optimizers and data-parallel wrappers are checked the same way. */
NB_API void       nb_free(nb_tensor *t);
/* Open a scope: tensors made until the matching nb_scope_end belong to it.
 * Scopes nest (up to 64 deep). */
NB_API nb_status  nb_scope_begin(void);
/* Release every tensor the innermost scope still owns. NB_ERR_STATE if no
 * scope is open. */
NB_API nb_status  nb_scope_end(void);
/* Hand t to the enclosing scope (or to the caller, outside any scope), so it
 * survives the current nb_scope_end. Returns t. */
NB_API nb_tensor *nb_keep(nb_tensor *t);
/* Handles alive now on this process: tests use it to prove nothing leaked. */
NB_API int64_t    nb_live_tensors(void);

/* Replace the host allocator (before the first tensor is made, on any
 * thread: it empties only the calling thread's block cache, so a block
 * another thread cached from the old allocator would later be released
 * through the new one).
 * alloc must return memory aligned to at least 64 bytes, or NULL. */
typedef void *(*nb_alloc_fn)(size_t bytes, void *user);
typedef void  (*nb_release_fn)(void *ptr, size_t bytes, void *user);
NB_API nb_status nb_set_allocator(nb_alloc_fn alloc, nb_release_fn release, void *user);
/* Return cached CPU blocks to the allocator (they are kept for reuse). */
NB_API void      nb_empty_cache(void);

/* ------------------------------------------------------------------------ */
/* Threads and random numbers                                                */
/* ------------------------------------------------------------------------ */

/* Threads used by CPU kernels (default: the environment's NB_NUM_THREADS,
 * else the cores this process may run on). Results do not depend on it:
 * every kernel gives the same bits at any thread count. The pool's threads
 * spin briefly between parallel regions and then sleep, so on a busy
 * machine more threads never cost more than a little CPU (see the README).
 * n is capped at 256; a build without POSIX threads accepts any n >= 1 and
 * runs on one thread (nb_get_num_threads then says 1). n < 1 is NB_ERR_ARG. */
NB_API nb_status nb_set_num_threads(int n);
NB_API int       nb_get_num_threads(void);
/* The BLAS behind matmul on the CPU: "openblas" or "fallback". */
NB_API const char *nb_gemm_backend(void);

/* Seed the generator. Random tensors are a function of (seed, offset,
 * element index) only: the same seed gives the same numbers whatever the
 * thread count. Each random call advances the offset by the number of
 * values it draws. Before any nb_manual_seed the seed is 67280421310721,
 * PyTorch's default (the numbers themselves differ from PyTorch's). */
NB_API void     nb_manual_seed(uint64_t seed);
NB_API uint64_t nb_initial_seed(void);

/* ------------------------------------------------------------------------ */
/* Creation                                                                  */
/* ------------------------------------------------------------------------ */

NB_API nb_tensor *nb_empty(nb_shape shape, nb_opts opts);
NB_API nb_tensor *nb_zeros(nb_shape shape, nb_opts opts);
NB_API nb_tensor *nb_ones(nb_shape shape, nb_opts opts);
NB_API nb_tensor *nb_full(nb_shape shape, double value, nb_opts opts);
/* nb_full with an int64 value, exact at any size (a double holds integers
 * only up to 2^53); converted to a float dtype, NB_ERR_ARG if it overflows
 * an integer one. */
NB_API nb_tensor *nb_full_i64(nb_shape shape, int64_t value, nb_opts opts);
/* A 0-d tensor holding value. */
NB_API nb_tensor *nb_scalar(double value, nb_opts opts);
/* Copy numel(shape) elements of dtype opts.dtype from data. */
NB_API nb_tensor *nb_from_data(const void *data, nb_shape shape, nb_opts opts);
/* [start, end) in steps of step, as torch.arange (length ceil((end-start)/step)). */
NB_API nb_tensor *nb_arange(double start, double end, double step, nb_opts opts);
/* steps values evenly spaced from start to end inclusive. */
NB_API nb_tensor *nb_linspace(double start, double end, int64_t steps, nb_opts opts);
/* n x m with ones on the diagonal. */
NB_API nb_tensor *nb_eye(int64_t n, int64_t m, nb_opts opts);
/* Uniform on [0, 1); standard normal; integers uniform on [low, high);
 * normal(mean, std). Floating dtypes only except nb_randint, whose
 * [low, high) must fit the dtype (NB_ERR_ARG), for floats the integers they
 * hold exactly (|x| <= 2^24 for float32, 2^53 for float64). */
NB_API nb_tensor *nb_rand(nb_shape shape, nb_opts opts);
NB_API nb_tensor *nb_randn(nb_shape shape, nb_opts opts);
NB_API nb_tensor *nb_randint(int64_t low, int64_t high, nb_shape shape, nb_opts opts);
NB_API nb_tensor *nb_normal(double mean, double std, nb_shape shape, nb_opts opts);
/* Same shape, dtype and device as t (opts are not taken: use nb_to_dtype). */
NB_API nb_tensor *nb_empty_like(const nb_tensor *t);
NB_API nb_tensor *nb_zeros_like(const nb_tensor *t);
NB_API nb_tensor *nb_ones_like(const nb_tensor *t);
NB_API nb_tensor *nb_full_like(const nb_tensor *t, double value);
NB_API nb_tensor *nb_rand_like(const nb_tensor *t);
NB_API nb_tensor *nb_randn_like(const nb_tensor *t);
/* A contiguous copy with its own storage. */
NB_API nb_tensor *nb_clone(const nb_tensor *t);

/* ------------------------------------------------------------------------ */
/* Views (share storage) and layout                                          */
/* ------------------------------------------------------------------------ */

/* As torch.reshape: a view when the strides allow, else a copy. One size may
 * be -1 (inferred). */
NB_API nb_tensor *nb_reshape(const nb_tensor *t, nb_shape shape);
/* As torch.view: always a view; NB_ERR_SHAPE when the strides do not allow. */
NB_API nb_tensor *nb_view(const nb_tensor *t, nb_shape shape);
NB_API nb_tensor *nb_transpose(const nb_tensor *t, int dim0, int dim1);
NB_API nb_tensor *nb_permute(const nb_tensor *t, nb_dims order);
/* Transpose of a tensor of at most 2 dims. */
NB_API nb_tensor *nb_t(const nb_tensor *t);
/* Broadcast to shape (stride 0 in new or size-1 dims); -1 keeps a size. */
NB_API nb_tensor *nb_expand(const nb_tensor *t, nb_shape shape);
NB_API nb_tensor *nb_broadcast_to(const nb_tensor *t, nb_shape shape);
/* The broadcast of two shapes, or NB_ERR_SHAPE. */
NB_API nb_status  nb_broadcast_shapes(nb_shape a, nb_shape b, nb_shape *out);
NB_API nb_tensor *nb_squeeze(const nb_tensor *t);              /* all size-1 dims */
NB_API nb_tensor *nb_squeeze_dim(const nb_tensor *t, int dim); /* no-op if size != 1 */
NB_API nb_tensor *nb_unsqueeze(const nb_tensor *t, int dim);
/* Flatten dims start..end (inclusive) into one; a view when possible. */
NB_API nb_tensor *nb_flatten(const nb_tensor *t, int start_dim, int end_dim);
NB_API nb_tensor *nb_unflatten(const nb_tensor *t, int dim, nb_shape sizes);
NB_API nb_tensor *nb_narrow(const nb_tensor *t, int dim, int64_t start, int64_t length);
/* Python's t[start:stop:step] along dim: negative start/stop count from the
 * end, out-of-range bounds clamp, step must be positive. NB_END for "to the end". */
NB_API nb_tensor *nb_slice(const nb_tensor *t, int dim, int64_t start, int64_t stop, int64_t step);
/* t[..., index, ...]: removes dim. Negative index counts from the end. */
NB_API nb_tensor *nb_select(const nb_tensor *t, int dim, int64_t index);
NB_API nb_tensor *nb_diagonal(const nb_tensor *t, int64_t offset, int dim1, int dim2);
/* A new handle viewing t when t is contiguous, else a contiguous copy. */
NB_API nb_tensor *nb_contiguous(const nb_tensor *t);

/* ------------------------------------------------------------------------ */
/* Elementwise ops                                                           */
/* ------------------------------------------------------------------------ */
/* Binary ops broadcast both inputs and promote dtypes (torch.result_type).
 * The _scalar forms treat the number as a Python scalar: it does not widen
 * the tensor's dtype within a category (float32 stays float32) but an int
 * tensor with a fractional scalar gives float32.
 * In-place forms (trailing _) write into a and return a itself (not a new
 * handle: nothing to free), or NULL on error with a unchanged. They refuse a
 * result dtype a cannot hold (float into int), a broadcast that would grow
 * a, and an a whose elements overlap (an expanded view). */

NB_API nb_tensor *nb_add(const nb_tensor *a, const nb_tensor *b);
/* A bool operand (either one, also in the _scalar, rsub and in-place forms)
 * is NB_ERR_DTYPE, as torch: use nb_logical_not to invert a mask. */
NB_API nb_tensor *nb_sub(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_mul(const nb_tensor *a, const nb_tensor *b);
/* True division: integers give float32. */
NB_API nb_tensor *nb_div(const nb_tensor *a, const nb_tensor *b);
/* Rounds toward -inf (Python's //); integer division by zero is NB_ERR_ARG. */
NB_API nb_tensor *nb_floor_divide(const nb_tensor *a, const nb_tensor *b);
/* Python's %: the result has the sign of the divisor. */
NB_API nb_tensor *nb_remainder(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_pow(const nb_tensor *a, const nb_tensor *b);
/* Propagate NaN as torch.maximum / minimum. Gradients as torch 1.13: ties
 * share g equally; where a or b is NaN both get g. */
NB_API nb_tensor *nb_maximum(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_minimum(const nb_tensor *a, const nb_tensor *b);
/* Comparisons and logical ops give bool tensors. */
NB_API nb_tensor *nb_eq(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_ne(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_lt(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_le(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_gt(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_ge(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_logical_and(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_logical_or(const nb_tensor *a, const nb_tensor *b);
/* With a scalar for b (nonzero is true), as torch.logical_and(a, s). */
NB_API nb_tensor *nb_logical_and_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_logical_or_scalar(const nb_tensor *a, double s);

NB_API nb_tensor *nb_add_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_sub_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_mul_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_div_scalar(const nb_tensor *a, double s);
/* An integer tensor to a negative whole power is NB_ERR_ARG ("integers to
 * negative integer powers are not allowed", as torch); a tensor exponent
 * truncates instead (2 ** -1 == 0), as torch. */
NB_API nb_tensor *nb_pow_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_remainder_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_floor_divide_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_maximum_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_minimum_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_eq_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_ne_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_lt_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_le_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_gt_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_ge_scalar(const nb_tensor *a, double s);
/* s - a and s / a. */
NB_API nb_tensor *nb_rsub_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_rdiv_scalar(const nb_tensor *a, double s);

NB_API nb_tensor *nb_add_(nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_sub_(nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_mul_(nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_div_(nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_add_scalar_(nb_tensor *a, double s);
NB_API nb_tensor *nb_sub_scalar_(nb_tensor *a, double s);
NB_API nb_tensor *nb_mul_scalar_(nb_tensor *a, double s);
NB_API nb_tensor *nb_div_scalar_(nb_tensor *a, double s);
/* Fill every element of a with value; returns a itself. Unlike the other
 * in-place forms it accepts an expanded view (every element gets the same
 * value), as torch does. */
NB_API nb_tensor *nb_fill_(nb_tensor *a, double value);
NB_API nb_tensor *nb_fill_i64_(nb_tensor *a, int64_t value); /* exact int64, as nb_full_i64 */
/* Copy src into dst (broadcasting src, converting dtype); returns dst itself. */
NB_API nb_tensor *nb_copy_(nb_tensor *dst, const nb_tensor *src);

/* Unary ops. Those marked (float) refuse integer and bool tensors. */
NB_API nb_tensor *nb_neg(const nb_tensor *t);
NB_API nb_tensor *nb_abs(const nb_tensor *t);
NB_API nb_tensor *nb_sign(const nb_tensor *t);     /* bool: t itself; sign(NaN) = 0 */
NB_API nb_tensor *nb_exp(const nb_tensor *t);     /* (float) */
NB_API nb_tensor *nb_log(const nb_tensor *t);     /* (float) */
NB_API nb_tensor *nb_log1p(const nb_tensor *t);   /* (float) */
NB_API nb_tensor *nb_expm1(const nb_tensor *t);   /* (float) */
NB_API nb_tensor *nb_sqrt(const nb_tensor *t);    /* (float) */
NB_API nb_tensor *nb_rsqrt(const nb_tensor *t);   /* (float) */
NB_API nb_tensor *nb_sin(const nb_tensor *t);     /* (float) */
NB_API nb_tensor *nb_cos(const nb_tensor *t);     /* (float) */
NB_API nb_tensor *nb_tanh(const nb_tensor *t);    /* (float) */
NB_API nb_tensor *nb_sigmoid(const nb_tensor *t); /* (float) */
NB_API nb_tensor *nb_relu(const nb_tensor *t);     /* gradient 0 at 0, 1 at NaN (torch) */
NB_API nb_tensor *nb_silu(const nb_tensor *t);    /* (float) */
NB_API nb_tensor *nb_erf(const nb_tensor *t);     /* (float) */
/* GELU: x * Phi(x) (erf form), or its tanh approximation when tanh_approx. */
NB_API nb_tensor *nb_gelu(const nb_tensor *t, bool tanh_approx); /* (float) */
/* log(1 + exp(beta x)) / beta, and x itself where beta x > threshold
 * (torch's defaults: beta 1, threshold 20). (float) */
NB_API nb_tensor *nb_softplus(const nb_tensor *t, double beta, double threshold);
/* Clamp into [min, max]; pass NAN for a missing bound. NaN inputs stay NaN.
 * A fractional bound makes an integer t float32 (torch's promotion); whole
 * bounds on an integer t must fit its dtype (NB_ERR_ARG), and for uint8 the
 * negative ones -255..-1 wrap to 1..255 as in torch (clamp(u8, -1) is 255). */
NB_API nb_tensor *nb_clamp(const nb_tensor *t, double min, double max);
NB_API nb_tensor *nb_logical_not(const nb_tensor *t);
NB_API nb_tensor *nb_isnan(const nb_tensor *t);
NB_API nb_tensor *nb_isinf(const nb_tensor *t);
NB_API nb_tensor *nb_isfinite(const nb_tensor *t);
/* cond ? a : b elementwise, broadcasting all three; cond must be bool. */
NB_API nb_tensor *nb_where(const nb_tensor *cond, const nb_tensor *a, const nb_tensor *b);

/* In-place unary forms: write into t, return t itself (NULL on error). */
NB_API nb_tensor *nb_neg_(nb_tensor *t);
NB_API nb_tensor *nb_abs_(nb_tensor *t);
NB_API nb_tensor *nb_sign_(nb_tensor *t);
NB_API nb_tensor *nb_exp_(nb_tensor *t);
NB_API nb_tensor *nb_log_(nb_tensor *t);
NB_API nb_tensor *nb_log1p_(nb_tensor *t);
NB_API nb_tensor *nb_expm1_(nb_tensor *t);
NB_API nb_tensor *nb_sqrt_(nb_tensor *t);
NB_API nb_tensor *nb_rsqrt_(nb_tensor *t);
NB_API nb_tensor *nb_sin_(nb_tensor *t);
NB_API nb_tensor *nb_cos_(nb_tensor *t);
NB_API nb_tensor *nb_tanh_(nb_tensor *t);
NB_API nb_tensor *nb_sigmoid_(nb_tensor *t);
NB_API nb_tensor *nb_relu_(nb_tensor *t);
NB_API nb_tensor *nb_silu_(nb_tensor *t);
NB_API nb_tensor *nb_erf_(nb_tensor *t);
NB_API nb_tensor *nb_clamp_(nb_tensor *t, double min, double max);


/* ------------------------------------------------------------------------ */
/* int64 numbers                                                             */
/* ------------------------------------------------------------------------ */
/* Every _scalar form has an _i64 twin taking an int64_t, exact beyond 2^53
 * where a double is not: an int64 tensor + (2^60 + 1) is exact. The number
 * counts as a Python int in promotion (an integer tensor keeps its dtype;
 * a narrower one wraps, as torch; a float tensor converts it). */
NB_API nb_tensor *nb_add_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_sub_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_mul_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_div_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_floor_divide_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_remainder_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_pow_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_maximum_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_minimum_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_eq_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_ne_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_lt_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_le_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_gt_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_ge_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_logical_and_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_logical_or_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_fmod_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_atan2_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_copysign_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_hypot_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_xlogy_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_logical_xor_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_bitwise_and_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_bitwise_or_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_bitwise_xor_scalar_i64(const nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_rsub_scalar_i64(const nb_tensor *a, int64_t s);
/* In place: write into a, return a. */
NB_API nb_tensor *nb_add_scalar_i64_(nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_sub_scalar_i64_(nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_mul_scalar_i64_(nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_div_scalar_i64_(nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_fmod_scalar_i64_(nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_atan2_scalar_i64_(nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_copysign_scalar_i64_(nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_hypot_scalar_i64_(nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_xlogy_scalar_i64_(nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_bitwise_and_scalar_i64_(nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_bitwise_or_scalar_i64_(nb_tensor *a, int64_t s);
NB_API nb_tensor *nb_bitwise_xor_scalar_i64_(nb_tensor *a, int64_t s);

/* ---- Issue 13: more elementwise math, rounding, activations, bitwise ---- */
/* Errors common to all of these: a NULL or freed tensor returns NULL
 * (keeping the first error); a dtype the op does not take is NB_ERR_DTYPE;
 * tensors on different devices are NB_ERR_DEVICE; shapes that do not
 * broadcast are NB_ERR_SHAPE. (float) ops refuse integer and bool tensors
 * where torch would compute in float32: convert with nb_to_dtype. Results
 * are new tensors the caller owns; in-place forms return t itself. */

/* Float math (float): derivatives as torch's; outside a function's domain
 * the value is NaN (asin(2)), at a pole inf (atanh(1)). */
NB_API nb_tensor *nb_tan(const nb_tensor *t);
NB_API nb_tensor *nb_asin(const nb_tensor *t);
NB_API nb_tensor *nb_acos(const nb_tensor *t);
NB_API nb_tensor *nb_atan(const nb_tensor *t);
NB_API nb_tensor *nb_sinh(const nb_tensor *t);
NB_API nb_tensor *nb_cosh(const nb_tensor *t);
NB_API nb_tensor *nb_asinh(const nb_tensor *t);
NB_API nb_tensor *nb_acosh(const nb_tensor *t);
NB_API nb_tensor *nb_atanh(const nb_tensor *t);
NB_API nb_tensor *nb_log2(const nb_tensor *t);
NB_API nb_tensor *nb_log10(const nb_tensor *t);
NB_API nb_tensor *nb_exp2(const nb_tensor *t);
NB_API nb_tensor *nb_reciprocal(const nb_tensor *t); /* 1 / x; nabla refuses integers (torch: float32) */
NB_API nb_tensor *nb_sinc(const nb_tensor *t);       /* sin(pi x) / (pi x), 1 at 0 */
/* x * x; integer dtypes stay (wrapping), bool becomes int64, as torch's
 * square (pow(x, 2): node PowBackward0). In place, bool is NB_ERR_DTYPE. */
NB_API nb_tensor *nb_square(const nb_tensor *t);

/* Rounding. floor, ceil, round (half to even) and trunc return integer
 * tensors unchanged (same dtype), refuse bool; their gradient is zero.
 * frac is x - trunc(x) (float), gradient 1. */
NB_API nb_tensor *nb_floor(const nb_tensor *t);
NB_API nb_tensor *nb_ceil(const nb_tensor *t);
NB_API nb_tensor *nb_round(const nb_tensor *t);
NB_API nb_tensor *nb_trunc(const nb_tensor *t);
NB_API nb_tensor *nb_frac(const nb_tensor *t);
/* torch.round(t, decimals=d) (float): rint(x * 10^d) / 10^d, or for d < 0
 * rint(x / 10^-d) * 10^-d, in t's dtype. |decimals| > 400 is NB_ERR_ARG. */
NB_API nb_tensor *nb_round_decimals(const nb_tensor *t, int64_t decimals);

/* Activations (float unless said), values and gradients at the kinks as
 * torch 1.13 (in brackets: the gradient at the kink, then at NaN). */
NB_API nb_tensor *nb_leaky_relu(const nb_tensor *t, double negative_slope); /* [slope; slope] NaN slope: NB_ERR_ARG */
/* elu: x > 0 ? x : alpha (exp(x) - 1) [alpha at 0; 1]; alpha must be
 * finite (NB_ERR_ARG). selu: scale * elu(x, 1.6732...) with scale
 * 1.0507... (node EluBackward0, as torch). celu: x > 0 ? x : alpha
 * (exp(x / alpha) - 1); alpha 0 is NB_ERR_ARG. */
NB_API nb_tensor *nb_elu(const nb_tensor *t, double alpha);
NB_API nb_tensor *nb_selu(const nb_tensor *t);
NB_API nb_tensor *nb_celu(const nb_tensor *t, double alpha);
/* Clamp into [min, max] (min first: min > max gives max, as torch);
 * gradient 1 strictly inside, 0 at and beyond the bounds, 1 at NaN.
 * Integer tensors are accepted (bounds truncated toward zero), bool is
 * NB_ERR_DTYPE; NaN bounds, and negative bounds for uint8, NB_ERR_ARG.
 * relu6 is hardtanh(t, 0, 6) (node HardtanhBackward0, as torch). */
NB_API nb_tensor *nb_hardtanh(const nb_tensor *t, double min, double max);
NB_API nb_tensor *nb_relu6(const nb_tensor *t);
/* x * relu6(x + 3) / 6 [-1/2 at -3, 3/2 at 3; 1]; relu6(x + 3) / 6
 * [0 at both ends; 0]; x * tanh(softplus(x)); x / (1 + |x|) (a composite:
 * integers give float32 and the node is DivBackward0, as torch);
 * log(sigmoid(x)) computed without overflow. */
NB_API nb_tensor *nb_hardswish(const nb_tensor *t);
NB_API nb_tensor *nb_hardsigmoid(const nb_tensor *t);
NB_API nb_tensor *nb_mish(const nb_tensor *t);
NB_API nb_tensor *nb_softsign(const nb_tensor *t);
NB_API nb_tensor *nb_logsigmoid(const nb_tensor *t);
/* x > 0 ? x : weight * x, weight of 1 element or one per channel (dim 1 of
 * x; a 0-d or 1-d x is one channel, as torch); gradients to both. x and weight must be floats of
 * one dtype (NB_ERR_DTYPE); a weight of another size or more than 1 dim is
 * NB_ERR_SHAPE. A composite: its node is not torch's PreluBackward0. */
NB_API nb_tensor *nb_prelu(const nb_tensor *x, const nb_tensor *weight);
/* First half of t along dim times sigmoid of the second half (float). An
 * odd size or 0-d t is NB_ERR_SHAPE; a dim out of range NB_ERR_ARG. A
 * composite: its node is MulBackward0, not torch's GluBackward0. */
NB_API nb_tensor *nb_glu(const nb_tensor *t, int dim);

/* NaN -> nan, +inf -> posinf, -inf -> neginf; pass NAN for posinf / neginf
 * to get the dtype's largest / lowest finite value (torch's None). Any
 * dtype; integer and bool tensors come back unchanged. Gradient: g where
 * x is finite, else 0. */
NB_API nb_tensor *nb_nan_to_num(const nb_tensor *t, double nan, double posinf, double neginf);

/* Bitwise ops: integers and bool only (floats are NB_ERR_DTYPE, as torch);
 * bool works as logical. */
NB_API nb_tensor *nb_bitwise_not(const nb_tensor *t);
NB_API nb_tensor *nb_bitwise_and(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_bitwise_or(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_bitwise_xor(const nb_tensor *a, const nb_tensor *b);
/* Binary float and integer math. fmod: C's fmod, the sign of a (remainder
 * is Python's %, the sign of b); integers and floats, not bool; integer
 * division by zero is NB_ERR_ARG. atan2 and copysign: integers promote to
 * float32 (as torch). hypot: floats only (as torch). Gradients as torch:
 * fmod's b gets -g trunc(a / b); copysign's b gets zeros. */
NB_API nb_tensor *nb_fmod(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_atan2(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_copysign(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_hypot(const nb_tensor *a, const nb_tensor *b);
/* torch.xlogy: a log(b), 0 where a == 0 (even where b is 0), NaN where b is
 * NaN; integers promote to float32. Gradients as torch: a gets g log(b),
 * 0 where a == 0 and b <= 0; b gets g a / b (NaN at a == b == 0). */
NB_API nb_tensor *nb_xlogy(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_logical_xor(const nb_tensor *a, const nb_tensor *b); /* any dtypes; bool result */
/* With a Python-style number for b (as the _scalar forms above). torch has
 * no atan2 / hypot / logical_xor with a number: these are as with a 0-d
 * tensor of s. */
NB_API nb_tensor *nb_fmod_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_atan2_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_copysign_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_hypot_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_xlogy_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_logical_xor_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_bitwise_and_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_bitwise_or_scalar(const nb_tensor *a, double s);
NB_API nb_tensor *nb_bitwise_xor_scalar(const nb_tensor *a, double s);

/* torch.isclose: a == b, or |a - b| <= atol + rtol |b| (finite); NaNs are
 * equal only when equal_nan. a and b must have one dtype (NB_ERR_DTYPE, as
 * torch); negative or NaN rtol / atol is NB_ERR_ARG. A bool tensor. */
NB_API nb_tensor *nb_isclose(const nb_tensor *a, const nb_tensor *b, double rtol, double atol, bool equal_nan);
/* torch.allclose: *result = every element isclose. Returns NB_OK, or the
 * error isclose gives (then *result is false); NULL result is NB_ERR_ARG. */
NB_API nb_status nb_allclose(const nb_tensor *a, const nb_tensor *b, double rtol, double atol, bool equal_nan,
                             bool *result);

/* In-place forms (torch's x.op_() or F.op(inplace=True)): t itself. */
NB_API nb_tensor *nb_tan_(nb_tensor *t);
NB_API nb_tensor *nb_asin_(nb_tensor *t);
NB_API nb_tensor *nb_acos_(nb_tensor *t);
NB_API nb_tensor *nb_atan_(nb_tensor *t);
NB_API nb_tensor *nb_sinh_(nb_tensor *t);
NB_API nb_tensor *nb_cosh_(nb_tensor *t);
NB_API nb_tensor *nb_asinh_(nb_tensor *t);
NB_API nb_tensor *nb_acosh_(nb_tensor *t);
NB_API nb_tensor *nb_atanh_(nb_tensor *t);
NB_API nb_tensor *nb_log2_(nb_tensor *t);
NB_API nb_tensor *nb_log10_(nb_tensor *t);
NB_API nb_tensor *nb_exp2_(nb_tensor *t);
NB_API nb_tensor *nb_reciprocal_(nb_tensor *t);
NB_API nb_tensor *nb_sinc_(nb_tensor *t);
NB_API nb_tensor *nb_square_(nb_tensor *t);
NB_API nb_tensor *nb_floor_(nb_tensor *t);
NB_API nb_tensor *nb_ceil_(nb_tensor *t);
NB_API nb_tensor *nb_round_(nb_tensor *t);
NB_API nb_tensor *nb_trunc_(nb_tensor *t);
NB_API nb_tensor *nb_frac_(nb_tensor *t);
NB_API nb_tensor *nb_round_decimals_(nb_tensor *t, int64_t decimals);
NB_API nb_tensor *nb_leaky_relu_(nb_tensor *t, double negative_slope);
NB_API nb_tensor *nb_elu_(nb_tensor *t, double alpha);
NB_API nb_tensor *nb_selu_(nb_tensor *t);
NB_API nb_tensor *nb_celu_(nb_tensor *t, double alpha);
NB_API nb_tensor *nb_hardtanh_(nb_tensor *t, double min, double max);
NB_API nb_tensor *nb_relu6_(nb_tensor *t);
NB_API nb_tensor *nb_hardswish_(nb_tensor *t);
NB_API nb_tensor *nb_hardsigmoid_(nb_tensor *t);
NB_API nb_tensor *nb_mish_(nb_tensor *t);
NB_API nb_tensor *nb_nan_to_num_(nb_tensor *t, double nan, double posinf, double neginf);
NB_API nb_tensor *nb_bitwise_not_(nb_tensor *t);
/* An integer division by zero in nb_fmod_ may leave a partly written (as
 * torch's fmod_); nb_fmod_scalar_(a, 0) fails before writing anything. */
NB_API nb_tensor *nb_fmod_(nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_fmod_scalar_(nb_tensor *a, double s);
/* atan2_ / copysign_ on an integer a are NB_ERR_DTYPE (the float result
 * cannot be written into it, as torch). */
NB_API nb_tensor *nb_atan2_(nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_atan2_scalar_(nb_tensor *a, double s);
NB_API nb_tensor *nb_copysign_(nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_copysign_scalar_(nb_tensor *a, double s);
NB_API nb_tensor *nb_hypot_(nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_hypot_scalar_(nb_tensor *a, double s);
NB_API nb_tensor *nb_xlogy_(nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_xlogy_scalar_(nb_tensor *a, double s);
NB_API nb_tensor *nb_bitwise_and_(nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_bitwise_and_scalar_(nb_tensor *a, double s);
NB_API nb_tensor *nb_bitwise_or_(nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_bitwise_or_scalar_(nb_tensor *a, double s);
NB_API nb_tensor *nb_bitwise_xor_(nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_bitwise_xor_scalar_(nb_tensor *a, double s);

/* ------------------------------------------------------------------------ */
/* Reductions                                                                */
/* ------------------------------------------------------------------------ */
/* The plain forms reduce every element to a 0-d tensor; the _dims forms
 * reduce the listed dims (NB_DIMS(0, 2)), keeping them as size 1 when
 * keepdim. An empty dim list reduces everything, as in PyTorch.
 * sum/prod of bool and integer tensors give int64; mean, var, std,
 * logsumexp, norm, softmax and log_softmax need floating point.
 * Reducing an empty tensor: sum 0, prod 1, mean NaN; max/min/argmax refuse. */

NB_API nb_tensor *nb_sum(const nb_tensor *t);
NB_API nb_tensor *nb_sum_dims(const nb_tensor *t, nb_dims dims, bool keepdim);
NB_API nb_tensor *nb_mean(const nb_tensor *t);
NB_API nb_tensor *nb_mean_dims(const nb_tensor *t, nb_dims dims, bool keepdim);
NB_API nb_tensor *nb_prod(const nb_tensor *t);
NB_API nb_tensor *nb_prod_dims(const nb_tensor *t, nb_dims dims, bool keepdim);
/* Largest / smallest value (NaN if any is NaN). The gradient is shared
 * evenly among the elements equal to the result, or among the NaNs when it
 * is NaN (torch 1.13). */
NB_API nb_tensor *nb_max(const nb_tensor *t);
NB_API nb_tensor *nb_min(const nb_tensor *t);
/* Values and (if indices != NULL) int64 indices along dim; ties give the
 * first index. *indices is a new handle the caller owns. */
NB_API nb_tensor *nb_max_dim(const nb_tensor *t, int dim, bool keepdim, nb_tensor **indices);
NB_API nb_tensor *nb_min_dim(const nb_tensor *t, int dim, bool keepdim, nb_tensor **indices);
/* Index into the flattened tensor (0-d int64). */
/* bool tensors are NB_ERR_DTYPE here and in the _dim forms, as torch. */
NB_API nb_tensor *nb_argmax(const nb_tensor *t);
NB_API nb_tensor *nb_argmin(const nb_tensor *t);
NB_API nb_tensor *nb_argmax_dim(const nb_tensor *t, int dim, bool keepdim);
NB_API nb_tensor *nb_argmin_dim(const nb_tensor *t, int dim, bool keepdim);
/* Variance / standard deviation with Bessel's correction (1 = unbiased):
 * the divisor is max(0, N - correction), as torch. Gradients as torch
 * 1.13: 2 (x - mean) / (N - correction) with N - correction as it is (0:
 * +-inf, NaN at the mean; below 0: negative), and std's is 0 where the
 * std is 0 (a constant slice). */
NB_API nb_tensor *nb_var(const nb_tensor *t, int64_t correction);
NB_API nb_tensor *nb_var_dims(const nb_tensor *t, nb_dims dims, int64_t correction, bool keepdim);
NB_API nb_tensor *nb_std(const nb_tensor *t, int64_t correction);
NB_API nb_tensor *nb_std_dims(const nb_tensor *t, nb_dims dims, int64_t correction, bool keepdim);
/* log(sum(exp(t))) computed stably (max subtracted). */
NB_API nb_tensor *nb_logsumexp(const nb_tensor *t, nb_dims dims, bool keepdim);
/* p-norm (sum |x|^p)^(1/p) for any p: INFINITY / -INFINITY give max / min
 * of |x|, 0 counts nonzeros; zero elements give 0 (as torch.norm). A NaN p
 * is NB_ERR_ARG. Gradient as torch 1.13's: none for p = 0; 0 where the norm
 * is 0 and, for p < 1, where x is 0. */
NB_API nb_tensor *nb_norm(const nb_tensor *t, double p);
NB_API nb_tensor *nb_norm_dims(const nb_tensor *t, double p, nb_dims dims, bool keepdim);
/* Bool 0-d (or reduced) results: every / some element is nonzero. A uint8
 * t gives uint8 (0 or 1), as torch 1.13 does. */
NB_API nb_tensor *nb_all(const nb_tensor *t);
NB_API nb_tensor *nb_any(const nb_tensor *t);
NB_API nb_tensor *nb_all_dims(const nb_tensor *t, nb_dims dims, bool keepdim);
NB_API nb_tensor *nb_any_dims(const nb_tensor *t, nb_dims dims, bool keepdim);
/* max / min over a dim list (empty: every dim), values only. The gradient
 * is shared evenly among the elements of each slice equal to its result;
 * a NaN result gives a NaN gradient (torch 1.13's amax / amin). Reducing
 * zero elements is NB_ERR_SHAPE. */
NB_API nb_tensor *nb_amax(const nb_tensor *t, nb_dims dims, bool keepdim);
NB_API nb_tensor *nb_amin(const nb_tensor *t, nb_dims dims, bool keepdim);
/* sum / mean taking NaNs as absent: nansum of integers is their sum
 * (int64); nanmean needs floats (NB_ERR_DTYPE) and gives NaN for a slice
 * of NaNs only. */
NB_API nb_tensor *nb_nansum(const nb_tensor *t);
NB_API nb_tensor *nb_nansum_dims(const nb_tensor *t, nb_dims dims, bool keepdim);
NB_API nb_tensor *nb_nanmean(const nb_tensor *t);
NB_API nb_tensor *nb_nanmean_dims(const nb_tensor *t, nb_dims dims, bool keepdim);
/* Running sum / product along dim; bool and integers give int64 (products
 * wrap like torch's). Floats accumulate in double. */
NB_API nb_tensor *nb_cumsum(const nb_tensor *t, int dim);
NB_API nb_tensor *nb_cumprod(const nb_tensor *t, int dim);
/* Running max / min along dim (same dtype), and, if indices != NULL, the
 * int64 position each value came from: ties move it to the later element;
 * once a NaN is met the values stay NaN (the position moves with each new
 * NaN), as torch 1.13. The gradient goes to those positions. */
NB_API nb_tensor *nb_cummax(const nb_tensor *t, int dim, nb_tensor **indices);
NB_API nb_tensor *nb_cummin(const nb_tensor *t, int dim, nb_tensor **indices);

/* ------------------------------------------------------------------------ */
/* Order statistics and counting                                             */
/* ------------------------------------------------------------------------ */
/* Made of sort, gather, cumsum, masked_select and scatter_add: they run
 * where those run. NaNs sort last. */

/* The lower median (for an even count, the smaller of the two middle
 * values); NaN if any element is NaN. nanmedian leaves NaNs out (NaN only
 * if all are). Integers allowed, bool is NB_ERR_DTYPE. Over every element:
 * 0-d, NaN for an empty float tensor, the gradient shared evenly among the
 * elements equal to the result (torch's MedianBackward0). Along dim: values
 * and, if indices != NULL, the int64 position of each (with a NaN: the
 * first NaN's); the gradient goes to that position; an empty dim is
 * NB_ERR_SHAPE. Among equal values the position is the first in sorted
 * (stable) order, which torch does not promise. */
NB_API nb_tensor *nb_median(const nb_tensor *t);
NB_API nb_tensor *nb_nanmedian(const nb_tensor *t);
NB_API nb_tensor *nb_median_dim(const nb_tensor *t, int dim, bool keepdim, nb_tensor **indices);
NB_API nb_tensor *nb_nanmedian_dim(const nb_tensor *t, int dim, bool keepdim, nb_tensor **indices);

/* How a quantile between two values is taken (torch's interpolation=). */
typedef enum {
    NB_QUANTILE_LINEAR,   /* a + (b - a) * fraction */
    NB_QUANTILE_LOWER,    /* a */
    NB_QUANTILE_HIGHER,   /* b */
    NB_QUANTILE_MIDPOINT, /* (a + b) / 2 */
    NB_QUANTILE_NEAREST   /* the nearer of a and b (half to even rank) */
} nb_quantile_interpolation;
/* The q-th quantile (q in [0, 1], else NB_ERR_ARG) of float t over one dim
 * (NB_DIMS(d)) or every element (an empty list), as torch.quantile: the
 * value at rank q (n - 1) of the sorted slice. A slice with a NaN gives
 * NaN; nanquantile leaves NaNs out. An empty t is NB_ERR_SHAPE. The
 * _tensor forms take q as a 0-d or 1-d tensor of t's dtype; a 1-d q adds a
 * leading dim of its length. Differentiable in t (through sort and
 * gather). */
NB_API nb_tensor *nb_quantile(const nb_tensor *t, double q, nb_dims dims, bool keepdim,
                              nb_quantile_interpolation mode);
NB_API nb_tensor *nb_nanquantile(const nb_tensor *t, double q, nb_dims dims, bool keepdim,
                                 nb_quantile_interpolation mode);
NB_API nb_tensor *nb_quantile_tensor(const nb_tensor *t, const nb_tensor *q, nb_dims dims, bool keepdim,
                                     nb_quantile_interpolation mode);
NB_API nb_tensor *nb_nanquantile_tensor(const nb_tensor *t, const nb_tensor *q, nb_dims dims, bool keepdim,
                                        nb_quantile_interpolation mode);

/* The distinct values of t's elements, sorted, 1-d; if inverse != NULL,
 * *inverse (int64, t's shape) gives each element's place among them, and
 * *counts (int64) how often each occurs. Always sorted (torch's
 * sorted=False may not be). NaNs are each distinct and come last (torch
 * 1.13 places them oddly). unique_consecutive only merges runs of equal
 * neighbours, without sorting. Not differentiable. */
NB_API nb_tensor *nb_unique(const nb_tensor *t, nb_tensor **inverse, nb_tensor **counts);
NB_API nb_tensor *nb_unique_consecutive(const nb_tensor *t, nb_tensor **inverse, nb_tensor **counts);
/* Occurrences of each value 0 .. max(t) of a 1-d tensor of non-negative
 * integers (length at least minlength); with weights (1-d, t's length),
 * their sums instead: float32 / float64 weights keep their dtype, any
 * other (halves, integers, bool) gives float64, and an empty t gives int64
 * zeros, as torch. Negative values are NB_ERR_ARG. Not differentiable. */
NB_API nb_tensor *nb_bincount(const nb_tensor *t, const nb_tensor *weights, int64_t minlength);
/* Histogram of float t in bins equal bins over [min, max] (min == max:
 * the data's range, widened by 1 each way if it is one value); values
 * outside, and NaNs, are left out; t's dtype. Not differentiable. */
NB_API nb_tensor *nb_histc(const nb_tensor *t, int64_t bins, double min, double max);
/* Stable softmax / log-softmax along dim. */
NB_API nb_tensor *nb_softmax(const nb_tensor *t, int dim);
NB_API nb_tensor *nb_log_softmax(const nb_tensor *t, int dim);

/* ------------------------------------------------------------------------ */
/* Linear algebra                                                            */
/* ------------------------------------------------------------------------ */

/* torch.matmul: 1-D·1-D is a dot product (0-d); 2-D·2-D a matrix product;
 * a 1-D operand is promoted to a matrix and the added dim removed after;
 * higher ranks are batched with broadcast batch dims. Float dtypes use GEMM
 * (OpenBLAS when built with it); transposed views reach GEMM without a copy. */
NB_API nb_tensor *nb_matmul(const nb_tensor *a, const nb_tensor *b);
NB_API nb_tensor *nb_mm(const nb_tensor *a, const nb_tensor *b);    /* 2-D only */
NB_API nb_tensor *nb_bmm(const nb_tensor *a, const nb_tensor *b);   /* 3-D only, same batch */
NB_API nb_tensor *nb_dot(const nb_tensor *a, const nb_tensor *b);   /* 1-D only */
/* 1-D x 1-D: a[i] * b[j], a broadcast multiply (dtypes promote, as torch). */
NB_API nb_tensor *nb_outer(const nb_tensor *a, const nb_tensor *b);

/* ------------------------------------------------------------------------ */
/* Linear algebra: products, norms, einsum and torch.linalg (issue 13)       */
/* ------------------------------------------------------------------------ */
/* Composites of the ops above (every device, every dtype they take):
 * beta * input + alpha * (m1 @ m2), input broadcast to the product's shape;
 * m1 (n, k) and m2 (k, p) for addmm, (b, n, k) and (b, k, p) for baddbmm.
 * m1 and m2 of one dtype, and input too for addmm (NB_ERR_DTYPE otherwise);
 * baddbmm converts input to m1's dtype, as torch 1.13 does. Integer
 * tensors truncate alpha and beta to integers, as torch. beta = 0 ignores
 * input (its NaNs do not propagate), as torch. */
NB_API nb_tensor *nb_addmm(const nb_tensor *input, const nb_tensor *m1, const nb_tensor *m2, double beta, double alpha);
NB_API nb_tensor *nb_baddbmm(const nb_tensor *input, const nb_tensor *b1, const nb_tensor *b2, double beta,
                             double alpha);
/* Kronecker product (torch.kron): the shorter shape is padded with leading
 * 1s; result dim i is a.shape[i] * b.shape[i]; dtypes promote. At most 4
 * dims (NB_ERR_SHAPE past that): the interleaved product it is computed as
 * has twice as many, and a tensor has at most NB_MAX_DIMS = 8. */
NB_API nb_tensor *nb_kron(const nb_tensor *a, const nb_tensor *b);
/* torch.linalg.cross: 3-vectors along dim (negative counts from the end)
 * of a and b broadcast together (same number of dims and one dtype, as
 * torch). Size != 3 at dim is NB_ERR_SHAPE; a bad dim NB_ERR_INDEX. */
NB_API nb_tensor *nb_linalg_cross(const nb_tensor *a, const nb_tensor *b, int dim);
/* torch.linalg.vector_norm: (sum |x|^ord)^(1/ord) over dims (empty: all),
 * INFINITY / -INFINITY max / min of |x|, 0 the count of nonzeros; float
 * tensors only (NB_ERR_DTYPE), NaN ord NB_ERR_ARG. */
NB_API nb_tensor *nb_linalg_vector_norm(const nb_tensor *t, double ord, nb_dims dims, bool keepdim);
/* torch.linalg.matrix_norm over the two dims (NB_DIMS(-2, -1) as torch's
 * default): Frobenius, nuclear (sum of singular values), 1 / -1 (max / min
 * column sum of |x|), INF / NEG_INF (max / min row sum), 2 / -2 (largest /
 * smallest singular value). NUC, 2 and -2 need LAPACK (NB_ERR_UNSUPPORTED
 * without). max / min over an empty dim is NB_ERR_SHAPE, as torch. */
typedef enum {
    NB_NORM_FRO,
    NB_NORM_NUC,
    NB_NORM_ONE,
    NB_NORM_NEG_ONE,
    NB_NORM_TWO,
    NB_NORM_NEG_TWO,
    NB_NORM_INF,
    NB_NORM_NEG_INF
} nb_matrix_norm_ord;
NB_API nb_tensor *nb_linalg_matrix_norm(const nb_tensor *t, nb_matrix_norm_ord ord, nb_dims dims, bool keepdim);
/* torch.einsum: "ij,jk->ik", or the implicit output "ij,jk" (the labels
 * seen once, sorted); a label repeated within one operand takes its
 * diagonal ("ii->i", "ii" is the trace); "..." stands for the same
 * broadcast dims in every operand. Lowercase and uppercase letters are
 * labels. Contracts pairwise, left to right, each pair one nb_matmul; all
 * operands of one dtype (NB_ERR_DTYPE). A malformed equation, a wrong
 * operand count or mismatched label sizes: NB_ERR_ARG / NB_ERR_SHAPE. */
NB_API nb_tensor *nb_einsum(const char *equation, nb_tensor *const *operands, int count);

/* torch.linalg through LAPACK (OpenBLAS's), float32 and float64 only
 * (NB_ERR_DTYPE), batched over leading dims: A is (*, m, n), square where
 * named so (NB_ERR_SHAPE otherwise). CPU only: a build without OpenBLAS,
 * or a CUDA tensor, gives NB_ERR_UNSUPPORTED (the message says why; move
 * the tensor with nb_to). Gradients as torch 1.13's formulas, recorded so
 * that second derivatives work. */
/* X with A X = B: B (*, n, k), or a batch of vectors (B 1-D, or B shaped as
 * A without its last dim); batch dims broadcast; dtypes must match. A
 * singular A is NB_ERR_ARG ("... is singular"), as torch raises. */
NB_API nb_tensor *nb_linalg_solve(const nb_tensor *A, const nb_tensor *B);
/* A^-1; singular: NB_ERR_ARG. */
NB_API nb_tensor *nb_linalg_inv(const nb_tensor *A);
/* Determinant (*); 0 for a singular A (no error). Gradient det(A) A^-T;
 * at an exactly singular A it is 0, as torch 1.13 gives (not the cofactor
 * matrix). */
NB_API nb_tensor *nb_linalg_det(const nb_tensor *A);
/* Sign (*) returned, log|det| (*) in *logabsdet (a new handle; gradient
 * A^-T; none flows through the sign). Singular: sign 0, logabsdet -inf;
 * its backward then fails (NB_ERR_ARG, singular) where torch gives +-inf. */
NB_API nb_tensor *nb_linalg_slogdet(const nb_tensor *A, nb_tensor **logabsdet);
/* L (lower) with A = L L^T, from A's lower triangle; upper: U = L^T from A's
 * upper triangle. Not positive-definite: NB_ERR_ARG, naming the minor. */
NB_API nb_tensor *nb_linalg_cholesky(const nb_tensor *A, bool upper);
/* Q returned, R in *R: reduced (Q (*, m, k), R (*, k, n), k = min(m, n)) or
 * complete (Q (*, m, m), R (*, m, n)). LAPACK's signs (geqrf), as torch.
 * No gradient for complete with m > n (NB_ERR_UNSUPPORTED in backward, as
 * torch). */
NB_API nb_tensor *nb_linalg_qr(const nb_tensor *A, bool complete, nb_tensor **R);
/* Eigenvalues (*, n) ascending, of the symmetric matrix in A's lower
 * triangle (upper: its upper one); eigenvectors (may be NULL) as columns
 * (*, n, n), each up to sign: a loss should not depend on the signs. */
NB_API nb_tensor *nb_linalg_eigh(const nb_tensor *A, bool upper, nb_tensor **eigenvectors);
NB_API nb_tensor *nb_linalg_eigvalsh(const nb_tensor *A, bool upper);
/* U returned, S (*, k) descending in *S, Vh in *Vh, with A = U diag(S) Vh:
 * U (*, m, k), Vh (*, k, n), or (*, m, m) and (*, n, n) with full_matrices.
 * Singular vectors are up to sign; repeated singular values make the
 * gradient of U and Vh infinite, as torch. */
NB_API nb_tensor *nb_linalg_svd(const nb_tensor *A, bool full_matrices, nb_tensor **S, nb_tensor **Vh);
NB_API nb_tensor *nb_linalg_svdvals(const nb_tensor *A);
/* The least-squares solution X (*, n, k) of A X = B, B (*, m, k) with as
 * many dims as A (batch dims broadcast) or a batch of vectors (*, m), of least
 * norm (LAPACK gelsd; singular values below eps * max(m, n) * the largest
 * count as zero, torch's default). Only the solution (torch's residuals,
 * rank and singular values are not returned); gradient as torch's, through
 * pinv(A). */
NB_API nb_tensor *nb_linalg_lstsq(const nb_tensor *A, const nb_tensor *B);
/* Moore-Penrose pseudo-inverse (*, n, m), through svd (torch's default
 * cutoff: singular values up to eps * max(m, n) * the largest are dropped). */
NB_API nb_tensor *nb_linalg_pinv(const nb_tensor *A);

/* ------------------------------------------------------------------------ */
/* Joining, splitting and indexing                                           */
/* ------------------------------------------------------------------------ */
/* Index tensors are int64. As in torch.gather / index_select / scatter, an
 * index must lie in [0, size): a negative one is NB_ERR_INDEX like any other
 * out-of-range index (it does not count from the end). */

NB_API nb_tensor *nb_cat(nb_tensor *const *tensors, int count, int dim);
NB_API nb_tensor *nb_stack(nb_tensor *const *tensors, int count, int dim);
/* Split into pieces of split_size along dim (the last may be smaller).
 * Writes up to capacity views to out and returns how many pieces there are,
 * or -1 on error. Call with capacity 0 to count. */
NB_API int64_t    nb_split(const nb_tensor *t, int64_t split_size, int dim,
                           nb_tensor **out, int64_t capacity);
/* Split into at most chunks pieces, as torch.chunk. Same return rule. */
NB_API int64_t    nb_chunk(const nb_tensor *t, int64_t chunks, int dim,
                           nb_tensor **out, int64_t capacity);
/* The slices of t along dim at index (0-d or 1-d, int64 or int32). */
NB_API nb_tensor *nb_index_select(const nb_tensor *t, int dim, const nb_tensor *index);
/* out[i][j] = t[index[i][j]][j] for dim 0, and so on (torch.gather). */
NB_API nb_tensor *nb_gather(const nb_tensor *t, int dim, const nb_tensor *index);
/* A copy of t with src written at index along dim (torch.scatter), or added
 * there (torch.scatter_add). index may be smaller than src in any dim (down
 * to empty); the elements of src it does not reach get a zero gradient.
 * NOTE: nabla deliberately differs from torch 1.13 there, whose backward
 * fails ("invalid gradient ... got [0, 4] but expected [3, 4]"). */
NB_API nb_tensor *nb_scatter(const nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src);
NB_API nb_tensor *nb_scatter_add(const nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src);
/* In-place forms: write into t; return t itself. */
NB_API nb_tensor *nb_scatter_(nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src);
NB_API nb_tensor *nb_scatter_add_(nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src);
/* value (converted to t's dtype; NB_ERR_ARG if it overflows it, where
 * uint8 takes the whole numbers -255..-1 as torch's int value does, wrapped
 * to 1..255) where mask (bool) is true; t and mask broadcast together, as
 * torch's masked_fill. */
NB_API nb_tensor *nb_masked_fill(const nb_tensor *t, const nb_tensor *mask, double value);
/* 1-D tensor of the elements where mask is true, in row-major order of the
 * broadcast shape. NOTE: nabla deliberately differs from torch 1.13 in the
 * gradient for a non-contiguous t: torch puts it back in memory order (its
 * own gradcheck fails), nabla where each element came from. */
NB_API nb_tensor *nb_masked_select(const nb_tensor *t, const nb_tensor *mask);
/* (count, ndim) int64 coordinates of nonzero elements, row-major order. */
NB_API nb_tensor *nb_nonzero(const nb_tensor *t);

/* Index expressions, as PyTorch's t[...]: a list of items, each an integer
 * (NB_AT(i): selects, the dim goes; negative counts from the end), a slice
 * (NB_SLICE(start, stop, step): Python's start:stop:step, negative bounds
 * from the end, out-of-range bounds clamp, step > 0; NB_ALL for ":"),
 * NB_NEWAXIS (None: a new dim of size 1), NB_ELLIPSIS ("...": the dims no
 * other item takes; at most one), or a tensor (NB_WITH(t)): int64 indices
 * (negative from the end, broadcast together with the other index
 * tensors; a 0-d one acts as an integer, NB_AT, as torch takes it), or a
 * bool / uint8 mask covering as many dims as it has (its
 * nonzero positions; a 0-d mask adds a dim of size 1 or 0). Example:
 *   nb_index(x, NB_INDEX(NB_SLICE(1, NB_END, 2), NB_ELLIPSIS, NB_WITH(idx)))
 * Index tensors pick elements as numpy and torch do: their broadcast shape
 * takes the place of the dims they index when those are neighbours, else
 * it comes first. Errors: too many items, an index out of range
 * (NB_ERR_INDEX, naming it), a mask whose shape does not match the dims it
 * covers, index tensors of another dtype (int32 too, as torch 1.13). */
#define NB_MAX_INDEX_ITEMS 16
typedef enum { NB_INDEX_INT, NB_INDEX_SLICE, NB_INDEX_NONE, NB_INDEX_ELLIPSIS, NB_INDEX_TENSOR } nb_index_kind;
typedef struct {
    nb_index_kind    kind;
    int64_t          start, stop, step; /* NB_INDEX_INT: start is the index */
    const nb_tensor *tensor;
} nb_index_item;
typedef struct {
    int           n;
    nb_index_item items[NB_MAX_INDEX_ITEMS];
} nb_index_list;
#define NB_AT(i)                   ((nb_index_item){ .kind = NB_INDEX_INT, .start = (i) })
#define NB_SLICE(start_, stop_, step_) \
    ((nb_index_item){ .kind = NB_INDEX_SLICE, .start = (start_), .stop = (stop_), .step = (step_) })
#define NB_ALL                     NB_SLICE(0, NB_END, 1)
#define NB_NEWAXIS                 ((nb_index_item){ .kind = NB_INDEX_NONE })
#define NB_ELLIPSIS                ((nb_index_item){ .kind = NB_INDEX_ELLIPSIS })
#define NB_WITH(t)                 ((nb_index_item){ .kind = NB_INDEX_TENSOR, .tensor = (t) })
#define NB_INDEX(...)                                                                      \
    ((nb_index_list){ .n = (int)(sizeof((nb_index_item[]){ __VA_ARGS__ }) / sizeof(nb_index_item)), \
                      .items = { __VA_ARGS__ } })
/* t[list]: a view when the list has no index tensors (t[...] an alias),
 * else a new tensor; differentiable (repeated indices add up). */
NB_API nb_tensor *nb_index(const nb_tensor *t, nb_index_list list);
/* t[list] = values (accumulate: +=), values broadcast to the shape
 * nb_index would give and converted to t's dtype. With repeated indices
 * and no accumulate, the last write wins. nb_index_put returns a new
 * tensor; nb_index_put_ writes into t and returns t. Differentiable in t
 * (the overwritten elements get no gradient) and in values. */
NB_API nb_tensor *nb_index_put(const nb_tensor *t, nb_index_list list, const nb_tensor *values, bool accumulate);
NB_API nb_tensor *nb_index_put_(nb_tensor *t, nb_index_list list, const nb_tensor *values, bool accumulate);
/* int64 classes -> int64 one-hot, one more dim of size num_classes
 * (-1: max + 1). */
NB_API nb_tensor *nb_one_hot(const nb_tensor *t, int64_t num_classes);
/* Sorted values along dim (stable; NaN sorts as largest); int64 positions
 * in *indices if indices != NULL. */
NB_API nb_tensor *nb_sort(const nb_tensor *t, int dim, bool descending, nb_tensor **indices);
/* The k largest (or smallest) along dim, sorted; among equal values the
 * earliest comes first. k outside [0, size] is NB_ERR_ARG. */
NB_API nb_tensor *nb_topk(const nb_tensor *t, int64_t k, int dim, bool largest, nb_tensor **indices); /* not bool */

/* ------------------------------------------------------------------------ */
/* Shape and index ops (issue 13): flip, roll, movedim, unbind, tril/triu,   */
/* trace, repeat, tile, repeat_interleave, tensor_split, meshgrid, diag,     */
/* diag_embed, atleast_Nd, h/v/dstack, take_along_dim, index_add / _copy /   */
/* _fill                                                                     */
/* ------------------------------------------------------------------------ */
/* PyTorch 1.13 semantics. Views where torch returns views (movedim,
 * swapaxes, unbind, tensor_split, meshgrid, atleast_Nd: they share t's
 * storage, as the views above); every other op here returns a new tensor. All take every
 * dtype unless said otherwise. Dims wrap as usual (NB_ERR_INDEX when out of
 * range); a NULL tensor is NB_ERR_ARG (an error already pending is kept), a
 * freed one NB_ERR_STATE; inputs on different devices are NB_ERR_DEVICE.
 * Results are new handles the caller owns; inputs are borrowed. The
 * gradients and grad_fn names are torch's, except that each piece of
 * nb_unbind is its own select view (SelectBackward0, torch UnbindBackward0). */

/* t reversed along each of dims (a copy, as torch.flip). A repeated dim is
 * NB_ERR_ARG. */
NB_API nb_tensor *nb_flip(const nb_tensor *t, nb_dims dims);
/* t rolled by shifts.dims[i] along dims.dims[i] (elements leaving the end
 * come back at the start; negative shifts roll the other way). dims.n == 0
 * rolls the flattened tensor by the one shift and restores the shape.
 * shifts.ndim != dims.n (or != 1 with no dims) is NB_ERR_ARG. A copy. */
NB_API nb_tensor *nb_roll(const nb_tensor *t, nb_shape shifts, nb_dims dims);
/* A view with dims source.dims[i] moved to destination.dims[i], the others
 * in their order (torch.movedim). Lists of unequal length or with a
 * repeated dim are NB_ERR_ARG. nb_moveaxis is the same function. */
NB_API nb_tensor *nb_movedim(const nb_tensor *t, nb_dims source, nb_dims destination);
NB_API nb_tensor *nb_moveaxis(const nb_tensor *t, nb_dims source, nb_dims destination);
/* nb_transpose under numpy's names (torch.swapaxes / swapdims): a view. */
NB_API nb_tensor *nb_swapaxes(const nb_tensor *t, int dim0, int dim1);
NB_API nb_tensor *nb_swapdims(const nb_tensor *t, int dim0, int dim1);
/* The views t[.., i, ..] along dim, i = 0 .. size - 1, as torch.unbind.
 * Same return rule as nb_split: writes up to capacity views to out and
 * returns the size of dim, or -1 on error (a 0-d t: NB_ERR_SHAPE). */
NB_API int64_t    nb_unbind(const nb_tensor *t, int dim, nb_tensor **out, int64_t capacity);
/* The lower (tril: j - i <= diagonal) or upper (triu: j - i >= diagonal)
 * triangle of the last two dims, zeros elsewhere; batched over the leading
 * dims. Fewer than 2 dims: NB_ERR_SHAPE. */
NB_API nb_tensor *nb_tril(const nb_tensor *t, int64_t diagonal);
NB_API nb_tensor *nb_triu(const nb_tensor *t, int64_t diagonal);
/* The sum of a matrix's main diagonal, 0-d; integer dtypes give int64 as
 * torch.trace. Not 2-d: NB_ERR_SHAPE; bool: NB_ERR_DTYPE. */
NB_API nb_tensor *nb_trace(const nb_tensor *t);
/* t repeated sizes.dims[i] times along dim i (torch's Tensor.repeat):
 * sizes may have more dims than t (t gets leading size-1 dims), not fewer
 * (NB_ERR_SHAPE); a negative size is NB_ERR_SHAPE. A copy. */
NB_API nb_tensor *nb_repeat(const nb_tensor *t, nb_shape sizes);
/* As nb_repeat, but sizes shorter than t's dims count from the last dim
 * (leading 1s are added), as torch.tile. */
NB_API nb_tensor *nb_tile(const nb_tensor *t, nb_shape sizes);
/* Each slice of t along dim repeated `repeats` times in place (torch.
 * repeat_interleave): [a, b] -> [a, a, b, b]. repeats < 0: NB_ERR_ARG.
 * torch's dim=None is nb_repeat_interleave(nb_flatten(t, 0, -1), r, 0). */
NB_API nb_tensor *nb_repeat_interleave(const nb_tensor *t, int64_t repeats, int dim);
/* The same with a repeat count per slice: repeats is an int64 or int32
 * tensor of 0 or 1 dims holding one count (used for every slice) or one
 * per slice of dim (NB_ERR_SHAPE otherwise); a negative count is NB_ERR_ARG.
 * output_size is the total length when known (-1: computed); a different
 * total is NB_ERR_SHAPE. repeats is read on the host. */
NB_API nb_tensor *nb_repeat_interleave_tensor(const nb_tensor *t, const nb_tensor *repeats, int dim,
                                              int64_t output_size);
/* Views of t split along dim into `sections` pieces whose sizes differ by
 * at most one (the first size % sections are one longer), as torch.
 * tensor_split; sections < 1 is NB_ERR_ARG. Same return rule as nb_split
 * (returns sections). A 0-d t is NB_ERR_SHAPE. */
NB_API int64_t    nb_tensor_split(const nb_tensor *t, int64_t sections, int dim, nb_tensor **out,
                                  int64_t capacity);
/* Views of t cut before each of indices[0 .. count) along dim: count + 1
 * pieces t[:i0], t[i0:i1], .., t[i_last:], with Python's slice rules
 * (negative indices count from the end, out of range clamps, a piece whose
 * end comes before its start is empty). Returns count + 1 (same rule). */
NB_API int64_t    nb_tensor_split_indices(const nb_tensor *t, const int64_t *indices, int count, int dim,
                                          nb_tensor **out, int64_t capacity);
/* count 0-d or 1-d tensors (same dtype and device) expanded to one grid:
 * out[i] (count handles, views of tensors[i]) has shape (n0, n1, ..) with
 * tensors[i]'s values along dim i. indexing "ij" as above, "xy" swaps the
 * first two dims (numpy's default); anything else is NB_ERR_ARG. At most
 * NB_MAX_DIMS tensors. On error out[0 .. count) are NULL (out is not
 * touched when count itself is wrong). */
NB_API nb_status  nb_meshgrid(nb_tensor *const *tensors, int count, const char *indexing, nb_tensor **out);
/* torch.diag: a 1-d t gives the square matrix with t on diagonal `diagonal`
 * (> 0 above the main one); a 2-d t gives a copy of that diagonal. Other
 * ranks: NB_ERR_SHAPE. */
NB_API nb_tensor *nb_diag(const nb_tensor *t, int64_t diagonal);
/* torch.diag_embed: t's last dim placed on the diagonal (offset) of dims
 * dim1 and dim2 of a new tensor of one more dim (dims counted in the
 * result; equal dims: NB_ERR_ARG), zeros elsewhere. */
NB_API nb_tensor *nb_diag_embed(const nb_tensor *t, int64_t offset, int dim1, int dim2);
/* Views of t with at least 1, 2 or 3 dims, as torch.atleast_1d/2d/3d: a
 * 0-d t becomes (1), (1, 1) or (1, 1, 1); a 1-d (n) becomes (1, n) or
 * (1, n, 1); a 2-d (m, n) becomes (m, n, 1); a t with enough dims is
 * returned as a new handle to itself. */
NB_API nb_tensor *nb_atleast_1d(const nb_tensor *t);
NB_API nb_tensor *nb_atleast_2d(const nb_tensor *t);
NB_API nb_tensor *nb_atleast_3d(const nb_tensor *t);
/* torch.hstack / vstack / dstack: nb_cat of the tensors made at least 1-d
 * (along dim 0 when they are 1-d, else 1), at least 2-d (dim 0), at least
 * 3-d (dim 2). nb_cat's rules and errors apply; an empty list is NB_ERR_ARG. */
NB_API nb_tensor *nb_hstack(nb_tensor *const *tensors, int count);
NB_API nb_tensor *nb_vstack(nb_tensor *const *tensors, int count);
NB_API nb_tensor *nb_dstack(nb_tensor *const *tensors, int count);
/* torch.take_along_dim: t and indices (int64, same number of dims, else
 * NB_ERR_SHAPE / NB_ERR_DTYPE) broadcast together outside dim, then
 * gathered along dim. An index outside [0, size) is NB_ERR_INDEX. */
NB_API nb_tensor *nb_take_along_dim(const nb_tensor *t, const nb_tensor *indices, int dim);
/* A copy of t with alpha * source[.., i, ..] added to t[.., index[i], ..]
 * along dim (torch.index_add); repeated indices all add, in order (the
 * result is deterministic). index: int64 or int32, 0-d or 1-d, each in
 * [0, size) (else NB_ERR_INDEX); source: t's dtype (NB_ERR_DTYPE) and
 * shape except along dim, where it has index's length (NB_ERR_SHAPE). For
 * integer t, alpha is truncated to an integer as torch does. */
NB_API nb_tensor *nb_index_add(const nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *source,
                               double alpha);
/* A copy of t with source's slices written at index along dim (torch.
 * index_copy); index is int64 only. Same checks as nb_index_add. With a
 * repeated index the last slice written wins. */
NB_API nb_tensor *nb_index_copy(const nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *source);
/* A copy of t with the slices at index along dim set to value (torch.
 * index_fill): index is int64, 0-d or 1-d, in [-size, size) (negative ones
 * count from the end, as torch's index_fill); value converts as in
 * nb_masked_fill (NB_ERR_ARG where it overflows t's dtype). */
NB_API nb_tensor *nb_index_fill(const nb_tensor *t, int dim, const nb_tensor *index, double value);
/* In-place forms: write into t and return t itself; t unchanged on error.
 * An expanded t (elements sharing memory) is NB_ERR_ARG. */
NB_API nb_tensor *nb_index_add_(nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *source,
                                double alpha);
NB_API nb_tensor *nb_index_copy_(nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *source);
NB_API nb_tensor *nb_index_fill_(nb_tensor *t, int dim, const nb_tensor *index, double value);

/* ------------------------------------------------------------------------ */
/* Conversion and devices                                                    */
/* ------------------------------------------------------------------------ */

/* A copy converted to dtype (floats to integers truncate toward zero; to
 * bool is "nonzero"); a new handle to t when the dtype is already dtype. */
NB_API nb_tensor *nb_to_dtype(const nb_tensor *t, nb_dtype dtype);
/* A copy on device (a new handle to t when already there). Differentiable:
 * the gradient goes back to t's device. */
NB_API nb_tensor *nb_to(const nb_tensor *t, nb_device device);
/* "cpu", "cuda", "cuda:1" (case-sensitive, as torch.device) into *device;
 * NB_ERR_ARG for anything else. It names a device; whether this build and
 * machine have it is for the op that uses it to say. */
NB_API nb_status  nb_device_parse(const char *text, nb_device *device);

/* CUDA. A build without the CUDA backend, or a machine without a driver or
 * a GPU, has no CUDA device: nb_cuda_is_available() is false, the count is
 * 0, and an op asked for one gives NB_ERR_DEVICE. */
NB_API bool      nb_cuda_is_available(void);
NB_API int       nb_cuda_device_count(void);
/* Wait for every queued GPU kernel to finish (timing; reading device memory
 * through nabla waits by itself). NB_ERR_DEVICE if a kernel failed. */
NB_API nb_status nb_cuda_synchronize(void);
/* Give the GPU memory that nabla's allocator keeps for reuse back to the
 * driver (what torch.cuda.empty_cache does). */
NB_API void      nb_cuda_empty_cache(void);
typedef struct {
    size_t allocated;      /* bytes in live tensors (rounded to blocks)      */
    size_t reserved;       /* allocated + kept for reuse                     */
    size_t peak_allocated; /* most allocated since start or the last reset   */
} nb_cuda_memory_stats;
/* Statistics of device index; NB_ERR_DEVICE if there is no such device. */
NB_API nb_status nb_cuda_memory(int index, nb_cuda_memory_stats *stats);
NB_API nb_status nb_cuda_reset_peak_memory(int index);

/* ------------------------------------------------------------------------ */
/* Printing                                                                  */
/* ------------------------------------------------------------------------ */

/* The text torch prints for t ("tensor([[1., 2.],\n        [3., 4.]])"),
 * summarised with "..." past 1000 elements. Caller frees with
 * nb_string_free. NULL on error. */
NB_API char *nb_to_string(const nb_tensor *t);
NB_API void  nb_string_free(char *s);
/* Print nb_to_string(t) and a newline to stdout / to f. */
NB_API nb_status nb_print(const nb_tensor *t);
NB_API nb_status nb_fprint(FILE *f, const nb_tensor *t);

/* ------------------------------------------------------------------------ */
/* Automatic differentiation                                                 */
/* ------------------------------------------------------------------------ */
/* An op whose input requires grad records a node of the backward graph in
 * its output (while grad mode is on); nb_backward walks the graph from a
 * result back to the leaves (tensors made by the user with requires_grad)
 * and accumulates (+=) gradients into their grad. The graph holds
 * references to what backward needs, so freeing a user's handle never
 * breaks a pending backward; it is released after backward unless
 * retain_graph. Backward formulas are written with nb_* ops, so with
 * create_graph the backward pass is itself recorded and can be
 * differentiated again. */

/* Make t (a leaf) start or stop requiring grad. Integer and bool tensors
 * cannot require grad (NB_ERR_DTYPE); a non-leaf cannot stop (NB_ERR_STATE:
 * use nb_detach). */
NB_API nb_status  nb_requires_grad_(nb_tensor *t, bool requires_grad);
/* True for tensors not produced by a recorded op: user-made tensors, and
 * results computed while grad mode was off or from inputs needing no grad. */
NB_API bool       nb_is_leaf(const nb_tensor *t);
/* The accumulated gradient of t, or NULL if none. Borrowed: valid until t is
 * freed or its grad is replaced (nb_zero_grad, nb_set_grad); clone it to keep
 * it. Non-leaf tensors have one only after nb_retain_grad. */
NB_API nb_tensor *nb_grad(const nb_tensor *t);
/* Replace t's gradient with a copy of grad (NULL clears it). The shape must
 * match t's. */
NB_API nb_status  nb_set_grad(nb_tensor *t, const nb_tensor *grad);
/* Keep the gradient of a non-leaf tensor at the next backward. */
NB_API nb_status  nb_retain_grad(nb_tensor *t);
/* A new handle sharing t's storage, outside the graph (requires no grad). */
NB_API nb_tensor *nb_detach(const nb_tensor *t);
/* The name of the backward node that made t, as PyTorch prints it
 * ("MulBackward0", "MmBackward0", "CopySlices"), or NULL for a leaf. A
 * static string. */
NB_API const char *nb_grad_fn_name(const nb_tensor *t);
/* scripts/print_grad_fn_names.py prints PyTorch's names. Where nabla's node
 * has no PyTorch twin the names differ: nb_linear of a non-2-D x keeps AddmmBackward0 / MmBackward0
 * (torch ends in a view); a mean- or sum-reduced nb_binary_cross_entropy
 * ends in MeanBackward0 / SumBackward0 (torch: BinaryCrossEntropyBackward0);
 * conv_transpose2d is ConvolutionBackward0 also where it is conv2d's input
 * gradient (torch: ConvolutionBackwardBackward0). */

/* In-place ops and views follow PyTorch's rules:
 * - An op records the history its inputs had when it ran. A later in-place
 *   op on an input gives that tensor a new history without changing the
 *   gradient of ops that used its old value; if such an op saved the old
 *   value for its backward, backward fails (NB_ERR_STATE, the version check).
 * - An in-place op on a view (nb_select(buf, 0), nb_narrow, nb_transpose, ...)
 *   rewrites the history of the tensor it views ("CopySlices"): filling a
 *   preallocated buffer slice by slice from tensors that require grad makes
 *   the buffer require grad, and its gradient flows to each slice's source.
 *   Other views of that tensor follow its new history ("AsStridedBackward0").
 * - In-place ops on a leaf that requires grad, or on a view of one, are
 *   refused (NB_ERR_STATE) unless grad mode is off; so is writing, with
 *   grad mode on, a view made while it was off.
 * - An in-place op whose operand shares memory with the written tensor in
 *   another layout (nb_add_(a, nb_t(a))) is refused (NB_ERR_ARG): the result
 *   would depend on the order elements are visited. Clone the operand.
 * - An op that returns its input in PyTorch (nb_contiguous of a contiguous
 *   tensor, nb_to_dtype to the same dtype, nb_dropout in eval) returns a new
 *   handle to the same tensor: same history, and for a leaf the same grad. */

/* Gradient hooks (torch.Tensor.register_hook). During backward, fn is
 * called with the gradient of t (borrowed) before it is accumulated into
 * t's grad (a leaf) or passed on to the ops that made t. To replace the
 * gradient, set *replacement to a new tensor of the same shape and dtype
 * (its handle is taken over); leave it NULL to keep grad. A status other
 * than NB_OK stops the backward pass with that status. Hooks run in the
 * order they were registered, with grad mode on only under create_graph. */
typedef nb_status (*nb_grad_hook)(const nb_tensor *grad, nb_tensor **replacement, void *user);
/* NOTE: a leaf's hooks also run in nb_grad_of, as PyTorch documents;
 * torch 1.13's autograd.grad skips them. */
/* Returns an id (> 0) for nb_remove_hook, or -1: t needs no grad
 * (NB_ERR_STATE), out of memory. A hook of a non-leaf stays with the node
 * that made t, so it sees the gradient of the value t had when registered. */
NB_API int64_t   nb_register_hook(nb_tensor *t, nb_grad_hook fn, void *user);
/* Remove a hook registered on t; NB_ERR_ARG when t has no hook with id. */
NB_API nb_status nb_remove_hook(nb_tensor *t, int64_t id);

/* Anomaly detection (torch.autograd.set_detect_anomaly), off by default,
 * for the whole process. While on, every backward formula's result is
 * checked: a NaN or infinite gradient stops backward with NB_ERR_STATE
 * naming the backward node, the input it was computing, and the op that
 * recorded the node (which forward op it was, counted from when detection
 * was turned on, or which backward node recorded it under create_graph).
 * Checking costs a reduction per gradient: use it to find a bug. */
NB_API void nb_set_detect_anomaly(bool enabled);
NB_API bool nb_is_anomaly_enabled(void);

/* Custom differentiable functions (torch.autograd.Function): you give the
 * forward and the backward, nabla records one node for them. */
typedef struct nb_function_ctx nb_function_ctx;
typedef struct {
    const char *name; /* the node's name ("MyFnBackward"); a static string */
    /* Compute outputs[0..n_outputs) from the inputs with any nb_* ops; runs
     * with grad mode off. Each output is a new tensor, or an input that
     * forward changed in place and marked dirty (then give that input's
     * pointer; apply returns a new handle to it). */
    nb_status (*forward)(nb_function_ctx *ctx, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                         int n_outputs);
    /* Gradients of the inputs from the gradients of the outputs: set
     * grad_inputs[i] to a new tensor of input i's shape, or leave it NULL
     * (no gradient). Missing output gradients are zeros unless
     * nb_ctx_set_materialize_grads(ctx, false) (then NULL). Written with
     * nb_* ops, it is differentiable again under create_graph. */
    nb_status (*backward)(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                          nb_tensor **grad_inputs, int n_inputs);
} nb_function_def;
/* Run def->forward on inputs and record its node when grad mode is on and
 * an input requires grad. outputs[0..n_outputs) receive new handles (NULL
 * on error). user is passed through to nb_ctx_user. Errors: what forward
 * returned; an output that is not a tensor, or an input given as an output
 * without being marked dirty (NB_ERR_ARG); dirty leaves that require grad
 * (NB_ERR_STATE). */
NB_API nb_status nb_function_apply(const nb_function_def *def, nb_tensor *const *inputs, int n_inputs,
                                   nb_tensor **outputs, int n_outputs, void *user);
/* The user pointer given to nb_function_apply. */
NB_API void      *nb_ctx_user(const nb_function_ctx *ctx);
/* Keep tensors (inputs, outputs or others) for backward; the version check
 * refuses a backward after one of them is changed in place. Call once, in
 * forward. */
NB_API nb_status  nb_ctx_save_for_backward(nb_function_ctx *ctx, nb_tensor *const *tensors, int count);
/* Saved tensor index (borrowed, valid during backward), NULL when out of
 * range (NB_ERR_INDEX) or after the graph was freed. */
NB_API nb_tensor *nb_ctx_saved(const nb_function_ctx *ctx, int index);
/* Whether input index required grad when the function ran (false with
 * NB_ERR_INDEX for an index out of range). */
NB_API bool       nb_ctx_needs_input_grad(const nb_function_ctx *ctx, int index);
/* In forward: output is not differentiable (indices, masks): it requires
 * no grad, and its gradient in backward is always NULL/zeros. */
NB_API nb_status  nb_ctx_mark_non_differentiable(nb_function_ctx *ctx, const nb_tensor *output);
/* In forward: input (one of the function's inputs, else NB_ERR_ARG) was
 * changed in place (torch's mark_dirty). */
NB_API nb_status  nb_ctx_mark_dirty(nb_function_ctx *ctx, const nb_tensor *input);
NB_API void       nb_ctx_set_materialize_grads(nb_function_ctx *ctx, bool materialize);

/* Options of a backward pass; the zero value is PyTorch's default. */
typedef struct {
    int  reserved_;    /* lets NB_GRAD_OPTS() be empty; leave it zero */
    bool retain_graph; /* keep the graph for another backward           */
    bool create_graph; /* record the backward pass (higher-order grads) */
    bool allow_unused; /* nb_grad_of: NULL grads for unreachable inputs */
} nb_grad_opts;
#define NB_GRAD_OPTS(...) ((nb_grad_opts){ .reserved_ = 0, __VA_ARGS__ })

/* Backward from a one-element tensor (grad_output 1). Errors: t does not
 * require grad (NB_ERR_STATE), t has more than one element (NB_ERR_SHAPE),
 * the graph was already freed by an earlier backward (NB_ERR_STATE, retain
 * it), a tensor saved for backward was changed in place (NB_ERR_STATE,
 * naming the op), called inside no-grad with create_graph (NB_ERR_STATE). */
NB_API nb_status nb_backward(nb_tensor *t);
/* Backward from t with an explicit gradient of t's shape, dtype and device
 * (NULL allowed only for one-element t). */
NB_API nb_status nb_backward_with(nb_tensor *t, const nb_tensor *grad_output, nb_grad_opts opts);
/* torch.autograd.grad: gradients of the outputs with respect to inputs,
 * written as new handles to grads_out[0..n_inputs); nothing is accumulated
 * into .grad. grad_outputs may be NULL (ones, for one-element outputs) or
 * hold NULL entries. An input the outputs do not depend on is NB_ERR_STATE
 * unless allow_unused (then its grad is NULL). */
NB_API nb_status nb_grad_of(nb_tensor *const *outputs, int n_outputs, nb_tensor *const *inputs, int n_inputs,
                            nb_tensor *const *grad_outputs, nb_grad_opts opts, nb_tensor **grads_out);
/* Set the gradient of each tensor to NULL (PyTorch's set_to_none). */
NB_API void      nb_zero_grad(nb_tensor *const *tensors, int count);

/* Grad mode, per thread and nestable: inside nb_no_grad_begin/end nothing is
 * recorded (results require no grad); nb_enable_grad_begin/end turns it
 * back on inside a no-grad region. *_end without a begin: NB_ERR_STATE. */
NB_API nb_status nb_no_grad_begin(void);
NB_API nb_status nb_no_grad_end(void);
NB_API nb_status nb_enable_grad_begin(void);
NB_API nb_status nb_enable_grad_end(void);
NB_API bool      nb_is_grad_enabled(void);

/* A function of tensors for nb_gradcheck: returns a new tensor (its own
 * handle), computed from inputs with nb_* ops, or NULL on error. */
typedef nb_tensor *(*nb_function)(nb_tensor *const *inputs, int count, void *user);
/* Tolerances; zero fields take PyTorch's defaults (eps 1e-6, atol 1e-5,
 * rtol 1e-3). */
typedef struct {
    int    reserved_;
    double eps;
    double atol;
    double rtol;
} nb_gradcheck_opts;
#define NB_GRADCHECK_OPTS(...) ((nb_gradcheck_opts){ .reserved_ = 0, __VA_ARGS__ })
/* Compare the gradient of f computed by backward with central finite
 * differences, for every element of every input that requires grad (inputs
 * should be float64). NB_OK when they agree; NB_ERR_STATE with the first
 * mismatch (output element, input, element, both values) otherwise. The
 * inputs' values are perturbed during the check and restored. */
NB_API nb_status nb_gradcheck(nb_function f, nb_tensor *const *inputs, int count, void *user,
                              nb_gradcheck_opts opts);
/* The same for second derivatives: checks the gradient of
 * nb_grad_of(f(inputs), inputs, v, create_graph) against finite differences,
 * with a random v. */
NB_API nb_status nb_gradgradcheck(nb_function f, nb_tensor *const *inputs, int count, void *user,
                                  nb_gradcheck_opts opts);

/* Write the backward graph ending at t as Graphviz DOT: a node per backward
 * op (name, output shape and dtype) and per leaf that requires grad. */
NB_API nb_status nb_graph_dot(const nb_tensor *t, FILE *f);

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

/* NumPy .npy files: versions 1.0, 2.0 and 3.0, C or Fortran order, little- or
 * big-endian. Any dtype above but bfloat16 (f2, f4, f8, i1, i2, i4, i8, u1,
 * b1); others are NB_ERR_DTYPE. numpy has no bfloat16: nb_save_npy of one is
 * NB_ERR_DTYPE (convert to float32, which holds it exactly, or use
 * safetensors). Malformed files are NB_ERR_IO with the reason. */
NB_API nb_tensor *nb_load_npy(const char *path);
NB_API nb_status  nb_save_npy(const nb_tensor *t, const char *path);

#ifdef __cplusplus
}
#endif

/* Layers, losses, modules, optimizers, model files and data loading. */
#include "nabla/nn.h"
/* Processes and collectives (MPI), data-parallel training. */
#include "nabla/dist.h"

#endif /* NABLA_H */
