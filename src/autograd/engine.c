/*
 * engine.c — runs the backward graph: nb_backward, nb_backward_with and
 * nb_grad_of.
 *
 * The algorithm in four lines: collect the nodes reachable from the roots
 * and count, for each, the edges that lead into it; start from the roots
 * with their gradients; run a node once every node feeding it has run
 * (Kahn's order), summing the gradients arriving at each node; hand the
 * gradients reaching leaves to their .grad (backward) or to the caller
 * (grad_of).
 *
 * Every temporary lives in a scope opened for the run, so an error halfway
 * leaks nothing. Formulas run with grad mode on only for create_graph.
 */
#include "autograd.h"
#include "pointer_index.h"

#include <stdlib.h>

static atomic_uint_fast64_t engine_runs;

enum { SMALL_GRAPH = 32, LINEAR_LEAVES = 16 };

_Thread_local const nbi_node *nbi_running_node;

typedef struct {
    nbi_node  **nodes;
    int64_t    *pending;    /* edges into node i not yet run */
    int64_t    *first_slot; /* node i's output k sums its gradient in slots[first_slot[i] + k] */
    nb_tensor **slots;
    int64_t     count, capacity, nslots, slot_capacity;
    /* Leaves reached by the run: a leaf's gradients from every edge are
     * summed before its hooks and its .grad see them, as PyTorch's
     * AccumulateGrad node does. Open addressing on the tensor's address. */
    nb_tensor **leaves;
    int64_t    *leaf_pending;
    nb_tensor **leaf_grads;
    nbi_pointer_index leaf_index; /* none while the leaves are few */
    int64_t     nleaves, leaf_capacity;
    /* A small graph (a training step of a small model) lives in these, so
     * a backward pass costs no allocation of its own. */
    nbi_node  *small_nodes[SMALL_GRAPH];
    int64_t    small_pending[SMALL_GRAPH], small_first_slot[SMALL_GRAPH], small_ready[SMALL_GRAPH + 1];
    nb_tensor *small_slots[SMALL_GRAPH];
    nb_tensor *small_leaves[SMALL_GRAPH], *small_leaf_grads[SMALL_GRAPH];
    int64_t    small_leaf_pending[SMALL_GRAPH];
} graph;

static void graph_init(graph *g)
{
    g->count = g->nslots = g->nleaves = 0;
    g->leaf_index    = (nbi_pointer_index){ 0 };
    g->nodes         = g->small_nodes;
    g->pending       = g->small_pending;
    g->first_slot    = g->small_first_slot;
    g->slots         = g->small_slots;
    g->leaves        = g->small_leaves;
    g->leaf_pending  = g->small_leaf_pending;
    g->leaf_grads    = g->small_leaf_grads;
    g->capacity      = SMALL_GRAPH;
    g->slot_capacity = SMALL_GRAPH;
    g->leaf_capacity = SMALL_GRAPH;
}

static void graph_free(graph *g)
{
    void *arrays[] = { g->nodes, g->pending, g->first_slot, g->slots, g->leaves, g->leaf_pending, g->leaf_grads };
    void *smalls[] = { g->small_nodes,  g->small_pending,      g->small_first_slot, g->small_slots,
                       g->small_leaves, g->small_leaf_pending, g->small_leaf_grads };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        if (arrays[i] != smalls[i]) free(arrays[i]);
    free(g->leaf_index.slots); /* the leaves' gradients were in the run's scope */
}

/* What the run produces: into leaves' .grad, or into the caller's array. */
typedef struct {
    bool              accumulate;   /* nb_backward: leaves' .grad += */
    bool              create_graph;
    int               ntargets;     /* nb_grad_of */
    nb_tensor *const *targets;
    nb_tensor       **captured;
} run_goal;

/* *array (now holding old elements, in small storage or on the heap)
 * grown to capacity elements. */
static bool grow(void **array, void *small, int64_t old, int64_t capacity, size_t size)
{
    void *grown = *array == small ? malloc((size_t)capacity * size) : realloc(*array, (size_t)capacity * size);
    if (grown == NULL) return false;
    if (*array == small) memcpy(grown, small, (size_t)old * size);
    *array = grown;
    return true;
}

