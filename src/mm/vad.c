/*
 * vad.c - the per-process VAD tree (vad.h): NT's MiLocateAddress, MiCheckForConflictingNode,
 * MiInsertVad, MiRemoveVad, the partial-release split of NtFreeVirtualMemory, and the free
 * range searches MiFindEmptyAddressRange / MiFindEmptyAddressRangeDownTree, on the generic
 * AVL tree (base/avl.h) with one subtree summary.
 *
 * The summary. For a VAD v with predecessor p (or the bottom of the user space):
 *
 *        p.end  granule boundary                 v.start
 *   ...###|....:................................|###...
 *          free |<---------- v.gap_ ----------->|
 *               first multiple of 16 pages >= p.end + 1
 *
 * gap_ counts the pages from that boundary to v.start (0 if the boundary is at or past
 * v.start): exactly the room a new reservation has there, since reservations start on the
 * granule. max_gap_ is the largest gap_ in v's subtree. The free run above the highest VAD
 * (the "tail") belongs to no VAD and is looked at separately.
 *
 * A search for n pages only visits VADs whose gap_ >= n: from a VAD it finds the next (or
 * previous) such VAD in O(log n) by skipping subtrees whose max_gap_ < n. Any alignment
 * allowed is a multiple of the granule, so gap_ >= n is necessary for a fit; for the
 * granule itself it is also sufficient, which makes the common search O(log n).
 */
#include "mm/vad.h"

#include "base/debug.h"

#define VAD(n)  MM_VAD_FROM_NODE(n)
#define CVAD(n) BASE_AVL_CENTRY(n, mm_vad_t, node)

static inline vpn_t vmax(vpn_t a, vpn_t b) { return a > b ? a : b; }
static inline vpn_t vmin(vpn_t a, vpn_t b) { return a < b ? a : b; }

static mm_vad_t *hint_get(const mm_vad_tree_t *t) { return __atomic_load_n(&t->hint, __ATOMIC_RELAXED); }
static void hint_set(mm_vad_tree_t *t, mm_vad_t *v) { __atomic_store_n(&t->hint, v, __ATOMIC_RELAXED); }

/* --- orders and the summary --------------------------------------------------------------- */

/* A page against a VAD's whole range: inside it matches. */
static int key_range(const void *key, const base_avl_node_t *n, void *ctx)
{
    (void)ctx;
    vpn_t vpn = *(const vpn_t *)key;
    const mm_vad_t *v = CVAD(n);
    return vpn < v->start_vpn ? -1 : vpn > v->end_vpn ? 1 : 0;
}

/* A page against a VAD's start only. */
static int key_start(const void *key, const base_avl_node_t *n, void *ctx)
{
    (void)ctx;
    vpn_t vpn = *(const vpn_t *)key, s = CVAD(n)->start_vpn;
    return vpn < s ? -1 : vpn > s;
}

static int cmp_start(const base_avl_node_t *a, const base_avl_node_t *b, void *ctx)
{
    (void)ctx;
    vpn_t x = CVAD(a)->start_vpn, y = CVAD(b)->start_vpn;
    return x < y ? -1 : x > y;
}

static uint64_t max_gap_of(const base_avl_node_t *n) { return n ? CVAD(n)->max_gap_ : 0; }

static uint64_t subtree_max(const base_avl_node_t *n)
{
    uint64_t m = CVAD(n)->gap_, l = max_gap_of(n->left), r = max_gap_of(n->right);
    if (l > m) m = l;
    return r > m ? r : m;
}

static void vad_augment(base_avl_node_t *n) { VAD(n)->max_gap_ = subtree_max(n); }

/* Pages from the first granule boundary at or after `free_start` up to `end` (exclusive). */
static uint64_t usable(vpn_t free_start, vpn_t end)
{
    vpn_t s = ntmm_align_up(free_start, MM_VAD_GRANULE_PAGES);
    return s < end ? end - s : 0;
}

static vpn_t free_start_below(const mm_vad_tree_t *t, const mm_vad_t *v)
{
    const mm_vad_t *p = mm_vad_prev(v);
    return p ? p->end_vpn + 1u : t->lowest_vpn;
}

/* Recomputes v's gap_ after its start or its predecessor changed, and the summaries above. */
static void refresh(mm_vad_tree_t *t, mm_vad_t *v)
{
    if (!v) return;
    uint64_t g = usable(free_start_below(t, v), v->start_vpn);
    if (g == v->gap_) return;
    v->gap_ = g;
    base_avl_augment_path(&t->avl, &v->node);
}

