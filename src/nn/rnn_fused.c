/*
 * rnn_fused.c — one recurrent layer in one direction over a whole sequence
 * as a single autograd node (a custom function with outputs out, h_n and,
 * for LSTM, c_n), run by the device's rnn_forward / rnn_backward entries
 * (core/rnn_args.h; the CPU's in cpu/rnn_kernels.c).
 *
 * Why fused: as public ops an LSTM step is a matmul, a chunk, four
 * activations and five products and sums, each with its autograd node, and
 * their backward repeats that per step. Fused, a step is one GEMM and one
 * elementwise pass each way, and the weight gradients are one GEMM over
 * all steps. The composite it is tested against is the per-step form of
 * torch's cells (tests/test_rnn.c compares both with PyTorch's values and
 * gradients); under create_graph the backward runs as public ops
 * (rnn_composite.c), so second derivatives work as in torch's CPU path.
 *
 * Saved for backward: the inputs (with their history), then the gates
 * after their nonlinearity, the states, and for LSTM the cell states or for
 * GRU the hidden side of the n gate, then a small int64 tensor with the
 * direction and the lengths.
 */
#include "nn/rnn_internal.h"

#include <string.h>

enum { MAX_INPUTS = 7 };

/* What forward needs beyond the tensors (valid during forward only; the
 * meta tensor keeps it for backward). */
typedef struct {
    nbi_rnn_cell   cell;
    bool           reverse, has_c0, has_bias;
    const int64_t *lengths;
} sequence_config;

/* The positions of the inputs in the input list: x, h0, [c0], w_ih, w_hh,
 * [b_ih, b_hh]. */
typedef struct {
    int x, h0, c0, w_ih, w_hh, b_ih, b_hh, count;
} input_slots;

static input_slots slots_of(bool has_c0, bool has_bias)
{
    input_slots s = { .x = 0, .h0 = 1, .c0 = -1, .b_ih = -1, .b_hh = -1 };
    int         n = 2;
    if (has_c0) s.c0 = n++;
    s.w_ih = n++;
    s.w_hh = n++;
    if (has_bias) {
        s.b_ih = n++;
        s.b_hh = n++;
    }
    s.count = n;
    return s;
}

static const char *node_name(nbi_rnn_cell cell)
{
    switch (cell) {
    case NBI_RNN_TANH: return "RnnTanhSequenceBackward";
    case NBI_RNN_RELU: return "RnnReluSequenceBackward";
    case NBI_RNN_LSTM: return "LstmSequenceBackward";
    default: return "GruSequenceBackward";
    }
}

static nbi_rnn_shape shape_of(nbi_rnn_cell cell, const nb_tensor *x, const nb_tensor *w_hh, bool reverse,
                              const int64_t *lengths)
{
    return (nbi_rnn_shape){ .device  = x->storage->device.index,
                            .dtype   = x->dtype,
                            .cell    = cell,
                            .steps   = x->shape[0],
                            .batch   = x->shape[1],
                            .input   = x->shape[2],
                            .hidden  = w_hh->shape[1],
                            .reverse = reverse,
                            .lengths = lengths };
}

static nb_tensor *empty_like_dims(nb_shape shape, const nb_tensor *like)
{
    return nbi_empty(shape.ndim, shape.dims, like->dtype, like->storage->device);
}

