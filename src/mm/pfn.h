/*
 * pfn.h - the PFN database: one entry per physical frame, NT's page lists, and the frame
 * allocators behind one interface (Windows Internals 7th ed., part 1, ch. 5, "Page frame
 * number database"; NT's MMPFN, MMPFNLIST, MiInsertPageInList, MiRemoveAnyPage...).
 *
 * Every frame of the physical address space has an entry. A frame is in exactly one place:
 *
 *   location        on list   meaning
 *   ZEROED           yes*     free, known to hold zeros
 *   FREE             yes*     free, may hold an old owner's bytes (zeroed before reuse)
 *   STANDBY          yes      clean, still remembered by the PTE in pte_pa (transition PTE):
 *                             a fault can take it back without I/O until it is repurposed
 *   MODIFIED         yes      the same, but dirty: must be written out before reuse
 *   MODIFIED_NOWRITE yes      dirty, but the modified page writer must not write it yet
 *   BAD              yes      never handed out again
 *   ACTIVE           no       in use: share_count PTEs map it, reference_count pins it
 *   TRANSITION       no       in use by the memory manager itself for a moment (I/O in
 *                             progress, being zeroed); reference_count > 0 or ZEROING flag
 *   NOT_RAM          no       a hole, reserved or firmware range of the memory map: never used
 *   (*) with the NT-lists allocator; the bitmap and buddy allocators keep free frames in
 *       their own structures but set the same two locations.
 *
 * Locking: the PFN lock (mm_pfn_lock) covers every entry, every list and the allocator;
 * functions marked "PFN lock held" expect the caller to hold it (NT's OldIrql = MiLockPfnDatabase()).
 * Functions that do their own locking say so.
 *
 * Impossible requests (a frame freed twice, a count dropping below zero, a corrupt list)
 * raise a named bugcheck of the simulated machine (PFN_LIST_CORRUPT, PFN_SHARE_COUNT,
 * PFN_REFERENCE_COUNT) with NT's parameters, and return NTMM_STATUS_MACHINE_HALTED.
 */
#ifndef NTMM_MM_PFN_H
#define NTMM_MM_PFN_H

#include <ntmm/ntmm_mm.h>

#include "base/ilist.h"
#include "host/host.h"
#include "hw/machine.h"

/* Where a frame is (NT's MMLISTS, in NT's order, then ntmm's NOT_RAM). */
typedef enum mm_page_location {
    MM_ZEROED = 0,
    MM_FREE = 1,
    MM_STANDBY = 2,
    MM_MODIFIED = 3,
    MM_MODIFIED_NOWRITE = 4,
    MM_BAD = 5,
    MM_ACTIVE = 6,
    MM_TRANSITION = 7,
    MM_NOT_RAM = 8,
    MM_LOCATION_COUNT = 9,
} mm_page_location_t;

#define MM_LIST_COUNT 6 /* ZEROED .. BAD have list heads */

/* What a frame is used for, as RAMMap's "Use" columns show it (ntmm_mm.h: NTMM_USE_*). */
typedef ntmm_page_use_t mm_page_use_t;

/* Flags of an entry (NT: MMPFNENTRY bits). */
#define MM_PFN_MODIFIED          0x0001u /* the frame's contents differ from its backing store */
#define MM_PFN_READ_IN_PROGRESS  0x0002u /* a hard fault is reading it in */
#define MM_PFN_WRITE_IN_PROGRESS 0x0004u /* the modified page writer is writing it out */
#define MM_PFN_PROTOTYPE         0x0008u /* pte_pa is a prototype PTE (a section's), not a process PTE */
#define MM_PFN_REMOVAL_REQUESTED 0x0010u /* goes to the bad list when it is released */
#define MM_PFN_ZEROING           0x0020u /* taken by the zeroing step; given back zeroed */
#define MM_PFN_LARGE_PAGE        0x0040u /* part of a large-page run (contiguous allocation) */
#define MM_PFN_DELETED           0x0080u /* no PTE references it any more: freed at zero counts */
#define MM_PFN_NOWRITE           0x0100u /* dirty but not to be written: MODIFIED_NOWRITE when released */

