/*
 * creation.c — tensors made from nothing: empty/zeros/ones/full/scalar,
 * from user data, ranges (arange, linspace), eye, random tensors (rand,
 * randn, randint, normal), the *_like forms, and the in-place nb_fill_.
 *
 * Every output is a fresh contiguous tensor on opts.device, owned by the
 * current scope, and written by one call of that device's fill, range or
 * random kernel (core/backend.h, core/creation_args.h); a device without
 * the kernel for the dtype gives NB_ERR_UNSUPPORTED before anything is
 * made. Each element's value is a function of its index only (random ones
 * of (seed, offset, index), see core/random.h), so results never depend on
 * the thread count or the device.
 */
#include "autograd/autograd.h"
#include "core/backend.h"

#include <float.h>

/* ------------------------------------------------------------------------ */
/* Checks shared by every creation function                                  */
/* ------------------------------------------------------------------------ */

static bool check_dtype(nb_dtype dtype, const char *op)
{
    if ((int)dtype < 0 || dtype >= NB_NUM_DTYPES) {
        nbi_fail(NB_ERR_DTYPE, "%s: dtype %d is not a valid nb_dtype", op, (int)dtype);
        return false;
    }
    return true;
}

/* dtype valid, device present and run by this build, requires_grad only
 * with a floating dtype. Whether the device has the kernel that fills the
 * tensor is each op's check (check_kernel). */
static bool check_opts(nb_opts opts, const char *op)
{
    if (!check_dtype(opts.dtype, op)) return false;
    if (opts.device.index < 0) {
        nbi_fail(NB_ERR_DEVICE, "%s: device index must not be negative, got %d", op, opts.device.index);
        return false;
    }
    if (!nbi_check_target_device(opts.device, op)) return false;
    if (opts.requires_grad && !nb_dtype_is_floating(opts.dtype)) {
        nbi_fail(NB_ERR_DTYPE, "%s: only floating point tensors can require gradients, not %s", op,
                 nb_dtype_name(opts.dtype));
        return false;
    }
    return true;
}

/* An uninitialised tensor of shape and opts, after every check. */
static nb_tensor *make(nb_shape shape, nb_opts opts, const char *op)
{
    if (!nbi_check_shape(shape, op) || !check_opts(opts, op)) return NULL;
    nb_tensor *t = nbi_empty(shape.ndim, shape.dims, opts.dtype, opts.device);
    if (t) t->requires_grad = opts.requires_grad;
    return t;
}

/* ------------------------------------------------------------------------ */
/* Fills                                                                     */
/* ------------------------------------------------------------------------ */

/* The backend of a device that check_opts accepted has kernel (family, op)
 * for dtype; else NB_ERR_UNSUPPORTED naming op. */
static bool check_kernel(nb_device device, nbi_family family, int kernel, nb_dtype dtype, const char *op)
{
    return nbi_check_supported(nbi_backend_for(device.type), family, kernel, dtype, op);
}

/* Write value (already checked to fit) into every element of t, any
 * strides, with the fill kernel of t's device (already checked).
 * NOTE: expanded dims (stride 0) are cut to size 1 first: they alias one
 * element, and letting two threads write it would be a race. */
static void fill_tensor(nb_tensor *t, nbi_number value)
{
    if (t->numel == 0) return;
    nbi_element bits = {{0}};
    nbi_store_number(bits.bytes, t->dtype, value);
    nbi_iter it;
    if (nb_is_contiguous(t)) {
        /* Field by field: zeroing all of nbi_iter costs more than a small
         * fill. */
        it.ndim          = 1;
        it.noperands     = 1;
        it.device        = t->storage->device.index;
        it.numel         = t->numel;
        it.shape[0]      = t->numel;
        it.strides[0][0] = (int64_t)nbi_itemsize(t);
        it.base[0]       = nbi_ptr(t);
    } else {
        /* A stack geometry over t's storage: what the iterator reads of it. */
        nb_tensor distinct = {.storage = t->storage, .offset = t->offset, .ndim = t->ndim, .dtype = t->dtype};
        distinct.numel     = 1;
        for (int d = 0; d < t->ndim; d++) {
            distinct.shape[d]  = t->stride[d] == 0 ? 1 : t->shape[d];
            distinct.stride[d] = t->stride[d];
            distinct.numel *= distinct.shape[d];
        }
        const nb_tensor *operands[1] = {&distinct};
        nbi_iter_init(&it, 1, operands);
    }
    nbi_backend_of(t)->fill(&it, t->dtype, &bits);
}

