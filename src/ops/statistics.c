/*
 * statistics.c — order statistics and counting: median and nanmedian,
 * quantile and nanquantile, unique and unique_consecutive, bincount, histc.
 *
 * Each is made of public ops (sort, gather, cumsum, masked_select,
 * scatter_add), so it runs on any device that runs those and, where it is
 * differentiable, autograd follows the sort and the gather: the gradient
 * goes to the element each value was taken from, as torch's. Median over a
 * dim and over everything are recorded by the formulas torch names
 * (MedianBackward1: the picked position; MedianBackward0: shared among the
 * ties).
 *
 * NaN: sort puts NaNs last (stably), so a slice holding k non-NaN values
 * has them in positions 0 .. k-1 and its first NaN at k. median and
 * quantile of a slice with a NaN are NaN (position k, or n - 1 for
 * quantile); nanmedian and nanquantile look only at the first k.
 */
#include <math.h>

#include "autograd/autograd.h"

/* ------------------------------------------------------------------------ */
/* median, nanmedian                                                         */
/* ------------------------------------------------------------------------ */

/* Number of non-NaN values of t along dim (int64, dim kept). */
static nb_tensor *count_not_nan(const nb_tensor *t, int dim)
{
    return nb_sum_dims(nb_logical_not(nb_isnan(t)), NB_DIMS(dim), true);
}

/* The lower median along dim d (wrapped, t at least 1-d, the dim not
 * empty) of t: values (recording off) and positions in t, dim kept. Call
 * inside a scope. */
static nb_tensor *median_along(const nb_tensor *t, int d, bool ignore_nan, nb_tensor **positions)
{
    nb_tensor *order  = NULL;
    nb_tensor *sorted = nb_sort(t, d, false, &order);
    int64_t    n      = t->shape[d];
    nb_tensor *count  = count_not_nan(t, d);
    nb_tensor *middle;
    if (ignore_nan) {
        /* (k - 1) / 2 of the k non-NaN values; a slice of NaNs only: 0 */
        middle = nb_floor_divide_scalar(nb_maximum_scalar(nb_sub_scalar(count, 1), 0), 2);
    } else {
        /* the first NaN when there is one, else (n - 1) / 2 */
        nb_tensor *has_nan = nb_lt_scalar(count, (double)n);
        middle             = nb_where(has_nan, count, nb_full_like(count, (double)((n - 1) / 2)));
    }
    *positions = nb_gather(order, d, middle);
    return nb_gather(sorted, d, middle);
}

static bool check_median_input(const nb_tensor *t, const char *op)
{
    if (!nbi_check_tensor(t, op, "t")) return false;
    if (t->dtype == NB_BOOL) {
        nbi_fail(NB_ERR_DTYPE, "%s: bool tensors are not supported (as in torch); convert with nb_to_dtype", op);
        return false;
    }
    return true;
}

static nb_tensor *median_all(const nb_tensor *t, bool ignore_nan, const char *op)
{
    if (!check_median_input(t, op)) return NULL;
    if (nb_numel(t) == 0) {
        if (!nb_dtype_is_floating(t->dtype))
            return nbi_fail(NB_ERR_SHAPE, "%s: the median of no integers is undefined (a float tensor gives NaN)", op);
        nb_tensor *nan = nb_full(NB_SCALAR_SHAPE, NAN, NB_OPTS(.dtype = t->dtype, .device = nb_device_of(t)));
        return nbi_record_reduction(ignore_nan ? NBI_FORMULA_NANMEDIAN : NBI_FORMULA_MEDIAN, nan, t,
                                    (nb_dims){ .n = 0 }, false);
    }
    if (nb_scope_begin() != NB_OK) return NULL;
    nbi_grad_mode_push(false);
    nb_tensor *positions = NULL;
    nb_tensor *flat      = nb_reshape(t, NB_SHAPE(-1));
    nb_tensor *value     = flat ? median_along(flat, 0, ignore_nan, &positions) : NULL;
    nb_tensor *out       = nb_keep(nb_reshape(value, NB_SCALAR_SHAPE));
    nbi_grad_mode_pop();
    nb_scope_end();
    return nbi_record_reduction(ignore_nan ? NBI_FORMULA_NANMEDIAN : NBI_FORMULA_MEDIAN, out, t, (nb_dims){ .n = 0 },
                                false);
}

