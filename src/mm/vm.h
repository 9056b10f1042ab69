/*
 * vm.h - a process's virtual memory: the machine-wide memory-manager state (mm_vm_t), the
 * process (mm_process_t), and NT's virtual-memory services on them (NtAllocateVirtualMemory,
 * NtFreeVirtualMemory, NtProtectVirtualMemory, NtQueryVirtualMemory) and the page-fault
 * handler (MmAccessFault).
 *
 * The state of a page lives where NT keeps it:
 *
 *   VAD              PTE                      state      protection
 *   none             -                        FREE       -
 *   MEM_COMMIT flag  0 (no PTE written yet)   COMMIT     the VAD's (AllocationProtect)
 *   no MEM_COMMIT    0                        RESERVE    -
 *   any              decommitted (MM_DECOMMIT) RESERVE    -
 *   any              demand-zero (protection) COMMIT     the PTE's protection (guard included)
 *   any              valid                    COMMIT     the PFN entry's original_pte protection
 *   any              transition / page file   COMMIT     the PTE's protection
 *
 * A committed page takes no frame until it is touched: the first access is a demand-zero
 * fault (mm_fault). Commit is charged per page against the system's commit limit when a page
 * becomes committed and returned when it is decommitted or released.
 *
 * Locking: a process's address-space lock (mm_aspace_lock) covers its VADs and its user page
 * tables; every function here takes it itself. The PFN lock is taken inside, never the other
 * way round (address space, then PFN). Commit accounting uses atomics.
 */
#ifndef NTMM_MM_VM_H
#define NTMM_MM_VM_H

#include <ntmm/ntmm_vm.h>

#include "mm/aspace.h"
#include "mm/protect.h"
#include "mm/pte_sw.h"
#include "mm/vad.h"

/* A VAD whose every page was committed when it was reserved (NT: VadFlags.MemCommit): its
 * PTEs are created lazily, a zero PTE meaning "committed with the VAD's protection". */
#define MM_VAD_MEM_COMMIT 0x0100u

/* The machine-wide memory-manager state the VM services need. */
typedef struct mm_vm {
    mm_pfndb_t *db;
    mm_system_space_t *sys;
    mm_pte_fmt_t fmt;              /* software PTE format of the paging mode */
    uint64_t commit_limit;         /* pages (RAM for now; page files add to it later) */
    uint64_t commit_total;         /* pages committed system-wide (atomic) */
    uint64_t commit_peak;
} mm_vm_t;

/* Fault counters of a process (GetProcessMemoryInfo's PageFaultCount and its parts). */
typedef struct mm_fault_counts {
    uint64_t faults;               /* every fault the memory manager handled */
    uint64_t demand_zero;          /* resolved with a zeroed frame */
    uint64_t transition;           /* resolved by taking a frame back from a page list (soft) */
    uint64_t guard;                /* STATUS_GUARD_PAGE_VIOLATION raised */
    uint64_t access_violations;    /* STATUS_ACCESS_VIOLATION raised */
} mm_fault_counts_t;

typedef struct mm_process {
    mm_vm_t *vm;
    mm_aspace_t *as;               /* page tables and the address-space lock */
    mm_vad_tree_t vads;
    uint64_t commit_charge;        /* pages charged to this process */
    uint64_t commit_peak;
    uint64_t private_pages;        /* frames mapped by private pages (the working set, for now) */
    mm_fault_counts_t counts;
} mm_process_t;

/* The state of one page of a VAD, as the table at the top of this file decides it. */
typedef struct mm_vm_page {
    pa_t pte_pa;        /* 0: no page table holds the page's PTE yet */
    uint64_t pte;
    mm_pte_kind_t kind;
    bool committed;
    mm_prot_t prot;     /* of a committed page (guard included) */
} mm_vm_page_t;

/* Reads page va's state (address-space lock held). NT: MiQueryAddressState/MiGetPageProtection. */
void mm_vm_page_state(mm_process_t *p, const mm_vad_t *vad, va_t va, mm_vm_page_t *pg);

/* Invalidates va in the TLB of every CPU of the machine. */
void mm_vm_flush_va(mm_process_t *p, va_t va);

