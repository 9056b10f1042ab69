/*
 * layout.c - the address-space layouts of layout.h as read-only tables.
 *
 * Values are Windows' (GetSystemInfo's lpMinimumApplicationAddress / lpMaximumApplicationAddress,
 * MmUserProbeAddress, MmSystemRangeStart, PTE_BASE / PDE_BASE of the self-map, KUSER_SHARED_DATA
 * at 0x7FFE0000 in every process and at 0xFFDF0000 / 0xFFFFF78000000000 in system space). Two
 * are ntmm's own choices, made where Windows documents nothing:
 *   - LA57: the self-map is PML5 entry 0x1ED (as tests/support/ptbuild.c builds it), so its
 *     window is 0xFFED000000000000, and system space starts with the upper half of the PML5
 *     (0xFF00000000000000); user space stays 128 TB, as for processes that do not opt in to
 *     57-bit addresses.
 *   - Seed 000: its table gives the ranges; the page size of its allocator is 4 KiB and it has
 *     no 64 KB granularity, so both are 4 KiB. Its free system range ends at 0xAFFFFFFF as its
 *     code has it (RegionSize = 0xB0000000 - base); 0xB0000000..0xBFFFFFFF and the space above
 *     the page tables are not in its table and are kept as RESERVED.
 */
#include "mm/layout.h"

#include "hw/paging.h"

#define X86  MM_LAYOUT_MODE(NTMM_PAGING_X86)
#define PAE  MM_LAYOUT_MODE(NTMM_PAGING_PAE)
#define X64  MM_LAYOUT_MODE(NTMM_PAGING_X64)
#define LA57 MM_LAYOUT_MODE(NTMM_PAGING_X64_LA57)

#define KIB64 0x10000u

/* ---- 32-bit Windows ------------------------------------------------------------------------ */

static const mm_layout_paging_t paging_x86_2gb[] = {
    { NTMM_PAGING_X86, 0x80000000u, 0xC0000000u, 0xC0300000u, 0xFFDF0000u },
    { NTMM_PAGING_PAE, 0x80000000u, 0xC0000000u, 0xC0600000u, 0xFFDF0000u },
};

static const mm_layout_paging_t paging_x86_3gb[] = {
    { NTMM_PAGING_X86, 0xC0000000u, 0xC0000000u, 0xC0300000u, 0xFFDF0000u },
    { NTMM_PAGING_PAE, 0xC0000000u, 0xC0000000u, 0xC0600000u, 0xFFDF0000u },
};

static const mm_layout_range_t ranges_x86_2gb[] = {
    { "NULL region", 0x00000000u, 0x0000FFFFu, MM_RANGE_NO_ACCESS, 0 },
    { "user space", 0x00010000u, 0x7FFEFFFFu, MM_RANGE_USER, 0 },
    { "KUSER_SHARED_DATA", 0x7FFE0000u, 0x7FFE0FFFu, MM_RANGE_SHARED_DATA, 0 },
    { "64 KB no-access region", 0x7FFF0000u, 0x7FFFFFFFu, MM_RANGE_NO_ACCESS, 0 },
    { "system space", 0x80000000u, 0xFFFFFFFFu, MM_RANGE_SYSTEM, 0 },
    { "page tables (PDE 0x300 self-map)", 0xC0000000u, 0xC03FFFFFu, MM_RANGE_PAGE_TABLES, X86 },
    { "page tables (PDEs 0x600-0x603 self-map)", 0xC0000000u, 0xC07FFFFFu, MM_RANGE_PAGE_TABLES, PAE },
    { "KUSER_SHARED_DATA (system)", 0xFFDF0000u, 0xFFDF0FFFu, MM_RANGE_SHARED_DATA, 0 },
};

static const mm_layout_range_t ranges_x86_3gb[] = {
    { "NULL region", 0x00000000u, 0x0000FFFFu, MM_RANGE_NO_ACCESS, 0 },
    { "user space", 0x00010000u, 0xBFFEFFFFu, MM_RANGE_USER, 0 },
    { "KUSER_SHARED_DATA", 0x7FFE0000u, 0x7FFE0FFFu, MM_RANGE_SHARED_DATA, 0 },
    { "64 KB no-access region", 0xBFFF0000u, 0xBFFFFFFFu, MM_RANGE_NO_ACCESS, 0 },
    { "system space", 0xC0000000u, 0xFFFFFFFFu, MM_RANGE_SYSTEM, 0 },
    { "page tables (PDE 0x300 self-map)", 0xC0000000u, 0xC03FFFFFu, MM_RANGE_PAGE_TABLES, X86 },
    { "page tables (PDEs 0x600-0x603 self-map)", 0xC0000000u, 0xC07FFFFFu, MM_RANGE_PAGE_TABLES, PAE },
    { "KUSER_SHARED_DATA (system)", 0xFFDF0000u, 0xFFDF0FFFu, MM_RANGE_SHARED_DATA, 0 },
};

