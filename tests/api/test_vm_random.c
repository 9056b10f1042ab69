/*
 * test_vm_random.c - a seeded model-based test of the virtual-memory API: random sequences of
 * reserve, commit, decommit, release (whole and partial), protect and user-mode accesses,
 * with valid and invalid arguments, against a simple page-array model of what Windows does.
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
    for (unsigned i = first; i <= last; i++) t->pg[i] = (mpage_t){ FREE, 0, 0, 0, 0 };
    /* what follows in the same allocation becomes an allocation of its own */
    uint64_t nb = ARENA + (uint64_t)(last + 1) * P;
    for (unsigned i = last + 1; i < PAGES && t->pg[i].alloc_base == a; i++) t->pg[i].alloc_base = nb;
}

static void op_reserve(rt_t *t)
{
    uint32_t prot = prots[base_rng_below(&t->r, NTMM_ARRAY_SIZE(prots))];
    bool commit = base_rng_below(&t->r, 2);
    unsigned g = (unsigned)base_rng_below(&t->r, PAGES / 16);
    uint64_t size = (1 + base_rng_below(&t->r, 40)) * P - base_rng_below(&t->r, 2) * 0x123;
    uint64_t base = ARENA + (uint64_t)g * G + base_rng_below(&t->r, 3) * 0x2345;
    uint64_t b = base, s = size;
    uint32_t type = NTMM_MEM_RESERVE | (commit ? NTMM_MEM_COMMIT : 0);
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
        *mp(t, va) = (mpage_t){ commit ? COMMIT : RESERVE, prot, start, prot, 0 };
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
        for (unsigned i = first; i <= last; i++) t->pg[i].state = RESERVE;
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
    for (unsigned i = first; i <= last; i++) t->pg[i].prot = prot;
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
    if (write) m->byte = v;
    else if (back != m->byte) FAIL("read %#x at page %u, model %#x", (unsigned long long)t->seed, t->step, back, i, m->byte);
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
        switch (base_rng_below(&t->r, 10)) {
        case 0: case 1: op_reserve(t); break;
        case 2: case 3: op_commit(t); break;
        case 4: op_free(t, NTMM_MEM_DECOMMIT, base_rng_below(&t->r, 3) == 0); break;
        case 5: op_free(t, NTMM_MEM_RELEASE, base_rng_below(&t->r, 2) == 0); break;
        case 6: op_protect(t); break;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
