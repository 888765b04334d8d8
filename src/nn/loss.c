/*
 * loss.c — the elementwise losses of torch.nn.functional: nb_mse_loss,
 * nb_l1_loss, nb_smooth_l1_loss, nb_binary_cross_entropy,
 * nb_binary_cross_entropy_with_logits and nb_kl_div. (cross_entropy and
 * nll_loss live in cross_entropy.c.)
 *
 * Each computes the unreduced loss of input's shape, then applies the
 * reduction. All but binary_cross_entropy are composites of public ops
 * (differentiable twice for free). binary_cross_entropy records its own
 * node: its log is clamped at -100, and differentiating the clamp would give
 * 0 * inf = NaN at p = 0 or 1 (a saturated sigmoid gives exactly 1), where
 * torch's gradient (p - t) / max(p (1 - p), 1e-12) is finite. That formula
 * is written with public ops, so it differentiates again.
 *
 * NOTE: input and target must have the same shape; torch broadcasts them
 * with a warning ("likely to lead to incorrect results"), which a C library
 * cannot show, so nabla refuses instead.
 */
#include "nn/functional_args.h"

/* The reduction of an unreduced loss (kl_div's batchmean aside). */
static nb_tensor *reduce(nb_tensor *loss, nb_reduction reduction)
{
    switch (reduction) {
    case NB_REDUCTION_SUM:
        return nb_sum(loss);
    case NB_REDUCTION_MEAN:
        return nb_mean(loss);
    default:
        return loss;
    }
}

/* input and target: float tensors of one dtype and shape. */
static bool check_pair(const nb_tensor *input, const nb_tensor *target, nb_reduction reduction, bool batchmean,
                       const char *op, const char *input_name)
{
    return nbf_check_float(input, op, input_name) && nbf_check_float(target, op, "target") &&
           nbi_check_device(op, 2, (const nb_tensor *const[]){ input, target },
                            (const char *const[]){ input_name, "target" }) &&
           nbf_check_same_dtype(target, input, op, "target", input_name) &&
           nbf_check_same_shape(input, target, op, input_name, "target") &&
           nbf_check_reduction(reduction, batchmean, op);
}

/* An optional tensor (NULL passes) of input's dtype that broadcasts to
 * input's shape without growing it. */
static bool check_broadcasts_to(const nb_tensor *t, const nb_tensor *input, const char *op, const char *name,
                                const char *input_name)
{
    if (t == NULL) return true;
    if (!nbf_check_same_dtype(t, input, op, name, input_name)) return false;
    bool fits = t->ndim <= input->ndim;
    for (int d = 0; fits && d < t->ndim; d++) {
        int64_t size = t->shape[t->ndim - 1 - d];
        fits         = size == 1 || size == input->shape[input->ndim - 1 - d];
    }
    if (fits) return true;
    char buf_t[NBI_SHAPE_STR_SIZE], buf_i[NBI_SHAPE_STR_SIZE];
    nbi_fail(NB_ERR_SHAPE, "%s: %s of shape %s does not broadcast to %s of shape %s", op, name,
             nbi_shape_str(t->ndim, t->shape, buf_t, sizeof buf_t), input_name,
             nbi_shape_str(input->ndim, input->shape, buf_i, sizeof buf_i));
    return false;
}

/* ------------------------------------------------------------------------ */
/* Regression losses                                                         */
/* ------------------------------------------------------------------------ */

/* (input - target)^2 */
nb_tensor *nb_mse_loss(const nb_tensor *input, const nb_tensor *target, nb_reduction reduction)
{
    if (!check_pair(input, target, reduction, false, "nb_mse_loss", "input")) return NULL;
    if (!nbf_begin()) return NULL;
    nb_tensor *diff = nb_sub(input, target);
    return nbf_end(reduce(nb_mul(diff, diff), reduction));
}

