/*
 * seg.h - segmentation: selectors, segment descriptors, the descriptor-table registers, the
 * segment-register loads of MOV/POP Sreg, far JMP/CALL and LLDT, and the logical-to-linear
 * translation every memory reference goes through before paging (Intel SDM vol. 3A ch. 3
 * and 5; vol. 2 MOV, LLDT, LGDT, JMP).
 *
 * Descriptors live in guest memory: they are read through hw_access_linear as implicit
 * supervisor accesses, so a GDT or LDT in paged memory walks the page tables and a fault on
 * the way (#PF, #MC) is returned as is. Loading a segment sets the descriptor's Accessed bit
 * with an implicit write, as the processor does. Every load either completes or leaves the
 * register untouched and reports the architectural fault (#GP, #SS, #NP with the selector
 * error code, #UD where the instruction would raise it).
 *
 * Modes (from CR0.PE, EFER.LMA and the cached CS.L):
 *   real-address mode  PE = 0: a load sets base = selector * 16; only the limit is checked.
 *   protected mode     PE = 1, LMA = 0: all the descriptor rules; linear addresses are 32 bits.
 *   compatibility mode LMA = 1, CS.L = 0: as protected mode (IA-32e descriptor tables).
 *   64-bit mode        LMA = 1, CS.L = 1: no type or limit checks when addressing, bases of
 *                      CS/DS/ES/SS are 0, FS/GS keep theirs; addresses must be canonical.
 * Virtual-8086 mode, gates, task switches and TR are not modelled.
 */
#ifndef NTMM_HW_SEG_H
#define NTMM_HW_SEG_H

#include "hw/cpu.h"


/*
 * Segment selector (SDM 3.4.2):
 *
 *   15                                        3   2   1   0
 *  +--------------------------------------------+---+-------+
 *  |                   index                    |TI |  RPL  |
 *  +--------------------------------------------+---+-------+
 *   index  entry number in the table (byte offset = index * 8)
 *   TI     table indicator: 0 GDT, 1 the current LDT
 *   RPL    requested privilege level
 *
 * Selectors 0..3 (index 0 in the GDT) are null selectors. A fault caused by a selector
 * reports the selector with its RPL bits cleared (the IDT/EXT bits of the error code), i.e.
 * selector & HW_SEG_SEL_ERROR.
 */
#define HW_SEG_SEL_RPL         0x0003u
#define HW_SEG_SEL_TI          0x0004u
#define HW_SEG_SEL_INDEX       0xFFF8u
#define HW_SEG_SEL_INDEX_SHIFT 3u
#define HW_SEG_SEL_ERROR       0xFFFCu

static inline unsigned hw_seg_sel_index(uint16_t sel) { return (unsigned)sel >> HW_SEG_SEL_INDEX_SHIFT; }
static inline bool hw_seg_sel_ldt(uint16_t sel) { return (sel & HW_SEG_SEL_TI) != 0; }
static inline unsigned hw_seg_sel_rpl(uint16_t sel) { return sel & HW_SEG_SEL_RPL; }
static inline bool hw_seg_sel_null(uint16_t sel) { return (sel & ~HW_SEG_SEL_RPL) == 0; }
static inline uint16_t hw_seg_sel_make(unsigned index, bool ldt, unsigned rpl)
{
    return (uint16_t)(((index << HW_SEG_SEL_INDEX_SHIFT) & HW_SEG_SEL_INDEX) | (ldt ? HW_SEG_SEL_TI : 0u) |
                      (rpl & HW_SEG_SEL_RPL));
}

