/*
 * index_put.c — index ops that write slices of a tensor (index_add,
 * index_copy, index_fill, in place and not) and take_along_dim, with
 * PyTorch 1.13's checks and gradients (issue 13).
 *
 * They are built on the scatter and masked_fill kernels that index.c
 * reaches through the backend table: a 1-d index along dim is expanded to
 * source's shape and scattered, which on the CPU visits the index in order,
 * so repeated indices add (or overwrite) deterministically. Each op checks
 * everything first (so nothing is half written), computes with grad mode
 * off and records one node with torch's grad_fn name
 * (autograd/shape_derivatives.c).
 */
#include "autograd/shape_derivatives.h"
#include "core/backend.h"

/* Size of dim d, counting a 0-d tensor as one element along dim 0. */
static int64_t size_at(const nb_tensor *t, int d) { return t->ndim == 0 ? 1 : t->shape[d]; }
static int     rank_at_least_1(const nb_tensor *t) { return t->ndim > 0 ? t->ndim : 1; }

typedef enum { INDEX_ADD, INDEX_COPY, INDEX_FILL } index_kind;

/* One call of an index op: what it writes where. */
typedef struct {
    index_kind       kind;
    int              dim; /* as given; wrapped by the checks */
    const nb_tensor *index;
    const nb_tensor *source; /* add and copy */
    double           value;  /* fill: the value; add: alpha */
} index_call;

/* The checks of index_add / index_copy / index_fill in torch's order. The
 * wrapped dim, or -1 with the error recorded. */
static int check_index_call(const nb_tensor *t, const index_call *c, const char *op)
{
    bool has_source = c->kind != INDEX_FILL;
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_tensor(c->index, op, "index")) return -1;
    if (has_source && !nbi_check_tensor(c->source, op, "source")) return -1;
    if (has_source
            ? !nbi_check_device(op, 3, (const nb_tensor *const[]){t, c->index, c->source},
                                (const char *const[]){"t", "index", "source"})
            : !nbi_check_device(op, 2, (const nb_tensor *const[]){t, c->index}, (const char *const[]){"t", "index"}))
        return -1;
    bool int32_ok = c->kind == INDEX_ADD;
    if (c->index->dtype != NB_INT64 && !(int32_ok && c->index->dtype == NB_INT32)) {
        nbi_fail(NB_ERR_DTYPE, "%s: expected dtype int64%s for index, got %s", op, int32_ok ? " or int32" : "",
                 nb_dtype_name(c->index->dtype));
        return -1;
    }
    if (c->index->ndim > 1) {
        nbi_fail(NB_ERR_SHAPE, "%s: index must be 0-d or 1-d, got %d dims", op, c->index->ndim);
        return -1;
    }
    int d = nbi_wrap_dim(c->dim, t->ndim, op);
    if (d < 0) return -1;
    if (has_source) {
        const nb_tensor *source = c->source;
        if (source->dtype != t->dtype) {
            nbi_fail(NB_ERR_DTYPE, "%s: t (%s) and source (%s) must have the same dtype", op, nb_dtype_name(t->dtype),
                     nb_dtype_name(source->dtype));
            return -1;
        }
        bool fits = rank_at_least_1(source) == rank_at_least_1(t) && size_at(source, d) == c->index->numel;
        for (int k = 0; fits && k < rank_at_least_1(t); k++)
            fits = k == d || size_at(source, k) == size_at(t, k);
        if (!fits) {
            char ts[NBI_SHAPE_STR_SIZE], ss[NBI_SHAPE_STR_SIZE];
            nbi_fail(NB_ERR_SHAPE,
                     "%s: source (shape %s) must have t's shape %s outside dim %d and %lld (the number of indices) "
                     "along it",
                     op, nbi_shape_str(source->ndim, source->shape, ss, sizeof ss),
                     nbi_shape_str(t->ndim, t->shape, ts, sizeof ts), d, (long long)c->index->numel);
            return -1;
        }
    }
    if (c->kind == INDEX_FILL && !nbi_check_fill_value(c->value, t->dtype, op)) return -1;
    if (c->index->numel > 0) { /* every index in range; index_fill's may count from the end */
        int64_t size = size_at(t, d), lowest = c->kind == INDEX_FILL ? -size : 0;
        nbi_grad_mode_push(false);
        nb_tensor *min = nb_min(c->index), *max = nb_max(c->index);
        int64_t    lo = min ? nb_item_int64(min) : 0, hi = max ? nb_item_int64(max) : 0;
        nb_free(min);
        nb_free(max);
        nbi_grad_mode_pop();
        if (min == NULL || max == NULL) return -1;
        if (lo < lowest || hi >= size) {
            nbi_fail(NB_ERR_INDEX, "%s: index %lld is out of bounds for dim %d with size %lld", op,
                     (long long)(lo < lowest ? lo : hi), d, (long long)size);
            return -1;
        }
    }
    return d;
}

/* index as int64 with negative entries counted from the end of size: a
 * new handle (to index itself when it already is). */
