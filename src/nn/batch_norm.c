/*
 * batch_norm.c — nb_batch_norm as torch.nn.functional.batch_norm: batch
 * statistics and running-stat updates in training, running statistics in
 * eval.
 *
 * Why fused: as a chain of composite ops (mean, var, sub, rsqrt, mul, add,
 * and their backward) batch norm read and wrote the activation ~15 times a
 * step and cost a convolutional net more than its convolutions (issue 10).
 * Here the forward is two reading passes (mean, then squared deviations)
 * and one writing pass; the backward one reading pass (two sums per
 * channel) and one writing pass (the bn_* entries of the device's
 * backend, core/norm_args.h), all per-channel arithmetic in double, on the
 * host. Followed by a ReLU in a Sequential, the relu joins the writing
 * passes (nbf_batch_norm_relu).
 *
 * Backward, with xhat = (x - mean) * invstd over the M = N * S values of a
 * channel and k = weight * invstd:
 *   training  dx = k (g - sum(g) / M - xhat sum(g xhat) / M)
 *   eval      dx = k g                  (the statistics are constants)
 *   dweight = sum(g xhat), dbias = sum(g)
 * Under create_graph the same formulas run as public ops on x (the batch
 * statistics recomputed from it), so a double backward differentiates them
 * as torch does.
 *
 * Letters: N batch, C channels, S the values per sample and channel.
 */
#include "core/backend.h"
#include "nn/functional_args.h"

#include <math.h>
#include <stdlib.h>

/* What the node keeps beyond its inputs (x, weight, bias): the statistics
 * that normalised x, and how. */
typedef struct {
    bool    training;
    bool    relu; /* fused with the relu after it: y = relu(x * scale + shift) */
    double  eps;
    int64_t channels;
    double *mean, *invstd, *scale, *shift; /* C each, one allocation */
} bn_saved;

static void bn_saved_free(void *state)
{
    bn_saved *saved = state;
    free(saved->mean);
    free(saved);
}

static bn_saved *bn_saved_new(int64_t channels, bool training, bool relu, double eps)
{
    bn_saved *saved = malloc(sizeof *saved);
    double   *all   = malloc(4 * (size_t)(channels > 0 ? channels : 1) * sizeof(double));
    if (saved == NULL || all == NULL) {
        free(saved);
        free(all);
        return NULL;
    }
    *saved = (bn_saved){ .training = training,
                         .relu     = relu,
                         .eps      = eps,
                         .channels = channels,
                         .mean     = all,
                         .invstd   = all + channels,
                         .scale    = all + 2 * channels,
                         .shift    = all + 3 * channels };
    return saved;
}

/* x as the kernels see it: (N, C, S). */
static nbi_bn_shape bn_shape_of(const nb_tensor *x)
{
    int64_t spatial = 1;
    for (int d = 2; d < x->ndim; d++)
        spatial *= x->shape[d];
    return (nbi_bn_shape){ .device   = x->storage->device.index,
                           .dtype    = x->dtype,
                           .batch    = x->shape[0],
                           .channels = x->shape[1],
                           .spatial  = spatial };
}

/* Element c of a (C) vector of any stride, 1 when t is NULL. */
static double vector_at(const nb_tensor *t, int64_t c, double missing)
{
    if (t == NULL) return missing;
    return nbi_load_f64(nbi_ptr(t) + c * t->stride[0] * (int64_t)nbi_itemsize(t), t->dtype);
}

/* A contiguous tensor with t's values (t itself, retained as a new handle,
 * when it already is), made without recording; in the current scope. */
static nb_tensor *contiguous_values(const nb_tensor *t)
{
    nbi_grad_mode_push(false);
    nb_tensor *c = nb_contiguous(t);
    nbi_grad_mode_pop();
    return c;
}

/* t where the host can read it: t itself on the CPU (or NULL), else a CPU
 * copy made without recording, in the current scope; NULL, error
 * recorded, when the copy fails. NOTE: the per-channel arithmetic runs on
 * the host (norm_args.h), so a GPU's weight, bias and running statistics
 * are read, and the running statistics moved, through such copies. */
static nb_tensor *on_host(const nb_tensor *t)
{
    if (t == NULL || t->storage->device.type == NB_CPU) return (nb_tensor *)t;
    nbi_grad_mode_push(false);
    nb_tensor *copy = nb_to(t, NB_DEVICE_CPU);
    nbi_grad_mode_pop();
    return copy;
}

