/*
 * test_vm_random.c - a seeded model-based test of the virtual-memory API: random sequences of
 * reserve, commit, decommit, release (whole and partial), protect, user-mode accesses, write
 * watch (MEM_WRITE_WATCH, NtGetWriteWatch with and without reset, NtResetWriteWatch), locking
 * (NtLockVirtualMemory, NtUnlockVirtualMemory) and kernel copies (NtReadVirtualMemory,
 * NtWriteVirtualMemory), with valid and invalid arguments, against a simple page-array model
 * of what Windows does.
 * After every step a full NtQueryVirtualMemory walk of the arena must equal the model's
 * regions; every 64 steps (and at the end) all invariant checkers run.
 *
 * NTMM_VM_RANDOM_STEPS in the environment raises the step count for a soak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <ntmm/ntmm.h>

#include "base/base.h"
#include "base/rng.h"

#define P 0x1000u
#define G 0x10000u
#define ARENA 0x20000000ull   /* inside the user space of every layout used */
#define PAGES 512u            /* 2 MiB: 32 granules */

enum { FREE, RESERVE, COMMIT };

typedef struct mpage {
    int state;
    uint32_t prot;        /* committed pages: PAGE_* as VirtualQuery reports it */
    uint64_t alloc_base;  /* the allocation the page belongs to (0: free) */
    uint32_t alloc_prot;
    uint8_t byte;         /* what the first byte of the page holds */
    bool watch;           /* the allocation is MEM_WRITE_WATCH */
    bool dirty;           /* written since the last reset (watch only) */
    bool locked;          /* NtLockVirtualMemory'd */
} mpage_t;

typedef struct rt {
    ntmm_machine_t *m;
    ntmm_process_t *p;
    base_rng_t r;
    mpage_t pg[PAGES];
    uint64_t seed;
    unsigned step;
    char desc[128]; /* the operation being checked, for traces and failures */
} rt_t;

static const uint32_t prots[] = {
    0x01, 0x02, 0x04, 0x10, 0x20, 0x40, 0x04 | 0x100, 0x02 | 0x100, 0x04 | 0x200, 0x02 | 0x200,
    0x08, 0x80, 0x00, 0x06, 0x01 | 0x100, 0x200 | 0x400 | 0x04, 0x800 | 0x04,
};

static bool prot_valid(uint32_t v)
{
    static const uint32_t base[] = { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80 };
    uint32_t b = v & 0xFF, mod = v & ~0xFFu;
    bool one = false;
    for (size_t i = 0; i < 8; i++) one = one || b == base[i];
    if (!one) return false;
    if (mod == 0) return true;
    if (mod != 0x100 && mod != 0x200 && mod != 0x400) return false;
    return b != 0x01; /* modifiers need an accessible base */
}

static bool writecopy(uint32_t v) { return (v & 0xFF) == 0x08 || (v & 0xFF) == 0x80; }

static mpage_t *mp(rt_t *t, uint64_t va) { return &t->pg[(va - ARENA) / P]; }

#define FAIL(...) fail_msg("seed %llu step %u: " __VA_ARGS__)

static void expect(rt_t *t, const char *op, ntmm_status_t got, ntmm_status_t want)
{
    if (getenv("NTMM_VM_RANDOM_TRACE")) printf("%u %s %s -> %#x\n", t->step, op, t->desc, (unsigned)got);
    if (got != want)
        fail_msg("seed %llu step %u: %s %s -> %#x, model %#x", (unsigned long long)t->seed, t->step, op, t->desc,
                 (unsigned)got, (unsigned)want);
}

/* First and last page index of [b, b+s) and whether it all lies in one allocation. */
static bool one_allocation(rt_t *t, unsigned first, unsigned last)
{
    uint64_t a = t->pg[first].alloc_base;
    if (!a) return false;
    for (unsigned i = first; i <= last; i++)
        if (t->pg[i].alloc_base != a) return false;
    return true;
}

