/*
 * activations.c — the built-in modules without tensors: the activations
 * (ReLU, GELU, Tanh, Sigmoid, SiLU, Softmax, and issue 13's LeakyReLU to
 * GLU), PReLU (its one parameter), Dropout, Flatten, MaxPool2d and
 * AvgPool2d. Each is a type name, a forward that calls the functional
 * op, and (where the op takes options) a copy of them as user data.
 */
#include "nn/module.h"

#include <math.h>


/* ------------------------------------------------------------------------ */
/* Activations: same shape in and out                                        */
/* ------------------------------------------------------------------------ */

static nb_tensor *relu_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self, (void)user;
    return nb_relu(x);
}

static nb_tensor *gelu_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self;
    return nb_gelu(x, *(const bool *)user);
}

static nb_tensor *tanh_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self, (void)user;
    return nb_tanh(x);
}

static nb_tensor *sigmoid_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self, (void)user;
    return nb_sigmoid(x);
}

static nb_tensor *silu_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self, (void)user;
    return nb_silu(x);
}

static nb_tensor *softmax_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self;
    return nb_softmax(x, *(const int *)user);
}

/* The in-place forms, for Sequential's no-grad path (module.h). */
static bool relu_in_place(nb_module *self, nb_tensor *x, void *user)
{
    (void)self, (void)user;
    return nb_relu_(x) != NULL;
}

static bool tanh_in_place(nb_module *self, nb_tensor *x, void *user)
{
    (void)self, (void)user;
    return nb_tanh_(x) != NULL;
}

static bool sigmoid_in_place(nb_module *self, nb_tensor *x, void *user)
{
    (void)self, (void)user;
    return nb_sigmoid_(x) != NULL;
}

static bool silu_in_place(nb_module *self, nb_tensor *x, void *user)
{
    (void)self, (void)user;
    return nb_silu_(x) != NULL;
}

/* A module of type with forward, and in_place as its in-place form. */
static nb_module *activation_new(const char *type, nb_forward_fn forward, nbi_in_place_fn in_place)
{
    nb_module *m = nbi_module_with_config(type, forward, NULL, 0);
    nbi_module_set_in_place(m, in_place);
    return m;
}

nb_module *nb_relu_new(void) { return activation_new("ReLU", relu_forward, relu_in_place); }
bool       nbi_module_is_relu(const nb_module *m) { return nbi_module_forward_fn(m) == relu_forward; }
nb_module *nb_gelu_new(bool tanh_approx) { return nbi_module_with_config("GELU", gelu_forward, &tanh_approx, sizeof tanh_approx); }
nb_module *nb_tanh_new(void) { return activation_new("Tanh", tanh_forward, tanh_in_place); }
nb_module *nb_sigmoid_new(void) { return activation_new("Sigmoid", sigmoid_forward, sigmoid_in_place); }
nb_module *nb_silu_new(void) { return activation_new("SiLU", silu_forward, silu_in_place); }
nb_module *nb_softmax_new(int dim) { return nbi_module_with_config("Softmax", softmax_forward, &dim, sizeof dim); }

/* ------------------------------------------------------------------------ */
/* Issue 13's activations: LeakyReLU, ELU, SELU, CELU, Hardtanh, ReLU6,      */
/* Hardswish, Hardsigmoid, Mish, Softsign, LogSigmoid, GLU, PReLU            */
/* ------------------------------------------------------------------------ */

/* One forward for the modules whose op takes just x. */
typedef nb_tensor *(*plain_activation)(const nb_tensor *);
static nb_tensor *plain_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self;
    return (*(const plain_activation *)user)(x);
}
static nb_module *plain_new(const char *type, plain_activation op)
{
    return nbi_module_with_config(type, plain_forward, &op, sizeof op);
}

/* The parameters of LeakyReLU (a = slope), ELU / CELU (a = alpha) and
 * Hardtanh (a = min, b = max). */
typedef struct {
    double a, b;
} activation_params;

static nb_tensor *leaky_relu_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self;
    return nb_leaky_relu(x, ((const activation_params *)user)->a);
}
static nb_tensor *elu_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self;
    return nb_elu(x, ((const activation_params *)user)->a);
}
static nb_tensor *celu_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self;
    return nb_celu(x, ((const activation_params *)user)->a);
}
static nb_tensor *hardtanh_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self;
    const activation_params *params = user;
    return nb_hardtanh(x, params->a, params->b);
}
static nb_tensor *glu_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self;
    return nb_glu(x, *(const int *)user);
}
static nb_tensor *prelu_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)user;
    return nb_prelu(x, nbi_module_own_parameter(self, 0));
}

/* Parameters are checked when the module is made, as torch's constructors
 * (or, where torch checks at forward, as the functional op does). */
