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
        /* float32, the training dtype (vectorized exp and tanh): the same
         * values to 1e-5. */
        nb_tensor *x32 = nb_to_dtype(x, NB_FLOAT32), *h32 = h0 ? nb_to_dtype(h0, NB_FLOAT32) : NULL;
        nb_tensor *c32 = c0 ? nb_to_dtype(c0, NB_FLOAT32) : NULL, *p32[16], *h_n32 = NULL, *c_n32 = NULL;
        for (int64_t i = 0; i < n; i++)
            p32[i] = nb_detach(nb_to_dtype(params[i], NB_FLOAT32));
        nb_tensor *out32 = run_case(c, nb_detach(x32), h32 ? nb_detach(h32) : NULL, c32 ? nb_detach(c32) : NULL, p32,
                                    n, lengths, has_h_n ? &h_n32 : NULL, has_c_n ? &c_n32 : NULL);
        double e32 = max_abs_difference(nb_to_dtype(out32, NB_FLOAT64), get(f, c->name, "out"));
        if (has_h_n) e32 = fmax(e32, max_abs_difference(nb_to_dtype(h_n32, NB_FLOAT64), get(f, c->name, "h_n")));
        if (has_c_n) e32 = fmax(e32, max_abs_difference(nb_to_dtype(c_n32, NB_FLOAT64), get(f, c->name, "c_n")));
        NBT_CHECK(e32 <= 1e-5);
        if (!(e32 <= 1e-5)) fprintf(stderr, "  %s float32: max |nabla - torch| = %g\n", c->name, e32);
        nb_clear_error();
        nb_scope_end();
    }
    nb_safetensors_free(f);
}

/* ------------------------------------------------------------------------ */
/* Modules                                                                   */
/* ------------------------------------------------------------------------ */

static void test_module_parameters_as_torch(void)
{
    nb_module *lstm = nb_lstm_new(3, 4, NB_RNN_OPTS(.num_layers = 2, .bidirectional = true));
    const char *names[16];
    nb_tensor  *params[16];
    NBT_CHECK(nb_module_parameters(lstm, params, names, 16) == 16);
    NBT_CHECK(strcmp(nb_module_type(lstm), "LSTM") == 0);
    const char *want[16] = { "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                             "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
                             "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
                             "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse" };
    for (int i = 0; i < 16; i++) NBT_CHECK(strcmp(names[i], want[i]) == 0);
    NBT_CHECK(nbt_has_shape(params[0], NB_SHAPE(16, 3)));
    NBT_CHECK(nbt_has_shape(params[1], NB_SHAPE(16, 4)));
    NBT_CHECK(nbt_has_shape(params[8], NB_SHAPE(16, 8))); /* layer 1 reads both directions */
    NBT_CHECK(nbt_has_shape(params[15], NB_SHAPE(16)));
    /* torch's init: uniform in +-1/sqrt(hidden) = +-0.5, every parameter */
    nb_scope_begin();
    for (int i = 0; i < 16; i++) {
        double largest = nb_item(nb_max(nb_abs(params[i])));
        NBT_CHECK(largest <= 0.5 && largest > 0.3);
    }
    nb_scope_end();
    nb_module_free(lstm);

    nb_module *gru = nb_gru_new(5, 3, NB_RNN_OPTS(.no_bias = true));
    NBT_CHECK(nb_module_parameters(gru, params, names, 16) == 2);
    NBT_CHECK(strcmp(names[1], "weight_hh_l0") == 0 && nbt_has_shape(params[1], NB_SHAPE(9, 3)));
    nb_module_free(gru);
    nb_module *rnn = nb_rnn_new(5, 3, NB_RNN_OPTS(.nonlinearity = NB_RNN_RELU));
    NBT_CHECK(nb_module_parameters(rnn, params, names, 16) == 4 && nbt_has_shape(params[0], NB_SHAPE(3, 5)));
    NBT_CHECK(strcmp(nb_module_type(rnn), "RNN") == 0);
    nb_module_free(rnn);

    nb_module *cell = nb_lstm_cell_new(3, 2, true);
    NBT_CHECK(nb_module_parameters(cell, params, names, 16) == 4);
    NBT_CHECK(strcmp(names[0], "weight_ih") == 0 && strcmp(names[3], "bias_hh") == 0);
    NBT_CHECK(nbt_has_shape(params[0], NB_SHAPE(8, 3)) && strcmp(nb_module_type(cell), "LSTMCell") == 0);
    nb_module_free(cell);
    cell = nb_gru_cell_new(3, 2, false);
    NBT_CHECK(nb_module_parameters(cell, params, names, 16) == 2 && nbt_has_shape(params[1], NB_SHAPE(6, 2)));
    nb_module_free(cell);
}

