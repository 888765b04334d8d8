/*
 * nabla/dist.h — processes and collectives, data-parallel training and a
 * sharded data loader, as torch.distributed and DistributedDataParallel.
 * Included by nabla.h; its conventions hold here too.
 *
 * The transport is MPI (processes on one machine or many; start them with
 * mpirun). A build without MPI (NB_MPI=OFF, or no MPI found) keeps these
 * functions: each fails with NB_ERR_UNSUPPORTED ("nabla was built without
 * MPI"), except nb_loader_shard and nb_dist_sampler_indices, which need no
 * other process. CPU tensors go through MPI; CUDA tensors through NCCL
 * (builds with the CUDA backend; NCCL is opened at run time, one GPU per
 * process), else NB_ERR_UNSUPPORTED. A module on CUDA has its gradients
 * averaged on the device in nb_ddp_sync_grads (no overlap with backward).
 *
 *   nb_dist_init();                       // every process, once
 *   nb_ddp *ddp = nb_ddp_new(model, NB_DDP_OPTS());  // rank 0's weights everywhere
 *   nb_loader_shard(loader, nb_dist_rank(), nb_dist_world_size(), false);
 *   while (nb_loader_next(loader, batch)) {
 *       nb_module_zero_grad(model);
 *       ... loss = forward; nb_backward(loss);
 *       nb_ddp_sync_grads(ddp);           // average gradients over ranks
 *       nb_optim_step(opt);
 *   }
 *   nb_ddp_free(ddp); nb_dist_finalize();
 *
 * Failures. MPI's errors are returned, not fatal: a failed collective is
 * NB_ERR_DIST with MPI's error string. Each collective first checks that
 * every rank passed the same dtype and shape (and root, and reduce op); if
 * not, every rank gets NB_ERR_DIST naming both extremes (no hang, nothing
 * exchanged). That check is a small nonblocking all-reduce with a deadline
 * (nb_dist_set_timeout): a peer that died, exited or never makes the same
 * call makes it fail with NB_ERR_DIST "timed out" on the ranks that wait.
 * The data then moves with MPI's blocking collective (its fastest
 * algorithms); a peer that crashes during the transfer ends the job through
 * mpirun. nb_ddp's gradient all-reduces are nonblocking (they overlap
 * backward) and each waits at most the timeout. After a timeout or an MPI
 * error the process group is broken: later collectives fail at once with
 * NB_ERR_DIST, and nb_dist_finalize ends the whole job (as nb_dist_abort),
 * since MPI cannot shut down cleanly with a collective left pending.
 *
 * Threads: call these functions from the thread that called nb_dist_init
 * or, one call at a time, from others (MPI_THREAD_SERIALIZED). nabla's own
 * worker threads never call MPI.
 */
#ifndef NABLA_DIST_H
#define NABLA_DIST_H

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* The process group                                                         */
/* ------------------------------------------------------------------------ */

/* Join the job that mpirun (or another MPI launcher) started: all processes
 * of MPI_COMM_WORLD form the group, rank and size from the environment the
 * launcher set. A program run without mpirun is a group of one. If the
 * program initialised MPI itself, nabla uses it (and leaves finalising it
 * to the program). A second call before nb_dist_finalize is NB_ERR_STATE;
 * a build without MPI NB_ERR_UNSUPPORTED; MPI failing to start NB_ERR_DIST. */
NB_API nb_status nb_dist_init(void);
/* Leave the group and shut MPI down (if nabla started it). After a failed
 * collective (the group is broken) this ends every process of the job
 * (nb_dist_abort(1)) and does not return. NB_ERR_STATE when not initialised.
 * MPI cannot be started again after it is shut down. */
NB_API nb_status nb_dist_finalize(void);
NB_API bool      nb_dist_is_initialized(void);
/* End the whole job now: this process exits with status code (1 if code
 * is 0) without finalising MPI, and the launcher (mpirun) then ends the
 * others. What a rank that cannot go on (a failed step, an unreadable file)
 * calls so its peers do not wait out the timeout. Does not return when
 * initialised; NB_ERR_STATE otherwise (NB_ERR_UNSUPPORTED without MPI).
 * (Not MPI_Abort: with OpenMPI 4.1, ranks aborting at once could leave
 * mpirun hanging.) */
