/*
 * test_half.c — issue 13's float16, bfloat16, int8 and int16 as tensor
 * dtypes: conversions bit for bit against PyTorch 1.13
 * (tests/data/half_casts.bin, from scripts/make_half_fixtures.py), type
 * promotion, creation, printing, item, elementwise ops, reductions and
 * matmul computed in float32 and rounded once, autograd in the half dtype.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nb_test.h"

/* ------------------------------------------------------------------------ */
/* Conversions against torch                                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
    const unsigned char *at, *end;
} reader;

static uint32_t read_u32(reader *r)
{
    uint32_t v = 0;
    if (r->end - r->at >= 4) v = (uint32_t)r->at[0] | (uint32_t)r->at[1] << 8 | (uint32_t)r->at[2] << 16 | (uint32_t)r->at[3] << 24;
    r->at += 4;
    return v;
}

static const unsigned char *take(reader *r, size_t bytes)
{
    const unsigned char *p = r->at;
    r->at += bytes;
    return r->at <= r->end ? p : NULL;
}

/* Bytes of x (contiguous CPU) equal want, element by element; reports the
 * first few differences. */
static int same_bytes(nb_tensor *x, const unsigned char *want, const char *what, nb_dtype from)
{
    if (x == NULL || want == NULL) {
        fprintf(stderr, "%s: %s\n", what, x ? "fixture truncated" : nb_last_error());
        return 0;
    }
    size_t               size = nb_dtype_size(nb_dtype_of(x));
    const unsigned char *got  = nb_data(x);
    int                  bad  = 0;
    for (int64_t i = 0; i < nb_numel(x); i++) {
        if (memcmp(got + i * size, want + i * size, size) == 0) continue;
        if (bad++ < 5) {
            unsigned long long g = 0, w = 0;
            memcpy(&g, got + i * size, size);
            memcpy(&w, want + i * size, size);
            fprintf(stderr, "  %s[%lld] (from %s): got 0x%llx, torch 0x%llx\n", what, (long long)i,
                    nb_dtype_name(from), g, w);
        }
    }
    return bad == 0;
}

static void test_casts_match_torch(void)
{
    size_t         size = 0;
    unsigned char *file = nbt_read_file(NB_TEST_DATA_DIR "/half_casts.bin", &size);
    NBT_CHECK(file != NULL && size > 8 && memcmp(file, "NBHC", 4) == 0);
    if (file == NULL) return;
    reader r = {file + 8, file + size};

    /* every float16 bit pattern to float32 */
    uint32_t n = read_u32(&r);
    NBT_CHECK(n == 65536);
    uint16_t *patterns = malloc(65536 * sizeof *patterns);
    for (uint32_t i = 0; i < 65536; i++) patterns[i] = (uint16_t)i;
    nb_tensor *halves = nb_from_data(patterns, NB_SHAPE(65536), NB_OPTS(.dtype = NB_FLOAT16));
    nb_tensor *wide   = nb_to_dtype(halves, NB_FLOAT32);
    NBT_CHECK(same_bytes(wide, take(&r, 65536 * 4), "float16 -> float32", NB_FLOAT16));
    free(patterns);
    nb_free(halves);
    nb_free(wide);

    /* the float32 sweep to float16 and bfloat16 */
    n                         = read_u32(&r);
    const unsigned char *bits = take(&r, (size_t)n * 4);
    nb_tensor           *x    = bits ? nb_from_data(bits, NB_SHAPE(n), NB_OPTS(.dtype = NB_FLOAT32)) : NULL;
    nb_tensor           *h    = nb_to_dtype(x, NB_FLOAT16);
    nb_tensor           *b    = nb_to_dtype(x, NB_BFLOAT16);
    NBT_CHECK(n > 50000);
    NBT_CHECK(same_bytes(h, take(&r, (size_t)n * 2), "float32 -> float16", NB_FLOAT32));
    NBT_CHECK(same_bytes(b, take(&r, (size_t)n * 2), "float32 -> bfloat16", NB_FLOAT32));
    nb_free(x);
    nb_free(h);
    nb_free(b);

    /* every pair of dtypes */
    uint32_t ndtypes = read_u32(&r);
    NBT_CHECK(ndtypes == NB_NUM_DTYPES);
    for (nb_dtype from = 0; from < (nb_dtype)ndtypes && r.at < r.end; from++) {
        n                        = read_u32(&r);
        const unsigned char *src = take(&r, (size_t)n * nb_dtype_size(from));
        nb_tensor           *s   = src ? nb_from_data(src, NB_SHAPE(n), NB_OPTS(.dtype = from)) : NULL;
        NBT_CHECK(s != NULL && n > 4);
        for (nb_dtype to = 0; to < (nb_dtype)ndtypes; to++) {
            char what[64];
            snprintf(what, sizeof what, "%s -> %s", nb_dtype_name(from), nb_dtype_name(to));
            nb_tensor *c = nb_to_dtype(s, to);
            NBT_CHECK(same_bytes(c, take(&r, (size_t)n * nb_dtype_size(to)), what, from));
            nb_free(c);
        }
        nb_free(s);
    }
    NBT_CHECK(r.at == r.end);
    free(file);
}

/* ------------------------------------------------------------------------ */
/* Dtype facts and promotion                                                 */
/* ------------------------------------------------------------------------ */

