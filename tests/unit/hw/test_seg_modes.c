/* test_seg_modes.c - segmentation in Windows' flat model on x86 and x64, 64-bit FS/GS bases
 * and LA57, real-address mode, the validator, and garbage tables that must never crash. */
#include "segenv.h"

/* ---- Windows' flat model ------------------------------------------------------------------ */

static void test_windows_x86(void **state)
{
    (void)state;
    env_t e = env_new(NULL);
    ntmm_fault_t f;
    va_t la;
    hw_seg_windows_t w = { .gdt = GDT_PA, .tss = 0x21000, .pcr = 0x30000, .teb = 0x7FFDE000 };

    /* Kernel mode. */
    assert_true(hw_seg_setup_windows(e.cpu, &w, &f));
    hw_cpu_t *c = e.cpu;
    assert_int_equal(c->cpl, 0);
    assert_int_equal(c->gdtr.base, GDT_PA);
    assert_int_equal(c->gdtr.limit, HW_SEG_WIN_GDT_BYTES - 1u);
    assert_false(c->ldtr.usable);
    assert_int_equal(c->seg[HW_SEG_CS].selector, 0x08);
    assert_int_equal(c->seg[HW_SEG_SS].selector, 0x10);
    assert_int_equal(c->seg[HW_SEG_DS].selector, 0x23);
    assert_int_equal(c->seg[HW_SEG_ES].selector, 0x23);
    assert_int_equal(c->seg[HW_SEG_FS].selector, 0x30);
    assert_false(c->seg[HW_SEG_GS].usable);
    assert_int_equal(c->seg[HW_SEG_CS].attr, 0xC09B);
    assert_int_equal(c->seg[HW_SEG_CS].limit, 0xFFFFFFFF);
    assert_int_equal(c->seg[HW_SEG_SS].attr, 0xC093);
    assert_int_equal(c->seg[HW_SEG_FS].base, 0x30000);
    assert_int_equal(c->seg[HW_SEG_FS].limit, 0xFFF);
    assert_true(hw_seg_check(c));
    /* The table in memory (loaded entries have their Accessed bit). */
    assert_int_equal(phys_get64(e.m, GDT_PA + 0x00), 0);
    assert_int_equal(phys_get64(e.m, GDT_PA + 0x08), 0x00CF9B000000FFFFull);
    assert_int_equal(phys_get64(e.m, GDT_PA + 0x10), 0x00CF93000000FFFFull);
    assert_int_equal(phys_get64(e.m, GDT_PA + 0x18), 0x00CFFA000000FFFFull);
    assert_int_equal(phys_get64(e.m, GDT_PA + 0x20), 0x00CFF3000000FFFFull);
    assert_int_equal(phys_get64(e.m, GDT_PA + 0x28), 0x00008902100020ABull);
    assert_int_equal(phys_get64(e.m, GDT_PA + 0x30), 0x0040930300000FFFull);
    assert_int_equal(phys_get64(e.m, GDT_PA + 0x38), 0x7F40F2FDE0000FFFull);
    assert_int_equal(phys_get64(e.m, GDT_PA + 0x40), 0x0000F2000400FFFFull);
    assert_int_equal(phys_get64(e.m, GDT_PA + 0x48), 0);
    /* FS:[0] is the KPCR. */
    uint8_t pcr[4] = { 0x11, 0x22, 0x33, 0x44 }, rd[4];
    assert_int_equal(hw_phys_write(&e.m->phys, 0x30000, pcr, 4), NTMM_STATUS_SUCCESS);
    assert_true(hw_seg_access(c, HW_SEG_FS, 0, rd, 4, R, NULL, &f));
    assert_memory_equal(rd, pcr, 4);
    expect_fault(hw_seg_translate(c, HW_SEG_FS, 0xFFE, 4, R, &la, &f), &f, NTMM_VEC_GP, 0);
    expect_fault(hw_seg_translate(c, HW_SEG_GS, 0, 1, R, &la, &f), &f, NTMM_VEC_GP, 0);

    /* User mode. */
    w.user = true;
    assert_true(hw_seg_setup_windows(c, &w, &f));
    assert_int_equal(c->cpl, 3);
    assert_int_equal(c->seg[HW_SEG_CS].selector, 0x1B);
    assert_int_equal(c->seg[HW_SEG_SS].selector, 0x23);
    assert_int_equal(c->seg[HW_SEG_DS].selector, 0x23);
    assert_int_equal(c->seg[HW_SEG_FS].selector, 0x3B);
    assert_int_equal(c->seg[HW_SEG_FS].base, 0x7FFDE000);
    assert_true(hw_seg_check(c));
    assert_true(hw_seg_translate(c, HW_SEG_FS, 0x18, 4, R, &la, &f)); /* NtCurrentTeb()->Self */
    assert_int_equal(la, 0x7FFDE018);
    /* The user selectors load at CPL 3; the kernel's do not. */
    assert_true(hw_seg_load(c, HW_SEG_ES, 0x23, &f));
    expect_fault(hw_seg_load(c, HW_SEG_DS, 0x10, &f), &f, NTMM_VEC_GP, 0x10);
    expect_fault(hw_seg_load(c, HW_SEG_DS, 0x13, &f), &f, NTMM_VEC_GP, 0x10);
    expect_fault(hw_seg_load(c, HW_SEG_FS, 0x33, &f), &f, NTMM_VEC_GP, 0x30);
    expect_fault(hw_seg_load(c, HW_SEG_SS, 0x13, &f), &f, NTMM_VEC_GP, 0x10);
    expect_fault(hw_seg_load_cs(c, 0x0B, &f), &f, NTMM_VEC_GP, 0x08);
    expect_fault(hw_seg_load(c, HW_SEG_DS, 0x2B, &f), &f, NTMM_VEC_GP, 0x28); /* the TSS */
    assert_true(hw_seg_check(c));
    env_free(&e);
}

