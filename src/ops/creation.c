/*
 * creation.c — tensors made from nothing: empty/zeros/ones/full/scalar,
 * from user data, ranges (arange, linspace), eye, random tensors (rand,
 * randn, randint, normal), the *_like forms, and the in-place nb_fill_.
 *
 * Every output is a fresh contiguous CPU tensor owned by the current scope.
 * Large outputs are written by nbi_parallel_for; each element's value is a
 * function of its index only (random ones of (seed, offset, index), see
 * core/random.h), so results never depend on the thread count.
 */
#include "autograd/autograd.h"
#include "core/random.h"
#include "core/backend.h"
#include "cpu/cpu.h"

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

/* dtype valid, device present, requires_grad only with a floating dtype. */
static bool check_opts(nb_opts opts, const char *op)
{
    if (!check_dtype(opts.dtype, op)) return false;
    if (opts.device.index < 0) {
        nbi_fail(NB_ERR_DEVICE, "%s: device index must not be negative, got %d", op, opts.device.index);
        return false;
    }
    if (opts.device.type == NB_CUDA && !nbi_check_cuda_device(opts.device.index, op)) return false;
    if (opts.device.type == NB_CUDA) {
        /* NOTE: until the creation kernels are behind the backend table. */
        nbi_fail(NB_ERR_UNSUPPORTED, "%s: making tensors on CUDA is not implemented yet; make it on the CPU and "
                                     "move it with nb_to", op);
        return false;
    }
    if (opts.device.type != NB_CPU) {
        nbi_fail(NB_ERR_DEVICE, "%s: %d is not a device type (NB_CPU or NB_CUDA)", op, (int)opts.device.type);
        return false;
    }
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

/* One element's bytes, repeated over a range. */
typedef struct {
    char         *data; /* element 0 of a contiguous tensor */
    size_t        itemsize;
    unsigned char pattern[8];
    bool          zero;
} fill_job;

static void fill_range(int64_t begin, int64_t end, void *arg)
{
    const fill_job *job = arg;
    char           *p   = job->data + (size_t)begin * job->itemsize;
    int64_t         n   = end - begin;
    if (job->zero) {
        memset(p, 0, (size_t)n * job->itemsize);
        return;
    }
    switch (job->itemsize) {
    case 1:
        memset(p, job->pattern[0], (size_t)n);
        break;
    case 4: {
        uint32_t v;
        memcpy(&v, job->pattern, 4);
        uint32_t *q = (uint32_t *)(void *)p;
        for (int64_t i = 0; i < n; i++)
            q[i] = v;
        break;
    }
    default: {
        uint64_t v;
        memcpy(&v, job->pattern, 8);
        uint64_t *q = (uint64_t *)(void *)p;
        for (int64_t i = 0; i < n; i++)
            q[i] = v;
        break;
    }
    }
}

/* 1-D strided loop for non-contiguous fills (operand 0 only). */
static void fill_loop(char **data, const int64_t *strides, int64_t n, const void *ctx)
{
    const fill_job *job = ctx;
    char           *p   = data[0];
    for (int64_t i = 0; i < n; i++, p += strides[0])
        memcpy(p, job->pattern, job->itemsize);
}

/* Write value (already checked to fit) into every element of t, any
 * strides. NOTE: expanded dims (stride 0) are cut to size 1 first: they
 * alias one element, and letting two threads write it would be a race. */
static void fill_tensor(nb_tensor *t, double value)
{
    if (t->numel == 0) return;
    fill_job job = {.data = nbi_ptr(t), .itemsize = nbi_itemsize(t)};
    nbi_store_f64(job.pattern, t->dtype, value);
    job.zero = true;
    for (size_t i = 0; i < job.itemsize; i++)
        job.zero = job.zero && job.pattern[i] == 0;
    if (nb_is_contiguous(t)) {
        nbi_parallel_for(t->numel, NBI_PARALLEL_GRAIN, fill_range, &job);
        return;
    }
    /* A stack geometry over t's storage: what the iterator reads of it. */
    nb_tensor distinct = {.storage = t->storage, .offset = t->offset, .ndim = t->ndim, .dtype = t->dtype};
    distinct.numel     = 1;
    for (int d = 0; d < t->ndim; d++) {
        distinct.shape[d]  = t->stride[d] == 0 ? 1 : t->shape[d];
        distinct.stride[d] = t->stride[d];
        distinct.numel *= distinct.shape[d];
    }
    const nb_tensor *operands[1] = {&distinct};
    nbi_iter         it;
    nbi_iter_init(&it, 1, operands);
    nbi_iter_run(&it, fill_loop, &job);
}

/* ------------------------------------------------------------------------ */
/* empty, zeros, ones, full, scalar, from_data                               */
/* ------------------------------------------------------------------------ */

static nb_tensor *full(nb_shape shape, double value, nb_opts opts, const char *op)
{
    if (!nbi_check_shape(shape, op) || !check_opts(opts, op) || !nbi_check_fill_value(value, opts.dtype, op)) return NULL;
    nb_tensor *t = make(shape, opts, op);
    if (t) fill_tensor(t, value);
    return t;
}

nb_tensor *nb_empty(nb_shape shape, nb_opts opts) { return make(shape, opts, "nb_empty"); }
nb_tensor *nb_zeros(nb_shape shape, nb_opts opts) { return full(shape, 0.0, opts, "nb_zeros"); }
nb_tensor *nb_ones(nb_shape shape, nb_opts opts) { return full(shape, 1.0, opts, "nb_ones"); }
nb_tensor *nb_full(nb_shape shape, double value, nb_opts opts) { return full(shape, value, opts, "nb_full"); }
nb_tensor *nb_scalar(double value, nb_opts opts) { return full(NB_SCALAR_SHAPE, value, opts, "nb_scalar"); }

nb_tensor *nb_from_data(const void *data, nb_shape shape, nb_opts opts)
{
    if (!nbi_check_shape(shape, "nb_from_data") || !check_opts(opts, "nb_from_data")) return NULL;
    int64_t numel = nbi_shape_numel(shape.ndim, shape.dims);
    if (data == NULL && numel > 0) return nbi_fail(NB_ERR_ARG, "nb_from_data: data is NULL");
    nb_tensor *t = make(shape, opts, "nb_from_data");
    if (t == NULL || numel == 0) return t;
    if (opts.dtype == NB_BOOL) {
        /* Bool is stored as exactly 0 or 1: normalise the user's bytes. */
        const unsigned char *src = data;
        unsigned char       *dst = (unsigned char *)nbi_ptr(t);
        for (int64_t i = 0; i < numel; i++)
            dst[i] = src[i] != 0;
    } else {
        memcpy(nbi_ptr(t), data, (size_t)numel * nb_dtype_size(opts.dtype));
    }
    return t;
}

/* ------------------------------------------------------------------------ */
/* arange, linspace, eye                                                     */
/* ------------------------------------------------------------------------ */

/* A value per index, computed as float64 or int64 and stored in dtype.
 * Range ops fill through this so large outputs use threads. */
typedef struct {
    nb_tensor *out;
    /* arange: start + step * i. linspace: start + step * i below halfway,
     * end - step * (steps - 1 - i) from there (torch's symmetric form, which
     * makes the last value exactly end). */
    double  start_f, end_f, step_f;
    int64_t start_i, step_i;
    int64_t steps, halfway;
} range_job;

static void arange_float_range(int64_t begin, int64_t end, void *arg)
{
    const range_job *job = arg;
    if (job->out->dtype == NB_FLOAT32) {
        float *out = (float *)(void *)nbi_ptr(job->out);
        for (int64_t i = begin; i < end; i++)
            out[i] = (float)(job->start_f + job->step_f * (double)i);
    } else {
        double *out = (double *)(void *)nbi_ptr(job->out);
        for (int64_t i = begin; i < end; i++)
            out[i] = job->start_f + job->step_f * (double)i;
    }
}

static void arange_int_range(int64_t begin, int64_t end, void *arg)
{
    const range_job *job  = arg;
    char            *out  = nbi_ptr(job->out);
    size_t           size = nbi_itemsize(job->out);
    for (int64_t i = begin; i < end; i++) {
        /* Unsigned arithmetic: narrow dtypes wrap, as torch's casts do. */
        uint64_t v = (uint64_t)job->start_i + (uint64_t)job->step_i * (uint64_t)i;
        nbi_store_i64(out + (size_t)i * size, job->out->dtype, (int64_t)v);
    }
}

/* v converts to int64 without wrapping (NaN and inf do not). */
static bool fits_int64(double v) { return v >= -9223372036854775808.0 && v < 9223372036854775808.0; }

nb_tensor *nb_arange(double start, double end, double step, nb_opts opts)
{
    const char *op = "nb_arange";
    if (!check_opts(opts, op)) return NULL;
    if (opts.dtype == NB_BOOL) return nbi_fail(NB_ERR_DTYPE, "nb_arange: bool tensors are not supported (as in torch)");
    if (!isfinite(start) || !isfinite(end))
        return nbi_fail(NB_ERR_ARG, "nb_arange: unsupported range: %g -> %g", start, end);
    range_job job = {.start_f = start, .end_f = end, .step_f = step};
    int64_t   length;
    bool      is_float = nb_dtype_is_floating(opts.dtype);
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
        job.start_i = istart;
        job.step_i  = istep;
    }
    nb_shape shape = NB_SHAPE(length);
    job.out        = make(shape, opts, op);
    if (job.out == NULL) return NULL;
    nbi_parallel_for(length, NBI_PARALLEL_GRAIN, is_float ? arange_float_range : arange_int_range, &job);
    return job.out;
}

