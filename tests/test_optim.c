/*
 * test_optim.c — optimizers (SGD, Adam, AdamW, RMSprop) and
 * nb_clip_grad_norm against values PyTorch 1.13 computed
 * (tests/data/optim_fixtures.h, from scripts/make_optim_fixtures.py), the
 * fused loops against the composite algorithms, and every argument error.
 */
#include "nb_test.h"

#include "data/optim_fixtures.h"
#include "nn/optim_internal.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* A leaf of the given values (float64 data converted to dtype) that
 * requires grad. With transposed, the same logical values stored as the
 * transpose of a contiguous (shape[1], shape[0]) tensor: a non-contiguous
 * leaf, which takes the composite path. */
static nb_tensor *make_param(const double *values, nb_shape shape, nb_dtype dtype, bool transposed)
{
    nb_tensor *t;
    if (transposed) {
        double  stored[64];
        int64_t rows = shape.dims[0], cols = shape.dims[1];
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++)
                stored[c * rows + r] = values[r * cols + c];
        nb_tensor *base64 = nb_from_data(stored, NB_SHAPE(cols, rows), NB_OPTS(.dtype = NB_FLOAT64));
        nb_tensor *base   = nb_to_dtype(base64, dtype);
        t                 = nb_t(base);
        nb_free(base);
        nb_free(base64);
    } else {
        nb_tensor *t64 = nb_from_data(values, shape, NB_OPTS(.dtype = NB_FLOAT64));
        t              = nb_to_dtype(t64, dtype);
        nb_free(t64);
    }
    nb_requires_grad_(t, true);
    return t;
}

