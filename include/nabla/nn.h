/*
 * nabla/nn.h — deep-learning primitives: functional layers and losses,
 * modules with named parameters, initialisation, optimizers and learning-
 * rate schedules, model files (safetensors), and data loading (IDX files,
 * datasets, shuffled mini-batches). Included by nabla.h; the conventions at
 * the top of nabla.h hold here too (NULL on error with a message, new
 * handles owned by the caller or the current scope, borrowed arguments).
 *
 * Every functional op is differentiable through autograd. Names and
 * semantics follow torch.nn.functional / torch.nn / torch.optim.
 */
#ifndef NABLA_NN_H
#define NABLA_NN_H

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Functional layers                                                         */
/* ------------------------------------------------------------------------ */

/* y = x W^T + b. x: (..., in), weight: (out, in), bias: (out) or NULL. */
NB_API nb_tensor *nb_linear(const nb_tensor *x, const nb_tensor *weight, const nb_tensor *bias);

/* Convolution geometry; zero fields take the defaults (stride 1, padding 0,
 * dilation 1, groups 1, output_padding 0). [0] is height, [1] width. */
typedef struct {
    int     reserved_;
    int64_t stride[2];
    int64_t padding[2];
    int64_t dilation[2];
    int64_t groups;
    int64_t output_padding[2]; /* conv_transpose2d only */
} nb_conv_opts;
#define NB_CONV_OPTS(...) ((nb_conv_opts){ .reserved_ = 0, __VA_ARGS__ })

/* x: (N, C_in, H, W) or (C_in, H, W); weight: (C_out, C_in / groups, kH, kW);
 * bias: (C_out) or NULL. Output (N, C_out, H_out, W_out) as torch.
 * float32 3x3 convolutions with stride and dilation 1, one group, padding
 * up to 2 and channel counts that are multiples of 16 (both ways) run, with
 * their gradients, by Winograd's F(2x2, 3x3), as cuDNN and oneDNN may:
 * 2.25x fewer multiply-adds, results within float32 rounding of the direct
 * sum (under 1e-6 of the largest output). Other shapes, and float64, use
 * im2col + GEMM. */
NB_API nb_tensor *nb_conv2d(const nb_tensor *x, const nb_tensor *weight, const nb_tensor *bias, nb_conv_opts opts);
/* weight: (C_in, C_out / groups, kH, kW), as torch.nn.functional.conv_transpose2d. */
NB_API nb_tensor *nb_conv_transpose2d(const nb_tensor *x, const nb_tensor *weight, const nb_tensor *bias,
                                      nb_conv_opts opts);

/* Pooling window; kernel is required, stride 0 means "= kernel", padding
 * and dilation as in convolution (padding at most half the kernel, as
 * torch; avg_pool2d takes no dilation above 1). exclude_pad_from_avg is
 * torch's count_include_pad inverted, so that zero is the default. */
typedef struct {
    int     reserved_;
    int64_t kernel[2];
    int64_t stride[2];
    int64_t padding[2];
    int64_t dilation[2];
    bool    ceil_mode;
    bool    exclude_pad_from_avg; /* avg_pool2d: count_include_pad=False */
} nb_pool_opts;
#define NB_POOL_OPTS(...) ((nb_pool_opts){ .reserved_ = 0, __VA_ARGS__ })

/* x: (N, C, H, W) or (C, H, W), floating. indices (max_pool2d, optional):
 * int64 positions within each H*W plane, as torch's return_indices (a new
 * handle the caller owns; NULL on error). */
NB_API nb_tensor *nb_max_pool2d(const nb_tensor *x, nb_pool_opts opts, nb_tensor **indices);
NB_API nb_tensor *nb_avg_pool2d(const nb_tensor *x, nb_pool_opts opts);
NB_API nb_tensor *nb_adaptive_avg_pool2d(const nb_tensor *x, int64_t out_h, int64_t out_w);

/* Batch normalisation over dim 1 of x (N, C, ...). training: normalise with
 * the batch's statistics and update running_mean / running_var in place
 * (momentum as torch, unbiased variance for the running value); eval: use
 * the running statistics. running_* may be NULL in training (no update; one
 * alone moves, as torch).
 * weight, bias: (C) or NULL. */
NB_API nb_tensor *nb_batch_norm(const nb_tensor *x, nb_tensor *running_mean, nb_tensor *running_var,
                                const nb_tensor *weight, const nb_tensor *bias, bool training, double momentum,
                                double eps);
/* Normalise over the last normalized_shape.ndim dims. weight, bias: of
 * normalized_shape, or NULL. */
NB_API nb_tensor *nb_layer_norm(const nb_tensor *x, nb_shape normalized_shape, const nb_tensor *weight,
                                const nb_tensor *bias, double eps);
/* x (N, C, ...) with C divisible by groups; weight, bias (C) or NULL. */
NB_API nb_tensor *nb_group_norm(const nb_tensor *x, int64_t groups, const nb_tensor *weight, const nb_tensor *bias,
                                double eps);
/* Zero each element with probability p and scale the rest by 1/(1-p), with
 * the library's generator (nb_manual_seed); identity when !training. p = 1
 * gives zeros; p outside [0, 1] is NB_ERR_ARG. */
NB_API nb_tensor *nb_dropout(const nb_tensor *x, double p, bool training);
/* Rows of weight (num, dim) picked by int64 or int32 indices of any shape:
 * (indices..., dim). An index outside [0, num) is NB_ERR_INDEX. */
NB_API nb_tensor *nb_embedding(const nb_tensor *indices, const nb_tensor *weight);
/* Constant padding as torch.nn.functional.pad: pads lists (before, after)
 * pairs starting from the LAST dim; npads even and <= 2 * ndim. Negative
 * pads crop. value must fit x's dtype (NB_ERR_ARG; for uint8 no negative
 * value, as torch, whose pad value is a float). */
