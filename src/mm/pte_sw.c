/*
 * pte_sw.c - NT's software PTE formats: building, classifying and decoding demand-zero,
 * decommitted, guard, transition, page-file and prototype PTEs for 4- and 8-byte entries, and
 * valid PTEs from a frame and a protection (NT: MI_MAKE_SOFTWARE_PTE, MI_MAKE_TRANSITION_PTE,
 * MI_MAKE_VALID_PTE_TRANSITION, MiProtoAddressForPte, MiPteToProto, MI_MAKE_VALID_PTE).
 * The layouts are drawn in pte_sw.h.
 */
#include "mm/pte_sw.h"

#include "base/debug.h"

static inline bool fmt_ok(const mm_pte_fmt_t *f) { return f != NULL && (f->bytes == 4 || f->bytes == 8); }

static inline uint64_t prot_field(mm_prot_t p) { return (uint64_t)p << MM_PTE_PROTECTION_SHIFT; }

/* The 8-byte pointer's address: bits 47:0 of the PTE's 63:16, sign-extended from bit 47. */
static inline uint64_t proto64_decode(uint64_t pte)
{
    uint64_t a = pte >> MM_PTE64_PROTO_ADDR_SHIFT;
    return (a & NTMM_BIT(47)) ? a | NTMM_BITS(63, 48) : a;
}

/* The 4-byte pointer's offset: bits 8:2 from PTE bits 7:1, bits 29:9 from PTE bits 31:11. */
static inline uint64_t proto32_decode(uint64_t pte)
{
    return ((pte & MM_PTE32_PROTO_LOW) << 1) | ((pte & MM_PTE32_PROTO_HIGH) >> 2);
}

mm_pte_fmt_t mm_pte_fmt(const hw_paging_mode_t *mode, bool nxe)
{
    NTMM_ASSERT(mode != NULL);
    mm_pte_fmt_t f = { .bytes = mode->entry_bytes, .nx = mode->entry_bytes == 8 && nxe };
    return f;
}

const char *mm_pte_kind_name(mm_pte_kind_t k)
{
    static const char *const names[MM_PTE_KIND_COUNT] = {
        "zero", "valid", "demand-zero", "decommitted", "transition", "page-file", "prototype", "bad",
    };
    return (unsigned)k < MM_PTE_KIND_COUNT ? names[k] : "?";
}

/* Prototype = 1: a pointer or a lookup-needed PTE. */
static mm_pte_kind_t classify_proto(const mm_pte_fmt_t *f, uint64_t pte, mm_pte_info_t *out)
{
    bool lookup;
    if (f->bytes == 4) {
        lookup = ((pte & MM_PTE32_PAGEFILE_HIGH) >> MM_PTE32_PAGEFILE_HIGH_SHIFT) == MM_PTE32_LOOKUP_NEEDED;
        if (!lookup && (pte & MM_PTE32_PROTO_WHICHPOOL)) return MM_PTE_KIND_BAD;
    } else {
        lookup = ((pte & MM_PTE64_PAGEFILE_HIGH) >> MM_PTE64_PAGEFILE_HIGH_SHIFT) == MM_PTE64_LOOKUP_NEEDED;
        if (lookup && (pte & MM_PTE64_SW_RESERVED)) return MM_PTE_KIND_BAD;
        if (!lookup && (pte & MM_PTE64_PROTO_RESERVED)) return MM_PTE_KIND_BAD;
    }
    if (lookup) {
        /* bits 4:1 and the Transition bit are 0, the protection is a real one */
        if ((pte & (MM_PTE_PAGEFILE_LOW | MM_PTE_TRANSITION)) || mm_pte_sw_protection(pte) == 0)
            return MM_PTE_KIND_BAD;
        if (out) {
            out->protection = mm_pte_sw_protection(pte);
            out->proto_lookup = true;
        }
        return MM_PTE_KIND_PROTOTYPE;
    }
    if (out) {
        out->proto_readonly = (pte & MM_PTE_PROTO_READONLY) != 0;
        if (f->bytes == 4) {
            out->proto = proto32_decode(pte);
        } else {
            out->proto = proto64_decode(pte);
            out->protection = (mm_prot_t)((pte & MM_PTE64_PROTO_PROTECTION) >> MM_PTE64_PROTO_PROTECTION_SHIFT);
        }
    }
    return MM_PTE_KIND_PROTOTYPE;
}

