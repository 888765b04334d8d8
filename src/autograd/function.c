/*
 * function.c — custom differentiable functions (nb_function_apply), the C
 * form of torch.autograd.Function: the user gives forward and backward,
 * nabla records one node with as many outputs as forward made.
 *
 * The node's state is the function's context: what forward saved, which
 * inputs needed grad, which outputs are not differentiable, and each
 * output's geometry (for zero gradients). Saved inputs are kept as the
 * input handles themselves, so a backward written with nb_* ops records
 * through them under create_graph; other saved tensors (outputs,
 * temporaries) are kept as detached aliases: an output's history leads
 * back to this node, and holding it would be a cycle.
 */
#include "autograd.h"

#include <stdlib.h>

struct nb_function_ctx {
    const nb_function_def *def;
    void                  *user;
    int                    ninputs, noutputs;
    bool                  *needs_input_grad; /* [ninputs] */
    nb_tensor *const      *inputs;           /* during forward */
    nb_tensor            **saved;            /* references: as given, then as held (hold_saved) */
    uint64_t              *saved_versions;
    int                    nsaved;
    const nb_tensor      **marked_non_diff;  /* pointers given in forward */
    int                    nmarked_non_diff;
    const nb_tensor      **marked_dirty;
    int                    nmarked_dirty;
    bool                  *non_diff;         /* [noutputs], resolved after forward */
    nb_shape              *out_shapes;       /* [noutputs] */
    nb_dtype              *out_dtypes;
    bool                   materialize;
    bool                   in_forward;
};

static void ctx_free(void *state)
{
    nb_function_ctx *ctx = state;
    if (ctx == NULL) return;
    for (int i = 0; i < ctx->nsaved; i++)
        if (ctx->saved[i]) nbi_tensor_release(ctx->saved[i]);
    free(ctx->saved);
    free(ctx->saved_versions);
    free(ctx->marked_non_diff);
    free(ctx->marked_dirty);
    free(ctx->needs_input_grad);
    free(ctx->non_diff);
    free(ctx->out_shapes);
    free(ctx->out_dtypes);
    free(ctx);
}

void *nb_ctx_user(const nb_function_ctx *ctx) { return ctx ? ctx->user : NULL; }

bool nb_ctx_needs_input_grad(const nb_function_ctx *ctx, int index)
{
    if (ctx == NULL) return nbi_fail_status(NB_ERR_ARG, "nb_ctx_needs_input_grad: ctx is NULL"), false;
    if (index < 0 || index >= ctx->ninputs)
        return nbi_fail_status(NB_ERR_INDEX, "nb_ctx_needs_input_grad: index %d is out of range for %d inputs", index,
                               ctx->ninputs), false;
    return ctx->needs_input_grad[index];
}

void nb_ctx_set_materialize_grads(nb_function_ctx *ctx, bool materialize)
{
    if (ctx) ctx->materialize = materialize;
}

static bool in_forward(const nb_function_ctx *ctx, const char *op)
{
    if (ctx == NULL) return nbi_fail_status(NB_ERR_ARG, "%s: ctx is NULL", op), false;
    if (!ctx->in_forward) return nbi_fail_status(NB_ERR_STATE, "%s: only allowed inside forward", op), false;
    return true;
}

nb_status nb_ctx_save_for_backward(nb_function_ctx *ctx, nb_tensor *const *tensors, int count)
{
    const char *op = "nb_ctx_save_for_backward";
    if (!in_forward(ctx, op)) return nb_last_status();
    if (ctx->nsaved > 0) return nbi_fail_status(NB_ERR_STATE, "%s: called twice", op);
    if (count < 0 || (count > 0 && tensors == NULL)) return nbi_fail_status(NB_ERR_ARG, "%s: no tensors", op);
    for (int i = 0; i < count; i++)
        if (!nbi_check_tensor(tensors[i], op, "tensors[i]")) return NB_ERR_ARG;
    ctx->saved          = calloc((size_t)count + 1, sizeof *ctx->saved);
    ctx->saved_versions = calloc((size_t)count + 1, sizeof *ctx->saved_versions);
    if (ctx->saved == NULL || ctx->saved_versions == NULL) return nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    /* Retained now: forward may free its handles before it returns. */
    for (int i = 0; i < count; i++) {
        ctx->saved[i] = tensors[i];
        nbi_tensor_retain(tensors[i]);
    }
    ctx->nsaved = count;
    return NB_OK;
}

