/*
 * falloc_buddy.c - a binary buddy free-frame allocator (Knowlton 1965; Linux's zone free
 * areas) in place of NT's zeroed and free page lists. It owns the frames whose location is
 * ZEROED or FREE and serves the same MiRemoveZeroPage / MiRemoveAnyPage / MiFindContiguous-
 * Pages requests as mm_falloc_nt_lists.
 *
 * Free frames are kept as blocks: a block of order k is 2^k free frames starting at a
 * multiple of 2^k. Two blocks of order k whose heads differ only in bit k are buddies; when
 * both are free they are merged into one block of order k+1 (coalescing on give), and a
 * request splits a larger block in halves until it has the size it needs (splitting on take):
 *
 *   [0 1 2 3]                one free block of order 2
 *   take frame 3:            split: [0 1] stays free (order 1), [2 3] splits again:
 *                            [2] stays free (order 0), 3 is handed out
 *   give frame 3 back:       its buddy [2] is free: [2 3]; that block's buddy [0 1] is
 *                            free: [0 1 2 3], order 2 again
 *
 * Where things live:
 *   - blocks are on free lists per order, linked through the head frame's u1/u2 (base_ilist);
 *   - a head frame's `order` holds its order and its `spare` byte BUDDY_MARK | class, so
 *     "is my buddy a free block of order k" is one look at the buddy's entry (O(1));
 *     every other frame's `spare` is 0 (taken frames and non-head free frames alike);
 *   - each frame's zero state is its location (ZEROED or FREE), mirrored in a two-level
 *     bitmap of dirty free frames; a block may mix both. Lists are split by the block's
 *     class: all ZEROED, all DIRTY, or MIXED (may hold both: a conservative label that
 *     splits and merges produce; a MIXED block found to be pure is relabelled).
 *
 * take(want_zeroed) takes the smallest block of the pure wanted class; else the smallest
 * MIXED block that holds a wanted frame (found through the dirty bitmap), split towards that
 * frame; else the other kind. take_run(n, align, highest): a block of the smallest order
 * >= max(ceil(log2 n), log2 align) that ends low enough (the first BUDDY_RUN_PROBES blocks
 * on the lists are looked at): the run is its first n frames, the tail goes back as maximal
 * aligned blocks. If no such block is found, a first-fit walk over memory finds the lowest
 * aligned run, which may span several blocks. So a request fails only if no run exists.
 */
#include "mm/falloc_buddy.h"

#include "base/bitmap.h"
#include "base/debug.h"

#define BUDDY_ORDERS     MM_BUDDY_ORDERS /* orders 0..31: any database (frames < 2^32: 32-bit links) */
#define BUDDY_MARK       0x40u /* `spare` of a free block's head: BUDDY_MARK | class */
#define BUDDY_RUN_PROBES 64u   /* blocks take_run examines on the lists before walking memory */

typedef enum buddy_class {
    BUDDY_ZEROED = 0, /* every frame of the block is ZEROED */
    BUDDY_DIRTY = 1,  /* every frame is FREE */
    BUDDY_MIXED = 2,  /* may hold both */
    BUDDY_CLASSES = 3,
} buddy_class_t;

typedef struct buddy_state {
    base_ilist_t list[BUDDY_CLASSES][BUDDY_ORDERS];
    uint32_t nonempty[BUDDY_CLASSES]; /* bit k: list[class][k] is not empty */
    base_bitmap2_t dirty;             /* free frames that are FREE (not known zeroed) */
    base_ilist_shape_t shape;         /* links in u1/u2 of the entries */
    uint64_t free_frames;             /* frames in blocks */
    unsigned max_order;               /* largest order whose block fits in the database */
} buddy_state_t;

static inline pfn_t bsize(unsigned k) { return (pfn_t)1 << k; }

static inline bool buddy_is_head(const mm_pfn_t *e)
{
    return (e->spare & ~3u) == BUDDY_MARK && (e->spare & 3u) < BUDDY_CLASSES;
}

static inline buddy_class_t buddy_class(const mm_pfn_t *e) { return (buddy_class_t)(e->spare & 3u); }

static inline buddy_class_t buddy_merge_class(buddy_class_t a, buddy_class_t b) { return a == b ? a : BUDDY_MIXED; }

/* Puts block (h, k) of class c on its list, without merging. */
static void buddy_push(mm_pfndb_t *db, buddy_state_t *s, pfn_t h, unsigned k, buddy_class_t c)
{
    mm_pfn_t *e = &db->pfn[h];
    e->spare = (uint8_t)(BUDDY_MARK | (unsigned)c);
    e->order = (uint8_t)k;
    base_ilist_insert_head(&s->list[c][k], &s->shape, (uint32_t)h);
    s->nonempty[c] |= (uint32_t)1 << k;
}

