/*
 * safetensors_write.c — nb_save_safetensors: tensors under names (and
 * string metadata) to a safetensors file, laid out as the reference
 * library (huggingface/safetensors, which safetensors.torch.save_file
 * calls) lays them out:
 *
 *   - tensors ordered by dtype, widest first (I64, F64, F32, I32, U8,
 *     BOOL, the reference's order), then by name; each one's data follows
 *     the previous one's, so every tensor starts at a multiple of its own
 *     element size;
 *   - the header is compact JSON ({"__metadata__":{...},"name":{"dtype":
 *     "F32","shape":[2,3],"data_offsets":[0,24]},...}), tensors in data
 *     order, metadata keys sorted (the reference's are in hash order),
 *     padded with spaces to a multiple of 8 bytes so the data starts
 *     8-aligned.
 *
 * Tensors are written as their own dtype: float32 as F32, float64 as F64,
 * int64 as I64, int32 as I32, uint8 as U8, bool as BOOL.
 */
#include "safetensors.h"

#include "json.h"

#include <stdlib.h>

static const char *file_dtype_name(nb_dtype dtype)
{
    switch (dtype) {
    case NB_FLOAT32:
        return "F32";
    case NB_FLOAT64:
        return "F64";
    case NB_INT64:
        return "I64";
    case NB_INT32:
        return "I32";
    case NB_UINT8:
        return "U8";
    case NB_BOOL:
        return "BOOL";
    default:
        return NULL;
    }
}

/* The reference orders tensors by its Dtype enum, descending: I64 > F64 >
 * F32 > I32 > U8 > BOOL among the dtypes nabla writes. */
static int dtype_rank(nb_dtype dtype)
{
    switch (dtype) {
    case NB_INT64:
        return 5;
    case NB_FLOAT64:
        return 4;
    case NB_FLOAT32:
        return 3;
    case NB_INT32:
        return 2;
    case NB_UINT8:
        return 1;
    default:
        return 0; /* NB_BOOL */
    }
}

/* What qsort compares: the names and tensors being saved (thread-local: no
 * context argument in qsort). */
static _Thread_local const char *const *sort_names;
static _Thread_local nb_tensor *const  *sort_tensors;

static int by_dtype_then_name(const void *a, const void *b)
{
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    int     ri = dtype_rank(sort_tensors[i]->dtype), rj = dtype_rank(sort_tensors[j]->dtype);
    if (ri != rj) return ri > rj ? -1 : 1;
    return strcmp(sort_names[i], sort_names[j]);
}

static int strings_in_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */
/* ------------------------------------------------------------------------ */

/* Each string present and valid UTF-8 (the header is UTF-8 JSON). */
static bool check_strings(const char *path, const char *const *strings, int64_t count, const char *what)
{
    for (int64_t i = 0; i < count; i++) {
        if (strings[i] == NULL)
            return nbi_fail(NB_ERR_ARG, "nb_save_safetensors: %s: %s %lld is NULL", path, what, (long long)i), false;
        if (!nbi_utf8_is_valid(strings[i], strlen(strings[i])))
            return nbi_fail(NB_ERR_ARG, "nb_save_safetensors: %s: %s %lld is not valid UTF-8", path, what,
                            (long long)i),
                   false;
    }
    return true;
}

/* No string twice (sorted copy of the pointers). */
static bool check_unique(const char *path, const char *const *strings, int64_t count, const char *what)
{
    if (count < 2) return true;
    const char **sorted = malloc((size_t)count * sizeof *sorted);
    if (sorted == NULL) return nbi_fail(NB_ERR_OOM, "nb_save_safetensors: %s: out of memory", path), false;
    memcpy(sorted, strings, (size_t)count * sizeof *sorted);
    qsort(sorted, (size_t)count, sizeof *sorted, strings_in_order);
    bool ok = true;
    for (int64_t i = 1; i < count && ok; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            nbi_fail(NB_ERR_ARG, "nb_save_safetensors: %s: %s '%s' is given twice", path, what, sorted[i]);
            ok = false;
        }
    free(sorted);
    return ok;
}

