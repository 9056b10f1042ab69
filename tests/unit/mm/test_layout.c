/*
 * test_layout.c - the address-space layouts as data: each layout's Windows values (what
 * GetSystemInfo reports as lpMinimumApplicationAddress / lpMaximumApplicationAddress, the
 * 64 KB regions, KUSER_SHARED_DATA, MmSystemRangeStart, PTE_BASE / PDE_BASE), seed 000's table,
 * the shape of every range table (nested or disjoint, the outermost ranges tiling the mode's
 * whole linear address space), range lookup, and the self-map address arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hw/paging.h"
#include "mm/layout.h"

static const ntmm_paging_mode_t all_modes[] = { NTMM_PAGING_X86, NTMM_PAGING_PAE, NTMM_PAGING_X64,
                                                NTMM_PAGING_X64_LA57 };

/* The last linear address of a mode (32-bit modes: 4 GiB - 1; 64-bit: 2^64 - 1). */
static va_t mode_top(ntmm_paging_mode_t mode)
{
    return hw_paging_mode(mode)->va_bits == 32 ? UINT32_MAX : UINT64_MAX;
}

static void expect_common(const mm_layout_t *l)
{
    assert_int_equal(l->page_size, 4096);
    assert_int_equal(l->lowest_user, 0x10000);
    assert_int_equal(l->allocation_granularity, 0x10000);
    assert_int_equal(l->shared_data_user, 0x7FFE0000);
    assert_int_equal(l->user_probe, l->highest_user + 1u); /* the 64 KB no-access region */
}

static void test_windows_32bit(void **state)
{
    (void)state;
    const mm_layout_t *l = mm_layout(MM_LAYOUT_X86);
    assert_non_null(l);
    expect_common(l);
    assert_string_equal(l->name, "x86");
    assert_int_equal(l->pointer_bits, 32);
    assert_int_equal(l->highest_user, 0x7FFEFFFF);
    assert_int_equal(l->user_probe, 0x7FFF0000);
    assert_true(mm_layout_supports(l, NTMM_PAGING_X86));
    assert_true(mm_layout_supports(l, NTMM_PAGING_PAE));
    assert_false(mm_layout_supports(l, NTMM_PAGING_X64));
    assert_false(mm_layout_supports(l, NTMM_PAGING_NONE));
    const mm_layout_paging_t *p = mm_layout_paging(l, NTMM_PAGING_X86);
    assert_int_equal(p->system_start, 0x80000000);
    assert_int_equal(p->pte_base, 0xC0000000);
    assert_int_equal(p->pde_base, 0xC0300000);
    assert_int_equal(p->shared_data_kernel, 0xFFDF0000);
    p = mm_layout_paging(l, NTMM_PAGING_PAE);
    assert_int_equal(p->system_start, 0x80000000);
    assert_int_equal(p->pte_base, 0xC0000000);
    assert_int_equal(p->pde_base, 0xC0600000);
    assert_null(mm_layout_paging(l, NTMM_PAGING_X64));

    l = mm_layout(MM_LAYOUT_X86_3GB);
    expect_common(l);
    assert_int_equal(l->highest_user, 0xBFFEFFFF);
    assert_int_equal(l->user_probe, 0xBFFF0000);
    assert_int_equal(mm_layout_paging(l, NTMM_PAGING_X86)->system_start, 0xC0000000);
    assert_int_equal(mm_layout_paging(l, NTMM_PAGING_PAE)->system_start, 0xC0000000);
    assert_int_equal(mm_layout_paging(l, NTMM_PAGING_PAE)->pte_base, 0xC0000000);
    /* KUSER_SHARED_DATA stays at 0x7FFE0000 in a 3 GB process */
    assert_int_equal(mm_layout_range_at(l, NTMM_PAGING_X86, 0x7FFE0000)->kind, MM_RANGE_SHARED_DATA);
    assert_int_equal(mm_layout_range_at(l, NTMM_PAGING_X86, 0x9FFF0000)->kind, MM_RANGE_USER);
    assert_int_equal(mm_layout_range_at(l, NTMM_PAGING_X86, 0xBFFF0000)->kind, MM_RANGE_NO_ACCESS);
}

