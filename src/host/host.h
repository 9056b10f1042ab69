/*
 * host.h - the contract between ntmm and the real operating system.
 *
 * This is the only interface through which hw, mm and rt reach the host (mimalloc's prim/
 * idea): guest RAM backing, the clock, locks, and (later) files for page files and mapped
 * files. host_posix.c implements it for POSIX systems; a freestanding build (ntmm booting as
 * its own kernel) supplies another implementation of the same functions.
 */
#ifndef NTMM_HOST_H
#define NTMM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Reserves `bytes` of zero-filled host memory that costs nothing until touched (a lazily
 * backed mapping: 64 GiB of guest RAM that a test never touches takes no host RAM).
 * Returns NULL if the host refuses.
 */
void *host_mem_reserve_lazy(size_t bytes);

/* Releases a block from host_mem_reserve_lazy. */
void host_mem_release(void *base, size_t bytes);

/*
 * Returns the pages of [base, base+bytes) to the host; they read as zero afterwards and cost
 * nothing until touched again. base and bytes are multiples of host_page_size(). Returns false
 * if the host could not discard them (the caller must then zero them itself).
 */
bool host_mem_discard(void *base, size_t bytes);

size_t host_page_size(void);

/* Ordinary heap memory for ntmm's own bookkeeping. */
void *host_alloc(size_t bytes);
void *host_calloc(size_t count, size_t bytes);
void host_free(void *p);

/* Monotonic clock in nanoseconds. */
uint64_t host_now_ns(void);

/* A non-recursive mutex. */
typedef struct host_mutex host_mutex_t;
host_mutex_t *host_mutex_create(void);
void host_mutex_destroy(host_mutex_t *m);
void host_mutex_lock(host_mutex_t *m);
void host_mutex_unlock(host_mutex_t *m);

#endif /* NTMM_HOST_H */
