/*
 * matmul.c — the CPU's matrix-product entry (core/matmul_args.h): a batch
 * of products, each one GEMM (gemm.c) for float32 and float64 or the
 * wrapping integer loop for the integer dtypes.
 *
 * Threads: a batch of small products (under ~2 x 64^3 multiply-adds each,
 * where GEMM itself has one or two blocks) is spread over the pool a whole
 * product at a time; big products run one after the other, each threaded
 * inside GEMM. Either way every product is computed by one GEMM call of
 * the same arguments, so results do not depend on the thread count.
 */
#include "gemm.h"

#include "../core/formulas.h"

#include <stdlib.h>

typedef struct {
    const float *from;
    uint16_t    *to;
} rounding;

static void round_range(int64_t begin, int64_t end, void *arg)
{
    const rounding *job = arg;
    for (int64_t i = begin; i < end; i++) job->to[i] = nbi_f32_to_bf16(job->from[i]);
}

/* One bfloat16 product C = op(A) op(B) (C m x n, row stride n), summed in
 * float32 and rounded once: by the AVX-512 BF16 kernel when it is big
 * enough to repay that kernel's packing, else by the float32 GEMM of the
 * widened operands. (The backend offers bfloat16 products only on CPUs
 * with the kernel; without it the op widens the tensors itself.) */
static nb_status bf16_product(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a,
                              int64_t lda, const uint16_t *b, int64_t ldb, uint16_t *c)
{
    int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k, b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
    bool    native = (double)m * (double)n * (double)k >= (double)(1 << 21);
    float  *wide_c = malloc((size_t)(m * n) * sizeof *wide_c + 1);
    float  *wide_a = native ? NULL : malloc((size_t)(a_rows * a_cols) * sizeof *wide_a + 1);
    float  *wide_b = native ? NULL : malloc((size_t)(b_rows * b_cols) * sizeof *wide_b + 1);
    nb_status status = NB_ERR_OOM;
    if (wide_c != NULL && (native || (wide_a != NULL && wide_b != NULL))) {
        if (native) {
            status = nbi_gemm_bf16(trans_a, trans_b, m, n, k, a, lda, b, ldb, wide_c, n);
        } else {
            for (int64_t r = 0; r < a_rows; r++)
                for (int64_t q = 0; q < a_cols; q++) wide_a[r * a_cols + q] = nbi_bf16_to_f32(a[r * lda + q]);
            for (int64_t r = 0; r < b_rows; r++)
                for (int64_t q = 0; q < b_cols; q++) wide_b[r * b_cols + q] = nbi_bf16_to_f32(b[r * ldb + q]);
            status = nbi_gemm_f32(trans_a, trans_b, m, n, k, 1.0f, wide_a, a_cols, wide_b, b_cols, 0.0f, wide_c, n);
        }
        if (status == NB_OK) {
            rounding job = {wide_c, c};
            nbi_parallel_for(m * n, NBI_PARALLEL_GRAIN, round_range, &job);
        }
    }
    free(wide_a);
    free(wide_b);
    free(wide_c);
    return status;
}

typedef struct {
    const nbi_matmul_args *args;
    atomic_int             failed; /* a GEMM ran out of memory */
} batch_job;

static void batch_range(int64_t begin, int64_t end, void *ctx)
{
    batch_job                *job  = ctx;
    const nbi_matmul_args    *args = job->args;
    const nbi_matmul_operand *x = &args->a, *y = &args->b;
    size_t                    itemsize = nb_dtype_size(args->dtype);
    for (int64_t index = begin; index < end; index++) {
        int64_t a_off = 0, b_off = 0, rest = index;
        for (int d = args->batch_ndim - 1; d >= 0; d--) {
            int64_t i = rest % args->batch_shape[d];
            rest /= args->batch_shape[d];
            a_off += i * x->batch_stride[d];
            b_off += i * y->batch_stride[d];
        }
        const char *a      = (const char *)x->data + a_off * (int64_t)itemsize;
        const char *b      = (const char *)y->data + b_off * (int64_t)itemsize;
        char       *c      = (char *)args->c + index * args->m * args->n * (int64_t)itemsize;
        nb_status   status = NB_OK;
        switch (args->dtype) {
        case NB_FLOAT32:
            status = nbi_gemm_f32(x->trans, y->trans, args->m, args->n, args->k, 1.0f, (const float *)a, x->ld,
                                  (const float *)b, y->ld, 0.0f, (float *)c, args->n);
            break;
        case NB_FLOAT64:
            status = nbi_gemm_f64(x->trans, y->trans, args->m, args->n, args->k, 1.0, (const double *)a, x->ld,
                                  (const double *)b, y->ld, 0.0, (double *)c, args->n);
            break;
        case NB_BFLOAT16:
            status = bf16_product(x->trans, y->trans, args->m, args->n, args->k, (const uint16_t *)a, x->ld,
                                  (const uint16_t *)b, y->ld, (uint16_t *)c);
            break;
        default:
            nbi_matmul_int(args->dtype, args->m, args->n, args->k, a, x->row_stride, x->col_stride, b, y->row_stride,
                           y->col_stride, c, args->n);
            break;
        }
        if (status != NB_OK) atomic_store(&job->failed, 1);
    }
}

nb_status nbi_cpu_matmul(const nbi_matmul_args *args)
{
    int64_t batch = 1;
    for (int d = 0; d < args->batch_ndim; d++)
        batch *= args->batch_shape[d];
    if (args->k == 0) { /* empty sums: zeros (all-zero bytes in every dtype) */
        memset(args->c, 0, (size_t)(batch * args->m * args->n) * nb_dtype_size(args->dtype));
        return NB_OK;
    }
    batch_job job = {.args = args};
    atomic_init(&job.failed, 0);
    double work = (double)args->m * (double)args->n * (double)args->k;
    if (work <= (double)(1 << 19) || !nb_dtype_is_floating(args->dtype)) {
        /* At least ~64k multiply-adds per thread: a few microseconds. */
        int64_t grain = (int64_t)((double)(1 << 16) / (work > 1 ? work : 1)) + 1;
        nbi_parallel_for(batch, grain, batch_range, &job);
    } else {
        batch_range(0, batch, &job);
    }
    if (atomic_load(&job.failed) == 0) return NB_OK;
    return nbi_fail_status(NB_ERR_OOM, "out of memory for GEMM's packing buffers");
}
