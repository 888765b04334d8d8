/*
 * layers.c — the built-in modules that own tensors: Linear, Conv2d,
 * BatchNorm1d/2d, LayerNorm, Embedding. Each constructor registers its
 * parameters and buffers under torch's names and in torch's order (which
 * fixes the state_dict names), and fills them as torch 1.13's
 * reset_parameters does, from the library's generator. Each forward calls
 * the functional op of nabla/nn.h with the module's own tensors, found by
 * position (module.h), and its configuration (the module's user data).
 *
 * Sequential, the container, is here too; the parameter-free modules
 * (activations, Dropout, Flatten, pooling) are in activations.c.
 */
#include "autograd/autograd.h"
#include "nn/functional_args.h"
#include "nn/module.h"

#include <stdio.h>


/* Free m (a constructor's half-built module) and return NULL. */
static nb_module *abandon(nb_module *m)
{
    nb_module_free(m);
    return NULL;
}

/* torch's bias rule for Linear and Conv2d: uniform in +-1/sqrt(fan_in),
 * or zeros when fan_in is 0. */
static nb_status init_bias(nb_tensor *bias, int64_t fan_in)
{
    double bound = fan_in > 0 ? 1.0 / sqrt((double)fan_in) : 0.0;
    return nb_init_uniform_(bias, -bound, bound);
}

/* ------------------------------------------------------------------------ */
/* Linear                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct {
    bool bias;
} linear_config;

/* x: (..., in) -> (..., out). */
static nb_tensor *linear_forward(nb_module *self, const nb_tensor *x, void *user)
{
    const linear_config *config = user;
    return nb_linear(x, nbi_module_own_parameter(self, 0),
                     config->bias ? nbi_module_own_parameter(self, 1) : NULL);
}

nb_module *nb_linear_new(int64_t in_features, int64_t out_features, bool bias)
{
    if (in_features < 0 || out_features < 0)
        return nbi_fail(NB_ERR_ARG, "nb_linear_new: in_features and out_features must be >= 0 (got %lld, %lld)",
                        (long long)in_features, (long long)out_features);
    linear_config config = { .bias = bias };
    nb_module    *m      = nbi_module_with_config("Linear", linear_forward, &config, sizeof config);
    nb_tensor    *weight, *b;
    if (m == NULL || nbi_module_new_parameter(m, "weight", NB_SHAPE(out_features, in_features), &weight) != NB_OK ||
        nb_init_kaiming_uniform_(weight, sqrt(5.0), NB_FAN_IN, NB_NONLINEARITY_LEAKY_RELU) != NB_OK)
        return abandon(m);
    if (bias && (nbi_module_new_parameter(m, "bias", NB_SHAPE(out_features), &b) != NB_OK ||
                 init_bias(b, in_features) != NB_OK))
        return abandon(m);
    return m;
}

/* ------------------------------------------------------------------------ */
/* Conv2d                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct {
    nb_conv_opts opts;
    bool         bias;
} conv_config;

/* x: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out). */
static nb_tensor *conv2d_forward(nb_module *self, const nb_tensor *x, void *user)
{
    const conv_config *config = user;
    return nb_conv2d(x, nbi_module_own_parameter(self, 0), config->bias ? nbi_module_own_parameter(self, 1) : NULL,
                     config->opts);
}

nb_module *nb_conv2d_new(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                         nb_conv_opts opts, bool bias)
{
    const char *op     = "nb_conv2d_new";
    int64_t     groups = opts.groups == 0 ? 1 : opts.groups;
    if (in_channels < 0 || out_channels < 0)
        return nbi_fail(NB_ERR_ARG, "%s: in_channels and out_channels must be >= 0 (got %lld, %lld)", op,
                        (long long)in_channels, (long long)out_channels);
    if (kernel_h < 1 || kernel_w < 1)
        return nbi_fail(NB_ERR_ARG, "%s: the kernel size must be positive (got %lld x %lld)", op, (long long)kernel_h,
                        (long long)kernel_w);
    if (groups < 0) return nbi_fail(NB_ERR_ARG, "%s: groups must be a positive integer (got %lld)", op, (long long)groups);
    if (in_channels % groups != 0 || out_channels % groups != 0)
        return nbi_fail(NB_ERR_ARG, "%s: in_channels (%lld) and out_channels (%lld) must be divisible by groups (%lld)",
                        op, (long long)in_channels, (long long)out_channels, (long long)groups);
    conv_config config = { .opts = opts, .bias = bias };
    nb_module  *m      = nbi_module_with_config("Conv2d", conv2d_forward, &config, sizeof config);
    nb_shape    shape  = NB_SHAPE(out_channels, in_channels / groups, kernel_h, kernel_w);
    nb_tensor  *weight, *b;
    if (m == NULL || nbi_module_new_parameter(m, "weight", shape, &weight) != NB_OK ||
        nb_init_kaiming_uniform_(weight, sqrt(5.0), NB_FAN_IN, NB_NONLINEARITY_LEAKY_RELU) != NB_OK)
        return abandon(m);
    if (bias && (nbi_module_new_parameter(m, "bias", NB_SHAPE(out_channels), &b) != NB_OK ||
                 init_bias(b, in_channels / groups * kernel_h * kernel_w) != NB_OK))
        return abandon(m);
    return m;
}

