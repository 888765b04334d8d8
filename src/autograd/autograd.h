/*
 * autograd.h — the backward graph, shared by the ops that record into it
 * and the engine that runs it.
 *
 * A node is made by an op whose input requires grad, and hangs off the op's
 * output (output->grad_fn). It holds a reference to each input tensor (the
 * edges of the graph, and the values the backward formula reads), the op's
 * parameters, and optionally a detached copy of the output (exp's backward
 * reads exp(x)). Its backward function turns the gradient of the output into
 * gradients of the inputs using public nb_* ops, so that a backward pass run
 * with grad mode on is itself recorded (create_graph, double backward).
 *
 * Recording, from an op's front door:
 *
 *   if (nbi_should_record(2, inputs)) {
 *       nbi_node *node = nbi_record(out, "MulBackward", mul_backward, 2, inputs, NBI_SAVES(0) | NBI_SAVES(1));
 *       if (node == NULL) { nb_free(out); return NULL; }
 *   }
 */
#ifndef NABLA_AUTOGRAD_H
#define NABLA_AUTOGRAD_H

#include "core/internal.h"
#include "core/op_ids.h"

typedef struct nbi_node nbi_node;

/* grad_inputs[i] receives a new handle with the gradient for input i (the
 * input's shape and dtype), or NULL when there is none (input needs no grad,
 * or the gradient is zero). Returns NB_OK or the failing op's status. */
typedef nb_status (*nbi_backward_fn)(nbi_node *node, nb_tensor *grad_output, nb_tensor **grad_inputs);
/* The same for a node with several outputs (custom functions):
 * grad_outputs[k] is the gradient of output k, NULL when none reached it. */
typedef nb_status (*nbi_backward_multi_fn)(nbi_node *node, nb_tensor *const *grad_outputs, nb_tensor **grad_inputs);

enum { NBI_NODE_MAX_INTS = 2 * NB_MAX_DIMS + 2 };

/* Bit i set: the formula reads input i, so an in-place change to it after
 * recording is an error at backward time (version check). */
#define NBI_SAVES(i) (1u << (i))

/* Where an input's gradient goes: the node that made the input and which of
 * its outputs the input was, both as they were when the op ran. NOTE: the
 * edge is captured at record time, never read from the input later: an
 * in-place op gives the input a new history, which must not change the
 * gradient of ops that used its old value (PyTorch's rule). */
typedef struct {
    nbi_node *fn;         /* a reference; NULL for a leaf or a constant */
    int       slot;
    bool      needs_grad; /* the input required grad when the op ran */
} nbi_edge;

/* A gradient hook (hooks.c): on a leaf tensor, or on the node that made a
 * non-leaf (for output slot). */
typedef struct nbi_hook {
    int64_t          id;
    int              slot;
    nb_grad_hook     fn;     /* NULL: a reference (below) */
    void            *user;
    /* On a non-leaf tensor's own list: a reference to the node that holds
     * the hook (retained), so nb_remove_hook finds it after the tensor's
     * history has moved on (an in-place op). */
    struct nbi_node *holder;
    struct nbi_hook *next;
} nbi_hook;

struct nbi_node {
    atomic_int      refcount;      /* outputs pointing here + edges into here + engine holds */
    const char     *name;          /* "MulBackward0": static string */
    nbi_backward_fn backward;
    nbi_backward_multi_fn backward_multi; /* instead of backward when noutputs > 1 */
    int             ninputs;
    int             noutputs;      /* 1 except for custom functions */
    nb_tensor     **inputs;        /* retained handles (NULL after release) */
    nbi_edge       *edges;         /* one per input */
    uint64_t       *versions;      /* each input's storage version at record */
    uint32_t        saved_mask;    /* NBI_SAVES bits */
    nb_tensor      *saved_output;  /* detached alias of the output, or NULL */
    uint64_t        output_version;
    /* The output's geometry: shape checks and zero gradients. */
    int             ndim;
    int64_t         shape[NB_MAX_DIMS];
    nb_dtype        dtype;
    /* Op parameters. New formulas store a struct of their own
     * (NBI_NODE_PARAMS); older ones still use the positional arrays, whose
     * meaning is written at each formula. */
    union {
        struct {
            double  scalars[4];
            int64_t ints[NBI_NODE_MAX_INTS];
        };
        _Alignas(8) unsigned char params[4 * sizeof(double) + NBI_NODE_MAX_INTS * sizeof(int64_t)];
    };
    bool            is_view;       /* the output shares its input's storage */
    bool            released;      /* saved values freed by a backward pass */
    nb_tensor      *retain_owner;  /* weak: the tensor that called retain_grad */
    nbi_hook       *hooks;         /* gradient hooks of the outputs */
    /* Owned state of a custom function (function.c), freed with the node. */
    void           *state;
    void          (*state_free)(void *state);
    /* Anomaly mode: which recording this was, and the node whose backward
     * recorded it (double backward), for the error message. */
    uint64_t        anomaly_index;
    const char     *anomaly_parent;
    /* Engine bookkeeping, valid while engine_run matches the current run. */
    uint64_t        engine_run;
    int64_t         engine_index;
};