/* --- the tree ------------------------------------------------------------------------------ */

void mm_vad_tree_init(mm_vad_tree_t *t, vpn_t lowest_vpn, vpn_t highest_vpn)
{
    NTMM_ASSERT(lowest_vpn <= highest_vpn);
    base_avl_init_augmented(&t->avl, vad_augment);
    t->hint = NULL;
    t->lowest_vpn = lowest_vpn;
    t->highest_vpn = highest_vpn;
}

typedef struct drain_ctx {
    void (*fn)(mm_vad_t *vad, void *ctx);
    void *ctx;
} drain_ctx_t;

static void drain_one(base_avl_node_t *n, void *ctx)
{
    const drain_ctx_t *d = ctx;
    if (d->fn) d->fn(VAD(n), d->ctx);
}

void mm_vad_tree_drain(mm_vad_tree_t *t, void (*fn)(mm_vad_t *vad, void *ctx), void *ctx)
{
    drain_ctx_t d = { fn, ctx };
    hint_set(t, NULL);
    base_avl_drain(&t->avl, drain_one, &d);
}

void mm_vad_init(mm_vad_t *vad, vpn_t start_vpn, vpn_t end_vpn, mm_vad_kind_t kind, uint32_t protection,
                 uint32_t flags)
{
    memset(vad, 0, sizeof *vad);
    vad->start_vpn = start_vpn;
    vad->end_vpn = end_vpn;
    vad->kind = kind;
    vad->protection = protection;
    vad->flags = flags;
}

/* --- lookups ------------------------------------------------------------------------------- */

mm_vad_t *mm_vad_find(mm_vad_tree_t *t, vpn_t vpn)
{
    mm_vad_t *h = hint_get(t);
    if (h && h->start_vpn <= vpn && vpn <= h->end_vpn) return h;
    base_avl_node_t *n = base_avl_find(&t->avl, &vpn, key_range, NULL);
    if (!n) return NULL;
    hint_set(t, VAD(n));
    return VAD(n);
}

mm_vad_t *mm_vad_find_at_or_above(const mm_vad_tree_t *t, vpn_t vpn)
{
    base_avl_node_t *n = base_avl_lower_bound(&t->avl, &vpn, key_range, NULL);
    return n ? VAD(n) : NULL;
}

mm_vad_t *mm_vad_conflict(const mm_vad_tree_t *t, vpn_t first, vpn_t last)
{
    NTMM_ASSERT(first <= last);
    mm_vad_t *v = mm_vad_find_at_or_above(t, first); /* the first VAD ending at or after first */
    return v && v->start_vpn <= last ? v : NULL;
}

bool mm_vad_free_range(const mm_vad_tree_t *t, vpn_t vpn, vpn_t *first, vpn_t *last)
{
    if (vpn < t->lowest_vpn || vpn > t->highest_vpn) return false;
    mm_vad_t *above = mm_vad_find_at_or_above(t, vpn);
    if (above && above->start_vpn <= vpn) return false;
    mm_vad_t *below = above ? mm_vad_prev(above) : mm_vad_last(t);
    *first = below ? below->end_vpn + 1u : t->lowest_vpn;
    *last = above ? above->start_vpn - 1u : t->highest_vpn;
    return true;
}

mm_vad_t *mm_vad_first(const mm_vad_tree_t *t)
{
    base_avl_node_t *n = base_avl_first(&t->avl);
    return n ? VAD(n) : NULL;
}

mm_vad_t *mm_vad_last(const mm_vad_tree_t *t)
{
    base_avl_node_t *n = base_avl_last(&t->avl);
    return n ? VAD(n) : NULL;
}

mm_vad_t *mm_vad_next(const mm_vad_t *vad)
{
    base_avl_node_t *n = base_avl_next(&vad->node);
    return n ? VAD(n) : NULL;
}

mm_vad_t *mm_vad_prev(const mm_vad_t *vad)
{
    base_avl_node_t *n = base_avl_prev(&vad->node);
    return n ? VAD(n) : NULL;
}

/* --- changes ------------------------------------------------------------------------------- */

