/*
 * test_reduce.c — reductions, cumsum, softmax and log_softmax.
 *
 * The fixture table tests/data/reduce_fixtures.h (made by
 * scripts/make_reduce_fixtures.py with PyTorch) covers every op over every
 * dim list on contiguous, permuted, step-sliced and expanded views of float
 * (run as float64 and float32), int (int64 and int32) and bool inputs, with
 * keepdim on and off. The hand-written tests cover what a table cannot:
 * dtype rules, 0-d and empty tensors, NaN and inf, ties, sums past 2^24,
 * accuracy, thread-count independence, the column layout, and every error.
 */
#include "nb_test.h"

#include "cpu/reduce_kernels.h"
#include "data/reduce_fixtures.h"

#include <stdint.h>

static const nb_dims every_dim = {.n = 0};

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                  */
/* ------------------------------------------------------------------------ */

static nb_tensor *fixture_input(const char *input, nb_dtype dtype)
{
    const double *values    = strcmp(input, "float") == 0 ? reduce_fixture_float_input
                              : strcmp(input, "int") == 0 ? reduce_fixture_int_input
                                                          : reduce_fixture_bool_input;
    nb_tensor    *as_double = nb_from_data(values, NB_SHAPE(3, 4, 5), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor    *t         = nb_to_dtype(as_double, dtype);
    nb_free(as_double);
    return t;
}

/* The view the fixture script applied (a new handle). */
static nb_tensor *fixture_view(const nb_tensor *x, const char *view)
{
    if (strcmp(view, "permuted") == 0) return nb_permute(x, NB_DIMS(2, 0, 1));
    if (strcmp(view, "sliced") == 0) {
        nb_tensor *a = nb_slice(x, 1, 0, NB_END, 2);
        nb_tensor *b = nb_slice(a, 2, 1, NB_END, 1);
        nb_free(a);
        return b;
    }
    if (strcmp(view, "expanded") == 0) {
        nb_tensor *a = nb_select(x, 0, 0);
        nb_tensor *b = nb_select(a, 0, 0);
        nb_tensor *c = nb_expand(b, NB_SHAPE(4, 5));
        nb_free(a);
        nb_free(b);
        return c;
    }
    return nb_slice(x, 0, 0, NB_END, 1); /* contiguous: a plain view */
}

static bool is_op(const reduce_fixture *f, const char *name) { return strcmp(f->op, name) == 0; }

/* Run the fixture's op on v; the plain (all-dims) forms are used for an
 * empty dim list without keepdim, the _dims forms otherwise. */
static nb_tensor *fixture_run(const reduce_fixture *f, const nb_tensor *v)
{
    nb_dims dims = {.n = f->ndims};
    for (int i = 0; i < f->ndims; i++)
        dims.dims[i] = f->dims[i];
    bool    plain = f->ndims == 0 && !f->keepdim;
    bool    keep  = f->keepdim != 0;
    int64_t c     = (int64_t)f->param;
    if (is_op(f, "sum")) return plain ? nb_sum(v) : nb_sum_dims(v, dims, keep);
    if (is_op(f, "mean")) return plain ? nb_mean(v) : nb_mean_dims(v, dims, keep);
    if (is_op(f, "prod")) return plain ? nb_prod(v) : nb_prod_dims(v, dims, keep);
    if (is_op(f, "var")) return plain ? nb_var(v, c) : nb_var_dims(v, dims, c, keep);
    if (is_op(f, "std")) return plain ? nb_std(v, c) : nb_std_dims(v, dims, c, keep);
    if (is_op(f, "logsumexp")) return nb_logsumexp(v, dims, keep);
    if (is_op(f, "norm")) return plain ? nb_norm(v, f->param) : nb_norm_dims(v, f->param, dims, keep);
    if (is_op(f, "all")) return plain ? nb_all(v) : nb_all_dims(v, dims, keep);
    if (is_op(f, "any")) return plain ? nb_any(v) : nb_any_dims(v, dims, keep);
    if (is_op(f, "max_dim_values")) return nb_max_dim(v, f->dim, keep, NULL);
    if (is_op(f, "min_dim_values")) return nb_min_dim(v, f->dim, keep, NULL);
    if (is_op(f, "max_dim_indices") || is_op(f, "min_dim_indices")) {
        nb_tensor *indices = NULL;
        nb_tensor *values =
            is_op(f, "max_dim_indices") ? nb_max_dim(v, f->dim, keep, &indices) : nb_min_dim(v, f->dim, keep, &indices);
        nb_free(values);
        return indices;
    }
    if (is_op(f, "argmax_dim")) return nb_argmax_dim(v, f->dim, keep);
    if (is_op(f, "argmin_dim")) return nb_argmin_dim(v, f->dim, keep);
    if (is_op(f, "cumsum")) return nb_cumsum(v, f->dim);
    if (is_op(f, "softmax")) return nb_softmax(v, f->dim);
    if (is_op(f, "log_softmax")) return nb_log_softmax(v, f->dim);
    if (is_op(f, "max")) return nb_max(v);
    if (is_op(f, "min")) return nb_min(v);
    if (is_op(f, "argmax")) return nb_argmax(v);
    if (is_op(f, "argmin")) return nb_argmin(v);
    fprintf(stderr, "unknown fixture op %s\n", f->op);
    return NULL;
}

/* The dtype nabla's rules give for the fixture's op on an input dtype. */
static nb_dtype expected_dtype(const reduce_fixture *f, nb_dtype in)
{
    bool floating = in == NB_FLOAT32 || in == NB_FLOAT64;
    if (is_op(f, "sum") || is_op(f, "prod") || is_op(f, "cumsum")) return floating ? in : NB_INT64;
    if (is_op(f, "all") || is_op(f, "any")) return NB_BOOL;
    if (strstr(f->op, "indices") || strncmp(f->op, "arg", 3) == 0) return NB_INT64;
    return in;
}

/* Compare with a tolerance relative to the expected magnitude. */
static bool fixture_matches(const reduce_fixture *f, const nb_tensor *got, double rel)
{
    nb_shape shape = {.ndim = f->out_ndim};
    for (int d = 0; d < f->out_ndim; d++)
        shape.dims[d] = f->out_shape[d];
    double tol_scale = 0.0;
    for (int i = 0; i < f->count; i++)
        if (isfinite(f->expected[i]) && fabs(f->expected[i]) > tol_scale) tol_scale = fabs(f->expected[i]);
    return nbt_tensor_equals(got, shape, f->expected, rel * (1.0 + tol_scale));
}

static void test_torch_fixtures(void)
{
    static const struct {
        const char *input;
        nb_dtype    dtype;
        double      rel; /* tolerance relative to the largest expected value */
    } runs[] = {
        {"float", NB_FLOAT64, 1e-12}, {"float", NB_FLOAT32, 3e-6}, {"int", NB_INT64, 0},
        {"int", NB_INT32, 0},         {"bool", NB_BOOL, 0},
    };
    int count = (int)(sizeof reduce_fixtures / sizeof reduce_fixtures[0]);
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        nb_tensor *x = fixture_input(runs[r].input, runs[r].dtype);
        for (int i = 0; i < count; i++) {
            const reduce_fixture *f = &reduce_fixtures[i];
            if (strcmp(f->input, runs[r].input) != 0) continue;
            nb_tensor *v   = fixture_view(x, f->view);
            nb_tensor *got = fixture_run(f, v);
            nbt_checks++;
            if (got == NULL || nb_dtype_of(got) != expected_dtype(f, runs[r].dtype) ||
                !fixture_matches(f, got, runs[r].rel)) {
                nbt_failures++;
                fprintf(stderr, "fixture %d (%s of %s %s %s, dims n=%d [%d %d %d], dim %d, keepdim %d, param %g): %s\n",
                        i, f->op, f->view, runs[r].input, nb_dtype_name(runs[r].dtype), f->ndims, f->dims[0],
                        f->dims[1], f->dims[2], f->dim, f->keepdim, f->param,
                        got ? nb_dtype_name(nb_dtype_of(got)) : nb_last_error());
                nb_clear_error();
            }
            nb_free(got);
            nb_free(v);
        }
        nb_free(x);
    }
}

