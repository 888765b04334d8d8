/*
 * rnn_kernels.c — the CPU's fused recurrent sequence (core/rnn_args.h): one
 * layer, one direction, every time step, forward and backward.
 *
 * Forward: the input projection of all T steps is one GEMM up front
 * (T*B rows), biases added in the same pass over it; then per step one
 * GEMM adds h W_hh^T into that step's gate rows (for GRU into a scratch,
 * since its n gate scales the hidden side by r) and one elementwise pass
 * (rnn_pointwise.inc) applies the gate nonlinearities and writes the new
 * state and the output. Backward through time runs the steps in the other
 * order, per step one elementwise pass for the pre-activation gradients
 * and one GEMM carrying dh to the step before; the weight, bias and input
 * gradients are then three GEMMs and two column sums over all T*B rows at
 * once, not T small ones.
 *
 * Letters as in rnn_args.h: T steps, B batch, I input, H hidden, G gates.
 * Every GEMM and sum runs in an order fixed by the shape: results do not
 * depend on the thread count.
 */
#include "../core/rnn_args.h"
#include "gemm.h"
#include "rnn_kernels.h"
#include "rnn_pointwise.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

extern const nbi_rnn_pointwise nbi_rnn_pointwise_baseline;
#if NB_HAVE_X86_ISAS
extern const nbi_rnn_pointwise nbi_rnn_pointwise_avx2;
extern const nbi_rnn_pointwise nbi_rnn_pointwise_avx512;
#endif

/* The same instruction set as the elementwise kernels (elementwise_dispatch.c
 * made the choice and checked the CPU). */
const nbi_rnn_pointwise *nbi_rnn_pointwise_table(void)
{
#if NB_HAVE_X86_ISAS
    const char *isa = nbi_elementwise_isa();
    if (strcmp(isa, "avx512") == 0) return &nbi_rnn_pointwise_avx512;
    if (strcmp(isa, "avx2") == 0) return &nbi_rnn_pointwise_avx2;
#endif
    return &nbi_rnn_pointwise_baseline;
}

