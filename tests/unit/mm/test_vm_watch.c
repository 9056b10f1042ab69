/*
 * test_vm_watch.c - write watch (NtGetWriteWatch, NtResetWriteWatch), page locking
 * (NtLockVirtualMemory, NtUnlockVirtualMemory) and the kernel's copies into and out of a
 * process (NtReadVirtualMemory, NtWriteVirtualMemory), against Windows' recorded behaviour
 * (/work/shared/conformance/windows-semantics.md sections 6, 7 and 17; each test names the
 * items it covers). Guest writes go through CPUs at CPL 3; mm_process_check and mm_pfn_check
 * run after every step.
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

static ntmm_status_t vfree(vmenv_t *e, va_t b, uint64_t size, uint32_t type)
{
    uint64_t s = size;
    return mm_vm_free(e->p, &b, &s, type);
}

static ntmm_status_t vprotect(vmenv_t *e, va_t b, uint64_t size, uint32_t prot, uint32_t *old)
{
    uint64_t s = size;
    return mm_vm_protect(e->p, &b, &s, prot, old);
}

/* A user-mode access of len bytes at va on CPU `cpu`. */
static ntmm_status_t access_on(vmenv_t *e, unsigned cpu, va_t va, size_t len, ntmm_access_t kind)
{
    uint8_t buf[16] = { 0x5A, 0x5A, 0x5A, 0x5A };
    size_t done;
    ntmm_exception_record_t er;
    assert_true(len <= sizeof buf);
    ntmm_status_t st = mm_access(e->p, &e->m->cpus[cpu], va, buf, len, kind, &done, &er);
    vmenv_check(e);
    return st;
}

static ntmm_status_t write1(vmenv_t *e, va_t va) { return access_on(e, 0, va, 1, NTMM_ACCESS_WRITE); }

/* GetWriteWatch(flags, base, size) into out (capacity cap): the count, or UINT64_MAX on failure. */
static uint64_t watch(vmenv_t *e, uint32_t flags, va_t base, uint64_t size, va_t *out, uint64_t cap)
{
    uint64_t count = cap;
    uint32_t gran = 0;
    ntmm_status_t st = mm_vm_get_write_watch(e->p, flags, base, size, out, &count, &gran);
    vmenv_check(e);
    if (st != NTMM_STATUS_SUCCESS) return UINT64_MAX;
    assert_int_equal(gran, P);
    return count;
}

static const ntmm_paging_mode_t modes[] = { NTMM_PAGING_X86, NTMM_PAGING_PAE, NTMM_PAGING_X64 };
static const mm_layout_id_t layouts[] = { MM_LAYOUT_X86, MM_LAYOUT_X86, MM_LAYOUT_X64 };

