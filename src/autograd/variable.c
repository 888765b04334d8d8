/*
 * variable.c — the autograd face of a tensor: requires_grad, leaf or not,
 * its gradient, retain_grad, detach.
 */
#include "autograd.h"

nb_status nb_requires_grad_(nb_tensor *handle, bool requires_grad)
{
    if (!nbi_check_tensor(handle, "nb_requires_grad_", "t")) return NB_ERR_ARG;
    nbi_refresh_view(handle);
    nb_tensor *t = nbi_identity(handle);
    if (requires_grad && !nb_dtype_is_floating(t->dtype))
        return nbi_fail_status(NB_ERR_DTYPE, "nb_requires_grad_: only floating point tensors can require gradients "
                                             "(this one is %s)", nb_dtype_name(t->dtype));
    if (!requires_grad && t->grad_fn != NULL)
        return nbi_fail_status(NB_ERR_STATE, "nb_requires_grad_: a non-leaf tensor (made by %s) cannot stop "
                                             "requiring grad; use nb_detach", t->grad_fn->name);
    t->requires_grad      = requires_grad;
    handle->requires_grad = requires_grad;
    return NB_OK;
}

bool nb_requires_grad(const nb_tensor *t)
{
    if (!nbi_readable(t, "nb_requires_grad")) return false;
    nbi_refresh_view(t); /* a view of a tensor an in-place op put in the graph */
    return nbi_identity(t)->requires_grad;
}

bool nb_is_leaf(const nb_tensor *t)
{
    if (!nbi_readable(t, "nb_is_leaf")) return false;
    nbi_refresh_view(t);
    return t->grad_fn == NULL;
}

nb_tensor *nb_grad(const nb_tensor *t) { return nbi_readable(t, "nb_grad") ? nbi_identity(t)->grad : NULL; }

const char *nb_grad_fn_name(const nb_tensor *t)
{
    if (!nbi_readable(t, "nb_grad_fn_name")) return NULL;
    nbi_refresh_view(t);
    return t->grad_fn ? t->grad_fn->name : NULL;
}

nb_status nb_set_grad(nb_tensor *handle, const nb_tensor *grad)
{
    if (!nbi_check_tensor(handle, "nb_set_grad", "t")) return NB_ERR_ARG;
    nb_tensor *t = nbi_identity(handle);
    if (grad == NULL) {
        if (t->grad) nbi_tensor_release(t->grad);
        t->grad = NULL;
        return NB_OK;
    }
    if (!nbi_same_shape(grad, t)) {
        char a[NBI_SHAPE_STR_SIZE], b[NBI_SHAPE_STR_SIZE];
        return nbi_fail_status(NB_ERR_SHAPE, "nb_set_grad: a gradient of shape %s for a tensor of shape %s",
                               nbi_shape_str(grad->ndim, grad->shape, a, sizeof a),
                               nbi_shape_str(t->ndim, t->shape, b, sizeof b));
    }
    if (grad->dtype != t->dtype)
        return nbi_fail_status(NB_ERR_DTYPE, "nb_set_grad: a %s gradient for a %s tensor",
                               nb_dtype_name(grad->dtype), nb_dtype_name(t->dtype));
    nbi_grad_mode_push(false);
    nb_tensor *copy = nb_clone(grad);
    nbi_grad_mode_pop();
    if (copy == NULL) return nb_last_status();
    nbi_unscope(copy);
    copy->requires_grad = false;
    if (t->grad) nbi_tensor_release(t->grad);
    t->grad = copy;
    return NB_OK;
}

nb_status nb_retain_grad(nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_retain_grad", "t")) return NB_ERR_ARG;
    nbi_refresh_view(t);
    if (!t->requires_grad)
        return nbi_fail_status(NB_ERR_STATE, "nb_retain_grad: the tensor does not require grad");
    if (t->grad_fn == NULL) return NB_OK; /* leaves keep their grad anyway */
    t->retains_grad           = true;
    t->grad_fn->retain_owner  = t;
    return NB_OK;
}

nb_tensor *nb_detach(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_detach", "t")) return NULL;
    return nbi_alias(t); /* a plain handle: no grad_fn, requires no grad */
}

void nb_zero_grad(nb_tensor *const *tensors, int count)
{
    if (tensors == NULL) return;
    for (int i = 0; i < count; i++)
        if (tensors[i]) nb_set_grad(tensors[i], NULL);
}
