/*
 * test_init.c — nb_init_*: values in range with the right statistics
 * (bounds and scales from torch.nn.init's fan and gain rules, in
 * tests/data/module_fixtures.h), in place through any strides, no graph
 * recorded, orthogonality and torch's sign rule for orthogonal_, and every
 * error a caller can cause.
 */
#include "nb_test.h"

#include "data/module_fixtures.h"

/* Sample statistics of t's elements (any dtype and strides). */
typedef struct {
    double min, max, max_abs, mean, var;
} stats;

static stats stats_of(const nb_tensor *t)
{
    nb_tensor *d   = nb_to_dtype(t, NB_FLOAT64);
    int64_t    n   = nb_numel(d);
    double    *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof *buf);
    nb_copy_to_buffer(d, buf, (size_t)n * sizeof *buf);
    stats s = { .min = INFINITY, .max = -INFINITY };
    for (int64_t i = 0; i < n; i++) {
        s.min = fmin(s.min, buf[i]);
        s.max = fmax(s.max, buf[i]);
        s.mean += buf[i] / (double)n;
    }
    for (int64_t i = 0; i < n; i++) s.var += (buf[i] - s.mean) * (buf[i] - s.mean) / (double)(n - 1);
    s.max_abs = fmax(fabs(s.min), fabs(s.max));
    free(buf);
    nb_free(d);
    return s;
}

static nb_shape shape_of_case(const fixture_init_case *c)
{
    nb_shape s = { .ndim = c->ndim };
    for (int d = 0; d < c->ndim; d++) s.dims[d] = c->shape[d];
    return s;
}

/* ------------------------------------------------------------------------ */
/* uniform, normal, zeros, ones                                              */
/* ------------------------------------------------------------------------ */

static void test_uniform_statistics(void)
{
    nb_manual_seed(1);
    nb_dtype dtypes[2] = { NB_FLOAT32, NB_FLOAT64 };
    for (int k = 0; k < 2; k++) {
        nb_tensor *t = nb_zeros(NB_SHAPE(200, 100), NB_OPTS(.dtype = dtypes[k]));
        NBT_CHECK(nb_init_uniform_(t, -2.0, 3.0) == NB_OK);
        stats s = stats_of(t);
        NBT_CHECK(s.min >= -2.0 && s.max < 3.0);
        NBT_CHECK(s.min < -1.99 && s.max > 2.99);
        NBT_CHECK_NEAR(s.mean, 0.5, 0.03);
        NBT_CHECK_NEAR(s.var / (25.0 / 12.0), 1.0, 0.03);
        nb_free(t);
    }
    /* low == high: a constant; 0-d and empty tensors work. */
    nb_tensor *c = nb_empty(NB_SHAPE(3), NB_OPTS());
    NBT_CHECK(nb_init_uniform_(c, 0.25, 0.25) == NB_OK);
    NBT_CHECK_TENSOR(c, NB_SHAPE(3), 0, 0.25, 0.25, 0.25);
    nb_tensor *scalar = nb_zeros(NB_SCALAR_SHAPE, NB_OPTS());
    NBT_CHECK(nb_init_uniform_(scalar, 5.0, 6.0) == NB_OK);
    NBT_CHECK(nb_item(scalar) >= 5.0 && nb_item(scalar) < 6.0);
    nb_tensor *empty = nb_zeros(NB_SHAPE(0, 4), NB_OPTS());
    NBT_CHECK(nb_init_uniform_(empty, -1.0, 1.0) == NB_OK);
    nb_free(c);
    nb_free(scalar);
    nb_free(empty);
}

static void test_normal_statistics(void)
{
    nb_manual_seed(2);
    nb_tensor *t = nb_zeros(NB_SHAPE(100, 200), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_init_normal_(t, 1.0, 2.0) == NB_OK);
    stats s = stats_of(t);
    NBT_CHECK_NEAR(s.mean, 1.0, 0.05);
    NBT_CHECK_NEAR(sqrt(s.var), 2.0, 0.04);
    /* std 0 gives the mean everywhere. */
    NBT_CHECK(nb_init_normal_(t, -3.0, 0.0) == NB_OK);
    s = stats_of(t);
    NBT_CHECK(s.min == -3.0 && s.max == -3.0);
    nb_free(t);
}

