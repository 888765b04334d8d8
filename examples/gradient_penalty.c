/*
 * gradient_penalty.c — a second-order gradient: penalise the norm of the
 * gradient of a model's output with respect to its input (as WGAN-GP
 * does), and train the model's weights on that penalty. The penalty's
 * gradient flows through the first backward pass, which create_graph
 * records.
 */
#include <nabla.h>
#include <stdio.h>

int main(void)
{
    nb_manual_seed(5);
    nb_module *layers[] = { nb_linear_new(2, 16, true), nb_tanh_new(), nb_linear_new(16, 1, true) };
    nb_module *critic   = nb_sequential_new(layers, 3);
    nb_tensor *params[4];
    nb_optim  *adam     = nb_adam_new(params, nb_module_parameters(critic, params, NULL, 4), nb_adam_defaults());
    double     first = 0, last = 0;
    for (int step = 0; step < 100; step++) {
        nb_scope_begin();
        nb_tensor *x = nb_randn(NB_SHAPE(32, 2), NB_OPTS(.requires_grad = true));
        nb_tensor *score = nb_sum(nb_module_forward(critic, x));
        nb_tensor *dx    = NULL; /* d score / d x, itself differentiable */
        nb_grad_of(&score, 1, &x, 1, NULL, NB_GRAD_OPTS(.create_graph = true), &dx);
        /* penalty = mean((||dx||_2 - 1)^2) over the batch */
        nb_tensor *norms   = nb_norm_dims(dx, 2, NB_DIMS(1), false);
        nb_tensor *penalty = nb_mean(nb_pow_scalar(nb_sub_scalar(norms, 1), 2));
        if (penalty == NULL || nb_backward(penalty) != NB_OK) {
            fprintf(stderr, "%s\n", nb_last_error());
            return 1;
        }
        nb_optim_step(adam);
        nb_optim_zero_grad(adam);
        if (step == 0) first = nb_item(penalty);
        last = nb_item(penalty);
        if (step % 25 == 0) printf("step %3d  gradient penalty %.5f\n", step, last);
        nb_scope_end();
    }
    printf("gradient penalty: %.5f -> %.5f\n", first, last);
    nb_optim_free(adam);
    nb_module_free(critic);
    return last < first ? 0 : 1;
}
