/*
 * protect.h - NT's 5-bit page protection codes and the tables between them, the Win32 PAGE_*
 * values and the hardware PTE bits (NT: MiMakeProtectionMask, MmProtectToValue,
 * MmProtectToPteMask, MmMakeProtectNotWriteCopy, MiAccessCheck's MmReadWrite table,
 * MiIsPteProtectionCompatible; Windows Internals 7th ed., part 1, ch. 5).
 *
 * A protection code is what a software PTE's protection field, a VAD and a PFN entry's
 * original PTE hold. Its low three bits are the base protection, its two high bits a modifier:
 *
 *     4     3    2    1    0
 *   +---------+--------------+
 *   | modifier|     base     |    base: bit 0 read, bit 1 execute, bit 2 write;
 *   +---------+--------------+          write with read (5, 7) = copy-on-write
 *
 *   base  code                     Win32                     modifier (bits 4:3, base != 0)
 *   0     MM_ZERO_ACCESS           -                         00  none
 *   1     MM_READONLY              PAGE_READONLY             01  MM_NOCACHE      (0x08)
 *   2     MM_EXECUTE               PAGE_EXECUTE              10  MM_GUARD_PAGE   (0x10)
 *   3     MM_EXECUTE_READ          PAGE_EXECUTE_READ         11  MM_WRITECOMBINE (0x18)
 *   4     MM_READWRITE             PAGE_READWRITE
 *   5     MM_WRITECOPY             PAGE_WRITECOPY
 *   6     MM_EXECUTE_READWRITE     PAGE_EXECUTE_READWRITE
 *   7     MM_EXECUTE_WRITECOPY     PAGE_EXECUTE_WRITECOPY
 *
 * With base 0 the modifier bits name special codes instead:
 *   0x00  MM_ZERO_ACCESS  never stored in a PTE (a PTE of 0 means "not yet created")
 *   0x08  (unused)
 *   0x10  MM_DECOMMIT     the page was decommitted (NO_ACCESS + guard)
 *   0x18  MM_NOACCESS     committed, PAGE_NOACCESS (NO_ACCESS + write-combine pattern)
 *
 * All functions are pure and take no locks. A code outside 0..31 passed where a code is
 * expected is a caller bug (asserted).
 */
#ifndef NTMM_MM_PROTECT_H
#define NTMM_MM_PROTECT_H

#include <ntmm/ntmm_hw.h>
#include <ntmm/ntmm_status.h>
#include <ntmm/ntmm_vm.h>

#include "hw/pte.h"

typedef uint32_t mm_prot_t; /* NT's MM_PROTECTION_MASK: 0..31, or MM_INVALID_PROTECTION */

#define MM_ZERO_ACCESS        0x00u
#define MM_READONLY           0x01u
#define MM_EXECUTE            0x02u
#define MM_EXECUTE_READ       0x03u
#define MM_READWRITE          0x04u
#define MM_WRITECOPY          0x05u
#define MM_EXECUTE_READWRITE  0x06u
#define MM_EXECUTE_WRITECOPY  0x07u
#define MM_PROTECT_ACCESS     0x07u /* the base protection */

#define MM_NOCACHE            0x08u
#define MM_GUARD_PAGE         0x10u
#define MM_WRITECOMBINE       0x18u
#define MM_PROTECT_SPECIAL    0x18u /* the modifier */

#define MM_DECOMMIT           (MM_ZERO_ACCESS | MM_GUARD_PAGE)   /* 0x10 */
#define MM_NOACCESS           (MM_ZERO_ACCESS | MM_WRITECOMBINE) /* 0x18 */

#define MM_PROTECT_CODES      32u
#define MM_INVALID_PROTECTION 0xFFFFFFFFu

/* Base-protection bits (NT: MM_PROTECTION_WRITE_MASK, _EXECUTE_MASK, MM_COPY_ON_WRITE_MASK). */
#define MM_PROTECTION_WRITE_MASK   0x04u
#define MM_PROTECTION_EXECUTE_MASK 0x02u
#define MM_COPY_ON_WRITE_MASK      0x05u