ntmm_status_t mm_vad_insert(mm_vad_tree_t *t, mm_vad_t *vad)
{
    if (vad->start_vpn > vad->end_vpn || vad->start_vpn < t->lowest_vpn || vad->end_vpn > t->highest_vpn)
        return NTMM_STATUS_INVALID_PARAMETER;
    base_avl_where_t where;
    if (base_avl_locate(&t->avl, &vad->start_vpn, key_range, NULL, &where))
        return NTMM_STATUS_CONFLICTING_ADDRESSES; /* a VAD holds the first page */
    /* No VAD holds the first page, so the one before ends below it; the one after must start
     * above the last page. */
    base_avl_node_t *succ = !where.parent ? NULL
                            : where.side == BASE_AVL_LEFT ? where.parent
                                                          : base_avl_next(where.parent);
    if (succ && VAD(succ)->start_vpn <= vad->end_vpn) return NTMM_STATUS_CONFLICTING_ADDRESSES;
    /* Both gaps change: vad's own, and its successor's (vad is its new predecessor). The
     * successor is an ancestor of the new leaf (the parent, or the ancestor the search last
     * turned left at), so the summary pass of the insert covers both. */
    base_avl_node_t *pred = !where.parent ? NULL
                            : where.side == BASE_AVL_RIGHT ? where.parent
                                                           : base_avl_prev(where.parent);
    vad->gap_ = vad->max_gap_ = usable(pred ? VAD(pred)->end_vpn + 1u : t->lowest_vpn, vad->start_vpn);
    if (succ) VAD(succ)->gap_ = usable(vad->end_vpn + 1u, VAD(succ)->start_vpn);
    base_avl_insert_at(&t->avl, &vad->node, where);
    hint_set(t, vad);
    return NTMM_STATUS_SUCCESS;
}

void mm_vad_remove(mm_vad_tree_t *t, mm_vad_t *vad)
{
    mm_vad_t *succ = mm_vad_next(vad);
    if (hint_get(t) == vad) hint_set(t, NULL);
    base_avl_remove(&t->avl, &vad->node);
    refresh(t, succ);
}

mm_vad_split_result_t mm_vad_split(mm_vad_tree_t *t, mm_vad_t *vad, vpn_t first, vpn_t last, mm_vad_t *tail)
{
    NTMM_ASSERT(vad->start_vpn <= first && first <= last && last <= vad->end_vpn);
    if (first == vad->start_vpn && last == vad->end_vpn) {
        mm_vad_remove(t, vad);
        return MM_VAD_SPLIT_NONE_LEFT;
    }
    if (first == vad->start_vpn) {
        vad->start_vpn = last + 1u; /* stays between the same neighbours: order kept */
        refresh(t, vad);
        return MM_VAD_SPLIT_KEPT_HIGH;
    }
    if (last == vad->end_vpn) {
        vad->end_vpn = first - 1u;
        refresh(t, mm_vad_next(vad));
        return MM_VAD_SPLIT_KEPT_LOW;
    }
    NTMM_ASSERT(tail != NULL && tail != vad);
    vpn_t old_end = vad->end_vpn;
    vad->end_vpn = first - 1u;
    mm_vad_init(tail, last + 1u, old_end, vad->kind, vad->protection, vad->flags);
    tail->owner = vad->owner;
    /* The tail follows vad directly: vad's right link if free, else before vad's successor,
     * the leftmost node of vad's right subtree. */
    base_avl_where_t where = { &vad->node, BASE_AVL_RIGHT };
    if (vad->node.right) {
        base_avl_node_t *m = vad->node.right;
        while (m->left) m = m->left;
        where.parent = m;
        where.side = BASE_AVL_LEFT;
    }
    base_avl_insert_at(&t->avl, &tail->node, where);
    refresh(t, tail);
    /* The VAD after the tail keeps its gap: its predecessor still ends at old_end. */
    return MM_VAD_SPLIT_KEPT_BOTH;
}

/* --- free-range search ---------------------------------------------------------------------- */

#define MM_MAX_ZERO_BITS 21u /* NT's MM_MAXIMUM_ZERO_BITS */

ntmm_status_t mm_vad_zero_bits_limit(uint64_t zero_bits, bool masks_allowed, va_t *highest)
{
    if (zero_bits == 0) {
        *highest = UINT64_MAX;
        return NTMM_STATUS_SUCCESS;
    }
    if (zero_bits <= MM_MAX_ZERO_BITS) {
        *highest = ((uint64_t)1 << (32u - zero_bits)) - 1u;
        return NTMM_STATUS_SUCCESS;
    }
    if (zero_bits < 32u || !masks_allowed) return NTMM_STATUS_INVALID_PARAMETER_3;
    uint64_t m = zero_bits; /* smear the highest set bit downwards */
    m |= m >> 1;
    m |= m >> 2;
    m |= m >> 4;
    m |= m >> 8;
    m |= m >> 16;
    m |= m >> 32;
    *highest = m;
    return NTMM_STATUS_SUCCESS;
}

