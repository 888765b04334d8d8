/*
 * misuse_autograd_files.h — the misuse cases of nabla.h's autograd (custom
 * functions and hooks included) and file functions, included by
 * test_misuse.c after its tensor cases: it uses that file's fixtures and
 * check macros, and is not compiled on its own.
 */
/* ------------------------------------------------------------------------ */
/* Autograd                                                                 */
/* ------------------------------------------------------------------------ */

static nb_status no_hook(const nb_tensor *grad, nb_tensor **replacement, void *user)
{
    (void)grad, (void)replacement, (void)user;
    return NB_OK;
}

static nb_tensor *square_sum(nb_tensor *const *inputs, int count, void *user)
{
    (void)count, (void)user;
    return nb_sum(nb_mul(inputs[0], inputs[0]));
}

/* A custom function whose forward misuses the ctx calls, then works. */
static int ctx_misuse_calls_done;
static nb_status misusing_forward(nb_function_ctx *ctx, nb_tensor *const *inputs, int n_inputs, nb_tensor **outputs,
                                  int n_outputs)
{
    (void)n_inputs, (void)n_outputs;
    const char *saved = current;
    begin("nb_ctx_save_for_backward");
    nb_tensor *null_entry[1] = { NULL };
    FAILS_S("NULL list", nb_ctx_save_for_backward(ctx, NULL, 1));
    FAILS_S("count -1", nb_ctx_save_for_backward(ctx, inputs, -1));
    FAILS_S("a NULL entry", nb_ctx_save_for_backward(ctx, null_entry, 1));
    nb_tensor *gone_entry[1] = { fresh_gone() };
    FREED_S("a freed entry", nb_ctx_save_for_backward(ctx, gone_entry, 1));
    begin("nb_ctx_saved");
    FAILS("index 5", nb_ctx_saved(ctx, 5));
    FAILS("index -1", nb_ctx_saved(ctx, -1));
    begin("nb_ctx_needs_input_grad");
    FAILS_V("index 9", nb_ctx_needs_input_grad(ctx, 9));
    FAILS_V("index -1", nb_ctx_needs_input_grad(ctx, -1));
    begin("nb_ctx_mark_non_differentiable");
    FAILS_S("NULL output", nb_ctx_mark_non_differentiable(ctx, NULL));
    FREED_S("freed output", nb_ctx_mark_non_differentiable(ctx, fresh_gone()));
    begin("nb_ctx_mark_dirty");
    FAILS_S("NULL input", nb_ctx_mark_dirty(ctx, NULL));
    FAILS_S("not an input", nb_ctx_mark_dirty(ctx, f));
    ctx_misuse_calls_done = 1;
    current               = saved;
    outputs[0]            = nb_mul_scalar(inputs[0], 2);
    return outputs[0] ? NB_OK : nb_last_status();
}

static nb_status doubling_backward(nb_function_ctx *ctx, nb_tensor *const *grad_outputs, int n_outputs,
                                   nb_tensor **grad_inputs, int n_inputs)
{
    (void)ctx, (void)n_outputs, (void)n_inputs;
    grad_inputs[0] = nb_mul_scalar(grad_outputs[0], 2);
    return NB_OK;
}

