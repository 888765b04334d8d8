/*
 * cross_entropy.c — nb_cross_entropy and nb_nll_loss with torch 1.13's
 * semantics: int64 class targets (with ignore_index, class weights and label
 * smoothing) or class-probability targets, reductions mean / sum / none.
 *
 * Composites: cross_entropy is nll of log_softmax (finite for logits of any
 * magnitude, since log_softmax subtracts the max), and nll picks each
 * target's log-probability with nb_gather. Autograd differentiates them twice.
 * The plain classification case ((N, C) contiguous logits, int64 targets, no
 * options) takes a fused fast path, the device table's cross-entropy entries
 * (on the CPU, the loops of loss_kernels.c), tested against the composite
 * (below).
 *
 * Letters: N batch, C classes, "..." extra dims (N, C, d1, ...); the class
 * dim is 1, or 0 for a single sample of logits (C) with a 0-d target.
 */
#include "core/backend.h"
#include "nn/functional_args.h"

static int class_dim_of(const nb_tensor *input) { return input->ndim == 1 ? 0 : 1; }

/* The shape of input without its class dim: what class targets must have. */
static nb_shape target_shape_of(const nb_tensor *input)
{
    nb_shape shape = {.ndim = 0};
    for (int d = 0; d < input->ndim; d++)
        if (d != class_dim_of(input)) shape.dims[shape.ndim++] = input->shape[d];
    return shape;
}

/* t is float32 or float64, and of ref's dtype when ref is given: the rules
 * of nbf_check_float and nbf_check_same_dtype, with their words, without
 * their CPU check (check_common checks the devices of all three tensors). */
static bool check_float_dtype(const nb_tensor *t, const nb_tensor *ref, const char *op, const char *name,
                              const char *ref_name)
{
    if (!nb_dtype_is_floating(t->dtype)) {
        nbi_fail(NB_ERR_DTYPE, "%s: %s must be float32 or float64, got %s; convert it with nb_to_dtype first", op, name,
                 nb_dtype_name(t->dtype));
        return false;
    }
    if (ref == NULL || t->dtype == ref->dtype) return true;
    nbi_fail(NB_ERR_DTYPE, "%s: %s is %s but %s is %s; they must have the same dtype", op, name,
             nb_dtype_name(t->dtype), ref_name, nb_dtype_name(ref->dtype));
    return false;
}

/* Checks shared by both ops: input, target and weight on one device, input
 * float (N, C, ...) or (C), a valid reduction, label_smoothing in [0, 1],
 * weight (C) of input's dtype. */
static bool check_common(const nb_tensor *input, const nb_tensor *target, nb_cross_entropy_opts opts, const char *op,
                         const char *input_name)
{
    if (!nbi_check_tensor(input, op, input_name) || !nbi_check_tensor(target, op, "target") ||
        (opts.weight != NULL && !nbi_check_tensor(opts.weight, op, "weight")))
        return false;
    const nb_tensor *tensors[3] = {input, target, opts.weight};
    if (!nbi_check_device(op, 3, tensors, (const char *const[]){input_name, "target", "weight"}) ||
        !check_float_dtype(input, NULL, op, input_name, NULL) || !nbf_check_reduction(opts.reduction, false, op))
        return false;
    if (input->ndim == 0) {
        nbi_fail(NB_ERR_SHAPE, "%s: %s must have a class dim: (N, C), (N, C, d1, ...) or (C), got a 0-d tensor", op,
                 input_name);
        return false;
    }
    if (!(opts.label_smoothing >= 0 && opts.label_smoothing <= 1)) {
        nbi_fail(NB_ERR_ARG, "%s: label_smoothing must be between 0.0 and 1.0, got %g", op, opts.label_smoothing);
        return false;
    }
    return (opts.weight == NULL || check_float_dtype(opts.weight, input, op, "weight", input_name)) &&
           nbf_check_vector(opts.weight, input->shape[class_dim_of(input)], op, "weight", "class");
}

/* target: int64 of input's shape without the class dim; every index in
 * [0, C) unless ignored. *counted receives the number not ignored. */