static void release_pages(rt_t *t, unsigned first, unsigned last)
{
    uint64_t a = t->pg[first].alloc_base;
    for (unsigned i = first; i <= last; i++) t->pg[i] = (mpage_t){ FREE, 0, 0, 0, 0, false, false, false };
    /* what follows in the same allocation becomes an allocation of its own */
    uint64_t nb = ARENA + (uint64_t)(last + 1) * P;
    for (unsigned i = last + 1; i < PAGES && t->pg[i].alloc_base == a; i++) t->pg[i].alloc_base = nb;
}

static void op_reserve(rt_t *t)
{
    uint32_t prot = prots[base_rng_below(&t->r, NTMM_ARRAY_SIZE(prots))];
    bool commit = base_rng_below(&t->r, 2);
    bool watch = base_rng_below(&t->r, 3) == 0;
    unsigned g = (unsigned)base_rng_below(&t->r, PAGES / 16);
    uint64_t size = (1 + base_rng_below(&t->r, 40)) * P - base_rng_below(&t->r, 2) * 0x123;
    uint64_t base = ARENA + (uint64_t)g * G + base_rng_below(&t->r, 3) * 0x2345;
    uint64_t b = base, s = size;
    uint32_t type = NTMM_MEM_RESERVE | (commit ? NTMM_MEM_COMMIT : 0) | (watch ? NTMM_MEM_WRITE_WATCH : 0);
    snprintf(t->desc, sizeof t->desc, "%#llx+%#llx type %#x prot %#x", (unsigned long long)base,
             (unsigned long long)size, type, prot);
    ntmm_status_t got = ntmm_nt_allocate_virtual_memory(t->p, &b, 0, &s, type, prot);
    uint64_t start = base & ~(uint64_t)(G - 1), end = (base + size + P - 1) & ~(uint64_t)(P - 1);
    ntmm_status_t want = NTMM_STATUS_SUCCESS;
    if (!prot_valid(prot) || writecopy(prot)) {
        want = NTMM_STATUS_INVALID_PAGE_PROTECTION;
    } else if (end > ARENA + (uint64_t)PAGES * P) {
        /* past the arena: not modelled; undo it if it happened */
        uint64_t z = 0;
        if (got == NTMM_STATUS_SUCCESS) ntmm_nt_free_virtual_memory(t->p, &b, &z, NTMM_MEM_RELEASE);
        return;
    } else {
        for (uint64_t va = start; va < end; va += P)
            if (mp(t, va)->state != FREE) want = NTMM_STATUS_CONFLICTING_ADDRESSES;
    }
    expect(t, "reserve", got, want);
    if (got != NTMM_STATUS_SUCCESS) return;
    if (b != start || s != end - start) FAIL("reserve returned %#llx+%#llx", (unsigned long long)t->seed, t->step,
                                               (unsigned long long)b, (unsigned long long)s);
    for (uint64_t va = start; va < end; va += P)
        *mp(t, va) = (mpage_t){ commit ? COMMIT : RESERVE, prot, start, prot, 0, watch, false, false };
}

static void op_commit(rt_t *t)
{
    uint32_t prot = prots[base_rng_below(&t->r, NTMM_ARRAY_SIZE(prots))];
    unsigned first = (unsigned)base_rng_below(&t->r, PAGES), n = 1 + (unsigned)base_rng_below(&t->r, 20);
    if (first + n > PAGES) n = PAGES - first;
    unsigned last = first + n - 1;
    uint64_t b = ARENA + (uint64_t)first * P + base_rng_below(&t->r, P), s = (uint64_t)n * P - (b - (ARENA + first * P));
    snprintf(t->desc, sizeof t->desc, "pages %u..%u prot %#x", first, last, prot);
    ntmm_status_t got = ntmm_nt_allocate_virtual_memory(t->p, &b, 0, &s, NTMM_MEM_COMMIT, prot);
    ntmm_status_t want = NTMM_STATUS_SUCCESS;
    if (!prot_valid(prot)) want = NTMM_STATUS_INVALID_PAGE_PROTECTION;
    else if (!one_allocation(t, first, last)) want = NTMM_STATUS_CONFLICTING_ADDRESSES;
    else if (writecopy(prot)) want = NTMM_STATUS_INVALID_PAGE_PROTECTION;
    expect(t, "commit", got, want);
    if (got != NTMM_STATUS_SUCCESS) return;
    for (unsigned i = first; i <= last; i++) {
        if (t->pg[i].state != COMMIT) t->pg[i].byte = 0;
        t->pg[i].state = COMMIT;
        t->pg[i].prot = prot;
        if ((prot & 0xFF) == 0x01 || (prot & 0x100)) t->pg[i].locked = false; /* out of the working set */
    }
}

