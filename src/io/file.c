/*
 * file.c — the file helpers the format readers and writers share (file.h).
 */
#include "file.h"

#include <errno.h>

FILE *nbi_open_for_reading(const char *op, const char *path, uint64_t *size)
{
    errno   = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) return nbi_fail(NB_ERR_IO, "%s: %s: cannot open: %s", op, path, strerror(errno));
    /* NOTE: ftell's long is 64 bits on LP64 systems. */
    long end = -1;
    if (fseek(f, 0, SEEK_END) == 0) end = ftell(f);
    if (end < 0 || fseek(f, 0, SEEK_SET) != 0) {
        int error = errno;
        fclose(f);
        return nbi_fail(NB_ERR_IO, "%s: %s: cannot find the file's size: %s", op, path,
                        error ? strerror(error) : "not a regular file");
    }
    *size = (uint64_t)end;
    return f;
}

uint64_t nbi_source_read(nbi_byte_source *src, void *dst, uint64_t n)
{
    if (n > nbi_source_left(src)) n = nbi_source_left(src);
    if (n == 0) return 0;
    if (src->file == NULL) {
        memcpy(dst, src->memory + src->position, (size_t)n);
        src->position += n;
        return n;
    }
    errno      = 0;
    size_t got = fread(dst, 1, (size_t)n, src->file);
    if (got < n && ferror(src->file)) src->read_errno = errno ? errno : EIO;
    src->position += got;
    return got;
}

FILE *nbi_open_for_writing(const char *op, const char *path)
{
    errno   = 0;
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        int error = errno;
        return nbi_fail(NB_ERR_IO, "%s: %s: cannot open for writing: %s", op, path,
                        error ? strerror(error) : "unknown error");
    }
    errno = 0;
    return f;
}

nb_status nbi_close_written(FILE *f, bool ok, const char *op, const char *path)
{
    int error = ok ? 0 : errno;
    if (fclose(f) != 0 && ok) {
        ok    = false;
        error = errno;
    }
    if (ok) return NB_OK;
    return nbi_fail_status(NB_ERR_IO, "%s: %s: writing failed: %s", op, path, error ? strerror(error) : "unknown error");
}

bool nbi_host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char  first;
    memcpy(&first, &one, 1);
    return first == 1;
}

void nbi_swap_bytes(unsigned char *data, int64_t count, size_t itemsize)
{
    for (int64_t i = 0; i < count; i++) {
        unsigned char *e = data + (size_t)i * itemsize;
        for (size_t lo = 0, hi = itemsize - 1; lo < hi; lo++, hi--) {
            unsigned char byte = e[lo];
            e[lo]              = e[hi];
            e[hi]              = byte;
        }
    }
}

bool nbi_write_little_endian(FILE *f, const nb_tensor *t)
{
    size_t               itemsize = nbi_itemsize(t);
    size_t               bytes    = (size_t)t->numel * itemsize;
    const unsigned char *data     = (const unsigned char *)nbi_ptr(t);
    if (itemsize == 1 || nbi_host_is_little_endian()) return fwrite(data, 1, bytes, f) == bytes;
    /* A big-endian host: swapped copies, a chunk (whole elements) at a time. */
    unsigned char chunk[1 << 14];
    for (size_t done = 0; done < bytes;) {
        size_t n = bytes - done < sizeof chunk ? bytes - done : sizeof chunk;
        memcpy(chunk, data + done, n);
        nbi_swap_bytes(chunk, (int64_t)(n / itemsize), itemsize);
        if (fwrite(chunk, 1, n, f) != n) return false;
        done += n;
    }
    return true;
}

nbi_quoted nbi_quote(const char *s, size_t length, size_t most)
{
    nbi_quoted q    = {{0}};
    size_t     used = 0;
    if (most > NBI_QUOTE_MAX) most = NBI_QUOTE_MAX;
    for (size_t i = 0; i < length && i < most; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            q.text[used++] = (char)c;
        } else {
            snprintf(q.text + used, sizeof q.text - used, "\\x%02x", c);
            used += 4;
        }
    }
    if (length > most) memcpy(q.text + used, "...", 4);
    return q;
}
