/*
 * ntmm_win32.h - the Win32 memory API of kernel32/KernelBase (VirtualAlloc, VirtualFree,
 * VirtualProtect, VirtualQuery and their Ex forms, GetSystemInfo, GetNativeSystemInfo,
 * GlobalMemoryStatusEx, GetProcessMemoryInfo, GetLastError/SetLastError, GetCurrentProcess)
 * as a thin layer over the Native API of ntmm_process.h, mapped as kernel32 maps it: the
 * same NT call with the Win32 defaults (zero_bits 0), the few checks kernel32 itself makes
 * before the call, and on failure the last error set from RtlNtStatusToDosError's table
 * (rt_nt_status_to_dos_error). A successful call leaves the last error as it was, as on
 * Windows.
 *
 * Guest addresses are uint64_t here; <ntmm/compat/windows.h> wraps these functions under
 * Windows' names and signatures (LPVOID, SIZE_T, HANDLE ...), so Win32 memory code compiles
 * unchanged against ntmm. The pointers those wrappers return are guest addresses: never
 * dereference them; reach the content through ntmm_process_access.
 *
 * Per host thread (Windows keeps both in the TEB): the last error, and the "current process"
 * of the thread with its machine (ntmm_set_current_process). A new host thread starts with
 * last error 0 and no current process; the calls without a process handle (VirtualAlloc ...)
 * then fail with ERROR_INVALID_HANDLE (6), as an NT call on a bad handle does.
 *
 * Process handles. NTMM_CURRENT_PROCESS, (ntmm_handle_t)-1, is the pseudo-handle of the
 * thread's current process (GetCurrentProcess). Any other process is named by the handle
 * ntmm_process_handle returns, which encodes the ntmm_process_t pointer itself: the Win32
 * layer keeps no handle table (it has no per-machine state of its own), so a handle is valid
 * exactly as long as its process, and is not a small multiple of 4 as Windows' are. A NULL
 * handle fails with ERROR_INVALID_HANDLE (6); any other value that is not such a handle is
 * undefined behaviour (Windows would answer 6).
 *
 * Threads: these calls may be made from any host thread; the process calls serialize on the
 * process's address-space lock (ntmm_process.h).
 */
#ifndef NTMM_WIN32_H
#define NTMM_WIN32_H

#include <stddef.h>
#include <stdint.h>

#include <ntmm/ntmm_machine.h>
#include <ntmm/ntmm_process.h>
#include <ntmm/ntmm_vm.h>
#include <ntmm/ntmm_win32err.h>

/* A Win32 process handle (HANDLE). */
typedef void *ntmm_handle_t;

/* GetCurrentProcess's pseudo-handle, NtCurrentProcess(): the current process of the thread. */
#define NTMM_CURRENT_PROCESS ((ntmm_handle_t)(intptr_t)-1)

/* SYSTEM_INFO.wProcessorArchitecture and dwProcessorType (winnt.h values). */
#define NTMM_PROCESSOR_ARCHITECTURE_INTEL 0u
#define NTMM_PROCESSOR_ARCHITECTURE_AMD64 9u
#define NTMM_PROCESSOR_INTEL_PENTIUM      586u
#define NTMM_PROCESSOR_AMD_X8664          8664u

/* ---- Thread state ------------------------------------------------------------------------ */

/*
 * Makes `process` (of `machine`) the current process of the calling host thread: what
 * NTMM_CURRENT_PROCESS and the calls without a handle refer to, and whose machine
 * GetSystemInfo and GlobalMemoryStatusEx describe. process NULL: no current process.
 * The machine is given because a process does not reveal its machine through the public API;
 * it must be the machine the process was created on. Affects only the calling thread.
 * The thread keeps the pointers as given: clear them (NULL) before destroying the process.
 */
void ntmm_set_current_process(ntmm_machine_t *machine, ntmm_process_t *process);

/* GetCurrentProcess: always NTMM_CURRENT_PROCESS, the pseudo-handle (never fails). */
ntmm_handle_t ntmm_get_current_process(void);

/* The handle of `process` for the Ex calls (encodes the pointer; see the file comment). */
ntmm_handle_t ntmm_process_handle(ntmm_process_t *process);

