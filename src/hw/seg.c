/* seg.c - selectors, descriptors, segment-register loads and logical-to-linear translation
 * (see seg.h). */
#include "hw/seg.h"

#include "hw/access.h"
#include "hw/machine.h"

#define SEG_TYPE_A_BIT ((uint64_t)HW_DESC_TYPE_A << HW_DESC_TYPE_SHIFT)

static bool seg_fault(ntmm_fault_t *f, uint32_t vector, uint32_t code, uint64_t address, unsigned kind)
{
    *f = (ntmm_fault_t){ vector, code, address, kind };
    return false;
}

/* #GP/#NP/#SS with the selector error code of `sel` (RPL bits cleared: EXT = IDT = 0). */
static bool seg_sel_fault(ntmm_fault_t *f, uint32_t vector, uint16_t sel)
{
    return seg_fault(f, vector, sel & HW_SEG_SEL_ERROR, 0, NTMM_ACCESS_READ);
}

static bool seg_gp0(ntmm_fault_t *f, uint64_t address)
{
    return seg_fault(f, NTMM_VEC_GP, 0, address, NTMM_ACCESS_READ);
}

static bool seg_ud(ntmm_fault_t *f)
{
    return seg_fault(f, NTMM_VEC_UD, 0, 0, NTMM_ACCESS_READ);
}

static bool seg_protected(const hw_cpu_t *cpu) { return (cpu->cr0 & HW_CR0_PE) != 0; }
static bool seg_ia32e(const hw_cpu_t *cpu) { return (cpu->efer & HW_EFER_LMA) != 0; }

static bool seg_canonical_bits(va_t la, unsigned bits)
{
    int64_t s = (int64_t)(la << (64u - bits)) >> (64u - bits);
    return (uint64_t)s == la;
}

/* Width of canonical checks on loaded bases (GDTR, IDTR, LDTR, FS/GS base): the processor's
 * widest linear address, whatever CR4.LA57 says (SDM 4.5). */
static unsigned seg_max_va_bits(const hw_cpu_t *cpu)
{
    return (cpu->machine && hw_machine_has(cpu->machine, NTMM_HW_NO_LA57)) ? 57u : 48u;
}

/* Width of canonical checks on addresses used for accesses: the current paging mode's. */
static unsigned seg_cur_va_bits(const hw_cpu_t *cpu)
{
    const hw_paging_mode_t *m = cpu->paging.mode;
    return (m && m->canonical) ? m->va_bits : 48u;
}

/* Descriptor-table addresses wrap at 4 GiB outside IA-32e mode. */
static va_t seg_table_la(const hw_cpu_t *cpu, va_t la)
{
    return seg_ia32e(cpu) ? la : (la & UINT32_MAX);
}

/* ---- descriptors ---------------------------------------------------------------------- */

uint64_t hw_desc_encode(const hw_desc_t *d)
{
    uint64_t base = d->base & UINT32_MAX, lim = d->limit & HW_DESC_LIMIT_RAW_MAX;
    uint64_t raw = (lim & HW_DESC_LIMIT_LO) | (((lim >> 16) << HW_DESC_LIMIT_HI_SHIFT) & HW_DESC_LIMIT_HI);
    raw |= ((base & 0xFFFFFFu) << HW_DESC_BASE_LO_SHIFT) | ((base >> 24) << HW_DESC_BASE_HI_SHIFT);
    raw |= (uint64_t)(d->type & 0xFu) << HW_DESC_TYPE_SHIFT;
    raw |= (uint64_t)(d->dpl & 3u) << HW_DESC_DPL_SHIFT;
    if (d->s) raw |= HW_DESC_S;
    if (d->p) raw |= HW_DESC_P;
    if (d->avl) raw |= HW_DESC_AVL;
    if (d->l) raw |= HW_DESC_L;
    if (d->db) raw |= HW_DESC_DB;
    if (d->g) raw |= HW_DESC_G;
    return raw;
}

