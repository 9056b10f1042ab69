/*
 * test_aspace.c - page-table management and address spaces in every paging mode (x86, PAE,
 * x64, LA57): the system space and its System process, process creation and teardown (the PFN
 * statistics come back exactly), tables created on demand and freed when empty, entry counts,
 * system space shared by every process (a system mapping added after two processes exist is
 * seen by both, and by a third created later) while user space is not, Windows' self-map seen
 * through PTE_BASE, the range walker, large pages, teardown with pages left behind, the checker
 * finding corruption, the PAE PDPT below 4 GiB, and seeded random map/unmap sequences with
 * mm_system_space_check and mm_pfn_check after every step.
 */
#include <stdlib.h>

#include "pfnenv.h"

#include "hw/access.h"
#include "mm/aspace.h"

#define RAM NTMM_MIB(32)

static const ntmm_paging_mode_t modes[] = { NTMM_PAGING_X86, NTMM_PAGING_PAE, NTMM_PAGING_X64,
                                            NTMM_PAGING_X64_LA57 };

typedef struct env {
    pfnenv_t p;            /* machine and PFN database (pfnenv's fixture table is not used) */
    mm_system_space_t *sys;
    ntmm_paging_mode_t mode;
    const hw_paging_mode_t *m;
    hw_cpu_t *cpu;
} env_t;

static mm_layout_id_t default_layout(ntmm_paging_mode_t mode)
{
    return hw_paging_mode(mode)->va_bits == 32 ? MM_LAYOUT_X86 : MM_LAYOUT_X64;
}

/* Frame statistics once the zeroing step has run dry (freed tables go to the free list). */
static ntmm_memory_stats_t settled(env_t *e)
{
    ntmm_memory_stats_t s;
    while (mm_zero_step(&e->p.db, 1u << 20) != 0) {
    }
    mm_pfn_stats(&e->p.db, &s);
    return s;
}

static void expect_stats_equal(const ntmm_memory_stats_t *a, const ntmm_memory_stats_t *b)
{
    assert_int_equal(a->ram_frames, b->ram_frames);
    assert_int_equal(a->zeroed, b->zeroed);
    assert_int_equal(a->free, b->free);
    assert_int_equal(a->standby, b->standby);
    assert_int_equal(a->modified, b->modified);
    assert_int_equal(a->modified_nowrite, b->modified_nowrite);
    assert_int_equal(a->bad, b->bad);
    assert_int_equal(a->active, b->active);
    assert_int_equal(a->transition, b->transition);
    for (unsigned u = 0; u < NTMM_USE_COUNT; u++) assert_int_equal(a->by_use[u], b->by_use[u]);
    assert_int_equal(a->largest_free_run, b->largest_free_run);
    assert_int_equal(a->repurposed, b->repurposed);
}

static void check(env_t *e)
{
    if (!mm_system_space_check(e->sys))
        fail_msg("mm_system_space_check: %s (%#llx, %#llx, %#llx, %#llx) at %s",
                 ntmm_bugcheck_name(e->p.m->bugcheck.code), (unsigned long long)e->p.m->bugcheck.param[0],
                 (unsigned long long)e->p.m->bugcheck.param[1], (unsigned long long)e->p.m->bugcheck.param[2],
                 (unsigned long long)e->p.m->bugcheck.param[3], e->p.m->bugcheck.where);
    pfnenv_check(&e->p);
}

/* A machine, its PFN database with the mode's PTE size, and the system space; *before (if
 * given) gets the statistics from before the system space existed. */
static void env_init_cfg(env_t *e, ntmm_paging_mode_t mode, mm_layout_id_t layout, const ntmm_hw_config_t *cfg,
                         ntmm_memory_stats_t *before)
{
    memset(e, 0, sizeof *e);
    e->mode = mode;
    e->m = hw_paging_mode(mode);
    assert_int_equal(hw_machine_create(cfg, &e->p.m), NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_pfndb_init(&e->p.db, e->p.m, NTMM_FRAMES_NT_LISTS, e->m->entry_bytes), NTMM_STATUS_SUCCESS);
    e->p.table = MM_NO_PFN;
    if (before) *before = settled(e);
    assert_int_equal(mm_system_space_create(&e->p.db, mode, layout, &e->sys), NTMM_STATUS_SUCCESS);
    e->cpu = &e->p.m->cpus[0];
    check(e);
}

static void env_init(env_t *e, ntmm_paging_mode_t mode, ntmm_memory_stats_t *before)
{
    ntmm_hw_config_t cfg = { .ram_bytes = RAM };
    env_init_cfg(e, mode, default_layout(mode), &cfg, before);
}

static void env_destroy(env_t *e)
{
    if (e->sys) assert_int_equal(mm_system_space_destroy(e->sys), NTMM_STATUS_SUCCESS);
    pfnenv_destroy(&e->p);
}

/* After a bugcheck: free the host objects whatever the statuses say. */
static void env_destroy_halted(env_t *e)
{
    if (e->sys) mm_system_space_destroy(e->sys);
    pfnenv_destroy(&e->p);
}

static mm_aspace_t *new_process(env_t *e, mm_layout_id_t layout)
{
    mm_aspace_t *as = NULL;
    assert_int_equal(mm_aspace_create(e->sys, layout, &as), NTMM_STATUS_SUCCESS);
    assert_non_null(as);
    return as;
}

/* Takes the lock that covers va's tables (the address space's, or the system space's). */
static void lock_for(env_t *e, mm_aspace_t *as, va_t va)
{
    if (mm_aspace_is_system_va(as, va)) mm_system_lock(e->sys);
    else mm_aspace_lock(as);
}

static void unlock_for(env_t *e, mm_aspace_t *as, va_t va)
{
    if (mm_aspace_is_system_va(as, va)) mm_system_unlock(e->sys);
    else mm_aspace_unlock(as);
}

/* The value a test page holds in its first 8 bytes. */
static uint64_t tag_of(va_t va, pfn_t pfn) { return (va * 0x9E3779B97F4A7C15u) ^ pfn ^ 0x5A5A; }

