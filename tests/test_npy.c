/*
 * test_npy.c — nb_load_npy / nb_save_npy: files numpy wrote (every dtype,
 * big-endian, Fortran order, versions 2.0 and 3.0, header spellings; made by
 * scripts/make_npy_fixtures.py into tests/data/npy/), nb_save_npy's bytes
 * against np.save's, round trips of every dtype and odd shape and of views,
 * and a table of malformed files that must each give a clear error.
 *
 * Files this test writes go to the working directory (the build dir) and
 * are removed after.
 */
#include "nb_test.h"

#include "io/npy.h"

#define NPY_DIR NB_TEST_DATA_DIR "/npy/"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* A .npy file in buf: preamble of version major.0, the header text padded
 * with spaces and '\n' to 64 bytes as numpy does, then data_size bytes of
 * data. Returns the size. */
static size_t make_npy(unsigned char *buf, int major, const char *header, const void *data, size_t data_size)
{
    size_t length_bytes = major == 1 ? 2 : 4;
    size_t text         = strlen(header);
    size_t padding      = 64 - (8 + length_bytes + text + 1) % 64;
    size_t header_len   = text + padding + 1;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    nbt_store_le(buf + 8, header_len, length_bytes);
    unsigned char *h = buf + 8 + length_bytes;
    memcpy(h, header, text);
    memset(h + text, ' ', padding);
    h[text + padding] = '\n';
    if (data_size) memcpy(h + header_len, data, data_size);
    return 8 + length_bytes + header_len + data_size;
}

/* ------------------------------------------------------------------------ */
/* Files numpy wrote                                                         */
/* ------------------------------------------------------------------------ */

static void test_load_each_dtype(void)
{
    nb_tensor *t = nb_load_npy(NPY_DIR "f32_2x3.npy");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT32, NB_SHAPE(2, 3), (const float[]){-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "f64_3.npy");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT64, NB_SHAPE(3), (const double[]){0.1, -2.5, 1e300});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "i64_2x2.npy");
    NBT_CHECK_TENSOR_IS(t, NB_INT64, NB_SHAPE(2, 2), (const int64_t[]){-(INT64_C(1) << 62), 1, 2, INT64_C(1) << 62});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "i32_4.npy");
    NBT_CHECK_TENSOR_IS(t, NB_INT32, NB_SHAPE(4), (const int32_t[]){INT32_MIN, -1, 0, INT32_MAX});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "u1_5.npy");
    NBT_CHECK_TENSOR_IS(t, NB_UINT8, NB_SHAPE(5), (const uint8_t[]){0, 1, 127, 128, 255});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "b1_2x2.npy");
    NBT_CHECK_TENSOR_IS(t, NB_BOOL, NB_SHAPE(2, 2), (const uint8_t[]){1, 0, 0, 1});
    nb_free(t);

    /* float16 bits: 1.5, -0, 65504, inf, the subnormal 6e-8 rounds to
     * (2^-24), -2^-14 */
    t = nb_load_npy(NPY_DIR "f2_6.npy");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT16, NB_SHAPE(6), (const uint16_t[]){0x3E00, 0x8000, 0x7BFF, 0x7C00, 0x0001, 0x8400});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "i2_4.npy");
    NBT_CHECK_TENSOR_IS(t, NB_INT16, NB_SHAPE(4), (const int16_t[]){INT16_MIN, -1, 7, INT16_MAX});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "i1_4.npy");
    NBT_CHECK_TENSOR_IS(t, NB_INT8, NB_SHAPE(4), (const int8_t[]){-128, -1, 7, 127});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "be_f2.npy");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT16, NB_SHAPE(3), (const uint16_t[]){0x3E00, 0xC080, 0x4200});
    nb_free(t);

    /* numpy has no bfloat16: saving one is refused, nothing is written */
    nb_tensor *b = nb_ones(NB_SHAPE(2), NB_OPTS(.dtype = NB_BFLOAT16));
    NBT_CHECK(nb_save_npy(b, "test_npy_bf16.npy") == NB_ERR_DTYPE);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "numpy has no bfloat16");
    FILE *f = fopen("test_npy_bf16.npy", "rb");
    NBT_CHECK(f == NULL);
    if (f) fclose(f);
    nb_free(b);
}

