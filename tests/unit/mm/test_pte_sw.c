/*
 * test_pte_sw.c - NT's software PTE formats in 4- and 8-byte entries: exact encodings from the
 * diagrams, seeded random round trips of every format, a classifier that is total and never
 * confuses two formats (every value it accepts is the one encoding of what it decodes), the
 * MMU seeing every software PTE as not present in every paging mode, and transition PTEs
 * that the PFN database's checker recognises by their frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/rng.h"
#include "hwenv.h"
#include "mm/pfn.h"
#include "mm/pte_sw.h"

static const mm_pte_fmt_t F32 = { .bytes = 4, .nx = false };
static const mm_pte_fmt_t F64 = { .bytes = 8, .nx = true };
static const mm_pte_fmt_t *const fmts[] = { &F32, &F64 };

/* Encodes what decode found, with the builders: the canonical form of a software PTE. */
static uint64_t reencode(const mm_pte_fmt_t *f, const mm_pte_info_t *i)
{
    switch (i->kind) {
    case MM_PTE_KIND_DEMAND_ZERO:
        return mm_pte_make_demand_zero(f, i->protection);
    case MM_PTE_KIND_DECOMMITTED:
        return mm_pte_make_decommitted(f);
    case MM_PTE_KIND_TRANSITION:
        return mm_pte_make_transition(f, i->pfn, i->protection, i->trans_flags);
    case MM_PTE_KIND_PAGEFILE:
        return mm_pte_make_pagefile(f, i->pagefile, i->pagefile_offset, i->protection);
    case MM_PTE_KIND_PROTOTYPE:
        return i->proto_lookup ? mm_pte_make_proto_lookup(f, i->protection)
                               : mm_pte_make_proto(f, i->proto, i->protection, i->proto_readonly);
    default:
        fail_msg("no encoding for kind %s", mm_pte_kind_name(i->kind));
    }
    return 0;
}

static void test_formats_of_modes(void **state)
{
    (void)state;
    mm_pte_fmt_t f = mm_pte_fmt(hw_paging_mode(NTMM_PAGING_X86), true);
    assert_int_equal(f.bytes, 4);
    assert_false(f.nx);
    f = mm_pte_fmt(hw_paging_mode(NTMM_PAGING_PAE), false);
    assert_int_equal(f.bytes, 8);
    assert_false(f.nx);
    f = mm_pte_fmt(hw_paging_mode(NTMM_PAGING_PAE), true);
    assert_true(f.nx);
    f = mm_pte_fmt(hw_paging_mode(NTMM_PAGING_X64_LA57), true);
    assert_int_equal(f.bytes, 8);
    assert_true(f.nx);
    assert_int_equal(mm_pte_max_pfn(&F32), 0xFFFFF);
    assert_int_equal(mm_pte_max_pfn(&F64), 0xFFFFFFFFFFull);
    assert_int_equal(mm_pte_max_pagefile_offset(&F32), 0xFFFFF);
    assert_int_equal(mm_pte_max_pagefile_offset(&F64), 0xFFFFFFFFull);
}

