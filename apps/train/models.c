/*
 * models.c — the networks of nabla-train, as torch would write them:
 *
 *   cnn: Conv2d(1, 16, 3, padding 1) ReLU MaxPool2d(2)
 *        Conv2d(16, 32, 3, padding 1) ReLU MaxPool2d(2)
 *        Flatten Linear(32*7*7, 10)                        (~21k parameters)
 *
 * The training recipes (apps/train/options.c defaults) were chosen with
 * PyTorch runs of the same architectures on the same data: with 1-pixel
 * random shifts and label smoothing the CNN passes 98% on the 2,000 test
 * digits for every seed tried, the MLP 96.5%.
 *   mlp: Flatten Linear(784, 256) ReLU Linear(256, 10)      (~203k parameters)
 *   lstm: LSTM(28, 128, batch_first) over the 28 rows of an image (one row
 *         of 28 pixels per step, sequential MNIST), Linear(128, 10) on the
 *         last step's output                              (~82k parameters)
 *         State-dict names lstm.weight_ih_l0, ..., fc.weight, fc.bias, as
 *         scripts/train_lstm_torch.py's module has them.
 *   vit: a small vision transformer on 7x7 patches (vit.c)  (~77k parameters)
 */
#include "train.h"

#include <string.h>

/* x (B, 28, 28) -> logits (B, 10). */
static nb_tensor *lstm_classifier_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)user;
    nb_tensor *out = nb_module_forward(nb_module_child(self, "lstm"), x); /* (B, 28, 128) */
    nb_tensor *last = nb_select(out, 1, -1);
    nb_tensor *logits = nb_module_forward(nb_module_child(self, "fc"), last);
    nb_free(out);
    nb_free(last);
    return logits;
}

static nb_module *lstm_classifier_new(void)
{
    nb_module *m = nb_module_new("LSTMClassifier", lstm_classifier_forward, NULL, NULL);
    if (m == NULL || nb_module_add_child(m, "lstm", nb_lstm_new(28, 128, NB_RNN_OPTS(.batch_first = true))) != NB_OK ||
        nb_module_add_child(m, "fc", nb_linear_new(128, 10, true)) != NB_OK) {
        nb_module_free(m);
        return NULL;
    }
    return m;
}

nb_module *build_model(const char *name)
{
    if (strcmp(name, "lstm") == 0) return lstm_classifier_new();
    if (strcmp(name, "vit") == 0) return build_vit(); /* vit.c */
    if (strcmp(name, "mlp") == 0) {
        nb_module *layers[] = { nb_flatten_new(1, -1), nb_linear_new(784, 256, true), nb_relu_new(),
                                nb_linear_new(256, 10, true) };
        return nb_sequential_new(layers, 4);
    }
    nb_conv_opts same = NB_CONV_OPTS(.padding = { 1, 1 });
    nb_pool_opts half = NB_POOL_OPTS(.kernel = { 2, 2 });
    nb_module   *layers[] = {
        nb_conv2d_new(1, 16, 3, 3, same, true),  nb_relu_new(), nb_max_pool2d_new(half),
        nb_conv2d_new(16, 32, 3, 3, same, true), nb_relu_new(), nb_max_pool2d_new(half),
        nb_flatten_new(1, -1),                   nb_linear_new(32 * 7 * 7, 10, true),
    };
    return nb_sequential_new(layers, 8);
}