/* The module runs the functional form on its own parameters; states and
 * lengths through nb_recurrent_forward; module forward = zero states. */
static void test_module_forward(void)
{
    nb_module *lstm = nb_lstm_new(3, 4, NB_RNN_OPTS(.num_layers = 2, .batch_first = true));
    nb_scope_begin();
    nb_tensor *params[8];
    nb_module_parameters(lstm, params, NULL, 8);
    nb_tensor *x  = nb_randn(NB_SHAPE(2, 5, 3), NB_OPTS());
    nb_tensor *h0 = nb_randn(NB_SHAPE(2, 2, 4), NB_OPTS()), *c0 = nb_randn(NB_SHAPE(2, 2, 4), NB_OPTS());
    nb_tensor *lengths = nbt_int64_tensor(NB_SHAPE(2), (int64_t[]){ 2, 5 });
    nb_tensor *h_n, *c_n, *h_n2, *c_n2;
    nb_tensor *y  = nb_recurrent_forward(lstm, x, h0, c0, lengths, &h_n, &c_n);
    nb_tensor *y2 = nb_lstm(x, h0, c0, params, 8, lengths, NB_RNN_OPTS(.num_layers = 2, .batch_first = true), true,
                            &h_n2, &c_n2);
    NBT_CHECK(max_abs_difference(y, y2) == 0 && max_abs_difference(h_n, h_n2) == 0 && max_abs_difference(c_n, c_n2) == 0);
    NBT_CHECK(nbt_has_shape(y, NB_SHAPE(2, 5, 4)) && nbt_has_shape(h_n, NB_SHAPE(2, 2, 4)));
    /* lengths of any stride: every other element of (2, 9, 5, 9) */
    nb_tensor *stepped = nb_slice(nbt_int64_tensor(NB_SHAPE(4), (int64_t[]){ 2, 9, 5, 9 }), 0, 0, 4, 2);
    NBT_CHECK(max_abs_difference(nb_recurrent_forward(lstm, x, h0, c0, stepped, NULL, NULL), y) == 0);
    /* past its length a sequence's output is 0 */
    NBT_CHECK(nb_item(nb_max(nb_abs(nb_narrow(nb_select(y, 0, 0), 0, 2, 3)))) == 0);
    nb_tensor *zeros = nb_zeros(NB_SHAPE(2, 2, 4), NB_OPTS());
    NBT_CHECK(max_abs_difference(nb_module_forward(lstm, x), nb_recurrent_forward(lstm, x, zeros, zeros, NULL, NULL, NULL)) == 0);
    nb_scope_end();
    nb_module_free(lstm);

    nb_module *cell = nb_gru_cell_new(3, 2, true);
    nb_scope_begin();
    nb_module_parameters(cell, params, NULL, 4);
    nb_tensor *xc = nb_randn(NB_SHAPE(4, 3), NB_OPTS()), *hc = nb_randn(NB_SHAPE(4, 2), NB_OPTS());
    NBT_CHECK(max_abs_difference(nb_recurrent_cell_forward(cell, xc, hc, NULL, NULL),
                                 nb_gru_cell(xc, hc, params[0], params[1], params[2], params[3])) == 0);
    NBT_CHECK(max_abs_difference(nb_module_forward(cell, xc),
                                 nb_gru_cell(xc, NULL, params[0], params[1], params[2], params[3])) == 0);
    nb_scope_end();
    nb_module_free(cell);
}

/* Dropout acts between layers, in training only: with p = 1 the last
 * layer sees zeros, so its output no longer depends on x. */
static void test_dropout_between_layers(void)
{
    nb_module *gru = nb_gru_new(3, 4, NB_RNN_OPTS(.num_layers = 2, .dropout = 1.0));
    nb_scope_begin();
    nb_tensor *x = nb_randn(NB_SHAPE(5, 2, 3), NB_OPTS()), *x2 = nb_mul_scalar(x, 2.0);
    NBT_CHECK(max_abs_difference(nb_module_forward(gru, x), nb_module_forward(gru, x2)) == 0);
    nb_module_train(gru, false);
    NBT_CHECK(max_abs_difference(nb_module_forward(gru, x), nb_module_forward(gru, x2)) > 1e-3);
    nb_scope_end();
    nb_module_free(gru);
}

/* ------------------------------------------------------------------------ */
/* gradcheck of the fused sequence op in every configuration                */
/* ------------------------------------------------------------------------ */

