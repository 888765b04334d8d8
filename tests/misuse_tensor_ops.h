/*
 * misuse_tensor_ops.h — the misuse cases of nabla.h's views, elementwise
 * extras, reductions, joining and indexing, conversion and printing,
 * included by test_misuse.c: it uses that file's fixtures and check
 * macros, and is not compiled on its own.
 */
static void run_views(void)
{
    begin("nb_transpose");
    FAILS("NULL", nb_transpose(NULL, 0, 1));
    FREED("freed", nb_transpose(fresh_gone(), 0, 1));
    for (int j = 0; j < BAD_DIM_VALUES; j++) FAILS(nth("bad dim0", j), nb_transpose(f, bad_dim_values[j], 0));
    for (int j = 0; j < BAD_DIM_VALUES; j++) FAILS(nth("bad dim1", j), nb_transpose(f, 0, bad_dim_values[j]));
    begin("nb_permute");
    FAILS("NULL", nb_permute(NULL, NB_DIMS(1, 0)));
    FREED("freed", nb_permute(fresh_gone(), NB_DIMS(1, 0)));
    for (int j = 0; j < BAD_DIMS; j++) FAILS(nth("bad order", j), nb_permute(f, bad_dims[j]));
    FAILS("too short", nb_permute(f, NB_DIMS(0)));
    begin("nb_broadcast_shapes");
    nb_shape out;
    FAILS_S("(2, 3), (4, 5)", nb_broadcast_shapes(NB_SHAPE(2, 3), NB_SHAPE(4, 5), &out));
    FAILS_S("NULL out", nb_broadcast_shapes(NB_SHAPE(2, 3), NB_SHAPE(2, 3), NULL));
    for (int j = 0; j < BAD_SHAPES; j++)
        if (bad_shapes[j].ndim < 0 || bad_shapes[j].ndim > NB_MAX_DIMS || bad_shapes[j].dims[0] < 0 ||
            bad_shapes[j].dims[1] < 0)
            FAILS_S(nth("bad shape", j), nb_broadcast_shapes(bad_shapes[j], NB_SHAPE(1), &out));
    begin("nb_flatten");
    FAILS("NULL", nb_flatten(NULL, 0, -1));
    FREED("freed", nb_flatten(fresh_gone(), 0, -1));
    FAILS("start after end", nb_flatten(f, 1, 0));
    for (int j = 0; j < BAD_DIM_VALUES; j++) FAILS(nth("bad start", j), nb_flatten(f, bad_dim_values[j], -1));
    begin("nb_unflatten");
    FAILS("NULL", nb_unflatten(NULL, 1, NB_SHAPE(3, 1)));
    FREED("freed", nb_unflatten(fresh_gone(), 1, NB_SHAPE(3, 1)));
    FAILS("sizes do not multiply to 3", nb_unflatten(f, 1, NB_SHAPE(2, 2)));
    FAILS("bad dim", nb_unflatten(f, 5, NB_SHAPE(3, 1)));
    for (int j = 0; j < BAD_SHAPES; j++)
        if (j != 3) FAILS(nth("bad sizes", j), nb_unflatten(f, 1, bad_shapes[j]));
    begin("nb_narrow");
    FAILS("NULL", nb_narrow(NULL, 0, 0, 1));
    FREED("freed", nb_narrow(fresh_gone(), 0, 0, 1));
    FAILS("negative length", nb_narrow(f, 0, 0, -1));
    FAILS("past the end", nb_narrow(f, 0, 1, 5));
    FAILS("start INT64_MAX", nb_narrow(f, 0, INT64_MAX, 1));
    FAILS("length INT64_MAX", nb_narrow(f, 0, 1, INT64_MAX));
    FAILS("start INT64_MIN", nb_narrow(f, 0, INT64_MIN, 1));
    for (int j = 0; j < BAD_DIM_VALUES; j++) FAILS(nth("bad dim", j), nb_narrow(f, bad_dim_values[j], 0, 1));
    begin("nb_slice");
    FAILS("NULL", nb_slice(NULL, 0, 0, 1, 1));
    FREED("freed", nb_slice(fresh_gone(), 0, 0, 1, 1));
    FAILS("step 0", nb_slice(f, 0, 0, 2, 0));
    FAILS("negative step", nb_slice(f, 0, 0, 2, -1));
    ALLOWED("INT64_MIN..INT64_MAX", nb_slice(f, 0, INT64_MIN, INT64_MAX, INT64_MAX));
    for (int j = 0; j < BAD_DIM_VALUES; j++) FAILS(nth("bad dim", j), nb_slice(f, bad_dim_values[j], 0, 1, 1));
    begin("nb_select");
    FAILS("NULL", nb_select(NULL, 0, 0));
    FREED("freed", nb_select(fresh_gone(), 0, 0));
    FAILS("index 2 of 2", nb_select(f, 0, 2));
    FAILS("index -3 of 2", nb_select(f, 0, -3));
    FAILS("index INT64_MIN", nb_select(f, 0, INT64_MIN));
    FAILS("0-d", nb_select(s, 0, 0));
    begin("nb_diagonal");
    FAILS("NULL", nb_diagonal(NULL, 0, 0, 1));
    FREED("freed", nb_diagonal(fresh_gone(), 0, 0, 1));
    FAILS("same dims", nb_diagonal(f, 0, 1, 1));
    FAILS("bad dim", nb_diagonal(f, 0, 0, 7));
    ALLOWED("offset INT64_MIN", nb_diagonal(f, INT64_MIN, 0, 1));
    ALLOWED("offset INT64_MAX", nb_diagonal(f, INT64_MAX, 0, 1));
}

