/*
 * segenv.h - the fixture of the segmentation tests: a test GDT with one descriptor of each
 * kind the rules distinguish, a test LDT, and helpers to build and check machine state.
 */
#ifndef NTMM_TEST_SEGENV_H
#define NTMM_TEST_SEGENV_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/rng.h"
#include "hw/access.h"
#include "hw/seg.h"
#include "ptbuild.h"

#define GDT_PA 0x10000u
#define LDT_PA 0x11000u
#define LDT_LIMIT 0x3Fu

#define R NTMM_ACCESS_READ
#define W NTMM_ACCESS_WRITE
#define X NTMM_ACCESS_EXECUTE

#define NONE NTMM_VEC_NONE
#define GP NTMM_VEC_GP
#define NP NTMM_VEC_NP
#define SSF NTMM_VEC_SS
#define UD NTMM_VEC_UD
#define ABIT ((uint64_t)HW_DESC_TYPE_A << HW_DESC_TYPE_SHIFT) /* a descriptor's Accessed bit */

#define SEL(i, rpl) ((uint16_t)(((unsigned)(i) << 3) | (rpl)))          /* GDT selector */
#define LSEL(i, rpl) ((uint16_t)(((unsigned)(i) << 3) | 4u | (rpl)))    /* LDT selector */

/* The test GDT: one descriptor of each kind the rules distinguish. */
enum {
    G_R0_CODE = 1, G_R0_DATA, G_R3_CODE, G_R3_DATA /* 4: base 0x11111111 */, G_R0_RODATA, G_R0_XCODE,
    G_CONF_RCODE, G_CONF_XCODE, G_NP_DATA, G_NP_CODE, G_LDT, G_TSS, G_EXPDOWN32, G_EXPDOWN16, G_R1_DATA,
    G_R2_DATA, G_NP_LDT, G_CODE64, G_CODE_LD, G_NP_R3_DATA, G_CALLGATE, G_SMALL, G_G1LIM0, G_R3_CONF,
    G_R3_DATA0, G_R3_RODATA, G_COUNT
};

typedef struct env {
    hw_machine_t *m;
    hw_cpu_t *cpu;
} env_t;

uint64_t std_desc(unsigned i);
uint64_t std_ldt_desc(unsigned i);
env_t env_new(const ntmm_hw_config_t *cfg);
void env_free(env_t *e);
void phys_put64(hw_machine_t *m, pa_t pa, uint64_t v);
uint64_t phys_get64(hw_machine_t *m, pa_t pa);
void write_std_tables(hw_machine_t *m, pa_t gdt);
void enter_cpl(hw_cpu_t *cpu, unsigned cpl);
env_t std_env(void);
void expect_fault(bool ok, const ntmm_fault_t *f, uint32_t vector, uint32_t code);

#endif /* NTMM_TEST_SEGENV_H */
