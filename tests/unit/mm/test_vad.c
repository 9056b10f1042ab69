/*
 * test_vad.c - the VAD tree (mm/vad.h): lookups with the hint, conflicts, every insert
 * status, the free runs between VADs splitting and merging (drawn as pictures of the address
 * space, one character a page, '|' every 64 KiB granule, as Linux's tools/testing/vma does),
 * the 64 KiB start / 4 KiB end rule, partial releases in two and three pieces (Windows'
 * VF-012, VF-015), bottom-up and top-down placement with alignment, bounds and zero_bits
 * (ZB-001..ZB-005, ZB-011, ZB-012), a seeded random sequence of reserve / release / partial
 * release against a page-array model with mm_vad_check after every step, and a million VADs.
 *
 * Picture legend: '.' free page, a letter: the page belongs to that VAD, '-' outside the
 * user address space.
 */
#include "vadenv.h"

static const char *picture(const mm_vad_tree_t *t, vpn_t first, unsigned granules)
{
    static char buf[16 * 17 + 2]; /* test-only scratch; up to 16 granules */
    char *p = buf;
    assert_true(granules <= 16);
    for (unsigned g = 0; g < granules; g++) {
        *p++ = '|';
        for (vpn_t v = first + 16u * g; v < first + 16u * (g + 1); v++) {
            const mm_vad_t *vad = mm_vad_conflict(t, v, v);
            *p++ = v < t->lowest_vpn || v > t->highest_vpn ? '-' : vad ? TVAD(vad)->label : '.';
        }
    }
    *p++ = '|';
    *p = 0;
    return buf;
}

static void assert_free_run(const mm_vad_tree_t *t, vpn_t vpn, vpn_t first, vpn_t last)
{
    vpn_t f = 0, l = 0;
    assert_true(mm_vad_free_range(t, vpn, &f, &l));
    assert_int_equal(f, first);
    assert_int_equal(l, last);
}

static void assert_not_free(const mm_vad_tree_t *t, vpn_t vpn)
{
    vpn_t f, l;
    assert_false(mm_vad_free_range(t, vpn, &f, &l));
}

static ntmm_status_t find_free(const mm_vad_tree_t *t, uint64_t size, bool top_down, vpn_t *out)
{
    mm_vad_gap_request_t r = { .size = size, .top_down = top_down, .masks_allowed = true };
    return mm_vad_find_free(t, &r, out);
}

/* Expects success at `expect` (a VPN) for request r. */
static void expect_at(const mm_vad_tree_t *t, const mm_vad_gap_request_t *r, vpn_t expect)
{
    vpn_t s = 0;
    ntmm_status_t st = mm_vad_find_free(t, r, &s);
    if (st != S_OK || s != expect)
        fprintf(stderr, "find_free: status %08x at %llx, expected %llx\n", (unsigned)st, (unsigned long long)s,
                (unsigned long long)expect);
    assert_int_equal(st, S_OK);
    assert_int_equal(s, expect);
}

static void expect_status(const mm_vad_tree_t *t, const mm_vad_gap_request_t *r, ntmm_status_t want)
{
    vpn_t s = 0xDEAD;
    assert_int_equal(mm_vad_find_free(t, r, &s), want);
    assert_int_equal(s, 0xDEAD); /* untouched on failure */
}

/* --- lookups and inserts -------------------------------------------------------------------- */

static void test_empty_tree(void **state)
{
    (void)state;
    mm_vad_tree_t t;
    mm_vad_tree_init(&t, LO32, HI32);
    check(&t);
    assert_null(mm_vad_find(&t, 0x100));
    assert_null(mm_vad_find_at_or_above(&t, 0));
    assert_null(mm_vad_conflict(&t, 0, HI32));
    assert_null(mm_vad_first(&t));
    assert_null(mm_vad_last(&t));
    assert_int_equal(mm_vad_count(&t), 0);
    assert_free_run(&t, 0x10, LO32, HI32);
    assert_free_run(&t, HI32, LO32, HI32);
    assert_not_free(&t, 0xF); /* below the user space */
    assert_not_free(&t, HI32 + 1);
    assert_string_equal(picture(&t, 0, 2), "|----------------|................|");
    vpn_t s;
    assert_int_equal(find_free(&t, 0x1000, false, &s), S_OK);
    assert_int_equal(s, 0x10);
    assert_int_equal(find_free(&t, 0x1000, true, &s), S_OK);
    assert_int_equal(s, 0x7FFE0); /* the highest granule below 0x7FFEFFFF */
    assert_int_equal(find_free(&t, 0x10000, true, &s), S_OK);
    assert_int_equal(s, 0x7FFE0);
    assert_int_equal(find_free(&t, 0x10001, true, &s), S_OK); /* 17 pages: one granule lower */
    assert_int_equal(s, 0x7FFD0);
    /* the whole user space, and one page more */
    assert_int_equal(find_free(&t, (HI32 - LO32 + 1) << 12, false, &s), S_OK);
    assert_int_equal(s, LO32);
    assert_int_equal(find_free(&t, (HI32 - LO32 + 2) << 12, false, &s), S_NOMEM);
    assert_int_equal(find_free(&t, UINT64_MAX, true, &s), S_NOMEM);
}

/*
 * Three VADs over three granules from 0x100; B and C touch but stay two allocations:
 *
 *   |AAAA............|BBBBBBBBBBBBBBBB|BBCC............|
 */
