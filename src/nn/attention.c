/*
 * attention.c — scaled dot-product attention as PyTorch 2.x documents
 * torch.nn.functional.scaled_dot_product_attention:
 *
 *   out = dropout(softmax(scale q k^T + bias), p) v
 *
 * with bias -inf where a bool mask is false or the causal rule forbids
 * (query i sees keys j <= i), or a float mask added. Two paths:
 *
 * - the composite (nb_scaled_dot_product_attention_composite): public ops,
 *   so autograd differentiates it, twice if asked. It stores the (L, S)
 *   scores of every head. It is the reference the fused path is tested
 *   against.
 * - the fused path: the device's attention entries (core/attention_args.h;
 *   the CPU's are cpu/attention_kernels.c), tiles with an online softmax,
 *   saving the output and each row's log-sum-exp. Its backward
 *   (ScaledDotProductFlashAttentionForCpuBackward0, below) recomputes the
 *   tiles. Under create_graph the backward runs the composite's gradient
 *   formulas as public ops instead, so a double backward works.
 *
 * nb_scaled_dot_product_attention takes the fused path when no dropout is
 * active (the composite draws dropout's mask with nb_dropout; the kernel
 * would have to draw the same stream), q, k and v share their batch dims
 * (no broadcasting), a float mask needs no gradient, no size is 0, and the
 * device has the kernels; else the composite.
 *
 * Letters: L query positions, S key positions, E q/k width, V v width.
 */
#include "core/backend.h"
#include "nn/attention.h"
#include "nn/functional_args.h"

#include <math.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* Front-door checks                                                         */
/* ------------------------------------------------------------------------ */

/* q (..., L, E), k (..., S, E), v (..., S, V): same floating dtype and
 * device, batch dims that broadcast, and a mask (bool, or of q's dtype)
 * that broadcasts to the scores (batch..., L, S) without growing them. */
static bool check_attention(const char *op, const nb_tensor *q, const nb_tensor *k, const nb_tensor *v,
                            const nb_tensor *mask, double dropout_p, bool is_causal)
{
    if (!nbf_check_float(q, op, "query") || !nbf_check_float(k, op, "key") || !nbf_check_float(v, op, "value"))
        return false;
    if (mask != NULL && !nbi_check_tensor(mask, op, "attn_mask")) return false;
    const nb_tensor         *tensors[4] = { q, k, v, mask };
    static const char *const names[4]   = { "query", "key", "value", "attn_mask" };
    if (!nbi_check_device(op, mask ? 4 : 3, tensors, names)) return false;
    if (k->dtype != q->dtype || v->dtype != q->dtype) {
        nbi_fail(NB_ERR_DTYPE, "%s: query, key and value must have the same dtype (got %s, %s, %s)", op,
                 nb_dtype_name(q->dtype), nb_dtype_name(k->dtype), nb_dtype_name(v->dtype));
        return false;
    }
    char qs[NBI_SHAPE_STR_SIZE], ks[NBI_SHAPE_STR_SIZE], vs[NBI_SHAPE_STR_SIZE];
    nbi_shape_str(q->ndim, q->shape, qs, sizeof qs);
    nbi_shape_str(k->ndim, k->shape, ks, sizeof ks);
    nbi_shape_str(v->ndim, v->shape, vs, sizeof vs);
    if (q->ndim < 2 || k->ndim < 2 || v->ndim < 2) {
        nbi_fail(NB_ERR_SHAPE, "%s: query, key and value need at least 2 dims (..., seq, features); got %s, %s, %s",
                 op, qs, ks, vs);
        return false;
    }
    if (q->shape[q->ndim - 1] != k->shape[k->ndim - 1] || k->shape[k->ndim - 2] != v->shape[v->ndim - 2]) {
        nbi_fail(NB_ERR_SHAPE,
                 "%s: query %s, key %s and value %s do not fit: need query (..., L, E), key (..., S, E), "
                 "value (..., S, V)",
                 op, qs, ks, vs);
        return false;
    }
    int64_t batch[NB_MAX_DIMS], qk[NB_MAX_DIMS];
    int     nb = 0, nqk = 0;
    if (!nbi_broadcast(q->ndim - 2, q->shape, k->ndim - 2, k->shape, &nqk, qk, op) ||
        !nbi_broadcast(nqk, qk, v->ndim - 2, v->shape, &nb, batch, op)) {
        nbi_fail(NB_ERR_SHAPE, "%s: the batch dims of query %s, key %s and value %s do not broadcast", op, qs, ks, vs);
        return false;
    }
    if (mask != NULL) {
        if (mask->dtype != NB_BOOL && mask->dtype != q->dtype) {
            nbi_fail(NB_ERR_DTYPE, "%s: attn_mask must be bool or of the query's dtype %s, got %s", op,
                     nb_dtype_name(q->dtype), nb_dtype_name(mask->dtype));
            return false;
        }
        int64_t scores[NB_MAX_DIMS], joined[NB_MAX_DIMS];
        int     ns = nb + 2, nj = 0;
        for (int d = 0; d < nb; d++)
            scores[d] = batch[d];
        scores[nb]     = q->shape[q->ndim - 2];
        scores[nb + 1] = k->shape[k->ndim - 2];
        bool fits      = nbi_broadcast(ns, scores, mask->ndim, mask->shape, &nj, joined, op) && nj == ns;
        for (int d = 0; fits && d < ns; d++)
            fits = joined[d] == scores[d];
        if (!fits) {
            char ms[NBI_SHAPE_STR_SIZE], ss[NBI_SHAPE_STR_SIZE];
            nbi_fail(NB_ERR_SHAPE, "%s: attn_mask of shape %s does not broadcast to the scores' shape %s", op,
                     nbi_shape_str(mask->ndim, mask->shape, ms, sizeof ms), nbi_shape_str(ns, scores, ss, sizeof ss));
            return false;
        }
    }
    if (mask != NULL && is_causal) {
        nbi_fail(NB_ERR_ARG, "%s: attn_mask must be NULL when is_causal is true (as torch)", op);
        return false;
    }
    if (!(dropout_p >= 0.0 && dropout_p <= 1.0)) {
        nbi_fail(NB_ERR_ARG, "%s: dropout_p must be in [0, 1], got %g", op, dropout_p);
        return false;
    }
    return true;
}