/*
 * Segment descriptor, 8 bytes read as one little-endian quadword (SDM 3.4.5, figure 3-8):
 *
 *   63        56 55 54 53 52 51    48 47 46 45 44 43    40 39              32
 *  +------------+--+--+--+--+--------+--+-----+--+--------+------------------+
 *  | base 31:24 |G |DB|L |AV|lim 19:16|P | DPL |S |  type  |    base 23:16    |
 *  +------------+--+--+--+--+--------+--+-----+--+--------+------------------+
 *   31                                16 15                                 0
 *  +-------------------------------------+-----------------------------------+
 *  |              base 15:0              |            limit 15:0             |
 *  +-------------------------------------+-----------------------------------+
 *   G    granularity: the 20-bit limit counts 4 KiB units (limit << 12 | 0xFFF)
 *   DB   default operation size / big (32-bit segment; upper bound of expand-down data)
 *   L    64-bit code segment (IA-32e mode only; D must then be 0)
 *   AV   available to software
 *   P    present    DPL descriptor privilege level    S 1: code/data, 0: system
 *
 *   type with S = 1 (SDM table 3-1):
 *      3     2     1     0
 *   +-----+-----+-----+-----+
 *   |  0  |  E  |  W  |  A  |   data: E expand-down, W writable, A accessed
 *   |  1  |  C  |  R  |  A  |   code: C conforming, R readable, A accessed
 *   +-----+-----+-----+-----+
 *   type with S = 0 (table 3-2): 2 LDT, 9 available TSS, 0xB busy TSS, 0xC call gate,
 *   0xE interrupt gate, 0xF trap gate (and the 16-bit kinds 1, 3, 4, 5, 6, 7 outside IA-32e).
 */
#define HW_DESC_LIMIT_LO       NTMM_BITS(15, 0)
#define HW_DESC_BASE_LO        NTMM_BITS(39, 16)  /* base 23:0 */
#define HW_DESC_BASE_LO_SHIFT  16u
#define HW_DESC_TYPE           NTMM_BITS(43, 40)
#define HW_DESC_TYPE_SHIFT     40u
#define HW_DESC_S              NTMM_BIT(44)
#define HW_DESC_DPL            NTMM_BITS(46, 45)
#define HW_DESC_DPL_SHIFT      45u
#define HW_DESC_P              NTMM_BIT(47)
#define HW_DESC_LIMIT_HI       NTMM_BITS(51, 48)  /* limit 19:16 */
#define HW_DESC_LIMIT_HI_SHIFT 48u
#define HW_DESC_AVL            NTMM_BIT(52)
#define HW_DESC_L              NTMM_BIT(53)
#define HW_DESC_DB             NTMM_BIT(54)
#define HW_DESC_G              NTMM_BIT(55)
#define HW_DESC_BASE_HI        NTMM_BITS(63, 56)  /* base 31:24 */
#define HW_DESC_BASE_HI_SHIFT  56u
#define HW_DESC_ATTR_LO        NTMM_BITS(47, 40)  /* type, S, DPL, P -> attr bits 7:0 */
#define HW_DESC_ATTR_HI        NTMM_BITS(55, 52)  /* AVL, L, DB, G   -> attr bits 15:12 */
#define HW_DESC_LIMIT_RAW_MAX  0xFFFFFu

/* Type bits of code and data descriptors (S = 1). */
#define HW_DESC_TYPE_A         0x1u /* accessed */
#define HW_DESC_TYPE_W         0x2u /* data: writable */
#define HW_DESC_TYPE_R         0x2u /* code: readable */
#define HW_DESC_TYPE_E         0x4u /* data: expand-down */
#define HW_DESC_TYPE_C         0x4u /* code: conforming */
#define HW_DESC_TYPE_CODE      0x8u
/* System descriptor types (S = 0). */
#define HW_DESC_SYS_LDT        0x2u
#define HW_DESC_SYS_TSS        0x9u /* 32-bit (64-bit in IA-32e mode) TSS, available */
#define HW_DESC_SYS_TSS_BUSY   0xBu
#define HW_DESC_SYS_CALL_GATE  0xCu
#define HW_DESC_SYS_INTR_GATE  0xEu
#define HW_DESC_SYS_TRAP_GATE  0xFu

/*
 * System descriptor in IA-32e mode (LDT and TSS; SDM 8.2.3, figure 8-4), 16 bytes: the low
 * quadword is the 8-byte format above (S = 0), the high one holds base 63:32:
 *
 *  127             109 108     104 103            96 95                            64
 *  +------------------+-----------+----------------+-------------------------------+
 *  |     reserved     |  0 0 0 0 0 |    reserved    |          base 63:32           |
 *  +------------------+-----------+----------------+-------------------------------+
 *   bits 108:104 (bits 12:8 of the high quadword's upper dword) must be 0: a descriptor
 *   whose second half has a type there is refused (#GP) by LLDT.
 */
