/*
 * rnn_cell.c — one recurrent step, as torch.nn.RNNCell / LSTMCell /
 * GRUCell: the functional forms, composed of public ops (autograd then
 * differentiates them, twice, on any device), and the cell modules.
 *
 * Letters: B batch, I input features, H hidden, G gates (rnn_args.h).
 */
#include "nn/module.h"
#include "nn/rnn_internal.h"

#include <math.h>

/* Checks of one step; fills *hidden. x (B, I) or (I); h, c (B, H) / (H) or
 * NULL; weights (G*H, I), (G*H, H); biases (G*H) or NULL. */
static bool check_step(const char *op, int64_t gates, const nb_tensor *x, const nb_tensor *h, const nb_tensor *c,
                       const nb_tensor *w_ih, const nb_tensor *w_hh, const nb_tensor *b_ih, const nb_tensor *b_hh,
                       int64_t *hidden)
{
    char a[NBI_SHAPE_STR_SIZE], b[NBI_SHAPE_STR_SIZE];
    if (!nbf_check_float(x, op, "x") || !nbf_check_same_dtype(w_ih, x, op, "w_ih", "x") ||
        !nbf_check_same_dtype(w_hh, x, op, "w_hh", "x") || !nbf_check_same_dtype(b_ih, x, op, "b_ih", "x") ||
        !nbf_check_same_dtype(b_hh, x, op, "b_hh", "x") || !nbf_check_same_dtype(h, x, op, "h", "x") ||
        !nbf_check_same_dtype(c, x, op, "c", "x"))
        return false;
    if (w_ih == NULL) return nbi_check_tensor(NULL, op, "w_ih");
    if (w_hh == NULL) return nbi_check_tensor(NULL, op, "w_hh");
    if (x->ndim != 1 && x->ndim != 2)
        return nbi_fail(NB_ERR_SHAPE, "%s: x must be 1-d or 2-d, got shape %s", op,
                        nbi_shape_str(x->ndim, x->shape, a, sizeof a)), false;
    if (w_hh->ndim != 2 || w_hh->shape[1] < 1 || w_hh->shape[0] != gates * w_hh->shape[1])
        return nbi_fail(NB_ERR_SHAPE, "%s: w_hh must be (%lld * hidden, hidden) with hidden >= 1, got %s", op,
                        (long long)gates, nbi_shape_str(w_hh->ndim, w_hh->shape, a, sizeof a)), false;
    int64_t H = w_hh->shape[1], in = x->shape[x->ndim - 1];
    if (w_ih->ndim != 2 || w_ih->shape[0] != gates * H || w_ih->shape[1] != in)
        return nbi_fail(NB_ERR_SHAPE, "%s: w_ih must be (%lld, %lld) for x of shape %s, got %s", op,
                        (long long)(gates * H), (long long)in, nbi_shape_str(x->ndim, x->shape, b, sizeof b),
                        nbi_shape_str(w_ih->ndim, w_ih->shape, a, sizeof a)), false;
    const nb_tensor *biases[2] = { b_ih, b_hh };
    const char      *bnames[2] = { "b_ih", "b_hh" };
    for (int k = 0; k < 2; k++)
        if (biases[k] && (biases[k]->ndim != 1 || biases[k]->shape[0] != gates * H))
            return nbi_fail(NB_ERR_SHAPE, "%s: %s must be (%lld), got %s", op, bnames[k], (long long)(gates * H),
                            nbi_shape_str(biases[k]->ndim, biases[k]->shape, a, sizeof a)), false;
    const nb_tensor *states[2] = { h, c };
    const char      *snames[2] = { "h", "c" };
    for (int k = 0; k < 2; k++) {
        const nb_tensor *s = states[k];
        if (s == NULL) continue;
        bool fits = s->ndim == x->ndim && s->shape[s->ndim - 1] == H && (x->ndim == 1 || s->shape[0] == x->shape[0]);
        if (!fits)
            return nbi_fail(NB_ERR_SHAPE, "%s: %s must be (%s%lld) for x of shape %s, got %s", op, snames[k],
                            x->ndim == 2 ? "batch, " : "", (long long)H, nbi_shape_str(x->ndim, x->shape, b, sizeof b),
                            nbi_shape_str(s->ndim, s->shape, a, sizeof a)), false;
    }
    *hidden = H;
    return true;
}

