/*
 * einsum.c — torch.einsum as a composite of views, sums and matmul.
 *
 * Each operand's dims get labels: 'A'-'Z' are 0-25 and 'a'-'z' 26-51 (the
 * order of the implicit output, as torch's), and the dims under "..." get
 * the labels 52 + i, aligned from the right across operands so that they
 * broadcast. An operand that repeats a label is replaced by its diagonal.
 * Then the operands are contracted left to right: a label that no later
 * operand and not the output needs is summed away as soon as only one side
 * has it; the labels both sides have are batch dims (needed later) or the
 * contracted dim (not needed later), and the pair becomes one nb_matmul of
 * (batch, left, contracted) by (batch, contracted, right). Last, the
 * labels not in the output are summed and the rest permuted into place.
 */
#include <string.h>

#include "autograd/autograd.h"
#include "core/backend.h"

enum { NUM_LETTERS = 52, MAX_LABELS = NUM_LETTERS + NB_MAX_DIMS, MAX_OPERANDS = 64 };

/* A tensor and the label of each of its dims. */
typedef struct {
    nb_tensor *t;
    int        ndim;
    int        labels[NB_MAX_DIMS];
} labelled;

static int letter_label(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
    return -1;
}

static char label_char(int label) { return (char)(label < 26 ? 'A' + label : 'a' + label - 26); }

/* One term of the equation ("ij", "i...j"): its letter labels before and
 * after the ellipsis. */
typedef struct {
    int  count;           /* letters */
    int  labels[NB_MAX_DIMS + 1];
    bool has_ellipsis;
    int  ellipsis_at;     /* letters before it */
} term;

