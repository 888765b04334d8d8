/*
 * init.c — the nb_init_* functions of nabla/nn.h, as torch.nn.init 1.13:
 * fill a tensor in place, under no-grad, from the library's generator.
 *
 * Each one validates t (floating point for the random ones, on a device
 * this build runs, no expanded view), draws the values into a temporary of
 * t's shape with the public creation ops, and copies them into t with
 * nb_copy_ (which keeps t's identity and strides and bumps its version). The scale of the Xavier and
 * Kaiming variants comes from torch's fan and gain rules, reproduced below
 * (_calculate_fan_in_and_fan_out, calculate_gain).
 */
#include "autograd/autograd.h"
#include "core/backend.h"

#include <stdlib.h>

/* t is usable for an in-place fill: a tensor on a device this build runs,
 * whose elements do not share memory, and floating point when random
 * values go in. */
static nb_status check_target(const nb_tensor *t, const char *op, bool random)
{
    if (!nbi_check_tensor(t, op, "t")) return NB_ERR_ARG;
    if (!nbi_check_device1(op, t, "t")) return nb_last_status();
    if (random && !nb_dtype_is_floating(t->dtype))
        return nbi_fail_status(NB_ERR_DTYPE, "%s: random initialisation needs a floating-point tensor, got %s", op,
                               nb_dtype_name(t->dtype));
    if (nbi_has_internal_overlap(t))
        return nbi_fail_status(NB_ERR_ARG,
                               "%s: the tensor has elements that share memory (an expanded view); clone it first", op);
    return NB_OK;
}

/* Copy values (made on the CPU, same shape as t, any dtype) into t without
 * recording, then free values. values == NULL: the error that made it NULL
 * is returned. The values are drawn on the host whatever t's device
 * (Philox is keyed by element index: the same numbers anywhere) and moved
 * to t's device first. */
static nb_status assign(nb_tensor *t, nb_tensor *values)
{
    if (values == NULL) return nb_last_status() != NB_OK ? nb_last_status() : NB_ERR_OOM;
    nbi_grad_mode_push(false);
    nb_tensor *moved   = nb_to(values, t->storage->device);
    nb_tensor *written = moved ? nb_copy_(t, moved) : NULL;
    nbi_grad_mode_pop();
    if (moved != values) nb_free(moved);
    nb_free(values);
    return written ? NB_OK : nb_last_status();
}

/* Uniform on [low, high) in t's dtype and shape: low + (high - low) * u. */
static nb_tensor *draw_uniform(const nb_tensor *t, double low, double high)
{
    nb_tensor *u      = nb_rand(nb_shape_of(t), NB_OPTS(.dtype = t->dtype));
    nb_tensor *scaled = u ? nb_mul_scalar(u, high - low) : NULL;
    nb_tensor *out    = scaled ? nb_add_scalar(scaled, low) : NULL;
    nb_free(u);
    nb_free(scaled);
    return out;
}

static nb_status fill_uniform(nb_tensor *t, double low, double high, const char *op)
{
    if (isnan(low) || isnan(high) || isinf(low) || isinf(high))
        return nbi_fail_status(NB_ERR_ARG, "%s: the bounds must be finite (got low=%g, high=%g)", op, low, high);
    if (low > high)
        return nbi_fail_status(NB_ERR_ARG, "%s: expects low <= high, but found low=%g > high=%g", op, low, high);
    if (t->numel == 0) return NB_OK;
    return assign(t, draw_uniform(t, low, high));
}

static nb_status fill_normal(nb_tensor *t, double mean, double std, const char *op)
{
    if (!(std >= 0.0))
        return nbi_fail_status(NB_ERR_ARG, "%s: expects std >= 0, but found std=%g", op, std);
    if (t->numel == 0) return NB_OK;
    return assign(t, nb_normal(mean, std, nb_shape_of(t), NB_OPTS(.dtype = t->dtype)));
}

nb_status nb_init_uniform_(nb_tensor *t, double low, double high)
{
    nb_status status = check_target(t, "nb_init_uniform_", true);
    return status != NB_OK ? status : fill_uniform(t, low, high, "nb_init_uniform_");
}

nb_status nb_init_normal_(nb_tensor *t, double mean, double std)
{
    nb_status status = check_target(t, "nb_init_normal_", true);
    return status != NB_OK ? status : fill_normal(t, mean, std, "nb_init_normal_");
}

static nb_status fill_constant(nb_tensor *t, double value, const char *op)
{
    nb_status status = check_target(t, op, false);
    if (status != NB_OK) return status;
    nbi_grad_mode_push(false);
    nb_tensor *written = nb_fill_(t, value);
    nbi_grad_mode_pop();
    return written ? NB_OK : nb_last_status();
}

