/*
 * test_machine_api.c - the public machine facade as an embedder uses it: only <ntmm/ntmm.h>.
 * Page tables are written into guest physical memory by hand, as an OS loader would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <ntmm/ntmm.h>

#define PML4 0x100000u
#define PDPT 0x101000u
#define PD   0x102000u
#define PT   0x103000u
#define DATA 0x200000u

static void put64(ntmm_machine_t *m, uint64_t pa, uint64_t v)
{
    assert_int_equal(ntmm_phys_write(m, pa, &v, 8), NTMM_STATUS_SUCCESS);
}

/* Maps linear 0x400000 -> DATA (user, writable) and 0x401000 -> DATA+0x1000 (supervisor, R/O). */
static ntmm_machine_t *make_x64(void)
{
    ntmm_machine_t *m = NULL;
    assert_int_equal(ntmm_machine_create(NULL, &m), NTMM_STATUS_SUCCESS);
    put64(m, PML4, PDPT | 7);
    put64(m, PDPT, PD | 7);
    put64(m, PD + 2 * 8, PT | 7);
    put64(m, PT + 0 * 8, DATA | 7);
    put64(m, PT + 1 * 8, (DATA + 0x1000) | 1);
    ntmm_fault_t f;
    assert_int_equal(ntmm_cpu_enter_paging(m, 0, NTMM_PAGING_X64, PML4, &f), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_machine_check(m), NTMM_STATUS_SUCCESS);
    return m;
}

