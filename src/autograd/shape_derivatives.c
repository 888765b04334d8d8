/*
 * shape_derivatives.c — gradients of the shape ops (flip, roll, tril/triu,
 * trace, repeat, diag, diag_embed) and of index_add / index_copy /
 * index_fill, with PyTorch 1.13's grad_fn names and formulas:
 *
 *   flip      grad = flip(g, dims)            roll   grad = roll(g, -shifts, dims)
 *   tril      grad = tril(g, k)               triu   grad = triu(g, k)
 *   trace     grad = eye(n, m) * g            repeat grad = g summed over each repeat
 *   diag      vector: diagonal(g, k); matrix: zeros with g on the k-th diagonal
 *   diag_embed grad = diagonal(g, offset, dim1, dim2)
 *   index_add  self: g; source: alpha * g.index_select(dim, index)
 *   index_copy self: g.index_fill(dim, index, 0); source: g.index_select(dim, index)
 *   index_fill self: g.index_fill(dim, index, 0)
 *
 * Every formula is made of public ops, so second derivatives come free.
 */
#include "shape_derivatives.h"

/* What a node of this file keeps beside its inputs. */
typedef struct {
    nb_dims  dims;   /* flip, roll: the dims */
    nb_shape shape;  /* roll: shifts; repeat: sizes; trace, diag: the input's shape */
    int64_t  offset; /* tril/triu diagonal, diag offset */
    int64_t  dim1, dim2;
    double   alpha;
} shape_params;

static nb_tensor *record(nb_tensor *out, const char *name, nbi_backward_fn backward, int count,
                         const nb_tensor *const *inputs, uint32_t saves, const shape_params *params)
{
    if (out == NULL || !nb_dtype_is_floating(out->dtype) || !nbi_should_record(count, inputs)) return out;
    nbi_node *node = nbi_record(out, name, backward, count, inputs, saves);
    if (node == NULL) {
        nb_free(out);
        return NULL;
    }
    *NBI_NODE_PARAMS(node, shape_params) = *params;
    return out;
}

static const shape_params *params_of(nbi_node *node) { return NBI_NODE_PARAMS(node, shape_params); }

/* ------------------------------------------------------------------------ */
/* flip, roll                                                                */
/* ------------------------------------------------------------------------ */

static nb_status flip_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    grad_inputs[0] = nb_flip(g, params_of(node)->dims);
    return grad_inputs[0] ? NB_OK : nb_last_status();
}

nb_tensor *nbi_record_flip(nb_tensor *out, const nb_tensor *t, nb_dims dims)
{
    shape_params params = {.dims = dims};
    return record(out, "FlipBackward0", flip_backward, 1, &t, 0, &params);
}

static nb_status roll_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    const shape_params *params = params_of(node);
    nb_shape            back   = params->shape;
    for (int i = 0; i < back.ndim; i++)
        back.dims[i] = -back.dims[i]; /* in (-size, 0]: no overflow */
    grad_inputs[0] = nb_roll(g, back, params->dims);
    return grad_inputs[0] ? NB_OK : nb_last_status();
}

nb_tensor *nbi_record_roll(nb_tensor *out, const nb_tensor *t, nb_shape shifts, nb_dims dims)
{
    shape_params params = {.dims = dims, .shape = shifts};
    return record(out, "RollBackward0", roll_backward, 1, &t, 0, &params);
}

/* ------------------------------------------------------------------------ */
/* tril, triu, trace                                                         */
/* ------------------------------------------------------------------------ */

static nb_status tril_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    grad_inputs[0] = nb_tril(g, params_of(node)->offset);
    return grad_inputs[0] ? NB_OK : nb_last_status();
}

static nb_status triu_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    grad_inputs[0] = nb_triu(g, params_of(node)->offset);
    return grad_inputs[0] ? NB_OK : nb_last_status();
}

nb_tensor *nbi_record_triangle(nb_tensor *out, const nb_tensor *t, int64_t diagonal, bool upper)
{
    shape_params params = {.offset = diagonal};
    return upper ? record(out, "TriuBackward0", triu_backward, 1, &t, 0, &params)
                 : record(out, "TrilBackward0", tril_backward, 1, &t, 0, &params);
}