static void op_free(rt_t *t, uint32_t type, bool whole)
{
    unsigned first = (unsigned)base_rng_below(&t->r, PAGES), n = 1 + (unsigned)base_rng_below(&t->r, 20);
    if (first + n > PAGES) n = PAGES - first;
    if (whole && base_rng_below(&t->r, 4) && t->pg[first].alloc_base) first = (unsigned)((t->pg[first].alloc_base - ARENA) / P);
    uint64_t b = ARENA + (uint64_t)first * P, s = whole ? 0 : (uint64_t)n * P;
    snprintf(t->desc, sizeof t->desc, "page %u n %u whole %d", first, n, (int)whole);
    ntmm_status_t got = ntmm_nt_free_virtual_memory(t->p, &b, &s, type);
    unsigned last = first + n - 1;
    ntmm_status_t want = NTMM_STATUS_SUCCESS;
    if (t->pg[first].state == FREE) want = NTMM_STATUS_MEMORY_NOT_ALLOCATED;
    else if (whole) {
        if (type == NTMM_MEM_RELEASE && t->pg[first].alloc_base != ARENA + (uint64_t)first * P)
            want = NTMM_STATUS_FREE_VM_NOT_AT_BASE;
        last = first;
        while (last + 1 < PAGES && t->pg[last + 1].alloc_base == t->pg[first].alloc_base) last++;
    } else if (!one_allocation(t, first, last)) {
        want = NTMM_STATUS_UNABLE_TO_FREE_VM;
    }
    expect(t, type == NTMM_MEM_RELEASE ? "release" : "decommit", got, want);
    if (got != NTMM_STATUS_SUCCESS) return;
    if (type == NTMM_MEM_RELEASE) release_pages(t, first, last);
    else
        for (unsigned i = first; i <= last; i++) {
            t->pg[i].state = RESERVE;
            t->pg[i].dirty = t->pg[i].locked = false; /* WW-020; decommit unlocks */
        }
}

static void op_protect(rt_t *t)
{
    uint32_t prot = prots[base_rng_below(&t->r, NTMM_ARRAY_SIZE(prots))];
    unsigned first = (unsigned)base_rng_below(&t->r, PAGES), n = 1 + (unsigned)base_rng_below(&t->r, 8);
    if (first + n > PAGES) n = PAGES - first;
    unsigned last = first + n - 1;
    uint64_t b = ARENA + (uint64_t)first * P, s = (uint64_t)n * P;
    uint32_t old = 0xdead;
    snprintf(t->desc, sizeof t->desc, "pages %u..%u prot %#x", first, last, prot);
    ntmm_status_t got = ntmm_nt_protect_virtual_memory(t->p, &b, &s, prot, &old);
    ntmm_status_t want = NTMM_STATUS_SUCCESS;
    if (!prot_valid(prot)) want = NTMM_STATUS_INVALID_PAGE_PROTECTION;
    else if (!one_allocation(t, first, last)) want = NTMM_STATUS_CONFLICTING_ADDRESSES;
    else if (writecopy(prot)) want = NTMM_STATUS_INVALID_PAGE_PROTECTION;
    else
        for (unsigned i = first; i <= last; i++)
            if (t->pg[i].state != COMMIT) want = NTMM_STATUS_NOT_COMMITTED;
    expect(t, "protect", got, want);
    if (got != NTMM_STATUS_SUCCESS) return;
    if (old != t->pg[first].prot) FAIL("protect old %#x, model %#x", (unsigned long long)t->seed, t->step, old,
                                       t->pg[first].prot);
    uint32_t mod = prot & (0x200u | 0x400u);
    if (mod && (t->pg[first].alloc_prot & (0x200u | 0x400u)) != mod) prot &= ~mod; /* VP-013 */
    for (unsigned i = first; i <= last; i++) {
        t->pg[i].prot = prot;
        if ((prot & 0xFF) == 0x01 || (prot & 0x100)) t->pg[i].locked = false; /* out of the working set */
    }
}

