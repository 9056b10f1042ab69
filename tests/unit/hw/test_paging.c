/*
 * test_paging.c - the paging rules of Intel SDM vol. 3A ch. 4, table-driven in every mode:
 * translations of each page size, present/reserved/rights checks with their error codes,
 * Accessed and Dirty, control-register validation, and the recursive self-maps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hwenv.h"

static const ntmm_paging_mode_t all_modes[] = { NTMM_PAGING_X86, NTMM_PAGING_PAE, NTMM_PAGING_X64,
                                                NTMM_PAGING_X64_LA57 };

static void env(hwenv_t *e, ntmm_paging_mode_t mode)
{
    assert_true(hwenv_init(e, mode, NULL));
    assert_true(hw_machine_check(e->m));
}

/* The seed-001 splits and the index layout of each mode. */
static void test_linear_address_split(void **state)
{
    (void)state;
    const hw_paging_mode_t *x86 = hw_paging_mode(NTMM_PAGING_X86);
    assert_int_equal(hw_paging_index(x86, 0x08147258, 2), 0x20);
    assert_int_equal(hw_paging_index(x86, 0x08147258, 1), 0x147);
    assert_int_equal(0x08147258 & NTMM_PAGE_MASK, 0x258);
    assert_int_equal(hw_paging_index(x86, 0x2A8E317F, 2), 0x0AA);
    assert_int_equal(hw_paging_index(x86, 0x2A8E317F, 1), 0x0E3);
    assert_int_equal(0x2A8E317F & NTMM_PAGE_MASK, 0x17F);
    const hw_paging_mode_t *pae = hw_paging_mode(NTMM_PAGING_PAE);
    assert_int_equal(hw_paging_index(pae, 0xC0601234, 3), 3);
    assert_int_equal(hw_paging_index(pae, 0xC0601234, 2), 3);
    assert_int_equal(hw_paging_index(pae, 0xC0601234, 1), 1);
    const hw_paging_mode_t *x64 = hw_paging_mode(NTMM_PAGING_X64);
    assert_int_equal(hw_paging_index(x64, 0xFFFFF68000000000ull, 4), 0x1ED);
    assert_true(hw_paging_canonical(x64, 0x00007FFFFFFFFFFFull));
    assert_false(hw_paging_canonical(x64, 0x0000800000000000ull));
    assert_true(hw_paging_canonical(x64, 0xFFFF800000000000ull));
    const hw_paging_mode_t *la57 = hw_paging_mode(NTMM_PAGING_X64_LA57);
    assert_true(hw_paging_canonical(la57, 0x00FFFFFFFFFFFFFFull));
    assert_false(hw_paging_canonical(la57, 0x0100000000000000ull));
    assert_null(hw_paging_mode(NTMM_PAGING_NONE));
}

/* 4 KiB and every large page size of each mode translate, with the offset carried through. */
static void test_page_sizes(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(all_modes); i++) {
        hwenv_t e;
        env(&e, all_modes[i]);
        const hw_paging_mode_t *md = e.b.mode;
        for (unsigned l = 1; l <= md->levels; l++) {
            if (l > 1 && !(md->large_levels & (1u << l))) continue;
            uint64_t size = hw_paging_level_size(md, l);
            va_t va = size * 3u; /* a 1 GiB page maps beyond RAM: only its walk is checked */
            pa_t pa = size >= NTMM_GIB(1) ? 0 : ntmm_align_up(HWENV_DATA, size);
            assert_true(ptb_map(&e.b, va, pa, size, HW_PTE_RW));
            hw_walk_t w;
            ntmm_fault_t f;
            va_t probe = va + size / 2u + 0x123u;
            assert_true(hw_walk(&e.cpu->paging, probe, NTMM_ACCESS_READ, &w, &f));
            assert_int_equal(w.page_size, size);
            assert_int_equal(w.leaf_level, l);
            assert_int_equal(w.pa, pa + size / 2u + 0x123u);
            if (size < NTMM_GIB(1)) {
                uint64_t v = 0x0102030405060708ull, r = 0;
                assert_int_equal(hw_phys_write(&e.m->phys, w.pa, &v, 8), NTMM_STATUS_SUCCESS);
                assert_true(hw_load64(e.cpu, probe, &r, &f));
                assert_int_equal(r, v);
            }
        }
        assert_true(hw_machine_check(e.m));
        hwenv_destroy(&e);
    }
}

