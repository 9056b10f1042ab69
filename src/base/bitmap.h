/*
 * bitmap.h - bitmaps over uint64_t words, modelled on NT's RTL_BITMAP (RtlInitializeBitMap,
 * RtlSetBits, RtlClearBits, RtlFindClearBits, RtlFindClearBitsAndSet, RtlNumberOfSetBits,
 * RtlFindLongestRunClear, RtlAreBitsClear, RtlAreBitsSet), plus a two-level variant for
 * large maps. Users: the bitmap frame allocator, the buddy allocator's zero-state map, page
 * file slots.
 *
 * base_bitmap_t - one bit per element. The caller owns the words (base_bitmap_init, like
 *   RtlInitializeBitMap) or lets base_bitmap_create allocate them. Bits past `bits` in the
 *   last word are kept clear, so word-wise operations never see phantom elements.
 *
 * base_bitmap2_t - the same level-0 map plus two summary bitmaps with one bit per level-0
 *   word, and a count of set bits:
 *
 *     map       | w0: 0000 | w1: 0110 | w2: 1111 | ... |      (64 bits a word)
 *     nonempty  |    0     |    1     |    1     | ... |      the word has a set bit
 *     nonfull   |    1     |    1     |    0     | ... |      the word has a clear bit
 *
 *   so finding a set (or clear) bit costs O(words/64) in the worst case and O(1) through a
 *   hint when the lowest is wanted; range tests and run searches skip whole words by the
 *   summary. Single-bit updates stay O(1).
 *
 * Ranges are (start, n) with n elements, as the Rtl routines take them. Out-of-range input
 * never touches memory outside the map: set/clear operations are clipped to the map, tests
 * of ranges that do not fit answer false, searches that cannot succeed return
 * BASE_BITMAP_NONE (NT: 0xFFFFFFFF).
 *
 * Not thread-safe: the owner's lock covers the bitmap. Depends on nothing but the C library.
 */
#ifndef NTMM_BASE_BITMAP_H
#define NTMM_BASE_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BASE_BITMAP_NONE UINT64_MAX

typedef struct base_bitmap {
    uint64_t *words; /* base_bitmap_words(bits) words */
    uint64_t bits;   /* number of elements */
} base_bitmap_t;

/* Words needed for `bits` elements. */
static inline uint64_t base_bitmap_words(uint64_t bits) { return (bits + 63u) / 64u; }

/* Describes caller-owned words as a bitmap of `bits` elements; does not clear them
 * (RtlInitializeBitMap). The caller keeps bits past `bits` in the last word clear. */
void base_bitmap_init(base_bitmap_t *b, uint64_t *words, uint64_t bits);

/* Allocates cleared words for `bits` elements (bits may be 0). False if the host refuses. */
bool base_bitmap_create(base_bitmap_t *b, uint64_t bits);
/* Frees words from base_bitmap_create; the bitmap becomes empty. */
void base_bitmap_destroy(base_bitmap_t *b);

static inline bool base_bitmap_test(const base_bitmap_t *b, uint64_t i)
{
    return i < b->bits && ((b->words[i >> 6] >> (i & 63u)) & 1u) != 0;
}

/* Single bits (RtlSetBit, RtlClearBit); an index outside the map is ignored. */
static inline void base_bitmap_set_bit(base_bitmap_t *b, uint64_t i)
{
    if (i < b->bits) b->words[i >> 6] |= (uint64_t)1 << (i & 63u);
}

static inline void base_bitmap_clear_bit(base_bitmap_t *b, uint64_t i)
{
    if (i < b->bits) b->words[i >> 6] &= ~((uint64_t)1 << (i & 63u));
}

/* Sets / clears bits [start, start+n), clipped to the map (RtlSetBits, RtlClearBits). */
void base_bitmap_set_bits(base_bitmap_t *b, uint64_t start, uint64_t n);
void base_bitmap_clear_bits(base_bitmap_t *b, uint64_t start, uint64_t n);
void base_bitmap_set_all(base_bitmap_t *b);   /* RtlSetAllBits */
void base_bitmap_clear_all(base_bitmap_t *b); /* RtlClearAllBits */