/* ------------------------------------------------------------------------ */
/* Backward                                                                  */
/* ------------------------------------------------------------------------ */

/* A new (C) tensor of dtype on device from C doubles, written on the host
 * (and moved when device is another); NULL on OOM. */
static nb_tensor *channel_vector(int64_t channels, nb_dtype dtype, nb_device device, const double *values)
{
    nb_tensor *t = nbi_empty(1, &channels, dtype, NB_DEVICE_CPU);
    for (int64_t c = 0; t != NULL && c < channels; c++)
        nbi_store_f64(nbi_ptr(t) + c * (int64_t)nbi_itemsize(t), dtype, values[c]);
    if (t == NULL || device.type == NB_CPU) return t;
    nb_tensor *moved = nb_to(t, device);
    nb_free(t);
    return moved;
}

/* The same lined up with dim 1 of x: (1, C, 1, ...), x's dtype. */
static nb_tensor *channel_constant(const nb_tensor *x, const double *values)
{
    return nb_reshape(channel_vector(x->shape[1], x->dtype, x->storage->device, values),
                      nbf_channel_shape(x->ndim, x->shape[1]));
}

/* Under create_graph: the formulas of the top comment as recorded ops. */
static nb_status composite_backward(nbi_node *node, const bn_saved *saved, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x = nbi_input(node, 0), *weight = nbi_input(node, 1);
    nb_shape   channel_shape = nbf_channel_shape(x->ndim, x->shape[1]);
    nb_dims    dims          = { .n = 0 };
    for (int d = 0; d < x->ndim; d++)
        if (d != 1) dims.dims[dims.n++] = d;
    nb_tensor *mean, *invstd;
    if (saved->training) {
        mean   = nb_mean_dims(x, dims, true);
        invstd = nb_rsqrt(nb_add_scalar(nb_var_dims(x, dims, 0, true), saved->eps));
        if (saved->eps == 0) /* as the forward: 0 where the variance is */
            invstd = nb_where(nb_isinf(invstd), nb_zeros_like(invstd), invstd);
    } else {
        mean   = channel_constant(x, saved->mean);
        invstd = channel_constant(x, saved->invstd);
    }
    if (saved->relu) /* the relu's gradient first, masked where its input (x * scale + shift) was <= 0 */
        g = nb_where(nb_le_scalar(nb_add(nb_mul(x, channel_constant(x, saved->scale)), channel_constant(x, saved->shift)), 0),
                     nb_zeros_like(g), g);
    nb_tensor *xhat   = nb_mul(nb_sub(x, mean), invstd);
    nb_tensor *dxhat  = weight ? nb_mul(g, nb_reshape(weight, channel_shape)) : g;
    nb_status  status = NB_OK;
    if (nbi_input_needs_grad(node, 0)) {
        nb_tensor *dx = saved->training ? nb_mul(invstd, nb_sub(nb_sub(dxhat, nb_mean_dims(dxhat, dims, true)),
                                                                nb_mul(xhat, nb_mean_dims(nb_mul(dxhat, xhat), dims, true))))
                                        : nb_mul(dxhat, invstd);
        status = nbi_keep_grad(dx, &grad_inputs[0]);
    }
    if (status == NB_OK && nbi_input_needs_grad(node, 1))
        status = nbi_keep_grad(nb_reshape(nb_sum_dims(nb_mul(g, xhat), dims, false), NB_SHAPE(-1)), &grad_inputs[1]);
    if (status == NB_OK && nbi_input_needs_grad(node, 2))
        status = nbi_keep_grad(nb_reshape(nb_sum_dims(g, dims, false), NB_SHAPE(-1)), &grad_inputs[2]);
    NBI_FORMULA_END(status);
}