static bool graph_add(graph *g, nbi_node *node, uint64_t run)
{
    if (g->count == g->capacity) {
        int64_t capacity = g->capacity ? g->capacity * 2 : 64;
        if (!grow((void **)&g->nodes, g->small_nodes, g->count, capacity, sizeof *g->nodes)
            || !grow((void **)&g->pending, g->small_pending, g->count, capacity, sizeof *g->pending)
            || !grow((void **)&g->first_slot, g->small_first_slot, g->count, capacity, sizeof *g->first_slot))
            return false;
        g->capacity = capacity;
    }
    if (g->nslots + node->noutputs > g->slot_capacity) {
        int64_t capacity = g->slot_capacity ? g->slot_capacity * 2 : 64;
        while (capacity < g->nslots + node->noutputs) capacity *= 2;
        if (!grow((void **)&g->slots, g->small_slots, g->nslots, capacity, sizeof *g->slots)) return false;
        g->slot_capacity = capacity;
    }
    /* The run holds each node: running a node releases its inputs, which
     * may be the last holders of nodes still waiting to run. */
    atomic_fetch_add_explicit(&node->refcount, 1, memory_order_relaxed);
    node->engine_run            = run;
    node->engine_index          = g->count;
    g->nodes[g->count]          = node;
    g->pending[g->count]        = 0;
    g->first_slot[g->count]     = g->nslots;
    for (int k = 0; k < node->noutputs; k++) g->slots[g->nslots + k] = NULL;
    g->nslots += node->noutputs;
    g->count++;
    return true;
}

/* The index of leaf in the run, -1 if absent. */
static int64_t find_leaf(const graph *g, const nb_tensor *leaf)
{
    if (g->leaf_index.size == 0) {
        for (int64_t j = 0; j < g->nleaves; j++)
            if (g->leaves[j] == leaf) return j;
        return -1;
    }
    return *nbi_pointer_slot(&g->leaf_index, (const void *const *)g->leaves, leaf) - 1;
}

/* The index of leaf in the run, added when new; -1 on OOM. */
static int64_t leaf_index(graph *g, nb_tensor *leaf)
{
    int64_t j = find_leaf(g, leaf);
    if (j >= 0) return j;
    if (g->nleaves >= LINEAR_LEAVES
        && !nbi_pointer_index_reserve(&g->leaf_index, (const void *const *)g->leaves, g->nleaves))
        return -1;
    if (g->nleaves == g->leaf_capacity) {
        int64_t capacity = g->leaf_capacity * 2;
        if (!grow((void **)&g->leaves, g->small_leaves, g->nleaves, capacity, sizeof *g->leaves)
            || !grow((void **)&g->leaf_pending, g->small_leaf_pending, g->nleaves, capacity, sizeof *g->leaf_pending)
            || !grow((void **)&g->leaf_grads, g->small_leaf_grads, g->nleaves, capacity, sizeof *g->leaf_grads))
            return -1;
        g->leaf_capacity = capacity;
    }
    j                  = g->nleaves++;
    g->leaves[j]       = leaf;
    g->leaf_pending[j] = 0;
    g->leaf_grads[j]   = NULL;
    if (g->leaf_index.size) *nbi_pointer_slot(&g->leaf_index, (const void *const *)g->leaves, leaf) = j + 1;
    return j;
}

/* Every node reachable from the roots, and the count of edges into each
 * node and leaf. Iterative: g->nodes doubles as the work list. */
static bool collect(graph *g, int nroots, nb_tensor *const *roots, uint64_t run)
{
    for (int r = 0; r < nroots; r++) {
        nbi_node *node = roots[r]->grad_fn;
        if (node && node->engine_run != run && !graph_add(g, node, run)) return false;
    }
    for (int64_t next = 0; next < g->count; next++) {
        nbi_node *node = g->nodes[next];
        for (int i = 0; i < node->ninputs; i++) {
            nbi_node *child = node->edges[i].fn;
            if (!node->edges[i].needs_grad) continue;
            if (child == NULL) {
                int64_t j = node->inputs[i] ? leaf_index(g, node->inputs[i]) : 0;
                if (j < 0) return false;
                if (node->inputs[i]) g->leaf_pending[j]++;
                continue;
            }
            if (child->engine_run != run && !graph_add(g, child, run)) return false;
            g->pending[child->engine_index]++;
        }
    }
    return true;
}

/* *slot += grad, taking grad over. */
static nb_status accumulate(nb_tensor **slot, nb_tensor *grad)
{
    if (*slot == NULL) {
        *slot = grad;
        return NB_OK;
    }
    nb_tensor *sum = nb_add(*slot, grad);
    nb_free(grad);
    if (sum == NULL) return nb_last_status();
    nb_free(*slot);
    *slot = sum;
    return NB_OK;
}