NB_API nb_status nb_dist_abort(int code);
/* This process's rank in [0, world size) and the number of processes; -1
 * with NB_ERR_STATE before nb_dist_init (NB_ERR_UNSUPPORTED without MPI). */
NB_API int       nb_dist_rank(void);
NB_API int       nb_dist_world_size(void);
/* Seconds a collective may wait for its peers before it fails with
 * NB_ERR_DIST (the default is 300; 0 waits forever). Waiting polls MPI, so
 * a rank that waits keeps one core busy, as MPI's blocking calls do.
 * Negative or NaN: NB_ERR_ARG. Applies to this process only: set the same
 * value on every rank. Valid before nb_dist_init. */
NB_API nb_status nb_dist_set_timeout(double seconds);

/* ------------------------------------------------------------------------ */
/* Collectives                                                               */
/* ------------------------------------------------------------------------ */
/* Every rank must call the same collectives in the same order, with
 * tensors of the same dtype and shape. They act on CPU tensors of any dtype
 * (a non-contiguous tensor is copied to a contiguous one and back), outside
 * autograd (nothing is recorded; writing a leaf that requires grad is
 * allowed, as torch.distributed does), and they return only when this
 * rank's part is done. Errors: NULL tensor NB_ERR_ARG; a CUDA tensor
 * NB_ERR_UNSUPPORTED; an expanded tensor (stride 0) written in place
 * NB_ERR_ARG; not initialised NB_ERR_STATE; ranks that disagree, MPI
 * errors and timeouts NB_ERR_DIST (see the top of this file). */

typedef enum {
    NB_REDUCE_SUM = 0,
    NB_REDUCE_MEAN, /* floating dtypes only (NB_ERR_DTYPE): sum / world size */
    NB_REDUCE_MAX,
    NB_REDUCE_MIN,
} nb_reduce_op;
/* NOTE: on bool tensors SUM and MAX are logical or, MIN logical and; on
 * integer tensors SUM wraps around as the dtype's arithmetic does; float16
 * and bfloat16 are reduced in float32 and rounded once (broadcast and
 * all_gather move their bits). */

/* t = op over all ranks' t, in place. An unknown op is NB_ERR_ARG. */
NB_API nb_status  nb_dist_all_reduce(nb_tensor *t, nb_reduce_op op);
/* t = root's t on every rank, in place. root outside [0, size): NB_ERR_ARG. */
NB_API nb_status  nb_dist_broadcast(nb_tensor *t, int root);
/* Every rank's t stacked: a new contiguous tensor of shape (size, *t.shape),
 * row r from rank r (torch's all_gather_into_tensor of t.unsqueeze(0)). */
NB_API nb_tensor *nb_dist_all_gather(const nb_tensor *t);
/* t's dim 0 (a multiple of the world size W, else NB_ERR_SHAPE; 0-d t is
 * NB_ERR_SHAPE) split in W chunks; rank r gets op over all ranks of chunk r,
 * a new tensor of shape (t.shape[0] / W, ...) (torch's
 * reduce_scatter_tensor). */
NB_API nb_tensor *nb_dist_reduce_scatter(const nb_tensor *t, nb_reduce_op op);
/* Wait until every rank has called it (bounded by the timeout). */
NB_API nb_status  nb_dist_barrier(void);

/* ------------------------------------------------------------------------ */
/* Data-parallel training (torch.nn.parallel.DistributedDataParallel)        */
/* ------------------------------------------------------------------------ */
/* Each rank holds a replica of the module and trains it on its shard of
 * each batch; the gradients are averaged over the ranks before each
 * optimizer step, so the replicas stay identical. With the mean loss of a
 * per-rank batch of B, N ranks take the same steps as one process with a
 * batch of N*B, within floating-point rounding (the sums run in another
 * order: tests/test_dist.c checks 1e-5 relative after a few SGD steps).
 *
 * Gradients travel in buckets (about bucket_bytes each, parameters in
 * reverse registration order, which is the order backward produces them;
 * one dtype per bucket). By default each parameter gets a gradient hook,
 * and a bucket's all-reduce starts during backward as soon as its last
 * gradient arrives, overlapping communication with the rest of backward;
 * nb_ddp_sync_grads then waits for them and writes the averages into the
 * parameters' .grad. no_overlap leaves the hooks out: nb_ddp_sync_grads
 * then packs and reduces every .grad itself (use it to accumulate
 * gradients over several backward passes before one step). */
