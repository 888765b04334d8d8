/*
 * misuse_elementwise13.h — the misuse cases of issue 13's elementwise ops
 * (float math, rounding, activations, bitwise, fmod and friends,
 * isclose / allclose), included by test_misuse.c: it uses that file's
 * fixtures and check macros, and is not compiled on its own.
 */
static void run_elementwise13(void)
{
    /* Unary, no parameters: float32 always works; dtype_refused says which
     * fixture dtype must be refused (the rest are taken). */
    typedef nb_tensor *(*unary13_fn)(const nb_tensor *);
    static const struct {
        const char *name;
        unary13_fn  fn;
        bool        takes_int, takes_bool;
    } unary13[] = {
        { "nb_tan", nb_tan, 0, 0 },           { "nb_asin", nb_asin, 0, 0 },     { "nb_acos", nb_acos, 0, 0 },
        { "nb_atan", nb_atan, 0, 0 },         { "nb_sinh", nb_sinh, 0, 0 },     { "nb_cosh", nb_cosh, 0, 0 },
        { "nb_asinh", nb_asinh, 0, 0 },       { "nb_acosh", nb_acosh, 0, 0 },   { "nb_atanh", nb_atanh, 0, 0 },
        { "nb_log2", nb_log2, 0, 0 },         { "nb_log10", nb_log10, 0, 0 },   { "nb_exp2", nb_exp2, 0, 0 },
        { "nb_reciprocal", nb_reciprocal, 0, 0 }, { "nb_sinc", nb_sinc, 0, 0 }, { "nb_square", nb_square, 1, 1 },
        { "nb_floor", nb_floor, 1, 0 },       { "nb_ceil", nb_ceil, 1, 0 },     { "nb_round", nb_round, 1, 0 },
        { "nb_trunc", nb_trunc, 1, 0 },       { "nb_frac", nb_frac, 0, 0 },     { "nb_selu", nb_selu, 0, 0 },
        { "nb_relu6", nb_relu6, 1, 0 },       { "nb_hardswish", nb_hardswish, 0, 0 },
        { "nb_hardsigmoid", nb_hardsigmoid, 0, 0 }, { "nb_mish", nb_mish, 0, 0 },
        { "nb_softsign", nb_softsign, 1, 0 }, { "nb_logsigmoid", nb_logsigmoid, 0, 0 },
    };
    for (size_t k = 0; k < sizeof unary13 / sizeof unary13[0]; k++) {
        begin(unary13[k].name);
        unary13_fn fn = unary13[k].fn;
        FAILS("NULL", fn(NULL));
        PENDING("NULL", fn(NULL));
        FREED("freed", fn(fresh_gone()));
        ALLOWED("float32", fn(f));
        ALLOWED("empty", fn(e));
        ALLOWED("0-d", fn(s));
        if (unary13[k].takes_int) ALLOWED("int64", fn(i64));
        else FAILS("int64", fn(i64));
        if (unary13[k].takes_bool) ALLOWED("bool", fn(b));
        else FAILS("bool", fn(b));
    }

    /* In place, no parameters. */
    typedef nb_tensor *(*inplace13_fn)(nb_tensor *);
    static const struct {
        const char  *name;
        inplace13_fn fn;
        bool         takes_int;
    } inplace13[] = {
        { "nb_tan_", nb_tan_, 0 },     { "nb_asin_", nb_asin_, 0 },   { "nb_acos_", nb_acos_, 0 },
        { "nb_atan_", nb_atan_, 0 },   { "nb_sinh_", nb_sinh_, 0 },   { "nb_cosh_", nb_cosh_, 0 },
        { "nb_asinh_", nb_asinh_, 0 }, { "nb_acosh_", nb_acosh_, 0 }, { "nb_atanh_", nb_atanh_, 0 },
        { "nb_log2_", nb_log2_, 0 },   { "nb_log10_", nb_log10_, 0 }, { "nb_exp2_", nb_exp2_, 0 },
        { "nb_reciprocal_", nb_reciprocal_, 0 }, { "nb_sinc_", nb_sinc_, 0 }, { "nb_square_", nb_square_, 1 },
        { "nb_floor_", nb_floor_, 1 }, { "nb_ceil_", nb_ceil_, 1 },   { "nb_round_", nb_round_, 1 },
        { "nb_trunc_", nb_trunc_, 1 }, { "nb_frac_", nb_frac_, 0 },   { "nb_selu_", nb_selu_, 0 },
        { "nb_relu6_", nb_relu6_, 1 }, { "nb_hardswish_", nb_hardswish_, 0 },
        { "nb_hardsigmoid_", nb_hardsigmoid_, 0 }, { "nb_mish_", nb_mish_, 0 },
        { "nb_bitwise_not_", nb_bitwise_not_, 1 },
    };
    for (size_t k = 0; k < sizeof inplace13 / sizeof inplace13[0]; k++) {
        begin(inplace13[k].name);
        inplace13_fn fn = inplace13[k].fn;
        FAILS("NULL", fn(NULL));
        PENDING("NULL", fn(NULL));
        FREED("freed", fn(fresh_gone()));
        FAILS("expanded view", fn(nb_expand(s, NB_SHAPE(4, 4))));
        FAILS("leaf requiring grad", fn(nb_ones(NB_SHAPE(2), NB_OPTS(.requires_grad = true))));
        if (inplace13[k].takes_int) ALLOWED("int64", fn(nb_clone(i64)));
        else FAILS("int64", fn(nb_clone(i64)));
        if (fn == nb_bitwise_not_) {
            FAILS("float32", fn(nb_clone(f)));
            ALLOWED("bool", fn(nb_clone(b)));
        } else {
            ALLOWED("float32", fn(nb_clone(f)));
            FAILS("bool", fn(nb_clone(b)));
        }
    }

    begin("nb_bitwise_not");
    FAILS("NULL", nb_bitwise_not(NULL));
    FREED("freed", nb_bitwise_not(fresh_gone()));
    FAILS("float32", nb_bitwise_not(f));
    ALLOWED("int64", nb_bitwise_not(i64));
    ALLOWED("bool", nb_bitwise_not(b));

    /* Parametrised unary ops and their in-place forms. */
    begin("nb_round_decimals");
    FAILS("NULL", nb_round_decimals(NULL, 1));
    FREED("freed", nb_round_decimals(fresh_gone(), 1));
    FAILS("int64", nb_round_decimals(i64, 1));
    FAILS("decimals INT64_MAX", nb_round_decimals(f, INT64_MAX));
    FAILS("decimals INT64_MIN", nb_round_decimals(f, INT64_MIN));
    ALLOWED("decimals -400", nb_round_decimals(f, -400));
    begin("nb_round_decimals_");
    FAILS("NULL", nb_round_decimals_(NULL, 1));
    FAILS("expanded view", nb_round_decimals_(nb_expand(s, NB_SHAPE(4, 4)), 1));
    FAILS("decimals 401", nb_round_decimals_(nb_clone(f), 401));
    begin("nb_leaky_relu");
    FAILS("NULL", nb_leaky_relu(NULL, 0.01));
    FREED("freed", nb_leaky_relu(fresh_gone(), 0.01));
    FAILS("int64", nb_leaky_relu(i64, 0.01));
    FAILS("NaN slope", nb_leaky_relu(f, NAN));
    ALLOWED("negative slope", nb_leaky_relu(f, -2));
    ALLOWED("infinite slope", nb_leaky_relu(f, INFINITY));
    begin("nb_leaky_relu_");
    FAILS("NULL", nb_leaky_relu_(NULL, 0.01));
    FAILS("expanded view", nb_leaky_relu_(nb_expand(s, NB_SHAPE(4, 4)), 0.01));
    FAILS("bool", nb_leaky_relu_(nb_clone(b), 0.01));
    begin("nb_elu");
    FAILS("NULL", nb_elu(NULL, 1));
    FREED("freed", nb_elu(fresh_gone(), 1));
    FAILS("int64", nb_elu(i64, 1));
    FAILS("NaN alpha", nb_elu(f, NAN));
    FAILS("infinite alpha", nb_elu(f, INFINITY));
    ALLOWED("negative alpha", nb_elu(f, -0.5));
    begin("nb_elu_");
    FAILS("NULL", nb_elu_(NULL, 1));
    FAILS("expanded view", nb_elu_(nb_expand(s, NB_SHAPE(4, 4)), 1));
    FAILS("NaN alpha", nb_elu_(nb_clone(f), NAN));
    begin("nb_celu");
    FAILS("NULL", nb_celu(NULL, 1));
    FREED("freed", nb_celu(fresh_gone(), 1));
    FAILS("int64", nb_celu(i64, 1));
    FAILS("alpha 0", nb_celu(f, 0));
    FAILS("alpha -0", nb_celu(f, -0.0));
    FAILS("NaN alpha", nb_celu(f, NAN));
    begin("nb_celu_");
    FAILS("NULL", nb_celu_(NULL, 1));
    FAILS("alpha 0", nb_celu_(nb_clone(f), 0));
    begin("nb_hardtanh");
    FAILS("NULL", nb_hardtanh(NULL, -1, 1));
    FREED("freed", nb_hardtanh(fresh_gone(), -1, 1));
    FAILS("bool", nb_hardtanh(b, -1, 1));
    FAILS("NaN min", nb_hardtanh(f, NAN, 1));
    FAILS("NaN max", nb_hardtanh(f, -1, NAN));
    FAILS("uint8, negative min", nb_hardtanh(nb_to_dtype(i64, NB_UINT8), -1, 1));
    ALLOWED("min > max", nb_hardtanh(f, 2, 1));
    ALLOWED("int64, bounds past int64", nb_hardtanh(i64, -1e300, 1e300));
    ALLOWED("infinite bounds", nb_hardtanh(f, -INFINITY, INFINITY));
    begin("nb_hardtanh_");
    FAILS("NULL", nb_hardtanh_(NULL, -1, 1));
    FAILS("expanded view", nb_hardtanh_(nb_expand(s, NB_SHAPE(4, 4)), -1, 1));
    FAILS("NaN min", nb_hardtanh_(nb_clone(f), NAN, 1));
    begin("nb_nan_to_num");
    FAILS("NULL", nb_nan_to_num(NULL, 0, NAN, NAN));
    FREED("freed", nb_nan_to_num(fresh_gone(), 0, NAN, NAN));
    ALLOWED("int64", nb_nan_to_num(i64, 0, NAN, NAN));
    ALLOWED("bool", nb_nan_to_num(b, 0, NAN, NAN));
    ALLOWED("huge replacements into float32", nb_nan_to_num(f, 1e300, 1e300, -1e300));
    begin("nb_nan_to_num_");
    FAILS("NULL", nb_nan_to_num_(NULL, 0, NAN, NAN));
    FAILS("expanded view", nb_nan_to_num_(nb_expand(s, NB_SHAPE(4, 4)), 0, NAN, NAN));

    /* Composites. */
    nb_tensor *weight3 = nb_ones(NB_SHAPE(3), NB_OPTS());
    begin("nb_prelu");
    FAILS("NULL x", nb_prelu(NULL, weight3));
    FAILS("NULL weight", nb_prelu(f, NULL));
    PENDING("NULL, NULL", nb_prelu(NULL, NULL));
    FREED("freed x", nb_prelu(fresh_gone(), weight3));
    FREED("freed weight", nb_prelu(f, fresh_gone()));
    FAILS("int64 x", nb_prelu(i64, nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64))));
    FAILS("float64 x, float32 weight", nb_prelu(d, weight3));
    FAILS("2 weights for 3 channels", nb_prelu(f, nb_ones(NB_SHAPE(2), NB_OPTS())));
    FAILS("2-d weight", nb_prelu(f, nb_ones(NB_SHAPE(1, 3), NB_OPTS())));
    FAILS("3 weights, 1-d x", nb_prelu(nb_ones(NB_SHAPE(3), NB_OPTS()), weight3));
    ALLOWED("0-d x, one weight", nb_prelu(s, nb_ones(NB_SHAPE(1), NB_OPTS())));
    ALLOWED("empty x", nb_prelu(e, weight3));
    begin("nb_glu");
    FAILS("NULL", nb_glu(NULL, -1));
    FREED("freed", nb_glu(fresh_gone(), -1));
    FAILS("odd size", nb_glu(f, 1));
    FAILS("0-d", nb_glu(s, 0));
    FAILS("int64", nb_glu(i64, 0));
    for (int j = 0; j < BAD_DIM_VALUES; j++) FAILS(nth("bad dim", j), nb_glu(f, bad_dim_values[j]));
    ALLOWED("even size", nb_glu(f, 0));
    begin("nb_isclose");
    FAILS("NULL a", nb_isclose(NULL, f, 1e-5, 1e-8, false));
    FAILS("NULL b", nb_isclose(f, NULL, 1e-5, 1e-8, false));
    FREED("freed a", nb_isclose(fresh_gone(), f, 1e-5, 1e-8, false));
    FREED("freed b", nb_isclose(f, fresh_gone(), 1e-5, 1e-8, false));
    FAILS("float32, float64", nb_isclose(f, d, 1e-5, 1e-8, false));
    FAILS("(2, 3), (4, 5)", nb_isclose(f, nb_ones(NB_SHAPE(4, 5), NB_OPTS()), 1e-5, 1e-8, false));
    FAILS("negative rtol", nb_isclose(f, f, -1, 0, false));
    FAILS("NaN atol", nb_isclose(f, f, 0, NAN, false));
    ALLOWED("bool, bool", nb_isclose(b, b, 1e-5, 1e-8, true));
    ALLOWED("infinite tolerances", nb_isclose(f, f, INFINITY, INFINITY, false));
    bool close = true;
    begin("nb_allclose");
    FAILS_S("NULL a", nb_allclose(NULL, f, 1e-5, 1e-8, false, &close));
    FAILS_S("NULL result", nb_allclose(f, f, 1e-5, 1e-8, false, NULL));
    FREED_S("freed a", nb_allclose(fresh_gone(), f, 1e-5, 1e-8, false, &close));
    FAILS_S("int64, float32", nb_allclose(i64, f, 1e-5, 1e-8, false, &close));
    FAILS_S("negative atol", nb_allclose(f, f, 0, -1, false, &close));
    ALLOWED_S("empty, empty", nb_allclose(e, e, 1e-5, 1e-8, false, &close));

    /* Binary ops, their scalar forms, fmod in place. */
    typedef nb_tensor *(*binary13_fn)(const nb_tensor *, const nb_tensor *);
    static const struct {
        const char *name;
        binary13_fn fn;
        bool        takes_float, takes_int, takes_bool;
    } binary13[] = {
        { "nb_fmod", nb_fmod, 1, 1, 0 },         { "nb_atan2", nb_atan2, 1, 1, 1 },
        { "nb_copysign", nb_copysign, 1, 1, 1 }, { "nb_hypot", nb_hypot, 1, 0, 0 }, { "nb_xlogy", nb_xlogy, 1, 1, 1 },
        { "nb_logical_xor", nb_logical_xor, 1, 1, 1 }, { "nb_bitwise_and", nb_bitwise_and, 0, 1, 1 },
        { "nb_bitwise_or", nb_bitwise_or, 0, 1, 1 }, { "nb_bitwise_xor", nb_bitwise_xor, 0, 1, 1 },
    };
    nb_tensor *wide = nb_ones(NB_SHAPE(4, 5), NB_OPTS(.dtype = NB_INT64));
    for (size_t k = 0; k < sizeof binary13 / sizeof binary13[0]; k++) {
        begin(binary13[k].name);
        binary13_fn fn = binary13[k].fn;
        FAILS("NULL, t", fn(NULL, i64));
        FAILS("t, NULL", fn(i64, NULL));
        PENDING("NULL, NULL", fn(NULL, NULL));
        FREED("freed, t", fn(fresh_gone(), i64));
        FREED("t, freed", fn(i64, fresh_gone()));
        FAILS("(2, 3), (4, 5)", fn(i64, wide));
        if (binary13[k].takes_float) ALLOWED("float32, float64", fn(f, d));
        else FAILS("float32, int64", fn(f, i64));
        if (binary13[k].takes_int) ALLOWED("int64, int64", fn(i64, i64));
        else FAILS("int64, int64", fn(i64, i64));
        if (binary13[k].takes_bool) ALLOWED("bool, bool", fn(b, b));
        else FAILS("bool, bool", fn(b, b));
    }
    begin("nb_fmod");
    FAILS("int64 by zero", nb_fmod(i64, idx));
    typedef nb_tensor *(*scalar13_fn)(const nb_tensor *, double);
    static const struct {
        const char *name;
        scalar13_fn fn;
        bool        takes_float;
    } scalar13[] = {
        { "nb_fmod_scalar", nb_fmod_scalar, 1 },         { "nb_atan2_scalar", nb_atan2_scalar, 1 },
        { "nb_copysign_scalar", nb_copysign_scalar, 1 }, { "nb_hypot_scalar", nb_hypot_scalar, 1 },
        { "nb_xlogy_scalar", nb_xlogy_scalar, 1 },
        { "nb_logical_xor_scalar", nb_logical_xor_scalar, 1 },
        { "nb_bitwise_and_scalar", nb_bitwise_and_scalar, 0 }, { "nb_bitwise_or_scalar", nb_bitwise_or_scalar, 0 },
        { "nb_bitwise_xor_scalar", nb_bitwise_xor_scalar, 0 },
    };
    for (size_t k = 0; k < sizeof scalar13 / sizeof scalar13[0]; k++) {
        begin(scalar13[k].name);
        scalar13_fn fn = scalar13[k].fn;
        FAILS("NULL", fn(NULL, 1));
        PENDING("NULL", fn(NULL, 1));
        FREED("freed", fn(fresh_gone(), 1));
        for (size_t v = 0; v < sizeof awkward / sizeof awkward[0]; v++) {
            if (scalar13[k].takes_float) ALLOWED("float32, awkward number", fn(f, awkward[v]));
            else FAILS("float32, awkward number", fn(f, awkward[v]));
        }
        if (!scalar13[k].takes_float) {
            FAILS("int64, 2.5", fn(i64, 2.5));
            ALLOWED("int64, -1", fn(i64, -1));
            ALLOWED("bool, 1", fn(b, 1));
        }
    }
    begin("nb_fmod_scalar");
    FAILS("int64 by zero", nb_fmod_scalar(i64, 0));
    ALLOWED("bool, 2 (int64, as torch)", nb_fmod_scalar(b, 2));
    begin("nb_fmod_");
    FAILS("NULL, t", nb_fmod_(NULL, f));
    FAILS("t, NULL", nb_fmod_(nb_clone(f), NULL));
    FREED("freed, t", nb_fmod_(fresh_gone(), f));
    FAILS("a broadcast that grows a", nb_fmod_(s, f));
    FAILS("int64 a, float b", nb_fmod_(nb_clone(i64), f));
    FAILS("int64 by zero", nb_fmod_(nb_clone(i64), idx));
    typedef nb_tensor *(*binary13_inplace_fn)(nb_tensor *, const nb_tensor *);
    typedef nb_tensor *(*scalar13_inplace_fn)(nb_tensor *, double);
    static const struct {
        const char         *name, *scalar_name;
        binary13_inplace_fn fn;
        scalar13_inplace_fn scalar_fn;
        bool                floats; /* takes floats (else integers and bool) */
    } inplace_binary13[] = {
        { "nb_atan2_", "nb_atan2_scalar_", nb_atan2_, nb_atan2_scalar_, 1 },
        { "nb_copysign_", "nb_copysign_scalar_", nb_copysign_, nb_copysign_scalar_, 1 },
        { "nb_hypot_", "nb_hypot_scalar_", nb_hypot_, nb_hypot_scalar_, 1 },
        { "nb_xlogy_", "nb_xlogy_scalar_", nb_xlogy_, nb_xlogy_scalar_, 1 },
        { "nb_bitwise_and_", "nb_bitwise_and_scalar_", nb_bitwise_and_, nb_bitwise_and_scalar_, 0 },
        { "nb_bitwise_or_", "nb_bitwise_or_scalar_", nb_bitwise_or_, nb_bitwise_or_scalar_, 0 },
        { "nb_bitwise_xor_", "nb_bitwise_xor_scalar_", nb_bitwise_xor_, nb_bitwise_xor_scalar_, 0 },
    };
    for (size_t k = 0; k < sizeof inplace_binary13 / sizeof inplace_binary13[0]; k++) {
        begin(inplace_binary13[k].name);
        binary13_inplace_fn fn = inplace_binary13[k].fn;
        nb_tensor          *same = inplace_binary13[k].floats ? f : i64;
        FAILS("NULL, t", fn(NULL, same));
        FAILS("t, NULL", fn(nb_clone(same), NULL));
        PENDING("NULL, NULL", fn(NULL, NULL));
        FREED("freed, t", fn(fresh_gone(), same));
        FREED("t, freed", fn(nb_clone(same), fresh_gone()));
        FAILS("a broadcast that grows a", fn(nb_clone(s), f));
        FAILS("(2, 3), (4, 5)", fn(nb_clone(same), nb_ones(NB_SHAPE(4, 5), NB_OPTS(.dtype = nb_dtype_of(same)))));
        FAILS("int64 a, float b", fn(nb_clone(i64), f));
        ALLOWED("same dtype", fn(nb_clone(same), same));
        begin(inplace_binary13[k].scalar_name);
        scalar13_inplace_fn scalar_fn = inplace_binary13[k].scalar_fn;
        FAILS("NULL", scalar_fn(NULL, 2));
        FREED("freed", scalar_fn(fresh_gone(), 2));
        FAILS("expanded view", scalar_fn(nb_expand(nb_clone(same), NB_SHAPE(2, 2, 3)), 2));
        FAILS("int64 a, 2.5", scalar_fn(nb_clone(i64), 2.5));
        if (inplace_binary13[k].floats) ALLOWED("float32 a, 2.5", scalar_fn(nb_clone(f), 2.5));
        else ALLOWED("int64 a, 3", scalar_fn(nb_clone(i64), 3));
    }
    begin("nb_fmod_scalar_");
    FAILS("NULL", nb_fmod_scalar_(NULL, 2));
    FREED("freed", nb_fmod_scalar_(fresh_gone(), 2));
    FAILS("expanded view", nb_fmod_scalar_(nb_expand(s, NB_SHAPE(3, 3)), 2));
    FAILS("int64 by 0", nb_fmod_scalar_(nb_clone(i64), 0));
    FAILS("int64 by 2.5", nb_fmod_scalar_(nb_clone(i64), 2.5));

    /* The modules (nn.h). */
    begin("nb_leaky_relu_new");
    FAILS_M("NaN slope", nb_leaky_relu_new(NAN));
    ALLOWED_M("slope -1", nb_leaky_relu_new(-1));
    begin("nb_elu_new");
    FAILS_M("NaN alpha", nb_elu_new(NAN));
    FAILS_M("infinite alpha", nb_elu_new(INFINITY));
    begin("nb_celu_new");
    FAILS_M("alpha 0", nb_celu_new(0));
    FAILS_M("NaN alpha", nb_celu_new(NAN));
    begin("nb_hardtanh_new");
    FAILS_M("min == max", nb_hardtanh_new(1, 1));
    FAILS_M("min > max", nb_hardtanh_new(2, 1));
    FAILS_M("NaN min", nb_hardtanh_new(NAN, 1));
    begin("nb_glu_new");
    nb_module *glu = nb_glu_new(INT_MIN);
    ALLOWED("dim INT_MIN (checked when run)", glu);
    if (glu) FAILS("its forward", nb_module_forward(glu, f));
    nb_module_free(glu);
    begin("nb_prelu_new");
    FAILS_M("0 parameters", nb_prelu_new(0, 0.25));
    FAILS_M("-1 parameters", nb_prelu_new(-1, 0.25));
    FAILS_M("NaN init", nb_prelu_new(1, NAN));
    FAILS_M("2^62 parameters", nb_prelu_new((int64_t)1 << 62, 0.25));
    nb_module *prelu = nb_prelu_new(2, 0.25);
    ALLOWED("2 parameters", prelu);
    if (prelu) FAILS("its forward with 3 channels", nb_module_forward(prelu, f));
    nb_module_free(prelu);
}
