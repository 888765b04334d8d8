/*
 * test_linalg.c — nb_matmul, nb_mm, nb_bmm, nb_dot, nb_outer against
 * hand-computed values and a naive reference; the GEMM kernels (OpenBLAS or
 * not, every fallback micro-kernel variant, matrix-vector shapes) against
 * the reference triple loop on odd sizes, transposes, alpha and beta.
 *
 * Inputs are small multiples of 1/4, so every product and partial sum is
 * exact in float32 and results can be compared almost exactly whatever the
 * summation order.
 */
#include "cpu/gemm.h"
#include "nb_test.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* Deterministic values in {-2, -1.75, ..., 2}. */
static double pattern(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (double)((int)((*state >> 16) % 17u) - 8) / 4.0;
}

static void fill_f32(float *x, int64_t n, uint32_t seed)
{
    for (int64_t i = 0; i < n; i++) x[i] = (float)pattern(&seed);
}

static void fill_f64(double *x, int64_t n, uint32_t seed)
{
    for (int64_t i = 0; i < n; i++) x[i] = pattern(&seed);
}

/* A tensor of shape with pattern values (integer dtypes get the values
 * times 4, so they are whole). */
static nb_tensor *patterned(nb_shape shape, nb_dtype dtype, uint32_t seed)
{
    int64_t n = 1;
    for (int i = 0; i < shape.ndim; i++) n *= shape.dims[i];
    double *values = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    for (int64_t i = 0; i < n; i++) values[i] = pattern(&seed) * (nb_dtype_is_floating(dtype) ? 1 : 4);
    nb_tensor *f = nb_from_data(values, shape, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *t = nb_to_dtype(f, dtype);
    nb_free(f);
    free(values);
    return t;
}

/* All elements as doubles, row-major (caller frees). */
static double *values_of(const nb_tensor *t)
{
    nb_tensor *d = nb_to_dtype(t, NB_FLOAT64);
    int64_t    n = nb_numel(d);
    double    *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    nb_copy_to_buffer(d, v, (size_t)n * sizeof(double));
    nb_free(d);
    return v;
}

/* torch.matmul written the obvious way, independently of linalg.c: promote
 * 1-D operands, broadcast batch dims, loop. Fills out_shape; returns values. */
static double *reference_matmul(const nb_tensor *a, const nb_tensor *b, nb_shape *out_shape)
{
    nb_shape sa = nb_shape_of(a), sb = nb_shape_of(b);
    int      a_vec = sa.ndim == 1, b_vec = sb.ndim == 1;
    /* As matrices with batch dims: (..., m, k) and (..., k, n). */
    nb_shape ma = sa, mb = sb;
    if (a_vec) ma = (nb_shape){ .ndim = 2, .dims = { 1, sa.dims[0] } };
    if (b_vec) mb = (nb_shape){ .ndim = 2, .dims = { sb.dims[0], 1 } };
    int64_t m = ma.dims[ma.ndim - 2], k = ma.dims[ma.ndim - 1], n = mb.dims[mb.ndim - 1];
    int     bnd_a = ma.ndim - 2, bnd_b = mb.ndim - 2, bnd = bnd_a > bnd_b ? bnd_a : bnd_b;
    int64_t batch_shape[NB_MAX_DIMS], batch = 1;
    for (int d = 0; d < bnd; d++) {
        int     da = d - (bnd - bnd_a), db = d - (bnd - bnd_b);
        int64_t x = da >= 0 ? ma.dims[da] : 1, y = db >= 0 ? mb.dims[db] : 1;
        batch_shape[d] = x == 1 ? y : x;
        batch *= batch_shape[d];
    }
    out_shape->ndim = 0;
    for (int d = 0; d < bnd; d++) out_shape->dims[out_shape->ndim++] = batch_shape[d];
    if (!a_vec) out_shape->dims[out_shape->ndim++] = m;
    if (!b_vec) out_shape->dims[out_shape->ndim++] = n;

    double *va = values_of(a), *vb = values_of(b);
    double *out = calloc((size_t)(batch * m * n > 0 ? batch * m * n : 1), sizeof(double));
    for (int64_t index = 0; index < batch; index++) {
        /* Offsets of this batch entry in a and b (size-1 dims repeat). */
        int64_t rest = index, off_a = 0, off_b = 0, step_a = m * k, step_b = k * n;
        for (int d = bnd - 1; d >= 0; d--) {
            int64_t i = rest % batch_shape[d];
            rest /= batch_shape[d];
            int da = d - (bnd - bnd_a), db = d - (bnd - bnd_b);
            if (da >= 0) {
                if (ma.dims[da] != 1) off_a += i * step_a;
                step_a *= ma.dims[da];
            }
            if (db >= 0) {
                if (mb.dims[db] != 1) off_b += i * step_b;
                step_b *= mb.dims[db];
            }
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double sum = 0;
                for (int64_t p = 0; p < k; p++) sum += va[off_a + i * k + p] * vb[off_b + p * n + j];
                out[index * m * n + i * n + j] = sum;
            }
    }
    free(va);
    free(vb);
    return out;
}

/* nb_matmul(a, b) equals the reference (shape and values within tol). */
static int matmul_matches_reference(const nb_tensor *a, const nb_tensor *b, double tol)
{
    nb_shape   shape;
    double    *expected = reference_matmul(a, b, &shape);
    nb_tensor *got      = nb_matmul(a, b);
    int        ok       = nbt_tensor_equals(got, shape, expected, tol);
    if (got && nb_dtype_of(got) != nb_dtype_of(a)) ok = 0;
    nb_free(got);
    free(expected);
    return ok;
}

#define CHECK_MATMUL(a, b, tol)                                                                  \
    do {                                                                                         \
        nbt_checks++;                                                                            \
        if (!matmul_matches_reference((a), (b), (tol))) {                                        \
            nbt_failures++;                                                                      \
            fprintf(stderr, "%s:%d: nb_matmul(%s, %s) differs from the reference\n", __FILE__,   \
                    __LINE__, #a, #b);                                                           \
        }                                                                                        \
    } while (0)

/* ------------------------------------------------------------------------ */
/* nb_matmul: shapes                                                         */
/* ------------------------------------------------------------------------ */

static void test_matmul_2d_hand_values(void)
{
    nb_scope_begin();
    const float  a32[] = { 1, 2, 3, 4, 5, 6 };       /* 2 x 3 */
    const float  b32[] = { 7, 8, 9, 10, 11, 12 };    /* 3 x 2 */
    nb_tensor   *a     = nb_from_data(a32, NB_SHAPE(2, 3), NB_OPTS());
    nb_tensor   *b     = nb_from_data(b32, NB_SHAPE(3, 2), NB_OPTS());
    nb_tensor   *c     = nb_matmul(a, b);
    NBT_CHECK_TENSOR(c, NB_SHAPE(2, 2), 0, 58, 64, 139, 154);
    NBT_CHECK(nb_dtype_of(c) == NB_FLOAT32 && nb_is_contiguous(c));
    /* b @ a is 3 x 3. */
    NBT_CHECK_TENSOR(nb_matmul(b, a), NB_SHAPE(3, 3), 0, 39, 54, 69, 49, 68, 87, 59, 82, 105);
    NBT_CHECK_TENSOR(nb_mm(a, b), NB_SHAPE(2, 2), 0, 58, 64, 139, 154);

    const double a64[] = { 0.5, -1, 2, 0.25 };
    nb_tensor   *d     = nb_from_data(a64, NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor   *dd    = nb_matmul(d, d);
    NBT_CHECK_TENSOR(dd, NB_SHAPE(2, 2), 1e-15, -1.75, -0.75, 1.5, -1.9375);
    NBT_CHECK(nb_dtype_of(dd) == NB_FLOAT64);

    const int64_t i64[] = { 1, -2, 3, 4 };
    nb_tensor    *e     = nb_from_data(i64, NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_INT64));
    nb_tensor    *ee    = nb_matmul(e, e);
    NBT_CHECK_TENSOR(ee, NB_SHAPE(2, 2), 0, -5, -10, 15, 10);
    NBT_CHECK(nb_dtype_of(ee) == NB_INT64);
    nb_scope_end();
}

static void test_matmul_1d_operands(void)
{
    nb_scope_begin();
    const float v3[] = { 1, 2, 3 }, w3[] = { 4, -5, 6 };
    const float m23[] = { 1, 2, 3, 4, 5, 6 }; /* 2 x 3 */
    const float m32[] = { 1, 2, 3, 4, 5, 6 }; /* 3 x 2 */
    nb_tensor  *v = nb_from_data(v3, NB_SHAPE(3), NB_OPTS());
    nb_tensor  *w = nb_from_data(w3, NB_SHAPE(3), NB_OPTS());
    nb_tensor  *a = nb_from_data(m23, NB_SHAPE(2, 3), NB_OPTS());
    nb_tensor  *b = nb_from_data(m32, NB_SHAPE(3, 2), NB_OPTS());

    nb_tensor *dot = nb_matmul(v, w); /* 1-D . 1-D: a 0-d dot product */
    NBT_CHECK_TENSOR(dot, NB_SCALAR_SHAPE, 0, 12);
    NBT_CHECK(nb_ndim(dot) == 0);
    NBT_CHECK_TENSOR(nb_dot(v, w), NB_SCALAR_SHAPE, 0, 12);
    NBT_CHECK_TENSOR(nb_matmul(a, v), NB_SHAPE(2), 0, 14, 32);    /* matrix . vector */
    NBT_CHECK_TENSOR(nb_matmul(v, b), NB_SHAPE(2), 0, 22, 28);    /* vector . matrix */

    /* A vector against a batch and a batch against a vector. */
    nb_tensor *batch_b = patterned(NB_SHAPE(4, 3, 5), NB_FLOAT32, 1);
    nb_tensor *batch_a = patterned(NB_SHAPE(2, 4, 3), NB_FLOAT32, 2);
    CHECK_MATMUL(v, batch_b, 0); /* (3) @ (4, 3, 5) -> (4, 5) */
    CHECK_MATMUL(batch_a, v, 0); /* (2, 4, 3) @ (3) -> (2, 4) */

    /* Integer dot and float64 dot. */
    nb_tensor *vi = patterned(NB_SHAPE(7), NB_INT64, 3), *wi = patterned(NB_SHAPE(7), NB_INT64, 4);
    CHECK_MATMUL(vi, wi, 0);
    nb_tensor *vd = patterned(NB_SHAPE(1000), NB_FLOAT64, 5), *wd = patterned(NB_SHAPE(1000), NB_FLOAT64, 6);
    CHECK_MATMUL(vd, wd, 0);
    nb_scope_end();
}

static void test_matmul_batched_and_broadcast(void)
{
    nb_scope_begin();
    nb_dtype dtypes[] = { NB_FLOAT32, NB_FLOAT64, NB_INT64, NB_INT32 };
    for (int i = 0; i < 4; i++) {
        nb_dtype dt = dtypes[i];
        /* Batch by matrix: folded into one GEMM of 2*4 rows. */
        CHECK_MATMUL(patterned(NB_SHAPE(2, 4, 3), dt, 10), patterned(NB_SHAPE(3, 5), dt, 11), 0);
        /* Matrix by batch. */
        CHECK_MATMUL(patterned(NB_SHAPE(4, 3), dt, 12), patterned(NB_SHAPE(2, 3, 5), dt, 13), 0);
        /* Same batch. */
        CHECK_MATMUL(patterned(NB_SHAPE(3, 4, 6), dt, 14), patterned(NB_SHAPE(3, 6, 2), dt, 15), 0);
        /* Broadcast batch dims on both sides: (2, 1, 4, 3) @ (5, 3, 2) -> (2, 5, 4, 2). */
        CHECK_MATMUL(patterned(NB_SHAPE(2, 1, 4, 3), dt, 16), patterned(NB_SHAPE(5, 3, 2), dt, 17), 0);
        /* b's batch dims all 1: still one GEMM over a's rows; result (1, 2, 4, 5). */
        CHECK_MATMUL(patterned(NB_SHAPE(2, 4, 3), dt, 45), patterned(NB_SHAPE(1, 1, 3, 5), dt, 46), 0);
        /* Size-1 batch dims and 5-D. */
        CHECK_MATMUL(patterned(NB_SHAPE(1, 2, 1, 3, 2), dt, 18), patterned(NB_SHAPE(1, 4, 2, 5), dt, 19), 0);
    }
    nb_tensor *c = nb_matmul(patterned(NB_SHAPE(2, 1, 4, 3), NB_FLOAT32, 16), patterned(NB_SHAPE(5, 3, 2), NB_FLOAT32, 17));
    NBT_CHECK(nb_ndim(c) == 4 && nb_size(c, 0) == 2 && nb_size(c, 1) == 5 && nb_size(c, 2) == 4 && nb_size(c, 3) == 2);
    NBT_CHECK(nb_is_contiguous(c));

    /* Many small matrices (spread over threads a matrix at a time) and a
     * few big ones (threads inside GEMM). */
    CHECK_MATMUL(patterned(NB_SHAPE(2000, 5, 7), NB_FLOAT32, 20), patterned(NB_SHAPE(2000, 7, 3), NB_FLOAT32, 21), 0);
    CHECK_MATMUL(patterned(NB_SHAPE(2000, 5, 7), NB_FLOAT64, 20), patterned(NB_SHAPE(1, 7, 3), NB_FLOAT64, 21), 0);
    CHECK_MATMUL(patterned(NB_SHAPE(2, 80, 70), NB_FLOAT32, 22), patterned(NB_SHAPE(2, 70, 90), NB_FLOAT32, 23), 0);
    CHECK_MATMUL(patterned(NB_SHAPE(2, 80, 70), NB_FLOAT64, 24), patterned(NB_SHAPE(70, 90), NB_FLOAT64, 25), 0);
    CHECK_MATMUL(patterned(NB_SHAPE(40, 6, 5), NB_INT64, 26), patterned(NB_SHAPE(40, 5, 4), NB_INT64, 27), 0);

    /* nb_bmm. */
    nb_tensor *a = patterned(NB_SHAPE(3, 2, 4), NB_FLOAT32, 28), *b = patterned(NB_SHAPE(3, 4, 5), NB_FLOAT32, 29);
    nb_shape   shape;
    double    *expected = reference_matmul(a, b, &shape);
    NBT_CHECK(nbt_tensor_equals(nb_bmm(a, b), shape, expected, 0));
    free(expected);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* nb_matmul: layouts                                                        */
/* ------------------------------------------------------------------------ */

static void test_matmul_transposed_and_sliced(void)
{
    nb_scope_begin();
    for (int dt = 0; dt < 3; dt++) {
        nb_dtype   dtype = dt == 0 ? NB_FLOAT32 : dt == 1 ? NB_FLOAT64 : NB_INT64;
        nb_tensor *a     = patterned(NB_SHAPE(6, 5), dtype, 30);
        nb_tensor *b     = patterned(NB_SHAPE(7, 6), dtype, 31);
        nb_tensor *at    = nb_t(a);   /* (5, 6), strides (1, 5): transposed GEMM */
        nb_tensor *bt    = nb_t(b);   /* (6, 7), strides (1, 6) */
        CHECK_MATMUL(at, bt, 0);
        CHECK_MATMUL(at, nb_t(at), 0);
        CHECK_MATMUL(a, nb_slice(at, 1, 0, 6, 1), 0);
        /* Every second row: row stride 2 * 6 (GEMM reads it in place). */
        nb_tensor *rows = nb_slice(patterned(NB_SHAPE(10, 6), dtype, 32), 0, 0, NB_END, 2); /* (5, 6) */
        CHECK_MATMUL(rows, bt, 0);
        /* Every second column: column stride 2, copied first. */
        nb_tensor *cols = nb_slice(patterned(NB_SHAPE(5, 12), dtype, 33), 1, 1, NB_END, 2); /* (5, 6) */
        CHECK_MATMUL(cols, bt, 0);
        CHECK_MATMUL(b, nb_t(cols), 0);
        /* A window of a transposed matrix: strides (1, 8) for 6 rows. */
        nb_tensor *window = nb_narrow(nb_t(patterned(NB_SHAPE(9, 8), dtype, 34)), 0, 2, 6); /* (6, 9) */
        CHECK_MATMUL(b, nb_narrow(window, 1, 1, 5), 0);
        /* Expanded: a (1, 6) row broadcast to (4, 6) has row stride 0. */
        nb_tensor *row = patterned(NB_SHAPE(1, 6), dtype, 35);
        CHECK_MATMUL(nb_expand(row, NB_SHAPE(4, 6)), bt, 0);
        /* Expanded batch: walked with stride 0, not materialised. */
        nb_tensor *shared = nb_expand(patterned(NB_SHAPE(1, 5, 6), dtype, 36), NB_SHAPE(3, 5, 6));
        CHECK_MATMUL(shared, patterned(NB_SHAPE(3, 6, 2), dtype, 37), 0);
        CHECK_MATMUL(patterned(NB_SHAPE(3, 2, 5), dtype, 38), shared, 0);
        /* Transposed batch: (B, m, k) made by permuting (B, k, m). */
        nb_tensor *perm = nb_transpose(patterned(NB_SHAPE(3, 6, 5), dtype, 39), 1, 2); /* (3, 5, 6) */
        CHECK_MATMUL(perm, bt, 0);
        CHECK_MATMUL(perm, nb_transpose(perm, 1, 2), 0);
        /* Batch dim in the middle of memory: (k, B, m) permuted to (B, m, k)... */
        nb_tensor *mid = nb_permute(patterned(NB_SHAPE(6, 3, 5), dtype, 40), NB_DIMS(1, 2, 0)); /* (3, 5, 6) */
        CHECK_MATMUL(mid, bt, 0);
        /* ...and a non-contiguous batch by a matrix (no fold possible). */
        nb_tensor *gapped = nb_slice(patterned(NB_SHAPE(6, 5, 6), dtype, 41), 0, 0, NB_END, 2); /* (3, 5, 6) */
        CHECK_MATMUL(gapped, bt, 0);
        /* Strided 1-D operands. */
        nb_tensor *v = nb_slice(patterned(NB_SHAPE(12), dtype, 42), 0, 0, NB_END, 2); /* (6) stride 2 */
        CHECK_MATMUL(a, nb_slice(patterned(NB_SHAPE(10), dtype, 43), 0, 0, NB_END, 2), 0);
        CHECK_MATMUL(v, bt, 0);
        CHECK_MATMUL(v, v, 0);
        CHECK_MATMUL(nb_expand(patterned(NB_SHAPE(1), dtype, 44), NB_SHAPE(6)), v, 0);
        CHECK_MATMUL(nb_select(at, 0, 2), bt, 0); /* a column of a as a 1-D operand: stride 5 */
    }
    nb_scope_end();
}

static void test_matmul_empty(void)
{
    nb_scope_begin();
    nb_dtype dtypes[] = { NB_FLOAT32, NB_FLOAT64, NB_INT64 };
    for (int i = 0; i < 3; i++) {
        nb_dtype   dt = dtypes[i];
        nb_tensor *c  = nb_matmul(nb_zeros(NB_SHAPE(0, 3), NB_OPTS(.dtype = dt)), nb_ones(NB_SHAPE(3, 2), NB_OPTS(.dtype = dt)));
        NBT_CHECK_TENSOR(c, NB_SHAPE(0, 2), 0, 0);
        /* k = 0: every entry is an empty sum, 0 (the output buffer may be recycled garbage). */
        nb_tensor *junk = nb_full(NB_SHAPE(2, 2), NAN, NB_OPTS(.dtype = NB_FLOAT64));
        nb_free(junk);
        c = nb_matmul(nb_ones(NB_SHAPE(2, 0), NB_OPTS(.dtype = dt)), nb_ones(NB_SHAPE(0, 2), NB_OPTS(.dtype = dt)));
        NBT_CHECK_TENSOR(c, NB_SHAPE(2, 2), 0, 0, 0, 0, 0);
        c = nb_matmul(nb_ones(NB_SHAPE(2, 3), NB_OPTS(.dtype = dt)), nb_ones(NB_SHAPE(3, 0), NB_OPTS(.dtype = dt)));
        NBT_CHECK_TENSOR(c, NB_SHAPE(2, 0), 0, 0);
        c = nb_matmul(nb_ones(NB_SHAPE(0, 2, 3), NB_OPTS(.dtype = dt)), nb_ones(NB_SHAPE(3, 2), NB_OPTS(.dtype = dt)));
        NBT_CHECK_TENSOR(c, NB_SHAPE(0, 2, 2), 0, 0);
        c = nb_matmul(nb_ones(NB_SHAPE(0), NB_OPTS(.dtype = dt)), nb_ones(NB_SHAPE(0), NB_OPTS(.dtype = dt)));
        NBT_CHECK_TENSOR(c, NB_SCALAR_SHAPE, 0, 0);
        c = nb_matmul(nb_ones(NB_SHAPE(3, 0), NB_OPTS(.dtype = dt)), nb_ones(NB_SHAPE(0), NB_OPTS(.dtype = dt)));
        NBT_CHECK_TENSOR(c, NB_SHAPE(3), 0, 0, 0, 0);
        c = nb_matmul(nb_ones(NB_SHAPE(2, 1, 1, 0), NB_OPTS(.dtype = dt)), nb_ones(NB_SHAPE(3, 0, 2), NB_OPTS(.dtype = dt)));
        NBT_CHECK_TENSOR(c, NB_SHAPE(2, 3, 1, 2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
    nb_scope_end();
}

static void test_matmul_integer_wraps(void)
{
    nb_scope_begin();
    /* Values from PyTorch 1.13: int64 and uint8 products wrap. */
    const int64_t big[] = { (int64_t)1 << 62, 3, 5, 7 };
    nb_tensor    *x     = nb_from_data(big, NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_INT64));
    nb_tensor    *xx    = nb_matmul(x, x);
    int64_t       got[4];
    NBT_CHECK(nb_copy_to_buffer(xx, got, sizeof got) == NB_OK);
    NBT_CHECK(got[0] == 15 && got[1] == -4611686018427387883LL && got[2] == 4611686018427387939LL && got[3] == 64);

    const uint8_t small[] = { 200, 100, 3, 4 };
    nb_tensor    *y       = nb_from_data(small, NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_UINT8));
    nb_tensor    *yy      = nb_matmul(y, y);
    NBT_CHECK_TENSOR(yy, NB_SHAPE(2, 2), 0, 108, 176, 100, 60);
    NBT_CHECK(nb_dtype_of(yy) == NB_UINT8);

    const int32_t mid[] = { 65536, 2, 65536, -3 };
    nb_tensor    *z     = nb_from_data(mid, NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_INT32));
    nb_tensor    *zz    = nb_matmul(z, z); /* 65536^2 wraps to 0 in int32 */
    NBT_CHECK_TENSOR(zz, NB_SHAPE(2, 2), 0, 131072, 131066, -196608, 131081);
    NBT_CHECK(nb_dtype_of(zz) == NB_INT32);
    nb_scope_end();
}

static void test_matmul_threads_agree(void)
{
    nb_scope_begin();
    int        saved = nb_get_num_threads();
    nb_tensor *a = patterned(NB_SHAPE(130, 140), NB_FLOAT32, 50), *b = patterned(NB_SHAPE(140, 150), NB_FLOAT32, 51);
    nb_set_num_threads(1);
    double *one = values_of(nb_matmul(a, b));
    nb_set_num_threads(2);
    nb_clear_error(); /* a build without OpenMP refuses 2 threads */
    double *two = values_of(nb_matmul(a, b));
    int     same = 1;
    for (int64_t i = 0; i < 130 * 150; i++) same &= one[i] == two[i];
    NBT_CHECK(same);
    nb_set_num_threads(saved);
    free(one);
    free(two);
    CHECK_MATMUL(a, b, 0);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static void test_matmul_errors(void)
{
    nb_scope_begin();
    nb_tensor *a43 = nb_ones(NB_SHAPE(4, 3), NB_OPTS());
    nb_tensor *a22 = nb_ones(NB_SHAPE(2, 2), NB_OPTS());
    nb_tensor *s   = nb_scalar(2, NB_OPTS());
    nb_tensor *d   = nb_ones(NB_SHAPE(3, 2), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *flag = nb_ones(NB_SHAPE(3, 2), NB_OPTS(.dtype = NB_BOOL));
    nb_tensor *v3 = nb_ones(NB_SHAPE(3), NB_OPTS()), *v4 = nb_ones(NB_SHAPE(4), NB_OPTS());

    NBT_CHECK(nb_matmul(a43, a22) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_matmul: shapes [4, 3] and [2, 2] cannot be multiplied (3 != 2)");
    NBT_CHECK(nb_matmul(v3, v4) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_matmul: shapes [3] and [4] cannot be multiplied (3 != 4)");
    NBT_CHECK(nb_matmul(a43, v4) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "shapes [4, 3] and [4] cannot be multiplied (3 != 4)");
    NBT_CHECK(nb_matmul(s, a43) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "both arguments to matmul need to be at least 1D, but they are 0D and 2D");
    NBT_CHECK(nb_matmul(v3, s) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "but they are 1D and 0D");
    NBT_CHECK(nb_matmul(a43, d) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_matmul: expected both float32, got float32 and float64");
    NBT_CHECK(nb_matmul(a43, flag) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_matmul: bool tensors cannot be multiplied (b is bool)");
    NBT_CHECK(nb_matmul(nb_ones(NB_SHAPE(2, 3, 4), NB_OPTS()), nb_ones(NB_SHAPE(3, 4, 5), NB_OPTS())) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_matmul: shapes [2, 3, 4] and [3, 4, 5] cannot be multiplied (their batch dims do not broadcast)");

    /* NULL arguments: NULL out, and the first error survives. */
    NBT_CHECK(nb_matmul(NULL, a43) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_matmul: argument 'a' is NULL");
    NBT_CHECK(nb_matmul(a43, a22) == NULL);
    NBT_CHECK(nb_matmul(NULL, NULL) == NULL);
    NBT_CHECK(nb_mm(NULL, a22) == NULL);
    NBT_CHECK(nb_bmm(a22, NULL) == NULL);
    NBT_CHECK(nb_dot(NULL, v3) == NULL);
    NBT_CHECK(nb_outer(v3, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_matmul: shapes [4, 3] and [2, 2]");

    /* The strict forms. */
    NBT_CHECK(nb_mm(v3, a43) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_mm: a must be 2-D, got shape [3]");
    NBT_CHECK(nb_mm(a43, a22) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_mm: shapes [4, 3] and [2, 2] cannot be multiplied (3 != 2)");
    NBT_CHECK(nb_mm(a43, d) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_mm: expected both float32, got float32 and float64");
    NBT_CHECK(nb_bmm(a43, a22) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_bmm: a must be 3-D, got shape [4, 3]");
    NBT_CHECK(nb_bmm(nb_ones(NB_SHAPE(2, 3, 4), NB_OPTS()), nb_ones(NB_SHAPE(3, 4, 2), NB_OPTS())) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_bmm: batch sizes differ (2 != 3)");
    NBT_CHECK(nb_bmm(nb_ones(NB_SHAPE(2, 3, 4), NB_OPTS()), nb_ones(NB_SHAPE(2, 3, 4), NB_OPTS())) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_bmm: shapes [2, 3, 4] and [2, 3, 4] cannot be multiplied (4 != 3)");
    NBT_CHECK(nb_bmm(nb_ones(NB_SHAPE(1, 3, 4), NB_OPTS()), nb_ones(NB_SHAPE(3, 4), NB_OPTS())) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_bmm: b must be 3-D, got shape [3, 4]");
    NBT_CHECK(nb_dot(v3, v4) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_dot: shapes [3] and [4] cannot be multiplied (3 != 4)");
    NBT_CHECK(nb_dot(a22, v3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_dot: a must be 1-D, got shape [2, 2]");
    NBT_CHECK(nb_dot(v3, nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64))) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_dot: expected both float32, got float32 and int64");
    NBT_CHECK(nb_outer(a22, v3) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_outer: a must be 1-D, got shape [2, 2]");
    NBT_CHECK(nb_outer(v3, s) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_outer: b must be 1-D, got shape []");
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* nb_outer                                                                  */
/* ------------------------------------------------------------------------ */

static void test_outer(void)
{
    nb_scope_begin();
    const float  a[] = { 1, 2, -3 };
    const double b[] = { 0.5, 4 };
    nb_tensor   *ta  = nb_from_data(a, NB_SHAPE(3), NB_OPTS());
    nb_tensor   *tb  = nb_from_data(b, NB_SHAPE(2), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor   *o   = nb_outer(ta, tb); /* float32 x float64 -> float64, as torch.outer */
    NBT_CHECK_TENSOR(o, NB_SHAPE(3, 2), 0, 0.5, 4, 1, 8, -1.5, -12);
    NBT_CHECK(nb_dtype_of(o) == NB_FLOAT64);
    NBT_CHECK_TENSOR(nb_outer(nb_slice(ta, 0, 0, NB_END, 2), ta), NB_SHAPE(2, 3), 0, 1, 2, -3, -3, -6, 9);
    const uint8_t flags[] = { 1, 0 };
    nb_tensor    *f       = nb_from_data(flags, NB_SHAPE(2), NB_OPTS(.dtype = NB_BOOL));
    nb_tensor    *ff      = nb_outer(f, f);
    NBT_CHECK_TENSOR(ff, NB_SHAPE(2, 2), 0, 1, 0, 0, 0);
    NBT_CHECK(nb_dtype_of(ff) == NB_BOOL);
    NBT_CHECK_TENSOR(nb_outer(nb_ones(NB_SHAPE(0), NB_OPTS()), ta), NB_SHAPE(0, 3), 0, 0);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* GEMM kernels against the reference                                        */
/* ------------------------------------------------------------------------ */

typedef nb_status (*gemm_f32_fn)(int variant, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                                 const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                                 int64_t ldc);

/* variant >= 0: that fallback variant; -1: nbi_gemm_* (OpenBLAS or the
 * best fallback); -2: nbi_gemm_fallback_* (the best variant); -3: the
 * direct float32 kernels (float64 then runs the fallback). */
enum { VIA_LIBRARY = -1, VIA_FALLBACK = -2, VIA_DIRECT = -3 };

static nb_status run_f32(int variant, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                         int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    if (variant == VIA_DIRECT) return nbi_gemm_direct_f32(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (variant == -1) return nbi_gemm_f32(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (variant == -2) return nbi_gemm_fallback_f32(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return nbi_gemm_fallback_variant_f32(variant, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static nb_status run_f64(int variant, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                         const double *a, int64_t lda, const double *b, int64_t ldb, double beta, double *c,
                         int64_t ldc)
{
    if (variant == -1) return nbi_gemm_f64(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (variant == -2 || variant == VIA_DIRECT) return nbi_gemm_fallback_f64(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return nbi_gemm_fallback_variant_f64(variant, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* One product C = alpha op(A) op(B) + beta C with padded leading dims (pad
 * extra columns that must stay untouched), in both types; beta == 0 starts
 * C as NaN, which must not leak through. True when it matches the reference. */
static int gemm_case(int variant, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, double beta,
                     int64_t pad)
{
    int64_t a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
    int64_t lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
    int64_t na = a_rows * lda + 1, nb = b_rows * ldb + 1, nc = m * ldc + 1;
    float  *a32 = malloc((size_t)na * sizeof(float)), *b32 = malloc((size_t)nb * sizeof(float));
    float  *c32 = malloc((size_t)nc * sizeof(float)), *r32 = malloc((size_t)nc * sizeof(float));
    double *a64 = malloc((size_t)na * sizeof(double)), *b64 = malloc((size_t)nb * sizeof(double));
    double *c64 = malloc((size_t)nc * sizeof(double)), *r64 = malloc((size_t)nc * sizeof(double));
    fill_f32(a32, na, (uint32_t)(m * 7 + k));
    fill_f32(b32, nb, (uint32_t)(n * 5 + k));
    fill_f32(c32, nc, 99);
    fill_f64(a64, na, (uint32_t)(m * 7 + k));
    fill_f64(b64, nb, (uint32_t)(n * 5 + k));
    fill_f64(c64, nc, 99);
    for (int64_t i = 0; i < nc; i++) {
        if (beta == 0 && i < m * ldc && i % ldc < n) c32[i] = NAN, c64[i] = NAN;
        r32[i] = c32[i];
        r64[i] = c64[i];
    }
    int ok = run_f32(variant, ta, tb, m, n, k, (float)alpha, a32, lda, b32, ldb, (float)beta, c32, ldc) == NB_OK
             && run_f64(variant, ta, tb, m, n, k, alpha, a64, lda, b64, ldb, beta, c64, ldc) == NB_OK;
    nbi_gemm_reference_f32(ta, tb, m, n, k, (float)alpha, a32, lda, b32, ldb, (float)beta, r32, ldc);
    nbi_gemm_reference_f64(ta, tb, m, n, k, alpha, a64, lda, b64, ldb, beta, r64, ldc);
    for (int64_t i = 0; ok && i < nc; i++) {
        /* Inputs are exact in float; alpha and beta add at most one rounding. */
        if (!nbt_near(c32[i], r32[i], 1e-6 * (1 + fabs(r32[i]))) || !nbt_near(c64[i], r64[i], 1e-12 * (1 + fabs(r64[i])))) {
            fprintf(stderr, "  variant %d %c%c m=%lld n=%lld k=%lld alpha=%g beta=%g pad=%lld: C[%lld] = %g / %g, expected %g / %g\n",
                    variant, ta ? 'T' : 'N', tb ? 'T' : 'N', (long long)m, (long long)n, (long long)k, alpha, beta,
                    (long long)pad, (long long)i, c32[i], c64[i], r32[i], r64[i]);
            ok = 0;
        }
    }
    free(a32), free(b32), free(c32), free(r32), free(a64), free(b64), free(c64), free(r64);
    return ok;
}

#define CHECK_GEMM(...)                                                                             \
    do {                                                                                            \
        nbt_checks++;                                                                               \
        if (!gemm_case(__VA_ARGS__)) {                                                              \
            nbt_failures++;                                                                         \
            fprintf(stderr, "%s:%d: gemm_case(%s) differs from the reference\n", __FILE__, __LINE__, #__VA_ARGS__); \
        }                                                                                           \
    } while (0)

/* Odd sizes through every transpose and alpha/beta for one kernel. */
static void check_kernel(int variant)
{
    static const int64_t sizes[][3] = { { 1, 1, 1 }, { 7, 13, 5 }, { 65, 33, 129 }, { 2, 3, 1 }, { 13, 40, 17 } };
    for (int s = 0; s < 5; s++)
        for (int t = 0; t < 4; t++) {
            int64_t m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
            CHECK_GEMM(variant, t & 1, t & 2, m, n, k, 1.0, 0.0, 0);
            CHECK_GEMM(variant, t & 1, t & 2, m, n, k, 1.5, 0.5, 3);
            CHECK_GEMM(variant, t & 1, t & 2, n, m, k, -0.5, 1.0, 1);
        }
    /* Matrix-vector shapes. */
    for (int t = 0; t < 4; t++) {
        CHECK_GEMM(variant, t & 1, t & 2, 37, 1, 23, 1.0, 0.0, 2);
        CHECK_GEMM(variant, t & 1, t & 2, 1, 300, 23, 2.0, 0.25, 0);
        CHECK_GEMM(variant, t & 1, t & 2, 1, 1, 50, 1.0, 1.0, 0);
    }
    /* Several kc blocks, row blocks and (with threads) tasks. */
    CHECK_GEMM(variant, false, false, 60, 50, 400, 1.0, 0.0, 0);
    CHECK_GEMM(variant, true, true, 40, 70, 300, 0.5, -1.0, 5);
    /* Degenerate: k = 0 scales C, alpha = 0 too, m = 0 does nothing. */
    CHECK_GEMM(variant, false, false, 5, 6, 0, 1.0, 0.5, 0);
    CHECK_GEMM(variant, false, true, 5, 6, 0, 1.0, 0.0, 0);
    CHECK_GEMM(variant, true, false, 5, 6, 4, 0.0, 2.0, 0);
    CHECK_GEMM(variant, false, false, 0, 6, 4, 1.0, 0.0, 0);
}

static void test_gemm_fallback_variants(void)
{
    int count = nbi_gemm_fallback_variant_count();
    NBT_CHECK(count >= 1 && strcmp(nbi_gemm_fallback_variant_name(0), "baseline") == 0);
    NBT_CHECK(nbi_gemm_fallback_variant_name(count) == NULL);
    NBT_CHECK(strcmp(nbi_gemm_fallback_isa(), nbi_gemm_fallback_variant_name(count - 1)) == 0);
    for (int v = 0; v < count; v++) check_kernel(v);
    check_kernel(-2);
    /* A panel wider than nc (4096 columns) and a tall thin product. */
    CHECK_GEMM(-2, false, false, 9, 4200, 3, 1.0, 0.0, 0);
    CHECK_GEMM(-2, true, false, 1000, 5, 20, 1.0, 0.0, 0);
    float a = 1;
    NBT_CHECK(nbi_gemm_fallback_variant_f32(count, false, false, 1, 1, 1, 1, &a, 1, &a, 1, 0, &a, 1) == NB_ERR_ARG);
}

/* The direct kernels: every edge of their 4 x 4 (dot) and 12 x 32 (outer)
 * tiles and of k's 16-lane steps, padded leading dims, alpha and beta, the
 * row blocks of the dot form and the column blocks of the outer form, and
 * the layouts they refuse. */
static void check_direct(void)
{
    static const int64_t ms[] = { 1, 3, 4, 5, 12, 13, 25 }, ns[] = { 1, 15, 16, 17, 33, 70 }, ks[] = { 1, 15, 16, 17, 64 };
    static const bool    layouts[][2] = { { false, true }, { true, false }, { false, false } };
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 6; j++)
                for (int p = 0; p < 5; p++) {
                    bool ta = layouts[l][0], tb = layouts[l][1];
                    CHECK_GEMM(VIA_DIRECT, ta, tb, ms[i], ns[j], ks[p], 1.0, 0.0, (i + j) % 3);
                    if ((i + j + p) % 4 == 0) CHECK_GEMM(VIA_DIRECT, ta, tb, ms[i], ns[j], ks[p], -1.5, 0.5, 2);
                }
    CHECK_GEMM(VIA_DIRECT, false, true, 130, 21, 1000, 1.0, 0.0, 1); /* three row blocks of 64 */
    CHECK_GEMM(VIA_DIRECT, true, false, 14, 1100, 512, 0.5, 1.0, 0); /* three column blocks of 512 */
    CHECK_GEMM(VIA_DIRECT, false, false, 30, 40, 300, 2.0, -1.0, 3);
    CHECK_GEMM(VIA_DIRECT, false, true, 5, 6, 0, 1.0, 0.5, 0); /* k = 0 and alpha = 0 scale C */
    CHECK_GEMM(VIA_DIRECT, true, false, 5, 6, 4, 0.0, 2.0, 0);
    float x = 1;
    NBT_CHECK(nbi_gemm_direct_f32(true, true, 1, 1, 1, 1, &x, 1, &x, 1, 0, &x, 1) == NB_ERR_ARG);
    NBT_CHECK(nbi_gemm_direct_f32(true, false, 1, 1, NBI_GEMM_OUTER_MAX_K + 1, 1, &x, 1, &x, 1, 0, &x, 1) ==
              NB_ERR_ARG);
}

static void test_gemm_direct(void)
{
    if (!nbi_gemm_direct_available()) {
        float x = 1;
        NBT_CHECK(nbi_gemm_direct_f32(false, true, 1, 1, 1, 1, &x, 1, &x, 1, 0, &x, 1) == NB_ERR_ARG);
        printf("  direct GEMM kernels: not on this CPU (no AVX-512), refused as they should be\n");
        return;
    }
    int saved = nb_get_num_threads();
    check_direct();
    if (nb_set_num_threads(2) == NB_OK) check_direct();
    nb_clear_error();
    nb_set_num_threads(saved);
}

static void test_gemm_library_backend(void)
{
    const char *backend = nb_gemm_backend();
    NBT_CHECK(strcmp(backend, "openblas") == 0 || strcmp(backend, "fallback") == 0);
    check_kernel(-1);
    /* Shapes that nbi_gemm_f32 hands to the direct kernels on AVX-512 CPUs:
     * a linear layer's forward (long k) and its weight gradient (short k). */
    CHECK_GEMM(-1, false, true, 37, 45, 600, 1.0, 0.0, 1);
    CHECK_GEMM(-1, true, false, 50, 70, 64, 1.0, 0.0, 0);
    /* With two threads (where the build has them). */
    int saved = nb_get_num_threads();
    if (nb_set_num_threads(2) == NB_OK) {
        check_kernel(-1);
        check_kernel(-2);
    }
    nb_clear_error();
    nb_set_num_threads(saved);
}

/* The bfloat16 GEMM against double sums of the same bfloat16 values, over
 * shapes that cut every block (k past 256, odd k, edges of the 12 x 32
 * tile), at one and two threads; the two agree to the bit. */
static void check_bf16(int64_t m, int64_t n, int64_t k)
{
    uint16_t *a = malloc((size_t)(m * k + 1) * 2), *b = malloc((size_t)(k * n + 1) * 2);
    float    *c = malloc((size_t)(m * n + 1) * sizeof *c), *c2 = malloc((size_t)(m * n + 1) * sizeof *c2);
    for (int64_t i = 0; i < m * k; i++) a[i] = (uint16_t)(0x3f80 + (i * 37 % 200) - 100 + (i % 3 == 0 ? 0x8000 : 0));
    for (int64_t i = 0; i < k * n; i++) b[i] = (uint16_t)(0x3f00 + (i * 53 % 300) - 150);
    NBT_CHECK(nbi_gemm_bf16(false, false, m, n, k, a, k, b, n, c, n) == NB_OK);
    double worst = 0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double sum = 0, size = 0;
            for (int64_t p = 0; p < k; p++) {
                uint32_t x = (uint32_t)a[i * k + p] << 16, y = (uint32_t)b[p * n + j] << 16;
                float    fx, fy;
                memcpy(&fx, &x, 4);
                memcpy(&fy, &y, 4);
                sum += (double)fx * fy;
                size += fabs((double)fx * fy);
            }
            double error = fabs(c[i * n + j] - sum) / (size + 1e-30);
            if (error > worst) worst = error;
        }
    NBT_CHECK(worst < 1e-5); /* float32 sums of k terms, relative to the terms' size */
    int saved = nb_get_num_threads();
    if (nb_set_num_threads(2) == NB_OK) {
        NBT_CHECK(nbi_gemm_bf16(false, false, m, n, k, a, k, b, n, c2, n) == NB_OK);
        NBT_CHECK(memcmp(c, c2, (size_t)(m * n) * sizeof *c) == 0);
    }
    nb_clear_error();
    nb_set_num_threads(saved);
    free(a);
    free(b);
    free(c);
    free(c2);
}

static void test_gemm_bf16(void)
{
    if (!nbi_gemm_bf16_available()) {
        printf("  bfloat16 GEMM: not on this CPU (no AVX-512 BF16)\n");
        return;
    }
    const int64_t shapes[][3] = { { 1, 1, 1 }, { 12, 32, 2 }, { 13, 33, 3 }, { 25, 70, 257 }, { 100, 65, 600 },
                                  { 37, 5, 513 }, { 200, 300, 64 }, { 7, 7, 0 } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) check_bf16(shapes[s][0], shapes[s][1], shapes[s][2]);
    /* nb_matmul of bfloat16 tensors takes the kernel past 2^21 multiply-adds,
     * transposed operands included: within a bfloat16 rounding of the
     * float32 product of the same values (the sums' order differs). */
    for (int layout = 0; layout < 4; layout++) {
        nb_scope_begin();
        nb_tensor *a = nb_randn(layout & 1 ? NB_SHAPE(300, 200) : NB_SHAPE(200, 300), NB_OPTS(.dtype = NB_BFLOAT16));
        nb_tensor *b = nb_randn(layout & 2 ? NB_SHAPE(100, 300) : NB_SHAPE(300, 100), NB_OPTS(.dtype = NB_BFLOAT16));
        if (layout & 1) a = nb_transpose(a, 0, 1);
        if (layout & 2) b = nb_transpose(b, 0, 1);
        nb_tensor *got  = nb_matmul(a, b);
        nb_tensor *want = nb_matmul(nb_to_dtype(a, NB_FLOAT32), nb_to_dtype(b, NB_FLOAT32));
        NBT_CHECK(got != NULL && nb_dtype_of(got) == NB_BFLOAT16);
        nb_tensor *error = nb_div(nb_abs(nb_sub(nb_to_dtype(got, NB_FLOAT32), want)), nb_add_scalar(nb_abs(want), 1));
        NBT_CHECK(nb_item(nb_max(error)) < 1.0 / 128); /* bfloat16 keeps 8 significant bits */
        nb_scope_end();
    }
}

int main(void)
{
    NBT_RUN(test_matmul_2d_hand_values);
    NBT_RUN(test_matmul_1d_operands);
    NBT_RUN(test_matmul_batched_and_broadcast);
    NBT_RUN(test_matmul_transposed_and_sliced);
    NBT_RUN(test_matmul_empty);
    NBT_RUN(test_matmul_integer_wraps);
    NBT_RUN(test_matmul_threads_agree);
    NBT_RUN(test_matmul_errors);
    NBT_RUN(test_outer);
    NBT_RUN(test_gemm_fallback_variants);
    NBT_RUN(test_gemm_direct);
    NBT_RUN(test_gemm_library_backend);
    NBT_RUN(test_gemm_bf16);
    printf("gemm backend: %s, fallback kernel: %s\n", nb_gemm_backend(), nbi_gemm_fallback_isa());
    return nbt_finish();
}
