/*
 * test_dist.c — nabla/dist.h: collectives, data-parallel training, the
 * sharded loader, and failures across processes.
 *
 * Run under mpirun (CMakeLists.txt runs it with 2 and 3 processes, and
 * alone as a group of one); every rank runs the same checks and reports its
 * own failures. In a build without MPI it checks that each function says
 * NB_ERR_UNSUPPORTED and that the sampler still works.
 *
 *   test_dist              the checks below
 *   test_dist exit-early   the fault case: the last rank stalls before a
 *                          collective; the others must fail with NB_ERR_DIST
 *                          within the timeout (2 s) and print "fault
 *                          detected on rank R", then nb_dist_finalize ends
 *                          the job (an exit that mpirun turns into the end
 *                          of every process). CTest matches the line.
 *   test_dist crash        the same, but the last rank dies (_exit) without
 *                          finalising: mpirun ends the job, or the others
 *                          time out first; either way in bounded time.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "nb_test.h"

#ifdef NB_HAVE_MPI
#include "dist/dist_internal.h" /* nbi_ddp_buckets_started */
#endif

#include <time.h>
#include <unistd.h>

static int rank, world;

static double seconds_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

/* values[i] = i + rank, (2, 3) of dtype (bool: i == rank). */
static nb_tensor *rank_tensor(nb_dtype dtype, nb_shape shape)
{
    int64_t n = 1;
    for (int d = 0; d < shape.ndim; d++)
        n *= shape.dims[d];
    double *values = malloc((size_t)(n + 1) * sizeof *values);
    for (int64_t i = 0; i < n; i++)
        values[i] = dtype == NB_BOOL ? (double)(i == rank) : (double)(i + rank);
    nb_tensor *t = nbt_tensor(shape, dtype, values);
    free(values);
    return t;
}

static bool values_are(const nb_tensor *t, const double *expected, int64_t n, double tol)
{
    nb_tensor *d = nb_to_dtype(t, NB_FLOAT64);
    if (d == NULL || nb_numel(d) != n) return nb_free(d), false;
    double *got = malloc((size_t)(n + 1) * sizeof *got);
    nb_copy_to_buffer(d, got, (size_t)n * sizeof *got);
    bool ok = true;
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(got[i] - expected[i]) <= tol)) {
            fprintf(stderr, "rank %d: element %lld is %.9g, expected %.9g\n", rank, (long long)i, got[i],
                    expected[i]);
            ok = false;
            break;
        }
    free(got);
    nb_free(d);
    return ok;
}

/* ------------------------------------------------------------------------ */

static void test_collectives_every_dtype(void)
{
    const nb_dtype dtypes[] = { NB_FLOAT32, NB_FLOAT64, NB_INT64, NB_INT32, NB_UINT8, NB_BOOL,
                                NB_FLOAT16, NB_BFLOAT16, NB_INT16, NB_INT8 };
    double         expected[64];
    double         W = world, offset = world * (world - 1) / 2.0; /* sum of ranks */
    for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++) {
        nb_dtype dt   = dtypes[k];
        bool     is_b = dt == NB_BOOL;
        nb_scope_begin();
        nb_tensor *t = rank_tensor(dt, NB_SHAPE(2, 3));
        NBT_CHECK(nb_dist_all_reduce(t, NB_REDUCE_SUM) == NB_OK);
        for (int i = 0; i < 6; i++)
            expected[i] = is_b ? (i < world) : W * i + offset;
        NBT_CHECK(values_are(t, expected, 6, 0));

        t = rank_tensor(dt, NB_SHAPE(2, 3));
        NBT_CHECK(nb_dist_all_reduce(t, NB_REDUCE_MAX) == NB_OK);
        for (int i = 0; i < 6; i++)
            expected[i] = is_b ? (i < world) : i + W - 1;
        NBT_CHECK(values_are(t, expected, 6, 0));

        t = rank_tensor(dt, NB_SHAPE(2, 3));
        NBT_CHECK(nb_dist_all_reduce(t, NB_REDUCE_MIN) == NB_OK);
        for (int i = 0; i < 6; i++)
            expected[i] = is_b ? (world == 1 && i == 0) : i;
        NBT_CHECK(values_are(t, expected, 6, 0));

        t = rank_tensor(dt, NB_SHAPE(2, 3));
        if (nb_dtype_is_floating(dt)) {
            NBT_CHECK(nb_dist_all_reduce(t, NB_REDUCE_MEAN) == NB_OK);
            for (int i = 0; i < 6; i++)
                expected[i] = (W * i + offset) / W;
            NBT_CHECK(values_are(t, expected, 6, 1e-6));
        } else {
            /* Refused on every rank alike, and the group stays usable. */
            NBT_CHECK(nb_dist_all_reduce(t, NB_REDUCE_MEAN) != NB_OK);
            NBT_CHECK_ERROR(NB_ERR_DTYPE, "NB_REDUCE_MEAN needs a floating-point tensor");
        }

        t = rank_tensor(dt, NB_SHAPE(2, 3));
        NBT_CHECK(nb_dist_broadcast(t, world - 1) == NB_OK);
        for (int i = 0; i < 6; i++)
            expected[i] = is_b ? (i == world - 1) : i + W - 1;
        NBT_CHECK(values_are(t, expected, 6, 0));

        t              = rank_tensor(dt, NB_SHAPE(2, 3));
        nb_tensor *all = nb_dist_all_gather(t);
        NBT_CHECK(all != NULL && nb_ndim(all) == 3 && nb_size(all, 0) == world && nb_size(all, 2) == 3);
        for (int r = 0; r < world; r++)
            for (int i = 0; i < 6; i++)
                expected[r * 6 + i] = is_b ? (i == r) : i + r;
        if (all) NBT_CHECK(values_are(all, expected, 6 * world, 0));

        /* (W*2, 3): rank r gets rows 2r, 2r + 1 summed over the ranks. */
        t                 = rank_tensor(dt, NB_SHAPE(world * 2, 3));
        nb_tensor *shard  = nb_dist_reduce_scatter(t, NB_REDUCE_SUM);
        NBT_CHECK(shard != NULL && nb_ndim(shard) == 2 && nb_size(shard, 0) == 2);
        for (int i = 0; i < 6; i++) {
            int global  = rank * 6 + i;
            expected[i] = is_b ? (global < world) : W * global + offset;
        }
        if (shard) NBT_CHECK(values_are(shard, expected, 6, 0));
        if (dt == NB_FLOAT64) {
            t     = rank_tensor(dt, NB_SHAPE(world * 2, 3));
            shard = nb_dist_reduce_scatter(t, NB_REDUCE_MEAN);
            for (int i = 0; i < 6; i++)
                expected[i] = (W * (rank * 6 + i) + offset) / W;
            NBT_CHECK(shard && values_are(shard, expected, 6, 1e-12));
        }
        nb_scope_end();
    }
}