/* Maps a fresh zeroed frame at va (user: U/S set) and tags it; returns the frame. */
static pfn_t map_page(env_t *e, mm_aspace_t *as, va_t va)
{
    bool user = !mm_aspace_is_system_va(as, va);
    pa_t pte;
    pfn_t pfn;
    lock_for(e, as, va);
    assert_int_equal(mm_ptm_ensure(as, va, 1, &pte), NTMM_STATUS_SUCCESS);
    mm_pfn_lock(&e->p.db);
    assert_int_equal(mm_pfn_allocate(&e->p.db, MM_ALLOC_ZEROED, user ? NTMM_USE_PROCESS_PRIVATE : NTMM_USE_SYSTEM_PTE,
                                     pte, 0, &pfn),
                     NTMM_STATUS_SUCCESS);
    hw_pte_t old = mm_ptm_write(as, pte, (pfn << NTMM_PAGE_SHIFT) | HW_PTE_P | HW_PTE_RW | (user ? HW_PTE_US : 0));
    mm_pfn_unlock(&e->p.db);
    unlock_for(e, as, va);
    assert_int_equal(old, 0);
    ntmm_le_store(pfnenv_frame(&e->p, pfn), tag_of(va, pfn), 8);
    return pfn;
}

/* Unmaps va's page, frees its frame, and (if asked) the tables that became empty. */
static void unmap_page(env_t *e, mm_aspace_t *as, va_t va, bool free_tables)
{
    unsigned level;
    lock_for(e, as, va);
    pa_t pte = mm_ptm_lookup(as, va, &level);
    assert_int_equal(level, 1);
    hw_pte_t v = mm_ptm_read(as, pte);
    assert_true(v & HW_PTE_P);
    mm_pfn_lock(&e->p.db);
    mm_ptm_write(as, pte, 0);
    assert_int_equal(mm_pfn_free(&e->p.db, mm_ptm_entry_pa(as, v) >> NTMM_PAGE_SHIFT), NTMM_STATUS_SUCCESS);
    mm_pfn_unlock(&e->p.db);
    if (free_tables) {
        va_t page = va & ~(va_t)NTMM_PAGE_MASK;
        assert_int_equal(mm_ptm_free_range(as, page, page + NTMM_PAGE_SIZE, NULL), NTMM_STATUS_SUCCESS);
    }
    unlock_for(e, as, va);
}

/* Loads as on the CPU and reads 8 bytes at va at privilege cpl. */
static bool cpu_read(env_t *e, const mm_aspace_t *as, va_t va, unsigned cpl, uint64_t *value, ntmm_fault_t *f)
{
    ntmm_fault_t lf;
    assert_true(mm_aspace_load(as, e->cpu, &lf));
    assert_int_equal(e->cpu->cr3, as->cr3);
    hw_cpu_set_cpl(e->cpu, cpl);
    bool ok = hw_load64(e->cpu, va, value, f);
    hw_cpu_set_cpl(e->cpu, 0);
    return ok;
}

static void expect_read(env_t *e, const mm_aspace_t *as, va_t va, unsigned cpl, uint64_t want)
{
    uint64_t v = 0;
    ntmm_fault_t f;
    assert_true(cpu_read(e, as, va, cpl, &v, &f));
    assert_int_equal(v, want);
}

static void expect_pf(env_t *e, const mm_aspace_t *as, va_t va, unsigned cpl, uint32_t code)
{
    uint64_t v = 0;
    ntmm_fault_t f;
    assert_false(cpu_read(e, as, va, cpl, &v, &f));
    assert_int_equal(f.vector, NTMM_VEC_PF);
    assert_int_equal(f.error_code, code);
    assert_int_equal(f.address, va);
}

static uint64_t page_tables(env_t *e) { return settled(e).by_use[NTMM_USE_PAGE_TABLE]; }

/* Kernel addresses to map in a mode: each needs a new table somewhere under system space. */
static size_t kernel_vas(ntmm_paging_mode_t mode, va_t *out)
{
    switch (mode) {
    case NTMM_PAGING_X86:
    case NTMM_PAGING_PAE: /* PAE: 0x90000000 under the shared PD 2, 0xE1234000 under the per-process PD 3 */
        out[0] = 0x90000000u;
        out[1] = 0xE1234000u;
        out[2] = 0xFFFFF000u;
        return 3;
    case NTMM_PAGING_X64:
        out[0] = 0xFFFFF80012345000u;
        out[1] = 0xFFFF800000000000u;
        out[2] = 0xFFFFFFFFFFFFF000u;
        return 3;
    default:
        out[0] = 0xFF12345678901000u;
        out[1] = 0xFFFFF80012345000u;
        out[2] = 0xFFFFFFFFFFFFF000u;
        return 3;
    }
}

/* ---- system space and process creation ------------------------------------------------------------- */

/* Frames each mode takes: the System process's top level (PAE: + 4 directories; x64/LA57: + the
 * 255 shared tables), and a process's (PAE: PDPT + its own directories). */
static void test_create_destroy(void **state)
{
    (void)state;
    static const struct {
        ntmm_paging_mode_t mode;
        mm_layout_id_t layout;
        uint64_t sys_frames, proc_frames;
    } cases[] = {
        { NTMM_PAGING_X86, MM_LAYOUT_X86, 1, 1 },      { NTMM_PAGING_X86, MM_LAYOUT_X86_3GB, 1, 1 },
        { NTMM_PAGING_X86, MM_LAYOUT_SEED000, 1, 1 },  { NTMM_PAGING_PAE, MM_LAYOUT_X86, 5, 4 },
        { NTMM_PAGING_PAE, MM_LAYOUT_X86_3GB, 5, 5 },  { NTMM_PAGING_X64, MM_LAYOUT_X64, 256, 1 },
        { NTMM_PAGING_X64, MM_LAYOUT_WOW64, 256, 1 },  { NTMM_PAGING_X64_LA57, MM_LAYOUT_X64, 256, 1 },
        { NTMM_PAGING_X64_LA57, MM_LAYOUT_WOW64_LAA, 256, 1 },
    };
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(cases); k++) {
        env_t e;
        ntmm_memory_stats_t before, with_system;
        ntmm_hw_config_t cfg = { .ram_bytes = RAM };
        env_init_cfg(&e, cases[k].mode, cases[k].layout, &cfg, &before);
        with_system = settled(&e);
        assert_int_equal(with_system.by_use[NTMM_USE_PAGE_TABLE], cases[k].sys_frames);
        assert_int_equal(mm_system_aspace(e.sys)->table_frames, cases[k].sys_frames);
        assert_true(mm_system_aspace(e.sys)->system);
        mm_aspace_t *p1 = new_process(&e, cases[k].layout);
        check(&e);
        mm_aspace_t *p2 = new_process(&e, cases[k].layout);
        check(&e);
        assert_int_equal(p1->table_frames, cases[k].proc_frames);
        assert_int_equal(page_tables(&e), cases[k].sys_frames + 2 * cases[k].proc_frames);
        assert_int_equal(e.sys->process_count, 2);
        assert_true(p1->root != p2->root);
        assert_int_equal(p1->cr3 & NTMM_PAGE_MASK, 0);
        if (e.m->va_bits == 32) assert_true(p1->cr3 <= UINT32_MAX);
        /* the System process cannot go while processes remain */
        assert_int_equal(mm_system_space_destroy(e.sys), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(mm_aspace_destroy(p1), NTMM_STATUS_SUCCESS);
        check(&e);
        assert_int_equal(mm_aspace_destroy(p2), NTMM_STATUS_SUCCESS);
        check(&e);
        ntmm_memory_stats_t after = settled(&e);
        expect_stats_equal(&after, &with_system);
        assert_int_equal(mm_system_space_destroy(e.sys), NTMM_STATUS_SUCCESS);
        e.sys = NULL;
        after = settled(&e);
        expect_stats_equal(&after, &before);
        pfnenv_check(&e.p);
        env_destroy(&e);
    }
}

