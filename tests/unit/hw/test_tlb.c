/*
 * test_tlb.c - the TLB behaves as hardware's: stale entries survive page-table changes until
 * INVLPG or a CR3 load, global entries survive CR3 loads, INVLPG anywhere in a large page
 * drops it, each CPU has its own TLB, and the counters count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hwenv.h"

#define VA   0x00400000u
#define PA_A (HWENV_DATA)
#define PA_B (HWENV_DATA + 0x1000u)

static void put(hwenv_t *e, pa_t pa, uint64_t v) { assert_int_equal(hw_phys_write(&e->m->phys, pa, &v, 8), 0); }

static uint64_t get(hwenv_t *e, va_t va)
{
    uint64_t v = 0;
    ntmm_fault_t f;
    assert_true(hw_load64(e->cpu, va, &v, &f));
    return v;
}

static void setup_two_frames(hwenv_t *e, ntmm_paging_mode_t mode, hw_pte_t flags)
{
    assert_true(hwenv_init(e, mode, NULL));
    put(e, PA_A, 0xAAAA);
    put(e, PA_B, 0xBBBB);
    assert_true(ptb_map(&e->b, VA, PA_A, NTMM_PAGE_SIZE, HW_PTE_RW | flags));
}

static void remap(hwenv_t *e, pa_t pa, hw_pte_t flags)
{
    pa_t pte = ptb_entry_pa(&e->b, VA, 1);
    ptb_write(&e->b, pte, pa | HW_PTE_P | HW_PTE_RW | flags);
}

static void test_stale_until_invlpg(void **state)
{
    (void)state;
    const ntmm_paging_mode_t modes[] = { NTMM_PAGING_X86, NTMM_PAGING_PAE, NTMM_PAGING_X64, NTMM_PAGING_X64_LA57 };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(modes); i++) {
        hwenv_t e;
        setup_two_frames(&e, modes[i], 0);
        assert_int_equal(get(&e, VA), 0xAAAA);
        remap(&e, PA_B, 0);
        assert_int_equal(get(&e, VA), 0xAAAA); /* stale: the TLB still maps the old frame */
        hw_tlb_invalidate(&e.cpu->tlb, VA + 0x123);
        assert_int_equal(get(&e, VA), 0xBBBB);
        /* a present -> not-present change is also invisible until invalidated */
        remap(&e, PA_B, 0);
        ptb_write(&e.b, ptb_entry_pa(&e.b, VA, 1), 0);
        assert_int_equal(get(&e, VA), 0xBBBB);
        assert_true(hwenv_reload_cr3(&e));
        uint64_t v;
        ntmm_fault_t f;
        assert_false(hw_load64(e.cpu, VA, &v, &f));
        assert_int_equal(f.vector, NTMM_VEC_PF);
        assert_true(hw_tlb_check(&e.cpu->tlb));
        hwenv_destroy(&e);
    }
}

/* A stale entry can grant more than memory now does (RW dropped), never less: an access the
 * entry does not allow walks again and sees the new rights. */
static void test_stale_rights(void **state)
{
    (void)state;
    hwenv_t e;
    setup_two_frames(&e, NTMM_PAGING_X64, 0);
    ntmm_fault_t f;
    assert_true(hw_store64(e.cpu, VA, 1, &f));
    pa_t pte = ptb_entry_pa(&e.b, VA, 1);
    ptb_write(&e.b, pte, ptb_read(&e.b, pte) & ~HW_PTE_RW);
    assert_true(hw_store64(e.cpu, VA, 2, &f)); /* stale write permission */
    hw_tlb_invalidate(&e.cpu->tlb, VA);
    assert_false(hw_store64(e.cpu, VA, 3, &f));
    assert_int_equal(f.error_code, NTMM_PF_P | NTMM_PF_W);
    /* rights granted later are seen at once: the failed access did not cache a denial */
    ptb_write(&e.b, pte, ptb_read(&e.b, pte) | HW_PTE_RW);
    assert_true(hw_store64(e.cpu, VA, 4, &f));
    hwenv_destroy(&e);
}