static void test_collectives_layouts(void)
{
    nb_scope_begin();
    double expected[64];
    /* A transposed view: reduced in its own layout, written back through it. */
    nb_tensor *base = rank_tensor(NB_FLOAT32, NB_SHAPE(2, 3));
    nb_tensor *view = nb_transpose(base, 0, 1);
    NBT_CHECK(!nb_is_contiguous(view));
    NBT_CHECK(nb_dist_all_reduce(view, NB_REDUCE_SUM) == NB_OK);
    for (int i = 0; i < 6; i++)
        expected[i] = world * i + world * (world - 1) / 2.0;
    NBT_CHECK(values_are(base, expected, 6, 0));
    /* A step-2 slice: only its elements change. */
    nb_tensor *row  = rank_tensor(NB_FLOAT64, NB_SHAPE(6));
    nb_tensor *step = nb_slice(row, 0, 0, 6, 2);
    NBT_CHECK(nb_dist_broadcast(step, 0) == NB_OK);
    for (int i = 0; i < 6; i++)
        expected[i] = i % 2 == 0 ? i : i + rank;
    NBT_CHECK(values_are(row, expected, 6, 0));
    /* 0-d and empty tensors. */
    nb_tensor *scalar = nb_scalar(rank + 1.0, NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_dist_all_reduce(scalar, NB_REDUCE_MAX) == NB_OK && nb_item(scalar) == world);
    nb_tensor *empty = nb_zeros(NB_SHAPE(0, 4), NB_OPTS());
    NBT_CHECK(nb_dist_all_reduce(empty, NB_REDUCE_SUM) == NB_OK);
    nb_tensor *gathered = nb_dist_all_gather(empty);
    NBT_CHECK(gathered && nb_ndim(gathered) == 3 && nb_size(gathered, 0) == world && nb_numel(gathered) == 0);
    nb_tensor *gathered0 = nb_dist_all_gather(scalar);
    NBT_CHECK(gathered0 && nb_ndim(gathered0) == 1 && nb_size(gathered0, 0) == world);
    /* A leaf that requires grad is written, as torch.distributed does. */
    nb_tensor *param = nb_ones(NB_SHAPE(3), NB_OPTS(.requires_grad = true));
    NBT_CHECK(nb_dist_all_reduce(param, NB_REDUCE_SUM) == NB_OK);
    NBT_CHECK(nb_item(nb_sum(param)) == 3.0 * world);
    NBT_CHECK(nb_dist_barrier() == NB_OK);
    /* A large buffer (4 MB). */
    nb_tensor *big = nb_full(NB_SHAPE(1 << 20), rank + 1.0, NB_OPTS());
    NBT_CHECK(nb_dist_all_reduce(big, NB_REDUCE_SUM) == NB_OK);
    NBT_CHECK(nb_item(nb_min(big)) == world * (world + 1) / 2.0 && nb_item(nb_max(big)) == world * (world + 1) / 2.0);
    nb_scope_end();
}