static void test_insert_find_conflict(void **state)
{
    (void)state;
    mm_vad_tree_t t;
    tvad_t v[8];
    mm_vad_tree_init(&t, LO32, HI32);
    assert_int_equal(reserve(&t, &v[0], 'A', 0x100, 4), S_OK);
    assert_int_equal(reserve(&t, &v[1], 'B', 0x110, 18), S_OK);
    assert_int_equal(reserve(&t, &v[2], 'C', 0x122, 2), S_OK);
    assert_string_equal(picture(&t, 0x100, 3), "|AAAA............|BBBBBBBBBBBBBBBB|BBCC............|");
    assert_int_equal(mm_vad_count(&t), 3);
    assert_ptr_equal(t.hint, &v[2].vad); /* the last inserted */

    /* containing VAD, edges included, and the hint following the lookups */
    assert_ptr_equal(mm_vad_find(&t, 0x100), &v[0].vad);
    assert_ptr_equal(t.hint, &v[0].vad);
    assert_ptr_equal(mm_vad_find(&t, 0x103), &v[0].vad); /* answered by the hint */
    assert_null(mm_vad_find(&t, 0x104));
    assert_ptr_equal(t.hint, &v[0].vad); /* a miss keeps it */
    assert_ptr_equal(mm_vad_find(&t, 0x121), &v[1].vad);
    assert_ptr_equal(mm_vad_find(&t, 0x122), &v[2].vad);
    assert_ptr_equal(t.hint, &v[2].vad);
    assert_null(mm_vad_find(&t, 0x124));
    assert_null(mm_vad_find(&t, 0xFF));
    check(&t);

    /* at or above */
    assert_ptr_equal(mm_vad_find_at_or_above(&t, 0x10), &v[0].vad);
    assert_ptr_equal(mm_vad_find_at_or_above(&t, 0x102), &v[0].vad);
    assert_ptr_equal(mm_vad_find_at_or_above(&t, 0x104), &v[1].vad);
    assert_ptr_equal(mm_vad_find_at_or_above(&t, 0x123), &v[2].vad);
    assert_null(mm_vad_find_at_or_above(&t, 0x124));

    /* the lowest overlapping VAD */
    assert_ptr_equal(mm_vad_conflict(&t, 0x100, 0x130), &v[0].vad);
    assert_ptr_equal(mm_vad_conflict(&t, 0x0F0, 0x100), &v[0].vad);
    assert_null(mm_vad_conflict(&t, 0x104, 0x10F));
    assert_ptr_equal(mm_vad_conflict(&t, 0x104, 0x110), &v[1].vad);
    assert_ptr_equal(mm_vad_conflict(&t, 0x123, 0x200), &v[2].vad);
    assert_null(mm_vad_conflict(&t, 0x124, HI32));

    /* every way of overlapping is refused and leaves the tree alone */
    static const struct {
        vpn_t start;
        uint64_t pages;
    } clash[] = {
        { 0x103, 3 },  /* starts inside A */
        { 0x104, 13 }, /* ends on B's first page */
        { 0x0F0, 0x50 }, /* covers everything */
        { 0x111, 1 },  /* inside B */
        { 0x121, 2 },  /* B's last page and C's first */
        { 0x100, 4 },  /* exactly A */
    };
    for (size_t i = 0; i < sizeof clash / sizeof clash[0]; i++)
        assert_int_equal(reserve(&t, &v[3], 'X', clash[i].start, clash[i].pages), S_CONFLICT);
    /* outside the user space, or upside down */
    assert_int_equal(reserve(&t, &v[3], 'X', LO32 - 1, 2), S_INVALID);
    assert_int_equal(reserve(&t, &v[3], 'X', HI32, 2), S_INVALID);
    mm_vad_init(&v[3].vad, 0x200, 0x1FF, MM_VAD_PRIVATE, PAGE_READWRITE, 0);
    assert_int_equal(mm_vad_insert(&t, &v[3].vad), S_INVALID);
    assert_int_equal(mm_vad_count(&t), 3);
    assert_string_equal(picture(&t, 0x100, 3), "|AAAA............|BBBBBBBBBBBBBBBB|BBCC............|");

    /* the hole between A and B, filled exactly, then emptied again */
    assert_int_equal(reserve(&t, &v[3], 'D', 0x104, 12), S_OK);
    assert_string_equal(picture(&t, 0x100, 3), "|AAAADDDDDDDDDDDD|BBBBBBBBBBBBBBBB|BBCC............|");
    mm_vad_remove(&t, &v[3].vad);
    check(&t);
    assert_null(t.hint); /* it was the hint */
    /* the first and last pages of the user space */
    assert_int_equal(reserve(&t, &v[4], 'L', LO32, 1), S_OK);
    assert_int_equal(reserve(&t, &v[5], 'H', HI32, 1), S_OK);
    assert_string_equal(picture(&t, 0, 2), "|----------------|L...............|");
    assert_string_equal(picture(&t, HI32 - 15, 2), "|...............H|----------------|");

    /* traversal in address order */
    const char *order = "LABCH";
    for (mm_vad_t *x = mm_vad_first(&t); x; x = mm_vad_next(x)) assert_int_equal(TVAD(x)->label, *order++);
    assert_int_equal(*order, 0);
    for (mm_vad_t *x = mm_vad_last(&t); x; x = mm_vad_prev(x)) assert_int_equal(TVAD(x)->label, *--order);
    assert_int_equal(mm_vad_pages(&v[1].vad), 18);
    assert_int_equal(mm_vad_base(&v[1].vad), 0x110000);
}

/*
 * The free runs between VADs: a reservation splits a free run in two (at an end) or three
 * (in the middle); a release merges the run it leaves with its free neighbours. G and H are
 * fixed guards around four free granules at 0x100..0x13F.
 */