static nb_tensor *median_dim(const nb_tensor *t, int dim, bool keepdim, nb_tensor **indices, bool ignore_nan,
                             const char *op)
{
    if (indices) *indices = NULL;
    if (!check_median_input(t, op)) return NULL;
    int d = nbi_wrap_dim(dim, t->ndim, op);
    if (d < 0) return NULL;
    if (t->ndim > 0 && t->shape[d] == 0)
        return nbi_fail(NB_ERR_SHAPE, "%s: dim %d has size 0, and the median of no elements is undefined", op, d);
    if (nb_scope_begin() != NB_OK) return NULL;
    nbi_grad_mode_push(false);
    nb_tensor *line      = t->ndim == 0 ? nb_reshape(t, NB_SHAPE(1)) : (nb_tensor *)t;
    nb_tensor *positions = NULL;
    nb_tensor *values    = line ? median_along(line, d, ignore_nan, &positions) : NULL;
    if (t->ndim == 0 || !keepdim) {
        values    = nb_squeeze_dim(values, d);
        positions = nb_squeeze_dim(positions, d);
    }
    /* contiguous results, as torch's */
    values    = nb_keep(nb_contiguous(values));
    positions = nb_keep(nb_contiguous(positions));
    nbi_grad_mode_pop();
    nb_scope_end();
    if (values == NULL || positions == NULL) {
        nb_free(values);
        nb_free(positions);
        return NULL;
    }
    values = nbi_record_picked(values, t, d, positions, keepdim && t->ndim > 0,
                               ignore_nan ? "NanmedianBackward1" : "MedianBackward1");
    if (values == NULL || indices == NULL)
        nb_free(positions);
    else
        *indices = positions;
    return values;
}

nb_tensor *nb_median(const nb_tensor *t) { return median_all(t, false, "nb_median"); }
nb_tensor *nb_nanmedian(const nb_tensor *t) { return median_all(t, true, "nb_nanmedian"); }

nb_tensor *nb_median_dim(const nb_tensor *t, int dim, bool keepdim, nb_tensor **indices)
{
    return median_dim(t, dim, keepdim, indices, false, "nb_median_dim");
}

nb_tensor *nb_nanmedian_dim(const nb_tensor *t, int dim, bool keepdim, nb_tensor **indices)
{
    return median_dim(t, dim, keepdim, indices, true, "nb_nanmedian_dim");
}

/* ------------------------------------------------------------------------ */
/* quantile, nanquantile                                                     */
/* ------------------------------------------------------------------------ */

/* lerp as torch computes it: from the nearer end, so w = 1 gives b exactly. */
static nb_tensor *lerp(nb_tensor *a, nb_tensor *b, nb_tensor *w)
{
    nb_tensor *step = nb_sub(b, a);
    return nb_where(nb_lt_scalar(w, 0.5), nb_add(a, nb_mul(w, step)), nb_sub(b, nb_mul(step, nb_rsub_scalar(w, 1))));
}

