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
 * The ops describe their operands as a row-major walk (core/index_args.h)
 * instead of the elementwise iterator, because they need control of the
 * order: scatter puts the scattered dim innermost so that each row owns its
 * output elements, and masked_select and nonzero write their outputs in
 * row-major order. The kernels of the tensors' device (core/backend.h) run
 * the walks, one call per op.
 */
#include "autograd/autograd.h"
#include "core/backend.h"

/* ------------------------------------------------------------------------ */
/* Walks                                                                     */
/* ------------------------------------------------------------------------ */

static void walk_init(nbi_walk *w, int ndim, const int64_t *shape, int noperands, int device)
{
    w->ndim      = ndim > 0 ? ndim : 1;
    w->numel     = 1;
    w->noperands = noperands;
    w->device    = device;
    for (int d = 0; d < w->ndim; d++) {
        w->shape[d] = ndim > 0 ? shape[d] : 1;
        w->numel *= w->shape[d];
        for (int k = 0; k < noperands; k++)
            w->stride[k][d] = 0;
    }
}

/* Operand k is tensor t, whose dims line up with the walk's last t->ndim
 * dims (broadcast: size-1 dims get stride 0). skip_dim (a walk dim, or -1)
 * gets stride 0 too: the kernel adds that dim's offset itself. */
static void walk_operand(nbi_walk *w, int k, const nb_tensor *t, int skip_dim)
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
static void walk_move_innermost(nbi_walk *w, int dim)
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

/* A walk of t's own shape, t its one operand. */
static void walk_of(nbi_walk *w, const nb_tensor *t)
{
    walk_init(w, t->ndim, t->shape, 1, t->storage->device.index);
    walk_operand(w, 0, t, -1);
}

/* ------------------------------------------------------------------------ */
/* Shared checks                                                             */
/* ------------------------------------------------------------------------ */

static bool check_index_dtype(const nb_tensor *index, const char *op)
{
    if (index->dtype == NB_INT64) return true;
    nbi_fail(NB_ERR_DTYPE, "%s: expected dtype int64 for index, got %s", op, nb_dtype_name(index->dtype));
    return false;
}

/* t's device has index kernel `kernel` for t's dtype (and with it the
 * range check of the index). */
static bool check_index_kernel(const nb_tensor *t, nbi_index_op kernel, const char *op)
{
    return nbi_check_supported(nbi_backend_of(t), NBI_FAMILY_INDEX, kernel, t->dtype, op);
}

/* Size of dim d, counting a 0-d tensor as one element along dim 0. */
static int64_t size_at(const nb_tensor *t, int d) { return t->ndim == 0 ? 1 : t->shape[d]; }
static int     rank_at_least_1(const nb_tensor *t) { return t->ndim > 0 ? t->ndim : 1; }

/* Every element of index (int64, any shape) is in [0, size); otherwise
 * NB_ERR_INDEX naming the first bad one in row-major order. */
static bool check_index_range(const nb_tensor *index, int64_t size, int dim, const char *op)
{
    nbi_walk w;
    walk_of(&w, index);
    int64_t value = 0;
    if (nbi_backend_of(index)->index_check(&w, size, &value) < 0) return true;
    nbi_fail(NB_ERR_INDEX, "%s: index %lld is out of bounds for dim %d with size %lld", op, (long long)value, dim,
             (long long)size);
    return false;
}

/* ------------------------------------------------------------------------ */
/* Gather and index_select                                                   */
/* ------------------------------------------------------------------------ */

/* The indexed tensor t's part of a gather or scatter description, indexed
 * along d. (Not zero-initialised as a whole: walk_init sets the walk, and
 * zeroing it all costs more than a small gather.) */
static void gather_args_init(nbi_gather_args *g, const nb_tensor *t, int d)
{
    g->dim_step = t->ndim > 0 ? t->stride[d] * (int64_t)nbi_itemsize(t) : 0; /* bytes between neighbours along d */
    g->dtype    = t->dtype;
}

nb_tensor *nb_gather(const nb_tensor *t, int dim, const nb_tensor *index)
{
    const char *op = "nb_gather";
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_tensor(index, op, "index")) return NULL;
    if (!nbi_check_device(op, 2, (const nb_tensor *const[]){t, index}, (const char *const[]){"t", "index"}))
        return NULL;
    if (!check_index_dtype(index, op) || !check_index_kernel(t, NBI_INDEX_GATHER, op)) return NULL;
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
    nb_tensor *out = nbi_empty(index->ndim, index->shape, t->dtype, t->storage->device);
    if (out == NULL) return NULL;
    /* out[p] = t[p with p[d] := index[p]]: walk index's shape. */
    nbi_gather_args g;
    gather_args_init(&g, t, d);
    walk_init(&g.walk, index->ndim, index->shape, 3, t->storage->device.index);
    walk_operand(&g.walk, 0, out, -1);
    walk_operand(&g.walk, 1, t, d);
    walk_operand(&g.walk, 2, index, -1);
    nbi_backend_of(t)->gather(&g);
    return nbi_record_gather(out, t, d, index);
}

