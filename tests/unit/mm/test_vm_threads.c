/*
 * test_vm_threads.c - the virtual-memory services and guest accesses from several host
 * threads at once, each owning one CPU of the machine: some threads on processes of their own,
 * some sharing one process. Covers the TLB shootdown model (hw_cpu_post_invalidate,
 * hw_cpu_poll, mm_vm_flush_va): a translation another thread changes stays in a CPU's TLB
 * until that CPU's next access call, which must then see the change.
 *
 *   test_mailbox      the mailbox alone: pages queued once, overflow into a full flush, poll
 *   test_vm_threads   random reserve/commit/protect/decommit/release and accesses on each
 *                     thread's own regions against a per-thread model, while a pair of threads
 *                     on a shared process protects (NOACCESS, READONLY) and decommits a page
 *                     the other one has cached; invariant checkers after every join
 *
 * Threads never call cmocka (not thread-safe): they record their first failure, which the
 * main thread asserts after the join. Run under ThreadSanitizer by make check (label
 * "threads").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <cmocka.h>

#include "base/rng.h"
#include "hw/access.h"
#include "hw/machine.h"
#include "mm/vm.h"

#define P NTMM_PAGE_SIZE
#define STRESS_THREADS 5u   /* CPUs 0-2 share process 0; CPU 3 has process 1, CPU 4 process 2 */
#define PAIR_A 5u           /* CPUs 5 and 6: the cross-CPU pair, on process 0 */
#define PAIR_B 6u
#define CPUS 7u
#define PROCESSES 3u
#define ROUNDS 3u
#define STEPS 1500u
#define PAIR_ROUNDS 150u
#define REGIONS 4u
#define REGION_PAGES 16u

/* ---- the machine ------------------------------------------------------------------------------ */

typedef struct env {
    hw_machine_t *m;
    mm_pfndb_t db;
    mm_system_space_t *sys;
    mm_vm_t vm;
    mm_process_t *proc[PROCESSES];
    ntmm_memory_stats_t before;
} env_t;

static void env_init(env_t *e)
{
    memset(e, 0, sizeof *e);
    ntmm_hw_config_t cfg = { .ram_bytes = NTMM_MIB(64), .cpu_count = CPUS };
    assert_int_equal(hw_machine_create(&cfg, &e->m), NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_pfndb_init(&e->db, e->m, NTMM_FRAMES_NT_LISTS, hw_paging_mode(NTMM_PAGING_X64)->entry_bytes),
                     NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_system_space_create(&e->db, NTMM_PAGING_X64, MM_LAYOUT_X64, &e->sys), NTMM_STATUS_SUCCESS);
    mm_vm_init(&e->vm, &e->db, e->sys);
    mm_pfn_stats(&e->db, &e->before);
    for (unsigned i = 0; i < PROCESSES; i++)
        assert_int_equal(mm_process_create(&e->vm, MM_LAYOUT_X64, &e->proc[i]), NTMM_STATUS_SUCCESS);
}

/* The process CPU `cpu` runs. */
static mm_process_t *env_process_of(env_t *e, unsigned cpu)
{
    return e->proc[cpu == 3 ? 1 : cpu == 4 ? 2 : 0];
}

/* Loads each CPU with its process's address space at CPL 3 (before the threads start: the
 * thread creation hands each CPU over). */
static void env_load_cpus(env_t *e)
{
    for (unsigned c = 0; c < CPUS; c++) {
        ntmm_fault_t f;
        assert_true(mm_aspace_load(env_process_of(e, c)->as, &e->m->cpus[c], &f));
        hw_cpu_set_cpl(&e->m->cpus[c], 3);
    }
}

/* The invariant checkers, at a quiescent point (every thread joined). */
static void env_check(env_t *e)
{
    for (unsigned i = 0; i < PROCESSES; i++) assert_true(mm_process_check(e->proc[i]));
    assert_true(mm_pfn_check(&e->db));
    assert_true(hw_machine_check(e->m));
}

