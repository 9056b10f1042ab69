/*
 * bitmap.c - RTL_BITMAP-like bitmaps and their two-level variant (see bitmap.h).
 *
 * Every search is built on one primitive, next_in(): the first bit of a given value in a
 * range, a word at a time, optionally skipping words by a summary bitmap whose bit w says
 * "word w holds a bit of that value". Run searches alternate next(value) and next(!value),
 * so they cost one pass over the range.
 */
#include "base/bitmap.h"

#include <stdlib.h>
#include <string.h>

#define WORD_BITS 64u

static inline unsigned ctz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1u)) { x >>= 1; n++; }
    return n;
#endif
}

static inline unsigned popcount64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_popcountll(x);
#else
    unsigned n = 0;
    for (; x; x &= x - 1u) n++;
    return n;
#endif
}

/* Bits [lo, 64) of a word. */
static inline uint64_t mask_from(unsigned lo) { return ~(uint64_t)0 << lo; }
/* Bits [0, hi) of a word, hi in 1..64. */
static inline uint64_t mask_below(unsigned hi) { return hi >= 64u ? ~(uint64_t)0 : (((uint64_t)1 << hi) - 1u); }

/*
 * The first index in [from, limit) whose bit in `words` equals `value`, or BASE_BITMAP_NONE.
 * limit must not exceed the map (so the inverted phantom tail is never reached). summary,
 * if not NULL, has bit w set whenever word w may hold a bit of `value` (and clear only if it
 * holds none): words whose summary bit is clear are skipped.
 */
static uint64_t next_in(const uint64_t *words, const uint64_t *summary, bool value, uint64_t from,
                        uint64_t limit)
{
    if (from >= limit) return BASE_BITMAP_NONE;
    uint64_t flip = value ? 0 : ~(uint64_t)0;
    uint64_t w = from / WORD_BITS, last = (limit - 1u) / WORD_BITS;
    uint64_t x = (words[w] ^ flip) & mask_from((unsigned)(from % WORD_BITS));
    for (;;) {
        if (x) {
            uint64_t r = w * WORD_BITS + ctz64(x);
            return r < limit ? r : BASE_BITMAP_NONE;
        }
        if (w >= last) return BASE_BITMAP_NONE;
        if (summary) {
            w = next_in(summary, NULL, true, w + 1u, last + 1u);
            if (w == BASE_BITMAP_NONE) return BASE_BITMAP_NONE;
        } else {
            w++;
        }
        x = words[w] ^ flip;
    }
}

/* x rounded up to a multiple of a (a 0 or 1: x); false on overflow. */
static inline bool align_up(uint64_t x, uint64_t a, uint64_t *out)
{
    uint64_t r;
    if (a <= 1u) r = 0;
    else if ((a & (a - 1u)) == 0) r = x & (a - 1u);
    else r = x % a;
    if (r == 0) {
        *out = x;
        return true;
    }
    if (x > UINT64_MAX - (a - r)) return false;
    *out = x + (a - r);
    return true;
}

/* The first index in [from, limit) set in a or in b (no summaries), or BASE_BITMAP_NONE. */
static uint64_t next_set_or(const uint64_t *a, const uint64_t *b, uint64_t from, uint64_t limit)
{
    if (from >= limit) return BASE_BITMAP_NONE;
    uint64_t w = from / WORD_BITS, last = (limit - 1u) / WORD_BITS;
    uint64_t x = (a[w] | b[w]) & mask_from((unsigned)(from % WORD_BITS));
    while (!x) {
        if (w >= last) return BASE_BITMAP_NONE;
        w++;
        x = a[w] | b[w];
    }
    uint64_t r = w * WORD_BITS + ctz64(x);
    return r < limit ? r : BASE_BITMAP_NONE;
}

/*
 * What a search looks at: a map, or the union of two maps of the same size (words2), with
 * the summaries that let it skip words. For a union, a word has a set bit if either map's
 * summary says so; no summary tells that the union word has a clear bit.
 */
