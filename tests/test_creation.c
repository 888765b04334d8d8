/*
 * test_creation.c — src/ops/creation.c and src/core/random.c: constant
 * fills, from_data, arange/linspace/eye (values checked against PyTorch
 * 1.13), options and their errors, nb_fill_ on every layout, the Philox
 * generator (Random123's known answers), determinism across seeds and
 * thread counts, and loose statistics of the distributions.
 */
#include "nb_test.h"

#include "core/internal.h"
#include "core/random.h"

/* All elements of t as doubles (caller frees). */
static double *values_of(const nb_tensor *t)
{
    nb_tensor *d   = nb_to_dtype(t, NB_FLOAT64);
    int64_t    n   = nb_numel(t);
    double    *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (d == NULL || nb_copy_to_buffer(d, buf, (size_t)n * sizeof(double)) != NB_OK) {
        free(buf);
        buf = NULL;
    }
    nb_free(d);
    return buf;
}

/* Bytes of two tensors' contents are identical. */
static int same_bytes(const nb_tensor *a, const nb_tensor *b)
{
    if (a == NULL || b == NULL || nb_numel(a) != nb_numel(b) || nb_dtype_of(a) != nb_dtype_of(b)) return 0;
    size_t bytes = (size_t)nb_numel(a) * nb_dtype_size(nb_dtype_of(a));
    char  *x = malloc(bytes + 1), *y = malloc(bytes + 1);
    int    ok =
        nb_copy_to_buffer(a, x, bytes) == NB_OK && nb_copy_to_buffer(b, y, bytes) == NB_OK && memcmp(x, y, bytes) == 0;
    free(x);
    free(y);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Constant fills and data                                                   */
/* ------------------------------------------------------------------------ */

/* Must run first: the seed before any nb_manual_seed is PyTorch's default. */
static void test_default_seed(void) { NBT_CHECK(nb_initial_seed() == UINT64_C(67280421310721)); }

static void test_zeros_ones_full(void)
{
    nb_scope_begin();
    nb_tensor *z = nb_zeros(NB_SHAPE(2, 3), NB_OPTS());
    NBT_CHECK(nb_dtype_of(z) == NB_FLOAT32 && nb_is_contiguous(z) && !nb_requires_grad(z));
    NBT_CHECK_TENSOR(z, NB_SHAPE(2, 3), 0, 0, 0, 0, 0, 0, 0);
    NBT_CHECK_TENSOR(nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_INT32)), NB_SHAPE(3), 0, 1, 1, 1);
    NBT_CHECK_TENSOR(nb_full(NB_SHAPE(2), 2.5, NB_OPTS(.dtype = NB_FLOAT64)), NB_SHAPE(2), 0, 2.5, 2.5);
    /* Conversions: integers truncate, uint8 wraps -1 to 255, bool is != 0. */
    NBT_CHECK_TENSOR(nb_full(NB_SHAPE(2), 2.7, NB_OPTS(.dtype = NB_INT64)), NB_SHAPE(2), 0, 2, 2);
    NBT_CHECK_TENSOR(nb_full(NB_SHAPE(2), -2.7, NB_OPTS(.dtype = NB_INT32)), NB_SHAPE(2), 0, -2, -2);
    NBT_CHECK_TENSOR(nb_full(NB_SHAPE(1), -1, NB_OPTS(.dtype = NB_UINT8)), NB_SHAPE(1), 0, 255);
    NBT_CHECK_TENSOR(nb_full(NB_SHAPE(2), 0.5, NB_OPTS(.dtype = NB_BOOL)), NB_SHAPE(2), 0, 1, 1);
    NBT_CHECK_TENSOR(nb_full(NB_SHAPE(1), NAN, NB_OPTS()), NB_SHAPE(1), 0, NAN);
    NBT_CHECK_TENSOR(nb_full(NB_SHAPE(1), -INFINITY, NB_OPTS()), NB_SHAPE(1), 0, -INFINITY);
    uint8_t *bits = nb_data(nb_full(NB_SHAPE(1), 3, NB_OPTS(.dtype = NB_BOOL)));
    NBT_CHECK(bits && bits[0] == 1);
    /* 0-d and empty. */
    NBT_CHECK_TENSOR(nb_zeros(NB_SCALAR_SHAPE, NB_OPTS()), NB_SCALAR_SHAPE, 0, 0);
    nb_tensor *e = nb_ones(NB_SHAPE(0, 4), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(e && nb_numel(e) == 0 && nb_size(e, 1) == 4);
    NBT_CHECK(nb_empty(NB_SHAPE(3, 0), NB_OPTS()) != NULL);
    /* requires_grad is honoured. */
    NBT_CHECK(nb_requires_grad(nb_zeros(NB_SHAPE(2), NB_OPTS(.requires_grad = true))));
    NBT_CHECK(nb_requires_grad(nb_empty(NB_SHAPE(2), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true))));
    /* A large fill runs on threads: every element set. */
    nb_tensor *big = nb_full(NB_SHAPE(300, 400), -3, NB_OPTS(.dtype = NB_FLOAT64));
    double    *v   = values_of(big);
    int        all = v != NULL;
    for (int64_t i = 0; all && i < 120000; i++)
        all = v[i] == -3;
    NBT_CHECK(all);
    free(v);
    nb_tensor *bz = nb_zeros(NB_SHAPE(100000), NB_OPTS(.dtype = NB_INT32));
    int32_t   *zi = nb_data(bz);
    all           = zi != NULL;
    for (int64_t i = 0; all && i < 100000; i++)
        all = zi[i] == 0;
    NBT_CHECK(all);
    nb_scope_end();
}