static nb_tensor *normalized_index(const nb_tensor *index, int64_t size)
{
    nb_tensor *wide = nb_to_dtype(index, NB_INT64);
    if (wide == NULL || wide->numel == 0) return wide;
    nb_tensor *negative = nb_lt_scalar(wide, 0);
    nb_tensor *wrapped  = negative ? nb_add_scalar(wide, (double)size) : NULL;
    nb_tensor *out      = wrapped ? nb_where(negative, wrapped, wide) : NULL;
    nb_free(wide);
    nb_free(negative);
    nb_free(wrapped);
    return out;
}

/* (rank of t, at least 1)-d shape with index's length at d and 1 elsewhere. */
static nb_shape along(const nb_tensor *t, int d, int64_t length)
{
    nb_shape s = {.ndim = rank_at_least_1(t)};
    for (int k = 0; k < s.ndim; k++)
        s.dims[k] = k == d ? length : 1;
    return s;
}

/* Scatter (add, or copy) c's source into target at index along d, with
 * grad mode off: index expanded to source's shape (as target's rank). All
 * checked; target shares no memory with index or source. target, or NULL. */
static nb_tensor *scatter_source(nb_tensor *target, int d, const nb_tensor *index, const index_call *c)
{
    nb_shape rank_shape = nb_shape_of(c->source);
    if (rank_shape.ndim == 0) rank_shape = NB_SHAPE(1);
    nb_tensor *lined  = nb_reshape(index, along(target, d, index->numel));
    nb_tensor *spread = lined ? nb_expand(lined, rank_shape) : NULL;
    nb_tensor *src    = nb_reshape(c->source, rank_shape);
    nb_tensor *scaled = src;
    if (src && c->kind == INDEX_ADD && c->value != 1) {
        /* alpha in target's dtype: integers truncate it as torch does; bool
         * adds (a logical or) unless alpha is 0. */
        nb_dtype dtype = target->dtype;
        double   alpha = nb_dtype_is_floating(dtype) ? c->value : (double)(int64_t)c->value;
        if (dtype == NB_BOOL) alpha = alpha != 0;
        scaled = alpha == 1 ? src : dtype == NB_BOOL ? nb_zeros_like(src) : nb_mul_scalar(src, alpha);
    }
    /* A 0-d target is scattered through a one-element view of it. */
    nb_tensor *lifted = target->ndim == 0 ? nb_reshape(target, NB_SHAPE(1)) : target;
    nb_tensor *done   = NULL;
    if (lifted && spread && scaled)
        done =
            c->kind == INDEX_ADD ? nb_scatter_add_(lifted, d, spread, scaled) : nb_scatter_(lifted, d, spread, scaled);
    if (lifted != target) nb_free(lifted);
    if (scaled != src) nb_free(scaled);
    nb_free(lined);
    nb_free(spread);
    nb_free(src);
    return done ? target : NULL;
}

/* The result of c on t, made with grad mode off: all checked; index is c's
 * index normalized. */
static nb_tensor *compute(const nb_tensor *t, int d, const nb_tensor *index, const index_call *c)
{
    if (c->kind == INDEX_FILL) { /* masked_fill with the chosen slices set */
        int64_t    size     = size_at(t, d);
        nb_tensor *hits     = nb_zeros(NB_SHAPE(size), NB_OPTS(.dtype = NB_BOOL, .device = t->storage->device));
        nb_tensor *flat     = nb_reshape(index, NB_SHAPE(-1));
        nb_tensor *ones     = nb_ones(NB_SHAPE(index->numel), NB_OPTS(.dtype = NB_BOOL, .device = t->storage->device));
        nb_tensor *marked   = hits && flat && ones ? nb_scatter_(hits, 0, flat, ones) : NULL;
        nb_shape   mask_shp = along(t, d, size);
        mask_shp.ndim       = t->ndim; /* a 0-d t takes a 0-d mask */
        nb_tensor *mask     = marked ? nb_reshape(hits, mask_shp) : NULL;
        nb_tensor *out      = mask ? nb_masked_fill(t, mask, c->value) : NULL;
        nb_free(hits);
        nb_free(flat);
        nb_free(ones);
        nb_free(mask);
        return out;
    }
    nb_tensor *out = nb_clone(t);
    if (out == NULL || scatter_source(out, d, index, c) == NULL) {
        nb_free(out);
        return NULL;
    }
    return out;
}

static nb_tensor *index_op(const nb_tensor *t, const index_call *c, const char *op)
{
    int d = check_index_call(t, c, op);
    if (d < 0) return NULL;
    nbi_grad_mode_push(false);
    nb_tensor *index =
        c->kind == INDEX_FILL ? normalized_index(c->index, size_at(t, d)) : nb_to_dtype(c->index, NB_INT64);
    nb_tensor *out = index ? compute(t, d, index, c) : NULL;
    nbi_grad_mode_pop();
    if (out == NULL) {
        nb_free(index);
        return NULL;
    }
    switch (c->kind) {
    case INDEX_ADD:
        out = nbi_record_index_add(out, t, d, index, c->source, c->value);
        break;
    case INDEX_COPY:
        out = nbi_record_index_copy(out, t, d, index, c->source);
        break;
    case INDEX_FILL:
        out = nbi_record_index_fill(out, t, d, index);
        break;
    }
    nb_free(index); /* the node holds what it needs */
    return out;
}

