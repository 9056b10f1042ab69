/*
 * test_vm.c - NT's virtual-memory services on a process, against Windows' recorded behaviour
 * (/work/shared/conformance/windows-semantics.md; each test names the items it covers), and
 * the fault handler through guest accesses by a CPU at CPL 3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/bugcheck.h"
#include "hw/access.h"
#include "mm/vm.h"
#include "vmenv.h"

#define P 0x1000u
#define G 0x10000u

static ntmm_status_t alloc(vmenv_t *e, va_t *b, uint64_t size, uint32_t type, uint32_t prot)
{
    uint64_t s = size;
    return mm_vm_allocate(e->p, b, 0, &s, type, prot);
}

static ntmm_memory_basic_information_t query(vmenv_t *e, va_t va)
{
    ntmm_memory_basic_information_t mbi;
    assert_int_equal(mm_vm_query(e->p, va, &mbi), NTMM_STATUS_SUCCESS);
    return mbi;
}

static ntmm_status_t touch(vmenv_t *e, va_t va, ntmm_access_t kind, ntmm_exception_record_t *er)
{
    uint8_t b = 0x5A;
    size_t done;
    return mm_access(e->p, &e->m->cpus[0], va, &b, 1, kind, &done, er);
}

static const ntmm_paging_mode_t modes[] = { NTMM_PAGING_X86, NTMM_PAGING_PAE, NTMM_PAGING_X64 };
static const mm_layout_id_t layouts[] = { MM_LAYOUT_X86, MM_LAYOUT_X86, MM_LAYOUT_X64 };

/* VA-001, VA-003, VA-006, VA-007, VA-022, VQ-001, VQ-002 */
static void test_reserve_commit_query(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(modes); i++) {
        vmenv_t e;
        vmenv_init(&e, modes[i], layouts[i]);
        va_t p = 0;
        assert_int_equal(alloc(&e, &p, 0, NTMM_MEM_RESERVE, NTMM_PAGE_NOACCESS), NTMM_STATUS_INVALID_PARAMETER_4);
        assert_int_equal(alloc(&e, &p, P, NTMM_MEM_RESERVE, 0), NTMM_STATUS_INVALID_PAGE_PROTECTION);
        assert_int_equal(alloc(&e, &p, P, NTMM_MEM_COMMIT, 0), NTMM_STATUS_INVALID_PAGE_PROTECTION);
        assert_int_equal(alloc(&e, &p, P, NTMM_MEM_RESERVE, NTMM_PAGE_READONLY | NTMM_PAGE_EXECUTE),
                         NTMM_STATUS_INVALID_PAGE_PROTECTION);
        /* VA-002/003: reserve 64K, commit the first page NOACCESS */
        assert_int_equal(alloc(&e, &p, G, NTMM_MEM_RESERVE, NTMM_PAGE_NOACCESS), 0);
        assert_int_equal(p % G, 0);
        ntmm_memory_basic_information_t mbi = query(&e, p);
        assert_int_equal(mbi.state, NTMM_MEM_RESERVE);
        assert_int_equal(mbi.protect, 0);
        assert_int_equal(mbi.region_size, G);
        va_t c = p;
        assert_int_equal(alloc(&e, &c, P, NTMM_MEM_COMMIT, NTMM_PAGE_NOACCESS), 0);
        assert_int_equal(c, p);
        mbi = query(&e, p);
        assert_int_equal(mbi.region_size, P);
        assert_int_equal(mbi.state, NTMM_MEM_COMMIT);
        assert_int_equal(mbi.protect, NTMM_PAGE_NOACCESS);
        assert_int_equal(mbi.allocation_protect, NTMM_PAGE_NOACCESS);
        assert_int_equal(mbi.type, NTMM_MEM_PRIVATE);
        mbi = query(&e, p + P);
        assert_int_equal(mbi.region_size, 0xF000);
        assert_int_equal(mbi.state, NTMM_MEM_RESERVE);
        assert_int_equal(mbi.protect, 0);
        assert_int_equal(mbi.allocation_base, p);
        /* VQ-001: free memory after the release */
        va_t r = p;
        uint64_t rs = 0;
        assert_int_equal(mm_vm_free(e.p, &r, &rs, NTMM_MEM_RELEASE), 0);
        assert_int_equal(rs, G);
        mbi = query(&e, p + 0x123);
        assert_int_equal(mbi.base_address, p);
        assert_int_equal(mbi.state, NTMM_MEM_FREE);
        assert_int_equal(mbi.protect, NTMM_PAGE_NOACCESS);
        assert_int_equal(mbi.allocation_base, 0);
        assert_int_equal(mbi.allocation_protect, 0);
        assert_int_equal(mbi.type, 0);
        vmenv_destroy(&e);
    }
}

