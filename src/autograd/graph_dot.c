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
    /* Breadth-first over nodes; each node printed once. */
    int64_t    capacity = 64, count = 0;
    nbi_node **seen     = malloc((size_t)capacity * sizeof *seen);
    if (seen == NULL) return nbi_fail_status(NB_ERR_OOM, "nb_graph_dot: out of memory");
    seen[count++] = t->grad_fn;
    fprintf(f, "  n%p -> output;\n", (void *)t->grad_fn);
    for (int64_t next = 0; next < count; next++) {
        nbi_node *node = seen[next];
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
            bool known = false;
            for (int64_t k = 0; k < count && !known; k++) known = seen[k] == child;
            if (known) continue;
            if (count == capacity) {
                nbi_node **grown = realloc(seen, (size_t)capacity * 2 * sizeof *seen);
                if (grown == NULL) {
                    free(seen);
                    return nbi_fail_status(NB_ERR_OOM, "nb_graph_dot: out of memory");
                }
                seen = grown;
                capacity *= 2;
            }
            seen[count++] = child;
        }
    }
    free(seen);
    fprintf(f, "}\n");
    return ferror(f) ? nbi_fail_status(NB_ERR_IO, "nb_graph_dot: write failed") : NB_OK;
}
