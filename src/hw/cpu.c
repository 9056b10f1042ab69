/* cpu.c - control registers, paging-mode selection and privilege state of a virtual CPU. */
#include "hw/cpu.h"

#include "hw/machine.h"

#define CR0_KNOWN (HW_CR0_PE | NTMM_BIT(1) | NTMM_BIT(2) | NTMM_BIT(3) | NTMM_BIT(4) | NTMM_BIT(5) | \
                   HW_CR0_WP | NTMM_BIT(18) | NTMM_BIT(29) | NTMM_BIT(30) | HW_CR0_PG)
#define CR4_HARMLESS (NTMM_BITS(3, 0) | NTMM_BIT(6) | NTMM_BITS(10, 8))
#define EFER_KNOWN (NTMM_BIT(0) | HW_EFER_LME | HW_EFER_LMA | HW_EFER_NXE)

static bool cpu_gp(ntmm_fault_t *f)
{
    f->vector = NTMM_VEC_GP;
    f->error_code = 0;
    f->address = 0;
    f->access = NTMM_ACCESS_READ;
    return false;
}

static void cpu_select_tlb_set(hw_cpu_t *cpu)
{
    unsigned set = HW_TLB_SET_SUPER_SMAP;
    if (cpu->cpl == 3) set = HW_TLB_SET_USER;
    else if (cpu->rflags & HW_RFLAGS_AC) set = HW_TLB_SET_SUPER;
    cpu->tlb_cur = cpu->tlb.sets[set];
}

/* The paging context the registers describe (PDPTEs not yet loaded). */
static hw_paging_ctx_t cpu_build_ctx(const hw_cpu_t *cpu, uint64_t cr0, uint64_t cr3, uint64_t cr4,
                                     uint64_t efer)
{
    hw_machine_t *m = cpu->machine;
    hw_paging_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.phys = &m->phys;
    ctx.phys_bits = (uint8_t)m->phys_bits;
    if (cr0 & HW_CR0_PG) {
        if (!(cr4 & HW_CR4_PAE)) ctx.mode = hw_paging_mode(NTMM_PAGING_X86);
        else if (efer & HW_EFER_LMA)
            ctx.mode = hw_paging_mode((cr4 & HW_CR4_LA57) ? NTMM_PAGING_X64_LA57 : NTMM_PAGING_X64);
        else ctx.mode = hw_paging_mode(NTMM_PAGING_PAE);
    }
    ctx.nxe = (efer & HW_EFER_NXE) != 0;
    ctx.wp = (cr0 & HW_CR0_WP) != 0;
    ctx.pse = (cr4 & HW_CR4_PSE) != 0;
    ctx.pge = (cr4 & HW_CR4_PGE) != 0;
    ctx.smep = (cr4 & HW_CR4_SMEP) != 0;
    ctx.smap = (cr4 & HW_CR4_SMAP) != 0;
    hw_paging_ctx_derive(&ctx, hw_machine_has(m, NTMM_HW_NO_1GB_PAGES), hw_machine_has(m, NTMM_HW_NO_PSE36));
    if (!ctx.mode || ctx.mode->entry_bytes == 4) ctx.root = cr3 & HW_PTE32_FRAME;
    else if (ctx.mode->pdpte_registers) ctx.root = cr3 & NTMM_BITS(31, 5);
    else ctx.root = cr3 & ctx.addr_mask;
    return ctx;
}

/*
 * Validates and installs a new register set. `cr3_load` says whether CR3 was written (which
 * flushes non-global entries even when the value is unchanged).
 */
static bool cpu_commit(hw_cpu_t *cpu, uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer,
                       bool cr3_load, ntmm_fault_t *fault)
{
    /* EFER.LMA follows CR0.PG && EFER.LME. */
    efer = (cr0 & HW_CR0_PG) && (efer & HW_EFER_LME) ? efer | HW_EFER_LMA : efer & ~HW_EFER_LMA;
    hw_paging_ctx_t ctx = cpu_build_ctx(cpu, cr0, cr3, cr4, efer);
    if (ctx.mode && ctx.mode->pdpte_registers) {
        bool reload = cr3_load || !cpu->paging.mode || cpu->paging.mode != ctx.mode ||
                      ((cpu->cr4 ^ cr4) & (HW_CR4_PAE | HW_CR4_PSE | HW_CR4_PGE | HW_CR4_SMEP)) ||
                      ((cpu->cr0 ^ cr0) & (HW_CR0_PG | NTMM_BIT(29) | NTMM_BIT(30)));
        if (reload) {
            if (!hw_paging_load_pdptes(&ctx, fault)) return false;
        } else {
            memcpy(ctx.pdpte, cpu->paging.pdpte, sizeof ctx.pdpte);
        }
    }
    bool global = ((cpu->cr0 ^ cr0) & (HW_CR0_PG | HW_CR0_WP)) ||
                  ((cpu->cr4 ^ cr4) & (HW_CR4_PSE | HW_CR4_PAE | HW_CR4_PGE | HW_CR4_LA57 |
                                      HW_CR4_SMEP | HW_CR4_SMAP)) ||
                  ((cpu->efer ^ efer) & (HW_EFER_NXE | HW_EFER_LMA));
    cpu->cr0 = cr0;
    cpu->cr3 = cr3;
    cpu->cr4 = cr4;
    cpu->efer = efer;
    cpu->paging = ctx;
    if (global || cr3_load) {
        hw_tlb_flush(&cpu->tlb, global);
        cpu->stats.tlb_flushes++;
    }
    cpu_select_tlb_set(cpu);
    return true;
}

