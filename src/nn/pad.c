/*
 * pad.c — nb_pad: constant padding as torch.nn.functional.pad. pads lists
 * (before, after) pairs from the last dim backwards; a negative pad crops.
 *
 * Here are torch's checks; the padding itself is the primitive of
 * ops/pad.c, which the gradients (pad again with the pads negated,
 * autograd/pool_derivatives.c) call directly.
 */
#include "core/backend.h"
#include "ops/nn_primitives.h"

/* Pads beyond this are refused before any size arithmetic can overflow. */
#define MAX_PAD ((int64_t)1 << 48)

nb_tensor *nb_pad(const nb_tensor *x, const int64_t *pads, int npads, double value)
{
    const char *op = "nb_pad";
    if (!nbi_check_tensor(x, op, "x") || !nbi_check_device1(op, x, "x")) return NULL;
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

    nb_shape shape = nb_shape_of(x);
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
    }
    if (!nbi_check_shape(shape, op)) return NULL;
    return nbi_pad_op(x, pads, npads, value);
}
