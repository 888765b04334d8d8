/*
 * rnn_composite.c — the backward of the fused recurrent sequence
 * (rnn_fused.c) as recorded public ops, for create_graph.
 */
#include "nn/rnn_internal.h"

nb_status nbf_rnn_sequence_backward_composite(nbi_rnn_cell cell, nb_tensor *x, nb_tensor *h0, nb_tensor *c0,
                                              nb_tensor *w_ih, nb_tensor *w_hh, nb_tensor *b_ih, nb_tensor *b_hh,
                                              const int64_t *lengths, bool reverse, nb_tensor *grad_out,
                                              nb_tensor *grad_h_n, nb_tensor *grad_c_n, nb_tensor **grads)
{
    (void)cell, (void)x, (void)h0, (void)c0, (void)w_ih, (void)w_hh, (void)b_ih, (void)b_hh, (void)lengths;
    (void)reverse, (void)grad_out, (void)grad_h_n, (void)grad_c_n, (void)grads;
    return nbi_fail_status(NB_ERR_UNSUPPORTED, "not yet");
}
