/*
 * falloc_nt.c - NT's own way to keep free frames, the default allocator: the zeroed page list
 * and the free page list, linked by frame number through the PFN entries (NT: MmZeroedPageListHead,
 * MmFreePageListHead; MiInsertPageInFreeList, MiRemoveZeroPage, MiRemoveAnyPage). Frames are
 * taken from the head and given to the tail, so the lowest frames go first after boot and a
 * freed frame waits longest before reuse. Page colours are not modelled.
 */
#include "mm/pfn.h"

static ntmm_status_t ntl_init(mm_pfndb_t *db)
{
    base_ilist_init(&db->lists[MM_ZEROED]);
    base_ilist_init(&db->lists[MM_FREE]);
    return NTMM_STATUS_SUCCESS;
}

static void ntl_destroy(mm_pfndb_t *db) { (void)db; }

static void ntl_give(mm_pfndb_t *db, pfn_t pfn, bool zeroed)
{
    mm_pfn_set_free_location(&db->pfn[pfn], zeroed);
    base_ilist_insert_tail(&db->lists[zeroed ? MM_ZEROED : MM_FREE], MM_PFN_SHAPE(db), (uint32_t)pfn);
}

static pfn_t ntl_take(mm_pfndb_t *db, bool want_zeroed, bool *zeroed)
{
    base_ilist_t *first = &db->lists[want_zeroed ? MM_ZEROED : MM_FREE];
    base_ilist_t *second = &db->lists[want_zeroed ? MM_FREE : MM_ZEROED];
    uint32_t pfn = base_ilist_remove_head(first, MM_PFN_SHAPE(db));
    *zeroed = want_zeroed;
    if (pfn == BASE_ILIST_END) {
        pfn = base_ilist_remove_head(second, MM_PFN_SHAPE(db));
        *zeroed = !want_zeroed;
    }
    return pfn == BASE_ILIST_END ? MM_NO_PFN : pfn;
}

static void ntl_take_frame(mm_pfndb_t *db, pfn_t pfn)
{
    base_ilist_unlink(&db->lists[db->pfn[pfn].location], MM_PFN_SHAPE(db), (uint32_t)pfn);
}

static bool ntl_is_free(const mm_pfn_t *e) { return e->location == MM_ZEROED || e->location == MM_FREE; }

static pfn_t ntl_take_run(mm_pfndb_t *db, pfn_t n, pfn_t align, pfn_t highest)
{
    pfn_t start = mm_pfn_find_run(db, n, align, highest, ntl_is_free);
    if (start != MM_NO_PFN)
        for (pfn_t f = start; f < start + n; f++) ntl_take_frame(db, f);
    return start;
}

static size_t ntl_take_dirty(mm_pfndb_t *db, pfn_t *out, size_t max)
{
    size_t n = 0;
    uint32_t pfn;
    while (n < max && (pfn = base_ilist_remove_head(&db->lists[MM_FREE], MM_PFN_SHAPE(db))) != BASE_ILIST_END)
        out[n++] = pfn;
    return n;
}

static uint64_t ntl_count(const mm_pfndb_t *db, bool zeroed) { return db->lists[zeroed ? MM_ZEROED : MM_FREE].count; }

static uint64_t ntl_largest_run(const mm_pfndb_t *db)
{
    uint64_t best = 0, run = 0;
    for (pfn_t f = 0; f < db->frames; f++) {
        run = ntl_is_free(&db->pfn[f]) ? run + 1u : 0;
        if (run > best) best = run;
    }
    return best;
}

/* The lists themselves are verified by mm_pfn_check with the other lists. */
static bool ntl_check(const mm_pfndb_t *db, pfn_t *bad)
{
    (void)db;
    (void)bad;
    return true;
}

const mm_falloc_ops_t mm_falloc_nt_lists = {
    "nt-lists", ntl_init, ntl_destroy, ntl_give, ntl_take, ntl_take_frame, ntl_take_run,
    ntl_take_dirty, ntl_count, ntl_largest_run, ntl_check,
};
