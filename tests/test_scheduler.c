/*
 * test_scheduler.c — learning-rate schedules (StepLR, CosineAnnealingLR,
 * LinearLR) against the lr sequences PyTorch 1.13 printed
 * (tests/data/optim_fixtures.h, from scripts/make_optim_fixtures.py), their
 * recursive form, and their argument errors.
 */
#include "nb_test.h"

#include "data/optim_fixtures.h"

static nb_scheduler *make_schedule(const schedule_case *c, nb_optim *o)
{
    if (strcmp(c->kind, "step") == 0) return nb_step_lr_new(o, c->step_size, c->gamma);
    if (strcmp(c->kind, "cosine") == 0) return nb_cosine_annealing_lr_new(o, c->t_max, c->eta_min);
    return nb_linear_lr_new(o, c->start_factor, c->end_factor, c->total_iters);
}

/* |lr - expected| within a few ulps of expected. */
static bool lr_near(double lr, double expected) { return fabs(lr - expected) <= 1e-15 * fabs(expected) + 1e-300; }

static void check_sequence(const char *name, nb_optim *o, nb_scheduler *const *schedulers, int count,
                           const double *expected)
{
    bool ok = lr_near(nb_optim_lr(o), expected[0]);
    for (int step = 1; ok && step < SCHEDULE_VALUES; step++) {
        for (int k = 0; k < count; k++)
            ok = ok && nb_scheduler_step(schedulers[k]) == NB_OK;
        ok = ok && lr_near(nb_optim_lr(o), expected[step]);
        if (!ok)
            fprintf(stderr, "  %s step %d: lr %.17g, expected %.17g\n", name, step, nb_optim_lr(o), expected[step]);
    }
    NBT_CHECK(ok);
}

static void test_schedules_match_torch(void)
{
    nb_tensor *w = nb_zeros(NB_SHAPE(1), NB_OPTS(.requires_grad = true));
    for (size_t i = 0; i < sizeof schedule_cases / sizeof schedule_cases[0]; i++) {
        const schedule_case *c = &schedule_cases[i];
        nb_optim            *o = nb_sgd_new(&w, 1, nb_sgd_defaults(0.5));
        nb_scheduler        *s = make_schedule(c, o);
        NBT_CHECK(s != NULL);
        check_sequence(c->name, o, &s, 1, c->lrs);
        nb_scheduler_free(s);
        nb_optim_free(o);
    }
    nb_free(w);
}

/* Warm-up then cosine on one optimizer: the cosine schedule's base is the
 * lr before the warm-up scaled it (torch's initial_lr). */
static void test_chained_schedules_match_torch(void)
{
    nb_tensor    *w = nb_zeros(NB_SHAPE(1), NB_OPTS(.requires_grad = true));
    nb_optim     *o = nb_sgd_new(&w, 1, nb_sgd_defaults(0.5));
    nb_scheduler *s[2];
    s[0] = nb_linear_lr_new(o, 0.2, 1.0, 3);
    s[1] = nb_cosine_annealing_lr_new(o, 4, 0.01);
    check_sequence("warmup+cosine", o, s, 2, schedule_chained_lrs);
    nb_scheduler_free(s[0]);
    nb_scheduler_free(s[1]);
    nb_optim_free(o);
    nb_free(w);
}

/* Each step scales the optimizer's current lr (torch's get_lr): a change by
 * nb_optim_set_lr carries on. Cosine's first step from 1.0 with t_max 2:
 * (1 + cos(pi / 2)) / (1 + cos 0) = 0.5. */
