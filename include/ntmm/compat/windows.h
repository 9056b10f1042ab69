/*
 * ntmm/compat/windows.h - Windows' own names for ntmm's public vocabulary: the base types of
 * windef.h/winnt.h/basetsd.h, the structures of the memory API (MEMORY_BASIC_INFORMATION,
 * SYSTEM_INFO, MEMORYSTATUS(EX), PROCESS_MEMORY_COUNTERS(_EX), EXCEPTION_RECORD), and the
 * MEM_*, PAGE_*, ERROR_*, STATUS_* and EXCEPTION_* constants.
 *
 * Opt-in: nothing in ntmm includes it. Code ported from Windows, or tests written from
 * Windows' documentation, include it to keep Windows' spelling. It must not be combined with
 * a real <windows.h> (the names are the same). It compiles as C11 with -Wpedantic.
 *
 * Where the values live: every constant here is defined from its NTMM_ twin in ntmm_vm.h,
 * ntmm_status.h or ntmm_win32err.h, so each value is written once. The exceptions are the
 * constants that belong to a structure defined here (EXCEPTION_MAXIMUM_PARAMETERS,
 * EXCEPTION_NONCONTINUABLE) and TRUE/FALSE.
 *
 * Types and layouts. Windows is LLP64: LONG, ULONG and DWORD are 32 bits on every Windows,
 * so they are int32_t/uint32_t here (a host's `long` may be 64 bits); WCHAR is 16 bits.
 * The pointer-sized types (PVOID, SIZE_T, ULONG_PTR, HANDLE) have the host's pointer size.
 * A pointer in these structures holds a *guest* virtual address, not a host pointer: ntmm
 * fills MEMORY_BASIC_INFORMATION.BaseAddress with the address in the simulated process and
 * the embedder must never dereference it. On a 64-bit host the structures therefore have
 * exactly the 64-bit Windows layout (MEMORY_BASIC_INFORMATION: 48 bytes, RegionSize at 24;
 * SYSTEM_INFO: 48 bytes); on a 32-bit host they have the 32-bit Windows layout. The fixed
 * forms MEMORY_BASIC_INFORMATION32/64 and EXCEPTION_RECORD32/64 have the same layout on
 * every host; use them to describe a guest whose pointer width differs from the host's
 * (a 32-bit guest process on a 64-bit host).
 *
 * Types are those of the ABI, not Windows' C spelling: DWORD is uint32_t where Windows says
 * `unsigned long`. Sizes, alignments and offsets match; tests/api/test_compat_types.c
 * checks each of them against Windows' values.
 */
#ifndef NTMM_COMPAT_WINDOWS_H
#define NTMM_COMPAT_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

#include <ntmm/ntmm_status.h>
#include <ntmm/ntmm_vm.h>
#include <ntmm/ntmm_win32err.h>

#if UINTPTR_MAX > 0xFFFFFFFFu
#define NTMM_COMPAT_PTR64 1 /* the host's pointers, and so PVOID and SIZE_T, are 64 bits */
#else
#define NTMM_COMPAT_PTR64 0
#endif

/* ---- Base types (windef.h, winnt.h, basetsd.h) --------------------------------------- */

#define VOID void
typedef void *PVOID, *LPVOID;
typedef const void *LPCVOID;

typedef int BOOL;
typedef BOOL *PBOOL, *LPBOOL;
typedef uint8_t BOOLEAN;
typedef BOOLEAN *PBOOLEAN;
#define FALSE 0
#define TRUE 1

typedef char CHAR;
typedef unsigned char UCHAR;
typedef int16_t SHORT;
typedef uint16_t USHORT;
typedef uint16_t WCHAR;
typedef uint8_t BYTE;
typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef int INT;
typedef unsigned int UINT;
typedef int32_t LONG;
typedef uint32_t ULONG;
typedef int64_t LONGLONG;
typedef uint64_t ULONGLONG;
typedef uint64_t DWORDLONG;

typedef CHAR *PCHAR, *LPSTR;
typedef const CHAR *LPCSTR;
typedef UCHAR *PUCHAR;
typedef WCHAR *PWCHAR, *LPWSTR;
typedef const WCHAR *LPCWSTR;
typedef BYTE *PBYTE, *LPBYTE;
typedef WORD *PWORD, *LPWORD;
typedef DWORD *PDWORD, *LPDWORD;
typedef SHORT *PSHORT;
typedef USHORT *PUSHORT;
typedef INT *PINT;
typedef UINT *PUINT;
typedef LONG *PLONG;
typedef ULONG *PULONG;
typedef LONGLONG *PLONGLONG;
typedef ULONGLONG *PULONGLONG;

/* Fixed-width integers (basetsd.h). */
typedef int8_t INT8;
typedef uint8_t UINT8;
typedef int16_t INT16;
typedef uint16_t UINT16;
typedef int32_t INT32, LONG32;
typedef uint32_t UINT32, ULONG32, DWORD32;
typedef int64_t INT64, LONG64;
typedef uint64_t UINT64, ULONG64, DWORD64;
typedef INT64 *PINT64;
typedef UINT64 *PUINT64;
typedef LONG64 *PLONG64;
typedef ULONG64 *PULONG64;
typedef DWORD64 *PDWORD64;

/* Pointer-sized integers (basetsd.h): the host's pointer width. */
typedef intptr_t INT_PTR, LONG_PTR;
typedef uintptr_t UINT_PTR, ULONG_PTR, DWORD_PTR;
typedef ULONG_PTR SIZE_T;
typedef LONG_PTR SSIZE_T;
typedef INT_PTR *PINT_PTR;
typedef UINT_PTR *PUINT_PTR;
typedef LONG_PTR *PLONG_PTR;
typedef ULONG_PTR *PULONG_PTR;
typedef DWORD_PTR *PDWORD_PTR;
typedef SIZE_T *PSIZE_T;
typedef SSIZE_T *PSSIZE_T;

