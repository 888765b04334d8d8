/*
 * conv.cu — the three convolution products on the GPU (core/conv_args.h),
 * float32 and float64, as im2col + cuBLAS, the CPU's algorithm
 * (cpu/im2col.c) rearranged for a GPU.
 *
 * Letters as in conv_args.h; per group g: Cg = C / G image channels, Og =
 * O / G column channels, K = Cg * kh * kw rows of the column matrix and
 * L = P * Q its columns.
 *
 *   forward     y[n, g] (Og x L) = w[g] (Og x K) cols(x[n, g]) (K x L), over
 *               a chunk of images as one strided-batched GEMM per group,
 *               onto y pre-filled with the bias (beta = 1).
 *   input_grad  cols = w[g]^T y[n, g], then col2im as a gather: each pixel
 *               adds the entries that read it, tap by tap in the CPU's
 *               order, to the bias it was filled with. No atomics.
 *   weight_grad w[g] += y[chunk, g] (Og x count L) cols(x[chunk, g])^T, the
 *               chunk's images side by side (the CPU's spans), chunks in
 *               batch order on one stream: the sum's order is fixed by the
 *               shapes, so every run gives the same bits.
 *
 * The column scratch holds one chunk of images (about column_budget bytes,
 * or one image when one is larger). A 1x1 kernel with stride 1, no padding
 * and P x Q == H x W reads the image itself as its column matrix.
 * NOTE: not the CPU's test (im2col.c's `direct`), which leaves out the
 * P x Q == H x W part that output_padding can break in conv_transpose2d.
 *
 * TF32 stays off (cuBLAS's default math mode), as in matmul.cu, so float32
 * products round as float32 products do. cuBLAS sums in its own order, so
 * results match the CPU's within rounding, not bit for bit.
 */
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"
#include "cublas_handle.h"
#include "nn_kernels.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

static_assert(NBI_CUDA_OUT_OF_MEMORY == (int)cudaErrorMemoryAllocation, "the code backend.c reports as OOM");

