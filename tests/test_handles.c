/*
 * test_handles.c — misuse of handles is caught, not acted on: a freed
 * tensor used again or freed twice, a tensor used after its scope ended,
 * one tensor given to two modules, a module's parameter freed by hand.
 * Each gives NB_ERR_STATE / NB_ERR_ARG and leaves every other tensor alone.
 * Where handles carry generations (core/handles.h), a stale handle is
 * refused even after its memory holds a new tensor or module; a forked
 * child's handles are its own.
 */
#include "nb_test.h"

#include "core/internal.h"
#include "nn/module.h"

#if defined(__linux__)
#include <sys/wait.h>
#include <unistd.h>
#endif

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

/* a and b are handles to the same slot of c's region (any generation). */
static bool same_slot(const nbi_handle_class *c, const void *a, const void *b)
{
    uintptr_t within_view = ((uintptr_t)1 << c->view_shift) - 1;
    return (((uintptr_t)a - c->base) & within_view) == (((uintptr_t)b - c->base) & within_view);
}

static void test_caught_after_reuse(void)
{
    if (!nbi_handle_generations(&nbi_tensor_handles)) {
        printf("  (this build's tensor handles carry no generation: sanitizer, valgrind or not Linux)\n");
        return;
    }
    int64_t    live  = nb_live_tensors();
    nb_tensor *stale = nb_full(NB_SHAPE(2), 5, NB_OPTS());
    nb_free(stale);
    /* Make and free tensors until one gets the stale handle's memory. */
    nb_tensor *heir = NULL;
    for (int i = 0; i < 100000 && heir == NULL; i++) {
        nb_tensor *t = nb_full(NB_SHAPE(2), 9, NB_OPTS());
        if (same_slot(&nbi_tensor_handles, t, stale))
            heir = t;
        else
            nb_free(t);
    }
    NBT_CHECK(heir != NULL);
    if (heir == NULL) return;
    NBT_CHECK(heir != stale); /* the same memory, another generation's address */
    NBT_CHECK(nb_neg(stale) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_neg: argument 't' is a tensor that was freed");
    NBT_CHECK(nb_ndim(stale) == -1);
    NBT_CHECK_ERROR(NB_ERR_STATE, "the tensor was freed");
    nb_free(stale); /* must not free the heir */
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_free: the tensor was already freed");
    NBT_CHECK(nb_live_tensors() == live + 1);
    NBT_CHECK_TENSOR(heir, NB_SHAPE(2), 0, 9, 9);
    nb_free(heir);
    NBT_CHECK(nb_live_tensors() == live);

    /* Modules too: a freed module's handle stays refused once its memory
     * is another module. */
    nb_module *old = nb_module_new("Old", NULL, NULL, NULL);
    nb_module_free(old);
    nb_module *young = NULL;
    for (int i = 0; i < 20000 && young == NULL; i++) {
        nb_module *m = nb_module_new("Young", NULL, NULL, NULL);
        if (same_slot(&nbi_module_handles, m, old))
            young = m;
        else
            nb_module_free(m);
    }
    NBT_CHECK(young != NULL);
    if (young == NULL) return;
    NBT_CHECK(nb_module_forward(old, NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "argument 'm' is a module that was freed");
    nb_module_free(old);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_module_free: the module was already freed");
    nb_clear_error();
    NBT_CHECK(strcmp(nb_module_type(young), "Young") == 0);
    nb_module_free(young);
    NBT_CHECK(nb_last_status() == NB_OK);
}

/* handles.c on a kind of its own with a one-page view (64 slots of 64
 * bytes): slots come back oldest first, a retired object's pointer is
 * stale at once and stays stale until its slot has been freed a multiple
 * of NBI_HANDLE_VIEWS times (the documented limit), and past the region's
 * capacity objects come from malloc (no generation, only the mark). */
typedef struct {
    nbi_handle_head head;
    int64_t         payload[6];
} small_object;

static void test_handle_class_mechanics(void)
{
    static nbi_handle_class smalls = NBI_HANDLE_CLASS("small", sizeof(small_object), 12);
    if (!nbi_handle_generations(&smalls)) {
        printf("  (this build's handles carry no generation: sanitizer, valgrind or not Linux)\n");
        return;
    }
    enum { LIVE = 0x11223344u, CAPACITY = 64, EXTRA = 6 };
    NBT_CHECK(smalls.slot_capacity == CAPACITY);
    small_object *objects[CAPACITY + EXTRA];
    for (int i = 0; i < CAPACITY + EXTRA; i++) {
        objects[i] = nbi_handle_alloc(&smalls);
        NBT_CHECK(objects[i] != NULL && objects[i]->payload[0] == 0 && objects[i]->head.magic == 0);
        if (objects[i] == NULL) return;
        objects[i]->head.magic = LIVE;
        objects[i]->payload[0] = i;
        NBT_CHECK(nbi_handle_live(&smalls, objects[i], LIVE));
    }
    /* The first CAPACITY are slots of the region; the rest come from malloc. */
    NBT_CHECK((uintptr_t)objects[0] - smalls.base < smalls.bytes);
    NBT_CHECK((uintptr_t)objects[CAPACITY] - smalls.base >= smalls.bytes);
    /* Free slots 5 then 9: the next two objects take them in that order,
     * each at another view, and the old pointers stay refused. */
    small_object *old5 = objects[5], *old9 = objects[9];
    for (int k = 0; k < 2; k++) {
        small_object *o = k == 0 ? old5 : old9;
        o->head.magic   = 0;
        nbi_handle_retire(&smalls, o);
        NBT_CHECK(!nbi_handle_is_current(&smalls, o));
        nbi_handle_free(&smalls, o);
    }
    small_object *first = nbi_handle_alloc(&smalls), *second = nbi_handle_alloc(&smalls);
    NBT_CHECK(same_slot(&smalls, first, old5) && first != old5);
    NBT_CHECK(same_slot(&smalls, second, old9) && second != old9);
    first->head.magic = LIVE;
    NBT_CHECK(nbi_handle_live(&smalls, first, LIVE) && !nbi_handle_live(&smalls, old5, LIVE));
    NBT_CHECK(nbi_handle_reissue(&smalls, old5) == first); /* any pointer to the slot finds the current address */
    /* The limit: after NBI_HANDLE_VIEWS frees of one slot its first pointer is current again. */
    small_object *cycled = first;
    for (int i = 0; i < NBI_HANDLE_VIEWS; i++) {
        nbi_handle_retire(&smalls, cycled);
        cycled = nbi_handle_reissue(&smalls, cycled);
        NBT_CHECK(i == NBI_HANDLE_VIEWS - 1 || !nbi_handle_is_current(&smalls, first));
    }
    NBT_CHECK(cycled == first && nbi_handle_is_current(&smalls, first));
    /* malloc'd objects have no generation: their mark alone tells. */
    small_object *spare = objects[CAPACITY];
    nbi_handle_retire(&smalls, spare);
    NBT_CHECK(nbi_handle_is_current(&smalls, spare));
    objects[5] = first, objects[9] = second;
    for (int i = 0; i < CAPACITY + EXTRA; i++) {
        nbi_handle_retire(&smalls, objects[i]);
        nbi_handle_free(&smalls, nbi_handle_reissue(&smalls, objects[i]));
    }
}

#if defined(__linux__)
/* After fork the child's handles are its own: what it frees stays alive
 * in the parent. */
static void test_fork_separates_handles(void)
{
    nb_tensor *shared = nb_full(NB_SHAPE(3), 4, NB_OPTS());
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        nb_free(shared);
        nb_tensor *mine = nb_full(NB_SHAPE(3), 8, NB_OPTS()); /* may take shared's memory */
        bool ok = nb_neg(shared) == NULL && nb_item(nb_sum(mine)) == 24;
        _exit(ok ? 0 : 1);
    }
    NBT_CHECK(child > 0);
    int status = -1;
    NBT_CHECK(waitpid(child, &status, 0) == child);
    NBT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    NBT_CHECK_TENSOR(shared, NB_SHAPE(3), 0, 4, 4, 4);
    nb_tensor *twice = nb_add(shared, shared);
    NBT_CHECK_TENSOR(twice, NB_SHAPE(3), 0, 8, 8, 8);
    nb_free(twice);
    nb_free(shared);
}
#endif

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
    NBT_RUN(test_caught_after_reuse);
    NBT_RUN(test_handle_class_mechanics);
#if defined(__linux__)
    NBT_RUN(test_fork_separates_handles);
#endif
    NBT_RUN(test_one_module_per_tensor);
    NBT_RUN(test_modules_and_optimizers);
    return nbt_finish();
}
