/*
 * pool.c — the pooling primitives: max_pool2d (keeping the argmax
 * positions), max_unpool (its gradient: g added back at those positions,
 * whose own gradient is a gather), and the mean over separable windows
 * behind avg_pool2d and adaptive_avg_pool2d, with its adjoint as gradient.
 * Each runs an entry of its device's backend (core/pool_args.h); gradients
 * in autograd/pool_derivatives.c.
 *
 * Why in ops/ and not nn/: these are primitives with kernels, which the
 * gradient formulas call back; nn/pool.c keeps the public front doors, their
 * checks and output sizes. In nn/ they made autograd call up into nn.
 *
 * Inputs are (..., H, W): every leading index is one H x W plane. The
 * arguments were checked by the front doors (nn/pool.c); the gradient
 * formulas call these too, so each checks devices and the kernel's
 * presence again (a few compares).
 */
#include "autograd/nn_derivatives.h"
#include "core/backend.h"

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                            */
/* ------------------------------------------------------------------------ */

/* float16 / bfloat16 pool in float32: widened copies in, a float32 result
 * rounded back once (exact for max pooling). */
static nb_dtype kernel_dtype(nb_dtype dtype) { return nbi_is_half(dtype) ? NB_FLOAT32 : dtype; }

/* The backend has the pooling op for t's dtype (a half: in float32, and the
 * casts). */
static bool pool_supported(const nb_tensor *t, nbi_pool_op pool, const char *op)
{
    if (nbi_is_half(t->dtype) && !nbi_check_supported(nbi_backend_of(t), NBI_FAMILY_CAST, (int)t->dtype, NB_FLOAT32, op))
        return false;
    return nbi_check_supported(nbi_backend_of(t), NBI_FAMILY_POOL, pool, kernel_dtype(t->dtype), op);
}

/* A contiguous copy (or handle) of t made without recording, in the
 * kernel's dtype. */
static nb_tensor *contiguous_data(const nb_tensor *t)
{
    if (kernel_dtype(t->dtype) != t->dtype) return nbi_copy_as(t, kernel_dtype(t->dtype));
    nbi_grad_mode_push(false);
    nb_tensor *c = nb_contiguous(t);
    nbi_grad_mode_pop();
    return c;
}

/* The kernel's result out as dtype (out itself unless dtype is a half). */
static nb_tensor *narrowed(nb_tensor *out, nb_dtype dtype)
{
    if (out == NULL || out->dtype == dtype) return out;
    nb_tensor *half = nbi_copy_as(out, dtype);
    nb_free(out);
    return half;
}

/* A new tensor of t's leading dims followed by (h, w). */
static nb_tensor *planes_like(const nb_tensor *t, int64_t h, int64_t w, nb_dtype dtype)
{
    int64_t shape[NB_MAX_DIMS];
    for (int d = 0; d < t->ndim - 2; d++)
        shape[d] = t->shape[d];
    shape[t->ndim - 2] = h;
    shape[t->ndim - 1] = w;
    return nbi_empty(t->ndim, shape, dtype, t->storage->device);
}

static int64_t plane_count(const nb_tensor *t)
{
    int64_t planes = 1;
    for (int d = 0; d < t->ndim - 2; d++)
        planes *= t->shape[d];
    return planes;
}

/* ------------------------------------------------------------------------ */
/* Max pooling                                                               */
/* ------------------------------------------------------------------------ */

nb_tensor *nbi_max_pool2d_op(const nb_tensor *x, const nb_pool_opts *opts, const int64_t out_size[2],
                             nb_tensor **indices)
{
    const char *op = "nb_max_pool2d";
    if (!nbi_check_device1(op, x, "x") ||
        !pool_supported(x, NBI_POOL_MAX, op))
        return NULL;

    bool       want_indices = indices != NULL || (nbi_should_record(1, &x));
    nb_tensor *out          = planes_like(x, out_size[0], out_size[1], kernel_dtype(x->dtype));
    nb_tensor *positions    = want_indices ? planes_like(x, out_size[0], out_size[1], NB_INT64) : NULL;
    nb_tensor *data         = contiguous_data(x);
    if (out == NULL || data == NULL || (want_indices && positions == NULL)) {
        nb_free(out), nb_free(positions), nb_free(data);
        return NULL;
    }
    nbi_max_pool_shape s = {
        .device     = x->storage->device.index,
        .planes     = plane_count(x),
        .height     = x->shape[x->ndim - 2],
        .width      = x->shape[x->ndim - 1],
        .out_h      = out_size[0],
        .out_w      = out_size[1],
        .kernel_h   = opts->kernel[0],
        .kernel_w   = opts->kernel[1],
        .stride_h   = opts->stride[0],
        .stride_w   = opts->stride[1],
        .pad_h      = opts->padding[0],
        .pad_w      = opts->padding[1],
        .dilation_h = opts->dilation[0],
        .dilation_w = opts->dilation[1],
    };
    nb_status status = nbi_backend_of(x)->max_pool2d(kernel_dtype(x->dtype), &s, nbi_ptr(data), nbi_ptr(out),
                                                     positions ? (int64_t *)nbi_ptr(positions) : NULL);
    nb_free(data);
    if (status != NB_OK) {
        nb_free(out), nb_free(positions);
        return nbi_entry_failed(op);
    }
    out = narrowed(out, x->dtype);
    if (out == NULL) {
        nb_free(positions);
        return NULL;
    }
    out = nbi_record_max_pool2d(out, x, positions);
    if (out != NULL && indices != NULL)
        *indices = positions;
    else
        nb_free(positions);
    return out;
}

