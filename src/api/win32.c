/*
 * win32.c - the Win32 memory facade (ntmm_win32.h): kernel32/KernelBase's VirtualAlloc(Ex),
 * VirtualFree(Ex), VirtualProtect(Ex), VirtualQuery(Ex), GetSystemInfo, GetNativeSystemInfo,
 * GlobalMemoryStatusEx, psapi's GetProcessMemoryInfo, and the TEB's LastErrorValue.
 * Each call is the NT call kernel32 makes (ntmm_process.h), preceded by the checks kernel32
 * makes itself, with BaseSetLastNTError's mapping (rt_nt_status_to_dos_error) on failure.
 * No policy lives here.
 */
#include <ntmm/ntmm_win32.h>

#include <string.h>

#include "api/api.h"
#include "rt/rt.h"

#define WIN32_PAGE        0x1000u
#define WIN32_GRANULARITY 0x10000u
#define WIN32_LOWEST_USER 0x10000u /* MM_LOWEST_USER_ADDRESS of every Windows layout */

/*
 * The part of a Windows TEB this layer models: LastErrorValue, and which process (and
 * machine) the thread runs in. This thread-local record is the one exception to the rule
 * "no global mutable state": Windows keeps these per thread, and a per-thread variable is
 * the only way to give GetLastError and GetCurrentProcess their argument-less signatures.
 * It holds no resource; a thread that ends leaves nothing behind.
 */
typedef struct win32_teb {
    ntmm_machine_t *machine;
    ntmm_process_t *process;
    uint32_t last_error;
} win32_teb_t;

static _Thread_local win32_teb_t win32_teb;

void ntmm_set_current_process(ntmm_machine_t *machine, ntmm_process_t *process)
{
    win32_teb.machine = process ? machine : NULL;
    win32_teb.process = process;
}

ntmm_handle_t ntmm_get_current_process(void) { return NTMM_CURRENT_PROCESS; }

ntmm_handle_t ntmm_process_handle(ntmm_process_t *process) { return (ntmm_handle_t)process; }

uint32_t ntmm_get_last_error(void) { return win32_teb.last_error; }

void ntmm_set_last_error(uint32_t error) { win32_teb.last_error = error; }

/* The process a handle names (NULL for the NULL handle, or for the pseudo-handle on a thread
 * without a current process: the NT call then fails with STATUS_INVALID_HANDLE). NT:
 * ObReferenceObjectByHandle on a process handle. */
static ntmm_process_t *win32_process(ntmm_handle_t h)
{
    if (h == NTMM_CURRENT_PROCESS) return win32_teb.process;
    return (ntmm_process_t *)h;
}

/* BaseSetLastNTError: records the Win32 code of a failed NT status; returns 0 for the caller. */
static int win32_fail_nt(ntmm_status_t st)
{
    win32_teb.last_error = rt_nt_status_to_dos_error(st);
    return 0;
}

static int win32_fail(uint32_t error)
{
    win32_teb.last_error = error;
    return 0;
}

uint64_t ntmm_virtual_alloc_ex(ntmm_handle_t process, uint64_t address, uint64_t size, uint32_t type,
                               uint32_t protect)
{
    /* kernel32 refuses a base inside the first allocation granule before calling NT */
    if (address != 0 && address < WIN32_GRANULARITY) return (uint64_t)win32_fail(NTMM_ERROR_INVALID_PARAMETER);
    ntmm_status_t st = ntmm_nt_allocate_virtual_memory(win32_process(process), &address, 0, &size, type, protect);
    if (!NTMM_NT_SUCCESS(st)) return (uint64_t)win32_fail_nt(st);
    return address;
}

uint64_t ntmm_virtual_alloc(uint64_t address, uint64_t size, uint32_t type, uint32_t protect)
{
    return ntmm_virtual_alloc_ex(NTMM_CURRENT_PROCESS, address, size, type, protect);
}

