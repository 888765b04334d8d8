/*
 * test_conv.c — nb_conv2d and nb_conv_transpose2d: values against PyTorch
 * (tests/data/conv_fixtures.h) in float32 and float64, contiguous and
 * channels-last (non-contiguous) inputs; the im2col kernels against their
 * reference loops; threads; first and second derivatives; empty sizes; and
 * every error a caller can cause.
 */
#include "nb_test.h"

#include "cpu/im2col.h"
#include "cpu/winograd.h"
#include "data/conv_fixtures.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* values as dtype; strided: the same values through a channels-last view
 * (3-D and 4-D) or a stride-2 view (1-D), so kernels see non-contiguous
 * input. A new handle in the current scope. */
static nb_tensor *tensor_of(const double *values, int ndim, const int64_t *dims, nb_dtype dtype, bool strided)
{
    nb_tensor *t = nbt_tensor(nbt_shape(ndim, dims), dtype, values);
    if (!strided) return t;
    if (ndim == 4) return nb_permute(nb_contiguous(nb_permute(t, NB_DIMS(0, 2, 3, 1))), NB_DIMS(0, 3, 1, 2));
    if (ndim == 3) return nb_permute(nb_contiguous(nb_permute(t, NB_DIMS(1, 2, 0))), NB_DIMS(2, 0, 1));
    if (ndim == 1) {
        nb_tensor *pair[2] = {t, t};
        return nb_select(nb_stack(pair, 2, 1), 1, 1);
    }
    return t;
}

static nb_conv_opts opts_of(const conv_fixture *f)
{
    return NB_CONV_OPTS(.stride = {f->stride[0], f->stride[1]}, .padding = {f->padding[0], f->padding[1]},
                        .dilation = {f->dilation[0], f->dilation[1]}, .groups = f->groups,
                        .output_padding = {f->output_padding[0], f->output_padding[1]});
}

/* ------------------------------------------------------------------------ */
/* Values against PyTorch                                                    */
/* ------------------------------------------------------------------------ */

static void run_conv_fixtures(const char *op)
{
    const nb_dtype dtypes[2] = {NB_FLOAT64, NB_FLOAT32};
    for (int c = 0; c < conv_fixture_count; c++) {
        const conv_fixture *f = &conv_fixtures[c];
        if (strcmp(f->op, op) != 0) continue;
        for (int k = 0; k < 2; k++)
            for (int strided = 0; strided < 2; strided++) {
                nb_scope_begin();
                nb_dtype   dtype    = dtypes[k];
                nb_tensor *x        = tensor_of(f->x, f->x_ndim, f->x_shape, dtype, strided);
                nb_tensor *w        = tensor_of(f->w, 4, f->w_shape, dtype, strided);
                int64_t    bias_len = strcmp(op, "conv2d") == 0 ? f->w_shape[0] : f->w_shape[1] * f->groups;
                nb_tensor *b        = f->bias ? tensor_of(f->bias, 1, &bias_len, dtype, strided) : NULL;
                nb_tensor *y        = strcmp(op, "conv2d") == 0 ? nb_conv2d(x, w, b, opts_of(f))
                                                                : nb_conv_transpose2d(x, w, b, opts_of(f));
                double     tol      = dtype == NB_FLOAT64 ? 1e-10 : 1e-5;
                nbt_checks++;
                if (!nbt_tensor_close(y, nbt_shape(f->y_ndim, f->y_shape), f->y, tol, tol)) {
                    nbt_failures++;
                    fprintf(stderr, "  %s fixture %d (%s, %s) differs\n", op, c, nb_dtype_name(dtype),
                            strided ? "strided" : "contiguous");
                }
                NBT_CHECK(y == NULL || nb_dtype_of(y) == dtype);
                nb_scope_end();
            }
    }
}

static void test_conv2d_fixtures(void) { run_conv_fixtures("conv2d"); }
static void test_conv_transpose2d_fixtures(void) { run_conv_fixtures("conv_transpose2d"); }

/* A hand-computed case: a 3x3 box filter of ones on a 3x3 image of 1..9
 * with padding 1 sums each pixel's neighbourhood. */