typedef struct view {
    const uint64_t *words;
    const uint64_t *words2;    /* OR'ed into words (NULL: a single map) */
    uint64_t bits;
    const uint64_t *has_set;   /* summary for value true (NULL: none) */
    const uint64_t *has_set2;  /* with words2: the second map's summary for value true */
    const uint64_t *has_clear; /* summary for value false (single maps only) */
} view_t;

static uint64_t view_next(const view_t *v, bool value, uint64_t from, uint64_t limit)
{
    if (limit > v->bits) limit = v->bits;
    if (!v->words2) return next_in(v->words, value ? v->has_set : v->has_clear, value, from, limit);
    if (from >= limit) return BASE_BITMAP_NONE;
    uint64_t flip = value ? 0 : ~(uint64_t)0;
    uint64_t w = from / WORD_BITS, last = (limit - 1u) / WORD_BITS;
    uint64_t x = ((v->words[w] | v->words2[w]) ^ flip) & mask_from((unsigned)(from % WORD_BITS));
    for (;;) {
        if (x) {
            uint64_t r = w * WORD_BITS + ctz64(x);
            return r < limit ? r : BASE_BITMAP_NONE;
        }
        if (w >= last) return BASE_BITMAP_NONE;
        if (value && v->has_set) {
            w = next_set_or(v->has_set, v->has_set2, w + 1u, last + 1u);
            if (w == BASE_BITMAP_NONE) return BASE_BITMAP_NONE;
        } else {
            w++;
        }
        x = (v->words[w] | v->words2[w]) ^ flip;
    }
}

static uint64_t view_find_run(const view_t *v, bool value, uint64_t n, uint64_t align, uint64_t lo,
                              uint64_t hi)
{
    if (hi > v->bits) hi = v->bits;
    if (n == 0 || n > hi || lo > hi - n) return BASE_BITMAP_NONE;
    uint64_t last_start = hi - n, p = lo;
    for (;;) {
        uint64_t s = view_next(v, value, p, hi);
        if (s == BASE_BITMAP_NONE || !align_up(s, align, &s) || s > last_start) return BASE_BITMAP_NONE;
        uint64_t q = view_next(v, !value, s, s + n);
        if (q == BASE_BITMAP_NONE) return s;
        p = q + 1u;
    }
}

static uint64_t view_longest_run(const view_t *v, bool value, uint64_t *start)
{
    uint64_t best = 0, best_start = BASE_BITMAP_NONE, p = 0;
    while (p < v->bits) {
        uint64_t s = view_next(v, value, p, v->bits);
        if (s == BASE_BITMAP_NONE) break;
        uint64_t e = view_next(v, !value, s, v->bits);
        if (e == BASE_BITMAP_NONE) e = v->bits;
        if (e - s > best) {
            best = e - s;
            best_start = s;
        }
        p = e;
    }
    if (start) *start = best_start;
    return best;
}

static inline bool range_ok(uint64_t bits, uint64_t start, uint64_t n)
{
    return start <= bits && n <= bits - start;
}

/* --- one level ---------------------------------------------------------------------------- */

static inline view_t view1(const base_bitmap_t *b)
{
    return (view_t){ b->words, NULL, b->bits, NULL, NULL, NULL };
}

void base_bitmap_init(base_bitmap_t *b, uint64_t *words, uint64_t bits)
{
    b->words = words;
    b->bits = bits;
}

bool base_bitmap_create(base_bitmap_t *b, uint64_t bits)
{
    uint64_t n = base_bitmap_words(bits);
    if (n > SIZE_MAX / sizeof(uint64_t)) return false;
    uint64_t *w = calloc(n ? (size_t)n : 1u, sizeof(uint64_t));
    if (!w) return false;
    base_bitmap_init(b, w, bits);
    return true;
}

void base_bitmap_destroy(base_bitmap_t *b)
{
    free(b->words);
    b->words = NULL;
    b->bits = 0;
}

/* Applies op (set or clear) to [start, start+n) clipped to the map. */
static void fill_bits(base_bitmap_t *b, uint64_t start, uint64_t n, bool value)
{
    if (start >= b->bits) return;
    if (n > b->bits - start) n = b->bits - start;
    if (n == 0) return;
    uint64_t end = start + n, w = start / WORD_BITS, last = (end - 1u) / WORD_BITS;
    for (; w <= last; w++) {
        uint64_t m = ~(uint64_t)0;
        if (w == start / WORD_BITS) m &= mask_from((unsigned)(start % WORD_BITS));
        if (w == last) m &= mask_below((unsigned)(end - last * WORD_BITS));
        if (value) b->words[w] |= m;
        else b->words[w] &= ~m;
    }
}