static void test_free_runs_split_and_merge(void **state)
{
    (void)state;
    mm_vad_tree_t t;
    tvad_t g, h, a, b, c;
    mm_vad_tree_init(&t, LO32, HI32);
    assert_int_equal(reserve(&t, &g, 'G', 0xF0, 16), S_OK);
    assert_int_equal(reserve(&t, &h, 'H', 0x140, 16), S_OK);
    /*   |GGGGGGGGGGGGGGGG|................|................|................|................|HHHHHHHHHHHHHHHH| */
    assert_free_run(&t, 0x120, 0x100, 0x13F);

    /* at the front of the run: two pieces (VAD, free) */
    assert_int_equal(reserve(&t, &a, 'A', 0x100, 4), S_OK);
    assert_string_equal(picture(&t, 0xF0, 6), "|GGGGGGGGGGGGGGGG|AAAA............|................|"
                                              "................|................|HHHHHHHHHHHHHHHH|");
    assert_free_run(&t, 0x104, 0x104, 0x13F);
    assert_not_free(&t, 0x103);

    /* in the middle: three pieces (free, VAD, free) */
    assert_int_equal(reserve(&t, &b, 'B', 0x120, 16), S_OK);
    assert_string_equal(picture(&t, 0xF0, 6), "|GGGGGGGGGGGGGGGG|AAAA............|................|"
                                              "BBBBBBBBBBBBBBBB|................|HHHHHHHHHHHHHHHH|");
    assert_free_run(&t, 0x104, 0x104, 0x11F);
    assert_free_run(&t, 0x13F, 0x130, 0x13F);

    /* at the end: two pieces (free, VAD); the run above B is gone */
    assert_int_equal(reserve(&t, &c, 'C', 0x130, 16), S_OK);
    assert_string_equal(picture(&t, 0xF0, 6), "|GGGGGGGGGGGGGGGG|AAAA............|................|"
                                              "BBBBBBBBBBBBBBBB|CCCCCCCCCCCCCCCC|HHHHHHHHHHHHHHHH|");
    assert_not_free(&t, 0x130);
    assert_free_run(&t, 0x110, 0x104, 0x11F);

    /* release B: merges with the free run below it only (C is above) */
    mm_vad_remove(&t, &b.vad);
    check(&t);
    assert_string_equal(picture(&t, 0xF0, 6), "|GGGGGGGGGGGGGGGG|AAAA............|................|"
                                              "................|CCCCCCCCCCCCCCCC|HHHHHHHHHHHHHHHH|");
    assert_free_run(&t, 0x104, 0x104, 0x12F);

    /* release A: merges with the run above it (G is below) */
    mm_vad_remove(&t, &a.vad);
    check(&t);
    assert_free_run(&t, 0x100, 0x100, 0x12F);

    /* release C: merges the runs on both sides into the original run */
    mm_vad_remove(&t, &c.vad);
    check(&t);
    assert_string_equal(picture(&t, 0xF0, 6), "|GGGGGGGGGGGGGGGG|................|................|"
                                              "................|................|HHHHHHHHHHHHHHHH|");
    assert_free_run(&t, 0x100, 0x100, 0x13F);
    assert_int_equal(mm_vad_count(&t), 2);
}

/*
 * A reservation starts on 64 KiB and ends on a page (VA-013): the rest of its last granule
 * is free but no new reservation can start there (VA-014). Reserving (0x50001010, 0x1000)
 * gives (0x50000000, 0x3000):
 *
 *   0x50000000       0x50010000
 *   |AAA.............|................|
 */
static void test_granule_rest_unusable(void **state)
{
    (void)state;
    mm_vad_tree_t t;
    tvad_t a, b;
    mm_vad_tree_init(&t, LO32, HI32);
    assert_int_equal(reserve(&t, &a, 'A', 0x50000, 3), S_OK);
    assert_string_equal(picture(&t, 0x50000, 2), "|AAA.............|................|");
    assert_free_run(&t, 0x50003, 0x50003, HI32); /* VirtualQuery sees it free ... */
    /* ... but a reservation at 0x50008000 rounds down onto A (VA-014) */
    assert_ptr_equal(mm_vad_conflict(&t, 0x50000, 0x50000), &a.vad);
    assert_int_equal(reserve(&t, &b, 'B', 0x50000, 1), S_CONFLICT);
    /* and the search skips the rest of the granule */
    mm_vad_gap_request_t r = { .size = 0x1000, .lowest = 0x50000000 };
    expect_at(&t, &r, 0x50010);
    r.highest = 0x5000FFFF;
    expect_status(&t, &r, S_NOMEM);
    r.top_down = true;
    expect_status(&t, &r, S_NOMEM);
    r.highest = 0x5001FFFF;
    expect_at(&t, &r, 0x50010);
    /* a page-exact fit up to the next VAD: 13 free pages and a VAD right after them */
    assert_int_equal(reserve(&t, &b, 'B', 0x50010, 16), S_OK);
    r = (mm_vad_gap_request_t){ .size = 0x1000, .lowest = 0x50000000, .highest = 0x5001FFFF };
    expect_status(&t, &r, S_NOMEM);
}

/*
 * Partial releases (NtFreeVirtualMemory MEM_RELEASE of part of an allocation): each piece
 * left is an allocation of its own.
 *
 *   |AAAAAAAAAAAAAAAA|    A = 0x200..0x20F
 *   |AAAA....BBBBBBBB|    release 0x204..0x207: three pieces, B is the new tail (base 0x208)
 *   |..AA....BBBBBBBB|    release 0x200..0x201: A keeps its high part, based at 0x202
 *   |..AA....BBBBBBB.|    release 0x20F: B keeps its low part
 *   |........BBBBBBB.|    release all of A
 */
