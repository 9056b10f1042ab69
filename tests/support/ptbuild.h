/*
 * ptbuild.h - builds hardware page tables in a machine's physical memory, for tests, the
 * benchmarks and the walkthrough. It plays the part an OS loader plays before the memory
 * manager exists: a bump allocator of table frames and a map call for any page size.
 */
#ifndef NTMM_TEST_PTBUILD_H
#define NTMM_TEST_PTBUILD_H

#include "hw/machine.h"

typedef struct ptb {
    hw_machine_t *m;
    const hw_paging_mode_t *mode;
    pa_t next, end;      /* frames for tables are taken from [next, end) */
    pa_t root;           /* physical address of the top table: the CR3 value */
    hw_pte_t table_flags;/* flags of non-leaf entries it creates (default P|RW|US) */
} ptb_t;

/* Starts an empty address space; tables come from [pool, pool_end). PAE gets its four page
 * directories at once (the PDPTE registers are loaded only with CR3). */
bool ptb_init(ptb_t *b, hw_machine_t *m, ntmm_paging_mode_t mode, pa_t pool, pa_t pool_end);

/* A zeroed 4 KiB frame from the pool, or 0 when it is used up. */
pa_t ptb_alloc_frame(ptb_t *b);

/*
 * Physical address of the entry for va at `level`, creating the tables above it. Returns 0
 * if the pool is empty or a large page already maps va at a higher level.
 */
pa_t ptb_entry_pa(ptb_t *b, va_t va, unsigned level);

/* Maps va -> pa with a leaf of page_size (4 KiB, 2/4 MiB, 1 GiB) and leaf flags (P added;
 * PS added for large pages). */
bool ptb_map(ptb_t *b, va_t va, pa_t pa, uint64_t page_size, hw_pte_t flags);

/* Reads and writes an entry in physical memory. */
hw_pte_t ptb_read(const ptb_t *b, pa_t entry_pa);
void ptb_write(ptb_t *b, pa_t entry_pa, hw_pte_t value);

/* Installs the recursive self-map the way the OS does in each mode (see ptbuild.c) and
 * returns the linear base of the page-table window (PTE_BASE). */
va_t ptb_self_map(ptb_t *b);

#endif /* NTMM_TEST_PTBUILD_H */
