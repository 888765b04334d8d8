/*
 * reduce_derivatives.c — gradients of the reductions and of the ops that
 * normalise along a dim: sum, mean, prod, max/min, var/std, logsumexp,
 * norm, cumsum, softmax, log_softmax.
 *
 * Each op is a row of src/core/reduce.def, which names its formula here and
 * says what the node saves; the tables at the end of this file are made
 * from it.
 *
 * A reduction's gradient starts with g put back in t's shape: the reduced
 * dims re-inserted as size 1 (when keepdim was off) and then broadcast.
 * "expanded(g)" below means exactly that. The node keeps the reduced dims
 * as a bit mask (ints[0]), keepdim (ints[1]), the op (ints[2]: max or min,
 * var or std), var's and std's correction (ints[3]) and norm's p
 * (scalars[0]); an op along a dim keeps the dim in ints[0].
 */
#include "autograd.h"

#include <stdlib.h>
#include <string.h>

/* The reduced dims of t as a bit mask: an empty list means all of them. */
static int64_t reduced_mask(const nb_tensor *t, nb_dims dims)
{
    if (t == NULL || dims.n < 0 || dims.n > NB_MAX_DIMS) return 0; /* the op failed: nothing is recorded */
    if (dims.n == 0) return t->ndim == 0 ? 1 : ((int64_t)1 << t->ndim) - 1;
    int64_t mask = 0;
    for (int i = 0; i < dims.n; i++) {
        int d = dims.dims[i] < 0 ? dims.dims[i] + (t->ndim > 0 ? t->ndim : 1) : dims.dims[i];
        if (d >= 0 && d < NB_MAX_DIMS) mask |= (int64_t)1 << d; /* bad dims: the op failed already */
    }
    return mask;
}

/* r (the reduced result, or g) with the reduced dims back as size 1. */
static nb_tensor *with_reduced_dims(nbi_node *node, const nb_tensor *x, nb_tensor *r)
{
    if (node->ints[1] || x->ndim == 0) return nbi_alias_recorded(r, "reduction");
    nb_shape kept = { .ndim = x->ndim };
    for (int d = 0; d < x->ndim; d++) kept.dims[d] = (node->ints[0] >> d & 1) ? 1 : x->shape[d];
    return nb_reshape(r, kept);
}

/* r broadcast back to x's shape. */
static nb_tensor *expanded(nbi_node *node, const nb_tensor *x, nb_tensor *r)
{
    nb_tensor *kept = with_reduced_dims(node, x, r);
    return kept ? nb_expand(kept, nb_shape_of(x)) : NULL;
}

/* How many elements were reduced into each output element. */
static int64_t reduced_count(nbi_node *node, const nb_tensor *x)
{
    int64_t count = 1;
    for (int d = 0; d < x->ndim; d++)
        if (node->ints[0] >> d & 1) count *= x->shape[d];
    return count;
}

/* The saved output; while recording (create_graph), as a tensor this node
 * made, so second derivatives see its dependence on x. recompute serves a
 * node that saved no output. */
static nb_tensor *output_of(nbi_node *node, nb_tensor *(*recompute)(nbi_node *, nb_tensor *))
{
    nb_tensor *saved = nbi_saved_output(node);
    if (saved == NULL) return recompute(node, nbi_input(node, 0));
    return nbi_grad_enabled() ? nbi_output_with_history(node) : saved;
}

static nb_dims dims_of_mask(const nb_tensor *x, int64_t mask)
{
    nb_dims dims = { .n = 0 };
    for (int d = 0; d < x->ndim; d++)
        if (mask >> d & 1) dims.dims[dims.n++] = d;
    return dims;
}

/* ------------------------------------------------------------------------ */
/* sum, mean                                                                 */
/* ------------------------------------------------------------------------ */