static void test_load_odd_shapes(void)
{
    nb_tensor *t = nb_load_npy(NPY_DIR "scalar_f32.npy");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT32, NB_SCALAR_SHAPE, (const float[]){3.5f});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "empty_0x3.npy");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT32, NB_SHAPE(0, 3), (const float[]){0});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "i64_8d.npy");
    NBT_CHECK_TENSOR_IS(t, NB_INT64, NB_SHAPE(1, 2, 1, 2, 1, 2, 1, 2),
                        (const int64_t[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
    nb_free(t);
}

static void test_load_big_endian(void)
{
    nb_tensor *t = nb_load_npy(NPY_DIR "be_f4.npy");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT32, NB_SHAPE(3), (const float[]){1.5f, -2.25f, 3.0f});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "be_i8.npy");
    NBT_CHECK_TENSOR_IS(t, NB_INT64, NB_SHAPE(3), (const int64_t[]){1, -2, INT64_C(1) << 40});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "be_i4.npy");
    NBT_CHECK_TENSOR_IS(t, NB_INT32, NB_SHAPE(2), (const int32_t[]){-5, 6});
    nb_free(t);
}

static void test_load_fortran_order(void)
{
    nb_tensor *t = nb_load_npy(NPY_DIR "fortran_f4_3x4.npy");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT32, NB_SHAPE(3, 4), (const float[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    NBT_CHECK(nb_is_contiguous(t));
    nb_free(t);

    /* Fortran order and big-endian at once. */
    double expected[24];
    for (int i = 0; i < 24; i++)
        expected[i] = i / 8.0;
    t = nb_load_npy(NPY_DIR "fortran_be_f8_2x3x4.npy");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT64, NB_SHAPE(2, 3, 4), expected);
    NBT_CHECK(nb_is_contiguous(t));
    nb_free(t);
}

static void test_load_versions_and_spellings(void)
{
    nb_tensor *t = nb_load_npy(NPY_DIR "v2_i4.npy");
    NBT_CHECK_TENSOR_IS(t, NB_INT32, NB_SHAPE(5), (const int32_t[]){0, 1, 2, 3, 4});
    nb_free(t);

    t = nb_load_npy(NPY_DIR "v3_f4_2x3.npy");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT32, NB_SHAPE(2, 3), (const float[]){0, 2, 4, 6, 8, 10});
    nb_free(t);

    /* Keys in another order, no trailing comma. */
    t = nb_load_npy(NPY_DIR "raw_key_order.npy");
    NBT_CHECK_TENSOR_IS(t, NB_INT32, NB_SHAPE(2), (const int32_t[]){7, -7});
    nb_free(t);

    /* Double quotes, tabs and newlines, "(3 , )", '=' byte order. */
    t = nb_load_npy(NPY_DIR "raw_spacing.npy");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT64, NB_SHAPE(3), (const double[]){1, 2, 3});
    nb_free(t);

    /* Bool bytes 2 and 255 are true, stored as 1. */
    t = nb_load_npy(NPY_DIR "raw_bool_bytes.npy");
    NBT_CHECK_TENSOR_IS(t, NB_BOOL, NB_SHAPE(3), (const uint8_t[]){0, 1, 1});
    nb_free(t);

    /* Version 3.0 in Fortran order. */
    t = nb_load_npy(NPY_DIR "raw_v3_utf8.npy");
    NBT_CHECK_TENSOR_IS(t, NB_INT64, NB_SHAPE(2, 2), (const int64_t[]){1, 3, 2, 4});
    nb_free(t);
}

/* numpy's other spellings of the same dtypes (one-letter codes, names) and
 * Python 2's long sizes, which numpy loads too. */
static void test_load_dtype_aliases(void)
{
    static const struct {
        const char *descr;
        nb_dtype    dtype;
    } spellings[] = {{"<q", NB_INT64}, {"<l", NB_INT64}, {"<d", NB_FLOAT64}, {"<i", NB_INT32}, {"|b", NB_INT8},
                     {"|B", NB_UINT8}, {"|?", NB_BOOL},  {"<e", NB_FLOAT16}, {"float32", NB_FLOAT32}, {"int16", NB_INT16}};
    static unsigned char buf[4096];
    const unsigned char  data[16] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < sizeof spellings / sizeof *spellings; i++) {
        char header[128];
        snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (2L,), }", spellings[i].descr);
        size_t     size = make_npy(buf, 1, header, data, 16);
        nb_tensor *t    = nbi_load_npy_from_memory(buf, size, "aliases");
        NBT_CHECK(t && nb_dtype_of(t) == spellings[i].dtype && nb_numel(t) == 2 &&
                  memcmp(nb_data(t), data, 2 * nb_dtype_size(spellings[i].dtype)) == 0);
        if (t == NULL) fprintf(stderr, "  %s: %s\n", spellings[i].descr, nb_last_error());
        nb_free(t);
    }
}

