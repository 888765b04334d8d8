/*
 * rnn_args.h — what a device's recurrent-sequence entries take (rnn_forward
 * and rnn_backward of core/backend.h), for the fused op of nn/rnn_fused.c:
 * one layer, one direction, all time steps.
 *
 * Letters: T steps, B batch, I input features, H hidden features, G gates
 * (1 for the plain RNN, 4 for LSTM: i, f, g, o; 3 for GRU: r, z, n).
 * Every array is contiguous, row-major, in the memory of the device, of the
 * shape written beside it. The direction is the order steps run in: t = 0
 * .. T-1, or T-1 .. 0 when reverse. A batch element b is active at time t
 * when t < lengths[b] (lengths: B int64 values in [1, T], in HOST memory, or
 * NULL for all active): an inactive step writes 0 to out and carries the
 * state through unchanged, which is what torch's packed sequences compute
 * (a reversed direction then starts at each sequence's own last step).
 *
 * The states are kept for backward as states_h (T+1, B, H) (and states_c
 * for LSTM), laid out so that step t reads row in(t) and writes row
 * out(t): in(t) = t, out(t) = t + 1 forward; in(t) = t + 1, out(t) = t
 * reversed. The rows read by the steps t = 0 .. T-1 are then one block of
 * T * B rows (rows 0..T-1 forward, 1..T reversed): one GEMM gives the
 * gradient of w_hh.
 *
 * A plain C header that nvcc also compiles as C++.
 */
#ifndef NABLA_RNN_ARGS_H
#define NABLA_RNN_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    NBI_RNN_TANH, /* h = tanh(W_ih x + b_ih + W_hh h + b_hh) */
    NBI_RNN_RELU, /* the same with relu */
    NBI_RNN_LSTM,
    NBI_RNN_GRU,
    NBI_NUM_RNN_CELLS
} nbi_rnn_cell;

/* Gates per cell: the rows of w_ih and w_hh are G * H. */
static inline int64_t nbi_rnn_gates(nbi_rnn_cell cell)
{
    return cell == NBI_RNN_LSTM ? 4 : cell == NBI_RNN_GRU ? 3 : 1;
}

typedef struct {
    int            device; /* index of the device every array lives on */
    nb_dtype       dtype;  /* NB_FLOAT32 or NB_FLOAT64 */
    nbi_rnn_cell   cell;
    int64_t        steps, batch, input, hidden;
    bool           reverse;
    const int64_t *lengths; /* (B) host, or NULL */
} nbi_rnn_shape;

/* The arrays of one sequence. Forward reads x .. b_hh (biases may be NULL:
 * no bias) and writes out, gates, states_h, states_c and hn; backward reads
 * those and writes the gradients. */
typedef struct {
    const void *x;          /* (T, B, I) */
    const void *h0;         /* (B, H) */
    const void *c0;         /* (B, H), LSTM only */
    const void *w_ih;       /* (G*H, I) */
    const void *w_hh;       /* (G*H, H) */
    const void *b_ih, *b_hh; /* (G*H) or NULL */
    void       *out;        /* (T, B, H) */
    /* Saved for backward: the gates after their nonlinearity (T, B, G*H;
     * the RNN's is h itself), the states (above), and for GRU the hidden
     * side of the n gate, W_hn h + b_hn (T, B, H). */
    void       *gates;
    void       *states_h;   /* (T+1, B, H) */
    void       *states_c;   /* (T+1, B, H), LSTM only */
    void       *hn;         /* (T, B, H), GRU only */
} nbi_rnn_arrays;

/* Gradients: read grad_out (T, B, H), grad_h_n, grad_c_n (B, H; c for
 * LSTM); write every other pointer (each may be NULL: not wanted, except
 * that scratch_gates is always needed). scratch_gates: (T, B, G*H)
 * scratch, and for GRU scratch_hidden (T, B, G*H) as well. */
typedef struct {
    const void *grad_out, *grad_h_n, *grad_c_n;
    void       *grad_x, *grad_h0, *grad_c0, *grad_w_ih, *grad_w_hh, *grad_b_ih, *grad_b_hh;
    void       *scratch_gates, *scratch_hidden;
} nbi_rnn_grads;

#ifdef __cplusplus
}
#endif

#endif /* NABLA_RNN_ARGS_H */