NB_API nb_tensor *nb_pad(const nb_tensor *x, const int64_t *pads, int npads, double value);

/* ------------------------------------------------------------------------ */
/* Losses                                                                    */
/* ------------------------------------------------------------------------ */

typedef enum {
    NB_REDUCTION_MEAN = 0, /* the default */
    NB_REDUCTION_SUM,
    NB_REDUCTION_NONE,
    NB_REDUCTION_BATCHMEAN, /* kl_div only: sum / batch size */
} nb_reduction;

/* The elementwise losses take input and target of one float dtype and the
 * same shape (NB_ERR_SHAPE otherwise: torch broadcasts unequal shapes with
 * a warning that it is likely a bug; nabla refuses them). */
NB_API nb_tensor *nb_mse_loss(const nb_tensor *input, const nb_tensor *target, nb_reduction reduction);
NB_API nb_tensor *nb_l1_loss(const nb_tensor *input, const nb_tensor *target, nb_reduction reduction);
/* Huber-like with threshold beta (torch's default 1.0). */
NB_API nb_tensor *nb_smooth_l1_loss(const nb_tensor *input, const nb_tensor *target, nb_reduction reduction,
                                    double beta);

/* Options of cross_entropy and nll_loss; the zero value is torch's default
 * except that no index is ignored unless has_ignore_index (torch ignores
 * -100 by default: set .has_ignore_index = true, .ignore_index = -100). */
typedef struct {
    int              reserved_;
    nb_reduction     reduction;
    bool             has_ignore_index;
    int64_t          ignore_index;
    double           label_smoothing; /* cross_entropy only, in [0, 1] */
    const nb_tensor *weight;          /* per-class weights (C), or NULL */
} nb_cross_entropy_opts;
#define NB_CROSS_ENTROPY_OPTS(...) ((nb_cross_entropy_opts){ .reserved_ = 0, __VA_ARGS__ })

/* logits: (N, C) or (N, C, d1, ...) or (C); target: int64 class indices
 * (N) / (N, d1, ...) / 0-d, or floating class probabilities of logits'
 * shape. Computed from log_softmax: finite for logits of any magnitude.
 * A class index outside [0, C) (and not ignored) is NB_ERR_INDEX. */
NB_API nb_tensor *nb_cross_entropy(const nb_tensor *logits, const nb_tensor *target, nb_cross_entropy_opts opts);
/* log_probs as logits above, target int64 class indices. */
NB_API nb_tensor *nb_nll_loss(const nb_tensor *log_probs, const nb_tensor *target, nb_cross_entropy_opts opts);
/* probs in [0, 1] (log clamped at -100, as torch; a value outside, or
 * NaN, is NB_ERR_ARG); weight NULL or broadcastable to probs. */
NB_API nb_tensor *nb_binary_cross_entropy(const nb_tensor *probs, const nb_tensor *target, const nb_tensor *weight,
                                          nb_reduction reduction);
/* Stable for any logits; pos_weight (broadcast over the last dim) or NULL. */
NB_API nb_tensor *nb_binary_cross_entropy_with_logits(const nb_tensor *logits, const nb_tensor *target,
                                                      const nb_tensor *weight, const nb_tensor *pos_weight,
                                                      nb_reduction reduction);
/* input: log-probabilities; target: probabilities (log-probabilities when
 * log_target). NB_REDUCTION_BATCHMEAN gives the mathematically right mean. */
NB_API nb_tensor *nb_kl_div(const nb_tensor *input, const nb_tensor *target, nb_reduction reduction,
                            bool log_target);

/* ------------------------------------------------------------------------ */
/* Modules                                                                   */
/* ------------------------------------------------------------------------ */
/* A module owns named parameters (tensors that require grad), named
 * buffers (running statistics), and named child modules; its full names
 * follow torch's state_dict ("0.weight", "fc1.bias", "bn.running_mean").
 * Modules are created with a _new function and freed with nb_module_free,
 * which frees their parameters, buffers and children. Parameters are made
 * outside any scope and live with the module. */

typedef struct nb_module nb_module;

/* Layers with torch's default initialisation (kaiming-uniform weights with
 * a = sqrt(5), biases uniform in +-1/sqrt(fan_in)). */
NB_API nb_module *nb_linear_new(int64_t in_features, int64_t out_features, bool bias);
NB_API nb_module *nb_conv2d_new(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                                nb_conv_opts opts, bool bias);
/* Normalisation layers' options; the zero value is torch's default, so
 * NB_NORM_OPTS() is BatchNorm2d(C) / LayerNorm(shape) as torch makes them,
 * and NB_NORM_OPTS(.momentum = 0.01) changes one field. NOTE: a field's 0
 * means its default, so an eps of exactly 0 or a momentum of exactly 0 is
 * not offered (the first divides by zero on a constant channel; for running
 * statistics that never move, put the layer in eval mode). */
