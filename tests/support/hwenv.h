/*
 * hwenv.h - a machine, its first CPU and a page-table builder, ready in one paging mode: the
 * fixture of the hardware tests, benchmarks and the walkthrough.
 *
 * Physical layout: page tables from [1 MiB, 9 MiB), data frames from 16 MiB up.
 */
#ifndef NTMM_TEST_HWENV_H
#define NTMM_TEST_HWENV_H

#include "hw/access.h"
#include "ptbuild.h"

#define HWENV_TABLES_LO 0x100000u
#define HWENV_TABLES_HI 0x900000u
#define HWENV_DATA      0x1000000u

typedef struct hwenv {
    hw_machine_t *m;
    hw_cpu_t *cpu;
    ptb_t b;
} hwenv_t;

/* Creates the machine (cfg may be NULL), builds an empty address space in `mode` and enters it.
 * Returns false if any step fails. */
bool hwenv_init(hwenv_t *e, ntmm_paging_mode_t mode, const ntmm_hw_config_t *cfg);
void hwenv_destroy(hwenv_t *e);

/* Reloads CR3 (flushes non-global TLB entries; reloads PAE's PDPTE registers). */
bool hwenv_reload_cr3(hwenv_t *e);

#endif /* NTMM_TEST_HWENV_H */
