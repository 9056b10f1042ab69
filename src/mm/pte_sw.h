/*
 * pte_sw.h - NT's invalid (software) PTE formats, for 4-byte entries (32-bit paging) and
 * 8-byte entries (PAE, 4-level, 5-level): the zero PTE, demand-zero ("protection only"),
 * decommitted, guard, transition, page-file and prototype-pointer PTEs, and NT's software bit
 * in valid PTEs (NT: MMPTE_SOFTWARE, MMPTE_TRANSITION, MMPTE_PROTOTYPE and their _PAE forms,
 * MI_MAKE_VALID_PTE, MI_MAKE_VALID_PTE_TRANSITION, MI_PTE_LOOKUP_NEEDED; Windows Internals 7th
 * ed., part 1, ch. 5, "Invalid PTEs" and "Prototype PTEs").
 *
 * Every software PTE has P (bit 0) = 0, so the MMU never reads the other bits: hw_walk reports
 * a not-present #PF for all of them. Bits 10 (Prototype) and 11 (Transition) tell the formats
 * apart, as in NT. Masks and shifts only, never C bitfields.
 *
 * ---- 4-byte entries (32-bit paging; NT x86 without PAE) ---------------------------------
 *
 *  zero PTE: all 32 bits 0. Not yet created: the VAD says whether the page is committed.
 *
 *  demand zero (MMPTE_SOFTWARE, PageFileHigh = PageFileLow = 0): a committed page never
 *  touched, with its protection only. Protection MM_DECOMMIT = decommitted; a GUARD code = a
 *  guard page; MM_NOACCESS = committed PAGE_NOACCESS.
 *   31                                   12 11 10 9             5 4          1 0
 *  +---------------------------------------+--+--+---------------+------------+-+
 *  |                   0                   |0 |0 |  protection   |     0      |0|
 *  +---------------------------------------+--+--+---------------+------------+-+
 *
 *  page file (MMPTE_SOFTWARE): the page is in page file `file` at page `offset` (offset 0 of
 *  a page file is never used: PageFileHigh = 0 is the demand-zero PTE).
 *   31                                   12 11 10 9             5 4          1 0
 *  +---------------------------------------+--+--+---------------+------------+-+
 *  |  page-file offset (20 bits, != 0)     |0 |0 |  protection   | file 0..15 |0|
 *  +---------------------------------------+--+--+---------------+------------+-+
 *
 *  transition (MMPTE_TRANSITION): the frame is on the standby or modified list (or in I/O) and
 *  still remembered by this PTE. The frame sits in the bits of a hardware PTE's frame, so
 *  mm_pfn_check finds it; bits 4:1 keep the valid PTE's PCD, PWT, U/S and R/W.
 *   31                                   12 11 10 9             5 4  3  2  1  0
 *  +---------------------------------------+--+--+---------------+--+--+--+--+-+
 *  |  page frame number                    |1 |0 |  protection   |CD|WT|Ow|Wr|0|
 *  +---------------------------------------+--+--+---------------+--+--+--+--+-+
 *
 *  prototype pointer (MMPTE_PROTOTYPE): the page is shared; its state is in the prototype PTE
 *  at `proto`, a 4-byte-aligned offset below 2^30 from the caller's prototype-PTE base (NT:
 *  MmProtopte_Base, paged pool). RO: read-only view of a writable prototype. WP (NT's WhichPool)
 *  is 0 in ntmm.
 *   31                                         11 10 9  8  7                    1 0
 *  +---------------------------------------------+--+--+--+----------------------+-+
 *  |  proto bits 29:9                            |1 |WP|RO|   proto bits 8:2     |0|
 *  +---------------------------------------------+--+--+--+----------------------+-+
 *
 *  prototype, look up the VAD (MMPTE_SOFTWARE with Prototype = 1 and PageFileHigh =
 *  MI_PTE_LOOKUP_NEEDED): the prototype PTE is found through the VAD; protection overrides.
 *   31                                   12 11 10 9             5 4          1 0
 *  +---------------------------------------+--+--+---------------+------------+-+
 *  |               0xFFFFF                 |0 |1 |  protection   |     0      |0|
 *  +---------------------------------------+--+--+---------------+------------+-+
 *
 * ---- 8-byte entries (PAE, 4-level, 5-level; NT x64 and x86 PAE) -------------------------
 *
 *  demand zero:
 *   63                                                     10 9         5 4      1 0
 *  +---------------------------------------------------------+-----------+--------+-+
 *  |                           0                             | protection|   0    |0|
 *  +---------------------------------------------------------+-----------+--------+-+
 *
 *  page file:
 *   63                        32 31               12 11 10 9         5 4      1 0
 *  +----------------------------+-------------------+--+--+-----------+--------+-+
 *  | page-file offset (!= 0)    |  0 (NT: used PTEs)|0 |0 | protection| file   |0|
 *  +----------------------------+-------------------+--+--+-----------+--------+-+
 *
 *  transition: the frame field of a hardware PTE at MAXPHYADDR 52 (bits 51:12).
 *   63      52 51                              12 11 10 9         5 4  3  2  1  0
 *  +----------+----------------------------------+--+--+-----------+--+--+--+--+-+
 *  |    0     |  page frame number (40 bits)     |1 |0 | protection|CD|WT|Ow|Wr|0|
 *  +----------+----------------------------------+--+--+-----------+--+--+--+--+-+
 *
 *  prototype pointer: proto is an address that is the sign extension of its low 48 bits (x64's
 *  ProtoAddress:48), 8-byte aligned, and not in the top 64 KiB (those encodings are the
 *  lookup-needed PTE). Protection 0 = the prototype PTE's own protection applies.
 *   63                                       16 15        11 10 9  8  7         1 0
 *  +-------------------------------------------+------------+--+--+--+-----------+-+
 *  |  proto bits 47:0 (2:0 = 0)                | protection |1 |0 |RO|     0     |0|
 *  +-------------------------------------------+------------+--+--+--+-----------+-+
 *
 *  prototype, look up the VAD:
 *   63                        32 31               12 11 10 9         5 4      1 0
 *  +----------------------------+-------------------+--+--+-----------+--------+-+
 *  |        0xFFFFFFFF          |         0         |0 |1 | protection|   0    |0|
 *  +----------------------------+-------------------+--+--+-----------+--------+-+
 *
 * Where ntmm differs from NT: PAE entries use the 4-level layout (NT x86 PAE had a 24- or
 * 26-bit transition frame and ProtoAddress in bits 63:32; ntmm uses a 40-bit frame, as
 * Windows 10 x64 does, and ProtoAddress in 63:16, which holds a 32-bit address as well). The
 * bits NT x64 keeps in 31:12 of a software PTE (UsedPageTableEntries, InStore) and the
 * subsection PTE of mapped files are not modelled: those bits must be 0. A 5-level system
 * address outside the 48-bit sign-extended range cannot be a prototype pointer.
 *
 * ---- valid PTEs --------------------------------------------------------------------------
 *
 *  Hardware format (hw/pte.h), plus NT's software copy-on-write bit in AVL bit 9: set in a
 *  valid WRITECOPY PTE, which is read-only in hardware until the first write copies the page.
 *
 * All functions are pure and take no locks. Arguments that do not fit a format (a frame too
 * large, a protection code outside 1..31) are caller bugs and are asserted.
 */
