/*
 * rt.h - the runtime layer (NT's Rtl* routines) that the facades build on: today the mapping
 * of NTSTATUS values to the Win32 error codes GetLastError reports.
 */
#ifndef NTMM_RT_RT_H
#define NTMM_RT_RT_H

#include <stdbool.h>
#include <stdint.h>

#include <ntmm/ntmm_status.h>
#include <ntmm/ntmm_win32err.h>

/*
 * The Win32 error code for status, as Windows' RtlNtStatusToDosErrorNoTeb computes it
 * (status_map.c; RtlNtStatusToDosError also records status in the TEB, which ntmm's facade
 * does itself). In order:
 *   - STATUS_SUCCESS gives 0, and a status with the customer bit (0x20000000) comes back
 *     unchanged;
 *   - a status of severity 0xD is read as 0xC (the reserved bit 28 is ignored);
 *   - 0xC001xxxx, 0x8007xxxx and 0xC007xxxx (a Win32 code wrapped as an NTSTATUS or an
 *     HRESULT) give their low 16 bits;
 *   - otherwise Windows' table: some warnings and exception codes map to themselves
 *     (STATUS_GUARD_PAGE_VIOLATION gives 0x80000001), and a status missing from the table
 *     gives ERROR_MR_MID_NOT_FOUND (317).
 * Pure function of status; no lock, any thread.
 */
uint32_t rt_nt_status_to_dos_error(ntmm_status_t status);

/*
 * Validator of the mapping table: true when it is sorted strictly by status (the binary
 * search relies on it), holds no entry that the rules above decide before the table is
 * read, and every entry is found again by rt_nt_status_to_dos_error.
 */
bool rt_status_map_check(void);

#endif /* NTMM_RT_RT_H */
