/*
 * fault.c - the page-fault handler as a small decision tree (NT: MmAccessFault and its
 * resolvers), and the guest access loop that calls it.
 *
 *   mm_fault(va, access)
 *     system space from user mode, or no VAD ........ access violation
 *     PTE valid ........................................ fault_on_valid: the first write to a
 *                                                        watched page (write watch: set its
 *                                                        bit and R/W), spurious (the TLB was
 *                                                        stale) or a protection violation
 *     page not committed ............................... access violation
 *     committed, protection denies the access .......... access violation
 *     committed, guard page ............................ fault_guard: clear the guard, raise
 *                                                        STATUS_GUARD_PAGE_VIOLATION once; in a
 *                                                        thread's stack move the guard down and
 *                                                        retry, or raise STATUS_STACK_OVERFLOW
 *                                                        (mm_stack_guard_fault, stack.c)
 *     committed, zero or demand-zero PTE ............... fault_demand_zero: a zeroed frame
 *     committed, transition PTE ........................ fault_transition: a soft fault
 *     page file, prototype ............................. later issues (paging, sections)
 *
 * Each resolver states its NT counterpart. The address-space lock is held across the tree;
 * the PFN lock only inside frame allocation.
 */
#include "mm/vm.h"

#include "base/bugcheck.h"
#include "hw/access.h"
#include "mm/stack.h"

/* A write the protection allows to a watched page whose PTE has R/W = 0 is the page's first
 * write since the last reset: recorded and made writable (mm_vm_watch_mark). Otherwise a stale
 * TLB entry made the CPU fault on a PTE that now allows the access (NT: the "spurious fault"
 * path of MmAccessFault), or the access violates the protection. */
static ntmm_status_t fault_on_valid(mm_process_t *p, const mm_vad_t *vad, va_t va, ntmm_access_t access,
                                    const mm_vm_page_t *pg)
{
    if (mm_protect_check_access(pg->prot, access) != MM_ACCESS_ALLOWED) return NTMM_STATUS_ACCESS_VIOLATION;
    if (access == NTMM_ACCESS_WRITE && !(pg->pte & HW_PTE_RW) && (vad->flags & MM_VAD_WRITE_WATCH)) {
        mm_vm_watch_mark(p, vad, va); /* the first write since the last reset (NT: MiCaptureWriteWatchDirtyBit) */
        return NTMM_STATUS_SUCCESS;
    }
    if (access != NTMM_ACCESS_WRITE || (pg->pte & HW_PTE_RW)) {
        mm_vm_flush_va(p, va);
        return NTMM_STATUS_SUCCESS;
    }
    return NTMM_STATUS_ACCESS_VIOLATION;
}

/* Clears the guard of the faulting page only, then reports the violation (NT: MiCheckForUserStackOverflow's
 * caller path for non-stack guards); in a thread's stack the guard moves down instead (mm_stack_guard_fault:
 * STATUS_SUCCESS, the access is retried) or STATUS_STACK_OVERFLOW is raised. */
static ntmm_status_t fault_guard(mm_process_t *p, mm_vad_t *vad, va_t va, const mm_vm_page_t *pg)
{
    pa_t slot;
    if (mm_ptm_ensure(p->as, va, 1, &slot) != NTMM_STATUS_SUCCESS) return NTMM_STATUS_NO_MEMORY;
    mm_prot_t unguarded = mm_protect_remove_guard(pg->prot);
    if (pg->kind == MM_PTE_KIND_TRANSITION) /* the frame stays where it is, unguarded */
        mm_ptm_write(p->as, slot, mm_pte_sw_set_protection(pg->pte, unguarded));
    else
        mm_ptm_write(p->as, slot, mm_pte_make_demand_zero(&p->vm->fmt, unguarded));
    if (vad->flags & MM_VAD_STACK) {
        ntmm_status_t st = mm_stack_guard_fault(p, vad, va);
        if (st != NTMM_STATUS_GUARD_PAGE_VIOLATION) return st;
    }
    p->counts.guard++;
    return NTMM_STATUS_GUARD_PAGE_VIOLATION;
}

/* Takes a frame that left the working set back, without I/O: a soft fault (NT: MiResolveTransitionFault). */
static ntmm_status_t fault_transition(mm_process_t *p, const mm_vad_t *vad, va_t va, const mm_vm_page_t *pg)
{
    pfn_t pfn = mm_pte_frame(&p->vm->fmt, pg->pte);
    mm_pfn_lock(p->vm->db);
    ntmm_status_t st = mm_pfn_reclaim(p->vm->db, pfn);
    if (st == NTMM_STATUS_SUCCESS) { /* the PTE's protection is the current one (a guard may have gone) */
        mm_pfn_t *e = mm_pfn_entry(p->vm->db, pfn);
        e->original_pte = mm_pte_sw_set_protection(e->original_pte, pg->prot);
    }
    mm_pfn_unlock(p->vm->db);
    if (st != NTMM_STATUS_SUCCESS) return st;
    mm_ptm_write(p->as, pg->pte_pa, mm_vm_valid_pte(p, vad, va, pfn, pg->prot));
    p->private_pages++;
    p->counts.transition++;
    return NTMM_STATUS_SUCCESS;
}

