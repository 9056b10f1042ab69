/*
 * test_falloc.c - the free-frame allocators behind mm_falloc_ops_t (NT's lists, the two-level
 * bitmap, the buddy), all three through the same cases: the state mm_pfndb_init leaves, the
 * zeroed/dirty preference of take, take_frame, take_dirty and take_run against answers computed
 * independently from the PFN entries, contiguous requests that must fail cleanly, bad frees
 * that must bugcheck, bad frames, the zeroing step, and a seeded churn of single frames and
 * runs with the invariant checker after every step. For the buddy, the stress ends where only
 * working coalescing can end: every frame freed, the blocks per order as at init.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/bugcheck.h"
#include "base/rng.h"
#include "mm/falloc_buddy.h"
#include "mm/pfn.h"

static const ntmm_frame_allocator_t kinds[] = { NTMM_FRAMES_NT_LISTS, NTMM_FRAMES_BITMAP, NTMM_FRAMES_BUDDY };
static const char *const kind_names[] = { "nt-lists", "bitmap", "buddy" };

#define ANY_PFN (~(pfn_t)0) /* "highest": no limit */

typedef struct env {
    hw_machine_t *m;
    mm_pfndb_t db;
    ntmm_frame_allocator_t kind;
} env_t;

static void env_init_cfg(env_t *e, const ntmm_hw_config_t *cfg, ntmm_frame_allocator_t kind)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    assert_int_equal(hw_machine_create(cfg, &e->m), NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_pfndb_init(&e->db, e->m, kind, 8), NTMM_STATUS_SUCCESS);
    assert_string_equal(e->db.falloc->name, kind_names[kind]);
}

static void env_init(env_t *e, uint64_t ram, ntmm_frame_allocator_t kind)
{
    ntmm_hw_config_t cfg = { .ram_bytes = ram };
    env_init_cfg(e, &cfg, kind);
}

static void env_destroy(env_t *e)
{
    mm_pfndb_destroy(&e->db);
    hw_machine_destroy(e->m);
}

/* mm_pfn_check (which runs the allocator's own check) must pass. */
static void env_check(env_t *e)
{
    if (!mm_pfn_check(&e->db))
        fail_msg("%s: mm_pfn_check: %s (%#llx, %#llx, %#llx) at %s", e->db.falloc->name,
                 ntmm_bugcheck_name(e->m->bugcheck.code), (unsigned long long)e->m->bugcheck.param[0],
                 (unsigned long long)e->m->bugcheck.param[1], (unsigned long long)e->m->bugcheck.param[2],
                 e->m->bugcheck.where);
}

/* --- answers computed from the entries alone ---------------------------------------------- */

static bool is_free(const mm_pfndb_t *db, pfn_t f)
{
    return db->pfn[f].location == MM_ZEROED || db->pfn[f].location == MM_FREE;
}

static uint64_t ref_count(const mm_pfndb_t *db, mm_page_location_t loc)
{
    uint64_t n = 0;
    for (pfn_t f = 0; f < db->frames; f++) n += db->pfn[f].location == loc;
    return n;
}

static uint64_t ref_largest_run(const mm_pfndb_t *db)
{
    uint64_t best = 0, run = 0;
    for (pfn_t f = 0; f < db->frames; f++) {
        run = is_free(db, f) ? run + 1 : 0;
        if (run > best) best = run;
    }
    return best;
}

/* The lowest start of n free frames, a multiple of align, ending at or below highest: by
 * prefix sums over the entries, candidate by candidate. */
static pfn_t ref_find_run(const mm_pfndb_t *db, pfn_t n, pfn_t align, pfn_t highest)
{
    pfn_t end = highest >= db->frames ? db->frames : highest + 1; /* exclusive */
    uint32_t *prefix = malloc((db->frames + 1) * sizeof *prefix);
    assert_non_null(prefix);
    prefix[0] = 0;
    for (pfn_t f = 0; f < db->frames; f++) prefix[f + 1] = prefix[f] + is_free(db, f);
    pfn_t found = MM_NO_PFN;
    if (n > 0 && align > 0)
        for (pfn_t s = 0; s < end && n <= end - s; s += align) {
            if (prefix[s + n] - prefix[s] == n) {
                found = s;
                break;
            }
            if (align > db->frames) break;
        }
    free(prefix);
    return found;
}

/* Blocks per order of a fully coalesced buddy: each maximal run of free frames cut greedily
 * into the largest aligned blocks (order <= max_order). */