static void test_constant_fills(void)
{
    nb_tensor *f = nb_full(NB_SHAPE(2, 2), 7.0, NB_OPTS());
    nb_tensor *i = nb_full(NB_SHAPE(3), 7.0, NB_OPTS(.dtype = NB_INT64));
    nb_tensor *b = nb_zeros(NB_SHAPE(2), NB_OPTS(.dtype = NB_BOOL));
    NBT_CHECK(nb_init_zeros_(f) == NB_OK);
    NBT_CHECK_TENSOR(f, NB_SHAPE(2, 2), 0, 0, 0, 0, 0);
    NBT_CHECK(nb_init_ones_(f) == NB_OK);
    NBT_CHECK_TENSOR(f, NB_SHAPE(2, 2), 0, 1, 1, 1, 1);
    NBT_CHECK(nb_init_zeros_(i) == NB_OK); /* integer tensors may be filled */
    NBT_CHECK_TENSOR(i, NB_SHAPE(3), 0, 0, 0, 0);
    NBT_CHECK(nb_init_ones_(b) == NB_OK);
    NBT_CHECK_TENSOR(b, NB_SHAPE(2), 0, 1, 1);
    nb_free(f);
    nb_free(i);
    nb_free(b);
}

/* In place through strides: a transposed view and a stepped slice are
 * filled, the elements outside the slice are untouched, and the handle is
 * the same tensor (data shared with the base). */
