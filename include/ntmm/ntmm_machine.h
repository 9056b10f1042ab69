/*
 * ntmm_machine.h - creating a simulated machine and using its hardware directly.
 *
 * These calls reach the machine below the memory manager: physical memory, control
 * registers, and guest accesses by linear address through paging (and the TLB) exactly as the
 * processor performs them. A failed access returns NTMM_STATUS_ACCESS_VIOLATION (or, for a physical
 * address that is not RAM, NTMM_STATUS_IN_PAGE_ERROR) with the processor's fault record.
 *
 * Once the machine has bugchecked (ntmm_bugcheck.h), every call that reads or changes guest
 * state returns NTMM_STATUS_MACHINE_HALTED (ntmm_cpu_get then returns 0, ntmm_cpu_invlpg and
 * ntmm_cpu_flush_tlb do nothing); the bugcheck record, statistics and the memory map remain
 * readable for a post-mortem.
 *
 * Threads: different machines are independent. Within a machine, physical memory may be used
 * from several host threads; each CPU index must be used by one host thread at a time. When
 * the memory manager changes a translation (protect, decommit, release...), it posts a TLB
 * shootdown to every CPU and returns; a CPU takes it at its next instruction boundary, as a
 * processor takes the TB-flush IPI: at the start of ntmm_cpu_access(_logical) and
 * ntmm_process_access, before each retry after a fault, and in ntmm_cpu_poll.
 */
#ifndef NTMM_MACHINE_H
#define NTMM_MACHINE_H

#include <stddef.h>
#include <stdint.h>

#include <ntmm/ntmm_bugcheck.h>
#include <ntmm/ntmm_hw.h>
#include <ntmm/ntmm_mm.h>
#include <ntmm/ntmm_status.h>

typedef struct ntmm_machine ntmm_machine_t;

typedef struct ntmm_machine_config {
    ntmm_hw_config_t hw;            /* zero-initialised: 256 MiB, PC memory map, one CPU */
    ntmm_paging_mode_t paging;      /* the mode the memory manager runs in; NONE: x64 */
    ntmm_frame_allocator_t frames;  /* how free frames are kept; default NT's page lists */
} ntmm_machine_config_t;

ntmm_status_t ntmm_machine_create(const ntmm_machine_config_t *config, ntmm_machine_t **machine);
void ntmm_machine_destroy(ntmm_machine_t *machine);

/* The bugcheck that stopped the machine, or NULL while it runs. */
const ntmm_bugcheck_t *ntmm_machine_bugcheck(const ntmm_machine_t *machine);

/*
 * Runs every invariant validator of the machine. NTMM_STATUS_SUCCESS, or, when a structure is
 * corrupt, NTMM_STATUS_MACHINE_HALTED with the bugcheck recorded (ntmm_machine_bugcheck).
 */
ntmm_status_t ntmm_machine_check(ntmm_machine_t *machine);

/* RAMMap-style figures of physical memory: frames per page list and per use. */
ntmm_status_t ntmm_memory_stats(ntmm_machine_t *machine, ntmm_memory_stats_t *stats);

/*
 * Background work of the zero page thread, as a step: zeroes up to `budget` free frames and
 * moves them to the zeroed list. Safe to call from a host thread of its own. Returns the
 * number of frames zeroed (0 once the free list is empty).
 */
uint64_t ntmm_zero_step(ntmm_machine_t *machine, uint64_t budget);

/* The normalised physical memory map; returns the number of ranges. */
size_t ntmm_machine_memory_map(const ntmm_machine_t *machine, const ntmm_mem_range_t **map);

/* Bytes of RAM (usable and firmware types; reserved ranges and holes excluded). */
uint64_t ntmm_machine_ram_bytes(const ntmm_machine_t *machine);

/*
 * Physical memory, bounds-checked: NTMM_STATUS_INVALID_ADDRESS if any byte is not RAM. These
 * reach below the memory manager: what they write is invisible to its bookkeeping.
 */
ntmm_status_t ntmm_phys_read(ntmm_machine_t *machine, uint64_t pa, void *buf, size_t len);
ntmm_status_t ntmm_phys_write(ntmm_machine_t *machine, uint64_t pa, const void *buf, size_t len);

/* Control registers of CPU `cpu`. */
typedef enum ntmm_cpu_reg {
    NTMM_REG_CR0, NTMM_REG_CR2, NTMM_REG_CR3, NTMM_REG_CR4, NTMM_REG_EFER, NTMM_REG_RFLAGS,
    NTMM_REG_CPL,
} ntmm_cpu_reg_t;

/* Reads a register (0 for a bad CPU index or register). */
uint64_t ntmm_cpu_get(ntmm_machine_t *machine, unsigned cpu, ntmm_cpu_reg_t reg);

