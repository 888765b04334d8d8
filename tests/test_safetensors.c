/*
 * test_safetensors.c — safetensors files and the JSON reader under them:
 * round trips of every dtype, odd shapes and views; the writer's bytes
 * against the reference library's layout; F16 / BF16 / small-integer files
 * built here bit by bit; the half-precision conversions exhaustively; a
 * table of malformed files that must each give the documented error; the
 * JSON reader and writer; and nb_module_save / nb_module_load (all or
 * nothing, with errors naming the tensor).
 *
 * Files this test writes go to the working directory (the build dir) and
 * are removed after.
 */
#include "nb_test.h"

#include "io/half.h"
#include "io/json.h"
#include "io/safetensors.h"

#include <float.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* A file in memory: the 8-byte little-endian length (header_length, or the
 * header's own length when it is UINT64_MAX), the header text, the data. */
typedef struct {
    unsigned char bytes[2048];
    size_t        size;
} file_bytes;

static file_bytes make_with_length(uint64_t header_length, const char *header, const void *data, size_t data_size)
{
    file_bytes f = {{0}, 0};
    size_t     n = strlen(header);
    if (header_length == UINT64_MAX) header_length = n;
    nbt_store_le(f.bytes, header_length, 8);
    memcpy(f.bytes + 8, header, n);
    if (data_size) memcpy(f.bytes + 8 + n, data, data_size);
    f.size = 8 + n + data_size;
    return f;
}

static file_bytes make(const char *header, const void *data, size_t data_size)
{
    return make_with_length(UINT64_MAX, header, data, data_size);
}

static nb_safetensors *parse(file_bytes f) { return nbi_safetensors_from_memory(f.bytes, f.size, "test.safetensors"); }

static const unsigned char zeros[256];

/* ------------------------------------------------------------------------ */
/* Round trips                                                               */
/* ------------------------------------------------------------------------ */

static void test_round_trip_every_dtype(void)
{
    const float   f32[] = {-1.5f, 0.0f, 2.25f, 1e30f, -INFINITY, 3.0f};
    const double  f64[] = {0.1, -2.5, 1e300};
    const int64_t i64[] = {INT64_MIN, -1, INT64_MAX, 42};
    const int32_t i32[] = {INT32_MIN, -7, INT32_MAX};
    const uint8_t u8[]  = {0, 1, 127, 128, 255};
    const uint8_t b8[]  = {1, 0, 0, 1};
    const float   one[] = {3.5f};
    nb_tensor    *t[8]  = {
            nb_from_data(f32, NB_SHAPE(2, 3), NB_OPTS()),
            nb_from_data(f64, NB_SHAPE(3), NB_OPTS(.dtype = NB_FLOAT64)),
            nb_from_data(i64, NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_INT64)),
            nb_from_data(i32, NB_SHAPE(3, 1), NB_OPTS(.dtype = NB_INT32)),
            nb_from_data(u8, NB_SHAPE(5), NB_OPTS(.dtype = NB_UINT8)),
            nb_from_data(b8, NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_BOOL)),
            nb_from_data(one, NB_SCALAR_SHAPE, NB_OPTS()),
            nb_zeros(NB_SHAPE(0, 3), NB_OPTS(.dtype = NB_FLOAT64)),
    };
    const char *names[8]  = {"f32", "f64", "i64", "i32", "u8", "bool", "scalar", "empty"};
    const char *keys[2]   = {"format", "note"};
    const char *values[2] = {"pt", "caf\xc3\xa9 \"quoted\"\n"};
    NBT_CHECK(nb_save_safetensors("rt.safetensors", names, t, 8, keys, values, 2) == NB_OK);

    nb_safetensors *f = nb_safetensors_load("rt.safetensors");
    NBT_CHECK(f != NULL);
    NBT_CHECK(nb_safetensors_count(f) == 8);
    /* File order: widest dtype first (I64, F64, F32, I32, U8, BOOL), then by
     * name within a dtype. */
    const char *order[8] = {"i64", "empty", "f64", "f32", "scalar", "i32", "u8", "bool"};
    for (int i = 0; i < 8; i++)
        NBT_CHECK(nb_safetensors_name(f, i) && strcmp(nb_safetensors_name(f, i), order[i]) == 0);
    NBT_CHECK(nb_safetensors_name(f, 8) == NULL);
    NBT_CHECK(nb_safetensors_name(f, -1) == NULL);
    NBT_CHECK(strcmp(nb_safetensors_metadata(f, "format"), "pt") == 0);
    NBT_CHECK(strcmp(nb_safetensors_metadata(f, "note"), values[1]) == 0);
    NBT_CHECK(nb_safetensors_metadata(f, "absent") == NULL);
    NBT_CHECK(nb_last_status() == NB_OK); /* an absent key is not an error */

    /* Each comes back with its dtype, shape and exact bytes. */
    const void *bytes[8] = {f32, f64, i64, i32, u8, b8, one, zeros};
    for (int i = 0; i < 8; i++) {
        nb_tensor *g = nb_safetensors_get(f, names[i]);
        NBT_CHECK_TENSOR_IS(g, nb_dtype_of(t[i]), nb_shape_of(t[i]), bytes[i]);
        nb_free(g);
    }

    nb_tensor *g = nb_safetensors_get(f, "F32");
    NBT_CHECK(g == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_safetensors_get: rt.safetensors: no tensor named 'F32'");
    nb_safetensors_free(f);
    for (int i = 0; i < 8; i++)
        nb_free(t[i]);
    remove("rt.safetensors");
}

