/*
 * augment.c — data augmentation for nabla-train: each training image is
 * shifted by its own random whole-pixel offset (dx, dy) in [-k, k], with
 * zero fill. With 8,000 training digits this is what lifts a small CNN's
 * test accuracy past 98%.
 *
 * The offsets come from a counter-based hash of (seed, epoch, position in
 * the epoch), so a run is the same for a seed whatever the thread count.
 * Images are moved as elements of their dtype (uint8 from an MNIST file,
 * int32 or float32/float64 from other IDX types): one pixel is
 * nb_dtype_size bytes.
 */
#include "train.h"

#include <string.h>

/* SplitMix64's finaliser: a well-mixed 64-bit value from a counter. */
static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

nb_tensor *augment_shift(nb_tensor *images, int max_shift, uint64_t seed, uint64_t counter)
{
    if (max_shift <= 0) return nb_contiguous(images);
    nb_tensor *source = nb_contiguous(images);
    nb_tensor *out    = source ? nb_zeros_like(source) : NULL;
    if (out == NULL) {
        nb_free(source);
        return NULL;
    }
    // source, out: (N, H, W) contiguous, `pixel` bytes per element
    int64_t        n = nb_size(source, 0), h = nb_size(source, 1), w = nb_size(source, 2);
    size_t         pixel = nb_dtype_size(nb_dtype_of(source));
    const uint8_t *in    = nb_data(source);
    uint8_t       *dst   = nb_data(out);
    int            span  = 2 * max_shift + 1;
    for (int64_t i = 0; i < n; i++) {
        uint64_t r  = mix(seed ^ mix(counter + (uint64_t)i));
        int      dx = (int)(r % (uint64_t)span) - max_shift;
        int      dy = (int)((r >> 32) % (uint64_t)span) - max_shift;
        const uint8_t *image   = in + (size_t)(i * h * w) * pixel;
        uint8_t       *shifted = dst + (size_t)(i * h * w) * pixel;
        for (int64_t y = 0; y < h; y++) {
            int64_t from_y = y - dy;
            if (from_y < 0 || from_y >= h) continue;
            /* columns x with 0 <= x - dx < w */
            int64_t x0 = dx > 0 ? dx : 0, x1 = dx < 0 ? w + dx : w;
            if (x1 > x0)
                memcpy(shifted + (size_t)(y * w + x0) * pixel, image + (size_t)(from_y * w + (x0 - dx)) * pixel,
                       (size_t)(x1 - x0) * pixel);
        }
    }
    nb_free(source);
    return out;
}