hw_desc_t hw_desc_decode(uint64_t raw)
{
    hw_desc_t d;
    d.base = hw_desc_base(raw);
    d.limit = hw_desc_raw_limit(raw);
    d.type = (uint8_t)((raw & HW_DESC_TYPE) >> HW_DESC_TYPE_SHIFT);
    d.dpl = (uint8_t)((raw & HW_DESC_DPL) >> HW_DESC_DPL_SHIFT);
    d.s = (raw & HW_DESC_S) != 0;
    d.p = (raw & HW_DESC_P) != 0;
    d.avl = (raw & HW_DESC_AVL) != 0;
    d.l = (raw & HW_DESC_L) != 0;
    d.db = (raw & HW_DESC_DB) != 0;
    d.g = (raw & HW_DESC_G) != 0;
    return d;
}

void hw_desc_encode16(const hw_desc_t *d, uint64_t out[2])
{
    out[0] = hw_desc_encode(d);
    out[1] = (d->base >> 32) & HW_DESC16_BASE_HI;
}

hw_desc_t hw_desc_decode16(const uint64_t raw[2])
{
    hw_desc_t d = hw_desc_decode(raw[0]);
    d.base |= (raw[1] & HW_DESC16_BASE_HI) << 32;
    return d;
}

uint64_t hw_desc_make(uint32_t base, uint32_t raw_limit, uint16_t attr)
{
    hw_desc_t d = hw_desc_decode(hw_desc_attr_bits(attr));
    d.base = base;
    d.limit = raw_limit;
    return hw_desc_encode(&d);
}

hw_segment_t hw_desc_to_segment(uint64_t raw, uint16_t selector)
{
    return (hw_segment_t){ selector, hw_desc_attr(raw), hw_desc_limit(raw), hw_desc_base(raw), true };
}

bool hw_desc_from_segment(const hw_segment_t *seg, uint64_t *raw)
{
    uint32_t lim;
    if (seg->base > UINT32_MAX || (seg->attr & ~HW_SEG_ATTR_MASK)) return false;
    if (seg->attr & HW_SEG_ATTR_G) {
        if ((seg->limit & 0xFFFu) != 0xFFFu) return false;
        lim = seg->limit >> 12;
    } else {
        if (seg->limit > HW_DESC_LIMIT_RAW_MAX) return false;
        lim = seg->limit;
    }
    *raw = hw_desc_make((uint32_t)seg->base, lim, seg->attr);
    return true;
}

/* ---- descriptor tables ---------------------------------------------------------------- */

/* LGDT/LIDT: the privilege and base checks both share; `wide`: the 64-bit mode form. */
static bool seg_load_dtr(hw_cpu_t *cpu, hw_dtr_t *dtr, uint64_t base, uint16_t limit, bool wide,
                         ntmm_fault_t *fault)
{
    if (seg_protected(cpu) && cpu->cpl != 0) return seg_gp0(fault, 0);
    if (wide) {
        if (!seg_canonical_bits(base, seg_max_va_bits(cpu))) return seg_gp0(fault, base);
    } else {
        base &= UINT32_MAX;
    }
    dtr->base = base;
    dtr->limit = limit;
    return true;
}

bool hw_seg_lgdt(hw_cpu_t *cpu, uint64_t base, uint16_t limit, ntmm_fault_t *fault)
{
    return seg_load_dtr(cpu, &cpu->gdtr, base, limit, hw_seg_64bit(cpu), fault);
}

bool hw_seg_lidt(hw_cpu_t *cpu, uint64_t base, uint16_t limit, ntmm_fault_t *fault)
{
    return seg_load_dtr(cpu, &cpu->idtr, base, limit, hw_seg_64bit(cpu), fault);
}

bool hw_seg_read_desc(hw_cpu_t *cpu, uint16_t selector, unsigned bytes, uint64_t raw[2], va_t *la,
                      ntmm_fault_t *fault)
{
    uint64_t base;
    uint32_t limit;
    uint8_t buf[16];
    bytes = bytes == 16 ? 16u : 8u;
    if (hw_seg_sel_ldt(selector)) {
        if (!cpu->ldtr.usable) return seg_sel_fault(fault, NTMM_VEC_GP, selector);
        base = cpu->ldtr.base;
        limit = cpu->ldtr.limit;
    } else {
        base = cpu->gdtr.base;
        limit = cpu->gdtr.limit;
    }
    uint64_t off = (uint64_t)hw_seg_sel_index(selector) * 8u;
    if (off + bytes - 1u > limit) return seg_sel_fault(fault, NTMM_VEC_GP, selector);
    va_t a = seg_table_la(cpu, base + off);
    if (!hw_access_linear(cpu, a, buf, bytes, NTMM_ACCESS_READ | HW_ACC_IMPLICIT, NULL, fault)) return false;
    raw[0] = ntmm_le_load(buf, 8);
    raw[1] = bytes == 16 ? ntmm_le_load(buf + 8, 8) : 0;
    if (la) *la = a;
    return true;
}

