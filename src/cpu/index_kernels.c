/*
 * index_kernels.c — indexing on the CPU: a row-major walker over an
 * nbi_walk (core/index_args.h) and the kernels that run on it for
 * ops/index.c (index range checks, gather, scatter, masked_select, nonzero,
 * one_hot), plus masked_fill over the elementwise iterator.
 *
 * The walk visits positions in row-major order and hands a row function
 * runs of one row at a time; large walks are cut into pieces for the
 * thread pool. Scatter's pieces are whole rows (the scattered dim is
 * innermost, so each row owns its output elements: no races, and repeated
 * indices resolve in order, last write wins). masked_select and nonzero
 * run twice over fixed pieces, counting then writing, so that each piece
 * knows where its output starts.
 */
#include "index_kernels.h"

/* ------------------------------------------------------------------------ */
/* The row-major walker                                                      */
/* ------------------------------------------------------------------------ */

/* row(ctx, ptr, step, n, first): n elements of one row, operand k at
 * ptr[k] advancing step[k] bytes; first is the row-major position of the
 * first of them. */
typedef void (*walk_row_fn)(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first);

/* The address of operand k at row-major position pos. */
static char *walk_ptr(const nbi_walk *w, int k, int64_t pos)
{
    char *p = w->base[k];
    for (int d = w->ndim - 1; d >= 0; d--) {
        p += (pos % w->shape[d]) * w->stride[k][d];
        pos /= w->shape[d];
    }
    return p;
}

/* Run row over positions [begin, end), in order. */
static void walk_range(const nbi_walk *w, int64_t begin, int64_t end, walk_row_fn row, void *ctx)
{
    int     last  = w->ndim - 1;
    int64_t inner = w->shape[last];
    if (begin >= end || inner == 0) return;
    int64_t coord[NB_MAX_DIMS];
    int64_t rest = begin;
    for (int d = last; d >= 0; d--) {
        coord[d] = rest % w->shape[d];
        rest /= w->shape[d];
    }
    char *ptr[NBI_WALK_MAX_OPERANDS];
    for (int k = 0; k < w->noperands; k++)
        ptr[k] = walk_ptr(w, k, begin);
    int64_t step[NBI_WALK_MAX_OPERANDS];
    for (int k = 0; k < w->noperands; k++)
        step[k] = w->stride[k][last];
    int64_t pos = begin;
    while (pos < end) {
        int64_t n = inner - coord[last];
        if (n > end - pos) n = end - pos;
        row(ctx, ptr, step, n, pos);
        pos += n;
        if (pos >= end) break;
        /* Carry into the outer dims; rewind the inner one. */
        for (int k = 0; k < w->noperands; k++)
            ptr[k] -= coord[last] * step[k];
        coord[last] = 0;
        for (int d = last - 1; d >= 0; d--) {
            for (int k = 0; k < w->noperands; k++)
                ptr[k] += w->stride[k][d];
            if (++coord[d] < w->shape[d]) break;
            for (int k = 0; k < w->noperands; k++)
                ptr[k] -= coord[d] * w->stride[k][d];
            coord[d] = 0;
        }
    }
}

typedef struct {
    const nbi_walk *w;
    walk_row_fn     row;
    void           *ctx;
    int64_t         inner; /* positions per unit of work: 1, or a whole row */
} walk_job;

static void walk_piece(int64_t begin, int64_t end, void *arg)
{
    const walk_job *job = arg;
    walk_range(job->w, begin * job->inner, end * job->inner, job->row, job->ctx);
}

/* Run row over the whole walk, on threads when it is large. With
 * whole_rows, a thread's piece never cuts a row in two: rows must then be
 * independent, which is how scatter avoids races. */
static void walk_run(const nbi_walk *w, bool whole_rows, walk_row_fn row, void *ctx)
{
    if (w->numel == 0) return;
    walk_job job   = {w, row, ctx, whole_rows ? w->shape[w->ndim - 1] : 1};
    int64_t  units = w->numel / job.inner;
    int64_t  grain = NBI_PARALLEL_GRAIN / job.inner;
    nbi_parallel_for(units, grain > 0 ? grain : 1, walk_piece, &job);
}

/* ------------------------------------------------------------------------ */
/* Scans of an index                                                         */
/* ------------------------------------------------------------------------ */

