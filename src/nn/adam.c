/*
 * adam.c — Adam and AdamW (torch 1.13's single-tensor algorithms), with
 * amsgrad. Per parameter, at its step t (counted per parameter: one
 * without a gradient does not advance):
 *
 *   Adam:  g += weight_decay * p                 (L2: into the gradient)
 *   AdamW: p *= 1 - lr * weight_decay            (decoupled decay)
 *   m = beta1 * m + (1 - beta1) * g              exp_avg
 *   v = beta2 * v + (1 - beta2) * g * g          exp_avg_sq
 *   amsgrad: v_max = max(v_max, v), used for v below
 *   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * The fused step (the device table's adam_step; on the CPU, the loop of
 * optim_kernels.c) does this in one pass over contiguous float data;
 * the composite is the same arithmetic written with in-place nb_* ops for
 * any layout (see optim_internal.h).
 */
#include "nn/optim_internal.h"

#include "core/backend.h"

nb_adam_opts nb_adam_defaults(void)
{
    return (nb_adam_opts){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0};
}

nb_adam_opts nb_adamw_defaults(void)
{
    nb_adam_opts opts = nb_adam_defaults();
    opts.weight_decay = 1e-2;
    return opts;
}

static bool check_beta(double beta, int index, const char *op)
{
    if (beta >= 0 && beta < 1) return true;
    char text[48];
    nbi_fail(NB_ERR_ARG, "%s: Invalid beta parameter at index %d: %s (betas must lie in [0, 1))", op, index,
             nbi_format_float(beta, text, sizeof text));
    return false;
}

static nb_optim *adam_new(nbi_optim_kind kind, const char *op, nb_tensor *const *params, int64_t count,
                          nb_adam_opts opts)
{
    if (!nbi_check_non_negative(opts.lr, "learning rate", op) ||
        !nbi_check_non_negative(opts.eps, "epsilon value", op) || !check_beta(opts.beta1, 0, op) ||
        !check_beta(opts.beta2, 1, op) || !nbi_check_non_negative(opts.weight_decay, "weight_decay value", op))
        return NULL;
    nb_optim *o = nbi_optim_new(kind, op, params, count, opts.lr);
    if (o) o->opts.adam = opts;
    return o;
}

nb_optim *nb_adam_new(nb_tensor *const *params, int64_t count, nb_adam_opts opts)
{
    return adam_new(NBI_OPTIM_ADAM, "nb_adam_new", params, count, opts);
}

nb_optim *nb_adamw_new(nb_tensor *const *params, int64_t count, nb_adam_opts opts)
{
    return adam_new(NBI_OPTIM_ADAMW, "nb_adamw_new", params, count, opts);
}

/* ------------------------------------------------------------------------ */
/* The composite                                                             */
/* ------------------------------------------------------------------------ */

/* torch's _single_tensor_adam / _single_tensor_adamw for one parameter, op
 * for op: addcmul(a, b, c, value=v) is a + (v * b) * c, addcdiv a + (v * b) / c. */
static nb_status adam_composite(nb_optim *o, int64_t i, nb_tensor *exp_avg, nb_tensor *exp_avg_sq,
                                nb_tensor *max_exp_avg_sq, double step_size, double bias_correction2_sqrt)
{
    const nb_adam_opts *opts = &o->opts.adam;
    nb_tensor          *p = o->params[i], *g = p->grad;
    if (nb_scope_begin() != NB_OK) return nb_last_status();
    bool ok = true;
    if (o->kind == NBI_OPTIM_ADAMW)
        ok = nb_mul_scalar_(p, 1 - o->lr * opts->weight_decay) != NULL;
    else if (opts->weight_decay != 0)
        g = nb_add(g, nb_mul_scalar(p, opts->weight_decay));
    ok = ok && g != NULL && nb_mul_scalar_(exp_avg, opts->beta1) &&
         nb_add_(exp_avg, nb_mul_scalar(g, 1 - opts->beta1)) && nb_mul_scalar_(exp_avg_sq, opts->beta2) &&
         nb_add_(exp_avg_sq, nb_mul(nb_mul_scalar(g, 1 - opts->beta2), g));
    nb_tensor *second_moment = exp_avg_sq;
    if (ok && max_exp_avg_sq != NULL) {
        ok            = nb_copy_(max_exp_avg_sq, nb_maximum(max_exp_avg_sq, exp_avg_sq)) != NULL;
        second_moment = max_exp_avg_sq;
    }
    nb_tensor *denom =
        ok ? nb_add_scalar_(nb_div_scalar(nb_sqrt(second_moment), bias_correction2_sqrt), opts->eps) : NULL;
    ok               = denom != NULL && nb_add_(p, nb_div(nb_mul_scalar(exp_avg, -step_size), denom)) != NULL;
    nb_status status = ok ? NB_OK : nb_last_status();
    nb_scope_end();
    return status;
}

nb_status nbi_adam_update(nb_optim *o, int64_t i, bool allow_fused)
{
    const nb_adam_opts *opts       = &o->opts.adam;
    nb_tensor          *p          = o->params[i];
    nb_tensor          *exp_avg    = nbi_optim_buffer(o, i, NBI_ADAM_EXP_AVG, true, NULL);
    nb_tensor          *exp_avg_sq = nbi_optim_buffer(o, i, NBI_ADAM_EXP_AVG_SQ, true, NULL);
    nb_tensor          *max_sq     = opts->amsgrad ? nbi_optim_buffer(o, i, NBI_ADAM_MAX_EXP_AVG_SQ, true, NULL) : NULL;
    if (exp_avg == NULL || exp_avg_sq == NULL || (opts->amsgrad && max_sq == NULL)) return nb_last_status();

    /* As torch: the step count is a float, the powers Python's (C's pow). */
    double step                  = (double)++o->state[i].step;
    double step_size             = o->lr / (1 - pow(opts->beta1, step));
    double bias_correction2_sqrt = sqrt(1 - pow(opts->beta2, step));
    if (!allow_fused || !nbi_optim_fusable(p, p->grad, NBI_STEP_ADAM))
        return adam_composite(o, i, exp_avg, exp_avg_sq, max_sq, step_size, bias_correction2_sqrt);

    nbi_optim_param param = nbi_optim_param_of(p);
    nbi_adam_hyper  hyper = {
         .lr                    = o->lr,
         .beta1                 = opts->beta1,
         .beta2                 = opts->beta2,
         .eps                   = opts->eps,
         .weight_decay          = opts->weight_decay,
         .decoupled             = o->kind == NBI_OPTIM_ADAMW,
         .step_size             = step_size,
         .bias_correction2_sqrt = bias_correction2_sqrt,
    };
    nbi_backend_of(p)->adam_step(&param, nbi_ptr(exp_avg), nbi_ptr(exp_avg_sq), max_sq ? nbi_ptr(max_sq) : NULL,
                                 &hyper);
    nbi_bump_version(p);
    return NB_OK;
}
