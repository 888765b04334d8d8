/*
 * safetensors_header.c — the header of a safetensors file: its JSON read
 * into the table of entries and metadata of nb_safetensors, and the checks
 * every entry must pass before any data is touched (see safetensors.c for
 * the format and the reader's rules).
 */
#include "safetensors.h"

#include "json.h"

#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* Dtypes of the format                                                      */
/* ------------------------------------------------------------------------ */

const nbi_st_dtype_info nbi_st_dtypes[NBI_ST_NUM_DTYPES] = {
    [NBI_ST_F64]     = {"F64", 8, NB_FLOAT64},
    [NBI_ST_F32]     = {"F32", 4, NB_FLOAT32},
    [NBI_ST_F16]     = {"F16", 2, NB_FLOAT16},
    [NBI_ST_BF16]    = {"BF16", 2, NB_BFLOAT16},
    [NBI_ST_I64]     = {"I64", 8, NB_INT64},
    [NBI_ST_I32]     = {"I32", 4, NB_INT32},
    [NBI_ST_I16]     = {"I16", 2, NB_INT16},
    [NBI_ST_I8]      = {"I8", 1, NB_INT8},
    [NBI_ST_U64]     = {"U64", 8, NB_NUM_DTYPES},
    [NBI_ST_U32]     = {"U32", 4, NB_INT64},
    [NBI_ST_U16]     = {"U16", 2, NB_INT32},
    [NBI_ST_U8]      = {"U8", 1, NB_UINT8},
    [NBI_ST_BOOL]    = {"BOOL", 1, NB_BOOL},
    [NBI_ST_F8_E5M2] = {"F8_E5M2", 1, NB_NUM_DTYPES},
    [NBI_ST_F8_E4M3] = {"F8_E4M3", 1, NB_NUM_DTYPES},
};

static nbi_quoted entry_name(const nbi_st_entry *e) { return nbi_st_quote(e->name, e->name_length); }

/* ------------------------------------------------------------------------ */
/* Parsing the header                                                        */
/* ------------------------------------------------------------------------ */

typedef struct {
    nb_safetensors *f;
    nbi_json_reader json;
    bool            reported; /* an error of ours (not the JSON's) is recorded */
} parser;

/* Record "nb_safetensors_load: <path>: <what>" and stop the JSON reader. */
static bool parse_error(parser *p, nb_status status, const char *fmt, ...) NBI_PRINTF(3, 4);
static bool parse_error(parser *p, nb_status status, const char *fmt, ...)
{
    char    what[400];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    nbi_fail(status, "nb_safetensors_load: %s: %s", p->f->path, what);
    p->reported = true;
    nbi_json_fail(&p->json, p->json.at, "stopped");
    return false;
}

static bool append_metadata(parser *p, nbi_json_string *key, nbi_json_string *value)
{
    nb_safetensors *f = p->f;
    if (f->metadata_count == f->metadata_capacity) {
        int64_t capacity = f->metadata_capacity ? f->metadata_capacity * 2 : 8;
        char  **keys     = realloc(f->metadata_keys, (size_t)capacity * sizeof *keys);
        if (keys) f->metadata_keys = keys;
        char **values = keys ? realloc(f->metadata_values, (size_t)capacity * sizeof *values) : NULL;
        if (values) f->metadata_values = values;
        if (keys == NULL || values == NULL) return parse_error(p, NB_ERR_OOM, "out of memory for the metadata");
        f->metadata_capacity = capacity;
    }
    f->metadata_keys[f->metadata_count]   = key->chars;
    f->metadata_values[f->metadata_count] = value->chars;
    f->metadata_count++;
    key->chars = value->chars = NULL;
    key->length = value->length = 0;
    return true;
}

/* "__metadata__": an object of strings (or null, as the reference reads an
 * absent map). No NUL inside (they are handed out as C strings); keys are
 * checked unique later, by check_metadata. */
