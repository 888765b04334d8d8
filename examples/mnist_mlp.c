/*
 * mnist_mlp.c — a multilayer perceptron on the bundled handwritten digits:
 * IDX files, a shuffled loader, cross-entropy and Adam, one epoch.
 */
#include <nabla.h>
#include <stdio.h>

#ifndef NB_DATA_DIR
#define NB_DATA_DIR "data"
#endif

/* Images as (N, 784) float32 in [0, 1], labels as int64. */
static nb_tensor *load_images(const char *name)
{
    nb_tensor *raw = nb_load_idx(name);
    nb_tensor *out = nb_div_scalar(nb_reshape(nb_to_dtype(raw, NB_FLOAT32), NB_SHAPE(-1, 784)), 255);
    nb_free(raw);
    return out;
}

int main(void)
{
    nb_manual_seed(0);
    nb_scope_begin();
    nb_tensor *images = load_images(NB_DATA_DIR "/train-images-idx3-ubyte.gz");
    nb_tensor *labels = nb_to_dtype(nb_load_idx(NB_DATA_DIR "/train-labels-idx1-ubyte.gz"), NB_INT64);
    nb_tensor *test_x = load_images(NB_DATA_DIR "/t10k-images-idx3-ubyte.gz");
    nb_tensor *test_y = nb_to_dtype(nb_load_idx(NB_DATA_DIR "/t10k-labels-idx1-ubyte.gz"), NB_INT64);
    if (test_y == NULL) {
        fprintf(stderr, "loading the digits: %s\n", nb_last_error());
        return 1;
    }
    nb_module *layers[] = { nb_linear_new(784, 128, true), nb_relu_new(), nb_linear_new(128, 10, true) };
    nb_module *mlp      = nb_sequential_new(layers, 3);
    nb_optim *adam = nb_adam_for(mlp, nb_adam_defaults());

    nb_tensor  *pair[2] = { images, labels };
    nb_dataset *data    = nb_tensor_dataset_new(pair, 2);
    nb_loader  *loader  = nb_loader_new(data, 64, true, false, 0);
    nb_tensor  *batch[2];
    for (;;) {
        nb_scope_begin();
        if (!nb_loader_next(loader, batch)) {
            nb_scope_end();
            break;
        }
        nb_tensor *loss = nb_cross_entropy(nb_module_forward(mlp, batch[0]), batch[1], NB_CROSS_ENTROPY_OPTS());
        nb_backward(loss);
        nb_optim_step(adam);
        nb_optim_zero_grad(adam);
        nb_scope_end();
    }
    nb_no_grad_begin();
    nb_tensor *predicted = nb_argmax_dim(nb_module_forward(mlp, test_x), 1, false);
    double     accuracy  = nb_item(nb_mean(nb_to_dtype(nb_eq(predicted, test_y), NB_FLOAT32)));
    nb_no_grad_end();
    printf("test accuracy after one epoch: %.2f%%\n", 100 * accuracy);

    nb_loader_free(loader);
    nb_dataset_free(data);
    nb_optim_free(adam);
    nb_module_free(mlp);
    nb_scope_end();
    return accuracy > 0.85 ? 0 : 1;
}
