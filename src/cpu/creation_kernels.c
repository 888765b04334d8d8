/*
 * creation_kernels.c — fills, ranges (arange, linspace) and random fills
 * on the CPU, for the creation ops of ops/creation.c. Contiguous outputs are
 * cut into ranges of NBI_PARALLEL_GRAIN elements or more for the thread
 * pool; each element's value depends on its index only (random ones on
 * (seed, offset, index), core/random.h), never on the split.
 */
#include "creation_kernels.h"

#include "../core/random.h"

/* ------------------------------------------------------------------------ */
/* Fills                                                                     */
/* ------------------------------------------------------------------------ */

/* One element's bytes, repeated over a contiguous range. */
typedef struct {
    char         *data; /* element 0 */
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
    case 2: {
        uint16_t v;
        memcpy(&v, job->pattern, 2);
        uint16_t *q = (uint16_t *)(void *)p;
        for (int64_t i = 0; i < n; i++)
            q[i] = v;
        break;
    }
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

/* 1-D strided loop for the other layouts (operand 0 only). */
static void fill_loop(char **data, const int64_t *strides, int64_t n, const void *ctx)
{
    const fill_job *job = ctx;
    char           *p   = data[0];
    for (int64_t i = 0; i < n; i++, p += strides[0])
        memcpy(p, job->pattern, job->itemsize);
}

void nbi_cpu_fill(const nbi_iter *it, nb_dtype dtype, const nbi_element *value)
{
    if (it->numel == 0) return;
    fill_job job = {.data = it->base[0], .itemsize = nb_dtype_size(dtype)};
    memcpy(job.pattern, value->bytes, sizeof job.pattern);
    job.zero = true;
    for (size_t i = 0; i < job.itemsize; i++)
        job.zero = job.zero && job.pattern[i] == 0;
    if (it->ndim == 1 && it->strides[0][0] == (int64_t)job.itemsize) {
        nbi_parallel_for(it->numel, NBI_PARALLEL_GRAIN, fill_range, &job);
        return;
    }
    nbi_iter_run(it, fill_loop, &job);
}

/* ------------------------------------------------------------------------ */
/* arange, linspace                                                          */
/* ------------------------------------------------------------------------ */

static void arange_float_range(int64_t begin, int64_t end, void *arg)
{
    const nbi_range_args *job = arg;
    if (job->dtype == NB_FLOAT32) {
        float *out = job->out;
        for (int64_t i = begin; i < end; i++)
            out[i] = (float)(job->start + job->step * (double)i);
    } else if (job->dtype == NB_FLOAT16 || job->dtype == NB_BFLOAT16) {
        /* torch computes a half's range in float (its accumulate type). */
        uint16_t *out = job->out;
        float     start = (float)job->start, step = (float)job->step;
        for (int64_t i = begin; i < end; i++) {
            float v = start + step * (float)i;
            out[i]  = job->dtype == NB_FLOAT16 ? nbi_f32_to_f16(v) : nbi_f32_to_bf16(v);
        }
    } else {
        double *out = job->out;
        for (int64_t i = begin; i < end; i++)
            out[i] = job->start + job->step * (double)i;
    }
}

static void arange_int_range(int64_t begin, int64_t end, void *arg)
{
    const nbi_range_args *job  = arg;
    char                 *out  = job->out;
    size_t                size = nb_dtype_size(job->dtype);
    for (int64_t i = begin; i < end; i++) {
        /* Unsigned arithmetic: narrow dtypes wrap, as torch's casts do. */
        uint64_t v = (uint64_t)job->start_int + (uint64_t)job->step_int * (uint64_t)i;
        nbi_store_i64(out + (size_t)i * size, job->dtype, (int64_t)v);
    }
}

static void linspace_range(int64_t begin, int64_t end, void *arg)
{
    const nbi_range_args *job  = arg;
    char                 *data = job->out;
    if (job->dtype == NB_FLOAT32) {
        float  start = (float)job->start, stop = (float)job->end, step = (float)job->step;
        float *o = (float *)(void *)data;
        for (int64_t i = begin; i < end; i++)
            o[i] = i < job->halfway ? start + step * (float)i : stop - step * (float)(job->count - 1 - i);
    } else if (job->dtype == NB_FLOAT64) {
        double *o = (double *)(void *)data;
        for (int64_t i = begin; i < end; i++)
            o[i] = i < job->halfway ? job->start + job->step * (double)i
                                    : job->end - job->step * (double)(job->count - 1 - i);
    } else {
        size_t size = nb_dtype_size(job->dtype);
        for (int64_t i = begin; i < end; i++) {
            double v = i < job->halfway ? job->start + job->step * (double)i
                                        : job->end - job->step * (double)(job->count - 1 - i);
            nbi_store_f64(data + (size_t)i * size, job->dtype, v);
        }
    }
}

void nbi_cpu_range(nbi_range_kind kind, const nbi_range_args *args)
{
    nbi_range_fn body = kind == NBI_RANGE_LINSPACE          ? linspace_range
                        : nb_dtype_is_floating(args->dtype) ? arange_float_range
                                                            : arange_int_range;
    nbi_parallel_for(args->count, NBI_PARALLEL_GRAIN, body, (void *)args);
}

/* ------------------------------------------------------------------------ */
/* Random fills                                                              */
/* ------------------------------------------------------------------------ */

static void uniform_range(int64_t begin, int64_t end, void *arg)
{
    const nbi_random_args *job = arg;
    if (job->dtype == NB_FLOAT32) {
        float *o = job->out;
        for (int64_t i = begin; i < end; i++)
            o[i] = nbi_philox_uniform_f32(job->seed, job->offset, (uint64_t)i);
    } else if (job->dtype == NB_FLOAT16 || job->dtype == NB_BFLOAT16) {
        /* The float32 draw rounded; one that rounds up to 1 takes the
         * largest half below 1 instead, so the range stays [0, 1). */
        bool      bf16 = job->dtype == NB_BFLOAT16;
        uint16_t  below_one = bf16 ? 0x3F7Fu : 0x3BFFu, *o = job->out;
        for (int64_t i = begin; i < end; i++) {
            float    u = nbi_philox_uniform_f32(job->seed, job->offset, (uint64_t)i);
            uint16_t h = bf16 ? nbi_f32_to_bf16(u) : nbi_f32_to_f16(u);
            o[i]       = (bf16 ? nbi_bf16_to_f32(h) : nbi_f16_to_f32(h)) >= 1.0f ? below_one : h;
        }
    } else {
        double *o = job->out;
        for (int64_t i = begin; i < end; i++)
            o[i] = nbi_philox_uniform_f64(job->seed, job->offset, (uint64_t)i);
    }
}

static void store_normal(const nbi_random_args *job, int64_t i, double z)
{
    double v = job->mean + job->std * z;
    if (job->dtype == NB_FLOAT32)
        ((float *)job->out)[i] = (float)v;
    else if (job->dtype == NB_FLOAT64)
        ((double *)job->out)[i] = v;
    else
        nbi_store_f64((char *)job->out + (size_t)i * 2, job->dtype, v); /* the halves */
}

/* Whole pairs (2k, 2k+1) share one Philox call; an odd range edge computes
 * its element alone, which gives the same value (random.h). */
static void normal_range(int64_t begin, int64_t end, void *arg)
{
    const nbi_random_args *job = arg;
    int64_t                i   = begin;
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

static void integer_range(int64_t begin, int64_t end, void *arg)
{
    const nbi_random_args *job  = arg;
    char                  *out  = job->out;
    size_t                 size = nb_dtype_size(job->dtype);
    for (int64_t i = begin; i < end; i++) {
        /* NOTE: the modulo's bias is below range / 2^64: invisible for any
         * range a tensor of integers can hold in memory. */
        uint64_t r = nbi_philox_u64(job->seed, job->offset, (uint64_t)i) % job->range;
        nbi_store_i64(out + (size_t)i * size, job->dtype, wrap_to_i64((uint64_t)job->low + r));
    }
}

void nbi_cpu_random(nbi_random_kind kind, const nbi_random_args *args)
{
    nbi_range_fn body = kind == NBI_RANDOM_UNIFORM  ? uniform_range
                        : kind == NBI_RANDOM_NORMAL ? normal_range
                                                    : integer_range;
    nbi_parallel_for(args->count, NBI_PARALLEL_GRAIN, body, (void *)args);
}