static void op_access(rt_t *t)
{
    unsigned i = (unsigned)base_rng_below(&t->r, PAGES);
    bool write = base_rng_below(&t->r, 2);
    uint64_t va = ARENA + (uint64_t)i * P;
    uint8_t v = (uint8_t)(1 + base_rng_below(&t->r, 255)), back = 0;
    ntmm_exception_record_t er;
    size_t done;
    snprintf(t->desc, sizeof t->desc, "page %u", i);
    ntmm_status_t got = ntmm_process_access(t->p, 0, 1, va, write ? &v : &back, 1,
                                            write ? NTMM_ACCESS_WRITE : NTMM_ACCESS_READ, &done, &er);
    mpage_t *m = &t->pg[i];
    uint32_t base = m->prot & 0xFF;
    bool readable = base != 0x01, writable = base == 0x04 || base == 0x40;
    ntmm_status_t want = NTMM_STATUS_SUCCESS;
    if (m->state != COMMIT || !readable || (write && !writable)) want = NTMM_STATUS_ACCESS_VIOLATION;
    else if (m->prot & 0x100) want = NTMM_STATUS_GUARD_PAGE_VIOLATION;
    expect(t, write ? "write" : "read", got, want);
    if (got == NTMM_STATUS_GUARD_PAGE_VIOLATION) m->prot &= ~0x100u;
    if (got != NTMM_STATUS_SUCCESS) {
        if (er.information[1] != va || er.information[0] != (write ? 1u : 0u))
            FAIL("exception information %#llx %#llx", (unsigned long long)t->seed, t->step,
                 (unsigned long long)er.information[0], (unsigned long long)er.information[1]);
        return;
    }
    if (write) {
        m->byte = v;
        m->dirty = m->watch;
    } else if (back != m->byte) FAIL("read %#x at page %u, model %#x", (unsigned long long)t->seed, t->step, back, i, m->byte);
}

/* A page to aim at: usually one for which want(page) holds, if a few tries find one. */
static unsigned pick_page(rt_t *t, bool (*want)(const mpage_t *))
{
    unsigned i = (unsigned)base_rng_below(&t->r, PAGES);
    for (unsigned k = 0; k < 16 && !want(&t->pg[i]); k++) i = (unsigned)base_rng_below(&t->r, PAGES);
    return i;
}

/* Up to n pages from first, usually kept inside first's allocation. */
static unsigned pick_count(rt_t *t, unsigned first, unsigned n)
{
    if (first + n > PAGES) n = PAGES - first;
    if (base_rng_below(&t->r, 4) && t->pg[first].alloc_base) {
        unsigned k = 1;
        while (k < n && t->pg[first + k].alloc_base == t->pg[first].alloc_base) k++;
        n = k;
    }
    return n;
}

static bool is_committed(const mpage_t *m) { return m->state == COMMIT; }
static bool is_watched(const mpage_t *m) { return m->watch && m->state != FREE; }

/* Whether the kernel can copy page i (read or write), as NtRead/WriteVirtualMemory and
 * NtLockVirtualMemory's probe decide; a guard page's guard goes. */