/* ------------------------------------------------------------------------ */
/* empty, zeros, ones, full, scalar, from_data                               */
/* ------------------------------------------------------------------------ */

static nb_tensor *full(nb_shape shape, nbi_number value, nb_opts opts, const char *op)
{
    if (!nbi_check_shape(shape, op) || !check_opts(opts, op) || !nbi_check_fill_number(value, opts.dtype, op) ||
        !check_kernel(opts.device, NBI_FAMILY_FILL, 0, opts.dtype, op))
        return NULL;
    nb_tensor *t = make(shape, opts, op);
    if (t) fill_tensor(t, value);
    return t;
}

nb_tensor *nb_empty(nb_shape shape, nb_opts opts) { return make(shape, opts, "nb_empty"); }
nb_tensor *nb_zeros(nb_shape shape, nb_opts opts) { return full(shape, nbi_number_i64(0), opts, "nb_zeros"); }
nb_tensor *nb_ones(nb_shape shape, nb_opts opts) { return full(shape, nbi_number_i64(1), opts, "nb_ones"); }
nb_tensor *nb_full(nb_shape shape, double value, nb_opts opts)
{
    return full(shape, nbi_number_f64(value), opts, "nb_full");
}
nb_tensor *nb_full_i64(nb_shape shape, int64_t value, nb_opts opts)
{
    return full(shape, nbi_number_i64(value), opts, "nb_full_i64");
}
nb_tensor *nb_scalar(double value, nb_opts opts)
{
    return full(NB_SCALAR_SHAPE, nbi_number_f64(value), opts, "nb_scalar");
}

nb_tensor *nb_from_data(const void *data, nb_shape shape, nb_opts opts)
{
    if (!nbi_check_shape(shape, "nb_from_data") || !check_opts(opts, "nb_from_data")) return NULL;
    int64_t numel = nbi_shape_numel(shape.ndim, shape.dims);
    if (data == NULL && numel > 0) return nbi_fail(NB_ERR_ARG, "nb_from_data: data is NULL");
    size_t bytes = (size_t)numel * nb_dtype_size(opts.dtype);
    if (opts.device.type != NB_CPU) {
        /* The user's bytes are host memory: staged on the CPU (where bool
         * is normalised), then moved by the device's copy. */
        nb_tensor *host = nb_from_data(data, shape, NB_OPTS(.dtype = opts.dtype));
        nb_tensor *t    = host ? make(shape, opts, "nb_from_data") : NULL;
        if (t != NULL && numel > 0 &&
            nbi_backend_of(t)->copy(nbi_ptr(t), opts.device, nbi_ptr(host), NB_DEVICE_CPU, bytes) != NB_OK) {
            nb_free(t);
            t = NULL;
        }
        nb_free(host);
        return t;
    }
    nb_tensor *t = make(shape, opts, "nb_from_data");
    if (t == NULL || numel == 0) return t;
    if (opts.dtype == NB_BOOL) {
        /* Bool is stored as exactly 0 or 1: normalise the user's bytes. */
        const unsigned char *src = data;
        unsigned char       *dst = (unsigned char *)nbi_ptr(t);
        for (int64_t i = 0; i < numel; i++)
            dst[i] = src[i] != 0;
    } else {
        memcpy(nbi_ptr(t), data, bytes);
    }
    return t;
}