/* Which layouts fit which system, and which systems a machine and database allow. */
static void test_create_refusals(void **state)
{
    (void)state;
    env_t e;
    mm_aspace_t *as = NULL;
    mm_system_space_t *sys = NULL;
    env_init(&e, NTMM_PAGING_X86, NULL);
    assert_int_equal(mm_aspace_create(e.sys, MM_LAYOUT_X86_3GB, &as), NTMM_STATUS_INVALID_PARAMETER); /* other split */
    assert_int_equal(mm_aspace_create(e.sys, MM_LAYOUT_X64, &as), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_aspace_create(e.sys, MM_LAYOUT_COUNT, &as), NTMM_STATUS_INVALID_PARAMETER);
    assert_null(as);
    as = new_process(&e, MM_LAYOUT_SEED000); /* same split and self-map as 32-bit Windows */
    assert_int_equal(mm_aspace_destroy(as), NTMM_STATUS_SUCCESS);
    /* a 4-byte database for 8-byte modes, a layout that does not run on the mode */
    assert_int_equal(mm_system_space_create(&e.p.db, NTMM_PAGING_X64, MM_LAYOUT_X64, &sys), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_system_space_create(&e.p.db, NTMM_PAGING_X86, MM_LAYOUT_X64, &sys), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_system_space_create(&e.p.db, NTMM_PAGING_NONE, MM_LAYOUT_X86, &sys), NTMM_STATUS_INVALID_PARAMETER);
    assert_null(sys);
    check(&e);
    env_destroy(&e);

    /* no LA57 on the machine */
    ntmm_hw_config_t cfg = { .ram_bytes = RAM, .features_absent = NTMM_HW_NO_LA57 };
    pfnenv_t p;
    memset(&p, 0, sizeof p);
    assert_int_equal(hw_machine_create(&cfg, &p.m), NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_pfndb_init(&p.db, p.m, NTMM_FRAMES_NT_LISTS, 8), NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_system_space_create(&p.db, NTMM_PAGING_X64_LA57, MM_LAYOUT_X64, &sys), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_system_space_create(&p.db, NTMM_PAGING_X64, MM_LAYOUT_X64, &sys), NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_system_space_destroy(sys), NTMM_STATUS_SUCCESS);
    pfnenv_destroy(&p);
}

/* ---- tables on demand, counts, freeing ------------------------------------------------------------------- */

