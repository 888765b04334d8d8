/*
 * custom_function.c — your own differentiable op, and a gradient hook.
 *
 * A straight-through rounding: forward rounds x to a grid of step h, backward
 * passes the gradient through unchanged (the estimator used to train
 * quantized networks). nb_function_apply records one node for it, named as
 * you choose, and a hook clips the gradient reaching the weights.
 */
#include <nabla.h>
#include <stdio.h>

/* out = h * floor(x / h + 0.5) */
static nb_status round_forward(nb_function_ctx *ctx, nb_tensor *const *in, int n_in, nb_tensor **out, int n_out)
{
    (void)n_in;
    (void)n_out;
    double h = *(const double *)nb_ctx_user(ctx);
    out[0]   = nb_mul_scalar(nb_floor_divide_scalar(nb_add_scalar(in[0], h / 2), h), h);
    return out[0] ? NB_OK : nb_last_status();
}

/* The straight-through estimator: d out / d x taken as 1. */
static nb_status round_backward(nb_function_ctx *ctx, nb_tensor *const *grad_out, int n_out, nb_tensor **grad_in,
                                int n_in)
{
    (void)n_out;
    (void)n_in;
    if (nb_ctx_needs_input_grad(ctx, 0)) grad_in[0] = nb_clone(grad_out[0]);
    return NB_OK;
}

static const nb_function_def straight_through_round = { "StraightThroughRoundBackward", round_forward,
                                                        round_backward };

/* Clip each element of the gradient to [-1, 1]. */
static nb_status clip(const nb_tensor *grad, nb_tensor **replacement, void *user)
{
    (void)user;
    *replacement = nb_clamp(grad, -1, 1);
    return *replacement ? NB_OK : nb_last_status();
}

int main(void)
{
    nb_scope_begin();
    double     wv[4] = { 0.26, -0.74, 1.49, 3.0 };
    nb_tensor *w     = nb_from_data(wv, NB_SHAPE(4), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    double     step  = 0.5;
    nb_tensor *q     = NULL;
    if (nb_function_apply(&straight_through_round, &w, 1, &q, 1, &step) != NB_OK
        || nb_register_hook(w, clip, NULL) < 0) {
        fprintf(stderr, "%s\n", nb_last_error());
        return 1;
    }
    /* q = [0.5, -0.5, 1.5, 3]; loss = sum(q^2): d loss / d q = 2q = [1, -1, 3, 6], clipped -> [1, -1, 1, 1] */
    nb_tensor *loss = nb_sum(nb_mul(q, q));
    if (nb_backward(loss) != NB_OK) {
        fprintf(stderr, "%s\n", nb_last_error());
        return 1;
    }
    printf("q = round(w, 0.5), recorded by %s:\n", nb_grad_fn_name(q));
    nb_print(q);
    printf("dloss/dw through the straight-through estimator, clipped by the hook:\n");
    nb_print(nb_grad(w));
    double expected[4] = { 1, -1, 1, 1 }, got[4];
    nb_copy_to_buffer(nb_grad(w), got, sizeof got);
    for (int i = 0; i < 4; i++)
        if (got[i] != expected[i]) {
            fprintf(stderr, "element %d: %g, expected %g\n", i, got[i], expected[i]);
            return 1;
        }
    nb_scope_end();
    return 0;
}
