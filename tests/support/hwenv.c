/* hwenv.c - the hardware test fixture (see hwenv.h). */
#include "hwenv.h"

bool hwenv_init(hwenv_t *e, ntmm_paging_mode_t mode, const ntmm_hw_config_t *cfg)
{
    ntmm_fault_t f;
    memset(e, 0, sizeof *e);
    if (hw_machine_create(cfg, &e->m) != NTMM_STATUS_SUCCESS) return false;
    e->cpu = &e->m->cpus[0];
    if (!ptb_init(&e->b, e->m, mode, HWENV_TABLES_LO, HWENV_TABLES_HI)) return false;
    return hw_cpu_enter_paging(e->cpu, mode, e->b.root, &f);
}

void hwenv_destroy(hwenv_t *e)
{
    hw_machine_destroy(e->m);
    memset(e, 0, sizeof *e);
}

bool hwenv_reload_cr3(hwenv_t *e)
{
    ntmm_fault_t f;
    return hw_cpu_write_cr3(e->cpu, e->cpu->cr3, &f);
}
