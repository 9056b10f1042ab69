/*
 * test_stack.c - threads' user stacks (VQ-008, GP-009: layout, the moving guard page,
 * STATUS_STACK_OVERFLOW once), ProbeForRead / ProbeForWrite's statuses, and KUSER_SHARED_DATA's
 * user view (VQ-007), through the public API. ntmm_process_check runs after every step.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <ntmm/ntmm.h>
#include <ntmm/ntmm_thread.h>

#include "api/api.h"
#include "mm/stack.h"

#define P 0x1000u
#define RW NTMM_PAGE_READWRITE
#define RW_GUARD (NTMM_PAGE_READWRITE | NTMM_PAGE_GUARD)

typedef struct env {
    ntmm_machine_t *m;
    ntmm_process_t *p;
} env_t;

static env_t *env_new(ntmm_paging_mode_t mode, ntmm_layout_t layout)
{
    env_t *e = calloc(1, sizeof *e);
    assert_non_null(e);
    ntmm_machine_config_t cfg = { .hw = { .ram_bytes = 64u << 20, .cpu_count = 1 }, .paging = mode };
    assert_int_equal(ntmm_machine_create(&cfg, &e->m), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_process_create(e->m, layout, &e->p), NTMM_STATUS_SUCCESS);
    return e;
}

static void check(env_t *e) { assert_int_equal(ntmm_process_check(e->p), NTMM_STATUS_SUCCESS); }

static void env_free(env_t *e)
{
    check(e);
    assert_int_equal(ntmm_process_destroy(e->p), NTMM_STATUS_SUCCESS);
    ntmm_machine_destroy(e->m);
    free(e);
}

static int setup(void **state)
{
    *state = env_new(NTMM_PAGING_X64, NTMM_LAYOUT_X64);
    return 0;
}

static int teardown(void **state)
{
    env_free(*state);
    return 0;
}

static void expect_region(env_t *e, uint64_t va, uint64_t alloc_base, uint32_t state, uint32_t protect,
                          uint64_t region)
{
    ntmm_memory_basic_information_t mbi;
    assert_int_equal(ntmm_nt_query_virtual_memory(e->p, va, &mbi), NTMM_STATUS_SUCCESS);
    assert_int_equal(mbi.base_address, va & ~(uint64_t)(P - 1));
    assert_int_equal(mbi.allocation_base, alloc_base);
    assert_int_equal(mbi.state, state);
    assert_int_equal(mbi.protect, protect);
    if (region) assert_int_equal(mbi.region_size, region);
    if (state != NTMM_MEM_FREE) {
        assert_int_equal(mbi.type, NTMM_MEM_PRIVATE);
    }
}

/* A user-mode write of one byte at va by a thread of the process. */
static ntmm_status_t poke(env_t *e, uint64_t va, ntmm_exception_record_t *er)
{
    uint8_t b = 0x5A;
    return ntmm_process_access(e->p, 0, 1, va, &b, 1, NTMM_ACCESS_WRITE, NULL, er);
}

/* VQ-008: DeallocationStack reserved (Protect 0, AllocProt RW), a RW|GUARD page, the committed
 * top up to StackBase; AllocationBase = DeallocationStack everywhere. */
