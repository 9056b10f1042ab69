/*
 * cpu.h - a virtual CPU of the simulated machine: control registers, privilege level,
 * segment registers and descriptor-table registers, and its TLB.
 *
 * A CPU is used by one host thread at a time (its owner); nothing in it is locked except its
 * shootdown mailbox, the one part other threads write. The paging context (hw_paging_ctx_t) is
 * derived from CR0/CR3/CR4/EFER whenever one of them is written, so the access paths never
 * decode control registers.
 */
#ifndef NTMM_HW_CPU_H
#define NTMM_HW_CPU_H

#include "hw/paging.h"
#include "hw/tlb.h"

/* Control-register bits the model implements. */
#define HW_CR0_PE   NTMM_BIT(0)
#define HW_CR0_WP   NTMM_BIT(16)
#define HW_CR0_NW   NTMM_BIT(29)
#define HW_CR0_CD   NTMM_BIT(30)
#define HW_CR0_PG   NTMM_BIT(31)
#define HW_CR4_PSE  NTMM_BIT(4)
#define HW_CR4_PAE  NTMM_BIT(5)
#define HW_CR4_PGE  NTMM_BIT(7)
#define HW_CR4_LA57 NTMM_BIT(12)
#define HW_CR4_SMEP NTMM_BIT(20)
#define HW_CR4_SMAP NTMM_BIT(21)
#define HW_EFER_LME NTMM_BIT(8)
#define HW_EFER_LMA NTMM_BIT(10)
#define HW_EFER_NXE NTMM_BIT(11)
#define HW_RFLAGS_AC NTMM_BIT(18)

/* Segment registers, in the x86 encoding order. */
typedef enum hw_seg {
    HW_SEG_ES = 0, HW_SEG_CS = 1, HW_SEG_SS = 2, HW_SEG_DS = 3, HW_SEG_FS = 4, HW_SEG_GS = 5,
    HW_SEG_COUNT = 6
} hw_seg_t;

/*
 * A segment register with its hidden part (the descriptor cache loaded with the selector).
 * attr holds descriptor bits 47:40 in its bits 7:0 (type, S, DPL, P) and bits 55:52 in its
 * bits 15:12 (AVL, L, D/B, G), the "access rights" layout of VMX.
 */
typedef struct hw_segment {
    uint16_t selector;
    uint16_t attr;
    uint32_t limit;      /* effective byte limit (granularity applied) */
    uint64_t base;
    bool usable;         /* false after loading a null selector */
} hw_segment_t;

/* GDTR / IDTR: a linear base and a 16-bit limit. */
typedef struct hw_dtr {
    uint64_t base;
    uint16_t limit;
} hw_dtr_t;

typedef struct hw_cpu_stats {
    uint64_t tlb_hits;       /* accesses served by the TLB (0 unless built with NTMM_STATS) */
    uint64_t tlb_misses;     /* accesses that walked the page tables */
    uint64_t tlb_flushes;    /* full flushes (CR3 loads, control-register changes) */
    uint64_t tlb_invlpg;     /* single-page invalidations */
    uint64_t page_faults;    /* #PF raised */
} hw_cpu_stats_t;

struct hw_machine;

#define HW_SHOOTDOWN_VAS 32u /* pages a mailbox holds before it turns into a full flush */

/*
 * A CPU's shootdown mailbox: the TLB invalidations other host threads ask of it, the model of
 * NT's TB-flush IPI packet (KeFlushMultipleTb: up to a few dozen pages, else the whole TB).
 * Any thread posts (hw_cpu_post_invalidate); only the owner applies (hw_cpu_poll), at an
 * instruction boundary. `lock` is a spin lock held for a few stores by a poster or by the
 * owner's drain; it guards count, flush_all and va[]. `pending` is nonzero while a request
 * waits: written under the lock (release), read by the owner's poll without it (acquire).
 */
typedef struct hw_shootdown {
    uint32_t lock;
    uint32_t pending;
    uint32_t count;                /* pages in va[] */
    uint32_t flush_all;            /* va[] overflowed: drop every entry, global ones too */
    uint64_t va[HW_SHOOTDOWN_VAS]; /* page-aligned linear addresses */
} hw_shootdown_t;

typedef struct hw_cpu {
    /* Hot: read on every access. */
    hw_tlb_entry_t *tlb_cur;   /* TLB set for explicit accesses at the current privilege */
    uint64_t tlb_index_mask;   /* (entries per set - 1) << HW_TLB_ENTRY_SHIFT: byte offset of an entry */
    uint64_t tlb_hits;         /* counted on the hit path; folded into stats on read */

    hw_tlb_t tlb;
    hw_paging_ctx_t paging;    /* derived from the control registers */
    hw_cpu_stats_t stats;

    uint64_t cr0, cr2, cr3, cr4, efer, rflags;
    uint8_t cpl;               /* current privilege level, 0..3 */
    hw_segment_t seg[HW_SEG_COUNT];
    hw_dtr_t gdtr, idtr;
    hw_segment_t ldtr;         /* LDTR: a selector into the GDT and the LDT's cached descriptor */

    struct hw_machine *machine;
    unsigned index;

    hw_shootdown_t shootdown;  /* last: hw_cpu_reset leaves it alone (other threads write it) */
} hw_cpu_t;

