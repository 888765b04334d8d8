/*
 * sort.c — nb_sort and nb_topk along any dim, of any dtype, from inputs of
 * any strides.
 *
 * How: every element becomes an unsigned 64-bit key whose order is the
 * element order torch uses (NaN above +inf and equal to every NaN, -0.0
 * equal to 0.0); descending order flips the key's bits. Each line along dim
 * ("slice") is then sorted as (key, position) pairs by one stable merge sort,
 * so ties keep their input order in both directions, as torch's stable sort
 * does. topk is the first k of that order (among equal values the earliest
 * position comes first). Slices are independent and run on threads.
 */
#include "autograd/autograd.h"
#include "cpu/cpu.h"

#include <stdlib.h>
#include <string.h>

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

/* One sort or topk: the first k elements of each slice of t along d, in
 * key order, written to values (and positions to indices, when not NULL).
 * Both outputs are contiguous with t's shape except k along d. */
typedef struct {
    const nb_tensor *t;
    int              d;
    int64_t          n; /* slice length: t's size along d */
    int64_t          k;
    bool             descending;
    nb_tensor       *values;
    nb_tensor       *indices; /* or NULL */
    atomic_int       out_of_memory;
} sort_job;

/* Element offset of slice s (row-major over every dim but d) in a tensor
 * with the given shape and strides. */
static int64_t slice_offset(int ndim, const int64_t *shape, const int64_t *stride, int d, int64_t s)
{
    int64_t offset = 0;
    for (int k = ndim - 1; k >= 0; k--) {
        if (k == d) continue;
        offset += (s % shape[k]) * stride[k];
        s /= shape[k];
    }
    return offset;
}

static void sort_slices(int64_t begin, int64_t end, void *arg)
{
    sort_job        *job   = arg;
    const nb_tensor *t     = job->t;
    int              d     = job->d;
    int64_t          n     = job->n;
    size_t           size  = nbi_itemsize(t);
    sort_pair       *pairs = malloc((size_t)n * 2 * sizeof *pairs);
    if (pairs == NULL) {
        atomic_store(&job->out_of_memory, 1);
        return;
    }
    int64_t  in_step  = t->ndim > 0 ? t->stride[d] : 0;
    int64_t  out_step = t->ndim > 0 ? job->values->stride[d] : 0;
    uint64_t flip     = job->descending ? UINT64_MAX : 0;
    for (int64_t s = begin; s < end; s++) {
        const char *in = nbi_ptr(t) + slice_offset(t->ndim, t->shape, t->stride, d, s) * (int64_t)size;
        for (int64_t i = 0; i < n; i++) {
            pairs[i].key      = element_key(in + i * in_step * (int64_t)size, t->dtype) ^ flip;
            pairs[i].position = i;
        }
        merge_sort(pairs, pairs + n, n);
        int64_t out_offset = slice_offset(job->values->ndim, job->values->shape, job->values->stride, d, s);
        char   *values     = nbi_ptr(job->values) + out_offset * (int64_t)size;
        for (int64_t j = 0; j < job->k; j++)
            memcpy(values + j * out_step * (int64_t)size, in + pairs[j].position * in_step * (int64_t)size, size);
        if (job->indices) {
            int64_t *indices = (int64_t *)nbi_ptr(job->indices) + out_offset;
            for (int64_t j = 0; j < job->k; j++)
                indices[j * out_step] = pairs[j].position;
        }
    }
    free(pairs);
}

static nb_tensor *sort_along(const nb_tensor *t, int d, int64_t k, bool descending, nb_tensor **indices, const char *op)
{
    /* Outputs: t's shape with k along d (a 0-d t gives 0-d outputs). */
    int64_t shape[NB_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++)
        shape[i] = i == d ? k : t->shape[i];
    sort_job job = {
        .t = t, .d = d, .n = t->ndim > 0 ? t->shape[d] : 1, .k = t->ndim > 0 ? k : 1, .descending = descending};
    atomic_init(&job.out_of_memory, 0);
    job.values = nbi_empty(t->ndim, shape, t->dtype, NB_DEVICE_CPU);
    if (job.values == NULL) return NULL;
    if (indices || nbi_should_record(1, &t)) {
        job.indices = nbi_empty(t->ndim, shape, NB_INT64, NB_DEVICE_CPU);
        if (job.indices == NULL) {
            nb_free(job.values);
            return NULL;
        }
    }
    int64_t slices = job.n > 0 ? t->numel / job.n : 0;
    if (job.k > 0 && slices > 0) {
        int64_t grain = NBI_PARALLEL_GRAIN / job.n;
        nbi_parallel_for(slices, grain > 0 ? grain : 1, sort_slices, &job);
    }
    if (atomic_load(&job.out_of_memory)) {
        nb_free(job.values);
        nb_free(job.indices);
        return nbi_fail(NB_ERR_OOM, "%s: out of host memory for a sort buffer of %lld elements", op, (long long)job.n);
    }
    /* Autograd needs the positions even when the caller does not. */
    if (t->ndim == 0 || job.indices == NULL || nbi_should_record(1, &t))
        job.values = nbi_record_picked(job.values, t, d, job.indices, true,
                                       strcmp(op, "nb_sort") == 0 ? "SortBackward0" : "TopkBackward0");
    if (!indices || job.values == NULL) {
        nb_free(job.indices);
        job.indices = NULL;
    }
    if (indices) *indices = job.indices;
    return job.values;
}

nb_tensor *nb_sort(const nb_tensor *t, int dim, bool descending, nb_tensor **indices)
{
    if (indices) *indices = NULL;
    if (!nbi_check_tensor(t, "nb_sort", "t")) return NULL;
    if (t->storage->device.type != NB_CPU)
        return nbi_fail(NB_ERR_DEVICE, "nb_sort: t is not on the CPU, the only device of this build");
    int d = nbi_wrap_dim(dim, t->ndim, "nb_sort");
    if (d < 0) return NULL;
    return sort_along(t, d, t->ndim > 0 ? t->shape[d] : 1, descending, indices, "nb_sort");
}

nb_tensor *nb_topk(const nb_tensor *t, int64_t k, int dim, bool largest, nb_tensor **indices)
{
    if (indices) *indices = NULL;
    if (!nbi_check_tensor(t, "nb_topk", "t")) return NULL;
    if (t->dtype == NB_BOOL) /* torch 1.13: "topk_cpu" not implemented for 'Bool' (sort takes bool) */
        return nbi_fail(NB_ERR_DTYPE, "nb_topk: bool tensors are not supported (as in torch); convert with nb_to_dtype");
    if (t->storage->device.type != NB_CPU)
        return nbi_fail(NB_ERR_DEVICE, "nb_topk: t is not on the CPU, the only device of this build");
    int d = nbi_wrap_dim(dim, t->ndim, "nb_topk");
    if (d < 0) return NULL;
    int64_t size = t->ndim > 0 ? t->shape[d] : 1;
    if (k < 0 || k > size)
        return nbi_fail(NB_ERR_ARG, "nb_topk: k %lld is out of range for dim %d of size %lld (expected 0 to %lld)",
                        (long long)k, d, (long long)size, (long long)size);
    /* NOTE: a 0-d t gives its one element for k 0 or 1, as torch.topk. */
    return sort_along(t, d, k, largest, indices, "nb_topk");
}
