/*
 * test_attention.c — scaled dot-product attention (fused and composite),
 * MultiheadAttention and the transformer encoder against PyTorch: the
 * fixtures of scripts/make_attention_fixtures.py (values and gradients of
 * the documented SDPA formula in float64; a torch MultiheadAttention with
 * masks and weights; TransformerEncoders trained in torch, loaded from
 * safetensors, to 1e-5), the fused kernels against the composite, gradcheck
 * and gradgradcheck, and the errors of bad shapes and arguments.
 */
#include "nb_test.h"

#include <math.h>

#define DIR NB_TEST_DATA_DIR "/attention/"

static const char *const FUSED = "ScaledDotProductFlashAttentionForCpuBackward0";

/* Largest |a - b| (NaN equal to NaN), INFINITY if either is missing or the
 * shapes differ. */
static double max_diff(const nb_tensor *a, const nb_tensor *b)
{
    if (a == NULL || b == NULL) return INFINITY;
    nb_shape sa = nb_shape_of(a), sb = nb_shape_of(b);
    if (sa.ndim != sb.ndim || memcmp(sa.dims, sb.dims, (size_t)sa.ndim * sizeof sa.dims[0]) != 0) return INFINITY;
    nb_scope_begin();
    nb_tensor *ad = nb_to_dtype(a, NB_FLOAT64), *bd = nb_to_dtype(b, NB_FLOAT64);
    nb_tensor *both_nan = nb_logical_and(nb_isnan(ad), nb_isnan(bd));
    nb_tensor *diff     = nb_masked_fill(nb_abs(nb_sub(ad, bd)), both_nan, 0.0);
    double     result   = nb_numel(a) == 0 ? 0.0 : nb_item(nb_max(diff));
    nb_scope_end();
    return isnan(result) ? INFINITY : result;
}

static nb_tensor *load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, DIR "%s.npy", name);
    nb_tensor *t = nb_load_npy(path);
    if (t == NULL) fprintf(stderr, "cannot load %s: %s\n", path, nb_last_error());
    return t;
}

static nb_tensor *load_leaf(const char *name)
{
    nb_tensor *t = load(name);
    if (t != NULL) nb_requires_grad_(t, true);
    return t;
}

/* ------------------------------------------------------------------------ */
/* scaled_dot_product_attention against the torch fixtures                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    bool        has_mask, causal;
    double      scale;
} sdpa_case;

static void check_sdpa_case(sdpa_case c, bool fused)
{
    char key[160];
    nb_scope_begin();
#define LOAD(suffix) (snprintf(key, sizeof key, "%s_%s", c.name, suffix), load(key))
    nb_tensor *q = LOAD("q"), *k = LOAD("k"), *v = LOAD("v"), *w = LOAD("w"), *out = LOAD("out");
    nb_tensor *grads[3] = { LOAD("grad_q"), LOAD("grad_k"), LOAD("grad_v") };
    nb_tensor *mask     = c.has_mask ? LOAD("mask") : NULL;
#undef LOAD
    nb_tensor *inputs[3] = { q, k, v };
    for (int i = 0; i < 3; i++)
        nb_requires_grad_(inputs[i], true);
    nb_tensor *y = fused ? nb_scaled_dot_product_attention(q, k, v, mask, 0, c.causal, c.scale)
                         : nb_scaled_dot_product_attention_composite(q, k, v, mask, 0, c.causal, c.scale);
    NBT_CHECK(y != NULL);
    if (fused) NBT_CHECK(y && strcmp(nb_grad_fn_name(y), FUSED) == 0);
    NBT_CHECK(max_diff(y, out) <= 1e-12);
    NBT_CHECK(nb_backward(nb_sum(nb_mul(y, w))) == NB_OK);
    for (int i = 0; i < 3; i++) {
        double error = max_diff(nb_grad(inputs[i]), grads[i]);
        NBT_CHECK(error <= 1e-12);
        if (!(error <= 1e-12)) fprintf(stderr, "  %s %s grad %d: %g\n", c.name, fused ? "fused" : "composite", i, error);
    }
    nb_scope_end();
}

static const sdpa_case CASES[] = {
    { "sdpa_plain", false, false, 0 },
    { "sdpa_causal", false, true, 0 },
    { "sdpa_bool", true, false, 0 },
    { "sdpa_float", true, false, 0.3 },
};

static void test_sdpa_matches_torch(void)
{
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        check_sdpa_case(CASES[i], true);
        check_sdpa_case(CASES[i], false);
    }
}

/* float32, larger than a tile (64 x 64) in both lengths, odd sizes: the
 * fused kernel against the composite, values and gradients. */
