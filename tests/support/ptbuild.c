/* ptbuild.c - page-table construction for tests, benchmarks and the walkthrough. */
#include "ptbuild.h"

hw_pte_t ptb_read(const ptb_t *b, pa_t entry_pa)
{
    return ntmm_le_load(hw_phys_host(&b->m->phys, entry_pa), b->mode->entry_bytes);
}

void ptb_write(ptb_t *b, pa_t entry_pa, hw_pte_t value)
{
    ntmm_le_store(hw_phys_host(&b->m->phys, entry_pa), value, b->mode->entry_bytes);
}

pa_t ptb_alloc_frame(ptb_t *b)
{
    while (b->next + NTMM_PAGE_SIZE <= b->end) {
        pa_t f = b->next;
        b->next += NTMM_PAGE_SIZE;
        if (!hw_phys_frame_present(&b->m->phys, f >> NTMM_PAGE_SHIFT)) continue;
        memset(hw_phys_host(&b->m->phys, f), 0, NTMM_PAGE_SIZE);
        return f;
    }
    return 0;
}

bool ptb_init(ptb_t *b, hw_machine_t *m, ntmm_paging_mode_t mode, pa_t pool, pa_t pool_end)
{
    memset(b, 0, sizeof *b);
    b->m = m;
    b->mode = hw_paging_mode(mode);
    b->next = ntmm_align_up(pool, NTMM_PAGE_SIZE);
    b->end = pool_end;
    b->table_flags = HW_PTE_P | HW_PTE_RW | HW_PTE_US;
    if (!b->mode || !(b->root = ptb_alloc_frame(b))) return false;
    if (b->mode->pdpte_registers)
        for (unsigned i = 0; i < 4; i++) {
            pa_t pd = ptb_alloc_frame(b);
            if (!pd) return false;
            ptb_write(b, b->root + 8u * i, pd | HW_PTE_P);
        }
    return true;
}

pa_t ptb_entry_pa(ptb_t *b, va_t va, unsigned level)
{
    const hw_paging_mode_t *md = b->mode;
    pa_t table = b->root;
    hw_pte_t addr = md->entry_bytes == 4 ? HW_PTE32_FRAME : NTMM_BITS(51, 12);
    for (unsigned l = md->levels;; l--) {
        pa_t epa = table + (pa_t)hw_paging_index(md, va, l) * md->entry_bytes;
        if (l == level) return epa;
        hw_pte_t e = ptb_read(b, epa);
        if (!(e & HW_PTE_P)) {
            pa_t t = ptb_alloc_frame(b);
            if (!t) return 0;
            e = t | b->table_flags;
            ptb_write(b, epa, e);
        } else if ((e & HW_PTE_PS) && l >= 2 && !(md->pdpte_registers && l == md->levels)) {
            return 0;
        }
        table = e & addr;
    }
}

bool ptb_map(ptb_t *b, va_t va, pa_t pa, uint64_t page_size, hw_pte_t flags)
{
    const hw_paging_mode_t *md = b->mode;
    unsigned level = 1;
    while (level < md->levels && hw_paging_level_size(md, level) < page_size) level++;
    if (hw_paging_level_size(md, level) != page_size) return false;
    pa_t epa = ptb_entry_pa(b, va, level);
    if (!epa) return false;
    hw_pte_t e = flags | HW_PTE_P;
    if (level > 1) {
        e |= HW_PTE_PS;
        if (md->entry_bytes == 4)
            pa = (pa & HW_PDE32_4M_FRAME) | (((pa >> 32) << HW_PDE32_4M_HI_SHIFT) & HW_PDE32_4M_HI);
    }
    ptb_write(b, epa, e | pa);
    return true;
}

/*
 * Self-maps, as each OS does:
 *   x86:  PDE 0x300 -> the PD: tables appear at 0xC0000000 (Windows' PTE_BASE, PDE_BASE
 *         0xC0300000). Seed 003's entry 1023 (tables at 0xFFC00000) is built by hand in test_paging.c.
 *   PAE:  the four PDEs 0x600..0x603 of the directory for 0xC0000000 -> the four PDs:
 *         PTE_BASE 0xC0000000, PDE_BASE 0xC0600000.
 *   x64:  PML4 entry 0x1ED -> the PML4: PTE_BASE 0xFFFFF68000000000 (Windows before 1607).
 *   LA57: PML5 entry 0x1ED -> the PML5.
 */
va_t ptb_self_map(ptb_t *b)
{
    const hw_paging_mode_t *md = b->mode;
    hw_pte_t rw = HW_PTE_P | HW_PTE_RW;
    if (md->id == NTMM_PAGING_X86) {
        ptb_write(b, b->root + 0x300u * 4u, b->root | rw);
        return 0xC0000000u;
    }
    if (md->id == NTMM_PAGING_PAE) {
        pa_t pd3 = ptb_read(b, b->root + 3u * 8u) & NTMM_BITS(51, 12);
        for (unsigned i = 0; i < 4; i++)
            ptb_write(b, pd3 + 8u * i, (ptb_read(b, b->root + 8u * i) & NTMM_BITS(51, 12)) | rw);
        return 0xC0000000u;
    }
    ptb_write(b, b->root + 0x1EDu * 8u, b->root | rw);
    uint64_t base = (uint64_t)0x1ED << md->shift[md->levels];
    /* sign-extend from the top linear-address bit */
    unsigned sh = 64u - md->va_bits;
    return (uint64_t)((int64_t)(base << sh) >> sh);
}
