/*
 * view.c — ops that make a new handle on the same storage with a new
 * geometry (shape, strides, offset): reshape/view, transpose/permute,
 * expand, squeeze/unsqueeze, flatten/unflatten, narrow/slice/select,
 * diagonal. No element is read or written here, so these ops work the
 * same on every device; the one exception is nb_reshape (and nb_flatten
 * through it), which copies with nb_contiguous when no view exists.
 *
 * A view of a tensor that requires grad records how it was viewed
 * (src/autograd/view_derivatives.c), so gradients flow back to the base.
 */
#include "autograd/autograd.h"

/* A view of t with this geometry that keeps row-major element order
 * (reshape, squeeze, flatten, or t itself): its gradient is reshaped back. */
static nb_tensor *make_view(const nb_tensor *t, int ndim, const int64_t *shape, const int64_t *stride, int64_t offset,
                            const char *name)
{
    return nbi_record_view(nbi_make_view(t, ndim, shape, stride, offset), t, NBI_VIEW_RESHAPE, NULL, 0, name);
}

/* A view that moves elements around: recorded with its kind and args. */
static nb_tensor *make_view_of_kind(const nb_tensor *t, int ndim, const int64_t *shape, const int64_t *stride,
                                    int64_t offset, nbi_view_kind kind, const int64_t *args, int nargs)
{
    return nbi_record_view(nbi_make_view(t, ndim, shape, stride, offset), t, kind, args, nargs, NULL);
}

/* ------------------------------------------------------------------------ */
/* reshape and view                                                          */
/* ------------------------------------------------------------------------ */

/* Replace a -1 in shape by the size that makes numel(shape) == numel, and
 * check the sizes (torch's infer_size). split_dim >= 0 says the shape is
 * nb_unflatten's sizes for that dim, which words the mismatch as torch does.
 * False with NB_ERR_SHAPE naming op. */
static bool infer_size(nb_shape *shape, int64_t numel, const char *op, int split_dim)
{
    char buf[NBI_SHAPE_STR_SIZE];
    if (shape->ndim < 0 || shape->ndim > NB_MAX_DIMS) {
        nbi_fail(NB_ERR_SHAPE, "%s: a shape has 0 to %d dims, not %d", op, NB_MAX_DIMS, shape->ndim);
        return false;
    }
    int     inferred = -1;
    int64_t product  = 1;
    bool    overflow = false; /* the product cannot equal numel then */
    for (int i = 0; i < shape->ndim; i++) {
        int64_t size = shape->dims[i];
        if (size == -1) {
            if (inferred >= 0) {
                nbi_fail(NB_ERR_SHAPE, "%s: only one dimension can be inferred (shape %s)", op,
                         nbi_shape_str(shape->ndim, shape->dims, buf, sizeof buf));
                return false;
            }
            inferred = i;
        } else if (size < 0) {
            nbi_fail(NB_ERR_SHAPE, "%s: invalid shape dimension %lld in shape %s", op, (long long)size,
                     nbi_shape_str(shape->ndim, shape->dims, buf, sizeof buf));
            return false;
        } else if (size > 0 && product > INT64_MAX / size) {
            overflow = true;
        } else {
            product *= size;
        }
    }
    if (inferred >= 0 && !overflow && product == 0) {
        nbi_fail(NB_ERR_SHAPE,
                 "%s: cannot reshape a tensor of %lld elements into shape %s because the unspecified "
                 "dimension size -1 can be any value and is ambiguous",
                 op, (long long)numel, nbi_shape_str(shape->ndim, shape->dims, buf, sizeof buf));
        return false;
    }
    if (!overflow && inferred >= 0 && numel % product == 0) {
        shape->dims[inferred] = numel / product;
        return true;
    }
    if (!overflow && inferred < 0 && product == numel) return true;
    if (split_dim >= 0)
        nbi_fail(NB_ERR_SHAPE,
                 "%s: provided sizes %s don't multiply up to the size of dim %d (%lld) in the input tensor", op,
                 nbi_shape_str(shape->ndim, shape->dims, buf, sizeof buf), split_dim, (long long)numel);
    else
        nbi_fail(NB_ERR_SHAPE, "%s: shape %s is invalid for input of size %lld", op,
                 nbi_shape_str(shape->ndim, shape->dims, buf, sizeof buf), (long long)numel);
    return false;
}

