/*
 * graph_dot.c — nb_graph_dot: the backward graph as Graphviz DOT, for
 * looking at what autograd recorded (dot -Tsvg graph.dot > graph.svg).
 */
#include "autograd.h"
#include "pointer_index.h"

#include <stdlib.h>

static void write_tensor_label(FILE *f, const char *title, int ndim, const int64_t *shape, nb_dtype dtype)
{
    char buf[NBI_SHAPE_STR_SIZE];
    fprintf(f, "%s\\n%s %s", title, nbi_shape_str(ndim, shape, buf, sizeof buf), nb_dtype_name(dtype));
}

/* The nodes met so far, in the order met (the work list), and an index
 * over them. */
typedef struct {
    nbi_node        **order;
    int64_t           count, capacity;
    nbi_pointer_index index;
} node_set;

/* Add node when new (false on OOM). */
static bool node_set_add(node_set *set, nbi_node *node)
{
    if (!nbi_pointer_index_reserve(&set->index, (const void *const *)set->order, set->count)) return false;
    int64_t *slot = nbi_pointer_slot(&set->index, (const void *const *)set->order, node);
    if (*slot != 0) return true;
    if (set->count == set->capacity) {
        int64_t    capacity = set->capacity ? set->capacity * 2 : 64;
        nbi_node **grown    = realloc(set->order, (size_t)capacity * sizeof *grown);
        if (grown == NULL) return false;
        set->order    = grown;
        set->capacity = capacity;
    }
    set->order[set->count++] = node;
    *slot                    = set->count;
    return true;
}

static void node_set_free(node_set *set)
{
    free(set->order);
    free(set->index.slots);
}

nb_status nb_graph_dot(const nb_tensor *t, FILE *f)
{
    if (!nbi_check_tensor(t, "nb_graph_dot", "t")) return NB_ERR_ARG;
    if (f == NULL) return nbi_fail_status(NB_ERR_ARG, "nb_graph_dot: f is NULL");
    nbi_refresh_view(t);
    fprintf(f, "digraph backward {\n  node [fontname=\"Helvetica\", fontsize=10];\n");
    fprintf(f, "  output [shape=ellipse, style=filled, fillcolor=\"#d0e8ff\", label=\"");
    write_tensor_label(f, "output", t->ndim, t->shape, t->dtype);
    fprintf(f, "\"];\n");
    if (t->grad_fn == NULL) {
        fprintf(f, "}\n");
        return ferror(f) ? nbi_fail_status(NB_ERR_IO, "nb_graph_dot: write failed") : NB_OK;
    }
    /* Breadth-first over nodes; each node printed once. A hash set of the
     * nodes seen keeps this linear in the graph (a list search made a
     * million-node graph take hours). */
    node_set seen = { 0 };
    if (!node_set_add(&seen, t->grad_fn)) return nbi_fail_status(NB_ERR_OOM, "nb_graph_dot: out of memory");
    fprintf(f, "  n%p -> output;\n", (void *)t->grad_fn);
    for (int64_t next = 0; next < seen.count; next++) {
        nbi_node *node = seen.order[next];
        fprintf(f, "  n%p [shape=box, label=\"", (void *)node);
        write_tensor_label(f, node->name, node->ndim, node->shape, node->dtype);
        fprintf(f, "%s\"];\n", node->released ? "\\n(released)" : "");
        for (int i = 0; i < node->ninputs; i++) {
            nb_tensor *input = node->inputs[i];
            if (!node->edges[i].needs_grad) continue;
            if (node->edges[i].fn == NULL) {
                if (input == NULL) continue; /* a leaf, after a backward freed the node's inputs */
                fprintf(f, "  t%p [shape=ellipse, style=filled, fillcolor=\"#e0ffe0\", label=\"", (void *)input);
                write_tensor_label(f, "leaf", input->ndim, input->shape, input->dtype);
                fprintf(f, "\\nrequires_grad\"];\n  t%p -> n%p;\n", (void *)input, (void *)node);
                continue;
            }
            nbi_node *child = node->edges[i].fn;
            fprintf(f, "  n%p -> n%p;\n", (void *)child, (void *)node);
            if (!node_set_add(&seen, child)) {
                node_set_free(&seen);
                return nbi_fail_status(NB_ERR_OOM, "nb_graph_dot: out of memory");
            }
        }
    }
    node_set_free(&seen);
    fprintf(f, "}\n");
    return ferror(f) ? nbi_fail_status(NB_ERR_IO, "nb_graph_dot: write failed") : NB_OK;
}