/* nb_save_npy writes exactly np.save's bytes: load numpy's file, save it
 * again, compare. */
static void test_save_matches_numpy_bytes(void)
{
    static const char *names[] = {"f32_2x3.npy", "f64_3.npy",      "i64_2x2.npy",   "i32_4.npy", "u1_5.npy",
                                  "b1_2x2.npy",  "scalar_f32.npy", "empty_0x3.npy", "i64_8d.npy",
                                  "f2_6.npy",    "i2_4.npy",       "i1_4.npy"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char numpy_path[512];
        snprintf(numpy_path, sizeof numpy_path, NPY_DIR "%s", names[i]);
        nb_tensor *t = nb_load_npy(numpy_path);
        NBT_CHECK(t != NULL);
        NBT_CHECK(nb_save_npy(t, "test_npy_resaved.npy") == NB_OK);
        size_t         numpy_size = 0, ours_size = 0;
        unsigned char *numpy_bytes = nbt_read_file(numpy_path, &numpy_size);
        unsigned char *ours        = nbt_read_file("test_npy_resaved.npy", &ours_size);
        nbt_checks++;
        if (!numpy_bytes || !ours || numpy_size != ours_size || memcmp(numpy_bytes, ours, ours_size) != 0) {
            nbt_failures++;
            fprintf(stderr, "%s: nb_save_npy's bytes differ from np.save's (%zu vs %zu bytes)\n", names[i], ours_size,
                    numpy_size);
        }
        free(numpy_bytes);
        free(ours);
        nb_free(t);
    }
    remove("test_npy_resaved.npy");
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                               */
/* ------------------------------------------------------------------------ */

/* Save t, load it back, expect the same dtype, shape and bytes. */
static void check_round_trip(const nb_tensor *t, nb_dtype dtype, nb_shape shape, const void *bytes)
{
    NBT_CHECK(nb_save_npy(t, "test_npy_round_trip.npy") == NB_OK);
    nb_tensor *back = nb_load_npy("test_npy_round_trip.npy");
    NBT_CHECK_TENSOR_IS(back, dtype, shape, bytes);
    nb_free(back);
    remove("test_npy_round_trip.npy");
}

static void test_round_trip_every_dtype(void)
{
    static const float   f32[]               = {1.5f, -0.0f, INFINITY, 3e38f, 1e-45f, -7.0f};
    static const double  f64[]               = {1e-308, -2.5, 0.1, 1e308, -INFINITY, 42.0};
    static const int64_t i64[]               = {INT64_MIN, -1, 0, 1, INT64_MAX, 123456789012345};
    static const int32_t i32[]               = {INT32_MIN, -1, 0, 1, INT32_MAX, 65536};
    static const uint8_t u8[]                = {0, 1, 2, 127, 128, 255};
    static const uint8_t b8[]                = {1, 0, 0, 1, 1, 0};
    static const uint16_t f16[]              = {0x3C00, 0x8000, 0x7C00, 0x7BFF, 0x0001, 0xFE00};
    static const int16_t  i16[]              = {INT16_MIN, -1, 0, 1, INT16_MAX, 300};
    static const int8_t   i8[]               = {INT8_MIN, -1, 0, 1, INT8_MAX, 100};
    const void          *data[NB_NUM_DTYPES] = {f32, f64, i64, i32, u8, b8, f16, NULL, i16, i8};
    for (int d = 0; d < NB_NUM_DTYPES; d++) {
        if (data[d] == NULL) continue; /* bfloat16: numpy has none (test_load_each_dtype) */
        nb_tensor *t = nb_from_data(data[d], NB_SHAPE(2, 3), NB_OPTS(.dtype = (nb_dtype)d));
        check_round_trip(t, (nb_dtype)d, NB_SHAPE(2, 3), data[d]);
        nb_free(t);
    }
    /* NaN keeps its bits. */
    uint32_t nan_bits = 0x7fc00001u;
    float    nan_value;
    memcpy(&nan_value, &nan_bits, sizeof nan_value);
    nb_tensor *t = nb_from_data(&nan_value, NB_SHAPE(1), NB_OPTS());
    check_round_trip(t, NB_FLOAT32, NB_SHAPE(1), &nan_value);
    nb_free(t);
}

static void test_round_trip_odd_shapes(void)
{
    nb_tensor *scalar = nb_scalar(-2.5, NB_OPTS(.dtype = NB_FLOAT64));
    check_round_trip(scalar, NB_FLOAT64, NB_SCALAR_SHAPE, (const double[]){-2.5});
    nb_free(scalar);

    nb_tensor *empty = nb_zeros(NB_SHAPE(2, 0, 4), NB_OPTS(.dtype = NB_INT32));
    check_round_trip(empty, NB_INT32, NB_SHAPE(2, 0, 4), (const int32_t[]){0});
    nb_free(empty);

    nb_tensor *empty_1d = nb_zeros(NB_SHAPE(0), NB_OPTS(.dtype = NB_BOOL));
    check_round_trip(empty_1d, NB_BOOL, NB_SHAPE(0), (const uint8_t[]){0});
    nb_free(empty_1d);

    int64_t values[256];
    for (int i = 0; i < 256; i++)
        values[i] = i * 3 - 100;
    nb_shape   eight = NB_SHAPE(2, 2, 2, 2, 2, 2, 2, 2);
    nb_tensor *t8    = nb_from_data(values, eight, NB_OPTS(.dtype = NB_INT64));
    check_round_trip(t8, NB_INT64, eight, values);
    nb_free(t8);
}

/* Views are saved in row-major order of what they show. */
static void test_save_non_contiguous(void)
{
    float values[12];
    for (int i = 0; i < 12; i++)
        values[i] = (float)i;
    nb_tensor *t = nb_from_data(values, NB_SHAPE(3, 4), NB_OPTS());

    nb_tensor *transposed = nb_transpose(t, 0, 1);
    NBT_CHECK(!nb_is_contiguous(transposed));
    check_round_trip(transposed, NB_FLOAT32, NB_SHAPE(4, 3), (const float[]){0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});

    nb_tensor *stepped = nb_slice(t, 1, 0, NB_END, 2);
    check_round_trip(stepped, NB_FLOAT32, NB_SHAPE(3, 2), (const float[]){0, 2, 4, 6, 8, 10});

    nb_tensor *row      = nb_select(t, 0, 1);
    nb_tensor *expanded = nb_expand(row, NB_SHAPE(2, 4));
    check_round_trip(expanded, NB_FLOAT32, NB_SHAPE(2, 4), (const float[]){4, 5, 6, 7, 4, 5, 6, 7});

    nb_free(expanded);
    nb_free(row);
    nb_free(stepped);
    nb_free(transposed);
    nb_free(t);
}

/* A tensor from nb_load_npy is an ordinary one: scopes release it. */
static void test_loaded_tensor_belongs_to_scope(void)
{
    int64_t live = nb_live_tensors();
    NBT_CHECK(nb_scope_begin() == NB_OK);
    nb_tensor *t = nb_load_npy(NPY_DIR "fortran_f4_3x4.npy");
    NBT_CHECK(t != NULL);
    NBT_CHECK(nb_live_tensors() == live + 1);
    NBT_CHECK(nb_scope_end() == NB_OK);
    NBT_CHECK(nb_live_tensors() == live);
}

/* ------------------------------------------------------------------------ */
/* Malformed files                                                           */
/* ------------------------------------------------------------------------ */

#define HEADER_F4(shape) "{'descr': '<f4', 'fortran_order': False, 'shape': " shape ", }"

typedef struct {
    const char *what;
    nb_status   status;
    const char *fragment;
} bad_case;

/* Writes the bytes to a file, loads it, and checks the error (which must
 * name the path); then the same through the in-memory reader. */
static void check_bad(const unsigned char *bytes, size_t size, bad_case c)
{
    const char *path = "test_npy_bad.npy";
    NBT_CHECK(nbt_write_file(path, bytes, size));
    nb_tensor *t = nb_load_npy(path);
    NBT_CHECK(t == NULL);
    nb_free(t);
    nbt_checks++;
    if (strstr(nb_last_error(), path) == NULL || strstr(nb_last_error(), "nb_load_npy: ") != nb_last_error()) {
        nbt_failures++;
        fprintf(stderr, "%s: the message does not start with nb_load_npy and name the path: %s\n", c.what,
                nb_last_error());
    }
    if (nb_last_status() != c.status || strstr(nb_last_error(), c.fragment) == NULL)
        fprintf(stderr, "(case: %s)\n", c.what);
    NBT_CHECK_ERROR(c.status, c.fragment);

    t = nbi_load_npy_from_memory(bytes, size, "in-memory");
    NBT_CHECK(t == NULL);
    nb_free(t);
    if (nb_last_status() != c.status || strstr(nb_last_error(), c.fragment) == NULL)
        fprintf(stderr, "(case: %s, from memory)\n", c.what);
    NBT_CHECK_ERROR(c.status, c.fragment);
    remove(path);
}

static void check_bad_header(int major, const char *header, size_t data_size, bad_case c)
{
    static unsigned char buf[4096];
    static unsigned char zeros[256];
    check_bad(buf, make_npy(buf, major, header, zeros, data_size), c);
}

static void test_malformed_preamble(void)
{
    unsigned char buf[64] = {0};
    check_bad(buf, 0, (bad_case){"empty file", NB_ERR_IO, "not a .npy file"});
    memcpy(buf, "\x93NUMPX\x01\x00", 8);
    check_bad(buf, 8, (bad_case){"bad magic", NB_ERR_IO, "not a .npy file"});
    memcpy(buf, "PK\x03\x04 not npy", 13);
    check_bad(buf, 13, (bad_case){"a zip file", NB_ERR_IO, "not a .npy file"});
    memcpy(buf, "\x93NUMPY", 6);
    check_bad(buf, 6, (bad_case){"ends after magic", NB_ERR_IO, "truncated: expected 8 bytes of preamble, found 6"});
    memcpy(buf, "\x93NUMPY\x04\x00\x10\x00", 10);
    check_bad(buf, 10, (bad_case){"version 4.0", NB_ERR_IO, "unsupported .npy version 4.0"});
    memcpy(buf, "\x93NUMPY\x01\x01\x10\x00", 10);
    check_bad(buf, 10, (bad_case){"version 1.1", NB_ERR_IO, "unsupported .npy version 1.1"});
    memcpy(buf, "\x93NUMPY\x00\x00\x10\x00", 10);
    check_bad(buf, 10, (bad_case){"version 0.0", NB_ERR_IO, "unsupported .npy version 0.0"});
    memcpy(buf, "\x93NUMPY\x01\x00\x10", 9);
    check_bad(buf, 9, (bad_case){"half a length field", NB_ERR_IO, "expected 2 bytes of header length, found 1"});
    memcpy(buf, "\x93NUMPY\x02\x00\x10\x00\x00", 11);
    check_bad(buf, 11, (bad_case){"v2 short length field", NB_ERR_IO, "expected 4 bytes of header length, found 3"});
    memcpy(buf, "\x93NUMPY\x01\x00\x00\x01{'descr'", 17);
    check_bad(buf, 17,
              (bad_case){"header past the end", NB_ERR_IO, "truncated: expected 256 bytes of header, found 7"});
    memcpy(buf, "\x93NUMPY\x02\x00\xf0\xff\xff\xff{", 13);
    check_bad(buf, 13, (bad_case){"4 GiB header", NB_ERR_IO, "header length 4294967280 is over the limit"});
    memcpy(buf, "\x93NUMPY\x01\x00\x00\x00", 10);
    check_bad(buf, 10, (bad_case){"empty header", NB_ERR_IO, "bad header: expected '{'"});
}

static void test_malformed_dict(void)
{
    check_bad_header(1, "[1, 2]", 0, (bad_case){"a list", NB_ERR_IO, "expected '{'"});
    check_bad_header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", 8,
                     (bad_case){"no closing brace", NB_ERR_IO, "expected ',' or '}' after the value of 'shape'"});
    check_bad_header(1, "{'descr': '<f4', 'shape': (2,), }", 8,
                     (bad_case){"missing key", NB_ERR_IO, "has no 'fortran_order'"});
    check_bad_header(1, "{'fortran_order': False, 'shape': (2,), }", 8,
                     (bad_case){"missing descr", NB_ERR_IO, "has no 'descr'"});
    check_bad_header(1, "{'descr': '<f4', 'fortran_order': False, }", 8,
                     (bad_case){"missing shape", NB_ERR_IO, "has no 'shape'"});
    check_bad_header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", 8,
                     (bad_case){"unknown key", NB_ERR_IO, "unknown key 'extra'"});
    check_bad_header(1, "{'a\001b': 1}", 8, (bad_case){"binary key", NB_ERR_IO, "unknown key 'a\\x01b'"});
    check_bad_header(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8,
                     (bad_case){"repeated key", NB_ERR_IO, "key 'descr' appears twice"});
    check_bad_header(1, "{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}", 8,
                     (bad_case){"no colon", NB_ERR_IO, "expected ':' after key 'descr'"});
    check_bad_header(1, "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", 8,
                     (bad_case){"no comma", NB_ERR_IO, "expected ',' or '}' after the value of 'descr'"});
    check_bad_header(1, "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", 8,
                     (bad_case){"quote inside", NB_ERR_IO, "after the value of 'descr'"});
    check_bad_header(1, "{'descr': '<f4", 8, (bad_case){"unterminated string", NB_ERR_IO, "unterminated string"});
    check_bad_header(1, "{'descr': '<\\x66\\x34', 'fortran_order': False, 'shape': (2,)}", 8,
                     (bad_case){"escapes", NB_ERR_IO, "escape sequences"});
    check_bad_header(1, "{'descr': '<f4', 'fortran_order': yes, 'shape': (2,)}", 8,
                     (bad_case){"fortran_order yes", NB_ERR_IO, "'fortran_order' must be True or False"});
    check_bad_header(1, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}", 8,
                     (bad_case){"fortran_order Falsey", NB_ERR_IO, "must be True or False"});
    check_bad_header(1, HEADER_F4("(2,)") " trailing", 8,
                     (bad_case){"text after the dict", NB_ERR_IO, "unexpected text after the dict"});
    check_bad_header(1, HEADER_F4("[2]"), 8, (bad_case){"shape a list", NB_ERR_IO, "'shape' must be a tuple"});
    check_bad_header(1, HEADER_F4("(2)"), 8, (bad_case){"shape (2)", NB_ERR_IO, "is not a tuple"});
    check_bad_header(1, HEADER_F4("(2, x)"), 8, (bad_case){"shape with a name", NB_ERR_IO, "expected a size"});
    check_bad_header(1, HEADER_F4("(2 3)"), 8, (bad_case){"shape without comma", NB_ERR_IO, "expected ',' or ')'"});
    check_bad_header(1, HEADER_F4("(2,"), 8, (bad_case){"unclosed shape", NB_ERR_IO, "expected a size"});
}

