/*
 * node.c — making, saving into and releasing backward-graph nodes, and the
 * recording helpers ops share (aliases, in-place ops, un-broadcasting).
 *
 * Nodes are released iteratively through a work list rather than by
 * recursion: a graph of a million chained ops would otherwise overflow the
 * stack when its last tensor is freed.
 */
#include "autograd.h"

#include <stdlib.h>

nbi_node *nbi_record(nb_tensor *out, const char *name, nbi_backward_fn backward, int count,
                     const nb_tensor *const *inputs, uint32_t saved_mask)
{
    size_t    bytes = sizeof(nbi_node) + (size_t)count * (sizeof(nb_tensor *) + sizeof(uint64_t));
    nbi_node *node  = malloc(bytes);
    if (node == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory recording the backward graph", name);
    memset(node, 0, sizeof *node);
    atomic_init(&node->refcount, 1);
    node->name       = name;
    node->backward   = backward;
    node->ninputs    = count;
    node->inputs     = (nb_tensor **)(node + 1);
    node->versions   = (uint64_t *)(node->inputs + count);
    node->saved_mask = saved_mask;
    for (int i = 0; i < count; i++) {
        node->inputs[i]   = (nb_tensor *)inputs[i];
        node->versions[i] = inputs[i] ? inputs[i]->storage->version : 0;
        if (inputs[i]) nbi_tensor_retain(node->inputs[i]);
    }
    node->ndim  = out->ndim;
    node->dtype = out->dtype;
    for (int d = 0; d < out->ndim; d++) node->shape[d] = out->shape[d];
    node->engine_index = -1;
    out->grad_fn       = node;
    out->requires_grad = true;
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

/* Drop what a node holds: its inputs and saved output. */
static void node_drop_references(nbi_node *node)
{
    for (int i = 0; i < node->ninputs; i++) {
        if (node->inputs[i]) nbi_tensor_release(node->inputs[i]);
        node->inputs[i] = NULL;
    }
    if (node->saved_output) nbi_tensor_release(node->saved_output);
    node->saved_output = NULL;
}

static _Thread_local nbi_node **release_list;
static _Thread_local int64_t    release_count, release_capacity;
static _Thread_local bool       releasing;

void nbi_node_release(nbi_node *node)
{
    if (atomic_fetch_sub_explicit(&node->refcount, 1, memory_order_acq_rel) != 1) return;
    if (release_count == release_capacity) {
        int64_t    capacity = release_capacity ? release_capacity * 2 : 256;
        nbi_node **grown    = realloc(release_list, (size_t)capacity * sizeof *grown);
        if (grown == NULL) { /* no room to defer: release now, recursively */
            node_drop_references(node);
            free(node);
            return;
        }
        if (release_list == NULL) nbi_thread_holds_caches();
        release_list     = grown;
        release_capacity = capacity;
    }
    release_list[release_count++] = node;
    if (releasing) return; /* the loop below, further up the stack, takes it */
    releasing = true;
    while (release_count > 0) {
        nbi_node *next = release_list[--release_count];
        node_drop_references(next);
        free(next);
    }
    releasing = false;
}

void nbi_node_release_thread_cache(void)
{
    if (releasing) return; /* still in use further up this thread's stack */
    free(release_list);
    release_list     = NULL;
    release_count    = 0;
    release_capacity = 0;
}

/* ------------------------------------------------------------------------ */
/* Helpers for ops                                                           */
/* ------------------------------------------------------------------------ */

static nb_status alias_backward(nbi_node *node, nb_tensor *grad_output, nb_tensor **grad_inputs)
{
    (void)node;
    grad_inputs[0] = nbi_alias_recorded(grad_output, "AliasBackward");
    return grad_inputs[0] ? NB_OK : nb_last_status();
}

nb_tensor *nbi_alias_recorded(const nb_tensor *t, const char *op)
{
    nb_tensor *alias = nbi_alias(t);
    if (alias == NULL || !nbi_should_record(1, &t)) return alias;
    nbi_node *node = nbi_record(alias, "AliasBackward", alias_backward, 1, &t, 0);
    if (node == NULL) {
        nb_free(alias);
        return nbi_fail(NB_ERR_OOM, "%s: out of memory recording the backward graph", op);
    }
    node->is_view = true;
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

nb_tensor *nbi_begin_in_place(nb_tensor *t, const char *op)
{
    if (t->requires_grad && t->grad_fn == NULL)
        return nbi_fail(NB_ERR_STATE, "%s: a leaf tensor that requires grad is used in an in-place operation; "
                                      "run it inside nb_no_grad_begin/end or on a clone", op);
    if (t->grad_fn && t->grad_fn->is_view)
        return nbi_fail(NB_ERR_UNSUPPORTED, "%s: in-place operations on a view of a tensor in the graph are not "
                                            "supported; use the out-of-place op", op);
    nbi_grad_mode_push(false);
    nb_tensor *old = nb_clone(t);
    nbi_grad_mode_pop();
    if (old == NULL) return NULL;
    old->grad_fn       = t->grad_fn; /* the history moves to the old value */
    old->requires_grad = t->requires_grad;
    t->grad_fn         = NULL;
    return old;
}

nb_tensor *nbi_finish_in_place(nb_tensor *t, nb_tensor *old, nb_tensor *result, const char *op)
{
    bool fits = result != NULL && result->ndim == t->ndim && result->numel == t->numel
                && (nb_dtype_is_floating(t->dtype) || !nb_dtype_is_floating(result->dtype));
    for (int d = 0; fits && d < t->ndim; d++) fits = result->shape[d] == t->shape[d];
    if (!fits) {
        if (result != NULL) {
            char a[NBI_SHAPE_STR_SIZE], b[NBI_SHAPE_STR_SIZE];
            nbi_fail(NB_ERR_SHAPE, "%s: the result (%s %s) does not fit the tensor written in place (%s %s)", op,
                     nb_dtype_name(result->dtype), nbi_shape_str(result->ndim, result->shape, a, sizeof a),
                     nb_dtype_name(t->dtype), nbi_shape_str(t->ndim, t->shape, b, sizeof b));
        }
        t->grad_fn   = old->grad_fn;
        old->grad_fn = NULL;
        nb_free(result);
        nb_free(old);
        return NULL;
    }
    nbi_copy_into(t, result);
    nbi_bump_version(t);
    t->grad_fn         = result->grad_fn;
    t->requires_grad   = result->requires_grad;
    result->grad_fn    = NULL;
    nb_free(result);
    nb_free(old);
    return t;
}