static void test_names_and_promotion(void)
{
    NBT_CHECK(strcmp(nb_dtype_name(NB_FLOAT16), "float16") == 0 && nb_dtype_size(NB_FLOAT16) == 2);
    NBT_CHECK(strcmp(nb_dtype_name(NB_BFLOAT16), "bfloat16") == 0 && nb_dtype_size(NB_BFLOAT16) == 2);
    NBT_CHECK(strcmp(nb_dtype_name(NB_INT16), "int16") == 0 && nb_dtype_size(NB_INT16) == 2);
    NBT_CHECK(strcmp(nb_dtype_name(NB_INT8), "int8") == 0 && nb_dtype_size(NB_INT8) == 1);
    NBT_CHECK(nb_dtype_is_floating(NB_FLOAT16) && nb_dtype_is_floating(NB_BFLOAT16));
    NBT_CHECK(!nb_dtype_is_floating(NB_INT8) && !nb_dtype_is_floating(NB_INT16));
    /* torch.promote_types over every pair, as torch 1.13 prints it */
    static const nb_dtype table[NB_NUM_DTYPES][NB_NUM_DTYPES] = {
        {NB_FLOAT32, NB_FLOAT64, NB_FLOAT32, NB_FLOAT32, NB_FLOAT32, NB_FLOAT32, NB_FLOAT32, NB_FLOAT32, NB_FLOAT32, NB_FLOAT32},
        {NB_FLOAT64, NB_FLOAT64, NB_FLOAT64, NB_FLOAT64, NB_FLOAT64, NB_FLOAT64, NB_FLOAT64, NB_FLOAT64, NB_FLOAT64, NB_FLOAT64},
        {NB_FLOAT32, NB_FLOAT64, NB_INT64, NB_INT64, NB_INT64, NB_INT64, NB_FLOAT16, NB_BFLOAT16, NB_INT64, NB_INT64},
        {NB_FLOAT32, NB_FLOAT64, NB_INT64, NB_INT32, NB_INT32, NB_INT32, NB_FLOAT16, NB_BFLOAT16, NB_INT32, NB_INT32},
        {NB_FLOAT32, NB_FLOAT64, NB_INT64, NB_INT32, NB_UINT8, NB_UINT8, NB_FLOAT16, NB_BFLOAT16, NB_INT16, NB_INT16},
        {NB_FLOAT32, NB_FLOAT64, NB_INT64, NB_INT32, NB_UINT8, NB_BOOL, NB_FLOAT16, NB_BFLOAT16, NB_INT16, NB_INT8},
        {NB_FLOAT32, NB_FLOAT64, NB_FLOAT16, NB_FLOAT16, NB_FLOAT16, NB_FLOAT16, NB_FLOAT16, NB_FLOAT32, NB_FLOAT16, NB_FLOAT16},
        {NB_FLOAT32, NB_FLOAT64, NB_BFLOAT16, NB_BFLOAT16, NB_BFLOAT16, NB_BFLOAT16, NB_FLOAT32, NB_BFLOAT16, NB_BFLOAT16, NB_BFLOAT16},
        {NB_FLOAT32, NB_FLOAT64, NB_INT64, NB_INT32, NB_INT16, NB_INT16, NB_FLOAT16, NB_BFLOAT16, NB_INT16, NB_INT16},
        {NB_FLOAT32, NB_FLOAT64, NB_INT64, NB_INT32, NB_INT16, NB_INT8, NB_FLOAT16, NB_BFLOAT16, NB_INT16, NB_INT8},
    };
    int wrong = 0;
    for (nb_dtype a = 0; a < NB_NUM_DTYPES; a++)
        for (nb_dtype b = 0; b < NB_NUM_DTYPES; b++)
            if (nb_promote_types(a, b) != table[a][b]) {
                if (wrong++ < 5)
                    fprintf(stderr, "  promote(%s, %s) = %s, torch %s\n", nb_dtype_name(a), nb_dtype_name(b),
                            nb_dtype_name(nb_promote_types(a, b)), nb_dtype_name(table[a][b]));
            }
    NBT_CHECK(wrong == 0);
    NBT_CHECK(nb_promote_types(NB_FLOAT16, NB_BFLOAT16) == NB_FLOAT32);
    NBT_CHECK(nb_promote_types(NB_INT8, NB_UINT8) == NB_INT16);
    NBT_CHECK(nb_promote_types(NB_FLOAT16, NB_INT64) == NB_FLOAT16);
    NBT_CHECK(nb_promote_types(NB_BFLOAT16, NB_FLOAT64) == NB_FLOAT64);
    NBT_CHECK(nb_promote_types(NB_INT16, NB_UINT8) == NB_INT16);
    NBT_CHECK(nb_promote_types(NB_INT8, NB_BOOL) == NB_INT8);

    /* with scalars: a float16 tensor + 2.5 stays float16; int8 + 300 stays
     * int8 (and wraps); int8 + 2.5 is float32 */
    nb_tensor *h  = nb_full(NB_SHAPE(2), 1.0, NB_OPTS(.dtype = NB_FLOAT16));
    nb_tensor *hs = nb_add_scalar(h, 2.5);
    NBT_CHECK(hs && nb_dtype_of(hs) == NB_FLOAT16);
    nb_tensor *i8  = nb_full(NB_SHAPE(2), 100, NB_OPTS(.dtype = NB_INT8));
    nb_tensor *wr  = nb_add_scalar(i8, 100);
    nb_tensor *flt = nb_add_scalar(i8, 2.5);
    NBT_CHECK(wr && nb_dtype_of(wr) == NB_INT8);
    NBT_CHECK(flt && nb_dtype_of(flt) == NB_FLOAT32);
    if (wr) {
        nb_tensor *first = nb_select(wr, 0, 0);
        NBT_CHECK(nb_item(first) == -56.0); /* 200 wraps */
        nb_free(first);
    }
    /* float16 with a 0-d float64 tensor: float16 (a dimensioned tensor wins
     * within its category); an int8 tensor with a 0-d float16: float16 */
    nb_tensor *zero_d = nb_scalar(1.0, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *mixed  = nb_add(h, zero_d);
    NBT_CHECK(mixed && nb_dtype_of(mixed) == NB_FLOAT16);
    nb_tensor *half_0d = nb_scalar(1.0, NB_OPTS(.dtype = NB_FLOAT16));
    nb_tensor *int_half = nb_add(i8, half_0d);
    NBT_CHECK(int_half && nb_dtype_of(int_half) == NB_FLOAT16);
    nb_free(half_0d);
    nb_free(int_half);
    nb_tensor *b     = nb_full(NB_SHAPE(2), 1.0, NB_OPTS(.dtype = NB_BFLOAT16));
    nb_tensor *hb    = nb_add(h, b);
    NBT_CHECK(hb && nb_dtype_of(hb) == NB_FLOAT32);
    nb_tensor *u8    = nb_full(NB_SHAPE(2), 200, NB_OPTS(.dtype = NB_UINT8));
    nb_tensor *i8u8  = nb_add(i8, u8);
    NBT_CHECK(i8u8 && nb_dtype_of(i8u8) == NB_INT16);
    if (i8u8) {
        nb_tensor *first = nb_select(i8u8, 0, 0);
        NBT_CHECK(nb_item(first) == 300.0);
        nb_free(first);
    }
    nb_tensor *all[] = {h, hs, i8, wr, flt, zero_d, mixed, b, hb, u8, i8u8};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) nb_free(all[i]);
}

/* ------------------------------------------------------------------------ */
/* Creation, printing, item                                                  */
/* ------------------------------------------------------------------------ */

static void check_print(const nb_tensor *t, const char *want)
{
    char *text = nb_to_string(t);
    NBT_CHECK(text != NULL && strcmp(text, want) == 0);
    if (text && strcmp(text, want) != 0) fprintf(stderr, "  printed %s\n  torch   %s\n", text, want);
    free(text);
}

