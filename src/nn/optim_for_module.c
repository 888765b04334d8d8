/*
 * optim_for_module.c — an optimizer over all of a module's parameters in
 * one call, as torch.optim.Adam(model.parameters()): nb_sgd_for,
 * nb_adam_for, nb_adamw_for, nb_rmsprop_for. Each gathers the parameters
 * (nb_module_parameters) into a temporary list and calls its constructor,
 * which copies what it keeps.
 */
#include "core/internal.h"

#include "nabla/nn.h"

#include <stdlib.h>

/* m's parameters in a malloc'd array (*count of them, at least one), or
 * NULL with the error recorded (NULL module, none, out of memory). */
static nb_tensor **parameter_list(nb_module *m, const char *op, int64_t *count)
{
    if (m == NULL) return nbi_fail(NB_ERR_ARG, "%s: argument 'm' is NULL", op);
    *count = nb_module_parameters(m, NULL, NULL, 0);
    if (*count < 0) return NULL;
    if (*count == 0) return nbi_fail(NB_ERR_ARG, "%s: the %s module has no parameters", op, nb_module_type(m));
    nb_tensor **params = malloc((size_t)*count * sizeof *params);
    if (params == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory", op);
    nb_module_parameters(m, params, NULL, *count);
    return params;
}

/* One definition per optimizer: its opts type and constructor. */
#define DEFINE_FOR_MODULE(name, opts_type, constructor)                                                                \
    nb_optim *name(nb_module *m, opts_type opts)                                                                       \
    {                                                                                                                  \
        int64_t     count  = 0;                                                                                        \
        nb_tensor **params = parameter_list(m, #name, &count);                                                         \
        if (params == NULL) return NULL;                                                                               \
        nb_optim *o = constructor(params, count, opts);                                                                \
        free(params);                                                                                                  \
        return o;                                                                                                      \
    }

DEFINE_FOR_MODULE(nb_sgd_for, nb_sgd_opts, nb_sgd_new)
DEFINE_FOR_MODULE(nb_adam_for, nb_adam_opts, nb_adam_new)
DEFINE_FOR_MODULE(nb_adamw_for, nb_adam_opts, nb_adamw_new)
DEFINE_FOR_MODULE(nb_rmsprop_for, nb_rmsprop_opts, nb_rmsprop_new)
