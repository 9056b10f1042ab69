/*
 * test_pfn.c - the PFN database and NT's page lists: initial state from the memory map, the
 * allocation order, share and reference counting, standby and modified frames that their
 * PTE still remembers (soft faults, repurposing), bad frames, contiguous runs, zeroing, the
 * invariant checker, and bad requests that must end in a status or a named bugcheck.
 * Each behaviour runs against every frame allocator where the allocator does not matter.
 */
#include <pthread.h>

#include "pfnenv.h"

#define RAM NTMM_MIB(16)

static const ntmm_frame_allocator_t kinds[] = { NTMM_FRAMES_NT_LISTS, NTMM_FRAMES_BITMAP, NTMM_FRAMES_BUDDY };

static ntmm_memory_stats_t stats(pfnenv_t *e)
{
    ntmm_memory_stats_t s;
    mm_pfn_stats(&e->db, &s);
    return s;
}

static void test_initial_state(void **state)
{
    (void)state;
    const ntmm_mem_range_t map[] = {
        { 0, 0x9F000, NTMM_MEM_USABLE }, { 0x9F000, 0x61000, NTMM_MEM_RESERVED },
        { 0x100000, 0xF00000, NTMM_MEM_USABLE }, { 0x1000000, 0x10000, NTMM_MEM_ACPI_NVS },
        { 0x1010000, 0xFF0000, NTMM_MEM_USABLE }, { 0x800000, 0x2000, NTMM_MEM_BAD },
    };
    ntmm_hw_config_t cfg = { .mem_map = map, .mem_map_count = NTMM_ARRAY_SIZE(map) };
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        pfnenv_t e;
        pfnenv_init_cfg(&e, &cfg, kinds[k]);
        ntmm_memory_stats_t s = stats(&e);
        uint64_t usable = (0x9F000 + 0xF00000 - 0x2000 + 0xFF0000) >> 12;
        assert_int_equal(s.ram_frames, usable + 0x10);
        assert_int_equal(s.by_use[NTMM_USE_FIRMWARE], 0x10 + 1); /* ACPI NVS and page 0 */
        assert_int_equal(s.zeroed, usable - 2);                   /* the fixture's table took one */
        assert_int_equal(s.free + s.standby + s.modified + s.bad, 0);
        assert_int_equal(s.active, 0x10 + 2);
        assert_int_equal(e.db.pfn[0].use, NTMM_USE_FIRMWARE);
        assert_int_equal(e.db.pfn[0xA0].location, MM_NOT_RAM);
        assert_int_equal(e.db.pfn[0x800].location, MM_NOT_RAM); /* bad in the map: never RAM */
        assert_int_equal(e.db.pfn[0x1000].location, MM_ACTIVE);
        /* every frame can be handed out, none of them reserved or firmware */
        uint64_t n = 0;
        pfn_t pfn;
        mm_pfn_lock(&e.db);
        while (mm_pfn_allocate(&e.db, MM_ALLOC_ANY, NTMM_USE_DRIVER_LOCKED, 0, 0, &pfn) == NTMM_STATUS_SUCCESS) {
            assert_true(hw_phys_type(&e.m->phys, pfn << 12) == NTMM_MEM_USABLE);
            n++;
        }
        mm_pfn_unlock(&e.db);
        assert_int_equal(n, usable - 2);
        pfnenv_check(&e);
        pfnenv_destroy(&e);
    }
}

/* ZEROED requests take zeroed frames first, ANY requests dirty ones; a dirty frame handed out
 * for a ZEROED request is zeroed on the spot. */