/* Takes the free block headed by h off its list; returns its class. */
static buddy_class_t buddy_unlink(mm_pfndb_t *db, buddy_state_t *s, pfn_t h)
{
    mm_pfn_t *e = &db->pfn[h];
    buddy_class_t c = buddy_class(e);
    unsigned k = e->order;
    base_ilist_t *l = &s->list[c][k];
    base_ilist_unlink(l, &s->shape, (uint32_t)h);
    if (l->count == 0) s->nonempty[c] &= ~((uint32_t)1 << k);
    e->spare = 0;
    return c;
}

/* Adds the free block (h, k) of class c, merging it with its buddy as long as the buddy is
 * a free block of the same order. O(merges). */
static void buddy_insert(mm_pfndb_t *db, buddy_state_t *s, pfn_t h, unsigned k, buddy_class_t c)
{
    while (k < s->max_order) {
        pfn_t b = h ^ bsize(k);
        if (b + bsize(k) > db->frames) break;
        const mm_pfn_t *e = &db->pfn[b];
        if (!buddy_is_head(e) || e->order != k) break;
        c = buddy_merge_class(c, buddy_unlink(db, s, b));
        h &= ~bsize(k);
        k++;
    }
    buddy_push(db, s, h, k, c);
}

/* Gives back [lo, hi) (free frames whose blocks were unlinked) as maximal aligned blocks of
 * class c. */
static void buddy_release(mm_pfndb_t *db, buddy_state_t *s, pfn_t lo, pfn_t hi, buddy_class_t c)
{
    while (lo < hi) {
        unsigned k = lo ? (unsigned)__builtin_ctzll(lo) : s->max_order;
        if (k > s->max_order) k = s->max_order;
        while (bsize(k) > hi - lo) k--;
        buddy_insert(db, s, lo, k, c);
        lo += bsize(k);
    }
}

/*
 * Block (h, k), unlinked, holds frame t: splits it down to t, pushing every other half back:
 * halves below t as class `below`, halves above as `above`. O(k).
 */
static void buddy_split_to(mm_pfndb_t *db, buddy_state_t *s, pfn_t h, unsigned k, pfn_t t, buddy_class_t below,
                           buddy_class_t above)
{
    while (k > 0) {
        k--;
        pfn_t mid = h + bsize(k);
        if (t < mid) {
            buddy_push(db, s, mid, k, above);
        } else {
            buddy_push(db, s, h, k, below);
            h = mid;
        }
    }
}

/* The free block that holds frame p: O(max_order) looks at entries. False if p is not free. */
static bool buddy_find(const mm_pfndb_t *db, const buddy_state_t *s, pfn_t p, pfn_t *head, unsigned *order)
{
    for (unsigned k = 0; k <= s->max_order; k++) {
        pfn_t h = p & ~(bsize(k) - 1u);
        const mm_pfn_t *e = &db->pfn[h];
        if (buddy_is_head(e) && e->order == k) {
            *head = h;
            *order = k;
            return true;
        }
    }
    return false;
}

/*
 * Removes the free frames [a, e) from the blocks that hold them; what else those blocks held
 * goes back as maximal aligned blocks of their class. False if some frame of the range is not
 * free (the frames before it are removed by then: callers pass free ranges only).
 */
static bool buddy_carve(mm_pfndb_t *db, buddy_state_t *s, pfn_t a, pfn_t e)
{
    pfn_t p = a;
    while (p < e) {
        pfn_t h;
        unsigned k;
        if (!buddy_find(db, s, p, &h, &k)) return false;
        buddy_class_t c = buddy_unlink(db, s, h);
        pfn_t end = h + bsize(k), stop = end < e ? end : e;
        buddy_release(db, s, h, p, c);
        buddy_release(db, s, stop, end, c);
        base_bitmap2_clear_bits(&s->dirty, p, stop - p);
        s->free_frames -= stop - p;
        p = stop;
    }
    return true;
}

static void buddy_destroy(mm_pfndb_t *db)
{
    buddy_state_t *s = db->falloc_state;
    if (!s) return;
    base_bitmap2_destroy(&s->dirty);
    host_free(s);
    db->falloc_state = NULL;
}

