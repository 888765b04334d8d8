/*
 * test_pool.c — nb_max_pool2d (values and indices), nb_avg_pool2d,
 * nb_adaptive_avg_pool2d and nb_pad: values against PyTorch
 * (tests/data/conv_fixtures.h) in float32 and float64, contiguous and
 * non-contiguous; NaN and -inf windows; gradients and second derivatives;
 * threads; empty sizes; and every error a caller can cause.
 */
#include "nb_test.h"

#include "cpu/pool_kernels.h"
#include "data/conv_fixtures.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* values as dtype; strided: the same values seen through a transposed view
 * of the last two dims (non-contiguous). */
static nb_tensor *tensor_of(const double *values, int ndim, const int64_t *dims, nb_dtype dtype, bool strided)
{
    nb_tensor *t = nbt_tensor(nbt_shape(ndim, dims), dtype, values);
    if (!strided || ndim < 2) return t;
    return nb_transpose(nb_contiguous(nb_transpose(t, -1, -2)), -1, -2);
}

static nb_pool_opts pool_opts_of(const conv_fixture *f)
{
    return NB_POOL_OPTS(.kernel = {f->kernel[0], f->kernel[1]}, .stride = {f->stride[0], f->stride[1]},
                        .padding = {f->padding[0], f->padding[1]}, .dilation = {f->dilation[0], f->dilation[1]},
                        .ceil_mode = f->ceil_mode, .exclude_pad_from_avg = f->exclude_pad);
}

/* ------------------------------------------------------------------------ */
/* Values against PyTorch                                                    */
/* ------------------------------------------------------------------------ */

static void test_pool_fixtures(void)
{
    const nb_dtype dtypes[2] = {NB_FLOAT64, NB_FLOAT32};
    int            seen      = 0;
    for (int c = 0; c < conv_fixture_count; c++) {
        const conv_fixture *f = &conv_fixtures[c];
        if (strstr(f->op, "pool") == NULL && strcmp(f->op, "pad") != 0) continue;
        seen++;
        for (int k = 0; k < 2; k++)
            for (int strided = 0; strided < 2; strided++) {
                nb_scope_begin();
                nb_tensor *x       = tensor_of(f->x, f->x_ndim, f->x_shape, dtypes[k], strided);
                nb_tensor *indices = NULL, *y = NULL;
                if (strcmp(f->op, "max_pool2d") == 0)
                    y = nb_max_pool2d(x, pool_opts_of(f), &indices);
                else if (strcmp(f->op, "avg_pool2d") == 0)
                    y = nb_avg_pool2d(x, pool_opts_of(f));
                else if (strcmp(f->op, "adaptive_avg_pool2d") == 0)
                    y = nb_adaptive_avg_pool2d(x, f->out_size[0], f->out_size[1]);
                else
                    y = nb_pad(x, f->pads, f->npads, f->value);
                double tol = dtypes[k] == NB_FLOAT64 ? 1e-12 : 1e-6;
                nbt_checks++;
                if (!nbt_tensor_close(y, nbt_shape(f->y_ndim, f->y_shape), f->y, tol, tol)) {
                    nbt_failures++;
                    fprintf(stderr, "  %s fixture %d (%s, %s) differs\n", f->op, c, nb_dtype_name(dtypes[k]),
                            strided ? "strided" : "contiguous");
                }
                if (f->indices) {
                    NBT_CHECK(indices && nb_dtype_of(indices) == NB_INT64);
                    nbt_checks++;
                    if (!nbt_tensor_close(indices, nbt_shape(f->y_ndim, f->y_shape), f->indices, 0, 0)) {
                        nbt_failures++;
                        fprintf(stderr, "  max_pool2d fixture %d indices differ\n", c);
                    }
                }
                nb_scope_end(); /* frees indices too: it was made in this scope */
            }
    }
    NBT_CHECK(seen == 23);
}