/* The bit diagrams of pte_sw.h, value by value. */
static void test_exact_encodings(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(fmts); i++) {
        const mm_pte_fmt_t *f = fmts[i];
        assert_int_equal(mm_pte_make_demand_zero(f, MM_READWRITE), 0x80);
        assert_int_equal(mm_pte_make_demand_zero(f, MM_NOACCESS), 0x300);
        assert_int_equal(mm_pte_make_decommitted(f), 0x200);
        assert_int_equal(mm_pte_make_guard(f, MM_READWRITE), 0x280);
        assert_int_equal(mm_pte_make_guard(f, MM_EXECUTE_READ), 0x260);
    }
    /* 4-byte */
    assert_int_equal(mm_pte_make_transition(&F32, 0x12345, MM_READWRITE, MM_PTE_TRANS_WRITE | MM_PTE_TRANS_OWNER),
                     0x12345886u);
    assert_int_equal(mm_pte_make_transition(&F32, 0xFFFFF, MM_EXECUTE_READ | MM_NOCACHE, MM_PTE_TRANS_CACHEDISABLE),
                     0xFFFFF970u);
    assert_int_equal(mm_pte_make_pagefile(&F32, 3, 0xABCDE, MM_READWRITE), 0xABCDE086u);
    assert_int_equal(mm_pte_make_pagefile(&F32, 15, 1, MM_READONLY), 0x0000103Eu);
    assert_int_equal(mm_pte_make_proto(&F32, 0x123454, 0, false), 0x0048D42Au);
    assert_int_equal(mm_pte_make_proto(&F32, 0x123454, 0, true), 0x0048D52Au);
    assert_int_equal(mm_pte_make_proto(&F32, 0, 0, false), 0x400u);
    assert_int_equal(mm_pte_make_proto_lookup(&F32, MM_READWRITE), 0xFFFFF480u);
    /* 8-byte */
    assert_int_equal(mm_pte_make_transition(&F64, 0xFFFFFFFFFFull, MM_READONLY, 0), 0x000FFFFFFFFFF820ull);
    assert_int_equal(mm_pte_make_pagefile(&F64, 15, 0xDEADBEEF, MM_READONLY), 0xDEADBEEF0000003Eull);
    assert_int_equal(mm_pte_make_proto(&F64, 0xFFFFF8A000123450ull, 0, true), 0xF8A0001234500500ull);
    assert_int_equal(mm_pte_make_proto(&F64, 0x00007FF612340008ull, MM_EXECUTE_WRITECOPY, false),
                     0x7FF6123400083C00ull);
    assert_int_equal(mm_pte_make_proto_lookup(&F64, MM_READWRITE), 0xFFFFFFFF00000480ull);
    /* decoding the same values */
    mm_pte_info_t in;
    assert_true(mm_pte_decode(&F32, 0x0048D52Au, &in));
    assert_int_equal(in.kind, MM_PTE_KIND_PROTOTYPE);
    assert_int_equal(in.proto, 0x123454);
    assert_true(in.proto_readonly);
    assert_false(in.proto_lookup);
    assert_true(mm_pte_decode(&F64, 0xF8A0001234500500ull, &in));
    assert_int_equal(in.proto, 0xFFFFF8A000123450ull);
    assert_int_equal(in.protection, 0);
    assert_true(mm_pte_decode(&F64, 0x7FF6123400083C00ull, &in));
    assert_int_equal(in.proto, 0x00007FF612340008ull);
    assert_int_equal(in.protection, MM_EXECUTE_WRITECOPY);
    assert_true(mm_pte_decode(&F32, 0xABCDE086u, &in));
    assert_int_equal(in.kind, MM_PTE_KIND_PAGEFILE);
    assert_int_equal(in.pagefile, 3);
    assert_int_equal(in.pagefile_offset, 0xABCDE);
    assert_int_equal(in.protection, MM_READWRITE);
    assert_true(mm_pte_decode(&F32, 0xFFFFF480u, &in));
    assert_true(in.proto_lookup);
    assert_int_equal(in.protection, MM_READWRITE);
    assert_true(mm_pte_decode(&F64, 0x000FFFFFFFFFF820ull, &in));
    assert_int_equal(in.kind, MM_PTE_KIND_TRANSITION);
    assert_int_equal(in.pfn, 0xFFFFFFFFFFull);
    assert_int_equal(in.protection, MM_READONLY);
    assert_int_equal(mm_pte_classify(&F32, 0), MM_PTE_KIND_ZERO);
    assert_int_equal(mm_pte_classify(&F64, 0), MM_PTE_KIND_ZERO);
    assert_int_equal(mm_pte_classify(&F64, 0x200), MM_PTE_KIND_DECOMMITTED);
    assert_int_equal(mm_pte_classify(&F64, 0x280), MM_PTE_KIND_DEMAND_ZERO);
    assert_int_equal(mm_pte_classify(&F32, 0x12345867u), MM_PTE_KIND_VALID);
    assert_string_equal(mm_pte_kind_name(MM_PTE_KIND_TRANSITION), "transition");
}

