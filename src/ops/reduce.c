/*
 * reduce.c — the front doors of the reductions and of the ops along one dim,
 * the rows of src/core/reduce.def (sum, mean, prod, max, min, arg*, var,
 * std, norm, logsumexp, all, any; cumsum, cumprod, cummax, cummin,
 * softmax, log_softmax) and the reductions made from them (amax, amin,
 * nansum, nanmean): the
 * argument checks, the dtype rule, the output shape, the geometry
 * (core/reduce_args.h), then one call into the reduce or line entry of the
 * tensor's device (core/backend.h), and the recording by the row
 * (src/autograd/reduce_derivatives.c).
 *
 * Shared rules (PyTorch's): an empty dim list reduces every dim; a dim listed
 * twice is NB_ERR_ARG; keepdim keeps reduced dims as size 1; a 0-d tensor
 * takes dim 0 or -1. Reductions without an identity (max, min, argmax,
 * argmin) refuse to reduce zero elements.
 */
#include "autograd/autograd.h"
#include "core/backend.h"

/* ------------------------------------------------------------------------ */
/* The rows of reduce.def                                                    */
/* ------------------------------------------------------------------------ */

typedef enum { DTYPES_FLOAT, DTYPES_NUMERIC, DTYPES_ALL } dtype_class;
typedef enum { OUT_SAME, OUT_WIDENED, OUT_BOOL, OUT_INT64 } out_rule;

typedef struct {
    dtype_class dtypes;
    out_rule    out;
} row_info;

#define DTYPES_OF_FLOAT   DTYPES_FLOAT
#define DTYPES_OF_NUMERIC DTYPES_NUMERIC
#define DTYPES_OF_ALL     DTYPES_ALL
#define OUT_OF_SAME       OUT_SAME
#define OUT_OF_WIDENED    OUT_WIDENED
#define OUT_OF_BOOL       OUT_BOOL
#define OUT_OF_INT64      OUT_INT64