/* A gradient reaching a tensor's .grad (a leaf, or a non-leaf that retains
 * its grad): stored as an internal reference outside every scope. */
static nb_status add_to_tensor_grad(nb_tensor *t, nb_tensor *grad, bool create_graph)
{
    if (t->grad == NULL) {
        nb_tensor *stored = grad;
        bool       fresh  = !create_graph && atomic_load(&grad->refcount) == 1
                     && atomic_load(&grad->storage->refcount) == 1 && nb_is_contiguous(grad)
                     && grad->grad_fn == NULL && grad->view_base == NULL;
        if (!fresh) {
            /* grad may share storage with a user's tensor: copy it. */
            if (create_graph) {
                stored = nbi_alias_recorded(grad, "nb_backward");
            } else {
                stored = nb_clone(grad);
            }
            if (stored == NULL) return nb_last_status();
        }
        if (fresh) nbi_tensor_retain(stored); /* the caller still frees its handle */
        if (!create_graph) stored->requires_grad = false;
        nbi_unscope(stored);
        t->grad = stored;
        return NB_OK;
    }
    if (create_graph) {
        nb_tensor *sum = nb_add(t->grad, grad);
        if (sum == NULL) return nb_last_status();
        nbi_unscope(sum);
        nbi_tensor_release(t->grad);
        t->grad = sum;
        return NB_OK;
    }
    return nb_add_(t->grad, grad) ? NB_OK : nb_last_status();
}

/* A gradient reaching a leaf: its hooks, then its .grad or the caller's
 * array. Takes grad over. */
static nb_status deliver_to_leaf(nb_tensor *leaf, nb_tensor *grad, const run_goal *goal, const char *op)
{
    nb_status status = leaf->hooks ? nbi_run_hooks(leaf->hooks, 0, &grad, op) : NB_OK;
    if (status == NB_OK && goal->accumulate) status = add_to_tensor_grad(leaf, grad, goal->create_graph);
    for (int k = 0; status == NB_OK && !goal->accumulate && k < goal->ntargets; k++) {
        if (nbi_identity(goal->targets[k]) != leaf) continue;
        nb_tensor *copy = nbi_alias_recorded(grad, "nb_grad_of");
        status          = copy ? accumulate(&goal->captured[k], copy) : nb_last_status();
    }
    nb_free(grad);
    return status;
}

static nb_status check_versions(nbi_node *node, const char *op)
{
    for (int i = 0; i < node->ninputs; i++) {
        if (!(node->saved_mask & NBI_SAVES(i)) || node->inputs[i] == NULL) continue;
        uint64_t now = node->inputs[i]->storage->version;
        if (now != node->versions[i])
            return nbi_fail_status(NB_ERR_STATE,
                                   "%s: a tensor needed for gradient computation has been modified by an in-place "
                                   "operation: input %d of %s is at version %llu; expected version %llu",
                                   op, i, node->name, (unsigned long long)now, (unsigned long long)node->versions[i]);
    }
    if (node->saved_output && node->saved_output->storage->version != node->output_version)
        return nbi_fail_status(NB_ERR_STATE,
                               "%s: a tensor needed for gradient computation has been modified by an in-place "
                               "operation: the output of %s is at version %llu; expected version %llu",
                               op, node->name, (unsigned long long)node->saved_output->storage->version,
                               (unsigned long long)node->output_version);
    return NB_OK;
}

/* The node's formula, with its checks around it. */
static nb_status call_formula(nbi_node *node, nb_tensor *const *grads, nb_tensor **grad_inputs, const char *op)
{
    if (node->released)
        return nbi_fail_status(NB_ERR_STATE,
                               "%s: trying to backward through the graph a second time (%s was already freed); "
                               "set retain_graph in nb_grad_opts on the first backward to keep it",
                               op, node->name);
    nb_status status = check_versions(node, op);
    if (status != NB_OK) return status;
    const nbi_node *outer = nbi_running_node;
    nbi_running_node      = node;
    status = node->backward_multi ? node->backward_multi(node, grads, grad_inputs)
                                  : node->backward(node, grads[0], grad_inputs);
    nbi_running_node = outer;
    if (status == NB_OK && nbi_anomaly_enabled()) status = nbi_anomaly_check(node, grad_inputs, op);
    return status;
}