/* ------------------------------------------------------------------------ */
/* Values and dtypes by hand                                                 */
/* ------------------------------------------------------------------------ */

static void test_small_by_hand(void)
{
    /* [[1, 2, 3], [4, 5, 6]] */
    double     data[] = {1, 2, 3, 4, 5, 6};
    nb_tensor *x      = nb_from_data(data, NB_SHAPE(2, 3), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *r;
    NBT_CHECK_TENSOR(r = nb_sum(x), NB_SCALAR_SHAPE, 0, 21);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_sum_dims(x, NB_DIMS(0), false), NB_SHAPE(3), 0, 5, 7, 9);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_sum_dims(x, NB_DIMS(-1), true), NB_SHAPE(2, 1), 0, 6, 15);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_sum_dims(x, every_dim, true), NB_SHAPE(1, 1), 0, 21);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_mean_dims(x, NB_DIMS(1), false), NB_SHAPE(2), 0, 2, 5);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_prod(x), NB_SCALAR_SHAPE, 0, 720);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_var_dims(x, NB_DIMS(1), 1, false), NB_SHAPE(2), 1e-15, 1, 1);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_var(x, 0), NB_SCALAR_SHAPE, 1e-15, 35.0 / 12.0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_std_dims(x, NB_DIMS(0), 1, false), NB_SHAPE(3), 1e-15, sqrt(4.5), sqrt(4.5), sqrt(4.5));
    nb_free(r);
    /* correction 3 on rows of 3: divisor max(0, 0) = 0 -> inf (torch) */
    NBT_CHECK_TENSOR(r = nb_var_dims(x, NB_DIMS(1), 3, false), NB_SHAPE(2), 0, INFINITY, INFINITY);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_var_dims(x, NB_DIMS(1), -1, false), NB_SHAPE(2), 1e-15, 0.5, 0.5);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_norm(x, 1), NB_SCALAR_SHAPE, 0, 21);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_norm(x, 2), NB_SCALAR_SHAPE, 1e-14, sqrt(91));
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_norm_dims(x, INFINITY, NB_DIMS(1), false), NB_SHAPE(2), 0, 3, 6);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_norm(x, -INFINITY), NB_SCALAR_SHAPE, 0, 1);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_norm(x, 3), NB_SCALAR_SHAPE, 1e-13, cbrt(441));
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_logsumexp(x, NB_DIMS(1), false), NB_SHAPE(2), 1e-14, log(exp(1) + exp(2) + exp(3)),
                     log(exp(4) + exp(5) + exp(6)));
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_cumsum(x, 1), NB_SHAPE(2, 3), 0, 1, 3, 6, 4, 9, 15);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_cumsum(x, 0), NB_SHAPE(2, 3), 0, 1, 2, 3, 5, 7, 9);
    nb_free(r);
    double e1 = exp(1), e2 = exp(2), e3 = exp(3), s = e1 + e2 + e3;
    NBT_CHECK_TENSOR(r = nb_softmax(x, 1), NB_SHAPE(2, 3), 1e-15, e1 / s, e2 / s, e3 / s, e1 / s, e2 / s, e3 / s);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_log_softmax(x, -1), NB_SHAPE(2, 3), 1e-14, 1 - log(s), 2 - log(s), 3 - log(s), 1 - log(s),
                     2 - log(s), 3 - log(s));
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_softmax(x, 0), NB_SHAPE(2, 3), 1e-15, 1 / (1 + exp(3)), 1 / (1 + exp(3)), 1 / (1 + exp(3)),
                     1 / (1 + exp(-3)), 1 / (1 + exp(-3)), 1 / (1 + exp(-3)));
    nb_free(r);
    nb_tensor *idx = NULL;
    NBT_CHECK_TENSOR(r = nb_max_dim(x, 0, false, &idx), NB_SHAPE(3), 0, 4, 5, 6);
    NBT_CHECK_TENSOR(idx, NB_SHAPE(3), 0, 1, 1, 1);
    NBT_CHECK(nb_dtype_of(idx) == NB_INT64 && nb_dtype_of(r) == NB_FLOAT64);
    nb_free(r);
    nb_free(idx);
    NBT_CHECK_TENSOR(r = nb_min_dim(x, 1, true, &idx), NB_SHAPE(2, 1), 0, 1, 4);
    NBT_CHECK_TENSOR(idx, NB_SHAPE(2, 1), 0, 0, 0);
    nb_free(r);
    nb_free(idx);
    NBT_CHECK_TENSOR(r = nb_argmax(x), NB_SCALAR_SHAPE, 0, 5);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_argmin_dim(x, 1, true), NB_SHAPE(2, 1), 0, 0, 0);
    nb_free(r);
    /* the transpose: argmax is a position in row-major order of the view */
    nb_tensor *xt = nb_t(x);
    NBT_CHECK_TENSOR(r = nb_argmax(xt), NB_SCALAR_SHAPE, 0, 5);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_argmin(xt), NB_SCALAR_SHAPE, 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_cumsum(xt, 0), NB_SHAPE(3, 2), 0, 1, 4, 3, 9, 6, 15);
    nb_free(r);
    nb_free(xt);
    nb_free(x);
}

