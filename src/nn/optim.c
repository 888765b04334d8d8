/*
 * optim.c — what every optimizer shares (construction and its checks, the
 * step loop, zero_grad, the learning rate, state buffers), and two of the
 * algorithms: SGD and RMSprop. Adam and AdamW are in adam.c.
 *
 * Each algorithm is torch.optim's single-tensor algorithm (torch 1.13,
 * foreach=False), written twice (see optim_internal.h): a composite of
 * in-place nb_* ops for any layout, and a fused loop for contiguous float
 * data that allocates nothing after the first step.
 */
#include "nn/optim_internal.h"

#include "autograd/autograd.h"
#include "core/backend.h"

#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* Messages and checks                                                       */
/* ------------------------------------------------------------------------ */

const char *nbi_format_float(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "nan");
        return buf;
    }
    if (isinf(v) || v == 0) {
        snprintf(buf, size, isinf(v) ? (v > 0 ? "inf" : "-inf") : (signbit(v) ? "-0.0" : "0.0"));
        return buf;
    }
    /* The fewest significant digits that read back as v, as repr. */
    char scientific[40];
    int  digits = 1;
    for (; digits < 17; digits++) {
        snprintf(scientific, sizeof scientific, "%.*e", digits - 1, v);
        if (strtod(scientific, NULL) == v) break;
    }
    snprintf(scientific, sizeof scientific, "%.*e", digits - 1, v);
    int exponent = atoi(strchr(scientific, 'e') + 1);
    if (exponent < -4 || exponent >= 16) {
        snprintf(buf, size, "%s", scientific); /* 1e-08, 1.5e+16 */
        return buf;
    }
    int decimals = digits - 1 - exponent;
    if (decimals > 0)
        snprintf(buf, size, "%.*f", decimals, v);
    else
        snprintf(buf, size, "%.0f.0", v); /* 100.0 */
    return buf;
}

bool nbi_check_non_negative(double value, const char *what, const char *op)
{
    if (value >= 0) return true;
    char text[48];
    nbi_fail(NB_ERR_ARG, "%s: Invalid %s: %s", op, what, nbi_format_float(value, text, sizeof text));
    return false;
}

nb_status nbi_null_argument(const char *op, const char *name)
{
    if (nb_last_status() == NB_OK) nbi_fail(NB_ERR_ARG, "%s: argument '%s' is NULL", op, name);
    return NB_ERR_ARG;
}

/* ------------------------------------------------------------------------ */
/* Construction, state, step                                                 */
/* ------------------------------------------------------------------------ */

/* params[i] can be optimized; false with the reason recorded. */
static nbi_handle_class optim_handles = NBI_HANDLE_CLASS("optimizer", sizeof(nb_optim), 20);

static bool optim_live(const nb_optim *o) { return nbi_handle_live(&optim_handles, o, NBI_OBJECT_LIVE); }

static bool check_param(nb_tensor *const *params, int64_t i, const char *op)
{
    char name[40];
    snprintf(name, sizeof name, "params[%lld]", (long long)i);
    const nb_tensor *p = params[i];
    if (!nbi_check_tensor(p, op, name) || !nbi_check_device1(op, p, name)) return false;
    if (!nb_dtype_is_floating(p->dtype))
        return nbi_fail(NB_ERR_ARG, "%s: %s is %s: only floating-point tensors can be optimized", op, name,
                        nb_dtype_name(p->dtype)) != NULL;
    if (p->grad_fn != NULL)
        return nbi_fail(NB_ERR_ARG, "%s: %s is not a leaf (made by %s): can't optimize a non-leaf tensor", op, name,
                        p->grad_fn->name) != NULL;
    if (!p->requires_grad)
        return nbi_fail(NB_ERR_ARG, "%s: %s does not require grad (call nb_requires_grad_ first)", op, name) != NULL;
    if (nbi_has_internal_overlap(p))
        return nbi_fail(NB_ERR_ARG, "%s: %s is an expanded view (its elements overlap) and cannot be updated in place",
                        op, name) != NULL;
    for (int64_t j = 0; j < i; j++)
        if (params[j] == p)
            return nbi_fail(NB_ERR_ARG, "%s: %s is the same tensor as params[%lld]", op, name, (long long)j) != NULL;
    return true;
}

