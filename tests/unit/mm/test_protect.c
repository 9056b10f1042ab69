/*
 * test_protect.c - NT's protection codes and tables: the Win32 validator against an explicit
 * list of what Windows accepts (every value 0..0x7FF and bits above), the round trips
 * PAGE_* -> code -> PAGE_*, VirtualQuery's values for every code, the hardware bits of each
 * code in each paging mode (and what the walker then allows), R1's access sets and view
 * compatibility, and the fault handler's access rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hwenv.h"
#include "mm/protect.h"
#include "mm/pte_sw.h"

#define NA   NTMM_PAGE_NOACCESS
#define RO   NTMM_PAGE_READONLY
#define RW   NTMM_PAGE_READWRITE
#define WC   NTMM_PAGE_WRITECOPY
#define X    NTMM_PAGE_EXECUTE
#define XR   NTMM_PAGE_EXECUTE_READ
#define XRW  NTMM_PAGE_EXECUTE_READWRITE
#define XWC  NTMM_PAGE_EXECUTE_WRITECOPY
#define GRD  NTMM_PAGE_GUARD
#define NC   NTMM_PAGE_NOCACHE
#define WCB  NTMM_PAGE_WRITECOMBINE

/*
 * Everything Windows accepts, written out from its rules (MiMakeProtectionMask; catalog VA-006,
 * VA-007, VA-011, GP-001; the oracle's list of Wine deviations): one base value, and at most
 * one of GUARD, NOCACHE, WRITECOMBINE, none of them with NOACCESS. 8 + 7 * 3 = 29 values.
 */
static const struct { uint32_t win32; mm_prot_t code; } accepted[] = {
    { NA, 0x18 }, { RO, 0x01 }, { X, 0x02 }, { XR, 0x03 }, { RW, 0x04 }, { WC, 0x05 }, { XRW, 0x06 }, { XWC, 0x07 },
    { NC | RO, 0x09 }, { NC | X, 0x0A }, { NC | XR, 0x0B }, { NC | RW, 0x0C }, { NC | WC, 0x0D },
    { NC | XRW, 0x0E }, { NC | XWC, 0x0F },
    { GRD | RO, 0x11 }, { GRD | X, 0x12 }, { GRD | XR, 0x13 }, { GRD | RW, 0x14 }, { GRD | WC, 0x15 },
    { GRD | XRW, 0x16 }, { GRD | XWC, 0x17 },
    { WCB | RO, 0x19 }, { WCB | X, 0x1A }, { WCB | XR, 0x1B }, { WCB | RW, 0x1C }, { WCB | WC, 0x1D },
    { WCB | XRW, 0x1E }, { WCB | XWC, 0x1F },
};

static bool lookup_accepted(uint32_t v, mm_prot_t *code)
{
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(accepted); i++)
        if (accepted[i].win32 == v) {
            *code = accepted[i].code;
            return true;
        }
    return false;
}

static void test_validator_exhaustive(void **state)
{
    (void)state;
    unsigned n_ok = 0;
    for (uint32_t v = 0; v < 0x800; v++) {
        mm_prot_t want = MM_INVALID_PROTECTION, got = mm_protect_from_win32(v);
        bool ok = lookup_accepted(v, &want);
        if (got != want) fail_msg("PAGE value %#x: got %#x, want %#x", v, got, want);
        n_ok += ok;
    }
    assert_int_equal(n_ok, 29);
    /* anything at or above 0x800 fails, with or without a valid protection below it */
    const uint32_t high[] = { 0x800, 0x804, 0x1000, 0x1004, 0x10000, 0x40000004, 0x80000004, 0x40000000, 0xFFFFFFFF };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(high); i++)
        assert_int_equal(mm_protect_from_win32(high[i]), MM_INVALID_PROTECTION);
}

