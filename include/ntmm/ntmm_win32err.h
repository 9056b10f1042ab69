/*
 * ntmm_win32err.h - Win32 error codes, exactly as Windows defines them (winerror.h), with the
 * NTMM_ prefix: what GetLastError reports after a failed Win32 call of ntmm's facade.
 *
 * The Win32 facade does not choose these itself: it maps the NTSTATUS the Nt layer returned
 * with RtlNtStatusToDosError's table (src/rt/status_map.c), as kernel32 does. This header
 * lists the codes that table produces for the statuses ntmm uses, and the few the Win32
 * functions set directly (ERROR_INVALID_FLAGS, ...). Values are Windows' (checked against the
 * SDK's winerror.h); a code is a 32-bit unsigned value (Windows' DWORD).
 */
#ifndef NTMM_WIN32ERR_H
#define NTMM_WIN32ERR_H

#include <stdint.h>

typedef uint32_t ntmm_win32_error_t;

#define NTMM_ERROR_SUCCESS                     0u
#define NTMM_NO_ERROR                          0u
#define NTMM_ERROR_INVALID_FUNCTION            1u
#define NTMM_ERROR_FILE_NOT_FOUND              2u
#define NTMM_ERROR_PATH_NOT_FOUND              3u
#define NTMM_ERROR_ACCESS_DENIED               5u
#define NTMM_ERROR_INVALID_HANDLE              6u
#define NTMM_ERROR_NOT_ENOUGH_MEMORY           8u
#define NTMM_ERROR_INVALID_BLOCK               9u
#define NTMM_ERROR_INVALID_ACCESS              12u
#define NTMM_ERROR_OUTOFMEMORY                 14u
#define NTMM_ERROR_NOT_SAME_DEVICE             17u
#define NTMM_ERROR_NOT_READY                   21u
#define NTMM_ERROR_BAD_LENGTH                  24u
#define NTMM_ERROR_GEN_FAILURE                 31u
#define NTMM_ERROR_HANDLE_EOF                  38u
#define NTMM_ERROR_NOT_SUPPORTED               50u
#define NTMM_ERROR_UNEXP_NET_ERR               59u
#define NTMM_ERROR_INVALID_PARAMETER           87u
#define NTMM_ERROR_DISK_FULL                   112u
#define NTMM_ERROR_INSUFFICIENT_BUFFER         122u
#define NTMM_ERROR_DISCARDED                   157u
#define NTMM_ERROR_NOT_LOCKED                  158u
#define NTMM_ERROR_BUSY                        170u
#define NTMM_ERROR_ALREADY_EXISTS              183u
#define NTMM_ERROR_BAD_EXE_FORMAT              193u
#define NTMM_ERROR_MORE_DATA                   234u
#define NTMM_ERROR_NO_MORE_ITEMS               259u
#define NTMM_ERROR_PARTIAL_COPY                299u
/* RtlNtStatusToDosError's answer for a status it has no mapping for. */
#define NTMM_ERROR_MR_MID_NOT_FOUND            317u
#define NTMM_ERROR_INVALID_ADDRESS             487u
#define NTMM_ERROR_ARITHMETIC_OVERFLOW         534u
#define NTMM_ERROR_UNEXPECTED_MM_CREATE_ERR    556u
#define NTMM_ERROR_UNEXPECTED_MM_MAP_ERROR     557u
#define NTMM_ERROR_UNEXPECTED_MM_EXTEND_ERR    558u
#define NTMM_ERROR_PAGEFILE_QUOTA_EXCEEDED     567u
#define NTMM_ERROR_NO_PAGEFILE                 578u
#define NTMM_ERROR_COMMITMENT_MINIMUM          635u
#define NTMM_ERROR_IMAGE_NOT_AT_BASE           700u
#define NTMM_ERROR_IMAGE_MACHINE_TYPE_MISMATCH 706u
#define NTMM_ERROR_IO_PENDING                  997u
#define NTMM_ERROR_NOACCESS                    998u
#define NTMM_ERROR_SWAPERROR                   999u
#define NTMM_ERROR_STACK_OVERFLOW              1001u
#define NTMM_ERROR_INVALID_FLAGS               1004u
#define NTMM_ERROR_FILE_INVALID                1006u
#define NTMM_ERROR_MAPPED_ALIGNMENT            1132u
#define NTMM_ERROR_USER_MAPPED_FILE            1224u
#define NTMM_ERROR_STACK_BUFFER_OVERRUN        1282u
#define NTMM_ERROR_PRIVILEGE_NOT_HELD          1314u
#define NTMM_ERROR_INTERNAL_ERROR              1359u
#define NTMM_ERROR_NO_SYSTEM_RESOURCES         1450u
#define NTMM_ERROR_NONPAGED_SYSTEM_RESOURCES   1451u
#define NTMM_ERROR_PAGED_SYSTEM_RESOURCES      1452u
#define NTMM_ERROR_WORKING_SET_QUOTA           1453u
#define NTMM_ERROR_PAGEFILE_QUOTA              1454u
#define NTMM_ERROR_COMMITMENT_LIMIT            1455u
#define NTMM_ERROR_TIMEOUT                     1460u
#define NTMM_ERROR_INVALID_USER_BUFFER         1784u
#define NTMM_ERROR_NOT_ENOUGH_QUOTA            1816u

#endif /* NTMM_WIN32ERR_H */
