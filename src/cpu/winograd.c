/*
 * winograd.c — the three convolution products by F(2x2, 3x3) (winograd.h
 * says why and what). The output is cut into 2x2 blocks, "tiles"; a unit
 * is a rectangle of tiles of one image (the whole image when it is small),
 * and a block of a few units is what a thread takes:
 *
 *   1. its input tiles are transformed (V, TAPS x tiles x in_ch, channels
 *      innermost), NBI_WINOGRAD_LANES channels at a time, from the unit's
 *      input rows copied channel-interleaved;
 *   2. one GEMM per tap xi: M[xi] (tiles x out_ch) = V[xi] U[xi];
 *   3. the output transform writes the unit's output rows.
 *
 * The weight gradient transforms the output's gradient instead of step 3
 * and multiplies the other way (dU[xi] += V[xi]^T D[xi]), summing a fixed
 * number of pieces of the blocks in order. A block's buffers (V and M) are
 * sized to stay in the core's L2 cache between the steps.
 */
#include "winograd.h"

#include "cpu_features.h"
#include "gemm.h"

#include <stdatomic.h>
#include <string.h>

#define L NBI_WINOGRAD_LANES

/* TAPS: the 4x4 positions of a transformed tile. BLOCK_FLOATS: the target
 * size of a block's V and M together (512 KiB of float32, half the L2 of a
 * Zen 4 core), which sets the tiles per block, but at least MIN_BLOCK_TILES
 * (each GEMM's rows, and the weight gradient's k): with 256 channels each
 * way the 16-tile blocks of the L2 target made the backward 1.2x slower.
 * PIECES: the weight gradient's partial sums at most, and PARTIAL_FLOATS
 * their size together at most (64 MiB: 512 channels each way get 4). */
enum { TAPS = 16, BLOCK_FLOATS = 1 << 17, MIN_BLOCK_TILES = 64, PIECES = 16, PARTIAL_FLOATS = 1 << 24 };

const nbi_winograd_kernels *nbi_winograd_kernels_for(nbi_cpu_level level)
{
    if (level > nbi_cpu_level_used()) return NULL;
#if NB_HAVE_X86_ISAS
    if (level == NBI_CPU_AVX512) return &nbi_winograd_kernels_avx512;
    if (level == NBI_CPU_AVX2) return &nbi_winograd_kernels_avx2;
#endif
    return level == NBI_CPU_BASELINE ? &nbi_winograd_kernels_baseline : NULL;
}

bool nbi_winograd_applies(nb_dtype dtype, const nbi_conv_shape *s)
{
    return dtype == NB_FLOAT32 && s->groups == 1 && s->kernel_h == 3 && s->kernel_w == 3 && s->stride_h == 1 &&
           s->stride_w == 1 && s->dilation_h == 1 && s->dilation_w == 1 && s->pad_h >= 0 && s->pad_h <= 2 &&
           s->pad_w >= 0 && s->pad_w <= 2 && s->batch > 0 && s->channels > 0 && s->channels % L == 0 &&
           s->out_channels > 0 && s->out_channels % L == 0 && s->out_h > 0 && s->out_w > 0;
}

/* ------------------------------------------------------------------------ */
/* Tiling                                                                    */
/* ------------------------------------------------------------------------ */

/* One convolution as tiles: in (N, in_ch, in_h, in_w) to out (N, out_ch,
 * out_h, out_w); tile (ty, tx) reads input rows 2 ty - pad_h + [0, 4) and
 * columns 2 tx - pad_w + [0, 4) (zero outside) and makes output rows 2 ty +
 * [0, 2), columns 2 tx + [0, 2) (dropped outside). A unit is a rectangle of
 * tiles of one image: the whole image when it is small, else unit_rows tile
 * rows, else a segment of seg_w tiles of one row. Its pixels are copied
 * channel-interleaved once per NBI_WINOGRAD_LANES channels; a whole image's
 * 16 planes are one contiguous run, which the copy then streams. A block
 * is units_per_block units, about target tiles. */