/* Every rank fails alike, and the group stays usable. */
static void test_mismatch_and_misuse(void)
{
    nb_scope_begin();
    /* Shapes that differ across ranks (with one rank the shapes agree). */
    nb_tensor *t = rank == 0 ? nb_ones(NB_SHAPE(2, 3), NB_OPTS()) : nb_ones(NB_SHAPE(3, 2), NB_OPTS());
    nb_status  s = nb_dist_all_reduce(t, NB_REDUCE_SUM);
    if (world > 1) {
        NBT_CHECK(s == NB_ERR_DIST);
        NBT_CHECK_ERROR(NB_ERR_DIST, "disagree on size 0");
    } else {
        NBT_CHECK(s == NB_OK);
    }
    /* Dtypes that differ. */
    t = nb_ones(NB_SHAPE(4), NB_OPTS(.dtype = rank == 0 ? NB_FLOAT32 : NB_FLOAT64));
    s = nb_dist_broadcast(t, 0);
    if (world > 1) NBT_CHECK_ERROR(NB_ERR_DIST, "disagree on the dtype");
    nb_clear_error();
    /* Numbers of elements that differ (all_gather would read past a buffer). */
    t              = nb_ones(NB_SHAPE(2 + rank), NB_OPTS());
    nb_tensor *all = nb_dist_all_gather(t);
    NBT_CHECK((all == NULL) == (world > 1));
    if (world > 1) NBT_CHECK_ERROR(NB_ERR_DIST, "disagree");
    /* Different reduce ops. */
    t = nb_ones(NB_SHAPE(2), NB_OPTS());
    s = nb_dist_all_reduce(t, rank == 0 ? NB_REDUCE_SUM : NB_REDUCE_MAX);
    if (world > 1) NBT_CHECK_ERROR(NB_ERR_DIST, "reduce op or root");
    nb_clear_error();
    /* One rank passes NULL: it reports its own cause, the others the
     * disagreement; nobody waits. */
    t = nb_ones(NB_SHAPE(2), NB_OPTS());
    s = nb_dist_all_reduce(rank == 0 ? NULL : t, NB_REDUCE_SUM);
    NBT_CHECK(s != NB_OK);
    if (rank == 0) NBT_CHECK_ERROR(NB_ERR_ARG, "argument 't' is NULL");
    else NBT_CHECK_ERROR(NB_ERR_DIST, "arguments are valid");
    /* Bad arguments alike on every rank. */
    NBT_CHECK(nb_dist_broadcast(t, world) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "root");
    NBT_CHECK(nb_dist_all_reduce(t, (nb_reduce_op)42) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "unknown reduce op");
    NBT_CHECK(nb_dist_reduce_scatter(nb_ones(NB_SHAPE(world + 1), NB_OPTS()), NB_REDUCE_SUM) == NULL || world == 1);
    if (world > 1) NBT_CHECK_ERROR(NB_ERR_SHAPE, "multiple of the world size");
    NBT_CHECK(nb_dist_reduce_scatter(nb_scalar(1, NB_OPTS()), NB_REDUCE_SUM) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "multiple of the world size");
    nb_tensor *expanded = nb_expand(nb_ones(NB_SHAPE(1), NB_OPTS()), NB_SHAPE(4));
    NBT_CHECK(nb_dist_all_reduce(expanded, NB_REDUCE_SUM) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "expanded");
    NBT_CHECK(nb_dist_init() == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "already initialised");
    NBT_CHECK(nb_dist_set_timeout(-1) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "seconds");
    NBT_CHECK(nb_dist_set_timeout(NAN) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "seconds");
    NBT_CHECK(nb_ddp_new(NULL, NB_DDP_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "'module' is NULL");
    NBT_CHECK(nb_ddp_sync_grads(NULL) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "'ddp' is NULL");
    /* After all that, the group still works. */
    t = nb_ones(NB_SHAPE(3), NB_OPTS());
    NBT_CHECK(nb_dist_all_reduce(t, NB_REDUCE_SUM) == NB_OK && nb_item(nb_sum(t)) == 3.0 * world);
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */
/* Data parallel: N ranks with batch B take the steps of one process with
 * batch N*B.                                                              */
/* ------------------------------------------------------------------------ */

enum { FEATURES = 8, HIDDEN = 16, OUTPUTS = 4, PER_RANK_BATCH = 4, STEPS = 6 };

static nb_module *make_mlp(uint64_t seed)
{
    nb_manual_seed(seed);
    nb_module *layers[] = { nb_linear_new(FEATURES, HIDDEN, true), nb_tanh_new(), nb_linear_new(HIDDEN, HIDDEN, true),
                            nb_relu_new(), nb_linear_new(HIDDEN, OUTPUTS, true) };
    return nb_sequential_new(layers, 5);
}

/* One SGD step of model on (x, y); ddp may be NULL (the reference). */
static bool train_step(nb_module *model, nb_optim *opt, nb_ddp *ddp, nb_tensor *const *batch)
{
    nb_scope_begin();
    nb_tensor *loss = nb_mse_loss(nb_module_forward(model, batch[0]), batch[1], NB_REDUCTION_MEAN);
    bool       ok   = loss && nb_backward(loss) == NB_OK && (ddp == NULL || nb_ddp_sync_grads(ddp) == NB_OK) &&
              nb_optim_step(opt) == NB_OK;
    if (!ok) fprintf(stderr, "rank %d: step failed: %s\n", rank, nb_last_error());
    nb_optim_zero_grad(opt);
    nb_scope_end();
    return ok;
}

/* max |a - b| / (1 + |b|) over the parameters; and whether a's parameters
 * are bit-identical on every rank. */
static double compare_models(nb_module *a, nb_module *b, bool *same_on_all_ranks)
{
    nb_tensor *pa[16], *pb[16];
    int64_t    n = nb_module_parameters(a, pa, NULL, 16);
    nb_module_parameters(b, pb, NULL, 16);
    double worst = 0;
    *same_on_all_ranks = true;
    nb_scope_begin();
    for (int64_t i = 0; i < n; i++) {
        nb_tensor *rel = nb_div(nb_abs(nb_sub(pa[i], pb[i])), nb_add_scalar(nb_abs(pb[i]), 1.0));
        double     m   = nb_item(nb_max(rel));
        worst          = m > worst ? m : worst;
        nb_tensor *all = nb_dist_all_gather(nb_detach(pa[i]));
        for (int r = 1; all && r < world; r++) {
            bool eq = false;
            nb_allclose(nb_select(all, 0, 0), nb_select(all, 0, r), 0, 0, false, &eq);
            if (!eq) *same_on_all_ranks = false;
        }
    }
    nb_scope_end();
    return worst;
}

static void check_ddp_matches_one_process(nb_ddp_opts opts, const char *what)
{
    const int64_t samples = (int64_t)world * PER_RANK_BATCH * STEPS;
    nb_manual_seed(1234); /* the same data on every rank */
    nb_tensor *x = nb_randn(NB_SHAPE(samples, FEATURES), NB_OPTS());
    nb_tensor *y = nb_randn(NB_SHAPE(samples, OUTPUTS), NB_OPTS());
    nb_tensor *xy[2] = { x, y };

    /* The replica starts from another seed on ranks > 0: nb_ddp_new must
     * copy rank 0's weights. The reference is rank 0's model. */
    nb_module *replica   = make_mlp(7 + (uint64_t)rank);
    nb_module *reference = make_mlp(7);
    nb_ddp    *ddp       = nb_ddp_new(replica, opts);
    NBT_CHECK(ddp != NULL);
    nb_sgd_opts sgd     = nb_sgd_defaults(0.1);
    sgd.momentum        = 0.9;
    nb_optim *opt       = nb_sgd_for(replica, sgd);
    nb_optim *ref_opt   = nb_sgd_for(reference, sgd);
    nb_dataset *data    = nb_tensor_dataset_new(xy, 2);
    nb_loader  *shard   = nb_loader_new(data, PER_RANK_BATCH, true, false, 99);
    nb_loader  *whole   = nb_loader_new(data, (int64_t)PER_RANK_BATCH * world, true, false, 99);
    NBT_CHECK(nb_loader_shard(shard, rank, world, false) == NB_OK);
    NBT_CHECK(nb_loader_num_batches(shard) == STEPS && nb_loader_num_batches(whole) == STEPS);

    nb_tensor *mine[2], *full[2];
    int        steps = 0;
    while (ddp && nb_scope_begin() == NB_OK && nb_loader_next(shard, mine) && nb_loader_next(whole, full)) {
        bool ok = train_step(replica, opt, ddp, mine) && train_step(reference, ref_opt, NULL, full);
        nb_scope_end();
        NBT_CHECK(ok);
        if (!ok) break;
        steps++;
    }
    if (ddp) nb_scope_end(); /* the scope of the call that ended the epoch */
    NBT_CHECK(steps == STEPS);
    bool   same   = false;
    double worst  = compare_models(replica, reference, &same);
    double bound  = world == 1 ? 0.0 : 1e-6;
    NBT_CHECK(worst <= bound);
    NBT_CHECK(same);
    NBT_CHECK(ddp == NULL || nb_ddp_sync_count(ddp) == STEPS);
    NBT_CHECK(ddp == NULL || nb_ddp_comm_seconds(ddp) >= 0);
    if (rank == 0)
        printf("  ddp %s, %d ranks: %d SGD steps, max |w - w_ref| / (1 + |w_ref|) = %.3g (bound %.0e); replicas "
               "bit-identical: %s\n",
               what, world, steps, worst, bound, same ? "yes" : "no");
    nb_loader_free(shard);
    nb_loader_free(whole);
    nb_dataset_free(data);
    nb_optim_free(opt);
    nb_optim_free(ref_opt);
    nb_ddp_free(ddp);
    nb_module_free(replica);
    nb_module_free(reference);
    nb_free(x);
    nb_free(y);
}

static void test_ddp_equals_one_process(void)
{
    check_ddp_matches_one_process(NB_DDP_OPTS(), "with overlap (hooks), 1 MiB buckets");
    check_ddp_matches_one_process(NB_DDP_OPTS(.bucket_bytes = 300), "with overlap, ~300-byte buckets");
    check_ddp_matches_one_process(NB_DDP_OPTS(.no_overlap = true, .bucket_bytes = 1000), "without overlap");
}

/* With hooks, buckets start during backward: after backward, before the
 * sync, every bucket of the MLP (300-byte buckets: 3) has started;
 * without hooks none has. */
#ifdef NB_HAVE_MPI
static void test_ddp_overlaps_backward(void)
{
    for (int overlap = 0; overlap < 2; overlap++) {
        nb_module *model = make_mlp(5);
        nb_ddp    *ddp   = nb_ddp_new(model, NB_DDP_OPTS(.bucket_bytes = 300, .no_overlap = !overlap));
        nb_tensor *x     = nb_ones(NB_SHAPE(2, FEATURES), NB_OPTS());
        int        total = 0;
        nb_scope_begin();
        NBT_CHECK(nb_backward(nb_sum(nb_module_forward(model, x))) == NB_OK);
        int started = ddp ? nbi_ddp_buckets_started(ddp, &total) : -1;
        NBT_CHECK(total >= 3);
        NBT_CHECK(started == (overlap ? total : 0));
        NBT_CHECK(nb_ddp_sync_grads(ddp) == NB_OK);
        NBT_CHECK(nbi_ddp_buckets_started(ddp, &total) == 0);
        nb_scope_end();
        if (rank == 0 && overlap) printf("  %d of %d buckets started during backward\n", started, total);
        nb_ddp_free(ddp);
        nb_module_free(model);
        nb_free(x);
    }
}
#endif

/* With hooks, a gradient left over from an earlier backward is refused
 * (the average would drop it); without, gradients accumulate. */
static void test_ddp_misuse(void)
{
    nb_module *model = make_mlp(3);
    nb_ddp    *ddp   = nb_ddp_new(model, NB_DDP_OPTS());
    nb_tensor *x     = nb_ones(NB_SHAPE(2, FEATURES), NB_OPTS());
    nb_scope_begin();
    NBT_CHECK(nb_backward(nb_sum(nb_module_forward(model, x))) == NB_OK);
    NBT_CHECK(nb_backward(nb_sum(nb_module_forward(model, x))) != NB_OK);
    NBT_CHECK_ERROR(NB_ERR_STATE, "second gradient before nb_ddp_sync_grads");
    NBT_CHECK(nb_ddp_sync_grads(ddp) == NB_OK);
    NBT_CHECK(nb_backward(nb_sum(nb_module_forward(model, x))) != NB_OK);
    NBT_CHECK_ERROR(NB_ERR_STATE, "already had a gradient");
    NBT_CHECK(nb_ddp_sync_grads(ddp) == NB_OK);
    nb_scope_end();
    nb_ddp_free(ddp);
    NBT_CHECK(nb_ddp_sync_grads(ddp) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "freed");

    /* Accumulating two backward passes without hooks = one pass on twice x. */
    nb_module_zero_grad(model);
    ddp = nb_ddp_new(model, NB_DDP_OPTS(.no_overlap = true));
    nb_scope_begin();
    NBT_CHECK(nb_backward(nb_sum(nb_module_forward(model, x))) == NB_OK);
    NBT_CHECK(nb_backward(nb_sum(nb_module_forward(model, x))) == NB_OK);
    NBT_CHECK(nb_ddp_sync_grads(ddp) == NB_OK);
    nb_tensor *bias  = nb_module_tensor(model, "4.bias");
    nb_tensor *grad  = nb_grad(bias);
    /* sum over 2 rows, twice: d/d bias = 4 on every rank, averaged: 4. */
    NBT_CHECK(grad && nb_item(nb_min(grad)) == 4.0 && nb_item(nb_max(grad)) == 4.0);
    nb_scope_end();
    /* Modules that differ across ranks are refused on every rank. */
    nb_module *other = rank == 0 ? make_mlp(3) : nb_linear_new(FEATURES, OUTPUTS, true);
    nb_ddp    *bad   = nb_ddp_new(other, NB_DDP_OPTS());
    NBT_CHECK((bad == NULL) == (world > 1));
    if (world > 1) NBT_CHECK_ERROR(NB_ERR_DIST, "the number of parameters");
    nb_ddp_free(bad);
    nb_module_free(other);
    NBT_CHECK(nb_ddp_broadcast_buffers(ddp) == NB_OK);
    nb_ddp_free(ddp);
    nb_module_free(model);
    nb_free(x);
}

/* ------------------------------------------------------------------------ */
/* The sampler: needs no other process                                      */
/* ------------------------------------------------------------------------ */

static void test_sampler(void)
{
    nb_scope_begin();
    /* 10 samples over 3 ranks: padded to 12 (4 each, the first two
     * repeated), or cut to 9 (3 each) with drop_last, as torch. */
    const int64_t n = 10;
    int           seen[10] = { 0 }, seen_drop[10] = { 0 };
    for (int r = 0; r < 3; r++) {
        nb_tensor *idx  = nb_dist_sampler_indices(n, true, 5, 2, r, 3, false);
        nb_tensor *drop = nb_dist_sampler_indices(n, true, 5, 2, r, 3, true);
        NBT_CHECK(idx && nb_numel(idx) == 4 && drop && nb_numel(drop) == 3);
        int64_t v[4] = { 0 }, w[3] = { 0 };
        nb_copy_to_buffer(idx, v, sizeof v);
        nb_copy_to_buffer(drop, w, sizeof w);
        for (int i = 0; i < 4; i++)
            if (v[i] >= 0 && v[i] < n) seen[v[i]]++;
        for (int i = 0; i < 3; i++)
            if (w[i] >= 0 && w[i] < n) seen_drop[w[i]]++;
        /* The same as what a sharded loader hands out. */
        nb_tensor  *ids  = nb_arange(0, (double)n, 1, NB_OPTS(.dtype = NB_INT64));
        nb_dataset *d    = nb_tensor_dataset_new(&ids, 1);
        nb_loader  *l    = nb_loader_new(d, 100, true, false, 5);
        nb_loader_reset(l);
        nb_loader_reset(l); /* epoch 2 */
        NBT_CHECK(nb_loader_shard(l, r, 3, false) == NB_OK);
        nb_tensor *batch[1];
        NBT_CHECK(nb_loader_next(l, batch));
        bool eq = false;
        NBT_CHECK(nb_allclose(batch[0], idx, 0, 0, false, &eq) == NB_OK && eq);
        NBT_CHECK(nb_loader_shard(l, r, 3, false) == NB_ERR_STATE); /* mid-epoch */
        NBT_CHECK_ERROR(NB_ERR_STATE, "middle of an epoch");
        nb_loader_free(l);
        nb_dataset_free(d);
    }
    int total = 0, total_drop = 0, twice = 0;
    for (int i = 0; i < n; i++) {
        NBT_CHECK(seen[i] >= 1 && seen_drop[i] <= 1);
        total += seen[i];
        total_drop += seen_drop[i];
        twice += seen[i] == 2;
    }
    NBT_CHECK(total == 12 && twice == 2 && total_drop == 9);
    /* Unshuffled: rank 1 of 4 over 6 samples takes 1, 5 (pad: 0, 1 wrap). */
    nb_tensor *plain = nb_dist_sampler_indices(6, false, 0, 0, 1, 4, false);
    NBT_CHECK_TENSOR_IS(plain, NB_INT64, NB_SHAPE(2), (int64_t[]){ 1, 5 });
    nb_tensor *tiny = nb_dist_sampler_indices(2, false, 0, 0, 3, 4, false); /* n < W: wraps */
    NBT_CHECK_TENSOR_IS(tiny, NB_INT64, NB_SHAPE(1), (int64_t[]){ 1 });
    nb_tensor *none = nb_dist_sampler_indices(0, true, 0, 0, 0, 2, false);
    NBT_CHECK(none && nb_numel(none) == 0);
    NBT_CHECK(nb_dist_sampler_indices(-1, true, 0, 0, 0, 2, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "n must be");
    NBT_CHECK(nb_dist_sampler_indices(4, true, 0, 0, 2, 2, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "rank 2 is outside [0, 2)");
    NBT_CHECK(nb_dist_sampler_indices(4, true, 0, 0, 0, 0, false) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "world_size");
    nb_scope_end();
}

/* ------------------------------------------------------------------------ */

static void test_without_mpi(void)
{
    nb_tensor *t = nb_ones(NB_SHAPE(2), NB_OPTS());
    NBT_CHECK(nb_dist_all_reduce(t, NB_REDUCE_SUM) == NB_ERR_UNSUPPORTED);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "built without MPI");
    NBT_CHECK(nb_dist_broadcast(t, 0) == NB_ERR_UNSUPPORTED);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "built without MPI");
    NBT_CHECK(nb_dist_all_gather(t) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "built without MPI");
    NBT_CHECK(nb_dist_reduce_scatter(t, NB_REDUCE_SUM) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "built without MPI");
    NBT_CHECK(nb_dist_barrier() == NB_ERR_UNSUPPORTED);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "built without MPI");
    NBT_CHECK(nb_dist_rank() == -1 && nb_dist_world_size() == -1);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "built without MPI");
    NBT_CHECK(!nb_dist_is_initialized());
    nb_module *m = nb_linear_new(2, 2, true);
    NBT_CHECK(nb_ddp_new(m, NB_DDP_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "built without MPI");
    nb_module_free(m);
    nb_free(t);
}

/* The last rank does not come to the collective: it stalls (sleeps far
 * past the timeout; mpirun ends it when the others end the job), or, with
 * crash, dies without a word (_exit). NOTE: not a rank that calls
 * MPI_Finalize early: OpenMPI 4.1.4's mpirun itself then hung or crashed in
 * about one run of five once the others ended the job. */
static int fault_exit_early(bool crash)
{
    nb_dist_set_timeout(2.0);
    if (rank == world - 1 && crash) {
        printf("rank %d crashes before the collective\n", rank);
        fflush(stdout);
        _exit(3);
    }
    if (rank == world - 1) {
        printf("rank %d stalls before the collective\n", rank);
        fflush(stdout);
        struct timespec stall = { 120, 0 };
        nanosleep(&stall, NULL);
        return 1;
    }
    nb_tensor *t      = nb_ones(NB_SHAPE(4), NB_OPTS());
    double     start  = seconds_now();
    nb_status  status = nb_dist_all_reduce(t, NB_REDUCE_SUM);
    double     waited = seconds_now() - start;
    if (status == NB_ERR_DIST && strstr(nb_last_error(), "timed out") && waited < 30) {
        printf("fault detected on rank %d after %.1f s: %s\n", rank, waited, nb_last_error());
        /* A broken group refuses further collectives at once. */
        if (nb_dist_barrier() == NB_ERR_DIST && strstr(nb_last_error(), "broken"))
            printf("rank %d: later collectives fail at once\n", rank);
    } else {
        printf("rank %d: expected a timeout, got %s after %.1f s: %s\n", rank, nb_status_name(status), waited,
               nb_last_error());
    }
    fflush(stdout);
    nb_free(t);
    nb_dist_finalize(); /* aborts the job: the group is broken */
    return 1;
}

/* CUDA tensors go through NCCL, one GPU per rank (NCCL refuses two ranks on
 * one GPU); each result must equal the same collective on the CPU. Runs
 * where there are at least as many GPUs as ranks (scripts/gpu-check). */
/* dev (any device) holds exactly host's dtype, shape and values. */
static bool nbt_equal(const nb_tensor *dev, const nb_tensor *host)
{
    nb_tensor *back = nb_to(dev, NB_DEVICE_CPU);
    bool       same = false;
    if (back && nb_dtype_of(back) == nb_dtype_of(host) && nb_ndim(back) == nb_ndim(host)) {
        nb_status status = nb_allclose(back, host, 0.0, 0.0, false, &same);
        same             = status == NB_OK && same;
    }
    nb_free(back);
    return same;
}

/* NCCL takes one GPU per rank: false (and a line from rank 0) where there
 * are fewer, as on machines without CUDA. */
static bool gpu_per_rank(void)
{
    int gpus = nb_cuda_device_count();
    nb_clear_error();
    if (gpus >= world) return true;
    if (rank == 0) printf("  (skipped: %d CUDA device(s) for %d rank(s))\n", gpus, world);
    return false;
}

static void test_collectives_on_cuda(void)
{
    if (!gpu_per_rank()) return;
    nb_scope_begin(); /* the views and copies below go with it */
    nb_device gpu = NB_DEVICE_CUDA(rank);
    static const nb_dtype dtypes[] = { NB_FLOAT32, NB_FLOAT64, NB_FLOAT16, NB_BFLOAT16, NB_INT64,
                                       NB_INT32,   NB_INT8,    NB_UINT8,   NB_BOOL };
    for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++) {
        nb_dtype dt = dtypes[k];
        for (int reduce = NB_REDUCE_SUM; reduce <= NB_REDUCE_MIN; reduce++) {
            if (reduce == NB_REDUCE_MEAN && !nb_dtype_is_floating(dt)) continue;
            nb_tensor *host = rank_tensor(dt, NB_SHAPE(4, 3));
            nb_tensor *dev  = nb_to(host, gpu);
            NBT_CHECK(nb_dist_all_reduce(host, (nb_reduce_op)reduce) == NB_OK);
            NBT_CHECK(nb_dist_all_reduce(dev, (nb_reduce_op)reduce) == NB_OK);
            NBT_CHECK(nbt_equal(dev, host));
            nb_free(host);
            nb_free(dev);
        }
        nb_tensor *host = rank_tensor(dt, NB_SHAPE(2, 3)), *dev = nb_to(host, gpu);
        NBT_CHECK(nb_dist_broadcast(host, world - 1) == NB_OK && nb_dist_broadcast(dev, world - 1) == NB_OK);
        NBT_CHECK(nbt_equal(dev, host));
        nb_tensor *all_host = nb_dist_all_gather(host), *all_dev = nb_dist_all_gather(dev);
        NBT_CHECK(all_dev != NULL && nb_device_of(all_dev).type == NB_CUDA);
        NBT_CHECK(nbt_equal(all_dev, all_host));
        nb_tensor *wide = rank_tensor(dt, NB_SHAPE(world * 2, 3)), *wide_dev = nb_to(wide, gpu);
        nb_tensor *part_host = nb_dist_reduce_scatter(wide, NB_REDUCE_MAX);
        nb_tensor *part_dev  = nb_dist_reduce_scatter(wide_dev, NB_REDUCE_MAX);
        NBT_CHECK(part_dev != NULL && nbt_equal(part_dev, part_host));
        nb_free(host), nb_free(dev), nb_free(all_host), nb_free(all_dev);
        nb_free(wide), nb_free(wide_dev), nb_free(part_host), nb_free(part_dev);
    }
    /* A transposed view is reduced in place through a contiguous copy. */
    nb_tensor *base = nb_to(rank_tensor(NB_FLOAT32, NB_SHAPE(3, 4)), gpu);
    nb_tensor *view = nb_transpose(base, 0, 1);
    NBT_CHECK(nb_dist_all_reduce(view, NB_REDUCE_SUM) == NB_OK);
    nb_tensor *expected = rank_tensor(NB_FLOAT32, NB_SHAPE(3, 4));
    nb_dist_all_reduce(expected, NB_REDUCE_SUM);
    NBT_CHECK(nbt_equal(base, expected));
    /* int16 has no NCCL type: refused on every rank, the group still usable. */
    nb_tensor *shorts = nb_to(rank_tensor(NB_INT16, NB_SHAPE(2)), gpu);
    NBT_CHECK(nb_dist_all_reduce(shorts, NB_REDUCE_SUM) == NB_ERR_DTYPE);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "NCCL has no int16 type");
    /* One rank on the CPU, the others on CUDA: every rank fails. */
    if (world > 1) {
        nb_tensor *mixed = rank == 0 ? rank_tensor(NB_FLOAT32, NB_SHAPE(2)) : nb_to(rank_tensor(NB_FLOAT32, NB_SHAPE(2)), gpu);
        NBT_CHECK(nb_dist_all_reduce(mixed, NB_REDUCE_SUM) == NB_ERR_DIST);
        NBT_CHECK_ERROR(NB_ERR_DIST, "the device type");
        nb_free(mixed);
    }
    nb_clear_error();
    nb_tensor *after = nb_to(nb_ones(NB_SHAPE(2), NB_OPTS()), gpu);
    NBT_CHECK(nb_dist_all_reduce(after, NB_REDUCE_SUM) == NB_OK);
    NBT_CHECK(nb_item(nb_sum(nb_to(after, NB_DEVICE_CPU))) == 2.0 * world);
    nb_scope_end();
    nb_clear_error();
}