/* inputs (x, weight or NULL, bias or NULL); node->state the bn_saved. */
static nb_status batch_norm_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    const bn_saved *saved = node->state;
    if (nbi_grad_enabled()) return composite_backward(node, saved, g, grad_inputs);
    nb_tensor               *x          = nbi_input(node, 0), *weight = nbi_input(node, 1);
    const nb_tensor         *tensors[2] = { x, g };
    static const char *const names[2]   = { "x", "grad_output" };
    if (!nbi_check_device("NativeBatchNormBackward0", 2, tensors, names)) return nb_last_status();
    const nbi_backend *backend = nbi_backend_of(x);
    nbi_bn_shape       s       = bn_shape_of(x);
    int64_t            C       = s.channels;
    double             count   = (double)(s.batch * s.spatial);
    /* Scratch: sum_g, sum_gx, then the coefficients a, b, c. */
    double *scratch = malloc(5 * (size_t)(C > 0 ? C : 1) * sizeof(double));
    if (scratch == NULL) return nbi_fail_status(NB_ERR_OOM, "NativeBatchNormBackward0: out of memory");
    double *sum_g = scratch, *sum_gx = scratch + C, *a = scratch + 2 * C, *b = scratch + 3 * C, *c = scratch + 4 * C;

    nb_status status = nb_scope_begin();
    if (status != NB_OK) {
        free(scratch);
        return status;
    }
    nb_tensor *xc = contiguous_values(x), *gc = contiguous_values(g), *weight_values = on_host(weight);
    if (xc == NULL || gc == NULL || (weight != NULL && weight_values == NULL)) status = nb_last_status();
    nbi_bn_relu        relu  = { .scale = saved->scale, .shift = saved->shift };
    const nbi_bn_relu *mask  = saved->relu ? &relu : NULL;
    if (status == NB_OK) backend->bn_grad_sums(&s, nbi_ptr(xc), nbi_ptr(gc), mask, saved->mean, sum_g, sum_gx);
    if (status == NB_OK && nbi_input_needs_grad(node, 0)) {
        for (int64_t ch = 0; ch < C; ch++) {
            double invstd = saved->invstd[ch], k = vector_at(weight_values, ch, 1) * invstd;
            a[ch] = k;
            b[ch] = saved->training ? -k * invstd * invstd * sum_gx[ch] / count : 0;
            c[ch] = saved->training ? -k * sum_g[ch] / count - b[ch] * saved->mean[ch] : 0;
        }
        nb_tensor *dx = nbi_empty(x->ndim, x->shape, x->dtype, x->storage->device);
        /* eval: dx = a g alone (b and c are 0), so an infinite x gives
         * a finite dx, not 0 * inf = NaN (torch's eval formula) */
        if (dx != NULL)
            backend->bn_grad_input(&s, nbi_ptr(xc), nbi_ptr(gc), mask, a, saved->training ? b : NULL,
                                   saved->training ? c : NULL, nbi_ptr(dx));
        status = nbi_keep_grad(dx, &grad_inputs[0]);
    }
    if (status == NB_OK && nbi_input_needs_grad(node, 1)) {
        for (int64_t ch = 0; ch < C; ch++)
            a[ch] = sum_gx[ch] * saved->invstd[ch];
        status = nbi_keep_grad(channel_vector(C, weight->dtype, weight->storage->device, a), &grad_inputs[1]);
    }
    if (status == NB_OK && nbi_input_needs_grad(node, 2)) {
        nb_tensor *bias = nbi_input(node, 2);
        status          = nbi_keep_grad(channel_vector(C, bias->dtype, bias->storage->device, sum_g), &grad_inputs[2]);
    }
    nb_scope_end();
    free(scratch);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Forward                                                                   */
/* ------------------------------------------------------------------------ */

/* running = (1 - momentum) running + momentum value, in place, as one write
 * per element (nothing here can fail halfway). */
static void move_running(nb_tensor *running, const double *value, double momentum, double factor)
{
    for (int64_t c = 0; c < running->shape[0]; c++) {
        char  *at  = nbi_ptr(running) + c * running->stride[0] * (int64_t)nbi_itemsize(running);
        double old = nbi_load_f64(at, running->dtype);
        nbi_store_f64(at, running->dtype, (1 - momentum) * old + momentum * value[c] * factor);
    }
    nbi_bump_version(running);
}

/* The running statistics (mean, var) moved toward the batch's (var biased
 * over count values: the running one is unbiased, torch's rule): in place
 * on the CPU, where host holds running itself; else on the host copies,
 * which then go back, both made on the device before either is written,
 * so that out of memory leaves the two as they were. False (error
 * recorded) when that fails. */
