/*
 * seed.c — the walkthrough nabla comes from: the same computation done with
 * arrays (gradient by hand) and with tensors (gradient by autograd).
 *
 *   y = X W + b          X: (4, 3)   W: (3, 2)   b: (2)
 *   L = sum(y)           so dL/dy = ones(4, 2)
 *   dL/dW = X^T dL/dy    by hand ...
 *   dL/dW                ... and from nb_backward: the two must agree.
 */
#include <nabla.h>
#include <math.h>
#include <stdio.h>

int main(void)
{
    /* "CUDA if available, else CPU", as the seed text chooses its device. */
    nb_device device = nb_cuda_is_available() ? (nb_device){ NB_CUDA, 0 } : NB_DEVICE_CPU;
    printf("device: %s\n", device.type == NB_CUDA ? "cuda:0" : "cpu");

    nb_manual_seed(42);
    nb_scope_begin();
    nb_tensor *X = nb_randn(NB_SHAPE(4, 3), NB_OPTS(.device = device));
    nb_tensor *W = nb_randn(NB_SHAPE(3, 2), NB_OPTS(.device = device, .requires_grad = true));
    nb_tensor *b = nb_randn(NB_SHAPE(2), NB_OPTS(.device = device, .requires_grad = true));

    /* Values and labels, with their dtypes as PyTorch shows them. */
    int64_t    label_values[4] = { 0, 1, 1, 0 };
    nb_tensor *labels = nb_from_data(label_values, NB_SHAPE(4), NB_OPTS(.dtype = NB_INT64, .device = device));
    printf("X (%s):\n", nb_dtype_name(nb_dtype_of(X)));
    nb_print(X);
    printf("labels (%s): ", nb_dtype_name(nb_dtype_of(labels)));
    nb_print(labels);

    nb_tensor *y    = nb_add(nb_matmul(X, W), b);
    nb_tensor *loss = nb_sum(y);
    printf("y = X W + b:\n");
    nb_print(y);
    printf("loss = sum(y): ");
    nb_print(loss);

    /* By hand: dL/dy is all ones, so dL/dW = X^T ones and dL/db = 4 ones. */
    nb_tensor *dL_dy      = nb_ones(NB_SHAPE(4, 2), NB_OPTS(.device = device));
    nb_tensor *by_hand_dW = nb_matmul(nb_t(X), dL_dy);

    if (nb_backward(loss) != NB_OK) {
        fprintf(stderr, "backward failed: %s\n", nb_last_error());
        return 1;
    }
    printf("dL/dW by hand (X^T ones):\n");
    nb_print(by_hand_dW);
    printf("dL/dW from autograd:\n");
    nb_print(nb_grad(W));
    printf("dL/db from autograd: ");
    nb_print(nb_grad(b));

    double difference = nb_item(nb_max(nb_abs(nb_sub(by_hand_dW, nb_grad(W)))));
    double b_error    = nb_item(nb_max(nb_abs(nb_sub_scalar(nb_grad(b), 4))));
    bool   agree      = difference < 1e-6 && b_error < 1e-6;
    printf("largest difference between the two gradients: %g -> %s\n", difference, agree ? "equal" : "DIFFERENT");
    nb_scope_end(); /* W, b, their gradients and the graph go here */
    return agree && nb_live_tensors() == 0 ? 0 : 1;
}