static void test_tables_every_mode(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(modes); k++) {
        env_t e;
        env_init(&e, modes[k], NULL);
        mm_aspace_t *as = new_process(&e, default_layout(modes[k]));
        ntmm_memory_stats_t base = settled(&e);
        uint64_t base_tables = as->table_frames;
        /* tables a first page needs: all levels below the top (PAE: the directory exists) */
        uint64_t need = e.m->pdpte_registers ? 1u : e.m->levels - 1u;
        va_t va = 0x12345000u;
        unsigned level;
        mm_aspace_lock(as);
        pa_t hole = mm_ptm_lookup(as, va, &level);
        assert_true(level > 1);
        assert_int_equal(mm_ptm_read(as, hole), 0);
        mm_aspace_unlock(as);

        pfn_t pfn = map_page(&e, as, va);
        check(&e);
        assert_int_equal(as->table_frames, base_tables + need);
        mm_aspace_lock(as);
        pa_t pte = mm_ptm_lookup(as, va, &level);
        assert_int_equal(level, 1);
        assert_int_equal(mm_ptm_entry_pa(as, mm_ptm_read(as, pte)), pfn << NTMM_PAGE_SHIFT);
        assert_int_equal(mm_pfn_entry(&e.p.db, pfn)->pte_pa, pte);
        pfn_t pt = pte >> NTMM_PAGE_SHIFT;
        assert_int_equal(mm_pfn_entry(&e.p.db, pt)->use, NTMM_USE_PAGE_TABLE);
        assert_int_equal(mm_ptm_counts(as, pt).valid, 1);
        assert_int_equal(mm_ptm_counts(as, pt).used, 1);
        /* ensure finds what exists: no new table */
        pa_t again;
        assert_int_equal(mm_ptm_ensure(as, va, 1, &again), NTMM_STATUS_SUCCESS);
        assert_int_equal(again, pte);
        /* a software PTE (not valid, not zero) beside it: used, not valid */
        pa_t soft = pte + e.m->entry_bytes;
        assert_int_equal(mm_ptm_write(as, soft, 0x80u), 0);
        assert_int_equal(mm_ptm_counts(as, pt).valid, 1);
        assert_int_equal(mm_ptm_counts(as, pt).used, 2);
        mm_aspace_unlock(as);
        expect_read(&e, as, va, 3, tag_of(va, pfn));
        check(&e);

        /* unmapped, the software PTE still holds the table */
        unmap_page(&e, as, va, true);
        assert_int_equal(as->table_frames, base_tables + need);
        check(&e);
        mm_aspace_lock(as);
        assert_int_equal(mm_ptm_write(as, soft, 0), 0x80u);
        uint64_t freed = 0;
        va_t user_end = e.m->va_bits == 32 ? e.sys->system_start : NTMM_BIT(e.m->va_bits - 1u);
        assert_int_equal(mm_ptm_free_range(as, 0, user_end, &freed), NTMM_STATUS_SUCCESS);
        mm_aspace_unlock(as);
        assert_int_equal(freed, need);
        assert_int_equal(as->table_frames, base_tables);
        check(&e);
        ntmm_memory_stats_t after = settled(&e);
        expect_stats_equal(&after, &base);

        /* the lowest and highest user pages, and pages one table apart */
        const mm_layout_t *l = as->layout;
        va_t edge[4] = { l->lowest_user, l->highest_user & ~(va_t)NTMM_PAGE_MASK, 0x00400000u,
                         0x00400000u + hw_paging_level_size(e.m, 2) };
        pfn_t f[4];
        for (unsigned i = 0; i < 4; i++) f[i] = map_page(&e, as, edge[i]);
        check(&e);
        for (unsigned i = 0; i < 4; i++) expect_read(&e, as, edge[i], 3, tag_of(edge[i], f[i]));
        for (unsigned i = 0; i < 4; i++) unmap_page(&e, as, edge[i], true);
        assert_int_equal(as->table_frames, base_tables);
        check(&e);

        /* bad requests */
        mm_aspace_lock(as);
        pa_t out;
        assert_int_equal(mm_ptm_ensure(as, e.sys->window_first, 1, &out), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(mm_ptm_ensure(as, va, 0, &out), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(mm_ptm_ensure(as, va, e.m->levels + 1u, &out), NTMM_STATUS_INVALID_PARAMETER);
        va_t outside = e.m->va_bits == 32 ? NTMM_GIB(4) : NTMM_BIT(e.m->va_bits - 1u); /* beyond 4 GiB / non-canonical */
        assert_int_equal(mm_ptm_ensure(as, outside, 1, &out), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(mm_ptm_lookup(as, outside, &level), 0);
        assert_int_equal(mm_ptm_free_range(as, 0x2000, 0x1000, NULL), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(mm_ptm_free_range(as, e.sys->system_start - NTMM_PAGE_SIZE, e.sys->system_start + NTMM_PAGE_SIZE, NULL),
                         NTMM_STATUS_INVALID_PARAMETER);
        /* the top-level entry itself */
        assert_int_equal(mm_ptm_ensure(as, va, e.m->levels, &out), NTMM_STATUS_SUCCESS);
        assert_int_equal(out >> NTMM_PAGE_SHIFT, as->root >> NTMM_PAGE_SHIFT);
        mm_aspace_unlock(as);
        mm_system_lock(e.sys);
        assert_int_equal(mm_ptm_ensure(mm_system_aspace(e.sys), va, 1, &out), NTMM_STATUS_INVALID_PARAMETER);
        mm_system_unlock(e.sys);
        check(&e);
        assert_int_equal(mm_aspace_destroy(as), NTMM_STATUS_SUCCESS);
        check(&e);
        env_destroy(&e);
    }
}

/* ---- system space shared, user space not ------------------------------------------------------------------ */

static void test_shared_system_space(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(modes); k++) {
        env_t e;
        env_init(&e, modes[k], NULL);
        ntmm_memory_stats_t base = settled(&e);
        mm_aspace_t *sysas = mm_system_aspace(e.sys);
        mm_aspace_t *p1 = new_process(&e, default_layout(modes[k]));
        mm_aspace_t *p2 = new_process(&e, default_layout(modes[k]));
        const va_t u = 0x00400000u;
        pfn_t f1 = map_page(&e, p1, u), f2 = map_page(&e, p2, u);
        check(&e);
        expect_read(&e, p1, u, 3, tag_of(u, f1));
        expect_read(&e, p2, u, 3, tag_of(u, f2)); /* a CR3 switch: the other process's page */
        expect_pf(&e, sysas, u, 3, NTMM_PF_U);    /* the System process has no user space */

        /* system mappings made after both processes exist, through either handle */
        va_t kv[4];
        pfn_t kf[4];
        size_t n = kernel_vas(modes[k], kv);
        for (size_t i = 0; i < n; i++) {
            kf[i] = map_page(&e, i % 2 ? p1 : sysas, kv[i]);
            check(&e);
        }
        mm_aspace_t *p3 = new_process(&e, default_layout(modes[k]));
        check(&e);
        mm_aspace_t *all[4] = { p1, p2, p3, sysas };
        for (size_t i = 0; i < n; i++)
            for (unsigned a = 0; a < 4; a++) {
                expect_read(&e, all[a], kv[i], 0, tag_of(kv[i], kf[i]));
                expect_pf(&e, all[a], kv[i], 3, NTMM_PF_P | NTMM_PF_U);
            }
        /* p3's user space is its own: empty */
        expect_pf(&e, p3, u, 3, NTMM_PF_U);

        /* system tables go when empty, from every process at once */
        for (size_t i = 0; i < n; i++) {
            unmap_page(&e, i % 2 ? p2 : sysas, kv[i], true);
            check(&e);
        }
        for (size_t i = 0; i < n; i++)
            for (unsigned a = 0; a < 4; a++) expect_pf(&e, all[a], kv[i], 0, 0);
        assert_int_equal(sysas->table_frames, base.by_use[NTMM_USE_PAGE_TABLE]);
        unmap_page(&e, p1, u, true);
        unmap_page(&e, p2, u, true);
        for (unsigned a = 0; a < 3; a++) assert_int_equal(mm_aspace_destroy(all[a]), NTMM_STATUS_SUCCESS);
        check(&e);
        ntmm_memory_stats_t after = settled(&e);
        expect_stats_equal(&after, &base);
        env_destroy(&e);
    }
}

/* ---- the self-map: !pte through PTE_BASE ----------------------------------------------------------------- */

static void test_self_map(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(modes); k++) {
        env_t e;
        env_init(&e, modes[k], NULL);
        mm_aspace_t *p1 = new_process(&e, default_layout(modes[k]));
        mm_aspace_t *p2 = new_process(&e, default_layout(modes[k]));
        va_t kv[4];
        kernel_vas(modes[k], kv);
        const va_t u = 0x7FFE0000u; /* where KUSER_SHARED_DATA lives */
        pfn_t fu = map_page(&e, p1, u);
        pfn_t fk = map_page(&e, p1, kv[0]);
        pfn_t fu2 = map_page(&e, p2, u);
        expect_read(&e, p1, u, 3, tag_of(u, fu)); /* sets A along the way */
        const va_t vas[2] = { u, kv[0] };
        for (unsigned i = 0; i < 2; i++)
            for (unsigned l = 1; l <= e.m->levels; l++) {
                if (e.m->pdpte_registers && l == 3) continue; /* PDPTEs are not in the window */
                va_t at = mm_layout_entry_va(e.sys->paging, modes[k], vas[i], l);
                uint64_t v = 0;
                ntmm_fault_t f;
                assert_true(mm_aspace_load(p1, e.cpu, &f));
                assert_true(hw_load(e.cpu, at, e.m->entry_bytes, &v, &f));
                pa_t epa;
                lock_for(&e, p1, vas[i]);
                assert_int_equal(mm_ptm_ensure(p1, vas[i], l, &epa), NTMM_STATUS_SUCCESS);
                hw_pte_t want = mm_ptm_read(l == e.m->levels ? p1 : mm_system_aspace(e.sys), epa);
                if (l == e.m->levels) want = mm_ptm_read(p1, p1->root + (epa & NTMM_PAGE_MASK));
                unlock_for(&e, p1, vas[i]);
                assert_int_equal(v & ~(HW_PTE_A | HW_PTE_D), want & ~(HW_PTE_A | HW_PTE_D));
                if (l == 1) assert_int_equal(mm_ptm_entry_pa(p1, v), (i ? fk : fu) << NTMM_PAGE_SHIFT);
                expect_pf(&e, p1, at, 3, NTMM_PF_P | NTMM_PF_U); /* the window is supervisor-only */
            }
        /* the same window address shows each process its own PTE */
        va_t at = mm_layout_entry_va(e.sys->paging, modes[k], u, 1);
        uint64_t v1 = 0, v2 = 0;
        ntmm_fault_t f;
        assert_true(cpu_read(&e, p1, at & ~(va_t)7, 0, &v1, &f));
        assert_true(cpu_read(&e, p2, at & ~(va_t)7, 0, &v2, &f));
        unsigned sh = (unsigned)(at & 7u) * 8u;
        assert_int_equal(mm_ptm_entry_pa(p1, (v1 >> sh)), fu << NTMM_PAGE_SHIFT);
        assert_int_equal(mm_ptm_entry_pa(p2, (v2 >> sh)), fu2 << NTMM_PAGE_SHIFT);
        unmap_page(&e, p1, u, true);
        unmap_page(&e, p2, u, true);
        unmap_page(&e, p1, kv[0], true);
        assert_int_equal(mm_aspace_destroy(p1), NTMM_STATUS_SUCCESS);
        assert_int_equal(mm_aspace_destroy(p2), NTMM_STATUS_SUCCESS);
        check(&e);
        env_destroy(&e);
    }
}

/* ---- the walker and large pages --------------------------------------------------------------------------- */

typedef struct visits {
    uint64_t n, holes, large;
    va_t last_va;
    pa_t last_pa;
    hw_pte_t write;      /* written into every level-1 slot visited, unless ~0 */
    uint64_t stop_after; /* 0: never */
} visits_t;

static ntmm_status_t visit(void *ctx, mm_aspace_t *as, va_t va, pa_t entry_pa, unsigned level)
{
    visits_t *v = ctx;
    if (level > 1) {
        if (mm_ptm_read(as, entry_pa) == 0) v->holes++;
        else v->large++;
        return NTMM_STATUS_SUCCESS;
    }
    if (v->n && va == v->last_va + NTMM_PAGE_SIZE && (entry_pa & NTMM_PAGE_MASK))
        assert_int_equal(entry_pa, v->last_pa + as->mode->entry_bytes); /* slots of one table in order */
    if (v->n) assert_true(va > v->last_va);
    v->last_va = va;
    v->last_pa = entry_pa;
    v->n++;
    if (v->write != ~(hw_pte_t)0) mm_ptm_write(as, entry_pa, v->write);
    return v->stop_after && v->n == v->stop_after ? NTMM_STATUS_UNSUCCESSFUL : NTMM_STATUS_SUCCESS;
}

static void test_walker_and_large_pages(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(modes); k++) {
        env_t e;
        env_init(&e, modes[k], NULL);
        mm_aspace_t *as = new_process(&e, default_layout(modes[k]));
        ntmm_memory_stats_t base = settled(&e);
        uint64_t base_tables = as->table_frames;
        uint64_t span = hw_paging_level_size(e.m, 2); /* what one page table maps */
        const va_t b = 0x00800000u;                    /* a page-table boundary in every mode */
        mm_aspace_lock(as);
        /* create over 4 pages astride two page tables; write software PTEs */
        visits_t v = { .write = 0x80u };
        assert_int_equal(mm_ptm_walk(as, b - 2 * NTMM_PAGE_SIZE, b + 2 * NTMM_PAGE_SIZE, MM_PTM_WALK_CREATE, visit, &v),
                         NTMM_STATUS_SUCCESS);
        assert_int_equal(v.n, 4);
        uint64_t created = as->table_frames - base_tables;
        assert_int_equal(created, e.m->pdpte_registers ? 2u : e.m->levels);
        mm_aspace_unlock(as);
        check(&e);
        mm_aspace_lock(as);
        /* without CREATE: every slot of the two tables; with HOLES: the missing tables too */
        va_t lo = b - 2 * span, hi = b + 2 * span;
        v = (visits_t){ .write = ~(hw_pte_t)0 };
        assert_int_equal(mm_ptm_walk(as, lo, hi, 0, visit, &v), NTMM_STATUS_SUCCESS);
        assert_int_equal(v.n, 2 * span / NTMM_PAGE_SIZE);
        assert_int_equal(v.holes, 0);
        v = (visits_t){ .write = ~(hw_pte_t)0 };
        assert_int_equal(mm_ptm_walk(as, lo, hi, MM_PTM_WALK_HOLES, visit, &v), NTMM_STATUS_SUCCESS);
        assert_int_equal(v.n, 2 * span / NTMM_PAGE_SIZE);
        assert_int_equal(v.holes, 2);
        /* a visitor's status stops the walk */
        v = (visits_t){ .write = ~(hw_pte_t)0, .stop_after = 3 };
        assert_int_equal(mm_ptm_walk(as, lo, hi, 0, visit, &v), NTMM_STATUS_UNSUCCESSFUL);
        assert_int_equal(v.n, 3);
        /* clear the software PTEs: the tables are empty and go */
        v = (visits_t){ .write = 0 };
        assert_int_equal(mm_ptm_walk(as, b - 2 * NTMM_PAGE_SIZE, b + 2 * NTMM_PAGE_SIZE, 0, visit, &v),
                         NTMM_STATUS_SUCCESS);
        assert_int_equal(v.n, 4);
        uint64_t freed;
        assert_int_equal(mm_ptm_free_range(as, lo, hi, &freed), NTMM_STATUS_SUCCESS);
        assert_int_equal(freed, created);
        /* bad walks */
        assert_int_equal(mm_ptm_walk(as, hi, lo, 0, visit, &v), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(mm_ptm_walk(as, lo, hi, 0, NULL, &v), NTMM_STATUS_INVALID_PARAMETER);
        mm_aspace_unlock(as);
        mm_system_lock(e.sys);
        assert_int_equal(mm_ptm_walk(as, e.sys->window_first, e.sys->window_first + NTMM_PAGE_SIZE, MM_PTM_WALK_CREATE,
                                     visit, &v),
                         NTMM_STATUS_INVALID_PARAMETER);
        mm_system_unlock(e.sys);
        check(&e);

        /* a large page (4 MiB in x86, 2 MiB otherwise) at b */
        pfn_t first;
        mm_pfn_lock(&e.p.db);
        assert_int_equal(mm_pfn_allocate_contiguous(&e.p.db, span / NTMM_PAGE_SIZE, span / NTMM_PAGE_SIZE, MM_NO_PFN - 1u,
                                                    NTMM_USE_LARGE_PAGE, true, &first),
                         NTMM_STATUS_SUCCESS);
        mm_pfn_unlock(&e.p.db);
        ntmm_le_store(pfnenv_frame(&e.p, first + 5), 0x1234567890ABCDEFu, 8);
        mm_aspace_lock(as);
        pa_t pde;
        assert_int_equal(mm_ptm_ensure(as, b, 2, &pde), NTMM_STATUS_SUCCESS);
        mm_ptm_write(as, pde, (first << NTMM_PAGE_SHIFT) | HW_PTE_P | HW_PTE_RW | HW_PTE_US | HW_PTE_PS);
        unsigned level;
        assert_int_equal(mm_ptm_lookup(as, b + 5 * NTMM_PAGE_SIZE, &level), pde);
        assert_int_equal(level, 2);
        assert_true(mm_ptm_is_large(as, mm_ptm_read(as, pde), 2));
        pa_t out;
        assert_int_equal(mm_ptm_ensure(as, b + NTMM_PAGE_SIZE, 1, &out), NTMM_STATUS_CONFLICTING_ADDRESSES);
        assert_int_equal(out, pde);
        v = (visits_t){ .write = ~(hw_pte_t)0 };
        assert_int_equal(mm_ptm_walk(as, b - NTMM_PAGE_SIZE, b + span + NTMM_PAGE_SIZE, MM_PTM_WALK_CREATE, visit, &v),
                         NTMM_STATUS_SUCCESS);
        assert_int_equal(v.large, 1);
        assert_int_equal(v.n, 2);
        mm_aspace_unlock(as);
        check(&e);
        expect_read(&e, as, b + 5 * NTMM_PAGE_SIZE, 3, 0x1234567890ABCDEFu);
        mm_aspace_lock(as);
        mm_ptm_write(as, pde, 0);
        assert_int_equal(mm_ptm_free_range(as, lo, hi, NULL), NTMM_STATUS_SUCCESS);
        mm_aspace_unlock(as);
        mm_pfn_lock(&e.p.db);
        assert_int_equal(mm_pfn_free_contiguous(&e.p.db, first, span / NTMM_PAGE_SIZE), NTMM_STATUS_SUCCESS);
        mm_pfn_unlock(&e.p.db);
        assert_int_equal(as->table_frames, base_tables);
        check(&e);
        ntmm_memory_stats_t after = settled(&e);
        expect_stats_equal(&after, &base);
        assert_int_equal(mm_aspace_destroy(as), NTMM_STATUS_SUCCESS);
        env_destroy(&e);
    }
}

/* ---- teardown with entries left behind --------------------------------------------------------------------- */

static void test_teardown_leftovers(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(modes); k++) {
        /* a software PTE left behind is dropped with its table */
        env_t e;
        env_init(&e, modes[k], NULL);
        ntmm_memory_stats_t base = settled(&e);
        mm_aspace_t *as = new_process(&e, default_layout(modes[k]));
        mm_aspace_lock(as);
        pa_t pte;
        assert_int_equal(mm_ptm_ensure(as, 0x10000, 1, &pte), NTMM_STATUS_SUCCESS);
        mm_ptm_write(as, pte, 0x80u);
        mm_aspace_unlock(as);
        check(&e);
        assert_int_equal(mm_aspace_destroy(as), NTMM_STATUS_SUCCESS);
        check(&e);
        ntmm_memory_stats_t after = settled(&e);
        expect_stats_equal(&after, &base);
        env_destroy(&e);

        /* a valid mapping, then a transition PTE remembering a standby frame: the memory
         * manager forgot to release them */
        for (unsigned transition = 0; transition < 2; transition++) {
            env_init(&e, modes[k], NULL);
            as = new_process(&e, default_layout(modes[k]));
            pfn_t f = map_page(&e, as, 0x20000);
            mm_aspace_lock(as);
            pte = mm_ptm_lookup(as, 0x20000, NULL);
            mm_aspace_unlock(as);
            if (transition) {
                mm_aspace_lock(as);
                mm_pfn_lock(&e.p.db);
                mm_ptm_write(as, pte, (f << NTMM_PAGE_SHIFT) | PTE_TRANSITION);
                assert_int_equal(mm_pfn_remove_share(&e.p.db, f), NTMM_STATUS_SUCCESS);
                mm_pfn_unlock(&e.p.db);
                mm_aspace_unlock(as);
                assert_int_equal(mm_pfn_entry(&e.p.db, f)->location, MM_STANDBY);
                check(&e);
            }
            assert_int_equal(mm_aspace_destroy(as), NTMM_STATUS_MACHINE_HALTED);
            assert_int_equal(e.p.m->bugcheck.code, NTMM_BUGCHECK_MEMORY_MANAGEMENT);
            assert_int_equal(e.p.m->bugcheck.param[0], MM_BUGCHECK_TABLE_CORRUPT);
            assert_int_equal(e.p.m->bugcheck.param[3], pte);
            env_destroy_halted(&e);
        }
    }
}

