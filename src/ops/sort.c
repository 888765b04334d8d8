/*
 * sort.c — nb_sort and nb_topk along any dim, of any dtype, from inputs of
 * any strides: the checks, the outputs and autograd. The sorting is one
 * call of the sort kernel of the input's device (core/backend.h,
 * core/sort_args.h), which fixes the order: torch's stable sort, NaN above
 * +inf, ties in input order in both directions.
 */
#include "autograd/autograd.h"
#include "core/backend.h"

#include <string.h>

/* A tensor's strides in bytes, for the kernel's description. */
static void byte_strides(const nb_tensor *t, int64_t *stride)
{
    for (int k = 0; k < t->ndim; k++)
        stride[k] = t->stride[k] * (int64_t)nbi_itemsize(t);
}

/* t's device runs, and has the sort kernel for t's dtype. */
static bool check_sort_kernel(const nb_tensor *t, const char *op)
{
    return nbi_check_device1(op, t, "t") && nbi_check_supported(nbi_backend_of(t), NBI_FAMILY_SORT, 0, t->dtype, op);
}

static nb_tensor *sort_along(const nb_tensor *t, int d, int64_t k, bool descending, nb_tensor **indices, const char *op)
{
    /* Outputs: t's shape with k along d (a 0-d t gives 0-d outputs). */
    int64_t shape[NB_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++)
        shape[i] = i == d ? k : t->shape[i];
    nbi_sort_args args = {.device     = t->storage->device.index,
                          .dtype      = t->dtype,
                          .ndim       = t->ndim,
                          .dim        = d,
                          .n          = t->ndim > 0 ? t->shape[d] : 1,
                          .k          = t->ndim > 0 ? k : 1,
                          .descending = descending,
                          .input      = nbi_ptr(t),
                          .op         = op};
    for (int i = 0; i < t->ndim; i++)
        args.shape[i] = t->shape[i];
    byte_strides(t, args.input_stride);
    nb_tensor *values      = nbi_empty(t->ndim, shape, t->dtype, t->storage->device);
    nb_tensor *indices_out = NULL;
    if (values == NULL) return NULL;
    if (indices || nbi_should_record(1, &t)) {
        indices_out = nbi_empty(t->ndim, shape, NB_INT64, t->storage->device);
        if (indices_out == NULL) {
            nb_free(values);
            return NULL;
        }
        args.indices = (int64_t *)(void *)nbi_ptr(indices_out);
        byte_strides(indices_out, args.indices_stride);
    }
    args.values = nbi_ptr(values);
    byte_strides(values, args.values_stride);
    if (nbi_backend_of(t)->sort(&args) != NB_OK) {
        nb_free(values);
        nb_free(indices_out);
        return NULL;
    }
    /* Autograd needs the positions even when the caller does not. */
    if (t->ndim == 0 || indices_out == NULL || nbi_should_record(1, &t))
        values = nbi_record_picked(values, t, d, indices_out, true,
                                   strcmp(op, "nb_sort") == 0 ? "SortBackward0" : "TopkBackward0");
    if (!indices || values == NULL) {
        nb_free(indices_out);
        indices_out = NULL;
    }
    if (indices) *indices = indices_out;
    return values;
}

nb_tensor *nb_sort(const nb_tensor *t, int dim, bool descending, nb_tensor **indices)
{
    if (indices) *indices = NULL;
    if (!nbi_check_tensor(t, "nb_sort", "t")) return NULL;
    if (!check_sort_kernel(t, "nb_sort")) return NULL;
    int d = nbi_wrap_dim(dim, t->ndim, "nb_sort");
    if (d < 0) return NULL;
    return sort_along(t, d, t->ndim > 0 ? t->shape[d] : 1, descending, indices, "nb_sort");
}

nb_tensor *nb_topk(const nb_tensor *t, int64_t k, int dim, bool largest, nb_tensor **indices)
{
    if (indices) *indices = NULL;
    if (!nbi_check_tensor(t, "nb_topk", "t")) return NULL;
    if (t->dtype == NB_BOOL) /* torch 1.13: "topk_cpu" not implemented for 'Bool' (sort takes bool) */
        return nbi_fail(NB_ERR_DTYPE,
                        "nb_topk: bool tensors are not supported (as in torch); convert with nb_to_dtype");
    if (!check_sort_kernel(t, "nb_topk")) return NULL;
    int d = nbi_wrap_dim(dim, t->ndim, "nb_topk");
    if (d < 0) return NULL;
    int64_t size = t->ndim > 0 ? t->shape[d] : 1;
    if (k < 0 || k > size)
        return nbi_fail(NB_ERR_ARG, "nb_topk: k %lld is out of range for dim %d of size %lld (expected 0 to %lld)",
                        (long long)k, d, (long long)size, (long long)size);
    /* NOTE: a 0-d t gives its one element for k 0 or 1, as torch.topk. */
    return sort_along(t, d, k, largest, indices, "nb_topk");
}
