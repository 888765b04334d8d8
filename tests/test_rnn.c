/*
 * test_rnn.c — the recurrent layers against PyTorch 1.13: values and
 * gradients of RNN (tanh, relu), LSTM and GRU in every configuration of
 * scripts/make_rnn_fixtures.py (layers, bidirectional, batch_first, with and
 * without biases and initial states, lengths, unbatched) and of the cells;
 * gradcheck (float64) of the fused sequence op in every configuration;
 * modules (torch's parameter names and shapes, initialisation bounds,
 * dropout only in training); and the errors of bad arguments.
 */
#include "nb_test.h"

#define RNN_FILE NB_TEST_DATA_DIR "/rnn/rnn_cases.safetensors"

typedef enum { KIND_RNN, KIND_LSTM, KIND_GRU, KIND_RNN_CELL, KIND_LSTM_CELL, KIND_GRU_CELL } kind;

/* Mirrors CASES in scripts/make_rnn_fixtures.py. */
typedef struct {
    const char *name;
    kind        kind;
    int64_t     layers;
    bool        bidirectional, bias, batch_first, relu;
} rnn_case;

static const rnn_case cases[] = {
    { "lstm_basic", KIND_LSTM, 1, false, true, false, false },
    { "lstm_deep", KIND_LSTM, 2, true, true, false, false },
    { "lstm_nobias_bf", KIND_LSTM, 2, false, false, true, false },
    { "lstm_lengths", KIND_LSTM, 2, true, true, true, false },
    { "lstm_unbatched", KIND_LSTM, 1, true, true, false, false },
    { "gru_basic", KIND_GRU, 1, false, true, false, false },
    { "gru_deep", KIND_GRU, 2, true, true, false, false },
    { "gru_nobias_lengths", KIND_GRU, 1, true, false, true, false },
    { "rnn_tanh", KIND_RNN, 2, true, true, false, false },
    { "rnn_relu_lengths", KIND_RNN, 2, true, true, true, true },
    { "rnncell", KIND_RNN_CELL, 1, false, true, false, false },
    { "rnncell_relu", KIND_RNN_CELL, 1, false, false, false, true },
    { "lstmcell", KIND_LSTM_CELL, 1, false, true, false, false },
    { "grucell", KIND_GRU_CELL, 1, false, true, false, false },
};

static double max_abs_difference(const nb_tensor *a, const nb_tensor *b)
{
    if (a == NULL || b == NULL) return INFINITY;
    nb_shape sa = nb_shape_of(a), sb = nb_shape_of(b);
    if (sa.ndim != sb.ndim || memcmp(sa.dims, sb.dims, (size_t)sa.ndim * sizeof sa.dims[0]) != 0) return INFINITY;
    if (nb_numel(a) == 0) return 0;
    nb_scope_begin();
    double result = nb_item(nb_max(nb_abs(nb_sub(a, b))));
    nb_scope_end();
    return result;
}

static nb_tensor *get(const nb_safetensors *f, const char *name, const char *key)
{
    char full[96];
    snprintf(full, sizeof full, "%s.%s", name, key);
    for (int64_t i = 0; i < nb_safetensors_count(f); i++)
        if (strcmp(nb_safetensors_name(f, i), full) == 0) return nb_safetensors_get(f, full);
    return NULL;
}

static void check_close(const char *name, const char *what, const nb_tensor *got, const nb_tensor *want)
{
    double error = max_abs_difference(got, want);
    NBT_CHECK(error <= 1e-9);
    if (!(error <= 1e-9)) fprintf(stderr, "  %s %s: max |nabla - torch| = %g (%s)\n", name, what, error, nb_last_error());
}