/* Integer and bool tensors pad too, with the value converted as torch does. */
static void test_pad_dtypes(void)
{
    nb_scope_begin();
    int64_t    pads[2] = {1, 2};
    nb_tensor *i       = nb_arange(0, 3, 1, NB_OPTS(.dtype = NB_INT64));
    NBT_CHECK_TENSOR(nb_pad(i, pads, 2, 2.7), NB_SHAPE(6), 0, 2, 0, 1, 2, 2, 2);
    NBT_CHECK_TENSOR(nb_pad(nb_to_dtype(i, NB_UINT8), pads, 2, 255), NB_SHAPE(6), 0, 255, 0, 1, 2, 255, 255);
    NBT_CHECK_TENSOR(nb_pad(nb_to_dtype(i, NB_BOOL), pads, 2, 2), NB_SHAPE(6), 0, 1, 0, 1, 1, 1, 1);
    NBT_CHECK(nb_dtype_of(nb_pad(i, pads, 2, 0)) == NB_INT64);
    /* A 0-d tensor with no pads is copied; pads cropping everything leave an empty dim. */
    nb_tensor *s = nb_scalar(4, NB_OPTS());
    NBT_CHECK_TENSOR(nb_pad(s, NULL, 0, 0), NB_SCALAR_SHAPE, 0, 4);
    int64_t    crop[4] = {-3, 0, 0, 0};
    nb_tensor *e       = nb_pad(nb_ones(NB_SHAPE(2, 3), NB_OPTS()), crop, 4, 0);
    NBT_CHECK(e && nb_size(e, 0) == 2 && nb_size(e, 1) == 0);
    /* Padding an empty dim fills the new positions. */
    int64_t grow[4] = {0, 0, 1, 1};
    NBT_CHECK_TENSOR(nb_pad(nb_ones(NB_SHAPE(0, 2), NB_OPTS()), grow, 4, 7), NB_SHAPE(2, 2), 0, 7, 7, 7, 7);
    nb_scope_end();
}

/* NaN wins a window (the last NaN's position), an all -inf window gives
 * -inf at its first position; padding never wins. */
