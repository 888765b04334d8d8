/*
 * matmul.cu — the batched matrix product on the GPU (core/matmul_args.h):
 * float32 and float64 through cuBLAS, integers by a plain kernel.
 *
 * Row-major C = A B is column-major C^T = B^T A^T, so cuBLAS gets B first
 * with the same transposition flags and leading dimensions. A batch whose
 * operands step uniformly (one batch dim, after collapsing) is one
 * strided-batched call, a broadcast operand with stride 0; any other batch
 * loops over its products. TF32 stays off (cuBLAS's default math mode), so
 * float32 products round as float32 products do.
 *
 * Returns 0, or a cudaError_t code (cudaErrorNotSupported: cuBLAS would not
 * start; cudaErrorInvalidValue: a size past cuBLAS's 32-bit ints;
 * NBI_CUDA_CUBLAS_FAILED: a cuBLAS call failed).
 */
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "cuda_stream.h"
#include "cublas_handle.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <mutex>

namespace {

constexpr int max_devices = 64;

std::mutex     handle_mutex;
cublasHandle_t handles[max_devices];

/* Batch index b's element offset of an operand. */
int64_t batch_offset(const nbi_matmul_args &a, const int64_t *stride, int64_t b)
{
    int64_t off = 0;
    for (int d = a.batch_ndim - 1; d >= 0; d--) {
        off += (b % a.batch_shape[d]) * stride[d];
        b /= a.batch_shape[d];
    }
    return off;
}

/* One stride per operand steps the whole batch: true with it in *step. */
bool uniform_stride(const nbi_matmul_args &a, const int64_t *stride, int64_t *step)
{
    if (a.batch_ndim == 0) {
        *step = 0;
        return true;
    }
    *step = stride[a.batch_ndim - 1];
    int64_t expect = *step * a.batch_shape[a.batch_ndim - 1];
    for (int d = a.batch_ndim - 2; d >= 0; d--) {
        if (a.batch_shape[d] == 1) continue;
        if (stride[d] != expect) return false;
        expect *= a.batch_shape[d];
    }
    return true;
}

template <typename T>
__global__ void int_matmul(const T *a, const T *b, T *c, int64_t m, int64_t n, int64_t k, int64_t ar, int64_t ac,
                           int64_t br, int64_t bc)
{
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < m * n; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t i = e / n, j = e % n;
        /* Wrapping sums, as the CPU's (unsigned arithmetic). */
        uint64_t s = 0;
        for (int64_t p = 0; p < k; p++) s += (uint64_t)a[i * ar + p * ac] * (uint64_t)b[p * br + j * bc];
        c[e] = (T)s;
    }
}

template <typename T> void int_batch(const nbi_matmul_args &a, int64_t batch, cudaStream_t stream)
{
    int64_t  mn     = a.m * a.n;
    unsigned blocks = (unsigned)((mn + 255) / 256 < 65535 * 8 ? (mn + 255) / 256 : 65535 * 8);
    for (int64_t b = 0; b < batch; b++) {
        const T *pa = (const T *)a.a.data + batch_offset(a, a.a.batch_stride, b);
        const T *pb = (const T *)a.b.data + batch_offset(a, a.b.batch_stride, b);
        int_matmul<T><<<blocks, 256, 0, stream>>>(pa, pb, (T *)a.c + b * mn, a.m, a.n, a.k, a.a.row_stride,
                                                  a.a.col_stride, a.b.row_stride, a.b.col_stride);
    }
}

} // namespace

cublasHandle_t nbi_cuda_cublas(int device)
{
    std::lock_guard<std::mutex> lock(handle_mutex);
    if (handles[device] == nullptr) {
        cublasHandle_t h;
        if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) return nullptr;
        cublasSetStream(h, nbi_cuda_stream(device));
        cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
        handles[device] = h;
    }
    return handles[device];
}

extern "C" int nbi_cuda_matmul(const nbi_matmul_args *args)
{
    const nbi_matmul_args &a = *args;
    int e = nbi_cuda_use(a.device);
    if (e != 0) return e;
    cudaStream_t stream = nbi_cuda_stream(a.device);
    int64_t      batch  = 1;
    for (int d = 0; d < a.batch_ndim; d++) batch *= a.batch_shape[d];
    if (batch == 0 || a.m == 0 || a.n == 0) return 0;
    size_t itemsize = nb_dtype_size(a.dtype);
    if (a.k == 0) return (int)cudaMemsetAsync(a.c, 0, (size_t)(batch * a.m * a.n) * itemsize, stream);
    switch (a.dtype) {
    case NB_INT64: int_batch<int64_t>(a, batch, stream); return (int)cudaGetLastError();
    case NB_INT32: int_batch<int32_t>(a, batch, stream); return (int)cudaGetLastError();
    case NB_UINT8: int_batch<uint8_t>(a, batch, stream); return (int)cudaGetLastError();
    default: break;
    }
    if (a.m > INT32_MAX || a.n > INT32_MAX || a.k > INT32_MAX || a.a.ld > INT32_MAX || a.b.ld > INT32_MAX)
        return (int)cudaErrorInvalidValue;
    cublasHandle_t h = nbi_cuda_cublas(a.device);
    if (h == nullptr) return (int)cudaErrorNotSupported;
    /* Column-major view: C^T (n x m) = B^T (n x k) A^T (k x m). */
    cublasOperation_t op_b = a.b.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t op_a = a.a.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
    cudaDataType_t    type = a.dtype == NB_FLOAT32 ? CUDA_R_32F : CUDA_R_64F;
    cublasComputeType_t compute = a.dtype == NB_FLOAT32 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_64F;
    float  one_f = 1.0f, zero_f = 0.0f;
    double one_d = 1.0, zero_d = 0.0;
    const void *alpha = a.dtype == NB_FLOAT32 ? (const void *)&one_f : (const void *)&one_d;
    const void *beta  = a.dtype == NB_FLOAT32 ? (const void *)&zero_f : (const void *)&zero_d;
    int64_t step_a, step_b;
    cublasStatus_t status;
    if (batch <= INT32_MAX && uniform_stride(a, a.a.batch_stride, &step_a) && uniform_stride(a, a.b.batch_stride, &step_b)) {
        status = cublasGemmStridedBatchedEx(h, op_b, op_a, (int)a.n, (int)a.m, (int)a.k, alpha, a.b.data, type,
                                            (int)a.b.ld, step_b, a.a.data, type, (int)a.a.ld, step_a, beta, a.c, type,
                                            (int)a.n, a.m * a.n, (int)batch, compute, CUBLAS_GEMM_DEFAULT);
    } else {
        status = CUBLAS_STATUS_SUCCESS;
        for (int64_t b = 0; b < batch && status == CUBLAS_STATUS_SUCCESS; b++) {
            const char *pa = (const char *)a.a.data + batch_offset(a, a.a.batch_stride, b) * (int64_t)itemsize;
            const char *pb = (const char *)a.b.data + batch_offset(a, a.b.batch_stride, b) * (int64_t)itemsize;
            char       *pc = (char *)a.c + b * a.m * a.n * (int64_t)itemsize;
            status = cublasGemmEx(h, op_b, op_a, (int)a.n, (int)a.m, (int)a.k, alpha, pb, type, (int)a.b.ld, pa, type,
                                  (int)a.a.ld, beta, pc, type, (int)a.n, compute, CUBLAS_GEMM_DEFAULT);
        }
    }
    return status == CUBLAS_STATUS_SUCCESS ? 0 : NBI_CUDA_CUBLAS_FAILED;
}
