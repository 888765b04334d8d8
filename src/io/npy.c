/*
 * npy.c — NumPy .npy files: nb_load_npy, nb_save_npy and the in-memory
 * reader of npy.h.
 *
 * The format (numpy/lib/format.py, NEP 1):
 *   "\x93NUMPY" major minor            8 bytes; versions 1.0, 2.0, 3.0
 *   header length                      uint16 LE (1.0) or uint32 LE (2.0, 3.0)
 *   header                             a Python dict literal, latin-1 (1.0,
 *                                      2.0) or utf-8 (3.0), padded with
 *                                      spaces and a '\n':
 *                                      {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *   data                               numel * itemsize bytes, C or Fortran
 *                                      order, in descr's byte order
 *
 * The reader treats every file as hostile (it is fuzzed: fuzz/fuzz_npy.c):
 * the header length is bounded, the dict is parsed by a strict little
 * parser that never reads past its length, every size is overflow-checked,
 * and the data size the header declares is compared with the bytes the file
 * really has before anything is allocated for it. Every problem is an
 * NB_ERR_IO naming the path and what is wrong, or NB_ERR_DTYPE naming a
 * descr nabla does not read.
 *
 * The writer produces what numpy 1.24's np.save does for a C-order array,
 * byte for byte: version 1.0 (2.0 past a 64 KiB header), little-endian,
 * the header padded so the data starts at a multiple of 64 bytes. Unlike
 * np.save it never leaves a half-written file: the new file replaces the
 * old one only once it is complete (nbi_file_writer, file.h).
 */
#include "npy.h"

#include "file.h"

#include <stdlib.h>

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

enum {
    PREAMBLE_BYTES = 8,  /* magic + major + minor */
    ARRAY_ALIGN    = 64, /* numpy aligns the data start to this */
    /* numpy 1.24 leaves room after the dict so the growing axis can be
     * rewritten in place: 21 - len(repr(shape[0])) spaces. */
    GROWTH_AXIS_MAX_DIGITS = 21,
    QUOTED_BYTES           = 40, /* of a key or descr, in messages */
};

/* ------------------------------------------------------------------------ */
/* Where the bytes come from: a file or a buffer                             */
/* ------------------------------------------------------------------------ */

/* The error for a read that came up short: the OS's reason, or truncation. */
static void *short_read(const nbi_byte_source *src, const char *what, uint64_t expected, uint64_t found)
{
    if (src->read_errno)
        return nbi_fail(NB_ERR_IO, "nb_load_npy: %s: reading %s failed: %s", src->name, what,
                        strerror(src->read_errno));
    return nbi_fail(NB_ERR_IO, "nb_load_npy: %s: truncated: expected %llu bytes of %s, found %llu", src->name,
                    (unsigned long long)expected, what, (unsigned long long)found);
}

/* short_read for functions that answer true / false. */
static bool short_read_failed(const nbi_byte_source *src, const char *what, uint64_t expected, uint64_t found)
{
    short_read(src, what, expected, found);
    return false;
}

/* ------------------------------------------------------------------------ */
/* The header dict                                                           */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *text; /* the header bytes (not NUL-terminated) */
    size_t      length;
    size_t      at;
    const char *name;
} header_parser;

typedef struct {
    const char *descr; /* points into the header text */
    size_t      descr_length;
    bool        fortran_order;
    int         ndim;
    int64_t     shape[NB_MAX_DIMS];
    bool        have_descr, have_fortran_order, have_shape;
} npy_header;

static bool header_error(const header_parser *p, const char *fmt, ...) NBI_PRINTF(2, 3);
static bool header_error(const header_parser *p, const char *fmt, ...)
{
    char    what[200];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    nbi_fail(NB_ERR_IO, "nb_load_npy: %s: bad header: %s (at byte %zu of %zu)", p->name, what, p->at, p->length);
    return false;
}

/* The next character, or -1 at the end. */
static int peek(const header_parser *p) { return p->at < p->length ? (unsigned char)p->text[p->at] : -1; }

static void skip_space(header_parser *p)
{
    for (int c = peek(p); c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; c = peek(p))
        p->at++;
}