static void run_elementwise_extras(void)
{
    begin("nb_gelu");
    FAILS("NULL", nb_gelu(NULL, false));
    FREED("freed", nb_gelu(fresh_gone(), true));
    FAILS("int64", nb_gelu(i64, false));
    begin("nb_softplus");
    FAILS("NULL", nb_softplus(NULL, 1, 20));
    FREED("freed", nb_softplus(fresh_gone(), 1, 20));
    FAILS("int64", nb_softplus(i64, 1, 20));
    ALLOWED("beta 0", nb_softplus(f, 0, 20));
    ALLOWED("NaN threshold", nb_softplus(f, 1, NAN));
    begin("nb_clamp");
    FAILS("NULL", nb_clamp(NULL, 0, 1));
    FREED("freed", nb_clamp(fresh_gone(), 0, 1));
    FAILS("int64, whole bound past int64", nb_clamp(i64, -1e300, 1e300));
    ALLOWED("min > max", nb_clamp(f, 2, 1));
    ALLOWED("no bounds", nb_clamp(f, NAN, NAN));
    begin("nb_clamp_");
    FAILS("NULL", nb_clamp_(NULL, 0, 1));
    FREED("freed", nb_clamp_(fresh_gone(), 0, 1));
    FAILS("expanded view", nb_clamp_(nb_expand(s, NB_SHAPE(2, 2)), 0, 1));
    FAILS("int64 with a fractional bound", nb_clamp_(nb_clone(i64), 0.5, 1));
    begin("nb_where");
    FAILS("NULL cond", nb_where(NULL, f, f));
    FAILS("NULL a", nb_where(b, NULL, f));
    FAILS("NULL b", nb_where(b, f, NULL));
    FREED("freed cond", nb_where(fresh_gone(), f, f));
    FREED("freed a", nb_where(b, fresh_gone(), f));
    FAILS("float cond", nb_where(f, f, f));
    FAILS("shapes", nb_where(b, f, nb_ones(NB_SHAPE(4, 5), NB_OPTS())));
}