void base_bitmap_set_bits(base_bitmap_t *b, uint64_t start, uint64_t n) { fill_bits(b, start, n, true); }
void base_bitmap_clear_bits(base_bitmap_t *b, uint64_t start, uint64_t n) { fill_bits(b, start, n, false); }
void base_bitmap_set_all(base_bitmap_t *b) { fill_bits(b, 0, b->bits, true); }
void base_bitmap_clear_all(base_bitmap_t *b) { fill_bits(b, 0, b->bits, false); }

bool base_bitmap_are_bits_set(const base_bitmap_t *b, uint64_t start, uint64_t n)
{
    view_t v = view1(b);
    return range_ok(b->bits, start, n) && view_next(&v, false, start, start + n) == BASE_BITMAP_NONE;
}

bool base_bitmap_are_bits_clear(const base_bitmap_t *b, uint64_t start, uint64_t n)
{
    view_t v = view1(b);
    return range_ok(b->bits, start, n) && view_next(&v, true, start, start + n) == BASE_BITMAP_NONE;
}

uint64_t base_bitmap_count_set_range(const base_bitmap_t *b, uint64_t start, uint64_t n)
{
    if (start >= b->bits) return 0;
    if (n > b->bits - start) n = b->bits - start;
    if (n == 0) return 0;
    uint64_t end = start + n, w = start / WORD_BITS, last = (end - 1u) / WORD_BITS, c = 0;
    for (; w <= last; w++) {
        uint64_t x = b->words[w];
        if (w == start / WORD_BITS) x &= mask_from((unsigned)(start % WORD_BITS));
        if (w == last) x &= mask_below((unsigned)(end - last * WORD_BITS));
        c += popcount64(x);
    }
    return c;
}

uint64_t base_bitmap_count_set(const base_bitmap_t *b) { return base_bitmap_count_set_range(b, 0, b->bits); }

uint64_t base_bitmap_next(const base_bitmap_t *b, bool value, uint64_t from, uint64_t limit)
{
    view_t v = view1(b);
    return view_next(&v, value, from, limit);
}

uint64_t base_bitmap_find_run(const base_bitmap_t *b, bool value, uint64_t n, uint64_t align,
                              uint64_t lo, uint64_t hi)
{
    view_t v = view1(b);
    return view_find_run(&v, value, n, align, lo, hi);
}

/* RtlFindClearBits' order: [hint, end), then runs starting below hint. */
static uint64_t find_hinted(const base_bitmap_t *b, bool value, uint64_t n, uint64_t hint)
{
    if (n == 0 || n > b->bits) return BASE_BITMAP_NONE;
    if (hint >= b->bits) hint = 0;
    uint64_t r = base_bitmap_find_run(b, value, n, 1, hint, b->bits);
    if (r == BASE_BITMAP_NONE && hint > 0) {
        uint64_t hi = hint + n - 1u; /* the run must start below hint */
        r = base_bitmap_find_run(b, value, n, 1, 0, hi < b->bits ? hi : b->bits);
    }
    return r;
}

uint64_t base_bitmap_find_clear(const base_bitmap_t *b, uint64_t n, uint64_t hint)
{
    return find_hinted(b, false, n, hint);
}

uint64_t base_bitmap_find_set(const base_bitmap_t *b, uint64_t n, uint64_t hint)
{
    return find_hinted(b, true, n, hint);
}

uint64_t base_bitmap_find_clear_and_set(base_bitmap_t *b, uint64_t n, uint64_t hint)
{
    uint64_t r = find_hinted(b, false, n, hint);
    if (r != BASE_BITMAP_NONE) base_bitmap_set_bits(b, r, n);
    return r;
}

