/*
 * stack.h - threads' user stacks as Windows lays them out (NT: RtlCreateUserStack /
 * MmCreateTeb's stack part, the TEB's NT_TIB.StackBase, NT_TIB.StackLimit and
 * DeallocationStack) and their growth through a guard page (MiCheckForUserStackOverflow).
 *
 *   StackBase          +--------------------------+  top of the reservation
 *                      | committed, PAGE_READWRITE|  the stack in use (grows down)
 *   StackLimit         +--------------------------+
 *                      | guard: RW | PAGE_GUARD   |  1..3 pages, COMMIT
 *                      +--------------------------+
 *                      | reserved                 |  RESERVE, AllocationProtect RW
 *                      |            ...           |
 *                      +--------------------------+
 *                      | last page: never used    |  stays reserved, even after overflow
 *   DeallocationStack  +--------------------------+  AllocationBase of every page
 *
 * A touch of a guard page in a stack (its VAD carries MM_VAD_STACK) clears that guard as any
 * guard fault does; then, if the page below can become the new guard without reaching the
 * last page of the reservation, it is committed RW|GUARD, StackLimit moves down to the
 * touched page and the access is retried (NT returns STATUS_PAGE_FAULT_GUARD_PAGE: no
 * exception). Otherwise the pages down to the last one are committed RW, StackLimit moves
 * there and STATUS_STACK_OVERFLOW is raised; with no guard left it is raised once, and a
 * touch of the last page is an access violation.
 *
 * Simplification: NT consults the faulting thread's TEB; ntmm has no current thread in an
 * access, so the thread whose stack holds the address is the one consulted.
 *
 * Locking: the thread list (mm_process_t.threads) and the bounds of each thread are covered by
 * the process's address-space lock.
 */
#ifndef NTMM_MM_STACK_H
#define NTMM_MM_STACK_H

#include "mm/vm.h"

#define MM_STACK_DEFAULT_RESERVE 0x100000u /* 1 MiB (the image's SizeOfStackReserve default) */
#define MM_STACK_RESERVE_ROUND   0x100000u /* a commit that does not fit rounds the reserve up to 1 MiB */
#define MM_STACK_MAX_GUARD_PAGES 3u

/* A thread's stack bounds, as its TEB holds them. */
typedef struct mm_thread {
    mm_process_t *process;
    struct mm_thread *next;   /* in process->threads */
    va_t stack_base;          /* NT_TIB.StackBase: one past the highest byte of the stack */
    va_t stack_limit;         /* NT_TIB.StackLimit: the lowest committed non-guard byte */
    va_t deallocation_stack;  /* TEB.DeallocationStack: the reservation's base */
    uint64_t guard_pages;     /* of the initial guard region */
    uint64_t growths;         /* guard moves resolved without an exception */
    uint64_t overflows;       /* STATUS_STACK_OVERFLOW raised (0 or 1) */
} mm_thread_t;

/*
 * Creates a thread of p with a user stack (NT: RtlCreateUserStack). reserve: 0 for 1 MiB,
 * rounded up to 64 KiB; commit: 0 for one page, rounded up to pages; guard_pages 1..3. When
 * commit, the guard and the last page do not fit in the reservation, the reservation grows to
 * the next MiB multiple that holds them. The top `commit` bytes are committed RW, the
 * guard_pages below them RW|GUARD, the rest reserved RW. Statuses: INVALID_PARAMETER
 * (guard_pages), those of NtAllocateVirtualMemory (NO_MEMORY, COMMITMENT_LIMIT), with nothing
 * left behind. Takes the address-space lock.
 */
ntmm_status_t mm_thread_create(mm_process_t *p, uint64_t reserve, uint64_t commit, unsigned guard_pages,
                               mm_thread_t **out);

/* Releases the thread's stack (if its allocation is still there) and the thread (NT: the
 * stack part of PspExitThread / NtTerminateThread's cleanup). Takes the address-space lock. */
ntmm_status_t mm_thread_destroy(mm_thread_t *t);

/*
 * The stack part of the guard-page fault (NT: MiCheckForUserStackOverflow), called by the
 * fault handler after it cleared the guard of page va of stack VAD vad. Returns STATUS_SUCCESS
 * when the guard moved down (the access is retried), STATUS_STACK_OVERFLOW, or
 * STATUS_GUARD_PAGE_VIOLATION when va is in no thread's stack. Address-space lock held.
 */
ntmm_status_t mm_stack_guard_fault(mm_process_t *p, mm_vad_t *vad, va_t va);

/* Every thread's bounds are page-aligned user addresses with DeallocationStack < StackLimit <=
 * StackBase (the stack's pages, and its allocation, are the process's to change: nothing more
 * is invariant). Address-space lock held (mm_process_check). */
bool mm_stack_check(mm_process_t *p);

/* Frees every thread object of p without touching memory (process teardown releases the
 * VADs). Address-space lock held. */
void mm_stack_forget_threads(mm_process_t *p);

#endif /* NTMM_MM_STACK_H */
