/* segenv.c - the segmentation tests' fixture (see segenv.h). */
#include "segenv.h"

uint64_t std_desc(unsigned i)
{
    switch (i) {
    case G_R0_CODE: return hw_desc_make(0, 0xFFFFF, 0xC09A);
    case G_R0_DATA: return hw_desc_make(0, 0xFFFFF, 0xC092);
    case G_R3_CODE: return hw_desc_make(0, 0xFFFFF, 0xC0FA);
    case G_R3_DATA: return hw_desc_make(0x11111111, 0xFFFFF, 0xC0F2);
    case G_R0_RODATA: return hw_desc_make(0, 0xFFFFF, 0xC090);
    case G_R0_XCODE: return hw_desc_make(0, 0xFFFFF, 0xC098);
    case G_CONF_RCODE: return hw_desc_make(0, 0xFFFFF, 0xC09E);
    case G_CONF_XCODE: return hw_desc_make(0, 0xFFFFF, 0xC09C);
    case G_NP_DATA: return hw_desc_make(0, 0xFFFFF, 0xC012);
    case G_NP_CODE: return hw_desc_make(0, 0xFFFFF, 0xC01A);
    case G_LDT: return hw_desc_make(LDT_PA, LDT_LIMIT, 0x0082);
    case G_TSS: return hw_desc_make(0x12000, 0x67, 0x0089);
    case G_EXPDOWN32: return hw_desc_make(0x20000, 0xFFF, 0x4096);
    case G_EXPDOWN16: return hw_desc_make(0x20000, 0xFFF, 0x0096);
    case G_R1_DATA: return hw_desc_make(0, 0xFFFFF, 0xC0B2);
    case G_R2_DATA: return hw_desc_make(0, 0xFFFFF, 0xC0D2);
    case G_NP_LDT: return hw_desc_make(LDT_PA, LDT_LIMIT, 0x0002);
    case G_CODE64: return hw_desc_make(0, 0xFFFFF, 0xA09A);
    case G_CODE_LD: return hw_desc_make(0, 0xFFFFF, 0xE09A);
    case G_NP_R3_DATA: return hw_desc_make(0, 0xFFFFF, 0xC072);
    case G_CALLGATE: return hw_desc_make(0x00080000, 0x1000, 0x008C);
    case G_SMALL: return hw_desc_make(0x1000, 0xFF, 0x4092);
    case G_G1LIM0: return hw_desc_make(0x3000, 0, 0x8092);
    case G_R3_CONF: return hw_desc_make(0, 0xFFFFF, 0xC0FE);
    case G_R3_DATA0: return hw_desc_make(0, 0xFFFFF, 0xC0F2);
    case G_R3_RODATA: return hw_desc_make(0, 0xFFFFF, 0xC0F0);
    default: return 0;
    }
}

uint64_t std_ldt_desc(unsigned i)
{
    switch (i) {
    case 1: return hw_desc_make(0, 0xFFFFF, 0xC092);
    case 3: return hw_desc_make(0x5000, 0xFFFF, 0x4092);
    case 4: return hw_desc_make(0, 0xFFFFF, 0xC0F2);
    default: return 0;
    }
}


env_t env_new(const ntmm_hw_config_t *cfg)
{
    env_t e = { NULL, NULL };
    assert_int_equal(hw_machine_create(cfg, &e.m), NTMM_STATUS_SUCCESS);
    e.cpu = &e.m->cpus[0];
    assert_true(hw_seg_check(e.cpu)); /* the reset state: flat ring-0 segments */
    return e;
}

void env_free(env_t *e)
{
    assert_true(hw_machine_check(e->m));
    hw_machine_destroy(e->m);
}

void phys_put64(hw_machine_t *m, pa_t pa, uint64_t v)
{
    uint8_t b[8];
    ntmm_le_store(b, v, 8);
    assert_int_equal(hw_phys_write(&m->phys, pa, b, 8), NTMM_STATUS_SUCCESS);
}

uint64_t phys_get64(hw_machine_t *m, pa_t pa)
{
    uint8_t b[8];
    assert_int_equal(hw_phys_read(&m->phys, pa, b, 8), NTMM_STATUS_SUCCESS);
    return ntmm_le_load(b, 8);
}

void write_std_tables(hw_machine_t *m, pa_t gdt)
{
    for (unsigned i = 0; i < G_COUNT; i++) phys_put64(m, gdt + 8u * i, std_desc(i));
    for (unsigned i = 0; i <= LDT_LIMIT / 8u; i++) phys_put64(m, LDT_PA + 8u * i, std_ldt_desc(i));
}

/* Moves to `cpl` as an interrupt return would: a code segment usable at that level in CS, a
 * stack of DPL = CPL in SS, flat user data in DS and ES, FS and GS null. */
void enter_cpl(hw_cpu_t *cpu, unsigned cpl)
{
    static const uint16_t cs[4] = { SEL(G_R0_CODE, 0), SEL(G_CONF_RCODE, 1), SEL(G_CONF_RCODE, 2),
                                    SEL(G_R3_CODE, 3) };
    static const uint16_t ss[4] = { SEL(G_R0_DATA, 0), SEL(G_R1_DATA, 1), SEL(G_R2_DATA, 2),
                                    SEL(G_R3_DATA0, 3) };
    ntmm_fault_t f;
    hw_cpu_set_cpl(cpu, cpl);
    assert_true(hw_seg_load_cs(cpu, cs[cpl], &f));
    assert_true(hw_seg_load(cpu, HW_SEG_SS, ss[cpl], &f));
    assert_true(hw_seg_load(cpu, HW_SEG_DS, SEL(G_R3_DATA0, 3), &f));
    assert_true(hw_seg_load(cpu, HW_SEG_ES, SEL(G_R3_DATA0, 3), &f));
    assert_true(hw_seg_load(cpu, HW_SEG_FS, 0, &f));
    assert_true(hw_seg_load(cpu, HW_SEG_GS, 0, &f));
    assert_int_equal(cpu->cpl, cpl);
    assert_true(hw_seg_check(cpu));
}

/* A machine with paging off, the test GDT and LDT in memory, GDTR loaded, at CPL 0. */
env_t std_env(void)
{
    env_t e = env_new(NULL);
    ntmm_fault_t f;
    write_std_tables(e.m, GDT_PA);
    assert_true(hw_seg_lgdt(e.cpu, GDT_PA, G_COUNT * 8u - 1u, &f));
    enter_cpl(e.cpu, 0);
    return e;
}

void expect_fault(bool ok, const ntmm_fault_t *f, uint32_t vector, uint32_t code)
{
    assert_false(ok);
    assert_int_equal(f->vector, vector);
    assert_int_equal(f->error_code, code);
}