nb_optim *nbi_optim_new(nbi_optim_kind kind, const char *op, nb_tensor *const *params, int64_t count, double lr)
{
    if (params == NULL && count > 0) {
        nbi_null_argument(op, "params");
        return NULL;
    }
    if (count < 0) return nbi_fail(NB_ERR_ARG, "%s: count must be >= 0, got %lld", op, (long long)count);
    if (count == 0) return nbi_fail(NB_ERR_ARG, "%s: optimizer got an empty parameter list", op);
    for (int64_t i = 0; i < count; i++)
        if (!check_param(params, i, op)) return NULL;
    nb_optim *o = nbi_handle_alloc(&optim_handles);
    if (o != NULL) {
        o->params = malloc((size_t)count * sizeof *o->params);
        o->state  = calloc((size_t)count, sizeof *o->state);
    }
    if (o == NULL || o->params == NULL || o->state == NULL) {
        if (o != NULL) {
            free(o->params);
            free(o->state);
        }
        if (o != NULL) nbi_handle_free(&optim_handles, o);
        return nbi_fail(NB_ERR_OOM, "%s: out of memory for %lld parameters", op, (long long)count);
    }
    o->head.magic = NBI_OBJECT_LIVE;
    o->kind       = kind;
    o->count      = count;
    o->lr         = lr;
    o->initial_lr = NAN;
    memcpy(o->params, params, (size_t)count * sizeof *o->params);
    return o;
}

nb_tensor *nbi_optim_buffer(nb_optim *o, int64_t i, int slot, bool zero, bool *fresh)
{
    nbi_param_state *state  = &o->state[i];
    nb_tensor      **buffer = &state->buffers[slot];
    if (*buffer == NULL) {
        const nb_tensor *p = o->params[i];
        /* nb_zeros fills on any device the creation ops run on. */
        nb_tensor *t = zero ? nb_zeros(nb_shape_of(p), NB_OPTS(.dtype = p->dtype, .device = p->storage->device))
                            : nbi_empty(p->ndim, p->shape, p->dtype, p->storage->device);
        if (t == NULL) return NULL;
        nbi_unscope(t); /* the optimizer's, whatever scope the step runs in */
        *buffer = t;
        if (!zero) state->unwritten |= 1u << slot;
    }
    if (fresh) {
        *fresh = (state->unwritten >> slot) & 1u;
        state->unwritten &= ~(1u << slot);
    }
    return *buffer;
}

void nbi_optim_drop_buffer(nb_optim *o, int64_t i, int slot)
{
    nb_free(o->state[i].buffers[slot]);
    o->state[i].buffers[slot] = NULL;
    o->state[i].unwritten &= ~(1u << slot);
}

/* Every buffer parameter i's update will ask for, made now (see
 * nbi_optim_buffer). False on OOM. */
static bool make_buffers(nb_optim *o, int64_t i)
{
    switch (o->kind) {
    case NBI_OPTIM_SGD:
        return o->opts.sgd.momentum == 0 || nbi_optim_buffer(o, i, NBI_SGD_MOMENTUM_BUFFER, false, NULL);
    case NBI_OPTIM_ADAM:
    case NBI_OPTIM_ADAMW:
        return nbi_optim_buffer(o, i, NBI_ADAM_EXP_AVG, true, NULL) &&
               nbi_optim_buffer(o, i, NBI_ADAM_EXP_AVG_SQ, true, NULL) &&
               (!o->opts.adam.amsgrad || nbi_optim_buffer(o, i, NBI_ADAM_MAX_EXP_AVG_SQ, true, NULL));
    case NBI_OPTIM_RMSPROP:
        return nbi_optim_buffer(o, i, NBI_RMSPROP_SQUARE_AVG, true, NULL) &&
               (o->opts.rmsprop.momentum <= 0 || nbi_optim_buffer(o, i, NBI_RMSPROP_MOMENTUM, true, NULL)) &&
               (!o->opts.rmsprop.centered || nbi_optim_buffer(o, i, NBI_RMSPROP_GRAD_AVG, true, NULL));
    }
    return true;
}

bool nbi_optim_fusable(const nb_tensor *p, const nb_tensor *g, nbi_step_rule rule)
{
    return g->dtype == p->dtype && g->numel == p->numel && nb_is_contiguous(p) && nb_is_contiguous(g) &&
           nbi_backend_of(p)->supports(NBI_FAMILY_OPTIM_STEP, (int)rule, p->dtype);
}

nbi_optim_param nbi_optim_param_of(nb_tensor *p)
{
    return (nbi_optim_param){
        .device = p->storage->device.index,
        .dtype  = p->dtype,
        .count  = p->numel,
        .param  = nbi_ptr(p),
        .grad   = nbi_ptr(p->grad),
    };
}

/* o is usable: not NULL, not freed, and its parameters (borrowed) still
 * alive; false with the error recorded. */