static const row_info reduce_info[NBI_NUM_REDUCE] = {
#define NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims)               \
    [NBI_REDUCE_##name] = { DTYPES_OF_##dtypes, OUT_OF_##out },
#define NBI_REDUCE_WITH_PARAMS(name, dtypes, out, grad, formula, saves, node_all, node_dims)   \
    NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_LINE(name, dtypes, out, grad, formula, saves, node)
#include "core/reduce.def"
#undef NBI_REDUCE
#undef NBI_REDUCE_WITH_PARAMS
#undef NBI_LINE
};

static const row_info line_info[NBI_NUM_LINE] = {
#define NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_REDUCE_WITH_PARAMS(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_LINE(name, dtypes, out, grad, formula, saves, node) [NBI_LINE_##name] = { DTYPES_OF_##dtypes, OUT_OF_##out },
#include "core/reduce.def"
#undef NBI_REDUCE
#undef NBI_REDUCE_WITH_PARAMS
#undef NBI_LINE
};

/* The output dtype for an input of dtype in. */
static nb_dtype output_dtype(out_rule rule, nb_dtype in)
{
    switch (rule) {
    case OUT_SAME: return in;
    case OUT_WIDENED: return nb_dtype_is_floating(in) ? in : NB_INT64;
    /* NOTE: uint8 stays uint8 (0 or 1), as torch 1.13's all/any keep uint8
     * for backward compatibility; every other dtype gives bool. */
    case OUT_BOOL: return in == NB_UINT8 ? NB_UINT8 : NB_BOOL;
    case OUT_INT64: return NB_INT64;
    }
    return in;
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */
/* ------------------------------------------------------------------------ */

/* A usable tensor of a dtype the row (of family NBI_FAMILY_REDUCE or
 * NBI_FAMILY_LINE) takes, on a device that runs the row for that dtype. */
static bool check_input(const nb_tensor *t, nbi_family family, int row, const char *op)
{
    const row_info *info = family == NBI_FAMILY_REDUCE ? &reduce_info[row] : &line_info[row];
    if (!nbi_check_tensor(t, op, "t") || !nbi_check_device1(op, t, "t")) return false;
    if (info->dtypes == DTYPES_FLOAT && !nbi_check_floating(t, op)) return false;
    if (info->dtypes == DTYPES_NUMERIC && t->dtype == NB_BOOL) {
        /* torch 1.13: "argmax_cpu" not implemented for 'Bool' */
        nbi_fail(NB_ERR_DTYPE, "%s: bool tensors are not supported (as in torch); convert with nb_to_dtype", op);
        return false;
    }
    return nbi_check_supported(nbi_backend_of(t), family, row, t->dtype, op);
}

/* Mark the dims of t that dims names (all of them for an empty list). */
static bool dims_to_mask(const nb_tensor *t, nb_dims dims, const char *op, bool *mask)
{
    for (int d = 0; d < NB_MAX_DIMS; d++)
        mask[d] = dims.n == 0;
    if (dims.n < 0 || dims.n > NB_MAX_DIMS) {
        nbi_fail(NB_ERR_ARG, "%s: a dim list holds 0 to %d dims, not %d", op, NB_MAX_DIMS, dims.n);
        return false;
    }
    bool seen[NB_MAX_DIMS] = {false};
    for (int i = 0; i < dims.n; i++) {
        int d = nbi_wrap_dim(dims.dims[i], t->ndim, op);
        if (d < 0) return false;
        if (seen[d]) {
            nbi_fail(NB_ERR_ARG, "%s: dim %d appears multiple times in the list of dims", op, d);
            return false;
        }
        seen[d] = true;
        mask[d] = true;
    }
    return true;
}

/* Mark one dim. */
static bool dim_to_mask(const nb_tensor *t, int dim, const char *op, bool *mask)
{
    for (int d = 0; d < NB_MAX_DIMS; d++)
        mask[d] = false;
    int d = nbi_wrap_dim(dim, t->ndim, op);
    if (d < 0) return false;
    mask[d] = true;
    return true;
}

/* Run a forward with recording off (its internal copies need no graph),
 * leaving the result in a local named out. */
#define NBI_FORWARD(call)                                                                      \
    nbi_grad_mode_push(false);                                                                 \
    nb_tensor *out = (call);                                                                   \
    nbi_grad_mode_pop()

/* The output of reducing the marked dims of t (new, contiguous). */
static nb_tensor *make_output(const nb_tensor *t, const bool *mask, bool keepdim, nb_dtype dtype)
{
    int64_t shape[NB_MAX_DIMS];
    int     ndim = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (!mask[d])
            shape[ndim++] = t->shape[d];
        else if (keepdim)
            shape[ndim++] = 1;
    }
    return nbi_empty(ndim, shape, dtype, t->storage->device);
}

/* Number of elements each output reduces. */
static int64_t reduced_count(const nb_tensor *t, const bool *mask)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        if (mask[d]) n *= t->shape[d];
    return n;
}

/* max, min, argmax, argmin over zero elements have no answer. */
static bool check_not_empty(const nb_tensor *t, const bool *mask, const char *op, const char *what, int dim)
{
    if (reduced_count(t, mask) > 0) return true;
    char buf[NBI_SHAPE_STR_SIZE];
    nbi_shape_str(t->ndim, t->shape, buf, sizeof buf);
    if (dim < 0)
        nbi_fail(NB_ERR_SHAPE,
                 "%s: cannot perform reduction function %s on a tensor with no elements (shape %s); "
                 "reduce a non-empty dim instead",
                 op, what, buf);
    else
        nbi_fail(NB_ERR_SHAPE, "%s: dim %d has size 0 in shape %s, and %s of no elements is undefined", op, dim, buf,
                 what);
    return false;
}

/* ------------------------------------------------------------------------ */
/* Running a reduction                                                       */
/* ------------------------------------------------------------------------ */

/* Plan the marked dims of t and run job on t's device. When the reduced
 * dims do not merge into one run, they are first copied to the end of a
 * contiguous block. */
