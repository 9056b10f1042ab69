/*
 * test_zero_thread.c - the zeroing step on a host thread of its own, beside allocations and
 * frees on another, as NT's zero page thread runs beside the rest of the system. Every frame
 * handed out for a zeroed request must read as zeros; the database stays consistent. Run
 * under ThreadSanitizer by make check (label "threads").
 */
#include <pthread.h>

#include "pfnenv.h"

typedef struct zero_job {
    mm_pfndb_t *db;
    volatile int stop; /* set by the main thread under the PFN lock, read under it */
    uint64_t zeroed;
} zero_job_t;

static void *zero_thread(void *arg)
{
    zero_job_t *j = arg;
    for (;;) {
        mm_pfn_lock(j->db);
        int stop = j->stop;
        mm_pfn_unlock(j->db);
        if (stop) break;
        j->zeroed += mm_zero_step(j->db, 16);
    }
    return NULL;
}

static void test_zeroing_beside_allocation(void **state)
{
    (void)state;
    static const ntmm_frame_allocator_t kinds[] = { NTMM_FRAMES_NT_LISTS, NTMM_FRAMES_BITMAP, NTMM_FRAMES_BUDDY };
    for (size_t k = 0; k < NTMM_ARRAY_SIZE(kinds); k++) {
        pfnenv_t e;
        pfnenv_init(&e, NTMM_MIB(4), kinds[k]);
        mm_pfndb_t *db = &e.db;
        zero_job_t job = { db, 0, 0 };
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, zero_thread, &job), 0);
        base_rng_t r;
        base_rng_seed(&r, 42);
        pfn_t held[256];
        unsigned n = 0;
        for (unsigned step = 0; step < 20000; step++) {
            mm_pfn_lock(db);
            if (n < 256 && (n == 0 || base_rng_below(&r, 2))) {
                pfn_t f;
                if (mm_pfn_allocate(db, MM_ALLOC_ZEROED, NTMM_USE_PROCESS_PRIVATE, 0, 0, &f) == NTMM_STATUS_SUCCESS) {
                    const uint8_t *b = pfnenv_frame(&e, f);
                    for (unsigned i = 0; i < NTMM_PAGE_SIZE; i += 64) assert_int_equal(b[i], 0);
                    memset(pfnenv_frame(&e, f), 0xCC, NTMM_PAGE_SIZE); /* dirty it for the next owner */
                    held[n++] = f;
                }
            } else {
                unsigned i = (unsigned)base_rng_below(&r, n);
                assert_int_equal(mm_pfn_free(db, held[i]), NTMM_STATUS_SUCCESS);
                held[i] = held[--n];
            }
            mm_pfn_unlock(db);
            if (step % 1000 == 0) pfnenv_check(&e);
        }
        mm_pfn_lock(db);
        job.stop = 1;
        mm_pfn_unlock(db);
        pthread_join(t, NULL);
        pfnenv_check(&e);
        ntmm_memory_stats_t s;
        mm_pfn_stats(db, &s);
        assert_int_equal(s.zeroed_by_step, job.zeroed);
        pfnenv_destroy(&e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zeroing_beside_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
