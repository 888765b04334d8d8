/*
 * pad.c — constant padding, the primitive behind nb_pad (nn/pad.c, which
 * checks the arguments as torch does) and behind the gradients that pad or
 * crop (autograd/pool_derivatives.c: pad's own, pad again with the pads
 * negated; autograd/index_derivatives.c: scatter's, padded to src's shape).
 *
 * Why in ops/ and not nn/: the gradient formulas call it, and in nn/ (as
 * nb_pad) it made autograd call up into nn. The front door stays in nn/.
 *
 * The output is filled with value, then the part of x that survives the
 * crops is copied into its place: both are strided views, so one copy
 * handles every dim at once. No kernel of its own: the fill and the copy
 * run on x's device through their own ops.
 */
#include "autograd/nn_derivatives.h"

nb_tensor *nbi_pad_op(const nb_tensor *x, const int64_t *pads, int npads, double value)
{
    /* Per dim: the output size, and where the kept part starts in x and in out. */
    nb_shape shape             = nb_shape_of(x);
    int64_t  from[NB_MAX_DIMS] = {0}, to[NB_MAX_DIMS] = {0}, kept[NB_MAX_DIMS];
    bool     grows = false;
    for (int d = 0; d < x->ndim; d++)
        kept[d] = x->shape[d];
    for (int k = 0; k < npads / 2; k++) {
        int     d      = x->ndim - 1 - k;
        int64_t before = pads[2 * k], after = pads[2 * k + 1];
        shape.dims[d]  = x->shape[d] + before + after;
        from[d]        = before < 0 ? -before : 0;
        to[d]          = before > 0 ? before : 0;
        kept[d]        = x->shape[d] + (before < 0 ? before : 0) + (after < 0 ? after : 0);
        if (kept[d] < 0) kept[d] = 0;
        grows = grows || before > 0 || after > 0;
    }

    nb_tensor *out = grows ? nb_full(shape, value, NB_OPTS(.dtype = x->dtype, .device = x->storage->device))
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
