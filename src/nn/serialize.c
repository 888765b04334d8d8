/*
 * serialize.c — a module's state (parameters and buffers under their
 * state_dict names) to and from a safetensors file: nb_module_save and
 * nb_module_load.
 *
 * Loading is all or nothing, as torch's load_state_dict(strict=True) is
 * meant to be: the file must hold exactly the module's names, with the
 * same shapes and dtypes of the same kind (a floating tensor loads from
 * F64 / F32 / F16 / BF16, an integer one from an integer dtype, a bool one
 * from BOOL). Everything is checked, and every tensor read from the file,
 * before the first value is written, so a failed load (a mismatch, a
 * corrupt file, out of memory) leaves the module as it was. The values are
 * then copied in place, under no-grad, into the module's own tensors:
 * handles to parameters that an optimizer holds stay valid.
 */
#include "nn/module.h"

#include "io/safetensors.h"

#include <stdlib.h>

/* The module's parameters then buffers, with their full names (borrowed
 * from the module). *count = -1 on failure (error recorded). */
typedef struct {
    nb_tensor  **tensors;
    const char **names;
    int64_t      count;
} state;

static void state_free(state *s)
{
    free(s->tensors);
    free(s->names);
}

static bool collect_state(nb_module *m, const char *op, const char *path, state *s)
{
    memset(s, 0, sizeof *s);
    int64_t n_parameters = nb_module_parameters(m, NULL, NULL, 0);
    int64_t n_buffers    = nb_module_buffers(m, NULL, NULL, 0);
    if (n_parameters < 0 || n_buffers < 0) return false;
    int64_t n  = n_parameters + n_buffers;
    s->tensors = malloc((size_t)(n > 0 ? n : 1) * sizeof *s->tensors);
    s->names   = malloc((size_t)(n > 0 ? n : 1) * sizeof *s->names);
    if (s->tensors == NULL || s->names == NULL) {
        state_free(s);
        nbi_fail(NB_ERR_OOM, "%s: %s: out of memory", op, path);
        return false;
    }
    if (nb_module_parameters(m, s->tensors, s->names, n_parameters) < 0 ||
        nb_module_buffers(m, s->tensors + n_parameters, s->names + n_parameters, n_buffers) < 0) {
        state_free(s);
        return false;
    }
    s->count = n;
    return true;
}

nb_status nb_module_save(nb_module *m, const char *path)
{
    if (!nbi_check_module(m, "nb_module_save", "m") || !nbi_check_pointer(path, "nb_module_save", "path"))
        return NB_ERR_ARG;
    state s;
    if (!collect_state(m, "nb_module_save", path, &s)) return nb_last_status();
    /* Atomic: a failed save leaves the previous file as it was. */
    nb_status status = nbi_save_safetensors_as("nb_module_save", path, s.names, s.tensors, s.count, NULL, NULL, 0);
    state_free(&s);
    return status;
}

/* Same kind of dtype: what a module tensor of dtype `want` may load from. */
static bool same_kind(nb_dtype want, nb_dtype have)
{
    if (nb_dtype_is_floating(want)) return nb_dtype_is_floating(have);
    if (want == NB_BOOL) return have == NB_BOOL;
    return nbi_is_integral(have);
}

/* The first name of `wanted` not in the file, or the first file name not
 * in `wanted`, as "missing key 'x'" / "unexpected key 'y'" (NB_ERR_ARG). */
