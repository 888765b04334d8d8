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

#include <stdlib.h>

static atomic_uint_fast64_t engine_runs;

typedef struct {
    nbi_node  **nodes;
    int64_t    *pending;  /* edges into node i not yet run */
    nb_tensor **grads;    /* gradient summed so far for node i's output */
    int64_t     count, capacity;
} graph;

/* What the run produces: into leaves' .grad, or into the caller's array. */
typedef struct {
    bool              accumulate;   /* nb_backward: leaves' .grad += */
    bool              create_graph;
    int               ntargets;     /* nb_grad_of */
    nb_tensor *const *targets;
    nb_tensor       **captured;
} run_goal;

static bool graph_add(graph *g, nbi_node *node, uint64_t run)
{
    if (g->count == g->capacity) {
        int64_t capacity = g->capacity ? g->capacity * 2 : 64;
        void   *nodes    = realloc(g->nodes, (size_t)capacity * sizeof *g->nodes);
        if (nodes) g->nodes = nodes;
        void *pending = nodes ? realloc(g->pending, (size_t)capacity * sizeof *g->pending) : NULL;
        if (pending) g->pending = pending;
        void *grads = pending ? realloc(g->grads, (size_t)capacity * sizeof *g->grads) : NULL;
        if (grads) g->grads = grads;
        if (grads == NULL) return false;
        g->capacity = capacity;
    }
    /* The run holds each node: running a node releases its inputs, which
     * may be the last holders of nodes still waiting to run. */
    atomic_fetch_add_explicit(&node->refcount, 1, memory_order_relaxed);
    node->engine_run          = run;
    node->engine_index        = g->count;
    g->nodes[g->count]        = node;
    g->pending[g->count]      = 0;
    g->grads[g->count]        = NULL;
    g->count++;
    return true;
}

/* Every node reachable from the roots, and the count of edges into each.
 * Iterative: g->nodes doubles as the work list. */