/* The scale the op uses: 1/sqrt(E) for 0 (the default). */
static double effective_scale(const nb_tensor *q, double scale)
{
    return scale != 0.0 ? scale : 1.0 / sqrt((double)q->shape[q->ndim - 1]);
}

/* ------------------------------------------------------------------------ */
/* The composite                                                             */
/* ------------------------------------------------------------------------ */

/* scale q k^T with the mask and the causal rule applied: (batch..., L, S).
 * Recorded ops, in the current scope. */
static nb_tensor *masked_scores(const nb_tensor *q, const nb_tensor *k, const nb_tensor *mask, bool is_causal,
                                double scale)
{
    nb_tensor *scores = nb_mul_scalar(nb_matmul(q, nb_transpose(k, -2, -1)), scale);
    if (is_causal) {
        int64_t    L       = q->shape[q->ndim - 2], S = k->shape[k->ndim - 2];
        nb_tensor *allowed = nb_tril(nb_ones(NB_SHAPE(L, S), NB_OPTS(.dtype = NB_BOOL, .device = q->storage->device)), 0);
        scores             = nb_masked_fill(scores, nb_logical_not(allowed), -INFINITY);
    } else if (mask != NULL && mask->dtype == NB_BOOL) {
        scores = nb_masked_fill(scores, nb_logical_not(mask), -INFINITY);
    } else if (mask != NULL) {
        scores = nb_add(scores, mask);
    }
    return scores;
}

nb_tensor *nbf_attention_composite(const nb_tensor *q, const nb_tensor *k, const nb_tensor *v, const nb_tensor *mask,
                                   double dropout_p, bool is_causal, double scale, nb_tensor **weights)
{
    if (nb_scope_begin() != NB_OK) return NULL;
    nb_tensor *probs = nb_softmax(masked_scores(q, k, mask, is_causal, scale), -1);
    if (dropout_p > 0) probs = nb_dropout(probs, dropout_p, true);
    nb_tensor *out = nb_keep(nb_matmul(probs, v));
    if (weights != NULL) *weights = out ? nb_keep(probs) : NULL;
    nb_scope_end();
    return out;
}

