/*
 * index_args.h — what a device's indexing kernels take (core/backend.h):
 * gather, index_select, scatter(_add), the index range check, masked_select,
 * nonzero and one_hot. (masked_fill is elementwise: it takes an nbi_iter.)
 *
 * These ops need control of the order elements are visited in, which the
 * elementwise iterator (core/iter.h) does not give: scatter puts the
 * scattered dim innermost so that each row owns its output elements (rows
 * then run in parallel without races, and repeated indices resolve in
 * order, last write wins, as torch's CPU kernel does); masked_select and
 * nonzero write their outputs in row-major order. So they take an nbi_walk:
 * a row-major walk over a shape, with each operand's base pointer and byte
 * strides along the walk's dims, never reordered or collapsed.
 *
 * A plain C header that nvcc also compiles as C++ (no internal.h).
 */
#ifndef NABLA_INDEX_ARGS_H
#define NABLA_INDEX_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { NBI_WALK_MAX_OPERANDS = 3 };

/* A row-major walk over shape (ndim >= 1; a 0-d shape walks as [1]).
 * Operands that do not move along a dim (broadcast, or the indexed dim of a
 * gather's source) have stride 0 there. */
typedef struct {
    int     ndim;
    int     noperands;
    int     device; /* the device index of every operand's memory */
    int64_t numel;
    int64_t shape[NB_MAX_DIMS];
    char   *base[NBI_WALK_MAX_OPERANDS];
    int64_t stride[NBI_WALK_MAX_OPERANDS][NB_MAX_DIMS]; /* bytes */
} nbi_walk;

/* The `op` of NBI_FAMILY_INDEX; the dtype is the indexed tensor's (int64
 * for NBI_INDEX_ONE_HOT, whose only input is the classes). A backend that
 * supports an op that takes an index (gather, scatter) also has the
 * index_check entry; one that supports ONE_HOT, index_min_max. */
typedef enum {
    NBI_INDEX_GATHER, /* gather and index_select */
    NBI_INDEX_SCATTER,
    NBI_INDEX_SCATTER_ADD,
    NBI_INDEX_MASKED_FILL,
    NBI_INDEX_MASKED_SELECT,
    NBI_INDEX_NONZERO,
    NBI_INDEX_ONE_HOT,
    NBI_NUM_INDEX_OPS
} nbi_index_op;

/* gather / index_select, walk operands (out, src, index) over the index's
 * positions: out = *(src + index * dim_step), the source's stride along the
 * indexed dim left out of the walk.
 * scatter, walk operands (target, src, index) with the scattered dim
 * innermost: *(target + index * dim_step) = src (or += src), the target's
 * stride along that dim left out. The target has no overlapping elements
 * and shares no memory with src or index. Every index is in range. */
typedef struct {
    nbi_walk walk;
    int64_t  dim_step; /* bytes between neighbours along the indexed dim */
    nb_dtype dtype;    /* of out/src/target; the index is int64 */
} nbi_gather_args;

/* masked_select (walk operands (t, mask as uint8)) and nonzero (walk
 * operand (t)): an op runs the kernel twice, first with out NULL to count
 * the selected elements, then with out sized to that count to write them
 * in row-major order. */
enum { NBI_SELECT_MAX_PIECES = 64 };
typedef struct {
    nbi_walk walk;
    nb_dtype dtype; /* of t */
    /* masked_select: count elements of dtype; nonzero: (count, walk.ndim)
     * int64 coordinates. NULL on the counting call. */
    void *out;
    /* The backend's own record between the two calls (npieces zeroed by
     * the op): where each piece of the walk starts writing. */
    int     npieces;
    int64_t piece_start[NBI_SELECT_MAX_PIECES];
} nbi_select_args;

#ifdef __cplusplus
}
#endif

#endif /* NABLA_INDEX_ARGS_H */