/* WW-001, WW-003, WW-004, WW-005, WW-007, WW-008, WW-009 */
static void test_watch_basic(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(modes); i++) {
        vmenv_t e;
        vmenv_init(&e, modes[i], layouts[i]);
        va_t base = 0, r[64];
        assert_int_equal(alloc(&e, &base, G, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT | NTMM_MEM_WRITE_WATCH,
                               NTMM_PAGE_READWRITE), 0);
        ntmm_memory_basic_information_t mbi; /* WW-001: an ordinary MBI */
        assert_int_equal(mm_vm_query(e.p, base, &mbi), 0);
        assert_int_equal(mbi.region_size, G);
        assert_int_equal(mbi.protect, NTMM_PAGE_READWRITE);
        assert_int_equal(mbi.state, NTMM_MEM_COMMIT);
        assert_int_equal(watch(&e, 0, base, G, r, 64), 0); /* WW-003 */
        /* reads do not count */
        assert_int_equal(access_on(&e, 0, base + 7 * P, 4, NTMM_ACCESS_READ), 0);
        assert_int_equal(watch(&e, 0, base, G, r, 64), 0);
        assert_int_equal(write1(&e, base + P + 1), 0); /* WW-004 */
        assert_int_equal(watch(&e, 0, base, G, r, 64), 1);
        assert_int_equal(r[0], base + P);
        assert_int_equal(watch(&e, NTMM_WRITE_WATCH_FLAG_RESET, base, G, r, 64), 1); /* WW-005 */
        assert_int_equal(r[0], base + P);
        assert_int_equal(watch(&e, 0, base, G, r, 64), 0);
        /* a write to a page written before the reset is seen again (its R/W was taken) */
        assert_int_equal(write1(&e, base + P + 9), 0);
        assert_int_equal(watch(&e, NTMM_WRITE_WATCH_FLAG_RESET, base, G, r, 64), 1);
        assert_int_equal(write1(&e, base + 4 * P), 0); /* WW-007 */
        assert_int_equal(watch(&e, 0, base + 3 * P, 2 * P, r, 64), 1);
        assert_int_equal(r[0], base + 4 * P);
        assert_int_equal(write1(&e, base + 2 * P), 0); /* WW-008 */
        assert_int_equal(mm_vm_reset_write_watch(e.p, base, 3 * P), 0);
        assert_int_equal(watch(&e, 0, base, G, r, 64), 1);
        assert_int_equal(r[0], base + 4 * P);
        assert_int_equal(access_on(&e, 0, base + 2 * P - 2, 4, NTMM_ACCESS_WRITE), 0); /* WW-009 */
        assert_int_equal(watch(&e, 0, base, G, r, 64), 3);
        assert_int_equal(r[0], base + P);
        assert_int_equal(r[1], base + 2 * P);
        assert_int_equal(r[2], base + 4 * P);
        /* a full array stops the list; RESET resets only what was reported */
        assert_int_equal(watch(&e, NTMM_WRITE_WATCH_FLAG_RESET, base, G, r, 2), 2);
        assert_int_equal(r[1], base + 2 * P);
        assert_int_equal(watch(&e, 0, base, G, r, 64), 1);
        assert_int_equal(r[0], base + 4 * P);
        /* WW-012: a kernel-mode write through a CPU (CR0.WP) is seen too */
        hw_cpu_set_cpl(&e.m->cpus[1], 0);
        assert_int_equal(access_on(&e, 1, base + 9 * P, 1, NTMM_ACCESS_READ), 0);
        assert_int_equal(access_on(&e, 1, base + 9 * P, 1, NTMM_ACCESS_WRITE), 0);
        hw_cpu_set_cpl(&e.m->cpus[1], 3);
        assert_int_equal(watch(&e, NTMM_WRITE_WATCH_FLAG_RESET, base + 9 * P, P, r, 64), 1);
        assert_int_equal(r[0], base + 9 * P);
        vmenv_destroy(&e);
    }
}

/* WW-014 (the statuses NtGetWriteWatch / NtResetWriteWatch give; the probes are the facade's),
 * WW-015 */
