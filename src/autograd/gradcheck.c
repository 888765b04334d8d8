/*
 * gradcheck.c — nb_gradcheck and nb_gradgradcheck: gradients from backward
 * compared with central finite differences, as torch.autograd.gradcheck.
 *
 * For f: inputs -> y, the analytical Jacobian row of y[j] comes from one
 * nb_grad_of with grad_output = one-hot(j); the numerical column of x[k] is
 * (f(x + eps e_k) - f(x - eps e_k)) / (2 eps), with x[k] perturbed in place
 * through its strides (so non-contiguous inputs are checked as they are).
 * They agree when |analytical - numerical| <= atol + rtol |numerical|.
 */
#include "autograd.h"

#include <stdlib.h>

typedef struct {
    nb_function       f;
    void             *user;
    nb_tensor *const *inputs;
    int               count;
} checked_function;

/* Address of element k (row-major order) of t. */
static char *element_address(const nb_tensor *t, int64_t k)
{
    int64_t offset = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        offset += (k % t->shape[d]) * t->stride[d];
        k /= t->shape[d];
    }
    return nbi_ptr(t) + offset * (int64_t)nbi_itemsize(t);
}

/* f(inputs) as a flat float64 array of *n values (malloc'd); NULL on error. */
static double *evaluate(const checked_function *cf, int64_t *n)
{
    if (nb_scope_begin() != NB_OK) return NULL;
    nbi_grad_mode_push(false);
    nb_tensor *y      = cf->f(cf->inputs, cf->count, cf->user);
    nb_tensor *y64    = y ? nb_to_dtype(y, NB_FLOAT64) : NULL;
    double    *values = NULL;
    if (y64 != NULL) {
        *n     = y64->numel;
        values = malloc((size_t)(*n > 0 ? *n : 1) * sizeof *values);
        if (values && nb_copy_to_buffer(y64, values, (size_t)*n * sizeof *values) != NB_OK) {
            free(values);
            values = NULL;
        }
    }
    nbi_grad_mode_pop();
    nb_scope_end();
    return values;
}

static nb_status check_inputs(nb_tensor *const *inputs, int count, const char *op)
{
    if (inputs == NULL || count < 1) return nbi_fail_status(NB_ERR_ARG, "%s: no inputs", op);
    bool any = false;
    for (int i = 0; i < count; i++) {
        if (!nbi_check_tensor(inputs[i], op, "inputs[i]")) return NB_ERR_ARG;
        if (!inputs[i]->requires_grad) continue;
        any = true;
        if (inputs[i]->storage->device.type != NB_CPU)
            return nbi_fail_status(NB_ERR_DEVICE, "%s: input %d is not on the CPU", op, i);
        for (int d = 0; d < inputs[i]->ndim; d++)
            if (inputs[i]->stride[d] == 0 && inputs[i]->shape[d] > 1)
                return nbi_fail_status(NB_ERR_ARG, "%s: input %d is an expanded view whose elements share memory; "
                                                   "expand inside the function instead", op, i);
    }
    if (!any) return nbi_fail_status(NB_ERR_ARG, "%s: no input requires grad", op);
    return NB_OK;
}

