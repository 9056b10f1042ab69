/*
 * process.c - the public process facade (ntmm_process.h): validates arguments the way the
 * Native API's system-service layer does (probing output pointers), and forwards to the
 * memory manager (mm/vm.h). No policy lives here.
 */
#include "api/api.h"

#include "base/bugcheck.h"
#include "hw/access.h"

struct ntmm_process {
    ntmm_machine_t *machine;
    mm_process_t *mm;
};

ntmm_status_t api_vm_ready(ntmm_machine_t *m)
{
    ntmm_status_t st = NTMM_STATUS_SUCCESS;
    host_mutex_lock(m->vm_lock);
    if (!m->sys) {
        mm_layout_id_t l = (m->paging == NTMM_PAGING_X64 || m->paging == NTMM_PAGING_X64_LA57) ? MM_LAYOUT_X64
                                                                                              : MM_LAYOUT_X86;
        st = mm_system_space_create(&m->pfndb, m->paging, l, &m->sys);
        if (st == NTMM_STATUS_SUCCESS) mm_vm_init(&m->vm, &m->pfndb, m->sys);
    }
    host_mutex_unlock(m->vm_lock);
    return st;
}

void api_vm_destroy(ntmm_machine_t *m)
{
    if (m->sys) mm_system_space_destroy(m->sys);
    m->sys = NULL;
}

