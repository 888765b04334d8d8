/*
 * index.c — indexing by index tensors and masks: nb_index_select,
 * nb_gather, nb_scatter(_add)(_), nb_masked_fill, nb_masked_select,
 * nb_nonzero and nb_one_hot, with torch 1.13 semantics.
 *
 * Index tensors are int64. NOTE: as in torch.gather / index_select /
 * scatter, a negative index is out of range (it does not count from the
 * end). Every index is checked before anything is written, so a failed
 * in-place scatter leaves its target unchanged.
 *
 * The ops walk their operands in row-major order with a small strided walker
 * (below) instead of the elementwise iterator, because they need control of
 * the order: scatter puts the scattered dim innermost so that each row owns
 * its output elements (rows then run on threads without races, and repeated
 * indices resolve in order, last write wins, as torch's CPU kernel does);
 * masked_select and nonzero write their outputs in row-major order.
 */
#include "autograd/autograd.h"
#include "cpu/cpu.h"

#include <float.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* The row-major walker                                                      */
/* ------------------------------------------------------------------------ */

enum { WALK_MAX_OPERANDS = 3 };

/* A walk over `shape` (ndim >= 1; a 0-d shape walks as [1]), with each
 * operand's base pointer and byte strides along the walk's dims. Operands
 * that do not move along a dim (broadcast, or the indexed dim of a
 * gather's source) have stride 0 there. */
typedef struct {
    int     ndim;
    int64_t shape[NB_MAX_DIMS];
    int64_t numel;
    int     noperands;
    char   *base[WALK_MAX_OPERANDS];
    int64_t stride[WALK_MAX_OPERANDS][NB_MAX_DIMS];
} walk;

/* row(ctx, ptr, step, n, first): n elements of one row, operand k at
 * ptr[k] advancing step[k] bytes; first is the row-major position of the
 * first of them. */
typedef void (*walk_row_fn)(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first);

static void walk_init(walk *w, int ndim, const int64_t *shape, int noperands)
{
    w->ndim      = ndim > 0 ? ndim : 1;
    w->numel     = 1;
    w->noperands = noperands;
    for (int d = 0; d < w->ndim; d++) {
        w->shape[d] = ndim > 0 ? shape[d] : 1;
        w->numel *= w->shape[d];
        for (int k = 0; k < noperands; k++)
            w->stride[k][d] = 0;
    }
}

/* Operand k is tensor t, whose dims line up with the walk's last t->ndim
 * dims (broadcast: size-1 dims get stride 0). skip_dim (a walk dim, or -1)
 * gets stride 0 too: the op adds that dim's offset itself. */
static void walk_operand(walk *w, int k, const nb_tensor *t, int skip_dim)
{
    int64_t itemsize = (int64_t)nbi_itemsize(t);
    w->base[k]       = nbi_ptr(t);
    for (int d = 0; d < w->ndim; d++) {
        int  td         = d - (w->ndim - t->ndim);
        bool moves      = td >= 0 && t->shape[td] != 1 && d != skip_dim;
        w->stride[k][d] = moves ? t->stride[td] * itemsize : 0;
    }
}

/* Move walk dim `dim` to the innermost position (the other dims keep their
 * order); rows of the walk are then whole lines along dim. */
static void walk_move_innermost(walk *w, int dim)
{
    for (int d = dim; d + 1 < w->ndim; d++) {
        int64_t s       = w->shape[d];
        w->shape[d]     = w->shape[d + 1];
        w->shape[d + 1] = s;
        for (int k = 0; k < w->noperands; k++) {
            int64_t x           = w->stride[k][d];
            w->stride[k][d]     = w->stride[k][d + 1];
            w->stride[k][d + 1] = x;
        }
    }
}

/* The address of operand k at row-major position pos. */
static char *walk_ptr(const walk *w, int k, int64_t pos)
{
    char *p = w->base[k];
    for (int d = w->ndim - 1; d >= 0; d--) {
        p += (pos % w->shape[d]) * w->stride[k][d];
        pos /= w->shape[d];
    }
    return p;
}