typedef struct {
    const nbi_winograd_kernels *k;
    int64_t                     batch, in_ch, out_ch, in_h, in_w, out_h, out_w, pad_h, pad_w;
    int64_t                     tiles_h, tiles_w, unit_rows, seg_w, row_groups, segs, units, units_per_block;
    int64_t                     blocks, block_tiles;
    const float                *in, *u, *bias, *grad; /* grad: the output's gradient (weight_grad) */
    float                      *out;
    int64_t                     pieces;   /* weight_grad: partial sums, each TAPS x in_ch x out_ch */
    float                      *partials; /* pieces of them */
    atomic_int                  failed;
} tiling;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static tiling tiling_of(int64_t batch, int64_t in_ch, int64_t out_ch, int64_t in_h, int64_t in_w, int64_t out_h,
                        int64_t out_w, int64_t pad_h, int64_t pad_w)
{
    tiling g = {.k = nbi_winograd_kernels_for(nbi_cpu_level_used()), .batch = batch, .in_ch = in_ch,
                .out_ch = out_ch, .in_h = in_h, .in_w = in_w, .out_h = out_h, .out_w = out_w, .pad_h = pad_h,
                .pad_w = pad_w};
    g.tiles_h      = (out_h + 1) / 2;
    g.tiles_w      = (out_w + 1) / 2;
    int64_t target = max64(BLOCK_FLOATS / (TAPS * (in_ch + out_ch)), MIN_BLOCK_TILES);
    g.seg_w        = min64(g.tiles_w, target);
    g.unit_rows    = min64(g.tiles_h, max64(1, target / g.seg_w));
    g.row_groups   = (g.tiles_h + g.unit_rows - 1) / g.unit_rows;
    g.segs         = (g.tiles_w + g.seg_w - 1) / g.seg_w;
    g.units        = batch * g.row_groups * g.segs;
    /* whole small images: as many as come nearest the target */
    int64_t unit_tiles = g.unit_rows * g.seg_w;
    g.units_per_block  = max64(1, (target + unit_tiles / 2) / unit_tiles);
    g.blocks           = (g.units + g.units_per_block - 1) / g.units_per_block;
    g.block_tiles      = g.units_per_block * unit_tiles;
    atomic_init(&g.failed, 0);
    return g;
}

/* Unit u: image n, tile rows [ty, ty + rows), tiles [tx, tx + count) of each. */
typedef struct {
    int64_t n, ty, rows, tx, count;
} unit;

static unit unit_of(const tiling *g, int64_t u)
{
    int64_t group = u / g->segs % g->row_groups, seg = u % g->segs;
    unit    t     = {.n = u / (g->segs * g->row_groups), .ty = group * g->unit_rows, .tx = seg * g->seg_w};
    t.rows        = min64(g->unit_rows, g->tiles_h - t.ty);
    t.count       = min64(g->seg_w, g->tiles_w - t.tx);
    return t;
}

/* Units [first, last) of block b, and its tiles. */
static void block_units(const tiling *g, int64_t b, int64_t *first, int64_t *last, int64_t *tiles)
{
    *first = b * g->units_per_block;
    *last  = min64(*first + g->units_per_block, g->units);
    *tiles = 0;
    for (int64_t u = *first; u < *last; u++) {
        unit t = unit_of(g, u);
        *tiles += t.rows * t.count;
    }
}

/* A share's buffers: V and M (or D) of one block, and two bands of pixels
 * L channels deep, band_width pixels a row: the input rows of a unit
 * (2 unit_rows + 2) and its output rows (2 unit_rows). */
typedef struct {
    float *v, *m, *in_band, *out_band;
    size_t bytes;
} scratch;

static int64_t band_width(const tiling *g) { return 2 * g->seg_w + 2; }

static bool scratch_get(const tiling *g, scratch *s)
{
    size_t v_floats = (size_t)(TAPS * g->block_tiles * g->in_ch);
    size_t m_floats = (size_t)(TAPS * g->block_tiles * g->out_ch);
    size_t row      = (size_t)(band_width(g) * L);
    s->bytes        = (v_floats + m_floats + (size_t)(4 * g->unit_rows + 2) * row) * sizeof(float);
    s->v            = nbi_host_alloc(s->bytes);
    if (s->v == NULL) return false;
    s->m        = s->v + v_floats;
    s->in_band  = s->m + m_floats;
    s->out_band = s->in_band + (size_t)(2 * g->unit_rows + 2) * row;
    return true;
}

static void scratch_release(scratch *s) { nbi_host_release(s->v, s->bytes); }

/* count pixels of a band row from row src_row of L planes, starting at
 * column first (may be negative); zero outside the image. */
