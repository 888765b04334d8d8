/*
 * cuda_compare.h — for the CUDA tests (test_cuda.c, test_cuda_nn.c): the
 * device both compare the CPU with, and the comparison.
 */
#ifndef NABLA_TESTS_CUDA_COMPARE_H
#define NABLA_TESTS_CUDA_COMPARE_H

#include "nb_test.h"

static const nb_device cuda0 = { NB_CUDA, 0 };

/* a (CPU) and b (any device) hold the same values: exactly for integer
 * and bool dtypes, within rtol (and as much absolutely) for floats, NaN
 * equal to NaN; and the same dtype. */
static inline int same_values(const nb_tensor *a, const nb_tensor *b, double rtol)
{
    nb_tensor *b_host = nb_to(b, NB_DEVICE_CPU);
    nb_tensor *a64    = nb_to_dtype(a, NB_FLOAT64);
    nb_tensor *b64    = b_host ? nb_to_dtype(b_host, NB_FLOAT64) : NULL;
    nb_tensor *ac     = a64 ? nb_contiguous(a64) : NULL;
    nb_tensor *bc     = b64 ? nb_contiguous(b64) : NULL;
    int        ok     = ac && bc && nb_numel(ac) == nb_numel(bc) && nb_dtype_of(a) == nb_dtype_of(b);
    if (ok) {
        const double *x = nb_data(ac), *y = nb_data(bc);
        for (int64_t i = 0; ok && i < nb_numel(ac); i++) {
            ok = nbt_close(y[i], x[i], rtol, rtol);
            if (!ok) fprintf(stderr, "  element %lld: cpu %.17g, cuda %.17g\n", (long long)i, x[i], y[i]);
        }
    }
    nb_free(b_host);
    nb_free(a64);
    nb_free(b64);
    nb_free(ac);
    nb_free(bc);
    return ok;
}

#endif /* NABLA_TESTS_CUDA_COMPARE_H */