/* node's parameters as the op's own struct T, typed where they are stored
 * and read: *NBI_NODE_PARAMS(node, nbi_conv_geometry) = *geom. A T larger
 * than the node's parameter space fails to compile. */
#define NBI_NODE_PARAMS(node, T)                                                                   \
    ((void)sizeof(char[sizeof(T) <= sizeof((node)->params) ? 1 : -1]), (T *)(void *)(node)->params)

/* Drop one reference to node (node.c), or free a list of hooks and the
 * references its entries hold (hooks.c). Core releases a tensor's through
 * nbi_autograd_callbacks, which nbi_register_with_core hands it; a node or
 * a hook is only made after that call. */
void nbi_node_release(nbi_node *node);
void nbi_hooks_release(nbi_hook *hooks);
void nbi_register_with_core(void);

/* Grad mode of this thread (src/autograd/grad_mode.c). */
bool nbi_grad_enabled(void);
/* Push grad mode on/off for internal use (the engine); pop restores. */
void nbi_grad_mode_push(bool enabled);
void nbi_grad_mode_pop(void);

/* A view whose base has a new history since the view's was derived gets
 * its history re-derived from the base (view_history.c). Cheap when fresh:
 * every recording path calls it on its inputs. */
void nbi_refresh_view_slow(nb_tensor *t);
static inline void nbi_refresh_view(const nb_tensor *t)
{
    if (NBI_UNLIKELY(t->view_base != NULL && t->view_base->grad_fn != t->view_base_fn))
        nbi_refresh_view_slow((nb_tensor *)t);
}

/* Whether an op recording t as an input gives it an edge (a view made in
 * no-grad mode reports requires_grad but takes no gradient). */
static inline bool nbi_takes_grad(const nb_tensor *t) { return t->requires_grad && !t->view_without_grad; }

/* True when grad mode is on and some input requires grad. */
static inline bool nbi_should_record(int count, const nb_tensor *const *inputs)
{
    bool any = false;
    for (int i = 0; i < count; i++) {
        if (inputs[i] == NULL) continue;
        nbi_refresh_view(inputs[i]);
        any = any || inputs[i]->requires_grad;
    }
    return any && nbi_grad_enabled();
}

/* Make a node for out (which must have no grad_fn) with count inputs, mark
 * out as requiring grad, and return the node; NULL with NB_ERR_OOM. */
nbi_node *nbi_record(nb_tensor *out, const char *name, nbi_backward_fn backward, int count,
                     const nb_tensor *const *inputs, uint32_t saved_mask);
/* grad (a formula's result) linked to input i with a zero derivative, by
 * a node called name (static), when recording (create_graph) and grad has
 * no graph of its own: for formulas whose torch counterpart is one op that
 * takes x (relu, hardtanh, pools; zero_link.c). grad itself otherwise;
 * NULL on failure. */
nb_tensor *nbi_link_to_input(nbi_node *node, int i, nb_tensor *grad, const char *name);
/* t cast to like's dtype (t itself when it has it; NULL stays NULL): how a
 * formula computed in float32 for a half input rounds back once. */
static inline nb_tensor *nbi_in_dtype_of(nb_tensor *t, const nb_tensor *like)
{
    return t != NULL && t->dtype != like->dtype ? nb_to_dtype(t, like->dtype) : t;
}
/* Keep a detached alias of out for the formula (exp, tanh, sigmoid, ...). */
bool      nbi_save_output(nbi_node *node, const nb_tensor *out);
/* The saved output, or NULL when it was not saved. */
static inline nb_tensor *nbi_saved_output(nbi_node *node) { return node->saved_output; }
/* The saved output as a tensor made by node, for a formula recorded under
 * create_graph (d tanh(x)/dx = 1 - y^2 is differentiated through y). A new
 * handle; it holds node, which holds nothing of it (no cycle). */
nb_tensor *nbi_output_with_history(nbi_node *node);
/* What a node keeps of an input (node.c says why never the handle itself):
 * a leaf that requires grad, or a frozen alias; in no scope. */
nb_tensor *nbi_held_input(const nb_tensor *input);
/* A new handle (in no scope) to t's elements that carries the history
 * (fn, slot): what a node keeps of an input, frozen as it was. */
