/*
 * ntmm_process.h - processes of a simulated machine and the Native virtual-memory API on them.
 *
 * A process owns a user address space with its own page tables (its CR3); system space is
 * shared by every process of the machine, as on Windows. The ntmm_nt_* functions follow the
 * Windows Native API (NtAllocateVirtualMemory, ...) argument by argument, with the process
 * given as an ntmm_process_t instead of a handle, guest addresses as uint64_t, and NTSTATUS
 * results with Windows' values. Guest memory is reached through ntmm_process_access, which
 * resolves page faults as the memory manager does and reports what it cannot resolve as the
 * exception Windows would raise.
 *
 * Threads: calls on one process are serialized by its address-space lock; different
 * processes may be used from different host threads. A CPU used by ntmm_process_access is
 * owned by the calling host thread for the duration of the call.
 */
#ifndef NTMM_PROCESS_H
#define NTMM_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include <ntmm/ntmm_machine.h>
#include <ntmm/ntmm_vm.h>

typedef struct ntmm_process ntmm_process_t;

/* Address-space layouts (values shown as GetSystemInfo would report them). */
typedef enum ntmm_layout {
    NTMM_LAYOUT_DEFAULT = -1,  /* X64 on the 64-bit modes, X86 on x86 and PAE */
    NTMM_LAYOUT_X86 = 0,       /* 32-bit Windows: user 0x10000-0x7FFEFFFF */
    NTMM_LAYOUT_X86_3GB = 1,   /* 32-bit Windows with 3 GB user space, large-address-aware */
    NTMM_LAYOUT_WOW64 = 2,     /* a 32-bit process on 64-bit Windows */
    NTMM_LAYOUT_WOW64_LAA = 3, /* the same, large-address-aware: 4 GB */
    NTMM_LAYOUT_X64 = 4,       /* 64-bit Windows: user 0x10000-0x7FFFFFFEFFFF */
    NTMM_LAYOUT_SEED000 = 5,   /* seed 000's toy kernel layout */
} ntmm_layout_t;

/* Creates a process. NTMM_STATUS_INVALID_PARAMETER for a layout the machine's paging mode
 * cannot run (the layouts of one machine must share its system space). */
ntmm_status_t ntmm_process_create(ntmm_machine_t *machine, ntmm_layout_t layout, ntmm_process_t **process);

/* Releases everything the process holds, then the process. */
ntmm_status_t ntmm_process_destroy(ntmm_process_t *process);

/* NtAllocateVirtualMemory: MEM_RESERVE / MEM_COMMIT / MEM_RESET / MEM_RESET_UNDO with
 * MEM_TOP_DOWN, MEM_WRITE_WATCH; *base and *size in/out. */
ntmm_status_t ntmm_nt_allocate_virtual_memory(ntmm_process_t *process, uint64_t *base, uint64_t zero_bits,
                                              uint64_t *size, uint32_t allocation_type, uint32_t protect);

/* NtFreeVirtualMemory: MEM_DECOMMIT or MEM_RELEASE; *base and *size in/out. */
ntmm_status_t ntmm_nt_free_virtual_memory(ntmm_process_t *process, uint64_t *base, uint64_t *size, uint32_t free_type);

/* NtProtectVirtualMemory; old may not be NULL (STATUS_ACCESS_VIOLATION, nothing changed). */
ntmm_status_t ntmm_nt_protect_virtual_memory(ntmm_process_t *process, uint64_t *base, uint64_t *size,
                                             uint32_t new_protect, uint32_t *old_protect);

/* NtQueryVirtualMemory(MemoryBasicInformation). */
ntmm_status_t ntmm_nt_query_virtual_memory(ntmm_process_t *process, uint64_t address,
                                           ntmm_memory_basic_information_t *info);

/*
 * NtGetWriteWatch: the pages of [base, base + size) of a MEM_WRITE_WATCH allocation written
 * since the last reset, up to *count of them into addresses[]; *count gets the number stored,
 * *granularity the page size. flags: 0 or NTMM_WRITE_WATCH_FLAG_RESET (reset what was
 * reported). STATUS_INVALID_PARAMETER for bad flags, size 0, *count 0, or a range not inside
 * one write-watch allocation; STATUS_ACCESS_VIOLATION for a NULL count or granularity, or NULL
 * addresses with *count > 0 (the probes).
 */