static void test_global_pages(void **state)
{
    (void)state;
    hwenv_t e;
    setup_two_frames(&e, NTMM_PAGING_X64, HW_PTE_G);
    assert_true(e.cpu->cr4 & HW_CR4_PGE);
    assert_int_equal(get(&e, VA), 0xAAAA);
    remap(&e, PA_B, HW_PTE_G);
    assert_true(hwenv_reload_cr3(&e));
    assert_int_equal(get(&e, VA), 0xAAAA); /* global: survives the CR3 load */
    /* toggling CR4.PGE flushes global entries too */
    ntmm_fault_t f;
    assert_true(hw_cpu_write_cr4(e.cpu, e.cpu->cr4 & ~HW_CR4_PGE, &f));
    assert_true(hw_cpu_write_cr4(e.cpu, e.cpu->cr4 | HW_CR4_PGE, &f));
    assert_int_equal(get(&e, VA), 0xBBBB);
    /* INVLPG drops a global entry */
    remap(&e, PA_A, HW_PTE_G);
    hw_tlb_invalidate(&e.cpu->tlb, VA);
    assert_int_equal(get(&e, VA), 0xAAAA);
    /* without CR4.PGE the G bit means nothing */
    assert_true(hw_cpu_write_cr4(e.cpu, e.cpu->cr4 & ~HW_CR4_PGE, &f));
    assert_int_equal(get(&e, VA), 0xAAAA);
    remap(&e, PA_B, HW_PTE_G);
    assert_true(hwenv_reload_cr3(&e));
    assert_int_equal(get(&e, VA), 0xBBBB);
    hwenv_destroy(&e);
}

static void test_large_page_invlpg(void **state)
{
    (void)state;
    hwenv_t e;
    assert_true(hwenv_init(&e, NTMM_PAGING_X64, NULL));
    va_t va = NTMM_MIB(64);
    assert_true(ptb_map(&e.b, va, NTMM_MIB(32), NTMM_MIB(2), HW_PTE_RW));
    put(&e, NTMM_MIB(32) + 0x5000, 0x1111);
    put(&e, NTMM_MIB(34) + 0x5000, 0x2222);
    assert_int_equal(get(&e, va + 0x5000), 0x1111);
    assert_int_equal(get(&e, va + 0x1000), 0); /* a second granule cached */
    pa_t pde = ptb_entry_pa(&e.b, va, 2);
    ptb_write(&e.b, pde, (ptb_read(&e.b, pde) & ~NTMM_BITS(51, 21)) | NTMM_MIB(34));
    assert_int_equal(get(&e, va + 0x5000), 0x1111); /* stale */
    hw_tlb_invalidate(&e.cpu->tlb, va + NTMM_MIB(1)); /* another address in the same 2 MiB page */
    assert_int_equal(get(&e, va + 0x5000), 0x2222);
    assert_true(hw_tlb_check(&e.cpu->tlb));
    hwenv_destroy(&e);
}

static void test_counters_and_sets(void **state)
{
    (void)state;
    hwenv_t e;
    setup_two_frames(&e, NTMM_PAGING_X64, HW_PTE_US);
    hw_cpu_stats_t s0 = hw_cpu_stats(e.cpu);
    for (int i = 0; i < 10; i++) (void)get(&e, VA + 8u * (unsigned)i);
    hw_cpu_stats_t s1 = hw_cpu_stats(e.cpu);
    assert_int_equal(s1.tlb_misses - s0.tlb_misses, 1);
#if NTMM_STATS
    assert_int_equal(s1.tlb_hits - s0.tlb_hits, 9);
#endif
    /* the user view has its own entries: the first user access misses */
    hw_cpu_set_cpl(e.cpu, 3);
    (void)get(&e, VA);
    hw_cpu_stats_t s2 = hw_cpu_stats(e.cpu);
    assert_int_equal(s2.tlb_misses - s1.tlb_misses, 1);
    /* a supervisor-only page cached for the kernel is not usable from user mode */
    hw_cpu_set_cpl(e.cpu, 0);
    remap(&e, PA_A, 0);
    hw_tlb_invalidate(&e.cpu->tlb, VA);
    (void)get(&e, VA);
    hw_cpu_set_cpl(e.cpu, 3);
    uint64_t v;
    ntmm_fault_t f;
    assert_false(hw_load64(e.cpu, VA, &v, &f));
    assert_int_equal(f.error_code, NTMM_PF_P | NTMM_PF_U);
    assert_int_equal(hw_cpu_stats(e.cpu).page_faults, 1);
    hwenv_destroy(&e);
}