/* Run one node: its gradients in, its inputs' gradients out along its
 * edges. */
static nb_status run_node(graph *g, nbi_node *node, nb_tensor *const *grads, const run_goal *goal,
                          bool retain_graph, int64_t *ready, int64_t *nready, const char *op)
{
    int         n           = node->ninputs;
    nb_tensor  *small[8]    = { 0 };
    nb_tensor **grad_inputs = n <= 8 ? small : calloc((size_t)n, sizeof *grad_inputs);
    if (grad_inputs == NULL) return nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    bool any = false;
    for (int k = 0; k < node->noutputs; k++) any = any || grads[k] != NULL;
    nb_status status = any ? call_formula(node, grads, grad_inputs, op) : NB_OK;
    for (int i = 0; i < n; i++) {
        const nbi_edge *edge = &node->edges[i];
        nb_tensor      *gi   = grad_inputs[i];
        if (status != NB_OK || !edge->needs_grad) {
            nb_free(gi);
            continue;
        }
        if (edge->fn != NULL) {
            int64_t child = edge->fn->engine_index;
            if (gi) status = accumulate(&g->slots[g->first_slot[child] + edge->slot], gi);
            if (--g->pending[child] == 0) ready[(*nready)++] = child;
        } else if (node->inputs[i]) {
            int64_t j = find_leaf(g, node->inputs[i]);
            if (gi) status = accumulate(&g->leaf_grads[j], gi);
            if (--g->leaf_pending[j] == 0 && status == NB_OK && g->leaf_grads[j]) {
                status           = deliver_to_leaf(g->leaves[j], g->leaf_grads[j], goal, op);
                g->leaf_grads[j] = NULL;
            }
        } else {
            nb_free(gi);
        }
    }
    if (grad_inputs != small) free(grad_inputs);
    if (status == NB_OK && !retain_graph && any) nbi_node_drop_saved(node);
    return status;
}

/* The gradients of node's outputs are complete: its hooks may replace
 * them, and they are the gradients of the tensors it made, for retain_grad
 * and for nb_grad_of's targets. */
static nb_status finish_output_grads(nbi_node *node, nb_tensor **grads, const run_goal *goal, const char *op)
{
    nb_status status = NB_OK;
    for (int slot = 0; slot < node->noutputs && status == NB_OK; slot++) {
        if (grads[slot] == NULL) continue;
        if (node->hooks) status = nbi_run_hooks(node->hooks, slot, &grads[slot], op);
        if (status == NB_OK && slot == 0 && node->retain_owner && goal->accumulate)
            status = add_to_tensor_grad(node->retain_owner, grads[slot], goal->create_graph);
        for (int k = 0; status == NB_OK && k < goal->ntargets; k++) {
            if (goal->targets[k]->grad_fn != node || goal->targets[k]->output_nr != slot) continue;
            nb_tensor *copy = nbi_alias_recorded(grads[slot], op);
            status          = copy ? accumulate(&goal->captured[k], copy) : nb_last_status();
        }
    }
    return status;
}

