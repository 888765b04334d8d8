/*
 * bench_core.c — times nabla's core tensor ops on the CPU and prints one
 * machine-readable line per (case, thread count):
 *
 *   case threads min_us median_us
 *
 * Times are microseconds per single call of the op (a batch of calls is
 * timed with CLOCK_MONOTONIC and divided by the batch size, so tiny cases are
 * not lost in the clock's resolution). Lines starting with '#' are comments
 * (the build's GEMM backend and elementwise ISA). bench/compare.py prints the
 * same cases, by the same names, for PyTorch and NumPy, and
 * bench/bench_torch.cpp for libtorch; bench/compare.sh puts them side by side.
 *
 * The cases (all float32, inputs from nb_randn):
 *   matmul_MxKxN        nb_matmul of (M, K) by (K, N), result freed
 *   OP_SIZE             allocating: out = nb_OP(a[, b]); nb_free(out). With
 *                       nabla's block cache the free + next allocation reuse
 *                       memory, so this also measures that cache.
 *   OP_inplace_SIZE     nb_OP_(a[, b]): writes into a, nothing allocated
 *   sum_SIZE            out = nb_sum(a); nb_free(out)
 *   add_4x3[...]        per-op cost of a tiny allocating add (overheads only)
 *
 * Usage: bench_core [--threads N] [--filter SUBSTRING] [--reps N]
 *   --threads N   run at N threads only (default: 1 and then 2)
 *   --filter S    run only the cases whose name contains S
 *   --reps N      timed repetitions per case (default 7; 5 for matmul 2048)
 */
#define _POSIX_C_SOURCE 199309L

#include "bench_common.h"
#include "cpu/cpu.h" /* nbi_elementwise_isa: which kernel table runs */

typedef enum {
    CASE_MATMUL,          /* out = a @ b                                    */
    CASE_BINARY,          /* out = op(a, b), freed                          */
    CASE_BINARY_INPLACE,  /* op_(a, b)                                      */
    CASE_UNARY,           /* out = op(a), freed                             */
    CASE_UNARY_INPLACE,   /* op_(a)                                         */
    CASE_SUM,             /* out = nb_sum(a), freed                         */
    CASE_TINY_ADD,        /* nb_add + nb_free on 4x3, outside any scope     */
    CASE_TINY_ADD_SCOPED, /* the same inside an open scope                  */
    CASE_TINY_ADD_STEP,   /* scope_begin; nb_add; scope_end (scope frees)   */
} case_kind;

/* Issue 13's ops sample the new rows: a rounding op, two activations,
 * a libm-bound function and a binary op with an exact formula. */
typedef enum { OP_NONE, OP_ADD, OP_MUL, OP_EXP, OP_RELU, OP_FLOOR, OP_HARDSWISH, OP_LEAKY_RELU, OP_TAN, OP_FMOD } case_op;

typedef struct {
    const char *name;
    case_kind   kind;
    case_op     op;
    int64_t     m, k, n;     /* matmul (M, K) @ (K, N); elementwise: n elements */
    int         reps;        /* 0: the default (7, or --reps) */
    int64_t     fixed_batch; /* 0: calibrated */
} bench_case;

