/*
 * cpu.h — the CPU backend's shared machinery: the thread pool entry point,
 * running 1-D loops over an iterator (core/iter.h), and the tables of 1-D
 * kernels. Only src/cpu includes it: the layers above reach these kernels
 * through the CPU's backend table (cpu/backend.c, core/backend.h).
 */
#ifndef NABLA_CPU_H
#define NABLA_CPU_H

#include "../core/internal.h"
#include "../core/formulas.h"
#include "../core/iter.h"
#include "../core/op_ids.h"

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */
/* ------------------------------------------------------------------------ */

/* Below this many elements an op stays on one thread: waking a second thread
 * costs ~0.6 us, the time to add ~16k floats. */
#define NBI_PARALLEL_GRAIN 32768

/* nb_set_num_threads caps its argument here. */
#define NBI_MAX_THREADS 256

/* body(begin, end, ctx) over [0, n) cut into contiguous chunks of at least
 * grain items (parallel.c): the calling thread and the pool's helpers claim
 * chunks, so body runs on any thread, any number of times, with any split
 * of [0, n). Serial (one call, body(0, n)) when n < 2 * grain, with one
 * thread, inside a parallel region, or while another thread has the pool.
 * Bodies must compute each output the same way whatever the split: results
 * then never depend on the thread count or on timing. */
typedef void (*nbi_range_fn)(int64_t begin, int64_t end, void *ctx);
void nbi_parallel_for(int64_t n, int64_t grain, nbi_range_fn body, void *ctx);

/* ------------------------------------------------------------------------ */
/* N-d iterator                                                              */
/* ------------------------------------------------------------------------ */

/* A 1-D kernel: data[k] points at operand k's first element (operand 0 is
 * the output), strides[k] is its step in bytes, n the element count. ctx is
 * the op's parameters. */
typedef void (*nbi_loop_fn)(char **data, const int64_t *strides, int64_t n, const void *ctx);

/* Run loop over every element; threads when numel >= NBI_PARALLEL_GRAIN. */
void nbi_iter_run(const nbi_iter *it, nbi_loop_fn loop, const void *ctx);
/* Run loop over linear positions [begin, end) of the iteration space. */
void nbi_iter_run_range(const nbi_iter *it, int64_t begin, int64_t end, nbi_loop_fn loop, const void *ctx);

/* ------------------------------------------------------------------------ */
/* Elementwise kernel tables                                                 */
/* ------------------------------------------------------------------------ */

/* One loop per (op, dtype of the input); NULL where the op does not take
 * that dtype. Unary loops: operands (out, x). Binary: (out, a, b), with a
 * and b already in the same dtype. */
typedef struct {
    nbi_loop_fn unary[NBI_NUM_UNARY][NB_NUM_DTYPES];
    nbi_loop_fn binary[NBI_NUM_BINARY][NB_NUM_DTYPES];
    /* where: (out, cond as uint8, a, b), indexed by the dtype of a/b. */
    nbi_loop_fn where[NB_NUM_DTYPES];
    /* relu's gradient (out, g, x): x <= 0 ? 0 : g (NaN passes); floating dtypes. */
    nbi_loop_fn relu_backward[NB_NUM_DTYPES];
} nbi_elementwise_kernels;

/* The table for the best instruction set this CPU has (AVX-512, AVX2+FMA,
 * or portable C), chosen once at first use. */
const nbi_elementwise_kernels *nbi_elementwise(void);
/* Name of the chosen instruction set: "avx512", "avx2" or "baseline". */
const char *nbi_elementwise_isa(void);
/* Every table this build has, for tests that compare them to the baseline. */
int nbi_elementwise_tables(const nbi_elementwise_kernels **tables, const char **names, int capacity);

/* Dtype conversion: (out of dst dtype, x of src dtype). Never NULL. */
nbi_loop_fn nbi_cast_loop(nb_dtype src, nb_dtype dst);

#endif /* NABLA_CPU_H */