static void test_creation_and_printing(void)
{
    /* expected strings: torch 1.13's str() of the same tensors */
    nb_tensor *a = nb_arange(0, 1.2, 0.25, NB_OPTS(.dtype = NB_FLOAT16));
    check_print(a, "tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000], dtype=torch.float16)");
    nb_tensor *b = nb_full(NB_SHAPE(2), 1.0 / 3, NB_OPTS(.dtype = NB_BFLOAT16));
    check_print(b, "tensor([0.3340, 0.3340], dtype=torch.bfloat16)");
    nb_tensor *c = nb_full(NB_SHAPE(3), 1.0 / 3, NB_OPTS(.dtype = NB_FLOAT16));
    nb_tensor *c0 = nb_select(c, 0, 2);
    NBT_CHECK(c0 && nb_item(c0) == 0.333251953125); /* 0x3555 */
    nb_tensor *d = nb_arange(-3, 3, 2, NB_OPTS(.dtype = NB_INT8));
    check_print(d, "tensor([-3, -1,  1], dtype=torch.int8)");
    nb_tensor *e = nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_INT16));
    check_print(e, "tensor([1, 1], dtype=torch.int16)");
    nb_tensor *f = nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_BFLOAT16));
    check_print(f, "tensor([0., 0.], dtype=torch.bfloat16)");
    nb_tensor *big = nb_full(NB_SHAPE(1), 70000, NB_OPTS(.dtype = NB_FLOAT16));
    NBT_CHECK(big == NULL); /* torch: value cannot be converted to type at::Half without overflow */
    nb_clear_error();
    nb_tensor *inf = nb_full(NB_SHAPE(1), INFINITY, NB_OPTS(.dtype = NB_FLOAT16));
    check_print(inf, "tensor([inf], dtype=torch.float16)");
    nb_tensor *wrap = nb_full(NB_SHAPE(1), 200, NB_OPTS(.dtype = NB_INT8));
    NBT_CHECK(wrap == NULL); /* torch: value cannot be converted to type int8_t without overflow */
    nb_clear_error();
    /* rand in [0, 1): float16 and bfloat16 draw float32 values and round */
    nb_manual_seed(3);
    nb_tensor *r = nb_rand(NB_SHAPE(4096), NB_OPTS(.dtype = NB_BFLOAT16));
    nb_tensor *rmax = nb_max(r), *rmin = nb_min(r);
    NBT_CHECK(rmax && rmin && nb_item(rmax) < 1.0 && nb_item(rmin) >= 0.0 && nb_item(rmax) > 0.9);
    nb_tensor *n = nb_randn(NB_SHAPE(4096), NB_OPTS(.dtype = NB_FLOAT16));
    nb_tensor *nm = nb_mean(n);
    NBT_CHECK(nm && fabs(nb_item(nm)) < 0.1 && nb_dtype_of(nm) == NB_FLOAT16);
    nb_tensor *ri = nb_randint(-5, 5, NB_SHAPE(64), NB_OPTS(.dtype = NB_INT8));
    NBT_CHECK(ri && nb_dtype_of(ri) == NB_INT8);
    nb_tensor *all[] = {a, b, c, c0, d, e, f, inf, r, rmax, rmin, n, nm, ri};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) nb_free(all[i]);
}

/* ------------------------------------------------------------------------ */
/* Ops compute in float32 and round once                                     */
/* ------------------------------------------------------------------------ */

/* x in half, then op in half, against op on the float32 copy rounded to
 * half: bit-equal (both compute in float32 and round once). */
static int same_as_float32_rounded(nb_tensor *half_out, nb_tensor *float_out, nb_dtype half)
{
    nb_tensor *rounded = nb_to_dtype(float_out, half);
    nb_tensor *got = half_out ? nb_contiguous(half_out) : NULL;
    int ok = got && rounded && nb_dtype_of(got) == half && nb_numel(got) == nb_numel(rounded) &&
             memcmp(nb_data(got), nb_data(rounded), (size_t)nb_numel(got) * 2) == 0;
    if (!ok && got && rounded) {
        const uint16_t *g = nb_data(got), *w = nb_data(rounded);
        for (int64_t i = 0, shown = 0; i < nb_numel(got) && shown < 3; i++)
            if (g[i] != w[i]) {
                fprintf(stderr, "  [%lld] 0x%04x, float32 rounded 0x%04x\n", (long long)i, g[i], w[i]);
                shown++;
            }
    }
    nb_free(rounded);
    nb_free(got);
    return ok;
}