bool hw_cpu_write_cr0(hw_cpu_t *cpu, uint64_t value, ntmm_fault_t *fault)
{
    value |= NTMM_BIT(4); /* ET is hard-wired to 1 */
    if ((value & ~CR0_KNOWN) || ((value & HW_CR0_PG) && !(value & HW_CR0_PE))) return cpu_gp(fault);
    if ((value & HW_CR0_NW) && !(value & HW_CR0_CD)) return cpu_gp(fault); /* SDM: NW=1 needs CD=1 */
    if ((value & HW_CR0_PG) && !(cpu->cr0 & HW_CR0_PG) && (cpu->efer & HW_EFER_LME) &&
        !(cpu->cr4 & HW_CR4_PAE))
        return cpu_gp(fault);
    return cpu_commit(cpu, value, cpu->cr3, cpu->cr4, cpu->efer, false, fault);
}

bool hw_cpu_write_cr3(hw_cpu_t *cpu, uint64_t value, ntmm_fault_t *fault)
{
    bool long_mode = (cpu->efer & HW_EFER_LMA) != 0;
    if (long_mode ? (value & ~NTMM_BITS(cpu->machine->phys_bits - 1, 0)) != 0 : value > UINT32_MAX)
        return cpu_gp(fault);
    return cpu_commit(cpu, cpu->cr0, value, cpu->cr4, cpu->efer, true, fault);
}

bool hw_cpu_write_cr4(hw_cpu_t *cpu, uint64_t value, ntmm_fault_t *fault)
{
    const hw_machine_t *m = cpu->machine;
    uint64_t allowed = CR4_HARMLESS | HW_CR4_PSE | HW_CR4_PAE;
    if (hw_machine_has(m, NTMM_HW_NO_PGE)) allowed |= HW_CR4_PGE;
    if (hw_machine_has(m, NTMM_HW_NO_LA57)) allowed |= HW_CR4_LA57;
    if (hw_machine_has(m, NTMM_HW_NO_SMEP)) allowed |= HW_CR4_SMEP;
    if (hw_machine_has(m, NTMM_HW_NO_SMAP)) allowed |= HW_CR4_SMAP;
    if (value & ~allowed) return cpu_gp(fault);
    if ((cpu->efer & HW_EFER_LMA) &&
        (!(value & HW_CR4_PAE) || ((value ^ cpu->cr4) & HW_CR4_LA57)))
        return cpu_gp(fault);
    return cpu_commit(cpu, cpu->cr0, cpu->cr3, value, cpu->efer, false, fault);
}

bool hw_cpu_write_efer(hw_cpu_t *cpu, uint64_t value, ntmm_fault_t *fault)
{
    if (value & ~EFER_KNOWN) return cpu_gp(fault);
    if ((value & HW_EFER_NXE) && !hw_machine_has(cpu->machine, NTMM_HW_NO_NX)) return cpu_gp(fault);
    if ((cpu->cr0 & HW_CR0_PG) && ((value ^ cpu->efer) & HW_EFER_LME)) return cpu_gp(fault);
    value = (value & ~HW_EFER_LMA) | (cpu->efer & HW_EFER_LMA); /* LMA is read-only */
    return cpu_commit(cpu, cpu->cr0, cpu->cr3, cpu->cr4, value, false, fault);
}

void hw_cpu_set_cpl(hw_cpu_t *cpu, unsigned cpl)
{
    cpu->cpl = (uint8_t)(cpl & 3u);
    cpu_select_tlb_set(cpu);
}

void hw_cpu_set_rflags(hw_cpu_t *cpu, uint64_t rflags)
{
    cpu->rflags = rflags | NTMM_BIT(1);
    cpu_select_tlb_set(cpu);
}

void hw_cpu_reset(hw_cpu_t *cpu)
{
    hw_machine_t *m = cpu->machine;
    unsigned index = cpu->index;
    hw_tlb_t tlb = cpu->tlb;
    memset(cpu, 0, offsetof(hw_cpu_t, shootdown)); /* the mailbox belongs to every thread */
    cpu->machine = m;
    cpu->index = index;
    cpu->tlb = tlb;
    cpu->tlb_index_mask = (tlb.entries - 1u) << HW_TLB_ENTRY_SHIFT;
    cpu->cr0 = HW_CR0_PE | NTMM_BIT(4);
    cpu->rflags = NTMM_BIT(1);
    for (int s = 0; s < HW_SEG_COUNT; s++)
        cpu->seg[s] = (hw_segment_t){ 0, (uint16_t)(s == HW_SEG_CS ? 0xC09Bu : 0xC093u), 0xFFFFFFFFu, 0, true };
    cpu->gdtr.limit = cpu->idtr.limit = 0xFFFF;
    cpu->paging = cpu_build_ctx(cpu, cpu->cr0, 0, 0, 0);
    hw_tlb_flush(&cpu->tlb, true);
    cpu_select_tlb_set(cpu);
}

