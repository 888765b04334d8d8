/*
 * file.c — the file helpers the format readers and writers share (file.h).
 *
 * On POSIX systems files are opened with open(2) so that a reader can look
 * at what a path is (fstat) before reading from it, and a save can create
 * its temporary exclusively, sync it and rename it. Elsewhere the C
 * library's fopen / rename stand in: the same results for regular files,
 * without the refusal of FIFOs or the durability of fsync.
 */
#if !defined(_WIN32)
#define _XOPEN_SOURCE 700 /* POSIX 2008 with realpath: open, fstat, fsync, getpid */
#endif

#include "file.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#define NBI_POSIX_FILES 1
#else
#define NBI_POSIX_FILES 0
#endif

static const char *reason(int error) { return error ? strerror(error) : "unknown error"; }

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

#if NBI_POSIX_FILES
/* What a path that is not a regular file is, for messages. */
static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a file";
}

FILE *nbi_open_for_reading(const char *op, const char *path, uint64_t *size)
{
    /* NOTE: O_NONBLOCK, because opening a FIFO that has no writer waits for
     * one forever otherwise; fstat then refuses it before any read. */
    int fd;
    do fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return nbi_fail(NB_ERR_IO, "%s: %s: cannot open: %s", op, path, reason(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int error = errno;
        close(fd);
        return nbi_fail(NB_ERR_IO, "%s: %s: cannot find the file's size: %s", op, path, reason(error));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return nbi_fail(NB_ERR_IO, "%s: %s: not a regular file (%s)", op, path, file_kind(st.st_mode));
    }
    /* Reads of a regular file never block anyway, but a read that might
     * see EAGAIN would be mistaken for an I/O error: clear the flag. */
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        int error = errno;
        close(fd);
        return nbi_fail(NB_ERR_IO, "%s: %s: cannot open: %s", op, path, reason(error));
    }
    *size = (uint64_t)st.st_size;
    return f;
}
#else
FILE *nbi_open_for_reading(const char *op, const char *path, uint64_t *size)
{
    errno   = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) return nbi_fail(NB_ERR_IO, "%s: %s: cannot open: %s", op, path, reason(errno));
    /* NOTE: ftell's long is 32 bits on some systems; a directory or a
     * device may also report any size. Readers check every claim against
     * this size, and a read that comes up short is an error, so a wrong
     * size costs a failed load, never a bad read. */
    long end = -1;
    if (fseek(f, 0, SEEK_END) == 0) end = ftell(f);
    if (end < 0 || end == LONG_MAX || fseek(f, 0, SEEK_SET) != 0) {
        int error = errno;
        fclose(f);
        return nbi_fail(NB_ERR_IO, "%s: %s: cannot find the file's size: %s", op, path,
                        error ? strerror(error) : "not a regular file");
    }
    *size = (uint64_t)end;
    return f;
}
#endif

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

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

bool (*nbi_file_write_hook)(uint64_t offset, size_t *n) = NULL;

/* Numbers temporaries, so that saves on several threads never collide. */
static atomic_uint temp_counter;

enum { TEMP_BASE_MAX = 160, TEMP_TRIES = 64 };

/* A malloc'd copy of s. */
static char *copy_string(const char *s)
{
    size_t n    = strlen(s) + 1;
    char  *copy = malloc(n);
    if (copy) memcpy(copy, s, n);
    return copy;
}

/* The path of a new temporary beside target: "<folder>/.<base>.tmp.<pid>.<n>"
 * (malloc'd). The base is cut to TEMP_BASE_MAX bytes, at a UTF-8 boundary,
 * so that the name stays within a file system's 255-byte limit. */
static char *temp_path_for(const char *target, unsigned long pid, unsigned counter)
{
    const char *slash  = strrchr(target, '/');
    size_t      folder = slash ? (size_t)(slash - target) + 1 : 0;
    const char *base   = target + folder;
    size_t      n      = strlen(base);
    if (n > TEMP_BASE_MAX) {
        n = TEMP_BASE_MAX;
        while (n > 0 && ((unsigned char)base[n] & 0xC0) == 0x80) n--;
    }
    size_t size = folder + n + 64;
    char  *temp = malloc(size);
    if (temp == NULL) return NULL;
    snprintf(temp, size, "%.*s.%.*s.tmp.%lu.%u", (int)folder, target, (int)n, base, pid, counter);
    return temp;
}

