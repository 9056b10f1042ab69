/*
 * pfnenv.h - fixture of the PFN database tests: a small machine, its PFN database with a
 * chosen allocator, and a "page table" frame whose slots serve as the PTEs that map or
 * remember the frames under test.
 */
#ifndef NTMM_TEST_PFNENV_H
#define NTMM_TEST_PFNENV_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/bugcheck.h"
#include "base/rng.h"
#include "mm/pfn.h"

#define PTE_P 0x1u
#define PTE_RW 0x2u
#define PTE_TRANSITION 0x800u /* NT's transition bit (bit 11) in an invalid PTE */

typedef struct pfnenv {
    hw_machine_t *m;
    mm_pfndb_t db;
    pfn_t table;        /* a frame used as a page table: its 512 slots are our PTEs */
} pfnenv_t;

/* A machine with `ram` bytes (PC map) and a database using `kind`; checks it. */
void pfnenv_init(pfnenv_t *e, uint64_t ram, ntmm_frame_allocator_t kind);
void pfnenv_init_cfg(pfnenv_t *e, const ntmm_hw_config_t *cfg, ntmm_frame_allocator_t kind);
void pfnenv_destroy(pfnenv_t *e);

/* Physical address of PTE slot i of the fixture's table. */
pa_t pfnenv_pte(const pfnenv_t *e, unsigned i);
uint64_t pfnenv_read_pte(const pfnenv_t *e, unsigned i);
void pfnenv_write_pte(pfnenv_t *e, unsigned i, uint64_t v);

/* Allocates a frame mapped by slot i (the PTE then holds a valid mapping), under the lock. */
pfn_t pfnenv_map(pfnenv_t *e, unsigned i, mm_alloc_kind_t kind);

/* Trims slot i's frame the way the working-set manager does: the PTE becomes a transition
 * PTE that still names the frame, and the mapping's share is dropped (-> standby/modified). */
void pfnenv_trim(pfnenv_t *e, unsigned i, pfn_t pfn);

/* mm_pfn_check under the test's eye. */
void pfnenv_check(pfnenv_t *e);

uint8_t *pfnenv_frame(const pfnenv_t *e, pfn_t pfn);

#endif