/* One rights case: flags of the leaf and of the level above, CPU state, access, outcome. */
typedef struct rights_case {
    const char *name;
    hw_pte_t leaf;      /* leaf flags besides P (P is cleared when NOT_PRESENT is in `upper`) */
    hw_pte_t upper;     /* AND mask applied to the table entry above the leaf */
    unsigned acc;       /* kind | HW_ACC_USER | HW_ACC_IMPLICIT | HW_ACC_AC */
    bool wp, nxe, smep, smap;
    int expect;         /* -1: success; otherwise the #PF error code */
} rights_case_t;

#define NP ((hw_pte_t)1) /* in `leaf`: make the leaf not present */
#define ALL (~(hw_pte_t)0)
#define U HW_ACC_USER
#define R NTMM_ACCESS_READ
#define W NTMM_ACCESS_WRITE
#define X NTMM_ACCESS_EXECUTE
#define RW_ HW_PTE_RW
#define US_ HW_PTE_US

static const rights_case_t rights_cases[] = {
    { "user read user page", US_, ALL, R | U, true, true, false, false, -1 },
    { "not present read", NP, ALL, R, true, true, false, false, 0 },
    { "not present user write", NP, ALL, W | U, true, true, false, false, NTMM_PF_W | NTMM_PF_U },
    { "not present fetch reports I with NXE", NP, ALL, X, true, true, false, false, NTMM_PF_I },
    { "user read of supervisor page", RW_, ALL, R | U, true, true, false, false, NTMM_PF_P | NTMM_PF_U },
    { "user write of read-only page", US_, ALL, W | U, true, true, false, false,
      NTMM_PF_P | NTMM_PF_W | NTMM_PF_U },
    { "user write, leaf RW but upper R/O", RW_ | US_, ~HW_PTE_RW, W | U, true, true, false, false,
      NTMM_PF_P | NTMM_PF_W | NTMM_PF_U },
    { "user read, leaf U but upper S", RW_ | US_, ~HW_PTE_US, R | U, true, true, false, false,
      NTMM_PF_P | NTMM_PF_U },
    { "supervisor write of R/O page, WP=1", 0, ALL, W, true, true, false, false, NTMM_PF_P | NTMM_PF_W },
    { "supervisor write of R/O page, WP=0", 0, ALL, W, false, true, false, false, -1 },
    { "supervisor write of R/O user page, WP=0", US_, ALL, W, false, true, false, false, -1 },
    { "fetch of XD page", RW_ | HW_PTE_XD, ALL, X, true, true, false, false, NTMM_PF_P | NTMM_PF_I },
    { "read of XD page", RW_ | HW_PTE_XD, ALL, R, true, true, false, false, -1 },
    { "XD at the upper level", RW_ | US_, ALL, X | U, true, true, false, false, -1 },
    { "SMEP: supervisor fetch of user page", US_, ALL, X, true, true, true, false, NTMM_PF_P | NTMM_PF_I },
    { "SMEP off: supervisor fetch of user page", US_, ALL, X, true, true, false, false, -1 },
    { "SMAP: supervisor read of user page", US_, ALL, R, true, true, false, true, NTMM_PF_P },
    { "SMAP: supervisor write of user page", US_ | RW_, ALL, W, true, true, false, true, NTMM_PF_P | NTMM_PF_W },
    { "SMAP with AC: supervisor read of user page", US_, ALL, R | HW_ACC_AC, true, true, false, true, -1 },
    { "SMAP: implicit access ignores AC", US_, ALL, R | HW_ACC_AC | HW_ACC_IMPLICIT, true, true, false, true,
      NTMM_PF_P },
    { "SMAP: supervisor read of supervisor page", RW_, ALL, R, true, true, false, true, -1 },
    { "reserved: XD set while NXE=0", RW_ | HW_PTE_XD, ALL, R, true, false, false, false,
      NTMM_PF_P | NTMM_PF_RSVD },
};