#define HW_DESC16_BASE_HI      NTMM_BITS(31, 0)   /* in the high quadword: base 63:32 */
#define HW_DESC16_ZERO         NTMM_BITS(44, 40)  /* in the high quadword: must be 0 */

/*
 * The hw_segment_t attr layout (VMX access rights), from descriptor bits 47:40 and 55:52:
 *
 *   15  14  13  12  11     8  7   6  5   4   3      0
 *  +---+---+---+---+--------+---+------+---+--------+
 *  | G |DB | L |AVL|  0000  | P | DPL  | S |  type  |
 *  +---+---+---+---+--------+---+------+---+--------+
 */
#define HW_SEG_ATTR_TYPE       0x000Fu
#define HW_SEG_ATTR_S          0x0010u
#define HW_SEG_ATTR_DPL        0x0060u
#define HW_SEG_ATTR_DPL_SHIFT  5u
#define HW_SEG_ATTR_P          0x0080u
#define HW_SEG_ATTR_AVL        0x1000u
#define HW_SEG_ATTR_L          0x2000u
#define HW_SEG_ATTR_DB         0x4000u
#define HW_SEG_ATTR_G          0x8000u
#define HW_SEG_ATTR_MASK       0xF0FFu

/* A descriptor's fields, decoded. `limit` is the raw 20-bit field (see hw_desc_limit). */
typedef struct hw_desc {
    uint64_t base;   /* 32 bits in an 8-byte descriptor, 64 in a 16-byte system descriptor */
    uint32_t limit;  /* raw limit field, 0..0xFFFFF */
    uint8_t type;    /* 0..15 */
    uint8_t dpl;     /* 0..3 */
    bool s, p, avl, l, db, g;
} hw_desc_t;

/* Packs d into an 8-byte descriptor. Fields are truncated to their widths (base to 32 bits). */
uint64_t hw_desc_encode(const hw_desc_t *d);
/* Unpacks an 8-byte descriptor. */
hw_desc_t hw_desc_decode(uint64_t raw);
/* Packs a 16-byte IA-32e system descriptor (low quadword in out[0]); the reserved bits are 0. */
void hw_desc_encode16(const hw_desc_t *d, uint64_t out[2]);
/* Unpacks a 16-byte system descriptor (base 63:0). */
hw_desc_t hw_desc_decode16(const uint64_t raw[2]);

/* An 8-byte descriptor from a base, a raw 20-bit limit and attributes in the attr layout. */
uint64_t hw_desc_make(uint32_t base, uint32_t raw_limit, uint16_t attr);

/* Base 31:0 of an 8-byte descriptor. */
static inline uint32_t hw_desc_base(uint64_t raw)
{
    return (uint32_t)(((raw & HW_DESC_BASE_LO) >> HW_DESC_BASE_LO_SHIFT) |
                      ((raw & HW_DESC_BASE_HI) >> (HW_DESC_BASE_HI_SHIFT - 24u)));
}

/* The 20-bit limit field of an 8-byte descriptor. */
static inline uint32_t hw_desc_raw_limit(uint64_t raw)
{
    return (uint32_t)((raw & HW_DESC_LIMIT_LO) | ((raw & HW_DESC_LIMIT_HI) >> (HW_DESC_LIMIT_HI_SHIFT - 16u)));
}

/* The effective byte limit: the raw limit, or (limit << 12) | 0xFFF when G = 1. */
static inline uint32_t hw_desc_limit(uint64_t raw)
{
    uint32_t lim = hw_desc_raw_limit(raw);
    return (raw & HW_DESC_G) ? (lim << 12) | 0xFFFu : lim;
}

/* Descriptor bits 47:40 and 55:52 in the attr layout, and back. */
static inline uint16_t hw_desc_attr(uint64_t raw)
{
    return (uint16_t)(((raw & HW_DESC_ATTR_LO) >> 40) | ((raw & HW_DESC_ATTR_HI) >> 40));
}
static inline uint64_t hw_desc_attr_bits(uint16_t attr)
{
    return ((uint64_t)(attr & HW_SEG_ATTR_MASK)) << 40;
}