/* Run row over positions [begin, end), in order. */
static void walk_range(const walk *w, int64_t begin, int64_t end, walk_row_fn row, void *ctx)
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
    char *ptr[WALK_MAX_OPERANDS];
    for (int k = 0; k < w->noperands; k++)
        ptr[k] = walk_ptr(w, k, begin);
    int64_t step[WALK_MAX_OPERANDS];
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
    const walk *w;
    walk_row_fn row;
    void       *ctx;
    int64_t     inner; /* positions per unit of work: 1, or a whole row */
} walk_job;

static void walk_piece(int64_t begin, int64_t end, void *arg)
{
    const walk_job *job = arg;
    walk_range(job->w, begin * job->inner, end * job->inner, job->row, job->ctx);
}

/* Run row over the whole walk, on threads when it is large. With
 * whole_rows, a thread's piece never cuts a row in two: rows must then be
 * independent, which is how scatter avoids races. */
static void walk_run(const walk *w, bool whole_rows, walk_row_fn row, void *ctx)
{
    if (w->numel == 0) return;
    walk_job job   = {w, row, ctx, whole_rows ? w->shape[w->ndim - 1] : 1};
    int64_t  units = w->numel / job.inner;
    int64_t  grain = NBI_PARALLEL_GRAIN / job.inner;
    nbi_parallel_for(units, grain > 0 ? grain : 1, walk_piece, &job);
}

/* ------------------------------------------------------------------------ */
/* Shared checks                                                             */
/* ------------------------------------------------------------------------ */

static bool check_on_cpu(const nb_tensor *t, const char *op, const char *name)
{
    if (t->storage->device.type == NB_CPU) return true;
    nbi_fail(NB_ERR_DEVICE, "%s: %s is not on the CPU, the only device of this build", op, name);
    return false;
}

static bool check_index_dtype(const nb_tensor *index, const char *op)
{
    if (index->dtype == NB_INT64) return true;
    nbi_fail(NB_ERR_DTYPE, "%s: expected dtype int64 for index, got %s", op, nb_dtype_name(index->dtype));
    return false;
}

/* Size of dim d, counting a 0-d tensor as one element along dim 0. */
static int64_t size_at(const nb_tensor *t, int d) { return t->ndim == 0 ? 1 : t->shape[d]; }
static int     rank_at_least_1(const nb_tensor *t) { return t->ndim > 0 ? t->ndim : 1; }

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

/* Every element of index (int64, any shape) is in [0, size); otherwise
 * NB_ERR_INDEX naming the first bad one in row-major order. */
static bool check_index_range(const nb_tensor *index, int64_t size, int dim, const char *op)
{
    walk w;
    walk_init(&w, index->ndim, index->shape, 1);
    walk_operand(&w, 0, index, -1);
    range_check check = {.size = size};
    atomic_init(&check.first_bad, INT64_MAX);
    walk_run(&w, false, check_range_row, &check);
    int64_t bad = atomic_load(&check.first_bad);
    if (bad == INT64_MAX) return true;
    int64_t value = *(const int64_t *)walk_ptr(&w, 0, bad);
    nbi_fail(NB_ERR_INDEX, "%s: index %lld is out of bounds for dim %d with size %lld", op, (long long)value, dim,
             (long long)size);
    return false;
}

/* ------------------------------------------------------------------------ */
/* Gather and index_select                                                   */
/* ------------------------------------------------------------------------ */

/* Operands of the gather walk: 0 the output, 1 the source with its indexed
 * dim's stride removed, 2 the index. */
typedef struct {
    int64_t dim_step; /* bytes between neighbours of the source along dim */
    size_t  itemsize;
} gather_ctx;

