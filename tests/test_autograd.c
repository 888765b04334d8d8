/*
 * test_autograd.c — the engine and its rules: accumulation, leaves and
 * non-leaves, retain_grad, graph lifetime, in-place detection, grad mode,
 * nb_grad_of with create_graph (second derivatives), DOT export, memory.
 * Per-op gradients are checked by the op tables (test_elementwise.c, ...).
 */
#include "nb_test.h"

static nb_tensor *leaf(nb_shape shape, const double *values)
{
    nb_tensor *t = nb_from_data(values, shape, NB_OPTS(.dtype = NB_FLOAT64));
    nb_requires_grad_(t, true);
    return t;
}

static void test_chain_rule_and_accumulation(void)
{
    nb_scope_begin();
    double     xv[3] = { 0.5, 1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(3), xv);
    NBT_CHECK(nb_is_leaf(x) && nb_requires_grad(x) && nb_grad(x) == NULL);
    /* y = x * exp(x): dy/dx = exp(x) (1 + x) */
    nb_tensor *y = nb_mul(x, nb_exp(x));
    NBT_CHECK(!nb_is_leaf(y) && nb_requires_grad(y));
    NBT_CHECK(strcmp(nb_grad_fn_name(y), "MulBackward0") == 0);
    NBT_CHECK(nb_backward_with(y, nb_ones_like(y), NB_GRAD_OPTS()) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 1e-12, exp(0.5) * 1.5, exp(1) * 2, exp(2) * 3);
    /* A second graph: gradients add up (+=). */
    nb_tensor *z = nb_mul_scalar(x, 3);
    NBT_CHECK(nb_backward_with(z, nb_ones_like(z), NB_GRAD_OPTS()) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 1e-12, exp(0.5) * 1.5 + 3, exp(1) * 2 + 3, exp(2) * 3 + 3);
    nb_zero_grad(&x, 1);
    NBT_CHECK(nb_grad(x) == NULL);
    /* A tensor used twice: both paths add. y = x*x + x -> 2x + 1 */
    nb_tensor *w = nb_add(nb_mul(x, x), x);
    NBT_CHECK(nb_backward_with(w, nb_ones_like(w), NB_GRAD_OPTS()) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(3), 1e-12, 2, 3, 5);
    nb_scope_end();
    /* The leaf's grad lives with the leaf, outside the scope. */
}

static void test_broadcast_and_views(void)
{
    nb_scope_begin();
    double     av[6] = { 1, 2, 3, 4, 5, 6 }, bv[3] = { 10, 20, 30 };
    nb_tensor *a = leaf(NB_SHAPE(2, 3), av);
    nb_tensor *b = leaf(NB_SHAPE(3), bv);
    /* out = a.T[1:] * b[:2]... via views; gradient flows back through each. */
    nb_tensor *at  = nb_transpose(a, 0, 1);               /* (3, 2) */
    nb_tensor *sel = nb_slice(at, 0, 1, NB_END, 1);       /* rows 1..2: (2, 2) */
    nb_tensor *bb  = nb_unsqueeze(nb_narrow(b, 0, 0, 2), 1); /* (2, 1) */
    nb_tensor *out = nb_mul(sel, bb);                     /* (2, 2) broadcast */
    NBT_CHECK(nb_backward_with(out, nb_ones_like(out), NB_GRAD_OPTS()) == NB_OK);
    /* d/da[i][j] = b[j-1] for j >= 1 (through the transpose), else 0. */
    NBT_CHECK_TENSOR(nb_grad(a), NB_SHAPE(2, 3), 0, 0, 10, 20, 0, 10, 20);
    /* d/db[k] = sum over i of a[i][k+1], for k < 2. */
    NBT_CHECK_TENSOR(nb_grad(b), NB_SHAPE(3), 0, 2 + 5, 3 + 6, 0);
    nb_scope_end();
}