/* The whole decision, filling *out when given. */
static mm_pte_kind_t classify(const mm_pte_fmt_t *f, uint64_t pte, mm_pte_info_t *out)
{
    NTMM_ASSERT(fmt_ok(f));
    if (f->bytes == 4 && (pte >> 32) != 0) return MM_PTE_KIND_BAD;
    if (pte == 0) return MM_PTE_KIND_ZERO;
    if (pte & MM_PTE_VALID) {
        if (out) out->pfn = mm_pte_frame(f, pte);
        return MM_PTE_KIND_VALID;
    }
    if (pte & MM_PTE_PROTOTYPE) return classify_proto(f, pte, out);
    mm_prot_t prot = mm_pte_sw_protection(pte);
    if (pte & MM_PTE_TRANSITION) {
        if (f->bytes == 8 && (pte & MM_PTE64_TRANS_RESERVED)) return MM_PTE_KIND_BAD;
        if (out) {
            out->protection = prot;
            out->pfn = mm_pte_frame(f, pte);
            out->trans_flags = pte & MM_PTE_TRANS_FLAGS;
        }
        return MM_PTE_KIND_TRANSITION;
    }
    /* MMPTE_SOFTWARE: page file, demand zero or decommitted */
    if (f->bytes == 8 && (pte & MM_PTE64_SW_RESERVED)) return MM_PTE_KIND_BAD;
    uint64_t offset = f->bytes == 4 ? (pte & MM_PTE32_PAGEFILE_HIGH) >> MM_PTE32_PAGEFILE_HIGH_SHIFT
                                    : (pte & MM_PTE64_PAGEFILE_HIGH) >> MM_PTE64_PAGEFILE_HIGH_SHIFT;
    if (prot == 0) return MM_PTE_KIND_BAD; /* nonzero, yet no protection: nothing NT writes */
    if (offset != 0) {
        if (out) {
            out->protection = prot;
            out->pagefile = (unsigned)((pte & MM_PTE_PAGEFILE_LOW) >> MM_PTE_PAGEFILE_LOW_SHIFT);
            out->pagefile_offset = offset;
        }
        return MM_PTE_KIND_PAGEFILE;
    }
    if (pte & MM_PTE_PAGEFILE_LOW) return MM_PTE_KIND_BAD; /* a file number without an offset */
    if (out) out->protection = prot;
    return prot == MM_DECOMMIT ? MM_PTE_KIND_DECOMMITTED : MM_PTE_KIND_DEMAND_ZERO;
}

mm_pte_kind_t mm_pte_classify(const mm_pte_fmt_t *f, uint64_t pte) { return classify(f, pte, NULL); }

bool mm_pte_decode(const mm_pte_fmt_t *f, uint64_t pte, mm_pte_info_t *out)
{
    memset(out, 0, sizeof *out);
    mm_pte_kind_t k = classify(f, pte, out);
    if (k == MM_PTE_KIND_BAD) memset(out, 0, sizeof *out);
    out->kind = k;
    return k != MM_PTE_KIND_BAD;
}

uint64_t mm_pte_make_demand_zero(const mm_pte_fmt_t *f, mm_prot_t p)
{
    NTMM_ASSERT(fmt_ok(f));
    NTMM_ASSERT(p < MM_PROTECT_CODES && p != 0 && p != MM_DECOMMIT);
    (void)f;
    return prot_field(p);
}

uint64_t mm_pte_make_decommitted(const mm_pte_fmt_t *f)
{
    NTMM_ASSERT(fmt_ok(f));
    (void)f;
    return prot_field(MM_DECOMMIT);
}

uint64_t mm_pte_make_guard(const mm_pte_fmt_t *f, mm_prot_t base)
{
    NTMM_ASSERT(base >= MM_READONLY && base <= MM_EXECUTE_WRITECOPY);
    return mm_pte_make_demand_zero(f, base | MM_GUARD_PAGE);
}

uint64_t mm_pte_make_transition(const mm_pte_fmt_t *f, pfn_t pfn, mm_prot_t p, uint64_t trans_flags)
{
    NTMM_ASSERT(fmt_ok(f));
    NTMM_ASSERT(pfn <= mm_pte_max_pfn(f));
    NTMM_ASSERT(p < MM_PROTECT_CODES);
    NTMM_ASSERT((trans_flags & ~MM_PTE_TRANS_FLAGS) == 0);
    return (pfn << NTMM_PAGE_SHIFT) | MM_PTE_TRANSITION | prot_field(p) | (trans_flags & MM_PTE_TRANS_FLAGS);
}