static bool parse_metadata(parser *p)
{
    nbi_json_type type = nbi_json_peek(&p->json);
    if (type == NBI_JSON_NULL) return nbi_json_read_null(&p->json);
    if (type == NBI_JSON_INVALID) return nbi_json_skip(&p->json); /* a syntax error: let the reader say which */
    if (type != NBI_JSON_OBJECT)
        return parse_error(p, NB_ERR_IO, "'__metadata__' is not an object (at byte %zu of the header)",
                           nbi_json_offset(&p->json));
    nbi_json_string key = {0}, value = {0};
    bool            ok = nbi_json_object_begin(&p->json);
    while (ok && nbi_json_object_next(&p->json, &key)) {
        nbi_quoted    shown = nbi_st_quote(key.chars, key.length);
        nbi_json_type type  = nbi_json_peek(&p->json);
        if (type != NBI_JSON_STRING) {
            ok = type == NBI_JSON_INVALID
                     ? nbi_json_skip(&p->json)
                     : parse_error(p, NB_ERR_IO, "the value of '__metadata__' key '%s' is not a string", shown.text);
            break;
        }
        ok = nbi_json_read_string(&p->json, &value);
        if (!ok) break;
        if (memchr(key.chars, '\0', key.length) || memchr(value.chars, '\0', value.length)) {
            ok = parse_error(p, NB_ERR_IO, "'__metadata__' key '%s' or its value contains a NUL character", shown.text);
            break;
        }
        /* Duplicate keys are found after parsing, by sorting
         * (check_metadata): comparing each key with all before it made a
         * header of n keys take n^2 / 2 comparisons (16 s for 100k). */
        ok = append_metadata(p, &key, &value);
    }
    nbi_json_string_free(&key);
    nbi_json_string_free(&value);
    return ok && !p->json.failed;
}

/* "shape": [d0, d1, ...], at most NB_MAX_DIMS sizes, each >= 0. */
static bool parse_shape(parser *p, nbi_st_entry *e)
{
    nbi_quoted shown = entry_name(e);
    if (!nbi_json_array_begin(&p->json)) return false;
    while (nbi_json_array_next(&p->json)) {
        if (e->ndim == NB_MAX_DIMS)
            return parse_error(p, NB_ERR_IO, "tensor '%s' has more than %d dims (nabla's limit)", shown.text,
                               NB_MAX_DIMS);
        int64_t size;
        if (!nbi_json_read_int(&p->json, &size)) return false;
        if (size < 0)
            return parse_error(p, NB_ERR_IO, "tensor '%s' has a negative size %lld in its shape", shown.text,
                               (long long)size);
        e->shape[e->ndim++] = size;
    }
    return !p->json.failed;
}

/* "data_offsets": [begin, end], two integers >= 0. */
static bool parse_offsets(parser *p, nbi_st_entry *e)
{
    nbi_quoted    shown = entry_name(e);
    int64_t       value[2];
    int           n = 0;
    if (!nbi_json_array_begin(&p->json)) return false;
    while (nbi_json_array_next(&p->json)) {
        if (n == 2)
            return parse_error(p, NB_ERR_IO, "'data_offsets' of tensor '%s' has more than 2 numbers", shown.text);
        if (!nbi_json_read_int(&p->json, &value[n])) return false;
        if (value[n] < 0)
            return parse_error(p, NB_ERR_IO, "'data_offsets' of tensor '%s' has a negative offset %lld", shown.text,
                               (long long)value[n]);
        n++;
    }
    if (p->json.failed) return false;
    if (n != 2) return parse_error(p, NB_ERR_IO, "'data_offsets' of tensor '%s' must hold 2 numbers", shown.text);
    e->begin = (uint64_t)value[0];
    e->end   = (uint64_t)value[1];
    return true;
}

static bool parse_dtype(parser *p, nbi_st_entry *e)
{
    nbi_json_string text = {0};
    if (!nbi_json_read_string(&p->json, &text)) return false;
    bool known = false;
    for (int i = 0; i < NBI_ST_NUM_DTYPES && !known; i++)
        if (nbi_json_string_is(&text, nbi_st_dtypes[i].name)) {
            e->dtype = (nbi_st_dtype)i;
            known    = true;
        }
    if (!known)
        parse_error(p, NB_ERR_DTYPE,
                    "tensor '%s' has dtype '%s', which is not a safetensors dtype nabla knows "
                    "(F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E5M2, F8_E4M3)",
                    entry_name(e).text, nbi_st_quote(text.chars, text.length).text);
    nbi_json_string_free(&text);
    return known;
}

/* One tensor's object: its three fields in any order, each once; other
 * fields are skipped, as the reference implementation does. */