static void test_rights(void **state)
{
    (void)state;
    for (size_t mi = 0; mi < NTMM_ARRAY_SIZE(all_modes); mi++) {
        for (size_t i = 0; i < NTMM_ARRAY_SIZE(rights_cases); i++) {
            const rights_case_t *c = &rights_cases[i];
            bool xd_case = (c->leaf & HW_PTE_XD) || (c->acc & HW_ACC_KIND) == X;
            if (all_modes[mi] == NTMM_PAGING_X86 && (c->leaf & HW_PTE_XD)) continue; /* no XD bit */
            hwenv_t e;
            env(&e, all_modes[mi]);
            va_t va = 0x00400000u + 0x5000u;
            hw_pte_t leaf = (c->leaf & ~NP) | HW_PTE_P;
            assert_true(ptb_map(&e.b, va, HWENV_DATA, NTMM_PAGE_SIZE, leaf));
            pa_t pte = ptb_entry_pa(&e.b, va, 1);
            if (c->leaf & NP) ptb_write(&e.b, pte, ptb_read(&e.b, pte) & ~HW_PTE_P);
            pa_t pde = ptb_entry_pa(&e.b, va, 2);
            ptb_write(&e.b, pde, ptb_read(&e.b, pde) & c->upper);
            if (i == 13 && e.b.mode->entry_bytes == 8) /* XD at the level above, fetch must fail */
                ptb_write(&e.b, pde, ptb_read(&e.b, pde) | HW_PTE_XD);
            ntmm_fault_t f;
            uint64_t cr0 = c->wp ? e.cpu->cr0 | HW_CR0_WP : e.cpu->cr0 & ~HW_CR0_WP;
            uint64_t cr4 = e.cpu->cr4 | (c->smep ? HW_CR4_SMEP : 0) | (c->smap ? HW_CR4_SMAP : 0);
            uint64_t efer = c->nxe ? e.cpu->efer | HW_EFER_NXE : e.cpu->efer & ~HW_EFER_NXE;
            assert_true(hw_cpu_write_cr0(e.cpu, cr0, &f));
            assert_true(hw_cpu_write_cr4(e.cpu, cr4, &f));
            if (e.b.mode->entry_bytes == 8) assert_true(hw_cpu_write_efer(e.cpu, efer, &f));
            int expect = c->expect;
            if (i == 13) expect = e.b.mode->entry_bytes == 8 ? (int)(NTMM_PF_P | NTMM_PF_U | NTMM_PF_I) : -1;
            /* 32-bit paging has no NXE: the I/D bit is reported only with SMEP there. */
            if (e.b.mode->entry_bytes == 4 && expect > 0 && !c->smep) expect &= ~NTMM_PF_I;
            (void)xd_case;
            hw_walk_t w;
            bool ok = hw_walk(&e.cpu->paging, va + 8, c->acc, &w, &f);
            if (expect < 0) {
                if (!ok) fail_msg("%s [%s]: unexpected fault vector %u code %#x", c->name, e.b.mode->name,
                                  f.vector, f.error_code);
                assert_int_equal(w.pa, HWENV_DATA + 8);
            } else {
                if (ok) fail_msg("%s [%s]: expected #PF %#x, translated", c->name, e.b.mode->name, expect);
                assert_int_equal(f.vector, NTMM_VEC_PF);
                if (f.error_code != (uint32_t)expect)
                    fail_msg("%s [%s]: error code %#x, expected %#x", c->name, e.b.mode->name, f.error_code,
                             expect);
                assert_int_equal(f.address, va + 8);
            }
            hwenv_destroy(&e);
        }
    }
}

