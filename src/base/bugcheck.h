/*
 * bugcheck.h - raising a bugcheck of the simulated machine (see include/ntmm/ntmm_bugcheck.h).
 *
 * The owner of an ntmm_bugcheck_t (the machine) passes it down; raising records the first
 * bugcheck only (later ones are consequences) and never returns control to a caller that
 * expects success: the caller returns NTMM_STATUS_MACHINE_HALTED. Thread-safe: the first
 * raiser wins through an atomic compare-and-swap on the code.
 */
#ifndef NTMM_BASE_BUGCHECK_H
#define NTMM_BASE_BUGCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include <ntmm/ntmm_bugcheck.h>
#include <ntmm/ntmm_status.h>

#define NTMM_STR2_(x) #x
#define NTMM_STR_(x) NTMM_STR2_(x)

/* Records the bugcheck if it is the machine's first; returns NTMM_STATUS_MACHINE_HALTED. */
ntmm_status_t base_bugcheck_raise(ntmm_bugcheck_t *bc, uint32_t code, uint64_t p1, uint64_t p2,
                                  uint64_t p3, uint64_t p4, const char *where);

/* True once the owner of bc has bugchecked (from the moment a raiser claims the record). */
static inline bool base_bugcheck_halted(const ntmm_bugcheck_t *bc)
{
    return __atomic_load_n(&bc->code, __ATOMIC_ACQUIRE) != 0;
}

/* The complete record once halted (waits out a raiser still filling it in), else NULL. */
const ntmm_bugcheck_t *base_bugcheck_record(const ntmm_bugcheck_t *bc);

#define NTMM_BUGCHECK(bc, code, p1, p2, p3, p4)                                              \
    base_bugcheck_raise((bc), (code), (uint64_t)(p1), (uint64_t)(p2), (uint64_t)(p3),        \
                        (uint64_t)(p4), __FILE__ ":" NTMM_STR_(__LINE__))

#endif /* NTMM_BASE_BUGCHECK_H */