static bool optim_usable(const nb_optim *o, const char *op)
{
    if (o == NULL) return nbi_null_argument(op, "o"), false;
    if (!optim_live(o)) return nbi_fail_status(NB_ERR_STATE, "%s: the optimizer was freed", op), false;
    for (int64_t i = 0; i < o->count; i++)
        if (!nbi_tensor_live(o->params[i]))
            return nbi_fail_status(NB_ERR_STATE, "%s: params[%lld] was freed before the optimizer (parameters must "
                                                 "outlive it)", op, (long long)i), false;
    return true;
}

/* params[i] and its gradient are on one device (nb_set_grad does not ask
 * for it); else NB_ERR_DEVICE naming both. */
static bool check_grad_device(const nb_optim *o, int64_t i)
{
    const nb_tensor *pair[2] = {o->params[i], o->params[i]->grad};
    nb_device        p = pair[0]->storage->device, g = pair[1]->storage->device;
    if (NBI_LIKELY(p.type == g.type && p.index == g.index)) return true; /* no names to format */
    char param_name[40], grad_name[48];
    snprintf(param_name, sizeof param_name, "params[%lld]", (long long)i);
    snprintf(grad_name, sizeof grad_name, "params[%lld].grad", (long long)i);
    return nbi_check_device("nb_optim_step", 2, pair, (const char *const[]){param_name, grad_name});
}

nb_status nbi_optim_step(nb_optim *o, bool allow_fused)
{
    if (!optim_usable(o, "nb_optim_step")) return nb_last_status();
    for (int64_t i = 0; i < o->count; i++) {
        if (o->params[i]->grad == NULL) continue;
        if (!check_grad_device(o, i)) return nb_last_status();
        if (!make_buffers(o, i)) {
            nb_status cause_status = nb_last_status();
            char      cause[256];
            snprintf(cause, sizeof cause, "%s", nb_last_error());
            return nbi_fail_status(cause_status != NB_OK ? cause_status : NB_ERR_OOM,
                                   "nb_optim_step: no parameter was updated: the state of params[%lld] could not be "
                                   "made (%s)", (long long)i, cause);
        }
    }
    nb_status status = NB_OK;
    nbi_grad_mode_push(false); /* updates are not part of any graph */
    for (int64_t i = 0; i < o->count && status == NB_OK; i++) {
        if (o->params[i]->grad == NULL) continue; /* no gradient: torch skips it */
        int64_t step = o->state[i].step;
        switch (o->kind) {
        case NBI_OPTIM_SGD:
            status = nbi_sgd_update(o, i, allow_fused);
            break;
        case NBI_OPTIM_ADAM:
        case NBI_OPTIM_ADAMW:
            status = nbi_adam_update(o, i, allow_fused);
            break;
        case NBI_OPTIM_RMSPROP:
            status = nbi_rmsprop_update(o, i, allow_fused);
            break;
        }
        if (status != NB_OK) o->state[i].step = step; /* a composite update that ran out of memory */
    }
    nbi_grad_mode_pop();
    return status;
}

nb_status nb_optim_step(nb_optim *o) { return nbi_optim_step(o, true); }

void nb_optim_zero_grad(nb_optim *o)
{
    if (o == NULL || !optim_usable(o, "nb_optim_zero_grad")) return;
    for (int64_t i = 0; i < o->count; i++)
        nb_set_grad(o->params[i], NULL);
}

double nb_optim_lr(const nb_optim *o)
{
    if (o == NULL) {
        nbi_null_argument("nb_optim_lr", "o");
        return NAN;
    }
    return o->lr;
}

void nb_optim_set_lr(nb_optim *o, double lr)
{
    if (o == NULL) {
        nbi_null_argument("nb_optim_set_lr", "o");
        return;
    }
    if (nbi_check_non_negative(lr, "learning rate", "nb_optim_set_lr")) o->lr = lr;
}

void nb_optim_free(nb_optim *o)
{
    if (o == NULL) return;
    if (!optim_live(o)) {
        nbi_fail(NB_ERR_STATE, "nb_optim_free: the optimizer was already freed");
        return;
    }
    for (int64_t i = 0; i < o->count; i++)
        for (int slot = 0; slot < NBI_OPTIM_MAX_BUFFERS; slot++)
            nb_free(o->state[i].buffers[slot]);
    free(o->state);
    free(o->params);
    o->head.magic = NBI_OBJECT_DEAD;
    nbi_handle_retire(&optim_handles, o);
    nbi_handle_free_later(&optim_handles, o);
}

