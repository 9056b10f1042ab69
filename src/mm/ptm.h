/*
 * ptm.h - page-table management: the page-table pages of an address space, taken from and
 * given back to the PFN database, the entries in them, and per-table entry counts.
 *
 * Models NT's MiMakePdeExistAndMakeValid / MiMakeSystemAddressValid (tables created on
 * demand), MiGetPteAddress and friends (finding an entry), MI_WRITE_VALID_PTE /
 * MI_WRITE_INVALID_PTE (writing one), MI_INCREMENT_USED_PTES_BY_HANDLE /
 * MI_DECREMENT_USED_PTES_BY_HANDLE ("UsedPageTableEntries"), and MiDeletePageTablesForRange
 * (freeing tables that map nothing).
 *
 * Tables are reached by physical address: the memory manager does not need the self-map
 * (aspace.c installs it anyway, so the page tables appear at PTE_BASE as on Windows). Entry
 * levels are the SDM's: 1 = PTE, 2 = PDE, 3 = PDPTE, 4 = PML4E, 5 = PML5E. A "table at level
 * l" holds entries of level l.
 *
 *   entry that points to a table (any level above 1), as ptm writes it:
 *     table physical address | P | R/W | U/S     (user space)
 *     table physical address | P | R/W           (system space: supervisor only)
 *     table physical address | P                 (PAE PDPTE: R/W and U/S are reserved there)
 *   an upper-level entry is 0, a table pointer as above, or (at a level that allows it) a
 *   large-page leaf with PS = 1. Page-table pages are never paged out in ntmm (NT pages them),
 *   so a not-present upper entry is always 0.
 *
 * Each table frame's PFN entry (use NTMM_USE_PAGE_TABLE, share 1, reference 1) has pte_pa =
 * the physical address of the entry that maps the table (NT's PteAddress / PteFrame), so
 * mm_pfn_check proves the tree from below. The top-level table's pte_pa is its own self-map
 * entry, as NT's is; the PAE PDPT, which no entry maps, has pte_pa = 0.
 *
 * Entry counts. NT counts the valid PTEs of a page table in the share count of the table
 * page's PFN entry and the non-zero ones in UsedPageTableEntries (a per-process array indexed
 * by PDE on x86; a field of the table page's MMPFN since Windows 8). ntmm keeps both numbers
 * per table frame in a side array of the system space (mm_ptm_counts_t, indexed by frame
 * number), because mm_pfn_t has no room for them in an ACTIVE frame and its share count already
 * means "PTEs mapping this frame" (one: the parent entry). Every entry written through
 * mm_ptm_write updates them; a table whose used count is 0 holds only zeros and may be freed.
 * Writes that bypass mm_ptm_write break them; mm_aspace_check finds that. (One such writer
 * exists: repurposing a standby frame restores its PTE's original_pte in pfn_list.c; that keeps
 * the used count only if original_pte is non-zero, as NT's always is: a demand-zero, page-file
 * or prototype PTE.)
 *
 * Locking. The tables of a process's user space are covered by its address-space lock
 * (mm_aspace_lock, NT's working-set lock); the kernel tables and the system-space entries of
 * every process's top-level table by the system-space lock (mm_system_lock). Every function
 * here that takes a va expects the lock for that va held by the caller: the address-space lock
 * for a user va, the system-space lock for a system va. Functions that allocate or free table
 * frames take the PFN lock themselves, after those (lock order: address space -> system space
 * -> PFN). Entry loads and stores are single atomic 4- or 8-byte accesses (stores with release
 * order), because another host thread's CPU may walk the tables at any time; the hardware's A/D
 * updates are atomic ORs, so mm_ptm_write returns the previous contents with A/D included.
 *
 * Bad input (a va outside the mode's address space, in the self-map window, or in user space of
 * the System process) returns NTMM_STATUS_INVALID_PARAMETER. A corrupt tree raises
 * MEMORY_MANAGEMENT (0x1A) with the parameter-1 values below and returns
 * NTMM_STATUS_MACHINE_HALTED.
 */