typedef struct {
    kind        kind;
    bool        relu, with_states, with_lengths;
    nb_rnn_opts opts;
    nb_tensor  *lengths;
} grad_config;

/* inputs: x, [h0, [c0]], params...; the output: out, h_n, c_n flattened
 * into one vector. */
static nb_tensor *sequence_function(nb_tensor *const *inputs, int count, void *user)
{
    const grad_config *g = user;
    int                first = 1 + (g->with_states ? (g->kind == KIND_LSTM ? 2 : 1) : 0);
    nb_tensor         *h0 = g->with_states ? inputs[1] : NULL;
    nb_tensor         *c0 = g->with_states && g->kind == KIND_LSTM ? inputs[2] : NULL;
    nb_tensor         *h_n = NULL, *c_n = NULL, *out;
    nb_tensor         *lengths = g->with_lengths ? g->lengths : NULL;
    nb_rnn_opts        opts = g->opts;
    opts.nonlinearity       = g->relu ? NB_RNN_RELU : NB_RNN_TANH;
    if (g->kind == KIND_LSTM) out = nb_lstm(inputs[0], h0, c0, inputs + first, count - first, lengths, opts, true, &h_n, &c_n);
    else if (g->kind == KIND_GRU) out = nb_gru(inputs[0], h0, inputs + first, count - first, lengths, opts, true, &h_n);
    else out = nb_rnn(inputs[0], h0, inputs + first, count - first, lengths, opts, true, &h_n);
    nb_tensor *parts[3] = { nb_reshape(out, NB_SHAPE(-1)), nb_reshape(h_n, NB_SHAPE(-1)),
                            c_n ? nb_reshape(c_n, NB_SHAPE(-1)) : NULL };
    nb_tensor *all = parts[0] && parts[1] && (c_n == NULL || parts[2]) ? nb_cat(parts, c_n ? 3 : 2, 0) : NULL;
    for (int k = 0; k < 3; k++)
        nb_free(parts[k]);
    nb_free(out), nb_free(h_n), nb_free(c_n);
    return all;
}

static nb_tensor *random_input(nb_shape shape)
{
    nb_tensor *t = nb_randn(shape, NB_OPTS(.dtype = NB_FLOAT64));
    nb_requires_grad_(t, true);
    return t;
}

/* T = 3, B = 2, I = 2, H = 2 in float64: gradcheck, and gradgradcheck when
 * order is 2. */
static void check_configuration(grad_config *g, int order)
{
    int64_t T = 3, B = 2, I = 2, H = 2;
    int64_t layers = g->opts.num_layers ? g->opts.num_layers : 1, D = g->opts.bidirectional ? 2 : 1;
    int64_t G = g->kind == KIND_LSTM ? 4 : g->kind == KIND_GRU ? 3 : 1;
    nb_scope_begin();
    nb_tensor *inputs[64];
    int        n = 0;
    inputs[n++] = random_input(g->opts.batch_first ? NB_SHAPE(B, T, I) : NB_SHAPE(T, B, I));
    if (g->with_states) {
        inputs[n++] = random_input(NB_SHAPE(layers * D, B, H));
        if (g->kind == KIND_LSTM) inputs[n++] = random_input(NB_SHAPE(layers * D, B, H));
    }
    for (int64_t l = 0; l < layers; l++)
        for (int64_t d = 0; d < D; d++) {
            inputs[n++] = random_input(NB_SHAPE(G * H, l == 0 ? I : D * H));
            inputs[n++] = random_input(NB_SHAPE(G * H, H));
            if (!g->opts.no_bias) {
                inputs[n++] = random_input(NB_SHAPE(G * H));
                inputs[n++] = random_input(NB_SHAPE(G * H));
            }
        }
    int64_t lengths[2] = { 1, 3 };
    g->lengths         = nbt_int64_tensor(NB_SHAPE(2), lengths);
    char name[160];
    snprintf(name, sizeof name, "%s%s layers=%lld bidirectional=%d batch_first=%d bias=%d states=%d lengths=%d",
             g->kind == KIND_LSTM ? "LSTM" : g->kind == KIND_GRU ? "GRU" : "RNN", g->relu ? "(relu)" : "",
             (long long)layers, g->opts.bidirectional, g->opts.batch_first, !g->opts.no_bias, g->with_states,
             g->with_lengths);
    nbt_gradcheck(name, sequence_function, inputs, n, g, order);
    nb_scope_end();
}