uint64_t base_bitmap_find_set_and_clear(base_bitmap_t *b, uint64_t n, uint64_t hint)
{
    uint64_t r = find_hinted(b, true, n, hint);
    if (r != BASE_BITMAP_NONE) base_bitmap_clear_bits(b, r, n);
    return r;
}

uint64_t base_bitmap_longest_run(const base_bitmap_t *b, bool value, uint64_t *start)
{
    view_t v = view1(b);
    return view_longest_run(&v, value, start);
}

/* --- two levels --------------------------------------------------------------------------- */

static inline view_t view2(const base_bitmap2_t *b)
{
    return (view_t){ b->map.words, NULL, b->map.bits, b->nonempty.words, NULL, b->nonfull.words };
}

bool base_bitmap2_create(base_bitmap2_t *b, uint64_t bits)
{
    memset(b, 0, sizeof *b);
    uint64_t nwords = base_bitmap_words(bits);
    if (!base_bitmap_create(&b->map, bits) || !base_bitmap_create(&b->nonempty, nwords) ||
        !base_bitmap_create(&b->nonfull, nwords)) {
        base_bitmap2_destroy(b);
        return false;
    }
    base_bitmap_set_all(&b->nonfull);
    b->set = 0;
    b->hint_set = nwords;
    b->hint_clear = 0;
    return true;
}

void base_bitmap2_destroy(base_bitmap2_t *b)
{
    base_bitmap_destroy(&b->map);
    base_bitmap_destroy(&b->nonempty);
    base_bitmap_destroy(&b->nonfull);
    b->set = b->hint_set = b->hint_clear = 0;
}

/* Writes map word w and brings its summary bits, the count and the hints along. */
static inline void word_update(base_bitmap2_t *b, uint64_t w, uint64_t now)
{
    uint64_t old = b->map.words[w];
    if (now == old) return;
    b->map.words[w] = now;
    b->set = b->set - popcount64(old) + popcount64(now);
    uint64_t full = base_bitmap2_word_mask_(b, w);
    if (now) {
        base_bitmap_set_bit(&b->nonempty, w);
        if (w < b->hint_set) b->hint_set = w;
    } else {
        base_bitmap_clear_bit(&b->nonempty, w);
    }
    if (now != full) {
        base_bitmap_set_bit(&b->nonfull, w);
        if (w < b->hint_clear) b->hint_clear = w;
    } else {
        base_bitmap_clear_bit(&b->nonfull, w);
    }
}

static uint64_t fill2(base_bitmap2_t *b, uint64_t start, uint64_t n, bool value)
{
    if (start >= b->map.bits) return 0;
    if (n > b->map.bits - start) n = b->map.bits - start;
    if (n == 0) return 0;
    uint64_t before = b->set;
    uint64_t end = start + n, w = start / WORD_BITS, last = (end - 1u) / WORD_BITS;
    for (; w <= last; w++) {
        uint64_t m = ~(uint64_t)0;
        if (w == start / WORD_BITS) m &= mask_from((unsigned)(start % WORD_BITS));
        if (w == last) m &= mask_below((unsigned)(end - last * WORD_BITS));
        word_update(b, w, value ? b->map.words[w] | m : b->map.words[w] & ~m);
    }
    return value ? b->set - before : before - b->set;
}

uint64_t base_bitmap2_set_bits(base_bitmap2_t *b, uint64_t start, uint64_t n) { return fill2(b, start, n, true); }
uint64_t base_bitmap2_clear_bits(base_bitmap2_t *b, uint64_t start, uint64_t n) { return fill2(b, start, n, false); }

uint64_t base_bitmap2_first_set(base_bitmap2_t *b)
{
    uint64_t w = next_in(b->nonempty.words, NULL, true, b->hint_set, b->nonempty.bits);
    if (w == BASE_BITMAP_NONE) {
        b->hint_set = b->nonempty.bits;
        return BASE_BITMAP_NONE;
    }
    b->hint_set = w;
    return w * WORD_BITS + ctz64(b->map.words[w]);
}

uint64_t base_bitmap2_first_clear(base_bitmap2_t *b)
{
    uint64_t w = next_in(b->nonfull.words, NULL, true, b->hint_clear, b->nonfull.bits);
    if (w == BASE_BITMAP_NONE) {
        b->hint_clear = b->nonfull.bits;
        return BASE_BITMAP_NONE;
    }
    b->hint_clear = w;
    return w * WORD_BITS + ctz64(~b->map.words[w]);
}