#ifndef NTMM_MM_PTE_SW_H
#define NTMM_MM_PTE_SW_H

#include <ntmm/ntmm_hw.h>

#include "hw/paging.h"
#include "hw/pte.h"
#include "mm/protect.h"

/* ---- fields common to both sizes ---------------------------------------------------------- */

#define MM_PTE_VALID             HW_PTE_P          /* bit 0: valid (hardware) */
#define MM_PTE_PAGEFILE_LOW      NTMM_BITS(4, 1)   /* page-file number */
#define MM_PTE_PAGEFILE_LOW_SHIFT 1u
#define MM_PTE_PROTECTION        NTMM_BITS(9, 5)   /* protection code */
#define MM_PTE_PROTECTION_SHIFT  5u
#define MM_PTE_PROTOTYPE         NTMM_BIT(10)      /* a prototype pointer (software PTEs) */
#define MM_PTE_TRANSITION        NTMM_BIT(11)      /* a transition PTE (Prototype = 0) */
#define MM_PTE_COPY_ON_WRITE     NTMM_BIT(9)       /* valid PTEs: NT's software copy-on-write bit */

/* Transition PTE: the bits kept from the valid PTE (hardware R/W, U/S, PWT, PCD positions). */
#define MM_PTE_TRANS_WRITE        NTMM_BIT(1)
#define MM_PTE_TRANS_OWNER        NTMM_BIT(2)
#define MM_PTE_TRANS_WRITETHROUGH NTMM_BIT(3)
#define MM_PTE_TRANS_CACHEDISABLE NTMM_BIT(4)
#define MM_PTE_TRANS_FLAGS        NTMM_BITS(4, 1)