#define GATHER_LOOP(T)                                                                                                 \
    for (int64_t i = 0; i < n; i++) {                                                                                  \
        int64_t at                   = *(const int64_t *)(ptr[2] + i * step[2]);                                       \
        *(T *)(ptr[0] + i * step[0]) = *(const T *)(ptr[1] + i * step[1] + at * dim_step);                             \
    }

static void gather_row(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first)
{
    (void)first;
    const gather_ctx *g        = ctx;
    int64_t           dim_step = g->dim_step;
    switch (g->itemsize) {
    case 1:
        GATHER_LOOP(uint8_t) break;
    case 4:
        GATHER_LOOP(uint32_t) break;
    default:
        GATHER_LOOP(uint64_t) break;
    }
}

nb_tensor *nb_gather(const nb_tensor *t, int dim, const nb_tensor *index)
{
    const char *op = "nb_gather";
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_tensor(index, op, "index")) return NULL;
    if (!check_on_cpu(t, op, "t") || !check_on_cpu(index, op, "index")) return NULL;
    if (!check_index_dtype(index, op)) return NULL;
    int d = nbi_wrap_dim(dim, t->ndim, op);
    if (d < 0) return NULL;
    char ts[NBI_SHAPE_STR_SIZE], is[NBI_SHAPE_STR_SIZE];
    if (rank_at_least_1(index) != rank_at_least_1(t))
        return nbi_fail(NB_ERR_SHAPE, "%s: index (shape %s) must have as many dims as t (shape %s)", op,
                        nbi_shape_str(index->ndim, index->shape, is, sizeof is),
                        nbi_shape_str(t->ndim, t->shape, ts, sizeof ts));
    /* As torch, an empty index gives an empty result without size checks. */
    if (index->numel > 0) {
        for (int k = 0; k < rank_at_least_1(t); k++)
            if (k != d && size_at(index, k) > size_at(t, k))
                return nbi_fail(NB_ERR_SHAPE, "%s: index shape %s must not be larger than t shape %s outside dim %d",
                                op, nbi_shape_str(index->ndim, index->shape, is, sizeof is),
                                nbi_shape_str(t->ndim, t->shape, ts, sizeof ts), d);
        if (!check_index_range(index, size_at(t, d), d, op)) return NULL;
    }
    nb_tensor *out = nbi_empty(index->ndim, index->shape, t->dtype, NB_DEVICE_CPU);
    if (out == NULL) return NULL;
    /* out[p] = t[p with p[d] := index[p]]: walk index's shape. */
    walk w;
    walk_init(&w, index->ndim, index->shape, 3);
    walk_operand(&w, 0, out, -1);
    walk_operand(&w, 1, t, d);
    walk_operand(&w, 2, index, -1);
    gather_ctx g = {t->ndim > 0 ? t->stride[d] * (int64_t)nbi_itemsize(t) : 0, nbi_itemsize(t)};
    walk_run(&w, false, gather_row, &g);
    return nbi_record_gather(out, t, d, index);
}

nb_tensor *nb_index_select(const nb_tensor *t, int dim, const nb_tensor *index)
{
    const char *op = "nb_index_select";
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_tensor(index, op, "index")) return NULL;
    if (!check_on_cpu(t, op, "t") || !check_on_cpu(index, op, "index")) return NULL;
    if (!check_index_dtype(index, op)) return NULL;
    int d = nbi_wrap_dim(dim, t->ndim, op);
    if (d < 0) return NULL;
    char is[NBI_SHAPE_STR_SIZE];
    if (index->ndim > 1)
        return nbi_fail(NB_ERR_SHAPE, "%s: index must be 0-d or 1-d, got shape %s", op,
                        nbi_shape_str(index->ndim, index->shape, is, sizeof is));
    if (t->ndim == 0 && index->numel != 1)
        return nbi_fail(NB_ERR_SHAPE, "%s: selecting from a 0-d tensor takes exactly one index, got %lld", op,
                        (long long)index->numel);
    if (!check_index_range(index, size_at(t, d), d, op)) return NULL;

    /* out: t's shape with dim d as long as index. */
    int64_t shape[NB_MAX_DIMS];
    for (int k = 0; k < t->ndim; k++)
        shape[k] = k == d ? index->numel : t->shape[k];
    nb_tensor *out = nbi_empty(t->ndim, shape, t->dtype, NB_DEVICE_CPU);
    if (out == NULL) return NULL;
    walk w;
    walk_init(&w, out->ndim, out->shape, 3);
    walk_operand(&w, 0, out, -1);
    walk_operand(&w, 1, t, d);
    /* index moves only along dim d of the walk. */
    w.base[2] = nbi_ptr(index);
    if (index->ndim == 1 && t->ndim > 0) w.stride[2][d] = index->stride[0] * (int64_t)sizeof(int64_t);
    gather_ctx g = {t->ndim > 0 ? t->stride[d] * (int64_t)nbi_itemsize(t) : 0, nbi_itemsize(t)};
    walk_run(&w, false, gather_row, &g);
    return nbi_record_index_select(out, t, d, index);
}

