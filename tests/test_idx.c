/*
 * test_idx.c — nb_load_idx: every IDX element type, plain and gzip
 * (tests/data/idx/, made by scripts/make_idx_fixtures.py), the bundled
 * digits under data/ (made by scripts/make_mnist_idx.py), and malformed
 * files, each of which must give an NB_ERR_IO that says what is wrong.
 *
 * gzip support depends on the build finding zlib, which this test cannot
 * see (it is compiled without the library's definitions): it asks the
 * library, by loading a gzip fixture. Without zlib, every gzip case must be
 * NB_ERR_UNSUPPORTED saying so, and the value checks are skipped.
 *
 * Files this test writes go to the working directory (the build dir) and
 * are removed after.
 */
#include "nb_test.h"

#include "io/idx.h"

#include <stdint.h>

#define IDX_DIR NB_TEST_DATA_DIR "/idx/"
#define DATA_DIR NB_TEST_DATA_DIR "/../../data/"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* Does this build read gzip? Asks the library, which answers
 * NB_ERR_UNSUPPORTED naming zlib when it cannot. */
static bool gzip_supported(void)
{
    static int answer = -1;
    if (answer < 0) {
        nb_tensor *t = nb_load_idx(IDX_DIR "ubyte_2x3.idx.gz");
        answer       = t != NULL;
        if (t == NULL) {
            NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "this build of nabla has no zlib");
            printf("(no zlib in this build: gzip cases check the NB_ERR_UNSUPPORTED error only)\n");
        }
        nb_free(t);
    }
    return answer == 1;
}

/* Load a gzip file expected to fail with status and a message containing
 * fragment; without zlib, the failure must be NB_ERR_UNSUPPORTED instead. */
static void check_gzip_error(const char *path, nb_status status, const char *fragment)
{
    nb_tensor *t = nb_load_idx(path);
    NBT_CHECK(t == NULL);
    nb_free(t);
    if (gzip_supported()) {
        NBT_CHECK_ERROR(status, fragment);
    } else {
        NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no zlib");
    }
}

/* ------------------------------------------------------------------------ */
/* Every element type, plain and gzip                                        */
/* ------------------------------------------------------------------------ */

/* Loads name + suffix and checks it; with gzip and no zlib, checks the
 * error instead. The values are those of scripts/make_idx_fixtures.py. */
static void check_types(const char *suffix)
{
    bool gzip = strcmp(suffix, ".idx.gz") == 0;
    if (gzip && !gzip_supported()) {
        check_gzip_error(IDX_DIR "int_3.idx.gz", NB_ERR_UNSUPPORTED, "no zlib");
        return;
    }
    char path[512];
#define LOAD(name) (snprintf(path, sizeof path, "%s%s%s", IDX_DIR, name, suffix), nb_load_idx(path))
    nb_scope_begin();
    NBT_CHECK_TENSOR_IS(LOAD("ubyte_2x3"), NB_UINT8, NB_SHAPE(2, 3), (uint8_t[]){0, 1, 127, 128, 200, 255});
    NBT_CHECK_TENSOR_IS(LOAD("sbyte_4"), NB_INT32, NB_SHAPE(4), (int32_t[]){-128, -1, 0, 127});
    NBT_CHECK_TENSOR_IS(LOAD("short_2x2"), NB_INT32, NB_SHAPE(2, 2), (int32_t[]){-32768, -1, 300, 32767});
    NBT_CHECK_TENSOR_IS(LOAD("int_3"), NB_INT32, NB_SHAPE(3), (int32_t[]){INT32_MIN, -1, INT32_MAX});
    /* inf and the smallest subnormal keep their exact bits. */
    NBT_CHECK_TENSOR_IS(LOAD("float_2x2"), NB_FLOAT32, NB_SHAPE(2, 2), (float[]){1.5f, -0.25f, INFINITY, 0x1p-149f});
    NBT_CHECK_TENSOR_IS(LOAD("double_3"), NB_FLOAT64, NB_SHAPE(3), (double[]){0.1, -1e300, 0x1p-1074});
    NBT_CHECK_TENSOR_IS(LOAD("ubyte_0x3"), NB_UINT8, NB_SHAPE(0, 3), (uint8_t[]){0});
    /* No dims: one element, a 0-d tensor (as torchvision's reader). */
    NBT_CHECK_TENSOR_IS(LOAD("ubyte_scalar"), NB_UINT8, NB_SCALAR_SHAPE, (uint8_t[]){42});
    NBT_CHECK_TENSOR_IS(LOAD("int_8d"), NB_INT32, NB_SHAPE(1, 1, 1, 1, 1, 1, 1, 2), (int32_t[]){7, -7});
    nb_tensor *t = LOAD("double_3");
    NBT_CHECK(nb_is_contiguous(t));
#undef LOAD
    /* Loaded tensors belong to the scope: ending it frees all of them. */
    nb_scope_end();
}

