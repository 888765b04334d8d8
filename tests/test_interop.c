/*
 * test_interop.c — models trained in PyTorch run in nabla: the state_dicts
 * that scripts/make_interop_fixture.py wrote as safetensors files load with
 * nb_module_load into the same architectures built from nabla modules, and
 * in eval mode give PyTorch's outputs (the NAME_expected.npy files there)
 * to 1e-5 (an MLP, a CNN with batch norm, a 2-layer bidirectional LSTM).
 * Saving the loaded models again gives the very bytes the script
 * wrote, laid out as the reference safetensors library does.
 */
#include "nb_test.h"

#define INTEROP_DIR NB_TEST_DATA_DIR "/interop/"

/* Largest |a - b| over all elements (a and b of one shape), or INFINITY if
 * either is missing or the shapes differ. */
static double max_abs_difference(const nb_tensor *a, const nb_tensor *b)
{
    if (a == NULL || b == NULL) return INFINITY;
    nb_shape sa = nb_shape_of(a), sb = nb_shape_of(b);
    if (sa.ndim != sb.ndim || memcmp(sa.dims, sb.dims, (size_t)sa.ndim * sizeof sa.dims[0]) != 0) return INFINITY;
    nb_tensor *difference = nb_sub(a, b);
    nb_tensor *magnitude  = difference ? nb_abs(difference) : NULL;
    nb_tensor *largest    = magnitude ? nb_max(magnitude) : NULL;
    double     result     = largest ? nb_item(largest) : INFINITY;
    nb_free(difference), nb_free(magnitude), nb_free(largest);
    return result;
}

static bool same_file_bytes(const char *a, const char *b)
{
    size_t         na = 0, nb = 0;
    unsigned char *da = nbt_read_file(a, &na), *db = nbt_read_file(b, &nb);
    bool           same = da && db && na == nb && memcmp(da, db, na) == 0;
    free(da);
    free(db);
    return same;
}

/* Load name.safetensors into model, run it in eval mode on name_input.npy
 * and compare with name_expected.npy; then save it and compare bytes. */
static void check_model(nb_module *model, const char *name)
{
    char path[512], input_path[512], expected_path[512], saved[256];
    snprintf(path, sizeof path, INTEROP_DIR "%s.safetensors", name);
    snprintf(input_path, sizeof input_path, INTEROP_DIR "%s_input.npy", name);
    snprintf(expected_path, sizeof expected_path, INTEROP_DIR "%s_expected.npy", name);
    snprintf(saved, sizeof saved, "interop_%s.safetensors", name);

    NBT_CHECK(model != NULL);
    NBT_CHECK(nb_module_load(model, path) == NB_OK);
    nb_module_train(model, false);
    nb_tensor *input    = nb_load_npy(input_path);
    nb_tensor *expected = nb_load_npy(expected_path);
    nb_tensor *output   = nb_module_forward(model, input);
    double     error    = max_abs_difference(output, expected);
    NBT_CHECK(error <= 1e-5);
    if (!(error <= 1e-5)) fprintf(stderr, "  %s: max |nabla - torch| = %g (%s)\n", name, error, nb_last_error());

    NBT_CHECK(nb_module_save(model, saved) == NB_OK);
    NBT_CHECK(same_file_bytes(saved, path));
    remove(saved);
    nb_free(input), nb_free(expected), nb_free(output);
}

static void test_mlp_from_torch(void)
{
    nb_module *layers[3] = {nb_linear_new(6, 8, true), nb_relu_new(), nb_linear_new(8, 3, true)};
    nb_module *mlp       = nb_sequential_new(layers, 3);
    check_model(mlp, "mlp");
    nb_module_free(mlp);
}

static void test_cnn_from_torch(void)
{
    nb_module *layers[6] = {
        nb_conv2d_new(1, 4, 3, 3, NB_CONV_OPTS(.padding = {1, 1}), true),
        nb_batch_norm2d_new(4, NB_NORM_OPTS()),
        nb_relu_new(),
        nb_max_pool2d_new(NB_POOL_OPTS(.kernel = {2, 2})),
        nb_flatten_new(1, -1),
        nb_linear_new(4 * 4 * 4, 3, true),
    };
    nb_module *cnn = nb_sequential_new(layers, 6);
    check_model(cnn, "cnn");
    /* The running statistics came from the file: torch trained 5 steps. */
    nb_tensor *tracked = nb_module_tensor(cnn, "1.num_batches_tracked");
    NBT_CHECK(tracked && nb_item_int64(tracked) == 5);
    nb_module_free(cnn);
}

/* A 2-layer bidirectional LSTM (batch_first) trained 5 steps in PyTorch
 * (scripts/make_rnn_fixtures.py): its state_dict (weight_ih_l0, ...,
 * bias_hh_l1_reverse) loads, and output and final states match torch's. */
static void test_lstm_from_torch(void)
{
    nb_module *lstm = nb_lstm_new(5, 6, NB_RNN_OPTS(.num_layers = 2, .bidirectional = true, .batch_first = true));
    check_model(lstm, "lstm");
    nb_tensor *input = nb_load_npy(INTEROP_DIR "lstm_input.npy"), *h_n = NULL, *c_n = NULL;
    nb_tensor *out   = nb_recurrent_forward(lstm, input, NULL, NULL, NULL, &h_n, &c_n);
    nb_tensor *want_h = nb_load_npy(INTEROP_DIR "lstm_h_n.npy"), *want_c = nb_load_npy(INTEROP_DIR "lstm_c_n.npy");
    NBT_CHECK(out != NULL);
    NBT_CHECK(max_abs_difference(h_n, want_h) <= 1e-5);
    NBT_CHECK(max_abs_difference(c_n, want_c) <= 1e-5);
    NBT_CHECK(nb_module_tensor(lstm, "bias_hh_l1_reverse") != NULL);
    nb_free(input), nb_free(out), nb_free(h_n), nb_free(c_n), nb_free(want_h), nb_free(want_c);
    nb_module_free(lstm);
}

static void test_torch_file_into_wrong_architecture(void)
{
    /* The MLP file into a model with a different hidden width: the error
     * names the tensor and both shapes, and nothing was changed. */
    nb_module *layers[3] = {nb_linear_new(6, 7, true), nb_relu_new(), nb_linear_new(7, 3, true)};
    nb_module *mlp       = nb_sequential_new(layers, 3);
    nb_tensor *before    = nb_clone(nb_module_tensor(mlp, "2.bias"));
    NBT_CHECK(nb_module_load(mlp, INTEROP_DIR "mlp.safetensors") == NB_ERR_SHAPE);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "tensor '0.weight' has shape [8, 6] in the file but [7, 6] in the module");
    NBT_CHECK(max_abs_difference(nb_module_tensor(mlp, "2.bias"), before) == 0.0);
    nb_free(before);
    nb_module_free(mlp);

    /* The CNN file into the MLP: the first missing name is reported. */
    nb_module *layers2[3] = {nb_linear_new(6, 8, true), nb_relu_new(), nb_linear_new(8, 3, true)};
    mlp                   = nb_sequential_new(layers2, 3);
    NBT_CHECK(nb_module_load(mlp, INTEROP_DIR "cnn.safetensors") == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "cnn.safetensors: missing key '2.weight'");
    nb_module_free(mlp);
}

int main(void)
{
    NBT_RUN(test_mlp_from_torch);
    NBT_RUN(test_cnn_from_torch);
    NBT_RUN(test_lstm_from_torch);
    NBT_RUN(test_torch_file_into_wrong_architecture);
    return nbt_finish();
}