static bool parse_entry(parser *p, nbi_st_entry *e)
{
    nbi_quoted    shown = entry_name(e);
    nbi_json_type type  = nbi_json_peek(&p->json);
    if (type == NBI_JSON_INVALID) return nbi_json_skip(&p->json); /* a syntax error: let the reader say which */
    if (type != NBI_JSON_OBJECT)
        return parse_error(p, NB_ERR_IO, "the entry of tensor '%s' is not an object", shown.text);
    nbi_json_string field      = {0};
    bool            have_dtype = false, have_shape = false, have_offsets = false;
    bool            ok = nbi_json_object_begin(&p->json);
    while (ok && nbi_json_object_next(&p->json, &field)) {
        bool *seen = nbi_json_string_is(&field, "dtype")          ? &have_dtype
                     : nbi_json_string_is(&field, "shape")        ? &have_shape
                     : nbi_json_string_is(&field, "data_offsets") ? &have_offsets
                                                                  : NULL;
        if (seen == NULL) {
            ok = nbi_json_skip(&p->json);
            continue;
        }
        if (*seen) {
            ok = parse_error(p, NB_ERR_IO, "tensor '%s' has '%s' twice", shown.text, field.chars);
            break;
        }
        *seen = true;
        ok    = seen == &have_dtype ? parse_dtype(p, e) : seen == &have_shape ? parse_shape(p, e) : parse_offsets(p, e);
    }
    nbi_json_string_free(&field);
    if (!ok || p->json.failed) return false;
    const char *missing = !have_dtype ? "dtype" : !have_shape ? "shape" : !have_offsets ? "data_offsets" : NULL;
    if (missing) return parse_error(p, NB_ERR_IO, "tensor '%s' has no '%s'", shown.text, missing);
    return true;
}

/* A new entry named name (taken over) at the end of the table. */
static nbi_st_entry *append_entry(parser *p, nbi_json_string *name)
{
    nb_safetensors *f = p->f;
    if (f->count == f->capacity) {
        int64_t       capacity = f->capacity ? f->capacity * 2 : 16;
        nbi_st_entry *entries  = realloc(f->entries, (size_t)capacity * sizeof *entries);
        if (entries == NULL) {
            parse_error(p, NB_ERR_OOM, "out of memory for the header's entries");
            return NULL;
        }
        f->entries  = entries;
        f->capacity = capacity;
    }
    nbi_st_entry *e = &f->entries[f->count++];
    memset(e, 0, sizeof *e);
    e->name        = name->chars;
    e->name_length = name->length;
    name->chars    = NULL;
    name->length   = 0;
    return e;
}

static bool parse_header(parser *p)
{
    nbi_json_string key           = {0};
    bool            have_metadata = false;
    bool            ok            = nbi_json_object_begin(&p->json);
    while (ok && nbi_json_object_next(&p->json, &key)) {
        if (nbi_json_string_is(&key, "__metadata__")) {
            if (have_metadata) {
                ok = parse_error(p, NB_ERR_IO, "'__metadata__' appears twice");
                break;
            }
            have_metadata = true;
            ok            = parse_metadata(p);
            continue;
        }
        if (memchr(key.chars, '\0', key.length)) {
            ok = parse_error(p, NB_ERR_IO, "tensor name '%s' contains a NUL character",
                             nbi_st_quote(key.chars, key.length).text);
            break;
        }
        nbi_st_entry *e = append_entry(p, &key);
        ok              = e != NULL && parse_entry(p, e);
    }
    nbi_json_string_free(&key);
    return ok && nbi_json_end(&p->json);
}

/* ------------------------------------------------------------------------ */
/* Checking the entries                                                      */
/* ------------------------------------------------------------------------ */