static void writer_release(nbi_file_writer *w)
{
    if (w->file) fclose(w->file);
    if (w->temp) remove(w->temp);
    free(w->target);
    free(w->temp);
    w->file   = NULL;
    w->target = NULL;
    w->temp   = NULL;
}

static bool open_failed(nbi_file_writer *w, int error)
{
    nbi_fail(NB_ERR_IO, "%s: %s: cannot open for writing: %s", w->op, w->path, reason(error));
    writer_release(w);
    return false;
}

#if NBI_POSIX_FILES
/* The writer's stream over fd (closed on failure). */
static bool attach_stream(nbi_file_writer *w, int fd)
{
    w->file = fdopen(fd, "wb");
    if (w->file != NULL) return true;
    int error = errno;
    close(fd);
    return open_failed(w, error);
}

bool nbi_writer_open(nbi_file_writer *w, const char *op, const char *path)
{
    *w = (nbi_file_writer){.op = op, .path = path};
    if (path[0] == '\0') return open_failed(w, ENOENT); /* as fopen("") */
    struct stat st;
    bool        exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) return open_failed(w, EISDIR);
    if (exists && !S_ISREG(st.st_mode)) {
        /* A device or a pipe: no old file to keep, nothing to rename over
         * (renaming over /dev/null would replace the device). O_NONBLOCK:
         * a FIFO with no reader fails at once (ENXIO) instead of waiting. */
        int fd;
        do fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        if (fd < 0) return open_failed(w, errno);
        int flags = fcntl(fd, F_GETFL);
        if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        return attach_stream(w, fd);
    }
    /* NOTE: rename only needs the folder to be writable; a read-only file
     * is refused as fopen(path, "wb") would refuse it. */
    if (exists && access(path, W_OK) != 0) return open_failed(w, errno);
    struct stat link;
    bool        is_link = exists && lstat(path, &link) == 0 && S_ISLNK(link.st_mode);
    w->target           = is_link ? realpath(path, NULL) : copy_string(path);
    if (w->target == NULL) return open_failed(w, errno ? errno : ENOMEM);

    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < TEMP_TRIES; attempt++) {
        free(w->temp);
        w->temp = temp_path_for(w->target, (unsigned long)getpid(), atomic_fetch_add(&temp_counter, 1));
        if (w->temp == NULL) return open_failed(w, ENOMEM);
        do fd = open(w->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        while (fd < 0 && errno == EINTR);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int error = errno;
        free(w->temp);
        w->temp = NULL; /* not ours: nothing to remove */
        return open_failed(w, error);
    }
    /* The new file keeps the old one's permissions (best effort: a file
     * owned by another user may refuse, and then keeps the umask's). */
    if (exists) (void)fchmod(fd, st.st_mode & 07777);
    return attach_stream(w, fd);
}

/* Makes the rename itself durable. Best effort: some file systems cannot
 * sync a folder, and the new file is in place whatever this answers. */
