/*
 * backend.h — the device seam. Each kind of device fills one nbi_backend:
 * how to allocate, release and copy its memory, and one entry per kernel
 * family. Everything above core (ops/, nn/, autograd/) runs kernels only
 * through the table of its tensors' device (nbi_backend_of), never by
 * calling a device's kernels by name. Adding a device is adding a table,
 * not editing ops (PyTorch's DispatchStub, ggml's ggml_backend_i).
 *
 * The contract between an op and a kernel:
 * - The op checks everything (shapes, dtypes, devices, overlap), makes the
 *   outputs on the device and records autograd. A kernel only computes.
 * - Kernels take device-neutral descriptions: an nbi_iter (shapes, byte
 *   strides, base pointers) or a family's shape struct plus raw pointers.
 *   Pointers are memory of the backend that runs the kernel.
 * - An entry returning void cannot fail. One returning nb_status fails only
 *   for resources (memory, a vendor library's error) and has recorded the
 *   message with nbi_fail.
 * - Results must not depend on the thread count or timing (the CPU's
 *   determinism rule); a GPU kernel reduces in a fixed order too.
 * - supports(family, op, dtype) says whether an entry exists for that op
 *   and dtype; nbi_check_supported turns "no" into NB_ERR_UNSUPPORTED with
 *   a message, so an op never jumps into a missing kernel.
 *
 * The families' descriptions live in their own headers below core
 * (iter.h, reduce_args.h, ...); this header only gathers them into the table.
 */
#ifndef NABLA_BACKEND_H
#define NABLA_BACKEND_H

#include "attention_args.h"
#include "conv_args.h"
#include "creation_args.h"
#include "formulas.h"
#include "index_args.h"
#include "internal.h"
#include "iter.h"
#include "lapack_args.h"
#include "loss_args.h"
#include "matmul_args.h"
#include "norm_args.h"
#include "op_ids.h"
#include "optim_args.h"
#include "pool_args.h"
#include "reduce_args.h"
#include "rnn_args.h"
#include "sort_args.h"

typedef enum {
    NBI_FAMILY_UNARY,  /* op: nbi_unary_op, dtype: the input's           */
    NBI_FAMILY_BINARY, /* op: nbi_binary_op, dtype: the computing dtype  */
    NBI_FAMILY_WHERE,  /* op: 0, dtype: of the values                    */
    NBI_FAMILY_CAST,   /* op: the source dtype, dtype: the target's      */
    NBI_FAMILY_RELU_BACKWARD,
    /* ---- creation, indexing, sorting, joining ---- */
    NBI_FAMILY_FILL,   /* op: 0, dtype: the filled tensor's              */
    NBI_FAMILY_RANGE,  /* op: nbi_range_kind, dtype: the output's        */
    NBI_FAMILY_RANDOM, /* op: nbi_random_kind, dtype: the output's       */
    NBI_FAMILY_INDEX,  /* op: nbi_index_op, dtype: the indexed tensor's  */
    NBI_FAMILY_SORT,   /* op: 0, dtype: the sorted tensor's              */
    /* (cat and stack copy each input with NBI_FAMILY_CAST) */

    /* ---- reductions and line ops (softmax, cumsum) ---- */
    NBI_FAMILY_REDUCE, /* op: nbi_reduce_op, dtype: the input's           */
    NBI_FAMILY_LINE,   /* op: nbi_line_op, dtype: the input's             */

    /* ---- matmul, convolution, pooling, normalisation ---- */
    NBI_FAMILY_MATMUL,     /* op: nbi_matmul_op, dtype: of both operands    */
    NBI_FAMILY_CONV,       /* op: nbi_conv_op, dtype: of the data           */
    NBI_FAMILY_POOL,       /* op: nbi_pool_op, dtype: of the data           */
    NBI_FAMILY_BATCH_NORM, /* op: 0 (all four bn_ entries), dtype: of x     */
    NBI_FAMILY_LAPACK,     /* op: nbi_lapack_op, dtype: of the matrices    */

    /* ---- optimizer steps and fused losses ---- */
    NBI_FAMILY_OPTIM_STEP,    /* op: nbi_step_rule, dtype: the parameter's */
    NBI_FAMILY_CROSS_ENTROPY, /* op: 0, dtype: the logits'                 */

    /* ---- recurrent sequences ---- */
    NBI_FAMILY_RNN, /* op: nbi_rnn_cell, dtype: of every array */
    /* ---- fused attention ---- */
    NBI_FAMILY_ATTENTION, /* op: 0 (both attention_ entries), dtype: of q */

    NBI_NUM_FAMILIES
} nbi_family;

