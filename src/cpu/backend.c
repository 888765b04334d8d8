/*
 * backend.c — the CPU's table for the device seam (core/backend.h): host
 * memory from the block cache, and each kernel family run over the thread
 * pool with the loops of the best instruction set this CPU has.
 */
#include "../core/backend.h"
#include "cpu.h"
/* ---- creation, indexing, sorting, joining ---- */
#include "creation_kernels.h"
#include "index_kernels.h"
#include "sort_kernels.h"

/* ---- reductions and line ops (softmax, cumsum) ---- */
#include "reduce_kernels.h"

/* ---- matmul, convolution, pooling, normalisation ---- */
#include "gemm.h"
#include "im2col.h"
#include "lapack.h"
#include "norm_kernels.h"
#include "pool_kernels.h"

/* ---- optimizer steps and fused losses ---- */
#include "loss_kernels.h"
#include "optim_kernels.h"

/* ---- recurrent sequences ---- */
#include "rnn_kernels.h"
/* ---- fused attention ---- */
#include "attention_kernels.h"

static void *cpu_alloc(size_t bytes, int index)
{
    (void)index;
    return nbi_host_alloc(bytes);
}

static void cpu_release(void *ptr, size_t bytes, int index)
{
    (void)index;
    nbi_host_release(ptr, bytes);
}

static nb_status cpu_copy(void *dst, nb_device to, const void *src, nb_device from, size_t bytes)
{
    if (to.type != NB_CPU || from.type != NB_CPU)
        return nbi_fail_status(NB_ERR_DEVICE, "nabla: the CPU backend copies host memory only");
    if (bytes > 0) memmove(dst, src, bytes);
    return NB_OK;
}

static void cpu_synchronize(int index) { (void)index; }

static bool cpu_supports(nbi_family family, int op, nb_dtype dtype)
{
    if ((unsigned)dtype >= NB_NUM_DTYPES) return false;
    switch (family) {
    case NBI_FAMILY_UNARY: return (unsigned)op < NBI_NUM_UNARY && nbi_elementwise()->unary[op][dtype] != NULL;
    case NBI_FAMILY_BINARY: return (unsigned)op < NBI_NUM_BINARY && nbi_elementwise()->binary[op][dtype] != NULL;
    case NBI_FAMILY_WHERE: return nbi_elementwise()->where[dtype] != NULL;
    case NBI_FAMILY_RELU_BACKWARD: return nbi_elementwise()->relu_backward[dtype] != NULL;
    case NBI_FAMILY_CAST: return (unsigned)op < NB_NUM_DTYPES;
    /* ---- creation, indexing, sorting, joining ---- */
    case NBI_FAMILY_FILL: return op == 0;
    case NBI_FAMILY_RANGE: return (unsigned)op < NBI_NUM_RANGES && dtype != NB_BOOL;
    case NBI_FAMILY_RANDOM:
        return (unsigned)op < NBI_NUM_RANDOMS && (op == NBI_RANDOM_INTEGER || nb_dtype_is_floating(dtype));
    case NBI_FAMILY_INDEX: return (unsigned)op < NBI_NUM_INDEX_OPS && (op != NBI_INDEX_ONE_HOT || dtype == NB_INT64);
    case NBI_FAMILY_SORT: return op == 0;

    /* ---- reductions and line ops (softmax, cumsum) ---- */
    /* Every row of reduce.def, for each dtype its dtypes column lets
     * through the front door (ops/reduce.c checks that first). */
    case NBI_FAMILY_REDUCE: return (unsigned)op < NBI_NUM_REDUCE;
    case NBI_FAMILY_LINE: return (unsigned)op < NBI_NUM_LINE;

    /* ---- matmul, convolution, pooling, normalisation ---- */
    /* The op widens float16; bfloat16 has a kernel of its own on CPUs with
     * AVX-512 BF16 (gemm_bf16_avx512.c), else the op widens it too. */
    case NBI_FAMILY_MATMUL:
        if (op == NBI_MATMUL_HALF_NATIVE) return dtype == NB_BFLOAT16 && nbi_gemm_bf16_available();
        return op == NBI_MATMUL_PRODUCT && dtype != NB_BOOL;
    /* float32 and float64 kernels only: the ops widen float16 / bfloat16
     * (or refuse them) before they get here. */
    case NBI_FAMILY_CONV: return (unsigned)op < NBI_NUM_CONV_OPS && (dtype == NB_FLOAT32 || dtype == NB_FLOAT64);
    case NBI_FAMILY_POOL: return (unsigned)op < NBI_NUM_POOL_OPS && (dtype == NB_FLOAT32 || dtype == NB_FLOAT64);
    case NBI_FAMILY_BATCH_NORM: return op == 0 && (dtype == NB_FLOAT32 || dtype == NB_FLOAT64);
    case NBI_FAMILY_LAPACK:
        return NBI_CPU_HAS_LAPACK && (unsigned)op < NBI_NUM_LAPACK_OPS && (dtype == NB_FLOAT32 || dtype == NB_FLOAT64);

    /* ---- optimizer steps and fused losses ---- */
    case NBI_FAMILY_OPTIM_STEP:
        return (unsigned)op < NBI_NUM_STEP_RULES && (dtype == NB_FLOAT32 || dtype == NB_FLOAT64);
    case NBI_FAMILY_CROSS_ENTROPY: return dtype == NB_FLOAT32 || dtype == NB_FLOAT64;

    /* ---- recurrent sequences ---- */
    case NBI_FAMILY_RNN: return (unsigned)op < NBI_NUM_RNN_CELLS && (dtype == NB_FLOAT32 || dtype == NB_FLOAT64);
    /* ---- fused attention ---- */
    case NBI_FAMILY_ATTENTION: return op == 0 && (dtype == NB_FLOAT32 || dtype == NB_FLOAT64);

    default: return false;
    }
}