static ntmm_status_t kernel_touch(rt_t *t, unsigned i, bool write)
{
    mpage_t *m = &t->pg[i];
    uint32_t base = m->prot & 0xFF;
    bool readable = base != 0x01, writable = base == 0x04 || base == 0x40;
    if (m->state != COMMIT || !readable || (write && !writable)) return NTMM_STATUS_ACCESS_VIOLATION;
    if (m->prot & 0x100) {
        m->prot &= ~0x100u;
        return NTMM_STATUS_GUARD_PAGE_VIOLATION;
    }
    return NTMM_STATUS_SUCCESS;
}

static void op_copy(rt_t *t)
{
    static uint8_t buf[12 * 0x1000];
    unsigned first = pick_page(t, is_committed);
    uint64_t off = base_rng_below(&t->r, 3) ? base_rng_below(&t->r, P) : 0;
    uint64_t va = ARENA + (uint64_t)first * P + off;
    size_t len = 1 + (size_t)base_rng_below(&t->r, base_rng_below(&t->r, 4) ? 2 * P : 8 * P);
    if (va + len > ARENA + (uint64_t)PAGES * P) len = (size_t)(ARENA + (uint64_t)PAGES * P - va);
    bool write = base_rng_below(&t->r, 2);
    uint8_t v = (uint8_t)(1 + base_rng_below(&t->r, 255));
    memset(buf, write ? v : 0xEE, len);
    size_t done = 0xdead;
    snprintf(t->desc, sizeof t->desc, "%s page %u+%#llx len %#zx", write ? "write" : "read", first,
             (unsigned long long)off, len);
    ntmm_status_t got = write ? ntmm_nt_write_virtual_memory(t->p, va, buf, len, &done)
                              : ntmm_nt_read_virtual_memory(t->p, va, buf, len, &done);
    /* the model: page by page until one refuses */
    size_t want_done = 0;
    while (want_done < len) {
        uint64_t cur = va + want_done;
        unsigned i = (unsigned)((cur - ARENA) / P);
        if (kernel_touch(t, i, write) != NTMM_STATUS_SUCCESS) break;
        size_t n = (size_t)(P - (cur & (P - 1)));
        if (n > len - want_done) n = len - want_done;
        mpage_t *m = &t->pg[i];
        if ((cur & (P - 1)) == 0) {
            if (write) m->byte = v;
            else if (buf[want_done] != m->byte)
                FAIL("kernel read %#x at page %u, model %#x", (unsigned long long)t->seed, t->step, buf[want_done], i,
                     m->byte);
        }
        if (write) m->dirty = m->watch; /* WW-012 */
        want_done += n;
    }
    expect(t, "copy", got, want_done == len ? NTMM_STATUS_SUCCESS : NTMM_STATUS_PARTIAL_COPY);
    if (done != want_done) FAIL("copy moved %#zx, model %#zx", (unsigned long long)t->seed, t->step, done, want_done);
}