static void test_windows_64bit(void **state)
{
    (void)state;
    const mm_layout_t *l = mm_layout(MM_LAYOUT_X64);
    expect_common(l);
    assert_int_equal(l->pointer_bits, 64);
    assert_int_equal(l->highest_user, 0x7FFFFFFEFFFFu);
    assert_int_equal(l->user_probe, 0x7FFFFFFF0000u);
    assert_true(mm_layout_supports(l, NTMM_PAGING_X64));
    assert_true(mm_layout_supports(l, NTMM_PAGING_X64_LA57));
    assert_false(mm_layout_supports(l, NTMM_PAGING_PAE));
    const mm_layout_paging_t *p = mm_layout_paging(l, NTMM_PAGING_X64);
    assert_int_equal(p->system_start, 0xFFFF800000000000u);
    assert_int_equal(p->pte_base, 0xFFFFF68000000000u);
    assert_int_equal(p->pde_base, 0xFFFFF6FB40000000u);
    assert_int_equal(p->shared_data_kernel, 0xFFFFF78000000000u);
    p = mm_layout_paging(l, NTMM_PAGING_X64_LA57);
    assert_int_equal(p->system_start, 0xFF00000000000000u);
    assert_int_equal(p->pte_base, 0xFFED000000000000u); /* PML5 entry 0x1ED, as ptbuild's self-map */

    /* WOW64: 2 GB, or 4 GB large-address-aware, under the 64-bit system space */
    l = mm_layout(MM_LAYOUT_WOW64);
    expect_common(l);
    assert_int_equal(l->pointer_bits, 32);
    assert_int_equal(l->highest_user, 0x7FFEFFFF);
    assert_int_equal(mm_layout_paging(l, NTMM_PAGING_X64)->system_start, 0xFFFF800000000000u);
    assert_int_equal(mm_layout_range_at(l, NTMM_PAGING_X64, 0x80000000)->kind, MM_RANGE_RESERVED);
    l = mm_layout(MM_LAYOUT_WOW64_LAA);
    expect_common(l);
    assert_int_equal(l->highest_user, 0xFFFEFFFF);
    assert_int_equal(l->user_probe, 0xFFFF0000);
    assert_int_equal(mm_layout_range_at(l, NTMM_PAGING_X64, 0xFFFEFFFF)->kind, MM_RANGE_USER);
    assert_int_equal(mm_layout_range_at(l, NTMM_PAGING_X64, 0xFFFF0000)->kind, MM_RANGE_NO_ACCESS);
    assert_int_equal(mm_layout_range_at(l, NTMM_PAGING_X64, 0x100000000u)->kind, MM_RANGE_RESERVED);
    assert_null(mm_layout_paging(l, NTMM_PAGING_X86));
}