/* Accessed in every level and Dirty in the leaf, only on success, and D only on writes. */
static void test_accessed_dirty(void **state)
{
    (void)state;
    for (size_t mi = 0; mi < NTMM_ARRAY_SIZE(all_modes); mi++) {
        hwenv_t e;
        env(&e, all_modes[mi]);
        const hw_paging_mode_t *md = e.b.mode;
        va_t va = 0x00800000u;
        assert_true(ptb_map(&e.b, va, HWENV_DATA, NTMM_PAGE_SIZE, HW_PTE_RW));
        ntmm_fault_t f;
        uint64_t v;
        /* a failed user access sets nothing */
        hw_cpu_set_cpl(e.cpu, 3);
        assert_false(hw_load64(e.cpu, va, &v, &f));
        assert_int_equal(e.cpu->cr2, va);
        for (unsigned l = 1; l <= md->levels; l++) {
            if (md->pdpte_registers && l == md->levels) continue;
            assert_int_equal(ptb_read(&e.b, ptb_entry_pa(&e.b, va, l)) & HW_PTE_A, 0);
        }
        hw_cpu_set_cpl(e.cpu, 0);
        assert_true(hw_load64(e.cpu, va, &v, &f));
        for (unsigned l = 1; l <= md->levels; l++) {
            hw_pte_t ent = ptb_read(&e.b, ptb_entry_pa(&e.b, va, l));
            if (md->pdpte_registers && l == md->levels) {
                assert_int_equal(ent & HW_PTE_A, 0); /* PDPTE registers have no A bit */
                continue;
            }
            assert_true(ent & HW_PTE_A);
            assert_int_equal(ent & HW_PTE_D, 0);
        }
        /* the read cached a clean entry: a write must walk again and set D */
        assert_true(hw_store64(e.cpu, va, 7, &f));
        assert_true(ptb_read(&e.b, ptb_entry_pa(&e.b, va, 1)) & HW_PTE_D);
        assert_int_equal(ptb_read(&e.b, ptb_entry_pa(&e.b, va, 2)) & HW_PTE_D, 0);
        hwenv_destroy(&e);
    }
}

/* Reserved bits per level, each giving #PF with P|RSVD. */
static void test_reserved_bits(void **state)
{
    (void)state;
    struct { ntmm_paging_mode_t mode; unsigned level; uint64_t page; hw_pte_t bit; } cases[] = {
        { NTMM_PAGING_X86, 2, NTMM_MIB(4), NTMM_BIT(21) },           /* 4 MiB PDE bit 21 */
        { NTMM_PAGING_PAE, 1, NTMM_KIB(4), NTMM_BIT(62) },           /* above MAXPHYADDR */
        { NTMM_PAGING_PAE, 2, NTMM_MIB(2), NTMM_BIT(13) },           /* 2 MiB PDE bits 20:13 */
        { NTMM_PAGING_X64, 1, NTMM_KIB(4), NTMM_BIT(51) },           /* 51:M */
        { NTMM_PAGING_X64, 2, NTMM_MIB(2), NTMM_BIT(20) },
        { NTMM_PAGING_X64, 3, NTMM_GIB(1), NTMM_BIT(29) },           /* 1 GiB 29:13 */
        { NTMM_PAGING_X64, 4, NTMM_KIB(4), HW_PTE_PS },              /* PS in a PML4E */
        { NTMM_PAGING_X64_LA57, 5, NTMM_KIB(4), HW_PTE_PS },         /* PS in a PML5E */
    };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(cases); i++) {
        hwenv_t e;
        env(&e, cases[i].mode);
        va_t va = cases[i].page * 5u;
        assert_true(ptb_map(&e.b, va, cases[i].page >= NTMM_GIB(1) ? 0 : ntmm_align_up(HWENV_DATA, cases[i].page),
                            cases[i].page, HW_PTE_RW));
        pa_t epa = ptb_entry_pa(&e.b, va, cases[i].level);
        ptb_write(&e.b, epa, ptb_read(&e.b, epa) | cases[i].bit);
        hw_walk_t w;
        ntmm_fault_t f;
        assert_false(hw_walk(&e.cpu->paging, va, NTMM_ACCESS_WRITE, &w, &f));
        assert_int_equal(f.vector, NTMM_VEC_PF);
        assert_int_equal(f.error_code, NTMM_PF_P | NTMM_PF_RSVD | NTMM_PF_W);
        hwenv_destroy(&e);
    }
    /* 1 GiB pages absent from the CPU: PS in a PDPTE is reserved */
    ntmm_hw_config_t cfg = { .features_absent = NTMM_HW_NO_1GB_PAGES };
    hwenv_t e;
    assert_true(hwenv_init(&e, NTMM_PAGING_X64, &cfg));
    assert_true(ptb_map(&e.b, NTMM_GIB(2), 0, NTMM_GIB(1), 0));
    hw_walk_t w;
    ntmm_fault_t f;
    assert_false(hw_walk(&e.cpu->paging, NTMM_GIB(2), NTMM_ACCESS_READ, &w, &f));
    assert_int_equal(f.error_code, NTMM_PF_P | NTMM_PF_RSVD);
    hwenv_destroy(&e);
}