/* ------------------------------------------------------------------------ */
/* SGD                                                                       */
/* ------------------------------------------------------------------------ */
/* d = g (+ weight_decay * p); with momentum, buf = d on the first step and
 * buf = momentum * buf + (1 - dampening) * d after, and d = buf (or
 * d + momentum * buf with nesterov); p -= lr * d. */

nb_sgd_opts nb_sgd_defaults(double lr) { return (nb_sgd_opts){.lr = lr}; }

nb_optim *nb_sgd_new(nb_tensor *const *params, int64_t count, nb_sgd_opts opts)
{
    const char *op = "nb_sgd_new";
    if (!nbi_check_non_negative(opts.lr, "learning rate", op) ||
        !nbi_check_non_negative(opts.momentum, "momentum value", op) ||
        !nbi_check_non_negative(opts.weight_decay, "weight_decay value", op))
        return NULL;
    if (isnan(opts.dampening)) return nbi_fail(NB_ERR_ARG, "%s: Invalid dampening value: nan", op);
    if (opts.nesterov && (opts.momentum <= 0 || opts.dampening != 0))
        return nbi_fail(NB_ERR_ARG, "%s: Nesterov momentum requires a momentum and zero dampening", op);
    nb_optim *o = nbi_optim_new(NBI_OPTIM_SGD, op, params, count, opts.lr);
    if (o) o->opts.sgd = opts;
    return o;
}

/* torch's _single_tensor_sgd for one parameter, op for op. */
static nb_status sgd_composite(nb_optim *o, int64_t i)
{
    const nb_sgd_opts *opts = &o->opts.sgd;
    nb_tensor         *p = o->params[i], *d = p->grad;
    if (nb_scope_begin() != NB_OK) return nb_last_status();
    bool ok = true;
    if (opts->weight_decay != 0) d = nb_add(d, nb_mul_scalar(p, opts->weight_decay));
    if (opts->momentum != 0 && d != NULL) {
        bool       fresh;
        nb_tensor *buf = nbi_optim_buffer(o, i, NBI_SGD_MOMENTUM_BUFFER, false, &fresh);
        if (buf == NULL)
            ok = false;
        else if (fresh) { /* buf = clone(d) */
            ok = nb_copy_(buf, d) != NULL;
            if (!ok) nbi_optim_drop_buffer(o, i, NBI_SGD_MOMENTUM_BUFFER);
        } else {
            ok = nb_mul_scalar_(buf, opts->momentum) && nb_add_(buf, nb_mul_scalar(d, 1 - opts->dampening));
        }
        if (ok) d = opts->nesterov ? nb_add(d, nb_mul_scalar(buf, opts->momentum)) : buf;
    }
    ok               = ok && d != NULL && nb_add_(p, nb_mul_scalar(d, -o->lr)) != NULL;
    nb_status status = ok ? NB_OK : nb_last_status();
    nb_scope_end();
    return status;
}

nb_status nbi_sgd_update(nb_optim *o, int64_t i, bool allow_fused)
{
    nb_tensor *p = o->params[i];
    o->state[i].step++;
    if (!allow_fused || !nbi_optim_fusable(p, p->grad, NBI_STEP_SGD)) return sgd_composite(o, i);
    const nb_sgd_opts *opts  = &o->opts.sgd;
    bool               fresh = false;
    nb_tensor         *buf   = NULL;
    if (opts->momentum != 0 && (buf = nbi_optim_buffer(o, i, NBI_SGD_MOMENTUM_BUFFER, false, &fresh)) == NULL)
        return nb_last_status();
    nbi_optim_param param = nbi_optim_param_of(p);
    nbi_sgd_hyper   hyper = {
          .lr           = o->lr,
          .momentum     = opts->momentum,
          .dampening    = opts->dampening,
          .weight_decay = opts->weight_decay,
          .nesterov     = opts->nesterov,
          .first_step   = fresh,
    };
    nbi_backend_of(p)->sgd_step(&param, buf ? nbi_ptr(buf) : NULL, &hyper);
    nbi_bump_version(p);
    return NB_OK;
}

/* ------------------------------------------------------------------------ */
/* RMSprop                                                                   */
/* ------------------------------------------------------------------------ */
/* g (+ weight_decay * p); square_avg = alpha * square_avg + (1 - alpha) g^2;
 * avg = sqrt(square_avg) + eps, or with centered sqrt(square_avg -
 * grad_avg^2) + eps where grad_avg = alpha * grad_avg + (1 - alpha) g; with
 * momentum buf = momentum * buf + g / avg and p -= lr * buf, else
 * p -= lr * g / avg. No bias correction, no dependence on the step count. */