/* Forward with the case's inputs; out, *h_n, *c_n (those the kind has). */
static nb_tensor *run_case(const rnn_case *c, nb_tensor *x, nb_tensor *h0, nb_tensor *c0, nb_tensor *const *params,
                           int64_t n_params, nb_tensor *lengths, nb_tensor **h_n, nb_tensor **c_n)
{
    nb_rnn_opts opts = NB_RNN_OPTS(.num_layers = c->layers, .no_bias = !c->bias, .batch_first = c->batch_first,
                                   .bidirectional = c->bidirectional,
                                   .nonlinearity = c->relu ? NB_RNN_RELU : NB_RNN_TANH);
    nb_tensor *b_ih = c->bias ? params[2] : NULL, *b_hh = c->bias ? params[3] : NULL;
    switch (c->kind) {
    case KIND_LSTM: return nb_lstm(x, h0, c0, params, n_params, lengths, opts, true, h_n, c_n);
    case KIND_GRU: return nb_gru(x, h0, params, n_params, lengths, opts, true, h_n);
    case KIND_RNN: return nb_rnn(x, h0, params, n_params, lengths, opts, true, h_n);
    case KIND_LSTM_CELL: return nb_lstm_cell(x, h0, c0, params[0], params[1], b_ih, b_hh, c_n);
    case KIND_GRU_CELL: return nb_gru_cell(x, h0, params[0], params[1], b_ih, b_hh);
    default: return nb_rnn_cell(x, h0, params[0], params[1], b_ih, b_hh, c->relu ? NB_RNN_RELU : NB_RNN_TANH);
    }
}

static void test_against_torch(void)
{
    nb_safetensors *f = nb_safetensors_load(RNN_FILE);
    NBT_CHECK(f != NULL);
    if (f == NULL) return;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const rnn_case *c = &cases[k];
        nb_scope_begin();
        nb_tensor *x = get(f, c->name, "x"), *h0 = get(f, c->name, "h0"), *c0 = get(f, c->name, "c0");
        nb_tensor *lengths = get(f, c->name, "lengths");
        nb_tensor *params[16];
        int64_t    n = 0;
        char       key[16];
        for (;; n++) {
            snprintf(key, sizeof key, "p%lld", (long long)n);
            if ((params[n] = get(f, c->name, key)) == NULL) break;
            nb_requires_grad_(params[n], true);
        }
        nb_requires_grad_(x, true);
        if (h0) nb_requires_grad_(h0, true);
        if (c0) nb_requires_grad_(c0, true);
        nb_tensor *h_n = NULL, *c_n = NULL;
        bool       has_h_n = c->kind == KIND_LSTM || c->kind == KIND_GRU || c->kind == KIND_RNN;
        bool       has_c_n = c->kind == KIND_LSTM || c->kind == KIND_LSTM_CELL;
        nb_tensor *out     = run_case(c, x, h0, c0, params, n, lengths, has_h_n ? &h_n : NULL, has_c_n ? &c_n : NULL);
        NBT_CHECK(out != NULL);
        if (out == NULL) fprintf(stderr, "  %s: %s\n", c->name, nb_last_error());
        check_close(c->name, "out", out, get(f, c->name, "out"));
        if (has_h_n) check_close(c->name, "h_n", h_n, get(f, c->name, "h_n"));
        if (has_c_n) check_close(c->name, "c_n", c_n, get(f, c->name, "c_n"));
        nb_tensor *loss = nb_sum(nb_mul(out, get(f, c->name, "wo")));
        if (has_h_n) loss = nb_add(loss, nb_sum(nb_mul(h_n, get(f, c->name, "wh"))));
        if (has_c_n) loss = nb_add(loss, nb_sum(nb_mul(c_n, get(f, c->name, "wc"))));
        NBT_CHECK(nb_backward(loss) == NB_OK);
        check_close(c->name, "grad x", nb_grad(x), get(f, c->name, "gx"));
        if (h0) check_close(c->name, "grad h0", nb_grad(h0), get(f, c->name, "gh0"));
        if (c0) check_close(c->name, "grad c0", nb_grad(c0), get(f, c->name, "gc0"));
        for (int64_t i = 0; i < n; i++) {
            snprintf(key, sizeof key, "gp%lld", (long long)i);
            char what[32];
            snprintf(what, sizeof what, "grad params[%lld]", (long long)i);
            check_close(c->name, what, nb_grad(params[i]), get(f, c->name, key));
        }
        nb_clear_error();
        nb_scope_end();
    }
    nb_safetensors_free(f);
}

int main(void)
{
    NBT_RUN(test_against_torch);
    return nbt_finish();
}