nb_module *nb_leaky_relu_new(double negative_slope)
{
    if (isnan(negative_slope)) return nbi_fail(NB_ERR_ARG, "nb_leaky_relu_new: negative_slope must be a number, got NaN");
    activation_params params = { .a = negative_slope };
    return nbi_module_with_config("LeakyReLU", leaky_relu_forward, &params, sizeof params);
}
nb_module *nb_elu_new(double alpha)
{
    if (!isfinite(alpha)) return nbi_fail(NB_ERR_ARG, "nb_elu_new: alpha must be finite, got %g", alpha);
    activation_params params = { .a = alpha };
    return nbi_module_with_config("ELU", elu_forward, &params, sizeof params);
}
nb_module *nb_celu_new(double alpha)
{
    if (!isfinite(alpha) || alpha == 0)
        return nbi_fail(NB_ERR_ARG, "nb_celu_new: alpha must be finite and nonzero, got %g", alpha);
    activation_params params = { .a = alpha };
    return nbi_module_with_config("CELU", celu_forward, &params, sizeof params);
}
nb_module *nb_hardtanh_new(double min, double max)
{
    /* torch's Hardtanh asserts max_val > min_val at construction. */
    if (!(max > min)) return nbi_fail(NB_ERR_ARG, "nb_hardtanh_new: max must be greater than min (got %g, %g)", min, max);
    activation_params params = { .a = min, .b = max };
    return nbi_module_with_config("Hardtanh", hardtanh_forward, &params, sizeof params);
}
nb_module *nb_selu_new(void) { return plain_new("SELU", nb_selu); }
nb_module *nb_relu6_new(void) { return plain_new("ReLU6", nb_relu6); }
nb_module *nb_hardswish_new(void) { return plain_new("Hardswish", nb_hardswish); }
nb_module *nb_hardsigmoid_new(void) { return plain_new("Hardsigmoid", nb_hardsigmoid); }
nb_module *nb_mish_new(void) { return plain_new("Mish", nb_mish); }
nb_module *nb_softsign_new(void) { return plain_new("Softsign", nb_softsign); }
nb_module *nb_logsigmoid_new(void) { return plain_new("LogSigmoid", nb_logsigmoid); }
nb_module *nb_glu_new(int dim) { return nbi_module_with_config("GLU", glu_forward, &dim, sizeof dim); }

/* weight: (num_parameters,) float32, every element init (torch: 0.25). */
nb_module *nb_prelu_new(int64_t num_parameters, double init)
{
    if (num_parameters < 1)
        return nbi_fail(NB_ERR_ARG, "nb_prelu_new: num_parameters must be >= 1, got %lld", (long long)num_parameters);
    if (!isfinite(init)) return nbi_fail(NB_ERR_ARG, "nb_prelu_new: init must be finite, got %g", init);
    nb_module *m = nbi_module_with_config("PReLU", prelu_forward, NULL, 0);
    nb_tensor *weight;
    if (m == NULL || nbi_module_new_parameter(m, "weight", NB_SHAPE(num_parameters), &weight) != NB_OK
        || nb_init_uniform_(weight, init, init) != NB_OK) {
        nb_module_free(m);
        return NULL;
    }
    return m;
}

/* ------------------------------------------------------------------------ */
/* Dropout                                                                   */
/* ------------------------------------------------------------------------ */

/* Active only in training mode; the identity in eval mode. */
static nb_tensor *dropout_forward(nb_module *self, const nb_tensor *x, void *user)
{
    return nb_dropout(x, *(const double *)user, nb_module_is_training(self));
}

nb_module *nb_dropout_new(double p)
{
    if (!(p >= 0.0 && p <= 1.0))
        return nbi_fail(NB_ERR_ARG, "nb_dropout_new: dropout probability has to be between 0 and 1, but got %g", p);
    return nbi_module_with_config("Dropout", dropout_forward, &p, sizeof p);
}

/* ------------------------------------------------------------------------ */
/* Flatten                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    int start_dim, end_dim;
} flatten_config;

/* Dims start..end (checked against x's rank at forward) become one. */
static nb_tensor *flatten_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self;
    const flatten_config *config = user;
    return nb_flatten(x, config->start_dim, config->end_dim);
}

nb_module *nb_flatten_new(int start_dim, int end_dim)
{
    flatten_config config = { .start_dim = start_dim, .end_dim = end_dim };
    return nbi_module_with_config("Flatten", flatten_forward, &config, sizeof config);
}

/* ------------------------------------------------------------------------ */
/* Pooling                                                                   */
/* ------------------------------------------------------------------------ */

static nb_tensor *max_pool2d_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self;
    return nb_max_pool2d(x, *(const nb_pool_opts *)user, NULL);
}

static nb_tensor *avg_pool2d_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)self;
    return nb_avg_pool2d(x, *(const nb_pool_opts *)user);
}

/* The window must be given; the rest is checked by the op at forward, as
 * torch does (padding limits depend on the kernel only, but the output
 * size depends on the input). */
static bool check_pool_opts(nb_pool_opts opts, const char *op)
{
    for (int i = 0; i < 2; i++) {
        if (opts.kernel[i] < 1) {
            nbi_fail(NB_ERR_ARG, "%s: the kernel size must be positive (got %lld x %lld)", op,
                     (long long)opts.kernel[0], (long long)opts.kernel[1]);
            return false;
        }
        if (opts.stride[i] < 0 || opts.padding[i] < 0 || opts.dilation[i] < 0) {
            nbi_fail(NB_ERR_ARG, "%s: stride, padding and dilation must be >= 0", op);
            return false;
        }
    }
    return true;
}

nb_module *nb_max_pool2d_new(nb_pool_opts opts)
{
    if (!check_pool_opts(opts, "nb_max_pool2d_new")) return NULL;
    return nbi_module_with_config("MaxPool2d", max_pool2d_forward, &opts, sizeof opts);
}
bool nbi_module_is_max_pool(const nb_module *m) { return nbi_module_forward_fn(m) == max_pool2d_forward; }

nb_module *nb_avg_pool2d_new(nb_pool_opts opts)
{
    if (!check_pool_opts(opts, "nb_avg_pool2d_new")) return NULL;
    return nbi_module_with_config("AvgPool2d", avg_pool2d_forward, &opts, sizeof opts);
}