typedef void *HANDLE;
typedef HANDLE *PHANDLE, *LPHANDLE;
#define INVALID_HANDLE_VALUE ((HANDLE)(LONG_PTR)-1)

typedef ntmm_status_t NTSTATUS;
typedef NTSTATUS *PNTSTATUS;
#define NT_SUCCESS(Status)     NTMM_NT_SUCCESS(Status)
#define NT_INFORMATION(Status) NTMM_NT_INFORMATION(Status)
#define NT_WARNING(Status)     NTMM_NT_WARNING(Status)
#define NT_ERROR(Status)       NTMM_NT_ERROR(Status)

/* LARGE_INTEGER (section sizes and offsets of NtCreateSection / NtMapViewOfSection): 8 bytes,
 * 8-byte aligned as on every Windows. */
typedef union _LARGE_INTEGER {
    struct {
        DWORD LowPart;
        LONG HighPart;
    };
    struct {
        DWORD LowPart;
        LONG HighPart;
    } u;
    _Alignas(8) LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef union _ULARGE_INTEGER {
    struct {
        DWORD LowPart;
        DWORD HighPart;
    };
    struct {
        DWORD LowPart;
        DWORD HighPart;
    } u;
    _Alignas(8) ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

/* ---- Structures of the memory API -------------------------------------------------------- */

/*
 * VirtualQuery(Ex) / NtQueryVirtualMemory(MemoryBasicInformation). BaseAddress and
 * AllocationBase are guest addresses. PartitionId exists on 64-bit Windows only, in what
 * is otherwise padding; ntmm leaves it 0 (the system partition).
 */
typedef struct _MEMORY_BASIC_INFORMATION {
    PVOID BaseAddress;
    PVOID AllocationBase;
    DWORD AllocationProtect;
#if NTMM_COMPAT_PTR64
    WORD PartitionId;
#endif
    SIZE_T RegionSize;
    DWORD State;
    DWORD Protect;
    DWORD Type;
} MEMORY_BASIC_INFORMATION, *PMEMORY_BASIC_INFORMATION;

/* The fixed forms, for a guest of either width (winnt.h; the 64-bit one is 16-byte aligned). */
typedef struct _MEMORY_BASIC_INFORMATION32 {
    DWORD BaseAddress;
    DWORD AllocationBase;
    DWORD AllocationProtect;
    DWORD RegionSize;
    DWORD State;
    DWORD Protect;
    DWORD Type;
} MEMORY_BASIC_INFORMATION32, *PMEMORY_BASIC_INFORMATION32;

typedef struct _MEMORY_BASIC_INFORMATION64 {
    _Alignas(16) ULONGLONG BaseAddress;
    ULONGLONG AllocationBase;
    DWORD AllocationProtect;
    DWORD __alignment1;
    ULONGLONG RegionSize;
    DWORD State;
    DWORD Protect;
    DWORD Type;
    DWORD __alignment2;
} MEMORY_BASIC_INFORMATION64, *PMEMORY_BASIC_INFORMATION64;

/* GetSystemInfo / GetNativeSystemInfo. The application addresses are guest addresses. */
typedef struct _SYSTEM_INFO {
    union {
        DWORD dwOemId;
        struct {
            WORD wProcessorArchitecture;
            WORD wReserved;
        };
    };
    DWORD dwPageSize;
    LPVOID lpMinimumApplicationAddress;
    LPVOID lpMaximumApplicationAddress;
    DWORD_PTR dwActiveProcessorMask;
    DWORD dwNumberOfProcessors;
    DWORD dwProcessorType;
    DWORD dwAllocationGranularity;
    WORD wProcessorLevel;
    WORD wProcessorRevision;
} SYSTEM_INFO, *LPSYSTEM_INFO;

/* GlobalMemoryStatus (sizes in SIZE_T, saturated on Windows) and GlobalMemoryStatusEx. */
typedef struct _MEMORYSTATUS {
    DWORD dwLength;
    DWORD dwMemoryLoad;
    SIZE_T dwTotalPhys;
    SIZE_T dwAvailPhys;
    SIZE_T dwTotalPageFile;
    SIZE_T dwAvailPageFile;
    SIZE_T dwTotalVirtual;
    SIZE_T dwAvailVirtual;
} MEMORYSTATUS, *LPMEMORYSTATUS;

typedef struct _MEMORYSTATUSEX {
    DWORD dwLength;
    DWORD dwMemoryLoad;
    DWORDLONG ullTotalPhys;
    DWORDLONG ullAvailPhys;
    DWORDLONG ullTotalPageFile;
    DWORDLONG ullAvailPageFile;
    DWORDLONG ullTotalVirtual;
    DWORDLONG ullAvailVirtual;
    DWORDLONG ullAvailExtendedVirtual;
} MEMORYSTATUSEX, *LPMEMORYSTATUSEX;

/* GetProcessMemoryInfo (psapi.h). cb is the size of the structure the caller passes. */
typedef struct _PROCESS_MEMORY_COUNTERS {
    DWORD cb;
    DWORD PageFaultCount;
    SIZE_T PeakWorkingSetSize;
    SIZE_T WorkingSetSize;
    SIZE_T QuotaPeakPagedPoolUsage;
    SIZE_T QuotaPagedPoolUsage;
    SIZE_T QuotaPeakNonPagedPoolUsage;
    SIZE_T QuotaNonPagedPoolUsage;
    SIZE_T PagefileUsage;
    SIZE_T PeakPagefileUsage;
} PROCESS_MEMORY_COUNTERS, *PPROCESS_MEMORY_COUNTERS;

typedef struct _PROCESS_MEMORY_COUNTERS_EX {
    DWORD cb;
    DWORD PageFaultCount;
    SIZE_T PeakWorkingSetSize;
    SIZE_T WorkingSetSize;
    SIZE_T QuotaPeakPagedPoolUsage;
    SIZE_T QuotaPagedPoolUsage;
    SIZE_T QuotaPeakNonPagedPoolUsage;
    SIZE_T QuotaNonPagedPoolUsage;
    SIZE_T PagefileUsage;
    SIZE_T PeakPagefileUsage;
    SIZE_T PrivateUsage;
} PROCESS_MEMORY_COUNTERS_EX, *PPROCESS_MEMORY_COUNTERS_EX;

/*
 * An exception as the guest's handlers see it (winnt.h). ExceptionAddress and the
 * ExceptionInformation words of an access violation (access code, faulting address) are
 * guest values; ExceptionRecord links a nested record.
 */
#define EXCEPTION_MAXIMUM_PARAMETERS 15
#define EXCEPTION_NONCONTINUABLE     0x1 /* ExceptionFlags: the handler may not continue */

typedef struct _EXCEPTION_RECORD {
    DWORD ExceptionCode;
    DWORD ExceptionFlags;
    struct _EXCEPTION_RECORD *ExceptionRecord;
    PVOID ExceptionAddress;
    DWORD NumberParameters;
    ULONG_PTR ExceptionInformation[EXCEPTION_MAXIMUM_PARAMETERS];
} EXCEPTION_RECORD, *PEXCEPTION_RECORD;

typedef struct _EXCEPTION_RECORD32 {
    DWORD ExceptionCode;
    DWORD ExceptionFlags;
    DWORD ExceptionRecord;
    DWORD ExceptionAddress;
    DWORD NumberParameters;
    DWORD ExceptionInformation[EXCEPTION_MAXIMUM_PARAMETERS];
} EXCEPTION_RECORD32, *PEXCEPTION_RECORD32;

typedef struct _EXCEPTION_RECORD64 {
    DWORD ExceptionCode;
    DWORD ExceptionFlags;
    _Alignas(8) DWORD64 ExceptionRecord;
    DWORD64 ExceptionAddress;
    DWORD NumberParameters;
    DWORD __unusedAlignment;
    DWORD64 ExceptionInformation[EXCEPTION_MAXIMUM_PARAMETERS];
} EXCEPTION_RECORD64, *PEXCEPTION_RECORD64;

/* ---- Page protections and allocation types (winnt.h) --------------------------------- */

#define PAGE_NOACCESS          NTMM_PAGE_NOACCESS
#define PAGE_READONLY          NTMM_PAGE_READONLY
#define PAGE_READWRITE         NTMM_PAGE_READWRITE
#define PAGE_WRITECOPY         NTMM_PAGE_WRITECOPY
#define PAGE_EXECUTE           NTMM_PAGE_EXECUTE
#define PAGE_EXECUTE_READ      NTMM_PAGE_EXECUTE_READ
#define PAGE_EXECUTE_READWRITE NTMM_PAGE_EXECUTE_READWRITE
#define PAGE_EXECUTE_WRITECOPY NTMM_PAGE_EXECUTE_WRITECOPY
#define PAGE_GUARD             NTMM_PAGE_GUARD
#define PAGE_NOCACHE           NTMM_PAGE_NOCACHE
#define PAGE_WRITECOMBINE      NTMM_PAGE_WRITECOMBINE

#define MEM_COMMIT               NTMM_MEM_COMMIT
#define MEM_RESERVE              NTMM_MEM_RESERVE
#define MEM_REPLACE_PLACEHOLDER  NTMM_MEM_REPLACE_PLACEHOLDER
#define MEM_RESERVE_PLACEHOLDER  NTMM_MEM_RESERVE_PLACEHOLDER
#define MEM_RESET                NTMM_MEM_RESET
#define MEM_TOP_DOWN             NTMM_MEM_TOP_DOWN
#define MEM_WRITE_WATCH          NTMM_MEM_WRITE_WATCH
#define MEM_PHYSICAL             NTMM_MEM_PHYSICAL
#define MEM_RESET_UNDO           NTMM_MEM_RESET_UNDO
#define MEM_LARGE_PAGES          NTMM_MEM_LARGE_PAGES
#define MEM_COALESCE_PLACEHOLDERS NTMM_MEM_COALESCE_PLACEHOLDERS
#define MEM_PRESERVE_PLACEHOLDER NTMM_MEM_PRESERVE_PLACEHOLDER
#define MEM_DECOMMIT             NTMM_MEM_DECOMMIT
#define MEM_RELEASE              NTMM_MEM_RELEASE
#define MEM_FREE                 NTMM_MEM_FREE
#define MEM_PRIVATE              NTMM_MEM_PRIVATE
#define MEM_MAPPED               NTMM_MEM_MAPPED
#define MEM_IMAGE                NTMM_MEM_IMAGE

#define WRITE_WATCH_FLAG_RESET   NTMM_WRITE_WATCH_FLAG_RESET

#define EXCEPTION_READ_FAULT     NTMM_EXCEPTION_READ_FAULT
#define EXCEPTION_WRITE_FAULT    NTMM_EXCEPTION_WRITE_FAULT
#define EXCEPTION_EXECUTE_FAULT  NTMM_EXCEPTION_EXECUTE_FAULT

/* ---- Exception codes (winbase.h: DWORD-typed, as ExceptionCode is) ------------------- */

#define EXCEPTION_ACCESS_VIOLATION         ((DWORD)NTMM_STATUS_ACCESS_VIOLATION)
#define EXCEPTION_DATATYPE_MISALIGNMENT    ((DWORD)NTMM_STATUS_DATATYPE_MISALIGNMENT)
#define EXCEPTION_BREAKPOINT               ((DWORD)NTMM_STATUS_BREAKPOINT)
#define EXCEPTION_SINGLE_STEP              ((DWORD)NTMM_STATUS_SINGLE_STEP)
#define EXCEPTION_ARRAY_BOUNDS_EXCEEDED    ((DWORD)NTMM_STATUS_ARRAY_BOUNDS_EXCEEDED)
#define EXCEPTION_INT_DIVIDE_BY_ZERO       ((DWORD)NTMM_STATUS_INTEGER_DIVIDE_BY_ZERO)
#define EXCEPTION_INT_OVERFLOW             ((DWORD)NTMM_STATUS_INTEGER_OVERFLOW)
#define EXCEPTION_PRIV_INSTRUCTION         ((DWORD)NTMM_STATUS_PRIVILEGED_INSTRUCTION)
#define EXCEPTION_IN_PAGE_ERROR            ((DWORD)NTMM_STATUS_IN_PAGE_ERROR)
#define EXCEPTION_ILLEGAL_INSTRUCTION      ((DWORD)NTMM_STATUS_ILLEGAL_INSTRUCTION)
#define EXCEPTION_NONCONTINUABLE_EXCEPTION ((DWORD)NTMM_STATUS_NONCONTINUABLE_EXCEPTION)
#define EXCEPTION_STACK_OVERFLOW           ((DWORD)NTMM_STATUS_STACK_OVERFLOW)
#define EXCEPTION_GUARD_PAGE               ((DWORD)NTMM_STATUS_GUARD_PAGE_VIOLATION)
#define EXCEPTION_INVALID_HANDLE           ((DWORD)NTMM_STATUS_INVALID_HANDLE)

/* ---- NTSTATUS values (ntstatus.h: NTSTATUS-typed) ------------------------------------ */

#define STATUS_SUCCESS                     NTMM_STATUS_SUCCESS
#define STATUS_WORKING_SET_LIMIT_RANGE     NTMM_STATUS_WORKING_SET_LIMIT_RANGE
#define STATUS_IMAGE_NOT_AT_BASE           NTMM_STATUS_IMAGE_NOT_AT_BASE
#define STATUS_IMAGE_MACHINE_TYPE_MISMATCH NTMM_STATUS_IMAGE_MACHINE_TYPE_MISMATCH
#define STATUS_GUARD_PAGE_VIOLATION        NTMM_STATUS_GUARD_PAGE_VIOLATION
#define STATUS_DATATYPE_MISALIGNMENT       NTMM_STATUS_DATATYPE_MISALIGNMENT
#define STATUS_BREAKPOINT                  NTMM_STATUS_BREAKPOINT
#define STATUS_SINGLE_STEP                 NTMM_STATUS_SINGLE_STEP
#define STATUS_BUFFER_OVERFLOW             NTMM_STATUS_BUFFER_OVERFLOW
#define STATUS_PARTIAL_COPY                NTMM_STATUS_PARTIAL_COPY
#define STATUS_UNSUCCESSFUL                NTMM_STATUS_UNSUCCESSFUL
#define STATUS_NOT_IMPLEMENTED             NTMM_STATUS_NOT_IMPLEMENTED
#define STATUS_INVALID_INFO_CLASS          NTMM_STATUS_INVALID_INFO_CLASS
#define STATUS_INFO_LENGTH_MISMATCH        NTMM_STATUS_INFO_LENGTH_MISMATCH
#define STATUS_ACCESS_VIOLATION            NTMM_STATUS_ACCESS_VIOLATION
#define STATUS_IN_PAGE_ERROR               NTMM_STATUS_IN_PAGE_ERROR
#define STATUS_PAGEFILE_QUOTA              NTMM_STATUS_PAGEFILE_QUOTA
#define STATUS_INVALID_HANDLE              NTMM_STATUS_INVALID_HANDLE
#define STATUS_INVALID_PARAMETER           NTMM_STATUS_INVALID_PARAMETER
#define STATUS_NO_MEMORY                   NTMM_STATUS_NO_MEMORY
#define STATUS_CONFLICTING_ADDRESSES       NTMM_STATUS_CONFLICTING_ADDRESSES
#define STATUS_NOT_MAPPED_VIEW             NTMM_STATUS_NOT_MAPPED_VIEW
#define STATUS_UNABLE_TO_FREE_VM           NTMM_STATUS_UNABLE_TO_FREE_VM
#define STATUS_UNABLE_TO_DELETE_SECTION    NTMM_STATUS_UNABLE_TO_DELETE_SECTION
#define STATUS_ILLEGAL_INSTRUCTION         NTMM_STATUS_ILLEGAL_INSTRUCTION
#define STATUS_INVALID_VIEW_SIZE           NTMM_STATUS_INVALID_VIEW_SIZE
#define STATUS_INVALID_FILE_FOR_SECTION    NTMM_STATUS_INVALID_FILE_FOR_SECTION
#define STATUS_ALREADY_COMMITTED           NTMM_STATUS_ALREADY_COMMITTED
#define STATUS_ACCESS_DENIED               NTMM_STATUS_ACCESS_DENIED
#define STATUS_BUFFER_TOO_SMALL            NTMM_STATUS_BUFFER_TOO_SMALL
#define STATUS_OBJECT_TYPE_MISMATCH        NTMM_STATUS_OBJECT_TYPE_MISMATCH
#define STATUS_NONCONTINUABLE_EXCEPTION    NTMM_STATUS_NONCONTINUABLE_EXCEPTION
#define STATUS_NOT_LOCKED                  NTMM_STATUS_NOT_LOCKED
#define STATUS_UNABLE_TO_DECOMMIT_VM       NTMM_STATUS_UNABLE_TO_DECOMMIT_VM
#define STATUS_NOT_COMMITTED               NTMM_STATUS_NOT_COMMITTED
#define STATUS_INVALID_PARAMETER_MIX       NTMM_STATUS_INVALID_PARAMETER_MIX
#define STATUS_SECTION_TOO_BIG             NTMM_STATUS_SECTION_TOO_BIG
#define STATUS_QUOTA_EXCEEDED              NTMM_STATUS_QUOTA_EXCEEDED
#define STATUS_INVALID_PAGE_PROTECTION     NTMM_STATUS_INVALID_PAGE_PROTECTION
#define STATUS_SECTION_NOT_IMAGE           NTMM_STATUS_SECTION_NOT_IMAGE
#define STATUS_BAD_WORKING_SET_LIMIT       NTMM_STATUS_BAD_WORKING_SET_LIMIT
#define STATUS_INCOMPATIBLE_FILE_MAP       NTMM_STATUS_INCOMPATIBLE_FILE_MAP
#define STATUS_SECTION_PROTECTION          NTMM_STATUS_SECTION_PROTECTION
#define STATUS_PRIVILEGE_NOT_HELD          NTMM_STATUS_PRIVILEGE_NOT_HELD
#define STATUS_INVALID_IMAGE_FORMAT        NTMM_STATUS_INVALID_IMAGE_FORMAT
#define STATUS_RANGE_NOT_LOCKED            NTMM_STATUS_RANGE_NOT_LOCKED
#define STATUS_DISK_FULL                   NTMM_STATUS_DISK_FULL
#define STATUS_SECTION_NOT_EXTENDED        NTMM_STATUS_SECTION_NOT_EXTENDED
#define STATUS_NOT_MAPPED_DATA             NTMM_STATUS_NOT_MAPPED_DATA
#define STATUS_ARRAY_BOUNDS_EXCEEDED       NTMM_STATUS_ARRAY_BOUNDS_EXCEEDED
#define STATUS_INTEGER_DIVIDE_BY_ZERO      NTMM_STATUS_INTEGER_DIVIDE_BY_ZERO
#define STATUS_INTEGER_OVERFLOW            NTMM_STATUS_INTEGER_OVERFLOW
#define STATUS_PRIVILEGED_INSTRUCTION      NTMM_STATUS_PRIVILEGED_INSTRUCTION
#define STATUS_TOO_MANY_PAGING_FILES       NTMM_STATUS_TOO_MANY_PAGING_FILES
#define STATUS_FILE_INVALID                NTMM_STATUS_FILE_INVALID
#define STATUS_INSUFFICIENT_RESOURCES      NTMM_STATUS_INSUFFICIENT_RESOURCES
#define STATUS_FREE_VM_NOT_AT_BASE         NTMM_STATUS_FREE_VM_NOT_AT_BASE
#define STATUS_MEMORY_NOT_ALLOCATED        NTMM_STATUS_MEMORY_NOT_ALLOCATED
#define STATUS_WORKING_SET_QUOTA           NTMM_STATUS_WORKING_SET_QUOTA
#define STATUS_DEVICE_NOT_READY            NTMM_STATUS_DEVICE_NOT_READY
#define STATUS_NOT_SUPPORTED               NTMM_STATUS_NOT_SUPPORTED
#define STATUS_NOT_SAME_DEVICE             NTMM_STATUS_NOT_SAME_DEVICE
#define STATUS_INTERNAL_ERROR              NTMM_STATUS_INTERNAL_ERROR
#define STATUS_UNEXPECTED_MM_CREATE_ERR    NTMM_STATUS_UNEXPECTED_MM_CREATE_ERR
#define STATUS_UNEXPECTED_MM_MAP_ERROR     NTMM_STATUS_UNEXPECTED_MM_MAP_ERROR
#define STATUS_UNEXPECTED_MM_EXTEND_ERR    NTMM_STATUS_UNEXPECTED_MM_EXTEND_ERR
#define STATUS_INVALID_PARAMETER_1         NTMM_STATUS_INVALID_PARAMETER_1
#define STATUS_INVALID_PARAMETER_2         NTMM_STATUS_INVALID_PARAMETER_2
#define STATUS_INVALID_PARAMETER_3         NTMM_STATUS_INVALID_PARAMETER_3
#define STATUS_INVALID_PARAMETER_4         NTMM_STATUS_INVALID_PARAMETER_4
#define STATUS_INVALID_PARAMETER_5         NTMM_STATUS_INVALID_PARAMETER_5
#define STATUS_INVALID_PARAMETER_6         NTMM_STATUS_INVALID_PARAMETER_6
#define STATUS_INVALID_PARAMETER_7         NTMM_STATUS_INVALID_PARAMETER_7
#define STATUS_INVALID_PARAMETER_8         NTMM_STATUS_INVALID_PARAMETER_8
#define STATUS_INVALID_PARAMETER_9         NTMM_STATUS_INVALID_PARAMETER_9
#define STATUS_INVALID_PARAMETER_10        NTMM_STATUS_INVALID_PARAMETER_10
#define STATUS_INVALID_PARAMETER_11        NTMM_STATUS_INVALID_PARAMETER_11
#define STATUS_INVALID_PARAMETER_12        NTMM_STATUS_INVALID_PARAMETER_12
#define STATUS_STACK_OVERFLOW              NTMM_STATUS_STACK_OVERFLOW
#define STATUS_PROCESS_IS_TERMINATING      NTMM_STATUS_PROCESS_IS_TERMINATING
#define STATUS_MAPPED_FILE_SIZE_ZERO       NTMM_STATUS_MAPPED_FILE_SIZE_ZERO
#define STATUS_PAGEFILE_QUOTA_EXCEEDED     NTMM_STATUS_PAGEFILE_QUOTA_EXCEEDED
#define STATUS_COMMITMENT_LIMIT            NTMM_STATUS_COMMITMENT_LIMIT
#define STATUS_INVALID_IMAGE_NOT_MZ        NTMM_STATUS_INVALID_IMAGE_NOT_MZ
#define STATUS_INVALID_ADDRESS             NTMM_STATUS_INVALID_ADDRESS
#define STATUS_NO_PAGEFILE                 NTMM_STATUS_NO_PAGEFILE
#define STATUS_MAPPED_ALIGNMENT            NTMM_STATUS_MAPPED_ALIGNMENT
#define STATUS_USER_MAPPED_FILE            NTMM_STATUS_USER_MAPPED_FILE
#define STATUS_COMMITMENT_MINIMUM          NTMM_STATUS_COMMITMENT_MINIMUM
#define STATUS_HEAP_CORRUPTION             NTMM_STATUS_HEAP_CORRUPTION

/* ---- Win32 error codes (winerror.h) -------------------------------------------------- */

#define ERROR_SUCCESS                     NTMM_ERROR_SUCCESS
#define NO_ERROR                          NTMM_NO_ERROR
#define ERROR_INVALID_FUNCTION            NTMM_ERROR_INVALID_FUNCTION
#define ERROR_FILE_NOT_FOUND              NTMM_ERROR_FILE_NOT_FOUND
#define ERROR_PATH_NOT_FOUND              NTMM_ERROR_PATH_NOT_FOUND
#define ERROR_ACCESS_DENIED               NTMM_ERROR_ACCESS_DENIED
#define ERROR_INVALID_HANDLE              NTMM_ERROR_INVALID_HANDLE
#define ERROR_NOT_ENOUGH_MEMORY           NTMM_ERROR_NOT_ENOUGH_MEMORY
#define ERROR_INVALID_BLOCK               NTMM_ERROR_INVALID_BLOCK
#define ERROR_INVALID_ACCESS              NTMM_ERROR_INVALID_ACCESS
#define ERROR_OUTOFMEMORY                 NTMM_ERROR_OUTOFMEMORY
#define ERROR_NOT_SAME_DEVICE             NTMM_ERROR_NOT_SAME_DEVICE
#define ERROR_NOT_READY                   NTMM_ERROR_NOT_READY
#define ERROR_BAD_LENGTH                  NTMM_ERROR_BAD_LENGTH
#define ERROR_GEN_FAILURE                 NTMM_ERROR_GEN_FAILURE
#define ERROR_HANDLE_EOF                  NTMM_ERROR_HANDLE_EOF
#define ERROR_NOT_SUPPORTED               NTMM_ERROR_NOT_SUPPORTED
#define ERROR_UNEXP_NET_ERR               NTMM_ERROR_UNEXP_NET_ERR
#define ERROR_INVALID_PARAMETER           NTMM_ERROR_INVALID_PARAMETER
#define ERROR_DISK_FULL                   NTMM_ERROR_DISK_FULL
#define ERROR_INSUFFICIENT_BUFFER         NTMM_ERROR_INSUFFICIENT_BUFFER
#define ERROR_DISCARDED                   NTMM_ERROR_DISCARDED
#define ERROR_NOT_LOCKED                  NTMM_ERROR_NOT_LOCKED
#define ERROR_BUSY                        NTMM_ERROR_BUSY
#define ERROR_ALREADY_EXISTS              NTMM_ERROR_ALREADY_EXISTS
#define ERROR_BAD_EXE_FORMAT              NTMM_ERROR_BAD_EXE_FORMAT
#define ERROR_MORE_DATA                   NTMM_ERROR_MORE_DATA
#define ERROR_NO_MORE_ITEMS               NTMM_ERROR_NO_MORE_ITEMS
#define ERROR_PARTIAL_COPY                NTMM_ERROR_PARTIAL_COPY
#define ERROR_MR_MID_NOT_FOUND            NTMM_ERROR_MR_MID_NOT_FOUND
#define ERROR_INVALID_ADDRESS             NTMM_ERROR_INVALID_ADDRESS
#define ERROR_ARITHMETIC_OVERFLOW         NTMM_ERROR_ARITHMETIC_OVERFLOW
#define ERROR_UNEXPECTED_MM_CREATE_ERR    NTMM_ERROR_UNEXPECTED_MM_CREATE_ERR
#define ERROR_UNEXPECTED_MM_MAP_ERROR     NTMM_ERROR_UNEXPECTED_MM_MAP_ERROR
#define ERROR_UNEXPECTED_MM_EXTEND_ERR    NTMM_ERROR_UNEXPECTED_MM_EXTEND_ERR
#define ERROR_PAGEFILE_QUOTA_EXCEEDED     NTMM_ERROR_PAGEFILE_QUOTA_EXCEEDED
#define ERROR_NO_PAGEFILE                 NTMM_ERROR_NO_PAGEFILE
#define ERROR_COMMITMENT_MINIMUM          NTMM_ERROR_COMMITMENT_MINIMUM
#define ERROR_IMAGE_NOT_AT_BASE           NTMM_ERROR_IMAGE_NOT_AT_BASE
#define ERROR_IMAGE_MACHINE_TYPE_MISMATCH NTMM_ERROR_IMAGE_MACHINE_TYPE_MISMATCH
#define ERROR_IO_PENDING                  NTMM_ERROR_IO_PENDING
#define ERROR_NOACCESS                    NTMM_ERROR_NOACCESS
#define ERROR_SWAPERROR                   NTMM_ERROR_SWAPERROR
#define ERROR_STACK_OVERFLOW              NTMM_ERROR_STACK_OVERFLOW
#define ERROR_INVALID_FLAGS               NTMM_ERROR_INVALID_FLAGS
#define ERROR_FILE_INVALID                NTMM_ERROR_FILE_INVALID
#define ERROR_MAPPED_ALIGNMENT            NTMM_ERROR_MAPPED_ALIGNMENT
#define ERROR_USER_MAPPED_FILE            NTMM_ERROR_USER_MAPPED_FILE
#define ERROR_STACK_BUFFER_OVERRUN        NTMM_ERROR_STACK_BUFFER_OVERRUN
#define ERROR_PRIVILEGE_NOT_HELD          NTMM_ERROR_PRIVILEGE_NOT_HELD
#define ERROR_INTERNAL_ERROR              NTMM_ERROR_INTERNAL_ERROR
#define ERROR_NO_SYSTEM_RESOURCES         NTMM_ERROR_NO_SYSTEM_RESOURCES
#define ERROR_NONPAGED_SYSTEM_RESOURCES   NTMM_ERROR_NONPAGED_SYSTEM_RESOURCES
#define ERROR_PAGED_SYSTEM_RESOURCES      NTMM_ERROR_PAGED_SYSTEM_RESOURCES
#define ERROR_WORKING_SET_QUOTA           NTMM_ERROR_WORKING_SET_QUOTA
#define ERROR_PAGEFILE_QUOTA              NTMM_ERROR_PAGEFILE_QUOTA
#define ERROR_COMMITMENT_LIMIT            NTMM_ERROR_COMMITMENT_LIMIT
#define ERROR_TIMEOUT                     NTMM_ERROR_TIMEOUT
#define ERROR_INVALID_USER_BUFFER         NTMM_ERROR_INVALID_USER_BUFFER
#define ERROR_NOT_ENOUGH_QUOTA            NTMM_ERROR_NOT_ENOUGH_QUOTA

/* ---- Functions ------------------------------------------------------------------------- */
/*
 * The Win32 memory API under Windows' names and exact signatures, as static inline wrappers
 * over ntmm_win32.h, so that Win32 memory code compiles unchanged. Every pointer these take
 * or return (LPVOID, MEMORY_BASIC_INFORMATION.BaseAddress, lpMaximumApplicationAddress) is a
 * *guest* address in the thread's current process (ntmm_set_current_process): never
 * dereference it; reach the content through ntmm_process_access. On a 32-bit host a guest
 * address above 4 GiB does not fit a pointer: use the ntmm_* calls there. HANDLE values are
 * those of ntmm_win32.h (GetCurrentProcess's pseudo-handle, ntmm_process_handle).
 * WINAPI is empty: there is no calling convention to select.
 */
#include <ntmm/ntmm_win32.h>

#ifndef WINAPI
#define WINAPI
#endif

#define PROCESSOR_ARCHITECTURE_INTEL NTMM_PROCESSOR_ARCHITECTURE_INTEL
#define PROCESSOR_ARCHITECTURE_AMD64 NTMM_PROCESSOR_ARCHITECTURE_AMD64
#define PROCESSOR_INTEL_PENTIUM      NTMM_PROCESSOR_INTEL_PENTIUM
#define PROCESSOR_AMD_X8664          NTMM_PROCESSOR_AMD_X8664

_Static_assert(sizeof(MEMORYSTATUSEX) == sizeof(ntmm_memory_status_ex_t), "MEMORYSTATUSEX layout");

static inline DWORD GetLastError(void) { return ntmm_get_last_error(); }

static inline void SetLastError(DWORD dwErrCode) { ntmm_set_last_error(dwErrCode); }

static inline HANDLE GetCurrentProcess(void) { return ntmm_get_current_process(); }

static inline LPVOID VirtualAllocEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType,
                                   DWORD flProtect)
{
    return (LPVOID)(uintptr_t)ntmm_virtual_alloc_ex(hProcess, (uint64_t)(uintptr_t)lpAddress, dwSize,
                                                    flAllocationType, flProtect);
}

static inline LPVOID VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType, DWORD flProtect)
{
    return VirtualAllocEx(GetCurrentProcess(), lpAddress, dwSize, flAllocationType, flProtect);
}

