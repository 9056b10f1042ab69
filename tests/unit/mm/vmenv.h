/*
 * vmenv.h - fixture of the VM tests: a 64 MiB machine with two CPUs, its PFN database,
 * system space and VM state, and one process loaded on both CPUs at CPL 3. Destroying it
 * checks that every frame, page table and commit charge came back.
 */
#ifndef NTMM_TEST_VMENV_H
#define NTMM_TEST_VMENV_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hw/access.h"
#include "mm/vm.h"

typedef struct vmenv {
    hw_machine_t *m;
    mm_pfndb_t db;
    mm_system_space_t *sys;
    mm_vm_t vm;
    mm_process_t *p;
    ntmm_memory_stats_t before;
} vmenv_t;

void vmenv_init(vmenv_t *e, ntmm_paging_mode_t mode, mm_layout_id_t layout);
void vmenv_check(vmenv_t *e);
void vmenv_destroy(vmenv_t *e);

#endif
