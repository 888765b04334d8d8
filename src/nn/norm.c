/*
 * norm.c — normalisation layers as torch.nn.functional's: nb_batch_norm
 * (batch statistics and running-stat updates in training, running
 * statistics in eval), nb_layer_norm and nb_group_norm.
 *
 * Batch norm runs fused (batch_norm.c) but for an empty batch, running
 * statistics that require grad, or a device without the fused kernels.
 * Otherwise all three are composites: statistics from nb_mean_dims / nb_var_dims (biased, as torch normalises),
 * then (x - mean) * rsqrt(var + eps), then the optional affine weight and
 * bias lined up with their dims. Autograd differentiates them twice. Only
 * batch norm's running-stat update runs outside the graph (in place, under
 * no-grad).
 *
 * Letters: N batch, C channels, G groups; "..." any trailing dims.
 */
#include "core/backend.h"
#include "nn/functional_args.h"

/* (x - mean) * rsqrt(var + eps), then * weight and + bias when given;
 * mean and var broadcast against x, as do weight and bias once viewed as
 * affine_shape. */
static nb_tensor *normalize(const nb_tensor *x, const nb_tensor *mean, const nb_tensor *var, double eps,
                            const nb_tensor *weight, const nb_tensor *bias, nb_shape affine_shape)
{
    nb_tensor *out = nb_mul(nb_sub(x, mean), nb_rsqrt(nb_add_scalar(var, eps)));
    if (weight != NULL) out = nb_mul(out, nb_reshape(weight, affine_shape));
    if (bias != NULL) out = nb_add(out, nb_reshape(bias, affine_shape));
    return out;
}

/* t (NULL, or a vector of running statistics) holds x's dtype, or float32
 * when x is a half (torch's mixed batch norm). */
static bool check_param_dtype(const nb_tensor *t, const nb_tensor *x, const char *op, const char *name)
{
    if (t != NULL && nbi_is_half(x->dtype) && t->dtype == NB_FLOAT32) return nbi_check_tensor(t, op, name);
    return nbf_check_same_dtype(t, x, op, name, "x");
}

static bool check_eps(double eps, const char *op)
{
    if (eps >= 0 && isfinite(eps)) return true;
    nbi_fail(NB_ERR_ARG, "%s: eps must be finite and >= 0, got %g", op, eps);
    return false;
}

/* ------------------------------------------------------------------------ */
/* batch_norm                                                                */
/* ------------------------------------------------------------------------ */

/* (1 - momentum) running + momentum value, a new tensor of running's shape
 * (value: (1, C, 1, ...) with keepdim; running: (C)). */
static nb_tensor *moved_toward(const nb_tensor *running, const nb_tensor *value, double momentum)
{
    return nb_add(nb_mul_scalar(running, 1 - momentum), nb_mul_scalar(nb_reshape(value, NB_SHAPE(-1)), momentum));
}

/* x: (N, C, ...); running_mean, running_var, weight, bias: (C) or NULL.
 * Training: the batch's mean and biased variance over every dim but 1
 * normalise x; the running statistics move toward the batch's mean and its
 * UNBIASED variance (torch's rule). Eval: the running statistics normalise. */
/* nb_batch_norm; with into (x itself, contiguous, grad mode off) the
 * fused path writes over x and returns it (the others make a new result). */
static nb_tensor *batch_norm_half(const nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var,
                                  const nb_tensor *weight, const nb_tensor *bias, bool training, double momentum,
                                  double eps);

/* nb_relu(t) when relu (in the current scope), else t. */
static nb_tensor *relu_if(nb_tensor *t, bool relu) { return relu && t != NULL ? nb_relu(t) : t; }

/* relu: nb_relu of the result, fused into the pass that writes it where
 * batch norm runs fused, else the op after it. */