static void test_fused_matches_composite_float32(void)
{
    nb_manual_seed(3);
    const bool causal[] = { false, true, true, false };
    const int  masks[]  = { 0, 0, 0, 1 };
    for (int t = 0; t < 4; t++) {
        nb_scope_begin();
        int64_t    L = t == 2 ? 150 : 70, S = t == 2 ? 90 : 130;
        nb_tensor *q = nb_randn(NB_SHAPE(2, 3, L, 24), NB_OPTS(.requires_grad = true));
        nb_tensor *k = nb_randn(NB_SHAPE(2, 3, S, 24), NB_OPTS(.requires_grad = true));
        nb_tensor *v = nb_randn(NB_SHAPE(2, 3, S, 40), NB_OPTS(.requires_grad = true));
        nb_tensor *w = nb_randn(NB_SHAPE(2, 3, L, 40), NB_OPTS());
        /* a bool mask broadcast over heads, read through strides */
        nb_tensor *mask = masks[t] ? nb_gt_scalar(nb_rand(NB_SHAPE(2, 1, L, S), NB_OPTS()), 0.25) : NULL;
        nb_tensor *inputs[3] = { q, k, v }, *fused_grads[3];
        nb_tensor *fused     = nb_scaled_dot_product_attention(q, k, v, mask, 0, causal[t], 0);
        NBT_CHECK(fused && strcmp(nb_grad_fn_name(fused), FUSED) == 0);
        nb_backward(nb_sum(nb_mul(fused, w)));
        for (int i = 0; i < 3; i++)
            fused_grads[i] = nb_detach(nb_grad(inputs[i]));
        nb_zero_grad(inputs, 3);
        nb_tensor *reference = nb_scaled_dot_product_attention_composite(q, k, v, mask, 0, causal[t], 0);
        nb_backward(nb_sum(nb_mul(reference, w)));
        NBT_CHECK(max_diff(fused, reference) <= 1e-5);
        for (int i = 0; i < 3; i++)
            NBT_CHECK(max_diff(fused_grads[i], nb_grad(inputs[i])) <= 1e-4);
        nb_scope_end();
    }
}

static nb_tensor *fused_sdpa_fn(nb_tensor *const *inputs, int count, void *user)
{
    const int *kind = user;
    nb_tensor *mask = count > 3 ? inputs[3] : NULL;
    return nb_scaled_dot_product_attention(inputs[0], inputs[1], inputs[2], mask, 0, *kind == 1, 0);
}

/* The fused backward by finite differences (float64), and its double
 * backward (through the composite's formulas). */
static void test_fused_gradcheck(void)
{
    nb_manual_seed(5);
    for (int kind = 0; kind < 3; kind++) {
        nb_scope_begin();
        nb_opts    o     = NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true);
        nb_tensor *in[4] = { nb_randn(NB_SHAPE(2, 4, 3), o), nb_randn(NB_SHAPE(2, 5, 3), o),
                             nb_randn(NB_SHAPE(2, 5, 2), o), NULL };
        if (kind == 2) in[3] = nb_randn(NB_SHAPE(4, 5), NB_OPTS(.dtype = NB_FLOAT64)); /* additive, no grad */
        int count = kind == 2 ? 4 : 3;
        NBT_CHECK(nb_gradcheck(fused_sdpa_fn, in, count, &kind, NB_GRADCHECK_OPTS()) == NB_OK);
        NBT_CHECK(nb_gradgradcheck(fused_sdpa_fn, in, count, &kind, NB_GRADCHECK_OPTS()) == NB_OK);
        nb_scope_end();
    }
}

