/* vmenv.c - the VM tests' fixture (see vmenv.h). */
#include "vmenv.h"

void vmenv_init(vmenv_t *e, ntmm_paging_mode_t mode, mm_layout_id_t layout)
{
    memset(e, 0, sizeof *e);
    ntmm_hw_config_t cfg = { .ram_bytes = NTMM_MIB(64), .cpu_count = 2 };
    assert_int_equal(hw_machine_create(&cfg, &e->m), NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_pfndb_init(&e->db, e->m, NTMM_FRAMES_NT_LISTS, hw_paging_mode(mode)->entry_bytes), 0);
    assert_int_equal(mm_system_space_create(&e->db, mode, layout, &e->sys), NTMM_STATUS_SUCCESS);
    mm_vm_init(&e->vm, &e->db, e->sys);
    mm_pfn_stats(&e->db, &e->before);
    assert_int_equal(mm_process_create(&e->vm, layout, &e->p), NTMM_STATUS_SUCCESS);
    for (unsigned i = 0; i < 2; i++) {
        ntmm_fault_t f;
        assert_true(mm_aspace_load(e->p->as, &e->m->cpus[i], &f));
        hw_cpu_set_cpl(&e->m->cpus[i], 3);
    }
}

void vmenv_check(vmenv_t *e)
{
    assert_true(mm_process_check(e->p));
    assert_true(mm_pfn_check(&e->db));
}

void vmenv_destroy(vmenv_t *e)
{
    vmenv_check(e);
    for (unsigned i = 0; i < 2; i++) {
        ntmm_fault_t f;
        assert_true(hw_cpu_enter_paging(&e->m->cpus[i], NTMM_PAGING_NONE, 0, &f));
    }
    assert_int_equal(mm_process_destroy(e->p), NTMM_STATUS_SUCCESS);
    ntmm_memory_stats_t after;
    mm_pfn_stats(&e->db, &after);
    assert_int_equal(after.active, e->before.active);
    assert_int_equal(after.by_use[NTMM_USE_PAGE_TABLE], e->before.by_use[NTMM_USE_PAGE_TABLE]);
    assert_int_equal(after.by_use[NTMM_USE_PROCESS_PRIVATE], 0);
    assert_int_equal(e->vm.commit_total, 0);
    assert_int_equal(mm_system_space_destroy(e->sys), NTMM_STATUS_SUCCESS);
    mm_pfndb_destroy(&e->db);
    hw_machine_destroy(e->m);
}
