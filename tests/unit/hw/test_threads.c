/*
 * test_threads.c - host threads: machines on different threads are independent, and CPUs of
 * one machine on different threads share page tables safely (the MMU's A/D updates are
 * atomic). Built and run under ThreadSanitizer too (make check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <cmocka.h>

#include "base/rng.h"
#include "hwenv.h"

#define PAGES 64u
#define ROUNDS 20000u

typedef struct worker {
    hw_cpu_t *cpu;
    va_t base;          /* PAGES pages of its own */
    uint64_t seed;
    uint64_t checksum;
    bool ok;
} worker_t;

/* Writes then reads back a seeded pattern over its pages, flushing its TLB now and then so
 * the walks (and their A/D updates on shared upper-level entries) keep happening. */
static void *worker_run(void *arg)
{
    worker_t *w = arg;
    base_rng_t r;
    ntmm_fault_t f;
    base_rng_seed(&r, w->seed);
    w->ok = true;
    for (unsigned i = 0; i < ROUNDS && w->ok; i++) {
        va_t va = w->base + base_rng_below(&r, PAGES * NTMM_PAGE_SIZE / 8u) * 8u;
        uint64_t v = va * 0x9E3779B97F4A7C15ull, back = 0;
        w->ok = hw_store64(w->cpu, va, v, &f) && hw_load64(w->cpu, va, &back, &f) && back == v;
        w->checksum += back;
        if (i % 64u == 0) hw_tlb_flush(&w->cpu->tlb, true);
    }
    return NULL;
}

static void map_pages(hwenv_t *e, va_t base, pa_t pa)
{
    for (unsigned p = 0; p < PAGES; p++)
        assert_true(ptb_map(&e->b, base + p * NTMM_PAGE_SIZE, pa + p * NTMM_PAGE_SIZE, NTMM_PAGE_SIZE, HW_PTE_RW));
}

static void test_two_cpus_shared_tables(void **state)
{
    (void)state;
    ntmm_hw_config_t cfg = { .cpu_count = 2 };
    hwenv_t e;
    ntmm_fault_t f;
    assert_true(hwenv_init(&e, NTMM_PAGING_X64, &cfg));
    map_pages(&e, 0x400000, HWENV_DATA);
    map_pages(&e, 0x440000, HWENV_DATA + PAGES * NTMM_PAGE_SIZE); /* same PD and PT as the first */
    assert_true(hw_cpu_enter_paging(&e.m->cpus[1], NTMM_PAGING_X64, e.b.root, &f));
    worker_t w[2] = { { &e.m->cpus[0], 0x400000, 1, 0, false }, { &e.m->cpus[1], 0x440000, 2, 0, false } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    assert_true(w[0].ok && w[1].ok);
    /* every page used was marked accessed and dirty */
    for (unsigned p = 0; p < PAGES; p++) {
        hw_pte_t pte = ptb_read(&e.b, ptb_entry_pa(&e.b, 0x400000 + p * NTMM_PAGE_SIZE, 1));
        assert_int_equal(pte & (HW_PTE_A | HW_PTE_D), HW_PTE_A | HW_PTE_D);
    }
    assert_true(hw_machine_check(e.m));
    hwenv_destroy(&e);
}

typedef struct machine_job {
    uint64_t checksum;
    bool ok;
} machine_job_t;

static void *machine_run(void *arg)
{
    machine_job_t *j = arg;
    hwenv_t e;
    j->ok = hwenv_init(&e, NTMM_PAGING_PAE, NULL);
    if (!j->ok) return NULL;
    for (unsigned p = 0; p < PAGES; p++)
        ptb_map(&e.b, 0x400000 + p * NTMM_PAGE_SIZE, HWENV_DATA + p * NTMM_PAGE_SIZE, NTMM_PAGE_SIZE, HW_PTE_RW);
    worker_t w = { e.cpu, 0x400000, 7, 0, false };
    worker_run(&w);
    j->ok = w.ok && hw_machine_check(e.m);
    j->checksum = w.checksum;
    hwenv_destroy(&e);
    return NULL;
}

/* Two machines on two threads run the same seeded work: same results, no interference. */
static void test_machines_on_threads(void **state)
{
    (void)state;
    machine_job_t j[2] = { { 0, false }, { 0, false } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, machine_run, &j[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    assert_true(j[0].ok && j[1].ok);
    assert_int_equal(j[0].checksum, j[1].checksum);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_cpus_shared_tables),
        cmocka_unit_test(test_machines_on_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