static void ref_blocks(const mm_pfndb_t *db, int max_order, uint64_t counts[MM_BUDDY_ORDERS])
{
    memset(counts, 0, MM_BUDDY_ORDERS * sizeof counts[0]);
    for (pfn_t f = 0; f < db->frames;) {
        if (!is_free(db, f)) {
            f++;
            continue;
        }
        pfn_t end = f;
        while (end < db->frames && is_free(db, end)) end++;
        while (f < end) {
            int k = f ? __builtin_ctzll(f) : max_order;
            if (k > max_order) k = max_order;
            while (((pfn_t)1 << k) > end - f) k--;
            counts[k]++;
            f += (pfn_t)1 << k;
        }
    }
}

/* For the buddy: its blocks per order equal those of the fully coalesced state. */
static void expect_coalesced(env_t *e)
{
    uint64_t got[MM_BUDDY_ORDERS], want[MM_BUDDY_ORDERS];
    int max_order = mm_falloc_buddy_blocks(&e->db, got, MM_BUDDY_ORDERS);
    if (e->kind != NTMM_FRAMES_BUDDY) {
        assert_int_equal(max_order, -1);
        return;
    }
    assert_true(max_order > 0);
    ref_blocks(&e->db, max_order, want);
    for (int k = 0; k < (int)MM_BUDDY_ORDERS; k++)
        if (got[k] != want[k])
            fail_msg("buddy: %llu blocks of order %d, %llu when fully coalesced", (unsigned long long)got[k], k,
                     (unsigned long long)want[k]);
}

/* --- the API under the lock --------------------------------------------------------------- */

static ntmm_status_t alloc1(env_t *e, mm_alloc_kind_t kind, pfn_t *out)
{
    mm_pfn_lock(&e->db);
    ntmm_status_t st = mm_pfn_allocate(&e->db, kind, NTMM_USE_PROCESS_PRIVATE, 0, 0, out);
    mm_pfn_unlock(&e->db);
    return st;
}

static ntmm_status_t free1(env_t *e, pfn_t pfn)
{
    mm_pfn_lock(&e->db);
    ntmm_status_t st = mm_pfn_free(&e->db, pfn);
    mm_pfn_unlock(&e->db);
    return st;
}

static ntmm_status_t alloc_run(env_t *e, pfn_t n, pfn_t align, pfn_t highest, pfn_t *first)
{
    mm_pfn_lock(&e->db);
    ntmm_status_t st = mm_pfn_allocate_contiguous(&e->db, n, align, highest, NTMM_USE_DRIVER_LOCKED, false, first);
    mm_pfn_unlock(&e->db);
    return st;
}

static ntmm_status_t free_run(env_t *e, pfn_t first, pfn_t n)
{
    mm_pfn_lock(&e->db);
    ntmm_status_t st = mm_pfn_free_contiguous(&e->db, first, n);
    mm_pfn_unlock(&e->db);
    return st;
}

static uint64_t free_frames(env_t *e)
{
    return e->db.falloc->count(&e->db, true) + e->db.falloc->count(&e->db, false);
}

/* A run from alloc_run is where it was asked to be and in use. */
static void expect_run(env_t *e, pfn_t first, pfn_t n, pfn_t align, pfn_t highest)
{
    assert_int_equal(first % align, 0);
    assert_true(first + n - 1 <= highest);
    for (pfn_t f = first; f < first + n; f++) {
        assert_int_equal(e->db.pfn[f].location, MM_ACTIVE);
        assert_int_equal(e->db.pfn[f].use, NTMM_USE_DRIVER_LOCKED);
    }
}

/* --- the cases ------------------------------------------------------------------------------ */

/* After init: every usable frame free and zeroed, nothing dirty, the runs those of the map;
 * a buddy is fully coalesced. */
static void test_initial_state(void **state)
{
    (void)state;
    const ntmm_mem_range_t map[] = {
        { 0, 0x9F000, NTMM_MEM_USABLE },          { 0x9F000, 0x61000, NTMM_MEM_RESERVED },
        { 0x100000, 0x700000, NTMM_MEM_USABLE },  { 0x800000, 0x10000, NTMM_MEM_ACPI_NVS },
        { 0x810000, 0x17F0000, NTMM_MEM_USABLE }, { 0x1234000, 0x3000, NTMM_MEM_BAD },
    };
    ntmm_hw_config_t cfg = { .mem_map = map, .mem_map_count = NTMM_ARRAY_SIZE(map) };
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        env_t e;
        env_init_cfg(&e, &cfg, kinds[k]);
        env_check(&e);
        uint64_t usable = ref_count(&e.db, MM_ZEROED);
        assert_true(usable > 8000);
        assert_int_equal(e.db.falloc->count(&e.db, true), usable);
        assert_int_equal(e.db.falloc->count(&e.db, false), 0);
        assert_int_equal(ref_count(&e.db, MM_FREE), 0);
        assert_int_equal(e.db.falloc->largest_run(&e.db), ref_largest_run(&e.db));
        assert_int_equal(e.db.falloc->largest_run(&e.db), 0x2000000 / 4096 - 0x1237);
        ntmm_memory_stats_t s;
        mm_pfn_stats(&e.db, &s);
        assert_string_equal(s.allocator, kind_names[k]);
        assert_int_equal(s.zeroed, usable);
        assert_int_equal(s.largest_free_run, ref_largest_run(&e.db));
        expect_coalesced(&e);
        env_destroy(&e);
    }
}