/* ------------------------------------------------------------------------ */
/* BatchNorm1d, BatchNorm2d                                                  */
/* ------------------------------------------------------------------------ */

typedef struct {
    double eps, momentum;
    int    min_ndim, max_ndim; /* accepted input ranks */
} batch_norm_config;

/* x's rank fits the layer: else NB_ERR_SHAPE naming the module type. */
static bool batch_norm_rank_fits(nb_module *self, const batch_norm_config *config, const nb_tensor *x)
{
    if (!nbi_check_tensor(x, "nb_module_forward", "x")) return false;
    if (x->ndim < config->min_ndim || x->ndim > config->max_ndim) {
        char shape[NBI_SHAPE_STR_SIZE];
        if (config->min_ndim == config->max_ndim)
            nbi_fail(NB_ERR_SHAPE, "nb_module_forward: %s expects %d-d input, got shape %s", nb_module_type(self),
                     config->min_ndim, nbi_shape_str(x->ndim, x->shape, shape, sizeof shape));
        else
            nbi_fail(NB_ERR_SHAPE, "nb_module_forward: %s expects %d-d or %d-d input, got shape %s",
                     nb_module_type(self), config->min_ndim, config->max_ndim,
                     nbi_shape_str(x->ndim, x->shape, shape, sizeof shape));
        return false;
    }
    return true;
}

/* A batch went through in training mode: count it (num_batches_tracked). */
static void count_batch(nb_module *self)
{
    nbi_grad_mode_push(false);
    nb_add_scalar_(nbi_module_own_buffer(self, 2), 1.0);
    nbi_grad_mode_pop();
}

/* Parameters weight (C), bias (C); buffers running_mean (C), running_var
 * (C), num_batches_tracked (int64 0-d), in torch's order. Training: batch
 * statistics, running stats updated by nb_batch_norm and the batch counted;
 * eval: running statistics. in_place: written over x, which is returned;
 * relu: the ReLU after it in a Sequential, fused in. */
static nb_tensor *run_batch_norm(nb_module *self, const batch_norm_config *config, const nb_tensor *x, bool in_place,
                                 bool relu)
{
    if (!batch_norm_rank_fits(self, config, x)) return NULL;
    bool       training = nb_module_is_training(self);
    nb_tensor *running_mean = nbi_module_own_buffer(self, 0), *running_var = nbi_module_own_buffer(self, 1);
    nb_tensor *weight = nbi_module_own_parameter(self, 0), *bias = nbi_module_own_parameter(self, 1);
    nb_tensor *y;
    if (in_place)
        y = nbf_batch_norm_in_place((nb_tensor *)x, running_mean, running_var, weight, bias, training,
                                    config->momentum, config->eps, relu)
                ? (nb_tensor *)x
                : NULL;
    else if (relu)
        y = nbf_batch_norm_relu(x, running_mean, running_var, weight, bias, training, config->momentum, config->eps);
    else
        y = nb_batch_norm(x, running_mean, running_var, weight, bias, training, config->momentum, config->eps);
    if (y != NULL && training) count_batch(self);
    return y;
}

static nb_tensor *batch_norm_forward(nb_module *self, const nb_tensor *x, void *user)
{
    return run_batch_norm(self, user, x, false, false);
}

static bool batch_norm_in_place(nb_module *self, nb_tensor *x, void *user)
{
    return run_batch_norm(self, user, x, true, false) != NULL;
}

static nb_tensor *batch_norm_then_relu(nb_module *self, const nb_tensor *x, bool in_place, void *user)
{
    return run_batch_norm(self, user, x, in_place, true);
}

