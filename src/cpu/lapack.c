/*
 * lapack.c — the CPU's LAPACK entry: each matrix of the batch is copied
 * into LAPACK's column-major layout, factored or solved by OpenBLAS's
 * LAPACK, and copied back row-major (core/lapack_args.h says what each op
 * computes).
 *
 * The prototypes are declared here rather than taken from lapacke, which
 * Debian ships in another package: Fortran calling convention (every
 * argument by pointer, 32-bit integers as OpenBLAS's default build, and
 * each CHARACTER argument's length passed by value after the others, as
 * gfortran expects).
 *
 * The kernels for float32 (LAPACK's s* routines) and float64 (d*) are one
 * body, lapack_kernels.inc, included twice.
 */
#include "lapack.h"

#ifdef NB_HAVE_OPENBLAS

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "../core/internal.h"

typedef int lapack_int;

#define NBI_LAPACK_PROTOTYPES(T, p)                                                                                \
    void p##gesv_(const lapack_int *n, const lapack_int *nrhs, T *a, const lapack_int *lda, lapack_int *ipiv, T *b, \
                  const lapack_int *ldb, lapack_int *info);                                                        \
    void p##getrf_(const lapack_int *m, const lapack_int *n, T *a, const lapack_int *lda, lapack_int *ipiv,       \
                   lapack_int *info);                                                                              \
    void p##potrf_(const char *uplo, const lapack_int *n, T *a, const lapack_int *lda, lapack_int *info,          \
                   size_t uplo_len);                                                                               \
    void p##geqrf_(const lapack_int *m, const lapack_int *n, T *a, const lapack_int *lda, T *tau, T *work,        \
                   const lapack_int *lwork, lapack_int *info);                                                     \
    void p##orgqr_(const lapack_int *m, const lapack_int *n, const lapack_int *k, T *a, const lapack_int *lda,    \
                   const T *tau, T *work, const lapack_int *lwork, lapack_int *info);                              \
    void p##syevd_(const char *jobz, const char *uplo, const lapack_int *n, T *a, const lapack_int *lda, T *w,     \
                   T *work, const lapack_int *lwork, lapack_int *iwork, const lapack_int *liwork, lapack_int *info, \
                   size_t jobz_len, size_t uplo_len);                                                              \
    void p##gesdd_(const char *jobz, const lapack_int *m, const lapack_int *n, T *a, const lapack_int *lda, T *s,  \
                   T *u, const lapack_int *ldu, T *vt, const lapack_int *ldvt, T *work, const lapack_int *lwork,   \
                   lapack_int *iwork, lapack_int *info, size_t jobz_len);                                          \
    void p##gelsd_(const lapack_int *m, const lapack_int *n, const lapack_int *nrhs, T *a, const lapack_int *lda,  \
                   T *b, const lapack_int *ldb, T *s, const T *rcond, lapack_int *rank, T *work,                   \
                   const lapack_int *lwork, lapack_int *iwork, lapack_int *info);

NBI_LAPACK_PROTOTYPES(float, s)
NBI_LAPACK_PROTOTYPES(double, d)

/* Scratch of one call: reals and integers, released together. */
typedef struct {
    void  *reals;
    size_t real_bytes;
    void  *ints;
    size_t int_bytes;
} scratch;

static bool scratch_get(scratch *s, size_t reals, size_t real_size, size_t ints)
{
    s->real_bytes = reals * real_size + 64;
    s->int_bytes  = ints * sizeof(lapack_int) + 64;
    s->reals      = nbi_host_alloc(s->real_bytes);
    s->ints       = s->reals ? nbi_host_alloc(s->int_bytes) : NULL;
    if (s->ints != NULL) return true;
    if (s->reals) nbi_host_release(s->reals, s->real_bytes);
    nbi_fail_status(NB_ERR_OOM, "out of memory for %zu bytes of LAPACK scratch", s->real_bytes + s->int_bytes);
    return false;
}

static void scratch_put(scratch *s)
{
    nbi_host_release(s->reals, s->real_bytes);
    nbi_host_release(s->ints, s->int_bytes);
}

#define T float
#define P(name) s##name
#define K(name) name##_f32
#include "lapack_kernels.inc"
#undef T
#undef P
#undef K

#define T double
#define P(name) d##name
#define K(name) name##_f64
#include "lapack_kernels.inc"
#undef T
#undef P
#undef K

nb_status nbi_cpu_lapack(const nbi_lapack_args *args)
{
    return args->dtype == NB_FLOAT32 ? lapack_f32(args) : lapack_f64(args);
}

#else

/* ISO C forbids an empty translation unit. */
typedef int nbi_cpu_lapack_absent;

#endif /* NB_HAVE_OPENBLAS */