/* VA-013, VA-014, VA-015, VA-017, VA-018 (ReactOS's CheckSize, in a 32-bit process) */
static void test_rounding_and_conflicts(void **state)
{
    (void)state;
    vmenv_t e;
    vmenv_init(&e, NTMM_PAGING_PAE, MM_LAYOUT_X86);
    static const struct { va_t base; uint64_t size; va_t out_base; uint64_t out_size; } cases[] = {
        { 0x50000000, 1, 0x50000000, 0x1000 },      { 0x50008000, 1, 0x50000000, 0x9000 },
        { 0x50000010, 0x1000, 0x50000000, 0x2000 }, { 0x50010000, 0x2000, 0x50010000, 0x2000 },
        { 0x5000FFFF, 0x3000, 0x50000000, 0x13000 }, { 0x50001010, 0x7000, 0x50000000, 0x9000 },
        { 0x50001010, 0xC000, 0x50000000, 0xE000 },
    };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(cases); i++) {
        va_t b = cases[i].base;
        uint64_t s = cases[i].size;
        assert_int_equal(mm_vm_allocate(e.p, &b, 0, &s, NTMM_MEM_RESERVE, NTMM_PAGE_READWRITE), 0);
        assert_int_equal(b, cases[i].out_base);
        assert_int_equal(s, cases[i].out_size);
        uint64_t z = 0;
        assert_int_equal(mm_vm_free(e.p, &b, &z, NTMM_MEM_RELEASE), 0);
    }
    va_t b = 0x50001010;
    uint64_t s = 0x1000;
    assert_int_equal(mm_vm_allocate(e.p, &b, 0, &s, NTMM_MEM_RESERVE, NTMM_PAGE_READWRITE), 0);
    assert_int_equal(s, 0x3000);
    va_t b2 = 0x50008000;
    s = 0x1000;
    assert_int_equal(mm_vm_allocate(e.p, &b2, 0, &s, NTMM_MEM_RESERVE, NTMM_PAGE_READWRITE),
                     NTMM_STATUS_CONFLICTING_ADDRESSES); /* VA-014 */
    b2 = 0x50002000;
    s = 0x1000;
    assert_int_equal(mm_vm_allocate(e.p, &b2, 0, &s, NTMM_MEM_COMMIT, NTMM_PAGE_NOACCESS), 0); /* VA-015 */
    assert_int_equal(b2, 0x50002000);
    assert_int_equal(s, 0x1000);
    b2 = 0x50003000;
    s = 0x1000;
    assert_int_equal(mm_vm_allocate(e.p, &b2, 0, &s, NTMM_MEM_COMMIT, NTMM_PAGE_NOACCESS),
                     NTMM_STATUS_CONFLICTING_ADDRESSES);
    /* VA-017: a commit across two adjacent allocations */
    va_t a1 = 0x50010000, a2 = 0x50020000;
    s = G;
    assert_int_equal(mm_vm_allocate(e.p, &a1, 0, &s, NTMM_MEM_RESERVE, NTMM_PAGE_READWRITE), 0);
    s = G;
    assert_int_equal(mm_vm_allocate(e.p, &a2, 0, &s, NTMM_MEM_RESERVE, NTMM_PAGE_READWRITE), 0);
    b2 = 0x50014000;
    s = 0x10000;
    assert_int_equal(mm_vm_allocate(e.p, &b2, 0, &s, NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE),
                     NTMM_STATUS_CONFLICTING_ADDRESSES);
    /* VA-018: recommit over committed RW / reserved / committed NOACCESS -> all READONLY */
    b2 = a1;
    s = P;
    assert_int_equal(mm_vm_allocate(e.p, &b2, 0, &s, NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE), 0);
    b2 = a1 + 2 * P;
    s = P;
    assert_int_equal(mm_vm_allocate(e.p, &b2, 0, &s, NTMM_MEM_COMMIT, NTMM_PAGE_NOACCESS), 0);
    ntmm_exception_record_t er;
    assert_int_equal(touch(&e, a1, NTMM_ACCESS_WRITE, &er), NTMM_STATUS_SUCCESS); /* page 0 gets a frame */
    b2 = a1;
    s = 3 * P;
    assert_int_equal(mm_vm_allocate(e.p, &b2, 0, &s, NTMM_MEM_COMMIT, NTMM_PAGE_READONLY), 0);
    ntmm_memory_basic_information_t mbi = query(&e, a1);
    assert_int_equal(mbi.region_size, 3 * P);
    assert_int_equal(mbi.protect, NTMM_PAGE_READONLY);
    assert_int_equal(touch(&e, a1, NTMM_ACCESS_WRITE, &er), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(er.information[0], NTMM_EXCEPTION_WRITE_FAULT);
    assert_int_equal(er.information[1], a1);
    assert_int_equal(touch(&e, a1 + P, NTMM_ACCESS_READ, &er), NTMM_STATUS_SUCCESS);
    vmenv_check(&e);
    vmenv_destroy(&e);
}