/* The segment register a load of `raw` with `selector` produces (usable, accessed as loaded). */
hw_segment_t hw_desc_to_segment(uint64_t raw, uint16_t selector);
/*
 * The 8-byte descriptor that reproduces a segment's cached state; false if the cached limit
 * cannot be encoded (G = 1 with low 12 bits not all ones, or G = 0 above 0xFFFFF) or the base
 * does not fit in 32 bits.
 */
bool hw_desc_from_segment(const hw_segment_t *seg, uint64_t *raw);

/* True in 64-bit mode: EFER.LMA = 1 and the cached CS.L = 1. */
static inline bool hw_seg_64bit(const hw_cpu_t *cpu)
{
    return (cpu->efer & HW_EFER_LMA) && (cpu->seg[HW_SEG_CS].attr & HW_SEG_ATTR_L);
}

/*
 * LGDT / LIDT with the operand's base and limit. #GP(0) if CPL > 0, or in 64-bit mode if the
 * base is not canonical; outside 64-bit mode the base is truncated to 32 bits (32-bit operand
 * size). Descriptor tables are not read until a selector is loaded.
 */
bool hw_seg_lgdt(hw_cpu_t *cpu, uint64_t base, uint16_t limit, ntmm_fault_t *fault);
bool hw_seg_lidt(hw_cpu_t *cpu, uint64_t base, uint16_t limit, ntmm_fault_t *fault);

/*
 * LLDT (SDM vol. 2): a null selector makes LDTR unusable. Otherwise the selector must be in
 * the GDT (TI = 0) and within its limit (16 bytes in IA-32e mode), else #GP(sel); the
 * descriptor must be an LDT system descriptor (S = 0, type 2), else #GP(sel), and in IA-32e
 * mode its upper type field must be 0 and its base canonical, else #GP(sel); not present:
 * #NP(sel). #GP(0) if CPL > 0; #UD in real-address mode. A fault while reading the
 * descriptor (#PF, #MC) is returned as is. LDTR is unchanged on any fault.
 */
bool hw_seg_lldt(hw_cpu_t *cpu, uint16_t selector, ntmm_fault_t *fault);

/*
 * Reads the descriptor `selector` designates: 8 bytes, or 16 (raw[1]) when bytes = 16. The
 * selector's whole descriptor must lie within the GDT limit, or the LDT limit with TI = 1 and
 * a usable LDTR, else #GP(selector & 0xFFFC). *la (if not NULL) receives its linear address.
 * Does not check for a null selector (index 0 of the GDT reads the null descriptor).
 */
bool hw_seg_read_desc(hw_cpu_t *cpu, uint16_t selector, unsigned bytes, uint64_t raw[2], va_t *la,
                      ntmm_fault_t *fault);

/*
 * MOV / POP to DS, ES, FS, GS or SS (SDM vol. 2 "MOV - Move", protected-mode pseudocode):
 *  - DS/ES/FS/GS, null selector: the register becomes unusable (base, limit, attr 0).
 *  - SS, null selector: #GP(0), except in 64-bit mode at CPL < 3 with RPL = CPL (SS then
 *    holds the null selector, unusable, DPL = CPL).
 *  - index beyond the GDT/LDT limit, or TI = 1 with an unusable LDTR: #GP(sel & 0xFFFC).
 *  - DS/ES/FS/GS: a data or readable code segment, and unless conforming code,
 *    DPL >= max(CPL, RPL); else #GP(sel). Not present: #NP(sel).
 *  - SS: writable data with RPL = CPL and DPL = CPL, else #GP(sel). Not present: #SS(sel).
 * On success the cache takes the descriptor's base, effective limit and attributes and the
 * descriptor's Accessed bit is set in memory. In real-address mode base = selector << 4 and
 * nothing else changes. reg = CS or beyond GS: #UD. A fault leaves the register unchanged.
 */
bool hw_seg_load(hw_cpu_t *cpu, hw_seg_t reg, uint16_t selector, ntmm_fault_t *fault);

