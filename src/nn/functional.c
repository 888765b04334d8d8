/*
 * functional.c — the parameter layers that are not normalisations:
 * nb_linear, nb_dropout, nb_embedding, as torch.nn.functional's.
 *
 * dropout and embedding are composites of public ops (rand, index_select),
 * so autograd differentiates them (twice) with no code here; linear records
 * one node whose backward formula is written with public ops (see its
 * NOTE). The front doors check what the ops inside would report under
 * another op's name.
 */
#include "nn/functional_args.h"

/* ------------------------------------------------------------------------ */
/* linear                                                                    */
/* ------------------------------------------------------------------------ */

/* inputs (x, weight, bias or NULL); g: (..., out). With M the number of
 * rows of x (its dims but the last, multiplied; 1 for a 1-d x):
 *   dx = g W               (..., in)
 *   dW = g(M, out)^T x(M, in)   (out, in), contiguous
 *   db = g summed over its rows
 * Written with public ops, so create_graph differentiates them again. */
static nb_status linear_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *x = nbi_input(node, 0), *weight = nbi_input(node, 1);
    int64_t    rows   = nbi_shape_numel(x->ndim - 1, x->shape);
    nb_shape   g_rows = NB_SHAPE(rows, weight->shape[0]), x_rows = NB_SHAPE(rows, weight->shape[1]);
    nb_status  status = NB_OK;
    if (nbi_input_needs_grad(node, 0)) status = nbi_keep_grad(nb_matmul(g, weight), &grad_inputs[0]);
    if (status == NB_OK && nbi_input_needs_grad(node, 1))
        status = nbi_keep_grad(nb_matmul(nb_t(nb_reshape(g, g_rows)), nb_reshape(x, x_rows)), &grad_inputs[1]);
    if (status == NB_OK && nbi_input_needs_grad(node, 2))
        status = nbi_keep_grad(nb_sum_dims(nb_reshape(g, g_rows), NB_DIMS(0), false), &grad_inputs[2]);
    NBI_FORMULA_END(status);
}

/* x: (..., in), weight: (out, in), bias: (out) or NULL -> (..., out).
 * The forward is matmul(x, t(weight)): nb_t's strides (1, in) reach GEMM
 * as a transposed operand, so the weight is never copied, and a 3-d x is
 * one (B T, in) GEMM.
 * NOTE: linear records its own node instead of the composite's graph: the
 * composite's weight gradient comes back through nb_t as a transposed view,
 * which the engine copies into W.grad and the optimizer then walks with
 * strides (~250 us more per MLP 784-256-10 step at batch 64). The formula
 * above makes dW contiguous directly. */
nb_tensor *nb_linear(const nb_tensor *x, const nb_tensor *weight, const nb_tensor *bias)
{
    const char *op = "nb_linear";
    if (!nbf_check_float(x, op, "x") || !nbi_check_tensor(weight, op, "weight")) return NULL;
    if (!nbi_check_device(op, 3, (const nb_tensor *const[]){ x, weight, bias },
                          (const char *const[]){ "x", "weight", "bias" }))
        return NULL;
    if (!nbf_check_same_dtype(weight, x, op, "weight", "x") || !nbf_check_same_dtype(bias, x, op, "bias", "x"))
        return NULL;
    char buf_x[NBI_SHAPE_STR_SIZE], buf_w[NBI_SHAPE_STR_SIZE];
    if (weight->ndim != 2)
        return nbi_fail(NB_ERR_SHAPE, "%s: weight must be 2-d (out_features, in_features), got shape %s", op,
                        nbi_shape_str(weight->ndim, weight->shape, buf_w, sizeof buf_w));
    if (x->ndim == 0 || x->shape[x->ndim - 1] != weight->shape[1])
        return nbi_fail(NB_ERR_SHAPE,
                        "%s: x of shape %s does not fit weight of shape %s (x's last dim must be "
                        "in_features = %lld)",
                        op, nbi_shape_str(x->ndim, x->shape, buf_x, sizeof buf_x),
                        nbi_shape_str(weight->ndim, weight->shape, buf_w, sizeof buf_w), (long long)weight->shape[1]);
    if (!nbf_check_vector(bias, weight->shape[0], op, "bias", "output feature")) return NULL;

    if (!nbf_begin()) return NULL;
    nbi_grad_mode_push(false);
    nb_tensor *out;
    if (bias != NULL && nbi_is_half(x->dtype)) {
        /* product and bias in float32, rounded once (as torch's half
         * addmm): rounding the product first loses the bias's small sums */
        nb_tensor *wide = nb_matmul(nbi_float32_if_half(x), nb_t(nbi_float32_if_half(weight)));
        if (wide != NULL) wide = nb_add_(wide, nbi_float32_if_half(bias));
        out = wide ? nb_to_dtype(wide, x->dtype) : NULL;
    } else {
        out = nb_matmul(x, nb_t(weight));
        if (out != NULL && bias != NULL) out = nb_add_(out, bias); /* out is fresh: add in place */
    }
    nbi_grad_mode_pop();
    const nb_tensor *inputs[3] = {x, weight, bias};
    if (out != NULL && nbi_should_record(3, inputs) &&
        /* torch's F.linear is addmm (mm without a bias) for a 2-D x; other
         * ranks end in its composite's views, which nabla does not copy. */
        nbi_record(out, bias ? "AddmmBackward0" : "MmBackward0", linear_backward, 3, inputs,
                   NBI_SAVES(0) | NBI_SAVES(1)) == NULL)
        out = NULL;
    return nbf_end(out);
}

