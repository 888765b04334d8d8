/*
 * print.c — nb_to_string and nb_print: the text PyTorch 1.13 prints for a
 * tensor with its default print options (precision 4, threshold 1000,
 * edgeitems 3, linewidth 80), character for character.
 *
 * The rules, as torch/_tensor_str.py applies them:
 *   - One formatter for the whole tensor (or, past 1000 elements, for the
 *     edge elements that are shown). Floats look at their nonzero finite
 *     values: if all are integers ("int mode") they print as "%.0f" plus a
 *     ".", else with 4 decimals; scientific notation ("%.4e") when
 *     max/min > 1000 or max > 1e8 (or, outside int mode, min < 1e-4). Every
 *     element is right-aligned to the widest of those values; zeros, NaN and
 *     inf do not count toward the width. Integers and bools ("True") are
 *     aligned to the widest of all shown values.
 *   - A row wraps after floor((80 - indent) / (width + 2)) elements; a dim of
 *     more than 6 shows its first and last 3 entries around "...".
 *   - Suffixes: "dtype=torch.float64" unless the dtype is float32, int64 or
 *     bool (empty tensors show any dtype but float32, plus "size=(0, 3)"
 *     when not 1-d), then "requires_grad=True". A suffix that would pass
 *     column 80 goes on a new line.
 *
 * Elements are read through the tensor's strides, so views print without a
 * copy; only the shown elements are visited, so a huge tensor prints fast.
 *
 * Why in io/ and not core/: printing reads a tensor out for people, as the
 * file formats read it out for programs, and like them it stands on ops and
 * autograd (a device tensor prints from nb_to's host copy; a result names
 * its node through nb_grad_fn_name). In core it made core call upward.
 */
#include "../core/internal.h"

#include <stdio.h>
#include <stdlib.h>

enum {
    PRINT_PRECISION = 4,
    PRINT_THRESHOLD = 1000, /* more elements than this are summarised */
    PRINT_EDGEITEMS = 3,
    PRINT_LINEWIDTH = 80,
    PREFIX_LENGTH   = 7, /* strlen("tensor(") */
    /* Enough for "%.4f" of the largest double (309 digits) and any "%lld". */
    ELEMENT_BUFFER = 400,
};

/* ------------------------------------------------------------------------ */
/* A growing string                                                          */
/* ------------------------------------------------------------------------ */

typedef struct {
    char  *data;
    size_t length;
    size_t capacity;
    bool   out_of_memory;
} text;

static void text_append(text *s, const char *chars, size_t n)
{
    if (s->out_of_memory) return;
    if (s->length + n + 1 > s->capacity) {
        size_t capacity = s->capacity ? s->capacity : 256;
        while (s->length + n + 1 > capacity)
            capacity *= 2;
        char *grown = realloc(s->data, capacity);
        if (grown == NULL) {
            s->out_of_memory = true;
            return;
        }
        s->data     = grown;
        s->capacity = capacity;
    }
    memcpy(s->data + s->length, chars, n);
    s->length += n;
    s->data[s->length] = '\0';
}

static void text_puts(text *s, const char *chars) { text_append(s, chars, strlen(chars)); }

static void text_repeat(text *s, char c, int count)
{
    for (int i = 0; i < count; i++)
        text_append(s, &c, 1);
}

/* ------------------------------------------------------------------------ */
/* Walking the shown elements                                                */
/* ------------------------------------------------------------------------ */

/* The indices shown along a dim of the given size: all of them, or the first
 * and last PRINT_EDGEITEMS when summarising a longer dim. Returns how many,
 * and the i-th in index_of(i). */
static int64_t shown_count(int64_t size, bool summarize)
{
    return summarize && size > 2 * PRINT_EDGEITEMS ? 2 * PRINT_EDGEITEMS : size;
}

static int64_t shown_index(int64_t i, int64_t size, bool summarize)
{
    if (summarize && size > 2 * PRINT_EDGEITEMS && i >= PRINT_EDGEITEMS) return size - 2 * PRINT_EDGEITEMS + i;
    return i;
}

typedef void (*element_fn)(const char *element, void *ctx);

/* Calls visit on every shown element of t from dim on; element points at
 * the first element of the sub-tensor. */