/* ---- the checker finds corruption ---------------------------------------------------------------------------- */

static void expect_check_fails(env_t *e, mm_aspace_t *as, uint64_t why)
{
    mm_aspace_lock(as);
    assert_false(mm_aspace_check(as));
    mm_aspace_unlock(as);
    assert_int_equal(e->p.m->bugcheck.code, NTMM_BUGCHECK_MEMORY_MANAGEMENT);
    assert_int_equal(e->p.m->bugcheck.param[0], why);
}

static void test_check_finds_corruption(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(modes); k++) {
        unsigned eb = hw_paging_mode(modes[k])->entry_bytes;
        /* a PTE written past mm_ptm_write: the counts no longer match */
        env_t e;
        env_init(&e, modes[k], NULL);
        mm_aspace_t *as = new_process(&e, default_layout(modes[k]));
        map_page(&e, as, 0x30000);
        pa_t pte = mm_ptm_lookup(as, 0x30000, NULL);
        ntmm_le_store(hw_phys_host(&e.p.m->phys, pte + eb), 0x80u, eb);
        expect_check_fails(&e, as, MM_BUGCHECK_TABLE_CORRUPT);
        assert_int_equal(mm_aspace_destroy(as), NTMM_STATUS_MACHINE_HALTED);
        env_destroy_halted(&e);

        /* a process's copy of a system entry differs from the System process's */
        env_init(&e, modes[k], NULL);
        mm_aspace_t *p1 = new_process(&e, default_layout(modes[k]));
        mm_aspace_t *p2 = new_process(&e, default_layout(modes[k]));
        va_t kv[4];
        kernel_vas(modes[k], kv);
        va_t kva = modes[k] == NTMM_PAGING_PAE ? kv[1] : kv[0];
        map_page(&e, p1, kva);
        check(&e);
        pa_t copy = e.m->pdpte_registers ? p2->pae_pd[3] + ((kva >> 21) & 511u) * 8u
                                         : p2->root + (pa_t)hw_paging_index(e.m, kva, e.m->levels) * eb;
        mm_system_lock(e.sys);
        assert_true(mm_ptm_write(p2, copy, 0) & HW_PTE_P);
        mm_system_unlock(e.sys);
        mm_aspace_lock(p1);
        assert_true(mm_aspace_check(p1)); /* p1 is fine */
        mm_aspace_unlock(p1);
        expect_check_fails(&e, p2, MM_BUGCHECK_PTE_CORRUPT);
        assert_int_equal(e.p.m->bugcheck.param[1], copy);
        mm_aspace_destroy(p1);
        mm_aspace_destroy(p2);
        env_destroy_halted(&e);

        /* a table frame's PFN entry points elsewhere */
        env_init(&e, modes[k], NULL);
        as = new_process(&e, default_layout(modes[k]));
        map_page(&e, as, 0x40000);
        pte = mm_ptm_lookup(as, 0x40000, NULL);
        mm_pfn_entry(&e.p.db, pte >> NTMM_PAGE_SHIFT)->pte_pa += eb;
        expect_check_fails(&e, as, MM_BUGCHECK_PTE_PFN_MISMATCH);
        mm_aspace_destroy(as);
        env_destroy_halted(&e);
    }
}