/* Element count and byte size, each within what a tensor can hold. */
static bool check_sizes(nb_safetensors *f, nbi_st_entry *e, uint64_t data_size)
{
    nbi_quoted    shown = entry_name(e);
    char          shape_text[NBI_SHAPE_STR_SIZE];
    int64_t       nonzero_product = 1;
    bool          empty           = false;
    for (int i = 0; i < e->ndim; i++) {
        if (e->shape[i] == 0) {
            empty = true;
            continue;
        }
        /* numel * 16 must fit int64, as nbi_empty requires. */
        if (nonzero_product > INT64_MAX / 16 / e->shape[i]) {
            nbi_fail(NB_ERR_IO, "nb_safetensors_load: %s: shape %s of tensor '%s' is too large", f->path,
                     nbi_shape_str(e->ndim, e->shape, shape_text, sizeof shape_text), shown.text);
            return false;
        }
        nonzero_product *= e->shape[i];
    }
    e->numel = empty ? 0 : nonzero_product;
    if (e->end < e->begin) {
        nbi_fail(NB_ERR_IO, "nb_safetensors_load: %s: data_offsets [%llu, %llu] of tensor '%s' end before they begin",
                 f->path, (unsigned long long)e->begin, (unsigned long long)e->end, shown.text);
        return false;
    }
    if (e->end > data_size) {
        nbi_fail(NB_ERR_IO,
                 "nb_safetensors_load: %s: data_offsets [%llu, %llu] of tensor '%s' are out of range "
                 "(the data has %llu bytes)",
                 f->path, (unsigned long long)e->begin, (unsigned long long)e->end, shown.text,
                 (unsigned long long)data_size);
        return false;
    }
    uint64_t expected = (uint64_t)e->numel * nbi_st_dtypes[e->dtype].size; /* < 2^63 */
    if (e->end - e->begin != expected) {
        nbi_fail(NB_ERR_IO,
                 "nb_safetensors_load: %s: tensor '%s' has %llu bytes at data_offsets [%llu, %llu], "
                 "but shape %s of %s needs %llu",
                 f->path, shown.text, (unsigned long long)(e->end - e->begin), (unsigned long long)e->begin,
                 (unsigned long long)e->end, nbi_shape_str(e->ndim, e->shape, shape_text, sizeof shape_text),
                 nbi_st_dtypes[e->dtype].name, (unsigned long long)expected);
        return false;
    }
    return true;
}

int nbi_st_compare_names(const nbi_st_entry *a, const nbi_st_entry *b)
{
    size_t n = a->name_length < b->name_length ? a->name_length : b->name_length;
    int    c = memcmp(a->name, b->name, n);
    if (c != 0) return c;
    return a->name_length < b->name_length ? -1 : a->name_length > b->name_length;
}

/* qsort has no context argument: the table being sorted. Loads on several
 * threads at once each sort their own, hence thread-local. */
static _Thread_local const nbi_st_entry *sorting;
static _Thread_local const char *const  *sorting_keys;

static int by_name(const void *a, const void *b)
{
    return nbi_st_compare_names(&sorting[*(const int64_t *)a], &sorting[*(const int64_t *)b]);
}