static void env_destroy(env_t *e)
{
    env_check(e);
    for (unsigned c = 0; c < CPUS; c++) {
        ntmm_fault_t f;
        assert_true(hw_cpu_enter_paging(&e->m->cpus[c], NTMM_PAGING_NONE, 0, &f));
    }
    for (unsigned i = 0; i < PROCESSES; i++) assert_int_equal(mm_process_destroy(e->proc[i]), NTMM_STATUS_SUCCESS);
    ntmm_memory_stats_t after;
    mm_pfn_stats(&e->db, &after);
    assert_int_equal(after.active, e->before.active);
    assert_int_equal(after.by_use[NTMM_USE_PROCESS_PRIVATE], 0);
    assert_int_equal(e->vm.commit_total, 0);
    assert_int_equal(mm_system_space_destroy(e->sys), NTMM_STATUS_SUCCESS);
    mm_pfndb_destroy(&e->db);
    hw_machine_destroy(e->m);
}

/* ---- thread failure records ------------------------------------------------------------------ */

typedef struct failure {
    unsigned line;         /* 0: no failure */
    uint64_t a, b;
} failure_t;

#define CHECK(fail, cond, x, y)                                                                       \
    do {                                                                                              \
        if (!(cond)) {                                                                                \
            if (!(fail)->line) *(fail) = (failure_t){ __LINE__, (uint64_t)(x), (uint64_t)(y) };       \
            return NULL;                                                                              \
        }                                                                                             \
    } while (0)

static void assert_no_failure(const char *who, unsigned index, const failure_t *f)
{
    if (f->line) fprintf(stderr, "%s %u failed at line %u (0x%llx, 0x%llx)\n", who, index, f->line,
                         (unsigned long long)f->a, (unsigned long long)f->b);
    assert_int_equal(f->line, 0);
}

/* ---- the stress threads ------------------------------------------------------------------------ */

/* A page of the model: reserved or committed, its protection and the 8 bytes at its start. */
typedef struct mpage {
    bool committed;
    uint32_t prot;
    uint64_t value;
} mpage_t;

typedef struct region {
    va_t base;             /* 0: unused slot */
    unsigned pages;
    mpage_t page[REGION_PAGES];
} region_t;

typedef struct stress {
    env_t *e;
    unsigned cpu;
    mm_process_t *p;
    base_rng_t rng;
    region_t region[REGIONS];
    uint64_t stamp;
    uint64_t reads, violations; /* successful reads checked against the model, refused accesses */
    failure_t fail;
} stress_t;

static const uint32_t prots[] = { NTMM_PAGE_READWRITE, NTMM_PAGE_READONLY, NTMM_PAGE_NOACCESS };

static ntmm_status_t stress_access(stress_t *s, va_t va, uint64_t *v, ntmm_access_t kind, ntmm_exception_record_t *er)
{
    size_t done;
    return mm_access(s->p, &s->e->m->cpus[s->cpu], va, v, sizeof *v, kind, &done, er);
}

/* A run [*first, *first + *n) of region pages all committed (want) or all reserved (!want). */
static bool stress_pick_run(stress_t *s, const region_t *r, bool want, unsigned *first, unsigned *n)
{
    unsigned i = (unsigned)base_rng_below(&s->rng, r->pages);
    if (r->page[i].committed != want) return false;
    unsigned k = 1;
    unsigned limit = 1u + (unsigned)base_rng_below(&s->rng, r->pages);
    while (i + k < r->pages && k < limit && r->page[i + k].committed == want) k++;
    *first = i;
    *n = k;
    return true;
}

