/*
 * access.h - guest memory accesses by a CPU: the entry point the memory manager and embedders
 * use to read, write and fetch guest memory through the MMU.
 *
 * Two shapes:
 *  - scalar loads and stores of 1, 2, 4 or 8 bytes, like one instruction: a TLB hit is inline
 *    (one compare, one add, one host load); a miss or a page-crossing access goes out of line.
 *    An access that crosses a page translates both pages before touching either, so a fault
 *    leaves memory unchanged.
 *  - bulk copies of any length (like a string instruction or ReadProcessMemory): page by page,
 *    stopping at the first fault; *done says how many bytes were transferred before it.
 *
 * Both translate as the CPU's current privilege (CPL, RFLAGS.AC) unless HW_ACC_IMPLICIT asks
 * for an implicit supervisor access. Faults come back in an ntmm_fault_t; #PF also sets CR2.
 * Linear addresses wrap at 4 GiB in the 32-bit modes, as the processor's do.
 */
#ifndef NTMM_HW_ACCESS_H
#define NTMM_HW_ACCESS_H

#include "hw/cpu.h"

/*
 * TLB miss path: walks the tables for an access at la (flags acc), fills the entry of the set
 * the access uses, and returns the host pointer of la, or NULL with *fault set (#PF, #GP for a
 * non-canonical address, #MC for a frame that is not RAM).
 */
uint8_t *hw_tlb_fill(hw_cpu_t *cpu, va_t la, unsigned acc, ntmm_fault_t *fault);

/*
 * The TLB hit test: host pointer of la for `size` bytes of `kind`, or NULL on a miss or when
 * the access would cross into the next page. One compare covers both: the entry at la's
 * index only ever holds a page with that index, so its tag can equal the page of the access's
 * last byte only if that byte is in la's page. Expected cost: under 1 ns.
 */
/*
 * Hits are counted on the hit path only when NTMM_STATS is 1 (the default): the counter's
 * read-modify-write is a quarter of a store hit's cost, so benchmarks measure both ways.
 */
#if NTMM_STATS
#define HW_TLB_COUNT_HIT(cpu) ((cpu)->tlb_hits++)
#else
#define HW_TLB_COUNT_HIT(cpu) ((void)0)
#endif

static inline const hw_tlb_entry_t *hw_tlb_entry_for(const hw_cpu_t *cpu, va_t la)
{
    return (const hw_tlb_entry_t *)(const void *)((const uint8_t *)cpu->tlb_cur +
                                                  ((la >> (NTMM_PAGE_SHIFT - HW_TLB_ENTRY_SHIFT)) & cpu->tlb_index_mask));
}

static inline uint8_t *hw_tlb_lookup(hw_cpu_t *cpu, va_t la, unsigned kind, unsigned size)
{
    const hw_tlb_entry_t *e = hw_tlb_entry_for(cpu, la);
    if (NTMM_LIKELY(e->tag[kind] == ((la + size - 1u) & ~(uint64_t)NTMM_PAGE_MASK))) {
        HW_TLB_COUNT_HIT(cpu);
        return (uint8_t *)(uintptr_t)(la + e->addend);
    }
    return NULL;
}


/* The hit test and the host access in one, without a NULL test between them. */
#define HW_TLB_HIT(cpu, la, kind, size, e)                                                       \
    ((e) = hw_tlb_entry_for((cpu), (la)),                                                       \
     NTMM_LIKELY((e)->tag[(kind)] == (((la) + (size) - 1u) & ~(uint64_t)NTMM_PAGE_MASK)))

bool hw_load_slow(hw_cpu_t *cpu, va_t la, unsigned size, unsigned kind, uint64_t *value, ntmm_fault_t *fault);
bool hw_store_slow(hw_cpu_t *cpu, va_t la, unsigned size, uint64_t value, ntmm_fault_t *fault);

/* Loads `size` (1, 2, 4, 8) little-endian bytes at linear la. */
static inline bool hw_load(hw_cpu_t *cpu, va_t la, unsigned size, uint64_t *value, ntmm_fault_t *fault)
{
    const hw_tlb_entry_t *e;
    if (HW_TLB_HIT(cpu, la, NTMM_ACCESS_READ, size, e)) {
        HW_TLB_COUNT_HIT(cpu);
        *value = ntmm_le_load((const uint8_t *)(uintptr_t)(la + e->addend), size);
        return true;
    }
    return hw_load_slow(cpu, la, size, NTMM_ACCESS_READ, value, fault);
}