/* ---- 64-bit Windows ------------------------------------------------------------------------ */

static const mm_layout_paging_t paging_x64[] = {
    { NTMM_PAGING_X64, 0xFFFF800000000000u, 0xFFFFF68000000000u, 0xFFFFF6FB40000000u, 0xFFFFF78000000000u },
    { NTMM_PAGING_X64_LA57, 0xFF00000000000000u, 0xFFED000000000000u, 0xFFEDF68000000000u, 0xFFFFF78000000000u },
};

/* The system half of the 64-bit layouts, shared by native and WOW64 processes. */
#define SYSTEM_RANGES_64                                                                            \
    { "non-canonical", 0x0000800000000000u, 0xFFFF7FFFFFFFFFFFu, MM_RANGE_NO_ACCESS, X64 },         \
    { "unused (57-bit user addresses)", 0x0000800000000000u, 0x00FFFFFFFFFFFFFFu, MM_RANGE_RESERVED, LA57 }, \
    { "non-canonical", 0x0100000000000000u, 0xFEFFFFFFFFFFFFFFu, MM_RANGE_NO_ACCESS, LA57 },        \
    { "system space", 0xFF00000000000000u, 0xFFFFFFFFFFFFFFFFu, MM_RANGE_SYSTEM, LA57 },             \
    { "page tables (PML5 0x1ED self-map)", 0xFFED000000000000u, 0xFFEDFFFFFFFFFFFFu, MM_RANGE_PAGE_TABLES, LA57 }, \
    { "system space", 0xFFFF800000000000u, 0xFFFFFFFFFFFFFFFFu, MM_RANGE_SYSTEM, X64 },              \
    { "page tables (PML4 0x1ED self-map)", 0xFFFFF68000000000u, 0xFFFFF6FFFFFFFFFFu, MM_RANGE_PAGE_TABLES, X64 }, \
    { "KUSER_SHARED_DATA (system)", 0xFFFFF78000000000u, 0xFFFFF78000000FFFu, MM_RANGE_SHARED_DATA, 0 }

static const mm_layout_range_t ranges_x64[] = {
    { "NULL region", 0x0u, 0xFFFFu, MM_RANGE_NO_ACCESS, 0 },
    { "user space", 0x10000u, 0x7FFFFFFEFFFFu, MM_RANGE_USER, 0 },
    { "KUSER_SHARED_DATA", 0x7FFE0000u, 0x7FFE0FFFu, MM_RANGE_SHARED_DATA, 0 },
    { "64 KB no-access region", 0x7FFFFFFF0000u, 0x7FFFFFFFFFFFu, MM_RANGE_NO_ACCESS, 0 },
    SYSTEM_RANGES_64,
};

static const mm_layout_range_t ranges_wow64[] = {
    { "NULL region", 0x0u, 0xFFFFu, MM_RANGE_NO_ACCESS, 0 },
    { "user space", 0x10000u, 0x7FFEFFFFu, MM_RANGE_USER, 0 },
    { "KUSER_SHARED_DATA", 0x7FFE0000u, 0x7FFE0FFFu, MM_RANGE_SHARED_DATA, 0 },
    { "64 KB no-access region", 0x7FFF0000u, 0x7FFFFFFFu, MM_RANGE_NO_ACCESS, 0 },
    { "64-bit user space beyond 32-bit pointers", 0x80000000u, 0x7FFFFFFFFFFFu, MM_RANGE_RESERVED, 0 },
    SYSTEM_RANGES_64,
};

static const mm_layout_range_t ranges_wow64_laa[] = {
    { "NULL region", 0x0u, 0xFFFFu, MM_RANGE_NO_ACCESS, 0 },
    { "user space", 0x10000u, 0xFFFEFFFFu, MM_RANGE_USER, 0 },
    { "KUSER_SHARED_DATA", 0x7FFE0000u, 0x7FFE0FFFu, MM_RANGE_SHARED_DATA, 0 },
    { "64 KB no-access region", 0xFFFF0000u, 0xFFFFFFFFu, MM_RANGE_NO_ACCESS, 0 },
    { "64-bit user space beyond 32-bit pointers", 0x100000000u, 0x7FFFFFFFFFFFu, MM_RANGE_RESERVED, 0 },
    SYSTEM_RANGES_64,
};

/* ---- seed 000's toy kernel ------------------------------------------------------------------ */

static const mm_layout_paging_t paging_seed000[] = {
    { NTMM_PAGING_X86, 0x80000000u, 0xC0000000u, 0xC0300000u, 0 },
};

