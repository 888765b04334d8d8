/*
 * idx.c — IDX files, the format of the MNIST database: nb_load_idx and the
 * in-memory reader of idx.h.
 *
 * The format (Y. LeCun, http://yann.lecun.com/exdb/mnist/):
 *   0x00 0x00 type ndim        4 bytes; type 0x08 ubyte, 0x09 sbyte,
 *                              0x0B short, 0x0C int, 0x0D float, 0x0E double
 *   size of each dim           ndim big-endian int32
 *   data                       the elements in row-major order, big-endian
 * Files are often gzip-compressed (MNIST is distributed as .gz); the first
 * two bytes tell (gzip starts 1f 8b, IDX 00 00), whatever the file's name.
 * Bytes and shorts load as int32, so that a loaded tensor has a dtype
 * nabla computes with; ubyte stays uint8 (the pixels of MNIST).
 *
 * The reader treats every file as hostile (it is fuzzed: fuzz/fuzz_idx.c).
 * Every size is overflow-checked and the data a header declares is capped
 * (NBI_IDX_MAX_DATA_BYTES), then compared with what the input can hold
 * before anything is allocated for it: exactly, for a plain file; for gzip,
 * against the most that deflate can expand the compressed bytes to
 * (NBI_IDX_DEFLATE_MAX_RATIO). Gzip data is inflated straight into the
 * tensor, chunk by chunk, and a stream that ends early fails at once.
 * Every problem is an NB_ERR_IO naming the path and what is wrong; a gzip
 * file in a build without zlib is NB_ERR_UNSUPPORTED.
 */
#include "idx.h"

#include "file.h"

#include <errno.h>
#include <stdlib.h>

#ifdef NB_HAVE_ZLIB
#define ZLIB_CONST /* next_in points to const bytes */
#include <zlib.h>
#endif

/* An IDX element type: its code in the magic number, its name in messages,
 * its size in the file and the dtype it loads as. */
typedef struct {
    unsigned char code;
    const char   *name;
    size_t        file_size;
    nb_dtype      dtype;
} idx_type;

static const idx_type idx_types[] = {
    {0x08, "ubyte", 1, NB_UINT8}, {0x09, "sbyte", 1, NB_INT32},   {0x0B, "short", 2, NB_INT32},
    {0x0C, "int", 4, NB_INT32},   {0x0D, "float", 4, NB_FLOAT32}, {0x0E, "double", 8, NB_FLOAT64},
};

enum {
    MAGIC_BYTES = 4,
    /* Compressed bytes read from a file per refill of the inflater. */
    GZIP_INPUT_CHUNK = 1 << 16,
    /* Bytes handed to zlib per call: its counters are 32-bit. */
    ZLIB_MAX_CHUNK = 1 << 30,
};

/* ------------------------------------------------------------------------ */
/* Where the bytes come from: a file or a buffer, plain or inflated          */
/* ------------------------------------------------------------------------ */

typedef struct {
    nbi_byte_source raw; /* the file or buffer, compressed or not */
    bool            gzip;
#ifdef NB_HAVE_ZLIB
    z_stream       zs;
    bool           zs_ready;
    unsigned char *input;           /* GZIP_INPUT_CHUNK bytes (files only) */
    bool           stream_done;     /* the last gzip member ended cleanly */
    bool           cut_short;       /* the input ended inside a gzip member */
    bool           in_later_member; /* past the end of the first member */
    bool           out_of_memory;
    const char    *corrupt; /* zlib's reason, when the data is bad */
#endif
} idx_source;

#ifdef NB_HAVE_ZLIB
/* zlib's allocations go through nabla's hooks like every other; the block
 * size (which zlib's free does not pass back) sits in front of the block. */
enum { ZLIB_BLOCK_HEADER = 64 }; /* keeps the 64-byte alignment */

static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    size_t         bytes = (size_t)items * size;
    unsigned char *block = nbi_host_alloc(bytes + ZLIB_BLOCK_HEADER);
    if (block == NULL) return Z_NULL;
    memcpy(block, &bytes, sizeof bytes);
    return block + ZLIB_BLOCK_HEADER;
}

