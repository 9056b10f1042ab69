/*
 * falloc_bitmap.c - the bitmap free-frame allocator (seed 003): a bit per frame, in two-level
 * bitmaps (base_bitmap2_t), in place of NT's zeroed and free page lists. It owns the frames
 * whose location is ZEROED or FREE, as mm_falloc_nt_lists does, and models the same MiRemove-
 * ZeroPage / MiRemoveAnyPage / MiFindContiguousPages requests.
 *
 *   zeroed  bit f: frame f is free and holds zeros        (location ZEROED)
 *   dirty   bit f: frame f is free, contents unknown      (location FREE)
 *
 * A single-frame take or give touches one word of one map (and its summary bits). Single
 * frames go lowest first (the summaries' hints make that O(1) amortised), which keeps high
 * memory unfragmented for contiguous requests. take_run is a first-fit search over the union
 * zeroed | dirty (base_bitmap2_find_run_or) that skips words with no free frame by the
 * summaries. The u1/u2 links and `order` of the entries are not used.
 */
#include "mm/pfn.h"

#include "base/bitmap.h"
#include "base/debug.h"

typedef struct bitmap_state {
    base_bitmap2_t zeroed;
    base_bitmap2_t dirty;
} bitmap_state_t;

static void bitmap_destroy(mm_pfndb_t *db)
{
    bitmap_state_t *s = db->falloc_state;
    if (!s) return;
    base_bitmap2_destroy(&s->zeroed);
    base_bitmap2_destroy(&s->dirty);
    host_free(s);
    db->falloc_state = NULL;
}

/* All maps empty: frames arrive through give. */
static ntmm_status_t bitmap_init(mm_pfndb_t *db)
{
    bitmap_state_t *s = host_calloc(1, sizeof *s);
    if (!s) return NTMM_STATUS_NO_MEMORY;
    db->falloc_state = s;
    if (!base_bitmap2_create(&s->zeroed, db->frames) || !base_bitmap2_create(&s->dirty, db->frames)) {
        bitmap_destroy(db);
        return NTMM_STATUS_NO_MEMORY;
    }
    return NTMM_STATUS_SUCCESS;
}

static void bitmap_give(mm_pfndb_t *db, pfn_t pfn, bool zeroed)
{
    bitmap_state_t *s = db->falloc_state;
    mm_pfn_set_free_location(&db->pfn[pfn], zeroed);
    bool fresh = base_bitmap2_set_bit(zeroed ? &s->zeroed : &s->dirty, pfn);
    NTMM_ASSERT(fresh); /* the PFN layer gives only frames that are on no list */
    NTMM_ASSERT(!base_bitmap2_test(zeroed ? &s->dirty : &s->zeroed, pfn));
    (void)fresh;
}

/* Removes frame pfn from map `kind` (zeroed or dirty), which holds it. */
static void bitmap_remove(base_bitmap2_t *kind, pfn_t pfn)
{
    bool was = base_bitmap2_clear_bit(kind, pfn);
    NTMM_ASSERT(was);
    (void)was;
}

static pfn_t bitmap_take(mm_pfndb_t *db, bool want_zeroed, bool *zeroed)
{
    bitmap_state_t *s = db->falloc_state;
    base_bitmap2_t *first = want_zeroed ? &s->zeroed : &s->dirty;
    base_bitmap2_t *second = want_zeroed ? &s->dirty : &s->zeroed;
    uint64_t pfn = base_bitmap2_first_set(first);
    *zeroed = want_zeroed;
    if (pfn == BASE_BITMAP_NONE) {
        first = second;
        pfn = base_bitmap2_first_set(first);
        *zeroed = !want_zeroed;
        if (pfn == BASE_BITMAP_NONE) return MM_NO_PFN;
    }
    bitmap_remove(first, pfn);
    return pfn;
}

static void bitmap_take_frame(mm_pfndb_t *db, pfn_t pfn)
{
    bitmap_state_t *s = db->falloc_state;
    bitmap_remove(db->pfn[pfn].location == MM_ZEROED ? &s->zeroed : &s->dirty, pfn);
}

/* First fit over zeroed | dirty: the lowest run that satisfies the request. O(frames/64) in
 * the worst case, less where the summaries show words without a free frame. */
static pfn_t bitmap_take_run(mm_pfndb_t *db, pfn_t n, pfn_t align, pfn_t highest)
{
    bitmap_state_t *s = db->falloc_state;
    if (n == 0 || !ntmm_is_pow2(align) || n > base_bitmap2_count_set(&s->zeroed) + base_bitmap2_count_set(&s->dirty))
        return MM_NO_PFN;
    uint64_t hi = highest >= db->frames ? db->frames : highest + 1u; /* exclusive bound */
    uint64_t start = base_bitmap2_find_run_or(&s->zeroed, &s->dirty, true, n, align, 0, hi);
    if (start == BASE_BITMAP_NONE) return MM_NO_PFN;
    uint64_t taken = base_bitmap2_clear_bits(&s->zeroed, start, n) + base_bitmap2_clear_bits(&s->dirty, start, n);
    NTMM_ASSERT(taken == n);
    (void)taken;
    return start;
}

static size_t bitmap_take_dirty(mm_pfndb_t *db, pfn_t *out, size_t max)
{
    bitmap_state_t *s = db->falloc_state;
    size_t n = 0;
    uint64_t pfn;
    while (n < max && (pfn = base_bitmap2_first_set(&s->dirty)) != BASE_BITMAP_NONE) {
        bitmap_remove(&s->dirty, pfn);
        out[n++] = pfn;
    }
    return n;
}

static uint64_t bitmap_count(const mm_pfndb_t *db, bool zeroed)
{
    const bitmap_state_t *s = db->falloc_state;
    return base_bitmap2_count_set(zeroed ? &s->zeroed : &s->dirty);
}

static uint64_t bitmap_largest_run(const mm_pfndb_t *db)
{
    const bitmap_state_t *s = db->falloc_state;
    return base_bitmap2_longest_run_or(&s->zeroed, &s->dirty, true, NULL);
}

/* Every frame: zeroed bit <=> ZEROED, dirty bit <=> FREE (so no frame is in both); each
 * map's summaries, hints and count consistent. */
static bool bitmap_check(const mm_pfndb_t *db, pfn_t *bad)
{
    const bitmap_state_t *s = db->falloc_state;
    *bad = MM_NO_PFN;
    uint64_t word = BASE_BITMAP_NONE;
    if (!s || base_bitmap2_size(&s->zeroed) != db->frames || base_bitmap2_size(&s->dirty) != db->frames ||
        !base_bitmap2_check(&s->zeroed, &word) || !base_bitmap2_check(&s->dirty, &word)) {
        if (s && word != BASE_BITMAP_NONE) *bad = word * 64u;
        return false;
    }
    for (pfn_t f = 0; f < db->frames; f++) {
        uint8_t loc = db->pfn[f].location;
        bool z = base_bitmap2_test(&s->zeroed, f), d = base_bitmap2_test(&s->dirty, f);
        if (z != (loc == MM_ZEROED) || d != (loc == MM_FREE)) {
            *bad = f;
            return false;
        }
    }
    return true;
}

const mm_falloc_ops_t mm_falloc_bitmap = {
    "bitmap", bitmap_init, bitmap_destroy, bitmap_give, bitmap_take, bitmap_take_frame, bitmap_take_run,
    bitmap_take_dirty, bitmap_count, bitmap_largest_run, bitmap_check,
};