/* h, or zeros of the state's shape when NULL (in the current scope). */
static nb_tensor *state_or_zeros(const nb_tensor *s, const nb_tensor *x, int64_t H)
{
    if (s) return (nb_tensor *)s;
    return x->ndim == 2 ? nb_zeros(NB_SHAPE(x->shape[0], H), NB_OPTS(.dtype = x->dtype))
                        : nb_zeros(NB_SHAPE(H), NB_OPTS(.dtype = x->dtype));
}

/* An unbatched step (x (I), states (H)) runs as a batch of one, squeezed
 * after, as torch.nn.RNNCell & co. do (the result's grad_fn is then
 * SqueezeBackward1, as torch's). */
static nb_tensor *batch_of_one(const nb_tensor *t) { return t ? nb_unsqueeze(t, 0) : NULL; }

/* x W_ih^T + b_ih and h W_hh^T + b_hh. */
static nb_tensor *both_sides(const nb_tensor *x, const nb_tensor *h, const nb_tensor *w_ih, const nb_tensor *w_hh,
                             const nb_tensor *b_ih, const nb_tensor *b_hh)
{
    return nb_add(nb_linear(x, w_ih, b_ih), nb_linear(h, w_hh, b_hh));
}

nb_tensor *nb_rnn_cell(const nb_tensor *x, const nb_tensor *h, const nb_tensor *w_ih, const nb_tensor *w_hh,
                       const nb_tensor *b_ih, const nb_tensor *b_hh, nb_rnn_nonlinearity nonlinearity)
{
    const char *op = "nb_rnn_cell";
    int64_t     H;
    if (!check_step(op, 1, x, h, NULL, w_ih, w_hh, b_ih, b_hh, &H)) return NULL;
    if (nonlinearity != NB_RNN_TANH && nonlinearity != NB_RNN_RELU)
        return nbi_fail(NB_ERR_ARG, "%s: unknown nonlinearity %d (NB_RNN_TANH or NB_RNN_RELU)", op, (int)nonlinearity);
    if (nb_scope_begin() != NB_OK) return NULL;
    if (x->ndim == 1) {
        nb_tensor *out = nb_squeeze_dim(nb_rnn_cell(batch_of_one(x), batch_of_one(h), w_ih, w_hh, b_ih, b_hh,
                                                    nonlinearity), 0);
        if (out) nb_keep(out);
        nb_scope_end();
        return out;
    }
    nb_tensor *pre = both_sides(x, state_or_zeros(h, x, H), w_ih, w_hh, b_ih, b_hh);
    nb_tensor *out = nonlinearity == NB_RNN_RELU ? nb_relu(pre) : nb_tanh(pre);
    if (out) nb_keep(out);
    nb_scope_end();
    return out;
}