static void walk_shown(const nb_tensor *t, int dim, const char *element, bool summarize, element_fn visit, void *ctx)
{
    if (dim == t->ndim) {
        visit(element, ctx);
        return;
    }
    int64_t step  = t->stride[dim] * (int64_t)nbi_itemsize(t);
    int64_t count = shown_count(t->shape[dim], summarize);
    for (int64_t i = 0; i < count; i++)
        walk_shown(t, dim + 1, element + shown_index(i, t->shape[dim], summarize) * step, summarize, visit, ctx);
}

/* ------------------------------------------------------------------------ */
/* The formatter: one mode and width for every element                       */
/* ------------------------------------------------------------------------ */

typedef struct {
    nb_dtype dtype;
    bool     floating;
    bool     int_mode; /* floats: every nonzero finite value is an integer */
    bool     sci_mode;
    int      max_width;
    /* Statistics of the nonzero finite values (floats). */
    bool   have_values;
    double min_abs, max_abs;
} formatter;

/* The text of one element in the formatter's mode, unpadded. */
static int format_element(const formatter *f, const char *element, char *out)
{
    if (!f->floating) {
        if (f->dtype == NB_BOOL) return snprintf(out, ELEMENT_BUFFER, "%s", *element ? "True" : "False");
        return snprintf(out, ELEMENT_BUFFER, "%lld", (long long)nbi_load_i64(element, f->dtype));
    }
    double v = nbi_load_f64(element, f->dtype);
    /* NOTE: Python writes every NaN as "nan"; printf may write "-nan". */
    if (isnan(v)) return snprintf(out, ELEMENT_BUFFER, "nan");
    if (isinf(v)) return snprintf(out, ELEMENT_BUFFER, v > 0 ? "inf" : "-inf");
    if (f->sci_mode) return snprintf(out, ELEMENT_BUFFER, "%.*e", PRINT_PRECISION, v);
    if (f->int_mode) return snprintf(out, ELEMENT_BUFFER, "%.0f.", v);
    return snprintf(out, ELEMENT_BUFFER, "%.*f", PRINT_PRECISION, v);
}

static bool is_nonzero_finite(double v) { return isfinite(v) && v != 0; }

/* Pass 1 over floats: the range of magnitudes and whether all are integers. */
static void collect_float_stats(const char *element, void *ctx)
{
    formatter *f = ctx;
    double     v = nbi_load_f64(element, f->dtype);
    if (!is_nonzero_finite(v)) return;
    double magnitude = fabs(v);
    if (!f->have_values) {
        f->min_abs = f->max_abs = magnitude;
        f->have_values          = true;
    } else {
        if (magnitude < f->min_abs) f->min_abs = magnitude;
        if (magnitude > f->max_abs) f->max_abs = magnitude;
    }
    if (v != ceil(v)) f->int_mode = false;
}

/* Pass 2: the widest element. Floats count only nonzero finite values. */
static void measure_width(const char *element, void *ctx)
{
    formatter *f = ctx;
    if (f->floating && !is_nonzero_finite(nbi_load_f64(element, f->dtype))) return;
    char buf[ELEMENT_BUFFER];
    int  width = format_element(f, element, buf);
    if (width > f->max_width) f->max_width = width;
}

static formatter make_formatter(const nb_tensor *t, bool summarize)
{
    formatter f = {.dtype = t->dtype, .floating = nb_dtype_is_floating(t->dtype), .int_mode = true, .max_width = 1};
    if (f.floating) {
        walk_shown(t, 0, nbi_ptr(t), summarize, collect_float_stats, &f);
        if (!f.have_values) return f; /* only zeros, NaN, inf: "%.0f." at width 1 */
        double ratio = f.max_abs / f.min_abs;
        f.sci_mode   = ratio > 1000.0 || f.max_abs > 1.0e8 || (!f.int_mode && f.min_abs < 1.0e-4);
    }
    walk_shown(t, 0, nbi_ptr(t), summarize, measure_width, &f);
    return f;
}

static void append_element(text *s, const formatter *f, const char *element)
{
    char buf[ELEMENT_BUFFER];
    int  width = format_element(f, element, buf);
    text_repeat(s, ' ', f->max_width - width);
    text_append(s, buf, (size_t)width);
}

/* ------------------------------------------------------------------------ */
/* Layout                                                                    */
/* ------------------------------------------------------------------------ */

/* One row (the last dim), wrapped at PRINT_LINEWIDTH. indent is the column
 * of the row's "[". */