static void sync_folder(const char *target)
{
    const char *slash = strrchr(target, '/');
    char       *folder = slash ? malloc((size_t)(slash - target) + 2) : NULL;
    if (slash && folder == NULL) return;
    if (folder) {
        size_t n = slash == target ? 1 : (size_t)(slash - target); /* "/x" lives in "/" */
        memcpy(folder, target, n);
        folder[n] = '\0';
    }
    int fd = open(folder ? folder : ".", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(folder);
}
#else
bool nbi_writer_open(nbi_file_writer *w, const char *op, const char *path)
{
    *w = (nbi_file_writer){.op = op, .path = path};
    if (path[0] == '\0') return open_failed(w, ENOENT); /* as fopen("") */
    w->target = copy_string(path);
    if (w->target == NULL) return open_failed(w, ENOMEM);
    for (int attempt = 0; w->file == NULL && attempt < TEMP_TRIES; attempt++) {
        free(w->temp);
        w->temp = temp_path_for(w->target, 0, atomic_fetch_add(&temp_counter, 1));
        if (w->temp == NULL) return open_failed(w, ENOMEM);
        errno   = 0;
        w->file = fopen(w->temp, "wbx"); /* C11: fails if it exists */
    }
    if (w->file == NULL) {
        int error = errno;
        free(w->temp);
        w->temp = NULL;
        return open_failed(w, error);
    }
    return true;
}

static void sync_folder(const char *target) { (void)target; }
#endif

bool nbi_writer_write(nbi_file_writer *w, const void *data, size_t n)
{
    if (w->error) return false;
    size_t allowed  = n;
    bool   injected = nbi_file_write_hook != NULL && !nbi_file_write_hook(w->written, &allowed);
    if (allowed > n) allowed = n;
    errno      = 0;
    size_t put = allowed ? fwrite(data, 1, allowed, w->file) : 0;
    w->written += put;
    if (put < allowed) w->error = errno ? errno : EIO;
    else if (injected) w->error = ENOSPC;
    return w->error == 0;
}

nb_status nbi_writer_close(nbi_file_writer *w)
{
    size_t none = 0;
    if (!w->error && nbi_file_write_hook != NULL && !nbi_file_write_hook(w->written, &none)) w->error = EIO;
    errno = 0;
    if (!w->error && fflush(w->file) != 0) w->error = errno ? errno : EIO;
#if NBI_POSIX_FILES
    /* The data reaches the disk before the rename makes it the file: a
     * crash after the rename must not leave an empty or partial file. */
    if (!w->error && w->temp && fsync(fileno(w->file)) != 0) w->error = errno ? errno : EIO;
#endif
    errno      = 0;
    int closed = fclose(w->file);
    w->file    = NULL;
    if (closed != 0 && !w->error) w->error = errno ? errno : EIO;
    if (!w->error && w->temp) {
        errno = 0;
        if (rename(w->temp, w->target) != 0) {
#if !NBI_POSIX_FILES
            /* Some systems' rename refuses an existing target: not atomic
             * there, but the new file is complete before the old one goes. */
            if (remove(w->target) != 0 || rename(w->temp, w->target) != 0)
#endif
                w->error = errno ? errno : EIO;
        }
        if (!w->error) {
            free(w->temp); /* renamed: nothing to remove */
            w->temp = NULL;
            sync_folder(w->target);
        }
    }
    nb_status status = NB_OK;
    if (w->error) {
        if (w->temp)
            status = nbi_fail_status(NB_ERR_IO, "%s: %s: writing failed: %s (%s is left as it was)", w->op, w->path,
                                     reason(w->error), w->path);
        else
            status = nbi_fail_status(NB_ERR_IO, "%s: %s: writing failed: %s", w->op, w->path, reason(w->error));
    }
    writer_release(w);
    return status;
}

void nbi_writer_discard(nbi_file_writer *w) { writer_release(w); }

/* ------------------------------------------------------------------------ */
/* Byte order                                                                */
/* ------------------------------------------------------------------------ */

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

bool nbi_write_little_endian(nbi_file_writer *w, const nb_tensor *t)
{
    size_t               itemsize = nbi_itemsize(t);
    size_t               bytes    = (size_t)t->numel * itemsize;
    const unsigned char *data     = (const unsigned char *)nbi_ptr(t);
    if (itemsize == 1 || nbi_host_is_little_endian()) return nbi_writer_write(w, data, bytes);
    /* A big-endian host: swapped copies, a chunk (whole elements) at a time. */
    unsigned char chunk[1 << 14];
    for (size_t done = 0; done < bytes;) {
        size_t n = bytes - done < sizeof chunk ? bytes - done : sizeof chunk;
        memcpy(chunk, data + done, n);
        nbi_swap_bytes(chunk, (int64_t)(n / itemsize), itemsize);
        if (!nbi_writer_write(w, chunk, n)) return false;
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
