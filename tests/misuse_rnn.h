/*
 * misuse_rnn.h — the misuse cases of the recurrent layers (issue 14:
 * nb_rnn / nb_lstm / nb_gru, their modules and cells), included by
 * test_misuse.c after misuse_nn.h: it uses that file's fixtures and check
 * macros, and is not compiled on its own.
 */

static void run_recurrent(void)
{
    /* LSTM(3, 2): params w_ih (8, 3), w_hh (8, 2), b_ih, b_hh (8). */
    nb_tensor *x        = nb_ones(NB_SHAPE(4, 2, 3), NB_OPTS());
    nb_tensor *lp[4]    = { nb_ones(NB_SHAPE(8, 3), NB_OPTS()), nb_ones(NB_SHAPE(8, 2), NB_OPTS()),
                            nb_ones(NB_SHAPE(8), NB_OPTS()), nb_ones(NB_SHAPE(8), NB_OPTS()) };
    nb_tensor *gp[4]    = { nb_ones(NB_SHAPE(6, 3), NB_OPTS()), nb_ones(NB_SHAPE(6, 2), NB_OPTS()),
                            nb_ones(NB_SHAPE(6), NB_OPTS()), nb_ones(NB_SHAPE(6), NB_OPTS()) };
    nb_tensor *rp[4]    = { nb_ones(NB_SHAPE(2, 3), NB_OPTS()), nb_ones(NB_SHAPE(2, 2), NB_OPTS()),
                            nb_ones(NB_SHAPE(2), NB_OPTS()), nb_ones(NB_SHAPE(2), NB_OPTS()) };
    nb_tensor *state    = nb_zeros(NB_SHAPE(1, 2, 2), NB_OPTS());
    nb_tensor *h_n      = NULL, *c_n = NULL;
    int64_t    good[2]  = { 4, 1 }, zero[2] = { 4, 0 }, long_[2] = { 5, 1 };
    nb_tensor *lengths  = nbt_int64_tensor(NB_SHAPE(2), good);
    nb_rnn_opts opts    = NB_RNN_OPTS();

    begin("nb_lstm");
    ALLOWED("valid, with lengths", nb_lstm(x, state, state, lp, 4, lengths, opts, true, &h_n, &c_n));
    FAILS("NULL x", nb_lstm(NULL, NULL, NULL, lp, 4, NULL, opts, true, NULL, NULL));
    FREED("freed x", nb_lstm(fresh_gone(), NULL, NULL, lp, 4, NULL, opts, true, NULL, NULL));
    FAILS("NULL params", nb_lstm(x, NULL, NULL, NULL, 4, NULL, opts, true, NULL, NULL));
    FAILS("3 params", nb_lstm(x, NULL, NULL, lp, 3, NULL, opts, true, NULL, NULL));
    FAILS("GRU's params", nb_lstm(x, NULL, NULL, gp, 4, NULL, opts, true, NULL, NULL));
    FAILS("int64 x", nb_lstm(nb_ones(NB_SHAPE(4, 2, 3), NB_OPTS(.dtype = NB_INT64)), NULL, NULL, lp, 4, NULL, opts,
                             true, NULL, NULL));
    FAILS("float64 x, float32 params", nb_lstm(nb_ones(NB_SHAPE(4, 2, 3), NB_OPTS(.dtype = NB_FLOAT64)), NULL, NULL,
                                                lp, 4, NULL, opts, true, NULL, NULL));
    FAILS("4-d x", nb_lstm(f4, NULL, NULL, lp, 4, NULL, opts, true, NULL, NULL));
    FAILS("input size 2, w_ih for 3", nb_lstm(nb_ones(NB_SHAPE(4, 2, 2), NB_OPTS()), NULL, NULL, lp, 4, NULL, opts,
                                              true, NULL, NULL));
    FAILS("sequence length 0", nb_lstm(nb_ones(NB_SHAPE(0, 2, 3), NB_OPTS()), NULL, NULL, lp, 4, NULL, opts, true,
                                       NULL, NULL));
    FAILS("h0 (1, 3, 2) for batch 2", nb_lstm(x, nb_zeros(NB_SHAPE(1, 3, 2), NB_OPTS()), NULL, lp, 4, NULL, opts, true,
                                              NULL, NULL));
    FAILS("c0 (2, 2)", nb_lstm(x, NULL, nb_zeros(NB_SHAPE(2, 2), NB_OPTS()), lp, 4, NULL, opts, true, NULL, NULL));
    FAILS("a length 0", nb_lstm(x, NULL, NULL, lp, 4, nbt_int64_tensor(NB_SHAPE(2), zero), opts, true, NULL, NULL));
    FAILS("a length past T", nb_lstm(x, NULL, NULL, lp, 4, nbt_int64_tensor(NB_SHAPE(2), long_), opts, true, NULL,
                                     NULL));
    FAILS("float lengths", nb_lstm(x, NULL, NULL, lp, 4, nb_ones(NB_SHAPE(2), NB_OPTS()), opts, true, NULL, NULL));
    FAILS("3 lengths", nb_lstm(x, NULL, NULL, lp, 4, nbt_int64_tensor(NB_SHAPE(3), (int64_t[]){ 1, 1, 1 }), opts, true,
                               NULL, NULL));
    FAILS("num_layers -1", nb_lstm(x, NULL, NULL, lp, 4, NULL, NB_RNN_OPTS(.num_layers = -1), true, NULL, NULL));
    FAILS("2 layers, params of 1", nb_lstm(x, NULL, NULL, lp, 4, NULL, NB_RNN_OPTS(.num_layers = 2), true, NULL, NULL));
    FAILS("dropout 1.5", nb_lstm(x, NULL, NULL, lp, 4, NULL, NB_RNN_OPTS(.dropout = 1.5), true, NULL, NULL));
    FAILS("dropout NaN", nb_lstm(x, NULL, NULL, lp, 4, NULL, NB_RNN_OPTS(.dropout = NAN), true, NULL, NULL));
    FAILS("relu", nb_lstm(x, NULL, NULL, lp, 4, NULL, NB_RNN_OPTS(.nonlinearity = NB_RNN_RELU), true, NULL, NULL));
    FAILS("bidirectional, params of one direction",
          nb_lstm(x, NULL, NULL, lp, 4, NULL, NB_RNN_OPTS(.bidirectional = true), true, NULL, NULL));
    FAILS("hidden size 0", nb_lstm(x, NULL, NULL,
                                   (nb_tensor *[]){ nb_ones(NB_SHAPE(0, 3), NB_OPTS()), nb_ones(NB_SHAPE(0, 0), NB_OPTS()),
                                                    nb_ones(NB_SHAPE(0), NB_OPTS()), nb_ones(NB_SHAPE(0), NB_OPTS()) },
                                   4, NULL, opts, true, NULL, NULL));
    FAILS("NULL param", nb_lstm(x, NULL, NULL, (nb_tensor *[]){ lp[0], NULL, lp[2], lp[3] }, 4, NULL, opts, true, NULL,
                                NULL));
    PENDING("NULL x", nb_lstm(NULL, NULL, NULL, lp, 4, NULL, opts, true, NULL, NULL));
    begin("nb_gru");
    ALLOWED("valid", nb_gru(x, state, gp, 4, NULL, opts, false, &h_n));
    FAILS("NULL x", nb_gru(NULL, NULL, gp, 4, NULL, opts, true, NULL));
    FAILS("LSTM's params", nb_gru(x, NULL, lp, 4, NULL, opts, true, NULL));
    FAILS("h0 (2, 2, 2)", nb_gru(x, nb_zeros(NB_SHAPE(2, 2, 2), NB_OPTS()), gp, 4, NULL, opts, true, NULL));
    FAILS("unbatched x with lengths", nb_gru(nb_ones(NB_SHAPE(4, 3), NB_OPTS()), NULL, gp, 4, lengths, opts, true,
                                            NULL));
    begin("nb_rnn");
    ALLOWED("valid, relu", nb_rnn(x, NULL, rp, 4, NULL, NB_RNN_OPTS(.nonlinearity = NB_RNN_RELU), true, &h_n));
    FAILS("NULL x", nb_rnn(NULL, NULL, rp, 4, NULL, opts, true, NULL));
    FAILS("nonlinearity 7", nb_rnn(x, NULL, rp, 4, NULL, NB_RNN_OPTS(.nonlinearity = (nb_rnn_nonlinearity)7), true,
                                   NULL));
    FAILS("w_ih of 2 rows, w_hh of 4", nb_rnn(x, NULL, (nb_tensor *[]){ rp[0], lp[1], rp[2], rp[3] }, 4, NULL, opts,
                                              true, NULL));

    begin("nb_lstm_new");
    FAILS_M("hidden 0", nb_lstm_new(3, 0, NB_RNN_OPTS()));
    FAILS_M("input -1", nb_lstm_new(-1, 2, NB_RNN_OPTS()));
    FAILS_M("layers -2", nb_lstm_new(3, 2, NB_RNN_OPTS(.num_layers = -2)));
    FAILS_M("65 layers", nb_lstm_new(3, 2, NB_RNN_OPTS(.num_layers = 65)));
    FAILS_M("dropout -0.5", nb_lstm_new(3, 2, NB_RNN_OPTS(.dropout = -0.5)));
    FAILS_M("relu", nb_lstm_new(3, 2, NB_RNN_OPTS(.nonlinearity = NB_RNN_RELU)));
    FAILS_M("2^40 x 2^40", nb_lstm_new((int64_t)1 << 40, (int64_t)1 << 40, NB_RNN_OPTS()));
    begin("nb_gru_new");
    FAILS_M("hidden -1", nb_gru_new(3, -1, NB_RNN_OPTS()));
    begin("nb_rnn_new");
    FAILS_M("hidden 0", nb_rnn_new(3, 0, NB_RNN_OPTS()));
    FAILS_M("nonlinearity 2", nb_rnn_new(3, 2, NB_RNN_OPTS(.nonlinearity = (nb_rnn_nonlinearity)2)));
    begin("nb_recurrent_forward");
    nb_module *lstm = nb_lstm_new(3, 2, NB_RNN_OPTS()), *gru = nb_gru_new(3, 2, NB_RNN_OPTS());
    nb_module *linear = nb_linear_new(3, 2, true);
    ALLOWED("valid", nb_recurrent_forward(lstm, x, NULL, NULL, NULL, &h_n, &c_n));
    FAILS("NULL module", nb_recurrent_forward(NULL, x, NULL, NULL, NULL, NULL, NULL));
    FAILS("a Linear", nb_recurrent_forward(linear, x, NULL, NULL, NULL, NULL, NULL));
    FAILS("NULL x", nb_recurrent_forward(lstm, NULL, NULL, NULL, NULL, NULL, NULL));
    FAILS("c0 for a GRU", nb_recurrent_forward(gru, x, NULL, state, NULL, NULL, NULL));
    FAILS("c_n for a GRU", nb_recurrent_forward(gru, x, NULL, NULL, NULL, NULL, &c_n));
    FAILS("x of 4 features", nb_recurrent_forward(lstm, nb_ones(NB_SHAPE(4, 2, 4), NB_OPTS()), NULL, NULL, NULL, NULL,
                                                  NULL));
    FAILS("h0 of 3 features", nb_recurrent_forward(lstm, x, nb_zeros(NB_SHAPE(1, 2, 3), NB_OPTS()), NULL, NULL, NULL,
                                                   NULL));
    nb_module *freed = nb_lstm_new(3, 2, NB_RNN_OPTS());
    nb_module_free(freed);
    FAILS("freed module", nb_recurrent_forward(freed, x, NULL, NULL, NULL, NULL, NULL));
    FAILS("module forward with a 1-d x", nb_module_forward(lstm, nb_ones(NB_SHAPE(3), NB_OPTS())));

    nb_tensor *xc = nb_ones(NB_SHAPE(2, 3), NB_OPTS()), *hc = nb_zeros(NB_SHAPE(2, 2), NB_OPTS());
    begin("nb_lstm_cell");
    ALLOWED("valid", nb_lstm_cell(xc, hc, hc, lp[0], lp[1], lp[2], lp[3], &c_n));
    FAILS("NULL x", nb_lstm_cell(NULL, hc, hc, lp[0], lp[1], NULL, NULL, NULL));
    FAILS("NULL w_ih", nb_lstm_cell(xc, hc, hc, NULL, lp[1], NULL, NULL, NULL));
    FAILS("GRU's weights", nb_lstm_cell(xc, hc, hc, gp[0], gp[1], NULL, NULL, NULL));
    FAILS("h of batch 3", nb_lstm_cell(xc, nb_zeros(NB_SHAPE(3, 2), NB_OPTS()), NULL, lp[0], lp[1], NULL, NULL, NULL));
    FAILS("c (2, 3)", nb_lstm_cell(xc, hc, nb_zeros(NB_SHAPE(2, 3), NB_OPTS()), lp[0], lp[1], NULL, NULL, NULL));
    FAILS("b_ih (6)", nb_lstm_cell(xc, hc, hc, lp[0], lp[1], gp[2], NULL, NULL));
    FAILS("3-d x", nb_lstm_cell(x, NULL, NULL, lp[0], lp[1], NULL, NULL, NULL));
    FAILS("int64 x", nb_lstm_cell(i64, NULL, NULL, lp[0], lp[1], NULL, NULL, NULL));
    begin("nb_gru_cell");
    ALLOWED("valid, 1-d", nb_gru_cell(nb_ones(NB_SHAPE(3), NB_OPTS()), NULL, gp[0], gp[1], gp[2], gp[3]));
    FAILS("NULL w_hh", nb_gru_cell(xc, hc, gp[0], NULL, NULL, NULL));
    FREED("freed h", nb_gru_cell(xc, fresh_gone(), gp[0], gp[1], NULL, NULL));
    FAILS("float64 h", nb_gru_cell(xc, nb_zeros(NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_FLOAT64)), gp[0], gp[1], NULL,
                                   NULL));
    begin("nb_rnn_cell");
    ALLOWED("valid", nb_rnn_cell(xc, hc, rp[0], rp[1], rp[2], rp[3], NB_RNN_TANH));
    FAILS("NULL x", nb_rnn_cell(NULL, hc, rp[0], rp[1], NULL, NULL, NB_RNN_TANH));
    FAILS("nonlinearity -1", nb_rnn_cell(xc, hc, rp[0], rp[1], NULL, NULL, (nb_rnn_nonlinearity)-1));
    FAILS("w_hh (2, 3)", nb_rnn_cell(xc, hc, rp[0], nb_ones(NB_SHAPE(2, 3), NB_OPTS()), NULL, NULL, NB_RNN_TANH));
    begin("nb_lstm_cell_new");
    FAILS_M("hidden 0", nb_lstm_cell_new(3, 0, true));
    begin("nb_gru_cell_new");
    FAILS_M("input -3", nb_gru_cell_new(-3, 2, false));
    begin("nb_rnn_cell_new");
    FAILS_M("hidden -1", nb_rnn_cell_new(3, -1, true, NB_RNN_TANH));
    FAILS_M("nonlinearity 9", nb_rnn_cell_new(3, 2, true, (nb_rnn_nonlinearity)9));
    begin("nb_recurrent_cell_forward");
    nb_module *cell = nb_gru_cell_new(3, 2, true);
    ALLOWED("valid", nb_recurrent_cell_forward(cell, xc, hc, NULL, NULL));
    FAILS("NULL module", nb_recurrent_cell_forward(NULL, xc, NULL, NULL, NULL));
    FAILS("an LSTM (not a cell)", nb_recurrent_cell_forward(lstm, xc, NULL, NULL, NULL));
    FAILS("c for a GRUCell", nb_recurrent_cell_forward(cell, xc, hc, hc, NULL));
    FAILS("x of 4 features", nb_recurrent_cell_forward(cell, nb_ones(NB_SHAPE(2, 4), NB_OPTS()), NULL, NULL, NULL));
    nb_module_free(cell);
    nb_module_free(lstm);
    nb_module_free(gru);
    nb_module_free(linear);
}