typedef struct {
    int64_t             size;      /* valid indices are [0, size) */
    atomic_int_fast64_t first_bad; /* lowest bad position, INT64_MAX if none */
} range_check;

static void check_range_row(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first)
{
    range_check *check = ctx;
    for (int64_t i = 0; i < n; i++) {
        int64_t value = *(const int64_t *)(ptr[0] + i * step[0]);
        if (value < 0 || value >= check->size) {
            int_fast64_t seen = atomic_load(&check->first_bad);
            while (first + i < seen && !atomic_compare_exchange_weak(&check->first_bad, &seen, first + i)) {
            }
            return;
        }
    }
}

int64_t nbi_cpu_index_check(const nbi_walk *index, int64_t size, int64_t *bad_value)
{
    range_check check = {.size = size};
    atomic_init(&check.first_bad, INT64_MAX);
    walk_run(index, false, check_range_row, &check);
    int64_t bad = atomic_load(&check.first_bad);
    if (bad == INT64_MAX) return -1;
    *bad_value = *(const int64_t *)walk_ptr(index, 0, bad);
    return bad;
}

typedef struct {
    int64_t min, max;
} class_range;

static void min_max_row(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first)
{
    (void)first;
    class_range *r = ctx;
    for (int64_t i = 0; i < n; i++) {
        int64_t c = *(const int64_t *)(ptr[0] + i * step[0]);
        if (c < r->min) r->min = c;
        if (c > r->max) r->max = c;
    }
}

void nbi_cpu_index_min_max(const nbi_walk *index, int64_t *min, int64_t *max)
{
    /* Serial: its callers (one_hot) then write numel * num_classes. */
    class_range r = {INT64_MAX, INT64_MIN};
    walk_range(index, 0, index->numel, min_max_row, &r);
    *min = r.min;
    *max = r.max;
}

/* ------------------------------------------------------------------------ */
/* Gather (gather, index_select) and scatter                                 */
/* ------------------------------------------------------------------------ */

/* nb_dtype_size without a call: these loops ask it once per row. */
static inline int element_width(nb_dtype dtype)
{
    switch (dtype) {
    case NB_UINT8:
    case NB_BOOL:
    case NB_INT8: return 1;
    case NB_INT16:
    case NB_FLOAT16:
    case NB_BFLOAT16: return 2;
    case NB_FLOAT32:
    case NB_INT32: return 4;
    default: return 8;
    }
}

/* Walk operands (out, src, index). */
#define GATHER_LOOP(T)                                                                                                 \
    for (int64_t i = 0; i < n; i++) {                                                                                  \
        int64_t at                   = *(const int64_t *)(ptr[2] + i * step[2]);                                       \
        *(T *)(ptr[0] + i * step[0]) = *(const T *)(ptr[1] + i * step[1] + at * dim_step);                             \
    }

static void gather_row(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first)
{
    (void)first;
    const nbi_gather_args *g        = ctx;
    int64_t                dim_step = g->dim_step;
    switch (element_width(g->dtype)) {
    case 1:
        GATHER_LOOP(uint8_t) break;
    case 2:
        GATHER_LOOP(uint16_t) break;
    case 4:
        GATHER_LOOP(uint32_t) break;
    default:
        GATHER_LOOP(uint64_t) break;
    }
}

void nbi_cpu_gather(const nbi_gather_args *args) { walk_run(&args->walk, false, gather_row, (void *)args); }

/* Walk operands (target, src, index), the scattered dim innermost. */
#define SCATTER_LOOP(T, WRITE)                                                                                         \
    for (int64_t i = 0; i < n; i++) {                                                                                  \
        int64_t at  = *(const int64_t *)(ptr[2] + i * step[2]);                                                        \
        T      *dst = (T *)(ptr[0] + at * dim_step);                                                                   \
        const T val = *(const T *)(ptr[1] + i * step[1]);                                                              \
        WRITE;                                                                                                         \
    }

static void scatter_row(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first)
{
    (void)first;
    const nbi_gather_args *s        = ctx;
    int64_t                dim_step = s->dim_step;
    switch (element_width(s->dtype)) {
    case 1:
        SCATTER_LOOP(uint8_t, *dst = val) break;
    case 2:
        SCATTER_LOOP(uint16_t, *dst = val) break;
    case 4:
        SCATTER_LOOP(uint32_t, *dst = val) break;
    default:
        SCATTER_LOOP(uint64_t, *dst = val) break;
    }
}