/* A Python string literal in single or double quotes, without escapes;
 * *start / *length give its contents inside the text. */
static bool parse_string(header_parser *p, const char **start, size_t *length, const char *what)
{
    int quote = peek(p);
    if (quote != '\'' && quote != '"') return header_error(p, "expected a quoted %s", what);
    size_t begin = ++p->at;
    for (int c = peek(p); c != quote; c = peek(p)) {
        if (c == -1 || c == '\n') return header_error(p, "unterminated string");
        if (c == '\\') return header_error(p, "escape sequences in strings are not supported");
        p->at++;
    }
    *start  = p->text + begin;
    *length = p->at - begin;
    p->at++; /* the closing quote */
    return true;
}

static bool starts_with_word(const header_parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->length - p->at < n || memcmp(p->text + p->at, word, n) != 0) return false;
    /* "Truex" is not "True". */
    if (p->length - p->at == n) return true;
    unsigned char next = (unsigned char)p->text[p->at + n];
    return !((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || (next >= '0' && next <= '9') ||
             next == '_');
}

static bool parse_bool(header_parser *p, bool *value)
{
    if (starts_with_word(p, "True")) {
        p->at += 4;
        *value = true;
        return true;
    }
    if (starts_with_word(p, "False")) {
        p->at += 5;
        *value = false;
        return true;
    }
    return header_error(p, "'fortran_order' must be True or False");
}

/* A non-negative decimal integer that fits int64. */
static bool parse_size(header_parser *p, int64_t *value)
{
    int c = peek(p);
    if (c == '-') return header_error(p, "a size in 'shape' is negative");
    if (c < '0' || c > '9') return header_error(p, "expected a size in 'shape'");
    int64_t v = 0;
    for (; c >= '0' && c <= '9'; c = peek(p)) {
        int digit = c - '0';
        if (v > (INT64_MAX - digit) / 10) return header_error(p, "a size in 'shape' is too large");
        v = v * 10 + digit;
        p->at++;
    }
    if (c == 'L' || c == 'l') p->at++; /* a Python 2 long, as numpy reads it: (2L, 3L) */
    *value = v;
    return true;
}

/* A tuple of sizes: "()", "(5,)", "(2, 3)", "(2, 3,)". "(5)" is the int 5
 * in Python, not a tuple, and numpy refuses it too. */
static bool parse_shape(header_parser *p, npy_header *h)
{
    if (peek(p) != '(') return header_error(p, "'shape' must be a tuple");
    p->at++;
    h->ndim         = 0;
    bool last_comma = false;
    for (;;) {
        skip_space(p);
        if (peek(p) == ')') {
            p->at++;
            break;
        }
        if (h->ndim == NB_MAX_DIMS) return header_error(p, "'shape' has more than %d dims", NB_MAX_DIMS);
        if (!parse_size(p, &h->shape[h->ndim])) return false;
        h->ndim++;
        skip_space(p);
        last_comma = peek(p) == ',';
        if (last_comma) {
            p->at++;
        } else if (peek(p) != ')') {
            return header_error(p, "expected ',' or ')' in 'shape'");
        }
    }
    if (h->ndim == 1 && !last_comma) return header_error(p, "'shape' (n) is not a tuple; write (n,)");
    return true;
}

static bool key_is(const char *key, size_t length, const char *name)
{
    return length == strlen(name) && memcmp(key, name, length) == 0;
}

/* The dict: {'descr': ..., 'fortran_order': ..., 'shape': ...} in any order,
 * each key once, with an optional trailing comma and any whitespace. */