nb_tensor *nbi_max_unpool_op(const nb_tensor *g, const nb_tensor *indices, int64_t height, int64_t width)
{
    const char              *op         = "MaxPool2DWithIndicesBackward0";
    const nb_tensor         *tensors[2] = {g, indices};
    static const char *const names[2]   = {"grad_output", "indices"};
    if (!nbi_check_device(op, 2, tensors, names) ||
        !pool_supported(g, NBI_POOL_MAX_UNPOOL, op))
        return NULL;
    nb_tensor *out  = planes_like(g, height, width, kernel_dtype(g->dtype));
    nb_tensor *data = contiguous_data(g), *where = contiguous_data(indices);
    if (out == NULL || data == NULL || where == NULL) {
        nb_free(out), nb_free(data), nb_free(where);
        return NULL;
    }
    nbi_max_pool_shape s = {
        .device = g->storage->device.index,
        .planes = plane_count(g),
        .height = height,
        .width  = width,
        .out_h  = g->shape[g->ndim - 2],
        .out_w  = g->shape[g->ndim - 1],
    };
    nbi_backend_of(g)->max_unpool(kernel_dtype(g->dtype), &s, nbi_ptr(data), (const int64_t *)nbi_ptr(where),
                                  nbi_ptr(out));
    nb_free(data), nb_free(where);
    out = narrowed(out, g->dtype);
    return out ? nbi_record_max_unpool(out, g, indices) : NULL;
}

/* ------------------------------------------------------------------------ */
/* Window means: avg_pool2d and adaptive_avg_pool2d                          */
/* ------------------------------------------------------------------------ */

/* Run the mean (adjoint false: x (..., H, W) -> (..., out_h, out_w)) or
 * its adjoint (the other way) on t. */
static nb_tensor *window_op(const nb_tensor *t, const nbi_window_spec *spec, bool adjoint)
{
    const char *op = "nb_avg_pool2d";
    if (!nbi_check_device1(op, t, adjoint ? "grad_output" : "x") ||
        !pool_supported(t, NBI_POOL_MEAN, op))
        return NULL;
    int64_t    rows = adjoint ? spec->height : spec->out_h, cols = adjoint ? spec->width : spec->out_w;
    nb_tensor *out  = planes_like(t, rows, cols, kernel_dtype(t->dtype));
    nb_tensor *data = contiguous_data(t);
    if (out == NULL || data == NULL) {
        nb_free(out), nb_free(data);
        return NULL;
    }
    nbi_mean_pool_shape shape   = {.device = t->storage->device.index, .planes = plane_count(t), .spec = *spec};
    const nbi_backend  *backend = nbi_backend_of(t);
    nb_dtype            kd      = kernel_dtype(t->dtype);
    nb_status           status  = adjoint ? backend->window_mean_adjoint(kd, &shape, nbi_ptr(data), nbi_ptr(out))
                                          : backend->window_mean(kd, &shape, nbi_ptr(data), nbi_ptr(out));
    nb_free(data);
    if (status != NB_OK) {
        nb_free(out);
        return nbi_entry_failed(op);
    }
    out = narrowed(out, t->dtype);
    return out ? nbi_record_window_mean(out, t, spec, adjoint) : NULL;
}

nb_tensor *nbi_window_mean_op(const nb_tensor *x, const nbi_window_spec *spec) { return window_op(x, spec, false); }

nb_tensor *nbi_window_mean_adjoint_op(const nb_tensor *g, const nbi_window_spec *spec)
{
    return window_op(g, spec, true);
}
