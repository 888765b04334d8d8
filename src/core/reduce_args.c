/*
 * reduce_args.c — the geometry of reductions and line ops (reduce_args.h),
 * for any device's kernels: pure shape and stride arithmetic.
 *
 * A reduction plan drops size-1 dims, merges neighbouring kept dims that one
 * stride walks, and merges the reduced dims into one run (ordered by stride
 * first when the op allows).
 */
#include "reduce_args.h"

#include "internal.h"

bool nbi_reduce_plan_init(nbi_reduce_plan *plan, const nb_tensor *t, const bool *reduce_mask, bool allow_reorder)
{
    int64_t item = (int64_t)nbi_itemsize(t);
    int64_t red_size[NB_MAX_DIMS], red_stride[NB_MAX_DIMS];
    int     nred      = 0;
    bool    empty_run = false;
    plan->base        = nbi_ptr(t);
    plan->dtype       = t->dtype;
    plan->device      = t->storage->device.index;
    plan->nkept       = 0;
    plan->out_numel   = 1;
    for (int d = 0; d < t->ndim; d++) {
        int64_t size = t->shape[d], stride = t->stride[d] * item;
        if (reduce_mask[d]) {
            if (size == 0) empty_run = true;
            if (size > 1) {
                red_size[nred]     = size;
                red_stride[nred++] = stride;
            }
            continue;
        }
        plan->out_numel *= size;
        if (size == 1) continue;
        int k = plan->nkept;
        /* Merge with the previous kept dim when one stride walks both. */
        if (k > 0 && plan->kept_stride[k - 1] == stride * size) {
            plan->kept_size[k - 1] *= size;
            plan->kept_stride[k - 1] = stride;
        } else {
            plan->kept_size[k]   = size;
            plan->kept_stride[k] = stride;
            plan->nkept++;
        }
    }
    if (empty_run || nred == 0) {
        /* n = 0: identities. n = 1 (only size-1 dims reduced): the element. */
        plan->n      = empty_run ? 0 : 1;
        plan->stride = 0;
        return true;
    }
    if (allow_reorder) {
        /* Largest stride first (insertion sort; stable). */
        for (int i = 1; i < nred; i++)
            for (int j = i; j > 0 && red_stride[j - 1] < red_stride[j]; j--) {
                int64_t s = red_size[j], st = red_stride[j];
                red_size[j] = red_size[j - 1], red_stride[j] = red_stride[j - 1];
                red_size[j - 1] = s, red_stride[j - 1] = st;
            }
    }
    int64_t size = red_size[0], stride = red_stride[0];
    for (int i = 1; i < nred; i++) {
        if (stride != red_stride[i] * red_size[i]) return false;
        size *= red_size[i];
        stride = red_stride[i];
    }
    plan->n      = size;
    plan->stride = stride;
    return true;
}

void nbi_line_plan_init(nbi_line_plan *plan, const nb_tensor *in, nb_tensor *out, int dim)
{
    int64_t in_item = (int64_t)nbi_itemsize(in), out_item = (int64_t)nbi_itemsize(out);
    plan->in        = nbi_ptr(in);
    plan->in_dtype  = in->dtype;
    plan->out       = nbi_ptr(out);
    plan->out_dtype = out->dtype;
    plan->indices   = NULL;
    plan->device    = in->storage->device.index;
    plan->nouter    = 0;
    plan->lines     = 1;
    plan->n         = in->ndim > 0 ? in->shape[dim] : 1;
    plan->in_step   = in->ndim > 0 ? in->stride[dim] * in_item : 0;
    plan->out_step  = out->ndim > 0 ? out->stride[dim] * out_item : 0;
    for (int d = 0; d < in->ndim; d++) {
        if (d == dim) continue;
        plan->lines *= in->shape[d];
        if (in->shape[d] == 1) continue;
        int k                     = plan->nouter++;
        plan->outer_size[k]       = in->shape[d];
        plan->outer_in_stride[k]  = in->stride[d] * in_item;
        plan->outer_out_stride[k] = out->stride[d] * out_item;
    }
}
