/*
 * phys.h - the simulated machine's physical memory and its firmware memory map.
 *
 * Guest RAM is one lazily backed host block covering the physical address space from 0 to
 * the end of the highest RAM range: physical address pa lives at host byte ram + pa. Frames
 * the memory map does not describe as RAM (reserved ranges, bad ranges, holes) are absent:
 * every access to them fails, as a machine check would on real hardware.
 *
 *   physical address space (default PC map, 256 MiB):
 *   0x00000000 +-----------------+ usable     (conventional memory, 636 KiB)
 *   0x0009F000 +-----------------+ reserved   (EBDA, VGA, option ROMs, BIOS)
 *   0x00100000 +-----------------+ usable     (extended memory)
 *   0x10000000 +-----------------+ end of RAM
 *
 * The map is normalised at init: ranges are page-aligned (RAM ranges shrink inward, others
 * grow outward), sorted, and where ranges overlap the non-RAM type wins.
 */
#ifndef NTMM_HW_PHYS_H
#define NTMM_HW_PHYS_H

#include <ntmm/ntmm_hw.h>
#include <ntmm/ntmm_status.h>

#include "base/base.h"

typedef struct hw_phys {
    uint8_t *ram;              /* host block: byte pa lives at ram[pa] */
    uint64_t size;             /* bytes of physical address space the block covers */
    uint64_t *present;         /* bitmap, one bit per frame: 1 = RAM that may be accessed */
    uint64_t frames;           /* size / 4096 */
    uint64_t ram_bytes;        /* bytes of RAM (usable + ACPI types) */
    ntmm_mem_range_t *map;     /* normalised map, sorted by base */
    size_t map_count;
} hw_phys_t;

/* Builds physical memory from a configuration. Returns NTMM_STATUS_INVALID_PARAMETER for a
 * map that is empty, has no RAM, or exceeds 2^phys_addr_bits; NTMM_STATUS_NO_MEMORY if the
 * host refuses the block. */
ntmm_status_t hw_phys_init(hw_phys_t *phys, const ntmm_hw_config_t *cfg, unsigned phys_addr_bits);
void hw_phys_destroy(hw_phys_t *phys);

/* True if frame pfn is RAM that may be accessed. */
static inline bool hw_phys_frame_present(const hw_phys_t *phys, pfn_t pfn)
{
    return pfn < phys->frames && ((phys->present[pfn >> 6] >> (pfn & 63u)) & 1u) != 0;
}

/* True if every byte of [pa, pa+len) is accessible RAM. */
bool hw_phys_range_present(const hw_phys_t *phys, pa_t pa, uint64_t len);

/* Host pointer to physical byte pa; the caller has checked presence. */
static inline uint8_t *hw_phys_host(const hw_phys_t *phys, pa_t pa) { return phys->ram + pa; }

/* Bounds-checked copies. NTMM_STATUS_INVALID_ADDRESS if any byte is not RAM (nothing is
 * copied then); NTMM_STATUS_INVALID_PARAMETER for a range that wraps. */
ntmm_status_t hw_phys_read(const hw_phys_t *phys, pa_t pa, void *buf, size_t len);
ntmm_status_t hw_phys_write(hw_phys_t *phys, pa_t pa, const void *buf, size_t len);
ntmm_status_t hw_phys_fill(hw_phys_t *phys, pa_t pa, int byte, size_t len);

/* The type the map gives physical address pa (NTMM_MEM_RESERVED for holes and beyond). */
ntmm_mem_type_t hw_phys_type(const hw_phys_t *phys, pa_t pa);

/* Validates the bitmap against the map. Returns false and names the frame on a mismatch. */
bool hw_phys_check(const hw_phys_t *phys, pfn_t *bad_pfn);

#endif /* NTMM_HW_PHYS_H */
