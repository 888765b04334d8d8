/*
 * optim_kernels.c — the fused optimizer steps on the CPU: SGD, Adam / AdamW
 * and RMSprop, each one pass over a parameter's contiguous float32 or
 * float64 buffers (core/optim_args.h has the formulas), cut across threads.
 *
 * Each element is computed the same way whatever the split, so the results
 * do not depend on the thread count. The arithmetic is the composite's of
 * nn/optim.c and nn/adam.c, operation for operation, in the parameter's
 * dtype with the scalars rounded to it (as torch's CPU kernels): the tests
 * compare the two bit for bit. Built with -fno-math-errno (CMakeLists.txt),
 * so gcc vectorizes the loops that call sqrt.
 */
#include "cpu.h"
#include "optim_kernels.h"

/* Below this many elements a step stays on one thread. */
#define OPTIM_GRAIN 32768

/* Each loop takes its options as a bit set `flags`. The loop is forced
 * inline and called with a constant, so every combination compiles to its
 * own loop with no branch in it, which the compiler vectorizes. */
/* clang-format off */
#define FLAG_CASE(n, kernel, ...)                                                                                      \
    case n:                                                                                                            \
        kernel(__VA_ARGS__, n);                                                                                        \
        break;
#define FLAG_CASES_0_TO_7(kernel, ...)                                                                                 \
    FLAG_CASE(0, kernel, __VA_ARGS__) FLAG_CASE(1, kernel, __VA_ARGS__)                                                \
    FLAG_CASE(2, kernel, __VA_ARGS__) FLAG_CASE(3, kernel, __VA_ARGS__)                                                \
    FLAG_CASE(4, kernel, __VA_ARGS__) FLAG_CASE(5, kernel, __VA_ARGS__)                                                \
    FLAG_CASE(6, kernel, __VA_ARGS__) FLAG_CASE(7, kernel, __VA_ARGS__)
#define DISPATCH_FLAGS8(flags, kernel, ...)                                                                            \
    switch (flags) {                                                                                                   \
        FLAG_CASES_0_TO_7(kernel, __VA_ARGS__)                                                                         \
    default:                                                                                                           \
        break;                                                                                                         \
    }
#define DISPATCH_FLAGS16(flags, kernel, ...)                                                                           \
    switch (flags) {                                                                                                   \
        FLAG_CASES_0_TO_7(kernel, __VA_ARGS__)                                                                         \
        FLAG_CASE(8, kernel, __VA_ARGS__) FLAG_CASE(9, kernel, __VA_ARGS__)                                            \
        FLAG_CASE(10, kernel, __VA_ARGS__) FLAG_CASE(11, kernel, __VA_ARGS__)                                          \
        FLAG_CASE(12, kernel, __VA_ARGS__) FLAG_CASE(13, kernel, __VA_ARGS__)                                          \
        FLAG_CASE(14, kernel, __VA_ARGS__) FLAG_CASE(15, kernel, __VA_ARGS__)                                          \
    default:                                                                                                           \
        break;                                                                                                         \
    }
/* clang-format on */

/* ------------------------------------------------------------------------ */
/* SGD                                                                       */
/* ------------------------------------------------------------------------ */

typedef struct {
    const nbi_optim_param *param;
    void                  *momentum_buffer; /* NULL without momentum */
    const nbi_sgd_hyper   *hyper;
    unsigned               flags; /* SGD_* */
} sgd_job;

enum { SGD_WEIGHT_DECAY = 1, SGD_MOMENTUM = 2, SGD_NESTEROV = 4, SGD_FIRST = 8 /* the buffer starts as d */ };

/* Elements [begin, end) in dtype T. */
#define DEFINE_SGD_KERNEL(T)                                                                                           \
    static NBI_ALWAYS_INLINE void sgd_kernel_##T(const sgd_job *job, int64_t begin, int64_t end, unsigned flags)           \
    {                                                                                                                  \
        const nbi_sgd_hyper *h = job->hyper;                                                                           \
        T *restrict p          = (T *)job->param->param;                                                               \
        T *restrict buf        = (T *)job->momentum_buffer;                                                            \
        const T *restrict g    = (const T *)job->param->grad;                                                          \
        const T neg_lr = (T)-h->lr, decay = (T)h->weight_decay, momentum = (T)h->momentum;                             \
        const T keep = (T)(1 - h->dampening);                                                                          \
        for (int64_t i = begin; i < end; i++) {                                                                        \
            T pv = p[i], d = g[i];                                                                                     \
            if (flags & SGD_WEIGHT_DECAY) d = d + decay * pv;                                                          \
            if (flags & SGD_MOMENTUM) {                                                                                \
                T b    = (flags & SGD_FIRST) ? d : buf[i] * momentum + keep * d;                                       \
                buf[i] = b;                                                                                            \
                d      = (flags & SGD_NESTEROV) ? d + momentum * b : b;                                                \
            }                                                                                                          \
            p[i] = pv + neg_lr * d;                                                                                    \
        }                                                                                                              \
    }