/* Analytical Jacobian, jacobian[i][k * n_out + j] = d y[j] / d x_i[k]. */
static nb_status analytical(const checked_function *cf, int64_t n_out, double **jacobian, const char *op)
{
    if (nb_scope_begin() != NB_OK) return nb_last_status();
    nb_status  status = NB_OK;
    nb_tensor *y      = cf->f(cf->inputs, cf->count, cf->user);
    if (y == NULL) {
        status = nb_last_status();
        goto done;
    }
    if (!y->requires_grad) {
        /* No recorded path from the inputs: the analytical Jacobian is zero
         * (jacobian is zero-filled), which finite differences must confirm. */
        goto done;
    }
    nb_tensor **wrt   = calloc((size_t)cf->count, sizeof *wrt);
    nb_tensor **grads = calloc((size_t)cf->count, sizeof *grads);
    int        *which = calloc((size_t)cf->count, sizeof *which);
    int         m     = 0;
    if (!wrt || !grads || !which) {
        status = nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    } else {
        for (int i = 0; i < cf->count; i++)
            if (cf->inputs[i]->requires_grad) {
                which[m]  = i;
                wrt[m++] = cf->inputs[i];
            }
    }
    for (int64_t j = 0; status == NB_OK && j < n_out; j++) {
        if ((status = nb_scope_begin()) != NB_OK) break;
        nb_tensor *onehot = nb_zeros(nb_shape_of(y), NB_OPTS(.dtype = y->dtype));
        if (onehot) nbi_store_f64(element_address(onehot, j), onehot->dtype, 1.0);
        status = onehot ? nb_grad_of(&y, 1, wrt, m, &onehot, NB_GRAD_OPTS(.retain_graph = true, .allow_unused = true),
                                     grads)
                        : nb_last_status();
        for (int r = 0; status == NB_OK && r < m; r++) {
            const nb_tensor *x = cf->inputs[which[r]];
            for (int64_t k = 0; k < x->numel; k++)
                jacobian[which[r]][k * n_out + j] = grads[r] ? nbi_load_f64(element_address(grads[r], k), grads[r]->dtype) : 0;
        }
        nb_scope_end();
    }
    free(wrt);
    free(grads);
    free(which);
done:
    nb_scope_end();
    return status;
}

static nb_status run_gradcheck(const checked_function *cf, nb_gradcheck_opts opts, const char *op)
{
    nb_status status = check_inputs(cf->inputs, cf->count, op);
    if (status != NB_OK) return status;
    double eps  = opts.eps > 0 ? opts.eps : 1e-6;
    double atol = opts.atol > 0 ? opts.atol : 1e-5;
    double rtol = opts.rtol > 0 ? opts.rtol : 1e-3;

    int64_t n_out = 0;
    double *y0    = evaluate(cf, &n_out);
    if (y0 == NULL) return nb_last_status() != NB_OK ? nb_last_status() : nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    free(y0);

    double **jacobian = calloc((size_t)cf->count, sizeof *jacobian);
    if (jacobian == NULL) return nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    for (int i = 0; i < cf->count && status == NB_OK; i++) {
        if (!cf->inputs[i]->requires_grad) continue;
        jacobian[i] = calloc((size_t)(cf->inputs[i]->numel * n_out + 1), sizeof **jacobian);
        if (jacobian[i] == NULL) status = nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    }
    if (status == NB_OK) status = analytical(cf, n_out, jacobian, op);

    for (int i = 0; i < cf->count && status == NB_OK; i++) {
        nb_tensor *x = cf->inputs[i];
        if (!x->requires_grad) continue;
        for (int64_t k = 0; k < x->numel && status == NB_OK; k++) {
            char  *address = element_address(x, k);
            double saved   = nbi_load_f64(address, x->dtype);
            int64_t n_plus = 0, n_minus = 0;
            nbi_store_f64(address, x->dtype, saved + eps);
            double *plus = evaluate(cf, &n_plus);
            nbi_store_f64(address, x->dtype, saved - eps);
            double *minus = evaluate(cf, &n_minus);
            nbi_store_f64(address, x->dtype, saved);
            if (plus == NULL || minus == NULL) {
                status = nb_last_status() != NB_OK ? nb_last_status() : nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
            }
            for (int64_t j = 0; status == NB_OK && j < n_out; j++) {
                double numerical = (plus[j] - minus[j]) / (2 * eps);
                double exact     = jacobian[i][k * n_out + j];
                bool   both_nan  = isnan(numerical) && isnan(exact);
                if (!both_nan && !(fabs(exact - numerical) <= atol + rtol * fabs(numerical)))
                    status = nbi_fail_status(NB_ERR_STATE,
                                             "%s: Jacobian mismatch for output element %lld with respect to input %d, "
                                             "element %lld: numerical %.9g, analytical %.9g",
                                             op, (long long)j, i, (long long)k, numerical, exact);
            }
            free(plus);
            free(minus);
        }
    }
    for (int i = 0; i < cf->count; i++) free(jacobian[i]);
    free(jacobian);
    return status;
}