static bool check_quantile_args(const nb_tensor *t, const nb_tensor *q, nb_dims dims, const char *op)
{
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_tensor(q, op, "q")) return false;
    if (!nb_dtype_is_floating(t->dtype)) {
        nbi_fail(NB_ERR_DTYPE, "%s: t must be float32 or float64, got %s (as torch)", op, nb_dtype_name(t->dtype));
        return false;
    }
    if (q->dtype != t->dtype) {
        nbi_fail(NB_ERR_DTYPE, "%s: q must have t's dtype %s, got %s (as torch)", op, nb_dtype_name(t->dtype),
                 nb_dtype_name(q->dtype));
        return false;
    }
    if (q->ndim > 1) {
        nbi_fail(NB_ERR_SHAPE, "%s: q must be a number or a 1-d tensor, got %d dims", op, q->ndim);
        return false;
    }
    if (dims.n < 0 || dims.n > 1) {
        nbi_fail(NB_ERR_ARG, "%s: takes one dim or none (every element), got a list of %d", op, dims.n);
        return false;
    }
    if (dims.n == 1 && nbi_wrap_dim(dims.dims[0], t->ndim, op) < 0) return false;
    if (nb_numel(t) == 0) {
        nbi_fail(NB_ERR_SHAPE, "%s: t must not be empty (as torch)", op);
        return false;
    }
    return true;
}

/* Every q in [0, 1] (read on the host: a handful of numbers). */
static bool check_quantile_range(const nb_tensor *q, const char *op)
{
    nb_tensor *outside = nb_logical_or(nb_lt_scalar(q, 0), nb_gt_scalar(q, 1));
    nb_tensor *any     = nb_any(nb_logical_or(outside, nb_isnan(q)));
    if (any == NULL) return false;
    bool bad = nb_item(any) != 0;
    if (bad) nbi_fail(NB_ERR_ARG, "%s: q must be in [0, 1]", op);
    return !bad;
}

/* floor, ceil and round-half-to-even of non-negative ranks (as torch's
 * floor_, ceil_, round_). */
static nb_tensor *floor_of(nb_tensor *r) { return nb_floor_divide_scalar(r, 1); }
static nb_tensor *ceil_of(nb_tensor *r) { return nb_neg(nb_floor_divide_scalar(nb_neg(r), 1)); }
static nb_tensor *round_of(nb_tensor *r)
{
    nb_tensor *whole = floor_of(r);
    nb_tensor *frac  = nb_sub(r, whole);
    nb_tensor *odd   = nb_eq_scalar(nb_remainder_scalar(whole, 2), 1);
    nb_tensor *up    = nb_logical_or(nb_gt_scalar(frac, 0.5), nb_logical_and(nb_eq_scalar(frac, 0.5), odd));
    return nb_add(whole, nb_to_dtype(up, r->dtype));
}

/* quantile_shape's ndim, which may pass NB_MAX_DIMS. */
static int quantile_ndim(const nb_tensor *t, const nb_tensor *q, int d, bool keepdim)
{
    int n = q->ndim == 1;
    for (int k = 0; k < t->ndim; k++) n += !(d < 0 || k == d) || keepdim;
    return n;
}

/* The result's shape: q's dim (if q is 1-d), then t's dims, the reduced
 * one (every one when d < 0) kept as 1 or dropped. */
static nb_shape quantile_shape(const nb_tensor *t, const nb_tensor *q, int d, bool keepdim)
{
    nb_shape shape = { .ndim = 0 };
    if (q->ndim == 1) shape.dims[shape.ndim++] = q->shape[0];
    for (int k = 0; k < t->ndim; k++) {
        if (d < 0 || k == d) {
            if (keepdim) shape.dims[shape.ndim++] = 1;
        } else {
            shape.dims[shape.ndim++] = t->shape[k];
        }
    }
    return shape;
}

/* torch 1.13's algorithm: sort each slice; rank = q (n - 1) (nanquantile:
 * q (k - 1) over the k non-NaN values; quantile of a slice with a NaN: the
 * last position, a NaN), adjusted by the mode; the values at floor and
 * ceil of the rank, interpolated. Gradients reach t through the gathers
 * and the sort, and q through the interpolation weight. */
