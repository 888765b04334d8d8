/*
 * nb_test.h — the tests' tiny harness: checks that report file:line and keep
 * going, a leak check on the live-tensor count, helpers to make tensors and
 * compare them with expected values, gradchecks, and file helpers.
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

/* |a - e| <= atol + rtol |e|, with NaN equal to NaN and inf to the same inf. */
static inline int nbt_close(double a, double e, double rtol, double atol)
{
    if (isnan(e)) return isnan(a);
    if (isinf(e)) return a == e;
    return fabs(a - e) <= atol + rtol * fabs(e);
}

static inline int nbt_near(double a, double e, double tol) { return nbt_close(a, e, 0, tol); }

/* t is not NULL and has this shape; says what differs otherwise. */
static inline int nbt_has_shape(const nb_tensor *t, nb_shape shape)
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
    return 1;
}

/* Every element of t (any dtype, any strides) is within atol + rtol
 * |expected[i]| of expected[i] (nbt_close), and t has the expected shape;
 * reports the first difference. Frees nothing of the caller's. */
static inline int nbt_tensor_close(const nb_tensor *t, nb_shape shape, const double *expected, double rtol, double atol)
{
    if (!nbt_has_shape(t, shape)) return 0;
    nb_tensor *as_double = nb_to_dtype(t, NB_FLOAT64);
    if (as_double == NULL) return 0;
    int64_t n   = nb_numel(as_double);
    double *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    int     ok  = nb_copy_to_buffer(as_double, buf, (size_t)n * sizeof(double)) == NB_OK;
    for (int64_t i = 0; ok && i < n; i++) {
        if (!nbt_close(buf[i], expected[i], rtol, atol)) {
            fprintf(stderr, "  element %lld is %.12g, expected %.12g\n", (long long)i, buf[i], expected[i]);
            ok = 0;
        }
    }
    free(buf);
    nb_free(as_double);
    return ok;
}

/* nbt_tensor_close with an absolute tolerance only. */
static inline int nbt_tensor_equals(const nb_tensor *t, nb_shape shape, const double *expected, double tol)
{
    return nbt_tensor_close(t, shape, expected, 0, tol);
}

/* t has this dtype and shape and, in row-major order, exactly these bytes
 * (bit for bit: NaN payloads and -0.0 count). */
static inline int nbt_tensor_is(const nb_tensor *t, nb_dtype dtype, nb_shape shape, const void *bytes)
{
    if (t != NULL && nb_dtype_of(t) != dtype) {
        fprintf(stderr, "  dtype %s, expected %s\n", nb_dtype_name(nb_dtype_of(t)), nb_dtype_name(dtype));
        return 0;
    }
    if (!nbt_has_shape(t, shape)) return 0;
    size_t         n   = (size_t)nb_numel(t) * nb_dtype_size(dtype);
    unsigned char *buf = malloc(n + 1);
    int            ok  = buf && nb_copy_to_buffer(t, buf, n) == NB_OK && memcmp(buf, bytes, n) == 0;
    if (!ok) fprintf(stderr, "  the values differ\n");
    free(buf);
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

/* The bytes are the variable arguments, so that a compound literal with
 * commas may be given: NBT_CHECK_TENSOR_IS(t, NB_INT32, shape, (int32_t[]){1, 2}). */
#define NBT_CHECK_TENSOR_IS(t, dtype, shape, ...)                                      \
    do {                                                                               \
        nbt_checks++;                                                                  \
        if (!nbt_tensor_is((t), (dtype), (shape), (__VA_ARGS__))) {                    \
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

/* 0, 1, 2, ... as dtype in shape (contiguous), in the current scope or the
 * caller's. */
static inline nb_tensor *nbt_iota(nb_shape shape, nb_dtype dtype)
{
    int64_t n = 1;
    for (int i = 0; i < shape.ndim; i++)
        n *= shape.dims[i];
    nb_tensor *flat = nb_arange(0, (double)n, 1, NB_OPTS(.dtype = dtype));
    nb_tensor *t    = nb_reshape(flat, shape);
    nb_free(flat);
    return t;
}

/* An nb_shape from a size array (fixture tables store shapes so). */
static inline nb_shape nbt_shape(int ndim, const int64_t *dims)
{
    nb_shape s = { .ndim = ndim };
    for (int i = 0; i < ndim; i++) s.dims[i] = dims[i];
    return s;
}

/* nb_gradcheck of f at inputs and, when order is 2, nb_gradgradcheck too,
 * with default options. Each is one check; a failure prints name and the
 * library's message, and clears the error. */
static inline void nbt_gradcheck(const char *name, nb_function f, nb_tensor *const *inputs, int count, void *user,
                                 int order)
{
    for (int k = 1; k <= order; k++) {
        nbt_checks++;
        nb_status status = k == 1 ? nb_gradcheck(f, inputs, count, user, NB_GRADCHECK_OPTS())
                                  : nb_gradgradcheck(f, inputs, count, user, NB_GRADCHECK_OPTS());
        if (status != NB_OK) {
            nbt_failures++;
            fprintf(stderr, "  %s %s: %s\n", k == 1 ? "gradcheck" : "gradgradcheck", name, nb_last_error());
            nb_clear_error();
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Files (tests write theirs to the working directory, the build dir)       */
/* ------------------------------------------------------------------------ */

/* The whole contents of a file, malloc'd (the caller frees); NULL if it
 * cannot be opened. */
static inline unsigned char *nbt_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    unsigned char *data = NULL;
    size_t         used = 0, capacity = 0;
    for (;;) {
        if (used == capacity) {
            capacity            = capacity ? capacity * 2 : 4096;
            unsigned char *more = realloc(data, capacity);
            if (more == NULL) break;
            data = more;
        }
        size_t got = fread(data + used, 1, capacity - used, f);
        used += got;
        if (got == 0) break;
    }
    fclose(f);
    *size = used;
    return data;
}

/* value as count bytes, little-endian, at out (how file formats store sizes). */
static inline void nbt_store_le(unsigned char *out, uint64_t value, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = (unsigned char)(value >> (8 * i));
}

/* size bytes to path (replacing it); 1 when all were written. */
static inline int nbt_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* An allocator for out-of-memory tests: once *nbt_alloc_budget() more
 * allocations have been served it returns NULL (a negative budget: no
 * limit). Install it with nb_set_allocator(nbt_budget_alloc,
 * nbt_budget_release, NULL) while no tensor is alive, and call
 * nb_empty_cache() before each budgeted call so that every allocation
 * reaches it. */
static inline int64_t *nbt_alloc_budget(void)
{
    static int64_t budget = -1;
    return &budget;
}
static inline void *nbt_budget_alloc(size_t bytes, void *user)
{
    (void)user;
    int64_t *budget = nbt_alloc_budget();
    if (*budget == 0) return NULL;
    if (*budget > 0) --*budget;
    return aligned_alloc(64, (bytes + 63) / 64 * 64);
}
static inline void nbt_budget_release(void *ptr, size_t bytes, void *user)
{
    (void)bytes;
    (void)user;
    free(ptr);
}

static inline int nbt_finish(void)
{
    printf("%d checks, %d failures\n", nbt_checks, nbt_failures);
    return nbt_failures == 0 ? 0 : 1;
}

#endif /* NB_TEST_H */