static bool check_arguments(const char *path, const char *const *names, nb_tensor *const *tensors, int64_t count,
                            const char *const *metadata_keys, const char *const *metadata_values, int64_t n_metadata,
                            bool *null_tensor)
{
    if (path == NULL) return nbi_fail(NB_ERR_ARG, "nb_save_safetensors: argument 'path' is NULL"), false;
    if (count < 0 || n_metadata < 0)
        return nbi_fail(NB_ERR_ARG, "nb_save_safetensors: %s: count %lld and n_metadata %lld must be >= 0", path,
                        (long long)count, (long long)n_metadata),
               false;
    if (count > 0 && (names == NULL || tensors == NULL))
        return nbi_fail(NB_ERR_ARG, "nb_save_safetensors: %s: argument '%s' is NULL", path,
                        names == NULL ? "names" : "tensors"),
               false;
    if (n_metadata > 0 && (metadata_keys == NULL || metadata_values == NULL))
        return nbi_fail(NB_ERR_ARG, "nb_save_safetensors: %s: argument '%s' is NULL", path,
                        metadata_keys == NULL ? "metadata_keys" : "metadata_values"),
               false;
    for (int64_t i = 0; i < count; i++)
        if (!nbi_check_tensor(tensors[i], "nb_save_safetensors", "tensors[i]")) {
            *null_tensor = true; /* the earlier error, if any, stays */
            return false;
        }
    if (!check_strings(path, names, count, "name") || !check_strings(path, metadata_keys, n_metadata, "metadata key") ||
        !check_strings(path, metadata_values, n_metadata, "metadata value"))
        return false;
    for (int64_t i = 0; i < count; i++)
        if (strcmp(names[i], "__metadata__") == 0)
            return nbi_fail(NB_ERR_ARG, "nb_save_safetensors: %s: the name '__metadata__' is reserved by the format",
                            path),
                   false;
    return check_unique(path, names, count, "name") && check_unique(path, metadata_keys, n_metadata, "metadata key");
}

/* ------------------------------------------------------------------------ */
/* Header                                                                    */
/* ------------------------------------------------------------------------ */

/* The padded header text into w; order is the tensors' data order. */
static bool build_header(nbi_json_writer *w, const char *const *names, nb_tensor *const *tensors, const int64_t *order,
                         int64_t count, const char *const *metadata_keys, const char *const *metadata_values,
                         int64_t n_metadata)
{
    nbi_json_write_raw(w, "{", 1);
    bool first = true;
    if (n_metadata > 0) {
        int64_t *sorted = malloc((size_t)n_metadata * sizeof *sorted);
        if (sorted == NULL) return false;
        /* Sort indices by key: keys are unique, so any sort gives one order. */
        for (int64_t i = 0; i < n_metadata; i++)
            sorted[i] = i;
        for (int64_t i = 1; i < n_metadata; i++) /* insertion sort: metadata is a handful of keys */
            for (int64_t j = i; j > 0 && strcmp(metadata_keys[sorted[j - 1]], metadata_keys[sorted[j]]) > 0; j--) {
                int64_t swap  = sorted[j];
                sorted[j]     = sorted[j - 1];
                sorted[j - 1] = swap;
            }
        nbi_json_write_raw(w, "\"__metadata__\":{", 16);
        for (int64_t i = 0; i < n_metadata; i++) {
            if (i) nbi_json_write_raw(w, ",", 1);
            const char *key = metadata_keys[sorted[i]], *value = metadata_values[sorted[i]];
            nbi_json_write_string(w, key, strlen(key));
            nbi_json_write_raw(w, ":", 1);
            nbi_json_write_string(w, value, strlen(value));
        }
        nbi_json_write_raw(w, "}", 1);
        free(sorted);
        first = false;
    }
    uint64_t offset = 0;
    for (int64_t k = 0; k < count; k++) {
        const nb_tensor *t    = tensors[order[k]];
        const char      *name = names[order[k]];
        const char      *type = file_dtype_name(t->dtype);
        if (!first) nbi_json_write_raw(w, ",", 1);
        first = false;
        nbi_json_write_string(w, name, strlen(name));
        nbi_json_write_raw(w, ":{\"dtype\":\"", 11);
        nbi_json_write_raw(w, type, strlen(type));
        nbi_json_write_raw(w, "\",\"shape\":[", 11);
        for (int d = 0; d < t->ndim; d++) {
            if (d) nbi_json_write_raw(w, ",", 1);
            nbi_json_write_int(w, t->shape[d]);
        }
        /* numel * itemsize < 2^63 for any tensor, and the sum of tensors
         * that exist in memory fits too. */
        uint64_t bytes = (uint64_t)t->numel * nbi_itemsize(t);
        nbi_json_write_raw(w, "],\"data_offsets\":[", 18);
        nbi_json_write_int(w, (int64_t)offset);
        nbi_json_write_raw(w, ",", 1);
        nbi_json_write_int(w, (int64_t)(offset + bytes));
        nbi_json_write_raw(w, "]}", 2);
        offset += bytes;
    }
    nbi_json_write_raw(w, "}", 1);
    while (!w->failed && w->length % 8 != 0)
        nbi_json_write_raw(w, " ", 1);
    return !w->failed;
}

