/*
 * thread.c - the public thread-stack and probe facade (ntmm_thread.h): validates and forwards
 * to the memory manager's stacks (mm/stack.h); ProbeForRead / ProbeForWrite's checks and
 * page touches (NT: ProbeForRead, ProbeForWrite in ex/probe) run here on the process facade.
 */
#include "api/api.h"

#include <ntmm/ntmm_thread.h>

#include "mm/stack.h"

/* The public handle is the memory manager's thread object. */
static mm_thread_t *thread_mm(ntmm_thread_t *t) { return (mm_thread_t *)(void *)t; }

ntmm_status_t ntmm_thread_create(ntmm_process_t *process, uint64_t reserve, uint64_t commit, ntmm_thread_t **thread)
{
    if (!thread) return NTMM_STATUS_INVALID_PARAMETER;
    *thread = NULL;
    mm_process_t *p;
    ntmm_status_t st = api_process_mm(process, &p);
    if (st != NTMM_STATUS_SUCCESS) return st;
    mm_thread_t *t;
    st = mm_thread_create(p, reserve, commit, 1, &t);
    if (st == NTMM_STATUS_SUCCESS) *thread = (ntmm_thread_t *)(void *)t;
    return st;
}

ntmm_status_t ntmm_thread_stack(ntmm_thread_t *thread, uint64_t *base, uint64_t *limit, uint64_t *deallocation)
{
    if (!thread) return NTMM_STATUS_INVALID_HANDLE;
    mm_thread_t *t = thread_mm(thread);
    mm_aspace_lock(t->process->as);
    if (base) *base = t->stack_base;
    if (limit) *limit = t->stack_limit;
    if (deallocation) *deallocation = t->deallocation_stack;
    mm_aspace_unlock(t->process->as);
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t ntmm_thread_destroy(ntmm_thread_t *thread)
{
    if (!thread) return NTMM_STATUS_INVALID_HANDLE;
    return mm_thread_destroy(thread_mm(thread));
}

/* ProbeForRead's checks, shared with ProbeForWrite (length > 0). */
static ntmm_status_t probe_check(mm_process_t *p, uint64_t address, uint64_t length, uint32_t alignment)
{
    if (alignment != 1 && alignment != 2 && alignment != 4 && alignment != 8 && alignment != 16)
        return NTMM_STATUS_INVALID_PARAMETER;
    if (address & (alignment - 1u)) return NTMM_STATUS_DATATYPE_MISALIGNMENT;
    uint64_t last = address + length - 1u;
    if (last < address || last >= p->as->layout->user_probe) return NTMM_STATUS_ACCESS_VIOLATION;
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t ntmm_probe_for_read(ntmm_process_t *process, uint64_t address, uint64_t length, uint32_t alignment)
{
    mm_process_t *p;
    ntmm_status_t st = api_process_mm(process, &p);
    if (st != NTMM_STATUS_SUCCESS || length == 0) return st;
    return probe_check(p, address, length, alignment);
}

ntmm_status_t ntmm_probe_for_write(ntmm_process_t *process, uint64_t address, uint64_t length, uint32_t alignment)
{
    mm_process_t *p;
    ntmm_status_t st = api_process_mm(process, &p);
    if (st != NTMM_STATUS_SUCCESS || length == 0) return st;
    st = probe_check(p, address, length, alignment);
    uint64_t last_page = ntmm_align_down(address + length - 1u, NTMM_PAGE_SIZE);
    for (uint64_t va = address; st == NTMM_STATUS_SUCCESS;) {
        uint8_t byte;
        st = ntmm_process_access(process, 0, 0, va, &byte, 1, NTMM_ACCESS_READ, NULL, NULL);
        if (st == NTMM_STATUS_SUCCESS) st = ntmm_process_access(process, 0, 0, va, &byte, 1, NTMM_ACCESS_WRITE, NULL, NULL);
        if (ntmm_align_down(va, NTMM_PAGE_SIZE) == last_page) break;
        va = ntmm_align_down(va, NTMM_PAGE_SIZE) + NTMM_PAGE_SIZE;
    }
    return st;
}