static bool parse_header(header_parser *p, npy_header *h)
{
    skip_space(p);
    if (peek(p) != '{') return header_error(p, "expected '{'");
    p->at++;
    for (;;) {
        skip_space(p);
        if (peek(p) == '}') {
            p->at++;
            break;
        }
        const char *key;
        size_t      key_length;
        if (!parse_string(p, &key, &key_length, "key")) return false;
        nbi_quoted shown = nbi_quote(key, key_length, QUOTED_BYTES);
        skip_space(p);
        if (peek(p) != ':') return header_error(p, "expected ':' after key '%s'", shown.text);
        p->at++;
        skip_space(p);
        bool *seen = key_is(key, key_length, "descr")           ? &h->have_descr
                     : key_is(key, key_length, "fortran_order") ? &h->have_fortran_order
                     : key_is(key, key_length, "shape")         ? &h->have_shape
                                                                : NULL;
        if (seen == NULL) return header_error(p, "unknown key '%s'", shown.text);
        if (*seen) return header_error(p, "key '%s' appears twice", shown.text);
        *seen = true;
        if (seen == &h->have_descr) {
            if (peek(p) == '[') {
                nbi_fail(NB_ERR_DTYPE, "nb_load_npy: %s: structured dtypes (a list 'descr') are not supported",
                         p->name);
                return false;
            }
            if (!parse_string(p, &h->descr, &h->descr_length, "'descr'")) return false;
        } else if (seen == &h->have_fortran_order) {
            if (!parse_bool(p, &h->fortran_order)) return false;
        } else if (!parse_shape(p, h)) {
            return false;
        }
        skip_space(p);
        if (peek(p) == ',') {
            p->at++;
        } else if (peek(p) != '}') {
            return header_error(p, "expected ',' or '}' after the value of '%s'", shown.text);
        }
    }
    skip_space(p);
    if (p->at != p->length) return header_error(p, "unexpected text after the dict");
    if (!h->have_descr) return header_error(p, "the dict has no 'descr'");
    if (!h->have_fortran_order) return header_error(p, "the dict has no 'fortran_order'");
    if (!h->have_shape) return header_error(p, "the dict has no 'shape'");
    return true;
}

/* '<f4' and friends -> dtype, and whether the data must be byte-swapped. */
static bool descr_to_dtype(const npy_header *h, const char *name, nb_dtype *dtype, bool *swap)
{
    static const struct {
        const char *code;
        nb_dtype    dtype;
    } table[] = {
        {"f4", NB_FLOAT32}, {"f8", NB_FLOAT64}, {"i8", NB_INT64}, {"i4", NB_INT32}, {"u1", NB_UINT8}, {"b1", NB_BOOL},
        {"f2", NB_FLOAT16}, {"i2", NB_INT16},   {"i1", NB_INT8},
    };
    const char *code   = h->descr;
    size_t      length = h->descr_length;
    char        order  = '=';
    if (length > 0 && (code[0] == '<' || code[0] == '>' || code[0] == '|' || code[0] == '=')) {
        order = code[0];
        code++;
        length--;
    }
    /* numpy reads these spellings of the same dtypes too: its one-letter
     * type codes (on a 64-bit Linux, where 'l' and 'q' are int64) and the
     * names */
    static const struct {
        const char *code;
        nb_dtype    dtype;
    } aliases[] = {
        {"f", NB_FLOAT32},       {"d", NB_FLOAT64},     {"e", NB_FLOAT16},     {"q", NB_INT64},
        {"l", NB_INT64},         {"i", NB_INT32},       {"h", NB_INT16},       {"b", NB_INT8},
        {"B", NB_UINT8},         {"?", NB_BOOL},        {"float32", NB_FLOAT32}, {"float64", NB_FLOAT64},
        {"float16", NB_FLOAT16}, {"int64", NB_INT64},   {"int32", NB_INT32},   {"int16", NB_INT16},
        {"int8", NB_INT8},       {"uint8", NB_UINT8},   {"bool", NB_BOOL},
    };
    int found = -1;
    for (size_t i = 0; i < sizeof table / sizeof table[0] && found < 0; i++)
        if (length == 2 && memcmp(code, table[i].code, 2) == 0) found = (int)table[i].dtype;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0] && found < 0; i++)
        if (length == strlen(aliases[i].code) && memcmp(code, aliases[i].code, length) == 0)
            found = (int)aliases[i].dtype;
    if (found >= 0) {
        *dtype = (nb_dtype)found;
        /* '|' (no byte order) and '=' mean the machine's own. */
        bool file_little = order == '<' ? true : order == '>' ? false : nbi_host_is_little_endian();
        *swap            = nb_dtype_size(*dtype) > 1 && file_little != nbi_host_is_little_endian();
        return true;
    }
    nbi_fail(NB_ERR_DTYPE,
             "nb_load_npy: %s: unsupported dtype '%s' (nabla reads f2, f4, f8, i1, i2, i4, i8, u1 and b1, in any of "
             "numpy's spellings)",
             name,
             nbi_quote(h->descr, h->descr_length, QUOTED_BYTES).text);
    return false;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */
