/*
 * pool.c — the pooling primitives: max_pool2d (keeping the argmax
 * positions), max_unpool (its gradient: g added back at those positions,
 * whose own gradient is a gather), and the mean over separable windows
 * behind avg_pool2d and adaptive_avg_pool2d, with its adjoint as gradient.
 * Kernels in src/cpu/pool_kernels.c, gradients in
 * autograd/pool_derivatives.c.
 *
 * Why in ops/ and not nn/: these are primitives with kernels, which the
 * gradient formulas call back; nn/pool.c keeps the public front doors, their
 * checks and output sizes. In nn/ they made autograd call up into nn.
 *
 * Inputs are (..., H, W): every leading index is one H x W plane. The
 * arguments were checked by the front doors (nn/pool.c).
 */
#include "autograd/nn_derivatives.h"
#include "cpu/pool_kernels.h"

#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                            */
/* ------------------------------------------------------------------------ */

/* A contiguous copy (or handle) of t made without recording. */
static nb_tensor *contiguous_data(const nb_tensor *t)
{
    nbi_grad_mode_push(false);
    nb_tensor *c = nb_contiguous(t);
    nbi_grad_mode_pop();
    return c;
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

    bool       want_indices = indices != NULL || (nbi_should_record(1, &x));
    nb_tensor *out          = planes_like(x, out_size[0], out_size[1], x->dtype);
    nb_tensor *positions    = want_indices ? planes_like(x, out_size[0], out_size[1], NB_INT64) : NULL;
    nb_tensor *data         = contiguous_data(x);
    if (out == NULL || data == NULL || (want_indices && positions == NULL)) {
        nb_free(out), nb_free(positions), nb_free(data);
        return NULL;
    }
    nbi_max_pool_shape s = {
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
    nb_status status =
        nbi_max_pool2d(x->dtype, &s, nbi_ptr(data), nbi_ptr(out), positions ? (int64_t *)nbi_ptr(positions) : NULL);
    nb_free(data);
    if (status != NB_OK) {
        nb_free(out), nb_free(positions);
        return nbi_fail(status, "%s: out of memory", op);
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
    nb_tensor *out  = planes_like(g, height, width, g->dtype);
    nb_tensor *data = contiguous_data(g), *where = contiguous_data(indices);
    if (out == NULL || data == NULL || where == NULL) {
        nb_free(out), nb_free(data), nb_free(where);
        return NULL;
    }
    int64_t count = g->shape[g->ndim - 2] * g->shape[g->ndim - 1];
    nbi_max_unpool(g->dtype, plane_count(g), count, height * width, nbi_ptr(data), (const int64_t *)nbi_ptr(where),
                   nbi_ptr(out));
    nb_free(data), nb_free(where);
    return nbi_record_max_unpool(out, g, indices);
}

/* ------------------------------------------------------------------------ */
/* Window means: avg_pool2d and adaptive_avg_pool2d                          */
/* ------------------------------------------------------------------------ */

/* start, end and divisor of each of out windows along one dim. */
static void window_table(const nbi_window_spec *spec, int d, int64_t *start, int64_t *end, int64_t *div)
{
    int64_t size = d == 0 ? spec->height : spec->width, out = d == 0 ? spec->out_h : spec->out_w;
    for (int64_t o = 0; o < out; o++) {
        if (spec->adaptive) { /* torch's start_index / end_index, in exact integers */
            start[o] = o * size / out;
            end[o]   = ((o + 1) * size + out - 1) / out;
            div[o]   = end[o] - start[o];
            continue;
        }
        int64_t first = o * spec->stride[d] - spec->padding[d];
        int64_t last  = first + spec->kernel[d];
        if (last > size + spec->padding[d]) last = size + spec->padding[d];
        int64_t pool = last - first; /* counts the padding */
        if (first < 0) first = 0;
        if (last > size) last = size;
        if (last < first) last = first;
        start[o] = first;
        end[o]   = last;
        div[o]   = spec->exclude_pad ? last - first : pool;
    }
}

/* Run the mean (adjoint false: x (..., H, W) -> (..., out_h, out_w)) or
 * its adjoint (the other way) on t. */
static nb_tensor *window_op(const nb_tensor *t, const nbi_window_spec *spec, bool adjoint)
{
    int64_t    rows = adjoint ? spec->height : spec->out_h, cols = adjoint ? spec->width : spec->out_w;
    nb_tensor *out   = planes_like(t, rows, cols, t->dtype);
    nb_tensor *data  = contiguous_data(t);
    int64_t   *table = malloc((size_t)(3 * (spec->out_h + spec->out_w) + 1) * sizeof(int64_t));
    if (out == NULL || data == NULL || table == NULL) {
        if (out && data) nbi_fail(NB_ERR_OOM, "nb_avg_pool2d: out of memory for the window tables");
        nb_free(out), nb_free(data), free(table);
        return NULL;
    }
    int64_t *r = table, *c = table + 3 * spec->out_h;
    window_table(spec, 0, r, r + spec->out_h, r + 2 * spec->out_h);
    window_table(spec, 1, c, c + spec->out_w, c + 2 * spec->out_w);
    nbi_window_tables tables = {
        .planes    = plane_count(t),
        .height    = spec->height,
        .width     = spec->width,
        .out_h     = spec->out_h,
        .out_w     = spec->out_w,
        .row_start = r,
        .row_end   = r + spec->out_h,
        .row_div   = r + 2 * spec->out_h,
        .col_start = c,
        .col_end   = c + spec->out_w,
        .col_div   = c + 2 * spec->out_w,
    };
    if (adjoint)
        nbi_window_mean_adjoint(t->dtype, &tables, nbi_ptr(data), nbi_ptr(out));
    else
        nbi_window_mean(t->dtype, &tables, nbi_ptr(data), nbi_ptr(out));
    free(table);
    nb_free(data);
    return nbi_record_window_mean(out, t, spec, adjoint);
}

nb_tensor *nbi_window_mean_op(const nb_tensor *x, const nbi_window_spec *spec) { return window_op(x, spec, false); }

nb_tensor *nbi_window_mean_adjoint_op(const nb_tensor *g, const nbi_window_spec *spec)
{
    return window_op(g, spec, true);
}