static void test_allocation_order_and_zeroing(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        pfnenv_t e;
        pfnenv_init(&e, RAM, kinds[k]);
        pfn_t a = pfnenv_map(&e, 0, MM_ALLOC_ZEROED);
        memset(pfnenv_frame(&e, a), 0xA5, NTMM_PAGE_SIZE);
        mm_pfn_lock(&e.db);
        assert_int_equal(mm_pfn_free(&e.db, a), NTMM_STATUS_SUCCESS);
        mm_pfn_unlock(&e.db);
        pfnenv_write_pte(&e, 0, 0);
        assert_int_equal(e.db.pfn[a].location, MM_FREE);
        assert_int_equal(stats(&e).free, 1);
        pfnenv_check(&e);
        /* ANY prefers the dirty frame */
        pfn_t b = pfnenv_map(&e, 1, MM_ALLOC_ANY);
        assert_int_equal(b, a);
        assert_int_equal(pfnenv_frame(&e, b)[100], 0xA5);
        mm_pfn_lock(&e.db);
        mm_pfn_free(&e.db, b);
        mm_pfn_unlock(&e.db);
        pfnenv_write_pte(&e, 1, 0);
        /* ZEROED prefers zeroed frames: the dirty one is left alone */
        pfn_t c = pfnenv_map(&e, 2, MM_ALLOC_ZEROED);
        assert_true(c != a);
        assert_int_equal(e.db.pfn[a].location, MM_FREE);
        /* the zeroing step zeroes it */
        assert_int_equal(mm_zero_step(&e.db, 100), 1);
        assert_int_equal(e.db.pfn[a].location, MM_ZEROED);
        assert_int_equal(pfnenv_frame(&e, a)[100], 0);
        assert_int_equal(mm_zero_step(&e.db, 100), 0);
        assert_int_equal(stats(&e).zeroed_by_step, 1);
        pfnenv_check(&e);
        pfnenv_destroy(&e);
    }
}

/* share count, reference count, and where a frame goes when both reach zero */
static void test_counts_and_lists(void **state)
{
    (void)state;
    pfnenv_t e;
    pfnenv_init(&e, RAM, NTMM_FRAMES_NT_LISTS);
    mm_pfndb_t *db = &e.db;
    pfn_t p = pfnenv_map(&e, 3, MM_ALLOC_ZEROED);
    mm_pfn_t *pe = mm_pfn_entry(db, p);
    assert_int_equal(pe->location, MM_ACTIVE);
    assert_int_equal(mm_pfn_share(pe), 1);
    assert_int_equal(pe->reference_count, 1);
    assert_int_equal(mm_pfn_pte_frame(pe), e.table);
    mm_pfn_lock(db);
    assert_int_equal(mm_pfn_add_share(db, p), 0); /* a second mapping */
    assert_int_equal(mm_pfn_add_ref(db, p), 0);   /* an I/O pin */
    assert_int_equal(mm_pfn_remove_share(db, p), 0);
    mm_pfn_unlock(db);
    pfnenv_check(&e);
    /* trim the last mapping: the pin keeps it ACTIVE */
    pfnenv_trim(&e, 3, p);
    assert_int_equal(pe->location, MM_ACTIVE);
    assert_int_equal(mm_pfn_share(pe), 0);
    pfnenv_check(&e);
    mm_pfn_lock(db);
    assert_int_equal(mm_pfn_remove_ref(db, p), 0);
    mm_pfn_unlock(db);
    assert_int_equal(pe->location, MM_STANDBY); /* clean, remembered by its transition PTE */
    assert_int_equal(db->lists[MM_STANDBY].count, 1);
    pfnenv_check(&e);
    /* soft fault: back without I/O, the same frame and contents */
    pfnenv_frame(&e, p)[7] = 0x77;
    mm_pfn_lock(db);
    assert_int_equal(mm_pfn_reclaim(db, p), 0);
    pfnenv_write_pte(&e, 3, (p << 12) | PTE_P | PTE_RW);
    assert_int_equal(mm_pfn_set_modified(db, p, true), 0);
    mm_pfn_unlock(db);
    assert_int_equal(pe->location, MM_ACTIVE);
    pfnenv_check(&e);
    /* dirty when trimmed: the modified list, then the writer moves it to standby */
    pfnenv_trim(&e, 3, p);
    assert_int_equal(pe->location, MM_MODIFIED);
    pfnenv_check(&e);
    mm_pfn_lock(db);
    assert_int_equal(mm_pfn_written(db, p), 0);
    mm_pfn_unlock(db);
    assert_int_equal(pe->location, MM_STANDBY);
    assert_false(pe->flags & MM_PFN_MODIFIED);
    pfnenv_check(&e);
    /* the PTE is released (decommit): the standby frame goes to the free list */
    mm_pfn_lock(db);
    assert_int_equal(mm_pfn_delete(db, p), 0);
    mm_pfn_unlock(db);
    pfnenv_write_pte(&e, 3, 0);
    assert_int_equal(pe->location, MM_FREE);
    assert_int_equal(pfnenv_frame(&e, p)[7], 0x77); /* not zeroed until the zeroing step */
    pfnenv_check(&e);
    /* modified-no-write */
    p = pfnenv_map(&e, 4, MM_ALLOC_ZEROED);
    mm_pfn_lock(db);
    mm_pfn_set_modified(db, p, true);
    db->pfn[p].flags |= MM_PFN_NOWRITE;
    mm_pfn_unlock(db);
    pfnenv_trim(&e, 4, p);
    assert_int_equal(db->pfn[p].location, MM_MODIFIED_NOWRITE);
    pfnenv_check(&e);
    ntmm_memory_stats_t s = stats(&e);
    assert_int_equal(s.modified_nowrite, 1);
    assert_int_equal(s.by_use[NTMM_USE_PROCESS_PRIVATE], 1); /* standby/modified keep their use */
    pfnenv_destroy(&e);
}