static void *stress_step(stress_t *s)
{
    region_t *r = &s->region[base_rng_below(&s->rng, REGIONS)];
    unsigned op = (unsigned)base_rng_below(&s->rng, 10);
    ntmm_exception_record_t er;
    if (!r->base) { /* reserve, sometimes committing too */
        va_t base = 0;
        unsigned pages = 1u + (unsigned)base_rng_below(&s->rng, REGION_PAGES);
        uint64_t size = (uint64_t)pages * P;
        bool commit = base_rng_below(&s->rng, 2) != 0;
        ntmm_status_t st = mm_vm_allocate(s->p, &base, 0, &size,
                                          NTMM_MEM_RESERVE | (commit ? NTMM_MEM_COMMIT : 0u), NTMM_PAGE_READWRITE);
        CHECK(&s->fail, st == NTMM_STATUS_SUCCESS && base && size == (uint64_t)pages * P, st, size);
        r->base = base;
        r->pages = pages;
        for (unsigned i = 0; i < pages; i++) r->page[i] = (mpage_t){ commit, NTMM_PAGE_READWRITE, 0 };
        return NULL;
    }
    unsigned i = 0, n = 0;
    va_t va = r->base;
    uint64_t size = 0;
    ntmm_status_t st;
    switch (op) {
    case 0: /* release the region */
        if (base_rng_below(&s->rng, 3)) return NULL;
        st = mm_vm_free(s->p, &va, &size, NTMM_MEM_RELEASE);
        CHECK(&s->fail, st == NTMM_STATUS_SUCCESS && size == (uint64_t)r->pages * P, st, size);
        r->base = 0;
        return NULL;
    case 1: /* commit reserved pages */
        if (!stress_pick_run(s, r, false, &i, &n)) return NULL;
        va = r->base + (va_t)i * P;
        size = (uint64_t)n * P;
        st = mm_vm_allocate(s->p, &va, 0, &size, NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE);
        CHECK(&s->fail, st == NTMM_STATUS_SUCCESS, st, va);
        for (unsigned k = i; k < i + n; k++) r->page[k] = (mpage_t){ true, NTMM_PAGE_READWRITE, 0 };
        return NULL;
    case 2: /* decommit committed pages: their contents go */
        if (!stress_pick_run(s, r, true, &i, &n)) return NULL;
        va = r->base + (va_t)i * P;
        size = (uint64_t)n * P;
        st = mm_vm_free(s->p, &va, &size, NTMM_MEM_DECOMMIT);
        CHECK(&s->fail, st == NTMM_STATUS_SUCCESS, st, va);
        for (unsigned k = i; k < i + n; k++) r->page[k] = (mpage_t){ false, 0, 0 };
        return NULL;
    case 3:
    case 4: { /* protect committed pages */
        if (!stress_pick_run(s, r, true, &i, &n)) return NULL;
        uint32_t prot = prots[base_rng_below(&s->rng, NTMM_ARRAY_SIZE(prots))];
        uint32_t old = 0;
        va = r->base + (va_t)i * P;
        size = (uint64_t)n * P;
        st = mm_vm_protect(s->p, &va, &size, prot, &old);
        CHECK(&s->fail, st == NTMM_STATUS_SUCCESS && old == r->page[i].prot, st, old);
        for (unsigned k = i; k < i + n; k++) r->page[k].prot = prot;
        return NULL;
    }
    case 5:
    case 6: { /* write a page's first 8 bytes */
        i = (unsigned)base_rng_below(&s->rng, r->pages);
        mpage_t *pg = &r->page[i];
        uint64_t v = ((uint64_t)s->cpu << 56) | ++s->stamp;
        st = stress_access(s, r->base + (va_t)i * P, &v, NTMM_ACCESS_WRITE, &er);
        bool allowed = pg->committed && pg->prot == NTMM_PAGE_READWRITE;
        CHECK(&s->fail, allowed ? st == NTMM_STATUS_SUCCESS : st == NTMM_STATUS_ACCESS_VIOLATION, st, i);
        if (allowed) pg->value = v;
        else s->violations++;
        if (!allowed) CHECK(&s->fail, er.information[0] == NTMM_EXCEPTION_WRITE_FAULT && er.information[1] == r->base + (va_t)i * P,
                   er.information[0], er.information[1]);
        return NULL;
    }
    default: { /* read a page's first 8 bytes back */
        i = (unsigned)base_rng_below(&s->rng, r->pages);
        const mpage_t *pg = &r->page[i];
        uint64_t v = ~(uint64_t)0;
        st = stress_access(s, r->base + (va_t)i * P, &v, NTMM_ACCESS_READ, &er);
        bool allowed = pg->committed && pg->prot != NTMM_PAGE_NOACCESS;
        CHECK(&s->fail, allowed ? st == NTMM_STATUS_SUCCESS : st == NTMM_STATUS_ACCESS_VIOLATION, st, i);
        if (allowed) CHECK(&s->fail, v == pg->value, v, pg->value);
        if (allowed) s->reads++;
        else s->violations++;
        return NULL;
    }
    }
}