/* 32-bit paging: PS is ignored without CR4.PSE; PSE-36 reaches physical memory above 4 GiB. */
static void test_x86_pse(void **state)
{
    (void)state;
    ntmm_hw_config_t cfg = { .ram_bytes = NTMM_GIB(8) };
    hwenv_t e;
    assert_true(hwenv_init(&e, NTMM_PAGING_X86, &cfg));
    va_t va = 0x40000000u;
    assert_true(ptb_map(&e.b, va, NTMM_GIB(5), NTMM_MIB(4), HW_PTE_RW));
    hw_walk_t w;
    ntmm_fault_t f;
    assert_true(hw_walk(&e.cpu->paging, va + 0x2345, NTMM_ACCESS_READ, &w, &f));
    assert_int_equal(w.pa, NTMM_GIB(5) + 0x2345);
    uint32_t v = 0xfeedface, r = 0;
    assert_int_equal(hw_phys_write(&e.m->phys, NTMM_GIB(5) + 0x2345, &v, 4), NTMM_STATUS_SUCCESS);
    uint64_t r64;
    assert_true(hw_load(e.cpu, va + 0x2345, 4, &r64, &f));
    r = (uint32_t)r64;
    assert_int_equal(r, v);
    /* PSE off: the same PDE is a pointer to a page table at 0x..., read from 5 GiB's frame */
    assert_true(hw_cpu_write_cr4(e.cpu, e.cpu->cr4 & ~HW_CR4_PSE, &f));
    assert_true(hw_walk(&e.cpu->paging, va, NTMM_ACCESS_READ | HW_ACC_INSPECT, &w, &f) || f.vector == NTMM_VEC_PF);
    assert_int_equal(w.leaf_level, 1);
    hwenv_destroy(&e);
}

