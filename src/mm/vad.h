/*
 * vad.h - virtual address descriptors: the per-process tree of reserved ranges (Windows
 * Internals 7th ed., part 1, ch. 5, "Virtual address descriptors"; NT's MMVAD / MMVAD_SHORT
 * in the process's VadRoot (an MM_AVL_TABLE), MiLocateAddress, MiCheckForConflictingNode,
 * MiInsertVad, MiRemoveVad, MiFindEmptyAddressRange and MiFindEmptyAddressRangeDownTree).
 *
 * A VAD describes one allocation: a run of pages [start_vpn, end_vpn] (inclusive, as NT's
 * StartingVpn / EndingVpn) that NtAllocateVirtualMemory(MEM_RESERVE) or a section view
 * made. Which of its pages are committed lives in the page tables, not here. The tree holds
 * the process's VADs in address order; everything not covered by a VAD is free:
 *
 *   lowest_vpn                                                            highest_vpn
 *   |  free  |### A ###|   free   |## B ##|#### C ####|        free              |
 *            ^start  end^                 ^ B and C touch: adjacent VADs are
 *                                           separate allocations, never merged
 *
 * Placement rules (Windows' own: windows-semantics.md VA-013, VA-014, VF-012):
 *   - a new reservation starts on the allocation granularity (64 KiB = 16 pages) and ends
 *     on a page, so the rest of the last granule stays free but cannot start a new
 *     reservation; the free-range search measures gaps in pages and starts them on the
 *     granule;
 *   - an existing VAD may start anywhere: releasing the front of an allocation leaves its
 *     remainder as an allocation of its own, based where the remainder begins (VF-012), and
 *     a new reservation may then start at the granule the remainder no longer covers.
 *
 * Free-range search in O(log n): each VAD records the usable pages of the free run just
 * below it (from the first granule boundary after its predecessor's end to its own start,
 * `gap_`), and each subtree the largest of those (`max_gap_`), kept by the AVL tree's
 * augmentation. NT walks the VADs one by one (MiFindEmptyAddressRangeInTree); the answer is
 * the same: the lowest (bottom-up) or highest (MEM_TOP_DOWN) fitting start.
 *
 * Locking: the tree and every VAD in it are protected by the owning process's address-space
 * lock (NT's AddressCreationLock, taken by NtAllocateVirtualMemory, NtFreeVirtualMemory,
 * NtQueryVirtualMemory ...). Every function here expects the caller to hold it: lookups
 * (including mm_vad_find, which stores the hint with a relaxed atomic store, as NT updates
 * NodeHint under the shared lock) need it at least shared; anything that changes the tree
 * needs it exclusive. Nothing here takes a lock or allocates memory: the caller owns the
 * mm_vad_t storage.
 */
#ifndef NTMM_MM_VAD_H
#define NTMM_MM_VAD_H

#include <stdbool.h>
#include <stdint.h>

#include <ntmm/ntmm_status.h>

#include "base/avl.h"
#include "base/base.h"

/* What a VAD maps (NT: VadFlags.PrivateMemory, VadType VadImageMap; MEMORY_BASIC_INFORMATION
 * Type MEM_PRIVATE / MEM_MAPPED / MEM_IMAGE). MAPPED and IMAGE are filled in with sections. */
typedef enum mm_vad_kind {
    MM_VAD_PRIVATE = 0,
    MM_VAD_MAPPED = 1,
    MM_VAD_IMAGE = 2,
} mm_vad_kind_t;

/* mm_vad_t.flags (NT: the VadType values and MMVAD_FLAGS bits they stand for). */
#define MM_VAD_WRITE_WATCH 0x0001u /* MEM_WRITE_WATCH: writes are tracked (VadWriteWatch) */
#define MM_VAD_LARGE_PAGES 0x0002u /* MEM_LARGE_PAGES (VadLargePages) */
#define MM_VAD_PHYSICAL    0x0004u /* MEM_PHYSICAL, AWE (VadAwe) */
#define MM_VAD_TOP_DOWN    0x0008u /* placed by a MEM_TOP_DOWN search */
/* 0x0010 .. 0x8000_0000: free for later issues (NoChange, placeholders, rotate ...) */