/* Values no format produces. */
static void test_bad_values(void **state)
{
    (void)state;
    const uint64_t bad32[] = {
        0x2,          /* a page-file number, no offset, no protection */
        0x82,         /* demand zero with a page-file number */
        0x1000,       /* a page-file offset without protection */
        0x100000000ull, /* beyond 32 bits */
        0x100000001ull, /* beyond 32 bits, even with P */
        0x600,        /* prototype pointer with WhichPool */
        0xFFFFFC80u,  /* lookup-needed with the Transition bit */
        0xFFFFF482u,  /* lookup-needed with a page-file number */
        0xFFFFF400u,  /* lookup-needed without a protection */
    };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(bad32); i++) {
        mm_pte_info_t in;
        if (mm_pte_classify(&F32, bad32[i]) != MM_PTE_KIND_BAD) fail_msg("4-byte %#llx", (unsigned long long)bad32[i]);
        assert_false(mm_pte_decode(&F32, bad32[i], &in));
        assert_int_equal(in.kind, MM_PTE_KIND_BAD);
    }
    const uint64_t bad64[] = {
        0x2, 0x82, 0x100000000ull,                 /* as above */
        0x1080,                                    /* demand zero with bits 31:12 */
        0x100000000080ull | 0x1000,                /* page file with bits 31:12 */
        0x0010000000000800ull,                     /* transition with bit 52 */
        0x8000000000000880ull,                     /* transition with XD */
        0x402, 0x420, 0x600,                       /* pointer with reserved bits 7:1 or 9 */
        0xFFFFFFFF00001480ull,                     /* lookup-needed with bits 31:12 */
        0xFFFFFFFF00000400ull,                     /* lookup-needed without protection */
        0xFFFFFFFF00000482ull,                     /* lookup-needed with a page-file number */
    };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(bad64); i++)
        if (mm_pte_classify(&F64, bad64[i]) != MM_PTE_KIND_BAD) fail_msg("8-byte %#llx", (unsigned long long)bad64[i]);
}

/* One random software PTE of a random kind, with its expected decode. */
static uint64_t random_sw_pte(const mm_pte_fmt_t *f, base_rng_t *r, mm_pte_info_t *want)
{
    memset(want, 0, sizeof *want);
    mm_prot_t p = 1 + (mm_prot_t)base_rng_below(r, 31); /* 1..31 */
    switch (base_rng_below(r, 7)) {
    case 0:
        if (p == MM_DECOMMIT) p = MM_NOACCESS;
        want->kind = MM_PTE_KIND_DEMAND_ZERO;
        want->protection = p;
        return mm_pte_make_demand_zero(f, p);
    case 1:
        want->kind = MM_PTE_KIND_DECOMMITTED;
        want->protection = MM_DECOMMIT;
        return mm_pte_make_decommitted(f);
    case 2: {
        want->kind = MM_PTE_KIND_DEMAND_ZERO;
        mm_prot_t base = 1 + (mm_prot_t)base_rng_below(r, 7);
        want->protection = base | MM_GUARD_PAGE;
        return mm_pte_make_guard(f, base);
    }
    case 3:
        want->kind = MM_PTE_KIND_TRANSITION;
        want->protection = (mm_prot_t)base_rng_below(r, 32);
        want->pfn = base_rng_below(r, mm_pte_max_pfn(f) + 1);
        want->trans_flags = base_rng_next(r) & MM_PTE_TRANS_FLAGS;
        return mm_pte_make_transition(f, want->pfn, want->protection, want->trans_flags);
    case 4:
        want->kind = MM_PTE_KIND_PAGEFILE;
        want->protection = p;
        want->pagefile = (unsigned)base_rng_below(r, MM_PAGEFILE_COUNT);
        want->pagefile_offset = 1 + base_rng_below(r, mm_pte_max_pagefile_offset(f));
        return mm_pte_make_pagefile(f, want->pagefile, want->pagefile_offset, p);
    case 5:
        want->kind = MM_PTE_KIND_PROTOTYPE;
        want->proto_lookup = true;
        want->protection = p;
        return mm_pte_make_proto_lookup(f, p);
    default: {
        want->kind = MM_PTE_KIND_PROTOTYPE;
        uint64_t a;
        do {
            if (f->bytes == 4) {
                a = base_rng_next(r) & NTMM_BITS(29, 2);
            } else {
                a = base_rng_next(r) & NTMM_BITS(47, 3);
                if (a & NTMM_BIT(47)) a |= NTMM_BITS(63, 48);
            }
        } while (!mm_pte_proto_encodable(f, a));
        want->proto = a;
        want->proto_readonly = base_rng_below(r, 2) != 0;
        want->protection = f->bytes == 8 ? (mm_prot_t)base_rng_below(r, 32) : 0;
        return mm_pte_make_proto(f, a, want->protection, want->proto_readonly);
    }
    }
}

