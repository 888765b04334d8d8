/*
 * safetensors.c — reading safetensors files: nb_safetensors_load and the
 * accessors of the loaded file (its header is parsed and checked by
 * safetensors_header.c; the writer is safetensors_write.c).
 *
 * The format (huggingface/safetensors, README "Format"):
 *   N            8 bytes, unsigned little-endian: the header's length
 *   header       N bytes of UTF-8 JSON, maybe padded with spaces:
 *                {"__metadata__": {"k": "v", ...},            (optional)
 *                 "name": {"dtype": "F32", "shape": [2, 3],
 *                          "data_offsets": [begin, end]}, ...}
 *   data         the rest: each tensor's bytes, little-endian, row-major,
 *                at [begin, end) counted from the first byte after the
 *                header.
 *
 * The reader treats every file as hostile (fuzz/fuzz_safetensors.c): it
 * reads the file's size first and nothing larger is ever allocated for it;
 * the header length is bounded (100 MB, the reference limit) and checked
 * against the file; the JSON is read by a strict pull parser (json.h) into
 * a table of entries, never a tree; and the entries are then checked as the
 * reference implementation does: each shape's element count (overflow-
 * checked) times the dtype's size must equal end - begin, and the ranges,
 * sorted, must tile the data exactly, with no overlap, no gap and nothing
 * after the last (so no bytes hide in a file that are not a tensor's). Names
 * and metadata keys must be unique (checked by sorting, so that a header of
 * n keys costs O(n log n), never n^2). Problems are NB_ERR_IO naming the file and the tensor;
 * an unknown dtype is NB_ERR_DTYPE naming it.
 *
 * Loading keeps the whole file in memory; nb_safetensors_get copies one
 * tensor out: F16, BF16, I16 and I8 as nabla's own dtypes of those, U16
 * and U32 widened to int32 / int64.
 */
#include "safetensors.h"

#include "half.h"

#include <stdlib.h>

