/*
 * rnn_composite.c — the backward of the fused recurrent sequence
 * (rnn_fused.c) written with public ops, for create_graph: the forward is
 * recomputed step by step from the node's saved inputs (which carry their
 * history), then the gradients run back through time with the same
 * formulas as cpu/rnn_pointwise.inc, every op recorded, so that a second
 * backward differentiates them (torch's CPU LSTM is made of ops too, and
 * has second derivatives).
 *
 * Masks: with lengths, m_t (B, 1) is 1 where row b takes step t, and the
 * state after the step is m h_new + (1 - m) h_in; the output is m h_new.
 *
 * Letters as in core/rnn_args.h.
 */
#include "nn/rnn_internal.h"

#include <stdlib.h>

/* What the backward needs of one step (tensors in the formula's scope). */
typedef struct {
    nb_tensor *mask;          /* (B, 1) or NULL: all active */
    nb_tensor *h_in, *c_in;   /* the state read */
    nb_tensor *a, *b, *c, *d; /* LSTM i, f, g, o; GRU r, z, n, W_hn h + b_hn; RNN h_new */
    nb_tensor *c_new;         /* LSTM */
} step_values;

static nb_tensor *blend(nb_tensor *mask, nb_tensor *taken, nb_tensor *kept)
{
    return mask ? nb_add(nb_mul(mask, taken), nb_mul(nb_rsub_scalar(mask, 1.0), kept)) : taken;
}

static nb_tensor *masked(nb_tensor *mask, nb_tensor *g) { return mask ? nb_mul(mask, g) : g; }

/* 1 - t */
static nb_tensor *one_minus(nb_tensor *t) { return nb_rsub_scalar(t, 1.0); }

/* s (1 - s): the derivative of a sigmoid from its value. */
static nb_tensor *sigmoid_slope(nb_tensor *s) { return nb_mul(s, one_minus(s)); }

/* x (T, B, I) -> steps[t] for every t; returns false on error. */
static bool recompute(nbi_rnn_cell cell, nb_tensor *x, nb_tensor *h0, nb_tensor *c0, nb_tensor *w_ih,
                      nb_tensor *w_hh, nb_tensor *b_ih, nb_tensor *b_hh, const int64_t *lengths, bool reverse,
                      step_values *steps)
{
    int64_t    T = x->shape[0], B = x->shape[1], H = w_hh->shape[1];
    nb_tensor *xp = nb_linear(x, w_ih, b_ih);
    nb_tensor *h = h0, *c = c0;
    if (xp == NULL) return false;
    for (int64_t s = 0; s < T; s++) {
        int64_t      t = reverse ? T - 1 - s : s;
        step_values *v = &steps[t];
        *v             = (step_values){ .h_in = h, .c_in = c };
        if (lengths) {
            double *m = malloc((size_t)B * sizeof *m + 1);
            if (m == NULL) return nbi_fail_status(NB_ERR_OOM, "nb_rnn: out of memory"), false;
            for (int64_t b = 0; b < B; b++)
                m[b] = t < lengths[b];
            v->mask = nb_to_dtype(nb_from_data(m, NB_SHAPE(B, 1), NB_OPTS(.dtype = NB_FLOAT64)), x->dtype);
            free(m);
            if (v->mask == NULL) return false;
        }
        nb_tensor *xt = nb_select(xp, 0, t), *hp = nb_linear(h, w_hh, b_hh), *h_new;
        if (cell == NBI_RNN_LSTM) {
            nb_tensor *gates = nb_add(xt, hp);
            v->a     = nb_sigmoid(nb_narrow(gates, 1, 0, H));
            v->b     = nb_sigmoid(nb_narrow(gates, 1, H, H));
            v->c     = nb_tanh(nb_narrow(gates, 1, 2 * H, H));
            v->d     = nb_sigmoid(nb_narrow(gates, 1, 3 * H, H));
            v->c_new = nb_add(nb_mul(v->b, c), nb_mul(v->a, v->c));
            h_new    = nb_mul(v->d, nb_tanh(v->c_new));
            c        = blend(v->mask, v->c_new, c);
        } else if (cell == NBI_RNN_GRU) {
            v->a  = nb_sigmoid(nb_add(nb_narrow(xt, 1, 0, H), nb_narrow(hp, 1, 0, H)));
            v->b  = nb_sigmoid(nb_add(nb_narrow(xt, 1, H, H), nb_narrow(hp, 1, H, H)));
            v->d  = nb_narrow(hp, 1, 2 * H, H);
            v->c  = nb_tanh(nb_add(nb_narrow(xt, 1, 2 * H, H), nb_mul(v->a, v->d)));
            h_new = nb_add(nb_mul(one_minus(v->b), v->c), nb_mul(v->b, h));
        } else {
            nb_tensor *pre = nb_add(xt, hp);
            h_new = v->a = cell == NBI_RNN_RELU ? nb_relu(pre) : nb_tanh(pre);
        }
        h = blend(v->mask, h_new, h);
        if (h == NULL || (cell == NBI_RNN_LSTM && c == NULL)) return false;
    }
    return true;
}

/* One step back: the pre-activation gradients of the input side (*d_in)
 * and the hidden side (*d_hid; the same tensor but for GRU), *dc updated
 * (LSTM); returns the gradient of the state before the step. */