/* ---- PAE: the PDPT lives below 4 GiB (CR3 holds 32 bits) -------------------------------------------------------- */

static void test_pae_pdpt_below_4g(void **state)
{
    (void)state;
    const ntmm_mem_range_t map[] = {
        { 0, 0x9F000, NTMM_MEM_USABLE },
        { 0x100000, 0x300000, NTMM_MEM_USABLE },
        { NTMM_GIB(4), NTMM_MIB(32), NTMM_MEM_USABLE },
    };
    ntmm_hw_config_t cfg = { .mem_map = map, .mem_map_count = NTMM_ARRAY_SIZE(map) };
    env_t e;
    env_init_cfg(&e, NTMM_PAGING_PAE, MM_LAYOUT_X86, &cfg, NULL);
    assert_true(mm_system_aspace(e.sys)->root < NTMM_GIB(4));
    /* take every frame, then give back a few high ones ahead of a single low one */
    enum { MAXF = 16384 };
    pfn_t *held = calloc(MAXF, sizeof *held);
    size_t n = 0;
    mm_pfn_lock(&e.p.db);
    while (n < MAXF && mm_pfn_allocate(&e.p.db, MM_ALLOC_ANY, NTMM_USE_DRIVER_LOCKED, 0, 0, &held[n]) == NTMM_STATUS_SUCCESS)
        n++;
    assert_true(n < MAXF);
    unsigned high = 0;
    for (size_t i = 0; i < n && high < 8; i++)
        if (held[i] >= (NTMM_GIB(4) >> NTMM_PAGE_SHIFT)) {
            assert_int_equal(mm_pfn_free(&e.p.db, held[i]), NTMM_STATUS_SUCCESS);
            held[i] = MM_NO_PFN;
            high++;
        }
    for (size_t i = 0; i < n; i++)
        if (held[i] < (NTMM_GIB(4) >> NTMM_PAGE_SHIFT)) {
            assert_int_equal(mm_pfn_free(&e.p.db, held[i]), NTMM_STATUS_SUCCESS);
            held[i] = MM_NO_PFN;
            break;
        }
    mm_pfn_unlock(&e.p.db);
    assert_int_equal(high, 8);
    check(&e);
    mm_aspace_t *as = new_process(&e, MM_LAYOUT_X86);
    check(&e);
    assert_true(as->root < NTMM_GIB(4));
    bool some_high = false;
    for (unsigned s = 0; s < 4; s++) some_high |= (as->pae_own & (1u << s)) && as->pae_pd[s] >= NTMM_GIB(4);
    assert_true(some_high);
    pfn_t f = map_page(&e, as, 0x10000);
    assert_true(f >= (NTMM_GIB(4) >> NTMM_PAGE_SHIFT));
    expect_read(&e, as, 0x10000, 3, tag_of(0x10000, f));
    unmap_page(&e, as, 0x10000, true);
    assert_int_equal(mm_aspace_destroy(as), NTMM_STATUS_SUCCESS);
    check(&e);
    mm_pfn_lock(&e.p.db);
    for (size_t i = 0; i < n; i++)
        if (held[i] != MM_NO_PFN) assert_int_equal(mm_pfn_free(&e.p.db, held[i]), NTMM_STATUS_SUCCESS);
    mm_pfn_unlock(&e.p.db);
    free(held);
    check(&e);
    env_destroy(&e);
}

