/* tlb.c - TLB storage, flushes and invalidation (the hit path is inline in access.h). */
#include "hw/tlb.h"

#include "host/host.h"

static void tlb_clear_entry(hw_tlb_entry_t *e)
{
    e->tag[0] = e->tag[1] = e->tag[2] = HW_TLB_NO_TAG;
    e->va_page = HW_TLB_NO_TAG;
    e->flags = 0;
}

bool hw_tlb_init(hw_tlb_t *tlb, uint64_t entries)
{
    memset(tlb, 0, sizeof *tlb);
    if (!ntmm_is_pow2(entries) || entries < 2 || entries > (1u << 20)) return false;
    tlb->entries = entries;
    for (int s = 0; s < HW_TLB_SETS; s++) {
        tlb->sets[s] = host_calloc((size_t)entries, sizeof(hw_tlb_entry_t));
        if (!tlb->sets[s]) {
            hw_tlb_destroy(tlb);
            return false;
        }
    }
    hw_tlb_flush(tlb, true);
    return true;
}

void hw_tlb_destroy(hw_tlb_t *tlb)
{
    for (int s = 0; s < HW_TLB_SETS; s++) host_free(tlb->sets[s]);
    memset(tlb, 0, sizeof *tlb);
}

void hw_tlb_flush(hw_tlb_t *tlb, bool global)
{
    for (int s = 0; s < HW_TLB_SETS; s++)
        for (uint64_t i = 0; i < tlb->entries; i++) {
            hw_tlb_entry_t *e = &tlb->sets[s][i];
            if (global || !(e->flags & HW_TLBE_GLOBAL)) tlb_clear_entry(e);
        }
    if (global) {
        tlb->large_lo = UINT64_MAX; /* empty: lo > last */
        tlb->large_last = 0;
    }
}

void hw_tlb_invalidate(hw_tlb_t *tlb, uint64_t la)
{
    if (la >= tlb->large_lo && la <= tlb->large_last) {
        /* Inside a cached large page: its granules may sit anywhere; drop everything. */
        hw_tlb_flush(tlb, true);
        return;
    }
    uint64_t page = la & ~(uint64_t)NTMM_PAGE_MASK;
    uint64_t idx = hw_tlb_index(tlb, la);
    for (int s = 0; s < HW_TLB_SETS; s++)
        if (tlb->sets[s][idx].va_page == page) tlb_clear_entry(&tlb->sets[s][idx]);
}

bool hw_tlb_check(const hw_tlb_t *tlb)
{
    for (int s = 0; s < HW_TLB_SETS; s++)
        for (uint64_t i = 0; i < tlb->entries; i++) {
            const hw_tlb_entry_t *e = &tlb->sets[s][i];
            for (int k = 0; k < 3; k++)
                if (e->tag[k] != HW_TLB_NO_TAG && e->tag[k] != e->va_page) return false;
            if (e->va_page == HW_TLB_NO_TAG) continue;
            if ((e->va_page & NTMM_PAGE_MASK) || hw_tlb_index(tlb, e->va_page) != i) return false;
            if (e->page_shift > NTMM_PAGE_SHIFT &&
                (e->va_page < tlb->large_lo || e->va_page > tlb->large_last))
                return false;
        }
    return true;
}
