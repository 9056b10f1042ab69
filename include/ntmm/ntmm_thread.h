/*
 * ntmm_thread.h - threads' user stacks and the kernel's probes of user buffers.
 *
 * A thread here is what the memory manager sees of one: its user stack, laid out as
 * RtlCreateUserStack does (a reservation; its top committed PAGE_READWRITE; a guard page,
 * PAGE_READWRITE | PAGE_GUARD, below it; the last page of the reservation never used) and
 * its TEB's bounds (NT_TIB.StackBase, NT_TIB.StackLimit, TEB.DeallocationStack). A touch of the
 * guard page by ntmm_process_access moves the guard one page down and completes the access
 * without an exception; when no page is left for a new guard above the last page,
 * STATUS_STACK_OVERFLOW (0xC00000FD) is raised once and the stack may use everything down to
 * the last page, whose touch is an access violation. The thread consulted on a guard fault is
 * the one whose stack holds the address (ntmm has no current thread in an access).
 *
 * ntmm_probe_for_read / ntmm_probe_for_write are ProbeForRead / ProbeForWrite called by a
 * kernel-mode caller on a user buffer of the process: they return the status the caller's
 * __try would catch (STATUS_SUCCESS when nothing is raised).
 */
#ifndef NTMM_THREAD_H
#define NTMM_THREAD_H

#include <stdint.h>

#include <ntmm/ntmm_process.h>

typedef struct ntmm_thread ntmm_thread_t;

/*
 * Creates a thread of the process with a user stack. reserve: 0 for 1 MiB, rounded up to
 * 64 KiB; commit: 0 for one page, rounded up to pages. A commit that leaves no room for the
 * guard page and the last page grows the reservation to a multiple of 1 MiB (as CreateThread
 * does for a commit size above the reserve). STATUS_INVALID_PARAMETER (NULL arguments),
 * STATUS_NO_MEMORY, STATUS_COMMITMENT_LIMIT.
 */
ntmm_status_t ntmm_thread_create(ntmm_process_t *process, uint64_t reserve, uint64_t commit, ntmm_thread_t **thread);

/* The thread's stack bounds: StackBase (one past the top), StackLimit (the lowest committed
 * byte above the guard) and DeallocationStack (the reservation's base); any may be NULL. */
ntmm_status_t ntmm_thread_stack(ntmm_thread_t *thread, uint64_t *base, uint64_t *limit, uint64_t *deallocation);

/* Releases the thread's stack and the thread. Threads not destroyed go with their process
 * (their handles are then invalid). */
ntmm_status_t ntmm_thread_destroy(ntmm_thread_t *thread);

/*
 * ProbeForRead: length 0 succeeds with no check; otherwise STATUS_DATATYPE_MISALIGNMENT if
 * address is not a multiple of alignment (1, 2, 4, 8 or 16; others: STATUS_INVALID_PARAMETER,
 * where Windows asserts), then STATUS_ACCESS_VIOLATION if [address, address + length) wraps
 * or ends past the layout's MM_USER_PROBE_ADDRESS. Memory is not touched.
 */
ntmm_status_t ntmm_probe_for_read(ntmm_process_t *process, uint64_t address, uint64_t length, uint32_t alignment);

/*
 * ProbeForWrite: ProbeForRead's checks, then a kernel-mode read and write-back of one byte in
 * every page of the range (at address, then at each page start), on CPU 0 of the machine, so
 * the range faults as the real probe does: STATUS_ACCESS_VIOLATION for a free, reserved or
 * read-only page, STATUS_GUARD_PAGE_VIOLATION for a guard page (a stack's guard moves instead),
 * STATUS_STACK_OVERFLOW.
 */
ntmm_status_t ntmm_probe_for_write(ntmm_process_t *process, uint64_t address, uint64_t length, uint32_t alignment);

#endif /* NTMM_THREAD_H */