static void run_reductions_extras(void)
{
    typedef nb_tensor *(*dim_keep_fn)(const nb_tensor *, int, bool);
    static const struct {
        const char *name;
        dim_keep_fn fn;
    } argdims[] = { { "nb_argmax_dim", nb_argmax_dim }, { "nb_argmin_dim", nb_argmin_dim } };
    for (int k = 0; k < 2; k++) {
        begin(argdims[k].name);
        FAILS("NULL", argdims[k].fn(NULL, 0, false));
        FREED("freed", argdims[k].fn(fresh_gone(), 0, false));
        FAILS("bool", argdims[k].fn(b, 0, false));
        FAILS("empty dim", argdims[k].fn(e, 0, false));
        for (int j = 0; j < BAD_DIM_VALUES; j++) FAILS(nth("bad dim", j), argdims[k].fn(f, bad_dim_values[j], true));
    }
    typedef nb_tensor *(*maxdim_fn)(const nb_tensor *, int, bool, nb_tensor **);
    static const struct {
        const char *name;
        maxdim_fn   fn;
    } maxdims[] = { { "nb_max_dim", nb_max_dim }, { "nb_min_dim", nb_min_dim } };
    for (int k = 0; k < 2; k++) {
        begin(maxdims[k].name);
        nb_tensor *indices = f;
        FAILS("NULL", maxdims[k].fn(NULL, 0, false, &indices));
        NBT_CHECK(indices == NULL || indices == f);
        FREED("freed", maxdims[k].fn(fresh_gone(), 0, false, NULL));
        FAILS("empty dim", maxdims[k].fn(e, 0, false, NULL));
        for (int j = 0; j < BAD_DIM_VALUES; j++)
            FAILS(nth("bad dim", j), maxdims[k].fn(f, bad_dim_values[j], true, &indices));
    }
    typedef nb_tensor *(*corr_fn)(const nb_tensor *, int64_t);
    static const struct {
        const char *name;
        corr_fn     fn;
    } corrs[] = { { "nb_var", nb_var }, { "nb_std", nb_std } };
    for (int k = 0; k < 2; k++) {
        begin(corrs[k].name);
        FAILS("NULL", corrs[k].fn(NULL, 1));
        FREED("freed", corrs[k].fn(fresh_gone(), 1));
        FAILS("int64", corrs[k].fn(i64, 1));
        ALLOWED("correction INT64_MAX", corrs[k].fn(f, INT64_MAX));
        ALLOWED("correction INT64_MIN", corrs[k].fn(f, INT64_MIN));
    }
    typedef nb_tensor *(*corr_dims_fn)(const nb_tensor *, nb_dims, int64_t, bool);
    static const struct {
        const char  *name;
        corr_dims_fn fn;
    } corr_dims[] = { { "nb_var_dims", nb_var_dims }, { "nb_std_dims", nb_std_dims } };
    for (int k = 0; k < 2; k++) {
        begin(corr_dims[k].name);
        FAILS("NULL", corr_dims[k].fn(NULL, NB_DIMS(0), 1, false));
        FREED("freed", corr_dims[k].fn(fresh_gone(), NB_DIMS(0), 1, false));
        for (int j = 0; j < BAD_DIMS; j++) FAILS(nth("bad dims", j), corr_dims[k].fn(f, bad_dims[j], 1, false));
    }
    begin("nb_norm_dims");
    FAILS("NULL", nb_norm_dims(NULL, 2, NB_DIMS(0), false));
    FREED("freed", nb_norm_dims(fresh_gone(), 2, NB_DIMS(0), false));
    FAILS("NaN p", nb_norm_dims(f, NAN, NB_DIMS(0), false));
    for (int j = 0; j < BAD_DIMS; j++) FAILS(nth("bad dims", j), nb_norm_dims(f, 2, bad_dims[j], false));
    begin("nb_norm");
    FAILS("NaN p", nb_norm(f, NAN));
}