static const bench_case cases[] = {
    { "matmul_64x64x64", CASE_MATMUL, OP_NONE, 64, 64, 64, 0, 0 },
    { "matmul_256x256x256", CASE_MATMUL, OP_NONE, 256, 256, 256, 0, 0 },
    { "matmul_1024x1024x1024", CASE_MATMUL, OP_NONE, 1024, 1024, 1024, 0, 0 },
    { "matmul_2048x2048x2048", CASE_MATMUL, OP_NONE, 2048, 2048, 2048, 5, 1 },
    { "matmul_64x784x256", CASE_MATMUL, OP_NONE, 64, 784, 256, 0, 0 },

    { "add_1e3", CASE_BINARY, OP_ADD, 0, 0, 1000, 0, 0 },
    { "add_1e5", CASE_BINARY, OP_ADD, 0, 0, 100000, 0, 0 },
    { "add_1e7", CASE_BINARY, OP_ADD, 0, 0, 10000000, 0, 0 },
    { "mul_1e3", CASE_BINARY, OP_MUL, 0, 0, 1000, 0, 0 },
    { "mul_1e5", CASE_BINARY, OP_MUL, 0, 0, 100000, 0, 0 },
    { "mul_1e7", CASE_BINARY, OP_MUL, 0, 0, 10000000, 0, 0 },
    { "exp_1e3", CASE_UNARY, OP_EXP, 0, 0, 1000, 0, 0 },
    { "exp_1e5", CASE_UNARY, OP_EXP, 0, 0, 100000, 0, 0 },
    { "exp_1e7", CASE_UNARY, OP_EXP, 0, 0, 10000000, 0, 0 },
    { "relu_1e3", CASE_UNARY, OP_RELU, 0, 0, 1000, 0, 0 },
    { "relu_1e5", CASE_UNARY, OP_RELU, 0, 0, 100000, 0, 0 },
    { "relu_1e7", CASE_UNARY, OP_RELU, 0, 0, 10000000, 0, 0 },
    { "floor_1e5", CASE_UNARY, OP_FLOOR, 0, 0, 100000, 0, 0 },
    { "floor_1e7", CASE_UNARY, OP_FLOOR, 0, 0, 10000000, 0, 0 },
    { "hardswish_1e5", CASE_UNARY, OP_HARDSWISH, 0, 0, 100000, 0, 0 },
    { "hardswish_1e7", CASE_UNARY, OP_HARDSWISH, 0, 0, 10000000, 0, 0 },
    { "leaky_relu_1e5", CASE_UNARY, OP_LEAKY_RELU, 0, 0, 100000, 0, 0 },
    { "leaky_relu_1e7", CASE_UNARY, OP_LEAKY_RELU, 0, 0, 10000000, 0, 0 },
    { "tan_1e5", CASE_UNARY, OP_TAN, 0, 0, 100000, 0, 0 },
    { "tan_1e7", CASE_UNARY, OP_TAN, 0, 0, 10000000, 0, 0 },
    { "fmod_1e5", CASE_BINARY, OP_FMOD, 0, 0, 100000, 0, 0 },
    { "fmod_1e7", CASE_BINARY, OP_FMOD, 0, 0, 10000000, 0, 0 },

    { "add_inplace_1e3", CASE_BINARY_INPLACE, OP_ADD, 0, 0, 1000, 0, 0 },
    { "add_inplace_1e5", CASE_BINARY_INPLACE, OP_ADD, 0, 0, 100000, 0, 0 },
    { "add_inplace_1e7", CASE_BINARY_INPLACE, OP_ADD, 0, 0, 10000000, 0, 0 },
    { "mul_inplace_1e3", CASE_BINARY_INPLACE, OP_MUL, 0, 0, 1000, 0, 0 },
    { "mul_inplace_1e5", CASE_BINARY_INPLACE, OP_MUL, 0, 0, 100000, 0, 0 },
    { "mul_inplace_1e7", CASE_BINARY_INPLACE, OP_MUL, 0, 0, 10000000, 0, 0 },
    { "exp_inplace_1e3", CASE_UNARY_INPLACE, OP_EXP, 0, 0, 1000, 0, 0 },
    { "exp_inplace_1e5", CASE_UNARY_INPLACE, OP_EXP, 0, 0, 100000, 0, 0 },
    { "exp_inplace_1e7", CASE_UNARY_INPLACE, OP_EXP, 0, 0, 10000000, 0, 0 },
    { "relu_inplace_1e3", CASE_UNARY_INPLACE, OP_RELU, 0, 0, 1000, 0, 0 },
    { "relu_inplace_1e5", CASE_UNARY_INPLACE, OP_RELU, 0, 0, 100000, 0, 0 },
    { "relu_inplace_1e7", CASE_UNARY_INPLACE, OP_RELU, 0, 0, 10000000, 0, 0 },

    { "sum_1e3", CASE_SUM, OP_NONE, 0, 0, 1000, 0, 0 },
    { "sum_1e5", CASE_SUM, OP_NONE, 0, 0, 100000, 0, 0 },
    { "sum_1e7", CASE_SUM, OP_NONE, 0, 0, 10000000, 0, 0 },

    { "add_4x3", CASE_TINY_ADD, OP_ADD, 4, 0, 3, 0, 1000000 },
    { "add_4x3_scoped", CASE_TINY_ADD_SCOPED, OP_ADD, 4, 0, 3, 0, 1000000 },
    { "add_4x3_scope_step", CASE_TINY_ADD_STEP, OP_ADD, 4, 0, 3, 0, 1000000 },
};

