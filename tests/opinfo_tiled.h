/* opinfo_tiled.h — the elementwise rows, the rows along dims and the
 * per-sample layers and losses of the op table again at a size where the
 * kernels take their other paths.
 * Included by test_opinfo.c after its helpers.
 *
 * The fixtures are small (a dozen elements), so they test the scalar tail
 * of a vectorised loop and never the vector body, a parallel split (above
 * NBI_PARALLEL_GRAIN elements), many rows of a reduction or the strided
 * walk of a large view. An elementwise op's output at one position depends
 * only on its inputs there, and an op along dims (a reduction over a dims
 * list, softmax, cumsum, sort, topk, median along a dim...) only on its
 * row: inputs made of `reps` copies of the case's inputs (as the op saw
 * them) along a new leading dim, the op's dims shifted past it, must give
 * `reps` copies of torch's output, and with the loss weights copied too,
 * `reps` copies of torch's gradients. So each case runs once more on
 * (reps, ...) inputs, contiguous and as the transpose of (n, reps)
 * storage, both starting at an offset into their storage (which no
 * fixture layout does), and is compared with the copied fixture: past a
 * thousand elements, and the first case of each row and floating dtype
 * past the parallel grain as well (few, to keep the sanitizer builds' run
 * short). */
#ifndef OPINFO_TILED_H
#define OPINFO_TILED_H

enum { TILED_MIN_ELEMENTS = 1000, TILED_PARALLEL_ELEMENTS = 40000 /* above NBI_PARALLEL_GRAIN (32768) */ };

static bool is_elementwise_kind(const char *kind)
{
    static const char *const kinds[] = { "UNARY", "UNARY_EDGES", "SCALAR", "SCALAR_I64", "BINARY", "BINARY_EDGES",
                                         "TERNARY", "ISCLOSE", "INPLACE_UNARY", "INPLACE_SCALAR",
                                         "INPLACE_SCALAR_I64", "INPLACE_BINARY" };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (strcmp(kind, kinds[k]) == 0) return true;
    return false;
}

/* Whether a known difference covers the case as the fixture has it. */
static bool tiled_known(void)
{
    static const char *const checks[] = { "forward", "grad", "inplace", "error" };
    char                     id[320];
    for (size_t c = 0; c < sizeof checks / sizeof checks[0]; c++) {
        snprintf(id, sizeof id, "%s:%s", checks[c], current_label);
        for (int k = 0; k < NUM_KNOWN; k++)
            if (glob_match(known_differences[k].pattern, id)) return true;
    }
    return false;
}

/* The ops along dims (reductions over dim lists, ops along one dim, sort
 * and topk): with a new leading dim of copies and their dims shifted past
 * it, each copy gives the case's result. Their dim parameter: */
static int batched_dim_param(const op_row *row)
{
    if (strcmp(row->kind, "DIM") == 0) return 0;
    if (strcmp(row->kind, "SORT") == 0) return strncmp(row->name, "topk", 4) == 0 ? 1 : 0;
    return -1; /* REDUCE_DIMS: the dims list */
}

static bool is_batched_kind(const char *kind)
{
    return strcmp(kind, "DIM") == 0 || strcmp(kind, "REDUCE_DIMS") == 0 || strcmp(kind, "SORT") == 0;
}

/* Elementwise: every input has the output's shape (no broadcast), so each
 * output element pairs with one element of each input. Batched: no 0-d
 * input (a dim of it would name the copies' dim) and an explicit dims list
 * (an empty one reduces every dim). Neither takes expanded inputs, whose
 * gradient sums over the copies. */
static bool tiled_applies(const op_row *row, const fx_case *c)
{
    bool batched = is_batched_kind(row->kind);
    if ((!batched && !is_elementwise_kind(row->kind)) || c->raises || documented_refusal(row, c)) return false;
    if (numel_of(c->out_shape) == 0) return false;
    if (batched && batched_dim_param(row) < 0 && c->p.dims.n == 0) return false;
    for (int k = 0; k < c->n_inputs; k++) {
        if (!c->in[k].present) continue;
        if (c->in[k].layout == 'E' || numel_of(c->in[k].shape) == 0) return false;
        if (batched ? c->in[k].shape.ndim == 0 : !same_shape(c->in[k].shape, c->out_shape)) return false;
    }
    return !tiled_known();
}