/*
 * Resets the CPU to the state an OS loader hands over: protected mode (CR0.PE = 1), paging
 * off, CPL 0, and flat 4 GiB segments in every segment register, so that guest accesses work
 * before any GDT exists. The TLB is emptied.
 */
void hw_cpu_reset(hw_cpu_t *cpu);

/*
 * MOV to CR0 / CR3 / CR4, WRMSR to EFER. Each validates the new value as the processor does
 * and returns false with #GP(0) in *fault, leaving the register unchanged, on an invalid
 * value or combination. A change that affects translation flushes the TLB, global entries
 * included; a CR3 load flushes the non-global entries (and in PAE mode loads the PDPTEs).
 */
bool hw_cpu_write_cr0(hw_cpu_t *cpu, uint64_t value, ntmm_fault_t *fault);
bool hw_cpu_write_cr3(hw_cpu_t *cpu, uint64_t value, ntmm_fault_t *fault);
bool hw_cpu_write_cr4(hw_cpu_t *cpu, uint64_t value, ntmm_fault_t *fault);
bool hw_cpu_write_efer(hw_cpu_t *cpu, uint64_t value, ntmm_fault_t *fault);

/* Sets CPL and RFLAGS.AC (which select the TLB set for explicit accesses). */
void hw_cpu_set_cpl(hw_cpu_t *cpu, unsigned cpl);
void hw_cpu_set_rflags(hw_cpu_t *cpu, uint64_t rflags);

/*
 * Enters a paging mode: installs the state an OS loader reaches with its sequence (CR4.PAE,
 * PSE, PGE and LA57 as the mode needs; EFER.LME, and NXE when the machine has NX; CR3; then
 * CR0.PG|WP|PE) in one step, from any previous mode. cr3 is checked as the new mode reads it.
 * For NTMM_PAGING_NONE it turns paging off. #GP(0) for a mode the CPU lacks or a bad CR3.
 */
bool hw_cpu_enter_paging(hw_cpu_t *cpu, ntmm_paging_mode_t mode, uint64_t cr3, ntmm_fault_t *fault);

/* The CPU's current paging mode id. */
static inline ntmm_paging_mode_t hw_cpu_paging_mode(const hw_cpu_t *cpu)
{
    return cpu->paging.mode ? cpu->paging.mode->id : NTMM_PAGING_NONE;
}

/* Access flags for an explicit access of kind at the CPU's current privilege. */
static inline unsigned hw_cpu_acc(const hw_cpu_t *cpu, unsigned kind)
{
    return kind | (cpu->cpl == 3 ? HW_ACC_USER : 0u) | ((cpu->rflags & HW_RFLAGS_AC) ? HW_ACC_AC : 0u);
}

/*
 * Posts an invalidation of la's page to cpu's mailbox (NT: the TB-flush IPI request). Any host
 * thread may call it, owner or not; cpu's TLB is not touched. Page-table writes made before the
 * call are seen by cpu's walks after it applies the request (the mailbox lock orders them).
 * When the mailbox already holds HW_SHOOTDOWN_VAS pages the request becomes a full flush.
 */
void hw_cpu_post_invalidate(hw_cpu_t *cpu, uint64_t la);

/* Applies and clears cpu's pending shootdowns (owner only): INVLPG of each posted page, or a
 * full flush (global entries too) if the mailbox overflowed. Counted in tlb_invlpg / tlb_flushes. */
void hw_cpu_apply_shootdowns(hw_cpu_t *cpu);

/*
 * The instruction boundary at which a CPU takes a pending TLB-flush IPI (owner only): one
 * acquire load when nothing is pending. The memory manager's access calls run it on entry and
 * before each retry after a fault; embedders that drive hw_load/hw_store themselves call it
 * between guest instructions or blocks. The TLB hit path does not poll.
 */
static inline void hw_cpu_poll(hw_cpu_t *cpu)
{
    if (NTMM_UNLIKELY(__atomic_load_n(&cpu->shootdown.pending, __ATOMIC_ACQUIRE) != 0)) hw_cpu_apply_shootdowns(cpu);
}

/* Statistics, with the hit counter folded in. */
hw_cpu_stats_t hw_cpu_stats(const hw_cpu_t *cpu);

#endif /* NTMM_HW_CPU_H */