static void test_access_and_faults(void **state)
{
    (void)state;
    ntmm_machine_t *m = make_x64();
    char msg[] = "hello, ntmm";
    char back[sizeof msg] = { 0 };
    size_t done = 99;
    ntmm_fault_t f;
    assert_int_equal(ntmm_cpu_access(m, 0, 0x400FF8, msg, sizeof msg, NTMM_ACCESS_WRITE, &done, &f),
                     NTMM_STATUS_ACCESS_VIOLATION); /* crosses into the read-only page */
    assert_int_equal(done, 8);
    assert_int_equal(f.vector, NTMM_VEC_PF);
    assert_int_equal(f.address, 0x401000);
    assert_int_equal(f.error_code, NTMM_PF_P | NTMM_PF_W);
    assert_int_equal(ntmm_cpu_get(m, 0, NTMM_REG_CR2), 0x401000);
    assert_int_equal(ntmm_cpu_access(m, 0, 0x400100, msg, sizeof msg, NTMM_ACCESS_WRITE, &done, &f),
                     NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_phys_read(m, DATA + 0x100, back, sizeof back), NTMM_STATUS_SUCCESS);
    assert_string_equal(back, msg);
    /* user mode: the supervisor page faults with U set */
    assert_int_equal(ntmm_cpu_set(m, 0, NTMM_REG_CPL, 3, &f), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_cpu_access(m, 0, 0x401000, back, 4, NTMM_ACCESS_READ, NULL, &f),
                     NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(f.error_code, NTMM_PF_P | NTMM_PF_U);
    /* !pte view */
    ntmm_pte_walk_t w;
    assert_int_equal(ntmm_cpu_walk(m, 0, 0x400123, &w), NTMM_STATUS_SUCCESS);
    assert_int_equal(w.levels, 4);
    assert_true(w.present);
    assert_int_equal(w.pa, DATA + 0x123);
    assert_int_equal(w.entry_pa[1], PT);
    assert_int_equal(w.entry[4] & ~0x60ull, PDPT | 7); /* A may be set by the accesses above */
    assert_int_equal(ntmm_cpu_walk(m, 0, 0x402000, &w), NTMM_STATUS_SUCCESS);
    assert_false(w.present);
    assert_int_equal(w.stop_level, 1);
    ntmm_cpu_stats_t s;
    assert_int_equal(ntmm_cpu_stats(m, 0, &s), NTMM_STATUS_SUCCESS);
    assert_true(s.tlb_misses >= 2);
    assert_int_equal(s.page_faults, 2);
    ntmm_machine_destroy(m);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    ntmm_machine_t *m = make_x64();
    char b[8];
    ntmm_fault_t f;
    assert_int_equal(ntmm_machine_create(NULL, NULL), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(ntmm_cpu_access(m, 7, 0x400000, b, 8, NTMM_ACCESS_READ, NULL, &f), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(ntmm_cpu_access(m, 0, 0x400000, NULL, 8, NTMM_ACCESS_READ, NULL, &f), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(ntmm_cpu_access(m, 0, 0x400000, b, 8, (ntmm_access_t)9, NULL, &f), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(ntmm_cpu_access(NULL, 0, 0x400000, b, 8, NTMM_ACCESS_READ, NULL, &f), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(ntmm_phys_read(m, 0xA0000, b, 8), NTMM_STATUS_INVALID_ADDRESS);
    assert_int_equal(ntmm_phys_read(m, 0x10000000ull, b, 8), NTMM_STATUS_INVALID_ADDRESS);
    assert_int_equal(ntmm_cpu_set(m, 0, NTMM_REG_CR3, 1ull << 62, &f), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(f.vector, NTMM_VEC_GP);
    assert_int_equal(ntmm_cpu_set(m, 0, NTMM_REG_CPL, 4, &f), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(ntmm_cpu_set(m, 0, (ntmm_cpu_reg_t)99, 0, &f), NTMM_STATUS_INVALID_PARAMETER);
    /* a table beyond RAM: the access reports the machine check as an in-page error */
    put64(m, PD + 3 * 8, (0x40000000ull) | 7);
    assert_int_equal(ntmm_cpu_access(m, 0, 0x600000, b, 8, NTMM_ACCESS_READ, NULL, &f), NTMM_STATUS_IN_PAGE_ERROR);
    assert_int_equal(f.vector, NTMM_VEC_MC);
    assert_null(ntmm_machine_bugcheck(m));
    const ntmm_mem_range_t *map;
    assert_int_equal(ntmm_machine_memory_map(m, &map), 3);
    assert_int_equal(map[1].type, NTMM_MEM_RESERVED);
    assert_string_equal(ntmm_status_name(NTMM_STATUS_ACCESS_VIOLATION), "STATUS_ACCESS_VIOLATION");
    assert_null(ntmm_status_name(NTMM_STATUS_(0xC0DE0001u)));
    ntmm_machine_destroy(m);
    ntmm_machine_destroy(NULL);
}

/* Two machines in one process: the same physical and linear addresses, different bytes. */
static void test_two_machines(void **state)
{
    (void)state;
    ntmm_machine_t *a = make_x64(), *b = make_x64();
    uint64_t va = 0xA, vb = 0xB, r = 0;
    ntmm_fault_t f;
    assert_int_equal(ntmm_cpu_access(a, 0, 0x400000, &va, 8, NTMM_ACCESS_WRITE, NULL, &f), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_cpu_access(b, 0, 0x400000, &vb, 8, NTMM_ACCESS_WRITE, NULL, &f), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_cpu_access(a, 0, 0x400000, &r, 8, NTMM_ACCESS_READ, NULL, &f), NTMM_STATUS_SUCCESS);
    assert_int_equal(r, 0xA);
    ntmm_cpu_invlpg(a, 0, 0x400000);
    ntmm_cpu_flush_tlb(b, 0);
    assert_int_equal(ntmm_cpu_access(b, 0, 0x400000, &r, 8, NTMM_ACCESS_READ, NULL, &f), NTMM_STATUS_SUCCESS);
    assert_int_equal(r, 0xB);
    ntmm_machine_destroy(a);
    ntmm_machine_destroy(b);
}

/* Segmentation through the public API, paging off (linear = physical): the GDT at 0x80000. */
static void test_logical_access(void **state)
{
    (void)state;
    ntmm_machine_t *m = NULL;
    ntmm_fault_t f;
    assert_int_equal(ntmm_machine_create(NULL, &m), NTMM_STATUS_SUCCESS);
    /* GDT entry 4 (selector 0x21: index 4, RPL 1): present data RW, DPL 1, base 0x11111
     * (in RAM, unlike seed 001's 0x11111111), byte-granular limit 0xFFF */
    uint32_t base = 0x00011111, limit = 0xFFF;
    uint64_t desc = (uint64_t)(limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) | ((uint64_t)0xB2 << 40) |
           ((uint64_t)((limit >> 16) & 0xF) << 48) | ((uint64_t)0x4 << 52) | ((uint64_t)(base >> 24) << 56);
    put64(m, 0x80000 + 4 * 8, desc);
    assert_int_equal(ntmm_cpu_load_gdt(m, 0, 0x80000, 5 * 8 - 1, &f), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_cpu_load_segment(m, 0, NTMM_SEG_DS, 0x21, &f), NTMM_STATUS_SUCCESS);
    uint32_t v = 0xC0FFEE, r = 0;
    assert_int_equal(ntmm_phys_write(m, 0x11111 + 0x10, &v, 4), NTMM_STATUS_SUCCESS);
    assert_int_equal(ntmm_cpu_access_logical(m, 0, NTMM_SEG_DS, 0x10, &r, 4, NTMM_ACCESS_READ, NULL, &f),
                     NTMM_STATUS_SUCCESS);
    assert_int_equal(r, v);
    size_t done = 7;
    assert_int_equal(ntmm_cpu_access_logical(m, 0, NTMM_SEG_DS, 0xFFE, &r, 4, NTMM_ACCESS_READ, &done, &f),
                     NTMM_STATUS_ACCESS_VIOLATION); /* past the limit: nothing moves */
    assert_int_equal(f.vector, NTMM_VEC_GP);
    assert_int_equal(done, 0);
    assert_int_equal(ntmm_cpu_load_segment(m, 0, NTMM_SEG_DS, 0x29, &f), NTMM_STATUS_ACCESS_VIOLATION);
    assert_int_equal(f.vector, NTMM_VEC_GP); /* index 5 is past the GDT limit */
    assert_int_equal(f.error_code, 0x28);
    assert_int_equal(ntmm_cpu_load_ldt(m, 0, 0x20, &f), NTMM_STATUS_ACCESS_VIOLATION); /* not an LDT */
    assert_int_equal(ntmm_machine_check(m), NTMM_STATUS_SUCCESS);
    ntmm_machine_destroy(m);
}

/* The memory manager's view of physical memory through the public API, for each allocator. */
static void test_memory_stats(void **state)
{
    (void)state;
    const ntmm_frame_allocator_t kinds[] = { NTMM_FRAMES_NT_LISTS, NTMM_FRAMES_BITMAP, NTMM_FRAMES_BUDDY };
    const char *names[] = { "nt-lists", "bitmap", "buddy" };
    for (size_t k = 0; k < 3; k++) {
        ntmm_machine_config_t cfg = { .hw = { .ram_bytes = 64u << 20 }, .frames = kinds[k] };
        ntmm_machine_t *m = NULL;
        assert_int_equal(ntmm_machine_create(&cfg, &m), NTMM_STATUS_SUCCESS);
        ntmm_memory_stats_t s;
        assert_int_equal(ntmm_memory_stats(m, &s), NTMM_STATUS_SUCCESS);
        assert_string_equal(s.allocator, names[k]);
        /* 64 MiB less the PC hole (97 frames); page 0 is kept as firmware */
        assert_int_equal(s.ram_frames, (64u << 8) - 97u);
        assert_int_equal(s.zeroed, s.ram_frames - 1);
        assert_int_equal(s.by_use[NTMM_USE_FIRMWARE], 1);
        assert_int_equal(s.by_use[NTMM_USE_UNUSED], s.ram_frames - 1);
        assert_int_equal(s.largest_free_run, (64u << 8) - 256u); /* from 1 MiB to the end */
        assert_int_equal(ntmm_zero_step(m, 100), 0);               /* nothing dirty yet */
        assert_int_equal(ntmm_machine_check(m), NTMM_STATUS_SUCCESS);
        assert_string_equal(ntmm_page_use_name(NTMM_USE_PROCESS_PRIVATE), "Process Private");
        ntmm_machine_destroy(m);
    }
    ntmm_machine_config_t bad = { .frames = (ntmm_frame_allocator_t)9 };
    ntmm_machine_t *m = NULL;
    assert_int_equal(ntmm_machine_create(&bad, &m), NTMM_STATUS_INVALID_PARAMETER);
    assert_null(m);
    ntmm_machine_config_t bad_mode = { .paging = (ntmm_paging_mode_t)7 };
    assert_int_equal(ntmm_machine_create(&bad_mode, &m), NTMM_STATUS_INVALID_PARAMETER);
    assert_int_equal(ntmm_memory_stats(NULL, NULL), NTMM_STATUS_INVALID_PARAMETER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access_and_faults),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_two_machines),
        cmocka_unit_test(test_logical_access),
        cmocka_unit_test(test_memory_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
