/*
 * test_bitmap.c - the RTL_BITMAP-like bitmaps (base/bitmap.h): every routine on hand-made
 * cases at word boundaries and at the ends of the map, out-of-range requests, the two-level
 * summaries and hints, the validator catching corruption, and a seeded randomized run that
 * compares both kinds against a plain bool array after every operation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/bitmap.h"
#include "base/rng.h"

#define NONE BASE_BITMAP_NONE
#define NTMM_ARRAY_SIZE_(a) (sizeof(a) / sizeof((a)[0])) /* base.h is not this module's */

/* --- the reference: a bool per element ------------------------------------------------------ */

static uint64_t ref_next(const bool *a, uint64_t bits, bool v, uint64_t from, uint64_t limit)
{
    if (limit > bits) limit = bits;
    for (uint64_t i = from; i < limit; i++)
        if (a[i] == v) return i;
    return NONE;
}

static uint64_t ref_find_run(const bool *a, uint64_t bits, bool v, uint64_t n, uint64_t align, uint64_t lo,
                             uint64_t hi)
{
    if (align == 0) align = 1;
    if (hi > bits) hi = bits;
    if (n == 0) return NONE;
    for (uint64_t s = (lo + align - 1) / align * align; s + n <= hi; s += align) {
        uint64_t j = s;
        while (j < s + n && a[j] == v) j++;
        if (j == s + n) return s;
    }
    return NONE;
}

static uint64_t ref_longest(const bool *a, uint64_t bits, bool v, uint64_t *start)
{
    uint64_t best = 0, best_start = NONE, run = 0;
    for (uint64_t i = 0; i < bits; i++) {
        run = a[i] == v ? run + 1 : 0;
        if (run > best) {
            best = run;
            best_start = i + 1 - run;
        }
    }
    *start = best_start;
    return best;
}

static uint64_t ref_count(const bool *a, uint64_t bits, uint64_t start, uint64_t n)
{
    uint64_t c = 0;
    for (uint64_t i = start; i < bits && i - start < n; i++) c += a[i];
    return c;
}

/* --- one level, by hand ------------------------------------------------------------------- */

static void test_single_bits_and_tail(void **state)
{
    (void)state;
    uint64_t w[3] = { 0, 0, 0 };
    base_bitmap_t b;
    base_bitmap_init(&b, w, 130); /* 2 full words + 2 bits */
    assert_int_equal(base_bitmap_words(130), 3);
    assert_int_equal(base_bitmap_words(0), 0);
    assert_int_equal(base_bitmap_words(64), 1);
    const uint64_t idx[] = { 0, 63, 64, 127, 128, 129 };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE_(idx); i++) {
        base_bitmap_set_bit(&b, idx[i]);
        assert_true(base_bitmap_test(&b, idx[i]));
    }
    assert_int_equal(w[0], 0x8000000000000001ull);
    assert_int_equal(w[1], 0x8000000000000001ull);
    assert_int_equal(w[2], 0x3);
    /* outside the map: ignored, reads as clear, the tail of the last word stays clear */
    base_bitmap_set_bit(&b, 130);
    base_bitmap_set_bit(&b, UINT64_MAX);
    assert_false(base_bitmap_test(&b, 130));
    assert_false(base_bitmap_test(&b, UINT64_MAX));
    assert_int_equal(w[2], 0x3);
    base_bitmap_clear_bit(&b, 63);
    base_bitmap_clear_bit(&b, 500);
    assert_false(base_bitmap_test(&b, 63));
    assert_int_equal(base_bitmap_count_set(&b), 5);
    base_bitmap_set_all(&b);
    assert_int_equal(w[0], UINT64_MAX);
    assert_int_equal(w[2], 0x3);
    assert_int_equal(base_bitmap_count_set(&b), 130);
    base_bitmap_clear_all(&b);
    assert_int_equal(w[0] | w[1] | w[2], 0);
}