namespace {

/* Bytes of column scratch one call aims at: large enough for GEMMs that
 * fill the GPU, small enough to sit beside a training step's tensors. */
constexpr int64_t column_budget = int64_t(64) << 20;
/* Images per strided-batched call at most (cuBLAS's batch is an int). */
constexpr int64_t most_images = 65535;


/* Every size a kernel needs, derived once on the host. */
struct geometry {
    int64_t N, C, H, W, O, P, Q, G;
    int64_t Cg, Og, K, L, HW;
    int64_t kh, kw, sh, sw, ph, pw, dh, dw;
};

geometry geometry_of(const nbi_conv_shape &s)
{
    geometry g;
    g.N = s.batch, g.C = s.channels, g.H = s.height, g.W = s.width;
    g.O = s.out_channels, g.P = s.out_h, g.Q = s.out_w, g.G = s.groups;
    g.Cg = s.channels / s.groups, g.Og = s.out_channels / s.groups;
    g.kh = s.kernel_h, g.kw = s.kernel_w, g.sh = s.stride_h, g.sw = s.stride_w;
    g.ph = s.pad_h, g.pw = s.pad_w, g.dh = s.dilation_h, g.dw = s.dilation_w;
    g.K = g.Cg * g.kh * g.kw, g.L = g.P * g.Q, g.HW = g.H * g.W;
    return g;
}

bool is_direct(const geometry &s)
{
    return s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.ph == 0 && s.pw == 0 && s.L == s.HW;
}

/* cuBLAS takes sizes and leading dims as ints. */
bool fits_cublas(const geometry &s)
{
    return s.K <= INT32_MAX && s.L <= INT32_MAX && s.Og <= INT32_MAX;
}

/* Images per chunk when each takes per_image scratch elements: as many as
 * fit the budget, at least one, and few enough that count * L stays an
 * int. NOTE: a function of the shapes alone, so the weight gradient's
 * chunked sums are the same on every run. */
int64_t images_per_chunk(const geometry &s, int64_t per_image, size_t itemsize)
{
    int64_t bytes = per_image * (int64_t)itemsize;
    int64_t count = bytes > 0 ? column_budget / bytes : s.N;
    if (s.L > 0 && count > INT32_MAX / s.L) count = INT32_MAX / s.L;
    if (count > s.N) count = s.N;
    if (count > most_images) count = most_images;
    return count < 1 ? 1 : count;
}

/* cols: the column matrices of images [first, first + count), group g:
 * entry (i, k, l) at i * image_step + k * row_step + l, k = (c * kh + ki)
 * * kw + kj, l = p * Q + q, reading pixel (p sh - ph + ki dh, q sw - pw +
 * kj dw) of channel g Cg + c, 0 outside the image. */
template <typename T>
__global__ void im2col_kernel(geometry s, const T *x, int64_t first, int64_t count, int64_t g, T *cols,
                              int64_t image_step, int64_t row_step)
{
    NBI_GRID_STRIDE(e, count * s.K * s.L)
    {
        int64_t l = e % s.L, rest = e / s.L;
        int64_t k = rest % s.K, i = rest / s.K;
        int64_t p = l / s.Q, q = l % s.Q;
        int64_t kj = k % s.kw, ki = (k / s.kw) % s.kh, c = k / (s.kw * s.kh);
        int64_t ih = p * s.sh - s.ph + ki * s.dh, iw = q * s.sw - s.pw + kj * s.dw;
        T       v = 0;
        if (ih >= 0 && ih < s.H && iw >= 0 && iw < s.W) v = x[((first + i) * s.C + g * s.Cg + c) * s.HW + ih * s.W + iw];
        cols[i * image_step + k * row_step + l] = v;
    }
}

/* x (images [first, first + count), group g) += the entries of cols
 * (im2col_kernel's layout, image_step K L, row_step L) that read each
 * pixel. One thread per pixel, taps in (ki, kj) order: the order in which
 * cpu/im2col.c's col2im adds them, onto the same starting value. */
template <typename T>
__global__ void col2im_kernel(geometry s, const T *cols, int64_t first, int64_t count, int64_t g, T *x)
{
    NBI_GRID_STRIDE(e, count * s.Cg * s.HW)
    {
        int64_t  pixel = e % s.HW, rest = e / s.HW;
        int64_t  c = rest % s.Cg, i = rest / s.Cg;
        int64_t  h = pixel / s.W, w = pixel % s.W;
        T       *at  = x + ((first + i) * s.C + g * s.Cg + c) * s.HW + pixel;
        const T *own = cols + i * s.K * s.L + c * s.kh * s.kw * s.L; /* channel c's taps */
        T        sum = *at;
        for (int64_t ki = 0; ki < s.kh; ki++) {
            int64_t row = h + s.ph - ki * s.dh; /* p * sh, if some p reads h through tap ki */
            if (row < 0) break;                 /* and for every later ki */
            if (row % s.sh != 0 || row / s.sh >= s.P) continue;
            for (int64_t kj = 0; kj < s.kw; kj++) {
                int64_t col = w + s.pw - kj * s.dw;
                if (col < 0) break;
                if (col % s.sw != 0 || col / s.sw >= s.Q) continue;
                sum += own[(ki * s.kw + kj) * s.L + (row / s.sh) * s.Q + col / s.sw];
            }
        }
        *at = sum;
    }
}

/* out (total elements, channels planes of plane each, repeating) := the
 * channel's bias, or 0 without one. */
template <typename T> __global__ void fill_channels(T *out, const T *bias, int64_t channels, int64_t plane, int64_t total)
{
    NBI_GRID_STRIDE(e, total) out[e] = bias ? bias[(e / plane) % channels] : (T)0;
}

/* rows (Og x count L) := group g's gradient rows of images [first, first +
 * count) side by side: rows[(o count + i) L + l] = y[first + i, g Og + o, l]. */
template <typename T>
__global__ void gather_rows(geometry s, const T *y, int64_t first, int64_t count, int64_t g, T *rows)
{
    NBI_GRID_STRIDE(e, s.Og * count * s.L)
    {
        int64_t l = e % s.L, rest = e / s.L;
        int64_t i = rest % count, o = rest / count;
        rows[e] = y[((first + i) * s.O + g * s.Og + o) * s.L + l];
    }
}

/* Column-major strided-batched GEMM in T: C = alpha op(A) op(B) + beta C. */
cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                    const float *a, int64_t lda, int64_t stride_a, const float *b, int64_t ldb, int64_t stride_b,
                    float beta, float *c, int64_t ldc, int64_t stride_c, int64_t batch)
{
    float one = 1.0f;
    return cublasSgemmStridedBatched(h, ta, tb, (int)m, (int)n, (int)k, &one, a, (int)lda, stride_a, b, (int)ldb,
                                     stride_b, &beta, c, (int)ldc, stride_c, (int)batch);
}

cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                    const double *a, int64_t lda, int64_t stride_a, const double *b, int64_t ldb, int64_t stride_b,
                    double beta, double *c, int64_t ldc, int64_t stride_c, int64_t batch)
{
    double one = 1.0;
    return cublasDgemmStridedBatched(h, ta, tb, (int)m, (int)n, (int)k, &one, a, (int)lda, stride_a, b, (int)ldb,
                                     stride_b, &beta, c, (int)ldc, stride_c, (int)batch);
}

/* What every product starts with: the device current, its stream and
 * cuBLAS handle. Returns 0 or the code to return. */
struct context {
    int            device;
    cudaStream_t   stream;
    cublasHandle_t handle;
};