/* Access sets of the model rule R1 (windows-semantics.md). */
#define MM_ACC_READ    0x1u
#define MM_ACC_WRITE   0x2u
#define MM_ACC_EXECUTE 0x4u

static inline mm_prot_t mm_protect_base(mm_prot_t p) { return p & MM_PROTECT_ACCESS; }
static inline mm_prot_t mm_protect_modifier(mm_prot_t p) { return p & MM_PROTECT_SPECIAL; }

/* True for a base other than ZERO_ACCESS: some access is possible (NOACCESS and DECOMMIT are not). */
static inline bool mm_protect_accessible(mm_prot_t p) { return mm_protect_base(p) != 0; }
static inline bool mm_protect_is_guard(mm_prot_t p)
{
    return mm_protect_accessible(p) && mm_protect_modifier(p) == MM_GUARD_PAGE;
}
static inline bool mm_protect_is_nocache(mm_prot_t p)
{
    return mm_protect_accessible(p) && mm_protect_modifier(p) == MM_NOCACHE;
}
static inline bool mm_protect_is_writecombine(mm_prot_t p)
{
    return mm_protect_accessible(p) && mm_protect_modifier(p) == MM_WRITECOMBINE;
}
/* WRITECOPY or EXECUTE_WRITECOPY, with any modifier. */
static inline bool mm_protect_is_writecopy(mm_prot_t p)
{
    return (p & MM_COPY_ON_WRITE_MASK) == MM_COPY_ON_WRITE_MASK;
}
/* READWRITE, WRITECOPY, EXECUTE_READWRITE or EXECUTE_WRITECOPY. */
static inline bool mm_protect_is_writable(mm_prot_t p) { return (p & MM_PROTECTION_WRITE_MASK) != 0; }
/* EXECUTE, EXECUTE_READ, EXECUTE_READWRITE or EXECUTE_WRITECOPY. */
static inline bool mm_protect_is_executable(mm_prot_t p) { return (p & MM_PROTECTION_EXECUTE_MASK) != 0; }
/* The code without its guard modifier (the first touch of a guard page removes it). */
static inline mm_prot_t mm_protect_remove_guard(mm_prot_t p)
{
    return mm_protect_is_guard(p) ? mm_protect_base(p) : p;
}

/*
 * True for the 29 codes a Win32 protection can produce (MM_NOACCESS, and bases 1..7 with any
 * modifier). MM_ZERO_ACCESS, MM_DECOMMIT and 0x08 are not: they never describe a page that a
 * caller asked for.
 */
bool mm_protect_valid(mm_prot_t p);

/*
 * Win32 PAGE_* value -> protection code, or MM_INVALID_PROTECTION (NT: MiMakeProtectionMask).
 * Windows' rules: no bit at or above 0x800; exactly one base value (one bit of 0x01..0x80);
 * PAGE_GUARD not with PAGE_NOACCESS, PAGE_NOCACHE or PAGE_WRITECOMBINE; PAGE_NOCACHE not with
 * PAGE_NOACCESS or PAGE_WRITECOMBINE; PAGE_WRITECOMBINE not with PAGE_NOACCESS. Rules that depend
 * on the region (WRITECOPY refused for private memory, a view's compatibility) are the caller's.
 * Callers turn MM_INVALID_PROTECTION into NTMM_STATUS_INVALID_PAGE_PROTECTION.
 */
mm_prot_t mm_protect_from_win32(uint32_t win32);

/*
 * Protection code -> Win32 PAGE_* value, as VirtualQuery reports Protect (NT: MmProtectToValue).
 * Every code with base 0 (ZERO_ACCESS, DECOMMIT, NOACCESS, 0x08) gives PAGE_NOACCESS.
 * Precondition: p < 32.
 */
uint32_t mm_protect_to_win32(mm_prot_t p);