static void test_ranges(void **state)
{
    (void)state;
    base_bitmap_t b;
    assert_true(base_bitmap_create(&b, 200));
    base_bitmap_set_bits(&b, 60, 8); /* straddles words 0 and 1 */
    assert_int_equal(b.words[0], 0xF000000000000000ull);
    assert_int_equal(b.words[1], 0xF);
    base_bitmap_set_bits(&b, 64, 64); /* exactly word 1 */
    assert_int_equal(b.words[1], UINT64_MAX);
    base_bitmap_clear_bits(&b, 62, 4);
    assert_int_equal(b.words[0], 0x3000000000000000ull);
    assert_int_equal(b.words[1], UINT64_MAX << 2);
    base_bitmap_set_bits(&b, 190, 1000); /* clipped at 200 */
    assert_int_equal(base_bitmap_count_set_range(&b, 190, 100), 10);
    assert_int_equal(b.words[2] >> 62, 0x3);
    assert_int_equal(b.words[3], 0xFF);                      /* bits 200.. of word 3 stay clear */
    base_bitmap_set_bits(&b, 500, 10);                        /* entirely outside: nothing */
    base_bitmap_set_bits(&b, 10, 0);                          /* empty */
    assert_int_equal(base_bitmap_count_set(&b), 2 + 62 + 10);
    assert_int_equal(base_bitmap_count_set_range(&b, 60, 6), 2);
    assert_int_equal(base_bitmap_count_set_range(&b, 0, 0), 0);
    assert_int_equal(base_bitmap_count_set_range(&b, 300, 5), 0);
    /* are_bits_*: exact boundaries, empty ranges, ranges leaving the map */
    assert_true(base_bitmap_are_bits_set(&b, 66, 62));
    assert_false(base_bitmap_are_bits_set(&b, 65, 62));
    assert_false(base_bitmap_are_bits_set(&b, 66, 63));
    assert_true(base_bitmap_are_bits_set(&b, 190, 10));
    assert_false(base_bitmap_are_bits_set(&b, 190, 11));
    assert_true(base_bitmap_are_bits_set(&b, 200, 0));
    assert_false(base_bitmap_are_bits_set(&b, 201, 0));
    assert_false(base_bitmap_are_bits_set(&b, 199, UINT64_MAX));
    assert_true(base_bitmap_are_bits_clear(&b, 0, 60));
    assert_false(base_bitmap_are_bits_clear(&b, 0, 61));
    assert_true(base_bitmap_are_bits_clear(&b, 128, 62));
    assert_false(base_bitmap_are_bits_clear(&b, 128, 63));
    /* next */
    assert_int_equal(base_bitmap_next(&b, true, 0, 200), 60);
    assert_int_equal(base_bitmap_next(&b, true, 62, 200), 66);
    assert_int_equal(base_bitmap_next(&b, false, 66, 200), 128);
    assert_int_equal(base_bitmap_next(&b, true, 128, 190), NONE);
    assert_int_equal(base_bitmap_next(&b, true, 128, 191), 190);
    assert_int_equal(base_bitmap_next(&b, false, 190, 1000), NONE); /* the tail is not "clear" */
    assert_int_equal(base_bitmap_next(&b, true, 5, 5), NONE);
    base_bitmap_destroy(&b);
    assert_null(b.words);
}