static void test_malformed_sizes(void)
{
    check_bad_header(1, HEADER_F4("(-1,)"), 8, (bad_case){"negative size", NB_ERR_IO, "is negative"});
    check_bad_header(1, HEADER_F4("(99999999999999999999,)"), 8,
                     (bad_case){"size over int64", NB_ERR_IO, "a size in 'shape' is too large"});
    check_bad_header(1, HEADER_F4("(4294967296, 4294967296)"), 8,
                     (bad_case){"numel over int64", NB_ERR_IO, "shape [4294967296, 4294967296] is too large"});
    /* A huge but representable size must fail on the file size, before any
     * allocation. */
    check_bad_header(1, HEADER_F4("(1099511627776,)"), 8,
                     (bad_case){"huge shape", NB_ERR_IO, "truncated: expected 4398046511104 bytes of data, found 8"});
    check_bad_header(1, HEADER_F4("(12,)"), 20,
                     (bad_case){"truncated data", NB_ERR_IO, "truncated: expected 48 bytes of data, found 20"});
    check_bad_header(3, HEADER_F4("(2, 3)"), 0,
                     (bad_case){"no data at all", NB_ERR_IO, "truncated: expected 24 bytes of data, found 0"});
    check_bad_header(1, HEADER_F4("(1, 1, 1, 1, 1, 1, 1, 1, 1)"), 4,
                     (bad_case){"9 dims", NB_ERR_IO, "'shape' has more than 8 dims"});
}

