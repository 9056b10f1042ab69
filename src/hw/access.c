/* access.c - the TLB miss path and the out-of-line guest accesses (see access.h). */
#include "hw/access.h"

#include "hw/machine.h"

static unsigned access_set(const hw_cpu_t *cpu, unsigned acc)
{
    if (acc & HW_ACC_USER) return HW_TLB_SET_USER;
    if ((acc & HW_ACC_AC) && !(acc & HW_ACC_IMPLICIT)) return HW_TLB_SET_SUPER;
    (void)cpu;
    return HW_TLB_SET_SUPER_SMAP;
}

/* Flags for an access of `kind` (+ HW_ACC_IMPLICIT) by the CPU's current privilege. */
static unsigned access_flags(const hw_cpu_t *cpu, unsigned acc)
{
    if (acc & HW_ACC_IMPLICIT) return (acc & HW_ACC_KIND) | HW_ACC_IMPLICIT;
    return hw_cpu_acc(cpu, acc & HW_ACC_KIND);
}

/* The next linear address after la + n, wrapping at 4 GiB where linear addresses are 32 bits. */
static va_t access_advance(const hw_cpu_t *cpu, va_t la, uint64_t n)
{
    const hw_paging_mode_t *m = cpu->paging.mode;
    va_t next = la + n;
    return (m && m->canonical) ? next : (next & UINT32_MAX);
}

/*
 * Delivers a fault: #PF sets CR2 and, as the SDM requires (4.10.4.1), invalidates the TLB
 * entries for the faulting page, so a stale translation does not outlive a fault on it.
 */
static bool access_fault(hw_cpu_t *cpu, ntmm_fault_t *fault)
{
    if (fault->vector == NTMM_VEC_PF) {
        cpu->cr2 = fault->address;
        cpu->stats.page_faults++;
        hw_tlb_invalidate(&cpu->tlb, fault->address);
    }
    return false;
}

uint8_t *hw_tlb_fill(hw_cpu_t *cpu, va_t la, unsigned acc, ntmm_fault_t *fault)
{
    const hw_paging_ctx_t *ctx = &cpu->paging;
    hw_walk_t w;
    cpu->stats.tlb_misses++;
    if (!hw_walk(ctx, la, acc, &w, fault)) {
        access_fault(cpu, fault);
        return NULL;
    }
    if (!hw_phys_frame_present(ctx->phys, w.pa >> NTMM_PAGE_SHIFT)) {
        *fault = (ntmm_fault_t){ NTMM_VEC_MC, 0, w.pa, acc & HW_ACC_KIND };
        return NULL;
    }
    unsigned set = access_set(cpu, acc);
    uint64_t page = la & ~(uint64_t)NTMM_PAGE_MASK;
    hw_tlb_entry_t *e = &cpu->tlb.sets[set][hw_tlb_index(&cpu->tlb, la)];
    uint8_t *host_page = hw_phys_host(ctx->phys, w.pa & ~(uint64_t)NTMM_PAGE_MASK);
    e->va_page = page;
    e->pa_page = w.pa & ~(uint64_t)NTMM_PAGE_MASK;
    e->addend = (uintptr_t)host_page - (uintptr_t)page;
    e->flags = w.global ? HW_TLBE_GLOBAL : 0u;
    e->page_shift = (uint32_t)__builtin_ctzll(w.page_size);
    /* Cache every kind this view may use; writes only once the page is dirty. */
    unsigned base = acc & ~(HW_ACC_KIND | HW_ACC_INSPECT);
    for (unsigned k = 0; k < 3; k++) {
        bool ok = hw_walk_allows(ctx, &w, base | k) && (k != NTMM_ACCESS_WRITE || w.dirty || !ctx->mode);
        e->tag[k] = ok ? page : HW_TLB_NO_TAG;
    }
    if (w.page_size > NTMM_PAGE_SIZE) {
        /* inclusive bounds: a page at the top of the 64-bit space ends at 2^64 - 1 */
        uint64_t lo = la & ~(w.page_size - 1u), last = lo + (w.page_size - 1u);
        if (lo < cpu->tlb.large_lo) cpu->tlb.large_lo = lo;
        if (last > cpu->tlb.large_last) cpu->tlb.large_last = last;
    }
    return (uint8_t *)(uintptr_t)(la + e->addend);
}

static inline uint64_t access_load_sized(const uint8_t *p, unsigned size)
{
    switch (size) {
    case 1: return ntmm_le_load(p, 1);
    case 2: return ntmm_le_load(p, 2);
    case 4: return ntmm_le_load(p, 4);
    case 8: return ntmm_le_load(p, 8);
    default: return ntmm_le_load(p, size);
    }
}

