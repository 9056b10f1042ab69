/*
 * api.h - what the facade files of src/api share: the machine object behind ntmm_machine_t.
 * Internal to the api layer.
 */
#ifndef NTMM_API_API_H
#define NTMM_API_API_H

#include <ntmm/ntmm.h>

#include "host/host.h"
#include "mm/pfn.h"
#include "mm/vm.h"

struct ntmm_machine {
    hw_machine_t *hw;
    mm_pfndb_t pfndb;              /* the PFN database and page lists */
    ntmm_paging_mode_t paging;     /* the memory manager's paging mode */
    host_mutex_t *vm_lock;         /* guards the lazy creation of system space */
    mm_system_space_t *sys;        /* system space: built with the first process */
    mm_vm_t vm;
    uint64_t processes;            /* live processes */
};

/* Builds system space on first use (a machine used only as raw hardware never needs it). */
ntmm_status_t api_vm_ready(ntmm_machine_t *m);

/* Frees system space (processes must be gone). */
void api_vm_destroy(ntmm_machine_t *m);

/* The memory manager's process behind a process handle; STATUS_INVALID_HANDLE for NULL,
 * STATUS_MACHINE_HALTED after a bugcheck (process.c). */
ntmm_status_t api_process_mm(ntmm_process_t *process, mm_process_t **mm);

#endif /* NTMM_API_API_H */
