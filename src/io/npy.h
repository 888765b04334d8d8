/*
 * npy.h — internal entry points of the .npy reader beside nb_load_npy:
 * parsing from a buffer in memory, for the fuzz target (fuzz/fuzz_npy.c)
 * and for formats that embed .npy files (.npz members).
 */
#ifndef NABLA_IO_NPY_H
#define NABLA_IO_NPY_H

#include "../core/internal.h"

/* Parse a whole .npy file held in bytes[0, size) (borrowed). name stands for
 * the path in error messages ("nb_load_npy: <name>: truncated: ..."). Same
 * results and errors as nb_load_npy; the tensor is a copy (bytes may be
 * freed after). */
nb_tensor *nbi_load_npy_from_memory(const void *bytes, size_t size, const char *name);

/* Largest header nabla accepts, in bytes: a header of 8 dims is under 200,
 * and the limit keeps a hostile length field from costing memory. */
#define NBI_NPY_MAX_HEADER_BYTES (1u << 20)

#endif /* NABLA_IO_NPY_H */