/* Sets the Accessed bit of the descriptor at la (read as raw) with an implicit write of its
 * access-rights byte, as the processor does when it loads a segment register. */
static bool seg_set_accessed(hw_cpu_t *cpu, va_t la, uint64_t raw, ntmm_fault_t *fault)
{
    if (raw & SEG_TYPE_A_BIT) return true;
    uint8_t b = (uint8_t)(((raw | SEG_TYPE_A_BIT) & HW_DESC_ATTR_LO) >> 40);
    return hw_access_linear(cpu, seg_table_la(cpu, la + 5u), &b, 1, NTMM_ACCESS_WRITE | HW_ACC_IMPLICIT, NULL,
                            fault);
}

bool hw_seg_lldt(hw_cpu_t *cpu, uint16_t selector, ntmm_fault_t *fault)
{
    uint64_t raw[2];
    if (!seg_protected(cpu)) return seg_ud(fault);
    if (cpu->cpl != 0) return seg_gp0(fault, 0);
    if (hw_seg_sel_null(selector)) {
        cpu->ldtr = (hw_segment_t){ selector, 0, 0, 0, false };
        return true;
    }
    if (hw_seg_sel_ldt(selector)) return seg_sel_fault(fault, NTMM_VEC_GP, selector);
    bool wide = seg_ia32e(cpu);
    if (!hw_seg_read_desc(cpu, selector, wide ? 16u : 8u, raw, NULL, fault)) return false;
    hw_desc_t d = wide ? hw_desc_decode16(raw) : hw_desc_decode(raw[0]);
    if (d.s || d.type != HW_DESC_SYS_LDT) return seg_sel_fault(fault, NTMM_VEC_GP, selector);
    if (wide && ((raw[1] & HW_DESC16_ZERO) || !seg_canonical_bits(d.base, seg_max_va_bits(cpu))))
        return seg_sel_fault(fault, NTMM_VEC_GP, selector);
    if (!d.p) return seg_sel_fault(fault, NTMM_VEC_NP, selector);
    cpu->ldtr = (hw_segment_t){ selector, hw_desc_attr(raw[0]), hw_desc_limit(raw[0]), d.base, true };
    return true;
}

/* ---- segment-register loads ----------------------------------------------------------- */

/* Real-address mode: the selector is a paragraph number; the rest of the cache stays. */
static void seg_load_real(hw_segment_t *s, uint16_t selector)
{
    s->selector = selector;
    s->base = (uint64_t)selector << 4;
    s->usable = true;
}

bool hw_seg_load(hw_cpu_t *cpu, hw_seg_t reg, uint16_t selector, ntmm_fault_t *fault)
{
    uint64_t raw[2];
    va_t la;
    if ((unsigned)reg >= HW_SEG_COUNT || reg == HW_SEG_CS) return seg_ud(fault);
    hw_segment_t *s = &cpu->seg[reg];
    if (!seg_protected(cpu)) {
        seg_load_real(s, selector);
        return true;
    }
    unsigned cpl = cpu->cpl, rpl = hw_seg_sel_rpl(selector);
    bool stack = reg == HW_SEG_SS;
    if (hw_seg_sel_null(selector)) {
        if (!stack) {
            *s = (hw_segment_t){ selector, 0, 0, 0, false };
            return true;
        }
        if (!hw_seg_64bit(cpu) || cpl == 3 || rpl != cpl) return seg_gp0(fault, 0);
        *s = (hw_segment_t){ selector, (uint16_t)(cpl << HW_SEG_ATTR_DPL_SHIFT), 0, 0, false };
        return true;
    }
    if (stack && rpl != cpl) return seg_sel_fault(fault, NTMM_VEC_GP, selector);
    if (!hw_seg_read_desc(cpu, selector, 8, raw, &la, fault)) return false;
    hw_desc_t d = hw_desc_decode(raw[0]);
    bool code = (d.type & HW_DESC_TYPE_CODE) != 0;
    if (!d.s) return seg_sel_fault(fault, NTMM_VEC_GP, selector);
    if (stack) {
        if (code || !(d.type & HW_DESC_TYPE_W) || d.dpl != cpl)
            return seg_sel_fault(fault, NTMM_VEC_GP, selector);
        if (!d.p) return seg_sel_fault(fault, NTMM_VEC_SS, selector);
    } else {
        if (code && !(d.type & HW_DESC_TYPE_R)) return seg_sel_fault(fault, NTMM_VEC_GP, selector);
        bool conforming = code && (d.type & HW_DESC_TYPE_C);
        if (!conforming && (d.dpl < cpl || d.dpl < rpl)) return seg_sel_fault(fault, NTMM_VEC_GP, selector);
        if (!d.p) return seg_sel_fault(fault, NTMM_VEC_NP, selector);
    }
    if (!seg_set_accessed(cpu, la, raw[0], fault)) return false;
    *s = hw_desc_to_segment(raw[0] | SEG_TYPE_A_BIT, selector);
    return true;
}

