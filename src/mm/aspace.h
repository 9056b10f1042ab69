/*
 * aspace.h - address spaces: a process's page-table tree (NT's KPROCESS.DirectoryTableBase and
 * the page-table part of EPROCESS), and the system space every process shares.
 *
 * Models MmInitializeProcessAddressSpace / MmCreateProcessAddressSpace (a new top-level table
 * holding the system half), MmDeleteProcessAddressSpace and the page-table part of
 * MmCleanProcessAddressSpace (teardown), KiSwapProcess (loading CR3), and, on x86, the master
 * copy of the system page-directory entries (MmSystemPagePtes) kept in sync with every process.
 *
 * System space is one per machine and paging mode (mm_system_space_t). Its tables belong to the
 * System process (mm_system_aspace: NT's PsInitialSystemProcess, a top-level table with no user
 * space), and every process holds the same system-space entries:
 *
 *   mode     top level          system-space entries of a process's top level
 *   x64      PML4               256..511: copies of the System PML4's entries, each pointing to a
 *   LA57     PML5               PDPT (LA57: PML4) preallocated at system init and never freed:
 *                               a kernel table created later is found through these shared
 *                               tables by every process at once (Windows x64 does the same).
 *                               Entry 0x1ED is the process's own self-map instead.
 *   PAE      PDPT (4 entries)   a PDPT slot wholly in system space and without the self-map
 *                               (slot 2 under the 2 GB split) points to the System process's page
 *                               directory, shared. The slot holding the self-map (3: 0xC0000000)
 *                               has a page directory per process, because PDEs 0x600-0x603 map
 *                               the process's own four directories; its system PDEs are copies.
 *   x86      PD                 PDEs 0x200-0x3FF (0x300-0x3FF with 3 GB user): copies of the
 *                               System process's PDEs; PDE 0x300 is the process's self-map.
 *
 * Copies are kept equal eagerly: a system-space entry of the System process's top level (or of
 * its PAE self-map directory) is only ever written through mm_ptm_write, which writes the same
 * value into every process on the system's list, under the system-space lock. NT x86 instead
 * copies a missing system PDE lazily in the page-fault handler; ntmm has no such handler to
 * lean on yet, and the eager copy costs one entry write per process only when a new system page
 * table appears (rare: the system tables live as long as the system). The alternative the x64
 * scheme uses, preallocating every system page table, would take 2 MiB (x86) or 4 MiB (PAE) of
 * page tables up front, too much for small machines; for x64 it takes 255 frames (1 MiB), and no
 * copy ever has to change.
 *
 * Each address space installs Windows' self-map (x86 PDE 0x300, PAE PDEs 0x600-0x603, x64 and
 * LA57 top-level entry 0x1ED; from the layout's PTE_BASE), so its page tables appear at
 * PTE_BASE, readable at CPL 0 only.
 *
 * Locking: a process's user-space tables are covered by its address-space lock (mm_aspace_lock;
 * NT's process working-set lock), held by the caller of every ptm function on a user va.
 * System-space tables, the system-space entries of every process and the list of processes are
 * covered by the system-space lock (mm_system_lock; NT's system working-set lock). Lock order:
 * address space, then system space, then PFN. mm_aspace_create / mm_aspace_destroy take the
 * system-space and PFN locks themselves; the checkers take them too.
 */
#ifndef NTMM_MM_ASPACE_H
#define NTMM_MM_ASPACE_H

#include "hw/cpu.h"
#include "mm/layout.h"
#include "mm/pfn.h"
#include "mm/ptm.h"

/* System-space entries of a System-process table that every process holds a copy of. */
typedef struct mm_sys_copied {
    pa_t table;          /* the System process's table */
    uint8_t level;       /* the top level, or 2 for the PAE page directory holding the self-map */
    uint8_t pae_slot;    /* PAE page directory: its PDPT slot */
    uint16_t first, end; /* entries [first, end) map system space... */
    uint16_t skip_first, skip_end; /* ...except these, which are per process (self-map, own PAE PDs) */
} mm_sys_copied_t;

struct mm_system_space;

struct mm_aspace {
    struct mm_system_space *sys;
    const mm_layout_t *layout;
    const hw_paging_mode_t *mode;
    pa_t root;                 /* top-level table: PD (x86), PDPT (PAE), PML4, PML5 */
    uint64_t cr3;              /* DirectoryTableBase: what mm_aspace_load writes to CR3 */
    pa_t pae_pd[4];            /* PAE: the page directories the PDPTEs point to */
    uint8_t pae_own;           /* PAE: bit i set if directory i is this address space's own */
    bool system;               /* the System process (owner of the system-space tables) */
    host_mutex_t *lock;        /* the address-space lock */
    uint64_t table_frames;     /* page-table frames this address space owns (root included) */
    struct mm_aspace *next, *prev; /* the system's list of processes (system-space lock) */
};