/* The catalog's cases, by name. */
static void test_validator_catalog(void **state)
{
    (void)state;
    assert_int_equal(mm_protect_from_win32(0), MM_INVALID_PROTECTION);             /* VA-006 */
    assert_int_equal(mm_protect_from_win32(RO | X), MM_INVALID_PROTECTION);        /* VA-007 */
    assert_int_equal(mm_protect_from_win32(RW | RO), MM_INVALID_PROTECTION);       /* MV-017 RW|READONLY */
    assert_int_equal(mm_protect_from_win32(RW | NC), MM_READWRITE | MM_NOCACHE);   /* VA-011 */
    assert_int_equal(mm_protect_to_win32(MM_READWRITE | MM_NOCACHE), 0x204);       /* VA-011 MBI */
    assert_int_equal(mm_protect_from_win32(RW | GRD), MM_READWRITE | MM_GUARD_PAGE); /* GP-001 */
    assert_int_equal(mm_protect_to_win32(MM_READWRITE | MM_GUARD_PAGE), 0x104);
    assert_int_equal(mm_protect_from_win32(NA), MM_NOACCESS);                      /* VA-003 */
    /* Windows rejects what Wine accepts (oracle README) */
    assert_int_equal(mm_protect_from_win32(GRD | NA), MM_INVALID_PROTECTION);
    assert_int_equal(mm_protect_from_win32(NC | WCB | RW), MM_INVALID_PROTECTION);
    assert_int_equal(mm_protect_from_win32(0x800 | RW), MM_INVALID_PROTECTION);
    /* the other forbidden modifier pairs */
    assert_int_equal(mm_protect_from_win32(GRD | NC | RW), MM_INVALID_PROTECTION);
    assert_int_equal(mm_protect_from_win32(GRD | WCB | RW), MM_INVALID_PROTECTION);
    assert_int_equal(mm_protect_from_win32(NC | NA), MM_INVALID_PROTECTION);
    assert_int_equal(mm_protect_from_win32(WCB | NA), MM_INVALID_PROTECTION);
    /* modifiers alone */
    assert_int_equal(mm_protect_from_win32(GRD), MM_INVALID_PROTECTION);
    assert_int_equal(mm_protect_from_win32(NC), MM_INVALID_PROTECTION);
    assert_int_equal(mm_protect_from_win32(WCB), MM_INVALID_PROTECTION);
    /* two execute values, a read and an execute value */
    assert_int_equal(mm_protect_from_win32(X | XR), MM_INVALID_PROTECTION);
    assert_int_equal(mm_protect_from_win32(RW | XRW), MM_INVALID_PROTECTION);
}

/* MmProtectToValue for all 32 codes, written out. */
static void test_to_win32_table(void **state)
{
    (void)state;
    static const uint32_t want[32] = {
        NA, RO, X, XR, RW, WC, XRW, XWC,
        NA, NC | RO, NC | X, NC | XR, NC | RW, NC | WC, NC | XRW, NC | XWC,
        NA, GRD | RO, GRD | X, GRD | XR, GRD | RW, GRD | WC, GRD | XRW, GRD | XWC,
        NA, WCB | RO, WCB | X, WCB | XR, WCB | RW, WCB | WC, WCB | XRW, WCB | XWC,
    };
    for (mm_prot_t p = 0; p < 32; p++) assert_int_equal(mm_protect_to_win32(p), want[p]);
    assert_int_equal(mm_protect_to_win32(MM_DECOMMIT), NA);
    assert_int_equal(mm_protect_to_win32(MM_ZERO_ACCESS), NA);
}

static void test_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(accepted); i++) {
        mm_prot_t p = mm_protect_from_win32(accepted[i].win32);
        assert_true(mm_protect_valid(p));
        assert_int_equal(mm_protect_to_win32(p), accepted[i].win32);
    }
    unsigned valid = 0;
    for (mm_prot_t p = 0; p < 32; p++) {
        if (!mm_protect_valid(p)) continue;
        valid++;
        assert_int_equal(mm_protect_from_win32(mm_protect_to_win32(p)), p);
    }
    assert_int_equal(valid, 29);
    assert_false(mm_protect_valid(MM_ZERO_ACCESS));
    assert_false(mm_protect_valid(MM_NOCACHE));
    assert_false(mm_protect_valid(MM_DECOMMIT));
    assert_true(mm_protect_valid(MM_NOACCESS));
    assert_false(mm_protect_valid(32));
    assert_false(mm_protect_valid(MM_INVALID_PROTECTION));
}