static void test_random_round_trips(void **state)
{
    (void)state;
    base_rng_t r;
    base_rng_seed(&r, 0x5EED0057);
    unsigned seen[2][MM_PTE_KIND_COUNT] = { { 0 } };
    for (size_t fi = 0; fi < NTMM_ARRAY_SIZE(fmts); fi++) {
        const mm_pte_fmt_t *f = fmts[fi];
        for (unsigned n = 0; n < 50000; n++) {
            mm_pte_info_t want, got;
            uint64_t pte = random_sw_pte(f, &r, &want);
            if (f->bytes == 4) assert_int_equal(pte >> 32, 0);
            assert_int_equal(pte & MM_PTE_VALID, 0);
            assert_true(mm_pte_decode(f, pte, &got));
            if (memcmp(&got, &want, sizeof got) != 0)
                fail_msg("%u-byte %#llx: decoded as %s, built as %s", f->bytes, (unsigned long long)pte,
                         mm_pte_kind_name(got.kind), mm_pte_kind_name(want.kind));
            assert_int_equal(mm_pte_classify(f, pte), want.kind);
            assert_int_equal(reencode(f, &got), pte);
            seen[fi][got.kind]++;
        }
        for (int k = MM_PTE_KIND_DEMAND_ZERO; k <= MM_PTE_KIND_PROTOTYPE; k++) assert_true(seen[fi][k] > 1000);
    }
}

/* Checks one value: exactly one kind, consistent with P and zero, and canonical. */
static void check_value(const mm_pte_fmt_t *f, uint64_t v, unsigned *per_kind)
{
    mm_pte_info_t in;
    bool ok = mm_pte_decode(f, v, &in);
    assert_int_equal(mm_pte_classify(f, v), in.kind);
    assert_int_equal(ok, in.kind != MM_PTE_KIND_BAD);
    per_kind[in.kind]++;
    if (f->bytes == 4 && (v >> 32)) {
        assert_int_equal(in.kind, MM_PTE_KIND_BAD);
        return;
    }
    assert_int_equal(in.kind == MM_PTE_KIND_ZERO, v == 0);
    assert_int_equal(in.kind == MM_PTE_KIND_VALID, (v & 1) != 0);
    if (in.kind == MM_PTE_KIND_VALID) {
        assert_int_equal(in.pfn, mm_pte_frame(f, v));
        return;
    }
    if (in.kind == MM_PTE_KIND_ZERO || in.kind == MM_PTE_KIND_BAD) return;
    uint64_t again = reencode(f, &in);
    if (again != v)
        fail_msg("%u-byte %#llx (%s) re-encodes as %#llx", f->bytes, (unsigned long long)v,
                 mm_pte_kind_name(in.kind), (unsigned long long)again);
}