static void test_dtype_rules(void)
{
    uint8_t    bytes[] = {200, 100, 0};
    nb_tensor *u8      = nb_from_data(bytes, NB_SHAPE(3), NB_OPTS(.dtype = NB_UINT8));
    nb_tensor *r;
    NBT_CHECK_TENSOR(r = nb_sum(u8), NB_SCALAR_SHAPE, 0, 300); /* int64, no uint8 wrap */
    NBT_CHECK(nb_dtype_of(r) == NB_INT64);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_prod(u8), NB_SCALAR_SHAPE, 0, 0);
    NBT_CHECK(nb_dtype_of(r) == NB_INT64);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_max(u8), NB_SCALAR_SHAPE, 0, 200);
    NBT_CHECK(nb_dtype_of(r) == NB_UINT8);
    nb_free(r);
    /* all / any keep uint8, as torch 1.13 (every other dtype gives bool). */
    NBT_CHECK_TENSOR(r = nb_all(u8), NB_SCALAR_SHAPE, 0, 0);
    NBT_CHECK(nb_dtype_of(r) == NB_UINT8);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_any(u8), NB_SCALAR_SHAPE, 0, 1);
    NBT_CHECK(nb_dtype_of(r) == NB_UINT8);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_cumsum(u8, 0), NB_SHAPE(3), 0, 200, 300, 300);
    NBT_CHECK(nb_dtype_of(r) == NB_INT64);
    nb_free(r);
    nb_free(u8);

    uint8_t    flags[] = {1, 0, 1, 1};
    nb_tensor *b       = nb_from_data(flags, NB_SHAPE(4), NB_OPTS(.dtype = NB_BOOL));
    NBT_CHECK_TENSOR(r = nb_sum(b), NB_SCALAR_SHAPE, 0, 3);
    NBT_CHECK(nb_dtype_of(r) == NB_INT64);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_max(b), NB_SCALAR_SHAPE, 0, 1);
    NBT_CHECK(nb_dtype_of(r) == NB_BOOL);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_min(b), NB_SCALAR_SHAPE, 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_cumsum(b, 0), NB_SHAPE(4), 0, 1, 1, 2, 3);
    nb_free(r);
    nb_free(b);

    /* int64 sums and products wrap as two's complement, without UB */
    int64_t    big[] = {INT64_MAX, 1};
    nb_tensor *i64   = nb_from_data(big, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64));
    r                = nb_sum(i64);
    NBT_CHECK(r && nb_item_int64(r) == INT64_MIN);
    nb_free(r);
    r                  = nb_cumsum(i64, 0);
    int64_t running[2] = {0, 0};
    NBT_CHECK(r && nb_copy_to_buffer(r, running, sizeof running) == NB_OK && running[1] == INT64_MIN);
    nb_free(r);
    int64_t    twos[] = {INT64_MIN, 2};
    nb_tensor *wrap   = nb_from_data(twos, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64));
    r                 = nb_prod(wrap);
    NBT_CHECK(r && nb_item_int64(r) == 0);
    nb_free(r);
    nb_free(wrap);
    nb_free(i64);

    /* Long integer runs (several leaves): the contiguous sum loop and the
     * strided path (a column of a transposed copy) give the exact sum. */
    enum { LONG = 10007 };
    int64_t *values = malloc(LONG * sizeof *values);
    int64_t  exact  = 0, flags_set = 0;
    for (int64_t i = 0; i < LONG; i++) {
        values[i] = (i * 7919) % 251 - (i % 3 == 0 ? 120 : 0);
        exact += values[i];
        flags_set += values[i] != 0;
    }
    nb_tensor *column = nb_from_data(values, NB_SHAPE(LONG, 1), NB_OPTS(.dtype = NB_INT64));
    free(values);
    static const nb_dtype int_dtypes[] = { NB_INT64, NB_INT32, NB_BOOL };
    for (size_t k = 0; k < sizeof int_dtypes / sizeof int_dtypes[0]; k++) {
        nb_tensor *typed   = nb_to_dtype(column, int_dtypes[k]);
        nb_tensor *spread  = nb_expand(typed, NB_SHAPE(LONG, 3));
        nb_tensor *wide    = nb_contiguous(spread); /* its columns are strided runs */
        nb_tensor *sum     = nb_sum(typed);
        nb_tensor *strided = nb_sum_dims(wide, NB_DIMS(0), false);
        int64_t    want    = int_dtypes[k] == NB_BOOL ? flags_set : exact;
        int64_t    got[3]  = { 0, 0, 0 };
        NBT_CHECK(sum && nb_item_int64(sum) == want);
        NBT_CHECK(strided && nb_copy_to_buffer(strided, got, sizeof got) == NB_OK && got[0] == want && got[2] == want);
        nb_free(typed), nb_free(spread), nb_free(wide), nb_free(sum), nb_free(strided);
    }
    nb_free(column);

    /* float32 stays float32; int32 values stay int32 for max */
    nb_tensor *f = nb_ones(NB_SHAPE(2, 2), NB_OPTS());
    r            = nb_mean(f);
    NBT_CHECK(r && nb_dtype_of(r) == NB_FLOAT32 && nb_item(r) == 1.0);
    nb_free(r);
    nb_tensor *i32 = nb_full(NB_SHAPE(2), -7, NB_OPTS(.dtype = NB_INT32));
    r              = nb_max_dim(i32, 0, false, NULL);
    NBT_CHECK(r && nb_dtype_of(r) == NB_INT32 && nb_item(r) == -7);
    nb_free(r);
    nb_free(i32);
    nb_free(f);
}

/* ------------------------------------------------------------------------ */
/* 0-d and empty                                                             */
/* ------------------------------------------------------------------------ */