/* In place: the result computed out of place, then written into t (or,
 * while recording, through the in-place protocol of autograd.h). */
static nb_tensor *index_op_(nb_tensor *t, const index_call *c, const char *op)
{
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (nbi_has_internal_overlap(t))
        return nbi_fail(NB_ERR_ARG, "%s: t has elements that share memory (an expanded view); clone it first", op);
    if (nbi_in_place_records(t, c->source)) {
        if (check_index_call(t, c, op) < 0) return NULL;
        nb_tensor *old = nbi_begin_in_place(t, op);
        if (old == NULL) return NULL;
        return nbi_finish_in_place(t, old, index_op(old, c, op), op);
    }
    if (c->kind != INDEX_FILL && c->source->storage != t->storage && c->index->storage != t->storage) {
        /* Straight into t: a cost of source's size, not t's. */
        int d = check_index_call(t, c, op);
        if (d < 0) return NULL;
        nbi_grad_mode_push(false);
        nb_tensor *index = nb_to_dtype(c->index, NB_INT64);
        nb_tensor *done  = index ? scatter_source(t, d, index, c) : NULL;
        nbi_grad_mode_pop();
        nb_free(index);
        return done;
    }
    nb_tensor *result = index_op(t, c, op);
    if (result == NULL) return NULL;
    nbi_copy_into(t, result);
    nb_free(result);
    nbi_bump_version(t);
    return t;
}

nb_tensor *nb_index_add(const nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *source, double alpha)
{
    index_call c = {.kind = INDEX_ADD, .dim = dim, .index = index, .source = source, .value = alpha};
    return index_op(t, &c, "nb_index_add");
}

nb_tensor *nb_index_copy(const nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *source)
{
    index_call c = {.kind = INDEX_COPY, .dim = dim, .index = index, .source = source};
    return index_op(t, &c, "nb_index_copy");
}

nb_tensor *nb_index_fill(const nb_tensor *t, int dim, const nb_tensor *index, double value)
{
    index_call c = {.kind = INDEX_FILL, .dim = dim, .index = index, .value = value};
    return index_op(t, &c, "nb_index_fill");
}

nb_tensor *nb_index_add_(nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *source, double alpha)
{
    index_call c = {.kind = INDEX_ADD, .dim = dim, .index = index, .source = source, .value = alpha};
    return index_op_(t, &c, "nb_index_add_");
}

nb_tensor *nb_index_copy_(nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *source)
{
    index_call c = {.kind = INDEX_COPY, .dim = dim, .index = index, .source = source};
    return index_op_(t, &c, "nb_index_copy_");
}

nb_tensor *nb_index_fill_(nb_tensor *t, int dim, const nb_tensor *index, double value)
{
    index_call c = {.kind = INDEX_FILL, .dim = dim, .index = index, .value = value};
    return index_op_(t, &c, "nb_index_fill_");
}

/* ------------------------------------------------------------------------ */
/* take_along_dim                                                            */
/* ------------------------------------------------------------------------ */

nb_tensor *nb_take_along_dim(const nb_tensor *t, const nb_tensor *indices, int dim)
{
    const char *op = "nb_take_along_dim";
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_tensor(indices, op, "indices")) return NULL;
    if (!nbi_check_device(op, 2, (const nb_tensor *const[]){t, indices}, (const char *const[]){"t", "indices"}))
        return NULL;
    if (indices->dtype != NB_INT64)
        return nbi_fail(NB_ERR_DTYPE, "%s: indices must be int64, got %s", op, nb_dtype_name(indices->dtype));
    if (indices->ndim != t->ndim)
        return nbi_fail(NB_ERR_SHAPE, "%s: t and indices must have the same number of dims, got %d and %d", op, t->ndim,
                        indices->ndim);
    if (t->ndim == 0) return nbi_fail(NB_ERR_INDEX, "%s: dim %d was given but t is 0-d (it has no dims)", op, dim);
    int d = nbi_wrap_dim(dim, t->ndim, op);
    if (d < 0) return NULL;
    /* torch: each broadcast to the other's shape with its own size at dim. */
    nb_shape t_shape = nb_shape_of(t), index_shape = nb_shape_of(indices), index_target, t_target;
    if (t->ndim > 0) t_shape.dims[d] = indices->shape[d];
    if (nb_broadcast_shapes(t_shape, index_shape, &index_target) != NB_OK) return NULL;
    if (t->ndim > 0) index_shape.dims[d] = t->shape[d];
    if (nb_broadcast_shapes(index_shape, nb_shape_of(t), &t_target) != NB_OK) return NULL;
    nb_tensor *spread_t     = nb_expand(t, t_target);
    nb_tensor *spread_index = spread_t ? nb_expand(indices, index_target) : NULL;
    nb_tensor *out          = spread_index ? nb_gather(spread_t, d, spread_index) : NULL;
    nb_free(spread_t);
    nb_free(spread_index);
    return out;
}
