/*
 * rnn.c — the recurrent layers as torch.nn.RNN / LSTM / GRU (torch 1.13):
 * the functional forms nb_rnn, nb_lstm, nb_gru over torch's flat parameter
 * list, and the modules that own those parameters under torch's names.
 *
 * A layer stack is composed here from the fused one-direction sequence op
 * (rnn_fused.c): per layer, the forward direction and (bidirectional) the
 * reversed one, their outputs concatenated along the features, dropout
 * between layers in training. Inputs are (T, B, I) inside (batch_first
 * input is transposed in and out, unbatched input gets a batch of one).
 *
 * Letters: T steps, B batch, I input features, H hidden, L layers, D
 * directions (1 or 2), G gates per cell (rnn_args.h).
 */
#include "nn/module.h"
#include "nn/rnn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char *cell_type(nbi_rnn_cell cell)
{
    return cell == NBI_RNN_LSTM ? "LSTM" : cell == NBI_RNN_GRU ? "GRU" : "RNN";
}

/* ------------------------------------------------------------------------ */
/* Argument checks                                                           */
/* ------------------------------------------------------------------------ */

static bool check_opts(const char *op, nb_rnn_opts opts, nbi_rnn_cell cell)
{
    if (opts.num_layers < 0)
        return nbi_fail(NB_ERR_ARG, "%s: num_layers must be >= 1 (got %lld)", op, (long long)opts.num_layers), false;
    if (!(opts.dropout >= 0 && opts.dropout <= 1))
        return nbi_fail(NB_ERR_ARG, "%s: dropout must be a number in [0, 1] (got %g)", op, opts.dropout), false;
    if (cell != NBI_RNN_TANH && cell != NBI_RNN_RELU && opts.nonlinearity != NB_RNN_TANH)
        return nbi_fail(NB_ERR_ARG, "%s: nonlinearity is for nb_rnn only", op), false;
    if (opts.nonlinearity != NB_RNN_TANH && opts.nonlinearity != NB_RNN_RELU)
        return nbi_fail(NB_ERR_ARG, "%s: unknown nonlinearity %d (NB_RNN_TANH or NB_RNN_RELU)", op,
                        (int)opts.nonlinearity), false;
    return true;
}

/* t has exactly the shape dims[0..ndim); else NB_ERR_SHAPE naming it. */
static bool check_shape(const nb_tensor *t, int ndim, const int64_t *dims, const char *op, const char *name)
{
    bool same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = t->shape[d] == dims[d];
    if (same) return true;
    char got[NBI_SHAPE_STR_SIZE], want[NBI_SHAPE_STR_SIZE];
    nbi_fail(NB_ERR_SHAPE, "%s: %s must have shape %s, got %s", op, name, nbi_shape_str(ndim, dims, want, sizeof want),
             nbi_shape_str(t->ndim, t->shape, got, sizeof got));
    return false;
}

/* The geometry of one call, from x, the options and the parameters. */
typedef struct {
    nbi_rnn_cell cell;
    int64_t      layers, directions, per_direction; /* per_direction: 4 with biases, 2 without */
    int64_t      steps, batch, input, hidden;
    bool         unbatched, batch_first;
} rnn_geometry;