bool hw_seg_load_cs(hw_cpu_t *cpu, uint16_t selector, ntmm_fault_t *fault)
{
    uint64_t raw[2];
    va_t la;
    hw_segment_t *cs = &cpu->seg[HW_SEG_CS];
    if (!seg_protected(cpu)) {
        seg_load_real(cs, selector);
        return true;
    }
    unsigned cpl = cpu->cpl, rpl = hw_seg_sel_rpl(selector);
    if (hw_seg_sel_null(selector)) return seg_fault(fault, NTMM_VEC_GP, 0, 0, NTMM_ACCESS_EXECUTE);
    if (!hw_seg_read_desc(cpu, selector, 8, raw, &la, fault)) return false;
    hw_desc_t d = hw_desc_decode(raw[0]);
    if (!d.s || !(d.type & HW_DESC_TYPE_CODE)) return seg_sel_fault(fault, NTMM_VEC_GP, selector);
    if (seg_ia32e(cpu) && d.l && d.db) return seg_sel_fault(fault, NTMM_VEC_GP, selector);
    if (d.type & HW_DESC_TYPE_C) {
        if (d.dpl > cpl) return seg_sel_fault(fault, NTMM_VEC_GP, selector);
    } else if (rpl > cpl || d.dpl != cpl) {
        return seg_sel_fault(fault, NTMM_VEC_GP, selector);
    }
    if (!d.p) return seg_sel_fault(fault, NTMM_VEC_NP, selector);
    if (!seg_set_accessed(cpu, la, raw[0], fault)) return false;
    *cs = hw_desc_to_segment(raw[0] | SEG_TYPE_A_BIT, (uint16_t)((selector & ~HW_SEG_SEL_RPL) | cpl));
    return true;
}

bool hw_seg_set_base(hw_cpu_t *cpu, hw_seg_t reg, uint64_t base, ntmm_fault_t *fault)
{
    if (reg != HW_SEG_FS && reg != HW_SEG_GS) return seg_ud(fault);
    if (!seg_canonical_bits(base, seg_max_va_bits(cpu))) return seg_gp0(fault, base);
    cpu->seg[reg].base = base;
    return true;
}

/* ---- logical -> linear ---------------------------------------------------------------- */