/* VF-003, VF-010, VF-012, VF-015, VF-018 */
static void test_release_and_decommit(void **state)
{
    (void)state;
    vmenv_t e;
    vmenv_init(&e, NTMM_PAGING_X64, MM_LAYOUT_X64);
    va_t a1 = 0;
    uint64_t s = G;
    assert_int_equal(mm_vm_allocate(e.p, &a1, 0, &s, NTMM_MEM_RESERVE, NTMM_PAGE_READWRITE), 0);
    va_t b = a1;
    s = P;
    assert_int_equal(mm_vm_allocate(e.p, &b, 0, &s, NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE), 0);
    b = a1;
    s = G;
    assert_int_equal(mm_vm_free(e.p, &b, &s, NTMM_MEM_DECOMMIT), 0); /* VF-003 */
    assert_int_equal(mm_vm_free(e.p, &b, &s, 0), NTMM_STATUS_INVALID_PARAMETER_4);
    b = a1;
    s = 0x11000;
    assert_int_equal(mm_vm_free(e.p, &b, &s, NTMM_MEM_RELEASE), NTMM_STATUS_UNABLE_TO_FREE_VM); /* VF-010 */
    b = a1 + 0x1001;
    s = 0xFFFF;
    assert_int_equal(mm_vm_free(e.p, &b, &s, NTMM_MEM_RELEASE), NTMM_STATUS_UNABLE_TO_FREE_VM);
    assert_int_equal(b, a1 + 0x1001); /* outputs unchanged */
    /* VF-011/012: release the first two pages, then a new allocation at a1 */
    b = a1;
    s = 2 * P;
    assert_int_equal(mm_vm_free(e.p, &b, &s, NTMM_MEM_RELEASE), 0);
    b = a1;
    s = P;
    assert_int_equal(mm_vm_allocate(e.p, &b, 0, &s, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE), 0);
    assert_int_equal(b, a1);
    b = a1;
    s = G;
    assert_int_equal(mm_vm_free(e.p, &b, &s, NTMM_MEM_DECOMMIT), NTMM_STATUS_UNABLE_TO_FREE_VM);
    b = a1 + P;
    s = 0;
    assert_int_equal(mm_vm_free(e.p, &b, &s, NTMM_MEM_RELEASE), NTMM_STATUS_MEMORY_NOT_ALLOCATED);
    b = a1 + P;
    s = P;
    assert_int_equal(mm_vm_free(e.p, &b, &s, NTMM_MEM_DECOMMIT), NTMM_STATUS_MEMORY_NOT_ALLOCATED);
    b = a1 + 2 * P;
    s = 0;
    assert_int_equal(mm_vm_free(e.p, &b, &s, NTMM_MEM_RELEASE), 0); /* the remainder is its own allocation */
    assert_int_equal(s, G - 2 * P);
    b = a1;
    s = P;
    assert_int_equal(mm_vm_free(e.p, &b, &s, NTMM_MEM_RELEASE), 0);
    /* VF-015: page by page, either order; (Buffer+1, P) touches two pages */
    va_t c = 0;
    s = 2 * P;
    assert_int_equal(mm_vm_allocate(e.p, &c, 0, &s, NTMM_MEM_RESERVE, NTMM_PAGE_READWRITE), 0);
    b = c + 1;
    s = P;
    assert_int_equal(mm_vm_free(e.p, &b, &s, NTMM_MEM_RELEASE), 0);
    assert_int_equal(b, c);
    assert_int_equal(s, 2 * P);
    vmenv_destroy(&e);
}