static nb_tensor *quantile(const nb_tensor *t, const nb_tensor *q, nb_dims dims, bool keepdim,
                           nb_quantile_interpolation mode, bool ignore_nan, const char *op)
{
    if (!check_quantile_args(t, q, dims, op)) return NULL;
    if ((unsigned)mode > NB_QUANTILE_NEAREST) return nbi_fail(NB_ERR_ARG, "%s: unknown interpolation %d", op, (int)mode);
    if (nb_scope_begin() != NB_OK) return NULL;
    nb_tensor *out = NULL;
    if (nbi_is_half(t->dtype)) {
        /* in float32, rounded once: a rank q (n - 1) or a weight in half
         * loses whole positions (q = 0.4997 of 2001 values: 999.4 is 1000
         * in bfloat16) */
        nb_tensor *wide = quantile(nbi_float32_if_half(t), nbi_float32_if_half(q), dims, keepdim, mode, ignore_nan, op);
        out = wide ? nb_to_dtype(wide, t->dtype) : NULL;
        goto done;
    }
    if (!check_quantile_range(q, op)) goto done;
    /* The slices along a last dim: the flattened tensor, or dim d moved last. */
    int d = dims.n == 1 ? nbi_wrap_dim(dims.dims[0], t->ndim, op) : -1;
    if (quantile_ndim(t, q, d, keepdim) > NB_MAX_DIMS) {
        nbi_fail(NB_ERR_SHAPE, "%s: the result would have more than %d dims (q's dim before t's)", op, NB_MAX_DIMS);
        goto done;
    }
    nb_tensor *slices = d < 0 || t->ndim == 0 ? nb_reshape(t, NB_SHAPE(-1)) : nb_transpose(t, d, -1);
    nb_tensor *sorted = slices ? nb_sort(slices, -1, false, NULL) : NULL;
    if (sorted == NULL) goto done;
    /* Worked on as (rows, n), one row per slice, so that q's extra dim fits
     * even for 8-d t: ranks (Q, rows, 1). */
    int64_t n = sorted->shape[sorted->ndim - 1], rows = 1;
    for (int k = 0; k < sorted->ndim - 1; k++) rows *= sorted->shape[k];
    nb_tensor *table = nb_reshape(sorted, NB_SHAPE(rows, n));
    int64_t    Q     = q->ndim == 1 ? q->shape[0] : 1;
    nb_shape   rank_shape = NB_SHAPE(Q, rows, 1);
    /* The ranks follow q with recording on: in linear mode the weight is
     * differentiable in q, as torch's; the positions are not. */
    nb_tensor *q_column = nb_reshape(q, NB_SHAPE(Q, 1, 1));
    nb_tensor *count    = count_not_nan(table, 1);
    nb_tensor *ranks;
    if (ignore_nan) {
        ranks = nb_maximum_scalar(nb_mul(q_column, nb_to_dtype(nb_sub_scalar(count, 1), t->dtype)), 0);
    } else {
        nb_tensor *has_nan = nb_lt_scalar(count, (double)n);
        ranks = nb_where(has_nan, nb_full(NB_SCALAR_SHAPE, (double)(n - 1), NB_OPTS(.dtype = t->dtype, .device = nb_device_of(t))),
                         nb_mul_scalar(q_column, (double)(n - 1)));
    }
    if (mode == NB_QUANTILE_LOWER) ranks = floor_of(ranks);
    if (mode == NB_QUANTILE_HIGHER) ranks = ceil_of(ranks);
    if (mode == NB_QUANTILE_NEAREST) ranks = round_of(ranks);
    ranks                  = nb_contiguous(nb_expand(ranks, rank_shape));
    nb_tensor *below_index = nb_to_dtype(ranks, NB_INT64);
    nb_tensor *above_index = nb_to_dtype(ceil_of(ranks), NB_INT64);
    nb_tensor *weights     = mode == NB_QUANTILE_MIDPOINT ? nb_full_like(ranks, 0.5)
                                                          : nb_sub(ranks, nb_to_dtype(below_index, t->dtype));
    nb_tensor *every_q = nb_expand(nb_unsqueeze(table, 0), NB_SHAPE(Q, rows, n));
    nb_tensor *result  = nb_gather(every_q, 2, below_index);
    if (mode == NB_QUANTILE_LINEAR || mode == NB_QUANTILE_MIDPOINT)
        result = lerp(result, nb_gather(every_q, 2, above_index), weights);
    /* (Q, the slices' dims): the slice dim of t at d returns from the end,
     * where the transpose put t's last dim */
    nb_shape kept = { .ndim = 0 };
    if (q->ndim == 1) kept.dims[kept.ndim++] = Q;
    for (int k = 0; k < sorted->ndim - 1; k++) kept.dims[kept.ndim++] = sorted->shape[k];
    result = nb_reshape(result, kept);
    if (d >= 0 && t->ndim > 1 && d != t->ndim - 1) {
        /* kept holds t's dims with the last one at d: move it back last */
        int     first = q->ndim == 1;
        nb_dims order = { .n = kept.ndim };
        for (int k = 0, at = 0; k < kept.ndim; k++)
            if (k != first + d) order.dims[at++] = k;
        order.dims[kept.ndim - 1] = first + d;
        result                    = nb_permute(result, order);
    }
    out = nb_reshape(result, quantile_shape(t, q, d, keepdim));
    out = out ? nb_contiguous(out) : NULL;
done:
    out = nb_keep(out);
    nb_scope_end();
    return out;
}