static nb_tensor *batch_norm(const nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var,
                             const nb_tensor *weight, const nb_tensor *bias, bool training, double momentum, double eps,
                             nb_tensor *into, bool relu)
{
    const char *op = "nb_batch_norm";
    if (!nbf_check_float(x, op, "x")) return NULL;
    if (!check_param_dtype(running_mean, x, op, "running_mean") || !check_param_dtype(running_var, x, op, "running_var") ||
        !check_param_dtype(weight, x, op, "weight") || !check_param_dtype(bias, x, op, "bias"))
        return NULL;
    if (nbi_is_half(x->dtype)) {
        if (!nbf_begin()) return NULL;
        return nbf_end(relu_if(batch_norm_half(x, running_mean, running_var, weight, bias, training, momentum, eps), relu));
    }
    char buf[NBI_SHAPE_STR_SIZE];
    if (x->ndim < 2)
        return nbi_fail(NB_ERR_SHAPE, "%s: x must have at least 2 dims (N, C, ...), got shape %s", op,
                        nbi_shape_str(x->ndim, x->shape, buf, sizeof buf));
    int64_t channels = x->shape[1];
    if (!nbf_check_vector(running_mean, channels, op, "running_mean", "channel") ||
        !nbf_check_vector(running_var, channels, op, "running_var", "channel") ||
        !nbf_check_vector(weight, channels, op, "weight", "channel") ||
        !nbf_check_vector(bias, channels, op, "bias", "channel") || !check_eps(eps, op))
        return NULL;
    if (!training && (running_mean == NULL || running_var == NULL))
        return nbi_fail(NB_ERR_ARG, "%s: running_mean and running_var are required in eval mode", op);
    if (training && isnan(momentum)) return nbi_fail(NB_ERR_ARG, "%s: momentum is NaN", op);
    if ((running_mean == NULL) != (running_var == NULL)) {
        /* training with one running statistic: it moves, as torch's; the
         * other moves in a scratch copy that is dropped (the result is a
         * new tensor: nbf_batch_norm_in_place copies it back) */
        if (!nbf_begin()) return NULL;
        nb_tensor *given   = running_mean ? running_mean : running_var;
        nb_tensor *scratch = running_mean ? nb_ones_like(given) : nb_zeros_like(given);
        nb_tensor *y       = scratch ? batch_norm(x, running_mean ? running_mean : scratch,
                                                  running_var ? running_var : scratch, weight, bias, training,
                                                  momentum, eps, NULL, relu)
                                     : NULL;
        return nbf_end(y);
    }

    /* Fused but for an empty batch, running statistics that are in a graph
     * or cannot take an in-place write (those take the composite and its
     * errors), and a device whose backend lacks the kernels. */
    bool fused = x->numel > 0 && nbi_backend_of(x)->supports(NBI_FAMILY_BATCH_NORM, 0, x->dtype) &&
                 (running_mean == NULL ||
                  (!running_mean->requires_grad && !running_var->requires_grad &&
                   !nbi_has_internal_overlap(running_mean) && !nbi_has_internal_overlap(running_var) &&
                   nbi_memory_overlap(running_mean, running_var) == NBI_OVERLAP_NO));
    nb_shape channel_shape = nbf_channel_shape(x->ndim, channels);
    if (!training) {
        if (fused)
            return nbf_fused_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps, relu, into);
        if (!nbf_begin()) return NULL;
        nb_tensor *mean = nb_reshape(running_mean, channel_shape);
        nb_tensor *var  = nb_reshape(running_var, channel_shape);
        return nbf_end(relu_if(normalize(x, mean, var, eps, weight, bias, channel_shape), relu));
    }

    int64_t per_channel = 1; /* values per channel: N times the trailing dims */
    for (int d = 0; d < x->ndim; d++)
        if (d != 1) per_channel *= x->shape[d];
    if (per_channel == 1)
        return nbi_fail(NB_ERR_SHAPE, "%s: expected more than 1 value per channel when training, got x of shape %s", op,
                        nbi_shape_str(x->ndim, x->shape, buf, sizeof buf));
    if (fused)
        return nbf_fused_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps, relu, into);
    nb_dims dims = {.n = 0};
    for (int d = 0; d < x->ndim; d++)
        if (d != 1) dims.dims[dims.n++] = d;

    if (!nbf_begin()) return NULL;
    nb_tensor *mean = nb_mean_dims(x, dims, true);
    nb_tensor *var  = nb_var_dims(x, dims, 0, true);
    nb_tensor *out  = normalize(x, mean, var, eps, weight, bias, channel_shape);
    /* As torch: an empty batch leaves the running statistics alone. */
    if (out != NULL && running_mean != NULL && x->numel > 0) {
        nbi_grad_mode_push(false);
        double unbias = (double)per_channel / (double)(per_channel - 1);
        /* Both new statistics first, then the copies (which allocate
         * nothing): out of memory leaves the running statistics as they were. */
        nb_tensor *new_mean = moved_toward(running_mean, mean, momentum);
        nb_tensor *new_var  = moved_toward(running_var, nb_mul_scalar(var, unbias), momentum);
        bool       ok       = new_mean && new_var && nb_copy_(running_mean, new_mean) && nb_copy_(running_var, new_var);
        nbi_grad_mode_pop();
        if (!ok) out = NULL;
    }
    return nbf_end(relu_if(out, relu));
}