/* ------------------------------------------------------------------------ */
/* Data                                                                      */
/* ------------------------------------------------------------------------ */

/* Write one tensor: from a CPU, contiguous copy when it is not one. */
static nb_status write_tensor(FILE *f, const nb_tensor *t, bool *io_ok)
{
    nb_tensor *host = NULL, *c_order = NULL;
    if (t->storage->device.type != NB_CPU) {
        host = nb_to(t, NB_DEVICE_CPU);
        if (host == NULL) return nb_last_status();
        t = host;
    }
    if (!nb_is_contiguous(t)) {
        c_order = nb_contiguous(t);
        if (c_order == NULL) {
            nb_free(host);
            return nb_last_status();
        }
        t = c_order;
    }
    *io_ok = nbi_write_little_endian(f, t);
    nb_free(c_order);
    nb_free(host);
    return NB_OK;
}

nb_status nb_save_safetensors(const char *path, const char *const *names, nb_tensor *const *tensors, int64_t count,
                              const char *const *metadata_keys, const char *const *metadata_values, int64_t n_metadata)
{
    bool null_tensor = false;
    if (!check_arguments(path, names, tensors, count, metadata_keys, metadata_values, n_metadata, &null_tensor))
        return null_tensor ? NB_ERR_ARG : nb_last_status();

    int64_t *order = malloc((size_t)(count > 0 ? count : 1) * sizeof *order);
    if (order == NULL) return nbi_fail_status(NB_ERR_OOM, "nb_save_safetensors: %s: out of memory", path);
    for (int64_t i = 0; i < count; i++)
        order[i] = i;
    sort_names   = names;
    sort_tensors = tensors;
    qsort(order, (size_t)count, sizeof *order, by_dtype_then_name);
    sort_names   = NULL;
    sort_tensors = NULL;

    nbi_json_writer header = {0};
    if (!build_header(&header, names, tensors, order, count, metadata_keys, metadata_values, n_metadata)) {
        nbi_json_writer_free(&header);
        free(order);
        return nbi_fail_status(NB_ERR_OOM, "nb_save_safetensors: %s: out of memory for the header", path);
    }

    FILE *f = nbi_open_for_writing("nb_save_safetensors", path);
    if (f == NULL) {
        nbi_json_writer_free(&header);
        free(order);
        return NB_ERR_IO;
    }
    unsigned char length[8];
    for (int i = 0; i < 8; i++)
        length[i] = (unsigned char)((uint64_t)header.length >> (8 * i));
    bool      ok     = fwrite(length, 1, 8, f) == 8 && fwrite(header.data, 1, header.length, f) == header.length;
    nb_status status = NB_OK;
    for (int64_t k = 0; k < count && ok && status == NB_OK; k++)
        status = write_tensor(f, tensors[order[k]], &ok);
    /* A half-written file is left as it is (as nb_save_npy does). A tensor
     * that could not be copied out is the error to report, not the close. */
    if (status == NB_OK)
        status = nbi_close_written(f, ok, "nb_save_safetensors", path);
    else
        fclose(f);
    nbi_json_writer_free(&header);
    free(order);
    return status;
}