void nb_safetensors_free(nb_safetensors *f)
{
    if (f == NULL) return;
    /* The strings come from the JSON reader: length + 1 bytes from
     * nbi_host_alloc (json.h); metadata strings hold no NUL (refused). */
    for (int64_t i = 0; i < f->count; i++)
        nbi_host_release(f->entries[i].name, f->entries[i].name_length + 1);
    for (int64_t i = 0; i < f->metadata_count; i++) {
        nbi_host_release(f->metadata_keys[i], strlen(f->metadata_keys[i]) + 1);
        nbi_host_release(f->metadata_values[i], strlen(f->metadata_values[i]) + 1);
    }
    free(f->entries);
    free(f->by_name);
    free(f->metadata_keys);
    free(f->metadata_values);
    free(f->metadata_by_key);
    free(f->bytes);
    free(f->path);
    free(f);
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */
/* ------------------------------------------------------------------------ */

/* Takes over bytes (malloc'd, size bytes: the whole file). */
static nb_safetensors *load(unsigned char *bytes, size_t size, const char *path)
{
    nb_safetensors *f = calloc(1, sizeof *f);
    char           *p = malloc(strlen(path) + 1);
    if (f == NULL || p == NULL) {
        free(f);
        free(p);
        free(bytes);
        return nbi_fail(NB_ERR_OOM, "nb_safetensors_load: %s: out of memory", path);
    }
    memcpy(p, path, strlen(path) + 1);
    f->path  = p;
    f->bytes = bytes;
    f->size  = size;

    if (nbi_safetensors_read_header(f)) return f;
    nb_safetensors_free(f);
    return NULL;
}

nb_safetensors *nbi_safetensors_from_memory(const void *bytes, size_t size, const char *name)
{
    if (name == NULL) name = "<memory>";
    if (bytes == NULL && size > 0)
        return nbi_fail(NB_ERR_ARG, "nb_safetensors_load: %s: argument 'bytes' is NULL", name);
    unsigned char *copy = malloc(size > 0 ? size : 1);
    if (copy == NULL) return nbi_fail(NB_ERR_OOM, "nb_safetensors_load: %s: out of memory for %zu bytes", name, size);
    if (size) memcpy(copy, bytes, size);
    return load(copy, size, name);
}

nb_safetensors *nb_safetensors_load(const char *path)
{
    if (path == NULL) return nbi_fail(NB_ERR_ARG, "nb_safetensors_load: argument 'path' is NULL");
    /* The size first: nothing larger than the file is ever allocated. */
    uint64_t size;
    FILE    *f = nbi_open_for_reading("nb_safetensors_load", path, &size);
    if (f == NULL) return NULL;
    if (size > SIZE_MAX - 1) {
        fclose(f);
        return nbi_fail(NB_ERR_IO, "nb_safetensors_load: %s: the file is too large for memory", path);
    }
    unsigned char *bytes = malloc((size_t)size > 0 ? (size_t)size : 1);
    if (bytes == NULL) {
        fclose(f);
        return nbi_fail(NB_ERR_OOM, "nb_safetensors_load: %s: out of memory for the %llu-byte file", path,
                        (unsigned long long)size);
    }
    nbi_byte_source src = {.name = path, .file = f, .size = size};
    uint64_t        got = nbi_source_read(&src, bytes, size);
    fclose(f);
    if (got != size) {
        free(bytes);
        if (src.read_errno)
            return nbi_fail(NB_ERR_IO, "nb_safetensors_load: %s: reading failed: %s", path, strerror(src.read_errno));
        return nbi_fail(NB_ERR_IO, "nb_safetensors_load: %s: the file shrank while being read (%llu of %llu bytes)",
                        path, (unsigned long long)got, (unsigned long long)size);
    }
    return load(bytes, (size_t)size, path);
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                 */
/* ------------------------------------------------------------------------ */

/* The NULL-argument rule for the file handle: a NULL f most likely comes
 * from a failed load, whose error must survive. */
static bool check_file(const nb_safetensors *f, const char *op)
{
    if (f != NULL) return true;
    if (nb_last_status() == NB_OK) nbi_fail(NB_ERR_ARG, "%s: argument 'f' is NULL", op);
    return false;
}

int64_t nb_safetensors_count(const nb_safetensors *f)
{
    if (!check_file(f, "nb_safetensors_count")) return -1;
    return f->count;
}

const char *nb_safetensors_name(const nb_safetensors *f, int64_t i)
{
    if (!check_file(f, "nb_safetensors_name")) return NULL;
    if (i < 0 || i >= f->count) return NULL;
    return f->entries[i].name;
}

const char *nb_safetensors_metadata(const nb_safetensors *f, const char *key)
{
    if (!check_file(f, "nb_safetensors_metadata")) return NULL;
    if (key == NULL) return nbi_fail(NB_ERR_ARG, "nb_safetensors_metadata: argument 'key' is NULL");
    int64_t lo = 0, hi = f->metadata_count; /* binary search in metadata_by_key */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int     c   = strcmp(f->metadata_keys[f->metadata_by_key[mid]], key);
        if (c == 0) return f->metadata_values[f->metadata_by_key[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const nbi_st_entry *nbi_safetensors_find(const nb_safetensors *f, const char *name)
{
    nbi_st_entry probe = {.name = (char *)name, .name_length = strlen(name)};
    int64_t      lo = 0, hi = f->count; /* binary search in by_name */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int     c   = nbi_st_compare_names(&f->entries[f->by_name[mid]], &probe);
        if (c == 0) return &f->entries[f->by_name[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Little-endian loads from unaligned bytes. */
static uint16_t load_u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t load_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t load_u64(const unsigned char *p) { return (uint64_t)load_u32(p) | (uint64_t)load_u32(p + 4) << 32; }

/* n elements of the file's dtype at src -> out (the dtype it loads as). */
static void convert(nbi_st_dtype dtype, const unsigned char *src, void *out, int64_t n)
{
    size_t size = nbi_st_dtypes[dtype].size;
    bool   same = dtype == NBI_ST_F64 || dtype == NBI_ST_F32 || dtype == NBI_ST_I64 || dtype == NBI_ST_I32 ||
                  dtype == NBI_ST_U8 || dtype == NBI_ST_F16 || dtype == NBI_ST_BF16 || dtype == NBI_ST_I16 ||
                  dtype == NBI_ST_I8;
    if (same && (size == 1 || nbi_host_is_little_endian())) {
        memcpy(out, src, (size_t)n * size);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *p = src + (size_t)i * size;
        switch (dtype) {
        case NBI_ST_F64: {
            uint64_t bits = load_u64(p);
            memcpy((double *)out + i, &bits, 8);
            break;
        }
        case NBI_ST_F32:
            ((float *)out)[i] = nbi_bits_to_f32(load_u32(p));
            break;
        case NBI_ST_F16:
        case NBI_ST_BF16: /* the bits, as stored */
            ((uint16_t *)out)[i] = load_u16(p);
            break;
        /* NOTE: unsigned -> signed of a value past the signed range is
         * implementation-defined in C; subtract the modulus instead. */
        case NBI_ST_I64: {
            uint64_t v          = load_u64(p);
            ((int64_t *)out)[i] = v > (uint64_t)INT64_MAX ? -(int64_t)(~v) - 1 : (int64_t)v;
            break;
        }
        case NBI_ST_I32: {
            uint32_t v          = load_u32(p);
            ((int32_t *)out)[i] = v > INT32_MAX ? (int32_t)((int64_t)v - 4294967296) : (int32_t)v;
            break;
        }
        case NBI_ST_I16:
            ((int16_t *)out)[i] = (int16_t)((int32_t)load_u16(p) - (p[1] & 0x80 ? 65536 : 0));
            break;
        case NBI_ST_I8:
            ((int8_t *)out)[i] = (int8_t)((int32_t)p[0] - (p[0] & 0x80 ? 256 : 0));
            break;
        case NBI_ST_U32:
            ((int64_t *)out)[i] = (int64_t)load_u32(p);
            break;
        case NBI_ST_U16:
            ((int32_t *)out)[i] = (int32_t)load_u16(p);
            break;
        case NBI_ST_U8:
            ((uint8_t *)out)[i] = p[0];
            break;
        case NBI_ST_BOOL:
            ((uint8_t *)out)[i] = p[0] != 0; /* nabla's bools are 0 or 1 */
            break;
        case NBI_ST_U64:
        case NBI_ST_F8_E5M2:
        case NBI_ST_F8_E4M3:
        case NBI_ST_NUM_DTYPES:
            break; /* refused before */
        }
    }
}

nb_tensor *nb_safetensors_get(const nb_safetensors *f, const char *name)
{
    if (!check_file(f, "nb_safetensors_get")) return NULL;
    if (name == NULL) return nbi_fail(NB_ERR_ARG, "nb_safetensors_get: argument 'name' is NULL");
    const nbi_st_entry *e = nbi_safetensors_find(f, name);
    if (e == NULL)
        return nbi_fail(NB_ERR_ARG, "nb_safetensors_get: %s: no tensor named '%s'", f->path,
                        nbi_st_quote(name, strlen(name)).text);
    nb_dtype dtype = nbi_st_dtypes[e->dtype].loads_as;
    if (dtype == NB_NUM_DTYPES)
        return nbi_fail(NB_ERR_DTYPE, "nb_safetensors_get: %s: tensor '%s' is %s, which nabla cannot hold", f->path,
                        nbi_st_quote(e->name, e->name_length).text, nbi_st_dtypes[e->dtype].name);
    nb_tensor *t = nbi_empty(e->ndim, e->shape, dtype, NB_DEVICE_CPU);
    if (t == NULL) { /* the allocator's message does not say which file */
        char shape_text[NBI_SHAPE_STR_SIZE];
        return nbi_fail(nb_last_status(), "nb_safetensors_get: %s: out of memory for tensor '%s' of shape %s", f->path,
                        nbi_st_quote(e->name, e->name_length).text,
                        nbi_shape_str(e->ndim, e->shape, shape_text, sizeof shape_text));
    }
    convert(e->dtype, f->bytes + f->data_start + e->begin, nbi_ptr(t), e->numel);
    return t;
}
