/*
 * clip.c — nb_clip_grad_norm, torch.nn.utils.clip_grad_norm_ (torch 1.13).
 *
 * As torch: the norm of each gradient, then the norm of those norms (the
 * max for INFINITY), all in the gradients' dtype; the gradients are
 * multiplied in place by min(1, max_norm / (total + 1e-6)). A NaN or
 * infinite total is not an error: the gradients are scaled by it as torch
 * scales them (error_if_nonfinite=False).
 */
#include "nn/optim_internal.h"

#include "autograd/autograd.h"
#include "core/backend.h"

#include <stdlib.h>

/* NB_OK, or the status of the first bad argument (recorded). Every gradient
 * is on one device, as the norms are stacked into one tensor. */
static nb_status check_grad_params(nb_tensor *const *params, int64_t count, double max_norm, double norm_type,
                                   const char *op)
{
    if (params == NULL && count > 0) return nbi_null_argument(op, "params");
    if (count < 0) return nbi_fail_status(NB_ERR_ARG, "%s: count must be >= 0, got %lld", op, (long long)count);
    if (count > INT32_MAX) /* nb_stack counts in int */
        return nbi_fail_status(NB_ERR_ARG, "%s: count %lld is more than %d parameters", op, (long long)count,
                               (int)INT32_MAX);
    if (!(max_norm >= 0)) return nbi_fail_status(NB_ERR_ARG, "%s: max_norm must be >= 0, got %g", op, max_norm);
    if (!(norm_type > 0))
        return nbi_fail_status(NB_ERR_ARG, "%s: norm_type must be positive (2, 1, INFINITY, ...), got %g", op,
                               norm_type);
    const nb_tensor *grads[2] = {NULL, NULL}; /* the first gradient, the one checked */
    char             names[2][48];
    for (int64_t i = 0; i < count; i++) {
        char name[40];
        snprintf(name, sizeof name, "params[%lld]", (long long)i);
        if (!nbi_check_tensor(params[i], op, name)) return NB_ERR_ARG;
        if (params[i]->grad == NULL) continue;
        int slot    = grads[0] == NULL ? 0 : 1;
        grads[slot] = params[i]->grad;
        snprintf(names[slot], sizeof names[slot], "%s.grad", name);
        if (!nbi_check_device(op, 2, grads, (const char *const[]){names[0], names[1]})) return NB_ERR_DEVICE;
    }
    return NB_OK;
}

/* The norm of one gradient (0-d, its dtype); for INFINITY max |g|, with an
 * empty gradient giving 0 (torch would fail on its max). Scoped. */
static nb_tensor *grad_norm(const nb_tensor *g, double norm_type)
{
    if (isinf(norm_type) && g->numel == 0) return nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = g->dtype));
    if (isinf(norm_type)) return nb_max(nb_abs(g));
    return nb_norm(g, norm_type);
}

/* total = norm of the per-gradient norms; scale every gradient in place.
 * Runs inside the caller's scope and no-grad mode. */
static nb_status clip(nb_tensor *const *params, int64_t count, double max_norm, double norm_type, double *total_norm)
{
    nb_tensor **norms = malloc((size_t)(count > 0 ? count : 1) * sizeof *norms);
    if (norms == NULL) return nbi_fail_status(NB_ERR_OOM, "nb_clip_grad_norm: out of memory");
    int      n     = 0;
    nb_dtype dtype = NB_FLOAT32;
    for (int64_t i = 0; i < count; i++) {
        const nb_tensor *g = params[i]->grad;
        if (g == NULL) continue;
        dtype      = n == 0 ? g->dtype : nb_promote_types(dtype, g->dtype);
        norms[n++] = grad_norm(g, norm_type);
    }
    if (n == 0) { /* no gradients: torch returns 0 and touches nothing */
        free(norms);
        *total_norm = 0;
        return NB_OK;
    }
    /* Stacked in one dtype (the norms of float32 and float64 grads mixed). */
    for (int i = 0; i < n; i++)
        norms[i] = nb_to_dtype(norms[i], dtype);
    nb_tensor *stacked = nb_stack(norms, n, 0);
    free(norms);
    nb_tensor *total = isinf(norm_type) ? nb_max(stacked) : nb_norm(stacked, norm_type);
    nb_tensor *coef  = nb_clamp(nb_rdiv_scalar(nb_add_scalar(total, 1e-6), max_norm), NAN, 1.0);
    /* Both are read on the host. */
    nb_tensor *host_total = nb_to(total, NB_DEVICE_CPU), *host_coef = nb_to(coef, NB_DEVICE_CPU);
    if (host_total == NULL || host_coef == NULL) return nb_last_status();
    *total_norm = nb_item(host_total);
    /* NOTE: a coefficient of 1 leaves the gradients as they are, but a NaN
     * one must still reach them, as in torch: hence not "coef < 1". */
    if (nb_item(host_coef) == 1.0) return NB_OK;
    for (int64_t i = 0; i < count; i++) {
        nb_tensor *g = params[i]->grad;
        if (g != NULL && nb_mul_(g, coef) == NULL) return nb_last_status();
    }
    return NB_OK;
}

nb_status nb_clip_grad_norm(nb_tensor *const *params, int64_t count, double max_norm, double norm_type,
                            double *total_norm)
{
    const char *op     = "nb_clip_grad_norm";
    nb_status   status = check_grad_params(params, count, max_norm, norm_type, op);
    if (status != NB_OK) return status;
    double total = 0;
    if (nb_scope_begin() != NB_OK) return nb_last_status();
    nbi_grad_mode_push(false);
    status = clip(params, count, max_norm, norm_type, &total);
    nbi_grad_mode_pop();
    nb_scope_end();
    if (status == NB_OK && total_norm != NULL) *total_norm = total;
    return status;
}