static void *stress_run(void *arg)
{
    stress_t *s = arg;
    for (unsigned step = 0; step < STEPS && !s->fail.line; step++) stress_step(s);
    return NULL;
}

/* Releases every region left (main thread, after the joins). */
static void stress_release_all(stress_t *s)
{
    for (unsigned k = 0; k < REGIONS; k++) {
        if (!s->region[k].base) continue;
        va_t va = s->region[k].base;
        uint64_t size = 0;
        assert_int_equal(mm_vm_free(s->p, &va, &size, NTMM_MEM_RELEASE), NTMM_STATUS_SUCCESS);
        s->region[k].base = 0;
    }
}

/* ---- the cross-CPU pair ------------------------------------------------------------------------- */

/*
 * B owns a page and caches it in its TLB; A changes it (NOACCESS, READONLY or decommit) and
 * hands over; B's TLB still holds the old entry (nobody touched it) and B's next access call
 * must see the change; A restores the page and B finds its contents as the change left them.
 */
typedef struct pair {
    env_t *e;
    mm_process_t *p;
    va_t page;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned seq;           /* under mu */
    failure_t fail_a, fail_b;
} pair_t;

static void pair_post(pair_t *pr, unsigned seq)
{
    pthread_mutex_lock(&pr->mu);
    pr->seq = seq;
    pthread_cond_broadcast(&pr->cv);
    pthread_mutex_unlock(&pr->mu);
}

/* Waits until seq reaches `seq`; false if the other side gave up (seq = UINT32_MAX). */
static bool pair_wait(pair_t *pr, unsigned seq)
{
    pthread_mutex_lock(&pr->mu);
    while (pr->seq < seq) pthread_cond_wait(&pr->cv, &pr->mu);
    bool ok = pr->seq != UINT32_MAX;
    pthread_mutex_unlock(&pr->mu);
    return ok;
}

#define PAIR_CHECK(pr, fail, cond, x, y)                                                              \
    do {                                                                                              \
        if (!(cond)) {                                                                                \
            if (!(fail)->line) *(fail) = (failure_t){ __LINE__, (uint64_t)(x), (uint64_t)(y) };       \
            pair_post((pr), UINT32_MAX);                                                              \
            return NULL;                                                                              \
        }                                                                                             \
    } while (0)

static void *pair_a(void *arg)
{
    pair_t *pr = arg;
    for (unsigned r = 0; r < PAIR_ROUNDS; r++) {
        unsigned base = r * 4u;
        if (!pair_wait(pr, base + 1)) return NULL;
        va_t va = pr->page;
        uint64_t size = P;
        uint32_t old = 0;
        ntmm_status_t st;
        switch (r % 3) {
        case 0: st = mm_vm_protect(pr->p, &va, &size, NTMM_PAGE_NOACCESS, &old); break;
        case 1: st = mm_vm_protect(pr->p, &va, &size, NTMM_PAGE_READONLY, &old); break;
        default: st = mm_vm_free(pr->p, &va, &size, NTMM_MEM_DECOMMIT); old = NTMM_PAGE_READWRITE; break;
        }
        PAIR_CHECK(pr, &pr->fail_a, st == NTMM_STATUS_SUCCESS && old == NTMM_PAGE_READWRITE, st, old);
        pair_post(pr, base + 2);
        if (!pair_wait(pr, base + 3)) return NULL;
        va = pr->page;
        size = P;
        if (r % 3 == 2) st = mm_vm_allocate(pr->p, &va, 0, &size, NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE);
        else st = mm_vm_protect(pr->p, &va, &size, NTMM_PAGE_READWRITE, &old);
        PAIR_CHECK(pr, &pr->fail_a, st == NTMM_STATUS_SUCCESS, st, r);
        pair_post(pr, base + 4);
    }
    return NULL;
}