static void test_code_predicates(void **state)
{
    (void)state;
    assert_int_equal(MM_DECOMMIT, 0x10);
    assert_int_equal(MM_NOACCESS, 0x18);
    assert_true(mm_protect_is_guard(MM_READWRITE | MM_GUARD_PAGE));
    assert_false(mm_protect_is_guard(MM_DECOMMIT)); /* base 0: a special code, not a guard page */
    assert_false(mm_protect_is_writecombine(MM_NOACCESS));
    assert_true(mm_protect_is_writecombine(MM_READONLY | MM_WRITECOMBINE));
    assert_true(mm_protect_is_nocache(MM_EXECUTE | MM_NOCACHE));
    assert_false(mm_protect_accessible(MM_NOACCESS));
    assert_false(mm_protect_accessible(MM_DECOMMIT));
    assert_true(mm_protect_is_writecopy(MM_WRITECOPY));
    assert_true(mm_protect_is_writecopy(MM_EXECUTE_WRITECOPY | MM_GUARD_PAGE));
    assert_false(mm_protect_is_writecopy(MM_EXECUTE_READWRITE));
    assert_true(mm_protect_is_executable(MM_EXECUTE));
    assert_false(mm_protect_is_executable(MM_NOACCESS));
    assert_int_equal(mm_protect_remove_guard(MM_READWRITE | MM_GUARD_PAGE), MM_READWRITE);
    assert_int_equal(mm_protect_remove_guard(MM_DECOMMIT), MM_DECOMMIT);
    assert_string_equal(mm_protect_name(MM_READWRITE | MM_GUARD_PAGE), "READWRITE|GUARD");
    assert_string_equal(mm_protect_name(MM_NOACCESS), "NOACCESS");
    assert_string_equal(mm_protect_name(MM_DECOMMIT), "DECOMMIT");
    assert_string_equal(mm_protect_name(MM_EXECUTE_WRITECOPY | MM_WRITECOMBINE), "EXECUTE_WRITECOPY|WRITECOMBINE");
}

#define HP   HW_PTE_P
#define HRW  HW_PTE_RW
#define HUS  HW_PTE_US
#define HXD  HW_PTE_XD
#define HCOW MM_PTE_COPY_ON_WRITE

/* Hardware bits written out for each mode family. */
static void test_pte_bits_examples(void **state)
{
    (void)state;
    const struct { mm_prot_t p; unsigned bytes; bool nx, user; hw_pte_t want; } cases[] = {
        /* x64 (8 bytes, NX) */
        { MM_READONLY, 8, true, true, HP | HUS | HXD },
        { MM_EXECUTE_READWRITE, 8, true, true, HP | HRW | HUS },
        { MM_READWRITE, 8, true, true, HP | HRW | HUS | HXD },
        { MM_EXECUTE, 8, true, true, HP | HUS },
        { MM_EXECUTE_READ, 8, true, true, HP | HUS },
        { MM_WRITECOPY, 8, true, true, HP | HUS | HCOW | HXD },
        { MM_EXECUTE_WRITECOPY, 8, true, true, HP | HUS | HCOW },
        { MM_READWRITE | MM_NOCACHE, 8, true, true, HP | HRW | HUS | HXD | HW_PTE_PCD },
        { MM_READWRITE | MM_WRITECOMBINE, 8, true, true, HP | HRW | HUS | HXD | HW_PTE_PWT },
        { MM_EXECUTE_READ | MM_NOCACHE, 8, true, false, HP | HW_PTE_PCD },
        { MM_READWRITE, 8, true, false, HP | HRW | HXD },           /* kernel page */
        { MM_READWRITE | MM_GUARD_PAGE, 8, true, true, 0 },
        { MM_NOACCESS, 8, true, true, 0 },
        { MM_DECOMMIT, 8, true, true, 0 },
        { MM_ZERO_ACCESS, 8, true, true, 0 },
        /* PAE with NX off: no XD anywhere */
        { MM_READONLY, 8, false, true, HP | HUS },
        { MM_READWRITE, 8, false, true, HP | HRW | HUS },
        { MM_WRITECOPY, 8, false, true, HP | HUS | HCOW },
        /* 32-bit paging: no XD even if asked */
        { MM_READONLY, 4, true, true, HP | HUS },
        { MM_READWRITE, 4, false, true, HP | HRW | HUS },
        { MM_EXECUTE_READWRITE | MM_NOCACHE, 4, false, false, HP | HRW | HW_PTE_PCD },
        { MM_EXECUTE | MM_GUARD_PAGE, 4, false, true, 0 },
    };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(cases); i++) {
        hw_pte_t got = mm_protect_pte_bits(cases[i].p, cases[i].bytes, cases[i].nx, cases[i].user);
        if (got != cases[i].want)
            fail_msg("case %zu (%s, %u bytes): %#llx, want %#llx", i, mm_protect_name(cases[i].p), cases[i].bytes,
                     (unsigned long long)got, (unsigned long long)cases[i].want);
    }
}

