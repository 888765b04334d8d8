/*
 * scheduler.c — learning-rate schedules: StepLR, CosineAnnealingLR and
 * LinearLR of torch.optim.lr_scheduler (torch 1.13).
 *
 * As torch, each schedule is recursive: a step computes the next lr from
 * the optimizer's current one (get_lr, not the closed form), so a schedule
 * composes with another on the same optimizer or with nb_optim_set_lr
 * between steps. Making a scheduler takes its first step (epoch 0), which
 * LinearLR uses to scale the lr by start_factor. The base lr of a schedule
 * is the optimizer's lr when its first scheduler was made (torch's
 * group['initial_lr']).
 */
#include "nn/optim_internal.h"

#include <stdlib.h>

typedef enum { SCHEDULE_STEP, SCHEDULE_COSINE, SCHEDULE_LINEAR } schedule_kind;

struct nb_scheduler {
    schedule_kind kind;
    nb_optim     *optim;      /* borrowed */
    int64_t       last_epoch; /* -1 before the first step */
    double        base_lr;
    int64_t       step_size; /* StepLR */
    double        gamma;
    int64_t       t_max; /* CosineAnnealingLR */
    double        eta_min;
    double        start_factor, end_factor; /* LinearLR */
    int64_t       total_iters;
};

/* The lr for epoch s->last_epoch given the current lr: torch's get_lr,
 * with its arithmetic in its order so the values match to the last bit. */
static double next_lr(const nb_scheduler *s, double lr)
{
    const int64_t epoch = s->last_epoch;
    const double  pi    = 3.14159265358979323846;
    switch (s->kind) {
    case SCHEDULE_STEP:
        return epoch == 0 || epoch % s->step_size != 0 ? lr : lr * s->gamma;
    case SCHEDULE_COSINE: {
        const double t_max = (double)s->t_max;
        if (epoch == 0) return lr;
        /* NOTE: Python's % differs from C's for a negative left side, but
         * both are zero for the same values, which is all this tests. */
        if ((epoch - 1 - s->t_max) % (2 * s->t_max) == 0) /* the bottom: the ratio below would be 0 / 0 */
            return lr + (s->base_lr - s->eta_min) * (1 - cos(pi / t_max)) / 2;
        return (1 + cos(pi * (double)epoch / t_max)) / (1 + cos(pi * (double)(epoch - 1) / t_max)) * (lr - s->eta_min) +
               s->eta_min;
    }
    case SCHEDULE_LINEAR:
        if (epoch == 0) return lr * s->start_factor;
        if (epoch > s->total_iters) return lr;
        return lr *
               (1. + (s->end_factor - s->start_factor) / ((double)s->total_iters * s->start_factor +
                                                          (double)(epoch - 1) * (s->end_factor - s->start_factor)));
    }
    return lr;
}

nb_status nb_scheduler_step(nb_scheduler *s)
{
    if (s == NULL) return nbi_null_argument("nb_scheduler_step", "s");
    s->last_epoch++;
    s->optim->lr = next_lr(s, s->optim->lr);
    return NB_OK;
}

/* A scheduler of o with the fields of proto, after its first step. */
static nb_scheduler *scheduler_new(nb_optim *o, nb_scheduler proto, const char *op)
{
    nb_scheduler *s = malloc(sizeof *s);
    if (s == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory", op);
    if (isnan(o->initial_lr)) o->initial_lr = o->lr; /* group.setdefault('initial_lr', lr) */
    *s            = proto;
    s->optim      = o;
    s->base_lr    = o->initial_lr;
    s->last_epoch = -1;
    nb_scheduler_step(s);
    return s;
}

nb_scheduler *nb_step_lr_new(nb_optim *o, int64_t step_size, double gamma)
{
    const char *op = "nb_step_lr_new";
    if (o == NULL) {
        nbi_null_argument(op, "o");
        return NULL;
    }
    if (step_size < 1)
        return nbi_fail(NB_ERR_ARG, "%s: step_size must be at least 1, got %lld", op, (long long)step_size);
    if (!(gamma >= 0) || isinf(gamma))
        return nbi_fail(NB_ERR_ARG, "%s: gamma must be finite and >= 0, got %g", op, gamma);
    return scheduler_new(o, (nb_scheduler){.kind = SCHEDULE_STEP, .step_size = step_size, .gamma = gamma}, op);
}

nb_scheduler *nb_cosine_annealing_lr_new(nb_optim *o, int64_t t_max, double eta_min)
{
    const char *op = "nb_cosine_annealing_lr_new";
    if (o == NULL) {
        nbi_null_argument(op, "o");
        return NULL;
    }
    if (t_max < 1) return nbi_fail(NB_ERR_ARG, "%s: t_max must be at least 1, got %lld", op, (long long)t_max);
    if (!(eta_min >= 0) || isinf(eta_min))
        return nbi_fail(NB_ERR_ARG, "%s: eta_min must be finite and >= 0, got %g", op, eta_min);
    return scheduler_new(o, (nb_scheduler){.kind = SCHEDULE_COSINE, .t_max = t_max, .eta_min = eta_min}, op);
}

nb_scheduler *nb_linear_lr_new(nb_optim *o, double start_factor, double end_factor, int64_t total_iters)
{
    const char *op = "nb_linear_lr_new";
    if (o == NULL) {
        nbi_null_argument(op, "o");
        return NULL;
    }
    /* NOTE: torch 1.13 accepts start_factor 0 and then divides by zero at
     * the next step; later versions refuse it, as here. */
    if (!(start_factor > 0 && start_factor <= 1))
        return nbi_fail(NB_ERR_ARG, "%s: Starting multiplicative factor expected to be in (0, 1], got %g", op,
                        start_factor);
    if (!(end_factor >= 0 && end_factor <= 1))
        return nbi_fail(NB_ERR_ARG, "%s: Ending multiplicative factor expected to be in [0, 1], got %g", op,
                        end_factor);
    if (total_iters < 0)
        return nbi_fail(NB_ERR_ARG, "%s: total_iters must be >= 0, got %lld", op, (long long)total_iters);
    return scheduler_new(o,
                         (nb_scheduler){.kind         = SCHEDULE_LINEAR,
                                        .start_factor = start_factor,
                                        .end_factor   = end_factor,
                                        .total_iters  = total_iters},
                         op);
}

void nb_scheduler_free(nb_scheduler *s) { free(s); }