static void zlib_free(voidpf opaque, voidpf address)
{
    (void)opaque;
    if (address == Z_NULL) return;
    unsigned char *block = (unsigned char *)address - ZLIB_BLOCK_HEADER;
    size_t         bytes;
    memcpy(&bytes, block, sizeof bytes);
    nbi_host_release(block, bytes + ZLIB_BLOCK_HEADER);
}

/* Give the inflater more compressed bytes; false at the end of the input. */
static bool gzip_refill(idx_source *src)
{
    uint64_t left = nbi_source_left(&src->raw);
    if (left == 0) return false;
    if (src->raw.file == NULL) {
        uint64_t n       = left < ZLIB_MAX_CHUNK ? left : ZLIB_MAX_CHUNK;
        src->zs.next_in  = src->raw.memory + src->raw.position;
        src->zs.avail_in = (uInt)n;
        src->raw.position += n;
        return true;
    }
    uint64_t got     = nbi_source_read(&src->raw, src->input, left < GZIP_INPUT_CHUNK ? left : GZIP_INPUT_CHUNK);
    src->zs.next_in  = src->input;
    src->zs.avail_in = (uInt)got;
    return got > 0;
}

/* Inflate up to n bytes into dst; stops early at the end of the stream or
 * on a problem (recorded in src for the caller's message). Concatenated
 * gzip members read as one stream, as gzip(1) does. */
static uint64_t gzip_read(idx_source *src, unsigned char *dst, uint64_t n)
{
    uint64_t got = 0;
    while (got < n && !src->stream_done && src->corrupt == NULL && !src->out_of_memory) {
        if (src->zs.avail_in == 0 && !gzip_refill(src)) {
            src->cut_short = true;
            break;
        }
        uint64_t want     = n - got;
        uInt     chunk    = want < ZLIB_MAX_CHUNK ? (uInt)want : ZLIB_MAX_CHUNK;
        src->zs.next_out  = dst + got;
        src->zs.avail_out = chunk;
        int rc            = inflate(&src->zs, Z_NO_FLUSH);
        got += chunk - src->zs.avail_out;
        if (rc == Z_STREAM_END) {
            if (src->zs.avail_in > 0 || gzip_refill(src)) {
                /* More input: another member must follow. */
                src->in_later_member = true;
                if (inflateReset(&src->zs) != Z_OK) src->corrupt = "cannot restart the inflater";
            } else {
                src->stream_done = true;
            }
        } else if (rc == Z_MEM_ERROR) {
            src->out_of_memory = true;
        } else if (rc == Z_BUF_ERROR && src->zs.avail_in == 0) {
            continue; /* no progress without more input: refill */
        } else if (rc != Z_OK) {
            src->corrupt = src->zs.msg ? src->zs.msg : "invalid deflate data";
        }
    }
    return got;
}
#endif

static uint64_t source_read(idx_source *src, void *dst, uint64_t n)
{
#ifdef NB_HAVE_ZLIB
    if (src->gzip) return gzip_read(src, dst, n);
#endif
    return nbi_source_read(&src->raw, dst, n);
}

/* The error for a read that came up short: the OS's reason, bad gzip data,
 * or truncation. */
static void *short_read(const idx_source *src, const char *what, uint64_t expected, uint64_t found)
{
    if (src->raw.read_errno)
        return nbi_fail(NB_ERR_IO, "nb_load_idx: %s: reading %s failed: %s", src->raw.name, what,
                        strerror(src->raw.read_errno));
#ifdef NB_HAVE_ZLIB
    if (src->out_of_memory) return nbi_fail(NB_ERR_OOM, "nb_load_idx: %s: out of memory inflating", src->raw.name);
    if (src->corrupt != NULL && src->in_later_member)
        return nbi_fail(NB_ERR_IO, "nb_load_idx: %s: the bytes after the gzip stream are not a gzip member (%s)",
                        src->raw.name, src->corrupt);
    if (src->corrupt != NULL)
        return nbi_fail(NB_ERR_IO, "nb_load_idx: %s: corrupt gzip data (%s)", src->raw.name, src->corrupt);
    if (src->cut_short)
        return nbi_fail(NB_ERR_IO,
                        "nb_load_idx: %s: truncated: expected %llu bytes of %s, found %llu "
                        "(the gzip stream is cut short)",
                        src->raw.name, (unsigned long long)expected, what, (unsigned long long)found);
#endif
    return nbi_fail(NB_ERR_IO, "nb_load_idx: %s: truncated: expected %llu bytes of %s, found %llu", src->raw.name,
                    (unsigned long long)expected, what, (unsigned long long)found);
}

