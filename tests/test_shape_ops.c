/*
 * test_shape_ops.c — issue 13's shape and index ops beyond what the op
 * table (test_opinfo.c) compares with PyTorch: which results are views of
 * their input (a write through one shows in the other, as torch's ._base
 * says) and which are copies, autograd's view rules through them (in-place
 * writes into an unbind piece reach the base's gradient; the version check
 * catches a saved input changed through a view), deterministic
 * accumulation of index_add, the 8-d fallbacks of repeat, and gradchecks
 * of cases the table has no room for.
 *
 * Values expected here were printed by PyTorch 1.13.
 */
#include "nb_test.h"

static nb_tensor *iota(nb_shape shape) { return nbt_iota(shape, NB_FLOAT32); }

/* ------------------------------------------------------------------------ */
/* Views share storage; copies do not                                       */
/* ------------------------------------------------------------------------ */

static void test_views_share_storage(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(2, 3, 4));
    /* movedim(a, 0, 2): shape (3, 4, 2), strides (4, 1, 12). */
    nb_tensor *m = nb_movedim(a, NB_DIMS(0), NB_DIMS(2));
    NBT_CHECK(nbt_has_shape(m, NB_SHAPE(3, 4, 2)) && nb_stride(m, 0) == 4 && nb_stride(m, 1) == 1 &&
              nb_stride(m, 2) == 12);
    NBT_CHECK(nb_fill_(nb_select(nb_select(m, 0, 1), 0, 2), -1) != NULL); /* m[1, 2, :] is a[:, 1, 2] */
    NBT_CHECK(nb_item(nb_select(nb_select(nb_select(a, 0, 1), 0, 1), 0, 2)) == -1);
    NBT_CHECK(nb_item(nb_select(nb_select(nb_select(a, 0, 0), 0, 1), 0, 2)) == -1);
    /* swapaxes is transpose. */
    nb_tensor *w = nb_swapaxes(a, 0, -1);
    NBT_CHECK(nbt_has_shape(w, NB_SHAPE(4, 3, 2)) && nb_stride(w, 0) == 1 && nb_stride(w, 2) == 12);
    /* unbind: piece 1 of dim 1 is a[:, 1, :]. */
    nb_tensor *pieces[3];
    NBT_CHECK(nb_unbind(a, 1, pieces, 3) == 3);
    NBT_CHECK(nb_fill_(pieces[2], 7) != NULL);
    NBT_CHECK(nb_item(nb_select(nb_select(nb_select(a, 0, 1), 0, 2), 0, 3)) == 7);
    for (int k = 0; k < 3; k++)
        nb_free(pieces[k]);
    /* tensor_split: the second of 3 sections along the last dim (4 = 2 + 1 + 1). */
    nb_tensor *sections[3];
    NBT_CHECK(nb_tensor_split(a, 3, -1, sections, 3) == 3);
    NBT_CHECK(nbt_has_shape(sections[0], NB_SHAPE(2, 3, 2)) && nbt_has_shape(sections[1], NB_SHAPE(2, 3, 1)));
    NBT_CHECK(nb_storage_offset(sections[1]) == 2 && nb_storage_offset(sections[2]) == 3);
    NBT_CHECK(nb_fill_(sections[1], 9) != NULL);
    NBT_CHECK(nb_item(nb_select(nb_select(nb_select(a, 0, 0), 0, 0), 0, 2)) == 9);
    /* meshgrid's grids read their inputs' memory (expanded views). */
    nb_tensor *x = iota(NB_SHAPE(3)), *y = iota(NB_SHAPE(2));
    nb_tensor *grids[2], *inputs[2]      = {x, y};
    NBT_CHECK(nb_meshgrid(inputs, 2, "xy", grids) == NB_OK);
    NBT_CHECK(nbt_has_shape(grids[0], NB_SHAPE(2, 3)) && nb_stride(grids[0], 0) == 0);
    NBT_CHECK(nb_fill_(nb_select(x, 0, 2), 5) != NULL);
    NBT_CHECK_TENSOR(grids[0], NB_SHAPE(2, 3), 0, 0, 1, 5, 0, 1, 5);
    NBT_CHECK_TENSOR(grids[1], NB_SHAPE(2, 3), 0, 0, 0, 0, 1, 1, 1);
    /* atleast_3d of a vector is the view (1, n, 1); of a 3-d t, t itself. */
    nb_tensor *lifted = nb_atleast_3d(y);
    NBT_CHECK(nbt_has_shape(lifted, NB_SHAPE(1, 2, 1)));
    NBT_CHECK(nb_fill_(lifted, 4) != NULL);
    NBT_CHECK_TENSOR(y, NB_SHAPE(2), 0, 4, 4);
    nb_tensor *same = nb_atleast_3d(a);
    NBT_CHECK(same != a && nb_fill_(same, 0) != NULL && nb_item(nb_sum(a)) == 0);
    nb_scope_end();
}