static void test_ops_round_once(void)
{
    nb_manual_seed(7);
    for (nb_dtype half = NB_FLOAT16; half <= NB_BFLOAT16; half++) {
        nb_tensor *base = nb_randn(NB_SHAPE(37, 19), NB_OPTS());
        nb_tensor *x  = nb_to_dtype(base, half);           /* the half inputs */
        nb_tensor *xf = nb_to_dtype(x, NB_FLOAT32);        /* exactly their values */
        nb_tensor *xt = nb_transpose(x, 0, 1);            /* strided */
        nb_tensor *xft = nb_transpose(xf, 0, 1);
        nb_tensor *ones = nb_ones(NB_SHAPE(19), NB_OPTS(.dtype = half));
        nb_tensor *onesf = nb_ones(NB_SHAPE(19), NB_OPTS());
        struct { const char *name; nb_tensor *h, *f; } cases[] = {
            {"exp", nb_exp(xt), nb_exp(xft)},
            {"tanh", nb_tanh(x), nb_tanh(xf)},
            {"sigmoid", nb_sigmoid(x), nb_sigmoid(xf)},
            {"sqrt", nb_sqrt(x), nb_sqrt(xf)},
            {"add", nb_add(x, ones), nb_add(xf, onesf)},
            {"mul", nb_mul(xt, xt), nb_mul(xft, xft)},
            {"div", nb_div(x, x), nb_div(xf, xf)},
            {"gelu", nb_gelu(x, false), nb_gelu(xf, false)},
            {"sum", nb_sum_dims(x, NB_DIMS(1), false), nb_sum_dims(xf, NB_DIMS(1), false)},
            {"sum all", nb_sum(xt), nb_sum(xft)},
            {"mean", nb_mean_dims(xt, NB_DIMS(0), true), nb_mean_dims(xft, NB_DIMS(0), true)},
            {"amax", nb_amax(x, NB_DIMS(0), false), nb_amax(xf, NB_DIMS(0), false)},
            {"var", nb_var_dims(x, NB_DIMS(1), 1, false), nb_var_dims(xf, NB_DIMS(1), 1, false)},
            {"softmax", nb_softmax(x, 1), nb_softmax(xf, 1)},
            {"cumsum", nb_cumsum(xt, 1), nb_cumsum(xft, 1)},
            {"matmul", nb_matmul(x, xt), nb_matmul(xf, xft)},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            if (!same_as_float32_rounded(cases[i].h, cases[i].f, half))
                fprintf(stderr, "  %s(%s) differs from float32 rounded once (%s)\n", cases[i].name,
                        nb_dtype_name(half), cases[i].h ? "" : nb_last_error());
            NBT_CHECK(cases[i].h != NULL);
            nb_free(cases[i].h);
            nb_free(cases[i].f);
        }
        /* bool results and int64 indices pass straight through */
        nb_tensor *lt = nb_lt(x, ones), *ltf = nb_lt(xf, onesf);
        nb_tensor *eq = lt ? nb_eq(lt, ltf) : NULL;
        nb_tensor *alleq = eq ? nb_all(eq) : NULL;
        NBT_CHECK(alleq && nb_item(alleq) == 1.0);
        nb_tensor *am = nb_argmax_dim(x, 1, false), *amf = nb_argmax_dim(xf, 1, false);
        nb_tensor *ameq = am ? nb_eq(am, amf) : NULL;
        nb_tensor *amall = ameq ? nb_all(ameq) : NULL;
        NBT_CHECK(amall && nb_item(amall) == 1.0);
        nb_tensor *all[] = {base, x, xf, xt, xft, ones, onesf, lt, ltf, eq, alleq, am, amf, ameq, amall};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++) nb_free(all[i]);
    }
    /* NaNs with payloads, infinities, subnormals and ties through the
     * vector conversions of the elementwise kernels (runs of 16 and 8 and a
     * tail): the same bits as the casts, which match torch's */
    for (nb_dtype half = NB_FLOAT16; half <= NB_BFLOAT16; half++) {
        static const uint16_t f16_bits[] = {0x7C01, 0xFE00, 0x7D00, 0xFFFF, 0x3C00, 0x0001, 0x83FF, 0x7C00,
                                            0xFC00, 0x7BFF, 0x8000, 0x3555, 0x0400, 0x7E01, 0xC000, 0x1234};
        static const uint16_t bf16_bits[] = {0x7F81, 0xFFC0, 0x7FFF, 0xFF80, 0x3F80, 0x0001, 0x807F, 0x7F80,
                                             0x7F7F, 0x8000, 0x3EAB, 0x0080, 0xFFC1, 0xC000, 0x1234, 0x4049};
        nb_scope_begin();
        uint16_t bits[75];
        for (int i = 0; i < 75; i++) bits[i] = (half == NB_FLOAT16 ? f16_bits : bf16_bits)[(i * 7) % 16];
        nb_tensor *h = nb_from_data(bits, NB_SHAPE(75), NB_OPTS(.dtype = half));
        nb_tensor *f = nb_to_dtype(h, NB_FLOAT32);
        nb_tensor *third = nb_full(NB_SHAPE(1), 1.0 / 3, NB_OPTS(.dtype = half));
        nb_tensor *third_f = nb_to_dtype(third, NB_FLOAT32);
        NBT_CHECK(same_as_float32_rounded(nb_mul(h, third), nb_mul(f, third_f), half));
        NBT_CHECK(same_as_float32_rounded(nb_abs(h), nb_abs(f), half));
        NBT_CHECK(same_as_float32_rounded(nb_mul_scalar(h, 1.0), nb_mul_scalar(f, 1.0), half));
        nb_scope_end();
    }
    /* convolution and pooling: float32 kernels on the widened inputs */
    for (nb_dtype half = NB_FLOAT16; half <= NB_BFLOAT16; half++) {
        nb_scope_begin();
        nb_tensor *x = nb_to_dtype(nb_randn(NB_SHAPE(2, 3, 7, 6), NB_OPTS()), half);
        nb_tensor *w = nb_to_dtype(nb_randn(NB_SHAPE(4, 3, 3, 3), NB_OPTS()), half);
        nb_tensor *b = nb_to_dtype(nb_randn(NB_SHAPE(4), NB_OPTS()), half);
        nb_tensor *xf = nb_to_dtype(x, NB_FLOAT32), *wf = nb_to_dtype(w, NB_FLOAT32), *bf = nb_to_dtype(b, NB_FLOAT32);
        nb_conv_opts co = NB_CONV_OPTS(.padding = {1, 0}, .stride = {2, 1});
        nb_pool_opts po = NB_POOL_OPTS(.kernel = {2, 3});
        NBT_CHECK(same_as_float32_rounded(nb_conv2d(x, w, b, co), nb_conv2d(xf, wf, bf, co), half));
        NBT_CHECK(same_as_float32_rounded(nb_max_pool2d(x, po, NULL), nb_max_pool2d(xf, po, NULL), half));
        NBT_CHECK(same_as_float32_rounded(nb_avg_pool2d(x, po), nb_avg_pool2d(xf, po), half));
        nb_scope_end();
    }
    /* torch: sum of float16 accumulates in float32: 4096 ones and 1e-3 each
     * would stall at 2048 + ... if accumulated in half */
    nb_tensor *ones = nb_full(NB_SHAPE(4096), 1.0, NB_OPTS(.dtype = NB_FLOAT16));
    nb_tensor *s = nb_sum(ones);
    NBT_CHECK(s && nb_dtype_of(s) == NB_FLOAT16 && nb_item(s) == 4096.0);
    nb_free(ones);
    nb_free(s);
}

static void test_small_integers(void)
{
    /* int8 / int16 wrap as torch, sum gives int64, max keeps the dtype */
    int8_t     v[] = {120, 7, -128, 1};
    nb_tensor *a   = nb_from_data(v, NB_SHAPE(4), NB_OPTS(.dtype = NB_INT8));
    nb_tensor *s   = nb_add(a, a);
    NBT_CHECK_TENSOR_IS(s, NB_INT8, NB_SHAPE(4), (int8_t[]){-16, 14, 0, 2});
    nb_tensor *total = nb_sum(a);
    NBT_CHECK_TENSOR_IS(total, NB_INT64, NB_SHAPE(), (int64_t[]){0});
    nb_tensor *m = nb_max(a);
    NBT_CHECK_TENSOR_IS(m, NB_INT8, NB_SHAPE(), (int8_t[]){120});
    nb_tensor *neg = nb_neg(a);
    NBT_CHECK_TENSOR_IS(neg, NB_INT8, NB_SHAPE(4), (int8_t[]){-120, -7, -128, -1});
    int16_t    w[] = {30000, -3, 7, 1000};
    nb_tensor *b   = nb_from_data(w, NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_INT16));
    nb_tensor *bb  = nb_mul(b, b);
    NBT_CHECK_TENSOR_IS(bb, NB_INT16, NB_SHAPE(2, 2), (int16_t[]){(int16_t)(30000 * 30000 % 65536 - 65536 * 0), 9, 49, 16960});
    nb_tensor *mm = nb_matmul(b, b);
    NBT_CHECK(mm && nb_dtype_of(mm) == NB_INT16);
    nb_tensor *minus2 = nb_full(NB_SHAPE(1), -2, NB_OPTS(.dtype = NB_INT16));
    nb_tensor *fd = nb_floor_divide(b, minus2);
    NBT_CHECK_TENSOR_IS(fd, NB_INT16, NB_SHAPE(2, 2), (int16_t[]){-15000, 1, -4, -500});
    nb_tensor *cs = nb_cumsum(a, 0);
    NBT_CHECK_TENSOR_IS(cs, NB_INT64, NB_SHAPE(4), (int64_t[]){120, 127, -1, 0});
    nb_tensor *sorted_idx = NULL;
    nb_tensor *sorted = nb_sort(a, 0, false, &sorted_idx);
    NBT_CHECK_TENSOR_IS(sorted, NB_INT8, NB_SHAPE(4), (int8_t[]){-128, 1, 7, 120});
    nb_tensor *all[] = {a, s, total, m, neg, b, bb, mm, minus2, fd, cs, sorted, sorted_idx};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) nb_free(all[i]);
}

