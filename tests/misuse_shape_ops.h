/*
 * misuse_shape_ops.h — the misuse cases of issue 13's shape and index ops
 * (flip .. index_fill_), included by test_misuse.c: it uses that file's
 * fixtures and check macros, and is not compiled on its own.
 */
static void run_shape_ops(void)
{
    begin("nb_flip");
    FAILS("NULL", nb_flip(NULL, NB_DIMS(0)));
    PENDING("NULL", nb_flip(NULL, NB_DIMS(0)));
    FREED("freed", nb_flip(fresh_gone(), NB_DIMS(0)));
    for (int j = 0; j < BAD_DIMS; j++)
        FAILS(nth("bad dims", j), nb_flip(f, bad_dims[j]));
    ALLOWED("bool", nb_flip(b, NB_DIMS(1)));
    ALLOWED("empty", nb_flip(e, NB_DIMS(0, 1)));

    begin("nb_roll");
    FAILS("NULL", nb_roll(NULL, NB_SHAPE(1), NB_DIMS(0)));
    FREED("freed", nb_roll(fresh_gone(), NB_SHAPE(1), NB_DIMS(0)));
    FAILS("more shifts than dims", nb_roll(f, NB_SHAPE(1, 2), NB_DIMS(0)));
    FAILS("two shifts, no dims", nb_roll(f, NB_SHAPE(1, 2), (nb_dims){.n = 0}));
    FAILS("no shifts", nb_roll(f, NB_SCALAR_SHAPE, (nb_dims){.n = 0}));
    FAILS("dims -1 entries", nb_roll(f, NB_SHAPE(1), (nb_dims){.n = -1}));
    FAILS("shifts -1 entries", nb_roll(f, (nb_shape){.ndim = -1}, NB_DIMS(0)));
    FAILS("dim of a 0-d", nb_roll(s, NB_SHAPE(1), NB_DIMS(0)));
    for (int j = 0; j < BAD_DIM_VALUES; j++)
        FAILS(nth("bad dim", j), nb_roll(f, NB_SHAPE(1), NB_DIMS(bad_dim_values[j])));
    ALLOWED("shift INT64_MIN", nb_roll(f, NB_SHAPE(INT64_MIN), NB_DIMS(1)));
    ALLOWED("shift INT64_MAX, flat", nb_roll(f, NB_SHAPE(INT64_MAX), (nb_dims){.n = 0}));
    ALLOWED("empty", nb_roll(e, NB_SHAPE(3), NB_DIMS(0)));

    static const struct {
        const char *name;
        nb_tensor *(*fn)(const nb_tensor *, nb_dims, nb_dims);
    } movers[] = {{"nb_movedim", nb_movedim}, {"nb_moveaxis", nb_moveaxis}};
    for (int k = 0; k < 2; k++) {
        begin(movers[k].name);
        FAILS("NULL", movers[k].fn(NULL, NB_DIMS(0), NB_DIMS(1)));
        FREED("freed", movers[k].fn(fresh_gone(), NB_DIMS(0), NB_DIMS(1)));
        FAILS("lengths differ", movers[k].fn(f, NB_DIMS(0, 1), NB_DIMS(1)));
        for (int j = 0; j < BAD_DIMS; j++) {
            nb_dims other = {.n = bad_dims[j].n >= 0 && bad_dims[j].n <= 2 ? bad_dims[j].n : 1, .dims = {0, 1}};
            FAILS(nth("bad source", j), movers[k].fn(f, bad_dims[j], other));
            FAILS(nth("bad destination", j), movers[k].fn(f, other, bad_dims[j]));
        }
    }
    static const struct {
        const char *name;
        nb_tensor *(*fn)(const nb_tensor *, int, int);
    } swaps[] = {{"nb_swapaxes", nb_swapaxes}, {"nb_swapdims", nb_swapdims}};
    for (int k = 0; k < 2; k++) {
        begin(swaps[k].name);
        FAILS("NULL", swaps[k].fn(NULL, 0, 1));
        FREED("freed", swaps[k].fn(fresh_gone(), 0, 1));
        for (int j = 0; j < BAD_DIM_VALUES; j++)
            FAILS(nth("bad dim0", j), swaps[k].fn(f, bad_dim_values[j], 0));
        for (int j = 0; j < BAD_DIM_VALUES; j++)
            FAILS(nth("bad dim1", j), swaps[k].fn(f, 0, bad_dim_values[j]));
    }

    begin("nb_unbind");
    nb_tensor *pieces[4] = {NULL};
    FAILS_V("NULL", nb_unbind(NULL, 0, pieces, 4));
    FAILS_V("freed", nb_unbind(fresh_gone(), 0, pieces, 4));
    FAILS_V("0-d", nb_unbind(s, 0, pieces, 4));
    FAILS_V("NULL out", nb_unbind(f, 0, NULL, 4));
    FAILS_V("negative capacity", nb_unbind(f, 0, pieces, -1));
    for (int j = 0; j < BAD_DIM_VALUES; j++)
        FAILS_V(nth("bad dim", j), nb_unbind(f, bad_dim_values[j], pieces, 4));
    ALLOWED_V("count only", nb_unbind(f, 1, NULL, 0));

    static const struct {
        const char *name;
        nb_tensor *(*fn)(const nb_tensor *, int64_t);
    } triangles[] = {{"nb_tril", nb_tril}, {"nb_triu", nb_triu}, {"nb_diag", nb_diag}};
    for (int k = 0; k < 3; k++) {
        begin(triangles[k].name);
        FAILS("NULL", triangles[k].fn(NULL, 0));
        PENDING("NULL", triangles[k].fn(NULL, 0));
        FREED("freed", triangles[k].fn(fresh_gone(), 0));
        FAILS("0-d", triangles[k].fn(s, 0));
        if (triangles[k].fn == nb_diag)
            FAILS("4-d", nb_diag(f4, 0));
        else
            ALLOWED("4-d (batched)", triangles[k].fn(f4, 0));
        ALLOWED("diagonal INT64_MAX", triangles[k].fn(f, INT64_MAX));
        ALLOWED("diagonal INT64_MIN", triangles[k].fn(f, INT64_MIN));
        ALLOWED("bool", triangles[k].fn(b, 1));
        ALLOWED("empty", triangles[k].fn(e, -1));
    }

    begin("nb_trace");
    FAILS("NULL", nb_trace(NULL));
    FREED("freed", nb_trace(fresh_gone()));
    FAILS("bool", nb_trace(b));
    FAILS("0-d", nb_trace(s));
    FAILS("4-d", nb_trace(f4));
    ALLOWED("int64", nb_trace(i64));
    ALLOWED("empty", nb_trace(e));

    static const struct {
        const char *name;
        nb_tensor *(*fn)(const nb_tensor *, nb_shape);
    } repeaters[] = {{"nb_repeat", nb_repeat}, {"nb_tile", nb_tile}};
    for (int k = 0; k < 2; k++) {
        begin(repeaters[k].name);
        FAILS("NULL", repeaters[k].fn(NULL, NB_SHAPE(2, 2)));
        FREED("freed", repeaters[k].fn(fresh_gone(), NB_SHAPE(2, 2)));
        FAILS("negative", repeaters[k].fn(f, NB_SHAPE(-1, 2)));
        FAILS("too large", repeaters[k].fn(f, NB_SHAPE(INT64_MAX, 2)));
        FAILS("overflow in product", repeaters[k].fn(f, NB_SHAPE((int64_t)1 << 40, (int64_t)1 << 40)));
        FAILS("9 dims", repeaters[k].fn(f, (nb_shape){.ndim = NB_MAX_DIMS + 1}));
        FAILS("-1 dims", repeaters[k].fn(f, (nb_shape){.ndim = -1}));
        ALLOWED("zero", repeaters[k].fn(f, NB_SHAPE(0, 2)));
        ALLOWED("8 dims", repeaters[k].fn(f, NB_SHAPE(1, 1, 1, 1, 1, 1, 2, 2)));
    }
    begin("nb_repeat");
    FAILS("fewer sizes than dims", nb_repeat(f, NB_SHAPE(2)));
    nb_tensor *eight = nb_ones(NB_SHAPE(1, 1, 1, 1, 1, 1, 1, 2), NB_OPTS());
    ALLOWED("8-d t", nb_repeat(eight, NB_SHAPE(1, 1, 1, 1, 1, 1, 2, 3)));
    ALLOWED("8-d t, zero", nb_repeat(eight, NB_SHAPE(1, 1, 1, 1, 1, 1, 0, 3)));

    begin("nb_repeat_interleave");
    FAILS("NULL", nb_repeat_interleave(NULL, 2, 0));
    FREED("freed", nb_repeat_interleave(fresh_gone(), 2, 0));
    FAILS("negative", nb_repeat_interleave(f, -1, 0));
    FAILS("0-d", nb_repeat_interleave(s, 2, 0));
    FAILS("too long", nb_repeat_interleave(f, INT64_MAX, 0));
    for (int j = 0; j < BAD_DIM_VALUES; j++)
        FAILS(nth("bad dim", j), nb_repeat_interleave(f, 2, bad_dim_values[j]));

    begin("nb_repeat_interleave_tensor");
    nb_tensor *counts = nb_full(NB_SHAPE(2), 2, NB_OPTS(.dtype = NB_INT64));
    nb_tensor *three  = nb_full(NB_SHAPE(3), 2, NB_OPTS(.dtype = NB_INT64));
    nb_tensor *minus  = nb_full(NB_SHAPE(2), -2, NB_OPTS(.dtype = NB_INT64));
    nb_tensor *huge   = nb_full(NB_SHAPE(2), (double)((int64_t)1 << 61), NB_OPTS(.dtype = NB_INT64));
    FAILS("NULL t", nb_repeat_interleave_tensor(NULL, counts, 0, -1));
    FAILS("NULL repeats", nb_repeat_interleave_tensor(f, NULL, 0, -1));
    FREED("freed t", nb_repeat_interleave_tensor(fresh_gone(), counts, 0, -1));
    FREED("freed repeats", nb_repeat_interleave_tensor(f, fresh_gone(), 0, -1));
    FAILS("float repeats", nb_repeat_interleave_tensor(f, f, 0, -1));
    FAILS("2-d repeats", nb_repeat_interleave_tensor(f, idx, 0, -1));
    FAILS("3 counts for 2 slices", nb_repeat_interleave_tensor(f, three, 0, -1));
    FAILS("negative count", nb_repeat_interleave_tensor(f, minus, 0, -1));
    FAILS("total overflows", nb_repeat_interleave_tensor(f, huge, 0, -1));
    FAILS("wrong output_size", nb_repeat_interleave_tensor(f, counts, 0, 5));
    FAILS("output_size -2", nb_repeat_interleave_tensor(f, counts, 0, -2));
    FAILS("0-d t", nb_repeat_interleave_tensor(s, counts, 0, -1));
    for (int j = 0; j < BAD_DIM_VALUES; j++)
        FAILS(nth("bad dim", j), nb_repeat_interleave_tensor(f, counts, bad_dim_values[j], -1));
    ALLOWED("output_size given", nb_repeat_interleave_tensor(f, counts, 0, 4));

    begin("nb_tensor_split");
    FAILS_V("NULL", nb_tensor_split(NULL, 2, 0, pieces, 4));
    FAILS_V("freed", nb_tensor_split(fresh_gone(), 2, 0, pieces, 4));
    FAILS_V("0 sections", nb_tensor_split(f, 0, 0, pieces, 4));
    FAILS_V("negative sections", nb_tensor_split(f, INT64_MIN, 0, pieces, 4));
    FAILS_V("0-d", nb_tensor_split(s, 2, 0, pieces, 4));
    FAILS_V("NULL out", nb_tensor_split(f, 2, 0, NULL, 4));
    FAILS_V("negative capacity", nb_tensor_split(f, 2, 0, pieces, -4));
    for (int j = 0; j < BAD_DIM_VALUES; j++)
        FAILS_V(nth("bad dim", j), nb_tensor_split(f, 2, bad_dim_values[j], pieces, 4));
    ALLOWED_V("many sections, count only", nb_tensor_split(f, INT64_MAX, 0, NULL, 0));

    begin("nb_tensor_split_indices");
    const int64_t cuts[] = {1, INT64_MAX, INT64_MIN};
    FAILS_V("NULL", nb_tensor_split_indices(NULL, cuts, 1, 0, pieces, 4));
    FAILS_V("freed", nb_tensor_split_indices(fresh_gone(), cuts, 1, 0, pieces, 4));
    FAILS_V("NULL indices", nb_tensor_split_indices(f, NULL, 2, 0, pieces, 4));
    FAILS_V("count -1", nb_tensor_split_indices(f, cuts, -1, 0, pieces, 4));
    FAILS_V("0-d", nb_tensor_split_indices(s, cuts, 1, 0, pieces, 4));
    FAILS_V("NULL out", nb_tensor_split_indices(f, cuts, 1, 0, NULL, 4));
    for (int j = 0; j < BAD_DIM_VALUES; j++)
        FAILS_V(nth("bad dim", j), nb_tensor_split_indices(f, cuts, 1, bad_dim_values[j], pieces, 4));
    int64_t n = nb_tensor_split_indices(f, cuts, 3, 1, pieces, 4);
    check_allowed("extreme indices", n != 4);
    for (int64_t k = 0; k < n && k < 4; k++)
        nb_free(pieces[k]);

    begin("nb_meshgrid");
    nb_tensor *line = nb_ones(NB_SHAPE(3), NB_OPTS()), *line64 = nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *grids[NB_MAX_DIMS + 1];
    nb_tensor *lines[NB_MAX_DIMS + 1];
    for (int k = 0; k <= NB_MAX_DIMS; k++)
        lines[k] = line;
    nb_tensor *with_null[2] = {line, NULL}, *with_gone[2] = {line, fresh_gone()};
    nb_tensor *mixed[2] = {line, line64}, *matrix[2] = {line, f};
    FAILS_S("NULL list", nb_meshgrid(NULL, 2, "ij", grids));
    FAILS_S("NULL out", nb_meshgrid(lines, 2, "ij", NULL));
    FAILS_S("count 0", nb_meshgrid(lines, 0, "ij", grids));
    FAILS_S("count 9", nb_meshgrid(lines, NB_MAX_DIMS + 1, "ij", grids));
    FAILS_S("NULL indexing", nb_meshgrid(lines, 2, NULL, grids));
    FAILS_S("indexing \"ji\"", nb_meshgrid(lines, 2, "ji", grids));
    FAILS_S("a NULL entry", nb_meshgrid(with_null, 2, "ij", grids));
    FREED_S("a freed entry", nb_meshgrid(with_gone, 2, "xy", grids));
    FAILS_S("dtypes differ", nb_meshgrid(mixed, 2, "ij", grids));
    FAILS_S("a 2-d entry", nb_meshgrid(matrix, 2, "ij", grids));
    check_allowed("8 tensors", nb_meshgrid(lines, NB_MAX_DIMS, "xy", grids) != NB_OK);
    for (int k = 0; k < NB_MAX_DIMS; k++)
        nb_free(grids[k]);

    begin("nb_diag_embed");
    FAILS("NULL", nb_diag_embed(NULL, 0, -2, -1));
    FREED("freed", nb_diag_embed(fresh_gone(), 0, -2, -1));
    FAILS("same dims", nb_diag_embed(f, 0, 1, -2));
    FAILS("0-d", nb_diag_embed(s, 0, 0, -1));
    FAILS("offset INT64_MAX", nb_diag_embed(f, INT64_MAX, 0, 1));
    FAILS("offset INT64_MIN", nb_diag_embed(f, INT64_MIN, 0, 1));
    FAILS("8-d t", nb_diag_embed(eight, 0, 0, 1));
    for (int j = 0; j < BAD_DIM_VALUES; j++)
        if (bad_dim_values[j] != 2 && bad_dim_values[j] != -3)
            FAILS(nth("bad dim", j), nb_diag_embed(f, 0, bad_dim_values[j], 0));
    static const struct {
        const char *name;
        nb_tensor *(*fn)(const nb_tensor *);
    } lifts[] = {{"nb_atleast_1d", nb_atleast_1d}, {"nb_atleast_2d", nb_atleast_2d}, {"nb_atleast_3d", nb_atleast_3d}};
    for (int k = 0; k < 3; k++) {
        begin(lifts[k].name);
        FAILS("NULL", lifts[k].fn(NULL));
        PENDING("NULL", lifts[k].fn(NULL));
        FREED("freed", lifts[k].fn(fresh_gone()));
        ALLOWED("0-d", lifts[k].fn(s));
        ALLOWED("8-d", lifts[k].fn(eight));
    }
    static const struct {
        const char *name;
        nb_tensor *(*fn)(nb_tensor *const *, int);
    } stackers[]       = {{"nb_hstack", nb_hstack}, {"nb_vstack", nb_vstack}, {"nb_dstack", nb_dstack}};
    nb_tensor *pair[2] = {f, f}, *uneven[2] = {f, f4}, *eights[2] = {eight, eight};
    for (int k = 0; k < 3; k++) {
        begin(stackers[k].name);
        FAILS("NULL list", stackers[k].fn(NULL, 2));
        FAILS("count 0", stackers[k].fn(pair, 0));
        FAILS("count -1", stackers[k].fn(pair, -1));
        FAILS("a NULL entry", stackers[k].fn(with_null, 2));
        FREED("a freed entry", stackers[k].fn(with_gone, 2));
        FAILS("ranks differ", stackers[k].fn(uneven, 2));
        if (stackers[k].fn == nb_hstack) /* 1-d pieces join along their one dim */
            ALLOWED("dtypes mix, lengths differ", nb_hstack(mixed, 2));
        else
            FAILS("dtypes mix, lengths differ", stackers[k].fn(mixed, 2));
        ALLOWED("8-d", stackers[k].fn(eights, 2));
    }

    begin("nb_diag");
    FAILS("offset INT64_MAX of a vector", nb_diag(line, INT64_MAX));
    FAILS("offset INT64_MIN of a vector", nb_diag(line, INT64_MIN));
}

