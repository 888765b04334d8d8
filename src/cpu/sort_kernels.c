/*
 * sort_kernels.c — sorting the slices of a tensor along one dim on the CPU
 * (nb_sort, nb_topk).
 *
 * How: every element becomes an unsigned 64-bit key whose order is the
 * element order torch uses (NaN above +inf and equal to every NaN, -0.0
 * equal to 0.0); descending order flips the key's bits. Each slice is then
 * sorted as (key, position) pairs by one stable merge sort, so ties keep
 * their input order in both directions, as torch's stable sort does. topk
 * is the first k of that order (among equal values the earliest position
 * comes first). Slices are independent and run on threads.
 */
#include "sort_kernels.h"

#include <stdlib.h>

typedef struct {
    uint64_t key;
    int64_t  position; /* along dim, in the input */
} sort_pair;

/* An order-preserving map of doubles onto unsigned integers: negative
 * numbers have their bits flipped, positive ones their sign bit set. */
static uint64_t float_key(double value)
{
    if (isnan(value)) return UINT64_MAX;
    if (value == 0.0) value = 0.0; /* -0.0 sorts as equal to 0.0 */
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return (bits >> 63) ? ~bits : bits | (UINT64_C(1) << 63);
}

static uint64_t element_key(const char *p, nb_dtype dtype)
{
    switch (dtype) {
    case NB_FLOAT32:
        return float_key((double)*(const float *)p);
    case NB_FLOAT64:
        return float_key(*(const double *)p);
    /* Signed integers: flipping the sign bit maps INT64_MIN..MAX onto
     * 0..UINT64_MAX in order. */
    case NB_INT64:
        return (uint64_t) * (const int64_t *)p ^ (UINT64_C(1) << 63);
    case NB_INT32:
        return (uint64_t)(int64_t) * (const int32_t *)p ^ (UINT64_C(1) << 63);
    case NB_INT16:
        return (uint64_t)(int64_t) * (const int16_t *)p ^ (UINT64_C(1) << 63);
    case NB_INT8:
        return (uint64_t)(int64_t) * (const int8_t *)p ^ (UINT64_C(1) << 63);
    case NB_FLOAT16:
        return float_key((double)nbi_f16_to_f32(*(const uint16_t *)p));
    case NB_BFLOAT16:
        return float_key((double)nbi_bf16_to_f32(*(const uint16_t *)p));
    default:
        return *(const uint8_t *)p; /* uint8, bool */
    }
}

/* Stable ascending sort of a[0..n) by key; tmp holds n pairs. */
static void merge_sort(sort_pair *a, sort_pair *tmp, int64_t n)
{
    enum { RUN = 16 };
    for (int64_t lo = 0; lo < n; lo += RUN) { /* insertion sort short runs */
        int64_t hi = lo + RUN < n ? lo + RUN : n;
        for (int64_t i = lo + 1; i < hi; i++) {
            sort_pair x = a[i];
            int64_t   j = i;
            for (; j > lo && a[j - 1].key > x.key; j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
    }
    sort_pair *src = a, *dst = tmp;
    for (int64_t width = RUN; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n;
            int64_t hi  = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, out = lo;
            /* Take from the right run only when strictly smaller: stable. */
            while (i < mid && j < hi)
                dst[out++] = src[j].key < src[i].key ? src[j++] : src[i++];
            while (i < mid)
                dst[out++] = src[i++];
            while (j < hi)
                dst[out++] = src[j++];
        }
        sort_pair *swap = src;
        src             = dst;
        dst             = swap;
    }
    if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

typedef struct {
    const nbi_sort_args *args;
    atomic_int           out_of_memory;
} sort_job;

/* Byte offset of slice s (row-major over every dim but dim) in a tensor of
 * the given shape and byte strides. */
static int64_t slice_offset(int ndim, const int64_t *shape, const int64_t *stride, int dim, int64_t s)
{
    int64_t offset = 0;
    for (int k = ndim - 1; k >= 0; k--) {
        if (k == dim) continue;
        offset += (s % shape[k]) * stride[k];
        s /= shape[k];
    }
    return offset;
}

static void sort_slices(int64_t begin, int64_t end, void *arg)
{
    sort_job            *job   = arg;
    const nbi_sort_args *a     = job->args;
    int64_t              n     = a->n;
    size_t               size  = nb_dtype_size(a->dtype);
    sort_pair           *pairs = malloc((size_t)n * 2 * sizeof *pairs);
    if (pairs == NULL) {
        atomic_store(&job->out_of_memory, 1);
        return;
    }
    int      d            = a->dim;
    int64_t  in_step      = a->ndim > 0 ? a->input_stride[d] : 0;
    int64_t  values_step  = a->ndim > 0 ? a->values_stride[d] : 0;
    int64_t  indices_step = a->ndim > 0 ? a->indices_stride[d] : 0;
    uint64_t flip         = a->descending ? UINT64_MAX : 0;
    for (int64_t s = begin; s < end; s++) {
        const char *in = a->input + slice_offset(a->ndim, a->shape, a->input_stride, d, s);
        for (int64_t i = 0; i < n; i++) {
            pairs[i].key      = element_key(in + i * in_step, a->dtype) ^ flip;
            pairs[i].position = i;
        }
        merge_sort(pairs, pairs + n, n);
        char *values = a->values + slice_offset(a->ndim, a->shape, a->values_stride, d, s);
        for (int64_t j = 0; j < a->k; j++)
            memcpy(values + j * values_step, in + pairs[j].position * in_step, size);
        if (a->indices) {
            char *indices = (char *)a->indices + slice_offset(a->ndim, a->shape, a->indices_stride, d, s);
            for (int64_t j = 0; j < a->k; j++)
                *(int64_t *)(void *)(indices + j * indices_step) = pairs[j].position;
        }
    }
    free(pairs);
}

nb_status nbi_cpu_sort(const nbi_sort_args *args)
{
    int64_t slices = 1;
    for (int k = 0; k < args->ndim; k++)
        if (k != args->dim) slices *= args->shape[k];
    if (args->k == 0 || args->n == 0 || slices == 0) return NB_OK;
    sort_job job = {.args = args};
    atomic_init(&job.out_of_memory, 0);
    int64_t grain = NBI_PARALLEL_GRAIN / args->n;
    nbi_parallel_for(slices, grain > 0 ? grain : 1, sort_slices, &job);
    if (!atomic_load(&job.out_of_memory)) return NB_OK;
    return nbi_fail_status(NB_ERR_OOM, "%s: out of host memory for a sort buffer of %lld elements", args->op,
                           (long long)args->n);
}
