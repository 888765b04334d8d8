/*
 * hooks.c — gradient hooks (nb_register_hook): functions that see, and may
 * replace, the gradient of a tensor while backward runs.
 *
 * A leaf keeps its hooks; a non-leaf's hooks go on the node that made it
 * (with the output slot), so they follow the value the tensor had when the
 * hook was registered, as PyTorch's grad_fn pre-hooks do; the tensor keeps
 * a reference to that node for nb_remove_hook.
 */
#include "autograd.h"

#include <stdlib.h>

static atomic_int_fast64_t next_hook_id;

void nbi_hooks_release(nbi_hook *hooks)
{
    while (hooks) {
        nbi_hook *next = hooks->next;
        if (hooks->holder) nbi_node_release(hooks->holder);
        free(hooks);
        hooks = next;
    }
}

static void append(nbi_hook **list, nbi_hook *hook)
{
    while (*list) list = &(*list)->next; /* hooks run in the order registered */
    *list = hook;
}

int64_t nb_register_hook(nb_tensor *t, nb_grad_hook fn, void *user)
{
    if (!nbi_check_tensor(t, "nb_register_hook", "t")) return -1;
    if (fn == NULL) return nbi_fail_status(NB_ERR_ARG, "nb_register_hook: fn is NULL"), -1;
    nbi_refresh_view(t);
    if (!t->requires_grad)
        return nbi_fail_status(NB_ERR_STATE, "nb_register_hook: cannot register a hook on a tensor that doesn't "
                                             "require gradient"), -1;
    nbi_hook *hook = malloc(sizeof *hook);
    nbi_hook *ref  = t->grad_fn ? malloc(sizeof *ref) : NULL;
    if (hook == NULL || (t->grad_fn && ref == NULL)) {
        free(hook);
        free(ref);
        return nbi_fail_status(NB_ERR_OOM, "nb_register_hook: out of memory"), -1;
    }
    nbi_register_with_core(); /* core frees the tensor, and with it the hooks */
    int64_t id = atomic_fetch_add(&next_hook_id, 1) + 1;
    *hook      = (nbi_hook){ .id = id, .slot = t->output_nr, .fn = fn, .user = user };
    if (t->grad_fn == NULL) {
        append(&nbi_identity(t)->hooks, hook);
        return id;
    }
    append(&t->grad_fn->hooks, hook);
    atomic_fetch_add_explicit(&t->grad_fn->refcount, 1, memory_order_relaxed);
    *ref = (nbi_hook){ .id = id, .holder = t->grad_fn };
    append(&t->hooks, ref);
    return id;
}

/* Unlink the entry with id from *at: true when found. */
static bool unlink_hook(nbi_hook **at, int64_t id, nbi_hook **found)
{
    for (; *at; at = &(*at)->next) {
        if ((*at)->id != id) continue;
        *found = *at;
        *at    = (*found)->next;
        (*found)->next = NULL;
        return true;
    }
    return false;
}

nb_status nb_remove_hook(nb_tensor *t, int64_t id)
{
    if (!nbi_check_tensor(t, "nb_remove_hook", "t")) return NB_ERR_ARG;
    nbi_hook *found = NULL;
    if (!unlink_hook(&nbi_identity(t)->hooks, id, &found))
        return nbi_fail_status(NB_ERR_ARG, "nb_remove_hook: the tensor has no hook with id %lld", (long long)id);
    if (found->holder) { /* a non-leaf's: the hook itself is on the node */
        nbi_hook *hook = NULL;
        if (unlink_hook(&found->holder->hooks, id, &hook)) nbi_hooks_release(hook);
    }
    nbi_hooks_release(found);
    return NB_OK;
}

nb_status nbi_run_hooks(nbi_hook *list, int slot, nb_tensor **grad, const char *op)
{
    for (nbi_hook *hook = list; hook; hook = hook->next) {
        if (hook->slot != slot || hook->fn == NULL) continue;
        nb_tensor *replacement = NULL;
        nb_status  status      = hook->fn(*grad, &replacement, hook->user);
        if (status != NB_OK) {
            nb_free(replacement);
            if (nb_last_status() == NB_OK) nbi_fail_status(status, "%s: a gradient hook failed", op);
            return status;
        }
        if (replacement == NULL) continue;
        if (!nbi_same_shape(replacement, *grad) || replacement->dtype != (*grad)->dtype) {
            char a[NBI_SHAPE_STR_SIZE], b[NBI_SHAPE_STR_SIZE];
            nbi_fail(NB_ERR_SHAPE, "%s: a gradient hook returned %s %s for a gradient of %s %s", op,
                     nb_dtype_name(replacement->dtype), nbi_shape_str(replacement->ndim, replacement->shape, a, sizeof a),
                     nb_dtype_name((*grad)->dtype), nbi_shape_str((*grad)->ndim, (*grad)->shape, b, sizeof b));
            nb_free(replacement);
            return NB_ERR_SHAPE;
        }
        nb_free(*grad);
        nbi_adopt(replacement); /* into the backward pass's scope */
        *grad = replacement;
    }
    return NB_OK;
}