/* Look at the first bytes (raw.position stays 0) and set up inflation for
 * gzip. False with the error recorded. */
static bool source_start(idx_source *src, const unsigned char *first, uint64_t first_count)
{
    src->gzip = first_count >= 2 && first[0] == 0x1f && first[1] == 0x8b;
    if (!src->gzip) return true;
#ifdef NB_HAVE_ZLIB
    src->zs.zalloc = zlib_alloc;
    src->zs.zfree  = zlib_free;
    src->zs.opaque = Z_NULL;
    /* 16 + MAX_WBITS: gzip wrapper only, with its CRC and length checked. */
    int rc = inflateInit2(&src->zs, 16 + MAX_WBITS);
    if (rc != Z_OK) {
        return rc == Z_MEM_ERROR ? nbi_fail(NB_ERR_OOM, "nb_load_idx: %s: out of memory inflating", src->raw.name)
                                 : nbi_fail(NB_ERR_IO, "nb_load_idx: %s: cannot start zlib's inflater", src->raw.name);
    }
    src->zs_ready = true;
    if (src->raw.file != NULL) {
        src->input = nbi_host_alloc(GZIP_INPUT_CHUNK);
        if (src->input == NULL) return nbi_fail(NB_ERR_OOM, "nb_load_idx: %s: out of memory", src->raw.name);
    }
    return true;
#else
    nbi_fail(NB_ERR_UNSUPPORTED,
             "nb_load_idx: %s: the file is gzip-compressed, but this build of nabla has no zlib "
             "(gunzip the file, or rebuild with zlib)",
             src->raw.name);
    return false;
#endif
}

static void source_finish(idx_source *src)
{
#ifdef NB_HAVE_ZLIB
    if (src->zs_ready) inflateEnd(&src->zs);
    if (src->input != NULL) nbi_host_release(src->input, GZIP_INPUT_CHUNK);
#else
    (void)src;
#endif
}

/* ------------------------------------------------------------------------ */
/* The file                                                                  */
/* ------------------------------------------------------------------------ */

/* data: count elements as read from the file (big-endian, type->file_size
 * bytes each) at the start of a buffer of count * dtype-size bytes; rewrite
 * them in place as host values of type->dtype. NOTE: widening (sbyte and
 * short to int32) walks backwards, so that each element is read before the
 * wider ones written above it can overwrite it. */
static void decode_in_place(unsigned char *data, int64_t count, const idx_type *type)
{
    switch (type->code) {
    case 0x08:
        break;
    case 0x09:
        for (int64_t i = count - 1; i >= 0; i--) {
            int32_t v = data[i] >= 0x80 ? (int32_t)data[i] - 0x100 : (int32_t)data[i];
            memcpy(data + 4 * i, &v, 4);
        }
        break;
    case 0x0B:
        for (int64_t i = count - 1; i >= 0; i--) {
            int32_t u = (int32_t)data[2 * i] << 8 | data[2 * i + 1];
            int32_t v = u >= 0x8000 ? u - 0x10000 : u;
            memcpy(data + 4 * i, &v, 4);
        }
        break;
    case 0x0C:
    case 0x0D:
        /* Assembled by shifts, so it is right on any host byte order; a
         * float's bits are copied as they are (NaN payloads included). */
        for (int64_t i = 0; i < count; i++) {
            const unsigned char *b = data + 4 * i;
            uint32_t             u = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
            memcpy(data + 4 * i, &u, 4);
        }
        break;
    case 0x0E:
        for (int64_t i = 0; i < count; i++) {
            const unsigned char *b = data + 8 * i;
            uint64_t             u = 0;
            for (int k = 0; k < 8; k++)
                u = u << 8 | b[k];
            memcpy(data + 8 * i, &u, 8);
        }
        break;
    default:
        break;
    }
}

/* After the data: did the input end as it should? For gzip, the stream
 * must have reached its end marker (zlib then has checked its CRC and
 * length). False with the error recorded. */