/* ------------------------------------------------------------------------ */
/* dropout                                                                   */
/* ------------------------------------------------------------------------ */

/* x * mask / (1 - p) with mask ~ Bernoulli(1 - p) drawn from the library's
 * generator (nb_rand_like: one value per element, so a seed gives the same
 * mask on every thread count). As torch: p = 1 multiplies by zero (NaN
 * stays NaN), and !training or p = 0 returns x (a new handle in x's graph). */
nb_tensor *nb_dropout(const nb_tensor *x, double p, bool training)
{
    const char *op = "nb_dropout";
    if (!nbf_check_float(x, op, "x")) return NULL;
    if (!(p >= 0 && p <= 1))
        return nbi_fail(NB_ERR_ARG, "%s: dropout probability has to be between 0 and 1, but got %g", op, p);
    if (!training || p == 0 || x->numel == 0) return nbi_alias_recorded(x, op);
    if (!nbf_begin()) return NULL;
    nb_tensor *out;
    if (p == 1) {
        out = nb_mul(x, nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = x->dtype)));
    } else {
        /* The noise needs no graph: it is a constant of the product. */
        nbi_grad_mode_push(false);
        nb_tensor *keep  = nb_lt_scalar(nb_rand_like(x), 1 - p);
        nb_tensor *noise = nb_mul_scalar(nb_to_dtype(keep, x->dtype), 1 / (1 - p));
        nbi_grad_mode_pop();
        out = nb_mul(x, noise);
    }
    return nbf_end(out);
}

/* ------------------------------------------------------------------------ */
/* embedding                                                                 */
/* ------------------------------------------------------------------------ */

/* Whether every index of list (int64, contiguous) is in [0, num), else
 * NB_ERR_INDEX naming the first outside. On the CPU a loop; on a device
 * the ones outside are selected there, and only they cross to the host. */
static bool embedding_indices_in_range(const nb_tensor *list, int64_t num, const char *op)
{
    int64_t first_bad = 0;
    bool    found     = false;
    if (list->storage->device.type == NB_CPU) {
        const int64_t *index = (const int64_t *)nbi_ptr(list);
        for (int64_t i = 0; i < list->numel && !found; i++)
            if (index[i] < 0 || index[i] >= num) {
                first_bad = index[i];
                found     = true;
            }
    } else if (list->numel > 0) {
        nb_tensor *outside = nb_logical_or(nb_lt_scalar(list, 0), nb_ge_scalar(list, (double)num));
        nb_tensor *bad     = outside ? nb_masked_select(list, outside) : NULL;
        if (bad == NULL) return false;
        found = nb_numel(bad) > 0;
        if (found) first_bad = nb_item_int64(nb_select(bad, 0, 0));
    }
    if (found)
        nbi_fail(NB_ERR_INDEX, "%s: index %lld is out of range for %lld embeddings", op, (long long)first_bad,
                 (long long)num);
    return !found;
}

/* indices: int64 or int32 (as torch) of any shape (0-d included), weight: (num, dim) ->
 * (indices..., dim): rows of weight by index_select on the flattened
 * indices, on the device both are on. Indices are checked here so the
 * error names this op. */
nb_tensor *nb_embedding(const nb_tensor *indices, const nb_tensor *weight)
{
    const char *op = "nb_embedding";
    if (!nbi_check_tensor(indices, op, "indices") || !nbi_check_tensor(weight, op, "weight")) return NULL;
    if (!nbi_check_device(op, 2, (const nb_tensor *const[]){ indices, weight }, (const char *const[]){ "indices", "weight" }))
        return NULL;
    if (indices->dtype != NB_INT64 && indices->dtype != NB_INT32)
        return nbi_fail(NB_ERR_DTYPE, "%s: indices must be int64 or int32, got %s", op, nb_dtype_name(indices->dtype));
    char buf[NBI_SHAPE_STR_SIZE];
    if (weight->ndim != 2)
        return nbi_fail(NB_ERR_SHAPE, "%s: weight must be 2-d (num_embeddings, embedding_dim), got shape %s", op,
                        nbi_shape_str(weight->ndim, weight->shape, buf, sizeof buf));
    if (indices->ndim == NB_MAX_DIMS)
        return nbi_fail(NB_ERR_SHAPE, "%s: indices of %d dims leave no room for the embedding dim (at most %d)", op,
                        indices->ndim, NB_MAX_DIMS);

    if (!nbf_begin()) return NULL;
    nb_tensor *flat = nb_reshape(indices, NB_SHAPE(-1));
    nb_tensor *list = flat ? nb_contiguous(flat->dtype == NB_INT64 ? flat : nb_to_dtype(flat, NB_INT64)) : NULL;
    if (list == NULL || !embedding_indices_in_range(list, weight->shape[0], op)) return nbf_end(NULL);
    nb_shape out_shape = {.ndim = indices->ndim + 1};
    for (int d = 0; d < indices->ndim; d++)
        out_shape.dims[d] = indices->shape[d];
    out_shape.dims[indices->ndim] = weight->shape[1];
    return nbf_end(nb_view(nb_index_select(weight, 0, list), out_shape)); /* index_select is contiguous */
}