static inline BOOL VirtualFreeEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType)
{
    return ntmm_virtual_free_ex(hProcess, (uint64_t)(uintptr_t)lpAddress, dwSize, dwFreeType);
}

static inline BOOL VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType)
{
    return VirtualFreeEx(GetCurrentProcess(), lpAddress, dwSize, dwFreeType);
}

static inline BOOL VirtualProtectEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect,
                                    PDWORD lpflOldProtect)
{
    return ntmm_virtual_protect_ex(hProcess, (uint64_t)(uintptr_t)lpAddress, dwSize, flNewProtect, lpflOldProtect);
}

static inline BOOL VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect, PDWORD lpflOldProtect)
{
    return VirtualProtectEx(GetCurrentProcess(), lpAddress, dwSize, flNewProtect, lpflOldProtect);
}

static inline BOOL ReadProcessMemory(HANDLE hProcess, LPCVOID lpBaseAddress, LPVOID lpBuffer, SIZE_T nSize,
                                     SIZE_T *lpNumberOfBytesRead)
{
    size_t done = 0;
    BOOL ok = ntmm_read_process_memory(hProcess, (uint64_t)(uintptr_t)lpBaseAddress, lpBuffer, nSize, &done);
    if (lpNumberOfBytesRead) *lpNumberOfBytesRead = done;
    return ok;
}

