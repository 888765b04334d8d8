/*
 * bench_half.c — issue 13's narrow dtypes against float32: the same op on
 * the same shape in float32, float16, bfloat16 (and int8 / int16 where the
 * op takes integers), one line per (case, threads):
 *
 *   case threads min_us median_us
 *
 * with the case named OP_DTYPE_SIZE. The targets: float16 /
 * bfloat16 elementwise at >= 0.8x float32's elements per second; matmul
 * 1024^3 in bfloat16 (here: a float32 GEMM of widened operands, rounded
 * back) beside float32's.
 *
 * Usage: bench_half [--threads N] [--filter SUBSTRING] [--reps N]
 */
#define _POSIX_C_SOURCE 199309L

#include "bench_common.h"

typedef enum { OP_ADD, OP_MUL, OP_EXP, OP_SUM, OP_MATMUL, OP_CAST } half_op;

typedef struct {
    half_op     op;
    const char *op_name;
    nb_dtype    dtype;
    int64_t     n; /* elements; matmul: the side */
    nb_tensor  *a, *b;
} half_case;

static double time_batch(void *ctx, int64_t calls)
{
    half_case *c     = ctx;
    double     start = bench_now_us();
    for (int64_t i = 0; i < calls; i++) {
        nb_tensor *out = NULL;
        switch (c->op) {
        case OP_ADD: out = nb_add(c->a, c->b); break;
        case OP_MUL: out = nb_mul(c->a, c->b); break;
        case OP_EXP: out = nb_exp(c->a); break;
        case OP_SUM: out = nb_sum(c->a); break;
        case OP_MATMUL: out = nb_matmul(c->a, c->b); break;
        case OP_CAST: out = nb_to_dtype(c->a, NB_FLOAT32); break;
        }
        if (out == NULL) return -1;
        nb_free(out);
    }
    return bench_now_us() - start;
}

static bool make_inputs(half_case *c)
{
    nb_shape shape = c->op == OP_MATMUL ? NB_SHAPE(c->n, c->n) : NB_SHAPE(c->n);
    nb_tensor *a = nb_randn(shape, NB_OPTS()), *b = nb_randn(shape, NB_OPTS());
    c->a = a ? nb_to_dtype(a, c->dtype) : NULL;
    c->b = b ? nb_to_dtype(b, c->dtype) : NULL;
    nb_free(a);
    nb_free(b);
    return c->a && c->b;
}

int main(int argc, char **argv)
{
    bench_options o;
    bench_options_init(&o);
    for (int i = 1; i < argc; i++)
        if (bench_parse_option(&o, argc, argv, &i) <= 0) {
            fprintf(stderr, "usage: %s [--threads N] [--filter S] [--reps N]\n", argv[0]);
            return 2;
        }
    static const struct {
        half_op     op;
        const char *name;
        int64_t     n;
        bool        integers;
    } ops[] = {
        {OP_ADD, "add", 1000000, true},  {OP_MUL, "mul", 1000000, true}, {OP_EXP, "exp", 1000000, false},
        {OP_SUM, "sum", 1000000, true},  {OP_CAST, "to_float32", 1000000, true},
        {OP_MATMUL, "matmul", 256, false}, {OP_MATMUL, "matmul", 1024, false},
    };
    static const nb_dtype dtypes[] = {NB_FLOAT32, NB_FLOAT16, NB_BFLOAT16, NB_INT16, NB_INT8};
    printf("# case threads min_us median_us (case: op_dtype_size)\n");
    int failures = 0;
    for (int t = 0; t < o.nthread_counts; t++) {
        if (!bench_set_threads(argv[0], o.thread_counts[t])) return 1;
        for (size_t k = 0; k < sizeof ops / sizeof *ops; k++)
            for (size_t d = 0; d < sizeof dtypes / sizeof *dtypes; d++) {
                if (!ops[k].integers && !nb_dtype_is_floating(dtypes[d])) continue;
                char name[96];
                snprintf(name, sizeof name, "%s_%s_%lld", ops[k].name, nb_dtype_name(dtypes[d]), (long long)ops[k].n);
                if (!bench_selected(&o, name)) continue;
                half_case c = {.op = ops[k].op, .op_name = ops[k].name, .dtype = dtypes[d], .n = ops[k].n};
                bool ok = make_inputs(&c) &&
                          bench_measure(name, o.thread_counts[t], o.reps ? o.reps : (ops[k].n >= 1024 ? 3 : 7),
                                        time_batch, &c, ops[k].op == OP_MATMUL && ops[k].n >= 1024 ? 1 : 0);
                if (!ok) {
                    bench_report_failure(argv[0], name);
                    failures++;
                }
                nb_free(c.a);
                nb_free(c.b);
            }
    }
    return failures ? 1 : 0;
}