static void test_gradcheck_every_configuration(void)
{
    nb_manual_seed(3);
    kind kinds[4] = { KIND_RNN, KIND_RNN, KIND_LSTM, KIND_GRU };
    for (int k = 0; k < 4; k++)
        for (int bits = 0; bits < 32; bits++) {
            grad_config g = { .kind = kinds[k], .relu = k == 1, .with_states = bits & 1, .with_lengths = bits & 2,
                              .opts = NB_RNN_OPTS(.num_layers = bits & 4 ? 2 : 1, .bidirectional = bits & 8,
                                                  .batch_first = bits & 16, .no_bias = (bits % 3) == 0) };
            check_configuration(&g, 1);
        }
}

/* Second derivatives: the backward under create_graph runs as recorded
 * ops (rnn_composite.c). */
static void test_gradgradcheck(void)
{
    nb_manual_seed(4);
    kind kinds[4] = { KIND_RNN, KIND_RNN, KIND_LSTM, KIND_GRU };
    for (int k = 0; k < 4; k++)
        for (int variant = 0; variant < 2; variant++) {
            grad_config g = { .kind = kinds[k], .relu = k == 1, .with_states = true, .with_lengths = variant == 1,
                              .opts = NB_RNN_OPTS(.bidirectional = variant == 1, .batch_first = variant == 1,
                                                  .no_bias = variant == 1) };
            check_configuration(&g, 2);
        }
}

/* The composite backward (create_graph) gives the fused backward's
 * gradients: gradgradcheck alone would not see a wrong first derivative
 * that is differentiated consistently. */
static void test_create_graph_gradients_match(void)
{
    nb_manual_seed(5);
    kind kinds[4] = { KIND_RNN, KIND_RNN, KIND_LSTM, KIND_GRU };
    for (int k = 0; k < 4; k++)
        for (int bits = 0; bits < 8; bits++) {
            grad_config g = { .kind = kinds[k], .relu = k == 1, .with_states = bits & 1, .with_lengths = bits & 2,
                              .opts = NB_RNN_OPTS(.num_layers = 2, .bidirectional = bits & 4, .no_bias = bits == 5) };
            nb_scope_begin();
            int64_t    G = kinds[k] == KIND_LSTM ? 4 : kinds[k] == KIND_GRU ? 3 : 1, D = bits & 4 ? 2 : 1;
            nb_tensor *inputs[32];
            int        n = 0;
            inputs[n++] = random_input(NB_SHAPE(4, 2, 3));
            if (g.with_states) {
                inputs[n++] = random_input(NB_SHAPE(2 * D, 2, 3));
                if (g.kind == KIND_LSTM) inputs[n++] = random_input(NB_SHAPE(2 * D, 2, 3));
            }
            for (int64_t l = 0; l < 2; l++)
                for (int64_t d = 0; d < D; d++)
                    for (int p = 0; p < (bits == 5 ? 2 : 4); p++)
                        inputs[n++] = random_input(p == 0 ? NB_SHAPE(G * 3, l == 0 ? 3 : D * 3)
                                                   : p == 1 ? NB_SHAPE(G * 3, 3) : NB_SHAPE(G * 3));
            int64_t lengths[2] = { 4, 2 };
            g.lengths          = nbt_int64_tensor(NB_SHAPE(2), lengths);
            nb_tensor *y       = sequence_function(inputs, n, &g);
            nb_tensor *v       = nb_randn(nb_shape_of(y), NB_OPTS(.dtype = NB_FLOAT64));
            nb_tensor *fast[32] = { 0 }, *composite[32] = { 0 };
            NBT_CHECK(nb_grad_of(&y, 1, inputs, n, &v, NB_GRAD_OPTS(.retain_graph = true), fast) == NB_OK);
            NBT_CHECK(nb_grad_of(&y, 1, inputs, n, &v, NB_GRAD_OPTS(.create_graph = true), composite) == NB_OK);
            for (int i = 0; i < n; i++) {
                double error = max_abs_difference(fast[i], composite[i]);
                NBT_CHECK(error <= 1e-12);
                if (!(error <= 1e-12)) fprintf(stderr, "  kind %d bits %d input %d: %g\n", k, bits, i, error);
            }
            nb_scope_end();
        }
}

int main(void)
{
    NBT_RUN(test_against_torch);
    NBT_RUN(test_module_parameters_as_torch);
    NBT_RUN(test_module_forward);
    NBT_RUN(test_dropout_between_layers);
    NBT_RUN(test_gradcheck_every_configuration);
    NBT_RUN(test_gradgradcheck);
    NBT_RUN(test_create_graph_gradients_match);
    return nbt_finish();
}
