/*
 * test_views.c — the view ops of src/ops/view.c: shapes, strides, storage
 * offsets and values (checked against PyTorch 1.13 by hand), storage
 * sharing (a write through a view shows in its base), 0-d and empty
 * tensors, negative dims, non-contiguous inputs, and every error a caller
 * can cause.
 *
 * Each test opens a scope and closes it, so it frees nothing by hand.
 */
#include "nb_test.h"

/* 0, 1, 2, ... as int64 in shape (contiguous). */
static nb_tensor *iota(nb_shape shape) { return nbt_iota(shape, NB_INT64); }

/* t's strides equal the list. */
static int strides_equal(const nb_tensor *t, int n, const int64_t *expected)
{
    if (t == NULL || nb_ndim(t) != n) return 0;
    for (int i = 0; i < n; i++)
        if (nb_stride(t, i) != expected[i]) {
            fprintf(stderr, "  stride %d is %lld, expected %lld\n", i, (long long)nb_stride(t, i),
                    (long long)expected[i]);
            return 0;
        }
    return 1;
}
#define CHECK_STRIDES(t, ...)                                                                                          \
    do {                                                                                                               \
        const int64_t expected_[] = {__VA_ARGS__};                                                                     \
        NBT_CHECK(strides_equal((t), (int)(sizeof expected_ / sizeof expected_[0]), expected_));                       \
    } while (0)

/* ------------------------------------------------------------------------ */