#define MM_NO_PFN ((pfn_t)BASE_ILIST_END)

/*
 * One entry, 32 bytes (under 0.8% of RAM). Fields by state:
 *
 *   field            ZEROED/FREE/BAD     STANDBY/MODIFIED*       ACTIVE / TRANSITION
 *   pte_pa           0                   the PTE remembering it   the PTE mapping it (0: none)
 *   original_pte     0                   PTE value to restore     PTE value to restore
 *                                        when repurposed          when it leaves memory
 *   u1 (mm_pfn_flink)   next on the list  next on the list        share_count (mm_pfn_share)
 *   u2 (mm_pfn_blink)   prev on the list  prev on the list        0 (working-set index, later)
 *   reference_count  0                   0                        >= 1 while in use
 *
 * While a frame is ZEROED or FREE, u1, u2, `order` and `spare` belong to the allocator that
 * holds it: NT lists link through u1/u2; the bitmap allocator uses none; the buddy allocator
 * links its free blocks through u1/u2, keeps a block's order in its first frame's `order`
 * and marks block heads in `spare`. Nothing else writes them then.
 *
 * Frame numbers are below 2^32 - 1 (16 TiB of physical address space): list links are 32 bits.
 */
typedef struct mm_pfn {
    uint64_t pte_pa;          /* physical address of the PTE that maps or remembers the frame */
    uint64_t original_pte;    /* the PTE's contents before the frame was brought in */
    uint32_t u1;              /* list link (flink) or share count: see mm_pfn_flink / mm_pfn_share */
    uint32_t u2;              /* list link (blink) */
    uint16_t reference_count; /* pins: a mapping PTE's hold, I/O, locked pages */
    uint8_t location;         /* mm_page_location_t */
    uint8_t use;              /* mm_page_use_t */
    uint16_t flags;           /* MM_PFN_* */
    uint8_t order;            /* free frames: the allocator's (buddy: log2 of the block it heads) */
    uint8_t spare;            /* free frames: the allocator's (buddy: block-head marker) */
} mm_pfn_t;

_Static_assert(sizeof(mm_pfn_t) == 32, "a PFN entry is 32 bytes");

struct mm_pfndb;

/*
 * A free-frame allocator: owns the frames that are FREE or ZEROED. The PFN layer gives it
 * frames that became free and takes frames from it; all calls hold the PFN lock.
 */
typedef struct mm_falloc_ops {
    const char *name;
    /* Before any give: the entries exist but hold zeros (their locations are not set yet). */
    ntmm_status_t (*init)(struct mm_pfndb *db);
    void (*destroy)(struct mm_pfndb *db);
    /* Takes a free frame that is on no list; sets its location to ZEROED or FREE. */
    void (*give)(struct mm_pfndb *db, pfn_t pfn, bool zeroed);
    /* Removes one frame, strictly preferring zeroed frames if want_zeroed and dirty ones
     * otherwise (the other kind only when none of the wanted kind is left); MM_NO_PFN if
     * none. *zeroed says whether it holds zeros. Location left as it was. */
    pfn_t (*take)(struct mm_pfndb *db, bool want_zeroed, bool *zeroed);
    /* Removes the given frame, which is FREE or ZEROED. */
    void (*take_frame)(struct mm_pfndb *db, pfn_t pfn);
    /* Removes a run of n free frames starting at a multiple of align, ending at or below
     * highest; returns its first frame or MM_NO_PFN (then nothing changed). Locations are
     * left as they were, so the caller knows which frames still need zeroing. */
    pfn_t (*take_run)(struct mm_pfndb *db, pfn_t n, pfn_t align, pfn_t highest);
    /* Removes up to max frames that are FREE (not zeroed) into out[]; returns how many. */
    size_t (*take_dirty)(struct mm_pfndb *db, pfn_t *out, size_t max);
    uint64_t (*count)(const struct mm_pfndb *db, bool zeroed);
    uint64_t (*largest_run)(const struct mm_pfndb *db); /* longest run of free frames */
    /* Its own structures against the entries; on failure *bad names a frame (or MM_NO_PFN),
     * on success *bad is untouched. */
    bool (*check)(const struct mm_pfndb *db, pfn_t *bad);
} mm_falloc_ops_t;

