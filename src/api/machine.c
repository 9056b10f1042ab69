/*
 * machine.c - the public machine facade (ntmm_machine.h): validates arguments and forwards to
 * the hardware layer. No policy lives here.
 */
#include <ntmm/ntmm.h>

#include "base/bugcheck.h"
#include "host/host.h"
#include "hw/access.h"
#include "hw/machine.h"
#include "hw/seg.h"
#include "api/api.h"

ntmm_status_t ntmm_machine_create(const ntmm_machine_config_t *config, ntmm_machine_t **machine)
{
    if (!machine) return NTMM_STATUS_INVALID_PARAMETER;
    *machine = NULL;
    ntmm_machine_t *m = host_calloc(1, sizeof *m);
    if (!m) return NTMM_STATUS_NO_MEMORY;
    ntmm_machine_config_t cfg = config ? *config : (ntmm_machine_config_t){ 0 };
    m->paging = cfg.paging == NTMM_PAGING_NONE ? NTMM_PAGING_X64 : cfg.paging;
    if (!hw_paging_mode(m->paging)) {
        host_free(m);
        return NTMM_STATUS_INVALID_PARAMETER;
    }
    ntmm_status_t st = hw_machine_create(&cfg.hw, &m->hw);
    if (st != NTMM_STATUS_SUCCESS) {
        host_free(m);
        return st;
    }
    st = mm_pfndb_init(&m->pfndb, m->hw, cfg.frames, hw_paging_mode(m->paging)->entry_bytes);
    if (st == NTMM_STATUS_SUCCESS && !(m->vm_lock = host_mutex_create())) {
        mm_pfndb_destroy(&m->pfndb);
        st = NTMM_STATUS_NO_MEMORY;
    }
    if (st != NTMM_STATUS_SUCCESS) {
        hw_machine_destroy(m->hw);
        host_free(m);
        return st;
    }
    *machine = m;
    return NTMM_STATUS_SUCCESS;
}

void ntmm_machine_destroy(ntmm_machine_t *machine)
{
    if (!machine) return;
    api_vm_destroy(machine);
    host_mutex_destroy(machine->vm_lock);
    mm_pfndb_destroy(&machine->pfndb);
    hw_machine_destroy(machine->hw);
    host_free(machine);
}

const ntmm_bugcheck_t *ntmm_machine_bugcheck(const ntmm_machine_t *machine)
{
    return machine ? base_bugcheck_record(&machine->hw->bugcheck) : NULL;
}

size_t ntmm_machine_memory_map(const ntmm_machine_t *machine, const ntmm_mem_range_t **map)
{
    if (map) *map = machine->hw->phys.map;
    return machine->hw->phys.map_count;
}

uint64_t ntmm_machine_ram_bytes(const ntmm_machine_t *machine) { return machine->hw->phys.ram_bytes; }

/* The CPU for a call: NTMM_STATUS_MACHINE_HALTED once the machine has bugchecked,
 * NTMM_STATUS_INVALID_PARAMETER for a bad machine or CPU index. */