/* ------------------------------------------------------------------------ */
/* arange, linspace, eye                                                     */
/* ------------------------------------------------------------------------ */

/* v converts to int64 without wrapping (NaN and inf do not). */
static bool fits_int64(double v) { return v >= -9223372036854775808.0 && v < 9223372036854775808.0; }

/* A 1-D output of args->count values, made and filled by the range kernel
 * of its device (args filled but for device and out). */
static nb_tensor *run_range(nbi_range_kind kind, nbi_range_args *args, nb_opts opts, const char *op)
{
    if (!check_kernel(opts.device, NBI_FAMILY_RANGE, kind, opts.dtype, op)) return NULL;
    nb_tensor *out = make(NB_SHAPE(args->count), opts, op);
    if (out == NULL) return NULL;
    args->device = opts.device.index;
    args->dtype  = opts.dtype;
    args->out    = nbi_ptr(out);
    nbi_backend_of(out)->range(kind, args);
    return out;
}

nb_tensor *nb_arange(double start, double end, double step, nb_opts opts)
{
    const char *op = "nb_arange";
    if (!check_opts(opts, op)) return NULL;
    if (opts.dtype == NB_BOOL) return nbi_fail(NB_ERR_DTYPE, "nb_arange: bool tensors are not supported (as in torch)");
    if (!isfinite(start) || !isfinite(end))
        return nbi_fail(NB_ERR_ARG, "nb_arange: unsupported range: %g -> %g", start, end);
    nbi_range_args args = {.start = start, .end = end, .step = step};
    int64_t        length;
    bool           is_float = nb_dtype_is_floating(opts.dtype);
    if (is_float) {
        if (!(step > 0 || step < 0)) return nbi_fail(NB_ERR_ARG, "nb_arange: step must be nonzero");
        if ((step > 0 && end < start) || (step < 0 && end > start))
            return nbi_fail(NB_ERR_ARG,
                            "nb_arange: upper bound and lower bound inconsistent with step sign "
                            "(start %g, end %g, step %g)",
                            start, end, step);
        double size = ceil((end - start) / step);
        if (!(size >= 0 && size < 9223372036854775807.0))
            return nbi_fail(NB_ERR_ARG, "nb_arange: invalid size %g, possible overflow", size);
        length = (int64_t)size;
    } else {
        /* As torch: integer dtypes truncate start, end and step to integers
         * first (so step 0.5 is step 0); int64 counts with them exactly,
         * the narrower types count ceil((end - start) / step) in double. */
        if (!fits_int64(start) || !fits_int64(end) || !fits_int64(step))
            return nbi_fail(NB_ERR_ARG, "nb_arange: start %g, end %g and step %g must fit int64 for %s", start, end,
                            step, nb_dtype_name(opts.dtype));
        int64_t istart = nbi_f64_to_i64(start), iend = nbi_f64_to_i64(end), istep = nbi_f64_to_i64(step);
        if (istep == 0 || istep == INT64_MIN)
            return nbi_fail(NB_ERR_ARG, "nb_arange: step must be nonzero (step %g is %lld as %s)", step,
                            (long long)istep, nb_dtype_name(opts.dtype));
        if ((istep > 0 && iend < istart) || (istep < 0 && iend > istart))
            return nbi_fail(NB_ERR_ARG,
                            "nb_arange: upper bound and lower bound inconsistent with step sign "
                            "(start %g, end %g, step %g)",
                            start, end, step);
        if (opts.dtype == NB_INT64) {
            uint64_t distance = istep > 0 ? (uint64_t)iend - (uint64_t)istart : (uint64_t)istart - (uint64_t)iend;
            uint64_t stride   = istep > 0 ? (uint64_t)istep : 0 - (uint64_t)istep;
            uint64_t count    = distance / stride + (distance % stride != 0);
            if (count > (uint64_t)INT64_MAX) return nbi_fail(NB_ERR_ARG, "nb_arange: invalid size, possible overflow");
            length = (int64_t)count;
        } else {
            double size = ceil((end - start) / step);
            if (!(size >= 0 && size < 9223372036854775807.0))
                return nbi_fail(NB_ERR_ARG, "nb_arange: invalid size %g, possible overflow", size);
            length = (int64_t)size;
        }
        args.start_int = istart;
        args.step_int  = istep;
    }
    args.count = length;
    return run_range(NBI_RANGE_ARANGE, &args, opts, op);
}

