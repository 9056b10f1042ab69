/*
 * status_map.c - NTSTATUS to Win32 error codes: NT's RtlNtStatusToDosError(NoTeb), which
 * kernel32 calls (as BaseSetLastNTError) whenever a Win32 function fails on an Nt call's
 * status. ntmm's Win32 facade maps every failed Nt status through here, so the Win32 error
 * follows from the status alone and the two layers cannot drift apart.
 *
 * Windows keeps one table from status to error, with a few rules applied before it (see
 * rt.h). This file holds the part of that table for every status ntmm defines
 * (ntmm_status.h), which covers what the virtual-memory, section, heap and exception paths
 * can return. A status ntmm does not know gives ERROR_MR_MID_NOT_FOUND, as in Windows for a
 * status missing from its table.
 *
 * The table is sorted by the status as an unsigned 32-bit value and searched by bisection.
 * Each entry names its source:
 *   [W]  Wine dlls/ntdll/tests/error.c: cmp(status, error) checks that pass on Windows.
 *   [C]  shared/conformance/windows-semantics.md section 23 (Win32 errors observed by
 *        conformance tests on Windows; VirtualLock's GLE of 0x80000001 for a guard page).
 *   [T]  Windows' table as dumped into Wine's dlls/ntdll/error.h (make_errors, 2020) and
 *        ReactOS sdk/lib/rtl/error.c; run through Wine's RtlNtStatusToDosError for this
 *        set, every entry agreed.
 * Where sources differ, newer Windows wins: STATUS_ILLEGAL_INSTRUCTION maps to itself in
 * [T] (an older Wine table had ERROR_INVALID_FUNCTION), and STATUS_COMMITMENT_MINIMUM
 * maps to ERROR_COMMITMENT_MINIMUM in [T] (older tables had no entry, i.e. 317).
 */
#include <stddef.h>

#include "rt/rt.h"

/* The status bits the rules read before the table (ntstatus.h's layout). */
#define RT_STATUS_CUSTOMER_BIT 0x20000000u
#define RT_STATUS_RESERVED_BIT 0x10000000u

typedef struct rt_status_map_entry {
    uint32_t status;
    uint32_t error;
} rt_status_map_entry_t;

#define M(st, err) { (uint32_t)NTMM_STATUS_##st, (err) }
/* A status that Windows maps to itself (exception codes and some warnings). */
#define SELF(st) { (uint32_t)NTMM_STATUS_##st, (uint32_t)NTMM_STATUS_##st }