/* Control registers: invalid values are #GP(0) and change nothing. */
static void test_control_registers(void **state)
{
    (void)state;
    hwenv_t e;
    env(&e, NTMM_PAGING_X64);
    ntmm_fault_t f;
    uint64_t cr3 = e.cpu->cr3;
    assert_false(hw_cpu_write_cr3(e.cpu, cr3 | NTMM_BIT(60), &f)); /* above MAXPHYADDR */
    assert_int_equal(f.vector, NTMM_VEC_GP);
    assert_int_equal(e.cpu->cr3, cr3);
    assert_false(hw_cpu_write_cr4(e.cpu, e.cpu->cr4 & ~HW_CR4_PAE, &f)); /* PAE off in long mode */
    assert_false(hw_cpu_write_cr4(e.cpu, e.cpu->cr4 | HW_CR4_LA57, &f)); /* LA57 toggle in long mode */
    assert_false(hw_cpu_write_cr4(e.cpu, e.cpu->cr4 | NTMM_BIT(40), &f)); /* reserved */
    assert_false(hw_cpu_write_efer(e.cpu, e.cpu->efer & ~HW_EFER_LME, &f)); /* LME with PG on */
    assert_false(hw_cpu_write_cr0(e.cpu, (e.cpu->cr0 | HW_CR0_PG) & ~HW_CR0_PE, &f)); /* PG without PE */
    assert_int_equal(hw_cpu_paging_mode(e.cpu), NTMM_PAGING_X64);
    /* CR3's low bits are flags (PWT, PCD) and ignored bits: the table address is masked */
    assert_true(hw_cpu_write_cr3(e.cpu, cr3 | 0x18, &f));
    assert_int_equal(e.cpu->paging.root, cr3);
    hwenv_destroy(&e);

    /* enter_paging: a 64-bit CR3 above 4 GiB, direct switches between modes */
    ntmm_hw_config_t big = { .ram_bytes = NTMM_GIB(6) };
    assert_true(hwenv_init(&e, NTMM_PAGING_X86, &big));
    pa_t high_root = NTMM_GIB(5);
    memset(hw_phys_host(&e.m->phys, high_root), 0, NTMM_PAGE_SIZE);
    assert_false(hw_cpu_enter_paging(e.cpu, NTMM_PAGING_PAE, high_root, &f)); /* 32-bit CR3 */
    assert_int_equal(hw_cpu_paging_mode(e.cpu), NTMM_PAGING_X86);
    assert_true(hw_cpu_enter_paging(e.cpu, NTMM_PAGING_X64, high_root, &f));
    assert_int_equal(e.cpu->paging.root, high_root);
    assert_true(e.cpu->efer & HW_EFER_LMA);
    assert_true(hw_cpu_enter_paging(e.cpu, NTMM_PAGING_X64_LA57, high_root, &f));
    assert_int_equal(hw_cpu_paging_mode(e.cpu), NTMM_PAGING_X64_LA57);
    assert_true(hw_cpu_enter_paging(e.cpu, NTMM_PAGING_X86, e.b.root, &f));
    assert_false(e.cpu->efer & HW_EFER_LMA);
    assert_true(hw_cpu_enter_paging(e.cpu, NTMM_PAGING_NONE, 0, &f));
    assert_null(e.cpu->paging.mode);
    assert_true(hw_machine_check(e.m));
    hwenv_destroy(&e);

    /* NX absent: EFER.NXE cannot be set */
    ntmm_hw_config_t cfg = { .features_absent = NTMM_HW_NO_NX | NTMM_HW_NO_SMEP };
    hw_machine_t *m;
    assert_int_equal(hw_machine_create(&cfg, &m), NTMM_STATUS_SUCCESS);
    assert_false(hw_cpu_write_efer(&m->cpus[0], HW_EFER_NXE, &f));
    assert_false(hw_cpu_write_cr4(&m->cpus[0], HW_CR4_SMEP, &f));
    hw_machine_destroy(m);
}

/* PAE: PDPTEs are registers loaded with CR3; a reserved bit in one is #GP(0) at the load. */
static void test_pae_pdpte_registers(void **state)
{
    (void)state;
    hwenv_t e;
    env(&e, NTMM_PAGING_PAE);
    va_t va = 0x40001000u; /* PDPTE 1 */
    assert_true(ptb_map(&e.b, va, HWENV_DATA, NTMM_PAGE_SIZE, HW_PTE_RW));
    ntmm_fault_t f;
    uint64_t v;
    assert_true(hw_load64(e.cpu, va, &v, &f));
    /* clear PDPTE 1 in memory: the register still holds it until CR3 is reloaded */
    hw_pte_t old = ptb_read(&e.b, e.b.root + 8);
    ptb_write(&e.b, e.b.root + 8, 0);
    hw_tlb_flush(&e.cpu->tlb, true);
    assert_true(hw_load64(e.cpu, va, &v, &f));
    assert_true(hwenv_reload_cr3(&e));
    assert_false(hw_load64(e.cpu, va, &v, &f));
    assert_int_equal(f.vector, NTMM_VEC_PF);
    assert_int_equal(f.error_code, 0);
    /* a reserved bit (bit 1) in a present PDPTE: the CR3 load faults and CR3 is unchanged */
    ptb_write(&e.b, e.b.root + 8, old | NTMM_BIT(1));
    uint64_t cr3 = e.cpu->cr3;
    assert_false(hw_cpu_write_cr3(e.cpu, cr3, &f));
    assert_int_equal(f.vector, NTMM_VEC_GP);
    assert_int_equal(e.cpu->cr3, cr3);
    hwenv_destroy(&e);
}

