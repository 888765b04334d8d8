/*
 * misuse_dist.h — the misuse cases of nabla/dist.h (issue 15), included by
 * test_misuse.c: it uses that file's fixtures and check macros, and is not
 * compiled on its own. test_misuse runs as one plain process: the group is
 * never initialised here (NB_ERR_STATE, or NB_ERR_UNSUPPORTED in a build
 * without MPI); test_dist runs the calls under mpirun.
 */
static void run_dist(void)
{
    begin("nb_dist_finalize");
    FAILS_S("not initialised", nb_dist_finalize());
    begin("nb_dist_abort");
    FAILS_S("not initialised", nb_dist_abort(1));
    begin("nb_dist_rank");
    FAILS_V("not initialised", nb_dist_rank());
    begin("nb_dist_world_size");
    FAILS_V("not initialised", nb_dist_world_size());
    begin("nb_dist_set_timeout");
    FAILS_S("-1 s", nb_dist_set_timeout(-1));
    FAILS_S("NaN s", nb_dist_set_timeout(NAN));
    FAILS_S("infinite", nb_dist_set_timeout(INFINITY));
    begin("nb_dist_barrier");
    FAILS_S("not initialised", nb_dist_barrier());

    begin("nb_dist_all_reduce");
    FAILS_S("not initialised", nb_dist_all_reduce(f, NB_REDUCE_SUM));
    FAILS_S("NULL t", nb_dist_all_reduce(NULL, NB_REDUCE_SUM));
    pending_begin();
    check_pending_kept("NULL t, error pending", nb_dist_all_reduce(NULL, NB_REDUCE_SUM) != NB_OK);
    FREED_S("freed t", nb_dist_all_reduce(fresh_gone(), NB_REDUCE_SUM));
    begin("nb_dist_broadcast");
    FAILS_S("not initialised", nb_dist_broadcast(f, 0));
    pending_begin();
    check_pending_kept("NULL t, error pending", nb_dist_broadcast(NULL, 0) != NB_OK);
    FREED_S("freed t", nb_dist_broadcast(fresh_gone(), 0));
    begin("nb_dist_all_gather");
    FAILS("not initialised", nb_dist_all_gather(f));
    PENDING("NULL t", nb_dist_all_gather(NULL));
    FREED("freed t", nb_dist_all_gather(fresh_gone()));
    begin("nb_dist_reduce_scatter");
    FAILS("not initialised", nb_dist_reduce_scatter(f, NB_REDUCE_SUM));
    PENDING("NULL t", nb_dist_reduce_scatter(NULL, NB_REDUCE_SUM));
    FREED("freed t", nb_dist_reduce_scatter(fresh_gone(), NB_REDUCE_SUM));

    begin("nb_ddp_new");
    nb_module *m = nb_linear_new(2, 2, true);
    {
        nb_ddp *made = nb_ddp_new(m, NB_DDP_OPTS());
        check_failed("not initialised", made == NULL);
        nb_ddp_free(made);
    }
    PENDING("NULL module", nb_ddp_new(NULL, NB_DDP_OPTS()));
    nb_module_free(m);
    begin("nb_ddp_sync_grads");
    FAILS_S("NULL ddp", nb_ddp_sync_grads(NULL));
    begin("nb_ddp_broadcast_buffers");
    FAILS_S("NULL ddp", nb_ddp_broadcast_buffers(NULL));
    begin("nb_ddp_comm_seconds");
    FAILS_V("NULL ddp", nb_ddp_comm_seconds(NULL));
    begin("nb_ddp_sync_count");
    FAILS_V("NULL ddp", nb_ddp_sync_count(NULL));
    begin("nb_ddp_free");
    ALLOWED_V("NULL", (nb_ddp_free(NULL), 0));

    begin("nb_dist_sampler_indices");
    FAILS("n -1", nb_dist_sampler_indices(-1, true, 0, 0, 0, 1, false));
    FAILS("rank -1", nb_dist_sampler_indices(4, true, 0, 0, -1, 2, false));
    FAILS("rank = world_size", nb_dist_sampler_indices(4, true, 0, 0, 2, 2, false));
    FAILS("world_size 0", nb_dist_sampler_indices(4, true, 0, 0, 0, 0, false));
    ALLOWED("n 0", nb_dist_sampler_indices(0, true, 0, 0, 0, 2, true));

    begin("nb_loader_shard");
    FAILS_S("NULL loader", nb_loader_shard(NULL, 0, 1, false));
    nb_dataset *data   = nb_tensor_dataset_new(&f, 1);
    nb_loader  *loader = nb_loader_new(data, 1, false, false, 0);
    FAILS_S("rank 3 of 3", nb_loader_shard(loader, 3, 3, false));
    FAILS_S("world_size -2", nb_loader_shard(loader, 0, -2, false));
    nb_tensor *batch[1];
    nb_loader_next(loader, batch);
    FAILS_S("mid-epoch", nb_loader_shard(loader, 0, 2, false));
    nb_loader_reset(loader);
    ALLOWED_S("after reset", nb_loader_shard(loader, 1, 2, false));
    nb_loader_free(loader);
    nb_dataset_free(data);
}