typedef struct {
    int    reserved_; /* lets NB_NORM_OPTS() be empty; leave it zero */
    double eps;       /* added to the variance: 0 means 1e-5 */
    double momentum;  /* batch norm's running statistics: 0 means 0.1 */
} nb_norm_opts;
#define NB_NORM_OPTS(...) ((nb_norm_opts){ .reserved_ = 0, __VA_ARGS__ })
NB_API nb_module *nb_batch_norm1d_new(int64_t features, nb_norm_opts opts);
NB_API nb_module *nb_batch_norm2d_new(int64_t features, nb_norm_opts opts);
NB_API nb_module *nb_layer_norm_new(nb_shape normalized_shape, nb_norm_opts opts);
NB_API nb_module *nb_dropout_new(double p);
NB_API nb_module *nb_embedding_new(int64_t num_embeddings, int64_t embedding_dim);
NB_API nb_module *nb_flatten_new(int start_dim, int end_dim);
NB_API nb_module *nb_max_pool2d_new(nb_pool_opts opts);
NB_API nb_module *nb_avg_pool2d_new(nb_pool_opts opts);
/* Activations. */
NB_API nb_module *nb_relu_new(void);
NB_API nb_module *nb_gelu_new(bool tanh_approx);
NB_API nb_module *nb_tanh_new(void);
NB_API nb_module *nb_sigmoid_new(void);
NB_API nb_module *nb_silu_new(void);
NB_API nb_module *nb_softmax_new(int dim);
/* Issue 13's activations: the functional ops of nabla.h as modules (same
 * errors at forward). Bad parameters fail here with NB_ERR_ARG: a NaN
 * slope, a non-finite alpha (celu: or 0), max <= min (as torch's
 * Hardtanh). PReLU owns "weight", (num_parameters,) float32 filled with
 * init (torch: 1 and 0.25); num_parameters < 1 or a non-finite init is
 * NB_ERR_ARG. GLU's dim is checked at forward. */
NB_API nb_module *nb_leaky_relu_new(double negative_slope);
NB_API nb_module *nb_elu_new(double alpha);
NB_API nb_module *nb_selu_new(void);
NB_API nb_module *nb_celu_new(double alpha);
NB_API nb_module *nb_hardtanh_new(double min, double max);
NB_API nb_module *nb_relu6_new(void);
NB_API nb_module *nb_hardswish_new(void);
NB_API nb_module *nb_hardsigmoid_new(void);
NB_API nb_module *nb_mish_new(void);
NB_API nb_module *nb_softsign_new(void);
NB_API nb_module *nb_logsigmoid_new(void);
NB_API nb_module *nb_glu_new(int dim);
NB_API nb_module *nb_prelu_new(int64_t num_parameters, double init);
/* Children run in order, named "0", "1", ...; takes over the modules (they
 * are freed with the Sequential, also when it fails). Built-in children
 * are run with fewer passes where the result is the same: BatchNorm then
 * ReLU as one fused node (grad_fn BatchNormReluBackward0, bit for bit the
 * two ops), ReLU then MaxPool2d as the pool then the relu (relu commutes
 * with a max; only the sign of a zero in an all-nonpositive window with a
 * -0 may differ), and in no-grad mode activations and batch norm in place
 * on intermediates nothing else holds. */
NB_API nb_module *nb_sequential_new(nb_module *const *modules, int count);

/* A module of your own: forward(self, x, user) computes the output from x
 * and the module's parameters and children (look them up with
 * nb_module_child / nb_module_tensor) and returns a new tensor. forward may
 * be NULL for a plain container (nb_module_forward is then NB_ERR_STATE).
 * free_user (may be NULL) releases user when the module is freed (also when
 * nb_module_new fails). type (copied; NULL: "Module") names it in messages. */
typedef nb_tensor *(*nb_forward_fn)(nb_module *self, const nb_tensor *x, void *user);
NB_API nb_module *nb_module_new(const char *type, nb_forward_fn forward, void *user, void (*free_user)(void *));
/* Add a parameter (takes over t; it is made a leaf that requires grad, and
 * must be floating point: NB_ERR_DTYPE), a buffer (takes over t), or a child
 * module (takes over child), under name (not empty, no dots, unique among
 * the module's parameters, buffers and children: NB_ERR_ARG otherwise).
 * Taken over also on failure (freed then), except a tensor already in m's
 * tree or a child that already has a parent (NB_ERR_ARG, left alone): a
 * tensor or module belongs to one module only. */
NB_API nb_status  nb_module_add_parameter(nb_module *m, const char *name, nb_tensor *t);
NB_API nb_status  nb_module_add_buffer(nb_module *m, const char *name, nb_tensor *t);
NB_API nb_status  nb_module_add_child(nb_module *m, const char *name, nb_module *child);

/* Run the module (a new tensor, or NULL). */
NB_API nb_tensor *nb_module_forward(nb_module *m, const nb_tensor *x);
/* Training mode (dropout active, batch norm uses batch statistics) or eval
 * mode, for m and all its children. Modules start in training mode. */
NB_API void       nb_module_train(nb_module *m, bool training);
NB_API bool       nb_module_is_training(const nb_module *m);
NB_API const char *nb_module_type(const nb_module *m);
/* The direct child or own parameter / buffer by name, or by a dotted path
 * ("features.0.weight"). Borrowed; NULL with NB_ERR_ARG if absent. */
NB_API nb_module *nb_module_child(nb_module *m, const char *name);
NB_API nb_tensor *nb_module_tensor(nb_module *m, const char *path);
/* All parameters (or buffers) of m and its children in registration order,
 * with their full names; writes up to capacity entries (tensors and names
 * may each be NULL) and returns the total count, or -1 on error. Borrowed:
 * valid while m lives. */
NB_API int64_t nb_module_parameters(nb_module *m, nb_tensor **tensors, const char **names, int64_t capacity);
NB_API int64_t nb_module_buffers(nb_module *m, nb_tensor **tensors, const char **names, int64_t capacity);
/* Number of scalar parameters (sum of numels); -1 if m is NULL. */
NB_API int64_t nb_module_parameter_numel(nb_module *m);
/* Set every parameter's gradient to NULL. */
NB_API void    nb_module_zero_grad(nb_module *m);
/* Move every parameter, buffer and gradient of m and its children to device.
 * Tensors keep their handles (what nb_module_parameters and an optimizer
 * hold stay valid); move a module before making its optimizer, as in
 * PyTorch. All or nothing: on error (NB_ERR_DEVICE, NB_ERR_OOM) nothing
 * moved. */
NB_API nb_status nb_module_to(nb_module *m, nb_device device);
/* Free m, its tensors and its children; a child freed on its own is first
 * removed from its parent. Safe on NULL. */