static const rt_status_map_entry_t rt_status_map[] = {
    /* informational (0x4...) */
    M(WORKING_SET_LIMIT_RANGE, NTMM_ERROR_INVALID_PARAMETER),            /* [W][T] */
    M(IMAGE_NOT_AT_BASE, NTMM_ERROR_IMAGE_NOT_AT_BASE),                  /* [T] */
    M(IMAGE_MACHINE_TYPE_MISMATCH, NTMM_ERROR_IMAGE_MACHINE_TYPE_MISMATCH), /* [T] */

    /* warnings (0x8...) */
    SELF(GUARD_PAGE_VIOLATION),                                          /* [C][T] */
    M(DATATYPE_MISALIGNMENT, NTMM_ERROR_NOACCESS),                       /* [W][T] */
    SELF(BREAKPOINT),                                                    /* [T] */
    SELF(SINGLE_STEP),                                                   /* [T] */
    M(BUFFER_OVERFLOW, NTMM_ERROR_MORE_DATA),                            /* [W][C][T] */
    M(PARTIAL_COPY, NTMM_ERROR_PARTIAL_COPY),                            /* [W][C][T] */

    /* errors (0xC...) */
    M(UNSUCCESSFUL, NTMM_ERROR_GEN_FAILURE),                             /* [W][T] */
    M(NOT_IMPLEMENTED, NTMM_ERROR_INVALID_FUNCTION),                     /* [W][T] */
    M(INVALID_INFO_CLASS, NTMM_ERROR_INVALID_PARAMETER),                 /* [W][C][T] */
    M(INFO_LENGTH_MISMATCH, NTMM_ERROR_BAD_LENGTH),                      /* [W][C][T] */
    M(ACCESS_VIOLATION, NTMM_ERROR_NOACCESS),                            /* [W][C][T] */
    M(IN_PAGE_ERROR, NTMM_ERROR_SWAPERROR),                              /* [W][T] */
    M(PAGEFILE_QUOTA, NTMM_ERROR_PAGEFILE_QUOTA),                        /* [W][T] */
    M(INVALID_HANDLE, NTMM_ERROR_INVALID_HANDLE),                        /* [W][C][T] */
    M(INVALID_PARAMETER, NTMM_ERROR_INVALID_PARAMETER),                  /* [W][C][T] */
    M(NO_MEMORY, NTMM_ERROR_NOT_ENOUGH_MEMORY),                          /* [W][C][T] */
    M(CONFLICTING_ADDRESSES, NTMM_ERROR_INVALID_ADDRESS),                /* [W][C][T] */
    M(NOT_MAPPED_VIEW, NTMM_ERROR_INVALID_ADDRESS),                      /* [W][T] */
    M(UNABLE_TO_FREE_VM, NTMM_ERROR_INVALID_PARAMETER),                  /* [W][C][T] */
    M(UNABLE_TO_DELETE_SECTION, NTMM_ERROR_INVALID_PARAMETER),           /* [W][C][T] */
    SELF(ILLEGAL_INSTRUCTION),                                           /* [T] */
    M(INVALID_VIEW_SIZE, NTMM_ERROR_ACCESS_DENIED),                      /* [W][C][T] */
    M(INVALID_FILE_FOR_SECTION, NTMM_ERROR_BAD_EXE_FORMAT),              /* [W][C][T] */
    M(ALREADY_COMMITTED, NTMM_ERROR_ACCESS_DENIED),                      /* [W][T] */
    M(ACCESS_DENIED, NTMM_ERROR_ACCESS_DENIED),                          /* [W][C][T] */
    M(BUFFER_TOO_SMALL, NTMM_ERROR_INSUFFICIENT_BUFFER),                 /* [W][T] */
    M(OBJECT_TYPE_MISMATCH, NTMM_ERROR_INVALID_HANDLE),                  /* [W][C][T] */
    SELF(NONCONTINUABLE_EXCEPTION),                                      /* [T] */
    M(NOT_LOCKED, NTMM_ERROR_NOT_LOCKED),                                /* [W][T] */
    M(UNABLE_TO_DECOMMIT_VM, NTMM_ERROR_INVALID_ADDRESS),                /* [W][T] */
    M(NOT_COMMITTED, NTMM_ERROR_INVALID_ADDRESS),                        /* [W][C][T] */
    M(INVALID_PARAMETER_MIX, NTMM_ERROR_INVALID_PARAMETER),              /* [W][T] */
    M(SECTION_TOO_BIG, NTMM_ERROR_NOT_ENOUGH_MEMORY),                    /* [W][C][T] */
    M(QUOTA_EXCEEDED, NTMM_ERROR_NOT_ENOUGH_QUOTA),                      /* [W][T] */
    M(INVALID_PAGE_PROTECTION, NTMM_ERROR_INVALID_PARAMETER),            /* [W][C][T] */
    M(SECTION_NOT_IMAGE, NTMM_ERROR_INVALID_PARAMETER),                  /* [W][C][T] */
    M(BAD_WORKING_SET_LIMIT, NTMM_ERROR_INVALID_PARAMETER),              /* [W][T] */
    M(INCOMPATIBLE_FILE_MAP, NTMM_ERROR_INVALID_PARAMETER),              /* [W][T] */
    M(SECTION_PROTECTION, NTMM_ERROR_INVALID_PARAMETER),                 /* [W][C][T] */
    M(PRIVILEGE_NOT_HELD, NTMM_ERROR_PRIVILEGE_NOT_HELD),                /* [W][T] */
    M(INVALID_IMAGE_FORMAT, NTMM_ERROR_BAD_EXE_FORMAT),                  /* [W][T] */
    M(RANGE_NOT_LOCKED, NTMM_ERROR_NOT_LOCKED),                          /* [W][T] */
    M(DISK_FULL, NTMM_ERROR_DISK_FULL),                                  /* [W][T] */
    M(SECTION_NOT_EXTENDED, NTMM_ERROR_OUTOFMEMORY),                     /* [W][T] */
    M(NOT_MAPPED_DATA, NTMM_ERROR_INVALID_ADDRESS),                      /* [W][T] */
    SELF(ARRAY_BOUNDS_EXCEEDED),                                         /* [T] */
    SELF(INTEGER_DIVIDE_BY_ZERO),                                        /* [T] */
    M(INTEGER_OVERFLOW, NTMM_ERROR_ARITHMETIC_OVERFLOW),                 /* [W][T] */
    SELF(PRIVILEGED_INSTRUCTION),                                        /* [T] */
    M(TOO_MANY_PAGING_FILES, NTMM_ERROR_NOT_ENOUGH_MEMORY),              /* [W][T] */
    M(FILE_INVALID, NTMM_ERROR_FILE_INVALID),                            /* [W][T] */
    M(INSUFFICIENT_RESOURCES, NTMM_ERROR_NO_SYSTEM_RESOURCES),           /* [W][C][T] */
    M(FREE_VM_NOT_AT_BASE, NTMM_ERROR_INVALID_ADDRESS),                  /* [W][C][T] */
    M(MEMORY_NOT_ALLOCATED, NTMM_ERROR_INVALID_ADDRESS),                 /* [W][C][T] */
    M(WORKING_SET_QUOTA, NTMM_ERROR_WORKING_SET_QUOTA),                  /* [W][T] */
    M(DEVICE_NOT_READY, NTMM_ERROR_NOT_READY),                           /* [W][T] */
    M(NOT_SUPPORTED, NTMM_ERROR_NOT_SUPPORTED),                          /* [W][C][T] */
    M(NOT_SAME_DEVICE, NTMM_ERROR_NOT_SAME_DEVICE),                      /* [W][C][T] */
    M(INTERNAL_ERROR, NTMM_ERROR_INTERNAL_ERROR),                        /* [W][T] */
    M(UNEXPECTED_MM_CREATE_ERR, NTMM_ERROR_UNEXPECTED_MM_CREATE_ERR),    /* [T] */
    M(UNEXPECTED_MM_MAP_ERROR, NTMM_ERROR_UNEXPECTED_MM_MAP_ERROR),      /* [T] */
    M(UNEXPECTED_MM_EXTEND_ERR, NTMM_ERROR_UNEXPECTED_MM_EXTEND_ERR),    /* [T] */
    M(INVALID_PARAMETER_1, NTMM_ERROR_INVALID_PARAMETER),                /* [W][T] */
    M(INVALID_PARAMETER_2, NTMM_ERROR_INVALID_PARAMETER),                /* [W][C][T] */
    M(INVALID_PARAMETER_3, NTMM_ERROR_INVALID_PARAMETER),                /* [W][C][T] */
    M(INVALID_PARAMETER_4, NTMM_ERROR_INVALID_PARAMETER),                /* [W][C][T] */
    M(INVALID_PARAMETER_5, NTMM_ERROR_INVALID_PARAMETER),                /* [W][C][T] */
    M(INVALID_PARAMETER_6, NTMM_ERROR_INVALID_PARAMETER),                /* [W][C][T] */
    M(INVALID_PARAMETER_7, NTMM_ERROR_INVALID_PARAMETER),                /* [W][T] */
    M(INVALID_PARAMETER_8, NTMM_ERROR_INVALID_PARAMETER),                /* [W][T] */
    M(INVALID_PARAMETER_9, NTMM_ERROR_INVALID_PARAMETER),                /* [W][C][T] */
    M(INVALID_PARAMETER_10, NTMM_ERROR_INVALID_PARAMETER),               /* [W][T] */
    M(INVALID_PARAMETER_11, NTMM_ERROR_INVALID_PARAMETER),               /* [W][T] */
    M(INVALID_PARAMETER_12, NTMM_ERROR_INVALID_PARAMETER),               /* [W][T] */
    M(STACK_OVERFLOW, NTMM_ERROR_STACK_OVERFLOW),                        /* [W][T] */
    M(PROCESS_IS_TERMINATING, NTMM_ERROR_ACCESS_DENIED),                 /* [W][T] */
    M(MAPPED_FILE_SIZE_ZERO, NTMM_ERROR_FILE_INVALID),                   /* [W][C][T] */
    M(PAGEFILE_QUOTA_EXCEEDED, NTMM_ERROR_PAGEFILE_QUOTA_EXCEEDED),      /* [T] */
    M(COMMITMENT_LIMIT, NTMM_ERROR_COMMITMENT_LIMIT),                    /* [W][C][T] */
    M(INVALID_IMAGE_NOT_MZ, NTMM_ERROR_BAD_EXE_FORMAT),                  /* [W][C][T] */
    M(INVALID_ADDRESS, NTMM_ERROR_UNEXP_NET_ERR),                        /* [W][C][T] */
    M(NO_PAGEFILE, NTMM_ERROR_NO_PAGEFILE),                              /* [T] */
    M(MAPPED_ALIGNMENT, NTMM_ERROR_MAPPED_ALIGNMENT),                    /* [W][C][T] */
    M(USER_MAPPED_FILE, NTMM_ERROR_USER_MAPPED_FILE),                    /* [W][T] */
    M(COMMITMENT_MINIMUM, NTMM_ERROR_COMMITMENT_MINIMUM),                /* [T] */
    M(HEAP_CORRUPTION, NTMM_ERROR_INTERNAL_ERROR),                       /* [T] */
};

