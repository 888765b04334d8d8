/*
 * file.h — what the readers and writers of file formats (npy.c, idx.c,
 * safetensors*.c) share: opening a file with its size known before any
 * read, bounded reads from a file or a buffer, closing a written file with
 * the OS's reason for any failure, little-endian data, and file strings
 * made fit for error messages.
 *
 * Every failure is recorded as "<op>: <path>: <what>", op being the public
 * function the caller implements (nb_load_npy, nb_save_safetensors, ...).
 */
#ifndef NABLA_IO_FILE_H
#define NABLA_IO_FILE_H

#include "../core/internal.h"

#include <stdio.h>

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

/* path opened for binary reading, at its start, with its size in *size
 * (found first, so that a header's claims can be checked against it before
 * anything is allocated). NULL with NB_ERR_IO recorded ("cannot open",
 * "cannot find the file's size"). The caller closes it. */
FILE *nbi_open_for_reading(const char *op, const char *path, uint64_t *size);

/* Bytes from an open file or from a buffer (borrowed), read forward and
 * never past size. */
typedef struct {
    const char          *name; /* the path, for messages */
    FILE                *file; /* NULL: read from memory */
    const unsigned char *memory;
    uint64_t             size;       /* total bytes, known before reading */
    uint64_t             position;   /* bytes consumed */
    int                  read_errno; /* set when a file read failed */
} nbi_byte_source;

static inline uint64_t nbi_source_left(const nbi_byte_source *src) { return src->size - src->position; }

/* Reads up to n bytes into dst; returns how many were read (fewer at the
 * end, or when a file read fails: read_errno then says why). */
uint64_t nbi_source_read(nbi_byte_source *src, void *dst, uint64_t n);

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

/* path opened (created or truncated) for binary writing, with errno 0 so
 * that a write that fails leaves its own reason. NULL with NB_ERR_IO
 * recorded ("cannot open for writing: <why>"). */
FILE *nbi_open_for_writing(const char *op, const char *path);

/* Closes f, which the caller wrote; ok says every write succeeded (when
 * not, errno still holds why). NB_OK, or NB_ERR_IO recorded ("writing
 * failed: <why>"), also when only the close (the final flush) fails.
 * NOTE: a half-written file is left as it is: removing path could delete
 * something that is not ours (a device, a file behind a link). */
nb_status nbi_close_written(FILE *f, bool ok, const char *op, const char *path);

/* ------------------------------------------------------------------------ */
/* Byte order                                                                */
/* ------------------------------------------------------------------------ */

bool nbi_host_is_little_endian(void);

/* Reverses the bytes of each of count elements of itemsize bytes. */
void nbi_swap_bytes(unsigned char *data, int64_t count, size_t itemsize);

/* Writes t's elements (contiguous, on the CPU) little-endian, as every
 * format nabla writes stores them; false when a write failed. */
bool nbi_write_little_endian(FILE *f, const nb_tensor *t);

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

#define NBI_QUOTE_MAX 60

/* A string from a file made fit for a message: at most `most` bytes
 * (<= NBI_QUOTE_MAX), bytes outside printable ASCII written as \xNN, "..."
 * when cut. */
typedef struct {
    char text[4 * NBI_QUOTE_MAX + 4];
} nbi_quoted;
nbi_quoted nbi_quote(const char *s, size_t length, size_t most);

#endif /* NABLA_IO_FILE_H */