static void test_max_pool_nan_and_inf(void)
{
    nb_scope_begin();
    double     v[8] = {1, NAN, 3, NAN, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    nb_tensor *x    = nb_from_data(v, NB_SHAPE(1, 2, 4), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *idx  = NULL;
    nb_tensor *y    = nb_max_pool2d(x, NB_POOL_OPTS(.kernel = {2, 4}), &idx);
    NBT_CHECK_TENSOR(y, NB_SHAPE(1, 1, 1), 0, NAN);
    NBT_CHECK_TENSOR(idx, NB_SHAPE(1, 1, 1), 0, 3);
    nb_free(idx);
    nb_tensor *z = nb_max_pool2d(nb_narrow(x, 1, 1, 1), NB_POOL_OPTS(.kernel = {1, 2}, .padding = {0, 1}), &idx);
    NBT_CHECK_TENSOR(z, NB_SHAPE(1, 1, 3), 0, -INFINITY, -INFINITY, -INFINITY);
    NBT_CHECK_TENSOR(idx, NB_SHAPE(1, 1, 3), 0, 0, 1, 3);
    nb_free(idx);
    nb_scope_end();
}

/* The fast kernels (the 2x2 path splits the scan and breaks ties by
 * position) agree with torch's loop on data full of ties, NaNs and -inf,
 * in float64 and float32. */
static void test_max_pool_kernel_matches_reference(void)
{
    const nbi_max_pool_shape shapes[] = {
        {.planes     = 3,
         .height     = 6,
         .width      = 8,
         .out_h      = 3,
         .out_w      = 4,
         .kernel_h   = 2,
         .kernel_w   = 2,
         .stride_h   = 2,
         .stride_w   = 2,
         .dilation_h = 1,
         .dilation_w = 1},
        {.planes     = 2,
         .height     = 7,
         .width      = 5,
         .out_h      = 3,
         .out_w      = 2,
         .kernel_h   = 2,
         .kernel_w   = 2,
         .stride_h   = 2,
         .stride_w   = 2,
         .dilation_h = 1,
         .dilation_w = 1},
        {.planes     = 2,
         .height     = 6,
         .width      = 7,
         .out_h      = 4,
         .out_w      = 4,
         .kernel_h   = 3,
         .kernel_w   = 2,
         .stride_h   = 2,
         .stride_w   = 2,
         .pad_h      = 1,
         .pad_w      = 1,
         .dilation_h = 1,
         .dilation_w = 2},
    };
    const double values[] = {0, 1, 1, 2, 2, NAN, -INFINITY, 2, 1, 0, NAN, 1, -INFINITY, -INFINITY, 2, NAN, 1};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const nbi_max_pool_shape *s = &shapes[i];
        int64_t                   n = s->planes * s->height * s->width, m = s->planes * s->out_h * s->out_w;
        double                   *x = malloc((size_t)n * sizeof(double)), *y = malloc((size_t)m * sizeof(double));
        double                   *ref = malloc((size_t)m * sizeof(double));
        float                    *x32 = malloc((size_t)n * sizeof(float)), *y32 = malloc((size_t)m * sizeof(float));
        int64_t                  *at = malloc((size_t)m * sizeof(int64_t)), *at32 = malloc((size_t)m * sizeof(int64_t));
        int64_t                  *ref_at = malloc((size_t)m * sizeof(int64_t));
        uint32_t                  state  = 12345;
        for (int64_t k = 0; k < n; k++) {
            state  = state * 1664525u + 1013904223u;
            x32[k] = (float)(x[k] = values[(state >> 16) % 17]);
        }
        nbi_max_pool2d_reference_f64(s, x, ref, ref_at);
        NBT_CHECK(nbi_max_pool2d(NB_FLOAT64, s, x, y, at) == NB_OK);
        NBT_CHECK(nbi_max_pool2d(NB_FLOAT32, s, x32, y32, at32) == NB_OK);
        bool same = true;
        for (int64_t k = 0; k < m; k++)
            same = same && at[k] == ref_at[k] && at32[k] == ref_at[k] && nbt_near(y[k], ref[k], 0) &&
                   nbt_near(y32[k], ref[k], 0);
        NBT_CHECK(same);
        free(x), free(y), free(ref), free(x32), free(y32), free(at), free(at32), free(ref_at);
    }
}

/* Overlapping windows send a shared maximum's gradient twice; an avg
 * window's gradient is shared by its pixels. */
static void test_pool_backward_by_hand(void)
{
    nb_scope_begin();
    double     v[9] = {1, 2, 3, 4, 9, 5, 6, 7, 8};
    nb_tensor *x    = nb_from_data(v, NB_SHAPE(1, 3, 3), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *y    = nb_max_pool2d(x, NB_POOL_OPTS(.kernel = {2, 2}, .stride = {1, 1}), NULL);
    NBT_CHECK(y && strcmp(nb_grad_fn_name(y), "MaxPool2DWithIndicesBackward0") == 0);
    NBT_CHECK(nb_backward(nb_sum(y)) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(1, 3, 3), 0, 0, 0, 0, 0, 4, 0, 0, 0, 0);
    nb_zero_grad(&x, 1);
    nb_tensor *a = nb_avg_pool2d(x, NB_POOL_OPTS(.kernel = {2, 2}, .stride = {1, 1}));
    NBT_CHECK(nb_backward(nb_sum(a)) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(1, 3, 3), 1e-7, 0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25);
    nb_scope_end();
}

/* A window that covers padding only (kernel 2 dilated by 2 over one row
 * padded by 1) has the maximum -inf and, as in torch 1.13, an index past
 * its plane (here 4, 3, 4 in a plane of 3). Its gradient is dropped: the
 * -inf depends on no input. (torch 1.13's CPU kernel adds it into the next
 * plane, [2, 4, 0] here, and past the tensor for the last plane; nabla's
 * once did the same.) */
static void test_max_pool_window_over_padding_only(void)
{
    nb_scope_begin();
    nb_tensor *x = nb_from_data((double[]){ 1, 2, 3, 4, 5, 6 }, NB_SHAPE(1, 2, 1, 3),
                                NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *indices = NULL;
    nb_tensor *y = nb_max_pool2d(x, NB_POOL_OPTS(.kernel = { 2, 2 }, .stride = { 1, 1 }, .padding = { 1, 1 },
                                                 .dilation = { 2, 2 }), &indices);
    NBT_CHECK_TENSOR(y, NB_SHAPE(1, 2, 1, 3), 0, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY);
    NBT_CHECK(indices != NULL && nb_item_int64(nb_select(nb_flatten(indices, 0, -1), 0, 0)) == 4);
    nb_tensor *weights = nb_arange(1, 7, 1, NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_backward(nb_sum(nb_mul(nb_flatten(y, 0, -1), weights))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(1, 2, 1, 3), 0, 0, 0, 0, 0, 0, 0);
    nb_free(indices);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Gradients                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char  *name;
    int          kind; /* 0 max, 1 avg, 2 adaptive, 3 pad */
    nb_shape     x;
    nb_pool_opts opts;
    int64_t      out[2];
    int64_t      pads[6];
    int          npads;
} pool_case;

static nb_tensor *pool_fn(nb_tensor *const *in, int count, void *user)
{
    (void)count;
    const pool_case *c = user;
    switch (c->kind) {
    case 0:
        return nb_max_pool2d(in[0], c->opts, NULL);
    case 1:
        return nb_avg_pool2d(in[0], c->opts);
    case 2:
        return nb_adaptive_avg_pool2d(in[0], c->out[0], c->out[1]);
    default:
        return nb_pad(in[0], c->pads, c->npads, 1.5);
    }
}

/* 0, 0.01, ... in a random order: distinct values, so no two maxima tie
 * within gradcheck's eps. */
static nb_tensor *distinct_values(nb_shape shape)
{
    int64_t n = 1;
    for (int d = 0; d < shape.ndim; d++)
        n *= shape.dims[d];
    nb_tensor *order = NULL;
    nb_sort(nb_rand(NB_SHAPE(n), NB_OPTS()), 0, false, &order);
    return nb_reshape(nb_mul_scalar(nb_to_dtype(order, NB_FLOAT64), 0.01), shape);
}

static void test_pool_gradients(void)
{
    const pool_case cases[] = {
        {.name = "max_pool2d", .kind = 0, .x = NB_SHAPE(2, 2, 4, 5), .opts = NB_POOL_OPTS(.kernel = {2, 2})},
        {.name = "max_pool2d overlapping, padded, dilated, ceil",
         .kind = 0,
         .x    = NB_SHAPE(1, 2, 5, 5),
         .opts = NB_POOL_OPTS(.kernel = {3, 2}, .stride = {2, 1}, .padding = {1, 1}, .dilation = {1, 2},
                              .ceil_mode = true)},
        {.name = "max_pool2d unbatched",
         .kind = 0,
         .x    = NB_SHAPE(2, 3, 4),
         .opts = NB_POOL_OPTS(.kernel = {3, 3}, .stride = {1, 1})},
        {.name = "avg_pool2d", .kind = 1, .x = NB_SHAPE(2, 2, 4, 4), .opts = NB_POOL_OPTS(.kernel = {2, 2})},
        {.name = "avg_pool2d padded ceil",
         .kind = 1,
         .x    = NB_SHAPE(1, 2, 5, 5),
         .opts = NB_POOL_OPTS(.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true)},
        {.name = "avg_pool2d excluding padding",
         .kind = 1,
         .x    = NB_SHAPE(3, 4, 5),
         .opts = NB_POOL_OPTS(.kernel = {2, 3}, .stride = {1, 2}, .padding = {1, 1}, .exclude_pad_from_avg = true)},
        {.name = "adaptive_avg_pool2d shrink", .kind = 2, .x = NB_SHAPE(1, 2, 5, 7), .out = {3, 4}},
        {.name = "adaptive_avg_pool2d grow", .kind = 2, .x = NB_SHAPE(2, 3, 2), .out = {3, 5}},
        {.name = "pad", .kind = 3, .x = NB_SHAPE(2, 3, 4), .pads = {1, 2, 0, 1}, .npads = 4},
        {.name = "pad cropping", .kind = 3, .x = NB_SHAPE(2, 3, 4), .pads = {-1, 2, 1, -2, 1, 0}, .npads = 6},
    };
    nb_manual_seed(8);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const pool_case *c = &cases[i];
        nb_scope_begin();
        nb_tensor *x = nb_detach(distinct_values(c->x));
        nb_requires_grad_(x, true);
        nbt_gradcheck(c->name, pool_fn, &x, 1, (void *)c, 2);
        nb_scope_end();
    }
}

/* ------------------------------------------------------------------------ */
/* Threads and empty sizes                                                   */
/* ------------------------------------------------------------------------ */

/* Planes spread over two threads give exactly one thread's values. */
static void test_pool_threads(void)
{
    int threads = nb_get_num_threads();
    nb_manual_seed(9);
    nb_scope_begin();
    nb_tensor *x = nb_randn(NB_SHAPE(16, 8, 24, 24), NB_OPTS(.requires_grad = true));
    nb_tensor *results[2][4];
    for (int run = 0; run < 2; run++) {
        nb_set_num_threads(run + 1);
        nb_tensor *m = nb_max_pool2d(x, NB_POOL_OPTS(.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}), NULL);
        nb_tensor *a = nb_avg_pool2d(x, NB_POOL_OPTS(.kernel = {2, 2}));
        nb_tensor *d = nb_adaptive_avg_pool2d(x, 5, 7);
        NBT_CHECK(nb_backward(nb_add(nb_add(nb_sum(nb_mul(m, m)), nb_sum(nb_mul(a, a))), nb_sum(nb_mul(d, d)))) ==
                  NB_OK);
        results[run][0] = m, results[run][1] = a, results[run][2] = d;
        results[run][3] = nb_clone(nb_grad(x));
        nb_zero_grad(&x, 1);
    }
    nb_set_num_threads(threads);
    for (int i = 0; i < 4; i++)
        NBT_CHECK(nb_item(nb_all(nb_eq(results[0][i], results[1][i]))) == 1);
    nb_scope_end();
}

static void test_pool_empty(void)
{
    nb_scope_begin();
    nb_tensor *x       = nb_zeros(NB_SHAPE(0, 3, 4, 4), NB_OPTS(.requires_grad = true));
    nb_tensor *indices = NULL;
    nb_tensor *m       = nb_max_pool2d(x, NB_POOL_OPTS(.kernel = {2, 2}), &indices);
    NBT_CHECK(m && nb_size(m, 0) == 0 && nb_size(m, 2) == 2 && nb_size(indices, 3) == 2);
    nb_tensor *a = nb_avg_pool2d(x, NB_POOL_OPTS(.kernel = {2, 2}));
    NBT_CHECK(a && nb_size(a, 0) == 0 && nb_size(a, 3) == 2);
    nb_tensor *d = nb_adaptive_avg_pool2d(nb_zeros(NB_SHAPE(2, 0, 3, 3), NB_OPTS()), 2, 2);
    NBT_CHECK(d && nb_size(d, 1) == 0 && nb_size(d, 2) == 2);
    nb_tensor *rows = nb_adaptive_avg_pool2d(nb_ones(NB_SHAPE(1, 3, 3), NB_OPTS()), 0, 2);
    NBT_CHECK(rows && nb_size(rows, 1) == 0 && nb_size(rows, 2) == 2);
    NBT_CHECK(nb_backward(nb_add(nb_sum(m), nb_sum(a))) == NB_OK);
    NBT_CHECK(nb_grad(x) && nb_size(nb_grad(x), 0) == 0);
    nb_scope_end(); /* indices included */
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static void test_pool_errors(void)
{
    nb_scope_begin();
    nb_tensor   *x       = nb_zeros(NB_SHAPE(2, 3, 5, 5), NB_OPTS());
    nb_pool_opts two     = NB_POOL_OPTS(.kernel = {2, 2});
    nb_tensor   *indices = x;
    NBT_CHECK(nb_max_pool2d(NULL, two, &indices) == NULL && indices == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_max_pool2d: argument 'x' is NULL");
    NBT_CHECK(nb_max_pool2d(nb_zeros(NB_SHAPE(5, 5), NB_OPTS()), two, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_max_pool2d: expected input with 4 dims (N, C, H, W) or 3, got shape [5, 5]");
    NBT_CHECK(nb_max_pool2d(nb_zeros(NB_SHAPE(2, 0, 5, 5), NB_OPTS()), two, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "expected non-zero C, H and W, got shape [2, 0, 5, 5]");
    NBT_CHECK(nb_max_pool2d(nb_zeros(NB_SHAPE(3, 5, 0), NB_OPTS()), two, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "got shape [3, 5, 0]");
    NBT_CHECK(nb_max_pool2d(nb_zeros(NB_SHAPE(2, 3, 5, 5), NB_OPTS(.dtype = NB_INT64)), two, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_max_pool2d: expected a floating x, got int64");
    NBT_CHECK(nb_max_pool2d(x, NB_POOL_OPTS(.kernel = {0, 2}), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_max_pool2d: kernel must be positive, got (0, 2)");
    NBT_CHECK(nb_max_pool2d(x, NB_POOL_OPTS(.kernel = {2, 2}, .stride = {-1, 1}), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "stride must be non-negative, got (-1, 1)");
    NBT_CHECK(nb_max_pool2d(x, NB_POOL_OPTS(.kernel = {2, 2}, .padding = {0, -1}), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "padding must be non-negative, got (0, -1)");
    NBT_CHECK(nb_max_pool2d(x, NB_POOL_OPTS(.kernel = {2, 2}, .dilation = {-2, 1}), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "dilation must be non-negative");
    NBT_CHECK(nb_max_pool2d(x, NB_POOL_OPTS(.kernel = {3, 2}, .padding = {2, 1}), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "padding (2, 1) must be at most half the kernel (3, 2)");
    NBT_CHECK(nb_max_pool2d(x, NB_POOL_OPTS(.kernel = {6, 2}), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "input of shape [2, 3, 5, 5] gives an output of 0 x 2, which is too small");
    NBT_CHECK(nb_max_pool2d(x, NB_POOL_OPTS(.kernel = {3, 3}, .dilation = {3, 1}), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "gives an output of 0 x 1");

    NBT_CHECK(nb_avg_pool2d(NULL, two) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_avg_pool2d: argument 'x' is NULL");
    NBT_CHECK(nb_avg_pool2d(nb_zeros(NB_SHAPE(1, 2, 3, 5, 5), NB_OPTS()), two) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_avg_pool2d: expected input with 4 dims (N, C, H, W) or 3, got shape "
                                  "[1, 2, 3, 5, 5]");
    NBT_CHECK(nb_avg_pool2d(nb_to_dtype(x, NB_UINT8), two) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "expected a floating x, got uint8");
    NBT_CHECK(nb_avg_pool2d(x, NB_POOL_OPTS(.kernel = {2, 2}, .dilation = {2, 1})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_avg_pool2d: dilation is not supported (torch's avg_pool2d has none), got (2, 1)");
    NBT_CHECK(nb_avg_pool2d(x, NB_POOL_OPTS(.kernel = {2, 2}, .padding = {2, 2})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_avg_pool2d: padding (2, 2) must be at most half the kernel (2, 2)");
    NBT_CHECK(nb_avg_pool2d(x, NB_POOL_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_avg_pool2d: kernel must be positive, got (0, 0)");
    NBT_CHECK(nb_avg_pool2d(x, NB_POOL_OPTS(.kernel = {2, 7})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_avg_pool2d: input of shape [2, 3, 5, 5] gives an output of 2 x 0");

    NBT_CHECK(nb_adaptive_avg_pool2d(NULL, 2, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_adaptive_avg_pool2d: argument 'x' is NULL");
    NBT_CHECK(nb_adaptive_avg_pool2d(x, -1, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_adaptive_avg_pool2d: output size must be in [0, 2147483647], got (-1, 2)");
    NBT_CHECK(nb_adaptive_avg_pool2d(x, 2, (int64_t)1 << 40) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "got (2, 1099511627776)");
    NBT_CHECK(nb_adaptive_avg_pool2d(x, 1 << 30, 1 << 30) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "has too many elements");
    NBT_CHECK(nb_max_pool2d(x, NB_POOL_OPTS(.kernel = {2, (int64_t)1 << 33}), NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "kernel must be at most 2147483647, got (2, 8589934592)");
    NBT_CHECK(nb_adaptive_avg_pool2d(nb_zeros(NB_SHAPE(2, 3, 0, 5), NB_OPTS()), 2, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_adaptive_avg_pool2d: expected non-zero H and W, got shape [2, 3, 0, 5]");
    NBT_CHECK(nb_adaptive_avg_pool2d(nb_zeros(NB_SHAPE(5, 5), NB_OPTS()), 2, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "got shape [5, 5]");
    NBT_CHECK(nb_adaptive_avg_pool2d(nb_to_dtype(x, NB_INT32), 2, 2) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "got int32");

    int64_t pads[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    NBT_CHECK(nb_pad(NULL, pads, 2, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_pad: argument 'x' is NULL");
    NBT_CHECK(nb_pad(x, pads, 3, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_pad: pads must be (before, after) pairs, got 3 values");
    NBT_CHECK(nb_pad(x, NULL, 2, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "got 2 values and a NULL list");
    NBT_CHECK(nb_pad(x, pads, -2, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "got -2 values");
    NBT_CHECK(nb_pad(x, pads, 10, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_pad: 5 pairs of pads for input of shape [2, 3, 5, 5] (at most one pair per dim)");
    int64_t crop[2] = {-3, -3};
    NBT_CHECK(nb_pad(x, crop, 2, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_pad: pads (-3, -3) would give dim 3 of input shape [2, 3, 5, 5] the size -1");
    int64_t huge[2] = {INT64_MAX, 1};
    NBT_CHECK(nb_pad(x, huge, 2, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "for dim 3 are out of range");
    int64_t big[6] = {0, (int64_t)1 << 47, 0, (int64_t)1 << 47, 0, (int64_t)1 << 47};
    NBT_CHECK(nb_pad(x, big, 6, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_pad: shape [2, 140737488355331, 140737488355333, 140737488355333] has too "
                                  "many elements");
    NBT_CHECK(nb_pad(nb_to_dtype(x, NB_UINT8), pads, 2, 300) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_pad: value 300 cannot be converted to uint8");
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_pool_fixtures);
    NBT_RUN(test_pad_dtypes);
    NBT_RUN(test_max_pool_nan_and_inf);
    NBT_RUN(test_max_pool_kernel_matches_reference);
    NBT_RUN(test_pool_backward_by_hand);
    NBT_RUN(test_max_pool_window_over_padding_only);
    NBT_RUN(test_pool_gradients);
    NBT_RUN(test_pool_threads);
    NBT_RUN(test_pool_empty);
    NBT_RUN(test_pool_errors);
    return nbt_finish();
}
