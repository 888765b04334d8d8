/*
 * json.h — a small JSON reader and writer for file headers (safetensors),
 * built for hostile input.
 *
 * The reader is a pull parser over a byte buffer: the caller walks the
 * document value by value (object_begin / object_next / read_string /
 * read_int / skip ...), so it keeps only what it wants and builds no tree.
 * What it allocates is bounded by the input: a decoded string is never
 * longer than its text. Containers nest at most max_depth deep (skip is
 * recursive). Strings must be valid UTF-8 (RFC 8259); escapes (\u and four hex digits),
 * surrogate pairs included, are decoded to UTF-8, and a lone surrogate is
 * an error. Integers must fit int64.
 *
 * Errors: the first one stops the reader (every later call returns false)
 * and is kept, with its byte offset, in r->error: "expected ':' after an
 * object key at byte 17". The reader never records a library error itself;
 * the caller wraps r->error in its own message, and reports
 * r->out_of_memory (an allocation refused) as out of memory, not as a bad
 * document.
 *
 * Example: {"a": [1, 2]}
 *
 *   nbi_json_reader r;
 *   nbi_json_reader_init(&r, text, length, 16);
 *   nbi_json_string key = {0};
 *   if (nbi_json_object_begin(&r))
 *       while (nbi_json_object_next(&r, &key)) {
 *           if (nbi_json_array_begin(&r))
 *               while (nbi_json_array_next(&r)) nbi_json_read_int(&r, &v);
 *       }
 *   nbi_json_string_free(&key);
 *   ok = nbi_json_end(&r);   // false, with r.error, on any error above
 */
#ifndef NABLA_IO_JSON_H
#define NABLA_IO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting any reader allows (max_depth is clamped to it). */
#define NBI_JSON_MAX_DEPTH 64

typedef enum {
    NBI_JSON_INVALID = 0, /* end of input, or a byte no value starts with */
    NBI_JSON_OBJECT,
    NBI_JSON_ARRAY,
    NBI_JSON_STRING,
    NBI_JSON_NUMBER,
    NBI_JSON_BOOL,
    NBI_JSON_NULL,
} nbi_json_type;

typedef struct {
    const char *text; /* borrowed, not NUL-terminated */
    size_t      length;
    size_t      at; /* next byte to read */
    int         depth;
    int         max_depth;
    /* Per open container: whether a member was read (then ',' must come). */
    bool   has_member[NBI_JSON_MAX_DEPTH];
    bool   failed;
    bool   out_of_memory; /* the error is a refused allocation, not the text */
    size_t error_offset;
    char   error[160];
} nbi_json_reader;

/* A decoded string: chars[0, length) plus a NUL (chars may also contain
 * NULs, from \u0000), in exactly length + 1 bytes from nbi_host_alloc (so
 * that the user's allocator bounds what a file makes the reader allocate).
 * Owned by whoever holds it: free with nbi_json_string_free, or, having
 * taken chars over, with nbi_host_release(chars, length + 1). A read into a
 * non-empty string replaces it. */
typedef struct {
    char  *chars;
    size_t length;
} nbi_json_string;

void nbi_json_reader_init(nbi_json_reader *r, const char *text, size_t length, int max_depth);
/* Record an error at byte offset at (the caller's own, e.g. "unknown
 * dtype"), so that later calls stop. Returns false. */
bool nbi_json_fail(nbi_json_reader *r, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* The type of the next value, without consuming it (INVALID after an error). */
nbi_json_type nbi_json_peek(nbi_json_reader *r);
/* Byte offset of the next value (after whitespace), for messages. */
size_t nbi_json_offset(nbi_json_reader *r);

/* '{': then call object_next until it returns false. object_next reads the
 * next key into *key and the ':' after it (the caller then reads or skips
 * the value); false at the closing '}' (consumed) or on error. */
bool nbi_json_object_begin(nbi_json_reader *r);
bool nbi_json_object_next(nbi_json_reader *r, nbi_json_string *key);
/* '[': then array_next returns true while another element follows. */
bool nbi_json_array_begin(nbi_json_reader *r);
bool nbi_json_array_next(nbi_json_reader *r);

bool nbi_json_read_string(nbi_json_reader *r, nbi_json_string *out);
/* An integer literal (no fraction or exponent) in [INT64_MIN, INT64_MAX]. */
bool nbi_json_read_int(nbi_json_reader *r, int64_t *out);
/* Any number, as a double. */
bool nbi_json_read_number(nbi_json_reader *r, double *out);
bool nbi_json_read_bool(nbi_json_reader *r, bool *out);
bool nbi_json_read_null(nbi_json_reader *r);
/* Read and drop the next value, whatever it is (checking it all the same). */
bool nbi_json_skip(nbi_json_reader *r);
/* Only whitespace is left; true if the whole document was read with no error. */
bool nbi_json_end(nbi_json_reader *r);

void nbi_json_string_free(nbi_json_string *s);
/* s equals the NUL-terminated word. */
bool nbi_json_string_is(const nbi_json_string *s, const char *word);

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

/* A growing buffer of JSON text. Appends after a failed allocation do
 * nothing and leave failed set; check it once at the end. Free with
 * nbi_json_writer_free. */
typedef struct {
    char  *data;
    size_t length;
    size_t capacity;
    bool   failed;
} nbi_json_writer;

void nbi_json_write_raw(nbi_json_writer *w, const char *text, size_t length);
/* A quoted string: '"', '\\' and control characters escaped, other bytes
 * (UTF-8) as they are. The caller checked the bytes are valid UTF-8. */
void nbi_json_write_string(nbi_json_writer *w, const char *chars, size_t length);
void nbi_json_write_int(nbi_json_writer *w, int64_t value);
void nbi_json_writer_free(nbi_json_writer *w);

/* bytes[0, length) are well-formed UTF-8 (no overlongs, no surrogates, at
 * most U+10FFFF). */
bool nbi_utf8_is_valid(const char *bytes, size_t length);

#endif /* NABLA_IO_JSON_H */