/* Strides that make (new_ndim, new_shape) view the same elements as t, in
 * row-major order, or false when no such strides exist. This is PyTorch's
 * computeStride: t's dims are cut into "chunks" whose elements are evenly
 * spaced (each dim's stride = the next dim's size * stride); a view exists
 * when every new dim falls within one chunk. Size-1 dims never break a
 * chunk. The caller has checked numel(new_shape) == t->numel. */
static bool view_strides(const nb_tensor *t, int new_ndim, const int64_t *new_shape, int64_t *new_stride)
{
    if (t->ndim == 0) { /* one element: any strides do; torch uses 1 */
        for (int i = 0; i < new_ndim; i++)
            new_stride[i] = 1;
        return true;
    }
    if (t->numel == 0) {
        bool same = new_ndim == t->ndim;
        for (int i = 0; same && i < new_ndim; i++)
            same = new_shape[i] == t->shape[i];
        if (same) {
            for (int i = 0; i < new_ndim; i++)
                new_stride[i] = t->stride[i];
        } else {
            nbi_contiguous_strides(new_ndim, new_shape, new_stride);
        }
        return true;
    }
    int     view_d       = new_ndim - 1;
    int64_t chunk_base   = t->stride[t->ndim - 1]; /* stride of the chunk's innermost dim */
    int64_t tensor_numel = 1, view_numel = 1;
    for (int tensor_d = t->ndim - 1; tensor_d >= 0; tensor_d--) {
        tensor_numel *= t->shape[tensor_d];
        /* Does the chunk end here (dim tensor_d - 1 is not evenly spaced
         * with it)? Then the new dims must tile exactly this chunk. */
        bool chunk_ends =
            tensor_d == 0 || (t->shape[tensor_d - 1] != 1 && t->stride[tensor_d - 1] != tensor_numel * chunk_base);
        if (!chunk_ends) continue;
        while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
            new_stride[view_d] = view_numel * chunk_base;
            view_numel *= new_shape[view_d];
            view_d--;
        }
        if (view_numel != tensor_numel) return false;
        if (tensor_d > 0) {
            chunk_base   = t->stride[tensor_d - 1];
            tensor_numel = 1;
            view_numel   = 1;
        }
    }
    return view_d == -1;
}

nb_tensor *nb_view(const nb_tensor *t, nb_shape shape)
{
    if (!nbi_check_tensor(t, "nb_view", "t")) return NULL;
    if (!infer_size(&shape, t->numel, "nb_view", -1)) return NULL;
    int64_t stride[NB_MAX_DIMS];
    if (!view_strides(t, shape.ndim, shape.dims, stride)) {
        char buf_shape[NBI_SHAPE_STR_SIZE], buf_stride[NBI_SHAPE_STR_SIZE], buf_new[NBI_SHAPE_STR_SIZE];
        return nbi_fail(NB_ERR_SHAPE,
                        "nb_view: view size is not compatible with input tensor's size and stride (at least one "
                        "dimension spans across two contiguous subspaces): size %s, stride %s, view %s. "
                        "Use nb_reshape instead",
                        nbi_shape_str(t->ndim, t->shape, buf_shape, sizeof buf_shape),
                        nbi_shape_str(t->ndim, t->stride, buf_stride, sizeof buf_stride),
                        nbi_shape_str(shape.ndim, shape.dims, buf_new, sizeof buf_new));
    }
    return make_view(t, shape.ndim, shape.dims, stride, t->offset, "ViewBackward0");
}

/* reshape once the shape is inferred and checked: a view when the strides
 * allow (its node named view_name), else a view of a contiguous copy (the
 * copy's handle is dropped; the view keeps it alive). */
