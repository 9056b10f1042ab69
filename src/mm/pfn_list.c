/*
 * pfn_list.c - the life of a frame: allocation, share and reference counting, and the
 * transitions between NT's page lists (MiInsertPageInList, MiUnlinkPageFromList,
 * MiDecrementShareCount, MiDecrementReferenceCount, MiRemoveZeroPage, MiRemoveAnyPage,
 * MiRestoreTransitionPte, MiFindContiguousPages). Every function here expects the PFN lock.
 */
#include "mm/pfn.h"

#include "base/bugcheck.h"

/* PFN_LIST_CORRUPT parameter 1 values (NT's). */
#define PFN_UNLOCKED_TOO_OFTEN 0x07u /* a reference count dropped below zero */
#define PFN_CORRUPT_ENTRY      0x99u /* a PTE or PFN is corrupt: wrong state for the request */

static ntmm_status_t pfn_corrupt(mm_pfndb_t *db, uint64_t why, pfn_t pfn, uint64_t a, uint64_t b)
{
    return NTMM_BUGCHECK(db->bugcheck, NTMM_BUGCHECK_PFN_LIST_CORRUPT, why, pfn, a, b);
}

/* The entry for a frame the caller names, or NULL for a frame outside the database. */
static mm_pfn_t *pfn_get(mm_pfndb_t *db, pfn_t pfn)
{
    return pfn < db->frames ? &db->pfn[pfn] : NULL;
}

static void pfn_set_use(mm_pfndb_t *db, mm_pfn_t *e, mm_page_use_t use)
{
    db->by_use[e->use]--;
    db->by_use[use]++;
    e->use = (uint8_t)use;
}

/* Writes a PTE of the database's size into guest physical memory. */
static void pfn_write_pte(mm_pfndb_t *db, pa_t pte_pa, uint64_t value)
{
    if (hw_phys_range_present(&db->machine->phys, pte_pa, db->pte_bytes))
        ntmm_le_store(hw_phys_host(&db->machine->phys, pte_pa), value, db->pte_bytes);
}

/* Puts a frame that is on no list where `loc` says, resetting what that state forgets. */
static void pfn_insert(mm_pfndb_t *db, pfn_t pfn, mm_page_location_t loc)
{
    mm_pfn_t *e = &db->pfn[pfn];
    e->reference_count = 0;
    if (loc == MM_ZEROED || loc == MM_FREE || loc == MM_BAD) {
        e->pte_pa = 0;
        e->original_pte = 0;
        e->flags = 0;
        pfn_set_use(db, e, NTMM_USE_UNUSED);
    }
    if (loc == MM_ZEROED || loc == MM_FREE) {
        db->falloc->give(db, pfn, loc == MM_ZEROED);
        return;
    }
    e->location = (uint8_t)loc;
    base_ilist_insert_tail(&db->lists[loc], MM_PFN_SHAPE(db), (uint32_t)pfn);
}

/* Takes a frame off whatever list or allocator holds it; it is then on none. */
static void pfn_unlink(mm_pfndb_t *db, pfn_t pfn)
{
    mm_pfn_t *e = &db->pfn[pfn];
    if (e->location == MM_ZEROED || e->location == MM_FREE) db->falloc->take_frame(db, pfn);
    else base_ilist_unlink(&db->lists[e->location], MM_PFN_SHAPE(db), (uint32_t)pfn);
}

/*
 * A standby frame leaves for good: its PTE gets back the contents it had before the frame
 * came in (a page-file or demand-zero PTE), so a later fault no longer finds it (NT:
 * MiRestoreTransitionPte).
 */
static void pfn_unhook(mm_pfndb_t *db, mm_pfn_t *e)
{
    if (e->pte_pa) pfn_write_pte(db, e->pte_pa, e->original_pte);
    e->pte_pa = 0;
}

static void pfn_zero_frame(mm_pfndb_t *db, pfn_t pfn)
{
    memset(hw_phys_host(&db->machine->phys, pfn << NTMM_PAGE_SHIFT), 0, NTMM_PAGE_SIZE);
}

static void pfn_make_active(mm_pfndb_t *db, pfn_t pfn, mm_page_use_t use, pa_t pte_pa, uint64_t original_pte,
                            uint32_t share)
{
    mm_pfn_t *e = &db->pfn[pfn];
    e->location = MM_ACTIVE;
    e->u1 = share;
    e->u2 = 0;
    e->reference_count = 1;
    e->pte_pa = pte_pa;
    e->original_pte = original_pte;
    e->flags = 0;
    e->order = 0;
    pfn_set_use(db, e, use);
}

