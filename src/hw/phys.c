/* phys.c - physical memory: the host block, the normalised firmware map, bounds checks. */
#include "hw/phys.h"

#include <stdlib.h>

#include "host/host.h"

static bool phys_type_is_ram(uint32_t type)
{
    return type == NTMM_MEM_USABLE || type == NTMM_MEM_ACPI_RECLAIMABLE || type == NTMM_MEM_ACPI_NVS;
}

static int phys_range_cmp(const void *a, const void *b)
{
    const ntmm_mem_range_t *x = a, *y = b;
    return x->base < y->base ? -1 : x->base > y->base;
}

static void phys_set_frames(hw_phys_t *phys, uint64_t first, uint64_t end, bool present)
{
    for (uint64_t f = first; f < end && f < phys->frames; f++) {
        if (present) phys->present[f >> 6] |= NTMM_BIT(f & 63u);
        else phys->present[f >> 6] &= ~NTMM_BIT(f & 63u);
    }
}

ntmm_status_t hw_phys_init(hw_phys_t *phys, const ntmm_hw_config_t *cfg, unsigned phys_addr_bits)
{
    memset(phys, 0, sizeof *phys);
    uint64_t ram = cfg->ram_bytes ? cfg->ram_bytes : NTMM_MIB(256);
    ntmm_mem_range_t def[3] = {
        { 0, 0x9F000, NTMM_MEM_USABLE },
        { 0x9F000, 0x100000 - 0x9F000, NTMM_MEM_RESERVED },
        { 0x100000, ram > 0x100000 ? ram - 0x100000 : 0, NTMM_MEM_USABLE },
    };
    const ntmm_mem_range_t *src = cfg->mem_map ? cfg->mem_map : def;
    size_t count = cfg->mem_map ? cfg->mem_map_count : (ram > 0x100000 ? 3 : 1);
    if (!cfg->mem_map && ram <= 0x100000) def[0].length = ntmm_align_down(ram, NTMM_PAGE_SIZE);
    if (count == 0 || count > 4096) return NTMM_STATUS_INVALID_PARAMETER;

    phys->map = host_calloc(count, sizeof *phys->map);
    if (!phys->map) return NTMM_STATUS_NO_MEMORY;
    uint64_t top = 0, limit = phys_addr_bits >= 64 ? UINT64_MAX : NTMM_BIT(phys_addr_bits);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        ntmm_mem_range_t r = src[i];
        if (r.length == 0) continue;
        if (r.base + r.length < r.base || r.base + r.length > limit) goto bad;
        uint64_t lo = r.base, hi = r.base + r.length;
        if (phys_type_is_ram(r.type)) {
            lo = ntmm_align_up(lo, NTMM_PAGE_SIZE);
            hi = ntmm_align_down(hi, NTMM_PAGE_SIZE);
        } else {
            lo = ntmm_align_down(lo, NTMM_PAGE_SIZE);
            hi = ntmm_align_up(hi, NTMM_PAGE_SIZE);
        }
        if (hi <= lo) continue;
        phys->map[n++] = (ntmm_mem_range_t){ lo, hi - lo, r.type };
        if (phys_type_is_ram(r.type) && hi > top) top = hi;
    }
    phys->map_count = n;
    if (top == 0) goto bad;
    qsort(phys->map, n, sizeof *phys->map, phys_range_cmp);

    phys->size = top;
    phys->frames = top >> NTMM_PAGE_SHIFT;
    phys->present = host_calloc((size_t)((phys->frames + 63u) / 64u), sizeof(uint64_t));
    phys->ram = host_mem_reserve_lazy((size_t)top);
    if (!phys->present || !phys->ram) {
        hw_phys_destroy(phys);
        return NTMM_STATUS_NO_MEMORY;
    }
    /* RAM ranges first, then every other type over them: where they overlap, non-RAM wins. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const ntmm_mem_range_t *r = &phys->map[i];
            if (phys_type_is_ram(r->type) != (pass == 0)) continue;
            phys_set_frames(phys, r->base >> NTMM_PAGE_SHIFT, (r->base + r->length) >> NTMM_PAGE_SHIFT,
                            pass == 0);
        }
    for (uint64_t f = 0; f < phys->frames; f++)
        if (hw_phys_frame_present(phys, f)) phys->ram_bytes += NTMM_PAGE_SIZE;
    return NTMM_STATUS_SUCCESS;
bad:
    host_free(phys->map);
    phys->map = NULL;
    return NTMM_STATUS_INVALID_PARAMETER;
}

void hw_phys_destroy(hw_phys_t *phys)
{
    host_mem_release(phys->ram, (size_t)phys->size);
    host_free(phys->present);
    host_free(phys->map);
    memset(phys, 0, sizeof *phys);
}

bool hw_phys_range_present(const hw_phys_t *phys, pa_t pa, uint64_t len)
{
    if (len == 0) return pa <= phys->size;
    if (pa + len < pa || pa + len > phys->size) return false;
    for (pfn_t f = pa >> NTMM_PAGE_SHIFT; f <= (pa + len - 1) >> NTMM_PAGE_SHIFT; f++)
        if (!hw_phys_frame_present(phys, f)) return false;
    return true;
}

static ntmm_status_t phys_check_range(const hw_phys_t *phys, pa_t pa, size_t len)
{
    if (pa + len < pa) return NTMM_STATUS_INVALID_PARAMETER;
    return hw_phys_range_present(phys, pa, len) ? NTMM_STATUS_SUCCESS : NTMM_STATUS_INVALID_ADDRESS;
}

ntmm_status_t hw_phys_read(const hw_phys_t *phys, pa_t pa, void *buf, size_t len)
{
    ntmm_status_t st = phys_check_range(phys, pa, len);
    if (st == NTMM_STATUS_SUCCESS && len) memcpy(buf, phys->ram + pa, len);
    return st;
}

ntmm_status_t hw_phys_write(hw_phys_t *phys, pa_t pa, const void *buf, size_t len)
{
    ntmm_status_t st = phys_check_range(phys, pa, len);
    if (st == NTMM_STATUS_SUCCESS && len) memcpy(phys->ram + pa, buf, len);
    return st;
}

ntmm_status_t hw_phys_fill(hw_phys_t *phys, pa_t pa, int byte, size_t len)
{
    ntmm_status_t st = phys_check_range(phys, pa, len);
    if (st == NTMM_STATUS_SUCCESS && len) memset(phys->ram + pa, byte, len);
    return st;
}

ntmm_mem_type_t hw_phys_type(const hw_phys_t *phys, pa_t pa)
{
    ntmm_mem_type_t type = NTMM_MEM_RESERVED;
    bool found = false;
    for (size_t i = 0; i < phys->map_count; i++) {
        const ntmm_mem_range_t *r = &phys->map[i];
        if (pa < r->base || pa - r->base >= r->length) continue;
        if (!found || !phys_type_is_ram(r->type)) type = (ntmm_mem_type_t)r->type;
        found = true;
    }
    return type;
}

bool hw_phys_check(const hw_phys_t *phys, pfn_t *bad_pfn)
{
    for (pfn_t f = 0; f < phys->frames; f++) {
        bool want = phys_type_is_ram(hw_phys_type(phys, f << NTMM_PAGE_SHIFT));
        if (want != hw_phys_frame_present(phys, f)) {
            if (bad_pfn) *bad_pfn = f;
            return false;
        }
    }
    return true;
}