/* Frames taken straight from the ops are parked the way the zeroing step parks its frames
 * (TRANSITION + ZEROING, on no list), so mm_pfn_check holds while they are out. */
static void park(env_t *e, pfn_t f)
{
    e->db.pfn[f].location = MM_TRANSITION;
    e->db.pfn[f].flags |= MM_PFN_ZEROING;
}

static void unpark_give(env_t *e, pfn_t f, bool zeroed)
{
    e->db.pfn[f].flags &= (uint16_t)~MM_PFN_ZEROING;
    e->db.falloc->give(&e->db, f, zeroed);
}

/*
 * The ops one by one, seeded, against answers from the entries: take prefers the asked kind
 * strictly (a zeroed frame whenever one exists for want_zeroed, a dirty one whenever one
 * exists otherwise) and reports the frame's true state; take_frame; take_dirty hands out
 * only FREE frames, as many as exist up to max; take_run succeeds exactly when an aligned run
 * below highest exists (and, for the first-fit allocators, returns the lowest). Checked after
 * every operation; at the end everything goes back and a buddy is fully coalesced again.
 */
static void test_ops_randomized(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        env_t e;
        env_init(&e, NTMM_MIB(16), kinds[k]);
        mm_pfndb_t *db = &e.db;
        const mm_falloc_ops_t *ops = db->falloc;
        pfn_t *out = calloc(db->frames, sizeof(pfn_t));
        bool *parked = calloc(db->frames, sizeof(bool));
        assert_true(out && parked);
        uint64_t usable = free_frames(&e), nparked = 0;
        base_rng_t r;
        base_rng_seed(&r, 0xFA110C + k);
        for (int step = 0; step < 1500; step++) {
            uint64_t op = base_rng_below(&r, 100);
            uint64_t cz = ops->count(db, true), cd = ops->count(db, false);
            mm_pfn_lock(db);
            if (op < 35) { /* take */
                bool want = base_rng_below(&r, 2), z = !want;
                pfn_t f = ops->take(db, want, &z);
                if (cz + cd == 0) {
                    assert_int_equal(f, MM_NO_PFN);
                } else {
                    assert_true(f < db->frames && !parked[f]);
                    assert_int_equal(z, want ? cz > 0 : cd == 0);
                    assert_int_equal(db->pfn[f].location, z ? MM_ZEROED : MM_FREE); /* left as it was */
                    park(&e, f), parked[f] = true, nparked++;
                }
            } else if (op < 70 && nparked > 0) { /* give back, zeroed or not */
                pfn_t f = base_rng_below(&r, db->frames);
                while (!parked[f]) f = (f + 1) % db->frames;
                unpark_give(&e, f, base_rng_below(&r, 3) == 0);
                parked[f] = false, nparked--;
            } else if (op < 80 && cz + cd > 0) { /* a given free frame */
                pfn_t f = base_rng_below(&r, db->frames);
                while (!is_free(db, f)) f = (f + 1) % db->frames;
                ops->take_frame(db, f);
                park(&e, f), parked[f] = true, nparked++;
            } else if (op < 90) { /* a run */
                pfn_t n = 1 + base_rng_below(&r, base_rng_below(&r, 4) == 0 ? 700 : 20);
                pfn_t align = (pfn_t)1 << base_rng_below(&r, 11);
                pfn_t highest = base_rng_below(&r, 3) ? ANY_PFN : base_rng_below(&r, db->frames + 10);
                pfn_t expect = ref_find_run(db, n, align, highest);
                pfn_t f = ops->take_run(db, n, align, highest);
                if (expect == MM_NO_PFN) {
                    assert_int_equal(f, MM_NO_PFN);
                } else {
                    assert_int_not_equal(f, MM_NO_PFN);
                    if (e.kind != NTMM_FRAMES_BUDDY) assert_int_equal(f, expect); /* first fit */
                    assert_int_equal(f % align, 0);
                    assert_true(f + n - 1 <= highest);
                    for (pfn_t g = f; g < f + n; g++) {
                        assert_true(is_free(db, g)); /* location left as it was */
                        park(&e, g), parked[g] = true, nparked++;
                    }
                }
            } else { /* the zeroing step's request */
                size_t max = base_rng_below(&r, 12);
                size_t got = ops->take_dirty(db, out, max);
                assert_int_equal(got, cd < max ? cd : max);
                for (size_t i = 0; i < got; i++) {
                    assert_int_equal(db->pfn[out[i]].location, MM_FREE);
                    park(&e, out[i]), parked[out[i]] = true, nparked++;
                }
            }
            pfn_t bad = 0;
            bool ok = ops->check(db, &bad);
            mm_pfn_unlock(db);
            if (!ok) fail_msg("%s: check failed at frame %#llx, step %d", ops->name, (unsigned long long)bad, step);
            assert_int_equal(ops->count(db, true) + ops->count(db, false) + nparked, usable);
            env_check(&e);
        }
        mm_pfn_lock(db);
        for (pfn_t f = 0; f < db->frames; f++)
            if (parked[f]) unpark_give(&e, f, f % 2 == 0);
        mm_pfn_unlock(db);
        env_check(&e);
        assert_int_equal(free_frames(&e), usable);
        assert_int_equal(ops->largest_run(db), ref_largest_run(db));
        expect_coalesced(&e);
        free(out);
        free(parked);
        env_destroy(&e);
    }
}

