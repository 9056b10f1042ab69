/*
 * pfn_db.c - the PFN database as a whole: building it from the machine's memory map, the
 * run finder the contiguous allocations use, the invariant checker and the statistics.
 * List transitions are in pfn_list.c, free-frame allocators in falloc_*.c.
 */
#include "mm/pfn.h"

#include "base/bugcheck.h"

static const mm_falloc_ops_t *pfndb_allocator(ntmm_frame_allocator_t kind)
{
    switch (kind) {
    case NTMM_FRAMES_NT_LISTS: return &mm_falloc_nt_lists;
    case NTMM_FRAMES_BITMAP: return &mm_falloc_bitmap;
    case NTMM_FRAMES_BUDDY: return &mm_falloc_buddy;
    }
    return NULL;
}

ntmm_status_t mm_pfndb_init(mm_pfndb_t *db, hw_machine_t *m, ntmm_frame_allocator_t allocator, unsigned pte_bytes)
{
    memset(db, 0, sizeof *db);
    db->falloc = pfndb_allocator(allocator);
    if (!db->falloc || (pte_bytes != 4 && pte_bytes != 8)) return NTMM_STATUS_INVALID_PARAMETER;
    if (m->phys.frames >= MM_NO_PFN) return NTMM_STATUS_INVALID_PARAMETER; /* 32-bit list links */
    db->machine = m;
    db->bugcheck = &m->bugcheck;
    db->pte_bytes = pte_bytes;
    db->frames = m->phys.frames;
    db->pfn = host_mem_reserve_lazy((size_t)db->frames * sizeof(mm_pfn_t));
    db->lock = host_mutex_create();
    if (!db->pfn || !db->lock) {
        mm_pfndb_destroy(db);
        return NTMM_STATUS_NO_MEMORY;
    }
    db->shape = (base_ilist_shape_t){ db->pfn, sizeof(mm_pfn_t), offsetof(mm_pfn_t, u1), offsetof(mm_pfn_t, u2) };
    for (int l = 0; l < MM_LIST_COUNT; l++) base_ilist_init(&db->lists[l]);
    ntmm_status_t st = db->falloc->init(db);
    if (st != NTMM_STATUS_SUCCESS) {
        db->falloc = NULL;
        mm_pfndb_destroy(db);
        return st;
    }
    for (pfn_t f = 0; f < db->frames; f++) db->pfn[f].location = MM_NOT_RAM;
    /* Frames the map gives as RAM: usable ones to the allocator (fresh RAM reads as zero),
     * firmware ones (ACPI) kept out for good. */
    for (size_t i = 0; i < m->phys.map_count; i++) {
        const ntmm_mem_range_t *r = &m->phys.map[i];
        bool usable = r->type == NTMM_MEM_USABLE;
        if (!usable && r->type != NTMM_MEM_ACPI_RECLAIMABLE && r->type != NTMM_MEM_ACPI_NVS) continue;
        for (pfn_t f = r->base >> NTMM_PAGE_SHIFT; f < (r->base + r->length) >> NTMM_PAGE_SHIFT; f++) {
            mm_pfn_t *e = &db->pfn[f];
            if (!hw_phys_frame_present(&m->phys, f) || e->location != MM_NOT_RAM) continue;
            db->ram_frames++;
            /* Physical page 0 (the real-mode interrupt vectors and BIOS data on a PC) is kept
             * out as firmware, as Windows keeps low memory out; it also makes pte_pa == 0 an
             * unambiguous "no PTE". */
            if (usable && f != 0) {
                e->use = NTMM_USE_UNUSED;
                db->falloc->give(db, f, true);
            } else {
                e->location = MM_ACTIVE;
                e->use = NTMM_USE_FIRMWARE;
                e->reference_count = 1;
            }
            db->by_use[e->use]++;
        }
    }
    return NTMM_STATUS_SUCCESS;
}

void mm_pfndb_destroy(mm_pfndb_t *db)
{
    if (db->falloc) db->falloc->destroy(db);
    if (db->pfn) host_mem_release(db->pfn, (size_t)db->frames * sizeof(mm_pfn_t));
    host_mutex_destroy(db->lock);
    memset(db, 0, sizeof *db);
}