static int by_offsets(const void *a, const void *b)
{
    const nbi_st_entry *x = &sorting[*(const int64_t *)a], *y = &sorting[*(const int64_t *)b];
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int by_metadata_key(const void *a, const void *b)
{
    return strcmp(sorting_keys[*(const int64_t *)a], sorting_keys[*(const int64_t *)b]);
}

/* Metadata keys unique, found by sorting (O(n log n)); the sorted order is
 * kept in metadata_by_key for nb_safetensors_metadata's binary search. */
static bool check_metadata(nb_safetensors *f)
{
    int64_t n          = f->metadata_count;
    f->metadata_by_key = malloc((size_t)(n > 0 ? n : 1) * sizeof *f->metadata_by_key);
    if (f->metadata_by_key == NULL) {
        nbi_fail(NB_ERR_OOM, "nb_safetensors_load: %s: out of memory for %lld metadata keys", f->path, (long long)n);
        return false;
    }
    for (int64_t i = 0; i < n; i++)
        f->metadata_by_key[i] = i;
    sorting_keys = (const char *const *)f->metadata_keys;
    qsort(f->metadata_by_key, (size_t)n, sizeof *f->metadata_by_key, by_metadata_key);
    sorting_keys = NULL;
    for (int64_t i = 1; i < n; i++) {
        const char *key = f->metadata_keys[f->metadata_by_key[i]];
        if (strcmp(f->metadata_keys[f->metadata_by_key[i - 1]], key) == 0) {
            nbi_fail(NB_ERR_IO, "nb_safetensors_load: %s: '__metadata__' key '%s' appears twice", f->path,
                     nbi_st_quote(key, strlen(key)).text);
            return false;
        }
    }
    return true;
}

/* Names unique; the ranges tile [0, data_size) exactly. */
static bool check_layout(nb_safetensors *f, uint64_t data_size)
{
    int64_t n      = f->count;
    f->by_name     = malloc((size_t)(n > 0 ? n : 1) * sizeof *f->by_name);
    int64_t *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    if (f->by_name == NULL || order == NULL) {
        free(order);
        nbi_fail(NB_ERR_OOM, "nb_safetensors_load: %s: out of memory for %lld entries", f->path, (long long)n);
        return false;
    }
    for (int64_t i = 0; i < n; i++)
        f->by_name[i] = order[i] = i;
    sorting = f->entries;
    qsort(f->by_name, (size_t)n, sizeof *f->by_name, by_name);
    qsort(order, (size_t)n, sizeof *order, by_offsets);
    sorting = NULL;

    bool ok = true;
    for (int64_t i = 1; i < n && ok; i++) {
        const nbi_st_entry *e = &f->entries[f->by_name[i]];
        if (nbi_st_compare_names(&f->entries[f->by_name[i - 1]], e) == 0) {
            nbi_fail(NB_ERR_IO, "nb_safetensors_load: %s: tensor '%s' appears twice in the header", f->path,
                     entry_name(e).text);
            ok = false;
        }
    }
    uint64_t covered = 0; /* the data before it belongs to the tensors seen */
    for (int64_t i = 0; i < n && ok; i++) {
        const nbi_st_entry *e = &f->entries[order[i]];
        if (e->begin < covered) {
            const nbi_st_entry *previous = &f->entries[order[i - 1]]; /* i > 0: covered starts at 0 */
            nbi_fail(NB_ERR_IO, "nb_safetensors_load: %s: tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap",
                     f->path, entry_name(previous).text, (unsigned long long)previous->begin,
                     (unsigned long long)previous->end, entry_name(e).text, (unsigned long long)e->begin,
                     (unsigned long long)e->end);
            ok = false;
        } else if (e->begin > covered) {
            nbi_fail(NB_ERR_IO,
                     "nb_safetensors_load: %s: bytes [%llu, %llu) of the data before tensor '%s' belong to no "
                     "tensor (the data must be fully covered)",
                     f->path, (unsigned long long)covered, (unsigned long long)e->begin, entry_name(e).text);
            ok = false;
        }
        covered = e->end;
    }
    if (ok && covered != data_size) {
        nbi_fail(NB_ERR_IO,
                 "nb_safetensors_load: %s: bytes [%llu, %llu) at the end of the data belong to no tensor "
                 "(the data must be fully covered)",
                 f->path, (unsigned long long)covered, (unsigned long long)data_size);
        ok = false;
    }
    free(order);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */
/* ------------------------------------------------------------------------ */

bool nbi_safetensors_read_header(nb_safetensors *f)
{
    if (f->size < 8) {
        nbi_fail(NB_ERR_IO, "nb_safetensors_load: %s: truncated: %zu bytes, fewer than the 8 of the header length",
                 f->path, f->size);
        return false;
    }
    uint64_t header_length = 0;
    for (int i = 7; i >= 0; i--)
        header_length = header_length << 8 | f->bytes[i];
    if (header_length > NBI_SAFETENSORS_MAX_HEADER_BYTES) {
        nbi_fail(NB_ERR_IO, "nb_safetensors_load: %s: header length %llu is over the limit of %u bytes", f->path,
                 (unsigned long long)header_length, NBI_SAFETENSORS_MAX_HEADER_BYTES);
        return false;
    }
    if (header_length > f->size - 8) {
        nbi_fail(NB_ERR_IO, "nb_safetensors_load: %s: truncated: the header length is %llu but only %zu bytes follow",
                 f->path, (unsigned long long)header_length, f->size - 8);
        return false;
    }
    f->data_start = 8 + (size_t)header_length;

    parser parser = {.f = f};
    nbi_json_reader_init(&parser.json, (const char *)f->bytes + 8, (size_t)header_length, NBI_JSON_MAX_DEPTH);
    if (!parse_header(&parser)) {
        if (parser.reported) return false;
        if (parser.json.out_of_memory) /* not the file's fault: say so */
            nbi_fail(NB_ERR_OOM, "nb_safetensors_load: %s: out of memory reading the header (%s)", f->path,
                     parser.json.error);
        else
            nbi_fail(NB_ERR_IO, "nb_safetensors_load: %s: bad header: %s of the header", f->path, parser.json.error);
        return false;
    }
    if (!check_metadata(f)) return false;
    uint64_t data_size = f->size - f->data_start;
    for (int64_t i = 0; i < f->count; i++)
        if (!check_sizes(f, &f->entries[i], data_size)) return false;
    if (!check_layout(f, data_size)) return false;
    return true;
}