static void linspace_range(int64_t begin, int64_t end, void *arg)
{
    const range_job *job  = arg;
    nb_tensor       *out  = job->out;
    char            *data = nbi_ptr(out);
    if (out->dtype == NB_FLOAT32) {
        /* NOTE: float32 steps are computed in float, as torch's kernel does,
         * so the values match it bit for bit. */
        float  start = (float)job->start_f, stop = (float)job->end_f, step = (float)job->step_f;
        float *o = (float *)(void *)data;
        for (int64_t i = begin; i < end; i++)
            o[i] = i < job->halfway ? start + step * (float)i : stop - step * (float)(job->steps - 1 - i);
    } else if (out->dtype == NB_FLOAT64) {
        double *o = (double *)(void *)data;
        for (int64_t i = begin; i < end; i++)
            o[i] = i < job->halfway ? job->start_f + job->step_f * (double)i
                                    : job->end_f - job->step_f * (double)(job->steps - 1 - i);
    } else {
        size_t size = nbi_itemsize(out);
        for (int64_t i = begin; i < end; i++) {
            double v = i < job->halfway ? job->start_f + job->step_f * (double)i
                                        : job->end_f - job->step_f * (double)(job->steps - 1 - i);
            nbi_store_f64(data + (size_t)i * size, out->dtype, v);
        }
    }
}