static void run_joining(void)
{
    nb_tensor *pair[2]     = { f, f };
    nb_tensor *with_null[2] = { f, NULL };
    nb_tensor *with_gone[2] = { f, fresh_gone() };
    nb_tensor *mixed[2]    = { f, nb_ones(NB_SHAPE(4, 5), NB_OPTS()) };
    typedef nb_tensor *(*join_fn)(nb_tensor *const *, int, int);
    static const struct {
        const char *name;
        join_fn     fn;
    } joins[] = { { "nb_cat", nb_cat }, { "nb_stack", nb_stack } };
    for (int k = 0; k < 2; k++) {
        begin(joins[k].name);
        FAILS("NULL list", joins[k].fn(NULL, 2, 0));
        FAILS("count 0", joins[k].fn(pair, 0, 0));
        FAILS("count -1", joins[k].fn(pair, -1, 0));
        FAILS("a NULL entry", joins[k].fn(with_null, 2, 0));
        FREED("a freed entry", joins[k].fn(with_gone, 2, 0));
        FAILS("shapes that differ", joins[k].fn(mixed, 2, 0));
        for (int j = 0; j < BAD_DIM_VALUES; j++)
            if (!(joins[k].fn == nb_stack && (bad_dim_values[j] == 2 || bad_dim_values[j] == -3)))
                FAILS(nth("bad dim", j), joins[k].fn(pair, 2, bad_dim_values[j]));
    }
    typedef int64_t (*split_fn)(const nb_tensor *, int64_t, int, nb_tensor **, int64_t);
    static const struct {
        const char *name;
        split_fn    fn;
    } splits[] = { { "nb_split", nb_split }, { "nb_chunk", nb_chunk } };
    for (int k = 0; k < 2; k++) {
        begin(splits[k].name);
        nb_tensor *out[4];
        FAILS_V("NULL", splits[k].fn(NULL, 1, 0, out, 4));
        FAILS_V("freed", splits[k].fn(fresh_gone(), 1, 0, out, 4));
        FAILS_V("size 0", splits[k].fn(f, 0, 0, out, 4));
        FAILS_V("size -1", splits[k].fn(f, -1, 0, out, 4));
        FAILS_V("bad dim", splits[k].fn(f, 1, 9, out, 4));
        FAILS_V("NULL out with capacity", splits[k].fn(f, 1, 0, NULL, 4));
        FAILS_V("negative capacity", splits[k].fn(f, 1, 0, out, -1));
        ALLOWED_V("capacity smaller than the count", splits[k].fn(f, 1, 1, out, 1));
        ALLOWED_V("INT64_MAX pieces", splits[k].fn(f, INT64_MAX, 0, out, 4));
    }
    begin("nb_index_select");
    FAILS("NULL t", nb_index_select(NULL, 0, idx));
    FAILS("NULL index", nb_index_select(f, 0, NULL));
    FREED("freed index", nb_index_select(f, 0, fresh_gone()));
    FAILS("float index", nb_index_select(f, 0, f));
    FAILS("2-d index", nb_index_select(f, 0, idx));
    FAILS("index out of range", nb_index_select(f, 0, nb_full(NB_SHAPE(1), 7, NB_OPTS(.dtype = NB_INT64))));
    FAILS("negative index", nb_index_select(f, 0, nb_full(NB_SHAPE(1), -1, NB_OPTS(.dtype = NB_INT64))));
    FAILS("index INT64_MIN", nb_index_select(f, 0, nb_full(NB_SHAPE(1), -9.3e18, NB_OPTS(.dtype = NB_INT64))));
    FAILS("bad dim", nb_index_select(f, 5, nb_zeros(NB_SHAPE(1), NB_OPTS(.dtype = NB_INT64))));
    begin("nb_gather");
    FAILS("NULL t", nb_gather(NULL, 0, idx));
    FAILS("NULL index", nb_gather(f, 0, NULL));
    FREED("freed", nb_gather(fresh_gone(), 0, idx));
    FAILS("float index", nb_gather(f, 0, f));
    FAILS("index out of range", nb_gather(f, 0, nb_full(NB_SHAPE(2, 3), 5, NB_OPTS(.dtype = NB_INT64))));
    FAILS("bad dim", nb_gather(f, -9, idx));
    typedef nb_tensor *(*scatter_fn)(const nb_tensor *, int, const nb_tensor *, const nb_tensor *);
    static const struct {
        const char *name;
        scatter_fn  fn;
    } scatters[] = { { "nb_scatter", nb_scatter }, { "nb_scatter_add", nb_scatter_add } };
    nb_tensor *far = nb_full(NB_SHAPE(2, 3), 9, NB_OPTS(.dtype = NB_INT64));
    for (int k = 0; k < 2; k++) {
        begin(scatters[k].name);
        FAILS("NULL t", scatters[k].fn(NULL, 0, idx, f));
        FAILS("NULL index", scatters[k].fn(f, 0, NULL, f));
        FAILS("NULL src", scatters[k].fn(f, 0, idx, NULL));
        FREED("freed src", scatters[k].fn(f, 0, idx, fresh_gone()));
        FAILS("float index", scatters[k].fn(f, 0, f, f));
        FAILS("index out of range", scatters[k].fn(f, 0, far, f));
        FAILS("bad dim", scatters[k].fn(f, 3, idx, f));
        FAILS("index larger than src", scatters[k].fn(f, 0, nb_zeros(NB_SHAPE(5, 5), NB_OPTS(.dtype = NB_INT64)), f));
    }
    typedef nb_tensor *(*scatter_inplace_fn)(nb_tensor *, int, const nb_tensor *, const nb_tensor *);
    static const struct {
        const char        *name;
        scatter_inplace_fn fn;
    } scatters_[] = { { "nb_scatter_", nb_scatter_ }, { "nb_scatter_add_", nb_scatter_add_ } };
    for (int k = 0; k < 2; k++) {
        begin(scatters_[k].name);
        nb_tensor *target = nb_zeros(NB_SHAPE(2, 3), NB_OPTS());
        FAILS("NULL t", scatters_[k].fn(NULL, 0, idx, f));
        FAILS("NULL index", scatters_[k].fn(target, 0, NULL, f));
        FREED("freed t", scatters_[k].fn(fresh_gone(), 0, idx, f));
        FAILS("index out of range", scatters_[k].fn(target, 0, far, f));
        FAILS("src is t", scatters_[k].fn(target, 0, idx, target));
        FAILS("bad dim", scatters_[k].fn(target, -7, idx, f));
    }
    begin("nb_masked_fill");
    FAILS("NULL t", nb_masked_fill(NULL, b, 0));
    FAILS("NULL mask", nb_masked_fill(f, NULL, 0));
    FREED("freed mask", nb_masked_fill(f, fresh_gone(), 0));
    FAILS("float mask", nb_masked_fill(f, f, 0));
    FAILS("shapes", nb_masked_fill(f, nb_ones(NB_SHAPE(4, 5), NB_OPTS(.dtype = NB_BOOL)), 0));
    FAILS("1e300 into int64", nb_masked_fill(i64, b, 1e300));
    FAILS("NaN into int64", nb_masked_fill(i64, b, NAN));
    begin("nb_one_hot");
    FAILS("NULL", nb_one_hot(NULL, 3));
    FREED("freed", nb_one_hot(fresh_gone(), 3));
    FAILS("float", nb_one_hot(f, 3));
    FAILS("class past num_classes", nb_one_hot(nb_full(NB_SHAPE(2), 5, NB_OPTS(.dtype = NB_INT64)), 3));
    FAILS("negative class", nb_one_hot(nb_full(NB_SHAPE(2), -1, NB_OPTS(.dtype = NB_INT64)), 3));
    FAILS("num_classes -5", nb_one_hot(idx, -5));
    FAILS("2^62 classes", nb_one_hot(nb_zeros(NB_SHAPE(4), NB_OPTS(.dtype = NB_INT64)), (int64_t)1 << 62));
    begin("nb_sort");
    nb_tensor *indices = NULL;
    FAILS("NULL", nb_sort(NULL, 0, false, &indices));
    FREED("freed", nb_sort(fresh_gone(), 0, false, NULL));
    for (int j = 0; j < BAD_DIM_VALUES; j++) FAILS(nth("bad dim", j), nb_sort(f, bad_dim_values[j], false, &indices));
    begin("nb_topk");
    FAILS("NULL", nb_topk(NULL, 1, 0, true, &indices));
    FREED("freed", nb_topk(fresh_gone(), 1, 0, true, NULL));
    FAILS("k -1", nb_topk(f, -1, 1, true, NULL));
    FAILS("k 4 of 3", nb_topk(f, 4, 1, true, NULL));
    FAILS("k INT64_MAX", nb_topk(f, INT64_MAX, 1, true, NULL));
    FAILS("bool", nb_topk(b, 1, 1, true, NULL));
    for (int j = 0; j < BAD_DIM_VALUES; j++) FAILS(nth("bad dim", j), nb_topk(f, 1, bad_dim_values[j], true, NULL));
}