#define W64_GDT  0xFFFFF80000010000ull /* -> 0x200000 */
#define W64_LDT  0xFFFFF80000011000ull /* -> 0x201000 */
#define W64_PCR  0xFFFFF80000020000ull
#define W64_TEB  0x000000007FFDE000ull
#define W64_TEB32 0x7FFDB000u

static env_t win64_env(bool la57_mode, bool user, bool wow64)
{
    env_t e = env_new(NULL);
    ntmm_fault_t f;
    ptb_t b;
    assert_true(ptb_init(&b, e.m, la57_mode ? NTMM_PAGING_X64_LA57 : NTMM_PAGING_X64, 0x400000, 0x800000));
    assert_true(ptb_map(&b, W64_GDT, 0x200000, NTMM_PAGE_SIZE, HW_PTE_RW));
    assert_true(ptb_map(&b, W64_LDT, 0x201000, NTMM_PAGE_SIZE, HW_PTE_RW));
    assert_true(ptb_map(&b, W64_PCR, 0x202000, NTMM_PAGE_SIZE, HW_PTE_RW));
    assert_true(ptb_map(&b, W64_TEB, 0x203000, NTMM_PAGE_SIZE, HW_PTE_RW | HW_PTE_US));
    assert_true(hw_cpu_enter_paging(e.cpu, la57_mode ? NTMM_PAGING_X64_LA57 : NTMM_PAGING_X64, b.root, &f));
    hw_seg_windows_t w = { .x64 = true, .user = user, .wow64 = wow64, .gdt = W64_GDT,
                           .tss = 0xFFFFF80000030000ull, .pcr = W64_PCR, .teb = W64_TEB, .teb32 = W64_TEB32 };
    assert_true(hw_seg_setup_windows(e.cpu, &w, &f));
    assert_true(hw_seg_check(e.cpu));
    return e;
}