/* Paths that take the composite, and what they must still give. */
static void test_composite_fallbacks(void)
{
    nb_scope_begin();
    nb_manual_seed(7);
    nb_tensor *q = nb_randn(NB_SHAPE(2, 3, 4, 5), NB_OPTS(.requires_grad = true));
    nb_tensor *k = nb_randn(NB_SHAPE(1, 3, 6, 5), NB_OPTS());
    nb_tensor *v = nb_randn(NB_SHAPE(1, 3, 6, 2), NB_OPTS());
    /* broadcast batch dims: the composite, equal to the fused path on expanded copies */
    nb_tensor *broadcast = nb_scaled_dot_product_attention(q, k, v, NULL, 0, false, 0);
    NBT_CHECK(broadcast && strcmp(nb_grad_fn_name(broadcast), FUSED) != 0);
    nb_tensor *expanded = nb_scaled_dot_product_attention(q, nb_contiguous(nb_expand(k, NB_SHAPE(2, 3, 6, 5))),
                                                          nb_contiguous(nb_expand(v, NB_SHAPE(2, 3, 6, 2))), NULL, 0,
                                                          false, 0);
    NBT_CHECK(expanded && strcmp(nb_grad_fn_name(expanded), FUSED) == 0);
    NBT_CHECK(max_diff(broadcast, expanded) <= 1e-6);
    /* dropout: the composite; p = 1 drops everything, the same seed repeats */
    nb_tensor *kk = nb_contiguous(nb_expand(k, NB_SHAPE(2, 3, 6, 5))), *vv = nb_contiguous(nb_expand(v, NB_SHAPE(2, 3, 6, 2)));
    nb_tensor *dropped = nb_scaled_dot_product_attention(q, kk, vv, NULL, 1.0, false, 0);
    NBT_CHECK(dropped && nb_item(nb_max(nb_abs(dropped))) == 0.0);
    nb_manual_seed(11);
    nb_tensor *d1 = nb_scaled_dot_product_attention(q, kk, vv, NULL, 0.5, false, 0);
    nb_manual_seed(11);
    nb_tensor *d2 = nb_scaled_dot_product_attention(q, kk, vv, NULL, 0.5, false, 0);
    NBT_CHECK(max_diff(d1, d2) == 0.0 && max_diff(d1, expanded) > 1e-3);
    /* a float mask that requires grad: the composite, which gives it a gradient */
    nb_tensor *bias = nb_zeros(NB_SHAPE(4, 6), NB_OPTS(.requires_grad = true));
    nb_tensor *with_bias = nb_scaled_dot_product_attention(q, kk, vv, bias, 0, false, 0);
    NBT_CHECK(with_bias && strcmp(nb_grad_fn_name(with_bias), FUSED) != 0);
    NBT_CHECK(nb_backward(nb_sum(nb_mul(with_bias, with_bias))) == NB_OK && nb_grad(bias) != NULL);
    /* size 0: S = 0 gives zeros (an empty softmax), as the formula */
    nb_tensor *empty = nb_scaled_dot_product_attention(nb_randn(NB_SHAPE(2, 3, 4), NB_OPTS()),
                                                       nb_randn(NB_SHAPE(2, 0, 4), NB_OPTS()),
                                                       nb_randn(NB_SHAPE(2, 0, 5), NB_OPTS()), NULL, 0, false, 0);
    NBT_CHECK(empty && nb_numel(empty) == 30 && nb_item(nb_max(nb_abs(empty))) == 0.0);
    nb_scope_end();
}