static nb_tensor *reshape_inferred(const nb_tensor *t, nb_shape shape, const char *view_name)
{
    int64_t stride[NB_MAX_DIMS];
    if (view_strides(t, shape.ndim, shape.dims, stride)) return make_view(t, shape.ndim, shape.dims, stride, t->offset, view_name);
    nb_tensor *copy = nb_contiguous(t);
    if (copy == NULL) return NULL;
    nbi_contiguous_strides(shape.ndim, shape.dims, stride);
    nb_tensor *result = make_view(copy, shape.ndim, shape.dims, stride, copy->offset, "UnsafeViewBackward0");
    nb_free(copy); /* the view's graph node holds the copy if it needs it */
    return result;
}

nb_tensor *nb_reshape(const nb_tensor *t, nb_shape shape)
{
    if (!nbi_check_tensor(t, "nb_reshape", "t")) return NULL;
    if (!infer_size(&shape, t->numel, "nb_reshape", -1)) return NULL;
    return reshape_inferred(t, shape, "ReshapeAliasBackward0");
}

/* ------------------------------------------------------------------------ */
/* transpose, permute, t                                                     */
/* ------------------------------------------------------------------------ */

static nb_tensor *transpose_named(const nb_tensor *t, int dim0, int dim1, const char *name)
{
    int d0 = nbi_wrap_dim(dim0, t->ndim, "nb_transpose");
    if (d0 < 0) return NULL;
    int d1 = nbi_wrap_dim(dim1, t->ndim, "nb_transpose");
    if (d1 < 0) return NULL;
    if (t->ndim == 0) return make_view(t, 0, t->shape, t->stride, t->offset, name);
    int64_t shape[NB_MAX_DIMS], stride[NB_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) {
        shape[i]  = t->shape[i];
        stride[i] = t->stride[i];
    }
    shape[d0]  = t->shape[d1];
    stride[d0] = t->stride[d1];
    shape[d1]  = t->shape[d0];
    stride[d1] = t->stride[d0];
    int64_t args[2] = { d0, d1 };
    return nbi_record_view(nbi_make_view(t, t->ndim, shape, stride, t->offset), t, NBI_VIEW_TRANSPOSE, args, 2, name);
}

nb_tensor *nb_transpose(const nb_tensor *t, int dim0, int dim1)
{
    if (!nbi_check_tensor(t, "nb_transpose", "t")) return NULL;
    return transpose_named(t, dim0, dim1, "TransposeBackward0");
}

nb_tensor *nb_permute(const nb_tensor *t, nb_dims order)
{
    if (!nbi_check_tensor(t, "nb_permute", "t")) return NULL;
    if (order.n != t->ndim)
        return nbi_fail(NB_ERR_SHAPE, "nb_permute: the order lists %d dims but the tensor has %d", order.n, t->ndim);
    int64_t shape[NB_MAX_DIMS], stride[NB_MAX_DIMS], args[NB_MAX_DIMS];
    bool    seen[NB_MAX_DIMS] = {false};
    for (int i = 0; i < order.n; i++) {
        int d = nbi_wrap_dim(order.dims[i], t->ndim, "nb_permute");
        if (d < 0) return NULL;
        if (seen[d]) return nbi_fail(NB_ERR_ARG, "nb_permute: dim %d appears twice in the order", d);
        seen[d]   = true;
        shape[i]  = t->shape[d];
        stride[i] = t->stride[d];
        args[i]   = d;
    }
    return make_view_of_kind(t, t->ndim, shape, stride, t->offset, NBI_VIEW_PERMUTE, args, t->ndim);
}

nb_tensor *nb_t(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_t", "t")) return NULL;
    if (t->ndim > 2)
        return nbi_fail(NB_ERR_SHAPE, "nb_t: expects a tensor with <= 2 dims, but it has %d (use nb_transpose)",
                        t->ndim);
    if (t->ndim < 2) return make_view(t, t->ndim, t->shape, t->stride, t->offset, "TBackward0");
    return transpose_named(t, 0, 1, "TBackward0");
}