bool hw_seg_translate(hw_cpu_t *cpu, hw_seg_t reg, uint64_t offset, uint64_t size, unsigned kind,
                      va_t *la, ntmm_fault_t *fault)
{
    if ((unsigned)reg >= HW_SEG_COUNT || kind > NTMM_ACCESS_EXECUTE)
        return seg_fault(fault, NTMM_VEC_GP, 0, offset, kind & HW_ACC_KIND);
    const hw_segment_t *s = &cpu->seg[reg];
    uint32_t vec = reg == HW_SEG_SS ? NTMM_VEC_SS : NTMM_VEC_GP;
    uint64_t extent = size ? size - 1u : 0u;

    if (hw_seg_64bit(cpu)) {
        /* base + offset is modular (negative displacements); the bytes may not cross 2^64. */
        uint64_t base = (reg == HW_SEG_FS || reg == HW_SEG_GS) ? s->base : 0;
        va_t first = base + offset, last = first + extent;
        unsigned bits = seg_cur_va_bits(cpu);
        if (last < first || !seg_canonical_bits(first, bits) || !seg_canonical_bits(last, bits) ||
            (first >> 63) != (last >> 63))
            return seg_fault(fault, vec, 0, offset, kind);
        *la = first;
        return true;
    }

    uint64_t end = offset + extent;
    if (end < offset) return seg_fault(fault, vec, 0, offset, kind);
    unsigned type = s->attr & HW_SEG_ATTR_TYPE;
    bool code = (type & HW_DESC_TYPE_CODE) != 0;
    bool prot = seg_protected(cpu);
    if (prot) {
        if (!s->usable) return seg_fault(fault, vec, 0, offset, kind);
        bool ok;
        switch (kind) {
        case NTMM_ACCESS_EXECUTE: ok = reg == HW_SEG_CS && code; break;
        case NTMM_ACCESS_WRITE: ok = !code && (type & HW_DESC_TYPE_W); break;
        default: ok = !code || (type & HW_DESC_TYPE_R); break;
        }
        if (!ok) return seg_fault(fault, NTMM_VEC_GP, 0, offset, kind);
    }
    if (size) {
        bool ok;
        if (prot && !code && (type & HW_DESC_TYPE_E)) {
            uint64_t upper = (s->attr & HW_SEG_ATTR_DB) ? UINT32_MAX : 0xFFFFu;
            ok = offset > s->limit && end <= upper;
        } else {
            ok = end <= s->limit;
        }
        if (!ok) return seg_fault(fault, vec, 0, offset, kind);
    }
    *la = (s->base + offset) & UINT32_MAX;
    return true;
}

bool hw_seg_access(hw_cpu_t *cpu, hw_seg_t reg, uint64_t offset, void *buf, size_t len, unsigned kind,
                   size_t *done, ntmm_fault_t *fault)
{
    va_t la;
    size_t first = len, moved = 0;
    if (done) *done = 0;
    if (!hw_seg_translate(cpu, reg, offset, len, kind, &la, fault)) return false;
    if (len == 0) return true;
    /* Outside 64-bit mode linear addresses are 32 bits: a range that runs past 4 GiB wraps. */
    if (!hw_seg_64bit(cpu) && la + len > NTMM_BIT(32)) first = (size_t)(NTMM_BIT(32) - la);
    bool ok = hw_access_linear(cpu, la, buf, first, kind, &moved, fault);
    if (ok && first < len) {
        size_t more = 0;
        ok = hw_access_linear(cpu, 0, (uint8_t *)buf + first, len - first, kind, &more, fault);
        moved += more;
    }
    if (done) *done = moved;
    return ok;
}

/* ---- Windows' GDT --------------------------------------------------------------------- */

/* Attributes of the flat segments (type, S, DPL, P, and G|DB or L). */
#define SEG_ATTR_FLAT32 (HW_SEG_ATTR_G | HW_SEG_ATTR_DB | HW_SEG_ATTR_P | HW_SEG_ATTR_S)
#define SEG_ATTR_CODE   (HW_DESC_TYPE_CODE | HW_DESC_TYPE_R)
#define SEG_ATTR_DATA   HW_DESC_TYPE_W
#define SEG_ATTR_DPL3   (3u << HW_SEG_ATTR_DPL_SHIFT)
#define SEG_ATTR_BYTES  (HW_SEG_ATTR_DB | HW_SEG_ATTR_P | HW_SEG_ATTR_S) /* byte-granular 32-bit */
#define SEG_FLAT_CODE3  (SEG_ATTR_FLAT32 | SEG_ATTR_DPL3 | SEG_ATTR_CODE)
#define SEG_FLAT_DATA3  (SEG_ATTR_FLAT32 | SEG_ATTR_DPL3 | SEG_ATTR_DATA)

static void seg_put(uint8_t *gdt, unsigned sel, uint64_t raw)
{
    ntmm_le_store(gdt + (sel & ~7u), raw, 8);
}