static void test_round_trip_views(void)
{
    nb_tensor  *base       = nb_arange(0, 12, 1, NB_OPTS());
    nb_tensor  *matrix     = nb_reshape(base, NB_SHAPE(3, 4));
    nb_tensor  *transposed = nb_transpose(matrix, 0, 1);        /* (4, 3) */
    nb_tensor  *stepped    = nb_slice(matrix, 1, 0, NB_END, 2); /* (3, 2) columns 0, 2 */
    nb_tensor  *row        = nb_slice(matrix, 0, 1, 2, 1);      /* (1, 4) */
    nb_tensor  *expanded   = nb_expand(row, NB_SHAPE(2, 4));    /* stride 0 */
    nb_tensor  *t[3]       = {transposed, stepped, expanded};
    const char *names[3]   = {"transposed", "stepped", "expanded"};
    NBT_CHECK(nb_save_safetensors("views.safetensors", names, t, 3, NULL, NULL, 0) == NB_OK);
    nb_safetensors *f = nb_safetensors_load("views.safetensors");
    nb_tensor      *g = nb_safetensors_get(f, "transposed");
    NBT_CHECK_TENSOR_IS(g, NB_FLOAT32, NB_SHAPE(4, 3), (const float[]){0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
    nb_free(g);
    g = nb_safetensors_get(f, "stepped");
    NBT_CHECK_TENSOR_IS(g, NB_FLOAT32, NB_SHAPE(3, 2), (const float[]){0, 2, 4, 6, 8, 10});
    nb_free(g);
    g = nb_safetensors_get(f, "expanded");
    NBT_CHECK_TENSOR_IS(g, NB_FLOAT32, NB_SHAPE(2, 4), (const float[]){4, 5, 6, 7, 4, 5, 6, 7});
    nb_free(g);
    nb_safetensors_free(f);
    nb_free(base), nb_free(matrix), nb_free(transposed), nb_free(stepped), nb_free(row), nb_free(expanded);

    /* No tensors at all: "{}" padded to 8, and it loads back empty. */
    NBT_CHECK(nb_save_safetensors("none.safetensors", NULL, NULL, 0, NULL, NULL, 0) == NB_OK);
    f = nb_safetensors_load("none.safetensors");
    NBT_CHECK(f != NULL && nb_safetensors_count(f) == 0);
    nb_safetensors_free(f);
    remove("views.safetensors");
    remove("none.safetensors");
}

/* ------------------------------------------------------------------------ */
/* The writer's bytes                                                        */
/* ------------------------------------------------------------------------ */

/* The file at path is exactly the 8-byte length, header, then data. */
static int file_is(const char *path, const char *header, const void *data, size_t data_size)
{
    size_t         size;
    unsigned char *got      = nbt_read_file(path, &size);
    file_bytes     expected = make(header, data, data_size);
    int            ok       = got && size == expected.size && memcmp(got, expected.bytes, size) == 0;
    if (!ok && got) fprintf(stderr, "  %s: got %zu bytes: %.*s\n", path, size, (int)(size > 8 ? size - 8 : 0), got + 8);
    free(got);
    return ok;
}

static void test_writer_matches_reference_layout(void)
{
    /* The reference library's own serialization tests: a (1, 2, 3) F32
     * tensor "attn.0" has a 64-byte header needing no padding; "attn0" of
     * shape (1, 1, 2, 3) needs 7 spaces; no tensors is "{}" + 6 spaces; and
     * metadata alone is 35 bytes + 5 spaces. */
    const float data[6] = {0, 1, 2, 3, 4, 5};
    nb_tensor  *a       = nb_from_data(data, NB_SHAPE(1, 2, 3), NB_OPTS());
    nb_tensor  *b       = nb_from_data(data, NB_SHAPE(1, 1, 2, 3), NB_OPTS());
    NBT_CHECK(nb_save_safetensors("ref.safetensors", (const char *[]){"attn.0"}, &a, 1, NULL, NULL, 0) == NB_OK);
    NBT_CHECK(file_is("ref.safetensors", "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}",
                      data, sizeof data));
    NBT_CHECK(nb_save_safetensors("ref.safetensors", (const char *[]){"attn0"}, &b, 1, NULL, NULL, 0) == NB_OK);
    NBT_CHECK(file_is("ref.safetensors",
                      "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ", data,
                      sizeof data));
    NBT_CHECK(nb_save_safetensors("ref.safetensors", NULL, NULL, 0, NULL, NULL, 0) == NB_OK);
    NBT_CHECK(file_is("ref.safetensors", "{}      ", NULL, 0));
    NBT_CHECK(nb_save_safetensors("ref.safetensors", NULL, NULL, 0, (const char *[]){"framework"},
                                  (const char *[]){"pt"}, 1) == NB_OK);
    NBT_CHECK(file_is("ref.safetensors", "{\"__metadata__\":{\"framework\":\"pt\"}}     ", NULL, 0));

    /* Mixed dtypes: widest first so every tensor is aligned to its element
     * size; names escaped; metadata keys sorted. */
    nb_tensor *i64  = nb_full(NB_SHAPE(1), 7, NB_OPTS(.dtype = NB_INT64));
    nb_tensor *u8   = nb_full(NB_SHAPE(3), 9, NB_OPTS(.dtype = NB_UINT8));
    nb_tensor *f32  = nb_full(NB_SHAPE(1), 1, NB_OPTS());
    nb_tensor *t[3] = {u8, f32, i64};
    NBT_CHECK(nb_save_safetensors("ref.safetensors", (const char *[]){"q\"\\", "b", "z"}, t, 3,
                                  (const char *[]){"z", "a"}, (const char *[]){"1", "tab\there"}, 2) == NB_OK);
    const unsigned char expected_data[] = {7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f, 9, 9, 9};
    NBT_CHECK(file_is("ref.safetensors",
                      "{\"__metadata__\":{\"a\":\"tab\\there\",\"z\":\"1\"},"
                      "\"z\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                      "\"q\\\"\\\\\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[12,15]}} ",
                      expected_data, sizeof expected_data));
    nb_safetensors *f = nb_safetensors_load("ref.safetensors");
    NBT_CHECK(f && strcmp(nb_safetensors_name(f, 2), "q\"\\") == 0);
    NBT_CHECK(f && strcmp(nb_safetensors_metadata(f, "a"), "tab\there") == 0);
    nb_safetensors_free(f);
    nb_free(a), nb_free(b), nb_free(i64), nb_free(u8), nb_free(f32);
    remove("ref.safetensors");
}

static void test_save_errors(void)
{
    nb_tensor  *t     = nb_zeros(NB_SHAPE(2), NB_OPTS());
    nb_tensor  *two[] = {t, t};
    const char *name  = "w";
    NBT_CHECK(nb_save_safetensors(NULL, &name, &t, 1, NULL, NULL, 0) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_save_safetensors: argument 'path' is NULL");
    NBT_CHECK(nb_save_safetensors("x.safetensors", &name, &t, -1, NULL, NULL, 0) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "count -1");
    NBT_CHECK(nb_save_safetensors("x.safetensors", NULL, &t, 1, NULL, NULL, 0) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "argument 'names' is NULL");
    NBT_CHECK(nb_save_safetensors("x.safetensors", &name, &t, 1, NULL, NULL, 2) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "argument 'metadata_keys' is NULL");
    NBT_CHECK(nb_save_safetensors("x.safetensors", (const char *[]){"w", "w"}, two, 2, NULL, NULL, 0) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "name 'w' is given twice");
    NBT_CHECK(nb_save_safetensors("x.safetensors", (const char *[]){"__metadata__"}, &t, 1, NULL, NULL, 0) ==
              NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "'__metadata__' is reserved");
    NBT_CHECK(nb_save_safetensors("x.safetensors", (const char *[]){NULL}, &t, 1, NULL, NULL, 0) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "name 0 is NULL");
    NBT_CHECK(nb_save_safetensors("x.safetensors", (const char *[]){"bad\xff"}, &t, 1, NULL, NULL, 0) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "name 0 is not valid UTF-8");
    NBT_CHECK(nb_save_safetensors("x.safetensors", &name, &t, 1, (const char *[]){"k", "k"}, (const char *[]){"1", "2"},
                                  2) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "metadata key 'k' is given twice");
    NBT_CHECK(nb_save_safetensors("x.safetensors", &name, &t, 1, (const char *[]){"k"}, (const char *[]){NULL}, 1) ==
              NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "metadata value 0 is NULL");
    /* A NULL tensor keeps the error that made it. */
    nb_tensor *bad = nb_reshape(t, NB_SHAPE(3));
    NBT_CHECK(bad == NULL);
    NBT_CHECK(nb_save_safetensors("x.safetensors", &name, &bad, 1, NULL, NULL, 0) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "nb_reshape");
    NBT_CHECK(nb_save_safetensors("x.safetensors", &name, &bad, 1, NULL, NULL, 0) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_save_safetensors: argument 'tensors[i]' is NULL");
    NBT_CHECK(nb_save_safetensors("no/such/dir/x.safetensors", &name, &t, 1, NULL, NULL, 0) == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, "no/such/dir/x.safetensors: cannot open for writing");
    nb_free(t);
    remove("x.safetensors");
}

/* ------------------------------------------------------------------------ */
/* Dtypes other than nabla's own                                             */
/* ------------------------------------------------------------------------ */

static void test_half_files(void)
{
    /* F16: 1, -2, 65504 (largest), 2^-24 (smallest subnormal), 1023 * 2^-24
     * (largest subnormal), 2^-14 (smallest normal), 0.333251953125, inf,
     * -inf, -0, NaN. BF16: 1, 3.140625, -123.5, inf, 2^-133 (subnormal
     * float32), NaN. */
    const uint16_t f16[11] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x3555, 0x7C00, 0xFC00, 0x8000, 0x7E00};
    const uint16_t bf16[6] = {0x3F80, 0x4049, 0xC2F7, 0x7F80, 0x0001, 0x7FC0};
    unsigned char  data[34];
    for (int i = 0; i < 11; i++)
        nbt_store_le(data + 2 * i, f16[i], 2);
    for (int i = 0; i < 6; i++)
        nbt_store_le(data + 22 + 2 * i, bf16[i], 2);
    file_bytes      file = make("{\"h\":{\"dtype\":\"F16\",\"shape\":[11],\"data_offsets\":[0,22]},"
                                     "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[22,34]}}",
                                data, sizeof data);
    nb_safetensors *f    = parse(file);
    NBT_CHECK(f != NULL);
    /* loaded natively (issue 13): the same bits, then their values */
    nb_tensor *h16 = nb_safetensors_get(f, "h");
    NBT_CHECK_TENSOR_IS(h16, NB_FLOAT16, NB_SHAPE(11), f16);
    nb_tensor *h = h16 ? nb_to_dtype(h16, NB_FLOAT32) : NULL;
    NBT_CHECK_TENSOR(h, NB_SHAPE(11), 0, 1.0, -2.0, 65504.0, ldexp(1, -24), 1023 * ldexp(1, -24), ldexp(1, -14),
                     0.333251953125, INFINITY, -INFINITY, 0.0, NAN);
    NBT_CHECK(h && signbit(((float *)nb_data(h))[9]));
    nb_tensor *b16 = nb_safetensors_get(f, "b");
    NBT_CHECK_TENSOR_IS(b16, NB_BFLOAT16, NB_SHAPE(2, 3), bf16);
    nb_tensor *b = b16 ? nb_to_dtype(b16, NB_FLOAT32) : NULL;
    NBT_CHECK_TENSOR(b, NB_SHAPE(2, 3), 0, 1.0, 3.140625, -123.5, INFINITY, ldexp(1, -133), NAN);
    nb_free(h), nb_free(b), nb_free(h16), nb_free(b16);
    nb_safetensors_free(f);

    /* Written by PyTorch (scripts/make_interop_fixture.py): torch's own
     * float16 / bfloat16 values, and what .float() makes of them. */
    f = nb_safetensors_load(NB_TEST_DATA_DIR "/interop/half.safetensors");
    NBT_CHECK(f != NULL);
    const char *pairs[2][2] = {{"f16", "/interop/half_f16.npy"}, {"bf16", "/interop/half_bf16.npy"}};
    for (int i = 0; i < 2 && f; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s%s", NB_TEST_DATA_DIR, pairs[i][1]);
        nb_tensor *got      = nb_safetensors_get(f, pairs[i][0]);
        nb_tensor *expected = nb_load_npy(path);
        nb_tensor *same     = got && expected ? nb_eq(got, expected) : NULL;
        nb_tensor *all      = same ? nb_all(same) : NULL;
        NBT_CHECK(all != NULL && nb_item(all) == 1.0);
        NBT_CHECK(got && nb_numel(got) == 64);
        nb_free(got), nb_free(expected), nb_free(same), nb_free(all);
    }
    nb_safetensors_free(f);
}

static void test_small_integer_dtypes(void)
{
    /* I8 {-128, 5}, I16 {-32768, 300}, U16 {65535}, U32 {4294967295},
     * then U64 and F8 entries, which load but cannot be read. */
    const unsigned char data[] = {0x80, 0x05, 0x00, 0x80, 0x2C, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                  0xFF, 1,    0,    0,    0,    0,    0,    0,    0,    0x38};
    file_bytes          file   = make("{\"i8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                                                 "\"i16\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[2,6]},"
                                                 "\"u16\":{\"dtype\":\"U16\",\"shape\":[],\"data_offsets\":[6,8]},"
                                                 "\"u32\":{\"dtype\":\"U32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                                                 "\"u64\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[12,20]},"
                                                 "\"f8\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[20,21]}}",
                                      data, sizeof data);
    nb_safetensors     *f      = parse(file);
    NBT_CHECK(f != NULL && nb_safetensors_count(f) == 6);
    nb_tensor *t = nb_safetensors_get(f, "i8");
    NBT_CHECK_TENSOR_IS(t, NB_INT8, NB_SHAPE(2), (const int8_t[]){-128, 5});
    nb_free(t);
    t = nb_safetensors_get(f, "i16");
    NBT_CHECK_TENSOR_IS(t, NB_INT16, NB_SHAPE(2), (const int16_t[]){-32768, 300});
    nb_free(t);
    t = nb_safetensors_get(f, "u16");
    NBT_CHECK_TENSOR_IS(t, NB_INT32, NB_SCALAR_SHAPE, (const int32_t[]){65535});
    nb_free(t);
    t = nb_safetensors_get(f, "u32");
    NBT_CHECK_TENSOR_IS(t, NB_INT64, NB_SHAPE(1), (const int64_t[]){4294967295});
    nb_free(t);
    NBT_CHECK(nb_safetensors_get(f, "u64") == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "tensor 'u64' is U64, which nabla cannot hold");
    NBT_CHECK(nb_safetensors_get(f, "f8") == NULL);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "tensor 'f8' is F8_E4M3");
    nb_safetensors_free(f);

    /* BOOL bytes other than 0 and 1 load as true. */
    f = parse(make("{\"b\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}",
                   (const unsigned char[]){0, 2, 255}, 3));
    t = nb_safetensors_get(f, "b");
    NBT_CHECK_TENSOR_IS(t, NB_BOOL, NB_SHAPE(3), (const uint8_t[]){0, 1, 1});
    nb_free(t);
    nb_safetensors_free(f);
}

static void test_half_conversions(void)
{
    /* Every float16 widens and narrows back to itself (NaNs stay NaN and
     * come back quiet); every midpoint between neighbours rounds to the even
     * one, and the floats just beside it to the nearer one. */
    int mismatches = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float    f    = nbi_f16_to_f32((uint16_t)h);
        uint16_t back = nbi_f32_to_f16(f);
        bool     nan  = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
        /* torch's rules: a NaN widens quiet with its payload and narrows
         * to 0x7E00 with its sign */
        if (nan ? !(isnan(f) && back == ((h & 0x8000) | 0x7E00)) : back != h) mismatches++;
        uint32_t magnitude = h & 0x7FFF;
        if (magnitude >= 0x7BFF) continue; /* the last finite one and beyond */
        float    next = nbi_f16_to_f32((uint16_t)(h + 1));
        float    mid  = (f + next) / 2; /* exact: 12 significant bits */
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        if (nbi_f32_to_f16(mid) != even) mismatches++;
        if (nbi_f32_to_f16(nextafterf(mid, 0)) != h && !(h & 0x8000 && magnitude == 0)) mismatches++;
        if (nbi_f32_to_f16(nextafterf(mid, h & 0x8000 ? -INFINITY : INFINITY)) != h + 1) mismatches++;
    }
    NBT_CHECK(mismatches == 0);
    NBT_CHECK(nbi_f32_to_f16(65519.99f) == 0x7BFF); /* below the last midpoint */
    NBT_CHECK(nbi_f32_to_f16(65520.0f) == 0x7C00);  /* the midpoint to "65536" ties to even: inf */
    NBT_CHECK(nbi_f32_to_f16(1e10f) == 0x7C00 && nbi_f32_to_f16(-1e10f) == 0xFC00);
    NBT_CHECK(nbi_f32_to_f16(ldexpf(1, -25)) == 0x0000);                /* tie to even: 0 */
    NBT_CHECK(nbi_f32_to_f16(nextafterf(ldexpf(1, -25), 1)) == 0x0001); /* past the tie */
    NBT_CHECK(nbi_f32_to_f16(-ldexpf(1, -30)) == 0x8000);               /* underflow keeps the sign */
    NBT_CHECK(nbi_f32_to_f16(ldexpf(1023.5f, -24)) == 0x0400);          /* subnormal rounds up to normal */

    mismatches = 0;
    for (uint32_t b = 0; b < 0x10000; b++) {
        float    f    = nbi_bf16_to_f32((uint16_t)b);
        uint16_t back = nbi_f32_to_bf16(f);
        bool     nan  = (b & 0x7F80) == 0x7F80 && (b & 0x7F);
        /* a float32 NaN narrows to 0xFFFF, as torch's .bfloat16() */
        if (nan ? !(isnan(f) && back == 0xFFFF) : back != b) mismatches++;
        if ((b & 0x7FFF) >= 0x7F7F) continue;
        float    next = nbi_bf16_to_f32((uint16_t)(b + 1));
        float    mid  = nbi_bits_to_f32(nbi_f32_to_bits(f) + 0x8000); /* halfway in the bits */
        uint16_t even = (b & 1) ? (uint16_t)(b + 1) : (uint16_t)b;
        if (nbi_f32_to_bf16(mid) != even) mismatches++;
        (void)next;
    }
    NBT_CHECK(mismatches == 0);
    NBT_CHECK(nbi_f32_to_bf16(3.14159265f) == 0x4049);
    NBT_CHECK(nbi_f32_to_bf16(3.4028235e38f) == 0x7F80); /* rounds past the largest bfloat16: inf */
    NBT_CHECK(isnan(nbi_bf16_to_f32(nbi_f32_to_bf16(nbi_bits_to_f32(0x7F800001u))))); /* NaN never becomes inf */
}

/* ------------------------------------------------------------------------ */
/* Files that are odd but valid                                              */
/* ------------------------------------------------------------------------ */

static void test_valid_variants(void)
{
    /* Whitespace everywhere, fields in any order, unknown fields skipped,
     * entries not in data order, a null __metadata__, a header whose length
     * leaves the data unaligned, an empty tensor at the end. */
    const float   values[3] = {1.5f, -2.0f, 8.0f};
    unsigned char data[12];
    memcpy(data, values, sizeof values);
    file_bytes file =
        make(" {\n \"second\" : { \"data_offsets\" : [ 4 , 12 ] , \"extra\": {\"x\": [1, 2.5e3, true, null]},"
             " \"shape\":[2], \"dtype\":\"F32\" },\t\"first\":{\"dtype\":\"F32\",\"shape\":[],"
             "\"data_offsets\":[0,4]}, \"__metadata__\": null, \"empty\": {\"dtype\": \"I64\", "
             "\"shape\": [0, 5], \"data_offsets\": [12, 12]} }\r\n   ",
             data, sizeof data);
    nb_safetensors *f = parse(file);
    NBT_CHECK(f != NULL && nb_safetensors_count(f) == 3);
    NBT_CHECK(f && strcmp(nb_safetensors_name(f, 0), "second") == 0); /* header order */
    nb_tensor *t = nb_safetensors_get(f, "first");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT32, NB_SCALAR_SHAPE, (const float[]){1.5f});
    nb_free(t);
    t = nb_safetensors_get(f, "second");
    NBT_CHECK_TENSOR_IS(t, NB_FLOAT32, NB_SHAPE(2), (const float[]){-2.0f, 8.0f});
    nb_free(t);
    t = nb_safetensors_get(f, "empty");
    NBT_CHECK_TENSOR_IS(t, NB_INT64, NB_SHAPE(0, 5), zeros);
    nb_free(t);
    NBT_CHECK(nb_safetensors_metadata(f, "format") == NULL);
    nb_safetensors_free(f);

    /* Names are UTF-8 after unescaping: "\u00e9\ud83d\ude00" is é and 😀;
     * a key that only differs by its escapes is still the same name. */
    f = parse(
        make("{\"\\u00e9\\ud83d\\ude00\\n\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", "\x07", 1));
    NBT_CHECK(f && strcmp(nb_safetensors_name(f, 0), "\xc3\xa9\xf0\x9f\x98\x80\n") == 0);
    t = nb_safetensors_get(f, "\xc3\xa9\xf0\x9f\x98\x80\n");
    NBT_CHECK_TENSOR_IS(t, NB_UINT8, NB_SHAPE(1), (const uint8_t[]){7});
    nb_free(t);
    nb_safetensors_free(f);
    f = parse(make("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                   "\"\\u0061\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                   zeros, 2));
    NBT_CHECK(f == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, "tensor 'a' appears twice");
}

/* ------------------------------------------------------------------------ */
/* Malformed files                                                           */
/* ------------------------------------------------------------------------ */

#define ENTRY(name, dtype, shape, begin, end)                                                                          \
    "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #begin "," #end "]}"

