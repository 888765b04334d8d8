/*
 * bench_dist.c — data-parallel training and gradient all-reduce over MPI
 * (issue 15). Run it under mpirun with 1 and then 2 processes (bench/dist.sh
 * does both and prints the ratios):
 *
 *   mpirun -np 2 build/bench/bench_dist [--reps N] [--steps K]
 *
 * Every process uses one thread. Rank 0 prints one line per case:
 *
 *   case processes best median unit
 *
 * Cases (min and median over the reps; each rep starts after a barrier):
 *   mlp_b64_samples_per_s  Linear(784, 256) ReLU Linear(256, 10), SGD lr
 *                          0.01, batch 64 per process, random data: K steps
 *                          of zero_grad, forward, cross_entropy, backward,
 *                          nb_ddp_sync_grads, step; samples of all processes
 *                          per second
 *   mlp_b64_comm_ms        the time per step nb_ddp_sync_grads took (the
 *                          communication backward did not hide)
 *   mlp_b64_no_overlap_*   the same with NB_DDP_OPTS(.no_overlap = true):
 *                          every bucket reduced in nb_ddp_sync_grads
 *   cnn_b64_samples_per_s, cnn_b64_comm_ms (and _no_overlap)  the same for Conv2d(1, 8, 3,
 *                          padding 1) ReLU MaxPool2d(2) Flatten Linear(1568,
 *                          10) on (64, 1, 28, 28)
 *   allreduce_10MB_nabla_GBps  nb_dist_all_reduce (sum) of 2.5M float32
 *                          (its cross-rank agreement check included): bytes
 *                          / time, as OSU's osu_allreduce reports
 *   allreduce_10MB_mpi_GBps    MPI_Allreduce (MPI_IN_PLACE, sum) of the same
 *                          buffer (the tensor's memory)
 *   allreduce_10MB_ratio       nabla's median time / MPI's median time
 *                          inverted: nabla's bandwidth as a share of MPI's
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_common.h"

#ifdef NB_HAVE_MPI
#include <mpi.h>
#endif

static int rank, world;

static double median_of(double *v, int n) { return bench_sorted_median(v, n); }

static void report(const char *name, double *values, int n, const char *unit, bool higher_is_better)
{
    double median = median_of(values, n);
    double best   = higher_is_better ? values[n - 1] : values[0];
    if (rank == 0) printf("%-28s %d %12.3f %12.3f %s\n", name, world, best, median, unit);
}

static nb_module *make_model(bool cnn)
{
    nb_manual_seed(1);
    if (!cnn) {
        nb_module *layers[] = { nb_linear_new(784, 256, true), nb_relu_new(), nb_linear_new(256, 10, true) };
        return nb_sequential_new(layers, 3);
    }
    nb_module *layers[] = { nb_conv2d_new(1, 8, 3, 3, NB_CONV_OPTS(.padding = { 1, 1 }), true), nb_relu_new(),
                            nb_max_pool2d_new(NB_POOL_OPTS(.kernel = { 2, 2 })), nb_flatten_new(1, -1),
                            nb_linear_new(1568, 10, true) };
    return nb_sequential_new(layers, 5);
}

static bool bench_training(bool cnn, bool overlap, int reps, int steps)
{
    const int64_t batch = 64;
    nb_module    *model = make_model(cnn);
    nb_ddp       *ddp   = model ? nb_ddp_new(model, NB_DDP_OPTS(.no_overlap = !overlap)) : NULL;
    nb_optim     *opt   = ddp ? nb_sgd_for(model, nb_sgd_defaults(0.01)) : NULL;
    nb_manual_seed(100 + (uint64_t)rank);
    nb_tensor *x = cnn ? nb_randn(NB_SHAPE(batch, 1, 28, 28), NB_OPTS()) : nb_randn(NB_SHAPE(batch, 784), NB_OPTS());
    nb_tensor *y = nb_randint(0, 10, NB_SHAPE(batch), NB_OPTS(.dtype = NB_INT64));
    if (opt == NULL || x == NULL || y == NULL) {
        fprintf(stderr, "bench_dist: setup: %s\n", nb_last_error());
        return false;
    }
    double samples_per_s[BENCH_MAX_REPS], comm_ms[BENCH_MAX_REPS];
    bool   ok = true;
    for (int r = -1; r < reps && ok; r++) { /* rep -1 warms up */
        nb_dist_barrier();
        double comm0 = nb_ddp_comm_seconds(ddp), start = bench_now_us();
        for (int s = 0; s < steps && ok; s++) {
            nb_scope_begin();
            nb_optim_zero_grad(opt);
            nb_tensor *loss = nb_cross_entropy(nb_module_forward(model, x), y, NB_CROSS_ENTROPY_OPTS());
            ok = loss && nb_backward(loss) == NB_OK && nb_ddp_sync_grads(ddp) == NB_OK && nb_optim_step(opt) == NB_OK;
            nb_scope_end();
        }
        double elapsed_us = bench_now_us() - start;
        /* The slowest rank sets the pace: take the max over ranks. */
        nb_tensor *t = nb_scalar(elapsed_us, NB_OPTS(.dtype = NB_FLOAT64));
        nb_dist_all_reduce(t, NB_REDUCE_MAX);
        elapsed_us = nb_item(t);
        nb_free(t);
        if (r >= 0) {
            samples_per_s[r] = (double)(batch * world * steps) / (elapsed_us * 1e-6);
            comm_ms[r]       = 1e3 * (nb_ddp_comm_seconds(ddp) - comm0) / steps;
        }
    }
    if (!ok) fprintf(stderr, "bench_dist: step failed: %s\n", nb_last_error());
    if (ok) {
        char name[64];
        snprintf(name, sizeof name, "%s_b64%s_samples_per_s", cnn ? "cnn" : "mlp", overlap ? "" : "_no_overlap");
        report(name, samples_per_s, reps, "samples/s", true);
        snprintf(name, sizeof name, "%s_b64%s_comm_ms", cnn ? "cnn" : "mlp", overlap ? "" : "_no_overlap");
        report(name, comm_ms, reps, "ms/step", false);
    }
    nb_free(x);
    nb_free(y);
    nb_optim_free(opt);
    nb_ddp_free(ddp);
    nb_module_free(model);
    return ok;
}