static bool stream_ended_cleanly(const idx_source *src)
{
    if (src->raw.read_errno) {
        short_read(src, "the end of the file", 0, 0);
        return false;
    }
#ifdef NB_HAVE_ZLIB
    if (src->gzip && !src->stream_done) {
        if (src->corrupt != NULL || src->out_of_memory)
            short_read(src, "the end of the gzip stream", 0, 0);
        else
            nbi_fail(NB_ERR_IO,
                     "nb_load_idx: %s: truncated: the gzip stream is cut short after the data, before "
                     "its end (CRC and length)",
                     src->raw.name);
        return false;
    }
#endif
    return true;
}

static const idx_type *find_type(unsigned char code)
{
    for (size_t i = 0; i < sizeof idx_types / sizeof idx_types[0]; i++)
        if (idx_types[i].code == code) return &idx_types[i];
    return NULL;
}

/* Read the whole file from src (set up by source_start). */
static nb_tensor *load_idx(idx_source *src)
{
    const char   *name = src->raw.name;
    unsigned char magic[MAGIC_BYTES];
    uint64_t      got = source_read(src, magic, MAGIC_BYTES);
    if (got < MAGIC_BYTES) return short_read(src, "magic number", MAGIC_BYTES, got);
    if (magic[0] != 0 || magic[1] != 0)
        return nbi_fail(NB_ERR_IO,
                        "nb_load_idx: %s: bad magic number %02x %02x %02x %02x (an IDX file starts with 00 00, "
                        "the type and the number of dims)",
                        name, magic[0], magic[1], magic[2], magic[3]);
    const idx_type *type = find_type(magic[2]);
    if (type == NULL)
        return nbi_fail(NB_ERR_IO,
                        "nb_load_idx: %s: unknown data type 0x%02x (IDX has 0x08 ubyte, 0x09 sbyte, 0x0B short, "
                        "0x0C int, 0x0D float, 0x0E double)",
                        name, magic[2]);
    int ndim = magic[3];
    if (ndim > NB_MAX_DIMS)
        return nbi_fail(NB_ERR_IO, "nb_load_idx: %s: %d dims, more than the %d nabla supports", name, ndim,
                        NB_MAX_DIMS);

    unsigned char dim_bytes[4 * NB_MAX_DIMS];
    uint64_t      dims_size = 4 * (uint64_t)ndim;
    got                     = source_read(src, dim_bytes, dims_size);
    if (got < dims_size) return short_read(src, "dim sizes", dims_size, got);
    int64_t shape[NB_MAX_DIMS];
    bool    has_zero = false;
    for (int d = 0; d < ndim; d++) {
        const unsigned char *b = dim_bytes + 4 * d;
        uint32_t             u = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
        if (u > INT32_MAX)
            return nbi_fail(NB_ERR_IO, "nb_load_idx: %s: dim %d has a negative size (%lld)", name, d,
                            (long long)u - (1LL << 32));
        shape[d] = u;
        has_zero = has_zero || u == 0;
    }

    /* Sizes: each dim < 2^31, so a product past the cap is caught before
     * it can overflow (the cap is 2^31 bytes). */
    char     shape_text[NBI_SHAPE_STR_SIZE];
    size_t   dtype_size = nb_dtype_size(type->dtype);
    uint64_t numel      = 1;
    for (int d = 0; d < ndim && !has_zero; d++) {
        numel *= (uint64_t)shape[d];
        if (numel > NBI_IDX_MAX_DATA_BYTES / dtype_size)
            return nbi_fail(NB_ERR_IO, "nb_load_idx: %s: shape %s is too large (nabla reads at most %llu bytes)", name,
                            nbi_shape_str(ndim, shape, shape_text, sizeof shape_text),
                            (unsigned long long)NBI_IDX_MAX_DATA_BYTES);
    }
    if (has_zero) numel = 0;
    /* An empty shape needs no data, but its strides (products of the
     * nonzero sizes) must still fit: the bound nbi_empty uses. */
    int64_t stride_product = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] > 0 && stride_product > INT64_MAX / 16 / shape[d])
            return nbi_fail(NB_ERR_IO, "nb_load_idx: %s: shape %s is too large (its strides overflow)", name,
                            nbi_shape_str(ndim, shape, shape_text, sizeof shape_text));
        stride_product *= shape[d] > 0 ? shape[d] : 1;
    }
    uint64_t data_size   = numel * type->file_size;
    uint64_t header_size = MAGIC_BYTES + dims_size;

    /* Can the input hold that much data? Checked before allocating. */
    if (!src->gzip) {
        uint64_t left = nbi_source_left(&src->raw);
        if (left < data_size) return short_read(src, "data", data_size, left);
        if (left > data_size)
            return nbi_fail(NB_ERR_IO, "nb_load_idx: %s: %llu bytes of trailing garbage after the %llu bytes of data",
                            name, (unsigned long long)(left - data_size), (unsigned long long)data_size);
    } else {
        uint64_t most =
            src->raw.size >= NBI_IDX_MAX_DATA_BYTES ? UINT64_MAX : (src->raw.size + 1) * NBI_IDX_DEFLATE_MAX_RATIO;
        if (header_size + data_size > most)
            return nbi_fail(NB_ERR_IO,
                            "nb_load_idx: %s: truncated: shape %s needs %llu bytes of data, more than %llu "
                            "gzip-compressed bytes can hold",
                            name, nbi_shape_str(ndim, shape, shape_text, sizeof shape_text),
                            (unsigned long long)data_size, (unsigned long long)src->raw.size);
    }

    nb_tensor *t = nbi_empty(ndim, shape, type->dtype, NB_DEVICE_CPU);
    if (t == NULL) /* the allocator's message does not say which file */
        return nbi_fail(nb_last_status(), "nb_load_idx: %s: out of memory for the data of shape %s (%llu bytes)", name,
                        nbi_shape_str(ndim, shape, shape_text, sizeof shape_text),
                        (unsigned long long)(numel * dtype_size));
    unsigned char *data = (unsigned char *)nbi_ptr(t);
    got                 = source_read(src, data, data_size);
    if (got < data_size) {
        nb_free(t);
        return short_read(src, "data", data_size, got);
    }
    /* Nothing may follow the data; for gzip this also reads the stream to
     * its end, which checks its CRC and length. */
    unsigned char extra;
    if (source_read(src, &extra, 1) != 0) {
        nb_free(t);
        return nbi_fail(NB_ERR_IO,
                        "nb_load_idx: %s: trailing garbage: the data goes on past the %llu bytes of shape %s", name,
                        (unsigned long long)data_size, nbi_shape_str(ndim, shape, shape_text, sizeof shape_text));
    }
    if (!stream_ended_cleanly(src)) {
        nb_free(t);
        return NULL;
    }
    decode_in_place(data, (int64_t)numel, type);
    return t;
}