#ifndef NTMM_MM_PTM_H
#define NTMM_MM_PTM_H

#include "hw/paging.h"
#include "mm/pfn.h"

/* MEMORY_MANAGEMENT parameter 1 values (Windows' own; see the bug check 0x1A reference). */
#define MM_BUGCHECK_PTE_PFN_MISMATCH 0x403u   /* a table's PFN entry disagrees with the tree: p2 entry pa, p3 entry, p4 PFN's pte_pa */
#define MM_BUGCHECK_PTE_CORRUPT      0x411u   /* a corrupt entry: p2 its physical address, p3 its contents, p4 expected */
#define MM_BUGCHECK_TABLE_CORRUPT    0x41790u /* a page-table page's counts are wrong, or it is freed in use: p2 frame, p3 count, p4 actual */

typedef struct mm_aspace mm_aspace_t;

/* Entries of one table frame. */
typedef struct mm_ptm_counts {
    uint16_t valid; /* entries with P = 1 (NT: the table page's share count, less one) */
    uint16_t used;  /* entries that are not 0 (NT: UsedPageTableEntries) */
} mm_ptm_counts_t;

/* ---- entries --------------------------------------------------------------------------------- */

/* One atomic load of the entry at entry_pa (4 or 8 bytes, the address space's mode). No lock. */
hw_pte_t mm_ptm_read(const mm_aspace_t *as, pa_t entry_pa);

/*
 * Stores value into the entry at entry_pa with one atomic exchange and returns the previous
 * contents (with any A/D bits the MMU set). Updates the valid/used counts of the table holding
 * the entry. If the entry is a system-space entry of the System process's top-level table (or,
 * in PAE, of one of its per-process page directories), the same value is copied into every
 * process (NT x86: the propagation of new system PDEs). Lock for the entry's va held.
 */
hw_pte_t mm_ptm_write(mm_aspace_t *as, pa_t entry_pa, hw_pte_t value);

/* Physical address of the table (or large page) an entry points to, in the address space's mode. */
pa_t mm_ptm_entry_pa(const mm_aspace_t *as, hw_pte_t e);

/* True if entry e at `level` maps a large page (P = 1, PS = 1, at a level that allows it). */
bool mm_ptm_is_large(const mm_aspace_t *as, hw_pte_t e, unsigned level);

/* Counts of table frame `table` (a frame that is not a table has zeros). */
mm_ptm_counts_t mm_ptm_counts(const mm_aspace_t *as, pfn_t table);

/* ---- finding and creating entries ------------------------------------------------------------ */

/*
 * The entry that decides va's translation, without creating anything: the PTE (*level = 1), a
 * large-page entry (*level > 1), or the not-present upper entry where the walk ends because a
 * table is missing (*level > 1, contents 0). For a system va the System process's tables are
 * walked. Returns 0 for an invalid va. Lock for va held.
 */
pa_t mm_ptm_lookup(mm_aspace_t *as, va_t va, unsigned *level);

/*
 * The physical address of va's entry at `level` (1: the PTE), creating the missing tables
 * above it from zeroed frames (NT: MiMakePdeExistAndMakeValid). A system va creates its tables
 * in the System process's tree, visible to every process (copied into each top-level table where
 * the entry is per process). Returns NTMM_STATUS_NO_MEMORY when a frame cannot be had (tables
 * created so far stay: they are empty and mm_ptm_free_range frees them),
 * NTMM_STATUS_CONFLICTING_ADDRESSES with *entry_pa = the large-page entry when a large page
 * above `level` maps va, NTMM_STATUS_INVALID_PARAMETER for a bad va or level. Lock for va held;
 * takes the PFN lock.
 */
ntmm_status_t mm_ptm_ensure(mm_aspace_t *as, va_t va, unsigned level, pa_t *entry_pa);