NB_API void    nb_module_free(nb_module *m);

/* ------------------------------------------------------------------------ */
/* Recurrent layers: RNN, LSTM, GRU and their cells                          */
/* ------------------------------------------------------------------------ */
/* As torch.nn.RNN / LSTM / GRU (torch 1.13): T steps, B batch, I input
 * features, H hidden, L layers, D directions (2 when bidirectional).
 * Parameters in torch's names, shapes and order (the state_dict of a torch
 * module loads with nb_module_load): for each layer l and direction
 * (suffix "_reverse" for the second) weight_ih_l{l} (G*H, I; layers above
 * the first take D*H inputs), weight_hh_l{l} (G*H, H), bias_ih_l{l} and
 * bias_hh_l{l} (G*H), with G = 1 (RNN), 4 (LSTM, gates i, f, g, o) or 3
 * (GRU, gates r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn))).
 * Initialised uniform in +-1/sqrt(H) as torch.
 *
 * x: (T, B, I), (B, T, I) with batch_first, or (T, I) unbatched. h0, c0:
 * (L*D, B, H) ((L*D, H) unbatched), or NULL for zeros. Returns the output
 * (T, B, D*H) (batch_first: (B, T, D*H); unbatched (T, D*H)); *h_n and *c_n
 * (may be NULL: not wanted) receive the final states (L*D, B, H). Each
 * layer-direction runs as one fused op (an input GEMM for all steps, then
 * one GEMM and one elementwise pass per step; backward through time the
 * same way), differentiable twice (under create_graph the backward runs as
 * public ops). CPU only (NB_ERR_UNSUPPORTED on CUDA), float32 / float64.
 *
 * lengths: NULL, or int64 (B) on the CPU, each in [1, T]: the
 * sequences' lengths, in any order, as torch's pack_padded_sequence(x,
 * lengths, enforce_sorted=False) -> RNN -> pad_packed_sequence(total_length
 * = T): the output is 0 past each sequence's length, the final states are
 * those at each sequence's last valid step, and the reversed direction
 * starts at that step. (nabla takes the lengths instead of a packed
 * sequence; a length outside [1, T] is NB_ERR_ARG, as torch refuses 0.)
 *
 * Errors: T = 0 or a shape that does not fit (x, h0, c0, a parameter, the
 * lengths) NB_ERR_SHAPE naming it; a parameter count other than L*D*4 (L*D*2
 * without biases) NB_ERR_ARG; dtypes that differ NB_ERR_DTYPE; hidden size 0
 * or num_layers < 0 or dropout outside [0, 1] NB_ERR_ARG. */
typedef enum { NB_RNN_TANH = 0, NB_RNN_RELU } nb_rnn_nonlinearity;
typedef struct {
    int                 reserved_;    /* lets NB_RNN_OPTS() be empty; leave it zero */
    int64_t             num_layers;   /* 0 means 1 */
    bool                no_bias;      /* torch's bias=False */
    bool                batch_first;
    bool                bidirectional;
    double              dropout;      /* on each layer's output but the last, in training */
    nb_rnn_nonlinearity nonlinearity; /* nb_rnn / nb_rnn_new only */
} nb_rnn_opts;
#define NB_RNN_OPTS(...) ((nb_rnn_opts){ .reserved_ = 0, __VA_ARGS__ })

/* Functional forms: params is torch's flat list (_flat_weights): for each
 * layer and direction w_ih, w_hh, b_ih, b_hh (no biases with no_bias;
 * n_params = L*D*4 or L*D*2; borrowed). training switches the dropout. */
NB_API nb_tensor *nb_rnn(const nb_tensor *x, const nb_tensor *h0, nb_tensor *const *params, int64_t n_params,
                         const nb_tensor *lengths, nb_rnn_opts opts, bool training, nb_tensor **h_n);
NB_API nb_tensor *nb_lstm(const nb_tensor *x, const nb_tensor *h0, const nb_tensor *c0, nb_tensor *const *params,
                          int64_t n_params, const nb_tensor *lengths, nb_rnn_opts opts, bool training,
                          nb_tensor **h_n, nb_tensor **c_n);
NB_API nb_tensor *nb_gru(const nb_tensor *x, const nb_tensor *h0, nb_tensor *const *params, int64_t n_params,
                         const nb_tensor *lengths, nb_rnn_opts opts, bool training, nb_tensor **h_n);
/* Modules (types "RNN", "LSTM", "GRU"). nb_module_forward(m, x) returns the
 * output from zero states; nb_recurrent_forward gives the states too
 * (c0 / c_n: LSTM only, else NB_ERR_ARG). Dropout follows nb_module_train.
 * hidden_size < 1 or more than 64 layers: NB_ERR_ARG. */
NB_API nb_module *nb_rnn_new(int64_t input_size, int64_t hidden_size, nb_rnn_opts opts);
NB_API nb_module *nb_lstm_new(int64_t input_size, int64_t hidden_size, nb_rnn_opts opts);
NB_API nb_module *nb_gru_new(int64_t input_size, int64_t hidden_size, nb_rnn_opts opts);
NB_API nb_tensor *nb_recurrent_forward(nb_module *m, const nb_tensor *x, const nb_tensor *h0, const nb_tensor *c0,
                                       const nb_tensor *lengths, nb_tensor **h_n, nb_tensor **c_n);

/* One step, as torch.nn.RNNCell / LSTMCell / GRUCell: x (B, I) or (I);
 * h, c (B, H) or (H), or NULL for zeros; w_ih (G*H, I), w_hh (G*H, H),
 * b_ih, b_hh (G*H) or NULL. Returns h' (and c' in *c_out for LSTM; c_out
 * may be NULL). Composed of public ops (autograd differentiates them, any
 * device). Shape errors NB_ERR_SHAPE naming the argument. */