nb_tensor *nbi_load_idx_from_memory(const void *bytes, size_t size, const char *name)
{
    if (bytes == NULL && size > 0) return nbi_fail(NB_ERR_ARG, "nb_load_idx: argument 'bytes' is NULL");
    idx_source src = {.raw = {.name = name ? name : "(memory)", .memory = bytes, .size = size}};
    nb_tensor *t   = NULL;
    if (source_start(&src, bytes, size)) t = load_idx(&src);
    source_finish(&src);
    return t;
}

nb_tensor *nb_load_idx(const char *path)
{
    if (path == NULL) return nbi_fail(NB_ERR_ARG, "nb_load_idx: argument 'path' is NULL");
    uint64_t size;
    FILE    *f = nbi_open_for_reading("nb_load_idx", path, &size);
    if (f == NULL) return NULL;
    idx_source    src = {.raw = {.name = path, .file = f, .size = size}};
    unsigned char first[2];
    uint64_t      first_count = nbi_source_read(&src.raw, first, sizeof first);
    nb_tensor    *t           = NULL;
    if (src.raw.read_errno) {
        short_read(&src, "magic number", MAGIC_BYTES, first_count);
    } else if (fseek(f, 0, SEEK_SET) != 0) {
        nbi_fail(NB_ERR_IO, "nb_load_idx: %s: cannot seek: %s", path, strerror(errno));
    } else {
        src.raw.position = 0;
        if (source_start(&src, first, first_count)) t = load_idx(&src);
    }
    source_finish(&src);
    fclose(f);
    return t;
}