/* ------------------------------------------------------------------------ */
/* expand, broadcast_to                                                      */
/* ------------------------------------------------------------------------ */

/* torch's inferExpandGeometry: dims are aligned from the right; a size-1
 * dim (or a new leading dim) grows with stride 0; -1 keeps the size. */
static nb_tensor *expand(const nb_tensor *t, nb_shape target, const char *op)
{
    char buf_target[NBI_SHAPE_STR_SIZE], buf_t[NBI_SHAPE_STR_SIZE];
    if (target.ndim < 0 || target.ndim > NB_MAX_DIMS)
        return nbi_fail(NB_ERR_SHAPE, "%s: a shape has 0 to %d dims, not %d", op, NB_MAX_DIMS, target.ndim);
    if (target.ndim < t->ndim)
        return nbi_fail(NB_ERR_SHAPE,
                        "%s: the number of sizes provided (%d) must be greater or equal to the number of "
                        "dimensions in the tensor (%d): target %s, tensor %s",
                        op, target.ndim, t->ndim,
                        nbi_shape_str(target.ndim, target.dims, buf_target, sizeof buf_target),
                        nbi_shape_str(t->ndim, t->shape, buf_t, sizeof buf_t));
    int     ndim = target.ndim;
    int64_t shape[NB_MAX_DIMS], stride[NB_MAX_DIMS];
    int64_t numel = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        int     src  = i - (ndim - t->ndim); /* the matching dim of t, or < 0 */
        int64_t size = src >= 0 ? t->shape[src] : 1;
        /* A new dim is laid over the next one, as torch does (0 innermost). */
        int64_t step = src >= 0 ? t->stride[src] : (i + 1 < ndim ? shape[i + 1] * stride[i + 1] : 0);
        int64_t want = target.dims[i];
        if (want == -1) {
            if (src < 0)
                return nbi_fail(NB_ERR_SHAPE,
                                "%s: the expanded size -1 is not allowed in a leading, non-existing dimension "
                                "(dim %d of target %s)",
                                op, i, nbi_shape_str(ndim, target.dims, buf_target, sizeof buf_target));
            want = size;
        }
        if (want < 0)
            return nbi_fail(NB_ERR_SHAPE, "%s: the expanded size %lld at dim %d is negative (target %s)", op,
                            (long long)want, i, nbi_shape_str(ndim, target.dims, buf_target, sizeof buf_target));
        if (want != size) {
            if (size != 1)
                return nbi_fail(NB_ERR_SHAPE,
                                "%s: the expanded size of the tensor (%lld) must match the existing size (%lld) "
                                "at non-singleton dimension %d. Target sizes: %s. Tensor sizes: %s",
                                op, (long long)want, (long long)size, i,
                                nbi_shape_str(ndim, target.dims, buf_target, sizeof buf_target),
                                nbi_shape_str(t->ndim, t->shape, buf_t, sizeof buf_t));
            size = want;
            step = 0;
        }
        if (size > 0 && numel > (INT64_MAX / 16) / size)
            return nbi_fail(NB_ERR_SHAPE, "%s: target %s has too many elements", op,
                            nbi_shape_str(ndim, target.dims, buf_target, sizeof buf_target));
        numel *= size;
        shape[i]  = size;
        stride[i] = step;
    }
    return make_view_of_kind(t, ndim, shape, stride, t->offset, NBI_VIEW_EXPAND, NULL, 0);
}

nb_tensor *nb_expand(const nb_tensor *t, nb_shape shape)
{
    if (!nbi_check_tensor(t, "nb_expand", "t")) return NULL;
    return expand(t, shape, "nb_expand");
}

nb_tensor *nb_broadcast_to(const nb_tensor *t, nb_shape shape)
{
    if (!nbi_check_tensor(t, "nb_broadcast_to", "t")) return NULL;
    return expand(t, shape, "nb_broadcast_to");
}

/* ------------------------------------------------------------------------ */
/* squeeze, unsqueeze                                                        */
/* ------------------------------------------------------------------------ */