static void op_watch(rt_t *t)
{
    unsigned first = pick_page(t, is_watched);
    unsigned n = pick_count(t, first, 1 + (unsigned)base_rng_below(&t->r, 24));
    unsigned last = first + n - 1;
    uint32_t flags = base_rng_below(&t->r, 2) ? NTMM_WRITE_WATCH_FLAG_RESET : 0;
    if (base_rng_below(&t->r, 16) == 0) flags |= 0x2;
    uint64_t b = ARENA + (uint64_t)first * P + base_rng_below(&t->r, 2) * 0x10;
    uint64_t s = (uint64_t)n * P - (b & (P - 1));
    bool reset_only = base_rng_below(&t->r, 4) == 0;
    uint64_t out[24], cap = 1 + base_rng_below(&t->r, 24), count = cap;
    uint32_t gran = 0;
    snprintf(t->desc, sizeof t->desc, "%s pages %u..%u flags %#x cap %llu", reset_only ? "reset" : "get", first, last,
             flags, (unsigned long long)cap);
    ntmm_status_t got = reset_only ? ntmm_nt_reset_write_watch(t->p, b, s)
                                   : ntmm_nt_get_write_watch(t->p, flags, b, s, out, &count, &gran);
    bool ok = one_allocation(t, first, last) && t->pg[first].watch && (reset_only || !(flags & ~1u));
    expect(t, reset_only ? "reset watch" : "get watch", got, ok ? NTMM_STATUS_SUCCESS : NTMM_STATUS_INVALID_PARAMETER);
    if (!ok) return;
    if (reset_only) {
        for (unsigned i = first; i <= last; i++) t->pg[i].dirty = false;
        return;
    }
    uint64_t k = 0;
    for (unsigned i = first; i <= last && k < cap; i++) {
        if (!t->pg[i].dirty) continue;
        if (k >= count || out[k] != ARENA + (uint64_t)i * P)
            FAIL("watch entry %llu: %#llx, model page %u", (unsigned long long)t->seed, t->step,
                 (unsigned long long)k, k < count ? (unsigned long long)out[k] : 0ull, i);
        k++;
        if (flags & NTMM_WRITE_WATCH_FLAG_RESET) t->pg[i].dirty = false;
    }
    if (k != count || gran != P)
        FAIL("watch count %llu gran %#x, model %llu", (unsigned long long)t->seed, t->step, (unsigned long long)count,
             gran, (unsigned long long)k);
}

static void op_lock(rt_t *t, bool lock)
{
    unsigned first = pick_page(t, is_committed);
    unsigned n = pick_count(t, first, 1 + (unsigned)base_rng_below(&t->r, 8));
    unsigned last = first + n - 1;
    uint64_t b = ARENA + (uint64_t)first * P, s = (uint64_t)n * P;
    snprintf(t->desc, sizeof t->desc, "pages %u..%u", first, last);
    ntmm_status_t got = lock ? ntmm_nt_lock_virtual_memory(t->p, &b, &s, NTMM_MAP_PROCESS)
                             : ntmm_nt_unlock_virtual_memory(t->p, &b, &s, NTMM_MAP_PROCESS);
    ntmm_status_t want = NTMM_STATUS_SUCCESS;
    for (unsigned i = first; i <= last && want == NTMM_STATUS_SUCCESS; i++)
        want = lock ? kernel_touch(t, i, false) : t->pg[i].locked ? NTMM_STATUS_SUCCESS : NTMM_STATUS_NOT_LOCKED;
    expect(t, lock ? "lock" : "unlock", got, want);
    if (got != NTMM_STATUS_SUCCESS) return;
    for (unsigned i = first; i <= last; i++) t->pg[i].locked = lock;
}

/* The regions a VirtualQuery walk must report over the arena. */
static void compare_walk(rt_t *t)
{
    unsigned i = 0;
    while (i < PAGES) {
        ntmm_memory_basic_information_t mbi;
        uint64_t va = ARENA + (uint64_t)i * P;
        ntmm_status_t st = ntmm_nt_query_virtual_memory(t->p, va + base_rng_below(&t->r, P), &mbi);
        if (st != NTMM_STATUS_SUCCESS) FAIL("query %#x", (unsigned long long)t->seed, t->step, (unsigned)st);
        const mpage_t *m = &t->pg[i];
        unsigned j = i + 1;
        while (j < PAGES && t->pg[j].alloc_base == m->alloc_base && t->pg[j].state == m->state &&
               (m->state != COMMIT || t->pg[j].prot == m->prot))
            j++;
        uint64_t want_size = (uint64_t)(j - i) * P;
        uint64_t got_size = mbi.region_size;
        if (m->state == FREE && j == PAGES && got_size > want_size) got_size = want_size; /* free beyond the arena */
        uint32_t want_state = m->state == FREE ? NTMM_MEM_FREE : m->state == RESERVE ? NTMM_MEM_RESERVE : NTMM_MEM_COMMIT;
        uint32_t want_prot = m->state == FREE ? NTMM_PAGE_NOACCESS : m->state == RESERVE ? 0 : m->prot;
        if (mbi.base_address != va || got_size != want_size || mbi.state != want_state || mbi.protect != want_prot ||
            mbi.allocation_base != m->alloc_base || mbi.allocation_protect != m->alloc_prot ||
            mbi.type != (m->state == FREE ? 0u : NTMM_MEM_PRIVATE))
            fail_msg("seed %llu step %u: page %u: query base %#llx size %#llx state %#x prot %#x ab %#llx ap %#x; "
                     "model size %#llx state %#x prot %#x ab %#llx ap %#x",
                     (unsigned long long)t->seed, t->step, i, (unsigned long long)mbi.base_address,
                     (unsigned long long)mbi.region_size, mbi.state, mbi.protect,
                     (unsigned long long)mbi.allocation_base, mbi.allocation_protect, (unsigned long long)want_size,
                     want_state, want_prot, (unsigned long long)m->alloc_base, m->alloc_prot);
        i = j;
    }
}