static inline BOOL WriteProcessMemory(HANDLE hProcess, LPVOID lpBaseAddress, LPCVOID lpBuffer, SIZE_T nSize,
                                      SIZE_T *lpNumberOfBytesWritten)
{
    size_t done = 0;
    BOOL ok = ntmm_write_process_memory(hProcess, (uint64_t)(uintptr_t)lpBaseAddress, lpBuffer, nSize, &done);
    if (lpNumberOfBytesWritten) *lpNumberOfBytesWritten = done;
    return ok;
}

static inline BOOL VirtualLock(LPVOID lpAddress, SIZE_T dwSize)
{
    return ntmm_virtual_lock((uint64_t)(uintptr_t)lpAddress, dwSize);
}

static inline BOOL VirtualUnlock(LPVOID lpAddress, SIZE_T dwSize)
{
    return ntmm_virtual_unlock((uint64_t)(uintptr_t)lpAddress, dwSize);
}

static inline UINT ResetWriteWatch(LPVOID lpBaseAddress, SIZE_T dwRegionSize)
{
    return ntmm_reset_write_watch((uint64_t)(uintptr_t)lpBaseAddress, dwRegionSize);
}

/* Returns sizeof(MEMORY_BASIC_INFORMATION) (the bytes written) or 0; a dwLength below that
 * fails with ERROR_BAD_LENGTH (24), a NULL lpBuffer with ERROR_NOACCESS (998). */
