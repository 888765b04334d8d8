/*
 * test_saves_columns.c — the saves columns of the op tables
 * (src/core/ops.def, src/core/reduce.def) name exactly what each backward
 * formula reads, so that a formula edited to read something new, or to stop
 * reading something, fails here instead of silently skipping a version check
 * or keeping memory alive for nothing.
 *
 * For every differentiable row, the gradient of sum(op(inputs)) is computed
 * twice: clean, and after the elements of one tensor (an input, or the
 * output) are overwritten behind autograd's back (through nb_data, so no
 * version bump) with -2v - 1.3, which leaves every op's domain and flips
 * comparisons with the other values. A tensor the column lists must change
 * the gradient; one it leaves out must not change a single bit of it.
 * Binary rows are checked for each choice of inputs that require grad (the
 * node saves what the gradients it computes read). NONDIFF rows save
 * nothing.
 */
#include "core/op_ids.h"
#include "nb_test.h"

/* ------------------------------------------------------------------------ */
/* The rows, as the tables declare them                                      */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *grad;
    const char *saves[2]; /* binary: what a's gradient reads, then b's; others: saves, "" */
} row;

static const row unary_rows[] = {
#define NBI_UNARY(name, dtypes, result, grad, saves) { #name, #grad, { #saves, "" } },
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves) NBI_UNARY(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b)
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
};

static const row binary_rows[] = {
#define NBI_UNARY(name, dtypes, result, grad, saves)
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b) { #name, #grad, { #saves_a, #saves_b } },
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
};

static const row reduce_rows[] = {
#define NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims) { #name, #grad, { #saves, "" } },
#define NBI_REDUCE_WITH_PARAMS(name, dtypes, out, grad, formula, saves, node_all, node_dims)   \
    NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_LINE(name, dtypes, out, grad, formula, saves, node)
#include "core/reduce.def"
#undef NBI_REDUCE
#undef NBI_REDUCE_WITH_PARAMS
#undef NBI_LINE
};

static const row line_rows[] = {
#define NBI_REDUCE(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_REDUCE_WITH_PARAMS(name, dtypes, out, grad, formula, saves, node_all, node_dims)
#define NBI_LINE(name, dtypes, out, grad, formula, saves, node) { #name, #grad, { #saves, "" } },
#include "core/reduce.def"
#undef NBI_REDUCE
#undef NBI_REDUCE_WITH_PARAMS
#undef NBI_LINE
};

/* ------------------------------------------------------------------------ */
/* Calling a row's op                                                        */
/* ------------------------------------------------------------------------ */

typedef enum { UNARY, BINARY, REDUCE, LINE } table;

/* One call of a row's op; variant picks among its parameters (0 to 3), so
 * that every branch of a formula that reads the saved values is seen. */
typedef struct {
    table kind;
    int   op;
    int   variant;
} op_call;

static nb_tensor *call_unary(nbi_unary_op op, const nb_tensor *x, int variant)
{
    bool odd = variant % 2 != 0;
    switch (op) {
#define NBI_UNARY(name, dtypes, result, grad, saves) case NBI_UNARY_##name: return nb_##name(x);
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b)
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
    /* Kinks inside the inputs' range (0.5, 2), or no bound at all. */
    case NBI_UNARY_gelu: return nb_gelu(x, odd);
    case NBI_UNARY_softplus: return nb_softplus(x, odd ? 2 : 1, odd ? 2.5 : 20);
    case NBI_UNARY_clamp: return nb_clamp(x, 0.9, odd ? NAN : 1.6);
    case NBI_UNARY_square: return nb_square(x);
    case NBI_UNARY_logsigmoid: return nb_logsigmoid(x);
    case NBI_UNARY_round_decimals: return nb_round_decimals(x, odd ? -1 : 1);
    case NBI_UNARY_leaky_relu: return nb_leaky_relu(x, odd ? 0.2 : 0.01);
    case NBI_UNARY_elu: return odd ? nb_selu(x) : nb_elu(x, 1);
    case NBI_UNARY_celu: return nb_celu(x, odd ? 2 : 1);
    case NBI_UNARY_hardtanh: return nb_hardtanh(x, 0.9, odd ? 1.6 : 1.9);
    case NBI_UNARY_nan_to_num: return nb_nan_to_num(x, 0, odd ? 7 : NAN, NAN);
    case NBI_NUM_UNARY: break;
    }
    return NULL;
}

static nb_tensor *call_binary(nbi_binary_op op, const nb_tensor *a, const nb_tensor *b)
{
    switch (op) {
#define NBI_UNARY(name, dtypes, result, grad, saves)
#define NBI_UNARY_WITH_PARAMS(name, dtypes, result, grad, saves)
#define NBI_BINARY(name, dtypes, result, grad, saves_a, saves_b) case NBI_BINARY_##name: return nb_##name(a, b);
#include "core/ops.def"
#undef NBI_UNARY
#undef NBI_UNARY_WITH_PARAMS
#undef NBI_BINARY
    case NBI_NUM_BINARY: break;
    }
    return NULL;
}

