/*
 * reduce_columns.c — the columns layout of reductions: the kept innermost dim
 * is contiguous and the reduced run is strided (sum over dim 0 of an (R, C)
 * matrix, or over dim 1 of a transposed one). Instead of one strided walk
 * per output, tiles of NBI_COLUMN_TILE neighbouring outputs are reduced
 * together: each row of the tile is one contiguous load, added into a tile
 * of accumulators. Float sums split the rows pairwise (leaves of VLEAF rows),
 * as the row tree does; threads take whole tiles, so results do not depend
 * on the thread count.
 */
#include "reduce_kernels.h"

static inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Column tiles: TILE contiguous outputs, rows `row_stride` apart. A leaf
 * adds up to VLEAF rows; longer runs split pairwise as the row tree does. */
#define TILE NBI_COLUMN_TILE
#define VLEAF 16

/* Sum of rows x rows (row_stride apart) into acc[0..w). */
#define DEFINE_COLUMN_SUM(suffix, T)                                                                                   \
    static void column_sum_##suffix(const T *x, int64_t rows, int64_t row_stride, int w, T *acc)                       \
    {                                                                                                                  \
        if (rows <= VLEAF) {                                                                                           \
            nbi_reduce_loops_get()->column_sum_##suffix(x, rows, row_stride, w, acc);                                  \
            return;                                                                                                    \
        }                                                                                                              \
        int64_t half = nbi_tree_split(rows, VLEAF);                                                                    \
        T       right[TILE];                                                                                           \
        column_sum_##suffix(x, half, row_stride, w, acc);                                                              \
        column_sum_##suffix(x + half * row_stride, rows - half, row_stride, w, right);                                 \
        for (int j = 0; j < w; j++)                                                                                    \
            acc[j] += right[j];                                                                                        \
    }
DEFINE_COLUMN_SUM(f32, float)
DEFINE_COLUMN_SUM(f64, double)
#undef DEFINE_COLUMN_SUM

/* float16 / bfloat16 columns: each leaf's rows widened into a float32 tile
 * (rows TILE apart), then float32's leaf loop, in the same tree: the sums
 * float32 has for this layout. */
static void widen_rows(float *tile, const char *x, int64_t rows, int64_t row_stride, int w, nb_dtype dtype)
{
    for (int64_t r = 0; r < rows; r++)
        nbi_reduce_widen_half(tile + r * TILE, x + (size_t)(r * row_stride) * 2, w, 1, dtype);
}

static void column_sum_half(const char *x, int64_t rows, int64_t row_stride, int w, nb_dtype dtype, float *acc)
{
    if (rows <= VLEAF) {
        float tile[VLEAF * TILE];
        widen_rows(tile, x, rows, row_stride, w, dtype);
        nbi_reduce_loops_get()->column_sum_f32(tile, rows, TILE, w, acc);
        return;
    }
    int64_t half = nbi_tree_split(rows, VLEAF);
    float   right[TILE];
    column_sum_half(x, half, row_stride, w, dtype, acc);
    column_sum_half(x + (size_t)(half * row_stride) * 2, rows - half, row_stride, w, dtype, right);
    for (int j = 0; j < w; j++)
        acc[j] += right[j];
}

/* Max / min of half columns, VLEAF widened rows at a time; a NaN, once
 * seen, stays (as the float32 loop keeps it). */
static void column_minmax_half(const char *x, int64_t rows, int64_t row_stride, int w, bool is_max, nb_dtype dtype,
                               float *best)
{
    float tile[VLEAF * TILE], part[TILE];
    for (int64_t r0 = 0; r0 < rows; r0 += VLEAF) {
        int64_t m = min_i64(VLEAF, rows - r0);
        widen_rows(tile, x + (size_t)(r0 * row_stride) * 2, m, row_stride, w, dtype);
        nbi_reduce_loops_get()->column_minmax_f32(tile, m, TILE, w, is_max, r0 == 0 ? best : part);
        if (r0 == 0) continue;
        for (int j = 0; j < w; j++) {
            float a = best[j], b = part[j];
            if (a == a && (b != b || (is_max ? b > a : b < a))) best[j] = b;
        }
    }
}

/* w float32 results into values (a half dtype) from column o. */
static void narrow_out(void *values, nb_dtype dtype, int64_t o, const float *v, int w)
{
    uint16_t *out = (uint16_t *)values + o;
    for (int j = 0; j < w; j++)
        out[j] = dtype == NB_BFLOAT16 ? nbi_f32_to_bf16(v[j]) : nbi_f32_to_f16(v[j]);
}