/* The last page that ends at or below address h, or false if none does. */
static bool last_page_at_or_below(va_t h, vpn_t *vpn)
{
    if (h == UINT64_MAX) {
        *vpn = h >> NTMM_PAGE_SHIFT;
        return true;
    }
    if (h < NTMM_PAGE_MASK) return false;
    *vpn = ((h + 1u) >> NTMM_PAGE_SHIFT) - 1u;
    return true;
}

/* The lowest a-aligned s with lo <= s and s + n - 1 <= hi. */
static bool fit_low(vpn_t lo, vpn_t hi, uint64_t n, uint64_t a, vpn_t *s)
{
    if (lo > hi) return false;
    vpn_t x = ntmm_align_up(lo, a);
    if (x < lo || x > hi || hi - x < n - 1u) return false;
    *s = x;
    return true;
}

/* The highest a-aligned s with lo <= s and s + n - 1 <= hi. */
static bool fit_high(vpn_t lo, vpn_t hi, uint64_t n, uint64_t a, vpn_t *s)
{
    if (lo > hi || hi - lo < n - 1u) return false;
    vpn_t x = ntmm_align_down(hi - (n - 1u), a);
    if (x < lo) return false;
    *s = x;
    return true;
}

/* In n's subtree (whose max_gap_ >= need), the first / last VAD with gap_ >= need. */
static base_avl_node_t *subtree_first_fit(base_avl_node_t *n, uint64_t need)
{
    while (n) {
        if (max_gap_of(n->left) >= need)
            n = n->left;
        else if (VAD(n)->gap_ >= need)
            return n;
        else
            n = n->right;
    }
    return NULL;
}

static base_avl_node_t *subtree_last_fit(base_avl_node_t *n, uint64_t need)
{
    while (n) {
        if (max_gap_of(n->right) >= need)
            n = n->right;
        else if (VAD(n)->gap_ >= need)
            return n;
        else
            n = n->left;
    }
    return NULL;
}

/* The next / previous VAD after / before v, in address order, with gap_ >= need. O(log n). */
static mm_vad_t *next_fit(const mm_vad_t *v, uint64_t need)
{
    const base_avl_node_t *x = &v->node;
    if (max_gap_of(x->right) >= need) return VAD(subtree_first_fit(x->right, need));
    for (base_avl_node_t *p = x->parent; p; x = p, p = p->parent) {
        if (p->left != x) continue;
        if (VAD(p)->gap_ >= need) return VAD(p);
        if (max_gap_of(p->right) >= need) return VAD(subtree_first_fit(p->right, need));
    }
    return NULL;
}

static mm_vad_t *prev_fit(const mm_vad_t *v, uint64_t need)
{
    const base_avl_node_t *x = &v->node;
    if (max_gap_of(x->left) >= need) return VAD(subtree_last_fit(x->left, need));
    for (base_avl_node_t *p = x->parent; p; x = p, p = p->parent) {
        if (p->right != x) continue;
        if (VAD(p)->gap_ >= need) return VAD(p);
        if (max_gap_of(p->left) >= need) return VAD(subtree_last_fit(p->left, need));
    }
    return NULL;
}

/* Where the tail (the free run above the highest VAD) may start a reservation. */
static vpn_t tail_start(const mm_vad_tree_t *t)
{
    const mm_vad_t *last = mm_vad_last(t);
    return ntmm_align_up(last ? last->end_vpn + 1u : t->lowest_vpn, MM_VAD_GRANULE_PAGES);
}

