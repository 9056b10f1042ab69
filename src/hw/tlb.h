/*
 * tlb.h - a CPU's translation lookaside buffer.
 *
 * Direct-mapped, one set of entries per privilege view (supervisor with SMAP enforced,
 * supervisor without, user), so that an entry's tags are already the result of the rights
 * check for that view: a hit is one compare and one add (linear + addend = host pointer).
 * An entry caches one 4 KiB granule; a large page fills granules on demand and its extent is
 * remembered so that INVLPG anywhere inside it drops the whole page, as the SDM requires.
 *
 * As on hardware, an entry stays valid until it is invalidated: a page-table change without
 * INVLPG or a CR3 load leaves the old translation in use (a stale TLB entry). An access that
 * the cached rights do not allow misses and re-walks the tables, so a stale entry never
 * grants *less* than memory does, but may grant more. A #PF on a page drops its entries
 * (SDM 4.10.4.1), so after a fault the next access sees the tables as they are.
 */
#ifndef NTMM_HW_TLB_H
#define NTMM_HW_TLB_H

#include "base/base.h"

#define HW_TLB_SETS 3
#define HW_TLB_SET_SUPER_SMAP 0 /* supervisor; SMAP applies (or is off) */
#define HW_TLB_SET_SUPER      1 /* supervisor with RFLAGS.AC = 1: SMAP does not apply */
#define HW_TLB_SET_USER       2 /* CPL 3 */

#define HW_TLB_NO_TAG ((uint64_t)1) /* never equals a page-aligned address */

#define HW_TLBE_GLOBAL 0x1u

typedef struct hw_tlb_entry {
    uint64_t tag[3];      /* [ntmm_access_t]: the linear page if that kind may hit, else NO_TAG */
    uintptr_t addend;     /* host address of a byte = its linear address + addend */
    uint64_t va_page;     /* linear page this entry caches (HW_TLB_NO_TAG if empty) */
    uint64_t pa_page;     /* physical page it maps to */
    uint32_t flags;       /* HW_TLBE_* */
    uint32_t page_shift;  /* size of the page it came from: 12, 21, 22 or 30 */
    uint64_t pad;         /* to 64 bytes: the index scales by a shift, an entry fills a line */
} hw_tlb_entry_t;

#define HW_TLB_ENTRY_SHIFT 6u /* log2(sizeof(hw_tlb_entry_t)) */
_Static_assert(sizeof(hw_tlb_entry_t) == (1u << HW_TLB_ENTRY_SHIFT), "a TLB entry is one cache line");

typedef struct hw_tlb {
    hw_tlb_entry_t *sets[HW_TLB_SETS]; /* each `entries` long */
    uint64_t entries;                  /* a power of two */
    uint64_t large_lo, large_last;     /* linear extent of cached large pages [lo, last]; empty if lo > last */
} hw_tlb_t;

bool hw_tlb_init(hw_tlb_t *tlb, uint64_t entries);
void hw_tlb_destroy(hw_tlb_t *tlb);

/* Drops every entry (global ones too when `global`), as a CR4.PGE toggle or CR3 load does. */
void hw_tlb_flush(hw_tlb_t *tlb, bool global);

/* INVLPG: drops the translation of la's page in every set (the whole large page if inside one). */
void hw_tlb_invalidate(hw_tlb_t *tlb, uint64_t la);

/* Index of la's entry in a set. */
static inline uint64_t hw_tlb_index(const hw_tlb_t *tlb, uint64_t la)
{
    return (la >> NTMM_PAGE_SHIFT) & (tlb->entries - 1u);
}

/* Validates every entry: tags page-aligned or NO_TAG, consistent with va_page and the index. */
bool hw_tlb_check(const hw_tlb_t *tlb);

#endif /* NTMM_HW_TLB_H */