static void test_view_contiguous(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(12));
    nb_tensor *v = nb_view(a, NB_SHAPE(3, 4));
    NBT_CHECK_TENSOR(v, NB_SHAPE(3, 4), 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    CHECK_STRIDES(v, 4, 1);
    NBT_CHECK(nb_storage_offset(v) == 0);
    /* -1 is inferred; several shapes of the same 12 elements. */
    NBT_CHECK_TENSOR(nb_view(a, NB_SHAPE(-1, 6)), NB_SHAPE(2, 6), 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    nb_tensor *v3 = nb_view(v, NB_SHAPE(2, -1, 3));
    NBT_CHECK(nb_size(v3, 1) == 2);
    CHECK_STRIDES(v3, 6, 3, 1);
    /* Writes go through: fill row 1 of the view, see it in the base. */
    NBT_CHECK(nb_fill_(nb_select(v, 0, 1), 7) != NULL);
    NBT_CHECK_TENSOR(a, NB_SHAPE(12), 0, 0, 1, 2, 3, 7, 7, 7, 7, 8, 9, 10, 11);
    nb_scope_end();
}

static void test_view_scalar_and_empty(void)
{
    nb_scope_begin();
    nb_tensor *s = nb_scalar(5, NB_OPTS());
    nb_tensor *v = nb_view(s, NB_SHAPE(1, 1));
    NBT_CHECK_TENSOR(v, NB_SHAPE(1, 1), 0, 5);
    CHECK_STRIDES(v, 1, 1);
    NBT_CHECK_TENSOR(nb_view(s, NB_SHAPE(-1)), NB_SHAPE(1), 0, 5);
    NBT_CHECK_TENSOR(nb_view(v, NB_SCALAR_SHAPE), NB_SCALAR_SHAPE, 0, 5);
    /* Empty: any shape of 0 elements, contiguous strides (torch's). */
    nb_tensor *e  = nb_zeros(NB_SHAPE(2, 0, 3), NB_OPTS());
    nb_tensor *ev = nb_view(e, NB_SHAPE(0, 5));
    NBT_CHECK(ev != NULL && nb_numel(ev) == 0);
    CHECK_STRIDES(ev, 5, 1);
    CHECK_STRIDES(nb_view(e, NB_SHAPE(2, 0, 3)), 3, 3, 1); /* same shape: strides kept */
    NBT_CHECK(nb_view(e, NB_SHAPE(0, -1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_view: cannot reshape a tensor of 0 elements into shape [0, -1] because the "
                                  "unspecified dimension size -1 can be any value and is ambiguous");
    nb_scope_end();
}

static void test_view_errors(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(2, 6));
    NBT_CHECK(nb_view(a, NB_SHAPE(-1, -1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_view: only one dimension can be inferred");
    NBT_CHECK(nb_view(a, NB_SHAPE(-2, 6)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_view: invalid shape dimension -2");
    NBT_CHECK(nb_view(a, NB_SHAPE(5, -1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_view: shape [5, -1] is invalid for input of size 12");
    NBT_CHECK(nb_view(a, NB_SHAPE(13)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "shape [13] is invalid for input of size 12");
    NBT_CHECK(nb_view(a, NB_SHAPE(INT64_MAX, 4, -1)) == NULL); /* product overflows */
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "is invalid for input of size 12");
    nb_shape too_many = {.ndim = 9};
    NBT_CHECK(nb_view(a, too_many) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_view: a shape has 0 to 8 dims, not 9");
    NBT_CHECK(nb_view(nb_t(a), NB_SHAPE(12)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_view: view size is not compatible with input tensor's size and stride");
    NBT_CHECK(nb_view(nb_t(a), NB_SHAPE(12)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "size [6, 2], stride [1, 6], view [12]. Use nb_reshape instead");
    nb_scope_end();
}

/* PyTorch's computeStride: views of non-contiguous tensors where each new
 * dim stays inside one evenly spaced chunk. */
static void test_view_noncontiguous(void)
{
    nb_scope_begin();
    /* (3,1,4) permuted to (4,3,1): strides (1,4,4); size-1 dims never
     * break a chunk, so (4,3) is a view with strides (1,4). */
    nb_tensor *p = nb_permute(iota(NB_SHAPE(3, 1, 4)), NB_DIMS(2, 0, 1));
    nb_tensor *v = nb_view(p, NB_SHAPE(4, 3));
    CHECK_STRIDES(v, 1, 4);
    NBT_CHECK_TENSOR(v, NB_SHAPE(4, 3), 0, 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11);
    /* Columns 0..3 of a (4,6): rows can be split but not merged. */
    nb_tensor *cols  = nb_narrow(iota(NB_SHAPE(4, 6)), 1, 0, 4);
    nb_tensor *split = nb_view(cols, NB_SHAPE(2, 2, 4));
    CHECK_STRIDES(split, 12, 6, 1);
    NBT_CHECK_TENSOR(split, NB_SHAPE(2, 2, 4), 0, 0, 1, 2, 3, 6, 7, 8, 9, 12, 13, 14, 15, 18, 19, 20, 21);
    CHECK_STRIDES(nb_view(cols, NB_SHAPE(4, 2, 2)), 6, 2, 1);
    NBT_CHECK(nb_view(cols, NB_SHAPE(16)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "view size is not compatible");
    /* An expanded dim can be split (stride 0 stays 0 outside the chunk). */
    nb_tensor *e  = nb_expand(iota(NB_SHAPE(1, 4)), NB_SHAPE(3, 4));
    nb_tensor *ev = nb_view(e, NB_SHAPE(3, 2, 2));
    CHECK_STRIDES(ev, 0, 2, 1);
    NBT_CHECK_TENSOR(ev, NB_SHAPE(3, 2, 2), 0, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
    NBT_CHECK(nb_view(e, NB_SHAPE(12)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "view size is not compatible");
    /* A slice with step 2 viewed with a leading 1. */
    nb_tensor *s  = nb_slice(iota(NB_SHAPE(10)), 0, 0, NB_END, 2);
    nb_tensor *sv = nb_view(s, NB_SHAPE(1, 5));
    CHECK_STRIDES(sv, 10, 2);
    NBT_CHECK_TENSOR(sv, NB_SHAPE(1, 5), 0, 0, 2, 4, 6, 8);
    nb_scope_end();
}

static void test_reshape(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(2, 3));
    /* Viewable: shares storage. */
    nb_tensor *r = nb_reshape(a, NB_SHAPE(3, 2));
    CHECK_STRIDES(r, 2, 1);
    nb_fill_(nb_select(r, 0, 2), -1);
    NBT_CHECK_TENSOR(a, NB_SHAPE(2, 3), 0, 0, 1, 2, 3, -1, -1);
    /* Not viewable (a transpose merged): a contiguous copy. */
    nb_tensor *t = nb_t(a);
    nb_tensor *c = nb_reshape(t, NB_SHAPE(-1));
    NBT_CHECK_TENSOR(c, NB_SHAPE(6), 0, 0, 3, 1, -1, 2, -1);
    CHECK_STRIDES(c, 1);
    NBT_CHECK(nb_is_contiguous(c));
    nb_fill_(c, 9); /* the copy is its own storage */
    NBT_CHECK_TENSOR(a, NB_SHAPE(2, 3), 0, 0, 1, 2, 3, -1, -1);
    /* requires_grad is kept by views and by the copying path. */
    nb_tensor *g = nb_ones(NB_SHAPE(2, 3), NB_OPTS(.requires_grad = true));
    NBT_CHECK(nb_requires_grad(nb_reshape(g, NB_SHAPE(6))));
    NBT_CHECK(nb_requires_grad(nb_reshape(nb_t(g), NB_SHAPE(6))));
    NBT_CHECK(nb_requires_grad(nb_view(g, NB_SHAPE(3, 2))));
    NBT_CHECK(!nb_requires_grad(nb_reshape(a, NB_SHAPE(6))));
    /* 0-d and empty. */
    NBT_CHECK_TENSOR(nb_reshape(nb_scalar(3, NB_OPTS()), NB_SHAPE(1, 1, 1)), NB_SHAPE(1, 1, 1), 0, 3);
    nb_tensor *e = nb_reshape(nb_t(nb_zeros(NB_SHAPE(3, 0), NB_OPTS())), NB_SHAPE(0, 7));
    NBT_CHECK(e != NULL && nb_size(e, 1) == 7);
    /* Errors are named for nb_reshape. */
    NBT_CHECK(nb_reshape(a, NB_SHAPE(4, -1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_reshape: shape [4, -1] is invalid for input of size 6");
    nb_scope_end();
}

static void test_transpose_permute_t(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(2, 3));
    nb_tensor *t = nb_transpose(a, 0, 1);
    NBT_CHECK_TENSOR(t, NB_SHAPE(3, 2), 0, 0, 3, 1, 4, 2, 5);
    CHECK_STRIDES(t, 1, 3);
    NBT_CHECK(!nb_is_contiguous(t));
    NBT_CHECK_TENSOR(nb_t(a), NB_SHAPE(3, 2), 0, 0, 3, 1, 4, 2, 5);
    /* Negative dims on a 3-d tensor. */
    nb_tensor *x  = iota(NB_SHAPE(2, 3, 4));
    nb_tensor *xt = nb_transpose(x, -1, 0);
    CHECK_STRIDES(xt, 1, 4, 12);
    NBT_CHECK_TENSOR(xt, NB_SHAPE(4, 3, 2), 0, 0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7,
                     19, 11, 23);
    nb_tensor *p = nb_permute(x, NB_DIMS(2, 0, -2));
    CHECK_STRIDES(p, 1, 12, 4);
    NBT_CHECK_TENSOR(p, NB_SHAPE(4, 2, 3), 0, 0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11,
                     15, 19, 23);
    /* Permuting a 0-d tensor with no dims; transposing it with dims 0/-1;
     * t of 0-d and 1-d tensors. */
    nb_tensor *s = nb_scalar(2, NB_OPTS());
    NBT_CHECK_TENSOR(nb_permute(s, (nb_dims){.n = 0}), NB_SCALAR_SHAPE, 0, 2);
    NBT_CHECK_TENSOR(nb_transpose(s, 0, -1), NB_SCALAR_SHAPE, 0, 2);
    NBT_CHECK_TENSOR(nb_t(s), NB_SCALAR_SHAPE, 0, 2);
    NBT_CHECK_TENSOR(nb_t(iota(NB_SHAPE(3))), NB_SHAPE(3), 0, 0, 1, 2);
    /* Writes through a transpose. */
    nb_fill_(nb_select(t, 0, 2), 100); /* column 2 of a */
    NBT_CHECK_TENSOR(a, NB_SHAPE(2, 3), 0, 0, 1, 100, 3, 4, 100);
    /* Errors. */
    NBT_CHECK(nb_transpose(a, 0, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_transpose: dim 2 is out of range for a 2-d tensor");
    NBT_CHECK(nb_transpose(a, -3, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_transpose: dim -3 is out of range");
    NBT_CHECK(nb_permute(x, NB_DIMS(0, 1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_permute: the order lists 2 dims but the tensor has 3");
    NBT_CHECK(nb_permute(x, NB_DIMS(0, 1, -2)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_permute: dim 1 appears twice in the order");
    NBT_CHECK(nb_permute(x, NB_DIMS(0, 1, 3)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_permute: dim 3 is out of range for a 3-d tensor");
    NBT_CHECK(nb_t(x) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_t: expects a tensor with <= 2 dims, but it has 3");
    nb_scope_end();
}

static void test_expand(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(3, 1));
    nb_tensor *e = nb_expand(a, NB_SHAPE(2, 3, 4));
    CHECK_STRIDES(e, 0, 1, 0);
    NBT_CHECK_TENSOR(e, NB_SHAPE(2, 3, 4), 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2);
    /* -1 keeps a size; a new leading dim of size 1 is laid over the next. */
    nb_tensor *k = nb_expand(a, NB_SHAPE(1, -1, 2));
    CHECK_STRIDES(k, 3, 1, 0);
    NBT_CHECK(nb_size(k, 1) == 3);
    /* 0-d to anything; size 1 to 0. */
    nb_tensor *s = nb_expand(nb_scalar(7, NB_OPTS()), NB_SHAPE(2, 2));
    NBT_CHECK_TENSOR(s, NB_SHAPE(2, 2), 0, 7, 7, 7, 7);
    CHECK_STRIDES(s, 0, 0);
    nb_tensor *z = nb_expand(a, NB_SHAPE(3, 0));
    NBT_CHECK(z != NULL && nb_numel(z) == 0);
    CHECK_STRIDES(z, 1, 0);
    /* broadcast_to is the same op. */
    NBT_CHECK_TENSOR(nb_broadcast_to(iota(NB_SHAPE(3)), NB_SHAPE(2, 3)), NB_SHAPE(2, 3), 0, 0, 1, 2, 0, 1, 2);
    /* An expanded view shares storage: filling it fills the base. */
    nb_fill_(e, 5);
    NBT_CHECK_TENSOR(a, NB_SHAPE(3, 1), 0, 5, 5, 5);
    /* requires_grad follows the input. */
    NBT_CHECK(nb_requires_grad(nb_expand(nb_ones(NB_SHAPE(1), NB_OPTS(.requires_grad = true)), NB_SHAPE(4))));
    /* Errors. */
    NBT_CHECK(nb_expand(a, NB_SHAPE(3)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_expand: the number of sizes provided (1) must be greater or equal to the "
                                  "number of dimensions in the tensor (2)");
    NBT_CHECK(nb_expand(a, NB_SHAPE(2, 4)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_expand: the expanded size of the tensor (2) must match the existing size (3) "
                                  "at non-singleton dimension 0. Target sizes: [2, 4]. Tensor sizes: [3, 1]");
    NBT_CHECK(nb_expand(a, NB_SHAPE(-1, 3, 1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_expand: the expanded size -1 is not allowed in a leading, non-existing "
                                  "dimension");
    NBT_CHECK(nb_expand(a, NB_SHAPE(3, -2)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_expand: the expanded size -2 at dim 1 is negative");
    NBT_CHECK(nb_broadcast_to(a, NB_SHAPE(INT64_MAX / 4, 3, INT64_MAX / 4)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_broadcast_to: target");
    nb_shape too_many = {.ndim = 9};
    NBT_CHECK(nb_broadcast_to(a, too_many) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_broadcast_to: a shape has 0 to 8 dims, not 9");
    nb_scope_end();
}

static void test_squeeze_unsqueeze(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(1, 3, 1, 2));
    nb_tensor *s = nb_squeeze(a);
    NBT_CHECK_TENSOR(s, NB_SHAPE(3, 2), 0, 0, 1, 2, 3, 4, 5);
    CHECK_STRIDES(s, 2, 1);
    NBT_CHECK(nb_ndim(nb_squeeze_dim(a, 0)) == 3);
    NBT_CHECK(nb_ndim(nb_squeeze_dim(a, -2)) == 3);
    NBT_CHECK(nb_ndim(nb_squeeze_dim(a, 1)) == 4); /* size 3: unchanged */
    NBT_CHECK(nb_ndim(nb_squeeze(nb_ones(NB_SHAPE(1, 1), NB_OPTS()))) == 0);
    /* 0-d: dims 0 and -1 are valid and change nothing. */
    nb_tensor *z = nb_scalar(4, NB_OPTS());
    NBT_CHECK_TENSOR(nb_squeeze_dim(z, 0), NB_SCALAR_SHAPE, 0, 4);
    NBT_CHECK_TENSOR(nb_squeeze(z), NB_SCALAR_SHAPE, 0, 4);
    /* unsqueeze strides as torch's: the new dim is laid over the next one. */
    CHECK_STRIDES(nb_unsqueeze(a, -1), 6, 2, 2, 1, 1);
    CHECK_STRIDES(nb_unsqueeze(a, 0), 6, 6, 2, 2, 1);
    nb_tensor *cols = nb_slice(iota(NB_SHAPE(4, 3)), 1, 1, NB_END, 1);
    nb_tensor *u    = nb_unsqueeze(cols, 1);
    CHECK_STRIDES(u, 3, 2, 1);
    NBT_CHECK_TENSOR(u, NB_SHAPE(4, 1, 2), 0, 1, 2, 4, 5, 7, 8, 10, 11);
    NBT_CHECK_TENSOR(nb_unsqueeze(z, 0), NB_SHAPE(1), 0, 4);
    NBT_CHECK_TENSOR(nb_unsqueeze(z, -1), NB_SHAPE(1), 0, 4);
    /* Writes through a squeezed view. */
    nb_fill_(nb_select(s, 1, 0), 0);
    NBT_CHECK_TENSOR(a, NB_SHAPE(1, 3, 1, 2), 0, 0, 1, 0, 3, 0, 5);
    /* Errors. */
    NBT_CHECK(nb_squeeze_dim(a, 4) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_squeeze_dim: dim 4 is out of range for a 4-d tensor");
    NBT_CHECK(nb_squeeze_dim(z, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_squeeze_dim: dim 1 is out of range for a 0-d tensor");
    NBT_CHECK(nb_unsqueeze(a, 5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_unsqueeze: dim 5 is out of range for a 4-d tensor (expected -5 to 4)");
    NBT_CHECK(nb_unsqueeze(a, -6) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_unsqueeze: dim -6 is out of range");
    nb_tensor *eight = nb_zeros(NB_SHAPE(1, 1, 1, 1, 1, 1, 1, 1), NB_OPTS());
    NBT_CHECK(nb_unsqueeze(eight, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_unsqueeze: the tensor already has the maximum of 8 dims");
    nb_scope_end();
}

static void test_flatten_unflatten(void)
{
    nb_scope_begin();
    nb_tensor *x = iota(NB_SHAPE(2, 3, 4));
    nb_tensor *f = nb_flatten(x, 0, -1);
    NBT_CHECK(nb_ndim(f) == 1 && nb_size(f, 0) == 24);
    nb_tensor *f12 = nb_flatten(x, 1, 2);
    NBT_CHECK(nb_size(f12, 0) == 2 && nb_size(f12, 1) == 12);
    CHECK_STRIDES(f12, 12, 1);
    nb_fill_(nb_select(f12, 1, 0), -5); /* a view: x[:, 0, 0] = -5 */
    NBT_CHECK(nb_item_int64(nb_select(nb_select(nb_select(x, 0, 1), 0, 0), 0, 0)) == -5);
    NBT_CHECK_TENSOR(nb_flatten(x, 1, 1), NB_SHAPE(2, 3, 4), 0, -5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -5, 13, 14, 15,
                     16, 17, 18, 19, 20, 21, 22, 23);
    /* Rows 0 and 2 of each block cannot merge with the batch: a copy. */
    nb_tensor *strided = nb_slice(x, 1, 0, NB_END, 2);
    nb_tensor *fc      = nb_flatten(strided, 0, 1);
    CHECK_STRIDES(fc, 4, 1);
    NBT_CHECK_TENSOR(fc, NB_SHAPE(4, 4), 0, -5, 1, 2, 3, 8, 9, 10, 11, -5, 13, 14, 15, 20, 21, 22, 23);
    /* A 0-d tensor flattens to one dim of size 1. */
    nb_tensor *s = nb_flatten(nb_scalar(6, NB_OPTS()), 0, -1);
    NBT_CHECK_TENSOR(s, NB_SHAPE(1), 0, 6);
    CHECK_STRIDES(s, 1);
    /* unflatten: split one dim, with -1 inferred. */
    nb_tensor *u = nb_unflatten(iota(NB_SHAPE(2, 6)), 1, NB_SHAPE(2, -1));
    CHECK_STRIDES(u, 6, 3, 1);
    NBT_CHECK_TENSOR(u, NB_SHAPE(2, 2, 3), 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    nb_tensor *ut = nb_unflatten(nb_t(iota(NB_SHAPE(2, 6))), -2, NB_SHAPE(3, 2));
    CHECK_STRIDES(ut, 2, 1, 6);
    NBT_CHECK_TENSOR(ut, NB_SHAPE(3, 2, 2), 0, 0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11);
    nb_tensor *ue = nb_unflatten(nb_zeros(NB_SHAPE(2, 0), NB_OPTS()), 1, NB_SHAPE(2, 0));
    CHECK_STRIDES(ue, 2, 1, 1);
    /* Errors. */
    NBT_CHECK(nb_flatten(x, 2, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_flatten: start_dim 2 cannot come after end_dim 1");
    NBT_CHECK(nb_flatten(x, 0, 3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_flatten: dim 3 is out of range");
    NBT_CHECK(nb_unflatten(x, 1, NB_SHAPE(2, 2)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_unflatten: provided sizes [2, 2] don't multiply up to the size of dim 1 (3)");
    NBT_CHECK(nb_unflatten(x, 2, NB_SHAPE(3, -1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_unflatten: provided sizes [3, -1] don't multiply up to the size of dim 2 (4)");
    NBT_CHECK(nb_unflatten(x, 1, NB_SCALAR_SHAPE) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_unflatten: sizes must be non-empty");
    NBT_CHECK(nb_unflatten(nb_zeros(NB_SHAPE(2, 0), NB_OPTS()), 1, NB_SHAPE(0, -1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_unflatten: cannot reshape a tensor of 0 elements into shape [0, -1]");
    NBT_CHECK(nb_unflatten(nb_scalar(1, NB_OPTS()), 0, NB_SHAPE(1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_unflatten: cannot unflatten a 0-d tensor");
    NBT_CHECK(nb_unflatten(x, 0, NB_SHAPE(1, 1, 1, 1, 1, 1, 2)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_unflatten: the result would have 9 dims; at most 8 are allowed");
    NBT_CHECK(nb_unflatten(x, 3, NB_SHAPE(1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_unflatten: dim 3 is out of range");
    nb_scope_end();
}

static void test_narrow(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(4, 3));
    nb_tensor *n = nb_narrow(a, 0, 1, 2);
    NBT_CHECK_TENSOR(n, NB_SHAPE(2, 3), 0, 3, 4, 5, 6, 7, 8);
    NBT_CHECK(nb_storage_offset(n) == 3);
    NBT_CHECK_TENSOR(nb_narrow(a, -1, -2, 2), NB_SHAPE(4, 2), 0, 1, 2, 4, 5, 7, 8, 10, 11);
    nb_tensor *empty = nb_narrow(a, 0, 4, 0);
    NBT_CHECK(empty != NULL && nb_numel(empty) == 0 && nb_storage_offset(empty) == 12);
    nb_fill_(nb_narrow(a, 1, 2, 1), -1);
    NBT_CHECK_TENSOR(a, NB_SHAPE(4, 3), 0, 0, 1, -1, 3, 4, -1, 6, 7, -1, 9, 10, -1);
    NBT_CHECK(nb_narrow(a, 0, 5, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_narrow: start 5 is out of range for dim 0 of size 4 (expected -4 to 4)");
    NBT_CHECK(nb_narrow(a, 0, 2, 3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_narrow: start (2) + length (3) exceeds dimension size (4)");
    NBT_CHECK(nb_narrow(a, 0, 2, -1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_narrow: length -1 is negative");
    NBT_CHECK(nb_narrow(nb_scalar(1, NB_OPTS()), 0, 0, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_narrow: cannot be applied to a 0-d tensor");
    NBT_CHECK(nb_narrow(a, 2, 0, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_narrow: dim 2 is out of range");
    nb_scope_end();
}

static void test_slice(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(10));
    nb_tensor *s = nb_slice(a, 0, -7, NB_END, 3); /* a[-7::3] */
    NBT_CHECK_TENSOR(s, NB_SHAPE(3), 0, 3, 6, 9);
    CHECK_STRIDES(s, 3);
    NBT_CHECK(nb_storage_offset(s) == 3);
    NBT_CHECK_TENSOR(nb_slice(a, 0, -100, 3, 1), NB_SHAPE(3), 0, 0, 1, 2); /* bounds clamp */
    NBT_CHECK_TENSOR(nb_slice(a, -1, 1, -1, 4), NB_SHAPE(2), 0, 1, 5);
    nb_tensor *e = nb_slice(a, 0, 8, 2, 1); /* stop before start: empty at 8 */
    NBT_CHECK(e != NULL && nb_numel(e) == 0 && nb_storage_offset(e) == 8);
    nb_tensor *far = nb_slice(a, 0, 2, NB_END, INT64_MAX); /* one element, no overflow */
    NBT_CHECK_TENSOR(far, NB_SHAPE(1), 0, 2);
    /* A slice of a slice of a transposed tensor, and writes through it. */
    nb_tensor *m  = iota(NB_SHAPE(3, 4));
    nb_tensor *ms = nb_slice(nb_slice(nb_t(m), 0, 1, NB_END, 2), 1, 0, NB_END, 2);
    NBT_CHECK_TENSOR(ms, NB_SHAPE(2, 2), 0, 1, 9, 3, 11);
    CHECK_STRIDES(ms, 2, 8);
    nb_fill_(ms, 0);
    NBT_CHECK_TENSOR(m, NB_SHAPE(3, 4), 0, 0, 0, 2, 0, 4, 5, 6, 7, 8, 0, 10, 0);
    NBT_CHECK(nb_slice(a, 0, 0, 5, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_slice: step must be positive, got 0");
    NBT_CHECK(nb_slice(a, 0, 0, 5, -1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_slice: step must be positive, got -1");
    NBT_CHECK(nb_slice(nb_scalar(1, NB_OPTS()), 0, 0, 1, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_slice: cannot be applied to a 0-d tensor");
    NBT_CHECK(nb_slice(a, 1, 0, 1, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_slice: dim 1 is out of range for a 1-d tensor");
    nb_scope_end();
}

static void test_select(void)
{
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(4, 3));
    NBT_CHECK_TENSOR(nb_select(a, 0, 2), NB_SHAPE(3), 0, 6, 7, 8);
    nb_tensor *col = nb_select(a, -1, -1);
    NBT_CHECK_TENSOR(col, NB_SHAPE(4), 0, 2, 5, 8, 11);
    CHECK_STRIDES(col, 3);
    NBT_CHECK(nb_storage_offset(col) == 2);
    nb_tensor *one = nb_select(col, 0, 3); /* 1-d -> 0-d */
    NBT_CHECK_TENSOR(one, NB_SCALAR_SHAPE, 0, 11);
    nb_fill_(one, 42);
    NBT_CHECK_TENSOR(a, NB_SHAPE(4, 3), 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 42);
    NBT_CHECK(nb_select(a, 0, 4) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_select: index 4 is out of range for tensor of size [4, 3] at dimension 0");
    NBT_CHECK(nb_select(a, 1, -4) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_select: index -4 is out of range for tensor of size [4, 3] at dimension 1");
    NBT_CHECK(nb_select(nb_zeros(NB_SHAPE(0), NB_OPTS()), 0, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_select: index 0 is out of range for tensor of size [0]");
    NBT_CHECK(nb_select(one, 0, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_select: cannot be applied to a 0-d tensor");
    nb_scope_end();
}

static void test_diagonal(void)
{
    nb_scope_begin();
    nb_tensor *b = iota(NB_SHAPE(3, 3));
    NBT_CHECK_TENSOR(nb_diagonal(b, 0, 0, 1), NB_SHAPE(3), 0, 0, 4, 8);
    NBT_CHECK_TENSOR(nb_diagonal(b, 1, 0, 1), NB_SHAPE(2), 0, 1, 5);
    NBT_CHECK_TENSOR(nb_diagonal(b, -1, 0, 1), NB_SHAPE(2), 0, 3, 7);
    NBT_CHECK_TENSOR(nb_diagonal(b, 0, 1, 0), NB_SHAPE(3), 0, 0, 4, 8);
    CHECK_STRIDES(nb_diagonal(b, 0, 0, 1), 4);
    /* (3,4,5) along dims 0 and 2: remaining dim first, diagonal last. */
    nb_tensor *x = iota(NB_SHAPE(3, 4, 5));
    nb_tensor *d = nb_diagonal(x, 1, 0, 2);
    CHECK_STRIDES(d, 5, 21);
    NBT_CHECK(nb_storage_offset(d) == 1);
    NBT_CHECK_TENSOR(d, NB_SHAPE(4, 3), 0, 1, 22, 43, 6, 27, 48, 11, 32, 53, 16, 37, 58);
    NBT_CHECK_TENSOR(nb_diagonal(x, -1, -1, 0), NB_SHAPE(4, 3), 0, 1, 22, 43, 6, 27, 48, 11, 32, 53, 16, 37, 58);
    nb_tensor *none = nb_diagonal(x, 10, 0, 2);
    NBT_CHECK(none != NULL && nb_size(none, 1) == 0 && nb_storage_offset(none) == 0);
    NBT_CHECK(nb_numel(nb_diagonal(x, INT64_MIN, 0, 2)) == 0);
    /* Non-contiguous input, and a write through the diagonal. */
    nb_tensor *bt = nb_t(b);
    NBT_CHECK_TENSOR(nb_diagonal(bt, 1, 0, 1), NB_SHAPE(2), 0, 3, 7);
    nb_fill_(nb_diagonal(b, 0, 0, 1), -1);
    NBT_CHECK_TENSOR(b, NB_SHAPE(3, 3), 0, -1, 1, 2, 3, -1, 5, 6, 7, -1);
    NBT_CHECK(nb_diagonal(iota(NB_SHAPE(3)), 0, 0, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_diagonal: needs a tensor with at least 2 dims, got 1");
    NBT_CHECK(nb_diagonal(x, 0, 1, -2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_diagonal: dim1 and dim2 are the same dim (1)");
    NBT_CHECK(nb_diagonal(x, 0, 0, 3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_diagonal: dim 3 is out of range");
    nb_scope_end();
}

/* Every view op: a NULL input is NB_ERR_ARG naming the op, and does not
 * overwrite an earlier error. */
static void test_null_inputs(void)
{
    NBT_CHECK(nb_reshape(NULL, NB_SHAPE(1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_reshape: argument 't' is NULL");
    NBT_CHECK(nb_view(NULL, NB_SHAPE(1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_view: argument 't' is NULL");
    NBT_CHECK(nb_transpose(NULL, 0, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_transpose: argument 't' is NULL");
    NBT_CHECK(nb_permute(NULL, NB_DIMS(0)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_permute: argument 't' is NULL");
    NBT_CHECK(nb_t(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_t: argument 't' is NULL");
    NBT_CHECK(nb_expand(NULL, NB_SHAPE(1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_expand: argument 't' is NULL");
    NBT_CHECK(nb_broadcast_to(NULL, NB_SHAPE(1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_broadcast_to: argument 't' is NULL");
    NBT_CHECK(nb_squeeze(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_squeeze: argument 't' is NULL");
    NBT_CHECK(nb_squeeze_dim(NULL, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_squeeze_dim: argument 't' is NULL");
    NBT_CHECK(nb_unsqueeze(NULL, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_unsqueeze: argument 't' is NULL");
    NBT_CHECK(nb_flatten(NULL, 0, -1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_flatten: argument 't' is NULL");
    NBT_CHECK(nb_unflatten(NULL, 0, NB_SHAPE(1)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_unflatten: argument 't' is NULL");
    NBT_CHECK(nb_narrow(NULL, 0, 0, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_narrow: argument 't' is NULL");
    NBT_CHECK(nb_slice(NULL, 0, 0, 1, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_slice: argument 't' is NULL");
    NBT_CHECK(nb_select(NULL, 0, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_select: argument 't' is NULL");
    NBT_CHECK(nb_diagonal(NULL, 0, 0, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_diagonal: argument 't' is NULL");
    /* A chain reports its first cause. */
    nb_scope_begin();
    nb_tensor *a = iota(NB_SHAPE(2, 3));
    NBT_CHECK(nb_t(nb_unsqueeze(nb_select(a, 0, 5), 0)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_select: index 5 is out of range");
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_view_contiguous);
    NBT_RUN(test_view_scalar_and_empty);
    NBT_RUN(test_view_errors);
    NBT_RUN(test_view_noncontiguous);
    NBT_RUN(test_reshape);
    NBT_RUN(test_transpose_permute_t);
    NBT_RUN(test_expand);
    NBT_RUN(test_squeeze_unsqueeze);
    NBT_RUN(test_flatten_unflatten);
    NBT_RUN(test_narrow);
    NBT_RUN(test_slice);
    NBT_RUN(test_select);
    NBT_RUN(test_diagonal);
    NBT_RUN(test_null_inputs);
    return nbt_finish();
}
