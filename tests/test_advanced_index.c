/*
 * test_advanced_index.c — what the op table (tests/op_info.h's index rows,
 * compared with torch) does not see of nb_index / nb_index_put(_): views
 * that write through, writes into non-contiguous targets and views,
 * repeated indices, gradients through a write, and second derivatives.
 */
#include "nb_test.h"

static nb_tensor *counting(nb_shape shape)
{
    int64_t n = 1;
    for (int d = 0; d < shape.ndim; d++) n *= shape.dims[d];
    return nb_reshape(nb_arange(0, (double)n, 1, NB_OPTS()), shape);
}

static double at(const nb_tensor *t, int64_t flat)
{
    return nb_item(nb_select(nb_reshape(t, NB_SHAPE(-1)), 0, flat));
}

/* Basic items give a view: writing into it changes the base. */
static void test_basic_items_are_views(void)
{
    nb_scope_begin();
    nb_tensor *x    = nb_contiguous(counting(NB_SHAPE(3, 4)));
    nb_tensor *view = nb_index(x, NB_INDEX(NB_SLICE(1, NB_END, 1), NB_AT(-1)));
    NBT_CHECK(nb_ndim(view) == 1 && nb_size(view, 0) == 2);
    NBT_CHECK(at(view, 0) == 7 && at(view, 1) == 11);
    nb_fill_(view, -1);
    NBT_CHECK(at(x, 7) == -1 && at(x, 11) == -1 && at(x, 3) == 3);
    /* None and the ellipsis */
    nb_tensor *expanded = nb_index(x, NB_INDEX(NB_ELLIPSIS, NB_NEWAXIS));
    NBT_CHECK(nb_ndim(expanded) == 3 && nb_size(expanded, 2) == 1 && nb_size(expanded, 0) == 3);
    nb_scope_end();
}

/* Index tensors with repeats: reading repeats, the gradient adds up;
 * writing lets the last one win, accumulating adds every one. */
static void test_repeated_indices(void)
{
    nb_scope_begin();
    nb_tensor *x   = nb_contiguous(counting(NB_SHAPE(4)));
    nb_requires_grad_(x, true);
    nb_tensor *idx = nb_from_data((int64_t[]){ 1, 1, -1, 1 }, NB_SHAPE(4), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *y   = nb_index(x, NB_INDEX(NB_WITH(idx)));
    NBT_CHECK(at(y, 0) == 1 && at(y, 2) == 3);
    NBT_CHECK(nb_backward(nb_sum(y)) == NB_OK);
    nb_tensor *g = nb_grad(x);
    NBT_CHECK(at(g, 0) == 0 && at(g, 1) == 3 && at(g, 3) == 1);

    nb_tensor *target = nb_zeros(NB_SHAPE(4), NB_OPTS());
    nb_tensor *values = nb_from_data((float[]){ 10, 20, 30, 40 }, NB_SHAPE(4), NB_OPTS());
    NBT_CHECK(nb_index_put_(target, NB_INDEX(NB_WITH(idx)), values, false) == target);
    NBT_CHECK(at(target, 1) == 40 && at(target, 3) == 30 && at(target, 0) == 0);
    nb_tensor *sums = nb_index_put(nb_zeros(NB_SHAPE(4), NB_OPTS()), NB_INDEX(NB_WITH(idx)), values, true);
    NBT_CHECK(at(sums, 1) == 70 && at(sums, 3) == 30);
    nb_scope_end();
}

/* nb_index_put_ into a transposed target and into a view of a buffer. */
static void test_put_into_strided_targets(void)
{
    nb_scope_begin();
    nb_tensor *base = nb_zeros(NB_SHAPE(3, 4), NB_OPTS());
    nb_tensor *tr   = nb_transpose(base, 0, 1); /* (4, 3), not contiguous */
    nb_tensor *rows = nb_from_data((int64_t[]){ 0, 3 }, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_index_put_(tr, NB_INDEX(NB_WITH(rows), NB_AT(2)), nb_full(NB_SHAPE(2), 5, NB_OPTS()), false) == tr);
    /* tr[0, 2] is base[2, 0]; tr[3, 2] is base[2, 3] */
    NBT_CHECK(at(base, 8) == 5 && at(base, 11) == 5 && at(base, 9) == 0);
    nb_tensor *row = nb_select(base, 0, 1); /* a view of row 1 */
    nb_tensor *mask = nb_from_data((bool[]){ true, false, false, true }, NB_SHAPE(4), NB_OPTS(.dtype = NB_BOOL));
    NBT_CHECK(nb_index_put_(row, NB_INDEX(NB_WITH(mask)), nb_full(NB_SCALAR_SHAPE, 7, NB_OPTS()), false) == row);
    NBT_CHECK(at(base, 4) == 7 && at(base, 7) == 7 && at(base, 5) == 0);
    nb_scope_end();
}

/* Through a write: the overwritten elements of t get no gradient, values
 * get theirs; twice differentiable (gradgradcheck). */
static nb_tensor *put_then_square(nb_tensor *const *inputs, int count, void *user)
{
    (void)count;
    const nb_tensor *idx = user;
    nb_tensor       *y   = nb_index_put(inputs[0], NB_INDEX(NB_ALL, NB_WITH(idx)), inputs[1], false);
    return nb_mul(y, y);
}

static void test_put_gradients(void)
{
    nb_scope_begin();
    nb_tensor *t      = nb_randn(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *values = nb_randn(NB_SHAPE(2), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *idx    = nb_from_data((int64_t[]){ 2, 0 }, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *y      = nb_index_put(t, NB_INDEX(NB_ALL, NB_WITH(idx)), values, false);
    NBT_CHECK(nb_backward(nb_sum(y)) == NB_OK);
    nb_tensor *gt = nb_grad(t), *gv = nb_grad(values);
    NBT_CHECK(at(gt, 0) == 0 && at(gt, 2) == 0 && at(gt, 1) == 1 && at(gt, 3) == 1);
    NBT_CHECK(at(gv, 0) == 3 && at(gv, 1) == 3);
    nb_tensor *inputs[2] = { t, values };
    NBT_CHECK(nb_gradcheck(put_then_square, inputs, 2, (void *)idx, NB_GRADCHECK_OPTS()) == NB_OK);
    NBT_CHECK(nb_gradgradcheck(put_then_square, inputs, 2, (void *)idx, NB_GRADCHECK_OPTS()) == NB_OK);
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_basic_items_are_views);
    NBT_RUN(test_repeated_indices);
    NBT_RUN(test_put_into_strided_targets);
    NBT_RUN(test_put_gradients);
    return nbt_finish();
}