static void test_watch_errors(void **state)
{
    (void)state;
    vmenv_t e;
    vmenv_init(&e, NTMM_PAGING_X64, MM_LAYOUT_X64);
    va_t base = 0, plain = 0, r[4];
    uint64_t size = G;
    assert_int_equal(alloc(&e, &base, size, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT | NTMM_MEM_WRITE_WATCH,
                           NTMM_PAGE_READWRITE), 0);
    assert_int_equal(alloc(&e, &plain, size, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE), 0);
    uint64_t count = 0;
    uint32_t gran;
    assert_int_equal(mm_vm_get_write_watch(e.p, 0, base, size, r, &count, &gran), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(watch(&e, 0xdeadbeefu, base, size, r, 4), UINT64_MAX);
    assert_int_equal(watch(&e, 0, base, 0, r, 4), UINT64_MAX);
    assert_int_equal(watch(&e, 0, base, 2 * size, r, 4), UINT64_MAX);
    assert_int_equal(watch(&e, 0, base + size - P, P + 1, r, 4), UINT64_MAX);
    assert_int_equal(watch(&e, 0, plain, size, r, 4), UINT64_MAX);
    assert_int_equal(watch(&e, 0, base + 64 * G, P, r, 4), UINT64_MAX); /* free */
    assert_int_equal(mm_vm_reset_write_watch(e.p, base, 0), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_vm_reset_write_watch(e.p, plain, size), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(mm_vm_reset_write_watch(e.p, base, size), 0);
    /* WW-015: reserve-only is fine, MEM_WRITE_WATCH without MEM_RESERVE is not */
    va_t w = 0;
    assert_int_equal(alloc(&e, &w, size, NTMM_MEM_RESERVE | NTMM_MEM_WRITE_WATCH, NTMM_PAGE_READWRITE), 0);
    assert_int_equal(watch(&e, 0, w, size, r, 4), 0);
    va_t bad = 0;
    assert_int_equal(alloc(&e, &bad, size, NTMM_MEM_WRITE_WATCH, NTMM_PAGE_READWRITE), NTMM_STATUS_INVALID_PARAMETER_5);
    vmenv_destroy(&e);
}

/* WW-011, WW-017, WW-019, WW-020, WW-022 (scaled to 64 pages) */
static void test_watch_protect_decommit(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(modes); i++) {
        vmenv_t e;
        vmenv_init(&e, modes[i], layouts[i]);
        va_t base = 0, r[64];
        uint32_t old;
        assert_int_equal(alloc(&e, &base, G, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT | NTMM_MEM_WRITE_WATCH,
                               NTMM_PAGE_READWRITE), 0);
        /* WW-011 */
        assert_int_equal(write1(&e, base + 2 * P), 0);
        assert_int_equal(write1(&e, base + 4 * P), 0);
        assert_int_equal(vprotect(&e, base, 3 * P, NTMM_PAGE_READONLY, &old), 0);
        assert_int_equal(old, NTMM_PAGE_READWRITE);
        assert_int_equal(vprotect(&e, base, 3 * P, NTMM_PAGE_READWRITE, &old), 0);
        assert_int_equal(old, NTMM_PAGE_READONLY);
        assert_int_equal(watch(&e, 0, base, G, r, 64), 2);
        assert_int_equal(r[0], base + 2 * P);
        assert_int_equal(r[1], base + 4 * P);
        /* protection changes keep unwritten pages watched: the next write still counts */
        assert_int_equal(write1(&e, base + 1 * P), 0);
        assert_int_equal(watch(&e, 0, base, G, r, 64), 3);
        /* WW-020: decommit forgets the writes, recommit too */
        assert_int_equal(vfree(&e, base, G, NTMM_MEM_DECOMMIT), 0);
        vmenv_check(&e);
        assert_int_equal(watch(&e, 0, base, G, r, 64), 0);
        va_t c = base;
        assert_int_equal(alloc(&e, &c, G, NTMM_MEM_COMMIT, NTMM_PAGE_NOACCESS), 0);
        assert_int_equal(watch(&e, 0, base, G, r, 64), 0);
        /* WW-017: the initial protection is irrelevant */
        assert_int_equal(vprotect(&e, base, 6 * P, NTMM_PAGE_READWRITE, &old), 0);
        assert_int_equal(old, NTMM_PAGE_NOACCESS);
        assert_int_equal(write1(&e, base + 5 * P), 0);
        assert_int_equal(vprotect(&e, base, 6 * P, NTMM_PAGE_NOACCESS, &old), 0);
        assert_int_equal(old, NTMM_PAGE_READWRITE);
        assert_int_equal(watch(&e, NTMM_WRITE_WATCH_FLAG_RESET, base, G, r, 64), 1);
        assert_int_equal(r[0], base + 5 * P);
        /* WW-019 */
        assert_int_equal(vfree(&e, base + P, P, NTMM_MEM_DECOMMIT), 0);
        assert_int_equal(vprotect(&e, base + 2 * P, P, NTMM_PAGE_READWRITE, &old), 0);
        assert_int_equal(old, NTMM_PAGE_NOACCESS);
        assert_int_equal(watch(&e, 0, base, G, r, 64), 0);
        assert_int_equal(write1(&e, base + 2 * P), 0);
        assert_int_equal(watch(&e, 0, base, G, r, 64), 1);
        assert_int_equal(r[0], base + 2 * P);
        /* WW-022 (64 pages): every other page written, then the first half read-only */
        va_t big = 0;
        assert_int_equal(alloc(&e, &big, 64 * P, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT | NTMM_MEM_WRITE_WATCH,
                               NTMM_PAGE_READWRITE), 0);
        for (unsigned k = 0; k < 64; k += 2) assert_int_equal(write1(&e, big + k * P), 0);
        assert_int_equal(vprotect(&e, big, 32 * P, NTMM_PAGE_READONLY, &old), 0);
        assert_int_equal(watch(&e, 0, big, 64 * P, r, 64), 32);
        for (unsigned k = 0; k < 32; k++) assert_int_equal(r[k], big + 2 * k * P);
        assert_int_equal(watch(&e, NTMM_WRITE_WATCH_FLAG_RESET, big, 64 * P, r, 64), 32);
        assert_int_equal(watch(&e, 0, big, 64 * P, r, 64), 0);
        /* a read-only watched page still refuses writes */
        assert_int_equal(write1(&e, big), NTMM_STATUS_ACCESS_VIOLATION);
        assert_int_equal(watch(&e, 0, big, 64 * P, r, 64), 0);
        vmenv_destroy(&e);
    }
}

/* A reset must reach every CPU's TLB: CPU 1 cached a writable translation before it. Also a
 * partial release in the middle: each remaining part keeps its own bits. */
static void test_watch_tlb_and_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(modes); i++) {
        vmenv_t e;
        vmenv_init(&e, modes[i], layouts[i]);
        va_t base = 0, r[16];
        assert_int_equal(alloc(&e, &base, G, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT | NTMM_MEM_WRITE_WATCH,
                               NTMM_PAGE_READWRITE), 0);
        assert_int_equal(access_on(&e, 1, base + 3 * P, 1, NTMM_ACCESS_WRITE), 0);
        assert_int_equal(access_on(&e, 1, base + 3 * P, 1, NTMM_ACCESS_WRITE), 0); /* now in CPU 1's TLB */
        assert_int_equal(watch(&e, NTMM_WRITE_WATCH_FLAG_RESET, base, G, r, 16), 1);
        assert_int_equal(access_on(&e, 1, base + 3 * P, 1, NTMM_ACCESS_WRITE), 0);
        assert_int_equal(watch(&e, 0, base, G, r, 16), 1);
        assert_int_equal(r[0], base + 3 * P);
        /* split: write pages 1 and 12, release pages 4..7 */
        assert_int_equal(write1(&e, base + P), 0);
        assert_int_equal(write1(&e, base + 12 * P), 0);
        assert_int_equal(vfree(&e, base + 4 * P, 4 * P, NTMM_MEM_RELEASE), 0);
        vmenv_check(&e);
        assert_int_equal(watch(&e, 0, base, 4 * P, r, 16), 2);
        assert_int_equal(r[0], base + P);
        assert_int_equal(r[1], base + 3 * P);
        assert_int_equal(watch(&e, 0, base, 5 * P, r, 16), UINT64_MAX); /* crosses the hole */
        assert_int_equal(watch(&e, 0, base + 8 * P, 8 * P, r, 16), 1);
        assert_int_equal(r[0], base + 12 * P);
        assert_int_equal(write1(&e, base + 15 * P), 0);
        assert_int_equal(watch(&e, 0, base + 8 * P, 8 * P, r, 16), 2);
        /* releasing the front keeps the rest's bits */
        assert_int_equal(vfree(&e, base + 8 * P, 4 * P, NTMM_MEM_RELEASE), 0);
        assert_int_equal(watch(&e, 0, base + 12 * P, 4 * P, r, 16), 2);
        vmenv_destroy(&e);
    }
}