/* Runs in the caller's scope with grad mode off (nb_function_apply). */
static nb_status sequence_forward_in_scope(nb_function_ctx *ctx, nb_tensor *const *inputs, nb_tensor **outputs,
                                           int n_outputs)
{
    const sequence_config *config = nb_ctx_user(ctx);
    input_slots            in     = slots_of(config->has_c0, config->has_bias);
    const nb_tensor       *x = inputs[in.x], *w_hh = inputs[in.w_hh];
    nbi_rnn_shape          s    = shape_of(config->cell, x, w_hh, config->reverse, config->lengths);
    int64_t                T    = s.steps, B = s.batch, H = s.hidden, GH = nbi_rnn_gates(s.cell) * H;
    bool                   lstm = s.cell == NBI_RNN_LSTM, gru = s.cell == NBI_RNN_GRU;

    nb_tensor *out = empty_like_dims(NB_SHAPE(T, B, H), x), *gates = empty_like_dims(NB_SHAPE(T, B, GH), x);
    nb_tensor *states_h = empty_like_dims(NB_SHAPE(T + 1, B, H), x);
    nb_tensor *aux      = lstm ? empty_like_dims(NB_SHAPE(T + 1, B, H), x)
                          : gru ? empty_like_dims(NB_SHAPE(T, B, H), x)
                                : NULL;
    int64_t    meta_size = 2 + B;
    nb_tensor *meta      = nbi_empty(1, &meta_size, NB_INT64, (nb_device){ .type = NB_CPU });
    if (out == NULL || gates == NULL || states_h == NULL || ((lstm || gru) && aux == NULL) || meta == NULL)
        return nb_last_status();
    int64_t *m = (int64_t *)(void *)nbi_ptr(meta);
    m[0]       = config->reverse;
    m[1]       = config->lengths != NULL;
    for (int64_t b = 0; b < B; b++)
        m[2 + b] = config->lengths ? config->lengths[b] : T;

    nbi_rnn_arrays a = { .x        = nbi_ptr(x),
                         .h0       = nbi_ptr(inputs[in.h0]),
                         .c0       = lstm ? nbi_ptr(inputs[in.c0]) : NULL,
                         .w_ih     = nbi_ptr(inputs[in.w_ih]),
                         .w_hh     = nbi_ptr(w_hh),
                         .b_ih     = config->has_bias ? nbi_ptr(inputs[in.b_ih]) : NULL,
                         .b_hh     = config->has_bias ? nbi_ptr(inputs[in.b_hh]) : NULL,
                         .out      = nbi_ptr(out),
                         .gates    = nbi_ptr(gates),
                         .states_h = nbi_ptr(states_h),
                         .states_c = lstm ? nbi_ptr(aux) : NULL,
                         .hn       = gru ? nbi_ptr(aux) : NULL };
    if (nbi_backend_of(x)->rnn_forward(&s, &a) != NB_OK) {
        nbi_entry_failed("nb_rnn");
        return nb_last_status();
    }
    /* The final states: the rows the last step wrote (rnn_args.h). */
    int64_t last = config->reverse ? 0 : T;
    outputs[0]   = out;
    outputs[1]   = nb_clone(nb_select(states_h, 0, last));
    if (n_outputs > 2) outputs[2] = nb_clone(nb_select(aux, 0, last));
    for (int k = 0; k < n_outputs; k++)
        if (outputs[k] == NULL) return nb_last_status();
    nb_tensor *saved[MAX_INPUTS + 4];
    int        count = 0;
    for (int i = 0; i < in.count; i++)
        saved[count++] = inputs[i];
    saved[count++] = gates;
    saved[count++] = states_h;
    if (aux) saved[count++] = aux;
    saved[count++] = meta;
    return nb_ctx_save_for_backward(ctx, saved, count);
}

static nb_status sequence_forward(nb_function_ctx *ctx, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                                  int n_outputs)
{
    (void)n_inputs;
    nb_status status = nb_scope_begin();
    if (status != NB_OK) return status;
    status = sequence_forward_in_scope(ctx, inputs, outputs, n_outputs);
    for (int k = 0; k < n_outputs; k++)
        if (outputs[k]) {
            if (status == NB_OK) nb_keep(outputs[k]);
            else outputs[k] = NULL;
        }
    nb_scope_end();
    return status;
}

/* A contiguous copy of t made without recording (t itself when it is). */
static nb_tensor *contiguous_values(const nb_tensor *t)
{
    nbi_grad_mode_push(false);
    nb_tensor *c = nb_contiguous(t);
    nbi_grad_mode_pop();
    return c;
}

/* The gradients of the inputs from those of out, h_n, c_n. With grad
 * mode off, the device's rnn_backward over the saved activations; under
 * create_graph, the same formulas as recorded ops (rnn_composite.c). */
