/*
 * rnn_pointwise.h — the table of the recurrent steps' elementwise halves
 * (rnn_pointwise.inc), one per instruction set, picked like the
 * elementwise kernels' (the same choice: nbi_elementwise_isa). Each entry
 * is indexed [0] float32, [1] float64; pointers are of that dtype.
 */
#ifndef NABLA_RNN_POINTWISE_H
#define NABLA_RNN_POINTWISE_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*nbi_rnn_simple_forward_fn)(int64_t B, int64_t H, const uint8_t *active, bool relu, void *gates,
                                          const void *h_in, void *h_out, void *out);
typedef void (*nbi_rnn_simple_backward_fn)(int64_t B, int64_t H, const uint8_t *active, bool relu,
                                           const void *gates, const void *g_out, void *dh, void *d_gates);
typedef void (*nbi_rnn_lstm_forward_fn)(int64_t B, int64_t H, const uint8_t *active, void *gates, const void *h_in,
                                        const void *c_in, void *h_out, void *c_out, void *out);
typedef void (*nbi_rnn_lstm_backward_fn)(int64_t B, int64_t H, const uint8_t *active, const void *gates,
                                         const void *c_in, const void *c_out, const void *g_out, void *dh, void *dc,
                                         void *d_gates);
typedef void (*nbi_rnn_gru_forward_fn)(int64_t B, int64_t H, const uint8_t *active, void *gates, const void *hp,
                                       const void *b_hn, const void *h_in, void *h_out, void *out, void *hn);
typedef void (*nbi_rnn_gru_backward_fn)(int64_t B, int64_t H, const uint8_t *active, const void *gates,
                                        const void *hn, const void *h_in, const void *g_out, void *dh,
                                        void *d_gates, void *d_hidden);

typedef struct {
    nbi_rnn_simple_forward_fn  simple_forward[2];
    nbi_rnn_simple_backward_fn simple_backward[2];
    nbi_rnn_lstm_forward_fn    lstm_forward[2];
    nbi_rnn_lstm_backward_fn   lstm_backward[2];
    nbi_rnn_gru_forward_fn     gru_forward[2];
    nbi_rnn_gru_backward_fn    gru_backward[2];
} nbi_rnn_pointwise;

/* The table for this CPU. */
const nbi_rnn_pointwise *nbi_rnn_pointwise_table(void);

#endif /* NABLA_RNN_POINTWISE_H */