static void test_windows_x64(void **state)
{
    (void)state;
    ntmm_fault_t f;
    va_t la;

    /* The layout needs IA-32e mode. */
    env_t e = env_new(NULL);
    hw_seg_windows_t w = { .x64 = true, .gdt = GDT_PA };
    expect_fault(hw_seg_setup_windows(e.cpu, &w, &f), &f, NTMM_VEC_GP, 0);
    env_free(&e);

    /* Kernel mode: 64-bit mode, GS = KPCR. */
    e = win64_env(false, false, false);
    hw_cpu_t *c = e.cpu;
    assert_true(hw_seg_64bit(c));
    assert_int_equal(c->cpl, 0);
    assert_int_equal(c->gdtr.base, W64_GDT);
    assert_int_equal(c->seg[HW_SEG_CS].selector, 0x10);
    assert_int_equal(c->seg[HW_SEG_CS].attr, 0x209B);
    assert_int_equal(c->seg[HW_SEG_SS].selector, 0x18);
    assert_int_equal(c->seg[HW_SEG_DS].selector, 0x2B);
    assert_int_equal(c->seg[HW_SEG_ES].selector, 0x2B);
    assert_int_equal(c->seg[HW_SEG_FS].selector, 0x53);
    assert_int_equal(c->seg[HW_SEG_GS].selector, 0x2B);
    assert_int_equal(c->seg[HW_SEG_GS].base, W64_PCR);
    assert_int_equal(phys_get64(e.m, 0x200000 + 0x10), 0x00209B0000000000ull);
    assert_int_equal(phys_get64(e.m, 0x200000 + 0x18), 0x00CF93000000FFFFull);
    assert_int_equal(phys_get64(e.m, 0x200000 + 0x20), 0x00CFFA000000FFFFull);
    assert_int_equal(phys_get64(e.m, 0x200000 + 0x28), 0x00CFF3000000FFFFull);
    assert_int_equal(phys_get64(e.m, 0x200000 + 0x30), 0x0020FA0000000000ull);
    assert_int_equal(phys_get64(e.m, 0x200000 + 0x40), 0x0000890300000067ull);
    assert_int_equal(phys_get64(e.m, 0x200000 + 0x48), 0x00000000FFFFF800ull);
    assert_int_equal(phys_get64(e.m, 0x200000 + 0x50), 0x7F40F3FDB0003C00ull);
    assert_true(hw_seg_translate(c, HW_SEG_GS, 0x20, 8, R, &la, &f)); /* KPCR.CurrentPrcb */
    assert_int_equal(la, W64_PCR + 0x20);
    /* FS holds the 32-bit TEB base its descriptor gave; in 64-bit mode it is used too. */
    assert_true(hw_seg_translate(c, HW_SEG_FS, 0x10, 1, R, &la, &f));
    assert_int_equal(la, W64_TEB32 + 0x10);
    /* No type or limit checks in 64-bit mode: writes through a readable code CS, huge offsets. */
    assert_true(hw_seg_translate(c, HW_SEG_CS, 0xFFFFF80000001000ull, 8, W, &la, &f));
    assert_int_equal(la, 0xFFFFF80000001000ull);
    assert_true(hw_seg_translate(c, HW_SEG_DS, 0x00007FFFFFFFFFF8ull, 8, R, &la, &f));
    /* Canonical checks: #GP(0), #SS(0) through SS. */
    expect_fault(hw_seg_translate(c, HW_SEG_DS, 0x00007FFFFFFFFFF9ull, 8, R, &la, &f), &f, NTMM_VEC_GP, 0);
    expect_fault(hw_seg_translate(c, HW_SEG_DS, 0x0000800000000000ull, 1, W, &la, &f), &f, NTMM_VEC_GP, 0);
    expect_fault(hw_seg_translate(c, HW_SEG_SS, 0x0000800000000000ull, 8, W, &la, &f), &f, NTMM_VEC_SS, 0);
    expect_fault(hw_seg_translate(c, HW_SEG_SS, 0xFFFF7FFFFFFFFFF8ull, 8, R, &la, &f), &f, NTMM_VEC_SS, 0);
    expect_fault(hw_seg_translate(c, HW_SEG_DS, 0xFFFFFFFFFFFFFFF8ull, 16, R, &la, &f), &f, NTMM_VEC_GP, 0);
    assert_true(hw_seg_translate(c, HW_SEG_SS, 0xFFFF800000000000ull, 8, R, &la, &f));
    /* GS base + offset must be canonical too. */
    expect_fault(hw_seg_translate(c, HW_SEG_GS, 0xFFFF800000000000ull, 1, R, &la, &f), &f, NTMM_VEC_GP, 0);
    assert_true(hw_seg_translate(c, HW_SEG_GS, (uint64_t)-8, 8, R, &la, &f)); /* gs:[-8] */
    assert_int_equal(la, W64_PCR - 8);
    assert_true(hw_seg_translate(c, HW_SEG_GS, (uint64_t)-4, 8, R, &la, &f)); /* offset + 7 wraps */
    assert_int_equal(la, W64_PCR - 4);
    assert_true(hw_seg_translate(c, HW_SEG_DS, (uint64_t)-16, 16, R, &la, &f));
    assert_int_equal(la, (uint64_t)-16);
    /* A null SS is allowed at CPL 0 in 64-bit mode (RPL = CPL), a null DS is usable too. */
    assert_true(hw_seg_load(c, HW_SEG_SS, 0, &f));
    expect_fault(hw_seg_load(c, HW_SEG_SS, 3, &f), &f, NTMM_VEC_GP, 0);
    assert_true(hw_seg_load(c, HW_SEG_DS, 0, &f));
    assert_true(hw_seg_translate(c, HW_SEG_SS, 0x1000, 8, W, &la, &f));
    assert_true(hw_seg_translate(c, HW_SEG_DS, 0x1000, 8, W, &la, &f));
    assert_true(hw_seg_check(c));
    assert_true(hw_seg_load(c, HW_SEG_SS, 0x18, &f));
    /* A load into FS in 64-bit mode replaces the base with the descriptor's 32 bits. */
    assert_true(hw_seg_set_base(c, HW_SEG_FS, 0xFFFFF80000040000ull, &f));
    assert_true(hw_seg_load(c, HW_SEG_FS, 0x53, &f));
    assert_int_equal(c->seg[HW_SEG_FS].base, W64_TEB32);
    /* LGDT in 64-bit mode takes 64 bits and checks them. */
    expect_fault(hw_seg_lgdt(c, 0x0100000000000000ull, 0x7F, &f), &f, NTMM_VEC_GP, 0);
    assert_int_equal(c->gdtr.base, W64_GDT);
    assert_true(hw_seg_lidt(c, 0xFFFFF80000050000ull, 0xFFF, &f));
    assert_int_equal(c->idtr.base, 0xFFFFF80000050000ull);
    assert_true(hw_seg_check(c));
    env_free(&e);

    /* User mode, 64-bit code: GS = TEB. */
    e = win64_env(false, true, false);
    c = e.cpu;
    assert_true(hw_seg_64bit(c));
    assert_int_equal(c->cpl, 3);
    assert_int_equal(c->seg[HW_SEG_CS].selector, 0x33);
    assert_int_equal(c->seg[HW_SEG_SS].selector, 0x2B);
    assert_int_equal(c->seg[HW_SEG_GS].base, W64_TEB);
    uint8_t teb[8] = { 9, 8, 7, 6, 5, 4, 3, 2 }, rd[8];
    assert_int_equal(hw_phys_write(&e.m->phys, 0x203030, teb, 8), NTMM_STATUS_SUCCESS);
    assert_true(hw_seg_access(c, HW_SEG_GS, 0x30, rd, 8, R, NULL, &f)); /* gs:[30h] = TEB.Self */
    assert_memory_equal(rd, teb, 8);
    /* The user data selector works at CPL 3, a ring-0 one does not; null SS at CPL 3 neither. */
    assert_true(hw_seg_load(c, HW_SEG_DS, 0x2B, &f));
    expect_fault(hw_seg_load(c, HW_SEG_DS, 0x18, &f), &f, NTMM_VEC_GP, 0x18);
    expect_fault(hw_seg_load(c, HW_SEG_ES, 0x1B, &f), &f, NTMM_VEC_GP, 0x18);
    expect_fault(hw_seg_load(c, HW_SEG_SS, 0x03, &f), &f, NTMM_VEC_GP, 0);
    expect_fault(hw_seg_load_cs(c, 0x13, &f), &f, NTMM_VEC_GP, 0x10);
    expect_fault(hw_seg_lgdt(c, W64_GDT, 0x7F, &f), &f, NTMM_VEC_GP, 0);
    /* A user access to a supervisor page: #PF with U set. */
    expect_fault(hw_seg_access(c, HW_SEG_DS, W64_PCR, rd, 8, R, NULL, &f), &f, NTMM_VEC_PF,
                 NTMM_PF_P | NTMM_PF_U);
    assert_true(hw_seg_check(c));
    env_free(&e);

    /* WOW64 user mode: compatibility mode, 32-bit checks again; FS = the 32-bit TEB. */
    e = win64_env(false, true, true);
    c = e.cpu;
    assert_false(hw_seg_64bit(c));
    assert_int_equal(c->seg[HW_SEG_CS].selector, 0x23);
    assert_int_equal(c->seg[HW_SEG_FS].base, W64_TEB32);
    assert_int_equal(c->seg[HW_SEG_FS].limit, 0x3C00);
    assert_true(hw_seg_translate(c, HW_SEG_FS, 0x18, 4, R, &la, &f));
    assert_int_equal(la, W64_TEB32 + 0x18);
    expect_fault(hw_seg_translate(c, HW_SEG_FS, 0x3C01, 1, R, &la, &f), &f, NTMM_VEC_GP, 0);
    expect_fault(hw_seg_translate(c, HW_SEG_CS, 0x1000, 1, W, &la, &f), &f, NTMM_VEC_GP, 0);
    assert_true(hw_seg_translate(c, HW_SEG_DS, 0xFFFFFFFF, 1, R, &la, &f));
    expect_fault(hw_seg_translate(c, HW_SEG_SS, 0xFFFFFFFF, 2, R, &la, &f), &f, NTMM_VEC_SS, 0);
    /* GS keeps the 64-bit TEB base, but compatibility-mode addresses are 32 bits. */
    assert_int_equal(c->seg[HW_SEG_GS].base, W64_TEB);
    assert_true(hw_seg_translate(c, HW_SEG_GS, 0x10, 1, R, &la, &f));
    assert_int_equal(la, (W64_TEB + 0x10) & UINT32_MAX);
    assert_true(hw_seg_check(c));
    env_free(&e);
}