static ntmm_status_t api_cpu(const ntmm_machine_t *machine, unsigned cpu, hw_cpu_t **out)
{
    *out = NULL;
    if (!machine || cpu >= machine->hw->cpu_count) return NTMM_STATUS_INVALID_PARAMETER;
    if (base_bugcheck_halted(&machine->hw->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    *out = &machine->hw->cpus[cpu];
    return NTMM_STATUS_SUCCESS;
}

static ntmm_status_t api_fault_status(const ntmm_fault_t *f)
{
    return f->vector == NTMM_VEC_MC ? NTMM_STATUS_IN_PAGE_ERROR : NTMM_STATUS_ACCESS_VIOLATION;
}

ntmm_status_t ntmm_machine_check(ntmm_machine_t *machine)
{
    if (!machine) return NTMM_STATUS_INVALID_PARAMETER;
    if (base_bugcheck_halted(&machine->hw->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    bool ok = hw_machine_check(machine->hw) && mm_pfn_check(&machine->pfndb) &&
              (!machine->sys || mm_system_space_check(machine->sys));
    return ok ? NTMM_STATUS_SUCCESS : NTMM_STATUS_MACHINE_HALTED;
}

ntmm_status_t ntmm_memory_stats(ntmm_machine_t *machine, ntmm_memory_stats_t *stats)
{
    if (!machine || !stats) return NTMM_STATUS_INVALID_PARAMETER;
    mm_pfn_stats(&machine->pfndb, stats);
    return NTMM_STATUS_SUCCESS;
}

uint64_t ntmm_zero_step(ntmm_machine_t *machine, uint64_t budget)
{
    return machine ? mm_zero_step(&machine->pfndb, budget) : 0;
}

ntmm_status_t ntmm_phys_read(ntmm_machine_t *machine, uint64_t pa, void *buf, size_t len)
{
    if (!machine || (!buf && len)) return NTMM_STATUS_INVALID_PARAMETER;
    if (base_bugcheck_halted(&machine->hw->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    return hw_phys_read(&machine->hw->phys, pa, buf, len);
}

ntmm_status_t ntmm_phys_write(ntmm_machine_t *machine, uint64_t pa, const void *buf, size_t len)
{
    if (!machine || (!buf && len)) return NTMM_STATUS_INVALID_PARAMETER;
    if (base_bugcheck_halted(&machine->hw->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    return hw_phys_write(&machine->hw->phys, pa, buf, len);
}

uint64_t ntmm_cpu_get(ntmm_machine_t *machine, unsigned cpu, ntmm_cpu_reg_t reg)
{
    hw_cpu_t *c;
    if (api_cpu(machine, cpu, &c) != NTMM_STATUS_SUCCESS) return 0;
    switch (reg) {
    case NTMM_REG_CR0: return c->cr0;
    case NTMM_REG_CR2: return c->cr2;
    case NTMM_REG_CR3: return c->cr3;
    case NTMM_REG_CR4: return c->cr4;
    case NTMM_REG_EFER: return c->efer;
    case NTMM_REG_RFLAGS: return c->rflags;
    case NTMM_REG_CPL: return c->cpl;
    }
    return 0;
}

ntmm_status_t ntmm_cpu_set(ntmm_machine_t *machine, unsigned cpu, ntmm_cpu_reg_t reg, uint64_t value,
                           ntmm_fault_t *fault)
{
    hw_cpu_t *c;
    ntmm_fault_t local;
    ntmm_status_t st = api_cpu(machine, cpu, &c);
    if (!fault) fault = &local;
    if (st != NTMM_STATUS_SUCCESS) return st;
    bool ok;
    switch (reg) {
    case NTMM_REG_CR0: ok = hw_cpu_write_cr0(c, value, fault); break;
    case NTMM_REG_CR2: c->cr2 = value; return NTMM_STATUS_SUCCESS;
    case NTMM_REG_CR3: ok = hw_cpu_write_cr3(c, value, fault); break;
    case NTMM_REG_CR4: ok = hw_cpu_write_cr4(c, value, fault); break;
    case NTMM_REG_EFER: ok = hw_cpu_write_efer(c, value, fault); break;
    case NTMM_REG_RFLAGS: hw_cpu_set_rflags(c, value); return NTMM_STATUS_SUCCESS;
    case NTMM_REG_CPL:
        if (value > 3) return NTMM_STATUS_INVALID_PARAMETER;
        hw_cpu_set_cpl(c, (unsigned)value);
        return NTMM_STATUS_SUCCESS;
    default: return NTMM_STATUS_INVALID_PARAMETER;
    }
    return ok ? NTMM_STATUS_SUCCESS : NTMM_STATUS_ACCESS_VIOLATION;
}

ntmm_status_t ntmm_cpu_enter_paging(ntmm_machine_t *machine, unsigned cpu, ntmm_paging_mode_t mode,
                                    uint64_t cr3, ntmm_fault_t *fault)
{
    hw_cpu_t *c;
    ntmm_fault_t local;
    ntmm_status_t st = api_cpu(machine, cpu, &c);
    if (st != NTMM_STATUS_SUCCESS) return st;
    return hw_cpu_enter_paging(c, mode, cr3, fault ? fault : &local) ? NTMM_STATUS_SUCCESS
                                                                     : NTMM_STATUS_ACCESS_VIOLATION;
}

void ntmm_cpu_poll(ntmm_machine_t *machine, unsigned cpu)
{
    hw_cpu_t *c;
    if (api_cpu(machine, cpu, &c) != NTMM_STATUS_SUCCESS) return;
    hw_cpu_poll(c);
}

void ntmm_cpu_invlpg(ntmm_machine_t *machine, unsigned cpu, uint64_t la)
{
    hw_cpu_t *c;
    if (api_cpu(machine, cpu, &c) != NTMM_STATUS_SUCCESS) return;
    hw_tlb_invalidate(&c->tlb, la);
    c->stats.tlb_invlpg++;
}

void ntmm_cpu_flush_tlb(ntmm_machine_t *machine, unsigned cpu)
{
    hw_cpu_t *c;
    if (api_cpu(machine, cpu, &c) != NTMM_STATUS_SUCCESS) return;
    hw_tlb_flush(&c->tlb, true);
    c->stats.tlb_flushes++;
}

ntmm_status_t ntmm_cpu_access(ntmm_machine_t *machine, unsigned cpu, uint64_t la, void *buf, size_t len,
                              ntmm_access_t access, size_t *done, ntmm_fault_t *fault)
{
    hw_cpu_t *c;
    ntmm_fault_t local;
    ntmm_status_t st = api_cpu(machine, cpu, &c);
    if (done) *done = 0;
    if (st != NTMM_STATUS_SUCCESS) return st;
    if ((!buf && len) || (unsigned)access > NTMM_ACCESS_EXECUTE) return NTMM_STATUS_INVALID_PARAMETER;
    hw_cpu_poll(c);
    if (hw_access_small(c, la, buf, len, access)) {
        if (done) *done = len;
        return NTMM_STATUS_SUCCESS;
    }
    if (!fault) fault = &local;
    return hw_access_linear(c, la, buf, len, access, done, fault) ? NTMM_STATUS_SUCCESS : api_fault_status(fault);
}

ntmm_status_t ntmm_cpu_access_logical(ntmm_machine_t *machine, unsigned cpu, ntmm_segment_t seg, uint64_t offset,
                                      void *buf, size_t len, ntmm_access_t access, size_t *done,
                                      ntmm_fault_t *fault)
{
    hw_cpu_t *c;
    ntmm_fault_t local;
    ntmm_status_t st = api_cpu(machine, cpu, &c);
    if (done) *done = 0;
    if (st != NTMM_STATUS_SUCCESS) return st;
    if ((!buf && len) || (unsigned)access > NTMM_ACCESS_EXECUTE || (unsigned)seg > NTMM_SEG_GS)
        return NTMM_STATUS_INVALID_PARAMETER;
    hw_cpu_poll(c);
    if (!fault) fault = &local;
    return hw_seg_access(c, (hw_seg_t)seg, offset, buf, len, access, done, fault) ? NTMM_STATUS_SUCCESS
                                                                                    : api_fault_status(fault);
}

ntmm_status_t ntmm_cpu_load_segment(ntmm_machine_t *machine, unsigned cpu, ntmm_segment_t seg, uint16_t selector,
                                    ntmm_fault_t *fault)
{
    hw_cpu_t *c;
    ntmm_fault_t local;
    ntmm_status_t st = api_cpu(machine, cpu, &c);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if ((unsigned)seg > NTMM_SEG_GS) return NTMM_STATUS_INVALID_PARAMETER;
    if (!fault) fault = &local;
    bool ok = seg == NTMM_SEG_CS ? hw_seg_load_cs(c, selector, fault) : hw_seg_load(c, (hw_seg_t)seg, selector, fault);
    return ok ? NTMM_STATUS_SUCCESS : api_fault_status(fault);
}

ntmm_status_t ntmm_cpu_load_gdt(ntmm_machine_t *machine, unsigned cpu, uint64_t base, uint16_t limit,
                                ntmm_fault_t *fault)
{
    hw_cpu_t *c;
    ntmm_fault_t local;
    ntmm_status_t st = api_cpu(machine, cpu, &c);
    if (st != NTMM_STATUS_SUCCESS) return st;
    return hw_seg_lgdt(c, base, limit, fault ? fault : &local) ? NTMM_STATUS_SUCCESS : NTMM_STATUS_ACCESS_VIOLATION;
}

ntmm_status_t ntmm_cpu_load_ldt(ntmm_machine_t *machine, unsigned cpu, uint16_t selector, ntmm_fault_t *fault)
{
    hw_cpu_t *c;
    ntmm_fault_t local;
    ntmm_status_t st = api_cpu(machine, cpu, &c);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (!fault) fault = &local;
    return hw_seg_lldt(c, selector, fault) ? NTMM_STATUS_SUCCESS : api_fault_status(fault);
}

ntmm_status_t ntmm_cpu_walk(ntmm_machine_t *machine, unsigned cpu, uint64_t la, ntmm_pte_walk_t *walk)
{
    hw_cpu_t *c;
    ntmm_status_t st = api_cpu(machine, cpu, &c);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (!walk) return NTMM_STATUS_INVALID_PARAMETER;
    hw_walk_t w;
    ntmm_fault_t f;
    memset(&w, 0, sizeof w);
    memset(walk, 0, sizeof *walk);
    bool ok = hw_walk(&c->paging, la, HW_ACC_INSPECT, &w, &f);
    if (!ok && f.vector != NTMM_VEC_PF) return NTMM_STATUS_ACCESS_VIOLATION;
    walk->levels = w.top_level;
    walk->stop_level = w.leaf_level;
    walk->present = ok;
    walk->pa = ok ? w.pa : 0;
    walk->page_size = ok ? w.page_size : 0;
    for (unsigned l = w.leaf_level ? w.leaf_level : 1; l <= w.top_level; l++) {
        walk->entry_pa[l] = w.entry_pa[l];
        walk->entry[l] = w.entry[l];
    }
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t ntmm_cpu_stats(const ntmm_machine_t *machine, unsigned cpu, ntmm_cpu_stats_t *stats)
{
    hw_cpu_t *c;
    if (!machine || cpu >= machine->hw->cpu_count || !stats) return NTMM_STATUS_INVALID_PARAMETER;
    c = &machine->hw->cpus[cpu];
    hw_cpu_stats_t s = hw_cpu_stats(c);
    *stats = (ntmm_cpu_stats_t){ s.tlb_hits, s.tlb_misses, s.tlb_flushes, s.tlb_invlpg, s.page_faults };
    return NTMM_STATUS_SUCCESS;
}