/* When free memory runs out, the oldest standby frame is repurposed: its PTE forgets it. */
static void test_repurpose_standby(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        pfnenv_t e;
        pfnenv_init(&e, RAM, kinds[k]);
        mm_pfndb_t *db = &e.db;
        pfn_t p[3];
        for (unsigned i = 0; i < 3; i++) {
            pfnenv_write_pte(&e, 10 + i, 0xABC00000ull | (i << 1)); /* "page-file" PTEs before */
            p[i] = pfnenv_map(&e, 10 + i, MM_ALLOC_ZEROED);
            memset(pfnenv_frame(&e, p[i]), 0x50 + (int)i, NTMM_PAGE_SIZE);
            pfnenv_trim(&e, 10 + i, p[i]);
        }
        assert_int_equal(stats(&e).standby, 3);
        /* use up every free frame */
        pfn_t f;
        mm_pfn_lock(db);
        while (db->falloc->count(db, true) + db->falloc->count(db, false) > 0)
            assert_int_equal(mm_pfn_allocate(db, MM_ALLOC_ANY, NTMM_USE_NONPAGED_POOL, 0, 0, &f), 0);
        /* the next allocation repurposes p[0], the oldest standby frame, and zeroes it */
        assert_int_equal(mm_pfn_allocate(db, MM_ALLOC_ZEROED, NTMM_USE_PAGED_POOL, 0, 0, &f), 0);
        mm_pfn_unlock(db);
        assert_int_equal(f, p[0]);
        assert_int_equal(pfnenv_frame(&e, f)[123], 0);
        assert_int_equal(pfnenv_read_pte(&e, 10), 0xABC00000ull); /* unhooked: the original PTE */
        assert_int_equal(pfnenv_read_pte(&e, 11) >> 12, p[1]);     /* still remembered */
        assert_int_equal(stats(&e).repurposed, 1);
        pfnenv_check(&e);
        mm_pfn_lock(db);
        assert_int_equal(mm_pfn_allocate(db, MM_ALLOC_ANY, NTMM_USE_PAGED_POOL, 0, 0, &f), 0);
        assert_int_equal(f, p[1]);
        assert_int_equal(pfnenv_frame(&e, f)[1], 0x51); /* ANY: not zeroed */
        assert_int_equal(mm_pfn_allocate(db, MM_ALLOC_ANY, NTMM_USE_PAGED_POOL, 0, 0, &f), 0);
        assert_int_equal(mm_pfn_allocate(db, MM_ALLOC_ANY, NTMM_USE_PAGED_POOL, 0, 0, &f), NTMM_STATUS_NO_MEMORY);
        mm_pfn_unlock(db);
        pfnenv_check(&e);
        pfnenv_destroy(&e);
    }
}