/* A module on CUDA: nb_ddp averages its gradients on the device (NCCL);
 * they must match the same step through the CPU wrapper (MPI). */
static void test_ddp_on_cuda(void)
{
    if (!gpu_per_rank()) return;
    nb_scope_begin();
    nb_module *model = make_mlp(7);
    nb_tensor *x     = nb_mul_scalar(nb_ones(NB_SHAPE(3, FEATURES), NB_OPTS()), 0.5 + rank);
    nb_tensor *grads[6] = { NULL };
    nb_tensor *params[6];
    int64_t    count = nb_module_parameters(model, params, NULL, 6);
    for (int device = 0; device < 2; device++) {
        if (device == 1) NBT_CHECK(nb_module_to(model, NB_DEVICE_CUDA(rank)) == NB_OK);
        nb_module_zero_grad(model);
        nb_ddp    *ddp  = nb_ddp_new(model, NB_DDP_OPTS(.bucket_bytes = 400));
        nb_tensor *in   = device ? nb_to(x, NB_DEVICE_CUDA(rank)) : x;
        nb_tensor *loss = nb_sum(nb_module_forward(model, in));
        NBT_CHECK(ddp != NULL && nb_backward(loss) == NB_OK && nb_ddp_sync_grads(ddp) == NB_OK);
        nb_module_parameters(model, params, NULL, count);
        for (int64_t i = 0; i < count; i++) {
            nb_tensor *g = nb_to(nb_grad(params[i]), NB_DEVICE_CPU);
            if (device == 0) {
                grads[i] = g;
            } else {
                bool close = false;
                NBT_CHECK(g && nb_allclose(g, grads[i], 1e-5, 1e-6, false, &close) == NB_OK && close);
            }
        }
        nb_ddp_free(ddp);
    }
    nb_scope_end();
    nb_module_free(model);
    nb_clear_error();
}

