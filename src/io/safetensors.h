/*
 * safetensors.h — internal parts of the safetensors reader: parsing a whole
 * file held in memory (for the fuzz target fuzz/fuzz_safetensors.c and for
 * tests), its limits, and what its two files share (safetensors.c loads
 * files and reads tensors out; safetensors_header.c parses and checks the
 * header).
 */
#ifndef NABLA_IO_SAFETENSORS_H
#define NABLA_IO_SAFETENSORS_H

#include "../core/internal.h"
#include "file.h"

/* The largest header accepted, in bytes: the reference implementation's
 * limit (100 MB), far above any real model's header. */
#define NBI_SAFETENSORS_MAX_HEADER_BYTES 100000000u

/* Parse a whole safetensors file held in bytes[0, size) (borrowed; copied,
 * so it may be freed after). name stands for the path in messages. Same
 * results and errors as nb_safetensors_load. */
nb_safetensors *nbi_safetensors_from_memory(const void *bytes, size_t size, const char *name);

/* nb_save_safetensors with op naming the public function in messages
 * (nb_module_save saves through it). */
nb_status nbi_save_safetensors_as(const char *op, const char *path, const char *const *names,
                                  nb_tensor *const *tensors, int64_t count, const char *const *metadata_keys,
                                  const char *const *metadata_values, int64_t n_metadata);

/* ------------------------------------------------------------------------ */
/* Shared by safetensors.c and safetensors_header.c                          */
/* ------------------------------------------------------------------------ */

/* Every dtype the format defines. */
typedef enum {
    NBI_ST_F64,
    NBI_ST_F32,
    NBI_ST_F16,
    NBI_ST_BF16,
    NBI_ST_I64,
    NBI_ST_I32,
    NBI_ST_I16,
    NBI_ST_I8,
    NBI_ST_U64,
    NBI_ST_U32,
    NBI_ST_U16,
    NBI_ST_U8,
    NBI_ST_BOOL,
    NBI_ST_F8_E5M2,
    NBI_ST_F8_E4M3,
    NBI_ST_NUM_DTYPES
} nbi_st_dtype;

/* Its name in headers, its size, and the dtype it loads as: NB_NUM_DTYPES
 * for those nabla cannot hold without loss (a file with them loads, but
 * nb_safetensors_get refuses them). */
typedef struct {
    const char *name;
    size_t      size;
    nb_dtype    loads_as;
} nbi_st_dtype_info;
extern const nbi_st_dtype_info nbi_st_dtypes[NBI_ST_NUM_DTYPES];

/* One tensor of the header, checked: numel * size == end - begin, and the
 * range lies in the data. */
typedef struct {
    char        *name; /* NUL-terminated; a name with a NUL inside is refused */
    size_t       name_length;
    nbi_st_dtype dtype;
    int          ndim;
    int64_t      shape[NB_MAX_DIMS];
    int64_t      numel;
    uint64_t     begin, end; /* byte offsets in the data */
} nbi_st_entry;

struct nb_safetensors {
    char          *path;  /* for messages */
    unsigned char *bytes; /* the whole file */
    size_t         size;
    size_t         data_start; /* 8 + header length */
    nbi_st_entry  *entries;    /* in header order */
    int64_t        count, capacity;
    int64_t       *by_name; /* entry indices sorted by name, for lookups */
    char         **metadata_keys, **metadata_values; /* in header order */
    int64_t        metadata_count, metadata_capacity;
    int64_t       *metadata_by_key; /* metadata indices sorted by key, for lookups */
};

/* Parse and check the header of f->bytes[0, f->size) (f->path set for
 * messages): fills data_start, entries, by_name, the metadata and
 * metadata_by_key. false
 * with the error recorded; f is then freed by the caller as it is. */
bool nbi_safetensors_read_header(nb_safetensors *f);

/* The entry named name, found by binary search in by_name; NULL if none. */
const nbi_st_entry *nbi_safetensors_find(const nb_safetensors *f, const char *name);

/* Order of names (bytewise, then shorter first): by_name's order. */
int nbi_st_compare_names(const nbi_st_entry *a, const nbi_st_entry *b);

/* A string from a file fit for a message: at most 60 bytes (nbi_quote). */
static inline nbi_quoted nbi_st_quote(const char *s, size_t length) { return nbi_quote(s, length, NBI_QUOTE_MAX); }

#endif /* NABLA_IO_SAFETENSORS_H */