/* The shared misuse of index_add / index_copy / index_fill, out of place
 * and in place: call(k) runs case k on (t, dim, index, source). */
static void run_index_put(void)
{
    nb_tensor *rows    = nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64)); /* [0, 0] */
    nb_tensor *rows32  = nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT32));
    nb_tensor *past    = nb_full(NB_SHAPE(1), 2, NB_OPTS(.dtype = NB_INT64));
    nb_tensor *below   = nb_full(NB_SHAPE(1), -3, NB_OPTS(.dtype = NB_INT64));
    nb_tensor *src     = nb_ones(NB_SHAPE(2, 3), NB_OPTS());
    nb_tensor *src1    = nb_ones(NB_SHAPE(1, 3), NB_OPTS());
    nb_tensor *src_bad = nb_ones(NB_SHAPE(2, 4), NB_OPTS());

    begin("nb_index_add");
    FAILS("NULL t", nb_index_add(NULL, 0, rows, src, 1));
    PENDING("NULL t", nb_index_add(NULL, 0, rows, src, 1));
    FAILS("NULL index", nb_index_add(f, 0, NULL, src, 1));
    FAILS("NULL source", nb_index_add(f, 0, rows, NULL, 1));
    FREED("freed t", nb_index_add(fresh_gone(), 0, rows, src, 1));
    FREED("freed index", nb_index_add(f, 0, fresh_gone(), src, 1));
    FREED("freed source", nb_index_add(f, 0, rows, fresh_gone(), 1));
    FAILS("float index", nb_index_add(f, 0, f, src, 1));
    FAILS("2-d index", nb_index_add(f, 0, idx, src, 1));
    FAILS("index past the end", nb_index_add(f, 0, past, src1, 1));
    FAILS("negative index", nb_index_add(f, 0, below, src1, 1));
    FAILS("source dtype", nb_index_add(f, 0, rows, d, 1));
    FAILS("source shape", nb_index_add(f, 0, rows, src_bad, 1));
    FAILS("count differs", nb_index_add(f, 0, rows, src1, 1));
    for (int j = 0; j < BAD_DIM_VALUES; j++)
        FAILS(nth("bad dim", j), nb_index_add(f, bad_dim_values[j], rows, src, 1));
    ALLOWED("int32 index", nb_index_add(f, 0, rows32, src, 2));
    ALLOWED("alpha nan", nb_index_add(f, 0, rows, src, NAN));

    begin("nb_index_copy");
    FAILS("NULL t", nb_index_copy(NULL, 0, rows, src));
    FAILS("NULL index", nb_index_copy(f, 0, NULL, src));
    FAILS("NULL source", nb_index_copy(f, 0, rows, NULL));
    FREED("freed t", nb_index_copy(fresh_gone(), 0, rows, src));
    FREED("freed source", nb_index_copy(f, 0, rows, fresh_gone()));
    FAILS("int32 index", nb_index_copy(f, 0, rows32, src));
    FAILS("index past the end", nb_index_copy(f, 0, past, src1));
    FAILS("negative index", nb_index_copy(f, 0, below, src1));
    FAILS("source dtype", nb_index_copy(f, 0, rows, d));
    FAILS("source shape", nb_index_copy(f, 0, rows, src_bad));
    for (int j = 0; j < BAD_DIM_VALUES; j++)
        FAILS(nth("bad dim", j), nb_index_copy(f, bad_dim_values[j], rows, src));

    begin("nb_index_fill");
    FAILS("NULL t", nb_index_fill(NULL, 0, rows, 1));
    FAILS("NULL index", nb_index_fill(f, 0, NULL, 1));
    FREED("freed t", nb_index_fill(fresh_gone(), 0, rows, 1));
    FREED("freed index", nb_index_fill(f, 0, fresh_gone(), 1));
    FAILS("int32 index", nb_index_fill(f, 0, rows32, 1));
    FAILS("2-d index", nb_index_fill(f, 0, idx, 1));
    FAILS("index past the end", nb_index_fill(f, 0, past, 1));
    FAILS("index before the start", nb_index_fill(f, 0, below, 1));
    FAILS("inf into int64", nb_index_fill(i64, 0, rows, INFINITY));
    FAILS("1e300 into float32", nb_index_fill(f, 0, rows, 1e300));
    for (int j = 0; j < BAD_DIM_VALUES; j++)
        FAILS(nth("bad dim", j), nb_index_fill(f, bad_dim_values[j], rows, 1));
    ALLOWED("nan", nb_index_fill(f, 1, rows, NAN));

    nb_tensor *expanded = nb_expand(s, NB_SHAPE(2, 3));
    nb_tensor *leaf     = nb_ones(NB_SHAPE(2, 3), NB_OPTS(.requires_grad = true));
    begin("nb_index_add_");
    FAILS("NULL t", nb_index_add_(NULL, 0, rows, src, 1));
    FREED("freed t", nb_index_add_(fresh_gone(), 0, rows, src, 1));
    FAILS("expanded t", nb_index_add_(expanded, 0, rows, src, 1));
    FAILS("leaf requiring grad", nb_index_add_(leaf, 0, rows, src, 1));
    FAILS("index past the end", nb_index_add_(f, 0, past, src1, 1));
    FAILS("source dtype", nb_index_add_(f, 0, rows, d, 1));
    begin("nb_index_copy_");
    FAILS("NULL t", nb_index_copy_(NULL, 0, rows, src));
    FREED("freed t", nb_index_copy_(fresh_gone(), 0, rows, src));
    FAILS("expanded t", nb_index_copy_(expanded, 0, rows, src));
    FAILS("leaf requiring grad", nb_index_copy_(leaf, 0, rows, src));
    FAILS("negative index", nb_index_copy_(f, 0, below, src1));
    begin("nb_index_fill_");
    FAILS("NULL t", nb_index_fill_(NULL, 0, rows, 1));
    FREED("freed t", nb_index_fill_(fresh_gone(), 0, rows, 1));
    FAILS("expanded t", nb_index_fill_(expanded, 0, rows, 1));
    FAILS("leaf requiring grad", nb_index_fill_(leaf, 0, rows, 1));
    FAILS("300 into uint8", nb_index_fill_(nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_UINT8)), 0, past, 300));

    begin("nb_take_along_dim");
    nb_tensor *column = nb_zeros(NB_SHAPE(2, 1), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *far    = nb_full(NB_SHAPE(2, 1), 3, NB_OPTS(.dtype = NB_INT64));
    FAILS("NULL t", nb_take_along_dim(NULL, column, 1));
    FAILS("NULL indices", nb_take_along_dim(f, NULL, 1));
    FREED("freed t", nb_take_along_dim(fresh_gone(), column, 1));
    FREED("freed indices", nb_take_along_dim(f, fresh_gone(), 1));
    FAILS("float indices", nb_take_along_dim(f, f, 1));
    FAILS("rank differs", nb_take_along_dim(f, rows, 1));
    FAILS("index past the end", nb_take_along_dim(f, far, 1));
    FAILS("0-d", nb_take_along_dim(s, nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = NB_INT64)), 0));
    FAILS("shapes do not broadcast", nb_take_along_dim(f, nb_zeros(NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_INT64)), 0));
    for (int j = 0; j < BAD_DIM_VALUES; j++)
        FAILS(nth("bad dim", j), nb_take_along_dim(f, column, bad_dim_values[j]));
}