nb_tensor *nb_linspace(double start, double end, int64_t steps, nb_opts opts)
{
    const char *op = "nb_linspace";
    if (!check_opts(opts, op)) return NULL;
    if (opts.dtype == NB_BOOL) return nbi_fail(NB_ERR_DTYPE, "nb_linspace: bool tensors are not supported (as in torch)");
    if (steps < 0)
        return nbi_fail(NB_ERR_ARG, "nb_linspace: number of steps must be non-negative, got %lld", (long long)steps);
    if (nbi_is_integral(opts.dtype)) {
        /* Integer dtypes: the ends are converted to the dtype first (uint8
         * wraps -3 to 253), the step stays in double, as in torch. */
        if (!fits_int64(start) || !fits_int64(end))
            return nbi_fail(NB_ERR_ARG, "nb_linspace: the ends %g and %g do not fit %s", start, end,
                            nb_dtype_name(opts.dtype));
        unsigned char buf[8];
        nbi_store_f64(buf, opts.dtype, start);
        start = nbi_load_f64(buf, opts.dtype);
        nbi_store_f64(buf, opts.dtype, end);
        end = nbi_load_f64(buf, opts.dtype);
    } else if (opts.dtype == NB_FLOAT32) {
        start = (float)start;
        end   = (float)end;
    }
    range_job job = {.start_f = start, .end_f = end, .steps = steps, .halfway = steps / 2};
    if (steps > 1)
        job.step_f = opts.dtype == NB_FLOAT32 ? (double)(((float)end - (float)start) / (float)(steps - 1))
                                              : (end - start) / (double)(steps - 1);
    if (steps == 1) job.halfway = 1; /* the one value is start */
    job.out = make(NB_SHAPE(steps), opts, op);
    if (job.out == NULL) return NULL;
    nbi_parallel_for(steps, NBI_PARALLEL_GRAIN, linspace_range, &job);
    return job.out;
}