/* A zeroed frame for a committed page never touched (NT: MiResolveDemandZeroFault). */
static ntmm_status_t fault_demand_zero(mm_process_t *p, const mm_vad_t *vad, va_t va, const mm_vm_page_t *pg)
{
    pa_t slot;
    ntmm_status_t st = mm_ptm_ensure(p->as, va, 1, &slot);
    if (st != NTMM_STATUS_SUCCESS) return st;
    uint64_t original = mm_pte_make_demand_zero(&p->vm->fmt, pg->prot);
    pfn_t pfn;
    mm_pfn_lock(p->vm->db);
    st = mm_pfn_allocate(p->vm->db, MM_ALLOC_ZEROED, NTMM_USE_PROCESS_PRIVATE, slot, original, &pfn);
    mm_pfn_unlock(p->vm->db);
    if (st != NTMM_STATUS_SUCCESS) return st;
    mm_pfn_lock(p->vm->db);
    mm_pfn_set_modified(p->vm->db, pfn, true); /* private pages have no copy elsewhere: always dirty */
    mm_pfn_unlock(p->vm->db);
    mm_ptm_write(p->as, slot, mm_vm_valid_pte(p, vad, va, pfn, pg->prot));
    p->private_pages++;
    p->counts.demand_zero++;
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_fault(mm_process_t *p, va_t va, ntmm_access_t access, bool user)
{
    mm_aspace_lock(p->as);
    ntmm_status_t st = mm_fault_locked(p, va, access, user);
    mm_aspace_unlock(p->as);
    return st;
}

ntmm_status_t mm_fault_locked(mm_process_t *p, va_t va, ntmm_access_t access, bool user)
{
    const mm_layout_t *l = p->as->layout;
    (void)user;
    p->counts.faults++;
    if (mm_aspace_is_system_va(p->as, va) || va > l->highest_user || va < l->lowest_user) {
        p->counts.access_violations++;
        return NTMM_STATUS_ACCESS_VIOLATION;
    }
    ntmm_status_t st = NTMM_STATUS_ACCESS_VIOLATION;
    mm_vad_t *vad = mm_vad_find(&p->vads, va >> NTMM_PAGE_SHIFT);
    if (vad) {
        mm_vm_page_t pg;
        mm_vm_page_state(p, vad, va, &pg);
        if (pg.kind == MM_PTE_KIND_VALID) {
            st = fault_on_valid(p, vad, va, access, &pg);
        } else if (pg.committed) {
            switch (mm_protect_check_access(pg.prot, access)) {
            case MM_ACCESS_GUARD: st = fault_guard(p, vad, va, &pg); break;
            case MM_ACCESS_ALLOWED:
            case MM_ACCESS_COPY_ON_WRITE:
                if (pg.kind == MM_PTE_KIND_ZERO || pg.kind == MM_PTE_KIND_DEMAND_ZERO) st = fault_demand_zero(p, vad, va, &pg);
                else if (pg.kind == MM_PTE_KIND_TRANSITION) st = fault_transition(p, vad, va, &pg);
                else st = NTMM_STATUS_IN_PAGE_ERROR; /* page-file/prototype: the paging and sections issues */
                if (st == NTMM_STATUS_SUCCESS && access == NTMM_ACCESS_WRITE) mm_vm_watch_mark(p, vad, va);
                break;
            case MM_ACCESS_DENIED: st = NTMM_STATUS_ACCESS_VIOLATION; break;
            }
        }
    }
    if (st == NTMM_STATUS_ACCESS_VIOLATION) p->counts.access_violations++;
    return st;
}

static void access_exception(ntmm_exception_record_t *er, ntmm_status_t code, ntmm_access_t access, uint64_t address)
{
    static const uint64_t kind_code[3] = { NTMM_EXCEPTION_READ_FAULT, NTMM_EXCEPTION_WRITE_FAULT,
                                           NTMM_EXCEPTION_EXECUTE_FAULT };
    memset(er, 0, sizeof *er);
    er->code = (uint32_t)code;
    er->parameter_count = 2;
    er->information[0] = kind_code[access];
    er->information[1] = address;
}

ntmm_status_t mm_access(mm_process_t *p, hw_cpu_t *cpu, va_t va, void *buf, size_t len, ntmm_access_t access,
                        size_t *done, ntmm_exception_record_t *er)
{
    size_t moved = 0;
    unsigned retries = 0;
    uint8_t *b = buf;
    bool user = cpu->cpl == 3;
    for (;;) {
        hw_cpu_poll(cpu); /* an instruction boundary: take pending TLB shootdowns (mm_vm_flush_va) */
        size_t n = 0;
        ntmm_fault_t f;
        bool ok = hw_access_linear(cpu, va + moved, b + moved, len - moved, access, &n, &f);
        moved += n;
        if (ok) break;
        if (n) retries = 0;
        ntmm_status_t st;
        if (f.vector != NTMM_VEC_PF) {
            /* #GP (non-canonical) reports an unknown address, as Windows does: all ones */
            st = NTMM_STATUS_ACCESS_VIOLATION;
            access_exception(er, st, access, f.vector == NTMM_VEC_GP ? UINT64_MAX : f.address);
            if (f.vector == NTMM_VEC_MC) er->code = (uint32_t)NTMM_STATUS_IN_PAGE_ERROR, st = NTMM_STATUS_IN_PAGE_ERROR;
        } else {
            st = mm_fault(p, f.address, access, user);
            if (st == NTMM_STATUS_SUCCESS) {
                if (++retries > 8) /* the resolver made no progress: a memory-manager bug */
                    return NTMM_BUGCHECK(&p->vm->db->machine->bugcheck, NTMM_BUGCHECK_MEMORY_MANAGEMENT, 0x41201u,
                                         f.address, f.error_code, 0);
                continue;
            }
            access_exception(er, st, access, f.address);
        }
        if (done) *done = moved;
        return st;
    }
    if (done) *done = moved;
    return NTMM_STATUS_SUCCESS;
}