/* Integer sums wrap (computed unsigned: no undefined overflow); bool sums
 * saturate at true, as torch's. */
static void scatter_add_row(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first)
{
    (void)first;
    const nbi_gather_args *s        = ctx;
    int64_t                dim_step = s->dim_step;
    switch (s->dtype) {
    case NB_FLOAT32:
        SCATTER_LOOP(float, *dst += val) break;
    case NB_FLOAT64:
        SCATTER_LOOP(double, *dst += val) break;
    case NB_INT64:
        SCATTER_LOOP(uint64_t, *dst += val) break;
    case NB_INT32:
        SCATTER_LOOP(uint32_t, *dst += val) break;
    case NB_UINT8:
        SCATTER_LOOP(uint8_t, *dst = (uint8_t)(*dst + val)) break;
    case NB_BOOL:
        SCATTER_LOOP(uint8_t, *dst = (uint8_t)(*dst | val)) break;
    case NB_INT16:
        SCATTER_LOOP(uint16_t, *dst = (uint16_t)(*dst + val)) break;
    case NB_INT8:
        SCATTER_LOOP(uint8_t, *dst = (uint8_t)(*dst + val)) break;
    /* halves add in float32 and round once per add (torch's index_add_
     * on Half does the same) */
    case NB_FLOAT16:
        SCATTER_LOOP(uint16_t, *dst = nbi_f32_to_f16(nbi_f16_to_f32(*dst) + nbi_f16_to_f32(val))) break;
    case NB_BFLOAT16:
        SCATTER_LOOP(uint16_t, *dst = nbi_f32_to_bf16(nbi_bf16_to_f32(*dst) + nbi_bf16_to_f32(val))) break;
    default:
        break;
    }
}

/* Scatter of slices (index_add, index_copy): a 2-d walk (columns, K) whose
 * index is the same for every column. The row-wise walk would visit each
 * column's K targets a whole slice apart; here each thread takes a range
 * of columns and, for k in order, runs along target slice index[k] and
 * source slice k (contiguous in the usual layouts). Columns stay owned by
 * one thread and k stays in order, so the results are the row walk's. */
typedef struct {
    const nbi_gather_args *s;
    bool                   accumulate;
} slice_scatter;

#define SLICE_LOOP(T, WRITE)                                                                                           \
    do {                                                                                                               \
        if (target_step == (int64_t)sizeof(T) && source_step == (int64_t)sizeof(T)) {                                  \
            T *dst = (T *)target;                                                                                      \
            const T *src = (const T *)source;                                                                          \
            for (int64_t c = 0; c < n; c++) WRITE(dst[c], src[c]);                                                    \
        } else {                                                                                                       \
            for (int64_t c = 0; c < n; c++)                                                                            \
                WRITE(*(T *)(target + c * target_step), *(const T *)(source + c * source_step));                       \
        }                                                                                                              \
    } while (0)
#define SLICE_SET(d, v) ((d) = (v))
#define SLICE_ADD(d, v) ((d) += (v))

static void slice_scatter_columns(int64_t begin, int64_t end, void *arg)
{
    const slice_scatter *job = arg;
    const nbi_walk      *w   = &job->s->walk;
    int64_t target_step = w->stride[0][0], source_step = w->stride[1][0], n = end - begin;
    for (int64_t k = 0; k < w->shape[1]; k++) {
        int64_t     at     = *(const int64_t *)(w->base[2] + k * w->stride[2][1]);
        char       *target = w->base[0] + at * job->s->dim_step + begin * target_step;
        const char *source = w->base[1] + k * w->stride[1][1] + begin * source_step;
        /* integer sums wrap: computed unsigned, as scatter_add_row */
        if (!job->accumulate && element_width(job->s->dtype) == 4) SLICE_LOOP(uint32_t, SLICE_SET);
        else if (!job->accumulate) SLICE_LOOP(uint64_t, SLICE_SET);
        else if (job->s->dtype == NB_FLOAT32) SLICE_LOOP(float, SLICE_ADD);
        else if (job->s->dtype == NB_FLOAT64) SLICE_LOOP(double, SLICE_ADD);
        else if (job->s->dtype == NB_INT32) SLICE_LOOP(uint32_t, SLICE_ADD);
        else SLICE_LOOP(uint64_t, SLICE_ADD);
    }
}

