/*
 * layout.h - virtual address-space layouts as data: which ranges of the linear address space are
 * user space, system space, the page-table window of the self-map, and the no-access regions,
 * for each kind of process ntmm models.
 *
 * NT keeps these as boot-time globals and constants (MmSystemRangeStart, MmHighestUserAddress,
 * MmUserProbeAddress, MM_LOWEST_USER_ADDRESS, PTE_BASE, PDE_BASE, MM_SHARED_USER_DATA_VA);
 * ntmm keeps one read-only table per layout, so several layouts can coexist in one host process
 * (a native and a WOW64 process under one 64-bit system space, say).
 *
 *   32-bit Windows, 2 GB user (x86, PAE)          32-bit Windows /3GB, large-address-aware
 *   0xFFFFFFFF +----------------------------+      0xFFFFFFFF +----------------------------+
 *              | system space               |                 | system space               |
 *   0xC0000000 |  page tables (self-map)    |      0xC0000000 +- page tables (self-map) ---+
 *   0x80000000 +----------------------------+      0xBFFF0000 | 64 KB no-access            |
 *   0x7FFF0000 | 64 KB no-access            |                 | user space                 |
 *   0x7FFE0000 | KUSER_SHARED_DATA (in user)|      0x7FFE0000 |  KUSER_SHARED_DATA         |
 *              | user space                 |                 |                            |
 *   0x00010000 +----------------------------+      0x00010000 +----------------------------+
 *   0x00000000 | 64 KB NULL region          |      0x00000000 | 64 KB NULL region          |
 *
 *   64-bit Windows (x64; WOW64 processes use the same system space)
 *   0xFFFFFFFFFFFFFFFF +------------------------------+
 *   0xFFFFF78000000000 |  KUSER_SHARED_DATA (kernel)  |
 *   0xFFFFF68000000000 |  page tables (PML4 0x1ED)    |
 *   0xFFFF800000000000 +-- system space --------------+  (LA57: from 0xFF00000000000000,
 *                      | non-canonical                |   self-map at PML5 0x1ED)
 *   0x0000800000000000 +------------------------------+
 *   0x00007FFFFFFF0000 | 64 KB no-access              |
 *                      | user space (128 TB)          |   WOW64: user to 0x7FFEFFFF, or to
 *   0x0000000000010000 +------------------------------+   0xFFFEFFFF when large-address-aware
 *
 * A layout names the paging modes it runs on; values that depend on the mode (where system space
 * starts, the self-map window) are in a per-mode record (mm_layout_paging_t). Ranges nest: a
 * range either contains another or is disjoint from it, and the outermost ranges of a mode
 * cover the whole linear address space of that mode.
 *
 * Everything here is read-only static data: no locks.
 */
#ifndef NTMM_MM_LAYOUT_H
#define NTMM_MM_LAYOUT_H

#include <ntmm/ntmm_hw.h>

#include "base/base.h"

typedef enum mm_layout_id {
    MM_LAYOUT_X86 = 0,       /* 32-bit Windows: 2 GB user, 2 GB system (x86 or PAE paging) */
    MM_LAYOUT_X86_3GB = 1,   /* 32-bit Windows booted with 3 GB user space (increaseuserva), LAA process */
    MM_LAYOUT_WOW64 = 2,     /* a 32-bit process on 64-bit Windows */
    MM_LAYOUT_WOW64_LAA = 3, /* the same, large-address-aware: 4 GB user */
    MM_LAYOUT_X64 = 4,       /* a 64-bit process on 64-bit Windows (8.1 and later: 128 TB user) */
    MM_LAYOUT_SEED000 = 5,   /* seed 000's toy kernel: 1 MB reserved, 2 GB user, fixed system map */
    MM_LAYOUT_COUNT = 6,
} mm_layout_id_t;

/* What a range is. */
typedef enum mm_range_kind {
    MM_RANGE_NO_ACCESS = 0,    /* never mapped: NULL region, 64 KB guard, non-canonical hole */
    MM_RANGE_USER = 1,         /* user space: MM_LOWEST_USER_ADDRESS .. MM_HIGHEST_USER_ADDRESS */
    MM_RANGE_SHARED_DATA = 2,  /* KUSER_SHARED_DATA (user view read-only, and the kernel's view) */
    MM_RANGE_SYSTEM = 3,       /* system space: from MmSystemRangeStart */
    MM_RANGE_PAGE_TABLES = 4,  /* the self-map window (PTE_BASE) */
    MM_RANGE_RESERVED = 5,     /* unusable by this process: beyond a WOW64 process's pointers, unlisted */
    MM_RANGE_KERNEL_IMAGE = 6, /* seed 000: the kernel image */
    MM_RANGE_KERNEL_STACK = 7, /* seed 000: the kernel stack */
    MM_RANGE_PHYS_MAP = 8,     /* seed 000: the physical memory map */
    MM_RANGE_FREE = 9,         /* seed 000: free system space */
} mm_range_kind_t;