/* float16 / bfloat16 inputs of the norms normalise in float32 and round
 * once (as torch's half kernels accumulate and normalise in float): in the
 * half dtype the mean itself rounds, and x - mean loses the deviations (f16
 * [100, 100, 100.0625] gave [0, 0, 2.11], not [-0.70, -0.70, 1.41]). For
 * batch norm, running statistics of the half dtype move as float32 copies,
 * written back rounded; float32 ones move in place. */
static nb_tensor *batch_norm_half(const nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var,
                                  const nb_tensor *weight, const nb_tensor *bias, bool training, double momentum,
                                  double eps)
{
    if (!nbf_begin()) return NULL;
    nb_tensor *stats[2] = {running_mean, running_var}, *wide[2] = {running_mean, running_var};
    bool       ok       = true;
    for (int k = 0; k < 2; k++)
        if (stats[k] != NULL && stats[k]->dtype != NB_FLOAT32) {
            nbi_grad_mode_push(false);
            wide[k] = nb_to_dtype(stats[k], NB_FLOAT32);
            nbi_grad_mode_pop();
            ok = ok && wide[k] != NULL;
        }
    nb_tensor *y = ok ? batch_norm(nbi_float32_if_half(x), wide[0], wide[1], nbi_float32_if_half(weight),
                                   nbi_float32_if_half(bias), training, momentum, eps, NULL, false)
                      : NULL;
    if (y != NULL && training)
        for (int k = 0; k < 2; k++)
            if (wide[k] != stats[k]) {
                nbi_grad_mode_push(false);
                ok = nb_copy_(stats[k], wide[k]) != NULL;
                nbi_grad_mode_pop();
                if (!ok) y = NULL;
            }
    return nbf_end(y ? nb_to_dtype(y, x->dtype) : NULL);
}

nb_tensor *nb_batch_norm(const nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var, const nb_tensor *weight,
                         const nb_tensor *bias, bool training, double momentum, double eps)
{
    return batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps, NULL, false);
}

nb_tensor *nbf_batch_norm_relu(const nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var,
                               const nb_tensor *weight, const nb_tensor *bias, bool training, double momentum,
                               double eps)
{
    return batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps, NULL, true);
}

bool nbf_batch_norm_in_place(nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var, const nb_tensor *weight,
                             const nb_tensor *bias, bool training, double momentum, double eps, bool relu)
{
    nb_tensor *into = nb_is_contiguous(x) ? x : NULL;
    nb_tensor *y    = batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps, into, relu);
    bool       done = y != NULL && (y == x || nb_copy_(x, y) != NULL);
    if (y != NULL && y != x) nb_free(y);
    return done;
}

/* ------------------------------------------------------------------------ */
/* layer_norm                                                                */
/* ------------------------------------------------------------------------ */

/* x: (..., normalized_shape); weight, bias: normalized_shape or NULL.
 * Statistics over the last normalized_shape.ndim dims. */
nb_tensor *nb_layer_norm(const nb_tensor *x, nb_shape normalized_shape, const nb_tensor *weight, const nb_tensor *bias,
                         double eps)
{
    const char *op = "nb_layer_norm";
    if (!nbf_check_float(x, op, "x")) return NULL;
    if (!nbf_check_same_dtype(weight, x, op, "weight", "x") || !nbf_check_same_dtype(bias, x, op, "bias", "x") ||
        !check_eps(eps, op) || !nbi_check_shape(normalized_shape, op))
        return NULL;
    char buf_n[NBI_SHAPE_STR_SIZE], buf_x[NBI_SHAPE_STR_SIZE];
    int  k = normalized_shape.ndim;
    nbi_shape_str(k, normalized_shape.dims, buf_n, sizeof buf_n);
    if (k == 0) return nbi_fail(NB_ERR_SHAPE, "%s: normalized_shape must have at least 1 dim, got []", op);
    bool fits = k <= x->ndim;
    for (int i = 0; fits && i < k; i++)
        fits = x->shape[x->ndim - k + i] == normalized_shape.dims[i];
    if (!fits)
        return nbi_fail(NB_ERR_SHAPE, "%s: normalized_shape %s does not match the last dims of x of shape %s", op,
                        buf_n, nbi_shape_str(x->ndim, x->shape, buf_x, sizeof buf_x));
    const nb_tensor *affine[2] = {weight, bias};
    for (int a = 0; a < 2; a++) {
        const nb_tensor *t    = affine[a];
        bool             same = t == NULL || t->ndim == k;
        for (int i = 0; same && t && i < k; i++)
            same = t->shape[i] == normalized_shape.dims[i];
        if (!same)
            return nbi_fail(NB_ERR_SHAPE, "%s: %s has shape %s; expected normalized_shape %s", op,
                            a == 0 ? "weight" : "bias", nbi_shape_str(t->ndim, t->shape, buf_x, sizeof buf_x), buf_n);
    }

    nb_dims dims = {.n = k};
    for (int i = 0; i < k; i++)
        dims.dims[i] = x->ndim - k + i;
    if (!nbf_begin()) return NULL;
    if (nbi_is_half(x->dtype)) {
        nb_tensor *y = nb_layer_norm(nbi_float32_if_half(x), normalized_shape, nbi_float32_if_half(weight), nbi_float32_if_half(bias), eps);
        return nbf_end(y ? nb_to_dtype(y, x->dtype) : NULL);
    }
    nb_tensor *mean = nb_mean_dims(x, dims, true);
    nb_tensor *var  = nb_var_dims(x, dims, 0, true);
    /* weight and bias already line up with the trailing dims. */
    return nbf_end(normalize(x, mean, var, eps, weight, bias, normalized_shape));
}