/* True if all of [start, start+n) is set / clear; false if the range leaves the map.
 * An empty range inside the map is true (RtlAreBitsSet, RtlAreBitsClear). */
bool base_bitmap_are_bits_set(const base_bitmap_t *b, uint64_t start, uint64_t n);
bool base_bitmap_are_bits_clear(const base_bitmap_t *b, uint64_t start, uint64_t n);

/* Set bits in the map / in [start, start+n) clipped to the map (RtlNumberOfSetBits,
 * RtlNumberOfSetBitsInRange). */
uint64_t base_bitmap_count_set(const base_bitmap_t *b);
uint64_t base_bitmap_count_set_range(const base_bitmap_t *b, uint64_t start, uint64_t n);

/* The first bit with value `value` in [from, limit) (limit clipped to the map), or
 * BASE_BITMAP_NONE. Word at a time. */
uint64_t base_bitmap_next(const base_bitmap_t *b, bool value, uint64_t from, uint64_t limit);

/*
 * The general run search: the lowest start s with s a multiple of `align` (any value >= 1;
 * 0 counts as 1), lo <= s, s + n <= hi (hi clipped to the map), and bits [s, s+n) all equal
 * to `value`. BASE_BITMAP_NONE if there is none or n == 0. Cost O(words in [lo, hi)).
 */
uint64_t base_bitmap_find_run(const base_bitmap_t *b, bool value, uint64_t n, uint64_t align,
                              uint64_t lo, uint64_t hi);

/*
 * RtlFindClearBits / RtlFindSetBits: a run of n clear (set) bits, searched from `hint` to the
 * end, then from 0 (a run never wraps around the end). A hint outside the map counts as 0.
 * The *_and_set / *_and_clear forms also flip the run found (RtlFindClearBitsAndSet).
 */
uint64_t base_bitmap_find_clear(const base_bitmap_t *b, uint64_t n, uint64_t hint);
uint64_t base_bitmap_find_set(const base_bitmap_t *b, uint64_t n, uint64_t hint);
uint64_t base_bitmap_find_clear_and_set(base_bitmap_t *b, uint64_t n, uint64_t hint);
uint64_t base_bitmap_find_set_and_clear(base_bitmap_t *b, uint64_t n, uint64_t hint);

/* The longest run of bits equal to `value` (the lowest of equal length): returns its length
 * and stores its start in *start (BASE_BITMAP_NONE when the length is 0); start may be NULL
 * (RtlFindLongestRunClear for value false). */
uint64_t base_bitmap_longest_run(const base_bitmap_t *b, bool value, uint64_t *start);

/* --- two levels --------------------------------------------------------------------------- */

typedef struct base_bitmap2 {
    base_bitmap_t map;      /* level 0: one bit per element */
    base_bitmap_t nonempty; /* one bit per map word: the word has a set bit */
    base_bitmap_t nonfull;  /* one bit per map word: the word has a clear bit (inside the map) */
    uint64_t set;           /* set bits in map */
    uint64_t hint_set;      /* no map word below this index has a set bit */
    uint64_t hint_clear;    /* no map word below this index has a clear bit */
} base_bitmap2_t;

/* Allocates a two-level bitmap of `bits` elements, all clear. False if the host refuses. */
bool base_bitmap2_create(base_bitmap2_t *b, uint64_t bits);
void base_bitmap2_destroy(base_bitmap2_t *b);

static inline uint64_t base_bitmap2_size(const base_bitmap2_t *b) { return b->map.bits; }
static inline bool base_bitmap2_test(const base_bitmap2_t *b, uint64_t i) { return base_bitmap_test(&b->map, i); }
static inline uint64_t base_bitmap2_count_set(const base_bitmap2_t *b) { return b->set; }

/* Mask of the valid bits of map word w (all ones but in a partial last word). */
static inline uint64_t base_bitmap2_word_mask_(const base_bitmap2_t *b, uint64_t w)
{
    uint64_t rem = b->map.bits - w * 64u;
    return rem >= 64u ? ~(uint64_t)0 : (((uint64_t)1 << rem) - 1u);
}