/* ---- 64-bit FS/GS bases, LA57, 16-byte LDT descriptors ----------------------------------- */

static void test_64bit_bases(void **state)
{
    (void)state;
    ntmm_fault_t f;
    va_t la;

    /* 4-level paging on a CPU with LA57: MSR writes check 57 bits, accesses 48. */
    env_t e = win64_env(false, false, false);
    hw_cpu_t *c = e.cpu;
    assert_true(hw_seg_set_base(c, HW_SEG_GS, 0xFFFF800000000000ull, &f));
    assert_true(hw_seg_translate(c, HW_SEG_GS, 0x10, 8, R, &la, &f));
    assert_int_equal(la, 0xFFFF800000000010ull);
    assert_true(hw_seg_set_base(c, HW_SEG_FS, 0x0000800000000000ull, &f));
    expect_fault(hw_seg_translate(c, HW_SEG_FS, 0, 1, R, &la, &f), &f, NTMM_VEC_GP, 0);
    expect_fault(hw_seg_set_base(c, HW_SEG_FS, 0x0100000000000000ull, &f), &f, NTMM_VEC_GP, 0);
    assert_int_equal(c->seg[HW_SEG_FS].base, 0x0000800000000000ull);
    expect_fault(hw_seg_set_base(c, HW_SEG_DS, 0, &f), &f, NTMM_VEC_UD, 0);
    expect_fault(hw_seg_set_base(c, HW_SEG_CS, 0, &f), &f, NTMM_VEC_UD, 0);
    /* base + offset wraps past 2^64: not canonical as a range. */
    assert_true(hw_seg_set_base(c, HW_SEG_GS, 0xFFFFFFFFFFFFF000ull, &f));
    assert_true(hw_seg_translate(c, HW_SEG_GS, 0xFF8, 8, R, &la, &f));
    assert_int_equal(la, 0xFFFFFFFFFFFFFFF8ull);
    expect_fault(hw_seg_translate(c, HW_SEG_GS, 0xFF8, 9, R, &la, &f), &f, NTMM_VEC_GP, 0);
    assert_true(hw_seg_translate(c, HW_SEG_GS, 0x1000, 8, R, &la, &f)); /* wraps to 0: canonical */
    assert_int_equal(la, 0);
    assert_true(hw_seg_set_base(c, HW_SEG_GS, W64_PCR, &f));
    assert_true(hw_seg_check(c));

    /* LLDT in IA-32e mode reads a 16-byte descriptor. */
    hw_desc_t ld = { .base = W64_LDT, .limit = 0x1F, .type = HW_DESC_SYS_LDT, .p = true };
    uint64_t raw[2];
    hw_desc_encode16(&ld, raw);
    phys_put64(e.m, 0x200000 + 0x60, raw[0]);
    phys_put64(e.m, 0x200000 + 0x68, raw[1]);
    phys_put64(e.m, 0x201000 + 0x08, hw_desc_make(0x1234, 0xFFFFF, 0xC0F2)); /* LDT entry 1 */
    assert_true(hw_seg_lldt(c, HW_SEG_KGDT64_R0_LDT, &f));
    assert_int_equal(c->ldtr.base, W64_LDT);
    assert_int_equal(c->ldtr.limit, 0x1F);
    assert_true(hw_seg_load(c, HW_SEG_ES, LSEL(1, 3), &f));
    assert_int_equal(c->seg[HW_SEG_ES].base, 0x1234);
    expect_fault(hw_seg_load(c, HW_SEG_ES, LSEL(4, 3), &f), &f, NTMM_VEC_GP, LSEL(4, 0));
    assert_true(hw_seg_check(c));
    /* Bits 12:8 of its fourth dword must be 0. */
    phys_put64(e.m, 0x200000 + 0x68, raw[1] | NTMM_BIT(40));
    expect_fault(hw_seg_lldt(c, HW_SEG_KGDT64_R0_LDT, &f), &f, NTMM_VEC_GP, HW_SEG_KGDT64_R0_LDT);
    /* Its base must be canonical. */
    ld.base = 0x0100000000000000ull;
    hw_desc_encode16(&ld, raw);
    phys_put64(e.m, 0x200000 + 0x60, raw[0]);
    phys_put64(e.m, 0x200000 + 0x68, raw[1]);
    expect_fault(hw_seg_lldt(c, HW_SEG_KGDT64_R0_LDT, &f), &f, NTMM_VEC_GP, HW_SEG_KGDT64_R0_LDT);
    assert_int_equal(c->ldtr.base, W64_LDT);
    /* The whole 16 bytes must be within the GDT limit (0x7F): slot 0x78 is not enough. */
    ld.base = W64_LDT;
    hw_desc_encode16(&ld, raw);
    phys_put64(e.m, 0x200000 + 0x78, raw[0]);
    expect_fault(hw_seg_lldt(c, 0x78, &f), &f, NTMM_VEC_GP, 0x78);
    /* The 16-byte TSS descriptor is not an LDT. */
    expect_fault(hw_seg_lldt(c, HW_SEG_KGDT64_SYS_TSS, &f), &f, NTMM_VEC_GP, HW_SEG_KGDT64_SYS_TSS);
    assert_true(hw_seg_check(c));
    env_free(&e);

    /* 5-level paging: 57-bit canonical addresses. */
    e = win64_env(true, false, false);
    c = e.cpu;
    assert_true(hw_seg_64bit(c));
    assert_true(hw_seg_translate(c, HW_SEG_DS, 0x0000800000000000ull, 8, R, &la, &f));
    assert_true(hw_seg_translate(c, HW_SEG_SS, 0x00FFFFFFFFFFFFF8ull, 8, R, &la, &f));
    expect_fault(hw_seg_translate(c, HW_SEG_SS, 0x00FFFFFFFFFFFFF9ull, 8, R, &la, &f), &f, NTMM_VEC_SS, 0);
    expect_fault(hw_seg_translate(c, HW_SEG_DS, 0x0100000000000000ull, 1, R, &la, &f), &f, NTMM_VEC_GP, 0);
    assert_true(hw_seg_translate(c, HW_SEG_DS, 0xFF00000000000000ull, 1, R, &la, &f));
    assert_true(hw_seg_check(c));
    env_free(&e);

    /* A CPU without LA57 checks MSR writes against 48 bits. */
    ntmm_hw_config_t cfg = { .features_absent = NTMM_HW_NO_LA57 };
    e = env_new(&cfg);
    expect_fault(hw_seg_set_base(e.cpu, HW_SEG_GS, 0x0000800000000000ull, &f), &f, NTMM_VEC_GP, 0);
    assert_true(hw_seg_set_base(e.cpu, HW_SEG_GS, 0x00007FFFFFFFF000ull, &f));
    assert_true(hw_seg_check(e.cpu));
    env_free(&e);
}