static void test_scalar_and_from_data(void)
{
    nb_scope_begin();
    nb_tensor *s = nb_scalar(3.5, NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_ndim(s) == 0 && nb_item(s) == 3.5);
    NBT_CHECK(nb_item_int64(nb_scalar(-7, NB_OPTS(.dtype = NB_INT64))) == -7);
    const float f[6] = {1, 2, 3, 4, 5, 6};
    nb_tensor  *a    = nb_from_data(f, NB_SHAPE(2, 3), NB_OPTS());
    NBT_CHECK_TENSOR(a, NB_SHAPE(2, 3), 0, 1, 2, 3, 4, 5, 6);
    NBT_CHECK(nb_data(a) != (void *)f); /* a copy, not the caller's memory */
    const int32_t i[3] = {-1, 0, INT32_MAX};
    NBT_CHECK_TENSOR(nb_from_data(i, NB_SHAPE(3), NB_OPTS(.dtype = NB_INT32)), NB_SHAPE(3), 0, -1, 0, INT32_MAX);
    /* Bool bytes other than 0/1 are normalised to 1. */
    const uint8_t b[3] = {0, 2, 255};
    uint8_t      *bd   = nb_data(nb_from_data(b, NB_SHAPE(3), NB_OPTS(.dtype = NB_BOOL)));
    NBT_CHECK(bd && bd[0] == 0 && bd[1] == 1 && bd[2] == 1);
    /* Empty: data may be NULL. */
    nb_tensor *e = nb_from_data(NULL, NB_SHAPE(0), NB_OPTS());
    NBT_CHECK(e != NULL && nb_numel(e) == 0);
    NBT_CHECK(nb_from_data(NULL, NB_SHAPE(2), NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_from_data: data is NULL");
    NBT_CHECK(nb_from_data(f, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64, .requires_grad = true)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_from_data: only floating point tensors can require gradients, not int64");
    nb_scope_end();
}

static void test_option_errors(void)
{
    nb_opts cuda = NB_OPTS(.device = {.type = NB_CUDA, .index = 0});
    NBT_CHECK(nb_zeros(NB_SHAPE(2), cuda) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DEVICE, "nb_zeros: there is no CUDA device");
    NBT_CHECK(nb_rand(NB_SHAPE(2), cuda) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DEVICE, "nb_rand: there is no CUDA device");
    NBT_CHECK(nb_arange(0, 3, 1, cuda) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DEVICE, "nb_arange: there is no CUDA device");
    NBT_CHECK(nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64, .requires_grad = true)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_ones: only floating point tensors can require gradients, not int64");
    NBT_CHECK(nb_randint(0, 3, NB_SHAPE(2), NB_OPTS(.dtype = NB_BOOL, .requires_grad = true)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_randint: only floating point tensors can require gradients, not bool");
    NBT_CHECK(nb_empty(NB_SHAPE(2), NB_OPTS(.dtype = (nb_dtype)42)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_empty: dtype 42 is not a valid nb_dtype");
    NBT_CHECK(nb_zeros(NB_SHAPE(2, -1), NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_zeros: size -1 in shape [2, -1] is negative");
    nb_shape nine = {.ndim = 9};
    NBT_CHECK(nb_full(nine, 1, NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_full: a shape has 0 to 8 dims, not 9");
    /* Values a dtype cannot hold (torch's overflow rule). */
    NBT_CHECK(nb_full(NB_SHAPE(2), 300, NB_OPTS(.dtype = NB_UINT8)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_full: value 300 cannot be converted to uint8 without overflow");
    NBT_CHECK(nb_full(NB_SHAPE(2), -256, NB_OPTS(.dtype = NB_UINT8)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "value -256 cannot be converted to uint8");
    NBT_CHECK(nb_full(NB_SHAPE(2), NAN, NB_OPTS(.dtype = NB_INT64)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "value nan cannot be converted to int64");
    NBT_CHECK(nb_scalar(2147483648.0, NB_OPTS(.dtype = NB_INT32)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_scalar: value 2.14748e+09 cannot be converted to int32");
    NBT_CHECK(nb_full(NB_SHAPE(1), 1e300, NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "value 1e+300 cannot be converted to float32 without overflow");
}

/* ------------------------------------------------------------------------ */
/* Ranges                                                                    */
/* ------------------------------------------------------------------------ */

/* Integer ranges whose ends do not fit int64 are refused, as torch does
 * ("value cannot be converted to type int64_t without overflow"); they
 * used to wrap. */
static void test_integer_ranges_beyond_int64(void)
{
    NBT_CHECK(nb_arange(0, 1e19, 1, NB_OPTS(.dtype = NB_INT64)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_arange: start 0, end 1e+19 and step 1 must fit int64 for int64");
    NBT_CHECK(nb_arange(-1e19, 0, 1, NB_OPTS(.dtype = NB_INT32)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "must fit int64");
    NBT_CHECK(nb_arange(0, 10, 1e19, NB_OPTS(.dtype = NB_INT64)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "must fit int64");
    NBT_CHECK(nb_linspace(-1e19, 0, 3, NB_OPTS(.dtype = NB_INT64)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_linspace: value -1e+19 cannot be converted to int64 without overflow");
    nb_tensor *edge = nb_arange(9223372036854775807.0 - 4096, 9223372036854775807.0 - 1024, 1024,
                                NB_OPTS(.dtype = NB_INT64)); /* still inside */
    NBT_CHECK(edge != NULL && nb_numel(edge) == 3);
    nb_free(edge);
}

static void test_arange(void)
{
    nb_scope_begin();
    /* Float: length ceil((end - start) / step), values start + i * step. */
    nb_tensor *a = nb_arange(0, 1, 0.1, NB_OPTS());
    NBT_CHECK(nb_numel(a) == 10);
    NBT_CHECK_NEAR(nb_item(nb_select(a, 0, 9)), (float)0.9, 0);
    NBT_CHECK_TENSOR(nb_arange(-1.5, 1, 0.5, NB_OPTS()), NB_SHAPE(5), 0, -1.5, -1, -0.5, 0, 0.5);
    NBT_CHECK_TENSOR(nb_arange(10, 0, -3.5, NB_OPTS(.dtype = NB_FLOAT64)), NB_SHAPE(3), 0, 10, 6.5, 3);
    /* Integers truncate start/end/step first, as torch does. */
    NBT_CHECK_TENSOR(nb_arange(0, 5, 1.5, NB_OPTS(.dtype = NB_INT64)), NB_SHAPE(5), 0, 0, 1, 2, 3, 4);
    NBT_CHECK_TENSOR(nb_arange(0, 5, 1.5, NB_OPTS(.dtype = NB_INT32)), NB_SHAPE(4), 0, 0, 1, 2, 3);
    NBT_CHECK_TENSOR(nb_arange(10, 0, -3.5, NB_OPTS(.dtype = NB_INT32)), NB_SHAPE(3), 0, 10, 7, 4);
    NBT_CHECK_TENSOR(nb_arange(10, 0, -3, NB_OPTS(.dtype = NB_INT64)), NB_SHAPE(4), 0, 10, 7, 4, 1);
    NBT_CHECK_TENSOR(nb_arange(0.5, 5, 1, NB_OPTS(.dtype = NB_INT64)), NB_SHAPE(5), 0, 0, 1, 2, 3, 4);
    NBT_CHECK_TENSOR(nb_arange(0, 300, 100, NB_OPTS(.dtype = NB_UINT8)), NB_SHAPE(3), 0, 0, 100, 200);
    NBT_CHECK(nb_numel(nb_arange(0, 0, 1, NB_OPTS())) == 0);
    NBT_CHECK(nb_numel(nb_arange(3, 3, -1, NB_OPTS(.dtype = NB_INT64))) == 0);
    NBT_CHECK(nb_requires_grad(nb_arange(0, 3, 1, NB_OPTS(.requires_grad = true))));
    /* Large: threads, and each value exact. */
    nb_tensor *big = nb_arange(0, 100000, 1, NB_OPTS(.dtype = NB_INT64));
    int64_t   *bv  = nb_data(big);
    int        ok  = bv != NULL;
    for (int64_t i = 0; ok && i < 100000; i++)
        ok = bv[i] == i;
    NBT_CHECK(ok);
    NBT_CHECK_NEAR(nb_item(nb_select(nb_arange(0, 1e5, 1, NB_OPTS(.dtype = NB_FLOAT64)), 0, -1)), 99999, 0);
    /* Errors. */
    NBT_CHECK(nb_arange(0, 5, 0, NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_arange: step must be nonzero");
    NBT_CHECK(nb_arange(0, 5, 0.5, NB_OPTS(.dtype = NB_INT64)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_arange: step must be nonzero (step 0.5 is 0 as int64)");
    NBT_CHECK(nb_arange(0, 5, NAN, NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_arange: step must be nonzero");
    NBT_CHECK(nb_arange(0, -5, 1, NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_arange: upper bound and lower bound inconsistent with step sign");
    NBT_CHECK(nb_arange(0, 5, -1, NB_OPTS(.dtype = NB_INT32)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "inconsistent with step sign");
    NBT_CHECK(nb_arange(0, INFINITY, 1, NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_arange: unsupported range: 0 -> inf");
    NBT_CHECK(nb_arange(0, 3, 1, NB_OPTS(.dtype = NB_BOOL)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_arange: bool tensors are not supported (as in torch)");
    NBT_CHECK(nb_arange(-1e300, 1e300, 1e-300, NB_OPTS(.dtype = NB_FLOAT64)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_arange: invalid size");
    nb_scope_end();
}

static void test_linspace(void)
{
    nb_scope_begin();
    NBT_CHECK_TENSOR(nb_linspace(-1, 1, 5, NB_OPTS()), NB_SHAPE(5), 0, -1, -0.5, 0, 0.5, 1);
    /* float32 values equal torch's bit for bit (computed in float). */
    NBT_CHECK_TENSOR(nb_linspace(0.3, 1.7, 7, NB_OPTS()), NB_SHAPE(7), 0, 0.30000001192092896, 0.5333333611488342,
                     0.7666667103767395, 1.0, 1.2333333492279053, 1.4666666984558105, 1.7000000476837158);
    nb_tensor *d = nb_linspace(0, 1, 3, NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK_TENSOR(d, NB_SHAPE(3), 0, 0, 0.5, 1);
    /* Integers: the ends are converted first, the step stays fractional. */
    NBT_CHECK_TENSOR(nb_linspace(0, 10, 4, NB_OPTS(.dtype = NB_INT64)), NB_SHAPE(4), 0, 0, 3, 6, 10);
    NBT_CHECK_TENSOR(nb_linspace(10, -1, 4, NB_OPTS(.dtype = NB_INT32)), NB_SHAPE(4), 0, 10, 6, 2, -1);
    NBT_CHECK_TENSOR(nb_linspace(-3, 250, 6, NB_OPTS(.dtype = NB_UINT8)), NB_SHAPE(6), 0, 253, 252, 251, 251, 250, 250);
    NBT_CHECK_TENSOR(nb_linspace(4, 9, 1, NB_OPTS()), NB_SHAPE(1), 0, 4);
    NBT_CHECK(nb_numel(nb_linspace(0, 1, 0, NB_OPTS())) == 0);
    /* Large: threads; the ends are exact. */
    nb_tensor *big = nb_linspace(-2, 3, 100001, NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK_NEAR(nb_item(nb_select(big, 0, 0)), -2, 0);
    NBT_CHECK_NEAR(nb_item(nb_select(big, 0, 50000)), 0.5, 1e-15);
    NBT_CHECK_NEAR(nb_item(nb_select(big, 0, -1)), 3, 0);
    NBT_CHECK(nb_linspace(0, 1, -1, NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_linspace: number of steps must be non-negative, got -1");
    NBT_CHECK(nb_linspace(0, 1, 3, NB_OPTS(.dtype = NB_BOOL)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_linspace: bool tensors are not supported (as in torch)");
    NBT_CHECK(nb_linspace(0, INFINITY, 3, NB_OPTS(.dtype = NB_INT32)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_linspace: value inf cannot be converted to int32 without overflow");
    nb_scope_end();
}

static void test_eye(void)
{
    nb_scope_begin();
    NBT_CHECK_TENSOR(nb_eye(2, 3, NB_OPTS()), NB_SHAPE(2, 3), 0, 1, 0, 0, 0, 1, 0);
    NBT_CHECK_TENSOR(nb_eye(3, 2, NB_OPTS(.dtype = NB_INT64)), NB_SHAPE(3, 2), 0, 1, 0, 0, 1, 0, 0);
    NBT_CHECK_TENSOR(nb_eye(1, 1, NB_OPTS(.dtype = NB_BOOL)), NB_SHAPE(1, 1), 0, 1);
    NBT_CHECK(nb_numel(nb_eye(0, 3, NB_OPTS())) == 0);
    NBT_CHECK(nb_eye(-1, 2, NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_eye: n must be greater or equal to 0, got -1");
    NBT_CHECK(nb_eye(2, -3, NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_eye: m must be greater or equal to 0, got -3");
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Random numbers                                                            */
/* ------------------------------------------------------------------------ */

/* Random123's tests/kat_vectors, the three "philox4x32 10" lines. */
static void test_philox_known_answers(void)
{
    static const uint32_t cases[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
         0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
         0x24126ea1},
    };
    for (int c = 0; c < 3; c++) {
        uint32_t out[4];
        nbi_philox4x32_10(&cases[c][0], &cases[c][4], out);
        for (int k = 0; k < 4; k++)
            NBT_CHECK(out[k] == cases[c][6 + k]);
    }
    /* The keying: counter (index, offset), key seed, low words first. */
    uint32_t direct[4], keyed[4];
    uint32_t counter[4] = {5, 0, 7, 0}, key[2] = {0x9abcdef0, 0x12345678};
    nbi_philox4x32_10(counter, key, direct);
    nbi_philox_words(UINT64_C(0x123456789abcdef0), 7, 5, keyed);
    NBT_CHECK(memcmp(direct, keyed, sizeof direct) == 0);
}

static void test_seed_determinism(void)
{
    nb_scope_begin();
    nb_manual_seed(123);
    NBT_CHECK(nb_initial_seed() == 123);
    nb_tensor *a1 = nb_rand(NB_SHAPE(100), NB_OPTS());
    nb_tensor *b1 = nb_randn(NB_SHAPE(7, 3), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *c1 = nb_randint(-5, 5, NB_SHAPE(50), NB_OPTS(.dtype = NB_INT64));
    nb_manual_seed(123);
    nb_tensor *a2 = nb_rand(NB_SHAPE(100), NB_OPTS());
    nb_tensor *b2 = nb_randn(NB_SHAPE(7, 3), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *c2 = nb_randint(-5, 5, NB_SHAPE(50), NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK(same_bytes(a1, a2));
    NBT_CHECK(same_bytes(b1, b2));
    NBT_CHECK(same_bytes(c1, c2));
    /* The next call continues the stream: different numbers. */
    NBT_CHECK(!same_bytes(a1, nb_rand(NB_SHAPE(100), NB_OPTS())));
    /* Another seed: different numbers. */
    nb_manual_seed(124);
    NBT_CHECK(!same_bytes(a1, nb_rand(NB_SHAPE(100), NB_OPTS())));
    nb_scope_end();
}

/* Each call reserves one value per element: the second call starts at
 * offset numel(first), and element i is the generator's value at i. */
static void test_offsets_and_pairs(void)
{
    nb_scope_begin();
    nb_manual_seed(99);
    nb_tensor *u1 = nb_rand(NB_SHAPE(10), NB_OPTS());
    nb_tensor *u2 = nb_rand(NB_SHAPE(5), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *n3 = nb_randn(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64));
    float     *p1 = nb_data(u1);
    double    *p2 = nb_data(u2), *p3 = nb_data(n3);
    for (int i = 0; i < 10; i++)
        NBT_CHECK(p1[i] == nbi_philox_uniform_f32(99, 0, (uint64_t)i));
    for (int i = 0; i < 5; i++)
        NBT_CHECK(p2[i] == nbi_philox_uniform_f64(99, 10, (uint64_t)i));
    /* Box-Muller pairs: elements 0 and 1 share a pair; 2 is half of the next. */
    double pair0[2], pair1[2];
    nbi_philox_normal_pair(99, 15, 0, pair0);
    nbi_philox_normal_pair(99, 15, 1, pair1);
    NBT_CHECK(p3[0] == pair0[0] && p3[1] == pair0[1] && p3[2] == pair1[0]);
    NBT_CHECK(nbi_philox_normal(99, 15, 1) == pair0[1]);
    /* nbi_rng_reserve hands out the next offset: 10 + 5 + 3. */
    uint64_t seed, offset;
    nbi_rng_reserve(0, &seed, &offset);
    NBT_CHECK(seed == 99 && offset == 18);
    /* float32 uniforms are multiples of 2^-24, so never round up to 1. */
    for (int i = 0; i < 10; i++)
        NBT_CHECK(p1[i] * 16777216.0f == floorf(p1[i] * 16777216.0f));
    nb_scope_end();
}

/* Same seed, 1 thread vs 2 threads: identical bits. 100003 elements make
 * the 2-thread split fall at an odd index (50001), inside a normal pair. */
static void test_thread_count_independence(void)
{
    enum { N = 100003 };
    int threads = nb_get_num_threads();
    nb_scope_begin();
    nb_tensor *one[5], *two[5];
    for (int round = 0; round < 2; round++) {
        if (nb_set_num_threads(round + 1) != NB_OK) {
            nb_clear_error(); /* a build without OpenMP runs 1 thread: still compare */
        }
        nb_tensor **out = round == 0 ? one : two;
        nb_manual_seed(2024);
        out[0] = nb_rand(NB_SHAPE(N), NB_OPTS());
        out[1] = nb_randn(NB_SHAPE(N), NB_OPTS());
        out[2] = nb_normal(1, 3, NB_SHAPE(N), NB_OPTS(.dtype = NB_FLOAT64));
        out[3] = nb_randint(-1000, 1000, NB_SHAPE(N), NB_OPTS(.dtype = NB_INT32));
        out[4] = nb_rand(NB_SHAPE(N), NB_OPTS(.dtype = NB_FLOAT64));
    }
    for (int k = 0; k < 5; k++)
        NBT_CHECK(same_bytes(one[k], two[k]));
    /* The element at the odd split equals the generator's value there. */
    float   *n    = nb_data(two[1]);
    uint64_t seed = 2024, offset = N; /* randn was the second call */
    NBT_CHECK(n[50001] == (float)nbi_philox_normal(seed, offset, 50001));
    NBT_CHECK(n[50000] == (float)nbi_philox_normal(seed, offset, 50000));
    nb_scope_end();
    nb_set_num_threads(threads);
}

/* Loose statistical bounds (many standard errors wide). */
static void test_distributions(void)
{
    enum { N = 100000 };
    nb_scope_begin();
    nb_manual_seed(7);
    double *z   = values_of(nb_randn(NB_SHAPE(N), NB_OPTS()));
    double  sum = 0, sum_sq = 0;
    int     within_one = 0;
    for (int i = 0; i < N; i++) {
        sum += z[i];
        sum_sq += z[i] * z[i];
        within_one += fabs(z[i]) < 1;
    }
    double mean = sum / N, std = sqrt(sum_sq / N - mean * mean);
    NBT_CHECK_NEAR(mean, 0, 0.02); /* standard error 0.003 */
    NBT_CHECK_NEAR(std, 1, 0.02);
    NBT_CHECK_NEAR((double)within_one / N, 0.6827, 0.01);
    free(z);

    double *g = values_of(nb_normal(3, 2, NB_SHAPE(N), NB_OPTS(.dtype = NB_FLOAT64)));
    sum = sum_sq = 0;
    for (int i = 0; i < N; i++) {
        sum += g[i];
        sum_sq += g[i] * g[i];
    }
    mean = sum / N;
    NBT_CHECK_NEAR(mean, 3, 0.05);
    NBT_CHECK_NEAR(sqrt(sum_sq / N - mean * mean), 2, 0.05);
    free(g);

    for (int dtype = NB_FLOAT32; dtype <= NB_FLOAT64; dtype++) {
        double *u   = values_of(nb_rand(NB_SHAPE(N), NB_OPTS(.dtype = (nb_dtype)dtype)));
        double  min = 1, max = 0;
        int     in_range = 1;
        sum              = 0;
        for (int i = 0; i < N; i++) {
            in_range = in_range && u[i] >= 0 && u[i] < 1;
            sum += u[i];
            min = u[i] < min ? u[i] : min;
            max = u[i] > max ? u[i] : max;
        }
        NBT_CHECK(in_range);
        NBT_CHECK_NEAR(sum / N, 0.5, 0.01);
        NBT_CHECK(min < 0.001 && max > 0.999);
        free(u);
    }
    /* std 0 gives the mean exactly. */
    NBT_CHECK_TENSOR(nb_normal(4, 0, NB_SHAPE(3), NB_OPTS()), NB_SHAPE(3), 0, 4, 4, 4);
    nb_scope_end();
}

static void test_randint(void)
{
    enum { N = 20000 };
    nb_scope_begin();
    nb_manual_seed(5);
    double *v         = values_of(nb_randint(-3, 4, NB_SHAPE(N), NB_OPTS(.dtype = NB_INT64)));
    int     counts[7] = {0}, ok = v != NULL;
    for (int i = 0; ok && i < N; i++) {
        ok = v[i] >= -3 && v[i] < 4 && v[i] == floor(v[i]);
        if (ok) counts[(int)v[i] + 3]++;
    }
    NBT_CHECK(ok);
    for (int k = 0; k < 7; k++)
        NBT_CHECK(counts[k] > N / 7 - 400 && counts[k] < N / 7 + 400);
    free(v);
    /* Every dtype, including floats (integral values) and bool. */
    const nb_dtype dtypes[] = {NB_INT32, NB_UINT8, NB_BOOL, NB_FLOAT32, NB_FLOAT64};
    const int64_t  highs[]  = {1000, 256, 2, 1 << 24, 1000};
    for (int k = 0; k < 5; k++) {
        nb_tensor *t = nb_randint(0, highs[k], NB_SHAPE(1000), NB_OPTS(.dtype = dtypes[k]));
        NBT_CHECK(t != NULL && nb_dtype_of(t) == dtypes[k]);
        double *x  = values_of(t);
        int     in = x != NULL;
        for (int i = 0; in && i < 1000; i++)
            in = x[i] >= 0 && x[i] < (double)highs[k] && x[i] == floor(x[i]);
        NBT_CHECK(in);
        free(x);
    }
    /* The full int64 range works (no overflow in high - low). */
    NBT_CHECK(nb_randint(INT64_MIN, INT64_MAX, NB_SHAPE(10), NB_OPTS(.dtype = NB_INT64)) != NULL);
    NBT_CHECK_TENSOR(nb_randint(9, 10, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64)), NB_SHAPE(2), 0, 9, 9);
    /* Errors. */
    NBT_CHECK(nb_randint(5, 5, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_randint: expects low < high, but got low=5 >= high=5");
    NBT_CHECK(nb_randint(0, 300, NB_SHAPE(2), NB_OPTS(.dtype = NB_UINT8)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_randint: high - 1 = 299 is out of bounds for uint8 (0 to 255)");
    NBT_CHECK(nb_randint(-1, 3, NB_SHAPE(2), NB_OPTS(.dtype = NB_UINT8)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_randint: low -1 is out of bounds for uint8");
    NBT_CHECK(nb_randint(0, 3, NB_SHAPE(2), NB_OPTS(.dtype = NB_BOOL)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "high - 1 = 2 is out of bounds for bool (0 to 1)");
    NBT_CHECK(nb_randint(0, (1 << 24) + 2, NB_SHAPE(2), NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "is out of bounds for float32");
    NBT_CHECK(nb_randint(0, 3, NB_SHAPE(-2), NB_OPTS(.dtype = NB_INT64)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_randint: size -2 in shape [-2] is negative");
    nb_scope_end();
}

static void test_random_errors(void)
{
    NBT_CHECK(nb_rand(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_rand: needs a floating dtype (float16, bfloat16, float32 or float64), not int64");
    NBT_CHECK(nb_randn(NB_SHAPE(2), NB_OPTS(.dtype = NB_BOOL)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_randn: needs a floating dtype (float16, bfloat16, float32 or float64), not bool");
    NBT_CHECK(nb_normal(0, -1, NB_SHAPE(2), NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_normal: expects std >= 0.0, but found std -1");
    NBT_CHECK(nb_normal(0, NAN, NB_SHAPE(2), NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_normal: expects std >= 0.0, but found std nan");
    NBT_CHECK(nb_normal(0, 1, NB_SHAPE(2), NB_OPTS(.dtype = NB_UINT8)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_normal: needs a floating dtype");
    /* A refused call takes no values from the stream. */
    nb_manual_seed(11);
    nb_rand(NB_SHAPE(4), NB_OPTS(.dtype = NB_INT32));
    nb_clear_error();
    uint64_t seed, offset;
    nbi_rng_reserve(0, &seed, &offset);
    NBT_CHECK(offset == 0);
    /* Empty tensors: nothing to draw. */
    nb_tensor *e = nb_randn(NB_SHAPE(0, 3), NB_OPTS());
    NBT_CHECK(e != NULL && nb_numel(e) == 0);
    nb_free(e);
}

/* ------------------------------------------------------------------------ */
/* *_like and fill_                                                          */
/* ------------------------------------------------------------------------ */

static void test_like(void)
{
    nb_scope_begin();
    nb_tensor *t = nb_t(nb_ones(NB_SHAPE(2, 3), NB_OPTS(.dtype = NB_INT32)));
    nb_tensor *z = nb_zeros_like(t);
    NBT_CHECK(nb_dtype_of(z) == NB_INT32 && nb_is_contiguous(z));
    NBT_CHECK_TENSOR(z, NB_SHAPE(3, 2), 0, 0, 0, 0, 0, 0, 0);
    NBT_CHECK_TENSOR(nb_ones_like(t), NB_SHAPE(3, 2), 0, 1, 1, 1, 1, 1, 1);
    NBT_CHECK_TENSOR(nb_full_like(t, -4.5), NB_SHAPE(3, 2), 0, -4, -4, -4, -4, -4, -4);
    nb_tensor *e = nb_empty_like(nb_scalar(1, NB_OPTS(.dtype = NB_FLOAT64)));
    NBT_CHECK(nb_ndim(e) == 0 && nb_dtype_of(e) == NB_FLOAT64);
    /* requires_grad is not taken from the input (torch's default). */
    nb_tensor *g = nb_zeros(NB_SHAPE(4), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *r = nb_rand_like(g);
    NBT_CHECK(r && nb_dtype_of(r) == NB_FLOAT64 && nb_numel(r) == 4 && !nb_requires_grad(r));
    NBT_CHECK(nb_randn_like(g) != NULL && !nb_requires_grad(nb_zeros_like(g)));
    NBT_CHECK(nb_rand_like(t) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_rand_like: needs a floating dtype (float16, bfloat16, float32 or float64), not int32");
    NBT_CHECK(nb_randn_like(t) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_randn_like: needs a floating dtype");
    NBT_CHECK(nb_full_like(nb_zeros(NB_SHAPE(1), NB_OPTS(.dtype = NB_UINT8)), 256) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_full_like: value 256 cannot be converted to uint8");
    nb_scope_end();
    NBT_CHECK(nb_empty_like(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_empty_like: argument 't' is NULL");
    NBT_CHECK(nb_zeros_like(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_zeros_like: argument 't' is NULL");
    NBT_CHECK(nb_ones_like(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_ones_like: argument 't' is NULL");
    NBT_CHECK(nb_full_like(NULL, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_full_like: argument 't' is NULL");
    NBT_CHECK(nb_rand_like(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_rand_like: argument 't' is NULL");
    NBT_CHECK(nb_randn_like(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_randn_like: argument 't' is NULL");
}

static void test_fill_(void)
{
    nb_scope_begin();
    nb_tensor *a       = nb_zeros(NB_SHAPE(3, 4), NB_OPTS());
    uint64_t   version = a->storage->version;
    NBT_CHECK(nb_fill_(a, 2) == a); /* a itself, not a new handle */
    NBT_CHECK(a->storage->version == version + 1);
    NBT_CHECK_TENSOR(a, NB_SHAPE(3, 4), 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2);
    /* Non-contiguous: a column of a transpose, a stepped slice. */
    nb_fill_(nb_select(nb_t(a), 0, 1), 5);
    nb_fill_(nb_slice(nb_select(a, 0, 2), 0, 0, NB_END, 3), -1);
    NBT_CHECK_TENSOR(a, NB_SHAPE(3, 4), 0, 2, 5, 2, 2, 2, 5, 2, 2, -1, 5, 2, -1);
    /* Expanded (stride 0) views fill their one underlying element. */
    nb_tensor *one = nb_zeros(NB_SHAPE(1), NB_OPTS(.dtype = NB_INT64));
    nb_fill_(nb_expand(one, NB_SHAPE(1000, 100)), 9);
    NBT_CHECK(nb_item_int64(one) == 9);
    /* Conversions by dtype; 0-d; empty. */
    nb_tensor *i = nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT32));
    NBT_CHECK_TENSOR(nb_fill_(i, 2.9), NB_SHAPE(2), 0, 2, 2);
    nb_tensor *u = nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_UINT8));
    NBT_CHECK_TENSOR(nb_fill_(u, -2), NB_SHAPE(2), 0, 254, 254);
    nb_tensor *b = nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_BOOL));
    NBT_CHECK_TENSOR(nb_fill_(b, -0.5), NB_SHAPE(2), 0, 1, 1);
    nb_tensor *s = nb_scalar(0, NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK_TENSOR(nb_fill_(s, 1.25), NB_SCALAR_SHAPE, 0, 1.25);
    nb_tensor *e = nb_zeros(NB_SHAPE(0, 3), NB_OPTS());
    NBT_CHECK(nb_fill_(nb_t(e), 1) != NULL);
    /* Large non-contiguous fill (threads through the iterator). */
    nb_tensor *big = nb_zeros(NB_SHAPE(400, 300), NB_OPTS(.dtype = NB_FLOAT64));
    nb_fill_(nb_slice(nb_t(big), 0, 1, NB_END, 2), 3); /* odd columns */
    double *v  = nb_data(big);
    int     ok = v != NULL;
    for (int64_t k = 0; ok && k < 400 * 300; k++)
        ok = v[k] == ((k % 300) % 2 == 1 ? 3 : 0);
    NBT_CHECK(ok);
    /* Errors leave the tensor as it was. */
    NBT_CHECK(nb_fill_(u, 256) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_fill_: value 256 cannot be converted to uint8 without overflow");
    NBT_CHECK_TENSOR(u, NB_SHAPE(2), 0, 254, 254);
    NBT_CHECK(nb_fill_(i, INFINITY) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_fill_: value inf cannot be converted to int32");
    nb_scope_end();
    NBT_CHECK(nb_fill_(NULL, 1) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_fill_: argument 'a' is NULL");
}

int main(void)
{
    NBT_RUN(test_default_seed);
    NBT_RUN(test_zeros_ones_full);
    NBT_RUN(test_scalar_and_from_data);
    NBT_RUN(test_option_errors);
    NBT_RUN(test_arange);
    NBT_RUN(test_integer_ranges_beyond_int64);
    NBT_RUN(test_linspace);
    NBT_RUN(test_eye);
    NBT_RUN(test_philox_known_answers);
    NBT_RUN(test_seed_determinism);
    NBT_RUN(test_offsets_and_pairs);
    NBT_RUN(test_thread_count_independence);
    NBT_RUN(test_distributions);
    NBT_RUN(test_randint);
    NBT_RUN(test_random_errors);
    NBT_RUN(test_like);
    NBT_RUN(test_fill_);
    return nbt_finish();
}