static int input_index(nb_tensor *const *inputs, int n_inputs, const nb_tensor *t)
{
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i] == t) return i;
    return -1;
}

static bool listed(const nb_tensor *const *list, int count, const nb_tensor *t)
{
    for (int i = 0; i < count; i++)
        if (list[i] == t) return true;
    return false;
}

/* After forward: hold what it saved. An input (not dirty) is held as a
 * node holds its inputs (nbi_held_input: with its history, so a backward
 * recorded under create_graph reaches it); anything else as a detached
 * alias (an output's history leads back to this node: holding it would be
 * a cycle). Versions are taken now, as PyTorch does. */
static nb_status hold_saved(nb_function_ctx *ctx)
{
    for (int i = 0; i < ctx->nsaved; i++) {
        nb_tensor *given = ctx->saved[i];
        bool       input = input_index(ctx->inputs, ctx->ninputs, given) >= 0
                     && !listed(ctx->marked_dirty, ctx->nmarked_dirty, given);
        nb_tensor *held  = input ? nbi_held_input(given) : nbi_alias_unscoped(given);
        if (held == NULL) return nb_last_status(); /* ctx_free releases what is held so far */
        nbi_tensor_release(given); /* the reference taken when it was saved */
        ctx->saved[i]          = held;
        ctx->saved_versions[i] = held->storage->version;
    }
    return NB_OK;
}

nb_tensor *nb_ctx_saved(const nb_function_ctx *ctx, int index)
{
    if (ctx == NULL) return nbi_fail(NB_ERR_ARG, "nb_ctx_saved: ctx is NULL");
    if (index < 0 || index >= ctx->nsaved)
        return nbi_fail(NB_ERR_INDEX, "nb_ctx_saved: index %d is out of range for %d saved tensors", index, ctx->nsaved);
    return ctx->saved[index];
}

static nb_status mark(nb_function_ctx *ctx, const nb_tensor *t, const nb_tensor ***list, int *count, const char *op)
{
    if (!in_forward(ctx, op)) return nb_last_status();
    if (!nbi_check_tensor(t, op, "t")) return NB_ERR_ARG;
    const nb_tensor **grown = realloc(*list, (size_t)(*count + 1) * sizeof *grown);
    if (grown == NULL) return nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    grown[(*count)++] = t;
    *list             = grown;
    return NB_OK;
}

/* NOTE: a NULL ctx is refused before &ctx->... is formed (undefined even
 * when not read; UBSan reports it). */
nb_status nb_ctx_mark_non_differentiable(nb_function_ctx *ctx, const nb_tensor *output)
{
    if (!in_forward(ctx, "nb_ctx_mark_non_differentiable")) return nb_last_status();
    return mark(ctx, output, &ctx->marked_non_diff, &ctx->nmarked_non_diff, "nb_ctx_mark_non_differentiable");
}

nb_status nb_ctx_mark_dirty(nb_function_ctx *ctx, const nb_tensor *input)
{
    if (!in_forward(ctx, "nb_ctx_mark_dirty")) return nb_last_status();
    if (input != NULL && input_index(ctx->inputs, ctx->ninputs, input) < 0)
        return nbi_fail_status(NB_ERR_ARG, "nb_ctx_mark_dirty: the tensor is not one of the function's inputs");
    return mark(ctx, input, &ctx->marked_dirty, &ctx->nmarked_dirty, "nb_ctx_mark_dirty");
}

/* ------------------------------------------------------------------------ */
/* Backward                                                                  */
/* ------------------------------------------------------------------------ */

/* Check what the user's backward returned for input i: NULL, or a tensor
 * of the input's shape (converted to its dtype). */