/* The operands of one case, made before timing and freed after it. */
typedef struct {
    nb_tensor *a, *b;
} operands;

static bool make_operands(const bench_case *c, operands *ops)
{
    ops->a = ops->b = NULL;
    switch (c->kind) {
    case CASE_MATMUL:
        ops->a = nb_randn(NB_SHAPE(c->m, c->k), NB_OPTS());
        ops->b = nb_randn(NB_SHAPE(c->k, c->n), NB_OPTS());
        break;
    case CASE_TINY_ADD:
    case CASE_TINY_ADD_SCOPED:
    case CASE_TINY_ADD_STEP:
        ops->a = nb_randn(NB_SHAPE(c->m, c->n), NB_OPTS());
        ops->b = nb_randn(NB_SHAPE(c->m, c->n), NB_OPTS());
        break;
    case CASE_BINARY_INPLACE:
        ops->a = nb_randn(NB_SHAPE(c->n), NB_OPTS());
        /* NOTE: a *= randn, repeated, sinks a into subnormals, whose slow
         * arithmetic would time the CPU's microcode instead of the kernel; a
         * factor of 1 keeps a's values (the cost does not depend on them). */
        ops->b = c->op == OP_MUL ? nb_ones(NB_SHAPE(c->n), NB_OPTS()) : nb_randn(NB_SHAPE(c->n), NB_OPTS());
        break;
    case CASE_BINARY:
        ops->a = nb_randn(NB_SHAPE(c->n), NB_OPTS());
        ops->b = nb_randn(NB_SHAPE(c->n), NB_OPTS());
        break;
    case CASE_UNARY:
    case CASE_UNARY_INPLACE:
    case CASE_SUM:
        /* NOTE: exp_ repeated drives a to +inf within 5 calls; nabla's exp is
         * branch-free (src/cpu/vecmath.h), so that costs the same. */
        ops->a = nb_randn(NB_SHAPE(c->n), NB_OPTS());
        ops->b = nb_scalar(0.0, NB_OPTS()); /* unused; keeps the NULL check uniform */
        break;
    }
    return ops->a && ops->b;
}

static nb_tensor *allocating_op(case_op op, const operands *ops)
{
    switch (op) {
    case OP_ADD: return nb_add(ops->a, ops->b);
    case OP_MUL: return nb_mul(ops->a, ops->b);
    case OP_EXP: return nb_exp(ops->a);
    case OP_RELU: return nb_relu(ops->a);
    case OP_FLOOR: return nb_floor(ops->a);
    case OP_HARDSWISH: return nb_hardswish(ops->a);
    case OP_LEAKY_RELU: return nb_leaky_relu(ops->a, 0.01);
    case OP_TAN: return nb_tan(ops->a);
    case OP_FMOD: return nb_fmod(ops->a, ops->b);
    case OP_NONE: break;
    }
    return NULL;
}