nb_tensor *nb_eye(int64_t n, int64_t m, nb_opts opts)
{
    if (n < 0) return nbi_fail(NB_ERR_ARG, "nb_eye: n must be greater or equal to 0, got %lld", (long long)n);
    if (m < 0) return nbi_fail(NB_ERR_ARG, "nb_eye: m must be greater or equal to 0, got %lld", (long long)m);
    nb_tensor *t = full(NB_SHAPE(n, m), 0.0, opts, "nb_eye");
    if (t == NULL) return NULL;
    char  *data = nbi_ptr(t);
    size_t size = nbi_itemsize(t);
    for (int64_t i = 0; i < n && i < m; i++)
        nbi_store_f64(data + (size_t)(i * m + i) * size, t->dtype, 1.0);
    return t;
}

/* ------------------------------------------------------------------------ */
/* Random tensors                                                            */
/* ------------------------------------------------------------------------ */

typedef struct {
    nb_tensor *out;
    uint64_t   seed, offset; /* from nbi_rng_reserve */
    double     mean, std;    /* normal */
    int64_t    low;          /* randint */
    uint64_t   range;        /* randint: high - low, >= 1 */
} random_job;

static void uniform_range(int64_t begin, int64_t end, void *arg)
{
    const random_job *job = arg;
    if (job->out->dtype == NB_FLOAT32) {
        float *o = (float *)(void *)nbi_ptr(job->out);
        for (int64_t i = begin; i < end; i++)
            o[i] = nbi_philox_uniform_f32(job->seed, job->offset, (uint64_t)i);
    } else {
        double *o = (double *)(void *)nbi_ptr(job->out);
        for (int64_t i = begin; i < end; i++)
            o[i] = nbi_philox_uniform_f64(job->seed, job->offset, (uint64_t)i);
    }
}

static void store_normal(const random_job *job, int64_t i, double z)
{
    double v = job->mean + job->std * z;
    if (job->out->dtype == NB_FLOAT32)
        ((float *)(void *)nbi_ptr(job->out))[i] = (float)v;
    else
        ((double *)(void *)nbi_ptr(job->out))[i] = v;
}

/* Whole pairs (2k, 2k+1) share one Philox call; an odd range edge computes
 * its element alone, which gives the same value (random.h). */
static void normal_range(int64_t begin, int64_t end, void *arg)
{
    const random_job *job = arg;
    int64_t           i   = begin;
    if (i < end && (i & 1)) {
        store_normal(job, i, nbi_philox_normal(job->seed, job->offset, (uint64_t)i));
        i++;
    }
    for (; i + 1 < end; i += 2) {
        double pair[2];
        nbi_philox_normal_pair(job->seed, job->offset, (uint64_t)i / 2, pair);
        store_normal(job, i, pair[0]);
        store_normal(job, i + 1, pair[1]);
    }
    if (i < end) store_normal(job, i, nbi_philox_normal(job->seed, job->offset, (uint64_t)i));
}

/* uint64 -> int64 modulo 2^64, without implementation-defined casts. */
static int64_t wrap_to_i64(uint64_t u)
{
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
}