/* ------------------------------------------------------------------------ */
/* Scatter                                                                   */
/* ------------------------------------------------------------------------ */

/* Operands of the scatter walk: 0 the target with its scattered dim's
 * stride removed, 1 src, 2 the index; the scattered dim is innermost. */
typedef struct {
    int64_t  dim_step; /* bytes between neighbours of the target along dim */
    nb_dtype dtype;
    bool     accumulate;
} scatter_ctx;

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
    const scatter_ctx *s        = ctx;
    int64_t            dim_step = s->dim_step;
    if (!s->accumulate) {
        switch (nb_dtype_size(s->dtype)) {
        case 1:
            SCATTER_LOOP(uint8_t, *dst = val) break;
        case 4:
            SCATTER_LOOP(uint32_t, *dst = val) break;
        default:
            SCATTER_LOOP(uint64_t, *dst = val) break;
        }
        return;
    }
    /* Integer sums wrap (computed unsigned: no undefined overflow); bool
     * sums saturate at true, as torch's. */
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
    default:
        break;
    }
}

/* The checks of every scatter form; the wrapped dim, or -1. */
static int check_scatter(const nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src, const char *op)
{
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_tensor(index, op, "index") || !nbi_check_tensor(src, op, "src"))
        return -1;
    if (!check_on_cpu(t, op, "t") || !check_on_cpu(index, op, "index") || !check_on_cpu(src, op, "src")) return -1;
    if (!check_index_dtype(index, op)) return -1;
    if (src->dtype != t->dtype) {
        nbi_fail(NB_ERR_DTYPE, "%s: src has dtype %s but t has dtype %s; they must be equal", op,
                 nb_dtype_name(src->dtype), nb_dtype_name(t->dtype));
        return -1;
    }
    int d = nbi_wrap_dim(dim, t->ndim, op);
    if (d < 0) return -1;
    int  ndim      = rank_at_least_1(t);
    bool same_rank = rank_at_least_1(index) == ndim && rank_at_least_1(src) == ndim;
    /* As torch, an empty index writes nothing and skips the size checks. */
    bool fits = true;
    for (int k = 0; same_rank && index->numel > 0 && k < ndim; k++)
        fits = fits && size_at(index, k) <= size_at(src, k) && (k == d || size_at(index, k) <= size_at(t, k));
    if (!same_rank || !fits) {
        char ts[NBI_SHAPE_STR_SIZE], is[NBI_SHAPE_STR_SIZE], ss[NBI_SHAPE_STR_SIZE];
        nbi_shape_str(t->ndim, t->shape, ts, sizeof ts);
        nbi_shape_str(index->ndim, index->shape, is, sizeof is);
        nbi_shape_str(src->ndim, src->shape, ss, sizeof ss);
        if (!same_rank)
            nbi_fail(NB_ERR_SHAPE,
                     "%s: t (shape %s), index (shape %s) and src (shape %s) must have the same number of dims", op, ts,
                     is, ss);
        else
            nbi_fail(NB_ERR_SHAPE,
                     "%s: index shape %s must not be larger than src shape %s, nor than t shape %s outside dim %d", op,
                     is, ss, ts, d);
        return -1;
    }
    if (index->numel == 0) return d;
    if (!check_index_range(index, size_at(t, d), d, op)) return -1;
    return d;
}