static void test_types_plain(void) { check_types(".idx"); }
static void test_types_gzip(void) { check_types(".idx.gz"); }

/* The same files through the in-memory entry point of the fuzz target. */
static void test_from_memory(void)
{
    size_t         size;
    unsigned char *bytes = nbt_read_file(IDX_DIR "short_2x2.idx", &size);
    NBT_CHECK(bytes != NULL);
    nb_tensor *t = nbi_load_idx_from_memory(bytes, size, "mem.idx");
    NBT_CHECK_TENSOR_IS(t, NB_INT32, NB_SHAPE(2, 2), (int32_t[]){-32768, -1, 300, 32767});
    nb_free(t);
    t = nbi_load_idx_from_memory(bytes, size - 1, "mem.idx");
    NBT_CHECK(t == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_load_idx: mem.idx: truncated: expected 8 bytes of data, found 7");
    t = nbi_load_idx_from_memory(NULL, 0, "empty");
    NBT_CHECK(t == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, "empty: truncated: expected 4 bytes of magic number, found 0");
    free(bytes);

    bytes = nbt_read_file(IDX_DIR "multi_member.idx.gz", &size);
    NBT_CHECK(bytes != NULL);
    t = nbi_load_idx_from_memory(bytes, size, "mem.gz");
    if (gzip_supported()) {
        NBT_CHECK_TENSOR_IS(t, NB_UINT8, NB_SHAPE(2, 3), (uint8_t[]){0, 1, 127, 128, 200, 255});
        nb_free(t);
        t = nbi_load_idx_from_memory(bytes, size - 3, "mem.gz");
        NBT_CHECK(t == NULL);
        NBT_CHECK_ERROR(NB_ERR_IO, "mem.gz: truncated");
    } else {
        NBT_CHECK(t == NULL);
        NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "mem.gz: the file is gzip-compressed");
    }
    free(bytes);
}

/* ------------------------------------------------------------------------ */
/* The bundled digits                                                        */
/* ------------------------------------------------------------------------ */

/* Shapes, label counts per class (the split of scripts/make_mnist_idx.py:
 * n_d / 5 of each class to test, by largest remainder), the interleaved
 * class order, and the pixel sums, which fingerprint every image. */
static void check_split(const char *prefix, int64_t n, const int64_t *per_class, int64_t pixel_sum,
                        int64_t first_image_sum)
{
    char images_path[512], labels_path[512];
    snprintf(images_path, sizeof images_path, "%s%s-images-idx3-ubyte.gz", DATA_DIR, prefix);
    snprintf(labels_path, sizeof labels_path, "%s%s-labels-idx1-ubyte.gz", DATA_DIR, prefix);
    nb_tensor *images = nb_load_idx(images_path);
    nb_tensor *labels = nb_load_idx(labels_path);
    NBT_CHECK(images != NULL && labels != NULL);
    if (images == NULL || labels == NULL) {
        nb_free(images);
        nb_free(labels);
        return;
    }
    NBT_CHECK(nb_dtype_of(images) == NB_UINT8 && nb_dtype_of(labels) == NB_UINT8);
    nb_shape s = nb_shape_of(images);
    NBT_CHECK(s.ndim == 3 && s.dims[0] == n && s.dims[1] == 28 && s.dims[2] == 28);
    s = nb_shape_of(labels);
    NBT_CHECK(s.ndim == 1 && s.dims[0] == n);

    const uint8_t *label      = nb_data(labels);
    int64_t        count[256] = {0};
    for (int64_t i = 0; i < n; i++)
        count[label[i]]++;
    for (int d = 0; d < 10; d++)
        NBT_CHECK(count[d] == per_class[d]);
    /* Classes interleave: the first ten samples are ten different digits. */
    const uint8_t first_labels[10] = {1, 7, 3, 6, 0, 2, 4, 9, 8, 5};
    NBT_CHECK(memcmp(label, first_labels, 10) == 0);

    const uint8_t *pixel = nb_data(images);
    int64_t        sum = 0, first = 0;
    int            lo = 255, hi = 0;
    for (int64_t i = 0; i < n * 784; i++) {
        sum += pixel[i];
        if (i < 784) first += pixel[i];
        lo = pixel[i] < lo ? pixel[i] : lo;
        hi = pixel[i] > hi ? pixel[i] : hi;
    }
    NBT_CHECK(lo == 0 && hi == 255);
    NBT_CHECK(sum == pixel_sum);
    NBT_CHECK(first == first_image_sum);
    nb_free(images);
    nb_free(labels);
}