extern const mm_falloc_ops_t mm_falloc_nt_lists; /* NT's zeroed and free lists (default) */
extern const mm_falloc_ops_t mm_falloc_bitmap;   /* seed 003: a bit per frame, two levels */
extern const mm_falloc_ops_t mm_falloc_buddy;    /* binary buddy: splitting and coalescing */

typedef struct mm_pfndb {
    hw_machine_t *machine;
    mm_pfn_t *pfn;                    /* [frames] */
    pfn_t frames;                     /* entries: the physical address space / 4 KiB */
    pfn_t ram_frames;                 /* frames that are RAM (not NOT_RAM) */
    base_ilist_t lists[MM_LIST_COUNT];/* by location; ZEROED/FREE used by the NT-lists allocator */
    base_ilist_shape_t shape;         /* how the lists find u1/u2 in the entries */
    const mm_falloc_ops_t *falloc;
    void *falloc_state;               /* the allocator's own structures */
    uint64_t by_use[NTMM_USE_COUNT];  /* frames per use (all locations but NOT_RAM) */
    unsigned pte_bytes;               /* 4 or 8: the size of the PTE at pte_pa */
    host_mutex_t *lock;               /* the PFN lock */
    ntmm_bugcheck_t *bugcheck;        /* the machine's */
    uint64_t zeroed_by_step;          /* frames the zeroing step has zeroed */
    uint64_t zeroed_on_demand;        /* frames zeroed synchronously for a zeroed request */
    uint64_t repurposed;              /* standby frames taken for new owners */
} mm_pfndb_t;

/*
 * Builds the database for machine m: NOT_RAM for frames the memory map does not give as
 * usable RAM (firmware ACPI ranges and physical page 0 are RAM but kept out: location ACTIVE,
 * use FIRMWARE), every other usable frame handed to the chosen allocator as ZEROED (fresh
 * RAM reads as zero).
 * pte_bytes is the PTE size of the paging mode the memory manager will use.
 */
ntmm_status_t mm_pfndb_init(mm_pfndb_t *db, hw_machine_t *m, ntmm_frame_allocator_t allocator,
                            unsigned pte_bytes);
void mm_pfndb_destroy(mm_pfndb_t *db);

static inline void mm_pfn_lock(mm_pfndb_t *db) { host_mutex_lock(db->lock); }
static inline void mm_pfn_unlock(mm_pfndb_t *db) { host_mutex_unlock(db->lock); }

static inline mm_pfn_t *mm_pfn_entry(const mm_pfndb_t *db, pfn_t pfn) { return &db->pfn[pfn]; }

/* The list shape with its stride and offsets as constants, so list operations compile to
 * shifts and adds (db->shape holds the same values for code that needs a pointer). */
#define MM_PFN_SHAPE(db) \
    (&(const base_ilist_shape_t){ (db)->pfn, sizeof(mm_pfn_t), offsetof(mm_pfn_t, u1), offsetof(mm_pfn_t, u2) })

/* Starts loading a frame's entry: batch callers (trimming, teardown) prefetch a few ahead. */
static inline void mm_pfn_prefetch(const mm_pfndb_t *db, pfn_t pfn)
{
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(&db->pfn[pfn], 1);
#else
    (void)db;
    (void)pfn;
#endif
}

