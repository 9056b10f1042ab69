/*
 * ntmm_bugcheck.h - bugchecks of the simulated machine.
 *
 * A state that cannot happen in a correct memory manager (a corrupt page list, a frame freed
 * twice, an invariant validator failing) stops the *simulated* machine the way KeBugCheckEx
 * stops Windows: the first bugcheck is recorded with its code and four parameters, the
 * machine is halted, and every later call into it returns NTMM_STATUS_MACHINE_HALTED. The host
 * process never crashes because of it. Codes are Windows' own bugcheck codes.
 */
#ifndef NTMM_BUGCHECK_H
#define NTMM_BUGCHECK_H

#include <stdint.h>

#define NTMM_BUGCHECK_IRQL_NOT_LESS_OR_EQUAL          0x0000000Au
#define NTMM_BUGCHECK_BAD_POOL_HEADER                 0x00000019u
#define NTMM_BUGCHECK_MEMORY_MANAGEMENT               0x0000001Au
#define NTMM_BUGCHECK_PFN_SHARE_COUNT                 0x0000001Bu
#define NTMM_BUGCHECK_PFN_REFERENCE_COUNT             0x0000001Cu
#define NTMM_BUGCHECK_NO_PAGES_AVAILABLE              0x0000004Du
#define NTMM_BUGCHECK_PFN_LIST_CORRUPT                0x0000004Eu
#define NTMM_BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA     0x00000050u
#define NTMM_BUGCHECK_KERNEL_STACK_INPAGE_ERROR       0x00000077u
#define NTMM_BUGCHECK_KERNEL_DATA_INPAGE_ERROR        0x0000007Au
#define NTMM_BUGCHECK_BAD_POOL_CALLER                 0x000000C2u
#define NTMM_BUGCHECK_DRIVER_CORRUPTED_EXPOOL         0x000000C5u
#define NTMM_BUGCHECK_ATTEMPTED_WRITE_TO_READONLY_MEMORY 0x000000BEu
#define NTMM_BUGCHECK_WHEA_UNCORRECTABLE_ERROR      0x00000124u

typedef struct ntmm_bugcheck {
    uint32_t code;          /* one of NTMM_BUGCHECK_*; 0 while the machine runs */
    uint64_t param[4];      /* the four KeBugCheckEx parameters */
    const char *where;      /* "file:line" of the ntmm source that raised it */
} ntmm_bugcheck_t;

/* The symbolic name of a bugcheck code ("PFN_LIST_CORRUPT"), or "UNKNOWN". */
const char *ntmm_bugcheck_name(uint32_t code);

#endif /* NTMM_BUGCHECK_H */