/* ---- real-address mode ---------------------------------------------------------------------- */

static void test_real_mode(void **state)
{
    (void)state;
    env_t e = env_new(NULL);
    ntmm_fault_t f;
    va_t la;
    assert_true(hw_cpu_write_cr0(e.cpu, e.cpu->cr0 & ~HW_CR0_PE, &f));
    assert_true(hw_seg_load(e.cpu, HW_SEG_DS, 0x1234, &f));
    assert_int_equal(e.cpu->seg[HW_SEG_DS].base, 0x12340);
    assert_true(hw_seg_load(e.cpu, HW_SEG_SS, 0, &f)); /* no null-selector rule */
    assert_true(hw_seg_load_cs(e.cpu, 0xF000, &f));
    assert_int_equal(e.cpu->seg[HW_SEG_CS].base, 0xF0000);
    assert_true(hw_seg_translate(e.cpu, HW_SEG_DS, 0x10, 2, W, &la, &f));
    assert_int_equal(la, 0x12350);
    assert_true(hw_seg_translate(e.cpu, HW_SEG_CS, 0xFFF0, 1, W, &la, &f)); /* no type checks */
    assert_int_equal(la, 0xFFFF0);
    expect_fault(hw_seg_lldt(e.cpu, 0x08, &f), &f, NTMM_VEC_UD, 0);
    expect_fault(hw_seg_load(e.cpu, HW_SEG_CS, 0x08, &f), &f, NTMM_VEC_UD, 0);
    assert_true(hw_seg_lgdt(e.cpu, 0x500, 0x27, &f));
    assert_true(hw_seg_check(e.cpu));
    env_free(&e);
}