static void test_zero_dim(void)
{
    nb_tensor *x = nb_scalar(-2.5, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *r, *idx = NULL;
    NBT_CHECK_TENSOR(r = nb_sum(x), NB_SCALAR_SHAPE, 0, -2.5);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_sum_dims(x, NB_DIMS(0), true), NB_SCALAR_SHAPE, 0, -2.5);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_mean_dims(x, NB_DIMS(-1), false), NB_SCALAR_SHAPE, 0, -2.5);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_prod(x), NB_SCALAR_SHAPE, 0, -2.5);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_max(x), NB_SCALAR_SHAPE, 0, -2.5);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_min_dim(x, 0, true, &idx), NB_SCALAR_SHAPE, 0, -2.5);
    NBT_CHECK_TENSOR(idx, NB_SCALAR_SHAPE, 0, 0);
    nb_free(r);
    nb_free(idx);
    NBT_CHECK_TENSOR(r = nb_argmax(x), NB_SCALAR_SHAPE, 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_argmin_dim(x, -1, false), NB_SCALAR_SHAPE, 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_var(x, 1), NB_SCALAR_SHAPE, 0, NAN);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_var(x, 0), NB_SCALAR_SHAPE, 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_std(x, 1), NB_SCALAR_SHAPE, 0, NAN);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_logsumexp(x, NB_DIMS(0), false), NB_SCALAR_SHAPE, 0, -2.5);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_norm(x, 2), NB_SCALAR_SHAPE, 0, 2.5);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_all(x), NB_SCALAR_SHAPE, 0, 1);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_any_dims(x, NB_DIMS(0), true), NB_SCALAR_SHAPE, 0, 1);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_cumsum(x, 0), NB_SCALAR_SHAPE, 0, -2.5);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_softmax(x, 0), NB_SCALAR_SHAPE, 0, 1);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_log_softmax(x, -1), NB_SCALAR_SHAPE, 0, 0);
    nb_free(r);

    NBT_CHECK(nb_sum_dims(x, NB_DIMS(0, -1), false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "dim 0 appears multiple times");
    NBT_CHECK(nb_sum_dims(x, NB_DIMS(1), false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "dim 1 is out of range");
    NBT_CHECK(nb_max_dim(x, 1, false, &idx) == NULL && idx == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_max_dim: dim 1 is out of range");
    nb_free(x);
}

static void test_empty(void)
{
    nb_tensor *e = nb_zeros(NB_SHAPE(0, 3), NB_OPTS());
    nb_tensor *r, *idx = NULL;
    NBT_CHECK_TENSOR(r = nb_sum(e), NB_SCALAR_SHAPE, 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_sum_dims(e, NB_DIMS(0), false), NB_SHAPE(3), 0, 0, 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_sum_dims(e, NB_DIMS(1), true), NB_SHAPE(0, 1), 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_prod_dims(e, NB_DIMS(0), true), NB_SHAPE(1, 3), 0, 1, 1, 1);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_mean(e), NB_SCALAR_SHAPE, 0, NAN);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_mean_dims(e, NB_DIMS(0), false), NB_SHAPE(3), 0, NAN, NAN, NAN);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_var(e, 1), NB_SCALAR_SHAPE, 0, NAN);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_std_dims(e, NB_DIMS(0), 0, false), NB_SHAPE(3), 0, NAN, NAN, NAN);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_norm(e, 2), NB_SCALAR_SHAPE, 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_norm_dims(e, INFINITY, NB_DIMS(0), false), NB_SHAPE(3), 0, 0, 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_logsumexp(e, NB_DIMS(0), false), NB_SHAPE(3), 0, -INFINITY, -INFINITY, -INFINITY);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_all(e), NB_SCALAR_SHAPE, 0, 1);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_any_dims(e, NB_DIMS(0), false), NB_SHAPE(3), 0, 0, 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_cumsum(e, 0), NB_SHAPE(0, 3), 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_softmax(e, 1), NB_SHAPE(0, 3), 0, 0);
    nb_free(r);
    /* reducing the non-empty dim of an empty tensor is fine: empty result */
    NBT_CHECK_TENSOR(r = nb_max_dim(e, 1, false, &idx), NB_SHAPE(0), 0, 0);
    NBT_CHECK_TENSOR(idx, NB_SHAPE(0), 0, 0);
    nb_free(r);
    nb_free(idx);
    NBT_CHECK_TENSOR(r = nb_argmin_dim(e, 1, true), NB_SHAPE(0, 1), 0, 0);
    nb_free(r);

    nb_tensor *ints = nb_zeros(NB_SHAPE(2, 0), NB_OPTS(.dtype = NB_INT32));
    NBT_CHECK_TENSOR(r = nb_sum_dims(ints, NB_DIMS(1), false), NB_SHAPE(2), 0, 0, 0);
    NBT_CHECK(nb_dtype_of(r) == NB_INT64);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_prod_dims(ints, NB_DIMS(1), false), NB_SHAPE(2), 0, 1, 1);
    nb_free(r);

    /* max, min and the arg forms have no identity */
    NBT_CHECK(nb_max(e) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_max: cannot perform reduction function max on a tensor with no elements");
    NBT_CHECK(nb_min(ints) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_min: cannot perform reduction function min");
    NBT_CHECK(nb_argmax(e) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_argmax: cannot perform reduction function argmax");
    NBT_CHECK(nb_argmin(e) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "[0, 3]");
    NBT_CHECK(nb_max_dim(e, 0, false, &idx) == NULL && idx == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_max_dim: dim 0 has size 0 in shape [0, 3]");
    NBT_CHECK(nb_min_dim(ints, -1, true, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_min_dim: dim 1 has size 0 in shape [2, 0]");
    NBT_CHECK(nb_argmax_dim(ints, 1, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_argmax_dim: dim 1 has size 0");
    NBT_CHECK(nb_argmin_dim(e, 0, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_argmin_dim: dim 0 has size 0");
    nb_free(ints);
    nb_free(e);
}

/* ------------------------------------------------------------------------ */
/* NaN, inf, ties                                                            */
/* ------------------------------------------------------------------------ */

static void test_nan_and_inf(void)
{
    float      data[] = {1, NAN, 3, NAN, -INFINITY, 2};
    nb_tensor *x      = nb_from_data(data, NB_SHAPE(6), NB_OPTS());
    nb_tensor *r, *idx = NULL;
    NBT_CHECK_TENSOR(r = nb_max(x), NB_SCALAR_SHAPE, 0, NAN);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_min(x), NB_SCALAR_SHAPE, 0, NAN);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_argmax(x), NB_SCALAR_SHAPE, 0, 1); /* the first NaN, as torch */
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_argmin(x), NB_SCALAR_SHAPE, 0, 1);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_sum(x), NB_SCALAR_SHAPE, 0, NAN);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_norm(x, INFINITY), NB_SCALAR_SHAPE, 0, NAN);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_norm(x, 0), NB_SCALAR_SHAPE, 0, 6); /* NaN counts as nonzero */
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_all(x), NB_SCALAR_SHAPE, 0, 1);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_logsumexp(x, every_dim, false), NB_SCALAR_SHAPE, 0, NAN);
    nb_free(r);

    /* rows: [[nan, 1], [1, nan], [2, 2]]: indices of the first NaN, ties first */
    double     rows[] = {NAN, 1, 1, NAN, 2, 2};
    nb_tensor *m      = nb_from_data(rows, NB_SHAPE(3, 2), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK_TENSOR(r = nb_max_dim(m, 1, false, &idx), NB_SHAPE(3), 0, NAN, NAN, 2);
    NBT_CHECK_TENSOR(idx, NB_SHAPE(3), 0, 0, 1, 0);
    nb_free(r);
    nb_free(idx);
    NBT_CHECK_TENSOR(r = nb_min_dim(m, 0, false, &idx), NB_SHAPE(2), 0, NAN, NAN);
    NBT_CHECK_TENSOR(idx, NB_SHAPE(2), 0, 0, 1);
    nb_free(r);
    nb_free(idx);
    NBT_CHECK_TENSOR(r = nb_max_dim(m, 0, false, NULL), NB_SHAPE(2), 0, NAN, NAN);
    nb_free(r);

    /* logsumexp: all -inf gives -inf, +inf gives +inf, huge values stay finite */
    double     lse[] = {-INFINITY, -INFINITY, INFINITY, 1, 1000, 1000};
    nb_tensor *l     = nb_from_data(lse, NB_SHAPE(3, 2), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK_TENSOR(r = nb_logsumexp(l, NB_DIMS(1), false), NB_SHAPE(3), 1e-12, -INFINITY, INFINITY, 1000 + log(2.0));
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_softmax(l, 1), NB_SHAPE(3, 2), 1e-15, NAN, NAN, NAN, NAN, 0.5, 0.5);
    nb_free(r);
    double     one_inf[] = {-INFINITY, 1};
    nb_tensor *oi        = nb_from_data(one_inf, NB_SHAPE(2), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK_TENSOR(r = nb_log_softmax(oi, 0), NB_SHAPE(2), 0, -INFINITY, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_softmax(oi, 0), NB_SHAPE(2), 0, 0, 1);
    nb_free(r);

    /* float32 softmax of large logits: no overflow */
    float      logits[] = {1000, 1001, -1000};
    nb_tensor *lg       = nb_from_data(logits, NB_SHAPE(3), NB_OPTS());
    NBT_CHECK_TENSOR(r = nb_softmax(lg, 0), NB_SHAPE(3), 1e-6, 1 / (1 + exp(1)), 1 / (1 + exp(-1)), 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_log_softmax(lg, 0), NB_SHAPE(3), 1e-4, -1 - log1p(exp(-1)), -log1p(exp(-1)),
                     -2001 - log1p(exp(-1)));
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_logsumexp(lg, NB_DIMS(0), true), NB_SHAPE(1), 1e-3, 1001 + log1p(exp(-1)));
    nb_free(r);

    nb_free(lg);
    nb_free(oi);
    nb_free(l);
    nb_free(m);
    nb_free(x);
}

static void test_ties_first_index(void)
{
    int64_t    data[] = {1, 3, 3, 0, 0, 2};
    nb_tensor *x      = nb_from_data(data, NB_SHAPE(6), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *r, *idx = NULL;
    NBT_CHECK_TENSOR(r = nb_argmax(x), NB_SCALAR_SHAPE, 0, 1);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_argmin(x), NB_SCALAR_SHAPE, 0, 3);
    nb_free(r);
    nb_tensor *m = nb_view(x, NB_SHAPE(2, 3)); /* [[1, 3, 3], [0, 0, 2]] */
    NBT_CHECK_TENSOR(r = nb_max_dim(m, 1, false, &idx), NB_SHAPE(2), 0, 3, 2);
    NBT_CHECK_TENSOR(idx, NB_SHAPE(2), 0, 1, 2);
    nb_free(r);
    nb_free(idx);
    NBT_CHECK_TENSOR(r = nb_argmin_dim(m, 1, false), NB_SHAPE(2), 0, 0, 0);
    nb_free(r);
    nb_free(m);
    nb_free(x);

    /* a long run of equal values: the index must be the first even when
     * the run is split into leaves and threads */
    nb_tensor *flat = nb_full(NB_SHAPE(300000), 7, NB_OPTS());
    NBT_CHECK_TENSOR(r = nb_argmax(flat), NB_SCALAR_SHAPE, 0, 0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_argmin(flat), NB_SCALAR_SHAPE, 0, 0);
    nb_free(r);
    nb_free(flat);
}

/* ------------------------------------------------------------------------ */
/* Large sums and accuracy                                                   */
/* ------------------------------------------------------------------------ */

static void test_past_2_pow_24(void)
{
    /* Naive float32 accumulation sticks at 2^24 = 16777216; the exact count
     * 16777221 rounds to the float32 16777220. */
    const int64_t n       = (1 << 24) + 5;
    const float   nearest = 16777220.0f;
    nb_tensor    *ones    = nb_ones(NB_SHAPE(n), NB_OPTS());
    nb_tensor    *r       = nb_sum(ones);
    NBT_CHECK(r && nb_item(r) == nearest);
    nb_free(r);
    r = nb_mean(ones);
    NBT_CHECK(r && nb_item(r) == 1.0);
    nb_free(r);
    nb_free(ones);

    /* the same through a stride-0 view (strided leaves) */
    nb_tensor *one      = nb_ones(NB_SHAPE(1), NB_OPTS());
    nb_tensor *expanded = nb_expand(one, NB_SHAPE(n));
    r                   = nb_sum(expanded);
    NBT_CHECK(r && nb_item(r) == nearest);
    nb_free(r);
    nb_free(expanded);
    nb_free(one);

    /* integers are exact */
    nb_tensor *int_one = nb_ones(NB_SHAPE(1), NB_OPTS(.dtype = NB_INT32));
    nb_tensor *ints    = nb_expand(int_one, NB_SHAPE(n));
    r                  = nb_sum(ints);
    NBT_CHECK(r && nb_item_int64(r) == n);
    nb_free(r);
    nb_free(ints);
    nb_free(int_one);
}

static void test_float32_accuracy(void)
{
    /* 1e6 values i % 1000 / 7: the float32 pairwise sum agrees with a double
     * reference to ~1e-7 relative; one float32 accumulator would be off by
     * ~1e-4. Same for the column layout. */
    enum { N = 1000000 };
    float *data      = malloc(N * sizeof *data);
    double reference = 0.0;
    for (int i = 0; i < N; i++) {
        data[i] = (float)(i % 1000) / 7.0f;
        reference += data[i];
    }
    nb_tensor *x = nb_from_data(data, NB_SHAPE(N), NB_OPTS());
    nb_tensor *r = nb_sum(x);
    NBT_CHECK(r && fabs(nb_item(r) - reference) <= 2e-7 * reference);
    nb_free(r);
    nb_tensor *cols = nb_view(x, NB_SHAPE(N / 16, 16));
    r               = nb_sum_dims(cols, NB_DIMS(0), false);
    float col_sums[16];
    NBT_CHECK(r && nb_copy_to_buffer(r, col_sums, sizeof col_sums) == NB_OK);
    for (int j = 0; r && j < 16; j++) {
        double ref = 0.0;
        for (int i = 0; i < N / 16; i++)
            ref += data[i * 16 + j];
        NBT_CHECK(fabs(col_sums[j] - ref) <= 2e-7 * ref);
    }
    nb_free(r);
    /* var is stable far from zero: values 1e4 + (0, 0.25, 0.5, 0.75) */
    float      offset[] = {10000.0f, 10000.25f, 10000.5f, 10000.75f};
    nb_tensor *o        = nb_from_data(offset, NB_SHAPE(4), NB_OPTS());
    NBT_CHECK_TENSOR(r = nb_var(o, 0), NB_SCALAR_SHAPE, 1e-9, 0.078125);
    nb_free(r);
    nb_free(o);
    nb_free(cols);
    nb_free(x);
    free(data);
}

/* ------------------------------------------------------------------------ */
/* Threads and layouts                                                       */
/* ------------------------------------------------------------------------ */

/* The tensor of op(x) computed with 1 and with 2 threads is bit-identical. */
static void check_thread_independent(nb_tensor *(*op)(const nb_tensor *), const nb_tensor *x, const char *name)
{
    int saved = nb_get_num_threads();
    nb_set_num_threads(1);
    nb_tensor *one = op(x);
    nb_set_num_threads(2);
    nb_tensor *two = op(x);
    nb_set_num_threads(saved);
    nb_clear_error(); /* a build without OpenMP refuses 2 threads */
    nbt_checks++;
    size_t bytes = one && two ? (size_t)nb_numel(one) * nb_dtype_size(nb_dtype_of(one)) : 0;
    void  *a = malloc(bytes + 1), *b = malloc(bytes + 1);
    if (!one || !two || nb_copy_to_buffer(one, a, bytes) != NB_OK || nb_copy_to_buffer(two, b, bytes) != NB_OK ||
        memcmp(a, b, bytes) != 0) {
        nbt_failures++;
        fprintf(stderr, "%s differs between 1 and 2 threads\n", name);
    }
    free(a);
    free(b);
    nb_free(one);
    nb_free(two);
}

static nb_tensor *sum_all(const nb_tensor *x) { return nb_sum(x); }
static nb_tensor *var_all(const nb_tensor *x) { return nb_var(x, 1); }
static nb_tensor *norm3_all(const nb_tensor *x) { return nb_norm(x, 3); }
static nb_tensor *argmax_all(const nb_tensor *x) { return nb_argmax(x); }
static nb_tensor *lse_all(const nb_tensor *x) { return nb_logsumexp(x, every_dim, false); }
static nb_tensor *sum_dim0(const nb_tensor *x) { return nb_sum_dims(x, NB_DIMS(0), false); }
static nb_tensor *mean_dim1(const nb_tensor *x) { return nb_mean_dims(x, NB_DIMS(1), false); }
static nb_tensor *softmax_dim1(const nb_tensor *x) { return nb_softmax(x, 1); }

static void test_thread_count_independent(void)
{
    nb_manual_seed(3);
    nb_tensor *x = nb_randn(NB_SHAPE(1000003), NB_OPTS());
    check_thread_independent(sum_all, x, "sum");
    check_thread_independent(var_all, x, "var");
    check_thread_independent(norm3_all, x, "norm 3");
    check_thread_independent(argmax_all, x, "argmax");
    check_thread_independent(lse_all, x, "logsumexp");
    nb_tensor *m = nb_randn(NB_SHAPE(700, 333), NB_OPTS(.dtype = NB_FLOAT64));
    check_thread_independent(sum_dim0, m, "sum over dim 0");
    check_thread_independent(mean_dim1, m, "mean over dim 1");
    check_thread_independent(softmax_dim1, m, "softmax over dim 1");
    nb_free(m);
    nb_free(x);
}

/* Column layout (kept inner dim contiguous, reduced dim strided) against a
 * plain loop, for widths around the tile size and every dtype family. */
static void test_columns_against_loops(void)
{
    const int64_t rows = 37, widths[] = {8, 63, 64, 65, 130};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        int64_t cols = widths[w];
        double *data = malloc((size_t)(rows * cols) * sizeof *data);
        for (int64_t i = 0; i < rows * cols; i++)
            data[i] = (double)((i * 7919) % 23) - 11.0;
        nb_tensor *plain          = nb_from_data(data, NB_SHAPE(rows, cols), NB_OPTS(.dtype = NB_FLOAT64));
        data[5 * cols + cols - 1] = NAN; /* floats: one NaN in the last column */
        nb_tensor     *with_nan   = nb_from_data(data, NB_SHAPE(rows, cols), NB_OPTS(.dtype = NB_FLOAT64));
        const nb_dtype dtypes[]   = {NB_FLOAT64, NB_FLOAT32, NB_INT64, NB_INT32, NB_UINT8};
        for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
            bool       fl    = dtypes[d] == NB_FLOAT64 || dtypes[d] == NB_FLOAT32;
            nb_tensor *x     = nb_to_dtype(fl ? with_nan : plain, dtypes[d]);
            nb_tensor *sum   = nb_sum_dims(x, NB_DIMS(0), false);
            nb_tensor *max   = nb_max_dim(x, 0, false, NULL);
            nb_tensor *min   = nb_min_dim(x, -2, true, NULL);
            nb_tensor *sum64 = nb_to_dtype(sum, NB_FLOAT64), *max64 = nb_to_dtype(max, NB_FLOAT64),
                      *min64 = nb_to_dtype(min, NB_FLOAT64), *back = nb_to_dtype(x, NB_FLOAT64);
            NBT_CHECK(sum64 && max64 && min64 && back && nb_ndim(min) == 2);
            const double *s = nb_data(sum64), *mx = nb_data(max64), *mn = nb_data(min64), *v = nb_data(back);
            for (int64_t j = 0; s && mx && mn && v && j < cols; j++) {
                double ref_sum = 0, ref_max = v[j], ref_min = v[j];
                bool   nan = false;
                for (int64_t i = 0; i < rows; i++) {
                    double e = v[i * cols + j];
                    nan |= e != e;
                    ref_sum += e;
                    ref_max = e > ref_max ? e : ref_max;
                    ref_min = e < ref_min ? e : ref_min;
                }
                if (nan && fl) ref_max = ref_min = NAN;
                NBT_CHECK_NEAR(s[j], ref_sum, 1e-3);
                NBT_CHECK_NEAR(mx[j], ref_max, 0);
                NBT_CHECK_NEAR(mn[j], ref_min, 0);
            }
            nb_free(sum64);
            nb_free(max64);
            nb_free(min64);
            nb_free(back);
            nb_free(sum);
            nb_free(max);
            nb_free(min);
            nb_free(x);
        }
        nb_free(with_nan);
        nb_free(plain);
        free(data);
    }
}