/* ------------------------------------------------------------------------ */
/* Ops that move elements: exact in every narrow dtype                       */
/* ------------------------------------------------------------------------ */

/* got (any dtype) converted to float64 equals want's values exactly. */
static int same_values(nb_tensor *got, nb_tensor *want)
{
    nb_tensor *g = got ? nb_to_dtype(got, NB_FLOAT64) : NULL, *w = want ? nb_to_dtype(want, NB_FLOAT64) : NULL;
    nb_tensor *eq = g && w ? nb_eq(g, w) : NULL;
    nb_tensor *all = eq ? nb_all(eq) : NULL;
    int ok = all && nb_numel(g) == nb_numel(w) && nb_item(all) == 1.0;
    nb_free(g), nb_free(w), nb_free(eq), nb_free(all);
    return ok;
}

static void test_moving_ops(void)
{
    static const nb_dtype narrow[] = {NB_FLOAT16, NB_BFLOAT16, NB_INT16, NB_INT8};
    int64_t index_values[] = {2, 0, 1, 1, 3, 0};
    for (size_t k = 0; k < sizeof narrow / sizeof *narrow; k++) {
        nb_dtype dt = narrow[k];
        nb_scope_begin();
        /* distinct values every dtype holds exactly */
        nb_tensor *base = nb_sub_scalar(nb_arange(0, 20, 1, NB_OPTS(.dtype = NB_FLOAT64)), 9);
        nb_tensor *wide = nb_transpose(nb_reshape(nb_mul_scalar(base, 3), NB_SHAPE(4, 5)), 0, 1); /* (5, 4) strided */
        nb_tensor *x = nb_to_dtype(wide, dt);
        nb_tensor *xt = nb_transpose(x, 0, 1), *wt = nb_transpose(wide, 0, 1);
        nb_tensor *index = nb_from_data(index_values, NB_SHAPE(3, 2), NB_OPTS(.dtype = NB_INT64));
        nb_tensor *flat_index = nb_reshape(index, NB_SHAPE(6));
        nb_tensor *mask = nb_gt(wide, nb_zeros_like(wide));
        nb_tensor *src = nb_mul_scalar(nb_ones_like(wide), -1);
        nb_tensor *xs[2] = {x, x}, *ws[2] = {wide, wide};
        nb_tensor *values = NULL, *wvalues = NULL;
        struct { const char *name; nb_tensor *got, *want; } cases[] = {
            {"index_select", nb_index_select(x, 0, flat_index), nb_index_select(wide, 0, flat_index)},
            {"gather", nb_gather(xt, 1, index), nb_gather(wt, 1, index)},
            {"scatter", nb_scatter(x, 0, index, nb_to_dtype(src, dt)), nb_scatter(wide, 0, index, src)},
            {"scatter_add", nb_scatter_add(x, 0, index, nb_to_dtype(src, dt)), nb_scatter_add(wide, 0, index, src)},
            {"masked_fill", nb_masked_fill(x, mask, 7), nb_masked_fill(wide, mask, 7)},
            {"masked_select", nb_masked_select(x, mask), nb_masked_select(wide, mask)},
            {"where", nb_where(mask, x, xt ? nb_contiguous(x) : NULL), nb_where(mask, wide, wide)},
            {"cat", nb_cat(xs, 2, 1), nb_cat(ws, 2, 1)},
            {"stack", nb_stack(xs, 2, 0), nb_stack(ws, 2, 0)},
            {"flip", nb_flip(x, NB_DIMS(0, 1)), nb_flip(wide, NB_DIMS(0, 1))},
            {"roll", nb_roll(x, NB_SHAPE(2), NB_DIMS(0)), nb_roll(wide, NB_SHAPE(2), NB_DIMS(0))},
            {"tril", nb_tril(x, 0), nb_tril(wide, 0)},
            {"repeat_interleave", nb_repeat_interleave(x, 2, 1), nb_repeat_interleave(wide, 2, 1)},
            {"take_along_dim", nb_take_along_dim(xt, nb_narrow(index, 0, 0, 1), 1), nb_take_along_dim(wt, nb_narrow(index, 0, 0, 1), 1)},
            {"pad", nb_pad(x, (const int64_t[]){1, 2}, 2, 5), nb_pad(wide, (const int64_t[]){1, 2}, 2, 5)},
            {"sort", nb_sort(x, 0, true, NULL), nb_sort(wide, 0, true, NULL)},
            {"topk", nb_topk(x, 2, 1, false, NULL), nb_topk(wide, 2, 1, false, NULL)},
            {"median", nb_median(x), nb_median(wide)},
            {"max_dim", nb_max_dim(x, 1, false, &values), nb_max_dim(wide, 1, false, &wvalues)},
            {"argmin", nb_argmin_dim(x, 0, true), nb_argmin_dim(wide, 0, true)},
            {"cummax", nb_cummax(x, 0, NULL), nb_cummax(wide, 0, NULL)},
            {"nonzero", nb_nonzero(x), nb_nonzero(wide)},
            {"unique", nb_unique(x, NULL, NULL), nb_unique(wide, NULL, NULL)},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            int ok = same_values(cases[i].got, cases[i].want);
            if (!ok) fprintf(stderr, "  %s(%s) differs from float64's (%s)\n", cases[i].name, nb_dtype_name(dt),
                             cases[i].got ? "" : nb_last_error());
            NBT_CHECK(ok);
            nb_clear_error();
        }
        NBT_CHECK(same_values(values, wvalues)); /* max_dim's indices */
        nb_scope_end();
    }
}