static void test_find_run_align_and_bounds(void **state)
{
    (void)state;
    base_bitmap_t b;
    assert_true(base_bitmap_create(&b, 1024));
    base_bitmap_set_all(&b);
    base_bitmap_clear_bits(&b, 100, 50);  /* [100, 150) */
    base_bitmap_clear_bits(&b, 512, 512); /* [512, 1024) */
    assert_int_equal(base_bitmap_find_run(&b, false, 50, 1, 0, 1024), 100);
    assert_int_equal(base_bitmap_find_run(&b, false, 51, 1, 0, 1024), 512);
    assert_int_equal(base_bitmap_find_run(&b, false, 32, 32, 0, 1024), 512); /* [128,160) hits 150 */
    assert_int_equal(base_bitmap_find_run(&b, false, 16, 32, 0, 1024), 128);
    assert_int_equal(base_bitmap_find_run(&b, false, 22, 32, 0, 1024), 128);
    assert_int_equal(base_bitmap_find_run(&b, false, 23, 32, 0, 1024), 512);
    assert_int_equal(base_bitmap_find_run(&b, false, 10, 3, 0, 1024), 102);  /* any alignment */
    assert_int_equal(base_bitmap_find_run(&b, false, 10, 0, 0, 1024), 100);  /* 0 counts as 1 */
    assert_int_equal(base_bitmap_find_run(&b, false, 512, 512, 0, 1024), 512);
    assert_int_equal(base_bitmap_find_run(&b, false, 512, 1024, 0, 1024), NONE);
    assert_int_equal(base_bitmap_find_run(&b, false, 1, UINT64_MAX, 0, 1024), NONE); /* no overflow */
    assert_int_equal(base_bitmap_find_run(&b, false, 1, (uint64_t)1 << 63, 1, 1024), NONE);
    /* bounds: lo and hi (exclusive) */
    assert_int_equal(base_bitmap_find_run(&b, false, 10, 1, 141, 1024), 512);
    assert_int_equal(base_bitmap_find_run(&b, false, 10, 1, 140, 1024), 140);
    assert_int_equal(base_bitmap_find_run(&b, false, 50, 1, 0, 149), NONE);
    assert_int_equal(base_bitmap_find_run(&b, false, 50, 1, 0, 150), 100);
    assert_int_equal(base_bitmap_find_run(&b, false, 10, 1, 0, UINT64_MAX), 100);
    assert_int_equal(base_bitmap_find_run(&b, false, 0, 1, 0, 1024), NONE);
    assert_int_equal(base_bitmap_find_run(&b, false, 1025, 1, 0, 1024), NONE);
    assert_int_equal(base_bitmap_find_run(&b, false, 5, 1, 2000, 3000), NONE);
    assert_int_equal(base_bitmap_find_run(&b, true, 100, 1, 0, 1024), 0);
    assert_int_equal(base_bitmap_find_run(&b, true, 101, 1, 0, 1024), 150);
    assert_int_equal(base_bitmap_find_run(&b, true, 362, 1, 0, 1024), 150);
    assert_int_equal(base_bitmap_find_run(&b, true, 363, 1, 0, 1024), NONE);
    /* longest runs */
    uint64_t start = 0;
    assert_int_equal(base_bitmap_longest_run(&b, false, &start), 512);
    assert_int_equal(start, 512);
    assert_int_equal(base_bitmap_longest_run(&b, true, &start), 362);
    assert_int_equal(start, 150);
    base_bitmap_set_all(&b);
    assert_int_equal(base_bitmap_longest_run(&b, false, &start), 0);
    assert_int_equal(start, NONE);
    assert_int_equal(base_bitmap_longest_run(&b, true, NULL), 1024);
    base_bitmap_destroy(&b);
}