/* ------------------------------------------------------------------------ */

/* Reads the header from src; on success fills *h, *dtype, *swap. */
static bool read_header(nbi_byte_source *src, npy_header *h, nb_dtype *dtype, bool *swap)
{
    unsigned char preamble[PREAMBLE_BYTES + 4];
    uint64_t      got = nbi_source_read(src, preamble, PREAMBLE_BYTES);
    if (src->read_errno) return short_read_failed(src, "preamble", PREAMBLE_BYTES, got);
    if (got < sizeof npy_magic || memcmp(preamble, npy_magic, sizeof npy_magic) != 0) {
        nbi_fail(NB_ERR_IO, "nb_load_npy: %s: not a .npy file (it does not start with \"\\x93NUMPY\")", src->name);
        return false;
    }
    if (got < PREAMBLE_BYTES) return short_read_failed(src, "preamble", PREAMBLE_BYTES, got);
    int major = preamble[6], minor = preamble[7];
    if (major < 1 || major > 3 || minor != 0) {
        nbi_fail(NB_ERR_IO, "nb_load_npy: %s: unsupported .npy version %d.%d (nabla reads 1.0, 2.0 and 3.0)", src->name,
                 major, minor);
        return false;
    }
    unsigned length_bytes = major == 1 ? 2 : 4;
    got                   = nbi_source_read(src, preamble + PREAMBLE_BYTES, length_bytes);
    if (got < length_bytes) return short_read_failed(src, "header length", length_bytes, got);
    const unsigned char *field      = preamble + PREAMBLE_BYTES;
    uint64_t             header_len = (uint64_t)field[0] | (uint64_t)field[1] << 8;
    if (length_bytes == 4) header_len |= (uint64_t)field[2] << 16 | (uint64_t)field[3] << 24;
    if (header_len > NBI_NPY_MAX_HEADER_BYTES) {
        nbi_fail(NB_ERR_IO, "nb_load_npy: %s: header length %llu is over the limit of %u bytes", src->name,
                 (unsigned long long)header_len, NBI_NPY_MAX_HEADER_BYTES);
        return false;
    }
    if (header_len > nbi_source_left(src)) return short_read_failed(src, "header", header_len, nbi_source_left(src));

    char *text = malloc(header_len > 0 ? (size_t)header_len : 1);
    if (text == NULL) {
        nbi_fail(NB_ERR_OOM, "nb_load_npy: %s: out of memory for a %llu-byte header", src->name,
                 (unsigned long long)header_len);
        return false;
    }
    bool ok = true;
    got     = nbi_source_read(src, text, header_len);
    if (got < header_len) {
        short_read(src, "header", header_len, got);
        ok = false;
    }
    /* NOTE: version 3.0 headers are utf-8, 1.0/2.0 latin-1; the parser
     * accepts only ASCII outside strings, and a descr with other bytes is
     * no dtype nabla knows, so one parser serves all three. */
    header_parser parser = {.text = text, .length = (size_t)header_len, .name = src->name};
    ok                   = ok && parse_header(&parser, h) && descr_to_dtype(h, src->name, dtype, swap);
    h->descr             = NULL; /* it pointed into text */
    free(text);
    return ok;
}

