/*
 * file.h — what the readers and writers of file formats (npy.c, idx.c,
 * safetensors*.c, nn/serialize.c through them) share: opening a regular
 * file with its size known before any read, bounded reads from a file or a
 * buffer, saving a file so that a failure never destroys the one it
 * replaces, little-endian data, and file strings made fit for error
 * messages.
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
 * anything is allocated). Only a regular file is opened: a FIFO, a
 * directory or a device is refused before the first read, so that nothing
 * blocks (a FIFO with no writer) or believes a made-up size (a directory's
 * seek end). NULL with NB_ERR_IO recorded ("cannot open: <why>", "not a
 * regular file (a directory)"). The caller closes it. */
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

/* A file being saved. The bytes go to a new temporary file beside the
 * target (".<base>.tmp.<pid>.<counter>" in the same folder); closing it
 * flushes it to the disk and renames it over the target in one step, so the
 * target holds either its old bytes or all of the new ones, never a part:
 * a full disk, an I/O error or a crash mid-save leaves the old file intact.
 * A target that is a symbolic link is saved to the file the link points to
 * (the link stays); one that is a device or a pipe (/dev/null, a FIFO) is
 * written straight, as there is no old file to keep.
 *
 *   nbi_file_writer w;
 *   if (!nbi_writer_open(&w, "nb_save_npy", path)) return NB_ERR_IO;
 *   nbi_writer_write(&w, header, n);           // false once any write failed
 *   ... on an error of the caller's own: nbi_writer_discard(&w);
 *   return nbi_writer_close(&w);               // NB_OK, or NB_ERR_IO recorded
 */
typedef struct {
    const char *op;      /* the public function, for messages */
    const char *path;    /* the target as the caller named it (borrowed) */
    char       *target;  /* where the file lands: path, or the file its link points to */
    char       *temp;    /* the temporary beside target; NULL when writing straight to a device */
    FILE       *file;
    uint64_t    written; /* bytes written so far */
    int         error;   /* errno of the first failure; 0 while all is well */
} nbi_file_writer;

/* Starts saving path: creates the temporary file (or opens the device).
 * false with NB_ERR_IO recorded ("cannot open for writing: <why>"), w then
 * holding nothing. A target that exists and may not be written (read-only)
 * is refused, as opening it for writing would be. */
bool nbi_writer_open(nbi_file_writer *w, const char *op, const char *path);

/* Appends n bytes; false once any write has failed (later ones do nothing,
 * and the close reports the first failure). */
bool nbi_writer_write(nbi_file_writer *w, const void *data, size_t n);

/* Finishes the save. If every write succeeded: flush, fsync, rename over
 * the target, fsync the folder; NB_OK. Otherwise, or if any of those steps
 * fails, the temporary is removed and the target left as it was; NB_ERR_IO
 * recorded as "<op>: <path>: writing failed: <why> (<path> is left as it
 * was)". Releases everything w holds either way. */
nb_status nbi_writer_close(nbi_file_writer *w);

/* Abandons the save for a reason the caller has recorded: removes the
 * temporary (the target is untouched) and records nothing. */
void nbi_writer_discard(nbi_file_writer *w);

/* For tests: when set, asked before each write how many of its *n bytes,
 * starting at byte offset of the new file, may be written; it may lower
 * *n, and returning false makes the write fail (ENOSPC) after those bytes.
 * It is asked once more at the close with offset = the file's size and
 * *n = 0, where false makes the flush fail (EIO). NULL in normal use. */
extern bool (*nbi_file_write_hook)(uint64_t offset, size_t *n);

/* ------------------------------------------------------------------------ */
/* Byte order                                                                */
/* ------------------------------------------------------------------------ */

bool nbi_host_is_little_endian(void);

/* Reverses the bytes of each of count elements of itemsize bytes. */
void nbi_swap_bytes(unsigned char *data, int64_t count, size_t itemsize);

/* Writes t's elements (contiguous, on the CPU) little-endian, as every
 * format nabla writes stores them; false when a write failed. */
bool nbi_write_little_endian(nbi_file_writer *w, const nb_tensor *t);

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