/* VP-001, VP-002, VP-003, VP-009, VP-010, VP-011, VP-013, VP-014, GP-001, GP-002, GP-008 */
static void test_protect(void **state)
{
    (void)state;
    vmenv_t e;
    vmenv_init(&e, NTMM_PAGING_X64, MM_LAYOUT_X64);
    va_t p = 0, b;
    uint64_t s = G;
    uint32_t old = 0;
    assert_int_equal(mm_vm_allocate(e.p, &p, 0, &s, NTMM_MEM_RESERVE, NTMM_PAGE_NOACCESS), 0);
    b = p;
    s = 0xFFFC;
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READONLY, &old), NTMM_STATUS_NOT_COMMITTED); /* VP-001 */
    assert_int_equal(old, NTMM_PAGE_NOACCESS);
    b = p;
    s = P;
    assert_int_equal(mm_vm_allocate(e.p, &b, 0, &s, NTMM_MEM_COMMIT, NTMM_PAGE_NOACCESS), 0);
    b = p;
    s = 0xFFFC;
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READONLY, &old), NTMM_STATUS_NOT_COMMITTED); /* VP-002 */
    b = p;
    s = P;
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READONLY, &old), 0); /* VP-003 */
    assert_int_equal(old, NTMM_PAGE_NOACCESS);
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READWRITE, &old), 0);
    assert_int_equal(old, NTMM_PAGE_READONLY);
    ntmm_memory_basic_information_t mbi = query(&e, p);
    assert_int_equal(mbi.region_size, P);
    assert_int_equal(mbi.protect, NTMM_PAGE_READWRITE);
    /* VP-011: (addr+1, 1) rounds to the page */
    b = p + 1;
    s = 1;
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READWRITE, &old), 0);
    assert_int_equal(b, p);
    assert_int_equal(s, P);
    /* VP-010: free memory */
    b = 0x10000000000ull;
    s = P;
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READONLY, &old), NTMM_STATUS_CONFLICTING_ADDRESSES);
    assert_int_equal(old, NTMM_PAGE_NOACCESS);
    /* VP-009: 16 RW pages */
    va_t q = 0;
    s = 16 * P;
    assert_int_equal(mm_vm_allocate(e.p, &q, 0, &s, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE), 0);
    b = q, s = 16 * P;
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READONLY, &old), 0);
    assert_int_equal(old, NTMM_PAGE_READWRITE);
    b = q, s = 8 * P;
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READWRITE, &old), 0);
    assert_int_equal(old, NTMM_PAGE_READONLY);
    b = q + 8 * P, s = 8 * P;
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_EXECUTE_READWRITE, &old), 0);
    assert_int_equal(old, NTMM_PAGE_READONLY);
    b = q, s = 16 * P;
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_EXECUTE_READ, &old), 0);
    assert_int_equal(old, NTMM_PAGE_READWRITE);
    /* VP-013: NOCACHE dropped on a normal allocation */
    b = q, s = P;
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READONLY | NTMM_PAGE_NOCACHE, &old), 0);
    assert_int_equal(query(&e, q).protect, NTMM_PAGE_READONLY);
    /* VP-014: write to READONLY faults, read works; NOACCESS read faults; data preserved */
    ntmm_exception_record_t er;
    b = p, s = P;
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READWRITE, &old), 0);
    uint32_t v = 0xC0FFEE, r = 0;
    size_t done;
    assert_int_equal(mm_access(e.p, &e.m->cpus[0], p + 16, &v, 4, NTMM_ACCESS_WRITE, &done, &er), 0);
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READONLY, &old), 0);
    assert_int_equal(touch(&e, p, NTMM_ACCESS_WRITE, &er), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(touch(&e, p, NTMM_ACCESS_READ, &er), 0);
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_NOACCESS, &old), 0);
    assert_int_equal(touch(&e, p, NTMM_ACCESS_READ, &er), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(er.information[0], NTMM_EXCEPTION_READ_FAULT);
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READONLY, &old), 0);
    assert_int_equal(old, NTMM_PAGE_NOACCESS);
    assert_int_equal(mm_access(e.p, &e.m->cpus[0], p + 16, &r, 4, NTMM_ACCESS_READ, &done, &er), 0);
    assert_int_equal(r, v);
    vmenv_check(&e);
    vmenv_destroy(&e);
}