/* A frame never reaches a new owner with an old owner's bytes. */
static void test_no_data_leaks(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        pfnenv_t e;
        pfnenv_init(&e, NTMM_MIB(4), kinds[k]);
        mm_pfndb_t *db = &e.db;
        static const char secret[] = "owner A's secret";
        pfn_t owned[1024];
        unsigned n = 0;
        /* owner A fills as many frames as it can with its secret; half end up on standby */
        for (; n < 500; n++) {
            owned[n] = pfnenv_map(&e, n, MM_ALLOC_ANY);
            assert_true(owned[n] != MM_NO_PFN);
            for (unsigned off = 0; off < NTMM_PAGE_SIZE; off += sizeof secret)
                memcpy(pfnenv_frame(&e, owned[n]) + off, secret, sizeof secret - 1);
        }
        mm_pfn_lock(db);
        for (unsigned i = 0; i < n; i++) {
            if (i % 2) {
                mm_pfn_free(db, owned[i]);
                pfnenv_write_pte(&e, i, 0);
            }
        }
        mm_pfn_unlock(db);
        for (unsigned i = 0; i < n; i += 2) pfnenv_trim(&e, i, owned[i]);
        pfnenv_check(&e);
        /* owner B takes every frame there is (memory pressure) and sees only zeros */
        pfn_t f;
        uint64_t got = 0;
        mm_pfn_lock(db);
        while (mm_pfn_allocate(db, MM_ALLOC_ZEROED, NTMM_USE_PROCESS_PRIVATE, 0, 0, &f) == NTMM_STATUS_SUCCESS) {
            const uint8_t *b = pfnenv_frame(&e, f);
            for (unsigned i = 0; i < NTMM_PAGE_SIZE; i++)
                if (b[i]) fail_msg("allocator %s: frame %#llx byte %u = %#x", db->falloc->name, (unsigned long long)f, i, b[i]);
            got++;
        }
        mm_pfn_unlock(db);
        assert_true(got >= 500);
        /* the same through contiguous runs */
        pfnenv_check(&e);
        pfnenv_destroy(&e);
    }
}

/* Bad requests: a status for what a caller may get wrong, a bugcheck for corrupt state. */
static void expect_bugcheck(pfnenv_t *e, uint64_t p1, pfn_t pfn)
{
    assert_true(base_bugcheck_halted(&e->m->bugcheck));
    assert_int_equal(e->m->bugcheck.code, NTMM_BUGCHECK_PFN_LIST_CORRUPT);
    assert_int_equal(e->m->bugcheck.param[0], p1);
    assert_int_equal(e->m->bugcheck.param[1], pfn);
}