static void run_conversion_and_printing(void)
{
    begin("nb_to_dtype");
    FAILS("NULL", nb_to_dtype(NULL, NB_FLOAT64));
    FREED("freed", nb_to_dtype(fresh_gone(), NB_FLOAT64));
    FAILS("dtype 99", nb_to_dtype(f, (nb_dtype)99));
    FAILS("dtype -1", nb_to_dtype(f, (nb_dtype)-1));
    begin("nb_to");
    FAILS("NULL", nb_to(NULL, NB_DEVICE_CPU));
    FREED("freed", nb_to(fresh_gone(), NB_DEVICE_CPU));
    FAILS("CUDA (none in this build)", nb_to(f, (nb_device){ NB_CUDA, 0 }));
    FAILS("device type 7", nb_to(f, (nb_device){ (nb_device_type)7, 0 }));
    begin("nb_to_string");
    FAILS("NULL", nb_to_string(NULL));
    FREED("freed", nb_to_string(fresh_gone()));
    begin("nb_string_free");
    nb_string_free(NULL);
    check_allowed("NULL", nb_last_status() != NB_OK);
    begin("nb_print");
    FAILS_S("NULL", nb_print(NULL));
    FREED_S("freed", nb_print(fresh_gone()));
    begin("nb_fprint");
    FAILS_S("NULL tensor", nb_fprint(stdout, NULL));
    FAILS_S("NULL file", nb_fprint(NULL, f));
    FREED_S("freed", nb_fprint(stdout, fresh_gone()));
}

/* amax/amin, nansum/nanmean, cumprod/cummax/cummin, median, quantile,
 * unique, bincount, histc. */