/* RtlFindClearBits: from the hint to the end, then from 0; a run never wraps around. */
static void test_find_with_hint(void **state)
{
    (void)state;
    base_bitmap_t b;
    assert_true(base_bitmap_create(&b, 300));
    base_bitmap_set_all(&b);
    base_bitmap_clear_bits(&b, 10, 5);
    base_bitmap_clear_bits(&b, 200, 5);
    base_bitmap_clear_bits(&b, 297, 3); /* at the end */
    base_bitmap_clear_bits(&b, 0, 2);   /* at the start: 297..299 + 0..1 would wrap, not a run */
    assert_int_equal(base_bitmap_find_clear(&b, 5, 0), 10);
    assert_int_equal(base_bitmap_find_clear(&b, 5, 11), 200);
    assert_int_equal(base_bitmap_find_clear(&b, 5, 201), 10);   /* wrapped to the start */
    assert_int_equal(base_bitmap_find_clear(&b, 5, 5000), 10);  /* a hint outside counts as 0 */
    assert_int_equal(base_bitmap_find_clear(&b, 4, 297), 10);   /* 297..300 leaves the map */
    assert_int_equal(base_bitmap_find_clear(&b, 3, 297), 297);
    assert_int_equal(base_bitmap_find_clear(&b, 6, 0), NONE);
    assert_int_equal(base_bitmap_find_clear(&b, 0, 0), NONE);
    assert_int_equal(base_bitmap_find_clear(&b, 301, 0), NONE);
    assert_int_equal(base_bitmap_find_clear(&b, 3, 12), 12);     /* a run at the hint itself */
    /* a run that starts below the hint and reaches past it is found on the second pass */
    assert_int_equal(base_bitmap_find_clear(&b, 5, 12), 200);
    assert_int_equal(base_bitmap_find_clear(&b, 5, 202), 10);
    /* and-set / and-clear */
    assert_int_equal(base_bitmap_find_clear_and_set(&b, 5, 0), 10);
    assert_true(base_bitmap_are_bits_set(&b, 10, 5));
    assert_int_equal(base_bitmap_find_clear_and_set(&b, 5, 0), 200);
    assert_int_equal(base_bitmap_find_clear_and_set(&b, 5, 0), NONE);
    assert_int_equal(base_bitmap_count_set(&b), 295);
    assert_int_equal(base_bitmap_find_set(&b, 296, 0), NONE);
    assert_int_equal(base_bitmap_find_set(&b, 295, 0), 2);
    assert_int_equal(base_bitmap_find_set(&b, 295, 2), 2);
    assert_int_equal(base_bitmap_find_set(&b, 200, 150), 2);
    assert_int_equal(base_bitmap_find_set_and_clear(&b, 100, 7), 7);
    assert_true(base_bitmap_are_bits_clear(&b, 7, 100));
    assert_int_equal(base_bitmap_count_set(&b), 195);
    base_bitmap_destroy(&b);
}

static void test_empty_map(void **state)
{
    (void)state;
    base_bitmap_t b;
    assert_true(base_bitmap_create(&b, 0));
    base_bitmap_set_bit(&b, 0);
    base_bitmap_set_bits(&b, 0, 10);
    base_bitmap_set_all(&b);
    assert_false(base_bitmap_test(&b, 0));
    assert_int_equal(base_bitmap_count_set(&b), 0);
    assert_true(base_bitmap_are_bits_clear(&b, 0, 0));
    assert_false(base_bitmap_are_bits_clear(&b, 0, 1));
    assert_int_equal(base_bitmap_find_clear(&b, 1, 0), NONE);
    assert_int_equal(base_bitmap_longest_run(&b, false, NULL), 0);
    base_bitmap_destroy(&b);
    base_bitmap2_t b2;
    assert_true(base_bitmap2_create(&b2, 0));
    assert_false(base_bitmap2_set_bit(&b2, 0));
    assert_int_equal(base_bitmap2_set_bits(&b2, 0, 5), 0);
    assert_int_equal(base_bitmap2_first_set(&b2), NONE);
    assert_int_equal(base_bitmap2_first_clear(&b2), NONE);
    assert_int_equal(base_bitmap2_find_run(&b2, false, 1, 1, 0, 10), NONE);
    assert_true(base_bitmap2_check(&b2, NULL));
    base_bitmap2_destroy(&b2);
}

/* --- two levels, by hand ------------------------------------------------------------------ */

