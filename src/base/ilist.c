/* ilist.c - the validator of index-linked lists (the list operations are inline in ilist.h). */
#include "base/ilist.h"

bool base_ilist_check(const base_ilist_t *l, const base_ilist_shape_t *s, uint64_t limit,
                      bool (*visit)(void *ctx, uint32_t i), void *ctx, uint32_t *bad)
{
    uint32_t dummy, prev = BASE_ILIST_END, i = l->head;
    uint64_t n = 0;
    if (!bad) bad = &dummy;
    *bad = BASE_ILIST_END;
    if ((l->count == 0) != (l->head == BASE_ILIST_END) || (l->head == BASE_ILIST_END) != (l->tail == BASE_ILIST_END))
        return false;
    while (i != BASE_ILIST_END) {
        if (i >= limit || n >= l->count || *base_ilist_prev(s, i) != prev || (visit && !visit(ctx, i))) {
            *bad = i;
            return false;
        }
        prev = i;
        i = *base_ilist_next(s, i);
        n++;
    }
    return n == l->count && prev == l->tail;
}