/*
 * The classifier over dense bit patterns: every low bit pattern under a set of high parts
 * that reach each field's edges, plus sparse random values. Every accepted value must be the
 * one encoding of its decoded fields, so no two formats (or two field values) share a value.
 */
static void test_classifier_canonical(void **state)
{
    (void)state;
    unsigned kinds[MM_PTE_KIND_COUNT] = { 0 };
    const uint64_t high32[] = { 0, 0x1, 0x12345, 0x80000, 0xFFFFE, 0xFFFFF };
    for (size_t h = 0; h < NTMM_ARRAY_SIZE(high32); h++)
        for (uint64_t low = 0; low < 0x1000; low++) check_value(&F32, (high32[h] << 12) | low, kinds);
    const uint64_t high64[] = {
        0, 0x1, 0xFFFFF, 0x100000, 0xFFFFFFFFFull, 0xFFFFFFFFFFull, 0x10000000000ull, 0xFFFFFFFF00000ull,
        0xFFFFFFFFFFFFFull, 0x8000000000000ull, 0x7FFF0000000ull, 0x0000F00000ull,
    };
    for (size_t h = 0; h < NTMM_ARRAY_SIZE(high64); h++)
        for (uint64_t low = 0; low < 0x1000; low++) check_value(&F64, (high64[h] << 12) | low, kinds);
    /* bits 15:0 dense under the pointer's address bits */
    const uint64_t addr64[] = { 0, 0x1234, 0xFFFFFFFF0000ull, 0xFFFFFFFEFFFFull, 0x800000000000ull, 0x7FFFFFFFFFFFull };
    for (size_t h = 0; h < NTMM_ARRAY_SIZE(addr64); h++)
        for (uint64_t low = 0; low < 0x10000; low += 1) check_value(&F64, (addr64[h] << 16) | low, kinds);
    base_rng_t r;
    base_rng_seed(&r, 0xC1A55);
    for (unsigned n = 0; n < 200000; n++) {
        uint64_t v = base_rng_next(&r) & base_rng_next(&r) & base_rng_next(&r); /* sparse */
        if (n & 1) v &= 0xFFFF | (base_rng_next(&r) & ~0xFFFFull);
        check_value(&F64, v & ~1ull, kinds);
        check_value(&F32, v & 0xFFFFFFFEu, kinds);
        check_value(&F64, v, kinds);
    }
    for (int k = 0; k < MM_PTE_KIND_COUNT; k++)
        if (kinds[k] == 0) fail_msg("no value of kind %s was seen", mm_pte_kind_name((mm_pte_kind_t)k));
}

static void test_proto_encodable(void **state)
{
    (void)state;
    assert_true(mm_pte_proto_encodable(&F32, 0));
    assert_true(mm_pte_proto_encodable(&F32, 0x3FFFF7FC));
    assert_false(mm_pte_proto_encodable(&F32, 0x2));        /* not 4-byte aligned */
    assert_false(mm_pte_proto_encodable(&F32, 0x40000000)); /* 1 GiB and above */
    assert_false(mm_pte_proto_encodable(&F32, 0x3FFFFC00)); /* would read as lookup-needed */
    assert_false(mm_pte_proto_encodable(&F32, 0x3FFFFFFC));
    assert_true(mm_pte_proto_encodable(&F64, 0x00007FFFFFFFFFF8ull));
    assert_true(mm_pte_proto_encodable(&F64, 0xFFFF800000000000ull));
    assert_true(mm_pte_proto_encodable(&F64, 0xFFFFFFFFFFFEFFF8ull));
    assert_true(mm_pte_proto_encodable(&F64, 0x00000000C0001238ull)); /* a PAE address */
    assert_false(mm_pte_proto_encodable(&F64, 0x0000800000000000ull)); /* not sign-extended */
    assert_false(mm_pte_proto_encodable(&F64, 0x00FF000000000000ull)); /* LA57 only */
    assert_false(mm_pte_proto_encodable(&F64, 0xFFFFFFFFFFFF0000ull)); /* lookup-needed */
    assert_false(mm_pte_proto_encodable(&F64, 0x0000000000001004ull)); /* not 8-byte aligned */
}