static void cpu_unary(const nbi_iter *it, nbi_unary_op op, nb_dtype dtype, const nbi_op_params *params)
{
    nbi_params p = { .a    = params ? params->a : 0,
                     .b    = params ? params->b : 0,
                     .c    = params ? params->c : 0,
                     .flag = params ? params->flag : 0 };
    nbi_iter_run(it, nbi_elementwise()->unary[op][dtype], &p);
}

static int cpu_binary(const nbi_iter *it, nbi_binary_op op, nb_dtype dtype)
{
    nbi_error_flag error = NBI_KERNEL_OK;
    nbi_params p     = { .error = &error };
    nbi_iter_run(it, nbi_elementwise()->binary[op][dtype], &p);
    return atomic_load(&error);
}

static void cpu_where(const nbi_iter *it, nb_dtype dtype) { nbi_iter_run(it, nbi_elementwise()->where[dtype], NULL); }

static void cpu_relu_backward(const nbi_iter *it, nb_dtype dtype)
{
    nbi_iter_run(it, nbi_elementwise()->relu_backward[dtype], NULL);
}

static void cpu_cast(const nbi_iter *it, nb_dtype from, nb_dtype to) { nbi_iter_run(it, nbi_cast_loop(from, to), NULL); }

const nbi_backend nbi_cpu_backend = {
    .name          = "cpu",
    .alloc         = cpu_alloc,
    .release       = cpu_release,
    .copy          = cpu_copy,
    .synchronize   = cpu_synchronize,
    .supports      = cpu_supports,
    .unary         = cpu_unary,
    .binary        = cpu_binary,
    .where         = cpu_where,
    .relu_backward = cpu_relu_backward,
    .cast          = cpu_cast,
    /* ---- creation, indexing, sorting, joining ---- */
    .fill          = nbi_cpu_fill,
    .range         = nbi_cpu_range,
    .random        = nbi_cpu_random,
    .index_check   = nbi_cpu_index_check,
    .index_min_max = nbi_cpu_index_min_max,
    .gather        = nbi_cpu_gather,
    .scatter       = nbi_cpu_scatter,
    .masked_fill   = nbi_cpu_masked_fill,
    .select        = nbi_cpu_select,
    .one_hot       = nbi_cpu_one_hot,
    .sort          = nbi_cpu_sort,

    /* ---- reductions and line ops (softmax, cumsum) ---- */
    .reduce = nbi_reduce,
    .line   = nbi_line_run,

    /* ---- matmul, convolution, pooling, normalisation ---- */
    .matmul              = nbi_cpu_matmul,
    .conv_forward        = nbi_conv_forward,
    .conv_input_grad     = nbi_conv_input_grad,
    .conv_weight_grad    = nbi_conv_weight_grad,
    .max_pool2d          = nbi_max_pool2d,
    .max_unpool          = nbi_max_unpool,
    .window_mean         = nbi_window_mean,
    .window_mean_adjoint = nbi_window_mean_adjoint,
    .bn_stats            = nbi_bn_stats,
    .bn_affine           = nbi_bn_affine,
    .bn_grad_sums        = nbi_bn_grad_sums,
    .bn_grad_input       = nbi_bn_grad_input,
#if NBI_CPU_HAS_LAPACK
    .lapack              = nbi_cpu_lapack, /* without LAPACK: NULL, and supports() says no */
#endif

    /* ---- optimizer steps and fused losses ---- */
    .sgd_step               = nbi_cpu_sgd_step,
    .adam_step              = nbi_cpu_adam_step,
    .rmsprop_step           = nbi_cpu_rmsprop_step,
    .cross_entropy_forward  = nbi_cpu_cross_entropy_forward,
    .cross_entropy_backward = nbi_cpu_cross_entropy_backward,

    /* ---- recurrent sequences ---- */
    .rnn_forward  = nbi_cpu_rnn_forward,
    .rnn_backward = nbi_cpu_rnn_backward,
    /* ---- fused attention ---- */
    .attention_forward  = nbi_cpu_attention_forward,
    .attention_backward = nbi_cpu_attention_backward,

};
