/*
 * cpu.h - a virtual CPU of the simulated machine: control registers, privilege level,
 * segment registers and descriptor-table registers, and its TLB.
 *
 * A CPU is used by one host thread at a time (its owner); nothing in it is locked. The
 * paging context (hw_paging_ctx_t) is derived from CR0/CR3/CR4/EFER whenever one of them is
 * written, so the access paths never decode control registers.
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

/* Statistics, with the hit counter folded in. */
hw_cpu_stats_t hw_cpu_stats(const hw_cpu_t *cpu);

#endif /* NTMM_HW_CPU_H */
