/*
 * pad.c — nb_pad: constant padding as torch.nn.functional.pad. pads lists
 * (before, after) pairs from the last dim backwards; a negative pad crops.
 *
 * The output is filled with value, then the part of x that survives the
 * crops is copied into its place: both are strided views, so one copy
 * handles every dim at once. Its gradient is pad again with the pads
 * negated (autograd/pool_derivatives.c).
 */
#include "autograd/nn_derivatives.h"

/* Pads beyond this are refused before any size arithmetic can overflow. */
#define MAX_PAD ((int64_t)1 << 48)

nb_tensor *nb_pad(const nb_tensor *x, const int64_t *pads, int npads, double value)
{
    const char *op = "nb_pad";
    if (!nbi_check_tensor(x, op, "x")) return NULL;
    if (x->storage->device.type != NB_CPU)
        return nbi_fail(NB_ERR_DEVICE, "%s: x is on a device this build cannot run (only the CPU is)", op);
    if (npads < 0 || npads % 2 != 0 || (npads > 0 && pads == NULL))
        return nbi_fail(NB_ERR_ARG, "%s: pads must be (before, after) pairs, got %d values%s", op, npads,
                        npads > 0 && pads == NULL ? " and a NULL list" : "");
    char xs[NBI_SHAPE_STR_SIZE];
    nbi_shape_str(x->ndim, x->shape, xs, sizeof xs);
    if (npads / 2 > x->ndim)
        return nbi_fail(NB_ERR_ARG, "%s: %d pairs of pads for input of shape %s (at most one pair per dim)", op,
                        npads / 2, xs);
    if (!nbi_check_fill_value(value, x->dtype, op)) return NULL;
    /* NOTE: torch's pad value is a Python float, for which uint8 has no
     * wrapping negatives (masked_fill's int value does): refused as torch. */
    if (x->dtype == NB_UINT8 && value < 0)
        return nbi_fail(NB_ERR_ARG, "%s: value %g cannot be converted to uint8 without overflow", op, value);

    /* Per dim: the output size, and where the kept part starts in x and in out. */
    nb_shape shape             = nb_shape_of(x);
    int64_t  from[NB_MAX_DIMS] = {0}, to[NB_MAX_DIMS] = {0}, kept[NB_MAX_DIMS];
    bool     grows = false;
    for (int d = 0; d < x->ndim; d++)
        kept[d] = x->shape[d];
    for (int k = 0; k < npads / 2; k++) {
        int     d      = x->ndim - 1 - k;
        int64_t before = pads[2 * k], after = pads[2 * k + 1];
        if (before > MAX_PAD || before < -MAX_PAD || after > MAX_PAD || after < -MAX_PAD)
            return nbi_fail(NB_ERR_ARG, "%s: pads (%lld, %lld) for dim %d are out of range", op, (long long)before,
                            (long long)after, d);
        shape.dims[d] = x->shape[d] + before + after;
        if (shape.dims[d] < 0)
            return nbi_fail(NB_ERR_SHAPE, "%s: pads (%lld, %lld) would give dim %d of input shape %s the size %lld", op,
                            (long long)before, (long long)after, d, xs, (long long)shape.dims[d]);
        from[d] = before < 0 ? -before : 0;
        to[d]   = before > 0 ? before : 0;
        kept[d] = x->shape[d] + (before < 0 ? before : 0) + (after < 0 ? after : 0);
        if (kept[d] < 0) kept[d] = 0;
        grows = grows || before > 0 || after > 0;
    }
    if (!nbi_check_shape(shape, op)) return NULL;

    nb_tensor *out = grows ? nb_full(shape, value, NB_OPTS(.dtype = x->dtype))
                           : nbi_empty(shape.ndim, shape.dims, x->dtype, x->storage->device);
    if (out == NULL) return NULL;
    if (nbi_shape_numel(x->ndim, kept) > 0) {
        int64_t x_offset = x->offset, out_offset = 0;
        for (int d = 0; d < x->ndim; d++) {
            x_offset += from[d] * x->stride[d];
            out_offset += to[d] * out->stride[d];
        }
        nb_tensor *src = nbi_make_view(x, x->ndim, kept, x->stride, x_offset);
        nb_tensor *dst = nbi_make_view(out, out->ndim, kept, out->stride, out_offset);
        if (src == NULL || dst == NULL) {
            nb_free(src), nb_free(dst), nb_free(out);
            return NULL;
        }
        nbi_copy_into(dst, src);
        nb_free(src);
        nb_free(dst);
    }
    if (!nb_dtype_is_floating(x->dtype)) return out;
    return nbi_record_pad(out, x, pads, npads);
}
