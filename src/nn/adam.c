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
 * The fused loop does this in one pass over contiguous float data; the
 * composite is the same arithmetic written with in-place nb_* ops for any
 * layout (see optim_internal.h).
 */
#include "nn/optim_internal.h"

#include "cpu/cpu.h"


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
/* The fused loop                                                            */
/* ------------------------------------------------------------------------ */

typedef struct {
    nb_dtype    dtype;
    unsigned    flags; /* ADAM_* */
    void       *param;
    const void *grad;
    void       *exp_avg, *exp_avg_sq;
    void       *max_exp_avg_sq; /* NULL without amsgrad */
    double      param_scale;    /* AdamW: 1 - lr * weight_decay */
    double      weight_decay;   /* Adam: added to the gradient */
    double      beta1, beta2, eps;
    double      step_size;             /* lr / (1 - beta1^t) */
    double      bias_correction2_sqrt; /* sqrt(1 - beta2^t) */
} adam_job;

enum { ADAM_AMSGRAD = 1, ADAM_L2 = 2 /* Adam's weight decay */, ADAM_DECOUPLED = 4 /* AdamW's */ };

/* Elements [begin, end) in dtype T, the scalars rounded to T as torch's
 * kernels take them; the same order of operations as the composite.
 * NOTE: the max propagates NaN as torch.maximum does (old > v ? old : v
 * would not), in a form gcc still vectorizes. */
#define DEFINE_ADAM_KERNEL(T, SQRT)                                                                                    \
    static NBI_ALWAYS_INLINE void adam_kernel_##T(const adam_job *job, int64_t begin, int64_t end, unsigned flags)     \
    {                                                                                                                  \
        T *restrict p          = (T *)job->param;                                                                      \
        T *restrict exp_avg    = (T *)job->exp_avg;                                                                    \
        T *restrict exp_avg_sq = (T *)job->exp_avg_sq;                                                                 \
        T *restrict max_sq     = (T *)job->max_exp_avg_sq;                                                             \
        const T *restrict grad = (const T *)job->grad;                                                                 \
        const T beta1 = (T)job->beta1, rest1 = (T)(1 - job->beta1);                                                    \
        const T beta2 = (T)job->beta2, rest2 = (T)(1 - job->beta2);                                                    \
        const T scale = (T)job->param_scale, decay = (T)job->weight_decay, eps = (T)job->eps;                          \
        const T neg_step_size = (T)-job->step_size, bc2_sqrt = (T)job->bias_correction2_sqrt;                          \
        for (int64_t i = begin; i < end; i++) {                                                                        \
            T g = grad[i], pv = p[i];                                                                                  \
            if (flags & ADAM_DECOUPLED) pv = pv * scale;                                                               \
            if (flags & ADAM_L2) g = g + decay * pv;                                                                   \
            T m           = exp_avg[i] * beta1 + rest1 * g;                                                            \
            T v           = exp_avg_sq[i] * beta2 + rest2 * g * g;                                                     \
            exp_avg[i]    = m;                                                                                         \
            exp_avg_sq[i] = v;                                                                                         \
            if (flags & ADAM_AMSGRAD) {                                                                                \
                T old     = max_sq[i];                                                                                 \
                v         = (old >= v || old != old) ? old : v; /* NaN if either is */                                 \
                max_sq[i] = v;                                                                                         \
            }                                                                                                          \
            T denom = SQRT(v) / bc2_sqrt + eps;                                                                        \
            p[i]    = pv + neg_step_size * m / denom;                                                                  \
        }                                                                                                              \
    }
DEFINE_ADAM_KERNEL(float, sqrtf)
DEFINE_ADAM_KERNEL(double, sqrt)

static void adam_range(int64_t begin, int64_t end, void *ctx)
{
    const adam_job *job = ctx;
    if (job->dtype == NB_FLOAT32) {
        NBI_DISPATCH_FLAGS8(job->flags, adam_kernel_float, job, begin, end)
    } else {
        NBI_DISPATCH_FLAGS8(job->flags, adam_kernel_double, job, begin, end)
    }
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
    if (!allow_fused || !nbi_optim_fusable(p, p->grad))
        return adam_composite(o, i, exp_avg, exp_avg_sq, max_sq, step_size, bias_correction2_sqrt);

    /* AdamW without decay multiplies p by 1, which changes nothing: skipped. */
    bool     decay_on = opts->weight_decay != 0;
    unsigned flags    = (max_sq ? ADAM_AMSGRAD : 0u) | (decay_on && o->kind == NBI_OPTIM_ADAM ? ADAM_L2 : 0u) |
                     (decay_on && o->kind == NBI_OPTIM_ADAMW ? ADAM_DECOUPLED : 0u);
    adam_job job = {
        .dtype                 = p->dtype,
        .flags                 = flags,
        .param                 = nbi_ptr(p),
        .grad                  = nbi_ptr(p->grad),
        .exp_avg               = nbi_ptr(exp_avg),
        .exp_avg_sq            = nbi_ptr(exp_avg_sq),
        .max_exp_avg_sq        = max_sq ? nbi_ptr(max_sq) : NULL,
        .param_scale           = 1 - o->lr * opts->weight_decay,
        .weight_decay          = opts->weight_decay,
        .beta1                 = opts->beta1,
        .beta2                 = opts->beta2,
        .eps                   = opts->eps,
        .step_size             = step_size,
        .bias_correction2_sqrt = bias_correction2_sqrt,
    };
    nbi_parallel_for(p->numel, NBI_OPTIM_GRAIN, adam_range, &job);
    nbi_bump_version(p);
    return NB_OK;
}
