/*
 * handles.h — handles that know when they are stale.
 *
 * Why: a nabla handle is a plain pointer (nb_tensor *, nb_module *, ...), and
 * the memory behind a freed one is reused for the next object of its kind.
 * A mark in the object ("live"/"dead") catches a freed handle only until
 * that reuse; after it, the stale pointer would act on someone else's
 * tensor. So every handle also carries a generation, in the pointer itself:
 *
 * Objects of one kind live in slots of one memory region (a memfd) that is
 * mapped NBI_HANDLE_VIEWS times, at consecutive addresses: every view shows
 * the same slots. A slot's generation counts how often it was freed, and
 * the pointer handed out for it lies in view (generation mod VIEWS). When
 * the slot is freed its generation moves on, so the old pointer now lies in
 * the wrong view: nbi_handle_is_current compares the two (a subtraction, a
 * shift and a compare), and a stale handle is refused even after its slot
 * holds a new object. (It could pass again only after exactly a multiple of
 * VIEWS reuses of that slot, and freed slots are reused oldest first.)
 *
 * Where the views cannot be made (not Linux, sanitizer and valgrind
 * builds, whose checkers track memory by address and are better served by
 * plain allocations, or a full region) objects come from malloc and only
 * their mark and the delay before reuse (tensor.c's quarantine, nbi_retire)
 * catch a stale handle.
 *
 * A child made by fork gets its own copy of the region (the views are
 * shared memory, which fork would otherwise share with the parent).
 */
#ifndef NABLA_HANDLES_H
#define NABLA_HANDLES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The first member of every object a user holds a pointer to. */
typedef struct nbi_handle_head {
    uint32_t magic;      /* the kind's live mark, or its dead mark once freed */
    uint32_t generation; /* how often its slot was freed (see above) */
} nbi_handle_head;

enum { NBI_HANDLE_VIEWS = 128 };

/* One kind of object. Define one per kind with NBI_HANDLE_CLASS; the rest
 * is filled in on first use. */
typedef struct nbi_handle_class {
    const char *kind;        /* "tensor": for messages */
    size_t      object_bytes;
    unsigned    view_shift;  /* log2 of a view's bytes */
    /* Set once, before the first object is handed out: the region's start
     * and length (0 and 0 where objects come from malloc). */
    uintptr_t   base;
    uintptr_t   bytes;
    size_t      slot_bytes;
    int64_t     slot_capacity;
    int64_t     slots_used;  /* ever handed out; the rest of the view is untouched */
    atomic_int  state;       /* 0 not set up, 1 ready (handles.c sets it up under one lock) */
    atomic_flag lock;        /* the free queue and slots_used */
    uint64_t    free_head, free_tail; /* 1 + slot index of the queue's ends; 0: empty */
    struct nbi_handle_class *next_class; /* the kinds set up, for fork */
} nbi_handle_class;

#define NBI_HANDLE_CLASS(kind_name, bytes, log2_view_bytes)                                                      \
    {                                                                                                          \
        .kind = (kind_name), .object_bytes = (bytes), .view_shift = (log2_view_bytes),                          \
        .lock = ATOMIC_FLAG_INIT                                                                               \
    }

/* A zeroed object of c's kind (its generation kept, its mark 0), at the
 * address for its generation; NULL when out of memory (nothing recorded). */
void *nbi_handle_alloc(nbi_handle_class *c);
/* The object is freed: its slot's generation moves on, so every pointer to
 * it is now stale. Its mark is the caller's to set. The memory stays until
 * nbi_handle_free (a cache may hold it for reuse through nbi_handle_reissue). */
void  nbi_handle_retire(nbi_handle_class *c, void *object);
/* A retired object's memory, at the address for its current generation:
 * what a cache of retired objects hands out instead of a new one. */
static inline void *nbi_handle_reissue(const nbi_handle_class *c, void *object)
{
    uintptr_t offset = (uintptr_t)object - c->base;
    if (offset >= c->bytes) return object;
    uintptr_t within_view = offset & (((uintptr_t)1 << c->view_shift) - 1);
    uint32_t  generation  = ((nbi_handle_head *)object)->generation;
    return (void *)(c->base + ((uintptr_t)(generation & (NBI_HANDLE_VIEWS - 1)) << c->view_shift) + within_view);
}
/* Give a retired object's memory back: its slot joins the end of the free
 * queue (reused oldest first); an object from malloc is freed now, or, by
 * _later, after nbi_retire's delay (for the kinds with no quarantine of
 * their own: without generations, the delay is what catches a stale one). */
void  nbi_handle_free(nbi_handle_class *c, void *object);
void  nbi_handle_free_later(nbi_handle_class *c, void *object);

/* object's pointer is the one for its slot's generation (true for objects
 * from malloc, whose mark alone tells). Reads only the head: safe on any
 * pointer this class handed out, however stale. */
static inline bool nbi_handle_is_current(const nbi_handle_class *c, const void *object)
{
    uintptr_t offset = (uintptr_t)object - c->base;
    if (offset >= c->bytes) return true;
    uint32_t generation = ((const nbi_handle_head *)object)->generation;
    return (offset >> c->view_shift) == (generation & (NBI_HANDLE_VIEWS - 1));
}

/* Live: the kind's mark and the current generation. */
static inline bool nbi_handle_live(const nbi_handle_class *c, const void *object, uint32_t live_magic)
{
    return ((const nbi_handle_head *)object)->magic == live_magic && nbi_handle_is_current(c, object);
}

/* Whether handles of c's kind carry generations here (tests, messages). */
bool nbi_handle_generations(nbi_handle_class *c);

#endif /* NABLA_HANDLES_H */