/* q as a 0-d tensor of t's dtype. */
static nb_tensor *quantile_number(const nb_tensor *t, double q, nb_dims dims, bool keepdim,
                                  nb_quantile_interpolation mode, bool ignore_nan, const char *op)
{
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (nbi_is_half(t->dtype)) {
        /* q itself in float32 too: 0.4997 is 0.5 in bfloat16 */
        if (nb_scope_begin() != NB_OK) return NULL;
        nb_tensor *wide = quantile_number(nbi_float32_if_half(t), q, dims, keepdim, mode, ignore_nan, op);
        nb_tensor *out  = nb_keep(wide ? nb_to_dtype(wide, t->dtype) : NULL);
        nb_scope_end();
        return out;
    }
    nb_dtype   dtype    = nb_dtype_is_floating(t->dtype) ? t->dtype : NB_FLOAT32;
    nb_tensor *q_tensor = nb_full(NB_SCALAR_SHAPE, q, NB_OPTS(.dtype = dtype, .device = nb_device_of(t)));
    nb_tensor *out      = q_tensor ? quantile(t, q_tensor, dims, keepdim, mode, ignore_nan, op) : NULL;
    nb_free(q_tensor);
    return out;
}

nb_tensor *nb_quantile(const nb_tensor *t, double q, nb_dims dims, bool keepdim, nb_quantile_interpolation mode)
{
    return quantile_number(t, q, dims, keepdim, mode, false, "nb_quantile");
}

nb_tensor *nb_nanquantile(const nb_tensor *t, double q, nb_dims dims, bool keepdim, nb_quantile_interpolation mode)
{
    return quantile_number(t, q, dims, keepdim, mode, true, "nb_nanquantile");
}

nb_tensor *nb_quantile_tensor(const nb_tensor *t, const nb_tensor *q, nb_dims dims, bool keepdim,
                              nb_quantile_interpolation mode)
{
    return quantile(t, q, dims, keepdim, mode, false, "nb_quantile_tensor");
}

nb_tensor *nb_nanquantile_tensor(const nb_tensor *t, const nb_tensor *q, nb_dims dims, bool keepdim,
                                 nb_quantile_interpolation mode)
{
    return quantile(t, q, dims, keepdim, mode, true, "nb_nanquantile_tensor");
}

/* ------------------------------------------------------------------------ */
/* unique, unique_consecutive                                                */
/* ------------------------------------------------------------------------ */

/* The distinct values of t's flattened elements (sorted first unless
 * consecutive), with the group of each element and the size of each
 * group. Not differentiable (torch's backward is not implemented). */