/* Locking: resident and pinned, NOT_LOCKED, uncommitted / NOACCESS pages, GP-004, decommit
 * unlocks. */
static void test_lock(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(modes); i++) {
        vmenv_t e;
        vmenv_init(&e, modes[i], layouts[i]);
        va_t base = 0;
        assert_int_equal(alloc(&e, &base, G, NTMM_MEM_RESERVE, NTMM_PAGE_READWRITE), 0);
        va_t c = base;
        assert_int_equal(alloc(&e, &c, 4 * P, NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE), 0);
        va_t b = base + 0x10;
        uint64_t s = 2 * P;
        assert_int_equal(mm_vm_lock(e.p, &b, &s, 0), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(mm_vm_lock(e.p, &b, &s, 4), NTMM_STATUS_INVALID_PARAMETER);
        assert_int_equal(mm_vm_lock(e.p, &b, &s, MM_MAP_SYSTEM), NTMM_STATUS_PRIVILEGE_NOT_HELD);
        assert_int_equal(mm_vm_unlock(e.p, &b, &s, MM_MAP_PROCESS), NTMM_STATUS_NOT_LOCKED);
        uint64_t resident = e.p->private_pages;
        assert_int_equal(mm_vm_lock(e.p, &b, &s, MM_MAP_PROCESS), 0);
        vmenv_check(&e);
        assert_int_equal(b, base);
        assert_int_equal(s, 3 * P); /* 0x10 .. 0x2010 touches three pages */
        assert_int_equal(e.p->private_pages, resident + 3);
        mm_aspace_lock(e.p->as);
        mm_vad_t *vad = mm_vad_find(&e.p->vads, base >> NTMM_PAGE_SHIFT);
        for (unsigned k = 0; k < 4; k++) {
            mm_vm_page_t pg;
            mm_vm_page_state(e.p, vad, base + k * P, &pg);
            assert_int_equal(pg.kind == MM_PTE_KIND_VALID, k < 3);
            assert_int_equal(mm_vm_page_locked(vad, base + k * P), k < 3);
        }
        mm_aspace_unlock(e.p->as);
        /* locking again is fine; unlocking a range with an unlocked page changes nothing */
        b = base, s = P;
        assert_int_equal(mm_vm_lock(e.p, &b, &s, MM_MAP_PROCESS), 0);
        b = base, s = 4 * P;
        assert_int_equal(mm_vm_unlock(e.p, &b, &s, MM_MAP_PROCESS), NTMM_STATUS_NOT_LOCKED);
        b = base + P, s = P;
        assert_int_equal(mm_vm_unlock(e.p, &b, &s, MM_MAP_PROCESS), 0);
        assert_int_equal(mm_vm_unlock(e.p, &b, &s, MM_MAP_PROCESS), NTMM_STATUS_NOT_LOCKED);
        /* reserved, free: nothing is locked */
        b = base + 3 * P, s = 2 * P;
        assert_int_equal(mm_vm_lock(e.p, &b, &s, MM_MAP_PROCESS), NTMM_STATUS_ACCESS_VIOLATION);
        b = base + 3 * P, s = P;
        assert_int_equal(mm_vm_unlock(e.p, &b, &s, MM_MAP_PROCESS), NTMM_STATUS_NOT_LOCKED);
        b = base + 2 * G, s = P;
        assert_int_equal(mm_vm_lock(e.p, &b, &s, MM_MAP_PROCESS), NTMM_STATUS_ACCESS_VIOLATION);
        /* NOACCESS */
        uint32_t old;
        assert_int_equal(vprotect(&e, base + 3 * P, P, NTMM_PAGE_NOACCESS, &old), 0);
        b = base + 3 * P, s = P;
        assert_int_equal(mm_vm_lock(e.p, &b, &s, MM_MAP_PROCESS), NTMM_STATUS_ACCESS_VIOLATION);
        /* GP-004: a guard page fails once, losing its guard; the data survives */
        assert_int_equal(vprotect(&e, base + 3 * P, P, NTMM_PAGE_READWRITE, &old), 0);
        assert_int_equal(write1(&e, base + 3 * P + 5), 0);
        assert_int_equal(vprotect(&e, base + 3 * P, P, NTMM_PAGE_READWRITE | NTMM_PAGE_GUARD, &old), 0);
        b = base + 3 * P, s = P;
        assert_int_equal(mm_vm_lock(e.p, &b, &s, MM_MAP_PROCESS), NTMM_STATUS_GUARD_PAGE_VIOLATION);
        vmenv_check(&e);
        b = base + 3 * P, s = P;
        assert_int_equal(mm_vm_lock(e.p, &b, &s, MM_MAP_PROCESS), 0);
        ntmm_memory_basic_information_t mbi;
        assert_int_equal(mm_vm_query(e.p, base + 3 * P, &mbi), 0);
        assert_int_equal(mbi.protect, NTMM_PAGE_READWRITE);
        assert_int_equal(vprotect(&e, base + 3 * P, P, NTMM_PAGE_READWRITE | NTMM_PAGE_GUARD, &old), 0);
        assert_int_equal(old, NTMM_PAGE_READWRITE);
        uint8_t v = 0;
        size_t done;
        assert_int_equal(mm_vm_read(e.p, base + 3 * P + 5, &v, 1, &done), NTMM_STATUS_PARTIAL_COPY); /* guard */
        assert_int_equal(mm_vm_read(e.p, base + 3 * P + 5, &v, 1, &done), 0);
        assert_int_equal(v, 0x5A);
        /* NOACCESS takes a locked page out of the working set, unlocking it */
        b = base, s = 2 * P;
        assert_int_equal(mm_vm_lock(e.p, &b, &s, MM_MAP_PROCESS), 0);
        assert_int_equal(vprotect(&e, base + P, P, NTMM_PAGE_NOACCESS, &old), 0);
        vmenv_check(&e);
        b = base + P, s = P;
        assert_int_equal(mm_vm_unlock(e.p, &b, &s, MM_MAP_PROCESS), NTMM_STATUS_NOT_LOCKED);
        assert_int_equal(vprotect(&e, base + P, P, NTMM_PAGE_READWRITE, &old), 0);
        /* decommit unlocks */
        assert_int_equal(vfree(&e, base, 2 * P, NTMM_MEM_DECOMMIT), 0);
        vmenv_check(&e);
        b = base, s = P;
        assert_int_equal(mm_vm_unlock(e.p, &b, &s, MM_MAP_PROCESS), NTMM_STATUS_NOT_LOCKED);
        /* a split keeps the tail's locks; release drops them */
        c = base;
        assert_int_equal(alloc(&e, &c, 8 * P, NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE), 0);
        b = base, s = 8 * P;
        assert_int_equal(mm_vm_lock(e.p, &b, &s, MM_MAP_PROCESS), 0);
        assert_int_equal(vfree(&e, base + 2 * P, 2 * P, NTMM_MEM_RELEASE), 0);
        vmenv_check(&e);
        b = base + 4 * P, s = 4 * P;
        assert_int_equal(mm_vm_unlock(e.p, &b, &s, MM_MAP_PROCESS), 0);
        b = base, s = 2 * P;
        assert_int_equal(mm_vm_unlock(e.p, &b, &s, MM_MAP_PROCESS), 0);
        vmenv_destroy(&e);
    }
}

