/*
 * pointer_index.h — a hash index over an array of pointers the caller keeps
 * (the engine's leaves, nb_graph_dot's nodes): open addressing on the
 * pointer's value, each slot holding the key's position in the array + 1
 * (0: empty). The caller grows it before it is half full.
 */
#ifndef NABLA_POINTER_INDEX_H
#define NABLA_POINTER_INDEX_H

#include <stdint.h>
#include <stdlib.h>

typedef struct {
    int64_t *slots;
    int64_t  size; /* a power of two, or 0 before the first growth */
} nbi_pointer_index;

static inline uint64_t nbi_hash_pointer(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    return x ^ (x >> 33);
}

/* The slot of key: its position in keys + 1, or 0 where it would go. */
static inline int64_t *nbi_pointer_slot(const nbi_pointer_index *index, const void *const *keys, const void *key)
{
    uint64_t mask = (uint64_t)index->size - 1;
    for (uint64_t at = nbi_hash_pointer(key) & mask;; at = (at + 1) & mask) {
        int64_t *slot = &index->slots[at];
        if (*slot == 0 || keys[*slot - 1] == key) return slot;
    }
}

/* Make room for one more of the count keys already indexed (twice the
 * table while it would pass half full). False on OOM, the index unchanged. */
static inline bool nbi_pointer_index_reserve(nbi_pointer_index *index, const void *const *keys, int64_t count)
{
    if (2 * (count + 1) <= index->size) return true;
    int64_t  size  = index->size ? index->size * 2 : 64;
    int64_t *slots = calloc((size_t)size, sizeof *slots);
    if (slots == NULL) return false;
    free(index->slots);
    index->slots = slots;
    index->size  = size;
    for (int64_t i = 0; i < count; i++) *nbi_pointer_slot(index, keys, keys[i]) = i + 1;
    return true;
}

#endif /* NABLA_POINTER_INDEX_H */