typedef struct nbi_backend {
    const char *name; /* "cpu", "cuda": how messages name the device */

    /* ---- memory ---- */
    /* NULL when the device is out of memory; nothing recorded. */
    void *(*alloc)(size_t bytes, int index);
    void  (*release)(void *ptr, size_t bytes, int index);
    /* bytes from src to dst, where either side may be this backend's device
     * and the other the CPU (the CPU's table copies host to host only). */
    nb_status (*copy)(void *dst, nb_device to, const void *src, nb_device from, size_t bytes);
    /* Wait until every kernel queued on the device has finished: called
     * before the host reads device memory. */
    void (*synchronize)(int index);

    bool (*supports)(nbi_family family, int op, nb_dtype dtype);

    /* ---- elementwise over an iterator (operand 0 is the output) ---- */
    /* (out, x) */
    void (*unary)(const nbi_iter *it, nbi_unary_op op, nb_dtype dtype, const nbi_op_params *params);
    /* (out, a, b), a and b in dtype; returns an NBI_KERNEL_* code. */
    int (*binary)(const nbi_iter *it, nbi_binary_op op, nb_dtype dtype);
    /* (out, cond as uint8, a, b), values in dtype. */
    void (*where)(const nbi_iter *it, nb_dtype dtype);
    /* (out, g, x): x <= 0 ? 0 : g, NaN passes. */
    void (*relu_backward)(const nbi_iter *it, nb_dtype dtype);
    /* (out in to, x in from). */
    void (*cast)(const nbi_iter *it, nb_dtype from, nb_dtype to);

    /* ---- creation, indexing, sorting, joining ---- */
    /* (out): every element := value. No two elements of it alias (the op
     * cuts stride-0 dims to size 1). */
    void (*fill)(const nbi_iter *it, nb_dtype dtype, const nbi_element *value);
    /* arange, linspace; random fills keyed on (seed, offset, element). */
    void (*range)(nbi_range_kind kind, const nbi_range_args *args);
    void (*random)(nbi_random_kind kind, const nbi_random_args *args);
    /* index_check (with gather, scatter): over a walk of one int64
     * operand, the lowest row-major position whose value is outside
     * [0, size), that value in *bad_value; -1 when all are in range. */
    int64_t (*index_check)(const nbi_walk *index, int64_t size, int64_t *bad_value);
    /* (with one_hot) The least and the greatest value of a non-empty
     * int64 walk of one operand. */
    void (*index_min_max)(const nbi_walk *index, int64_t *min, int64_t *max);
    void (*gather)(const nbi_gather_args *args);
    void (*scatter)(const nbi_gather_args *args, bool accumulate);
    /* (out, t, mask as uint8): out = mask ? value : t, values in dtype. */
    void (*masked_fill)(const nbi_iter *it, nb_dtype dtype, const nbi_element *value);
    /* op NBI_INDEX_MASKED_SELECT or NBI_INDEX_NONZERO: counts (args->out
     * NULL) or writes (after a counting call on the same args); returns
     * the number of selected elements; a negative count when the counting
     * call failed (a device's scratch or error; message recorded). */
    int64_t (*select)(nbi_index_op op, nbi_select_args *args);
    /* out (classes' numel, num_classes) int64, contiguous: every element
     * written, 1 at each class (all in [0, num_classes)), else 0. */
    void (*one_hot)(const nbi_walk *classes, int64_t *out, int64_t num_classes);
    /* Fails (message recorded) only when out of memory for scratch. */
    nb_status (*sort)(const nbi_sort_args *args);

    /* ---- reductions and line ops (softmax, cumsum) ---- */
    /* job over plan (reduce_args.h): job->values and job->indices get
     * plan->out_numel outputs. The op has checked the dtypes, and that max,
     * min and the arg ops reduce n > 0 elements whenever out_numel > 0. */
    void (*reduce)(const nbi_reduce_plan *plan, const nbi_reduce_job *job);
    /* op along every line of plan (reduce_args.h), into plan->out. */
    void (*line)(const nbi_line_plan *plan, nbi_line_op op);

    /* ---- matmul, convolution, pooling, normalisation ---- */
    /* The whole batched product (matmul_args.h); fails only for scratch
     * memory or the vendor library. */
    nb_status (*matmul)(const nbi_matmul_args *args);
    /* The three convolution products (conv_args.h), dtype float32 or
     * float64; fail only for scratch memory. */
    nb_status (*conv_forward)(nb_dtype dtype, const nbi_conv_shape *shape, const void *x, const void *w,
                              const void *bias, void *y);
    nb_status (*conv_input_grad)(nb_dtype dtype, const nbi_conv_shape *shape, const void *y, const void *w,
                                 const void *bias, void *x);
    nb_status (*conv_weight_grad)(nb_dtype dtype, const nbi_conv_shape *shape, const void *x, const void *y, void *w);
    /* Pooling over planes (pool_args.h). y (planes, out_h, out_w) = the
     * window maxima of x (planes, H, W), a NaN winning (as torch);
     * indices (may be NULL): each maximum's position in its plane (row * W
     * + col). Fails only for scratch memory. */
    nb_status (*max_pool2d)(nb_dtype dtype, const nbi_max_pool_shape *shape, const void *x, void *y,
                            int64_t *indices);
    /* x (planes, H, W) = zeros with g (planes, out_h, out_w) added at
     * indices (planes, out_h, out_w); only the plane sizes of shape are
     * read. An index outside [0, H * W) is dropped: max_pool2d gives one
     * for a window over padding only (a -inf maximum that depends on no
     * pixel; torch 1.13 writes its gradient into the next plane). */
    void (*max_unpool)(nb_dtype dtype, const nbi_max_pool_shape *shape, const void *g, const int64_t *indices,
                       void *x);
    /* y (planes, out_h, out_w) = the window means of x (planes, H, W), 0 for
     * an empty window; the adjoint: x = the sum over the windows covering
     * each pixel of y / divisor. Fail only for scratch memory. */
    nb_status (*window_mean)(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *x, void *y);
    nb_status (*window_mean_adjoint)(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *y, void *x);
    /* Batch normalisation over (N, C, S) (norm_args.h; per-channel arrays
     * are host doubles). bn_stats: each channel's mean and biased variance
     * (two passes: squared deviations from the mean, not x^2 - mean^2). */
    void (*bn_stats)(const nbi_bn_shape *shape, const void *x, double *mean, double *var);
    /* y = x * scale[c] + shift[c], clamped at 0 as nb_relu when relu. */
    void (*bn_affine)(const nbi_bn_shape *shape, const void *x, const double *scale, const double *shift, bool relu,
                      void *y);
    /* sum_g[c] = the sum of g, sum_gx[c] = of g * (x - mean[c]), over
     * channel c; with relu (not NULL), g counts only where it passed. */
    void (*bn_grad_sums)(const nbi_bn_shape *shape, const void *x, const void *g, const nbi_bn_relu *relu,
                         const double *mean, double *sum_g, double *sum_gx);
    /* dx = a[c] * g + b[c] * x + c[c], g masked as in bn_grad_sums; b and c
     * NULL (eval mode): dx = a[c] * g, with no x term (0 * inf is NaN). */
    void (*bn_grad_input)(const nbi_bn_shape *shape, const void *x, const void *g, const nbi_bn_relu *relu,
                          const double *a, const double *b, const double *c, void *dx);

    /* Factorizations and solves over a batch of matrices (lapack_args.h);
     * the CPU's calls LAPACK, and exists only in builds with it. */
    nb_status (*lapack)(const nbi_lapack_args *args);

    /* ---- optimizer steps and fused losses ---- */
    /* One parameter's update in place (optim_args.h); a NULL buffer is an
     * option that is off (no momentum, no amsgrad, not centered). */
    void (*sgd_step)(const nbi_optim_param *param, void *momentum_buffer, const nbi_sgd_hyper *hyper);
    void (*adam_step)(const nbi_optim_param *param, void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq,
                      const nbi_adam_hyper *hyper);
    void (*rmsprop_step)(const nbi_optim_param *param, void *square_avg, void *momentum_buffer, void *grad_avg,
                         const nbi_rmsprop_hyper *hyper);
    /* loss (rows.dtype): (R) per-row losses for NB_REDUCTION_NONE, else
     * their sum or mean as one value; fails only for scratch memory. */
    nb_status (*cross_entropy_forward)(const nbi_cross_entropy_rows *rows, nb_reduction reduction, void *loss);
    /* grad_logits (R, C) of rows.dtype: scale_i (softmax(logits_i) - onehot(t_i)). */
    void (*cross_entropy_backward)(const nbi_cross_entropy_rows *rows, const nbi_loss_grad *grad_loss,
                                   void *grad_logits);

    /* ---- recurrent sequences (rnn_args.h) ---- */
    /* One layer and direction over every step; the arrays a backward needs
     * are written into a. Fail only for scratch memory. */
    nb_status (*rnn_forward)(const nbi_rnn_shape *shape, const nbi_rnn_arrays *a);
    nb_status (*rnn_backward)(const nbi_rnn_shape *shape, const nbi_rnn_arrays *a, const nbi_rnn_grads *grads);
    /* ---- fused attention (attention_args.h) ---- */
    /* out = softmax(scale q k^T + mask) v and lse = its rows' log-sum-exp,
     * computed tile by tile (online softmax): no more than one tile of the
     * score matrix exists per thread. A fully masked row gives NaN (out and
     * lse), as the composite's softmax does. Fails only for scratch memory. */
    nb_status (*attention_forward)(const nbi_attention_shape *shape, const void *q, const void *k, const void *v,
                                   void *out, void *lse);
    /* The gradients of q, k, v (all written) from grad_out, recomputing the
     * probability tiles from q, k and lse. Fails only for scratch memory. */
    nb_status (*attention_backward)(const nbi_attention_shape *shape, const void *q, const void *k, const void *v,
                                    const void *out, const void *lse, const void *grad_out, void *grad_q,
                                    void *grad_k, void *grad_v);

} nbi_backend;