static nb_tensor *step_back(nbi_rnn_cell cell, const step_values *v, nb_tensor *w_hh, nb_tensor *dh,
                            nb_tensor *g_out, nb_tensor **dc, nb_tensor **d_in, nb_tensor **d_hid)
{
    nb_tensor *dh_new  = masked(v->mask, nb_add(dh, g_out));
    nb_tensor *dh_kept = v->mask ? nb_mul(one_minus(v->mask), dh) : NULL;
    nb_tensor *direct  = NULL; /* GRU: z dh_new */
    if (cell == NBI_RNN_LSTM) {
        nb_tensor *tc       = nb_tanh(v->c_new);
        nb_tensor *dcn      = nb_add(masked(v->mask, *dc), nb_mul(nb_mul(dh_new, v->d), one_minus(nb_mul(tc, tc))));
        nb_tensor *parts[4] = { nb_mul(nb_mul(dcn, v->c), sigmoid_slope(v->a)),
                                nb_mul(nb_mul(dcn, v->c_in), sigmoid_slope(v->b)),
                                nb_mul(nb_mul(dcn, v->a), one_minus(nb_mul(v->c, v->c))),
                                nb_mul(nb_mul(dh_new, tc), sigmoid_slope(v->d)) };
        *d_in = *d_hid     = nb_cat(parts, 4, 1);
        nb_tensor *dc_prev = nb_mul(dcn, v->b);
        *dc                = v->mask ? nb_add(dc_prev, nb_mul(one_minus(v->mask), *dc)) : dc_prev;
    } else if (cell == NBI_RNN_GRU) {
        nb_tensor *dpn = nb_mul(nb_mul(dh_new, one_minus(v->b)), one_minus(nb_mul(v->c, v->c)));
        nb_tensor *dpr = nb_mul(nb_mul(dpn, v->d), sigmoid_slope(v->a));
        nb_tensor *dpz = nb_mul(nb_mul(dh_new, nb_sub(v->h_in, v->c)), sigmoid_slope(v->b));
        nb_tensor *in_parts[3] = { dpr, dpz, dpn }, *hid_parts[3] = { dpr, dpz, nb_mul(dpn, v->a) };
        *d_in  = nb_cat(in_parts, 3, 1);
        *d_hid = nb_cat(hid_parts, 3, 1);
        direct = nb_mul(dh_new, v->b);
    } else {
        /* relu: the slope is a constant mask, as torch's threshold_backward */
        nb_tensor *slope = cell == NBI_RNN_RELU ? nb_to_dtype(nb_gt_scalar(v->a, 0.0), v->a->dtype)
                                                : one_minus(nb_mul(v->a, v->a));
        *d_in = *d_hid = nb_mul(dh_new, slope);
    }
    nb_tensor *dh_prev = nb_matmul(*d_hid, w_hh);
    if (direct) dh_prev = nb_add(dh_prev, direct);
    if (dh_kept) dh_prev = nb_add(dh_prev, dh_kept);
    return dh_prev;
}

nb_status nbf_rnn_sequence_backward_composite(nbi_rnn_cell cell, nb_tensor *x, nb_tensor *h0, nb_tensor *c0,
                                              nb_tensor *w_ih, nb_tensor *w_hh, nb_tensor *b_ih, nb_tensor *b_hh,
                                              const int64_t *lengths, bool reverse, nb_tensor *grad_out,
                                              nb_tensor *grad_h_n, nb_tensor *grad_c_n, nb_tensor **grads)
{
    int64_t      T = x->shape[0], B = x->shape[1], I = x->shape[2], H = w_hh->shape[1], GH = w_hh->shape[0];
    step_values *steps  = calloc((size_t)T, sizeof *steps);
    nb_tensor  **d_in   = calloc((size_t)T, sizeof *d_in), **d_hid = calloc((size_t)T, sizeof *d_hid);
    nb_tensor  **h_read = calloc((size_t)T, sizeof *h_read);
    nb_status    status = NB_OK;
    if (steps == NULL || d_in == NULL || d_hid == NULL || h_read == NULL) {
        status = nbi_fail_status(NB_ERR_OOM, "nb_rnn: out of memory");
        goto done;
    }
    if (!recompute(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse, steps)) {
        status = nb_last_status();
        goto done;
    }
    nb_tensor *dh = grad_h_n, *dc = grad_c_n;
    for (int64_t s = T - 1; s >= 0; s--) {
        int64_t t = reverse ? T - 1 - s : s;
        h_read[t] = steps[t].h_in;
        dh        = step_back(cell, &steps[t], w_hh, dh, nb_select(grad_out, 0, t), &dc, &d_in[t], &d_hid[t]);
        if (dh == NULL || (cell == NBI_RNN_LSTM && dc == NULL)) {
            status = nb_last_status();
            goto done;
        }
    }
    /* The sums over steps as single products, as the fused backward does. */
    nb_tensor *dgi = nb_reshape(nb_stack(d_in, (int)T, 0), NB_SHAPE(T * B, GH));
    nb_tensor *dgh = nb_reshape(nb_stack(d_hid, (int)T, 0), NB_SHAPE(T * B, GH));
    nb_tensor *hr  = nb_reshape(nb_stack(h_read, (int)T, 0), NB_SHAPE(T * B, H));
    grads[0]       = nb_reshape(nb_matmul(dgi, w_ih), NB_SHAPE(T, B, I));
    grads[1]       = dh;
    grads[2]       = c0 ? dc : NULL;
    grads[3]       = nb_matmul(nb_transpose(dgi, 0, 1), nb_reshape(x, NB_SHAPE(T * B, I)));
    grads[4]       = nb_matmul(nb_transpose(dgh, 0, 1), hr);
    grads[5]       = b_ih ? nb_sum_dims(dgi, NB_DIMS(0), false) : NULL;
    grads[6]       = b_hh ? nb_sum_dims(dgh, NB_DIMS(0), false) : NULL;
    if (grads[0] == NULL || grads[3] == NULL || grads[4] == NULL || (b_ih && (grads[5] == NULL || grads[6] == NULL)))
        status = nb_last_status();
done:
    free(steps);
    free(d_in);
    free(d_hid);
    free(h_read);
    return status;
}
