/*
 * rnn_internal.h — what the recurrent layers (rnn.c) need from the fused
 * sequence op (rnn_fused.c) and its composite backward (rnn_composite.c).
 * Private to src/nn/.
 */
#ifndef NABLA_NN_RNN_INTERNAL_H
#define NABLA_NN_RNN_INTERNAL_H

#include "core/rnn_args.h"
#include "nn/functional_args.h"

/* One layer, one direction, every step, recorded as one autograd node.
 * x (T, B, I), h0 (B, H), c0 (B, H) for LSTM (else NULL), w_ih (G*H, I),
 * w_hh (G*H, H), b_ih and b_hh (G*H) or both NULL; all of one float dtype
 * on the CPU (the caller has checked shapes and dtypes). lengths: B host
 * values in [1, T], or NULL. *out (T, B, H), *h_n (B, H), *c_n (B, H, LSTM;
 * c_n may be NULL otherwise): new handles in the current scope. */
nb_status nbf_rnn_sequence(nbi_rnn_cell cell, const nb_tensor *x, const nb_tensor *h0, const nb_tensor *c0,
                           const nb_tensor *w_ih, const nb_tensor *w_hh, const nb_tensor *b_ih, const nb_tensor *b_hh,
                           const int64_t *lengths, bool reverse, nb_tensor **out, nb_tensor **h_n, nb_tensor **c_n);

/* The gradients of the fused sequence as recorded public ops (for
 * create_graph): the same arguments as the forward (the node's saved
 * inputs, with their history), the gradients of its outputs (grad_c_n
 * NULL except for LSTM), and grads[0..7) for x, h0, c0, w_ih, w_hh, b_ih,
 * b_hh (entries for absent inputs stay NULL). New handles in the current
 * scope. */
nb_status nbf_rnn_sequence_backward_composite(nbi_rnn_cell cell, nb_tensor *x, nb_tensor *h0, nb_tensor *c0,
                                              nb_tensor *w_ih, nb_tensor *w_hh, nb_tensor *b_ih, nb_tensor *b_hh,
                                              const int64_t *lengths, bool reverse, nb_tensor *grad_out,
                                              nb_tensor *grad_h_n, nb_tensor *grad_c_n, nb_tensor **grads);

#endif /* NABLA_NN_RNN_INTERNAL_H */