/* Happy path: take every frame one by one, give them all back in a random order; after
 * every give the structure is valid, and at the end it is as it was at init. */
static void test_fill_and_drain(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        env_t e;
        env_init(&e, NTMM_MIB(8), kinds[k]);
        uint64_t usable = free_frames(&e), largest = e.db.falloc->largest_run(&e.db);
        pfn_t *held = calloc(usable, sizeof(pfn_t));
        assert_non_null(held);
        uint64_t n = 0;
        pfn_t f;
        while (alloc1(&e, n % 3 ? MM_ALLOC_ANY : MM_ALLOC_ZEROED, &f) == NTMM_STATUS_SUCCESS) {
            assert_true(n < usable);
            held[n++] = f;
        }
        assert_int_equal(n, usable);
        assert_int_equal(free_frames(&e), 0);
        assert_int_equal(e.db.falloc->largest_run(&e.db), 0);
        assert_int_equal(e.db.zeroed_on_demand, 0); /* every frame was fresh, zeroed RAM */
        env_check(&e);
        expect_coalesced(&e);
        base_rng_t r;
        base_rng_seed(&r, 0xD4A1 + k);
        for (uint64_t i = n; i > 1; i--) { /* Fisher-Yates */
            uint64_t j = base_rng_below(&r, i);
            pfn_t t = held[i - 1];
            held[i - 1] = held[j];
            held[j] = t;
        }
        for (uint64_t i = 0; i < n; i++) {
            assert_int_equal(free1(&e, held[i]), NTMM_STATUS_SUCCESS);
            if (i % 97 == 0) {
                env_check(&e);
                expect_coalesced(&e);
            }
        }
        env_check(&e);
        assert_int_equal(free_frames(&e), usable);
        assert_int_equal(e.db.falloc->count(&e.db, false), usable); /* all came back dirty */
        assert_int_equal(e.db.falloc->largest_run(&e.db), largest);
        expect_coalesced(&e);
        free(held);
        env_destroy(&e);
    }
}