static void append_row(text *s, const nb_tensor *t, const char *element, int indent, bool summarize, const formatter *f)
{
    int     dim      = t->ndim - 1;
    int64_t size     = t->shape[dim];
    int64_t step     = t->stride[dim] * (int64_t)nbi_itemsize(t);
    int     per_line = (PRINT_LINEWIDTH - indent) / (f->max_width + 2);
    bool    ellipsis = summarize && size > 2 * PRINT_EDGEITEMS;
    int64_t count    = shown_count(size, summarize);
    int64_t items    = count + (ellipsis ? 1 : 0); /* " ..." is an item too */
    if (per_line < 1) per_line = 1;

    text_puts(s, "[");
    for (int64_t item = 0; item < items; item++) {
        if (item > 0) {
            if (item % per_line == 0) {
                text_puts(s, ",\n");
                text_repeat(s, ' ', indent + 1);
            } else {
                text_puts(s, ", ");
            }
        }
        if (ellipsis && item == PRINT_EDGEITEMS) {
            text_puts(s, " ...");
            continue;
        }
        int64_t i = ellipsis && item > PRINT_EDGEITEMS ? item - 1 : item;
        append_element(s, f, element + shown_index(i, size, summarize) * step);
    }
    text_puts(s, "]");
}

/* The sub-tensor of t from dim on, starting at element; indent is the
 * column of its "[". Sub-tensors of rank r are separated by r - 1 blank
 * lines, as torch does. */
static void append_tensor(text *s, const nb_tensor *t, int dim, const char *element, int indent, bool summarize,
                          const formatter *f)
{
    int rank = t->ndim - dim;
    if (rank == 0) {
        append_element(s, f, element);
        return;
    }
    if (rank == 1) {
        append_row(s, t, element, indent, summarize, f);
        return;
    }
    int64_t size     = t->shape[dim];
    int64_t step     = t->stride[dim] * (int64_t)nbi_itemsize(t);
    bool    ellipsis = summarize && size > 2 * PRINT_EDGEITEMS;
    int64_t count    = shown_count(size, summarize);
    int64_t items    = count + (ellipsis ? 1 : 0);

    text_puts(s, "[");
    for (int64_t item = 0; item < items; item++) {
        if (item > 0) {
            text_puts(s, ",");
            text_repeat(s, '\n', rank - 1);
            text_repeat(s, ' ', indent + 1);
        }
        if (ellipsis && item == PRINT_EDGEITEMS) {
            text_puts(s, "...");
            continue;
        }
        int64_t i = ellipsis && item > PRINT_EDGEITEMS ? item - 1 : item;
        append_tensor(s, t, dim + 1, element + shown_index(i, size, summarize) * step, indent + 1, summarize, f);
    }
    text_puts(s, "]");
}

/* ------------------------------------------------------------------------ */
/* Suffixes                                                                  */
/* ------------------------------------------------------------------------ */

/* Appends ", suffix", or ",\n       suffix" when it would pass column 80.
 * last_line is torch's running count: the last line's length plus 2. */
static void append_suffix(text *s, const char *suffix, size_t *last_line)
{
    size_t length = strlen(suffix);
    if (*last_line + length + 2 > PRINT_LINEWIDTH) {
        text_puts(s, ",\n");
        text_repeat(s, ' ', PREFIX_LENGTH);
        *last_line = PREFIX_LENGTH + length;
    } else {
        text_puts(s, ", ");
        *last_line += length + 2;
    }
    text_puts(s, suffix);
}

static size_t last_line_measure(const text *s)
{
    if (s->out_of_memory) return 0;
    const char *newline = strrchr(s->data, '\n');
    size_t      start   = newline ? (size_t)(newline - s->data) + 1 : 0;
    return s->length - start + 2;
}

static const char *torch_dtype_name(nb_dtype dtype)
{
    switch (dtype) {
    case NB_FLOAT32:
        return "torch.float32";
    case NB_FLOAT64:
        return "torch.float64";
    case NB_INT64:
        return "torch.int64";
    case NB_INT32:
        return "torch.int32";
    case NB_UINT8:
        return "torch.uint8";
    case NB_BOOL:
        return "torch.bool";
    case NB_FLOAT16:
        return "torch.float16";
    case NB_BFLOAT16:
        return "torch.bfloat16";
    case NB_INT16:
        return "torch.int16";
    case NB_INT8:
        return "torch.int8";
    default:
        return "unknown";
    }
}