/* The bit rules for every code, format and owner. */
static void test_pte_bits_all_codes(void **state)
{
    (void)state;
    const struct { unsigned bytes; bool nx; } fmts[] = { { 4, false }, { 8, false }, { 8, true } };
    for (size_t fi = 0; fi < NTMM_ARRAY_SIZE(fmts); fi++)
        for (int user = 0; user < 2; user++)
            for (mm_prot_t p = 0; p < 32; p++) {
                hw_pte_t b = mm_protect_pte_bits(p, fmts[fi].bytes, fmts[fi].nx, user != 0);
                mm_prot_t base = p & 7u, mod = p & 0x18u;
                bool present = base != 0 && mod != MM_GUARD_PAGE;
                assert_int_equal(b != 0, present);
                if (!present) continue;
                assert_true(b & HW_PTE_P);
                assert_int_equal((b & HW_PTE_RW) != 0, base == MM_READWRITE || base == MM_EXECUTE_READWRITE);
                assert_int_equal((b & HCOW) != 0, base == MM_WRITECOPY || base == MM_EXECUTE_WRITECOPY);
                assert_int_equal((b & HW_PTE_US) != 0, user != 0);
                bool exec = base == MM_EXECUTE || base == MM_EXECUTE_READ || base == MM_EXECUTE_READWRITE ||
                            base == MM_EXECUTE_WRITECOPY;
                assert_int_equal((b & HXD) != 0, fmts[fi].bytes == 8 && fmts[fi].nx && !exec);
                assert_int_equal((b & HW_PTE_PCD) != 0, mod == MM_NOCACHE);
                assert_int_equal((b & HW_PTE_PWT) != 0, mod == MM_WRITECOMBINE);
                assert_int_equal(b & ~(HP | HRW | HUS | HXD | HCOW | HW_PTE_PCD | HW_PTE_PWT), 0);
                assert_int_equal(b & (HW_PTE_A | HW_PTE_D | HW_PTE_G | HW_PTE_PAT), 0);
            }
}

/*
 * Valid PTEs built from each code, walked by the simulated MMU in every mode (with NX on and
 * off where the mode has it): what the hardware lets a user-mode access do must agree with the
 * fault handler's rule. Hardware allowing an access means the rule allows it; the rule denying
 * it means the hardware faults, except execute where there is no XD to enforce it.
 */
static void test_pte_bits_walked(void **state)
{
    (void)state;
    const struct { ntmm_paging_mode_t mode; uint32_t absent; } envs[] = {
        { NTMM_PAGING_X86, 0 }, { NTMM_PAGING_PAE, 0 }, { NTMM_PAGING_PAE, NTMM_HW_NO_NX },
        { NTMM_PAGING_X64, 0 }, { NTMM_PAGING_X64, NTMM_HW_NO_NX }, { NTMM_PAGING_X64_LA57, 0 },
    };
    const va_t va = 0x00412000;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(envs); i++) {
        ntmm_hw_config_t cfg = { .features_absent = envs[i].absent };
        hwenv_t e;
        assert_true(hwenv_init(&e, envs[i].mode, &cfg));
        bool nxe = (e.cpu->paging.nxe);
        assert_int_equal(nxe, envs[i].mode != NTMM_PAGING_X86 && envs[i].absent == 0);
        mm_pte_fmt_t f = mm_pte_fmt(e.b.mode, nxe);
        pa_t slot = ptb_entry_pa(&e.b, va, 1);
        assert_true(slot != 0);
        for (mm_prot_t p = 0; p < 32; p++) {
            if (mm_protect_pte_bits(p, f.bytes, f.nx, true) == 0) continue;
            ptb_write(&e.b, slot, mm_pte_make_valid(&f, HWENV_DATA >> 12, p, true));
            for (unsigned k = NTMM_ACCESS_READ; k <= NTMM_ACCESS_EXECUTE; k++) {
                hw_walk_t w;
                ntmm_fault_t fault;
                bool hw_ok = hw_walk(&e.cpu->paging, va, k | HW_ACC_USER, &w, &fault);
                mm_access_verdict_t v = mm_protect_check_access(p, (ntmm_access_t)k);
                bool no_xd = k == NTMM_ACCESS_EXECUTE && !f.nx; /* without XD, the MMU cannot refuse a fetch */
                if (hw_ok) {
                    assert_int_equal(w.pa, HWENV_DATA);
                    if (v != MM_ACCESS_ALLOWED && !no_xd)
                        fail_msg("%s mode %d: hardware allows access %u, rule says %d", mm_protect_name(p),
                                 envs[i].mode, k, v);
                } else {
                    assert_int_equal(fault.vector, NTMM_VEC_PF);
                    assert_true(fault.error_code & NTMM_PF_P);
                    if (v == MM_ACCESS_ALLOWED)
                        fail_msg("%s mode %d: rule allows access %u, hardware faults", mm_protect_name(p),
                                 envs[i].mode, k);
                }
                if (v == MM_ACCESS_DENIED && !no_xd) assert_false(hw_ok);
                /* a write to a WRITECOPY page faults in hardware: the handler copies */
                if (v == MM_ACCESS_COPY_ON_WRITE) assert_false(hw_ok);
            }
        }
        hwenv_destroy(&e);
    }
}

