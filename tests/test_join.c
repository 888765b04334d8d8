/*
 * test_join.c — nb_cat, nb_stack, nb_split and nb_chunk: values against
 * hand-computed results (checked against PyTorch 1.13), dtype promotion,
 * torch.cat's legacy empty tensors, non-contiguous inputs, views that share
 * storage, sizes past the threading threshold, and every error a caller can
 * cause.
 *
 * Each test runs in a scope, so tensors need no nb_free.
 */
#include "nb_test.h"

/* 0, 1, 2, ... as float32 in shape. */
static nb_tensor *iota(nb_shape shape) { return nbt_iota(shape, NB_FLOAT32); }

/* ------------------------------------------------------------------------ */
/* nb_cat                                                                    */
/* ------------------------------------------------------------------------ */

static void test_cat_values(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(2, 3)); /* [[0,1,2],[3,4,5]] */
    nb_tensor *b = nbt_tensor(NB_SHAPE(1, 3), NB_FLOAT32, (double[]){6, 7, 8});
    nb_tensor *c = nbt_tensor(NB_SHAPE(2, 1), NB_FLOAT32, (double[]){9, 10});

    nb_tensor *rows = nb_cat((nb_tensor *[]){a, b}, 2, 0);
    NBT_CHECK_TENSOR(rows, NB_SHAPE(3, 3), 0, 0, 1, 2, 3, 4, 5, 6, 7, 8);
    NBT_CHECK(nb_dtype_of(rows) == NB_FLOAT32 && nb_is_contiguous(rows));

    nb_tensor *cols = nb_cat((nb_tensor *[]){c, a, c}, 3, -1);
    NBT_CHECK_TENSOR(cols, NB_SHAPE(2, 5), 0, 9, 0, 1, 2, 9, 10, 3, 4, 5, 10);

    nb_tensor *one = nb_cat((nb_tensor *[]){a}, 1, 1);
    NBT_CHECK_TENSOR(one, NB_SHAPE(2, 3), 0, 0, 1, 2, 3, 4, 5);
    NBT_CHECK(nb_data(one) != nb_data(a)); /* a copy, not a view */

    /* 3-D along the middle dim. */
    nb_tensor *x = iota(NB_SHAPE(2, 1, 2));
    nb_tensor *y = nb_add_scalar(iota(NB_SHAPE(2, 2, 2)), 10);
    NBT_CHECK_TENSOR(nb_cat((nb_tensor *[]){x, y}, 2, 1), NB_SHAPE(2, 3, 2), 0, 0, 1, 10, 11, 12, 13, 2, 3, 14, 15, 16,
                     17);
    nb_scope_end();
}