/* The case's parameters for inputs with a leading dim of copies. */
static op_params batched_params(const op_row *row, const op_params *p)
{
    op_params q     = *p;
    int       which = batched_dim_param(row);
    if (which >= 0 && q.i[which] >= 0) q.i[which]++;
    for (int k = 0; which < 0 && k < q.dims.n; k++)
        if (q.dims.dims[k] >= 0) q.dims.dims[k]++;
    return q;
}

/* shape with a leading dim of size reps. */
static nb_shape with_copies(int64_t reps, nb_shape shape)
{
    nb_shape out = {.ndim = shape.ndim + 1};
    out.dims[0]  = reps;
    for (int d = 0; d < shape.ndim; d++) out.dims[d + 1] = shape.dims[d];
    return out;
}

/* The values of a base-layout array (base shape, dtype) as the op's view of
 * it reads them, row-major: the case's input, or its gradient. */
static double *view_values(const fx_input *in, const double *base_values, int64_t *n)
{
    nb_scope_begin();
    nb_tensor *base = nbt_tensor(in->base, NB_FLOAT64, base_values);
    double    *out  = values_of(nb_contiguous(make_view(base, in)), n);
    nb_scope_end();
    return out;
}

/* Storage for (reps, n) of dtype holding reps copies of v (n values), with
 * one more copy first so that the operand starts at an offset: (reps + 1,
 * n), or (transposed) (n, reps + 1) whose transpose the operand is. */
static nb_tensor *tiled_storage(const double *v, int64_t n, int64_t reps, nb_dtype dtype, bool transposed)
{
    int64_t rows = reps + 1;
    double *buf  = malloc((size_t)(n * rows) * sizeof *buf);
    if (buf == NULL) return NULL;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++)
            buf[transposed ? j * rows + r : r * n + j] = v[j];
    nb_tensor *t = nbt_tensor(transposed ? NB_SHAPE(n, rows) : NB_SHAPE(rows, n), dtype, buf);
    free(buf);
    return t;
}

/* The (reps, n) operand in storage made by tiled_storage (or its gradient,
 * of the same shape). */
static nb_tensor *tiled_operand(nb_tensor *storage, bool transposed)
{
    if (storage == NULL) return NULL;
    int64_t reps = nb_shape_of(storage).dims[transposed ? 1 : 0] - 1;
    return transposed ? nb_transpose(nb_narrow(storage, 1, 1, reps), 0, 1) : nb_narrow(storage, 0, 1, reps);
}

/* expected (reps * n) row-major for a (reps, n) result: reps copies of v. */
static double *tiled_values(const double *v, int64_t n, int64_t reps)
{
    double *out = malloc((size_t)(n * reps) * sizeof *out + 1);
    for (int64_t i = 0; out && i < n * reps; i++) out[i] = v[i % n];
    return out;
}

/* out (the op's result, or NULL) against the case: of shape want, holding
 * reps copies of torch's result. out, or NULL where it failed (reported). */
static nb_tensor *check_copies_out(nb_tensor *out, nb_shape want, const fx_case *c, int64_t reps)
{
    int64_t n = numel_of(c->out_shape);
    if (out == NULL) {
        mismatch("forward", "failed where torch succeeds: %s %s", nb_status_name(nb_last_status()), nb_last_error());
        nb_clear_error();
        return NULL;
    }
    if (!same_shape(nb_shape_of(out), want)) {
        mismatch("forward", "the %lld copies gave a result of another shape", (long long)reps);
        return NULL;
    }
    double *expected = tiled_values(c->out, n, reps);
    compare_values("forward", "out", out, expected, n * reps, c->out_dtype, false);
    free(expected);
    return out;
}

/* Backward of sum(out * w) with w reps copies of weights (n of them, out's
 * numel / reps): true, or false where it failed (reported). */
