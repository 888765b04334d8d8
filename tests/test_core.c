/*
 * test_core.c — the tensor object itself: accessors, ownership (free,
 * scopes, keep, the live count), the error model, allocation hooks, dtype
 * promotion tables, threads setting.
 */
#define _POSIX_C_SOURCE 200809L /* posix_memalign */
#include "core/internal.h"
#include "cpu/cpu.h"
#include "nb_test.h"

#if defined(__unix__)
#include <pthread.h>
#endif

static void test_accessors(void)
{
    nb_tensor *t = nb_zeros(NB_SHAPE(2, 3, 4), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_ndim(t) == 3);
    NBT_CHECK(nb_numel(t) == 24);
    NBT_CHECK(nb_size(t, 0) == 2 && nb_size(t, -1) == 4);
    NBT_CHECK(nb_stride(t, 0) == 12 && nb_stride(t, 1) == 4 && nb_stride(t, 2) == 1);
    NBT_CHECK(nb_dtype_of(t) == NB_FLOAT64);
    NBT_CHECK(nb_device_of(t).type == NB_CPU);
    NBT_CHECK(nb_is_contiguous(t));
    NBT_CHECK(nb_storage_offset(t) == 0);
    NBT_CHECK(!nb_requires_grad(t));
    NBT_CHECK(nb_data(t) != NULL);
    nb_shape s = nb_shape_of(t);
    NBT_CHECK(s.ndim == 3 && s.dims[0] == 2 && s.dims[1] == 3 && s.dims[2] == 4);
    NBT_CHECK(nb_size(t, 3) == -1);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_size: dim 3 is out of range for a 3-d tensor (expected -3 to 2)");
    NBT_CHECK(nb_stride(t, -4) == -1);
    NBT_CHECK_ERROR(NB_ERR_INDEX, "nb_stride: dim -4 is out of range");
    /* A transposed view is not contiguous: nb_data refuses it. */
    nb_tensor *tt = nb_transpose(t, 0, 2);
    NBT_CHECK(!nb_is_contiguous(tt));
    NBT_CHECK(nb_data(tt) == NULL);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_data: the tensor is not contiguous; call nb_contiguous first");
    nb_free(tt);
    nb_free(t);
    /* 0-d and empty tensors. */
    nb_tensor *scalar = nb_scalar(2.5, NB_OPTS());
    NBT_CHECK(nb_ndim(scalar) == 0 && nb_numel(scalar) == 1 && nb_item(scalar) == 2.5);
    NBT_CHECK(nb_size(scalar, -1) == 1); /* a 0-d tensor accepts dim -1 and 0 */
    nb_tensor *empty = nb_empty(NB_SHAPE(3, 0, 2), NB_OPTS());
    NBT_CHECK(nb_numel(empty) == 0 && nb_is_contiguous(empty));
    NBT_CHECK(nb_item(empty) != nb_item(empty)); /* NAN */
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_item: a tensor with 0 elements (shape [3, 0, 2]) cannot be converted to a scalar");
    nb_free(scalar);
    nb_free(empty);
}