static void randint_range(int64_t begin, int64_t end, void *arg)
{
    const random_job *job  = arg;
    char             *out  = nbi_ptr(job->out);
    size_t            size = nbi_itemsize(job->out);
    for (int64_t i = begin; i < end; i++) {
        /* NOTE: the modulo's bias is below range / 2^64: invisible for any
         * range a tensor of integers can hold in memory. */
        uint64_t r = nbi_philox_u64(job->seed, job->offset, (uint64_t)i) % job->range;
        nbi_store_i64(out + (size_t)i * size, job->out->dtype, wrap_to_i64((uint64_t)job->low + r));
    }
}

/* Make the output and reserve its random values: one per element. */
static bool start_random(random_job *job, nb_shape shape, nb_opts opts, const char *op, bool floating_only)
{
    if (!nbi_check_shape(shape, op) || !check_opts(opts, op)) return false;
    if (floating_only && !nb_dtype_is_floating(opts.dtype)) {
        nbi_fail(NB_ERR_DTYPE, "%s: needs a floating dtype (float32 or float64), not %s", op,
                 nb_dtype_name(opts.dtype));
        return false;
    }
    job->out = make(shape, opts, op);
    if (job->out == NULL) return false;
    nbi_rng_reserve((uint64_t)job->out->numel, &job->seed, &job->offset);
    return true;
}

static nb_tensor *rand_op(nb_shape shape, nb_opts opts, const char *op)
{
    random_job job = {0};
    if (!start_random(&job, shape, opts, op, true)) return NULL;
    nbi_parallel_for(job.out->numel, NBI_PARALLEL_GRAIN, uniform_range, &job);
    return job.out;
}

static nb_tensor *normal_op(double mean, double std, nb_shape shape, nb_opts opts, const char *op)
{
    if (!(std >= 0)) return nbi_fail(NB_ERR_ARG, "%s: expects std >= 0.0, but found std %g", op, std);
    random_job job = {.mean = mean, .std = std};
    if (!start_random(&job, shape, opts, op, true)) return NULL;
    nbi_parallel_for(job.out->numel, NBI_PARALLEL_GRAIN, normal_range, &job);
    return job.out;
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
    random_job job = {.low = low, .range = (uint64_t)high - (uint64_t)low};
    if (!start_random(&job, shape, opts, op, false)) return NULL;
    nbi_parallel_for(job.out->numel, NBI_PARALLEL_GRAIN, randint_range, &job);
    return job.out;
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
    return full(nb_shape_of(t), 0.0, like_opts(t), "nb_zeros_like");
}

nb_tensor *nb_ones_like(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_ones_like", "t")) return NULL;
    return full(nb_shape_of(t), 1.0, like_opts(t), "nb_ones_like");
}

nb_tensor *nb_full_like(const nb_tensor *t, double value)
{
    if (!nbi_check_tensor(t, "nb_full_like", "t")) return NULL;
    return full(nb_shape_of(t), value, like_opts(t), "nb_full_like");
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

nb_tensor *nb_fill_(nb_tensor *a, double value)
{
    if (!nbi_check_tensor(a, "nb_fill_", "a")) return NULL;
    if (a->storage->device.type != NB_CPU) return nbi_fail(NB_ERR_DEVICE, "nb_fill_: the tensor is not on the CPU");
    if (!nbi_check_fill_value(value, a->dtype, "nb_fill_")) return NULL;
    if (nbi_in_place_records(a, NULL)) {
        /* The new value is a constant; a still requires grad (its gradient
         * is zero), as in PyTorch, and a view's base is rebased. */
        nb_tensor *old = nbi_begin_in_place(a, "nb_fill_");
        if (old == NULL) return NULL;
        nbi_grad_mode_push(false);
        nb_tensor *result = nbi_empty(a->ndim, a->shape, a->dtype, a->storage->device);
        if (result) fill_tensor(result, value);
        nbi_grad_mode_pop();
        return nbi_finish_in_place(a, old, nbi_record_overwrite(result, old, "FillBackward2"), "nb_fill_");
    }
    fill_tensor(a, value);
    nbi_bump_version(a);
    return a;
}