/* State-specific views of the overlaid fields. */
static inline uint32_t mm_pfn_share(const mm_pfn_t *e) { return e->u1; }
static inline uint32_t mm_pfn_flink(const mm_pfn_t *e) { return e->u1; }
static inline uint32_t mm_pfn_blink(const mm_pfn_t *e) { return e->u2; }
static inline pfn_t mm_pfn_pte_frame(const mm_pfn_t *e) { return e->pte_pa >> NTMM_PAGE_SHIFT; }

/* --- allocation and release (PFN lock held) --------------------------------------------- */

typedef enum mm_alloc_kind {
    MM_ALLOC_ZEROED, /* demand-zero: the frame must read as zeros (NT: MiRemoveZeroPage) */
    MM_ALLOC_ANY,    /* the caller overwrites all of it (NT: MiRemoveAnyPage) */
} mm_alloc_kind_t;

/*
 * Takes a frame and makes it ACTIVE for `use` with share_count 1 and reference_count 1,
 * remembering the PTE that will map it (pte_pa, 0 if none) and that PTE's current contents
 * (original_pte). Order: for ZEROED the zeroed list, else a free frame zeroed now; for ANY a
 * free frame, else a zeroed one; then, for both, the oldest standby frame, repurposed: its
 * remembered PTE gets its original contents back (unhooked) and it is zeroed if asked.
 * NTMM_STATUS_NO_MEMORY if no frame can be had. NT: MiRemoveZeroPage/MiRemoveAnyPage +
 * MiInitializePfn.
 */
ntmm_status_t mm_pfn_allocate(mm_pfndb_t *db, mm_alloc_kind_t kind, mm_page_use_t use, pa_t pte_pa,
                              uint64_t original_pte, pfn_t *out);

/* Another PTE maps the frame (NT: share count ++). ACTIVE frames only. */
ntmm_status_t mm_pfn_add_share(mm_pfndb_t *db, pfn_t pfn);

/*
 * A PTE stops mapping the frame (NT: MiDecrementShareCount). At share count 0 the mapping's
 * hold on reference_count is dropped too (mm_pfn_remove_ref).
 */
ntmm_status_t mm_pfn_remove_share(mm_pfndb_t *db, pfn_t pfn);

/* Pins the frame (I/O, locked pages). ACTIVE or TRANSITION frames. */
ntmm_status_t mm_pfn_add_ref(mm_pfndb_t *db, pfn_t pfn);

/*
 * Drops a pin (NT: MiDecrementReferenceCount). At zero the frame goes where its state says:
 * BAD if removal was requested; FREE if it was deleted (no PTE remembers it); otherwise
 * MODIFIED (or MODIFIED_NOWRITE) if dirty, else STANDBY, still remembered by its PTE.
 */
ntmm_status_t mm_pfn_remove_ref(mm_pfndb_t *db, pfn_t pfn);

/* Marks the frame dirty: it differs from its backing store (NT: MI_SET_MODIFIED). */
ntmm_status_t mm_pfn_set_modified(mm_pfndb_t *db, pfn_t pfn, bool modified);

/*
 * The PTE that remembered the frame forgets it (a release or decommit): an ACTIVE frame is
 * freed when its counts reach zero; a STANDBY or MODIFIED frame goes to the free list now
 * (NT: MI_SET_PFN_DELETED + MiDecrementShareCount / MiUnlinkPageFromList + MiInsertPageInFreeList).
 */
ntmm_status_t mm_pfn_delete(mm_pfndb_t *db, pfn_t pfn);

/*
 * Frees an ACTIVE frame that one PTE maps and nothing else pins: delete, then drop the share
 * and the reference. Freeing a frame that is not ACTIVE (twice, say) is PFN_LIST_CORRUPT.
 */
ntmm_status_t mm_pfn_free(mm_pfndb_t *db, pfn_t pfn);