static nb_tensor *load_npy(nbi_byte_source *src)
{
    npy_header h = {0};
    nb_dtype   dtype;
    bool       swap;
    if (!read_header(src, &h, &dtype, &swap)) return NULL;

    /* numel, refusing what nbi_empty would (numel * 16 must fit int64); a
     * zero size anywhere makes the tensor empty whatever the others are. */
    char    shape_text[NBI_SHAPE_STR_SIZE];
    int64_t nonzero_product = 1;
    bool    empty           = false;
    for (int i = 0; i < h.ndim; i++) {
        if (h.shape[i] == 0) {
            empty = true;
            continue;
        }
        if (nonzero_product > INT64_MAX / 16 / h.shape[i])
            return nbi_fail(NB_ERR_IO, "nb_load_npy: %s: shape %s is too large", src->name,
                            nbi_shape_str(h.ndim, h.shape, shape_text, sizeof shape_text));
        nonzero_product *= h.shape[i];
    }
    int64_t  numel      = empty ? 0 : nonzero_product;
    size_t   itemsize   = nb_dtype_size(dtype);
    uint64_t data_bytes = (uint64_t)numel * itemsize; /* < 2^63: numel < 2^59, itemsize <= 8 */
    if (data_bytes > nbi_source_left(src)) return short_read(src, "data", data_bytes, nbi_source_left(src));

    /* Fortran order is C order of the reversed shape: read it so, then
     * copy the transposed view into C order. */
    bool    fortran = h.fortran_order && h.ndim > 1;
    int64_t file_shape[NB_MAX_DIMS];
    for (int i = 0; i < h.ndim; i++)
        file_shape[i] = fortran ? h.shape[h.ndim - 1 - i] : h.shape[i];
    nb_tensor *t = nbi_empty(h.ndim, file_shape, dtype, NB_DEVICE_CPU);
    if (t == NULL) /* the allocator's message does not say which file */
        return nbi_fail(nb_last_status(), "nb_load_npy: %s: out of memory for the data of shape %s (%llu bytes)",
                        src->name, nbi_shape_str(h.ndim, h.shape, shape_text, sizeof shape_text),
                        (unsigned long long)data_bytes);
    unsigned char *data = (unsigned char *)nbi_ptr(t);
    uint64_t       got  = nbi_source_read(src, data, data_bytes);
    if (got < data_bytes) {
        nb_free(t);
        return short_read(src, "data", data_bytes, got);
    }
    if (swap) nbi_swap_bytes(data, numel, itemsize);
    if (dtype == NB_BOOL) /* nabla's bools are 0 or 1; any nonzero byte is true */
        for (int64_t i = 0; i < numel; i++)
            data[i] = data[i] != 0;
    if (!fortran) return t;

    int64_t view_stride[NB_MAX_DIMS];
    for (int i = 0; i < h.ndim; i++)
        view_stride[i] = t->stride[h.ndim - 1 - i];
    nb_tensor *view    = nbi_make_view(t, h.ndim, h.shape, view_stride, 0);
    nb_tensor *c_order = view ? nb_contiguous(view) : NULL;
    nb_free(view);
    nb_free(t);
    return c_order;
}

nb_tensor *nbi_load_npy_from_memory(const void *bytes, size_t size, const char *name)
{
    if (name == NULL) name = "<memory>";
    if (bytes == NULL && size > 0) return nbi_fail(NB_ERR_ARG, "nb_load_npy: %s: argument 'bytes' is NULL", name);
    nbi_byte_source src = {.name = name, .memory = bytes, .size = size};
    return load_npy(&src);
}

nb_tensor *nb_load_npy(const char *path)
{
    if (path == NULL) return nbi_fail(NB_ERR_ARG, "nb_load_npy: argument 'path' is NULL");
    uint64_t size;
    FILE    *f = nbi_open_for_reading("nb_load_npy", path, &size);
    if (f == NULL) return NULL;
    nbi_byte_source src = {.name = path, .file = f, .size = size};
    nb_tensor      *t   = load_npy(&src);
    fclose(f);
    return t;
}

/* ------------------------------------------------------------------------ */
/* Saving                                                                    */
/* ------------------------------------------------------------------------ */

static const char *save_descr(nb_dtype dtype)
{
    switch (dtype) {
    case NB_FLOAT32:
        return "<f4";
    case NB_FLOAT64:
        return "<f8";
    case NB_INT64:
        return "<i8";
    case NB_INT32:
        return "<i4";
    case NB_UINT8:
        return "|u1";
    case NB_BOOL:
        return "|b1";
    case NB_FLOAT16:
        return "<f2";
    case NB_INT16:
        return "<i2";
    case NB_INT8:
        return "|i1";
    default: /* bfloat16: numpy has no such dtype */
        return NULL;
    }
}