static void test_unsupported_dtypes(void)
{
    /* float16, int16 and int8 load (issue 13); their unsigned and complex
     * neighbours do not */
    check_bad_header(1, "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", 4,
                     (bad_case){"uint16", NB_ERR_DTYPE, "unsupported dtype '<u2'"});
    check_bad_header(1, "{'descr': '<c4', 'fortran_order': False, 'shape': (2,), }", 8,
                     (bad_case){"complex32", NB_ERR_DTYPE, "unsupported dtype '<c4'"});
    check_bad_header(1, "{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }", 16,
                     (bad_case){"uint64", NB_ERR_DTYPE, "unsupported dtype '<u8'"});
    check_bad_header(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16,
                     (bad_case){"objects", NB_ERR_DTYPE, "unsupported dtype '|O'"});
    check_bad_header(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16,
                     (bad_case){"complex", NB_ERR_DTYPE, "unsupported dtype '<c8'"});
    check_bad_header(
        1, "{'descr': '<U0123456789012345678901234567890123456789', 'fortran_order': False, 'shape': (2,), }", 16,
        (bad_case){"long descr", NB_ERR_DTYPE, "unsupported dtype '<U01234567890123456789012345678901234567...'"});
    check_bad_header(1, "{'descr': '', 'fortran_order': False, 'shape': (2,), }", 16,
                     (bad_case){"empty descr", NB_ERR_DTYPE, "unsupported dtype ''"});
    check_bad_header(1, "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8,
                     (bad_case){"structured", NB_ERR_DTYPE, "structured dtypes"});
}

