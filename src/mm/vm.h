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

#include "base/bitmap.h"
#include "mm/aspace.h"
#include "mm/protect.h"
#include "mm/pte_sw.h"
#include "mm/vad.h"

/* A VAD whose every page was committed when it was reserved (NT: VadFlags.MemCommit): its
 * PTEs are created lazily, a zero PTE meaning "committed with the VAD's protection". */
#define MM_VAD_MEM_COMMIT 0x0100u

/* A thread's user stack (NT: the range between a TEB's DeallocationStack and StackBase, which
 * MiCheckForUserStackOverflow consults): a guard page touched in it moves down (mm/stack.h). */
#define MM_VAD_STACK 0x0200u

/* The allocation cannot be freed, decommitted, recommitted or reprotected by the process (NT:
 * VadFlags.NoChange, a secured VAD): KUSER_SHARED_DATA's user view. Such calls return
 * STATUS_INVALID_PAGE_PROTECTION (MiCheckSecuredVad). */
#define MM_VAD_NO_CHANGE 0x0400u

/*
 * Per-page state of a private VAD that the page tables cannot hold (NT keeps the write-watch
 * bits in the VAD's MI_PHYSICAL_VIEW bitmap, and locked pages in the working-set list, WSLE
 * LockedInWs). Hung off vad->owner, which private VADs do not otherwise use; created with a
 * MEM_WRITE_WATCH reservation or by the first NtLockVirtualMemory on the VAD, freed with the
 * VAD. Bit i stands for page base_vpn + i (base_vpn stays where the allocation began when a
 * partial release moves the VAD's start; the tail of a split gets a copy of its bits).
 *
 *   watch:  the page was written since the last reset (MEM_WRITE_WATCH VADs only). A valid PTE
 *           of a watched writable page whose bit is clear has R/W = 0, so the first write
 *           faults and mm_fault sets the bit and R/W (NT's write-watch fault path).
 *   locked: NtLockVirtualMemory(MAP_PROCESS) pinned the page: it stays valid until unlocked,
 *           decommitted, released, or made NOACCESS / guard (which takes it out of the working
 *           set and so unlocks it, as NT does); a trimmer must skip it (mm_vm_page_locked).
 *           mm_process_check: a locked page is valid.
 */
typedef struct mm_vm_vadx {
    vpn_t base_vpn;
    base_bitmap_t watch;
    base_bitmap_t locked;
} mm_vm_vadx_t;

/* The extension of a VAD, or NULL (none yet, or not private memory). */
static inline mm_vm_vadx_t *mm_vm_vadx(const mm_vad_t *vad)
{
    return vad->kind == MM_VAD_PRIVATE ? (mm_vm_vadx_t *)vad->owner : NULL;
}

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
    struct mm_thread *threads;     /* the threads with user stacks (mm/stack.h), address-space lock */
} mm_process_t;

/* The state of one page of a VAD, as the table at the top of this file decides it. */
typedef struct mm_vm_page {
    pa_t pte_pa;        /* 0: no page table holds the page's PTE yet */
    uint64_t pte;
    mm_pte_kind_t kind;
    bool committed;
    mm_prot_t prot;     /* of a committed page (guard included) */
    uint64_t span;      /* pages from this one on that share its state for certain: 1, or the
                           rest of a missing page table's span (no PTE exists there) */
} mm_vm_page_t;

/* Reads page va's state (address-space lock held). NT: MiQueryAddressState/MiGetPageProtection. */
void mm_vm_page_state(mm_process_t *p, const mm_vad_t *vad, va_t va, mm_vm_page_t *pg);

/* Posts an invalidation of va to every CPU of the machine (a TB-flush IPI): each CPU applies
 * it at its next access call or ntmm_cpu_poll (hw_cpu_poll). */
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

/*
 * The valid PTE for frame pfn at va of vad with protection prot: mm_pte_make_valid's, less
 * R/W while the page is watched and not yet written (address-space lock held).
 */
uint64_t mm_vm_valid_pte(mm_process_t *p, const mm_vad_t *vad, va_t va, pfn_t pfn, mm_prot_t prot);

/* Records a write to page va of vad: sets its write-watch bit and, if its PTE is valid with the
 * write-watch R/W = 0, gives it R/W (flushing every CPU's TLB). No-op outside write-watch
 * VADs. Address-space lock held. NT: MiCaptureWriteWatchDirtyBit. */
void mm_vm_watch_mark(mm_process_t *p, const mm_vad_t *vad, va_t va);

/* True if page va of vad is locked by NtLockVirtualMemory (address-space lock held). */
bool mm_vm_page_locked(const mm_vad_t *vad, va_t va);