/* Whether the slice form applies: two dims, an index constant along the
 * first, several columns, and a dtype its loops know. */
static bool slices_apply(const nbi_gather_args *s)
{
    const nbi_walk *w = &s->walk;
    if (w->ndim != 2 || w->stride[2][0] != 0 || w->shape[0] < 4) return false;
    return s->dtype == NB_FLOAT32 || s->dtype == NB_FLOAT64 || s->dtype == NB_INT32 || s->dtype == NB_INT64;
}

void nbi_cpu_scatter(const nbi_gather_args *args, bool accumulate)
{
    if (args->walk.numel > 0 && slices_apply(args)) {
        slice_scatter job   = {args, accumulate};
        int64_t       grain = NBI_PARALLEL_GRAIN / args->walk.shape[1];
        nbi_parallel_for(args->walk.shape[0], grain > 0 ? grain : 1, slice_scatter_columns, &job);
        return;
    }
    walk_run(&args->walk, true, accumulate ? scatter_add_row : scatter_row, (void *)args);
}

/* ------------------------------------------------------------------------ */
/* masked_fill                                                               */
/* ------------------------------------------------------------------------ */

#define MASKED_FILL_LOOP(T)                                                                                            \
    do {                                                                                                               \
        T value;                                                                                                       \
        memcpy(&value, f->bytes, sizeof value);                                                                        \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            const T *in                      = (const T *)(data[1] + i * strides[1]);                                  \
            *(T *)(data[0] + i * strides[0]) = data[2][i * strides[2]] ? value : *in;                                  \
        }                                                                                                              \
    } while (0)

/* Operands (out, t, mask); one loop per element size, ctx the value. */
static void masked_fill_loop_1(char **data, const int64_t *strides, int64_t n, const void *ctx)
{
    const nbi_element *f = ctx;
    MASKED_FILL_LOOP(uint8_t);
}

static void masked_fill_loop_2(char **data, const int64_t *strides, int64_t n, const void *ctx)
{
    const nbi_element *f = ctx;
    MASKED_FILL_LOOP(uint16_t);
}

static void masked_fill_loop_4(char **data, const int64_t *strides, int64_t n, const void *ctx)
{
    const nbi_element *f = ctx;
    MASKED_FILL_LOOP(uint32_t);
}

static void masked_fill_loop_8(char **data, const int64_t *strides, int64_t n, const void *ctx)
{
    const nbi_element *f = ctx;
    MASKED_FILL_LOOP(uint64_t);
}

void nbi_cpu_masked_fill(const nbi_iter *it, nb_dtype dtype, const nbi_element *value)
{
    size_t      size = nb_dtype_size(dtype);
    nbi_loop_fn loop = size == 1   ? masked_fill_loop_1
                       : size == 2 ? masked_fill_loop_2
                       : size == 4 ? masked_fill_loop_4
                                   : masked_fill_loop_8;
    nbi_iter_run(it, loop, value);
}

/* ------------------------------------------------------------------------ */
/* Ops whose output follows row-major order: masked_select, nonzero          */
/* ------------------------------------------------------------------------ */

/* Such an op runs twice over fixed pieces of its walk: the first run
 * counts the selected elements of each piece, the second writes each
 * piece's elements after those of the pieces before it. Pieces depend on
 * the size only, never on the thread count. */

/* A row of the op: advances *out_pos past the selected elements, writing
 * them when out is not NULL. */
typedef void (*select_row_fn)(const nbi_select_args *args, char *const *ptr, const int64_t *step, int64_t n,
                              int64_t first, int64_t *out_pos);

typedef struct {
    nbi_select_args *args;
    select_row_fn    row;
    /* Each piece's output position at its end: its count when counting. */
    int64_t reached[NBI_SELECT_MAX_PIECES];
} select_job;

typedef struct {
    const select_job *job;
    int64_t           out_pos;
} select_piece;

static void select_row(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first)
{
    select_piece *piece = ctx;
    piece->job->row(piece->job->args, ptr, step, n, first, &piece->out_pos);
}