static inline SIZE_T VirtualQueryEx(HANDLE hProcess, LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer,
                                    SIZE_T dwLength)
{
    ntmm_memory_basic_information_t mbi;
    size_t len = dwLength >= sizeof(MEMORY_BASIC_INFORMATION) ? sizeof mbi : 0;
    if (!ntmm_virtual_query_ex(hProcess, (uint64_t)(uintptr_t)lpAddress, lpBuffer ? &mbi : NULL, len)) return 0;
    *lpBuffer = (MEMORY_BASIC_INFORMATION){ 0 };
    lpBuffer->BaseAddress = (PVOID)(uintptr_t)mbi.base_address;
    lpBuffer->AllocationBase = (PVOID)(uintptr_t)mbi.allocation_base;
    lpBuffer->AllocationProtect = mbi.allocation_protect;
    lpBuffer->RegionSize = (SIZE_T)mbi.region_size;
    lpBuffer->State = mbi.state;
    lpBuffer->Protect = mbi.protect;
    lpBuffer->Type = mbi.type;
    return sizeof(MEMORY_BASIC_INFORMATION);
}

static inline SIZE_T VirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength)
{
    return VirtualQueryEx(GetCurrentProcess(), lpAddress, lpBuffer, dwLength);
}

static inline void ntmm_compat_system_info(const ntmm_system_info_t *si, LPSYSTEM_INFO lpSystemInfo)
{
    *lpSystemInfo = (SYSTEM_INFO){ 0 };
    lpSystemInfo->wProcessorArchitecture = si->processor_architecture;
    lpSystemInfo->dwPageSize = si->page_size;
    lpSystemInfo->lpMinimumApplicationAddress = (LPVOID)(uintptr_t)si->minimum_application_address;
    lpSystemInfo->lpMaximumApplicationAddress = (LPVOID)(uintptr_t)si->maximum_application_address;
    lpSystemInfo->dwActiveProcessorMask = (DWORD_PTR)si->active_processor_mask;
    lpSystemInfo->dwNumberOfProcessors = si->number_of_processors;
    lpSystemInfo->dwProcessorType = si->processor_type;
    lpSystemInfo->dwAllocationGranularity = si->allocation_granularity;
    lpSystemInfo->wProcessorLevel = si->processor_level;
    lpSystemInfo->wProcessorRevision = si->processor_revision;
}