/*
 * Commits pages [first, last] of vad with protection prot, as MEM_COMMIT on an existing
 * allocation does (charging the pages not yet committed; a committed page only changes
 * protection). Address-space lock held. STATUS_COMMITMENT_LIMIT, STATUS_NO_MEMORY.
 * For the fault handler's stack growth (NT: MiCheckForUserStackOverflow's commit).
 */
ntmm_status_t mm_vm_commit_locked(mm_process_t *p, mm_vad_t *vad, vpn_t first, vpn_t last, mm_prot_t prot);

/* mm_fault with p's address-space lock already held (for services that fault pages in). */
ntmm_status_t mm_fault_locked(mm_process_t *p, va_t va, ntmm_access_t access, bool user);

/*
 * NtGetWriteWatch's core: the pages of [base, base + size) written since the last reset, in
 * address order, up to *count of them into out[]; *count gets the number stored and
 * *granularity the page size. With NTMM_WRITE_WATCH_FLAG_RESET the pages examined up to the
 * last one stored (all of the range if out[] did not fill) are reset, as by
 * mm_vm_reset_write_watch. STATUS_INVALID_PARAMETER: flags other than the reset flag, size 0,
 * *count 0, a range not inside one MEM_WRITE_WATCH allocation (free, another VAD, past its
 * end). Takes the address-space lock.
 */
ntmm_status_t mm_vm_get_write_watch(mm_process_t *p, uint32_t flags, va_t base, uint64_t size, va_t *out,
                                    uint64_t *count, uint32_t *granularity);

/* NtResetWriteWatch's core: clears the write-watch bits of [base, base + size) and takes R/W
 * from those pages' valid PTEs (TLBs of every CPU flushed), so the next write is seen again.
 * STATUS_INVALID_PARAMETER as mm_vm_get_write_watch. Takes the address-space lock. */
ntmm_status_t mm_vm_reset_write_watch(mm_process_t *p, va_t base, uint64_t size);

#define MM_MAP_PROCESS 1u /* NtLockVirtualMemory MapType: lock in the working set */
#define MM_MAP_SYSTEM  2u /* lock in physical memory: needs SeLockMemoryPrivilege */

/*
 * NtLockVirtualMemory's core (MAP_PROCESS). *base rounds down and *size up to pages (out:
 * the range locked). Every page must be committed and readable: each is faulted in (user read),
 * then all are marked locked. Fails before locking anything: STATUS_ACCESS_VIOLATION (free,
 * reserved, decommitted or NOACCESS page), STATUS_GUARD_PAGE_VIOLATION (a guard page: its guard
 * is cleared, so a second call succeeds, GP-004), STATUS_NO_MEMORY. STATUS_INVALID_PARAMETER
 * for a map type other than MAP_PROCESS / MAP_SYSTEM, STATUS_PRIVILEGE_NOT_HELD for
 * MAP_SYSTEM, INVALID_PARAMETER_2 / _3 for a base / size outside the user space. Locking a
 * locked page again succeeds. Takes the address-space lock.
 */
ntmm_status_t mm_vm_lock(mm_process_t *p, va_t *base, uint64_t *size, uint32_t map_type);

/* NtUnlockVirtualMemory's core: every page of the range must be locked, else
 * STATUS_NOT_LOCKED and nothing changes. Statuses for arguments as mm_vm_lock. */
ntmm_status_t mm_vm_unlock(mm_process_t *p, va_t *base, uint64_t *size, uint32_t map_type);

/*
 * NtReadVirtualMemory / NtWriteVirtualMemory's core (MmCopyVirtualMemory): copies len bytes
 * from p's user memory at va into buf (read) or from buf into it (write; buf non-NULL when
 * len > 0) as the kernel does, without a CPU: p's page tables
 * are walked (mm_ptm_lookup) and a page that is not valid is faulted in through mm_fault's
 * resolvers (demand-zero, transition); a page that is free, reserved, NOACCESS, guard (the
 * guard is consumed, as the access would) or, for a write, not writable stops the copy.
 * Pages written are marked for write watch (WW-012) and get A/D set. *done = bytes copied.
 * STATUS_PARTIAL_COPY when the copy stops, even at 0 bytes (RW-003, RW-004, RW-008);
 * STATUS_ACCESS_VIOLATION when [va, va + len) wraps or leaves the user space (nothing copied).
 * Takes the address-space lock.
 */
ntmm_status_t mm_vm_read(mm_process_t *p, va_t va, void *buf, size_t len, size_t *done);
ntmm_status_t mm_vm_write(mm_process_t *p, va_t va, const void *buf, size_t len, size_t *done);

/* VAD tree, page tables and commit totals agree. Takes the address-space lock. */
bool mm_process_check(mm_process_t *p);

#endif /* NTMM_MM_VM_H */