ntmm_status_t ntmm_nt_get_write_watch(ntmm_process_t *process, uint32_t flags, uint64_t base, uint64_t size,
                                      uint64_t *addresses, uint64_t *count, uint32_t *granularity);

/* NtResetWriteWatch: forgets the writes to [base, base + size); statuses as above. */
ntmm_status_t ntmm_nt_reset_write_watch(ntmm_process_t *process, uint64_t base, uint64_t size);

#define NTMM_MAP_PROCESS 1u /* NtLockVirtualMemory MapType: lock in the working set */
#define NTMM_MAP_SYSTEM  2u /* lock in physical memory (needs SeLockMemoryPrivilege: refused) */

/*
 * NtLockVirtualMemory(MAP_PROCESS): faults every page of the range in and pins it until it is
 * unlocked, decommitted or released. *base and *size in/out (rounded to pages). Fails, locking
 * nothing, with STATUS_ACCESS_VIOLATION on a free, reserved or NOACCESS page and
 * STATUS_GUARD_PAGE_VIOLATION on a guard page (whose guard it clears, GP-004).
 * STATUS_PRIVILEGE_NOT_HELD for MAP_SYSTEM, STATUS_INVALID_PARAMETER for other map types.
 */
ntmm_status_t ntmm_nt_lock_virtual_memory(ntmm_process_t *process, uint64_t *base, uint64_t *size,
                                          uint32_t map_type);

/* NtUnlockVirtualMemory: STATUS_NOT_LOCKED (nothing changes) unless every page is locked. */
ntmm_status_t ntmm_nt_unlock_virtual_memory(ntmm_process_t *process, uint64_t *base, uint64_t *size,
                                            uint32_t map_type);

/*
 * NtReadVirtualMemory / NtWriteVirtualMemory: the kernel copies size bytes between the
 * process's memory at address and buffer (no CPU involved; demand-zero and soft faults are
 * resolved, written pages are marked for write watch). STATUS_PARTIAL_COPY when a free,
 * reserved, NOACCESS or guard page (or, writing, a read-only one) stops the copy, even at 0
 * bytes; *done (may be NULL) gets the bytes copied. STATUS_ACCESS_VIOLATION for a range
 * outside the user space or a NULL buffer with size > 0.
 */
ntmm_status_t ntmm_nt_read_virtual_memory(ntmm_process_t *process, uint64_t address, void *buffer, size_t size,
                                          size_t *done);
ntmm_status_t ntmm_nt_write_virtual_memory(ntmm_process_t *process, uint64_t address, const void *buffer,
                                           size_t size, size_t *done);

/*
 * A thread of the process reads, writes or executes len bytes at address on CPU `cpu` in user
 * mode (CPL 3) or kernel mode (CPL 0): the CPU gets the process's address space, page faults
 * are resolved (demand-zero, soft faults), and an access the memory manager refuses returns
 * the exception's code (STATUS_ACCESS_VIOLATION, STATUS_GUARD_PAGE_VIOLATION, ...) with its
 * record in *record (may be NULL); *done (may be NULL) gets the bytes moved before it.
 */
ntmm_status_t ntmm_process_access(ntmm_process_t *process, unsigned cpu, int user_mode, uint64_t address,
                                  void *buf, size_t len, ntmm_access_t access, size_t *done,
                                  ntmm_exception_record_t *record);

/* Figures of a process (GetProcessMemoryInfo's). */
typedef struct ntmm_process_memory {
    uint64_t commit_bytes;       /* PrivateUsage / PagefileUsage */
    uint64_t peak_commit_bytes;
    uint64_t working_set_bytes;  /* private frames mapped */
    uint64_t page_faults;        /* PageFaultCount */
    uint64_t demand_zero_faults;
    uint64_t soft_faults;
} ntmm_process_memory_t;

ntmm_status_t ntmm_process_memory(ntmm_process_t *process, ntmm_process_memory_t *info);

/* Every invariant checker of the process and the machine. */
ntmm_status_t ntmm_process_check(ntmm_process_t *process);

#endif /* NTMM_PROCESS_H */