/* Empty lists; every entry's `spare` cleared (no frame is a block head yet). */
static ntmm_status_t buddy_init(mm_pfndb_t *db)
{
    if (db->frames >= MM_NO_PFN) return NTMM_STATUS_INVALID_PARAMETER;
    buddy_state_t *s = host_calloc(1, sizeof *s);
    if (!s) return NTMM_STATUS_NO_MEMORY;
    db->falloc_state = s;
    if (!base_bitmap2_create(&s->dirty, db->frames)) {
        buddy_destroy(db);
        return NTMM_STATUS_NO_MEMORY;
    }
    for (unsigned c = 0; c < BUDDY_CLASSES; c++)
        for (unsigned k = 0; k < BUDDY_ORDERS; k++) base_ilist_init(&s->list[c][k]);
    s->shape = (base_ilist_shape_t){ db->pfn, sizeof(mm_pfn_t), offsetof(mm_pfn_t, u1), offsetof(mm_pfn_t, u2) };
    while (s->max_order + 1u < BUDDY_ORDERS && bsize(s->max_order + 1u) <= db->frames) s->max_order++;
    for (pfn_t f = 0; f < db->frames; f++) db->pfn[f].spare = 0;
    return NTMM_STATUS_SUCCESS;
}

static void buddy_give(mm_pfndb_t *db, pfn_t pfn, bool zeroed)
{
    buddy_state_t *s = db->falloc_state;
    NTMM_ASSERT(!buddy_is_head(&db->pfn[pfn]));
    mm_pfn_set_free_location(&db->pfn[pfn], zeroed);
    if (!zeroed) base_bitmap2_set_bit(&s->dirty, pfn);
    s->free_frames++;
    buddy_insert(db, s, pfn, 0, zeroed ? BUDDY_ZEROED : BUDDY_DIRTY);
}

/* A frame from the smallest block of pure class c, or MM_NO_PFN. O(order). */
static pfn_t buddy_take_pure(mm_pfndb_t *db, buddy_state_t *s, buddy_class_t c)
{
    if (!s->nonempty[c]) return MM_NO_PFN;
    unsigned k = (unsigned)__builtin_ctz(s->nonempty[c]);
    pfn_t h = s->list[c][k].head;
    buddy_unlink(db, s, h);
    buddy_split_to(db, s, h, k, h, c, c);
    return h;
}

/*
 * A frame of the wanted kind (dirty or zeroed) from the smallest MIXED block that holds one:
 * the block's first such frame, found through the dirty bitmap; halves below it are pure of
 * the other kind, halves above stay MIXED. MIXED blocks found to hold none are relabelled
 * pure (each once, so the cost is amortised).
 */
static pfn_t buddy_take_mixed(mm_pfndb_t *db, buddy_state_t *s, bool want_dirty)
{
    buddy_class_t other = want_dirty ? BUDDY_ZEROED : BUDDY_DIRTY;
    uint32_t orders = s->nonempty[BUDDY_MIXED];
    while (orders) {
        unsigned k = (unsigned)__builtin_ctz(orders);
        orders &= orders - 1u;
        uint32_t h = s->list[BUDDY_MIXED][k].head;
        while (h != BASE_ILIST_END) {
            uint32_t next = *base_ilist_next(&s->shape, h);
            uint64_t t = base_bitmap2_next(&s->dirty, want_dirty, h, h + bsize(k));
            buddy_unlink(db, s, h);
            if (t != BASE_BITMAP_NONE) {
                buddy_split_to(db, s, h, k, t, other, BUDDY_MIXED);
                return t;
            }
            buddy_push(db, s, h, k, other);
            h = next;
        }
    }
    return MM_NO_PFN;
}

static pfn_t buddy_take(mm_pfndb_t *db, bool want_zeroed, bool *zeroed)
{
    buddy_state_t *s = db->falloc_state;
    bool want_dirty = !want_zeroed;
    uint64_t dirty = base_bitmap2_count_set(&s->dirty), clean = s->free_frames - dirty;
    buddy_class_t pure = want_dirty ? BUDDY_DIRTY : BUDDY_ZEROED, other = want_dirty ? BUDDY_ZEROED : BUDDY_DIRTY;
    pfn_t t = MM_NO_PFN;
    if ((want_dirty ? dirty : clean) > 0) {
        t = buddy_take_pure(db, s, pure);
        if (t == MM_NO_PFN) t = buddy_take_mixed(db, s, want_dirty);
    } else if (s->free_frames > 0) {
        t = buddy_take_pure(db, s, other);
        if (t == MM_NO_PFN) t = buddy_take_mixed(db, s, !want_dirty);
    }
    NTMM_ASSERT((t == MM_NO_PFN) == (s->free_frames == 0));
    if (t == MM_NO_PFN) return MM_NO_PFN;
    *zeroed = !base_bitmap2_clear_bit(&s->dirty, t);
    s->free_frames--;
    return t;
}