static bool backward_with_copied_weights(nb_tensor *out, const double *weights, int64_t n, int64_t reps)
{
    nb_tensor *w    = nb_reshape(tiled_operand(tiled_storage(weights, n, reps, nb_dtype_of(out), false), false),
                                 nb_shape_of(out));
    nb_tensor *loss = nb_sum(nb_mul(out, w));
    if (loss != NULL && nb_backward(loss) == NB_OK) return true;
    mismatch("grad", "backward failed: %s %s", nb_status_name(nb_last_status()), nb_last_error());
    nb_clear_error();
    return false;
}

/* Input k's gradient g (its operand's part, m * reps values) against reps
 * copies of expected (m values), at the precision of dtype. */
static void check_copied_grad(int k, const nb_tensor *g, const double *expected_one, int64_t m, int64_t reps,
                              nb_dtype dtype)
{
    double *expected = tiled_values(expected_one, m, reps);
    char    what[40];
    snprintf(what, sizeof what, "grad of input %d", k);
    compare_values("grad", what, g, expected, m * reps, dtype, true);
    free(expected);
}

/* The precision a gradient of input k is compared at: float32 anywhere on
 * the path bounds it. */
static nb_dtype grad_precision(const fx_case *c, int k, const nb_tensor *out)
{
    return c->in[k].dtype == NB_FLOAT32 || nb_dtype_of(out) == NB_FLOAT32 ? NB_FLOAT32 : c->in[k].dtype;
}