static nb_status run_backward(int nroots, nb_tensor *const *roots, nb_tensor *const *root_grads, bool retain_graph,
                              run_goal *goal, const char *op)
{
    uint64_t  run    = atomic_fetch_add(&engine_runs, 1) + 1;
    graph     g; /* NOTE: not "= { 0 }": zeroing its small arrays costs more than the run */
    graph_init(&g);
    int64_t  *ready  = NULL;
    nb_status status = NB_OK;
    if (nb_scope_begin() != NB_OK) return nb_last_status();
    nbi_grad_mode_push(goal->create_graph);
    ready = g.small_ready;
    if (!collect(&g, nroots, roots, run)
        || (g.count >= SMALL_GRAPH && (ready = malloc((size_t)(g.count + 1) * sizeof *ready)) == NULL)) {
        status = nbi_fail_status(NB_ERR_OOM, "%s: out of memory collecting the graph", op);
        goto done;
    }
    for (int r = 0; r < nroots && status == NB_OK; r++) {
        nb_tensor *grad = nbi_alias_recorded(root_grads[r], op);
        nbi_node  *node = roots[r]->grad_fn;
        if (grad == NULL) {
            status = nb_last_status();
        } else if (node) {
            status = accumulate(&g.slots[g.first_slot[node->engine_index] + roots[r]->output_nr], grad);
        } else {
            int64_t j = leaf_index(&g, nbi_identity(roots[r]));
            status    = j < 0 ? nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op) : accumulate(&g.leaf_grads[j], grad);
        }
    }
    /* Leaves that are only roots are complete now. */
    for (int64_t j = 0; j < g.nleaves && status == NB_OK; j++) {
        if (g.leaf_pending[j] != 0 || g.leaf_grads[j] == NULL) continue;
        status          = deliver_to_leaf(g.leaves[j], g.leaf_grads[j], goal, op);
        g.leaf_grads[j] = NULL;
    }
    int64_t nready = 0;
    for (int64_t i = 0; i < g.count; i++)
        if (g.pending[i] == 0) ready[nready++] = i;
    while (status == NB_OK && nready > 0) {
        int64_t     index = ready[--nready];
        nbi_node   *node  = g.nodes[index];
        nb_tensor **grads = &g.slots[g.first_slot[index]];
        status            = finish_output_grads(node, grads, goal, op);
        if (status == NB_OK) status = run_node(&g, node, grads, goal, retain_graph, ready, &nready, op);
        for (int k = 0; k < node->noutputs; k++) {
            nb_free(g.slots[g.first_slot[index] + k]); /* grads may have moved: index again */
            g.slots[g.first_slot[index] + k] = NULL;
        }
    }
done:
    /* Captured gradients outlive the run's scope: take them out first. */
    for (int k = 0; k < goal->ntargets; k++)
        if (goal->captured[k]) nbi_unscope(goal->captured[k]);
    nb_scope_end();
    for (int64_t i = 0; i < g.count; i++) {
        g.nodes[i]->engine_run = 0;
        nbi_node_release(g.nodes[i]);
    }
    nbi_grad_mode_pop();
    graph_free(&g);
    if (ready != g.small_ready) free(ready);
    for (int k = 0; k < goal->ntargets; k++) {
        if (goal->captured[k] == NULL) continue;
        if (status == NB_OK) {
            nbi_adopt(goal->captured[k]);
        } else {
            nb_free(goal->captured[k]);
            goal->captured[k] = NULL;
        }
    }
    return status;
}

/* ------------------------------------------------------------------------ */
/* Public entry points                                                       */
/* ------------------------------------------------------------------------ */

static nb_status check_root(const nb_tensor *t, const char *op, int index)
{
    nbi_refresh_view(t);
    if (!t->requires_grad)
        return nbi_fail_status(NB_ERR_STATE, "%s: output %d does not require grad and has no grad_fn (was it "
                                             "computed in no-grad mode, or from tensors that need no grad?)",
                               op, index);
    return NB_OK;
}

static nb_status check_grad_output(const nb_tensor *t, const nb_tensor *grad, const char *op)
{
    char a[NBI_SHAPE_STR_SIZE], b[NBI_SHAPE_STR_SIZE];
    if (!nbi_same_shape(grad, t))
        return nbi_fail_status(NB_ERR_SHAPE, "%s: grad_output has shape %s but the output has shape %s", op,
                               nbi_shape_str(grad->ndim, grad->shape, a, sizeof a),
                               nbi_shape_str(t->ndim, t->shape, b, sizeof b));
    if (grad->dtype != t->dtype)
        return nbi_fail_status(NB_ERR_DTYPE, "%s: grad_output is %s but the output is %s", op,
                               nb_dtype_name(grad->dtype), nb_dtype_name(t->dtype));
    if (grad->storage->device.type != t->storage->device.type || grad->storage->device.index != t->storage->device.index)
        return nbi_fail_status(NB_ERR_DEVICE, "%s: grad_output is on another device than the output", op);
    return NB_OK;
}

/* The given grad_output, or ones for a one-element t; a new handle. */
static nb_tensor *root_gradient(const nb_tensor *t, const nb_tensor *grad_output, const char *op)
{
    if (grad_output != NULL) {
        /* NOTE: a freed grad_output is caught here; aliasing it would take
         * a reference through a handle that is already released. */
        if (!nbi_check_tensor(grad_output, op, "grad_output")) return NULL;
        return check_grad_output(t, grad_output, op) == NB_OK ? nbi_alias_recorded(grad_output, op) : NULL;
    }
    if (t->numel != 1) {
        char s[NBI_SHAPE_STR_SIZE];
        return nbi_fail(NB_ERR_SHAPE, "%s: grad can be implicitly created only for one-element outputs (this one "
                                      "has shape %s); pass grad_output", op,
                        nbi_shape_str(t->ndim, t->shape, s, sizeof s));
    }
    nbi_grad_mode_push(false);
    nb_tensor *ones = nb_ones_like(t);
    nbi_grad_mode_pop();
    return ones;
}

