/*
 * nb_test.h — the tests' tiny harness: checks that report file:line and keep
 * going, a leak check on the live-tensor count, and helpers to compare a
 * tensor with expected values.
 *
 * A test file defines test functions and a main that runs them:
 *
 *   static void test_add(void) { ... NBT_CHECK(...); }
 *   int main(void) { NBT_RUN(test_add); return nbt_finish(); }
 *
 * NBT_RUN also checks that the test left no tensor alive and no error
 * pending that it did not expect.
 */
#ifndef NB_TEST_H
#define NB_TEST_H

#include "nabla.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nbt_failures;
static int nbt_checks;

#define NBT_CHECK(cond)                                                                \
    do {                                                                               \
        nbt_checks++;                                                                  \
        if (!(cond)) {                                                                 \
            nbt_failures++;                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                              \
    } while (0)

/* |actual - expected| <= tol, with NaN equal to NaN and inf to same inf. */
#define NBT_CHECK_NEAR(actual, expected, tol)                                          \
    do {                                                                               \
        double nbt_a_ = (actual), nbt_e_ = (expected);                                 \
        nbt_checks++;                                                                  \
        if (!nbt_near(nbt_a_, nbt_e_, (tol))) {                                        \
            nbt_failures++;                                                            \
            fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g\n", __FILE__, __LINE__,   \
                    #actual, nbt_a_, nbt_e_);                                          \
        }                                                                              \
    } while (0)

/* The last call failed with status and its message contains fragment. */
#define NBT_CHECK_ERROR(status, fragment)                                              \
    do {                                                                               \
        nbt_checks++;                                                                  \
        if (nb_last_status() != (status) || strstr(nb_last_error(), (fragment)) == NULL) { \
            nbt_failures++;                                                            \
            fprintf(stderr, "%s:%d: expected %s containing \"%s\", got %s \"%s\"\n",   \
                    __FILE__, __LINE__, nb_status_name(status), (fragment),            \
                    nb_status_name(nb_last_status()), nb_last_error());                \
        }                                                                              \
        nb_clear_error();                                                              \
    } while (0)

#define NBT_RUN(fn)                                                                    \
    do {                                                                               \
        int64_t nbt_live_ = nb_live_tensors();                                         \
        int     nbt_before_ = nbt_failures;                                            \
        nb_clear_error();                                                              \
        fn();                                                                          \
        if (nb_live_tensors() != nbt_live_) {                                          \
            nbt_failures++;                                                            \
            fprintf(stderr, "%s: leaked %lld tensors\n", #fn,                          \
                    (long long)(nb_live_tensors() - nbt_live_));                       \
        }                                                                              \
        if (nb_last_status() != NB_OK) {                                               \
            nbt_failures++;                                                            \
            fprintf(stderr, "%s: unexpected pending error %s: %s\n", #fn,              \
                    nb_status_name(nb_last_status()), nb_last_error());                \
        }                                                                              \
        printf("%-40s %s\n", #fn, nbt_failures == nbt_before_ ? "ok" : "FAILED");      \
    } while (0)

static inline int nbt_near(double a, double e, double tol)
{
    if (isnan(e)) return isnan(a);
    if (isinf(e)) return a == e;
    return fabs(a - e) <= tol;
}

/* Every element of t (any dtype, any strides) equals expected[i] within tol,
 * and t has the expected shape. Frees nothing. */
static inline int nbt_tensor_equals(const nb_tensor *t, nb_shape shape, const double *expected, double tol)
{
    if (t == NULL) {
        fprintf(stderr, "  tensor is NULL: %s\n", nb_last_error());
        return 0;
    }
    nb_shape got = nb_shape_of(t);
    if (got.ndim != shape.ndim) {
        fprintf(stderr, "  ndim %d, expected %d\n", got.ndim, shape.ndim);
        return 0;
    }
    for (int i = 0; i < shape.ndim; i++)
        if (got.dims[i] != shape.dims[i]) {
            fprintf(stderr, "  dim %d is %lld, expected %lld\n", i, (long long)got.dims[i], (long long)shape.dims[i]);
            return 0;
        }
    nb_tensor *as_double = nb_to_dtype(t, NB_FLOAT64);
    if (as_double == NULL) return 0;
    int64_t n   = nb_numel(as_double);
    double *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    int     ok  = nb_copy_to_buffer(as_double, buf, (size_t)n * sizeof(double)) == NB_OK;
    for (int64_t i = 0; ok && i < n; i++) {
        if (!nbt_near(buf[i], expected[i], tol)) {
            fprintf(stderr, "  element %lld is %.9g, expected %.9g\n", (long long)i, buf[i], expected[i]);
            ok = 0;
        }
    }
    free(buf);
    nb_free(as_double);
    return ok;
}

#define NBT_CHECK_TENSOR(t, shape, tol, ...)                                           \
    do {                                                                               \
        const double nbt_expected_[] = { __VA_ARGS__ };                                \
        nbt_checks++;                                                                  \
        if (!nbt_tensor_equals((t), (shape), nbt_expected_, (tol))) {                  \
            nbt_failures++;                                                            \
            fprintf(stderr, "%s:%d: tensor %s differs\n", __FILE__, __LINE__, #t);     \
        }                                                                              \
    } while (0)

/* A tensor of dtype holding values (given as doubles), in the current scope
 * or the caller's. */
static inline nb_tensor *nbt_tensor(nb_shape shape, nb_dtype dtype, const double *values)
{
    nb_tensor *as_double = nb_from_data(values, shape, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *t         = nb_to_dtype(as_double, dtype);
    nb_free(as_double);
    return t;
}

static inline nb_tensor *nbt_int64_tensor(nb_shape shape, const int64_t *values)
{
    return nb_from_data(values, shape, NB_OPTS(.dtype = NB_INT64));
}

/* An nb_shape from a size array (fixture tables store shapes so). */
static inline nb_shape nbt_shape(int ndim, const int64_t *dims)
{
    nb_shape s = { .ndim = ndim };
    for (int i = 0; i < ndim; i++) s.dims[i] = dims[i];
    return s;
}

static inline int nbt_finish(void)
{
    printf("%d checks, %d failures\n", nbt_checks, nbt_failures);
    return nbt_failures == 0 ? 0 : 1;
}

#endif /* NB_TEST_H */