uint64_t mm_pte_make_transition_from_valid(const mm_pte_fmt_t *f, uint64_t valid, mm_prot_t p)
{
    NTMM_ASSERT(valid & MM_PTE_VALID);
    return mm_pte_make_transition(f, mm_pte_frame(f, valid), p, valid & MM_PTE_TRANS_FLAGS);
}

uint64_t mm_pte_make_pagefile(const mm_pte_fmt_t *f, unsigned file, uint64_t offset, mm_prot_t p)
{
    NTMM_ASSERT(fmt_ok(f));
    NTMM_ASSERT(file < MM_PAGEFILE_COUNT);
    NTMM_ASSERT(offset >= 1 && offset <= mm_pte_max_pagefile_offset(f));
    NTMM_ASSERT(p != 0 && p < MM_PROTECT_CODES);
    unsigned shift = f->bytes == 4 ? MM_PTE32_PAGEFILE_HIGH_SHIFT : MM_PTE64_PAGEFILE_HIGH_SHIFT;
    return (offset << shift) | prot_field(p) | ((uint64_t)file << MM_PTE_PAGEFILE_LOW_SHIFT);
}

bool mm_pte_proto_encodable(const mm_pte_fmt_t *f, uint64_t proto)
{
    NTMM_ASSERT(fmt_ok(f));
    if (f->bytes == 4) {
        /* a 4-byte-aligned offset below 1 GiB whose bits 29:10 are not all ones */
        return (proto & 3u) == 0 && proto < MM_PTE32_PROTO_LIMIT &&
               ((proto >> 10) & 0xFFFFFu) != MM_PTE32_LOOKUP_NEEDED;
    }
    uint64_t low48 = proto & NTMM_BITS(47, 0);
    uint64_t sext = (low48 & NTMM_BIT(47)) ? low48 | NTMM_BITS(63, 48) : low48;
    return (proto & 7u) == 0 && sext == proto && ((proto >> 16) & 0xFFFFFFFFu) != MM_PTE64_LOOKUP_NEEDED;
}

uint64_t mm_pte_make_proto(const mm_pte_fmt_t *f, uint64_t proto, mm_prot_t p, bool read_only)
{
    NTMM_ASSERT(mm_pte_proto_encodable(f, proto));
    NTMM_ASSERT(p < MM_PROTECT_CODES && (f->bytes == 8 || p == 0));
    uint64_t pte = MM_PTE_PROTOTYPE | (read_only ? MM_PTE_PROTO_READONLY : 0u);
    if (f->bytes == 4)
        return pte | ((proto << 2) & MM_PTE32_PROTO_HIGH) | ((proto >> 1) & MM_PTE32_PROTO_LOW);
    return pte | ((proto << MM_PTE64_PROTO_ADDR_SHIFT) & MM_PTE64_PROTO_ADDR) |
           ((uint64_t)p << MM_PTE64_PROTO_PROTECTION_SHIFT);
}

uint64_t mm_pte_make_proto_lookup(const mm_pte_fmt_t *f, mm_prot_t p)
{
    NTMM_ASSERT(fmt_ok(f));
    NTMM_ASSERT(p != 0 && p < MM_PROTECT_CODES);
    uint64_t high = f->bytes == 4 ? (uint64_t)MM_PTE32_LOOKUP_NEEDED << MM_PTE32_PAGEFILE_HIGH_SHIFT
                                  : (uint64_t)MM_PTE64_LOOKUP_NEEDED << MM_PTE64_PAGEFILE_HIGH_SHIFT;
    return high | MM_PTE_PROTOTYPE | prot_field(p);
}

uint64_t mm_pte_make_valid(const mm_pte_fmt_t *f, pfn_t pfn, mm_prot_t p, bool user)
{
    NTMM_ASSERT(fmt_ok(f));
    NTMM_ASSERT(pfn <= mm_pte_max_pfn(f));
    hw_pte_t bits = mm_protect_pte_bits(p, f->bytes, f->nx, user);
    NTMM_ASSERT(bits != 0);
    return (pfn << NTMM_PAGE_SHIFT) | bits;
}