typedef struct {
    const char *what;
    uint64_t    header_length; /* UINT64_MAX: the header's own */
    const char *header;
    size_t      data_size; /* zero bytes after the header */
    size_t      cut;       /* bytes cut from the end of the file */
    nb_status   status;
    const char *fragment;
} malformed_case;

/* clang-format off */
static const malformed_case malformed[] = {
    {"empty file", UINT64_MAX, "", 0, 8, NB_ERR_IO, "truncated: 0 bytes, fewer than the 8"},
    {"one byte", UINT64_MAX, "", 0, 7, NB_ERR_IO, "truncated: 1 bytes, fewer than the 8"},
    {"short length", UINT64_MAX, "", 0, 3, NB_ERR_IO, "truncated: 5 bytes"},
    {"huge length", UINT64_C(1) << 63, "{}", 0, 0, NB_ERR_IO, "header length 9223372036854775808 is over the limit"},
    {"length just over 100 MB", 100000001, "{}", 0, 0, NB_ERR_IO, "header length 100000001 is over the limit of 100000000"},
    {"length past the file", 100, "{}", 0, 0, NB_ERR_IO, "truncated: the header length is 100 but only 2 bytes follow"},
    {"not JSON", UINT64_MAX, "hello", 0, 0, NB_ERR_IO, "bad header: expected '{', found 'h' at byte 0 of the header"},
    {"not an object", UINT64_MAX, "[1]", 0, 0, NB_ERR_IO, "expected '{', found '['"},
    {"truncated JSON", UINT64_MAX, "{\"a\":{\"dtype\":\"F32\"", 0, 0, NB_ERR_IO, "expected ',' or '}' in an object, found the end of the text at byte 19"},
    {"trailing garbage", UINT64_MAX, "{}  x", 0, 0, NB_ERR_IO, "expected the end of the text, found 'x' at byte 4"},
    {"trailing comma", UINT64_MAX, "{" ENTRY("a", "U8", "[1]", 0, 1) ",}", 1, 0, NB_ERR_IO, "expected a string key, found '}'"},
    {"missing colon", UINT64_MAX, "{\"a\" {}}", 0, 0, NB_ERR_IO, "expected ':' after an object key, found '{' at byte 5"},
    {"unterminated string", UINT64_MAX, "{\"abc", 0, 0, NB_ERR_IO, "unterminated string at byte 1"},
    {"bad escape", UINT64_MAX, "{\"a\\q\":{}}", 0, 0, NB_ERR_IO, "invalid escape '\\' followed by 'q' at byte 3"},
    {"lone surrogate", UINT64_MAX, "{\"\\ud800x\":{}}", 0, 0, NB_ERR_IO, "lone high surrogate \\uD800 at byte 2"},
    {"bad hex", UINT64_MAX, "{\"\\u12g4\":{}}", 0, 0, NB_ERR_IO, "expected 4 hex digits after \\u, found 'g'"},
    {"invalid UTF-8", UINT64_MAX, "{\"\xc3\x28\":{}}", 0, 0, NB_ERR_IO, "invalid UTF-8 in a string at byte 2"},
    {"overlong UTF-8", UINT64_MAX, "{\"\xc0\xaf\":{}}", 0, 0, NB_ERR_IO, "invalid UTF-8"},
    {"control character", UINT64_MAX, "{\"a\tb\":{}}", 0, 0, NB_ERR_IO, "unescaped control character byte 0x09 in a string at byte 3"},
    {"leading zero", UINT64_MAX, "{\"a\":{\"dtype\":\"U8\",\"shape\":[01],\"data_offsets\":[0,1]}}", 1, 0, NB_ERR_IO, "a number with a leading zero"},
    {"fraction in shape", UINT64_MAX, "{" ENTRY("a", "U8", "[2.5]", 0, 2) "}", 2, 0, NB_ERR_IO, "expected an integer, found a fraction or exponent"},
    {"huge integer", UINT64_MAX, "{" ENTRY("a", "U8", "[1]", 0, 99999999999999999999) "}", 1, 0, NB_ERR_IO, "integer out of the int64 range"},
    {"unknown dtype", UINT64_MAX, "{" ENTRY("w", "F33", "[1]", 0, 4) "}", 4, 0, NB_ERR_DTYPE, "tensor 'w' has dtype 'F33', which is not a safetensors dtype"},
    {"lowercase dtype", UINT64_MAX, "{" ENTRY("w", "f32", "[1]", 0, 4) "}", 4, 0, NB_ERR_DTYPE, "dtype 'f32'"},
    {"dtype not a string", UINT64_MAX, "{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, NB_ERR_IO, "expected a string, found '4'"},
    {"negative dim", UINT64_MAX, "{" ENTRY("w", "F32", "[2,-2]", 0, 16) "}", 16, 0, NB_ERR_IO, "tensor 'w' has a negative size -2 in its shape"},
    {"nine dims", UINT64_MAX, "{" ENTRY("w", "U8", "[1,1,1,1,1,1,1,1,1]", 0, 1) "}", 1, 0, NB_ERR_IO, "tensor 'w' has more than 8 dims"},
    {"numel overflow", UINT64_MAX, "{" ENTRY("w", "F32", "[4294967296,4294967296]", 0, 0) "}", 0, 0, NB_ERR_IO, "shape [4294967296, 4294967296] of tensor 'w' is too large"},
    {"end before begin", UINT64_MAX, "{" ENTRY("w", "F32", "[0]", 8, 4) "}", 8, 0, NB_ERR_IO, "data_offsets [8, 4] of tensor 'w' end before they begin"},
    {"out of range", UINT64_MAX, "{" ENTRY("w", "F32", "[100]", 0, 400) "}", 16, 0, NB_ERR_IO, "data_offsets [0, 400] of tensor 'w' are out of range (the data has 16 bytes)"},
    {"negative offset", UINT64_MAX, "{" ENTRY("w", "F32", "[1]", -4, 0) "}", 0, 0, NB_ERR_IO, "'data_offsets' of tensor 'w' has a negative offset -4"},
    {"three offsets", UINT64_MAX, "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 1, 0, NB_ERR_IO, "has more than 2 numbers"},
    {"one offset", UINT64_MAX, "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1]}}", 1, 0, NB_ERR_IO, "'data_offsets' of tensor 'w' must hold 2 numbers"},
    {"wrong size", UINT64_MAX, "{" ENTRY("w", "F32", "[2,2]", 0, 12) "}", 12, 0, NB_ERR_IO, "tensor 'w' has 12 bytes at data_offsets [0, 12], but shape [2, 2] of F32 needs 16"},
    {"overlap", UINT64_MAX, "{" ENTRY("a", "F32", "[2]", 0, 8) "," ENTRY("b", "F32", "[2]", 4, 12) "}", 12, 0, NB_ERR_IO, "tensors 'a' [0, 8) and 'b' [4, 12) overlap"},
    {"same range twice", UINT64_MAX, "{" ENTRY("a", "F32", "[2]", 0, 8) "," ENTRY("b", "F32", "[2]", 0, 8) "}", 8, 0, NB_ERR_IO, "overlap"},
    {"gap", UINT64_MAX, "{" ENTRY("a", "F32", "[2]", 0, 8) "," ENTRY("b", "F32", "[2]", 12, 20) "}", 20, 0, NB_ERR_IO, "bytes [8, 12) of the data before tensor 'b' belong to no tensor"},
    {"data not from 0", UINT64_MAX, "{" ENTRY("a", "F32", "[1]", 4, 8) "}", 8, 0, NB_ERR_IO, "bytes [0, 4) of the data before tensor 'a'"},
    {"bytes after the last", UINT64_MAX, "{" ENTRY("a", "F32", "[2]", 0, 8) "}", 12, 0, NB_ERR_IO, "bytes [8, 12) at the end of the data belong to no tensor"},
    {"truncated data", UINT64_MAX, "{" ENTRY("a", "F32", "[4]", 0, 16) "}", 16, 6, NB_ERR_IO, "data_offsets [0, 16] of tensor 'a' are out of range (the data has 10 bytes)"},
    {"duplicate names", UINT64_MAX, "{" ENTRY("a", "F32", "[1]", 0, 4) "," ENTRY("a", "F32", "[1]", 4, 8) "}", 8, 0, NB_ERR_IO, "tensor 'a' appears twice in the header"},
    {"missing field", UINT64_MAX, "{\"w\":{\"dtype\":\"U8\",\"shape\":[1]}}", 0, 0, NB_ERR_IO, "tensor 'w' has no 'data_offsets'"},
    {"field twice", UINT64_MAX, "{\"w\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, 0, NB_ERR_IO, "tensor 'w' has 'dtype' twice"},
    {"entry not an object", UINT64_MAX, "{\"w\":5}", 0, 0, NB_ERR_IO, "the entry of tensor 'w' is not an object"},
    {"NUL in a name", UINT64_MAX, "{\"a\\u0000b\":{}}", 0, 0, NB_ERR_IO, "tensor name 'a\\x00b' contains a NUL character"},
    {"metadata twice", UINT64_MAX, "{\"__metadata__\":{},\"__metadata__\":{}}", 0, 0, NB_ERR_IO, "'__metadata__' appears twice"},
    {"metadata not an object", UINT64_MAX, "{\"__metadata__\":[]}", 0, 0, NB_ERR_IO, "'__metadata__' is not an object"},
    {"metadata value not a string", UINT64_MAX, "{\"__metadata__\":{\"epoch\":3}}", 0, 0, NB_ERR_IO, "the value of '__metadata__' key 'epoch' is not a string"},
    {"metadata key twice", UINT64_MAX, "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, 0, NB_ERR_IO, "'__metadata__' key 'k' appears twice"},
};
/* clang-format on */

static void test_malformed_files(void)
{
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        const malformed_case *c    = &malformed[i];
        file_bytes            file = make_with_length(c->header_length, c->header, zeros, c->data_size);
        file.size -= c->cut;
        int64_t         live = nb_live_tensors();
        nb_safetensors *f    = parse(file);
        nbt_checks++;
        if (f != NULL || nb_last_status() != c->status || strstr(nb_last_error(), c->fragment) == NULL ||
            strstr(nb_last_error(), "nb_safetensors_load: test.safetensors: ") != nb_last_error()) {
            nbt_failures++;
            fprintf(stderr, "malformed case '%s': expected %s containing \"%s\", got %s \"%s\"\n", c->what,
                    nb_status_name(c->status), c->fragment, nb_status_name(nb_last_status()), nb_last_error());
        }
        NBT_CHECK(nb_live_tensors() == live);
        nb_safetensors_free(f);
        nb_clear_error();
    }
    NBT_CHECK(sizeof malformed / sizeof malformed[0] >= 25);

    /* Nesting past the reader's limit, in a field that would be skipped. */
    char   deep[256] = "{\"a\":{\"x\":";
    size_t at        = strlen(deep);
    for (int i = 0; i < 70; i++)
        deep[at++] = '[';
    for (int i = 0; i < 70; i++)
        deep[at++] = ']';
    memcpy(deep + at, "}}", 3);
    nb_safetensors *f = parse(make(deep, NULL, 0));
    NBT_CHECK(f == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, "bad header: nesting deeper than 64 levels at byte 72 of the header");

    /* The same through a real file, and the accessors given the NULL a
     * failed load returns keep its error. */
    file_bytes bad = make("{" ENTRY("w", "F32", "[2,2]", 0, 12) "}", zeros, 12);
    NBT_CHECK(nbt_write_file("bad.safetensors", bad.bytes, bad.size));
    f = nb_safetensors_load("bad.safetensors");
    NBT_CHECK(f == NULL);
    NBT_CHECK(nb_safetensors_count(f) == -1);
    NBT_CHECK(nb_safetensors_get(f, "w") == NULL);
    NBT_CHECK(nb_safetensors_name(f, 0) == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_safetensors_load: bad.safetensors: tensor 'w' has 12 bytes");
    NBT_CHECK(nb_safetensors_count(NULL) == -1);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_safetensors_count: argument 'f' is NULL");
    NBT_CHECK(nb_safetensors_load("no-such-file.safetensors") == NULL);
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_safetensors_load: no-such-file.safetensors: cannot open");
    NBT_CHECK(nb_safetensors_load(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "argument 'path' is NULL");
    nb_safetensors_free(NULL);
    remove("bad.safetensors");
}

/* ------------------------------------------------------------------------ */
/* JSON reader and writer                                                    */
/* ------------------------------------------------------------------------ */

static void test_json_reader(void)
{
    const char *text = " {\"s\": \"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\", \"n\": [-9223372036854775808, "
                       "9223372036854775807, 0, -0.5e-3, 1E+2], \"b\": [true, false, null], \"o\": {}} ";
    nbi_json_reader r;
    nbi_json_reader_init(&r, text, strlen(text), 8);
    nbi_json_string key = {0}, s = {0};
    int64_t         i64[3];
    double          d[2];
    bool            b[2];
    NBT_CHECK(nbi_json_peek(&r) == NBI_JSON_OBJECT);
    NBT_CHECK(nbi_json_object_begin(&r));
    NBT_CHECK(nbi_json_object_next(&r, &key) && nbi_json_string_is(&key, "s"));
    NBT_CHECK(nbi_json_read_string(&r, &s));
    NBT_CHECK(s.length == 15 && memcmp(s.chars, "a\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80", 15) == 0);
    NBT_CHECK(nbi_json_object_next(&r, &key) && nbi_json_string_is(&key, "n"));
    NBT_CHECK(nbi_json_array_begin(&r));
    for (int i = 0; i < 3; i++)
        NBT_CHECK(nbi_json_array_next(&r) && nbi_json_read_int(&r, &i64[i]));
    NBT_CHECK(i64[0] == INT64_MIN && i64[1] == INT64_MAX && i64[2] == 0);
    NBT_CHECK(nbi_json_array_next(&r) && nbi_json_peek(&r) == NBI_JSON_NUMBER && nbi_json_read_number(&r, &d[0]));
    NBT_CHECK(nbi_json_array_next(&r) && nbi_json_read_number(&r, &d[1]));
    NBT_CHECK(d[0] == -0.5e-3 && d[1] == 100.0);
    NBT_CHECK(!nbi_json_array_next(&r) && !r.failed);
    NBT_CHECK(nbi_json_object_next(&r, &key) && nbi_json_string_is(&key, "b"));
    NBT_CHECK(nbi_json_array_begin(&r) && nbi_json_array_next(&r) && nbi_json_read_bool(&r, &b[0]));
    NBT_CHECK(nbi_json_array_next(&r) && nbi_json_read_bool(&r, &b[1]) && b[0] && !b[1]);
    NBT_CHECK(nbi_json_array_next(&r) && nbi_json_peek(&r) == NBI_JSON_NULL && nbi_json_read_null(&r));
    NBT_CHECK(!nbi_json_array_next(&r));
    NBT_CHECK(nbi_json_object_next(&r, &key) && nbi_json_string_is(&key, "o") && nbi_json_skip(&r));
    NBT_CHECK(!nbi_json_object_next(&r, &key) && nbi_json_end(&r));
    nbi_json_string_free(&key);
    nbi_json_string_free(&s);

    /* Errors: each stops the reader and names its byte. */
    static const struct {
        const char *text;
        const char *error;
    } bad[] = {
        {"[1.]", "expected a digit after '.', found ']' at byte 3"},
        {"[1e]", "expected a digit in the exponent"},
        {"[-]", "expected a number, found ']' at byte 2"},
        {"[tru]", "expected true or false"},
        {"[nul]", "expected null"},
        {"[1 2]", "expected ',' or ']' in an array, found '2' at byte 3"},
        {"[\"\\udc00\"]", "lone low surrogate \\uDC00 at byte 2"},
        {"[\"\\ud800\\u0041\"]", "high surrogate \\uD800 not followed by a low one"},
        {"[\"\xed\xa0\x80\"]", "invalid UTF-8"},     /* a surrogate encoded in UTF-8 */
        {"[\"\xf4\x90\x80\x80\"]", "invalid UTF-8"}, /* past U+10FFFF */
        {"[[[[[[[[[]]]]]]]]]", "nesting deeper than 8 levels at byte 8"},
        {"[,]", "expected a value, found ','"},
        {"", "expected a value, found the end of the text at byte 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nbi_json_reader_init(&r, bad[i].text, strlen(bad[i].text), 8);
        NBT_CHECK(!nbi_json_skip(&r) || !nbi_json_end(&r));
        nbt_checks++;
        if (!r.failed || strstr(r.error, bad[i].error) == NULL) {
            nbt_failures++;
            fprintf(stderr, "json '%s': expected \"%s\", got \"%s\"\n", bad[i].text, bad[i].error, r.error);
        }
        NBT_CHECK(!nbi_json_skip(&r)); /* stays stopped */
    }
    const char *too_large[] = {"9223372036854775808", "-9223372036854775809", "99999999999999999999999"};
    for (int i = 0; i < 3; i++) {
        int64_t value;
        nbi_json_reader_init(&r, too_large[i], strlen(too_large[i]), 8);
        NBT_CHECK(!nbi_json_read_int(&r, &value) && strcmp(r.error, "integer out of the int64 range at byte 0") == 0);
        nbi_json_reader_init(&r, too_large[i], strlen(too_large[i]), 8);
        NBT_CHECK(nbi_json_skip(&r) && nbi_json_end(&r)); /* valid JSON all the same */
    }
    NBT_CHECK(nbi_utf8_is_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
    NBT_CHECK(!nbi_utf8_is_valid("\xe2\x82", 2)); /* cut short */
}

static void test_json_writer(void)
{
    /* Every byte 1..255 that forms valid UTF-8 survives write then read. */
    const char      original[] = "plain \"quoted\" back\\slash \x01\x1f\n\r\t\b\f\x7f caf\xc3\xa9";
    nbi_json_writer w          = {0};
    nbi_json_write_raw(&w, "[", 1);
    nbi_json_write_string(&w, original, strlen(original));
    nbi_json_write_raw(&w, ",", 1);
    nbi_json_write_int(&w, INT64_MIN);
    nbi_json_write_raw(&w, "]", 1);
    NBT_CHECK(!w.failed);
    NBT_CHECK(memchr(w.data, '\x01', w.length) == NULL && memchr(w.data, '\n', w.length) == NULL);
    nbi_json_reader r;
    nbi_json_reader_init(&r, w.data, w.length, 4);
    nbi_json_string s = {0};
    int64_t         v = 0;
    NBT_CHECK(nbi_json_array_begin(&r) && nbi_json_array_next(&r) && nbi_json_read_string(&r, &s));
    NBT_CHECK(s.length == strlen(original) && memcmp(s.chars, original, s.length) == 0);
    NBT_CHECK(nbi_json_array_next(&r) && nbi_json_read_int(&r, &v) && v == INT64_MIN);
    NBT_CHECK(!nbi_json_array_next(&r) && nbi_json_end(&r));
    nbi_json_string_free(&s);
    nbi_json_writer_free(&w);
}

/* ------------------------------------------------------------------------ */
/* Modules                                                                   */
/* ------------------------------------------------------------------------ */

/* Sequential(Linear(3, 4), ReLU, BatchNorm1d(4), Linear(4, 2, bias)). */
static nb_module *small_model(bool last_bias, int64_t hidden)
{
    nb_module *layers[4] = {nb_linear_new(3, hidden, true), nb_relu_new(), nb_batch_norm1d_new(hidden, NB_NORM_OPTS()),
                            nb_linear_new(hidden, 2, last_bias)};
    return nb_sequential_new(layers, 4);
}

/* Every parameter and buffer of a equals b's (same names, same values). */
static bool same_state(nb_module *a, nb_module *b)
{
    nb_tensor  *ta[16], *tb[16];
    const char *na[16], *nb_[16];
    int64_t     n = nb_module_parameters(a, ta, na, 16);
    if (n != nb_module_parameters(b, tb, nb_, 16)) return false;
    int64_t m = nb_module_buffers(a, ta + n, na + n, 16 - n);
    if (m != nb_module_buffers(b, tb + n, nb_ + n, 16 - n)) return false;
    bool same = true;
    for (int64_t i = 0; i < n + m && same; i++) {
        nb_tensor *eq  = nb_eq(ta[i], tb[i]);
        nb_tensor *all = eq ? nb_all(eq) : NULL;
        same           = strcmp(na[i], nb_[i]) == 0 && all && nb_item(all) == 1.0;
        nb_free(eq);
        nb_free(all);
    }
    return same;
}

static void test_module_save_load(void)
{
    nb_manual_seed(1);
    nb_module *a = small_model(true, 4);
    nb_manual_seed(2);
    nb_module *b = small_model(true, 4);
    /* Give a's batch norm some state, then copy a into b through a file. */
    nb_module_train(a, true);
    nb_tensor *x = nb_randn(NB_SHAPE(5, 3), NB_OPTS());
    nb_tensor *y = nb_module_forward(a, x);
    nb_free(y);
    NBT_CHECK(!same_state(a, b));
    nb_tensor *weight_before = nb_module_tensor(b, "0.weight");
    NBT_CHECK(nb_module_save(a, "module.safetensors") == NB_OK);
    NBT_CHECK(nb_module_load(b, "module.safetensors") == NB_OK);
    NBT_CHECK(same_state(a, b));
    /* Values were written into b's own tensors: handles stay valid, and
     * parameters are still leaves that require grad. */
    NBT_CHECK(nb_module_tensor(b, "0.weight") == weight_before);
    NBT_CHECK(nb_requires_grad(weight_before) && nb_is_leaf(weight_before));
    nb_tensor *tracked = nb_module_tensor(b, "2.num_batches_tracked");
    NBT_CHECK(tracked && nb_dtype_of(tracked) == NB_INT64 && nb_item(tracked) == 1.0);

    nb_safetensors *f = nb_safetensors_load("module.safetensors");
    NBT_CHECK(f && nb_safetensors_count(f) == 9);
    nb_safetensors_free(f);

    /* The file as F64 and F16 also loads into float32 parameters. */
    nb_tensor  *tensors[9];
    const char *names[9];
    int64_t     n = nb_module_parameters(a, tensors, names, 9);
    n += nb_module_buffers(a, tensors + n, names + n, 9 - n);
    nb_tensor *as_f64[9];
    for (int64_t i = 0; i < n; i++)
        as_f64[i] = nb_to_dtype(tensors[i], nb_dtype_of(tensors[i]) == NB_FLOAT32 ? NB_FLOAT64 : NB_INT64);
    NBT_CHECK(nb_save_safetensors("module64.safetensors", names, as_f64, n, NULL, NULL, 0) == NB_OK);
    nb_manual_seed(3);
    nb_module *c = small_model(true, 4);
    NBT_CHECK(nb_module_load(c, "module64.safetensors") == NB_OK);
    NBT_CHECK(same_state(a, c));
    for (int64_t i = 0; i < n; i++)
        nb_free(as_f64[i]);

    nb_free(x);
    nb_module_free(a);
    nb_module_free(b);
    nb_module_free(c);
    remove("module.safetensors");
    remove("module64.safetensors");
}

static void test_module_load_errors(void)
{
    nb_module *with_bias    = small_model(true, 4);
    nb_module *without_bias = small_model(false, 4);
    nb_module *wider        = small_model(true, 5);
    NBT_CHECK(nb_module_save(with_bias, "bias.safetensors") == NB_OK);
    NBT_CHECK(nb_module_save(without_bias, "nobias.safetensors") == NB_OK);

    NBT_CHECK(nb_module_load(without_bias, "bias.safetensors") == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_load: bias.safetensors: unexpected key '3.bias'");
    NBT_CHECK(nb_module_load(with_bias, "nobias.safetensors") == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_load: nobias.safetensors: missing key '3.bias'");

    /* A shape mismatch late in the file leaves every tensor as it was,
     * also those checked before it. */
    nb_tensor *w      = nb_module_tensor(wider, "0.weight");
    nb_tensor *before = nb_clone(w);
    NBT_CHECK(nb_module_load(wider, "bias.safetensors") == NB_ERR_SHAPE);
    NBT_CHECK_ERROR(NB_ERR_SHAPE, "tensor '0.weight' has shape [4, 3] in the file but [5, 3] in the module");
    nb_tensor *eq  = nb_eq(w, before);
    nb_tensor *all = nb_all(eq);
    NBT_CHECK(nb_item(all) == 1.0);
    nb_free(eq), nb_free(all), nb_free(before);

    /* Dtype of another kind: integer data for a float parameter. */
    nb_tensor  *tensors[9];
    const char *names[9];
    int64_t     n = nb_module_parameters(with_bias, tensors, names, 9);
    n += nb_module_buffers(with_bias, tensors + n, names + n, 9 - n);
    nb_tensor *saved[9];
    for (int64_t i = 0; i < n; i++)
        saved[i] = strcmp(names[i], "3.bias") == 0 ? nb_to_dtype(tensors[i], NB_INT32) : nb_clone(tensors[i]);
    NBT_CHECK(nb_save_safetensors("int.safetensors", names, saved, n, NULL, NULL, 0) == NB_OK);
    NBT_CHECK(nb_module_load(with_bias, "int.safetensors") == NB_ERR_DTYPE);
    NBT_CHECK_ERROR(NB_ERR_DTYPE, "tensor '3.bias' is int32 in the file but float32 in the module");
    for (int64_t i = 0; i < n; i++)
        nb_free(saved[i]);

    /* Files that are not there or not valid, and NULL arguments. */
    NBT_CHECK(nb_module_load(with_bias, "missing.safetensors") == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, "missing.safetensors: cannot open");
    NBT_CHECK(nb_module_load(NULL, "bias.safetensors") == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_load: argument 'm' is NULL");
    NBT_CHECK(nb_module_load(with_bias, NULL) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_load: argument 'path' is NULL");
    NBT_CHECK(nb_module_save(NULL, "x.safetensors") == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_module_save: argument 'm' is NULL");
    NBT_CHECK(nb_module_save(with_bias, "no/such/dir/m.safetensors") == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, "cannot open for writing");

    nb_module_free(with_bias);
    nb_module_free(without_bias);
    nb_module_free(wider);
    remove("bias.safetensors");
    remove("nobias.safetensors");
    remove("int.safetensors");
}

/* ------------------------------------------------------------------------ */
/* Writing F16 / BF16                                                        */
/* ------------------------------------------------------------------------ */

/* The first n 16-bit values of the data of the file at path (which has one
 * 16-bit tensor, first in the data). */
static int data_u16_are(const char *path, const uint16_t *expected, int n)
{
    size_t         size;
    unsigned char *got           = nbt_read_file(path, &size);
    int            ok            = got != NULL && size >= 8;
    uint64_t       header_length = 0;
    for (int i = 0; ok && i < 8; i++)
        header_length |= (uint64_t)got[i] << (8 * i);
    ok = ok && size >= 8 + header_length + 2 * (uint64_t)n;
    for (int i = 0; ok && i < n; i++) {
        const unsigned char *p     = got + 8 + header_length + 2 * i;
        uint16_t             value = (uint16_t)(p[0] | p[1] << 8);
        if (value != expected[i]) {
            fprintf(stderr, "  value %d is 0x%04x, expected 0x%04x\n", i, value, expected[i]);
            ok = 0;
        }
    }
    free(got);
    return ok;
}

/* The file's header mentions this text (e.g. "\"dtype\":\"F16\""). */
static int header_has(const char *path, const char *text)
{
    size_t         size;
    unsigned char *got = nbt_read_file(path, &size);
    int            ok  = 0;
    if (got != NULL && size >= 8) {
        char *header = calloc(1, size - 8 + 1);
        if (header) memcpy(header, got + 8, size - 8);
        ok = header && strstr(header, text) != NULL;
        free(header);
    }
    free(got);
    return ok;
}

/* The tensor as loaded, widened to float32 when it is F16 / BF16 (which
 * load as float16 / bfloat16: checked here first). */
static nb_tensor *load_back(const char *path, const char *name)
{
    nb_safetensors *f = nb_safetensors_load(path);
    nb_tensor      *t = f ? nb_safetensors_get(f, name) : NULL;
    nb_safetensors_free(f);
    if (t == NULL || (nb_dtype_of(t) != NB_FLOAT16 && nb_dtype_of(t) != NB_BFLOAT16)) return t;
    nb_tensor *wide = nb_to_dtype(t, NB_FLOAT32);
    nb_free(t);
    return wide;
}

static void test_save_half(void)
{
    const char *name = "x";
    /* F16 from float32: exact values (1, -2.5, 0.09375, 65504, 2^-24, -0);
     * ties to even (1 + 2^-11 -> 1, 1 + 3 * 2^-11 -> 1 + 2^-9); just past a
     * tie (1 + 2^-11 + 2^-20 -> 1 + 2^-10); 65519 -> 65504 but 65520 (the
     * tie with 65536) -> inf; 1e6 -> inf; -1e6 -> -inf; 2^-25 (a tie with
     * 0) -> 0; NaN. Values and bits from numpy's astype(float16). */
    const float    f32[15] = {1.0f,
                              -2.5f,
                              0.09375f,
                              65504.0f,
                              0x1p-24f,
                              -0.0f,
                              1.0f + 0x1p-11f,
                              1.0f + 3 * 0x1p-11f,
                              1.0f + 0x1p-11f + 0x1p-20f,
                              65519.0f,
                              65520.0f,
                              1e6f,
                              -1e6f,
                              0x1p-25f,
                              NAN};
    const uint16_t f16[15] = {0x3C00, 0xC100, 0x2E00, 0x7BFF, 0x0001, 0x8000, 0x3C00, 0x3C02,
                              0x3C01, 0x7BFF, 0x7C00, 0x7C00, 0xFC00, 0x0000, 0x7E00};
    nb_tensor     *t       = nb_from_data(f32, NB_SHAPE(3, 5), NB_OPTS());
    NBT_CHECK(nb_save_safetensors_half("half.safetensors", &name, &t, 1, NULL, NULL, 0, false) == NB_OK);
    NBT_CHECK(header_has("half.safetensors", "{\"x\":{\"dtype\":\"F16\",\"shape\":[3,5],\"data_offsets\":[0,30]}}"));
    NBT_CHECK(data_u16_are("half.safetensors", f16, 15));
    nb_tensor *g = load_back("half.safetensors", "x");
    NBT_CHECK(g && nb_dtype_of(g) == NB_FLOAT32);
    NBT_CHECK_TENSOR(g, NB_SHAPE(3, 5), 0, 1.0, -2.5, 0.09375, 65504.0, ldexp(1, -24), 0.0, 1.0, 1.001953125,
                     1.0009765625, 65504.0, INFINITY, INFINITY, -INFINITY, 0.0, NAN);
    NBT_CHECK(g && signbit(((float *)nb_data(g))[5]));
    nb_free(g), nb_free(t);

    /* BF16 from float32: exact (1, -2.5, 0.09375, 3.140625); ties to even
     * (1 + 2^-8 -> 1, 1 + 3 * 2^-8 -> 1 + 2^-6); 65504 -> 65536 (BF16 has
     * float32's range); FLT_MAX and -3.4e38 round to +-inf; NaN. Bits from
     * torch's .bfloat16() (whose NaN is 0xFFFF; any NaN will do). */
    const float    b32[10] = {1.0f,     -2.5f,   0.09375f, 3.140625f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f,
                              65504.0f, FLT_MAX, -3.4e38f, NAN};
    const uint16_t bf16[9] = {0x3F80, 0xC020, 0x3DC0, 0x4049, 0x3F80, 0x3F82, 0x4780, 0x7F80, 0xFF80};
    t                      = nb_from_data(b32, NB_SHAPE(10), NB_OPTS());
    NBT_CHECK(nb_save_safetensors_half("half.safetensors", &name, &t, 1, NULL, NULL, 0, true) == NB_OK);
    NBT_CHECK(header_has("half.safetensors", "{\"x\":{\"dtype\":\"BF16\",\"shape\":[10],\"data_offsets\":[0,20]}}"));
    NBT_CHECK(data_u16_are("half.safetensors", bf16, 9));
    g = load_back("half.safetensors", "x");
    NBT_CHECK(g && nb_dtype_of(g) == NB_FLOAT32);
    NBT_CHECK_TENSOR(g, NB_SHAPE(10), 0, 1.0, -2.5, 0.09375, 3.140625, 1.0, 1.015625, 65536.0, INFINITY, -INFINITY,
                     NAN);
    nb_free(g), nb_free(t);

    /* float64 is rounded once, from the double itself (as numpy's
     * astype(float16)): 1 + 2^-11 + 2^-40 is past the tie, so 1 + 2^-10,
     * where rounding to float32 first would make it a tie and give 1. */
    const double f64[5] = {1.0 + 0x1p-11 + 0x1p-40, 0.1, 1e300, -1e300, 0x1p-25 + 0x1p-60};
    t                   = nb_from_data(f64, NB_SHAPE(5), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_save_safetensors_half("half.safetensors", &name, &t, 1, NULL, NULL, 0, false) == NB_OK);
    g = load_back("half.safetensors", "x");
    NBT_CHECK(g && nb_dtype_of(g) == NB_FLOAT32);
    NBT_CHECK_TENSOR(g, NB_SHAPE(5), 0, 1.0009765625, 0.0999755859375, INFINITY, -INFINITY, ldexp(1, -24));
    nb_free(g), nb_free(t);
    const double d64[4] = {1.0 + 0x1p-8 + 0x1p-40, 0.1, 1e300, -1e-300};
    t                   = nb_from_data(d64, NB_SHAPE(2, 2), NB_OPTS(.dtype = NB_FLOAT64));
    NBT_CHECK(nb_save_safetensors_half("half.safetensors", &name, &t, 1, NULL, NULL, 0, true) == NB_OK);
    g = load_back("half.safetensors", "x");
    NBT_CHECK_TENSOR(g, NB_SHAPE(2, 2), 0, 1.0078125, 0.10009765625, INFINITY, 0.0);
    NBT_CHECK(g && signbit(((float *)nb_data(g))[3]));
    nb_free(g), nb_free(t);
    remove("half.safetensors");
}

static void test_save_half_layout(void)
{
    /* Mixed with int64: I64 stays I64 and comes first (widest); the 16-bit
     * data follows at offset 8. Exact bytes, header padded to 8. */
    const float values[2] = {1.0f, -2.5f};
    nb_tensor  *w         = nb_from_data(values, NB_SHAPE(2), NB_OPTS());
    nb_tensor  *n         = nb_full(NB_SHAPE(1), 7, NB_OPTS(.dtype = NB_INT64));
    nb_tensor  *t[2]      = {w, n};
    const char *names[2]  = {"w", "n"};
    NBT_CHECK(nb_save_safetensors_half("mixed.safetensors", names, t, 2, NULL, NULL, 0, false) == NB_OK);
    const unsigned char f16_data[] = {7, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x3C, 0x00, 0xC1};
    NBT_CHECK(file_is("mixed.safetensors",
                      "{\"n\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                      "\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]}}    ",
                      f16_data, sizeof f16_data));
    NBT_CHECK(nb_save_safetensors_half("mixed.safetensors", names, t, 2, (const char *[]){"format"},
                                       (const char *[]){"pt"}, 1, true) == NB_OK);
    const unsigned char bf16_data[] = {7, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3F, 0x20, 0xC0};
    NBT_CHECK(file_is("mixed.safetensors",
                      "{\"__metadata__\":{\"format\":\"pt\"},"
                      "\"n\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                      "\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]}}    ",
                      bf16_data, sizeof bf16_data));
    nb_free(w), nb_free(n);

    /* Every dtype: order I64, I32, then the 16-bit ones by name, U8, BOOL
     * (the reference ranks I32 above BF16 / F16). Views are written in
     * row-major order; 0-d and empty tensors work. */
    const int64_t i64[2] = {INT64_MIN, 5};
    const int32_t i32[3] = {-7, 0, INT32_MAX};
    const uint8_t u8[2]  = {0, 255};
    const uint8_t b8[2]  = {1, 0};
    nb_tensor    *base   = nb_arange(0, 6, 1, NB_OPTS(.dtype = NB_FLOAT64));
    nb_tensor    *matrix = nb_reshape(base, NB_SHAPE(2, 3));
    nb_tensor    *all[8] = {
           nb_from_data(u8, NB_SHAPE(2), NB_OPTS(.dtype = NB_UINT8)),
           nb_from_data(b8, NB_SHAPE(2), NB_OPTS(.dtype = NB_BOOL)),
           nb_transpose(matrix, 0, 1), /* (3, 2) float64, not contiguous */
           nb_full(NB_SCALAR_SHAPE, 0.5, NB_OPTS()),
           nb_zeros(NB_SHAPE(0, 4), NB_OPTS()),
           nb_from_data(i32, NB_SHAPE(3), NB_OPTS(.dtype = NB_INT32)),
           nb_from_data(i64, NB_SHAPE(2), NB_OPTS(.dtype = NB_INT64)),
           nb_slice(matrix, 1, 0, NB_END, 2), /* (2, 2) columns 0, 2 */
    };
    const char *all_names[8] = {"u8", "bool", "transposed", "scalar", "empty", "i32", "i64", "stepped"};
    NBT_CHECK(nb_save_safetensors_half("mixed.safetensors", all_names, all, 8, NULL, NULL, 0, true) == NB_OK);
    nb_safetensors *f = nb_safetensors_load("mixed.safetensors");
    NBT_CHECK(f != NULL && nb_safetensors_count(f) == 8);
    const char *order[8] = {"i64", "i32", "empty", "scalar", "stepped", "transposed", "u8", "bool"};
    for (int i = 0; f && i < 8; i++)
        NBT_CHECK(nb_safetensors_name(f, i) && strcmp(nb_safetensors_name(f, i), order[i]) == 0);
    nb_tensor *g = nb_safetensors_get(f, "i64");
    NBT_CHECK_TENSOR_IS(g, NB_INT64, NB_SHAPE(2), i64);
    nb_free(g);
    g = nb_safetensors_get(f, "i32");
    NBT_CHECK_TENSOR_IS(g, NB_INT32, NB_SHAPE(3), i32);
    nb_free(g);
    g = nb_safetensors_get(f, "u8");
    NBT_CHECK_TENSOR_IS(g, NB_UINT8, NB_SHAPE(2), u8);
    nb_free(g);
    g = nb_safetensors_get(f, "bool");
    NBT_CHECK_TENSOR_IS(g, NB_BOOL, NB_SHAPE(2), b8);
    nb_free(g);
    nb_safetensors_free(f);
    g = load_back("mixed.safetensors", "transposed");
    NBT_CHECK(g && nb_dtype_of(g) == NB_FLOAT32);
    NBT_CHECK_TENSOR(g, NB_SHAPE(3, 2), 0, 0, 3, 1, 4, 2, 5);
    nb_free(g);
    g = load_back("mixed.safetensors", "stepped");
    NBT_CHECK_TENSOR(g, NB_SHAPE(2, 2), 0, 0, 2, 3, 5);
    nb_free(g);
    g = load_back("mixed.safetensors", "scalar");
    NBT_CHECK_TENSOR(g, NB_SCALAR_SHAPE, 0, 0.5);
    nb_free(g);
    g = load_back("mixed.safetensors", "empty");
    NBT_CHECK(g && nb_dtype_of(g) == NB_FLOAT32 && nb_numel(g) == 0 && nb_ndim(g) == 2);
    nb_free(g);
    NBT_CHECK(header_has("mixed.safetensors", "\"i32\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[16,28]},"
                                              "\"empty\":{\"dtype\":\"BF16\",\"shape\":[0,4],\"data_offsets\":[28,28]},"
                                              "\"scalar\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[28,30]}"));
    for (int i = 0; i < 8; i++)
        nb_free(all[i]);
    nb_free(base), nb_free(matrix);

    /* A larger tensor, written in several chunks. */
    nb_tensor *big = nb_arange(0, 20000, 1, NB_OPTS());
    NBT_CHECK(nb_save_safetensors_half("mixed.safetensors", (const char *[]){"big"}, &big, 1, NULL, NULL, 0, true) ==
              NB_OK);
    g = load_back("mixed.safetensors", "big");
    /* BF16 keeps 8 significant bits: compare with the same rounding done
     * here (integers < 2^24 are exact floats). */
    int same = g != NULL && nb_numel(g) == 20000;
    for (int i = 0; same && i < 20000; i++)
        same = ((const float *)nb_data(g))[i] == nbi_bf16_to_f32(nbi_f32_to_bf16((float)i));
    NBT_CHECK(same);
    nb_free(g), nb_free(big);
    remove("mixed.safetensors");
}

static void test_save_half_errors(void)
{
    nb_tensor  *t     = nb_zeros(NB_SHAPE(2), NB_OPTS());
    nb_tensor  *two[] = {t, t};
    const char *name  = "w";
    NBT_CHECK(nb_save_safetensors_half(NULL, &name, &t, 1, NULL, NULL, 0, false) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_save_safetensors_half: argument 'path' is NULL");
    NBT_CHECK(nb_save_safetensors_half("x.safetensors", &name, &t, -1, NULL, NULL, 0, true) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_save_safetensors_half: x.safetensors: count -1");
    NBT_CHECK(nb_save_safetensors_half("x.safetensors", &name, NULL, 1, NULL, NULL, 0, false) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "argument 'tensors' is NULL");
    NBT_CHECK(nb_save_safetensors_half("x.safetensors", &name, &t, 1, (const char *[]){"k"}, NULL, 1, false) ==
              NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "argument 'metadata_values' is NULL");
    NBT_CHECK(nb_save_safetensors_half("x.safetensors", (const char *[]){"w", "w"}, two, 2, NULL, NULL, 0, false) ==
              NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_save_safetensors_half: x.safetensors: name 'w' is given twice");
    NBT_CHECK(nb_save_safetensors_half("x.safetensors", (const char *[]){"__metadata__"}, &t, 1, NULL, NULL, 0,
                                       false) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "'__metadata__' is reserved");
    NBT_CHECK(nb_save_safetensors_half("x.safetensors", (const char *[]){"bad\xff"}, &t, 1, NULL, NULL, 0, false) ==
              NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "name 0 is not valid UTF-8");
    nb_tensor *missing = NULL;
    NBT_CHECK(nb_save_safetensors_half("x.safetensors", &name, &missing, 1, NULL, NULL, 0, false) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_save_safetensors_half: argument 'tensors[i]' is NULL");
    NBT_CHECK(nb_save_safetensors_half("no/such/dir/x.safetensors", &name, &t, 1, NULL, NULL, 0, true) == NB_ERR_IO);
    NBT_CHECK_ERROR(NB_ERR_IO, "nb_save_safetensors_half: no/such/dir/x.safetensors: cannot open for writing");
    nb_free(t);
    remove("x.safetensors");
}

int main(void)
{
    NBT_RUN(test_round_trip_every_dtype);
    NBT_RUN(test_round_trip_views);
    NBT_RUN(test_writer_matches_reference_layout);
    NBT_RUN(test_save_errors);
    NBT_RUN(test_half_files);
    NBT_RUN(test_small_integer_dtypes);
    NBT_RUN(test_half_conversions);
    NBT_RUN(test_valid_variants);
    NBT_RUN(test_malformed_files);
    NBT_RUN(test_json_reader);
    NBT_RUN(test_json_writer);
    NBT_RUN(test_module_save_load);
    NBT_RUN(test_module_load_errors);
    NBT_RUN(test_save_half);
    NBT_RUN(test_save_half_layout);
    NBT_RUN(test_save_half_errors);
    return nbt_finish();
}