static void test_non_leaf_and_retain_grad(void)
{
    nb_scope_begin();
    double     xv[2] = { 1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(2), xv);
    nb_tensor *h     = nb_mul_scalar(x, 2);
    NBT_CHECK(nb_retain_grad(h) == NB_OK);
    nb_tensor *y = nb_mul(h, h); /* y = 4x^2: dy/dh = 2h, dy/dx = 8x */
    NBT_CHECK(nb_backward_with(y, nb_ones_like(y), NB_GRAD_OPTS()) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(h), NB_SHAPE(2), 1e-12, 4, 8);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 1e-12, 8, 16);
    NBT_CHECK(nb_requires_grad_(h, false) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "a non-leaf tensor (made by MulBackward0");
    nb_tensor *d = nb_detach(h);
    NBT_CHECK(nb_is_leaf(d) && !nb_requires_grad(d));
    NBT_CHECK(nb_data(d) == nb_data(h));
    nb_scope_end();
}

static void test_graph_lifetime(void)
{
    nb_scope_begin();
    double     xv[2] = { 1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(2), xv);
    nb_tensor *y     = nb_mul(nb_exp(x), x);
    nb_tensor *ones  = nb_ones_like(y);
    NBT_CHECK(nb_backward_with(y, ones, NB_GRAD_OPTS(.retain_graph = true)) == NB_OK);
    NBT_CHECK(nb_backward_with(y, ones, NB_GRAD_OPTS()) == NB_OK); /* retained: works */
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 1e-12, 2 * exp(1) * 2, 2 * exp(2) * 3);
    NBT_CHECK(nb_backward_with(y, ones, NB_GRAD_OPTS()) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "backward through the graph a second time");
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 1e-12, 2 * exp(1) * 2, 2 * exp(2) * 3); /* unchanged */
    /* Releasing the user's handles does not break a pending backward. */
    nb_tensor *x2 = leaf(NB_SHAPE(2), xv);
    nb_tensor *t  = nb_exp(x2);
    nb_tensor *u  = nb_mul(t, t);
    nb_free(t);
    nb_free(x2); /* the graph still holds x2 */
    NBT_CHECK(nb_backward_with(u, nb_ones_like(u), NB_GRAD_OPTS()) == NB_OK);
    nb_scope_end();
}

static void test_bad_backward_calls(void)
{
    nb_scope_begin();
    double     xv[2] = { 1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(2), xv);
    nb_tensor *plain = nb_ones(NB_SHAPE(2), NB_OPTS());
    NBT_CHECK(nb_backward(plain) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "does not require grad and has no grad_fn");
    nb_tensor *y = nb_exp(x);
    NBT_CHECK(nb_backward(y) == NB_ERR_SHAPE);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "grad can be implicitly created only for one-element outputs");
    NBT_CHECK(nb_backward_with(y, nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64)), NB_GRAD_OPTS()) == NB_ERR_SHAPE);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "grad_output has shape [3] but the output has shape [2]");
    NBT_CHECK(nb_backward_with(y, nb_ones(NB_SHAPE(2), NB_OPTS()), NB_GRAD_OPTS()) == NB_ERR_DTYPE);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "grad_output is float32 but the output is float64");
    NBT_CHECK(nb_backward(NULL) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "argument 't' is NULL");
    /* Integers cannot require grad. */
    nb_tensor *ints = nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_requires_grad_(ints, true) == NB_ERR_DTYPE);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "only floating point tensors can require gradients");
    NBT_CHECK(nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT32, .requires_grad = true)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "only floating point tensors can require gradients");
    /* Everything still works afterwards. */
    NBT_CHECK(nb_backward_with(y, nb_ones_like(y), NB_GRAD_OPTS()) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 1e-12, exp(1), exp(2));
    nb_scope_end();
}

