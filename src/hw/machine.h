/*
 * machine.h - the simulated machine: physical memory, CPUs, and its bugcheck record.
 *
 * The machine owns everything of the hardware; there is no global state, and any number of
 * machines can live in one host process. The machine's memory may be read and written by
 * several host threads; each CPU belongs to one host thread at a time.
 */
#ifndef NTMM_HW_MACHINE_H
#define NTMM_HW_MACHINE_H

#include <ntmm/ntmm_bugcheck.h>

#include "hw/cpu.h"
#include "hw/phys.h"

typedef struct hw_machine {
    hw_phys_t phys;
    hw_cpu_t *cpus;
    unsigned cpu_count;
    unsigned phys_bits;          /* MAXPHYADDR */
    uint32_t features_absent;    /* NTMM_HW_NO_* */
    ntmm_bugcheck_t bugcheck;    /* the first bugcheck, if the machine has stopped */
} hw_machine_t;

/* Creates a machine. NTMM_STATUS_INVALID_PARAMETER for a bad configuration (its fields are
 * checked one by one), NTMM_STATUS_NO_MEMORY if the host refuses memory. */
ntmm_status_t hw_machine_create(const ntmm_hw_config_t *cfg, hw_machine_t **out);
void hw_machine_destroy(hw_machine_t *m);

static inline bool hw_machine_has(const hw_machine_t *m, uint32_t no_feature_bit)
{
    return (m->features_absent & no_feature_bit) == 0;
}

/* Validates physical memory and every CPU's TLB and derived paging state. On failure raises
 * a bugcheck (WHEA_UNCORRECTABLE_ERROR, parameter 1 says which structure) and returns false. */
bool hw_machine_check(hw_machine_t *m);

#endif /* NTMM_HW_MACHINE_H */