/* |input - target|; the gradient at 0 is 0, as torch's. */
nb_tensor *nb_l1_loss(const nb_tensor *input, const nb_tensor *target, nb_reduction reduction)
{
    if (!check_pair(input, target, reduction, false, "nb_l1_loss", "input")) return NULL;
    if (!nbf_begin()) return NULL;
    return nbf_end(reduce(nb_abs(nb_sub(input, target)), reduction));
}

/* torch's smooth_l1_backward of d: -g where d <= -beta, g where d >= beta,
 * g d / beta between (so -g at d = 0 when beta = 0, the sign at an
 * infinite d, NaN at a NaN d). Made of differentiable ops: the second
 * derivative is 1 / beta in between. */
static nb_tensor *smooth_l1_grad(nb_tensor *g, nb_tensor *d, double beta)
{
    /* between the two: g d / beta, or (beta = 0, only a NaN d is there) NaN */
    nb_tensor *between = beta > 0 ? nb_mul(g, nb_div_scalar(d, beta)) : nb_full_like(d, NAN);
    return nb_where(nb_le_scalar(d, -beta), nb_neg(g), nb_where(nb_ge_scalar(d, beta), g, between));
}

/* input's gradient of d = input - target, target's of target - input (as
 * torch: both -g where they are equal and beta = 0). */
static nb_status smooth_l1_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *input = nbi_input(node, 0), *target = nbi_input(node, 1);
    double     beta   = node->scalars[0];
    nb_status  status = NB_OK;
    if (nbi_input_needs_grad(node, 0)) {
        nb_tensor *grad = smooth_l1_grad(g, nb_sub(input, target), beta);
        status          = nbi_keep_grad(grad ? nbi_sum_to(grad, input->ndim, input->shape) : NULL, &grad_inputs[0]);
    }
    if (status == NB_OK && nbi_input_needs_grad(node, 1)) {
        nb_tensor *grad = smooth_l1_grad(g, nb_sub(target, input), beta);
        status          = nbi_keep_grad(grad ? nbi_sum_to(grad, target->ndim, target->shape) : NULL, &grad_inputs[1]);
    }
    NBI_FORMULA_END(status);
}

/* z = |input - target|: 0.5 z^2 / beta where z < beta, else z - 0.5 beta;
 * beta = 0 is the L1 loss (with smooth_l1's gradient: see above). */
nb_tensor *nb_smooth_l1_loss(const nb_tensor *input, const nb_tensor *target, nb_reduction reduction, double beta)
{
    const char *op = "nb_smooth_l1_loss";
    if (!check_pair(input, target, reduction, false, op, "input")) return NULL;
    if (!(beta >= 0) || isinf(beta)) return nbi_fail(NB_ERR_ARG, "%s: beta must be finite and >= 0, got %g", op, beta);
    if (!nbf_begin()) return NULL;
    nbi_grad_mode_push(false);
    nb_tensor *z = nb_abs(nb_sub(input, target)), *loss = z;
    if (beta > 0) {
        nb_tensor *quadratic = nb_mul_scalar(nb_mul(z, z), 0.5 / beta);
        loss                 = nb_where(nb_lt_scalar(z, beta), quadratic, nb_sub_scalar(z, 0.5 * beta));
    }
    nbi_grad_mode_pop();
    const nb_tensor *inputs[2] = {input, target};
    if (loss != NULL && nbi_should_record(2, inputs)) {
        nbi_node *node = nbi_record(loss, "SmoothL1LossBackward0", smooth_l1_backward, 2, inputs,
                                    NBI_SAVES(0) | NBI_SAVES(1));
        if (node == NULL)
            loss = NULL;
        else
            node->scalars[0] = beta;
    }
    return nbf_end(reduce(loss, reduction));
}

/* ------------------------------------------------------------------------ */
/* binary_cross_entropy                                                      */
/* ------------------------------------------------------------------------ */

/* -(t max(log p, -100) + (1 - t) max(log(1 - p), -100)): log(1 - p), not
 * log1p(-p), as torch 1.13 computes it. */