#ifdef NB_HAVE_MPI
static bool bench_allreduce(int reps)
{
    const int64_t n     = 10 * 1000 * 1000 / 4; /* 10 MB of float32 */
    const double  bytes = (double)n * 4;
    nb_tensor    *t     = nb_ones(NB_SHAPE(n), NB_OPTS());
    /* NOTE: MPI reduces the tensor's own memory: nabla's allocator gives
     * large blocks huge pages, which alone made the transfer ~2x faster
     * than into a malloc'd buffer on the development machine. */
    float *raw = t ? nb_data(t) : NULL;
    if (raw == NULL) return false;
    double ours[BENCH_MAX_REPS], theirs[BENCH_MAX_REPS], ratio[BENCH_MAX_REPS];
    bool   ok = true;
    /* Interleaved, in alternating order, so that a noisy moment hits both;
     * the buffers are reset to 1 each time (sums that grow are not what
     * a gradient all-reduce sees). */
    for (int r = -1; r < reps && ok; r++) {
        double times[2] = { 0, 0 };
        for (int k = 0; k < 2 && ok; k++) {
            bool nabla = (k + r) % 2 == 0;
            nb_fill_(t, 1.0);
            MPI_Barrier(MPI_COMM_WORLD);
            double start = bench_now_us();
            ok = nabla ? nb_dist_all_reduce(t, NB_REDUCE_SUM) == NB_OK
                       : MPI_Allreduce(MPI_IN_PLACE, raw, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) == MPI_SUCCESS;
            times[nabla ? 0 : 1] = bench_now_us() - start;
        }
        MPI_Allreduce(MPI_IN_PLACE, times, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (r >= 0) {
            ours[r]   = bytes / (times[0] * 1e3); /* GB/s */
            theirs[r] = bytes / (times[1] * 1e3);
            ratio[r]  = times[1] / times[0];
        }
    }
    if (ok) {
        report("allreduce_10MB_nabla_GBps", ours, reps, "GB/s", true);
        report("allreduce_10MB_mpi_GBps", theirs, reps, "GB/s", true);
        report("allreduce_10MB_ratio", ratio, reps, "x (nabla / MPI bandwidth)", true);
    } else {
        fprintf(stderr, "bench_dist: all-reduce failed: %s\n", nb_last_error());
    }
    nb_free(t);
    return ok;
}
#endif

int main(int argc, char **argv)
{
    int reps = 7, steps = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--reps") == 0) reps = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--steps") == 0) steps = atoi(argv[i + 1]);
    }
    if (reps < 1 || reps > BENCH_MAX_REPS || steps < 1) {
        fprintf(stderr, "usage: %s [--reps 1..%d] [--steps K]\n", argv[0], BENCH_MAX_REPS);
        return 2;
    }
    if (nb_dist_init() != NB_OK) {
        printf("# bench_dist: %s (skipped)\n", nb_last_error());
        return 0;
    }
    rank  = nb_dist_rank();
    world = nb_dist_world_size();
    nb_set_num_threads(1);
    if (rank == 0) printf("# case processes best median unit (1 thread per process; %d reps of %d steps)\n", reps, steps);
    bool ok = bench_training(false, true, reps, steps) && bench_training(false, false, reps, steps) &&
              bench_training(true, true, reps, steps) && bench_training(true, false, reps, steps);
#ifdef NB_HAVE_MPI
    ok = ok && bench_allreduce(reps);
#endif
    nb_dist_finalize();
    return ok ? 0 : 1;
}