static void test_split(void **state)
{
    (void)state;
    mm_vad_tree_t t;
    tvad_t a, b;
    int owner_cookie;
    mm_vad_tree_init(&t, LO32, HI32);
    assert_int_equal(reserve(&t, &a, 'A', 0x200, 16), S_OK);
    a.vad.flags = MM_VAD_WRITE_WATCH | MM_VAD_TOP_DOWN;
    a.vad.owner = &owner_cookie;
    a.vad.commit_charge = 16;
    assert_string_equal(picture(&t, 0x200, 1), "|AAAAAAAAAAAAAAAA|");

    memset(&b, 0, sizeof b);
    b.label = 'B';
    assert_int_equal(mm_vad_split(&t, &a.vad, 0x204, 0x207, &b.vad), MM_VAD_SPLIT_KEPT_BOTH);
    check(&t);
    assert_string_equal(picture(&t, 0x200, 1), "|AAAA....BBBBBBBB|");
    assert_int_equal(b.vad.start_vpn, 0x208);
    assert_int_equal(b.vad.end_vpn, 0x20F);
    assert_int_equal(b.vad.kind, MM_VAD_PRIVATE);
    assert_int_equal(b.vad.protection, PAGE_READWRITE);
    assert_int_equal(b.vad.flags, MM_VAD_WRITE_WATCH | MM_VAD_TOP_DOWN);
    assert_ptr_equal(b.vad.owner, &owner_cookie);
    assert_int_equal(b.vad.commit_charge, 0); /* the caller moves charges */
    assert_int_equal(a.vad.commit_charge, 16);
    assert_ptr_equal(mm_vad_find(&t, 0x20A), &b.vad);
    assert_free_run(&t, 0x205, 0x204, 0x207);

    assert_ptr_equal(mm_vad_find(&t, 0x201), &a.vad);
    assert_int_equal(mm_vad_split(&t, &a.vad, 0x200, 0x201, NULL), MM_VAD_SPLIT_KEPT_HIGH);
    check(&t);
    assert_string_equal(picture(&t, 0x200, 1), "|..AA....BBBBBBBB|");
    assert_int_equal(mm_vad_base(&a.vad), 0x202000); /* the new AllocationBase */
    assert_ptr_equal(t.hint, &a.vad);
    assert_null(mm_vad_find(&t, 0x201)); /* the hint no longer answers for it */

    assert_int_equal(mm_vad_split(&t, &b.vad, 0x20F, 0x20F, NULL), MM_VAD_SPLIT_KEPT_LOW);
    check(&t);
    assert_string_equal(picture(&t, 0x200, 1), "|..AA....BBBBBBB.|");

    assert_ptr_equal(mm_vad_find(&t, 0x203), &a.vad);
    assert_int_equal(mm_vad_split(&t, &a.vad, 0x202, 0x203, NULL), MM_VAD_SPLIT_NONE_LEFT);
    check(&t);
    assert_null(t.hint);
    assert_string_equal(picture(&t, 0x200, 1), "|........BBBBBBB.|");
    assert_int_equal(mm_vad_count(&t), 1);
}

/*
 * VF-012: release the first two pages of a one-granule allocation R at a1; a new one-page
 * allocation N can then start at a1, in the granule R's remainder still occupies.
 *
 *   |RRRRRRRRRRRRRRRR|  ->  |..RRRRRRRRRRRRRR|  ->  |N.RRRRRRRRRRRRRR|
 */
static void test_remainder_is_own_allocation(void **state)
{
    (void)state;
    mm_vad_tree_t t;
    tvad_t r, n;
    const vpn_t a1 = 0x300;
    mm_vad_tree_init(&t, LO64, HI64);
    assert_int_equal(reserve(&t, &r, 'R', a1, 16), S_OK);
    assert_int_equal(mm_vad_split(&t, &r.vad, a1, a1 + 1, NULL), MM_VAD_SPLIT_KEPT_HIGH);
    check(&t);
    assert_string_equal(picture(&t, a1, 1), "|..RRRRRRRRRRRRRR|");
    assert_null(mm_vad_conflict(&t, a1, a1));
    assert_int_equal(reserve(&t, &n, 'N', a1, 1), S_OK);
    assert_string_equal(picture(&t, a1, 1), "|N.RRRRRRRRRRRRRR|");
    assert_null(mm_vad_find(&t, a1 + 1));                /* RELEASE (a1+0x1000) -> MEMORY_NOT_ALLOCATED */
    assert_ptr_equal(mm_vad_find(&t, a1 + 2), &r.vad);   /* RELEASE (a1+0x2000) -> its own allocation */
    assert_int_equal(mm_vad_base(&r.vad), (a1 + 2) << 12);
    assert_ptr_equal(mm_vad_conflict(&t, a1, a1 + 15), &n.vad); /* (a1, 0x10000) spans both */
    /* the lone free page a1+1 starts no reservation: the search goes to the next granule */
    mm_vad_gap_request_t q = { .size = 0x1000, .lowest = a1 << 12, .masks_allowed = true };
    expect_at(&t, &q, a1 + 16);
}