static void run(ntmm_paging_mode_t mode, uint64_t seed, unsigned steps)
{
    rt_t *t = calloc(1, sizeof *t);
    assert_non_null(t);
    ntmm_machine_config_t cfg = { .hw = { .ram_bytes = NTMM_MIB(8) }, .paging = mode };
    assert_int_equal(ntmm_machine_create(&cfg, &t->m), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_process_create(t->m, NTMM_LAYOUT_DEFAULT, &t->p), NTMM_STATUS_SUCCESS);
    base_rng_seed(&t->r, seed);
    t->seed = seed;
    for (t->step = 0; t->step < steps; t->step++) {
        switch (base_rng_below(&t->r, 14)) {
        case 0: case 1: op_reserve(t); break;
        case 2: case 3: op_commit(t); break;
        case 4: op_free(t, NTMM_MEM_DECOMMIT, base_rng_below(&t->r, 3) == 0); break;
        case 5: op_free(t, NTMM_MEM_RELEASE, base_rng_below(&t->r, 2) == 0); break;
        case 6: op_protect(t); break;
        case 10: op_copy(t); break;
        case 11: op_watch(t); break;
        case 12: op_lock(t, true); break;
        case 13: op_lock(t, false); break;
        default: op_access(t); break;
        }
        compare_walk(t);
        if (t->step % 64 == 63 && ntmm_process_check(t->p) != NTMM_STATUS_SUCCESS)
            fail_msg("seed %llu step %u: checker: %s", (unsigned long long)seed, t->step,
                     ntmm_bugcheck_name(ntmm_machine_bugcheck(t->m) ? ntmm_machine_bugcheck(t->m)->code : 0));
    }
    assert_int_equal(ntmm_process_check(t->p), NTMM_STATUS_SUCCESS);
    ntmm_memory_stats_t before, after;
    assert_int_equal(ntmm_process_destroy(t->p), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_memory_stats(t->m, &after), NTMM_STATUS_SUCCESS);
    assert_int_equal(after.by_use[NTMM_USE_PROCESS_PRIVATE], 0);
    (void)before;
    ntmm_machine_destroy(t->m);
    free(t);
}

static void test_random_sequences(void **state)
{
    (void)state;
    const char *env = getenv("NTMM_VM_RANDOM_STEPS");
    unsigned steps = env ? (unsigned)strtoul(env, NULL, 0) : 35000u;
    const ntmm_paging_mode_t modes[] = { NTMM_PAGING_X64, NTMM_PAGING_PAE, NTMM_PAGING_X86 };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(modes); i++) run(modes[i], 0x5EED + i, steps);
}