static void test_vq_008_layout(void **state)
{
    env_t *e = *state;
    ntmm_thread_t *t;
    assert_int_equal(ntmm_thread_create(e->p, 0, 0, &t), NTMM_STATUS_SUCCESS);
    check(e);
    uint64_t base, limit, d;
    assert_int_equal(ntmm_thread_stack(t, &base, &limit, &d), NTMM_STATUS_SUCCESS);
    assert_int_equal(base - d, 0x100000u); /* 1 MiB default */
    assert_int_equal(d & 0xFFFFu, 0);
    assert_int_equal(limit, base - P);
    expect_region(e, d, d, NTMM_MEM_RESERVE, 0, base - d - 2 * P);
    ntmm_memory_basic_information_t mbi;
    assert_int_equal(ntmm_nt_query_virtual_memory(e->p, d, &mbi), NTMM_STATUS_SUCCESS);
    assert_int_equal(mbi.allocation_protect, RW);
    expect_region(e, base - 2 * P, d, NTMM_MEM_COMMIT, RW_GUARD, P);
    expect_region(e, base - P, d, NTMM_MEM_COMMIT, RW, P);
    for (uint64_t va = d; va < base; va += P) {
        assert_int_equal(ntmm_nt_query_virtual_memory(e->p, va, &mbi), NTMM_STATUS_SUCCESS);
        assert_int_equal(mbi.allocation_base, d);
    }
    assert_int_equal(ntmm_thread_destroy(t), NTMM_STATUS_SUCCESS);
    expect_region(e, d, 0, NTMM_MEM_FREE, NTMM_PAGE_NOACCESS, 0);
    check(e);
}

/* Reserve and commit sizes round as RtlCreateUserStack's do. */
static void test_stack_sizes(void **state)
{
    env_t *e = *state;
    ntmm_thread_t *t;
    uint64_t base, limit, d;
    assert_int_equal(ntmm_thread_create(e->p, 0x12345, 0x2001, &t), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_thread_stack(t, &base, &limit, &d), NTMM_STATUS_SUCCESS);
    assert_int_equal(base - d, 0x20000u);
    assert_int_equal(base - limit, 3 * P);
    expect_region(e, limit, d, NTMM_MEM_COMMIT, RW, 3 * P);
    expect_region(e, limit - P, d, NTMM_MEM_COMMIT, RW_GUARD, P);
    assert_int_equal(ntmm_thread_destroy(t), NTMM_STATUS_SUCCESS);
    /* a commit that does not fit grows the reservation to a MiB multiple */
    assert_int_equal(ntmm_thread_create(e->p, 0x10000, 0x10000, &t), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_thread_stack(t, &base, &limit, &d), NTMM_STATUS_SUCCESS);
    assert_int_equal(base - d, 0x100000u);
    assert_int_equal(base - limit, 0x10000u);
    assert_int_equal(ntmm_thread_destroy(t), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_thread_create(NULL, 0, 0, &t), NTMM_STATUS_INVALID_HANDLE);
    assert_int_equal(ntmm_thread_create(e->p, 0, 0, NULL), NTMM_STATUS_INVALID_PARAMETER);
    check(e);
}

/*
 * Grows a stack of `reserve` bytes page by page from its committed top: every guard touch
 * completes with no exception and moves the guard and StackLimit down one page (GP-009), until
 * the touch of the guard at DeallocationStack + 2 pages raises STATUS_STACK_OVERFLOW, once;
 * the page above the last is then usable and the last page an access violation.
 */