nb_tensor *nb_squeeze(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_squeeze", "t")) return NULL;
    int64_t shape[NB_MAX_DIMS], stride[NB_MAX_DIMS];
    int     ndim = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] == 1) continue;
        shape[ndim]  = t->shape[i];
        stride[ndim] = t->stride[i];
        ndim++;
    }
    return make_view(t, ndim, shape, stride, t->offset, "SqueezeBackward0");
}

nb_tensor *nb_squeeze_dim(const nb_tensor *t, int dim)
{
    if (!nbi_check_tensor(t, "nb_squeeze_dim", "t")) return NULL;
    int d = nbi_wrap_dim(dim, t->ndim, "nb_squeeze_dim");
    if (d < 0) return NULL;
    if (t->ndim == 0 || t->shape[d] != 1) return make_view(t, t->ndim, t->shape, t->stride, t->offset, "SqueezeBackward1");
    int64_t shape[NB_MAX_DIMS], stride[NB_MAX_DIMS];
    int     ndim = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (i == d) continue;
        shape[ndim]  = t->shape[i];
        stride[ndim] = t->stride[i];
        ndim++;
    }
    return make_view(t, ndim, shape, stride, t->offset, "SqueezeBackward1");
}

nb_tensor *nb_unsqueeze(const nb_tensor *t, int dim)
{
    if (!nbi_check_tensor(t, "nb_unsqueeze", "t")) return NULL;
    int range = t->ndim + 1; /* the new dim may go anywhere, the end included */
    if (dim < -range || dim >= range)
        return nbi_fail(NB_ERR_INDEX, "nb_unsqueeze: dim %d is out of range for a %d-d tensor (expected %d to %d)", dim,
                        t->ndim, -range, range - 1);
    if (t->ndim == NB_MAX_DIMS)
        return nbi_fail(NB_ERR_SHAPE, "nb_unsqueeze: the tensor already has the maximum of %d dims", NB_MAX_DIMS);
    int     d = dim < 0 ? dim + range : dim;
    int64_t shape[NB_MAX_DIMS], stride[NB_MAX_DIMS];
    for (int i = 0, j = 0; i < range; i++) {
        if (i == d) {
            shape[i] = 1;
            /* The stride torch gives: as if laid over the dim it precedes. */
            stride[i] = d < t->ndim ? t->shape[d] * t->stride[d] : 1;
        } else {
            shape[i]  = t->shape[j];
            stride[i] = t->stride[j];
            j++;
        }
    }
    return make_view(t, range, shape, stride, t->offset, "UnsqueezeBackward0");
}

/* ------------------------------------------------------------------------ */
/* flatten, unflatten                                                        */
/* ------------------------------------------------------------------------ */

nb_tensor *nb_flatten(const nb_tensor *t, int start_dim, int end_dim)
{
    if (!nbi_check_tensor(t, "nb_flatten", "t")) return NULL;
    int start = nbi_wrap_dim(start_dim, t->ndim, "nb_flatten");
    if (start < 0) return NULL;
    int end = nbi_wrap_dim(end_dim, t->ndim, "nb_flatten");
    if (end < 0) return NULL;
    if (start > end) return nbi_fail(NB_ERR_ARG, "nb_flatten: start_dim %d cannot come after end_dim %d", start, end);
    if (t->ndim == 0) { /* flattening a scalar gives one dim, as torch */
        const int64_t one = 1;
        return make_view(t, 1, &one, &one, t->offset, "ReshapeAliasBackward0");
    }
    if (start == end) return nbi_alias_recorded(t, "nb_flatten"); /* PyTorch returns t itself */
    nb_shape shape = {.ndim = 0};
    for (int i = 0; i < t->ndim; i++) {
        if (i > start && i <= end)
            shape.dims[shape.ndim - 1] *= t->shape[i];
        else
            shape.dims[shape.ndim++] = t->shape[i];
    }
    return reshape_inferred(t, shape, "ReshapeAliasBackward0");
}

