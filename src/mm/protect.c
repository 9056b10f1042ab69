/*
 * protect.c - NT's protection tables: Win32 PAGE_* values to and from the 5-bit protection
 * codes, the codes to hardware PTE bits, R1's access sets and the fault handler's access rule
 * (NT: MiMakeProtectionMask with MmUserProtectionToMask1/2, MmProtectToValue,
 * MmProtectToPteMask, MmReadWrite in MiAccessCheck, MmMakeProtectNotWriteCopy,
 * MmCompatibleProtectionMask). Read-only tables, no state.
 */
#include "mm/protect.h"

#include "base/debug.h"
#include "mm/pte_sw.h"

#define BAD 0xFFu

/* The low nibble of a PAGE_* value (NOACCESS, READONLY, READWRITE, WRITECOPY): exactly one bit. */
static const uint8_t win32_low_to_mm[16] = {
    BAD, MM_NOACCESS, MM_READONLY, BAD, MM_READWRITE, BAD, BAD, BAD,
    MM_WRITECOPY, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
};

/* The high nibble (EXECUTE, EXECUTE_READ, EXECUTE_READWRITE, EXECUTE_WRITECOPY). */
static const uint8_t win32_high_to_mm[16] = {
    BAD, MM_EXECUTE, MM_EXECUTE_READ, BAD, MM_EXECUTE_READWRITE, BAD, BAD, BAD,
    MM_EXECUTE_WRITECOPY, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
};

#define W_NA   NTMM_PAGE_NOACCESS
#define W_RO   NTMM_PAGE_READONLY
#define W_X    NTMM_PAGE_EXECUTE
#define W_XR   NTMM_PAGE_EXECUTE_READ
#define W_RW   NTMM_PAGE_READWRITE
#define W_WC   NTMM_PAGE_WRITECOPY
#define W_XRW  NTMM_PAGE_EXECUTE_READWRITE
#define W_XWC  NTMM_PAGE_EXECUTE_WRITECOPY
#define W_ROW(m) W_NA, W_RO | (m), W_X | (m), W_XR | (m), W_RW | (m), W_WC | (m), W_XRW | (m), W_XWC | (m)

/* MmProtectToValue: code -> PAGE_*. Base 0 is PAGE_NOACCESS whatever the modifier. */
static const uint32_t mm_to_win32[MM_PROTECT_CODES] = {
    W_ROW(0u), W_ROW(NTMM_PAGE_NOCACHE), W_ROW(NTMM_PAGE_GUARD), W_ROW(NTMM_PAGE_WRITECOMBINE),
};

/*
 * MmProtectToPteMask for 8-byte entries with NX, user bit left out. XD marks every base
 * without execute; mm_protect_pte_bits drops it for formats without NX. GUARD and base-0
 * codes have no valid form (0).
 */
#define H_RO   (HW_PTE_P | HW_PTE_XD)
#define H_X    (HW_PTE_P)
#define H_XR   (HW_PTE_P)
#define H_RW   (HW_PTE_P | HW_PTE_RW | HW_PTE_XD)
#define H_WC   (HW_PTE_P | MM_PTE_COPY_ON_WRITE | HW_PTE_XD)
#define H_XRW  (HW_PTE_P | HW_PTE_RW)
#define H_XWC  (HW_PTE_P | MM_PTE_COPY_ON_WRITE)
#define H_ROW(c) 0u, H_RO | (c), H_X | (c), H_XR | (c), H_RW | (c), H_WC | (c), H_XRW | (c), H_XWC | (c)

static const hw_pte_t mm_to_pte[MM_PROTECT_CODES] = {
    H_ROW(0u),            /* cached (write-back): PAT index 0 */
    H_ROW(HW_PTE_PCD),    /* NOCACHE: PCD, PAT index 2 (UC-) */
    0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, /* GUARD: not present until the first touch */
    H_ROW(HW_PTE_PWT),    /* WRITECOMBINE: PWT, PAT index 1 (WC) */
};