static nb_status sequence_backward(nbi_rnn_cell cell, nb_function_ctx *ctx, nb_tensor *const *grad_outputs,
                                   nb_tensor **grad_inputs, int n_inputs)
{
    bool        lstm = cell == NBI_RNN_LSTM, gru = cell == NBI_RNN_GRU;
    bool        has_bias = n_inputs == (lstm ? 7 : 6);
    input_slots in       = slots_of(lstm, has_bias);
    nb_tensor  *saved_in[MAX_INPUTS] = { 0 };
    for (int i = 0; i < in.count; i++)
        if ((saved_in[i] = nb_ctx_saved(ctx, i)) == NULL) return nb_last_status();
    int        next  = in.count;
    nb_tensor *gates = nb_ctx_saved(ctx, next++), *states_h = nb_ctx_saved(ctx, next++);
    nb_tensor *aux   = lstm || gru ? nb_ctx_saved(ctx, next++) : NULL;
    nb_tensor *meta  = nb_ctx_saved(ctx, next);
    if (gates == NULL || states_h == NULL || ((lstm || gru) && aux == NULL) || meta == NULL) return nb_last_status();
    const int64_t *m       = (const int64_t *)(const void *)nbi_ptr(meta);
    bool           reverse = m[0] != 0;
    const int64_t *lengths = m[1] ? m + 2 : NULL;
    nb_tensor     *x = saved_in[in.x], *w_hh = saved_in[in.w_hh];

    nb_tensor *grads[MAX_INPUTS] = { 0 }; /* x, h0, c0, w_ih, w_hh, b_ih, b_hh */
    int        slot_of[MAX_INPUTS] = { in.x, in.h0, in.c0, in.w_ih, in.w_hh, in.b_ih, in.b_hh };
    if (nbi_grad_enabled()) {
        nb_status status = nbf_rnn_sequence_backward_composite(
            cell, x, saved_in[in.h0], lstm ? saved_in[in.c0] : NULL, saved_in[in.w_ih], w_hh,
            has_bias ? saved_in[in.b_ih] : NULL, has_bias ? saved_in[in.b_hh] : NULL, lengths, reverse,
            grad_outputs[0], grad_outputs[1], lstm ? grad_outputs[2] : NULL, grads);
        if (status != NB_OK) return status;
        for (int k = 0; k < MAX_INPUTS; k++)
            if (slot_of[k] >= 0) grad_inputs[slot_of[k]] = grads[k];
        return NB_OK;
    }

    nbi_rnn_shape s  = shape_of(cell, x, w_hh, reverse, lengths);
    int64_t       T  = s.steps, B = s.batch, H = s.hidden, GH = nbi_rnn_gates(cell) * H;
    nb_tensor    *go = contiguous_values(grad_outputs[0]), *gh = contiguous_values(grad_outputs[1]);
    nb_tensor    *gc = lstm ? contiguous_values(grad_outputs[2]) : NULL;
    nb_tensor    *scratch = empty_like_dims(NB_SHAPE(T, B, GH), x);
    nb_tensor    *scratch_hidden = gru ? empty_like_dims(NB_SHAPE(T, B, GH), x) : NULL;
    if (go == NULL || gh == NULL || (lstm && gc == NULL) || scratch == NULL || (gru && scratch_hidden == NULL))
        return nb_last_status();
    for (int k = 0; k < MAX_INPUTS; k++) {
        if (slot_of[k] < 0 || !nb_ctx_needs_input_grad(ctx, slot_of[k])) continue;
        nb_tensor *input = saved_in[slot_of[k]];
        if ((grads[k] = nbi_empty(input->ndim, input->shape, input->dtype, input->storage->device)) == NULL)
            return nb_last_status();
    }
    nbi_rnn_arrays a = { .x        = nbi_ptr(x),
                         .w_ih     = nbi_ptr(saved_in[in.w_ih]),
                         .w_hh     = nbi_ptr(w_hh),
                         .gates    = nbi_ptr(gates),
                         .states_h = nbi_ptr(states_h),
                         .states_c = lstm ? nbi_ptr(aux) : NULL,
                         .hn       = gru ? nbi_ptr(aux) : NULL };
    nbi_rnn_grads  d = { .grad_out       = nbi_ptr(go),
                         .grad_h_n       = nbi_ptr(gh),
                         .grad_c_n       = lstm ? nbi_ptr(gc) : NULL,
                         .scratch_gates  = nbi_ptr(scratch),
                         .scratch_hidden = gru ? nbi_ptr(scratch_hidden) : NULL };
    void **targets[MAX_INPUTS] = { &d.grad_x, &d.grad_h0, &d.grad_c0, &d.grad_w_ih, &d.grad_w_hh, &d.grad_b_ih,
                                   &d.grad_b_hh };
    for (int k = 0; k < MAX_INPUTS; k++)
        if (grads[k]) *targets[k] = nbi_ptr(grads[k]);
    if (nbi_backend_of(x)->rnn_backward(&s, &a, &d) != NB_OK) {
        nbi_entry_failed(node_name(cell));
        return nb_last_status();
    }
    for (int k = 0; k < MAX_INPUTS; k++)
        if (grads[k]) grad_inputs[slot_of[k]] = grads[k];
    return NB_OK;
}