/* Sets bit i; returns true if it was clear (false also for an index outside the map). O(1). */
static inline bool base_bitmap2_set_bit(base_bitmap2_t *b, uint64_t i)
{
    if (i >= b->map.bits) return false;
    uint64_t w = i >> 6, old = b->map.words[w], now = old | ((uint64_t)1 << (i & 63u));
    if (now == old) return false;
    b->map.words[w] = now;
    b->set++;
    if (old == 0) {
        b->nonempty.words[w >> 6] |= (uint64_t)1 << (w & 63u);
        if (w < b->hint_set) b->hint_set = w;
    }
    if (now == base_bitmap2_word_mask_(b, w)) b->nonfull.words[w >> 6] &= ~((uint64_t)1 << (w & 63u));
    return true;
}

/* Clears bit i; returns true if it was set (false also for an index outside the map). O(1). */
static inline bool base_bitmap2_clear_bit(base_bitmap2_t *b, uint64_t i)
{
    if (i >= b->map.bits) return false;
    uint64_t w = i >> 6, old = b->map.words[w], now = old & ~((uint64_t)1 << (i & 63u));
    if (now == old) return false;
    b->map.words[w] = now;
    b->set--;
    if (now == 0) b->nonempty.words[w >> 6] &= ~((uint64_t)1 << (w & 63u));
    if (old == base_bitmap2_word_mask_(b, w)) {
        b->nonfull.words[w >> 6] |= (uint64_t)1 << (w & 63u);
        if (w < b->hint_clear) b->hint_clear = w;
    }
    return true;
}

/* Range forms, clipped to the map; return how many bits changed. O(n/64 + 1). */
uint64_t base_bitmap2_set_bits(base_bitmap2_t *b, uint64_t start, uint64_t n);
uint64_t base_bitmap2_clear_bits(base_bitmap2_t *b, uint64_t start, uint64_t n);

/* The lowest set / clear bit, or BASE_BITMAP_NONE; O(1) amortised through the hints, which
 * it advances (hence not const). */
uint64_t base_bitmap2_first_set(base_bitmap2_t *b);
uint64_t base_bitmap2_first_clear(base_bitmap2_t *b);

/* The first bit equal to `value` in [from, limit), skipping words by the summary:
 * O((limit-from)/4096 + 1). BASE_BITMAP_NONE if none. */
uint64_t base_bitmap2_next(const base_bitmap2_t *b, bool value, uint64_t from, uint64_t limit);

/* Range tests with summary skipping; false if the range leaves the map. */
bool base_bitmap2_are_bits_set(const base_bitmap2_t *b, uint64_t start, uint64_t n);
bool base_bitmap2_are_bits_clear(const base_bitmap2_t *b, uint64_t start, uint64_t n);

/* base_bitmap_find_run over the two-level map: runs of `value`, skipping words that cannot
 * hold one by the summary. */
uint64_t base_bitmap2_find_run(const base_bitmap2_t *b, bool value, uint64_t n, uint64_t align,
                               uint64_t lo, uint64_t hi);

/* base_bitmap_longest_run over the two-level map. */
uint64_t base_bitmap2_longest_run(const base_bitmap2_t *b, bool value, uint64_t *start);

/*
 * The same two searches over the union of two maps of one size: element i counts as set if
 * it is set in a or in b (say, zeroed and dirty free frames kept apart). Words without a set
 * bit in either are skipped by the summaries. Maps of different sizes: nothing is found.
 */
uint64_t base_bitmap2_find_run_or(const base_bitmap2_t *a, const base_bitmap2_t *b, bool value, uint64_t n,
                                  uint64_t align, uint64_t lo, uint64_t hi);
uint64_t base_bitmap2_longest_run_or(const base_bitmap2_t *a, const base_bitmap2_t *b, bool value, uint64_t *start);

/* Validates summaries, count, hints and the clear tail of the last word. On failure returns
 * false with the offending map word index in *bad_word (BASE_BITMAP_NONE for the count). */
bool base_bitmap2_check(const base_bitmap2_t *b, uint64_t *bad_word);

#endif /* NTMM_BASE_BITMAP_H */