int main(int argc, char **argv)
{
    nb_status init = nb_dist_init();
    if (init == NB_ERR_UNSUPPORTED) {
        printf("nabla was built without MPI: checking the NB_ERR_UNSUPPORTED answers and the sampler\n");
        nb_clear_error();
        NBT_RUN(test_without_mpi);
        NBT_RUN(test_sampler);
        return nbt_finish();
    }
    if (init != NB_OK) {
        fprintf(stderr, "nb_dist_init: %s\n", nb_last_error());
        return 1;
    }
    rank  = nb_dist_rank();
    world = nb_dist_world_size();
    if (argc > 1 && strcmp(argv[1], "exit-early") == 0) return fault_exit_early(false);
    if (argc > 1 && strcmp(argv[1], "crash") == 0) return fault_exit_early(true);
    nb_dist_set_timeout(60.0); /* a bug that hangs fails the test in a minute */
    if (rank == 0) printf("%d processes\n", world);
    NBT_RUN(test_collectives_every_dtype);
    NBT_RUN(test_collectives_layouts);
    NBT_RUN(test_mismatch_and_misuse);
    NBT_RUN(test_collectives_on_cuda);
    NBT_RUN(test_ddp_equals_one_process);
#ifdef NB_HAVE_MPI
    NBT_RUN(test_ddp_overlaps_backward);
#endif
    NBT_RUN(test_ddp_misuse);
    NBT_RUN(test_ddp_on_cuda);
    NBT_RUN(test_sampler);
    /* Every rank's verdict: rank 0 fails if any rank failed. */
    nb_tensor *failures = nb_scalar(nbt_failures, NB_OPTS(.dtype = NB_INT64));
    nb_dist_all_reduce(failures, NB_REDUCE_SUM);
    int64_t total = nb_item_int64(failures);
    nb_free(failures);
    if (total > 0 && nbt_failures == 0) nbt_failures = 1;
    if (rank != 0 && nbt_failures == 0) printf("rank %d ok\n", rank);
    nb_dist_finalize();
    return nbt_finish();
}