NB_API nb_tensor *nb_rnn_cell(const nb_tensor *x, const nb_tensor *h, const nb_tensor *w_ih, const nb_tensor *w_hh,
                              const nb_tensor *b_ih, const nb_tensor *b_hh, nb_rnn_nonlinearity nonlinearity);
NB_API nb_tensor *nb_lstm_cell(const nb_tensor *x, const nb_tensor *h, const nb_tensor *c, const nb_tensor *w_ih,
                               const nb_tensor *w_hh, const nb_tensor *b_ih, const nb_tensor *b_hh,
                               nb_tensor **c_out);
NB_API nb_tensor *nb_gru_cell(const nb_tensor *x, const nb_tensor *h, const nb_tensor *w_ih, const nb_tensor *w_hh,
                              const nb_tensor *b_ih, const nb_tensor *b_hh);
/* Cell modules ("RNNCell", "LSTMCell", "GRUCell"; parameters weight_ih,
 * weight_hh, bias_ih, bias_hh). nb_module_forward(m, x) steps from zero
 * states; nb_recurrent_cell_forward takes h and c (NULL: zeros; c for
 * LSTMCell only) and returns h', with c' in *c_out (LSTMCell; may be NULL). */
NB_API nb_module *nb_rnn_cell_new(int64_t input_size, int64_t hidden_size, bool bias, nb_rnn_nonlinearity nonlinearity);
NB_API nb_module *nb_lstm_cell_new(int64_t input_size, int64_t hidden_size, bool bias);
NB_API nb_module *nb_gru_cell_new(int64_t input_size, int64_t hidden_size, bool bias);
NB_API nb_tensor *nb_recurrent_cell_forward(nb_module *m, const nb_tensor *x, const nb_tensor *h, const nb_tensor *c,
                                            nb_tensor **c_out);
/* Attention and transformers                                                */
/* ------------------------------------------------------------------------ */

/* Scaled dot-product attention as PyTorch 2.x's
 * torch.nn.functional.scaled_dot_product_attention documents it:
 *   out = dropout(softmax(scale * query key^T + bias), dropout_p) value
 * query (..., L, E), key (..., S, E), value (..., S, V) -> (..., L, V); the
 * batch dims (heads included) broadcast. attn_mask (may be NULL)
 * broadcasts to the scores (..., L, S): bool (true = may attend, false =
 * score -inf) or of query's dtype (added). is_causal: query i attends to
 * keys j <= i (the mask tril(ones(L, S)), top-left aligned); it excludes
 * attn_mask. scale 0 means 1/sqrt(E). Dropout acts whenever dropout_p > 0
 * (no training flag, as torch; pass 0 in eval), with the library's
 * generator. A row that may attend to nothing gives NaN, as the formula
 * does (torch 2.5+'s math kernel gives 0 there).
 *
 * Without dropout, with q, k and v sharing their batch dims and a mask
 * that needs no gradient, this runs a fused flash-attention kernel
 * (grad_fn "ScaledDotProductFlashAttentionForCpuBackward0"): the (L, S)
 * scores are never stored, only one tile per thread; its backward
 * recomputes them (its gradient for a fully masked row is 0, the
 * composite's NaN). A double backward (create_graph) differentiates the
 * composite's formulas. Otherwise, and always in the _composite form, it
 * is the formula in public ops (matmul, masked_fill / add, softmax,
 * dropout, matmul), which stores the scores.
 *
 * Errors: NB_ERR_DTYPE for non-floating or mixed q/k/v dtypes, or a mask
 * neither bool nor of q's dtype; NB_ERR_SHAPE for fewer than 2 dims,
 * mismatched E or S, batch dims or a mask that do not broadcast;
 * NB_ERR_ARG for a mask with is_causal, dropout_p outside [0, 1]. */
NB_API nb_tensor *nb_scaled_dot_product_attention(const nb_tensor *query, const nb_tensor *key,
                                                  const nb_tensor *value, const nb_tensor *attn_mask,
                                                  double dropout_p, bool is_causal, double scale);
NB_API nb_tensor *nb_scaled_dot_product_attention_composite(const nb_tensor *query, const nb_tensor *key,
                                                            const nb_tensor *value, const nb_tensor *attn_mask,
                                                            double dropout_p, bool is_causal, double scale);

/* torch.nn.MultiheadAttention(embed_dim, num_heads, dropout, bias,
 * batch_first=...) with kdim = vdim = embed_dim: parameters in_proj_weight
 * (3E, E) (xavier uniform), in_proj_bias (3E) (zeros), out_proj.weight
 * (E, E) (Linear's init), out_proj.bias (E) (zeros), so that a torch
 * state_dict loads. NB_ERR_ARG when embed_dim is not divisible by
 * num_heads, num_heads < 1, embed_dim < 1, dropout outside [0, 1).
 * nb_module_forward(m, x) is self-attention on x without masks. */
NB_API nb_module *nb_multihead_attention_new(int64_t embed_dim, int64_t num_heads, double dropout, bool bias,
                                             bool batch_first);

/* The masks of nb_multihead_attention and nb_transformer_forward, with
 * torch's MultiheadAttention meaning (NOTE: the opposite of the bool mask
 * of nb_scaled_dot_product_attention):
 *   attn_mask         (L, S) or (N * num_heads, L, S): bool, true = may NOT
 *                     attend; or float, added to the scores.
 *   key_padding_mask  (N, S) ((S) unbatched): bool, true = padding, ignored;
 *                     or float, added.
 *   is_causal         apply the causal mask (query i sees keys j <= i).
 *                     Unlike torch 2.x, where it is only a hint about
 *                     attn_mask, it needs no attn_mask (and refuses one:
 *                     NB_ERR_ARG); with no other mask it takes the fused
 *                     causal path.
 *   per_head_weights  return the weights per head (torch's
 *                     average_attn_weights=False), else averaged. */