static void test_bundled_digits(void)
{
    if (!gzip_supported()) {
        check_gzip_error(DATA_DIR "train-labels-idx1-ubyte.gz", NB_ERR_UNSUPPORTED, "no zlib");
        return;
    }
    const int64_t train[10] = {801, 902, 793, 826, 784, 690, 811, 856, 755, 782};
    const int64_t test[10]  = {200, 225, 198, 206, 196, 173, 203, 214, 189, 196};
    int64_t       total     = 0;
    for (int d = 0; d < 10; d++)
        total += train[d] + test[d];
    NBT_CHECK(total == 10000);
    check_split("train", 8000, train, 209504263, 17135);
    check_split("t10k", 2000, test, 52642337, 21968);
}

/* ------------------------------------------------------------------------ */
/* Malformed files                                                           */
/* ------------------------------------------------------------------------ */

/* Write bytes to a file, load it, expect NB_ERR_IO with fragment. */
static void check_bad(const void *bytes, size_t size, const char *fragment)
{
    const char *path = "test_idx_bad.idx";
    NBT_CHECK(nbt_write_file(path, bytes, size));
    nb_tensor *t = nb_load_idx(path);
    NBT_CHECK(t == NULL);
    nb_free(t);
    /* Every message names the file. */
    NBT_CHECK(strstr(nb_last_error(), "nb_load_idx: test_idx_bad.idx: ") != NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, fragment);
    remove(path);
}

#define BAD(fragment, ...)                                                                                             \
    do {                                                                                                               \
        const unsigned char bytes_[] = {__VA_ARGS__};                                                                  \
        check_bad(bytes_, sizeof bytes_, (fragment));                                                                  \
    } while (0)

static void test_malformed(void)
{
    BAD("truncated: expected 4 bytes of magic number, found 2", 0, 0);
    check_bad("", 0, "truncated: expected 4 bytes of magic number, found 0");
    BAD("bad magic number 01 00 08 01", 1, 0, 8, 1, 0, 0, 0, 1, 7);
    BAD("bad magic number 00 07 08 01", 0, 7, 8, 1, 0, 0, 0, 1, 7);
    BAD("unknown data type 0x0a", 0, 0, 0x0A, 1, 0, 0, 0, 1, 7);
    BAD("unknown data type 0x00", 0, 0, 0, 1, 0, 0, 0, 1, 7);
    BAD("9 dims, more than the 8 nabla supports", 0, 0, 8, 9);
    BAD("truncated: expected 8 bytes of dim sizes, found 5", 0, 0, 8, 2, 0, 0, 0, 2, 0);
    BAD("truncated: expected 6 bytes of data, found 5", 0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5);
    BAD("truncated: expected 12 bytes of data, found 11", 0, 0, 0x0C, 1, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0);
    BAD("2 bytes of trailing garbage after the 6 bytes of data", 0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6,
        7, 8);
    BAD("dim 1 has a negative size (-2147483648)", 0, 0, 8, 2, 0, 0, 0, 1, 0x80, 0, 0, 0);
    BAD("dim 0 has a negative size (-1)", 0, 0, 8, 1, 0xFF, 0xFF, 0xFF, 0xFF);
    /* 2^16 x 2^16 int32 is 16 GiB: refused before reading or allocating. */
    BAD("shape [65536, 65536] is too large", 0, 0, 0x0C, 2, 0, 1, 0, 0, 0, 1, 0, 0);
    /* Eight dims of 2^31 - 1: the product would overflow int64. */
    BAD("is too large", 0, 0, 8, 8, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF,
        0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF);
    /* Just within the cap (2^31 bytes of int32 is 2^29 elements) but the
     * file holds none of it. */
    BAD("truncated: expected 2147483648 bytes of data, found 0", 0, 0, 0x0C, 1, 0x20, 0, 0, 0);
    /* doubles: 2^28 + 1 of them pass the cap by 8 bytes. */
    BAD("too large", 0, 0, 0x0E, 1, 0x10, 0, 0, 1);

    /* Empty, but strides that overflow int64: refused too. */
    BAD("shape [2147483647, 2147483647, 0, 2147483647, 2147483647] is too large (its strides overflow)", 0, 0, 8, 5,
        0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF);

    /* A zero dim makes the rest irrelevant: an empty tensor, whatever the
     * other sizes. */
    const unsigned char empty[] = {0, 0, 8, 3, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0};
    NBT_CHECK(nbt_write_file("test_idx_empty.idx", empty, sizeof empty));
    nb_tensor *t = nb_load_idx("test_idx_empty.idx");
    NBT_CHECK_TENSOR_IS(t, NB_UINT8, NB_SHAPE(INT32_MAX, 0, 65536), (uint8_t[]){0});
    nb_free(t);
    remove("test_idx_empty.idx");
}