/* Checks x, the parameter list and the states; fills g. */
static bool check_call(const char *op, nbi_rnn_cell cell, const nb_tensor *x, const nb_tensor *h0, const nb_tensor *c0,
                       nb_tensor *const *params, int64_t n_params, const nb_tensor *lengths, nb_rnn_opts opts,
                       rnn_geometry *g)
{
    if (!nbf_check_float(x, op, "x") || !nbf_check_cpu(x, op, "x") || !check_opts(op, opts, cell)) return false;
    if (x->ndim != 2 && x->ndim != 3) {
        char shape[NBI_SHAPE_STR_SIZE];
        return nbi_fail(NB_ERR_SHAPE, "%s: x must be 2-d (unbatched) or 3-d, got shape %s", op,
                        nbi_shape_str(x->ndim, x->shape, shape, sizeof shape)), false;
    }
    *g = (rnn_geometry){ .cell = cell, .layers = opts.num_layers ? opts.num_layers : 1,
                         .directions = opts.bidirectional ? 2 : 1, .unbatched = x->ndim == 2,
                         .batch_first = opts.batch_first };
    g->steps = x->ndim == 2 || !opts.batch_first ? x->shape[0] : x->shape[1];
    g->batch = x->ndim == 2 ? 1 : opts.batch_first ? x->shape[0] : x->shape[1];
    g->input = x->shape[x->ndim - 1];
    if (g->steps == 0) return nbi_fail(NB_ERR_SHAPE, "%s: the sequence length must be larger than 0", op), false;
    int64_t lists = g->layers * g->directions;
    if (params == NULL || (n_params != lists * 4 && n_params != lists * 2))
        return nbi_fail(NB_ERR_ARG, "%s: expected %lld parameters (%lld with biases) for %lld layer(s) and %lld "
                        "direction(s), got %lld", op, (long long)(lists * 2), (long long)(lists * 4),
                        (long long)g->layers, (long long)g->directions, (long long)n_params), false;
    g->per_direction = n_params / lists;
    for (int64_t i = 0; i < n_params; i++) {
        char name[32];
        snprintf(name, sizeof name, "params[%lld]", (long long)i);
        if (!nbf_check_same_dtype(params[i], x, op, name, "x")) return false;
        if (params[i] == NULL) return nbi_check_tensor(NULL, op, name);
        if (!nbf_check_cpu(params[i], op, name)) return false;
    }
    int64_t gates = nbi_rnn_gates(cell);
    if (params[1]->ndim != 2 || params[1]->shape[1] < 1 || params[1]->shape[0] != gates * params[1]->shape[1]) {
        char shape[NBI_SHAPE_STR_SIZE];
        return nbi_fail(NB_ERR_SHAPE, "%s: params[1] (weight_hh_l0) must be (%lld * hidden, hidden) with hidden >= 1, "
                        "got %s", op, (long long)gates, nbi_shape_str(params[1]->ndim, params[1]->shape, shape,
                                                                       sizeof shape)), false;
    }
    g->hidden = params[1]->shape[1];
    int64_t GH = gates * g->hidden;
    for (int64_t l = 0; l < g->layers; l++)
        for (int64_t d = 0; d < g->directions; d++) {
            int64_t first = (l * g->directions + d) * g->per_direction;
            int64_t w_ih[2] = { GH, l == 0 ? g->input : g->directions * g->hidden }, w_hh[2] = { GH, g->hidden };
            char    name[32];
            snprintf(name, sizeof name, "params[%lld]", (long long)first);
            if (!check_shape(params[first], 2, w_ih, op, name)) return false;
            snprintf(name, sizeof name, "params[%lld]", (long long)first + 1);
            if (!check_shape(params[first + 1], 2, w_hh, op, name)) return false;
            for (int64_t k = 2; k < g->per_direction; k++) {
                snprintf(name, sizeof name, "params[%lld]", (long long)(first + k));
                if (!check_shape(params[first + k], 1, &GH, op, name)) return false;
            }
        }
    int64_t state[3] = { lists, g->batch, g->hidden };
    int64_t state_unbatched[2] = { lists, g->hidden };
    const nb_tensor *states[2] = { h0, c0 };
    const char      *names[2]  = { "h0", "c0" };
    for (int k = 0; k < 2; k++) {
        if (states[k] == NULL) continue;
        if (!nbf_check_same_dtype(states[k], x, op, names[k], "x") || !nbf_check_cpu(states[k], op, names[k]) ||
            !check_shape(states[k], g->unbatched ? 2 : 3, g->unbatched ? state_unbatched : state, op, names[k]))
            return false;
    }
    if (lengths != NULL) {
        if (!nbf_check_cpu(lengths, op, "lengths")) return false;
        if (lengths->dtype != NB_INT64)
            return nbi_fail(NB_ERR_DTYPE, "%s: lengths must be int64, got %s", op, nb_dtype_name(lengths->dtype)), false;
        if (g->unbatched) return nbi_fail(NB_ERR_SHAPE, "%s: lengths needs batched (3-d) input", op), false;
        if (!check_shape(lengths, 1, &g->batch, op, "lengths")) return false;
        for (int64_t b = 0; b < g->batch; b++) {
            int64_t v = nbi_load_i64(nbi_ptr(lengths) + b * lengths->stride[0] * 8, NB_INT64);
            if (v < 1 || v > g->steps)
                return nbi_fail(NB_ERR_ARG, "%s: lengths[%lld] = %lld is outside [1, %lld] (the sequence length)", op,
                                (long long)b, (long long)v, (long long)g->steps), false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* The layer stack                                                           */
/* ------------------------------------------------------------------------ */

/* In the current scope. x (T, B, I); h0, c0 (L*D, B, H) or NULL. */
static nb_status run_stack(const rnn_geometry *g, const nb_tensor *x, const nb_tensor *h0, const nb_tensor *c0,
                           nb_tensor *const *params, const int64_t *lengths, nb_rnn_opts opts, bool training,
                           nb_tensor **out, nb_tensor **h_n, nb_tensor **c_n)
{
    int64_t    lists = g->layers * g->directions;
    bool       lstm  = g->cell == NBI_RNN_LSTM;
    nb_tensor *finals_h[2 * 64], *finals_c[2 * 64];
    nb_tensor **fh = lists <= 128 ? finals_h : malloc((size_t)lists * sizeof *fh);
    nb_tensor **fc = lists <= 128 ? finals_c : malloc((size_t)lists * sizeof *fc);
    nb_status   status = fh && fc ? NB_OK : nbi_fail_status(NB_ERR_OOM, "nb_rnn: out of memory");
    nb_tensor  *layer_in = (nb_tensor *)x;
    nb_tensor  *zeros    = NULL;
    if (status == NB_OK && (h0 == NULL || (lstm && c0 == NULL))) {
        zeros = nb_zeros(NB_SHAPE(g->batch, g->hidden), NB_OPTS(.dtype = x->dtype));
        if (zeros == NULL) status = nb_last_status();
    }
    for (int64_t l = 0; l < g->layers && status == NB_OK; l++) {
        nb_tensor *dir_out[2] = { 0 };
        for (int64_t d = 0; d < g->directions && status == NB_OK; d++) {
            int64_t           idx = l * g->directions + d;
            nb_tensor *const *p   = params + idx * g->per_direction;
            nb_tensor        *hd  = h0 ? nb_select(h0, 0, idx) : zeros;
            nb_tensor        *cd  = lstm ? (c0 ? nb_select(c0, 0, idx) : zeros) : NULL;
            if (hd == NULL || (lstm && cd == NULL)) {
                status = nb_last_status();
                break;
            }
            status = nbf_rnn_sequence(g->cell, layer_in, hd, cd, p[0], p[1], g->per_direction == 4 ? p[2] : NULL,
                                      g->per_direction == 4 ? p[3] : NULL, lengths, d == 1, &dir_out[d], &fh[idx],
                                      lstm ? &fc[idx] : NULL);
        }
        if (status != NB_OK) break;
        layer_in = g->directions == 2 ? nb_cat(dir_out, 2, 2) : dir_out[0];
        if (layer_in != NULL && l + 1 < g->layers && training && opts.dropout > 0)
            layer_in = nb_dropout(layer_in, opts.dropout, true);
        if (layer_in == NULL) status = nb_last_status();
    }
    if (status == NB_OK) {
        *out = layer_in;
        *h_n = nb_stack(fh, (int)lists, 0);
        if (*h_n == NULL) status = nb_last_status();
        if (status == NB_OK && lstm && c_n) {
            *c_n = nb_stack(fc, (int)lists, 0);
            if (*c_n == NULL) status = nb_last_status();
        }
    }
    if (fh != finals_h) free(fh);
    if (fc != finals_c) free(fc);
    return status;
}

static nb_tensor *recurrent(const char *op, nbi_rnn_cell cell, const nb_tensor *x, const nb_tensor *h0,
                            const nb_tensor *c0, nb_tensor *const *params, int64_t n_params, const nb_tensor *lengths,
                            nb_rnn_opts opts, bool training, nb_tensor **h_n, nb_tensor **c_n)
{
    if (h_n) *h_n = NULL;
    if (c_n) *c_n = NULL;
    rnn_geometry g;
    if (!check_call(op, cell, x, h0, c0, params, n_params, lengths, opts, &g)) return NULL;
    if (cell == NBI_RNN_TANH && opts.nonlinearity == NB_RNN_RELU) g.cell = cell = NBI_RNN_RELU;
    /* The lengths as host values for the kernels (any stride). */
    int64_t *steps = lengths ? malloc((size_t)g.batch * sizeof *steps + 1) : NULL;
    if (lengths && steps == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory", op);
    for (int64_t b = 0; lengths && b < g.batch; b++)
        steps[b] = nbi_load_i64(nbi_ptr(lengths) + b * lengths->stride[0] * (int64_t)sizeof(int64_t), NB_INT64);
    if (nb_scope_begin() != NB_OK) {
        free(steps);
        return NULL;
    }
    nb_tensor *x3  = g.unbatched ? nb_unsqueeze(x, 1) : g.batch_first ? nb_transpose(x, 0, 1) : (nb_tensor *)x;
    nb_tensor *h03 = h0 && g.unbatched ? nb_unsqueeze(h0, 1) : (nb_tensor *)h0;
    nb_tensor *c03 = c0 && g.unbatched ? nb_unsqueeze(c0, 1) : (nb_tensor *)c0;
    nb_tensor *out = NULL, *hn = NULL, *cn = NULL;
    nb_status  status = x3 && (h0 == NULL || h03) && (c0 == NULL || c03) ? NB_OK : nb_last_status();
    if (status == NB_OK)
        status = run_stack(&g, x3, h03, c03, params, steps, opts, training, &out, &hn, cell == NBI_RNN_LSTM ? &cn : NULL);
    if (status == NB_OK) {
        out = g.unbatched ? nb_squeeze_dim(out, 1) : g.batch_first ? nb_transpose(out, 0, 1) : out;
        if (g.unbatched) {
            hn = nb_squeeze_dim(hn, 1);
            if (cn) cn = nb_squeeze_dim(cn, 1);
        }
        if (out == NULL || hn == NULL || (cell == NBI_RNN_LSTM && cn == NULL)) status = nb_last_status();
    }
    if (status == NB_OK) {
        nb_keep(out);
        if (h_n) *h_n = nb_keep(hn);
        if (c_n && cn) *c_n = nb_keep(cn);
    }
    nb_scope_end();
    free(steps);
    return status == NB_OK ? out : NULL;
}

nb_tensor *nb_rnn(const nb_tensor *x, const nb_tensor *h0, nb_tensor *const *params, int64_t n_params,
                  const nb_tensor *lengths, nb_rnn_opts opts, bool training, nb_tensor **h_n)
{
    return recurrent("nb_rnn", NBI_RNN_TANH, x, h0, NULL, params, n_params, lengths, opts, training, h_n, NULL);
}

nb_tensor *nb_lstm(const nb_tensor *x, const nb_tensor *h0, const nb_tensor *c0, nb_tensor *const *params,
                   int64_t n_params, const nb_tensor *lengths, nb_rnn_opts opts, bool training, nb_tensor **h_n,
                   nb_tensor **c_n)
{
    return recurrent("nb_lstm", NBI_RNN_LSTM, x, h0, c0, params, n_params, lengths, opts, training, h_n, c_n);
}

nb_tensor *nb_gru(const nb_tensor *x, const nb_tensor *h0, nb_tensor *const *params, int64_t n_params,
                  const nb_tensor *lengths, nb_rnn_opts opts, bool training, nb_tensor **h_n)
{
    return recurrent("nb_gru", NBI_RNN_GRU, x, h0, NULL, params, n_params, lengths, opts, training, h_n, NULL);
}

/* ------------------------------------------------------------------------ */
/* Modules                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    nbi_rnn_cell cell;
    nb_rnn_opts  opts;
    int64_t      count; /* parameters */
} rnn_config;

static nb_tensor *module_run(nb_module *self, const char *op, const nb_tensor *x, const nb_tensor *h0,
                             const nb_tensor *c0, const nb_tensor *lengths, nb_tensor **h_n, nb_tensor **c_n)
{
    const rnn_config *config = nbi_module_user(self);
    nb_tensor        *params[4 * 2 * 64] = { NULL }; /* zeroed: gcc -O3 otherwise warns maybe-uninitialized */
    nb_tensor       **list = config->count <= 512 ? params : malloc((size_t)config->count * sizeof *list);
    if (list == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory", op);
    for (int64_t i = 0; i < config->count; i++)
        list[i] = nbi_module_own_parameter(self, i);
    nb_tensor *out = recurrent(op, config->cell, x, h0, c0, list, config->count, lengths, config->opts,
                               nb_module_is_training(self), h_n, c_n);
    if (list != params) free(list);
    return out;
}

static nb_tensor *rnn_module_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)user;
    return module_run(self, "nb_module_forward", x, NULL, NULL, NULL, NULL, NULL);
}

nb_tensor *nb_recurrent_forward(nb_module *m, const nb_tensor *x, const nb_tensor *h0, const nb_tensor *c0,
                                const nb_tensor *lengths, nb_tensor **h_n, nb_tensor **c_n)
{
    const char *op = "nb_recurrent_forward";
    if (h_n) *h_n = NULL;
    if (c_n) *c_n = NULL;
    if (!nbi_check_module(m, op, "m")) return NULL;
    if (nbi_module_forward_fn(m) != rnn_module_forward)
        return nbi_fail(NB_ERR_ARG, "%s: m is a %s, not an RNN, LSTM or GRU module", op, nb_module_type(m));
    const rnn_config *config = nbi_module_user(m);
    if (config->cell != NBI_RNN_LSTM && (c0 != NULL || c_n != NULL))
        return nbi_fail(NB_ERR_ARG, "%s: c0 and c_n are for LSTM only (m is a %s)", op, nb_module_type(m));
    return module_run(m, op, x, h0, c0, lengths, h_n, c_n);
}

static nb_module *recurrent_new(const char *op, nbi_rnn_cell cell, int64_t input_size, int64_t hidden_size,
                                nb_rnn_opts opts)
{
    if (input_size < 0) return nbi_fail(NB_ERR_ARG, "%s: input_size must be >= 0 (got %lld)", op, (long long)input_size);
    if (hidden_size < 1)
        return nbi_fail(NB_ERR_ARG, "%s: hidden_size must be greater than zero (got %lld)", op, (long long)hidden_size);
    if (!check_opts(op, opts, cell)) return NULL;
    int64_t layers = opts.num_layers ? opts.num_layers : 1, directions = opts.bidirectional ? 2 : 1;
    if (layers > 64) return nbi_fail(NB_ERR_ARG, "%s: at most 64 layers (got %lld)", op, (long long)layers);
    rnn_config config = { .cell = cell, .opts = opts, .count = layers * directions * (opts.no_bias ? 2 : 4) };
    config.opts.num_layers = layers;
    nb_module *m  = nbi_module_with_config(cell_type(cell), rnn_module_forward, &config, sizeof config);
    int64_t    GH = nbi_rnn_gates(cell) * hidden_size;
    double     bound = 1.0 / sqrt((double)hidden_size);
    for (int64_t l = 0; m != NULL && l < layers; l++)
        for (int64_t d = 0; d < directions; d++) {
            const char *suffix = d == 1 ? "_reverse" : "";
            const char *kinds[4] = { "weight_ih", "weight_hh", "bias_ih", "bias_hh" };
            nb_shape    shapes[4] = { NB_SHAPE(GH, l == 0 ? input_size : directions * hidden_size),
                                      NB_SHAPE(GH, hidden_size), NB_SHAPE(GH), NB_SHAPE(GH) };
            for (int k = 0; k < (opts.no_bias ? 2 : 4); k++) {
                char       name[48];
                nb_tensor *t;
                snprintf(name, sizeof name, "%s_l%lld%s", kinds[k], (long long)l, suffix);
                if (nbi_module_new_parameter(m, name, shapes[k], &t) != NB_OK ||
                    nb_init_uniform_(t, -bound, bound) != NB_OK) {
                    nb_module_free(m);
                    return NULL;
                }
            }
        }
    return m;
}

nb_module *nb_rnn_new(int64_t input_size, int64_t hidden_size, nb_rnn_opts opts)
{
    return recurrent_new("nb_rnn_new", NBI_RNN_TANH, input_size, hidden_size, opts);
}
nb_module *nb_lstm_new(int64_t input_size, int64_t hidden_size, nb_rnn_opts opts)
{
    return recurrent_new("nb_lstm_new", NBI_RNN_LSTM, input_size, hidden_size, opts);
}
nb_module *nb_gru_new(int64_t input_size, int64_t hidden_size, nb_rnn_opts opts)
{
    return recurrent_new("nb_gru_new", NBI_RNN_GRU, input_size, hidden_size, opts);
}