/* Write (or add) src into target at index along d; all checked. target has
 * no overlapping elements and shares no memory with index or src. */
static void scatter_into(nb_tensor *target, int d, const nb_tensor *index, const nb_tensor *src, bool accumulate)
{
    walk w;
    walk_init(&w, index->ndim, index->shape, 3);
    walk_operand(&w, 0, target, d);
    walk_operand(&w, 1, src, -1);
    walk_operand(&w, 2, index, -1);
    walk_move_innermost(&w, d);
    scatter_ctx s = {target->ndim > 0 ? target->stride[d] * (int64_t)nbi_itemsize(target) : 0, target->dtype,
                     accumulate};
    walk_run(&w, true, scatter_row, &s);
}

static nb_tensor *scatter_copy(const nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src,
                               bool accumulate, const char *op)
{
    int d = check_scatter(t, dim, index, src, op);
    if (d < 0) return NULL;
    nbi_grad_mode_push(false); /* the scatter node below records the copy too */
    nb_tensor *out = nb_clone(t);
    nbi_grad_mode_pop();
    if (out == NULL) return NULL;
    scatter_into(out, d, index, src, accumulate);
    return nbi_record_scatter(out, t, d, index, src, accumulate);
}

static nb_tensor *scatter_in_place(nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src, bool accumulate,
                                   const char *op)
{
    int d = check_scatter(t, dim, index, src, op);
    if (d < 0) return NULL;
    if (nbi_has_internal_overlap(t))
        return nbi_fail(NB_ERR_ARG, "%s: t has elements that share memory (an expanded view); clone it first", op);
    if (!nbi_check_no_overlap(t, src, op) || !nbi_check_no_overlap(t, index, op)) return NULL;
    if (nbi_in_place_records(t, src)) {
        nb_tensor *old = nbi_begin_in_place(t, op);
        if (old == NULL) return NULL;
        return nbi_finish_in_place(t, old, scatter_copy(old, dim, index, src, accumulate, op), op);
    }
    /* Read src and index from copies when they share t's memory, so that
     * writes cannot change what is still to be read. */
    nb_tensor *src_copy   = src->storage == t->storage ? nb_clone(src) : NULL;
    nb_tensor *index_copy = index->storage == t->storage ? nb_clone(index) : NULL;
    if ((src->storage == t->storage && src_copy == NULL) || (index->storage == t->storage && index_copy == NULL)) {
        nb_free(src_copy);
        nb_free(index_copy);
        return NULL;
    }
    scatter_into(t, d, index_copy ? index_copy : index, src_copy ? src_copy : src, accumulate);
    nb_free(src_copy);
    nb_free(index_copy);
    nbi_bump_version(t);
    return t;
}

nb_tensor *nb_scatter(const nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src)
{
    return scatter_copy(t, dim, index, src, false, "nb_scatter");
}

nb_tensor *nb_scatter_add(const nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src)
{
    return scatter_copy(t, dim, index, src, true, "nb_scatter_add");
}

nb_tensor *nb_scatter_(nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src)
{
    return scatter_in_place(t, dim, index, src, false, "nb_scatter_");
}

nb_tensor *nb_scatter_add_(nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src)
{
    return scatter_in_place(t, dim, index, src, true, "nb_scatter_add_");
}

/* ------------------------------------------------------------------------ */
/* Masks                                                                     */
/* ------------------------------------------------------------------------ */

