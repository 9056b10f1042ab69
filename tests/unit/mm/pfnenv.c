/* pfnenv.c - the PFN tests' fixture (see pfnenv.h). */
#include "pfnenv.h"

void pfnenv_init_cfg(pfnenv_t *e, const ntmm_hw_config_t *cfg, ntmm_frame_allocator_t kind)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(hw_machine_create(cfg, &e->m), NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_pfndb_init(&e->db, e->m, kind, 8), NTMM_STATUS_SUCCESS);
    mm_pfn_lock(&e->db);
    assert_int_equal(mm_pfn_allocate(&e->db, MM_ALLOC_ZEROED, NTMM_USE_PAGE_TABLE, 0, 0, &e->table), 0);
    mm_pfn_unlock(&e->db);
    pfnenv_check(e);
}

void pfnenv_init(pfnenv_t *e, uint64_t ram, ntmm_frame_allocator_t kind)
{
    ntmm_hw_config_t cfg = { .ram_bytes = ram };
    pfnenv_init_cfg(e, &cfg, kind);
}

void pfnenv_destroy(pfnenv_t *e)
{
    mm_pfndb_destroy(&e->db);
    hw_machine_destroy(e->m);
}

pa_t pfnenv_pte(const pfnenv_t *e, unsigned i) { return (e->table << NTMM_PAGE_SHIFT) + 8u * i; }

uint8_t *pfnenv_frame(const pfnenv_t *e, pfn_t pfn) { return hw_phys_host(&e->m->phys, pfn << NTMM_PAGE_SHIFT); }

uint64_t pfnenv_read_pte(const pfnenv_t *e, unsigned i)
{
    return ntmm_le_load(hw_phys_host(&e->m->phys, pfnenv_pte(e, i)), 8);
}

void pfnenv_write_pte(pfnenv_t *e, unsigned i, uint64_t v)
{
    ntmm_le_store(hw_phys_host(&e->m->phys, pfnenv_pte(e, i)), v, 8);
}

pfn_t pfnenv_map(pfnenv_t *e, unsigned i, mm_alloc_kind_t kind)
{
    pfn_t pfn = MM_NO_PFN;
    uint64_t original = pfnenv_read_pte(e, i);
    mm_pfn_lock(&e->db);
    ntmm_status_t st = mm_pfn_allocate(&e->db, kind, NTMM_USE_PROCESS_PRIVATE, pfnenv_pte(e, i), original, &pfn);
    if (st == NTMM_STATUS_SUCCESS) pfnenv_write_pte(e, i, (pfn << NTMM_PAGE_SHIFT) | PTE_P | PTE_RW);
    mm_pfn_unlock(&e->db);
    return st == NTMM_STATUS_SUCCESS ? pfn : MM_NO_PFN;
}

void pfnenv_trim(pfnenv_t *e, unsigned i, pfn_t pfn)
{
    mm_pfn_lock(&e->db);
    pfnenv_write_pte(e, i, (pfn << NTMM_PAGE_SHIFT) | PTE_TRANSITION);
    assert_int_equal(mm_pfn_remove_share(&e->db, pfn), NTMM_STATUS_SUCCESS);
    mm_pfn_unlock(&e->db);
}

void pfnenv_check(pfnenv_t *e)
{
    if (!mm_pfn_check(&e->db))
        fail_msg("mm_pfn_check: %s (%#llx, %#llx, %#llx, %#llx) at %s", ntmm_bugcheck_name(e->m->bugcheck.code),
                 (unsigned long long)e->m->bugcheck.param[0], (unsigned long long)e->m->bugcheck.param[1],
                 (unsigned long long)e->m->bugcheck.param[2], (unsigned long long)e->m->bugcheck.param[3],
                 e->m->bugcheck.where);
}