static nb_status check_grad_input(nbi_node *node, int i, nb_tensor **grad)
{
    const nb_tensor *input = nbi_input(node, i);
    nb_tensor       *g     = *grad;
    if (!nbi_same_shape(g, input)) {
        char a[NBI_SHAPE_STR_SIZE], b[NBI_SHAPE_STR_SIZE];
        return nbi_fail_status(NB_ERR_SHAPE, "%s: backward returned a gradient of shape %s for input %d of shape %s",
                               node->name, nbi_shape_str(g->ndim, g->shape, a, sizeof a), i,
                               nbi_shape_str(input->ndim, input->shape, b, sizeof b));
    }
    if (g->dtype != input->dtype) {
        nb_tensor *converted = nb_to_dtype(g, input->dtype);
        if (converted == NULL) return nb_last_status();
        *grad = converted;
    }
    return NB_OK;
}

static nb_status function_backward(nbi_node *node, nb_tensor *const *grad_outputs, nb_tensor **grad_inputs)
{
    nb_function_ctx *ctx = node->state;
    for (int i = 0; i < ctx->nsaved; i++)
        if (ctx->saved[i]->storage->version != ctx->saved_versions[i])
            return nbi_fail_status(NB_ERR_STATE,
                                   "nb_backward: a tensor needed for gradient computation has been modified by an "
                                   "in-place operation: saved tensor %d of %s is at version %llu; expected version %llu",
                                   i, node->name, (unsigned long long)ctx->saved[i]->storage->version,
                                   (unsigned long long)ctx->saved_versions[i]);
    NBI_FORMULA_BEGIN();
    nb_tensor  *small[8]   = { 0 };
    nb_tensor **gouts      = ctx->noutputs <= 8 ? small : calloc((size_t)ctx->noutputs, sizeof *gouts);
    nb_status   status     = gouts ? NB_OK : nbi_fail_status(NB_ERR_OOM, "%s: out of memory", node->name);
    for (int k = 0; status == NB_OK && k < ctx->noutputs; k++) {
        gouts[k] = ctx->non_diff[k] ? NULL : grad_outputs[k];
        if (gouts[k] == NULL && ctx->materialize) {
            nbi_grad_mode_push(false);
            gouts[k] = nb_zeros(ctx->out_shapes[k], NB_OPTS(.dtype = ctx->out_dtypes[k]));
            nbi_grad_mode_pop();
            if (gouts[k] == NULL) status = nb_last_status();
        }
    }
    nb_tensor **results = NULL;
    if (status == NB_OK) results = calloc((size_t)ctx->ninputs + 1, sizeof *results);
    if (status == NB_OK && results == NULL) status = nbi_fail_status(NB_ERR_OOM, "%s: out of memory", node->name);
    if (status == NB_OK) {
        status = ctx->def->backward(ctx, gouts, ctx->noutputs, results, ctx->ninputs);
        if (status != NB_OK && nb_last_status() == NB_OK)
            nbi_fail_status(status, "%s: the custom function's backward failed", node->name);
    }
    for (int i = 0; status == NB_OK && i < ctx->ninputs; i++) {
        if (results[i] == NULL || !nbi_input_needs_grad(node, i)) continue;
        status = check_grad_input(node, i, &results[i]);
        if (status == NB_OK) status = nbi_keep_grad(results[i], &grad_inputs[i]);
    }
    free(results);
    if (gouts != small) free(gouts);
    NBI_FORMULA_END(status);
}

/* ------------------------------------------------------------------------ */
/* Apply                                                                     */
/* ------------------------------------------------------------------------ */

static nb_status check_args(const nb_function_def *def, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                            int n_outputs)
{
    const char *op = "nb_function_apply";
    if (def == NULL || def->forward == NULL || def->backward == NULL)
        return nbi_fail_status(NB_ERR_ARG, "%s: def, def->forward and def->backward must be given", op);
    if (outputs == NULL || n_outputs < 1 || n_inputs < 0 || (n_inputs > 0 && inputs == NULL))
        return nbi_fail_status(NB_ERR_ARG, "%s: outputs must hold at least one tensor, inputs n_inputs", op);
    for (int i = 0; i < n_inputs; i++)
        if (!nbi_check_tensor(inputs[i], op, "inputs[i]")) return NB_ERR_ARG;
    return NB_OK;
}

/* After forward: every output is a tensor; an input given back is dirty;
 * every dirty input is given back; dirty leaves are refused. */
