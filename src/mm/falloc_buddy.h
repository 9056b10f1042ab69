/*
 * falloc_buddy.h - inspection of the buddy free-frame allocator (falloc_buddy.c) beyond the
 * mm_falloc_ops_t interface: how its free frames are cut into blocks, for tests and tools.
 */
#ifndef NTMM_MM_FALLOC_BUDDY_H
#define NTMM_MM_FALLOC_BUDDY_H

#include "mm/pfn.h"

#define MM_BUDDY_ORDERS 32u /* orders 0..31 */

/*
 * Stores in counts[k] (k < n, n <= MM_BUDDY_ORDERS) the number of free blocks of order k
 * and returns the largest order a block may have in this database; returns -1 (counts
 * untouched) if db does not use the buddy allocator. PFN lock held.
 */
int mm_falloc_buddy_blocks(const mm_pfndb_t *db, uint64_t *counts, unsigned n);

#endif /* NTMM_MM_FALLOC_BUDDY_H */