/*
 * The descriptors Windows' loader and KiInitializeGdt write (values as in ReactOS
 * boot/freeldr/freeldr/ntldr/arch/{i386,amd64}/winldr.c: flat 4 GiB code and data at DPL 0
 * and 3; the x86 PCR and TEB segments one page long, byte-granular (the Vista+ form); the x64
 * 32-bit TEB segment with limit 0x3C00). Accessed bits start clear: loads set them.
 */
static void seg_build_windows_gdt(const hw_seg_windows_t *w, uint8_t gdt[HW_SEG_WIN_GDT_BYTES])
{
    memset(gdt, 0, HW_SEG_WIN_GDT_BYTES);
    if (!w->x64) {
        seg_put(gdt, HW_SEG_KGDT_R0_CODE, hw_desc_make(0, 0xFFFFF, SEG_ATTR_FLAT32 | SEG_ATTR_CODE));
        seg_put(gdt, HW_SEG_KGDT_R0_DATA, hw_desc_make(0, 0xFFFFF, SEG_ATTR_FLAT32 | SEG_ATTR_DATA));
        seg_put(gdt, HW_SEG_KGDT_R3_CODE, hw_desc_make(0, 0xFFFFF, SEG_FLAT_CODE3));
        seg_put(gdt, HW_SEG_KGDT_R3_DATA, hw_desc_make(0, 0xFFFFF, SEG_FLAT_DATA3));
        /* KTSS is 0x20AC bytes (I/O map included). */
        seg_put(gdt, HW_SEG_KGDT_TSS, hw_desc_make((uint32_t)w->tss, 0x20AB, HW_SEG_ATTR_P | HW_DESC_SYS_TSS));
        seg_put(gdt, HW_SEG_KGDT_R0_PCR, hw_desc_make((uint32_t)w->pcr, 0xFFF, SEG_ATTR_BYTES | SEG_ATTR_DATA));
        seg_put(gdt, HW_SEG_KGDT_R3_TEB,
                hw_desc_make((uint32_t)w->teb, 0xFFF, SEG_ATTR_BYTES | SEG_ATTR_DPL3 | SEG_ATTR_DATA));
        seg_put(gdt, HW_SEG_KGDT_VDM_TILE,
                hw_desc_make(0x400, 0xFFFF, HW_SEG_ATTR_P | HW_SEG_ATTR_S | SEG_ATTR_DPL3 | SEG_ATTR_DATA));
        return;
    }
    uint16_t code64 = HW_SEG_ATTR_L | HW_SEG_ATTR_P | HW_SEG_ATTR_S | SEG_ATTR_CODE;
    seg_put(gdt, HW_SEG_KGDT64_R0_CODE, hw_desc_make(0, 0, code64));
    seg_put(gdt, HW_SEG_KGDT64_R0_DATA, hw_desc_make(0, 0xFFFFF, SEG_ATTR_FLAT32 | SEG_ATTR_DATA));
    seg_put(gdt, HW_SEG_KGDT64_R3_CMCODE, hw_desc_make(0, 0xFFFFF, SEG_FLAT_CODE3));
    seg_put(gdt, HW_SEG_KGDT64_R3_DATA, hw_desc_make(0, 0xFFFFF, SEG_FLAT_DATA3));
    seg_put(gdt, HW_SEG_KGDT64_R3_CODE, hw_desc_make(0, 0, (uint16_t)(code64 | SEG_ATTR_DPL3)));
    /* KTSS64 is 0x68 bytes; its descriptor takes two slots. */
    hw_desc_t tss = { .base = w->tss, .limit = 0x67, .type = HW_DESC_SYS_TSS, .p = true };
    uint64_t tss_raw[2];
    hw_desc_encode16(&tss, tss_raw);
    seg_put(gdt, HW_SEG_KGDT64_SYS_TSS, tss_raw[0]);
    seg_put(gdt, HW_SEG_KGDT64_SYS_TSS + 8u, tss_raw[1]);
    seg_put(gdt, HW_SEG_KGDT64_R3_CMTEB,
            hw_desc_make(w->teb32, 0x3C00, SEG_ATTR_BYTES | SEG_ATTR_DPL3 | SEG_ATTR_DATA));
}