static nb_status check_outputs(nb_function_ctx *ctx, nb_tensor *const *inputs, nb_tensor **outputs, bool records)
{
    const char *name = ctx->def->name ? ctx->def->name : "nb_function_apply";
    for (int k = 0; k < ctx->noutputs; k++) {
        if (outputs[k] == NULL)
            return nb_last_status() != NB_OK ? nb_last_status()
                                             : nbi_fail_status(NB_ERR_ARG, "%s: forward left output %d NULL", name, k);
        int i = input_index(inputs, ctx->ninputs, outputs[k]);
        if (i >= 0 && !listed(ctx->marked_dirty, ctx->nmarked_dirty, outputs[k]))
            return nbi_fail_status(NB_ERR_ARG, "%s: forward returned input %d as output %d without marking it dirty "
                                               "(return a new tensor, or nb_ctx_mark_dirty it)", name, i, k);
    }
    for (int m = 0; m < ctx->nmarked_dirty; m++) {
        int i = input_index(inputs, ctx->ninputs, ctx->marked_dirty[m]);
        if (i < 0 || input_index(outputs, ctx->noutputs, ctx->marked_dirty[m]) < 0)
            return nbi_fail_status(NB_ERR_ARG, "%s: a tensor marked dirty must be an input returned as an output",
                                   name);
        const nb_tensor *t    = inputs[i];
        const nb_tensor *base = t->view_base;
        if (records && t->requires_grad && t->grad_fn == NULL && base == NULL)
            return nbi_fail_status(NB_ERR_STATE, "%s: a leaf tensor that requires grad is used in an in-place "
                                                 "operation (input %d was marked dirty)", name, i);
        if (records && base && base->requires_grad && base->grad_fn == NULL)
            return nbi_fail_status(NB_ERR_STATE, "%s: a view of a leaf tensor that requires grad is used in an "
                                                 "in-place operation (input %d was marked dirty)", name, i);
    }
    return NB_OK;
}

/* Replace each dirty input given back as an output by a new handle
 * viewing it, so that every output is the caller's to free. */
static nb_status own_outputs(nb_function_ctx *ctx, nb_tensor **outputs, int *dirty_input)
{
    for (int k = 0; k < ctx->noutputs; k++) {
        dirty_input[k] = input_index(ctx->inputs, ctx->ninputs, outputs[k]);
        if (dirty_input[k] < 0) continue;
        nb_tensor *alias = nbi_alias(outputs[k]);
        if (alias == NULL) return nb_last_status();
        nbi_set_view_base(alias, outputs[k]);
        outputs[k] = alias;
    }
    return NB_OK;
}

static void free_outputs(nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs, int n_outputs)
{
    for (int k = 0; k < n_outputs; k++) {
        if (outputs[k] && input_index(inputs, n_inputs, outputs[k]) < 0) nb_free(outputs[k]);
        outputs[k] = NULL;
    }
}

/* Give the differentiable outputs the node's history; a dirty input takes
 * it too, as an in-place op's result does (rebasing its base when it is a
 * view). */
static nb_status connect_outputs(nbi_node *node, nb_function_ctx *ctx, nb_tensor **outputs, const int *dirty_input)
{
    for (int k = 0; k < ctx->noutputs; k++) {
        nb_tensor *out = outputs[k];
        if (ctx->non_diff[k]) continue;
        if (out->grad_fn) nbi_node_release(out->grad_fn);
        atomic_fetch_add_explicit(&node->refcount, 1, memory_order_relaxed);
        out->grad_fn       = node;
        out->output_nr     = k;
        out->requires_grad = true;
        if (dirty_input[k] < 0) continue;
        nb_tensor *input = ctx->inputs[dirty_input[k]];
        if (nbi_take_history(input, out, node->name) == NULL) return nb_last_status();
        out->view_base_fn = out->view_base->grad_fn; /* out's own history is current */
    }
    return NB_OK;
}