/* Seed 000's table, range by range. */
static void test_seed000(void **state)
{
    (void)state;
    const mm_layout_t *l = mm_layout(MM_LAYOUT_SEED000);
    assert_string_equal(l->name, "seed000");
    assert_int_equal(l->modes, MM_LAYOUT_MODE(NTMM_PAGING_X86));
    assert_int_equal(l->lowest_user, 0x00100000);
    assert_int_equal(l->highest_user, 0x7FFFFFFF);
    assert_int_equal(l->user_probe, 0x80000000);
    assert_int_equal(l->page_size, 4096);
    const mm_layout_paging_t *p = mm_layout_paging(l, NTMM_PAGING_X86);
    assert_int_equal(p->system_start, 0x80000000);
    assert_int_equal(p->pte_base, 0xC0000000);
    static const struct {
        va_t va;
        mm_range_kind_t kind;
        va_t first, last;
    } want[] = {
        { 0x00000000, MM_RANGE_NO_ACCESS, 0x00000000, 0x000FFFFF },
        { 0x000FFFFF, MM_RANGE_NO_ACCESS, 0x00000000, 0x000FFFFF },
        { 0x00100000, MM_RANGE_USER, 0x00100000, 0x7FFFFFFF },
        { 0x7FFFFFFF, MM_RANGE_USER, 0x00100000, 0x7FFFFFFF },
        { 0x80000000, MM_RANGE_FREE, 0x80000000, 0x803FFFFF },
        { 0x80400000, MM_RANGE_KERNEL_IMAGE, 0x80400000, 0x80412FFF },
        { 0x80412FFF, MM_RANGE_KERNEL_IMAGE, 0x80400000, 0x80412FFF },
        { 0x80413000, MM_RANGE_KERNEL_STACK, 0x80413000, 0x80417FFF },
        { 0x80418000, MM_RANGE_PHYS_MAP, 0x80418000, 0x80419FFF },
        { 0x8041A000, MM_RANGE_FREE, 0x8041A000, 0xAFFFFFFF },
        { 0xB0000000, MM_RANGE_RESERVED, 0xB0000000, 0xBFFFFFFF },
        { 0xC0000000, MM_RANGE_PAGE_TABLES, 0xC0000000, 0xC03FFFFF },
        { 0xC03FFFFF, MM_RANGE_PAGE_TABLES, 0xC0000000, 0xC03FFFFF },
        { 0xC0400000, MM_RANGE_RESERVED, 0xC0400000, 0xFFFFFFFF },
    };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(want); i++) {
        const mm_layout_range_t *r = mm_layout_range_at(l, NTMM_PAGING_X86, want[i].va);
        assert_non_null(r);
        assert_int_equal(r->kind, want[i].kind);
        assert_int_equal(r->first, want[i].first);
        assert_int_equal(r->last, want[i].last);
    }
    assert_true(mm_layout_is_user(l, 0x00100000, 0x7FF00000));
    assert_false(mm_layout_is_user(l, 0x000FF000, 0x2000));
    assert_false(mm_layout_is_user(l, 0x7FFFF000, 0x2000));
    assert_null(mm_layout_range_at(l, NTMM_PAGING_PAE, 0x1000)); /* a 2-level layout */
}

/*
 * Every layout and mode: ranges sorted with containers first, each pair nested or disjoint; the
 * outermost ranges tile [0, top of the mode]; user space is exactly [lowest, highest]; the
 * self-map window is PTE_BASE .. + window size inside system space, which starts at
 * MmSystemRangeStart and runs to the top; range_at agrees with a brute-force innermost search.
 */