static bool run(const nb_tensor *t, const bool *mask, bool allow_reorder, const nbi_reduce_job *job)
{
    nbi_reduce_plan plan;
    if (nbi_reduce_plan_init(&plan, t, mask, allow_reorder)) {
        nbi_backend_of(t)->reduce(&plan, job);
        return true;
    }
    /* Permute kept dims first, then reduced dims, each in their order. */
    int64_t shape[NB_MAX_DIMS], stride[NB_MAX_DIMS];
    bool    moved_mask[NB_MAX_DIMS];
    int     k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int d = 0; d < t->ndim; d++) {
            if (mask[d] != (pass == 1)) continue;
            shape[k]        = t->shape[d];
            stride[k]       = t->stride[d];
            moved_mask[k++] = pass == 1;
        }
    nb_tensor *view = nbi_make_view(t, t->ndim, shape, stride, t->offset);
    if (view == NULL) return false;
    nb_tensor *block = nb_contiguous(view);
    nb_free(view);
    if (block == NULL) return false;
    bool merged = nbi_reduce_plan_init(&plan, block, moved_mask, allow_reorder);
    (void)merged; /* trailing dims of a contiguous block always merge */
    nbi_backend_of(block)->reduce(&plan, job);
    nb_free(block);
    return true;
}

/* The common front door: reduce dims of t into a new tensor of out_dtype. */
static nb_tensor *reduce(const nb_tensor *t, const bool *mask, bool keepdim, nbi_reduce_job job, nb_dtype out_dtype)
{
    nb_tensor *out = make_output(t, mask, keepdim, out_dtype);
    if (out == NULL) return NULL;
    job.values         = nbi_ptr(out);
    job.values_dtype   = out_dtype;
    bool allow_reorder = job.op != NBI_REDUCE_argmax && job.op != NBI_REDUCE_argmin;
    if (!run(t, mask, allow_reorder, &job)) {
        nb_free(out);
        return NULL;
    }
    return out;
}

static const nb_dims every_dim = {.n = 0};

/* t reduced over dims by job.op into the row's output dtype, and recorded
 * by the row (its formula, when the output is a float). */
static nb_tensor *reduce_dims(const nb_tensor *t, nb_dims dims, bool keepdim, nbi_reduce_job job, const char *op)
{
    const row_info *info = &reduce_info[job.op];
    bool            mask[NB_MAX_DIMS];
    if (!check_input(t, NBI_FAMILY_REDUCE, job.op, op) || !dims_to_mask(t, dims, op, mask)) return NULL;
    NBI_FORWARD(reduce(t, mask, keepdim, job, output_dtype(info->out, t->dtype)));
    return nbi_record_reduce(job.op, out, t, dims, keepdim, job.correction, job.p);
}

/* ------------------------------------------------------------------------ */
/* Public front doors                                                        */
/* ------------------------------------------------------------------------ */

