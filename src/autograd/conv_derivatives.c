/*
 * conv_derivatives.c — gradients of the three convolution primitives
 * (ops/nn_primitives.h). Each is linear in each of its inputs, so each
 * gradient is another primitive of the set applied to the output gradient g:
 *
 *   y = conv2d(x, w) + b            dx = conv_transpose2d(g, w)   dw = conv2d_weight(x, g)
 *   y = conv_transpose2d(x, w) + b  dx = conv2d(g, w)             dw = conv2d_weight(g, x)
 *   y = conv2d_weight(x, g)         dx = conv_transpose2d(g, G)   dg = conv2d(x, G)
 *   db = g summed over (N, H, W)
 *
 * NOTE: conv2d of an image gives at least as many positions as the column
 * side it came from, but may give more: conv_transpose2d's output_padding
 * adds rows no input position reaches, and a stride may skip the last ones.
 * Those extra positions carry no gradient and are narrowed away.
 *
 * Node parameters: the nbi_conv_geometry.
 */
#include "nn_derivatives.h"

static nb_tensor *record(nb_tensor *out, const char *name, nbi_backward_fn backward, int count,
                         const nb_tensor *const *inputs, uint32_t saves, const nbi_conv_geometry *geom)
{
    if (out == NULL || !nbi_should_record(count, inputs)) return out;
    nbi_node *node = nbi_record(out, name, backward, count, inputs, saves);
    if (node == NULL) {
        nb_free(out);
        return NULL;
    }
    *NBI_NODE_PARAMS(node, nbi_conv_geometry) = *geom;
    return out;
}

/* conv2d of image by w, narrowed to the column side's positions (like). */
static nb_tensor *conv2d_like(const nb_tensor *image, const nb_tensor *w, const nbi_conv_geometry *geom,
                              const nb_tensor *like)
{
    nb_tensor *y = nbi_conv2d_op(image, w, NULL, geom);
    if (y == NULL || (y->shape[2] == like->shape[2] && y->shape[3] == like->shape[3])) return y;
    return nb_narrow(nb_narrow(y, 2, 0, like->shape[2]), 3, 0, like->shape[3]);
}

/* The bias gradient: g summed over every dim but the channels.
 * NOTE: in two steps, each over contiguous dims (a row sum, then a column
 * sum), because reducing dims (0, 2, 3) at once copies g to group them. */
static nb_tensor *bias_grad(const nb_tensor *g)
{
    return nb_sum_dims(nb_sum_dims(g, NB_DIMS(2, 3), false), NB_DIMS(0), false);
}

/* inputs (x, w, bias or NULL) */
static nb_status conv2d_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor        *x = nbi_input(node, 0), *w = nbi_input(node, 1);
    nbi_conv_geometry geom   = *NBI_NODE_PARAMS(node, nbi_conv_geometry);
    nb_status         status = NB_OK;
    if (nbi_input_needs_grad(node, 0))
        status = nbi_keep_grad(nbi_conv_transpose2d_op(g, w, NULL, &geom, x->shape[2], x->shape[3]), &grad_inputs[0]);
    if (status == NB_OK && nbi_input_needs_grad(node, 1))
        status = nbi_keep_grad(nbi_conv2d_weight_op(x, g, &geom, w->shape[2], w->shape[3]), &grad_inputs[1]);
    if (status == NB_OK && nbi_input_needs_grad(node, 2)) status = nbi_keep_grad(bias_grad(g), &grad_inputs[2]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_conv2d(nb_tensor *out, const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                             const nbi_conv_geometry *geom)
{
    const nb_tensor *inputs[3] = {x, w, bias};
    return record(out, "ConvolutionBackward0", conv2d_backward, 3, inputs, NBI_SAVES(0) | NBI_SAVES(1), geom);
}

/* inputs (x on the column side, w, bias or NULL); g is on the image side. */
static nb_status conv_transpose2d_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor        *x = nbi_input(node, 0), *w = nbi_input(node, 1);
    nbi_conv_geometry geom   = *NBI_NODE_PARAMS(node, nbi_conv_geometry);
    nb_status         status = NB_OK;
    if (nbi_input_needs_grad(node, 0)) status = nbi_keep_grad(conv2d_like(g, w, &geom, x), &grad_inputs[0]);
    if (status == NB_OK && nbi_input_needs_grad(node, 1))
        status = nbi_keep_grad(nbi_conv2d_weight_op(g, x, &geom, w->shape[2], w->shape[3]), &grad_inputs[1]);
    if (status == NB_OK && nbi_input_needs_grad(node, 2)) status = nbi_keep_grad(bias_grad(g), &grad_inputs[2]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_conv_transpose2d(nb_tensor *out, const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                                       const nbi_conv_geometry *geom)
{
    const nb_tensor *inputs[3] = {x, w, bias};
    return record(out, "ConvolutionBackward0", conv_transpose2d_backward, 3, inputs, NBI_SAVES(0) | NBI_SAVES(1),
                  geom);
}

/* inputs (x on the image side, g on the column side); G (the gradient of
 * the weight-shaped output) acts as a weight. */
static nb_status conv2d_weight_backward(nbi_node *node, nb_tensor *G, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor        *x = nbi_input(node, 0), *g = nbi_input(node, 1);
    nbi_conv_geometry geom   = *NBI_NODE_PARAMS(node, nbi_conv_geometry);
    nb_status         status = NB_OK;
    if (nbi_input_needs_grad(node, 0))
        status = nbi_keep_grad(nbi_conv_transpose2d_op(g, G, NULL, &geom, x->shape[2], x->shape[3]), &grad_inputs[0]);
    if (status == NB_OK && nbi_input_needs_grad(node, 1))
        status = nbi_keep_grad(conv2d_like(x, G, &geom, g), &grad_inputs[1]);
    NBI_FORMULA_END(status);
}

nb_tensor *nbi_record_conv2d_weight(nb_tensor *out, const nb_tensor *x, const nb_tensor *g,
                                    const nbi_conv_geometry *geom)
{
    const nb_tensor *inputs[2] = {x, g};
    return record(out, "ConvolutionBackwardBackward0", conv2d_weight_backward, 2, inputs, NBI_SAVES(0) | NBI_SAVES(1), geom);
}