static void test_schedules_are_recursive(void)
{
    nb_tensor    *w = nb_zeros(NB_SHAPE(1), NB_OPTS(.requires_grad = true));
    nb_optim     *o = nb_adam_new(&w, 1, nb_adam_defaults());
    nb_scheduler *s = nb_step_lr_new(o, 2, 0.1);
    NBT_CHECK(nb_optim_lr(o) == 1e-3);
    nb_optim_set_lr(o, 1.0);
    nb_scheduler_step(s);
    NBT_CHECK(nb_optim_lr(o) == 1.0);
    nb_scheduler_step(s);
    NBT_CHECK_NEAR(nb_optim_lr(o), 0.1, 1e-17);
    nb_scheduler_free(s);

    nb_optim_set_lr(o, 1.0);
    s = nb_cosine_annealing_lr_new(o, 2, 0.0);
    NBT_CHECK(nb_optim_lr(o) == 1.0);
    nb_scheduler_step(s);
    NBT_CHECK_NEAR(nb_optim_lr(o), 0.5, 1e-16);
    nb_scheduler_free(s);

    /* LinearLR scales at construction, then ramps back up to the lr. */
    nb_optim_set_lr(o, 1.0);
    s = nb_linear_lr_new(o, 0.5, 1.0, 2);
    NBT_CHECK(nb_optim_lr(o) == 0.5);
    nb_scheduler_step(s);
    NBT_CHECK_NEAR(nb_optim_lr(o), 0.75, 1e-16);
    nb_scheduler_step(s);
    NBT_CHECK_NEAR(nb_optim_lr(o), 1.0, 1e-16);
    nb_scheduler_step(s);
    NBT_CHECK_NEAR(nb_optim_lr(o), 1.0, 1e-16);
    nb_scheduler_free(s);
    nb_optim_free(o);
    nb_free(w);
}

static void test_scheduler_errors(void)
{
    nb_tensor *w = nb_zeros(NB_SHAPE(1), NB_OPTS(.requires_grad = true));
    nb_optim  *o = nb_sgd_new(&w, 1, nb_sgd_defaults(0.5));
    NBT_CHECK(nb_step_lr_new(NULL, 1, 0.5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_step_lr_new: argument 'o' is NULL");
    NBT_CHECK(nb_step_lr_new(o, 0, 0.5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_step_lr_new: step_size must be at least 1, got 0");
    NBT_CHECK(nb_step_lr_new(o, 2, -0.5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "gamma must be finite and >= 0");
    NBT_CHECK(nb_step_lr_new(o, 2, NAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "gamma must be finite and >= 0");

    NBT_CHECK(nb_cosine_annealing_lr_new(NULL, 1, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_cosine_annealing_lr_new: argument 'o' is NULL");
    NBT_CHECK(nb_cosine_annealing_lr_new(o, 0, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "t_max must be at least 1, got 0");
    NBT_CHECK(nb_cosine_annealing_lr_new(o, 5, -1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "eta_min must be finite and >= 0");

    NBT_CHECK(nb_linear_lr_new(NULL, 0.5, 1, 3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_linear_lr_new: argument 'o' is NULL");
    NBT_CHECK(nb_linear_lr_new(o, 0, 1, 3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Starting multiplicative factor expected to be in (0, 1]");
    NBT_CHECK(nb_linear_lr_new(o, 1.5, 1, 3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Starting multiplicative factor expected to be in (0, 1]");
    NBT_CHECK(nb_linear_lr_new(o, 0.5, -0.1, 3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Ending multiplicative factor expected to be in [0, 1]");
    NBT_CHECK(nb_linear_lr_new(o, 0.5, 1, -1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "total_iters must be >= 0, got -1");
    NBT_CHECK(nb_optim_lr(o) == 0.5); /* refused schedulers changed nothing */

    NBT_CHECK(nb_scheduler_step(NULL) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_scheduler_step: argument 's' is NULL");
    /* A failed constructor's NULL keeps the first error. */
    NBT_CHECK(nb_scheduler_step(nb_step_lr_new(o, 0, 0.5)) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "step_size must be at least 1");
    NBT_CHECK(nb_step_lr_new(nb_sgd_new(&w, 1, nb_sgd_defaults(-1)), 1, 0.5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_sgd_new: Invalid learning rate: -1.0");
    nb_scheduler_free(NULL);
    nb_optim_free(o);
    nb_free(w);
}

int main(void)
{
    NBT_RUN(test_schedules_match_torch);
    NBT_RUN(test_chained_schedules_match_torch);
    NBT_RUN(test_schedules_are_recursive);
    NBT_RUN(test_scheduler_errors);
    return nbt_finish();
}