DEFINE_SGD_KERNEL(float)
DEFINE_SGD_KERNEL(double)

static void sgd_range(int64_t begin, int64_t end, void *ctx)
{
    const sgd_job *job = ctx;
    if (job->param->dtype == NB_FLOAT32) {
        DISPATCH_FLAGS16(job->flags, sgd_kernel_float, job, begin, end)
    } else {
        DISPATCH_FLAGS16(job->flags, sgd_kernel_double, job, begin, end)
    }
}

void nbi_cpu_sgd_step(const nbi_optim_param *param, void *momentum_buffer, const nbi_sgd_hyper *hyper)
{
    unsigned flags = hyper->weight_decay != 0 ? SGD_WEIGHT_DECAY : 0u;
    if (momentum_buffer != NULL)
        flags |= SGD_MOMENTUM | (hyper->nesterov ? SGD_NESTEROV : 0u) | (hyper->first_step ? SGD_FIRST : 0u);
    sgd_job job = {.param = param, .momentum_buffer = momentum_buffer, .hyper = hyper, .flags = flags};
    nbi_parallel_for(param->count, OPTIM_GRAIN, sgd_range, &job);
}

/* ------------------------------------------------------------------------ */
/* Adam, AdamW                                                               */
/* ------------------------------------------------------------------------ */

typedef struct {
    const nbi_optim_param *param;
    void                  *exp_avg, *exp_avg_sq;
    void                  *max_exp_avg_sq; /* NULL without amsgrad */
    const nbi_adam_hyper  *hyper;
    unsigned               flags; /* ADAM_* */
} adam_job;

enum { ADAM_AMSGRAD = 1, ADAM_L2 = 2 /* Adam's weight decay */, ADAM_DECOUPLED = 4 /* AdamW's */ };

/* Elements [begin, end) in dtype T.
 * NOTE: the max propagates NaN as torch.maximum does (old > v ? old : v
 * would not), in a form gcc still vectorizes. */
#define DEFINE_ADAM_KERNEL(T, SQRT)                                                                                    \
    static NBI_ALWAYS_INLINE void adam_kernel_##T(const adam_job *job, int64_t begin, int64_t end, unsigned flags)         \
    {                                                                                                                  \
        const nbi_adam_hyper *h = job->hyper;                                                                          \
        T *restrict p           = (T *)job->param->param;                                                              \
        T *restrict exp_avg     = (T *)job->exp_avg;                                                                   \
        T *restrict exp_avg_sq  = (T *)job->exp_avg_sq;                                                                \
        T *restrict max_sq      = (T *)job->max_exp_avg_sq;                                                            \
        const T *restrict grad  = (const T *)job->param->grad;                                                         \
        const T beta1 = (T)h->beta1, rest1 = (T)(1 - h->beta1);                                                        \
        const T beta2 = (T)h->beta2, rest2 = (T)(1 - h->beta2);                                                        \
        const T scale = (T)(1 - h->lr * h->weight_decay), decay = (T)h->weight_decay, eps = (T)h->eps;                 \
        const T neg_step_size = (T)-h->step_size, bc2_sqrt = (T)h->bias_correction2_sqrt;                              \
        for (int64_t i = begin; i < end; i++) {                                                                        \
            T g = grad[i], pv = p[i];                                                                                  \
            if (flags & ADAM_DECOUPLED) pv = pv * scale;                                                               \
            if (flags & ADAM_L2) g = g + decay * pv;                                                                   \
            T m           = exp_avg[i] * beta1 + rest1 * g;                                                            \
            T v           = exp_avg_sq[i] * beta2 + rest2 * g * g;                                                     \
            exp_avg[i]    = m;                                                                                         \
            exp_avg_sq[i] = v;                                                                                         \
            if (flags & ADAM_AMSGRAD) {                                                                                \
                T old     = max_sq[i];                                                                                 \
                v         = (old >= v || old != old) ? old : v; /* NaN if either is */                                 \
                max_sq[i] = v;                                                                                         \
            }                                                                                                          \
            T denom = SQRT(v) / bc2_sqrt + eps;                                                                        \
            p[i]    = pv + neg_step_size * m / denom;                                                                  \
        }                                                                                                              \
    }
DEFINE_ADAM_KERNEL(float, sqrtf)
DEFINE_ADAM_KERNEL(double, sqrt)

static void adam_range(int64_t begin, int64_t end, void *ctx)
{
    const adam_job *job = ctx;
    if (job->param->dtype == NB_FLOAT32) {
        DISPATCH_FLAGS8(job->flags, adam_kernel_float, job, begin, end)
    } else {
        DISPATCH_FLAGS8(job->flags, adam_kernel_double, job, begin, end)
    }
}