/* Non-canonical addresses are #GP(0), not #PF; a table outside RAM is a machine check. */
static void test_noncanonical_and_bad_tables(void **state)
{
    (void)state;
    hwenv_t e;
    env(&e, NTMM_PAGING_X64);
    ntmm_fault_t f;
    uint64_t v;
    assert_false(hw_load64(e.cpu, 0x0000800000000000ull, &v, &f));
    assert_int_equal(f.vector, NTMM_VEC_GP);
    assert_int_equal(f.error_code, 0);
    assert_int_equal(e.cpu->stats.page_faults, 0);
    /* a PDE that points beyond RAM */
    va_t va = 0x10000000u;
    assert_true(ptb_map(&e.b, va, HWENV_DATA, NTMM_PAGE_SIZE, HW_PTE_RW));
    pa_t pde = ptb_entry_pa(&e.b, va, 2);
    ptb_write(&e.b, pde, (NTMM_GIB(100) & NTMM_BITS(38, 12)) | HW_PTE_P | HW_PTE_RW);
    assert_false(hw_load64(e.cpu, va, &v, &f));
    assert_int_equal(f.vector, NTMM_VEC_MC);
    /* a leaf frame in the reserved hole below 1 MiB */
    assert_true(ptb_map(&e.b, va + NTMM_MIB(2), 0xA0000, NTMM_PAGE_SIZE, HW_PTE_RW));
    assert_false(hw_load64(e.cpu, va + NTMM_MIB(2), &v, &f));
    assert_int_equal(f.vector, NTMM_VEC_MC);
    assert_int_equal(f.address, 0xA0000);
    hwenv_destroy(&e);
}

/*
 * The recursive self-map in every mode: a PTE read through the page-table window equals the
 * PTE found by a walk.
 */
/* The address of va's PTE in the page-table window at base: one recursion step. Applied to
 * a PTE's own address it gives the PDE's, and so on up the levels. */
static va_t selfmap_pte_va(const hw_paging_mode_t *md, va_t base, va_t va)
{
    uint64_t mask = md->canonical ? (NTMM_BIT(md->va_bits) - 1u) : UINT32_MAX;
    return base + ((va & mask) >> NTMM_PAGE_SHIFT) * md->entry_bytes;
}

static void selfmap_check(hwenv_t *e, va_t base, va_t va)
{
    const hw_paging_mode_t *md = e->b.mode;
    ntmm_fault_t f;
    hw_walk_t w;
    assert_true(hw_walk(&e->cpu->paging, va, NTMM_ACCESS_READ | HW_ACC_INSPECT, &w, &f));
    uint64_t through_map = 0;
    va_t pte_va = selfmap_pte_va(md, base, va);
    assert_true(hw_load(e->cpu, pte_va, md->entry_bytes, &through_map, &f));
    hw_pte_t ad = HW_PTE_A | HW_PTE_D; /* walking the window sets A in entries it uses as PTEs */
    assert_int_equal(through_map & ~ad, w.entry[1] & ~ad);
    /* and the PTE's own PTE: the directory entry (one more recursion) */
    uint64_t pde = 0;
    va_t pde_va = selfmap_pte_va(md, base, pte_va);
    assert_true(hw_load(e->cpu, pde_va, md->entry_bytes, &pde, &f));
    assert_int_equal(pde & ~ad, w.entry[2] & ~ad);
    /* writing through the window changes the walk */
    uint64_t v;
    assert_true(hw_store(e->cpu, pte_va, md->entry_bytes, through_map & ~HW_PTE_P, &f));
    hw_tlb_invalidate(&e->cpu->tlb, va);
    assert_false(hw_load64(e->cpu, va, &v, &f));
    assert_int_equal(f.vector, NTMM_VEC_PF);
}