/* The table of a device type, or NULL when this build has none for it. */
const nbi_backend *nbi_backend_for(nb_device_type type);

/* The tables this build has (cpu.c, cuda/backend.cu). */
extern const nbi_backend nbi_cpu_backend;
#ifdef NB_HAVE_CUDA
extern const nbi_backend nbi_cuda_backend;
#endif

static inline const nbi_backend *nbi_backend_of(const nb_tensor *t)
{
    return nbi_backend_for(t->storage->device.type);
}

/* "cpu", "cuda:1": for messages. */
const char *nbi_device_str(nb_device device, char *buf, size_t size);
enum { NBI_DEVICE_STR_SIZE = 24 };

/* The one device check: every non-NULL tensor of tensors[0..count) is on
 * the same device, and this build can run that device; else NB_ERR_DEVICE
 * naming both devices (with names[i] the argument names, as the user wrote
 * them). */
bool nbi_check_device(const char *op, int count, const nb_tensor *const *tensors, const char *const *names);
/* For an op on one tensor. */
/* NB_ERR_DEVICE unless device names one that exists here (devices.c): where
 * a tensor is made, or moved by nb_to or a module move. */
bool nbi_check_target_device(nb_device device, const char *op);

static inline bool nbi_check_device1(const char *op, const nb_tensor *t, const char *name)
{
    return nbi_check_device(op, 1, &t, &name);
}

/* backend->supports(family, op, dtype), else NB_ERR_UNSUPPORTED naming the
 * op, the device and the dtype. */
bool nbi_check_supported(const nbi_backend *backend, nbi_family family, int op, nb_dtype dtype, const char *opname);

/* An entry returned a status other than NB_OK and recorded its reason
 * ("out of memory for ..."): put the op's name in front of it, as every
 * message starts ("nb_matmul: out of memory for ..."). Returns NULL. */
void *nbi_entry_failed(const char *opname);

#endif /* NABLA_BACKEND_H */