/* ---- seeded random sequences ------------------------------------------------------------------------------------ */

#define MAXP 4
#define MAXPAGES 160

typedef struct rpage {
    int owner;  /* process slot, or -1: system space */
    va_t va;
    pfn_t pfn;  /* MM_NO_PFN: a software PTE (0x80) */
} rpage_t;

typedef struct rmodel {
    env_t *e;
    base_rng_t rng;
    mm_aspace_t *procs[MAXP];
    rpage_t pages[MAXPAGES];
    size_t n;
    va_t ubase[4], kbase[3];
} rmodel_t;

static int rfind(const rmodel_t *r, int owner, va_t va)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->pages[i].owner == owner && r->pages[i].va == va) return (int)i;
    return -1;
}

/* A handle through which system space is reached: any live process or the System process. */
static mm_aspace_t *rhandle(rmodel_t *r)
{
    unsigned i = (unsigned)base_rng_below(&r->rng, MAXP + 1);
    return i < MAXP && r->procs[i] ? r->procs[i] : mm_system_aspace(r->e->sys);
}

static int ralive(rmodel_t *r)
{
    int start = (int)base_rng_below(&r->rng, MAXP);
    for (int k = 0; k < MAXP; k++)
        if (r->procs[(start + k) % MAXP]) return (start + k) % MAXP;
    return -1;
}