static void test_two_level_summaries(void **state)
{
    (void)state;
    base_bitmap2_t b;
    const uint64_t bits = 64 * 64 * 2 + 70; /* 130 map words, the last with 6 bits; 3 summary words */
    assert_true(base_bitmap2_create(&b, bits));
    assert_true(base_bitmap2_check(&b, NULL));
    assert_int_equal(base_bitmap2_size(&b), bits);
    assert_int_equal(base_bitmap2_first_set(&b), NONE);
    assert_int_equal(base_bitmap2_first_clear(&b), 0);
    /* set/clear report changes; the count follows */
    assert_true(base_bitmap2_set_bit(&b, 5000));
    assert_false(base_bitmap2_set_bit(&b, 5000));
    assert_false(base_bitmap2_set_bit(&b, bits));
    assert_int_equal(base_bitmap2_count_set(&b), 1);
    assert_true(base_bitmap2_test(&b, 5000));
    assert_true(base_bitmap_test(&b.nonempty, 5000 / 64));
    assert_int_equal(base_bitmap2_first_set(&b), 5000);
    assert_true(base_bitmap2_set_bit(&b, 64));
    assert_int_equal(base_bitmap2_first_set(&b), 64); /* the hint came down */
    assert_true(base_bitmap2_clear_bit(&b, 64));
    assert_false(base_bitmap2_clear_bit(&b, 64));
    assert_false(base_bitmap_test(&b.nonempty, 1));
    assert_int_equal(base_bitmap2_first_set(&b), 5000);
    assert_true(base_bitmap2_check(&b, NULL));
    /* fill a word: it leaves the nonfull summary; the first clear bit moves past it */
    assert_int_equal(base_bitmap2_set_bits(&b, 0, 64), 64);
    assert_int_equal(base_bitmap2_set_bits(&b, 0, 64), 0);
    assert_false(base_bitmap_test(&b.nonfull, 0));
    assert_int_equal(base_bitmap2_first_clear(&b), 64);
    assert_int_equal(base_bitmap2_clear_bits(&b, 10, 1), 1);
    assert_int_equal(base_bitmap2_first_clear(&b), 10);
    base_bitmap2_set_bit(&b, 10);
    /* the partial last word: full when its 6 valid bits are set */
    uint64_t last = bits - 6;
    assert_int_equal(base_bitmap2_set_bits(&b, last, 100), 6);
    assert_false(base_bitmap_test(&b.nonfull, last / 64));
    assert_true(base_bitmap2_are_bits_set(&b, last, 6));
    assert_false(base_bitmap2_are_bits_set(&b, last, 7));
    assert_true(base_bitmap2_check(&b, NULL));
    /* next and range tests skip empty words through the summary */
    assert_int_equal(base_bitmap2_next(&b, true, 64, bits), 5000);
    assert_int_equal(base_bitmap2_next(&b, true, 5001, bits), last);
    assert_int_equal(base_bitmap2_next(&b, false, 0, bits), 64);
    assert_int_equal(base_bitmap2_next(&b, false, last, bits), NONE);
    assert_true(base_bitmap2_are_bits_clear(&b, 64, 5000 - 64));
    assert_false(base_bitmap2_are_bits_clear(&b, 64, 5000 - 63));
    /* runs */
    assert_int_equal(base_bitmap2_find_run(&b, false, 4096, 4096, 0, bits), NONE);
    assert_int_equal(base_bitmap2_find_run(&b, false, 4096, 1, 0, bits), 64);
    assert_int_equal(base_bitmap2_find_run(&b, false, 2048, 2048, 0, bits), 2048);
    assert_int_equal(base_bitmap2_find_run(&b, true, 6, 1, 0, bits), 0);
    assert_int_equal(base_bitmap2_find_run(&b, true, 6, 1, 64, bits), last);
    assert_int_equal(base_bitmap2_find_run(&b, true, 2, 1, 64, last), NONE);
    uint64_t start;
    assert_int_equal(base_bitmap2_longest_run(&b, false, &start), 5000 - 64);
    assert_int_equal(start, 64);
    assert_int_equal(base_bitmap2_longest_run(&b, true, &start), 64);
    assert_int_equal(start, 0);
    /* all set, then all clear again */
    assert_int_equal(base_bitmap2_set_bits(&b, 0, bits), bits - 64 - 1 - 6);
    assert_int_equal(base_bitmap2_first_clear(&b), NONE);
    assert_int_equal(base_bitmap2_count_set(&b), bits);
    assert_true(base_bitmap2_check(&b, NULL));
    assert_int_equal(base_bitmap2_clear_bits(&b, 0, UINT64_MAX), bits);
    assert_int_equal(base_bitmap2_first_set(&b), NONE);
    assert_int_equal(base_bitmap2_first_clear(&b), 0);
    assert_true(base_bitmap2_check(&b, NULL));
    base_bitmap2_destroy(&b);
}