/* Stores the low `size` (1, 2, 4, 8) bytes of value at linear la. */
static inline bool hw_store(hw_cpu_t *cpu, va_t la, unsigned size, uint64_t value, ntmm_fault_t *fault)
{
    const hw_tlb_entry_t *e;
    if (HW_TLB_HIT(cpu, la, NTMM_ACCESS_WRITE, size, e)) {
        HW_TLB_COUNT_HIT(cpu);
        ntmm_le_store((uint8_t *)(uintptr_t)(la + e->addend), value, size);
        return true;
    }
    return hw_store_slow(cpu, la, size, value, fault);
}

static inline bool hw_load64(hw_cpu_t *cpu, va_t la, uint64_t *value, ntmm_fault_t *fault)
{
    const hw_tlb_entry_t *e;
    if (HW_TLB_HIT(cpu, la, NTMM_ACCESS_READ, 8, e)) {
        HW_TLB_COUNT_HIT(cpu);
        *value = ntmm_le_load((const uint8_t *)(uintptr_t)(la + e->addend), 8);
        return true;
    }
    return hw_load_slow(cpu, la, 8, NTMM_ACCESS_READ, value, fault);
}

static inline bool hw_store64(hw_cpu_t *cpu, va_t la, uint64_t value, ntmm_fault_t *fault)
{
    const hw_tlb_entry_t *e;
    if (HW_TLB_HIT(cpu, la, NTMM_ACCESS_WRITE, 8, e)) {
        HW_TLB_COUNT_HIT(cpu);
        ntmm_le_store((uint8_t *)(uintptr_t)(la + e->addend), value, 8);
        return true;
    }
    return hw_store_slow(cpu, la, 8, value, fault);
}

/* Instruction fetch of `size` bytes at la (execute permission, I/D in the error code). */
static inline bool hw_fetch(hw_cpu_t *cpu, va_t la, unsigned size, uint64_t *value, ntmm_fault_t *fault)
{
    const hw_tlb_entry_t *e;
    if (HW_TLB_HIT(cpu, la, NTMM_ACCESS_EXECUTE, size, e)) {
        HW_TLB_COUNT_HIT(cpu);
        *value = ntmm_le_load((const uint8_t *)(uintptr_t)(la + e->addend), size);
        return true;
    }
    return hw_load_slow(cpu, la, size, NTMM_ACCESS_EXECUTE, value, fault);
}

/*
 * Copies n bytes with a constant-length copy for the scalar sizes: a variable-length memcpy
 * of 8 bytes costs several times the access itself (gcc emits a rep movs with a large start-up
 * cost, or a library call).
 */
static inline void hw_copy_small(void *dst, const void *src, size_t n)
{
    switch (n) {
    case 1: memcpy(dst, src, 1); break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, n); break;
    }
}

/*
 * The fast path of a bulk access: 1..8 bytes within one page, an explicit access of kind
 * (an ntmm_access_t) that hits the current TLB set. Returns false, having done nothing, when
 * the general path must run.
 */
static inline bool hw_access_small(hw_cpu_t *cpu, va_t la, void *buf, size_t len, unsigned kind)
{
    const hw_tlb_entry_t *e;
    if (len - 1u >= 8u || !HW_TLB_HIT(cpu, la, kind, len, e)) return false;
    uint8_t *p = (uint8_t *)(uintptr_t)(la + e->addend);
    HW_TLB_COUNT_HIT(cpu);
    if (kind == NTMM_ACCESS_WRITE) hw_copy_small(p, buf, len);
    else hw_copy_small(buf, p, len);
    return true;
}

/*
 * Bulk access of len bytes at linear la. acc is an ntmm_access_t, optionally with
 * HW_ACC_IMPLICIT. For reads and fetches buf receives the bytes, for writes it supplies them.
 * Returns true if all len bytes were transferred; otherwise *fault describes the first fault
 * and *done (if not NULL) the bytes transferred before it.
 */
bool hw_access_linear(hw_cpu_t *cpu, va_t la, void *buf, size_t len, unsigned acc, size_t *done,
                      ntmm_fault_t *fault);

static inline bool hw_read_linear(hw_cpu_t *cpu, va_t la, void *buf, size_t len, size_t *done, ntmm_fault_t *f)
{
    return hw_access_linear(cpu, la, buf, len, NTMM_ACCESS_READ, done, f);
}

static inline bool hw_write_linear(hw_cpu_t *cpu, va_t la, const void *buf, size_t len, size_t *done,
                                   ntmm_fault_t *f)
{
    return hw_access_linear(cpu, la, (void *)(uintptr_t)buf, len, NTMM_ACCESS_WRITE, done, f);
}

/* Translates la for an access without transferring data (sets A/D like the access would). */
bool hw_translate(hw_cpu_t *cpu, va_t la, unsigned acc, pa_t *pa, ntmm_fault_t *fault);

#endif /* NTMM_HW_ACCESS_H */
