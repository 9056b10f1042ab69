/*
 * ntmm_hw.h - the simulated machine's public vocabulary: configuration, the physical
 * memory map, paging modes, and the fault record every guest access can return.
 */
#ifndef NTMM_HW_H
#define NTMM_HW_H

#include <stddef.h>
#include <stdint.h>

/* Paging modes (Intel SDM vol. 3A, ch. 4). A runtime value, chosen per CPU. */
typedef enum ntmm_paging_mode {
    NTMM_PAGING_NONE = 0,     /* CR0.PG = 0: linear address = physical address */
    NTMM_PAGING_X86 = 1,      /* 32-bit paging: 2 levels 10/10/12, 4 KiB and 4 MiB (PSE) pages */
    NTMM_PAGING_PAE = 2,      /* PAE: 3 levels 2/9/9/12, 4 KiB and 2 MiB pages, NX */
    NTMM_PAGING_X64 = 3,      /* 4-level: 9/9/9/9/12, 4 KiB, 2 MiB and 1 GiB pages, NX */
    NTMM_PAGING_X64_LA57 = 4, /* 5-level: 9/9/9/9/9/12 */
} ntmm_paging_mode_t;

/* Physical memory map entry types: the values of the BIOS E820 map (seed 003's multiboot map). */
typedef enum ntmm_mem_type {
    NTMM_MEM_USABLE = 1,
    NTMM_MEM_RESERVED = 2,
    NTMM_MEM_ACPI_RECLAIMABLE = 3,
    NTMM_MEM_ACPI_NVS = 4,
    NTMM_MEM_BAD = 5,
} ntmm_mem_type_t;

typedef struct ntmm_mem_range {
    uint64_t base;   /* physical address */
    uint64_t length; /* bytes */
    uint32_t type;   /* ntmm_mem_type_t */
} ntmm_mem_range_t;

/* CPU features a machine may leave out (all are present by default). */
#define NTMM_HW_NO_NX        0x0001u /* no execute-disable bit (EFER.NXE cannot be set) */
#define NTMM_HW_NO_1GB_PAGES 0x0002u /* PS in a PDPTE is a reserved bit */
#define NTMM_HW_NO_PSE36     0x0004u /* 4 MiB pages of 32-bit paging reach only 4 GiB */
#define NTMM_HW_NO_LA57      0x0008u /* no 5-level paging */
#define NTMM_HW_NO_SMEP      0x0010u
#define NTMM_HW_NO_SMAP      0x0020u
#define NTMM_HW_NO_PGE       0x0040u /* no global pages */

typedef struct ntmm_hw_config {
    uint64_t ram_bytes;                /* 0: 256 MiB. Backed lazily: untouched RAM costs nothing */
    const ntmm_mem_range_t *mem_map;   /* NULL: a PC map (636 KiB, a hole to 1 MiB, the rest) */
    size_t mem_map_count;
    uint8_t phys_addr_bits;            /* MAXPHYADDR, 32..52; 0: 39, or more if the RAM needs it */
    uint32_t cpu_count;                /* 0: 1 */
    uint32_t tlb_entries;              /* per CPU and privilege set, a power of two >= 2; 0: 1024 */
    uint32_t features_absent;          /* NTMM_HW_NO_* */
} ntmm_hw_config_t;

/* Exception vectors a guest access can raise. */
#define NTMM_VEC_NONE 0u
#define NTMM_VEC_UD   6u  /* invalid opcode (MOV to CS, LLDT outside protected mode) */
#define NTMM_VEC_NP   11u /* segment not present */
#define NTMM_VEC_SS   12u /* stack-segment fault */
#define NTMM_VEC_GP   13u /* general protection */
#define NTMM_VEC_PF   14u /* page fault */
#define NTMM_VEC_MC   18u /* machine check: a physical address that is not RAM */

/* Page-fault error code bits (SDM 4.7). */
#define NTMM_PF_P    0x01u /* 0: not-present page; 1: protection violation */
#define NTMM_PF_W    0x02u /* the access was a write */
#define NTMM_PF_U    0x04u /* the access was a user-mode (CPL 3) access */
#define NTMM_PF_RSVD 0x08u /* a reserved bit was set in a paging-structure entry */
#define NTMM_PF_I    0x10u /* the access was an instruction fetch (reported with NXE or SMEP) */

/* What an access was doing. */
typedef enum ntmm_access {
    NTMM_ACCESS_READ = 0,
    NTMM_ACCESS_WRITE = 1,
    NTMM_ACCESS_EXECUTE = 2,
} ntmm_access_t;

/*
 * A fault record: what the processor reports when a guest access fails.
 *   #PF: address is CR2 (the faulting linear address), error_code the bits above.
 *   #GP, #SS, #NP: error_code is the selector error code (or 0); address is the linear address
 *        (or offset) whose check failed, for the caller's information.
 *   #MC: address is the physical address that is not backed by RAM.
 */
typedef struct ntmm_fault {
    uint32_t vector;     /* NTMM_VEC_* */
    uint32_t error_code;
    uint64_t address;
    uint32_t access;     /* ntmm_access_t of the failed access */
} ntmm_fault_t;

#endif /* NTMM_HW_H */