/*
 * The CS load of a far JMP or CALL to a code-segment descriptor (SDM vol. 2 "JMP", "CALL",
 * and 5.8.1): null selector: #GP(0); beyond the table limit: #GP(sel); not a code segment
 * (gates and TSSs included: they are not modelled): #GP(sel); conforming with DPL > CPL, or
 * non-conforming with RPL > CPL or DPL != CPL: #GP(sel); in IA-32e mode L = 1 with D = 1:
 * #GP(sel); not present: #NP(sel). CPL is unchanged and CS.RPL becomes CPL. The Accessed bit
 * is set. Loading a descriptor with L = 1 in IA-32e mode enters 64-bit mode. The caller checks
 * the new instruction pointer against the limit (hw_seg_translate with EXECUTE).
 */
bool hw_seg_load_cs(hw_cpu_t *cpu, uint16_t selector, ntmm_fault_t *fault);

/*
 * WRMSR to IA32_FS_BASE / IA32_GS_BASE (or WRFSBASE/WRGSBASE in 64-bit mode): sets the full
 * 64-bit base of FS or GS without touching selector or attributes. #GP(0) if the base is not
 * canonical for the processor's widest linear address (57 bits when it has LA57, else 48),
 * #UD for another register. The base is used as such in 64-bit mode; elsewhere linear
 * addresses are truncated to 32 bits.
 */
bool hw_seg_set_base(hw_cpu_t *cpu, hw_seg_t reg, uint64_t base, ntmm_fault_t *fault);

/*
 * Logical -> linear for an access of `size` bytes (0: checks of type and usability only) of
 * `kind` (ntmm_access_t) at `offset` in segment reg (SDM 3.4, 5.3, 5.4.1).
 * Outside 64-bit mode: an unusable segment: #GP(0) (#SS(0) for SS); a write to a code segment
 * or read-only data, a read of execute-only code, a fetch through anything but a code CS:
 * #GP(0); offsets outside [0, limit] (expand-up, code) or [limit + 1, 0xFFFF or 0xFFFFFFFF
 * by D/B] (expand-down): #GP(0), #SS(0) for SS. *la = (base + offset) mod 2^32.
 * In real-address mode only the limit check applies.
 * 64-bit mode: no type or limit checks; base is 0 but for FS and GS; base + offset wraps
 * modulo 2^64; every byte's address must be canonical for the current paging mode (48 or 57
 * bits) and the range may not run past 2^64, else #GP(0) (#SS(0) for SS).
 * fault->address is the offset whose check failed.
 */
bool hw_seg_translate(hw_cpu_t *cpu, hw_seg_t reg, uint64_t offset, uint64_t size, unsigned kind,
                      va_t *la, ntmm_fault_t *fault);

/*
 * A guest access of len bytes at logical address reg:offset: the whole range is checked by
 * segmentation first (no byte moves if it fails), then transferred with hw_access_linear
 * (wrapping at 4 GiB outside 64-bit mode). kind is an ntmm_access_t. Returns true if all len
 * bytes moved; else *fault describes the first fault and *done (if not NULL) how many moved.
 */
bool hw_seg_access(hw_cpu_t *cpu, hw_seg_t reg, uint64_t offset, void *buf, size_t len, unsigned kind,
                   size_t *done, ntmm_fault_t *fault);

/*
 * Windows' selectors (ReactOS sdk/include/ndk/i386/ketypes.h and amd64/ketypes.h, matching
 * the NT DDK's nti386.h / ntamd64.h): byte offsets into the GDT; user code ORs in RPL 3.
 */
#define HW_SEG_KGDT_R0_CODE      0x08u
#define HW_SEG_KGDT_R0_DATA      0x10u
#define HW_SEG_KGDT_R3_CODE      0x18u /* used as 0x1B */
#define HW_SEG_KGDT_R3_DATA      0x20u /* used as 0x23; also DS/ES in kernel mode */
#define HW_SEG_KGDT_TSS          0x28u
#define HW_SEG_KGDT_R0_PCR       0x30u /* FS in kernel mode, base = KPCR */
#define HW_SEG_KGDT_R3_TEB       0x38u /* FS in user mode (0x3B), base = TEB */
#define HW_SEG_KGDT_VDM_TILE     0x40u
#define HW_SEG_KGDT_LDT          0x48u
#define HW_SEG_KGDT64_R0_CODE    0x10u
#define HW_SEG_KGDT64_R0_DATA    0x18u
#define HW_SEG_KGDT64_R3_CMCODE  0x20u /* 32-bit user code (WOW64), used as 0x23 */
#define HW_SEG_KGDT64_R3_DATA    0x28u /* used as 0x2B: DS, ES, SS (user), GS */
#define HW_SEG_KGDT64_R3_CODE    0x30u /* used as 0x33 */
#define HW_SEG_KGDT64_SYS_TSS    0x40u /* 16-byte descriptor */
#define HW_SEG_KGDT64_R3_CMTEB   0x50u /* FS (0x53), base = the 32-bit TEB */
#define HW_SEG_KGDT64_R0_LDT     0x60u
#define HW_SEG_RPL_USER          3u

