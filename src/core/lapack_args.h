/*
 * lapack_args.h — what a device's LAPACK entry takes (the lapack entry of
 * core/backend.h): one factorization or solve over a batch of matrices, in
 * raw pointers and element counts, with no tensors.
 *
 * Every matrix is row-major and contiguous, batch after batch: the op
 * (ops/linalg_lapack.c) has copied its inputs so, and made the outputs so.
 * A CPU kernel turns each matrix into LAPACK's column-major layout itself
 * (a transposing copy costs O(n^2) beside the O(n^3) factorization).
 *
 * Per op, with A (batch, m, n) and B (batch, m, k):
 *   SOLVE     out0 X (batch, n, k) = A^-1 B, A square (m == n); info[b] > 0:
 *             A[b] is singular (an exact zero pivot).
 *   LU_DET    out0 sign (batch), out1 log|det| (batch), out2 det (batch), A
 *             square; a singular A gives sign 0, log|det| -inf and det 0.
 *   CHOLESKY  out0 L (batch, n, n) with A = L L^T, read from A's lower
 *             triangle (upper: A's upper triangle, and out0 = U with A =
 *             U^T U); info[b] > 0: A[b] is not positive-definite.
 *   QR        out0 Q (batch, m, q), out1 R (batch, q, n), q = m when
 *             complete, else min(m, n).
 *   EIGH      out0 eigenvalues (batch, n) ascending, out1 (may be NULL)
 *             eigenvectors as columns (batch, n, n), from A's lower (upper)
 *             triangle; info[b] > 0: no convergence.
 *   SVD       out0 U (batch, m, u), out1 S (batch, min(m, n)) descending,
 *             out2 Vh (batch, v, n); u = v = min(m, n), or m and n with
 *             complete; out0 and out2 NULL for the values alone; info[b] >
 *             0: no convergence.
 *   LSTSQ     out0 X (batch, n, k), the least-squares solution of minimal
 *             norm of A X = B (rcond: singular values below rcond * the
 *             largest count as zero); info[b] > 0: no convergence.
 *
 * info (host memory, batch entries) gets LAPACK's info of each matrix; an
 * entry fails only for scratch memory (message recorded).
 *
 * A plain C header that nvcc also compiles as C++.
 */
#ifndef NABLA_LAPACK_ARGS_H
#define NABLA_LAPACK_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    NBI_LAPACK_SOLVE,
    NBI_LAPACK_LU_DET,
    NBI_LAPACK_CHOLESKY,
    NBI_LAPACK_QR,
    NBI_LAPACK_EIGH,
    NBI_LAPACK_SVD,
    NBI_LAPACK_LSTSQ,
    NBI_NUM_LAPACK_OPS
} nbi_lapack_op;

typedef struct {
    nbi_lapack_op op;
    int           device;
    nb_dtype      dtype;   /* float32 or float64, of every operand */
    int64_t       batch;   /* >= 1 */
    int64_t       m, n, k; /* m, n >= 1; k >= 1 where B is read */
    bool          upper;   /* CHOLESKY, EIGH: which triangle */
    bool          complete; /* QR, SVD: full Q / U and Vh */
    double        rcond;    /* LSTSQ */
    const void   *a;       /* (batch, m, n) */
    const void   *b;       /* (batch, m, k) or NULL */
    void         *out0, *out1, *out2;
    int64_t      *info;    /* (batch), host */
} nbi_lapack_args;

#ifdef __cplusplus
}
#endif

#endif /* NABLA_LAPACK_ARGS_H */