/* R1, written out per base; modifiers do not change it. */
static void test_access_sets(void **state)
{
    (void)state;
    const unsigned R = MM_ACC_READ, W = MM_ACC_WRITE, E = MM_ACC_EXECUTE;
    const struct { uint32_t win32; unsigned set; } r1[] = {
        { NA, 0 }, { RO, R }, { WC, R }, { RW, R | W }, { X, R | E }, { XR, R | E }, { XWC, R | E }, { XRW, R | W | E },
    };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(r1); i++) {
        mm_prot_t p = mm_protect_from_win32(r1[i].win32);
        assert_int_equal(mm_protect_access_set(p), r1[i].set);
        if (p != MM_NOACCESS) {
            assert_int_equal(mm_protect_access_set(p | MM_GUARD_PAGE), r1[i].set);
            assert_int_equal(mm_protect_access_set(p | MM_NOCACHE), r1[i].set);
            assert_int_equal(mm_protect_access_set(p | MM_WRITECOMBINE), r1[i].set);
        }
    }
    assert_int_equal(mm_protect_access_set(MM_DECOMMIT), 0);
}

/* View compatibility (R1; MV-020, MV-021, IM-002): each row lists what may be set on a view
 * whose AllocationProtect is `view`. */
static void test_compatibility(void **state)
{
    (void)state;
    const uint32_t all[8] = { NA, RO, WC, RW, X, XR, XWC, XRW };
    const struct { uint32_t view; uint32_t ok; } rows[] = {
        { NA, NA },
        { RO, NA | RO | WC },
        { WC, NA | RO | WC },
        { RW, NA | RO | WC | RW },
        { X, NA | RO | WC | X | XR | XWC },
        { XR, NA | RO | WC | X | XR | XWC },
        { XWC, NA | RO | WC | X | XR | XWC },
        { XRW, NA | RO | WC | RW | X | XR | XWC | XRW },
    };
    for (size_t r = 0; r < NTMM_ARRAY_SIZE(rows); r++) {
        mm_prot_t view = mm_protect_from_win32(rows[r].view);
        for (size_t c = 0; c < 8; c++) {
            mm_prot_t req = mm_protect_from_win32(all[c]);
            bool want = (rows[r].ok & all[c]) != 0;
            if (mm_protect_compatible(view, req) != want)
                fail_msg("view %#x, new %#x: want %d", rows[r].view, all[c], want);
            /* modifiers on either side change nothing */
            if (req != MM_NOACCESS) assert_int_equal(mm_protect_compatible(view, req | MM_GUARD_PAGE), want);
            if (view != MM_NOACCESS) assert_int_equal(mm_protect_compatible(view | MM_NOCACHE, req), want);
        }
    }
    /* MV-020: a FILE_MAP_READ view takes READONLY and WRITECOPY only */
    assert_true(mm_protect_compatible(MM_READONLY, MM_WRITECOPY));
    assert_false(mm_protect_compatible(MM_READONLY, MM_READWRITE));
    assert_false(mm_protect_compatible(MM_READONLY, MM_EXECUTE_READ));
}