static void test_in_place_rules(void)
{
    nb_scope_begin();
    double     xv[2] = { 1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(2), xv);
    /* A leaf that requires grad cannot be written in place while recording... */
    NBT_CHECK(nb_add_scalar_(x, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "a leaf tensor that requires grad is used in an in-place operation");
    NBT_CHECK_TENSOR(x, NB_SHAPE(2), 0, 1, 2);
    /* ... but can in no-grad mode (an optimizer step). */
    NBT_CHECK(nb_no_grad_begin() == NB_OK);
    NBT_CHECK(nb_add_scalar_(x, 1) == x);
    NBT_CHECK(nb_no_grad_end() == NB_OK);
    NBT_CHECK_TENSOR(x, NB_SHAPE(2), 0, 2, 3);
    /* A saved tensor changed in place: detected at backward, naming the op. */
    nb_tensor *h = nb_mul_scalar(x, 1);
    nb_tensor *y = nb_mul(h, h);
    NBT_CHECK(nb_add_scalar_(h, 1) == h);
    NBT_CHECK(nb_backward_with(y, nb_ones_like(y), NB_GRAD_OPTS()) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "modified by an in-place operation: input 0 of MulBackward0 is at version 1; "
                                  "expected version 0");
    /* An in-place op on a non-leaf is recorded: z = (2x) * 3 in place. */
    nb_tensor *z = nb_mul_scalar(x, 2);
    NBT_CHECK(nb_mul_scalar_(z, 3) == z);
    NBT_CHECK(strcmp(nb_grad_fn_name(z), "MulBackward0") == 0);
    NBT_CHECK(nb_backward_with(z, nb_ones_like(z), NB_GRAD_OPTS()) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 0, 6, 6);
    nb_scope_end();
}

static void test_grad_mode(void)
{
    nb_scope_begin();
    double     xv[2] = { 1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(2), xv);
    NBT_CHECK(nb_is_grad_enabled());
    nb_no_grad_begin();
    NBT_CHECK(!nb_is_grad_enabled());
    nb_tensor *y = nb_exp(x);
    NBT_CHECK(!nb_requires_grad(y) && nb_is_leaf(y));
    nb_enable_grad_begin();
    nb_tensor *z = nb_exp(x);
    NBT_CHECK(nb_requires_grad(z));
    NBT_CHECK(nb_no_grad_end() == NB_ERR_STATE); /* the innermost is enable-grad */
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_no_grad_end: no matching nb_no_grad_begin is open");
    nb_enable_grad_end();
    NBT_CHECK(nb_backward(nb_sum(y)) == NB_ERR_STATE); /* made in no-grad */
    NBT_CHECK_ERROR(NB_ERR_STATE, "does not require grad");
    NBT_CHECK(nb_backward_with(z, nb_ones_like(z), NB_GRAD_OPTS(.create_graph = true)) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "create_graph inside no-grad mode");
    nb_no_grad_end();
    NBT_CHECK(nb_is_grad_enabled());
    NBT_CHECK(nb_no_grad_end() == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "no matching nb_no_grad_begin");
    nb_scope_end();
}

static void test_grad_of_and_second_derivatives(void)
{
    nb_scope_begin();
    double     xv[3] = { 0.5, 1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(3), xv);
    /* y = x^3 elementwise: dy/dx = 3x^2, d2y/dx2 = 6x */
    nb_tensor *y  = nb_mul(nb_mul(x, x), x);
    nb_tensor *v  = nb_ones_like(y);
    nb_tensor *g1 = NULL;
    NBT_CHECK(nb_grad_of(&y, 1, &x, 1, &v, NB_GRAD_OPTS(.create_graph = true), &g1) == NB_OK);
    NBT_CHECK_TENSOR(g1, NB_SHAPE(3), 1e-12, 0.75, 3, 12);
    NBT_CHECK(nb_grad(x) == NULL); /* grad_of accumulates nothing */
    NBT_CHECK(nb_requires_grad(g1));
    nb_tensor *g2 = NULL;
    NBT_CHECK(nb_grad_of(&g1, 1, &x, 1, &v, NB_GRAD_OPTS(), &g2) == NB_OK);
    NBT_CHECK_TENSOR(g2, NB_SHAPE(3), 1e-12, 3, 6, 12);
    /* Unused inputs need allow_unused. */
    double     uv[1] = { 4 };
    nb_tensor *unused = leaf(NB_SHAPE(1), uv);
    nb_tensor *y2     = nb_exp(x);
    nb_tensor *pair[2] = { x, unused }, *grads[2] = { NULL, NULL };
    nb_tensor *v2     = nb_ones_like(y2);
    NBT_CHECK(nb_grad_of(&y2, 1, pair, 2, &v2, NB_GRAD_OPTS(.retain_graph = true), grads) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "input 1 is not used in the graph of the outputs");
    NBT_CHECK(grads[0] == NULL && grads[1] == NULL);
    NBT_CHECK(nb_grad_of(&y2, 1, pair, 2, &v2, NB_GRAD_OPTS(.allow_unused = true), grads) == NB_OK);
    NBT_CHECK_TENSOR(grads[0], NB_SHAPE(3), 1e-12, exp(0.5), exp(1), exp(2));
    NBT_CHECK(grads[1] == NULL);
    nb_scope_end();
}

static void test_dtype_conversion_gradient(void)
{
    /* float64 -> float32 -> float64: the gradient comes back converted. */
    nb_scope_begin();
    double     xv[2] = { 1.5, -2 };
    nb_tensor *x     = leaf(NB_SHAPE(2), xv);
    nb_tensor *f     = nb_to_dtype(x, NB_FLOAT32);
    NBT_CHECK(nb_dtype_of(f) == NB_FLOAT32 && strcmp(nb_grad_fn_name(f), "ToCopyBackward0") == 0);
    nb_tensor *y = nb_to_dtype(nb_mul(f, f), NB_FLOAT64);
    NBT_CHECK(nb_backward_with(y, nb_ones_like(y), NB_GRAD_OPTS()) == NB_OK);
    NBT_CHECK(nb_dtype_of(nb_grad(x)) == NB_FLOAT64);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2), 1e-6, 3, -4);
    /* To an integer dtype the graph ends. */
    NBT_CHECK(!nb_requires_grad(nb_to_dtype(x, NB_INT64)));
    nb_scope_end();
}