static bool parse_term(const char *text, size_t length, term *out, const char *op, const char *what)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (c == ' ') continue;
        if (c == '.') {
            if (out->has_ellipsis || i + 2 >= length || text[i + 1] != '.' || text[i + 2] != '.') {
                nbi_fail(NB_ERR_ARG, "%s: %s has a '.' that is not part of one \"...\"", op, what);
                return false;
            }
            out->has_ellipsis = true;
            out->ellipsis_at  = out->count;
            i += 2;
            continue;
        }
        int label = letter_label(c);
        if (label < 0) {
            nbi_fail(NB_ERR_ARG, "%s: '%c' in %s is not a letter (labels are a-z and A-Z)", op, c, what);
            return false;
        }
        if (out->count >= NB_MAX_DIMS) {
            nbi_fail(NB_ERR_ARG, "%s: %s has more than %d labels", op, what, NB_MAX_DIMS);
            return false;
        }
        out->labels[out->count++] = label;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Steps on labelled tensors (each replaces x->t; the old one stays in the   */
/* call's scope)                                                              */
/* ------------------------------------------------------------------------ */

static int find_label(const labelled *x, int label)
{
    for (int d = 0; d < x->ndim; d++)
        if (x->labels[d] == label) return d;
    return -1;
}

static bool remove_dims_labels(labelled *x, const bool *drop)
{
    int kept = 0;
    for (int d = 0; d < x->ndim; d++)
        if (!drop[d]) x->labels[kept++] = x->labels[d];
    x->ndim = kept;
    return true;
}

/* Sum away the dims whose label is not in keep. */
static bool sum_labels_not_in(labelled *x, const bool *keep)
{
    nb_dims dims = { 0 };
    bool    drop[NB_MAX_DIMS] = { false };
    for (int d = 0; d < x->ndim; d++)
        if (!keep[x->labels[d]]) {
            dims.dims[dims.n++] = d;
            drop[d]             = true;
        }
    if (dims.n == 0) return true;
    x->t = nb_sum_dims(x->t, dims, false);
    return x->t != NULL && remove_dims_labels(x, drop);
}

/* Permute x so that its labels read as order (a permutation of them). */
static bool permute_to(labelled *x, const int *order, int n)
{
    nb_dims perm     = { .n = n };
    bool    identity = true;
    for (int k = 0; k < n; k++) {
        perm.dims[k] = find_label(x, order[k]);
        identity     = identity && perm.dims[k] == k;
    }
    if (!identity) x->t = nb_permute(x->t, perm);
    memcpy(x->labels, order, sizeof(int) * (size_t)n);
    return x->t != NULL;
}

/* Expand x's size-1 dims to the labels' sizes. */
static bool expand_to_sizes(labelled *x, const int64_t *sizes)
{
    nb_shape shape  = nb_shape_of(x->t);
    bool     change = false;
    for (int d = 0; d < x->ndim; d++)
        if (shape.dims[d] != sizes[x->labels[d]]) {
            shape.dims[d] = sizes[x->labels[d]];
            change        = true;
        }
    if (change) x->t = nb_expand(x->t, shape);
    return x->t != NULL;
}

/* left and right into one: batch labels (both, needed later) stay, the
 * contracted ones (both, not needed) are summed by the matmul. Labels only
 * one side has and that are not needed were summed before. */
static bool contract(labelled *left, labelled *right, const bool *needed, const int64_t *sizes)
{
    int batch[NB_MAX_DIMS], free_left[NB_MAX_DIMS], free_right[NB_MAX_DIMS], summed[NB_MAX_DIMS];
    int nb = 0, nl = 0, nr = 0, ns = 0;
    for (int d = 0; d < left->ndim; d++) {
        int label = left->labels[d];
        if (find_label(right, label) < 0) free_left[nl++] = label;
        else if (needed[label]) batch[nb++] = label;
        else summed[ns++] = label;
    }
    for (int d = 0; d < right->ndim; d++)
        if (find_label(left, right->labels[d]) < 0) free_right[nr++] = right->labels[d];
    if (nb + nl + nr > NB_MAX_DIMS) {
        nbi_fail(NB_ERR_SHAPE, "nb_einsum: an intermediate product would have %d dims (at most %d)", nb + nl + nr,
                 NB_MAX_DIMS);
        return false;
    }
    int     order_left[NB_MAX_DIMS], order_right[NB_MAX_DIMS], k = 0;
    int64_t size_b = 1, size_l = 1, size_r = 1, size_s = 1;
    nb_shape out_shape = { .ndim = 0 };
    for (int i = 0; i < nb; i++) order_left[k++] = batch[i], size_b *= sizes[batch[i]];
    for (int i = 0; i < nl; i++) order_left[k++] = free_left[i];
    for (int i = 0; i < ns; i++) order_left[k++] = summed[i], size_s *= sizes[summed[i]];
    k = 0;
    for (int i = 0; i < nb; i++) order_right[k++] = batch[i];
    for (int i = 0; i < ns; i++) order_right[k++] = summed[i];
    for (int i = 0; i < nr; i++) order_right[k++] = free_right[i];
    if (!permute_to(left, order_left, left->ndim) || !permute_to(right, order_right, right->ndim)) return false;
    /* Batch and contracted dims must agree in size: expand the size-1 ones. */
    nb_shape shape_left = nb_shape_of(left->t), shape_right = nb_shape_of(right->t);
    for (int i = 0; i < nb; i++) shape_left.dims[i] = shape_right.dims[i] = sizes[batch[i]];
    for (int i = 0; i < ns; i++) shape_left.dims[nb + nl + i] = shape_right.dims[nb + i] = sizes[summed[i]];
    left->t  = nb_expand(left->t, shape_left);
    right->t = right->t && left->t ? nb_expand(right->t, shape_right) : NULL;
    if (right->t == NULL) return false;
    for (int i = 0; i < nl; i++) size_l *= shape_left.dims[nb + i];
    for (int i = 0; i < nr; i++) size_r *= shape_right.dims[nb + ns + i];
    nb_tensor *a       = nb_reshape(left->t, NB_SHAPE(size_b, size_l, size_s));
    nb_tensor *b       = a ? nb_reshape(right->t, NB_SHAPE(size_b, size_s, size_r)) : NULL;
    nb_tensor *product = b ? nb_matmul(a, b) : NULL;
    if (product == NULL) return false;
    for (int i = 0; i < nb; i++) out_shape.dims[out_shape.ndim++] = sizes[batch[i]];
    for (int i = 0; i < nl; i++) out_shape.dims[out_shape.ndim++] = shape_left.dims[nb + i];
    for (int i = 0; i < nr; i++) out_shape.dims[out_shape.ndim++] = shape_right.dims[nb + ns + i];
    left->t    = nb_view(product, out_shape); /* a fresh contiguous product: a view, as torch's */
    left->ndim = 0;
    for (int i = 0; i < nb; i++) left->labels[left->ndim++] = batch[i];
    for (int i = 0; i < nl; i++) left->labels[left->ndim++] = free_left[i];
    for (int i = 0; i < nr; i++) left->labels[left->ndim++] = free_right[i];
    return left->t != NULL;
}

/* ------------------------------------------------------------------------ */
/* The op                                                                    */
/* ------------------------------------------------------------------------ */

/* Labels of operand x from its term: letters, and the ellipsis dims as
 * 52 + (their position counted so that the last ellipsis dim of every
 * operand is 52 + ellipsis_ndim - 1). Repeated labels become diagonals. */
static bool label_operand(labelled *x, const term *tm, int ellipsis_ndim, int index, const char *op)
{
    int ndim = x->t->ndim, covered = ndim - tm->count;
    if (tm->has_ellipsis ? covered < 0 : covered != 0) {
        nbi_fail(NB_ERR_ARG, "%s: operand %d has %d dims but its subscripts name %d%s", op, index, ndim, tm->count,
                 tm->has_ellipsis ? " (plus \"...\")" : "");
        return false;
    }
    x->ndim = ndim;
    int d = 0;
    for (int k = 0; k <= tm->count; k++) {
        if (tm->has_ellipsis && k == tm->ellipsis_at)
            for (int e = 0; e < covered; e++) x->labels[d++] = NUM_LETTERS + ellipsis_ndim - covered + e;
        if (k < tm->count) x->labels[d++] = tm->labels[k];
    }
    /* Repeated labels: take the diagonal (it goes last, and keeps the label). */
    for (int i = 0; i < x->ndim; i++)
        for (int j = i + 1; j < x->ndim; j++) {
            if (x->labels[i] != x->labels[j]) continue;
            int64_t si = nb_shape_of(x->t).dims[i], sj = nb_shape_of(x->t).dims[j];
            if (si != sj) {
                nbi_fail(NB_ERR_SHAPE,
                         "%s: subscript %c is repeated for operand %d but the sizes don't match, %lld != %lld", op,
                         label_char(x->labels[i]), index, (long long)si, (long long)sj);
                return false;
            }
            int label = x->labels[i];
            x->t      = nb_diagonal(x->t, 0, i, j);
            if (x->t == NULL) return false;
            bool drop[NB_MAX_DIMS] = { false };
            drop[i] = drop[j] = true;
            remove_dims_labels(x, drop);
            x->labels[x->ndim++] = label;
            i                    = -1; /* start over: positions moved */
            break;
        }
    return true;
}

static nb_tensor *einsum(const char *equation, nb_tensor *const *operands, int count, const char *op)
{
    /* Split "lhs->rhs" and the lhs at commas. */
    const char *arrow = strstr(equation, "->");
    size_t      lhs_length = arrow ? (size_t)(arrow - equation) : strlen(equation);
    term        terms[MAX_OPERANDS], output;
    int         n_terms = 0;
    for (size_t start = 0;;) {
        size_t end = start;
        while (end < lhs_length && equation[end] != ',') end++;
        if (n_terms == MAX_OPERANDS) return nbi_fail(NB_ERR_ARG, "%s: more than %d operands", op, MAX_OPERANDS);
        char what[48];
        snprintf(what, sizeof what, "the subscripts of operand %d", n_terms);
        if (!parse_term(equation + start, end - start, &terms[n_terms++], op, what)) return NULL;
        if (end >= lhs_length) break;
        start = end + 1;
    }
    if (n_terms != count)
        return nbi_fail(NB_ERR_ARG, "%s: the equation names %d operands, %d were given", op, n_terms, count);
    if (arrow && !parse_term(arrow + 2, strlen(arrow + 2), &output, op, "the output subscripts")) return NULL;

    labelled x[MAX_OPERANDS];
    int      ellipsis_ndim = 0;
    bool     any_ellipsis  = false;
    for (int i = 0; i < count; i++)
        if (terms[i].has_ellipsis) {
            int covered   = operands[i]->ndim - terms[i].count;
            ellipsis_ndim = covered > ellipsis_ndim ? covered : ellipsis_ndim;
            any_ellipsis  = true;
        }
    int64_t sizes[MAX_LABELS];
    int     seen[MAX_LABELS] = { 0 };
    for (int l = 0; l < MAX_LABELS; l++) sizes[l] = 1;
    for (int i = 0; i < count; i++) {
        x[i].t = (nb_tensor *)operands[i];
        if (!label_operand(&x[i], &terms[i], ellipsis_ndim, i, op)) return NULL;
        nb_shape shape = nb_shape_of(x[i].t);
        for (int d = 0; d < x[i].ndim; d++) {
            int     label = x[i].labels[d];
            int64_t size  = shape.dims[d];
            if (size != 1 && sizes[label] != 1 && size != sizes[label])
                return nbi_fail(NB_ERR_SHAPE, "%s: operands do not broadcast: a label has sizes %lld and %lld", op,
                                (long long)sizes[label], (long long)size);
            if (size != 1) sizes[label] = size;
        }
        /* Counted in the equation ("ii" sees i twice: a trace). */
        for (int k = 0; k < terms[i].count; k++) seen[terms[i].labels[k]]++;
    }
    /* Output labels: explicit, or the ellipsis dims then the labels seen once. */
    int out_labels[NB_MAX_DIMS], n_out = 0;
    if (arrow) {
        if (output.has_ellipsis && !any_ellipsis)
            return nbi_fail(NB_ERR_ARG, "%s: the output has \"...\" but no operand does", op);
        for (int k = 0; k <= output.count; k++) {
            if (output.has_ellipsis && k == output.ellipsis_at)
                for (int e = 0; e < ellipsis_ndim; e++) out_labels[n_out++] = NUM_LETTERS + e;
            if (k == output.count) break;
            int label = output.labels[k];
            if (seen[label] == 0)
                return nbi_fail(NB_ERR_ARG, "%s: output subscript %c does not appear in the operands", op,
                                label_char(label));
            for (int j = 0; j < n_out; j++)
                if (out_labels[j] == label)
                    return nbi_fail(NB_ERR_ARG, "%s: output subscript %c appears more than once", op,
                                    label_char(label));
            if (n_out == NB_MAX_DIMS) return nbi_fail(NB_ERR_ARG, "%s: too many output dims", op);
            out_labels[n_out++] = label;
        }
        /* With "..." only in the inputs, torch sums the ellipsis dims away. */
    } else {
        for (int e = 0; e < ellipsis_ndim; e++) out_labels[n_out++] = NUM_LETTERS + e;
        for (int l = 0; l < NUM_LETTERS; l++)
            if (seen[l] == 1) {
                if (n_out == NB_MAX_DIMS) return nbi_fail(NB_ERR_ARG, "%s: too many output dims", op);
                out_labels[n_out++] = l;
            }
    }
    bool in_output[MAX_LABELS] = { false };
    for (int k = 0; k < n_out; k++) in_output[out_labels[k]] = true;

    /* Step i contracts operand i into the running product acc; needed: the
     * labels of the operands after i and of the output. */
    labelled *acc = &x[0];
    for (int i = 1; i < count; i++) {
        bool needed[MAX_LABELS], keep_left[MAX_LABELS], keep_right[MAX_LABELS];
        memcpy(needed, in_output, sizeof needed);
        for (int j = i + 1; j < count; j++)
            for (int d = 0; d < x[j].ndim; d++) needed[x[j].labels[d]] = true;
        /* Each side first sums what neither the other side nor later needs. */
        memcpy(keep_left, needed, sizeof keep_left);
        memcpy(keep_right, needed, sizeof keep_right);
        for (int d = 0; d < x[i].ndim; d++) keep_left[x[i].labels[d]] = true;
        for (int d = 0; d < acc->ndim; d++) keep_right[acc->labels[d]] = true;
        if (!sum_labels_not_in(acc, keep_left) || !sum_labels_not_in(&x[i], keep_right)) return NULL;
        if (!contract(acc, &x[i], needed, sizes)) return NULL;
    }
    if (!sum_labels_not_in(acc, in_output) || !permute_to(acc, out_labels, n_out) || !expand_to_sizes(acc, sizes))
        return NULL;
    /* Nothing to do ("ij->ij"): a new handle, not the caller's. */
    return acc->t == operands[0] ? nbi_alias_recorded(acc->t, op) : acc->t;
}

nb_tensor *nb_einsum(const char *equation, nb_tensor *const *operands, int count)
{
    const char *op = "nb_einsum";
    if (equation == NULL) return nbi_fail(NB_ERR_ARG, "%s: equation is NULL", op);
    if (count < 1 || count > MAX_OPERANDS || operands == NULL)
        return nbi_fail(NB_ERR_ARG, "%s: needs 1 to %d operands, got %d", op, MAX_OPERANDS, count);
    const char *names[MAX_OPERANDS];
    for (int i = 0; i < count; i++) {
        if (!nbi_check_tensor(operands[i], op, "operands[i]")) return NULL;
        names[i] = "an operand";
    }
    if (!nbi_check_device(op, count, (const nb_tensor *const *)operands, names)) return NULL;
    for (int i = 1; i < count; i++)
        if (operands[i]->dtype != operands[0]->dtype)
            return nbi_fail(NB_ERR_DTYPE, "%s: operands must have one dtype, got %s and %s", op,
                            nb_dtype_name(operands[0]->dtype), nb_dtype_name(operands[i]->dtype));
    if (nb_scope_begin() != NB_OK) return NULL;
    nb_tensor *out = einsum(equation, operands, count, op);
    if (out != NULL) nb_keep(out);
    nb_scope_end();
    return out;
}