/* The facade's probes of the write-watch, lock and copy services (WW-014's 998 cases, RW-008). */
static void test_facade_probes(void **state)
{
    (void)state;
    ntmm_machine_t *m;
    ntmm_process_t *p;
    ntmm_machine_config_t cfg = { .hw = { .ram_bytes = NTMM_MIB(8) }, .paging = NTMM_PAGING_X64 };
    assert_int_equal(ntmm_machine_create(&cfg, &m), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_process_create(m, NTMM_LAYOUT_DEFAULT, &p), NTMM_STATUS_SUCCESS);
    uint64_t base = 0, size = G, out[4], count = 4;
    uint32_t gran;
    assert_int_equal(ntmm_nt_allocate_virtual_memory(p, &base, 0, &size, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT |
                                                     NTMM_MEM_WRITE_WATCH, NTMM_PAGE_READWRITE), 0);
    assert_int_equal(ntmm_nt_get_write_watch(p, 0, base, G, out, NULL, &gran), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_nt_get_write_watch(p, 0, base, G, out, &count, NULL), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_nt_get_write_watch(p, 0, base, G, NULL, &count, &gran), NTMM_STATUS_ACCESS_VIOLATION);
    count = 0;
    assert_int_equal(ntmm_nt_get_write_watch(p, 0, base, G, NULL, &count, &gran), NTMM_STATUS_INVALID_PARAMETER);
    count = 4;
    assert_int_equal(ntmm_nt_get_write_watch(NULL, 0, base, G, out, &count, &gran), NTMM_STATUS_INVALID_HANDLE);
    assert_int_equal(ntmm_nt_reset_write_watch(NULL, base, G), NTMM_STATUS_INVALID_HANDLE);
    uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, back[8];
    size_t done = 99;
    assert_int_equal(ntmm_nt_write_virtual_memory(p, base + 0x1234, buf, sizeof buf, NULL), 0);
    assert_int_equal(ntmm_nt_read_virtual_memory(p, base + 0x1234, back, sizeof back, &done), 0);
    assert_int_equal(done, sizeof back);
    assert_memory_equal(back, buf, sizeof buf);
    assert_int_equal(ntmm_nt_get_write_watch(p, 0, base, G, out, &count, &gran), 0);
    assert_int_equal(count, 1);
    assert_int_equal(out[0], base + P);
    assert_int_equal(ntmm_nt_read_virtual_memory(p, base, NULL, 4, &done), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(done, 0);
    assert_int_equal(ntmm_nt_write_virtual_memory(p, base, NULL, 4, &done), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_nt_read_virtual_memory(p, 0x1234, back, 4, &done), NTMM_STATUS_PARTIAL_COPY);
    assert_int_equal(ntmm_nt_read_virtual_memory(NULL, base, back, 4, &done), NTMM_STATUS_INVALID_HANDLE);
    uint64_t b = base, s = P;
    assert_int_equal(ntmm_nt_lock_virtual_memory(p, NULL, &s, NTMM_MAP_PROCESS), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_nt_lock_virtual_memory(p, &b, NULL, NTMM_MAP_PROCESS), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(ntmm_nt_lock_virtual_memory(p, &b, &s, NTMM_MAP_SYSTEM), NTMM_STATUS_PRIVILEGE_NOT_HELD);
    assert_int_equal(ntmm_nt_lock_virtual_memory(p, &b, &s, NTMM_MAP_PROCESS), 0);
    assert_int_equal(ntmm_nt_unlock_virtual_memory(p, &b, &s, NTMM_MAP_PROCESS), 0);
    assert_int_equal(ntmm_nt_unlock_virtual_memory(p, &b, &s, NTMM_MAP_PROCESS), NTMM_STATUS_NOT_LOCKED);
    assert_int_equal(ntmm_nt_unlock_virtual_memory(NULL, &b, &s, NTMM_MAP_PROCESS), NTMM_STATUS_INVALID_HANDLE);
    assert_int_equal(ntmm_process_check(p), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_process_destroy(p), NTMM_STATUS_SUCCESS);
    ntmm_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_facade_probes),
        cmocka_unit_test(test_random_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
