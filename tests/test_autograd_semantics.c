/*
 * test_autograd_semantics.c — PyTorch's autograd rules, scenario by
 * scenario: history captured when an op runs, in-place ops on views
 * (CopySlices / AsStridedBackward0), preallocate-then-fill under autograd,
 * gradient hooks, custom functions, anomaly detection, retain_graph and
 * accumulation. Every expected value is what PyTorch 1.13 gives for the
 * same program (written beside each check as the Python that gives it).
 */
#include "nb_test.h"

static nb_tensor *leaf(nb_shape shape, const double *values)
{
    nb_tensor *t = nb_from_data(values, shape, NB_OPTS(.dtype = NB_FLOAT64));
    nb_requires_grad_(t, true);
    return t;
}

static bool named(const nb_tensor *t, const char *name)
{
    const char *got = nb_grad_fn_name(t);
    if (got && strcmp(got, name) == 0) return true;
    fprintf(stderr, "  grad_fn is %s, expected %s\n", got ? got : "(leaf)", name);
    return false;
}

/* ------------------------------------------------------------------------ */
/* History captured at record time                                          */
/* ------------------------------------------------------------------------ */

static void test_in_place_after_use(void)
{
    nb_scope_begin();
    double     xv[3] = { 1, 2, 3 };
    nb_tensor *x     = leaf(NB_SHAPE(3), xv);
    /* a = x*2; b = a + 1; a.mul_(3); b.sum().backward()  ->  x.grad = 2 */
    nb_tensor *a = nb_mul_scalar(x, 2);
    nb_tensor *b = nb_add_scalar(a, 1);
    NBT_CHECK(nb_mul_scalar_(a, 3) == a);
    NBT_CHECK(nb_backward(nb_sum(b)) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 0, 2, 2, 2);
    /* ... and a's new history is used by what reads a afterwards: 6. */
    nb_zero_grad(&x, 1);
    NBT_CHECK(nb_backward(nb_sum(a)) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 0, 6, 6, 6);
    /* Two in-place ops in a row, each consumer sees its own version:
     * c = x*1; d = c*2; c.add_(1); e = c.exp(); c.mul_(2); (d+e+c).sum()
     *   -> 2 + exp(x+1) + 2 */
    nb_zero_grad(&x, 1);
    nb_tensor *c = nb_mul_scalar(x, 1);
    nb_tensor *d = nb_mul_scalar(c, 2);
    NBT_CHECK(nb_add_scalar_(c, 1) == c);
    nb_tensor *e = nb_exp(c);
    NBT_CHECK(nb_mul_scalar_(c, 2) == c);
    NBT_CHECK(nb_backward(nb_sum(nb_add(nb_add(d, e), c))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 1e-9, 4 + exp(2.0), 4 + exp(3.0), 4 + exp(4.0));
    /* An in-place op whose operand is made from its target: y.add_(y.exp())
     * (exp saves its output, not y, so this is no version error).
     * Its new history leads back through y*y's node to y's old value; the
     * scope must still free everything (NBT_RUN counts live tensors). */
    nb_zero_grad(&x, 1);
    nb_tensor *y = nb_mul_scalar(x, 1);
    NBT_CHECK(nb_add_(y, nb_exp(y)) == y);
    NBT_CHECK(nb_backward(nb_sum(y)) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 1e-9, 1 + exp(1.0), 1 + exp(2.0), 1 + exp(3.0));
    /* ... and y.add_(y * y) is refused at backward: y*y saved y. */
    nb_tensor *w = nb_mul_scalar(x, 1);
    NBT_CHECK(nb_add_(w, nb_mul(w, w)) == w);
    NBT_CHECK(nb_backward(nb_sum(w)) == NB_ERR_STATE);
    nb_clear_error();
    nb_scope_end();
}

static void test_saved_value_changed_is_caught(void)
{
    nb_scope_begin();
    double     xv[2] = { 1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(2), xv);
    nb_tensor *h     = nb_mul_scalar(x, 1);
    nb_tensor *y     = nb_exp(h); /* exp saves its output */
    nb_tensor *z     = nb_mul(h, h); /* mul saves its inputs */
    NBT_CHECK(nb_add_scalar_(h, 1) == h);
    NBT_CHECK(nb_backward(nb_sum(z)) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "modified by an in-place operation");
    nb_clear_error();
    /* y saved only its own output, which did not change: fine. */
    NBT_CHECK(nb_backward(nb_sum(y)) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 1e-12, exp(1.0), exp(2.0));
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* In-place ops on views                                                     */
/* ------------------------------------------------------------------------ */

static void test_in_place_on_view_of_non_leaf(void)
{
    nb_scope_begin();
    double     xv[3] = { 1, 2, 3 };
    nb_tensor *x     = leaf(NB_SHAPE(3), xv);
    /* y = x.clone(); y[1].mul_(2); (y*y).sum().backward() -> [2, 16, 6] */
    nb_tensor *y = nb_clone(x);
    NBT_CHECK(nb_mul_scalar_(nb_select(y, 0, 1), 2) != NULL);
    NBT_CHECK(named(y, "CopySlices"));
    NBT_CHECK_TENSOR(y, NB_SHAPE(3), 0, 1, 4, 3);
    NBT_CHECK(nb_backward(nb_sum(nb_mul(y, y))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 1e-12, 2, 16, 6);
    nb_scope_end();
}

static void test_fill_buffer_slices(void)
{
    nb_scope_begin();
    double     sv[3] = { 1, 2, 3 };
    nb_tensor *s     = leaf(NB_SHAPE(3), sv);
    /* buf = zeros(2, 3); buf[0].copy_(s); (buf**2).sum() + s.sum() -> [3, 5, 7] */
    nb_tensor *buf = nb_zeros(NB_SHAPE(2, 3), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(!nb_requires_grad(buf));
    NBT_CHECK(nb_copy_(nb_select(buf, 0, 0), s) != NULL);
    NBT_CHECK(nb_requires_grad(buf) && named(buf, "CopySlices"));
    NBT_CHECK(nb_backward(nb_add(nb_sum(nb_mul(buf, buf)), nb_sum(s))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(s), NB_SHAPE(3), 1e-12, 3, 5, 7);
    /* Preallocate, then fill every row from a different source, through a
     * transposed view: out.t()[:, i].copy_(r_i * (i+1)), sum(out * w). */
    nb_zero_grad(&s, 1);
    nb_tensor *out = nb_empty(NB_SHAPE(3, 2), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *tr  = nb_t(out); /* (2, 3), non-contiguous */
    for (int i = 0; i < 2; i++)
        NBT_CHECK(nb_copy_(nb_select(tr, 0, i), nb_mul_scalar(s, i + 1)) != NULL);
    double     wv[6] = { 1, 10, 2, 20, 3, 30 };
    nb_tensor *w     = nb_from_data(wv, NB_SHAPE(3, 2), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_backward(nb_sum(nb_mul(out, w))) == NB_OK);
    /* d/ds_j = w[j,0] * 1 + w[j,1] * 2 */
    NBT_CHECK_TENSOR(nb_grad(s), NB_SHAPE(3), 1e-12, 21, 42, 63);
    nb_scope_end();
}

static void test_other_views_follow_the_base(void)
{
    nb_scope_begin();
    double     xv[4] = { 1, 2, 3, 4 };
    nb_tensor *x     = leaf(NB_SHAPE(4), xv);
    /* p = x*1; q = p[0:2]; r = p.view(2, 2); p[2].mul_(5)
     * q.grad_fn and r.grad_fn: AsStridedBackward0;
     * (q.sum() + (r*r).sum()).backward() -> [1+2, 1+4, 2*5*5*3, 2*4] */
    nb_tensor *p = nb_mul_scalar(x, 1);
    nb_tensor *q = nb_narrow(p, 0, 0, 2);
    nb_tensor *r = nb_view(p, NB_SHAPE(2, 2));
    NBT_CHECK(named(q, "SliceBackward0") && named(r, "ViewBackward0"));
    NBT_CHECK(nb_mul_scalar_(nb_select(p, 0, 2), 5) != NULL);
    NBT_CHECK(named(q, "AsStridedBackward0") && named(r, "AsStridedBackward0"));
    NBT_CHECK_TENSOR(r, NB_SHAPE(2, 2), 0, 1, 2, 15, 4);
    NBT_CHECK(nb_backward(nb_add(nb_sum(q), nb_sum(nb_mul(r, r)))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(4), 1e-12, 3, 5, 150, 8);
    /* An in-place op on the base itself also moves its views:
     * v = zeros(3); vv = v[1:]; v.add_(x3); vv.requires_grad -> True */
    double     x3v[3] = { 1, 2, 3 };
    nb_tensor *x3     = leaf(NB_SHAPE(3), x3v);
    nb_tensor *v      = nb_zeros(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *vv     = nb_slice(v, 0, 1, NB_END, 1);
    NBT_CHECK(nb_add_(v, x3) == v);
    NBT_CHECK(nb_requires_grad(vv) && named(vv, "AsStridedBackward0") && named(v, "AddBackward0"));
    NBT_CHECK(nb_backward(nb_sum(nb_mul(vv, vv))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x3), NB_SHAPE(3), 1e-12, 0, 4, 6);
    nb_scope_end();
}

static void test_view_of_view_and_double_backward(void)
{
    nb_scope_begin();
    double     xv[6] = { 1, 2, 3, 4, 5, 6 };
    nb_tensor *x     = leaf(NB_SHAPE(2, 3), xv);
    /* y = x*1; y.t()[1:, 0].mul_(x[0, 1:]) ; loss = (y*y).sum()
     * y[1,0] *= x[0,1], y[2,0]... : y.t() is (3, 2); rows 1..2, col 0 are
     * y[0,1], y[0,2], multiplied by x[0,1], x[0,2] -> y[0,1] = x01^2, y[0,2] = x02^2
     * loss = x00^2 + x01^4 + x02^4 + sum(x[1]^2); grad: [2, 4*8, 4*27, 8, 10, 12] */
    nb_tensor *y   = nb_mul_scalar(x, 1);
    nb_tensor *col = nb_select(nb_slice(nb_t(y), 0, 1, NB_END, 1), 1, 0);
    nb_tensor *src = nb_slice(nb_select(x, 0, 0), 0, 1, NB_END, 1);
    NBT_CHECK(nb_mul_(col, src) != NULL);
    nb_tensor *loss = nb_sum(nb_mul(y, y));
    nb_tensor *g    = NULL;
    NBT_CHECK(nb_grad_of(&loss, 1, &x, 1, NULL, NB_GRAD_OPTS(.create_graph = true), &g) == NB_OK);
    NBT_CHECK_TENSOR(g, NB_SHAPE(2, 3), 1e-12, 2, 32, 108, 8, 10, 12);
    /* second derivative through CopySlices and AsStrided: d/dx sum(g) =
     * [2, 12*4, 12*9, 2, 2, 2] */
    nb_tensor *h = NULL;
    nb_tensor *sg = nb_sum(g);
    NBT_CHECK(nb_grad_of(&sg, 1, &x, 1, NULL, NB_GRAD_OPTS(), &h) == NB_OK);
    NBT_CHECK_TENSOR(h, NB_SHAPE(2, 3), 1e-12, 2, 48, 108, 2, 2, 2);
    nb_scope_end();
}

static double view_fill_rows(nb_tensor *const *in, int count, void *user)
{
    (void)in; (void)count; (void)user;
    return 0;
}

/* gradcheck of "fill a buffer's slices, then a function of the buffer". */
static nb_tensor *fill_then_use(nb_tensor *const *x, int count, void *user)
{
    (void)count; (void)user;
    nb_tensor *buf = nb_zeros(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_FLOAT64));
    nb_copy_(nb_narrow(buf, 1, 1, 2), nb_exp(x[0]));           /* (3, 2) block */
    nb_mul_(nb_select(nb_t(buf), 0, 3), nb_sin(x[1]));         /* column 3 */
    nb_add_(nb_diagonal(buf, 0, 0, 1), x[1]);                  /* the diagonal */
    return nb_mul(buf, nb_add_scalar(buf, 1));
}

static void test_gradcheck_through_in_place_views(void)
{
    (void)view_fill_rows;
    nb_scope_begin();
    nb_manual_seed(3);
    nb_tensor *a = nb_rand(NB_SHAPE(3, 2), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *b = nb_rand(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *in[2] = { a, b };
    NBT_CHECK(nb_gradcheck(fill_then_use, in, 2, NULL, NB_GRADCHECK_OPTS()) == NB_OK);
    NBT_CHECK(nb_gradgradcheck(fill_then_use, in, 2, NULL, NB_GRADCHECK_OPTS()) == NB_OK);
    nb_scope_end();
}

static void test_in_place_refusals(void)
{
    nb_scope_begin();
    double     xv[3] = { 1, 2, 3 };
    nb_tensor *x     = leaf(NB_SHAPE(3), xv);
    NBT_CHECK(nb_mul_scalar_(nb_select(x, 0, 1), 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "a view of a leaf tensor that requires grad is used in an in-place operation");
    nb_clear_error();
    NBT_CHECK_TENSOR(x, NB_SHAPE(3), 0, 1, 2, 3);
    /* in no-grad mode it is allowed (initialising weights). */
    NBT_CHECK(nb_no_grad_begin() == NB_OK);
    NBT_CHECK(nb_fill_(nb_select(x, 0, 1), 7) != NULL);
    NBT_CHECK(nb_no_grad_end() == NB_OK);
    NBT_CHECK_TENSOR(x, NB_SHAPE(3), 0, 1, 7, 3);
    NBT_CHECK(nb_is_leaf(x) && nb_requires_grad(x));
    nb_scope_end();
}

static void test_fill_copy_cat_keep_requires_grad(void)
{
    nb_scope_begin();
    double     xv[3] = { 1, 2, 3 };
    nb_tensor *x     = leaf(NB_SHAPE(3), xv);
    /* z = x*2; z.fill_(1): requires_grad True, FillBackward2, zero gradient */
    nb_tensor *z = nb_mul_scalar(x, 2);
    NBT_CHECK(nb_fill_(z, 1) == z);
    NBT_CHECK(nb_requires_grad(z) && named(z, "FillBackward2"));
    NBT_CHECK(nb_backward(nb_sum(nb_add(z, x))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 0, 1, 1, 1);
    /* w = x*2; w.copy_(ones(3)): CopyBackwards */
    nb_tensor *w = nb_mul_scalar(x, 2);
    NBT_CHECK(nb_copy_(w, nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64))) == w);
    NBT_CHECK(nb_requires_grad(w) && named(w, "CopyBackwards"));
    /* copy_ broadcasts and converts: float32 src (2, 1) into float64 (2, 3) */
    nb_tensor *s32 = nb_ones(NB_SHAPE(2, 1), NB_OPTS(.requires_grad = true));
    nb_tensor *dst = nb_zeros(NB_SHAPE(2, 3), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_copy_(dst, s32) == dst);
    NBT_CHECK(nb_backward(nb_sum(dst)) == NB_OK);
    NBT_CHECK(nb_dtype_of(nb_grad(s32)) == NB_FLOAT32);
    NBT_CHECK_TENSOR(nb_grad(s32), NB_SHAPE(2, 1), 0, 3, 3);
    /* cat of empty tensors that require grad: requires grad, CatBackward0 */
    nb_tensor *e[2] = { nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true)),
                        nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true)) };
    nb_tensor *c = nb_cat(e, 2, 0);
    NBT_CHECK(c != NULL && nb_requires_grad(c) && !nb_is_leaf(c));
    nb_scope_end();
}

static void test_ops_that_return_their_input(void)
{
    nb_scope_begin();
    double     xv[2] = { 1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(2), xv);
    /* c = x.contiguous() is x in torch: a leaf, and its grad is x's. */
    nb_tensor *c = nb_contiguous(x);
    NBT_CHECK(nb_is_leaf(c) && nb_requires_grad(c) && nb_grad_fn_name(c) == NULL);
    NBT_CHECK(nb_backward(nb_sum(nb_mul(c, c))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 0, 2, 4);
    NBT_CHECK(nb_grad(c) == nb_grad(x));
    /* y = x * 3; y.to(float64) is y: same node. */
    nb_tensor *y = nb_mul_scalar(x, 3);
    NBT_CHECK(named(nb_to_dtype(y, NB_FLOAT64), "MulBackward0"));
    /* A view made in no-grad mode reports requires_grad, has no history,
     * and refuses an in-place write once grad mode is back. */
    nb_no_grad_begin();
    nb_tensor *v = nb_select(y, 0, 0);
    nb_no_grad_end();
    NBT_CHECK(nb_requires_grad(v) && nb_is_leaf(v));
    NBT_CHECK(nb_mul_scalar_(v, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "a view was made in no-grad mode");
    nb_clear_error();
    /* copy_ of a tensor that requires grad into an integer one: no history. */
    nb_tensor *i = nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_copy_(i, y) == i && !nb_requires_grad(i) && nb_is_leaf(i));
    NBT_CHECK_TENSOR(i, NB_SHAPE(2), 0, 3, 6);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Hooks                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct {
    int    calls;
    double scale;
    double seen_sum;
} hook_state;

static nb_status scale_hook(const nb_tensor *grad, nb_tensor **replacement, void *user)
{
    hook_state *s = user;
    s->calls++;
    nb_tensor *sum = nb_sum(grad);
    s->seen_sum    = nb_item(sum);
    nb_free(sum);
    if (s->scale != 1) *replacement = nb_mul_scalar(grad, s->scale);
    return NB_OK;
}

static nb_status failing_hook(const nb_tensor *grad, nb_tensor **replacement, void *user)
{
    (void)grad; (void)replacement; (void)user;
    nb_set_error(NB_ERR_ARG, "my hook refuses");
    return NB_ERR_ARG;
}

static nb_status bad_shape_hook(const nb_tensor *grad, nb_tensor **replacement, void *user)
{
    (void)grad; (void)user;
    *replacement = nb_zeros(NB_SHAPE(5), NB_OPTS(.dtype = NB_FLOAT64));
    return NB_OK;
}

static void test_hooks(void)
{
    nb_scope_begin();
    double     xv[3] = { 1, 2, 3 };
    nb_tensor *x     = leaf(NB_SHAPE(3), xv);
    /* Leaf hook: sees the gradient before accumulation and replaces it. */
    hook_state leaf_state = { .scale = 10 };
    int64_t    id         = nb_register_hook(x, scale_hook, &leaf_state);
    NBT_CHECK(id > 0);
    /* Non-leaf hook: y = x*x; y.register_hook(g*2): x.grad = 2 * 2x * 10 */
    nb_tensor *y        = nb_mul(x, x);
    hook_state mid      = { .scale = 2 };
    int64_t    mid_id   = nb_register_hook(y, scale_hook, &mid);
    NBT_CHECK(mid_id > 0 && mid_id != id);
    NBT_CHECK(nb_backward(nb_sum(y)) == NB_OK);
    NBT_CHECK(leaf_state.calls == 1 && mid.calls == 1);
    NBT_CHECK_NEAR(mid.seen_sum, 3, 1e-12);
    NBT_CHECK_NEAR(leaf_state.seen_sum, 2 * 2 * 6, 1e-12);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 1e-12, 40, 80, 120);
    /* Removed: no longer called. */
    NBT_CHECK(nb_remove_hook(x, id) == NB_OK);
    NBT_CHECK(nb_remove_hook(x, id) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "has no hook with id");
    nb_clear_error();
    nb_zero_grad(&x, 1);
    NBT_CHECK(nb_backward(nb_sum(nb_mul_scalar(x, 3))) == NB_OK);
    NBT_CHECK(leaf_state.calls == 1);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 0, 3, 3, 3);
    /* Hooks run in nb_grad_of too; a failing hook stops backward. */
    nb_tensor *z = nb_exp(x);
    NBT_CHECK(nb_register_hook(z, failing_hook, NULL) > 0);
    nb_tensor *g  = NULL;
    nb_tensor *sz = nb_sum(z);
    NBT_CHECK(nb_grad_of(&sz, 1, &x, 1, NULL, NB_GRAD_OPTS(), &g) == NB_ERR_ARG && g == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "my hook refuses");
    nb_clear_error();
    nb_tensor *u = nb_exp(x);
    NBT_CHECK(nb_register_hook(u, bad_shape_hook, NULL) > 0);
    NBT_CHECK(nb_backward(nb_sum(u)) == NB_ERR_SHAPE);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "a gradient hook returned");
    nb_clear_error();
    /* A non-leaf's hook can be removed after an in-place op on a view of it
     * gave it a new history (the hook stays with the old node). */
    nb_tensor *y2 = nb_mul_scalar(x, 1);
    int64_t    h2 = nb_register_hook(y2, failing_hook, NULL);
    NBT_CHECK(nb_fill_(nb_select(y2, 0, 0), 5) != NULL && named(y2, "CopySlices"));
    NBT_CHECK(nb_remove_hook(y2, h2) == NB_OK);
    nb_zero_grad(&x, 1);
    NBT_CHECK(nb_backward(nb_sum(y2)) == NB_OK); /* the failing hook is gone */
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 0, 0, 1, 1);
    /* Refusals */
    nb_tensor *plain = nb_ones(NB_SHAPE(2), NB_OPTS());
    NBT_CHECK(nb_register_hook(plain, scale_hook, &mid) == -1);
    NBT_CHECK_ERROR(NB_ERR_STATE, "doesn't require gradient");
    nb_clear_error();
    NBT_CHECK(nb_register_hook(x, NULL, NULL) == -1);
    nb_clear_error();
    nb_scope_end();
}

/* Clipping each gradient with a hook, as users do for gradient clipping. */
static nb_status clip_hook(const nb_tensor *grad, nb_tensor **replacement, void *user)
{
    (void)user;
    *replacement = nb_clamp(grad, -1, 1);
    return *replacement ? NB_OK : nb_last_status();
}

static void test_hook_clips_and_create_graph(void)
{
    nb_scope_begin();
    double     xv[3] = { -2, 0.25, 3 };
    nb_tensor *x     = leaf(NB_SHAPE(3), xv);
    NBT_CHECK(nb_register_hook(x, clip_hook, NULL) > 0);
    /* (x**3).sum(): 3x^2 = [12, 0.1875, 27] clipped to [1, 0.1875, 1] */
    NBT_CHECK(nb_backward(nb_sum(nb_mul(nb_mul(x, x), x))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 1e-12, 1, 0.1875, 1);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Custom functions                                                          */
/* ------------------------------------------------------------------------ */

/* y = exp(x) * k, with k from user; backward in nb_* ops (differentiable). */
static nb_status scaled_exp_forward(nb_function_ctx *ctx, nb_tensor *const *in, int n_in, nb_tensor **out, int n_out)
{
    (void)n_in; (void)n_out;
    double k = *(double *)nb_ctx_user(ctx);
    out[0]   = nb_mul_scalar(nb_exp(in[0]), k);
    return out[0] && nb_ctx_save_for_backward(ctx, &in[0], 1) == NB_OK ? NB_OK : nb_last_status();
}

static nb_status scaled_exp_backward(nb_function_ctx *ctx, nb_tensor *const *gout, int n_out, nb_tensor **gin,
                                     int n_in)
{
    (void)n_out; (void)n_in;
    double k = *(double *)nb_ctx_user(ctx);
    if (nb_ctx_needs_input_grad(ctx, 0)) gin[0] = nb_mul(gout[0], nb_mul_scalar(nb_exp(nb_ctx_saved(ctx, 0)), k));
    return NB_OK;
}

static const nb_function_def scaled_exp = { "ScaledExpBackward", scaled_exp_forward, scaled_exp_backward };

static nb_tensor *apply_scaled_exp(nb_tensor *const *x, int count, void *user)
{
    (void)count;
    nb_tensor *out = NULL;
    return nb_function_apply(&scaled_exp, x, 1, &out, 1, user) == NB_OK ? out : NULL;
}

/* Two outputs: (sum and max along the last dim) plus the argmax as a
 * non-differentiable third. */
static nb_status split_forward(nb_function_ctx *ctx, nb_tensor *const *in, int n_in, nb_tensor **out, int n_out)
{
    (void)n_in; (void)n_out;
    out[0] = nb_mul(in[0], in[1]);
    out[1] = nb_add(in[0], in[1]);
    out[2] = nb_argmax(in[0]);
    if (!out[0] || !out[1] || !out[2]) return nb_last_status();
    nb_ctx_mark_non_differentiable(ctx, out[2]);
    return nb_ctx_save_for_backward(ctx, in, 2);
}

static nb_status split_backward(nb_function_ctx *ctx, nb_tensor *const *gout, int n_out, nb_tensor **gin, int n_in)
{
    (void)n_out; (void)n_in;
    nb_tensor *a = nb_ctx_saved(ctx, 0), *b = nb_ctx_saved(ctx, 1);
    /* d(a*b) = g0 b, g0 a; d(a+b) = g1, g1 */
    gin[0] = nb_add(nb_mul(gout[0], b), gout[1]);
    gin[1] = nb_add(nb_mul(gout[0], a), gout[1]);
    return NB_OK;
}

static const nb_function_def split_fn = { "SplitBackward", split_forward, split_backward };

/* In place: x.mul_(2) as a custom function, marking x dirty. */
static nb_status double_forward(nb_function_ctx *ctx, nb_tensor *const *in, int n_in, nb_tensor **out, int n_out)
{
    (void)n_in; (void)n_out;
    if (nb_mul_scalar_(in[0], 2) == NULL) return nb_last_status();
    nb_ctx_mark_dirty(ctx, in[0]);
    out[0] = in[0];
    return NB_OK;
}

static nb_status double_backward(nb_function_ctx *ctx, nb_tensor *const *gout, int n_out, nb_tensor **gin, int n_in)
{
    (void)ctx; (void)n_out; (void)n_in;
    gin[0] = nb_mul_scalar(gout[0], 2);
    return NB_OK;
}

static const nb_function_def double_fn = { "DoubleBackward", double_forward, double_backward };

static nb_status forgets_dirty_forward(nb_function_ctx *ctx, nb_tensor *const *in, int n_in, nb_tensor **out,
                                       int n_out)
{
    (void)ctx; (void)n_in; (void)n_out;
    out[0] = in[0];
    return NB_OK;
}

/* Saves a temporary and frees its own handle to it before returning, and
 * saves its output: y = 2 exp(x), dy/dx = y. */
static nb_status twice_exp_forward(nb_function_ctx *ctx, nb_tensor *const *in, int n_in, nb_tensor **out, int n_out)
{
    (void)n_in; (void)n_out;
    nb_tensor *e = nb_exp(in[0]);
    out[0]       = nb_mul_scalar(e, 2);
    nb_tensor *keep[2] = { e, out[0] };
    nb_status  status  = nb_ctx_save_for_backward(ctx, keep, 2);
    nb_free(e);
    return status;
}

static nb_status twice_exp_backward(nb_function_ctx *ctx, nb_tensor *const *gout, int n_out, nb_tensor **gin,
                                    int n_in)
{
    (void)n_out; (void)n_in;
    gin[0] = nb_mul(gout[0], nb_ctx_saved(ctx, 1));
    return gin[0] ? NB_OK : nb_last_status();
}

static const nb_function_def twice_exp = { "TwiceExpBackward", twice_exp_forward, twice_exp_backward };

static const nb_function_def forgets_dirty = { "ForgetsBackward", forgets_dirty_forward, double_backward };

static void test_custom_functions(void)
{
    nb_scope_begin();
    double     xv[3] = { 0.5, 1, 1.5 };
    nb_tensor *x     = leaf(NB_SHAPE(3), xv);
    double     k     = 3;
    nb_tensor *y     = apply_scaled_exp(&x, 1, &k);
    NBT_CHECK(y != NULL && named(y, "ScaledExpBackward") && nb_requires_grad(y));
    NBT_CHECK(nb_backward(nb_sum(y)) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 1e-12, 3 * exp(0.5), 3 * exp(1.0), 3 * exp(1.5));
    /* gradcheck and gradgradcheck (its backward is written in nb_* ops) */
    NBT_CHECK(nb_gradcheck(apply_scaled_exp, &x, 1, &k, NB_GRADCHECK_OPTS()) == NB_OK);
    NBT_CHECK(nb_gradgradcheck(apply_scaled_exp, &x, 1, &k, NB_GRADCHECK_OPTS()) == NB_OK);
    /* The saved input changed in place: refused at backward. */
    nb_tensor *h  = nb_mul_scalar(x, 1);
    nb_tensor *hy = apply_scaled_exp(&h, 1, &k);
    nb_add_scalar_(h, 1);
    NBT_CHECK(nb_backward(nb_sum(hy)) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "saved tensor 0 of ScaledExpBackward");
    nb_clear_error();
    /* In no-grad mode: no node. */
    nb_no_grad_begin();
    nb_tensor *plain = apply_scaled_exp(&x, 1, &k);
    nb_no_grad_end();
    NBT_CHECK(plain != NULL && nb_is_leaf(plain) && !nb_requires_grad(plain));
    nb_scope_end();
}

static void test_custom_function_outputs(void)
{
    nb_scope_begin();
    double     av[3] = { 1, 5, 2 }, bv[3] = { 4, 2, 3 };
    nb_tensor *a = leaf(NB_SHAPE(3), av), *b = leaf(NB_SHAPE(3), bv);
    nb_tensor *in[2] = { a, b }, *out[3] = { 0 };
    NBT_CHECK(nb_function_apply(&split_fn, in, 2, out, 3, NULL) == NB_OK);
    NBT_CHECK(named(out[0], "SplitBackward") && named(out[1], "SplitBackward"));
    NBT_CHECK(!nb_requires_grad(out[2]) && nb_dtype_of(out[2]) == NB_INT64);
    /* Only output 1 used: output 0's gradient is materialized as zeros. */
    NBT_CHECK(nb_backward(nb_sum(nb_mul_scalar(out[1], 2))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(a), NB_SHAPE(3), 0, 2, 2, 2);
    NBT_CHECK_TENSOR(nb_grad(b), NB_SHAPE(3), 0, 2, 2, 2);
    /* Both outputs: sum(out0) + sum(out1) */
    nb_zero_grad(in, 2);
    NBT_CHECK(nb_function_apply(&split_fn, in, 2, out, 3, NULL) == NB_OK);
    NBT_CHECK(nb_backward(nb_add(nb_sum(out[0]), nb_sum(out[1]))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(a), NB_SHAPE(3), 0, 5, 3, 4);
    NBT_CHECK_TENSOR(nb_grad(b), NB_SHAPE(3), 0, 2, 6, 3);
    /* A dirty input: z = x*1; Double.apply(z) doubles z in place; (z*z).sum() */
    double     xv[2] = { 1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(2), xv);
    nb_tensor *z     = nb_mul_scalar(x, 1);
    nb_tensor *dz    = NULL;
    NBT_CHECK(nb_function_apply(&double_fn, &z, 1, &dz, 1, NULL) == NB_OK);
    NBT_CHECK(dz != z && named(z, "DoubleBackward"));
    NBT_CHECK_TENSOR(z, NB_SHAPE(2), 0, 2, 4);
    NBT_CHECK(nb_backward(nb_sum(nb_mul(z, z))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 1e-12, 8, 16);
    /* A dirty view: the base is rebased. */
    nb_zero_grad(&x, 1);
    nb_tensor *base = nb_mul_scalar(x, 1);
    nb_tensor *v    = nb_select(base, 0, 1);
    nb_tensor *dv   = NULL;
    NBT_CHECK(nb_function_apply(&double_fn, &v, 1, &dv, 1, NULL) == NB_OK);
    NBT_CHECK(named(base, "CopySlices"));
    NBT_CHECK(nb_backward(nb_sum(nb_mul(base, base))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 1e-12, 2, 16);
    /* Saved tensors outlive forward's handles; a saved output works. */
    nb_zero_grad(&x, 1);
    nb_tensor *te = NULL;
    NBT_CHECK(nb_function_apply(&twice_exp, &x, 1, &te, 1, NULL) == NB_OK);
    NBT_CHECK(nb_backward(nb_sum(te)) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 1e-12, 2 * exp(1.0), 2 * exp(2.0));
    /* Misuse: an input given back without marking it dirty; a dirty leaf. */
    NBT_CHECK(nb_function_apply(&forgets_dirty, &z, 1, &dz, 1, NULL) == NB_ERR_ARG && dz == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "without marking it dirty");
    nb_clear_error();
    NBT_CHECK(nb_function_apply(&double_fn, &x, 1, &dz, 1, NULL) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "leaf tensor that requires grad");
    nb_clear_error();
    nb_tensor *x_view = nb_select(x, 0, 0);
    NBT_CHECK(nb_function_apply(&double_fn, &x_view, 1, &dz, 1, NULL) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "a view of a leaf tensor that requires grad");
    nb_clear_error();
    NBT_CHECK(nb_function_apply(NULL, &x, 1, &dz, 1, NULL) == NB_ERR_ARG);
    nb_clear_error();
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Anomaly mode, retain_graph, accumulation                                  */
/* ------------------------------------------------------------------------ */

static void test_anomaly_mode(void)
{
    nb_scope_begin();
    double     xv[2] = { 0, 1 };
    nb_tensor *x     = leaf(NB_SHAPE(2), xv);
    /* sqrt'(0) = inf: without anomaly mode backward succeeds with inf. */
    NBT_CHECK(!nb_is_anomaly_enabled());
    NBT_CHECK(nb_backward(nb_sum(nb_sqrt(x))) == NB_OK);
    NBT_CHECK(isinf(nb_item(nb_sum(nb_grad(x)))));
    nb_set_detect_anomaly(true);
    NBT_CHECK(nb_is_anomaly_enabled());
    nb_tensor *y = nb_mul_scalar(x, 2);
    nb_tensor *s = nb_sqrt(y);
    NBT_CHECK(nb_backward(nb_sum(s)) == NB_ERR_STATE);
    NBT_CHECK(strstr(nb_last_error(), "detect_anomaly: function 'SqrtBackward0'") != NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "returned nan or inf values in its gradient for input 0; the node was recorded "
                                  "by forward op 2 since detection was turned on");
    nb_clear_error();
    /* Finite gradients pass. */
    nb_zero_grad(&x, 1);
    NBT_CHECK(nb_backward(nb_sum(nb_exp(x))) == NB_OK);
    nb_set_detect_anomaly(false);
    nb_scope_end();
}

static void test_retain_graph_and_accumulation(void)
{
    nb_scope_begin();
    /* Many leaves (the engine indexes them by hash past 16), each used
     * twice: every gradient summed once into its own leaf. */
    enum { LEAVES = 40 };
    nb_tensor *leaves[LEAVES], *total = NULL;
    for (int i = 0; i < LEAVES; i++) {
        leaves[i]      = nb_full(NB_SHAPE(2), i, NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
        nb_tensor *use = nb_add(nb_mul(leaves[i], leaves[i]), leaves[i]);
        total          = total ? nb_add(total, use) : use;
    }
    NBT_CHECK(nb_backward(nb_sum(total)) == NB_OK);
    bool all = true;
    for (int i = 0; i < LEAVES; i++) all = all && nb_item(nb_select(nb_grad(leaves[i]), 0, 1)) == 2.0 * i + 1;
    NBT_CHECK(all);
    double     xv[2] = { 1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(2), xv);
    nb_tensor *y     = nb_sum(nb_mul(x, x));
    NBT_CHECK(nb_backward_with(y, NULL, NB_GRAD_OPTS(.retain_graph = true)) == NB_OK);
    NBT_CHECK(nb_backward(y) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 0, 4, 8); /* accumulated twice */
    NBT_CHECK(nb_backward(y) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "backward through the graph a second time");
    nb_clear_error();
    /* A shared subgraph reached by two paths sums both. */
    nb_zero_grad(&x, 1);
    nb_tensor *e = nb_exp(x);
    NBT_CHECK(nb_backward(nb_add(nb_sum(e), nb_sum(nb_mul(e, e)))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 1e-9, exp(1.0) + 2 * exp(2.0), exp(2.0) + 2 * exp(4.0));
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_in_place_after_use);
    NBT_RUN(test_saved_value_changed_is_caught);
    NBT_RUN(test_in_place_on_view_of_non_leaf);
    NBT_RUN(test_fill_buffer_slices);
    NBT_RUN(test_other_views_follow_the_base);
    NBT_RUN(test_view_of_view_and_double_backward);
    NBT_RUN(test_gradcheck_through_in_place_views);
    NBT_RUN(test_in_place_refusals);
    NBT_RUN(test_fill_copy_cat_keep_requires_grad);
    NBT_RUN(test_ops_that_return_their_input);
    NBT_RUN(test_hooks);
    NBT_RUN(test_hook_clips_and_create_graph);
    NBT_RUN(test_custom_functions);
    NBT_RUN(test_custom_function_outputs);
    NBT_RUN(test_anomaly_mode);
    NBT_RUN(test_retain_graph_and_accumulation);
    return nbt_finish();
}