static void grow_to_overflow(env_t *e, uint64_t reserve, bool query_each)
{
    ntmm_thread_t *t;
    assert_int_equal(ntmm_thread_create(e->p, reserve, 0, &t), NTMM_STATUS_SUCCESS);
    uint64_t base, limit, d;
    assert_int_equal(ntmm_thread_stack(t, &base, &limit, &d), NTMM_STATUS_SUCCESS);
    unsigned overflows = 0;
    ntmm_exception_record_t er;
    for (uint64_t page = base - 2 * P; page > d + P; page -= P) {
        ntmm_status_t st = poke(e, page + 0x10, &er);
        uint64_t l2;
        assert_int_equal(ntmm_thread_stack(t, NULL, &l2, NULL), NTMM_STATUS_SUCCESS);
        if (page > d + 2 * P) {
            assert_int_equal(st, NTMM_STATUS_SUCCESS);
            assert_int_equal(l2, page);
            if (query_each || page == base - 2 * P) {
                expect_region(e, page, d, NTMM_MEM_COMMIT, RW, base - page);
                expect_region(e, page - P, d, NTMM_MEM_COMMIT, RW_GUARD, P);
                expect_region(e, d, d, NTMM_MEM_RESERVE, 0, page - P - d);
                check(e);
            }
        } else {
            assert_int_equal(st, NTMM_STATUS_STACK_OVERFLOW);
            assert_int_equal(er.code, 0xC00000FDu);
            assert_int_equal(er.information[1], page + 0x10);
            assert_int_equal(l2, d + P);
            overflows++;
            expect_region(e, d + P, d, NTMM_MEM_COMMIT, RW, base - d - P);
            expect_region(e, d, d, NTMM_MEM_RESERVE, 0, P);
        }
    }
    assert_int_equal(overflows, 1);
    /* no guard is left: the overflowed page and the one below it work, the last page does not */
    assert_int_equal(poke(e, d + 2 * P, &er), NTMM_STATUS_SUCCESS);
    assert_int_equal(poke(e, d + P, &er), NTMM_STATUS_SUCCESS);
    assert_int_equal(poke(e, d + P - 1, &er), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(er.code, (uint32_t)NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(poke(e, d, &er), NTMM_STATUS_ACCESS_VIOLATION);
    check(e);
    ntmm_process_memory_t info;
    assert_int_equal(ntmm_process_memory(e->p, &info), NTMM_STATUS_SUCCESS);
    assert_true(info.commit_bytes >= reserve - P);
    assert_int_equal(ntmm_thread_destroy(t), NTMM_STATUS_SUCCESS);
    check(e);
}

static void test_gp_009_growth_64k(void **state) { grow_to_overflow(*state, 0x10000, true); }

static void test_gp_009_growth_4m(void **state) { grow_to_overflow(*state, 0x400000, false); }

/* VQ-008's 1..3 guard pages: a region of 3 (mm_thread_create's guard_pages) shrinks as its top
 * page is touched, since the guard moves one page below the touched page each time. */
static void test_vq_008_guard_region(void **state)
{
    env_t *e = *state;
    mm_process_t *mp;
    assert_int_equal(api_process_mm(e->p, &mp), NTMM_STATUS_SUCCESS);
    mm_thread_t *t;
    assert_int_equal(mm_thread_create(mp, 0x10000, 0, 4, &t), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_thread_create(mp, 0x10000, 0, 3, &t), NTMM_STATUS_SUCCESS);
    uint64_t b = t->stack_base, d = t->deallocation_stack;
    expect_region(e, b - 4 * P, d, NTMM_MEM_COMMIT, RW_GUARD, 3 * P);
    expect_region(e, d, d, NTMM_MEM_RESERVE, 0, b - 4 * P - d);
    assert_int_equal(poke(e, b - 2 * P, NULL), NTMM_STATUS_SUCCESS);
    assert_int_equal(t->stack_limit, b - 2 * P);
    expect_region(e, b - 4 * P, d, NTMM_MEM_COMMIT, RW_GUARD, 2 * P);
    assert_int_equal(poke(e, b - 3 * P, NULL), NTMM_STATUS_SUCCESS);
    expect_region(e, b - 4 * P, d, NTMM_MEM_COMMIT, RW_GUARD, P);
    assert_int_equal(poke(e, b - 4 * P, NULL), NTMM_STATUS_SUCCESS);
    expect_region(e, b - 5 * P, d, NTMM_MEM_COMMIT, RW_GUARD, P);
    expect_region(e, b - 4 * P, d, NTMM_MEM_COMMIT, RW, 4 * P);
    assert_int_equal(t->stack_limit, b - 4 * P);
    assert_int_equal(t->growths, 3);
    check(e);
    assert_int_equal(mm_thread_destroy(t), NTMM_STATUS_SUCCESS);
    check(e);
}

/* VQ-015's reserved stack page: reading DeallocationStack + 4096 is an access violation. */
static void test_vq_015_reserved_stack_page(void **state)
{
    env_t *e = *state;
    ntmm_thread_t *t;
    assert_int_equal(ntmm_thread_create(e->p, 0, 0, &t), NTMM_STATUS_SUCCESS);
    uint64_t d;
    assert_int_equal(ntmm_thread_stack(t, NULL, NULL, &d), NTMM_STATUS_SUCCESS);
    uint32_t v;
    ntmm_exception_record_t er;
    assert_int_equal(ntmm_process_access(e->p, 0, 1, d + P, &v, 4, NTMM_ACCESS_READ, NULL, &er),
                     NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(er.information[0], NTMM_EXCEPTION_READ_FAULT);
    assert_int_equal(er.information[1], d + P);
    assert_int_equal(ntmm_probe_for_write(e->p, d + P, 4, 4), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_thread_destroy(t), NTMM_STATUS_SUCCESS);
}

/* A guard page outside any stack still raises STATUS_GUARD_PAGE_VIOLATION once. */
static void test_plain_guard_unchanged(void **state)
{
    env_t *e = *state;
    uint64_t b = 0, s = 2 * P;
    assert_int_equal(ntmm_nt_allocate_virtual_memory(e->p, &b, 0, &s, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT, RW_GUARD),
                     NTMM_STATUS_SUCCESS);
    ntmm_exception_record_t er;
    assert_int_equal(poke(e, b + P, &er), NTMM_STATUS_GUARD_PAGE_VIOLATION);
    assert_int_equal(poke(e, b + P, &er), NTMM_STATUS_SUCCESS);
    expect_region(e, b, b, NTMM_MEM_COMMIT, RW_GUARD, P);
    check(e);
}

/* Two threads: a guard fault consults the stack holding the address. */
static void test_two_stacks(void **state)
{
    env_t *e = *state;
    ntmm_thread_t *a, *b;
    assert_int_equal(ntmm_thread_create(e->p, 0x10000, 0, &a), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_thread_create(e->p, 0x10000, 0, &b), NTMM_STATUS_SUCCESS);
    uint64_t ba, bb, la, lb;
    assert_int_equal(ntmm_thread_stack(a, &ba, NULL, NULL), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_thread_stack(b, &bb, NULL, NULL), NTMM_STATUS_SUCCESS);
    assert_int_equal(poke(e, bb - 2 * P, NULL), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_thread_stack(a, NULL, &la, NULL), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_thread_stack(b, NULL, &lb, NULL), NTMM_STATUS_SUCCESS);
    assert_int_equal(la, ba - P);
    assert_int_equal(lb, bb - 2 * P);
    assert_int_equal(ntmm_thread_destroy(a), NTMM_STATUS_SUCCESS);
    check(e);
    /* b is left to the process's teardown */
}

/* ProbeForRead: length 0 checks nothing; alignment, then the user-probe address and wrapping. */
static void test_probe_for_read(void **state)
{
    env_t *e = *state;
    assert_int_equal(ntmm_probe_for_read(e->p, 0, 0, 4), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_probe_for_read(e->p, 0xFFFFF78000000001u, 0, 8), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_probe_for_read(e->p, 0x10001, 4, 4), NTMM_STATUS_DATATYPE_MISALIGNMENT);
    assert_int_equal(ntmm_probe_for_read(e->p, 0xFFFFF78000000001u, 4, 2), NTMM_STATUS_DATATYPE_MISALIGNMENT);
    /* nothing is touched: free memory passes */
    assert_int_equal(ntmm_probe_for_read(e->p, 0x10000, 0x1000, 4), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_probe_for_read(e->p, 0, 1, 1), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_probe_for_read(e->p, 0x7FFFFFFEFFFFu, 1, 1), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_probe_for_read(e->p, 0x7FFFFFFEFFFFu, 2, 1), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_probe_for_read(e->p, 0x7FFFFFFF0000u, 1, 1), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_probe_for_read(e->p, 0xFFFFF78000000000u, 4, 4), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_probe_for_read(e->p, 0x10000, UINT64_MAX, 1), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_probe_for_read(e->p, 0x10000, 4, 3), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(ntmm_probe_for_read(NULL, 0x10000, 4, 4), NTMM_STATUS_INVALID_HANDLE);
    check(e);
}

/* ProbeForWrite: the same checks, then every page is touched for write in kernel mode. */
static void test_probe_for_write(void **state)
{
    env_t *e = *state;
    uint64_t b = 0, s = 8 * P;
    assert_int_equal(ntmm_nt_allocate_virtual_memory(e->p, &b, 0, &s, NTMM_MEM_RESERVE, RW), NTMM_STATUS_SUCCESS);
    uint64_t c = b, cs = 3 * P;
    assert_int_equal(ntmm_nt_allocate_virtual_memory(e->p, &c, 0, &cs, NTMM_MEM_COMMIT, RW), NTMM_STATUS_SUCCESS);
    uint8_t data[3 * P];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7u);
    assert_int_equal(ntmm_nt_write_virtual_memory(e->p, b, data, sizeof data, NULL), NTMM_STATUS_SUCCESS);

    assert_int_equal(ntmm_probe_for_write(e->p, 0, 0, 4), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_probe_for_write(e->p, b + 1, 8, 4), NTMM_STATUS_DATATYPE_MISALIGNMENT);
    assert_int_equal(ntmm_probe_for_write(e->p, b + 0x10, 3 * P - 0x10, 8), NTMM_STATUS_SUCCESS);
    uint8_t back[3 * P];
    assert_int_equal(ntmm_nt_read_virtual_memory(e->p, b, back, sizeof back, NULL), NTMM_STATUS_SUCCESS);
    assert_memory_equal(back, data, sizeof data); /* contents unchanged */
    /* reaching into the reserved fourth page, free memory, or a read-only page faults */
    assert_int_equal(ntmm_probe_for_write(e->p, b + 2 * P, P + 1, 1), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_probe_for_write(e->p, b + 5 * P, 4, 4), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_probe_for_write(e->p, 0x60000000u, 4, 4), NTMM_STATUS_ACCESS_VIOLATION);
    uint32_t old;
    uint64_t pb = b + P, ps = P;
    assert_int_equal(ntmm_nt_protect_virtual_memory(e->p, &pb, &ps, NTMM_PAGE_READONLY, &old), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_probe_for_write(e->p, b, 2 * P, 4), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_probe_for_read(e->p, b, 2 * P, 4), NTMM_STATUS_SUCCESS);
    /* a guard page raises the guard violation once */
    pb = b + 2 * P, ps = P;
    assert_int_equal(ntmm_nt_protect_virtual_memory(e->p, &pb, &ps, RW_GUARD, &old), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_probe_for_write(e->p, b + 2 * P, 4, 4), NTMM_STATUS_GUARD_PAGE_VIOLATION);
    assert_int_equal(ntmm_probe_for_write(e->p, b + 2 * P, 4, 4), NTMM_STATUS_SUCCESS);
    /* the user-probe address and wrapping */
    assert_int_equal(ntmm_probe_for_write(e->p, 0x7FFFFFFEFFF0u, 0x20, 1), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_probe_for_write(e->p, UINT64_MAX - 3, 8, 4), NTMM_STATUS_ACCESS_VIOLATION);
    /* a stack's guard moves under the probe */
    ntmm_thread_t *t;
    assert_int_equal(ntmm_thread_create(e->p, 0x10000, 0, &t), NTMM_STATUS_SUCCESS);
    uint64_t base, limit;
    assert_int_equal(ntmm_thread_stack(t, &base, NULL, NULL), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_probe_for_write(e->p, base - 2 * P, 2 * P, 8), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_thread_stack(t, NULL, &limit, NULL), NTMM_STATUS_SUCCESS);
    assert_int_equal(limit, base - 2 * P);
    assert_int_equal(ntmm_thread_destroy(t), NTMM_STATUS_SUCCESS);
    check(e);
}

/* VQ-007 in one layout: KUSER_SHARED_DATA's read-only private page, secured against the process. */
static void shared_data(ntmm_paging_mode_t mode, ntmm_layout_t layout)
{
    env_t *e = env_new(mode, layout);
    const uint64_t k = 0x7FFE0000u;
    ntmm_memory_basic_information_t mbi;
    assert_int_equal(ntmm_nt_query_virtual_memory(e->p, k + 0x2D4, &mbi), NTMM_STATUS_SUCCESS);
    assert_int_equal(mbi.base_address, k);
    assert_int_equal(mbi.allocation_base, k);
    assert_int_equal(mbi.allocation_protect, NTMM_PAGE_READONLY);
    assert_int_equal(mbi.state, NTMM_MEM_COMMIT);
    assert_int_equal(mbi.protect, NTMM_PAGE_READONLY);
    assert_int_equal(mbi.type, NTMM_MEM_PRIVATE);
    assert_int_equal(mbi.region_size, 0x1000u);
    expect_region(e, k + P, 0, NTMM_MEM_FREE, NTMM_PAGE_NOACCESS, 0);
    uint32_t v = 1;
    assert_int_equal(ntmm_process_access(e->p, 0, 1, k + 0x2D4, &v, 4, NTMM_ACCESS_READ, NULL, NULL),
                     NTMM_STATUS_SUCCESS);
    assert_int_equal(v, 0);
    ntmm_exception_record_t er;
    assert_int_equal(ntmm_process_access(e->p, 0, 1, k, &v, 4, NTMM_ACCESS_WRITE, NULL, &er),
                     NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(er.information[0], NTMM_EXCEPTION_WRITE_FAULT);
    uint64_t b = k, s = 0;
    uint32_t old;
    assert_int_equal(ntmm_nt_free_virtual_memory(e->p, &b, &s, NTMM_MEM_RELEASE), NTMM_STATUS_INVALID_PAGE_PROTECTION);
    b = k, s = P;
    assert_int_equal(ntmm_nt_free_virtual_memory(e->p, &b, &s, NTMM_MEM_DECOMMIT), NTMM_STATUS_INVALID_PAGE_PROTECTION);
    b = k, s = P;
    assert_int_equal(ntmm_nt_protect_virtual_memory(e->p, &b, &s, RW, &old), NTMM_STATUS_INVALID_PAGE_PROTECTION);
    b = k, s = P;
    assert_int_equal(ntmm_nt_allocate_virtual_memory(e->p, &b, 0, &s, NTMM_MEM_COMMIT, RW),
                     NTMM_STATUS_INVALID_PAGE_PROTECTION);
    b = k, s = P;
    assert_int_equal(ntmm_nt_allocate_virtual_memory(e->p, &b, 0, &s, NTMM_MEM_RESERVE, RW),
                     NTMM_STATUS_CONFLICTING_ADDRESSES);
    expect_region(e, k, k, NTMM_MEM_COMMIT, NTMM_PAGE_READONLY, P);
    env_free(e);
}

static void test_vq_007_shared_data(void **state)
{
    (void)state;
    shared_data(NTMM_PAGING_X64, NTMM_LAYOUT_X64);
    shared_data(NTMM_PAGING_X64, NTMM_LAYOUT_WOW64);
    shared_data(NTMM_PAGING_X64, NTMM_LAYOUT_WOW64_LAA);
    shared_data(NTMM_PAGING_PAE, NTMM_LAYOUT_X86);
    shared_data(NTMM_PAGING_X86, NTMM_LAYOUT_X86);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_vq_008_layout),
        T(test_stack_sizes),
        T(test_vq_008_guard_region),
        T(test_vq_015_reserved_stack_page),
        T(test_gp_009_growth_64k),
        T(test_gp_009_growth_4m),
        T(test_plain_guard_unchanged),
        T(test_two_stacks),
        T(test_probe_for_read),
        T(test_probe_for_write),
        cmocka_unit_test(test_vq_007_shared_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