static void buddy_take_frame(mm_pfndb_t *db, pfn_t pfn)
{
    bool ok = buddy_carve(db, db->falloc_state, pfn, pfn + 1u);
    NTMM_ASSERT(ok); /* the PFN layer takes only ZEROED or FREE frames */
    (void)ok;
}

/* A block that alone holds the run: order >= max(ceil(log2 n), log2 align), run at its head,
 * ending at or below hi. Smallest orders first; at most BUDDY_RUN_PROBES blocks looked at. */
static pfn_t buddy_run_by_block(const buddy_state_t *s, pfn_t n, pfn_t align, pfn_t hi)
{
    unsigned k0 = (unsigned)__builtin_ctzll(align), probes = 0;
    while (k0 < BUDDY_ORDERS && bsize(k0) < n) k0++;
    for (unsigned k = k0; k <= s->max_order; k++) {
        for (unsigned c = 0; c < BUDDY_CLASSES; c++) {
            for (uint32_t h = s->list[c][k].head; h != BASE_ILIST_END; h = *base_ilist_next(&s->shape, h)) {
                if (h + n - 1u <= hi) return h;
                if (++probes >= BUDDY_RUN_PROBES) return MM_NO_PFN;
            }
        }
    }
    return MM_NO_PFN;
}

/*
 * First fit over memory for the lowest aligned run of n free frames ending at or below hi
 * (MiFindContiguousPages' walk, by blocks): a candidate start s is checked by walking the
 * blocks from s (the first found with buddy_find, each next one is a head or not free);
 * at the first frame p that is not free the next candidate is the aligned frame after p.
 * Cost: O(candidates * blocks looked at), at most one entry look per frame below hi.
 */
static pfn_t buddy_run_by_scan(const mm_pfndb_t *db, const buddy_state_t *s, pfn_t n, pfn_t align, pfn_t hi)
{
    pfn_t start = 0;
    while (start <= hi && n - 1u <= hi - start) {
        pfn_t p = start, h;
        unsigned k;
        const mm_pfn_t *e = &db->pfn[p];
        if ((e->location == MM_ZEROED || e->location == MM_FREE) && buddy_find(db, s, p, &h, &k)) {
            p = h + bsize(k);
            while (p < start + n && buddy_is_head(&db->pfn[p])) p += bsize(db->pfn[p].order);
            if (p >= start + n) return start;
        }
        start = ntmm_align_up(p + 1u, align); /* p < 2^32, align <= 2^63: no overflow */
    }
    return MM_NO_PFN;
}

static pfn_t buddy_take_run(mm_pfndb_t *db, pfn_t n, pfn_t align, pfn_t highest)
{
    buddy_state_t *s = db->falloc_state;
    if (n == 0 || !ntmm_is_pow2(align) || n > s->free_frames) return MM_NO_PFN;
    pfn_t hi = highest < db->frames - 1u ? highest : db->frames - 1u;
    if (n - 1u > hi) return MM_NO_PFN;
    pfn_t start = buddy_run_by_block(s, n, align, hi);
    if (start == MM_NO_PFN) start = buddy_run_by_scan(db, s, n, align, hi);
    if (start == MM_NO_PFN) return MM_NO_PFN;
    bool ok = buddy_carve(db, s, start, start + n);
    NTMM_ASSERT(ok);
    (void)ok;
    return start;
}

static size_t buddy_take_dirty(mm_pfndb_t *db, pfn_t *out, size_t max)
{
    buddy_state_t *s = db->falloc_state;
    size_t n = 0;
    while (n < max && base_bitmap2_count_set(&s->dirty) > 0) {
        bool zeroed = true;
        out[n++] = buddy_take(db, false, &zeroed);
        NTMM_ASSERT(!zeroed);
    }
    return n;
}

static uint64_t buddy_count(const mm_pfndb_t *db, bool zeroed)
{
    const buddy_state_t *s = db->falloc_state;
    uint64_t dirty = base_bitmap2_count_set(&s->dirty);
    return zeroed ? s->free_frames - dirty : dirty;
}

/* Adjacent blocks in address order. O(blocks + frames that are not free). */
static uint64_t buddy_largest_run(const mm_pfndb_t *db)
{
    uint64_t best = 0, run = 0;
    for (pfn_t p = 0; p < db->frames;) {
        const mm_pfn_t *e = &db->pfn[p];
        if (buddy_is_head(e)) {
            run += bsize(e->order);
            p += bsize(e->order);
            if (run > best) best = run;
        } else {
            run = 0;
            p++;
        }
    }
    return best;
}