static void test_range_tables(void **state)
{
    (void)state;
    for (unsigned id = 0; id < MM_LAYOUT_COUNT; id++) {
        const mm_layout_t *l = mm_layout((mm_layout_id_t)id);
        assert_non_null(l);
        assert_int_equal(l->id, id);
        assert_int_equal(l->paging_count, (size_t)__builtin_popcount(l->modes));
        for (size_t k = 0; k < NTMM_ARRAY_SIZE(all_modes); k++) {
            ntmm_paging_mode_t mode = all_modes[k];
            if (!mm_layout_supports(l, mode)) continue;
            const mm_layout_paging_t *p = mm_layout_paging(l, mode);
            assert_non_null(p);
            assert_int_equal(p->mode, mode);
            const mm_layout_range_t *r[64];
            size_t n = 0;
            for (size_t i = 0; i < l->range_count; i++)
                if (mm_layout_range_in_mode(&l->ranges[i], mode)) r[n++] = &l->ranges[i];
            assert_true(n > 0 && n < 64);
            /* sorted, nested or disjoint */
            for (size_t i = 0; i < n; i++) {
                assert_true(r[i]->first <= r[i]->last);
                assert_true(r[i]->last <= mode_top(mode));
                if (i) assert_true(r[i - 1]->first <= r[i]->first);
                for (size_t j = i + 1; j < n; j++) {
                    bool disjoint = r[j]->first > r[i]->last;
                    bool nested = r[j]->first >= r[i]->first && r[j]->last <= r[i]->last;
                    assert_true(disjoint || nested);
                }
            }
            /* outermost ranges tile the address space */
            va_t next = 0;
            bool done = false;
            const mm_layout_range_t *outer = NULL;
            for (size_t i = 0; i < n; i++) {
                if (outer && r[i]->last <= outer->last) continue; /* nested */
                assert_false(done);
                assert_int_equal(r[i]->first, next);
                outer = r[i];
                if (r[i]->last == mode_top(mode)) done = true;
                else next = r[i]->last + 1u;
            }
            assert_true(done);
            /* user space, system space, the self-map window */
            const mm_layout_range_t *u = mm_layout_range_at(l, mode, l->lowest_user);
            assert_int_equal(u->kind, MM_RANGE_USER);
            assert_int_equal(u->first, l->lowest_user);
            assert_int_equal(u->last, l->highest_user);
            const mm_layout_range_t *s = NULL;
            for (size_t i = 0; i < n; i++)
                if (r[i]->kind == MM_RANGE_SYSTEM) s = r[i];
            assert_non_null(s);
            assert_int_equal(s->first, p->system_start);
            assert_int_equal(s->last, mode_top(mode));
            const mm_layout_range_t *w = mm_layout_range_at(l, mode, p->pte_base);
            assert_int_equal(w->kind, MM_RANGE_PAGE_TABLES);
            assert_int_equal(w->first, p->pte_base);
            assert_int_equal(w->last, p->pte_base + (mm_layout_window_size(mode) - 1u));
            assert_int_equal(p->pte_base & (mm_layout_window_size(mode) - 1u), 0);
            assert_true(p->pte_base >= p->system_start);
            assert_int_equal(p->pde_base, mm_layout_entry_va(p, mode, p->pte_base, 1));
            assert_true(l->highest_user < p->system_start);
            if (l->shared_data_user) {
                assert_int_equal(mm_layout_range_at(l, mode, l->shared_data_user)->kind, MM_RANGE_SHARED_DATA);
                assert_int_equal(mm_layout_range_at(l, mode, p->shared_data_kernel)->kind, MM_RANGE_SHARED_DATA);
            }
            /* range_at is the innermost match, probed at every range's ends and beyond */
            for (size_t i = 0; i < n; i++) {
                va_t probes[4] = { r[i]->first, r[i]->last, r[i]->first - 1u, r[i]->last + 1u };
                for (unsigned q = 0; q < 4; q++) {
                    va_t va = probes[q];
                    if (va > mode_top(mode)) continue;
                    const mm_layout_range_t *inner = NULL;
                    for (size_t j = 0; j < n; j++)
                        if (r[j]->first <= va && va <= r[j]->last &&
                            (!inner || (r[j]->last - r[j]->first) <= (inner->last - inner->first)))
                            inner = r[j];
                    assert_ptr_equal(mm_layout_range_at(l, mode, va), inner);
                }
            }
        }
        assert_null(mm_layout_range_at(l, NTMM_PAGING_NONE, 0));
    }
    assert_null(mm_layout(MM_LAYOUT_COUNT));
    assert_null(mm_layout_range_at(mm_layout(MM_LAYOUT_X86), NTMM_PAGING_X86, 0x100000000u));
}