static bool check_mask(const nb_tensor *t, const nb_tensor *mask, const char *op, int *ndim, int64_t *shape)
{
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_tensor(mask, op, "mask")) return false;
    if (!check_on_cpu(t, op, "t") || !check_on_cpu(mask, op, "mask")) return false;
    if (mask->dtype != NB_BOOL) {
        nbi_fail(NB_ERR_DTYPE, "%s: mask must be bool, got %s", op, nb_dtype_name(mask->dtype));
        return false;
    }
    return nbi_broadcast(t->ndim, t->shape, mask->ndim, mask->shape, ndim, shape, op);
}

/* value in t's dtype, refused (NB_ERR_ARG) where torch refuses it: a
 * finite value beyond a float32's range, a non-finite or out-of-range value
 * for an integer dtype. uint8 takes -255..255, negatives wrapping as in
 * torch (-1 is 255). Fractions truncate toward zero. */
static bool convert_fill_value(double value, nb_dtype dtype, void *bits, const char *op)
{
    if (!nbi_check_fill_value(value, dtype, op)) return false;
    nbi_store_f64(bits, dtype, value); /* wraps uint8 and truncates, as torch */
    return true;
}

typedef struct {
    size_t itemsize;
    char   value[8]; /* the fill value in the output's dtype */
} fill_ctx;

#define MASKED_FILL_LOOP(T)                                                                                            \
    do {                                                                                                               \
        T value;                                                                                                       \
        memcpy(&value, f->value, sizeof value);                                                                        \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            const T *in                      = (const T *)(data[1] + i * strides[1]);                                  \
            *(T *)(data[0] + i * strides[0]) = data[2][i * strides[2]] ? value : *in;                                  \
        }                                                                                                              \
    } while (0)

/* nbi_iter loop: operands (out, t, mask). */
static void masked_fill_loop(char **data, const int64_t *strides, int64_t n, const void *ctx)
{
    const fill_ctx *f = ctx;
    switch (f->itemsize) {
    case 1:
        MASKED_FILL_LOOP(uint8_t);
        break;
    case 4:
        MASKED_FILL_LOOP(uint32_t);
        break;
    default:
        MASKED_FILL_LOOP(uint64_t);
        break;
    }
}

nb_tensor *nb_masked_fill(const nb_tensor *t, const nb_tensor *mask, double value)
{
    int     ndim;
    int64_t shape[NB_MAX_DIMS];
    if (!check_mask(t, mask, "nb_masked_fill", &ndim, shape)) return NULL;
    fill_ctx f = {.itemsize = nbi_itemsize(t)};
    if (!convert_fill_value(value, t->dtype, f.value, "nb_masked_fill")) return NULL;
    /* The result has the broadcast shape of t and mask, as torch's
     * out-of-place masked_fill. */
    nb_tensor *out = nbi_empty(ndim, shape, t->dtype, NB_DEVICE_CPU);
    if (out == NULL) return NULL;
    const nb_tensor *operands[3] = {out, t, mask};
    nbi_iter         it;
    nbi_iter_init(&it, 3, operands);
    nbi_iter_run(&it, masked_fill_loop, &f);
    return nbi_record_masked_fill(out, t, mask);
}

/* ------------------------------------------------------------------------ */
/* Ops whose output follows row-major order: masked_select, nonzero          */
/* ------------------------------------------------------------------------ */

/* Such an op runs twice over fixed pieces of its walk: the first run
 * counts the selected elements of each piece, the second writes each
 * piece's elements after those of the pieces before it. Pieces depend on
 * the size only, never on the thread count. */
enum { SELECT_MAX_PIECES = 64 };

typedef struct {
    const walk *w;
    int         npieces;
    int64_t     count[SELECT_MAX_PIECES];  /* selected per piece (first run) */
    int64_t     offset[SELECT_MAX_PIECES]; /* output position of each piece's first */
    bool        writing;
    /* The op's row function gets the piece's running output position. */
    void (*row)(void *op_ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first, int64_t *out_pos,
                bool writing);
    void *op_ctx;
} select_job;

typedef struct {
    select_job *job;
    int64_t     out_pos;
} select_piece;