#define CELL_BACKWARD(name, cell)                                                                                     \
    static nb_status name(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,                        \
                          nb_tensor **grad_inputs, int n_inputs)                                                      \
    {                                                                                                                 \
        (void)n_outputs;                                                                                              \
        return sequence_backward(cell, ctx, grad_outputs, grad_inputs, n_inputs);                                    \
    }
CELL_BACKWARD(tanh_backward, NBI_RNN_TANH)
CELL_BACKWARD(relu_backward, NBI_RNN_RELU)
CELL_BACKWARD(lstm_backward, NBI_RNN_LSTM)
CELL_BACKWARD(gru_backward, NBI_RNN_GRU)
#undef CELL_BACKWARD

static const nb_function_def sequence_defs[NBI_NUM_RNN_CELLS] = {
    [NBI_RNN_TANH] = { .name = "RnnTanhSequenceBackward", .forward = sequence_forward, .backward = tanh_backward },
    [NBI_RNN_RELU] = { .name = "RnnReluSequenceBackward", .forward = sequence_forward, .backward = relu_backward },
    [NBI_RNN_LSTM] = { .name = "LstmSequenceBackward", .forward = sequence_forward, .backward = lstm_backward },
    [NBI_RNN_GRU]  = { .name = "GruSequenceBackward", .forward = sequence_forward, .backward = gru_backward },
};

nb_status nbf_rnn_sequence(nbi_rnn_cell cell, const nb_tensor *x, const nb_tensor *h0, const nb_tensor *c0,
                           const nb_tensor *w_ih, const nb_tensor *w_hh, const nb_tensor *b_ih, const nb_tensor *b_hh,
                           const int64_t *lengths, bool reverse, nb_tensor **out, nb_tensor **h_n, nb_tensor **c_n)
{
    bool            lstm   = cell == NBI_RNN_LSTM;
    sequence_config config = { .cell = cell, .reverse = reverse, .has_c0 = lstm, .has_bias = b_ih != NULL,
                               .lengths = lengths };
    input_slots     in     = slots_of(lstm, b_ih != NULL);
    if (!nbi_check_supported(nbi_backend_of(x), NBI_FAMILY_RNN, (int)cell, x->dtype, "nb_rnn")) return nb_last_status();
    /* The kernels read contiguous memory: contiguous inputs, recorded so
     * that gradients reach the caller's tensors. */
    const nb_tensor *given[MAX_INPUTS] = { 0 };
    given[in.x]    = x;
    given[in.h0]   = h0;
    if (lstm) given[in.c0] = c0;
    given[in.w_ih] = w_ih;
    given[in.w_hh] = w_hh;
    if (b_ih) {
        given[in.b_ih] = b_ih;
        given[in.b_hh] = b_hh;
    }
    nb_tensor *inputs[MAX_INPUTS] = { 0 };
    for (int i = 0; i < in.count; i++)
        if ((inputs[i] = nb_contiguous(given[i])) == NULL) return nb_last_status();
    nb_tensor *outputs[3] = { 0 };
    nb_status  status     = nb_function_apply(&sequence_defs[cell], inputs, in.count, outputs, lstm ? 3 : 2, &config);
    for (int i = 0; i < in.count; i++)
        nb_free(inputs[i]);
    if (status != NB_OK) return status;
    *out = outputs[0];
    *h_n = outputs[1];
    if (c_n) *c_n = outputs[2];
    else nb_free(outputs[2]);
    return NB_OK;
}