static nb_tensor *inplace_op(case_op op, const operands *ops)
{
    switch (op) {
    case OP_ADD: return nb_add_(ops->a, ops->b);
    case OP_MUL: return nb_mul_(ops->a, ops->b);
    case OP_EXP: return nb_exp_(ops->a);
    case OP_RELU: return nb_relu_(ops->a);
    case OP_FLOOR: return nb_floor_(ops->a);
    case OP_HARDSWISH: return nb_hardswish_(ops->a);
    case OP_LEAKY_RELU: return nb_leaky_relu_(ops->a, 0.01);
    case OP_TAN: return nb_tan_(ops->a);
    case OP_FMOD: return nb_fmod_(ops->a, ops->b);
    case OP_NONE: break;
    }
    return NULL;
}

/* Call the case's op `calls` times. False (with nb_last_error set) if a
 * call failed. */
static bool run_batch(const bench_case *c, const operands *ops, int64_t calls)
{
    for (int64_t i = 0; i < calls; i++) {
        nb_tensor *out = NULL;
        switch (c->kind) {
        case CASE_MATMUL: out = nb_matmul(ops->a, ops->b); break;
        case CASE_BINARY:
        case CASE_UNARY:
        case CASE_TINY_ADD:
        case CASE_TINY_ADD_SCOPED: out = allocating_op(c->op, ops); break;
        case CASE_SUM: out = nb_sum(ops->a); break;
        case CASE_BINARY_INPLACE:
        case CASE_UNARY_INPLACE:
            if (!inplace_op(c->op, ops)) return false;
            continue; /* returns a itself: nothing to free */
        case CASE_TINY_ADD_STEP:
            if (nb_scope_begin() != NB_OK) return false;
            out = nb_add(ops->a, ops->b);
            if (nb_scope_end() != NB_OK || !out) return false;
            continue; /* the scope released out */
        }
        if (!out) return false;
        nb_free(out);
    }
    return true;
}

/* A case and its operands, for bench_measure. */
typedef struct {
    const bench_case *c;
    const operands   *ops;
} case_ctx;

/* Time one batch in microseconds, or a negative number if it failed. */
static double time_batch(void *ctx, int64_t calls)
{
    const case_ctx *x      = ctx;
    bool            scoped = x->c->kind == CASE_TINY_ADD_SCOPED;
    double          start  = bench_now_us();
    if (scoped && nb_scope_begin() != NB_OK) return -1.0;
    bool ok = run_batch(x->c, x->ops, calls);
    if (scoped && nb_scope_end() != NB_OK) ok = false;
    double elapsed = bench_now_us() - start;
    return ok ? elapsed : -1.0;
}

/* Run one case and print its line; false if the op failed. */
static bool run_case(const bench_case *c, int threads, int reps_override)
{
    int      reps = reps_override > 0 ? reps_override : (c->reps > 0 ? c->reps : BENCH_DEFAULT_REPS);
    operands ops;
    case_ctx ctx = { c, &ops };
    bool     ok  = make_operands(c, &ops) && bench_measure(c->name, threads, reps, time_batch, &ctx, c->fixed_batch);
    if (!ok) bench_report_failure("bench_core", c->name);
    nb_free(ops.a);
    nb_free(ops.b);
    return ok;
}

int main(int argc, char **argv)
{
    bench_options opt;
    if (!bench_parse_options(&opt, argc, argv)) return 2;

    nb_manual_seed(0);
    printf("# nabla bench_core: gemm=%s elementwise_isa=%s default_threads=%d\n", nb_gemm_backend(),
           nbi_elementwise_isa(), nb_get_num_threads());
    printf("# case threads min_us median_us\n");
    int failures = 0;
    for (int t = 0; t < opt.nthread_counts; t++) {
        if (!bench_set_threads("bench_core", opt.thread_counts[t])) {
            failures++;
            continue;
        }
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            if (!bench_selected(&opt, cases[i].name)) continue;
            if (!run_case(&cases[i], opt.thread_counts[t], opt.reps)) failures++;
        }
    }
    nb_empty_cache();
    return failures ? 1 : 0;
}