uint64_t base_bitmap2_next(const base_bitmap2_t *b, bool value, uint64_t from, uint64_t limit)
{
    view_t v = view2(b);
    return view_next(&v, value, from, limit);
}

bool base_bitmap2_are_bits_set(const base_bitmap2_t *b, uint64_t start, uint64_t n)
{
    view_t v = view2(b);
    return range_ok(b->map.bits, start, n) && view_next(&v, false, start, start + n) == BASE_BITMAP_NONE;
}

bool base_bitmap2_are_bits_clear(const base_bitmap2_t *b, uint64_t start, uint64_t n)
{
    view_t v = view2(b);
    return range_ok(b->map.bits, start, n) && view_next(&v, true, start, start + n) == BASE_BITMAP_NONE;
}

uint64_t base_bitmap2_find_run(const base_bitmap2_t *b, bool value, uint64_t n, uint64_t align,
                               uint64_t lo, uint64_t hi)
{
    view_t v = view2(b);
    return view_find_run(&v, value, n, align, lo, hi);
}

uint64_t base_bitmap2_longest_run(const base_bitmap2_t *b, bool value, uint64_t *start)
{
    view_t v = view2(b);
    return view_longest_run(&v, value, start);
}

/* The union of a and b, or an empty view if their sizes differ. */
static inline view_t view_or(const base_bitmap2_t *a, const base_bitmap2_t *b)
{
    if (a->map.bits != b->map.bits) return (view_t){ a->map.words, NULL, 0, NULL, NULL, NULL };
    return (view_t){ a->map.words, b->map.words, a->map.bits, a->nonempty.words, b->nonempty.words, NULL };
}

uint64_t base_bitmap2_find_run_or(const base_bitmap2_t *a, const base_bitmap2_t *b, bool value, uint64_t n,
                                  uint64_t align, uint64_t lo, uint64_t hi)
{
    view_t v = view_or(a, b);
    return view_find_run(&v, value, n, align, lo, hi);
}

uint64_t base_bitmap2_longest_run_or(const base_bitmap2_t *a, const base_bitmap2_t *b, bool value, uint64_t *start)
{
    view_t v = view_or(a, b);
    return view_longest_run(&v, value, start);
}

bool base_bitmap2_check(const base_bitmap2_t *b, uint64_t *bad_word)
{
    uint64_t dummy, nwords = base_bitmap_words(b->map.bits), total = 0;
    uint64_t first_nonempty = nwords, first_nonfull = nwords;
    if (!bad_word) bad_word = &dummy;
    *bad_word = BASE_BITMAP_NONE;
    if (b->nonempty.bits != nwords || b->nonfull.bits != nwords) return false;
    for (uint64_t w = 0; w < nwords; w++) {
        uint64_t x = b->map.words[w], full = base_bitmap2_word_mask_(b, w);
        if ((x & ~full) != 0 || base_bitmap_test(&b->nonempty, w) != (x != 0) ||
            base_bitmap_test(&b->nonfull, w) != (x != full)) {
            *bad_word = w;
            return false;
        }
        if (x != 0 && first_nonempty == nwords) first_nonempty = w;
        if (x != full && first_nonfull == nwords) first_nonfull = w;
        total += popcount64(x);
    }
    /* summary tails past nwords stay clear (checked by the summaries' own word masks) */
    uint64_t sw = base_bitmap_words(nwords);
    if (sw > 0) {
        uint64_t tail = ~mask_below((unsigned)(nwords - (sw - 1u) * WORD_BITS));
        if ((b->nonempty.words[sw - 1u] & tail) || (b->nonfull.words[sw - 1u] & tail)) {
            *bad_word = nwords;
            return false;
        }
    }
    if (b->hint_set > first_nonempty) {
        *bad_word = first_nonempty;
        return false;
    }
    if (b->hint_clear > first_nonfull) {
        *bad_word = first_nonfull;
        return false;
    }
    return total == b->set;
}