/* GP-001, GP-002, GP-008: a guard page faults once, its guard cleared first */
static void test_guard_pages(void **state)
{
    (void)state;
    vmenv_t e;
    vmenv_init(&e, NTMM_PAGING_X64, MM_LAYOUT_X64);
    va_t g = 0, b;
    uint64_t s = P;
    uint32_t old;
    assert_int_equal(mm_vm_allocate(e.p, &g, 0, &s, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT,
                                    NTMM_PAGE_READWRITE | NTMM_PAGE_GUARD), 0);
    ntmm_memory_basic_information_t mbi = query(&e, g);
    assert_int_equal(mbi.allocation_protect, 0x104);
    assert_int_equal(mbi.protect, 0x104);
    ntmm_exception_record_t er;
    assert_int_equal(touch(&e, g + 5, NTMM_ACCESS_READ, &er), NTMM_STATUS_GUARD_PAGE_VIOLATION);
    assert_int_equal(er.code, (uint32_t)NTMM_STATUS_GUARD_PAGE_VIOLATION);
    assert_int_equal(er.information[1], g + 5);
    assert_int_equal(query(&e, g).protect, NTMM_PAGE_READWRITE); /* cleared before it was reported */
    assert_int_equal(touch(&e, g + 5, NTMM_ACCESS_READ, &er), 0);
    b = g, s = P;
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READWRITE | NTMM_PAGE_GUARD, &old), 0);
    assert_int_equal(old, NTMM_PAGE_READWRITE);
    assert_int_equal(mm_vm_protect(e.p, &b, &s, NTMM_PAGE_READWRITE, &old), 0);
    assert_int_equal(old, 0x104);
    /* GP-008: one page of three turned into a guard page splits the region */
    va_t r = 0;
    s = 3 * P;
    assert_int_equal(mm_vm_allocate(e.p, &r, 0, &s, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE), 0);
    b = r + P, s = P;
    assert_int_equal(mm_vm_allocate(e.p, &b, 0, &s, NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE | NTMM_PAGE_GUARD), 0);
    assert_int_equal(query(&e, r).region_size, P);
    mbi = query(&e, r + P);
    assert_int_equal(mbi.region_size, P);
    assert_int_equal(mbi.protect, 0x104);
    assert_int_equal(query(&e, r + 2 * P).protect, NTMM_PAGE_READWRITE);
    assert_int_equal(touch(&e, r + P, NTMM_ACCESS_WRITE, &er), NTMM_STATUS_GUARD_PAGE_VIOLATION);
    assert_int_equal(touch(&e, r + P, NTMM_ACCESS_WRITE, &er), 0);
    vmenv_destroy(&e);
}