#define MM_VAD_GRANULE_PAGES 16u /* 64 KiB allocation granularity, in pages */
#define MM_VAD_GRANULARITY   ((uint64_t)MM_VAD_GRANULE_PAGES << NTMM_PAGE_SHIFT)

typedef struct mm_vad {
    base_avl_node_t node;   /* in the process's tree, ordered by start_vpn (NT: VadNode) */
    vpn_t start_vpn;        /* first page (NT: StartingVpn); the AllocationBase */
    vpn_t end_vpn;          /* last page, inclusive (NT: EndingVpn) */
    uint64_t commit_charge; /* committed pages charged to this VAD (NT: VadFlags.CommitCharge);
                               kept by the caller, never read by the tree */
    void *owner;            /* the section / control area of a mapped or image view, later
                               (NT: Subsection / ControlArea); NULL for private memory */
    uint32_t protection;    /* the PAGE_* value given at reservation (AllocationProtect) */
    uint32_t flags;         /* MM_VAD_* */
    mm_vad_kind_t kind;
    /* owned by the tree (free-range summaries), meaningless outside it: */
    uint64_t gap_;          /* usable free pages just below start_vpn (see above) */
    uint64_t max_gap_;      /* the largest gap_ in this VAD's subtree */
} mm_vad_t;

typedef struct mm_vad_tree {
    base_avl_tree_t avl; /* the VADs by address (NT: VadRoot) */
    mm_vad_t *hint;      /* the VAD last found or inserted, or NULL (NT: VadRoot.NodeHint);
                            read and written with relaxed atomics */
    vpn_t lowest_vpn;    /* the first usable page of the user address space */
    vpn_t highest_vpn;   /* the last usable page (inclusive) */
} mm_vad_tree_t;

#define MM_VAD_FROM_NODE(n) BASE_AVL_ENTRY(n, mm_vad_t, node)

/* --- the tree ------------------------------------------------------------------------------ */

/*
 * An empty tree for a user address space of pages [lowest_vpn, highest_vpn] (the caller's
 * process layout, e.g. 0x10 .. 0x7FFFFFFEF for a 64-bit process: MM_LOWEST_USER_ADDRESS
 * 0x10000 to MM_HIGHEST_VAD_ADDRESS 0x7FFFFFFEFFFF). Pre: lowest_vpn <= highest_vpn.
 */
void mm_vad_tree_init(mm_vad_tree_t *t, vpn_t lowest_vpn, vpn_t highest_vpn);

/* Empties the tree in O(n), calling fn(vad, ctx) on every VAD (which may free it); fn may be
 * NULL. For process teardown (NT: MmCleanProcessAddressSpace's VAD loop). */
void mm_vad_tree_drain(mm_vad_tree_t *t, void (*fn)(mm_vad_t *vad, void *ctx), void *ctx);

static inline uint64_t mm_vad_count(const mm_vad_tree_t *t) { return base_avl_count(&t->avl); }

/* Fills a VAD for [start_vpn, end_vpn] with no commit, no owner and not in a tree. */
void mm_vad_init(mm_vad_t *vad, vpn_t start_vpn, vpn_t end_vpn, mm_vad_kind_t kind, uint32_t protection,
                 uint32_t flags);

static inline uint64_t mm_vad_pages(const mm_vad_t *vad) { return vad->end_vpn - vad->start_vpn + 1u; }
static inline va_t mm_vad_base(const mm_vad_t *vad) { return vad->start_vpn << NTMM_PAGE_SHIFT; }

/* --- lookups ------------------------------------------------------------------------------- */

/* The VAD containing vpn, or NULL. Tries the hint first; a hit becomes the new hint.
 * O(log n). (MiLocateAddress.) */
mm_vad_t *mm_vad_find(mm_vad_tree_t *t, vpn_t vpn);

/* The VAD containing vpn or else the first one above it; NULL if none. O(log n).
 * (NtQueryVirtualMemory's walk for MEM_FREE regions; MiLocateAddress's "next" case.) */
