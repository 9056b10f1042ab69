/* host_posix.c - the host contract (host.h) on POSIX systems (Linux, BSD, macOS). */
#define _DEFAULT_SOURCE
#include "host/host.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

void *host_mem_reserve_lazy(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void host_mem_release(void *base, size_t bytes)
{
    if (base) munmap(base, bytes);
}

bool host_mem_discard(void *base, size_t bytes)
{
#if defined(MADV_DONTNEED) && defined(__linux__)
    return madvise(base, bytes, MADV_DONTNEED) == 0; /* private anonymous: reads zero after */
#else
    (void)base;
    (void)bytes;
    return false;
#endif
}

size_t host_page_size(void)
{
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (size_t)n : 4096u;
}

void *host_alloc(size_t bytes) { return malloc(bytes); }
void *host_calloc(size_t count, size_t bytes) { return calloc(count, bytes); }
void host_free(void *p) { free(p); }

uint64_t host_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct host_mutex { pthread_mutex_t m; };

host_mutex_t *host_mutex_create(void)
{
    host_mutex_t *m = malloc(sizeof *m);
    if (m && pthread_mutex_init(&m->m, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void host_mutex_destroy(host_mutex_t *m)
{
    if (!m) return;
    pthread_mutex_destroy(&m->m);
    free(m);
}

void host_mutex_lock(host_mutex_t *m) { pthread_mutex_lock(&m->m); }
void host_mutex_unlock(host_mutex_t *m) { pthread_mutex_unlock(&m->m); }