pfn_t mm_pfn_find_run(const mm_pfndb_t *db, pfn_t n, pfn_t align, pfn_t highest, bool (*ok)(const mm_pfn_t *e))
{
    if (n == 0 || align == 0 || !ntmm_is_pow2(align)) return MM_NO_PFN;
    if (highest >= db->frames) highest = db->frames - 1u;
    pfn_t start = 0;
    while (start + n - 1u <= highest && start + n - 1u >= start) {
        pfn_t j = start;
        while (j < start + n && ok(&db->pfn[j])) j++;
        if (j == start + n) return start;
        start = ntmm_align_up(j + 1u, align);
    }
    return MM_NO_PFN;
}

/* --- the checker ---------------------------------------------------------------------------- */

#define PFN_CHECK_LIST_HEAD  0x01u /* PFN_LIST_CORRUPT parameter 1, as NT uses them */
#define PFN_CHECK_LIST_ENTRY 0x02u
#define PFN_CHECK_ENTRY      0x99u

typedef struct check_ctx {
    const mm_pfndb_t *db;
    mm_page_location_t loc;
} check_ctx_t;

static bool check_list_member(void *ctx, uint32_t i)
{
    const check_ctx_t *c = ctx;
    return c->db->pfn[i].location == c->loc;
}

/* The frame number a PTE of db's size holds in its frame bits (valid or transition format). */
static pfn_t check_pte_frame(const mm_pfndb_t *db, uint64_t pte)
{
    uint64_t mask = db->pte_bytes == 4 ? NTMM_BITS(31, 12) : NTMM_BITS(51, 12);
    return (pte & mask) >> NTMM_PAGE_SHIFT;
}

/* True if the PTE at pte_pa refers to frame f. */
static bool check_pte_refers(const mm_pfndb_t *db, pa_t pte_pa, pfn_t f)
{
    if (!hw_phys_range_present(&db->machine->phys, pte_pa, db->pte_bytes) || (pte_pa & (db->pte_bytes - 1u)))
        return false;
    uint64_t pte = ntmm_le_load(hw_phys_host(&db->machine->phys, pte_pa), db->pte_bytes);
    return check_pte_frame(db, pte) == f;
}

/* The state rules of one entry (see the table in pfn.h). */
static bool check_entry(const mm_pfndb_t *db, pfn_t f)
{
    const mm_pfn_t *e = &db->pfn[f];
    bool ram = hw_phys_frame_present(&db->machine->phys, f);
    switch ((mm_page_location_t)e->location) {
    case MM_NOT_RAM:
        return !ram;
    case MM_ZEROED:
    case MM_FREE:
    case MM_BAD:
        return ram && e->reference_count == 0 && e->pte_pa == 0 && e->use == NTMM_USE_UNUSED;
    case MM_STANDBY:
    case MM_MODIFIED:
    case MM_MODIFIED_NOWRITE:
        return ram && e->reference_count == 0 && e->pte_pa != 0 && !(e->flags & MM_PFN_DELETED) &&
               check_pte_refers(db, e->pte_pa, f) &&
               ((e->location == MM_STANDBY) == !(e->flags & MM_PFN_MODIFIED));
    case MM_ACTIVE:
        if (!ram || e->reference_count == 0) return false;
        if (e->use == NTMM_USE_FIRMWARE) return e->reference_count == 1 && e->pte_pa == 0;
        return e->pte_pa == 0 || (e->flags & MM_PFN_DELETED) || check_pte_refers(db, e->pte_pa, f);
    case MM_TRANSITION:
        return ram && ((e->flags & MM_PFN_ZEROING) ? e->reference_count == 0 : e->reference_count > 0);
    case MM_LOCATION_COUNT:
        break;
    }
    return false;
}