/* ------------------------------------------------------------------------ */
/* Autograd in the half dtypes                                               */
/* ------------------------------------------------------------------------ */

static void test_autograd(void)
{
    for (nb_dtype half = NB_FLOAT16; half <= NB_BFLOAT16; half++) {
        nb_scope_begin();
        nb_tensor *w = nb_full(NB_SHAPE(3, 2), 0.5, NB_OPTS(.dtype = half, .requires_grad = true));
        nb_tensor *x = nb_arange(0, 6, 1, NB_OPTS(.dtype = half));
        nb_tensor *xr = nb_reshape(x, NB_SHAPE(2, 3));
        nb_tensor *y = nb_matmul(xr, w);
        nb_tensor *z = nb_tanh(y);
        nb_tensor *loss = nb_sum(z);
        NBT_CHECK(loss && nb_dtype_of(loss) == half);
        NBT_CHECK(nb_backward(loss) == NB_OK);
        nb_tensor *g = nb_grad(w);
        NBT_CHECK(g && nb_dtype_of(g) == half);
        /* against float32: dw = x^T (1 - tanh(xw)^2), in half precision */
        nb_tensor *wf = nb_full(NB_SHAPE(3, 2), 0.5, NB_OPTS(.requires_grad = true));
        nb_tensor *xf = nb_to_dtype(xr, NB_FLOAT32);
        nb_tensor *lf = nb_sum(nb_tanh(nb_matmul(xf, wf)));
        NBT_CHECK(nb_backward(lf) == NB_OK);
        nb_tensor *gw = g ? nb_to_dtype(g, NB_FLOAT32) : NULL;
        nb_tensor *gf = nb_grad(wf);
        double tol = half == NB_FLOAT16 ? 2e-3 : 2e-2;
        nb_tensor *close = gw && gf ? nb_isclose(gw, gf, tol, tol, false) : NULL;
        nb_tensor *allc = close ? nb_all(close) : NULL;
        NBT_CHECK(allc && nb_item(allc) == 1.0);
        /* the node names are torch's */
        NBT_CHECK(z && strcmp(nb_grad_fn_name(z), "TanhBackward0") == 0);
        NBT_CHECK(y && strcmp(nb_grad_fn_name(y), "MmBackward0") == 0);
        nb_scope_end();
    }
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

static void test_files_native(void)
{
    const uint16_t f16[] = {0x3C00, 0x8001, 0x7BFF, 0xFC00};
    const uint16_t bf16[] = {0x3F80, 0x0001, 0x7F7F, 0xFF80};
    const int16_t  i16[] = {INT16_MIN, -1, 300, INT16_MAX};
    const int8_t   i8[] = {INT8_MIN, -1, 100, INT8_MAX};
    nb_tensor     *t[4] = {nb_from_data(f16, NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_FLOAT16)),
                           nb_from_data(bf16, NB_SHAPE(4), NB_OPTS(.dtype = NB_BFLOAT16)),
                           nb_from_data(i16, NB_SHAPE(4), NB_OPTS(.dtype = NB_INT16)),
                           nb_from_data(i8, NB_SHAPE(4, 1), NB_OPTS(.dtype = NB_INT8))};
    const char *names[4] = {"h", "b", "s", "c"};
    NBT_CHECK(nb_save_safetensors("test_half.safetensors", names, t, 4, NULL, NULL, 0) == NB_OK);
    size_t         size = 0;
    unsigned char *bytes = nbt_read_file("test_half.safetensors", &size);
    /* the reference's layout: BF16, F16, I16, I8 (its dtype order) */
    const char *header = "{\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]},"
                         "\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[8,16]},"
                         "\"s\":{\"dtype\":\"I16\",\"shape\":[4],\"data_offsets\":[16,24]},"
                         "\"c\":{\"dtype\":\"I8\",\"shape\":[4,1],\"data_offsets\":[24,28]}}";
    NBT_CHECK(bytes && size > 8 + strlen(header) && memcmp(bytes + 8, header, strlen(header)) == 0);
    free(bytes);
    nb_safetensors *f = nb_safetensors_load("test_half.safetensors");
    nb_tensor      *back[4];
    for (int i = 0; i < 4; i++) back[i] = f ? nb_safetensors_get(f, names[i]) : NULL;
    NBT_CHECK_TENSOR_IS(back[0], NB_FLOAT16, NB_SHAPE(2, 2), f16);
    NBT_CHECK_TENSOR_IS(back[1], NB_BFLOAT16, NB_SHAPE(4), bf16);
    NBT_CHECK_TENSOR_IS(back[2], NB_INT16, NB_SHAPE(4), i16);
    NBT_CHECK_TENSOR_IS(back[3], NB_INT8, NB_SHAPE(4, 1), i8);
    nb_safetensors_free(f);
    remove("test_half.safetensors");

    /* .npy: float16, int16 and int8 round trip; bfloat16 is refused */
    for (int i = 0; i < 4; i++) {
        nb_status status = nb_save_npy(t[i], "test_half.npy");
        if (i == 1) {
            NBT_CHECK(status == NB_ERR_DTYPE);
            NBT_CHECK_ERROR(NB_ERR_DTYPE, "numpy has no bfloat16");
            continue;
        }
        NBT_CHECK(status == NB_OK);
        nb_tensor *again = nb_load_npy("test_half.npy");
        nb_tensor *same = again ? nb_eq(again, t[i]) : NULL;
        nb_tensor *all = same ? nb_all(same) : NULL;
        NBT_CHECK(again && nb_dtype_of(again) == nb_dtype_of(t[i]) && all && nb_item(all) == 1.0);
        nb_free(again), nb_free(same), nb_free(all);
    }
    remove("test_half.npy");
    for (int i = 0; i < 4; i++) nb_free(t[i]), nb_free(back[i]);
}

/* Reductions read halves and small integers where they lie (no float32 /
 * int32 copy): every layout the kernels tell apart (contiguous rows,
 * strided rows, the columns tiles, runs of several leaves, a NaN) gives
 * float32's result for the same layout, rounded once; int8 / int16 give
 * int64's. */