/* ------------------------------------------------------------------------ */
/* group_norm                                                                */
/* ------------------------------------------------------------------------ */

/* x: (N, C, ...) viewed as (N, G, C/G * ...): statistics per sample and
 * group; weight, bias: (C) or NULL, per channel. */
nb_tensor *nb_group_norm(const nb_tensor *x, int64_t groups, const nb_tensor *weight, const nb_tensor *bias, double eps)
{
    const char *op = "nb_group_norm";
    if (!nbf_check_float(x, op, "x")) return NULL;
    if (!nbf_check_same_dtype(weight, x, op, "weight", "x") || !nbf_check_same_dtype(bias, x, op, "bias", "x") ||
        !check_eps(eps, op))
        return NULL;
    char buf[NBI_SHAPE_STR_SIZE];
    if (x->ndim < 2)
        return nbi_fail(NB_ERR_SHAPE, "%s: x must have at least 2 dims (N, C, ...), got shape %s", op,
                        nbi_shape_str(x->ndim, x->shape, buf, sizeof buf));
    if (groups < 1) return nbi_fail(NB_ERR_ARG, "%s: groups must be >= 1, got %lld", op, (long long)groups);
    int64_t channels = x->shape[1];
    if (channels % groups != 0)
        return nbi_fail(NB_ERR_SHAPE, "%s: the %lld channels of x (shape %s) cannot be split into %lld groups", op,
                        (long long)channels, nbi_shape_str(x->ndim, x->shape, buf, sizeof buf), (long long)groups);
    if (!nbf_check_vector(weight, channels, op, "weight", "channel") ||
        !nbf_check_vector(bias, channels, op, "bias", "channel"))
        return NULL;

    int64_t  batch     = x->shape[0];
    int64_t  per_group = (channels / groups) * nbi_shape_numel(x->ndim - 2, x->shape + 2);
    nb_shape grouped   = NB_SHAPE(batch, groups, per_group);
    /* torch.nn.functional.group_norm's check (_verify_batch_size over
     * (N C / G, G, ...)): one sample of one value per group is refused */
    if (batch * per_group == 1)
        return nbi_fail(NB_ERR_SHAPE, "%s: expected more than 1 value per group, got x of shape %s and %lld groups (as "
                        "torch)", op, nbi_shape_str(x->ndim, x->shape, buf, sizeof buf), (long long)groups);
    if (!nbf_begin()) return NULL;
    if (nbi_is_half(x->dtype)) {
        nb_tensor *y = nb_group_norm(nbi_float32_if_half(x), groups, nbi_float32_if_half(weight), nbi_float32_if_half(bias), eps);
        return nbf_end(y ? nb_to_dtype(y, x->dtype) : NULL);
    }
    nb_tensor *xg            = nb_reshape(x, grouped);
    nb_tensor *mean          = nb_mean_dims(xg, NB_DIMS(2), true);
    nb_tensor *var           = nb_var_dims(xg, NB_DIMS(2), 0, true);
    nb_tensor *out           = nb_reshape(normalize(xg, mean, var, eps, NULL, NULL, grouped), nb_shape_of(x));
    nb_shape   channel_shape = nbf_channel_shape(x->ndim, channels);
    if (weight != NULL) out = nb_mul(out, nb_reshape(weight, channel_shape));
    if (bias != NULL) out = nb_add(out, nb_reshape(bias, channel_shape));
    return nbf_end(out);
}