static void test_copy_to_buffer(void)
{
    nb_scope_begin();
    nb_tensor *t = nb_arange(0, 6, 1, NB_OPTS(.dtype = NB_INT32));
    nb_tensor *m = nb_t(nb_reshape(t, NB_SHAPE(2, 3)));
    int32_t    out[6];
    NBT_CHECK(nb_copy_to_buffer(m, out, sizeof out) == NB_OK);
    NBT_CHECK(out[0] == 0 && out[1] == 3 && out[2] == 1 && out[3] == 4 && out[4] == 2 && out[5] == 5);
    NBT_CHECK(nb_copy_to_buffer(m, out, 8) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_copy_to_buffer: the buffer holds 8 bytes but the tensor needs 24");
    NBT_CHECK(nb_item_int64(nb_select(t, 0, 5)) == 5);
    nb_scope_end();
}

static void test_scopes(void)
{
    int64_t live = nb_live_tensors();
    NBT_CHECK(nb_scope_begin() == NB_OK);
    nb_tensor *a = nb_ones(NB_SHAPE(3), NB_OPTS());
    nb_tensor *b = nb_add(a, a);
    nb_tensor *kept = nb_keep(nb_mul(b, b));
    NBT_CHECK(nb_live_tensors() == live + 3);
    nb_free(a); /* freed early: the scope forgets it */
    NBT_CHECK(nb_live_tensors() == live + 2);
    NBT_CHECK(nb_scope_end() == NB_OK);
    NBT_CHECK(nb_live_tensors() == live + 1); /* only the kept one */
    NBT_CHECK_TENSOR(kept, NB_SHAPE(3), 0, 4, 4, 4);
    nb_free(kept);
    NBT_CHECK(nb_live_tensors() == live);

    /* Nested: keep moves a tensor one level out, not to the top. */
    nb_scope_begin();
    nb_scope_begin();
    nb_tensor *inner = nb_keep(nb_zeros(NB_SHAPE(2), NB_OPTS()));
    nb_scope_end();
    NBT_CHECK(nb_live_tensors() == live + 1);
    NBT_CHECK(nb_numel(inner) == 2);
    nb_scope_end();
    NBT_CHECK(nb_live_tensors() == live);

    /* A view outlives its base's handle: storage is shared and counted. */
    nb_tensor *base = nb_arange(0, 4, 1, NB_OPTS());
    nb_tensor *view = nb_slice(base, 0, 1, 3, 1);
    nb_free(base);
    NBT_CHECK_TENSOR(view, NB_SHAPE(2), 0, 1, 2);
    nb_free(view);

    NBT_CHECK(nb_scope_end() == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "nb_scope_end: no scope is open");
    for (int i = 0; i < 64; i++) nb_scope_begin();
    NBT_CHECK(nb_scope_begin() == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "scopes nest at most 64 deep");
    for (int i = 0; i < 64; i++) nb_scope_end();
    nb_free(NULL);                    /* harmless */
    NBT_CHECK(nb_keep(NULL) == NULL); /* harmless */
}

static void test_many_steps_in_scopes(void)
{
    /* A training-like loop: the live count returns to its start. */
    nb_tensor *w     = nb_ones(NB_SHAPE(8, 8), NB_OPTS());
    int64_t    start = nb_live_tensors();
    for (int step = 0; step < 2000; step++) {
        nb_scope_begin();
        nb_tensor *x = nb_full(NB_SHAPE(8, 8), 0.001, NB_OPTS());
        nb_tensor *y = nb_tanh(nb_add(nb_mul(x, w), x));
        nb_sub_(w, nb_mul_scalar(y, 0.01));
        nb_scope_end();
    }
    NBT_CHECK(nb_live_tensors() == start);
    nb_scope_begin();
    NBT_CHECK(nb_item(nb_select(nb_select(w, 0, 0), 0, 0)) < 1);
    nb_scope_end();
    nb_free(w);
}

static void test_errors_are_sticky_and_first(void)
{
    nb_clear_error();
    NBT_CHECK(nb_last_status() == NB_OK && strcmp(nb_last_error(), "") == 0);
    nb_scope_begin();
    nb_tensor *a   = nb_ones(NB_SHAPE(2), NB_OPTS());
    nb_tensor *bad = nb_exp(nb_add(a, nb_ones(NB_SHAPE(3), NB_OPTS(.dtype = NB_INT64))));
    NBT_CHECK(bad == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_add: shapes [2] and [3] cannot be broadcast");
    nb_scope_end();
    NBT_CHECK(strcmp(nb_status_name(NB_ERR_DTYPE), "NB_ERR_DTYPE") == 0);
    NBT_CHECK(strcmp(nb_status_name((nb_status)99), "NB_ERR_UNKNOWN") == 0);
}

static int    hook_allocs, hook_releases;
static size_t hook_bytes;
static void  *counting_alloc(size_t bytes, void *user)
{
    (void)user;
    hook_allocs++;
    hook_bytes += bytes;
    void *p = NULL;
    return posix_memalign(&p, 64, bytes) == 0 ? p : NULL;
}
static void counting_release(void *ptr, size_t bytes, void *user)
{
    (void)bytes;
    (void)user;
    hook_releases++;
    free(ptr);
}
static void *failing_alloc(size_t bytes, void *user)
{
    (void)bytes;
    (void)user;
    return NULL;
}

static void test_allocator_hooks(void)
{
    nb_tensor *alive = nb_ones(NB_SHAPE(1), NB_OPTS());
    NBT_CHECK(nb_set_allocator(counting_alloc, counting_release, NULL) == NB_ERR_STATE);
    NBT_CHECK_ERROR(NB_ERR_STATE, "tensors are alive");
    nb_free(alive);
    NBT_CHECK(nb_set_allocator(counting_alloc, NULL, NULL) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "give both alloc and release");
    NBT_CHECK(nb_set_allocator(counting_alloc, counting_release, NULL) == NB_OK);
    nb_tensor *t = nb_zeros(NB_SHAPE(1000), NB_OPTS());
    NBT_CHECK(hook_allocs == 1 && hook_bytes >= 4000);
    nb_free(t);
    nb_empty_cache();
    NBT_CHECK(hook_releases == 1);
    /* Out of memory is an error like any other, and nothing is left behind. */
    NBT_CHECK(nb_set_allocator(failing_alloc, counting_release, NULL) == NB_OK);
    NBT_CHECK(nb_zeros(NB_SHAPE(1000), NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_OOM, "out of host memory allocating 4000 bytes");
    NBT_CHECK(nb_set_allocator(NULL, NULL, NULL) == NB_OK); /* back to the default */
    nb_tensor *after = nb_ones(NB_SHAPE(3), NB_OPTS());
    NBT_CHECK_TENSOR(after, NB_SHAPE(3), 0, 1, 1, 1);
    nb_free(after);
}

/* Bytes the library holds from the counting hooks (allocated, not given
 * back). */
static size_t held_bytes;
static void  *holding_alloc(size_t bytes, void *user)
{
    (void)user;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
    held_bytes += bytes;
    return p;
}
static void holding_release(void *ptr, size_t bytes, void *user)
{
    (void)user;
    held_bytes -= bytes;
    free(ptr);
}

/* A freed block stays cached for a tensor of its size; a large request of
 * another size gives back cached large blocks of sizes asked for once, so a
 * program whose sizes move on (evaluation, layer after layer) does not keep
 * each size; sizes asked for again (a training step's) stay cached. */
static void test_cache_gives_back_large_blocks(void)
{
    NBT_CHECK(nb_set_allocator(holding_alloc, holding_release, NULL) == NB_OK);
    const size_t mib = (size_t)1 << 20;
    nb_free(nb_zeros(NB_SHAPE(1 << 20), NB_OPTS())); /* 4 MiB, made once: cached */
    size_t four = held_bytes;
    NBT_CHECK(four >= 4 * mib && four < 5 * mib);
    nb_tensor *bigger = nb_zeros(NB_SHAPE(3 << 20), NB_OPTS()); /* 12 MiB: the 4 MiB block goes back */
    NBT_CHECK(held_bytes >= 12 * mib && held_bytes < 13 * mib);
    nb_free(bigger);
    nb_tensor *reused = nb_zeros(NB_SHAPE(3 << 20), NB_OPTS()); /* 12 MiB asked for again: kept from now on */
    NBT_CHECK(held_bytes >= 12 * mib && held_bytes < 13 * mib);
    nb_free(reused);
    nb_tensor *other = nb_zeros(NB_SHAPE(2 << 20), NB_OPTS()); /* 8 MiB: the 12 MiB block stays */
    NBT_CHECK(held_bytes >= 20 * mib && held_bytes < 22 * mib);
    nb_free(other);
    nb_tensor *small = nb_zeros(NB_SHAPE(1000), NB_OPTS()); /* small requests never give back */
    NBT_CHECK(held_bytes >= 20 * mib);
    nb_free(small);
    nb_empty_cache();
    NBT_CHECK(held_bytes == 0);
    NBT_CHECK(nb_set_allocator(NULL, NULL, NULL) == NB_OK);
}

#if defined(__unix__)
/* Makes tensors, records a graph and runs backward, so that blocks, headers
 * and the graph's release list all end up in this thread's caches. */
static void *make_tensors_in_a_thread(void *result)
{
    bool *ok = result;
    if (nb_scope_begin() != NB_OK) return NULL;
    nb_tensor *x = nb_full(NB_SHAPE(1000), 3.0, NB_OPTS(.requires_grad = true));
    nb_tensor *y = nb_sum(nb_mul(x, x));
    *ok          = nb_backward(y) == NB_OK && nb_item(nb_sum(nb_grad(x))) == 6000.0;
    nb_scope_end();
    return NULL;
}

/* A thread that ends gives back what its caches held: every block the
 * allocator handed to it comes back to the allocator (under ASan the
 * headers and the release list would show up as leaks at exit). */
static void test_thread_exit_returns_caches(void)
{
    NBT_CHECK(nb_set_allocator(counting_alloc, counting_release, NULL) == NB_OK);
    int       allocs = hook_allocs, releases = hook_releases;
    bool      ok     = false;
    pthread_t thread;
    NBT_CHECK(pthread_create(&thread, NULL, make_tensors_in_a_thread, &ok) == 0);
    NBT_CHECK(pthread_join(thread, NULL) == 0);
    NBT_CHECK(ok);
    NBT_CHECK(hook_allocs - allocs >= 3);
    NBT_CHECK(hook_releases - releases == hook_allocs - allocs);
    NBT_CHECK(nb_set_allocator(NULL, NULL, NULL) == NB_OK);
}
#endif

static void test_huge_shape_is_an_error(void)
{
    NBT_CHECK(nb_empty(NB_SHAPE(INT64_C(1) << 40, INT64_C(1) << 30), NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "has too many elements");
    NBT_CHECK(nb_empty(NB_SHAPE(INT64_C(1) << 45), NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_OOM, "out of host memory");
    /* Empty, but the other sizes would overflow the strides. */
    NBT_CHECK(nb_zeros(NB_SHAPE(0, INT64_C(1) << 40, INT64_C(1) << 40), NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "has too many elements");
    NBT_CHECK(nb_zeros(NB_SHAPE(2, -1), NB_OPTS()) == NULL);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "size -1 in shape [2, -1] is negative");
}

static void test_promote_types(void)
{
    NBT_CHECK(nb_promote_types(NB_FLOAT32, NB_FLOAT64) == NB_FLOAT64);
    NBT_CHECK(nb_promote_types(NB_INT64, NB_FLOAT32) == NB_FLOAT32);
    NBT_CHECK(nb_promote_types(NB_UINT8, NB_INT32) == NB_INT32);
    NBT_CHECK(nb_promote_types(NB_UINT8, NB_BOOL) == NB_UINT8);
    NBT_CHECK(nb_promote_types(NB_INT32, NB_INT64) == NB_INT64);
    NBT_CHECK(nb_promote_types(NB_BOOL, NB_BOOL) == NB_BOOL);
    NBT_CHECK(nb_dtype_size(NB_INT32) == 4 && nb_dtype_size(NB_BOOL) == 1);
    NBT_CHECK(strcmp(nb_dtype_name(NB_UINT8), "uint8") == 0);
    nb_shape out;
    NBT_CHECK(nb_broadcast_shapes(NB_SHAPE(3, 1), NB_SHAPE(4), &out) == NB_OK);
    NBT_CHECK(out.ndim == 2 && out.dims[0] == 3 && out.dims[1] == 4);
    NBT_CHECK(nb_broadcast_shapes(NB_SHAPE(3), NB_SHAPE(4), &out) == NB_ERR_SHAPE);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_broadcast_shapes: shapes [3] and [4] cannot be broadcast");
}

static void test_threads_setting(void)
{
    int saved = nb_get_num_threads();
    NBT_CHECK(saved >= 1);
    NBT_CHECK(nb_set_num_threads(0) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_set_num_threads: need at least 1 thread, got 0");
    NBT_CHECK(nb_set_num_threads(1) == NB_OK && nb_get_num_threads() == 1);
    nb_set_num_threads(saved);
    NBT_CHECK(strcmp(nb_gemm_backend(), "openblas") == 0 || strcmp(nb_gemm_backend(), "fallback") == 0);
}

static void test_devices(void)
{
    /* No GPU on the machines that run these tests without one: every CUDA
     * request is a clear NB_ERR_DEVICE, and nothing else changes. */
    if (nb_cuda_is_available()) {
        printf("test_devices: a CUDA device is present; tests/test_cuda.c covers it\n");
        return;
    }
    NBT_CHECK(nb_cuda_device_count() == 0);
    nb_tensor *t = nb_ones(NB_SHAPE(2), NB_OPTS(.device = NB_DEVICE_CUDA(0)));
    NBT_CHECK(t == NULL);
    NBT_CHECK_ERROR(NB_ERR_DEVICE, "nb_ones: there is no CUDA device");
    nb_tensor *c = nb_ones(NB_SHAPE(2), NB_OPTS());
    NBT_CHECK(nb_to(c, NB_DEVICE_CUDA(0)) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DEVICE, "nb_to: there is no CUDA device");
    NBT_CHECK(nb_to(c, (nb_device){ (nb_device_type)7, 0 }) == NULL);
    NBT_CHECK_ERROR(NB_ERR_DEVICE, "nb_to: 7 is not a device type");
    nb_tensor *same = nb_to(c, NB_DEVICE_CPU);
    NBT_CHECK(same != NULL && nb_data(same) == nb_data(c));
    nb_cuda_memory_stats stats;
    NBT_CHECK(nb_cuda_memory(0, &stats) == NB_ERR_DEVICE);
    NBT_CHECK(nb_cuda_synchronize() == NB_OK);
    nb_cuda_empty_cache();
    nb_free(same);
    nb_free(c);

    nb_device d = NB_DEVICE_CPU;
    NBT_CHECK(nb_device_parse("cuda:3", &d) == NB_OK && d.type == NB_CUDA && d.index == 3);
    NBT_CHECK(nb_device_parse("cuda", &d) == NB_OK && d.type == NB_CUDA && d.index == 0);
    NBT_CHECK(nb_device_parse("cpu", &d) == NB_OK && d.type == NB_CPU && d.index == 0);
    NBT_CHECK(nb_device_parse("gpu", &d) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "'gpu' is not a device (expected cpu, cuda or cuda:N)");
}

/* The iterator collapses every dim an operand walks as one run: a
 * contiguous 4-d tensor is one loop of numel elements. */
static void test_iterator_collapses_dims(void)
{
    nb_scope_begin();
    nb_tensor       *a = nb_zeros(NB_SHAPE(4, 8, 6, 5), NB_OPTS());
    nb_tensor       *b = nb_ones(NB_SHAPE(4, 8, 6, 5), NB_OPTS());
    const nb_tensor *same[2] = { a, b };
    nbi_iter         it;
    nbi_iter_init(&it, 2, same);
    NBT_CHECK(it.ndim == 1 && it.shape[0] == 4 * 8 * 6 * 5);
    /* A broadcast (6, 5) operand: the two leading dims merge (stride 0 in
     * both), the two trailing ones too, but not across: 32 x 30. */
    nb_tensor       *c = nb_ones(NB_SHAPE(6, 5), NB_OPTS());
    const nb_tensor *broadcast[2] = { a, c };
    nbi_iter_init(&it, 2, broadcast);
    NBT_CHECK(it.ndim == 2 && it.shape[0] == 32 && it.shape[1] == 30);
    /* A transposed input cannot merge with the output's order. */
    nb_tensor       *t = nb_transpose(nb_ones(NB_SHAPE(5, 6), NB_OPTS()), 0, 1);
    nb_tensor       *o = nb_zeros(NB_SHAPE(6, 5), NB_OPTS());
    const nb_tensor *transposed[2] = { o, t };
    nbi_iter_init(&it, 2, transposed);
    NBT_CHECK(it.ndim == 2);
    nb_scope_end();
}

int main(void)
{
    NBT_RUN(test_accessors);
    NBT_RUN(test_iterator_collapses_dims);
    NBT_RUN(test_copy_to_buffer);
    NBT_RUN(test_scopes);
    NBT_RUN(test_errors_are_sticky_and_first);
    NBT_RUN(test_allocator_hooks);
    NBT_RUN(test_cache_gives_back_large_blocks);
#if defined(__unix__)
    NBT_RUN(test_thread_exit_returns_caches);
#endif
    NBT_RUN(test_huge_shape_is_an_error);
    NBT_RUN(test_promote_types);
    NBT_RUN(test_threads_setting);
    NBT_RUN(test_devices);
    NBT_RUN(test_many_steps_in_scopes);
    return nbt_finish();
}