nb_status nb_init_zeros_(nb_tensor *t) { return fill_constant(t, 0.0, "nb_init_zeros_"); }
nb_status nb_init_ones_(nb_tensor *t) { return fill_constant(t, 1.0, "nb_init_ones_"); }

/* ------------------------------------------------------------------------ */
/* Fans and gains (torch.nn.init)                                            */
/* ------------------------------------------------------------------------ */

/* fan_in = size(1) * receptive field, fan_out = size(0) * receptive field,
 * where the receptive field is the product of the sizes past dim 1. */
static bool compute_fans(const nb_tensor *t, double *fan_in, double *fan_out, const char *op)
{
    if (t->ndim < 2) {
        nbi_fail(NB_ERR_SHAPE,
                 "%s: Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (got %d)", op,
                 t->ndim);
        return false;
    }
    double receptive_field = 1.0;
    for (int d = 2; d < t->ndim; d++) receptive_field *= (double)t->shape[d];
    *fan_in  = (double)t->shape[1] * receptive_field;
    *fan_out = (double)t->shape[0] * receptive_field;
    return true;
}

/* torch.nn.init.calculate_gain(nonlinearity, param=a). */
static bool compute_gain(nb_nonlinearity nonlinearity, double a, double *gain, const char *op)
{
    switch (nonlinearity) {
    case NB_NONLINEARITY_LINEAR:
    case NB_NONLINEARITY_SIGMOID: *gain = 1.0; return true;
    case NB_NONLINEARITY_TANH: *gain = 5.0 / 3.0; return true;
    case NB_NONLINEARITY_RELU: *gain = sqrt(2.0); return true;
    case NB_NONLINEARITY_LEAKY_RELU: *gain = sqrt(2.0 / (1.0 + a * a)); return true;
    }
    nbi_fail(NB_ERR_ARG, "%s: unsupported nonlinearity %d", op, (int)nonlinearity);
    return false;
}

static nb_status xavier(nb_tensor *t, double gain, bool uniform, const char *op)
{
    nb_status status = check_target(t, op, true);
    if (status != NB_OK) return status;
    double fan_in, fan_out;
    if (!compute_fans(t, &fan_in, &fan_out, op)) return nb_last_status();
    if (t->numel == 0) return NB_OK;
    double std = gain * sqrt(2.0 / (fan_in + fan_out));
    if (uniform) return fill_uniform(t, -sqrt(3.0) * std, sqrt(3.0) * std, op);
    return fill_normal(t, 0.0, std, op);
}

nb_status nb_init_xavier_uniform_(nb_tensor *t, double gain) { return xavier(t, gain, true, "nb_init_xavier_uniform_"); }
nb_status nb_init_xavier_normal_(nb_tensor *t, double gain) { return xavier(t, gain, false, "nb_init_xavier_normal_"); }

static nb_status kaiming(nb_tensor *t, double a, nb_fan_mode mode, nb_nonlinearity nonlinearity, bool uniform,
                         const char *op)
{
    nb_status status = check_target(t, op, true);
    if (status != NB_OK) return status;
    if (mode != NB_FAN_IN && mode != NB_FAN_OUT)
        return nbi_fail_status(NB_ERR_ARG, "%s: mode %d not supported, please use NB_FAN_IN or NB_FAN_OUT", op,
                               (int)mode);
    double gain;
    if (!compute_gain(nonlinearity, a, &gain, op)) return nb_last_status();
    /* NOTE: torch returns before computing fans for a zero-element tensor,
     * so a 1-d empty tensor is no error here. */
    if (t->numel == 0) return NB_OK;
    double fan_in, fan_out;
    if (!compute_fans(t, &fan_in, &fan_out, op)) return nb_last_status();
    double std = gain / sqrt(mode == NB_FAN_IN ? fan_in : fan_out);
    if (uniform) return fill_uniform(t, -sqrt(3.0) * std, sqrt(3.0) * std, op);
    return fill_normal(t, 0.0, std, op);
}

nb_status nb_init_kaiming_uniform_(nb_tensor *t, double a, nb_fan_mode mode, nb_nonlinearity nonlinearity)
{
    return kaiming(t, a, mode, nonlinearity, true, "nb_init_kaiming_uniform_");
}

nb_status nb_init_kaiming_normal_(nb_tensor *t, double a, nb_fan_mode mode, nb_nonlinearity nonlinearity)
{
    return kaiming(t, a, mode, nonlinearity, false, "nb_init_kaiming_normal_");
}