static void test_bad_requests(void **state)
{
    (void)state;
    pfnenv_t e;
    pfn_t f;
    /* freeing twice */
    pfnenv_init(&e, RAM, NTMM_FRAMES_NT_LISTS);
    pfn_t p = pfnenv_map(&e, 0, MM_ALLOC_ZEROED);
    mm_pfn_lock(&e.db);
    assert_int_equal(mm_pfn_free(&e.db, p), NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_pfn_free(&e.db, p), NTMM_STATUS_MACHINE_HALTED);
    expect_bugcheck(&e, 0x99, p);
    /* a halted machine refuses everything */
    assert_int_equal(mm_pfn_allocate(&e.db, MM_ALLOC_ANY, NTMM_USE_PAGED_POOL, 0, 0, &f), NTMM_STATUS_MACHINE_HALTED);
    mm_pfn_unlock(&e.db);
    assert_int_equal(mm_zero_step(&e.db, 10), 0);
    pfnenv_destroy(&e);

    /* a reference dropped more often than taken */
    pfnenv_init(&e, RAM, NTMM_FRAMES_NT_LISTS);
    p = pfnenv_map(&e, 0, MM_ALLOC_ZEROED);
    mm_pfn_lock(&e.db);
    assert_int_equal(mm_pfn_remove_ref(&e.db, p), NTMM_STATUS_MACHINE_HALTED); /* the mapping holds it */
    expect_bugcheck(&e, 0x07, p);
    mm_pfn_unlock(&e.db);
    pfnenv_destroy(&e);

    /* a share count below zero */
    pfnenv_init(&e, RAM, NTMM_FRAMES_NT_LISTS);
    mm_pfn_lock(&e.db);
    assert_int_equal(mm_pfn_allocate_contiguous(&e.db, 4, 1, MM_NO_PFN, NTMM_USE_DRIVER_LOCKED, true, &f), 0);
    assert_int_equal(mm_pfn_remove_share(&e.db, f), NTMM_STATUS_MACHINE_HALTED);
    assert_int_equal(e.m->bugcheck.code, NTMM_BUGCHECK_PFN_SHARE_COUNT);
    mm_pfn_unlock(&e.db);
    pfnenv_destroy(&e);

    /* statuses, no bugcheck */
    pfnenv_init(&e, RAM, NTMM_FRAMES_NT_LISTS);
    mm_pfndb_t *db = &e.db;
    mm_pfn_lock(db);
    assert_int_equal(mm_pfn_free(db, db->frames + 5), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_pfn_free(db, MM_NO_PFN), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_pfn_mark_bad(db, 0xA0), NTMM_STATUS_INVALID_PARAMETER); /* not RAM */
    assert_int_equal(mm_pfn_allocate(db, (mm_alloc_kind_t)7, NTMM_USE_PAGED_POOL, 0, 0, &f), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_pfn_allocate(db, MM_ALLOC_ANY, NTMM_USE_UNUSED, 0, 0, &f), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_pfn_allocate_contiguous(db, db->ram_frames + 1, 1, MM_NO_PFN, NTMM_USE_DRIVER_LOCKED, false, &f),
                     NTMM_STATUS_NO_MEMORY);
    assert_int_equal(mm_pfn_allocate_contiguous(db, 0, 1, MM_NO_PFN, NTMM_USE_DRIVER_LOCKED, false, &f),
                     NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_pfn_allocate_contiguous(db, 8, 3, MM_NO_PFN, NTMM_USE_DRIVER_LOCKED, false, &f),
                     NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_pfn_allocate_contiguous(db, 8, 0, MM_NO_PFN, NTMM_USE_DRIVER_LOCKED, false, &f),
                     NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_pfn_allocate_contiguous(db, 8, (pfn_t)1 << 40, MM_NO_PFN, NTMM_USE_DRIVER_LOCKED, false, &f),
                     NTMM_STATUS_NO_MEMORY);
    assert_int_equal(mm_pfn_allocate_contiguous(db, 8, 1, 0x50, NTMM_USE_DRIVER_LOCKED, false, &f), 0);
    assert_true(f + 7 <= 0x50);
    assert_int_equal(mm_pfn_allocate_contiguous(db, 8, 1, 3, NTMM_USE_DRIVER_LOCKED, false, &f), NTMM_STATUS_NO_MEMORY);
    mm_pfn_unlock(db);
    assert_false(base_bugcheck_halted(&e.m->bugcheck));
    pfnenv_check(&e);
    pfnenv_destroy(&e);
}

static void test_contiguous(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        pfnenv_t e;
        pfnenv_init(&e, NTMM_MIB(64), kinds[k]);
        mm_pfndb_t *db = &e.db;
        pfn_t big, small[64];
        mm_pfn_lock(db);
        /* a 2 MiB large page: 512 frames, 512-aligned, zeroed */
        assert_int_equal(mm_pfn_allocate_contiguous(db, 512, 512, MM_NO_PFN, NTMM_USE_LARGE_PAGE, true, &big), 0);
        assert_int_equal(big % 512, 0);
        for (pfn_t f = big; f < big + 512; f++) {
            assert_int_equal(db->pfn[f].location, MM_ACTIVE);
            assert_true(db->pfn[f].flags & MM_PFN_LARGE_PAGE);
        }
        memset(pfnenv_frame(&e, big), 0xEE, NTMM_PAGE_SIZE);
        mm_pfn_unlock(db);
        pfnenv_check(&e);
        assert_int_equal(stats(&e).by_use[NTMM_USE_LARGE_PAGE], 512);
        mm_pfn_lock(db);
        assert_int_equal(mm_pfn_free_contiguous(db, big, 512), 0);
        /* once freed, the same run can come back: zeroed on demand where it was dirty */
        pfn_t again;
        assert_int_equal(mm_pfn_allocate_contiguous(db, 512, 512, MM_NO_PFN, NTMM_USE_LARGE_PAGE, true, &again), 0);
        assert_int_equal(pfnenv_frame(&e, again)[5], 0);
        assert_int_equal(mm_pfn_free_contiguous(db, again, 512), 0);
        /* fragment memory: take every frame, free every other one; no 2-frame run is left */
        pfn_t f;
        uint64_t taken = 0;
        static pfn_t all[20000];
        while (mm_pfn_allocate(db, MM_ALLOC_ANY, NTMM_USE_NONPAGED_POOL, 0, 0, &f) == 0) all[taken++] = f;
        for (uint64_t i = 0; i < taken; i++)
            if (all[i] % 2 == 0) mm_pfn_free(db, all[i]);
        assert_int_equal(mm_pfn_allocate_contiguous(db, 2, 1, MM_NO_PFN, NTMM_USE_DRIVER_LOCKED, false, &f),
                         NTMM_STATUS_NO_MEMORY);
        assert_int_equal(mm_pfn_allocate_contiguous(db, 1, 1, MM_NO_PFN, NTMM_USE_DRIVER_LOCKED, false, &f), 0);
        assert_int_equal(mm_pfn_allocate_contiguous(db, 16, 1, MM_NO_PFN, NTMM_USE_DRIVER_LOCKED, false, small),
                         NTMM_STATUS_NO_MEMORY);
        mm_pfn_unlock(db);
        pfnenv_check(&e);
        (void)small;
        pfnenv_destroy(&e);
    }
}