/* Bit for a paging mode in mm_layout_t.modes and mm_layout_range_t.modes. */
#define MM_LAYOUT_MODE(m) (1u << (unsigned)(m))

typedef struct mm_layout_range {
    const char *name;
    va_t first;          /* first byte */
    va_t last;           /* last byte (inclusive: the top range ends at 2^64 - 1) */
    mm_range_kind_t kind;
    uint32_t modes;      /* MM_LAYOUT_MODE bits where the range exists; 0: every mode of the layout */
} mm_layout_range_t;

/* What depends on the paging mode under a layout. */
typedef struct mm_layout_paging {
    ntmm_paging_mode_t mode;
    va_t system_start;     /* MmSystemRangeStart: the first address of system space */
    va_t pte_base;         /* PTE_BASE: the self-map window; PTE of va at pte_base + (va >> 12) * entry size */
    va_t pde_base;         /* PDE_BASE: the PTE of pte_base */
    va_t shared_data_kernel; /* KUSER_SHARED_DATA's system-space address (0: none) */
} mm_layout_paging_t;

typedef struct mm_layout {
    mm_layout_id_t id;
    const char *name;
    uint32_t modes;             /* MM_LAYOUT_MODE bits: the paging modes the layout runs on */
    unsigned pointer_bits;      /* 32 or 64: the process's pointer size */
    va_t lowest_user;           /* MM_LOWEST_USER_ADDRESS (GetSystemInfo: lpMinimumApplicationAddress) */
    va_t highest_user;          /* MM_HIGHEST_USER_ADDRESS (lpMaximumApplicationAddress) */
    va_t user_probe;            /* MM_USER_PROBE_ADDRESS: first byte above user space (no-access region) */
    va_t shared_data_user;      /* KUSER_SHARED_DATA in user space, MM_SHARED_USER_DATA_VA (0: none) */
    uint32_t page_size;         /* dwPageSize */
    uint32_t allocation_granularity; /* dwAllocationGranularity */
    const mm_layout_paging_t *paging; /* one record per mode in `modes` */
    size_t paging_count;
    const mm_layout_range_t *ranges; /* sorted by first; a container before what it contains */
    size_t range_count;
} mm_layout_t;

/* The layout with that id, or NULL for an unknown id. */
const mm_layout_t *mm_layout(mm_layout_id_t id);

/* True if the layout runs on paging mode `mode`. */
static inline bool mm_layout_supports(const mm_layout_t *l, ntmm_paging_mode_t mode)
{
    return mode > NTMM_PAGING_NONE && mode <= NTMM_PAGING_X64_LA57 && (l->modes & MM_LAYOUT_MODE(mode)) != 0;
}

/* The per-mode record of a layout, or NULL if the layout does not run on that mode. */
const mm_layout_paging_t *mm_layout_paging(const mm_layout_t *l, ntmm_paging_mode_t mode);

/* True if range r exists under paging mode `mode`. */
static inline bool mm_layout_range_in_mode(const mm_layout_range_t *r, ntmm_paging_mode_t mode)
{
    return r->modes == 0 || (r->modes & MM_LAYOUT_MODE(mode)) != 0;
}

/*
 * The innermost range of the layout containing va under `mode` (KUSER_SHARED_DATA rather than
 * the user space around it), or NULL if no range contains it (the layout does not run on mode,
 * or va is beyond the mode's linear address space).
 */
const mm_layout_range_t *mm_layout_range_at(const mm_layout_t *l, ntmm_paging_mode_t mode, va_t va);

/* True if [va, va + size) lies within user space (lowest_user .. highest_user); size > 0. */
static inline bool mm_layout_is_user(const mm_layout_t *l, va_t va, uint64_t size)
{
    return size != 0 && va >= l->lowest_user && va <= l->highest_user && size - 1u <= l->highest_user - va;
}

/*
 * The linear address, through the self-map, of va's paging-structure entry at `level` (1: the
 * PTE, 2: the PDE, ...) in mode m: NT's MiGetPteAddress / MiGetPdeAddress. For level l it
 * applies the PTE formula l times: PTE(va) = pte_base + va[va_bits-1:12] * entry_bytes.
 */
va_t mm_layout_entry_va(const mm_layout_paging_t *p, ntmm_paging_mode_t mode, va_t va, unsigned level);

/* Size in bytes of the self-map window of a mode: (2^va_bits / 4 KiB) * entry_bytes. */
uint64_t mm_layout_window_size(ntmm_paging_mode_t mode);

#endif /* NTMM_MM_LAYOUT_H */
