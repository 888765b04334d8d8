/*
 * test_handles.c — misuse of handles is caught, not acted on: a freed
 * tensor used again or freed twice, a tensor used after its scope ended,
 * one tensor given to two modules, a module's parameter freed by hand.
 * Each gives NB_ERR_STATE / NB_ERR_ARG and leaves every other tensor alone.
 */
#include "nb_test.h"

static void test_use_after_free(void)
{
    nb_tensor *a = nb_ones(NB_SHAPE(2), NB_OPTS());
    nb_tensor *b = nb_ones(NB_SHAPE(2), NB_OPTS());
    nb_free(a);
    /* Another tensor made now must not be reachable through the stale a. */
    nb_tensor *c = nb_full(NB_SHAPE(2), 7, NB_OPTS());
    NBT_CHECK(c != a);
    NBT_CHECK(nb_add(a, b) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_add: argument 'a' is a tensor that was freed");
    NBT_CHECK_TENSOR(c, NB_SHAPE(2), 0, 7, 7);
    nb_free(b);
    nb_free(c);
}

static void test_double_free(void)
{
    int64_t    live = nb_live_tensors();
    nb_tensor *a    = nb_ones(NB_SHAPE(3), NB_OPTS());
    nb_free(a);
    nb_tensor *other = nb_zeros(NB_SHAPE(3), NB_OPTS()); /* must survive the second free */
    nb_free(a);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_free: the tensor was already freed");
    NBT_CHECK_TENSOR(other, NB_SHAPE(3), 0, 0, 0, 0);
    nb_free(other);
    NBT_CHECK(nb_live_tensors() == live);
    /* A handle also held by the autograd graph: the second free must not
     * drop the graph's reference. */
    nb_tensor *x = nb_ones(NB_SHAPE(2), NB_OPTS(.requires_grad = true));
    nb_tensor *y = nb_mul(x, x);
    nb_free(x);
    nb_free(x);
    NBT_CHECK_ERROR(NB_ERR_STATE, "already freed");
    nb_tensor *s = nb_sum(y);
    NBT_CHECK(nb_backward(s) == NB_OK); /* x is still alive in the graph */
    nb_free(s);
    nb_free(y);
}

static void test_use_after_scope(void)
{
    nb_scope_begin();
    nb_tensor *t = nb_ones(NB_SHAPE(2, 2), NB_OPTS());
    nb_scope_end();
    NBT_CHECK(nb_sum(t) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_sum: argument 't' is a tensor that was freed");
    NBT_CHECK(nb_keep(t) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_keep: the tensor was already freed");
    nb_free(t);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_free: the tensor was already freed");
}

static void test_caught_across_many_frees(void)
{
    nb_tensor *stale = nb_ones(NB_SHAPE(1), NB_OPTS());
    nb_free(stale);
    for (int i = 0; i < 1000; i++) nb_free(nb_zeros(NB_SHAPE(4), NB_OPTS())); /* churn the free lists */
    NBT_CHECK(nb_neg(stale) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "a tensor that was freed");
}

static void test_one_module_per_tensor(void)
{
    nb_module *m1 = nb_module_new("A", NULL, NULL, NULL);
    nb_module *m2 = nb_module_new("B", NULL, NULL, NULL);
    nb_tensor *w  = nb_ones(NB_SHAPE(2), NB_OPTS());
    NBT_CHECK(nb_module_add_parameter(m1, "w", w) == NB_OK);
    NBT_CHECK(nb_module_add_parameter(m2, "w", w) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "already belongs to a module; a tensor belongs to one module only");
    nb_free(w); /* the module frees it */
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_free: the tensor belongs to a module");
    NBT_CHECK_TENSOR(nb_module_tensor(m1, "w"), NB_SHAPE(2), 0, 1, 1);
    nb_module_free(m2);
    nb_module_free(m1);
    NBT_CHECK(nb_neg(w) == NULL); /* freed with m1 */
    nb_clear_error();
}

static void test_modules_and_optimizers(void)
{
    nb_module *lin = nb_linear_new(3, 2, true);
    nb_module_free(lin);
    nb_module_free(lin);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_module_free: the module was already freed");
    nb_tensor *x = nb_ones(NB_SHAPE(1, 3), NB_OPTS());
    NBT_CHECK(nb_module_forward(lin, x) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_module_forward: argument 'm' is a module that was freed");
    nb_free(x);
    /* An optimizer whose parameters were freed with their module refuses to
     * step; a freed optimizer refuses everything. */
    nb_module *net = nb_linear_new(3, 2, true);
    nb_tensor *params[2];
    NBT_CHECK(nb_module_parameters(net, params, NULL, 2) == 2);
    nb_optim *sgd = nb_sgd_new(params, 2, nb_sgd_defaults(0.1));
    NBT_CHECK(sgd != NULL);
    nb_module_free(net);
    NBT_CHECK(nb_optim_step(sgd) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_optim_step: params[0] was freed before the optimizer");
    nb_optim_free(sgd);
    NBT_CHECK(nb_optim_step(sgd) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_optim_step: the optimizer was freed");
    nb_optim_free(sgd);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_optim_free: the optimizer was already freed");
}

int main(void)
{
    NBT_RUN(test_use_after_free);
    NBT_RUN(test_double_free);
    NBT_RUN(test_use_after_scope);
    NBT_RUN(test_caught_across_many_frees);
    NBT_RUN(test_one_module_per_tensor);
    NBT_RUN(test_modules_and_optimizers);
    return nbt_finish();
}