static nb_module *batch_norm_new(const char *type, const char *op, int64_t features, double eps, double momentum,
                                 int min_ndim, int max_ndim)
{
    if (features < 0) return nbi_fail(NB_ERR_ARG, "%s: features must be >= 0 (got %lld)", op, (long long)features);
    if (!(eps >= 0.0) || !(momentum >= 0.0 && momentum <= 1.0))
        return nbi_fail(NB_ERR_ARG, "%s: eps must be >= 0 and momentum in [0, 1] (got eps=%g, momentum=%g)", op, eps,
                        momentum);
    batch_norm_config config = { .eps = eps, .momentum = momentum, .min_ndim = min_ndim, .max_ndim = max_ndim };
    nb_module        *m      = nbi_module_with_config(type, batch_norm_forward, &config, sizeof config);
    nb_shape          shape  = NB_SHAPE(features);
    if (m == NULL || nb_module_add_parameter(m, "weight", nb_ones(shape, NB_OPTS())) != NB_OK ||
        nb_module_add_parameter(m, "bias", nb_zeros(shape, NB_OPTS())) != NB_OK ||
        nb_module_add_buffer(m, "running_mean", nb_zeros(shape, NB_OPTS())) != NB_OK ||
        nb_module_add_buffer(m, "running_var", nb_ones(shape, NB_OPTS())) != NB_OK ||
        nb_module_add_buffer(m, "num_batches_tracked", nb_zeros(NB_SCALAR_SHAPE, NB_OPTS(.dtype = NB_INT64))) != NB_OK)
        return abandon(m);
    nbi_module_set_in_place(m, batch_norm_in_place);
    nbi_module_set_then_relu(m, batch_norm_then_relu);
    return m;
}

/* torch's defaults for the fields left zero (nn.h). */
static nb_norm_opts with_defaults(nb_norm_opts opts)
{
    if (opts.eps == 0) opts.eps = 1e-5;
    if (opts.momentum == 0) opts.momentum = 0.1;
    return opts;
}

nb_module *nb_batch_norm1d_new(int64_t features, nb_norm_opts opts)
{
    opts = with_defaults(opts);
    return batch_norm_new("BatchNorm1d", "nb_batch_norm1d_new", features, opts.eps, opts.momentum, 2, 3);
}

nb_module *nb_batch_norm2d_new(int64_t features, nb_norm_opts opts)
{
    opts = with_defaults(opts);
    return batch_norm_new("BatchNorm2d", "nb_batch_norm2d_new", features, opts.eps, opts.momentum, 4, 4);
}

/* ------------------------------------------------------------------------ */
/* LayerNorm                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
    nb_shape normalized_shape;
    double   eps;
} layer_norm_config;

/* x: (..., normalized_shape) -> same shape. */
static nb_tensor *layer_norm_forward(nb_module *self, const nb_tensor *x, void *user)
{
    const layer_norm_config *config = user;
    return nb_layer_norm(x, config->normalized_shape, nbi_module_own_parameter(self, 0),
                         nbi_module_own_parameter(self, 1), config->eps);
}

nb_module *nb_layer_norm_new(nb_shape normalized_shape, nb_norm_opts opts)
{
    const char *op  = "nb_layer_norm_new";
    double      eps = with_defaults(opts).eps;
    if (!nbi_check_shape(normalized_shape, op)) return NULL;
    if (normalized_shape.ndim < 1)
        return nbi_fail(NB_ERR_ARG, "%s: normalized_shape needs at least one dimension", op);
    if (!(eps >= 0.0)) return nbi_fail(NB_ERR_ARG, "%s: eps must be >= 0 (got %g)", op, eps);
    layer_norm_config config = { .normalized_shape = normalized_shape, .eps = eps };
    nb_module        *m      = nbi_module_with_config("LayerNorm", layer_norm_forward, &config, sizeof config);
    if (m == NULL || nb_module_add_parameter(m, "weight", nb_ones(normalized_shape, NB_OPTS())) != NB_OK ||
        nb_module_add_parameter(m, "bias", nb_zeros(normalized_shape, NB_OPTS())) != NB_OK)
        return abandon(m);
    return m;
}

/* ------------------------------------------------------------------------ */
/* Embedding                                                                 */
/* ------------------------------------------------------------------------ */

/* indices: int64 of any shape -> (indices..., embedding_dim). */
static nb_tensor *embedding_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)user;
    return nb_embedding(x, nbi_module_own_parameter(self, 0));
}

nb_module *nb_embedding_new(int64_t num_embeddings, int64_t embedding_dim)
{
    if (num_embeddings < 0 || embedding_dim < 0)
        return nbi_fail(NB_ERR_ARG, "nb_embedding_new: num_embeddings and embedding_dim must be >= 0 (got %lld, %lld)",
                        (long long)num_embeddings, (long long)embedding_dim);
    nb_module *m = nbi_module_with_config("Embedding", embedding_forward, NULL, 0);
    nb_tensor *weight;
    if (m == NULL ||
        nbi_module_new_parameter(m, "weight", NB_SHAPE(num_embeddings, embedding_dim), &weight) != NB_OK ||
        nb_init_normal_(weight, 0.0, 1.0) != NB_OK)
        return abandon(m);
    return m;
}

