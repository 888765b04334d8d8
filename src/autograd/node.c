/*
 * node.c — making, saving into and releasing backward-graph nodes, and the
 * recording helpers ops share (aliases, in-place ops, un-broadcasting).
 *
 * A node holds, per input, a reference to the input tensor (its values,
 * for formulas that read them) and the input's edge: the node that made
 * the input and which output it was, captured when the op ran (autograd.h
 * says why it must not be read from the input later).
 *
 * Nodes are released iteratively through a work list rather than by
 * recursion: a graph of a million chained ops would otherwise overflow the
 * stack when its last tensor is freed.
 */
#include "autograd.h"

#include <stdlib.h>

static void node_retain(nbi_node *node) { atomic_fetch_add_explicit(&node->refcount, 1, memory_order_relaxed); }
static void node_destroy(nbi_node *node);

/* What a node keeps of an input: a leaf that requires grad itself (the
 * gradient's destination; it never gets a history); anything else as an
 * alias frozen with the history the input has now, as PyTorch's saved
 * variables are. NOTE: holding the input's own handle would make a cycle
 * when an in-place op later gives the input a history that leads back to
 * this node (y.add_(f(y)), or a buffer filled from its own slices). */
nb_tensor *nbi_held_input(const nb_tensor *input)
{
    if (input->requires_grad && input->grad_fn == NULL && !input->view_without_grad) {
        nb_tensor *leaf = nbi_identity(input);
        nbi_tensor_retain(leaf);
        return leaf;
    }
    return nbi_alias_with_history(input, input->grad_fn, input->output_nr, input->requires_grad);
}

nb_tensor *nbi_alias_with_history(const nb_tensor *t, nbi_node *fn, int slot, bool requires_grad)
{
    nb_tensor *alias = nbi_alias_unscoped(t);
    if (alias == NULL) return NULL;
    alias->requires_grad = requires_grad;
    alias->grad_fn       = fn;
    alias->output_nr     = slot;
    if (fn) node_retain(fn);
    return alias;
}