int context_for(const nbi_conv_shape &shape, const geometry &s, context *ctx)
{
    int e = nbi_cuda_use(shape.device);
    if (e != 0) return e;
    if (!fits_cublas(s)) return (int)cudaErrorInvalidValue;
    ctx->device = shape.device;
    ctx->stream = nbi_cuda_stream(shape.device);
    ctx->handle = nbi_cuda_cublas(shape.device);
    return ctx->handle ? 0 : (int)cudaErrorNotSupported;
}

/* The scratch went back on the stream (the kernels that read it come first):
 * the launches' error, or the cuBLAS failure. */
template <typename T> int finish(const context &ctx, T *scratch, size_t elements, bool cublas_failed)
{
    nbi_cuda_release(ctx.device, scratch, elements * sizeof(T));
    int e = (int)cudaGetLastError();
    return e != 0 ? e : (cublas_failed ? NBI_CUDA_CUBLAS_FAILED : 0);
}

/* The column scratch of forward and input_grad: chunk images at a time
 * (elements of T at cols), none when the image is its own column matrix
 * (direct). cols NULL and not direct: out of memory. */
template <typename T> struct column_plan {
    bool    direct;
    int64_t chunk;
    size_t  elements;
    T      *cols;
};
template <typename T> column_plan<T> plan_columns(const geometry &s, int device)
{
    bool    direct   = is_direct(s);
    int64_t chunk    = images_per_chunk(s, direct ? 0 : s.K * s.L, sizeof(T));
    size_t  elements = direct ? 0 : (size_t)(chunk * s.K * s.L);
    T      *cols     = direct ? nullptr : (T *)nbi_cuda_alloc(device, elements * sizeof(T));
    return {direct, chunk, elements, cols};
}

/* y (N, O, P, Q) = conv(x, w) + bias. */
template <typename T> int forward(const nbi_conv_shape &shape, const T *x, const T *w, const T *bias, T *y)
{
    geometry s     = geometry_of(shape);
    int64_t  total = s.N * s.O * s.L;
    if (total == 0) return 0;
    context ctx;
    int     e = context_for(shape, s, &ctx);
    if (e != 0) return e;
    if (bias) fill_channels<T><<<nbi_cuda_blocks(total), nbi_cuda_threads, 0, ctx.stream>>>(y, bias, s.O, s.L, total);
    if (s.K == 0) { /* no channel in a group: the bias alone */
        if (!bias) return (int)cudaMemsetAsync(y, 0, (size_t)total * sizeof(T), ctx.stream);
        return (int)cudaGetLastError();
    }
    auto [direct, chunk, elements, cols] = plan_columns<T>(s, ctx.device);
    if (!direct && cols == nullptr) return NBI_CUDA_OUT_OF_MEMORY;
    bool failed = false;
    for (int64_t first = 0; first < s.N && !failed; first += chunk) {
        int64_t count = s.N - first < chunk ? s.N - first : chunk;
        for (int64_t g = 0; g < s.G && !failed; g++) {
            const T *b      = cols;
            int64_t  stride = s.K * s.L;
            if (direct) {
                b      = x + (first * s.C + g * s.Cg) * s.HW;
                stride = s.C * s.HW;
            } else {
                im2col_kernel<T><<<nbi_cuda_blocks(count * s.K * s.L), nbi_cuda_threads, 0, ctx.stream>>>(
                    s, x, first, count, g, cols, s.K * s.L, s.L);
            }
            /* Column-major: y^T (L x Og) = cols^T (L x K) w[g]^T (K x Og). */
            failed = gemm(ctx.handle, CUBLAS_OP_N, CUBLAS_OP_N, s.L, s.Og, s.K, b, s.L, stride, w + g * s.Og * s.K, s.K,
                          0, (T)(bias ? 1 : 0), y + (first * s.O + g * s.Og) * s.L, s.L, s.O * s.L,
                          count) != CUBLAS_STATUS_SUCCESS;
        }
    }
    return finish(ctx, cols, elements, failed);
}