static void test_self_map(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(all_modes); i++) {
        hwenv_t e;
        env(&e, all_modes[i]);
        va_t va = e.b.mode->canonical ? 0x00007FF712345000ull : 0x08147000u;
        assert_true(ptb_map(&e.b, va, HWENV_DATA, NTMM_PAGE_SIZE, HW_PTE_RW | HW_PTE_US));
        va_t base = ptb_self_map(&e.b);
        if (e.b.mode->pdpte_registers) assert_true(hwenv_reload_cr3(&e));
        switch (all_modes[i]) {
        case NTMM_PAGING_X86:
        case NTMM_PAGING_PAE: assert_int_equal(base, 0xC0000000u); break;
        case NTMM_PAGING_X64: assert_int_equal(base, 0xFFFFF68000000000ull); break;
        default: assert_int_equal(base, 0xFFED000000000000ull); break;
        }
        selfmap_check(&e, base, va);
        hwenv_destroy(&e);
    }
    /* seed 003: the last PDE (1023) maps the directory, tables appear at 0xFFC00000 */
    hwenv_t e;
    env(&e, NTMM_PAGING_X86);
    va_t va = 0xC0101000u; /* a higher-half kernel address */
    assert_true(ptb_map(&e.b, va, HWENV_DATA, NTMM_PAGE_SIZE, HW_PTE_RW));
    ptb_write(&e.b, e.b.root + 1023u * 4u, e.b.root | HW_PTE_P | HW_PTE_RW);
    selfmap_check(&e, 0xFFC00000u, va);
    /* the directory itself appears at 0xFFFFF000 */
    ntmm_fault_t f;
    uint64_t last = 0;
    assert_true(hw_load(e.cpu, 0xFFFFFFFCu, 4, &last, &f));
    assert_int_equal(last & HW_PTE32_FRAME, e.b.root);
    hwenv_destroy(&e);
}

/* Paging off: linear = physical; 32-bit linear addresses only. */
static void test_paging_off(void **state)
{
    (void)state;
    hw_machine_t *m;
    assert_int_equal(hw_machine_create(NULL, &m), NTMM_STATUS_SUCCESS);
    hw_cpu_t *c = &m->cpus[0];
    ntmm_fault_t f;
    assert_true(hw_store64(c, 0x200000, 0xabcdef, &f));
    uint64_t v = 0;
    assert_int_equal(hw_phys_read(&m->phys, 0x200000, &v, 8), NTMM_STATUS_SUCCESS);
    assert_int_equal(v, 0xabcdef);
    assert_false(hw_load64(c, NTMM_GIB(5), &v, &f));
    assert_int_equal(f.vector, NTMM_VEC_GP);
    assert_false(hw_load64(c, NTMM_MIB(300), &v, &f)); /* beyond RAM */
    assert_int_equal(f.vector, NTMM_VEC_MC);
    hw_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_address_split),
        cmocka_unit_test(test_page_sizes),
        cmocka_unit_test(test_rights),
        cmocka_unit_test(test_accessed_dirty),
        cmocka_unit_test(test_reserved_bits),
        cmocka_unit_test(test_x86_pse),
        cmocka_unit_test(test_control_registers),
        cmocka_unit_test(test_pae_pdpte_registers),
        cmocka_unit_test(test_noncanonical_and_bad_tables),
        cmocka_unit_test(test_self_map),
        cmocka_unit_test(test_paging_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