static inline void GetSystemInfo(LPSYSTEM_INFO lpSystemInfo)
{
    ntmm_system_info_t si;
    ntmm_get_system_info(&si);
    ntmm_compat_system_info(&si, lpSystemInfo);
}

static inline void GetNativeSystemInfo(LPSYSTEM_INFO lpSystemInfo)
{
    ntmm_system_info_t si;
    ntmm_get_native_system_info(&si);
    ntmm_compat_system_info(&si, lpSystemInfo);
}

/* lpBuffer->dwLength must be sizeof(MEMORYSTATUSEX) (else FALSE, ERROR_INVALID_PARAMETER). */
static inline BOOL GlobalMemoryStatusEx(LPMEMORYSTATUSEX lpBuffer)
{
    ntmm_memory_status_ex_t ms = { 0 };
    if (lpBuffer) ms.length = lpBuffer->dwLength;
    if (!ntmm_global_memory_status_ex(lpBuffer ? &ms : NULL)) return FALSE;
    lpBuffer->dwMemoryLoad = ms.memory_load;
    lpBuffer->ullTotalPhys = ms.total_phys;
    lpBuffer->ullAvailPhys = ms.avail_phys;
    lpBuffer->ullTotalPageFile = ms.total_page_file;
    lpBuffer->ullAvailPageFile = ms.avail_page_file;
    lpBuffer->ullTotalVirtual = ms.total_virtual;
    lpBuffer->ullAvailVirtual = ms.avail_virtual;
    lpBuffer->ullAvailExtendedVirtual = ms.avail_extended_virtual;
    return TRUE;
}