nb_tensor *nb_scaled_dot_product_attention_composite(const nb_tensor *query, const nb_tensor *key,
                                                     const nb_tensor *value, const nb_tensor *attn_mask,
                                                     double dropout_p, bool is_causal, double scale)
{
    const char *op = "nb_scaled_dot_product_attention_composite";
    if (!check_attention(op, query, key, value, attn_mask, dropout_p, is_causal)) return NULL;
    return nbf_attention_composite(query, key, value, attn_mask, dropout_p, is_causal,
                                   effective_scale(query, scale), NULL);
}

/* ------------------------------------------------------------------------ */
/* The fused path                                                            */
/* ------------------------------------------------------------------------ */

typedef struct {
    double scale;
    bool   causal;
} fused_params;

/* Whether the fused kernels take these (checked) arguments. */
static bool fused_applies(const nb_tensor *q, const nb_tensor *k, const nb_tensor *v, const nb_tensor *mask,
                          double dropout_p)
{
    if (dropout_p > 0 || q->ndim != k->ndim || q->ndim != v->ndim) return false;
    if (mask != NULL && nbi_grad_enabled() && nbi_takes_grad(mask)) return false;
    for (int d = 0; d < q->ndim - 2; d++)
        if (q->shape[d] != k->shape[d] || q->shape[d] != v->shape[d]) return false;
    if (nb_numel(q) == 0 || nb_numel(k) == 0 || nb_numel(v) == 0) return false;
    const nbi_backend *backend = nbi_backend_of(q);
    return backend->attention_forward != NULL && backend->supports(NBI_FAMILY_ATTENTION, 0, q->dtype);
}

/* A contiguous tensor with t's values, made without recording; in the
 * current scope (t itself as a new handle when already contiguous). */
static nb_tensor *contiguous_values(const nb_tensor *t)
{
    nbi_grad_mode_push(false);
    nb_tensor *c = nb_contiguous(t);
    nbi_grad_mode_pop();
    return c;
}

/* The kernels' view of the arguments; *offsets (host, batch entries, to
 * free) locates the mask of each batch entry. false on OOM. */
static bool fused_shape(const nb_tensor *q, const nb_tensor *k, const nb_tensor *v, const nb_tensor *mask,
                        const fused_params *params, nbi_attention_shape *s, int64_t **offsets)
{
    int nb = q->ndim - 2;
    *s = (nbi_attention_shape){ .device = q->storage->device.index, .dtype = q->dtype, .batch = 1,
                                .q_len = q->shape[nb], .kv_len = k->shape[nb], .qk_dim = q->shape[nb + 1],
                                .v_dim = v->shape[nb + 1], .scale = params->scale, .causal = params->causal };
    for (int d = 0; d < nb; d++)
        s->batch *= q->shape[d];
    *offsets = NULL;
    if (mask == NULL) return true;
    /* The mask's strides over the scores' dims (0 where it broadcasts). */
    int64_t stride[NB_MAX_DIMS];
    for (int d = 0; d < nb + 2; d++) {
        int md    = d - (nb + 2 - mask->ndim);
        stride[d] = md >= 0 && mask->shape[md] != 1 ? mask->stride[md] : 0;
    }
    *offsets = malloc((size_t)s->batch * sizeof(int64_t));
    if (*offsets == NULL) return false;
    for (int64_t b = 0; b < s->batch; b++) {
        int64_t rest = b, at = 0;
        for (int d = nb - 1; d >= 0; d--) {
            at += rest % q->shape[d] * stride[d];
            rest /= q->shape[d];
        }
        (*offsets)[b] = at;
    }
    s->mask_kind         = mask->dtype == NB_BOOL ? NBI_ATTENTION_MASK_BOOL : NBI_ATTENTION_MASK_ADDITIVE;
    s->mask              = nbi_ptr(mask);
    s->mask_batch_offset = *offsets;
    s->mask_row_stride   = stride[nb];
    s->mask_col_stride   = stride[nb + 1];
    return true;
}