/*
 * A thread of p at CPL 3 (user) or 0 reads, writes or fetches len bytes at va through `cpu`,
 * which must have p's address space loaded (mm_aspace_load). Page faults go to mm_fault and
 * the access is retried when it resolves them; otherwise the exception comes back in *er
 * (code, address information as Windows' EXCEPTION_RECORD carries it) and as the status, and
 * *done says how many bytes moved before it.
 */
ntmm_status_t mm_access(mm_process_t *p, hw_cpu_t *cpu, va_t va, void *buf, size_t len, ntmm_access_t access,
                        size_t *done, ntmm_exception_record_t *er);

/* Creates the VM state over a PFN database and system space; commit limit = usable RAM. */
void mm_vm_init(mm_vm_t *vm, mm_pfndb_t *db, mm_system_space_t *sys);

/* Creates a process with layout `layout` (mm_aspace_create) and an empty VAD tree. */
ntmm_status_t mm_process_create(mm_vm_t *vm, mm_layout_id_t layout, mm_process_t **out);

/* Releases every VAD (frames, commit), then the page tables and the process. NT: MmCleanProcessAddressSpace + MmDeleteProcessAddressSpace. */
ntmm_status_t mm_process_destroy(mm_process_t *p);

/*
 * NtAllocateVirtualMemory's core: reserve and/or commit (MEM_RESERVE, MEM_COMMIT, MEM_RESET,
 * MEM_RESET_UNDO, with MEM_TOP_DOWN, MEM_WRITE_WATCH). *base and *size are in/out as in NT:
 * on success the rounded base and size. Statuses as Windows returns them:
 * INVALID_PARAMETER_2 (base), _3 (zero_bits), _4 (size), _5 (type), INVALID_PAGE_PROTECTION,
 * CONFLICTING_ADDRESSES, NO_MEMORY, COMMITMENT_LIMIT, NOT_IMPLEMENTED (MEM_LARGE_PAGES,
 * MEM_PHYSICAL: not yet modelled). Takes the address-space lock.
 */
ntmm_status_t mm_vm_allocate(mm_process_t *p, va_t *base, uint64_t zero_bits, uint64_t *size, uint32_t type,
                             uint32_t protect);

/* NtFreeVirtualMemory's core: MEM_DECOMMIT or MEM_RELEASE. *base and *size in/out.
 * INVALID_PARAMETER_4 (type), MEMORY_NOT_ALLOCATED, UNABLE_TO_FREE_VM, FREE_VM_NOT_AT_BASE. */
ntmm_status_t mm_vm_free(mm_process_t *p, va_t *base, uint64_t *size, uint32_t type);

/* NtProtectVirtualMemory's core. *old receives the first page's protection (PAGE_NOACCESS when
 * the call fails on an uncommitted page). NOT_COMMITTED, CONFLICTING_ADDRESSES,
 * INVALID_PAGE_PROTECTION. */
ntmm_status_t mm_vm_protect(mm_process_t *p, va_t *base, uint64_t *size, uint32_t protect, uint32_t *old);

/* NtQueryVirtualMemory(MemoryBasicInformation)'s core: the run of pages from va's page that
 * share state, protection and allocation. INVALID_PARAMETER above the highest user address. */
ntmm_status_t mm_vm_query(mm_process_t *p, va_t va, ntmm_memory_basic_information_t *mbi);

/*
 * The page-fault handler (NT: MmAccessFault): resolves a #PF of kind `access` at va taken by
 * a thread of p (user: CPL 3). Returns STATUS_SUCCESS when the access can be retried, or the
 * exception to raise: STATUS_ACCESS_VIOLATION, STATUS_GUARD_PAGE_VIOLATION (the guard is
 * cleared first, so it is raised once), STATUS_NO_MEMORY / STATUS_IN_PAGE_ERROR.
 * Takes the address-space lock.
 */
ntmm_status_t mm_fault(mm_process_t *p, va_t va, ntmm_access_t access, bool user);

/* VAD tree, page tables and commit totals agree. Takes the address-space lock. */
bool mm_process_check(mm_process_t *p);

#endif /* NTMM_MM_VM_H */
