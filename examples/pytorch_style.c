/*
 * pytorch_style.c — a typical PyTorch training script, written as nabla.
 * The README shows it beside its Python original:
 *
 *   model = nn.Sequential(
 *       nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
 *       nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
 *       nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
 *   opt = torch.optim.Adam(model.parameters())
 *   loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
 *   for epoch in range(2):
 *       model.train()
 *       for xb, yb in loader:
 *           opt.zero_grad()
 *           F.cross_entropy(model(xb), yb).backward()
 *           opt.step()
 *       model.eval()
 *       with torch.no_grad():
 *           accuracy = (model(test_x).argmax(1) == test_y).float().mean()
 *       print(f"epoch {epoch + 1}: test accuracy {accuracy:.2%}")
 *
 * On the first 1,500 training and 1,000 test digits, so that the example
 * runs in seconds (and in a minute under valgrind, as CI runs it).
 */
#include <nabla.h>
#include <stdio.h>

#ifndef NB_DATA_DIR
#define NB_DATA_DIR "data"
#endif

/* The first count images of an IDX file as (count, 1, 28, 28) floats in
 * [0, 1], or its labels as int64. */
static nb_tensor *images(const char *path, int64_t count)
{
    nb_tensor *x = nb_div_scalar(nb_to_dtype(nb_narrow(nb_load_idx(path), 0, 0, count), NB_FLOAT32), 255);
    return nb_unsqueeze(x, 1);
}

static nb_tensor *labels(const char *path, int64_t count)
{
    return nb_to_dtype(nb_narrow(nb_load_idx(path), 0, 0, count), NB_INT64);
}

int main(void)
{
    nb_manual_seed(0);
    nb_scope_begin();
    nb_tensor *x      = images(NB_DATA_DIR "/train-images-idx3-ubyte.gz", 1500);
    nb_tensor *y      = labels(NB_DATA_DIR "/train-labels-idx1-ubyte.gz", 1500);
    nb_tensor *test_x = images(NB_DATA_DIR "/t10k-images-idx3-ubyte.gz", 1000);
    nb_tensor *test_y = labels(NB_DATA_DIR "/t10k-labels-idx1-ubyte.gz", 1000);
    if (test_y == NULL) {
        fprintf(stderr, "loading the digits: %s\n", nb_last_error());
        return 1;
    }

    nb_conv_opts same     = NB_CONV_OPTS(.padding = { 1, 1 });
    nb_pool_opts half     = NB_POOL_OPTS(.kernel = { 2, 2 });
    nb_module   *layers[] = {
        nb_conv2d_new(1, 16, 3, 3, same, true),  nb_batch_norm2d_new(16, NB_NORM_OPTS()), nb_relu_new(), nb_max_pool2d_new(half),
        nb_conv2d_new(16, 32, 3, 3, same, true), nb_batch_norm2d_new(32, NB_NORM_OPTS()), nb_relu_new(), nb_max_pool2d_new(half),
        nb_flatten_new(1, -1),                   nb_linear_new(32 * 7 * 7, 10, true),
    };
    nb_module  *model  = nb_sequential_new(layers, 10);
    nb_optim   *opt    = nb_adam_for(model, nb_adam_defaults());
    nb_dataset *data   = nb_tensor_dataset_new((nb_tensor *[]){ x, y }, 2);
    nb_loader  *loader = nb_loader_new(data, 64, true, false, 0);
    nb_tensor  *batch[2];

    double accuracy = 0;
    for (int epoch = 0; epoch < 2; epoch++) {
        nb_module_train(model, true);
        for (;;) { /* each step's tensors and graph live in a scope */
            nb_scope_begin();
            if (!nb_loader_next(loader, batch)) {
                nb_scope_end();
                break;
            }
            nb_optim_zero_grad(opt);
            nb_backward(nb_cross_entropy(nb_module_forward(model, batch[0]), batch[1], NB_CROSS_ENTROPY_OPTS()));
            nb_optim_step(opt);
            nb_scope_end();
        }
        if (!nb_loader_ended(loader)) break; /* a step failed: nb_last_error says why */

        nb_module_train(model, false);
        nb_no_grad_begin();
        nb_scope_begin();
        nb_tensor *predicted = nb_argmax_dim(nb_module_forward(model, test_x), 1, false);
        accuracy             = nb_item(nb_mean(nb_to_dtype(nb_eq(predicted, test_y), NB_FLOAT32)));
        nb_scope_end();
        nb_no_grad_end();
        printf("epoch %d: test accuracy %.2f%%\n", epoch + 1, 100 * accuracy);
    }
    bool failed = nb_last_status() != NB_OK;
    if (failed) fprintf(stderr, "training failed: %s\n", nb_last_error());

    nb_loader_free(loader);
    nb_dataset_free(data);
    nb_optim_free(opt);
    nb_module_free(model);
    nb_scope_end();
    /* As a test: two epochs on 1,500 digits reach ~88%; under 80% is a bug. */
    return failed || accuracy < 0.80 ? 1 : 0;
}