static nb_tensor *distinct(const nb_tensor *t, bool consecutive, nb_tensor **inverse, nb_tensor **counts,
                           const char *op)
{
    if (inverse) *inverse = NULL;
    if (counts) *counts = NULL;
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (nb_scope_begin() != NB_OK) return NULL;
    nbi_grad_mode_push(false);
    nb_device  device = nb_device_of(t);
    int64_t    n      = nb_numel(t);
    nb_tensor *flat   = nb_reshape(t, NB_SHAPE(-1));
    nb_tensor *order  = NULL;
    nb_tensor *sorted = consecutive ? flat : nb_sort(flat, 0, false, &order);
    nb_tensor *values = NULL, *group = NULL, *sizes = NULL;
    if (n == 0) {
        values = nb_clone(flat);
        group  = nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_INT64, .device = device));
        sizes  = nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_INT64, .device = device));
    } else if (sorted != NULL) {
        /* a group starts where a value differs from the one before it */
        nb_tensor *first     = nb_ones(NB_SHAPE(1), NB_OPTS(.dtype = NB_BOOL, .device = device));
        nb_tensor *changes   = nb_ne(nb_slice(sorted, 0, 1, NB_END, 1), nb_slice(sorted, 0, 0, n - 1, 1));
        nb_tensor *parts[2]  = { first, changes };
        nb_tensor *starts    = nb_cat(parts, 2, 0);
        nb_tensor *group_ids = nb_sub_scalar(nb_cumsum(starts, 0), 1);
        values               = nb_masked_select(sorted, starts);
        if (values != NULL) {
            nb_tensor *ones = nb_ones(NB_SHAPE(n), NB_OPTS(.dtype = NB_INT64, .device = device));
            sizes = nb_scatter_add(nb_zeros(NB_SHAPE(nb_numel(values)), NB_OPTS(.dtype = NB_INT64, .device = device)),
                                   0, group_ids, ones);
        }
        group = consecutive ? group_ids
                            : nb_scatter(nb_zeros(NB_SHAPE(n), NB_OPTS(.dtype = NB_INT64, .device = device)), 0,
                                         order, group_ids);
    }
    group  = nb_reshape(group, nb_shape_of(t));
    bool ok = values != NULL && group != NULL && sizes != NULL;
    nbi_grad_mode_pop();
    if (ok) {
        nb_keep(values);
        if (inverse) *inverse = nb_keep(nb_contiguous(group));
        if (counts) *counts = nb_keep(sizes);
    }
    nb_scope_end();
    return ok ? values : NULL;
}

nb_tensor *nb_unique(const nb_tensor *t, nb_tensor **inverse, nb_tensor **counts)
{
    return distinct(t, false, inverse, counts, "nb_unique");
}

nb_tensor *nb_unique_consecutive(const nb_tensor *t, nb_tensor **inverse, nb_tensor **counts)
{
    return distinct(t, true, inverse, counts, "nb_unique_consecutive");
}

/* ------------------------------------------------------------------------ */
/* bincount, histc                                                           */
/* ------------------------------------------------------------------------ */