static void set_grad_values(nb_tensor *p, const double *values)
{
    nb_tensor *g64 = nb_from_data(values, nb_shape_of(p), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *g   = nb_to_dtype(g64, nb_dtype_of(p));
    nb_set_grad(p, g);
    nb_free(g);
    nb_free(g64);
}

static nb_optim *make_optimizer(const optim_case *c, nb_tensor *const *params, int64_t count)
{
    if (strcmp(c->kind, "sgd") == 0) {
        nb_sgd_opts o  = nb_sgd_defaults(c->lr);
        o.momentum     = c->momentum;
        o.dampening    = c->dampening;
        o.weight_decay = c->weight_decay;
        o.nesterov     = c->nesterov;
        return nb_sgd_new(params, count, o);
    }
    if (strcmp(c->kind, "rmsprop") == 0) {
        nb_rmsprop_opts o = nb_rmsprop_defaults();
        o.lr              = c->lr;
        o.alpha           = c->alpha;
        o.eps             = c->eps;
        o.weight_decay    = c->weight_decay;
        o.momentum        = c->momentum;
        o.centered        = c->centered;
        return nb_rmsprop_new(params, count, o);
    }
    bool         adamw = strcmp(c->kind, "adamw") == 0;
    nb_adam_opts o     = adamw ? nb_adamw_defaults() : nb_adam_defaults();
    o.lr               = c->lr;
    o.beta1            = c->beta1;
    o.beta2            = c->beta2;
    o.eps              = c->eps;
    o.weight_decay     = c->weight_decay;
    o.amsgrad          = c->amsgrad;
    return adamw ? nb_adamw_new(params, count, o) : nb_adam_new(params, count, o);
}

/* Every element of t within tol of expected (relative for |e| > 1). */
static bool values_near(const nb_tensor *t, const double *expected, double tol, const char *what, int step)
{
    double     got[64];
    int64_t    n   = nb_numel(t);
    nb_tensor *t64 = nb_to_dtype(t, NB_FLOAT64);
    nb_copy_to_buffer(t64, got, sizeof got);
    nb_free(t64);
    for (int64_t i = 0; i < n; i++) {
        double scale = fabs(expected[i]) > 1 ? fabs(expected[i]) : 1;
        if (!(fabs(got[i] - expected[i]) <= tol * scale)) {
            fprintf(stderr, "  %s step %d element %lld: %.17g, expected %.17g\n", what, step, (long long)i, got[i],
                    expected[i]);
            return false;
        }
    }
    return true;
}

/* Replay the fixture's gradients on case c; compare after every step. */
static void run_fixture_case(const optim_case *c, bool transposed, bool fused)
{
    nb_dtype   dtype     = c->float32 ? NB_FLOAT32 : NB_FLOAT64;
    double     tol       = c->float32 ? 2e-6 : 1e-12;
    nb_tensor *params[2] = {
        make_param(optim_initial, NB_SHAPE(3, 4), dtype, transposed),
        make_param(optim_initial + 12, NB_SHAPE(4), dtype, false),
    };
    nb_optim *o = make_optimizer(c, params, 2);
    NBT_CHECK(o != NULL);
    bool ok = o != NULL && nb_is_contiguous(params[0]) == !transposed;
    for (int step = 0; ok && step < OPTIM_STEPS; step++) {
        set_grad_values(params[0], optim_grads[step]);
        if (optim_b_has_grad[step])
            set_grad_values(params[1], optim_grads[step] + 12);
        else
            nb_set_grad(params[1], NULL);
        ok = nbi_optim_step(o, fused) == NB_OK && values_near(params[0], c->expected[step], tol, "W", step) &&
             values_near(params[1], c->expected[step] + 12, tol, "b", step);
    }
    nbt_checks++;
    if (!ok) {
        nbt_failures++;
        fprintf(stderr, "case %s (%s, %s) differs from torch: %s\n", c->name, transposed ? "transposed" : "contiguous",
                fused ? "fused" : "composite", nb_last_error());
    }
    nb_optim_free(o);
    nb_free(params[0]);
    nb_free(params[1]);
}

enum { NUM_CASES = (int)(sizeof optim_cases / sizeof optim_cases[0]) };

/* ------------------------------------------------------------------------ */
/* Optimizers against torch                                                  */
/* ------------------------------------------------------------------------ */

static void test_fused_steps_match_torch(void)
{
    for (int i = 0; i < NUM_CASES; i++)
        run_fixture_case(&optim_cases[i], false, true);
}

static void test_composite_steps_match_torch(void)
{
    for (int i = 0; i < NUM_CASES; i++)
        run_fixture_case(&optim_cases[i], false, false);
}

/* A transposed (non-contiguous) parameter takes the composite path even
 * when fused loops are allowed. */
static void test_noncontiguous_parameter_matches_torch(void)
{
    for (int i = 0; i < NUM_CASES; i++)
        run_fixture_case(&optim_cases[i], true, true);
}

/* The largest |a - b| over two tensors of one shape, as float64. */
static double max_difference(const nb_tensor *a, const nb_tensor *b)
{
    nb_scope_begin();
    nb_tensor *diff  = nb_max(nb_abs(nb_sub(nb_to_dtype(a, NB_FLOAT64), nb_to_dtype(b, NB_FLOAT64))));
    double     worst = diff ? nb_item(diff) : INFINITY;
    nb_scope_end();
    return worst;
}

/* The fused loops do the composite's arithmetic: on a parameter large
 * enough to be split across threads (plus a small and a 0-d one), two
 * steps agree. */
static void test_fused_matches_composite_large(void)
{
    nb_manual_seed(11);
    const nb_shape shapes[3] = {NB_SHAPE(182, 181), NB_SHAPE(7), NB_SCALAR_SHAPE};
    nb_scope_begin();                       /* every tensor below; the optimizers' state is theirs */
    nb_tensor *init[2][3], *grads[2][2][3]; /* [float32][step][param] */
    for (int f = 0; f < 2; f++)
        for (int k = 0; k < 3; k++) {
            nb_opts opts = NB_OPTS(.dtype = f ? NB_FLOAT32 : NB_FLOAT64);
            init[f][k]   = nb_randn(shapes[k], opts);
            for (int step = 0; step < 2; step++)
                grads[f][step][k] = nb_normal(0, step + 0.5, shapes[k], opts);
        }
    for (int i = 0; i < NUM_CASES; i++) {
        const optim_case *c = &optim_cases[i];
        int               f = c->float32;
        nb_scope_begin();
        nb_tensor *fused[3], *composite[3];
        for (int k = 0; k < 3; k++) {
            fused[k]     = nb_clone(init[f][k]);
            composite[k] = nb_clone(init[f][k]);
            nb_requires_grad_(fused[k], true);
            nb_requires_grad_(composite[k], true);
        }
        nb_optim *a = make_optimizer(c, fused, 3), *b = make_optimizer(c, composite, 3);
        for (int step = 0; step < 2; step++) {
            for (int k = 0; k < 3; k++) {
                nb_set_grad(fused[k], grads[f][step][k]);
                nb_set_grad(composite[k], grads[f][step][k]);
            }
            NBT_CHECK(nbi_optim_step(a, true) == NB_OK);
            NBT_CHECK(nbi_optim_step(b, false) == NB_OK);
        }
        double worst = 0;
        for (int k = 0; k < 3; k++) {
            double d = max_difference(fused[k], composite[k]);
            worst    = d > worst ? d : worst;
        }
        if (!(worst <= (f ? 1e-6 : 1e-14))) fprintf(stderr, "  %s: fused - composite = %g\n", c->name, worst);
        NBT_CHECK(worst <= (f ? 1e-6 : 1e-14));
        nb_optim_free(a);
        nb_optim_free(b);
        nb_scope_end();
    }
    nb_scope_end();
}

/* Running out of memory in a step changes nothing: every state buffer is
 * made before the first parameter is written. For every configuration and
 * two steps, a step under each allocation budget too small for it fails with
 * NB_ERR_OOM and leaves the parameters as they were; the step that finally
 * succeeds gives the parameters of an optimizer that never failed (so no
 * step count or first-step flag moved on a failure). */
static void test_step_out_of_memory_changes_nothing(void)
{
    NBT_CHECK(nb_set_allocator(nbt_budget_alloc, nbt_budget_release, NULL) == NB_OK);
    nb_manual_seed(5);
    const nb_shape shapes[2] = { NB_SHAPE(3, 4), NB_SHAPE(5) };
    for (int i = 0; i < NUM_CASES; i++) {
        const optim_case *c    = &optim_cases[i];
        nb_opts           opts = NB_OPTS(.dtype = c->float32 ? NB_FLOAT32 : NB_FLOAT64);
        nb_scope_begin();
        nb_tensor *tried[2], *clean[2];
        for (int k = 0; k < 2; k++) {
            tried[k] = nb_randn(shapes[k], opts);
            clean[k] = nb_clone(tried[k]);
            nb_requires_grad_(tried[k], true);
            nb_requires_grad_(clean[k], true);
        }
        nb_optim *a = make_optimizer(c, tried, 2), *b = make_optimizer(c, clean, 2);
        int       failures = 0;
        for (int step = 0; step < 2; step++) {
            for (int k = 0; k < 2; k++) {
                nb_tensor *g = nb_randn(shapes[k], opts);
                nb_set_grad(tried[k], g);
                nb_set_grad(clean[k], g);
            }
            nb_tensor *before[2] = { nb_clone(tried[0]), nb_clone(tried[1]) };
            nb_status  status    = NB_ERR_OOM;
            for (int64_t budget = 0; budget < 8 && status != NB_OK; budget++) {
                nb_empty_cache();
                *nbt_alloc_budget() = budget;
                status              = nb_optim_step(a);
                *nbt_alloc_budget() = -1;
                if (status != NB_OK) {
                    failures++;
                    NBT_CHECK_ERROR(NB_ERR_OOM, "no parameter was updated");
                    NBT_CHECK(max_difference(tried[0], before[0]) == 0 && max_difference(tried[1], before[1]) == 0);
                }
            }
            NBT_CHECK(status == NB_OK && nb_optim_step(b) == NB_OK);
            NBT_CHECK(max_difference(tried[0], clean[0]) == 0 && max_difference(tried[1], clean[1]) == 0);
        }
        /* Every configuration keeps state but SGD without momentum, so its
         * first step failed at least at budget 0. */
        bool stateful = strcmp(c->kind, "sgd") != 0 || c->momentum != 0;
        if (stateful && failures == 0) fprintf(stderr, "  %s: no step ever failed\n", c->name);
        NBT_CHECK(!stateful || failures > 0);
        nb_optim_free(a);
        nb_optim_free(b);
        nb_scope_end();
    }
    NBT_CHECK(nb_set_allocator(NULL, NULL, NULL) == NB_OK);
}

/* Results of the fused loops do not depend on the thread count. */
static void test_fused_independent_of_threads(void)
{
    int threads = nb_get_num_threads();
    nb_manual_seed(5);
    nb_tensor *init = nb_randn(NB_SHAPE(300, 300), NB_OPTS());
    nb_tensor *grad = nb_randn(NB_SHAPE(300, 300), NB_OPTS());
    nb_tensor *p[2] = {nb_clone(init), nb_clone(init)};
    nb_optim  *o[2];
    for (int k = 0; k < 2; k++) {
        nb_requires_grad_(p[k], true);
        nb_adam_opts opts = nb_adamw_defaults();
        opts.amsgrad      = true;
        o[k]              = nb_adamw_new(&p[k], 1, opts);
        nb_set_num_threads(k == 0 ? 1 : 2);
        for (int step = 0; step < 2; step++) {
            nb_set_grad(p[k], grad);
            NBT_CHECK(nb_optim_step(o[k]) == NB_OK);
        }
    }
    nb_set_num_threads(threads);
    NBT_CHECK(max_difference(p[0], p[1]) == 0);
    NBT_CHECK(max_difference(p[0], init) > 0);
    for (int k = 0; k < 2; k++) {
        nb_optim_free(o[k]);
        nb_free(p[k]);
    }
    nb_free(init);
    nb_free(grad);
}

/* ------------------------------------------------------------------------ */
/* Behaviour around the step                                                 */
/* ------------------------------------------------------------------------ */

static void test_defaults(void)
{
    nb_sgd_opts sgd = nb_sgd_defaults(0.25);
    NBT_CHECK(sgd.lr == 0.25 && sgd.momentum == 0 && sgd.dampening == 0 && !sgd.nesterov && sgd.weight_decay == 0);
    nb_adam_opts adam = nb_adam_defaults();
    NBT_CHECK(adam.lr == 1e-3 && adam.beta1 == 0.9 && adam.beta2 == 0.999 && adam.eps == 1e-8);
    NBT_CHECK(adam.weight_decay == 0 && !adam.amsgrad);
    nb_adam_opts adamw = nb_adamw_defaults();
    NBT_CHECK(adamw.lr == 1e-3 && adamw.beta1 == 0.9 && adamw.beta2 == 0.999 && adamw.eps == 1e-8);
    NBT_CHECK(adamw.weight_decay == 1e-2 && !adamw.amsgrad);
    nb_rmsprop_opts rms = nb_rmsprop_defaults();
    NBT_CHECK(rms.lr == 1e-2 && rms.alpha == 0.99 && rms.eps == 1e-8 && rms.weight_decay == 0);
    NBT_CHECK(rms.momentum == 0 && !rms.centered);
}

/* 0-d and empty parameters; a parameter without a gradient is skipped. */
static void test_scalar_and_empty_parameters(void)
{
    nb_tensor  *scalar    = nb_scalar(1.0, NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor  *empty     = nb_zeros(NB_SHAPE(0, 3), NB_OPTS(.requires_grad = true));
    nb_tensor  *idle      = nb_ones(NB_SHAPE(2), NB_OPTS(.requires_grad = true));
    nb_tensor  *params[3] = {scalar, empty, idle};
    nb_sgd_opts opts      = nb_sgd_defaults(0.1);
    opts.momentum         = 0.9;
    nb_optim  *o          = nb_sgd_new(params, 3, opts);
    nb_tensor *half       = nb_scalar(0.5, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *no_values  = nb_zeros(NB_SHAPE(0, 3), NB_OPTS());
    nb_set_grad(empty, no_values);
    for (int step = 0; step < 2; step++) {
        nb_set_grad(scalar, half);
        NBT_CHECK(nb_optim_step(o) == NB_OK);
    }
    /* 1 - 0.1 * 0.5 = 0.95; then buf = 0.9 * 0.5 + 0.5 = 0.95: 0.95 - 0.095 */
    NBT_CHECK_TENSOR(scalar, NB_SCALAR_SHAPE, 1e-15, 0.855);
    NBT_CHECK_TENSOR(idle, NB_SHAPE(2), 0, 1, 1);
    NBT_CHECK(nb_numel(empty) == 0);
    nb_optim_free(o);

    /* Adam's first step moves by lr * g / (|g| + eps). */
    nb_adam_opts adam = nb_adam_defaults();
    adam.lr           = 0.1;
    o                 = nb_adam_new(&scalar, 1, adam);
    nb_set_grad(scalar, half);
    NBT_CHECK(nb_optim_step(o) == NB_OK);
    NBT_CHECK_TENSOR(scalar, NB_SCALAR_SHAPE, 1e-14, 0.855 - 0.1 * 0.5 / (0.5 + 1e-8));
    nb_optim_free(o);
    nb_free(half);
    nb_free(no_values);
    nb_free(scalar);
    nb_free(empty);
    nb_free(idle);
}

/* The step is not recorded, leaves stay leaves, grad mode is restored, and
 * the step works inside nb_no_grad_begin too. */
static void test_step_is_not_recorded(void)
{
    nb_tensor *w = nb_ones(NB_SHAPE(3), NB_OPTS(.requires_grad = true));
    nb_optim  *o = nb_adamw_new(&w, 1, nb_adamw_defaults());
    nb_scope_begin();
    nb_tensor *loss = nb_sum(nb_mul(w, w));
    NBT_CHECK(nb_backward(loss) == NB_OK);
    NBT_CHECK(nb_optim_step(o) == NB_OK);
    NBT_CHECK(nb_is_grad_enabled());
    NBT_CHECK(nb_is_leaf(w) && nb_grad_fn_name(w) == NULL && nb_requires_grad(w));
    nb_no_grad_begin();
    NBT_CHECK(nb_optim_step(o) == NB_OK);
    nb_no_grad_end();
    NBT_CHECK(nb_is_grad_enabled() && nb_is_leaf(w));
    nb_scope_end();
    nb_optim_free(o);
    nb_free(w);
}

/* A step writes the parameter in place, so a graph that saved it can no
 * longer run backward (torch: "modified by an inplace operation"). */
static void test_step_bumps_version(void)
{
    for (int fused = 0; fused < 2; fused++) {
        nb_tensor *w = nb_ones(NB_SHAPE(3), NB_OPTS(.requires_grad = true));
        nb_optim  *o = nb_sgd_new(&w, 1, nb_sgd_defaults(0.1));
        nb_scope_begin();
        nb_tensor *loss = nb_sum(nb_mul(w, w));
        nb_tensor *ones = nb_ones(NB_SHAPE(3), NB_OPTS());
        nb_set_grad(w, ones);
        NBT_CHECK(nbi_optim_step(o, fused) == NB_OK);
        NBT_CHECK_TENSOR(w, NB_SHAPE(3), 1e-7, 0.9, 0.9, 0.9);
        NBT_CHECK(nb_backward(loss) == NB_ERR_STATE);
        nb_clear_error();
        nb_scope_end();
        nb_optim_free(o);
        nb_free(w);
    }
}

/* State made during a step inside a scope belongs to the optimizer: the
 * scope's end does not free it, nb_optim_free does (NBT_RUN counts). */
static void test_state_outlives_scopes(void)
{
    nb_tensor      *w    = nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_rmsprop_opts opts = nb_rmsprop_defaults();
    opts.momentum        = 0.5;
    opts.centered        = true;
    nb_optim *o          = nb_rmsprop_new(&w, 1, opts);
    int64_t   live       = nb_live_tensors();
    for (int step = 0; step < 2; step++) {
        nb_scope_begin();
        nb_tensor *g = nb_full(NB_SHAPE(2), 1.0, NB_OPTS(.dtype = NB_FLOAT64));
        nb_set_grad(w, g);
        NBT_CHECK(nbi_optim_step(o, step == 0) == NB_OK);
        nb_scope_end();
    }
    NBT_CHECK(nb_live_tensors() == live + 4); /* the grad and three buffers */
    /* sq = 0.01, ga = 0.01: avg = sqrt(0.01 - 1e-4) + 1e-8; buf = 1 / avg;
     * then sq = 0.0199, ga = 0.0199, avg = sqrt(0.0199 - 0.0199^2) + 1e-8. */
    double avg1 = sqrt(0.01 - 1e-4) + 1e-8, buf1 = 1 / avg1;
    double avg2 = sqrt(0.0199 - 0.0199 * 0.0199) + 1e-8, buf2 = 0.5 * buf1 + 1 / avg2;
    double w2 = -0.01 * buf1 - 0.01 * buf2;
    NBT_CHECK_TENSOR(w, NB_SHAPE(2), 1e-12, w2, w2);
    nb_optim_free(o);
    nb_free(w);
}

static void test_zero_grad_and_lr(void)
{
    nb_tensor *a         = nb_ones(NB_SHAPE(2), NB_OPTS(.requires_grad = true));
    nb_tensor *b         = nb_ones(NB_SHAPE(3), NB_OPTS(.requires_grad = true));
    nb_tensor *params[2] = {a, b};
    nb_optim  *o         = nb_sgd_new(params, 2, nb_sgd_defaults(0.5));
    nb_tensor *g         = nb_ones(NB_SHAPE(2), NB_OPTS());
    nb_set_grad(a, g);
    nb_optim_zero_grad(o);
    NBT_CHECK(nb_grad(a) == NULL && nb_grad(b) == NULL); /* set_to_none */
    NBT_CHECK(nb_optim_step(o) == NB_OK);                /* nothing to do */
    NBT_CHECK_TENSOR(a, NB_SHAPE(2), 0, 1, 1);

    NBT_CHECK(nb_optim_lr(o) == 0.5);
    nb_optim_set_lr(o, 0.25);
    NBT_CHECK(nb_optim_lr(o) == 0.25);
    nb_set_grad(a, g);
    NBT_CHECK(nb_optim_step(o) == NB_OK);
    NBT_CHECK_TENSOR(a, NB_SHAPE(2), 0, 0.75, 0.75);
    nb_optim_set_lr(o, -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_optim_set_lr: Invalid learning rate: -1.0");
    nb_optim_set_lr(o, NAN);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Invalid learning rate: nan");
    NBT_CHECK(nb_optim_lr(o) == 0.25);
    nb_optim_set_lr(o, 0);
    NBT_CHECK(nb_optim_lr(o) == 0);

    nb_optim_zero_grad(NULL);
    nb_optim_free(NULL);
    NBT_CHECK(isnan(nb_optim_lr(NULL)));
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_optim_lr: argument 'o' is NULL");
    nb_optim_set_lr(NULL, 0.1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_optim_set_lr: argument 'o' is NULL");
    nb_optim_free(o);
    nb_free(g);
    nb_free(a);
    nb_free(b);
}

/* Minimise |w - target|^2 through backward with each optimizer. */
static void test_training_converges(void)
{
    const double target[3] = {1.5, -2.0, 0.25};
    for (int kind = 0; kind < 4; kind++) {
        nb_tensor   *w      = nb_zeros(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
        nb_tensor   *t      = nb_from_data(target, NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64));
        nb_sgd_opts  sgd    = nb_sgd_defaults(0.1);
        nb_adam_opts adam   = kind == 1 ? nb_adam_defaults() : nb_adamw_defaults();
        adam.lr             = 0.05;
        adam.weight_decay   = 0;
        nb_rmsprop_opts rms = nb_rmsprop_defaults();
        sgd.momentum        = 0.5;
        nb_optim *o         = kind == 0   ? nb_sgd_new(&w, 1, sgd)
                              : kind == 3 ? nb_rmsprop_new(&w, 1, rms)
                              : kind == 1 ? nb_adam_new(&w, 1, adam)
                                          : nb_adamw_new(&w, 1, adam);
        for (int step = 0; step < 300; step++) {
            nb_scope_begin();
            nb_optim_zero_grad(o);
            nb_tensor *diff = nb_sub(w, t);
            nb_backward(nb_sum(nb_mul(diff, diff)));
            nb_optim_step(o);
            nb_scope_end();
        }
        NBT_CHECK(max_difference(w, t) < 0.05);
        nb_optim_free(o);
        nb_free(w);
        nb_free(t);
    }
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static void test_hyperparameter_errors(void)
{
    nb_tensor  *w   = nb_ones(NB_SHAPE(2), NB_OPTS(.requires_grad = true));
    nb_sgd_opts sgd = nb_sgd_defaults(-0.1);
    NBT_CHECK(nb_sgd_new(&w, 1, sgd) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_sgd_new: Invalid learning rate: -0.1");
    sgd = nb_sgd_defaults(0.1), sgd.momentum = -1;
    NBT_CHECK(nb_sgd_new(&w, 1, sgd) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Invalid momentum value: -1.0");
    sgd = nb_sgd_defaults(0.1), sgd.weight_decay = -1e-8;
    NBT_CHECK(nb_sgd_new(&w, 1, sgd) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Invalid weight_decay value: -1e-08");
    sgd = nb_sgd_defaults(0.1), sgd.nesterov = true;
    NBT_CHECK(nb_sgd_new(&w, 1, sgd) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Nesterov momentum requires a momentum and zero dampening");
    sgd.momentum = 0.9, sgd.dampening = 0.1;
    NBT_CHECK(nb_sgd_new(&w, 1, sgd) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Nesterov momentum requires a momentum and zero dampening");

    nb_adam_opts adam = nb_adam_defaults();
    adam.lr           = NAN;
    NBT_CHECK(nb_adam_new(&w, 1, adam) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_adam_new: Invalid learning rate: nan");
    adam = nb_adam_defaults(), adam.eps = -1;
    NBT_CHECK(nb_adam_new(&w, 1, adam) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Invalid epsilon value: -1.0");
    adam = nb_adam_defaults(), adam.beta1 = 1.0;
    NBT_CHECK(nb_adam_new(&w, 1, adam) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Invalid beta parameter at index 0: 1.0");
    adam = nb_adamw_defaults(), adam.beta2 = -0.5;
    NBT_CHECK(nb_adamw_new(&w, 1, adam) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_adamw_new: Invalid beta parameter at index 1: -0.5");
    adam = nb_adamw_defaults(), adam.weight_decay = -0.01;
    NBT_CHECK(nb_adamw_new(&w, 1, adam) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "Invalid weight_decay value: -0.01");

    const char *rms_fields[] = {"learning rate", "epsilon value", "momentum value", "weight_decay value",
                                "alpha value"};
    for (int field = 0; field < 5; field++) {
        nb_rmsprop_opts rms     = nb_rmsprop_defaults();
        double         *value[] = {&rms.lr, &rms.eps, &rms.momentum, &rms.weight_decay, &rms.alpha};
        *value[field]           = -2.5;
        char expected[80];
        snprintf(expected, sizeof expected, "nb_rmsprop_new: Invalid %s: -2.5", rms_fields[field]);
        NBT_CHECK(nb_rmsprop_new(&w, 1, rms) == NULL);
        NBT_CHECK_ERROR(NB_ERR_ARG, expected);
    }
    nb_free(w);
}

static void test_parameter_errors(void)
{
    nb_tensor  *w   = nb_ones(NB_SHAPE(2), NB_OPTS(.requires_grad = true));
    nb_sgd_opts sgd = nb_sgd_defaults(0.1);
    NBT_CHECK(nb_sgd_new(&w, 0, sgd) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_sgd_new: optimizer got an empty parameter list");
    NBT_CHECK(nb_adam_new(&w, -1, nb_adam_defaults()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_adam_new: count must be >= 0, got -1");
    NBT_CHECK(nb_rmsprop_new(NULL, 2, nb_rmsprop_defaults()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_rmsprop_new: argument 'params' is NULL");

    nb_tensor *with_null[2] = {w, NULL};
    NBT_CHECK(nb_sgd_new(with_null, 2, sgd) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_sgd_new: argument 'params[1]' is NULL");

    nb_tensor *frozen = nb_ones(NB_SHAPE(2), NB_OPTS());
    NBT_CHECK(nb_sgd_new(&frozen, 1, sgd) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "params[0] does not require grad");
    nb_tensor *ints = nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_adamw_new(&ints, 1, nb_adamw_defaults()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "params[0] is int64: only floating-point tensors can be optimized");

    nb_tensor *made = nb_mul_scalar(w, 2);
    NBT_CHECK(nb_sgd_new(&made, 1, sgd) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "params[0] is not a leaf (made by");

    nb_tensor *one      = nb_ones(NB_SHAPE(1), NB_OPTS());
    nb_tensor *expanded = nb_expand(one, NB_SHAPE(4));
    nb_requires_grad_(expanded, true);
    NBT_CHECK(nb_sgd_new(&expanded, 1, sgd) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "params[0] is an expanded view");

    nb_tensor *twice[3] = {frozen, w, w};
    nb_requires_grad_(frozen, true);
    NBT_CHECK(nb_sgd_new(twice, 3, sgd) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "params[2] is the same tensor as params[1]");

    NBT_CHECK(nb_optim_step(NULL) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_optim_step: argument 'o' is NULL");
    /* A NULL optimizer from a failed constructor keeps the first error. */
    NBT_CHECK(nb_optim_step(nb_sgd_new(&w, 0, sgd)) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "empty parameter list");

    nb_free(made);
    nb_free(expanded);
    nb_free(one);
    nb_free(ints);
    nb_free(frozen);
    nb_free(w);
}

static void test_format_float(void)
{
    const double values[] = {
        0.1,    1.0, 1e-8,     100.0, 123.456, 1.5e16, 1e16, -0.0, 1e-4, 1e-5, 1234567890123456.0, 0.30000000000000004,
        2.5e-7, NAN, -INFINITY};
    const char *const expected[] = {"0.1",
                                    "1.0",
                                    "1e-08",
                                    "100.0",
                                    "123.456",
                                    "1.5e+16",
                                    "1e+16",
                                    "-0.0",
                                    "0.0001",
                                    "1e-05",
                                    "1234567890123456.0",
                                    "0.30000000000000004",
                                    "2.5e-07",
                                    "nan",
                                    "-inf"};
    for (int i = 0; i < (int)(sizeof values / sizeof values[0]); i++) {
        char buf[48];
        nbi_format_float(values[i], buf, sizeof buf);
        if (strcmp(buf, expected[i]) != 0) fprintf(stderr, "  format: %s, expected %s\n", buf, expected[i]);
        NBT_CHECK(strcmp(buf, expected[i]) == 0);
    }
}

/* ------------------------------------------------------------------------ */
/* clip_grad_norm                                                            */
/* ------------------------------------------------------------------------ */

static void test_clip_grad_norm_matches_torch(void)
{
    for (size_t i = 0; i < sizeof clip_cases / sizeof clip_cases[0]; i++) {
        const clip_case *c         = &clip_cases[i];
        nb_dtype         dtype     = c->float32 ? NB_FLOAT32 : NB_FLOAT64;
        double           tol       = c->float32 ? 2e-6 : 1e-12;
        nb_tensor       *params[3] = {nb_zeros(NB_SHAPE(2, 3), NB_OPTS(.dtype = dtype, .requires_grad = true)),
                                      nb_zeros(NB_SHAPE(4), NB_OPTS(.dtype = dtype, .requires_grad = true)),
                                      nb_zeros(NB_SHAPE(5), NB_OPTS(.dtype = dtype, .requires_grad = true))};
        set_grad_values(params[0], clip_grads);
        set_grad_values(params[1], clip_grads + 6);
        double total = -1;
        NBT_CHECK(nb_clip_grad_norm(params, 3, c->max_norm, c->norm_type, &total) == NB_OK);
        NBT_CHECK_NEAR(total, c->total, tol * c->total);
        NBT_CHECK(values_near(nb_grad(params[0]), c->clipped, tol, "clip", (int)i));
        NBT_CHECK(values_near(nb_grad(params[1]), c->clipped + 6, tol, "clip", (int)i));
        NBT_CHECK(nb_grad(params[2]) == NULL);
        for (int k = 0; k < 3; k++)
            nb_free(params[k]);
    }
}

static void test_clip_grad_norm_edges(void)
{
    nb_tensor *a         = nb_zeros(NB_SHAPE(2), NB_OPTS(.requires_grad = true));
    nb_tensor *b         = nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *params[2] = {a, b};
    double     total     = -1;
    /* No gradients: total 0. */
    NBT_CHECK(nb_clip_grad_norm(params, 2, 1.0, 2.0, &total) == NB_OK && total == 0);
    NBT_CHECK(nb_clip_grad_norm(params, 0, 1.0, 2.0, NULL) == NB_OK);

    /* float32 [3, 4] with an empty float64 grad: norms 5, 7 and 4. */
    const float  values[2]   = {3, 4};
    nb_tensor   *g           = nb_from_data(values, NB_SHAPE(2), NB_OPTS());
    nb_tensor   *none        = nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_FLOAT64));
    const double norms[3][2] = {{2.0, 5.0}, {1.0, 7.0}, {INFINITY, 4.0}};
    for (int k = 0; k < 3; k++) {
        nb_set_grad(a, g);
        nb_set_grad(b, none);
        NBT_CHECK(nb_clip_grad_norm(params, 2, 1.0, norms[k][0], &total) == NB_OK);
        NBT_CHECK_NEAR(total, norms[k][1], 1e-6);
        double coef = 1.0 / (norms[k][1] + 1e-6);
        NBT_CHECK_TENSOR(nb_grad(a), NB_SHAPE(2), 1e-6, 3 * coef, 4 * coef);
        NBT_CHECK(nb_numel(nb_grad(b)) == 0);
    }
    /* Under max_norm: untouched. NULL total_norm is allowed. */
    nb_set_grad(a, g);
    NBT_CHECK(nb_clip_grad_norm(params, 2, 10.0, 2.0, NULL) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(a), NB_SHAPE(2), 0, 3, 4);
    /* A NaN gradient makes the total and every gradient NaN, as torch. */
    nb_tensor  *nan         = nb_full(NB_SHAPE(0), NAN, NB_OPTS(.dtype = NB_FLOAT64));
    const float with_nan[2] = {3, NAN};
    nb_tensor  *bad         = nb_from_data(with_nan, NB_SHAPE(2), NB_OPTS());
    nb_set_grad(a, bad);
    NBT_CHECK(nb_clip_grad_norm(params, 2, 1.0, 2.0, &total) == NB_OK && isnan(total));
    NBT_CHECK_TENSOR(nb_grad(a), NB_SHAPE(2), 0, NAN, NAN);

    NBT_CHECK(nb_clip_grad_norm(params, 2, -1.0, 2.0, &total) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_clip_grad_norm: max_norm must be >= 0, got -1");
    NBT_CHECK(nb_clip_grad_norm(params, 2, 1.0, 0.0, &total) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "norm_type must be positive");
    NBT_CHECK(nb_clip_grad_norm(params, 2, 1.0, NAN, &total) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "norm_type must be positive");
    NBT_CHECK(nb_clip_grad_norm(params, -1, 1.0, 2.0, &total) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "count must be >= 0");
    NBT_CHECK(nb_clip_grad_norm(NULL, 1, 1.0, 2.0, &total) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_clip_grad_norm: argument 'params' is NULL");
    nb_tensor *with_null[2] = {a, NULL};
    NBT_CHECK(nb_clip_grad_norm(with_null, 2, 1.0, 2.0, &total) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "argument 'params[1]' is NULL");

    nb_free(nan);
    nb_free(bad);
    nb_free(g);
    nb_free(none);
    nb_free(a);
    nb_free(b);
}

/* nb_adam_for(model) is nb_adam_new over nb_module_parameters: the same
 * steps, bit for bit. */
static void test_optimizer_for_module(void)
{
    nb_module *models[2];
    nb_optim  *opts[2];
    for (int k = 0; k < 2; k++) {
        nb_manual_seed(8);
        nb_module *layers[] = { nb_linear_new(5, 4, true), nb_relu_new(), nb_linear_new(4, 3, true) };
        models[k]           = nb_sequential_new(layers, 3);
        if (k == 0) {
            nb_tensor *params[8];
            int64_t    count = nb_module_parameters(models[k], params, NULL, 8);
            NBT_CHECK(count == 4);
            opts[k] = nb_adam_new(params, count, nb_adam_defaults());
        } else {
            opts[k] = nb_adam_for(models[k], nb_adam_defaults());
        }
        NBT_CHECK(opts[k] != NULL);
    }
    nb_manual_seed(9);
    nb_tensor *x = nb_randn(NB_SHAPE(6, 5), NB_OPTS());
    for (int step = 0; step < 3; step++)
        for (int k = 0; k < 2; k++) {
            nb_optim_zero_grad(opts[k]);
            nb_scope_begin();
            NBT_CHECK(nb_backward(nb_sum(nb_module_forward(models[k], x))) == NB_OK);
            NBT_CHECK(nb_optim_step(opts[k]) == NB_OK);
            nb_scope_end();
        }
    const char *names[] = { "0.weight", "0.bias", "2.weight", "2.bias" };
    for (int i = 0; i < 4; i++) {
        nb_scope_begin();
        nb_tensor *a = nb_module_tensor(models[0], names[i]), *b = nb_module_tensor(models[1], names[i]);
        NBT_CHECK(nb_item(nb_max(nb_abs(nb_sub(a, b)))) == 0);
        nb_scope_end();
    }
    NBT_CHECK(nb_sgd_for(NULL, nb_sgd_defaults(0.1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_sgd_for: argument 'm' is NULL");
    nb_module *relu = nb_relu_new();
    NBT_CHECK(nb_rmsprop_for(relu, nb_rmsprop_defaults()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_rmsprop_for: the ReLU module has no parameters");
    nb_module_free(relu);
    nb_free(x);
    for (int k = 0; k < 2; k++) {
        nb_optim_free(opts[k]);
        nb_module_free(models[k]);
    }
}

int main(void)
{
    NBT_RUN(test_fused_steps_match_torch);
    NBT_RUN(test_composite_steps_match_torch);
    NBT_RUN(test_noncontiguous_parameter_matches_torch);
    NBT_RUN(test_fused_matches_composite_large);
    NBT_RUN(test_fused_independent_of_threads);
    NBT_RUN(test_step_out_of_memory_changes_nothing);
    NBT_RUN(test_defaults);
    NBT_RUN(test_scalar_and_empty_parameters);
    NBT_RUN(test_step_is_not_recorded);
    NBT_RUN(test_step_bumps_version);
    NBT_RUN(test_state_outlives_scopes);
    NBT_RUN(test_zero_grad_and_lr);
    NBT_RUN(test_training_converges);
    NBT_RUN(test_hyperparameter_errors);
    NBT_RUN(test_parameter_errors);
    NBT_RUN(test_format_float);
    NBT_RUN(test_clip_grad_norm_matches_torch);
    NBT_RUN(test_clip_grad_norm_edges);
    NBT_RUN(test_optimizer_for_module);
    return nbt_finish();
}
