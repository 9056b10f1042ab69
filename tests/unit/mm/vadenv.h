/*
 * vadenv.h - what the VAD tests share: the user-space limits of the layouts they use, status
 * shorthands, a VAD with a label for pictures, the checker call and a reservation helper.
 */
#ifndef NTMM_TEST_VADENV_H
#define NTMM_TEST_VADENV_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/rng.h"
#include "mm/vad.h"

/* Process layouts: lowest and highest VAD page (MM_LOWEST_USER_ADDRESS 0x10000 to
 * MM_HIGHEST_VAD_ADDRESS 0x7FFEFFFF / 0x7FFFFFFEFFFF). */
#define LO32 0x10u
#define HI32 0x7FFEFu
#define LO64 0x10u
#define HI64 0x7FFFFFFEFull

#define PAGE_NOACCESS  0x01u
#define PAGE_READWRITE 0x04u

#define S_OK       NTMM_STATUS_SUCCESS
#define S_CONFLICT NTMM_STATUS_CONFLICTING_ADDRESSES
#define S_INVALID  NTMM_STATUS_INVALID_PARAMETER
#define S_INVALID3 NTMM_STATUS_INVALID_PARAMETER_3
#define S_NOMEM    NTMM_STATUS_NO_MEMORY

typedef struct tvad {
    mm_vad_t vad;
    char label; /* its letter in pictures */
    uint32_t id; /* the random test's model id */
} tvad_t;

#define TVAD(v) ((const tvad_t *)(const void *)(v))

static inline void check(const mm_vad_tree_t *t)
{
    const mm_vad_t *bad = (const mm_vad_t *)1;
    bool ok = mm_vad_check(t, &bad);
    if (!ok) fprintf(stderr, "mm_vad_check failed at %p\n", (const void *)bad);
    assert_true(ok);
    assert_null(bad);
}

static inline ntmm_status_t reserve(mm_vad_tree_t *t, tvad_t *tv, char label, vpn_t start, uint64_t pages)
{
    mm_vad_init(&tv->vad, start, start + pages - 1, MM_VAD_PRIVATE, PAGE_READWRITE, 0);
    tv->label = label;
    ntmm_status_t st = mm_vad_insert(t, &tv->vad);
    check(t);
    return st;
}

/* `granules` granules from vpn `first` (a multiple of 16), as in the legend. */

#endif