static nb_tensor *index_select(const nb_tensor *t, int dim, const nb_tensor *index, const char *op);

/* index may also be int32 (as torch's index_select): widened first. */
nb_tensor *nb_index_select(const nb_tensor *t, int dim, const nb_tensor *index)
{
    const char *op = "nb_index_select";
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_tensor(index, op, "index")) return NULL;
    if (index->dtype != NB_INT32) return index_select(t, dim, index, op);
    nb_tensor *wide = nbi_copy_as(index, NB_INT64);
    nb_tensor *out  = wide ? index_select(t, dim, wide, op) : NULL;
    nb_free(wide);
    return out;
}

static nb_tensor *index_select(const nb_tensor *t, int dim, const nb_tensor *index, const char *op)
{
    if (!nbi_check_device(op, 2, (const nb_tensor *const[]){t, index}, (const char *const[]){"t", "index"}))
        return NULL;
    if (!check_index_dtype(index, op) || !check_index_kernel(t, NBI_INDEX_GATHER, op)) return NULL;
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
    nb_tensor *out = nbi_empty(t->ndim, shape, t->dtype, t->storage->device);
    if (out == NULL) return NULL;
    nbi_gather_args g;
    gather_args_init(&g, t, d);
    walk_init(&g.walk, out->ndim, out->shape, 3, t->storage->device.index);
    walk_operand(&g.walk, 0, out, -1);
    walk_operand(&g.walk, 1, t, d);
    /* index moves only along dim d of the walk. */
    g.walk.base[2] = nbi_ptr(index);
    if (index->ndim == 1 && t->ndim > 0) g.walk.stride[2][d] = index->stride[0] * (int64_t)sizeof(int64_t);
    nbi_backend_of(t)->gather(&g);
    return nbi_record_index_select(out, t, d, index);
}

/* ------------------------------------------------------------------------ */
/* Scatter                                                                   */
/* ------------------------------------------------------------------------ */

/* The checks of every scatter form; the wrapped dim, or -1. */
static int check_scatter(const nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src, bool accumulate,
                         const char *op)
{
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_tensor(index, op, "index") || !nbi_check_tensor(src, op, "src"))
        return -1;
    if (!nbi_check_device(op, 3, (const nb_tensor *const[]){t, index, src}, (const char *const[]){"t", "index", "src"}))
        return -1;
    if (!check_index_dtype(index, op)) return -1;
    if (src->dtype != t->dtype) {
        nbi_fail(NB_ERR_DTYPE, "%s: src has dtype %s but t has dtype %s; they must be equal", op,
                 nb_dtype_name(src->dtype), nb_dtype_name(t->dtype));
        return -1;
    }
    if (!check_index_kernel(t, accumulate ? NBI_INDEX_SCATTER_ADD : NBI_INDEX_SCATTER, op)) return -1;
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
    nbi_gather_args s;
    gather_args_init(&s, target, d);
    walk_init(&s.walk, index->ndim, index->shape, 3, target->storage->device.index);
    walk_operand(&s.walk, 0, target, d);
    walk_operand(&s.walk, 1, src, -1);
    walk_operand(&s.walk, 2, index, -1);
    walk_move_innermost(&s.walk, d);
    nbi_backend_of(target)->scatter(&s, accumulate);
}

