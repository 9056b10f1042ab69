/*
 * paging.h - paging modes as data, and the one page-table walker that serves them all.
 *
 * A paging mode is a descriptor (levels, index widths, entry size, which levels may map large
 * pages); nothing about modes is chosen at compile time. Levels are numbered as in the SDM
 * from the bottom: 1 = page table, 2 = page directory, 3 = PDPT, 4 = PML4, 5 = PML5.
 *
 *   32-bit:   |31   22|21   12|11     0|                       x86 (2 levels, 10/10/12)
 *             |  PDE  |  PTE  | offset |
 *   PAE:      |31 30|29  21|20  12|11     0|                   3 levels, 2/9/9/12
 *             |PDPTE| PDE  | PTE  | offset |
 *   4-level:  |63 48|47  39|38  30|29  21|20  12|11     0|     x64, 9/9/9/9/12
 *             |sign | PML4 | PDPT | PDE  | PTE  | offset |
 *   5-level:  |63 57|56  48|47 ... as 4-level                  LA57, 9/9/9/9/9/12
 *
 * The walker reads entries from guest physical memory, checks present and reserved bits at
 * each level, accumulates the rights (R/W and U/S must allow at every level, XD at any level
 * forbids), applies the privilege rules (CR0.WP, SMEP, SMAP), and on success sets Accessed in
 * every entry it used and Dirty in the leaf on a write, with atomic ORs as the hardware's
 * locked updates. A/D bits are set only when the translation succeeds.
 */
#ifndef NTMM_HW_PAGING_H
#define NTMM_HW_PAGING_H

#include <ntmm/ntmm_hw.h>

#include "hw/phys.h"
#include "hw/pte.h"

#define HW_MAX_LEVELS 5

typedef struct hw_paging_mode {
    ntmm_paging_mode_t id;
    const char *name;         /* "x86", "PAE", "x64", "x64-LA57" */
    uint8_t levels;           /* 2..5 */
    uint8_t entry_bytes;      /* 4 (32-bit paging) or 8 */
    uint8_t va_bits;          /* 32, 32, 48, 57 */
    uint8_t large_levels;     /* bit l set: a PS=1 entry at level l maps a page */
    uint8_t shift[HW_MAX_LEVELS + 1]; /* shift[l]: linear-address bit where level l's index starts */
    uint8_t bits[HW_MAX_LEVELS + 1];  /* bits[l]: width of level l's index */
    bool canonical;           /* linear addresses must be sign-extended from bit va_bits-1 */
    bool pdpte_registers;     /* PAE: the top level is 4 registers loaded when CR3 is written */
} hw_paging_mode_t;

/* The descriptor of a mode, or NULL for NTMM_PAGING_NONE and unknown values. */
const hw_paging_mode_t *hw_paging_mode(ntmm_paging_mode_t id);

/* Index of linear address la at level l of mode m. */
static inline unsigned hw_paging_index(const hw_paging_mode_t *m, va_t la, unsigned l)
{
    return (unsigned)((la >> m->shift[l]) & ((1u << m->bits[l]) - 1u));
}

/* Bytes mapped by one entry at level l (4 KiB at level 1). */
static inline uint64_t hw_paging_level_size(const hw_paging_mode_t *m, unsigned l)
{
    return NTMM_BIT(m->shift[l]);
}

/* True if la is canonical for the mode (always true for 32-bit modes when la < 2^32). */
bool hw_paging_canonical(const hw_paging_mode_t *m, va_t la);

/*
 * Everything the walker needs, derived from a CPU's control registers (hw_cpu_paging_ctx) or
 * built by a caller that walks an address space that is not loaded on any CPU.
 */
typedef struct hw_paging_ctx {
    const hw_paging_mode_t *mode; /* NULL: paging disabled, linear = physical */
    hw_phys_t *phys;
    pa_t root;                    /* physical address of the top-level table (from CR3) */
    hw_pte_t pdpte[4];            /* PAE: the PDPTE registers */
    hw_pte_t rsvd[HW_MAX_LEVELS + 1][2]; /* reserved-bit mask at level l for PS = 0 / 1 */
    uint64_t addr_mask;           /* entry bits holding a physical address: (M-1):12 */
    uint8_t phys_bits;            /* MAXPHYADDR */
    uint8_t large_levels;         /* levels where PS = 1 maps a page, given PSE and 1 GiB support */
    bool nxe;                     /* EFER.NXE: XD is honoured */
    bool wp;                      /* CR0.WP: supervisor writes obey R/W */
    bool pse;                     /* CR4.PSE: 4 MiB pages in 32-bit paging */
    bool pge;                     /* CR4.PGE: G marks global translations */
    bool smep, smap;              /* CR4.SMEP, CR4.SMAP */
} hw_paging_ctx_t;

/*
 * Fills ctx's derived fields (reserved masks, address mask) from its mode, phys_bits, nxe,
 * pse and the machine's features; call after setting those fields.
 */
void hw_paging_ctx_derive(hw_paging_ctx_t *ctx, bool has_1g_pages, bool has_pse36);

/* Access flags for the walker: the kind is ntmm_access_t in the low two bits. */
#define HW_ACC_KIND     0x03u
#define HW_ACC_USER     0x04u /* explicit access at CPL 3 */
#define HW_ACC_IMPLICIT 0x08u /* implicit supervisor access (descriptor tables): SMAP always */
#define HW_ACC_AC       0x10u /* EFLAGS.AC = 1: SMAP does not apply to explicit accesses */
#define HW_ACC_INSPECT  0x20u /* debugger view: no rights checks, no A/D updates */

/* The result of a walk: the translation and every entry it read. */
typedef struct hw_walk {
    pa_t pa;                  /* physical address of la */
    uint64_t page_size;       /* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
    uint8_t leaf_level;       /* level of the entry that mapped the page, or where the walk stopped */
    uint8_t top_level;        /* the mode's number of levels */
    pa_t entry_pa[HW_MAX_LEVELS + 1]; /* entry_pa[l]: where level l's entry is in physical memory */
    hw_pte_t entry[HW_MAX_LEVELS + 1];/* entry[l]: its value as read (before A/D updates) */
    bool user;                /* U/S = 1 at every level */
    bool writable;            /* R/W = 1 at every level */
    bool no_execute;          /* XD = 1 at some level (with NXE) */
    bool global;              /* G = 1 in the leaf, with CR4.PGE */
    bool dirty;               /* D = 1 in the leaf after this walk */
} hw_walk_t;

/*
 * Translates linear address la for an access. Returns true with *w filled, or false with
 * *fault set: #PF (CR2 = la, error code), #GP(0) for a non-canonical address, #MC when a
 * paging-structure entry lies outside RAM. With HW_ACC_INSPECT the walk also stops at the
 * first not-present entry, leaving the entries read so far in *w.
 */
bool hw_walk(const hw_paging_ctx_t *ctx, va_t la, unsigned acc, hw_walk_t *w, ntmm_fault_t *fault);

/* The privilege rules of SDM 4.6: may an access with flags acc use the translation in w? */
bool hw_walk_allows(const hw_paging_ctx_t *ctx, const hw_walk_t *w, unsigned acc);

/*
 * Reads the four PAE PDPTE registers from the table at ctx->root, as a MOV to CR3 does.
 * False (#GP(0)) if the table is not in RAM or a present PDPTE has a reserved bit set.
 */
bool hw_paging_load_pdptes(hw_paging_ctx_t *ctx, ntmm_fault_t *fault);

#endif /* NTMM_HW_PAGING_H */