/* NT's trim: valid -> transition keeps frame, R/W, U/S, PWT, PCD and drops the rest. */
static void test_transition_from_valid(void **state)
{
    (void)state;
    for (size_t fi = 0; fi < NTMM_ARRAY_SIZE(fmts); fi++) {
        const mm_pte_fmt_t *f = fmts[fi];
        pfn_t pfn = f->bytes == 4 ? 0xABCDE : 0xABCDEF012ull;
        for (mm_prot_t p = 0; p < 32; p++) {
            if (mm_protect_pte_bits(p, f->bytes, f->nx, true) == 0) continue;
            uint64_t valid = mm_pte_make_valid(f, pfn, p, true) | HW_PTE_A | HW_PTE_D | HW_PTE_G;
            assert_int_equal(mm_pte_classify(f, valid), MM_PTE_KIND_VALID);
            assert_int_equal(mm_pte_frame(f, valid), pfn);
            uint64_t t = mm_pte_make_transition_from_valid(f, valid, p);
            mm_pte_info_t in;
            assert_true(mm_pte_decode(f, t, &in));
            assert_int_equal(in.kind, MM_PTE_KIND_TRANSITION);
            assert_int_equal(in.pfn, pfn);
            assert_int_equal(in.protection, p);
            assert_int_equal(in.trans_flags, valid & (HW_PTE_RW | HW_PTE_US | HW_PTE_PWT | HW_PTE_PCD));
            assert_int_equal(t & (HW_PTE_P | HW_PTE_XD), 0);
            /* the soft fault: back to the same valid PTE, less the MMU's A/D and G */
            assert_int_equal(mm_pte_make_valid(f, in.pfn, in.protection, true),
                             valid & ~(HW_PTE_A | HW_PTE_D | HW_PTE_G));
        }
    }
}

/* Every software PTE kind, once per format, and a few random ones. */
static size_t samples(const mm_pte_fmt_t *f, uint64_t *out, size_t max)
{
    size_t n = 0;
    out[n++] = mm_pte_make_demand_zero(f, MM_READWRITE);
    out[n++] = mm_pte_make_demand_zero(f, MM_NOACCESS);
    out[n++] = mm_pte_make_demand_zero(f, MM_EXECUTE_WRITECOPY | MM_WRITECOMBINE); /* 0x1F: bits 9:5 all set */
    out[n++] = mm_pte_make_decommitted(f);
    out[n++] = mm_pte_make_guard(f, MM_READWRITE);
    out[n++] = mm_pte_make_transition(f, 0x1000, MM_READWRITE, MM_PTE_TRANS_FLAGS);
    out[n++] = mm_pte_make_transition(f, mm_pte_max_pfn(f), MM_EXECUTE_READWRITE, MM_PTE_TRANS_FLAGS);
    out[n++] = mm_pte_make_pagefile(f, 15, mm_pte_max_pagefile_offset(f), 0x1F);
    out[n++] = mm_pte_make_pagefile(f, 0, 1, MM_READONLY);
    out[n++] = mm_pte_make_proto_lookup(f, 0x1F);
    out[n++] = mm_pte_make_proto(f, f->bytes == 4 ? 0x3FFFF7FC : 0xFFFFFFFFFFFEFFF8ull, f->bytes == 4 ? 0 : 0x1F, true);
    base_rng_t r;
    base_rng_seed(&r, 0xB0B + f->bytes);
    while (n < max) {
        mm_pte_info_t want;
        out[n++] = random_sw_pte(f, &r, &want);
    }
    return n;
}

