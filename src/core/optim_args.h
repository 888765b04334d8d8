/*
 * optim_args.h — what a device's fused optimizer step takes (the
 * optimizer-step entries of core/backend.h): one parameter's memory and
 * its algorithm's hyper-parameters, already reduced to numbers (the op
 * counts steps and computes Adam's bias corrections).
 *
 * Every buffer is contiguous, count elements of dtype, in the memory of the
 * device that runs the step; the kernel updates param and the state
 * buffers in place, element by element, in dtype with each hyper-parameter
 * rounded to dtype first (torch's CPU kernels). The formulas are torch
 * 1.13's single-tensor algorithms (nn/optim.c and nn/adam.c hold the
 * composites they are tested against). A plain C header that nvcc also
 * compiles as C++.
 */
#ifndef NABLA_OPTIM_ARGS_H
#define NABLA_OPTIM_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The op of NBI_FAMILY_OPTIM_STEP: which entry. */
typedef enum { NBI_STEP_SGD, NBI_STEP_ADAM /* Adam and AdamW */, NBI_STEP_RMSPROP, NBI_NUM_STEP_RULES } nbi_step_rule;

/* One parameter and its gradient. */
typedef struct {
    int         device; /* index of the device every buffer lives on */
    nb_dtype    dtype;  /* NB_FLOAT32 or NB_FLOAT64: of param, grad and the state */
    int64_t     count;  /* elements of each buffer */
    void       *param;
    const void *grad;
} nbi_optim_param;

/* d = g (+ weight_decay * p); with a momentum buffer, buf = d on the first
 * step and momentum * buf + (1 - dampening) * d after, and d = buf (or
 * d + momentum * buf with nesterov); p -= lr * d. */
typedef struct {
    double lr, momentum, dampening;
    double weight_decay; /* 0: none */
    bool   nesterov;
    bool   first_step; /* the momentum buffer is unwritten: it starts as d */
} nbi_sgd_hyper;

/* At step t: AdamW first p *= 1 - lr * weight_decay, Adam g += weight_decay
 * * p; m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2; with
 * amsgrad v_max = max(v_max, v) (NaN wins) stands for v below;
 * p -= step_size * m / (sqrt(v) / bias_correction2_sqrt + eps). */
typedef struct {
    double lr, beta1, beta2, eps;
    double weight_decay;          /* 0: none */
    bool   decoupled;             /* AdamW's decay of p, not Adam's of g */
    double step_size;             /* lr / (1 - beta1^t) */
    double bias_correction2_sqrt; /* sqrt(1 - beta2^t) */
} nbi_adam_hyper;

/* g (+ weight_decay * p); sq = alpha sq + (1 - alpha) g^2; avg =
 * sqrt(sq) + eps, or centered sqrt(sq - ga^2) + eps with ga = alpha ga +
 * (1 - alpha) g; with a momentum buffer buf = momentum buf + g / avg and
 * p -= lr * buf, else p -= lr * g / avg. */
typedef struct {
    double lr, alpha, eps, momentum;
    double weight_decay; /* 0: none */
} nbi_rmsprop_hyper;

#ifdef __cplusplus
}
#endif

#endif /* NABLA_OPTIM_ARGS_H */