nb_status nb_backward_with(nb_tensor *t, const nb_tensor *grad_output, nb_grad_opts opts)
{
    const char *op = "nb_backward";
    if (!nbi_check_tensor(t, op, "t")) return NB_ERR_ARG;
    nb_status status = check_root(t, op, 0);
    if (status != NB_OK) return status;
    if (opts.create_graph && !nbi_grad_enabled())
        return nbi_fail_status(NB_ERR_STATE, "%s: create_graph inside no-grad mode cannot record the backward "
                                             "pass; end the no-grad region first", op);
    nb_tensor *grad = root_gradient(t, grad_output, op);
    if (grad == NULL) return nb_last_status();
    run_goal goal = { .accumulate = true, .create_graph = opts.create_graph };
    status        = run_backward(1, &t, &grad, opts.retain_graph || opts.create_graph, &goal, op);
    nb_free(grad);
    return status;
}

nb_status nb_backward(nb_tensor *t) { return nb_backward_with(t, NULL, NB_GRAD_OPTS()); }

nb_status nb_grad_of(nb_tensor *const *outputs, int n_outputs, nb_tensor *const *inputs, int n_inputs,
                     nb_tensor *const *grad_outputs, nb_grad_opts opts, nb_tensor **grads_out)
{
    const char *op = "nb_grad_of";
    if (outputs == NULL || inputs == NULL || grads_out == NULL || n_outputs < 1 || n_inputs < 1)
        return nbi_fail_status(NB_ERR_ARG, "%s: outputs, inputs and grads_out must be non-empty arrays", op);
    for (int k = 0; k < n_inputs; k++) grads_out[k] = NULL;
    for (int i = 0; i < n_outputs; i++)
        if (!nbi_check_tensor(outputs[i], op, "outputs[i]")) return NB_ERR_ARG;
    for (int k = 0; k < n_inputs; k++) {
        if (!nbi_check_tensor(inputs[k], op, "inputs[k]")) return NB_ERR_ARG;
        nbi_refresh_view(inputs[k]);
        if (!inputs[k]->requires_grad)
            return nbi_fail_status(NB_ERR_STATE, "%s: input %d does not require grad", op, k);
    }
    if (opts.create_graph && !nbi_grad_enabled())
        return nbi_fail_status(NB_ERR_STATE, "%s: create_graph inside no-grad mode cannot record the backward "
                                             "pass; end the no-grad region first", op);
    nb_tensor *stack_grads[8] = { 0 };
    nb_tensor **root_grads = n_outputs <= 8 ? stack_grads : calloc((size_t)n_outputs, sizeof *root_grads);
    if (root_grads == NULL) return nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    nb_status status = NB_OK;
    for (int i = 0; i < n_outputs && status == NB_OK; i++) {
        status = check_root(outputs[i], op, i);
        if (status != NB_OK) break;
        root_grads[i] = root_gradient(outputs[i], grad_outputs ? grad_outputs[i] : NULL, op);
        if (root_grads[i] == NULL) status = nb_last_status();
    }
    if (status == NB_OK) {
        run_goal goal = { .accumulate = false, .create_graph = opts.create_graph, .ntargets = n_inputs,
                          .targets = inputs, .captured = grads_out };
        status = run_backward(n_outputs, outputs, root_grads, opts.retain_graph || opts.create_graph, &goal, op);
    }
    for (int i = 0; i < n_outputs; i++) nb_free(root_grads[i]);
    if (root_grads != stack_grads) free(root_grads);
    for (int k = 0; status == NB_OK && k < n_inputs; k++) {
        if (grads_out[k] == NULL && !opts.allow_unused)
            status = nbi_fail_status(NB_ERR_STATE, "%s: input %d is not used in the graph of the outputs; set "
                                                   "allow_unused to get NULL for it", op, k);
    }
    if (status != NB_OK)
        for (int k = 0; k < n_inputs; k++) {
            nb_free(grads_out[k]);
            grads_out[k] = NULL;
        }
    return status;
}