bool mm_pfn_check(mm_pfndb_t *db)
{
    uint64_t count[MM_LOCATION_COUNT] = { 0 }, by_use[NTMM_USE_COUNT] = { 0 };
    uint64_t p1 = 0, p2 = 0, p3 = 0;
    mm_pfn_lock(db);
    bool ok = true;
    for (pfn_t f = 0; ok && f < db->frames; f++) {
        const mm_pfn_t *e = &db->pfn[f];
        if (e->location >= MM_LOCATION_COUNT || e->use >= NTMM_USE_COUNT || !check_entry(db, f)) {
            ok = false;
            p1 = PFN_CHECK_ENTRY, p2 = f, p3 = e->location;
            break;
        }
        count[e->location]++;
        if (e->location != MM_NOT_RAM) by_use[e->use]++;
    }
    bool nt_lists = db->falloc == &mm_falloc_nt_lists;
    for (int l = 0; ok && l < MM_LIST_COUNT; l++) {
        uint32_t bad;
        check_ctx_t ctx = { db, (mm_page_location_t)l };
        bool listed = nt_lists || (l != MM_ZEROED && l != MM_FREE);
        if (!listed) {
            if (db->lists[l].count != 0) ok = false, p1 = PFN_CHECK_LIST_HEAD, p2 = (uint64_t)l;
            continue;
        }
        if (!base_ilist_check(&db->lists[l], &db->shape, db->frames, check_list_member, &ctx, &bad) ||
            db->lists[l].count != count[l]) {
            ok = false;
            p1 = bad == BASE_ILIST_END ? PFN_CHECK_LIST_HEAD : PFN_CHECK_LIST_ENTRY;
            p2 = bad == BASE_ILIST_END ? (uint64_t)l : bad;
            p3 = db->lists[l].count;
        }
    }
    pfn_t bad_pfn = 0;
    if (ok && (db->falloc->count(db, true) != count[MM_ZEROED] || db->falloc->count(db, false) != count[MM_FREE] ||
               !db->falloc->check(db, &bad_pfn))) {
        ok = false;
        p1 = PFN_CHECK_LIST_ENTRY, p2 = bad_pfn, p3 = db->frames - 1u;
    }
    if (ok && memcmp(by_use, db->by_use, sizeof by_use) != 0) ok = false, p1 = PFN_CHECK_ENTRY, p2 = MM_NO_PFN;
    mm_pfn_unlock(db);
    if (!ok) NTMM_BUGCHECK(db->bugcheck, NTMM_BUGCHECK_PFN_LIST_CORRUPT, p1, p2, p3, 0);
    return ok;
}

void mm_pfn_stats(mm_pfndb_t *db, ntmm_memory_stats_t *s)
{
    memset(s, 0, sizeof *s);
    mm_pfn_lock(db);
    s->allocator = db->falloc->name;
    s->ram_frames = db->ram_frames;
    s->zeroed = db->falloc->count(db, true);
    s->free = db->falloc->count(db, false);
    s->standby = db->lists[MM_STANDBY].count;
    s->modified = db->lists[MM_MODIFIED].count;
    s->modified_nowrite = db->lists[MM_MODIFIED_NOWRITE].count;
    s->bad = db->lists[MM_BAD].count;
    memcpy(s->by_use, db->by_use, sizeof s->by_use);
    s->largest_free_run = db->falloc->largest_run(db);
    s->zeroed_by_step = db->zeroed_by_step;
    s->zeroed_on_demand = db->zeroed_on_demand;
    s->repurposed = db->repurposed;
    for (pfn_t f = 0; f < db->frames; f++) {
        if (db->pfn[f].location == MM_ACTIVE) s->active++;
        else if (db->pfn[f].location == MM_TRANSITION) s->transition++;
    }
    mm_pfn_unlock(db);
}

const char *ntmm_page_use_name(ntmm_page_use_t use)
{
    static const char *const names[NTMM_USE_COUNT] = {
        "Unused", "Process Private", "Shareable", "Mapped File", "Page Table", "Paged Pool",
        "Nonpaged Pool", "System PTE", "Kernel Stack", "Driver Locked", "Large Page", "Firmware",
    };
    return (unsigned)use < NTMM_USE_COUNT ? names[use] : "?";
}