static void run_statistics(void)
{
    typedef nb_tensor *(*dims_fn)(const nb_tensor *, nb_dims, bool);
    static const struct {
        const char *name;
        dims_fn     fn;
        bool        empty_fails;
    } dims_ops[] = { { "nb_amax", nb_amax, true },
                     { "nb_amin", nb_amin, true },
                     { "nb_nansum_dims", nb_nansum_dims, false },
                     { "nb_nanmean_dims", nb_nanmean_dims, false } };
    for (int k = 0; k < 4; k++) {
        begin(dims_ops[k].name);
        FAILS("NULL", dims_ops[k].fn(NULL, NB_DIMS(0), false));
        FREED("freed", dims_ops[k].fn(fresh_gone(), NB_DIMS(0), false));
        FAILS("bad dim", dims_ops[k].fn(f, NB_DIMS(2), false));
        FAILS("repeated dim", dims_ops[k].fn(f, NB_DIMS(0, -2), false));
        FAILS("dim list -1", dims_ops[k].fn(f, (nb_dims){ .n = -1 }, false));
        if (dims_ops[k].empty_fails) FAILS("empty dim", dims_ops[k].fn(e, NB_DIMS(0), false));
        else ALLOWED("empty dim", dims_ops[k].fn(e, NB_DIMS(0), false));
    }
    begin("nb_nansum");
    FAILS("NULL", nb_nansum(NULL));
    FREED("freed", nb_nansum(fresh_gone()));
    ALLOWED("int64", nb_nansum(i64));
    begin("nb_nanmean");
    FAILS("NULL", nb_nanmean(NULL));
    FREED("freed", nb_nanmean(fresh_gone()));
    FAILS("int64", nb_nanmean(i64));
    FAILS("int64 dims", nb_nanmean_dims(i64, NB_DIMS(0), false));

    begin("nb_cumprod");
    FAILS("NULL", nb_cumprod(NULL, 0));
    FREED("freed", nb_cumprod(fresh_gone(), 0));
    for (int j = 0; j < BAD_DIM_VALUES; j++) FAILS(nth("bad dim", j), nb_cumprod(f, bad_dim_values[j]));
    typedef nb_tensor *(*cum_fn)(const nb_tensor *, int, nb_tensor **);
    static const struct {
        const char *name;
        cum_fn      fn;
    } cums[] = { { "nb_cummax", nb_cummax }, { "nb_cummin", nb_cummin } };
    for (int k = 0; k < 2; k++) {
        begin(cums[k].name);
        nb_tensor *indices = f;
        FAILS("NULL", cums[k].fn(NULL, 0, &indices));
        NBT_CHECK(indices == NULL);
        FREED("freed", cums[k].fn(fresh_gone(), 0, NULL));
        for (int j = 0; j < BAD_DIM_VALUES; j++) FAILS(nth("bad dim", j), cums[k].fn(f, bad_dim_values[j], &indices));
        ALLOWED("bool", cums[k].fn(b, 1, NULL));
    }

    typedef nb_tensor *(*all_fn)(const nb_tensor *);
    typedef nb_tensor *(*median_fn)(const nb_tensor *, int, bool, nb_tensor **);
    static const struct {
        const char *all_name, *dim_name;
        all_fn      all;
        median_fn   dim;
    } medians[] = { { "nb_median", "nb_median_dim", nb_median, nb_median_dim },
                    { "nb_nanmedian", "nb_nanmedian_dim", nb_nanmedian, nb_nanmedian_dim } };
    for (int k = 0; k < 2; k++) {
        begin(medians[k].all_name);
        FAILS("NULL", medians[k].all(NULL));
        FREED("freed", medians[k].all(fresh_gone()));
        FAILS("bool", medians[k].all(b));
        ALLOWED("empty float: NaN", medians[k].all(e));
        FAILS("empty int64", medians[k].all(nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_INT64))));
        begin(medians[k].dim_name);
        nb_tensor *indices = f;
        FAILS("NULL", medians[k].dim(NULL, 0, false, &indices));
        NBT_CHECK(indices == NULL);
        FREED("freed", medians[k].dim(fresh_gone(), 0, false, NULL));
        FAILS("bool", medians[k].dim(b, 0, false, NULL));
        FAILS("empty dim", medians[k].dim(e, 0, false, &indices));
        for (int j = 0; j < BAD_DIM_VALUES; j++)
            FAILS(nth("bad dim", j), medians[k].dim(f, bad_dim_values[j], true, &indices));
    }

    typedef nb_tensor *(*quantile_fn)(const nb_tensor *, double, nb_dims, bool, nb_quantile_interpolation);
    typedef nb_tensor *(*quantile_tensor_fn)(const nb_tensor *, const nb_tensor *, nb_dims, bool,
                                             nb_quantile_interpolation);
    static const struct {
        const char        *name, *tensor_name;
        quantile_fn        number;
        quantile_tensor_fn tensor;
    } quantiles[] = { { "nb_quantile", "nb_quantile_tensor", nb_quantile, nb_quantile_tensor },
                      { "nb_nanquantile", "nb_nanquantile_tensor", nb_nanquantile, nb_nanquantile_tensor } };
    for (int k = 0; k < 2; k++) {
        begin(quantiles[k].name);
        FAILS("NULL", quantiles[k].number(NULL, 0.5, NB_DIMS(0), false, NB_QUANTILE_LINEAR));
        FREED("freed", quantiles[k].number(fresh_gone(), 0.5, NB_DIMS(0), false, NB_QUANTILE_LINEAR));
        FAILS("int64", quantiles[k].number(i64, 0.5, NB_DIMS(0), false, NB_QUANTILE_LINEAR));
        FAILS("q -0.1", quantiles[k].number(f, -0.1, NB_DIMS(0), false, NB_QUANTILE_LINEAR));
        FAILS("q 1.5", quantiles[k].number(f, 1.5, NB_DIMS(0), false, NB_QUANTILE_LINEAR));
        FAILS("q NaN", quantiles[k].number(f, NAN, NB_DIMS(0), false, NB_QUANTILE_LINEAR));
        FAILS("two dims", quantiles[k].number(f, 0.5, NB_DIMS(0, 1), false, NB_QUANTILE_LINEAR));
        FAILS("bad dim", quantiles[k].number(f, 0.5, NB_DIMS(2), false, NB_QUANTILE_LINEAR));
        FAILS("empty", quantiles[k].number(e, 0.5, NB_DIMS(1), false, NB_QUANTILE_LINEAR));
        FAILS("bad mode", quantiles[k].number(f, 0.5, NB_DIMS(0), false, (nb_quantile_interpolation)99));
        begin(quantiles[k].tensor_name);
        nb_tensor *q = nb_full(NB_SHAPE(2), 0.5, NB_OPTS());
        FAILS("NULL q", quantiles[k].tensor(f, NULL, NB_DIMS(0), false, NB_QUANTILE_LINEAR));
        FREED("freed q", quantiles[k].tensor(f, fresh_gone(), NB_DIMS(0), false, NB_QUANTILE_LINEAR));
        FAILS("q float64", quantiles[k].tensor(f, nb_to_dtype(q, NB_FLOAT64), NB_DIMS(0), false, NB_QUANTILE_LINEAR));
        FAILS("q 2-d", quantiles[k].tensor(f, nb_reshape(q, NB_SHAPE(1, 2)), NB_DIMS(0), false, NB_QUANTILE_LINEAR));
        FAILS("q > 1", quantiles[k].tensor(f, nb_add_scalar(q, 1), NB_DIMS(0), false, NB_QUANTILE_LINEAR));
    }

    typedef nb_tensor *(*unique_fn)(const nb_tensor *, nb_tensor **, nb_tensor **);
    static const struct {
        const char *name;
        unique_fn   fn;
    } uniques[] = { { "nb_unique", nb_unique }, { "nb_unique_consecutive", nb_unique_consecutive } };
    for (int k = 0; k < 2; k++) {
        begin(uniques[k].name);
        nb_tensor *inverse = f, *counts = f;
        FAILS("NULL", uniques[k].fn(NULL, &inverse, &counts));
        NBT_CHECK(inverse == NULL && counts == NULL);
        FREED("freed", uniques[k].fn(fresh_gone(), NULL, NULL));
        ALLOWED("empty", uniques[k].fn(e, NULL, NULL));
        ALLOWED("bool", uniques[k].fn(b, NULL, NULL));
    }

    begin("nb_bincount");
    nb_tensor *counts = nb_arange(0, 4, 1, NB_OPTS(.dtype = NB_INT64));
    FAILS("NULL", nb_bincount(NULL, NULL, 0));
    FREED("freed", nb_bincount(fresh_gone(), NULL, 0));
    FREED("freed weights", nb_bincount(counts, fresh_gone(), 0));
    FAILS("float", nb_bincount(f, NULL, 0));
    FAILS("bool", nb_bincount(b, NULL, 0));
    FAILS("2-d", nb_bincount(i64, NULL, 0));
    FAILS("negative", nb_bincount(nb_sub_scalar(counts, 2), NULL, 0));
    FAILS("minlength -1", nb_bincount(counts, NULL, -1));
    FAILS("weights length", nb_bincount(counts, nb_ones(NB_SHAPE(3), NB_OPTS()), 0));
    ALLOWED("bool weights", nb_bincount(counts, nb_ones(NB_SHAPE(4), NB_OPTS(.dtype = NB_BOOL)), 0));
    ALLOWED("empty", nb_bincount(nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_INT64)), NULL, 0));

    begin("nb_histc");
    FAILS("NULL", nb_histc(NULL, 3, 0, 1));
    FREED("freed", nb_histc(fresh_gone(), 3, 0, 1));
    FAILS("int64", nb_histc(i64, 3, 0, 1));
    FAILS("bins 0", nb_histc(f, 0, 0, 1));
    FAILS("bins -1", nb_histc(f, -1, 0, 1));
    FAILS("min > max", nb_histc(f, 3, 1, 0));
    FAILS("NaN min", nb_histc(f, 3, NAN, 1));
    FAILS("infinite max", nb_histc(f, 3, 0, INFINITY));
    ALLOWED("empty", nb_histc(e, 3, 0, 0));
}


