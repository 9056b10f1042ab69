/*
 * test_machine.c - the machine object: validators that catch corruption raise a named
 * bugcheck of the simulated machine (never a host crash); the first bugcheck wins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/bugcheck.h"
#include "hwenv.h"

static void test_corrupt_phys_bitmap_bugchecks(void **state)
{
    (void)state;
    hw_machine_t *m;
    assert_int_equal(hw_machine_create(NULL, &m), NTMM_STATUS_SUCCESS);
    assert_true(hw_machine_check(m));
    m->phys.present[0xA0 >> 6] |= NTMM_BIT(0xA0 & 63); /* claim the VGA hole is RAM */
    assert_false(hw_machine_check(m));
    assert_true(base_bugcheck_halted(&m->bugcheck));
    assert_int_equal(m->bugcheck.code, NTMM_BUGCHECK_WHEA_UNCORRECTABLE_ERROR);
    assert_int_equal(m->bugcheck.param[1], 0xA0);
    assert_string_equal(ntmm_bugcheck_name(m->bugcheck.code), "WHEA_UNCORRECTABLE_ERROR");
    assert_non_null(m->bugcheck.where);
    /* a later bugcheck does not overwrite the first */
    assert_int_equal(NTMM_BUGCHECK(&m->bugcheck, NTMM_BUGCHECK_PFN_LIST_CORRUPT, 1, 2, 3, 4),
                     NTMM_STATUS_MACHINE_HALTED);
    assert_int_equal(m->bugcheck.code, NTMM_BUGCHECK_WHEA_UNCORRECTABLE_ERROR);
    hw_machine_destroy(m);
}

static void test_corrupt_tlb_bugchecks(void **state)
{
    (void)state;
    hwenv_t e;
    assert_true(hwenv_init(&e, NTMM_PAGING_X64, NULL));
    assert_true(ptb_map(&e.b, 0x400000, HWENV_DATA, NTMM_PAGE_SIZE, HW_PTE_RW));
    uint64_t v;
    ntmm_fault_t f;
    assert_true(hw_load64(e.cpu, 0x400000, &v, &f));
    assert_true(hw_machine_check(e.m));
    hw_tlb_entry_t *te = &e.cpu->tlb_cur[hw_tlb_index(&e.cpu->tlb, 0x400000)];
    te->tag[NTMM_ACCESS_READ] = 0x500000; /* a tag that does not match the entry's page */
    assert_false(hw_machine_check(e.m));
    assert_int_equal(e.m->bugcheck.param[0], 2);
    hwenv_destroy(&e);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(ntmm_bugcheck_name(NTMM_BUGCHECK_PFN_LIST_CORRUPT), "PFN_LIST_CORRUPT");
    assert_string_equal(ntmm_bugcheck_name(NTMM_BUGCHECK_MEMORY_MANAGEMENT), "MEMORY_MANAGEMENT");
    assert_string_equal(ntmm_bugcheck_name(0x12345), "UNKNOWN");
    assert_int_equal(NTMM_BUGCHECK_PFN_LIST_CORRUPT, 0x4E);
    assert_int_equal((uint32_t)NTMM_STATUS_ACCESS_VIOLATION, 0xC0000005u);
    assert_int_equal((uint32_t)NTMM_STATUS_GUARD_PAGE_VIOLATION, 0x80000001u);
    assert_true(NTMM_NT_ERROR(NTMM_STATUS_ACCESS_VIOLATION));
    assert_true(NTMM_NT_WARNING(NTMM_STATUS_GUARD_PAGE_VIOLATION));
    assert_true(NTMM_NT_SUCCESS(NTMM_STATUS_SUCCESS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corrupt_phys_bitmap_bugchecks),
        cmocka_unit_test(test_corrupt_tlb_bugchecks),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
