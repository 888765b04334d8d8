/*
 * idx.h — internal entry point of the IDX reader beside nb_load_idx:
 * parsing from a buffer in memory (plain or gzip-compressed), for the fuzz
 * target (fuzz/fuzz_idx.c).
 */
#ifndef NABLA_IO_IDX_H
#define NABLA_IO_IDX_H

#include "../core/internal.h"

/* Parse a whole IDX file held in bytes[0, size) (borrowed), gzip-compressed
 * or not. name stands for the path in error messages ("nb_load_idx: <name>:
 * truncated: ..."). Same results and errors as nb_load_idx; the tensor is a
 * copy (bytes may be freed after). */
nb_tensor *nbi_load_idx_from_memory(const void *bytes, size_t size, const char *name);

/* Largest tensor nabla reads from an IDX file, in bytes (after widening
 * bytes and shorts to int32): twice the full MNIST training images, with
 * room to spare, and a bound on what a hostile header can make it allocate. */
#define NBI_IDX_MAX_DATA_BYTES (UINT64_C(1) << 31)

/* The most bytes deflate can expand one compressed byte to (a 258-byte
 * match in 2 bits). A gzip stream of n bytes decompresses to at most about
 * n times this, so a header that declares more is refused before anything
 * is allocated for it. */
#define NBI_IDX_DEFLATE_MAX_RATIO 1032u

#endif /* NABLA_IO_IDX_H */