typedef struct {
    int              reserved_;
    const nb_tensor *attn_mask;
    const nb_tensor *key_padding_mask;
    bool             is_causal;
    bool             per_head_weights;
} nb_attention_opts;
#define NB_ATTENTION_OPTS(...) ((nb_attention_opts){ .reserved_ = 0, __VA_ARGS__ })

/* MultiheadAttention's forward: query (L, N, E) ((N, L, E) with
 * batch_first; (L, E) unbatched), key and value (S, N, E) likewise ->
 * (L, N, E). attn_weights (may be NULL: torch's need_weights=False, which
 * takes the fused path) receives the attention probabilities after dropout,
 * (N, L, S) averaged over heads or (N, num_heads, L, S), a new tensor.
 * Dropout acts in training mode only. NB_ERR_ARG when m is not a
 * MultiheadAttention; NB_ERR_SHAPE for inputs of the wrong rank or width,
 * batch sizes that differ, masks of the wrong shape; NB_ERR_DTYPE for a
 * mask neither bool nor floating. */
NB_API nb_tensor *nb_multihead_attention(nb_module *m, const nb_tensor *query, const nb_tensor *key,
                                         const nb_tensor *value, nb_attention_opts opts, nb_tensor **attn_weights);

/* torch.nn.TransformerEncoderLayer's arguments; take torch's defaults from
 * nb_transformer_layer_defaults(d_model, nhead) (dim_feedforward 2048,
 * dropout 0.1, relu, layer_norm_eps 1e-5, batch_first false, norm_first
 * false) and adjust fields. */
typedef enum { NB_ACTIVATION_RELU = 0, NB_ACTIVATION_GELU } nb_activation;
typedef struct {
    int64_t       d_model, nhead, dim_feedforward;
    double        dropout, layer_norm_eps;
    nb_activation activation;
    bool          batch_first, norm_first;
} nb_transformer_layer_opts;
NB_API nb_transformer_layer_opts nb_transformer_layer_defaults(int64_t d_model, int64_t nhead);
/* Children in torch's order and names: self_attn (MultiheadAttention),
 * linear1, dropout, linear2, norm1, norm2, dropout1, dropout2. Post-norm:
 *   x = norm1(x + dropout1(self_attn(x))); x = norm2(x + dropout2(ff(x)))
 * pre-norm (norm_first): x = x + dropout1(self_attn(norm1(x))); x = x +
 * dropout2(ff(norm2(x))), with ff(x) = linear2(dropout(activation(linear1(x)))).
 * Errors as nb_multihead_attention_new, and NB_ERR_ARG for
 * dim_feedforward < 1, layer_norm_eps < 0 or an unknown activation. */
NB_API nb_module *nb_transformer_encoder_layer_new(nb_transformer_layer_opts opts);
/* torch.nn.TransformerEncoder(layer, num_layers, norm): num_layers >= 1
 * layers named layers.0, layers.1, ... (each initialised on its own, where
 * torch deep-copies one layer: load a state_dict to match torch), and with
 * final_norm a LayerNorm named norm after them. */
NB_API nb_module *nb_transformer_encoder_new(nb_transformer_layer_opts opts, int num_layers, bool final_norm);
/* Run a TransformerEncoderLayer or TransformerEncoder on src ((S, N, E),
 * or (N, S, E) with batch_first, or (S, E)) with masks (per_head_weights
 * is ignored); nb_module_forward(m, src) is the same without masks. */
NB_API nb_tensor *nb_transformer_forward(nb_module *m, const nb_tensor *src, nb_attention_opts masks);

/* The sinusoidal position table of "Attention is all you need": (length,
 * dim) float32 with pe[p, 2i] = sin(p / 10000^(2i/dim)) and pe[p, 2i+1] =
 * cos(p / 10000^(2i/dim)). Learned positions need no helper: a parameter
 * (1, length, dim) added to the embeddings (apps/train's vit does that).
 * NB_ERR_ARG for length < 0 or dim < 1. */
NB_API nb_tensor *nb_sinusoidal_positions(int64_t length, int64_t dim);

/* ------------------------------------------------------------------------ */
/* Initialisation (in place, under no-grad; return NB_OK or the error)       */
/* ------------------------------------------------------------------------ */

typedef enum { NB_FAN_IN = 0, NB_FAN_OUT } nb_fan_mode;
typedef enum { NB_NONLINEARITY_LEAKY_RELU = 0, NB_NONLINEARITY_RELU, NB_NONLINEARITY_LINEAR, NB_NONLINEARITY_TANH,
               NB_NONLINEARITY_SIGMOID } nb_nonlinearity;

NB_API nb_status nb_init_uniform_(nb_tensor *t, double low, double high);
NB_API nb_status nb_init_normal_(nb_tensor *t, double mean, double std);
NB_API nb_status nb_init_zeros_(nb_tensor *t);
NB_API nb_status nb_init_ones_(nb_tensor *t);
NB_API nb_status nb_init_xavier_uniform_(nb_tensor *t, double gain);
NB_API nb_status nb_init_xavier_normal_(nb_tensor *t, double gain);
/* a: the negative slope of leaky_relu (torch's default for Linear: sqrt(5)). */
NB_API nb_status nb_init_kaiming_uniform_(nb_tensor *t, double a, nb_fan_mode mode, nb_nonlinearity nonlinearity);
NB_API nb_status nb_init_kaiming_normal_(nb_tensor *t, double a, nb_fan_mode mode, nb_nonlinearity nonlinearity);
/* A (semi-)orthogonal matrix (t viewed as (size(0), numel / size(0))) times gain. */
NB_API nb_status nb_init_orthogonal_(nb_tensor *t, double gain);