/* Loads CS, SS, DS, ES, FS, GS in that order (0 for GS: null). */
static bool seg_load_all(hw_cpu_t *cpu, const uint16_t sel[HW_SEG_COUNT], ntmm_fault_t *fault)
{
    static const hw_seg_t order[] = { HW_SEG_SS, HW_SEG_DS, HW_SEG_ES, HW_SEG_FS, HW_SEG_GS };
    if (!hw_seg_load_cs(cpu, sel[HW_SEG_CS], fault)) return false;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(order); i++)
        if (!hw_seg_load(cpu, order[i], sel[order[i]], fault)) return false;
    return true;
}

bool hw_seg_setup_windows(hw_cpu_t *cpu, const hw_seg_windows_t *w, ntmm_fault_t *fault)
{
    uint8_t gdt[HW_SEG_WIN_GDT_BYTES];
    if (!seg_protected(cpu) || (w->x64 && !seg_ia32e(cpu))) return seg_gp0(fault, 0);
    hw_cpu_set_cpl(cpu, 0);
    seg_build_windows_gdt(w, gdt);
    if (!hw_access_linear(cpu, w->gdt, gdt, sizeof gdt, NTMM_ACCESS_WRITE | HW_ACC_IMPLICIT, NULL, fault))
        return false;
    /* The x64 loader executes LGDT in 64-bit mode: a 64-bit base even from compatibility mode. */
    if (!seg_load_dtr(cpu, &cpu->gdtr, w->gdt, HW_SEG_WIN_GDT_BYTES - 1u, w->x64, fault) ||
        !hw_seg_lldt(cpu, 0, fault))
        return false;

    const uint16_t r3 = HW_SEG_RPL_USER;
    uint16_t sel[HW_SEG_COUNT];
    if (!w->x64) {
        sel[HW_SEG_CS] = HW_SEG_KGDT_R0_CODE;
        sel[HW_SEG_SS] = HW_SEG_KGDT_R0_DATA;
        sel[HW_SEG_DS] = sel[HW_SEG_ES] = HW_SEG_KGDT_R3_DATA | r3;
        sel[HW_SEG_FS] = HW_SEG_KGDT_R0_PCR;
        sel[HW_SEG_GS] = 0;
    } else {
        sel[HW_SEG_CS] = HW_SEG_KGDT64_R0_CODE;
        sel[HW_SEG_SS] = HW_SEG_KGDT64_R0_DATA;
        sel[HW_SEG_DS] = sel[HW_SEG_ES] = sel[HW_SEG_GS] = HW_SEG_KGDT64_R3_DATA | r3;
        sel[HW_SEG_FS] = HW_SEG_KGDT64_R3_CMTEB | r3;
    }
    if (!seg_load_all(cpu, sel, fault)) return false;
    if (w->x64 && !hw_seg_set_base(cpu, HW_SEG_GS, w->pcr, fault)) return false;
    if (!w->user) return true;

    /* The return to user mode (IRET / SYSRET and SWAPGS): CPL 3 and the user selectors. */
    hw_cpu_set_cpl(cpu, 3);
    if (!w->x64) {
        sel[HW_SEG_CS] = HW_SEG_KGDT_R3_CODE | r3;
        sel[HW_SEG_SS] = sel[HW_SEG_DS] = sel[HW_SEG_ES] = HW_SEG_KGDT_R3_DATA | r3;
        sel[HW_SEG_FS] = HW_SEG_KGDT_R3_TEB | r3;
        sel[HW_SEG_GS] = 0;
    } else {
        sel[HW_SEG_CS] = (uint16_t)((w->wow64 ? HW_SEG_KGDT64_R3_CMCODE : HW_SEG_KGDT64_R3_CODE) | r3);
        sel[HW_SEG_SS] = sel[HW_SEG_DS] = sel[HW_SEG_ES] = sel[HW_SEG_GS] = HW_SEG_KGDT64_R3_DATA | r3;
        sel[HW_SEG_FS] = HW_SEG_KGDT64_R3_CMTEB | r3;
    }
    if (!seg_load_all(cpu, sel, fault)) return false;
    return !w->x64 || hw_seg_set_base(cpu, HW_SEG_GS, w->teb, fault);
}

/* ---- validation ----------------------------------------------------------------------- */