/* The self-map arithmetic, against docs/hardware-formats.md's worked examples. */
static void test_self_map_addresses(void **state)
{
    (void)state;
    const mm_layout_paging_t *x86 = mm_layout_paging(mm_layout(MM_LAYOUT_X86), NTMM_PAGING_X86);
    const mm_layout_paging_t *pae = mm_layout_paging(mm_layout(MM_LAYOUT_X86), NTMM_PAGING_PAE);
    const mm_layout_paging_t *x64 = mm_layout_paging(mm_layout(MM_LAYOUT_X64), NTMM_PAGING_X64);
    const mm_layout_paging_t *la57 = mm_layout_paging(mm_layout(MM_LAYOUT_X64), NTMM_PAGING_X64_LA57);
    assert_int_equal(mm_layout_entry_va(x86, NTMM_PAGING_X86, 0x08147258, 1), 0xC002051C);
    assert_int_equal(mm_layout_entry_va(x86, NTMM_PAGING_X86, 0x08147258, 2), 0xC0300080);
    assert_int_equal(mm_layout_entry_va(x86, NTMM_PAGING_X86, 0xC0000000, 2), 0xC0300C00); /* the self-map PDE */
    assert_int_equal(mm_layout_entry_va(pae, NTMM_PAGING_PAE, 0x08147258, 1), 0xC0040A38);
    assert_int_equal(mm_layout_entry_va(pae, NTMM_PAGING_PAE, 0xC0000000, 2), 0xC0603000);
    assert_int_equal(mm_layout_entry_va(pae, NTMM_PAGING_PAE, 0xC0600000, 2), 0xC0603018);
    assert_int_equal(mm_layout_entry_va(x64, NTMM_PAGING_X64, 0x00007FF712345000u, 1), 0xFFFFF6BFFB891A28u);
    assert_int_equal(mm_layout_entry_va(x64, NTMM_PAGING_X64, 0x00007FF712345000u, 2), 0xFFFFF6FB5FFDC488u);
    assert_int_equal(mm_layout_entry_va(x64, NTMM_PAGING_X64, 0, 3), 0xFFFFF6FB7DA00000u); /* PPE_BASE */
    assert_int_equal(mm_layout_entry_va(x64, NTMM_PAGING_X64, 0, 4), 0xFFFFF6FB7DBED000u); /* PXE_BASE */
    assert_int_equal(mm_layout_entry_va(x64, NTMM_PAGING_X64, 0xFFFFF68000000000u, 4), 0xFFFFF6FB7DBEDF68u);
    assert_int_equal(mm_layout_entry_va(la57, NTMM_PAGING_X64_LA57, 0, 2), la57->pde_base);
    assert_int_equal(mm_layout_window_size(NTMM_PAGING_X86), NTMM_MIB(4));
    assert_int_equal(mm_layout_window_size(NTMM_PAGING_PAE), NTMM_MIB(8));
    assert_int_equal(mm_layout_window_size(NTMM_PAGING_X64), NTMM_GIB(512));
    assert_int_equal(mm_layout_window_size(NTMM_PAGING_X64_LA57), NTMM_BIT(48));
    assert_int_equal(mm_layout_window_size(NTMM_PAGING_NONE), 0);
}

static void test_is_user(void **state)
{
    (void)state;
    const mm_layout_t *l = mm_layout(MM_LAYOUT_X86);
    assert_true(mm_layout_is_user(l, 0x10000, 0x1000));
    assert_true(mm_layout_is_user(l, 0x10000, 0x7FFF0000 - 0x10000));
    assert_false(mm_layout_is_user(l, 0x10000, 0x7FFF0000 - 0x10000 + 1));
    assert_false(mm_layout_is_user(l, 0xF000, 0x1000));
    assert_false(mm_layout_is_user(l, 0x10000, 0));
    assert_false(mm_layout_is_user(l, 0x7FFEF000, UINT64_MAX)); /* no wrap-around */
    l = mm_layout(MM_LAYOUT_X64);
    assert_true(mm_layout_is_user(l, 0x7FFFFFFEF000u, 0x1000));
    assert_false(mm_layout_is_user(l, 0x7FFFFFFEF000u, 0x1001));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_32bit),   cmocka_unit_test(test_windows_64bit),
        cmocka_unit_test(test_seed000),         cmocka_unit_test(test_range_tables),
        cmocka_unit_test(test_self_map_addresses), cmocka_unit_test(test_is_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