static void test_cat_promotes(void)
{
    nb_scope_begin();
    nb_tensor *i64 = nbt_tensor(NB_SHAPE(2), NB_INT64, (double[]){-3, 4});
    nb_tensor *b8  = nbt_tensor(NB_SHAPE(2), NB_BOOL, (double[]){1, 0});
    nb_tensor *u8  = nbt_tensor(NB_SHAPE(2), NB_UINT8, (double[]){200, 7});
    nb_tensor *i32 = nbt_tensor(NB_SHAPE(1), NB_INT32, (double[]){-5});
    nb_tensor *f32 = nbt_tensor(NB_SHAPE(1), NB_FLOAT32, (double[]){0.5});
    nb_tensor *f64 = nbt_tensor(NB_SHAPE(1), NB_FLOAT64, (double[]){0.25});

    nb_tensor *r = nb_cat((nb_tensor *[]){i64, b8}, 2, 0);
    NBT_CHECK(nb_dtype_of(r) == NB_INT64);
    NBT_CHECK_TENSOR(r, NB_SHAPE(4), 0, -3, 4, 1, 0);

    r = nb_cat((nb_tensor *[]){u8, i32}, 2, 0);
    NBT_CHECK(nb_dtype_of(r) == NB_INT32);
    NBT_CHECK_TENSOR(r, NB_SHAPE(3), 0, 200, 7, -5);

    r = nb_cat((nb_tensor *[]){i64, f32}, 2, 0);
    NBT_CHECK(nb_dtype_of(r) == NB_FLOAT32);
    NBT_CHECK_TENSOR(r, NB_SHAPE(3), 0, -3, 4, 0.5);

    r = nb_cat((nb_tensor *[]){f32, f64, b8}, 3, 0);
    NBT_CHECK(nb_dtype_of(r) == NB_FLOAT64);
    NBT_CHECK_TENSOR(r, NB_SHAPE(4), 0, 0.5, 0.25, 1, 0);

    r = nb_cat((nb_tensor *[]){b8, b8}, 2, 0);
    NBT_CHECK(nb_dtype_of(r) == NB_BOOL);
    NBT_CHECK_TENSOR(r, NB_SHAPE(4), 0, 1, 0, 1, 0);

    /* Exact int64 beyond 2^53 survives (no trip through double). */
    int64_t    big[2] = {INT64_MAX, INT64_MIN + 1};
    nb_tensor *bt     = nb_from_data(big, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *joined = nb_cat((nb_tensor *[]){bt, i64}, 2, 0);
    int64_t    got[4];
    NBT_CHECK(nb_copy_to_buffer(joined, got, sizeof got) == NB_OK);
    NBT_CHECK(got[0] == INT64_MAX && got[1] == INT64_MIN + 1 && got[2] == -3 && got[3] == 4);
    nb_scope_end();
}

static void test_cat_empty(void)
{
    nb_scope_begin();
    nb_tensor *a      = iota(NB_SHAPE(2, 3));
    nb_tensor *legacy = nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_FLOAT64));
    /* A [0] tensor is skipped whatever the rank, but its dtype still counts. */
    nb_tensor *r = nb_cat((nb_tensor *[]){legacy, a, legacy}, 3, 1);
    NBT_CHECK(nb_dtype_of(r) == NB_FLOAT64);
    NBT_CHECK_TENSOR(r, NB_SHAPE(2, 3), 0, 0, 1, 2, 3, 4, 5);

    /* All legacy empties: a [0] of the promoted dtype, dim not looked at. */
    nb_tensor *li = nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_INT64));
    r             = nb_cat((nb_tensor *[]){li, legacy}, 2, 5);
    NBT_CHECK(r != NULL && nb_dtype_of(r) == NB_FLOAT64 && nb_ndim(r) == 1 && nb_numel(r) == 0);

    /* Zero-size tensors of the right rank join normally. */
    nb_tensor *rows0 = nb_zeros(NB_SHAPE(0, 3), NB_OPTS());
    NBT_CHECK_TENSOR(nb_cat((nb_tensor *[]){rows0, a, rows0}, 3, 0), NB_SHAPE(2, 3), 0, 0, 1, 2, 3, 4, 5);
    nb_tensor *e1 = nb_zeros(NB_SHAPE(2, 0), NB_OPTS());
    nb_tensor *e2 = nb_zeros(NB_SHAPE(3, 0), NB_OPTS());
    r             = nb_cat((nb_tensor *[]){e1, e2}, 2, 0);
    NBT_CHECK(r != NULL && nb_size(r, 0) == 5 && nb_size(r, 1) == 0);
    nb_scope_end();
}

static void test_cat_non_contiguous(void)
{
    nb_scope_begin();
    nb_tensor *base = iota(NB_SHAPE(3, 2));     /* [[0,1],[2,3],[4,5]] */
    nb_tensor *tr   = nb_transpose(base, 0, 1); /* [[0,2,4],[1,3,5]] */
    nb_tensor *wide = iota(NB_SHAPE(2, 6));
    nb_tensor *step = nb_slice(wide, 1, 1, NB_END, 2); /* [[1,3,5],[7,9,11]] */
    nb_tensor *row  = nbt_tensor(NB_SHAPE(1, 3), NB_INT32, (double[]){-1, -2, -3});
    nb_tensor *exp  = nb_expand(row, NB_SHAPE(2, 3)); /* stride 0 rows */
    NBT_CHECK(!nb_is_contiguous(tr) && !nb_is_contiguous(step) && !nb_is_contiguous(exp));
    nb_tensor *r = nb_cat((nb_tensor *[]){tr, step, exp}, 3, 0);
    NBT_CHECK_TENSOR(r, NB_SHAPE(6, 3), 0, 0, 2, 4, 1, 3, 5, 1, 3, 5, 7, 9, 11, -1, -2, -3, -1, -2, -3);
    r = nb_cat((nb_tensor *[]){tr, exp}, 2, 1);
    NBT_CHECK_TENSOR(r, NB_SHAPE(2, 6), 0, 0, 2, 4, -1, -2, -3, 1, 3, 5, -1, -2, -3);
    nb_scope_end();
}

