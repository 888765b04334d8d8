/*
 * zero_link.c — second derivatives that are zeros rather than absent.
 *
 * Under create_graph, torch's backward results require grad whenever the
 * one ATen op of their formula takes a tensor that does: relu's gradient
 * is threshold_backward(grad, self), a pool's avg_pool2d_backward(grad,
 * self), so a second backward through x gives zeros, not "does not require
 * grad". (clamp's is where(mask, grad, 0): no graph in torch either.)
 * nabla's formulas for those ops read x only through masks or kernels, so
 * their result has no graph when g has none; they link it here to x with a
 * zero derivative.
 */
#include "autograd.h"

static nb_status zero_derivative_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    (void)g;
    NBI_FORMULA_BEGIN();
    nb_status status = nbi_keep_grad(nb_zeros_like(nbi_input(node, 0)), &grad_inputs[0]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_link_to_input(nbi_node *node, int i, nb_tensor *grad, const char *name)
{
    const nb_tensor *x = node->inputs[i];
    if (grad == NULL || grad->requires_grad || !nbi_grad_enabled() || x == NULL || !nbi_takes_grad(x)) return grad;
    nb_tensor *linked = nbi_alias(grad);
    if (linked != NULL && nbi_record(linked, name, zero_derivative_backward, 1, &x, NBI_SAVES(0)) == NULL) {
        nb_free(linked);
        linked = NULL;
    }
    return linked;
}