nb_tensor *nb_unflatten(const nb_tensor *t, int dim, nb_shape sizes)
{
    if (!nbi_check_tensor(t, "nb_unflatten", "t")) return NULL;
    if (t->ndim == 0) return nbi_fail(NB_ERR_SHAPE, "nb_unflatten: cannot unflatten a 0-d tensor");
    int d = nbi_wrap_dim(dim, t->ndim, "nb_unflatten");
    if (d < 0) return NULL;
    if (sizes.ndim <= 0) return nbi_fail(NB_ERR_SHAPE, "nb_unflatten: sizes must be non-empty");
    if (sizes.ndim > NB_MAX_DIMS || t->ndim - 1 + sizes.ndim > NB_MAX_DIMS)
        return nbi_fail(NB_ERR_SHAPE, "nb_unflatten: the result would have %lld dims; at most %d are allowed",
                        (long long)t->ndim - 1 + sizes.ndim, NB_MAX_DIMS); /* NOTE: in int it could overflow */
    if (!infer_size(&sizes, t->shape[d], "nb_unflatten", d)) return NULL;
    nb_shape shape = {.ndim = 0};
    for (int i = 0; i < t->ndim; i++) {
        if (i == d)
            for (int k = 0; k < sizes.ndim; k++)
                shape.dims[shape.ndim++] = sizes.dims[k];
        else
            shape.dims[shape.ndim++] = t->shape[i];
    }
    /* Splitting one dim always has a view, so this never copies. */
    return reshape_inferred(t, shape, "ViewBackward0");
}

/* ------------------------------------------------------------------------ */
/* narrow, slice, select, diagonal                                           */
/* ------------------------------------------------------------------------ */

nb_tensor *nb_narrow(const nb_tensor *t, int dim, int64_t start, int64_t length)
{
    if (!nbi_check_tensor(t, "nb_narrow", "t")) return NULL;
    if (t->ndim == 0) return nbi_fail(NB_ERR_SHAPE, "nb_narrow: cannot be applied to a 0-d tensor");
    int d = nbi_wrap_dim(dim, t->ndim, "nb_narrow");
    if (d < 0) return NULL;
    int64_t size = t->shape[d];
    if (start < -size || start > size)
        return nbi_fail(NB_ERR_INDEX,
                        "nb_narrow: start %lld is out of range for dim %d of size %lld (expected %lld to %lld)",
                        (long long)start, d, (long long)size, (long long)-size, (long long)size);
    if (start < 0) start += size;
    if (length < 0) return nbi_fail(NB_ERR_ARG, "nb_narrow: length %lld is negative", (long long)length);
    if (length > size - start)
        return nbi_fail(NB_ERR_INDEX, "nb_narrow: start (%lld) + length (%lld) exceeds dimension size (%lld)",
                        (long long)start, (long long)length, (long long)size);
    int64_t shape[NB_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++)
        shape[i] = t->shape[i];
    shape[d] = length;
    /* NOTE: an empty result keeps its offset in range (start <= size), so a
     * later view of it never points past the storage. */
    int64_t args[3] = { d, start, length };
    return make_view_of_kind(t, t->ndim, shape, t->stride, t->offset + start * t->stride[d], NBI_VIEW_NARROW, args, 3);
}

nb_tensor *nb_slice(const nb_tensor *t, int dim, int64_t start, int64_t stop, int64_t step)
{
    if (!nbi_check_tensor(t, "nb_slice", "t")) return NULL;
    if (t->ndim == 0) return nbi_fail(NB_ERR_SHAPE, "nb_slice: cannot be applied to a 0-d tensor");
    int d = nbi_wrap_dim(dim, t->ndim, "nb_slice");
    if (d < 0) return NULL;
    if (step <= 0) return nbi_fail(NB_ERR_ARG, "nb_slice: step must be positive, got %lld", (long long)step);
    int64_t size = t->shape[d];
    /* Python's rules: negative bounds count from the end, then clamp. */
    if (start < 0) start += size;
    if (stop < 0) stop += size;
    start          = start < 0 ? 0 : start > size ? size : start;
    stop           = stop < start ? start : stop > size ? size : stop;
    int64_t span   = stop - start;
    int64_t length = span == 0 ? 0 : 1 + (span - 1) / step;
    int64_t shape[NB_MAX_DIMS], stride[NB_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) {
        shape[i]  = t->shape[i];
        stride[i] = t->stride[i];
    }
    shape[d] = length;
    /* The stride of a dim that holds at most one element is never used;
     * keep the old one if stride * step would overflow. */
    if (t->stride[d] == 0 || step <= INT64_MAX / (t->stride[d] < 0 ? -t->stride[d] : t->stride[d]))
        stride[d] = t->stride[d] * step;
    int64_t args[4] = { d, start, stop, step };
    return make_view_of_kind(t, t->ndim, shape, stride, t->offset + start * t->stride[d], NBI_VIEW_SLICE, args, 4);
}