static void rremove(rmodel_t *r, size_t i)
{
    env_t *e = r->e;
    rpage_t *p = &r->pages[i];
    mm_aspace_t *as = p->owner < 0 ? rhandle(r) : r->procs[p->owner];
    bool free_tables = base_rng_below(&r->rng, 2) != 0;
    if (p->pfn == MM_NO_PFN) {
        mm_aspace_lock(as);
        assert_int_equal(mm_ptm_write(as, mm_ptm_lookup(as, p->va, NULL), 0), 0x80u);
        if (free_tables) assert_int_equal(mm_ptm_free_range(as, p->va, p->va + NTMM_PAGE_SIZE, NULL), NTMM_STATUS_SUCCESS);
        mm_aspace_unlock(as);
    } else {
        unmap_page(e, as, p->va, free_tables);
    }
    r->pages[i] = r->pages[--r->n];
}

static void rverify(rmodel_t *r)
{
    env_t *e = r->e;
    for (size_t i = 0; i < r->n; i++) {
        const rpage_t *p = &r->pages[i];
        if (p->pfn == MM_NO_PFN) continue;
        if (p->owner < 0) {
            expect_read(e, rhandle(r), p->va, 0, tag_of(p->va, p->pfn));
            continue;
        }
        expect_read(e, r->procs[p->owner], p->va, 3, tag_of(p->va, p->pfn));
        for (int o = 0; o < MAXP; o++) /* not visible where that process maps nothing */
            if (o != p->owner && r->procs[o] && rfind(r, o, p->va) < 0) expect_pf(e, r->procs[o], p->va, 3, NTMM_PF_U);
    }
}

static void random_run(ntmm_paging_mode_t mode, uint64_t seed, unsigned steps)
{
    env_t e;
    rmodel_t r;
    memset(&r, 0, sizeof r);
    env_init(&e, mode, NULL);
    ntmm_memory_stats_t base = settled(&e);
    r.e = &e;
    base_rng_seed(&r.rng, seed);
    const mm_layout_t *l = mm_layout(default_layout(mode));
    va_t kv[4];
    kernel_vas(mode, kv);
    /* clusters: the bottom and top of user space, astride a page-table and a 1 GiB boundary */
    r.ubase[0] = l->lowest_user;
    r.ubase[1] = 0x00400000u - 16 * NTMM_PAGE_SIZE;
    r.ubase[2] = 0x40000000u - 16 * NTMM_PAGE_SIZE;
    r.ubase[3] = l->highest_user + 1u - 32 * NTMM_PAGE_SIZE;
    r.kbase[0] = kv[0];
    r.kbase[1] = kv[1];
    r.kbase[2] = kv[2] - 31 * NTMM_PAGE_SIZE;
    for (unsigned step = 0; step < steps; step++) {
        uint64_t op = base_rng_below(&r.rng, 100);
        int who = ralive(&r);
        va_t uva = r.ubase[base_rng_below(&r.rng, 4)] + base_rng_below(&r.rng, 32) * NTMM_PAGE_SIZE;
        va_t kva = r.kbase[base_rng_below(&r.rng, 3)] + base_rng_below(&r.rng, 32) * NTMM_PAGE_SIZE;
        if (op < 8) {
            int slot = (int)base_rng_below(&r.rng, MAXP);
            if (!r.procs[slot]) r.procs[slot] = new_process(&e, l->id);
        } else if (op < 12 && who >= 0) {
            /* frames are released first; software PTEs stay for teardown to drop */
            for (size_t i = 0; i < r.n;)
                if (r.pages[i].owner == who && r.pages[i].pfn != MM_NO_PFN) rremove(&r, i);
                else if (r.pages[i].owner == who) r.pages[i] = r.pages[--r.n];
                else i++;
            assert_int_equal(mm_aspace_destroy(r.procs[who]), NTMM_STATUS_SUCCESS);
            r.procs[who] = NULL;
        } else if (op < 50 && who >= 0 && r.n < MAXPAGES && rfind(&r, who, uva) < 0) {
            pfn_t f = map_page(&e, r.procs[who], uva);
            r.pages[r.n++] = (rpage_t){ who, uva, f };
        } else if (op < 60 && r.n < MAXPAGES && rfind(&r, -1, kva) < 0) {
            pfn_t f = map_page(&e, rhandle(&r), kva);
            r.pages[r.n++] = (rpage_t){ -1, kva, f };
        } else if (op < 68 && who >= 0 && r.n < MAXPAGES && rfind(&r, who, uva) < 0) {
            mm_aspace_t *as = r.procs[who];
            pa_t pte;
            mm_aspace_lock(as);
            assert_int_equal(mm_ptm_ensure(as, uva, 1, &pte), NTMM_STATUS_SUCCESS);
            assert_int_equal(mm_ptm_write(as, pte, 0x80u), 0);
            mm_aspace_unlock(as);
            r.pages[r.n++] = (rpage_t){ who, uva, MM_NO_PFN };
        } else if (op < 92 && r.n) {
            rremove(&r, (size_t)base_rng_below(&r.rng, r.n));
        } else if (who >= 0) {
            mm_aspace_t *as = r.procs[who];
            mm_aspace_lock(as);
            assert_int_equal(mm_ptm_free_range(as, 0, l->highest_user + 1u, NULL), NTMM_STATUS_SUCCESS);
            mm_aspace_unlock(as);
            mm_system_lock(e.sys);
            assert_int_equal(mm_ptm_free_range(as, e.sys->system_start, 0, NULL), NTMM_STATUS_SUCCESS);
            mm_system_unlock(e.sys);
        }
        check(&e);
        if (step % 25 == 24) rverify(&r);
    }
    rverify(&r);
    while (r.n) rremove(&r, r.n - 1);
    for (int o = 0; o < MAXP; o++)
        if (r.procs[o]) assert_int_equal(mm_aspace_destroy(r.procs[o]), NTMM_STATUS_SUCCESS);
    mm_system_lock(e.sys);
    assert_int_equal(mm_ptm_free_range(mm_system_aspace(e.sys), e.sys->system_start, 0, NULL), NTMM_STATUS_SUCCESS);
    mm_system_unlock(e.sys);
    check(&e);
    ntmm_memory_stats_t after = settled(&e);
    expect_stats_equal(&after, &base);
    env_destroy(&e);
}

static void test_random_sequences(void **state)
{
    (void)state;
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(modes); k++)
        for (uint64_t seed = 1; seed <= 3; seed++) random_run(modes[k], seed * 0x9E3779B9u + k, 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_destroy),
        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_tables_every_mode),
        cmocka_unit_test(test_shared_system_space),
        cmocka_unit_test(test_self_map),
        cmocka_unit_test(test_walker_and_large_pages),
        cmocka_unit_test(test_teardown_leftovers),
        cmocka_unit_test(test_check_finds_corruption),
        cmocka_unit_test(test_pae_pdpt_below_4g),
        cmocka_unit_test(test_random_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