int ntmm_virtual_free_ex(ntmm_handle_t process, uint64_t address, uint64_t size, uint32_t type)
{
    uint32_t op = type & (NTMM_MEM_DECOMMIT | NTMM_MEM_RELEASE);
    if (op != NTMM_MEM_DECOMMIT && op != NTMM_MEM_RELEASE) return win32_fail(NTMM_ERROR_INVALID_PARAMETER);
    /* MEM_RELEASE frees a whole allocation; the placeholder forms name a range */
    bool placeholder = (type & (NTMM_MEM_PRESERVE_PLACEHOLDER | NTMM_MEM_COALESCE_PLACEHOLDERS)) != 0;
    if (op == NTMM_MEM_RELEASE && size != 0 && !placeholder) return win32_fail(NTMM_ERROR_INVALID_PARAMETER);
    ntmm_status_t st = ntmm_nt_free_virtual_memory(win32_process(process), &address, &size, type);
    if (!NTMM_NT_SUCCESS(st)) return win32_fail_nt(st);
    return 1;
}

int ntmm_virtual_free(uint64_t address, uint64_t size, uint32_t type)
{
    return ntmm_virtual_free_ex(NTMM_CURRENT_PROCESS, address, size, type);
}

int ntmm_virtual_protect_ex(ntmm_handle_t process, uint64_t address, uint64_t size, uint32_t new_protect,
                            uint32_t *old_protect)
{
    ntmm_status_t st =
        ntmm_nt_protect_virtual_memory(win32_process(process), &address, &size, new_protect, old_protect);
    if (!NTMM_NT_SUCCESS(st)) return win32_fail_nt(st);
    return 1;
}

int ntmm_virtual_protect(uint64_t address, uint64_t size, uint32_t new_protect, uint32_t *old_protect)
{
    return ntmm_virtual_protect_ex(NTMM_CURRENT_PROCESS, address, size, new_protect, old_protect);
}

size_t ntmm_virtual_query_ex(ntmm_handle_t process, uint64_t address, ntmm_memory_basic_information_t *info,
                             size_t length)
{
    ntmm_memory_basic_information_t mbi;
    ntmm_status_t st = ntmm_nt_query_virtual_memory(win32_process(process), address, &mbi);
    if (!NTMM_NT_SUCCESS(st)) return (size_t)win32_fail_nt(st);
    if (length < sizeof mbi) return (size_t)win32_fail_nt(NTMM_STATUS_INFO_LENGTH_MISMATCH);
    if (!info) return (size_t)win32_fail_nt(NTMM_STATUS_ACCESS_VIOLATION);
    *info = mbi;
    return sizeof mbi;
}

size_t ntmm_virtual_query(uint64_t address, ntmm_memory_basic_information_t *info, size_t length)
{
    return ntmm_virtual_query_ex(NTMM_CURRENT_PROCESS, address, info, length);
}

/*
 * The highest user address of p (MM_HIGHEST_USER_ADDRESS of its layout). The public API has
 * no accessor for a process's layout, so this asks NtQueryVirtualMemory, whose contract
 * (VQ-004) is SUCCESS up to that address and STATUS_INVALID_PARAMETER above it: a binary
 * search of at most 64 queries. Address-space lock taken and dropped by each query.
 */
static uint64_t win32_highest_user(ntmm_process_t *p)
{
    ntmm_memory_basic_information_t mbi;
    uint64_t lo = WIN32_LOWEST_USER, hi = UINT64_MAX; /* lo answers, the answer is <= hi */
    if (ntmm_nt_query_virtual_memory(p, lo, &mbi) != NTMM_STATUS_SUCCESS) return 0;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2u + 1u;
        if (ntmm_nt_query_virtual_memory(p, mid, &mbi) == NTMM_STATUS_SUCCESS)
            lo = mid;
        else
            hi = mid - 1u;
    }
    return lo;
}