static void test_file_errors(void)
{
    NBT_CHECK(nb_load_idx(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_load_idx: argument 'path' is NULL");
    NBT_CHECK(nb_load_idx("no/such/file.idx") == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_load_idx: no/such/file.idx: cannot open: No such file or directory");
    /* A directory opens on Linux but cannot be read. */
    NBT_CHECK(nb_load_idx(NB_TEST_DATA_DIR) == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_load_idx: " NB_TEST_DATA_DIR ": ");
}

/* Bad gzip: cut at every length, damaged checks, bytes after the stream. */
static void test_malformed_gzip(void)
{
    size_t         size;
    unsigned char *good = nbt_read_file(IDX_DIR "int_3.idx.gz", &size);
    NBT_CHECK(good != NULL && size > 20);
    if (good == NULL) return;
    unsigned char *bytes = malloc(size + 16);
    const char    *path  = "test_idx_bad.idx.gz";

    /* Every proper prefix of at least the 2-byte magic fails cleanly. */
    for (size_t n = 2; n < size; n++) {
        NBT_CHECK(nbt_write_file(path, good, n));
        nb_tensor *t = nb_load_idx(path);
        NBT_CHECK(t == NULL);
        nb_free(t);
        if (!gzip_supported()) {
            NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no zlib");
            continue;
        }
        /* A cut in the deflate data, or in the 8-byte CRC and length after it. */
        NBT_CHECK_ERROR(NB_ERR_IO, n < size - 8 ? "(the gzip stream is cut short)" : "cut short after the data");
    }

    /* The CRC (the trailer's first 4 bytes) and the length (last 4). */
    memcpy(bytes, good, size);
    bytes[size - 8] ^= 1;
    NBT_CHECK(nbt_write_file(path, bytes, size));
    check_gzip_error(path, NB_ERR_IO, "corrupt gzip data (incorrect data check)");
    memcpy(bytes, good, size);
    bytes[size - 1] ^= 1;
    NBT_CHECK(nbt_write_file(path, bytes, size));
    check_gzip_error(path, NB_ERR_IO, "corrupt gzip data (incorrect length check)");
    /* The gzip header's compression method must be 8 (deflate). */
    memcpy(bytes, good, size);
    bytes[2] = 7;
    NBT_CHECK(nbt_write_file(path, bytes, size));
    check_gzip_error(path, NB_ERR_IO, "corrupt gzip data (unknown compression method)");

    /* Bytes after the stream: garbage, or zeros as padding tools leave. */
    memcpy(bytes, good, size);
    memcpy(bytes + size, "xyz", 3);
    NBT_CHECK(nbt_write_file(path, bytes, size + 3));
    check_gzip_error(path, NB_ERR_IO, "the bytes after the gzip stream are not a gzip member");
    memset(bytes + size, 0, 16);
    NBT_CHECK(nbt_write_file(path, bytes, size + 16));
    check_gzip_error(path, NB_ERR_IO, "the bytes after the gzip stream are not a gzip member");
    remove(path);
    free(bytes);
    free(good);

    /* From the fixtures: a complete stream holding too little or too much,
     * a header that claims far more than the stream could hold, and a
     * valid stream of two members. */
    check_gzip_error(IDX_DIR "short_data.idx.gz", NB_ERR_IO, "truncated: expected 100 bytes of data, found 50");
    check_gzip_error(IDX_DIR "long_data.idx.gz", NB_ERR_IO, "trailing garbage: the data goes on past the 6 bytes");
    check_gzip_error(IDX_DIR "huge_claim.idx.gz", NB_ERR_IO,
                     "truncated: shape [10000, 10000] needs 100000000 bytes of data, more than 29 gzip-compressed");
    nb_tensor *t = nb_load_idx(IDX_DIR "multi_member.idx.gz");
    if (gzip_supported()) {
        NBT_CHECK_TENSOR_IS(t, NB_UINT8, NB_SHAPE(2, 3), (uint8_t[]){0, 1, 127, 128, 200, 255});
    } else {
        NBT_CHECK(t == NULL);
        NBT_CHECK_ERROR(NB_ERR_UNSUPPORTED, "no zlib");
    }
    nb_free(t);
}

int main(void)
{
    NBT_RUN(test_types_plain);
    NBT_RUN(test_types_gzip);
    NBT_RUN(test_from_memory);
    NBT_RUN(test_bundled_digits);
    NBT_RUN(test_malformed);
    NBT_RUN(test_file_errors);
    NBT_RUN(test_malformed_gzip);
    return nbt_finish();
}