static bool check_names(const nb_safetensors *f, const state *s, const char *path)
{
    int64_t n_file = nb_safetensors_count(f);
    bool   *used   = calloc((size_t)(n_file > 0 ? n_file : 1), sizeof *used);
    if (used == NULL) return nbi_fail(NB_ERR_OOM, "nb_module_load: %s: out of memory", path), false;
    bool ok = true;
    /* A binary search per name (the file keeps its names sorted): a scan
     * of the file per name made n names cost n^2 comparisons. */
    for (int64_t i = 0; i < s->count && ok; i++) {
        const nbi_st_entry *e = nbi_safetensors_find(f, s->names[i]);
        if (e != NULL) used[e - f->entries] = true;
        if (e == NULL) {
            nbi_fail(NB_ERR_ARG, "nb_module_load: %s: missing key '%s'", path, s->names[i]);
            ok = false;
        }
    }
    for (int64_t j = 0; j < n_file && ok; j++)
        if (!used[j]) {
            nbi_fail(NB_ERR_ARG, "nb_module_load: %s: unexpected key '%s'", path, nb_safetensors_name(f, j));
            ok = false;
        }
    free(used);
    return ok;
}

nb_status nb_module_load(nb_module *m, const char *path)
{
    if (!nbi_check_module(m, "nb_module_load", "m") || !nbi_check_pointer(path, "nb_module_load", "path"))
        return NB_ERR_ARG;
    nb_safetensors *f = nb_safetensors_load(path);
    if (f == NULL) return nb_last_status();
    state s;
    if (!collect_state(m, "nb_module_load", path, &s)) {
        nb_safetensors_free(f);
        return nb_last_status();
    }
    nb_tensor **loaded = calloc((size_t)(s.count > 0 ? s.count : 1), sizeof *loaded);
    bool        ok     = loaded != NULL;
    if (!ok) nbi_fail(NB_ERR_OOM, "nb_module_load: %s: out of memory", path);
    ok = ok && check_names(f, &s, path);

    /* Read every tensor and check it before writing any. */
    char want_shape[NBI_SHAPE_STR_SIZE], have_shape[NBI_SHAPE_STR_SIZE];
    for (int64_t i = 0; i < s.count && ok; i++) {
        nb_tensor *target = s.tensors[i];
        nb_tensor *value  = nb_safetensors_get(f, s.names[i]);
        loaded[i]         = value;
        if (value == NULL) {
            ok = false;
        } else if (value->ndim != target->ndim ||
                   memcmp(value->shape, target->shape, (size_t)target->ndim * sizeof target->shape[0]) != 0) {
            nbi_fail(NB_ERR_SHAPE, "nb_module_load: %s: tensor '%s' has shape %s in the file but %s in the module",
                     path, s.names[i], nbi_shape_str(value->ndim, value->shape, have_shape, sizeof have_shape),
                     nbi_shape_str(target->ndim, target->shape, want_shape, sizeof want_shape));
            ok = false;
        } else if (!same_kind(target->dtype, value->dtype)) {
            nbi_fail(NB_ERR_DTYPE, "nb_module_load: %s: tensor '%s' is %s in the file but %s in the module", path,
                     s.names[i], nb_dtype_name(value->dtype), nb_dtype_name(target->dtype));
            ok = false;
        } else if (value->storage->device.type != target->storage->device.type ||
                   value->storage->device.index != target->storage->device.index) {
            loaded[i] = nb_to(value, target->storage->device); /* moved now, so writing cannot fail on it */
            nb_free(value);
            ok = loaded[i] != NULL;
        }
    }
    /* Write. nb_copy_ converts the dtype (F64 into float32, ...) and moves
     * data to the module's device; under no-grad it records nothing, and a
     * parameter that requires grad may be written in place. */
    if (ok && nb_no_grad_begin() != NB_OK) ok = false;
    if (ok) {
        for (int64_t i = 0; i < s.count && ok; i++)
            ok = nb_copy_(s.tensors[i], loaded[i]) != NULL;
        nb_no_grad_end();
    }
    nb_status status = ok ? NB_OK : nb_last_status();
    if (status == NB_OK && !ok) status = NB_ERR_STATE;
    for (int64_t i = 0; loaded && i < s.count; i++)
        nb_free(loaded[i]);
    free(loaded);
    state_free(&s);
    nb_safetensors_free(f);
    return status;
}
