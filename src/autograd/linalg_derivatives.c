/*
 * linalg_derivatives.c — the gradient of matmul in all its forms (mm, bmm,
 * dot, batched with broadcast batch dims, 1-D operands).
 *
 * With 1-D operands promoted to matrices (a: (k) -> (1, k), b: (k) -> (k, 1))
 * and g shaped to match, the rule is the matrix one:
 *   dA = g B^T,  dB = A^T g,
 * each summed over the batch dims the operand was broadcast along.
 */
#include "autograd.h"

/* grad of a promoted operand back to the operand's shape: the broadcast
 * batch dims summed, and the dim a 1-D operand gained removed. */
static nb_tensor *shape_like(nb_tensor *grad, const nb_tensor *like, bool promoted_row)
{
    if (grad == NULL) return NULL;
    if (like->ndim >= 2) return nbi_sum_to(grad, like->ndim, like->shape);
    /* like is (k): grad is (..., 1, k) for a promoted row, (..., k, 1) for
     * a promoted column. */
    nb_tensor *rows = promoted_row ? grad : nb_transpose(grad, -1, -2);
    if (rows == NULL) return NULL;
    /* NOTE: sum every dim but the last rather than reshaping to (-1, k):
     * with k == 0 the -1 is ambiguous and the reshape fails. */
    nb_dims leading = { .n = rows->ndim - 1 };
    for (int d = 0; d < leading.n; d++) leading.dims[d] = d;
    return nb_sum_dims(rows, leading, false);
}

static nb_status matmul_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    if (nb_scope_begin() != NB_OK) return nb_last_status();
    nb_tensor *a = nbi_input(node, 0), *b = nbi_input(node, 1);
    nb_tensor *A = a->ndim == 1 ? nb_unsqueeze(a, 0) : nbi_alias_recorded(a, "nb_matmul backward");
    nb_tensor *B = b->ndim == 1 ? nb_unsqueeze(b, 1) : nbi_alias_recorded(b, "nb_matmul backward");
    nb_tensor *G;
    if (a->ndim == 1 && b->ndim == 1) G = nb_reshape(g, NB_SHAPE(1, 1));
    else if (a->ndim == 1) G = nb_unsqueeze(g, -2);
    else if (b->ndim == 1) G = nb_unsqueeze(g, -1);
    else G = nbi_alias_recorded(g, "nb_matmul backward");
    nb_status status = NB_OK;
    if (nbi_input_needs_grad(node, 0)) {
        nb_tensor *ga = shape_like(nb_matmul(G, nb_transpose(B, -1, -2)), a, true);
        if (ga == NULL) status = nb_last_status();
        else grad_inputs[0] = nb_keep(ga);
    }
    if (status == NB_OK && nbi_input_needs_grad(node, 1)) {
        nb_tensor *gb = shape_like(nb_matmul(nb_transpose(A, -1, -2), G), b, false);
        if (gb == NULL) status = nb_last_status();
        else grad_inputs[1] = nb_keep(gb);
    }
    nb_scope_end();
    return status;
}

/* The name torch 1.13 gives torch.matmul's result for these ranks: its own
 * node for dot, mv and mm; for the other forms the last op of the
 * composite torch runs (a squeeze, a clone, an _unsafe_view), which is
 * what a PyTorch user sees. nb_bmm renames its node BmmBackward0. */
static const char *matmul_node_name(int a_ndim, int b_ndim)
{
    if (a_ndim == 1 && b_ndim == 1) return "DotBackward0";
    if (a_ndim == 2 && b_ndim == 1) return "MvBackward0";
    if (a_ndim == 2 && b_ndim == 2) return "MmBackward0";
    if (a_ndim == 1 && b_ndim == 2) return "SqueezeBackward3";
    if (a_ndim == 2) return "CloneBackward0";
    return "UnsafeViewBackward0";
}

nb_tensor *nbi_record_matmul(nb_tensor *out, const nb_tensor *a, const nb_tensor *b)
{
    const nb_tensor *inputs[2] = { a, b };
    if (out == NULL || !nbi_should_record(2, inputs)) return out;
    /* a's gradient reads b and b's reads a: save what a needed gradient
     * reads, as PyTorch does (a later in-place change to the other is no
     * error). */
    uint32_t saves = (nbi_takes_grad(a) ? NBI_SAVES(1) : 0) | (nbi_takes_grad(b) ? NBI_SAVES(0) : 0);
    if (nbi_record(out, matmul_node_name(a->ndim, b->ndim), matmul_backward, 2, inputs, saves)
        == NULL) {
        nb_free(out);
        return NULL;
    }
    return out;
}
