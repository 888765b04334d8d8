/*
 * backend.c — the CUDA table for the device seam (core/backend.h), on the
 * runtime functions of runtime.cu and allocator.cu and the kernels of the
 * other .cu files. Built only when CMake finds the CUDA toolkit
 * (NB_HAVE_CUDA); a machine without a GPU still links and runs it, with
 * nb_cuda_device_count() == 0.
 */
#include "../core/backend.h"
#include "cuda_kernels.h"
#include "cuda_runtime_api.h"
#include "nn_kernels.h"

static void *cuda_alloc(size_t bytes, int index) { return nbi_cuda_alloc(index, bytes); }

static void cuda_release(void *ptr, size_t bytes, int index) { nbi_cuda_release(index, ptr, bytes); }

static nb_status cuda_copy(void *dst, nb_device to, const void *src, nb_device from, size_t bytes)
{
    int code;
    if (to.type == NB_CUDA && from.type == NB_CUDA)
        code = nbi_cuda_copy_between(to.index, dst, from.index, src, bytes);
    else if (to.type == NB_CUDA)
        code = nbi_cuda_copy_to_device(to.index, dst, src, bytes);
    else
        code = nbi_cuda_copy_to_host(from.index, dst, src, bytes);
    if (code == 0) return NB_OK;
    return nbi_fail_status(NB_ERR_DEVICE, "nb_to: copying %zu bytes failed: %s", bytes, nbi_cuda_error_string(code));
}

static void cuda_synchronize(int index) { (void)nbi_cuda_sync(index); }

/* A code from a .cu entry (cuda_kernels.h) as a recorded message, without
 * the op's name: the op puts it in front (nbi_entry_failed). what: what
 * the scratch was for. */
static nb_status cuda_status(int code, int device, const char *what)
{
    if (code == 0) return NB_OK;
    if (code == NBI_CUDA_OUT_OF_MEMORY)
        return nbi_fail_status(NB_ERR_OOM, "out of cuda:%d memory for %s", device, what);
    if (code == NBI_CUDA_TOO_LARGE)
        return nbi_fail_status(NB_ERR_UNSUPPORTED, "%s on cuda:%d takes at most 2^31 - 2 elements per slice", what,
                               device);
    return nbi_fail_status(NB_ERR_DEVICE, "cuda:%d: %s", device,
                           code == NBI_CUDA_CUBLAS_FAILED ? "a cuBLAS call failed" : nbi_cuda_error_string(code));
}

static nb_status cuda_matmul(const nbi_matmul_args *args)
{
    return cuda_status(nbi_cuda_matmul(args), args->device, "the product");
}

static nb_status cuda_cross_entropy_forward(const nbi_cross_entropy_rows *rows, nb_reduction reduction, void *loss)
{
    nb_status status = nbi_cuda_cross_entropy_forward(rows, reduction, loss);
    if (status == NB_ERR_OOM)
        return nbi_fail_status(status, "nb_cross_entropy: out of cuda:%d memory for %lld rows of scratch",
                               rows->device, (long long)rows->rows);
    if (status != NB_OK) return nbi_fail_status(status, "nb_cross_entropy: cuda:%d is not usable", rows->device);
    return NB_OK;
}

/* The sort entry's message carries the op's name (sort_args.h), as the CPU's. */
static nb_status cuda_sort(const nbi_sort_args *args)
{
    if (cuda_status(nbi_cuda_sort(args), args->device, "sorting") == NB_OK) return NB_OK;
    nbi_entry_failed(args->op);
    return nb_last_status();
}

static int64_t cuda_select(nbi_index_op op, nbi_select_args *args)
{
    int64_t count = nbi_cuda_select(op, args);
    if (count == NBI_CUDA_SELECT_OOM)
        nbi_fail(NB_ERR_OOM, "out of cuda:%d memory for the selection's counts", args->walk.device);
    else if (count < 0)
        nbi_fail(NB_ERR_DEVICE, "cuda:%d failed while counting the selected elements", args->walk.device);
    return count;
}

static nb_status cuda_conv_forward(nb_dtype dtype, const nbi_conv_shape *shape, const void *x, const void *w,
                                   const void *bias, void *y)
{
    return cuda_status(nbi_cuda_conv_forward(dtype, shape, x, w, bias, y), shape->device, "the column buffers");
}

static nb_status cuda_conv_input_grad(nb_dtype dtype, const nbi_conv_shape *shape, const void *y, const void *w,
                                      const void *bias, void *x)
{
    return cuda_status(nbi_cuda_conv_input_grad(dtype, shape, y, w, bias, x), shape->device, "the column buffers");
}

static nb_status cuda_conv_weight_grad(nb_dtype dtype, const nbi_conv_shape *shape, const void *x, const void *y,
                                       void *w)
{
    return cuda_status(nbi_cuda_conv_weight_grad(dtype, shape, x, y, w), shape->device, "the column buffers");
}

static nb_status cuda_max_pool2d(nb_dtype dtype, const nbi_max_pool_shape *shape, const void *x, void *y,
                                 int64_t *indices)
{
    return cuda_status(nbi_cuda_max_pool2d(dtype, shape, x, y, indices), shape->device, "max pooling");
}