nb_tensor *nbi_alias_with_history(const nb_tensor *t, nbi_node *fn, int slot, bool requires_grad);

/* What an op that "returns t itself" returns: a new handle to t that is in
 * t's graph (an identity node when t requires grad). */
nb_tensor *nbi_alias_recorded(const nb_tensor *t, const char *op);

/* In-place ops while recording (grad mode on and t, its base or another
 * input requires grad) run as their out-of-place form plus a copy back:
 *
 *   nb_tensor *old = nbi_begin_in_place(t, "nb_mul_");   // t's old value and history
 *   return nbi_finish_in_place(t, old, nb_mul(old, b), "nb_mul_");
 *
 * begin refuses a leaf that requires grad and a view of one; it returns a
 * copy of t that carries t's history. finish writes the result into t,
 * gives t the result's history (for a view: its base gets a CopySlices
 * node, view_history.c), and frees old and the result; it returns t, or
 * NULL (t unchanged) when result is NULL or does not fit t. Costs one copy:
 * only taken when recording. */
static inline bool nbi_in_place_records(const nb_tensor *t, const nb_tensor *other)
{
    /* Integer tensors never require grad: writing a float that does into
     * one (copy_) takes no history. */
    if (!nbi_grad_enabled() || !nb_dtype_is_floating(t->dtype)) return false;
    nbi_refresh_view(t);
    if (other) nbi_refresh_view(other);
    bool base_in_graph = t->view_base != NULL && t->view_base->requires_grad;
    return t->requires_grad || base_in_graph || (other && other->requires_grad);
}
nb_tensor *nbi_begin_in_place(nb_tensor *t, const char *op);
nb_tensor *nbi_finish_in_place(nb_tensor *t, nb_tensor *old, nb_tensor *result, const char *op);
/* The history part of finish: t (already holding result's value) takes
 * result's history; a view rewrites its base's (view_history.c). */
nb_tensor *nbi_take_history(nb_tensor *t, nb_tensor *result, const char *op);
/* For ops whose new value does not depend on the old one (fill_, copy_ of
 * a constant): record on result a node named name whose input is old and
 * whose gradient is zero, so that t keeps requiring grad as in PyTorch.
 * Returns result, or NULL (result freed) on OOM. */
nb_tensor *nbi_record_overwrite(nb_tensor *result, nb_tensor *old, const char *name);
/* Free what a node keeps for its formula (after a backward that does not
 * retain the graph); its edges stay until the node goes. */
void       nbi_node_drop_saved(nbi_node *node);

/* Views: record how v was viewed from x, so that backward can map the
 * gradient back (reshape it, transpose it, or embed it in zeros of x's
 * shape at the viewed positions). args are the normalized arguments of the
 * view op; name is the node's name as PyTorch prints it (NULL: the kind's
 * usual name). Returns v, or NULL (v freed) on OOM. */
typedef enum {
    NBI_VIEW_RESHAPE,   /* any view keeping row-major order: no args */
    NBI_VIEW_TRANSPOSE, /* dim0, dim1 */
    NBI_VIEW_PERMUTE,   /* the order */
    NBI_VIEW_EXPAND,    /* no args: gradient summed back */
    NBI_VIEW_NARROW,    /* dim, start, length */
    NBI_VIEW_SLICE,     /* dim, start, stop, step (normalized) */
    NBI_VIEW_SELECT,    /* dim, index (normalized) */
    NBI_VIEW_DIAGONAL,  /* offset, dim1, dim2 (normalized) */
} nbi_view_kind;
nb_tensor *nbi_record_view(nb_tensor *v, const nb_tensor *x, nbi_view_kind kind, const int64_t *args, int nargs,
                           const char *name);

/* Copies that act as the identity for gradients (clone, contiguous, dtype
 * conversion between floats): gradient converted back to x's dtype. */
nb_tensor *nbi_record_copy(nb_tensor *out, const nb_tensor *x, const char *name);
/* copy_'s node on result (dst's new value): gradient to src only. */
nb_tensor *nbi_record_copy_into(nb_tensor *result, nb_tensor *old, const nb_tensor *src);

/* Recorders of the joining and indexing ops (index_derivatives.c): each
 * returns out, or NULL (out freed) when recording fails. */
nb_tensor *nbi_record_cat(nb_tensor *out, nb_tensor *const *tensors, int count, int dim);
nb_tensor *nbi_record_stack(nb_tensor *out, nb_tensor *const *tensors, int count, int dim);
nb_tensor *nbi_record_index_select(nb_tensor *out, const nb_tensor *t, int dim, const nb_tensor *index);
nb_tensor *nbi_record_gather(nb_tensor *out, const nb_tensor *t, int dim, const nb_tensor *index);
nb_tensor *nbi_record_scatter(nb_tensor *out, const nb_tensor *t, int dim, const nb_tensor *index,
                              const nb_tensor *src, bool accumulate);