/* The fault handler's rule, written out: base x access, then the guard modifier. */
static void test_access_rule(void **state)
{
    (void)state;
    enum { A = MM_ACCESS_ALLOWED, C = MM_ACCESS_COPY_ON_WRITE, G = MM_ACCESS_GUARD, D = MM_ACCESS_DENIED };
    const struct { mm_prot_t p; int r, w, x; } cases[] = {
        { MM_NOACCESS, D, D, D },
        { MM_DECOMMIT, D, D, D },
        { MM_ZERO_ACCESS, D, D, D },
        { MM_READONLY, A, D, D },
        { MM_EXECUTE, A, D, A }, /* execute implies read */
        { MM_EXECUTE_READ, A, D, A },
        { MM_READWRITE, A, A, D },
        { MM_WRITECOPY, A, C, D },
        { MM_EXECUTE_READWRITE, A, A, A },
        { MM_EXECUTE_WRITECOPY, A, C, A },
        { MM_READWRITE | MM_NOCACHE, A, A, D },
        { MM_EXECUTE_READ | MM_WRITECOMBINE, A, D, A },
        /* guard: only accesses the base allows see the guard (MiAccessCheck order) */
        { MM_READWRITE | MM_GUARD_PAGE, G, G, D },
        { MM_READONLY | MM_GUARD_PAGE, G, D, D },
        { MM_WRITECOPY | MM_GUARD_PAGE, G, G, D },
        { MM_EXECUTE_READWRITE | MM_GUARD_PAGE, G, G, G },
        { MM_EXECUTE | MM_GUARD_PAGE, G, D, G },
    };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(cases); i++) {
        assert_int_equal(mm_protect_check_access(cases[i].p, NTMM_ACCESS_READ), cases[i].r);
        assert_int_equal(mm_protect_check_access(cases[i].p, NTMM_ACCESS_WRITE), cases[i].w);
        assert_int_equal(mm_protect_check_access(cases[i].p, NTMM_ACCESS_EXECUTE), cases[i].x);
    }
    /* the rule and R1 agree: outside copy-on-write and guards, allowed iff in the access set */
    for (mm_prot_t p = 0; p < 32; p++) {
        if (mm_protect_is_guard(p) || mm_protect_is_writecopy(p)) continue;
        unsigned set = mm_protect_access_set(p);
        assert_int_equal(mm_protect_check_access(p, NTMM_ACCESS_READ) == MM_ACCESS_ALLOWED, (set & MM_ACC_READ) != 0);
        assert_int_equal(mm_protect_check_access(p, NTMM_ACCESS_WRITE) == MM_ACCESS_ALLOWED, (set & MM_ACC_WRITE) != 0);
        assert_int_equal(mm_protect_check_access(p, NTMM_ACCESS_EXECUTE) == MM_ACCESS_ALLOWED,
                         (set & MM_ACC_EXECUTE) != 0);
    }
    assert_int_equal(mm_access_verdict_status(MM_ACCESS_ALLOWED), NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_access_verdict_status(MM_ACCESS_COPY_ON_WRITE), NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_access_verdict_status(MM_ACCESS_GUARD), NTMM_STATUS_GUARD_PAGE_VIOLATION);
    assert_int_equal(mm_access_verdict_status(MM_ACCESS_DENIED), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(mm_access_exception_code(NTMM_ACCESS_READ), 0);
    assert_int_equal(mm_access_exception_code(NTMM_ACCESS_WRITE), 1);
    assert_int_equal(mm_access_exception_code(NTMM_ACCESS_EXECUTE), 8);
}