/* ------------------------------------------------------------------------ */
/* Optimizers and schedules                                                  */
/* ------------------------------------------------------------------------ */
/* An optimizer keeps borrowed pointers to its parameters (they must outlive
 * it) and its own state (momentum buffers, moments, step counts; made on a
 * parameter's first step, in no scope, freed by nb_optim_free). nb_optim_step
 * applies one update from the parameters' gradients (parameters without a
 * gradient are skipped), writing the parameters in place in no-grad mode,
 * exactly as torch.optim's single-tensor (foreach=False) algorithms.
 *
 * The constructors check as torch does: NB_ERR_ARG "nb_adam_new: Invalid
 * learning rate: -0.1" for a negative (or NaN) lr, eps, momentum,
 * weight_decay or alpha, betas outside [0, 1), nesterov without momentum or
 * with dampening; and for the parameters: an empty list, a NULL entry, one
 * that is not floating point, not a leaf, does not require grad, is an
 * expanded view, or appears twice (NB_ERR_ARG), or is not on the CPU
 * (NB_ERR_DEVICE). On error they return NULL. */

typedef struct nb_optim nb_optim;

typedef struct {
    double lr;
    double momentum;
    double dampening;
    bool   nesterov;
    double weight_decay;
} nb_sgd_opts;
typedef struct {
    double lr;           /* 1e-3 */
    double beta1, beta2; /* 0.9, 0.999 */
    double eps;          /* 1e-8 */
    double weight_decay; /* Adam: 0, added to the gradient; AdamW: 1e-2, decoupled */
    bool   amsgrad;
} nb_adam_opts;
typedef struct {
    double lr;    /* 1e-2 */
    double alpha; /* 0.99 */
    double eps;   /* 1e-8 */
    double weight_decay;
    double momentum;
    bool   centered;
} nb_rmsprop_opts;

/* torch's defaults, to adjust field by field: o = nb_adam_defaults(); o.lr = 3e-4; */
NB_API nb_sgd_opts     nb_sgd_defaults(double lr);
NB_API nb_adam_opts    nb_adam_defaults(void);
NB_API nb_adam_opts    nb_adamw_defaults(void);
NB_API nb_rmsprop_opts nb_rmsprop_defaults(void);

NB_API nb_optim *nb_sgd_new(nb_tensor *const *params, int64_t count, nb_sgd_opts opts);
NB_API nb_optim *nb_adam_new(nb_tensor *const *params, int64_t count, nb_adam_opts opts);
NB_API nb_optim *nb_adamw_new(nb_tensor *const *params, int64_t count, nb_adam_opts opts);
NB_API nb_optim *nb_rmsprop_new(nb_tensor *const *params, int64_t count, nb_rmsprop_opts opts);
/* The same over every parameter of m and its children, in one call
 * (torch.optim.Adam(model.parameters())): nb_adam_for(model,
 * nb_adam_defaults()). m must outlive the optimizer; NB_ERR_ARG for NULL or
 * a module without parameters. */
NB_API nb_optim *nb_sgd_for(nb_module *m, nb_sgd_opts opts);
NB_API nb_optim *nb_adam_for(nb_module *m, nb_adam_opts opts);
NB_API nb_optim *nb_adamw_for(nb_module *m, nb_adam_opts opts);
NB_API nb_optim *nb_rmsprop_for(nb_module *m, nb_rmsprop_opts opts);
NB_API nb_status nb_optim_step(nb_optim *o);
/* Set every parameter's gradient to NULL (torch's set_to_none). Safe on NULL. */
NB_API void      nb_optim_zero_grad(nb_optim *o);
/* The lr of the next step (NAN and NB_ERR_ARG for NULL); set_lr refuses a
 * negative or NaN lr (NB_ERR_ARG, lr unchanged). */
NB_API double    nb_optim_lr(const nb_optim *o);
NB_API void      nb_optim_set_lr(nb_optim *o, double lr);
NB_API void      nb_optim_free(nb_optim *o);

/* Learning-rate schedules: each nb_scheduler_step (once per epoch or per
 * step, as you choose) sets the optimizer's lr for the next period, as
 * torch.optim.lr_scheduler's StepLR, CosineAnnealingLR and LinearLR, in
 * their recursive form (each step scales the current lr, so schedules on
 * one optimizer compose as in torch). Making one takes its first step
 * (LinearLR: lr *= start_factor). A scheduler borrows o: free it first.
 * NB_ERR_ARG for step_size or t_max < 1, a negative gamma or eta_min,
 * start_factor outside (0, 1], end_factor outside [0, 1], total_iters < 0. */
typedef struct nb_scheduler nb_scheduler;
NB_API nb_scheduler *nb_step_lr_new(nb_optim *o, int64_t step_size, double gamma);
NB_API nb_scheduler *nb_cosine_annealing_lr_new(nb_optim *o, int64_t t_max, double eta_min);
/* lr ramps linearly from start_factor * lr to end_factor * lr over total_iters. */
NB_API nb_scheduler *nb_linear_lr_new(nb_optim *o, double start_factor, double end_factor, int64_t total_iters);
NB_API nb_status     nb_scheduler_step(nb_scheduler *s);
NB_API void          nb_scheduler_free(nb_scheduler *s);

/* Scale the gradients of params so that their joint norm (norm_type: 2,
 * 1 or INFINITY, or any p > 0) is at most max_norm; *total_norm (may be
 * NULL) receives the norm before clipping (0 with no gradients).
 * Parameters without a gradient are skipped. As torch: gradients are
 * multiplied in place by min(1, max_norm / (total + 1e-6)), so a NaN total
 * makes them NaN. NB_ERR_ARG for a negative max_norm or norm_type <= 0. */
NB_API nb_status nb_clip_grad_norm(nb_tensor *const *params, int64_t count, double max_norm, double norm_type,
                                   double *total_norm);