static void test_in_place_views(void)
{
    nb_manual_seed(3);
    nb_tensor *base  = nb_zeros(NB_SHAPE(4, 6), NB_OPTS());
    nb_tensor *every = nb_slice(base, 1, 0, NB_END, 2); /* columns 0, 2, 4 */
    NBT_CHECK(nb_init_ones_(every) == NB_OK);
    NBT_CHECK_TENSOR(base, NB_SHAPE(4, 6), 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0);
    NBT_CHECK(nb_init_uniform_(every, 10.0, 11.0) == NB_OK);
    stats s = stats_of(every);
    NBT_CHECK(s.min >= 10.0 && s.max < 11.0);
    nb_tensor *odd = nb_slice(base, 1, 1, NB_END, 2);
    NBT_CHECK_TENSOR(odd, NB_SHAPE(4, 3), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    nb_tensor *transposed = nb_t(base);
    NBT_CHECK(nb_init_kaiming_uniform_(transposed, 0.0, NB_FAN_IN, NB_NONLINEARITY_RELU) == NB_OK);
    s = stats_of(base);
    double bound = sqrt(6.0 / 4.0); /* fan_in of the (6, 4) view is 4 */
    NBT_CHECK(s.max_abs <= bound && s.max_abs > 0.5 * bound);
    nb_free(every);
    nb_free(odd);
    nb_free(transposed);
    nb_free(base);
}

/* Under no-grad: a parameter stays a leaf with no graph and no gradient,
 * even with grad mode on, and no temporary survives in an open scope. */
static void test_no_graph_recorded(void)
{
    nb_tensor *w = nb_zeros(NB_SHAPE(5, 4), NB_OPTS(.requires_grad = true));
    nb_scope_begin();
    NBT_CHECK(nb_init_xavier_normal_(w, 1.0) == NB_OK);
    NBT_CHECK(nb_init_orthogonal_(w, 1.0) == NB_OK);
    NBT_CHECK(nb_init_uniform_(w, -1, 1) == NB_OK);
    nb_scope_end();
    NBT_CHECK(nb_is_leaf(w) && nb_requires_grad(w) && nb_grad_fn_name(w) == NULL && nb_grad(w) == NULL);
    nb_tensor *loss = nb_sum(w);
    NBT_CHECK(nb_backward(loss) == NB_OK);
    NBT_CHECK_TENSOR(nb_grad(w), NB_SHAPE(5, 4), 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    nb_free(loss);
    nb_free(w);
}

/* ------------------------------------------------------------------------ */
/* Kaiming and Xavier                                                        */
/* ------------------------------------------------------------------------ */

/* Each case of the fixture: samples inside torch's bound and near it
 * (uniform), or with torch's standard deviation (normal). The tolerance is
 * four standard errors of the sample variance. */
static void test_scaled_against_torch(void)
{
    nb_manual_seed(4);
    int count = (int)(sizeof fixture_init_cases / sizeof fixture_init_cases[0]);
    for (int k = 0; k < count; k++) {
        const fixture_init_case *c = &fixture_init_cases[k];
        nb_tensor               *t = nb_zeros(shape_of_case(c), NB_OPTS());
        nb_status                status;
        bool                     uniform = strstr(c->function, "uniform") != NULL;
        if (strncmp(c->function, "kaiming", 7) == 0)
            status = uniform ? nb_init_kaiming_uniform_(t, c->param, c->mode, c->nonlinearity)
                             : nb_init_kaiming_normal_(t, c->param, c->mode, c->nonlinearity);
        else
            status = uniform ? nb_init_xavier_uniform_(t, c->param) : nb_init_xavier_normal_(t, c->param);
        NBT_CHECK(status == NB_OK);
        stats  s        = stats_of(t);
        double n        = (double)nb_numel(t);
        double expected = uniform ? c->scale * c->scale / 3.0 : c->scale * c->scale;
        double rel_err  = 4.0 * sqrt((uniform ? 0.8 : 2.0) / n);
        if (fabs(s.var / expected - 1.0) > rel_err)
            fprintf(stderr, "  case %d (%s): variance %g, expected %g\n", k, c->function, s.var, expected);
        NBT_CHECK(fabs(s.var / expected - 1.0) <= rel_err);
        NBT_CHECK_NEAR(s.mean, 0.0, 4.0 * sqrt(expected / n));
        if (uniform) {
            NBT_CHECK(s.max_abs <= c->scale * (1 + 1e-6));
            NBT_CHECK(s.max_abs > 0.8 * c->scale);
        }
        nb_free(t);
    }
}

/* The bound written out: kaiming uniform gives sqrt(6 / ((1 + a^2) fan)),
 * xavier uniform gain sqrt(6 / (fan_in + fan_out)). Conv-shaped: the
 * receptive field multiplies both fans. */
static void test_bound_formulas(void)
{
    nb_manual_seed(5);
    nb_tensor *w = nb_zeros(NB_SHAPE(64, 16, 3, 3), NB_OPTS());
    double     a = 0.5;
    NBT_CHECK(nb_init_kaiming_uniform_(w, a, NB_FAN_OUT, NB_NONLINEARITY_LEAKY_RELU) == NB_OK);
    double bound = sqrt(6.0 / ((1 + a * a) * 64 * 9));
    stats  s     = stats_of(w);
    NBT_CHECK(s.max_abs <= bound && s.max_abs > 0.99 * bound);
    NBT_CHECK(nb_init_xavier_uniform_(w, 3.0) == NB_OK);
    bound = 3.0 * sqrt(6.0 / (16 * 9 + 64 * 9));
    s     = stats_of(w);
    NBT_CHECK(s.max_abs <= bound && s.max_abs > 0.99 * bound);
    /* The default a = sqrt(5) of Linear: bound 1 / sqrt(fan_in). */
    NBT_CHECK(nb_init_kaiming_uniform_(w, sqrt(5.0), NB_FAN_IN, NB_NONLINEARITY_LEAKY_RELU) == NB_OK);
    s = stats_of(w);
    NBT_CHECK(s.max_abs <= 1.0 / sqrt(144.0) * (1 + 1e-6) && s.max_abs > 0.99 / sqrt(144.0));
    /* a is ignored by relu: gain sqrt(2). */
    NBT_CHECK(nb_init_kaiming_uniform_(w, 7.0, NB_FAN_IN, NB_NONLINEARITY_RELU) == NB_OK);
    s = stats_of(w);
    NBT_CHECK(s.max_abs <= sqrt(6.0 / 144.0) && s.max_abs > 0.99 * sqrt(6.0 / 144.0));
    nb_free(w);
}

/* Zero-element tensors are a no-op (torch warns); kaiming returns before
 * computing fans, so even a 1-d empty tensor passes. */
static void test_zero_element(void)
{
    nb_tensor *e1 = nb_zeros(NB_SHAPE(0), NB_OPTS());
    nb_tensor *e2 = nb_zeros(NB_SHAPE(0, 3), NB_OPTS());
    NBT_CHECK(nb_init_kaiming_uniform_(e1, 0, NB_FAN_IN, NB_NONLINEARITY_RELU) == NB_OK);
    NBT_CHECK(nb_init_kaiming_normal_(e2, 0, NB_FAN_OUT, NB_NONLINEARITY_RELU) == NB_OK);
    NBT_CHECK(nb_init_xavier_uniform_(e2, 1.0) == NB_OK);
    NBT_CHECK(nb_init_orthogonal_(e2, 1.0) == NB_OK);
    nb_free(e1);
    nb_free(e2);
}

/* ------------------------------------------------------------------------ */
/* Orthogonal                                                                */
/* ------------------------------------------------------------------------ */

/* m (r, c) as float64 values. */
static double *values_f64(const nb_tensor *t)
{
    nb_tensor *d   = nb_to_dtype(t, NB_FLOAT64);
    int64_t    n   = nb_numel(d);
    double    *buf = malloc((size_t)n * sizeof *buf);
    nb_copy_to_buffer(d, buf, (size_t)n * sizeof *buf);
    nb_free(d);
    return buf;
}

/* W viewed as (rows, cols) has orthonormal rows (rows <= cols) or columns,
 * times gain; and it is torch's Q: with A the (rows, cols) normals drawn
 * from the same seed, R = Q^T A (tall) or W A^T (wide) is upper triangular
 * with a positive diagonal — the sign correction torch applies. */
static void check_orthogonal(nb_shape shape, nb_dtype dtype, double gain, double tol)
{
    int64_t rows = shape.dims[0], cols = 1;
    for (int d = 1; d < shape.ndim; d++) cols *= shape.dims[d];
    nb_manual_seed(99);
    nb_tensor *drawn = nb_randn(NB_SHAPE(rows, cols), NB_OPTS(.dtype = NB_FLOAT64));
    nb_manual_seed(99);
    nb_tensor *w = nb_zeros(shape, NB_OPTS(.dtype = dtype));
    NBT_CHECK(nb_init_orthogonal_(w, gain) == NB_OK);
    double *q = values_f64(w), *a = values_f64(drawn);
    bool    wide = rows < cols;
    int64_t n    = wide ? rows : cols; /* size of the Gram matrix and of R */
    double  worst_gram = 0, worst_lower = 0, min_diag = INFINITY;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double gram = 0, r = 0;
            if (wide) /* (W W^T)[i][j] and (W A^T)[i][j] */
                for (int64_t k = 0; k < cols; k++) {
                    gram += q[i * cols + k] * q[j * cols + k];
                    r += q[i * cols + k] * a[j * cols + k];
                }
            else /* (W^T W)[i][j] and (W^T A)[i][j] */
                for (int64_t k = 0; k < rows; k++) {
                    gram += q[k * cols + i] * q[k * cols + j];
                    r += q[k * cols + i] * a[k * cols + j];
                }
            worst_gram = fmax(worst_gram, fabs(gram - (i == j ? gain * gain : 0.0)));
            if (i > j) worst_lower = fmax(worst_lower, fabs(r));
            if (i == j) min_diag = fmin(min_diag, r);
        }
    NBT_CHECK(worst_gram <= tol);
    NBT_CHECK(worst_lower <= tol);
    NBT_CHECK(min_diag > 0);
    free(q);
    free(a);
    nb_free(w);
    nb_free(drawn);
}

static void test_orthogonal(void)
{
    check_orthogonal(NB_SHAPE(6, 6), NB_FLOAT64, 1.0, 1e-12);
    check_orthogonal(NB_SHAPE(8, 3), NB_FLOAT64, 1.0, 1e-12);
    check_orthogonal(NB_SHAPE(3, 8), NB_FLOAT64, 2.0, 1e-12);
    check_orthogonal(NB_SHAPE(4, 2, 3, 3), NB_FLOAT64, 1.0, 1e-12); /* viewed as (4, 18) */
    check_orthogonal(NB_SHAPE(50, 20), NB_FLOAT32, 1.0, 1e-5);
    check_orthogonal(NB_SHAPE(1, 5), NB_FLOAT32, 0.5, 1e-6);
    /* A transposed target is filled in its logical (row-major) order. */
    nb_tensor *base = nb_zeros(NB_SHAPE(3, 5), NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor *wt   = nb_t(base); /* (5, 3): orthonormal columns */
    NBT_CHECK(nb_init_orthogonal_(wt, 1.0) == NB_OK);
    nb_tensor *gram = nb_matmul(base, wt); /* W^T W of the view */
    NBT_CHECK_TENSOR(gram, NB_SHAPE(3, 3), 1e-12, 1, 0, 0, 0, 1, 0, 0, 0, 1);
    nb_free(gram);
    nb_free(wt);
    nb_free(base);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static void test_errors(void)
{
    nb_tensor *f = nb_zeros(NB_SHAPE(3, 4), NB_OPTS());
    nb_tensor *v = nb_zeros(NB_SHAPE(4), NB_OPTS());
    nb_tensor *i = nb_zeros(NB_SHAPE(3, 4), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *x = nb_expand(v, NB_SHAPE(3, 4));

    NBT_CHECK(nb_init_uniform_(NULL, 0, 1) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_init_uniform_: argument 't' is NULL");
    /* A pending error is kept: the first cause of a failed chain. */
    nb_init_uniform_(f, 1, 0);
    NBT_CHECK(nb_init_normal_(NULL, 0, 1) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "low=1 > high=0");

    NBT_CHECK(nb_init_uniform_(i, 0, 1) == NB_ERR_DTYPE);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_init_uniform_: random initialisation needs a floating-point tensor, got int64");
    NBT_CHECK(nb_init_normal_(i, 0, 1) == NB_ERR_DTYPE);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_init_normal_");
    NBT_CHECK(nb_init_xavier_uniform_(i, 1) == NB_ERR_DTYPE);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_init_xavier_uniform_");
    NBT_CHECK(nb_init_kaiming_normal_(i, 0, NB_FAN_IN, NB_NONLINEARITY_RELU) == NB_ERR_DTYPE);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_init_kaiming_normal_");
    NBT_CHECK(nb_init_orthogonal_(i, 1) == NB_ERR_DTYPE);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "nb_init_orthogonal_");

    NBT_CHECK(nb_init_uniform_(f, 1, 0) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_init_uniform_: expects low <= high, but found low=1 > high=0");
    NBT_CHECK(nb_init_uniform_(f, 0, INFINITY) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_init_uniform_: the bounds must be finite (got low=0, high=inf)");
    NBT_CHECK(nb_init_uniform_(f, NAN, 1) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "the bounds must be finite");
    NBT_CHECK(nb_init_normal_(f, 0, -1) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_init_normal_: expects std >= 0, but found std=-1");
    NBT_CHECK(nb_init_normal_(f, 0, NAN) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "found std=nan");

    NBT_CHECK(nb_init_ones_(x) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_init_ones_: the tensor has elements that share memory (an expanded view)");
    NBT_CHECK(nb_init_xavier_normal_(x, 1) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "expanded view");

    NBT_CHECK(nb_init_kaiming_uniform_(v, 0, NB_FAN_IN, NB_NONLINEARITY_RELU) == NB_ERR_SHAPE);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_init_kaiming_uniform_: Fan in and fan out can not be computed for tensor with "
                                  "fewer than 2 dimensions (got 1)");
    NBT_CHECK(nb_init_xavier_uniform_(v, 1) == NB_ERR_SHAPE);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_init_xavier_uniform_: Fan in and fan out can not be computed");
    NBT_CHECK(nb_init_orthogonal_(v, 1) == NB_ERR_SHAPE);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_init_orthogonal_: only tensors with 2 or more dimensions are supported (got 1)");

    NBT_CHECK(nb_init_kaiming_uniform_(f, 0, (nb_fan_mode)7, NB_NONLINEARITY_RELU) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_init_kaiming_uniform_: mode 7 not supported");
    NBT_CHECK(nb_init_kaiming_normal_(f, 0, NB_FAN_IN, (nb_nonlinearity)42) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_init_kaiming_normal_: unsupported nonlinearity 42");

    /* Failed calls leave the tensor as it was. */
    NBT_CHECK_TENSOR(f, NB_SHAPE(3, 4), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    nb_free(f);
    nb_free(v);
    nb_free(i);
    nb_free(x);
}

int main(void)
{
    NBT_RUN(test_uniform_statistics);
    NBT_RUN(test_normal_statistics);
    NBT_RUN(test_constant_fills);
    NBT_RUN(test_in_place_views);
    NBT_RUN(test_no_graph_recorded);
    NBT_RUN(test_scaled_against_torch);
    NBT_RUN(test_bound_formulas);
    NBT_RUN(test_zero_element);
    NBT_RUN(test_orthogonal);
    NBT_RUN(test_errors);
    return nbt_finish();
}