static void load_band_row(const tiling *g, const float *src_row, int64_t plane, int64_t width, int64_t first,
                          int64_t count, float *row)
{
    int64_t lo = first < 0 ? -first : 0, hi = width - first < count ? width - first : count;
    if (hi <= lo) {
        memset(row, 0, sizeof(float) * (size_t)(count * L));
        return;
    }
    memset(row, 0, sizeof(float) * (size_t)(lo * L));
    g->k->gather(src_row + first + lo, plane, hi - lo, row + lo * L);
    memset(row + hi * L, 0, sizeof(float) * (size_t)((count - hi) * L));
}

/* rows x count pixels of L planes (height x width each) from row first_row,
 * column first_col, into band (rows band_w pixels apart); zero outside. */
static void load_band(const tiling *g, const float *planes, int64_t height, int64_t width, int64_t first_row,
                      int64_t rows, int64_t first_col, int64_t count, float *band)
{
    const int64_t band_w = band_width(g);
    for (int64_t i = 0; i < rows; i++) {
        int64_t h   = first_row + i;
        float  *row = band + i * band_w * L;
        if (h < 0 || h >= height)
            memset(row, 0, sizeof(float) * (size_t)(count * L));
        else
            load_band_row(g, planes + h * width, height * width, width, first_col, count, row);
    }
}

/* V (TAPS x tiles x in_ch) of the units [first, last) of a block. */
static void transform_inputs(const tiling *g, int64_t first, int64_t last, int64_t tiles, float *v, float *band)
{
    const int64_t plane = g->in_h * g->in_w, band_w = band_width(g);
    int64_t       t0    = 0;
    for (int64_t u = first; u < last; u++) {
        unit t = unit_of(g, u);
        for (int64_t c0 = 0; c0 < g->in_ch; c0 += L) {
            load_band(g, g->in + (t.n * g->in_ch + c0) * plane, g->in_h, g->in_w, 2 * t.ty - g->pad_h,
                      2 * t.rows + 2, 2 * t.tx - g->pad_w, 2 * t.count + 2, band);
            for (int64_t r = 0; r < t.rows; r++)
                g->k->input_tiles(band + 2 * r * band_w * L, band_w, t.count, v + (t0 + r * t.count) * g->in_ch + c0,
                                  g->in_ch, tiles * g->in_ch);
        }
        t0 += t.rows * t.count;
    }
}

/* ------------------------------------------------------------------------ */
/* Forward (and, with the kernel flipped, the transposed product)            */
/* ------------------------------------------------------------------------ */

static bool convolve_block(const tiling *g, int64_t b, const scratch *s)
{
    int64_t first, last, tiles;
    block_units(g, b, &first, &last, &tiles);
    transform_inputs(g, first, last, tiles, s->v, s->in_band);
    for (int64_t xi = 0; xi < TAPS; xi++)
        if (nbi_gemm_f32(false, false, tiles, g->out_ch, g->in_ch, 1.0f, s->v + xi * tiles * g->in_ch, g->in_ch,
                         g->u + xi * g->in_ch * g->out_ch, g->out_ch, 0.0f, s->m + xi * tiles * g->out_ch,
                         g->out_ch) != NB_OK)
            return true;
    const int64_t plane = g->out_h * g->out_w, band_w = band_width(g);
    int64_t       t0    = 0;
    for (int64_t u = first; u < last; u++) {
        unit    t = unit_of(g, u);
        int64_t q = 2 * t.tx, width = min64(g->out_w - q, 2 * t.count);
        int64_t p = 2 * t.ty, height = min64(g->out_h - p, 2 * t.rows);
        for (int64_t o0 = 0; o0 < g->out_ch; o0 += L) {
            for (int64_t r = 0; r < t.rows; r++)
                g->k->output_tiles(s->m + (t0 + r * t.count) * g->out_ch + o0, g->out_ch, tiles * g->out_ch, t.count,
                                   s->out_band + 2 * r * band_w * L, band_w);
            for (int64_t a = 0; a < height; a++)
                g->k->scatter(s->out_band + a * band_w * L, width, g->bias ? g->bias + o0 : NULL,
                              g->out + ((t.n * g->out_ch + o0) * g->out_h + p + a) * g->out_w + q, plane);
        }
        t0 += t.rows * t.count;
    }
    return false;
}