static bool win32_native64(const ntmm_machine_t *m)
{
    return m->paging == NTMM_PAGING_X64 || m->paging == NTMM_PAGING_X64_LA57;
}

/* GetSystemInfo / GetNativeSystemInfo (native: the machine's architecture for WOW64 too). */
static void win32_system_info(ntmm_system_info_t *info, bool native)
{
    ntmm_machine_t *m = win32_teb.machine;
    ntmm_process_t *p = win32_teb.process;
    memset(info, 0, sizeof *info);
    if (!m || !p) {
        win32_fail(NTMM_ERROR_INVALID_HANDLE);
        return;
    }
    uint64_t highest = win32_highest_user(p);
    bool amd64 = win32_native64(m) && (native || highest > UINT32_MAX);
    unsigned cpus = m->hw->cpu_count;
    unsigned mask_bits = highest > UINT32_MAX ? 64u : 32u; /* a 32-bit process sees 32 CPUs at most */
    unsigned shown = cpus < mask_bits ? cpus : mask_bits;
    info->processor_architecture =
        (uint16_t)(amd64 ? NTMM_PROCESSOR_ARCHITECTURE_AMD64 : NTMM_PROCESSOR_ARCHITECTURE_INTEL);
    info->page_size = WIN32_PAGE;
    info->minimum_application_address = WIN32_LOWEST_USER;
    info->maximum_application_address = highest;
    info->active_processor_mask = shown >= 64u ? UINT64_MAX : (UINT64_C(1) << shown) - 1u;
    info->number_of_processors = shown;
    info->processor_type = amd64 ? NTMM_PROCESSOR_AMD_X8664 : NTMM_PROCESSOR_INTEL_PENTIUM;
    info->allocation_granularity = WIN32_GRANULARITY;
    info->processor_level = 6;
    info->processor_revision = 0;
}

void ntmm_get_system_info(ntmm_system_info_t *info) { win32_system_info(info, false); }

void ntmm_get_native_system_info(ntmm_system_info_t *info) { win32_system_info(info, true); }

int ntmm_global_memory_status_ex(ntmm_memory_status_ex_t *status)
{
    if (!status) return win32_fail_nt(NTMM_STATUS_ACCESS_VIOLATION);
    if (status->length != sizeof *status) return win32_fail(NTMM_ERROR_INVALID_PARAMETER);
    ntmm_machine_t *m = win32_teb.machine;
    ntmm_process_t *p = win32_teb.process;
    if (!m || !p) return win32_fail(NTMM_ERROR_INVALID_HANDLE);
    ntmm_memory_stats_t s;
    ntmm_status_t st = ntmm_memory_stats(m, &s);
    if (!NTMM_NT_SUCCESS(st)) return win32_fail_nt(st);

    uint64_t total = s.ram_frames - s.by_use[NTMM_USE_FIRMWARE] - s.bad;
    uint64_t avail = s.zeroed + s.free + s.standby;
    /* the machine's commit figures (MmTotalCommitLimit, MmTotalCommittedPages): a process
     * exists, so the VM state is initialised */
    uint64_t limit = __atomic_load_n(&m->vm.commit_limit, __ATOMIC_RELAXED);
    uint64_t charged = __atomic_load_n(&m->vm.commit_total, __ATOMIC_RELAXED);

    /* the current process's user space and its free part */
    uint64_t highest = win32_highest_user(p), free_bytes = 0;
    uint64_t va = WIN32_LOWEST_USER;
    ntmm_memory_basic_information_t mbi;
    while (va <= highest && ntmm_nt_query_virtual_memory(p, va, &mbi) == NTMM_STATUS_SUCCESS) {
        uint64_t end = mbi.base_address + mbi.region_size; /* 0 when the region ends at 2^64 */
        if (end == 0 || end - 1u > highest) end = highest + 1u;
        if (mbi.state == NTMM_MEM_FREE) free_bytes += end - (va > mbi.base_address ? va : mbi.base_address);
        if (end <= va) break;
        va = end;
    }

    status->memory_load = total ? (uint32_t)(((total - (avail < total ? avail : total)) * 100u) / total) : 0u;
    status->total_phys = total * WIN32_PAGE;
    status->avail_phys = avail * WIN32_PAGE;
    status->total_page_file = limit * WIN32_PAGE;
    status->avail_page_file = (charged < limit ? limit - charged : 0u) * WIN32_PAGE;
    status->total_virtual = highest + 1u - WIN32_LOWEST_USER;
    status->avail_virtual = free_bytes;
    status->avail_extended_virtual = 0;
    return 1;
}

