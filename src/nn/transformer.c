/*
 * transformer.c — torch.nn.MultiheadAttention, TransformerEncoderLayer and
 * TransformerEncoder as modules with torch's parameter names, layouts and
 * initialisation (so that state_dicts load both ways), plus the sinusoidal
 * position table.
 *
 * MultiheadAttention works batch-first inside: inputs are turned into
 * (N, L, E), projected with in_proj_weight (one product for
 * self-attention, three slices otherwise), split into heads (N, H, L, D)
 * and handed to nb_scaled_dot_product_attention (fused) or, when the
 * caller wants the weights, to the composite that returns them. torch's
 * masks (bool true = masked out) are translated to the SDPA mask (bool
 * true = may attend, or additive).
 *
 * Letters: N batch, L target (query) length, S source length, E embed
 * dim, H heads, D = E / H.
 */
#include "autograd/autograd.h"
#include "nn/attention.h"
#include "nn/module.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Free m (a constructor's half-built module) and return NULL. */
static nb_module *abandon(nb_module *m)
{
    nb_module_free(m);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* MultiheadAttention                                                        */
/* ------------------------------------------------------------------------ */

typedef struct {
    int64_t embed_dim, num_heads;
    double  dropout;
    bool    bias, batch_first;
} mha_config;

static nb_tensor *mha_forward(nb_module *self, const nb_tensor *x, void *user);

nb_module *nb_multihead_attention_new(int64_t embed_dim, int64_t num_heads, double dropout, bool bias,
                                      bool batch_first)
{
    const char *op = "nb_multihead_attention_new";
    if (embed_dim < 1 || num_heads < 1)
        return nbi_fail(NB_ERR_ARG, "%s: embed_dim and num_heads must be positive (got %lld, %lld)", op,
                        (long long)embed_dim, (long long)num_heads);
    if (embed_dim % num_heads != 0)
        return nbi_fail(NB_ERR_ARG, "%s: embed_dim (%lld) must be divisible by num_heads (%lld)", op,
                        (long long)embed_dim, (long long)num_heads);
    if (!(dropout >= 0.0 && dropout < 1.0))
        return nbi_fail(NB_ERR_ARG, "%s: dropout must be in [0, 1), got %g", op, dropout);
    mha_config config = { .embed_dim = embed_dim, .num_heads = num_heads, .dropout = dropout, .bias = bias,
                          .batch_first = batch_first };
    nb_module *m = nbi_module_with_config("MultiheadAttention", mha_forward, &config, sizeof config);
    nb_tensor *in_weight, *in_bias = NULL;
    if (m == NULL || nbi_module_new_parameter(m, "in_proj_weight", NB_SHAPE(3 * embed_dim, embed_dim), &in_weight) != NB_OK)
        return abandon(m);
    if (bias && nbi_module_new_parameter(m, "in_proj_bias", NB_SHAPE(3 * embed_dim), &in_bias) != NB_OK)
        return abandon(m);
    /* torch's order of random draws: out_proj's Linear init, then
     * _reset_parameters (xavier for in_proj_weight, zero biases). */
    nb_module *out_proj = nb_linear_new(embed_dim, embed_dim, bias);
    if (out_proj == NULL || nb_module_add_child(m, "out_proj", out_proj) != NB_OK ||
        nb_init_xavier_uniform_(in_weight, 1.0) != NB_OK)
        return abandon(m);
    if (bias && (nb_init_zeros_(in_bias) != NB_OK || nb_init_zeros_(nb_module_tensor(out_proj, "bias")) != NB_OK))
        return abandon(m);
    return m;
}

/* x (rank 2 or 3) as (N, len, E): a view. */
static nb_tensor *to_batch_first(const nb_tensor *x, const mha_config *config)
{
    if (x->ndim == 2) return nb_unsqueeze(x, 0);
    return config->batch_first ? nb_reshape(x, NB_SHAPE(x->shape[0], x->shape[1], x->shape[2]))
                               : nb_transpose(x, 0, 1);
}

/* (N, len, E) -> (N, H, len, D). */
static nb_tensor *split_heads(nb_tensor *x, int64_t heads)
{
    return nb_transpose(nb_reshape(x, NB_SHAPE(x->shape[0], x->shape[1], heads, x->shape[2] / heads)), 1, 2);
}

/* torch's checks of the inputs and masks, before any work. batched: rank 3. */
static bool check_mha_inputs(const char *op, const mha_config *config, const nb_tensor *query, const nb_tensor *key,
                             const nb_tensor *value, nb_attention_opts opts)
{
    if (!nbi_check_tensor(query, op, "query") || !nbi_check_tensor(key, op, "key") ||
        !nbi_check_tensor(value, op, "value"))
        return false;
    if (opts.attn_mask != NULL && !nbi_check_tensor(opts.attn_mask, op, "attn_mask")) return false;
    if (opts.key_padding_mask != NULL && !nbi_check_tensor(opts.key_padding_mask, op, "key_padding_mask"))
        return false;
    char qs[NBI_SHAPE_STR_SIZE], ks[NBI_SHAPE_STR_SIZE], vs[NBI_SHAPE_STR_SIZE];
    nbi_shape_str(query->ndim, query->shape, qs, sizeof qs);
    nbi_shape_str(key->ndim, key->shape, ks, sizeof ks);
    nbi_shape_str(value->ndim, value->shape, vs, sizeof vs);
    const int64_t E = config->embed_dim;
    if ((query->ndim != 2 && query->ndim != 3) || key->ndim != query->ndim || value->ndim != query->ndim) {
        nbi_fail(NB_ERR_SHAPE, "%s: query, key and value must all be 3-d (batched) or 2-d (unbatched); got %s, %s, %s",
                 op, qs, ks, vs);
        return false;
    }
    int last = query->ndim - 1;
    if (query->shape[last] != E || key->shape[last] != E || value->shape[last] != E) {
        nbi_fail(NB_ERR_SHAPE, "%s: query %s, key %s and value %s must end in embed_dim %lld", op, qs, ks, vs,
                 (long long)E);
        return false;
    }
    /* batch-first positions of the batch and the sequence dims */
    int batch_dim = query->ndim == 3 ? (config->batch_first ? 0 : 1) : -1, seq_dim = query->ndim == 3 ? 1 - batch_dim : 0;
    if (batch_dim >= 0 && (key->shape[batch_dim] != query->shape[batch_dim] || value->shape[batch_dim] != query->shape[batch_dim])) {
        nbi_fail(NB_ERR_SHAPE, "%s: query %s, key %s and value %s have different batch sizes", op, qs, ks, vs);
        return false;
    }
    if (key->shape[seq_dim] != value->shape[seq_dim]) {
        nbi_fail(NB_ERR_SHAPE, "%s: key %s and value %s have different lengths", op, ks, vs);
        return false;
    }
    const nb_tensor *masks[2] = { opts.attn_mask, opts.key_padding_mask };
    for (int i = 0; i < 2; i++)
        if (masks[i] != NULL && masks[i]->dtype != NB_BOOL && !nb_dtype_is_floating(masks[i]->dtype)) {
            nbi_fail(NB_ERR_DTYPE, "%s: %s must be bool or floating, got %s", op, i ? "key_padding_mask" : "attn_mask",
                     nb_dtype_name(masks[i]->dtype));
            return false;
        }
    if (opts.is_causal && opts.attn_mask != NULL) {
        nbi_fail(NB_ERR_ARG, "%s: give is_causal or attn_mask, not both", op);
        return false;
    }
    int64_t N = batch_dim >= 0 ? query->shape[batch_dim] : 1, L = query->shape[seq_dim], S = key->shape[seq_dim];
    if (opts.attn_mask != NULL) {
        const nb_tensor *m  = opts.attn_mask;
        bool             ok = (m->ndim == 2 && m->shape[0] == L && m->shape[1] == S) ||
                  (m->ndim == 3 && m->shape[0] == N * config->num_heads && m->shape[1] == L && m->shape[2] == S);
        if (!ok) {
            char ms[NBI_SHAPE_STR_SIZE];
            nbi_fail(NB_ERR_SHAPE, "%s: attn_mask of shape %s should be (%lld, %lld) or (%lld, %lld, %lld)", op,
                     nbi_shape_str(m->ndim, m->shape, ms, sizeof ms), (long long)L, (long long)S,
                     (long long)(N * config->num_heads), (long long)L, (long long)S);
            return false;
        }
    }
    if (opts.key_padding_mask != NULL) {
        const nb_tensor *m  = opts.key_padding_mask;
        bool             ok = batch_dim >= 0 ? m->ndim == 2 && m->shape[0] == N && m->shape[1] == S
                                             : m->ndim == 1 && m->shape[0] == S;
        if (!ok) {
            char ms[NBI_SHAPE_STR_SIZE];
            nbi_fail(NB_ERR_SHAPE, "%s: key_padding_mask of shape %s should be (%lld, %lld) ((%lld) unbatched)", op,
                     nbi_shape_str(m->ndim, m->shape, ms, sizeof ms), (long long)N, (long long)S, (long long)S);
            return false;
        }
    }
    return true;
}

/* torch's mask (bool true = masked, or float added) as an additive mask of
 * dtype. */
static nb_tensor *additive(const nb_tensor *mask, nb_dtype dtype)
{
    if (mask->dtype != NB_BOOL) return nb_to_dtype(mask, dtype);
    return nb_masked_fill(nb_zeros(NB_SHAPE(1), NB_OPTS(.dtype = dtype, .device = mask->storage->device)), mask,
                          -INFINITY);
}

/* The SDPA mask (bool true = may attend, or additive of dtype) of torch's
 * attn_mask and key_padding_mask, broadcastable to (N, H, L, S); NULL when
 * neither is given (*failed tells an error apart). Causal with a padding
 * mask becomes an explicit tril mask here. */
static nb_tensor *sdpa_mask(nb_attention_opts opts, int64_t N, int64_t H, int64_t L, int64_t S, nb_dtype dtype,
                            nb_device device, bool *failed)
{
    nb_tensor *attn = NULL, *padding = NULL;
    *failed         = false;
    if (opts.attn_mask != NULL)
        attn = opts.attn_mask->ndim == 2 ? nbi_alias_recorded(opts.attn_mask, "nb_multihead_attention")
                                         : nb_reshape(opts.attn_mask, NB_SHAPE(N, H, L, S));
    else if (opts.is_causal && opts.key_padding_mask != NULL)
        attn = nb_logical_not(nb_tril(nb_ones(NB_SHAPE(L, S), NB_OPTS(.dtype = NB_BOOL, .device = device)), 0));
    if (opts.key_padding_mask != NULL) padding = nb_reshape(opts.key_padding_mask, NB_SHAPE(N, 1, 1, S));
    bool wants_attn = opts.attn_mask != NULL || (opts.is_causal && opts.key_padding_mask != NULL);
    if ((wants_attn && attn == NULL) || (opts.key_padding_mask != NULL && padding == NULL)) {
        *failed = true;
        return NULL;
    }
    nb_tensor *mask = NULL;
    if (attn == NULL && padding == NULL) return NULL;
    bool all_bool = (attn == NULL || attn->dtype == NB_BOOL) && (padding == NULL || padding->dtype == NB_BOOL);
    if (all_bool) {
        nb_tensor *masked = attn && padding ? nb_logical_or(attn, padding) : attn ? attn : padding;
        mask              = nb_logical_not(masked);
    } else {
        nb_tensor *a = attn ? additive(attn, dtype) : NULL, *p = padding ? additive(padding, dtype) : NULL;
        mask         = a && p ? nb_add(a, p) : a ? a : p;
    }
    if (mask == NULL) *failed = true;
    return mask;
}

/* The forward, as nb_multihead_attention documents it. */
static nb_tensor *mha_run(nb_module *m, const mha_config *config, const nb_tensor *query, const nb_tensor *key,
                          const nb_tensor *value, nb_attention_opts opts, nb_tensor **weights)
{
    const char *op = "nb_multihead_attention";
    if (!check_mha_inputs(op, config, query, key, value, opts)) return NULL;
    if (nb_scope_begin() != NB_OK) return NULL;
    const int64_t E = config->embed_dim, H = config->num_heads;
    bool          batched = query->ndim == 3;
    nb_tensor    *w = nbi_module_own_parameter(m, 0), *b = config->bias ? nbi_module_own_parameter(m, 1) : NULL;
    nb_tensor    *xq = to_batch_first(query, config), *q, *k, *v;
    if (query == key && key == value) { /* self-attention: one product */
        nb_tensor *qkv = nb_linear(xq, w, b);
        q = nb_narrow(qkv, -1, 0, E), k = nb_narrow(qkv, -1, E, E), v = nb_narrow(qkv, -1, 2 * E, E);
    } else {
        nb_tensor *xk = to_batch_first(key, config), *xv = to_batch_first(value, config);
        q = nb_linear(xq, nb_narrow(w, 0, 0, E), b ? nb_narrow(b, 0, 0, E) : NULL);
        k = nb_linear(xk, nb_narrow(w, 0, E, E), b ? nb_narrow(b, 0, E, E) : NULL);
        v = nb_linear(xv, nb_narrow(w, 0, 2 * E, E), b ? nb_narrow(b, 0, 2 * E, E) : NULL);
    }
    nb_tensor *out = NULL, *probs = NULL;
    if (q && k && v) {
        int64_t N = q->shape[0], L = q->shape[1], S = k->shape[1];
        bool    failed;
        nb_tensor *mask = sdpa_mask(opts, N, H, L, S, q->dtype, q->storage->device, &failed);
        bool    causal  = opts.is_causal && opts.key_padding_mask == NULL;
        double  p       = nb_module_is_training(m) ? config->dropout : 0.0;
        nb_tensor *qh = split_heads(q, H), *kh = split_heads(k, H), *vh = split_heads(v, H);
        nb_tensor *heads = NULL;
        if (!failed && qh && kh && vh)
            heads = weights ? nbf_attention_composite(qh, kh, vh, mask, p, causal, 1.0 / sqrt((double)(E / H)), &probs)
                            : nb_scaled_dot_product_attention(qh, kh, vh, mask, p, causal, 0);
        nb_tensor *joined = heads ? nb_reshape(nb_transpose(heads, 1, 2), NB_SHAPE(N, L, E)) : NULL;
        out               = joined ? nb_module_forward(nbi_module_child_at(m, 0), joined) : NULL;
        if (out != NULL) out = !batched ? nb_squeeze_dim(out, 0) : config->batch_first ? out : nb_transpose(out, 0, 1);
        if (out != NULL && weights != NULL) {
            if (!opts.per_head_weights) probs = nb_mean_dims(probs, NB_DIMS(1), false);
            if (probs != NULL && !batched) probs = nb_squeeze_dim(probs, 0);
            if (probs == NULL) out = NULL;
        }
    }
    out = nb_keep(out);
    if (weights != NULL) *weights = out ? nb_keep(probs) : NULL;
    nb_scope_end();
    return out;
}

static nb_tensor *mha_forward(nb_module *self, const nb_tensor *x, void *user)
{
    return mha_run(self, user, x, x, x, NB_ATTENTION_OPTS(), NULL);
}

nb_tensor *nb_multihead_attention(nb_module *m, const nb_tensor *query, const nb_tensor *key, const nb_tensor *value,
                                  nb_attention_opts opts, nb_tensor **attn_weights)
{
    const char *op = "nb_multihead_attention";
    if (attn_weights != NULL) *attn_weights = NULL;
    if (!nbi_check_module(m, op, "m")) return NULL;
    const mha_config *config = nbi_module_config_of(m, mha_forward);
    if (config == NULL)
        return nbi_fail(NB_ERR_ARG, "%s: m is a %s, not a MultiheadAttention", op, nb_module_type(m));
    return mha_run(m, config, query, key, value, opts, attn_weights);
}

/* ------------------------------------------------------------------------ */
/* TransformerEncoderLayer, TransformerEncoder                               */
/* ------------------------------------------------------------------------ */

nb_transformer_layer_opts nb_transformer_layer_defaults(int64_t d_model, int64_t nhead)
{
    return (nb_transformer_layer_opts){ .d_model         = d_model,
                                        .nhead           = nhead,
                                        .dim_feedforward = 2048,
                                        .dropout         = 0.1,
                                        .layer_norm_eps  = 1e-5,
                                        .activation      = NB_ACTIVATION_RELU,
                                        .batch_first     = false,
                                        .norm_first      = false };
}

/* Children, by position, in torch's order. */
enum { SELF_ATTN, LINEAR1, DROPOUT, LINEAR2, NORM1, NORM2, DROPOUT1, DROPOUT2 };

static nb_tensor *layer_run(nb_module *m, const nb_transformer_layer_opts *config, const nb_tensor *src,
                            nb_attention_opts masks);

static nb_tensor *layer_forward(nb_module *self, const nb_tensor *x, void *user)
{
    return layer_run(self, user, x, NB_ATTENTION_OPTS());
}

static bool check_layer_opts(const char *op, nb_transformer_layer_opts opts)
{
    if (opts.dim_feedforward < 1 || !(opts.layer_norm_eps >= 0.0) ||
        (opts.activation != NB_ACTIVATION_RELU && opts.activation != NB_ACTIVATION_GELU)) {
        nbi_fail(NB_ERR_ARG, "%s: dim_feedforward must be >= 1 (got %lld), layer_norm_eps >= 0 (got %g), "
                             "activation NB_ACTIVATION_RELU or NB_ACTIVATION_GELU (got %d)",
                 op, (long long)opts.dim_feedforward, opts.layer_norm_eps, (int)opts.activation);
        return false;
    }
    return true;
}

nb_module *nb_transformer_encoder_layer_new(nb_transformer_layer_opts opts)
{
    const char *op = "nb_transformer_encoder_layer_new";
    if (!check_layer_opts(op, opts)) return NULL;
    nb_module *attn = nb_multihead_attention_new(opts.d_model, opts.nhead, opts.dropout, true, opts.batch_first);
    if (attn == NULL) return NULL;
    nb_module *m = nbi_module_with_config("TransformerEncoderLayer", layer_forward, &opts, sizeof opts);
    if (m == NULL || nb_module_add_child(m, "self_attn", attn) != NB_OK) {
        if (m == NULL) nb_module_free(attn);
        return abandon(m);
    }
    nb_norm_opts norm = { .eps = opts.layer_norm_eps };
    const char  *names[] = { "linear1", "dropout", "linear2", "norm1", "norm2", "dropout1", "dropout2" };
    nb_module   *children[] = {
        nb_linear_new(opts.d_model, opts.dim_feedforward, true), nb_dropout_new(opts.dropout),
        nb_linear_new(opts.dim_feedforward, opts.d_model, true), nb_layer_norm_new(NB_SHAPE(opts.d_model), norm),
        nb_layer_norm_new(NB_SHAPE(opts.d_model), norm),         nb_dropout_new(opts.dropout),
        nb_dropout_new(opts.dropout),
    };
    bool ok = true;
    for (int i = 0; i < 7; i++) {
        if (ok && children[i] != NULL) {
            ok = nb_module_add_child(m, names[i], children[i]) == NB_OK;
        } else {
            ok = false;
            nb_module_free(children[i]);
        }
    }
    return ok ? m : abandon(m);
}

/* The layer's forward with masks, as nb_transformer_forward documents. */
static nb_tensor *layer_run(nb_module *m, const nb_transformer_layer_opts *config, const nb_tensor *src,
                            nb_attention_opts masks)
{
    if (!nbi_check_tensor(src, "nb_transformer_forward", "src")) return NULL;
    if (nb_scope_begin() != NB_OK) return NULL;
    nb_module *child[8];
    for (int i = 0; i < 8; i++)
        child[i] = nbi_module_child_at(m, i);
    masks.per_head_weights = false;
    nb_tensor *x = nbi_alias_recorded(src, "nb_transformer_forward");
    for (int block = 0; block < 2 && x != NULL; block++) {
        nb_module *norm = child[block == 0 ? NORM1 : NORM2];
        nb_tensor *in   = config->norm_first ? nb_module_forward(norm, x) : x, *y;
        if (block == 0) {
            y = nb_module_forward(child[DROPOUT1], nb_multihead_attention(child[SELF_ATTN], in, in, in, masks, NULL));
        } else {
            nb_tensor *h = nb_module_forward(child[LINEAR1], in);
            h            = config->activation == NB_ACTIVATION_GELU ? nb_gelu(h, false) : nb_relu(h);
            y = nb_module_forward(child[DROPOUT2],
                                  nb_module_forward(child[LINEAR2], nb_module_forward(child[DROPOUT], h)));
        }
        x = config->norm_first ? nb_add(x, y) : nb_module_forward(norm, nb_add(x, y));
    }
    x = nb_keep(x);
    nb_scope_end();
    return x;
}

typedef struct {
    nb_transformer_layer_opts layer;
    int                       num_layers;
    bool                      final_norm;
} encoder_config;

static nb_tensor *encoder_run(nb_module *m, const encoder_config *config, const nb_tensor *src,
                              nb_attention_opts masks)
{
    if (!nbi_check_tensor(src, "nb_transformer_forward", "src")) return NULL;
    if (nb_scope_begin() != NB_OK) return NULL;
    nb_module *layers = nbi_module_child_at(m, 0);
    nb_tensor *x      = nbi_alias_recorded(src, "nb_transformer_forward");
    for (int i = 0; i < config->num_layers && x != NULL; i++)
        x = layer_run(nbi_module_child_at(layers, i), &config->layer, x, masks);
    if (x != NULL && config->final_norm) x = nb_module_forward(nbi_module_child_at(m, 1), x);
    x = nb_keep(x);
    nb_scope_end();
    return x;
}

static nb_tensor *encoder_forward(nb_module *self, const nb_tensor *x, void *user)
{
    return encoder_run(self, user, x, NB_ATTENTION_OPTS());
}

nb_module *nb_transformer_encoder_new(nb_transformer_layer_opts opts, int num_layers, bool final_norm)
{
    const char *op = "nb_transformer_encoder_new";
    if (num_layers < 1) return nbi_fail(NB_ERR_ARG, "%s: num_layers must be >= 1 (got %d)", op, num_layers);
    if (!check_layer_opts(op, opts)) return NULL;
    encoder_config config = { .layer = opts, .num_layers = num_layers, .final_norm = final_norm };
    nb_module     *m      = nbi_module_with_config("TransformerEncoder", encoder_forward, &config, sizeof config);
    nb_module     *layers = nb_module_new("ModuleList", NULL, NULL, NULL);
    if (m == NULL || layers == NULL || nb_module_add_child(m, "layers", layers) != NB_OK) {
        if (m == NULL) nb_module_free(layers);
        return abandon(m);
    }
    for (int i = 0; i < num_layers; i++) {
        char name[16];
        snprintf(name, sizeof name, "%d", i);
        nb_module *layer = nb_transformer_encoder_layer_new(opts);
        if (layer == NULL || nb_module_add_child(layers, name, layer) != NB_OK) return abandon(m);
    }
    if (final_norm &&
        nb_module_add_child(m, "norm", nb_layer_norm_new(NB_SHAPE(opts.d_model), (nb_norm_opts){ .eps = opts.layer_norm_eps })) !=
            NB_OK)
        return abandon(m);
    return m;
}

nb_tensor *nb_transformer_forward(nb_module *m, const nb_tensor *src, nb_attention_opts masks)
{
    const char *op = "nb_transformer_forward";
    if (!nbi_check_module(m, op, "m")) return NULL;
    const nb_transformer_layer_opts *layer = nbi_module_config_of(m, layer_forward);
    if (layer != NULL) return layer_run(m, layer, src, masks);
    const encoder_config *encoder = nbi_module_config_of(m, encoder_forward);
    if (encoder != NULL) return encoder_run(m, encoder, src, masks);
    return nbi_fail(NB_ERR_ARG, "%s: m is a %s, not a TransformerEncoderLayer or TransformerEncoder", op,
                    nb_module_type(m));
}

/* ------------------------------------------------------------------------ */
/* Sinusoidal positions                                                      */
/* ------------------------------------------------------------------------ */

nb_tensor *nb_sinusoidal_positions(int64_t length, int64_t dim)
{
    const char *op = "nb_sinusoidal_positions";
    if (length < 0 || dim < 1)
        return nbi_fail(NB_ERR_ARG, "%s: length must be >= 0 and dim >= 1 (got %lld, %lld)", op, (long long)length,
                        (long long)dim);
    nb_tensor *pe = nb_empty(NB_SHAPE(length, dim), NB_OPTS());
    if (pe == NULL) return NULL;
    float *data = nb_data(pe);
    for (int64_t p = 0; p < length; p++)
        for (int64_t i = 0; i < dim; i++) {
            double angle      = (double)p / pow(10000.0, (double)(i - i % 2) / (double)dim);
            data[p * dim + i] = (float)(i % 2 == 0 ? sin(angle) : cos(angle));
        }
    return pe;
}