/* Prototype pointer: read-only view of the prototype page. */
#define MM_PTE_PROTO_READONLY    NTMM_BIT(8)

#define MM_PAGEFILE_COUNT        16u               /* page-file numbers 0..15 */

/* ---- 4-byte entries ----------------------------------------------------------------------- */

#define MM_PTE32_PAGEFILE_HIGH   NTMM_BITS(31, 12) /* page-file offset */
#define MM_PTE32_PAGEFILE_HIGH_SHIFT 12u
#define MM_PTE32_FRAME           NTMM_BITS(31, 12) /* transition: = HW_PTE32_FRAME */
#define MM_PTE32_PROTO_LOW       NTMM_BITS(7, 1)   /* proto bits 8:2 */
#define MM_PTE32_PROTO_WHICHPOOL NTMM_BIT(9)       /* NT's WhichPool: 0 in ntmm */
#define MM_PTE32_PROTO_HIGH      NTMM_BITS(31, 11) /* proto bits 29:9 */
#define MM_PTE32_LOOKUP_NEEDED   0xFFFFFu          /* PageFileHigh of a lookup-needed PTE */
#define MM_PTE32_PROTO_LIMIT     NTMM_BIT(30)      /* proto offsets are below 1 GiB */

/* ---- 8-byte entries ----------------------------------------------------------------------- */

#define MM_PTE64_PAGEFILE_HIGH   NTMM_BITS(63, 32) /* page-file offset */
#define MM_PTE64_PAGEFILE_HIGH_SHIFT 32u
#define MM_PTE64_SW_RESERVED     NTMM_BITS(31, 12) /* 0 in demand-zero, page-file, lookup PTEs */
#define MM_PTE64_FRAME           NTMM_BITS(51, 12) /* transition: a hardware PTE's frame field */
#define MM_PTE64_TRANS_RESERVED  NTMM_BITS(63, 52) /* 0 in a transition PTE */
#define MM_PTE64_PROTO_PROTECTION NTMM_BITS(15, 11)
#define MM_PTE64_PROTO_PROTECTION_SHIFT 11u
#define MM_PTE64_PROTO_ADDR      NTMM_BITS(63, 16) /* proto bits 47:0 */
#define MM_PTE64_PROTO_ADDR_SHIFT 16u
#define MM_PTE64_PROTO_RESERVED  (NTMM_BITS(7, 1) | NTMM_BIT(9) | NTMM_BITS(18, 16)) /* 18:16: proto 2:0 */
#define MM_PTE64_LOOKUP_NEEDED   0xFFFFFFFFu       /* PageFileHigh of a lookup-needed PTE */

_Static_assert(MM_PTE32_FRAME == HW_PTE32_FRAME, "a transition PTE's frame is where the hardware's is");

/* A PTE format: what the software formats and valid PTEs depend on. */
typedef struct mm_pte_fmt {
    uint8_t bytes; /* 4 (32-bit paging) or 8 (PAE, 4-level, 5-level) */
    bool nx;       /* XD is honoured (8-byte entries with EFER.NXE): non-executable pages get it */
} mm_pte_fmt_t;

/* The format of a paging mode: 4 bytes for NTMM_PAGING_X86, else 8; nx only with 8 bytes.
 * Precondition: mode is not NULL. */