/* hw_walk sees each software PTE as not present, as a leaf and as a page directory entry. */
static void test_not_present_to_the_mmu(void **state)
{
    (void)state;
    const ntmm_paging_mode_t modes[] = { NTMM_PAGING_X86, NTMM_PAGING_PAE, NTMM_PAGING_X64, NTMM_PAGING_X64_LA57 };
    const va_t va = 0x00412345;
    for (size_t mi = 0; mi < NTMM_ARRAY_SIZE(modes); mi++) {
        hwenv_t e;
        assert_true(hwenv_init(&e, modes[mi], NULL));
        mm_pte_fmt_t f = mm_pte_fmt(e.b.mode, e.cpu->paging.nxe);
        uint64_t s[64];
        size_t n = samples(&f, s, NTMM_ARRAY_SIZE(s));
        for (unsigned level = 1; level <= 2; level++) {
            pa_t slot = ptb_entry_pa(&e.b, va, level);
            assert_true(slot != 0);
            hw_pte_t keep = ptb_read(&e.b, slot);
            for (size_t i = 0; i < n; i++) {
                ptb_write(&e.b, slot, s[i]);
                assert_int_equal(ptb_read(&e.b, slot), s[i]);
                for (unsigned k = NTMM_ACCESS_READ; k <= NTMM_ACCESS_EXECUTE; k++)
                    for (unsigned user = 0; user < 2; user++) {
                        hw_walk_t w;
                        ntmm_fault_t fault;
                        unsigned acc = k | (user ? HW_ACC_USER : 0u);
                        if (hw_walk(&e.cpu->paging, va, acc, &w, &fault))
                            fail_msg("mode %d level %u: %#llx is present", modes[mi], level, (unsigned long long)s[i]);
                        assert_int_equal(fault.vector, NTMM_VEC_PF);
                        assert_int_equal(fault.error_code & (NTMM_PF_P | NTMM_PF_RSVD), 0);
                        assert_int_equal(fault.address, va);
                    }
                hw_walk_t w;
                ntmm_fault_t fault;
                hw_walk(&e.cpu->paging, va, NTMM_ACCESS_READ | HW_ACC_INSPECT, &w, &fault);
                assert_int_equal(w.leaf_level, level);
                assert_int_equal(w.entry[level], s[i]);
            }
            ptb_write(&e.b, slot, keep);
        }
        hwenv_destroy(&e);
    }
}

/* A machine with a PFN database whose PTEs are `bytes` wide, a table frame and RAM above 4 GiB. */
static hw_machine_t *pfn_machine(mm_pfndb_t *db, unsigned bytes, pfn_t *table)
{
    static const ntmm_mem_range_t map[] = {
        { 0, 0x9F000, NTMM_MEM_USABLE }, { 0x100000, 0xF00000, NTMM_MEM_USABLE },
        { 0x100000000ull, 0x800000, NTMM_MEM_USABLE },
    };
    ntmm_hw_config_t cfg = { .mem_map = map, .mem_map_count = bytes == 8 ? 3 : 2 };
    hw_machine_t *m = NULL;
    assert_int_equal(hw_machine_create(&cfg, &m), NTMM_STATUS_SUCCESS);
    assert_int_equal(mm_pfndb_init(db, m, NTMM_FRAMES_NT_LISTS, bytes), NTMM_STATUS_SUCCESS);
    mm_pfn_lock(db);
    assert_int_equal(mm_pfn_allocate(db, MM_ALLOC_ZEROED, NTMM_USE_PAGE_TABLE, 0, 0, table), NTMM_STATUS_SUCCESS);
    mm_pfn_unlock(db);
    return m;
}

static void write_pte(hw_machine_t *m, pa_t pa, unsigned bytes, uint64_t v)
{
    ntmm_le_store(hw_phys_host(&m->phys, pa), v, bytes);
}

/*
 * The PFN database remembers a standby frame through its transition PTE: mm_pfn_check must
 * find the frame in it (in both PTE sizes, and above 4 GiB with 8-byte PTEs), and must notice
 * a transition PTE that names another frame.
 */