nb_tensor *nb_linspace(double start, double end, int64_t steps, nb_opts opts)
{
    const char *op = "nb_linspace";
    if (!check_opts(opts, op)) return NULL;
    if (opts.dtype == NB_BOOL)
        return nbi_fail(NB_ERR_DTYPE, "nb_linspace: bool tensors are not supported (as in torch)");
    if (steps < 0)
        return nbi_fail(NB_ERR_ARG, "nb_linspace: number of steps must be non-negative, got %lld", (long long)steps);
    /* the ends must fit the dtype (uint8 takes a negative whole number and
     * wraps it), as torch */
    if (!nbi_check_fill_value(start, opts.dtype, op) || !nbi_check_fill_value(end, opts.dtype, op)) return NULL;
    if (nbi_is_integral(opts.dtype)) {
        /* Integer dtypes: the ends are converted to the dtype first (uint8
         * wraps -3 to 253), the step stays in double, as in torch. */
        unsigned char buf[8];
        nbi_store_f64(buf, opts.dtype, start);
        start = nbi_load_f64(buf, opts.dtype);
        nbi_store_f64(buf, opts.dtype, end);
        end = nbi_load_f64(buf, opts.dtype);
    } else if (opts.dtype == NB_FLOAT32) {
        start = (float)start;
        end   = (float)end;
    }
    nbi_range_args args = {.start = start, .end = end, .count = steps, .halfway = steps / 2};
    if (steps > 1)
        args.step = opts.dtype == NB_FLOAT32 ? (double)(((float)end - (float)start) / (float)(steps - 1))
                                             : (end - start) / (double)(steps - 1);
    if (steps == 1) args.halfway = 1; /* the one value is start */
    return run_range(NBI_RANGE_LINSPACE, &args, opts, op);
}

nb_tensor *nb_eye(int64_t n, int64_t m, nb_opts opts)
{
    if (n < 0) return nbi_fail(NB_ERR_ARG, "nb_eye: n must be greater or equal to 0, got %lld", (long long)n);
    if (m < 0) return nbi_fail(NB_ERR_ARG, "nb_eye: m must be greater or equal to 0, got %lld", (long long)m);
    nb_tensor *t = full(NB_SHAPE(n, m), nbi_number_i64(0), opts, "nb_eye");
    if (t == NULL || t->numel == 0) return t;
    /* The diagonal: min(n, m) elements, m + 1 apart, filled with 1. */
    nbi_element one = {{0}};
    nbi_store_f64(one.bytes, t->dtype, 1.0);
    nbi_iter diagonal      = {.ndim = 1, .noperands = 1, .device = t->storage->device.index, .numel = n < m ? n : m};
    diagonal.shape[0]      = diagonal.numel;
    diagonal.strides[0][0] = (m + 1) * (int64_t)nbi_itemsize(t);
    diagonal.base[0]       = nbi_ptr(t);
    nbi_backend_of(t)->fill(&diagonal, t->dtype, &one);
    return t;
}

/* ------------------------------------------------------------------------ */
/* Random tensors                                                            */
/* ------------------------------------------------------------------------ */

/* Make the output, reserve its random values (one per element) and fill it
 * with the random kernel of its device. args holds the distribution's
 * parameters. */