int ntmm_get_process_memory_info(ntmm_handle_t process, ntmm_process_memory_counters_t *counters)
{
    ntmm_process_memory_t pm;
    ntmm_status_t st = ntmm_process_memory(win32_process(process), &pm);
    if (!NTMM_NT_SUCCESS(st)) return win32_fail_nt(st);
    if (!counters) return win32_fail_nt(NTMM_STATUS_ACCESS_VIOLATION);
    *counters = (ntmm_process_memory_counters_t){
        .page_fault_count = (uint32_t)pm.page_faults,
        .peak_working_set_size = pm.working_set_bytes,
        .working_set_size = pm.working_set_bytes,
        .pagefile_usage = pm.commit_bytes,
        .peak_pagefile_usage = pm.peak_commit_bytes,
        .private_usage = pm.commit_bytes,
    };
    return 1;
}

int ntmm_read_process_memory(ntmm_handle_t process, uint64_t address, void *buffer, size_t size, size_t *done)
{
    size_t n = 0;
    ntmm_status_t st = ntmm_nt_read_virtual_memory(win32_process(process), address, buffer, size, &n);
    if (done) *done = n;
    return NTMM_NT_SUCCESS(st) && st != NTMM_STATUS_PARTIAL_COPY ? 1 : win32_fail_nt(st);
}

int ntmm_write_process_memory(ntmm_handle_t process, uint64_t address, const void *buffer, size_t size,
                              size_t *done)
{
    size_t n = 0;
    ntmm_status_t st = ntmm_nt_write_virtual_memory(win32_process(process), address, buffer, size, &n);
    if (done) *done = n;
    return NTMM_NT_SUCCESS(st) && st != NTMM_STATUS_PARTIAL_COPY ? 1 : win32_fail_nt(st);
}

int ntmm_virtual_lock(uint64_t address, uint64_t size)
{
    ntmm_status_t st = ntmm_nt_lock_virtual_memory(win32_teb.process, &address, &size, NTMM_MAP_PROCESS);
    return NTMM_NT_SUCCESS(st) ? 1 : win32_fail_nt(st);
}

int ntmm_virtual_unlock(uint64_t address, uint64_t size)
{
    ntmm_status_t st = ntmm_nt_unlock_virtual_memory(win32_teb.process, &address, &size, NTMM_MAP_PROCESS);
    return NTMM_NT_SUCCESS(st) ? 1 : win32_fail_nt(st);
}

uint32_t ntmm_get_write_watch(uint32_t flags, uint64_t base, uint64_t size, uint64_t *addresses, uint64_t *count,
                              uint32_t *granularity)
{
    ntmm_status_t st = ntmm_nt_get_write_watch(win32_teb.process, flags, base, size, addresses, count, granularity);
    if (NTMM_NT_SUCCESS(st)) return 0;
    win32_fail_nt(st);
    return UINT32_MAX;
}

uint32_t ntmm_reset_write_watch(uint64_t base, uint64_t size)
{
    ntmm_status_t st = ntmm_nt_reset_write_watch(win32_teb.process, base, size);
    if (NTMM_NT_SUCCESS(st)) return 0;
    win32_fail_nt(st);
    return UINT32_MAX;
}