static void test_file_errors(void)
{
    NBT_CHECK(nb_load_npy("no/such/dir/missing.npy") == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_load_npy: no/such/dir/missing.npy: cannot open: No such file or directory");
    NBT_CHECK(nb_load_npy(NB_TEST_DATA_DIR) == NULL); /* a directory */
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_load_npy: " NB_TEST_DATA_DIR ": ");
    NBT_CHECK(nb_load_npy(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_load_npy: argument 'path' is NULL");
    NBT_CHECK(nbi_load_npy_from_memory(NULL, 10, "x") == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "argument 'bytes' is NULL");

    nb_tensor *t = nb_zeros(NB_SHAPE(2), NB_OPTS());
    NBT_CHECK(nb_save_npy(t, "no/such/dir/out.npy") == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_save_npy: no/such/dir/out.npy: cannot open for writing: No such file or directory");
    /* A full disk: the write (or the flush at close) fails. */
    FILE *full = fopen("/dev/full", "wb");
    if (full != NULL) {
        fclose(full);
        NBT_CHECK(nb_save_npy(t, "/dev/full") == NB_ERR_IO);
        NBT_CHECK_ERROR(NB_ERR_IO, "nb_save_npy: /dev/full: writing failed: No space left on device");
    }
    NBT_CHECK(nb_save_npy(t, NULL) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_save_npy: argument 'path' is NULL");
    NBT_CHECK(nb_save_npy(NULL, "x.npy") == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_save_npy: argument 't' is NULL");
    nb_free(t);
}

int main(void)
{
    NBT_RUN(test_load_each_dtype);
    NBT_RUN(test_load_odd_shapes);
    NBT_RUN(test_load_big_endian);
    NBT_RUN(test_load_fortran_order);
    NBT_RUN(test_load_versions_and_spellings);
    NBT_RUN(test_load_dtype_aliases);
    NBT_RUN(test_save_matches_numpy_bytes);
    NBT_RUN(test_round_trip_every_dtype);
    NBT_RUN(test_round_trip_odd_shapes);
    NBT_RUN(test_save_non_contiguous);
    NBT_RUN(test_loaded_tensor_belongs_to_scope);
    NBT_RUN(test_malformed_preamble);
    NBT_RUN(test_malformed_dict);
    NBT_RUN(test_malformed_sizes);
    NBT_RUN(test_unsupported_dtypes);
    NBT_RUN(test_file_errors);
    return nbt_finish();
}
