/*
 * test_files_hostile.c — the file readers and writers against what the
 * world does to files (issue 9): paths that are not regular files (a FIFO
 * that would block a reader forever, a directory whose size is made up, a
 * device), saves that fail part way (a full disk at every byte offset of
 * the file) or cannot start (a missing or read-only folder), and a header
 * built to be slow (100k metadata keys).
 *
 * A save must leave the previous file byte for byte as it was when it
 * fails, report NB_ERR_IO with the reason, and leave no temporary file, no
 * open descriptor and no tensor behind. Failures are injected through
 * nbi_file_write_hook (src/io/file.h).
 *
 * Files go to hostile_files/ under the working directory (the build dir),
 * removed after. POSIX only (FIFOs, permissions): the whole test is skipped
 * elsewhere.
 */
#define _XOPEN_SOURCE 700 /* mkfifo, symlink, geteuid, opendir */
#include "nb_test.h"

#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"

#if defined(__unix__) || defined(__APPLE__)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_ "hostile_files"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* A reader that blocks must fail the test, not hang the suite. */
static void on_alarm(int signal_number)
{
    (void)signal_number;
    static const char message[] = "test_files_hostile: a call blocked for 60 s (a reader waiting on a FIFO?)\n";
    ssize_t           ignored   = write(2, message, sizeof message - 1);
    (void)ignored;
    _exit(1);
}

/* Removes every file in DIR_ and its subfolders, then the folders. */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char child[1024];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
                chmod(child, 0755);
                remove_tree(child);
            } else {
                unlink(child);
            }
        }
        closedir(d);
    }
    rmdir(path);
}

/* The number of names in folder that look like a temporary of this
 * process's saves. */
static int temporaries_in(const char *folder)
{
    /* This process's only (".tmp.<pid>."): ctest runs other tests beside
     * this one, in the same working folder, and their saves make
     * temporaries there too. */
    char needle[48];
    snprintf(needle, sizeof needle, ".tmp.%lu.", (unsigned long)getpid());
    int  count = 0;
    DIR *d     = opendir(folder);
    if (d == NULL) return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, needle) != NULL) count++;
    closedir(d);
    return count;
}

/* The lowest free descriptor: unchanged after a call that leaked none. */
static int lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0) close(fd);
    return fd;
}