/* ------------------------------------------------------------------------ */
/* Sequential                                                                */
/* ------------------------------------------------------------------------ */

/* Whether h, an intermediate made by a child, may be overwritten: no graph
 * can hold it (grad mode off) and nothing else shares its elements (its
 * handle and storage have one holder each, and it is no view). */
static bool held_alone(const nb_tensor *h)
{
    return !nbi_grad_enabled() && h->view_base == NULL && atomic_load(&h->refcount) == 1 &&
           atomic_load(&h->storage->refcount) == 1;
}

/* Run child on *h (x while *h is NULL), replacing *h; with then_relu the
 * child absorbs the ReLU after it. In no-grad mode a child that can writes
 * over an intermediate held alone. False on error (*h freed). */
static bool run_child(nb_module *child, const nb_tensor *x, nb_tensor **h, bool then_relu)
{
    bool in_place = *h != NULL && held_alone(*h) && (then_relu || nbi_module_has_in_place(child));
    if (in_place) {
        bool done = then_relu ? nbi_module_forward_then_relu(child, *h, true) != NULL
                              : nbi_module_forward_in_place(child, *h);
        if (!done) nb_free(*h);
        return done;
    }
    nb_tensor *next = then_relu ? nbi_module_forward_then_relu(child, *h ? *h : x, false)
                                : nb_module_forward(child, *h ? *h : x);
    nb_free(*h);
    *h = next;
    return next != NULL;
}

/* Each child's output is the next one's input; the intermediates are
 * freed here (the autograd graph keeps what backward needs), or, in
 * no-grad mode, overwritten by children that can run in place. No
 * children: x itself, as a new handle in x's graph.
 *
 * Two rewrites save passes over the activations, with the same values and
 * gradients: a child that can absorb the ReLU after it (batch norm) runs
 * both in one pass; and ReLU then MaxPool2d of a floating input runs as
 * MaxPool2d then ReLU (relu is monotone, so it commutes with a max: the
 * relu then reads and writes a quarter of the values, for 2x2 windows).
 * NOTE: the one difference of the swap is the sign of a zero: a window of
 * values <= 0 holding a -0 gives 0 or -0 by order; its gradient is 0
 * either way. */
static nb_tensor *sequential_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)user;
    int64_t count = nbi_module_child_count(self);
    if (count == 0) return nbi_alias_recorded(x, "nb_module_forward");
    nb_tensor *h = NULL;
    for (int64_t i = 0; i < count; i++) {
        nb_module *child = nbi_module_child_at(self, i), *after = i + 1 < count ? nbi_module_child_at(self, i + 1) : NULL;
        bool then_relu = after != NULL && nbi_module_has_then_relu(child) && nbi_module_is_relu(after);
        bool pool_first = after != NULL && nbi_module_is_relu(child) && nbi_module_is_max_pool(after) &&
                          nb_dtype_is_floating(nb_dtype_of(h ? h : x));
        if (pool_first) {
            if (!run_child(after, x, &h, false) || !run_child(child, x, &h, false)) return NULL;
        } else if (!run_child(child, x, &h, then_relu)) {
            return NULL;
        }
        i += then_relu || pool_first;
    }
    return h;
}

nb_module *nb_sequential_new(nb_module *const *modules, int count)
{
    const char *op = "nb_sequential_new";
    if (count < 0) return nbi_fail(NB_ERR_ARG, "%s: count is negative (%d)", op, count);
    if (count > 0 && !nbi_check_pointer(modules, op, "modules")) return NULL;
    nb_module *m     = nb_module_new("Sequential", sequential_forward, NULL, NULL);
    int        added = 0; /* modules[0..added) are disposed of: in m, or by add_child */
    while (m != NULL && added < count && nbi_check_pointer(modules[added], op, "modules[i]")) {
        char name[24];
        snprintf(name, sizeof name, "%d", added);
        nb_status status = nb_module_add_child(m, name, modules[added++]);
        if (status != NB_OK) break;
    }
    if (m != NULL && nbi_module_child_count(m) == count) return m;
    /* Failure: free each module not yet disposed of, once, unless it is
     * owned by a module (then it has a parent: m, or someone else's). */
    for (int i = added; i < count; i++) {
        bool repeated = false;
        for (int j = 0; j < i && !repeated; j++) repeated = modules[j] == modules[i];
        if (!repeated && modules[i] != NULL && !nbi_module_has_parent(modules[i])) nb_module_free(modules[i]);
    }
    nb_module_free(m);
    return NULL;
}
