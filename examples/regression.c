/*
 * regression.c — fit a line with a Linear layer, mean squared error and
 * SGD: the smallest complete training loop.
 *
 *   data:  y = 3 x - 2 + noise,  x in [-1, 1]
 *   model: y_hat = w x + b       (nb_linear_new(1, 1, true))
 */
#include <nabla.h>
#include <math.h>
#include <stdio.h>

int main(void)
{
    nb_manual_seed(1);
    nb_scope_begin(); /* the data's intermediate tensors go at the end of this scope */
    nb_tensor *x     = nb_keep(nb_sub_scalar(nb_mul_scalar(nb_rand(NB_SHAPE(256, 1), NB_OPTS()), 2), 1));
    nb_tensor *noise = nb_mul_scalar(nb_randn(NB_SHAPE(256, 1), NB_OPTS()), 0.1);
    nb_tensor *y     = nb_keep(nb_add(nb_sub_scalar(nb_mul_scalar(x, 3), 2), noise));
    nb_scope_end();

    nb_module  *model = nb_linear_new(1, 1, true);
    nb_tensor  *params[2];
    int64_t     count = nb_module_parameters(model, params, NULL, 2);
    nb_optim   *sgd   = nb_sgd_new(params, count, nb_sgd_defaults(0.1));
    if (model == NULL || sgd == NULL) {
        fprintf(stderr, "%s\n", nb_last_error());
        return 1;
    }
    double loss_value = 0;
    for (int step = 0; step < 200; step++) {
        nb_scope_begin();                     /* this step's tensors and graph */
        nb_tensor *loss = nb_mse_loss(nb_module_forward(model, x), y, NB_REDUCTION_MEAN);
        nb_backward(loss);
        nb_optim_step(sgd);
        nb_optim_zero_grad(sgd);
        loss_value = nb_item(loss);
        if (step % 50 == 0) printf("step %3d  loss %.5f\n", step, loss_value);
        nb_scope_end();
    }
    double w = nb_item(nb_module_tensor(model, "weight")), b = nb_item(nb_module_tensor(model, "bias"));
    printf("learned y = %.3f x %+.3f (true: 3 x - 2), final loss %.5f\n", w, b, loss_value);

    nb_optim_free(sgd);
    nb_module_free(model);
    nb_free(x);
    nb_free(y);
    return fabs(w - 3) < 0.05 && fabs(b + 2) < 0.05 && nb_live_tensors() == 0 ? 0 : 1;
}