/* The preamble, length field and padded header of t, as np.save writes
 * them, into out (at least 1024 bytes). Returns the byte count. */
static size_t build_header(const nb_tensor *t, unsigned char *out, size_t capacity)
{
    char   dict[900];
    size_t n =
        (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", save_descr(t->dtype));
    for (int i = 0; i < t->ndim; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }", t->ndim == 1 ? "," : "");
    if (t->ndim > 0) {
        char first[32];
        int  digits = snprintf(first, sizeof first, "%lld", (long long)t->shape[0]);
        for (int i = digits; i < GROWTH_AXIS_MAX_DIGITS; i++)
            dict[n++] = ' ';
    }
    /* Version 1.0 has a 2-byte length; 2.0 only when that cannot hold it. */
    size_t length_bytes = 2;
    size_t padding      = ARRAY_ALIGN - (PREAMBLE_BYTES + length_bytes + n + 1) % ARRAY_ALIGN;
    if (n + 1 + padding > 0xFFFF) {
        length_bytes = 4;
        padding      = ARRAY_ALIGN - (PREAMBLE_BYTES + length_bytes + n + 1) % ARRAY_ALIGN;
    }
    size_t header_len = n + padding + 1;
    size_t total      = PREAMBLE_BYTES + length_bytes + header_len;
    if (total > capacity) return 0; /* cannot happen: 8 dims need < 400 bytes */
    memcpy(out, npy_magic, sizeof npy_magic);
    out[6] = length_bytes == 2 ? 1 : 2;
    out[7] = 0;
    for (size_t i = 0; i < length_bytes; i++)
        out[PREAMBLE_BYTES + i] = (unsigned char)(header_len >> (8 * i));
    unsigned char *text = out + PREAMBLE_BYTES + length_bytes;
    memcpy(text, dict, n);
    memset(text + n, ' ', padding);
    text[n + padding] = '\n';
    return total;
}

nb_status nb_save_npy(const nb_tensor *t, const char *path)
{
    if (!nbi_check_tensor(t, "nb_save_npy", "t")) return NB_ERR_ARG;
    if (path == NULL) return nbi_fail_status(NB_ERR_ARG, "nb_save_npy: argument 'path' is NULL");
    if (t->dtype == NB_BFLOAT16)
        return nbi_fail_status(NB_ERR_DTYPE,
                               "nb_save_npy: %s: numpy has no bfloat16 dtype; convert with nb_to_dtype (float32 "
                               "holds every bfloat16 exactly) or save it with nb_save_safetensors",
                               path);
    if (save_descr(t->dtype) == NULL)
        return nbi_fail_status(NB_ERR_DTYPE, "nb_save_npy: %s: dtype %s cannot be saved", path,
                               nb_dtype_name(t->dtype));
    /* A device tensor is saved from a host copy; a view from a C-order one. */
    nb_tensor *host = t->storage->device.type == NB_CPU ? NULL : nb_to(t, NB_DEVICE_CPU);
    if (t->storage->device.type != NB_CPU && host == NULL) return nb_last_status();
    nb_tensor *c_order = nb_contiguous(host ? host : t);
    nb_free(host);
    if (c_order == NULL) return nb_last_status();

    unsigned char header[1024];
    size_t        header_bytes = build_header(c_order, header, sizeof header);
    if (header_bytes == 0) {
        nb_free(c_order);
        return nbi_fail_status(NB_ERR_STATE, "nb_save_npy: %s: the header does not fit its buffer", path);
    }
    /* Written to a temporary beside path and renamed over it when
     * complete: a failed save leaves the old file as it was (file.h). */
    nbi_file_writer w;
    if (!nbi_writer_open(&w, "nb_save_npy", path)) {
        nb_free(c_order);
        return NB_ERR_IO;
    }
    nbi_writer_write(&w, header, header_bytes);
    nbi_write_little_endian(&w, c_order);
    nb_status status = nbi_writer_close(&w);
    nb_free(c_order);
    return status;
}