nb_tensor *nb_bincount(const nb_tensor *t, const nb_tensor *weights, int64_t minlength)
{
    const char *op = "nb_bincount";
    if (!nbi_check_tensor(t, op, "t") || (weights && !nbi_check_tensor(weights, op, "weights"))) return NULL;
    if (nb_dtype_is_floating(t->dtype) || t->dtype == NB_BOOL)
        return nbi_fail(NB_ERR_DTYPE, "%s: t must hold integers, got %s (as torch)", op, nb_dtype_name(t->dtype));
    if (t->ndim != 1) return nbi_fail(NB_ERR_SHAPE, "%s: t must be 1-d, got %d dims", op, t->ndim);
    if (minlength < 0) return nbi_fail(NB_ERR_ARG, "%s: minlength must be >= 0, got %lld", op, (long long)minlength);
    if (weights && (weights->ndim != 1 || weights->shape[0] != t->shape[0]))
        return nbi_fail(NB_ERR_SHAPE, "%s: weights must be 1-d with t's %lld elements", op, (long long)t->shape[0]);
    if (nb_scope_begin() != NB_OK) return NULL;
    nbi_grad_mode_push(false);
    nb_tensor *out    = NULL;
    int64_t    length = minlength;
    if (t->shape[0] > 0) {
        nb_tensor *low = nb_min(t), *high = nb_max(t);
        if (low == NULL || high == NULL) goto done;
        if (nb_item_int64(low) < 0) {
            nbi_fail(NB_ERR_ARG, "%s: t must not hold negative values, found %lld", op, (long long)nb_item_int64(low));
            goto done;
        }
        if (nb_item_int64(high) + 1 > length) length = nb_item_int64(high) + 1;
    }
    /* float32 / float64 weights keep their dtype; any other (halves, integers,
     * bool) sums in float64; an empty t counts in int64 even with weights
     * (all three as torch) */
    nb_dtype dtype = NB_INT64;
    if (weights && t->shape[0] > 0)
        dtype = weights->dtype == NB_FLOAT32 || weights->dtype == NB_FLOAT64 ? weights->dtype : NB_FLOAT64;
    nb_opts  opts  = NB_OPTS(.dtype = dtype, .device = nb_device_of(t));
    nb_tensor *add = weights ? nb_to_dtype(weights, dtype) : nb_ones(NB_SHAPE(t->shape[0]), opts);
    out            = nb_scatter_add(nb_zeros(NB_SHAPE(length), opts), 0, nb_to_dtype(t, NB_INT64), add);
done:
    nbi_grad_mode_pop();
    out = nb_keep(out);
    nb_scope_end();
    return out;
}

nb_tensor *nb_histc(const nb_tensor *t, int64_t bins, double min, double max)
{
    const char *op = "nb_histc";
    if (!nbi_check_tensor(t, op, "t")) return NULL;
    if (!nb_dtype_is_floating(t->dtype))
        return nbi_fail(NB_ERR_DTYPE, "%s: t must be float32 or float64, got %s (as torch)", op, nb_dtype_name(t->dtype));
    if (bins <= 0) return nbi_fail(NB_ERR_ARG, "%s: bins must be > 0, got %lld", op, (long long)bins);
    if (!(min <= max) || isinf(min) || isinf(max))
        return nbi_fail(NB_ERR_ARG, "%s: needs finite min <= max, got [%g, %g]", op, min, max);
    if (nb_scope_begin() != NB_OK) return NULL;
    nbi_grad_mode_push(false);
    nb_tensor *out  = NULL;
    nb_opts    opts = NB_OPTS(.dtype = t->dtype, .device = nb_device_of(t));
    if (min == max && nb_numel(t) > 0) {
        /* the data's own range (NaNs left out) */
        nb_tensor *finite = nb_masked_select(t, nb_logical_not(nb_isnan(t)));
        if (finite == NULL) goto done;
        if (nb_numel(finite) > 0) {
            min = nb_item(nb_min(finite));
            max = nb_item(nb_max(finite));
        }
    }
    if (min == max) {
        min -= 1;
        max += 1;
    }
    nb_tensor *counts = nb_zeros(NB_SHAPE(bins), opts);
    /* bin = (x - min) bins / (max - min) in t's dtype; x == max goes in
     * the last bin; NaNs and values outside [min, max] are left out */
    nb_tensor *inside = nb_logical_and(nb_ge_scalar(t, min), nb_le_scalar(t, max));
    nb_tensor *picked = nb_masked_select(t, inside);
    nb_tensor *scaled = nb_div_scalar(nb_mul_scalar(nb_sub_scalar(picked, min), (double)bins), max - min);
    nb_tensor *bin    = nb_minimum_scalar(nb_to_dtype(scaled, NB_INT64), (double)(bins - 1));
    out = nb_scatter_add(counts, 0, bin, nb_ones_like(picked));
done:
    nbi_grad_mode_pop();
    out = nb_keep(out);
    nb_scope_end();
    return out;
}
