/*
 * copy.c — copies between layouts, dtypes and devices: nb_contiguous,
 * nb_clone, nb_copy_, nb_to_dtype, nb_to, and nb_copy_to_buffer (out of a
 * tensor into the caller's memory).
 *
 * All but nb_to are one loop: nbi_copy_into runs the device's cast kernel
 * of the (source, destination) dtype pair over the N-d iterator, which
 * handles any strides and broadcasting. nb_to moves contiguous bytes with
 * the copy of the backend that is not the CPU's.
 */
#include "autograd/autograd.h"
#include "core/backend.h"

void nbi_copy_into(nb_tensor *dst, const nb_tensor *src)
{
    if (dst->numel == 0) return;
    const nb_tensor *operands[2] = { dst, src };
    nbi_iter         it;
    nbi_iter_init(&it, 2, operands);
    nbi_backend_of(dst)->cast(&it, src->dtype, dst->dtype);
}

/* A contiguous copy of t in dtype, owned by the current scope. */
nb_tensor *nbi_copy_as(const nb_tensor *t, nb_dtype dtype)
{
    nb_tensor *out = nbi_empty(t->ndim, t->shape, dtype, t->storage->device);
    if (out == NULL) return NULL;
    nbi_copy_into(out, t);
    return out;
}
#define copy_as nbi_copy_as

void nbi_cast_buffer(void *dst, nb_dtype to, const void *src, nb_dtype from, int64_t count, nb_device device)
{
    if (count == 0) return;
    nbi_iter it = {.ndim = 1, .noperands = 2, .device = device.index, .numel = count};
    it.shape[0]      = count;
    it.strides[0][0] = (int64_t)nb_dtype_size(to);
    it.strides[0][1] = (int64_t)nb_dtype_size(from);
    it.base[0]       = dst;
    it.base[1]       = (void *)src;
    nbi_backend_for(device.type)->cast(&it, from, to);
}

nb_tensor *nb_contiguous(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_contiguous", "t") || !nbi_check_device1("nb_contiguous", t, "t")) return NULL;
    if (nb_is_contiguous(t)) return nbi_alias_recorded(t, "nb_contiguous");
    return nbi_record_copy(copy_as(t, t->dtype), t, "CloneBackward0");
}

nb_tensor *nb_clone(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_clone", "t") || !nbi_check_device1("nb_clone", t, "t")) return NULL;
    return nbi_record_copy(copy_as(t, t->dtype), t, "CloneBackward0");
}

nb_tensor *nb_to_dtype(const nb_tensor *t, nb_dtype dtype)
{
    if (!nbi_check_tensor(t, "nb_to_dtype", "t") || !nbi_check_device1("nb_to_dtype", t, "t")) return NULL;
    if ((unsigned)dtype >= NB_NUM_DTYPES)
        return nbi_fail(NB_ERR_DTYPE, "nb_to_dtype: %d is not a dtype", (int)dtype);
    if (dtype == t->dtype) return nbi_alias_recorded(t, "nb_to_dtype");
    return nbi_record_copy(copy_as(t, dtype), t, "ToCopyBackward0");
}

nb_tensor *nb_to(const nb_tensor *t, nb_device device)
{
    if (!nbi_check_tensor(t, "nb_to", "t") || !nbi_check_target_device(device, "nb_to")) return NULL;
    nb_device from = t->storage->device;
    if (from.type == device.type && (from.type == NB_CPU || from.index == device.index))
        return nbi_alias_recorded(t, "nb_to");
    if (!nbi_check_device1("nb_to", t, "t")) return NULL;
    /* Bytes move between devices only as one contiguous block. */
    nbi_grad_mode_push(false);
    nb_tensor *src = nb_contiguous(t);
    nbi_grad_mode_pop();
    nb_tensor *out = src ? nbi_empty(t->ndim, t->shape, t->dtype, device) : NULL;
    if (out != NULL) {
        const nbi_backend *mover = nbi_backend_for(device.type != NB_CPU ? device.type : from.type);
        if (mover->copy(nbi_ptr(out), device, nbi_ptr(src), from, (size_t)t->numel * nbi_itemsize(t)) != NB_OK) {
            nb_free(out);
            out = NULL;
        }
    }
    nb_free(src);
    return nbi_record_copy(out, t, "ToCopyBackward0");
}