/*
 * A soft fault: takes a STANDBY or MODIFIED frame back into use (ACTIVE, share 1, ref 1), as
 * MiResolveTransitionFault does. The frame's PTE is the caller's to rewrite.
 */
ntmm_status_t mm_pfn_reclaim(mm_pfndb_t *db, pfn_t pfn);

/* The modified page writer wrote the frame: MODIFIED -> STANDBY, clean. */
ntmm_status_t mm_pfn_written(mm_pfndb_t *db, pfn_t pfn);

/*
 * Marks a frame bad: never handed out again. A free, zeroed or standby frame moves to the
 * BAD list now (a standby frame is unhooked first); an ACTIVE or MODIFIED frame when it is
 * released (REMOVAL_REQUESTED).
 */
ntmm_status_t mm_pfn_mark_bad(mm_pfndb_t *db, pfn_t pfn);

/*
 * n frames, physically contiguous, the first a multiple of align frames (a power of two), the
 * last at or below highest_pfn: the job of MmAllocateContiguousMemorySpecifyCache, and how
 * large pages get their frames. Each frame becomes ACTIVE for `use` (share 0, reference 1),
 * zeroed if asked. Free frames are used first; standby frames in the way are repurposed.
 * NTMM_STATUS_INVALID_PARAMETER for n == 0 or a bad alignment, NTMM_STATUS_NO_MEMORY if no
 * such run exists.
 */
ntmm_status_t mm_pfn_allocate_contiguous(mm_pfndb_t *db, pfn_t n, pfn_t align, pfn_t highest_pfn,
                                         mm_page_use_t use, bool zeroed, pfn_t *first);

/* Frees a run from mm_pfn_allocate_contiguous (each frame must be ACTIVE with reference 1, share 0). */
ntmm_status_t mm_pfn_free_contiguous(mm_pfndb_t *db, pfn_t first, pfn_t n);

/* --- background work (takes the PFN lock itself) ---------------------------------------- */

/*
 * The zero page thread's work as a step (NT: MmZeroPageThread): zeroes up to `budget` frames
 * from the FREE pool and gives them back ZEROED. The frames are zeroed outside the PFN lock
 * (marked ZEROING meanwhile), so the step can run on a host thread beside allocations.
 * Returns the number of frames zeroed.
 */
uint64_t mm_zero_step(mm_pfndb_t *db, uint64_t budget);

/* --- inspection (takes the PFN lock itself) --------------------------------------------- */

/*
 * The invariant checker: every frame in exactly one place, list counts and links consistent,
 * locations agree with the lists and the allocator, counts consistent with the state
 * (ACTIVE: reference >= 1 or share >= 1; lists: both 0), per-use totals, and every frame
 * with a PTE back-pointer actually referenced by that PTE (hardware or transition format:
 * the PTE's frame bits hold the frame). On failure raises PFN_LIST_CORRUPT (parameter 1:
 * 0x01 list head, 0x02 list entry, 0x99 entry state) and returns false.
 */
bool mm_pfn_check(mm_pfndb_t *db);

/* RAMMap-style figures: frames per location and per use. */
void mm_pfn_stats(mm_pfndb_t *db, ntmm_memory_stats_t *stats);

/* --- for allocators ---------------------------------------------------------------------- */

/* Sets location (and zero state) of a free frame: ZEROED or FREE. */
static inline void mm_pfn_set_free_location(mm_pfn_t *e, bool zeroed)
{
    e->location = zeroed ? MM_ZEROED : MM_FREE;
}

/*
 * Finds a run of n frames whose locations satisfy `ok` (first frame a multiple of align,
 * last <= highest), scanning the entries upward from the bottom; MM_NO_PFN if none.
 */
pfn_t mm_pfn_find_run(const mm_pfndb_t *db, pfn_t n, pfn_t align, pfn_t highest,
                      bool (*ok)(const mm_pfn_t *e));

#endif /* NTMM_MM_PFN_H */