static nb_tensor *run_random(nbi_random_kind kind, nbi_random_args *args, nb_shape shape, nb_opts opts, const char *op)
{
    if (!nbi_check_shape(shape, op) || !check_opts(opts, op)) return NULL;
    if (kind != NBI_RANDOM_INTEGER && !nb_dtype_is_floating(opts.dtype))
        return nbi_fail(NB_ERR_DTYPE, "%s: needs a floating dtype (float16, bfloat16, float32 or float64), not %s", op,
                        nb_dtype_name(opts.dtype));
    if (!check_kernel(opts.device, NBI_FAMILY_RANDOM, kind, opts.dtype, op)) return NULL;
    nb_tensor *out = make(shape, opts, op);
    if (out == NULL) return NULL;
    args->device = opts.device.index;
    args->dtype  = opts.dtype;
    args->out    = nbi_ptr(out);
    args->count  = out->numel;
    nbi_rng_reserve((uint64_t)out->numel, &args->seed, &args->offset);
    nbi_backend_of(out)->random(kind, args);
    return out;
}

static nb_tensor *rand_op(nb_shape shape, nb_opts opts, const char *op)
{
    nbi_random_args args = {0};
    return run_random(NBI_RANDOM_UNIFORM, &args, shape, opts, op);
}

static nb_tensor *normal_op(double mean, double std, nb_shape shape, nb_opts opts, const char *op)
{
    if (!(std >= 0)) return nbi_fail(NB_ERR_ARG, "%s: expects std >= 0.0, but found std %g", op, std);
    nbi_random_args args = {.mean = mean, .std = std};
    return run_random(NBI_RANDOM_NORMAL, &args, shape, opts, op);
}

nb_tensor *nb_rand(nb_shape shape, nb_opts opts) { return rand_op(shape, opts, "nb_rand"); }
nb_tensor *nb_randn(nb_shape shape, nb_opts opts) { return normal_op(0.0, 1.0, shape, opts, "nb_randn"); }
nb_tensor *nb_normal(double mean, double std, nb_shape shape, nb_opts opts)
{
    return normal_op(mean, std, shape, opts, "nb_normal");
}

/* The integers dtype holds exactly: [min, max]. Floats hold every integer
 * up to 2^24 (float32) / 2^53 (float64). */
static void integer_bounds(nb_dtype dtype, int64_t *min, int64_t *max)
{
    switch (dtype) {
    case NB_FLOAT32:
        *min = -(INT64_C(1) << 24);
        *max = INT64_C(1) << 24;
        break;
    case NB_FLOAT64:
        *min = -(INT64_C(1) << 53);
        *max = INT64_C(1) << 53;
        break;
    case NB_INT32:
        *min = INT32_MIN;
        *max = INT32_MAX;
        break;
    case NB_UINT8:
        *min = 0;
        *max = 255;
        break;
    case NB_INT16:
        *min = INT16_MIN;
        *max = INT16_MAX;
        break;
    case NB_INT8:
        *min = INT8_MIN;
        *max = INT8_MAX;
        break;
    case NB_FLOAT16: /* 11 significant bits */
        *min = -(INT64_C(1) << 11);
        *max = INT64_C(1) << 11;
        break;
    case NB_BFLOAT16: /* 8 significant bits */
        *min = -(INT64_C(1) << 8);
        *max = INT64_C(1) << 8;
        break;
    case NB_BOOL:
        *min = 0;
        *max = 1;
        break;
    default:
        *min = INT64_MIN;
        *max = INT64_MAX;
        break;
    }
}