#undef M
#undef SELF

#define RT_STATUS_MAP_COUNT (sizeof rt_status_map / sizeof rt_status_map[0])

/* True when the rules of rt_nt_status_to_dos_error decide s before the table is read. */
static bool rt_status_decided_before_table(uint32_t s)
{
    uint32_t hi = s >> 16;
    return s == 0 || (s & RT_STATUS_CUSTOMER_BIT) != 0 || (s & 0xF0000000u) == 0xD0000000u ||
           hi == 0xC001u || hi == 0x8007u || hi == 0xC007u;
}

/* The table's entry for s, or NULL. Bisection over rt_status_map (sorted by status). */
static const rt_status_map_entry_t *rt_status_map_find(uint32_t s)
{
    size_t lo = 0, hi = RT_STATUS_MAP_COUNT;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rt_status_map[mid].status < s)
            lo = mid + 1;
        else if (rt_status_map[mid].status > s)
            hi = mid;
        else
            return &rt_status_map[mid];
    }
    return NULL;
}

uint32_t rt_nt_status_to_dos_error(ntmm_status_t status)
{
    uint32_t s = (uint32_t)status;
    if (s == 0 || (s & RT_STATUS_CUSTOMER_BIT)) return s;
    if ((s & 0xF0000000u) == 0xD0000000u) s &= ~RT_STATUS_RESERVED_BIT;
    uint32_t hi = s >> 16;
    if (hi == 0xC001u || hi == 0x8007u || hi == 0xC007u) return s & 0xFFFFu;
    const rt_status_map_entry_t *e = rt_status_map_find(s);
    return e ? e->error : NTMM_ERROR_MR_MID_NOT_FOUND;
}

bool rt_status_map_check(void)
{
    for (size_t i = 0; i < RT_STATUS_MAP_COUNT; i++) {
        const rt_status_map_entry_t *e = &rt_status_map[i];
        if (i > 0 && rt_status_map[i - 1].status >= e->status) return false;
        if (rt_status_decided_before_table(e->status)) return false;
        if (rt_nt_status_to_dos_error((ntmm_status_t)e->status) != e->error) return false;
    }
    return true;
}