static void test_two_level_check_catches_corruption(void **state)
{
    (void)state;
    base_bitmap2_t b;
    uint64_t bad = 0;
    assert_true(base_bitmap2_create(&b, 1000));
    base_bitmap2_set_bits(&b, 100, 300);
    assert_true(base_bitmap2_check(&b, &bad));
    b.map.words[9] |= 1; /* a set bit the summary does not know */
    assert_false(base_bitmap2_check(&b, &bad));
    assert_int_equal(bad, 9);
    b.map.words[9] &= ~1ull;
    assert_true(base_bitmap2_check(&b, &bad));
    b.set++; /* the count */
    assert_false(base_bitmap2_check(&b, &bad));
    assert_int_equal(bad, NONE);
    b.set--;
    b.map.words[15] |= 1ull << 50; /* a phantom bit past the end (1000 = 15*64 + 40) */
    base_bitmap_set_bit(&b.nonempty, 15);
    assert_false(base_bitmap2_check(&b, &bad));
    assert_int_equal(bad, 15);
    b.map.words[15] = 0;
    base_bitmap_clear_bit(&b.nonempty, 15);
    assert_true(base_bitmap2_check(&b, &bad));
    b.hint_set = 3; /* the first set bit is in word 1: a hint above it would hide it */
    assert_false(base_bitmap2_check(&b, &bad));
    base_bitmap2_destroy(&b);
}

/* --- randomized against the reference ----------------------------------------------------- */

static void compare_all(const base_bitmap_t *b1, base_bitmap2_t *b2, const bool *ref, uint64_t bits, base_rng_t *r)
{
    uint64_t c = ref_count(ref, bits, 0, bits);
    assert_int_equal(base_bitmap_count_set(b1), c);
    assert_int_equal(base_bitmap2_count_set(b2), c);
    assert_true(base_bitmap2_check(b2, NULL));
    assert_int_equal(base_bitmap2_first_set(b2), ref_next(ref, bits, true, 0, bits));
    assert_int_equal(base_bitmap2_first_clear(b2), ref_next(ref, bits, false, 0, bits));
    for (int q = 0; q < 8; q++) {
        uint64_t i = base_rng_below(r, bits + 2);
        assert_int_equal(base_bitmap_test(b1, i), i < bits && ref[i]);
        assert_int_equal(base_bitmap2_test(b2, i), i < bits && ref[i]);
        bool v = base_rng_below(r, 2);
        uint64_t lo = base_rng_below(r, bits + 1), hi = lo + base_rng_below(r, bits + 70 - lo);
        uint64_t n = 1 + base_rng_below(r, q < 4 ? 8 : 200);
        static const uint64_t aligns[] = { 1, 1, 2, 3, 8, 64, 128, 0 };
        uint64_t al = aligns[base_rng_below(r, 8)];
        uint64_t expect = ref_find_run(ref, bits, v, n, al, lo, hi);
        assert_int_equal(base_bitmap_find_run(b1, v, n, al, lo, hi), expect);
        assert_int_equal(base_bitmap2_find_run(b2, v, n, al, lo, hi), expect);
        uint64_t nx = ref_next(ref, bits, v, lo, hi);
        assert_int_equal(base_bitmap_next(b1, v, lo, hi), nx);
        assert_int_equal(base_bitmap2_next(b2, v, lo, hi), nx);
        uint64_t len = hi - lo;
        bool in = lo <= bits && len <= bits - lo;
        bool all_set = in && ref_next(ref, bits, false, lo, lo + len) == NONE;
        bool all_clear = in && ref_next(ref, bits, true, lo, lo + len) == NONE;
        assert_int_equal(base_bitmap_are_bits_set(b1, lo, len), all_set);
        assert_int_equal(base_bitmap2_are_bits_set(b2, lo, len), all_set);
        assert_int_equal(base_bitmap_are_bits_clear(b1, lo, len), all_clear);
        assert_int_equal(base_bitmap2_are_bits_clear(b2, lo, len), all_clear);
        assert_int_equal(base_bitmap_count_set_range(b1, lo, len), ref_count(ref, bits, lo, len));
        /* RtlFindClearBits with a hint: the first pass from the hint, else the lowest run */
        uint64_t hint = base_rng_below(r, bits + 1), h = hint < bits ? hint : 0;
        uint64_t e1 = ref_find_run(ref, bits, v, n, 1, h, bits);
        if (e1 == NONE && h > 0) e1 = ref_find_run(ref, bits, v, n, 1, 0, h + n - 1 < bits ? h + n - 1 : bits);
        assert_int_equal(v ? base_bitmap_find_set(b1, n, hint) : base_bitmap_find_clear(b1, n, hint), e1);
    }
    for (int v = 0; v < 2; v++) {
        uint64_t s_ref, s1, s2;
        uint64_t l = ref_longest(ref, bits, v, &s_ref);
        assert_int_equal(base_bitmap_longest_run(b1, v, &s1), l);
        assert_int_equal(base_bitmap2_longest_run(b2, v, &s2), l);
        assert_int_equal(s1, s_ref);
        assert_int_equal(s2, s_ref);
    }
}