/* g is 0-d; t was (n, m). */
static nb_status trace_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    const nb_shape *shape = &params_of(node)->shape;
    nb_tensor *eye = nb_eye(shape->dims[0], shape->dims[1], NB_OPTS(.dtype = g->dtype, .device = g->storage->device));
    nb_status  status = nbi_keep_grad(nb_mul(eye, g), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_trace(nb_tensor *out, const nb_tensor *t)
{
    shape_params params = {.shape = nb_shape_of(t)};
    return record(out, "TraceBackward0", trace_backward, 1, &t, 0, &params);
}

/* ------------------------------------------------------------------------ */
/* repeat                                                                    */
/* ------------------------------------------------------------------------ */

/* g with dim d (of size repeats * size) folded back to size by summing the
 * repeats of each element. */
static nb_tensor *sum_repeats(nb_tensor *g, int d, int64_t repeats, int64_t size)
{
    if (g->ndim < NB_MAX_DIMS) { /* split d into (repeats, size), sum the repeats */
        nb_shape split = {.ndim = g->ndim + 1};
        for (int k = 0, j = 0; k < g->ndim; k++) {
            if (k == d) {
                split.dims[j++] = repeats;
                split.dims[j++] = size;
            } else {
                split.dims[j++] = g->shape[k];
            }
        }
        if (repeats == 0) { /* nothing was repeated: what came from t is zero */
            nb_shape zero_shape = nb_shape_of(g);
            zero_shape.dims[d]  = size;
            return nb_zeros(zero_shape, NB_OPTS(.dtype = g->dtype, .device = g->storage->device));
        }
        nb_dims dims = {.n = 1, .dims = {d}};
        return nb_sum_dims(nb_reshape(g, split), dims, false);
    }
    /* Already at the most dims a tensor has: add the pieces one by one. */
    nb_tensor *sum = nb_narrow(g, d, 0, size);
    for (int64_t r = 1; r < repeats && sum != NULL; r++)
        sum = nb_add(sum, nb_narrow(g, d, r * size, size));
    return sum;
}

static nb_status repeat_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    const nb_shape *sizes = &params_of(node)->shape;
    nb_tensor      *t     = nbi_input(node, 0);
    nb_tensor      *grad  = g;
    int             lead  = sizes->ndim - t->ndim; /* dims repeat put in front of t's, of size 1 */
    /* As the forward: all (repeats, size) pairs at once when they fit. */
    nb_shape split  = {.ndim = 0};
    nb_dims  summed = {.n = 0};
    bool     zero   = false;
    for (int d = 0; d < sizes->ndim; d++) {
        int64_t size = d < lead ? 1 : t->shape[d - lead];
        if (sizes->dims[d] != 1 && split.ndim < NB_MAX_DIMS) {
            summed.dims[summed.n++] = split.ndim;
            split.dims[split.ndim]  = sizes->dims[d];
            zero                    = zero || sizes->dims[d] == 0;
        }
        if (sizes->dims[d] != 1) split.ndim++;
        if (split.ndim < NB_MAX_DIMS) split.dims[split.ndim] = size;
        split.ndim++;
    }
    if (zero) /* nothing of t reached the result */
        grad = nb_zeros(nb_shape_of(t), NB_OPTS(.dtype = g->dtype, .device = g->storage->device));
    else if (split.ndim <= NB_MAX_DIMS)
        grad = summed.n > 0 ? nb_sum_dims(nb_reshape(g, split), summed, false) : g;
    else
        for (int d = 0; d < sizes->ndim && grad != NULL; d++)
            if (sizes->dims[d] != 1) grad = sum_repeats(grad, d, sizes->dims[d], d < lead ? 1 : t->shape[d - lead]);
    /* The leading dims repeat added now have size 1. */
    nb_status status = nbi_keep_grad(grad ? nb_reshape(grad, nb_shape_of(t)) : NULL, &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_repeat(nb_tensor *out, const nb_tensor *t, nb_shape sizes)
{
    shape_params params = {.shape = sizes};
    return record(out, "RepeatBackward0", repeat_backward, 1, &t, 0, &params);
}

/* g: t's shape with dim d repeats times longer; each element's copies
 * are neighbours, so split d into (size, repeats) and sum the repeats. */
static nb_status repeat_interleave_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *t       = nbi_input(node, 0);
    int        d       = (int)params_of(node)->dim1;
    int64_t    repeats = params_of(node)->offset;
    nb_tensor *grad;
    if (repeats == 0) {
        grad = nb_zeros(nb_shape_of(t), NB_OPTS(.dtype = g->dtype, .device = g->storage->device));
    } else {
        nb_shape split = {.ndim = t->ndim + 1};
        for (int k = 0, j = 0; k < t->ndim; k++) {
            split.dims[j++] = t->shape[k];
            if (k == d) split.dims[j++] = repeats;
        }
        nb_dims dims = {.n = 1, .dims = {d + 1}};
        grad         = nb_sum_dims(nb_reshape(g, split), dims, false);
    }
    nb_status status = nbi_keep_grad(grad, &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_repeat_interleave(nb_tensor *out, const nb_tensor *t, int dim, int64_t repeats)
{
    shape_params params = {.dim1 = dim, .offset = repeats};
    return record(out, "IndexSelectBackward0", repeat_interleave_backward, 1, &t, 0, &params);
}

/* ------------------------------------------------------------------------ */
/* diag, diag_embed                                                          */
/* ------------------------------------------------------------------------ */

static nb_status embed_diagonal_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    const shape_params *params = params_of(node);
    grad_inputs[0]             = nb_diagonal(g, params->offset, (int)params->dim1, (int)params->dim2);
    return grad_inputs[0] ? NB_OK : nb_last_status();
}

nb_tensor *nbi_embed_diagonal(const nb_tensor *src, int ndim, const int64_t *shape, int64_t offset, int dim1, int dim2,
                              const char *name)
{
    nb_shape s = {.ndim = ndim};
    for (int d = 0; d < ndim; d++)
        s.dims[d] = shape[d];
    nbi_grad_mode_push(false);
    nb_tensor *out    = nb_zeros(s, NB_OPTS(.dtype = src->dtype, .device = src->storage->device));
    nb_tensor *region = out ? nb_diagonal(out, offset, dim1, dim2) : NULL;
    if (region) nbi_copy_into(region, src);
    nbi_grad_mode_pop();
    nb_free(region);
    if (region == NULL) {
        nb_free(out);
        return NULL;
    }
    shape_params params = {.offset = offset, .dim1 = dim1, .dim2 = dim2};
    return record(out, name, embed_diagonal_backward, 1, &src, 0, &params);
}

static nb_status diag_of_matrix_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    const shape_params *params = params_of(node);
    grad_inputs[0] = nbi_embed_diagonal(g, 2, params->shape.dims, params->offset, 0, 1, "DiagBackwardBackward0");
    return grad_inputs[0] ? NB_OK : nb_last_status();
}

nb_tensor *nbi_record_diag_of_matrix(nb_tensor *out, const nb_tensor *t, int64_t offset)
{
    shape_params params = {.shape = nb_shape_of(t), .offset = offset};
    return record(out, "DiagBackward0", diag_of_matrix_backward, 1, &t, 0, &params);
}

/* ------------------------------------------------------------------------ */
/* index_add, index_copy, index_fill                                         */
/* ------------------------------------------------------------------------ */

/* g's rows at index along dim, in source's shape (a 0-d source of a 0-d
 * or one-row t). */
static nb_tensor *rows_of(nb_tensor *g, int dim, nb_tensor *index, const nb_tensor *source)
{
    return nb_reshape(nb_index_select(g, dim, index), nb_shape_of(source));
}

/* inputs (t, index, source) */
static nb_status index_add_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    const shape_params *params = params_of(node);
    int                 dim    = (int)params->dim1;
    nb_status           status = NB_OK;
    if (nbi_input_needs_grad(node, 0))
        status = nbi_keep_grad(nbi_alias_recorded(g, "IndexAddBackward0"), &grad_inputs[0]);
    if (status == NB_OK && nbi_input_needs_grad(node, 2)) {
        nb_tensor *rows = rows_of(g, dim, nbi_input(node, 1), nbi_input(node, 2));
        if (rows && params->alpha != 1) rows = nb_mul_scalar(rows, params->alpha);
        status = nbi_keep_grad(rows, &grad_inputs[2]);
    }
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_index_add(nb_tensor *out, const nb_tensor *t, int dim, const nb_tensor *index,
                                const nb_tensor *source, double alpha)
{
    const nb_tensor *inputs[3] = {t, index, source};
    shape_params     params    = {.dim1 = dim, .alpha = alpha};
    return record(out, "IndexAddBackward0", index_add_backward, 3, inputs, NBI_SAVES(1), &params);
}

/* inputs (t, index, source) */
static nb_status index_copy_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    int       dim    = (int)params_of(node)->dim1;
    nb_status status = NB_OK;
    if (nbi_input_needs_grad(node, 0))
        status = nbi_keep_grad(nb_index_fill(g, dim, nbi_input(node, 1), 0), &grad_inputs[0]);
    if (status == NB_OK && nbi_input_needs_grad(node, 2))
        status = nbi_keep_grad(rows_of(g, dim, nbi_input(node, 1), nbi_input(node, 2)), &grad_inputs[2]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_index_copy(nb_tensor *out, const nb_tensor *t, int dim, const nb_tensor *index,
                                 const nb_tensor *source)
{
    const nb_tensor *inputs[3] = {t, index, source};
    shape_params     params    = {.dim1 = dim};
    return record(out, "IndexCopyBackward0", index_copy_backward, 3, inputs, NBI_SAVES(1), &params);
}

/* inputs (t, index) */
static nb_status index_fill_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    grad_inputs[0] = nb_index_fill(g, (int)params_of(node)->dim1, nbi_input(node, 1), 0);
    return grad_inputs[0] ? NB_OK : nb_last_status();
}

nb_tensor *nbi_record_index_fill(nb_tensor *out, const nb_tensor *t, int dim, const nb_tensor *index)
{
    const nb_tensor *inputs[2] = {t, index};
    shape_params     params    = {.dim1 = dim};
    return record(out, "IndexFillBackward0", index_fill_backward, 2, inputs, NBI_SAVES(1), &params);
}
