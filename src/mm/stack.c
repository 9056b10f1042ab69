/*
 * stack.c - threads' user stacks: creation as RtlCreateUserStack lays them out, teardown, and
 * the moving guard page of MiCheckForUserStackOverflow (see stack.h for the layout and the
 * rules).
 */
#include "mm/stack.h"

#include "host/host.h"

#define P ((uint64_t)NTMM_PAGE_SIZE)

ntmm_status_t mm_thread_create(mm_process_t *p, uint64_t reserve, uint64_t commit, unsigned guard_pages,
                               mm_thread_t **out)
{
    *out = NULL;
    if (guard_pages < 1 || guard_pages > MM_STACK_MAX_GUARD_PAGES) return NTMM_STATUS_INVALID_PARAMETER;
    const mm_layout_t *l = p->as->layout;
    if (reserve > l->highest_user || commit > l->highest_user) return NTMM_STATUS_NO_MEMORY;
    reserve = reserve ? ntmm_align_up(reserve, MM_VAD_GRANULARITY) : MM_STACK_DEFAULT_RESERVE;
    commit = commit ? ntmm_align_up(commit, P) : P;
    uint64_t need = commit + guard_pages * P + P; /* the stack, its guard, the last page */
    if (need > reserve) reserve = ntmm_align_up(need, MM_STACK_RESERVE_ROUND);
    mm_thread_t *t = host_calloc(1, sizeof *t);
    if (!t) return NTMM_STATUS_NO_MEMORY;
    va_t d = 0;
    uint64_t s = reserve;
    ntmm_status_t st = mm_vm_allocate(p, &d, 0, &s, NTMM_MEM_RESERVE, NTMM_PAGE_READWRITE);
    if (st != NTMM_STATUS_SUCCESS) {
        host_free(t);
        return st;
    }
    va_t top = d + reserve, b = top - commit;
    s = commit;
    st = mm_vm_allocate(p, &b, 0, &s, NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE);
    if (st == NTMM_STATUS_SUCCESS) {
        b = top - commit - guard_pages * P;
        s = guard_pages * P;
        st = mm_vm_allocate(p, &b, 0, &s, NTMM_MEM_COMMIT, NTMM_PAGE_READWRITE | NTMM_PAGE_GUARD);
    }
    if (st != NTMM_STATUS_SUCCESS) {
        s = 0;
        mm_vm_free(p, &d, &s, NTMM_MEM_RELEASE);
        host_free(t);
        return st;
    }
    t->process = p;
    t->stack_base = top;
    t->stack_limit = top - commit;
    t->deallocation_stack = d;
    t->guard_pages = guard_pages;
    mm_aspace_lock(p->as);
    mm_vad_t *vad = mm_vad_find(&p->vads, d >> NTMM_PAGE_SHIFT);
    vad->flags |= MM_VAD_STACK;
    t->next = p->threads;
    p->threads = t;
    mm_aspace_unlock(p->as);
    *out = t;
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_thread_destroy(mm_thread_t *t)
{
    if (!t) return NTMM_STATUS_INVALID_PARAMETER;
    mm_process_t *p = t->process;
    bool release = false;
    mm_aspace_lock(p->as);
    for (mm_thread_t **pp = &p->threads; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    /* the stack may have been freed (and the range reused) behind the thread's back */
    mm_vad_t *vad = mm_vad_find(&p->vads, t->deallocation_stack >> NTMM_PAGE_SHIFT);
    release = vad && (vad->flags & MM_VAD_STACK) && vad->start_vpn == t->deallocation_stack >> NTMM_PAGE_SHIFT;
    mm_aspace_unlock(p->as);
    ntmm_status_t st = NTMM_STATUS_SUCCESS;
    if (release) {
        va_t b = t->deallocation_stack;
        uint64_t s = 0;
        st = mm_vm_free(p, &b, &s, NTMM_MEM_RELEASE);
    }
    host_free(t);
    return st;
}

ntmm_status_t mm_stack_guard_fault(mm_process_t *p, mm_vad_t *vad, va_t va)
{
    mm_thread_t *t = p->threads;
    while (t && (va < t->deallocation_stack || va >= t->stack_base)) t = t->next;
    if (!t || !(vad->flags & MM_VAD_STACK)) return NTMM_STATUS_GUARD_PAGE_VIOLATION;
    va_t page = ntmm_align_down(va, P), d = t->deallocation_stack;
    mm_prot_t rw = mm_protect_from_win32(NTMM_PAGE_READWRITE);
    if (page - d > 2u * P) {
        /* room below: the page under the touched one becomes the guard */
        vpn_t g = (page - P) >> NTMM_PAGE_SHIFT;
        ntmm_status_t st = mm_vm_commit_locked(p, vad, g, g, mm_protect_from_win32(NTMM_PAGE_READWRITE | NTMM_PAGE_GUARD));
        if (st == NTMM_STATUS_SUCCESS) {
            if (page < t->stack_limit) t->stack_limit = page;
            t->growths++;
            return NTMM_STATUS_SUCCESS; /* NT: STATUS_PAGE_FAULT_GUARD_PAGE, the access is retried */
        }
        if (page < t->stack_limit) t->stack_limit = page; /* NT: no room to move the guard */
    } else {
        /* the last guard: what is left above the last page becomes usable stack */
        if (page < t->stack_limit) t->stack_limit = page;
        if (page > d + P && mm_vm_commit_locked(p, vad, (d + P) >> NTMM_PAGE_SHIFT, (page - P) >> NTMM_PAGE_SHIFT,
                                                rw) == NTMM_STATUS_SUCCESS)
            t->stack_limit = d + P;
    }
    t->overflows++;
    return NTMM_STATUS_STACK_OVERFLOW;
}

bool mm_stack_check(mm_process_t *p)
{
    for (const mm_thread_t *t = p->threads; t; t = t->next) {
        va_t d = t->deallocation_stack, l = t->stack_limit, b = t->stack_base;
        if ((d | l | b) & (P - 1u) || !(d < l && l <= b)) return false;
        if (b - 1u > p->as->layout->highest_user || d < p->as->layout->lowest_user) return false;
    }
    return true;
}

void mm_stack_forget_threads(mm_process_t *p)
{
    while (p->threads) {
        mm_thread_t *t = p->threads;
        p->threads = t->next;
        host_free(t);
    }
}