static void run_autograd(void)
{
    nb_tensor *leaf = nb_ones(NB_SHAPE(2, 3), NB_OPTS(.requires_grad = true));
    nb_tensor *y    = nb_sum(nb_mul(leaf, leaf));
    begin("nb_requires_grad_");
    FAILS_S("NULL", nb_requires_grad_(NULL, true));
    FREED_S("freed", nb_requires_grad_(fresh_gone(), true));
    FAILS_S("int64", nb_requires_grad_(nb_clone(i64), true));
    FAILS_S("a non-leaf stopping", nb_requires_grad_(y, false));
    begin("nb_grad");
    FAILS("NULL", nb_grad(NULL));
    FREED("freed", nb_grad(fresh_gone()));
    begin("nb_set_grad");
    FAILS_S("NULL t", nb_set_grad(NULL, f));
    FREED_S("freed grad", nb_set_grad(leaf, fresh_gone()));
    FAILS_S("wrong shape", nb_set_grad(leaf, nb_ones(NB_SHAPE(3, 2), NB_OPTS())));
    FAILS_S("wrong dtype", nb_set_grad(leaf, i64));
    begin("nb_retain_grad");
    FAILS_S("NULL", nb_retain_grad(NULL));
    FREED_S("freed", nb_retain_grad(fresh_gone()));
    FAILS_S("needs no grad", nb_retain_grad(f));
    begin("nb_grad_fn_name");
    FAILS("NULL", nb_grad_fn_name(NULL));
    FREED("freed", nb_grad_fn_name(fresh_gone()));
    begin("nb_register_hook");
    FAILS_V("NULL t", nb_register_hook(NULL, no_hook, NULL));
    FAILS_V("freed", nb_register_hook(fresh_gone(), no_hook, NULL));
    FAILS_V("NULL hook", nb_register_hook(leaf, NULL, NULL));
    FAILS_V("needs no grad", nb_register_hook(f, no_hook, NULL));
    begin("nb_remove_hook");
    FAILS_S("NULL", nb_remove_hook(NULL, 1));
    FAILS_S("no such id", nb_remove_hook(leaf, 12345));
    FAILS_S("id -1", nb_remove_hook(leaf, -1));
    begin("nb_backward");
    FAILS_S("NULL", nb_backward(NULL));
    FREED_S("freed", nb_backward(fresh_gone()));
    FAILS_S("needs no grad", nb_backward(nb_sum(f)));
    FAILS_S("6 elements", nb_backward(nb_mul(leaf, leaf)));
    begin("nb_backward_with");
    FAILS_S("NULL", nb_backward_with(NULL, NULL, NB_GRAD_OPTS()));
    FAILS_S("grad of the wrong shape", nb_backward_with(nb_mul(leaf, leaf), s, NB_GRAD_OPTS()));
    FAILS_S("grad of the wrong dtype", nb_backward_with(nb_mul(leaf, leaf), i64, NB_GRAD_OPTS()));
    FREED_S("freed grad", nb_backward_with(nb_mul(leaf, leaf), fresh_gone(), NB_GRAD_OPTS()));
    FAILS_S("NULL grad for 6 elements", nb_backward_with(nb_mul(leaf, leaf), NULL, NB_GRAD_OPTS()));
    begin("nb_grad_of");
    nb_tensor *grads[2] = { NULL, NULL };
    nb_tensor *outs[1]  = { y };
    nb_tensor *ins[1]   = { leaf };
    nb_tensor *nulls[1] = { NULL };
    FAILS_S("NULL outputs", nb_grad_of(NULL, 1, ins, 1, NULL, NB_GRAD_OPTS(.retain_graph = true), grads));
    FAILS_S("NULL inputs", nb_grad_of(outs, 1, NULL, 1, NULL, NB_GRAD_OPTS(.retain_graph = true), grads));
    FAILS_S("NULL grads_out", nb_grad_of(outs, 1, ins, 1, NULL, NB_GRAD_OPTS(.retain_graph = true), NULL));
    FAILS_S("n_outputs -1", nb_grad_of(outs, -1, ins, 1, NULL, NB_GRAD_OPTS(.retain_graph = true), grads));
    FAILS_S("n_inputs -1", nb_grad_of(outs, 1, ins, -1, NULL, NB_GRAD_OPTS(.retain_graph = true), grads));
    FAILS_S("a NULL input", nb_grad_of(outs, 1, nulls, 1, NULL, NB_GRAD_OPTS(.retain_graph = true), grads));
    FAILS_S("unused input", nb_grad_of(outs, 1, (nb_tensor *[]){ nb_ones(NB_SHAPE(1), NB_OPTS(.requires_grad = true)) },
                                       1, NULL, NB_GRAD_OPTS(.retain_graph = true), grads));
    begin("nb_zero_grad");
    nb_zero_grad(NULL, 3);
    check_allowed("NULL list", nb_last_status() != NB_OK);
    nb_zero_grad(ins, -1);
    check_allowed("count -1", nb_last_status() != NB_OK);
    nb_zero_grad(nulls, 1);
    check_allowed("a NULL entry", nb_last_status() != NB_OK);
    begin("nb_no_grad_end");
    FAILS_S("without a begin", nb_no_grad_end());
    begin("nb_enable_grad_end");
    FAILS_S("without a begin", nb_enable_grad_end());
    begin("nb_no_grad_begin");
    int depth = 0;
    nb_status status = NB_OK;
    for (; depth < 10000 && (status = nb_no_grad_begin()) == NB_OK; depth++) {}
    check_allowed("10000 deep", status != NB_OK);
    for (int k = 0; k < depth; k++) nb_no_grad_end();
    nb_clear_error();
    begin("nb_enable_grad_begin");
    ALLOWED_S("once", nb_enable_grad_begin());
    nb_enable_grad_end();
    begin("nb_gradcheck");
    nb_tensor *x64 = nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64, .requires_grad = true));
    FAILS_S("NULL f", nb_gradcheck(NULL, &x64, 1, NULL, NB_GRADCHECK_OPTS()));
    FAILS_S("NULL inputs", nb_gradcheck(square_sum, NULL, 1, NULL, NB_GRADCHECK_OPTS()));
    FAILS_S("count -1", nb_gradcheck(square_sum, &x64, -1, NULL, NB_GRADCHECK_OPTS()));
    FAILS_S("a NULL input", nb_gradcheck(square_sum, nulls, 1, NULL, NB_GRADCHECK_OPTS()));
    ALLOWED_S("negative eps (a step the other way)", nb_gradcheck(square_sum, &x64, 1, NULL, NB_GRADCHECK_OPTS(.eps = -1)));
    begin("nb_gradgradcheck");
    FAILS_S("NULL f", nb_gradgradcheck(NULL, &x64, 1, NULL, NB_GRADCHECK_OPTS()));
    FAILS_S("count -1", nb_gradgradcheck(square_sum, &x64, -1, NULL, NB_GRADCHECK_OPTS()));
    FAILS_S("a NULL input", nb_gradgradcheck(square_sum, nulls, 1, NULL, NB_GRADCHECK_OPTS()));
    begin("nb_graph_dot");
    FAILS_S("NULL tensor", nb_graph_dot(NULL, stdout));
    FAILS_S("NULL file", nb_graph_dot(y, NULL));
    FREED_S("freed", nb_graph_dot(fresh_gone(), stdout));

    /* Custom functions. */
    static const nb_function_def good = { "MisuseBackward", misusing_forward, doubling_backward };
    static const nb_function_def no_forward = { "NoForwardBackward", NULL, doubling_backward };
    nb_tensor *out[2] = { NULL, NULL };
    begin("nb_function_apply");
    FAILS_S("NULL def", nb_function_apply(NULL, &leaf, 1, out, 1, NULL));
    FAILS_S("def without forward", nb_function_apply(&no_forward, &leaf, 1, out, 1, NULL));
    FAILS_S("NULL inputs", nb_function_apply(&good, NULL, 1, out, 1, NULL));
    FAILS_S("n_inputs -1", nb_function_apply(&good, &leaf, -1, out, 1, NULL));
    FAILS_S("NULL outputs", nb_function_apply(&good, &leaf, 1, NULL, 1, NULL));
    FAILS_S("n_outputs 0", nb_function_apply(&good, &leaf, 1, out, 0, NULL));
    FAILS_S("n_outputs -3", nb_function_apply(&good, &leaf, 1, out, -3, NULL));
    ALLOWED_S("a forward that misuses its ctx", nb_function_apply(&good, &leaf, 1, out, 1, NULL));
    NBT_CHECK(ctx_misuse_calls_done);
    begin("nb_function_apply");
    /* The ctx calls outside forward, with no ctx. */
    begin("nb_ctx_user");
    ALLOWED_V("NULL ctx", nb_ctx_user(NULL));
    begin("nb_ctx_save_for_backward");
    FAILS_S("NULL ctx", nb_ctx_save_for_backward(NULL, &f, 1));
    begin("nb_ctx_saved");
    FAILS("NULL ctx", nb_ctx_saved(NULL, 0));
    begin("nb_ctx_needs_input_grad");
    FAILS_V("NULL ctx", nb_ctx_needs_input_grad(NULL, 0));
    begin("nb_ctx_mark_non_differentiable");
    FAILS_S("NULL ctx", nb_ctx_mark_non_differentiable(NULL, f));
    begin("nb_ctx_mark_dirty");
    FAILS_S("NULL ctx", nb_ctx_mark_dirty(NULL, f));
    begin("nb_ctx_set_materialize_grads");
    nb_ctx_set_materialize_grads(NULL, false);
    check_allowed("NULL ctx", nb_last_status() != NB_OK);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