nb_status nb_gradcheck(nb_function f, nb_tensor *const *inputs, int count, void *user, nb_gradcheck_opts opts)
{
    if (f == NULL) return nbi_fail_status(NB_ERR_ARG, "nb_gradcheck: f is NULL");
    checked_function cf = { f, user, inputs, count };
    return run_gradcheck(&cf, opts, "nb_gradcheck");
}

/* ------------------------------------------------------------------------ */
/* Second derivatives                                                        */
/* ------------------------------------------------------------------------ */

/* h(x..., v) = the gradients of <f(x), v> with respect to the x that need
 * grad, flattened and joined: its gradient is f's second derivative. */
static nb_tensor *gradient_of_f(nb_tensor *const *inputs, int count, void *user)
{
    const checked_function *cf = user;
    nb_tensor              *v  = inputs[count - 1];
    /* NOTE: recording stays on even when the caller evaluates h in no-grad
     * mode (finite differences): h itself is a gradient. */
    nbi_grad_mode_push(true);
    nb_tensor *y = cf->f(inputs, count - 1, cf->user);
    if (y == NULL) {
        nbi_grad_mode_pop();
        return NULL;
    }
    nb_tensor **wrt   = calloc((size_t)count, sizeof *wrt);
    nb_tensor **grads = calloc((size_t)count, sizeof *grads);
    nb_tensor **flat  = calloc((size_t)count, sizeof *flat);
    nb_tensor  *out   = NULL;
    int         m     = 0;
    if (wrt && grads && flat) {
        for (int i = 0; i < count - 1; i++)
            if (inputs[i]->requires_grad) wrt[m++] = inputs[i];
        if (nb_grad_of(&y, 1, wrt, m, &v, NB_GRAD_OPTS(.create_graph = true, .allow_unused = true), grads) == NB_OK) {
            bool ok = true;
            for (int r = 0; r < m && ok; r++) {
                nb_tensor *g = grads[r] ? grads[r] : nb_zeros_like(wrt[r]);
                flat[r]      = g ? nb_reshape(g, NB_SHAPE(-1)) : NULL;
                ok           = flat[r] != NULL;
            }
            if (ok) out = nb_cat(flat, m, 0);
        }
    } else {
        nbi_fail(NB_ERR_OOM, "nb_gradgradcheck: out of memory");
    }
    free(wrt);
    free(grads);
    free(flat);
    nbi_grad_mode_pop();
    return out;
}

nb_status nb_gradgradcheck(nb_function f, nb_tensor *const *inputs, int count, void *user, nb_gradcheck_opts opts)
{
    const char *op = "nb_gradgradcheck";
    if (f == NULL) return nbi_fail_status(NB_ERR_ARG, "%s: f is NULL", op);
    nb_status status = check_inputs(inputs, count, op);
    if (status != NB_OK) return status;
    checked_function inner = { f, user, inputs, count };
    if (nb_scope_begin() != NB_OK) return nb_last_status();
    /* v: a random direction of y's shape, itself checked as an input. */
    nb_tensor  *y          = f(inputs, count, user);
    nb_tensor  *v          = y ? nb_randn_like(y) : NULL;
    nb_tensor **with_v     = calloc((size_t)count + 1, sizeof *with_v);
    if (v == NULL || with_v == NULL || !nb_dtype_is_floating(v->dtype)) {
        status = v == NULL         ? nb_last_status()
                 : with_v == NULL  ? nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op)
                                   : nbi_fail_status(NB_ERR_ARG, "%s: f must return a floating tensor", op);
    } else {
        nb_requires_grad_(v, true);
        for (int i = 0; i < count; i++) with_v[i] = inputs[i];
        with_v[count]          = v;
        checked_function outer = { gradient_of_f, &inner, with_v, count + 1 };
        status                 = run_gradcheck(&outer, opts, op);
    }
    free(with_v);
    nb_scope_end();
    return status;
}