static void test_transition_pfn_check(void **state)
{
    (void)state;
    for (size_t fi = 0; fi < NTMM_ARRAY_SIZE(fmts); fi++) {
        const mm_pte_fmt_t *f = fmts[fi];
        mm_pfndb_t db;
        pfn_t table;
        hw_machine_t *m = pfn_machine(&db, f->bytes, &table);
        pfn_t frames[3];
        pa_t slots[3];
        mm_pfn_lock(&db);
        for (unsigned i = 0; i < 3; i++) {
            slots[i] = (table << NTMM_PAGE_SHIFT) + f->bytes * (i + 1);
            pfn_t pfn;
            if (i == 2 && f->bytes == 8) {
                /* the last one above 4 GiB: take frames (mapped by no PTE) until one is there,
                 * free it, and let the next allocation take it back from the free list */
                do {
                    assert_int_equal(mm_pfn_allocate(&db, MM_ALLOC_ANY, NTMM_USE_DRIVER_LOCKED, 0, 0, &pfn), 0);
                } while (pfn < NTMM_BIT(20));
                assert_int_equal(mm_pfn_free(&db, pfn), NTMM_STATUS_SUCCESS);
                frames[i] = pfn;
            }
            assert_int_equal(mm_pfn_allocate(&db, MM_ALLOC_ANY, NTMM_USE_PROCESS_PRIVATE, slots[i], 0, &pfn), 0);
            if (i == 2 && f->bytes == 8) assert_int_equal(pfn, frames[i]);
            frames[i] = pfn;
            write_pte(m, slots[i], f->bytes, mm_pte_make_valid(f, pfn, MM_READWRITE, true));
        }
        mm_pfn_unlock(&db);
        assert_true(mm_pfn_check(&db));
        if (f->bytes == 8) assert_true(frames[2] >= NTMM_BIT(20));
        /* trim all three: transition PTEs, frames on the standby list */
        mm_pfn_lock(&db);
        for (unsigned i = 0; i < 3; i++) {
            uint64_t valid = ntmm_le_load(hw_phys_host(&m->phys, slots[i]), f->bytes);
            write_pte(m, slots[i], f->bytes, mm_pte_make_transition_from_valid(f, valid, MM_READWRITE));
            assert_int_equal(mm_pfn_remove_share(&db, frames[i]), NTMM_STATUS_SUCCESS);
            assert_int_equal(db.pfn[frames[i]].location, MM_STANDBY);
        }
        mm_pfn_unlock(&db);
        assert_true(mm_pfn_check(&db));
        /* a soft fault brings one back */
        mm_pfn_lock(&db);
        assert_int_equal(mm_pfn_reclaim(&db, frames[0]), NTMM_STATUS_SUCCESS);
        uint64_t t = ntmm_le_load(hw_phys_host(&m->phys, slots[0]), f->bytes);
        write_pte(m, slots[0], f->bytes, mm_pte_make_valid(f, mm_pte_frame(f, t), mm_pte_sw_protection(t), true));
        mm_pfn_unlock(&db);
        assert_true(mm_pfn_check(&db));
        /* a transition PTE naming the wrong frame is corruption */
        write_pte(m, slots[1], f->bytes, mm_pte_make_transition(f, frames[1] + 1, MM_READWRITE, 0));
        assert_false(mm_pfn_check(&db));
        assert_int_equal(m->bugcheck.code, NTMM_BUGCHECK_PFN_LIST_CORRUPT);
        mm_pfndb_destroy(&db);
        hw_machine_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_of_modes),
        cmocka_unit_test(test_exact_encodings),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_random_round_trips),
        cmocka_unit_test(test_classifier_canonical),
        cmocka_unit_test(test_proto_encodable),
        cmocka_unit_test(test_transition_from_valid),
        cmocka_unit_test(test_not_present_to_the_mmu),
        cmocka_unit_test(test_transition_pfn_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