static nb_function_ctx *ctx_new(const nb_function_def *def, void *user, nb_tensor *const *inputs, int n_inputs,
                                int n_outputs)
{
    nb_function_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) return NULL;
    ctx->def              = def;
    ctx->user             = user;
    ctx->inputs           = inputs;
    ctx->ninputs          = n_inputs;
    ctx->noutputs         = n_outputs;
    ctx->materialize      = true;
    ctx->needs_input_grad = calloc((size_t)n_inputs + 1, sizeof *ctx->needs_input_grad);
    ctx->non_diff         = calloc((size_t)n_outputs, sizeof *ctx->non_diff);
    ctx->out_shapes       = calloc((size_t)n_outputs, sizeof *ctx->out_shapes);
    ctx->out_dtypes       = calloc((size_t)n_outputs, sizeof *ctx->out_dtypes);
    if (!ctx->needs_input_grad || !ctx->non_diff || !ctx->out_shapes || !ctx->out_dtypes) {
        ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Record the node (its geometry from output 0, through an anchor handle
 * so that no output is touched twice) and connect the outputs. */
static nb_status record_function(nb_function_ctx *ctx, nb_tensor **outputs, const int *dirty_input)
{
    const char *name   = ctx->def->name ? ctx->def->name : "CustomFunctionBackward";
    nb_tensor  *anchor = nbi_alias(outputs[0]);
    if (anchor == NULL) return nb_last_status();
    nbi_node *node = nbi_record(anchor, name, NULL, ctx->ninputs, (const nb_tensor *const *)ctx->inputs, 0);
    if (node == NULL) {
        nb_free(anchor);
        ctx_free(ctx);
        return nb_last_status();
    }
    node->noutputs       = ctx->noutputs;
    node->backward_multi = function_backward;
    node->state          = ctx;
    node->state_free     = ctx_free;
    nb_status status     = connect_outputs(node, ctx, outputs, dirty_input);
    ctx->inputs          = NULL; /* the caller's array: not kept */
    nb_free(anchor);
    return status;
}

nb_status nb_function_apply(const nb_function_def *def, nb_tensor *const *inputs, int n_inputs,
                            nb_tensor **outputs, int n_outputs, void *user)
{
    nb_status status = check_args(def, inputs, n_inputs, outputs, n_outputs);
    if (status != NB_OK) return status;
    for (int k = 0; k < n_outputs; k++) outputs[k] = NULL;
    nb_function_ctx *ctx         = ctx_new(def, user, inputs, n_inputs, n_outputs);
    int             *dirty_input = calloc((size_t)n_outputs, sizeof *dirty_input);
    if (ctx == NULL || dirty_input == NULL) {
        ctx_free(ctx);
        free(dirty_input);
        return nbi_fail_status(NB_ERR_OOM, "nb_function_apply: out of memory");
    }
    bool records = nbi_should_record(n_inputs, (const nb_tensor *const *)inputs);
    for (int i = 0; i < n_inputs; i++) ctx->needs_input_grad[i] = records && inputs[i]->requires_grad;
    ctx->in_forward = true;
    nbi_grad_mode_push(false);
    status = def->forward(ctx, inputs, n_inputs, outputs, n_outputs);
    nbi_grad_mode_pop();
    ctx->in_forward = false;
    if (status != NB_OK && nb_last_status() == NB_OK)
        nbi_fail_status(status, "%s: the custom function's forward failed", def->name ? def->name : "nb_function_apply");
    if (status == NB_OK) status = check_outputs(ctx, inputs, outputs, records);
    if (status == NB_OK) status = own_outputs(ctx, outputs, dirty_input);
    bool any_diff = false;
    for (int k = 0; status == NB_OK && k < n_outputs; k++) {
        ctx->non_diff[k]   = listed(ctx->marked_non_diff, ctx->nmarked_non_diff, outputs[k])
                           || (dirty_input[k] >= 0 && listed(ctx->marked_non_diff, ctx->nmarked_non_diff,
                                                             inputs[dirty_input[k]]))
                           || !nb_dtype_is_floating(outputs[k]->dtype);
        ctx->out_shapes[k] = nb_shape_of(outputs[k]);
        ctx->out_dtypes[k] = outputs[k]->dtype;
        any_diff           = any_diff || !ctx->non_diff[k];
    }
    if (status == NB_OK && records && any_diff) {
        status = hold_saved(ctx);
        if (status == NB_OK) {
            status = record_function(ctx, outputs, dirty_input); /* takes ctx over */
        } else {
            ctx_free(ctx);
        }
        ctx = NULL;
    }
    ctx_free(ctx);
    free(dirty_input);
    if (status != NB_OK) free_outputs(inputs, n_inputs, outputs, n_outputs);
    return status;
}