static bool pfn_use_valid(mm_page_use_t use)
{
    return (unsigned)use < NTMM_USE_COUNT && use != NTMM_USE_UNUSED && use != NTMM_USE_FIRMWARE;
}

ntmm_status_t mm_pfn_allocate(mm_pfndb_t *db, mm_alloc_kind_t kind, mm_page_use_t use, pa_t pte_pa,
                              uint64_t original_pte, pfn_t *out)
{
    *out = MM_NO_PFN;
    if (base_bugcheck_halted(db->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    if ((kind != MM_ALLOC_ZEROED && kind != MM_ALLOC_ANY) || !pfn_use_valid(use))
        return NTMM_STATUS_INVALID_PARAMETER;
    bool zeroed = false;
    pfn_t pfn = db->falloc->take(db, kind == MM_ALLOC_ZEROED, &zeroed);
    if (pfn == MM_NO_PFN) {
        pfn = base_ilist_remove_head(&db->lists[MM_STANDBY], MM_PFN_SHAPE(db));
        if (pfn == MM_NO_PFN) return NTMM_STATUS_NO_MEMORY;
        pfn_unhook(db, &db->pfn[pfn]);
        db->repurposed++;
        zeroed = false;
    }
    if (kind == MM_ALLOC_ZEROED && !zeroed) {
        pfn_zero_frame(db, pfn);
        db->zeroed_on_demand++;
    }
    pfn_make_active(db, pfn, use, pte_pa, original_pte, 1);
    *out = pfn;
    return NTMM_STATUS_SUCCESS;
}

/* The entry of an ACTIVE frame, or NULL after raising the bugcheck / for a bad frame number. */
static ntmm_status_t pfn_active(mm_pfndb_t *db, pfn_t pfn, mm_pfn_t **out)
{
    mm_pfn_t *e = pfn_get(db, pfn);
    *out = NULL;
    if (base_bugcheck_halted(db->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    if (!e) return NTMM_STATUS_INVALID_PARAMETER;
    if (e->location != MM_ACTIVE || e->use == NTMM_USE_FIRMWARE)
        return pfn_corrupt(db, PFN_CORRUPT_ENTRY, pfn, e->location, e->reference_count);
    *out = e;
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_pfn_add_share(mm_pfndb_t *db, pfn_t pfn)
{
    mm_pfn_t *e;
    ntmm_status_t st = pfn_active(db, pfn, &e);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (e->u1 == UINT32_MAX) return NTMM_BUGCHECK(db->bugcheck, NTMM_BUGCHECK_PFN_SHARE_COUNT, pfn, e->u1, 1, 0);
    if (e->u1++ == 0) e->reference_count++; /* the mappings together hold one reference */
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_pfn_remove_share(mm_pfndb_t *db, pfn_t pfn)
{
    mm_pfn_t *e;
    ntmm_status_t st = pfn_active(db, pfn, &e);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (e->u1 == 0) return NTMM_BUGCHECK(db->bugcheck, NTMM_BUGCHECK_PFN_SHARE_COUNT, pfn, 0, 0, 0);
    if (--e->u1 == 0) return mm_pfn_remove_ref(db, pfn);
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_pfn_add_ref(mm_pfndb_t *db, pfn_t pfn)
{
    mm_pfn_t *e = pfn_get(db, pfn);
    if (base_bugcheck_halted(db->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    if (!e) return NTMM_STATUS_INVALID_PARAMETER;
    if ((e->location != MM_ACTIVE && e->location != MM_TRANSITION) || e->use == NTMM_USE_FIRMWARE ||
        e->reference_count == UINT16_MAX)
        return pfn_corrupt(db, PFN_CORRUPT_ENTRY, pfn, e->location, e->reference_count);
    e->reference_count++;
    return NTMM_STATUS_SUCCESS;
}

/* Where a frame goes when its last reference is dropped (NT: MiDecrementReferenceCount). */
static void pfn_release(mm_pfndb_t *db, pfn_t pfn)
{
    mm_pfn_t *e = &db->pfn[pfn];
    if (e->flags & MM_PFN_REMOVAL_REQUESTED) {
        if (!(e->flags & MM_PFN_DELETED)) pfn_unhook(db, e);
        pfn_insert(db, pfn, MM_BAD);
    } else if ((e->flags & MM_PFN_DELETED) || e->pte_pa == 0) {
        pfn_insert(db, pfn, MM_FREE);
    } else if (e->flags & MM_PFN_MODIFIED) {
        pfn_insert(db, pfn, (e->flags & MM_PFN_NOWRITE) ? MM_MODIFIED_NOWRITE : MM_MODIFIED);
    } else {
        pfn_insert(db, pfn, MM_STANDBY);
    }
}

ntmm_status_t mm_pfn_remove_ref(mm_pfndb_t *db, pfn_t pfn)
{
    mm_pfn_t *e = pfn_get(db, pfn);
    if (base_bugcheck_halted(db->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    if (!e) return NTMM_STATUS_INVALID_PARAMETER;
    if ((e->location != MM_ACTIVE && e->location != MM_TRANSITION) || e->use == NTMM_USE_FIRMWARE)
        return pfn_corrupt(db, PFN_CORRUPT_ENTRY, pfn, e->location, e->reference_count);
    if (e->reference_count == 0 || (e->reference_count == 1 && e->u1 != 0 && e->location == MM_ACTIVE))
        return pfn_corrupt(db, PFN_UNLOCKED_TOO_OFTEN, pfn, e->u1, 0);
    if (--e->reference_count == 0) pfn_release(db, pfn);
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_pfn_set_modified(mm_pfndb_t *db, pfn_t pfn, bool modified)
{
    mm_pfn_t *e;
    ntmm_status_t st = pfn_active(db, pfn, &e);
    if (st != NTMM_STATUS_SUCCESS) return st;
    e->flags = (uint16_t)(modified ? e->flags | MM_PFN_MODIFIED : e->flags & ~MM_PFN_MODIFIED);
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_pfn_delete(mm_pfndb_t *db, pfn_t pfn)
{
    mm_pfn_t *e = pfn_get(db, pfn);
    if (base_bugcheck_halted(db->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    if (!e) return NTMM_STATUS_INVALID_PARAMETER;
    switch ((mm_page_location_t)e->location) {
    case MM_ACTIVE:
    case MM_TRANSITION:
        if (e->use == NTMM_USE_FIRMWARE) break;
        e->flags |= MM_PFN_DELETED;
        return NTMM_STATUS_SUCCESS;
    case MM_STANDBY:
    case MM_MODIFIED:
    case MM_MODIFIED_NOWRITE:
        pfn_unlink(db, pfn);
        pfn_insert(db, pfn, (e->flags & MM_PFN_REMOVAL_REQUESTED) ? MM_BAD : MM_FREE);
        return NTMM_STATUS_SUCCESS;
    default:
        break;
    }
    return pfn_corrupt(db, PFN_CORRUPT_ENTRY, pfn, e->location, e->reference_count);
}

ntmm_status_t mm_pfn_free(mm_pfndb_t *db, pfn_t pfn)
{
    mm_pfn_t *e;
    ntmm_status_t st = pfn_active(db, pfn, &e);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (e->u1 == 0) return pfn_corrupt(db, PFN_CORRUPT_ENTRY, pfn, e->location, e->reference_count);
    if (NTMM_LIKELY(e->u1 == 1 && e->reference_count == 1 && !(e->flags & MM_PFN_REMOVAL_REQUESTED))) {
        /* the common case, one mapping and no pin: what the general path below ends in */
        e->u1 = 0;
        pfn_insert(db, pfn, MM_FREE);
        return NTMM_STATUS_SUCCESS;
    }
    e->flags |= MM_PFN_DELETED;
    return mm_pfn_remove_share(db, pfn);
}

ntmm_status_t mm_pfn_reclaim(mm_pfndb_t *db, pfn_t pfn)
{
    mm_pfn_t *e = pfn_get(db, pfn);
    if (base_bugcheck_halted(db->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    if (!e) return NTMM_STATUS_INVALID_PARAMETER;
    if (e->location != MM_STANDBY && e->location != MM_MODIFIED && e->location != MM_MODIFIED_NOWRITE)
        return pfn_corrupt(db, PFN_CORRUPT_ENTRY, pfn, e->location, e->reference_count);
    pfn_unlink(db, pfn);
    uint16_t keep = e->flags & (MM_PFN_MODIFIED | MM_PFN_NOWRITE | MM_PFN_REMOVAL_REQUESTED | MM_PFN_PROTOTYPE);
    pfn_make_active(db, pfn, (mm_page_use_t)e->use, e->pte_pa, e->original_pte, 1);
    e->flags = keep;
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_pfn_written(mm_pfndb_t *db, pfn_t pfn)
{
    mm_pfn_t *e = pfn_get(db, pfn);
    if (base_bugcheck_halted(db->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    if (!e) return NTMM_STATUS_INVALID_PARAMETER;
    if (e->location != MM_MODIFIED)
        return pfn_corrupt(db, PFN_CORRUPT_ENTRY, pfn, e->location, e->reference_count);
    pfn_unlink(db, pfn);
    e->flags &= (uint16_t)~MM_PFN_MODIFIED;
    if (e->flags & MM_PFN_REMOVAL_REQUESTED) {
        pfn_unhook(db, e);
        pfn_insert(db, pfn, MM_BAD);
    } else {
        pfn_insert(db, pfn, MM_STANDBY);
    }
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_pfn_mark_bad(mm_pfndb_t *db, pfn_t pfn)
{
    mm_pfn_t *e = pfn_get(db, pfn);
    if (base_bugcheck_halted(db->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    if (!e || e->location == MM_NOT_RAM || e->use == NTMM_USE_FIRMWARE) return NTMM_STATUS_INVALID_PARAMETER;
    switch ((mm_page_location_t)e->location) {
    case MM_BAD:
        return NTMM_STATUS_SUCCESS;
    case MM_ZEROED:
    case MM_FREE:
        pfn_unlink(db, pfn);
        pfn_insert(db, pfn, MM_BAD);
        return NTMM_STATUS_SUCCESS;
    case MM_STANDBY:
        pfn_unlink(db, pfn);
        pfn_unhook(db, e);
        pfn_insert(db, pfn, MM_BAD);
        return NTMM_STATUS_SUCCESS;
    default:
        e->flags |= MM_PFN_REMOVAL_REQUESTED;
        return NTMM_STATUS_SUCCESS;
    }
}

static bool pfn_free_or_standby(const mm_pfn_t *e)
{
    return e->location == MM_FREE || e->location == MM_ZEROED || e->location == MM_STANDBY;
}

ntmm_status_t mm_pfn_allocate_contiguous(mm_pfndb_t *db, pfn_t n, pfn_t align, pfn_t highest_pfn,
                                         mm_page_use_t use, bool zeroed, pfn_t *first)
{
    *first = MM_NO_PFN;
    if (base_bugcheck_halted(db->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    if (n == 0 || align == 0 || !ntmm_is_pow2(align) || !pfn_use_valid(use)) return NTMM_STATUS_INVALID_PARAMETER;
    if (n > db->ram_frames || align > db->frames) return NTMM_STATUS_NO_MEMORY;
    pfn_t start = db->falloc->take_run(db, n, align, highest_pfn);
    if (start == MM_NO_PFN) {
        /* No run of free frames: one that standby frames complete (NT repurposes them too). */
        start = mm_pfn_find_run(db, n, align, highest_pfn, pfn_free_or_standby);
        if (start == MM_NO_PFN) return NTMM_STATUS_NO_MEMORY;
        for (pfn_t f = start; f < start + n; f++) {
            mm_pfn_t *e = &db->pfn[f];
            pfn_unlink(db, f);
            if (e->location == MM_STANDBY) {
                pfn_unhook(db, e);
                e->location = MM_FREE; /* its bytes are an old owner's */
                db->repurposed++;
            }
        }
    }
    for (pfn_t f = start; f < start + n; f++) {
        if (zeroed && db->pfn[f].location != MM_ZEROED) {
            pfn_zero_frame(db, f);
            db->zeroed_on_demand++;
        }
        pfn_make_active(db, f, use, 0, 0, 0);
        if (use == NTMM_USE_LARGE_PAGE) db->pfn[f].flags |= MM_PFN_LARGE_PAGE;
    }
    *first = start;
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_pfn_free_contiguous(mm_pfndb_t *db, pfn_t first, pfn_t n)
{
    if (base_bugcheck_halted(db->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    if (n == 0 || first >= db->frames || n > db->frames - first) return NTMM_STATUS_INVALID_PARAMETER;
    for (pfn_t f = first; f < first + n; f++) {
        const mm_pfn_t *e = &db->pfn[f];
        if (e->location != MM_ACTIVE || e->u1 != 0 || e->reference_count != 1 || e->use == NTMM_USE_FIRMWARE)
            return pfn_corrupt(db, PFN_CORRUPT_ENTRY, f, e->location, e->reference_count);
    }
    for (pfn_t f = first; f < first + n; f++) {
        db->pfn[f].flags |= MM_PFN_DELETED;
        mm_pfn_remove_ref(db, f);
    }
    return NTMM_STATUS_SUCCESS;
}