static void test_conv2d_by_hand(void)
{
    nb_scope_begin();
    nb_tensor *x = nb_reshape(nb_arange(1, 10, 1, NB_OPTS()), NB_SHAPE(1, 1, 3, 3));
    nb_tensor *w = nb_ones(NB_SHAPE(1, 1, 3, 3), NB_OPTS());
    nb_tensor *b = nb_full(NB_SHAPE(1), 0.5, NB_OPTS());
    NBT_CHECK_TENSOR(nb_conv2d(x, w, b, NB_CONV_OPTS(.padding = {1, 1})), NB_SHAPE(1, 1, 3, 3), 1e-6, 12.5, 21.5, 16.5,
                     27.5, 45.5, 33.5, 24.5, 39.5, 28.5);
    /* Stride 2 keeps the corners' sums. */
    NBT_CHECK_TENSOR(nb_conv2d(x, w, NULL, NB_CONV_OPTS(.padding = {1, 1}, .stride = {2, 2})), NB_SHAPE(1, 1, 2, 2),
                     1e-6, 12, 16, 24, 28);
    /* conv_transpose2d of a single 1 spreads the kernel. */
    nb_tensor *one = nb_ones(NB_SHAPE(1, 1, 1, 1), NB_OPTS());
    nb_tensor *k   = nb_reshape(nb_arange(1, 5, 1, NB_OPTS()), NB_SHAPE(1, 1, 2, 2));
    NBT_CHECK_TENSOR(nb_conv_transpose2d(one, k, NULL, NB_CONV_OPTS(.dilation = {2, 1})), NB_SHAPE(1, 1, 3, 2), 1e-6, 1,
                     2, 0, 0, 3, 4);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Kernels against their references                                          */
/* A 1x1 kernel at stride 1 whose transposed output is larger than its
 * input (output_padding under a dilation of 2): pixel (i, j) lands at
 * (i, j) and the extra row and column stay zero. Values and gradients from
 * torch 1.13; the 1x1 shortcut once read the input as if it had the
 * output's size. */
static void test_conv_transpose_1x1_output_padding(void)
{
    nb_scope_begin();
    nb_tensor *x = nb_from_data((double[]){ 1, 2, 3, 4 }, NB_SHAPE(1, 1, 2, 2),
                                NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *w = nb_full(NB_SHAPE(1, 1, 1, 1), 10, NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    nb_tensor *y = nb_conv_transpose2d(x, w, NULL, NB_CONV_OPTS(.dilation = { 2, 2 }, .output_padding = { 1, 1 }));
    NBT_CHECK_TENSOR(y, NB_SHAPE(1, 1, 3, 3), 0, 10, 20, 0, 30, 40, 0, 0, 0, 0);
    nb_tensor *weights = nb_reshape(nb_arange(0, 9, 1, NB_OPTS(.dtype = NB_FLOAT64)), NB_SHAPE(1, 1, 3, 3));
    NBT_CHECK(nb_backward(nb_sum(nb_mul(y, weights))) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(x), NB_SHAPE(1, 1, 2, 2), 0, 0, 10, 30, 40);
    NBT_CHECK_TENSOR(nb_grad(w), NB_SHAPE(1, 1, 1, 1), 0, 27);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */

static void test_im2col_matches_reference(void)
{
    const nbi_conv_shape shapes[] = {
        {.channels   = 2,
         .height     = 5,
         .width      = 6,
         .kernel_h   = 3,
         .kernel_w   = 3,
         .stride_h   = 1,
         .stride_w   = 1,
         .pad_h      = 1,
         .pad_w      = 1,
         .dilation_h = 1,
         .dilation_w = 1},
        {.channels   = 3,
         .height     = 7,
         .width      = 5,
         .kernel_h   = 2,
         .kernel_w   = 3,
         .stride_h   = 2,
         .stride_w   = 3,
         .pad_h      = 0,
         .pad_w      = 2,
         .dilation_h = 2,
         .dilation_w = 1},
        {.channels   = 1,
         .height     = 4,
         .width      = 4,
         .kernel_h   = 4,
         .kernel_w   = 1,
         .stride_h   = 1,
         .stride_w   = 2,
         .pad_h      = 3,
         .pad_w      = 0,
         .dilation_h = 1,
         .dilation_w = 3},
        /* Stride 1 with Q == W (the one-copy-per-tap path): dilated, and with P != H. */
        {.channels   = 2,
         .height     = 6,
         .width      = 7,
         .kernel_h   = 3,
         .kernel_w   = 3,
         .stride_h   = 1,
         .stride_w   = 1,
         .pad_h      = 2,
         .pad_w      = 2,
         .dilation_h = 2,
         .dilation_w = 2},
        {.channels   = 2,
         .height     = 5,
         .width      = 4,
         .kernel_h   = 2,
         .kernel_w   = 5,
         .stride_h   = 1,
         .stride_w   = 1,
         .pad_h      = 0,
         .pad_w      = 2,
         .dilation_h = 3,
         .dilation_w = 1},
        {.channels   = 1,
         .height     = 3,
         .width      = 3,
         .kernel_h   = 5,
         .kernel_w   = 3,
         .stride_h   = 1,
         .stride_w   = 1,
         .pad_h      = 4,
         .pad_w      = 1,
         .dilation_h = 2,
         .dilation_w = 1},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        nbi_conv_shape s = shapes[i];
        s.out_h          = (s.height + 2 * s.pad_h - s.dilation_h * (s.kernel_h - 1) - 1) / s.stride_h + 1;
        s.out_w          = (s.width + 2 * s.pad_w - s.dilation_w * (s.kernel_w - 1) - 1) / s.stride_w + 1;
        int64_t image_n  = s.channels * s.height * s.width;
        int64_t cols_n   = s.channels * s.kernel_h * s.kernel_w * s.out_h * s.out_w;
        double *image = malloc((size_t)image_n * sizeof(double)), *cols = malloc((size_t)cols_n * sizeof(double));
        double *ref_cols = malloc((size_t)cols_n * sizeof(double)), *back = calloc((size_t)image_n, sizeof(double));
        double *ref_back = calloc((size_t)image_n, sizeof(double));
        float  *image32 = malloc((size_t)image_n * sizeof(float)), *cols32 = malloc((size_t)cols_n * sizeof(float));
        float  *back32 = calloc((size_t)image_n, sizeof(float));
        for (int64_t k = 0; k < image_n; k++)
            image32[k] = (float)(image[k] = (double)((k * 7) % 13) - 6);
        nbi_im2col_f64(&s, s.channels, image, cols, s.out_h * s.out_w);
        nbi_im2col_f32(&s, s.channels, image32, cols32, s.out_h * s.out_w);
        nbi_im2col_reference_f64(&s, s.channels, image, ref_cols);
        bool same = true;
        for (int64_t k = 0; k < cols_n; k++)
            same = same && cols[k] == ref_cols[k] && cols32[k] == (float)ref_cols[k];
        NBT_CHECK(same);
        /* Into a wider matrix (row stride L + 5, as when images sit side by
         * side): each row as before, the gap between rows untouched. */
        int64_t L = s.out_h * s.out_w, rows = cols_n / L, ld = L + 5;
        double *wide = malloc((size_t)(rows * ld) * sizeof(double));
        for (int64_t k = 0; k < rows * ld; k++)
            wide[k] = 999;
        nbi_im2col_f64(&s, s.channels, image, wide, ld);
        same = true;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t q = 0; q < ld; q++)
                same = same && wide[r * ld + q] == (q < L ? ref_cols[r * L + q] : 999);
        NBT_CHECK(same);
        free(wide);
        nbi_col2im_f64(&s, s.channels, ref_cols, back);
        nbi_col2im_f32(&s, s.channels, cols32, back32);
        nbi_col2im_reference_f64(&s, s.channels, ref_cols, ref_back);
        same = true;
        for (int64_t k = 0; k < image_n; k++)
            same = same && back[k] == ref_back[k] && back32[k] == (float)ref_back[k];
        NBT_CHECK(same);
        free(image), free(cols), free(ref_cols), free(back), free(ref_back), free(image32), free(cols32), free(back32);
    }
}

/* Two threads give the same values as one (up to the order of the weight
 * gradient's partial sums). */
static void test_conv_threads(void)
{
    int threads = nb_get_num_threads();
    nb_manual_seed(5);
    nb_scope_begin();
    nb_tensor *x = nb_randn(NB_SHAPE(40, 4, 12, 12), NB_OPTS());
    nb_tensor *w = nb_randn(NB_SHAPE(8, 2, 3, 3), NB_OPTS());
    nb_tensor *b = nb_randn(NB_SHAPE(8), NB_OPTS());
    nb_requires_grad_(x, true);
    nb_requires_grad_(w, true);
    nb_conv_opts opts = NB_CONV_OPTS(.padding = {1, 1}, .groups = 2);
    nb_tensor   *results[2][3];
    for (int run = 0; run < 2; run++) {
        nb_set_num_threads(run == 0 ? 1 : 2);
        nb_tensor *y = nb_conv2d(x, w, b, opts);
        NBT_CHECK(nb_backward(nb_sum(nb_mul(y, y))) == NB_OK);
        results[run][0]      = y;
        results[run][1]      = nb_clone(nb_grad(x));
        results[run][2]      = nb_clone(nb_grad(w));
        nb_tensor *params[2] = {x, w};
        nb_zero_grad(params, 2);
    }
    nb_set_num_threads(threads);
    for (int i = 0; i < 3; i++) {
        nb_tensor *diff = nb_max(nb_abs(nb_sub(results[0][i], results[1][i])));
        nb_tensor *size = nb_max(nb_abs(results[0][i]));
        NBT_CHECK(nb_item(diff) <= 1e-5 * nb_item(size));
    }
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Winograd F(2x2, 3x3)                                                      */
/* ------------------------------------------------------------------------ */

/* x as dtype, a new leaf that requires grad (NULL stays NULL). */
static nb_tensor *leaf_as(nb_tensor *x, nb_dtype dtype)
{
    if (x == NULL) return NULL;
    nb_tensor *leaf = nb_detach(nb_to_dtype(x, dtype));
    nb_requires_grad_(leaf, true);
    return leaf;
}

/* max |a - b| / max |b|, b the float64 result. */
static double relative_error(nb_tensor *a, nb_tensor *b)
{
    nb_tensor *diff = nb_max(nb_abs(nb_sub(nb_to_dtype(a, NB_FLOAT64), b)));
    return nb_item(diff) / nb_item(nb_max(nb_abs(b)));
}

/* The float32 3x3 stride-1 shapes that take Winograd (winograd.h) against
 * the same data in float64 (im2col): forward, both gradients and the
 * transposed convolution, at every padding it takes, odd output sizes
 * (half-empty tiles), images cut into row groups and wide ones into
 * segments, non-contiguous input, a 1x1 output, a 1x1 input padded to 3x3,
 * blocks of several images and a weight gradient summed from several
 * pieces. A broken transform or tile edge is off by O(1); Winograd's
 * rounding stays under 6e-7 of the largest output on these cases. */
static void test_conv_winograd(void)
{
    typedef struct {
        int64_t n, c, h, w, o, pad_h, pad_w;
        bool    bias, transposed, strided;
    } wino_case;
    const wino_case cases[] = {
        {3, 16, 14, 14, 32, 1, 1, true, false, false},  {2, 32, 7, 9, 16, 1, 1, false, false, true},
        {2, 16, 6, 5, 16, 0, 0, true, false, false},    {1, 16, 5, 6, 32, 2, 2, true, false, false},
        {2, 16, 4, 7, 16, 0, 2, false, false, false},   {1, 64, 3, 150, 64, 1, 1, true, false, false},
        {5, 16, 3, 3, 16, 0, 0, true, false, false},    {2, 16, 9, 8, 32, 1, 1, true, true, false},
        {1, 32, 6, 7, 16, 2, 0, true, true, true},      {9, 16, 2, 2, 16, 1, 1, false, false, false},
        {1, 64, 20, 21, 64, 1, 1, true, false, false},  {40, 16, 8, 8, 16, 1, 1, false, false, false},
        {2, 16, 1, 1, 16, 2, 2, true, false, false},    {1, 16, 1, 9, 32, 1, 2, true, false, true},
    };
    nb_manual_seed(11);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const wino_case *c = &cases[i];
        nb_scope_begin();
        nb_tensor   *x    = nb_randn(NB_SHAPE(c->n, c->c, c->h, c->w), NB_OPTS());
        nb_tensor   *w    = c->transposed ? nb_randn(NB_SHAPE(c->c, c->o, 3, 3), NB_OPTS())
                                          : nb_randn(NB_SHAPE(c->o, c->c, 3, 3), NB_OPTS());
        nb_tensor   *b    = c->bias ? nb_randn(NB_SHAPE(c->o), NB_OPTS()) : NULL;
        nb_conv_opts opts = NB_CONV_OPTS(.padding = {c->pad_h, c->pad_w});
        if (c->strided) x = nb_permute(nb_contiguous(nb_permute(x, NB_DIMS(0, 2, 3, 1))), NB_DIMS(0, 3, 1, 2));
        nb_tensor *results[2][4];
        for (int k = 0; k < 2; k++) {
            nb_dtype   dtype = k == 0 ? NB_FLOAT32 : NB_FLOAT64;
            nb_tensor *xk = leaf_as(x, dtype), *wk = leaf_as(w, dtype), *bk = leaf_as(b, dtype);
            nb_tensor *y  = c->transposed ? nb_conv_transpose2d(xk, wk, bk, opts) : nb_conv2d(xk, wk, bk, opts);
            nb_manual_seed(7); /* the same weights of the loss in both dtypes */
            nb_tensor *g = nb_to_dtype(nb_randn(nb_shape_of(y), NB_OPTS()), dtype);
            NBT_CHECK(nb_backward(nb_sum(nb_mul(y, g))) == NB_OK);
            results[k][0] = y, results[k][1] = nb_grad(xk), results[k][2] = nb_grad(wk);
            results[k][3] = bk ? nb_grad(bk) : y;
        }
        nbi_conv_shape shape = {.batch = c->n, .groups = 1, .channels = c->c, .height = c->h, .width = c->w,
                                .out_channels = c->o, .out_h = c->h + 2 * c->pad_h - 2,
                                .out_w = c->w + 2 * c->pad_w - 2, .kernel_h = 3, .kernel_w = 3, .stride_h = 1,
                                .stride_w = 1, .pad_h = c->pad_h, .pad_w = c->pad_w, .dilation_h = 1,
                                .dilation_w = 1};
        NBT_CHECK(c->transposed || nbi_winograd_applies(NB_FLOAT32, &shape));
        for (int r = 0; r < 4; r++) {
            double error = relative_error(results[0][r], results[1][r]);
            if (error > 2e-6) printf("  case %zu result %d: relative error %.3g\n", i, r, error);
            NBT_CHECK(error <= 2e-6);
        }
        nb_scope_end();
    }
}

/* Every instruction set's Winograd lane kernels give the same bits
 * (winograd_kernels.inc adds in one written order), on pixel runs that end
 * inside a 16-wide chunk and values of mixed sizes; the copies are the
 * transposes they claim to be. */
static void test_winograd_kernels_agree(void)
{
    enum { L = NBI_WINOGRAD_LANES, WIDTH = 37, TILES = 9, BAND_W = 2 * TILES + 2, PLANE = 64 };
    enum { TAP = 2 * L, TAPS = TILES * TAP, OUT = 16 * TAPS };
    static float planes[L * PLANE], band[4 * BAND_W * L];
    static float tiles[3][OUT], rows[3][2 * BAND_W * L], pixels[3][WIDTH * L], scattered[3][L * PLANE];
    float        bias[L];
    uint32_t     state = 12345;
    for (int i = 0; i < L * PLANE; i++, state = state * 1664525u + 1013904223u)
        planes[i] = (float)((int32_t)state >> 8) * 0x1p-20f * (i % 3 == 0 ? 1e3f : 1.0f);
    for (int i = 0; i < 4 * BAND_W * L; i++)
        band[i] = planes[(i * 7) % (L * PLANE)];
    for (int l = 0; l < L; l++)
        bias[l] = planes[l * 3] * 0.25f;
    int tables = 0;
    for (int level = NBI_CPU_BASELINE; level <= NBI_CPU_AVX512; level++) {
        const nbi_winograd_kernels *k = nbi_winograd_kernels_for((nbi_cpu_level)level);
        if (k == NULL) continue;
        k->input_tiles(band, BAND_W, TILES, tiles[tables], TAP, TAPS);
        k->gradient_tiles(band, BAND_W, TILES, tiles[tables] + L, TAP, TAPS);
        k->output_tiles(band, TAP, TAPS / 2, TILES / 2, rows[tables], BAND_W);
        k->gather(planes + 3, PLANE, WIDTH, pixels[tables]);
        k->scatter(band, WIDTH, bias, scattered[tables], PLANE);
        k->scatter(band + WIDTH * L, PLANE - WIDTH, NULL, scattered[tables] + WIDTH, PLANE);
        tables++;
    }
    NBT_CHECK(tables >= 1 && nbi_winograd_kernels_for(NBI_CPU_BASELINE) != NULL);
    for (int i = 1; i < tables; i++) {
        NBT_CHECK(memcmp(tiles[0], tiles[i], sizeof tiles[0]) == 0);
        NBT_CHECK(memcmp(rows[0], rows[i], sizeof rows[0]) == 0);
        NBT_CHECK(memcmp(pixels[0], pixels[i], sizeof pixels[0]) == 0);
        NBT_CHECK(memcmp(scattered[0], scattered[i], sizeof scattered[0]) == 0);
    }
    int wrong = 0;
    for (int x = 0; x < WIDTH; x++)
        for (int l = 0; l < L; l++) {
            wrong += pixels[0][x * L + l] != planes[3 + l * PLANE + x];
            wrong += scattered[0][l * PLANE + x] != band[x * L + l] + bias[l];
        }
    NBT_CHECK(wrong == 0);
    /* the first tile's V[0] = d00 - d02 - d20 + d22, channel 0 */
    float d00 = band[0], d02 = band[2 * L], d20 = band[2 * BAND_W * L], d22 = band[2 * BAND_W * L + 2 * L];
    NBT_CHECK(tiles[0][0] == (d00 - d20) - (d02 - d22));
}

/* ------------------------------------------------------------------------ */
/* Gradients                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char  *name;
    bool         transposed;
    nb_shape     x, w;
    bool         bias;
    nb_conv_opts opts;
} grad_case;

static nb_tensor *conv_fn(nb_tensor *const *in, int count, void *user)
{
    const grad_case *c = user;
    nb_tensor       *b = count > 2 ? in[2] : NULL;
    return c->transposed ? nb_conv_transpose2d(in[0], in[1], b, c->opts) : nb_conv2d(in[0], in[1], b, c->opts);
}

static void test_conv_gradients(void)
{
    const grad_case cases[] = {
        {"conv2d plain", false, NB_SHAPE(2, 2, 4, 4), NB_SHAPE(3, 2, 2, 2), true, NB_CONV_OPTS()},
        {"conv2d stride/padding/dilation", false, NB_SHAPE(1, 2, 5, 6), NB_SHAPE(2, 2, 2, 3), true,
         NB_CONV_OPTS(.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2})},
        {"conv2d groups, stride skipping the last row", false, NB_SHAPE(2, 4, 5, 3), NB_SHAPE(2, 2, 2, 1), false,
         NB_CONV_OPTS(.stride = {2, 2}, .groups = 2)},
        {"conv2d unbatched 1x1", false, NB_SHAPE(3, 3, 2), NB_SHAPE(2, 3, 1, 1), true, NB_CONV_OPTS()},
        {"conv_transpose2d plain", true, NB_SHAPE(2, 2, 3, 3), NB_SHAPE(2, 3, 2, 2), true, NB_CONV_OPTS()},
        {"conv_transpose2d stride/padding/output_padding", true, NB_SHAPE(1, 2, 3, 2), NB_SHAPE(2, 2, 3, 2), true,
         NB_CONV_OPTS(.stride = {2, 2}, .padding = {1, 0}, .output_padding = {1, 1})},
        {"conv_transpose2d groups, output_padding below dilation", true, NB_SHAPE(1, 4, 2, 3), NB_SHAPE(4, 1, 2, 2),
         true, NB_CONV_OPTS(.dilation = {2, 2}, .output_padding = {1, 0}, .groups = 2)},
        {"conv_transpose2d unbatched", true, NB_SHAPE(2, 2, 2), NB_SHAPE(2, 1, 3, 3), false,
         NB_CONV_OPTS(.stride = {2, 1}, .padding = {1, 1})},
    };
    nb_manual_seed(3);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const grad_case *c = &cases[i];
        nb_scope_begin();
        int64_t    bias_len = c->transposed ? c->w.dims[1] * (c->opts.groups ? c->opts.groups : 1) : c->w.dims[0];
        nb_tensor *in[3]    = {nb_randn(c->x, NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true)),
                               nb_randn(c->w, NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true)),
                               nb_randn(NB_SHAPE(bias_len), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true))};
        nbt_gradcheck(c->name, conv_fn, in, c->bias ? 3 : 2, (void *)c, 2);
        nb_scope_end();
    }
}

/* Gradients land in the leaves' own shapes, also through strided views,
 * and the nodes are named. */
static void test_conv_backward_shapes(void)
{
    nb_scope_begin();
    nb_tensor *base = nb_randn(NB_SHAPE(5, 5, 2), NB_OPTS(.requires_grad = true));
    nb_tensor *x    = nb_permute(base, NB_DIMS(2, 0, 1)); /* (2, 5, 5), channels last: unbatched */
    nb_tensor *w    = nb_randn(NB_SHAPE(3, 2, 3, 3), NB_OPTS(.requires_grad = true));
    nb_tensor *y    = nb_conv2d(x, w, NULL, NB_CONV_OPTS(.padding = {1, 1}));
    NBT_CHECK(y && nb_ndim(y) == 3 && nb_size(y, 0) == 3 && nb_size(y, 1) == 5);
    NBT_CHECK(nb_backward(nb_sum(y)) == NB_OK);
    NBT_CHECK(nb_grad(base) && nb_size(nb_grad(base), 2) == 2 && nb_size(nb_grad(w), 0) == 3);
    nb_tensor *z = nb_conv2d(nb_unsqueeze(x, 0), w, NULL, NB_CONV_OPTS());
    NBT_CHECK(z && strcmp(nb_grad_fn_name(z), "ConvolutionBackward0") == 0);
    nb_tensor *t = nb_conv_transpose2d(nb_detach(z), nb_detach(w), NULL, NB_CONV_OPTS());
    NBT_CHECK(t && nb_grad_fn_name(t) == NULL && !nb_requires_grad(t));
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Empty sizes                                                               */
/* ------------------------------------------------------------------------ */

static void test_conv_empty(void)
{
    nb_scope_begin();
    /* An empty batch: an empty output, and a zero weight gradient. */
    nb_tensor *w = nb_ones(NB_SHAPE(4, 3, 3, 3), NB_OPTS(.requires_grad = true));
    nb_tensor *y = nb_conv2d(nb_zeros(NB_SHAPE(0, 3, 5, 5), NB_OPTS()), w, NULL, NB_CONV_OPTS());
    NBT_CHECK(y && nb_size(y, 0) == 0 && nb_size(y, 1) == 4 && nb_size(y, 2) == 3);
    NBT_CHECK(nb_backward(nb_sum(y)) == NB_OK);
    NBT_CHECK_TENSOR(nb_sum(nb_abs(nb_grad(w))), NB_SCALAR_SHAPE, 0, 0);
    /* No input channels: the output is the bias. */
    nb_tensor *b = nb_arange(1, 3, 1, NB_OPTS());
    NBT_CHECK_TENSOR(nb_conv2d(nb_zeros(NB_SHAPE(1, 0, 2, 2), NB_OPTS()), nb_zeros(NB_SHAPE(2, 0, 2, 1), NB_OPTS()), b,
                               NB_CONV_OPTS()),
                     NB_SHAPE(1, 2, 1, 2), 0, 1, 1, 2, 2);
    /* A zero-height input that padding makes wide enough. */
    NBT_CHECK_TENSOR(nb_conv2d(nb_zeros(NB_SHAPE(1, 1, 0, 1), NB_OPTS()), nb_ones(NB_SHAPE(1, 1, 1, 1), NB_OPTS()),
                               nb_ones(NB_SHAPE(1), NB_OPTS()), NB_CONV_OPTS(.padding = {1, 0})),
                     NB_SHAPE(1, 1, 2, 1), 0, 1, 1);
    /* conv_transpose2d of an empty batch. */
    nb_tensor *t = nb_conv_transpose2d(nb_zeros(NB_SHAPE(0, 4, 2, 2), NB_OPTS()), w, NULL, NB_CONV_OPTS());
    NBT_CHECK(t && nb_size(t, 0) == 0 && nb_size(t, 1) == 3 && nb_size(t, 2) == 4);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static void test_conv_errors(void)
{
    nb_scope_begin();
    nb_tensor *x = nb_zeros(NB_SHAPE(2, 3, 5, 5), NB_OPTS());
    nb_tensor *w = nb_zeros(NB_SHAPE(4, 3, 3, 3), NB_OPTS());

    NBT_CHECK(nb_conv2d(NULL, w, NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_conv2d: argument 'x' is NULL");
    NBT_CHECK(nb_conv2d(x, NULL, NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "'weight' is NULL");
    NBT_CHECK(nb_conv2d(nb_zeros(NB_SHAPE(3, 5), NB_OPTS()), w, NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_conv2d: expected input with 4 dims (N, C, H, W) or 3, got shape [3, 5]");
    NBT_CHECK(nb_conv2d(x, nb_zeros(NB_SHAPE(4, 3, 3), NB_OPTS()), NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "expected weight with 4 dims, got shape [4, 3, 3]");
    NBT_CHECK(nb_conv2d(x, nb_zeros(NB_SHAPE(4, 3, 0, 3), NB_OPTS()), NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "weight of shape [4, 3, 0, 3] has an empty or huge kernel");
    NBT_CHECK(nb_conv2d(x, nb_zeros(NB_SHAPE(4, 2, 3, 3), NB_OPTS()), NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "input of shape [2, 3, 5, 5] has 3 channels, but weight of shape [4, 2, 3, 3] "
                                  "with groups=1 expects 2");
    NBT_CHECK(nb_conv2d(x, nb_zeros(NB_SHAPE(4, 1, 3, 3), NB_OPTS()), NULL, NB_CONV_OPTS(.groups = 3)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "its 4 output channels are not a positive multiple of groups=3");
    NBT_CHECK(nb_conv2d(x, nb_zeros(NB_SHAPE(0, 3, 3, 3), NB_OPTS()), NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "its 0 output channels");
    NBT_CHECK(nb_conv2d(x, w, nb_zeros(NB_SHAPE(3), NB_OPTS()), NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "expected bias of shape [4] for weight of shape [4, 3, 3, 3], got shape [3]");
    NBT_CHECK(nb_conv2d(x, w, nb_zeros(NB_SHAPE(4, 1), NB_OPTS()), NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "got shape [4, 1]");
    NBT_CHECK(nb_conv2d(x, nb_zeros(NB_SHAPE(4, 3, 6, 6), NB_OPTS()), NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "the kernel (6 x 6, dilation 1 x 1) is larger than the padded input (5 x 5) of "
                                  "input shape [2, 3, 5, 5]");
    NBT_CHECK(nb_conv2d(x, w, NULL, NB_CONV_OPTS(.dilation = {1, 3})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "dilation 1 x 3) is larger than the padded input");
    NBT_CHECK(nb_conv2d(x, w, NULL, NB_CONV_OPTS(.stride = {-1, 1})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_conv2d: stride must be non-negative, got (-1, 1)");
    NBT_CHECK(nb_conv2d(x, w, NULL, NB_CONV_OPTS(.padding = {0, -2})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "padding must be non-negative, got (0, -2)");
    NBT_CHECK(nb_conv2d(x, w, NULL, NB_CONV_OPTS(.dilation = {-1, -1})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "dilation must be non-negative");
    NBT_CHECK(nb_conv2d(x, w, NULL, NB_CONV_OPTS(.groups = -2)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "groups must be in [0, 2147483647], got -2");
    NBT_CHECK(nb_conv2d(x, w, NULL, NB_CONV_OPTS(.padding = {(int64_t)1 << 31, 0})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "padding must be at most 2147483647, got (2147483648, 0)");
    NBT_CHECK(nb_conv2d(x, w, NULL, NB_CONV_OPTS(.padding = {INT32_MAX, INT32_MAX})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "has too many elements");
    NBT_CHECK(nb_conv2d(x, w, NULL, NB_CONV_OPTS(.output_padding = {1, 0})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "output_padding is for nb_conv_transpose2d only");
    NBT_CHECK(nb_conv2d(nb_to_dtype(x, NB_FLOAT64), w, NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_conv2d: x is float64 but weight is float32");
    NBT_CHECK(nb_conv2d(x, w, nb_zeros(NB_SHAPE(4), NB_OPTS(.dtype = NB_FLOAT64)), NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "but bias is float64");
    NBT_CHECK(nb_conv2d(nb_to_dtype(x, NB_INT64), nb_to_dtype(w, NB_INT64), NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_conv2d: expected floating x, got int64");

    nb_tensor *wt = nb_zeros(NB_SHAPE(3, 2, 3, 3), NB_OPTS()); /* (C_in, C_out / groups, kH, kW) */
    NBT_CHECK(nb_conv_transpose2d(NULL, wt, NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_conv_transpose2d: argument 'x' is NULL");
    NBT_CHECK(nb_conv_transpose2d(nb_zeros(NB_SHAPE(1, 1, 3, 5, 5), NB_OPTS()), wt, NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_conv_transpose2d: expected input with 4 dims (N, C, H, W) or 3, got shape "
                                  "[1, 1, 3, 5, 5]");
    NBT_CHECK(nb_conv_transpose2d(x, nb_zeros(NB_SHAPE(2, 2, 3, 3), NB_OPTS()), NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "input of shape [2, 3, 5, 5] has 3 channels, but weight of shape [2, 2, 3, 3] "
                                  "expects 2");
    NBT_CHECK(nb_conv_transpose2d(x, wt, NULL, NB_CONV_OPTS(.groups = 2)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "its 3 input channels are not a positive multiple of groups=2");
    NBT_CHECK(nb_conv_transpose2d(x, wt, nb_zeros(NB_SHAPE(3), NB_OPTS()), NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "expected bias of shape [2] for weight of shape [3, 2, 3, 3], got shape [3]");
    NBT_CHECK(nb_conv_transpose2d(x, wt, NULL, NB_CONV_OPTS(.output_padding = {1, 1})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "output_padding must be smaller than stride or dilation, got output_padding (1, 1), "
                                "stride (1, 1), dilation (1, 1)");
    NBT_CHECK(nb_conv_transpose2d(x, wt, NULL, NB_CONV_OPTS(.stride = {2, 2}, .output_padding = {2, 0})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "output_padding must be smaller");
    NBT_CHECK(nb_conv_transpose2d(x, wt, NULL, NB_CONV_OPTS(.output_padding = {0, -1})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "output_padding must be non-negative");
    NBT_CHECK(nb_conv_transpose2d(x, wt, NULL, NB_CONV_OPTS(.padding = {4, 4})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "input of shape [2, 3, 5, 5] gives an output of -1 x -1, which is too small");
    NBT_CHECK(nb_conv_transpose2d(x, wt, NULL, NB_CONV_OPTS(.stride = {INT32_MAX, INT32_MAX})) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "has too many elements");
    NBT_CHECK(nb_conv_transpose2d(x, nb_to_dtype(wt, NB_FLOAT64), NULL, NB_CONV_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "x is float32 but weight is float64");
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_conv2d_fixtures);
    NBT_RUN(test_conv_transpose2d_fixtures);
    NBT_RUN(test_conv2d_by_hand);
    NBT_RUN(test_conv_transpose_1x1_output_padding);
    NBT_RUN(test_im2col_matches_reference);
    NBT_RUN(test_conv_threads);
    NBT_RUN(test_conv_winograd);
    NBT_RUN(test_winograd_kernels_agree);
    NBT_RUN(test_conv_gradients);
    NBT_RUN(test_conv_backward_shapes);
    NBT_RUN(test_conv_empty);
    NBT_RUN(test_conv_errors);
    return nbt_finish();
}