static void select_row(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first)
{
    select_piece *piece = ctx;
    piece->job->row(piece->job->op_ctx, ptr, step, n, first, &piece->out_pos, piece->job->writing);
}

static void select_pieces(int64_t begin, int64_t end, void *arg)
{
    select_job *job = arg;
    for (int64_t p = begin; p < end; p++) {
        int64_t      first = job->w->numel * p / job->npieces;
        int64_t      last  = job->w->numel * (p + 1) / job->npieces;
        select_piece piece = {job, job->writing ? job->offset[p] : 0};
        walk_range(job->w, first, last, select_row, &piece);
        if (!job->writing) job->count[p] = piece.out_pos;
    }
}

/* First run: count; returns the total. */
static int64_t select_count(select_job *job)
{
    int64_t pieces = job->w->numel / NBI_PARALLEL_GRAIN + 1;
    job->npieces   = (int)(pieces < SELECT_MAX_PIECES ? pieces : SELECT_MAX_PIECES);
    job->writing   = false;
    nbi_parallel_for(job->npieces, 1, select_pieces, job);
    int64_t total = 0;
    for (int p = 0; p < job->npieces; p++) {
        job->offset[p] = total;
        total += job->count[p];
    }
    return total;
}

static void select_write(select_job *job)
{
    job->writing = true;
    nbi_parallel_for(job->npieces, 1, select_pieces, job);
}

/* masked_select walk operands: 0 t, 1 mask (both broadcast). */
typedef struct {
    char  *out;
    size_t itemsize;
} masked_select_ctx;

static void masked_select_row(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first,
                              int64_t *out_pos, bool writing)
{
    (void)first;
    const masked_select_ctx *m   = ctx;
    int64_t                  pos = *out_pos;
    for (int64_t i = 0; i < n; i++) {
        if (!ptr[1][i * step[1]]) continue;
        if (writing) memcpy(m->out + (size_t)pos * m->itemsize, ptr[0] + i * step[0], m->itemsize);
        pos++;
    }
    *out_pos = pos;
}

nb_tensor *nb_masked_select(const nb_tensor *t, const nb_tensor *mask)
{
    int     ndim;
    int64_t shape[NB_MAX_DIMS];
    if (!check_mask(t, mask, "nb_masked_select", &ndim, shape)) return NULL;
    walk w;
    walk_init(&w, ndim, shape, 2);
    walk_operand(&w, 0, t, -1);
    walk_operand(&w, 1, mask, -1);
    masked_select_ctx m     = {NULL, nbi_itemsize(t)};
    select_job        job   = {.w = &w, .row = masked_select_row, .op_ctx = &m};
    int64_t           count = w.numel > 0 ? select_count(&job) : 0;
    nb_tensor        *out   = nbi_empty(1, &count, t->dtype, NB_DEVICE_CPU);
    if (out == NULL) return NULL;
    if (count > 0) {
        m.out = nbi_ptr(out);
        select_write(&job);
    }
    return nbi_record_masked_select(out, t, mask);
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
    default:
        return *(const uint8_t *)p != 0;
    }
}

typedef struct {
    int64_t *out; /* (count, ndim) row-major */
    int      ndim;
    int64_t  shape[NB_MAX_DIMS];
    nb_dtype dtype;
} nonzero_ctx;

static void nonzero_row(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first, int64_t *out_pos,
                        bool writing)
{
    const nonzero_ctx *z   = ctx;
    int64_t            pos = *out_pos;
    for (int64_t i = 0; i < n; i++) {
        if (!element_is_nonzero(ptr[0] + i * step[0], z->dtype)) continue;
        if (writing) {
            int64_t *coord = z->out + pos * z->ndim;
            int64_t  rest  = first + i;
            for (int d = z->ndim - 1; d >= 0; d--) {
                coord[d] = rest % z->shape[d];
                rest /= z->shape[d];
            }
        }
        pos++;
    }
    *out_pos = pos;
}