/* The NBI_REDUCE rows: nb_<name>(t) over every dim, nb_<name>_dims. */
#define NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims)               \
    nb_tensor *nb_##name(const nb_tensor *t) { return nb_##name##_dims(t, every_dim, false); } \
    nb_tensor *nb_##name##_dims(const nb_tensor *t, nb_dims dims, bool keepdim)                \
    {                                                                                          \
        return reduce_dims(t, dims, keepdim, (nbi_reduce_job){ .op = NBI_REDUCE_##name }, "nb_" #name); \
    }
#define NBI_REDUCE_WITH_PARAMS(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_LINE(name, dtypes, out, grad, formula, saves, node)
#include "core/reduce.def"
#undef NBI_REDUCE
#undef NBI_REDUCE_WITH_PARAMS
#undef NBI_LINE

nb_tensor *nb_var(const nb_tensor *t, int64_t correction) { return nb_var_dims(t, every_dim, correction, false); }

nb_tensor *nb_var_dims(const nb_tensor *t, nb_dims dims, int64_t correction, bool keepdim)
{
    return reduce_dims(t, dims, keepdim, (nbi_reduce_job){ .op = NBI_REDUCE_var, .correction = correction }, "nb_var");
}

nb_tensor *nb_std(const nb_tensor *t, int64_t correction) { return nb_std_dims(t, every_dim, correction, false); }

nb_tensor *nb_std_dims(const nb_tensor *t, nb_dims dims, int64_t correction, bool keepdim)
{
    return reduce_dims(t, dims, keepdim, (nbi_reduce_job){ .op = NBI_REDUCE_std, .correction = correction }, "nb_std");
}

nb_tensor *nb_logsumexp(const nb_tensor *t, nb_dims dims, bool keepdim)
{
    return reduce_dims(t, dims, keepdim, (nbi_reduce_job){ .op = NBI_REDUCE_logsumexp }, "nb_logsumexp");
}

nb_tensor *nb_norm(const nb_tensor *t, double p) { return nb_norm_dims(t, p, every_dim, false); }

nb_tensor *nb_norm_dims(const nb_tensor *t, double p, nb_dims dims, bool keepdim)
{
    if (p != p) {
        if (!nbi_check_tensor(t, "nb_norm", "t") || !nbi_check_device1("nb_norm", t, "t")) return NULL;
        return nbi_fail(NB_ERR_ARG, "nb_norm: p is NaN");
    }
    return reduce_dims(t, dims, keepdim, (nbi_reduce_job){ .op = NBI_REDUCE_norm, .p = p }, "nb_norm");
}

/* max / min of every element (0-d, same dtype). */
static nb_tensor *extreme(const nb_tensor *t, nbi_reduce_op op, const char *name, const char *what)
{
    if (!check_input(t, NBI_FAMILY_REDUCE, op, name)) return NULL;
    bool mask[NB_MAX_DIMS];
    dims_to_mask(t, every_dim, name, mask);
    if (!check_not_empty(t, mask, name, what, -1)) return NULL;
    NBI_FORWARD(reduce(t, mask, false, (nbi_reduce_job){ .op = op }, output_dtype(reduce_info[op].out, t->dtype)));
    return nbi_record_reduce(op, out, t, every_dim, false, 0, 0);
}

nb_tensor *nb_max(const nb_tensor *t) { return extreme(t, NBI_REDUCE_max, "nb_max", "max"); }
nb_tensor *nb_min(const nb_tensor *t) { return extreme(t, NBI_REDUCE_min, "nb_min", "min"); }

/* Values (same dtype) and int64 indices along dim: op is the arg op, the
 * values follow max's or min's row. */
static nb_tensor *extreme_dim(const nb_tensor *t, int dim, bool keepdim, nb_tensor **indices, nbi_reduce_op op,
                              const char *name, const char *what)
{
    nbi_reduce_op values_op = op == NBI_REDUCE_argmax ? NBI_REDUCE_max : NBI_REDUCE_min;
    if (indices) *indices = NULL;
    /* The dtypes are max's or min's; the kernel is the arg op when indices
     * are asked for. */
    if (!check_input(t, NBI_FAMILY_REDUCE, values_op, name) ||
        (indices && !nbi_check_supported(nbi_backend_of(t), NBI_FAMILY_REDUCE, op, t->dtype, name)))
        return NULL;
    bool mask[NB_MAX_DIMS];
    if (!dim_to_mask(t, dim, name, mask)) return NULL;
    int wrapped = t->ndim > 0 ? nbi_wrap_dim(dim, t->ndim, name) : -1;
    if (!check_not_empty(t, mask, name, what, wrapped)) return NULL;
    nb_tensor *values = make_output(t, mask, keepdim, t->dtype);
    nb_tensor *index  = indices ? make_output(t, mask, keepdim, NB_INT64) : NULL;
    if (values == NULL || (indices && index == NULL)) {
        nb_free(values);
        nb_free(index);
        return NULL;
    }
    nbi_reduce_job job = {.op = op, .values = nbi_ptr(values), .values_dtype = t->dtype};
    if (index) job.indices = (int64_t *)nbi_ptr(index);
    /* Values alone are max / min (tile loops); indices need the arg pass. */
    if (!indices) job.op = values_op;
    if (!run(t, mask, false, &job)) {
        nb_free(values);
        nb_free(index);
        return NULL;
    }
    /* The positions are also what autograd sends the gradient back to. */
    if (nbi_should_record(1, &t)) {
        nb_tensor *positions = index;
        if (positions == NULL) {
            /* Values alone were asked for: find the positions for backward. */
            nbi_grad_mode_push(false);
            nb_tensor *again = extreme_dim(t, dim, keepdim, &positions, op, name, what);
            nbi_grad_mode_pop();
            nb_free(again);
        }
        values = positions ? nbi_record_picked(values, t, wrapped < 0 ? 0 : wrapped, positions, keepdim,
                                               op == NBI_REDUCE_argmax ? "MaxBackward0" : "MinBackward0")
                           : NULL;
        if (positions != index) nb_free(positions);
        if (values == NULL) {
            nb_free(index);
            return NULL;
        }
    }
    if (indices) *indices = index;
    return values;
}

nb_tensor *nb_max_dim(const nb_tensor *t, int dim, bool keepdim, nb_tensor **indices)
{
    return extreme_dim(t, dim, keepdim, indices, NBI_REDUCE_argmax, "nb_max_dim", "max");
}

nb_tensor *nb_min_dim(const nb_tensor *t, int dim, bool keepdim, nb_tensor **indices)
{
    return extreme_dim(t, dim, keepdim, indices, NBI_REDUCE_argmin, "nb_min_dim", "min");
}

/* int64 positions: along dim (dim >= -NB_MAX_DIMS... as given), or in the
 * flattened tensor when flat. */
static nb_tensor *arg_extreme(const nb_tensor *t, bool flat, int dim, bool keepdim, nbi_reduce_op op, const char *name,
                              const char *what)
{
    if (!check_input(t, NBI_FAMILY_REDUCE, op, name)) return NULL;
    bool mask[NB_MAX_DIMS];
    int  wrapped = -1;
    if (flat) {
        dims_to_mask(t, every_dim, name, mask);
    } else {
        if (!dim_to_mask(t, dim, name, mask)) return NULL;
        wrapped = t->ndim > 0 ? nbi_wrap_dim(dim, t->ndim, name) : -1;
    }
    if (!check_not_empty(t, mask, name, what, wrapped)) return NULL;
    nb_tensor *out = make_output(t, mask, keepdim && !flat, output_dtype(reduce_info[op].out, t->dtype));
    if (out == NULL) return NULL;
    nbi_reduce_job job = {.op = op, .indices = (int64_t *)nbi_ptr(out)};
    if (!run(t, mask, false, &job)) {
        nb_free(out);
        return NULL;
    }
    return out;
}

nb_tensor *nb_argmax(const nb_tensor *t)
{
    return arg_extreme(t, true, 0, false, NBI_REDUCE_argmax, "nb_argmax", "argmax");
}

nb_tensor *nb_argmin(const nb_tensor *t)
{
    return arg_extreme(t, true, 0, false, NBI_REDUCE_argmin, "nb_argmin", "argmin");
}

nb_tensor *nb_argmax_dim(const nb_tensor *t, int dim, bool keepdim)
{
    return arg_extreme(t, false, dim, keepdim, NBI_REDUCE_argmax, "nb_argmax_dim", "argmax");
}

nb_tensor *nb_argmin_dim(const nb_tensor *t, int dim, bool keepdim)
{
    return arg_extreme(t, false, dim, keepdim, NBI_REDUCE_argmin, "nb_argmin_dim", "argmin");
}

/* ------------------------------------------------------------------------ */
/* Along one dim: the NBI_LINE rows (cumsum, softmax, log_softmax)           */
/* ------------------------------------------------------------------------ */

/* The dtype the line kernels compute a narrow dtype in: float16 / bfloat16
 * in float32 (torch accumulates halves in float, and rounds once at the
 * end), int8 / int16 in int32. (Reductions read narrow dtypes as they are:
 * the CPU kernels widen each block.) */
static nb_dtype computing_dtype(nb_dtype dtype)
{
    if (nbi_is_half(dtype)) return NB_FLOAT32;
    if (dtype == NB_INT8 || dtype == NB_INT16) return NB_INT32;
    return dtype;
}

/* Run op along dim d of t into out (t's shape); indices for cummax and
 * cummin. Narrow dtypes run in their computing dtype (halves round back
 * once). */
static bool run_line(const nb_tensor *t, nb_tensor *out, int d, int64_t *indices, nbi_line_op op)
{
    nb_tensor *wide = NULL, *wide_out = NULL;
    nb_dtype   wide_dtype = computing_dtype(t->dtype);
    if (wide_dtype != t->dtype) {
        wide     = nbi_copy_as(t, wide_dtype);
        wide_out = wide ? nbi_empty(t->ndim, t->shape, out->dtype == t->dtype ? wide_dtype : out->dtype,
                                    t->storage->device)
                        : NULL;
        if (wide_out == NULL) {
            nb_free(wide);
            return false;
        }
        t = wide;
    }
    nbi_line_plan plan;
    nbi_line_plan_init(&plan, t, wide_out ? wide_out : out, d);
    plan.indices = indices;
    nbi_backend_of(t)->line(&plan, op);
    if (wide_out) {
        nbi_copy_into(out, wide_out);
        nb_free(wide_out);
        nb_free(wide);
    }
    return true;
}

/* op along dim of t: a new contiguous tensor of t's shape in the row's
 * output dtype, recorded by the row. */
static nb_tensor *along_dim(nbi_line_op op, const nb_tensor *t, int dim, const char *name)
{
    const row_info *info = &line_info[op];
    if (!check_input(t, NBI_FAMILY_LINE, op, name)) return NULL;
    int d = nbi_wrap_dim(dim, t->ndim, name);
    if (d < 0) return NULL;
    nb_tensor *out = nbi_empty(t->ndim, t->shape, output_dtype(info->out, t->dtype), t->storage->device);
    if (out == NULL) return NULL;
    if (!run_line(t, out, d, NULL, op)) {
        nb_free(out);
        return NULL;
    }
    return nbi_record_line(op, out, t, d);
}

#define NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_REDUCE_WITH_PARAMS(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_LINE(name, dtypes, out, grad, formula, saves, node)                                \
    nb_tensor *nb_##name(const nb_tensor *t, int dim) { return along_dim(NBI_LINE_##name, t, dim, "nb_" #name); }
#define NBI_LINE_WITH_INDICES(name, dtypes, out, grad, formula, saves, node)
#include "core/reduce.def"
#undef NBI_REDUCE
#undef NBI_REDUCE_WITH_PARAMS
#undef NBI_LINE
#undef NBI_LINE_WITH_INDICES

/* Running max / min along dim, and (if indices) where each was found. */
static nb_tensor *cumulative_extreme(nbi_line_op op, const nb_tensor *t, int dim, nb_tensor **indices,
                                     const char *name, const char *node_name)
{
    if (indices) *indices = NULL;
    if (!check_input(t, NBI_FAMILY_LINE, op, name)) return NULL;
    int d = nbi_wrap_dim(dim, t->ndim, name);
    if (d < 0) return NULL;
    nb_tensor *out       = nbi_empty(t->ndim, t->shape, t->dtype, t->storage->device);
    nb_tensor *positions = nbi_empty(t->ndim, t->shape, NB_INT64, t->storage->device);
    if (out == NULL || positions == NULL) {
        nb_free(out);
        nb_free(positions);
        return NULL;
    }
    if (!run_line(t, out, d, (int64_t *)nbi_ptr(positions), op)) {
        nb_free(out);
        nb_free(positions);
        return NULL;
    }
    out = nbi_record_picked(out, t, d, positions, true, node_name);
    if (out == NULL || indices == NULL) {
        nb_free(positions);
        return out;
    }
    *indices = positions;
    return out;
}

nb_tensor *nb_cummax(const nb_tensor *t, int dim, nb_tensor **indices)
{
    return cumulative_extreme(NBI_LINE_cummax, t, dim, indices, "nb_cummax", "CummaxBackward0");
}

nb_tensor *nb_cummin(const nb_tensor *t, int dim, nb_tensor **indices)
{
    return cumulative_extreme(NBI_LINE_cummin, t, dim, indices, "nb_cummin", "CumminBackward0");
}

/* ------------------------------------------------------------------------ */
/* Made from the rows: amax, amin, nansum, nanmean                          */
/* ------------------------------------------------------------------------ */

/* max / min over a dim list, by their rows' kernels; recorded with torch's
 * amax formula (ties share the gradient per slice). */
static nb_tensor *extreme_dims(const nb_tensor *t, nb_dims dims, bool keepdim, nbi_reduce_op op, const char *name)
{
    bool mask[NB_MAX_DIMS];
    if (!check_input(t, NBI_FAMILY_REDUCE, op, name) || !dims_to_mask(t, dims, name, mask)) return NULL;
    int one_dim = dims.n == 1 && t->ndim > 0 ? nbi_wrap_dim(dims.dims[0], t->ndim, name) : -1;
    if (!check_not_empty(t, mask, name, op == NBI_REDUCE_max ? "amax" : "amin", one_dim)) return NULL;
    NBI_FORWARD(reduce(t, mask, keepdim, (nbi_reduce_job){ .op = op }, t->dtype));
    return nbi_record_reduction(op == NBI_REDUCE_max ? NBI_FORMULA_AMAX : NBI_FORMULA_AMIN, out, t, dims, keepdim);
}

nb_tensor *nb_amax(const nb_tensor *t, nb_dims dims, bool keepdim)
{
    return extreme_dims(t, dims, keepdim, NBI_REDUCE_max, "nb_amax");
}

nb_tensor *nb_amin(const nb_tensor *t, nb_dims dims, bool keepdim)
{
    return extreme_dims(t, dims, keepdim, NBI_REDUCE_min, "nb_amin");
}

nb_tensor *nb_nansum(const nb_tensor *t) { return nb_nansum_dims(t, every_dim, false); }

/* sum with NaNs taken as 0 (integers have none), recorded as torch's
 * nansum. */
nb_tensor *nb_nansum_dims(const nb_tensor *t, nb_dims dims, bool keepdim)
{
    bool mask[NB_MAX_DIMS];
    if (!check_input(t, NBI_FAMILY_REDUCE, NBI_REDUCE_sum, "nb_nansum") || !dims_to_mask(t, dims, "nb_nansum", mask))
        return NULL;
    if (!nb_dtype_is_floating(t->dtype)) return nb_sum_dims(t, dims, keepdim);
    nbi_grad_mode_push(false);
    nb_tensor *nan   = nb_isnan(t);
    nb_tensor *clean = nan ? nb_masked_fill(t, nan, 0) : NULL;
    nb_tensor *out   = clean ? nb_sum_dims(clean, dims, keepdim) : NULL;
    nbi_grad_mode_pop();
    nb_free(nan);
    nb_free(clean);
    return nbi_record_reduction(NBI_FORMULA_NANSUM, out, t, dims, keepdim);
}

nb_tensor *nb_nanmean(const nb_tensor *t) { return nb_nanmean_dims(t, every_dim, false); }

/* nansum / the count of non-NaN elements (torch's composition, so the node
 * is DivBackward0); a slice of NaNs only gives NaN (0 / 0). */
nb_tensor *nb_nanmean_dims(const nb_tensor *t, nb_dims dims, bool keepdim)
{
    bool mask[NB_MAX_DIMS];
    if (!check_input(t, NBI_FAMILY_REDUCE, NBI_REDUCE_sum, "nb_nanmean") || !dims_to_mask(t, dims, "nb_nanmean", mask))
        return NULL;
    if (!nb_dtype_is_floating(t->dtype))
        return nbi_fail(NB_ERR_DTYPE, "nb_nanmean: needs a floating-point tensor, got %s (as torch)",
                        nb_dtype_name(t->dtype));
    nb_tensor *sum = nb_nansum_dims(t, dims, keepdim);
    nbi_grad_mode_push(false);
    nb_tensor *nan   = sum ? nb_isnan(t) : NULL;
    nb_tensor *kept  = nan ? nb_logical_not(nan) : NULL;
    nb_tensor *count = kept ? nb_sum_dims(kept, dims, keepdim) : NULL;
    nbi_grad_mode_pop();
    nb_tensor *out = count ? nb_div(sum, count) : NULL;
    nb_free(sum);
    nb_free(nan);
    nb_free(kept);
    nb_free(count);
    return out;
}