/* x (N, C, H, W) = conv^T(y, w) + bias: written, not accumulated. */
template <typename T> int input_grad(const nbi_conv_shape &shape, const T *y, const T *w, const T *bias, T *x)
{
    geometry s     = geometry_of(shape);
    int64_t  total = s.N * s.C * s.HW;
    if (total == 0) return 0;
    context ctx;
    int     e = context_for(shape, s, &ctx);
    if (e != 0) return e;
    fill_channels<T><<<nbi_cuda_blocks(total), nbi_cuda_threads, 0, ctx.stream>>>(x, bias, s.C, s.HW, total);
    if (s.L == 0 || s.Og == 0) return (int)cudaGetLastError(); /* nothing reaches the image */
    auto [direct, chunk, elements, cols] = plan_columns<T>(s, ctx.device);
    if (!direct && cols == nullptr) return NBI_CUDA_OUT_OF_MEMORY;
    bool failed = false;
    for (int64_t first = 0; first < s.N && !failed; first += chunk) {
        int64_t count = s.N - first < chunk ? s.N - first : chunk;
        for (int64_t g = 0; g < s.G && !failed; g++) {
            /* Column-major: cols^T (L x K) = y[g]^T (L x Og) w[g] (Og x K);
             * direct: added into the image itself (beta = 1). */
            T      *c      = direct ? x + (first * s.C + g * s.Cg) * s.HW : cols;
            int64_t stride = direct ? s.C * s.HW : s.K * s.L;
            failed = gemm(ctx.handle, CUBLAS_OP_N, CUBLAS_OP_T, s.L, s.K, s.Og, y + (first * s.O + g * s.Og) * s.L, s.L,
                          s.O * s.L, w + g * s.Og * s.K, s.K, 0, (T)(direct ? 1 : 0), c, s.L, stride,
                          count) != CUBLAS_STATUS_SUCCESS;
            if (!failed && !direct)
                col2im_kernel<T><<<nbi_cuda_blocks(count * s.Cg * s.HW), nbi_cuda_threads, 0, ctx.stream>>>(
                    s, cols, first, count, g, x);
        }
    }
    return finish(ctx, cols, elements, failed);
}

/* w (O, Cg, kh, kw) = the sum over the batch of y[n] cols(x[n])^T. */
template <typename T> int weight_grad(const nbi_conv_shape &shape, const T *x, const T *y, T *w)
{
    geometry s     = geometry_of(shape);
    int64_t  total = s.O * s.K;
    if (total == 0) return 0;
    context ctx;
    int     e = context_for(shape, s, &ctx);
    if (e != 0) return e;
    e = (int)cudaMemsetAsync(w, 0, (size_t)total * sizeof(T), ctx.stream); /* every chunk adds (beta = 1) */
    if (e != 0 || s.N == 0 || s.L == 0) return e;
    int64_t chunk    = images_per_chunk(s, (s.K + s.Og) * s.L, sizeof(T));
    size_t  elements = (size_t)(chunk * (s.K + s.Og) * s.L);
    T      *cols     = (T *)nbi_cuda_alloc(ctx.device, elements * sizeof(T));
    if (cols == nullptr) return NBI_CUDA_OUT_OF_MEMORY;
    T   *rows   = cols + chunk * s.K * s.L;
    bool failed = false;
    for (int64_t first = 0; first < s.N && !failed; first += chunk) {
        int64_t count = s.N - first < chunk ? s.N - first : chunk, M = count * s.L;
        for (int64_t g = 0; g < s.G && !failed; g++) {
            im2col_kernel<T><<<nbi_cuda_blocks(count * s.K * s.L), nbi_cuda_threads, 0, ctx.stream>>>(
                s, x, first, count, g, cols, s.L, M);
            gather_rows<T><<<nbi_cuda_blocks(s.Og * M), nbi_cuda_threads, 0, ctx.stream>>>(s, y, first, count, g, rows);
            /* Column-major: w[g]^T (K x Og) += cols (K x M) rows^T (M x Og). */
            failed = gemm(ctx.handle, CUBLAS_OP_T, CUBLAS_OP_N, s.K, s.Og, M, cols, M, 0, rows, M, 0, (T)1,
                          w + g * s.Og * s.K, s.K, 0, 1) != CUBLAS_STATUS_SUCCESS;
        }
    }
    return finish(ctx, cols, elements, failed);
}

} // namespace

extern "C" int nbi_cuda_conv_forward(nb_dtype dtype, const nbi_conv_shape *shape, const void *x, const void *w,
                                     const void *bias, void *y)
{
    if (dtype == NB_FLOAT32)
        return forward(*shape, (const float *)x, (const float *)w, (const float *)bias, (float *)y);
    return forward(*shape, (const double *)x, (const double *)w, (const double *)bias, (double *)y);
}

extern "C" int nbi_cuda_conv_input_grad(nb_dtype dtype, const nbi_conv_shape *shape, const void *y, const void *w,
                                        const void *bias, void *x)
{
    if (dtype == NB_FLOAT32)
        return input_grad(*shape, (const float *)y, (const float *)w, (const float *)bias, (float *)x);
    return input_grad(*shape, (const double *)y, (const double *)w, (const double *)bias, (double *)x);
}

extern "C" int nbi_cuda_conv_weight_grad(nb_dtype dtype, const nbi_conv_shape *shape, const void *x, const void *y,
                                         void *w)
{
    if (dtype == NB_FLOAT32) return weight_grad(*shape, (const float *)x, (const float *)y, (float *)w);
    return weight_grad(*shape, (const double *)x, (const double *)y, (double *)w);
}