static bool move_running_stats(nb_tensor *const running[2], nb_tensor *const host[2], const double *mean,
                               const double *var, double momentum, double count)
{
    move_running(host[0], mean, momentum, 1);
    move_running(host[1], var, momentum, count / (count - 1));
    if (host[0] == running[0]) return true;
    nbi_grad_mode_push(false);
    nb_tensor *back[2] = { nb_to(host[0], running[0]->storage->device), nb_to(host[1], running[1]->storage->device) };
    bool ok = back[0] && back[1] && nb_copy_(running[0], back[0]) && nb_copy_(running[1], back[1]);
    nbi_grad_mode_pop();
    return ok;
}

nb_tensor *nbf_fused_batch_norm(const nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var,
                                const nb_tensor *weight, const nb_tensor *bias, bool training, double momentum,
                                double eps, bool relu, nb_tensor *into)
{
    const char              *op         = "nb_batch_norm";
    const nb_tensor         *tensors[5] = { x, running_mean, running_var, weight, bias };
    static const char *const names[5]   = { "x", "running_mean", "running_var", "weight", "bias" };
    if (!nbi_check_device(op, 5, tensors, names) ||
        !nbi_check_supported(nbi_backend_of(x), NBI_FAMILY_BATCH_NORM, 0, x->dtype, op))
        return NULL;
    const nbi_backend *backend = nbi_backend_of(x);
    nbi_bn_shape       s       = bn_shape_of(x);
    int64_t            C       = s.channels;
    bn_saved          *saved   = bn_saved_new(C, training, relu, eps);
    if (saved == NULL) return nbi_fail(NB_ERR_OOM, "nb_batch_norm: out of memory");
    double    *scale = saved->scale, *shift = saved->shift, *var = saved->invstd; /* var first, then turned into invstd */
    nb_tensor *out   = NULL;
    if (nb_scope_begin() == NB_OK) {
        /* weight, bias, running mean and var where the host reads them */
        nb_tensor       *host[4]  = { on_host(weight), on_host(bias), on_host(running_mean), on_host(running_var) };
        const nb_tensor *given[4] = { weight, bias, running_mean, running_var };
        bool             readable = true;
        for (int k = 0; k < 4; k++)
            readable = readable && (given[k] == NULL || host[k] != NULL);
        nb_tensor *xc = into ? (nb_tensor *)x : contiguous_values(x); /* into: x itself, contiguous */
        out = !readable ? NULL : into ? into : xc ? nbi_empty(x->ndim, x->shape, x->dtype, x->storage->device) : NULL;
        if (out != NULL) {
            if (training) {
                backend->bn_stats(&s, nbi_ptr(xc), saved->mean, var);
            } else {
                for (int64_t c = 0; c < C; c++) {
                    saved->mean[c] = vector_at(host[2], c, 0);
                    var[c]         = vector_at(host[3], c, 1);
                }
            }
            nb_tensor *running[2] = { running_mean, running_var };
            if (training && running_mean != NULL &&
                !move_running_stats(running, host + 2, saved->mean, var, momentum, (double)(s.batch * s.spatial)))
                out = NULL; /* x (into) not yet written */
        }
        if (out != NULL) { /* from here on nothing can fail */
            for (int64_t c = 0; c < C; c++) {
                /* torch's InvStd: 0 for a constant channel in training
                 * with eps = 0, not inf (and NaN downstream) */
                saved->invstd[c] = training && var[c] == 0 && eps == 0 ? 0 : 1 / sqrt(var[c] + eps);
                scale[c]         = vector_at(host[0], c, 1) * saved->invstd[c];
                shift[c]         = vector_at(host[1], c, 0) - saved->mean[c] * scale[c];
            }
            backend->bn_affine(&s, nbi_ptr(xc), scale, shift, relu, nbi_ptr(out));
            if (into) nbi_bump_version(into);
        }
        if (!into) out = nb_keep(out);
        nb_scope_end();
    }
    const nb_tensor *inputs[3] = { x, weight, bias };
    if (out != NULL && !into && nbi_should_record(3, inputs)) {
        nbi_node *node = nbi_record(out, relu ? "BatchNormReluBackward0" : "NativeBatchNormBackward0",
                                    batch_norm_backward, 3, inputs, NBI_SAVES(0) | NBI_SAVES(1));
        if (node == NULL) {
            nb_free(out);
            out = NULL;
        } else {
            node->state      = saved;
            node->state_free = bn_saved_free;
            saved            = NULL;
        }
    }
    if (saved) bn_saved_free(saved);
    return out;
}