static void randomized(uint64_t bits, uint64_t seed, int steps)
{
    base_rng_t r;
    base_rng_seed(&r, seed);
    bool *ref = calloc(bits + 1, sizeof(bool));
    base_bitmap_t b1;
    base_bitmap2_t b2;
    assert_non_null(ref);
    assert_true(base_bitmap_create(&b1, bits));
    assert_true(base_bitmap2_create(&b2, bits));
    for (int step = 0; step < steps; step++) {
        uint64_t op = base_rng_below(&r, 10);
        uint64_t i = base_rng_below(&r, bits + 3);
        uint64_t n = base_rng_below(&r, op < 7 ? 70 : bits + 10);
        bool v = base_rng_below(&r, 2);
        if (op < 3) {
            bool was = i < bits && ref[i];
            if (v) {
                base_bitmap_set_bit(&b1, i);
                assert_int_equal(base_bitmap2_set_bit(&b2, i), i < bits && !was);
            } else {
                base_bitmap_clear_bit(&b1, i);
                assert_int_equal(base_bitmap2_clear_bit(&b2, i), was);
            }
            if (i < bits) ref[i] = v;
        } else if (op < 8) {
            uint64_t changed = 0;
            for (uint64_t j = i; j < bits && j - i < n; j++) {
                changed += ref[j] != v;
                ref[j] = v;
            }
            if (v) base_bitmap_set_bits(&b1, i, n);
            else base_bitmap_clear_bits(&b1, i, n);
            assert_int_equal(v ? base_bitmap2_set_bits(&b2, i, n) : base_bitmap2_clear_bits(&b2, i, n), changed);
        } else {
            /* find-and-flip, both kinds, same answer */
            uint64_t k = 1 + base_rng_below(&r, 16), hint = base_rng_below(&r, bits + 1);
            uint64_t a = v ? base_bitmap_find_set_and_clear(&b1, k, hint) : base_bitmap_find_clear_and_set(&b1, k, hint);
            if (a != NONE) {
                for (uint64_t j = a; j < a + k; j++) {
                    assert_int_equal(ref[j], v);
                    ref[j] = !v;
                }
                if (v) base_bitmap2_clear_bits(&b2, a, k);
                else base_bitmap2_set_bits(&b2, a, k);
            }
        }
        compare_all(&b1, &b2, ref, bits, &r);
    }
    base_bitmap_destroy(&b1);
    base_bitmap2_destroy(&b2);
    free(ref);
}