mm_pte_fmt_t mm_pte_fmt(const hw_paging_mode_t *mode, bool nxe);

/* Largest frame number a transition or valid PTE of the format can hold. */
static inline pfn_t mm_pte_max_pfn(const mm_pte_fmt_t *f)
{
    return (f->bytes == 4 ? MM_PTE32_FRAME : MM_PTE64_FRAME) >> NTMM_PAGE_SHIFT;
}

/* Largest page-file offset the format can hold (20 or 32 bits). */
static inline uint64_t mm_pte_max_pagefile_offset(const mm_pte_fmt_t *f)
{
    return f->bytes == 4 ? MM_PTE32_PAGEFILE_HIGH >> MM_PTE32_PAGEFILE_HIGH_SHIFT
                         : MM_PTE64_PAGEFILE_HIGH >> MM_PTE64_PAGEFILE_HIGH_SHIFT;
}

/* ---- classification ----------------------------------------------------------------------- */

typedef enum mm_pte_kind {
    MM_PTE_KIND_ZERO = 0,      /* all bits 0: not yet created */
    MM_PTE_KIND_VALID,         /* P = 1: a hardware translation */
    MM_PTE_KIND_DEMAND_ZERO,   /* committed, never touched: protection only (any but DECOMMIT) */
    MM_PTE_KIND_DECOMMITTED,   /* protection MM_DECOMMIT only */
    MM_PTE_KIND_TRANSITION,    /* frame on standby/modified or in I/O, remembered here */
    MM_PTE_KIND_PAGEFILE,      /* contents in a page file */
    MM_PTE_KIND_PROTOTYPE,     /* shared page: a prototype-PTE pointer, or "look up the VAD" */
    MM_PTE_KIND_BAD,           /* P = 0 and no software format fits: corrupt */
    MM_PTE_KIND_COUNT,
} mm_pte_kind_t;

/* Which format pte is in. Total: every value gives exactly one kind; a value with bits set
 * that its format keeps 0 (or, for 4-byte entries, any of bits 63:32) is MM_PTE_KIND_BAD. */
mm_pte_kind_t mm_pte_classify(const mm_pte_fmt_t *f, uint64_t pte);

const char *mm_pte_kind_name(mm_pte_kind_t k);

/* Everything a PTE holds, by kind (fields of other kinds are 0 / false). */
typedef struct mm_pte_info {
    mm_pte_kind_t kind;
    mm_prot_t protection;     /* DEMAND_ZERO, DECOMMITTED, TRANSITION, PAGEFILE, PROTOTYPE
                               * (0 in an 8-byte pointer: the prototype PTE's protection) */
    pfn_t pfn;                /* VALID, TRANSITION */
    uint64_t trans_flags;     /* TRANSITION: MM_PTE_TRANS_* */
    unsigned pagefile;        /* PAGEFILE: page-file number */
    uint64_t pagefile_offset; /* PAGEFILE: page offset in the file, >= 1 */
    uint64_t proto;           /* PROTOTYPE (not lookup): prototype PTE address (8-byte: sign-
                               * extended from bit 47) or offset from the base (4-byte) */
    bool proto_lookup;        /* PROTOTYPE: MI_PTE_LOOKUP_NEEDED, the VAD finds the prototype */
    bool proto_readonly;      /* PROTOTYPE pointer: RO bit */
} mm_pte_info_t;

/* Classifies and decodes pte into *out. False (kind BAD in *out) for a corrupt value. */
bool mm_pte_decode(const mm_pte_fmt_t *f, uint64_t pte, mm_pte_info_t *out);

/* ---- builders (results carry no bit beyond the format's size) ------------------------------ */

/* Demand zero with protection p (NT: MI_MAKE_SOFTWARE_PTE / MM_DEMAND_ZERO_WRITE_PTE).
 * Precondition: p < 32, p != 0, p != MM_DECOMMIT. */
uint64_t mm_pte_make_demand_zero(const mm_pte_fmt_t *f, mm_prot_t p);

/* The decommitted PTE: protection MM_DECOMMIT (NT: MmDecommittedPte). */
uint64_t mm_pte_make_decommitted(const mm_pte_fmt_t *f);