static void *pair_b(void *arg)
{
    pair_t *pr = arg;
    hw_cpu_t *cpu = &pr->e->m->cpus[PAIR_B];
    ntmm_exception_record_t er;
    size_t done;
    for (unsigned r = 0; r < PAIR_ROUNDS; r++) {
        unsigned base = r * 4u;
        uint64_t v = 0xB0B0000000000000ull | r, got = 0;
        /* write, then read: the TLB caches the page with write rights */
        ntmm_status_t st = mm_access(pr->p, cpu, pr->page, &v, sizeof v, NTMM_ACCESS_WRITE, &done, &er);
        PAIR_CHECK(pr, &pr->fail_b, st == NTMM_STATUS_SUCCESS, st, r);
        st = mm_access(pr->p, cpu, pr->page, &got, sizeof got, NTMM_ACCESS_READ, &done, &er);
        PAIR_CHECK(pr, &pr->fail_b, st == NTMM_STATUS_SUCCESS && got == v, st, got);
        pair_post(pr, base + 1);
        if (!pair_wait(pr, base + 2)) return NULL;
        /* A's change is posted, not applied: the old entry is still there (a stale TLB)... */
        PAIR_CHECK(pr, &pr->fail_b, hw_tlb_lookup(cpu, pr->page, NTMM_ACCESS_WRITE, 8) != NULL, r, 0);
        /* ...until this CPU's next access call, which takes the shootdown first */
        uint64_t w = ~v;
        st = mm_access(pr->p, cpu, pr->page, &w, sizeof w, NTMM_ACCESS_WRITE, &done, &er);
        PAIR_CHECK(pr, &pr->fail_b, st == NTMM_STATUS_ACCESS_VIOLATION && er.information[1] == pr->page, st, r);
        st = mm_access(pr->p, cpu, pr->page, &got, sizeof got, NTMM_ACCESS_READ, &done, &er);
        if (r % 3 == 1) PAIR_CHECK(pr, &pr->fail_b, st == NTMM_STATUS_SUCCESS && got == v, st, got);
        else PAIR_CHECK(pr, &pr->fail_b, st == NTMM_STATUS_ACCESS_VIOLATION, st, r);
        pair_post(pr, base + 3);
        if (!pair_wait(pr, base + 4)) return NULL;
        /* restored: the contents kept by a protection change, zero after a decommit */
        st = mm_access(pr->p, cpu, pr->page, &got, sizeof got, NTMM_ACCESS_READ, &done, &er);
        PAIR_CHECK(pr, &pr->fail_b, st == NTMM_STATUS_SUCCESS && got == (r % 3 == 2 ? 0 : v), st, got);
    }
    return NULL;
}

/* ---- tests ---------------------------------------------------------------------------------------- */