/* VF-015: a two-page reservation released page by page, in either order. */
static void test_release_page_by_page(void **state)
{
    (void)state;
    mm_vad_tree_t t;
    tvad_t a;
    mm_vad_tree_init(&t, LO32, HI32);
    assert_int_equal(reserve(&t, &a, 'A', 0x400, 2), S_OK);
    assert_int_equal(mm_vad_split(&t, &a.vad, 0x401, 0x401, NULL), MM_VAD_SPLIT_KEPT_LOW);
    check(&t);
    assert_int_equal(mm_vad_split(&t, &a.vad, 0x400, 0x400, NULL), MM_VAD_SPLIT_NONE_LEFT);
    check(&t);
    assert_int_equal(mm_vad_count(&t), 0);
    assert_int_equal(reserve(&t, &a, 'A', 0x400, 2), S_OK);
    assert_int_equal(mm_vad_split(&t, &a.vad, 0x400, 0x400, NULL), MM_VAD_SPLIT_KEPT_HIGH);
    check(&t);
    assert_int_equal(mm_vad_split(&t, &a.vad, 0x401, 0x401, NULL), MM_VAD_SPLIT_NONE_LEFT);
    check(&t);
    assert_int_equal(mm_vad_count(&t), 0);
    assert_free_run(&t, 0x400, LO32, HI32);
}

/* --- the free-range search ---------------------------------------------------------------- */

/*
 * A 32-bit layout with three VADs:
 *
 *   0x10000          0x20000          0x30000          0x40000          0x50000
 *   |AAA.............|................|BBBBBBBBBBBBBBBB|BBBBBBBBBBBBBBBB|................|
 *   ...                                                   0x7FFD0000      0x7FFE0000
 *                                                         |................|CCCCCCCCCCCCCCCC|
 */
static void test_find_free_placement(void **state)
{
    (void)state;
    mm_vad_tree_t t;
    tvad_t a, b, c;
    mm_vad_tree_init(&t, LO32, HI32);
    assert_int_equal(reserve(&t, &a, 'A', 0x10, 3), S_OK);
    assert_int_equal(reserve(&t, &b, 'B', 0x30, 32), S_OK);
    assert_int_equal(reserve(&t, &c, 'C', 0x7FFE0, 16), S_OK);
    assert_string_equal(picture(&t, 0x10, 5), "|AAA.............|................|BBBBBBBBBBBBBBBB|"
                                              "BBBBBBBBBBBBBBBB|................|");
    vpn_t s;
    /* bottom-up: the lowest granule that holds the size */
    assert_int_equal(find_free(&t, 0x1000, false, &s), S_OK);
    assert_int_equal(s, 0x20);
    assert_int_equal(find_free(&t, 0x10000, false, &s), S_OK); /* exactly the 16 free pages */
    assert_int_equal(s, 0x20);
    assert_int_equal(find_free(&t, 0x10001, false, &s), S_OK); /* 17 pages: above B */
    assert_int_equal(s, 0x50);
    assert_int_equal(find_free(&t, 0x20000, false, &s), S_OK);
    assert_int_equal(s, 0x50);
    /* top-down: the highest */
    assert_int_equal(find_free(&t, 0x1000, true, &s), S_OK);
    assert_int_equal(s, 0x7FFD0);
    assert_int_equal(find_free(&t, 0x10001, true, &s), S_OK);
    assert_int_equal(s, 0x7FFC0);

    /* alignment (MEM_ADDRESS_REQUIREMENTS.Alignment, ZB-011) */
    mm_vad_gap_request_t r = { .size = 0x1000, .alignment = 0x40000 };
    expect_at(&t, &r, 0x80); /* 0x40 is inside B */
    r.top_down = true;
    expect_at(&t, &r, 0x7FFC0);
    r.alignment = 0x10000;
    expect_at(&t, &r, 0x7FFD0);

    /* bounds (ZB-012) */
    r = (mm_vad_gap_request_t){ .size = 0x1000, .lowest = 0x20000000, .highest = 0x2FFFFFFF };
    expect_at(&t, &r, 0x20000);
    r.top_down = true;
    expect_at(&t, &r, 0x2FFF0);
    r = (mm_vad_gap_request_t){ .size = 0x1000, .lowest = 0x20000000 };
    expect_at(&t, &r, 0x20000);
    r = (mm_vad_gap_request_t){ .size = 0x1000, .lowest = 0x30000 }; /* lowest inside B */
    expect_at(&t, &r, 0x50);
    r = (mm_vad_gap_request_t){ .size = 0x10000, .highest = 0x2FFFF }; /* exactly the free granule */
    expect_at(&t, &r, 0x20);
    r.top_down = true;
    expect_at(&t, &r, 0x20);
    r.highest = 0x2FFFE; /* one byte short */
    expect_status(&t, &r, S_NOMEM);
    /* the highest end may be the last byte of the user space, not more */
    r = (mm_vad_gap_request_t){ .size = 0x1000, .highest = 0x7FFEFFFF, .top_down = true };
    expect_at(&t, &r, 0x7FFD0);
    r.highest = 0x7FFF0FFF;
    expect_status(&t, &r, S_INVALID);
}