/* MmMakeProtectNotWriteCopy (CW-004: WRITECOPY shows READWRITE once the page is copied). */
static void test_not_writecopy(void **state)
{
    (void)state;
    assert_int_equal(mm_protect_not_writecopy(MM_WRITECOPY), MM_READWRITE);
    assert_int_equal(mm_protect_not_writecopy(MM_EXECUTE_WRITECOPY), MM_EXECUTE_READWRITE);
    assert_int_equal(mm_protect_not_writecopy(MM_WRITECOPY | MM_GUARD_PAGE), MM_READWRITE | MM_GUARD_PAGE);
    assert_int_equal(mm_protect_not_writecopy(MM_WRITECOPY | MM_NOCACHE), MM_READWRITE | MM_NOCACHE);
    assert_int_equal(mm_protect_not_writecopy(MM_EXECUTE_WRITECOPY | MM_WRITECOMBINE),
                     MM_EXECUTE_READWRITE | MM_WRITECOMBINE);
    assert_int_equal(mm_protect_to_win32(mm_protect_not_writecopy(mm_protect_from_win32(WC))), RW);
    assert_int_equal(mm_protect_to_win32(mm_protect_not_writecopy(mm_protect_from_win32(XWC))), XRW);
    for (mm_prot_t p = 0; p < 32; p++)
        if (!mm_protect_is_writecopy(p)) assert_int_equal(mm_protect_not_writecopy(p), p);
}

/* The public constants have Windows' values (windows-semantics.md section 0). */
static void test_public_constants(void **state)
{
    (void)state;
    assert_int_equal(NTMM_MEM_COMMIT, 0x1000);
    assert_int_equal(NTMM_MEM_RESERVE, 0x2000);
    assert_int_equal(NTMM_MEM_DECOMMIT, 0x4000);
    assert_int_equal(NTMM_MEM_REPLACE_PLACEHOLDER, 0x4000);
    assert_int_equal(NTMM_MEM_RELEASE, 0x8000);
    assert_int_equal(NTMM_MEM_FREE, 0x10000);
    assert_int_equal(NTMM_MEM_PRIVATE, 0x20000);
    assert_int_equal(NTMM_MEM_MAPPED, 0x40000);
    assert_int_equal(NTMM_MEM_RESERVE_PLACEHOLDER, 0x40000);
    assert_int_equal(NTMM_MEM_RESET, 0x80000);
    assert_int_equal(NTMM_MEM_TOP_DOWN, 0x100000);
    assert_int_equal(NTMM_MEM_WRITE_WATCH, 0x200000);
    assert_int_equal(NTMM_MEM_PHYSICAL, 0x400000);
    assert_int_equal(NTMM_MEM_RESET_UNDO, 0x1000000);
    assert_int_equal(NTMM_MEM_IMAGE, 0x1000000);
    assert_int_equal(NTMM_MEM_LARGE_PAGES, 0x20000000);
    assert_int_equal(NTMM_MEM_COALESCE_PLACEHOLDERS, 0x1);
    assert_int_equal(NTMM_MEM_PRESERVE_PLACEHOLDER, 0x2);
    assert_int_equal(NTMM_WRITE_WATCH_FLAG_RESET, 0x1);
    assert_int_equal(NTMM_PAGE_NOACCESS, 0x01);
    assert_int_equal(NTMM_PAGE_READONLY, 0x02);
    assert_int_equal(NTMM_PAGE_READWRITE, 0x04);
    assert_int_equal(NTMM_PAGE_WRITECOPY, 0x08);
    assert_int_equal(NTMM_PAGE_EXECUTE, 0x10);
    assert_int_equal(NTMM_PAGE_EXECUTE_READ, 0x20);
    assert_int_equal(NTMM_PAGE_EXECUTE_READWRITE, 0x40);
    assert_int_equal(NTMM_PAGE_EXECUTE_WRITECOPY, 0x80);
    assert_int_equal(NTMM_PAGE_GUARD, 0x100);
    assert_int_equal(NTMM_PAGE_NOCACHE, 0x200);
    assert_int_equal(NTMM_PAGE_WRITECOMBINE, 0x400);
    assert_int_equal(NTMM_EXCEPTION_READ_FAULT, 0);
    assert_int_equal(NTMM_EXCEPTION_WRITE_FAULT, 1);
    assert_int_equal(NTMM_EXCEPTION_EXECUTE_FAULT, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validator_exhaustive),
        cmocka_unit_test(test_validator_catalog),
        cmocka_unit_test(test_to_win32_table),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_code_predicates),
        cmocka_unit_test(test_pte_bits_examples),
        cmocka_unit_test(test_pte_bits_all_codes),
        cmocka_unit_test(test_pte_bits_walked),
        cmocka_unit_test(test_access_sets),
        cmocka_unit_test(test_compatibility),
        cmocka_unit_test(test_access_rule),
        cmocka_unit_test(test_not_writecopy),
        cmocka_unit_test(test_public_constants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