/* NOTE: an accessor in nabla.h, but it lives here, not in core/tensor.c
 * beside nb_data: a strided tensor is read out through nb_contiguous, an op,
 * and core calls nothing above it. */
nb_tensor *nbi_host_contiguous(const nb_tensor *t)
{
    /* From a device, the copy to the host waits for the kernels that write t. */
    nbi_grad_mode_push(false);
    nb_tensor *c = t->storage->device.type == NB_CPU ? nb_contiguous(t) : nb_to(t, NB_DEVICE_CPU);
    nbi_grad_mode_pop();
    return c;
}

nb_status nb_copy_to_buffer(const nb_tensor *t, void *buf, size_t buf_bytes)
{
    if (!nbi_check_tensor(t, "nb_copy_to_buffer", "t")) return NB_ERR_ARG;
    size_t need = (size_t)t->numel * nbi_itemsize(t);
    if (buf == NULL && need > 0)
        return nbi_fail_status(NB_ERR_ARG, "nb_copy_to_buffer: buf is NULL");
    if (buf_bytes < need)
        return nbi_fail_status(NB_ERR_ARG, "nb_copy_to_buffer: the buffer holds %zu bytes but the tensor needs %zu",
                               buf_bytes, need);
    nb_tensor *c = nbi_host_contiguous(t);
    if (c == NULL) return nb_last_status();
    if (need > 0) memcpy(buf, nbi_ptr(c), need);
    nb_free(c);
    return NB_OK;
}

nb_tensor *nb_copy_(nb_tensor *dst, const nb_tensor *src)
{
    if (!nbi_check_tensor(dst, "nb_copy_", "dst") || !nbi_check_tensor(src, "nb_copy_", "src")) return NULL;
    const nb_tensor *both[2] = { dst, src };
    if (!nbi_check_device("nb_copy_", 2, both, (const char *const[]){ "dst", "src" })) return NULL;
    int     ndim;
    int64_t shape[NB_MAX_DIMS];
    if (!nbi_broadcast(dst->ndim, dst->shape, src->ndim, src->shape, &ndim, shape, "nb_copy_")) return NULL;
    if (ndim != dst->ndim || nbi_shape_numel(ndim, shape) != dst->numel) {
        char a[NBI_SHAPE_STR_SIZE], b[NBI_SHAPE_STR_SIZE];
        return nbi_fail(NB_ERR_SHAPE, "nb_copy_: source of shape %s cannot be broadcast to destination shape %s",
                        nbi_shape_str(src->ndim, src->shape, a, sizeof a),
                        nbi_shape_str(dst->ndim, dst->shape, b, sizeof b));
    }
    if (nbi_has_internal_overlap(dst))
        return nbi_fail(NB_ERR_ARG, "nb_copy_: the destination has elements that share memory (an expanded view); "
                                    "clone it first");
    if (!nbi_check_no_partial_overlap(dst, src, "nb_copy_")) return NULL;
    if (nbi_in_place_records(dst, src)) {
        /* dst's new value is src's: its gradient flows to src alone. */
        nb_tensor *old = nbi_begin_in_place(dst, "nb_copy_");
        if (old == NULL) return NULL;
        nbi_grad_mode_push(false);
        nb_tensor *result = nbi_empty(dst->ndim, dst->shape, dst->dtype, dst->storage->device);
        if (result) nbi_copy_into(result, src);
        nbi_grad_mode_pop();
        return nbi_finish_in_place(dst, old, nbi_record_copy_into(result, old, src), "nb_copy_");
    }
    /* A source sharing the destination's memory in a layout too hard to
     * compare would be read after being written: copy it out first. */
    nb_tensor *staged = NULL;
    if (src->storage == dst->storage) {
        staged = nb_clone(src);
        if (staged == NULL) return NULL;
        src = staged;
    }
    nbi_copy_into(dst, src);
    nbi_bump_version(dst);
    nb_free(staged);
    return dst;
}