static void test_randomized_against_bool_array(void **state)
{
    (void)state;
    static const uint64_t sizes[] = { 1, 2, 63, 64, 65, 127, 128, 129, 1000, 4096, 4097, 64 * 64 * 3 + 5 };
    for (size_t s = 0; s < NTMM_ARRAY_SIZE_(sizes); s++) randomized(sizes[s], 0xB17A9 + s, sizes[s] > 4000 ? 150 : 400);
}

/* Searches over the union of two maps (zeroed | dirty free frames, say). */
static void test_union_of_two_maps(void **state)
{
    (void)state;
    static const uint64_t sizes[] = { 1, 64, 65, 1000, 64 * 64 * 2 + 3 };
    for (size_t si = 0; si < NTMM_ARRAY_SIZE_(sizes); si++) {
        uint64_t bits = sizes[si];
        base_rng_t r;
        base_rng_seed(&r, 0x0A11 + si);
        base_bitmap2_t a, b;
        bool *ra = calloc(bits, sizeof(bool)), *rb = calloc(bits, sizeof(bool)), *ru = calloc(bits, sizeof(bool));
        assert_true(ra && rb && ru);
        assert_true(base_bitmap2_create(&a, bits));
        assert_true(base_bitmap2_create(&b, bits));
        for (int step = 0; step < 300; step++) {
            bool to_a = base_rng_below(&r, 2), v = base_rng_below(&r, 3) != 0;
            uint64_t i = base_rng_below(&r, bits), n = 1 + base_rng_below(&r, 40);
            for (uint64_t j = i; j < bits && j - i < n; j++) (to_a ? ra : rb)[j] = v;
            if (v) base_bitmap2_set_bits(to_a ? &a : &b, i, n);
            else base_bitmap2_clear_bits(to_a ? &a : &b, i, n);
            for (uint64_t j = 0; j < bits; j++) ru[j] = ra[j] || rb[j];
            for (int q = 0; q < 6; q++) {
                bool val = base_rng_below(&r, 2);
                uint64_t lo = base_rng_below(&r, bits + 1), hi = lo + base_rng_below(&r, bits + 10 - lo);
                uint64_t k = 1 + base_rng_below(&r, 100), al = (uint64_t)1 << base_rng_below(&r, 8);
                assert_int_equal(base_bitmap2_find_run_or(&a, &b, val, k, al, lo, hi),
                                 ref_find_run(ru, bits, val, k, al, lo, hi));
            }
            for (int val = 0; val < 2; val++) {
                uint64_t s_ref, s_got;
                assert_int_equal(base_bitmap2_longest_run_or(&a, &b, val, &s_got), ref_longest(ru, bits, val, &s_ref));
                assert_int_equal(s_got, s_ref);
            }
        }
        /* maps of different sizes: nothing is found */
        base_bitmap2_t c;
        assert_true(base_bitmap2_create(&c, bits + 1));
        base_bitmap2_set_bits(&c, 0, bits + 1);
        assert_int_equal(base_bitmap2_find_run_or(&a, &c, true, 1, 1, 0, bits), NONE);
        assert_int_equal(base_bitmap2_longest_run_or(&a, &c, true, NULL), 0);
        base_bitmap2_destroy(&c);
        base_bitmap2_destroy(&a);
        base_bitmap2_destroy(&b);
        free(ra);
        free(rb);
        free(ru);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_bits_and_tail),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_find_run_align_and_bounds),
        cmocka_unit_test(test_find_with_hint),
        cmocka_unit_test(test_empty_map),
        cmocka_unit_test(test_two_level_summaries),
        cmocka_unit_test(test_two_level_check_catches_corruption),
        cmocka_unit_test(test_randomized_against_bool_array),
        cmocka_unit_test(test_union_of_two_maps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