static bool check_class_target(const nb_tensor *input, const nb_tensor *target, nb_cross_entropy_opts opts,
                               const char *op, const char *input_name, int64_t *counted)
{
    nb_shape expected = target_shape_of(input);
    bool     fits     = target->ndim == expected.ndim;
    for (int d = 0; fits && d < expected.ndim; d++)
        fits = target->shape[d] == expected.dims[d];
    if (!fits) {
        char buf_t[NBI_SHAPE_STR_SIZE], buf_i[NBI_SHAPE_STR_SIZE], buf_e[NBI_SHAPE_STR_SIZE];
        nbi_fail(NB_ERR_SHAPE, "%s: target of shape %s does not fit %s of shape %s: class indices need shape %s", op,
                 nbi_shape_str(target->ndim, target->shape, buf_t, sizeof buf_t), input_name,
                 nbi_shape_str(input->ndim, input->shape, buf_i, sizeof buf_i),
                 nbi_shape_str(expected.ndim, expected.dims, buf_e, sizeof buf_e));
        return false;
    }
    /* The indices are read here, so from host memory. */
    nb_tensor *values = nbi_host_contiguous(target);
    if (values == NULL) return false;
    const int64_t *index   = (const int64_t *)nbi_ptr(values);
    int64_t        classes = input->shape[class_dim_of(input)];
    bool           ok      = true;
    *counted               = 0;
    for (int64_t i = 0; ok && i < values->numel; i++) {
        if (opts.has_ignore_index && index[i] == opts.ignore_index) continue;
        if (index[i] < 0 || index[i] >= classes) {
            nbi_fail(NB_ERR_INDEX, "%s: target %lld (element %lld) is out of range for %lld classes", op,
                     (long long)index[i], (long long)i, (long long)classes);
            ok = false;
        }
        (*counted)++;
    }
    nb_free(values);
    return ok;
}

/* log_probs: (N, C, ...) or (C); target: checked class indices, counted of
 * them not ignored. Per target i (0 where ignored):
 *   L_i = (1 - s) (-w[t_i] log_probs[i, t_i]) + s / C (-sum_c w_c log_probs[i, c])
 * with s the label smoothing and w the class weights (1 without). mean
 * divides sum(L) by the sum of w[t_i] over targets not ignored (their count
 * without weights), as torch does for both terms. */
/* A per-sample loss reduced as nll_loss reduces: the mean divides by the
 * picked weights' sum, or by the samples not ignored. */
static nb_tensor *reduce_class_loss(nb_tensor *loss, nb_reduction reduction, nb_tensor *target_weight,
                                    nb_tensor *ignored, int64_t counted)
{
    switch (reduction) {
    case NB_REDUCTION_NONE: return loss;
    case NB_REDUCTION_SUM: return nb_sum(loss);
    default:
        if (target_weight != NULL) return nb_div(nb_sum(loss), nb_sum(target_weight));
        if (ignored != NULL) return nb_div_scalar(nb_sum(loss), (double)counted);
        return nb_mean(loss);
    }
}

static nb_tensor *class_target_loss(const nb_tensor *log_probs, const nb_tensor *target, nb_cross_entropy_opts opts,
                                    int64_t counted)
{
    int        class_dim = class_dim_of(log_probs);
    int64_t    classes   = log_probs->shape[class_dim];
    double     smoothing = opts.label_smoothing;
    nb_tensor *ignored = NULL, *safe_target = (nb_tensor *)target;
    if (opts.has_ignore_index) {
        nb_tensor *ignore_index = nb_from_data(&opts.ignore_index, NB_SCALAR_SHAPE,
                                               NB_OPTS(.dtype = NB_INT64, .device = target->storage->device));
        ignored                 = nb_eq(target, ignore_index);
        safe_target             = nb_masked_fill(target, ignored, 0); /* any valid class: its loss is masked */
    }
    nb_tensor *picked        = nb_gather(log_probs, class_dim, nb_unsqueeze(safe_target, class_dim));
    nb_tensor *loss          = nb_neg(nb_squeeze_dim(picked, class_dim));
    nb_tensor *target_weight = NULL; /* w[t_i], target's shape */
    if (opts.weight != NULL) {
        nb_tensor *flat_weight = nb_index_select(opts.weight, 0, nb_reshape(safe_target, NB_SHAPE(-1)));
        target_weight          = nb_reshape(flat_weight, nb_shape_of(target));
        loss                   = nb_mul(loss, target_weight);
    }
    nb_tensor *uniform = NULL; /* label smoothing's term, target's shape */
    if (smoothing > 0) {
        nb_tensor *terms = (nb_tensor *)log_probs;
        if (opts.weight != NULL) {
            nb_shape along = log_probs->ndim == 1 ? NB_SHAPE(classes) : nbf_channel_shape(log_probs->ndim, classes);
            terms          = nb_mul(log_probs, nb_reshape(opts.weight, along));
        }
        uniform = nb_neg(nb_sum_dims(terms, NB_DIMS(class_dim), false));
    }
    if (ignored != NULL) {
        loss = nb_masked_fill(loss, ignored, 0);
        if (uniform != NULL) uniform = nb_masked_fill(uniform, ignored, 0);
        if (target_weight != NULL) target_weight = nb_masked_fill(target_weight, ignored, 0);
    }
    /* torch: (1 - s) nll_loss + (s / C) smoothing term, each reduced on its
     * own (the mean of each divided by the same total: with weights that
     * sum to 0 the nll term is 0 / 0, NaN, whatever the other) */
    nb_tensor *reduced = reduce_class_loss(loss, opts.reduction, target_weight, ignored, counted);
    if (uniform == NULL) return reduced;
    nb_tensor *smoothed = reduce_class_loss(uniform, opts.reduction, target_weight, ignored, counted);
    return nb_add(nb_mul_scalar(reduced, 1 - smoothing), nb_mul_scalar(smoothed, smoothing / (double)classes));
}