/* softmax over a middle dim (NCHW channels) runs in tiles of lines side by
 * side; checked against a plain double loop, with an all -inf line and a
 * NaN line inside a tile, for a full tile and a partial one. */
static void test_softmax_tiles(void)
{
    enum { A = 3, B = 6, C = 70 };
    double *data = malloc(A * B * C * sizeof *data);
    for (int i = 0; i < A * B * C; i++)
        data[i] = (double)((i * 37) % 101) / 10.0 - 5.0;
    for (int b = 0; b < B; b++)
        data[(1 * B + b) * C + 5] = -INFINITY;
    data[(2 * B + 3) * C + 66] = NAN;
    nb_tensor *x64             = nb_from_data(data, NB_SHAPE(A, B, C), NB_OPTS(.dtype = NB_FLOAT64));
    for (int d = 0; d < 2; d++) {
        nb_dtype   dtype = d == 0 ? NB_FLOAT64 : NB_FLOAT32;
        double     tol   = d == 0 ? 1e-14 : 1e-6;
        nb_tensor *x     = nb_to_dtype(x64, dtype);
        for (int log_form = 0; log_form < 2; log_form++) {
            nb_tensor    *y   = log_form ? nb_log_softmax(x, 1) : nb_softmax(x, -2);
            nb_tensor    *y64 = nb_to_dtype(y, NB_FLOAT64);
            const double *got = y64 ? nb_data(y64) : NULL;
            NBT_CHECK(got != NULL);
            for (int a = 0; got && a < A; a++)
                for (int c = 0; c < C; c++) {
                    double max = -INFINITY, sum = 0;
                    bool   nan = false;
                    for (int b = 0; b < B; b++) {
                        double v = data[(a * B + b) * C + c];
                        nan |= v != v;
                        max = v > max ? v : max;
                    }
                    if (nan) max = NAN;
                    for (int b = 0; b < B; b++)
                        sum += exp(data[(a * B + b) * C + c] - max);
                    for (int b = 0; b < B; b++) {
                        double v    = data[(a * B + b) * C + c];
                        double want = log_form ? (v - max) - log(sum) : exp(v - max) / sum;
                        NBT_CHECK_NEAR(got[(a * B + b) * C + c], want, tol * (1 + fabs(want)));
                    }
                }
            nb_free(y64);
            nb_free(y);
        }
        nb_free(x);
    }
    nb_free(x64);
    free(data);
}