nb_tensor *nb_randint(int64_t low, int64_t high, nb_shape shape, nb_opts opts)
{
    const char *op = "nb_randint";
    if (!nbi_check_shape(shape, op) || !check_opts(opts, op)) return NULL;
    if (low >= high)
        return nbi_fail(NB_ERR_ARG, "nb_randint: expects low < high, but got low=%lld >= high=%lld", (long long)low,
                        (long long)high);
    int64_t min, max;
    integer_bounds(opts.dtype, &min, &max);
    if (low < min)
        return nbi_fail(NB_ERR_ARG, "nb_randint: low %lld is out of bounds for %s (%lld to %lld)", (long long)low,
                        nb_dtype_name(opts.dtype), (long long)min, (long long)max);
    if (high - 1 > max)
        return nbi_fail(NB_ERR_ARG, "nb_randint: high - 1 = %lld is out of bounds for %s (%lld to %lld)",
                        (long long)(high - 1), nb_dtype_name(opts.dtype), (long long)min, (long long)max);
    nbi_random_args args = {.low = low, .range = (uint64_t)high - (uint64_t)low};
    return run_random(NBI_RANDOM_INTEGER, &args, shape, opts, op);
}

/* ------------------------------------------------------------------------ */
/* *_like                                                                    */
/* ------------------------------------------------------------------------ */

/* t's shape, dtype and device; no grad (as torch's *_like by default). */
static nb_opts like_opts(const nb_tensor *t) { return (nb_opts){.dtype = t->dtype, .device = t->storage->device}; }

nb_tensor *nb_empty_like(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_empty_like", "t")) return NULL;
    return make(nb_shape_of(t), like_opts(t), "nb_empty_like");
}

nb_tensor *nb_zeros_like(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_zeros_like", "t")) return NULL;
    return full(nb_shape_of(t), nbi_number_i64(0), like_opts(t), "nb_zeros_like");
}

nb_tensor *nb_ones_like(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_ones_like", "t")) return NULL;
    return full(nb_shape_of(t), nbi_number_i64(1), like_opts(t), "nb_ones_like");
}

nb_tensor *nb_full_like(const nb_tensor *t, double value)
{
    if (!nbi_check_tensor(t, "nb_full_like", "t")) return NULL;
    return full(nb_shape_of(t), nbi_number_f64(value), like_opts(t), "nb_full_like");
}

nb_tensor *nb_rand_like(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_rand_like", "t")) return NULL;
    return rand_op(nb_shape_of(t), like_opts(t), "nb_rand_like");
}

nb_tensor *nb_randn_like(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_randn_like", "t")) return NULL;
    return normal_op(0.0, 1.0, nb_shape_of(t), like_opts(t), "nb_randn_like");
}

/* ------------------------------------------------------------------------ */
/* fill_                                                                     */
/* ------------------------------------------------------------------------ */

static nb_tensor *fill(nb_tensor *a, nbi_number value, const char *op)
{
    if (!nbi_check_tensor(a, op, "a")) return NULL;
    if (!nbi_check_device1(op, a, "a") || !nbi_check_fill_number(value, a->dtype, op) ||
        !nbi_check_supported(nbi_backend_of(a), NBI_FAMILY_FILL, 0, a->dtype, op))
        return NULL;
    if (nbi_in_place_records(a, NULL)) {
        /* The new value is a constant; a still requires grad (its gradient
         * is zero), as in PyTorch, and a view's base is rebased. */
        nb_tensor *old = nbi_begin_in_place(a, op);
        if (old == NULL) return NULL;
        nbi_grad_mode_push(false);
        nb_tensor *result = nbi_empty(a->ndim, a->shape, a->dtype, a->storage->device);
        if (result) fill_tensor(result, value);
        nbi_grad_mode_pop();
        return nbi_finish_in_place(a, old, nbi_record_overwrite(result, old, "FillBackward2"), op);
    }
    fill_tensor(a, value);
    nbi_bump_version(a);
    return a;
}

nb_tensor *nb_fill_(nb_tensor *a, double value) { return fill(a, nbi_number_f64(value), "nb_fill_"); }
nb_tensor *nb_fill_i64_(nb_tensor *a, int64_t value) { return fill(a, nbi_number_i64(value), "nb_fill_i64_"); }