nb_tensor *nb_select(const nb_tensor *t, int dim, int64_t index)
{
    if (!nbi_check_tensor(t, "nb_select", "t")) return NULL;
    if (t->ndim == 0) return nbi_fail(NB_ERR_SHAPE, "nb_select: cannot be applied to a 0-d tensor");
    int d = nbi_wrap_dim(dim, t->ndim, "nb_select");
    if (d < 0) return NULL;
    int64_t size = t->shape[d];
    if (index < -size || index >= size) {
        char buf[NBI_SHAPE_STR_SIZE];
        return nbi_fail(NB_ERR_INDEX, "nb_select: index %lld is out of range for tensor of size %s at dimension %d",
                        (long long)index, nbi_shape_str(t->ndim, t->shape, buf, sizeof buf), d);
    }
    if (index < 0) index += size;
    int64_t shape[NB_MAX_DIMS], stride[NB_MAX_DIMS];
    int     ndim = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (i == d) continue;
        shape[ndim]  = t->shape[i];
        stride[ndim] = t->stride[i];
        ndim++;
    }
    int64_t args[2] = { d, index };
    return make_view_of_kind(t, ndim, shape, stride, t->offset + index * t->stride[d], NBI_VIEW_SELECT, args, 2);
}

nb_tensor *nb_diagonal(const nb_tensor *t, int64_t offset, int dim1, int dim2)
{
    if (!nbi_check_tensor(t, "nb_diagonal", "t")) return NULL;
    if (t->ndim < 2) return nbi_fail(NB_ERR_SHAPE, "nb_diagonal: needs a tensor with at least 2 dims, got %d", t->ndim);
    int d1 = nbi_wrap_dim(dim1, t->ndim, "nb_diagonal");
    if (d1 < 0) return NULL;
    int d2 = nbi_wrap_dim(dim2, t->ndim, "nb_diagonal");
    if (d2 < 0) return NULL;
    if (d1 == d2) return nbi_fail(NB_ERR_ARG, "nb_diagonal: dim1 and dim2 are the same dim (%d)", d1);
    /* Element k of the diagonal is t[.., k, .., k + offset, ..] (offset >= 0)
     * or t[.., k - offset, .., k, ..] (offset < 0). */
    int64_t size1 = t->shape[d1], size2 = t->shape[d2];
    int64_t length;
    if (offset >= 0)
        length = size2 - offset < size1 ? size2 - offset : size1;
    else
        length = size1 + offset < size2 ? size1 + offset : size2;
    if (length < 0) length = 0;
    int64_t start = t->offset;
    if (length > 0) start += offset >= 0 ? offset * t->stride[d2] : -offset * t->stride[d1];
    int64_t shape[NB_MAX_DIMS], stride[NB_MAX_DIMS];
    int     ndim = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (i == d1 || i == d2) continue;
        shape[ndim]  = t->shape[i];
        stride[ndim] = t->stride[i];
        ndim++;
    }
    shape[ndim]  = length;
    stride[ndim] = t->stride[d1] + t->stride[d2];
    int64_t args[3] = { offset, d1, d2 };
    return make_view_of_kind(t, ndim + 1, shape, stride, start, NBI_VIEW_DIAGONAL, args, 3);
}
