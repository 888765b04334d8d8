/*
 * safetensors_write.c — nb_save_safetensors(_half): tensors under names (and
 * string metadata) to a safetensors file, laid out as the reference
 * library (huggingface/safetensors, which safetensors.torch.save_file
 * calls) lays them out:
 *
 *   - tensors ordered by dtype, widest first (I64, F64, F32, I32, BF16,
 *     F16, U8, BOOL, the reference's order), then by name; each one's data follows
 *     the previous one's, so every tensor starts at a multiple of its own
 *     element size;
 *   - the header is compact JSON ({"__metadata__":{...},"name":{"dtype":
 *     "F32","shape":[2,3],"data_offsets":[0,24]},...}), tensors in data
 *     order, metadata keys sorted (the reference's are in hash order),
 *     padded with spaces to a multiple of 8 bytes so the data starts
 *     8-aligned.
 *
 * Tensors are written as their own dtype: float32 as F32, float64 as F64,
 * int64 as I64, int32 as I32, uint8 as U8, bool as BOOL, float16 as F16,
 * bfloat16 as BF16, int16 as I16, int8 as I8.
 * nb_save_safetensors_half writes the float32 / float64 ones as F16 or BF16
 * instead, converted a chunk at a time while writing (rounded to nearest
 * even; see half.h).
 *
 * The file is written to a temporary beside the target and renamed over it
 * only when complete (nbi_file_writer, file.h): a failed save (a full disk,
 * a tensor that cannot be copied out) leaves the old file as it was.
 */
#include "safetensors.h"

#include "half.h"
#include "json.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* How floating tensors are stored: as themselves, or narrowed. */
typedef enum { FLOATS_AS_IS, FLOATS_AS_F16, FLOATS_AS_BF16 } float_storage;

/* The file dtype tensor data of dtype is stored as. */
static nbi_st_dtype stored_dtype(nb_dtype dtype, float_storage floats)
{
    if (dtype == NB_FLOAT32 || dtype == NB_FLOAT64) {
        if (floats == FLOATS_AS_F16) return NBI_ST_F16;
        if (floats == FLOATS_AS_BF16) return NBI_ST_BF16;
    }
    switch (dtype) {
    case NB_FLOAT32:
        return NBI_ST_F32;
    case NB_FLOAT64:
        return NBI_ST_F64;
    case NB_INT64:
        return NBI_ST_I64;
    case NB_INT32:
        return NBI_ST_I32;
    case NB_UINT8:
        return NBI_ST_U8;
    case NB_FLOAT16:
        return NBI_ST_F16;
    case NB_BFLOAT16:
        return NBI_ST_BF16;
    case NB_INT16:
        return NBI_ST_I16;
    case NB_INT8:
        return NBI_ST_I8;
    default:
        return NBI_ST_BOOL;
    }
}

/* The reference orders tensors by its Dtype enum, descending: I64 > F64 >
 * F32 > I32 > BF16 > F16 > I16 > I8 > U8 > BOOL among the dtypes nabla
 * writes (so the widest come first). */
static int dtype_rank(nbi_st_dtype dtype)
{
    switch (dtype) {
    case NBI_ST_I64:
        return 9;
    case NBI_ST_F64:
        return 8;
    case NBI_ST_F32:
        return 7;
    case NBI_ST_I32:
        return 6;
    case NBI_ST_BF16:
        return 5;
    case NBI_ST_F16:
        return 4;
    case NBI_ST_I16:
        return 3;
    case NBI_ST_I8:
        return 2;
    case NBI_ST_U8:
        return 1;
    default:
        return 0; /* NBI_ST_BOOL */
    }
}

/* What qsort compares: the names and tensors being saved (thread-local: no
 * context argument in qsort). */
static _Thread_local const char *const *sort_names;
static _Thread_local nb_tensor *const  *sort_tensors;
static _Thread_local float_storage      sort_floats;

