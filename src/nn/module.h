/*
 * module.h — what the built-in layers (layers.c, activations.c) need from
 * the module system (module.c) beyond the public API: direct access to a
 * module's own tensors and children by position, so that a forward does no
 * name lookup.
 */
#ifndef NABLA_NN_MODULE_H
#define NABLA_NN_MODULE_H

#include "core/internal.h"

/* The NULL-argument rule of nabla.h for non-tensor pointers: true when p
 * is not NULL; otherwise NB_ERR_ARG "op: argument 'name' is NULL", recorded
 * only when no error is pending (a NULL is usually a constructor that
 * failed: its error is the one the caller should see). */
/* Modules come from this kind's slots (core/handles.h). */
extern nbi_handle_class nbi_module_handles;

bool nbi_check_pointer(const void *p, const char *op, const char *name);
/* The same for a module, and NB_ERR_STATE when it was freed. */
bool nbi_check_module(const nb_module *m, const char *op, const char *name);

/* The module's own parameter / buffer number i in registration order (its
 * children's are not counted), or NULL when it has fewer. Borrowed. */
nb_tensor *nbi_module_own_parameter(const nb_module *m, int64_t i);
nb_tensor *nbi_module_own_buffer(const nb_module *m, int64_t i);
/* Direct children, in registration order. */
int64_t    nbi_module_child_count(const nb_module *m);
nb_module *nbi_module_child_at(const nb_module *m, int64_t i);
/* Whether m is some module's child (owned by it). */
bool       nbi_module_has_parent(const nb_module *m);

/* nb_module_add_parameter for a layer's constructor: a new float32 tensor
 * of shape, left uninitialised for the caller to fill through *out
 * (borrowed; owned by m). NB_OK or the error (m unchanged). */
nb_status  nbi_module_new_parameter(nb_module *m, const char *name, nb_shape shape, nb_tensor **out);

/* A forward that writes its result over x (same shape and dtype) instead of
 * making a new tensor: true, or false with the error recorded (x then
 * unspecified). Sequential uses it in no-grad mode on intermediates it holds
 * alone (layers.c), so that evaluation keeps one activation less per layer
 * that has one (activations, batch norm). */
typedef bool (*nbi_in_place_fn)(nb_module *self, nb_tensor *x, void *user);
void nbi_module_set_in_place(nb_module *m, nbi_in_place_fn fn);
bool nbi_module_has_in_place(const nb_module *m);
/* Run m's in-place forward on x (m has one). */
bool nbi_module_forward_in_place(nb_module *m, nb_tensor *x);

/* A forward that also applies relu to its result, in the same pass (batch
 * norm): Sequential calls it for the module followed by a ReLU and skips
 * the ReLU. in_place: written over x as nbi_in_place_fn, x returned. NULL
 * with the error recorded. */
typedef nb_tensor *(*nbi_then_relu_fn)(nb_module *self, const nb_tensor *x, bool in_place, void *user);
void       nbi_module_set_then_relu(nb_module *m, nbi_then_relu_fn fn);
bool       nbi_module_has_then_relu(const nb_module *m);
nb_tensor *nbi_module_forward_then_relu(nb_module *m, const nb_tensor *x, bool in_place);
/* Whether m is a ReLU made by nb_relu_new, a MaxPool2d made by
 * nb_max_pool2d_new (activations.c). */
bool       nbi_module_is_relu(const nb_module *m);
bool       nbi_module_is_max_pool(const nb_module *m);

/* A module whose user data is a malloc'd copy of config (size bytes; none
 * when size is 0), freed with the module. */
nb_module *nbi_module_with_config(const char *type, nb_forward_fn forward, const void *config, size_t size);

/* The forward function and user data m was made with (the recurrent
 * layers' own entry points find their configuration through them). */
nb_forward_fn nbi_module_forward_fn(const nb_module *m);
void         *nbi_module_user(const nb_module *m);
/* m's user data when m was made with this forward function (so its user
 * data is the config that function expects), else NULL: how a module-
 * specific entry point (nb_multihead_attention) recognises its module. */
void *nbi_module_config_of(const nb_module *m, nb_forward_fn forward);

#endif /* NABLA_NN_MODULE_H */