static void test_find_free_errors(void **state)
{
    (void)state;
    mm_vad_tree_t t;
    mm_vad_tree_init(&t, LO64, HI64);
    mm_vad_gap_request_t r = { .size = 0 };
    expect_status(&t, &r, S_INVALID); /* size 0 */
    r = (mm_vad_gap_request_t){ .size = 0x1000, .alignment = 0x8000 };
    expect_status(&t, &r, S_INVALID); /* below the granularity */
    r.alignment = 0x30000;
    expect_status(&t, &r, S_INVALID); /* not a power of two */
    r.alignment = 0x40000;
    expect_at(&t, &r, 0x40);
    static const va_t bad_lowest[] = { 0x20001000, 0x20000FFF, 0x20001001 };
    for (size_t i = 0; i < 3; i++) {
        r = (mm_vad_gap_request_t){ .size = 0x1000, .lowest = bad_lowest[i] };
        expect_status(&t, &r, S_INVALID); /* not on 64 KiB */
    }
    r = (mm_vad_gap_request_t){ .size = 0x1000, .lowest = 0x30000000, .highest = 0x20000000 };
    expect_status(&t, &r, S_INVALID); /* lowest above highest */
    r = (mm_vad_gap_request_t){ .size = 0x10000, .lowest = 0x7FFFFFFF0000 };
    expect_status(&t, &r, S_INVALID); /* lowest above the user space */
    r = (mm_vad_gap_request_t){ .size = 0x10000, .highest = 0x7FFFFFFEFFFF + 0x1000 };
    expect_status(&t, &r, S_INVALID); /* highest above the user space */
    r.highest = 0x7FFFFFFEFFFF;
    r.top_down = true;
    expect_at(&t, &r, 0x7FFFFFFE0);
    /* ZB-011: alignment 0x20000000 under 0x20000FFF: 0 is below the user space and
     * 0x20000000 + 0x2000 ends above the limit */
    r = (mm_vad_gap_request_t){ .size = 0x2000, .alignment = 0x20000000, .highest = 0x20000FFF };
    expect_status(&t, &r, S_NOMEM);
    r = (mm_vad_gap_request_t){ .size = 0x40000, .highest = 0x20000FFF };
    expect_at(&t, &r, 0x10);
    r.top_down = true;
    expect_at(&t, &r, 0x1FFC0); /* the highest granule whose 64 pages end by 0x20000FFF */
    /* a highest below the first page's end leaves no page at all */
    r = (mm_vad_gap_request_t){ .size = 0x1000, .highest = 0xFFE };
    expect_status(&t, &r, S_NOMEM);
}

/*
 * zero_bits to the highest address (ZB-001..ZB-005), and its effect on placement in a
 * 64-bit layout.
 */
static void test_zero_bits(void **state)
{
    (void)state;
    va_t h = 0;
    assert_int_equal(mm_vad_zero_bits_limit(0, true, &h), S_OK);
    assert_int_equal(h, UINT64_MAX);
    assert_int_equal(mm_vad_zero_bits_limit(1, true, &h), S_OK);
    assert_int_equal(h, 0x7FFFFFFF);
    for (unsigned zb = 2; zb <= 21; zb++) {
        assert_int_equal(mm_vad_zero_bits_limit(zb, false, &h), S_OK);
        assert_int_equal(h, ((uint64_t)1 << (32 - zb)) - 1);
    }
    assert_int_equal(h, 0x7FF); /* 21: below 2 KiB */
    for (unsigned zb = 22; zb <= 31; zb++) {
        assert_int_equal(mm_vad_zero_bits_limit(zb, true, &h), S_INVALID3);
        assert_int_equal(mm_vad_zero_bits_limit(zb, false, &h), S_INVALID3);
    }
    static const struct {
        uint64_t zb;
        va_t highest;
    } masks[] = {
        { 32, 0x3F },                 /* bit 5 */
        { 0x1AAAAAAA, 0x1FFFFFFF },   /* only the leading zeros count */
        { 0xFFFFFFFF, 0xFFFFFFFF },   /* below 4 GiB */
        { 0x7FFFFFFFFFF, 0x7FFFFFFFFFF },
        { UINT64_MAX, UINT64_MAX },
    };
    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        assert_int_equal(mm_vad_zero_bits_limit(masks[i].zb, true, &h), S_OK);
        assert_int_equal(h, masks[i].highest);
        assert_int_equal(mm_vad_zero_bits_limit(masks[i].zb, false, &h), S_INVALID3); /* native 32-bit */
    }

    mm_vad_tree_t t;
    mm_vad_tree_init(&t, LO64, HI64);
    mm_vad_gap_request_t r = { .size = 0x1000, .top_down = true, .masks_allowed = true };
    expect_at(&t, &r, 0x7FFFFFFE0);
    r.zero_bits = 1; /* ZB-001: below 2 GiB */
    expect_at(&t, &r, 0x7FFF0);
    for (unsigned zb = 2; zb <= 15; zb++) { /* ZB-002 */
        r.zero_bits = zb;
        expect_at(&t, &r, (((uint64_t)1 << (32 - zb)) >> 12) - 16);
    }
    for (unsigned zb = 16; zb <= 21; zb++) { /* the limit is at or below the lowest granule */
        r.zero_bits = zb;
        expect_status(&t, &r, S_NOMEM);
    }
    r.zero_bits = 22; /* ZB-004 */
    expect_status(&t, &r, S_INVALID3);
    r.zero_bits = 24;
    expect_status(&t, &r, S_INVALID3);
    r.zero_bits = 0x1AAAAAAA; /* ZB-005 */
    expect_at(&t, &r, 0x1FFF0);
    r.zero_bits = 0xFFFFFFFF;
    expect_at(&t, &r, 0xFFFF0);
    r.masks_allowed = false;
    expect_status(&t, &r, S_INVALID3);
    /* zero_bits and a highest address together: the lower wins */
    r = (mm_vad_gap_request_t){ .size = 0x1000, .top_down = true, .zero_bits = 4, .highest = 0x1FFFFFFF };
    expect_at(&t, &r, 0xFFF0); /* zero_bits 4: below 0x10000000 */
    r.zero_bits = 2;
    expect_at(&t, &r, 0x1FFF0);
    /* bottom-up with zero_bits: still the lowest */
    r = (mm_vad_gap_request_t){ .size = 0x1000, .zero_bits = 12 };
    expect_at(&t, &r, 0x10);
}