static int by_dtype_then_name(const void *a, const void *b)
{
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    int     ri = dtype_rank(stored_dtype(sort_tensors[i]->dtype, sort_floats));
    int     rj = dtype_rank(stored_dtype(sort_tensors[j]->dtype, sort_floats));
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
static bool check_strings(const char *op, const char *path, const char *const *strings, int64_t count, const char *what)
{
    for (int64_t i = 0; i < count; i++) {
        if (strings[i] == NULL)
            return nbi_fail(NB_ERR_ARG, "%s: %s: %s %lld is NULL", op, path, what, (long long)i), false;
        if (!nbi_utf8_is_valid(strings[i], strlen(strings[i])))
            return nbi_fail(NB_ERR_ARG, "%s: %s: %s %lld is not valid UTF-8", op, path, what, (long long)i), false;
    }
    return true;
}

/* No string twice (sorted copy of the pointers). */
static bool check_unique(const char *op, const char *path, const char *const *strings, int64_t count, const char *what)
{
    if (count < 2) return true;
    const char **sorted = malloc((size_t)count * sizeof *sorted);
    if (sorted == NULL) return nbi_fail(NB_ERR_OOM, "%s: %s: out of memory", op, path), false;
    memcpy(sorted, strings, (size_t)count * sizeof *sorted);
    qsort(sorted, (size_t)count, sizeof *sorted, strings_in_order);
    bool ok = true;
    for (int64_t i = 1; i < count && ok; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            nbi_fail(NB_ERR_ARG, "%s: %s: %s '%s' is given twice", op, path, what, sorted[i]);
            ok = false;
        }
    free(sorted);
    return ok;
}

static bool check_arguments(const char *op, const char *path, const char *const *names, nb_tensor *const *tensors,
                            int64_t count, const char *const *metadata_keys, const char *const *metadata_values,
                            int64_t n_metadata, bool *null_tensor)
{
    if (path == NULL) return nbi_fail(NB_ERR_ARG, "%s: argument 'path' is NULL", op), false;
    if (count < 0 || n_metadata < 0)
        return nbi_fail(NB_ERR_ARG, "%s: %s: count %lld and n_metadata %lld must be >= 0", op, path, (long long)count,
                        (long long)n_metadata),
               false;
    if (count > 0 && (names == NULL || tensors == NULL))
        return nbi_fail(NB_ERR_ARG, "%s: %s: argument '%s' is NULL", op, path, names == NULL ? "names" : "tensors"),
               false;
    if (n_metadata > 0 && (metadata_keys == NULL || metadata_values == NULL))
        return nbi_fail(NB_ERR_ARG, "%s: %s: argument '%s' is NULL", op, path,
                        metadata_keys == NULL ? "metadata_keys" : "metadata_values"),
               false;
    for (int64_t i = 0; i < count; i++)
        if (!nbi_check_tensor(tensors[i], op, "tensors[i]")) {
            *null_tensor = true; /* the earlier error, if any, stays */
            return false;
        }
    if (!check_strings(op, path, names, count, "name") ||
        !check_strings(op, path, metadata_keys, n_metadata, "metadata key") ||
        !check_strings(op, path, metadata_values, n_metadata, "metadata value"))
        return false;
    for (int64_t i = 0; i < count; i++)
        if (strcmp(names[i], "__metadata__") == 0)
            return nbi_fail(NB_ERR_ARG, "%s: %s: the name '__metadata__' is reserved by the format", op, path), false;
    return check_unique(op, path, names, count, "name") &&
           check_unique(op, path, metadata_keys, n_metadata, "metadata key");
}

/* ------------------------------------------------------------------------ */
/* Header                                                                    */
/* ------------------------------------------------------------------------ */

/* The padded header text into w; order is the tensors' data order. */
static bool build_header(nbi_json_writer *w, const char *const *names, nb_tensor *const *tensors, const int64_t *order,
                         int64_t count, const char *const *metadata_keys, const char *const *metadata_values,
                         int64_t n_metadata, float_storage floats)
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
        nbi_st_dtype     type = stored_dtype(t->dtype, floats);
        if (!first) nbi_json_write_raw(w, ",", 1);
        first = false;
        nbi_json_write_string(w, name, strlen(name));
        nbi_json_write_raw(w, ":{\"dtype\":\"", 11);
        nbi_json_write_raw(w, nbi_st_dtypes[type].name, strlen(nbi_st_dtypes[type].name));
        nbi_json_write_raw(w, "\",\"shape\":[", 11);
        for (int d = 0; d < t->ndim; d++) {
            if (d) nbi_json_write_raw(w, ",", 1);
            nbi_json_write_int(w, t->shape[d]);
        }
        /* numel * size < 2^63 for any tensor (stored sizes are at most its
         * own), and the sum of tensors that exist in memory fits too. */
        uint64_t bytes = (uint64_t)t->numel * nbi_st_dtypes[type].size;
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

/* d as a float32 rounded to odd: toward zero, then the last bit set when
 * inexact. Narrowing that to 16 bits rounds d itself to nearest even (a
 * float32 keeps more than two bits beyond either 16-bit format), where
 * rounding to nearest twice could land on the wrong side of a tie. */
static float f64_to_f32_round_to_odd(double d)
{
    if (isnan(d) || isinf(d)) return (float)d;
    if (d > FLT_MAX) return FLT_MAX; /* odd already; both formats round it to inf */
    if (d < -FLT_MAX) return -FLT_MAX;
    float f = (float)d;
    if ((double)f == d) return f;
    uint32_t bits = nbi_f32_to_bits(f);
    if (fabs((double)f) > fabs(d)) bits--; /* rounded away from zero (f != 0): one step back */
    return nbi_bits_to_f32(bits | 1u);
}

/* Elements [0, n) of a contiguous CPU float32 / float64 tensor's data,
 * narrowed to F16 / BF16, as little-endian bytes into out[0, 2n). */
static void narrow_chunk(const void *data, nb_dtype dtype, int64_t first, int64_t n, float_storage floats,
                         unsigned char *out)
{
    for (int64_t i = 0; i < n; i++) {
        float    x     = dtype == NB_FLOAT32 ? ((const float *)data)[first + i]
                                             : f64_to_f32_round_to_odd(((const double *)data)[first + i]);
        uint16_t h     = floats == FLOATS_AS_F16 ? nbi_f32_to_f16(x) : nbi_f32_to_bf16(x);
        out[2 * i]     = (unsigned char)(h & 0xFFu);
        out[2 * i + 1] = (unsigned char)(h >> 8);
    }
}

/* The contiguous CPU tensor t as F16 / BF16, a chunk at a time. */
static bool write_narrowed(nbi_file_writer *w, const nb_tensor *t, float_storage floats)
{
    enum { CHUNK = 8192 };
    unsigned char chunk[2 * CHUNK];
    const void   *data = nbi_ptr(t);
    for (int64_t done = 0; done < t->numel;) {
        int64_t n = t->numel - done < CHUNK ? t->numel - done : CHUNK;
        narrow_chunk(data, t->dtype, done, n, floats, chunk);
        if (!nbi_writer_write(w, chunk, (size_t)n * 2)) return false;
        done += n;
    }
    return true;
}

/* Write one tensor: from a CPU, contiguous copy when it is not one. */
static nb_status write_tensor(nbi_file_writer *w, const nb_tensor *t, float_storage floats, bool *io_ok)
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
    nbi_st_dtype type = stored_dtype(t->dtype, floats);
    bool narrowed = (type == NBI_ST_F16 || type == NBI_ST_BF16) && !nbi_is_half(t->dtype);
    *io_ok        = narrowed ? write_narrowed(w, t, floats) : nbi_write_little_endian(w, t);
    nb_free(c_order);
    nb_free(host);
    return NB_OK;
}

