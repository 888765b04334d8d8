/*
 * graph_dot.c — nb_graph_dot: the backward graph as Graphviz DOT, for
 * looking at what autograd recorded (dot -Tsvg graph.dot > graph.svg).
 */
#include "autograd.h"

#include <stdlib.h>

static void write_tensor_label(FILE *f, const char *title, int ndim, const int64_t *shape, nb_dtype dtype)
{
    char buf[NBI_SHAPE_STR_SIZE];
    fprintf(f, "%s\\n%s %s", title, nbi_shape_str(ndim, shape, buf, sizeof buf), nb_dtype_name(dtype));
}

/* The nodes met so far, in the order met (the work list), and a hash set
 * over them (open addressing on the address; slots hold index + 1). */
typedef struct {
    nbi_node **order;
    int64_t    count, capacity;
    int64_t   *table;
    int64_t    table_size;
} node_set;

static uint64_t hash_node(const nbi_node *node)
{
    uint64_t x = (uint64_t)(uintptr_t)node;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    return x ^ (x >> 33);
}

static int64_t *node_slot(const node_set *set, const nbi_node *node)
{
    uint64_t mask = (uint64_t)set->table_size - 1;
    for (uint64_t at = hash_node(node) & mask;; at = (at + 1) & mask) {
        int64_t *slot = &set->table[at];
        if (*slot == 0 || set->order[*slot - 1] == node) return slot;
    }
}

/* Add node when new (false on OOM). */
static bool node_set_add(node_set *set, nbi_node *node)
{
    if (2 * (set->count + 1) > set->table_size) {
        int64_t  size  = set->table_size ? set->table_size * 2 : 64;
        int64_t *table = calloc((size_t)size, sizeof *table);
        if (table == NULL) return false;
        free(set->table);
        set->table      = table;
        set->table_size = size;
        for (int64_t i = 0; i < set->count; i++) *node_slot(set, set->order[i]) = i + 1;
    }
    int64_t *slot = node_slot(set, node);
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
    free(set->table);
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