static bool same_bytes(const char *path, const unsigned char *expected, size_t expected_size)
{
    size_t         size = 0;
    unsigned char *got  = nbt_read_file(path, &size);
    bool           same = got != NULL && size == expected_size && memcmp(got, expected, size) == 0;
    free(got);
    return same;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ------------------------------------------------------------------------ */
/* Readers: only regular files                                               */
/* ------------------------------------------------------------------------ */

/* Every reader on path fails at once with NB_ERR_IO naming path and what
 * it is (kind: "a FIFO", "a directory", ...). */
static void check_every_reader_refuses(const char *path, const char *kind)
{
    char expected[512];
    snprintf(expected, sizeof expected, "%s: not a regular file (%s)", path, kind);

    NBT_CHECK(nb_load_npy(path) == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, expected);
    NBT_CHECK(nb_safetensors_load(path) == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, expected);
    NBT_CHECK(nb_load_idx(path) == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, expected);

    nb_module *m = nb_linear_new(2, 3, true);
    NBT_CHECK(nb_module_load(m, path) == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, expected);
    nb_module_free(m);
}

static void test_readers_refuse_a_fifo(void)
{
    /* Before: open(2) of a FIFO with no writer waits for one, forever. */
    const char *fifos[] = {DIR_ "/pipe.npy", DIR_ "/pipe.idx.gz"};
    for (int i = 0; i < 2; i++) {
        NBT_CHECK(mkfifo(fifos[i], 0600) == 0);
        int fd = lowest_free_fd();
        check_every_reader_refuses(fifos[i], "a FIFO");
        NBT_CHECK(lowest_free_fd() == fd);
        unlink(fifos[i]);
    }
}

static void test_readers_refuse_a_directory(void)
{
    /* Before: a directory opened, and its seek end (2^63 - 1 on ext4) was
     * taken for its size: nb_safetensors_load asked malloc for that much
     * (an abort under AddressSanitizer). */
    NBT_CHECK(mkdir(DIR_ "/folder.safetensors", 0755) == 0);
    check_every_reader_refuses(DIR_ "/folder.safetensors", "a directory");
    rmdir(DIR_ "/folder.safetensors");
}

static void test_readers_refuse_a_device(void)
{
    struct stat st;
    if (stat("/dev/null", &st) != 0 || !S_ISCHR(st.st_mode)) {
        printf("(no /dev/null: device case skipped)\n");
        return;
    }
    check_every_reader_refuses("/dev/null", "a character device");
}

static void test_writers_do_not_block_on_a_fifo(void)
{
    /* A FIFO with no reader: refused at once (ENXIO), not waited on. */
    NBT_CHECK(mkfifo(DIR_ "/out.fifo", 0600) == 0);
    nb_tensor *t = nb_zeros(NB_SHAPE(2), NB_OPTS());
    NBT_CHECK(nb_save_npy(t, DIR_ "/out.fifo") == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_save_npy: " DIR_ "/out.fifo: cannot open for writing: ");
    /* A device is written straight (not replaced by a rename). */
    struct stat st;
    if (stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode)) {
        NBT_CHECK(nb_save_npy(t, "/dev/null") == NB_OK);
        NBT_CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    }
    nb_free(t);
    unlink(DIR_ "/out.fifo");
}

/* ------------------------------------------------------------------------ */
/* Saves: a failure at every byte leaves the old file                        */
/* ------------------------------------------------------------------------ */

/* The hook: writes up to byte fail_at succeed, the one crossing it is cut
 * there and fails; fail_at == the file's size fails the final flush. */
static uint64_t fail_at;

static bool fail_at_offset(uint64_t offset, size_t *n)
{
    if (*n == 0) return offset < fail_at; /* the close */
    if (offset + *n <= fail_at) return true;
    *n = (size_t)(fail_at > offset ? fail_at - offset : 0);
    return false;
}

typedef nb_status (*save_fn)(const char *path, void *user);

static int offsets_tested;

/* save(path) makes a file of some size N. Saves over an existing target
 * (old bytes first) and over none, failing at each offset 0..N, and checks
 * each time: NB_ERR_IO with the reason, the target as it was, no
 * temporary, no descriptor, no tensor left. Then a clean save works. */
static void check_save_failing_everywhere(const char *what, save_fn save, void *user)
{
    const char *target = DIR_ "/model.bin", *reference = DIR_ "/reference.bin";
    NBT_CHECK(save(reference, user) == NB_OK);
    size_t         new_size  = 0;
    unsigned char *new_bytes = nbt_read_file(reference, &new_size);
    unlink(reference);
    NBT_CHECK(new_bytes != NULL && new_size > 0);
    if (new_bytes == NULL) return;

    static const unsigned char old_bytes[] = "the previous model: must survive a failed save\n";
    int                        failures    = 0;
    for (int had_old = 1; had_old >= 0; had_old--) {
        for (uint64_t k = 0; k <= new_size; k++) {
            unlink(target);
            if (had_old) NBT_CHECK(nbt_write_file(target, old_bytes, sizeof old_bytes));
            int     fd        = lowest_free_fd();
            int64_t live      = nb_live_tensors();
            fail_at           = k;
            nbi_file_write_hook = fail_at_offset;
            nb_status status  = save(target, user);
            nbi_file_write_hook = NULL;
            bool ok = status == NB_ERR_IO && nb_last_status() == NB_ERR_IO &&
                      strstr(nb_last_error(), k < new_size ? "writing failed: No space left on device"
                                                           : "writing failed: Input/output error") != NULL &&
                      strstr(nb_last_error(), "is left as it was") != NULL;
            ok = ok && (had_old ? same_bytes(target, old_bytes, sizeof old_bytes) : !exists(target));
            ok = ok && temporaries_in(DIR_) == 0 && lowest_free_fd() == fd && nb_live_tensors() == live;
            if (!ok && failures++ < 3)
                fprintf(stderr, "  %s: failing at byte %llu of %zu (old file: %s): %s %s\n", what,
                        (unsigned long long)k, new_size, had_old ? "yes" : "no", nb_status_name(status),
                        nb_last_error());
            NBT_CHECK(ok);
            nb_clear_error();
            offsets_tested++;
        }
    }
    /* Untouched by the hook, the save replaces the old file. */
    NBT_CHECK(nbt_write_file(target, old_bytes, sizeof old_bytes));
    NBT_CHECK(save(target, user) == NB_OK);
    NBT_CHECK(same_bytes(target, new_bytes, new_size));
    NBT_CHECK(temporaries_in(DIR_) == 0);
    unlink(target);
    free(new_bytes);
}

static nb_status save_npy(const char *path, void *user) { return nb_save_npy((nb_tensor *)user, path); }

static nb_status save_safetensors(const char *path, void *user)
{
    nb_tensor  **t         = user;
    const char  *names[2]  = {"weight", "steps"};
    const char  *keys[1]   = {"format"};
    const char  *values[1] = {"pt"};
    return nb_save_safetensors(path, names, t, 2, keys, values, 1);
}

static nb_status save_safetensors_half(const char *path, void *user)
{
    nb_tensor  **t        = user;
    const char  *names[2] = {"weight", "steps"};
    return nb_save_safetensors_half(path, names, t, 2, NULL, NULL, 0, true);
}

static nb_status save_module(const char *path, void *user) { return nb_module_save((nb_module *)user, path); }

static void test_save_npy_fails_cleanly_at_every_byte(void)
{
    nb_tensor *t = nb_arange(0, 5, 1, NB_OPTS());
    check_save_failing_everywhere("nb_save_npy", save_npy, t);
    nb_free(t);
}

static void test_save_safetensors_fails_cleanly_at_every_byte(void)
{
    nb_tensor *t[2] = {nb_arange(0, 4, 1, NB_OPTS()), nb_arange(0, 2, 1, NB_OPTS(.dtype = NB_INT64))};
    check_save_failing_everywhere("nb_save_safetensors", save_safetensors, t);
    check_save_failing_everywhere("nb_save_safetensors_half", save_safetensors_half, t);
    nb_free(t[0]);
    nb_free(t[1]);
}

static void test_module_save_fails_cleanly_at_every_byte(void)
{
    nb_module *m = nb_linear_new(2, 3, true);
    check_save_failing_everywhere("nb_module_save", save_module, m);
    /* The previous model still loads after a failed save over it. */
    NBT_CHECK(nb_module_save(m, DIR_ "/linear.safetensors") == NB_OK);
    fail_at             = 10;
    nbi_file_write_hook = fail_at_offset;
    NBT_CHECK(nb_module_save(m, DIR_ "/linear.safetensors") == NB_ERR_IO);
    nbi_file_write_hook = NULL;
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_module_save: " DIR_ "/linear.safetensors: writing failed: No space left");
    NBT_CHECK(nb_module_load(m, DIR_ "/linear.safetensors") == NB_OK);
    unlink(DIR_ "/linear.safetensors");
    nb_module_free(m);
}

static void test_save_into_a_missing_folder(void)
{
    nb_tensor  *t[2]     = {nb_arange(0, 4, 1, NB_OPTS()), nb_arange(0, 2, 1, NB_OPTS(.dtype = NB_INT64))};
    const char *path     = DIR_ "/no/such/folder/x.bin";
    const char *expected = "cannot open for writing: No such file or directory";
    NBT_CHECK(save_npy(path, t[0]) == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, expected);
    NBT_CHECK(save_safetensors(path, t) == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, expected);
    NBT_CHECK(save_safetensors_half(path, t) == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, expected);
    NBT_CHECK(save_npy("", t[0]) == NB_ERR_IO); /* no temporary named "..tmp.<pid>.<n>" made here */
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_save_npy: : cannot open for writing: No such file or directory");
    NBT_CHECK(temporaries_in(".") == 0);
    nb_module *m = nb_linear_new(2, 3, true);
    NBT_CHECK(nb_module_save(m, path) == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_module_save: " DIR_ "/no/such/folder/x.bin: cannot open for writing: No such");
    nb_module_free(m);
    nb_free(t[0]);
    nb_free(t[1]);
}

static void test_save_into_a_read_only_folder(void)
{
    if (geteuid() == 0) {
        printf("(running as root, which may write anywhere: read-only cases skipped)\n");
        return;
    }
    const char *folder = DIR_ "/read_only", *path = DIR_ "/read_only/old.npy";
    NBT_CHECK(mkdir(folder, 0755) == 0);
    static const unsigned char old_bytes[] = "old";
    NBT_CHECK(nbt_write_file(path, old_bytes, sizeof old_bytes));
    NBT_CHECK(chmod(folder, 0555) == 0);
    nb_tensor *t = nb_arange(0, 5, 1, NB_OPTS());
    NBT_CHECK(nb_save_npy(t, path) == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_save_npy: " DIR_ "/read_only/old.npy: cannot open for writing: Permission denied");
    NBT_CHECK(same_bytes(path, old_bytes, sizeof old_bytes));
    NBT_CHECK(nb_save_npy(t, DIR_ "/read_only/new.npy") == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, "cannot open for writing: Permission denied");
    NBT_CHECK(!exists(DIR_ "/read_only/new.npy"));
    NBT_CHECK(chmod(folder, 0755) == 0);

    /* A read-only file in a writable folder is refused too, as
     * fopen(path, "wb") refused it, though a rename could replace it. */
    NBT_CHECK(chmod(path, 0444) == 0);
    NBT_CHECK(nb_save_npy(t, path) == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, "cannot open for writing: Permission denied");
    NBT_CHECK(same_bytes(path, old_bytes, sizeof old_bytes));
    NBT_CHECK(temporaries_in(folder) == 0);
    nb_free(t);
    remove_tree(folder);
}

static void test_save_keeps_links_and_permissions(void)
{
    const char *real = DIR_ "/real.npy", *link = DIR_ "/link.npy";
    nb_tensor  *t    = nb_arange(0, 5, 1, NB_OPTS());
    NBT_CHECK(nbt_write_file(real, "old", 3));
    NBT_CHECK(chmod(real, 0640) == 0);
    NBT_CHECK(symlink("real.npy", link) == 0);
    NBT_CHECK(nb_save_npy(t, link) == NB_OK);
    struct stat st;
    NBT_CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode)); /* still a link */
    NBT_CHECK(stat(real, &st) == 0 && (st.st_mode & 0777) == 0640);
    nb_tensor *back = nb_load_npy(real);
    NBT_CHECK_TENSOR(back, NB_SHAPE(5), 0, 0, 1, 2, 3, 4);
    NBT_CHECK(temporaries_in(DIR_) == 0);
    nb_free(back);
    nb_free(t);
    unlink(link);
    unlink(real);
}

/* ------------------------------------------------------------------------ */
/* Headers built to be slow                                                  */
/* ------------------------------------------------------------------------ */

/* A safetensors file with no tensors and n metadata keys "key_<i>" (key
 * number `duplicate` written twice when >= 0), in a malloc'd buffer. */
static unsigned char *metadata_file(int64_t n, int64_t duplicate, size_t *size)
{
    size_t         capacity = 64 + (size_t)(n + 1) * 40;
    unsigned char *bytes    = malloc(capacity);
    if (bytes == NULL) return NULL;
    char  *header = (char *)bytes + 8;
    size_t used   = (size_t)snprintf(header, capacity - 8, "{\"__metadata__\":{");
    for (int64_t i = 0; i < n; i++)
        used += (size_t)snprintf(header + used, capacity - 8 - used, "%s\"key_%07lld\":\"value %lld\"", i ? "," : "",
                                 (long long)(i == n - 1 && duplicate >= 0 ? duplicate : i), (long long)i);
    used += (size_t)snprintf(header + used, capacity - 8 - used, "}}");
    nbt_store_le(bytes, used, 8);
    *size = 8 + used;
    return bytes;
}

static void test_many_metadata_keys_load_fast(void)
{
    /* Before: each key was compared with every earlier one (n^2 / 2
     * strcmp); 100k keys took 16 s. Now sorted: well under a second (the
     * time is not asserted here, as machines differ; see the issue). */
    enum { KEYS = 100000 };
    size_t         size  = 0;
    unsigned char *bytes = metadata_file(KEYS, -1, &size);
    NBT_CHECK(bytes != NULL);
    if (bytes == NULL) return;
    nb_safetensors *f = nbi_safetensors_from_memory(bytes, size, "many_keys.safetensors");
    NBT_CHECK(f != NULL);
    if (f != NULL) {
        const char *value = nb_safetensors_metadata(f, "key_0000000");
        NBT_CHECK(value != NULL && strcmp(value, "value 0") == 0);
        value = nb_safetensors_metadata(f, "key_0099999");
        NBT_CHECK(value != NULL && strcmp(value, "value 99999") == 0);
        value = nb_safetensors_metadata(f, "key_0054321");
        NBT_CHECK(value != NULL && strcmp(value, "value 54321") == 0);
        NBT_CHECK(nb_safetensors_metadata(f, "key_0100000") == NULL);
        NBT_CHECK(nb_safetensors_metadata(f, "") == NULL);
        NBT_CHECK(nb_safetensors_count(f) == 0);
    }
    nb_safetensors_free(f);
    free(bytes);

    /* A duplicate among them is still found, whichever key it is. */
    bytes = metadata_file(KEYS, 777, &size);
    NBT_CHECK(bytes != NULL && nbi_safetensors_from_memory(bytes, size, "dup.safetensors") == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_safetensors_load: dup.safetensors: '__metadata__' key 'key_0000777' appears twice");
    free(bytes);
}

static void test_many_tensor_names_load_fast(void)
{
    /* 50k tensors saved, loaded and one read back: names are checked by
     * sorting and found by binary search, never by scans. */
    enum { TENSORS = 50000 };
    char      (*names)[16] = malloc(TENSORS * sizeof *names);
    const char **pointers  = malloc(TENSORS * sizeof *pointers);
    nb_tensor  **tensors   = malloc(TENSORS * sizeof *tensors);
    nb_tensor   *one       = nb_ones(NB_SHAPE(1), NB_OPTS());
    NBT_CHECK(names && pointers && tensors && one);
    if (names && pointers && tensors && one) {
        for (int i = 0; i < TENSORS; i++) {
            snprintf(names[i], sizeof names[i], "t%06d", TENSORS - 1 - i);
            pointers[i] = names[i];
            tensors[i]  = one;
        }
        NBT_CHECK(nb_save_safetensors(DIR_ "/many.safetensors", pointers, tensors, TENSORS, NULL, NULL, 0) == NB_OK);
        nb_safetensors *f = nb_safetensors_load(DIR_ "/many.safetensors");
        NBT_CHECK(f != NULL && nb_safetensors_count(f) == TENSORS);
        nb_tensor *t = nb_safetensors_get(f, "t012345");
        NBT_CHECK_TENSOR(t, NB_SHAPE(1), 0, 1);
        nb_free(t);
        nb_safetensors_free(f);
        unlink(DIR_ "/many.safetensors");
    }
    nb_free(one);
    free(names);
    free(pointers);
    free(tensors);
}

/* ------------------------------------------------------------------------ */
/* Errors that say what happened                                             */
/* ------------------------------------------------------------------------ */

/* Runs load with the allocator refusing after k allocations, k = 0, 1, ...
 * until it succeeds; each failure must be NB_ERR_OOM whose message holds
 * fragment (the path). Returns how many failures were seen. */
static int check_out_of_memory(const char *what, void *(*load)(const char *), void (*release)(void *),
                               const char *path, const char *fragment)
{
    int failures = 0;
    NBT_CHECK(nb_set_allocator(nbt_budget_alloc, nbt_budget_release, NULL) == NB_OK);
    for (int64_t k = 0; k < 100; k++) {
        nb_empty_cache();
        *nbt_alloc_budget() = k;
        void *result        = load(path);
        *nbt_alloc_budget() = -1;
        if (result != NULL) {
            release(result);
            break;
        }
        failures++;
        bool ok = nb_last_status() == NB_ERR_OOM && strstr(nb_last_error(), "out of memory") != NULL &&
                  strstr(nb_last_error(), fragment) != NULL;
        if (!ok)
            fprintf(stderr, "  %s with %lld allocations allowed: %s \"%s\"\n", what, (long long)k,
                    nb_status_name(nb_last_status()), nb_last_error());
        NBT_CHECK(ok);
        nb_clear_error();
    }
    nb_empty_cache();
    NBT_CHECK(nb_set_allocator(NULL, NULL, NULL) == NB_OK);
    return failures;
}

static void *load_safetensors(const char *path) { return nb_safetensors_load(path); }
static void  free_safetensors(void *f) { nb_safetensors_free(f); }
static void *load_npy(const char *path) { return nb_load_npy(path); }
static void *load_idx(const char *path) { return nb_load_idx(path); }
static void  free_tensor(void *t) { nb_free(t); }

static void test_out_of_memory_says_so_and_names_the_file(void)
{
    /* The JSON reader's strings come from the allocator: a refusal was
     * reported as a corrupt header ("bad header: out of memory for a
     * 6-byte string"), NB_ERR_IO. */
    static const char header[] = "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[1],"
                                 "\"data_offsets\":[0,4]}}";
    unsigned char     file[8 + sizeof header - 1 + 4] = {0};
    nbt_store_le(file, sizeof header - 1, 8);
    memcpy(file + 8, header, sizeof header - 1);
    NBT_CHECK(nbt_write_file(DIR_ "/small.safetensors", file, sizeof file));
    int failures = check_out_of_memory("nb_safetensors_load", load_safetensors, free_safetensors,
                                       DIR_ "/small.safetensors", "nb_safetensors_load: " DIR_ "/small.safetensors: ");
    NBT_CHECK(failures >= 4); /* "__metadata__", "format", "pt", "w", ... */

    /* The readers' tensors: the message names the file (the allocator's
     * own said only "nabla: out of host memory allocating 12 bytes"). */
    nb_tensor *t = nb_arange(0, 3, 1, NB_OPTS());
    NBT_CHECK(nb_save_npy(t, DIR_ "/small.npy") == NB_OK);
    nb_free(t);
    failures = check_out_of_memory("nb_load_npy", load_npy, free_tensor, DIR_ "/small.npy",
                                   "nb_load_npy: " DIR_ "/small.npy: out of memory for the data of shape [3]");
    NBT_CHECK(failures >= 1);
    failures = check_out_of_memory("nb_load_idx", load_idx, free_tensor, NB_TEST_DATA_DIR "/idx/int_3.idx",
                                   "nb_load_idx: " NB_TEST_DATA_DIR "/idx/int_3.idx: out of memory");
    NBT_CHECK(failures >= 1);
    nb_tensor *gz = nb_load_idx(NB_TEST_DATA_DIR "/idx/int_3.idx.gz");
    if (gz != NULL) { /* a build with zlib: its buffers and the inflater's fail too */
        nb_free(gz);
        failures = check_out_of_memory("nb_load_idx (gzip)", load_idx, free_tensor, NB_TEST_DATA_DIR "/idx/int_3.idx.gz",
                                       "nb_load_idx: " NB_TEST_DATA_DIR "/idx/int_3.idx.gz: out of memory");
        NBT_CHECK(failures >= 2);
    } else {
        nb_clear_error();
    }
    unlink(DIR_ "/small.safetensors");
    unlink(DIR_ "/small.npy");
}

static void test_long_paths_stay_whole_in_messages(void)
{
    /* A 1500-byte path: the message was cut at 511 bytes, mid-path. */
    char path[1600];
    int  n = snprintf(path, sizeof path, "%s/", DIR_);
    while (n < 1500)
        n += snprintf(path + n, sizeof path - (size_t)n, "folder_%04d/", n);
    snprintf(path + n, sizeof path - (size_t)n, "model.npy");
    NBT_CHECK(nb_load_npy(path) == NULL);
    NBT_CHECK(nb_last_status() == NB_ERR_IO && strstr(nb_last_error(), path) != NULL);
    NBT_CHECK(strstr(nb_last_error(), "cannot open: No such file or directory") != NULL);
    nb_clear_error();
}

static void test_too_long_messages_end_in_an_ellipsis(void)
{
    /* A path of 4-byte characters longer than the message buffer, shifted
     * by 0..3 bytes so that the cut falls at every place in a character:
     * the message is cut between characters and ends in "…". */
    for (int shift = 0; shift < 4; shift++) {
        char path[4000];
        int  n = 0;
        for (int i = 0; i < shift; i++)
            path[n++] = 'x';
        while (n < 3000) {
            memcpy(path + n, "\xf0\x9f\x98\x80", 4); /* U+1F600 */
            n += 4;
        }
        path[n] = '\0';
        NBT_CHECK(nb_load_npy(path) == NULL);
        const char *message = nb_last_error();
        size_t      length  = strlen(message);
        NBT_CHECK(nb_last_status() == NB_ERR_IO);
        NBT_CHECK(length > 1900 && length < 2048);
        NBT_CHECK(length >= 3 && strcmp(message + length - 3, "\xe2\x80\xa6") == 0);
        NBT_CHECK(nbi_utf8_is_valid(message, length));
        NBT_CHECK(strncmp(message, "nb_load_npy: ", 13) == 0);
        nb_clear_error();
    }
    /* nb_set_error's messages are cut the same way. */
    char long_text[5000];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    nb_set_error(NB_ERR_ARG, "%s", long_text);
    NBT_CHECK(strlen(nb_last_error()) == 2047 && strcmp(nb_last_error() + 2044, "\xe2\x80\xa6") == 0);
    nb_clear_error();
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    alarm(60);
    remove_tree(DIR_);
    if (mkdir(DIR_, 0755) != 0) {
        fprintf(stderr, "cannot make %s: %s\n", DIR_, strerror(errno));
        return 1;
    }
    NBT_RUN(test_readers_refuse_a_fifo);
    NBT_RUN(test_readers_refuse_a_directory);
    NBT_RUN(test_readers_refuse_a_device);
    NBT_RUN(test_writers_do_not_block_on_a_fifo);
    NBT_RUN(test_save_npy_fails_cleanly_at_every_byte);
    NBT_RUN(test_save_safetensors_fails_cleanly_at_every_byte);
    NBT_RUN(test_module_save_fails_cleanly_at_every_byte);
    NBT_RUN(test_save_into_a_missing_folder);
    NBT_RUN(test_save_into_a_read_only_folder);
    NBT_RUN(test_save_keeps_links_and_permissions);
    NBT_RUN(test_many_metadata_keys_load_fast);
    NBT_RUN(test_many_tensor_names_load_fast);
    NBT_RUN(test_out_of_memory_says_so_and_names_the_file);
    NBT_RUN(test_long_paths_stay_whole_in_messages);
    NBT_RUN(test_too_long_messages_end_in_an_ellipsis);
    printf("save failures injected at %d byte offsets\n", offsets_tested);
    remove_tree(DIR_);
    return nbt_finish();
}

#else
int main(void)
{
    printf("test_files_hostile: needs POSIX files (FIFOs, permissions); skipped\n");
    return 0;
}
#endif