static void check_tiled_layout(const op_row *row, const fx_case *c, bool transposed, int64_t elements)
{
    int64_t n = numel_of(c->out_shape), widest = n;
    for (int k = 0; k < c->n_inputs; k++)
        if (c->in[k].present && numel_of(c->in[k].shape) > widest) widest = numel_of(c->in[k].shape);
    int64_t reps = elements / widest + 1;
    bool    with_grads = c->has_grads;
    nb_scope_begin();
    bool       batched = is_batched_kind(row->kind);
    op_params  params  = batched ? batched_params(row, &c->p) : c->p;
    nb_tensor *leaves[MAX_INPUTS] = { NULL }, *x[MAX_INPUTS] = { NULL };
    double    *grads_seen[MAX_INPUTS] = { NULL };
    for (int k = 0; k < c->n_inputs; k++) {
        if (!c->in[k].present) continue;
        int64_t m;
        double *v = view_values(&c->in[k], c->in[k].values, &m);
        bool    wants_grad = with_grads && c->in[k].requires_grad && c->grads[k] != NULL;
        leaves[k] = tiled_storage(v, m, reps, c->in[k].dtype, transposed);
        free(v);
        if (leaves[k] && wants_grad) {
            nb_requires_grad_(leaves[k], true);
            grads_seen[k] = view_values(&c->in[k], c->grads[k], &m);
        }
        /* in place: into a copy, never the leaf */
        nb_tensor *operand = k == 0 && is_inplace(row) ? nb_clone(leaves[k]) : leaves[k];
        x[k] = tiled_operand(operand, transposed);
        x[k] = nb_reshape(x[k], with_copies(reps, c->in[k].shape)); /* a view: the copies' dim is uniform */
    }
    nb_tensor *out      = check_copies_out(row->call(x, &params), with_copies(reps, c->out_shape), c, reps);
    bool       any_grad = false;
    for (int k = 0; k < c->n_inputs; k++) any_grad = any_grad || grads_seen[k] != NULL;
    if (out != NULL && any_grad) {
        /* loss_weights' pattern over the result, which for an in-place row
         * check_gradients takes as the whole base written into: then the
         * weights the view's elements met are the view's of the base's. */
        int64_t m = is_inplace(row) ? numel_of(c->in[0].base) : n;
        double *w = malloc((size_t)m * sizeof *w + 1);
        for (int64_t j = 0; j < m; j++) w[j] = (double)((7 * j) % 11 - 5) / 4;
        if (is_inplace(row)) {
            double *seen = view_values(&c->in[0], w, &m);
            free(w);
            w = seen;
        }
        bool done = backward_with_copied_weights(out, w, n, reps);
        free(w);
        for (int k = 0; k < c->n_inputs && done; k++) {
            if (grads_seen[k] == NULL) continue;
            nb_tensor *g = nb_grad(leaves[k]);
            if (g == NULL) g = nb_zeros_like(leaves[k]);
            check_copied_grad(k, tiled_operand(g, transposed), grads_seen[k], numel_of(c->in[k].shape), reps,
                              grad_precision(c, k, out));
        }
    }
    for (int k = 0; k < c->n_inputs; k++) free(grads_seen[k]);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Per-sample rows: copies along the batch dim                               */
/* ------------------------------------------------------------------------ */

/* The layers and losses (reduction none) whose result for a sample depends
 * only on that sample: a batch of `reps` copies of the case's batch gives
 * `reps` copies of its result, the per-sample inputs' gradients copies of
 * theirs, and the shared inputs' (weights, biases) reps times theirs. In
 * training, batch norm's batch statistics of copies are the case's. The
 * per-sample inputs as a bit set (bit k: input k), or 0 where the form
 * does not apply (unbatched shapes, reductions over the batch). */
static unsigned per_sample_inputs(const op_row *row, const fx_case *c)
{
    static const char *const images[] = { "conv2d", "conv_transpose2d", "max_pool2d", "max_pool2d_indices",
                                          "avg_pool2d", "adaptive_avg_pool2d" };
    const char *name = row->name;
    int         rank = c->in[0].present ? c->in[0].shape.ndim : 0;
    for (size_t k = 0; k < sizeof images / sizeof images[0]; k++)
        if (strcmp(name, images[k]) == 0) return rank == 4;
    if (!strcmp(name, "linear") || !strcmp(name, "batch_norm") || !strcmp(name, "group_norm")) return rank >= 2;
    if (!strcmp(name, "layer_norm")) return rank > c->p.shape.ndim;
    if (!strcmp(name, "pad")) return rank > c->p.shape.ndim / 2;
    if (!strcmp(name, "embedding")) return rank >= 1;
    bool none = c->p.i[0] == NB_REDUCTION_NONE;
    if (!strcmp(name, "mse_loss") || !strcmp(name, "l1_loss") || !strcmp(name, "smooth_l1_loss") ||
        !strcmp(name, "kl_div"))
        return none && rank >= 1 && same_shape(c->in[0].shape, c->in[1].shape) ? 3 : 0;
    if (!strcmp(name, "cross_entropy") || !strcmp(name, "nll_loss")) return none && rank >= 2 ? 3 : 0;
    return 0;
}

static bool per_sample_applies(const op_row *row, const fx_case *c)
{
    if (c->raises || documented_refusal(row, c) || numel_of(c->out_shape) == 0) return false;
    unsigned samples = per_sample_inputs(row, c);
    if (samples == 0) return false;
    for (int k = 0; k < c->n_inputs; k++)
        if (c->in[k].present && (samples >> k & 1) && (c->in[k].layout == 'E' || numel_of(c->in[k].shape) == 0))
            return false;
    return !tiled_known();
}

/* shape with its first dim times reps. */
static nb_shape batch_times(nb_shape shape, int64_t reps)
{
    shape.dims[0] *= reps;
    return shape;
}

static void check_per_sample_layout(const op_row *row, const fx_case *c, bool transposed, int64_t elements)
{
    unsigned samples = per_sample_inputs(row, c);
    int64_t  n = numel_of(c->out_shape), widest = n;
    for (int k = 0; k < c->n_inputs; k++)
        if (c->in[k].present && numel_of(c->in[k].shape) > widest) widest = numel_of(c->in[k].shape);
    int64_t reps = elements / widest + 1;
    nb_scope_begin();
    nb_tensor *leaves[MAX_INPUTS] = { NULL }, *x[MAX_INPUTS] = { NULL };
    double    *grads_seen[MAX_INPUTS] = { NULL };
    for (int k = 0; k < c->n_inputs; k++) {
        if (!c->in[k].present) continue;
        bool wants_grad = c->has_grads && c->in[k].requires_grad && c->grads[k] != NULL;
        if (samples >> k & 1) {
            int64_t m;
            double *v = view_values(&c->in[k], c->in[k].values, &m);
            leaves[k] = tiled_storage(v, m, reps, c->in[k].dtype, transposed);
            free(v);
            if (leaves[k] && wants_grad) {
                nb_requires_grad_(leaves[k], true);
                grads_seen[k] = view_values(&c->in[k], c->grads[k], &m);
            }
            x[k] = nb_reshape(tiled_operand(leaves[k], transposed), batch_times(c->in[k].shape, reps));
        } else { /* shared: as the fixture has it */
            leaves[k] = make_base(&c->in[k], wants_grad);
            x[k]      = make_view(leaves[k], &c->in[k]);
        }
    }
    nb_tensor *out      = check_copies_out(row->call(x, &c->p), batch_times(c->out_shape, reps), c, reps);
    bool       any_grad = false;
    for (int k = 0; k < c->n_inputs; k++)
        any_grad = any_grad || (c->has_grads && c->in[k].present && c->in[k].requires_grad && c->grads[k]);
    if (out != NULL && any_grad) {
        double *w = malloc((size_t)n * sizeof *w + 1);
        for (int64_t j = 0; j < n; j++) w[j] = (double)((7 * j) % 11 - 5) / 4; /* loss_weights' pattern */
        bool done = backward_with_copied_weights(out, w, n, reps);
        free(w);
        for (int k = 0; k < c->n_inputs && done; k++) {
            if (!(c->has_grads && c->in[k].present && c->in[k].requires_grad && c->grads[k])) continue;
            nb_tensor *g = nb_grad(leaves[k]);
            if (g == NULL) g = nb_zeros_like(leaves[k]);
            if (samples >> k & 1) { /* per sample: copies */
                check_copied_grad(k, tiled_operand(g, transposed), grads_seen[k], numel_of(c->in[k].shape), reps,
                                  grad_precision(c, k, out));
            } else { /* shared: reps times torch's, in the base's layout */
                int64_t m     = numel_of(c->in[k].base);
                double *times = malloc((size_t)m * sizeof *times + 1);
                for (int64_t i = 0; i < m; i++) times[i] = c->grads[k][i] * (double)reps;
                check_copied_grad(k, g, times, m, 1, grad_precision(c, k, out));
                free(times);
            }
        }
    }
    for (int k = 0; k < c->n_inputs; k++) free(grads_seen[k]);
    nb_scope_end();
}

static int  tiled_cases_run, tiled_parallel_run;
static bool tiled_parallel_done[NUM_ROWS][NB_NUM_DTYPES];

/* The case again as (reps, ...) inputs, contiguous and transposed. */
/* Under ThreadSanitizer (whose runs are ~20x slower) only the parallel
 * form of one case per row: races live in the parallel splits, and the
 * other builds check the values. */
#if defined(__SANITIZE_THREAD__)
#define NBT_TILED_RACES_ONLY 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NBT_TILED_RACES_ONLY 1
#endif
#endif
#ifndef NBT_TILED_RACES_ONLY
#define NBT_TILED_RACES_ONLY 0
#endif

static void check_tiled(const op_row *row, const fx_case *c)
{
    bool per_sample = per_sample_applies(row, c);
    if (!per_sample && !tiled_applies(row, c)) return;
    nb_dtype dtype = c->in[0].present ? c->in[0].dtype : c->out_dtype;
    /* races only: the row's first floating case, whatever its dtype */
    int  slot     = NBT_TILED_RACES_ONLY ? 0 : (int)dtype;
    bool parallel = nb_dtype_is_floating(dtype) && !tiled_parallel_done[row - rows][slot];
    if (NBT_TILED_RACES_ONLY && !parallel) return;
    if (parallel) {
        tiled_parallel_done[row - rows][slot] = true;
        tiled_parallel_run++;
    }
    char label[sizeof current_label];
    memcpy(label, current_label, sizeof label);
    void (*check)(const op_row *, const fx_case *, bool, int64_t) =
        per_sample ? check_per_sample_layout : check_tiled_layout;
    for (int transposed = 0; transposed < 2; transposed++) {
        snprintf(current_label, sizeof current_label, "%.240s %s %s", label, per_sample ? "batched" : "tiled",
                 transposed ? "T" : "C");
        if (!NBT_TILED_RACES_ONLY) check(row, c, transposed, TILED_MIN_ELEMENTS);
        if (parallel) check(row, c, transposed, TILED_PARALLEL_ELEMENTS);
    }
    memcpy(current_label, label, sizeof label);
    tiled_cases_run++;
}

#endif /* OPINFO_TILED_H */