/* What the node keeps beyond q, k, v, the mask and the output. */
typedef struct {
    nb_tensor   *lse; /* (batch..., L), unscoped */
    fused_params params;
} fused_saved;

static void fused_saved_free(void *state)
{
    fused_saved *saved = state;
    nb_free(saved->lse);
    free(saved);
}

/* Under create_graph: the composite's gradient, as recorded ops.
 *   P = softmax(scores), dV = P^T g, dP = g V^T,
 *   dS = P (dP - rowsum(dP P)), dQ = scale dS K, dK = scale dS^T Q */
static nb_status fused_backward_composite(nbi_node *node, const fused_params *params, nb_tensor *g,
                                          nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *q = nbi_input(node, 0), *k = nbi_input(node, 1), *v = nbi_input(node, 2), *mask = nbi_input(node, 3);
    nb_tensor *probs  = nb_softmax(masked_scores(q, k, mask, params->causal, params->scale), -1);
    nb_tensor *dprobs = nb_matmul(g, nb_transpose(v, -2, -1));
    nb_tensor *dscores =
        nb_mul(probs, nb_sub(dprobs, nb_sum_dims(nb_mul(dprobs, probs), NB_DIMS(-1), true)));
    nb_status status = NB_OK;
    if (nbi_input_needs_grad(node, 0))
        status = nbi_keep_grad(nb_mul_scalar(nb_matmul(dscores, k), params->scale), &grad_inputs[0]);
    if (status == NB_OK && nbi_input_needs_grad(node, 1))
        status = nbi_keep_grad(nb_mul_scalar(nb_matmul(nb_transpose(dscores, -2, -1), q), params->scale),
                               &grad_inputs[1]);
    if (status == NB_OK && nbi_input_needs_grad(node, 2))
        status = nbi_keep_grad(nb_matmul(nb_transpose(probs, -2, -1), g), &grad_inputs[2]);
    NBI_FORMULA_END(status);
}

/* inputs (q, k, v, mask or NULL); the saved output; node->state the
 * fused_saved. */
static nb_status fused_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    const char        *op    = "ScaledDotProductFlashAttentionForCpuBackward0";
    const fused_saved *saved = node->state;
    if (nbi_grad_enabled()) return fused_backward_composite(node, &saved->params, g, grad_inputs);
    nb_tensor *q = nbi_input(node, 0), *k = nbi_input(node, 1), *v = nbi_input(node, 2), *mask = nbi_input(node, 3);
    const nb_tensor         *tensors[2] = { q, g };
    static const char *const names[2]   = { "query", "grad_output" };
    if (!nbi_check_device(op, 2, tensors, names)) return nb_last_status();
    nbi_attention_shape s;
    int64_t            *offsets = NULL;
    if (!fused_shape(q, k, v, mask, &saved->params, &s, &offsets)) return nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    nb_status status = nb_scope_begin();
    if (status != NB_OK) {
        free(offsets);
        return status;
    }
    nb_tensor *qc = contiguous_values(q), *kc = contiguous_values(k), *vc = contiguous_values(v);
    nb_tensor *oc = contiguous_values(nbi_saved_output(node)), *gc = contiguous_values(g);
    nb_tensor *dq = nbi_empty(q->ndim, q->shape, q->dtype, q->storage->device);
    nb_tensor *dk = nbi_empty(k->ndim, k->shape, k->dtype, k->storage->device);
    nb_tensor *dv = nbi_empty(v->ndim, v->shape, v->dtype, v->storage->device);
    if (!qc || !kc || !vc || !oc || !gc || !dq || !dk || !dv) status = nb_last_status();
    if (status == NB_OK)
        status = nbi_backend_of(q)->attention_backward(&s, nbi_ptr(qc), nbi_ptr(kc), nbi_ptr(vc), nbi_ptr(oc),
                                                      nbi_ptr(saved->lse), nbi_ptr(gc), nbi_ptr(dq), nbi_ptr(dk),
                                                      nbi_ptr(dv));
    if (status == NB_OK && nbi_input_needs_grad(node, 0)) status = nbi_keep_grad(dq, &grad_inputs[0]);
    if (status == NB_OK && nbi_input_needs_grad(node, 1)) status = nbi_keep_grad(dk, &grad_inputs[1]);
    if (status == NB_OK && nbi_input_needs_grad(node, 2)) status = nbi_keep_grad(dv, &grad_inputs[2]);
    nb_scope_end();
    free(offsets);
    return status;
}