mm_vad_t *mm_vad_find_at_or_above(const mm_vad_tree_t *t, vpn_t vpn);

/* The lowest VAD that overlaps [first, last], or NULL if the range is free.
 * Pre: first <= last. O(log n). (MiCheckForConflictingNode / MiCheckForConflictingVadExistence.) */
mm_vad_t *mm_vad_conflict(const mm_vad_tree_t *t, vpn_t first, vpn_t last);

/*
 * The free run of pages containing vpn: true with [*first, *last] the whole run between
 * the neighbouring VADs (or the limits); false if vpn is inside a VAD or outside the limits.
 * Page-exact, not granule-rounded (VirtualQuery's MEM_FREE region). O(log n).
 */
bool mm_vad_free_range(const mm_vad_tree_t *t, vpn_t vpn, vpn_t *first, vpn_t *last);

/* In address order: the lowest / highest VAD, the next / previous one; NULL at the end. */
mm_vad_t *mm_vad_first(const mm_vad_tree_t *t);
mm_vad_t *mm_vad_last(const mm_vad_tree_t *t);
mm_vad_t *mm_vad_next(const mm_vad_t *vad);
mm_vad_t *mm_vad_prev(const mm_vad_t *vad);

/* --- changes ------------------------------------------------------------------------------- */

/*
 * Inserts vad (range set, not in a tree) and makes it the hint. O(log n). (MiInsertVad.)
 *   STATUS_INVALID_PARAMETER         start_vpn > end_vpn, or the range leaves the limits
 *                                    (the API has refused such input with its own
 *                                    parameter-specific status before)
 *   STATUS_CONFLICTING_ADDRESSES     the range overlaps a VAD in the tree
 * On failure the tree is unchanged.
 */
ntmm_status_t mm_vad_insert(mm_vad_tree_t *t, mm_vad_t *vad);

/* Unlinks vad (which is in t); the caller frees it. O(log n). (MiRemoveVad.) */
void mm_vad_remove(mm_vad_tree_t *t, mm_vad_t *vad);

/* What mm_vad_split left of a VAD. */
typedef enum mm_vad_split_result {
    MM_VAD_SPLIT_NONE_LEFT = 0, /* the whole VAD was released: it is out of the tree */
    MM_VAD_SPLIT_KEPT_HIGH = 1, /* the front was released: vad now starts after it */
    MM_VAD_SPLIT_KEPT_LOW = 2,  /* the end was released: vad now ends before it */
    MM_VAD_SPLIT_KEPT_BOTH = 3, /* the middle was released: vad holds the part below, `tail`
                                   (inserted) the part above */
} mm_vad_split_result_t;

/*
 * Releases pages [first, last] of vad, which is in t. Pre: vad->start_vpn <= first <= last
 * <= vad->end_vpn; for a middle part, `tail` is caller storage not in a tree.
 *
 *   vad  |AAAAAAAAAAAAAAAA|      release   result        vad / tail afterwards
 *        |AAAA....AAAAAAAA|      middle    KEPT_BOTH     |AAAA|  and |BBBBBBBB| (tail)
 *        |........AAAAAAAA|      front     KEPT_HIGH     |AAAAAAAA| based at its new start
 *        |AAAAAAAA........|      end       KEPT_LOW
 *        |................|      all       NONE_LEFT     vad out of the tree
 *
 * Each remaining part is an allocation of its own (its start is its AllocationBase), as
 * Windows keeps the remainder of a partial MEM_RELEASE (windows-semantics.md VF-012,
 * VF-015). The tail copies kind, protection, flags and owner; its commit_charge starts at 0
 * and moving charges between the parts is the caller's (it knows which pages were
 * committed). A VAD out of the tree stops being the hint. O(log n).
 */
mm_vad_split_result_t mm_vad_split(mm_vad_tree_t *t, mm_vad_t *vad, vpn_t first, vpn_t last, mm_vad_t *tail);

/* --- free-range search ---------------------------------------------------------------------- */