static void test_copies_do_not_share(void)
{
    nb_scope_begin();
    nb_tensor *a        = iota(NB_SHAPE(2, 2));
    nb_tensor *copies[] = {
        nb_flip(a, NB_DIMS()),
        nb_roll(a, NB_SHAPE(0), NB_DIMS(0)),
        nb_repeat(a, NB_SHAPE(1, 1)),
        nb_tile(a, NB_SCALAR_SHAPE),
        nb_tril(a, 5),
        nb_diag(a, 0),
        nb_repeat_interleave(a, 1, 0),
        nb_index_fill(a, 0, nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_INT64)), 1),
    };
    enum { COUNT = sizeof copies / sizeof copies[0] };
    double before[COUNT];
    for (int k = 0; k < COUNT; k++) {
        NBT_CHECK(copies[k] != NULL);
        before[k] = copies[k] ? nb_item(nb_sum(copies[k])) : 0;
    }
    NBT_CHECK(nb_fill_(a, 100) != NULL);
    for (int k = 0; k < COUNT; k++)
        NBT_CHECK(copies[k] && nb_item(nb_sum(copies[k])) == before[k]);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Autograd's view rules                                                     */
/* ------------------------------------------------------------------------ */

static void test_in_place_through_unbind_piece(void)
{
    nb_scope_begin();
    nb_tensor *x = nb_ones(NB_SHAPE(2, 3), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *y = nb_mul_scalar(x, 1);
    nb_tensor *rows[2];
    NBT_CHECK(nb_unbind(y, 0, rows, 2) == 2);
    NBT_CHECK(nb_mul_scalar_(rows[0], 3) != NULL); /* y's base history gets the write */
    NBT_CHECK(nb_backward(nb_sum(y)) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(2, 3), 0, 3, 3, 3, 1, 1, 1);
    /* A view of a leaf that requires grad cannot be written in place. */
    nb_tensor *pieces[2];
    NBT_CHECK(nb_tensor_split(x, 2, 1, pieces, 2) == 2);
    NBT_CHECK(nb_fill_(pieces[0], 0) == NULL);
    nb_clear_error();
    nb_scope_end();
}

static void test_version_check_through_views(void)
{
    nb_scope_begin();
    nb_tensor *x = nb_ones(NB_SHAPE(3, 2), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *y = nb_mul_scalar(x, 2);
    nb_tensor *m = nb_movedim(y, NB_DIMS(0), NB_DIMS(1));
    nb_tensor *z = nb_mul(m, m);             /* saves m */
    NBT_CHECK(nb_add_scalar_(y, 1) != NULL); /* changes m's storage after z was recorded */
    NBT_CHECK(nb_backward(nb_sum(z)) != NB_OK);
    NBT_CHECK(strstr(nb_last_error(), "modified") != NULL || strstr(nb_last_error(), "version") != NULL);
    nb_clear_error();
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* index ops                                                                 */
/* ------------------------------------------------------------------------ */

static void test_index_add_is_deterministic(void)
{
    nb_scope_begin();
    /* Added in index order in float32: (1e8 + 1) - 1e8 rounds to 0. */
    nb_tensor *t      = nb_zeros(NB_SHAPE(2), NB_OPTS());
    nb_tensor *index  = nbt_int64_tensor(NB_SHAPE(3), (const int64_t[]){1, 1, 1});
    nb_tensor *source = nbt_tensor(NB_SHAPE(3), NB_FLOAT32, (const double[]){1e8, 1, -1e8});
    NBT_CHECK_TENSOR(nb_index_add(t, 0, index, source, 1), NB_SHAPE(2), 0, 0, 0);
    /* In place, alpha -2, on a transposed t. */
    nb_tensor *m  = nb_transpose(nb_zeros(NB_SHAPE(3, 2), NB_OPTS()), 0, 1);
    nb_tensor *i2 = nbt_int64_tensor(NB_SHAPE(2), (const int64_t[]){2, 0});
    nb_tensor *s2 = iota(NB_SHAPE(2, 2));
    NBT_CHECK(nb_index_add_(m, 1, i2, s2, -2) == m);
    NBT_CHECK_TENSOR(m, NB_SHAPE(2, 3), 0, -2, 0, 0, -6, 0, -4);
    /* index_copy_ and index_fill_ in place; index_fill's -1 is the last row. */
    nb_tensor *c = nb_zeros(NB_SHAPE(3, 2), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_index_copy_(c, 0, i2, nb_ones(NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_INT64))) == c);
    NBT_CHECK(nb_index_fill_(c, 0, nbt_int64_tensor(NB_SCALAR_SHAPE, (const int64_t[]){-1}), 4) == c);
    NBT_CHECK_TENSOR(c, NB_SHAPE(3, 2), 0, 1, 1, 0, 0, 4, 4);
    /* Out of range fails with the index named and leaves t unchanged. */
    NBT_CHECK(nb_index_add_(m, 1, nbt_int64_tensor(NB_SHAPE(1), (const int64_t[]){3}),
                            nb_ones(NB_SHAPE(2, 1), NB_OPTS()), 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_index_add_: index 3 is out of bounds for dim 1 with size 3");
    NBT_CHECK_TENSOR(m, NB_SHAPE(2, 3), 0, -2, 0, 0, -6, 0, -4);
    nb_scope_end();
}

/* index_add / index_copy of whole slices (the CPU kernel's slice form, in
 * parallel past its grain) against loops over elements: repeated indices
 * in order, contiguous and strided slices, every dtype it takes. */
static void test_index_slices_against_loops(void)
{
    const nb_dtype dtypes[] = { NB_FLOAT32, NB_FLOAT64, NB_INT32, NB_INT64, NB_UINT8 };
    for (int copy = 0; copy < 2; copy++)
        for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++)
            for (int strided = 0; strided < 2; strided++) {
                nb_scope_begin();
                const int64_t N = 50, C = 700, K = 120; /* K * C past the parallel grain */
                nb_dtype      dt = dtypes[k];
                nb_tensor    *t  = nb_to_dtype(nb_mul_scalar(nb_randn(NB_SHAPE(N, C), NB_OPTS()), 8), dt);
                nb_tensor    *src = nb_to_dtype(nb_mul_scalar(nb_randn(NB_SHAPE(K, strided ? 2 * C : C), NB_OPTS()), 8), dt);
                if (strided) src = nb_slice(src, 1, 0, NB_END, 2);
                nb_tensor *index = nb_randint(0, N, NB_SHAPE(K), NB_OPTS(.dtype = NB_INT64));
                nb_tensor *out   = copy ? nb_index_copy(t, 0, index, src) : nb_index_add(t, 0, index, src, 1);
                double    *want  = malloc((size_t)(N * C) * sizeof *want), *s = malloc((size_t)(K * C) * sizeof *s);
                int64_t   *at    = malloc((size_t)K * sizeof *at);
                nb_copy_to_buffer(nb_to_dtype(t, NB_FLOAT64), want, (size_t)(N * C) * sizeof *want);
                nb_copy_to_buffer(nb_to_dtype(src, NB_FLOAT64), s, (size_t)(K * C) * sizeof *s);
                nb_copy_to_buffer(index, at, (size_t)K * sizeof *at);
                for (int64_t i = 0; i < K; i++)
                    for (int64_t c = 0; c < C; c++) {
                        double *w = &want[at[i] * C + c];
                        *w        = copy ? s[i * C + c] : *w + s[i * C + c];
                        if (dt == NB_UINT8) *w = (double)(uint8_t)(int64_t)*w; /* sums wrap */
                    }
                nb_tensor *expected = nbt_tensor(NB_SHAPE(N, C), dt, want);
                NBT_CHECK(out != NULL && nb_item(nb_max(nb_abs(nb_sub(nb_to_dtype(out, NB_FLOAT64),
                                                                      nb_to_dtype(expected, NB_FLOAT64))))) <= 1e-4);
                free(want);
                free(s);
                free(at);
                nb_scope_end();
            }
}

static nb_tensor *index_ops_f(nb_tensor *const *in, int count, void *user)
{
    (void)count;
    (void)user;
    nb_tensor *rows = nbt_int64_tensor(NB_SHAPE(3), (const int64_t[]){2, 0, 2});
    nb_tensor *add  = nb_index_add(in[0], 1, rows, in[1], 2.5);
    nb_tensor *copy =
        nb_index_copy(add, 1, nbt_int64_tensor(NB_SHAPE(1), (const int64_t[]){1}), nb_narrow(in[1], 1, 0, 1));
    nb_tensor *out = nb_index_fill(nb_mul(copy, copy), 0, nbt_int64_tensor(NB_SHAPE(1), (const int64_t[]){-1}), 0);
    return out;
}

static nb_tensor *repeat_8d_f(nb_tensor *const *in, int count, void *user)
{
    (void)count;
    (void)user;
    nb_tensor *r = nb_repeat(in[0], NB_SHAPE(1, 1, 1, 1, 1, 2, 3, 2));
    return nb_mul(r, r);
}

static nb_tensor *shape_mix_f(nb_tensor *const *in, int count, void *user)
{
    (void)count;
    (void)user;
    nb_tensor *a = nb_roll(nb_flip(in[0], NB_DIMS(0, 1)), NB_SHAPE(1, -1), NB_DIMS(0, 1));
    nb_tensor *b = nb_triu(nb_diag_embed(nb_diag(a, 0), 1, 0, 1), 1);
    nb_tensor *c = nb_sum(nb_mul(nb_repeat_interleave(a, 2, 1), nb_repeat_interleave(a, 2, 1)));
    return nb_add(nb_mul(nb_trace(b), nb_tile(a, NB_SHAPE(2))), c);
}

/* At NB_MAX_DIMS dims repeat_interleave has no room to expand: it gathers. */
static void test_repeat_interleave_at_most_dims(void)
{
    nb_scope_begin();
    nb_tensor *t = nb_reshape(iota(NB_SHAPE(2)), NB_SHAPE(1, 1, 1, 1, 1, 1, 1, 2));
    nb_tensor *r = nb_repeat_interleave(t, 3, -1);
    NBT_CHECK_TENSOR(r, NB_SHAPE(1, 1, 1, 1, 1, 1, 1, 6), 0, 0, 0, 0, 1, 1, 1);
    NBT_CHECK_TENSOR(nb_repeat_interleave(iota(NB_SHAPE(2, 2)), 2, 1), NB_SHAPE(2, 4), 0, 0, 0, 1, 1, 2, 2, 3, 3);
    nb_scope_end();
}

static void test_gradchecks(void)
{
    nb_scope_begin();
    nb_tensor *t      = nb_randn(NB_SHAPE(4, 3), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *source = nb_randn(NB_SHAPE(4, 3), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nbt_gradcheck("index_add, index_copy, index_fill", index_ops_f, (nb_tensor *[]){t, source}, 2, NULL, 2);
    /* An 8-d result: repeat joins copies, its gradient adds the pieces. */
    nb_tensor *small = nb_randn(NB_SHAPE(1, 1, 1, 1, 1, 1, 2, 1), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nbt_gradcheck("repeat to 8 dims", repeat_8d_f, &small, 1, NULL, 2);
    nb_tensor *square = nb_randn(NB_SHAPE(3, 3), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nbt_gradcheck("flip, roll, diag, diag_embed, triu, trace, tile, repeat_interleave", shape_mix_f, &square, 1, NULL,
                  2);
    nb_scope_end();
}

int main(void)
{
    int64_t live = nb_live_tensors();
    NBT_RUN(test_views_share_storage);
    NBT_RUN(test_copies_do_not_share);
    NBT_RUN(test_in_place_through_unbind_piece);
    NBT_RUN(test_version_check_through_views);
    NBT_RUN(test_index_add_is_deterministic);
    NBT_RUN(test_index_slices_against_loops);
    NBT_RUN(test_repeat_interleave_at_most_dims);
    NBT_RUN(test_gradchecks);
    NBT_CHECK(nb_live_tensors() == live);
    return nbt_finish();
}