/*
 * Frees every page-table page reached from [start, end) that maps nothing (used count 0),
 * bottom-up, so a table emptied by freeing its children goes too; its parent entry becomes 0.
 * Never freed: top-level tables, PAE page directories, and the system tables preallocated under
 * the shared top-level entries. end 0 means the top of the address space. Returns the number
 * of frames freed in *freed (may be NULL). Lock for the range held (a range is user or system
 * space, not both); takes the PFN lock. NT: MiDeletePageTablesForRange / the page-table part of
 * MiDeleteVirtualAddresses.
 */
ntmm_status_t mm_ptm_free_range(mm_aspace_t *as, va_t start, va_t end, uint64_t *freed);

/* ---- walking a range ------------------------------------------------------------------------- */

#define MM_PTM_WALK_CREATE 0x1u /* create missing tables: every 4 KiB slot (or large page) is visited */
#define MM_PTM_WALK_HOLES  0x2u /* without CREATE: visit each missing table's not-present parent entry once */

/*
 * Called for each slot: va is the first address of [start, end) the entry covers, entry_pa the
 * entry, level its level (1: a PTE; above 1: a large-page entry, or with MM_PTM_WALK_HOLES a
 * hole). The visitor may read and write the entry (mm_ptm_write) but must not free tables.
 * Returning anything but NTMM_STATUS_SUCCESS stops the walk with that status.
 */
typedef ntmm_status_t (*mm_ptm_visit_t)(void *ctx, mm_aspace_t *as, va_t va, pa_t entry_pa, unsigned level);

/*
 * Visits the entries of [start, end) in address order (end 0: the top of the address space),
 * one table at a time (no walk from the root per page). Without MM_PTM_WALK_CREATE, slots
 * under missing tables are skipped (or reported once, with MM_PTM_WALK_HOLES). With it,
 * missing tables are created (NTMM_STATUS_NO_MEMORY stops the walk; CREATE over the self-map
 * window is NTMM_STATUS_INVALID_PARAMETER). The self-map entries are never followed: the window
 * has no slots of its own. A range is user or system space, not both. Lock for the range held;
 * takes the PFN lock to create tables.
 */
ntmm_status_t mm_ptm_walk(mm_aspace_t *as, va_t start, va_t end, unsigned flags, mm_ptm_visit_t visit, void *ctx);

/* ---- for aspace.c: table frames ---------------------------------------------------------------- */

/*
 * Takes a zeroed frame for a table at level `level` (NTMM_USE_PAGE_TABLE) whose PFN entry
 * points back at parent_pa, and points the parent entry at it with `flags`, under the PFN lock.
 * parent_pa == 0: nothing maps the table (the PAE PDPT). self_index >= 0: the parent entry is
 * entry self_index of the new table itself (a top-level table's self-map). The frame is below
 * 4 GiB when the mode needs it (x86 tables, the PAE PDPT: CR3 holds 32 bits). Owner's table
 * count grows by one. NTMM_STATUS_NO_MEMORY.
 */
ntmm_status_t mm_ptm_new_table(mm_aspace_t *owner, pa_t parent_pa, int self_index, hw_pte_t flags, pa_t *table);

/*
 * Frees table frame `table`, a table at `level` whose first entry maps va_base, after clearing
 * parent_pa's entry (0: none). Its user-space entries must not reference a frame: a valid entry,
 * or one whose frame's PFN entry points back at it (a transition PTE), raises MEMORY_MANAGEMENT
 * 0x41790; other non-zero entries (demand-zero and other software PTEs) are dropped. Its
 * system-space and self-map entries are copies and are dropped. Takes the PFN lock. The owner's
 * table count drops by one.
 */
ntmm_status_t mm_ptm_delete_table(mm_aspace_t *owner, pa_t parent_pa, pa_t table, unsigned level, va_t va_base);

/*
 * Frees every table below the top level reached from [start, end) whatever its counts, bottom-up,
 * as mm_ptm_delete_table does for each (PAE page directories excepted). Process teardown:
 * NT's MmCleanProcessAddressSpace / MiDeletePageTableHierarchy. Lock for the range held.
 */
ntmm_status_t mm_ptm_delete_range(mm_aspace_t *as, va_t start, va_t end);

#endif /* NTMM_MM_PTM_H */