/* R1: acc(p) by base. */
static const uint8_t base_access_set[8] = {
    0u,                                              /* ZERO_ACCESS */
    MM_ACC_READ,                                     /* READONLY */
    MM_ACC_READ | MM_ACC_EXECUTE,                    /* EXECUTE: execute implies read */
    MM_ACC_READ | MM_ACC_EXECUTE,                    /* EXECUTE_READ */
    MM_ACC_READ | MM_ACC_WRITE,                      /* READWRITE */
    MM_ACC_READ,                                     /* WRITECOPY */
    MM_ACC_READ | MM_ACC_WRITE | MM_ACC_EXECUTE,     /* EXECUTE_READWRITE */
    MM_ACC_READ | MM_ACC_EXECUTE,                    /* EXECUTE_WRITECOPY */
};

/* The fault handler's verdict by base and access kind, before the guard modifier is looked at
 * (MmReadWrite: 1 no access, 10 read-only, 11 writable incl. copy-on-write; plus NX). */
#define A MM_ACCESS_ALLOWED
#define C MM_ACCESS_COPY_ON_WRITE
#define D MM_ACCESS_DENIED
static const uint8_t base_verdict[8][3] = {
    /*            read write execute */
    [MM_ZERO_ACCESS]       = { D, D, D },
    [MM_READONLY]          = { A, D, D },
    [MM_EXECUTE]           = { A, D, A },
    [MM_EXECUTE_READ]      = { A, D, A },
    [MM_READWRITE]         = { A, A, D },
    [MM_WRITECOPY]         = { A, C, D },
    [MM_EXECUTE_READWRITE] = { A, A, A },
    [MM_EXECUTE_WRITECOPY] = { A, C, A },
};
#undef A
#undef C
#undef D

bool mm_protect_valid(mm_prot_t p)
{
    return p < MM_PROTECT_CODES && (mm_protect_accessible(p) || p == MM_NOACCESS);
}

mm_prot_t mm_protect_from_win32(uint32_t win32)
{
    if (win32 >= NTMM_PAGE_WRITECOMBINE * 2u) return MM_INVALID_PROTECTION;
    uint32_t low = win32 & 0xFu, high = (win32 >> 4) & 0xFu;
    if ((low == 0) == (high == 0)) return MM_INVALID_PROTECTION; /* none, or one of each */
    uint8_t code = low != 0 ? win32_low_to_mm[low] : win32_high_to_mm[high];
    if (code == BAD) return MM_INVALID_PROTECTION;
    mm_prot_t p = code;
    if (win32 & NTMM_PAGE_GUARD) {
        if (p == MM_NOACCESS || (win32 & (NTMM_PAGE_NOCACHE | NTMM_PAGE_WRITECOMBINE))) return MM_INVALID_PROTECTION;
        p |= MM_GUARD_PAGE;
    }
    if (win32 & NTMM_PAGE_NOCACHE) {
        if (p == MM_NOACCESS || (win32 & NTMM_PAGE_WRITECOMBINE)) return MM_INVALID_PROTECTION;
        p |= MM_NOCACHE;
    }
    if (win32 & NTMM_PAGE_WRITECOMBINE) {
        if (p == MM_NOACCESS) return MM_INVALID_PROTECTION;
        p |= MM_WRITECOMBINE;
    }
    return p;
}

uint32_t mm_protect_to_win32(mm_prot_t p)
{
    NTMM_ASSERT(p < MM_PROTECT_CODES);
    return mm_to_win32[p & (MM_PROTECT_CODES - 1u)];
}

hw_pte_t mm_protect_pte_bits(mm_prot_t p, unsigned pte_bytes, bool nx, bool user)
{
    NTMM_ASSERT(p < MM_PROTECT_CODES);
    NTMM_ASSERT(pte_bytes == 4 || pte_bytes == 8);
    hw_pte_t bits = mm_to_pte[p & (MM_PROTECT_CODES - 1u)];
    if (bits == 0) return 0;
    if (pte_bytes == 4 || !nx) bits &= ~HW_PTE_XD;
    if (user) bits |= HW_PTE_US;
    return bits;
}