nb_tensor *nb_nonzero(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_nonzero", "t")) return NULL;
    if (!check_on_cpu(t, "nb_nonzero", "t")) return NULL;
    walk w;
    walk_init(&w, t->ndim, t->shape, 1);
    walk_operand(&w, 0, t, -1);
    nonzero_ctx z = {.ndim = t->ndim, .dtype = t->dtype};
    for (int d = 0; d < t->ndim; d++)
        z.shape[d] = t->shape[d];
    select_job job      = {.w = &w, .row = nonzero_row, .op_ctx = &z};
    int64_t    count    = w.numel > 0 ? select_count(&job) : 0;
    int64_t    shape[2] = {count, t->ndim};
    nb_tensor *out      = nbi_empty(2, shape, NB_INT64, NB_DEVICE_CPU);
    if (out == NULL || count == 0 || t->ndim == 0) return out;
    z.out = (int64_t *)nbi_ptr(out);
    select_write(&job);
    return out;
}

/* ------------------------------------------------------------------------ */
/* One-hot                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    int64_t min, max;
} class_range;

static void class_range_row(void *ctx, char *const *ptr, const int64_t *step, int64_t n, int64_t first)
{
    (void)first;
    class_range *r = ctx;
    for (int64_t i = 0; i < n; i++) {
        int64_t c = *(const int64_t *)(ptr[0] + i * step[0]);
        if (c < r->min) r->min = c;
        if (c > r->max) r->max = c;
    }
}

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

nb_tensor *nb_one_hot(const nb_tensor *t, int64_t num_classes)
{
    const char *op = "nb_one_hot";
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (!check_on_cpu(t, op, "t")) return NULL;
    if (t->dtype != NB_INT64)
        return nbi_fail(NB_ERR_DTYPE, "%s: expected an int64 tensor of class indices, got %s", op,
                        nb_dtype_name(t->dtype));
    if (num_classes < -1)
        return nbi_fail(NB_ERR_ARG, "%s: num_classes must be -1 (infer) or at least 0, got %lld", op,
                        (long long)num_classes);
    if (t->ndim == NB_MAX_DIMS)
        return nbi_fail(NB_ERR_SHAPE, "%s: t already has %d dims, the most a tensor can have", op, t->ndim);
    walk w;
    walk_init(&w, t->ndim, t->shape, 1);
    walk_operand(&w, 0, t, -1);
    if (t->numel == 0) {
        if (num_classes <= 0)
            return nbi_fail(NB_ERR_ARG,
                            "%s: cannot infer the number of classes from an empty tensor (num_classes %lld)", op,
                            (long long)num_classes);
    } else {
        /* Serial: a min/max pass over class labels is cheap next to the
         * numel * num_classes output. */
        class_range r = {INT64_MAX, INT64_MIN};
        walk_range(&w, 0, w.numel, class_range_row, &r);
        if (r.min < 0) return nbi_fail(NB_ERR_INDEX, "%s: class %lld is negative", op, (long long)r.min);
        if (num_classes == -1) {
            if (r.max == INT64_MAX) return nbi_fail(NB_ERR_SHAPE, "%s: class %lld is too large", op, (long long)r.max);
            num_classes = r.max + 1;
        } else if (r.max >= num_classes) {
            return nbi_fail(NB_ERR_INDEX, "%s: class %lld is out of range for num_classes %lld", op, (long long)r.max,
                            (long long)num_classes);
        }
    }
    int64_t shape[NB_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++)
        shape[d] = t->shape[d];
    shape[t->ndim] = num_classes;
    nb_tensor *out = nbi_empty(t->ndim + 1, shape, NB_INT64, NB_DEVICE_CPU);
    if (out == NULL) return NULL;
    memset(nbi_ptr(out), 0, (size_t)out->numel * sizeof(int64_t));
    one_hot_ctx h = {(int64_t *)nbi_ptr(out), num_classes};
    walk_run(&w, false, one_hot_row, &h);
    return out;
}