/* Writes a register as MOV CRn / WRMSR do; NTMM_STATUS_ACCESS_VIOLATION with #GP(0) in *fault
 * for a value the processor refuses; NTMM_STATUS_INVALID_PARAMETER for a bad CPU or register. */
ntmm_status_t ntmm_cpu_set(ntmm_machine_t *machine, unsigned cpu, ntmm_cpu_reg_t reg, uint64_t value,
                           ntmm_fault_t *fault);

/* Enters a paging mode with the given CR3 (see hw_cpu_enter_paging). */
ntmm_status_t ntmm_cpu_enter_paging(ntmm_machine_t *machine, unsigned cpu, ntmm_paging_mode_t mode,
                                    uint64_t cr3, ntmm_fault_t *fault);

/*
 * An instruction boundary of CPU `cpu`: applies the TLB shootdowns other threads posted to it
 * since its last boundary (one atomic load when there are none). Called by the CPU's owner.
 * The access calls of this library poll on entry; an embedder that runs guest code through the
 * inline hw_load/hw_store paths calls this between guest instructions or blocks, and a change
 * made by another thread is guaranteed visible only after it. Does nothing for a bad CPU index
 * or a halted machine.
 */
void ntmm_cpu_poll(ntmm_machine_t *machine, unsigned cpu);

/* INVLPG and a full TLB flush (global entries too). */
void ntmm_cpu_invlpg(ntmm_machine_t *machine, unsigned cpu, uint64_t la);
void ntmm_cpu_flush_tlb(ntmm_machine_t *machine, unsigned cpu);

/*
 * Reads, writes or fetches len bytes at linear address la as CPU `cpu` at its current
 * privilege. Stops at the first fault; *done (may be NULL) gets the bytes moved before it.
 */
ntmm_status_t ntmm_cpu_access(ntmm_machine_t *machine, unsigned cpu, uint64_t la, void *buf, size_t len,
                              ntmm_access_t access, size_t *done, ntmm_fault_t *fault);

/* Segment registers, in the x86 encoding order. */
typedef enum ntmm_segment {
    NTMM_SEG_ES = 0, NTMM_SEG_CS = 1, NTMM_SEG_SS = 2, NTMM_SEG_DS = 3, NTMM_SEG_FS = 4, NTMM_SEG_GS = 5,
} ntmm_segment_t;

/*
 * The same by logical address (segment register : offset): segmentation first (limit, type
 * and privilege checks for the whole range, before any byte moves; #GP(0), or #SS(0) through
 * SS), then paging as above. A CPU starts with flat 4 GiB segments.
 */
ntmm_status_t ntmm_cpu_access_logical(ntmm_machine_t *machine, unsigned cpu, ntmm_segment_t seg, uint64_t offset,
                                      void *buf, size_t len, ntmm_access_t access, size_t *done,
                                      ntmm_fault_t *fault);

/* Loads a segment register from the GDT/LDT in guest memory, as MOV Sreg does (CS: as a far
 * jump does). Faults (#GP, #NP, #SS, #PF while reading the table) leave the register unchanged. */
ntmm_status_t ntmm_cpu_load_segment(ntmm_machine_t *machine, unsigned cpu, ntmm_segment_t seg, uint16_t selector,
                                    ntmm_fault_t *fault);

/* LGDT and LLDT. */
ntmm_status_t ntmm_cpu_load_gdt(ntmm_machine_t *machine, unsigned cpu, uint64_t base, uint16_t limit,
                                ntmm_fault_t *fault);
ntmm_status_t ntmm_cpu_load_ldt(ntmm_machine_t *machine, unsigned cpu, uint16_t selector, ntmm_fault_t *fault);

/* A page-table walk as WinDbg's !pte shows it; no A/D bits are changed. */
typedef struct ntmm_pte_walk {
    uint32_t levels;         /* levels of the paging mode (0: paging off) */
    uint32_t stop_level;     /* level of the entry that mapped the page or stopped the walk */
    int present;             /* 1 if la translates */
    uint64_t pa;             /* its physical address */
    uint64_t page_size;
    uint64_t entry_pa[6];    /* [level]: physical address of the entry read at that level */
    uint64_t entry[6];       /* [level]: the entry */
} ntmm_pte_walk_t;

ntmm_status_t ntmm_cpu_walk(ntmm_machine_t *machine, unsigned cpu, uint64_t la, ntmm_pte_walk_t *walk);

/* TLB and fault counters of a CPU. tlb_hits stays 0 in a build with NTMM_STATS=OFF. */
typedef struct ntmm_cpu_stats {
    uint64_t tlb_hits, tlb_misses, tlb_flushes, tlb_invlpg, page_faults;
} ntmm_cpu_stats_t;

ntmm_status_t ntmm_cpu_stats(const ntmm_machine_t *machine, unsigned cpu, ntmm_cpu_stats_t *stats);

#endif /* NTMM_MACHINE_H */
