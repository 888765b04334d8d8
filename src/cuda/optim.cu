/*
 * optim.cu — the fused optimizer steps on the GPU (core/optim_args.h): one
 * thread per element, the arithmetic of cpu/optim_kernels.c operation for
 * operation, in the parameter's dtype with each hyper-parameter rounded to
 * it first. (nvcc may fuse a multiply and an add into one FMA, so the last
 * bit can differ from the CPU's.)
 */
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"

#include <cuda_runtime.h>

namespace {

template <typename T>
__global__ void sgd_kernel(T *p, const T *g, T *buf, int64_t n, nbi_sgd_hyper h)
{
    const T neg_lr = (T)-h.lr, decay = (T)h.weight_decay, momentum = (T)h.momentum, keep = (T)(1 - h.dampening);
    NBI_GRID_STRIDE(i, n)
    {
        T pv = p[i], d = g[i];
        if (h.weight_decay != 0) d = d + decay * pv;
        if (buf != nullptr) {
            T b    = h.first_step ? d : buf[i] * momentum + keep * d;
            buf[i] = b;
            d      = h.nesterov ? d + momentum * b : b;
        }
        p[i] = pv + neg_lr * d;
    }
}

template <typename T>
__global__ void adam_kernel(T *p, const T *grad, T *exp_avg, T *exp_avg_sq, T *max_sq, int64_t n, nbi_adam_hyper h)
{
    const T beta1 = (T)h.beta1, rest1 = (T)(1 - h.beta1), beta2 = (T)h.beta2, rest2 = (T)(1 - h.beta2);
    const T scale = (T)(1 - h.lr * h.weight_decay), decay = (T)h.weight_decay, eps = (T)h.eps;
    const T neg_step_size = (T)-h.step_size, bc2_sqrt = (T)h.bias_correction2_sqrt;
    NBI_GRID_STRIDE(i, n)
    {
        T g = grad[i], pv = p[i];
        if (h.weight_decay != 0 && h.decoupled) pv = pv * scale;
        if (h.weight_decay != 0 && !h.decoupled) g = g + decay * pv;
        T m           = exp_avg[i] * beta1 + rest1 * g;
        T v           = exp_avg_sq[i] * beta2 + rest2 * g * g;
        exp_avg[i]    = m;
        exp_avg_sq[i] = v;
        if (max_sq != nullptr) {
            T old     = max_sq[i];
            v         = (old >= v || old != old) ? old : v; /* NaN wins, as torch.maximum */
            max_sq[i] = v;
        }
        T denom = sqrt(v) / bc2_sqrt + eps;
        p[i]    = pv + neg_step_size * m / denom;
    }
}

template <typename T>
__global__ void rmsprop_kernel(T *p, const T *grad, T *square_avg, T *buf, T *grad_avg, int64_t n,
                               nbi_rmsprop_hyper h)
{
    const T neg_lr = (T)-h.lr, alpha = (T)h.alpha, rest = (T)(1 - h.alpha);
    const T eps = (T)h.eps, decay = (T)h.weight_decay, momentum = (T)h.momentum;
    NBI_GRID_STRIDE(i, n)
    {
        T pv = p[i], g = grad[i];
        if (h.weight_decay != 0) g = g + decay * pv;
        T sq          = square_avg[i] * alpha + rest * g * g;
        square_avg[i] = sq;
        T avg;
        if (grad_avg != nullptr) {
            T ga        = grad_avg[i] * alpha + rest * g;
            grad_avg[i] = ga;
            avg         = sqrt(sq + (T)-1 * ga * ga);
        } else {
            avg = sqrt(sq);
        }
        avg = avg + eps;
        if (buf != nullptr) {
            T b    = buf[i] * momentum + g / avg;
            buf[i] = b;
            p[i]   = pv + neg_lr * b;
        } else {
            p[i] = pv + neg_lr * g / avg;
        }
    }
}

bool start(const nbi_optim_param *param, cudaStream_t *stream)
{
    if (param->count == 0 || nbi_cuda_use(param->device) != 0) return false;
    *stream = nbi_cuda_stream(param->device);
    return true;
}

} // namespace

extern "C" void nbi_cuda_sgd_step(const nbi_optim_param *param, void *momentum_buffer, const nbi_sgd_hyper *hyper)
{
    cudaStream_t s;
    if (!start(param, &s)) return;
    unsigned blocks = nbi_cuda_blocks(param->count);
    if (param->dtype == NB_FLOAT32)
        sgd_kernel<float><<<blocks, nbi_cuda_threads, 0, s>>>((float *)param->param, (const float *)param->grad,
                                                               (float *)momentum_buffer, param->count, *hyper);
    else
        sgd_kernel<double><<<blocks, nbi_cuda_threads, 0, s>>>((double *)param->param, (const double *)param->grad,
                                                                (double *)momentum_buffer, param->count, *hyper);
    nbi_cuda_note_launch(param->device);
}

extern "C" void nbi_cuda_adam_step(const nbi_optim_param *param, void *exp_avg, void *exp_avg_sq,
                                   void *max_exp_avg_sq, const nbi_adam_hyper *hyper)
{
    cudaStream_t s;
    if (!start(param, &s)) return;
    unsigned blocks = nbi_cuda_blocks(param->count);
    if (param->dtype == NB_FLOAT32)
        adam_kernel<float><<<blocks, nbi_cuda_threads, 0, s>>>(
            (float *)param->param, (const float *)param->grad, (float *)exp_avg, (float *)exp_avg_sq,
            (float *)max_exp_avg_sq, param->count, *hyper);
    else
        adam_kernel<double><<<blocks, nbi_cuda_threads, 0, s>>>(
            (double *)param->param, (const double *)param->grad, (double *)exp_avg, (double *)exp_avg_sq,
            (double *)max_exp_avg_sq, param->count, *hyper);
    nbi_cuda_note_launch(param->device);
}

extern "C" void nbi_cuda_rmsprop_step(const nbi_optim_param *param, void *square_avg, void *momentum_buffer,
                                      void *grad_avg, const nbi_rmsprop_hyper *hyper)
{
    cudaStream_t s;
    if (!start(param, &s)) return;
    unsigned blocks = nbi_cuda_blocks(param->count);
    if (param->dtype == NB_FLOAT32)
        rmsprop_kernel<float><<<blocks, nbi_cuda_threads, 0, s>>>(
            (float *)param->param, (const float *)param->grad, (float *)square_avg, (float *)momentum_buffer,
            (float *)grad_avg, param->count, *hyper);
    else
        rmsprop_kernel<double><<<blocks, nbi_cuda_threads, 0, s>>>(
            (double *)param->param, (const double *)param->grad, (double *)square_avg, (double *)momentum_buffer,
            (double *)grad_avg, param->count, *hyper);
    nbi_cuda_note_launch(param->device);
}