static const mm_layout_range_t ranges_seed000[] = {
    { "reserved (1 MB)", 0x00000000u, 0x000FFFFFu, MM_RANGE_NO_ACCESS, 0 },
    { "user space", 0x00100000u, 0x7FFFFFFFu, MM_RANGE_USER, 0 },
    { "system space", 0x80000000u, 0xFFFFFFFFu, MM_RANGE_SYSTEM, 0 },
    { "free space", 0x80000000u, 0x803FFFFFu, MM_RANGE_FREE, 0 },
    { "kernel image", 0x80400000u, 0x80412FFFu, MM_RANGE_KERNEL_IMAGE, 0 },
    { "system stack", 0x80413000u, 0x80417FFFu, MM_RANGE_KERNEL_STACK, 0 },
    { "physical memory map", 0x80418000u, 0x80419FFFu, MM_RANGE_PHYS_MAP, 0 },
    { "free space", 0x8041A000u, 0xAFFFFFFFu, MM_RANGE_FREE, 0 },
    { "not in the table", 0xB0000000u, 0xBFFFFFFFu, MM_RANGE_RESERVED, 0 },
    { "page directory, page tables", 0xC0000000u, 0xC03FFFFFu, MM_RANGE_PAGE_TABLES, 0 },
    { "not in the table", 0xC0400000u, 0xFFFFFFFFu, MM_RANGE_RESERVED, 0 },
};

/* ---- the table of layouts -------------------------------------------------------------------- */

#define LAYOUT_TABLES(p, r) (p), NTMM_ARRAY_SIZE(p), (r), NTMM_ARRAY_SIZE(r)

static const mm_layout_t layouts[MM_LAYOUT_COUNT] = {
    { MM_LAYOUT_X86, "x86", X86 | PAE, 32, 0x10000u, 0x7FFEFFFFu, 0x7FFF0000u, 0x7FFE0000u, 4096, KIB64,
      LAYOUT_TABLES(paging_x86_2gb, ranges_x86_2gb) },
    { MM_LAYOUT_X86_3GB, "x86-3gb", X86 | PAE, 32, 0x10000u, 0xBFFEFFFFu, 0xBFFF0000u, 0x7FFE0000u, 4096, KIB64,
      LAYOUT_TABLES(paging_x86_3gb, ranges_x86_3gb) },
    { MM_LAYOUT_WOW64, "wow64", X64 | LA57, 32, 0x10000u, 0x7FFEFFFFu, 0x7FFF0000u, 0x7FFE0000u, 4096, KIB64,
      LAYOUT_TABLES(paging_x64, ranges_wow64) },
    { MM_LAYOUT_WOW64_LAA, "wow64-laa", X64 | LA57, 32, 0x10000u, 0xFFFEFFFFu, 0xFFFF0000u, 0x7FFE0000u, 4096,
      KIB64, LAYOUT_TABLES(paging_x64, ranges_wow64_laa) },
    { MM_LAYOUT_X64, "x64", X64 | LA57, 64, 0x10000u, 0x7FFFFFFEFFFFu, 0x7FFFFFFF0000u, 0x7FFE0000u, 4096, KIB64,
      LAYOUT_TABLES(paging_x64, ranges_x64) },
    { MM_LAYOUT_SEED000, "seed000", X86, 32, 0x00100000u, 0x7FFFFFFFu, 0x80000000u, 0, 4096, 4096,
      LAYOUT_TABLES(paging_seed000, ranges_seed000) },
};

const mm_layout_t *mm_layout(mm_layout_id_t id)
{
    return (unsigned)id < MM_LAYOUT_COUNT ? &layouts[id] : NULL;
}

const mm_layout_paging_t *mm_layout_paging(const mm_layout_t *l, ntmm_paging_mode_t mode)
{
    for (size_t i = 0; i < l->paging_count; i++)
        if (l->paging[i].mode == mode) return &l->paging[i];
    return NULL;
}

const mm_layout_range_t *mm_layout_range_at(const mm_layout_t *l, ntmm_paging_mode_t mode, va_t va)
{
    const mm_layout_range_t *found = NULL;
    if (!mm_layout_supports(l, mode)) return NULL;
    const hw_paging_mode_t *m = hw_paging_mode(mode);
    if (m->va_bits == 32 && va > UINT32_MAX) return NULL;
    /* Sorted by first with containers first: the last match is the innermost. */
    for (size_t i = 0; i < l->range_count && l->ranges[i].first <= va; i++) {
        const mm_layout_range_t *r = &l->ranges[i];
        if (va <= r->last && mm_layout_range_in_mode(r, mode)) found = r;
    }
    return found;
}

uint64_t mm_layout_window_size(ntmm_paging_mode_t mode)
{
    const hw_paging_mode_t *m = hw_paging_mode(mode);
    return m ? (NTMM_BIT(m->va_bits) >> NTMM_PAGE_SHIFT) * m->entry_bytes : 0;
}

va_t mm_layout_entry_va(const mm_layout_paging_t *p, ntmm_paging_mode_t mode, va_t va, unsigned level)
{
    const hw_paging_mode_t *m = hw_paging_mode(mode);
    uint64_t va_mask = NTMM_BITS(m->va_bits - 1u, 0);
    for (unsigned l = 0; l < level; l++)
        va = p->pte_base + ((va & va_mask) >> NTMM_PAGE_SHIFT) * m->entry_bytes;
    return va;
}