/*
 * zero_bits (NtAllocateVirtualMemory / NtMapViewOfSection's ZeroBits) to the highest
 * address an allocation may touch (inclusive), as Windows does it:
 *
 *   zero_bits        meaning                                           *highest
 *   0                no constraint                                     UINT64_MAX
 *   1 .. 21          count of high zero bits in a 32-bit address       2^(32 - zero_bits) - 1
 *                    (also on 64-bit: 1 means below 2 GiB)
 *   22 .. 31         refused                                           STATUS_INVALID_PARAMETER_3
 *   >= 32            64-bit and WoW64 processes (masks_allowed): a     all ones up to and
 *                    mask whose leading zeros count (0x1AAAAAAA ->     including its highest
 *                    below 2^29; 0xFFFFFFFF -> below 4 GiB)            set bit
 *                    native 32-bit processes: refused                  STATUS_INVALID_PARAMETER_3
 *
 * (windows-semantics.md ZB-001..ZB-005; zero_bits 21 leaves 2 KiB, so nothing fits:
 * STATUS_NO_MEMORY from the search.) Returns STATUS_SUCCESS or STATUS_INVALID_PARAMETER_3.
 */
ntmm_status_t mm_vad_zero_bits_limit(uint64_t zero_bits, bool masks_allowed, va_t *highest);

/* A free-range request (NtAllocateVirtualMemory(Ex) with a NULL base, MEM_ADDRESS_REQUIREMENTS). */
typedef struct mm_vad_gap_request {
    uint64_t size;      /* bytes, > 0; rounded up to pages */
    uint64_t alignment; /* bytes of the start's alignment: 0 for the 64 KiB granularity, else
                           a power of two >= 64 KiB (MEM_ADDRESS_REQUIREMENTS.Alignment) */
    va_t lowest;        /* lowest start address (LowestStartingAddress), a multiple of 64 KiB;
                           0: the bottom of the user space */
    va_t highest;       /* highest address the range may touch, inclusive
                           (HighestEndingAddress); 0: the top of the user space */
    uint64_t zero_bits; /* see mm_vad_zero_bits_limit; 0: none */
    bool masks_allowed; /* a 64-bit or WoW64 process: zero_bits >= 32 is a mask */
    bool top_down;      /* MEM_TOP_DOWN: the highest fit instead of the lowest */
} mm_vad_gap_request_t;

/*
 * Finds where a new reservation of req->size bytes goes: the lowest (or, top_down, the
 * highest) start page s such that s is a multiple of the alignment, pages [s, s + pages - 1]
 * are free, and the range lies within the tree's limits, [lowest, highest], and below the
 * zero_bits limit. Does not insert. O(log n) for the default alignment; a larger alignment
 * may visit gaps that are long enough but badly aligned.
 * (MiFindEmptyAddressRange / MiFindEmptyAddressRangeDownTree.)
 *   STATUS_SUCCESS                   *start_vpn set
 *   STATUS_INVALID_PARAMETER         size 0; alignment not 0 and not a power of two
 *                                    >= 64 KiB; lowest not a multiple of 64 KiB, above
 *                                    the user space, or above highest; highest above the
 *                                    user space (ZB-011, ZB-012)
 *   STATUS_INVALID_PARAMETER_3       zero_bits refused (mm_vad_zero_bits_limit)
 *   STATUS_NO_MEMORY                 no free range fits
 */
ntmm_status_t mm_vad_find_free(const mm_vad_tree_t *t, const mm_vad_gap_request_t *req, vpn_t *start_vpn);

/* --- validation ---------------------------------------------------------------------------- */

/*
 * The validator: the AVL invariants (order by start, balance, heights, parent links,
 * count), start <= end, every VAD within the limits, no two VADs overlapping, a known
 * kind, the free-range summaries equal to their definition, and the hint NULL or a VAD of
 * this tree. On failure returns false with the first offending VAD in *bad (NULL when the
 * tree itself is at fault); bad may be NULL. O(n). The caller raises the bugcheck
 * (MEMORY_MANAGEMENT) if it wants one.
 */
bool mm_vad_check(const mm_vad_tree_t *t, const mm_vad_t **bad);

#endif /* NTMM_MM_VAD_H */