static bool collect(graph *g, int nroots, nb_tensor *const *roots, uint64_t run)
{
    for (int r = 0; r < nroots; r++) {
        nbi_node *node = roots[r]->grad_fn;
        if (node && node->engine_run != run && !graph_add(g, node, run)) return false;
    }
    for (int64_t next = 0; next < g->count; next++) {
        nbi_node *node = g->nodes[next];
        for (int i = 0; i < node->ninputs; i++) {
            nb_tensor *input = node->inputs[i];
            if (input == NULL || !input->requires_grad || input->grad_fn == NULL) continue;
            nbi_node *child = input->grad_fn;
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
                     && grad->grad_fn == NULL;
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

static nb_status deliver_to_leaf(nb_tensor *leaf, nb_tensor *grad, const run_goal *goal)
{
    if (goal->accumulate) return add_to_tensor_grad(leaf, grad, goal->create_graph);
    for (int k = 0; k < goal->ntargets; k++) {
        if (goal->targets[k] != leaf) continue;
        nb_tensor *copy = nbi_alias_recorded(grad, "nb_grad_of");
        if (copy == NULL) return nb_last_status();
        nb_status status = accumulate(&goal->captured[k], copy);
        if (status != NB_OK) return status;
    }
    return NB_OK;
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

/* Release what a node holds once it has run, so that a graph's memory goes
 * as the backward pass goes. */
static void release_node(nbi_node *node)
{
    node->released = true;
    for (int i = 0; i < node->ninputs; i++) {
        if (node->inputs[i]) nbi_tensor_release(node->inputs[i]);
        node->inputs[i] = NULL;
    }
    if (node->saved_output) nbi_tensor_release(node->saved_output);
    node->saved_output = NULL;
}

/* Run one node: its gradient in, its inputs' gradients out. */
static nb_status run_node(graph *g, nbi_node *node, nb_tensor *grad, const run_goal *goal, bool retain_graph,
                          int64_t *ready, int64_t *nready, const char *op)
{
    int        n = node->ninputs;
    nb_tensor *small[8] = { 0 };
    nb_tensor **grad_inputs = n <= 8 ? small : calloc((size_t)n, sizeof *grad_inputs);
    if (grad_inputs == NULL) return nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    nb_status status = NB_OK;
    if (grad != NULL) {
        if (node->released) {
            status = nbi_fail_status(NB_ERR_STATE,
                                     "%s: trying to backward through the graph a second time (%s was already freed); "
                                     "set retain_graph in nb_grad_opts on the first backward to keep it",
                                     op, node->name);
        } else if ((status = check_versions(node, op)) == NB_OK) {
            status = node->backward(node, grad, grad_inputs);
        }
    }
    for (int i = 0; i < n; i++) {
        nb_tensor *input = node->inputs[i];
        nb_tensor *gi    = grad_inputs[i];
        if (status != NB_OK || input == NULL || !input->requires_grad) {
            nb_free(gi);
            continue;
        }
        if (input->grad_fn != NULL) {
            int64_t child = input->grad_fn->engine_index;
            if (gi && status == NB_OK) status = accumulate(&g->grads[child], gi);
            if (--g->pending[child] == 0) ready[(*nready)++] = child;
        } else if (gi) {
            status = deliver_to_leaf(input, gi, goal); /* takes no ownership of gi */
            nb_free(gi);
        }
    }
    if (grad_inputs != small) free(grad_inputs);
    if (status == NB_OK && !retain_graph && grad != NULL) release_node(node);
    return status;
}

static nb_status run_backward(int nroots, nb_tensor *const *roots, nb_tensor *const *root_grads, bool retain_graph,
                              run_goal *goal, const char *op)
{
    uint64_t run = atomic_fetch_add(&engine_runs, 1) + 1;
    graph    g   = { 0 };
    int64_t *ready = NULL;
    nb_status status = NB_OK;
    if (nb_scope_begin() != NB_OK) return nb_last_status();
    nbi_grad_mode_push(goal->create_graph);
    if (!collect(&g, nroots, roots, run) || (ready = malloc((size_t)(g.count + 1) * sizeof *ready)) == NULL) {
        status = nbi_fail_status(NB_ERR_OOM, "%s: out of memory collecting the graph", op);
        goto done;
    }
    for (int r = 0; r < nroots && status == NB_OK; r++) {
        nb_tensor *grad = nbi_alias_recorded(root_grads[r], op);
        if (grad == NULL) {
            status = nb_last_status();
        } else if (roots[r]->grad_fn) {
            status = accumulate(&g.grads[roots[r]->grad_fn->engine_index], grad);
        } else {
            status = deliver_to_leaf(roots[r], grad, goal);
            nb_free(grad);
        }
    }
    int64_t nready = 0;
    for (int64_t i = 0; i < g.count; i++)
        if (g.pending[i] == 0) ready[nready++] = i;
    while (status == NB_OK && nready > 0) {
        int64_t    index = ready[--nready];
        nbi_node  *node  = g.nodes[index];
        nb_tensor *grad  = g.grads[index];
        g.grads[index]   = NULL;
        /* The node's gradient is complete: it is also the gradient of the
         * tensors it made, for retain_grad and for nb_grad_of targets. */
        if (grad && node->retain_owner && goal->accumulate)
            status = add_to_tensor_grad(node->retain_owner, grad, goal->create_graph);
        for (int k = 0; grad && status == NB_OK && k < goal->ntargets; k++) {
            if (goal->targets[k]->grad_fn != node) continue;
            nb_tensor *copy = nbi_alias_recorded(grad, op);
            status          = copy ? accumulate(&goal->captured[k], copy) : nb_last_status();
        }
        if (status == NB_OK) status = run_node(&g, node, grad, goal, retain_graph, ready, &nready, op);
        nb_free(grad);
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
    free(g.nodes);
    free(g.pending);
    free(g.grads);
    free(ready);
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
    if (!t->requires_grad)
        return nbi_fail_status(NB_ERR_STATE, "%s: output %d does not require grad and has no grad_fn (was it "
                                             "computed in no-grad mode, or from tensors that need no grad?)",
                               op, index);
    return NB_OK;
}

static nb_status check_grad_output(const nb_tensor *t, const nb_tensor *grad, const char *op)
{
    char a[NBI_SHAPE_STR_SIZE], b[NBI_SHAPE_STR_SIZE];
    bool same_shape = grad->ndim == t->ndim;
    for (int d = 0; same_shape && d < t->ndim; d++) same_shape = grad->shape[d] == t->shape[d];
    if (!same_shape)
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
    if (grad_output != NULL)
        return check_grad_output(t, grad_output, op) == NB_OK ? nbi_alias_recorded(grad_output, op) : NULL;
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