/* A row that may attend to nothing is NaN on both paths; the others are not. */
static void test_fully_masked_row(void)
{
    nb_scope_begin();
    nb_tensor *q    = nb_randn(NB_SHAPE(1, 3, 4), NB_OPTS());
    nb_tensor *k    = nb_randn(NB_SHAPE(1, 5, 4), NB_OPTS());
    nb_tensor *v    = nb_randn(NB_SHAPE(1, 5, 2), NB_OPTS());
    bool       m[15] = { 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1 };
    nb_tensor *mask = nb_from_data(m, NB_SHAPE(3, 5), NB_OPTS(.dtype = NB_BOOL));
    for (int path = 0; path < 2; path++) {
        nb_tensor *y = path ? nb_scaled_dot_product_attention_composite(q, k, v, mask, 0, false, 0)
                            : nb_scaled_dot_product_attention(q, k, v, mask, 0, false, 0);
        const float *d = y ? nb_data(y) : NULL;
        NBT_CHECK(d && !isnan(d[0]) && isnan(d[2]) && isnan(d[3]) && !isnan(d[4]));
    }
    /* Gradients of a loss that leaves the masked row out: the fused path's
     * dQ and dK are the composite's (torch's formula), finite, and the
     * masked row's dQ is 0. (Its D once went NaN and spread into every key
     * of dK.) dV: the composite's is NaN (0 * NaN), the fused one's 0. */
    nb_tensor *grads[2][2];
    for (int path = 0; path < 2; path++) {
        nb_tensor *qq = nb_detach(q), *kk = nb_detach(k);
        nb_requires_grad_(qq, true);
        nb_requires_grad_(kk, true);
        nb_tensor *y = path ? nb_scaled_dot_product_attention_composite(qq, kk, v, mask, 0, false, 0)
                            : nb_scaled_dot_product_attention(qq, kk, v, mask, 0, false, 0);
        nb_tensor *kept = nb_cat((nb_tensor *[]){nb_select(y, 1, 0), nb_select(y, 1, 2)}, 2, 0);
        NBT_CHECK(nb_backward(nb_sum(kept)) == NB_OK);
        grads[path][0] = nb_grad(qq);
        grads[path][1] = nb_grad(kk);
    }
    for (int i = 0; i < 2; i++) {
        nb_tensor *diff = nb_sub(grads[0][i], grads[1][i]);
        NBT_CHECK(diff && nb_item(nb_max(nb_abs(diff))) < 1e-5);
    }
    nb_tensor *masked_dq = nb_select(nb_select(grads[0][0], 0, 0), 0, 1);
    NBT_CHECK(masked_dq && nb_item(nb_max(nb_abs(masked_dq))) == 0.0);
    nb_scope_end();
}