static void select_pieces(int64_t begin, int64_t end, void *arg)
{
    select_job            *job  = arg;
    const nbi_select_args *args = job->args;
    for (int64_t p = begin; p < end; p++) {
        int64_t      first = args->walk.numel * p / args->npieces;
        int64_t      last  = args->walk.numel * (p + 1) / args->npieces;
        select_piece piece = {job, args->out ? args->piece_start[p] : 0};
        walk_range(&args->walk, first, last, select_row, &piece);
        job->reached[p] = piece.out_pos;
    }
}

/* Walk operands (t, mask). */
static void masked_select_row(const nbi_select_args *args, char *const *ptr, const int64_t *step, int64_t n,
                              int64_t first, int64_t *out_pos)
{
    (void)first;
    size_t      itemsize = nb_dtype_size(args->dtype);
    char       *out      = args->out;
    const char *mask     = ptr[1];
    int64_t     pos      = *out_pos;
    if (out == NULL) { /* counting: no branch per element */
        for (int64_t i = 0; i < n; i++)
            pos += mask[i * step[1]] != 0;
        *out_pos = pos;
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        if (!mask[i * step[1]]) continue;
        memcpy(out + (size_t)pos * itemsize, ptr[0] + i * step[0], itemsize);
        pos++;
    }
    *out_pos = pos;
}

/* Whether one element of dtype is nonzero (NaN is; -0.0 is not). */
static bool element_is_nonzero(const char *p, nb_dtype dtype)
{
    switch (dtype) {
    case NB_FLOAT32:
        return *(const float *)p != 0.0f;
    case NB_FLOAT64:
        return *(const double *)p != 0.0;
    case NB_INT64:
        return *(const int64_t *)p != 0;
    case NB_INT32:
        return *(const int32_t *)p != 0;
    case NB_INT16:
        return *(const int16_t *)p != 0;
    case NB_FLOAT16:
    case NB_BFLOAT16:
        return (*(const uint16_t *)p & 0x7FFFu) != 0; /* all but +-0 */
    default:
        return *(const uint8_t *)p != 0;
    }
}

/* Walk operand (t); out is (count, walk.ndim) coordinates. */
static void nonzero_row(const nbi_select_args *args, char *const *ptr, const int64_t *step, int64_t n, int64_t first,
                        int64_t *out_pos)
{
    const nbi_walk *w   = &args->walk;
    int64_t        *out = args->out;
    int64_t         pos = *out_pos;
    for (int64_t i = 0; i < n; i++) {
        if (!element_is_nonzero(ptr[0] + i * step[0], args->dtype)) continue;
        if (out) {
            int64_t *coord = out + pos * w->ndim;
            int64_t  rest  = first + i;
            for (int d = w->ndim - 1; d >= 0; d--) {
                coord[d] = rest % w->shape[d];
                rest /= w->shape[d];
            }
        }
        pos++;
    }
    *out_pos = pos;
}

int64_t nbi_cpu_select(nbi_index_op op, nbi_select_args *args)
{
    if (args->walk.numel == 0) return 0;
    select_job job = {args, op == NBI_INDEX_NONZERO ? nonzero_row : masked_select_row, {0}};
    if (args->out) {
        nbi_parallel_for(args->npieces, 1, select_pieces, &job);
        return job.reached[args->npieces - 1];
    }
    int64_t pieces = args->walk.numel / NBI_PARALLEL_GRAIN + 1;
    args->npieces  = (int)(pieces < NBI_SELECT_MAX_PIECES ? pieces : NBI_SELECT_MAX_PIECES);
    nbi_parallel_for(args->npieces, 1, select_pieces, &job);
    int64_t total = 0;
    for (int p = 0; p < args->npieces; p++) {
        args->piece_start[p] = total;
        total += job.reached[p];
    }
    return total;
}

/* ------------------------------------------------------------------------ */
/* one_hot                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    int64_t *out; /* (numel, num_classes) row-major, zeroed */
    int64_t  num_classes;
} one_hot_ctx;

static void one_hot_row(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first)
{
    const one_hot_ctx *h = ctx;
    for (int64_t i = 0; i < n; i++)
        h->out[(first + i) * h->num_classes + *(const int64_t *)(ptr[0] + i * step[0])] = 1;
}

void nbi_cpu_one_hot(const nbi_walk *classes, int64_t *out, int64_t num_classes)
{
    memset(out, 0, (size_t)(classes->numel * num_classes) * sizeof(int64_t));
    one_hot_ctx h = {out, num_classes};
    walk_run(classes, false, one_hot_row, &h);
}