/* Requests that cannot be met, through the API and straight to the ops: statuses, no change. */
static void test_contiguous_bad_requests(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        env_t e;
        env_init(&e, NTMM_MIB(16), kinds[k]);
        uint64_t before = free_frames(&e);
        pfn_t first = 0;
        const pfn_t ram = e.db.ram_frames;
        assert_int_equal(alloc_run(&e, 0, 1, ANY_PFN, &first), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(first, MM_NO_PFN);
        assert_int_equal(alloc_run(&e, 1, 0, ANY_PFN, &first), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(alloc_run(&e, 1, 3, ANY_PFN, &first), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(alloc_run(&e, 8, 24, ANY_PFN, &first), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(alloc_run(&e, ram + 1, 1, ANY_PFN, &first), NTMM_STATUS_NO_MEMORY);
        assert_int_equal(alloc_run(&e, UINT64_MAX, 1, ANY_PFN, &first), NTMM_STATUS_NO_MEMORY);
        assert_int_equal(alloc_run(&e, before + 1, 1, ANY_PFN, &first), NTMM_STATUS_NO_MEMORY);
        assert_int_equal(alloc_run(&e, 1, (pfn_t)1 << 40, ANY_PFN, &first), NTMM_STATUS_NO_MEMORY);
        assert_int_equal(alloc_run(&e, 1, (pfn_t)1 << 63, ANY_PFN, &first), NTMM_STATUS_NO_MEMORY);
        assert_int_equal(alloc_run(&e, 2 * e.db.frames / 3, e.db.frames / 2, ANY_PFN, &first), NTMM_STATUS_NO_MEMORY);
        assert_int_equal(alloc_run(&e, 10, 1, 5, &first), NTMM_STATUS_NO_MEMORY);   /* ends above highest */
        assert_int_equal(alloc_run(&e, 512, 512, 511, &first), NTMM_STATUS_NO_MEMORY); /* page 0 is firmware */
        assert_int_equal(alloc_run(&e, 0x9F, 1, 0x19D, &first), NTMM_STATUS_NO_MEMORY); /* 0x9F..0xFF reserved */
        assert_int_equal(first, MM_NO_PFN);
        assert_int_equal(free_frames(&e), before);
        env_check(&e);
        expect_coalesced(&e);
        /* the ops themselves, with what the API would have refused */
        mm_pfndb_t *db = &e.db;
        mm_pfn_lock(db);
        assert_int_equal(db->falloc->take_run(db, 0, 1, ANY_PFN), MM_NO_PFN);
        assert_int_equal(db->falloc->take_run(db, 1, 0, ANY_PFN), MM_NO_PFN);
        assert_int_equal(db->falloc->take_run(db, 1, 6, ANY_PFN), MM_NO_PFN);
        assert_int_equal(db->falloc->take_run(db, before + 1, 1, ANY_PFN), MM_NO_PFN);
        assert_int_equal(db->falloc->take_run(db, UINT64_MAX, 1, ANY_PFN), MM_NO_PFN);
        assert_int_equal(db->falloc->take_run(db, 1, (pfn_t)1 << 63, ANY_PFN), MM_NO_PFN);
        assert_int_equal(db->falloc->take_run(db, 2, 1, 0), MM_NO_PFN);
        assert_int_equal(db->falloc->take_run(db, 1, 1, 0), MM_NO_PFN); /* frame 0: firmware */
        mm_pfn_unlock(db);
        assert_int_equal(free_frames(&e), before);
        env_check(&e);
        /* and the ones that can be met, at the edges */
        assert_int_equal(alloc_run(&e, 1, 1, 1, &first), NTMM_STATUS_SUCCESS);
        assert_int_equal(first, 1);
        assert_int_equal(free_run(&e, first, 1), NTMM_STATUS_SUCCESS);
        assert_int_equal(alloc_run(&e, 0x9E, 2, 0x9E, &first), NTMM_STATUS_NO_MEMORY);
        assert_int_equal(alloc_run(&e, 0x9E, 1, 0x9E, &first), NTMM_STATUS_SUCCESS); /* frames 1..0x9E */
        expect_run(&e, first, 0x9E, 1, 0x9E);
        assert_int_equal(free_run(&e, first, 0x9E), NTMM_STATUS_SUCCESS);
        pfn_t big = e.db.frames - 0x100; /* all of extended memory */
        assert_int_equal(alloc_run(&e, big, 0x100, ANY_PFN, &first), NTMM_STATUS_SUCCESS);
        expect_run(&e, first, big, 0x100, ANY_PFN);
        assert_int_equal(alloc_run(&e, 1, 0x100, ANY_PFN, &first), NTMM_STATUS_NO_MEMORY);
        assert_int_equal(free_run(&e, 0x100, big), NTMM_STATUS_SUCCESS);
        env_check(&e);
        assert_int_equal(free_frames(&e), before);
        expect_coalesced(&e);
        env_destroy(&e);
    }
}

/* Bad frees: statuses for frames outside the database, named bugchecks for frames that are
 * not in use; the halted machine refuses everything afterwards. */
static void test_bad_frees(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        env_t e;
        env_init(&e, NTMM_MIB(8), kinds[k]);
        pfn_t f, run;
        assert_int_equal(free1(&e, e.db.frames + 5), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(free_run(&e, 0x200, 0), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(free_run(&e, e.db.frames, 1), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(free_run(&e, e.db.frames - 1, 2), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(e.m->bugcheck.code, 0);
        assert_int_equal(alloc1(&e, MM_ALLOC_ANY, &f), NTMM_STATUS_SUCCESS);
        assert_int_equal(alloc_run(&e, 64, 64, ANY_PFN, &run), NTMM_STATUS_SUCCESS);
        assert_int_equal(free1(&e, f), NTMM_STATUS_SUCCESS);
        env_check(&e);
        /* a run with a free frame in it: nothing of it is freed */
        assert_int_equal(free_run(&e, run, 65), NTMM_STATUS_MACHINE_HALTED);
        assert_int_equal(e.m->bugcheck.code, NTMM_BUGCHECK_PFN_LIST_CORRUPT);
        assert_int_equal(e.m->bugcheck.param[1], run + 64);
        assert_int_equal(e.db.pfn[run].location, MM_ACTIVE);
        assert_int_equal(free1(&e, f), NTMM_STATUS_MACHINE_HALTED);
        assert_int_equal(alloc1(&e, MM_ALLOC_ANY, &f), NTMM_STATUS_MACHINE_HALTED);
        env_destroy(&e);

        /* a frame freed twice */
        env_init(&e, NTMM_MIB(8), kinds[k]);
        assert_int_equal(alloc1(&e, MM_ALLOC_ZEROED, &f), NTMM_STATUS_SUCCESS);
        assert_int_equal(free1(&e, f), NTMM_STATUS_SUCCESS);
        uint64_t before = free_frames(&e);
        assert_int_equal(free1(&e, f), NTMM_STATUS_MACHINE_HALTED);
        assert_int_equal(e.m->bugcheck.code, NTMM_BUGCHECK_PFN_LIST_CORRUPT);
        assert_int_equal(e.m->bugcheck.param[1], f);
        assert_int_equal(free_frames(&e), before); /* the allocator was not touched */
        pfn_t bad = 0;
        assert_true(e.db.falloc->check(&e.db, &bad));
        env_destroy(&e);

        /* a free range freed as a run */
        env_init(&e, NTMM_MIB(8), kinds[k]);
        assert_int_equal(free_run(&e, 0x400, 16), NTMM_STATUS_MACHINE_HALTED);
        assert_int_equal(e.m->bugcheck.code, NTMM_BUGCHECK_PFN_LIST_CORRUPT);
        assert_true(e.db.falloc->check(&e.db, &bad));
        env_destroy(&e);
    }
}

/* Bad frames cut blocks: free frames marked bad leave the allocator (a buddy splits the
 * blocks that held them), are never handed out, and the rest still coalesces. */
static void test_mark_bad(void **state)
{
    (void)state;
    const pfn_t bad_frames[] = { 0x1234, 0x800, 0x7FF, 0x101, 0x1FFF };
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        env_t e;
        env_init(&e, NTMM_MIB(32), kinds[k]);
        uint64_t usable = free_frames(&e);
        pfn_t f;
        /* one dirty frame among them */
        assert_int_equal(alloc1(&e, MM_ALLOC_ANY, &f), NTMM_STATUS_SUCCESS);
        assert_int_equal(free1(&e, f), NTMM_STATUS_SUCCESS);
        mm_pfn_lock(&e.db);
        assert_int_equal(mm_pfn_mark_bad(&e.db, f), NTMM_STATUS_SUCCESS);
        for (size_t i = 0; i < NTMM_ARRAY_SIZE(bad_frames); i++)
            assert_int_equal(mm_pfn_mark_bad(&e.db, bad_frames[i]), NTMM_STATUS_SUCCESS);
        assert_int_equal(mm_pfn_mark_bad(&e.db, 0xA0), NTMM_STATUS_INVALID_PARAMETER); /* not RAM */
        assert_int_equal(mm_pfn_mark_bad(&e.db, e.db.frames + 1), NTMM_STATUS_INVALID_PARAMETER);
        mm_pfn_unlock(&e.db);
        env_check(&e);
        uint64_t nbad = 1 + NTMM_ARRAY_SIZE(bad_frames);
        assert_int_equal(free_frames(&e), usable - nbad);
        assert_int_equal(e.db.falloc->largest_run(&e.db), ref_largest_run(&e.db));
        expect_coalesced(&e);
        /* below 0x1400, the 2 MiB blocks without a bad frame: 0x200 0x400 0xA00 0xC00 0xE00 0x1000 */
        pfn_t run[8];
        unsigned runs = 0;
        while (runs < 8 && alloc_run(&e, 512, 512, 0x13FF, &run[runs]) == NTMM_STATUS_SUCCESS) {
            expect_run(&e, run[runs], 512, 512, 0x13FF);
            runs++;
        }
        assert_int_equal(runs, 6);
        while (runs > 0) assert_int_equal(free_run(&e, run[--runs], 512), NTMM_STATUS_SUCCESS);
        env_check(&e);
        expect_coalesced(&e);
        /* drain: no bad frame comes out */
        uint64_t n = 0;
        while (alloc1(&e, n % 2 ? MM_ALLOC_ZEROED : MM_ALLOC_ANY, &f) == NTMM_STATUS_SUCCESS) {
            assert_int_equal(e.db.pfn[f].location, MM_ACTIVE);
            for (size_t i = 0; i < NTMM_ARRAY_SIZE(bad_frames); i++) assert_int_not_equal(f, bad_frames[i]);
            n++;
        }
        assert_int_equal(n, usable - nbad);
        for (pfn_t g = 0; g < e.db.frames; g++)
            if (e.db.pfn[g].location == MM_ACTIVE && e.db.pfn[g].use == NTMM_USE_PROCESS_PRIVATE)
                assert_int_equal(free1(&e, g), NTMM_STATUS_SUCCESS);
        env_check(&e);
        assert_int_equal(free_frames(&e), usable - nbad);
        expect_coalesced(&e);
        env_destroy(&e);
    }
}

/* The zeroing step drains dirty frames however they are mixed with zeroed ones in the
 * allocator's structures (a buddy's MIXED blocks), in small batches, checked after each. */
static void test_zero_step_mixed(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        env_t e;
        env_init(&e, NTMM_MIB(16), kinds[k]);
        uint64_t usable = free_frames(&e);
        pfn_t *held = calloc(usable, sizeof(pfn_t));
        assert_non_null(held);
        uint64_t n = 0;
        pfn_t f;
        while (n < usable / 2 && alloc1(&e, MM_ALLOC_ZEROED, &f) == NTMM_STATUS_SUCCESS) held[n++] = f;
        base_rng_t r;
        base_rng_seed(&r, 0x2E80 + k);
        uint64_t freed = 0;
        for (uint64_t i = 0; i < n; i++)
            if (base_rng_below(&r, 3) != 0) {
                assert_int_equal(free1(&e, held[i]), NTMM_STATUS_SUCCESS);
                held[i] = MM_NO_PFN;
                freed++;
            }
        env_check(&e);
        assert_int_equal(e.db.falloc->count(&e.db, false), freed);
        expect_coalesced(&e);
        uint64_t left = freed;
        while (left > 0) {
            uint64_t budget = 1 + base_rng_below(&r, 150);
            uint64_t done = mm_zero_step(&e.db, budget);
            assert_int_equal(done, left < budget ? left : budget);
            left -= done;
            assert_int_equal(e.db.falloc->count(&e.db, false), left);
            env_check(&e);
        }
        assert_int_equal(mm_zero_step(&e.db, 100), 0);
        assert_int_equal(ref_count(&e.db, MM_FREE), 0);
        expect_coalesced(&e);
        /* zeroed requests are served without zeroing on demand while zeroed frames last */
        uint64_t zeroed = e.db.falloc->count(&e.db, true);
        for (uint64_t i = 0; i < zeroed; i++) assert_int_equal(alloc1(&e, MM_ALLOC_ZEROED, &f), NTMM_STATUS_SUCCESS);
        assert_int_equal(e.db.zeroed_on_demand, 0);
        assert_int_equal(alloc1(&e, MM_ALLOC_ZEROED, &f), NTMM_STATUS_NO_MEMORY);
        env_check(&e);
        free(held);
        env_destroy(&e);
    }
}

typedef struct holding {
    pfn_t first, n; /* n == 0: a single frame from mm_pfn_allocate */
} holding_t;

static void release(env_t *e, const holding_t *h)
{
    if (h->n == 0) assert_int_equal(free1(e, h->first), NTMM_STATUS_SUCCESS);
    else assert_int_equal(free_run(e, h->first, h->n), NTMM_STATUS_SUCCESS);
}

/*
 * The stress: a seeded churn of single frames (zeroed or any), runs of random size, alignment
 * and limit, frees in random order and zeroing steps, with mm_pfn_check after every step.
 * Every run request succeeds exactly when the entries show a fitting run (there are no
 * standby frames to repurpose); every 25 steps a 2 MiB (512-frame, 512-aligned) request must
 * succeed exactly when a free aligned 512-run exists. At the end everything is freed: the
 * counts, the largest free run and - for the buddy - the blocks per order must be those of
 * init, which only working coalescing achieves.
 */
static void test_churn_stress(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        env_t e;
        env_init(&e, NTMM_MIB(48), kinds[k]);
        uint64_t usable = free_frames(&e), largest = e.db.falloc->largest_run(&e.db);
        uint64_t init_blocks[MM_BUDDY_ORDERS] = { 0 };
        mm_falloc_buddy_blocks(&e.db, init_blocks, MM_BUDDY_ORDERS);
        size_t cap = usable + 1, held = 0;
        holding_t *h = calloc(cap, sizeof *h);
        assert_non_null(h);
        base_rng_t r;
        base_rng_seed(&r, 0x5EED003 + k);
        unsigned runs_ok = 0, runs_failed = 0, big_ok = 0, big_failed = 0;
        for (int step = 0; step < 3000; step++) {
            uint64_t op = base_rng_below(&r, 100);
            /* phases: mostly allocating, then mostly freeing, so memory fills and drains */
            bool filling = (step / 600) % 2 == 0;
            if (op < (filling ? 60u : 15u)) {
                pfn_t f;
                ntmm_status_t st = alloc1(&e, base_rng_below(&r, 2) ? MM_ALLOC_ANY : MM_ALLOC_ZEROED, &f);
                if (st == NTMM_STATUS_SUCCESS) h[held++] = (holding_t){ f, 0 };
                else assert_int_equal(free_frames(&e), 0);
            } else if (op < (filling ? 85u : 25u)) {
                pfn_t n = 1 + base_rng_below(&r, base_rng_below(&r, 3) == 0 ? 600 : 16);
                pfn_t align = (pfn_t)1 << base_rng_below(&r, 10);
                pfn_t highest = base_rng_below(&r, 4) ? ANY_PFN : base_rng_below(&r, e.db.frames);
                pfn_t expect = ref_find_run(&e.db, n, align, highest), first;
                ntmm_status_t st = alloc_run(&e, n, align, highest, &first);
                if (expect == MM_NO_PFN) {
                    assert_int_equal(st, NTMM_STATUS_NO_MEMORY);
                    runs_failed++;
                } else {
                    assert_int_equal(st, NTMM_STATUS_SUCCESS);
                    expect_run(&e, first, n, align, highest);
                    h[held++] = (holding_t){ first, n };
                    runs_ok++;
                }
            } else if (op < 97 && held > 0) {
                size_t i = base_rng_below(&r, held);
                release(&e, &h[i]);
                h[i] = h[--held];
            } else {
                mm_zero_step(&e.db, base_rng_below(&r, 200));
            }
            env_check(&e);
            if (step % 25 == 0) {
                pfn_t expect = ref_find_run(&e.db, 512, 512, ANY_PFN), first;
                ntmm_status_t st = alloc_run(&e, 512, 512, ANY_PFN, &first);
                assert_int_equal(st, expect == MM_NO_PFN ? NTMM_STATUS_NO_MEMORY : NTMM_STATUS_SUCCESS);
                if (st == NTMM_STATUS_SUCCESS) {
                    expect_run(&e, first, 512, 512, ANY_PFN);
                    assert_int_equal(free_run(&e, first, 512), NTMM_STATUS_SUCCESS);
                    big_ok++;
                } else {
                    big_failed++;
                }
                assert_int_equal(e.db.falloc->largest_run(&e.db), ref_largest_run(&e.db));
                env_check(&e);
            }
        }
        print_message("%s: runs %u ok %u failed, 2 MiB %u ok %u failed\n", kind_names[k], runs_ok, runs_failed, big_ok, big_failed);
        /* both outcomes were exercised */
        assert_true(runs_ok > 50 && runs_failed > 5);
        assert_true(big_ok > 5 && big_failed > 5);
        while (held > 0) {
            size_t i = base_rng_below(&r, held);
            release(&e, &h[i]);
            h[i] = h[--held];
            if (held % 200 == 0) env_check(&e);
        }
        env_check(&e);
        assert_int_equal(free_frames(&e), usable);
        assert_int_equal(e.db.falloc->largest_run(&e.db), largest);
        expect_coalesced(&e);
        uint64_t end_blocks[MM_BUDDY_ORDERS] = { 0 };
        mm_falloc_buddy_blocks(&e.db, end_blocks, MM_BUDDY_ORDERS);
        assert_memory_equal(end_blocks, init_blocks, sizeof init_blocks);
        /* memory is whole again: the largest aligned block and then every 2 MiB block */
        pfn_t first, top = 0;
        uint64_t maximal[MM_BUDDY_ORDERS];
        ref_blocks(&e.db, MM_BUDDY_ORDERS - 1, maximal);
        for (unsigned o = 0; o < MM_BUDDY_ORDERS; o++)
            if (maximal[o]) top = (pfn_t)1 << o;
        assert_int_equal(alloc_run(&e, top, top, ANY_PFN, &first), NTMM_STATUS_SUCCESS);
        assert_int_equal(alloc_run(&e, top, top, ANY_PFN, &first), maximal[63 - __builtin_clzll(top)] > 1 ? NTMM_STATUS_SUCCESS : NTMM_STATUS_NO_MEMORY);
        if (maximal[63 - __builtin_clzll(top)] > 1) assert_int_equal(free_run(&e, first, top), NTMM_STATUS_SUCCESS);
        first = MM_NO_PFN;
        for (pfn_t g = 0; g < e.db.frames && first == MM_NO_PFN; g += top)
            if (e.db.pfn[g].location == MM_ACTIVE && e.db.pfn[g].use == NTMM_USE_DRIVER_LOCKED) first = g;
        assert_int_equal(free_run(&e, first, top), NTMM_STATUS_SUCCESS);
        uint64_t blocks = 0;
        while (alloc_run(&e, 512, 512, ANY_PFN, &first) == NTMM_STATUS_SUCCESS) {
            h[held++] = (holding_t){ first, 512 };
            blocks++;
        }
        assert_int_equal(blocks, e.db.frames / 512 - 1); /* all but the first (page 0, the PC hole) */
        while (held > 0) release(&e, &h[--held]);
        env_check(&e);
        expect_coalesced(&e);
        free(h);
        env_destroy(&e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_state),
        cmocka_unit_test(test_ops_randomized),
        cmocka_unit_test(test_fill_and_drain),
        cmocka_unit_test(test_contiguous_bad_requests),
        cmocka_unit_test(test_bad_frees),
        cmocka_unit_test(test_mark_bad),
        cmocka_unit_test(test_zero_step_mixed),
        cmocka_unit_test(test_churn_stress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