nbi_node *nbi_record(nb_tensor *out, const char *name, nbi_backward_fn backward, int count,
                     const nb_tensor *const *inputs, uint32_t saved_mask)
{
    size_t    bytes = sizeof(nbi_node) + (size_t)count * (sizeof(nb_tensor *) + sizeof(uint64_t) + sizeof(nbi_edge));
    nbi_register_with_core();
    nbi_node *node  = malloc(bytes);
    if (node == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory recording the backward graph", name);
    memset(node, 0, sizeof *node);
    atomic_init(&node->refcount, 1);
    node->name       = name;
    node->backward   = backward;
    node->ninputs    = count;
    node->noutputs   = 1;
    node->edges      = (nbi_edge *)(node + 1);
    node->versions   = (uint64_t *)(node->edges + count);
    node->inputs     = (nb_tensor **)(node->versions + count);
    node->saved_mask = saved_mask;
    /* NOTE: every slot is cleared before any is filled: node_destroy, on
     * running out of memory at input i, reads all count of them. */
    for (int i = 0; i < count; i++) {
        node->inputs[i] = NULL;
        node->edges[i]  = (nbi_edge){ 0 };
    }
    for (int i = 0; i < count; i++) {
        const nb_tensor *input = inputs[i];
        node->versions[i]      = input ? input->storage->version : 0;
        if (input == NULL) continue;
        nbi_refresh_view(input);
        node->inputs[i] = nbi_held_input(input);
        if (node->inputs[i] == NULL) {
            node_destroy(node);
            return nbi_fail(NB_ERR_OOM, "%s: out of memory recording the backward graph", name);
        }
        if (!nbi_takes_grad(input)) continue;
        node->edges[i].needs_grad = true;
        node->edges[i].fn         = input->grad_fn;
        node->edges[i].slot       = input->output_nr;
        if (input->grad_fn) node_retain(input->grad_fn);
    }
    node->ndim  = out->ndim;
    node->dtype = out->dtype;
    for (int d = 0; d < out->ndim; d++) node->shape[d] = out->shape[d];
    node->engine_index = -1;
    if (nbi_anomaly_enabled()) nbi_anomaly_note_record(node);
    if (out->grad_fn) nbi_node_release(out->grad_fn);
    out->grad_fn       = node;
    out->output_nr     = 0;
    out->requires_grad = true;
    /* A view recorded from its base derives its history from the base's
     * current one. */
    if (out->view_base) out->view_base_fn = out->view_base->grad_fn;
    return node;
}

bool nbi_save_output(nbi_node *node, const nb_tensor *out)
{
    nb_tensor *saved = nbi_alias(out);
    if (saved == NULL) return false;
    nbi_unscope(saved);
    node->saved_output   = saved;
    node->output_version = out->storage->version;
    return true;
}

nb_tensor *nbi_output_with_history(nbi_node *node)
{
    nb_tensor *out = nbi_alias_with_history(node->saved_output, node, 0, true);
    if (out) nbi_adopt(out); /* the formula's scope frees it */
    return out;
}

/* After a backward that does not retain the graph: drop the values the
 * formula saved (the inputs it reads, the saved output, a custom function's
 * state), as PyTorch frees saved variables. Inputs only used for their
 * geometry stay, so a node that saved nothing can run again. */
void nbi_node_drop_saved(nbi_node *node)
{
    node->released = node->saved_output != NULL || node->state != NULL;
    for (int i = 0; i < node->ninputs; i++) {
        /* NOTE: one-element saved values (the scalar of x * 2) are kept:
         * freeing them saves nothing, and keeping them lets such a node run
         * again, as PyTorch's (which stores the scalar in the node) does. */
        if (!(node->saved_mask & NBI_SAVES(i)) || node->inputs[i] == NULL || node->inputs[i]->numel <= 1) continue;
        nbi_tensor_release(node->inputs[i]);
        node->inputs[i] = NULL;
        node->released  = true;
    }
    if (node->saved_output) nbi_tensor_release(node->saved_output);
    node->saved_output = NULL;
    if (node->state && node->state_free) node->state_free(node->state);
    node->state = NULL;
}

/* Everything: the saved values and the edges (which may release the
 * nodes upstream, through the work list). */
static void node_destroy(nbi_node *node)
{
    nbi_node_drop_saved(node);
    for (int i = 0; i < node->ninputs; i++)
        if (node->inputs[i]) nbi_tensor_release(node->inputs[i]);
    for (int i = 0; i < node->ninputs; i++) {
        if (node->edges[i].fn) nbi_node_release(node->edges[i].fn);
        node->edges[i].fn = NULL;
    }
    if (node->hooks) nbi_hooks_release(node->hooks);
    free(node);
}

static _Thread_local nbi_node **release_list;
static _Thread_local int64_t    release_count, release_capacity;
static _Thread_local bool       releasing;

/* At thread exit (core/thread_exit.c; nbi_node_release registers it). */
static void release_thread_cache(void)
{
    if (releasing) return; /* still in use further up this thread's stack */
    free(release_list);
    release_list     = NULL;
    release_count    = 0;
    release_capacity = 0;
}

void nbi_node_release(nbi_node *node)
{
    if (atomic_fetch_sub_explicit(&node->refcount, 1, memory_order_acq_rel) != 1) return;
    if (release_count == release_capacity) {
        int64_t    capacity = release_capacity ? release_capacity * 2 : 256;
        nbi_node **grown    = realloc(release_list, (size_t)capacity * sizeof *grown);
        if (grown == NULL) { /* no room to defer: release now, recursively */
            node_destroy(node);
            return;
        }
        if (release_list == NULL) {
            nbi_register_thread_cache(release_thread_cache);
            nbi_thread_holds_caches();
        }
        release_list     = grown;
        release_capacity = capacity;
    }
    release_list[release_count++] = node;
    if (releasing) return; /* the loop below, further up the stack, takes it */
    releasing = true;
    while (release_count > 0) node_destroy(release_list[--release_count]);
    releasing = false;
}

/* t is being freed (core/tensor.c calls this through the table below): its
 * node, which may point back at t, and a leaf's hooks. */
static void release_graph(nb_tensor *t)
{
    if (t->grad_fn) {
        if (t->grad_fn->retain_owner == t) t->grad_fn->retain_owner = NULL; /* a weak reference */
        nbi_node_release(t->grad_fn);
    }
    if (t->hooks) nbi_hooks_release(t->hooks);
}

static const nbi_autograd_callbacks callbacks_for_core = { .release_graph = release_graph };

void nbi_register_with_core(void) { nbi_set_autograd_callbacks(&callbacks_for_core); }

/* ------------------------------------------------------------------------ */
/* Helpers for ops                                                           */
/* ------------------------------------------------------------------------ */

nb_tensor *nbi_alias_recorded(const nb_tensor *t, const char *op)
{
    (void)op;
    nbi_refresh_view(t);
    nb_tensor *alias = nbi_alias(t);
    if (alias == NULL) return NULL;
    nbi_set_view_base(alias, t);
    /* The same tensor for autograd, whatever grad mode says (PyTorch
     * returns t itself): t's history, or a second handle to leaf t. */
    alias->requires_grad     = t->requires_grad;
    alias->view_without_grad = t->view_without_grad;
    if (t->grad_fn) {
        node_retain(t->grad_fn);
        alias->grad_fn   = t->grad_fn;
        alias->output_nr = t->output_nr;
    } else if (t->requires_grad) {
        alias->same_as = nbi_identity(t);
        nbi_tensor_retain(alias->same_as);
    }
    return alias;
}

nb_tensor *nbi_sum_to(const nb_tensor *g, int ndim, const int64_t *shape)
{
    nb_dims dims = { .n = 0 };
    int     lead = g->ndim - ndim;
    for (int d = 0; d < g->ndim; d++)
        if (d < lead || (shape[d - lead] == 1 && g->shape[d] != 1)) dims.dims[dims.n++] = d;
    if (dims.n == 0 && lead == 0) return nbi_alias_recorded(g, "nbi_sum_to");
    nb_tensor *summed = nb_sum_dims(g, dims, true);
    if (summed == NULL) return NULL;
    nb_shape target = { .ndim = ndim };
    for (int d = 0; d < ndim; d++) target.dims[d] = shape[d];
    nb_tensor *out = nb_reshape(summed, target);
    nb_free(summed);
    return out;
}

/* ------------------------------------------------------------------------ */
/* In-place ops                                                              */
/* ------------------------------------------------------------------------ */

nb_tensor *nbi_begin_in_place(nb_tensor *t, const char *op)
{
    nbi_refresh_view(t);
    if (t->view_without_grad)
        return nbi_fail(NB_ERR_STATE, "%s: a view was made in no-grad mode and is being modified in place with grad "
                                      "mode on; make the view and the in-place op both inside or both outside the "
                                      "no-grad region", op);
    if (t->requires_grad && t->grad_fn == NULL && t->view_base == NULL)
        return nbi_fail(NB_ERR_STATE, "%s: a leaf tensor that requires grad is used in an in-place operation; "
                                      "run it inside nb_no_grad_begin/end or on a clone", op);
    const nb_tensor *base = t->view_base;
    if (base && base->requires_grad && base->grad_fn == NULL)
        return nbi_fail(NB_ERR_STATE, "%s: a view of a leaf tensor that requires grad is used in an in-place "
                                      "operation; run it inside nb_no_grad_begin/end or on a clone", op);
    nbi_grad_mode_push(false);
    nb_tensor *old = nb_clone(t);
    nbi_grad_mode_pop();
    if (old == NULL) return NULL;
    /* old carries t's history, so the op recorded on it continues it. */
    old->grad_fn       = t->grad_fn;
    old->output_nr     = t->output_nr;
    old->requires_grad = t->requires_grad;
    if (old->grad_fn) node_retain(old->grad_fn);
    return old;
}

/* A formula that saved result (tanh_: 1 - y^2) must see later in-place
 * changes of t, which now holds that value: save t instead, so the version
 * check refuses a backward after t changes again, as in PyTorch. */
static bool save_target_instead(nb_tensor *t, const nb_tensor *result)
{
    nbi_node *node = result->grad_fn;
    if (node == NULL || node->saved_output == NULL || node->saved_output->storage != result->storage) return true;
    nb_tensor *saved = nbi_alias_unscoped(t);
    if (saved == NULL) return false;
    nbi_tensor_release(node->saved_output);
    node->saved_output   = saved;
    node->output_version = t->storage->version;
    return true;
}

nb_tensor *nbi_take_history(nb_tensor *t, nb_tensor *result, const char *op)
{
    if (!save_target_instead(t, result)) return NULL;
    if (t->view_base != NULL) return nbi_rebase_view(t, result, op);
    nbi_node *previous = t->grad_fn;
    t->grad_fn         = result->grad_fn;
    t->output_nr       = result->output_nr;
    t->requires_grad   = result->requires_grad;
    if (t->grad_fn) node_retain(t->grad_fn);
    if (previous) {
        /* retain_grad follows the tensor to its new value, as in PyTorch. */
        if (previous->retain_owner == t) previous->retain_owner = NULL;
        nbi_node_release(previous);
    }
    if (t->retains_grad && t->grad_fn) t->grad_fn->retain_owner = t;
    return t;
}

nb_tensor *nbi_finish_in_place(nb_tensor *t, nb_tensor *old, nb_tensor *result, const char *op)
{
    bool fits = result != NULL && nbi_same_shape(result, t)
                && (nb_dtype_is_floating(t->dtype) || !nb_dtype_is_floating(result->dtype));
    if (!fits) {
        if (result != NULL) {
            char a[NBI_SHAPE_STR_SIZE], b[NBI_SHAPE_STR_SIZE];
            nbi_fail(NB_ERR_SHAPE, "%s: the result (%s %s) does not fit the tensor written in place (%s %s)", op,
                     nb_dtype_name(result->dtype), nbi_shape_str(result->ndim, result->shape, a, sizeof a),
                     nb_dtype_name(t->dtype), nbi_shape_str(t->ndim, t->shape, b, sizeof b));
        }
        nb_free(result);
        nb_free(old);
        return NULL;
    }
    /* The history first (it reads only geometry, and saves t at its new
     * version), the write last: when recording the history runs out of
     * memory, t keeps its value and its version. */
    nbi_bump_version(t);
    nb_tensor *out = nbi_take_history(t, result, op);
    if (out != NULL)
        nbi_copy_into(t, result);
    else
        t->storage->version--;
    nb_free(result);
    nb_free(old);
    return out;
}

/* The old value does not reach the new one: its gradient is zeros (not
 * none: PyTorch's, and upstream formulas still run their checks). */
static nb_status constant_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    (void)node;
    grad_inputs[0] = nb_zeros_like(g);
    return grad_inputs[0] ? NB_OK : nb_last_status();
}

nb_tensor *nbi_record_overwrite(nb_tensor *result, nb_tensor *old, const char *name)
{
    const nb_tensor *input = old;
    if (result == NULL || !nbi_should_record(1, &input)) return result;
    if (nbi_record(result, name, constant_backward, 1, &input, 0) == NULL) {
        nb_free(result);
        return NULL;
    }
    return result;
}