/* GetLastError / SetLastError: the calling host thread's last error. */
uint32_t ntmm_get_last_error(void);
void ntmm_set_last_error(uint32_t error);

/* ---- Virtual memory ---------------------------------------------------------------------- */

/*
 * VirtualAllocEx: NtAllocateVirtualMemory(process, &address, 0, &size, type, protect).
 * Returns the base of the region (address rounded as NT rounds it), or 0 with the last error:
 * a non-zero address below the allocation granularity (64 KiB) is refused by kernel32 itself
 * with ERROR_INVALID_PARAMETER (87); otherwise the NT status mapped (size 0 or a bad
 * protection -> 87, STATUS_CONFLICTING_ADDRESSES -> ERROR_INVALID_ADDRESS 487, ...).
 */
uint64_t ntmm_virtual_alloc_ex(ntmm_handle_t process, uint64_t address, uint64_t size, uint32_t type,
                               uint32_t protect);
/* VirtualAlloc: VirtualAllocEx on the current process. */
uint64_t ntmm_virtual_alloc(uint64_t address, uint64_t size, uint32_t type, uint32_t protect);

/*
 * VirtualFreeEx: kernel32's rules first, each failing with ERROR_INVALID_PARAMETER (87) and
 * no NT call: a free type that is neither MEM_DECOMMIT nor MEM_RELEASE alone (0, both, or
 * other bits), and MEM_RELEASE with size != 0 (Win32 releases whole allocations). Then
 * NtFreeVirtualMemory(process, &address, &size, type). Returns 1 (TRUE) or 0 with the last
 * error set from the NT status.
 */
int ntmm_virtual_free_ex(ntmm_handle_t process, uint64_t address, uint64_t size, uint32_t type);
int ntmm_virtual_free(uint64_t address, uint64_t size, uint32_t type);

/*
 * VirtualProtectEx: NtProtectVirtualMemory(process, &address, &size, new_protect, old).
 * old NULL fails with ERROR_NOACCESS (998) and changes nothing (VP-004). On failure *old
 * holds what NT left there (PAGE_NOACCESS for an uncommitted page). Returns 1 or 0.
 */
int ntmm_virtual_protect_ex(ntmm_handle_t process, uint64_t address, uint64_t size, uint32_t new_protect,
                            uint32_t *old_protect);
int ntmm_virtual_protect(uint64_t address, uint64_t size, uint32_t new_protect, uint32_t *old_protect);

/*
 * VirtualQueryEx: NtQueryVirtualMemory(process, address, MemoryBasicInformation, info,
 * length). Returns the bytes written, sizeof(ntmm_memory_basic_information_t), or 0 with the
 * last error, checked in NT's order: a bad handle (6); an address above the highest user
 * address (87); length < sizeof(ntmm_memory_basic_information_t) (STATUS_INFO_LENGTH_MISMATCH:
 * ERROR_BAD_LENGTH 24); info NULL (998). Nothing is written on failure.
 */
size_t ntmm_virtual_query_ex(ntmm_handle_t process, uint64_t address, ntmm_memory_basic_information_t *info,
                             size_t length);
size_t ntmm_virtual_query(uint64_t address, ntmm_memory_basic_information_t *info, size_t length);

/* ---- System and process information ----------------------------------------------------- */

/* SYSTEM_INFO with guest addresses as 64-bit values. */
typedef struct ntmm_system_info {
    uint16_t processor_architecture;       /* NTMM_PROCESSOR_ARCHITECTURE_* */
    uint32_t page_size;                    /* 4096 */
    uint64_t minimum_application_address;  /* 0x10000 */
    uint64_t maximum_application_address;  /* the process's highest user address */
    uint64_t active_processor_mask;        /* one bit per CPU (32 at most for a 32-bit process) */
    uint32_t number_of_processors;         /* the machine's CPUs */
    uint32_t processor_type;               /* NTMM_PROCESSOR_INTEL_PENTIUM or _AMD_X8664 */
    uint32_t allocation_granularity;       /* 65536 */
    uint16_t processor_level;              /* 6 (family 6) */
    uint16_t processor_revision;           /* 0 */
} ntmm_system_info_t;