/* ------------------------------------------------------------------------ */
/* Orthogonal                                                                */
/* ------------------------------------------------------------------------ */

/* Reduced QR of a (m, n), m >= n, row-major, by Householder reflections:
 * a is overwritten; q (m, n) receives Q with each column multiplied by the
 * sign of R's diagonal entry, as torch.nn.init.orthogonal_ does, which
 * makes the result the unique Q whose R has a positive diagonal. v is
 * workspace of m * n doubles, beta of n. */
static void householder_qr_signed(double *a, int64_t m, int64_t n, double *q, double *v, double *beta)
{
    for (int64_t k = 0; k < n; k++) {
        double norm = 0.0;
        for (int64_t i = k; i < m; i++) norm += a[i * n + k] * a[i * n + k];
        norm         = sqrt(norm);
        double alpha = a[k * n + k] >= 0.0 ? -norm : norm; /* R's diagonal entry */
        double vnorm = 0.0;
        for (int64_t i = k; i < m; i++) {
            v[i * n + k] = a[i * n + k] - (i == k ? alpha : 0.0);
            vnorm += v[i * n + k] * v[i * n + k];
        }
        beta[k] = vnorm > 0.0 ? 2.0 / vnorm : 0.0; /* a zero column: H_k = I */
        for (int64_t j = k; j < n; j++) {
            double s = 0.0;
            for (int64_t i = k; i < m; i++) s += v[i * n + k] * a[i * n + j];
            s *= beta[k];
            for (int64_t i = k; i < m; i++) a[i * n + j] -= s * v[i * n + k];
        }
        a[k * n + k] = beta[k] > 0.0 ? alpha : 0.0;
    }
    /* Q = H_0 H_1 ... H_{n-1} applied to the first n columns of I. */
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) q[i * n + j] = i == j ? 1.0 : 0.0;
    for (int64_t k = n - 1; k >= 0; k--) {
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t i = k; i < m; i++) s += v[i * n + k] * q[i * n + j];
            s *= beta[k];
            for (int64_t i = k; i < m; i++) q[i * n + j] -= s * v[i * n + k];
        }
    }
    for (int64_t j = 0; j < n; j++) {
        double r    = a[j * n + j];
        double sign = r > 0.0 ? 1.0 : r < 0.0 ? -1.0 : 0.0; /* torch's sign(0) = 0 */
        for (int64_t i = 0; i < m; i++) q[i * n + j] *= sign;
    }
}

nb_status nb_init_orthogonal_(nb_tensor *t, double gain)
{
    const char *op     = "nb_init_orthogonal_";
    nb_status   status = check_target(t, op, true);
    if (status != NB_OK) return status;
    if (t->ndim < 2)
        return nbi_fail_status(NB_ERR_SHAPE, "%s: only tensors with 2 or more dimensions are supported (got %d)", op,
                               t->ndim);
    if (t->numel == 0) return NB_OK;
    int64_t rows = t->shape[0], cols = t->numel / rows;

    /* flat: (rows, cols) standard normals in float64. When rows < cols the
     * QR is of its transpose (cols, rows), and Q is transposed back. */
    nb_tensor *flat = nb_randn(NB_SHAPE(rows, cols), NB_OPTS(.dtype = NB_FLOAT64));
    if (flat == NULL) return nb_last_status();
    bool    wide = rows < cols;
    int64_t m = wide ? cols : rows, n = wide ? rows : cols;
    size_t  bytes = (size_t)(m * n) * sizeof(double);
    double *a     = malloc(bytes);
    double *q     = malloc(bytes);
    double *v     = malloc(bytes);
    double *beta  = malloc((size_t)n * sizeof(double));
    double *out   = malloc(bytes);
    if (!a || !q || !v || !beta || !out) {
        free(a), free(q), free(v), free(beta), free(out);
        nb_free(flat);
        return nbi_fail_status(NB_ERR_OOM, "%s: out of memory for a %lld x %lld QR", op, (long long)m, (long long)n);
    }
    const double *drawn = nb_data(flat);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            if (wide)
                a[j * n + i] = drawn[i * cols + j];
            else
                a[i * n + j] = drawn[i * cols + j];
        }
    nb_free(flat);
    householder_qr_signed(a, m, n, q, v, beta);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) out[i * cols + j] = gain * (wide ? q[j * n + i] : q[i * n + j]);
    nb_tensor *values = nb_from_data(out, nb_shape_of(t), NB_OPTS(.dtype = NB_FLOAT64));
    free(a), free(q), free(v), free(beta), free(out);
    return assign(t, values);
}