/* Both entry points: op names them in messages. */
static nb_status save(const char *op, const char *path, const char *const *names, nb_tensor *const *tensors,
                      int64_t count, const char *const *metadata_keys, const char *const *metadata_values,
                      int64_t n_metadata, float_storage floats)
{
    bool null_tensor = false;
    if (!check_arguments(op, path, names, tensors, count, metadata_keys, metadata_values, n_metadata, &null_tensor))
        return null_tensor ? NB_ERR_ARG : nb_last_status();

    int64_t *order = malloc((size_t)(count > 0 ? count : 1) * sizeof *order);
    if (order == NULL) return nbi_fail_status(NB_ERR_OOM, "%s: %s: out of memory", op, path);
    for (int64_t i = 0; i < count; i++)
        order[i] = i;
    sort_names   = names;
    sort_tensors = tensors;
    sort_floats  = floats;
    qsort(order, (size_t)count, sizeof *order, by_dtype_then_name);
    sort_names   = NULL;
    sort_tensors = NULL;

    nbi_json_writer header = {0};
    if (!build_header(&header, names, tensors, order, count, metadata_keys, metadata_values, n_metadata, floats)) {
        nbi_json_writer_free(&header);
        free(order);
        return nbi_fail_status(NB_ERR_OOM, "%s: %s: out of memory for the header", op, path);
    }

    /* Written to a temporary beside path and renamed over it when
     * complete: a failed save leaves the old file as it was (file.h). */
    nbi_file_writer w;
    if (!nbi_writer_open(&w, op, path)) {
        nbi_json_writer_free(&header);
        free(order);
        return NB_ERR_IO;
    }
    unsigned char length[8];
    for (int i = 0; i < 8; i++)
        length[i] = (unsigned char)((uint64_t)header.length >> (8 * i));
    bool      ok     = nbi_writer_write(&w, length, 8) && nbi_writer_write(&w, header.data, header.length);
    nb_status status = NB_OK;
    for (int64_t k = 0; k < count && ok && status == NB_OK; k++)
        status = write_tensor(&w, tensors[order[k]], floats, &ok);
    /* A tensor that could not be copied out is the error to report (it is
     * recorded); a failed write is reported by the close. */
    if (status == NB_OK)
        status = nbi_writer_close(&w);
    else
        nbi_writer_discard(&w);
    nbi_json_writer_free(&header);
    free(order);
    return status;
}

nb_status nb_save_safetensors(const char *path, const char *const *names, nb_tensor *const *tensors, int64_t count,
                              const char *const *metadata_keys, const char *const *metadata_values, int64_t n_metadata)
{
    return save("nb_save_safetensors", path, names, tensors, count, metadata_keys, metadata_values, n_metadata,
                FLOATS_AS_IS);
}

nb_status nbi_save_safetensors_as(const char *op, const char *path, const char *const *names,
                                  nb_tensor *const *tensors, int64_t count, const char *const *metadata_keys,
                                  const char *const *metadata_values, int64_t n_metadata)
{
    return save(op, path, names, tensors, count, metadata_keys, metadata_values, n_metadata, FLOATS_AS_IS);
}

nb_status nb_save_safetensors_half(const char *path, const char *const *names, nb_tensor *const *tensors, int64_t count,
                                   const char *const *metadata_keys, const char *const *metadata_values,
                                   int64_t n_metadata, bool bfloat16)
{
    return save("nb_save_safetensors_half", path, names, tensors, count, metadata_keys, metadata_values, n_metadata,
                bfloat16 ? FLOATS_AS_BF16 : FLOATS_AS_F16);
}