/* A committed, untouched guard page: demand zero with base | MM_GUARD_PAGE.
 * Precondition: base is 1..7. */
uint64_t mm_pte_make_guard(const mm_pte_fmt_t *f, mm_prot_t base);

/* Transition PTE for frame pfn with protection p and kept bits trans_flags (MM_PTE_TRANS_*).
 * Preconditions: pfn <= mm_pte_max_pfn(f); p < 32; trans_flags within MM_PTE_TRANS_FLAGS. */
uint64_t mm_pte_make_transition(const mm_pte_fmt_t *f, pfn_t pfn, mm_prot_t p, uint64_t trans_flags);

/* Turns a valid PTE into its transition PTE, keeping frame, R/W, U/S, PWT and PCD (NT:
 * MI_MAKE_VALID_PTE_TRANSITION). Preconditions: valid has P = 1; p < 32. */
uint64_t mm_pte_make_transition_from_valid(const mm_pte_fmt_t *f, uint64_t valid, mm_prot_t p);

/* Page-file PTE. Preconditions: file < 16; 1 <= offset <= mm_pte_max_pagefile_offset(f);
 * 0 < p < 32. */
uint64_t mm_pte_make_pagefile(const mm_pte_fmt_t *f, unsigned file, uint64_t offset, mm_prot_t p);

/* True if proto can be encoded in a prototype pointer of the format (see the diagrams). */
bool mm_pte_proto_encodable(const mm_pte_fmt_t *f, uint64_t proto);

/*
 * Prototype pointer to proto with protection override p (8-byte only; 0 = none; 4-byte
 * entries have no field and need p == 0) and the read-only bit (NT: MiProtoAddressForPte).
 * Preconditions: mm_pte_proto_encodable(f, proto); p < 32, and p == 0 for 4-byte entries.
 */
uint64_t mm_pte_make_proto(const mm_pte_fmt_t *f, uint64_t proto, mm_prot_t p, bool read_only);

/* Prototype PTE to be found through the VAD, with protection p (NT: Prototype = 1, PageFileHigh
 * = MI_PTE_LOOKUP_NEEDED). Precondition: 0 < p < 32. */
uint64_t mm_pte_make_proto_lookup(const mm_pte_fmt_t *f, mm_prot_t p);

/*
 * A valid PTE mapping frame pfn with protection p for user or kernel mode (NT:
 * MI_MAKE_VALID_PTE): the frame | mm_protect_pte_bits(p, ...). Preconditions: pfn <=
 * mm_pte_max_pfn(f); p is accessible and not a GUARD code (mm_protect_pte_bits(p) != 0).
 */
uint64_t mm_pte_make_valid(const mm_pte_fmt_t *f, pfn_t pfn, mm_prot_t p, bool user);

/* ---- field access --------------------------------------------------------------------------- */

/* Frame of a valid or transition PTE (both hold it in the hardware's frame bits). */
static inline pfn_t mm_pte_frame(const mm_pte_fmt_t *f, uint64_t pte)
{
    return (pte & (f->bytes == 4 ? MM_PTE32_FRAME : MM_PTE64_FRAME)) >> NTMM_PAGE_SHIFT;
}

/* Protection field (bits 9:5) of a demand-zero, decommitted, transition, page-file or lookup
 * PTE. Meaningless for valid PTEs and prototype pointers. */
static inline mm_prot_t mm_pte_sw_protection(uint64_t pte)
{
    return (mm_prot_t)((pte & MM_PTE_PROTECTION) >> MM_PTE_PROTECTION_SHIFT);
}

/* The PTE with its protection field replaced (demand-zero, transition, page-file and lookup
 * PTEs), as NtProtectVirtualMemory does to non-valid PTEs. Precondition: p < 32. */
static inline uint64_t mm_pte_sw_set_protection(uint64_t pte, mm_prot_t p)
{
    return (pte & ~MM_PTE_PROTECTION) | ((uint64_t)p << MM_PTE_PROTECTION_SHIFT);
}

#endif /* NTMM_MM_PTE_SW_H */