/* ------------------------------------------------------------------------ */
/* Model files: safetensors                                                  */
/* ------------------------------------------------------------------------ */
/* The format of the Hugging Face ecosystem: an 8-byte little-endian header
 * length, a JSON header mapping names to {dtype, shape, data_offsets} (and
 * an optional "__metadata__" of strings), then the raw little-endian data.
 * Dtypes F32, F64, I64, I32, U8, BOOL, F16, BF16, I16 and I8 load as
 * themselves (float16, bfloat16, int16, int8: their bits, unconverted);
 * U16 as int32 and U32 as int64 (the
 * format's U64 and F8 types are listed, but nb_safetensors_get refuses
 * them with NB_ERR_DTYPE; a dtype outside the format fails the load with
 * NB_ERR_DTYPE). Malformed files are NB_ERR_IO naming the problem (bad
 * JSON with its byte offset; offsets out of range, overlapping, leaving
 * gaps or not matching shape and dtype; duplicate names; ...), never a
 * crash or an allocation that the file's own size does not justify. */

typedef struct nb_safetensors nb_safetensors;
NB_API nb_safetensors *nb_safetensors_load(const char *path);
NB_API int64_t         nb_safetensors_count(const nb_safetensors *f);
/* Name of tensor i (in file order), borrowed; NULL if out of range. */
NB_API const char     *nb_safetensors_name(const nb_safetensors *f, int64_t i);
/* A new tensor with the named entry's data (owned by the caller or the
 * current scope); NULL with NB_ERR_ARG if absent. */
NB_API nb_tensor      *nb_safetensors_get(const nb_safetensors *f, const char *name);
/* The value of a __metadata__ key, borrowed, or NULL. */
NB_API const char     *nb_safetensors_metadata(const nb_safetensors *f, const char *key);
NB_API void            nb_safetensors_free(nb_safetensors *f);
/* Write tensors under names (unique, UTF-8, not "__metadata__"), each as
 * its own dtype; metadata_keys/values (may be NULL, count n_metadata) go to
 * __metadata__. Laid out as the Python library does it (widest dtype
 * first, then by name; data 8-aligned). Bad arguments are NB_ERR_ARG. */
NB_API nb_status nb_save_safetensors(const char *path, const char *const *names, nb_tensor *const *tensors,
                                     int64_t count, const char *const *metadata_keys,
                                     const char *const *metadata_values, int64_t n_metadata);
/* Like nb_save_safetensors, but floating tensors (float32, float64) are
 * stored as F16 (bfloat16 false) or BF16 (true), rounded to nearest even
 * (values beyond F16's range become +-inf, NaN stays NaN; float64 is
 * rounded once, as numpy's astype does); other dtypes are stored as
 * themselves (float16 and bfloat16 tensors too). nb_safetensors_get reads
 * them back as float16 / bfloat16.
 * Errors as nb_save_safetensors. */
NB_API nb_status nb_save_safetensors_half(const char *path, const char *const *names, nb_tensor *const *tensors,
                                          int64_t count, const char *const *metadata_keys,
                                          const char *const *metadata_values, int64_t n_metadata, bool bfloat16);

/* A module's parameters and buffers under their state_dict names. Loading
 * requires the same set of names with the same shapes: a missing or
 * unexpected key, or a shape / dtype mismatch, is an error naming the
 * tensor, and leaves the module unchanged. */
NB_API nb_status nb_module_save(nb_module *m, const char *path);
NB_API nb_status nb_module_load(nb_module *m, const char *path);

/* ------------------------------------------------------------------------ */
/* Data                                                                      */
/* ------------------------------------------------------------------------ */

/* An IDX file (the MNIST format), plain or gzip-compressed (chosen by the
 * file's first bytes): ubyte -> uint8, int -> int32, float -> float32,
 * double -> float64 (byte/short types -> int32). Malformed files are
 * NB_ERR_IO. */
NB_API nb_tensor *nb_load_idx(const char *path);

/* A dataset of tensors sharing their first dimension (samples); borrowed
 * tensors, which must outlive it. */
typedef struct nb_dataset nb_dataset;
NB_API nb_dataset *nb_tensor_dataset_new(nb_tensor *const *tensors, int count);
NB_API int64_t     nb_dataset_size(const nb_dataset *d);
NB_API void        nb_dataset_free(nb_dataset *d);

/* Mini-batches over a dataset: each batch holds one tensor per dataset
 * tensor (rows gathered in a new contiguous tensor). shuffle draws a new
 * permutation each epoch from a generator seeded by seed (independent of
 * nb_manual_seed; the same seed gives the same batches). */
typedef struct nb_loader nb_loader;
NB_API nb_loader *nb_loader_new(nb_dataset *d, int64_t batch_size, bool shuffle, bool drop_last, uint64_t seed);
/* The next batch of the epoch into batch[0..count), new handles (in the
 * current scope). false at the end of the epoch (nb_loader_ended is then
 * true, and no error is recorded) or on error (nb_loader_ended false,
 * nb_last_status says why). The call after the end starts the next epoch
 * by itself (a new order when shuffling), so each epoch is one loop:
 *   while (nb_loader_next(l, batch)) { ... }
 *   if (!nb_loader_ended(l)) { the error: nb_last_error() }
 * nb_loader_reset starts the next epoch at once, also mid-epoch. */
NB_API bool       nb_loader_next(nb_loader *l, nb_tensor **batch);
NB_API bool       nb_loader_ended(const nb_loader *l);
NB_API void       nb_loader_reset(nb_loader *l);
NB_API int64_t    nb_loader_num_batches(const nb_loader *l);
NB_API void       nb_loader_free(nb_loader *l);

#ifdef __cplusplus
}
#endif
#endif /* NABLA_NN_H */