/* Demand-zero faults, isolation of system space, VA-020: re-committed memory reads zero */
static void test_demand_zero_and_isolation(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(modes); i++) {
        vmenv_t e;
        vmenv_init(&e, modes[i], layouts[i]);
        va_t p = 0, b;
        uint64_t s = 4 * P;
        assert_int_equal(mm_vm_allocate(e.p, &p, 0, &s, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE), 0);
        assert_int_equal(e.p->private_pages, 0); /* commit takes no frame */
        char msg[] = "written by the process";
        char back[sizeof msg];
        size_t done;
        ntmm_exception_record_t er;
        assert_int_equal(mm_access(e.p, &e.m->cpus[0], p + P - 5, msg, sizeof msg, NTMM_ACCESS_WRITE, &done, &er), 0);
        assert_int_equal(e.p->private_pages, 2);
        assert_int_equal(e.p->counts.demand_zero, 2);
        assert_int_equal(mm_access(e.p, &e.m->cpus[0], p + P - 5, back, sizeof back, NTMM_ACCESS_READ, &done, &er), 0);
        assert_string_equal(back, msg);
        /* decommit + recommit: zeros again */
        b = p, s = 4 * P;
        assert_int_equal(mm_vm_free(e.p, &b, &s, NTMM_MEM_DECOMMIT), 0);
        assert_int_equal(e.p->private_pages, 0);
        assert_int_equal(touch(&e, p, NTMM_ACCESS_READ, &er), NTMM_STATUS_ACCESS_VIOLATION);
        b = p, s = 4 * P;
        assert_int_equal(mm_vm_allocate(e.p, &b, 0, &s, NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE), 0);
        memset(back, 1, sizeof back);
        assert_int_equal(mm_access(e.p, &e.m->cpus[0], p + P - 5, back, sizeof back, NTMM_ACCESS_READ, &done, &er), 0);
        for (size_t k = 0; k < sizeof back; k++) assert_int_equal(back[k], 0);
        /* user access to system space, to free memory, above the user space */
        va_t sys = e.p->as->sys->system_start + 0x1000;
        assert_int_equal(touch(&e, sys, NTMM_ACCESS_READ, &er), NTMM_STATUS_ACCESS_VIOLATION);
        assert_int_equal(er.information[1], sys);
        assert_int_equal(touch(&e, p + G * 16, NTMM_ACCESS_READ, &er), NTMM_STATUS_ACCESS_VIOLATION);
        vmenv_destroy(&e);
    }
}

/* Huge reservations cost time per page table, not per page: query, commit checks and release
 * step over missing tables (a per-page loop over 1 TB would not finish). */
static void test_huge_reservation(void **state)
{
    (void)state;
    vmenv_t e;
    vmenv_init(&e, NTMM_PAGING_X64, MM_LAYOUT_X64);
    va_t b = 0;
    uint64_t s = NTMM_GIB(1024);
    assert_int_equal(mm_vm_allocate(e.p, &b, 0, &s, NTMM_MEM_RESERVE, NTMM_PAGE_READWRITE), 0);
    ntmm_memory_basic_information_t mbi = query(&e, b + NTMM_GIB(5));
    assert_int_equal(mbi.state, NTMM_MEM_RESERVE);
    assert_int_equal(mbi.region_size, NTMM_GIB(1019));
    va_t c = b + NTMM_GIB(100);
    uint64_t cs = P;
    assert_int_equal(mm_vm_allocate(e.p, &c, 0, &cs, NTMM_MEM_COMMIT, NTMM_PAGE_READONLY), 0);
    assert_int_equal(query(&e, b).region_size, NTMM_GIB(100));
    uint32_t old;
    va_t pb = b;
    uint64_t ps = s;
    assert_int_equal(mm_vm_protect(e.p, &pb, &ps, NTMM_PAGE_READONLY, &old), NTMM_STATUS_NOT_COMMITTED);
    cs = s;
    c = b;
    assert_int_equal(mm_vm_allocate(e.p, &c, 0, &cs, NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE), NTMM_STATUS_COMMITMENT_LIMIT);
    /* reserve+commit of 1 TB at once: over the commit limit */
    va_t d = 0;
    uint64_t ds = NTMM_GIB(1024);
    assert_int_equal(mm_vm_allocate(e.p, &d, 0, &ds, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE),
                     NTMM_STATUS_COMMITMENT_LIMIT);
    vmenv_check(&e);
    uint64_t z = 0;
    assert_int_equal(mm_vm_free(e.p, &b, &z, NTMM_MEM_RELEASE), 0);
    vmenv_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_commit_query),
        cmocka_unit_test(test_rounding_and_conflicts),
        cmocka_unit_test(test_release_and_decommit),
        cmocka_unit_test(test_protect),
        cmocka_unit_test(test_guard_pages),
        cmocka_unit_test(test_demand_zero_and_isolation),
        cmocka_unit_test(test_huge_reservation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