typedef struct buddy_check_ctx {
    const mm_pfndb_t *db;
    buddy_class_t cls;
    unsigned order;
} buddy_check_ctx_t;

static bool buddy_check_listed(void *ctx, uint32_t h)
{
    const buddy_check_ctx_t *c = ctx;
    const mm_pfn_t *e = &c->db->pfn[h];
    return buddy_is_head(e) && buddy_class(e) == c->cls && e->order == c->order &&
           (h & (bsize(c->order) - 1u)) == 0 && h + bsize(c->order) <= c->db->frames;
}

/*
 * The lists (links, counts, each member a head of the list's class and order, aligned and
 * inside the database), the nonempty masks, and a walk over memory: every free frame in
 * exactly one block, every frame of a block free with its dirty bit equal to "location
 * FREE", pure classes exact, no block whose buddy is a free block of the same order, no
 * dirty bit or head mark outside blocks; block count, frame count and dirty count as kept.
 */
static bool buddy_check(const mm_pfndb_t *db, pfn_t *bad)
{
    const buddy_state_t *s = db->falloc_state;
    uint64_t listed = 0, word = 0;
    *bad = MM_NO_PFN;
    if (!s || base_bitmap2_size(&s->dirty) != db->frames || !base_bitmap2_check(&s->dirty, &word)) return false;
    for (unsigned c = 0; c < BUDDY_CLASSES; c++) {
        for (unsigned k = 0; k < BUDDY_ORDERS; k++) {
            buddy_check_ctx_t ctx = { db, (buddy_class_t)c, k };
            uint32_t b;
            const base_ilist_t *l = &s->list[c][k];
            if (!base_ilist_check(l, &s->shape, db->frames, buddy_check_listed, &ctx, &b) ||
                ((s->nonempty[c] >> k) & 1u) != (l->count != 0) || (k > s->max_order && l->count != 0)) {
                *bad = b == BASE_ILIST_END ? MM_NO_PFN : b;
                return false;
            }
            listed += l->count;
        }
    }
    uint64_t heads = 0, in_blocks = 0, dirty = 0;
    for (pfn_t p = 0; p < db->frames;) {
        const mm_pfn_t *e = &db->pfn[p];
        if (!buddy_is_head(e)) {
            if (e->location == MM_ZEROED || e->location == MM_FREE || base_bitmap2_test(&s->dirty, p)) {
                *bad = p;
                return false;
            }
            p++;
            continue;
        }
        unsigned k = e->order;
        buddy_class_t c = buddy_class(e);
        *bad = p;
        if (k > s->max_order || (p & (bsize(k) - 1u)) || p + bsize(k) > db->frames) return false;
        pfn_t b = p ^ bsize(k);
        if (k < s->max_order && b + bsize(k) <= db->frames && buddy_is_head(&db->pfn[b]) && db->pfn[b].order == k)
            return false; /* two free buddies left apart */
        uint64_t nd = 0;
        for (pfn_t f = p; f < p + bsize(k); f++) {
            const mm_pfn_t *x = &db->pfn[f];
            bool d = x->location == MM_FREE;
            if ((x->location != MM_ZEROED && !d) || (f != p && buddy_is_head(x)) || base_bitmap2_test(&s->dirty, f) != d) {
                *bad = f;
                return false;
            }
            nd += d;
        }
        if ((c == BUDDY_ZEROED && nd != 0) || (c == BUDDY_DIRTY && nd != bsize(k))) return false;
        heads++;
        in_blocks += bsize(k);
        dirty += nd;
        p += bsize(k);
    }
    *bad = MM_NO_PFN;
    return heads == listed && in_blocks == s->free_frames && dirty == base_bitmap2_count_set(&s->dirty);
}

int mm_falloc_buddy_blocks(const mm_pfndb_t *db, uint64_t *counts, unsigned n)
{
    const buddy_state_t *s = db->falloc_state;
    if (db->falloc != &mm_falloc_buddy || !s) return -1;
    for (unsigned k = 0; k < n && k < BUDDY_ORDERS; k++) {
        counts[k] = 0;
        for (unsigned c = 0; c < BUDDY_CLASSES; c++) counts[k] += s->list[c][k].count;
    }
    return (int)s->max_order;
}

const mm_falloc_ops_t mm_falloc_buddy = {
    "buddy", buddy_init, buddy_destroy, buddy_give, buddy_take, buddy_take_frame, buddy_take_run,
    buddy_take_dirty, buddy_count, buddy_largest_run, buddy_check,
};