static nb_tensor *bce_unweighted(const nb_tensor *p, const nb_tensor *t)
{
    nb_tensor *log_p     = nb_clamp(nb_log(p), -100, NAN);
    nb_tensor *log_not_p = nb_clamp(nb_log(nb_rsub_scalar(p, 1)), -100, NAN);
    return nb_neg(nb_add(nb_mul(t, log_p), nb_mul(nb_rsub_scalar(t, 1), log_not_p)));
}

/* inputs (p, t, w or NULL); g: the unreduced loss's gradient (p's shape).
 * dp = g w (p - t) / max(p (1 - p), 1e-12)   (torch's formula)
 * dt = g w (log(1 - p) - log(p))            (not clamped, as torch)
 * dw = g * the unweighted loss, summed to w's shape. */
static nb_status bce_backward(nbi_node *node, nb_tensor *g, nb_tensor **grad_inputs)
{
    NBI_FORMULA_BEGIN();
    nb_tensor *p = nbi_input(node, 0), *t = nbi_input(node, 1), *w = nbi_input(node, 2);
    nb_tensor *gw     = w ? nb_mul(g, w) : g;
    nb_status  status = NB_OK;
    if (nbi_input_needs_grad(node, 0)) {
        /* NOTE: torch's EPSILON is the float 1e-12f (9.99999996e-13), in every dtype. */
        nb_tensor *denominator = nb_clamp(nb_mul(p, nb_rsub_scalar(p, 1)), (double)1e-12f, NAN);
        status                 = nbi_keep_grad(nb_mul(gw, nb_div(nb_sub(p, t), denominator)), &grad_inputs[0]);
    }
    if (status == NB_OK && nbi_input_needs_grad(node, 1)) {
        nb_tensor *log_odds = nb_sub(nb_log(nb_rsub_scalar(p, 1)), nb_log(p));
        status              = nbi_keep_grad(nb_mul(gw, log_odds), &grad_inputs[1]);
    }
    if (status == NB_OK && nbi_input_needs_grad(node, 2)) {
        nb_tensor *gl = nb_mul(g, bce_unweighted(p, t));
        status        = nbi_keep_grad(gl ? nbi_sum_to(gl, w->ndim, w->shape) : NULL, &grad_inputs[2]);
    }
    NBI_FORMULA_END(status);
}

/* The first element of p outside [0, 1] (NaN included), or -1. */
static int64_t first_outside_unit(const nb_tensor *p, double *value)
{
    nb_tensor *c = nbi_host_contiguous(p);
    if (c == NULL) return -2;
    int64_t     found = -1;
    const char *data  = nbi_ptr(c);
    size_t      size  = nb_dtype_size(c->dtype);
    for (int64_t i = 0; i < c->numel && found < 0; i++) {
        double v = nbi_load_f64(data + (size_t)i * size, c->dtype); /* any float dtype, halves too */
        if (!(v >= 0 && v <= 1)) {
            found  = i;
            *value = v;
        }
    }
    nb_free(c);
    return found;
}

nb_tensor *nb_binary_cross_entropy(const nb_tensor *probs, const nb_tensor *target, const nb_tensor *weight,
                                   nb_reduction reduction)
{
    const char *op = "nb_binary_cross_entropy";
    if (!check_pair(probs, target, reduction, false, op, "probs") ||
        !check_broadcasts_to(weight, probs, op, "weight", "probs"))
        return NULL;
    double  bad   = 0;
    int64_t where = first_outside_unit(probs, &bad);
    if (where == -2) return NULL;
    if (where >= 0)
        return nbi_fail(NB_ERR_ARG, "%s: all elements of probs should be between 0 and 1; element %lld is %g", op,
                        (long long)where, bad);

    if (!nbf_begin()) return NULL;
    nbi_grad_mode_push(false);
    nb_tensor *loss = bce_unweighted(probs, target);
    if (weight != NULL) loss = nb_mul(loss, weight);
    nbi_grad_mode_pop();
    const nb_tensor *inputs[3] = {probs, target, weight};
    if (loss != NULL && nbi_should_record(3, inputs) &&
        nbi_record(loss, "BinaryCrossEntropyBackward0", bce_backward, 3, inputs,
                   NBI_SAVES(0) | NBI_SAVES(1) | NBI_SAVES(2)) == NULL)
        loss = NULL;
    return nbf_end(reduce(loss, reduction));
}