static nb_status cuda_window_mean(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *x, void *y)
{
    return cuda_status(nbi_cuda_window_mean(dtype, shape, x, y), shape->device, "average pooling");
}

static nb_status cuda_window_mean_adjoint(nb_dtype dtype, const nbi_mean_pool_shape *shape, const void *y, void *x)
{
    return cuda_status(nbi_cuda_window_mean_adjoint(dtype, shape, y, x), shape->device, "average pooling");
}

static bool cuda_supports(nbi_family family, int op, nb_dtype dtype)
{
    /* Every op on another dtype fails with NB_ERR_UNSUPPORTED here. */
    if (!nbi_cuda_has_dtype(dtype)) return false;
    if (family == NBI_FAMILY_CAST && !nbi_cuda_has_dtype((nb_dtype)op)) return false;
    switch (family) {
    case NBI_FAMILY_UNARY: return nbi_cuda_unary_supported(op, dtype);
    case NBI_FAMILY_BINARY: return nbi_cuda_binary_supported(op, dtype);
    case NBI_FAMILY_WHERE:
    case NBI_FAMILY_RELU_BACKWARD: return dtype == NB_FLOAT32 || dtype == NB_FLOAT64 || family == NBI_FAMILY_WHERE;
    case NBI_FAMILY_CAST: return (unsigned)op < NB_NUM_DTYPES;
    case NBI_FAMILY_FILL: return op == 0;
    case NBI_FAMILY_RANGE: return (unsigned)op < NBI_NUM_RANGES && dtype != NB_BOOL;
    case NBI_FAMILY_RANDOM:
        return (unsigned)op < NBI_NUM_RANDOMS && (op == NBI_RANDOM_INTEGER || nb_dtype_is_floating(dtype));
    case NBI_FAMILY_MATMUL: return op == NBI_MATMUL_PRODUCT && dtype != NB_BOOL; /* halves widened by the op */
    case NBI_FAMILY_INDEX: return nbi_cuda_index_supported(op, dtype);
    case NBI_FAMILY_SORT: return op == 0;
    case NBI_FAMILY_REDUCE: return nbi_cuda_reduce_supported(op, dtype);
    case NBI_FAMILY_LINE: return nbi_cuda_line_supported(op, dtype);
    case NBI_FAMILY_CROSS_ENTROPY: return op == 0 && nb_dtype_is_floating(dtype);
    case NBI_FAMILY_OPTIM_STEP: return (unsigned)op < NBI_NUM_STEP_RULES && nb_dtype_is_floating(dtype);
    case NBI_FAMILY_CONV: return (unsigned)op < NBI_NUM_CONV_OPS && (dtype == NB_FLOAT32 || dtype == NB_FLOAT64);
    case NBI_FAMILY_POOL: return (unsigned)op < NBI_NUM_POOL_OPS && (dtype == NB_FLOAT32 || dtype == NB_FLOAT64);
    case NBI_FAMILY_BATCH_NORM: return op == 0 && (dtype == NB_FLOAT32 || dtype == NB_FLOAT64);
    /* Families without CUDA kernels yet: no (NB_ERR_UNSUPPORTED). */
    default: return false;
    }
}

const nbi_backend nbi_cuda_backend = {
    .name          = "cuda",
    .alloc         = cuda_alloc,
    .release       = cuda_release,
    .copy          = cuda_copy,
    .synchronize   = cuda_synchronize,
    .supports      = cuda_supports,
    .unary         = nbi_cuda_unary,
    .binary        = nbi_cuda_binary,
    .where         = nbi_cuda_where,
    .relu_backward = nbi_cuda_relu_backward,
    .cast          = nbi_cuda_cast,
    .fill          = nbi_cuda_fill,
    .range         = nbi_cuda_range,
    .random        = nbi_cuda_random,
    .index_check   = nbi_cuda_index_check,
    .index_min_max = nbi_cuda_index_min_max,
    .gather        = nbi_cuda_gather,
    .scatter       = nbi_cuda_scatter,
    .masked_fill   = nbi_cuda_masked_fill,
    .one_hot       = nbi_cuda_one_hot,
    .select        = cuda_select,
    .sort          = cuda_sort,
    .matmul        = cuda_matmul,
    .reduce        = nbi_cuda_reduce,
    .line          = nbi_cuda_line,
    .conv_forward        = cuda_conv_forward,
    .conv_input_grad     = cuda_conv_input_grad,
    .conv_weight_grad    = cuda_conv_weight_grad,
    .max_pool2d          = cuda_max_pool2d,
    .max_unpool          = nbi_cuda_max_unpool,
    .window_mean         = cuda_window_mean,
    .window_mean_adjoint = cuda_window_mean_adjoint,
    .bn_stats            = nbi_cuda_bn_stats,
    .bn_affine           = nbi_cuda_bn_affine,
    .bn_grad_sums        = nbi_cuda_bn_grad_sums,
    .bn_grad_input       = nbi_cuda_bn_grad_input,
    .cross_entropy_forward  = cuda_cross_entropy_forward,
    .cross_entropy_backward = nbi_cuda_cross_entropy_backward,
    .sgd_step      = nbi_cuda_sgd_step,
    .adam_step     = nbi_cuda_adam_step,
    .rmsprop_step  = nbi_cuda_rmsprop_step,
};