/*
 * GetSystemInfo: the system as the current process sees it. The architecture follows the
 * machine's paging mode (x86, PAE: INTEL; x64, LA57: AMD64), except that a 32-bit process on
 * a 64-bit machine (WOW64) sees INTEL, as on Windows. The application addresses are the
 * current process's user-space bounds. Without a current process: all zero, last error 6.
 */
void ntmm_get_system_info(ntmm_system_info_t *info);

/* GetNativeSystemInfo: the same, with the machine's own architecture also for WOW64. */
void ntmm_get_native_system_info(ntmm_system_info_t *info);

/* MEMORYSTATUSEX with the same layout (64 bytes); length must be set by the caller. */
typedef struct ntmm_memory_status_ex {
    uint32_t length;                 /* dwLength: sizeof(ntmm_memory_status_ex_t) */
    uint32_t memory_load;            /* percentage of physical memory in use */
    uint64_t total_phys;             /* RAM the memory manager manages (firmware frames excluded) */
    uint64_t avail_phys;             /* zeroed + free + standby frames */
    uint64_t total_page_file;        /* the commit limit */
    uint64_t avail_page_file;        /* commit limit - commit total */
    uint64_t total_virtual;          /* user space of the current process: max - min + 1 */
    uint64_t avail_virtual;          /* its free (MEM_FREE) part */
    uint64_t avail_extended_virtual; /* always 0 */
} ntmm_memory_status_ex_t;

/*
 * GlobalMemoryStatusEx: the machine's memory (ntmm_memory_stats) and commit figures, and the
 * current process's address space. length != sizeof(ntmm_memory_status_ex_t): 0 with
 * ERROR_INVALID_PARAMETER (87). No current process: 0 with ERROR_INVALID_HANDLE (6).
 */
int ntmm_global_memory_status_ex(ntmm_memory_status_ex_t *status);

/* PROCESS_MEMORY_COUNTERS_EX with 64-bit sizes. */
typedef struct ntmm_process_memory_counters {
    uint32_t page_fault_count;
    uint64_t peak_working_set_size;       /* no peak is tracked yet: the current size */
    uint64_t working_set_size;
    uint64_t quota_peak_paged_pool_usage; /* pools are not modelled: 0 */
    uint64_t quota_paged_pool_usage;
    uint64_t quota_peak_non_paged_pool_usage;
    uint64_t quota_non_paged_pool_usage;
    uint64_t pagefile_usage;              /* the process's commit charge */
    uint64_t peak_pagefile_usage;
    uint64_t private_usage;               /* the same commit charge (PROCESS_MEMORY_COUNTERS_EX) */
} ntmm_process_memory_counters_t;

/*
 * GetProcessMemoryInfo from ntmm_process_memory. Returns 1, or 0 with the last error: a bad
 * handle (6), counters NULL (998). The check of the caller's cb (ERROR_INSUFFICIENT_BUFFER,
 * 122, below sizeof(PROCESS_MEMORY_COUNTERS)) depends on the Windows structure and is made by
 * the compat wrapper, before this call, as psapi makes it.
 */
int ntmm_get_process_memory_info(ntmm_handle_t process, ntmm_process_memory_counters_t *counters);

/* ReadProcessMemory / WriteProcessMemory: TRUE, or FALSE with the last error (ERROR_PARTIAL_COPY
 * when the copy stopped on the target's side); *done (may be NULL) gets the bytes copied. */
int ntmm_read_process_memory(ntmm_handle_t process, uint64_t address, void *buffer, size_t size, size_t *done);
int ntmm_write_process_memory(ntmm_handle_t process, uint64_t address, const void *buffer, size_t size,
                              size_t *done);

/* VirtualLock / VirtualUnlock on the current process (NtLockVirtualMemory(MAP_PROCESS)). */
int ntmm_virtual_lock(uint64_t address, uint64_t size);
int ntmm_virtual_unlock(uint64_t address, uint64_t size);

/* GetWriteWatch / ResetWriteWatch on the current process: 0 on success, (UINT)-1 on failure with
 * the last error (87 for bad arguments, 998 for a NULL output pointer). */
uint32_t ntmm_get_write_watch(uint32_t flags, uint64_t base, uint64_t size, uint64_t *addresses, uint64_t *count,
                              uint32_t *granularity);
uint32_t ntmm_reset_write_watch(uint64_t base, uint64_t size);

#endif /* NTMM_WIN32_H */