/* RW-003, RW-004, RW-007, RW-008 (the target-side cases), WW-012 */
static void test_read_write(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(modes); i++) {
        vmenv_t e;
        vmenv_init(&e, modes[i], layouts[i]);
        static uint8_t buf[16 * 0x1000], back[16 * 0x1000];
        size_t done = 99;
        va_t base = 0;
        assert_int_equal(alloc(&e, &base, G, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT | NTMM_MEM_WRITE_WATCH,
                               NTMM_PAGE_READWRITE), 0);
        /* demand-zero pages read as zeros and are faulted in */
        memset(back, 0xEE, sizeof back);
        uint64_t dz = e.p->counts.demand_zero;
        assert_int_equal(mm_vm_read(e.p, base + 5, back, 2 * P, &done), 0);
        vmenv_check(&e);
        assert_int_equal(done, 2 * P);
        for (size_t k = 0; k < 2 * P; k++) assert_int_equal(back[k], 0);
        assert_int_equal(e.p->counts.demand_zero, dz + 3);
        /* WW-012: a kernel write of the whole region marks all 16 pages */
        for (size_t k = 0; k < sizeof buf; k++) buf[k] = (uint8_t)(k * 7u + 3u);
        assert_int_equal(mm_vm_write(e.p, base, buf, G, &done), 0);
        vmenv_check(&e);
        assert_int_equal(done, G);
        va_t r[16];
        assert_int_equal(watch(&e, NTMM_WRITE_WATCH_FLAG_RESET, base, G, r, 16), 16);
        /* an 11-byte write dirties exactly one page; reads dirty nothing */
        assert_int_equal(mm_vm_write(e.p, base + 3 * P + 100, buf, 11, &done), 0);
        assert_int_equal(mm_vm_read(e.p, base, back, G, &done), 0);
        assert_int_equal(watch(&e, 0, base, G, r, 16), 1);
        assert_int_equal(r[0], base + 3 * P);
        /* what the kernel wrote, the process reads through its CPU */
        uint8_t got[16];
        size_t moved;
        ntmm_exception_record_t er;
        assert_int_equal(mm_access(e.p, &e.m->cpus[0], base + 9 * P + 3, got, sizeof got, NTMM_ACCESS_READ, &moved,
                                   &er), 0);
        assert_memory_equal(got, buf + 9 * P + 3, sizeof got);
        /* RW-007: the second page NOACCESS stops the copy at the first */
        uint32_t old;
        assert_int_equal(vprotect(&e, base + P, P, NTMM_PAGE_NOACCESS, &old), 0);
        assert_int_equal(mm_vm_read(e.p, base, back, 2 * P, &done), NTMM_STATUS_PARTIAL_COPY);
        assert_int_equal(done, P);
        assert_int_equal(mm_vm_read(e.p, base, back, P, &done), 0);
        assert_int_equal(mm_vm_write(e.p, base + P, buf, 1, &done), NTMM_STATUS_PARTIAL_COPY);
        assert_int_equal(done, 0);
        /* RW-004: a read-only target takes no write, and is not marked */
        assert_int_equal(vprotect(&e, base + 2 * P, P, NTMM_PAGE_READONLY, &old), 0);
        assert_int_equal(mm_vm_reset_write_watch(e.p, base, G), 0);
        assert_int_equal(mm_vm_write(e.p, base + 2 * P, buf, 8, &done), NTMM_STATUS_PARTIAL_COPY);
        assert_int_equal(done, 0);
        assert_int_equal(watch(&e, 0, base, G, r, 16), 0);
        assert_int_equal(mm_vm_read(e.p, base + 2 * P, back, 8, &done), 0);
        assert_memory_equal(back, buf + 2 * P, 8);
        /* RW-008: a remote address that is free, or reserved */
        assert_int_equal(mm_vm_read(e.p, 0x1234, back, 4, &done), NTMM_STATUS_PARTIAL_COPY);
        assert_int_equal(done, 0);
        va_t res = 0;
        assert_int_equal(alloc(&e, &res, G, NTMM_MEM_RESERVE, NTMM_PAGE_READWRITE), 0);
        assert_int_equal(mm_vm_write(e.p, res + P - 4, buf, 8, &done), NTMM_STATUS_PARTIAL_COPY);
        assert_int_equal(done, 0);
        /* a range that leaves the user space, or wraps */
        const mm_layout_t *l = e.p->as->layout;
        assert_int_equal(mm_vm_read(e.p, l->highest_user - 1u, back, 4, &done), NTMM_STATUS_ACCESS_VIOLATION);
        assert_int_equal(mm_vm_read(e.p, UINT64_MAX - 1u, back, 4, &done), NTMM_STATUS_ACCESS_VIOLATION);
        assert_int_equal(mm_vm_read(e.p, 0x1234, NULL, 0, &done), 0);
        assert_int_equal(done, 0);
        /* the copy crosses into the next allocation if it is committed */
        va_t a2 = base + G;
        if (alloc(&e, &a2, G, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE) == 0) {
            assert_int_equal(mm_vm_write(e.p, base + G - 8, buf, 16, &done), 0);
            assert_int_equal(mm_vm_read(e.p, base + G - 8, back, 16, &done), 0);
            assert_memory_equal(back, buf, 16);
        }
        vmenv_destroy(&e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_basic),
        cmocka_unit_test(test_watch_errors),
        cmocka_unit_test(test_watch_protect_decommit),
        cmocka_unit_test(test_watch_tlb_and_split),
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_read_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