/* ---- the validator ---------------------------------------------------------------------- */

static void test_check_rejects(void **state)
{
    (void)state;
    env_t e = std_env();
    hw_cpu_t saved = *e.cpu;
    hw_cpu_t *c = e.cpu;
#define REJECT(stmt)                    \
    do {                                \
        stmt;                           \
        assert_false(hw_seg_check(c));  \
        *c = saved;                     \
        assert_true(hw_seg_check(c));   \
    } while (0)
    REJECT(c->seg[HW_SEG_CS].usable = false);
    REJECT(c->seg[HW_SEG_CS].attr = 0xC093);                       /* data in CS */
    REJECT(c->seg[HW_SEG_CS].attr = 0xC01B);                       /* not present */
    REJECT(c->seg[HW_SEG_CS].selector = 0x0B);                     /* RPL != CPL */
    REJECT(c->seg[HW_SEG_CS].attr = 0xC0FB);                       /* DPL != CPL */
    REJECT(c->cpl = 3);
    REJECT(c->cpl = 7);
    REJECT(c->seg[HW_SEG_SS].attr = 0xC091);                       /* read-only stack */
    REJECT(c->seg[HW_SEG_SS].attr = 0xC0F3);                       /* stack DPL != CPL */
    REJECT(c->seg[HW_SEG_DS].attr = 0xC099);                       /* execute-only code */
    REJECT(c->seg[HW_SEG_DS].attr = 0xC013);                       /* not present */
    REJECT(c->seg[HW_SEG_DS].attr = 0x0F93);                       /* bits 11:8 */
    REJECT(c->seg[HW_SEG_DS].limit = 0x12345);                     /* G = 1, low bits not 0xFFF */
    REJECT(c->seg[HW_SEG_DS].attr = 0x4093);                       /* G = 0, limit > 0xFFFFF */
    REJECT(c->seg[HW_SEG_DS].base = NTMM_BIT(32));
    REJECT(c->seg[HW_SEG_GS].base = 0x0100000000000000ull);
    REJECT(c->gdtr.base = NTMM_BIT(32));
    REJECT((c->ldtr = (hw_segment_t){ 0x58, 0x0089, 0x67, 0x12000, true }));
    REJECT((c->ldtr = (hw_segment_t){ 0x58, 0x0002, 0x3F, LDT_PA, true }));
#undef REJECT
    /* Unusable data segments are not examined. */
    c->seg[HW_SEG_FS] = (hw_segment_t){ 0, 0x0011, 0x12345, 0, false };
    assert_true(hw_seg_check(c));
    env_free(&e);
}