static inline void access_store_sized(uint8_t *p, uint64_t v, unsigned size)
{
    switch (size) {
    case 1: ntmm_le_store(p, v, 1); break;
    case 2: ntmm_le_store(p, v, 2); break;
    case 4: ntmm_le_store(p, v, 4); break;
    case 8: ntmm_le_store(p, v, 8); break;
    default: ntmm_le_store(p, v, size); break;
    }
}

/* Host pointer for `size` bytes at la within one page: a TLB hit, else a fill. */
static uint8_t *access_page(hw_cpu_t *cpu, va_t la, unsigned acc, ntmm_fault_t *fault)
{
    unsigned kind = acc & HW_ACC_KIND;
    const hw_tlb_entry_t *e = &cpu->tlb.sets[access_set(cpu, acc)][hw_tlb_index(&cpu->tlb, la)];
    if (e->tag[kind] == (la & ~(uint64_t)NTMM_PAGE_MASK)) {
        HW_TLB_COUNT_HIT(cpu);
        return (uint8_t *)(uintptr_t)(la + e->addend);
    }
    return hw_tlb_fill(cpu, la, acc, fault);
}

/*
 * Host pointers for a scalar access of `size` bytes: one page, or two when it crosses; both
 * translated before any byte moves.
 */
static bool access_scalar(hw_cpu_t *cpu, va_t la, unsigned size, unsigned acc, uint8_t *p[2],
                          unsigned *first, ntmm_fault_t *fault)
{
    unsigned in_page = (unsigned)(NTMM_PAGE_SIZE - (la & NTMM_PAGE_MASK));
    *first = size <= in_page ? size : in_page;
    if (!(p[0] = access_page(cpu, la, acc, fault))) return false;
    p[1] = NULL;
    if (*first < size && !(p[1] = access_page(cpu, access_advance(cpu, la, *first), acc, fault)))
        return false;
    return true;
}

bool hw_load_slow(hw_cpu_t *cpu, va_t la, unsigned size, unsigned kind, uint64_t *value, ntmm_fault_t *fault)
{
    uint8_t *p[2], bytes[8];
    unsigned first;
    if (!access_scalar(cpu, la, size, access_flags(cpu, kind), p, &first, fault)) return false;
    if (NTMM_LIKELY(first == size)) {
        *value = access_load_sized(p[0], size);
        return true;
    }
    memcpy(bytes, p[0], first);
    memcpy(bytes + first, p[1], size - first);
    *value = ntmm_le_load(bytes, size);
    return true;
}

bool hw_store_slow(hw_cpu_t *cpu, va_t la, unsigned size, uint64_t value, ntmm_fault_t *fault)
{
    uint8_t *p[2], bytes[8];
    unsigned first;
    if (!access_scalar(cpu, la, size, access_flags(cpu, NTMM_ACCESS_WRITE), p, &first, fault)) return false;
    if (NTMM_LIKELY(first == size)) {
        access_store_sized(p[0], value, size);
        return true;
    }
    ntmm_le_store(bytes, value, size);
    memcpy(p[0], bytes, first);
    memcpy(p[1], bytes + first, size - first);
    return true;
}

bool hw_access_linear(hw_cpu_t *cpu, va_t la, void *buf, size_t len, unsigned acc, size_t *done,
                      ntmm_fault_t *fault)
{
    if (!(acc & HW_ACC_IMPLICIT) && hw_access_small(cpu, la, buf, len, acc)) {
        if (done) *done = len;
        return true;
    }
    unsigned flags = access_flags(cpu, acc);
    uint8_t *b = buf;
    size_t moved = 0;
    bool ok = true;
    while (moved < len) {
        size_t chunk = (size_t)(NTMM_PAGE_SIZE - (la & NTMM_PAGE_MASK));
        if (chunk > len - moved) chunk = len - moved;
        uint8_t *p = access_page(cpu, la, flags, fault);
        if (!p) {
            ok = false;
            break;
        }
        if ((flags & HW_ACC_KIND) == NTMM_ACCESS_WRITE) hw_copy_small(p, b + moved, chunk);
        else hw_copy_small(b + moved, p, chunk);
        moved += chunk;
        la = access_advance(cpu, la, chunk);
    }
    if (done) *done = moved;
    return ok;
}

bool hw_translate(hw_cpu_t *cpu, va_t la, unsigned acc, pa_t *pa, ntmm_fault_t *fault)
{
    unsigned flags = access_flags(cpu, acc);
    uint8_t *p = access_page(cpu, la, flags, fault);
    if (!p) return false;
    *pa = (pa_t)(p - cpu->paging.phys->ram);
    return true;
}