static void test_mailbox(void **state)
{
    (void)state;
    hw_machine_t *m;
    ntmm_hw_config_t cfg = { .ram_bytes = NTMM_MIB(4), .cpu_count = 2 };
    assert_int_equal(hw_machine_create(&cfg, &m), NTMM_STATUS_SUCCESS);
    hw_cpu_t *c = &m->cpus[1];
    hw_cpu_post_invalidate(c, 0x12345);
    hw_cpu_post_invalidate(c, 0x12000); /* the same page: queued once */
    hw_cpu_post_invalidate(c, 0x7000);
    assert_int_equal(c->shootdown.count, 2);
    assert_int_equal(c->shootdown.va[0], 0x12000);
    assert_int_equal(m->cpus[0].shootdown.pending, 0);
    hw_cpu_stats_t before = hw_cpu_stats(c);
    hw_cpu_poll(c);
    hw_cpu_stats_t after = hw_cpu_stats(c);
    assert_int_equal(after.tlb_invlpg - before.tlb_invlpg, 2);
    assert_int_equal(c->shootdown.pending, 0);
    assert_int_equal(c->shootdown.count, 0);
    hw_cpu_poll(c); /* nothing pending: nothing done */
    assert_int_equal(hw_cpu_stats(c).tlb_invlpg, after.tlb_invlpg);
    for (uint64_t i = 0; i <= HW_SHOOTDOWN_VAS; i++) hw_cpu_post_invalidate(c, i * P);
    assert_int_equal(c->shootdown.flush_all, 1);
    hw_cpu_poll(c);
    assert_int_equal(hw_cpu_stats(c).tlb_flushes, after.tlb_flushes + 1);
    assert_int_equal(c->shootdown.flush_all, 0);
    hw_cpu_reset(c); /* the mailbox survives a reset untouched */
    hw_cpu_post_invalidate(c, 0x1000);
    assert_int_equal(c->shootdown.count, 1);
    assert_true(hw_machine_check(m));
    hw_machine_destroy(m);
}

static void test_vm_threads(void **state)
{
    (void)state;
    env_t e;
    env_init(&e);
    env_load_cpus(&e);
    stress_t s[STRESS_THREADS];
    memset(s, 0, sizeof s);
    for (unsigned t = 0; t < STRESS_THREADS; t++) {
        s[t].e = &e;
        s[t].cpu = t;
        s[t].p = env_process_of(&e, t);
        base_rng_seed(&s[t].rng, 0x7EAD0000u + t);
    }
    pair_t pr;
    memset(&pr, 0, sizeof pr);
    pr.e = &e;
    pr.p = env_process_of(&e, PAIR_B);
    assert_int_equal(pthread_mutex_init(&pr.mu, NULL), 0);
    assert_int_equal(pthread_cond_init(&pr.cv, NULL), 0);
    uint64_t size = P;
    assert_int_equal(mm_vm_allocate(pr.p, &pr.page, 0, &size, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE),
                     NTMM_STATUS_SUCCESS);
    for (unsigned round = 0; round < ROUNDS; round++) {
        pthread_t th[STRESS_THREADS + 2];
        for (unsigned t = 0; t < STRESS_THREADS; t++)
            assert_int_equal(pthread_create(&th[t], NULL, stress_run, &s[t]), 0);
        pr.seq = 0;
        assert_int_equal(pthread_create(&th[STRESS_THREADS], NULL, pair_a, &pr), 0);
        assert_int_equal(pthread_create(&th[STRESS_THREADS + 1], NULL, pair_b, &pr), 0);
        for (unsigned t = 0; t < STRESS_THREADS + 2; t++) pthread_join(th[t], NULL);
        for (unsigned t = 0; t < STRESS_THREADS; t++) assert_no_failure("stress thread", t, &s[t].fail);
        assert_no_failure("pair thread A", round, &pr.fail_a);
        assert_no_failure("pair thread B", round, &pr.fail_b);
        env_check(&e);
    }
    for (unsigned t = 0; t < STRESS_THREADS; t++) { /* the random mix did reach both outcomes */
        assert_true(s[t].reads > 100);
        assert_true(s[t].violations > 100);
        stress_release_all(&s[t]);
    }
    va_t va = pr.page;
    size = 0;
    assert_int_equal(mm_vm_free(pr.p, &va, &size, NTMM_MEM_RELEASE), NTMM_STATUS_SUCCESS);
    pthread_cond_destroy(&pr.cv);
    pthread_mutex_destroy(&pr.mu);
    env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mailbox),
        cmocka_unit_test(test_vm_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