/* ---- garbage never crashes ---------------------------------------------------------------- */

static bool allowed_vector(uint32_t v)
{
    return v == NTMM_VEC_GP || v == NTMM_VEC_NP || v == NTMM_VEC_SS || v == NTMM_VEC_PF || v == NTMM_VEC_MC ||
           v == NTMM_VEC_UD;
}

/* Random operations on random selectors against a table whose tail is random bytes. Every
 * call returns a clean fault or succeeds, and a success keeps the state consistent. */
static void fuzz(env_t *e, base_rng_t *rng, pa_t gdt_pa, unsigned random_from, unsigned entries,
                 void (*restart)(env_t *, base_rng_t *), int rounds)
{
    ntmm_fault_t f;
    va_t la;
    uint8_t buf[64];
    for (int i = 0; i < rounds; i++) {
        if (i % 16 == 0) {
            for (unsigned k = random_from; k < entries; k++) {
                uint64_t v = base_rng_next(rng);
                if (base_rng_below(rng, 2)) v |= HW_DESC_P | HW_DESC_S; /* more loads get far */
                phys_put64(e->m, gdt_pa + 8u * k, v);
            }
            restart(e, rng);
        }
        uint16_t sel = base_rng_below(rng, 4) ? (uint16_t)base_rng_below(rng, entries * 8u + 16u)
                                              : (uint16_t)base_rng_next(rng);
        unsigned op = (unsigned)base_rng_below(rng, 6);
        hw_seg_t reg = (hw_seg_t)base_rng_below(rng, 8);
        uint64_t off = base_rng_below(rng, 2) ? base_rng_below(rng, 0x10000) : base_rng_next(rng);
        size_t len = (size_t)base_rng_below(rng, sizeof buf + 1);
        unsigned kind = (unsigned)base_rng_below(rng, 4);
        bool ok;
        f.vector = NTMM_VEC_NONE;
        switch (op) {
        case 0: ok = hw_seg_load(e->cpu, reg, sel, &f); break;
        case 1: ok = hw_seg_load_cs(e->cpu, sel, &f); break;
        case 2: ok = e->cpu->cpl == 0 ? hw_seg_lldt(e->cpu, sel, &f) : true; break;
        case 3: ok = hw_seg_translate(e->cpu, reg, off, len, kind, &la, &f); break;
        case 4: ok = hw_seg_access(e->cpu, reg, off, buf, len, kind == W ? R : kind, NULL, &f); break;
        default: ok = hw_seg_set_base(e->cpu, reg, base_rng_next(rng) >> base_rng_below(rng, 64), &f); break;
        }
        if (!ok && !allowed_vector(f.vector))
            fail_msg("fuzz op %u sel %#x: vector %u", op, sel, (unsigned)f.vector);
        if (ok && op != 3 && op != 4 && !hw_seg_check(e->cpu))
            fail_msg("fuzz op %u reg %d sel %#x left an inconsistent state", op, (int)reg, sel);
    }
}