/* log_probs and target: (N, C, ...) or (C), target floating class
 * probabilities. L_i = -sum_c w_c t'[i, c] log_probs[i, c] with
 * t' = (1 - s) t + s / C; mean divides by the number of samples
 * (numel / C; NaN when empty), not by the weights. */
static nb_tensor *prob_target_loss(const nb_tensor *log_probs, const nb_tensor *target, nb_cross_entropy_opts opts)
{
    int        class_dim = class_dim_of(log_probs);
    int64_t    classes   = log_probs->shape[class_dim];
    double     smoothing = opts.label_smoothing;
    nb_tensor *t         = (nb_tensor *)target;
    if (smoothing > 0) t = nb_add_scalar(nb_mul_scalar(target, 1 - smoothing), smoothing / (double)classes);
    nb_tensor *terms = nb_mul(log_probs, t);
    if (opts.weight != NULL) {
        nb_shape along = log_probs->ndim == 1 ? NB_SHAPE(classes) : nbf_channel_shape(log_probs->ndim, classes);
        terms          = nb_mul(terms, nb_reshape(opts.weight, along));
    }
    switch (opts.reduction) {
    case NB_REDUCTION_NONE:
        return nb_neg(nb_sum_dims(terms, NB_DIMS(class_dim), false));
    case NB_REDUCTION_SUM:
        return nb_neg(nb_sum(terms));
    default: {
        double samples = classes > 0 ? (double)(log_probs->numel / classes) : 0;
        return nb_div_scalar(nb_neg(nb_sum(terms)), samples);
    }
    }
}

/* ------------------------------------------------------------------------ */
/* Fast path: (N, C) logits, int64 targets, no options                      */
/* ------------------------------------------------------------------------ */
/* The classification case of every training loop runs as one kernel and one
 * graph node instead of ~6 ops and ~5 nodes (at (64, 10) logits, forward
 * and backward take ~6 us instead of ~12; measured on the 2-core dev
 * machine). tests/test_losses.c
 * checks it against the composite (which a transposed view of the same
 * logits takes). Its backward is a direct kernel, or, when the backward is
 * recorded (create_graph), the same formula written with public ops, so it
 * differentiates again. */

/* The fused entries apply, and logits' device has them. */
static bool fused_applies(const nb_tensor *logits, const nb_tensor *target, nb_cross_entropy_opts opts)
{
    return logits->ndim == 2 && nb_is_contiguous(logits) && target->ndim == 1 && nb_is_contiguous(target) &&
           opts.weight == NULL && !opts.has_ignore_index && opts.label_smoothing == 0 &&
           nbi_backend_of(logits)->supports(NBI_FAMILY_CROSS_ENTROPY, 0, logits->dtype);
}

/* x: (N, C) contiguous; target: (N) int64 contiguous, checked. */
static nbi_cross_entropy_rows rows_of(const nb_tensor *x, const nb_tensor *target)
{
    return (nbi_cross_entropy_rows){
        .device  = x->storage->device.index,
        .dtype   = x->dtype,
        .rows    = x->shape[0],
        .classes = x->shape[1],
        .logits  = nbi_ptr(x),
        .target  = (const int64_t *)nbi_ptr(target),
    };
}

/* inputs (logits, target); node parameters: the reduction; g: the loss's
 * gradient. */
static nb_status fused_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    nb_tensor   *x = nbi_input(node, 0), *target = nbi_input(node, 1);
    nb_reduction reduction = *NBI_NODE_PARAMS(node, nb_reduction);
    int64_t      rows = x->shape[0], classes = x->shape[1];
    double       factor = reduction == NB_REDUCTION_MEAN ? 1.0 / (double)rows : 1.0;
    if (!nbi_input_needs_grad(node, 0)) return NB_OK;
    if (nbi_grad_enabled()) { /* recorded: (softmax(x) - onehot(t)) * g, in public ops */
        NBI_FORMULA_BEGIN();
        nb_tensor *onehot = nb_to_dtype(nb_one_hot(target, classes), x->dtype);
        nb_tensor *scale  = reduction == NB_REDUCTION_NONE ? nb_unsqueeze(g, 1) : nb_mul_scalar(g, factor);
        nb_status  status = nbi_keep_grad(nb_mul(nb_sub(nb_softmax(x, 1), onehot), scale), &grad_inputs[0]);
        NBI_FORMULA_END(status);
    }
    nb_tensor *grad = nbi_empty(2, x->shape, x->dtype, x->storage->device);
    if (grad == NULL) return nb_last_status();
    nbi_cross_entropy_rows args      = rows_of(x, target);
    nbi_loss_grad          grad_loss = {
                 .values = nbi_ptr(g),
                 .dtype  = g->dtype,
                 .step   = g->ndim == 1 ? g->stride[0] : 0,
                 .factor = factor,
    };
    nbi_backend_of(x)->cross_entropy_backward(&args, &grad_loss, nbi_ptr(grad));
    grad_inputs[0] = grad;
    return NB_OK;
}