unsigned mm_protect_access_set(mm_prot_t p)
{
    NTMM_ASSERT(p < MM_PROTECT_CODES);
    return base_access_set[mm_protect_base(p)];
}

bool mm_protect_compatible(mm_prot_t allowed, mm_prot_t requested)
{
    unsigned have = mm_protect_access_set(allowed), want = mm_protect_access_set(requested);
    return (want & ~have) == 0;
}

mm_access_verdict_t mm_protect_check_access(mm_prot_t p, ntmm_access_t access)
{
    NTMM_ASSERT(p < MM_PROTECT_CODES);
    NTMM_ASSERT(access <= NTMM_ACCESS_EXECUTE);
    mm_access_verdict_t v = (mm_access_verdict_t)base_verdict[mm_protect_base(p)][(unsigned)access % 3u];
    if (v != MM_ACCESS_DENIED && mm_protect_is_guard(p)) return MM_ACCESS_GUARD;
    return v;
}

ntmm_status_t mm_access_verdict_status(mm_access_verdict_t v)
{
    switch (v) {
    case MM_ACCESS_ALLOWED:
    case MM_ACCESS_COPY_ON_WRITE:
        return NTMM_STATUS_SUCCESS;
    case MM_ACCESS_GUARD:
        return NTMM_STATUS_GUARD_PAGE_VIOLATION;
    case MM_ACCESS_DENIED:
        break;
    }
    return NTMM_STATUS_ACCESS_VIOLATION;
}

uint32_t mm_access_exception_code(ntmm_access_t access)
{
    switch (access) {
    case NTMM_ACCESS_READ:
        return NTMM_EXCEPTION_READ_FAULT;
    case NTMM_ACCESS_WRITE:
        return NTMM_EXCEPTION_WRITE_FAULT;
    case NTMM_ACCESS_EXECUTE:
        return NTMM_EXCEPTION_EXECUTE_FAULT;
    }
    NTMM_ASSERT(!"unknown access kind");
    return NTMM_EXCEPTION_READ_FAULT;
}

mm_prot_t mm_protect_not_writecopy(mm_prot_t p)
{
    NTMM_ASSERT(p < MM_PROTECT_CODES);
    /* WRITECOPY (101) -> READWRITE (100), EXECUTE_WRITECOPY (111) -> EXECUTE_READWRITE (110) */
    return mm_protect_is_writecopy(p) ? p - 1u : p;
}

const char *mm_protect_name(mm_prot_t p)
{
    static const char *const names[MM_PROTECT_CODES] = {
        "ZERO_ACCESS", "READONLY", "EXECUTE", "EXECUTE_READ", "READWRITE", "WRITECOPY",
        "EXECUTE_READWRITE", "EXECUTE_WRITECOPY",
        "NOCACHE", "READONLY|NOCACHE", "EXECUTE|NOCACHE", "EXECUTE_READ|NOCACHE", "READWRITE|NOCACHE",
        "WRITECOPY|NOCACHE", "EXECUTE_READWRITE|NOCACHE", "EXECUTE_WRITECOPY|NOCACHE",
        "DECOMMIT", "READONLY|GUARD", "EXECUTE|GUARD", "EXECUTE_READ|GUARD", "READWRITE|GUARD",
        "WRITECOPY|GUARD", "EXECUTE_READWRITE|GUARD", "EXECUTE_WRITECOPY|GUARD",
        "NOACCESS", "READONLY|WRITECOMBINE", "EXECUTE|WRITECOMBINE", "EXECUTE_READ|WRITECOMBINE",
        "READWRITE|WRITECOMBINE", "WRITECOPY|WRITECOMBINE", "EXECUTE_READWRITE|WRITECOMBINE",
        "EXECUTE_WRITECOPY|WRITECOMBINE",
    };
    NTMM_ASSERT(p < MM_PROTECT_CODES);
    return names[p & (MM_PROTECT_CODES - 1u)];
}
