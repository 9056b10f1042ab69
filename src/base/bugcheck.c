/* bugcheck.c - recording the first bugcheck of a simulated machine; names of codes. */
#include "base/bugcheck.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/debug.h"

ntmm_status_t base_bugcheck_raise(ntmm_bugcheck_t *bc, uint32_t code, uint64_t p1, uint64_t p2,
                                  uint64_t p3, uint64_t p4, const char *where)
{
    uint32_t expected = 0;
    NTMM_ASSERT(code != 0);
    /* Claim the record with a placeholder so concurrent raisers see it taken at once. */
    if (__atomic_compare_exchange_n(&bc->code, &expected, UINT32_MAX, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        bc->param[0] = p1;
        bc->param[1] = p2;
        bc->param[2] = p3;
        bc->param[3] = p4;
        bc->where = where;
        __atomic_store_n(&bc->code, code, __ATOMIC_RELEASE);
    }
    return NTMM_STATUS_MACHINE_HALTED;
}

const ntmm_bugcheck_t *base_bugcheck_record(const ntmm_bugcheck_t *bc)
{
    uint32_t code;
    while ((code = __atomic_load_n(&bc->code, __ATOMIC_ACQUIRE)) == UINT32_MAX) {
        /* the raiser is between claiming the record and publishing its code: a few stores */
    }
    return code ? bc : NULL;
}

const char *ntmm_bugcheck_name(uint32_t code)
{
    switch (code) {
    case NTMM_BUGCHECK_IRQL_NOT_LESS_OR_EQUAL: return "IRQL_NOT_LESS_OR_EQUAL";
    case NTMM_BUGCHECK_BAD_POOL_HEADER: return "BAD_POOL_HEADER";
    case NTMM_BUGCHECK_MEMORY_MANAGEMENT: return "MEMORY_MANAGEMENT";
    case NTMM_BUGCHECK_PFN_SHARE_COUNT: return "PFN_SHARE_COUNT";
    case NTMM_BUGCHECK_PFN_REFERENCE_COUNT: return "PFN_REFERENCE_COUNT";
    case NTMM_BUGCHECK_NO_PAGES_AVAILABLE: return "NO_PAGES_AVAILABLE";
    case NTMM_BUGCHECK_PFN_LIST_CORRUPT: return "PFN_LIST_CORRUPT";
    case NTMM_BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA: return "PAGE_FAULT_IN_NONPAGED_AREA";
    case NTMM_BUGCHECK_KERNEL_STACK_INPAGE_ERROR: return "KERNEL_STACK_INPAGE_ERROR";
    case NTMM_BUGCHECK_KERNEL_DATA_INPAGE_ERROR: return "KERNEL_DATA_INPAGE_ERROR";
    case NTMM_BUGCHECK_BAD_POOL_CALLER: return "BAD_POOL_CALLER";
    case NTMM_BUGCHECK_DRIVER_CORRUPTED_EXPOOL: return "DRIVER_CORRUPTED_EXPOOL";
    case NTMM_BUGCHECK_ATTEMPTED_WRITE_TO_READONLY_MEMORY: return "ATTEMPTED_WRITE_TO_READONLY_MEMORY";
    case NTMM_BUGCHECK_WHEA_UNCORRECTABLE_ERROR: return "WHEA_UNCORRECTABLE_ERROR";
    default: return "UNKNOWN";
    }
}

void base_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "ntmm: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
