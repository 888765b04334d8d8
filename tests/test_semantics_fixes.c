/*
 * test_semantics_fixes.c — the autograd and semantics bugs of issue 8, each
 * pinned by the values PyTorch 1.13 gives (the expected numbers below were
 * printed by torch 1.13 on the CPU unless a comment says nabla deliberately
 * differs), so that a regression shows as a wrong number, not just a failed
 * gradcheck.
 */
#include "nb_test.h"

static nb_tensor *f64(nb_shape shape, const double *values, bool requires_grad)
{
    return nb_from_data(values, shape, NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = requires_grad));
}

/* backward of sum(y * w) (w NULL: of sum(y)); NB_OK or the failure. */
static nb_status backward_weighted(nb_tensor *y, const nb_tensor *w)
{
    nb_tensor *weighted = w ? nb_mul(y, w) : NULL;
    nb_tensor *loss     = nb_sum(w ? weighted : y);
    nb_status  status   = loss ? nb_backward(loss) : nb_last_status();
    nb_free(weighted);
    nb_free(loss);
    return status;
}

/* ------------------------------------------------------------------------ */
/* 3. nb_outer is recorded                                                   */
/* ------------------------------------------------------------------------ */

static nb_tensor *outer_fn(nb_tensor *const *x, int n, void *u) { (void)n; (void)u; return nb_outer(x[0], x[1]); }

static void test_outer_is_differentiable(void)
{
    nb_scope_begin();
    nb_tensor *a = f64(NB_SHAPE(3), (double[]){ 1, 2, 3 }, true);
    nb_tensor *b = f64(NB_SHAPE(2), (double[]){ 4, 5 }, true);
    nb_tensor *w = f64(NB_SHAPE(3, 2), (double[]){ 1, 2, 3, 4, 5, 6 }, false);
    nb_tensor *o = nb_outer(a, b);
    NBT_CHECK(nb_requires_grad(o));
    NBT_CHECK(backward_weighted(o, w) == NB_OK);
    /* torch 1.13: torch.outer(a, b) * w summed: a.grad, b.grad */
    NBT_CHECK_TENSOR(nb_grad(a), NB_SHAPE(3), 1e-12, 14, 32, 50);
    NBT_CHECK_TENSOR(nb_grad(b), NB_SHAPE(2), 1e-12, 22, 28);
    nb_tensor *inputs[2] = { nb_randn(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true)),
                             nb_randn(NB_SHAPE(4), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true)) };
    nbt_gradcheck("outer", outer_fn, inputs, 2, NULL, 2);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* 4. masked_select: gradients in row-major order, broadcast masks           */
/* ------------------------------------------------------------------------ */

