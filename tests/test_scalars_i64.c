/*
 * test_scalars_i64.c — int64 numbers stay exact beyond 2^53 (issue 13):
 * the _scalar_i64 forms, nb_full_i64 and nb_fill_i64_, where a double
 * would round 2^60 + 1 to 2^60. The op table (tests/op_info.h) compares
 * them with torch, but through float64 values, which cannot show an error
 * of one in the last place; these checks read the int64 results exactly.
 */
#include "nb_test.h"

#include <limits.h>

static const int64_t big = ((int64_t)1 << 60) + 1; /* not a double */

static int64_t first(const nb_tensor *t) { return nb_item_int64(nb_select(nb_reshape(t, NB_SHAPE(-1)), 0, 0)); }

static void test_arithmetic_is_exact(void)
{
    nb_scope_begin();
    nb_tensor *t = nb_full_i64(NB_SHAPE(2), big, NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(first(t) == big);
    NBT_CHECK(first(nb_add_scalar_i64(t, big)) == 2 * big);
    NBT_CHECK(first(nb_sub_scalar_i64(t, big - 7)) == 7);
    NBT_CHECK(first(nb_rsub_scalar_i64(t, big + 5)) == 5);
    NBT_CHECK(first(nb_mul_scalar_i64(nb_full_i64(NB_SHAPE(1), 3, NB_OPTS(.dtype = NB_INT64)), big)) == 3 * big);
    NBT_CHECK(first(nb_floor_divide_scalar_i64(t, (int64_t)1 << 30)) == (int64_t)1 << 30);
    NBT_CHECK(first(nb_remainder_scalar_i64(t, (int64_t)1 << 30)) == 1);
    NBT_CHECK(first(nb_remainder_scalar_i64(t, -((int64_t)1 << 30))) == 1 - ((int64_t)1 << 30)); /* Python's sign */
    NBT_CHECK(first(nb_fmod_scalar_i64(t, -((int64_t)1 << 30))) == 1);                          /* C's sign */
    NBT_CHECK(first(nb_maximum_scalar_i64(t, big + 1)) == big + 1);
    NBT_CHECK(first(nb_minimum_scalar_i64(t, big - 1)) == big - 1);
    NBT_CHECK(first(nb_bitwise_and_scalar_i64(t, big - 1)) == (int64_t)1 << 60);
    NBT_CHECK(first(nb_bitwise_xor_scalar_i64(t, 1)) == (int64_t)1 << 60);
    NBT_CHECK(first(nb_bitwise_or_scalar_i64(t, 2)) == big + 2);
    /* a double would take big for 2^60 and find them equal */
    NBT_CHECK(first(nb_eq_scalar_i64(t, big)) == 1);
    NBT_CHECK(first(nb_eq_scalar_i64(t, big - 1)) == 0);
    NBT_CHECK(first(nb_gt_scalar_i64(t, big - 1)) == 1);
    NBT_CHECK(first(nb_lt_scalar_i64(t, big)) == 0);
    NBT_CHECK(first(nb_add_scalar_i64(nb_full_i64(NB_SHAPE(1), INT64_MAX, NB_OPTS(.dtype = NB_INT64)), 1)) ==
              INT64_MIN); /* wraps, as torch */
    nb_scope_end();
}

static void test_in_place_and_fill(void)
{
    nb_scope_begin();
    nb_tensor *t = nb_zeros(NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(nb_fill_i64_(t, big) == t);
    NBT_CHECK(first(t) == big);
    NBT_CHECK(nb_add_scalar_i64_(t, big) == t);
    NBT_CHECK(first(t) == 2 * big);
    NBT_CHECK(nb_bitwise_and_scalar_i64_(t, ((int64_t)1 << 61) - 1) == t);
    NBT_CHECK(first(t) == 2);
    nb_scope_end();
}

/* Promotion as a Python int: integer tensors keep their dtype (a narrower
 * one wraps the number, as torch), bool gives int64, floats convert. */
static void test_promotion(void)
{
    nb_scope_begin();
    nb_tensor *i32 = nb_ones(NB_SHAPE(1), NB_OPTS(.dtype = NB_INT32));
    nb_tensor *sum = nb_add_scalar_i64(i32, ((int64_t)1 << 40) + 2);
    NBT_CHECK(nb_dtype_of(sum) == NB_INT32 && first(sum) == 3);
    nb_tensor *flag = nb_add_scalar_i64(nb_ones(NB_SHAPE(1), NB_OPTS(.dtype = NB_BOOL)), big);
    NBT_CHECK(nb_dtype_of(flag) == NB_INT64 && first(flag) == big + 1);
    nb_tensor *f = nb_add_scalar_i64(nb_zeros(NB_SHAPE(1), NB_OPTS(.dtype = NB_FLOAT64)), big);
    NBT_CHECK(nb_dtype_of(f) == NB_FLOAT64 && nb_item(f) == (double)big);
    nb_tensor *q = nb_div_scalar_i64(nb_full_i64(NB_SHAPE(1), 7, NB_OPTS(.dtype = NB_INT64)), 2);
    NBT_CHECK(nb_dtype_of(q) == NB_FLOAT32 && nb_item(q) == 3.5);
    nb_scope_end();
}

static void test_errors(void)
{
    nb_scope_begin();
    NBT_CHECK(nb_full_i64(NB_SHAPE(1), (int64_t)1 << 40, NB_OPTS(.dtype = NB_INT32)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "value 1099511627776 cannot be converted to int32");
    NBT_CHECK(nb_floor_divide_scalar_i64(nb_ones(NB_SHAPE(1), NB_OPTS(.dtype = NB_INT64)), 0) == NULL);
    NBT_CHECK(nb_last_status() == NB_ERR_ARG);
    nb_clear_error();
    NBT_CHECK(nb_pow_scalar_i64(nb_ones(NB_SHAPE(1), NB_OPTS(.dtype = NB_INT32)), (int64_t)1 << 40) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "cannot be converted to int32 without overflow");
    NBT_CHECK(nb_pow_scalar_i64(nb_ones(NB_SHAPE(1), NB_OPTS(.dtype = NB_INT64)), -1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "negative integer powers");
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_arithmetic_is_exact);
    NBT_RUN(test_in_place_and_fill);
    NBT_RUN(test_promotion);
    NBT_RUN(test_errors);
    return nbt_finish();
}