ntmm_status_t mm_vad_find_free(const mm_vad_tree_t *t, const mm_vad_gap_request_t *req, vpn_t *start_vpn)
{
    va_t zb_high;
    ntmm_status_t st = mm_vad_zero_bits_limit(req->zero_bits, req->masks_allowed, &zb_high);
    if (st != NTMM_STATUS_SUCCESS) return st;
    uint64_t align = req->alignment ? req->alignment : MM_VAD_GRANULARITY;
    va_t space_high = (t->highest_vpn << NTMM_PAGE_SHIFT) | NTMM_PAGE_MASK;
    if (req->size == 0 || !ntmm_is_pow2(align) || align < MM_VAD_GRANULARITY ||
        (req->lowest & (MM_VAD_GRANULARITY - 1u)) != 0 || req->lowest > space_high ||
        req->highest > space_high || (req->highest != 0 && req->lowest > req->highest))
        return NTMM_STATUS_INVALID_PARAMETER;

    uint64_t n = (req->size >> NTMM_PAGE_SHIFT) + ((req->size & NTMM_PAGE_MASK) != 0);
    uint64_t a = align >> NTMM_PAGE_SHIFT;
    vpn_t lo = vmax(t->lowest_vpn, req->lowest >> NTMM_PAGE_SHIFT), hi = t->highest_vpn, lim;
    if (req->highest != 0) {
        if (!last_page_at_or_below(req->highest, &lim)) return NTMM_STATUS_NO_MEMORY;
        hi = vmin(hi, lim);
    }
    if (!last_page_at_or_below(zb_high, &lim)) return NTMM_STATUS_NO_MEMORY;
    hi = vmin(hi, lim);
    if (lo > hi || hi - lo < n - 1u) return NTMM_STATUS_NO_MEMORY;

    vpn_t s;
    if (!req->top_down) {
        /* Gaps from the one that holds (or follows) lo upwards, then the tail. */
        base_avl_node_t *first = base_avl_upper_bound(&t->avl, &lo, key_start, NULL);
        mm_vad_t *v = first ? VAD(first) : NULL;
        if (v && v->gap_ < n) v = next_fit(v, n);
        for (; v; v = next_fit(v, n)) {
            vpn_t gs = v->start_vpn - v->gap_;
            if (gs > hi) break; /* this gap and all after it start above the limit */
            if (fit_low(vmax(gs, lo), vmin(v->start_vpn - 1u, hi), n, a, &s)) goto found;
        }
        if (!v && fit_low(vmax(tail_start(t), lo), hi, n, a, &s)) goto found;
        return NTMM_STATUS_NO_MEMORY;
    }
    /* Top down: the tail, then gaps from the one that holds (or precedes) hi downwards. */
    if (fit_high(vmax(tail_start(t), lo), hi, n, a, &s)) goto found;
    base_avl_node_t *above = base_avl_upper_bound(&t->avl, &hi, key_start, NULL);
    mm_vad_t *v = above ? VAD(above) : mm_vad_last(t);
    if (v && v->gap_ < n) v = prev_fit(v, n);
    for (; v; v = prev_fit(v, n)) {
        if (v->start_vpn <= lo) break; /* this gap and all before it end below the limit */
        vpn_t gs = v->start_vpn - v->gap_;
        if (fit_high(vmax(gs, lo), vmin(v->start_vpn - 1u, hi), n, a, &s)) goto found;
    }
    return NTMM_STATUS_NO_MEMORY;
found:
    *start_vpn = s;
    return NTMM_STATUS_SUCCESS;
}

/* --- validation ---------------------------------------------------------------------------- */

bool mm_vad_check(const mm_vad_tree_t *t, const mm_vad_t **bad)
{
    const mm_vad_t *dummy;
    if (!bad) bad = &dummy;
    *bad = NULL;
    if (t->avl.augment != vad_augment || t->lowest_vpn > t->highest_vpn) return false;
    const base_avl_node_t *bn;
    if (!base_avl_check(&t->avl, cmp_start, NULL, &bn)) {
        *bad = bn ? CVAD(bn) : NULL;
        return false;
    }
    const mm_vad_t *prev = NULL;
    for (const mm_vad_t *v = mm_vad_first(t); v; prev = v, v = mm_vad_next(v)) {
        vpn_t free_start = prev ? prev->end_vpn + 1u : t->lowest_vpn;
        if (v->start_vpn > v->end_vpn || v->start_vpn < t->lowest_vpn || v->end_vpn > t->highest_vpn ||
            (prev && prev->end_vpn >= v->start_vpn) || (unsigned)v->kind > MM_VAD_IMAGE ||
            v->gap_ != usable(free_start, v->start_vpn) || v->max_gap_ != subtree_max(&v->node)) {
            *bad = v;
            return false;
        }
    }
    const mm_vad_t *h = hint_get(t);
    if (h && base_avl_find(&t->avl, &h->start_vpn, key_range, NULL) != &h->node) {
        *bad = h;
        return false;
    }
    return true;
}