/* Standby frames in the way of a contiguous run are repurposed for it. */
static void test_contiguous_takes_standby(void **state)
{
    (void)state;
    pfnenv_t e;
    pfnenv_init(&e, NTMM_MIB(8), NTMM_FRAMES_NT_LISTS);
    mm_pfndb_t *db = &e.db;
    /* even frames standby (remembered by slots 0..511), the rest pool: no free frame left */
    pfn_t f;
    unsigned slot = 0;
    for (;;) {
        mm_pfn_lock(db);
        bool none_free = db->falloc->count(db, true) + db->falloc->count(db, false) == 0;
        ntmm_status_t st = none_free ? NTMM_STATUS_NO_MEMORY
                                     : mm_pfn_allocate(db, MM_ALLOC_ANY, NTMM_USE_NONPAGED_POOL, 0, 0, &f);
        mm_pfn_unlock(db);
        if (st != NTMM_STATUS_SUCCESS) break;
        if (f % 2 == 0 && slot < 512) {
            /* make it a process page remembered by a slot, then trim it */
            mm_pfn_lock(db);
            db->by_use[db->pfn[f].use]--;
            db->pfn[f].use = NTMM_USE_PROCESS_PRIVATE;
            db->by_use[NTMM_USE_PROCESS_PRIVATE]++;
            db->pfn[f].pte_pa = pfnenv_pte(&e, slot);
            pfnenv_write_pte(&e, slot, (f << 12) | PTE_P);
            mm_pfn_unlock(db);
            pfnenv_trim(&e, slot, f);
            slot++;
        }
    }
    assert_int_equal(slot, 512);
    pfnenv_check(&e);
    mm_pfn_lock(db);
    assert_int_equal(mm_pfn_allocate_contiguous(db, 1, 2, MM_NO_PFN, NTMM_USE_DRIVER_LOCKED, true, &f), 0);
    assert_int_equal(f % 2, 0);
    mm_pfn_unlock(db);
    assert_int_equal(stats(&e).repurposed, 1);
    pfnenv_check(&e);
    pfnenv_destroy(&e);
}