static void test_hessian_vector_product(void)
{
    /* f(x) = sum(x^2 * sum(x)): the Hessian-vector product H v from two
     * backward passes equals 2 diag(S) v + 2 x (1.v) + 2 1 (x.v), S = sum(x). */
    nb_scope_begin();
    double     xv[3] = { 1, 2, 3 }, vv[3] = { 0.5, -1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(3), xv);
    nb_tensor *v     = nb_from_data(vv, NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *f     = nb_sum(nb_mul(nb_mul(x, x), nb_sum(x)));
    nb_tensor *g     = NULL;
    NBT_CHECK(nb_grad_of(&f, 1, &x, 1, NULL, NB_GRAD_OPTS(.create_graph = true), &g) == NB_OK);
    nb_tensor *gv = nb_sum(nb_mul(g, v));
    nb_tensor *hv = NULL;
    NBT_CHECK(nb_grad_of(&gv, 1, &x, 1, NULL, NB_GRAD_OPTS(), &hv) == NB_OK);
    double S = 6, one_v = 1.5, x_v = 0.5 - 2 + 6;
    double expected[3];
    for (int i = 0; i < 3; i++) expected[i] = 2 * S * vv[i] + 2 * xv[i] * one_v + 2 * x_v;
    NBT_CHECK_TENSOR(hv, NB_SHAPE(3), 1e-12, expected[0], expected[1], expected[2]);
    nb_scope_end();
}

static void test_gradient_penalty(void)
{
    /* A WGAN-style penalty: for y = tanh(x W), penalty = ||dy/dx||^2; its
     * gradient with respect to W flows through the first backward pass.
     * Checked against a finite difference of the penalty in W. */
    nb_scope_begin();
    double     xv[2] = { 0.3, -0.7 }, wv[2] = { 0.9, 0.4 };
    nb_tensor *x     = leaf(NB_SHAPE(1, 2), xv);
    nb_tensor *w     = leaf(NB_SHAPE(2, 1), wv);
    nb_tensor *y     = nb_sum(nb_tanh(nb_matmul(x, w)));
    nb_tensor *dx    = NULL;
    NBT_CHECK(nb_grad_of(&y, 1, &x, 1, NULL, NB_GRAD_OPTS(.create_graph = true), &dx) == NB_OK);
    nb_tensor *penalty = nb_sum(nb_mul(dx, dx));
    NBT_CHECK(nb_backward(penalty) == NB_OK);
    /* penalty(w) = (1 - tanh(x.w)^2)^2 |w|^2; d/dw0 by central differences */
    double h = 1e-6, numeric[2];
    for (int k = 0; k < 2; k++) {
        double p[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            double w0 = wv[0] + (k == 0 ? (sgn ? -h : h) : 0), w1 = wv[1] + (k == 1 ? (sgn ? -h : h) : 0);
            double s = 1 - pow(tanh(xv[0] * w0 + xv[1] * w1), 2);
            p[sgn]   = s * s * (w0 * w0 + w1 * w1);
        }
        numeric[k] = (p[0] - p[1]) / (2 * h);
    }
    NBT_CHECK_TENSOR(nb_grad(w), NB_SHAPE(2, 1), 1e-6, numeric[0], numeric[1]);
    nb_scope_end();
}

static void test_graph_dot(void)
{
    nb_scope_begin();
    double     xv[2] = { 1, 2 };
    nb_tensor *x     = leaf(NB_SHAPE(2), xv);
    nb_tensor *y     = nb_tanh(nb_mul(x, x));
    FILE      *f     = tmpfile();
    NBT_CHECK(f != NULL && nb_graph_dot(y, f) == NB_OK);
    if (f) {
        char text[2048] = { 0 };
        rewind(f);
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        NBT_CHECK(n > 0 && strncmp(text, "digraph backward {", 18) == 0);
        NBT_CHECK(strstr(text, "TanhBackward0\\n[2] float64") != NULL);
        NBT_CHECK(strstr(text, "MulBackward0") != NULL);
        NBT_CHECK(strstr(text, "leaf\\n[2] float64\\nrequires_grad") != NULL);
    }
    NBT_CHECK(nb_graph_dot(y, NULL) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_graph_dot: f is NULL");
    /* A 100,000-node chain with a shared input: every node is written once
     * (with a list search for the nodes seen, this took seconds). */
    nb_tensor *z = x;
    for (int i = 0; i < 100000; i++) z = nb_add(z, x);
    f = tmpfile();
    NBT_CHECK(f != NULL && nb_graph_dot(z, f) == NB_OK);
    if (f) {
        long boxes = 0;
        char line[256];
        rewind(f);
        while (fgets(line, sizeof line, f))
            if (strstr(line, "[shape=box")) boxes++;
        fclose(f);
        NBT_CHECK(boxes == 100000);
    }
    nb_scope_end();
}

static void test_memory_over_many_steps(void)
{
    /* 10,000 training-like steps in scopes: the live count returns to its
     * start, and the parameter's grad is replaced, not leaked. */
    double     wv[4] = { 0.1, 0.2, 0.3, 0.4 };
    nb_tensor *w     = leaf(NB_SHAPE(2, 2), wv);
    int64_t    start = nb_live_tensors();
    for (int step = 0; step < 10000; step++) {
        nb_scope_begin();
        nb_tensor *x = nb_full(NB_SHAPE(2, 2), 0.5, NB_OPTS(.dtype = NB_FLOAT64));
        nb_tensor *y = nb_tanh(nb_mul(x, w));
        nb_backward_with(y, nb_ones_like(y), NB_GRAD_OPTS());
        nb_no_grad_begin();
        nb_sub_(w, nb_mul_scalar(nb_grad(w), 0.01));
        nb_no_grad_end();
        nb_zero_grad(&w, 1);
        nb_scope_end();
    }
    NBT_CHECK(nb_live_tensors() == start);
    nb_free(w);
}

static void test_long_chain_release(void)
{
    /* Freeing the end of a 100,000-op chain must not overflow the stack. */
    double     xv[1] = { 1 };
    nb_tensor *x     = leaf(NB_SHAPE(1), xv);
    nb_tensor *y     = nb_mul_scalar(x, 1);
    for (int i = 0; i < 100000; i++) {
        nb_tensor *next = nb_add_scalar(y, 0);
        nb_free(y);
        y = next;
    }
    NBT_CHECK(nb_requires_grad(y));
    nb_free(y);
    nb_free(x);
}

int main(void)
{
    NBT_RUN(test_chain_rule_and_accumulation);
    NBT_RUN(test_broadcast_and_views);
    NBT_RUN(test_non_leaf_and_retain_grad);
    NBT_RUN(test_graph_lifetime);
    NBT_RUN(test_bad_backward_calls);
    NBT_RUN(test_in_place_rules);
    NBT_RUN(test_grad_mode);
    NBT_RUN(test_grad_of_and_second_derivatives);
    NBT_RUN(test_dtype_conversion_gradient);
    NBT_RUN(test_hessian_vector_product);
    NBT_RUN(test_gradient_penalty);
    NBT_RUN(test_graph_dot);
    NBT_RUN(test_memory_over_many_steps);
    NBT_RUN(test_long_chain_release);
    return nbt_finish();
}