nb_rmsprop_opts nb_rmsprop_defaults(void) { return (nb_rmsprop_opts){.lr = 1e-2, .alpha = 0.99, .eps = 1e-8}; }

nb_optim *nb_rmsprop_new(nb_tensor *const *params, int64_t count, nb_rmsprop_opts opts)
{
    const char *op = "nb_rmsprop_new";
    if (!nbi_check_non_negative(opts.lr, "learning rate", op) ||
        !nbi_check_non_negative(opts.eps, "epsilon value", op) ||
        !nbi_check_non_negative(opts.momentum, "momentum value", op) ||
        !nbi_check_non_negative(opts.weight_decay, "weight_decay value", op) ||
        !nbi_check_non_negative(opts.alpha, "alpha value", op))
        return NULL;
    nb_optim *o = nbi_optim_new(NBI_OPTIM_RMSPROP, op, params, count, opts.lr);
    if (o) o->opts.rmsprop = opts;
    return o;
}

/* torch's _single_tensor_rmsprop for one parameter, op for op: addcmul(a,
 * b, value=v) is a + (v * b) * c; addcdiv(a, b, c, value=v) a + (v * b) / c. */
static nb_status rmsprop_composite(nb_optim *o, int64_t i, nb_tensor *square_avg, nb_tensor *buf, nb_tensor *grad_avg)
{
    const nb_rmsprop_opts *opts = &o->opts.rmsprop;
    nb_tensor             *p = o->params[i], *g = p->grad;
    if (nb_scope_begin() != NB_OK) return nb_last_status();
    if (opts->weight_decay != 0) g = nb_add(g, nb_mul_scalar(p, opts->weight_decay));
    bool ok = g != NULL && nb_mul_scalar_(square_avg, opts->alpha) &&
              nb_add_(square_avg, nb_mul(nb_mul_scalar(g, 1 - opts->alpha), g));
    nb_tensor *avg = NULL;
    if (ok && grad_avg != NULL) {
        ok  = nb_mul_scalar_(grad_avg, opts->alpha) && nb_add_(grad_avg, nb_mul_scalar(g, 1 - opts->alpha));
        avg = ok ? nb_sqrt_(nb_add(square_avg, nb_mul(nb_mul_scalar(grad_avg, -1), grad_avg))) : NULL;
    } else if (ok) {
        avg = nb_sqrt(square_avg);
    }
    ok = avg != NULL && nb_add_scalar_(avg, opts->eps) != NULL;
    if (ok && buf != NULL)
        ok = nb_mul_scalar_(buf, opts->momentum) && nb_add_(buf, nb_div(g, avg)) &&
             nb_add_(p, nb_mul_scalar(buf, -o->lr));
    else if (ok)
        ok = nb_add_(p, nb_div(nb_mul_scalar(g, -o->lr), avg)) != NULL;
    nb_status status = ok ? NB_OK : nb_last_status();
    nb_scope_end();
    return status;
}

nb_status nbi_rmsprop_update(nb_optim *o, int64_t i, bool allow_fused)
{
    const nb_rmsprop_opts *opts       = &o->opts.rmsprop;
    nb_tensor             *p          = o->params[i];
    nb_tensor             *square_avg = nbi_optim_buffer(o, i, NBI_RMSPROP_SQUARE_AVG, true, NULL);
    nb_tensor             *buf      = opts->momentum > 0 ? nbi_optim_buffer(o, i, NBI_RMSPROP_MOMENTUM, true, NULL) : NULL;
    nb_tensor             *grad_avg = opts->centered ? nbi_optim_buffer(o, i, NBI_RMSPROP_GRAD_AVG, true, NULL) : NULL;
    if (square_avg == NULL || (opts->momentum > 0 && buf == NULL) || (opts->centered && grad_avg == NULL))
        return nb_last_status();
    o->state[i].step++;
    if (!allow_fused || !nbi_optim_fusable(p, p->grad, NBI_STEP_RMSPROP))
        return rmsprop_composite(o, i, square_avg, buf, grad_avg);
    nbi_optim_param   param = nbi_optim_param_of(p);
    nbi_rmsprop_hyper hyper = {
        .lr           = o->lr,
        .alpha        = opts->alpha,
        .eps          = opts->eps,
        .momentum     = opts->momentum,
        .weight_decay = opts->weight_decay,
    };
    nbi_backend_of(p)->rmsprop_step(&param, nbi_ptr(square_avg), buf ? nbi_ptr(buf) : NULL,
                                    grad_avg ? nbi_ptr(grad_avg) : NULL, &hyper);
    nbi_bump_version(p);
    return NB_OK;
}