static nb_tensor *fused_attention(const nb_tensor *q, const nb_tensor *k, const nb_tensor *v, const nb_tensor *mask,
                                  fused_params params)
{
    nbi_attention_shape s;
    int64_t            *offsets = NULL;
    if (!fused_shape(q, k, v, mask, &params, &s, &offsets))
        return nbi_fail(NB_ERR_OOM, "nb_scaled_dot_product_attention: out of memory");
    int     nb = q->ndim - 2;
    int64_t out_shape[NB_MAX_DIMS];
    for (int d = 0; d < nb + 1; d++)
        out_shape[d] = q->shape[d];
    out_shape[nb + 1] = s.v_dim;
    nb_tensor *out = NULL, *lse = NULL;
    if (nb_scope_begin() == NB_OK) {
        nb_tensor *qc = contiguous_values(q), *kc = contiguous_values(k), *vc = contiguous_values(v);
        nb_tensor *o  = nbi_empty(nb + 2, out_shape, q->dtype, q->storage->device);
        nb_tensor *l  = nbi_empty(nb + 1, out_shape, q->dtype, q->storage->device);
        if (qc && kc && vc && o && l &&
            nbi_backend_of(q)->attention_forward(&s, nbi_ptr(qc), nbi_ptr(kc), nbi_ptr(vc), nbi_ptr(o), nbi_ptr(l)) ==
                NB_OK) {
            out = nb_keep(o);
            lse = nb_keep(l);
        }
        nb_scope_end();
    }
    free(offsets);
    const nb_tensor *inputs[4] = { q, k, v, mask };
    if (out == NULL || !nbi_should_record(4, inputs)) {
        nb_free(lse);
        return out;
    }
    fused_saved *saved = malloc(sizeof *saved);
    nbi_node    *node  = saved ? nbi_record(out, "ScaledDotProductFlashAttentionForCpuBackward0", fused_backward, 4,
                                            inputs, NBI_SAVES(0) | NBI_SAVES(1) | NBI_SAVES(2) | NBI_SAVES(3))
                               : NULL;
    if (node == NULL || !nbi_save_output(node, out)) {
        free(saved);
        nb_free(lse);
        nb_free(out);
        return node ? NULL : nbi_fail(NB_ERR_OOM, "nb_scaled_dot_product_attention: out of memory");
    }
    nbi_unscope(lse);
    *saved           = (fused_saved){ .lse = lse, .params = params };
    node->state      = saved;
    node->state_free = fused_saved_free;
    return out;
}

nb_tensor *nb_scaled_dot_product_attention(const nb_tensor *query, const nb_tensor *key, const nb_tensor *value,
                                           const nb_tensor *attn_mask, double dropout_p, bool is_causal, double scale)
{
    const char *op = "nb_scaled_dot_product_attention";
    if (!check_attention(op, query, key, value, attn_mask, dropout_p, is_causal)) return NULL;
    double scaling = effective_scale(query, scale);
    if (nbi_is_half(query->dtype) && dropout_p == 0) {
        /* float16 / bfloat16: the float32 kernel on widened operands,
         * rounded once (the composite in half rounds the scores and the
         * probabilities, 0.24 for 0.13 on two keys in bfloat16) */
        if (!nbf_begin()) return NULL;
        nb_tensor *wide = nb_scaled_dot_product_attention(nbi_float32_if_half(query), nbi_float32_if_half(key),
                                                          nbi_float32_if_half(value), nbi_float32_if_half(attn_mask),
                                                          0, is_causal, scaling);
        return nbf_end(wide ? nb_to_dtype(wide, query->dtype) : NULL);
    }
    if (fused_applies(query, key, value, attn_mask, dropout_p))
        return fused_attention(query, key, value, attn_mask, (fused_params){ .scale = scaling, .causal = is_causal });
    return nbf_attention_composite(query, key, value, attn_mask, dropout_p, is_causal, scaling, NULL);
}
