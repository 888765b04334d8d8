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

typedef struct nbi_node nbi_node;

/* grad_inputs[i] receives a new handle with the gradient for input i (the
 * input's shape and dtype), or NULL when there is none (input needs no grad,
 * or the gradient is zero). Returns NB_OK or the failing op's status. */
typedef nb_status (*nbi_backward_fn)(nbi_node *node, nb_tensor *grad_output, nb_tensor **grad_inputs);

enum { NBI_NODE_MAX_INTS = 2 * NB_MAX_DIMS + 2 };

/* Bit i set: the formula reads input i, so an in-place change to it after
 * recording is an error at backward time (version check). */
#define NBI_SAVES(i) (1u << (i))

struct nbi_node {
    atomic_int      refcount;      /* outputs pointing here + engine holds */
    const char     *name;          /* "MulBackward": static string */
    nbi_backward_fn backward;
    int             ninputs;
    nb_tensor     **inputs;        /* retained handles (NULL after release) */
    uint64_t       *versions;      /* each input's storage version at record */
    uint32_t        saved_mask;    /* NBI_SAVES bits */
    nb_tensor      *saved_output;  /* detached alias of the output, or NULL */
    uint64_t        output_version;
    /* The output's geometry: shape checks and zero gradients. */
    int             ndim;
    int64_t         shape[NB_MAX_DIMS];
    nb_dtype        dtype;
    /* Op parameters: what each op stores is written at its formula. */
    double          scalars[4];
    int64_t         ints[NBI_NODE_MAX_INTS];
    bool            is_view;       /* the output shares its input's storage */
    bool            released;      /* saved values freed by a backward pass */
    nb_tensor      *retain_owner;  /* weak: the tensor that called retain_grad */
    /* Engine bookkeeping, valid while engine_run matches the current run. */
    uint64_t        engine_run;
    int64_t         engine_index;
};

/* Grad mode of this thread (src/autograd/grad_mode.c). */
bool nbi_grad_enabled(void);
/* Push grad mode on/off for internal use (the engine); pop restores. */
void nbi_grad_mode_push(bool enabled);
void nbi_grad_mode_pop(void);

/* True when grad mode is on and some input requires grad. */
static inline bool nbi_should_record(int count, const nb_tensor *const *inputs)
{
    for (int i = 0; i < count; i++)
        if (inputs[i] && inputs[i]->requires_grad) return nbi_grad_enabled();
    return false;
}

/* Make a node for out (which must have no grad_fn) with count inputs, mark
 * out as requiring grad, and return the node; NULL with NB_ERR_OOM. */
nbi_node *nbi_record(nb_tensor *out, const char *name, nbi_backward_fn backward, int count,
                     const nb_tensor *const *inputs, uint32_t saved_mask);
/* Keep a detached alias of out for the formula (exp, tanh, sigmoid, ...). */
bool      nbi_save_output(nbi_node *node, const nb_tensor *out);
/* The saved output, or NULL when it was not saved. */
static inline nb_tensor *nbi_saved_output(nbi_node *node) { return node->saved_output; }

/* What an op that "returns t itself" returns: a new handle to t that is in
 * t's graph (an identity node when t requires grad). */
nb_tensor *nbi_alias_recorded(const nb_tensor *t, const char *op);

/* In-place ops while recording (grad mode on and t or another input
 * requires grad) run as their out-of-place form plus a copy back:
 *
 *   nb_tensor *old = nbi_begin_in_place(t, "nb_mul_");   // t's old value and history
 *   return nbi_finish_in_place(t, old, nb_mul(old, b), "nb_mul_");
 *
 * begin refuses a leaf that requires grad and a view of a tensor in the
 * graph; it returns a copy of t that carries t's previous node. finish
 * writes the result into t, gives t the result's node, and frees old and the
 * result; it returns t, or NULL (t's history restored) when result is NULL
 * or does not fit t. Costs one copy: only taken when recording. */
static inline bool nbi_in_place_records(const nb_tensor *t, const nb_tensor *other)
{
    return (t->requires_grad || (other && other->requires_grad)) && nbi_grad_enabled();
}
nb_tensor *nbi_begin_in_place(nb_tensor *t, const char *op);
nb_tensor *nbi_finish_in_place(nb_tensor *t, nb_tensor *old, nb_tensor *result, const char *op);

/* Views: record how v was viewed from x, so that backward can map the
 * gradient back (reshape it, transpose it, or embed it in zeros of x's
 * shape at the viewed positions). args are the normalized arguments of the
 * view op. Returns v, or NULL (v freed) on OOM. */
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
nb_tensor *nbi_record_view(nb_tensor *v, const nb_tensor *x, nbi_view_kind kind, const int64_t *args, int nargs);

/* Copies that act as the identity for gradients (clone, contiguous, dtype
 * conversion between floats): gradient converted back to x's dtype. */
nb_tensor *nbi_record_copy(nb_tensor *out, const nb_tensor *x, const char *name);

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

/* Reductions and ops along a dim (reduce_derivatives.c); dims as given to
 * the op (an empty list: all dims). */
nb_tensor *nbi_record_sum(nb_tensor *out, const nb_tensor *t, nb_dims dims, bool keepdim);
nb_tensor *nbi_record_mean(nb_tensor *out, const nb_tensor *t, nb_dims dims, bool keepdim);
nb_tensor *nbi_record_prod(nb_tensor *out, const nb_tensor *t, nb_dims dims, bool keepdim);
nb_tensor *nbi_record_extreme(nb_tensor *out, const nb_tensor *t, bool is_min);
nb_tensor *nbi_record_var_std(nb_tensor *out, const nb_tensor *t, nb_dims dims, int64_t correction, bool keepdim,
                              bool is_std);
nb_tensor *nbi_record_logsumexp(nb_tensor *out, const nb_tensor *t, nb_dims dims, bool keepdim);
nb_tensor *nbi_record_norm(nb_tensor *out, const nb_tensor *t, double p, nb_dims dims, bool keepdim);
nb_tensor *nbi_record_cumsum(nb_tensor *out, const nb_tensor *t, int dim);
nb_tensor *nbi_record_softmax(nb_tensor *out, const nb_tensor *t, int dim);
nb_tensor *nbi_record_log_softmax(nb_tensor *out, const nb_tensor *t, int dim);

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
static inline bool nbi_input_needs_grad(nbi_node *node, int i)
{
    return node->inputs[i] != NULL && node->inputs[i]->requires_grad;
}

#endif /* NABLA_AUTOGRAD_H */
