/*
 * test_win32.c - the Win32 memory facade (ntmm_win32.h through <ntmm/compat/windows.h>)
 * against the catalog /work/shared/conformance/windows-semantics.md: the items of sections
 * 1, 3, 4, 5, 6 and 8 observable through kernel32, each test named after its item, with
 * exact return values and GetLastError (SetLastError(0xdeadbeef) first, so "GLE untouched"
 * is checked as the catalog states it). Also GetSystemInfo, GlobalMemoryStatusEx,
 * GetProcessMemoryInfo, the per-thread last error and current process, and a Win32-style
 * snippet compiled unchanged. Every test ends with all invariant checkers of the process and
 * the machine (teardown).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <ntmm/compat/windows.h>
#include <ntmm/ntmm.h>

#define P 0x1000u
#define G 0x10000u
#define DEAD 0xdeadbeefu
#define RAM_BYTES (16ull << 20)

typedef struct env {
    ntmm_machine_t *m;
    ntmm_process_t *p;
} env_t;

static env_t *env_new(ntmm_paging_mode_t mode, ntmm_layout_t layout, unsigned cpus)
{
    env_t *e = calloc(1, sizeof *e);
    assert_non_null(e);
    ntmm_machine_config_t cfg = { .hw = { .ram_bytes = RAM_BYTES, .cpu_count = cpus }, .paging = mode };
    assert_int_equal(ntmm_machine_create(&cfg, &e->m), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_process_create(e->m, layout, &e->p), NTMM_STATUS_SUCCESS);
    ntmm_set_current_process(e->m, e->p);
    return e;
}

static void env_free(env_t *e)
{
    assert_int_equal(ntmm_process_check(e->p), NTMM_STATUS_SUCCESS);
    ntmm_set_current_process(NULL, NULL);
    assert_int_equal(ntmm_process_destroy(e->p), NTMM_STATUS_SUCCESS);
    ntmm_machine_destroy(e->m);
    free(e);
}

static int setup(void **state)
{
    *state = env_new(NTMM_PAGING_X64, NTMM_LAYOUT_X64, 1);
    return 0;
}

static int teardown(void **state)
{
    env_free(*state);
    return 0;
}

static LPVOID at(LPVOID p, uintptr_t off) { return (LPVOID)((uintptr_t)p + off); }

static uint64_t ga(LPCVOID p) { return (uint64_t)(uintptr_t)p; }

static void mbi_is(LPCVOID addr, LPVOID base, LPVOID alloc_base, DWORD alloc_prot, SIZE_T region, DWORD state,
                   DWORD prot, DWORD type)
{
    MEMORY_BASIC_INFORMATION mbi = { 0 };
    SetLastError(DEAD);
    assert_int_equal(VirtualQuery(addr, &mbi, sizeof mbi), sizeof mbi);
    assert_int_equal(GetLastError(), DEAD);
    assert_ptr_equal(mbi.BaseAddress, base);
    assert_ptr_equal(mbi.AllocationBase, alloc_base);
    assert_int_equal(mbi.AllocationProtect, alloc_prot);
    assert_int_equal(mbi.RegionSize, region);
    assert_int_equal(mbi.State, state);
    assert_int_equal(mbi.Protect, prot);
    assert_int_equal(mbi.Type, type);
}

/* A user-mode access by the current process; returns the NT status of the exception (or 0). */
static ntmm_status_t guest(env_t *e, LPVOID addr, void *buf, size_t len, ntmm_access_t kind)
{
    return ntmm_process_access(e->p, 0, 1, ga(addr), buf, len, kind, NULL, NULL);
}

/* ---- 1. VirtualAlloc ------------------------------------------------------------------- */

static void test_va_001_size_zero(void **state)
{
    env_t *e = *state;
    ntmm_process_t *other;
    assert_int_equal(ntmm_process_create(e->m, NTMM_LAYOUT_X64, &other), NTMM_STATUS_SUCCESS);
    SetLastError(DEAD);
    assert_null(VirtualAlloc(NULL, 0, MEM_RESERVE, PAGE_NOACCESS));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(DEAD);
    assert_null(VirtualAllocEx(ntmm_process_handle(other), NULL, 0, MEM_RESERVE, PAGE_NOACCESS));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    assert_int_equal(ntmm_process_destroy(other), NTMM_STATUS_SUCCESS);
}