/* Each CPU has its own TLB: invalidating on one leaves the other stale (a shootdown is the OS's job). */
static void test_per_cpu(void **state)
{
    (void)state;
    ntmm_hw_config_t cfg = { .cpu_count = 2 };
    hwenv_t e;
    assert_true(hwenv_init(&e, NTMM_PAGING_X64, &cfg));
    hw_cpu_t *c1 = &e.m->cpus[1];
    ntmm_fault_t f;
    assert_true(hw_cpu_enter_paging(c1, NTMM_PAGING_X64, e.b.root, &f));
    put(&e, PA_A, 0xAAAA);
    put(&e, PA_B, 0xBBBB);
    assert_true(ptb_map(&e.b, VA, PA_A, NTMM_PAGE_SIZE, HW_PTE_RW));
    uint64_t v;
    assert_true(hw_load64(e.cpu, VA, &v, &f));
    assert_true(hw_load64(c1, VA, &v, &f));
    remap(&e, PA_B, 0);
    hw_tlb_invalidate(&e.cpu->tlb, VA);
    assert_true(hw_load64(e.cpu, VA, &v, &f));
    assert_int_equal(v, 0xBBBB);
    assert_true(hw_load64(c1, VA, &v, &f));
    assert_int_equal(v, 0xAAAA);
    assert_true(hw_machine_check(e.m));
    hwenv_destroy(&e);
}

/* Accesses that cross a page: both pages are translated before anything is written. */
static void test_page_crossing(void **state)
{
    (void)state;
    hwenv_t e;
    assert_true(hwenv_init(&e, NTMM_PAGING_X86, NULL));
    assert_true(ptb_map(&e.b, VA, PA_A, NTMM_PAGE_SIZE, HW_PTE_RW));
    assert_true(ptb_map(&e.b, VA + 0x1000, PA_B, NTMM_PAGE_SIZE, 0)); /* read-only */
    ntmm_fault_t f;
    uint64_t v;
    put(&e, PA_A + 0xFF8, 0x1122334455667788ull);
    put(&e, PA_B, 0x99AABBCCDDEEFF00ull);
    assert_true(hw_load64(e.cpu, VA + 0xFFC, &v, &f));
    assert_int_equal(v, 0xDDEEFF0011223344ull);
    assert_false(hw_store64(e.cpu, VA + 0xFFC, 0, &f)); /* second page read-only */
    assert_int_equal(f.address, VA + 0x1000);
    assert_int_equal(f.error_code, NTMM_PF_P | NTMM_PF_W);
    assert_true(hw_load64(e.cpu, VA + 0xFF8, &v, &f));
    assert_int_equal(v, 0x1122334455667788ull); /* the first page was not written */
    /* bulk: stops at the fault and says how far it got */
    uint8_t buf[0x2000];
    size_t done = 0;
    memset(buf, 0x5A, sizeof buf);
    assert_false(hw_write_linear(e.cpu, VA + 0x800, buf, 0x1000, &done, &f));
    assert_int_equal(done, 0x800);
    assert_int_equal(f.address, VA + 0x1000);
    assert_true(hw_read_linear(e.cpu, VA, buf, 0x2000, &done, &f));
    assert_int_equal(buf[0x800], 0x5A);
    /* 32-bit linear addresses wrap at 4 GiB */
    assert_true(ptb_map(&e.b, 0xFFFFF000u, PA_A, NTMM_PAGE_SIZE, HW_PTE_RW));
    assert_true(ptb_map(&e.b, 0, PA_B, NTMM_PAGE_SIZE, HW_PTE_RW));
    assert_true(hw_load64(e.cpu, 0xFFFFFFFCu, &v, &f));
    assert_int_equal(v, 0xDDEEFF005A5A5A5Aull); /* 0xFFFFFFFC..FF (written above), then 0x0..3 */
    hwenv_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_until_invlpg),
        cmocka_unit_test(test_stale_rights),
        cmocka_unit_test(test_global_pages),
        cmocka_unit_test(test_large_page_invlpg),
        cmocka_unit_test(test_counters_and_sets),
        cmocka_unit_test(test_per_cpu),
        cmocka_unit_test(test_page_crossing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