/* ------------------------------------------------------------------------ */
/* binary_cross_entropy_with_logits                                          */
/* ------------------------------------------------------------------------ */

/* torch's loss (1 - t) x + l softplus(-x), l = 1 + (pos_weight - 1) t,
 * times weight, written without cancellation: for x >= 0 as above (two
 * non-negative terms), for x < 0 as l softplus(x) - pos_weight t x (the same
 * value, since softplus(-x) = softplus(x) - x; again two non-negative
 * terms), so a loss near 0 keeps its digits (x = -30, t = 0 gives 9.36e-14,
 * not 30 - 30). softplus's argument is <= 0 in the branch taken, so it is
 * log1p(exp(-|x|)), finite for any x, and its gradient is right at x = 0
 * (sigmoid(0) = 1/2), which max(-x, 0) + log1p(exp(-|x|)) would get wrong at
 * its kinks. */
nb_tensor *nb_binary_cross_entropy_with_logits(const nb_tensor *logits, const nb_tensor *target,
                                               const nb_tensor *weight, const nb_tensor *pos_weight,
                                               nb_reduction reduction)
{
    const char *op = "nb_binary_cross_entropy_with_logits";
    if (!check_pair(logits, target, reduction, false, op, "logits") ||
        !check_broadcasts_to(weight, logits, op, "weight", "logits") ||
        !check_broadcasts_to(pos_weight, logits, op, "pos_weight", "logits"))
        return NULL;
    if (!nbf_begin()) return NULL;
    nb_tensor *softplus_neg    = nb_softplus(nb_neg(logits), 1, 20);
    nb_tensor *softplus_pos    = nb_softplus(logits, 1, 20);
    nb_tensor *positive_weight = (nb_tensor *)target; /* pos_weight t */
    if (pos_weight != NULL) {
        nb_tensor *l    = nb_add_scalar(nb_mul(nb_sub_scalar(pos_weight, 1), target), 1);
        softplus_neg    = nb_mul(l, softplus_neg);
        softplus_pos    = nb_mul(l, softplus_pos);
        positive_weight = nb_mul(pos_weight, target);
    }
    nb_tensor *for_positive = nb_add(nb_mul(nb_rsub_scalar(target, 1), logits), softplus_neg);
    nb_tensor *for_negative = nb_sub(softplus_pos, nb_mul(positive_weight, logits));
    nb_tensor *loss         = nb_where(nb_ge_scalar(logits, 0), for_positive, for_negative);
    if (weight != NULL) loss = nb_mul(loss, weight);
    return nbf_end(reduce(loss, reduction));
}

/* ------------------------------------------------------------------------ */
/* kl_div                                                                    */
/* ------------------------------------------------------------------------ */

/* input: log q; target: p (or log p when log_target). The pointwise loss is
 * xlogy(p, p) - p log q, torch 1.13's composite, with its gradients: the
 * target's is NaN where it is 0 (xlogy's b gradient 0 / 0). */
nb_tensor *nb_kl_div(const nb_tensor *input, const nb_tensor *target, nb_reduction reduction, bool log_target)
{
    const char *op = "nb_kl_div";
    if (!check_pair(input, target, reduction, true, op, "input")) return NULL;
    if (!nbf_begin()) return NULL;
    nb_tensor *loss;
    if (log_target) {
        loss = nb_mul(nb_exp(target), nb_sub(target, input));
    } else {
        loss = nb_sub(nb_xlogy(target, target), nb_mul(target, input));
    }
    if (reduction == NB_REDUCTION_BATCHMEAN) {
        nb_tensor *sum = nb_sum(loss);
        return nbf_end(input->ndim > 0 ? nb_div_scalar(sum, (double)input->shape[0]) : sum);
    }
    return nbf_end(reduce(loss, reduction));
}