/* C (m x n) = alpha op(A) op(B) + beta C in dtype. */
static nb_status gemm(nb_dtype dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                      const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c, int64_t ldc)
{
    if (m == 0 || n == 0) return NB_OK;
    if (dtype == NB_FLOAT32)
        return nbi_gemm_f32(trans_a, trans_b, m, n, k, (float)alpha, a, lda, b, ldb, (float)beta, c, ldc);
    return nbi_gemm_f64(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* rows (R, C) += bias_a + bias_b, each (C) or NULL; bias_b only on its
 * first b_columns columns (GRU: b_hh's n part is added per step). The two
 * are summed once into a row, then added to every row (vectorized). */
static nb_status add_biases(nb_dtype dtype, void *rows, int64_t R, int64_t C, const void *bias_a,
                            const void *bias_b, int64_t b_columns)
{
    if (bias_a == NULL && bias_b == NULL) return NB_OK;
    size_t item = nb_dtype_size(dtype);
    void  *sum  = malloc((size_t)C * item + 1);
    if (sum == NULL) return nbi_fail_status(NB_ERR_OOM, "out of memory for the recurrent step's scratch");
    if (dtype == NB_FLOAT32) {
        const float *ba = bias_a, *bb = bias_b;
        float       *b  = sum, *x = rows;
        for (int64_t j = 0; j < C; j++)
            b[j] = (ba ? ba[j] : 0.0f) + (bb && j < b_columns ? bb[j] : 0.0f);
        for (int64_t r = 0; r < R; r++, x += C)
            for (int64_t j = 0; j < C; j++)
                x[j] += b[j];
    } else {
        const double *ba = bias_a, *bb = bias_b;
        double       *b  = sum, *x = rows;
        for (int64_t j = 0; j < C; j++)
            b[j] = (ba ? ba[j] : 0.0) + (bb && j < b_columns ? bb[j] : 0.0);
        for (int64_t r = 0; r < R; r++, x += C)
            for (int64_t j = 0; j < C; j++)
                x[j] += b[j];
    }
    free(sum);
    return NB_OK;
}

/* sums (C) = the column sums of rows (R, C), row by row. */
static void column_sums(nb_dtype dtype, const void *rows, int64_t R, int64_t C, void *sums)
{
    if (dtype == NB_FLOAT32) {
        const float *x = rows;
        float       *s = sums;
        memset(s, 0, (size_t)C * sizeof *s);
        for (int64_t r = 0; r < R; r++, x += C)
            for (int64_t j = 0; j < C; j++)
                s[j] += x[j];
    } else {
        const double *x = rows;
        double       *s = sums;
        memset(s, 0, (size_t)C * sizeof *s);
        for (int64_t r = 0; r < R; r++, x += C)
            for (int64_t j = 0; j < C; j++)
                s[j] += x[j];
    }
}

/* grad_w (GH, K) = d^T v over R rows: d (R, GH), v (R, K). Computed as its
 * transpose v^T d (K, GH) and transposed back: with GH the long side as
 * the product's rows of B, the GEMM runs ~1.5x faster on these shapes
 * (K = 28 or 128 against GH = 512, R = T*B in the thousands). */
static nb_status weight_grad(nb_dtype dtype, int64_t R, int64_t GH, int64_t K, const void *d, const void *v,
                             void *grad_w)
{
    size_t item = nb_dtype_size(dtype);
    char  *t    = malloc((size_t)(K * GH) * item + 1);
    if (t == NULL) return nbi_fail_status(NB_ERR_OOM, "out of memory for a weight gradient's scratch");
    nb_status status = gemm(dtype, true, false, K, GH, R, 1, v, K, d, GH, 0, t, GH);
    if (status == NB_OK && dtype == NB_FLOAT32) {
        const float *src = (const float *)(const void *)t;
        float       *dst = grad_w;
        for (int64_t j = 0; j < GH; j++)
            for (int64_t k = 0; k < K; k++)
                dst[j * K + k] = src[k * GH + j];
    } else if (status == NB_OK) {
        const double *src = (const double *)(const void *)t;
        double       *dst = grad_w;
        for (int64_t j = 0; j < GH; j++)
            for (int64_t k = 0; k < K; k++)
                dst[j * K + k] = src[k * GH + j];
    }
    free(t);
    return status;
}

/* The time index of the s-th step run, and the state rows it reads and
 * writes (rnn_args.h). */
static int64_t step_time(const nbi_rnn_shape *s, int64_t step) { return s->reverse ? s->steps - 1 - step : step; }
static int64_t row_in(const nbi_rnn_shape *s, int64_t t) { return s->reverse ? t + 1 : t; }
static int64_t row_out(const nbi_rnn_shape *s, int64_t t) { return s->reverse ? t : t + 1; }

static void mark_active(const nbi_rnn_shape *s, int64_t t, uint8_t *active)
{
    for (int64_t b = 0; b < s->batch; b++)
        active[b] = s->lengths == NULL || t < s->lengths[b];
}

nb_status nbi_cpu_rnn_forward(const nbi_rnn_shape *s, const nbi_rnn_arrays *a)
{
    const nbi_rnn_pointwise *pw = nbi_rnn_pointwise_table();
    int     k = s->dtype == NB_FLOAT64, gru = s->cell == NBI_RNN_GRU, lstm = s->cell == NBI_RNN_LSTM;
    int64_t T = s->steps, B = s->batch, I = s->input, H = s->hidden, GH = nbi_rnn_gates(s->cell) * H;
    size_t  item = nb_dtype_size(s->dtype), state = (size_t)(B * H) * item, gate_rows = (size_t)(B * GH) * item;
    char   *gates = a->gates, *states_h = a->states_h, *states_c = a->states_c, *out = a->out, *hn = a->hn;

    uint8_t *active = malloc((size_t)B + 1);
    void    *hp     = gru ? malloc(gate_rows + 1) : NULL;
    if (active == NULL || (gru && hp == NULL)) {
        free(active);
        free(hp);
        return nbi_fail_status(NB_ERR_OOM, "out of memory for the recurrent step's scratch");
    }
    /* gates (T*B, G*H) = x W_ih^T + b_ih + b_hh (GRU: b_hh's r and z parts). */
    nb_status status = gemm(s->dtype, false, true, T * B, GH, I, 1, a->x, I, a->w_ih, I, 0, gates, GH);
    if (status == NB_OK) status = add_biases(s->dtype, gates, T * B, GH, a->b_ih, a->b_hh, gru ? 2 * H : GH);
    const char *b_hn = gru && a->b_hh ? (const char *)a->b_hh + (size_t)(2 * H) * item : NULL;
    memcpy(states_h + (size_t)row_in(s, step_time(s, 0)) * state, a->h0, state);
    if (lstm) memcpy(states_c + (size_t)row_in(s, step_time(s, 0)) * state, a->c0, state);
    for (int64_t step = 0; step < T && status == NB_OK; step++) {
        int64_t t = step_time(s, step);
        char   *g = gates + (size_t)t * gate_rows, *h_in = states_h + (size_t)row_in(s, t) * state;
        char   *h_out = states_h + (size_t)row_out(s, t) * state, *o = out + (size_t)t * state;
        mark_active(s, t, active);
        /* The hidden side: into the gate rows, except GRU's (scratch). */
        status = gemm(s->dtype, false, true, B, GH, H, 1, h_in, H, a->w_hh, H, gru ? 0 : 1, gru ? hp : g, GH);
        if (status != NB_OK) break;
        switch (s->cell) {
        case NBI_RNN_TANH:
        case NBI_RNN_RELU: pw->simple_forward[k](B, H, active, s->cell == NBI_RNN_RELU, g, h_in, h_out, o); break;
        case NBI_RNN_LSTM:
            pw->lstm_forward[k](B, H, active, g, h_in, states_c + (size_t)row_in(s, t) * state, h_out,
                                states_c + (size_t)row_out(s, t) * state, o);
            break;
        case NBI_RNN_GRU:
            pw->gru_forward[k](B, H, active, g, hp, b_hn, h_in, h_out, o, hn + (size_t)t * state);
            break;
        default: break;
        }
    }
    free(active);
    free(hp);
    return status;
}

nb_status nbi_cpu_rnn_backward(const nbi_rnn_shape *s, const nbi_rnn_arrays *a, const nbi_rnn_grads *d)
{
    const nbi_rnn_pointwise *pw = nbi_rnn_pointwise_table();
    int     k = s->dtype == NB_FLOAT64, gru = s->cell == NBI_RNN_GRU, lstm = s->cell == NBI_RNN_LSTM;
    int64_t T = s->steps, B = s->batch, I = s->input, H = s->hidden, GH = nbi_rnn_gates(s->cell) * H;
    size_t  item = nb_dtype_size(s->dtype), state = (size_t)(B * H) * item, gate_rows = (size_t)(B * GH) * item;
    const char *gates = a->gates, *states_h = a->states_h, *states_c = a->states_c, *hn = a->hn;
    const char *g_out = d->grad_out;
    char       *d_gates = d->scratch_gates, *d_hidden = gru ? d->scratch_hidden : d->scratch_gates;

    uint8_t *active = malloc((size_t)B + 1);
    char    *dh = malloc(2 * state + 1), *dc = dh + state;
    if (active == NULL || dh == NULL) {
        free(active);
        free(dh);
        return nbi_fail_status(NB_ERR_OOM, "out of memory for the recurrent step's scratch");
    }
    memcpy(dh, d->grad_h_n, state);
    if (lstm) memcpy(dc, d->grad_c_n, state);
    nb_status status = NB_OK;
    for (int64_t step = T - 1; step >= 0 && status == NB_OK; step--) {
        int64_t     t  = step_time(s, step);
        const char *g  = gates + (size_t)t * gate_rows, *go = g_out + (size_t)t * state;
        const char *hi = states_h + (size_t)row_in(s, t) * state;
        char       *dg = d_gates + (size_t)t * gate_rows, *dhid = d_hidden + (size_t)t * gate_rows;
        mark_active(s, t, active);
        switch (s->cell) {
        case NBI_RNN_TANH:
        case NBI_RNN_RELU: pw->simple_backward[k](B, H, active, s->cell == NBI_RNN_RELU, g, go, dh, dg); break;
        case NBI_RNN_LSTM:
            pw->lstm_backward[k](B, H, active, g, states_c + (size_t)row_in(s, t) * state,
                                 states_c + (size_t)row_out(s, t) * state, go, dh, dc, dg);
            break;
        case NBI_RNN_GRU: pw->gru_backward[k](B, H, active, g, hn + (size_t)t * state, hi, go, dh, dg, dhid); break;
        default: break;
        }
        /* dh of the state before the step += d(hidden side) W_hh; inactive
         * rows add zeros and keep dh as it was. */
        status = gemm(s->dtype, false, false, B, H, GH, 1, dhid, GH, a->w_hh, H, 1, dh, H);
    }
    if (status == NB_OK && d->grad_h0) memcpy(d->grad_h0, dh, state);
    if (status == NB_OK && lstm && d->grad_c0) memcpy(d->grad_c0, dc, state);
    if (status == NB_OK && d->grad_x)
        status = gemm(s->dtype, false, false, T * B, I, GH, 1, d_gates, GH, a->w_ih, I, 0, d->grad_x, I);
    if (status == NB_OK && d->grad_w_ih) status = weight_grad(s->dtype, T * B, GH, I, d_gates, a->x, d->grad_w_ih);
    /* The states read by the steps: one block of T*B rows (rnn_args.h). */
    const char *h_read = states_h + (s->reverse ? state : 0);
    if (status == NB_OK && d->grad_w_hh) status = weight_grad(s->dtype, T * B, GH, H, d_hidden, h_read, d->grad_w_hh);
    if (status == NB_OK && d->grad_b_ih) column_sums(s->dtype, d_gates, T * B, GH, d->grad_b_ih);
    /* Without GRU's separate hidden side both bias gradients are one sum. */
    if (status == NB_OK && d->grad_b_hh && d->grad_b_ih && !gru)
        memcpy(d->grad_b_hh, d->grad_b_ih, (size_t)GH * item);
    else if (status == NB_OK && d->grad_b_hh)
        column_sums(s->dtype, d_hidden, T * B, GH, d->grad_b_hh);
    free(active);
    free(dh);
    return status;
}
