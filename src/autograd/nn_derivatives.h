/*
 * nn_derivatives.h — the recorders of the backward nodes of the
 * convolution, pooling and padding primitives (ops/nn_primitives.h, which
 * says how their gradients pair up): conv_derivatives.c and
 * pool_derivatives.c. The primitives in ops/ call them, as every op calls
 * its recorder in autograd.h.
 */
#ifndef NABLA_NN_DERIVATIVES_H
#define NABLA_NN_DERIVATIVES_H

#include "autograd.h"
#include "ops/nn_primitives.h"

/* Convolution (conv_derivatives.c): each returns out, or NULL (out freed)
 * when recording fails. bias may be NULL. */
nb_tensor *nbi_record_conv2d(nb_tensor *out, const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                             const nbi_conv_geometry *geom);
nb_tensor *nbi_record_conv_transpose2d(nb_tensor *out, const nb_tensor *x, const nb_tensor *w, const nb_tensor *bias,
                                       const nbi_conv_geometry *geom);
nb_tensor *nbi_record_conv2d_weight(nb_tensor *out, const nb_tensor *x, const nb_tensor *g,
                                    const nbi_conv_geometry *geom);

/* Pooling and padding (pool_derivatives.c). */
nb_tensor *nbi_record_window_mean(nb_tensor *out, const nb_tensor *x, const nbi_window_spec *spec, bool adjoint);
/* y = max_pool2d(x) with the indices of its maxima. */
nb_tensor *nbi_record_max_pool2d(nb_tensor *out, const nb_tensor *x, const nb_tensor *indices);
nb_tensor *nbi_record_max_unpool(nb_tensor *out, const nb_tensor *g, const nb_tensor *indices);
/* pads as given to nb_pad (npads <= 16). */
nb_tensor *nbi_record_pad(nb_tensor *out, const nb_tensor *x, const int64_t *pads, int npads);

#endif /* NABLA_NN_DERIVATIVES_H */