/* Integer column sums wrap exactly, so one pass in any order is the answer. */
#define DEFINE_COLUMN_SUM_INT(suffix, T, LOAD)                                                                         \
    static void column_sum_##suffix(const T *x, int64_t rows, int64_t row_stride, int w, uint64_t *acc)                \
    {                                                                                                                  \
        for (int j = 0; j < w; j++)                                                                                    \
            acc[j] = 0;                                                                                                \
        for (int64_t r = 0; r < rows; r++)                                                                             \
            for (int j = 0; j < w; j++)                                                                                \
                acc[j] += (uint64_t)(LOAD(x[r * row_stride + j]));                                                     \
    }
#define LOAD_SIGNED(v) ((int64_t)(v))
#define LOAD_BOOL(v) ((v) != 0)
DEFINE_COLUMN_SUM_INT(i64, int64_t, LOAD_SIGNED)
DEFINE_COLUMN_SUM_INT(i32, int32_t, LOAD_SIGNED)
DEFINE_COLUMN_SUM_INT(i16, int16_t, LOAD_SIGNED)
DEFINE_COLUMN_SUM_INT(i8, int8_t, LOAD_SIGNED)
DEFINE_COLUMN_SUM_INT(u8, uint8_t, LOAD_SIGNED)
DEFINE_COLUMN_SUM_INT(b8, uint8_t, LOAD_BOOL)
#undef DEFINE_COLUMN_SUM_INT
#undef LOAD_SIGNED
#undef LOAD_BOOL

/* Integer max / min over rows of a tile (floats: reduce_loops.c). */
#define DEFINE_COLUMN_MINMAX(suffix, T)                                                                                \
    static void column_minmax_##suffix(const T *x, int64_t rows, int64_t row_stride, int w, bool is_max, T *best)      \
    {                                                                                                                  \
        for (int j = 0; j < w; j++)                                                                                    \
            best[j] = x[j];                                                                                            \
        for (int64_t r = 1; r < rows; r++) {                                                                           \
            const T *row = x + r * row_stride;                                                                         \
            if (is_max)                                                                                                \
                for (int j = 0; j < w; j++)                                                                            \
                    best[j] = row[j] > best[j] ? row[j] : best[j];                                                     \
            else                                                                                                       \
                for (int j = 0; j < w; j++)                                                                            \
                    best[j] = row[j] < best[j] ? row[j] : best[j];                                                     \
        }                                                                                                              \
    }
DEFINE_COLUMN_MINMAX(i64, int64_t)
DEFINE_COLUMN_MINMAX(i32, int32_t)
DEFINE_COLUMN_MINMAX(i16, int16_t)
DEFINE_COLUMN_MINMAX(i8, int8_t)
DEFINE_COLUMN_MINMAX(u8, uint8_t)
#undef DEFINE_COLUMN_MINMAX

typedef struct {
    const nbi_reduce_plan *plan;
    const nbi_reduce_job  *job;
    size_t                 itemsize;
    int64_t                row_stride; /* plan->stride in elements: the loops index typed pointers */
    int64_t                columns;    /* innermost kept size */
    int64_t                tiles;      /* per outer index */
} columns_ctx;

