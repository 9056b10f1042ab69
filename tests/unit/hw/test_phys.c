/* test_phys.c - physical memory: the memory map, bounds checks, lazy backing, isolation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hw/machine.h"

static hw_machine_t *make(const ntmm_hw_config_t *cfg)
{
    hw_machine_t *m = NULL;
    assert_int_equal(hw_machine_create(cfg, &m), NTMM_STATUS_SUCCESS);
    assert_true(hw_machine_check(m));
    return m;
}

static void test_default_map(void **state)
{
    (void)state;
    hw_machine_t *m = make(NULL);
    assert_int_equal(m->phys.size, NTMM_MIB(256));
    assert_int_equal(m->phys.map_count, 3);
    assert_int_equal(hw_phys_type(&m->phys, 0x1000), NTMM_MEM_USABLE);
    assert_int_equal(hw_phys_type(&m->phys, 0xA0000), NTMM_MEM_RESERVED);
    assert_int_equal(hw_phys_type(&m->phys, 0x100000), NTMM_MEM_USABLE);
    assert_int_equal(m->phys.ram_bytes, NTMM_MIB(256) - (0x100000 - 0x9F000));
    uint8_t b[4] = { 1, 2, 3, 4 }, r[4] = { 0 };
    assert_int_equal(hw_phys_write(&m->phys, 0x1000, b, 4), NTMM_STATUS_SUCCESS);
    assert_int_equal(hw_phys_read(&m->phys, 0x1000, r, 4), NTMM_STATUS_SUCCESS);
    assert_memory_equal(b, r, 4);
    /* the VGA hole, the last byte, beyond RAM, a range that straddles the hole, wrap-around */
    assert_int_equal(hw_phys_read(&m->phys, 0xB8000, r, 1), NTMM_STATUS_INVALID_ADDRESS);
    assert_int_equal(hw_phys_read(&m->phys, NTMM_MIB(256) - 1, r, 1), NTMM_STATUS_SUCCESS);
    assert_int_equal(hw_phys_read(&m->phys, NTMM_MIB(256) - 1, r, 2), NTMM_STATUS_INVALID_ADDRESS);
    assert_int_equal(hw_phys_read(&m->phys, NTMM_MIB(256), r, 1), NTMM_STATUS_INVALID_ADDRESS);
    assert_int_equal(hw_phys_read(&m->phys, 0x9EFFE, r, 4), NTMM_STATUS_INVALID_ADDRESS);
    assert_int_equal(hw_phys_read(&m->phys, UINT64_MAX - 1, r, 4), NTMM_STATUS_INVALID_PARAMETER);
    hw_machine_destroy(m);
}

static void test_custom_map_normalised(void **state)
{
    (void)state;
    /* unaligned RAM shrinks inward, reserved grows outward, reserved wins an overlap */
    const ntmm_mem_range_t map[] = {
        { 0x100000, 0x7F00000, NTMM_MEM_USABLE },
        { 0x0, 0x9FC00, NTMM_MEM_USABLE },
        { 0x500800, 0x100, NTMM_MEM_RESERVED },
        { 0x7000000, 0x10000, NTMM_MEM_ACPI_NVS },
        { 0x2000000, 0x4000, NTMM_MEM_BAD },
    };
    ntmm_hw_config_t cfg = { .mem_map = map, .mem_map_count = 5 };
    hw_machine_t *m = make(&cfg);
    assert_int_equal(m->phys.size, 0x8000000);
    assert_true(hw_phys_frame_present(&m->phys, 0x9E));
    assert_false(hw_phys_frame_present(&m->phys, 0x9F));      /* 0x9F000-0x9FC00 is a partial page */
    assert_false(hw_phys_frame_present(&m->phys, 0x500));     /* reserved rounded out to the page */
    assert_true(hw_phys_frame_present(&m->phys, 0x501));
    assert_false(hw_phys_frame_present(&m->phys, 0x2000));    /* bad */
    assert_true(hw_phys_frame_present(&m->phys, 0x7000));     /* ACPI NVS is RAM */
    assert_int_equal(hw_phys_type(&m->phys, 0x500900), NTMM_MEM_RESERVED);
    assert_int_equal(hw_phys_type(&m->phys, 0x8000000), NTMM_MEM_RESERVED); /* beyond: nothing */
    hw_machine_destroy(m);
}

static void test_bad_configs(void **state)
{
    (void)state;
    hw_machine_t *m = (hw_machine_t *)1;
    const ntmm_mem_range_t none[] = { { 0, 0x100000, NTMM_MEM_RESERVED } };
    const ntmm_mem_range_t huge[] = { { 0, NTMM_BIT(40), NTMM_MEM_USABLE } };
    const ntmm_mem_range_t wrap[] = { { UINT64_MAX - 0xFFF, 0x2000, NTMM_MEM_USABLE } };
    ntmm_hw_config_t c1 = { .mem_map = none, .mem_map_count = 1 };
    ntmm_hw_config_t c2 = { .mem_map = huge, .mem_map_count = 1, .phys_addr_bits = 36 };
    ntmm_hw_config_t c3 = { .mem_map = wrap, .mem_map_count = 1 };
    ntmm_hw_config_t c4 = { .tlb_entries = 1000 };
    ntmm_hw_config_t c5 = { .phys_addr_bits = 60 };
    ntmm_hw_config_t c6 = { .ram_bytes = 100 };
    assert_int_equal(hw_machine_create(&c1, &m), NTMM_STATUS_INVALID_PARAMETER);
    assert_null(m);
    assert_int_equal(hw_machine_create(&c2, &m), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(hw_machine_create(&c3, &m), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(hw_machine_create(&c4, &m), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(hw_machine_create(&c5, &m), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(hw_machine_create(&c6, &m), NTMM_STATUS_INVALID_PARAMETER);
}

/* 64 GiB of guest RAM: created instantly, and only what is touched costs host memory. */
static void test_64gib_lazy(void **state)
{
    (void)state;
    ntmm_hw_config_t cfg = { .ram_bytes = NTMM_GIB(64) };
    hw_machine_t *m = make(&cfg);
    assert_int_equal(m->phys.size, NTMM_GIB(64));
    assert_true(m->phys_bits >= 36);
    uint64_t v = 0x1122334455667788ull, r = 0;
    assert_int_equal(hw_phys_write(&m->phys, NTMM_GIB(64) - 8, &v, 8), NTMM_STATUS_SUCCESS);
    assert_int_equal(hw_phys_read(&m->phys, NTMM_GIB(64) - 8, &r, 8), NTMM_STATUS_SUCCESS);
    assert_int_equal(r, v);
    assert_int_equal(hw_phys_read(&m->phys, NTMM_GIB(40), &r, 8), NTMM_STATUS_SUCCESS);
    assert_int_equal(r, 0);
    hw_machine_destroy(m);
}

/* Two machines in one process share nothing. */
static void test_two_machines(void **state)
{
    (void)state;
    hw_machine_t *a = make(NULL), *b = make(NULL);
    uint32_t x = 0xAAAAAAAA, y = 0xBBBBBBBB, r = 0;
    hw_phys_write(&a->phys, 0x200000, &x, 4);
    hw_phys_write(&b->phys, 0x200000, &y, 4);
    hw_phys_read(&a->phys, 0x200000, &r, 4);
    assert_int_equal(r, x);
    hw_phys_read(&b->phys, 0x200000, &r, 4);
    assert_int_equal(r, y);
    hw_machine_destroy(a);
    hw_machine_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_map),
        cmocka_unit_test(test_custom_map_normalised),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_64gib_lazy),
        cmocka_unit_test(test_two_machines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