/*
 * Fits that touch the bounds exactly: A fills everything below 0x20000000 and B leaves one
 * free granule above it.
 *
 *   0x1FFF0000       0x20000000       0x20010000         0x30000000
 *   |AAAAAAAAAAAAAAAA|................|BBBBBBBBBBBBBBBB|...|................|
 */
static void test_find_free_at_limits(void **state)
{
    (void)state;
    mm_vad_tree_t t;
    tvad_t a, b;
    mm_vad_tree_init(&t, LO64, HI64);
    assert_int_equal(reserve(&t, &a, 'A', 0x10, 0x20000 - 0x10), S_OK);
    assert_int_equal(reserve(&t, &b, 'B', 0x20010, 0x10000 - 0x10), S_OK);
    assert_string_equal(picture(&t, 0x1FFF0, 3), "|AAAAAAAAAAAAAAAA|................|BBBBBBBBBBBBBBBB|");
    /* the only page under the limit is the limit's own page (ZB-011's 0x20000FFF) */
    mm_vad_gap_request_t r = { .size = 0x1000, .highest = 0x20000FFF };
    expect_at(&t, &r, 0x20000);
    r.top_down = true;
    expect_at(&t, &r, 0x20000);
    r.size = 0x2000;
    expect_status(&t, &r, S_NOMEM);
    r.top_down = false;
    expect_status(&t, &r, S_NOMEM);
    /* the lowest bound on the free granule, and the whole granule */
    r = (mm_vad_gap_request_t){ .size = 0x10000, .lowest = 0x20000000, .highest = 0x2000FFFF };
    expect_at(&t, &r, 0x20000);
    r.top_down = true;
    expect_at(&t, &r, 0x20000);
    r.size = 0x10001;
    expect_status(&t, &r, S_NOMEM);
    r.highest = 0;
    r.top_down = false;
    expect_at(&t, &r, 0x30000); /* above B */
    /* a lowest bound above every VAD: only the tail */
    r = (mm_vad_gap_request_t){ .size = 0x1000, .lowest = 0x40000000, .highest = 0x4000FFFF };
    expect_at(&t, &r, 0x40000);
    r.top_down = true;
    expect_at(&t, &r, 0x40000);
}

/* The search is exact around VADs: a request fits a hole of its size exactly, bottom-up and
 * top-down, and nothing fits once the holes are too small. */
static void test_find_free_exact_holes(void **state)
{
    (void)state;
    mm_vad_tree_t t;
    tvad_t v[8];
    mm_vad_tree_init(&t, 0x100, 0x1FF); /* 16 granules */
    /*   |AAAAAAAAAAAAAAAA|................|................|BBBBBBBBBBBBBBBB|
     *   |................|CCC.............|................|................|  ... */
    assert_int_equal(reserve(&t, &v[0], 'A', 0x100, 16), S_OK);
    assert_int_equal(reserve(&t, &v[1], 'B', 0x130, 16), S_OK);
    assert_int_equal(reserve(&t, &v[2], 'C', 0x150, 3), S_OK);
    assert_int_equal(reserve(&t, &v[3], 'D', 0x180, 0x80), S_OK);
    assert_string_equal(picture(&t, 0x100, 8), "|AAAAAAAAAAAAAAAA|................|................|"
                                               "BBBBBBBBBBBBBBBB|................|CCC.............|"
                                               "................|................|");
    vpn_t s;
    assert_int_equal(find_free(&t, 0x20000, false, &s), S_OK);
    assert_int_equal(s, 0x110);
    assert_int_equal(find_free(&t, 0x20000, true, &s), S_OK);
    assert_int_equal(s, 0x160);
    assert_int_equal(find_free(&t, 0x10000, true, &s), S_OK);
    assert_int_equal(s, 0x170);
    assert_int_equal(find_free(&t, 0x21000, false, &s), S_NOMEM); /* 33 pages fit nowhere */
    assert_int_equal(find_free(&t, 0x21000, true, &s), S_NOMEM);
    /* fill the three holes; the 13 pages after C stay free but unusable */
    assert_int_equal(reserve(&t, &v[4], 'E', 0x110, 32), S_OK);
    assert_int_equal(reserve(&t, &v[5], 'F', 0x160, 32), S_OK);
    assert_int_equal(reserve(&t, &v[6], 'G', 0x140, 16), S_OK);
    assert_string_equal(picture(&t, 0x100, 8), "|AAAAAAAAAAAAAAAA|EEEEEEEEEEEEEEEE|EEEEEEEEEEEEEEEE|"
                                               "BBBBBBBBBBBBBBBB|GGGGGGGGGGGGGGGG|CCC.............|"
                                               "FFFFFFFFFFFFFFFF|FFFFFFFFFFFFFFFF|");
    assert_free_run(&t, 0x155, 0x153, 0x15F);
    assert_int_equal(find_free(&t, 0x1000, false, &s), S_NOMEM);
    assert_int_equal(find_free(&t, 0x1000, true, &s), S_NOMEM);
    /* releasing C makes its granule usable again */
    mm_vad_remove(&t, &v[2].vad);
    check(&t);
    assert_int_equal(find_free(&t, 0x10000, true, &s), S_OK);
    assert_int_equal(s, 0x150);
}

/* --- a million VADs ---------------------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MANY_VADS 300000u
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MANY_VADS 300000u
#endif
#endif
#ifndef MANY_VADS
#define MANY_VADS 1000000u
#endif

static void count_drained(mm_vad_t *v, void *ctx)
{
    (void)v;
    (*(uint64_t *)ctx)++;
}

/* Inserts MANY_VADS one-granule-apart VADs in random order into a 64-bit space, looks each
 * up, releases half, fills the holes again through the bottom-up search (each O(log n)),
 * and validates. */