static void test_bad_frames(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        pfnenv_t e;
        pfnenv_init(&e, RAM, kinds[k]);
        mm_pfndb_t *db = &e.db;
        pfn_t active = pfnenv_map(&e, 0, MM_ALLOC_ZEROED);
        pfn_t standby = pfnenv_map(&e, 1, MM_ALLOC_ZEROED);
        pfnenv_write_pte(&e, 1, (standby << 12) | PTE_P);
        db->pfn[standby].original_pte = 0x5000; /* what its PTE held before */
        pfnenv_trim(&e, 1, standby);
        pfn_t free_one = 0x300;
        mm_pfn_lock(db);
        assert_int_equal(db->pfn[free_one].location, MM_ZEROED);
        assert_int_equal(mm_pfn_mark_bad(db, free_one), 0);
        assert_int_equal(mm_pfn_mark_bad(db, standby), 0);
        assert_int_equal(mm_pfn_mark_bad(db, active), 0);
        assert_int_equal(mm_pfn_mark_bad(db, free_one), 0); /* twice is fine */
        mm_pfn_unlock(db);
        assert_int_equal(db->pfn[free_one].location, MM_BAD);
        assert_int_equal(db->pfn[standby].location, MM_BAD);
        assert_int_equal(pfnenv_read_pte(&e, 1), 0x5000); /* unhooked */
        assert_int_equal(db->pfn[active].location, MM_ACTIVE);
        pfnenv_check(&e);
        mm_pfn_lock(db);
        mm_pfn_free(db, active);
        mm_pfn_unlock(db);
        pfnenv_write_pte(&e, 0, 0);
        assert_int_equal(db->pfn[active].location, MM_BAD);
        assert_int_equal(stats(&e).bad, 3);
        /* none of them is ever handed out */
        pfn_t f;
        mm_pfn_lock(db);
        while (mm_pfn_allocate(db, MM_ALLOC_ANY, NTMM_USE_PAGED_POOL, 0, 0, &f) == 0)
            assert_true(f != free_one && f != standby && f != active);
        mm_pfn_unlock(db);
        pfnenv_check(&e);
        pfnenv_destroy(&e);
    }
}

/* The checker catches corruption and names it. */
static void test_checker_catches_corruption(void **state)
{
    (void)state;
    pfnenv_t e;
    pfnenv_init(&e, RAM, NTMM_FRAMES_NT_LISTS);
    pfn_t p = pfnenv_map(&e, 0, MM_ALLOC_ZEROED);
    pfnenv_trim(&e, 0, p);
    pfnenv_check(&e);
    pfnenv_write_pte(&e, 0, 0); /* the PTE forgets the standby frame behind the database's back */
    assert_false(mm_pfn_check(&e.db));
    assert_int_equal(e.m->bugcheck.code, NTMM_BUGCHECK_PFN_LIST_CORRUPT);
    assert_int_equal(e.m->bugcheck.param[0], 0x99);
    assert_int_equal(e.m->bugcheck.param[1], p);
    pfnenv_destroy(&e);

    pfnenv_init(&e, RAM, NTMM_FRAMES_NT_LISTS);
    e.db.pfn[e.db.lists[MM_ZEROED].head].u2 = 12345; /* a broken back link */
    assert_false(mm_pfn_check(&e.db));
    assert_int_equal(e.m->bugcheck.param[0], 0x02);
    pfnenv_destroy(&e);

    pfnenv_init(&e, RAM, NTMM_FRAMES_NT_LISTS);
    e.db.lists[MM_ZEROED].count++; /* a list head that lies */
    assert_false(mm_pfn_check(&e.db));
    pfnenv_destroy(&e);
}

/* --- a seeded random sequence against a reference model -------------------------------------- */

typedef enum { R_FREE_POOL, R_ACTIVE, R_STANDBY, R_MODIFIED } rstate_t;

typedef struct rframe {
    rstate_t st;
    unsigned slot;   /* the PTE slot that maps or remembers it */
    bool dirty;
    uint8_t fill;    /* the byte the owner wrote */
} rframe_t;