nb_tensor *nbi_record_masked_fill(nb_tensor *out, const nb_tensor *t, const nb_tensor *mask);
nb_tensor *nbi_record_masked_select(nb_tensor *out, const nb_tensor *t, const nb_tensor *mask);
/* values = t's elements picked at indices along dim (sort, topk, max/min
 * along a dim); dim_kept: values has dim (else it was reduced away). */
nb_tensor *nbi_record_picked(nb_tensor *values, const nb_tensor *t, int dim, const nb_tensor *indices, bool dim_kept,
                             const char *name);

/* Reductions and ops along a dim (reduce_derivatives.c), recorded by their
 * row of src/core/reduce.def: its formula, node name and saves. dims as
 * given to the op (an empty list: all dims); correction (var, std) and p
 * (norm) are the op's parameters, 0 for the others; dim (line ops) is
 * wrapped. Each returns out, or NULL (out freed) when recording fails. */
nb_tensor *nbi_record_reduce(nbi_reduce_op op, nb_tensor *out, const nb_tensor *t, nb_dims dims, bool keepdim,
                             int64_t correction, double p);
nb_tensor *nbi_record_line(nbi_line_op op, nb_tensor *out, const nb_tensor *t, int dim);
/* Reductions recorded by a formula of their own rather than a row of
 * reduce.def: amax / amin (max's and min's kernels over a dim list; g
 * shared among the ties of each slice), nansum (a composite; g where t is
 * not NaN), median / nanmedian over every element (picked by sorting; g
 * shared evenly among the elements equal to the result, as max's). */
typedef enum {
    NBI_FORMULA_AMAX,
    NBI_FORMULA_AMIN,
    NBI_FORMULA_NANSUM,
    NBI_FORMULA_MEDIAN,
    NBI_FORMULA_NANMEDIAN,
    NBI_NUM_REDUCTION_FORMULAS
} nbi_reduction_formula;
nb_tensor *nbi_record_reduction(nbi_reduction_formula formula, nb_tensor *out, const nb_tensor *t, nb_dims dims,
                                bool keepdim);

/* matmul in every form (linalg_derivatives.c). */
nb_tensor *nbi_record_matmul(nb_tensor *out, const nb_tensor *a, const nb_tensor *b);

/* g summed down to shape (the inverse of broadcasting): the gradient of a
 * broadcast input. A new handle; g itself (new handle) when shapes match. */
nb_tensor *nbi_sum_to(const nb_tensor *g, int ndim, const int64_t *shape);

/* A formula's temporaries live in a scope of their own; its results leave
 * it through nbi_keep_grad. A scope that cannot open (nesting too deep)
 * fails the formula: ending it would close the caller's scope instead. */
#define NBI_FORMULA_BEGIN()                                                                    \
    do {                                                                                       \
        if (nb_scope_begin() != NB_OK) return nb_last_status();                                \
    } while (0)
#define NBI_FORMULA_END(status)                                                                \
    do {                                                                                       \
        nb_scope_end();                                                                        \
        return (status);                                                                       \
    } while (0)

/* Store grad (made inside the formula's scope) as a result: NB_OK, or the
 * status of the op that failed to make it (grad NULL). */
static inline nb_status nbi_keep_grad(nb_tensor *grad, nb_tensor **slot)
{
    if (grad == NULL) return nb_last_status();
    *slot = nb_keep(grad);
    return NB_OK;
}

/* The version-checked access of a formula to input i. */
static inline nb_tensor *nbi_input(nbi_node *node, int i) { return node->inputs[i]; }
static inline bool nbi_input_needs_grad(nbi_node *node, int i) { return node->edges[i].needs_grad; }

/* Anomaly mode (anomaly.c): on while nb_detect_anomaly_begin/end is open. */
bool      nbi_anomaly_enabled(void);
void      nbi_anomaly_note_record(nbi_node *node);
nb_status nbi_anomaly_check(const nbi_node *node, nb_tensor *const *grad_inputs, const char *op);
/* The engine's node now running on this thread (for anomaly_parent). */
extern _Thread_local const nbi_node *nbi_running_node;

/* Hooks (hooks.c): run the hooks of list for slot on *grad, replacing it
 * when a hook returns a new gradient. */
nb_status nbi_run_hooks(nbi_hook *list, int slot, nb_tensor **grad, const char *op);

/* Views for in-place ops (view_history.c). */
nb_tensor *nbi_rebase_view(nb_tensor *view, nb_tensor *result, const char *op);

#endif /* NABLA_AUTOGRAD_H */