static void convolve_share(int64_t begin, int64_t end, void *ctx)
{
    tiling *g = ctx;
    scratch s;
    bool    have = scratch_get(g, &s), failed = !have;
    for (int64_t b = begin; b < end && !failed; b++)
        failed = convolve_block(g, b, &s);
    if (have) scratch_release(&s);
    if (failed) atomic_store(&g->failed, 1);
}

static nb_status out_of_memory(void) { return nbi_fail_status(NB_ERR_OOM, "out of memory for the Winograd buffers"); }

/* U (TAPS x in_ch x out_ch) of the weights: U[xi][c][o] = (G g G^T)[xi] for
 * kernel g (3x3) at w + (o * C + c) * 9 (forward: in_ch C, out_ch O), or of
 * g flipped with the roles swapped (transposed: in_ch O, out_ch C). G = [1 0
 * 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. */
static void transform_kernels(const nbi_conv_shape *s, const float *w, bool transposed, float *u)
{
    const int64_t C = s->channels, O = s->out_channels, taps = C * O;
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++) {
            const float *g = w + (o * C + c) * 9;
            float        k[3][3], t[4][3];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    k[i][j] = transposed ? g[(2 - i) * 3 + (2 - j)] : g[i * 3 + j];
            for (int j = 0; j < 3; j++) {
                t[0][j] = k[0][j];
                t[1][j] = (k[0][j] + k[1][j] + k[2][j]) * 0.5f;
                t[2][j] = (k[0][j] - k[1][j] + k[2][j]) * 0.5f;
                t[3][j] = k[2][j];
            }
            float *out = u + (transposed ? o * C + c : c * O + o);
            for (int i = 0; i < 4; i++) {
                out[(4 * i + 0) * taps] = t[i][0];
                out[(4 * i + 1) * taps] = (t[i][0] + t[i][1] + t[i][2]) * 0.5f;
                out[(4 * i + 2) * taps] = (t[i][0] - t[i][1] + t[i][2]) * 0.5f;
                out[(4 * i + 3) * taps] = t[i][2];
            }
        }
}

static nb_status convolve(tiling *g, const nbi_conv_shape *s, const float *w, bool transposed)
{
    size_t bytes = sizeof(float) * (size_t)(TAPS * s->channels * s->out_channels);
    float *u     = nbi_host_alloc(bytes);
    if (u == NULL) return out_of_memory();
    transform_kernels(s, w, transposed, u);
    g->u = u;
    nbi_parallel_for(g->blocks, 1, convolve_share, g);
    nbi_host_release(u, bytes);
    return atomic_load(&g->failed) ? out_of_memory() : NB_OK;
}

nb_status nbi_winograd_forward(const nbi_conv_shape *s, const float *x, const float *w, const float *bias, float *y)
{
    tiling g = tiling_of(s->batch, s->channels, s->out_channels, s->height, s->width, s->out_h, s->out_w, s->pad_h,
                         s->pad_w);
    g.in = x, g.bias = bias, g.out = y;
    return convolve(&g, s, w, false);
}

/* The adjoint in x is the convolution of y by the flipped kernel, with
 * padding 2 - pad (so the output is H x W again). */
nb_status nbi_winograd_input_grad(const nbi_conv_shape *s, const float *y, const float *w, const float *bias, float *x)
{
    tiling g = tiling_of(s->batch, s->out_channels, s->channels, s->out_h, s->out_w, s->height, s->width,
                         2 - s->pad_h, 2 - s->pad_w);
    g.in = y, g.bias = bias, g.out = x;
    return convolve(&g, s, w, true);
}

/* ------------------------------------------------------------------------ */
/* Weight gradient                                                           */
/* ------------------------------------------------------------------------ */

/* dU[xi] (in_ch x out_ch) = V[xi]^T D[xi] over block b, added to dU unless
 * first; D = A dY A^T of the output's gradient. */