/* logits (N, C) contiguous float; target (N) int64 contiguous, checked. */
static nb_tensor *fused_cross_entropy(const nb_tensor *logits, const nb_tensor *target, nb_reduction reduction)
{
    int64_t    rows = logits->shape[0];
    nb_tensor *out  = reduction == NB_REDUCTION_NONE ? nbi_empty(1, &rows, logits->dtype, logits->storage->device)
                                                     : nbi_empty(0, NULL, logits->dtype, logits->storage->device);
    if (out == NULL) return NULL;
    nbi_cross_entropy_rows args = rows_of(logits, target);
    if (nbi_backend_of(logits)->cross_entropy_forward(&args, reduction, nbi_ptr(out)) != NB_OK) {
        nb_free(out);
        return NULL;
    }
    const nb_tensor *inputs[2] = {logits, target};
    if (nbi_should_record(2, inputs)) {
        nbi_node *node = nbi_record(out, "NllLossBackward0", fused_backward, 2, inputs, NBI_SAVES(0) | NBI_SAVES(1));
        if (node == NULL) {
            nb_free(out);
            return NULL;
        }
        *NBI_NODE_PARAMS(node, nb_reduction) = reduction;
    }
    return out;
}

/* ------------------------------------------------------------------------ */
/* Front doors                                                               */
/* ------------------------------------------------------------------------ */

nb_tensor *nb_cross_entropy(const nb_tensor *logits, const nb_tensor *target, nb_cross_entropy_opts opts)
{
    const char *op = "nb_cross_entropy";
    if (!check_common(logits, target, opts, op, "logits")) return NULL;
    int64_t counted = 0;
    if (nb_dtype_is_floating(target->dtype)) {
        if (!check_float_dtype(target, logits, op, "target (class probabilities)", "logits") ||
            !nbf_check_same_shape(target, logits, op, "target (class probabilities)", "logits"))
            return NULL;
        /* As torch: a negative ignore_index (its default -100) is allowed. */
        if (opts.has_ignore_index && opts.ignore_index >= 0)
            return nbi_fail(NB_ERR_ARG,
                            "%s: ignore_index applies to class-index targets only, not to class "
                            "probabilities",
                            op);
    } else if (target->dtype != NB_INT64) {
        return nbi_fail(NB_ERR_DTYPE,
                        "%s: target must be int64 class indices or class probabilities of logits' "
                        "dtype, got %s",
                        op, nb_dtype_name(target->dtype));
    } else if (!check_class_target(logits, target, opts, op, "logits", &counted)) {
        return NULL;
    }
    if (target->dtype == NB_INT64 && fused_applies(logits, target, opts))
        return fused_cross_entropy(logits, target, opts.reduction);
    if (!nbf_begin()) return NULL;
    nb_tensor *log_probs = nb_log_softmax(logits, class_dim_of(logits));
    nb_tensor *loss      = NULL;
    if (log_probs != NULL)
        loss = target->dtype == NB_INT64 ? class_target_loss(log_probs, target, opts, counted)
                                         : prob_target_loss(log_probs, target, opts);
    return nbf_end(loss);
}

nb_tensor *nb_nll_loss(const nb_tensor *log_probs, const nb_tensor *target, nb_cross_entropy_opts opts)
{
    const char *op = "nb_nll_loss";
    if (!check_common(log_probs, target, opts, op, "log_probs")) return NULL;
    if (opts.label_smoothing != 0)
        return nbi_fail(NB_ERR_ARG, "%s: label_smoothing is an option of nb_cross_entropy only, got %g", op,
                        opts.label_smoothing);
    if (target->dtype != NB_INT64)
        return nbi_fail(NB_ERR_DTYPE, "%s: target must be int64 class indices, got %s", op,
                        nb_dtype_name(target->dtype));
    int64_t counted = 0;
    if (!check_class_target(log_probs, target, opts, op, "log_probs", &counted)) return NULL;
    if (!nbf_begin()) return NULL;
    return nbf_end(class_target_loss(log_probs, target, opts, counted));
}