static void test_reductions_read_narrow_dtypes(void)
{
    nb_manual_seed(11);
    for (nb_dtype half = NB_FLOAT16; half <= NB_BFLOAT16; half++) {
        nb_scope_begin();
        nb_tensor *x = nb_to_dtype(nb_mul_scalar(nb_randn(NB_SHAPE(40, 3, 170), NB_OPTS()), 3.0), half);
        nb_tensor *xf = nb_to_dtype(x, NB_FLOAT32);
        float nan = NAN;
        nb_tensor *nan_h = nb_from_data(&nan, NB_SHAPE(), NB_OPTS());
        nb_copy_(nb_select(nb_select(nb_select(x, 0, 17), 0, 1), 0, 33), nan_h);
        nb_copy_(nb_select(nb_select(nb_select(xf, 0, 17), 0, 1), 0, 33), nan_h);
        nb_tensor *views[][2] = {{x, xf},
                                 {nb_transpose(x, 0, 2), nb_transpose(xf, 0, 2)},
                                 {nb_slice(x, 2, 1, 170, 3), nb_slice(xf, 2, 1, 170, 3)}};
        nb_dims dim_lists[] = {NB_DIMS(0), NB_DIMS(2), NB_DIMS(0, 2), NB_DIMS(1)};
        for (size_t v = 0; v < sizeof views / sizeof *views; v++)
            for (size_t d = 0; d < sizeof dim_lists / sizeof *dim_lists; d++) {
                nb_tensor *h = views[v][0], *f = views[v][1];
                nb_dims    dims = dim_lists[d];
                NBT_CHECK(same_as_float32_rounded(nb_sum_dims(h, dims, false), nb_sum_dims(f, dims, false), half));
                NBT_CHECK(same_as_float32_rounded(nb_mean_dims(h, dims, true), nb_mean_dims(f, dims, true), half));
                NBT_CHECK(same_as_float32_rounded(nb_prod_dims(h, dims, false), nb_prod_dims(f, dims, false), half));
                NBT_CHECK(same_as_float32_rounded(nb_amax(h, dims, false), nb_amax(f, dims, false), half));
                NBT_CHECK(same_as_float32_rounded(nb_amin(h, dims, false), nb_amin(f, dims, false), half));
                NBT_CHECK(same_as_float32_rounded(nb_var_dims(h, dims, 1, false), nb_var_dims(f, dims, 1, false), half));
                NBT_CHECK(same_as_float32_rounded(nb_norm_dims(h, 3.0, dims, false), nb_norm_dims(f, 3.0, dims, false), half));
                NBT_CHECK(same_as_float32_rounded(nb_logsumexp(h, dims, false), nb_logsumexp(f, dims, false), half));
            }
        /* whole tensors of several leaves, and max with its indices */
        NBT_CHECK(same_as_float32_rounded(nb_sum(views[1][0]), nb_sum(views[1][1]), half));
        NBT_CHECK(same_as_float32_rounded(nb_sum(x), nb_sum(xf), half));
        nb_tensor *at = NULL, *at_f = NULL;
        NBT_CHECK(same_as_float32_rounded(nb_max_dim(views[1][0], 1, false, &at), nb_max_dim(views[1][1], 1, false, &at_f), half));
        NBT_CHECK(same_values(at, at_f));
        NBT_CHECK(same_values(nb_argmin(views[2][0]), nb_argmin(views[2][1])));
        nb_scope_end();
    }
    for (nb_dtype small = NB_INT16; small <= NB_INT8; small++) {
        nb_scope_begin();
        double     top = small == NB_INT16 ? 32767 : 127;
        nb_tensor *x   = nb_to_dtype(nb_randint(-(int64_t)top - 1, (int64_t)top + 1, NB_SHAPE(9000, 2), NB_OPTS()), small);
        nb_tensor *x64 = nb_to_dtype(x, NB_INT64);
        nb_tensor *full = nb_full(NB_SHAPE(10000), top, NB_OPTS(.dtype = small)); /* sums past int32's leaf bound */
        NBT_CHECK(same_values(nb_sum(full), nb_full(NB_SHAPE(), 10000 * top, NB_OPTS(.dtype = NB_INT64))));
        nb_tensor *views[][2] = {{x, x64}, {nb_transpose(x, 0, 1), nb_transpose(x64, 0, 1)}};
        for (size_t v = 0; v < 2; v++)
            for (int d = 0; d < 2; d++) {
                nb_tensor *h = views[v][0], *w = views[v][1];
                nb_tensor *sum = nb_sum_dims(h, NB_DIMS(d), false), *max = nb_amax(h, NB_DIMS(d), false);
                NBT_CHECK(sum && nb_dtype_of(sum) == NB_INT64 && max && nb_dtype_of(max) == small);
                NBT_CHECK(same_values(sum, nb_sum_dims(w, NB_DIMS(d), false)));
                NBT_CHECK(same_values(max, nb_amax(w, NB_DIMS(d), false)));
                NBT_CHECK(same_values(nb_amin(h, NB_DIMS(d), true), nb_amin(w, NB_DIMS(d), true)));
                NBT_CHECK(same_values(nb_argmax_dim(h, d, false), nb_argmax_dim(w, d, false)));
            }
        nb_scope_end();
    }
}

/* nn ops on halves compute in float32 and round once, as torch's half
 * kernels (found by the differential runs: means, ranks and range checks
 * once worked in the half dtype or read it as float64). */