/* Over dim 1 of a (3, 4) input; a new row needs a case (-Wswitch). */
static nb_tensor *call_reduce(nbi_reduce_op op, const nb_tensor *x, int variant)
{
    static const double p[4] = { 2, 3, INFINITY, 0.5 }; /* norm: p = 0 and 1 read less (reduce.def) */
    nb_dims             dim1 = NB_DIMS(1);
    switch (op) {
    case NBI_REDUCE_sum: return nb_sum_dims(x, dim1, false);
    case NBI_REDUCE_mean: return nb_mean_dims(x, dim1, false);
    case NBI_REDUCE_prod: return nb_prod_dims(x, dim1, false);
    case NBI_REDUCE_max: return nb_max(x);
    case NBI_REDUCE_min: return nb_min(x);
    case NBI_REDUCE_var: return nb_var_dims(x, dim1, variant % 2, false);
    case NBI_REDUCE_std: return nb_std_dims(x, dim1, variant % 2, false);
    case NBI_REDUCE_norm: return nb_norm_dims(x, p[variant], dim1, false);
    case NBI_REDUCE_logsumexp: return nb_logsumexp(x, dim1, false);
    case NBI_REDUCE_argmax:
    case NBI_REDUCE_argmin:
    case NBI_REDUCE_all:
    case NBI_REDUCE_any:
    case NBI_NUM_REDUCE: break; /* NONDIFF */
    }
    return NULL;
}

static nb_tensor *call_line(nbi_line_op op, const nb_tensor *x)
{
    switch (op) {
    case NBI_LINE_cumsum: return nb_cumsum(x, 1);
    case NBI_LINE_cumprod: return nb_cumprod(x, 1);
    case NBI_LINE_cummax: return nb_cummax(x, 1, NULL);
    case NBI_LINE_cummin: return nb_cummin(x, 1, NULL);
    case NBI_LINE_softmax: return nb_softmax(x, 1);
    case NBI_LINE_log_softmax: return nb_log_softmax(x, 1);
    case NBI_NUM_LINE: break;
    }
    return NULL;
}

