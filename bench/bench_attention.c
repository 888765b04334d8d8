/*
 * bench_attention.c — scaled dot-product attention, forward and backward,
 * at issue 14's size: q, k, v (8, 4, 256, 32) float32 requiring grad,
 * causal. One iteration is, in one scope,
 *   out = attention(q, k, v, causal); nb_backward_with(out, r)
 * (the gradient of sum(out * r) for a fixed standard normal r), then the
 * three gradients are dropped. Cases:
 *   sdpa_fused_causal      nb_scaled_dot_product_attention (the fused
 *                          flash-attention kernels)
 *   sdpa_composite_causal  nb_scaled_dot_product_attention_composite (matmul,
 *                          masked_fill, softmax, matmul: what bench/
 *                          compare_attention.py times in PyTorch 1.13, which
 *                          has no public SDPA)
 * Lines as every bench (bench_common.h): case threads min_us median_us;
 * then per case a comment
 *   # memory case peak_extra_bytes score_matrices
 * the most bytes held from the host allocator during one iteration beyond
 * what the inputs hold before it (counted by an allocator hook, after
 * nb_empty_cache; the block cache counts as held), and that number over
 * the size of the scores of all heads (B * H * L * S floats, 8 MiB here):
 * below 1 means no full score matrix per head was ever stored. The fused
 * kernels' per-thread tile scratch (~45 KiB, malloc) is not in it.
 *
 * bench/compare_attention.py prints the same cases for PyTorch.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_common.h"

#include <stdatomic.h>

enum { B = 8, H = 4, L = 256, D = 32 };

static atomic_llong held, peak_held;

static void *counting_alloc(size_t bytes, void *user)
{
    (void)user;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
    long long now = atomic_fetch_add(&held, (long long)bytes) + (long long)bytes;
    long long old = atomic_load(&peak_held);
    while (now > old && !atomic_compare_exchange_weak(&peak_held, &old, now)) {
    }
    return p;
}

static void counting_release(void *ptr, size_t bytes, void *user)
{
    (void)user;
    atomic_fetch_sub(&held, (long long)bytes);
    free(ptr);
}

typedef struct {
    nb_tensor *q, *k, *v, *r;
    bool       fused;
} attention_case;

static bool iteration(attention_case *c)
{
    nb_scope_begin();
    nb_tensor *out = c->fused ? nb_scaled_dot_product_attention(c->q, c->k, c->v, NULL, 0, true, 0)
                              : nb_scaled_dot_product_attention_composite(c->q, c->k, c->v, NULL, 0, true, 0);
    bool ok = out && nb_backward_with(out, c->r, NB_GRAD_OPTS()) == NB_OK;
    nb_scope_end();
    nb_tensor *inputs[3] = { c->q, c->k, c->v };
    nb_zero_grad(inputs, 3);
    return ok;
}

static double time_batch(void *ctx, int64_t calls)
{
    double start = bench_now_us();
    for (int64_t i = 0; i < calls; i++)
        if (!iteration(ctx)) return -1;
    return bench_now_us() - start;
}

int main(int argc, char **argv)
{
    bench_options o;
    bench_options_init(&o);
    for (int i = 1; i < argc; i++)
        if (bench_parse_option(&o, argc, argv, &i) != 1) {
            fprintf(stderr, "usage: %s [--threads N] [--filter SUBSTRING] [--reps N]\n", argv[0]);
            return 2;
        }
    nb_set_allocator(counting_alloc, counting_release, NULL);
    nb_manual_seed(0);
    nb_shape       shape = NB_SHAPE(B, H, L, D);
    attention_case c     = { .q = nb_randn(shape, NB_OPTS(.requires_grad = true)),
                             .k = nb_randn(shape, NB_OPTS(.requires_grad = true)),
                             .v = nb_randn(shape, NB_OPTS(.requires_grad = true)),
                             .r = nb_randn(shape, NB_OPTS()) };
    printf("# sdpa: q, k, v (%d, %d, %d, %d) float32, causal, forward + backward\n", B, H, L, D);
    const char *names[2] = { "sdpa_fused_causal", "sdpa_composite_causal" };
    int         failures = 0;
    for (int fused = 1; fused >= 0; fused--) {
        const char *name = names[!fused];
        if (!bench_selected(&o, name)) continue;
        c.fused = fused;
        for (int t = 0; t < o.nthread_counts; t++) {
            if (!bench_set_threads(argv[0], o.thread_counts[t])) return 1;
            if (!bench_measure(name, o.thread_counts[t], o.reps ? o.reps : BENCH_DEFAULT_REPS, time_batch, &c, 0)) {
                bench_report_failure(argv[0], name);
                failures++;
            }
        }
        nb_empty_cache();
        long long before = atomic_load(&held);
        atomic_store(&peak_held, before);
        iteration(&c);
        long long extra = atomic_load(&peak_held) - before;
        printf("# memory %s %lld %.3f\n", name, extra, (double)extra / ((double)B * H * L * L * sizeof(float)));
    }
    return failures ? 1 : 0;
}