static void test_masked_select_gradient_positions(void)
{
    nb_scope_begin();
    /* x = arange(6).reshape(2, 3).t(): (3, 2), not contiguous. */
    nb_tensor *leaf = f64(NB_SHAPE(2, 3), (double[]){ 0, 1, 2, 3, 4, 5 }, true);
    nb_tensor *x    = nb_t(leaf);
    nb_tensor *mask = nb_from_data((bool[]){ 1, 0, 0, 1, 1, 1 }, NB_SHAPE(3, 2), NB_OPTS(.dtype = NB_BOOL));
    nb_tensor *w    = f64(NB_SHAPE(4), (double[]){ 1, 2, 3, 4 }, false);
    nb_tensor *y    = nb_masked_select(x, mask);
    NBT_CHECK_TENSOR(y, NB_SHAPE(4), 0, 0, 4, 2, 5); /* torch 1.13 */
    NBT_CHECK(backward_weighted(y, w) == NB_OK);
    /* x.grad = [[1, 0], [0, 2], [3, 4]]: w[k] goes where y[k] came from.
     * NOTE: nabla deliberately differs from torch 1.13, which gives
     * [[1, 0], [0, 3], [2, 4]] here: its CPU masked_scatter_ fills a
     * non-contiguous zeros_like(x) in memory order (its own gradcheck of
     * this case fails). leaf.grad is x.grad transposed. */
    NBT_CHECK_TENSOR(nb_grad(leaf), NB_SHAPE(2, 3), 0, 1, 0, 3, 0, 2, 4);

    /* A mask broadcast along t's rows: torch 1.13 gives [[1, 0, 2], [3, 0, 4]]. */
    nb_tensor *t2 = f64(NB_SHAPE(2, 3), (double[]){ 1, 2, 3, 4, 5, 6 }, true);
    nb_tensor *m2 = nb_from_data((bool[]){ 1, 0, 1 }, NB_SHAPE(3), NB_OPTS(.dtype = NB_BOOL));
    nb_tensor *y2 = nb_masked_select(t2, m2);
    NBT_CHECK_TENSOR(y2, NB_SHAPE(4), 0, 1, 3, 4, 6);
    NBT_CHECK(backward_weighted(y2, w) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(t2), NB_SHAPE(2, 3), 0, 1, 0, 2, 3, 0, 4);

    /* t broadcast against a bigger mask: its gradient sums over the copies
     * (torch 1.13: [4, 4, 2]). */
    nb_tensor *t3 = f64(NB_SHAPE(3), (double[]){ 1, 2, 3 }, true);
    nb_tensor *m3 = nb_from_data((bool[]){ 1, 0, 1, 1, 1, 0 }, NB_SHAPE(2, 3), NB_OPTS(.dtype = NB_BOOL));
    nb_tensor *y3 = nb_masked_select(t3, m3);
    NBT_CHECK_TENSOR(y3, NB_SHAPE(4), 0, 1, 3, 1, 2);
    NBT_CHECK(backward_weighted(y3, w) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(t3), NB_SHAPE(3), 0, 4, 4, 2);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* 5. max_pool2d: the 2x2 / stride 2 fast path must not take dilation        */
/* ------------------------------------------------------------------------ */

static void test_max_pool2d_dilated_2x2(void)
{
    nb_scope_begin();
    double values[36];
    for (int i = 0; i < 36; i++) values[i] = (i * 7) % 36; /* a permutation of 0..35 */
    nb_tensor   *x       = f64(NB_SHAPE(1, 1, 6, 6), values, true);
    nb_tensor   *indices = NULL;
    nb_pool_opts opts    = { .kernel = { 2, 2 }, .stride = { 2, 2 }, .dilation = { 2, 2 } };
    nb_tensor   *y       = nb_max_pool2d(x, opts, &indices);
    /* torch 1.13: F.max_pool2d(x, 2, 2, 0, 2, return_indices=True) */
    NBT_CHECK_TENSOR(y, NB_SHAPE(1, 1, 2, 2), 0, 26, 28, 26, 26);
    NBT_CHECK_TENSOR(indices, NB_SHAPE(1, 1, 2, 2), 0, 14, 4, 14, 14);
    nb_tensor *w = f64(NB_SHAPE(1, 1, 2, 2), (double[]){ 1, 2, 3, 4 }, false);
    NBT_CHECK(backward_weighted(y, w) == NB_OK);
    nb_tensor *grad = nb_reshape(nb_grad(x), NB_SHAPE(36));
    NBT_CHECK_NEAR(nb_item(nb_select(grad, 0, 4)), 2, 0);
    NBT_CHECK_NEAR(nb_item(nb_select(grad, 0, 14)), 8, 0);
    NBT_CHECK_NEAR(nb_item(nb_sum(grad)), 10, 0);
    nb_free(indices);

    /* Dilation in one dim only, float32 (the other instance of the path). */
    nb_tensor *x32 = nb_to_dtype(x, NB_FLOAT32);
    opts.dilation[0] = 2, opts.dilation[1] = 1;
    NBT_CHECK_TENSOR(nb_max_pool2d(x32, opts, NULL), NB_SHAPE(1, 1, 2, 3), 0, 19, 33, 35, 31, 33, 23);
    opts.dilation[0] = 1, opts.dilation[1] = 2;
    NBT_CHECK_TENSOR(nb_max_pool2d(x32, opts, NULL), NB_SHAPE(1, 1, 3, 2), 0, 20, 34, 32, 32, 30, 22);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* 6. norm's gradient for every p                                            */
/* ------------------------------------------------------------------------ */

typedef struct {
    double p;
    double grad[5];
} norm_case;

static nb_tensor *norm_fn(nb_tensor *const *x, int n, void *u) { (void)n; return nb_norm_dims(x[0], *(double *)u, NB_DIMS(1), false); }

static void test_norm_backward_general_p(void)
{
    nb_scope_begin();
    const double v[5] = { 1.5, -0.5, 0, 2, -1 };
    /* torch 1.13: torch.norm(v, p).backward() */
    const norm_case cases[] = {
        { 0.5, { 3.5485473884966034, -6.146264369941972, 0, 3.073132184970986, -4.346065214951231 } },
        { 3, { 0.4177429950251502, -0.0464158883361278, 0, 0.7426542133780448, -0.1856635533445112 } },
        { 1.5, { 0.6732894803866709, -0.38872386274378773, 0, 0.7774477254875755, -0.5497385587103221 } },
        { -1, { 0, 0, 0, 0, 0 } }, /* the zero makes the norm 0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nb_tensor *x = f64(NB_SHAPE(5), v, true);
        NBT_CHECK(backward_weighted(nb_norm(x, cases[i].p), NULL) == NB_OK);
        NBT_CHECK(nbt_tensor_close(nb_grad(x), NB_SHAPE(5), cases[i].grad, 1e-12, 1e-12));
    }
    /* p = 0 counts nonzeros: torch gives no gradient at all (x.grad None). */
    nb_tensor *x0 = f64(NB_SHAPE(5), v, true);
    NBT_CHECK(backward_weighted(nb_norm(x0, 0), NULL) == NB_OK);
    NBT_CHECK(nb_grad(x0) == NULL);
    /* A zero vector: every p gives 0 (torch 1.13). */
    const double ps[] = { 0.5, 1, 1.5, 2, 3, INFINITY };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        nb_tensor *z = nb_zeros(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
        NBT_CHECK(backward_weighted(nb_norm(z, ps[i]), NULL) == NB_OK);
        NBT_CHECK_TENSOR(nb_grad(z), NB_SHAPE(3), 0, 0, 0, 0);
    }
    /* gradcheck / gradgradcheck away from zeros, over a dim. */
    double gp[] = { 0.5, 1.5, 3, -2 };
    for (size_t i = 0; i < sizeof gp / sizeof gp[0]; i++) {
        nb_tensor *r = nb_add_scalar(nb_rand(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_FLOAT64)), 0.5);
        nb_tensor *x = nb_detach(r);
        nb_requires_grad_(x, true);
        nbt_gradcheck("norm general p", norm_fn, &x, 1, &gp[i], 2);
    }
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* 7. std at zero spread, var with N - correction <= 0                       */
/* ------------------------------------------------------------------------ */

static void test_var_std_degenerate_gradients(void)
{
    nb_scope_begin();
    /* std of a constant: torch 1.13 gives 0 gradients (not 0/0). */
    nb_tensor *c = f64(NB_SHAPE(4), (double[]){ 2, 2, 2, 2 }, true);
    NBT_CHECK(backward_weighted(nb_std(c, 1), NULL) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(c), NB_SHAPE(4), 0, 0, 0, 0, 0);
    nb_tensor *c2 = nb_full(NB_SHAPE(2, 3), 2, NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    NBT_CHECK(backward_weighted(nb_std_dims(c2, NB_DIMS(1), 1, false), NULL) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(c2), NB_SHAPE(2, 3), 0, 0, 0, 0, 0, 0, 0);

    /* torch 1.13, torch.var / torch.std(x, dim=0, correction=k) of [1, 2, 4]: */
    const double v[3] = { 1, 2, 4 };
    struct {
        int64_t correction;
        bool    is_std;
        double  grad[3];
    } cases[] = {
        { 3, false, { -INFINITY, -INFINITY, INFINITY } }, /* N - correction = 0 */
        { 4, false, { 2.666666666666667, 0.666666666666667, -3.333333333333333 } }, /* -1 */
        { 3, true, { NAN, NAN, NAN } },
        { 4, true, { 0, 0, 0 } },
        { 2, true, { -0.6172133998483678, -0.154303349962092, 0.7715167498104596 } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int full = 0; full < 2; full++) {
            nb_tensor *x = f64(NB_SHAPE(3), v, true);
            nb_tensor *y = cases[i].is_std ? (full ? nb_std(x, cases[i].correction)
                                                   : nb_std_dims(x, NB_DIMS(0), cases[i].correction, false))
                                           : (full ? nb_var(x, cases[i].correction)
                                                   : nb_var_dims(x, NB_DIMS(0), cases[i].correction, false));
            NBT_CHECK(backward_weighted(y, NULL) == NB_OK);
            NBT_CHECK(nbt_tensor_close(nb_grad(x), NB_SHAPE(3), cases[i].grad, 1e-12, 1e-12));
        }
    }
    /* A constant with N - correction = 0: 2/0 * 0 = NaN, as torch. */
    nb_tensor *k = f64(NB_SHAPE(3), (double[]){ 2, 2, 2 }, true);
    NBT_CHECK(backward_weighted(nb_var_dims(k, NB_DIMS(0), 3, false), NULL) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(k), NB_SHAPE(3), 0, NAN, NAN, NAN);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* 8. products over an empty contracted dim                                  */
/* ------------------------------------------------------------------------ */

static void test_matmul_empty_contraction(void)
{
    nb_scope_begin();
    nb_opts grad64 = NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true);
    struct {
        nb_shape a, b, out;
        int      which; /* 0 matmul, 1 mm, 2 bmm, 3 dot */
    } cases[] = {
        { NB_SHAPE(0), NB_SHAPE(0), NB_SCALAR_SHAPE, 3 },
        { NB_SHAPE(0), NB_SHAPE(0), NB_SCALAR_SHAPE, 0 },
        { NB_SHAPE(2, 0), NB_SHAPE(0), NB_SHAPE(2), 0 },       /* mv */
        { NB_SHAPE(0), NB_SHAPE(0, 3), NB_SHAPE(3), 0 },       /* vm */
        { NB_SHAPE(2, 0), NB_SHAPE(0, 3), NB_SHAPE(2, 3), 1 },
        { NB_SHAPE(4, 2, 0), NB_SHAPE(4, 0, 3), NB_SHAPE(4, 2, 3), 2 },
        { NB_SHAPE(4, 2, 0), NB_SHAPE(0), NB_SHAPE(4, 2), 0 }, /* batched mv */
        { NB_SHAPE(0), NB_SHAPE(4, 0, 3), NB_SHAPE(4, 3), 0 }, /* batched vm */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nb_tensor *a = nb_zeros(cases[i].a, grad64), *b = nb_zeros(cases[i].b, grad64);
        nb_tensor *y = cases[i].which == 0 ? nb_matmul(a, b)
                       : cases[i].which == 1 ? nb_mm(a, b)
                       : cases[i].which == 2 ? nb_bmm(a, b)
                                             : nb_dot(a, b);
        NBT_CHECK(nbt_has_shape(y, cases[i].out));
        NBT_CHECK(y && nb_item(nb_sum(nb_abs(y))) == 0);
        NBT_CHECK(backward_weighted(y, NULL) == NB_OK);
        NBT_CHECK(nbt_has_shape(nb_grad(a), cases[i].a));
        NBT_CHECK(nbt_has_shape(nb_grad(b), cases[i].b));
    }
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* 9. binary formulas with an integer input and a float input needing grad   */
/* ------------------------------------------------------------------------ */

typedef nb_tensor *(*binary_op)(const nb_tensor *, const nb_tensor *);

static void test_mixed_integer_float_binary_gradients(void)
{
    nb_scope_begin();
    nb_tensor *ints = nb_from_data((int64_t[]){ 1, 2, 3 }, NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64));
    const double x[3] = { 0.5, 2, 1 };
    /* torch 1.13: d/dx sum(op(ints, x)) and d/dx sum(op(x, ints)). NOTE:
     * torch computes pow's log(ints) in float32 (the default float dtype),
     * and so does nabla: 4 * logf(2) = 2.7725887298583984. */
    struct {
        const char *name;
        binary_op   op;
        double      int_first[3], float_first[3];
    } cases[] = {
        { "add", nb_add, { 1, 1, 1 }, { 1, 1, 1 } },
        { "sub", nb_sub, { -1, -1, -1 }, { 1, 1, 1 } },
        { "mul", nb_mul, { 1, 2, 3 }, { 1, 2, 3 } },
        { "div", nb_div, { -4, -0.5, -3 }, { 1, 0.5, 0.3333333333333333 } },
        { "remainder", nb_remainder, { -2, -1, -3 }, { 1, 1, 1 } },
        { "pow", nb_pow, { 0, 4 * (double)logf(2), 3 * (double)logf(3) }, { 1, 4, 3 } },
        { "maximum", nb_maximum, { 0, 0.5, 0 }, { 0, 0.5, 0 } },
        { "minimum", nb_minimum, { 1, 0.5, 1 }, { 1, 0.5, 1 } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int int_first = 0; int_first < 2; int_first++) {
            nb_tensor *f = f64(NB_SHAPE(3), x, true);
            nb_tensor *y = int_first ? cases[i].op(ints, f) : cases[i].op(f, ints);
            nb_status  s = y ? backward_weighted(y, NULL) : nb_last_status();
            if (s != NB_OK) fprintf(stderr, "  %s: %s\n", cases[i].name, nb_last_error());
            NBT_CHECK(s == NB_OK);
            NBT_CHECK(nbt_tensor_close(nb_grad(f), NB_SHAPE(3),
                                       int_first ? cases[i].int_first : cases[i].float_first, 1e-12, 1e-12));
            nb_clear_error();
        }
    }
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* 10. scatter with an index smaller than src                                */
/* ------------------------------------------------------------------------ */

static nb_tensor *scatter_partial_fn(nb_tensor *const *x, int n, void *u)
{
    (void)n;
    nb_tensor *index = nb_from_data((int64_t[]){ 2, 0 }, NB_SHAPE(1, 2), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *out   = *(bool *)u ? nb_scatter_add(x[0], 0, index, x[1]) : nb_scatter(x[0], 0, index, x[1]);
    nb_free(index);
    return out;
}

static void test_scatter_gradient_shape_with_small_index(void)
{
    nb_scope_begin();
    nb_tensor *empty = nb_zeros(NB_SHAPE(0, 4), NB_OPTS(.dtype = NB_INT64));
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        /* src is a view (a row of a bigger base): a gradient of the wrong
         * shape written through it would land on the base. */
        nb_tensor *base = nb_ones(NB_SHAPE(2, 3, 4), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
        nb_tensor *src  = nb_select(base, 0, 1);
        nb_tensor *t    = nb_zeros(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
        nb_tensor *y    = accumulate ? nb_scatter_add(t, 0, empty, src) : nb_scatter(t, 0, empty, src);
        NBT_CHECK(backward_weighted(y, NULL) == NB_OK);
        NBT_CHECK(nbt_has_shape(nb_grad(base), NB_SHAPE(2, 3, 4)));
        NBT_CHECK(nb_grad(base) && nb_item(nb_sum(nb_abs(nb_grad(base)))) == 0);
        NBT_CHECK(nb_grad(t) && nb_item(nb_sum(nb_grad(t))) == 12);
    }
    /* An index covering part of src: only the elements it reaches get a
     * gradient. NOTE: torch 1.13 fails here ("ScatterBackward0 returned an
     * invalid gradient at index 1 - got [1, 2] but expected shape
     * compatible with [3, 4]"); nabla gives the gradient gradcheck agrees
     * with. */
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        bool       acc       = accumulate;
        nb_tensor *inputs[2] = { nb_randn(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true)),
                                 nb_randn(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true)) };
        nbt_gradcheck("scatter, small index", scatter_partial_fn, inputs, 2, &acc, 2);
        nb_tensor *w = nb_reshape(nb_arange(1, 13, 1, NB_OPTS(.dtype = NB_FLOAT64)), NB_SHAPE(3, 4));
        NBT_CHECK(backward_weighted(scatter_partial_fn(inputs, 2, &acc), w) == NB_OK);
        /* src[0][0] went to row 2, src[0][1] to row 0: w[2][0], w[0][1]. */
        NBT_CHECK_TENSOR(nb_grad(inputs[1]), NB_SHAPE(3, 4), 0, 9, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* 11. gradients at NaN inputs                                               */
/* ------------------------------------------------------------------------ */

static void test_gradients_at_nan(void)
{
    nb_scope_begin();
    /* torch 1.13 for each: */
    nb_tensor *x = f64(NB_SHAPE(4), (double[]){ NAN, -1, 0, 2 }, true);
    NBT_CHECK(backward_weighted(nb_relu(x), NULL) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(4), 0, 1, 0, 0, 1); /* relu'(NaN) = 1 */

    /* A NaN max/min: shared evenly among the NaNs (MaxBackward1). */
    nb_tensor *m = f64(NB_SHAPE(4), (double[]){ 1, NAN, 3, NAN }, true);
    NBT_CHECK(backward_weighted(nb_max(m), NULL) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(m), NB_SHAPE(4), 0, 0, 0.5, 0, 0.5);
    nb_tensor *n = f64(NB_SHAPE(4), (double[]){ 1, NAN, -3, NAN }, true);
    NBT_CHECK(backward_weighted(nb_min(n), NULL) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(n), NB_SHAPE(4), 0, 0, 0.5, 0, 0.5);
    nb_tensor *one_nan = f64(NB_SHAPE(4), (double[]){ 1, NAN, 3, 5 }, true);
    NBT_CHECK(backward_weighted(nb_max(one_nan), NULL) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(one_nan), NB_SHAPE(4), 0, 0, 1, 0, 0);
    nb_tensor *ties = f64(NB_SHAPE(4), (double[]){ 1, 3, 3, 2 }, true);
    NBT_CHECK(backward_weighted(nb_max(ties), NULL) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(ties), NB_SHAPE(4), 0, 0, 0.5, 0.5, 0);

    /* maximum / minimum: where either is NaN both get g; ties share. */
    const double av[5] = { NAN, 1, NAN, 2, 3 }, bv[5] = { 1, NAN, NAN, 2, 1 };
    for (int is_min = 0; is_min < 2; is_min++) {
        nb_tensor *a = f64(NB_SHAPE(5), av, true), *b = f64(NB_SHAPE(5), bv, true);
        NBT_CHECK(backward_weighted(is_min ? nb_minimum(a, b) : nb_maximum(a, b), NULL) == NB_OK);
        NBT_CHECK_TENSOR(nb_grad(a), NB_SHAPE(5), 0, 1, 1, 1, 0.5, is_min ? 0 : 1);
        NBT_CHECK_TENSOR(nb_grad(b), NB_SHAPE(5), 0, 1, 1, 1, 0.5, is_min ? 1 : 0);
    }

    /* The inf-norm of a tensor with a NaN: 0 (sign(NaN) = 0), not 0/0. */
    nb_tensor *v = f64(NB_SHAPE(3), (double[]){ 1, NAN, -3 }, true);
    NBT_CHECK(backward_weighted(nb_norm(v, INFINITY), NULL) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(v), NB_SHAPE(3), 0, 0, 0, 0);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Dtypes and strictness, as torch 1.13                                      */
/* ------------------------------------------------------------------------ */

static void test_dtype_rules_as_torch(void)
{
    nb_scope_begin();
    nb_tensor *u8 = nb_from_data((uint8_t[]){ 0, 1, 2 }, NB_SHAPE(3), NB_OPTS(.dtype = NB_UINT8));
    /* all / any of uint8 are uint8 in torch 1.13 (bool for every other dtype). */
    NBT_CHECK_TENSOR_IS(nb_all(u8), NB_UINT8, NB_SCALAR_SHAPE, (uint8_t[]){ 0 });
    NBT_CHECK_TENSOR_IS(nb_any(u8), NB_UINT8, NB_SCALAR_SHAPE, (uint8_t[]){ 1 });
    NBT_CHECK_TENSOR_IS(nb_all_dims(u8, NB_DIMS(0), true), NB_UINT8, NB_SHAPE(1), (uint8_t[]){ 0 });
    NBT_CHECK_TENSOR_IS(nb_any_dims(u8, NB_DIMS(0), false), NB_UINT8, NB_SCALAR_SHAPE, (uint8_t[]){ 1 });
    NBT_CHECK(nb_dtype_of(nb_all(nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64)))) == NB_BOOL);
    /* sign of bool is the tensor itself (bool). */
    nb_tensor *mask = nb_from_data((bool[]){ 1, 0 }, NB_SHAPE(2), NB_OPTS(.dtype = NB_BOOL));
    NBT_CHECK_TENSOR_IS(nb_sign(mask), NB_BOOL, NB_SHAPE(2), (bool[]){ 1, 0 });
    nb_scope_end();
}

/* Each refusal: NULL, the status, a message naming the op, nothing left
 * alive (NBT_RUN checks the live count; no scope here on purpose). */
#define CHECK_REFUSED(call, status, fragment)                                                  \
    do {                                                                                       \
        nb_tensor *refused_ = (call);                                                          \
        NBT_CHECK(refused_ == NULL);                                                           \
        nb_free(refused_);                                                                     \
        NBT_CHECK_ERROR(status, fragment);                                                     \
    } while (0)

static void test_refusals_as_torch(void)
{
    nb_tensor *u8   = nb_from_data((uint8_t[]){ 0, 1, 2 }, NB_SHAPE(3), NB_OPTS(.dtype = NB_UINT8));
    nb_tensor *mask = nb_from_data((bool[]){ 1, 0, 1 }, NB_SHAPE(3), NB_OPTS(.dtype = NB_BOOL));
    nb_tensor *ints = nb_from_data((int64_t[]){ 1, 2, 3 }, NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64));
    int64_t    pads[2] = { 1, 1 };

    /* Values that do not fit uint8: torch's "value cannot be converted to
     * type uint8_t without overflow". masked_fill and clamp take the whole
     * numbers -255..-1 (a Python int wraps); pad's value is a Python float,
     * so no negative. */
    CHECK_REFUSED(nb_masked_fill(u8, mask, 256), NB_ERR_ARG, "nb_masked_fill: value 256 cannot be converted to uint8");
    CHECK_REFUSED(nb_masked_fill(u8, mask, -256), NB_ERR_ARG, "nb_masked_fill: value -256 cannot be converted");
    CHECK_REFUSED(nb_masked_fill(u8, mask, -0.5), NB_ERR_ARG, "nb_masked_fill: value -0.5 cannot be converted");
    CHECK_REFUSED(nb_pad(u8, pads, 2, 256), NB_ERR_ARG, "nb_pad: value 256 cannot be converted to uint8");
    CHECK_REFUSED(nb_pad(u8, pads, 2, -1), NB_ERR_ARG, "nb_pad: value -1 cannot be converted to uint8");
    CHECK_REFUSED(nb_clamp(u8, 0, 256), NB_ERR_ARG, "nb_clamp: value 256 cannot be converted to uint8");
    CHECK_REFUSED(nb_clamp(u8, -256, NAN), NB_ERR_ARG, "nb_clamp: value -256 cannot be converted to uint8");
    CHECK_REFUSED(nb_clamp(ints, 1e19, NAN), NB_ERR_ARG, "nb_clamp: value 1e+19 cannot be converted to int64");
    /* ... and what torch accepts: */
    nb_tensor *filled = nb_masked_fill(u8, mask, -1);
    NBT_CHECK_TENSOR_IS(filled, NB_UINT8, NB_SHAPE(3), (uint8_t[]){ 255, 1, 255 });
    nb_tensor *padded = nb_pad(u8, pads, 2, 255);
    NBT_CHECK_TENSOR_IS(padded, NB_UINT8, NB_SHAPE(5), (uint8_t[]){ 255, 0, 1, 2, 255 });
    nb_tensor *clamped = nb_clamp(u8, -1, NAN); /* torch 1.13: min -1 is 255 */
    NBT_CHECK_TENSOR_IS(clamped, NB_UINT8, NB_SHAPE(3), (uint8_t[]){ 255, 255, 255 });
    nb_tensor *clamped2 = nb_clamp(u8, -255, NAN); /* min 1 */
    NBT_CHECK_TENSOR_IS(clamped2, NB_UINT8, NB_SHAPE(3), (uint8_t[]){ 1, 1, 2 });
    nb_free(filled), nb_free(padded), nb_free(clamped), nb_free(clamped2);

    /* Subtraction with a bool operand, in every form. */
    CHECK_REFUSED(nb_sub(mask, mask), NB_ERR_DTYPE, "nb_sub: subtraction with two bool tensors is not supported");
    CHECK_REFUSED(nb_sub(mask, ints), NB_ERR_DTYPE, "nb_sub: subtraction with a bool tensor is not supported");
    CHECK_REFUSED(nb_sub(ints, mask), NB_ERR_DTYPE, "nb_sub: subtraction with a bool tensor is not supported");
    CHECK_REFUSED(nb_sub_scalar(mask, 1), NB_ERR_DTYPE, "nb_sub_scalar: subtraction with a bool tensor");
    CHECK_REFUSED(nb_rsub_scalar(mask, 1), NB_ERR_DTYPE, "nb_rsub_scalar: subtraction with a bool tensor");
    NBT_CHECK(nb_sub_(ints, mask) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_sub_: subtraction with a bool tensor");
    NBT_CHECK_TENSOR_IS(ints, NB_INT64, NB_SHAPE(3), (int64_t[]){ 1, 2, 3 }); /* unchanged */

    /* argmax / argmin / topk of bool: torch 1.13 has no kernel for them. */
    CHECK_REFUSED(nb_argmax(mask), NB_ERR_DTYPE, "nb_argmax: bool tensors are not supported");
    CHECK_REFUSED(nb_argmin(mask), NB_ERR_DTYPE, "nb_argmin: bool tensors are not supported");
    CHECK_REFUSED(nb_argmax_dim(mask, 0, false), NB_ERR_DTYPE, "nb_argmax_dim: bool tensors are not supported");
    CHECK_REFUSED(nb_argmin_dim(mask, 0, true), NB_ERR_DTYPE, "nb_argmin_dim: bool tensors are not supported");
    nb_tensor *indices = NULL;
    CHECK_REFUSED(nb_topk(mask, 1, 0, true, &indices), NB_ERR_DTYPE, "nb_topk: bool tensors are not supported");
    NBT_CHECK(indices == NULL);

    /* An integer tensor to a negative integer power (a scalar exponent):
     * "Integers to negative integer powers are not allowed." A tensor
     * exponent truncates as torch does, and a fractional one gives float. */
    CHECK_REFUSED(nb_pow_scalar(ints, -1), NB_ERR_ARG, "nb_pow_scalar: integers to negative integer powers are not allowed");
    CHECK_REFUSED(nb_pow_scalar(u8, -2), NB_ERR_ARG, "nb_pow_scalar: integers to negative integer powers");
    nb_tensor *minus_one = nb_full(NB_SHAPE(3), -1, NB_OPTS(.dtype = NB_INT64));
    nb_tensor *powered   = nb_pow(ints, minus_one); /* torch 1.13: [1, 0, 0] */
    NBT_CHECK_TENSOR_IS(powered, NB_INT64, NB_SHAPE(3), (int64_t[]){ 1, 0, 0 });
    nb_tensor *fractional = nb_pow_scalar(ints, -1.5);
    NBT_CHECK(fractional && nb_dtype_of(fractional) == NB_FLOAT32);
    nb_free(minus_one), nb_free(powered), nb_free(fractional);
    nb_free(u8), nb_free(mask), nb_free(ints);
}

/* ------------------------------------------------------------------------ */
/* grad_fn names: PyTorch 1.13's type(t.grad_fn).__name__                    */
/* ------------------------------------------------------------------------ */

static void check_name(const nb_tensor *t, const char *expected)
{
    const char *name = t ? nb_grad_fn_name(t) : NULL;
    nbt_checks++;
    if (name == NULL || strcmp(name, expected) != 0) {
        nbt_failures++;
        fprintf(stderr, "  grad_fn is %s, expected %s\n", name ? name : "(none)", expected);
    }
}

static void test_grad_fn_names_as_torch(void)
{
    nb_scope_begin();
    /* Expected names: scripts/print_grad_fn_names.py under torch 1.13. */
    nb_opts    g64 = NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true);
    nb_tensor *x = nb_rand(NB_SHAPE(3, 4), g64), *y = nb_rand(NB_SHAPE(3, 4), g64);
    nb_tensor *v = nb_rand(NB_SHAPE(4), g64), *m = nb_rand(NB_SHAPE(4, 2), g64);
    nb_tensor *b3 = nb_rand(NB_SHAPE(2, 3, 4), g64), *b3r = nb_rand(NB_SHAPE(2, 4, 2), g64);
    nb_tensor *mask  = nb_gt_scalar(x, 0.5);
    nb_tensor *index = nb_from_data((int64_t[]){ 0, 1, 2, 0 }, NB_SHAPE(1, 4), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *pair[2] = { x, y };
    check_name(nb_neg(x), "NegBackward0");
    check_name(nb_log1p(x), "Log1PBackward0");
    check_name(nb_relu(x), "ReluBackward0");
    check_name(nb_clamp(x, 0.2, 0.8), "ClampBackward1");
    check_name(nb_add(x, y), "AddBackward0");
    check_name(nb_mul(x, y), "MulBackward0");
    check_name(nb_rsub_scalar(x, 2), "RsubBackward1");
    check_name(nb_pow(x, y), "PowBackward1");
    check_name(nb_pow_scalar(x, 2), "PowBackward0");
    check_name(nb_remainder_scalar(x, 2), "RemainderBackward0");
    check_name(nb_maximum(x, y), "MaximumBackward0");
    check_name(nb_where(mask, x, y), "WhereBackward0");
    check_name(nb_sum(x), "SumBackward0");
    check_name(nb_sum_dims(x, NB_DIMS(1), false), "SumBackward1");
    check_name(nb_mean(x), "MeanBackward0");
    check_name(nb_mean_dims(x, NB_DIMS(1), true), "MeanBackward1");
    check_name(nb_prod_dims(x, NB_DIMS(1), false), "ProdBackward1");
    check_name(nb_max(x), "MaxBackward1");
    check_name(nb_max_dim(x, 1, false, NULL), "MaxBackward0");
    check_name(nb_var(x, 1), "VarBackward0");
    check_name(nb_std_dims(x, NB_DIMS(1), 1, false), "StdBackward0");
    check_name(nb_norm(x, 3), "NormBackward1");
    check_name(nb_logsumexp(x, NB_DIMS(1), false), "LogsumexpBackward0");
    check_name(nb_log_softmax(x, 1), "LogSoftmaxBackward0");
    check_name(nb_matmul(x, m), "MmBackward0");
    check_name(nb_mm(x, m), "MmBackward0");
    check_name(nb_matmul(x, v), "MvBackward0");
    check_name(nb_dot(v, v), "DotBackward0");
    check_name(nb_bmm(b3, b3r), "BmmBackward0");
    check_name(nb_matmul(b3, b3r), "UnsafeViewBackward0");
    check_name(nb_outer(v, v), "MulBackward0");
    check_name(nb_cat(pair, 2, 0), "CatBackward0");
    check_name(nb_stack(pair, 2, 0), "StackBackward0");
    check_name(nb_gather(x, 0, index), "GatherBackward0");
    check_name(nb_scatter(x, 0, index, y), "ScatterBackward0");
    check_name(nb_scatter_add(x, 0, index, y), "ScatterAddBackward0");
    check_name(nb_masked_fill(x, mask, 0), "MaskedFillBackward0");
    check_name(nb_masked_select(x, mask), "MaskedSelectBackward0");
    check_name(nb_sort(x, 1, false, NULL), "SortBackward0");
    check_name(nb_topk(x, 2, 1, true, NULL), "TopkBackward0");
    check_name(nb_clone(x), "CloneBackward0");
    nb_tensor *img = nb_rand(NB_SHAPE(1, 2, 6, 6), g64);
    check_name(nb_max_pool2d(img, (nb_pool_opts){ .kernel = { 2, 2 } }, NULL), "MaxPool2DWithIndicesBackward0");
    check_name(nb_avg_pool2d(img, (nb_pool_opts){ .kernel = { 2, 2 } }), "AvgPool2DBackward0");
    check_name(nb_adaptive_avg_pool2d(img, 2, 2), "AdaptiveAvgPool2DBackward0");
    int64_t pads[2] = { 1, 1 };
    check_name(nb_pad(x, pads, 2, 0), "ConstantPadNdBackward0");
    nb_tensor *bias = nb_rand(NB_SHAPE(2), g64);
    check_name(nb_linear(x, nb_t(m), bias), "AddmmBackward0");
    check_name(nb_linear(x, nb_t(m), NULL), "MmBackward0");
    nb_scope_end();
}

/* Found by differential runs against torch 1.13: sinc's gradient where x^2
 * underflows is 0, not 0/0 (torch masks pi x^2 == 0); kl_div's target
 * gradient is NaN where the target is 0 (torch's xlogy composite), and
 * xlogy itself. */
static void test_sinc_and_kl_div_gradients_as_torch(void)
{
    nb_scope_begin();
    const float tiny[] = { 1e-30f, 1e-20f, 1e-3f };
    nb_tensor  *x      = nb_from_data(tiny, NB_SHAPE(3), NB_OPTS(.requires_grad = true));
    NBT_CHECK(nb_backward(nb_sum(nb_sinc(x))) == NB_OK);
    const float *g = nb_data(nb_grad(x));
    NBT_CHECK(g[0] == 0 && g[1] == 0);
    NBT_CHECK_NEAR(g[2], -0.0033350526f, 1e-9); /* torch: -0.0033350526355 */
    const double tiny64[] = { 1e-200 };
    nb_tensor   *y        = f64(NB_SHAPE(1), tiny64, true);
    NBT_CHECK(nb_backward(nb_sum(nb_sinc(y))) == NB_OK);
    NBT_CHECK(((const double *)nb_data(nb_grad(y)))[0] == 0);

    const double input_values[] = { -1.5, -0.5 }, target_values[] = { 0, 0.3 };
    nb_tensor   *input = f64(NB_SHAPE(2), input_values, true), *target = f64(NB_SHAPE(2), target_values, true);
    NBT_CHECK(nb_backward(nb_kl_div(input, target, NB_REDUCTION_SUM, false)) == NB_OK);
    const double *gt = nb_data(nb_grad(target)), *gi = nb_data(nb_grad(input));
    NBT_CHECK(isnan(gt[0]));
    NBT_CHECK_NEAR(gt[1], 0.2960271956740639, 1e-12); /* log(0.3) + 1 - input */
    NBT_CHECK(gi[0] == 0 && gi[1] == -0.3);

    /* xlogy: 0 at a == 0 whatever b (NaN b aside); a's gradient 0 there when b <= 0 */
    const double a_values[] = { 0, 0, 2, 0 }, b_values[] = { 0, -1, 0.5, NAN };
    nb_tensor   *a = f64(NB_SHAPE(4), a_values, true), *b = f64(NB_SHAPE(4), b_values, true);
    nb_tensor   *z = nb_xlogy(a, b);
    const double *zv = nb_data(z);
    NBT_CHECK(zv[0] == 0 && zv[1] == 0 && isnan(zv[3]));
    NBT_CHECK_NEAR(zv[2], 2 * log(0.5), 1e-15);
    NBT_CHECK(nb_backward(nb_sum(z)) == NB_OK);
    const double *ga = nb_data(nb_grad(a)), *gb = nb_data(nb_grad(b));
    NBT_CHECK(ga[0] == 0 && ga[1] == 0 && isnan(ga[3])); /* torch: 0, 0, log 0.5, nan */
    NBT_CHECK_NEAR(ga[2], log(0.5), 1e-15);
    NBT_CHECK(isnan(gb[0]) && gb[1] == 0 && gb[2] == 4); /* torch: nan, -0., 4, nan */
    NBT_CHECK(strcmp(nb_grad_fn_name(z), "XlogyBackward0") == 0);
    NBT_CHECK(strcmp(nb_grad_fn_name(nb_xlogy_scalar(a, 2)), "XlogyBackward2") == 0);
    nb_scope_end();
}

/* torch's pow with a number exponent runs sqrt for 0.5 and 1 / sqrt for
 * -0.5 (float32, float64, bfloat16), in forward and in the backward's
 * a^(b - 1); they differ from pow at -0 and -inf. A tensor exponent runs
 * pow. Values printed by torch 1.13. */
static void test_pow_number_roots_as_torch(void)
{
    nb_scope_begin();
    const float values[] = { -0.0f, -INFINITY, 4.0f }, weights[] = { -1, 1, 1 };
    nb_tensor  *x = nb_from_data(values, NB_SHAPE(3), NB_OPTS(.requires_grad = true));
    nb_tensor  *w = nb_from_data(weights, NB_SHAPE(3), NB_OPTS());
    nb_tensor  *y = nb_pow_scalar(x, 0.5);
    const float *yv = nb_data(y);
    NBT_CHECK(yv[0] == 0 && signbit(yv[0]) && isnan(yv[1]) && yv[2] == 2); /* torch: -0., nan, 2. */
    NBT_CHECK(nb_backward(nb_sum(nb_mul(y, w))) == NB_OK);
    const float *g = nb_data(nb_grad(x));
    NBT_CHECK(g[0] == INFINITY && isnan(g[1]) && g[2] == 0.25f); /* torch: inf, nan, 0.25 */
    nb_tensor *r = nb_pow_scalar(nb_to_dtype(x, NB_FLOAT64), -0.5);
    const double *rv = nb_data(r);
    NBT_CHECK(rv[0] == -INFINITY && isnan(rv[1]) && rv[2] == 0.5); /* torch: -inf, nan, 0.5 */
    nb_tensor *x2 = nb_from_data(values, NB_SHAPE(3), NB_OPTS(.requires_grad = true));
    NBT_CHECK(nb_backward(nb_sum(nb_pow_scalar(x2, 1.5))) == NB_OK);
    const float *g2 = nb_data(nb_grad(x2));
    NBT_CHECK(g2[0] == 0 && signbit(g2[0]) && isnan(g2[1]) && g2[2] == 3); /* torch: -0., nan, 3. */
    /* float32 keeps a number exponent in double (std::pow(float, double)):
     * 16777217 stays odd, 0.1 is not 0.1f; values printed by torch */
    const float  odd_bases[] = { -1, -1.0000001f }, bases[] = { 0.3f, 1.7f, 123.456f };
    const float *odd         = nb_data(nb_pow_scalar_i64(nb_from_data(odd_bases, NB_SHAPE(2), NB_OPTS()), 16777217));
    NBT_CHECK(odd[0] == -1);
    NBT_CHECK_NEAR(odd[1], -7.389056205749512, 1e-6);
    nb_tensor   *b     = nb_from_data(bases, NB_SHAPE(3), NB_OPTS(.requires_grad = true));
    nb_tensor   *tenth = nb_pow_scalar(b, 0.1);
    NBT_CHECK(strcmp(nb_grad_fn_name(tenth), "PowBackward0") == 0);
    NBT_CHECK(nb_backward(nb_sum(tenth)) == NB_OK);
    const float *pv = nb_data(tenth), *tg = nb_data(nb_grad(b));
    NBT_CHECK(pv[0] == 0.886568129f && pv[1] == 1.05449593f && pv[2] == 1.61864352f);
    NBT_CHECK(tg[0] == 0.29552272f && tg[1] == 0.0620291717f && tg[2] == 0.00131110975f);
    /* float16 / bfloat16 take the exponent in their dtype: overflow refused */
    NBT_CHECK(nb_pow_scalar(nb_to_dtype(b, NB_FLOAT16), 100001) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "cannot be converted to float16 without overflow");
    NBT_CHECK(nb_pow_scalar(nb_to_dtype(b, NB_BFLOAT16), 1e39) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "without overflow");
    nb_clear_error();
    /* a tensor exponent: pow, as torch's tensor-tensor kernel */
    nb_tensor    *t  = nb_pow(nb_detach(x), nb_full(NB_SCALAR_SHAPE, 0.5, NB_OPTS()));
    const float  *tv = nb_data(t);
    NBT_CHECK(tv[0] == 0 && !signbit(tv[0]) && tv[1] == INFINITY); /* torch: 0., inf */
    nb_scope_end();
}

/* Gradients torch gives as zeros or empty, not none: addmm's input with
 * beta = 0 (g * 0; its values, NaN included, still left out of the
 * result) and a legacy (0,) tensor that cat skipped. */
static void test_zero_gradients_not_none(void)
{
    nb_scope_begin();
    const double values[] = { NAN, 1, 2 };
    nb_tensor   *input    = f64(NB_SHAPE(3), values, true);
    nb_tensor   *m1       = nb_ones(NB_SHAPE(2, 4), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor   *m2       = nb_full(NB_SHAPE(4, 3), 0.5, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor   *out      = nb_addmm(input, m1, m2, 0, 1);
    NBT_CHECK_TENSOR(out, NB_SHAPE(2, 3), 0, 2, 2, 2, 2, 2, 2);
    NBT_CHECK(strcmp(nb_grad_fn_name(out), "AddmmBackward0") == 0);
    NBT_CHECK(nb_backward(nb_sum(out)) == NB_OK);
    NBT_CHECK(nb_grad(input) != NULL);
    NBT_CHECK_TENSOR(nb_grad(input), NB_SHAPE(3), 0, 0, 0, 0);
    NBT_CHECK_TENSOR(nb_grad(m1), NB_SHAPE(2, 4), 0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5);

    nb_tensor *empty = nb_zeros(NB_SHAPE(0), NB_OPTS(.requires_grad = true));
    nb_tensor *x     = nb_ones(NB_SHAPE(2, 2), NB_OPTS(.requires_grad = true));
    nb_tensor *parts[2] = { empty, x };
    NBT_CHECK(nb_backward(nb_sum(nb_cat(parts, 2, 0))) == NB_OK);
    NBT_CHECK(nb_grad(empty) != NULL && nb_numel(nb_grad(empty)) == 0 && nb_ndim(nb_grad(empty)) == 1);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2, 2), 0, 1, 1, 1, 1);
    nb_scope_end();
}

/* Found by the differential runs (hunt 6): creation, index and gradient
 * dtypes where nabla and torch 1.13 differed. */
static void test_dtypes_of_bincount_linspace_pow_as_torch(void)
{
    nb_scope_begin();
    nb_tensor *values = nb_from_data((int64_t[]){ 0, 3, 3, 1 }, NB_SHAPE(4), NB_OPTS(.dtype = NB_INT64));
    /* bincount: float32 / float64 weights keep their dtype, halves and bool sum in float64, an empty t counts in int64 */
    nb_tensor *w_half = nb_to_dtype(nb_full(NB_SHAPE(4), 0.5, NB_OPTS()), NB_FLOAT16);
    NBT_CHECK_TENSOR_IS(nb_bincount(values, w_half, 0), NB_FLOAT64, NB_SHAPE(4), (double[]){ 0.5, 0.5, 0, 1 });
    nb_tensor *w_bool = nb_from_data((bool[]){ 1, 1, 0, 1 }, NB_SHAPE(4), NB_OPTS(.dtype = NB_BOOL));
    NBT_CHECK_TENSOR_IS(nb_bincount(values, w_bool, 0), NB_FLOAT64, NB_SHAPE(4), (double[]){ 1, 1, 0, 1 });
    nb_tensor *none = nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK_TENSOR_IS(nb_bincount(none, nb_zeros(NB_SHAPE(0), NB_OPTS()), 2), NB_INT64, NB_SHAPE(2),
                        (int64_t[]){ 0, 0 });
    /* linspace: ends that do not fit the dtype are refused; uint8 wraps a negative whole number */
    NBT_CHECK(nb_linspace(0, 255, 10, NB_OPTS(.dtype = NB_INT8)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "cannot be converted to int8");
    NBT_CHECK(nb_linspace(0, 1e10, 4, NB_OPTS(.dtype = NB_FLOAT16)) == NULL);
    NBT_CHECK(nb_linspace(-10.5, 10.5, 8, NB_OPTS(.dtype = NB_UINT8)) == NULL);
    NBT_CHECK_TENSOR_IS(nb_linspace(-3, 200, 2, NB_OPTS(.dtype = NB_UINT8)), NB_UINT8, NB_SHAPE(2),
                        (uint8_t[]){ 253, 200 });
    /* index_select takes an int32 index */
    nb_tensor *rows = nb_from_data((int32_t[]){ 2, 0 }, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT32));
    nb_tensor *t    = nb_reshape(nb_arange(0, 6, 1, NB_OPTS()), NB_SHAPE(3, 2));
    NBT_CHECK_TENSOR_IS(nb_index_select(t, 0, rows), NB_FLOAT32, NB_SHAPE(2, 2), (float[]){ 4, 5, 0, 1 });
    /* pow's exponent gradient with an integer base takes log of the base in
     * float32: torch's 9.887510776519775 for 3 ** 2.0 (float64), and a
     * float16 result does not overflow in the product (torch -18400) */
    nb_tensor *three = nb_from_data((int64_t[]){ 3 }, NB_SHAPE(1), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *two   = nb_from_data((double[]){ 2.0 }, NB_SHAPE(1), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    NBT_CHECK(nb_backward(nb_sum(nb_pow(three, two))) == NB_OK);
    NBT_CHECK(nb_grad(two) && nb_item(nb_grad(two)) == 9.887510776519775);
    nb_tensor *hundred = nb_from_data((int8_t[]){ 100 }, NB_SHAPE(1), NB_OPTS(.dtype = NB_INT8));
    nb_tensor *e       = nb_to_dtype(nb_full(NB_SHAPE(1), 2.3, NB_OPTS()), NB_FLOAT16);
    nb_requires_grad_(e, true);
    nb_tensor *seed = nb_to_dtype(nb_full(NB_SHAPE(1), -0.1, NB_OPTS()), NB_FLOAT16);
    NBT_CHECK(nb_backward_with(nb_pow(hundred, e), seed, NB_GRAD_OPTS()) == NB_OK);
    NBT_CHECK(nb_grad(e) && nb_dtype_of(nb_grad(e)) == NB_FLOAT16 && nb_item(nb_grad(e)) == -18400.0);
    /* an in-place index_put_ on an expanded view names itself */
    nb_tensor *expanded = nb_expand(nb_zeros(NB_SHAPE(1, 4), NB_OPTS()), NB_SHAPE(4, 4));
    NBT_CHECK(nb_index_put_(expanded, NB_INDEX(NB_WITH(values)), nb_ones(NB_SHAPE(4), NB_OPTS()), false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_index_put_");
    nb_scope_end();
}

/* Hessian of f at x (n elements, float64) equals want (n x n, row-major). */
static int hessian_is(nb_tensor *(*f)(nb_tensor *), const double *x_values, int n, const double *want)
{
    nb_tensor *x = nb_from_data(x_values, NB_SHAPE(n), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *y = f(x), *g = NULL;
    if (nb_grad_of(&y, 1, &x, 1, NULL, NB_GRAD_OPTS(.create_graph = true, .retain_graph = true), &g) != NB_OK)
        return 0;
    int ok = 1;
    for (int i = 0; i < n; i++) {
        double e[8] = { 0 };
        e[i]        = 1;
        nb_tensor *row = NULL, *ei = nb_from_data(e, NB_SHAPE(n), NB_OPTS(.dtype = NB_FLOAT64));
        ok = ok && nb_grad_of(&g, 1, &x, 1, &ei, NB_GRAD_OPTS(.retain_graph = true), &row) == NB_OK &&
             nbt_tensor_close(row, NB_SHAPE(n), want + i * n, 1e-12, 1e-12);
    }
    return ok;
}

static nb_tensor *product_of_all(nb_tensor *x) { return nb_prod(x); }
static nb_tensor *sum_of_cumprod(nb_tensor *x) { return nb_sum(nb_cumprod(x, 0)); }
static nb_tensor *product_over_rows_of_transpose(nb_tensor *x)
{
    return nb_sum(nb_prod_dims(nb_transpose(nb_reshape(x, NB_SHAPE(2, 3)), 0, 1), NB_DIMS(1), false));
}

/* Second derivatives through exact zeros, torch 1.13's
 * (torch.autograd.functional.hessian): a gradient that is 0 because one
 * factor is 0 still depends on that factor. */
static void test_second_derivatives_through_zeros(void)
{
    nb_scope_begin();
    NBT_CHECK(hessian_is(product_of_all, (double[]){ 2, 0, 3 }, 3, (double[]){ 0, 3, 0, 3, 0, 2, 0, 2, 0 }));
    NBT_CHECK(hessian_is(product_of_all, (double[]){ 2, 0, 0, 3 }, 4,
                         (double[]){ 0, 0, 0, 0, 0, 0, 6, 0, 0, 6, 0, 0, 0, 0, 0, 0 }));
    NBT_CHECK(hessian_is(product_of_all, (double[]){ 2, 5, 3 }, 3, (double[]){ 0, 3, 5, 3, 0, 2, 5, 2, 0 }));
    NBT_CHECK(hessian_is(sum_of_cumprod, (double[]){ 2, 0, 3 }, 3, (double[]){ 0, 4, 0, 4, 0, 2, 0, 2, 0 }));
    /* x = [[a, b, c], [d, e, f]] = [[2, 0, 3], [5, 7, 0]]: sum of a d + b e + c f's transposed rows' products */
    NBT_CHECK(hessian_is(product_over_rows_of_transpose, (double[]){ 2, 0, 3, 5, 7, 0 }, 6,
                         (double[]){ 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1,
                                     1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 }));
    nb_scope_end();
}

/* Reductions' edges as torch 1.13 (found by the differential runs). */
static void test_reduction_edges_as_torch(void)
{
    nb_scope_begin();
    /* std along a dim of constant columns: exactly 0, gradient 0 (torch's
     * Welford); over everything: torch's two-pass residue, 1.7e-17 */
    nb_tensor *x = nb_from_data((double[]){ 0.1, 0.7, 0.1, 0.7, 0.1, 0.7 }, NB_SHAPE(3, 2),
                                NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *s = nb_std_dims(x, NB_DIMS(0), 1, false);
    NBT_CHECK_TENSOR_IS(s, NB_FLOAT64, NB_SHAPE(2), (double[]){ 0, 0 });
    NBT_CHECK(nb_backward(nb_sum(s)) == NB_OK);
    NBT_CHECK(nb_item(nb_max(nb_abs(nb_grad(x)))) == 0.0);
    nb_tensor *thirds = nb_full(NB_SHAPE(3), 0.1, NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_item(nb_std(thirds, 1)) == 1.6996749443881478e-17);
    nb_tensor *huge = nb_from_data((double[]){ -1e308, -1e308, -1e308, 1e308, 1e308, 1e308 }, NB_SHAPE(2, 3),
                                   NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK_TENSOR_IS(nb_var_dims(huge, NB_DIMS(1), 1, false), NB_FLOAT64, NB_SHAPE(2), (double[]){ 0, 0 });
    /* nanmean of NaNs only: NaN, and a NaN gradient there (g / 0 times the mask) */
    nb_tensor *y = nb_from_data((double[]){ NAN, NAN, 1, 2 }, NB_SHAPE(2, 2),
                                NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    NBT_CHECK(nb_backward(nb_sum(nb_nanmean_dims(y, NB_DIMS(1), false))) == NB_OK);
    const double *gy = nb_data(nb_grad(y));
    NBT_CHECK(isnan(gy[0]) && isnan(gy[1]) && gy[2] == 0.5 && gy[3] == 0.5);
    /* vector_norm: no inf or negative norm of nothing; 2-norm of nothing is 0 */
    nb_tensor *empty = nb_zeros(NB_SHAPE(3, 0), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_linalg_vector_norm(empty, INFINITY, NB_DIMS(), false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "does not have an identity");
    NBT_CHECK(nb_linalg_vector_norm(empty, -1, NB_DIMS(1), false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "dimension 1 because this dimension is empty");
    NBT_CHECK_TENSOR_IS(nb_linalg_vector_norm(empty, INFINITY, NB_DIMS(0), false), NB_FLOAT64, NB_SHAPE(0), (double[]){ 0 });
    NBT_CHECK_TENSOR_IS(nb_linalg_vector_norm(empty, 2, NB_DIMS(1), false), NB_FLOAT64, NB_SHAPE(3), (double[]){ 0, 0, 0 });
    nb_scope_end();
}

static nb_tensor *relu_of(nb_tensor *x) { return nb_relu(x); }
static nb_tensor *hardtanh_of(nb_tensor *x) { return nb_hardtanh(x, -1, 1); }
static nb_tensor *leaky_relu_of(nb_tensor *x) { return nb_leaky_relu(x, 0.1); }
static nb_tensor *avg_pool_of(nb_tensor *x)
{
    return nb_avg_pool2d(nb_reshape(x, NB_SHAPE(1, 1, 2, 3)), NB_POOL_OPTS(.kernel = {2, 2}, .stride = {1, 1}));
}
static nb_tensor *max_pool_of(nb_tensor *x)
{
    return nb_max_pool2d(nb_reshape(x, NB_SHAPE(1, 1, 2, 3)), NB_POOL_OPTS(.kernel = {2, 2}, .stride = {1, 1}), NULL);
}
static nb_tensor *clamp_of(nb_tensor *x) { return nb_clamp(x, -1, 1); }

/* With a constant upstream gradient, the create_graph gradient of ops
 * whose torch backward is one op taking x (relu, hardtanh, leaky_relu,
 * the pools) has a graph, and a second backward gives zeros; clamp's (a
 * where in torch) has none, as torch's. */
static void test_second_backward_through_masks(void)
{
    nb_scope_begin();
    nb_tensor *(*linked[])(nb_tensor *) = {relu_of, hardtanh_of, leaky_relu_of, avg_pool_of, max_pool_of};
    const double values[6]               = {-1.5, 0.25, 2, -0.5, 0.75, 3};
    for (size_t k = 0; k < sizeof linked / sizeof *linked; k++) {
        nb_tensor *x = nb_from_data(values, NB_SHAPE(6), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
        nb_tensor *y = nb_sum(linked[k](x)), *g = NULL;
        NBT_CHECK(nb_grad_of(&y, 1, &x, 1, NULL, NB_GRAD_OPTS(.create_graph = true), &g) == NB_OK);
        NBT_CHECK(g && nb_requires_grad(g));
        NBT_CHECK(nb_backward(nb_sum(nb_mul(g, g))) == NB_OK);
        NBT_CHECK(nb_grad(x) && nb_item(nb_max(nb_abs(nb_grad(x)))) == 0.0);
    }
    nb_tensor *x = nb_from_data(values, NB_SHAPE(6), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *y = nb_sum(clamp_of(x)), *g = NULL;
    NBT_CHECK(nb_grad_of(&y, 1, &x, 1, NULL, NB_GRAD_OPTS(.create_graph = true), &g) == NB_OK);
    NBT_CHECK(g && !nb_requires_grad(g));
    nb_scope_end();
}

/* Shapes at the edges (found by the differential runs): quantile of an 8-d
 * tensor along a dim (its q dim made a 9th inside), a result that would
 * need 9 dims refused by name, pad with no pads recording, isclose's
 * broadcast error naming itself. */
static void test_shape_edges(void)
{
    nb_scope_begin();
    nb_tensor *x    = nb_reshape(nb_arange(0, 12, 1, NB_OPTS(.dtype = NB_FLOAT64)), NB_SHAPE(2, 1, 2, 1, 1, 1, 1, 3));
    nb_tensor *flat = nb_reshape(x, NB_SHAPE(4, 3));
    nb_tensor *got  = nb_quantile(x, 0.3, NB_DIMS(7), false, NB_QUANTILE_LINEAR);
    nb_tensor *want = nb_quantile(flat, 0.3, NB_DIMS(1), false, NB_QUANTILE_LINEAR);
    NBT_CHECK(got && nb_ndim(got) == 7 && nb_numel(got) == 4);
    NBT_CHECK(got && want && nb_item(nb_max(nb_abs(nb_sub(nb_reshape(got, NB_SHAPE(4)), want)))) == 0);
    nb_tensor *by_dim2 = nb_quantile(x, 0.5, NB_DIMS(2), true, NB_QUANTILE_LINEAR);
    NBT_CHECK(by_dim2 && nb_ndim(by_dim2) == 8 && nb_size(by_dim2, 2) == 1 && nb_size(by_dim2, 7) == 3);
    nb_tensor *qs = nb_from_data((double[]){0.25, 0.75}, NB_SHAPE(2), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_quantile_tensor(x, qs, NB_DIMS(), true, NB_QUANTILE_LINEAR) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_quantile_tensor: the result would have more than 8 dims");
    nb_tensor *leaf = nb_ones(NB_SHAPE(2), NB_OPTS(.requires_grad = true));
    nb_tensor *same = nb_pad(leaf, NULL, 0, 0);
    NBT_CHECK(same && nb_backward(nb_sum(same)) == NB_OK);
    NBT_CHECK(nb_isclose(nb_ones(NB_SHAPE(2), NB_OPTS()), nb_ones(NB_SHAPE(3), NB_OPTS()), 1e-5, 1e-8, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_isclose: shapes [2] and [3] do not broadcast");
    nb_scope_end();
}

int main(void)
{
    nb_manual_seed(8);
    NBT_RUN(test_outer_is_differentiable);
    NBT_RUN(test_masked_select_gradient_positions);
    NBT_RUN(test_max_pool2d_dilated_2x2);
    NBT_RUN(test_norm_backward_general_p);
    NBT_RUN(test_var_std_degenerate_gradients);
    NBT_RUN(test_matmul_empty_contraction);
    NBT_RUN(test_mixed_integer_float_binary_gradients);
    NBT_RUN(test_scatter_gradient_shape_with_small_index);
    NBT_RUN(test_gradients_at_nan);
    NBT_RUN(test_dtype_rules_as_torch);
    NBT_RUN(test_refusals_as_torch);
    NBT_RUN(test_grad_fn_names_as_torch);
    NBT_RUN(test_sinc_and_kl_div_gradients_as_torch);
    NBT_RUN(test_pow_number_roots_as_torch);
    NBT_RUN(test_zero_gradients_not_none);
    NBT_RUN(test_dtypes_of_bincount_linspace_pow_as_torch);
    NBT_RUN(test_second_derivatives_through_zeros);
    NBT_RUN(test_reduction_edges_as_torch);
    NBT_RUN(test_second_backward_through_masks);
    NBT_RUN(test_shape_edges);
    return nbt_finish();
}