static void test_cat_large(void)
{
    nb_scope_begin();
    /* 2 x 300 x 100 outputs, past the threading threshold. */
    nb_tensor   *a  = iota(NB_SHAPE(300, 60));
    nb_tensor   *b  = nb_transpose(iota(NB_SHAPE(40, 300)), 0, 1); /* b[i][j] = j * 300 + i */
    nb_tensor   *r  = nb_contiguous(nb_cat((nb_tensor *[]){a, b}, 2, 1));
    const float *v  = nb_data(r);
    int          ok = v != NULL;
    for (int i = 0; ok && i < 300; i++)
        for (int j = 0; ok && j < 100; j++)
            ok = v[i * 100 + j] == (j < 60 ? (float)(i * 60 + j) : (float)((j - 60) * 300 + i));
    NBT_CHECK(ok);
    nb_scope_end();
}

static void test_cat_errors(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(2, 3));
    nb_tensor *b = iota(NB_SHAPE(2, 2));
    nb_tensor *v = iota(NB_SHAPE(3));
    nb_tensor *s = nb_scalar(1, NB_OPTS());

    NBT_CHECK(nb_cat(NULL, 2, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_cat: tensors is NULL");
    NBT_CHECK(nb_cat((nb_tensor *[]){a}, 0, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "expected at least one tensor, got count 0");
    NBT_CHECK(nb_cat((nb_tensor *[]){a, NULL}, 2, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_cat: argument 'tensors[1]' is NULL");
    NBT_CHECK(nb_cat((nb_tensor *[]){a, s}, 2, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "tensors[1] is 0-d and cannot be concatenated");
    NBT_CHECK(nb_cat((nb_tensor *[]){a, v}, 2, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "tensors[1] has 1 dims (shape [3]) but tensors[0] has 2 (shape [2, 3])");
    NBT_CHECK(nb_cat((nb_tensor *[]){a, b}, 2, 0) == NULL);
    NBT_CHECK_ERROR(
        NB_ERR_SHAPE,
        "sizes must match except in dim 0, but tensors[1] has shape [2, 2] and tensors[0] has shape [2, 3]");
    NBT_CHECK(nb_cat((nb_tensor *[]){a, a}, 2, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_cat: dim 2 is out of range for a 2-d tensor");
    NBT_CHECK(nb_cat((nb_tensor *[]){a, a}, 2, -3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "dim -3 is out of range");

    /* A NULL input from a failed op keeps the first error. */
    nb_tensor *failed = nb_reshape(a, NB_SHAPE(7));
    NBT_CHECK(failed == NULL);
    nb_status first = nb_last_status();
    NBT_CHECK(nb_cat((nb_tensor *[]){a, failed}, 2, 0) == NULL);
    NBT_CHECK(nb_last_status() == first && strstr(nb_last_error(), "nb_cat") == NULL);
    nb_clear_error();
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* nb_stack                                                                  */
/* ------------------------------------------------------------------------ */

static void test_stack(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(2, 3));
    nb_tensor *b = nb_add_scalar(a, 10);
    NBT_CHECK_TENSOR(nb_stack((nb_tensor *[]){a, b}, 2, 0), NB_SHAPE(2, 2, 3), 0, 0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14,
                     15);
    NBT_CHECK_TENSOR(nb_stack((nb_tensor *[]){a, b}, 2, 1), NB_SHAPE(2, 2, 3), 0, 0, 1, 2, 10, 11, 12, 3, 4, 5, 13, 14,
                     15);
    NBT_CHECK_TENSOR(nb_stack((nb_tensor *[]){a, b}, 2, -1), NB_SHAPE(2, 3, 2), 0, 0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5,
                     15);
    /* Non-contiguous input and promotion: float32 with a transposed int64. */
    nb_tensor *t = nb_transpose(nbt_tensor(NB_SHAPE(3, 2), NB_INT64, (double[]){1, 2, 3, 4, 5, 6}), 0, 1);
    nb_tensor *r = nb_stack((nb_tensor *[]){t, a}, 2, 2);
    NBT_CHECK(nb_dtype_of(r) == NB_FLOAT32);
    NBT_CHECK_TENSOR(r, NB_SHAPE(2, 3, 2), 0, 1, 0, 3, 1, 5, 2, 2, 3, 4, 4, 6, 5);
    /* 0-d tensors stack into a vector. */
    nb_tensor *s1 = nb_scalar(1.5, NB_OPTS());
    nb_tensor *s2 = nb_scalar(2, NB_OPTS(.dtype = NB_INT64));
    r             = nb_stack((nb_tensor *[]){s1, s2, s1}, 3, -1);
    NBT_CHECK(nb_dtype_of(r) == NB_FLOAT32);
    NBT_CHECK_TENSOR(r, NB_SHAPE(3), 0, 1.5, 2, 1.5);
    /* Empty inputs. */
    nb_tensor *e = nb_zeros(NB_SHAPE(0), NB_OPTS());
    r            = nb_stack((nb_tensor *[]){e, e}, 2, 1);
    NBT_CHECK(r != NULL && nb_size(r, 0) == 0 && nb_size(r, 1) == 2);
    nb_scope_end();
}

static void test_stack_errors(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(2, 3));
    nb_tensor *b = iota(NB_SHAPE(3, 2));
    NBT_CHECK(nb_stack(NULL, 1, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_stack: tensors is NULL");
    NBT_CHECK(nb_stack((nb_tensor *[]){a}, -1, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_stack: expected at least one tensor, got count -1");
    NBT_CHECK(nb_stack((nb_tensor *[]){NULL}, 1, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_stack: argument 'tensors[0]' is NULL");
    NBT_CHECK(nb_stack((nb_tensor *[]){a, b}, 2, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "tensors[1] has shape [3, 2] and tensors[0] has shape [2, 3]");
    NBT_CHECK(nb_stack((nb_tensor *[]){a, a}, 2, 3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_stack: dim 3 is out of range for a 3-d tensor");
    NBT_CHECK(nb_stack((nb_tensor *[]){a, a}, 2, -4) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "dim -4 is out of range");
    nb_tensor *eight = nb_zeros(NB_SHAPE(1, 1, 1, 1, 1, 1, 1, 2), NB_OPTS());
    NBT_CHECK(nb_stack((nb_tensor *[]){eight, eight}, 2, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "already have 8 dims");
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* nb_split and nb_chunk                                                     */
/* ------------------------------------------------------------------------ */

static void test_split(void)
{
    nb_scope_begin();
    nb_tensor *t = iota(NB_SHAPE(5, 2));
    nb_tensor *pieces[4];
    NBT_CHECK(nb_split(t, 2, 0, NULL, 0) == 3); /* count only */
    NBT_CHECK(nb_split(t, 2, 0, pieces, 4) == 3);
    NBT_CHECK_TENSOR(pieces[0], NB_SHAPE(2, 2), 0, 0, 1, 2, 3);
    NBT_CHECK_TENSOR(pieces[1], NB_SHAPE(2, 2), 0, 4, 5, 6, 7);
    NBT_CHECK_TENSOR(pieces[2], NB_SHAPE(1, 2), 0, 8, 9);
    /* Views: a write through a piece shows in t. */
    nb_fill_(pieces[1], -1);
    NBT_CHECK_TENSOR(t, NB_SHAPE(5, 2), 0, 0, 1, 2, 3, -1, -1, -1, -1, 8, 9);
    NBT_CHECK(nb_storage_offset(pieces[2]) == 8);

    /* Fewer slots than pieces: the first ones are written. */
    nb_tensor *first[1] = {NULL};
    NBT_CHECK(nb_split(t, 1, -1, first, 1) == 2);
    NBT_CHECK_TENSOR(first[0], NB_SHAPE(5, 1), 0, 0, 2, -1, -1, 8);

    /* Along a transposed view's dim 1: views with its strides. */
    nb_tensor *tr = nb_transpose(t, 0, 1); /* (2, 5) */
    NBT_CHECK(nb_split(tr, 3, 1, pieces, 4) == 2);
    NBT_CHECK_TENSOR(pieces[0], NB_SHAPE(2, 3), 0, 0, 2, -1, 1, 3, -1);
    NBT_CHECK_TENSOR(pieces[1], NB_SHAPE(2, 2), 0, -1, 8, -1, 9);
    NBT_CHECK(nb_stride(pieces[1], 0) == 1 && nb_stride(pieces[1], 1) == 2);

    /* split_size larger than the dim: one piece, the whole tensor. */
    NBT_CHECK(nb_split(t, 100, 0, pieces, 4) == 1 && nb_size(pieces[0], 0) == 5);
    /* A dim of size 0: one empty piece, for any split_size, 0 included. */
    nb_tensor *e = nb_zeros(NB_SHAPE(3, 0), NB_OPTS());
    NBT_CHECK(nb_split(e, 0, 1, pieces, 4) == 1 && nb_size(pieces[0], 0) == 3 && nb_size(pieces[0], 1) == 0);
    NBT_CHECK(nb_split(e, 2, 1, pieces, 4) == 1);
    nb_scope_end();
}

static void test_chunk(void)
{
    nb_scope_begin();
    nb_tensor *pieces[10];
    nb_tensor *five = iota(NB_SHAPE(5));
    NBT_CHECK(nb_chunk(five, 3, 0, pieces, 10) == 3);
    NBT_CHECK_TENSOR(pieces[0], NB_SHAPE(2), 0, 0, 1);
    NBT_CHECK_TENSOR(pieces[1], NB_SHAPE(2), 0, 2, 3);
    NBT_CHECK_TENSOR(pieces[2], NB_SHAPE(1), 0, 4);
    /* torch.chunk's count rule: 6 in 4 chunks is 3 pieces of 2. */
    nb_tensor *six = iota(NB_SHAPE(6));
    NBT_CHECK(nb_chunk(six, 4, 0, pieces, 10) == 3);
    NBT_CHECK_TENSOR(pieces[2], NB_SHAPE(2), 0, 4, 5);
    /* More chunks than elements: one element each. */
    NBT_CHECK(nb_chunk(five, 10, -1, pieces, 10) == 5);
    NBT_CHECK_TENSOR(pieces[4], NB_SHAPE(1), 0, 4);
    /* A dim of size 0 gives `chunks` empty pieces. */
    nb_tensor *e = nb_zeros(NB_SHAPE(3, 0), NB_OPTS());
    NBT_CHECK(nb_chunk(e, 2, 1, pieces, 10) == 2);
    NBT_CHECK(nb_size(pieces[1], 0) == 3 && nb_size(pieces[1], 1) == 0);
    /* Non-contiguous input, along dim 0. */
    nb_tensor *tr = nb_transpose(iota(NB_SHAPE(2, 3)), 0, 1); /* [[0,3],[1,4],[2,5]] */
    NBT_CHECK(nb_chunk(tr, 2, 0, pieces, 10) == 2);
    NBT_CHECK_TENSOR(pieces[0], NB_SHAPE(2, 2), 0, 0, 3, 1, 4);
    NBT_CHECK_TENSOR(pieces[1], NB_SHAPE(1, 2), 0, 2, 5);
    NBT_CHECK(nb_chunk(tr, 2, 0, NULL, 0) == 2);
    nb_scope_end();
}

static void test_split_errors(void)
{
    nb_scope_begin();
    nb_tensor *t = iota(NB_SHAPE(5));
    nb_tensor *pieces[2];
    NBT_CHECK(nb_split(NULL, 2, 0, pieces, 2) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_split: argument 't' is NULL");
    NBT_CHECK(nb_split(t, -1, 0, pieces, 2) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_split: split_size -1 is negative");
    NBT_CHECK(nb_split(t, 0, 0, pieces, 2) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "split_size can be 0 only when dim 0 has size 0, but it has size 5");
    NBT_CHECK(nb_split(t, 2, 1, pieces, 2) == -1);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_split: dim 1 is out of range for a 1-d tensor");
    NBT_CHECK(nb_split(t, 2, 0, NULL, 2) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_split: out is NULL but capacity is 2");
    NBT_CHECK(nb_split(t, 2, 0, pieces, -1) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_split: capacity -1 is negative");
    nb_tensor *s = nb_scalar(3, NB_OPTS());
    NBT_CHECK(nb_split(s, 1, 0, pieces, 2) == -1);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_split: a 0-d tensor cannot be split");

    NBT_CHECK(nb_chunk(NULL, 2, 0, pieces, 2) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_chunk: argument 't' is NULL");
    NBT_CHECK(nb_chunk(t, 0, 0, pieces, 2) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_chunk: chunks must be at least 1, got 0");
    NBT_CHECK(nb_chunk(t, -2, 0, pieces, 2) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "chunks must be at least 1, got -2");
    NBT_CHECK(nb_chunk(s, 1, 0, pieces, 2) == -1);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_chunk: a 0-d tensor cannot be split");
    NBT_CHECK(nb_chunk(t, 2, -2, pieces, 2) == -1);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_chunk: dim -2 is out of range");
    NBT_CHECK(nb_chunk(t, 2, 0, NULL, 1) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_chunk: out is NULL but capacity is 1");
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_cat_values);
    NBT_RUN(test_cat_promotes);
    NBT_RUN(test_cat_empty);
    NBT_RUN(test_cat_non_contiguous);
    NBT_RUN(test_cat_large);
    NBT_RUN(test_cat_errors);
    NBT_RUN(test_stack);
    NBT_RUN(test_stack_errors);
    NBT_RUN(test_split);
    NBT_RUN(test_chunk);
    NBT_RUN(test_split_errors);
    return nbt_finish();
}