static void run_files(void)
{
    begin("nb_load_npy");
    FAILS("NULL path", nb_load_npy(NULL));
    FAILS("empty path", nb_load_npy(""));
    FAILS("a folder", nb_load_npy("."));
    FAILS("missing", nb_load_npy("no/such/file.npy"));
    begin("nb_save_npy");
    FAILS_S("NULL tensor", nb_save_npy(NULL, "misuse.npy"));
    FAILS_S("NULL path", nb_save_npy(f, NULL));
    FAILS_S("empty path", nb_save_npy(f, ""));
    FREED_S("freed", nb_save_npy(fresh_gone(), "misuse.npy"));
    FAILS_S("into a missing folder", nb_save_npy(f, "no/such/folder/x.npy"));
    begin("nb_load_idx");
    FAILS("NULL path", nb_load_idx(NULL));
    FAILS("a folder", nb_load_idx("."));
    FAILS("missing", nb_load_idx("no/such/file.idx"));
    begin("nb_safetensors_load");
    FAILS("NULL path", nb_safetensors_load(NULL));
    FAILS("a folder", nb_safetensors_load("."));
    const char *names[2]   = { "a", "a" };
    nb_tensor  *tensors[2] = { f, d };
    begin("nb_save_safetensors");
    FAILS_S("NULL path", nb_save_safetensors(NULL, names, tensors, 1, NULL, NULL, 0));
    FAILS_S("NULL names", nb_save_safetensors("misuse.safetensors", NULL, tensors, 1, NULL, NULL, 0));
    FAILS_S("NULL tensors", nb_save_safetensors("misuse.safetensors", names, NULL, 1, NULL, NULL, 0));
    FAILS_S("count -1", nb_save_safetensors("misuse.safetensors", names, tensors, -1, NULL, NULL, 0));
    FAILS_S("duplicate names", nb_save_safetensors("misuse.safetensors", names, tensors, 2, NULL, NULL, 0));
    FAILS_S("name __metadata__", nb_save_safetensors("misuse.safetensors", (const char *[]){ "__metadata__" }, tensors,
                                                     1, NULL, NULL, 0));
    FAILS_S("invalid UTF-8 name", nb_save_safetensors("misuse.safetensors", (const char *[]){ "\xff\xfe" }, tensors, 1,
                                                      NULL, NULL, 0));
    FAILS_S("NULL metadata with n 1", nb_save_safetensors("misuse.safetensors", names, tensors, 1, NULL, NULL, 1));
    FAILS_S("n_metadata -1", nb_save_safetensors("misuse.safetensors", names, tensors, 1, NULL, NULL, -1));
    FREED_S("a freed tensor", nb_save_safetensors("misuse.safetensors", names, (nb_tensor *[]){ fresh_gone() }, 1, NULL,
                                                  NULL, 0));
    begin("nb_save_safetensors_half");
    FAILS_S("NULL path", nb_save_safetensors_half(NULL, names, tensors, 1, NULL, NULL, 0, false));
    FAILS_S("count -1", nb_save_safetensors_half("misuse.safetensors", names, tensors, -1, NULL, NULL, 0, true));
    FAILS_S("duplicate names", nb_save_safetensors_half("misuse.safetensors", names, tensors, 2, NULL, NULL, 0, true));

    /* A good file to misuse the reader's accessors on. */
    if (nb_save_safetensors("misuse.safetensors", names, tensors, 1, NULL, NULL, 0) != NB_OK) {
        nbt_failures++;
        fprintf(stderr, "saving misuse.safetensors: %s\n", nb_last_error());
        return;
    }
    nb_safetensors *file = nb_safetensors_load("misuse.safetensors");
    begin("nb_safetensors_count");
    FAILS_V("NULL", nb_safetensors_count(NULL));
    begin("nb_safetensors_name");
    FAILS("NULL", nb_safetensors_name(NULL, 0));
    FAILS("index 1 of 1", nb_safetensors_name(file, 1));
    FAILS("index -1", nb_safetensors_name(file, -1));
    FAILS("index INT64_MIN", nb_safetensors_name(file, INT64_MIN));
    begin("nb_safetensors_get");
    FAILS("NULL file", nb_safetensors_get(NULL, "a"));
    FAILS("NULL name", nb_safetensors_get(file, NULL));
    FAILS("absent name", nb_safetensors_get(file, "b"));
    begin("nb_safetensors_metadata");
    ALLOWED("NULL file", nb_safetensors_metadata(NULL, "k"));
    ALLOWED("NULL key", nb_safetensors_metadata(file, NULL));
    begin("nb_safetensors_free");
    nb_safetensors_free(NULL);
    check_allowed("NULL", nb_last_status() != NB_OK);
    nb_safetensors_free(file);
    remove("misuse.safetensors");
}
