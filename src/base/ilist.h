/*
 * ilist.h - doubly linked lists whose links are 32-bit indices into an array, with a
 * sentinel index for "none" (the way NT links the PFN database: u1.Flink / u2.Blink hold
 * frame numbers). Written once here; the PFN lists, the buddy allocator's free lists and
 * any other index-linked structure use it.
 *
 * A list does not own its elements. The caller describes where the links live with a shape:
 * element i's next link is the uint32_t at base + i * stride + next_off (likewise prev).
 *
 *   head                                     tail
 *    |                                        |
 *    v                                        v
 *   [a] --next--> [b] --next--> [c] --next--> END
 *   END <--prev-- [a] <--prev-- [b] <--prev-- [c]
 *
 * Invariant: count == 0 if and only if head == tail == END (checked by base_ilist_check).
 * Not thread-safe: the owner's lock covers the list and the links of its elements.
 */
#ifndef NTMM_BASE_ILIST_H
#define NTMM_BASE_ILIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BASE_ILIST_END UINT32_MAX

typedef struct base_ilist {
    uint32_t head;  /* first element, or BASE_ILIST_END */
    uint32_t tail;  /* last element, or BASE_ILIST_END */
    uint64_t count; /* elements on the list */
} base_ilist_t;

typedef struct base_ilist_shape {
    void *base;       /* element 0 */
    size_t stride;    /* bytes between elements */
    size_t next_off;  /* offset of the uint32_t next link in an element */
    size_t prev_off;  /* offset of the uint32_t prev link */
} base_ilist_shape_t;

static inline void base_ilist_init(base_ilist_t *l)
{
    l->head = l->tail = BASE_ILIST_END;
    l->count = 0;
}

static inline uint32_t *base_ilist_next(const base_ilist_shape_t *s, uint32_t i)
{
    return (uint32_t *)(void *)((char *)s->base + (size_t)i * s->stride + s->next_off);
}

static inline uint32_t *base_ilist_prev(const base_ilist_shape_t *s, uint32_t i)
{
    return (uint32_t *)(void *)((char *)s->base + (size_t)i * s->stride + s->prev_off);
}

static inline void base_ilist_insert_tail(base_ilist_t *l, const base_ilist_shape_t *s, uint32_t i)
{
    *base_ilist_next(s, i) = BASE_ILIST_END;
    *base_ilist_prev(s, i) = l->tail;
    if (l->tail == BASE_ILIST_END) l->head = i;
    else *base_ilist_next(s, l->tail) = i;
    l->tail = i;
    l->count++;
}

static inline void base_ilist_insert_head(base_ilist_t *l, const base_ilist_shape_t *s, uint32_t i)
{
    *base_ilist_prev(s, i) = BASE_ILIST_END;
    *base_ilist_next(s, i) = l->head;
    if (l->head == BASE_ILIST_END) l->tail = i;
    else *base_ilist_prev(s, l->head) = i;
    l->head = i;
    l->count++;
}

/* Unlinks element i, which the caller knows is on l. */
static inline void base_ilist_unlink(base_ilist_t *l, const base_ilist_shape_t *s, uint32_t i)
{
    uint32_t next = *base_ilist_next(s, i), prev = *base_ilist_prev(s, i);
    if (prev == BASE_ILIST_END) l->head = next;
    else *base_ilist_next(s, prev) = next;
    if (next == BASE_ILIST_END) l->tail = prev;
    else *base_ilist_prev(s, next) = prev;
    l->count--;
}

/* Removes and returns the first element, or BASE_ILIST_END if the list is empty. */
static inline uint32_t base_ilist_remove_head(base_ilist_t *l, const base_ilist_shape_t *s)
{
    uint32_t i = l->head;
    if (i != BASE_ILIST_END) base_ilist_unlink(l, s, i);
    return i;
}

/*
 * Walks the list and verifies it: every index below `limit`, every prev link the mirror of
 * the next link before it, the tail where the walk ends, and count elements exactly (at most
 * count + 1 steps, so a cycle cannot hang the check). On failure *bad is the offending index
 * (or BASE_ILIST_END for a count or head/tail mismatch). `visit`, if not NULL, is called for
 * each element and may reject it by returning false.
 */
bool base_ilist_check(const base_ilist_t *l, const base_ilist_shape_t *s, uint64_t limit,
                      bool (*visit)(void *ctx, uint32_t i), void *ctx, uint32_t *bad);

#endif /* NTMM_BASE_ILIST_H */