static void test_sdpa_errors(void)
{
    nb_scope_begin();
    nb_tensor *q = nb_randn(NB_SHAPE(2, 4, 8), NB_OPTS()), *k = nb_randn(NB_SHAPE(2, 5, 8), NB_OPTS());
    nb_tensor *v = nb_randn(NB_SHAPE(2, 5, 3), NB_OPTS());
    NBT_CHECK(nb_scaled_dot_product_attention(q, nb_randn(NB_SHAPE(2, 5, 7), NB_OPTS()), v, NULL, 0, false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "do not fit");
    NBT_CHECK(nb_scaled_dot_product_attention(q, k, nb_randn(NB_SHAPE(2, 6, 3), NB_OPTS()), NULL, 0, false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "do not fit");
    NBT_CHECK(nb_scaled_dot_product_attention(q, nb_randn(NB_SHAPE(3, 5, 8), NB_OPTS()),
                                              nb_randn(NB_SHAPE(3, 5, 3), NB_OPTS()), NULL, 0, false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "do not broadcast");
    NBT_CHECK(nb_scaled_dot_product_attention(nb_randn(NB_SHAPE(8), NB_OPTS()), k, v, NULL, 0, false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "at least 2 dims");
    NBT_CHECK(nb_scaled_dot_product_attention(q, k, v, nb_ones(NB_SHAPE(4, 6), NB_OPTS(.dtype = NB_BOOL)), 0, false,
                                              0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "attn_mask of shape [4, 6] does not broadcast");
    NBT_CHECK(nb_scaled_dot_product_attention(q, k, v, nb_ones(NB_SHAPE(3, 4, 5), NB_OPTS(.dtype = NB_BOOL)), 0,
                                              false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "does not broadcast");
    NBT_CHECK(nb_scaled_dot_product_attention(q, k, v, nb_ones(NB_SHAPE(4, 5), NB_OPTS(.dtype = NB_INT64)), 0, false,
                                              0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "attn_mask must be bool");
    NBT_CHECK(nb_scaled_dot_product_attention(q, k, v, nb_ones(NB_SHAPE(4, 5), NB_OPTS(.dtype = NB_FLOAT64)), 0,
                                              false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "attn_mask must be bool or of the query's dtype float32");
    NBT_CHECK(nb_scaled_dot_product_attention(q, k, v, nb_ones(NB_SHAPE(4, 5), NB_OPTS(.dtype = NB_BOOL)), 0, true,
                                              0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "is_causal");
    NBT_CHECK(nb_scaled_dot_product_attention(q, k, v, NULL, 1.5, false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "dropout_p");
    NBT_CHECK(nb_scaled_dot_product_attention(q, nb_to_dtype(k, NB_FLOAT64), v, NULL, 0, false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "same dtype");
    NBT_CHECK(nb_scaled_dot_product_attention(nb_ones(NB_SHAPE(2, 4, 8), NB_OPTS(.dtype = NB_INT64)), k, v, NULL, 0,
                                              false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "query must be float32 or float64");
    NBT_CHECK(nb_scaled_dot_product_attention_composite(q, k, NULL, NULL, 0, false, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "'value' is NULL");
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* MultiheadAttention                                                        */
/* ------------------------------------------------------------------------ */

static void test_mha_matches_torch(void)
{
    nb_scope_begin();
    nb_module *mha = nb_multihead_attention_new(8, 2, 0.0, true, true);
    NBT_CHECK(mha != NULL && nb_module_load(mha, DIR "mha.safetensors") == NB_OK);
    nb_tensor *query = load_leaf("mha_query"), *key = load_leaf("mha_key"), *value = load_leaf("mha_value");
    nb_tensor *attn_mask = load("mha_attn_mask"), *padding = load("mha_padding"), *w = load("mha_w");
    nb_tensor *weights = NULL;
    nb_attention_opts opts = NB_ATTENTION_OPTS(.attn_mask = attn_mask, .key_padding_mask = padding);
    nb_tensor *out     = nb_multihead_attention(mha, query, key, value, opts, &weights);
    NBT_CHECK(max_diff(out, load("mha_out")) <= 1e-5);
    NBT_CHECK(max_diff(weights, load("mha_weights")) <= 1e-6);
    NBT_CHECK(nb_backward(nb_sum(nb_mul(out, w))) == NB_OK);
    NBT_CHECK(max_diff(nb_grad(query), load("mha_grad_query")) <= 1e-5);
    NBT_CHECK(max_diff(nb_grad(key), load("mha_grad_key")) <= 1e-5);
    NBT_CHECK(max_diff(nb_grad(value), load("mha_grad_value")) <= 1e-5);
    NBT_CHECK(max_diff(nb_grad(nb_module_tensor(mha, "in_proj_weight")), load("mha_grad_in_proj_weight")) <= 1e-5);
    /* Without weights: the fused path, the same output. */
    nb_tensor *fused = nb_multihead_attention(mha, query, key, value, opts, NULL);
    NBT_CHECK(max_diff(fused, out) <= 1e-5);
    /* Per-head weights average to the same. */
    nb_tensor *per_head = NULL;
    opts.per_head_weights = true;
    nb_multihead_attention(mha, query, key, value, opts, &per_head);
    NBT_CHECK(per_head && nb_ndim(per_head) == 4 && max_diff(nb_mean_dims(per_head, NB_DIMS(1), false), weights) <= 1e-6);
    nb_scope_end();
    nb_module_free(mha);
}

/* Self-attention via nb_module_forward, batch_first false and unbatched
 * inputs, causal against an explicit mask. */
static void test_mha_layouts(void)
{
    nb_scope_begin();
    nb_manual_seed(2);
    nb_module *seq_first = nb_multihead_attention_new(6, 3, 0.0, true, false);
    nb_module *batch_first = nb_multihead_attention_new(6, 3, 0.0, true, true);
    NBT_CHECK(nb_module_save(seq_first, "mha_layout.safetensors") == NB_OK);
    NBT_CHECK(nb_module_load(batch_first, "mha_layout.safetensors") == NB_OK);
    remove("mha_layout.safetensors");
    nb_tensor *x  = nb_randn(NB_SHAPE(2, 5, 6), NB_OPTS());  /* (N, L, E) */
    nb_tensor *xt = nb_transpose(x, 0, 1);                    /* (L, N, E) */
    nb_tensor *a  = nb_module_forward(batch_first, x);
    nb_tensor *b  = nb_module_forward(seq_first, xt);
    NBT_CHECK(max_diff(a, nb_transpose(b, 0, 1)) <= 1e-6);
    nb_tensor *one = nb_module_forward(batch_first, nb_select(x, 0, 1));
    NBT_CHECK(max_diff(one, nb_select(a, 0, 1)) <= 1e-6);
    bool upper[25];
    for (int i = 0; i < 25; i++)
        upper[i] = i % 5 > i / 5;
    nb_tensor *mask   = nb_from_data(upper, NB_SHAPE(5, 5), NB_OPTS(.dtype = NB_BOOL));
    nb_tensor *masked = nb_multihead_attention(batch_first, x, x, x, NB_ATTENTION_OPTS(.attn_mask = mask), NULL);
    nb_tensor *causal = nb_multihead_attention(batch_first, x, x, x, NB_ATTENTION_OPTS(.is_causal = true), NULL);
    NBT_CHECK(max_diff(masked, causal) <= 1e-6 && max_diff(masked, a) > 1e-3);
    bool       pad[10] = { 0, 0, 0, 1, 1, 0, 0, 0, 0, 0 };
    nb_tensor *padding = nb_from_data(pad, NB_SHAPE(2, 5), NB_OPTS(.dtype = NB_BOOL));
    nb_tensor *both1 = nb_multihead_attention(batch_first, x, x, x,
                                              NB_ATTENTION_OPTS(.attn_mask = mask, .key_padding_mask = padding), NULL);
    nb_tensor *both2 = nb_multihead_attention(batch_first, x, x, x,
                                              NB_ATTENTION_OPTS(.is_causal = true, .key_padding_mask = padding), NULL);
    NBT_CHECK(both1 && max_diff(both1, both2) <= 1e-6);
    nb_scope_end();
    nb_module_free(seq_first);
    nb_module_free(batch_first);
}

static void test_mha_errors(void)
{
    NBT_CHECK(nb_multihead_attention_new(10, 3, 0, true, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "embed_dim (10) must be divisible by num_heads (3)");
    NBT_CHECK(nb_multihead_attention_new(8, 0, 0, true, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "must be positive");
    NBT_CHECK(nb_multihead_attention_new(8, 2, 1.0, true, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "dropout");
    nb_module *mha = nb_multihead_attention_new(8, 2, 0, false, true), *lin = nb_linear_new(8, 8, true);
    NBT_CHECK(mha && nb_module_parameters(mha, NULL, NULL, 0) == 2); /* in_proj_weight, out_proj.weight */
    nb_scope_begin();
    nb_tensor *x = nb_randn(NB_SHAPE(2, 3, 8), NB_OPTS());
    NBT_CHECK(nb_multihead_attention(lin, x, x, x, NB_ATTENTION_OPTS(), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "not a MultiheadAttention");
    NBT_CHECK(nb_multihead_attention(mha, x, nb_randn(NB_SHAPE(2, 3, 6), NB_OPTS()), x, NB_ATTENTION_OPTS(), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "must end in embed_dim 8");
    NBT_CHECK(nb_multihead_attention(mha, x, nb_randn(NB_SHAPE(4, 3, 8), NB_OPTS()), nb_randn(NB_SHAPE(4, 3, 8), NB_OPTS()),
                                     NB_ATTENTION_OPTS(), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "different batch sizes");
    NBT_CHECK(nb_multihead_attention(mha, x, x, nb_randn(NB_SHAPE(2, 4, 8), NB_OPTS()), NB_ATTENTION_OPTS(), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "different lengths");
    NBT_CHECK(nb_module_forward(mha, nb_randn(NB_SHAPE(8), NB_OPTS())) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "3-d (batched) or 2-d");
    nb_tensor *bad_mask = nb_zeros(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_BOOL));
    NBT_CHECK(nb_multihead_attention(mha, x, x, x, NB_ATTENTION_OPTS(.attn_mask = bad_mask), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "attn_mask of shape [3, 4] should be (3, 3) or (4, 3, 3)");
    NBT_CHECK(nb_multihead_attention(mha, x, x, x, NB_ATTENTION_OPTS(.key_padding_mask = bad_mask), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "key_padding_mask of shape [3, 4] should be (2, 3)");
    nb_tensor *int_mask = nb_zeros(NB_SHAPE(3, 3), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_multihead_attention(mha, x, x, x, NB_ATTENTION_OPTS(.attn_mask = int_mask), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "attn_mask must be bool or floating");
    nb_tensor *mask = nb_zeros(NB_SHAPE(3, 3), NB_OPTS(.dtype = NB_BOOL));
    NBT_CHECK(nb_multihead_attention(mha, x, x, x, NB_ATTENTION_OPTS(.attn_mask = mask, .is_causal = true), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "not both");
    nb_scope_end();
    nb_module_free(mha);
    nb_module_free(lin);
}

/* ------------------------------------------------------------------------ */
/* Transformer encoder                                                       */
/* ------------------------------------------------------------------------ */

static nb_module *encoder_like_fixture(bool batch_first, bool norm_first, nb_activation activation, bool final_norm)
{
    nb_transformer_layer_opts o = nb_transformer_layer_defaults(16, 4);
    o.dim_feedforward           = 32;
    o.batch_first               = batch_first;
    o.norm_first                = norm_first;
    o.activation                = activation;
    return nb_transformer_encoder_new(o, 2, final_norm);
}

static void check_encoder(nb_module *encoder, const char *name)
{
    char path[256], key[128];
    snprintf(path, sizeof path, DIR "%s.safetensors", name);
    NBT_CHECK(encoder != NULL && nb_module_load(encoder, path) == NB_OK);
    nb_module_train(encoder, false);
    nb_scope_begin();
    snprintf(key, sizeof key, "%s_input", name);
    nb_tensor *input = load(key);
    snprintf(key, sizeof key, "%s_expected", name);
    double error = max_diff(nb_module_forward(encoder, input), load(key));
    NBT_CHECK(error <= 1e-5);
    if (!(error <= 1e-5)) fprintf(stderr, "  %s: max |nabla - torch| = %g (%s)\n", name, error, nb_last_error());
    nb_scope_end();
}

static void test_encoder_from_torch(void)
{
    nb_module *post = encoder_like_fixture(false, false, NB_ACTIVATION_RELU, true);
    nb_module *pre  = encoder_like_fixture(true, true, NB_ACTIVATION_GELU, false);
    check_encoder(post, "encoder_post");
    check_encoder(pre, "encoder_pre");
    /* Names as torch's state_dict. */
    NBT_CHECK(nb_module_tensor(post, "layers.1.self_attn.out_proj.weight") != NULL);
    NBT_CHECK(nb_module_tensor(post, "layers.0.norm2.bias") != NULL && nb_module_tensor(post, "norm.weight") != NULL);
    /* Masks, training mode with dropout 0 (the fixture's setting). */
    nb_transformer_layer_opts o = nb_transformer_layer_defaults(16, 4);
    o.dim_feedforward = 32, o.batch_first = true, o.norm_first = true, o.activation = NB_ACTIVATION_GELU, o.dropout = 0;
    nb_module *masked = nb_transformer_encoder_new(o, 2, false);
    NBT_CHECK(masked && nb_module_load(masked, DIR "encoder_pre.safetensors") == NB_OK);
    nb_scope_begin();
    nb_tensor *out = nb_transformer_forward(masked, load("encoder_masked_input"),
                                            NB_ATTENTION_OPTS(.is_causal = true,
                                                              .key_padding_mask = load("encoder_masked_padding")));
    NBT_CHECK(max_diff(out, load("encoder_masked_expected")) <= 1e-5);
    nb_scope_end();
    nb_module_free(post);
    nb_module_free(pre);
    nb_module_free(masked);
}

static nb_tensor *layer_fn(nb_tensor *const *inputs, int count, void *user)
{
    (void)count;
    return nb_transformer_forward(user, inputs[0], NB_ATTENTION_OPTS(.is_causal = true));
}

/* The layers' gradients by finite differences. Module parameters are
 * float32, so this runs in float32 with a wide step and tolerance; the
 * float64 checks of the attention itself are test_fused_gradcheck. */
static void test_layer_gradcheck(void)
{
    nb_manual_seed(9);
    for (int norm_first = 0; norm_first < 2; norm_first++) {
        nb_transformer_layer_opts o = nb_transformer_layer_defaults(8, 2);
        o.dim_feedforward = 16, o.dropout = 0, o.norm_first = norm_first, o.activation = NB_ACTIVATION_GELU;
        nb_module *layer = nb_transformer_encoder_layer_new(o);
        nb_scope_begin();
        nb_tensor *x = nb_randn(NB_SHAPE(3, 2, 8), NB_OPTS(.requires_grad = true));
        NBT_CHECK(nb_gradcheck(layer_fn, &x, 1, layer, NB_GRADCHECK_OPTS(.eps = 1e-2, .atol = 2e-2, .rtol = 5e-2)) ==
                  NB_OK);
        nb_scope_end();
        nb_module_free(layer);
    }
}

static void test_transformer_errors(void)
{
    nb_transformer_layer_opts o = nb_transformer_layer_defaults(10, 4);
    NBT_CHECK(nb_transformer_encoder_layer_new(o) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "divisible by num_heads");
    o = nb_transformer_layer_defaults(8, 2);
    o.dim_feedforward = 0;
    NBT_CHECK(nb_transformer_encoder_layer_new(o) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "dim_feedforward");
    o.dim_feedforward = 16;
    o.activation      = (nb_activation)7;
    NBT_CHECK(nb_transformer_encoder_new(o, 2, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "activation");
    o.activation = NB_ACTIVATION_RELU;
    NBT_CHECK(nb_transformer_encoder_new(o, 0, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "num_layers");
    nb_module *lin = nb_linear_new(8, 8, true);
    nb_scope_begin();
    NBT_CHECK(nb_transformer_forward(lin, nb_randn(NB_SHAPE(2, 3, 8), NB_OPTS()), NB_ATTENTION_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "not a TransformerEncoderLayer");
    nb_module *layer = nb_transformer_encoder_layer_new(o);
    NBT_CHECK(nb_module_forward(layer, nb_randn(NB_SHAPE(2, 3, 7), NB_OPTS())) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "embed_dim 8");
    nb_scope_end();
    nb_module_free(lin);
    nb_module_free(layer);
}

static void test_sinusoidal_positions(void)
{
    nb_tensor   *pe = nb_sinusoidal_positions(5, 6);
    const float *d  = pe ? nb_data(pe) : NULL;
    NBT_CHECK(d != NULL);
    if (d) {
        NBT_CHECK_NEAR(d[0 * 6 + 0], 0.0, 1e-7);
        NBT_CHECK_NEAR(d[0 * 6 + 1], 1.0, 1e-7);
        NBT_CHECK_NEAR(d[3 * 6 + 2], sin(3.0 / pow(10000.0, 2.0 / 6)), 1e-6);
        NBT_CHECK_NEAR(d[4 * 6 + 5], cos(4.0 / pow(10000.0, 4.0 / 6)), 1e-6);
    }
    nb_free(pe);
    NBT_CHECK(nb_sinusoidal_positions(3, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "dim >= 1");
}

int main(void)
{
    NBT_RUN(test_sdpa_matches_torch);
    NBT_RUN(test_fused_matches_composite_float32);
    NBT_RUN(test_fused_gradcheck);
    NBT_RUN(test_composite_fallbacks);
    NBT_RUN(test_fully_masked_row);
    NBT_RUN(test_sdpa_errors);
    NBT_RUN(test_mha_matches_torch);
    NBT_RUN(test_mha_layouts);
    NBT_RUN(test_mha_errors);
    NBT_RUN(test_encoder_from_torch);
    NBT_RUN(test_layer_gradcheck);
    NBT_RUN(test_transformer_errors);
    NBT_RUN(test_sinusoidal_positions);
    return nbt_finish();
}
