/*
 * iter.h — the geometry of an elementwise op, in a form every device's
 * kernels take: operands lined up against the output's shape (broadcast
 * dims get stride 0), ordered by the output's strides, and contiguous dims
 * collapsed into one. Plain data (no pointers to tensors), so a CUDA kernel
 * takes it by value; a plain C header, so the .cu files include it too.
 *
 * How an elementwise op runs: the op (src/ops) checks its inputs and makes
 * the output; nbi_iter_init lines the operands up; the device's backend
 * (core/backend.h) runs a kernel over the geometry: on the CPU,
 * nbi_iter_run cuts the element range across threads and calls a 1-D loop
 * on each contiguous run (loops never see shapes, only pointers, byte
 * strides and a count).
 */
#ifndef NABLA_ITER_H
#define NABLA_ITER_H

#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { NBI_MAX_OPERANDS = 4 };

typedef struct {
    int     ndim;      /* >= 1; dim ndim-1 is the innermost */
    int     noperands;
    int     device;    /* the device index of every operand's memory */
    int64_t numel;
    int64_t shape[NB_MAX_DIMS];
    int64_t strides[NB_MAX_DIMS][NBI_MAX_OPERANDS]; /* bytes */
    char   *base[NBI_MAX_OPERANDS];
} nbi_iter;

/* operands[0] is the output: its shape is the iteration shape and the others
 * must broadcast to it (the caller has checked, and that all are on one
 * device). Dims are ordered by the output's strides and mergeable dims are
 * collapsed. */
void nbi_iter_init(nbi_iter *it, int noperands, const nb_tensor *const *operands);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_ITER_H */