/* Bytes of the GDT hw_seg_setup_windows writes (16 8-byte entries; limit = this - 1). */
#define HW_SEG_WIN_GDT_BYTES     128u

typedef struct hw_seg_windows {
    bool x64;       /* the KGDT64 layout (the CPU must be in IA-32e mode) rather than KGDT */
    bool user;      /* end at CPL 3 with the user selectors, else at CPL 0 with the kernel's */
    bool wow64;     /* x64 user mode: 32-bit code (0x23, compatibility mode) instead of 0x33 */
    va_t gdt;       /* linear address to write the GDT at (mapped, supervisor-writable) */
    va_t tss;       /* base of the KGDT_TSS / KGDT64_SYS_TSS descriptor */
    va_t pcr;       /* x86: base of KGDT_R0_PCR; x64: GS base in kernel mode (the KPCR) */
    va_t teb;       /* x86: base of KGDT_R3_TEB; x64: GS base in user mode (the 64-bit TEB) */
    uint32_t teb32; /* x64: base of KGDT64_R3_CMTEB (the WOW64 32-bit TEB) */
} hw_seg_windows_t;

/*
 * Writes Windows' GDT at w->gdt (implicit supervisor writes), loads GDTR (for x64 with the
 * 64-bit form of LGDT, as the loader runs it, even from compatibility mode), makes LDTR null,
 * and loads the flat model the kernel runs with, at CPL 0:
 *   x86: CS 0x08, SS 0x10, DS = ES 0x23, FS 0x30 (KPCR), GS null.
 *   x64: CS 0x10 (64-bit mode), SS 0x18, DS = ES = GS 0x2B, FS 0x53, GS base = KPCR.
 * With w->user it then moves to CPL 3 as the kernel's return to user mode does:
 *   x86: CS 0x1B, SS = DS = ES 0x23, FS 0x3B (TEB), GS null.
 *   x64: CS 0x33 (or 0x23 for wow64), SS = DS = ES = GS 0x2B, FS 0x53, GS base = TEB.
 * The x64 layout needs EFER.LMA (#GP(0) otherwise). Any fault stops the setup and is returned.
 */
bool hw_seg_setup_windows(hw_cpu_t *cpu, const hw_seg_windows_t *w, ntmm_fault_t *fault);

/*
 * Validates the CPU's segment state: CPL 0..3; attributes only in the attr layout's bits;
 * usable segments' limits encodable with their G bit; bases within 32 bits except FS/GS
 * (canonical); GDTR/IDTR bases canonical in IA-32e mode, 32-bit outside it. In protected
 * mode also: a usable CS holding a present code segment with RPL = CPL, DPL = CPL (DPL <= CPL
 * if conforming) and not L = D = 1 in IA-32e mode; SS a present writable data segment with
 * DPL = RPL = CPL, or null only in IA-32e mode below CPL 3; usable DS/ES/FS/GS present data or
 * readable code; LDTR, if usable, a present LDT descriptor. True if consistent.
 */
bool hw_seg_check(const hw_cpu_t *cpu);

/*
 * The same without tying CPL to CS and SS: hw_cpu_set_cpl changes the privilege level
 * directly (a thread entering user mode, for the memory manager and embedders), so the
 * machine-wide validator checks only that every cached descriptor is well formed.
 */
bool hw_seg_check_cache(const hw_cpu_t *cpu);

#endif /* NTMM_HW_SEG_H */