static bool weight_grad_block(const tiling *g, int64_t b, bool first_block, float *du, const scratch *s)
{
    int64_t first, last, tiles;
    block_units(g, b, &first, &last, &tiles);
    transform_inputs(g, first, last, tiles, s->v, s->in_band);
    const int64_t plane = g->out_h * g->out_w, band_w = band_width(g);
    int64_t       t0    = 0;
    for (int64_t u = first; u < last; u++) {
        unit t = unit_of(g, u);
        for (int64_t o0 = 0; o0 < g->out_ch; o0 += L) {
            load_band(g, g->grad + (t.n * g->out_ch + o0) * plane, g->out_h, g->out_w, 2 * t.ty, 2 * t.rows, 2 * t.tx,
                      2 * t.count, s->out_band);
            for (int64_t r = 0; r < t.rows; r++)
                g->k->gradient_tiles(s->out_band + 2 * r * band_w * L, band_w, t.count,
                                     s->m + (t0 + r * t.count) * g->out_ch + o0, g->out_ch, tiles * g->out_ch);
        }
        t0 += t.rows * t.count;
    }
    for (int64_t xi = 0; xi < TAPS; xi++)
        if (nbi_gemm_f32(true, false, g->in_ch, g->out_ch, tiles, 1.0f, s->v + xi * tiles * g->in_ch, g->in_ch,
                         s->m + xi * tiles * g->out_ch, g->out_ch, first_block ? 0.0f : 1.0f,
                         du + xi * g->in_ch * g->out_ch, g->out_ch) != NB_OK)
            return true;
    return false;
}

/* Pieces [begin, end): piece p sums the blocks [blocks p / pieces, blocks
 * (p + 1) / pieces) into its partial. */
static void weight_grad_share(int64_t begin, int64_t end, void *ctx)
{
    tiling *g = ctx;
    scratch s;
    bool    have = scratch_get(g, &s), failed = !have;
    for (int64_t piece = begin; piece < end && !failed; piece++) {
        float  *du = g->partials + piece * TAPS * g->in_ch * g->out_ch;
        int64_t b0 = g->blocks * piece / g->pieces, b1 = g->blocks * (piece + 1) / g->pieces;
        for (int64_t b = b0; b < b1 && !failed; b++)
            failed = weight_grad_block(g, b, b == b0, du, &s);
    }
    if (have) scratch_release(&s);
    if (failed) atomic_store(&g->failed, 1);
}

/* w[o][c] = G^T dU[.][c][o] G, the adjoint of transform_kernels. */
static void kernel_gradients(const nbi_conv_shape *s, const float *du, float *w)
{
    const int64_t C = s->channels, O = s->out_channels, taps = C * O;
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++) {
            const float *in = du + c * O + o;
            float        t[4][3]; /* dU G */
            for (int i = 0; i < 4; i++) {
                float m0 = in[(4 * i) * taps], m1 = in[(4 * i + 1) * taps];
                float m2 = in[(4 * i + 2) * taps], m3 = in[(4 * i + 3) * taps];
                t[i][0] = m0 + (m1 + m2) * 0.5f;
                t[i][1] = (m1 - m2) * 0.5f;
                t[i][2] = (m1 + m2) * 0.5f + m3;
            }
            float *g = w + (o * C + c) * 9;
            for (int j = 0; j < 3; j++) {
                g[0 * 3 + j] = t[0][j] + (t[1][j] + t[2][j]) * 0.5f;
                g[1 * 3 + j] = (t[1][j] - t[2][j]) * 0.5f;
                g[2 * 3 + j] = (t[1][j] + t[2][j]) * 0.5f + t[3][j];
            }
        }
}

nb_status nbi_winograd_weight_grad(const nbi_conv_shape *s, const float *x, const float *y, float *w)
{
    tiling g = tiling_of(s->batch, s->channels, s->out_channels, s->height, s->width, s->out_h, s->out_w, s->pad_h,
                         s->pad_w);
    g.in = x, g.grad = y;
    /* NOTE: the pieces depend on the shapes only, so the summed gradient is
     * bit-identical at any number of threads. */
    const int64_t size = TAPS * s->channels * s->out_channels;
    g.pieces           = min64(min64(g.blocks, PIECES), max64(1, PARTIAL_FLOATS / size));
    size_t        bytes = sizeof(float) * (size_t)(g.pieces * size);
    g.partials          = nbi_host_alloc(bytes);
    if (g.partials == NULL) return out_of_memory();
    nbi_parallel_for(g.pieces, 1, weight_grad_share, &g);
    nb_status status = NB_OK;
    if (atomic_load(&g.failed)) {
        status = out_of_memory();
    } else {
        for (int64_t piece = 1; piece < g.pieces; piece++) /* in piece order */
            for (int64_t i = 0; i < size; i++)
                g.partials[i] += g.partials[piece * size + i];
        kernel_gradients(s, g.partials, w);
    }
    nbi_host_release(g.partials, bytes);
    return status;
}
