/*
 * softmax.c — softmax and log_softmax along one dim: the front doors; the
 * loops are the line kernels of src/cpu/reduce_kernels.c.
 *
 * Both subtract the line's max before exp (stable for any finite input).
 * As in torch: a line that is all -inf, or holds +inf or NaN, gives NaN.
 * The output is a new contiguous tensor of the input's shape and dtype.
 */
#include "autograd/autograd.h"
#include "cpu/reduce_kernels.h"

static nb_tensor *softmax_common(const nb_tensor *t, int dim, nbi_line_op op, const char *name)
{
    if (!nbi_check_tensor(t, name, "t") || !nbi_check_cpu(t, name) || !nbi_check_floating(t, name)) return NULL;
    int d = nbi_wrap_dim(dim, t->ndim, name);
    if (d < 0) return NULL;
    nb_tensor *out = nbi_empty(t->ndim, t->shape, t->dtype, t->storage->device);
    if (out == NULL) return NULL;
    nbi_line_plan plan;
    nbi_line_plan_init(&plan, t, out, d);
    nbi_line_run(&plan, op);
    return out;
}

nb_tensor *nb_softmax(const nb_tensor *t, int dim)
{
    return nbi_record_softmax(softmax_common(t, dim, NBI_LINE_SOFTMAX, "nb_softmax"), t, dim);
}

nb_tensor *nb_log_softmax(const nb_tensor *t, int dim)
{
    return nbi_record_log_softmax(softmax_common(t, dim, NBI_LINE_LOG_SOFTMAX, "nb_log_softmax"), t, dim);
}