/* Large inputs through every path that threads: rows, columns, split runs,
 * copies of non-mergeable dims, lines. Values are small integers so every
 * sum is exact and checkable. */
static void test_large_layouts(void)
{
    nb_tensor *x = nb_arange(0, 600 * 500, 1, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *m = nb_view(x, NB_SHAPE(600, 500)); /* m[i][j] = 500 i + j */
    nb_tensor *r;
    r                = nb_sum_dims(m, NB_DIMS(0), false); /* column j: 500 * (599*600/2) + 600 j */
    const double *cs = r ? nb_data(r) : NULL;
    NBT_CHECK(cs && cs[0] == 500.0 * 179700 && cs[499] == 500.0 * 179700 + 600.0 * 499);
    nb_free(r);
    r                = nb_sum_dims(m, NB_DIMS(1), true); /* row i: 500*500 i + 124750 */
    const double *rs = r ? nb_data(r) : NULL;
    NBT_CHECK(rs && nb_ndim(r) == 2 && rs[0] == 124750.0 && rs[599] == 250000.0 * 599 + 124750);
    nb_free(r);
    nb_tensor *mt = nb_t(m);
    r             = nb_sum_dims(mt, NB_DIMS(1), false); /* = column sums, via the columns layout */
    cs            = r ? nb_data(r) : NULL;
    NBT_CHECK(cs && cs[1] == 500.0 * 179700 + 600.0);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_max(mt), NB_SCALAR_SHAPE, 0, 299999);
    nb_free(r);
    NBT_CHECK_TENSOR(r = nb_argmax(mt), NB_SCALAR_SHAPE, 0, 299999); /* (499, 599) in mt */
    nb_free(r);
    r                 = nb_argmin_dim(mt, 1, false); /* mt[j][i] = 500 i + j: the min of row j is at i = 0 */
    const int64_t *at = r ? nb_data(r) : NULL;
    NBT_CHECK(at && nb_numel(r) == 500 && at[0] == 0 && at[250] == 0 && at[499] == 0);
    nb_free(r);
    /* (600, 500) as (6, 100, 500): reduce dims 0 and 2 (a copy; they do not merge) */
    nb_tensor *cube = nb_view(x, NB_SHAPE(6, 100, 500));
    r               = nb_sum_dims(cube, NB_DIMS(0, 2), false);
    const double *q = r ? nb_data(r) : NULL;
    /* sum over a in 0..5, j in 0..499 of 50000 a + 500 i + j */
    NBT_CHECK(q && nb_numel(r) == 100 && q[3] == 50000.0 * 15 * 500 + 6 * 500 * 1500.0 + 6 * 124750.0);
    nb_free(r);
    nb_tensor    *cum  = nb_cumsum(m, 0); /* its last row: the column sums */
    const double *last = cum ? (const double *)nb_data(cum) + 599 * 500 : NULL;
    NBT_CHECK(last && last[7] == 500.0 * 179700 + 600.0 * 7);
    nb_free(cum);
    nb_free(cube);
    nb_free(mt);
    nb_free(m);
    nb_free(x);
}