static nb_tensor *scatter_copy(const nb_tensor *t, int dim, const nb_tensor *index, const nb_tensor *src,
                               bool accumulate, const char *op)
{
    int d = check_scatter(t, dim, index, src, accumulate, op);
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
    int d = check_scatter(t, dim, index, src, accumulate, op);
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

static bool check_mask(const nb_tensor *t, const nb_tensor *mask, nbi_index_op kernel, const char *op, int *ndim,
                       int64_t *shape)
{
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_tensor(mask, op, "mask")) return false;
    if (!nbi_check_device(op, 2, (const nb_tensor *const[]){t, mask}, (const char *const[]){"t", "mask"})) return false;
    if (mask->dtype != NB_BOOL) {
        nbi_fail(NB_ERR_DTYPE, "%s: mask must be bool, got %s", op, nb_dtype_name(mask->dtype));
        return false;
    }
    if (!check_index_kernel(t, kernel, op)) return false;
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

nb_tensor *nb_masked_fill(const nb_tensor *t, const nb_tensor *mask, double value)
{
    int     ndim;
    int64_t shape[NB_MAX_DIMS];
    if (!check_mask(t, mask, NBI_INDEX_MASKED_FILL, "nb_masked_fill", &ndim, shape)) return NULL;
    nbi_element bits = {{0}};
    if (!convert_fill_value(value, t->dtype, bits.bytes, "nb_masked_fill")) return NULL;
    /* The result has the broadcast shape of t and mask, as torch's
     * out-of-place masked_fill. */
    nb_tensor *out = nbi_empty(ndim, shape, t->dtype, t->storage->device);
    if (out == NULL) return NULL;
    const nb_tensor *operands[3] = {out, t, mask};
    nbi_iter         it;
    nbi_iter_init(&it, 3, operands);
    nbi_backend_of(out)->masked_fill(&it, t->dtype, &bits);
    return nbi_record_masked_fill(out, t, mask);
}

/* ------------------------------------------------------------------------ */
/* Ops whose output follows row-major order: masked_select, nonzero          */
/* ------------------------------------------------------------------------ */

/* Such an op calls its kernel twice: once to count the selected elements,
 * then, with the output made, to write them. */

/* All but the walk, which walk_init sets. */
static void select_args_init(nbi_select_args *args, const nb_tensor *t)
{
    args->dtype   = t->dtype;
    args->out     = NULL;
    args->npieces = 0;
}

nb_tensor *nb_masked_select(const nb_tensor *t, const nb_tensor *mask)
{
    int     ndim;
    int64_t shape[NB_MAX_DIMS];
    if (!check_mask(t, mask, NBI_INDEX_MASKED_SELECT, "nb_masked_select", &ndim, shape)) return NULL;
    const nbi_backend *backend = nbi_backend_of(t);
    nbi_select_args    args;
    select_args_init(&args, t);
    walk_init(&args.walk, ndim, shape, 2, t->storage->device.index);
    walk_operand(&args.walk, 0, t, -1);
    walk_operand(&args.walk, 1, mask, -1);
    int64_t count = backend->select(NBI_INDEX_MASKED_SELECT, &args);
    if (count < 0) return nbi_entry_failed("nb_masked_select");
    nb_tensor *out = nbi_empty(1, &count, t->dtype, t->storage->device);
    if (out == NULL) return NULL;
    if (count > 0) {
        args.out = nbi_ptr(out);
        backend->select(NBI_INDEX_MASKED_SELECT, &args);
    }
    return nbi_record_masked_select(out, t, mask);
}

nb_tensor *nb_nonzero(const nb_tensor *t)
{
    const char *op = "nb_nonzero";
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_device1(op, t, "t")) return NULL;
    const nbi_backend *backend = nbi_backend_of(t);
    if (!check_index_kernel(t, NBI_INDEX_NONZERO, op)) return NULL;
    nbi_select_args args;
    select_args_init(&args, t);
    walk_of(&args.walk, t);
    int64_t count = backend->select(NBI_INDEX_NONZERO, &args);
    if (count < 0) return nbi_entry_failed(op);
    int64_t    shape[2] = {count, t->ndim};
    nb_tensor *out      = nbi_empty(2, shape, NB_INT64, t->storage->device);
    if (out == NULL || count == 0 || t->ndim == 0) return out;
    args.out = nbi_ptr(out);
    backend->select(NBI_INDEX_NONZERO, &args);
    return out;
}

/* ------------------------------------------------------------------------ */
/* One-hot                                                                   */
/* ------------------------------------------------------------------------ */

nb_tensor *nb_one_hot(const nb_tensor *t, int64_t num_classes)
{
    const char *op = "nb_one_hot";
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (!nbi_check_device1(op, t, "t")) return NULL;
    if (t->dtype != NB_INT64)
        return nbi_fail(NB_ERR_DTYPE, "%s: expected an int64 tensor of class indices, got %s", op,
                        nb_dtype_name(t->dtype));
    if (num_classes < -1)
        return nbi_fail(NB_ERR_ARG, "%s: num_classes must be -1 (infer) or at least 0, got %lld", op,
                        (long long)num_classes);
    if (t->ndim == NB_MAX_DIMS)
        return nbi_fail(NB_ERR_SHAPE, "%s: t already has %d dims, the most a tensor can have", op, t->ndim);
    const nbi_backend *backend = nbi_backend_of(t);
    if (!check_index_kernel(t, NBI_INDEX_ONE_HOT, op)) return NULL;
    nbi_walk w;
    walk_of(&w, t);
    if (t->numel == 0) {
        if (num_classes <= 0)
            return nbi_fail(NB_ERR_ARG,
                            "%s: cannot infer the number of classes from an empty tensor (num_classes %lld)", op,
                            (long long)num_classes);
    } else {
        int64_t min, max;
        backend->index_min_max(&w, &min, &max);
        if (min < 0) return nbi_fail(NB_ERR_INDEX, "%s: class %lld is negative", op, (long long)min);
        if (num_classes == -1) {
            if (max == INT64_MAX) return nbi_fail(NB_ERR_SHAPE, "%s: class %lld is too large", op, (long long)max);
            num_classes = max + 1;
        } else if (max >= num_classes) {
            return nbi_fail(NB_ERR_INDEX, "%s: class %lld is out of range for num_classes %lld", op, (long long)max,
                            (long long)num_classes);
        }
    }
    int64_t shape[NB_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++)
        shape[d] = t->shape[d];
    shape[t->ndim] = num_classes;
    nb_tensor *out = nbi_empty(t->ndim + 1, shape, NB_INT64, t->storage->device);
    if (out == NULL) return NULL;
    backend->one_hot(&w, (int64_t *)(void *)nbi_ptr(out), num_classes);
    return out;
}