static nb_tensor *call(const op_call *c, nb_tensor *const *inputs)
{
    switch (c->kind) {
    case UNARY: return call_unary((nbi_unary_op)c->op, inputs[0], c->variant);
    case BINARY: return call_binary((nbi_binary_op)c->op, inputs[0], inputs[1]);
    case REDUCE: return call_reduce((nbi_reduce_op)c->op, inputs[0], c->variant);
    case LINE: return call_line((nbi_line_op)c->op, inputs[0]);
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* What a formula reads                                                      */
/* ------------------------------------------------------------------------ */

/* Reads t (any layout) into a new array of doubles. */
static double *values_of(const nb_tensor *t)
{
    nb_tensor *d   = nb_to_dtype(t, NB_FLOAT64);
    int64_t    n   = nb_numel(d);
    double    *buf = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    nb_copy_to_buffer(d, buf, (size_t)n * sizeof(double));
    nb_free(d);
    return buf;
}

/* NOTE: nan_to_num's formula reads only whether x is finite, which the
 * usual perturbation (finite to finite) cannot change: its row overwrites
 * every other element with NaN instead. xlogy's gradient of a reads a only
 * where b <= 0 (a == 0 there gets 0, not g log b): its row overwrites every
 * other element with 0, and its b holds zeros (xlogy_values). */
static bool   perturb_every_other;
static double perturb_every_other_to;

/* The gradients of sum(op(leaves)) for fresh leaves holding values (needs:
 * which of them require grad), into grads[k] (NULL for a leaf that does
 * not). Before backward, the tensor perturbed names (-1 none, 0 .. count-1
 * an input, count the output) is overwritten raw. */
static void gradients(const op_call *c, int count, nb_tensor *const *values, const bool *needs, int perturbed,
                      double **grads)
{
    nb_scope_begin();
    nb_tensor *leaves[2] = { NULL, NULL };
    for (int k = 0; k < count; k++) nb_requires_grad_(leaves[k] = nb_clone(values[k]), needs[k]);
    nb_tensor *out    = call(c, leaves);
    nb_tensor *target = perturbed < 0 ? NULL : perturbed < count ? leaves[perturbed] : out;
    if (target != NULL) {
        double *v = nb_data(target);
        for (int64_t i = 0; i < nb_numel(target); i++) v[i] = perturb_every_other && i % 2 ? perturb_every_other_to : -2 * v[i] - 1.3;
    }
    NBT_CHECK(nb_backward(nb_sum(out)) == NB_OK);
    for (int k = 0; k < count; k++) grads[k] = needs[k] ? values_of(nb_grad(leaves[k])) : NULL;
    nb_scope_end();
}

/* Whether the formula reads the perturbed tensor: some gradient changed. */
static bool formula_reads(const op_call *c, int count, nb_tensor *const *values, const bool *needs, int perturbed)
{
    double *clean[2], *dirty[2];
    gradients(c, count, values, needs, -1, clean);
    gradients(c, count, values, needs, perturbed, dirty);
    bool   changed = false;
    size_t bytes   = (size_t)nb_numel(values[0]) * sizeof(double);
    for (int k = 0; k < count; k++) {
        if (needs[k]) changed = changed || memcmp(clean[k], dirty[k], bytes) != 0;
        free(clean[k]);
        free(dirty[k]);
    }
    return changed;
}

static void check_reads(const char *table_name, const row *r, const char *what, bool listed, bool reads)
{
    nbt_checks++;
    if (listed == reads) return;
    nbt_failures++;
    fprintf(stderr, "  %s row %s: the saves column %s %s, but the formula %s it\n", table_name, r->name,
            listed ? "lists" : "leaves out", what, reads ? "reads" : "never reads");
}

/* Two float64 (3, 4) tensors with values in (0.5, 2): inside every op's
 * domain, away from kinks. */
static void smooth_values(nb_tensor **values)
{
    nb_manual_seed(10);
    for (int k = 0; k < 2; k++) {
        nb_tensor *r = nb_rand(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_FLOAT64));
        values[k]    = nb_add_scalar(nb_mul_scalar(r, 1.5), 0.5);
    }
}

/* A one-input row (unary, reduction, along a dim): its saves column is
 * NONE, INPUT, OUTPUT or INPUT_OUTPUT. */
static void check_one_input_row(const char *table_name, const row *r, table kind, int op, nb_tensor *const *values)
{
    if (strcmp(r->grad, "DIFF") != 0) {
        NBT_CHECK(strcmp(r->saves[0], "NONE") == 0);
        return;
    }
    bool lists_input  = strcmp(r->saves[0], "INPUT") == 0 || strcmp(r->saves[0], "INPUT_OUTPUT") == 0;
    bool lists_output = strcmp(r->saves[0], "OUTPUT") == 0 || strcmp(r->saves[0], "INPUT_OUTPUT") == 0;
    bool needs        = true;
    for (int variant = 0; variant < 4; variant++) {
        op_call c = { kind, op, variant };
        check_reads(table_name, r, "the input", lists_input, formula_reads(&c, 1, values, &needs, 0));
        check_reads(table_name, r, "the output", lists_output, formula_reads(&c, 1, values, &needs, 1));
    }
}

static void test_unary_rows(void)
{
    nb_scope_begin();
    nb_tensor *values[2];
    smooth_values(values);
    for (int op = 0; op < NBI_NUM_UNARY; op++) {
        perturb_every_other    = op == NBI_UNARY_nan_to_num;
        perturb_every_other_to = NAN;
        check_one_input_row("ops.def", &unary_rows[op], UNARY, op, values);
    }
    perturb_every_other = false;
    nb_scope_end();
}

static void test_binary_rows(void)
{
    static const bool choices[3][2] = { { true, false }, { false, true }, { true, true } };
    static const char *choice_names[3] = { "a", "b", "a and b" };
    nb_scope_begin();
    nb_tensor *values[2], *xlogy_values[2];
    smooth_values(values);
    /* b with a zero in every third place, where xlogy's mask can act */
    xlogy_values[0] = values[0];
    xlogy_values[1] = nb_where(nb_eq_scalar(nb_remainder_scalar(nb_arange(0, 12, 1, NB_OPTS()), 3), 0),
                               nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = NB_FLOAT64)),
                               nb_reshape(values[1], NB_SHAPE(12)));
    xlogy_values[1] = nb_reshape(xlogy_values[1], NB_SHAPE(3, 4));
    for (int op = 0; op < NBI_NUM_BINARY; op++) {
        const row *r = &binary_rows[op];
        bool       xlogy = op == NBI_BINARY_xlogy;
        perturb_every_other    = xlogy;
        perturb_every_other_to = 0;
        if (strcmp(r->grad, "DIFF") != 0) {
            NBT_CHECK(strcmp(r->saves[0], "NONE") == 0 && strcmp(r->saves[1], "NONE") == 0);
            continue;
        }
        op_call c = { BINARY, op, 0 };
        for (int choice = 0; choice < 3; choice++) {
            for (int input = 0; input < 2; input++) {
                /* Listed when the gradient of an input that needs one reads it. */
                const char *letter = input == 0 ? "A" : "B";
                bool        listed = false;
                for (int k = 0; k < 2; k++)
                    listed = listed || (choices[choice][k] && strstr(r->saves[k], letter) != NULL);
                char what[64];
                snprintf(what, sizeof what, "input %s (gradient of %s)", letter, choice_names[choice]);
                check_reads("ops.def", r, what, listed,
                            formula_reads(&c, 2, xlogy ? xlogy_values : values, choices[choice], input));
            }
        }
    }
    perturb_every_other = false;
    nb_scope_end();
}

static void test_reduce_rows(void)
{
    nb_scope_begin();
    nb_tensor *values[2];
    smooth_values(values);
    for (int op = 0; op < NBI_NUM_REDUCE; op++) check_one_input_row("reduce.def", &reduce_rows[op], REDUCE, op, values);
    for (int op = 0; op < NBI_NUM_LINE; op++) check_one_input_row("reduce.def", &line_rows[op], LINE, op, values);
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_unary_rows);
    NBT_RUN(test_binary_rows);
    NBT_RUN(test_reduce_rows);
    return nbt_finish();
}
