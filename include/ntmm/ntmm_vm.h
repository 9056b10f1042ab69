/*
 * ntmm_vm.h - the public constants of the virtual memory API, with Windows' exact values
 * (winnt.h): allocation types and free types (MEM_*), page protections (PAGE_*), the states
 * and types VirtualQuery reports, the write-watch flag, and the access codes of an access
 * violation's ExceptionInformation[0].
 */
#ifndef NTMM_VM_H
#define NTMM_VM_H

#include <stdint.h>

/* Page protections (VirtualAlloc, VirtualProtect, MEMORY_BASIC_INFORMATION.Protect). Exactly
 * one of the eight base values, optionally with one modifier: GUARD, NOCACHE or WRITECOMBINE. */
#define NTMM_PAGE_NOACCESS          0x01u
#define NTMM_PAGE_READONLY          0x02u
#define NTMM_PAGE_READWRITE         0x04u
#define NTMM_PAGE_WRITECOPY         0x08u
#define NTMM_PAGE_EXECUTE           0x10u
#define NTMM_PAGE_EXECUTE_READ      0x20u
#define NTMM_PAGE_EXECUTE_READWRITE 0x40u
#define NTMM_PAGE_EXECUTE_WRITECOPY 0x80u
#define NTMM_PAGE_GUARD             0x100u
#define NTMM_PAGE_NOCACHE           0x200u
#define NTMM_PAGE_WRITECOMBINE      0x400u

/* Allocation types (VirtualAlloc, NtAllocateVirtualMemory). */
#define NTMM_MEM_COMMIT             0x1000u
#define NTMM_MEM_RESERVE            0x2000u
#define NTMM_MEM_REPLACE_PLACEHOLDER 0x4000u   /* the same value as MEM_DECOMMIT, in an allocation */
#define NTMM_MEM_RESERVE_PLACEHOLDER 0x40000u  /* the same value as MEM_MAPPED, in an allocation */
#define NTMM_MEM_RESET              0x80000u
#define NTMM_MEM_TOP_DOWN           0x100000u
#define NTMM_MEM_WRITE_WATCH        0x200000u
#define NTMM_MEM_PHYSICAL           0x400000u
#define NTMM_MEM_RESET_UNDO         0x1000000u
#define NTMM_MEM_LARGE_PAGES        0x20000000u

/* Free types (VirtualFree, NtFreeVirtualMemory). */
#define NTMM_MEM_COALESCE_PLACEHOLDERS 0x1u
#define NTMM_MEM_PRESERVE_PLACEHOLDER  0x2u
#define NTMM_MEM_DECOMMIT           0x4000u
#define NTMM_MEM_RELEASE            0x8000u

/* MEMORY_BASIC_INFORMATION.State: MEM_COMMIT, MEM_RESERVE or MEM_FREE. */
#define NTMM_MEM_FREE               0x10000u

/* MEMORY_BASIC_INFORMATION.Type (0 for free memory). */
#define NTMM_MEM_PRIVATE            0x20000u
#define NTMM_MEM_MAPPED             0x40000u
#define NTMM_MEM_IMAGE              0x1000000u

/* GetWriteWatch / NtGetWriteWatch flags. */
#define NTMM_WRITE_WATCH_FLAG_RESET 0x1u

/* ExceptionInformation[0] of STATUS_ACCESS_VIOLATION and STATUS_GUARD_PAGE_VIOLATION. */
#define NTMM_EXCEPTION_READ_FAULT    0u
#define NTMM_EXCEPTION_WRITE_FAULT   1u
#define NTMM_EXCEPTION_EXECUTE_FAULT 8u

/* NtQueryVirtualMemory(MemoryBasicInformation) / VirtualQuery: MEMORY_BASIC_INFORMATION with
 * guest addresses as 64-bit values. */
typedef struct ntmm_memory_basic_information {
    uint64_t base_address;       /* BaseAddress: the page of the queried address */
    uint64_t allocation_base;    /* AllocationBase (0 for free memory) */
    uint32_t allocation_protect; /* AllocationProtect: PAGE_* given at reservation */
    uint64_t region_size;        /* RegionSize: bytes from base_address sharing the attributes below */
    uint32_t state;              /* MEM_COMMIT, MEM_RESERVE or MEM_FREE */
    uint32_t protect;            /* PAGE_* of committed pages (0 for reserved, PAGE_NOACCESS for free) */
    uint32_t type;               /* MEM_PRIVATE, MEM_MAPPED, MEM_IMAGE, or 0 for free memory */
} ntmm_memory_basic_information_t;

/*
 * What an access that the memory manager could not resolve raises: Windows' EXCEPTION_RECORD
 * for it. An access violation carries information[0] = NTMM_EXCEPTION_READ_FAULT (0),
 * _WRITE_FAULT (1) or _EXECUTE_FAULT (8) and information[1] = the faulting address; a guard
 * page violation the same two values.
 */
typedef struct ntmm_exception_record {
    uint32_t code;                /* an NTSTATUS: STATUS_ACCESS_VIOLATION, STATUS_GUARD_PAGE_VIOLATION ... */
    uint32_t flags;               /* EXCEPTION_NONCONTINUABLE (1) or 0 */
    uint64_t address;             /* ExceptionAddress: the instruction pointer the caller gave, or 0 */
    uint32_t parameter_count;     /* NumberParameters */
    uint64_t information[15];     /* ExceptionInformation */
} ntmm_exception_record_t;

#endif /* NTMM_VM_H */