static ntmm_status_t api_process(const ntmm_process_t *p)
{
    if (!p) return NTMM_STATUS_INVALID_HANDLE;
    if (base_bugcheck_halted(&p->machine->hw->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t api_process_mm(ntmm_process_t *process, mm_process_t **mm)
{
    ntmm_status_t st = api_process(process);
    if (st == NTMM_STATUS_SUCCESS) *mm = process->mm;
    return st;
}

ntmm_status_t ntmm_process_create(ntmm_machine_t *machine, ntmm_layout_t layout, ntmm_process_t **process)
{
    if (!machine || !process) return NTMM_STATUS_INVALID_PARAMETER;
    *process = NULL;
    if (base_bugcheck_halted(&machine->hw->bugcheck)) return NTMM_STATUS_MACHINE_HALTED;
    if (layout == NTMM_LAYOUT_DEFAULT)
        layout = (machine->paging == NTMM_PAGING_X64 || machine->paging == NTMM_PAGING_X64_LA57) ? NTMM_LAYOUT_X64
                                                                                                : NTMM_LAYOUT_X86;
    if ((int)layout < 0 || (int)layout >= MM_LAYOUT_COUNT) return NTMM_STATUS_INVALID_PARAMETER;
    ntmm_status_t st = api_vm_ready(machine);
    if (st != NTMM_STATUS_SUCCESS) return st;
    ntmm_process_t *p = host_calloc(1, sizeof *p);
    if (!p) return NTMM_STATUS_NO_MEMORY;
    p->machine = machine;
    st = mm_process_create(&machine->vm, (mm_layout_id_t)layout, &p->mm);
    if (st != NTMM_STATUS_SUCCESS) {
        host_free(p);
        return st;
    }
    __atomic_add_fetch(&machine->processes, 1, __ATOMIC_RELAXED);
    *process = p;
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t ntmm_process_destroy(ntmm_process_t *process)
{
    if (!process) return NTMM_STATUS_INVALID_HANDLE;
    ntmm_machine_t *m = process->machine;
    /* no CPU may keep the address space loaded */
    for (unsigned i = 0; i < m->hw->cpu_count; i++) {
        hw_cpu_t *c = &m->hw->cpus[i];
        ntmm_fault_t f;
        if (c->paging.mode && c->cr3 == process->mm->as->cr3) hw_cpu_enter_paging(c, NTMM_PAGING_NONE, 0, &f);
    }
    ntmm_status_t st = mm_process_destroy(process->mm);
    __atomic_sub_fetch(&m->processes, 1, __ATOMIC_RELAXED);
    host_free(process);
    return st;
}

ntmm_status_t ntmm_nt_allocate_virtual_memory(ntmm_process_t *process, uint64_t *base, uint64_t zero_bits,
                                              uint64_t *size, uint32_t allocation_type, uint32_t protect)
{
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (!base || !size) return NTMM_STATUS_ACCESS_VIOLATION; /* the probe of the in/out arguments */
    return mm_vm_allocate(process->mm, base, zero_bits, size, allocation_type, protect);
}

ntmm_status_t ntmm_nt_free_virtual_memory(ntmm_process_t *process, uint64_t *base, uint64_t *size, uint32_t free_type)
{
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (!base || !size) return NTMM_STATUS_ACCESS_VIOLATION;
    return mm_vm_free(process->mm, base, size, free_type);
}

ntmm_status_t ntmm_nt_protect_virtual_memory(ntmm_process_t *process, uint64_t *base, uint64_t *size,
                                             uint32_t new_protect, uint32_t *old_protect)
{
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (!base || !size || !old_protect) return NTMM_STATUS_ACCESS_VIOLATION; /* VP-005: nothing changes */
    return mm_vm_protect(process->mm, base, size, new_protect, old_protect);
}

ntmm_status_t ntmm_nt_query_virtual_memory(ntmm_process_t *process, uint64_t address,
                                           ntmm_memory_basic_information_t *info)
{
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (!info) return NTMM_STATUS_ACCESS_VIOLATION;
    return mm_vm_query(process->mm, address, info);
}

ntmm_status_t ntmm_nt_get_write_watch(ntmm_process_t *process, uint32_t flags, uint64_t base, uint64_t size,
                                      uint64_t *addresses, uint64_t *count, uint32_t *granularity)
{
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (!count || !granularity || (*count && !addresses)) return NTMM_STATUS_ACCESS_VIOLATION;
    return mm_vm_get_write_watch(process->mm, flags, base, size, addresses, count, granularity);
}

ntmm_status_t ntmm_nt_reset_write_watch(ntmm_process_t *process, uint64_t base, uint64_t size)
{
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    return mm_vm_reset_write_watch(process->mm, base, size);
}

ntmm_status_t ntmm_nt_lock_virtual_memory(ntmm_process_t *process, uint64_t *base, uint64_t *size,
                                          uint32_t map_type)
{
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (!base || !size) return NTMM_STATUS_ACCESS_VIOLATION;
    return mm_vm_lock(process->mm, base, size, map_type);
}

ntmm_status_t ntmm_nt_unlock_virtual_memory(ntmm_process_t *process, uint64_t *base, uint64_t *size,
                                            uint32_t map_type)
{
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (!base || !size) return NTMM_STATUS_ACCESS_VIOLATION;
    return mm_vm_unlock(process->mm, base, size, map_type);
}

ntmm_status_t ntmm_nt_read_virtual_memory(ntmm_process_t *process, uint64_t address, void *buffer, size_t size,
                                          size_t *done)
{
    size_t local;
    if (done) *done = 0;
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (!buffer && size) return NTMM_STATUS_ACCESS_VIOLATION; /* the caller's buffer (RW-008) */
    return mm_vm_read(process->mm, address, buffer, size, done ? done : &local);
}

ntmm_status_t ntmm_nt_write_virtual_memory(ntmm_process_t *process, uint64_t address, const void *buffer,
                                           size_t size, size_t *done)
{
    size_t local;
    if (done) *done = 0;
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (!buffer && size) return NTMM_STATUS_ACCESS_VIOLATION;
    return mm_vm_write(process->mm, address, buffer, size, done ? done : &local);
}

ntmm_status_t ntmm_process_access(ntmm_process_t *process, unsigned cpu, int user_mode, uint64_t address,
                                  void *buf, size_t len, ntmm_access_t access, size_t *done,
                                  ntmm_exception_record_t *record)
{
    ntmm_exception_record_t local;
    if (done) *done = 0;
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    hw_machine_t *hw = process->machine->hw;
    if (cpu >= hw->cpu_count || (!buf && len) || (unsigned)access > NTMM_ACCESS_EXECUTE)
        return NTMM_STATUS_INVALID_PARAMETER;
    hw_cpu_t *c = &hw->cpus[cpu];
    ntmm_fault_t f;
    if ((!c->paging.mode || c->cr3 != process->mm->as->cr3) && !mm_aspace_load(process->mm->as, c, &f))
        return NTMM_STATUS_INTERNAL_ERROR;
    hw_cpu_set_cpl(c, user_mode ? 3 : 0);
    return mm_access(process->mm, c, address, buf, len, access, done, record ? record : &local);
}

ntmm_status_t ntmm_process_memory(ntmm_process_t *process, ntmm_process_memory_t *info)
{
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (!info) return NTMM_STATUS_ACCESS_VIOLATION;
    const mm_process_t *p = process->mm;
    *info = (ntmm_process_memory_t){ p->commit_charge << NTMM_PAGE_SHIFT, p->commit_peak << NTMM_PAGE_SHIFT,
                                     p->private_pages << NTMM_PAGE_SHIFT, p->counts.faults, p->counts.demand_zero,
                                     p->counts.transition };
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t ntmm_process_check(ntmm_process_t *process)
{
    ntmm_status_t st = api_process(process);
    if (st != NTMM_STATUS_SUCCESS) return st;
    bool ok = mm_process_check(process->mm) && mm_pfn_check(&process->machine->pfndb) &&
              hw_machine_check(process->machine->hw);
    return ok ? NTMM_STATUS_SUCCESS : NTMM_STATUS_MACHINE_HALTED;
}