nb_tensor *nb_lstm_cell(const nb_tensor *x, const nb_tensor *h, const nb_tensor *c, const nb_tensor *w_ih,
                        const nb_tensor *w_hh, const nb_tensor *b_ih, const nb_tensor *b_hh, nb_tensor **c_out)
{
    const char *op = "nb_lstm_cell";
    int64_t     H;
    if (c_out) *c_out = NULL;
    if (!check_step(op, 4, x, h, c, w_ih, w_hh, b_ih, b_hh, &H)) return NULL;
    if (nb_scope_begin() != NB_OK) return NULL;
    if (x->ndim == 1) {
        nb_tensor *c_new = NULL;
        nb_tensor *h_new = nb_squeeze_dim(nb_lstm_cell(batch_of_one(x), batch_of_one(h), batch_of_one(c), w_ih, w_hh,
                                                       b_ih, b_hh, &c_new), 0);
        if (h_new && c_out) c_new = nb_squeeze_dim(c_new, 0);
        if (h_new && (c_out == NULL || c_new)) {
            nb_keep(h_new);
            if (c_out) *c_out = nb_keep(c_new);
        } else {
            h_new = NULL;
        }
        nb_scope_end();
        return h_new;
    }
    int        last  = x->ndim - 1;
    nb_tensor *gates = both_sides(x, state_or_zeros(h, x, H), w_ih, w_hh, b_ih, b_hh);
    nb_tensor *i = nb_sigmoid(nb_narrow(gates, last, 0, H)), *f = nb_sigmoid(nb_narrow(gates, last, H, H));
    nb_tensor *g = nb_tanh(nb_narrow(gates, last, 2 * H, H)), *o = nb_sigmoid(nb_narrow(gates, last, 3 * H, H));
    nb_tensor *c_new = nb_add(nb_mul(f, state_or_zeros(c, x, H)), nb_mul(i, g));
    nb_tensor *h_new = nb_mul(o, nb_tanh(c_new));
    if (h_new) {
        nb_keep(h_new);
        if (c_out) *c_out = nb_keep(c_new);
    }
    nb_scope_end();
    return h_new;
}

nb_tensor *nb_gru_cell(const nb_tensor *x, const nb_tensor *h, const nb_tensor *w_ih, const nb_tensor *w_hh,
                       const nb_tensor *b_ih, const nb_tensor *b_hh)
{
    const char *op = "nb_gru_cell";
    int64_t     H;
    if (!check_step(op, 3, x, h, NULL, w_ih, w_hh, b_ih, b_hh, &H)) return NULL;
    if (nb_scope_begin() != NB_OK) return NULL;
    if (x->ndim == 1) {
        nb_tensor *out = nb_squeeze_dim(nb_gru_cell(batch_of_one(x), batch_of_one(h), w_ih, w_hh, b_ih, b_hh), 0);
        if (out) nb_keep(out);
        nb_scope_end();
        return out;
    }
    int        last = x->ndim - 1;
    nb_tensor *hs = state_or_zeros(h, x, H);
    nb_tensor *gi = nb_linear(x, w_ih, b_ih), *gh = nb_linear(hs, w_hh, b_hh);
    nb_tensor *r = nb_sigmoid(nb_add(nb_narrow(gi, last, 0, H), nb_narrow(gh, last, 0, H)));
    nb_tensor *z = nb_sigmoid(nb_add(nb_narrow(gi, last, H, H), nb_narrow(gh, last, H, H)));
    nb_tensor *n = nb_tanh(nb_add(nb_narrow(gi, last, 2 * H, H), nb_mul(r, nb_narrow(gh, last, 2 * H, H))));
    /* (1 - z) n + z h, as torch writes it */
    nb_tensor *out = nb_add(nb_mul(nb_rsub_scalar(z, 1.0), n), nb_mul(z, hs));
    if (out) nb_keep(out);
    nb_scope_end();
    return out;
}