bool hw_cpu_enter_paging(hw_cpu_t *cpu, ntmm_paging_mode_t mode, uint64_t cr3, ntmm_fault_t *fault)
{
    const hw_machine_t *m = cpu->machine;
    if (mode == NTMM_PAGING_NONE) return hw_cpu_write_cr0(cpu, cpu->cr0 & ~HW_CR0_PG, fault);
    if (!hw_paging_mode(mode)) return cpu_gp(fault);
    bool long_mode = mode == NTMM_PAGING_X64 || mode == NTMM_PAGING_X64_LA57;
    if (mode == NTMM_PAGING_X64_LA57 && !hw_machine_has(m, NTMM_HW_NO_LA57)) return cpu_gp(fault);
    /* CR3 as the new mode reads it: 32 bits outside long mode, MAXPHYADDR bits in it. */
    if (long_mode ? (cr3 & ~NTMM_BITS(m->phys_bits - 1, 0)) != 0 : cr3 > UINT32_MAX) return cpu_gp(fault);
    uint64_t cr4 = cpu->cr4 & ~(HW_CR4_PAE | HW_CR4_LA57 | HW_CR4_PSE | HW_CR4_PGE);
    cr4 |= HW_CR4_PSE;
    if (hw_machine_has(m, NTMM_HW_NO_PGE)) cr4 |= HW_CR4_PGE;
    if (mode != NTMM_PAGING_X86) cr4 |= HW_CR4_PAE;
    if (mode == NTMM_PAGING_X64_LA57) cr4 |= HW_CR4_LA57;
    uint64_t efer = cpu->efer & ~(HW_EFER_LME | HW_EFER_NXE);
    if (long_mode) efer |= HW_EFER_LME;
    if (mode != NTMM_PAGING_X86 && hw_machine_has(m, NTMM_HW_NO_NX)) efer |= HW_EFER_NXE;
    uint64_t cr0 = cpu->cr0 | HW_CR0_PE | HW_CR0_PG | HW_CR0_WP;
    /* The end state of the loader's sequence (CR4, EFER, CR3, then CR0.PG), installed at once
     * so that a long-mode CR3 above 4 GiB needs no 32-bit detour. */
    return cpu_commit(cpu, cr0, cr3, cr4, efer, true, fault);
}

/* ---- shootdown mailbox --------------------------------------------------------------------------- */

static void shootdown_lock(hw_shootdown_t *s)
{
    while (__atomic_exchange_n(&s->lock, 1u, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&s->lock, __ATOMIC_RELAXED)) {
        }
}

static void shootdown_unlock(hw_shootdown_t *s)
{
    __atomic_store_n(&s->lock, 0u, __ATOMIC_RELEASE);
}

void hw_cpu_post_invalidate(hw_cpu_t *cpu, uint64_t la)
{
    hw_shootdown_t *s = &cpu->shootdown;
    uint64_t page = la & ~(uint64_t)NTMM_PAGE_MASK;
    shootdown_lock(s);
    if (!s->flush_all) {
        uint32_t i = 0;
        while (i < s->count && s->va[i] != page) i++;
        if (i == s->count) {
            if (s->count < HW_SHOOTDOWN_VAS) s->va[s->count++] = page;
            else s->flush_all = 1;
        }
    }
    __atomic_store_n(&s->pending, 1u, __ATOMIC_RELEASE);
    shootdown_unlock(s);
}

void hw_cpu_apply_shootdowns(hw_cpu_t *cpu)
{
    hw_shootdown_t *s = &cpu->shootdown;
    uint64_t va[HW_SHOOTDOWN_VAS];
    shootdown_lock(s);
    uint32_t n = s->count;
    bool all = s->flush_all != 0;
    if (!all) memcpy(va, s->va, n * sizeof va[0]);
    s->count = 0;
    s->flush_all = 0;
    __atomic_store_n(&s->pending, 0u, __ATOMIC_RELAXED);
    shootdown_unlock(s);
    if (all) {
        hw_tlb_flush(&cpu->tlb, true);
        cpu->stats.tlb_flushes++;
        return;
    }
    for (uint32_t i = 0; i < n; i++) hw_tlb_invalidate(&cpu->tlb, va[i]);
    cpu->stats.tlb_invlpg += n;
}

hw_cpu_stats_t hw_cpu_stats(const hw_cpu_t *cpu)
{
    hw_cpu_stats_t s = cpu->stats;
    s.tlb_hits += cpu->tlb_hits;
    return s;
}