/* ------------------------------------------------------------------------ */
/* Public API                                                                */
/* ------------------------------------------------------------------------ */

/* t: any shape, dtype and strides, on the CPU. Returns a malloc'd string. */
static char *cpu_tensor_to_string(const nb_tensor *t, nb_device device)
{
    text s = {0};
    text_puts(&s, "tensor(");
    bool summarize = t->numel > PRINT_THRESHOLD;
    if (t->numel == 0) {
        text_puts(&s, "[]");
    } else {
        formatter f = make_formatter(t, summarize);
        append_tensor(&s, t, 0, nbi_ptr(t), PREFIX_LENGTH, summarize, &f);
    }

    size_t last_line = last_line_measure(&s);
    char   suffix[NBI_SHAPE_STR_SIZE + 32];
    if (device.type != NB_CPU) {
        snprintf(suffix, sizeof suffix, "device='%s:%d'", device.type == NB_CUDA ? "cuda" : "unknown", device.index);
        append_suffix(&s, suffix, &last_line);
    }
    if (t->numel == 0) {
        if (t->ndim != 1) {
            /* Python's tuple: "(0, 3)" (a 0-d tensor is never empty). */
            size_t used = (size_t)snprintf(suffix, sizeof suffix, "size=(");
            for (int i = 0; i < t->ndim && used < sizeof suffix; i++)
                used += (size_t)snprintf(suffix + used, sizeof suffix - used, i ? ", %lld" : "%lld",
                                         (long long)t->shape[i]);
            if (used < sizeof suffix) snprintf(suffix + used, sizeof suffix - used, ")");
            append_suffix(&s, suffix, &last_line);
        }
        /* NOTE: an empty tensor shows int64 and bool too: with no elements
         * there is nothing to tell them from float32 by. */
        if (t->dtype != NB_FLOAT32) {
            snprintf(suffix, sizeof suffix, "dtype=%s", torch_dtype_name(t->dtype));
            append_suffix(&s, suffix, &last_line);
        }
    } else if (t->dtype != NB_FLOAT32 && t->dtype != NB_INT64 && t->dtype != NB_BOOL) {
        snprintf(suffix, sizeof suffix, "dtype=%s", torch_dtype_name(t->dtype));
        append_suffix(&s, suffix, &last_line);
    }
    /* A leaf says requires_grad; a result names the node that made it, as
     * torch's "grad_fn=<MulBackward0>" (the same names). */
    if (t->grad_fn != NULL) {
        snprintf(suffix, sizeof suffix, "grad_fn=<%s>", nb_grad_fn_name(t));
        append_suffix(&s, suffix, &last_line);
    } else if (t->requires_grad) {
        append_suffix(&s, "requires_grad=True", &last_line);
    }
    text_puts(&s, ")");

    if (s.out_of_memory) {
        free(s.data);
        return nbi_fail(NB_ERR_OOM, "nb_to_string: out of memory building the text");
    }
    return s.data;
}

char *nb_to_string(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_to_string", "t")) return NULL;
    nb_device device = t->storage->device;
    if (device.type == NB_CPU) return cpu_tensor_to_string(t, device);
    /* A device tensor prints from a host copy, with a device= suffix. */
    nb_tensor *host = nb_to(t, NB_DEVICE_CPU);
    if (host == NULL) return NULL;
    host->requires_grad = t->requires_grad;
    char *s             = cpu_tensor_to_string(host, device);
    nb_free(host);
    return s;
}

void nb_string_free(char *s) { free(s); }

nb_status nb_fprint(FILE *f, const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_fprint", "t")) return NB_ERR_ARG;
    if (f == NULL) return nbi_fail_status(NB_ERR_ARG, "nb_fprint: argument 'f' is NULL");
    char *s = nb_to_string(t);
    if (s == NULL) return nb_last_status();
    int written = fprintf(f, "%s\n", s);
    free(s);
    if (written < 0) return nbi_fail_status(NB_ERR_IO, "nb_fprint: writing to the stream failed");
    return NB_OK;
}

nb_status nb_print(const nb_tensor *t)
{
    if (!nbi_check_tensor(t, "nb_print", "t")) return NB_ERR_ARG;
    return nb_fprint(stdout, t);
}