/*
 * The hardware bits of a valid PTE with protection p (NT: MmProtectToPteMask, then
 * MI_MAKE_VALID_PTE's owner bit), without the frame:
 *   P; R/W for READWRITE and EXECUTE_READWRITE; NT's software copy-on-write bit (bit 9,
 *   ignored by the MMU) for the WRITECOPY bases, which stay read-only so that the first write
 *   faults; U/S when user; XD for a base without execute when the format has NX (8-byte
 *   entries with EFER.NXE); PCD for NOCACHE; PWT for WRITECOMBINE (NT programs PAT entry 1,
 *   selected by PWT = 1, PCD = 0, as write-combining: KiSetPageAttributesTable).
 * Returns 0 for codes that cannot be valid: base 0 (NOACCESS, DECOMMIT) and GUARD codes are
 * kept not present and resolved by the fault handler.
 * Preconditions: p < 32; pte_bytes is 4 or 8 (4: no XD whatever nx says).
 */
hw_pte_t mm_protect_pte_bits(mm_prot_t p, unsigned pte_bytes, bool nx, bool user);

/* R1's access set of p (MM_ACC_*): the rights a page with this protection grants. Execute
 * implies read; a WRITECOPY base grants read only (a write makes a private copy first).
 * Precondition: p < 32. Modifiers do not change the set. */
unsigned mm_protect_access_set(mm_prot_t p);

/*
 * May a page whose allowed protection is `allowed` (a view's AllocationProtect) be given
 * protection `requested`? True iff acc(requested) is a subset of acc(allowed) (R1; NT:
 * MiIsPteProtectionCompatible). Modifiers of either do not matter. Preconditions: both < 32.
 */
bool mm_protect_compatible(mm_prot_t allowed, mm_prot_t requested);

/* What the fault handler does with an access of a given kind to a page of protection p. */
typedef enum mm_access_verdict {
    MM_ACCESS_ALLOWED = 0,       /* make the page valid and retry */
    MM_ACCESS_COPY_ON_WRITE = 1, /* a write to a WRITECOPY base: copy the page, then retry */
    MM_ACCESS_GUARD = 2,         /* STATUS_GUARD_PAGE_VIOLATION: clear the guard, fail once */
    MM_ACCESS_DENIED = 3,        /* STATUS_ACCESS_VIOLATION */
} mm_access_verdict_t;

/*
 * The access rule of the fault handler (NT: MiAccessCheck with its MmReadWrite table, and the
 * no-execute check of MmAccessFault): first the base protection must allow the access (base 0
 * allows nothing; a write needs a writable base; an execute needs an executable base, and
 * execute implies read), else DENIED; then a GUARD modifier gives GUARD; then a write to a
 * WRITECOPY base gives COPY_ON_WRITE; else ALLOWED. Precondition: p < 32.
 */
mm_access_verdict_t mm_protect_check_access(mm_prot_t p, ntmm_access_t access);

/* The status a verdict raises: SUCCESS, GUARD_PAGE_VIOLATION or ACCESS_VIOLATION. */
ntmm_status_t mm_access_verdict_status(mm_access_verdict_t v);

/* ExceptionInformation[0] for an access kind: NTMM_EXCEPTION_READ/WRITE/EXECUTE_FAULT. */
uint32_t mm_access_exception_code(ntmm_access_t access);

/*
 * The protection of a page after its private copy was made: WRITECOPY -> READWRITE,
 * EXECUTE_WRITECOPY -> EXECUTE_READWRITE, modifiers kept, every other code unchanged
 * (NT: MmMakeProtectNotWriteCopy). Precondition: p < 32.
 */
mm_prot_t mm_protect_not_writecopy(mm_prot_t p);

/* "READWRITE", "EXECUTE_READ|GUARD", "NOACCESS", "DECOMMIT"... for messages. p < 32. */
const char *mm_protect_name(mm_prot_t p);

#endif /* NTMM_MM_PROTECT_H */
