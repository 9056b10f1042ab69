/* machine.c - creating, destroying and validating a simulated machine. */
#include "hw/machine.h"

#include "base/bugcheck.h"
#include "hw/seg.h"
#include "host/host.h"

/* Parameter 1 of the WHEA_UNCORRECTABLE_ERROR bugcheck raised by hw_machine_check. */
#define HW_CHECK_PHYS 1u
#define HW_CHECK_TLB  2u
#define HW_CHECK_CPU  3u

static unsigned machine_bits_needed(uint64_t top)
{
    unsigned bits = 32;
    while (bits < 52 && NTMM_BIT(bits) < top) bits++;
    return bits;
}

ntmm_status_t hw_machine_create(const ntmm_hw_config_t *cfg_in, hw_machine_t **out)
{
    ntmm_hw_config_t cfg = cfg_in ? *cfg_in : (ntmm_hw_config_t){ 0 };
    *out = NULL;
    if (cfg.cpu_count == 0) cfg.cpu_count = 1;
    if (cfg.tlb_entries == 0) cfg.tlb_entries = 1024;
    if (cfg.cpu_count > 256 || !ntmm_is_pow2(cfg.tlb_entries) || cfg.tlb_entries < 2 || cfg.tlb_entries > (1u << 20) ||
        (cfg.phys_addr_bits && (cfg.phys_addr_bits < 32 || cfg.phys_addr_bits > 52)) ||
        (cfg.mem_map && cfg.mem_map_count == 0) || (cfg.ram_bytes && cfg.ram_bytes < NTMM_PAGE_SIZE))
        return NTMM_STATUS_INVALID_PARAMETER;
    if (cfg.ram_bytes > NTMM_BIT(52)) return NTMM_STATUS_INVALID_PARAMETER;

    hw_machine_t *m = host_calloc(1, sizeof *m);
    if (!m) return NTMM_STATUS_NO_MEMORY;
    m->features_absent = cfg.features_absent;
    unsigned bits = cfg.phys_addr_bits ? cfg.phys_addr_bits : 39;
    if (!cfg.phys_addr_bits) {
        uint64_t top = cfg.ram_bytes ? cfg.ram_bytes : NTMM_MIB(256);
        for (size_t i = 0; cfg.mem_map && i < cfg.mem_map_count; i++)
            if (cfg.mem_map[i].base + cfg.mem_map[i].length > top)
                top = cfg.mem_map[i].base + cfg.mem_map[i].length;
        if (cfg.mem_map) top = top > cfg.ram_bytes ? top : cfg.ram_bytes;
        unsigned need = machine_bits_needed(top);
        if (need > bits) bits = need;
    }
    m->phys_bits = bits;
    ntmm_status_t st = hw_phys_init(&m->phys, &cfg, bits);
    if (st != NTMM_STATUS_SUCCESS) {
        host_free(m);
        return st;
    }
    m->cpus = host_calloc(cfg.cpu_count, sizeof *m->cpus);
    if (!m->cpus) goto nomem;
    m->cpu_count = cfg.cpu_count;
    for (unsigned i = 0; i < cfg.cpu_count; i++) {
        hw_cpu_t *c = &m->cpus[i];
        c->machine = m;
        c->index = i;
        if (!hw_tlb_init(&c->tlb, cfg.tlb_entries)) goto nomem;
        hw_cpu_reset(c);
    }
    *out = m;
    return NTMM_STATUS_SUCCESS;
nomem:
    hw_machine_destroy(m);
    return NTMM_STATUS_NO_MEMORY;
}

void hw_machine_destroy(hw_machine_t *m)
{
    if (!m) return;
    for (unsigned i = 0; m->cpus && i < m->cpu_count; i++) hw_tlb_destroy(&m->cpus[i].tlb);
    host_free(m->cpus);
    hw_phys_destroy(&m->phys);
    host_free(m);
}

bool hw_machine_check(hw_machine_t *m)
{
    pfn_t bad = 0;
    if (!hw_phys_check(&m->phys, &bad)) {
        NTMM_BUGCHECK(&m->bugcheck, NTMM_BUGCHECK_WHEA_UNCORRECTABLE_ERROR, HW_CHECK_PHYS, bad, 0, 0);
        return false;
    }
    for (unsigned i = 0; i < m->cpu_count; i++) {
        const hw_cpu_t *c = &m->cpus[i];
        if (!hw_tlb_check(&c->tlb)) {
            NTMM_BUGCHECK(&m->bugcheck, NTMM_BUGCHECK_WHEA_UNCORRECTABLE_ERROR, HW_CHECK_TLB, i, 0, 0);
            return false;
        }
        bool cur_ok = false;
        for (int s = 0; s < HW_TLB_SETS; s++) cur_ok = cur_ok || c->tlb_cur == c->tlb.sets[s];
        if (!cur_ok || c->tlb_index_mask != ((c->tlb.entries - 1u) << HW_TLB_ENTRY_SHIFT) || c->paging.phys != &m->phys ||
            ((c->cr0 & HW_CR0_PG) != 0) != (c->paging.mode != NULL) || !hw_seg_check_cache(c)) {
            NTMM_BUGCHECK(&m->bugcheck, NTMM_BUGCHECK_WHEA_UNCORRECTABLE_ERROR, HW_CHECK_CPU, i, 0, 0);
            return false;
        }
    }
    return true;
}