static void test_nn_ops_on_halves(void)
{
    for (nb_dtype half = NB_FLOAT16; half <= NB_BFLOAT16; half++) {
        nb_scope_begin();
        nb_tensor *x  = nb_to_dtype(nb_from_data((float[]){100, 100, 100.0625f, 3, -1, 7}, NB_SHAPE(2, 3), NB_OPTS()), half);
        nb_tensor *xf = nb_to_dtype(x, NB_FLOAT32);
        NBT_CHECK(same_as_float32_rounded(nb_layer_norm(x, NB_SHAPE(3), NULL, NULL, 1e-5),
                                          nb_layer_norm(xf, NB_SHAPE(3), NULL, NULL, 1e-5), half));
        nb_tensor *x4 = nb_reshape(x, NB_SHAPE(2, 3, 1)), *x4f = nb_reshape(xf, NB_SHAPE(2, 3, 1));
        NBT_CHECK(same_as_float32_rounded(nb_group_norm(nb_reshape(x, NB_SHAPE(1, 6)), 2, NULL, NULL, 1e-5),
                                          nb_group_norm(nb_reshape(xf, NB_SHAPE(1, 6)), 2, NULL, NULL, 1e-5), half));
        /* batch norm of a half x with float32 statistics and weights (torch's mixed form): the statistics move in float32 */
        nb_tensor *mean = nb_zeros(NB_SHAPE(3), NB_OPTS()), *var = nb_ones(NB_SHAPE(3), NB_OPTS());
        nb_tensor *mean_f = nb_zeros(NB_SHAPE(3), NB_OPTS()), *var_f = nb_ones(NB_SHAPE(3), NB_OPTS());
        nb_tensor *w = nb_full(NB_SHAPE(3), 1.5, NB_OPTS());
        nb_tensor *bn = nb_batch_norm(x4, mean, var, w, NULL, true, 0.1, 1e-5);
        NBT_CHECK(same_as_float32_rounded(bn, nb_batch_norm(x4f, mean_f, var_f, w, NULL, true, 0.1, 1e-5), half));
        NBT_CHECK(same_values(mean, mean_f) && same_values(var, var_f) && nb_item(nb_select(mean, 0, 0)) != 0);
        /* quantile: the rank in float32 (in bfloat16 q (n - 1) = 999.4 is 1000) */
        nb_tensor *steps = nb_to_dtype(nb_cat((nb_tensor *[]){nb_zeros(NB_SHAPE(1000), NB_OPTS()),
                                                              nb_full(NB_SHAPE(1001), 64, NB_OPTS())}, 2, 0), half);
        NBT_CHECK(same_as_float32_rounded(nb_quantile(steps, 0.4997, NB_DIMS(), false, NB_QUANTILE_LINEAR),
                                          nb_quantile(nb_to_dtype(steps, NB_FLOAT32), 0.4997, NB_DIMS(), false,
                                                      NB_QUANTILE_LINEAR), half));
        /* binary cross entropy reads half probabilities as what they are */
        nb_tensor *p = nb_to_dtype(nb_from_data((float[]){0.01f, 0.5f, 0.955f}, NB_SHAPE(3), NB_OPTS()), half);
        nb_tensor *t = nb_to_dtype(nb_from_data((float[]){0, 1, 1}, NB_SHAPE(3), NB_OPTS()), half);
        NBT_CHECK(nb_binary_cross_entropy(p, t, NULL, NB_REDUCTION_MEAN) != NULL);
        nb_tensor *bad = nb_to_dtype(nb_from_data((float[]){0.5f, 1.5f}, NB_SHAPE(2), NB_OPTS()), half);
        NBT_CHECK(nb_binary_cross_entropy(bad, nb_slice(t, 0, 0, 2, 1), NULL, NB_REDUCTION_MEAN) == NULL);
        NBT_CHECK_ERROR(NB_ERR_ARG, "element 1 is 1.5");
        /* linear / addmm with a bias, and attention: float32 throughout, rounded once */
        nb_tensor *a  = nb_to_dtype(nb_randn(NB_SHAPE(5, 7), NB_OPTS()), half), *af = nb_to_dtype(a, NB_FLOAT32);
        nb_tensor *wt = nb_to_dtype(nb_randn(NB_SHAPE(3, 7), NB_OPTS()), half), *wf = nb_to_dtype(wt, NB_FLOAT32);
        nb_tensor *b  = nb_to_dtype(nb_mul_scalar(nb_randn(NB_SHAPE(3), NB_OPTS()), 1e-3), half);
        nb_tensor *bf = nb_to_dtype(b, NB_FLOAT32);
        NBT_CHECK(same_as_float32_rounded(nb_linear(a, wt, b), nb_linear(af, wf, bf), half));
        NBT_CHECK(same_as_float32_rounded(nb_addmm(b, a, nb_t(wt), 0.5, 2), nb_addmm(bf, af, nb_t(wf), 0.5, 2), half));
        nb_tensor *q = nb_to_dtype(nb_randn(NB_SHAPE(2, 4, 8), NB_OPTS()), half), *qf = nb_to_dtype(q, NB_FLOAT32);
        NBT_CHECK(same_as_float32_rounded(nb_scaled_dot_product_attention(q, q, q, NULL, 0, true, 0),
                                          nb_scaled_dot_product_attention(qf, qf, qf, NULL, 0, true, 0), half));
        (void)x4f;
        nb_scope_end();
    }
}

/* The gradients of activations whose torch backward is one kernel
 * (tanh_backward, sigmoid_backward, elu_backward, softplus_backward, ...)
 * compute in float32 from the half inputs (and the half output) and round
 * once, as torch's bfloat16 kernels: bit for bit. */
static void test_activation_gradients_round_once(void)
{
    nb_manual_seed(5);
    for (nb_dtype half = NB_FLOAT16; half <= NB_BFLOAT16; half++) {
        nb_scope_begin();
        nb_tensor *x  = nb_to_dtype(nb_mul_scalar(nb_randn(NB_SHAPE(300), NB_OPTS()), 3), half);
        nb_tensor *g  = nb_to_dtype(nb_randn(NB_SHAPE(300), NB_OPTS()), half);
        nb_tensor *xf = nb_to_dtype(x, NB_FLOAT32), *gf = nb_to_dtype(g, NB_FLOAT32);
        for (int op = 0; op < 4; op++) {
            nb_tensor *leaf = nb_detach(x);
            nb_requires_grad_(leaf, true);
            nb_tensor *y = op == 0 ? nb_tanh(leaf) : op == 1 ? nb_sigmoid(leaf) : op == 2 ? nb_elu(leaf, 1.0)
                                                                                            : nb_softplus(leaf, 1, 20);
            NBT_CHECK(nb_backward_with(y, g, NB_GRAD_OPTS()) == NB_OK);
            nb_tensor *want;
            if (op < 2) { /* from the half output, widened: g (1 - y^2), g y (1 - y) */
                nb_tensor *yf = nb_to_dtype(nb_detach(y), NB_FLOAT32);
                want = op == 0 ? nb_mul(gf, nb_rsub_scalar(nb_mul(yf, yf), 1))
                               : nb_mul(gf, nb_mul(yf, nb_rsub_scalar(yf, 1)));
            } else { /* the float32 op's gradient at the same values */
                nb_tensor *leaf_f = nb_detach(xf);
                nb_requires_grad_(leaf_f, true);
                nb_tensor *yf = op == 2 ? nb_elu(leaf_f, 1.0) : nb_softplus(leaf_f, 1, 20);
                NBT_CHECK(nb_backward_with(yf, gf, NB_GRAD_OPTS()) == NB_OK);
                want = nb_grad(leaf_f);
            }
            if (!same_as_float32_rounded(nb_grad(leaf), want, half))
                fprintf(stderr, "  activation %d (%s)\n", op, nb_dtype_name(half));
            NBT_CHECK(same_as_float32_rounded(nb_grad(leaf), want, half));
        }
        nb_scope_end();
    }
}

int main(void)
{
    NBT_RUN(test_casts_match_torch);
    NBT_RUN(test_names_and_promotion);
    NBT_RUN(test_creation_and_printing);
    NBT_RUN(test_ops_round_once);
    NBT_RUN(test_small_integers);
    NBT_RUN(test_moving_ops);
    NBT_RUN(test_reductions_read_narrow_dtypes);
    NBT_RUN(test_nn_ops_on_halves);
    NBT_RUN(test_activation_gradients_round_once);
    NBT_RUN(test_autograd);
    NBT_RUN(test_files_native);
    return nbt_finish();
}