/* psapi: cb below sizeof(PROCESS_MEMORY_COUNTERS) fails with ERROR_INSUFFICIENT_BUFFER (122)
 * before anything else; PrivateUsage is filled when cb covers PROCESS_MEMORY_COUNTERS_EX.
 * The caller's cb is left as given. */
static inline BOOL GetProcessMemoryInfo(HANDLE Process, PPROCESS_MEMORY_COUNTERS ppsmemCounters, DWORD cb)
{
    ntmm_process_memory_counters_t c;
    if (cb < sizeof(PROCESS_MEMORY_COUNTERS)) {
        SetLastError(ERROR_INSUFFICIENT_BUFFER);
        return FALSE;
    }
    if (!ntmm_get_process_memory_info(Process, ppsmemCounters ? &c : NULL)) return FALSE;
    ppsmemCounters->PageFaultCount = c.page_fault_count;
    ppsmemCounters->PeakWorkingSetSize = (SIZE_T)c.peak_working_set_size;
    ppsmemCounters->WorkingSetSize = (SIZE_T)c.working_set_size;
    ppsmemCounters->QuotaPeakPagedPoolUsage = (SIZE_T)c.quota_peak_paged_pool_usage;
    ppsmemCounters->QuotaPagedPoolUsage = (SIZE_T)c.quota_paged_pool_usage;
    ppsmemCounters->QuotaPeakNonPagedPoolUsage = (SIZE_T)c.quota_peak_non_paged_pool_usage;
    ppsmemCounters->QuotaNonPagedPoolUsage = (SIZE_T)c.quota_non_paged_pool_usage;
    ppsmemCounters->PagefileUsage = (SIZE_T)c.pagefile_usage;
    ppsmemCounters->PeakPagefileUsage = (SIZE_T)c.peak_pagefile_usage;
    if (cb >= sizeof(PROCESS_MEMORY_COUNTERS_EX))
        ((PPROCESS_MEMORY_COUNTERS_EX)ppsmemCounters)->PrivateUsage = (SIZE_T)c.private_usage;
    return TRUE;
}

#endif /* NTMM_COMPAT_WINDOWS_H */