static void test_many_vads(void **state)
{
    (void)state;
    const uint32_t n = MANY_VADS;
    mm_vad_t *vads = calloc(n, sizeof *vads);
    uint32_t *perm = calloc(n, sizeof *perm);
    assert_non_null(vads);
    assert_non_null(perm);
    base_rng_t r;
    base_rng_seed(&r, 0x1000000);
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)base_rng_below(&r, i + 1), x = perm[i];
        perm[i] = perm[j];
        perm[j] = x;
    }
    mm_vad_tree_t t;
    mm_vad_tree_init(&t, LO64, HI64);
    /* slot k covers granule k+1, 1..16 pages of it */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = perm[i];
        vpn_t s = (vpn_t)(k + 1) * 16;
        mm_vad_init(&vads[k], s, s + base_rng_below(&r, 16), MM_VAD_PRIVATE, PAGE_READWRITE, 0);
        assert_int_equal(mm_vad_insert(&t, &vads[k]), S_OK);
    }
    assert_int_equal(mm_vad_count(&t), n);
    check(&t);
    unsigned h = base_avl_height(&t.avl);
    assert_true(h <= 29); /* 1.44 log2(10^6) */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = (uint32_t)base_rng_below(&r, n);
        vpn_t p = vads[k].start_vpn + base_rng_below(&r, mm_vad_pages(&vads[k]));
        assert_ptr_equal(mm_vad_find(&t, p), &vads[k]);
    }
    for (uint32_t i = 0; i < n; i += 2) mm_vad_remove(&t, &vads[perm[i]]);
    check(&t);
    /* the freed granules come back lowest first */
    vpn_t prev = 0;
    for (uint32_t i = 0; i < n; i += 2) {
        vpn_t s;
        assert_int_equal(find_free(&t, 0x10000, false, &s), S_OK);
        assert_true(s > prev);
        prev = s;
        uint32_t k = (uint32_t)(s / 16 - 1);
        assert_true(k < n);
        mm_vad_init(&vads[k], s, s + 15, MM_VAD_PRIVATE, PAGE_READWRITE, 0);
        assert_int_equal(mm_vad_insert(&t, &vads[k]), S_OK);
    }
    check(&t);
    vpn_t s;
    assert_int_equal(find_free(&t, 0x1000, false, &s), S_OK);
    assert_int_equal(s, (vpn_t)(n + 1) * 16); /* every granule below is taken */
    uint64_t drained = 0;
    mm_vad_tree_drain(&t, count_drained, &drained);
    assert_int_equal(drained, n);
    free(perm);
    free(vads);
}

/* --- the validator ---------------------------------------------------------------------- */

static void test_check_catches(void **state)
{
    (void)state;
    mm_vad_tree_t t;
    tvad_t v[4];
    const mm_vad_t *bad;
    mm_vad_tree_init(&t, LO32, HI32);
    assert_int_equal(reserve(&t, &v[0], 'A', 0x100, 16), S_OK);
    assert_int_equal(reserve(&t, &v[1], 'B', 0x120, 16), S_OK);
    assert_int_equal(reserve(&t, &v[2], 'C', 0x140, 16), S_OK);

    v[1].vad.end_vpn = 0x140; /* overlaps C */
    assert_false(mm_vad_check(&t, &bad));
    assert_ptr_equal(bad, &v[2].vad);
    v[1].vad.end_vpn = 0x12F;

    v[1].vad.start_vpn = 0x130; /* start > end */
    assert_false(mm_vad_check(&t, &bad));
    assert_ptr_equal(bad, &v[1].vad);
    v[1].vad.start_vpn = 0x120;

    v[2].vad.end_vpn = HI32 + 1; /* past the user space */
    assert_false(mm_vad_check(&t, &bad));
    assert_ptr_equal(bad, &v[2].vad);
    v[2].vad.end_vpn = 0x14F;

    v[0].vad.gap_++; /* a stale summary */
    assert_false(mm_vad_check(&t, &bad));
    assert_ptr_equal(bad, &v[0].vad);
    v[0].vad.gap_--;

    v[0].vad.kind = (mm_vad_kind_t)7;
    assert_false(mm_vad_check(&t, &bad));
    v[0].vad.kind = MM_VAD_PRIVATE;

    mm_vad_init(&v[3].vad, 0x200, 0x200, MM_VAD_PRIVATE, 0, 0); /* a hint outside the tree */
    t.hint = &v[3].vad;
    assert_false(mm_vad_check(&t, &bad));
    assert_ptr_equal(bad, &v[3].vad);
    t.hint = NULL;

    v[1].vad.node.balance = 1; /* an AVL fault */
    assert_false(mm_vad_check(&t, &bad));
    v[1].vad.node.balance = 0;
    check(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_tree),
        cmocka_unit_test(test_insert_find_conflict),
        cmocka_unit_test(test_free_runs_split_and_merge),
        cmocka_unit_test(test_granule_rest_unusable),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_remainder_is_own_allocation),
        cmocka_unit_test(test_release_page_by_page),
        cmocka_unit_test(test_find_free_placement),
        cmocka_unit_test(test_find_free_errors),
        cmocka_unit_test(test_zero_bits),
        cmocka_unit_test(test_find_free_at_limits),
        cmocka_unit_test(test_find_free_exact_holes),
        cmocka_unit_test(test_many_vads),
        cmocka_unit_test(test_check_catches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