typedef struct mm_system_space {
    mm_pfndb_t *db;
    hw_machine_t *machine;
    const hw_paging_mode_t *mode;
    const mm_layout_t *layout;        /* the System process's layout */
    const mm_layout_paging_t *paging; /* system_start, pte_base: every process's layout must agree */
    va_t system_start;                /* MmSystemRangeStart */
    va_t window_first, window_last;   /* the self-map window [PTE_BASE, PTE_BASE + size - 1] */
    unsigned self_level;              /* level of the table holding the self-map entries */
    unsigned self_slot;               /* PAE: the PDPT slot of that directory */
    unsigned self_first, self_count;  /* its self-map entries: 1 (4 in PAE) from self_first */
    host_mutex_t *lock;               /* the system-space lock */
    mm_ptm_counts_t *counts;          /* [db->frames]: entry counts of every table frame */
    size_t counts_bytes;
    mm_sys_copied_t copied[5];
    unsigned copied_count;
    struct mm_aspace master;          /* the System process */
    struct mm_aspace *processes;      /* first process (NULL-terminated list) */
    uint64_t process_count;
} mm_system_space_t;

/* ---- system space ----------------------------------------------------------------------------- */

/*
 * Builds the system space of db's machine for paging mode `mode` under layout `layout` (NT:
 * the System process's address space built in MmInitSystem): the System process's top-level
 * table with its self-map (PAE: the PDPT and its four page directories), and on x64/LA57 the
 * 255 tables under the shared top-level entries. NTMM_STATUS_INVALID_PARAMETER if the layout
 * does not run on the mode, the machine lacks it, or db's PTE size is not the mode's;
 * NTMM_STATUS_NO_MEMORY. Takes the PFN lock.
 */
ntmm_status_t mm_system_space_create(mm_pfndb_t *db, ntmm_paging_mode_t mode, mm_layout_id_t layout,
                                     mm_system_space_t **out);

/*
 * Frees every system table, the System process's top level and the object.
 * NTMM_STATUS_INVALID_PARAMETER (nothing freed) while processes remain; MEMORY_MANAGEMENT
 * 0x41790 if a system PTE still maps a frame (the object is freed all the same, the frames stay
 * with the halted machine). Takes the system-space and PFN locks.
 */
ntmm_status_t mm_system_space_destroy(mm_system_space_t *sys);

static inline mm_aspace_t *mm_system_aspace(mm_system_space_t *sys) { return &sys->master; }
static inline void mm_system_lock(mm_system_space_t *sys) { host_mutex_lock(sys->lock); }
static inline void mm_system_unlock(mm_system_space_t *sys) { host_mutex_unlock(sys->lock); }

/*
 * mm_aspace_check on the System process (all system tables) and on every process, and the
 * process list. Takes the system-space and PFN locks; the processes must be quiescent (their
 * address-space locks held by the caller, or nobody else running). Raises MEMORY_MANAGEMENT
 * and returns false on the first inconsistency.
 */
bool mm_system_space_check(mm_system_space_t *sys);

/* ---- process address spaces --------------------------------------------------------------------- */

/*
 * Creates a process address space with layout `layout`: a zeroed top-level table (PAE: a PDPT
 * below 4 GiB and its own page directories), the system-space entries copied from the System
 * process, and the self-map. The layout must run on the system's mode with the same system
 * start and PTE_BASE (a WOW64 process under a 64-bit system, a 2 GB x86 process under a 2 GB
 * system): NTMM_STATUS_INVALID_PARAMETER otherwise; NTMM_STATUS_NO_MEMORY. Takes the
 * system-space and PFN locks. NT: MmCreateProcessAddressSpace.
 */
ntmm_status_t mm_aspace_create(mm_system_space_t *sys, mm_layout_id_t layout, mm_aspace_t **out);

/*
 * Tears the address space down: removes it from the system's list, frees every user page table
 * (entries that still reference a frame raise MEMORY_MANAGEMENT 0x41790: the caller releases
 * the pages first; the object is freed all the same and the frames stay with the halted
 * machine), its own page directories and its top-level table, then the object. No CPU may have
 * it loaded. Takes the system-space and PFN locks. NT: MmDeleteProcessAddressSpace.
 */
ntmm_status_t mm_aspace_destroy(mm_aspace_t *as);

static inline void mm_aspace_lock(mm_aspace_t *as) { host_mutex_lock(as->lock); }
static inline void mm_aspace_unlock(mm_aspace_t *as) { host_mutex_unlock(as->lock); }

/* True if va is in system space (its tables are the System process's). */
static inline bool mm_aspace_is_system_va(const mm_aspace_t *as, va_t va) { return va >= as->sys->system_start; }

/*
 * The address space's invariants: every table frame it owns is ACTIVE, NTMM_USE_PAGE_TABLE,
 * share 1, reference 1, with pte_pa = the entry that maps it (the top level: its self-map
 * entry; the PAE PDPT: 0); the valid/used counts of each table match its entries; upper-level
 * entries are 0, table pointers or large pages; the self-map entries point at its own tables;
 * its system-space entries equal the System process's (A and D aside: the MMU sets them per
 * copy); the number of tables equals table_frames. Caller holds the address-space lock; takes
 * the system-space and PFN locks. Raises MEMORY_MANAGEMENT (0x403, 0x411 or 0x41790) and returns
 * false on the first inconsistency.
 */
bool mm_aspace_check(mm_aspace_t *as);

/*
 * Makes the address space current on cpu, as KiSwapProcess does: a CR3 write (PAE: which loads
 * the PDPTE registers; non-global TLB entries go), or hw_cpu_enter_paging when the CPU is not in
 * the address space's paging mode yet. False with *fault (#GP) if the CPU refuses. The CPU's
 * owner thread calls it.
 */
bool mm_aspace_load(const mm_aspace_t *as, hw_cpu_t *cpu, ntmm_fault_t *fault);

#endif /* NTMM_MM_ASPACE_H */