void nbi_cpu_adam_step(const nbi_optim_param *param, void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq,
                       const nbi_adam_hyper *hyper)
{
    /* AdamW without decay multiplies p by 1, which changes nothing: skipped. */
    unsigned flags = max_exp_avg_sq != NULL ? ADAM_AMSGRAD : 0u;
    if (hyper->weight_decay != 0) flags |= hyper->decoupled ? ADAM_DECOUPLED : ADAM_L2;
    adam_job job = {
        .param          = param,
        .exp_avg        = exp_avg,
        .exp_avg_sq     = exp_avg_sq,
        .max_exp_avg_sq = max_exp_avg_sq,
        .hyper          = hyper,
        .flags          = flags,
    };
    nbi_parallel_for(param->count, OPTIM_GRAIN, adam_range, &job);
}

/* ------------------------------------------------------------------------ */
/* RMSprop                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    const nbi_optim_param   *param;
    void                    *square_avg;
    void                    *momentum_buffer; /* NULL without momentum */
    void                    *grad_avg;        /* NULL unless centered */
    const nbi_rmsprop_hyper *hyper;
    unsigned                 flags; /* RMSPROP_* */
} rmsprop_job;

enum { RMSPROP_WEIGHT_DECAY = 1, RMSPROP_CENTERED = 2, RMSPROP_WITH_MOMENTUM = 4 };

#define DEFINE_RMSPROP_KERNEL(T, SQRT)                                                                                 \
    static NBI_ALWAYS_INLINE void rmsprop_kernel_##T(const rmsprop_job *job, int64_t begin, int64_t end, unsigned flags)   \
    {                                                                                                                  \
        const nbi_rmsprop_hyper *h = job->hyper;                                                                       \
        T *restrict p              = (T *)job->param->param;                                                           \
        T *restrict square_avg     = (T *)job->square_avg;                                                             \
        T *restrict buf            = (T *)job->momentum_buffer;                                                        \
        T *restrict grad_avg       = (T *)job->grad_avg;                                                               \
        const T *restrict grad     = (const T *)job->param->grad;                                                      \
        const T neg_lr = (T)-h->lr, alpha = (T)h->alpha, rest = (T)(1 - h->alpha);                                     \
        const T eps = (T)h->eps, decay = (T)h->weight_decay, momentum = (T)h->momentum;                                \
        for (int64_t i = begin; i < end; i++) {                                                                        \
            T pv = p[i], g = grad[i];                                                                                  \
            if (flags & RMSPROP_WEIGHT_DECAY) g = g + decay * pv;                                                      \
            T sq          = square_avg[i] * alpha + rest * g * g;                                                      \
            square_avg[i] = sq;                                                                                        \
            T avg;                                                                                                     \
            if (flags & RMSPROP_CENTERED) {                                                                            \
                T ga        = grad_avg[i] * alpha + rest * g;                                                          \
                grad_avg[i] = ga;                                                                                      \
                avg         = SQRT(sq + (T)-1 * ga * ga);                                                              \
            } else {                                                                                                   \
                avg = SQRT(sq);                                                                                        \
            }                                                                                                          \
            avg = avg + eps;                                                                                           \
            if (flags & RMSPROP_WITH_MOMENTUM) {                                                                       \
                T b    = buf[i] * momentum + g / avg;                                                                  \
                buf[i] = b;                                                                                            \
                p[i]   = pv + neg_lr * b;                                                                              \
            } else {                                                                                                   \
                p[i] = pv + neg_lr * g / avg;                                                                          \
            }                                                                                                          \
        }                                                                                                              \
    }
DEFINE_RMSPROP_KERNEL(float, sqrtf)
DEFINE_RMSPROP_KERNEL(double, sqrt)

static void rmsprop_range(int64_t begin, int64_t end, void *ctx)
{
    const rmsprop_job *job = ctx;
    if (job->param->dtype == NB_FLOAT32) {
        DISPATCH_FLAGS8(job->flags, rmsprop_kernel_float, job, begin, end)
    } else {
        DISPATCH_FLAGS8(job->flags, rmsprop_kernel_double, job, begin, end)
    }
}

void nbi_cpu_rmsprop_step(const nbi_optim_param *param, void *square_avg, void *momentum_buffer, void *grad_avg,
                          const nbi_rmsprop_hyper *hyper)
{
    unsigned flags = (hyper->weight_decay != 0 ? RMSPROP_WEIGHT_DECAY : 0u) | (grad_avg ? RMSPROP_CENTERED : 0u) |
                     (momentum_buffer ? RMSPROP_WITH_MOMENTUM : 0u);
    rmsprop_job job = {
        .param           = param,
        .square_avg      = square_avg,
        .momentum_buffer = momentum_buffer,
        .grad_avg        = grad_avg,
        .hyper           = hyper,
        .flags           = flags,
    };
    nbi_parallel_for(param->count, OPTIM_GRAIN, rmsprop_range, &job);
}