/* ------------------------------------------------------------------------ */
/* The vectorized loops                                                      */
/* ------------------------------------------------------------------------ */

/* The loops picked for this CPU give bit-identical results to the portable
 * build of the same loops, and agree with plain reference loops. */
static void test_vector_loops(void)
{
    const nbi_reduce_loops *fast = nbi_reduce_loops_get(), *base = nbi_reduce_loops_baseline();
    enum { N = 10007 };
    float   *xf = malloc(N * sizeof *xf), *ef = malloc(N * sizeof *ef), *eb = malloc(N * sizeof *eb);
    double  *xd    = malloc(N * sizeof *xd);
    uint64_t state = 12345;
    for (int i = 0; i < N; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        xd[i] = (double)(int64_t)(state >> 11) / 9007199254740992.0 * 8.0 - 4.0;
        xf[i] = (float)xd[i];
    }
    const int64_t lengths[] = {1, 5, 31, 32, 33, 100, 4096, N};
    for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
        int64_t n     = lengths[l];
        double  ref_f = 0, ref_d = 0, ref_abs = 0, ref_sq = 0, ref_dev = 0, ref_max = xd[0], ref_min = xd[0];
        for (int64_t i = 0; i < n; i++) {
            ref_f += xf[i];
            ref_d += xd[i];
            ref_abs += fabs(xd[i]);
            ref_sq += xd[i] * xd[i];
            ref_dev += (xd[i] - 0.5) * (xd[i] - 0.5);
            ref_max = xd[i] > ref_max ? xd[i] : ref_max;
            ref_min = xd[i] < ref_min ? xd[i] : ref_min;
        }
        float  sf = fast->sum_f32(xf, n);
        double sd = fast->sum_f64(xd, n);
        NBT_CHECK(sf == base->sum_f32(xf, n) && sd == base->sum_f64(xd, n));
        NBT_CHECK_NEAR(sf, ref_f, 1e-5 * (1 + fabs(ref_f)) + 1e-6 * (double)n);
        NBT_CHECK_NEAR(sd, ref_d, 1e-12 * (double)n);
        const nbi_lane_transform fs[] = {NBI_LANES_PLAIN, NBI_LANES_ABS, NBI_LANES_SQUARE, NBI_LANES_SQUARED_DEVIATION};
        const double             refs[] = {ref_d, ref_abs, ref_sq, ref_dev};
        for (int f = 0; f < 4; f++) {
            double a = fast->transform_sum_f64(xd, n, fs[f], 0.5), b = base->transform_sum_f64(xd, n, fs[f], 0.5);
            NBT_CHECK(a == b);
            NBT_CHECK_NEAR(a, refs[f], 1e-12 * (double)n * 16);
            NBT_CHECK(fast->transform_sum_f32(xf, n, fs[f], 0.5) == base->transform_sum_f32(xf, n, fs[f], 0.5));
        }
        bool nan_a = true, nan_b = true;
        NBT_CHECK(fast->minmax_f64(xd, n, true, &nan_a) == ref_max && !nan_a);
        NBT_CHECK(base->minmax_f64(xd, n, false, &nan_b) == ref_min && !nan_b);
        NBT_CHECK(fast->minmax_f32(xf, n, true, &nan_a) == (float)ref_max && !nan_a);
        NBT_CHECK(fast->minmax_f32(xf, n, false, &nan_a) == (float)ref_min && !nan_a);
        fast->exp_shifted_f32(xf, n, 1.5f, ef);
        base->exp_shifted_f32(xf, n, 1.5f, eb);
        NBT_CHECK(memcmp(ef, eb, (size_t)n * sizeof *ef) == 0);
        NBT_CHECK_NEAR(ef[n - 1], exp((double)(xf[n - 1] - 1.5f)), 1e-6);
    }
    /* a NaN anywhere is seen, by both builds, in every lane position */
    for (int at = 0; at < 70; at++) {
        float saved = xf[at];
        xf[at]      = NAN;
        bool nan_a = false, nan_b = false;
        fast->minmax_f32(xf, 70, true, &nan_a);
        base->minmax_f32(xf, 70, false, &nan_b);
        NBT_CHECK(nan_a && nan_b);
        xf[at] = saved;
    }
    /* find: the first equal element, the first NaN, or n */
    NBT_CHECK(fast->find_f32(xf, N, xf[777]) == base->find_f32(xf, N, xf[777]));
    NBT_CHECK(fast->find_f32(xf, N, xf[777]) <= 777 && xf[fast->find_f32(xf, N, xf[777])] == xf[777]);
    NBT_CHECK(fast->find_f64(xd, N, 99.0) == N && base->find_f64(xd, N, 99.0) == N);
    xd[4321] = NAN;
    NBT_CHECK(fast->find_f64(xd, N, NAN) == 4321 && base->find_f64(xd, N, NAN) == 4321);
    xd[4321] = 0.25;
    /* column tiles: full and partial widths */
    float     acc_fast[NBI_COLUMN_TILE], acc_base[NBI_COLUMN_TILE];
    double    accd_fast[NBI_COLUMN_TILE], accd_base[NBI_COLUMN_TILE];
    const int widths[] = {NBI_COLUMN_TILE, 37, 1};
    for (int w = 0; w < 3; w++) {
        fast->column_sum_f32(xf, 16, 100, widths[w], acc_fast);
        base->column_sum_f32(xf, 16, 100, widths[w], acc_base);
        fast->column_sum_f64(xd, 16, 100, widths[w], accd_fast);
        base->column_sum_f64(xd, 16, 100, widths[w], accd_base);
        NBT_CHECK(memcmp(acc_fast, acc_base, (size_t)widths[w] * sizeof(float)) == 0);
        NBT_CHECK(memcmp(accd_fast, accd_base, (size_t)widths[w] * sizeof(double)) == 0);
        double ref = 0;
        for (int r = 0; r < 16; r++)
            ref += xd[r * 100 + widths[w] - 1];
        NBT_CHECK_NEAR(accd_fast[widths[w] - 1], ref, 1e-12);
        float  max_fast[NBI_COLUMN_TILE], max_base[NBI_COLUMN_TILE];
        double min_fast[NBI_COLUMN_TILE], min_base[NBI_COLUMN_TILE];
        xf[3 * 100 + widths[w] - 1] = NAN;
        fast->column_minmax_f32(xf, 16, 100, widths[w], true, max_fast);
        base->column_minmax_f32(xf, 16, 100, widths[w], true, max_base);
        fast->column_minmax_f64(xd, 16, 100, widths[w], false, min_fast);
        base->column_minmax_f64(xd, 16, 100, widths[w], false, min_base);
        NBT_CHECK(isnan(max_fast[widths[w] - 1]) && isnan(max_base[widths[w] - 1]));
        double ref_min = xd[0];
        for (int r = 0; r < 16; r++)
            ref_min = xd[r * 100] < ref_min ? xd[r * 100] : ref_min;
        NBT_CHECK(min_fast[0] == ref_min && min_base[0] == ref_min);
        NBT_CHECK(memcmp(max_fast, max_base, (size_t)(widths[w] - 1) * sizeof(float)) == 0);
    }
    free(xf);
    free(ef);
    free(eb);
    free(xd);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static void test_errors(void)
{
    nb_tensor *i   = nb_zeros(NB_SHAPE(2, 3), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *f   = nb_zeros(NB_SHAPE(2, 3), NB_OPTS());
    nb_tensor *idx = NULL;

    /* NULL input: NULL back, and the first error survives */
    NBT_CHECK(nb_sum(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_sum: argument 't' is NULL");
    nb_view(i, NB_SHAPE(7)); /* fails: records a shape error */
    nb_status first = nb_last_status();
    NBT_CHECK(nb_softmax(NULL, 0) == NULL && nb_mean(NULL) == NULL && nb_argmax(NULL) == NULL &&
              nb_max_dim(NULL, 0, false, &idx) == NULL && idx == NULL && nb_cumsum(NULL, 0) == NULL);
    NBT_CHECK(nb_last_status() == first && first != NB_OK);
    nb_clear_error();

    /* floating point only */
    NBT_CHECK(nb_mean(i) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_mean: expected a floating-point tensor (float16, bfloat16, float32 or float64), got int64");
    NBT_CHECK(nb_var_dims(i, NB_DIMS(0), 1, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_var: expected a floating-point tensor");
    NBT_CHECK(nb_std(i, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_std");
    NBT_CHECK(nb_norm(i, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_norm");
    NBT_CHECK(nb_logsumexp(i, every_dim, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_logsumexp");
    NBT_CHECK(nb_softmax(i, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_softmax: expected a floating-point tensor");
    NBT_CHECK(nb_log_softmax(i, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_log_softmax");

    /* dims */
    NBT_CHECK(nb_sum_dims(f, NB_DIMS(1, -1), false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_sum: dim 1 appears multiple times in the list of dims");
    NBT_CHECK(nb_all_dims(f, NB_DIMS(0, 0), false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_all: dim 0 appears multiple times");
    NBT_CHECK(nb_mean_dims(f, NB_DIMS(2), false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_mean: dim 2 is out of range for a 2-d tensor");
    NBT_CHECK(nb_prod_dims(f, NB_DIMS(-3), true) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_prod: dim -3 is out of range");
    nb_dims too_many = {.n = 9};
    NBT_CHECK(nb_sum_dims(f, too_many, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_sum: a dim list holds 0 to 8 dims, not 9");
    nb_dims negative = {.n = -1};
    NBT_CHECK(nb_any_dims(f, negative, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "not -1");
    NBT_CHECK(nb_max_dim(f, 2, false, &idx) == NULL && idx == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_max_dim: dim 2 is out of range");
    NBT_CHECK(nb_argmin_dim(f, -3, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_argmin_dim");
    NBT_CHECK(nb_cumsum(f, 5) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_cumsum: dim 5 is out of range");
    NBT_CHECK(nb_softmax(f, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_softmax: dim 2");
    NBT_CHECK(nb_logsumexp(f, NB_DIMS(0, 1, 0), false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_logsumexp: dim 0 appears multiple times");

    /* norm's p */
    NBT_CHECK(nb_norm(f, NAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_norm: p is NaN");
    NBT_CHECK(nb_norm(NULL, NAN) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_norm: argument 't' is NULL");

    nb_free(f);
    nb_free(i);
}

int main(void)
{
    NBT_RUN(test_torch_fixtures);
    NBT_RUN(test_small_by_hand);
    NBT_RUN(test_dtype_rules);
    NBT_RUN(test_zero_dim);
    NBT_RUN(test_empty);
    NBT_RUN(test_nan_and_inf);
    NBT_RUN(test_ties_first_index);
    NBT_RUN(test_past_2_pow_24);
    NBT_RUN(test_float32_accuracy);
    NBT_RUN(test_thread_count_independent);
    NBT_RUN(test_columns_against_loops);
    NBT_RUN(test_softmax_tiles);
    NBT_RUN(test_large_layouts);
    NBT_RUN(test_vector_loops);
    NBT_RUN(test_errors);
    return nbt_finish();
}
