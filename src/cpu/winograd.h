/*
 * winograd.h — 3x3 stride-1 float32 convolutions by Winograd's F(2x2, 3x3)
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2015), the three products of core/conv_args.h in 16 small GEMMs each.
 *
 * Why: im2col + GEMM spends 9 multiply-adds per output and tap pair; F(2x2,
 * 3x3) gets a 2x2 block of outputs from a 4x4 input tile in 16, 2.25x fewer.
 * The convolution's GEMMs were the bound of a CNN training step (issue 10:
 * 2.8 of its 2.9 GFLOP at the core's peak), so fewer of them is the one
 * lever left. Per output channel o and input channel c, with tile d (4x4),
 * kernel g (3x3) and output block Y (2x2):
 *
 *   U = G g G^T, V = B^T d B, Y = A^T (sum over c of U[o][c] * V[c]) A
 *
 * where * is elementwise; for each of the 16 positions xi of the 4x4
 * transformed tile the sum over c is one GEMM over all tiles. The
 * transposed product (input_grad) is the same with the kernel flipped and
 * the channels swapped; the weight gradient is
 *   dg = G^T (sum over tiles of (A dY A^T) * V) G,
 * again 16 GEMMs (over the tiles, each k as long as a block of them).
 *
 * Numbers: G's entries are 0, 1 and 1/2, B's and A's 0 and +-1, so the
 * transforms add and subtract only; results differ from im2col's by a few
 * float32 roundings of the partial sums (at most 6e-7 of the largest
 * output against float64 in test_conv.c's cases), as cuDNN's and oneDNN's
 * Winograd modes do. float64 always takes im2col.
 *
 * Determinism: tiles are cut into blocks by the shapes alone and the weight
 * gradient sums its pieces in order, so results do not depend on the
 * thread count; the transforms add in the same order whichever instruction
 * set runs them (winograd_kernels.inc), so neither on the CPU.
 */
#ifndef NABLA_WINOGRAD_H
#define NABLA_WINOGRAD_H

#include "../core/conv_args.h"
#include "cpu.h"
#include "cpu_features.h"

/* Channels are handled NBI_WINOGRAD_LANES at a time (one AVX-512 vector):
 * the transforms work on channel-interleaved copies of the pixels. */
enum { NBI_WINOGRAD_LANES = 16 };

/* Whether the three products of this float32 shape run here: 3x3 kernel,
 * stride and dilation 1, one group, padding at most 2 (so the transposed
 * product is also a "same or smaller" convolution), channels and output
 * channels multiples of NBI_WINOGRAD_LANES. */
bool nbi_winograd_applies(nb_dtype dtype, const nbi_conv_shape *shape);

/* The three products (conv_args.h), for shapes where nbi_winograd_applies.
 * NB_OK, or NB_ERR_OOM recorded (outputs unspecified). */
nb_status nbi_winograd_forward(const nbi_conv_shape *shape, const float *x, const float *w, const float *bias,
                               float *y);
nb_status nbi_winograd_input_grad(const nbi_conv_shape *shape, const float *y, const float *w, const float *bias,
                                  float *x);
nb_status nbi_winograd_weight_grad(const nbi_conv_shape *shape, const float *x, const float *y, float *w);

/* The lane kernels, one table per instruction set (winograd_kernels.inc).
 * "Band" buffers hold rows of pixels NBI_WINOGRAD_LANES channels deep:
 * pixel x of a band row at row + x * LANES. A tile's 16 transformed values
 * land tap_stride floats apart (tap xi at xi * tap_stride), consecutive
 * tiles tile_stride apart, LANES channels contiguous at each. */
typedef struct {
    /* band_row[x * LANES + l] = src[l * plane + x], x < width. */
    void (*gather)(const float *src, int64_t plane, int64_t width, float *band_row);
    /* dst[l * plane + x] = band_row[x * LANES + l] (+ bias[l] when bias). */
    void (*scatter)(const float *band_row, int64_t width, const float *bias, float *dst, int64_t plane);
    /* V = B^T d B of tiles [0, tiles): tile t reads rows 0..3, pixels
     * 2t..2t+3 of band (rows band_w pixels apart). */
    void (*input_tiles)(const float *band, int64_t band_w, int64_t tiles, float *v, int64_t tile_stride,
                        int64_t tap_stride);
    /* Y = A^T m A: tile t writes rows 0..1, pixels 2t, 2t+1 of band (rows
     * band_w pixels apart). */
    void (*output_tiles)(const float *m, int64_t tile_stride, int64_t tap_stride, int64_t tiles, float *band,
                         int64_t band_w);
    /* A dY A^T: tile t reads rows 0..1, pixels 2t, 2t+1 of band. */
    void (*gradient_tiles)(const float *band, int64_t band_w, int64_t tiles, float *d, int64_t tile_stride,
                           int64_t tap_stride);
} nbi_winograd_kernels;

/* The table of an instruction-set level, or NULL when the build lacks it
 * or the CPU (capped by NB_CPU_CAPABILITY) does not run it: the
 * products use the level of the other kernels (nbi_cpu_level_used); tests
 * compare the levels. */
const nbi_winograd_kernels *nbi_winograd_kernels_for(nbi_cpu_level level);

/* The tables (winograd_isa_*.c); the AVX ones exist in x86-64 builds with
 * NB_X86_ISAS only. */
extern const nbi_winograd_kernels nbi_winograd_kernels_baseline;
extern const nbi_winograd_kernels nbi_winograd_kernels_avx2;
extern const nbi_winograd_kernels nbi_winograd_kernels_avx512;

#endif /* NABLA_WINOGRAD_H */