/* VA-002 (not in the catalog's sample) is taken as the reservation VA-003 starts from. */
static void test_va_003_commit_in_reservation(void **state)
{
    (void)state;
    SetLastError(DEAD);
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_NOACCESS);
    assert_non_null(p);
    assert_int_equal(ga(p) & 0xFFFF, 0);
    assert_ptr_equal(VirtualAlloc(p, P, MEM_COMMIT, PAGE_NOACCESS), p);
    assert_int_equal(GetLastError(), DEAD);
    mbi_is(p, p, p, PAGE_NOACCESS, 0x1000, MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE);
    mbi_is(at(p, P), at(p, P), p, PAGE_NOACCESS, 0xF000, MEM_RESERVE, 0, MEM_PRIVATE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_va_004_reuse_after_release(void **state)
{
    (void)state;
    LPVOID a = VirtualAlloc(NULL, 0x2000, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE);
    assert_non_null(a);
    assert_int_equal(ga(a) & 0xFFFF, 0);
    assert_true(VirtualFree(a, 0, MEM_RELEASE));
    assert_ptr_equal(VirtualAlloc(a, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE), a);
    assert_true(VirtualFree(a, 0, MEM_RELEASE));
}

static void test_va_006_protection_zero(void **state)
{
    (void)state;
    SetLastError(DEAD);
    assert_null(VirtualAlloc(NULL, P, MEM_RESERVE, 0));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(DEAD);
    assert_null(VirtualAlloc(NULL, P, MEM_COMMIT, 0));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
}

static void test_va_007_combined_protections(void **state)
{
    (void)state;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_NOACCESS);
    assert_non_null(p);
    SetLastError(DEAD);
    assert_null(VirtualAlloc(p, P, MEM_COMMIT, PAGE_READONLY | PAGE_EXECUTE));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    mbi_is(p, p, p, PAGE_NOACCESS, G, MEM_RESERVE, 0, MEM_PRIVATE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_va_010_recommit(void **state)
{
    (void)state;
    static const DWORD ok[] = { PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_EXECUTE, PAGE_EXECUTE_READ,
                                PAGE_EXECUTE_READWRITE };
    LPVOID p = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    assert_non_null(p);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        SetLastError(DEAD);
        assert_ptr_equal(VirtualAlloc(p, P, MEM_COMMIT, ok[i]), p);
        assert_int_equal(GetLastError(), DEAD);
        mbi_is(p, p, p, PAGE_READWRITE, P, MEM_COMMIT, ok[i], MEM_PRIVATE);
    }
    SetLastError(DEAD);
    assert_null(VirtualAlloc(p, P, MEM_COMMIT, PAGE_WRITECOPY));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(DEAD);
    assert_null(VirtualAlloc(p, P, MEM_COMMIT, PAGE_EXECUTE_WRITECOPY));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_va_011_nocache(void **state)
{
    (void)state;
    LPVOID p = VirtualAlloc(NULL, 0x2000, MEM_COMMIT, PAGE_READWRITE | PAGE_NOCACHE);
    assert_non_null(p);
    mbi_is(p, p, p, 0x204, 0x2000, MEM_COMMIT, 0x204, MEM_PRIVATE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

/* VA-013's roundings, observed through VirtualAlloc's result and VirtualQuery's RegionSize. */
static void test_va_013_rounding(void **state)
{
    (void)state;
    static const struct { uintptr_t base; SIZE_T size; uintptr_t out; SIZE_T out_size; } c[] = {
        { 0x50000000, 1, 0x50000000, 0x1000 },      { 0x50008000, 1, 0x50000000, 0x9000 },
        { 0x50000010, 0x1000, 0x50000000, 0x2000 }, { 0x50010000, 0x2000, 0x50010000, 0x2000 },
        { 0x5000FFFF, 0x3000, 0x50000000, 0x13000 }, { 0x50001010, 0x7000, 0x50000000, 0x9000 },
        { 0x50001010, 0xC000, 0x50000000, 0xE000 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        LPVOID p = VirtualAlloc((LPVOID)c[i].base, c[i].size, MEM_RESERVE, PAGE_READWRITE);
        assert_ptr_equal(p, (LPVOID)c[i].out);
        mbi_is(p, p, p, PAGE_READWRITE, c[i].out_size, MEM_RESERVE, 0, MEM_PRIVATE);
        assert_true(VirtualFree(p, 0, MEM_RELEASE));
    }
}

static void test_va_014_015_017_conflicts(void **state)
{
    (void)state;
    LPVOID p = VirtualAlloc((LPVOID)0x50001010, 0x1000, MEM_RESERVE, PAGE_READWRITE);
    assert_ptr_equal(p, (LPVOID)0x50000000);
    /* VA-014: the rest of the granule is unusable */
    SetLastError(DEAD);
    assert_null(VirtualAlloc((LPVOID)0x50008000, P, MEM_RESERVE, PAGE_READWRITE));
    assert_int_equal(GetLastError(), ERROR_INVALID_ADDRESS);
    /* VA-015 */
    SetLastError(DEAD);
    assert_ptr_equal(VirtualAlloc((LPVOID)0x50002000, P, MEM_COMMIT, PAGE_NOACCESS), (LPVOID)0x50002000);
    assert_int_equal(GetLastError(), DEAD);
    assert_null(VirtualAlloc((LPVOID)0x50003000, P, MEM_COMMIT, PAGE_NOACCESS));
    assert_int_equal(GetLastError(), ERROR_INVALID_ADDRESS);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
    /* VA-017: a commit across two reservations */
    LPVOID a = VirtualAlloc((LPVOID)0x50000000, G, MEM_RESERVE, PAGE_READWRITE);
    LPVOID b = VirtualAlloc((LPVOID)0x50010000, G, MEM_RESERVE, PAGE_READWRITE);
    assert_ptr_equal(a, (LPVOID)0x50000000);
    assert_ptr_equal(b, (LPVOID)0x50010000);
    SetLastError(DEAD);
    assert_null(VirtualAlloc((LPVOID)0x50004000, 0x10000, MEM_COMMIT, PAGE_READWRITE));
    assert_int_equal(GetLastError(), ERROR_INVALID_ADDRESS);
    assert_true(VirtualFree(a, 0, MEM_RELEASE));
    assert_true(VirtualFree(b, 0, MEM_RELEASE));
}

static void test_va_018_commit_over_mixed(void **state)
{
    env_t *e = *state;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    assert_ptr_equal(VirtualAlloc(p, P, MEM_COMMIT, PAGE_READWRITE), p);
    assert_ptr_equal(VirtualAlloc(at(p, 2 * P), P, MEM_COMMIT, PAGE_NOACCESS), at(p, 2 * P));
    SetLastError(DEAD);
    assert_ptr_equal(VirtualAlloc(p, 3 * P, MEM_COMMIT, PAGE_READONLY), p);
    assert_int_equal(GetLastError(), DEAD);
    mbi_is(p, p, p, PAGE_READWRITE, 3 * P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    uint8_t v = 1;
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(guest(e, at(p, i * P), &v, 1, NTMM_ACCESS_WRITE), NTMM_STATUS_ACCESS_VIOLATION);
        assert_int_equal(guest(e, at(p, i * P), &v, 1, NTMM_ACCESS_READ), NTMM_STATUS_SUCCESS);
    }
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_va_020_zero_after_realloc(void **state)
{
    env_t *e = *state;
    uint8_t buf[16];
    LPVOID p = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    memset(buf, 0xA5, sizeof buf);
    assert_int_equal(guest(e, p, buf, sizeof buf, NTMM_ACCESS_WRITE), NTMM_STATUS_SUCCESS);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
    assert_ptr_equal(VirtualAlloc(p, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE), p);
    assert_int_equal(guest(e, p, buf, sizeof buf, NTMM_ACCESS_READ), NTMM_STATUS_SUCCESS);
    for (size_t i = 0; i < sizeof buf; i++) assert_int_equal(buf[i], 0);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_va_022_reserve_has_no_protect(void **state)
{
    (void)state;
    DWORD old = DEAD;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    mbi_is(p, p, p, PAGE_READWRITE, G, MEM_RESERVE, 0, MEM_PRIVATE);
    SetLastError(DEAD);
    assert_false(VirtualProtect(p, P, PAGE_READONLY, &old));
    assert_int_equal(GetLastError(), ERROR_INVALID_ADDRESS);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

/* kernel32 refuses a base in the first 64 KiB itself. */
static void test_va_low_base(void **state)
{
    (void)state;
    SetLastError(DEAD);
    assert_null(VirtualAlloc((LPVOID)0x1000, P, MEM_RESERVE, PAGE_READWRITE));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
}

/* ---- 3. VirtualFree -------------------------------------------------------------------- */

static void test_vf_001_type_zero(void **state)
{
    env_t *e = *state;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    SetLastError(DEAD);
    assert_false(VirtualFree(p, G, 0));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(DEAD);
    assert_false(VirtualFreeEx(ntmm_process_handle(e->p), p, G, 0));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(DEAD);
    assert_false(VirtualFree(p, 0, MEM_DECOMMIT | MEM_RELEASE));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    mbi_is(p, p, p, PAGE_READWRITE, G, MEM_RESERVE, 0, MEM_PRIVATE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_vf_003_decommit_reserved(void **state)
{
    (void)state;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_NOACCESS);
    assert_ptr_equal(VirtualAlloc(p, P, MEM_COMMIT, PAGE_READWRITE), p);
    SetLastError(DEAD);
    assert_true(VirtualFree(p, G, MEM_DECOMMIT));
    assert_int_equal(GetLastError(), DEAD);
    mbi_is(p, p, p, PAGE_NOACCESS, G, MEM_RESERVE, 0, MEM_PRIVATE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_vf_004_release_needs_size_zero(void **state)
{
    (void)state;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    SetLastError(DEAD);
    assert_false(VirtualFree(p, 1, MEM_RELEASE));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    mbi_is(p, p, p, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    SetLastError(DEAD);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
    assert_int_equal(GetLastError(), DEAD);
    MEMORY_BASIC_INFORMATION mbi = { 0 };
    assert_int_equal(VirtualQuery(p, &mbi, sizeof mbi), sizeof mbi);
    assert_int_equal(mbi.State, MEM_FREE);
}

/* VF-012 after a partial release (VF-011) made with the Native API: the Win32 observables. */
static void test_vf_012_remainder_is_an_allocation(void **state)
{
    env_t *e = *state;
    LPVOID a1 = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    uint64_t b = ga(a1), s = 0x2000;
    assert_int_equal(ntmm_nt_free_virtual_memory(e->p, &b, &s, MEM_RELEASE), NTMM_STATUS_SUCCESS);
    assert_ptr_equal(VirtualAlloc(a1, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE), a1);
    SetLastError(DEAD);
    assert_false(VirtualFree(a1, G, MEM_DECOMMIT)); /* UNABLE_TO_FREE_VM */
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(DEAD);
    assert_false(VirtualFree(at(a1, P), 0, MEM_RELEASE)); /* MEMORY_NOT_ALLOCATED */
    assert_int_equal(GetLastError(), ERROR_INVALID_ADDRESS);
    SetLastError(DEAD);
    assert_false(VirtualFree(at(a1, P), P, MEM_DECOMMIT));
    assert_int_equal(GetLastError(), ERROR_INVALID_ADDRESS);
    SetLastError(DEAD);
    assert_true(VirtualFree(at(a1, 0x2000), 0, MEM_RELEASE));
    assert_int_equal(GetLastError(), DEAD);
    assert_true(VirtualFree(a1, 0, MEM_RELEASE));
}

static void test_vf_018_free_noaccess(void **state)
{
    (void)state;
    DWORD old = DEAD;
    LPVOID p = VirtualAlloc(NULL, 2 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    assert_true(VirtualProtect(p, 2 * P, PAGE_NOACCESS, &old));
    assert_int_equal(old, PAGE_READWRITE);
    SetLastError(DEAD);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
    assert_int_equal(GetLastError(), DEAD);
}

/* ---- 4. VirtualProtect ----------------------------------------------------------------- */

static void test_vp_001_002_uncommitted(void **state)
{
    (void)state;
    DWORD old = DEAD;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_NOACCESS);
    SetLastError(DEAD);
    assert_false(VirtualProtect(p, 0xFFFC, PAGE_READONLY, &old));
    assert_int_equal(GetLastError(), ERROR_INVALID_ADDRESS);
    assert_int_equal(old, PAGE_NOACCESS); /* VP-010: NT leaves PAGE_NOACCESS in *old */
    assert_ptr_equal(VirtualAlloc(p, P, MEM_COMMIT, PAGE_NOACCESS), p);
    SetLastError(DEAD);
    assert_false(VirtualProtect(p, 0xFFFC, PAGE_READONLY, &old));
    assert_int_equal(GetLastError(), ERROR_INVALID_ADDRESS);
    mbi_is(p, p, p, PAGE_NOACCESS, P, MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_vp_003_004_protect_and_null_old(void **state)
{
    (void)state;
    DWORD old = DEAD;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_NOACCESS);
    assert_ptr_equal(VirtualAlloc(p, P, MEM_COMMIT, PAGE_NOACCESS), p);
    SetLastError(DEAD);
    assert_true(VirtualProtect(p, P, PAGE_READONLY, &old));
    assert_int_equal(old, PAGE_NOACCESS);
    assert_true(VirtualProtect(p, P, PAGE_READWRITE, &old));
    assert_int_equal(old, PAGE_READONLY);
    assert_int_equal(GetLastError(), DEAD);
    mbi_is(p, p, p, PAGE_NOACCESS, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    /* VP-004 */
    assert_false(VirtualProtect(p, P, PAGE_READONLY, NULL));
    assert_int_equal(GetLastError(), ERROR_NOACCESS);
    assert_true(VirtualProtect(p, P, PAGE_READONLY, &old));
    assert_int_equal(old, PAGE_READWRITE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_vp_009_old_is_first_page(void **state)
{
    (void)state;
    DWORD old = DEAD;
    LPVOID p = VirtualAlloc(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    assert_true(VirtualProtect(p, 16 * P, PAGE_READONLY, &old));
    assert_int_equal(old, PAGE_READWRITE);
    assert_true(VirtualProtect(p, 8 * P, PAGE_READWRITE, &old));
    assert_int_equal(old, PAGE_READONLY);
    assert_true(VirtualProtect(at(p, 8 * P), 8 * P, PAGE_EXECUTE_READWRITE, &old));
    assert_int_equal(old, PAGE_READONLY);
    assert_true(VirtualProtect(p, 16 * P, PAGE_EXECUTE_READ, &old));
    assert_int_equal(old, PAGE_READWRITE);
    mbi_is(p, p, p, PAGE_READWRITE, 16 * P, MEM_COMMIT, PAGE_EXECUTE_READ, MEM_PRIVATE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_vp_010_free_memory(void **state)
{
    (void)state;
    DWORD old = DEAD;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
    SetLastError(DEAD);
    assert_false(VirtualProtect(p, P, PAGE_READONLY, &old));
    assert_int_equal(GetLastError(), ERROR_INVALID_ADDRESS); /* CONFLICTING_ADDRESSES or NOT_COMMITTED */
    assert_int_equal(old, PAGE_NOACCESS);
}

static void test_vp_011_unaligned(void **state)
{
    (void)state;
    DWORD old = DEAD;
    LPVOID p = VirtualAlloc(NULL, 2 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    assert_true(VirtualProtect(at(p, 1), 1, PAGE_READONLY, &old));
    assert_int_equal(old, PAGE_READWRITE);
    mbi_is(p, p, p, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    mbi_is(at(p, P), at(p, P), p, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_vp_013_nocache_dropped(void **state)
{
    (void)state;
    DWORD old = DEAD;
    LPVOID p = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    assert_true(VirtualProtect(p, P, PAGE_READONLY | PAGE_NOCACHE, &old));
    assert_int_equal(old, PAGE_READWRITE);
    MEMORY_BASIC_INFORMATION mbi = { 0 };
    assert_int_equal(VirtualQuery(p, &mbi, sizeof mbi), sizeof mbi);
    assert_true(mbi.Protect == PAGE_READONLY || mbi.Protect == (PAGE_READONLY | PAGE_NOCACHE)); /* BROKEN: 0x202 */
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_vp_014_access_checks(void **state)
{
    env_t *e = *state;
    DWORD old = DEAD;
    uint8_t v = 0x5A, r = 0;
    LPVOID p = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    assert_int_equal(guest(e, p, &v, 1, NTMM_ACCESS_WRITE), NTMM_STATUS_SUCCESS);
    assert_true(VirtualProtect(p, P, PAGE_READONLY, &old));
    assert_int_equal(guest(e, p, &v, 1, NTMM_ACCESS_WRITE), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(guest(e, p, &r, 1, NTMM_ACCESS_READ), NTMM_STATUS_SUCCESS);
    assert_true(VirtualProtect(p, P, PAGE_NOACCESS, &old));
    assert_int_equal(guest(e, p, &r, 1, NTMM_ACCESS_READ), NTMM_STATUS_ACCESS_VIOLATION);
    assert_true(VirtualProtect(p, P, PAGE_READONLY, &old));
    assert_int_equal(old, PAGE_NOACCESS);
    r = 0;
    assert_int_equal(guest(e, p, &r, 1, NTMM_ACCESS_READ), NTMM_STATUS_SUCCESS);
    assert_int_equal(r, 0x5A);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

/* ---- 5. VirtualQuery ------------------------------------------------------------------- */

static void test_vq_001_free(void **state)
{
    (void)state;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
    MEMORY_BASIC_INFORMATION mbi = { 0 };
    SetLastError(DEAD);
    assert_int_equal(VirtualQuery(at(p, 0x123), &mbi, sizeof mbi), sizeof mbi);
    assert_int_equal(GetLastError(), DEAD);
    assert_ptr_equal(mbi.BaseAddress, p);
    assert_null(mbi.AllocationBase);
    assert_int_equal(mbi.AllocationProtect, 0);
    assert_int_equal(mbi.State, MEM_FREE);
    assert_int_equal(mbi.Protect, PAGE_NOACCESS);
    assert_int_equal(mbi.Type, 0);
    assert_true(mbi.RegionSize >= G);
}

static void test_vq_002_reserved(void **state)
{
    (void)state;
    LPVOID p = VirtualAlloc(NULL, 3 * G, MEM_RESERVE, PAGE_EXECUTE_READ);
    mbi_is(at(p, G + 5), at(p, G), p, PAGE_EXECUTE_READ, 2 * G, MEM_RESERVE, 0, MEM_PRIVATE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_vq_004_bounds(void **state)
{
    (void)state;
    SYSTEM_INFO si = { 0 };
    MEMORY_BASIC_INFORMATION mbi = { 0 };
    GetSystemInfo(&si);
    SetLastError(DEAD);
    assert_int_equal(VirtualQuery(si.lpMinimumApplicationAddress, &mbi, sizeof mbi), sizeof mbi);
    assert_int_equal(VirtualQuery(at(si.lpMinimumApplicationAddress, (uintptr_t)-1), &mbi, sizeof mbi), sizeof mbi);
    assert_int_equal(VirtualQuery(si.lpMaximumApplicationAddress, &mbi, sizeof mbi), sizeof mbi);
    assert_int_equal(GetLastError(), DEAD);
    assert_int_equal(VirtualQuery(at(si.lpMaximumApplicationAddress, 1), &mbi, sizeof mbi), 0);
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(DEAD);
    assert_int_equal(VirtualQuery((LPCVOID)~(uintptr_t)0, &mbi, sizeof mbi), 0);
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
}

static void test_vq_005_length(void **state)
{
    (void)state;
    MEMORY_BASIC_INFORMATION mbi = { 0 };
    memset(&mbi, 0x55, sizeof mbi);
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    SetLastError(DEAD);
    assert_int_equal(VirtualQuery(p, &mbi, sizeof mbi - 1), 0);
    assert_int_equal(GetLastError(), ERROR_BAD_LENGTH);
    assert_int_equal(mbi.State, 0x55555555u); /* nothing written */
    SetLastError(DEAD);
    assert_int_equal(VirtualQuery(p, NULL, sizeof mbi), 0);
    assert_int_equal(GetLastError(), ERROR_NOACCESS);
    assert_int_equal(VirtualQuery(p, &mbi, sizeof mbi + 8), sizeof mbi);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

/* VQ-014 / RW-009: the Ex forms on another process behave as the local calls. */
static void test_vq_014_other_process(void **state)
{
    env_t *e = *state;
    ntmm_process_t *other;
    assert_int_equal(ntmm_process_create(e->m, NTMM_LAYOUT_X64, &other), NTMM_STATUS_SUCCESS);
    HANDLE h = ntmm_process_handle(other);
    DWORD old = DEAD;
    LPVOID p = VirtualAllocEx(h, NULL, G, MEM_RESERVE, PAGE_NOACCESS);
    assert_non_null(p);
    assert_ptr_equal(VirtualAllocEx(h, p, P, MEM_COMMIT, PAGE_NOACCESS), p);
    MEMORY_BASIC_INFORMATION mbi = { 0 };
    assert_int_equal(VirtualQueryEx(h, p, &mbi, sizeof mbi), sizeof mbi);
    assert_int_equal(mbi.State, MEM_COMMIT);
    assert_int_equal(mbi.Protect, PAGE_NOACCESS);
    assert_int_equal(mbi.RegionSize, P);
    assert_int_equal(VirtualQueryEx(h, at(p, P), &mbi, sizeof mbi), sizeof mbi);
    assert_int_equal(mbi.State, MEM_RESERVE);
    assert_int_equal(mbi.RegionSize, 0xF000);
    /* the current process did not see any of it */
    assert_int_equal(VirtualQuery(p, &mbi, sizeof mbi), sizeof mbi);
    assert_int_equal(mbi.State, MEM_FREE);
    SetLastError(DEAD);
    assert_false(VirtualProtectEx(h, p, 0xFFFC, PAGE_READONLY, &old));
    assert_int_equal(GetLastError(), ERROR_INVALID_ADDRESS);
    assert_true(VirtualProtectEx(h, p, P, PAGE_READONLY, &old));
    assert_int_equal(old, PAGE_NOACCESS);
    SetLastError(DEAD);
    assert_false(VirtualFreeEx(h, p, 1, MEM_RELEASE));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    assert_true(VirtualFreeEx(h, p, G, MEM_DECOMMIT));
    assert_true(VirtualFreeEx(h, p, 0, MEM_RELEASE));
    assert_int_equal(ntmm_process_check(other), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_process_destroy(other), NTMM_STATUS_SUCCESS);
}

/* ---- 6. Guard pages -------------------------------------------------------------------- */

static void test_gp_001_002_guard(void **state)
{
    (void)state;
    DWORD old = DEAD;
    LPVOID p = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    assert_non_null(p);
    mbi_is(p, p, p, 0x104, P, MEM_COMMIT, 0x104, MEM_PRIVATE);
    assert_true(VirtualProtect(p, P, PAGE_READWRITE, &old));
    assert_int_equal(old, 0x104);
    assert_true(VirtualProtect(p, P, PAGE_READWRITE | PAGE_GUARD, &old));
    assert_int_equal(old, PAGE_READWRITE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_gp_008_guard_by_recommit(void **state)
{
    env_t *e = *state;
    DWORD old = DEAD;
    uint8_t v = 0;
    LPVOID p = VirtualAlloc(NULL, 3 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    LPVOID mid = at(p, P);
    assert_ptr_equal(VirtualAlloc(mid, P, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD), mid);
    mbi_is(p, p, p, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    mbi_is(mid, mid, p, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
    mbi_is(at(p, 2 * P), at(p, 2 * P), p, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    assert_true(VirtualProtect(mid, P, PAGE_READWRITE, &old));
    assert_int_equal(old, PAGE_READWRITE | PAGE_GUARD);
    assert_true(VirtualProtect(mid, P, PAGE_READWRITE | PAGE_GUARD, &old));
    /* the guard fires once, then the page is RW */
    assert_int_equal(guest(e, mid, &v, 1, NTMM_ACCESS_READ), NTMM_STATUS_GUARD_PAGE_VIOLATION);
    assert_int_equal(guest(e, mid, &v, 1, NTMM_ACCESS_READ), NTMM_STATUS_SUCCESS);
    mbi_is(p, p, p, PAGE_READWRITE, 3 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

/* ---- 8. MEM_RESET ---------------------------------------------------------------------- */

static void test_rs_001_002_003_reset(void **state)
{
    env_t *e = *state;
    uint8_t v = 7;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    assert_ptr_equal(VirtualAlloc(p, P, MEM_COMMIT, PAGE_READWRITE), p);
    assert_int_equal(guest(e, p, &v, 1, NTMM_ACCESS_WRITE), NTMM_STATUS_SUCCESS);
    SetLastError(DEAD);
    assert_ptr_equal(VirtualAlloc(p, P, MEM_RESET, PAGE_NOACCESS), p);
    assert_int_equal(GetLastError(), DEAD);
    mbi_is(p, p, p, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    assert_int_equal(guest(e, p, &v, 1, NTMM_ACCESS_READ), NTMM_STATUS_SUCCESS);
    assert_true(v == 7 || v == 0);
    /* RS-002 */
    assert_ptr_equal(VirtualAlloc(at(p, P), P, MEM_RESET, PAGE_NOACCESS), at(p, P));
    mbi_is(at(p, P), at(p, P), p, PAGE_READWRITE, 0xF000, MEM_RESERVE, 0, MEM_PRIVATE);
    /* RS-003 */
    SetLastError(DEAD);
    assert_null(VirtualAlloc(at(p, 0xF000), 0x2000, MEM_RESET, PAGE_NOACCESS));
    assert_int_equal(GetLastError(), ERROR_INVALID_ADDRESS);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

/* RS-005 [DOC]: MEM_RESET combined with another allocation type is refused. */
static void test_rs_005_reset_alone(void **state)
{
    (void)state;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    SetLastError(DEAD);
    assert_null(VirtualAlloc(p, P, MEM_RESET | MEM_COMMIT, PAGE_READWRITE));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    mbi_is(p, p, p, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

/* ---- 7. Write watch: the allocation side (GetWriteWatch itself is not in this layer) -- */

static void test_ww_001_015_write_watch_alloc(void **state)
{
    (void)state;
    LPVOID p = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    assert_non_null(p);
    mbi_is(p, p, p, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE); /* WW-001 */
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
    LPVOID r = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE); /* WW-015 */
    assert_non_null(r);
    assert_true(VirtualFree(r, 0, MEM_RELEASE));
    SetLastError(DEAD);
    assert_null(VirtualAlloc(NULL, G, MEM_WRITE_WATCH, PAGE_READWRITE));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
}

/* VP-008 through Win32: a NULL process handle is ERROR_INVALID_HANDLE for every Ex call. */
static void test_vp_008_null_handle(void **state)
{
    (void)state;
    DWORD old = DEAD;
    MEMORY_BASIC_INFORMATION mbi = { 0 };
    PROCESS_MEMORY_COUNTERS pmc = { 0 };
    LPVOID p = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    SetLastError(DEAD);
    assert_false(VirtualProtectEx(NULL, p, P, PAGE_READONLY, &old));
    assert_int_equal(GetLastError(), ERROR_INVALID_HANDLE);
    SetLastError(DEAD);
    assert_int_equal(VirtualQueryEx(NULL, p, &mbi, sizeof mbi), 0);
    assert_int_equal(GetLastError(), ERROR_INVALID_HANDLE);
    SetLastError(DEAD);
    assert_false(VirtualFreeEx(NULL, p, 0, MEM_RELEASE));
    assert_int_equal(GetLastError(), ERROR_INVALID_HANDLE);
    SetLastError(DEAD);
    assert_false(GetProcessMemoryInfo(NULL, &pmc, sizeof pmc));
    assert_int_equal(GetLastError(), ERROR_INVALID_HANDLE);
    mbi_is(p, p, p, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

/* ---- System and process information, thread state ------------------------------------- */

static void check_system_info(ntmm_paging_mode_t mode, ntmm_layout_t layout, unsigned cpus, WORD arch,
                              WORD native_arch, uintptr_t max)
{
    env_t *e = env_new(mode, layout, cpus);
    SYSTEM_INFO si = { 0 };
    SetLastError(DEAD);
    GetSystemInfo(&si);
    assert_int_equal(GetLastError(), DEAD);
    assert_int_equal(si.wProcessorArchitecture, arch);
    assert_int_equal(si.dwPageSize, 4096);
    assert_int_equal(si.dwAllocationGranularity, 65536);
    assert_ptr_equal(si.lpMinimumApplicationAddress, (LPVOID)0x10000);
    assert_ptr_equal(si.lpMaximumApplicationAddress, (LPVOID)max);
    assert_int_equal(si.dwNumberOfProcessors, cpus);
    assert_int_equal(si.dwActiveProcessorMask, ((DWORD_PTR)1 << cpus) - 1u);
    assert_int_equal(si.dwProcessorType, arch == PROCESSOR_ARCHITECTURE_AMD64 ? 8664 : 586);
    GetNativeSystemInfo(&si);
    assert_int_equal(si.wProcessorArchitecture, native_arch);
    assert_ptr_equal(si.lpMaximumApplicationAddress, (LPVOID)max);
    env_free(e);
}

static void test_get_system_info(void **state)
{
    (void)state;
    check_system_info(NTMM_PAGING_X64, NTMM_LAYOUT_X64, 2, 9, 9, (uintptr_t)0x7FFFFFFEFFFFull);
    check_system_info(NTMM_PAGING_X64, NTMM_LAYOUT_WOW64, 1, 0, 9, 0x7FFEFFFF);
    check_system_info(NTMM_PAGING_X64, NTMM_LAYOUT_WOW64_LAA, 1, 0, 9, 0xFFFEFFFF);
    check_system_info(NTMM_PAGING_PAE, NTMM_LAYOUT_X86, 3, 0, 0, 0x7FFEFFFF);
    check_system_info(NTMM_PAGING_X86, NTMM_LAYOUT_X86, 1, 0, 0, 0x7FFEFFFF);
    check_system_info(NTMM_PAGING_X64_LA57, NTMM_LAYOUT_X64, 4, 9, 9, (uintptr_t)0x7FFFFFFEFFFFull);
}

static void test_global_memory_status_ex(void **state)
{
    (void)state;
    MEMORYSTATUSEX ms;
    memset(&ms, 0, sizeof ms);
    ms.dwLength = sizeof ms - 1;
    SetLastError(DEAD);
    assert_false(GlobalMemoryStatusEx(&ms));
    assert_int_equal(GetLastError(), ERROR_INVALID_PARAMETER);
    ms.dwLength = sizeof ms;
    SetLastError(DEAD);
    assert_true(GlobalMemoryStatusEx(&ms));
    assert_int_equal(GetLastError(), DEAD);
    assert_true(ms.ullTotalPhys > 0 && ms.ullTotalPhys <= RAM_BYTES);
    assert_true(ms.ullAvailPhys <= ms.ullTotalPhys);
    assert_true(ms.dwMemoryLoad <= 100);
    assert_true(ms.ullAvailPageFile <= ms.ullTotalPageFile);
    assert_int_equal(ms.ullTotalVirtual, 0x7FFFFFFEFFFFull + 1u - 0x10000u);
    assert_int_equal(ms.ullAvailVirtual, ms.ullTotalVirtual - 0x1000u); /* only KUSER_SHARED_DATA (VQ-007) */
    assert_int_equal(ms.ullAvailExtendedVirtual, 0);
    /* commit and address space follow an allocation */
    LPVOID p = VirtualAlloc(NULL, 4 * G, MEM_RESERVE, PAGE_READWRITE);
    assert_ptr_equal(VirtualAlloc(p, 8 * P, MEM_COMMIT, PAGE_READWRITE), p);
    MEMORYSTATUSEX ms2 = { .dwLength = sizeof ms2 };
    assert_true(GlobalMemoryStatusEx(&ms2));
    assert_int_equal(ms2.ullAvailVirtual, ms.ullAvailVirtual - 4 * G);
    assert_int_equal(ms2.ullAvailPageFile, ms.ullAvailPageFile - 8 * P);
    assert_int_equal(ms2.ullTotalPageFile, ms.ullTotalPageFile);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
}

static void test_get_process_memory_info(void **state)
{
    env_t *e = *state;
    PROCESS_MEMORY_COUNTERS_EX pmc;
    memset(&pmc, 0, sizeof pmc);
    SetLastError(DEAD);
    assert_false(GetProcessMemoryInfo(GetCurrentProcess(), (PPROCESS_MEMORY_COUNTERS)&pmc, 8));
    assert_int_equal(GetLastError(), ERROR_INSUFFICIENT_BUFFER);
    LPVOID p = VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    uint8_t v = 1;
    assert_int_equal(guest(e, p, &v, 1, NTMM_ACCESS_WRITE), NTMM_STATUS_SUCCESS);
    assert_int_equal(guest(e, at(p, P), &v, 1, NTMM_ACCESS_WRITE), NTMM_STATUS_SUCCESS);
    SetLastError(DEAD);
    pmc.cb = sizeof pmc;
    assert_true(GetProcessMemoryInfo(GetCurrentProcess(), (PPROCESS_MEMORY_COUNTERS)&pmc, sizeof pmc));
    assert_int_equal(GetLastError(), DEAD);
    assert_int_equal(pmc.PagefileUsage, 4 * P);
    assert_int_equal(pmc.PrivateUsage, 4 * P);
    assert_int_equal(pmc.PeakPagefileUsage, 4 * P);
    assert_int_equal(pmc.WorkingSetSize, 2 * P);
    assert_true(pmc.PeakWorkingSetSize >= pmc.WorkingSetSize);
    assert_true(pmc.PageFaultCount >= 2);
    assert_true(VirtualFree(p, 0, MEM_RELEASE));
    assert_true(GetProcessMemoryInfo(GetCurrentProcess(), (PPROCESS_MEMORY_COUNTERS)&pmc, sizeof pmc));
    assert_int_equal(pmc.PagefileUsage, 0);
    assert_int_equal(pmc.PeakPagefileUsage, 4 * P);
    SetLastError(DEAD);
    assert_false(GetProcessMemoryInfo(NULL, (PPROCESS_MEMORY_COUNTERS)&pmc, sizeof pmc));
    assert_int_equal(GetLastError(), ERROR_INVALID_HANDLE);
}

static void *thread_view(void *arg)
{
    DWORD *seen = arg;
    seen[0] = GetLastError(); /* a new thread starts at 0 */
    SetLastError(DEAD);
    seen[1] = VirtualAlloc(NULL, P, MEM_RESERVE, PAGE_READWRITE) == NULL; /* no current process */
    seen[2] = GetLastError();
    SetLastError(42);
    return NULL;
}

static void test_thread_state(void **state)
{
    (void)state;
    DWORD seen[3] = { DEAD, 0, 0 };
    pthread_t t;
    assert_ptr_equal(GetCurrentProcess(), (HANDLE)(intptr_t)-1);
    SetLastError(7);
    assert_int_equal(pthread_create(&t, NULL, thread_view, seen), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(seen[0], 0);
    assert_int_equal(seen[1], 1);
    assert_int_equal(seen[2], ERROR_INVALID_HANDLE);
    assert_int_equal(GetLastError(), 7); /* the other thread's SetLastError(42) is its own */
    SetLastError(DEAD);
    assert_null(VirtualAllocEx(NULL, NULL, P, MEM_RESERVE, PAGE_READWRITE));
    assert_int_equal(GetLastError(), ERROR_INVALID_HANDLE);
}

/* ---- A Win32-style snippet, compiled unchanged ------------------------------------------ */

/* Written as for Windows: only Windows' names and types. Returns 0 when every check holds. */
static int WINAPI win32_snippet(void)
{
    SYSTEM_INFO si = { 0 };
    MEMORY_BASIC_INFORMATION mbi = { 0 };
    DWORD old;
    LPVOID base;
    GetSystemInfo(&si);
    base = VirtualAlloc(NULL, 4 * si.dwPageSize, MEM_RESERVE, PAGE_NOACCESS);
    if (base == NULL) return 1;
    if (VirtualAlloc(base, si.dwPageSize, MEM_COMMIT, PAGE_READWRITE) != base) return 2;
    if (VirtualQuery(base, &mbi, sizeof(mbi)) != sizeof(mbi)) return 3;
    if (mbi.State != MEM_COMMIT || mbi.Protect != PAGE_READWRITE || mbi.RegionSize != si.dwPageSize) return 4;
    if (!VirtualProtect(base, si.dwPageSize, PAGE_READONLY, &old) || old != PAGE_READWRITE) return 5;
    SetLastError(0xdeadbeef);
    if (VirtualProtect((LPBYTE)base + si.dwPageSize, si.dwPageSize, PAGE_READONLY, &old)) return 6;
    if (GetLastError() != ERROR_INVALID_ADDRESS) return 7;
    if (VirtualFree(base, si.dwPageSize, MEM_RELEASE) || GetLastError() != ERROR_INVALID_PARAMETER) return 8;
    if (!VirtualFree(base, 0, MEM_RELEASE)) return 9;
    if (VirtualQuery(base, &mbi, sizeof(mbi)) != sizeof(mbi) || mbi.State != MEM_FREE) return 10;
    return 0;
}

static void test_win32_snippet(void **state)
{
    (void)state;
    assert_int_equal(win32_snippet(), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* RW-003/008 through Win32 (ERROR_PARTIAL_COPY), VirtualLock/VirtualUnlock (158), GetWriteWatch's
 * argument errors (WW-014) and WW-004. */
static void test_process_memory_lock_watch(void **state)
{
    (void)state;
    LPVOID p = VirtualAlloc(NULL, 2 * P, MEM_RESERVE, PAGE_READWRITE);
    assert_non_null(p);
    assert_ptr_equal(VirtualAlloc(p, P, MEM_COMMIT, PAGE_READWRITE), p);
    char msg[] = "cross-process", back[2 * P];
    SIZE_T n = 0;
    assert_true(WriteProcessMemory(GetCurrentProcess(), p, msg, sizeof msg, &n));
    assert_int_equal(n, sizeof msg);
    SetLastError(DEAD);
    assert_false(ReadProcessMemory(GetCurrentProcess(), p, back, 2 * P, &n)); /* runs into the reserved page */
    assert_int_equal(GetLastError(), 299);
    assert_int_equal(n, P);
    assert_string_equal(back, msg);
    assert_true(VirtualLock(p, P));
    assert_true(VirtualUnlock(p, P));
    SetLastError(DEAD);
    assert_false(VirtualUnlock(p, P));
    assert_int_equal(GetLastError(), 158); /* ERROR_NOT_LOCKED */
    assert_true(VirtualFree(p, 0, MEM_RELEASE));

    uint64_t w = ntmm_virtual_alloc(0, 16 * P, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    assert_true(w != 0);
    uint64_t addr[16], count = 16;
    uint32_t gran = 0;
    assert_int_equal(ntmm_get_write_watch(0, w, 16 * P, addr, &count, &gran), 0);
    assert_int_equal(count, 0);
    assert_int_equal(gran, P);
    assert_true(WriteProcessMemory(GetCurrentProcess(), (LPVOID)(uintptr_t)(w + P + 1), msg, 1, &n));
    count = 16;
    assert_int_equal(ntmm_get_write_watch(0, w, 16 * P, addr, &count, &gran), 0);
    assert_int_equal(count, 1);
    assert_int_equal(addr[0], w + P);
    count = 0;
    SetLastError(DEAD);
    assert_int_equal(ntmm_get_write_watch(0, w, 16 * P, addr, &count, &gran), UINT32_MAX);
    assert_int_equal(GetLastError(), 87);
    SetLastError(DEAD);
    assert_int_equal(ntmm_get_write_watch(0, w, 16 * P, addr, NULL, &gran), UINT32_MAX);
    assert_int_equal(GetLastError(), 998);
    assert_int_equal(ResetWriteWatch((LPVOID)(uintptr_t)w, 16 * P), 0);
    assert_true(ntmm_virtual_free(w, 0, MEM_RELEASE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_process_memory_lock_watch),
        T(test_va_001_size_zero),
        T(test_va_003_commit_in_reservation),
        T(test_va_004_reuse_after_release),
        T(test_va_006_protection_zero),
        T(test_va_007_combined_protections),
        T(test_va_010_recommit),
        T(test_va_011_nocache),
        T(test_va_013_rounding),
        T(test_va_014_015_017_conflicts),
        T(test_va_018_commit_over_mixed),
        T(test_va_020_zero_after_realloc),
        T(test_va_022_reserve_has_no_protect),
        T(test_va_low_base),
        T(test_vf_001_type_zero),
        T(test_vf_003_decommit_reserved),
        T(test_vf_004_release_needs_size_zero),
        T(test_vf_012_remainder_is_an_allocation),
        T(test_vf_018_free_noaccess),
        T(test_vp_001_002_uncommitted),
        T(test_vp_003_004_protect_and_null_old),
        T(test_vp_009_old_is_first_page),
        T(test_vp_010_free_memory),
        T(test_vp_011_unaligned),
        T(test_vp_013_nocache_dropped),
        T(test_vp_014_access_checks),
        T(test_vq_001_free),
        T(test_vq_002_reserved),
        T(test_vq_004_bounds),
        T(test_vq_005_length),
        T(test_vq_014_other_process),
        T(test_gp_001_002_guard),
        T(test_gp_008_guard_by_recommit),
        T(test_rs_001_002_003_reset),
        T(test_rs_005_reset_alone),
        T(test_ww_001_015_write_watch_alloc),
        T(test_vp_008_null_handle),
        cmocka_unit_test(test_get_system_info),
        T(test_global_memory_status_ex),
        T(test_get_process_memory_info),
        T(test_thread_state),
        T(test_win32_snippet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
