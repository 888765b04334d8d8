/*
 * json.c — the JSON pull reader and the writer of json.h.
 *
 * Grammar: RFC 8259. The reader looks at each byte at most a few times and
 * never past length; every error names its byte offset. Whitespace is
 * space, tab, '\n' and '\r' only, as the RFC says.
 */
#include "json.h"

#include "../core/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Reader basics                                                             */
/* ------------------------------------------------------------------------ */

void nbi_json_reader_init(nbi_json_reader *r, const char *text, size_t length, int max_depth)
{
    memset(r, 0, sizeof *r);
    r->text      = text;
    r->length    = text ? length : 0;
    r->max_depth = max_depth < 1 ? 1 : max_depth > NBI_JSON_MAX_DEPTH ? NBI_JSON_MAX_DEPTH : max_depth;
}

bool nbi_json_fail(nbi_json_reader *r, size_t at, const char *fmt, ...)
{
    if (r->failed) return false; /* keep the first cause */
    char    what[120];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    r->failed       = true;
    r->error_offset = at;
    snprintf(r->error, sizeof r->error, "%s at byte %zu", what, at);
    return false;
}

/* The byte at r->at, or -1 at the end. */
static int current(const nbi_json_reader *r) { return r->at < r->length ? (unsigned char)r->text[r->at] : -1; }

static void skip_space(nbi_json_reader *r)
{
    while (r->at < r->length) {
        char c = r->text[r->at];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        r->at++;
    }
}

/* "'x'" for a printable byte, "byte 0xNN" otherwise, "the end" at -1. */
static const char *describe(int c, char buf[16])
{
    if (c < 0) return "the end of the text";
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, 16, "'%c'", c);
    else
        snprintf(buf, 16, "byte 0x%02x", c);
    return buf;
}

static bool unexpected(nbi_json_reader *r, const char *expected)
{
    char buf[16];
    return nbi_json_fail(r, r->at, "expected %s, found %s", expected, describe(current(r), buf));
}

nbi_json_type nbi_json_peek(nbi_json_reader *r)
{
    if (r->failed) return NBI_JSON_INVALID;
    skip_space(r);
    switch (current(r)) {
    case '{':
        return NBI_JSON_OBJECT;
    case '[':
        return NBI_JSON_ARRAY;
    case '"':
        return NBI_JSON_STRING;
    case 't':
    case 'f':
        return NBI_JSON_BOOL;
    case 'n':
        return NBI_JSON_NULL;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return NBI_JSON_NUMBER;
    default:
        return NBI_JSON_INVALID;
    }
}

size_t nbi_json_offset(nbi_json_reader *r)
{
    if (!r->failed) skip_space(r);
    return r->at;
}

/* ------------------------------------------------------------------------ */
/* Containers                                                                */
/* ------------------------------------------------------------------------ */

static bool open_container(nbi_json_reader *r, char open, const char *what)
{
    if (r->failed) return false;
    skip_space(r);
    if (current(r) != open) return unexpected(r, what);
    if (r->depth >= r->max_depth) return nbi_json_fail(r, r->at, "nesting deeper than %d levels", r->max_depth);
    r->at++;
    r->has_member[r->depth++] = false;
    return true;
}

/* Before the next member: ',' if one was read, or the closing byte (then
 * false, container closed). Returns true when a member follows. */
static bool next_member(nbi_json_reader *r, char close, const char *what)
{
    if (r->failed) return false;
    if (r->depth == 0) return nbi_json_fail(r, r->at, "no open container"); /* misuse */
    skip_space(r);
    bool *has_member = &r->has_member[r->depth - 1];
    if (current(r) == close) {
        r->at++;
        r->depth--;
        return false;
    }
    if (*has_member) {
        if (current(r) != ',') return unexpected(r, what);
        r->at++;
        skip_space(r);
    }
    *has_member = true;
    return true;
}

bool nbi_json_object_begin(nbi_json_reader *r) { return open_container(r, '{', "'{'"); }
bool nbi_json_array_begin(nbi_json_reader *r) { return open_container(r, '[', "'['"); }

bool nbi_json_object_next(nbi_json_reader *r, nbi_json_string *key)
{
    if (!next_member(r, '}', "',' or '}' in an object")) return false;
    if (current(r) != '"') return unexpected(r, "a string key");
    if (!nbi_json_read_string(r, key)) return false;
    skip_space(r);
    if (current(r) != ':') return unexpected(r, "':' after an object key");
    r->at++;
    return true;
}