static void column_tile(const columns_ctx *c, int64_t item)
{
    const nbi_reduce_plan *plan  = c->plan;
    const nbi_reduce_job  *job   = c->job;
    int64_t                outer = item / c->tiles, tile = item % c->tiles;
    /* Input byte offset of the outer index: every kept dim but the innermost. */
    int64_t offset = 0, rest = outer;
    for (int d = plan->nkept - 2; d >= 0; d--) {
        offset += (rest % plan->kept_size[d]) * plan->kept_stride[d];
        rest /= plan->kept_size[d];
    }
    int64_t     first_column = tile * TILE;
    int         w            = (int)min_i64(TILE, c->columns - first_column);
    int64_t     o            = outer * c->columns + first_column;
    size_t      item_size    = c->itemsize;
    const char *x            = plan->base + offset + (size_t)first_column * item_size;
    int64_t     n = plan->n, rs = c->row_stride;
    bool        is_max = job->op == NBI_REDUCE_max;

    if (job->op == NBI_REDUCE_max || job->op == NBI_REDUCE_min) {
        char                   *out   = (char *)job->values + (size_t)o * item_size;
        const nbi_reduce_loops *loops = nbi_reduce_loops_get();
        switch (plan->dtype) {
        case NB_FLOAT32:
            loops->column_minmax_f32((const float *)x, n, rs, w, is_max, (float *)out);
            break;
        case NB_FLOAT64:
            loops->column_minmax_f64((const double *)x, n, rs, w, is_max, (double *)out);
            break;
        case NB_INT64:
            column_minmax_i64((const int64_t *)x, n, rs, w, is_max, (int64_t *)out);
            break;
        case NB_INT32:
            column_minmax_i32((const int32_t *)x, n, rs, w, is_max, (int32_t *)out);
            break;
        case NB_INT16:
            column_minmax_i16((const int16_t *)x, n, rs, w, is_max, (int16_t *)out);
            break;
        case NB_INT8:
            column_minmax_i8((const int8_t *)x, n, rs, w, is_max, (int8_t *)out);
            break;
        case NB_FLOAT16:
        case NB_BFLOAT16: {
            float best[TILE];
            column_minmax_half(x, n, rs, w, is_max, plan->dtype, best);
            narrow_out(job->values, plan->dtype, o, best, w);
            break;
        }
        default:
            column_minmax_u8((const uint8_t *)x, n, rs, w, is_max, (uint8_t *)out);
            break;
        }
        return;
    }
    bool mean = job->op == NBI_REDUCE_mean;
    if (plan->dtype == NB_FLOAT32) {
        float *out = (float *)job->values + o;
        column_sum_f32((const float *)x, n, rs, w, out);
        if (mean)
            for (int j = 0; j < w; j++)
                out[j] /= (float)n;
    } else if (plan->dtype == NB_FLOAT64) {
        double *out = (double *)job->values + o;
        column_sum_f64((const double *)x, n, rs, w, out);
        if (mean)
            for (int j = 0; j < w; j++)
                out[j] /= (double)n;
    } else if (nbi_is_half(plan->dtype)) {
        float acc[TILE];
        column_sum_half(x, n, rs, w, plan->dtype, acc);
        if (mean)
            for (int j = 0; j < w; j++)
                acc[j] /= (float)n;
        narrow_out(job->values, plan->dtype, o, acc, w);
    } else {
        uint64_t acc[TILE];
        switch (plan->dtype) {
        case NB_INT64:
            column_sum_i64((const int64_t *)x, n, rs, w, acc);
            break;
        case NB_INT32:
            column_sum_i32((const int32_t *)x, n, rs, w, acc);
            break;
        case NB_INT16:
            column_sum_i16((const int16_t *)x, n, rs, w, acc);
            break;
        case NB_INT8:
            column_sum_i8((const int8_t *)x, n, rs, w, acc);
            break;
        case NB_UINT8:
            column_sum_u8((const uint8_t *)x, n, rs, w, acc);
            break;
        default:
            column_sum_b8((const uint8_t *)x, n, rs, w, acc);
            break;
        }
        int64_t *out = (int64_t *)job->values + o;
        for (int j = 0; j < w; j++)
            out[j] = (int64_t)acc[j];
    }
}

static void columns_body(int64_t begin, int64_t end, void *ctx)
{
    for (int64_t item = begin; item < end; item++)
        column_tile(ctx, item);
}

/* The columns layout applies: the innermost kept dim is contiguous and wide
 * enough, the run is strided and long enough, and the op has tile loops. */
static bool use_columns(const nbi_reduce_plan *plan, const nbi_reduce_job *job, int64_t itemsize)
{
    bool tile_op = job->op == NBI_REDUCE_sum || job->op == NBI_REDUCE_mean || job->op == NBI_REDUCE_max ||
                   job->op == NBI_REDUCE_min;
    return tile_op && plan->nkept >= 1 && plan->kept_stride[plan->nkept - 1] == itemsize &&
           plan->kept_size[plan->nkept - 1] >= 8 && plan->n >= 2 && plan->stride != itemsize;
}

bool nbi_reduce_columns(const nbi_reduce_plan *plan, const nbi_reduce_job *job, size_t itemsize)
{
    if (!use_columns(plan, job, (int64_t)itemsize)) return false;
    columns_ctx c = {.plan       = plan,
                     .job        = job,
                     .itemsize   = itemsize,
                     .row_stride = plan->stride / (int64_t)itemsize,
                     .columns    = plan->kept_size[plan->nkept - 1]};
    c.tiles       = (c.columns + TILE - 1) / TILE;
    int64_t items = plan->out_numel / c.columns * c.tiles;
    int64_t grain = NBI_PARALLEL_GRAIN / (plan->n * TILE) + 1;
    nbi_parallel_for(items, grain, columns_body, &c);
    return true;
}