typedef struct nb_ddp nb_ddp;
typedef struct {
    int    reserved_;    /* lets NB_DDP_OPTS() be empty; leave it zero */
    size_t bucket_bytes; /* 0 means 1 MiB */
    bool   no_overlap;   /* reduce in nb_ddp_sync_grads only, no hooks */
} nb_ddp_opts;
#define NB_DDP_OPTS(...) ((nb_ddp_opts){ .reserved_ = 0, __VA_ARGS__ })

/* Wrap module (borrowed: it must outlive the wrapper; freeing it first is
 * a use after free): checks that every rank has the same parameters and
 * buffers (count, dtypes, shapes; NB_ERR_DIST otherwise) and copies rank
 * 0's values of them to every rank. The parameters must be on the CPU
 * (NB_ERR_UNSUPPORTED). NULL on error. Collective: every rank calls it. */
NB_API nb_ddp   *nb_ddp_new(nb_module *module, nb_ddp_opts opts);
/* After backward and before the optimizer step: every parameter's .grad
 * becomes the mean over the ranks of its .grad (a parameter without one
 * on a rank counts zeros there, and gets the mean like the others: unlike
 * torch, an unused parameter ends with a zero .grad, not none). Collective.
 * With hooks (the default): clear the gradients before each backward
 * (nb_optim_zero_grad), and run one backward per call; a gradient left from
 * before, or a second one for a parameter, fails that backward with
 * NB_ERR_STATE naming the fix. The hooks also see nb_grad_of's gradients
 * of the parameters: take those with the wrapper freed, or no_overlap. */
NB_API nb_status nb_ddp_sync_grads(nb_ddp *ddp);
/* Copy rank 0's buffers (batch norm's running statistics) to every rank,
 * as DDP does before each forward. Collective. */
NB_API nb_status nb_ddp_broadcast_buffers(nb_ddp *ddp);
/* Seconds this rank spent in nb_ddp_sync_grads since the wrapper was made
 * (waiting for and copying out reductions: the communication time that
 * backward did not hide), and the number of calls. -1 for NULL. */
NB_API double    nb_ddp_comm_seconds(const nb_ddp *ddp);
NB_API int64_t   nb_ddp_sync_count(const nb_ddp *ddp);
/* Remove the hooks and free. Not collective. Safe on NULL. */
NB_API void      nb_ddp_free(nb_ddp *ddp);

/* ------------------------------------------------------------------------ */
/* Sharded data (torch.utils.data.DistributedSampler)                        */
/* ------------------------------------------------------------------------ */
/* Every rank draws the same permutation of the n samples for an epoch (same
 * seed and epoch on every rank), made a multiple of world_size by repeating
 * its first samples (or, with drop_last, by dropping its last ones), and
 * takes every world_size-th index starting at rank: the shards are disjoint
 * (but for the repeats), equally long (ceil(n / W), or floor with
 * drop_last), so every rank takes the same number of steps, and batch k of
 * the ranks together is batch k of one process with a W times larger batch.
 * No communication: works without MPI. */

/* Make l (a fresh loader, or at an epoch's start) hand out only rank's
 * shard of each epoch's order; the loader's shuffle, seed and drop_last
 * (of the last, short batch) apply as before. rank outside [0, world_size)
 * or world_size < 1 is NB_ERR_ARG; a loader mid-epoch is NB_ERR_STATE. */
NB_API nb_status  nb_loader_shard(nb_loader *l, int rank, int world_size, bool drop_last);
/* The indices rank visits in epoch (int64, 1-d, new): the same order
 * nb_loader_shard gives a loader made with shuffle and seed. n < 0, or a bad
 * rank / world_size, is NB_ERR_ARG. */
NB_API nb_tensor *nb_dist_sampler_indices(int64_t n, bool shuffle, uint64_t seed, uint64_t epoch, int rank,
                                          int world_size, bool drop_last);

#ifdef __cplusplus
}
#endif
#endif /* NABLA_DIST_H */