bool nbi_json_array_next(nbi_json_reader *r)
{
    if (!next_member(r, ']', "',' or ']' in an array")) return false;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Strings                                                                   */
/* ------------------------------------------------------------------------ */

/* Length of the UTF-8 sequence starting at s[0, n), or 0 if malformed:
 * overlong forms, surrogates (U+D800..DFFF) and values past U+10FFFF are
 * refused, as RFC 3629 says. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t   length;
    uint32_t min, value;
    if ((c & 0xE0) == 0xC0) {
        length = 2, min = 0x80, value = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
        length = 3, min = 0x800, value = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
        length = 4, min = 0x10000, value = c & 0x07u;
    } else {
        return 0;
    }
    if (length > n) return 0;
    for (size_t i = 1; i < length; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        value = value << 6 | (s[i] & 0x3Fu);
    }
    if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
    return length;
}

bool nbi_utf8_is_valid(const char *bytes, size_t length)
{
    const unsigned char *s = (const unsigned char *)bytes;
    for (size_t i = 0; i < length;) {
        size_t n = utf8_sequence(s + i, length - i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits at r->at (after "\u"); -1 with an error if not. */
static int32_t read_hex4(nbi_json_reader *r)
{
    int32_t value = 0;
    for (int i = 0; i < 4; i++) {
        int digit = hex_value(current(r));
        if (digit < 0) {
            unexpected(r, "4 hex digits after \\u");
            return -1;
        }
        value = value << 4 | digit;
        r->at++;
    }
    return value;
}

static size_t put_utf8(char *out, uint32_t code)
{
    if (code < 0x80) {
        out[0] = (char)code;
        return 1;
    }
    if (code < 0x800) {
        out[0] = (char)(0xC0 | code >> 6);
        out[1] = (char)(0x80 | (code & 0x3F));
        return 2;
    }
    if (code < 0x10000) {
        out[0] = (char)(0xE0 | code >> 12);
        out[1] = (char)(0x80 | ((code >> 6) & 0x3F));
        out[2] = (char)(0x80 | (code & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | code >> 18);
    out[1] = (char)(0x80 | ((code >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((code >> 6) & 0x3F));
    out[3] = (char)(0x80 | (code & 0x3F));
    return 4;
}

/* The code point of an escape at r->at (just after '\\'). */
static bool read_escape(nbi_json_reader *r, uint32_t *code)
{
    size_t start = r->at - 1;
    int    c     = current(r);
    r->at++;
    switch (c) {
    case '"':
        *code = '"';
        return true;
    case '\\':
        *code = '\\';
        return true;
    case '/':
        *code = '/';
        return true;
    case 'b':
        *code = '\b';
        return true;
    case 'f':
        *code = '\f';
        return true;
    case 'n':
        *code = '\n';
        return true;
    case 'r':
        *code = '\r';
        return true;
    case 't':
        *code = '\t';
        return true;
    case 'u':
        break;
    default: {
        char buf[16];
        r->at--;
        return nbi_json_fail(r, start, "invalid escape '\\' followed by %s", describe(c, buf));
    }
    }
    int32_t first = read_hex4(r);
    if (first < 0) return false;
    if (first >= 0xDC00 && first <= 0xDFFF) return nbi_json_fail(r, start, "lone low surrogate \\u%04X", first);
    if (first < 0xD800 || first > 0xDBFF) {
        *code = (uint32_t)first;
        return true;
    }
    /* A high surrogate must be followed by an escaped low one. */
    if (current(r) != '\\' || r->at + 1 >= r->length || r->text[r->at + 1] != 'u')
        return nbi_json_fail(r, start, "lone high surrogate \\u%04X", first);
    r->at += 2;
    int32_t second = read_hex4(r);
    if (second < 0) return false;
    if (second < 0xDC00 || second > 0xDFFF)
        return nbi_json_fail(r, start, "high surrogate \\u%04X not followed by a low one", first);
    *code = 0x10000u + ((uint32_t)(first - 0xD800) << 10) + (uint32_t)(second - 0xDC00);
    return true;
}

/* Decodes the string body r->text[r->at, end), which the caller's first
 * pass checked, into out, or only counts its bytes when out is NULL; r->at
 * ends at end. SIZE_MAX after a bad escape (recorded). */
static size_t decode_string(nbi_json_reader *r, size_t end, char *out)
{
    size_t length = 0;
    while (r->at < end) {
        char c = r->text[r->at++];
        if (c != '\\') {
            if (out) out[length] = c;
            length++;
            continue;
        }
        uint32_t code = 0; /* NOTE: set by read_escape; gcc -O3 cannot see it */
        if (!read_escape(r, &code)) return SIZE_MAX;
        char   utf8[4];
        size_t n = put_utf8(utf8, code);
        if (out) memcpy(out + length, utf8, n);
        length += n;
    }
    return length;
}

bool nbi_json_read_string(nbi_json_reader *r, nbi_json_string *out)
{
    if (r->failed) return false;
    skip_space(r);
    if (current(r) != '"') return unexpected(r, "a string");
    size_t start = r->at++;
    /* First pass: find the end and check the text; its length bounds the
     * decoded length (escapes only shrink). */
    size_t end = r->at;
    for (;;) {
        if (end >= r->length) return nbi_json_fail(r, start, "unterminated string");
        unsigned char c = (unsigned char)r->text[end];
        if (c == '"') break;
        if (c < 0x20) {
            char buf[16];
            return nbi_json_fail(r, end, "unescaped control character %s in a string", describe(c, buf));
        }
        if (c == '\\') {
            end += 2; /* the escaped byte is checked in the second pass */
            continue;
        }
        size_t n = utf8_sequence((const unsigned char *)r->text + end, r->length - end);
        if (n == 0) return nbi_json_fail(r, end, "invalid UTF-8 in a string");
        end += n;
    }
    /* Second pass counts the decoded bytes, third writes them: the string
     * gets exactly length + 1 bytes, so that whoever takes it over can
     * release it knowing only its length (nbi_host_release). */
    size_t body   = r->at;
    size_t length = decode_string(r, end, NULL);
    if (length == SIZE_MAX) return false;
    char *chars = nbi_host_alloc(length + 1);
    if (chars == NULL) {
        r->out_of_memory = true;
        return nbi_json_fail(r, start, "out of memory for a %zu-byte string", length);
    }
    r->at = body;
    decode_string(r, end, chars);
    r->at         = end + 1;
    chars[length] = '\0';
    nbi_json_string_free(out);
    out->chars  = chars;
    out->length = length;
    return true;
}

void nbi_json_string_free(nbi_json_string *s)
{
    if (s->chars != NULL) nbi_host_release(s->chars, s->length + 1);
    s->chars  = NULL;
    s->length = 0;
}

bool nbi_json_string_is(const nbi_json_string *s, const char *word)
{
    size_t n = strlen(word);
    return s->chars != NULL && s->length == n && memcmp(s->chars, word, n) == 0;
}

/* ------------------------------------------------------------------------ */
/* Numbers and literals                                                      */
/* ------------------------------------------------------------------------ */

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* Scans a number's text per the grammar
 *   -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
 * and sets *is_integer when it has neither fraction nor exponent. r->at is
 * left after it. */
static bool scan_number(nbi_json_reader *r, size_t *start, bool *is_integer)
{
    if (r->failed) return false;
    skip_space(r);
    *start = r->at;
    if (current(r) == '-') r->at++;
    if (current(r) == '0') {
        r->at++;
        if (is_digit(current(r))) return nbi_json_fail(r, *start, "a number with a leading zero");
    } else if (is_digit(current(r))) {
        while (is_digit(current(r)))
            r->at++;
    } else {
        return unexpected(r, "a number");
    }
    *is_integer = true;
    if (current(r) == '.') {
        *is_integer = false;
        r->at++;
        if (!is_digit(current(r))) return unexpected(r, "a digit after '.'");
        while (is_digit(current(r)))
            r->at++;
    }
    if (current(r) == 'e' || current(r) == 'E') {
        *is_integer = false;
        r->at++;
        if (current(r) == '+' || current(r) == '-') r->at++;
        if (!is_digit(current(r))) return unexpected(r, "a digit in the exponent");
        while (is_digit(current(r)))
            r->at++;
    }
    return true;
}

bool nbi_json_read_int(nbi_json_reader *r, int64_t *out)
{
    size_t start;
    bool   is_integer;
    if (!scan_number(r, &start, &is_integer)) return false;
    if (!is_integer) return nbi_json_fail(r, start, "expected an integer, found a fraction or exponent");
    bool     negative = r->text[start] == '-';
    uint64_t limit    = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t value    = 0;
    for (size_t i = start + negative; i < r->at; i++) {
        uint64_t digit = (uint64_t)(r->text[i] - '0');
        if (value > (limit - digit) / 10) return nbi_json_fail(r, start, "integer out of the int64 range");
        value = value * 10 + digit;
    }
    /* NOTE: -(int64_t)value would overflow for INT64_MIN; negate unsigned. */
    *out = negative ? (int64_t)(0 - value) : (int64_t)value;
    return true;
}

bool nbi_json_read_number(nbi_json_reader *r, double *out)
{
    size_t start;
    bool   is_integer;
    if (!scan_number(r, &start, &is_integer)) return false;
    char   buf[512];
    size_t n = r->at - start;
    if (n >= sizeof buf) return nbi_json_fail(r, start, "a number of more than %zu characters", sizeof buf - 1);
    memcpy(buf, r->text + start, n);
    buf[n] = '\0';
    *out   = strtod(buf, NULL); /* the text is valid, so strtod reads all of it; overflow gives +-HUGE_VAL */
    return true;
}

static bool read_word(nbi_json_reader *r, const char *word, const char *what)
{
    size_t n = strlen(word);
    if (r->length - r->at < n || memcmp(r->text + r->at, word, n) != 0) return unexpected(r, what);
    r->at += n;
    return true;
}

bool nbi_json_read_bool(nbi_json_reader *r, bool *out)
{
    if (r->failed) return false;
    skip_space(r);
    if (current(r) == 't' && read_word(r, "true", "true or false")) {
        *out = true;
        return true;
    }
    if (!r->failed && read_word(r, "false", "true or false")) {
        *out = false;
        return true;
    }
    return false;
}

bool nbi_json_read_null(nbi_json_reader *r)
{
    if (r->failed) return false;
    skip_space(r);
    return read_word(r, "null", "null");
}

bool nbi_json_skip(nbi_json_reader *r)
{
    nbi_json_string text = {0};
    bool            ok;
    switch (nbi_json_peek(r)) {
    case NBI_JSON_OBJECT:
        if (!nbi_json_object_begin(r)) return false;
        while (nbi_json_object_next(r, &text))
            if (!nbi_json_skip(r)) break;
        nbi_json_string_free(&text);
        return !r->failed;
    case NBI_JSON_ARRAY:
        if (!nbi_json_array_begin(r)) return false;
        while (nbi_json_array_next(r))
            if (!nbi_json_skip(r)) break;
        return !r->failed;
    case NBI_JSON_STRING:
        ok = nbi_json_read_string(r, &text);
        nbi_json_string_free(&text);
        return ok;
    case NBI_JSON_NUMBER: {
        size_t start;
        bool   is_integer;
        return scan_number(r, &start, &is_integer);
    }
    case NBI_JSON_BOOL: {
        bool value;
        return nbi_json_read_bool(r, &value);
    }
    case NBI_JSON_NULL:
        return nbi_json_read_null(r);
    case NBI_JSON_INVALID:
        break;
    }
    return r->failed ? false : unexpected(r, "a value");
}

bool nbi_json_end(nbi_json_reader *r)
{
    if (r->failed) return false;
    if (r->depth != 0) return nbi_json_fail(r, r->at, "unclosed container"); /* misuse */
    skip_space(r);
    if (r->at != r->length) return unexpected(r, "the end of the text");
    return true;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

void nbi_json_write_raw(nbi_json_writer *w, const char *text, size_t length)
{
    if (w->failed) return;
    if (length > w->capacity - w->length) {
        size_t capacity = w->capacity ? w->capacity : 256;
        while (length > capacity - w->length) {
            if (capacity > SIZE_MAX / 2) {
                w->failed = true;
                return;
            }
            capacity *= 2;
        }
        char *data = realloc(w->data, capacity);
        if (data == NULL) {
            w->failed = true;
            return;
        }
        w->data     = data;
        w->capacity = capacity;
    }
    if (length) memcpy(w->data + w->length, text, length);
    w->length += length;
}

void nbi_json_write_string(nbi_json_writer *w, const char *chars, size_t length)
{
    nbi_json_write_raw(w, "\"", 1);
    size_t plain = 0; /* start of the run of bytes written as they are */
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)chars[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        nbi_json_write_raw(w, chars + plain, i - plain);
        char escape[8];
        switch (c) {
        case '"':
            memcpy(escape, "\\\"", 3);
            break;
        case '\\':
            memcpy(escape, "\\\\", 3);
            break;
        case '\n':
            memcpy(escape, "\\n", 3);
            break;
        case '\r':
            memcpy(escape, "\\r", 3);
            break;
        case '\t':
            memcpy(escape, "\\t", 3);
            break;
        case '\b':
            memcpy(escape, "\\b", 3);
            break;
        case '\f':
            memcpy(escape, "\\f", 3);
            break;
        default:
            snprintf(escape, sizeof escape, "\\u%04x", c);
            break;
        }
        nbi_json_write_raw(w, escape, strlen(escape));
        plain = i + 1;
    }
    nbi_json_write_raw(w, chars + plain, length - plain);
    nbi_json_write_raw(w, "\"", 1);
}

void nbi_json_write_int(nbi_json_writer *w, int64_t value)
{
    char text[24];
    int  n = snprintf(text, sizeof text, "%lld", (long long)value);
    nbi_json_write_raw(w, text, (size_t)n);
}

void nbi_json_writer_free(nbi_json_writer *w)
{
    free(w->data);
    w->data     = NULL;
    w->length   = 0;
    w->capacity = 0;
    w->failed   = false;
}