static void restart_std(env_t *e, base_rng_t *rng)
{
    ntmm_fault_t f;
    hw_cpu_set_cpl(e->cpu, 0);
    assert_true(hw_seg_lgdt(e->cpu, GDT_PA, 64 * 8 - 1, &f));
    assert_true(hw_seg_lldt(e->cpu, SEL(G_LDT, 0), &f));
    enter_cpl(e->cpu, (unsigned)base_rng_below(rng, 4));
}

static void restart_win64(env_t *e, base_rng_t *rng)
{
    ntmm_fault_t f;
    hw_cpu_t *c = e->cpu;
    hw_cpu_set_cpl(c, 0);
    assert_true(hw_seg_load_cs(c, 0x10, &f));
    assert_true(hw_seg_load(c, HW_SEG_SS, 0x18, &f));
    assert_true(hw_seg_lgdt(c, W64_GDT, 64 * 8 - 1, &f));
    assert_true(hw_seg_lldt(c, 0, &f));
    if (base_rng_below(rng, 2)) {
        hw_cpu_set_cpl(c, 3);
        assert_true(hw_seg_load_cs(c, base_rng_below(rng, 2) ? 0x33 : 0x23, &f));
        assert_true(hw_seg_load(c, HW_SEG_SS, 0x2B, &f));
    }
    assert_true(hw_seg_check(c));
}

static void test_garbage_never_crashes(void **state)
{
    (void)state;
    base_rng_t rng;
    base_rng_seed(&rng, 0xBADD35C);
    env_t e = std_env();
    fuzz(&e, &rng, GDT_PA, G_COUNT, 64, restart_std, 40000);
    env_free(&e);

    e = win64_env(false, false, false);
    fuzz(&e, &rng, 0x200000, HW_SEG_WIN_GDT_BYTES / 8u, 64, restart_win64, 40000);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_x86),
        cmocka_unit_test(test_windows_x64),
        cmocka_unit_test(test_64bit_bases),
        cmocka_unit_test(test_real_mode),
        cmocka_unit_test(test_check_rejects),
        cmocka_unit_test(test_garbage_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