static nb_status sum_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_status status = nbi_keep_grad(expanded(node, nbi_input(node, 0), g), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

static nb_status mean_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x      = nbi_input(node, 0);
    nb_status  status = nbi_keep_grad(nb_div_scalar(expanded(node, x, g), (double)reduced_count(node, x)), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

/* ------------------------------------------------------------------------ */
/* prod: out / x without zeros; with zeros, the product of the others       */
/* ------------------------------------------------------------------------ */

/* For each element of x, the product of the other elements of its slice
 * over dims (mask): the reduced dims moved last and flattened into one run
 * of R, the product of the elements before (cumprod of [1, x_0..x_{R-2}])
 * times the product of those after (the same from the end). No division,
 * so it is exact at zeros, and made of differentiable ops, so its own
 * derivative is right too (torch's prod_safe_zeros_backward). */
static nb_tensor *products_of_the_others(const nb_tensor *x, int64_t mask)
{
    int     order[NB_MAX_DIMS], inverse[NB_MAX_DIMS], k = 0;
    int64_t shape[NB_MAX_DIMS], run = 1;
    for (int pass = 0; pass < 2; pass++)
        for (int d = 0; d < x->ndim; d++)
            if (((mask >> d) & 1) == pass) order[k++] = d;
    nb_dims permutation = {.n = x->ndim};
    for (int d = 0; d < x->ndim; d++) {
        permutation.dims[d] = order[d];
        inverse[order[d]]   = d;
    }
    int kept = 0;
    for (int d = 0; d < x->ndim; d++) {
        if ((mask >> order[d]) & 1)
            run *= x->shape[order[d]];
        else
            shape[kept++] = x->shape[order[d]];
    }
    shape[kept] = run;
    nb_shape rows_shape = {.ndim = kept + 1}, one_shape;
    memcpy(rows_shape.dims, shape, sizeof(int64_t) * (size_t)(kept + 1));
    one_shape                = rows_shape;
    one_shape.dims[kept]     = 1;
    nb_tensor *moved         = nb_permute(x, permutation);
    nb_tensor *rows          = nb_reshape(moved, rows_shape);
    nb_tensor *ones          = nb_ones(one_shape, NB_OPTS(.dtype = x->dtype, .device = nb_device_of(x)));
    nb_tensor *first         = nb_narrow(rows, kept, 0, run - 1);
    nb_tensor *last_reversed = nb_flip(nb_narrow(rows, kept, 1, run - 1), NB_DIMS(kept));
    nb_tensor *before        = nb_cumprod(nb_cat((nb_tensor *[]){ones, first}, 2, kept), kept);
    nb_tensor *after = nb_flip(nb_cumprod(nb_cat((nb_tensor *[]){ones, last_reversed}, 2, kept), kept), NB_DIMS(kept));
    nb_tensor *others = nb_reshape(nb_mul(before, after), nb_shape_of(moved));
    nb_dims    back   = {.n = x->ndim};
    for (int d = 0; d < x->ndim; d++) back.dims[d] = inverse[d];
    return nb_permute(others, back);
}

static nb_tensor *recompute_prod(nbi_node *node, nb_tensor *x)
{
    return nb_prod_dims(x, dims_of_mask(x, node->ints[0]), true);
}

static nb_status prod_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x      = nbi_input(node, 0);
    nb_tensor *kept_g = with_reduced_dims(node, x, g);
    nb_tensor *local;
    /* as torch: out / x when x holds no zero anywhere, else the products of
     * the others; but prod over every dim, not recording, with two zeros or
     * more: zeros (torch's shortcut, which also keeps an inf or NaN among
     * the others out of the gradient) */
    nb_tensor *zero_count = nb_sum(nb_eq_scalar(x, 0));
    double     zeros      = zero_count ? nb_item(zero_count) : 0;
    if (zero_count == NULL) {
        local = NULL;
    } else if (x->numel == 0 || x->ndim == 0) {
        local = nb_ones_like(x);
    } else if (node->ints[4] && zeros > 1 && !nbi_grad_enabled()) {
        local = nb_zeros_like(x);
    } else if (zeros == 0) {
        nb_tensor *out = output_of(node, recompute_prod);
        local          = nb_div(with_reduced_dims(node, x, out), x);
    } else {
        local = products_of_the_others(x, node->ints[0]);
    }
    nb_status status = nbi_keep_grad(nb_mul(local, kept_g), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

/* ------------------------------------------------------------------------ */
/* max / min over everything: shared evenly among the tied maxima; when the */
/* result is NaN, among the NaNs (torch's evenly_distribute_backward)         */
/* ------------------------------------------------------------------------ */

static nb_tensor *recompute_max(nbi_node *node, nb_tensor *x)
{
    return node->ints[2] == NBI_REDUCE_min ? nb_min(x) : nb_max(x);
}

static nb_status extreme_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x      = nbi_input(node, 0);
    nb_tensor *result = output_of(node, recompute_max);
    /* NOTE: NaN == NaN is false, so a NaN result would hit nothing and give
     * g / 0 = NaN everywhere; the positions that made it NaN are x's NaNs. */
    nb_tensor *hits  = nb_where(nb_isnan(result), nb_isnan(x), nb_eq(x, result));
    nb_tensor *share = nb_div(g, nb_sum(hits));
    nb_status  status = nbi_keep_grad(nb_mul(hits, share), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

/* ------------------------------------------------------------------------ */
/* amax / amin over a dim list: g shared evenly among the elements equal to */
/* their slice's result (torch 1.13's scale_grad_by_count: a NaN result     */
/* matches nothing and gives NaN)                                            */
/* ------------------------------------------------------------------------ */

static nb_tensor *recompute_amax(nbi_node *node, nb_tensor *x)
{
    nb_dims dims = dims_of_mask(x, node->ints[0]);
    return node->ints[2] == NBI_REDUCE_min ? nb_amin(x, dims, node->ints[1]) : nb_amax(x, dims, node->ints[1]);
}

static nb_status amax_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x      = nbi_input(node, 0);
    nb_tensor *result = with_reduced_dims(node, x, output_of(node, recompute_amax));
    nb_tensor *hits   = nb_eq(x, result);
    nb_tensor *count  = nb_sum_dims(hits, dims_of_mask(x, node->ints[0]), true);
    nb_tensor *share  = nb_div(with_reduced_dims(node, x, g), count);
    nb_status  status = nbi_keep_grad(nb_mul(share, hits), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

/* ------------------------------------------------------------------------ */
/* nansum: g times (x is not NaN)                                           */
/* ------------------------------------------------------------------------ */

/* NOTE: multiplied by the mask, not selected, as torch: an infinite g (the
 * nanmean of NaNs only divides by a count of 0) gives NaN there, not 0. */
static nb_status nansum_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x      = nbi_input(node, 0);
    nb_tensor *kept   = nb_to_dtype(nb_logical_not(nb_isnan(x)), g->dtype);
    nb_tensor *grad   = nb_mul(expanded(node, x, g), kept);
    nb_status  status = nbi_keep_grad(grad, &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

/* ------------------------------------------------------------------------ */
/* var, std: 2 (x - mean) / (N - correction), and / (2 std) for std, as     */
/* torch 1.13's var_backward / std_backward                                  */
/* ------------------------------------------------------------------------ */

static nb_tensor *recompute_std(nbi_node *node, nb_tensor *x)
{
    return nb_std_dims(x, dims_of_mask(x, node->ints[0]), node->ints[3], node->ints[1]);
}

static nb_status var_std_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x      = nbi_input(node, 0);
    nb_dims    dims   = dims_of_mask(x, node->ints[0]);
    nb_tensor *kept_g = with_reduced_dims(node, x, g);
    if (node->ints[2] == NBI_REDUCE_std) {
        /* std: d std = d var / (2 std), and 0 where std is 0 (a constant
         * slice: torch's masked_fill, instead of 0 / 0). */
        nb_tensor *std  = with_reduced_dims(node, x, output_of(node, recompute_std));
        nb_tensor *zero = nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = x->dtype));
        kept_g          = nb_where(nb_eq_scalar(std, 0), zero, nb_div(kept_g, nb_mul_scalar(std, 2)));
    }
    /* NOTE: the degrees of freedom are N - correction as it is, not the
     * forward's max(0, N - correction): at 0 the factor is inf (so +-inf,
     * NaN where x is the mean), below 0 it is negative, as torch gives. */
    double     dof      = (double)(reduced_count(node, x) - node->ints[3]);
    nb_tensor *centered = nb_sub(x, nb_mean_dims(x, dims, true));
    nb_tensor *local    = nb_mul_scalar(centered, 2.0 / dof); /* d var / dx */
    nb_status  status   = nbi_keep_grad(nb_mul(local, kept_g), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

/* ------------------------------------------------------------------------ */
/* logsumexp: softmax of x along the reduced dims                            */
/* ------------------------------------------------------------------------ */

static nb_tensor *recompute_logsumexp(nbi_node *node, nb_tensor *x)
{
    return nb_logsumexp(x, dims_of_mask(x, node->ints[0]), node->ints[1]);
}

static nb_status logsumexp_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x       = nbi_input(node, 0);
    nb_tensor *weights = nb_exp(nb_sub(x, with_reduced_dims(node, x, output_of(node, recompute_logsumexp))));
    nb_status  status  = nbi_keep_grad(nb_mul(weights, with_reduced_dims(node, x, g)), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

/* ------------------------------------------------------------------------ */
/* norm, as torch 1.13's norm_backward: p = 0 no gradient; p = 1 sign(x);   */
/* p = 2 x / norm; p = +-inf the sign at the extreme |x| (or NaN), shared    */
/* among ties; p < 1 sign(x) |x|^(p-1) norm^(1-p), 0 at x = 0; p > 1         */
/* x |x|^(p-2) / norm^(p-1), 0 where the norm is 0                           */
/* ------------------------------------------------------------------------ */

static nb_tensor *recompute_norm(nbi_node *node, nb_tensor *x)
{
    return nb_norm_dims(x, node->scalars[0], dims_of_mask(x, node->ints[0]), node->ints[1]);
}

static nb_status norm_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    if (node->scalars[0] == 0) return NB_OK; /* a count of nonzeros: no gradient, as torch */
    NBI_FORMULA_BEGIN();
    nb_tensor *x      = nbi_input(node, 0);
    double     p      = node->scalars[0];
    nb_tensor *kept_g = with_reduced_dims(node, x, g);
    nb_tensor *zero   = nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = x->dtype));
    nb_tensor *grad;
    if (p == 1) {
        grad = nb_mul(nb_sign(x), kept_g);
    } else {
        nb_tensor *norm      = with_reduced_dims(node, x, output_of(node, recompute_norm));
        nb_tensor *norm_zero = nb_eq_scalar(norm, 0);
        if (p == 2) {
            grad = nb_mul(kept_g, nb_where(norm_zero, zero, nb_div(x, norm)));
        } else if (isinf(p)) {
            nb_tensor *abs_x = nb_abs(x);
            nb_tensor *hits  = nb_logical_or(nb_eq(abs_x, norm), nb_isnan(abs_x));
            nb_tensor *count = nb_sum_dims(hits, dims_of_mask(x, node->ints[0]), true);
            grad             = nb_mul(nb_sign(x), nb_mul(nb_div(kept_g, count), hits));
        } else if (p < 1) {
            /* |x|^(p-1) is inf at x = 0: masked to 0 there. */
            nb_tensor *scaled = nb_where(nb_eq_scalar(x, 0), zero, nb_mul(nb_sign(x), nb_pow_scalar(nb_abs(x), p - 1)));
            grad              = nb_mul(nb_mul(scaled, kept_g), nb_pow_scalar(norm, 1 - p));
        } else {
            /* p in (1, 2): sign(x) |x|^(p-1); above 2: x |x|^(p-2) (both 0 at 0). */
            nb_tensor *scaled = p < 2 ? nb_mul(nb_sign(x), nb_pow_scalar(nb_abs(x), p - 1))
                                      : nb_mul(x, nb_pow_scalar(nb_abs(x), p - 2));
            nb_tensor *scale  = nb_where(norm_zero, zero, nb_div(kept_g, nb_pow_scalar(norm, p - 1)));
            grad              = nb_mul(scaled, scale);
        }
    }
    nb_status status = nbi_keep_grad(grad, &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

/* ------------------------------------------------------------------------ */
/* Along one dim (ints[0] = dim): cumsum, cumprod, softmax, log_softmax      */
/* ------------------------------------------------------------------------ */

/* The reversed cumulative sum of g: sum(g) - cumsum(g) + g. */
/* v's cumulative sum from the end of the line: flipped, summed, flipped
 * back (as torch's reversed_cumsum; sum(v) - cumsum(v) + v would cancel). */
static nb_tensor *reversed_cumsum(nb_tensor *v, int dim)
{
    if (v == NULL || v->ndim == 0) return v;
    int64_t    n        = v->shape[dim];
    nb_tensor *reversed = nb_arange((double)(n - 1), -1, -1, NB_OPTS(.dtype = NB_INT64, .device = nb_device_of(v)));
    return nb_index_select(nb_cumsum(nb_index_select(v, dim, reversed), dim), dim, reversed);
}

/* Element k of the line gets the sum of g from k to the end. NOTE: not
 * sum(g) - cumsum(g) + g, which cancels: small gradients next to a large
 * one lose their bits, and one infinite g makes the whole line NaN. */
static nb_status cumsum_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_status status = nbi_keep_grad(reversed_cumsum(g, (int)node->ints[0]), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

static nb_tensor *recompute_cumprod(nbi_node *node, nb_tensor *x) { return nb_cumprod(x, (int)node->ints[0]); }

/* The gradient as torch 1.13 takes it while recording (create_graph) a
 * line with zeros: element k gets sum_{j >= k} g_j prod_{i <= j, i != k} x_i
 * from the products of the others (the ones before k times the running
 * products after it): O(n^2) ops, but no masks, so the second derivative
 * sees x_z in every term it multiplies (the masked form's zeros after the
 * first zero are constants). */
static nb_tensor *cumprod_grad_recorded(nb_tensor *x, nb_tensor *g, int dim)
{
    int64_t     n     = x->shape[dim];
    nb_tensor **parts = malloc((size_t)n * sizeof *parts);
    if (parts == NULL) return nbi_fail(NB_ERR_OOM, "cumprod backward: out of memory");
    nb_shape one_shape     = nb_shape_of(x);
    one_shape.dims[dim]    = 1;
    nb_tensor *ones        = nb_ones(one_shape, NB_OPTS(.dtype = x->dtype, .device = nb_device_of(x)));
    for (int64_t k = 0; k < n; k++) {
        nb_tensor *before  = k == 0 ? ones : nb_prod_dims(nb_narrow(x, dim, 0, k), NB_DIMS(dim), true);
        nb_tensor *omitted = before;
        if (k + 1 < n) {
            nb_tensor *running = nb_mul(before, nb_cumprod(nb_narrow(x, dim, k + 1, n - k - 1), dim));
            omitted            = nb_cat((nb_tensor *[]){before, running}, 2, dim);
        }
        parts[k] = nb_sum_dims(nb_mul(nb_narrow(g, dim, k, n - k), omitted), NB_DIMS(dim), true);
    }
    nb_tensor *grad = nb_cat(parts, (int)n, dim);
    free(parts);
    return grad;
}

/* d out_j / d x_k = prod_{i <= j, i != k} x_i. Before the line's first zero
 * that is out_j / x_k, so the gradient is reversed_cumsum(g out) / x. At
 * the first zero z it is the running product with x_z taken as 1 (out'),
 * so the gradient is reversed_cumsum(g out')_z; after z every term holds
 * x_z = 0 (torch 1.13's cumprod_backward does the same case split). Its
 * masks make the terms after z constants, so while recording a line with
 * a zero takes cumprod_grad_recorded instead. */
static nb_status cumprod_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    int        dim   = (int)node->ints[0];
    nb_tensor *x     = nbi_input(node, 0);
    if (nbi_grad_enabled() && x->ndim > 0 && x->shape[dim] > 1 && x->numel > 0) {
        nb_tensor *any_zero = nb_any(nb_eq_scalar(x, 0));
        if (any_zero && nb_item(any_zero) != 0) {
            nb_status status = nbi_keep_grad(cumprod_grad_recorded(x, g, dim), &grad_inputs[0]);
            NBI_FORMULA_END(status);
        }
    }
    nb_tensor *out   = output_of(node, recompute_cumprod);
    nb_tensor *zero  = nb_eq_scalar(x, 0);
    nb_tensor *zeros_so_far = nb_cumsum(zero, dim);
    nb_tensor *before_zero  = nb_eq_scalar(zeros_so_far, 0);
    nb_tensor *first_zero   = nb_logical_and(zero, nb_eq_scalar(zeros_so_far, 1));
    nb_tensor *safe_x       = nb_where(before_zero, x, nb_ones_like(x));
    nb_tensor *grad = nb_where(before_zero, nb_div(reversed_cumsum(nb_mul(g, out), dim), safe_x), nb_zeros_like(x));
    nb_tensor *x_without_zero = nb_where(first_zero, nb_ones_like(x), x);
    nb_tensor *at_zero = reversed_cumsum(nb_mul(g, nb_cumprod(x_without_zero, dim)), dim);
    grad               = nb_where(first_zero, at_zero, grad);
    nb_status status   = nbi_keep_grad(grad, &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

static nb_tensor *recompute_softmax(nbi_node *node, nb_tensor *x) { return nb_softmax(x, (int)node->ints[0]); }
static nb_tensor *recompute_log_softmax(nbi_node *node, nb_tensor *x) { return nb_log_softmax(x, (int)node->ints[0]); }

/* float16 / bfloat16: g and y in float32, and the gradient rounded back
 * once (nbi_in_dtype_of), as torch's softmax backward kernels compute
 * halves (rounding the dot product and each step in half was up to 128
 * ulps off). */
/* y (g - sum(g y)) */
static nb_status softmax_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    int        dim = (int)node->ints[0];
    nb_tensor *y   = nbi_float32_if_half(output_of(node, recompute_softmax)), *gw = nbi_float32_if_half(g);
    nb_tensor *dot = nb_sum_dims(nb_mul(gw, y), NB_DIMS(dim), true);
    nb_status  status = nbi_keep_grad(nbi_in_dtype_of(nb_mul(y, nb_sub(gw, dot)), g), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

/* g - exp(y) sum(g) */
static nb_status log_softmax_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    int        dim = (int)node->ints[0];
    nb_tensor *y   = nbi_float32_if_half(output_of(node, recompute_log_softmax)), *gw = nbi_float32_if_half(g);
    nb_tensor *sum = nb_sum_dims(gw, NB_DIMS(dim), true);
    nb_status  status = nbi_keep_grad(nbi_in_dtype_of(nb_sub(gw, nb_mul(nb_exp(y), sum)), g), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

/* ------------------------------------------------------------------------ */
/* The rows of reduce.def, and recording by them                             */
/* ------------------------------------------------------------------------ */

typedef struct {
    nbi_backward_fn backward;        /* NULL: NONDIFF */
    const char     *node_every_dim;  /* the node's name over every dim ... */
    const char     *node_some_dims;  /* ... and over some dims */
    bool            saves_input;
    bool            saves_output;
} row_formula;

#define FORMULA_DIFF(formula)    formula##_backward
#define FORMULA_NONDIFF(formula) NULL
#define SAVES_INPUT_OF_NONE          false
#define SAVES_INPUT_OF_INPUT         true
#define SAVES_INPUT_OF_OUTPUT        false
#define SAVES_INPUT_OF_INPUT_OUTPUT  true
#define SAVES_OUTPUT_OF_NONE         false
#define SAVES_OUTPUT_OF_INPUT        false
#define SAVES_OUTPUT_OF_OUTPUT       true
#define SAVES_OUTPUT_OF_INPUT_OUTPUT true
#define ROW_FORMULA(grad, formula, saves, node_all, node_dims)                                \
    { FORMULA_##grad(formula), node_all, node_dims, SAVES_INPUT_OF_##saves, SAVES_OUTPUT_OF_##saves }

static const row_formula reduce_formula[NBI_NUM_REDUCE] = {
#define NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims)               \
    [NBI_REDUCE_##name] = ROW_FORMULA(grad, formula, saves, node_all, node_dims),
#define NBI_REDUCE_WITH_PARAMS(name, dtypes, out, grad, formula, saves, node_all, node_dims)   \
    NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_LINE(name, dtypes, out, grad, formula, saves, node)
#include "core/reduce.def"
#undef NBI_REDUCE
#undef NBI_REDUCE_WITH_PARAMS
#undef NBI_LINE
};

static const row_formula line_formula[NBI_NUM_LINE] = {
#define NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_REDUCE_WITH_PARAMS(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_LINE(name, dtypes, out, grad, formula, saves, node)                                \
    [NBI_LINE_##name] = ROW_FORMULA(grad, formula, saves, node, node),
/* recorded by nbi_record_picked (index_derivatives.c) */
#define NBI_LINE_WITH_INDICES(name, dtypes, out, grad, formula, saves, node)
#include "core/reduce.def"
#undef NBI_REDUCE
#undef NBI_REDUCE_WITH_PARAMS
#undef NBI_LINE
#undef NBI_LINE_WITH_INDICES
};

/* The node of out = op(t) by row, saving what the row says; NULL when
 * nothing is recorded (*out unchanged) or on failure (*out freed, NULL). */
static nbi_node *record(const row_formula *row, nb_tensor **out, const nb_tensor *t, const char *name)
{
    if (*out == NULL || row->backward == NULL || !nb_dtype_is_floating((*out)->dtype) || !nbi_should_record(1, &t))
        return NULL;
    nbi_node *node = nbi_record(*out, name, row->backward, 1, &t, row->saves_input ? NBI_SAVES(0) : 0);
    if (node == NULL || (row->saves_output && !nbi_save_output(node, *out))) {
        nb_free(*out);
        *out = NULL;
        return NULL;
    }
    return node;
}

nb_tensor *nbi_record_reduce(nbi_reduce_op op, nb_tensor *out, const nb_tensor *t, nb_dims dims, bool keepdim,
                             int64_t correction, double p)
{
    const row_formula *row  = &reduce_formula[op];
    nbi_node          *node = record(row, &out, t, dims.n == 0 ? row->node_every_dim : row->node_some_dims);
    if (node != NULL) {
        node->ints[0]    = reduced_mask(t, dims);
        node->ints[1]    = keepdim;
        node->ints[2]    = op;
        node->ints[3]    = correction;
        node->ints[4]    = dims.n == 0; /* prod() and prod(dims) differ at several zeros */
        node->scalars[0] = p;
    }
    return out;
}

nb_tensor *nbi_record_line(nbi_line_op op, nb_tensor *out, const nb_tensor *t, int dim)
{
    nbi_node *node = record(&line_formula[op], &out, t, line_formula[op].node_every_dim);
    if (node != NULL) node->ints[0] = dim;
    return out;
}

/* Reductions that share a row's kernel, or are composites, but have a
 * formula and a node of their own in torch. */
static const row_formula reduction_formula[NBI_NUM_REDUCTION_FORMULAS] = {
    [NBI_FORMULA_AMAX]   = { amax_backward, "AmaxBackward0", "AmaxBackward0", true, true },
    [NBI_FORMULA_AMIN]   = { amax_backward, "AminBackward0", "AminBackward0", true, true },
    [NBI_FORMULA_NANSUM] = { nansum_backward, "NansumBackward0", "NansumBackward0", true, false },
    /* the output is saved, so extreme_backward never recomputes it */
    [NBI_FORMULA_MEDIAN]    = { extreme_backward, "MedianBackward0", NULL, true, true },
    [NBI_FORMULA_NANMEDIAN] = { extreme_backward, "NanmedianBackward0", NULL, true, true },
};

nb_tensor *nbi_record_reduction(nbi_reduction_formula formula, nb_tensor *out, const nb_tensor *t, nb_dims dims,
                                bool keepdim)
{
    const row_formula *row  = &reduction_formula[formula];
    nbi_node          *node = record(row, &out, t, dims.n == 0 ? row->node_every_dim : row->node_some_dims);
    if (node != NULL) {
        node->ints[0] = reduced_mask(t, dims);
        node->ints[1] = keepdim;
        node->ints[2] = formula == NBI_FORMULA_AMIN ? NBI_REDUCE_min : NBI_REDUCE_max;
    }
    return out;
}