/* ------------------------------------------------------------------------ */
/* Modules                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    nbi_rnn_cell cell;
    bool         bias;
} cell_config;

static nb_tensor *cell_run(nb_module *self, const nb_tensor *x, const nb_tensor *h, const nb_tensor *c,
                           nb_tensor **c_out)
{
    const cell_config *config = nbi_module_user(self);
    nb_tensor         *w_ih = nbi_module_own_parameter(self, 0), *w_hh = nbi_module_own_parameter(self, 1);
    nb_tensor         *b_ih = config->bias ? nbi_module_own_parameter(self, 2) : NULL;
    nb_tensor         *b_hh = config->bias ? nbi_module_own_parameter(self, 3) : NULL;
    switch (config->cell) {
    case NBI_RNN_LSTM: return nb_lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh, c_out);
    case NBI_RNN_GRU: return nb_gru_cell(x, h, w_ih, w_hh, b_ih, b_hh);
    default:
        return nb_rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, config->cell == NBI_RNN_RELU ? NB_RNN_RELU : NB_RNN_TANH);
    }
}

static nb_tensor *cell_module_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)user;
    return cell_run(self, x, NULL, NULL, NULL);
}

nb_tensor *nb_recurrent_cell_forward(nb_module *m, const nb_tensor *x, const nb_tensor *h, const nb_tensor *c,
                                     nb_tensor **c_out)
{
    const char *op = "nb_recurrent_cell_forward";
    if (c_out) *c_out = NULL;
    if (!nbi_check_module(m, op, "m")) return NULL;
    if (nbi_module_forward_fn(m) != cell_module_forward)
        return nbi_fail(NB_ERR_ARG, "%s: m is a %s, not an RNNCell, LSTMCell or GRUCell module", op,
                        nb_module_type(m));
    const cell_config *config = nbi_module_user(m);
    if (config->cell != NBI_RNN_LSTM && (c != NULL || c_out != NULL))
        return nbi_fail(NB_ERR_ARG, "%s: c and c_out are for LSTMCell only (m is a %s)", op, nb_module_type(m));
    return cell_run(m, x, h, c, c_out);
}

static nb_module *cell_new(const char *op, const char *type, nbi_rnn_cell cell, int64_t input_size,
                           int64_t hidden_size, bool bias)
{
    if (input_size < 0) return nbi_fail(NB_ERR_ARG, "%s: input_size must be >= 0 (got %lld)", op, (long long)input_size);
    if (hidden_size < 1)
        return nbi_fail(NB_ERR_ARG, "%s: hidden_size must be greater than zero (got %lld)", op, (long long)hidden_size);
    cell_config config = { .cell = cell, .bias = bias };
    nb_module  *m      = nbi_module_with_config(type, cell_module_forward, &config, sizeof config);
    int64_t     GH     = nbi_rnn_gates(cell) * hidden_size;
    double      bound  = 1.0 / sqrt((double)hidden_size);
    const char *names[4]  = { "weight_ih", "weight_hh", "bias_ih", "bias_hh" };
    nb_shape    shapes[4] = { NB_SHAPE(GH, input_size), NB_SHAPE(GH, hidden_size), NB_SHAPE(GH), NB_SHAPE(GH) };
    for (int k = 0; m != NULL && k < (bias ? 4 : 2); k++) {
        nb_tensor *t;
        if (nbi_module_new_parameter(m, names[k], shapes[k], &t) != NB_OK || nb_init_uniform_(t, -bound, bound) != NB_OK) {
            nb_module_free(m);
            return NULL;
        }
    }
    return m;
}

nb_module *nb_rnn_cell_new(int64_t input_size, int64_t hidden_size, bool bias, nb_rnn_nonlinearity nonlinearity)
{
    if (nonlinearity != NB_RNN_TANH && nonlinearity != NB_RNN_RELU)
        return nbi_fail(NB_ERR_ARG, "nb_rnn_cell_new: unknown nonlinearity %d (NB_RNN_TANH or NB_RNN_RELU)",
                        (int)nonlinearity);
    return cell_new("nb_rnn_cell_new", "RNNCell", nonlinearity == NB_RNN_RELU ? NBI_RNN_RELU : NBI_RNN_TANH,
                    input_size, hidden_size, bias);
}
nb_module *nb_lstm_cell_new(int64_t input_size, int64_t hidden_size, bool bias)
{
    return cell_new("nb_lstm_cell_new", "LSTMCell", NBI_RNN_LSTM, input_size, hidden_size, bias);
}
nb_module *nb_gru_cell_new(int64_t input_size, int64_t hidden_size, bool bias)
{
    return cell_new("nb_gru_cell_new", "GRUCell", NBI_RNN_GRU, input_size, hidden_size, bias);
}