/* The cached limit can come from a descriptor with this G bit. */
static bool seg_limit_encodable(const hw_segment_t *s)
{
    if (s->attr & HW_SEG_ATTR_G) return (s->limit & 0xFFFu) == 0xFFFu;
    return s->limit <= HW_DESC_LIMIT_RAW_MAX;
}

static unsigned seg_dpl(const hw_segment_t *s)
{
    return (s->attr & HW_SEG_ATTR_DPL) >> HW_SEG_ATTR_DPL_SHIFT;
}

static bool seg_check(const hw_cpu_t *cpu, bool cpl_bound)
{
    bool ia32e = seg_ia32e(cpu);
    unsigned max_bits = seg_max_va_bits(cpu), cpl = cpu->cpl;
    if (cpl > 3) return false;
    for (int r = 0; r < HW_SEG_COUNT; r++) {
        const hw_segment_t *s = &cpu->seg[r];
        if (s->attr & ~HW_SEG_ATTR_MASK) return false;
        if (r == HW_SEG_FS || r == HW_SEG_GS) {
            if (!seg_canonical_bits(s->base, max_bits)) return false;
        } else if (s->base > UINT32_MAX) {
            return false;
        }
        if (s->usable && !seg_limit_encodable(s)) return false;
    }
    const hw_dtr_t *dtr[2] = { &cpu->gdtr, &cpu->idtr };
    for (int i = 0; i < 2; i++)
        if (ia32e ? !seg_canonical_bits(dtr[i]->base, max_bits) : dtr[i]->base > UINT32_MAX) return false;
    if (!seg_protected(cpu)) return true;

    const hw_segment_t *cs = &cpu->seg[HW_SEG_CS], *ss = &cpu->seg[HW_SEG_SS];
    unsigned cs_type = cs->attr & HW_SEG_ATTR_TYPE;
    if (!cs->usable || !(cs->attr & HW_SEG_ATTR_S) || !(cs->attr & HW_SEG_ATTR_P) ||
        !(cs_type & HW_DESC_TYPE_CODE))
        return false;
    if (cpl_bound && (hw_seg_sel_rpl(cs->selector) != cpl ||
                      ((cs_type & HW_DESC_TYPE_C) ? seg_dpl(cs) > cpl : seg_dpl(cs) != cpl)))
        return false;
    if (ia32e && (cs->attr & HW_SEG_ATTR_L) && (cs->attr & HW_SEG_ATTR_DB)) return false;

    if (ss->usable) {
        unsigned t = ss->attr & HW_SEG_ATTR_TYPE;
        if (!(ss->attr & HW_SEG_ATTR_S) || !(ss->attr & HW_SEG_ATTR_P) || (t & HW_DESC_TYPE_CODE) ||
            !(t & HW_DESC_TYPE_W))
            return false;
        if (cpl_bound && (seg_dpl(ss) != cpl || hw_seg_sel_rpl(ss->selector) != cpl)) return false;
    } else if (!ia32e || (cpl_bound && cpl == 3)) {
        return false; /* a null SS exists only in IA-32e mode below CPL 3 */
    }
    static const hw_seg_t data[] = { HW_SEG_DS, HW_SEG_ES, HW_SEG_FS, HW_SEG_GS };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(data); i++) {
        const hw_segment_t *s = &cpu->seg[data[i]];
        unsigned t = s->attr & HW_SEG_ATTR_TYPE;
        if (!s->usable) continue;
        if (!(s->attr & HW_SEG_ATTR_S) || !(s->attr & HW_SEG_ATTR_P) ||
            ((t & HW_DESC_TYPE_CODE) && !(t & HW_DESC_TYPE_R)))
            return false;
    }
    const hw_segment_t *l = &cpu->ldtr;
    if (l->usable) {
        if ((l->attr & HW_SEG_ATTR_S) || (l->attr & HW_SEG_ATTR_TYPE) != HW_DESC_SYS_LDT ||
            !(l->attr & HW_SEG_ATTR_P) || !seg_limit_encodable(l) ||
            (ia32e ? !seg_canonical_bits(l->base, max_bits) : l->base > UINT32_MAX))
            return false;
    }
    return true;
}

bool hw_seg_check(const hw_cpu_t *cpu) { return seg_check(cpu, true); }

bool hw_seg_check_cache(const hw_cpu_t *cpu) { return seg_check(cpu, false); }
