/*
 * functional_args.h — front-door checks shared by the functional layers and
 * losses (functional.c, norm.c, loss.c, cross_entropy.c): each records an
 * error naming the op and the argument and returns false, so a front door
 * reads `if (!nbf_check_float(x, op, "x")) return NULL;`.
 *
 * Private to src/nn/; names start with nbf_.
 */
#ifndef NABLA_NN_FUNCTIONAL_ARGS_H
#define NABLA_NN_FUNCTIONAL_ARGS_H

#include "autograd/autograd.h"

#include "core/backend.h"

/* t is non-NULL (without overwriting a pending error) and on the CPU: for
 * the few front doors that read a tensor's memory on the host. */
static inline bool nbf_check_cpu(const nb_tensor *t, const char *op, const char *name)
{
    if (!nbi_check_tensor(t, op, name)) return false;
    if (t->storage->device.type != NB_CPU) {
        nbi_fail(NB_ERR_UNSUPPORTED, "%s: %s must be on the CPU (not implemented on CUDA yet); move it with nb_to", op,
                 name);
        return false;
    }
    return true;
}

/* t is non-NULL, on a device this build runs, and float32 or float64. The
 * composites built from public ops run wherever those ops do. */
static inline bool nbf_check_float(const nb_tensor *t, const char *op, const char *name)
{
    if (!nbi_check_tensor(t, op, name) || !nbi_check_device1(op, t, name)) return false;
    if (!nb_dtype_is_floating(t->dtype)) {
        nbi_fail(NB_ERR_DTYPE, "%s: %s must be float32 or float64, got %s; convert it with nb_to_dtype first", op, name,
                 nb_dtype_name(t->dtype));
        return false;
    }
    return true;
}

/* An optional float tensor (NULL passes) with the dtype of ref (named
 * ref_name). */
static inline bool nbf_check_same_dtype(const nb_tensor *t, const nb_tensor *ref, const char *op, const char *name,
                                        const char *ref_name)
{
    if (t == NULL) return true;
    if (!nbf_check_float(t, op, name)) return false;
    if (t->dtype != ref->dtype) {
        nbi_fail(NB_ERR_DTYPE, "%s: %s is %s but %s is %s; they must have the same dtype", op, name,
                 nb_dtype_name(t->dtype), ref_name, nb_dtype_name(ref->dtype));
        return false;
    }
    return true;
}

/* An optional tensor (NULL passes) that must be 1-D of size n: per-channel
 * or per-class parameters. */
static inline bool nbf_check_vector(const nb_tensor *t, int64_t n, const char *op, const char *name, const char *what)
{
    if (t == NULL || (t->ndim == 1 && t->shape[0] == n)) return true;
    char buf[NBI_SHAPE_STR_SIZE];
    nbi_fail(NB_ERR_SHAPE, "%s: %s has shape %s; expected [%lld] (one per %s)", op, name,
             nbi_shape_str(t->ndim, t->shape, buf, sizeof buf), (long long)n, what);
    return false;
}

/* a and b have the same shape (the elementwise losses do not broadcast). */
static inline bool nbf_check_same_shape(const nb_tensor *a, const nb_tensor *b, const char *op, const char *name_a,
                                        const char *name_b)
{
    bool same = a->ndim == b->ndim;
    for (int d = 0; same && d < a->ndim; d++)
        same = a->shape[d] == b->shape[d];
    if (same) return true;
    char buf_a[NBI_SHAPE_STR_SIZE], buf_b[NBI_SHAPE_STR_SIZE];
    nbi_fail(NB_ERR_SHAPE, "%s: %s has shape %s but %s has shape %s; they must match", op, name_a,
             nbi_shape_str(a->ndim, a->shape, buf_a, sizeof buf_a), name_b,
             nbi_shape_str(b->ndim, b->shape, buf_b, sizeof buf_b));
    return false;
}

/* reduction is MEAN, SUM or NONE (or also BATCHMEAN when allowed). */
static inline bool nbf_check_reduction(nb_reduction reduction, bool allow_batchmean, const char *op)
{
    if (reduction == NB_REDUCTION_MEAN || reduction == NB_REDUCTION_SUM || reduction == NB_REDUCTION_NONE ||
        (allow_batchmean && reduction == NB_REDUCTION_BATCHMEAN))
        return true;
    if (reduction == NB_REDUCTION_BATCHMEAN)
        nbi_fail(NB_ERR_ARG, "%s: NB_REDUCTION_BATCHMEAN is for nb_kl_div only; use NB_REDUCTION_MEAN, _SUM or _NONE",
                 op);
    else
        nbi_fail(NB_ERR_ARG, "%s: reduction %d is not an nb_reduction (NB_REDUCTION_MEAN, _SUM, _NONE)", op,
                 (int)reduction);
    return false;
}

/* The shape (1, C, 1, ...) of ndim dims that lines a per-channel vector up
 * with dim 1 of an (N, C, ...) tensor. */
static inline nb_shape nbf_channel_shape(int ndim, int64_t channels)
{
    nb_shape shape = {.ndim = ndim};
    for (int d = 0; d < ndim; d++)
        shape.dims[d] = d == 1 ? channels : 1;
    return shape;
}

/* A composite's temporaries live in a scope of its own; the result leaves
 * it with nbf_end(result), which keeps it (NULL stays NULL) and closes the
 * scope. */
static inline bool       nbf_begin(void) { return nb_scope_begin() == NB_OK; }
static inline nb_tensor *nbf_end(nb_tensor *result)
{
    nb_tensor *kept = nb_keep(result);
    nb_scope_end();
    return kept;
}

/* nb_batch_norm on checked arguments, x non-empty and the running
 * statistics (if any) not requiring grad: the fused kernels (batch_norm.c).
 * relu: the result is nb_relu's of it, in the same pass, as one node.
 * into: NULL for a new result; else x itself, contiguous and recorded by
 * no graph (grad mode off), overwritten and returned. */
nb_tensor *nbf_fused_batch_norm(const nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var,
                                const nb_tensor *weight, const nb_tensor *bias, bool training, double momentum,
                                double eps, bool relu, nb_tensor *into);

/* nb_relu(nb_batch_norm(...)), fused where nb_batch_norm runs fused (one
 * pass less each way, no intermediate), else the two ops: for BatchNorm
 * followed by ReLU in Sequential (layers.c). Values and gradients are bit
 * for bit the two ops'. */
nb_tensor *nbf_batch_norm_relu(const nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var,
                               const nb_tensor *weight, const nb_tensor *bias, bool training, double momentum,
                               double eps);

/* nb_batch_norm written over x (no graph may hold x: grad mode is off),
 * for BatchNorm's in-place forward in Sequential (layers.c); relu as in
 * nbf_batch_norm_relu. */
bool nbf_batch_norm_in_place(nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var, const nb_tensor *weight,
                             const nb_tensor *bias, bool training, double momentum, double eps, bool relu);

#endif /* NABLA_NN_FUNCTIONAL_ARGS_H */