/* nb_index, nb_index_put, nb_index_put_. */
static void run_index_expressions(void)
{
    nb_tensor *rows  = nb_arange(0, 2, 1, NB_OPTS(.dtype = NB_INT64));
    nb_tensor *wide  = nb_full(NB_SHAPE(1), 5, NB_OPTS(.dtype = NB_INT64));
    nb_tensor *i32   = nb_zeros(NB_SHAPE(1), NB_OPTS(.dtype = NB_INT32));
    nb_tensor *mask3 = nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_BOOL));
    begin("nb_index");
    FAILS("NULL", nb_index(NULL, NB_INDEX(NB_AT(0))));
    FREED("freed", nb_index(fresh_gone(), NB_INDEX(NB_AT(0))));
    FREED("freed index", nb_index(f, NB_INDEX(NB_WITH(fresh_gone()))));
    FAILS("NULL index tensor", nb_index(f, NB_INDEX(NB_WITH(NULL))));
    FAILS("int out of range", nb_index(f, NB_INDEX(NB_AT(2))));
    FAILS("int below range", nb_index(f, NB_INDEX(NB_AT(-3))));
    FAILS("too many", nb_index(f, NB_INDEX(NB_AT(0), NB_AT(0), NB_AT(0))));
    FAILS("two ellipses", nb_index(f, NB_INDEX(NB_ELLIPSIS, NB_ELLIPSIS)));
    FAILS("step 0", nb_index(f, NB_INDEX(NB_SLICE(0, 2, 0))));
    FAILS("step -1", nb_index(f, NB_INDEX(NB_SLICE(0, 2, -1))));
    FAILS("tensor out of range", nb_index(f, NB_INDEX(NB_WITH(wide))));
    FAILS("int32 index", nb_index(f, NB_INDEX(NB_WITH(i32))));
    FAILS("float index", nb_index(f, NB_INDEX(NB_WITH(f))));
    FAILS("mask shape", nb_index(f, NB_INDEX(NB_WITH(mask3))));
    FAILS("count -1", nb_index(f, (nb_index_list){ .n = -1 }));
    FAILS("count 17", nb_index(f, (nb_index_list){ .n = NB_MAX_INDEX_ITEMS + 1 }));
    FAILS("bad kind", nb_index(f, (nb_index_list){ .n = 1, .items = { { .kind = (nb_index_kind)42 } } }));
    FAILS("9 dims", nb_index(f, NB_INDEX(NB_NEWAXIS, NB_NEWAXIS, NB_NEWAXIS, NB_NEWAXIS, NB_NEWAXIS, NB_NEWAXIS,
                                         NB_NEWAXIS)));
    ALLOWED("empty list", nb_index(f, (nb_index_list){ .n = 0 }));
    ALLOWED("rows", nb_index(f, NB_INDEX(NB_WITH(rows))));
    typedef nb_tensor *(*put_fn)(nb_tensor *, nb_index_list, const nb_tensor *, bool);
    static const struct {
        const char *name;
        put_fn      fn;
    } puts[] = { { "nb_index_put", (put_fn)nb_index_put }, { "nb_index_put_", nb_index_put_ } };
    for (int k = 0; k < 2; k++) {
        begin(puts[k].name);
        nb_tensor *target = nb_zeros(NB_SHAPE(2, 3), NB_OPTS());
        FAILS("NULL", puts[k].fn(NULL, NB_INDEX(NB_AT(0)), f, false));
        FAILS("NULL values", puts[k].fn(target, NB_INDEX(NB_AT(0)), NULL, false));
        FREED("freed", puts[k].fn(fresh_gone(), NB_INDEX(NB_AT(0)), f, false));
        FREED("freed values", puts[k].fn(target, NB_INDEX(NB_AT(0)), fresh_gone(), false));
        FAILS("values shape", puts[k].fn(target, NB_INDEX(NB_WITH(rows)), nb_ones(NB_SHAPE(3, 3), NB_OPTS()), false));
        FAILS("values too big", puts[k].fn(target, NB_INDEX(NB_AT(0)), f, false));
        FAILS("out of range", puts[k].fn(target, NB_INDEX(NB_WITH(wide)), s, true));
        nb_tensor *expanded = nb_expand(nb_zeros(NB_SHAPE(1, 3), NB_OPTS()), NB_SHAPE(2, 3));
        if (k == 1) FAILS("expanded target", puts[k].fn(expanded, NB_INDEX(NB_WITH(rows)), s, false));
        else ALLOWED("expanded t (copied)", puts[k].fn(expanded, NB_INDEX(NB_WITH(rows)), s, false));
        ALLOWED("int values into float", puts[k].fn(target, NB_INDEX(NB_WITH(rows)), i64, false));
    }
}
