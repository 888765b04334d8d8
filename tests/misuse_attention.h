/*
 * misuse_attention.h — the misuse cases of issue 14's attention and
 * transformer functions (nabla/nn.h), included by test_misuse.c: it uses
 * that file's fixtures (f is (2, 3) float32, d float64, i64, b bool) and
 * check macros, and is not compiled on its own.
 */
static void run_attention(void)
{
    nb_tensor *k = nb_ones(NB_SHAPE(4, 3), NB_OPTS()), *v = nb_ones(NB_SHAPE(4, 5), NB_OPTS());
    typedef nb_tensor *(*sdpa_fn)(const nb_tensor *, const nb_tensor *, const nb_tensor *, const nb_tensor *, double,
                                  bool, double);
    static const struct {
        const char *name;
        sdpa_fn     fn;
    } sdpa[] = { { "nb_scaled_dot_product_attention", nb_scaled_dot_product_attention },
                 { "nb_scaled_dot_product_attention_composite", nb_scaled_dot_product_attention_composite } };
    for (int i = 0; i < 2; i++) {
        begin(sdpa[i].name);
        FAILS("NULL query", sdpa[i].fn(NULL, k, v, NULL, 0, false, 0));
        PENDING("NULL key", sdpa[i].fn(f, NULL, v, NULL, 0, false, 0));
        FREED("freed value", sdpa[i].fn(f, k, fresh_gone(), NULL, 0, false, 0));
        FREED("freed mask", sdpa[i].fn(f, k, v, fresh_gone(), 0, false, 0));
        FAILS("int64 query", sdpa[i].fn(i64, k, v, NULL, 0, false, 0));
        FAILS("float64 key", sdpa[i].fn(f, nb_ones(NB_SHAPE(4, 3), NB_OPTS(.dtype = NB_FLOAT64)), v, NULL, 0, false, 0));
        FAILS("1-d query", sdpa[i].fn(nb_ones(NB_SHAPE(3), NB_OPTS()), k, v, NULL, 0, false, 0));
        FAILS("key width differs", sdpa[i].fn(f, v, v, NULL, 0, false, 0));
        FAILS("value length differs", sdpa[i].fn(f, k, f, NULL, 0, false, 0));
        FAILS("mask does not broadcast", sdpa[i].fn(f, k, v, nb_ones(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_BOOL)), 0,
                                                    false, 0));
        FAILS("int64 mask", sdpa[i].fn(f, k, v, nb_ones(NB_SHAPE(2, 4), NB_OPTS(.dtype = NB_INT64)), 0, false, 0));
        FAILS("mask and causal", sdpa[i].fn(f, k, v, nb_ones(NB_SHAPE(2, 4), NB_OPTS(.dtype = NB_BOOL)), 0, true, 0));
        FAILS("dropout -0.1", sdpa[i].fn(f, k, v, NULL, -0.1, false, 0));
        FAILS("dropout NaN", sdpa[i].fn(f, k, v, NULL, NAN, false, 0));
        ALLOWED("empty query", sdpa[i].fn(nb_ones(NB_SHAPE(0, 3), NB_OPTS()), k, v, NULL, 0, false, 0));
    }

    begin("nb_multihead_attention_new");
    FAILS_M("embed_dim 0", nb_multihead_attention_new(0, 1, 0, true, false));
    FAILS_M("num_heads -1", nb_multihead_attention_new(4, -1, 0, true, false));
    FAILS_M("embed_dim 6, 4 heads", nb_multihead_attention_new(6, 4, 0, true, false));
    FAILS_M("dropout 1", nb_multihead_attention_new(4, 2, 1.0, true, false));
    FAILS_M("dropout NaN", nb_multihead_attention_new(4, 2, NAN, true, false));
    nb_module *mha = nb_multihead_attention_new(4, 2, 0, true, true), *lin = nb_linear_new(4, 4, true);
    nb_tensor *x   = nb_ones(NB_SHAPE(2, 3, 4), NB_OPTS());
    begin("nb_multihead_attention");
    nb_tensor *weights;
    FAILS("NULL module", nb_multihead_attention(NULL, x, x, x, NB_ATTENTION_OPTS(), &weights));
    FAILS("a Linear", nb_multihead_attention(lin, x, x, x, NB_ATTENTION_OPTS(), &weights));
    FAILS("NULL query", nb_multihead_attention(mha, NULL, x, x, NB_ATTENTION_OPTS(), &weights));
    FREED("freed key", nb_multihead_attention(mha, x, fresh_gone(), x, NB_ATTENTION_OPTS(), NULL));
    FREED("freed mask", nb_multihead_attention(mha, x, x, x, NB_ATTENTION_OPTS(.attn_mask = fresh_gone()), NULL));
    FAILS("width 3", nb_multihead_attention(mha, f, f, f, NB_ATTENTION_OPTS(), NULL));
    FAILS("4-d query", nb_multihead_attention(mha, nb_ones(NB_SHAPE(1, 2, 3, 4), NB_OPTS()), x, x, NB_ATTENTION_OPTS(), NULL));
    FAILS("int64 mask", nb_multihead_attention(mha, x, x, x, NB_ATTENTION_OPTS(.attn_mask = nb_zeros(NB_SHAPE(3, 3), NB_OPTS(.dtype = NB_INT64))), NULL));
    FAILS("mask (2, 3)", nb_multihead_attention(mha, x, x, x, NB_ATTENTION_OPTS(.attn_mask = b), NULL));
    FAILS("padding (2, 4)", nb_multihead_attention(mha, x, x, x, NB_ATTENTION_OPTS(.key_padding_mask = nb_zeros(NB_SHAPE(2, 4), NB_OPTS(.dtype = NB_BOOL))), NULL));
    FAILS("causal and mask", nb_multihead_attention(mha, x, x, x, NB_ATTENTION_OPTS(.is_causal = true, .attn_mask = nb_zeros(NB_SHAPE(3, 3), NB_OPTS(.dtype = NB_BOOL))), NULL));

    begin("nb_transformer_encoder_layer_new");
    nb_transformer_layer_opts o = nb_transformer_layer_defaults(4, 2);
    o.dim_feedforward           = 8;
    nb_transformer_layer_opts bad = o;
    bad.nhead                     = 3;
    FAILS_M("d_model 4, 3 heads", nb_transformer_encoder_layer_new(bad));
    bad = o, bad.dim_feedforward = -1;
    FAILS_M("dim_feedforward -1", nb_transformer_encoder_layer_new(bad));
    bad = o, bad.layer_norm_eps = NAN;
    FAILS_M("layer_norm_eps NaN", nb_transformer_encoder_layer_new(bad));
    bad = o, bad.dropout = 2;
    FAILS_M("dropout 2", nb_transformer_encoder_layer_new(bad));
    bad = o, bad.activation = (nb_activation)-1;
    FAILS_M("activation -1", nb_transformer_encoder_layer_new(bad));
    begin("nb_transformer_encoder_new");
    FAILS_M("0 layers", nb_transformer_encoder_new(o, 0, false));
    FAILS_M("-3 layers", nb_transformer_encoder_new(o, -3, true));
    bad = o, bad.d_model = 0;
    FAILS_M("d_model 0", nb_transformer_encoder_new(bad, 2, true));
    bad = nb_transformer_layer_defaults(-4, 2);
    FAILS_M("d_model -4", nb_transformer_encoder_new(bad, 1, false));
    begin("nb_transformer_forward");
    nb_module *layer = nb_transformer_encoder_layer_new(o);
    FAILS("NULL module", nb_transformer_forward(NULL, x, NB_ATTENTION_OPTS()));
    FAILS("a Linear", nb_transformer_forward(lin, x, NB_ATTENTION_OPTS()));
    FAILS("NULL src", nb_transformer_forward(layer, NULL, NB_ATTENTION_OPTS()));
    FREED("freed src", nb_transformer_forward(layer, fresh_gone(), NB_ATTENTION_OPTS()));
    FAILS("width 3", nb_transformer_forward(layer, f, NB_ATTENTION_OPTS()));
    FAILS("bad padding mask", nb_transformer_forward(layer, x, NB_ATTENTION_OPTS(.key_padding_mask = f)));
    begin("nb_sinusoidal_positions");
    FAILS("length -1", nb_sinusoidal_positions(-1, 4));
    FAILS("dim 0", nb_sinusoidal_positions(3, 0));
    ALLOWED("length 0", nb_sinusoidal_positions(0, 4));
    nb_module_free(layer);
    nb_module_free(mha);
    nb_module_free(lin);
}
