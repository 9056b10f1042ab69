/*
 * zero.c - the zero page thread as a step function (NT: MmZeroPageThread): takes frames
 * from the free pool in batches under the PFN lock, zeroes them with the lock dropped (the
 * frames are marked ZEROING, on no list, meanwhile), and gives them back as zeroed. A host
 * thread may call it in a loop beside allocations; a test calls it for determinism.
 */
#include "mm/pfn.h"

#include "base/bugcheck.h"

#define ZERO_BATCH 64u /* frames taken per trip to the PFN lock */

uint64_t mm_zero_step(mm_pfndb_t *db, uint64_t budget)
{
    pfn_t batch[ZERO_BATCH];
    uint64_t done = 0;
    while (done < budget && !base_bugcheck_halted(db->bugcheck)) {
        size_t want = budget - done < ZERO_BATCH ? (size_t)(budget - done) : ZERO_BATCH;
        mm_pfn_lock(db);
        size_t n = db->falloc->take_dirty(db, batch, want);
        for (size_t i = 0; i < n; i++) {
            db->pfn[batch[i]].location = MM_TRANSITION;
            db->pfn[batch[i]].flags |= MM_PFN_ZEROING;
        }
        mm_pfn_unlock(db);
        if (n == 0) break;
        for (size_t i = 0; i < n; i++)
            memset(hw_phys_host(&db->machine->phys, batch[i] << NTMM_PAGE_SHIFT), 0, NTMM_PAGE_SIZE);
        mm_pfn_lock(db);
        for (size_t i = 0; i < n; i++) {
            db->pfn[batch[i]].flags &= (uint16_t)~MM_PFN_ZEROING;
            db->falloc->give(db, batch[i], true);
        }
        db->zeroed_by_step += n;
        mm_pfn_unlock(db);
        done += n;
    }
    return done;
}