static void random_run(ntmm_frame_allocator_t kind, uint64_t seed)
{
    pfnenv_t e;
    pfnenv_init(&e, NTMM_MIB(2), kind);
    mm_pfndb_t *db = &e.db;
    base_rng_t r;
    base_rng_seed(&r, seed);
    static rframe_t model[1024];
    pfn_t slot_pfn[512];
    for (unsigned i = 0; i < 512; i++) slot_pfn[i] = MM_NO_PFN;
    for (pfn_t f = 0; f < db->frames; f++) model[f] = (rframe_t){ R_FREE_POOL, 0, false, 0 };
    for (unsigned step = 0; step < 3000; step++) {
        unsigned slot = (unsigned)base_rng_below(&r, 512);
        pfn_t p = slot_pfn[slot];
        unsigned op = (unsigned)base_rng_below(&r, 6);
        if (p == MM_NO_PFN) {
            /* map: must succeed while any frame is free or standby */
            uint64_t avail = stats(&e).zeroed + stats(&e).free + stats(&e).standby;
            pfn_t n = pfnenv_map(&e, slot, op % 2 ? MM_ALLOC_ZEROED : MM_ALLOC_ANY);
            assert_true((n != MM_NO_PFN) == (avail > 0));
            if (n == MM_NO_PFN) continue;
            if (model[n].st == R_STANDBY) slot_pfn[model[n].slot] = MM_NO_PFN; /* repurposed */
            if (op % 2) assert_int_equal(pfnenv_frame(&e, n)[base_rng_below(&r, 4096)], 0);
            model[n] = (rframe_t){ R_ACTIVE, slot, false, (uint8_t)(1 + base_rng_below(&r, 255)) };
            memset(pfnenv_frame(&e, n), model[n].fill, 64);
            slot_pfn[slot] = n;
        } else if (model[p].st == R_ACTIVE) {
            mm_pfn_lock(db);
            if (op < 2) { /* free */
                assert_int_equal(mm_pfn_free(db, p), 0);
                pfnenv_write_pte(&e, slot, 0);
                model[p].st = R_FREE_POOL;
                slot_pfn[slot] = MM_NO_PFN;
                mm_pfn_unlock(db);
            } else { /* trim, clean or dirty */
                model[p].dirty = op == 2;
                mm_pfn_set_modified(db, p, model[p].dirty);
                mm_pfn_unlock(db);
                pfnenv_trim(&e, slot, p);
                model[p].st = model[p].dirty ? R_MODIFIED : R_STANDBY;
            }
        } else {
            mm_pfn_lock(db);
            if (op < 3) { /* soft fault: the same frame, the same bytes */
                assert_int_equal(mm_pfn_reclaim(db, p), 0);
                pfnenv_write_pte(&e, slot, (p << 12) | PTE_P | PTE_RW);
                assert_int_equal(pfnenv_frame(&e, p)[10], model[p].fill);
                model[p].st = R_ACTIVE;
            } else if (op < 5 && model[p].st == R_MODIFIED) { /* written out */
                assert_int_equal(mm_pfn_written(db, p), 0);
                model[p].st = R_STANDBY;
            } else { /* released */
                assert_int_equal(mm_pfn_delete(db, p), 0);
                pfnenv_write_pte(&e, slot, 0);
                model[p].st = R_FREE_POOL;
                slot_pfn[slot] = MM_NO_PFN;
            }
            mm_pfn_unlock(db);
        }
        if (step % 7 == 0) mm_zero_step(db, base_rng_below(&r, 8));
        /* the database agrees with the model, frame by frame */
        for (pfn_t f = 0; f < db->frames; f++) {
            mm_page_location_t loc = (mm_page_location_t)db->pfn[f].location;
            if (loc == MM_NOT_RAM || f == e.table || db->pfn[f].use == NTMM_USE_FIRMWARE) continue;
            switch (model[f].st) {
            case R_FREE_POOL:
                if (loc != MM_FREE && loc != MM_ZEROED)
                    fail_msg("%s seed %llu step %u: frame %#llx location %d, model free", db->falloc->name,
                             (unsigned long long)seed, step, (unsigned long long)f, (int)loc);
                break;
            case R_ACTIVE: assert_int_equal(loc, MM_ACTIVE); break;
            case R_STANDBY: assert_int_equal(loc, MM_STANDBY); break;
            case R_MODIFIED: assert_int_equal(loc, MM_MODIFIED); break;
            }
        }
        pfnenv_check(&e);
    }
    pfnenv_destroy(&e);
}

static void test_random_against_model(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++)
        for (uint64_t seed = 1; seed <= 3; seed++) random_run(kinds[k], seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_state),
        cmocka_unit_test(test_allocation_order_and_zeroing),
        cmocka_unit_test(test_counts_and_lists),
        cmocka_unit_test(test_repurpose_standby),
        cmocka_unit_test(test_no_data_leaks),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_contiguous),
        cmocka_unit_test(test_contiguous_takes_standby),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_checker_catches_corruption),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
