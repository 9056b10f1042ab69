/* test_seg.c - segmentation: the worked examples, selector and descriptor formats, segment
 * loads, LLDT, logical-to-linear translation, the Accessed bit, descriptor tables in paged
 * memory and logical accesses. Windows' flat model and the other modes: test_seg_modes.c. */
#include "segenv.h"

/* ---- the worked examples ---------------------------------------------------------------- */

static void test_worked_examples(void **state)
{
    (void)state;
    env_t e = std_env();
    ntmm_fault_t f;
    va_t la = 0;

    /* 0x21 = 0000 0000 0010 0|0|01: index 4, GDT, RPL 1. */
    assert_int_equal(hw_seg_sel_index(0x21), 4);
    assert_false(hw_seg_sel_ldt(0x21));
    assert_int_equal(hw_seg_sel_rpl(0x21), 1);
    assert_true(hw_seg_load(e.cpu, HW_SEG_DS, 0x21, &f));
    assert_int_equal(e.cpu->seg[HW_SEG_DS].base, 0x11111111);
    assert_true(hw_seg_translate(e.cpu, HW_SEG_DS, 0x12345678, 4, R, &la, &f));
    assert_int_equal(la, 0x23456789);

    /* 0x1C = index 3, TI = 1 (LDT), RPL 0: entry 3 of the current LDT (base 0x5000). */
    assert_int_equal(hw_seg_sel_index(0x1C), 3);
    assert_true(hw_seg_sel_ldt(0x1C));
    assert_int_equal(hw_seg_sel_rpl(0x1C), 0);
    assert_true(hw_seg_lldt(e.cpu, SEL(G_LDT, 0), &f));
    assert_true(hw_seg_load(e.cpu, HW_SEG_DS, 0x1C, &f));
    assert_int_equal(e.cpu->seg[HW_SEG_DS].base, 0x5000);
    assert_int_equal(e.cpu->seg[HW_SEG_DS].limit, 0xFFFF);
    assert_true(hw_seg_translate(e.cpu, HW_SEG_DS, 0x1234, 2, W, &la, &f));
    assert_int_equal(la, 0x6234);
    assert_true(hw_seg_check(e.cpu));

    /* 32-bit paging splits a linear address 10/10/12. */
    const hw_paging_mode_t *x86 = hw_paging_mode(NTMM_PAGING_X86);
    assert_non_null(x86);
    assert_int_equal(hw_paging_index(x86, 0x08147258, 2), 0x20);
    assert_int_equal(hw_paging_index(x86, 0x08147258, 1), 0x147);
    assert_int_equal(0x08147258 & NTMM_PAGE_MASK, 0x258);
    assert_int_equal(hw_paging_index(x86, 0x2A8E317F, 2), 0x0AA);
    assert_int_equal(hw_paging_index(x86, 0x2A8E317F, 1), 0x0E3);
    assert_int_equal(0x2A8E317F & NTMM_PAGE_MASK, 0x17F);
    env_free(&e);
}

/* ---- formats ---------------------------------------------------------------------------- */

static void test_selector_accessors(void **state)
{
    (void)state;
    for (unsigned v = 0; v <= 0xFFFF; v++) {
        uint16_t s = (uint16_t)v;
        assert_int_equal(hw_seg_sel_make(hw_seg_sel_index(s), hw_seg_sel_ldt(s), hw_seg_sel_rpl(s)), s);
        assert_int_equal(hw_seg_sel_null(s), v <= 3);
    }
    assert_int_equal(hw_seg_sel_make(8191, true, 3), 0xFFFF);
    assert_int_equal(hw_seg_sel_make(2, false, 0), 0x10);
}

static void test_descriptor_roundtrip(void **state)
{
    (void)state;
    /* A flat ring-3 code segment, byte by byte: limit 0xFFFF|F, base 0, type 0xA, S, DPL 3, P, D, G. */
    hw_desc_t d = { .base = 0, .limit = 0xFFFFF, .type = 0xA, .s = true, .dpl = 3, .p = true, .db = true,
                    .g = true };
    assert_int_equal(hw_desc_encode(&d), 0x00CFFA000000FFFFull);
    assert_int_equal(hw_desc_make(0, 0xFFFFF, 0xC0FA), 0x00CFFA000000FFFFull);
    assert_int_equal(hw_desc_attr(0x00CFFA000000FFFFull), 0xC0FA);
    assert_int_equal(hw_desc_limit(0x00CFFA000000FFFFull), 0xFFFFFFFFu);

    /* Every field in its place. */
    uint64_t raw = hw_desc_make(0xA1B2C3D4, 0x5E6F7, 0x7000 | 0xF5);
    assert_int_equal(raw, 0xA175F5B2C3D4E6F7ull);
    hw_desc_t x = hw_desc_decode(raw);
    assert_int_equal(x.base, 0xA1B2C3D4);
    assert_int_equal(x.limit, 0x5E6F7);
    assert_int_equal(x.type, 5);
    assert_true(x.s);
    assert_int_equal(x.dpl, 3);
    assert_true(x.p);
    assert_true(x.avl);
    assert_true(x.l);
    assert_true(x.db);
    assert_false(x.g);
    assert_int_equal(hw_desc_limit(raw), 0x5E6F7);
    assert_int_equal(hw_desc_limit(raw | HW_DESC_G), 0x5E6F7FFF);
    assert_int_equal(hw_desc_limit(hw_desc_make(0, 0, 0x8092)), 0xFFF);
    assert_int_equal(hw_desc_base(raw), 0xA1B2C3D4);

    /* decode/encode and the attr layout are inverse on every bit pattern. */
    base_rng_t rng;
    base_rng_seed(&rng, 0x5e9);
    for (int i = 0; i < 100000; i++) {
        uint64_t r = base_rng_next(&rng);
        hw_desc_t dd = hw_desc_decode(r);
        assert_int_equal(hw_desc_encode(&dd), r);
        assert_int_equal(hw_desc_make(hw_desc_base(r), dd.limit, hw_desc_attr(r)), r);
        assert_int_equal(hw_desc_attr_bits(hw_desc_attr(r)), r & (HW_DESC_ATTR_LO | HW_DESC_ATTR_HI));
        hw_segment_t s = hw_desc_to_segment(r, 0x1234);
        uint64_t back = 0;
        assert_true(hw_desc_from_segment(&s, &back));
        assert_int_equal(back, r);
        assert_int_equal(s.limit, dd.g ? (dd.limit << 12) | 0xFFFu : dd.limit);
    }
    /* A cached state no descriptor can produce. */
    hw_segment_t bad = { 0, 0x8093, 0x12345, 0, true };
    uint64_t out;
    assert_false(hw_desc_from_segment(&bad, &out));
    bad = (hw_segment_t){ 0, 0x0093, 0x100000, 0, true };
    assert_false(hw_desc_from_segment(&bad, &out));
    bad = (hw_segment_t){ 0, 0x0093, 0xFFFF, NTMM_BIT(32), true };
    assert_false(hw_desc_from_segment(&bad, &out));

    /* 16-byte system descriptors: base 63:32 in the high quadword, its type bits zero. */
    hw_desc_t ldt = { .base = 0xFFFFF80012345678ull, .limit = 0xFFF, .type = HW_DESC_SYS_LDT, .p = true };
    uint64_t w[2];
    hw_desc_encode16(&ldt, w);
    assert_int_equal(w[0], 0x1200823456780FFFull);
    assert_int_equal(w[1], 0x00000000FFFFF800ull);
    hw_desc_t back16 = hw_desc_decode16(w);
    assert_int_equal(back16.base, 0xFFFFF80012345678ull);
    assert_int_equal(back16.limit, 0xFFF);
    assert_int_equal(back16.type, HW_DESC_SYS_LDT);
    assert_false(back16.s);
    assert_true(back16.p);
    for (int i = 0; i < 10000; i++) {
        uint64_t r[2] = { base_rng_next(&rng), base_rng_next(&rng) & HW_DESC16_BASE_HI };
        hw_desc_t dd = hw_desc_decode16(r);
        uint64_t again[2];
        hw_desc_encode16(&dd, again);
        assert_int_equal(again[0], r[0]);
        assert_int_equal(again[1], r[1]);
    }
}

/* ---- MOV Sreg, far JMP to CS ------------------------------------------------------------ */

enum { OP_LOAD, OP_LOAD_CS };

typedef struct load_case {
    const char *what;
    int op;
    unsigned cpl;
    hw_seg_t reg;
    uint16_t sel;
    uint32_t vector; /* NTMM_VEC_NONE: the load succeeds */
    uint32_t code;
} load_case_t;

static const load_case_t load_cases[] = {
    /* DS, ES, FS, GS */
    { "null DS", OP_LOAD, 0, HW_SEG_DS, 0x0000, NONE, 0 },
    { "null DS at CPL 3, RPL 3", OP_LOAD, 3, HW_SEG_DS, 0x0003, NONE, 0 },
    { "ring-0 data", OP_LOAD, 0, HW_SEG_DS, SEL(G_R0_DATA, 0), NONE, 0 },
    { "ring-0 data at CPL 3", OP_LOAD, 3, HW_SEG_DS, SEL(G_R0_DATA, 3), GP, SEL(G_R0_DATA, 0) },
    { "ring-0 data with RPL 3", OP_LOAD, 0, HW_SEG_ES, SEL(G_R0_DATA, 3), GP, SEL(G_R0_DATA, 0) },
    { "ring-3 data at CPL 3", OP_LOAD, 3, HW_SEG_DS, SEL(G_R3_DATA, 3), NONE, 0 },
    { "ring-3 data, RPL 1", OP_LOAD, 0, HW_SEG_FS, SEL(G_R3_DATA, 1), NONE, 0 },
    { "read-only data", OP_LOAD, 0, HW_SEG_DS, SEL(G_R0_RODATA, 0), NONE, 0 },
    { "execute-only code", OP_LOAD, 0, HW_SEG_DS, SEL(G_R0_XCODE, 0), GP, SEL(G_R0_XCODE, 0) },
    { "readable code", OP_LOAD, 0, HW_SEG_GS, SEL(G_R0_CODE, 0), NONE, 0 },
    { "readable code DPL 0 at CPL 3", OP_LOAD, 3, HW_SEG_DS, SEL(G_R0_CODE, 3), GP, SEL(G_R0_CODE, 0) },
    { "conforming readable code DPL 0 at CPL 3", OP_LOAD, 3, HW_SEG_DS, SEL(G_CONF_RCODE, 3), NONE, 0 },
    { "conforming execute-only code", OP_LOAD, 0, HW_SEG_DS, SEL(G_CONF_XCODE, 0), GP, SEL(G_CONF_XCODE, 0) },
    { "not-present data", OP_LOAD, 0, HW_SEG_DS, SEL(G_NP_DATA, 0), NP, SEL(G_NP_DATA, 0) },
    { "not-present data, privilege first", OP_LOAD, 0, HW_SEG_DS, SEL(G_NP_DATA, 3), GP, SEL(G_NP_DATA, 0) },
    { "not-present ring-3 data in GS", OP_LOAD, 3, HW_SEG_GS, SEL(G_NP_R3_DATA, 3), NP, SEL(G_NP_R3_DATA, 0) },
    { "index at the GDT limit", OP_LOAD, 0, HW_SEG_DS, SEL(G_COUNT, 0), GP, SEL(G_COUNT, 0) },
    { "last possible index", OP_LOAD, 0, HW_SEG_DS, 0xFFFB, GP, 0xFFF8 },
    { "LDT descriptor", OP_LOAD, 0, HW_SEG_DS, SEL(G_LDT, 0), GP, SEL(G_LDT, 0) },
    { "TSS descriptor", OP_LOAD, 0, HW_SEG_FS, SEL(G_TSS, 0), GP, SEL(G_TSS, 0) },
    { "call gate", OP_LOAD, 0, HW_SEG_DS, SEL(G_CALLGATE, 0), GP, SEL(G_CALLGATE, 0) },
    { "LDT selector, LDTR unusable", OP_LOAD, 0, HW_SEG_DS, LSEL(1, 0), GP, LSEL(1, 0) },
    { "ring-1 data at CPL 1", OP_LOAD, 1, HW_SEG_DS, SEL(G_R1_DATA, 1), NONE, 0 },
    { "ring-1 data at CPL 2", OP_LOAD, 2, HW_SEG_DS, SEL(G_R1_DATA, 2), GP, SEL(G_R1_DATA, 0) },
    { "ring-2 data at CPL 1 with RPL 2", OP_LOAD, 1, HW_SEG_ES, SEL(G_R2_DATA, 2), NONE, 0 },
    { "ring-2 data at CPL 1 with RPL 3", OP_LOAD, 1, HW_SEG_ES, SEL(G_R2_DATA, 3), GP, SEL(G_R2_DATA, 0) },
    { "expand-down data", OP_LOAD, 0, HW_SEG_DS, SEL(G_EXPDOWN16, 0), NONE, 0 },
    { "MOV to CS", OP_LOAD, 0, HW_SEG_CS, SEL(G_R0_CODE, 0), UD, 0 },
    { "Sreg encoding 6", OP_LOAD, 0, (hw_seg_t)6, SEL(G_R0_DATA, 0), UD, 0 },
    /* SS */
    { "null SS", OP_LOAD, 0, HW_SEG_SS, 0x0000, GP, 0 },
    { "null SS at CPL 3", OP_LOAD, 3, HW_SEG_SS, 0x0003, GP, 0 },
    { "ring-0 stack", OP_LOAD, 0, HW_SEG_SS, SEL(G_R0_DATA, 0), NONE, 0 },
    { "stack RPL != CPL", OP_LOAD, 0, HW_SEG_SS, SEL(G_R0_DATA, 1), GP, SEL(G_R0_DATA, 0) },
    { "read-only stack", OP_LOAD, 0, HW_SEG_SS, SEL(G_R0_RODATA, 0), GP, SEL(G_R0_RODATA, 0) },
    { "code as stack", OP_LOAD, 0, HW_SEG_SS, SEL(G_R0_CODE, 0), GP, SEL(G_R0_CODE, 0) },
    { "ring-3 stack at CPL 3", OP_LOAD, 3, HW_SEG_SS, SEL(G_R3_DATA, 3), NONE, 0 },
    { "ring-3 stack at CPL 0", OP_LOAD, 0, HW_SEG_SS, SEL(G_R3_DATA, 0), GP, SEL(G_R3_DATA, 0) },
    { "ring-0 stack at CPL 3", OP_LOAD, 3, HW_SEG_SS, SEL(G_R0_DATA, 3), GP, SEL(G_R0_DATA, 0) },
    { "not-present stack", OP_LOAD, 0, HW_SEG_SS, SEL(G_NP_DATA, 0), SSF, SEL(G_NP_DATA, 0) },
    { "not-present ring-3 stack", OP_LOAD, 3, HW_SEG_SS, SEL(G_NP_R3_DATA, 3), SSF, SEL(G_NP_R3_DATA, 0) },
    { "stack beyond the GDT", OP_LOAD, 0, HW_SEG_SS, SEL(200, 0), GP, SEL(200, 0) },
    { "expand-down stack", OP_LOAD, 0, HW_SEG_SS, SEL(G_EXPDOWN32, 0), NONE, 0 },
    { "ring-1 stack at CPL 1", OP_LOAD, 1, HW_SEG_SS, SEL(G_R1_DATA, 1), NONE, 0 },
    { "TSS as stack", OP_LOAD, 0, HW_SEG_SS, SEL(G_TSS, 0), GP, SEL(G_TSS, 0) },
    /* CS, as far JMP/CALL */
    { "null CS", OP_LOAD_CS, 0, HW_SEG_CS, 0x0000, GP, 0 },
    { "ring-0 code", OP_LOAD_CS, 0, HW_SEG_CS, SEL(G_R0_CODE, 0), NONE, 0 },
    { "ring-0 code, RPL 3", OP_LOAD_CS, 0, HW_SEG_CS, SEL(G_R0_CODE, 3), GP, SEL(G_R0_CODE, 0) },
    { "ring-0 code at CPL 3", OP_LOAD_CS, 3, HW_SEG_CS, SEL(G_R0_CODE, 3), GP, SEL(G_R0_CODE, 0) },
    { "ring-3 code at CPL 0", OP_LOAD_CS, 0, HW_SEG_CS, SEL(G_R3_CODE, 0), GP, SEL(G_R3_CODE, 0) },
    { "ring-3 code at CPL 3", OP_LOAD_CS, 3, HW_SEG_CS, SEL(G_R3_CODE, 3), NONE, 0 },
    { "conforming DPL 0 at CPL 3", OP_LOAD_CS, 3, HW_SEG_CS, SEL(G_CONF_RCODE, 3), NONE, 0 },
    { "conforming DPL 0 at CPL 0, RPL 3", OP_LOAD_CS, 0, HW_SEG_CS, SEL(G_CONF_RCODE, 3), NONE, 0 },
    { "conforming DPL 3 at CPL 0", OP_LOAD_CS, 0, HW_SEG_CS, SEL(G_R3_CONF, 0), GP, SEL(G_R3_CONF, 0) },
    { "conforming DPL 3 at CPL 3", OP_LOAD_CS, 3, HW_SEG_CS, SEL(G_R3_CONF, 3), NONE, 0 },
    { "execute-only code", OP_LOAD_CS, 0, HW_SEG_CS, SEL(G_R0_XCODE, 0), NONE, 0 },
    { "data as code", OP_LOAD_CS, 0, HW_SEG_CS, SEL(G_R0_DATA, 0), GP, SEL(G_R0_DATA, 0) },
    { "not-present code", OP_LOAD_CS, 0, HW_SEG_CS, SEL(G_NP_CODE, 0), NP, SEL(G_NP_CODE, 0) },
    { "call gate target", OP_LOAD_CS, 0, HW_SEG_CS, SEL(G_CALLGATE, 0), GP, SEL(G_CALLGATE, 0) },
    { "CS beyond the GDT", OP_LOAD_CS, 0, HW_SEG_CS, SEL(G_COUNT + 1, 0), GP, SEL(G_COUNT + 1, 0) },
    { "CS through an unusable LDTR", OP_LOAD_CS, 0, HW_SEG_CS, LSEL(1, 0), GP, LSEL(1, 0) },
    { "L = D = 1 outside IA-32e mode", OP_LOAD_CS, 0, HW_SEG_CS, SEL(G_CODE_LD, 0), NONE, 0 },
};

static void test_load_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(load_cases); i++) {
        const load_case_t *c = &load_cases[i];
        env_t e = std_env();
        enter_cpl(e.cpu, c->cpl);
        hw_segment_t before[HW_SEG_COUNT];
        memcpy(before, e.cpu->seg, sizeof before);
        ntmm_fault_t f = { 0, 0, 0, 0 };
        bool ok = c->op == OP_LOAD_CS ? hw_seg_load_cs(e.cpu, c->sel, &f)
                                      : hw_seg_load(e.cpu, c->reg, c->sel, &f);
        if (ok != (c->vector == NTMM_VEC_NONE) || (!ok && (f.vector != c->vector || f.error_code != c->code)))
            fail_msg("load case %zu (%s): ok %d, vector %u, error code %#x", i, c->what, (int)ok,
                     (unsigned)f.vector, (unsigned)f.error_code);
        if (!ok) {
            assert_memory_equal(before, e.cpu->seg, sizeof before); /* nothing changed */
        } else {
            const hw_segment_t *s = &e.cpu->seg[c->reg];
            if (hw_seg_sel_null(c->sel)) {
                assert_false(s->usable);
                assert_int_equal(s->selector, c->sel);
            } else {
                uint64_t raw = std_desc(hw_seg_sel_index(c->sel));
                uint64_t mem = phys_get64(e.m, GDT_PA + 8u * hw_seg_sel_index(c->sel));
                assert_true(s->usable);
                assert_int_equal(s->base, hw_desc_base(raw));
                assert_int_equal(s->limit, hw_desc_limit(raw));
                assert_int_equal(s->attr, hw_desc_attr(raw) | HW_DESC_TYPE_A);
                assert_int_equal(mem, raw | ABIT);
                uint16_t sel = c->op == OP_LOAD_CS ? (uint16_t)((c->sel & ~3u) | c->cpl) : c->sel;
                assert_int_equal(s->selector, sel); /* a far JMP sets CS.RPL to CPL */
            }
            assert_int_equal(e.cpu->cpl, c->cpl);
            if (!hw_seg_check(e.cpu)) fail_msg("load case %zu (%s): hw_seg_check", i, c->what);
        }
        env_free(&e);
    }
}

/* ---- logical -> linear ------------------------------------------------------------------ */

typedef struct xlat_case {
    const char *what;
    unsigned cpl;
    hw_seg_t reg;
    uint16_t sel;      /* loaded into reg first (CS by far JMP); 0 for DS: null */
    uint64_t offset, size;
    unsigned kind;
    uint32_t vector;
    uint64_t la;
} xlat_case_t;

#define ED32 SEL(G_EXPDOWN32, 0)
#define ED16 SEL(G_EXPDOWN16, 0)

static const xlat_case_t xlat_cases[] = {
    { "flat read", 0, HW_SEG_DS, SEL(G_R0_DATA, 0), 0x12345678, 4, R, 0, 0x12345678 },
    { "based read", 0, HW_SEG_DS, SEL(G_R3_DATA, 1), 0x12345678, 4, R, 0, 0x23456789 },
    { "base + offset wraps at 4 GiB", 0, HW_SEG_ES, SEL(G_R3_DATA, 0), 0xF0000000, 4, W, 0, 0x01111111 },
    { "null DS", 0, HW_SEG_DS, 0, 0, 1, R, GP, 0 },
    { "null FS, size 0", 3, HW_SEG_FS, 3, 0, 0, R, GP, 0 },
    { "write read-only data", 0, HW_SEG_DS, SEL(G_R0_RODATA, 0), 0x100, 4, W, GP, 0 },
    { "read read-only data", 0, HW_SEG_DS, SEL(G_R0_RODATA, 0), 0x100, 4, R, 0, 0x100 },
    { "write readable code", 0, HW_SEG_DS, SEL(G_R0_CODE, 0), 0x100, 4, W, GP, 0 },
    { "read readable code", 0, HW_SEG_DS, SEL(G_R0_CODE, 0), 0x100, 4, R, 0, 0x100 },
    { "read execute-only CS", 0, HW_SEG_CS, SEL(G_R0_XCODE, 0), 0x100, 4, R, GP, 0 },
    { "fetch execute-only CS", 0, HW_SEG_CS, SEL(G_R0_XCODE, 0), 0x100, 16, X, 0, 0x100 },
    { "write CS", 0, HW_SEG_CS, SEL(G_R0_CODE, 0), 0x100, 1, W, GP, 0 },
    { "fetch through DS", 0, HW_SEG_DS, SEL(G_R0_CODE, 0), 0x100, 1, X, GP, 0 },
    { "fetch through SS", 0, HW_SEG_SS, SEL(G_R0_DATA, 0), 0x100, 1, X, GP, 0 },
    { "last dword of a small segment", 0, HW_SEG_DS, SEL(G_SMALL, 0), 0xFC, 4, R, 0, 0x10FC },
    { "dword crossing the limit", 0, HW_SEG_DS, SEL(G_SMALL, 0), 0xFD, 4, R, GP, 0 },
    { "byte past the limit", 0, HW_SEG_DS, SEL(G_SMALL, 0), 0x100, 1, W, GP, 0 },
    { "size 0 past the limit", 0, HW_SEG_DS, SEL(G_SMALL, 0), 0x100, 0, R, 0, 0x1100 },
    { "stack past the limit", 0, HW_SEG_SS, SEL(G_SMALL, 0), 0x100, 4, W, SSF, 0 },
    { "stack within the limit", 0, HW_SEG_SS, SEL(G_SMALL, 0), 0x80, 4, W, 0, 0x1080 },
    { "huge offset outside 64-bit mode", 0, HW_SEG_DS, SEL(G_R0_DATA, 0), NTMM_BIT(32), 1, R, GP, 0 },
    { "flat: last byte", 0, HW_SEG_DS, SEL(G_R0_DATA, 0), 0xFFFFFFFF, 1, R, 0, 0xFFFFFFFF },
    { "flat: word at the last byte", 0, HW_SEG_DS, SEL(G_R0_DATA, 0), 0xFFFFFFFF, 2, R, GP, 0 },
    { "offset + size overflows", 0, HW_SEG_DS, SEL(G_R0_DATA, 0), UINT64_MAX, 2, R, GP, 0 },
    { "G = 1, limit 0: byte 0xFFF", 0, HW_SEG_DS, SEL(G_G1LIM0, 0), 0xFFF, 1, R, 0, 0x3FFF },
    { "G = 1, limit 0: byte 0x1000", 0, HW_SEG_DS, SEL(G_G1LIM0, 0), 0x1000, 1, R, GP, 0 },
    { "expand-down: at the limit", 0, HW_SEG_DS, ED32, 0xFFF, 1, R, GP, 0 },
    { "expand-down: limit + 1", 0, HW_SEG_DS, ED32, 0x1000, 4, W, 0, 0x21000 },
    { "expand-down: dword below limit + 1", 0, HW_SEG_DS, ED32, 0xFFE, 4, R, GP, 0 },
    { "expand-down B = 1: top dword", 0, HW_SEG_DS, ED32, 0xFFFFFFFC, 4, R, 0, 0x1FFFC },
    { "expand-down B = 1: past the top", 0, HW_SEG_DS, ED32, 0xFFFFFFFD, 4, R, GP, 0 },
    { "expand-down B = 0: top word", 0, HW_SEG_DS, ED16, 0xFFFE, 2, R, 0, 0x2FFFE },
    { "expand-down B = 0: past 0xFFFF", 0, HW_SEG_DS, ED16, 0xFFFF, 2, R, GP, 0 },
    { "expand-down B = 0: 0x10000", 0, HW_SEG_DS, ED16, 0x10000, 1, R, GP, 0 },
    { "expand-down stack below the limit", 0, HW_SEG_SS, ED32, 0x800, 4, W, SSF, 0 },
    { "expand-down stack", 0, HW_SEG_SS, ED32, 0x7FFFFFF0, 16, W, 0, 0x8001FFF0 },
    { "user data at CPL 3", 3, HW_SEG_DS, SEL(G_R3_DATA0, 3), 0x7FFE0000, 8, W, 0, 0x7FFE0000 },
    { "read-only user data at CPL 3", 3, HW_SEG_DS, SEL(G_R3_RODATA, 3), 0x1000, 1, W, GP, 0 },
    { "LDT data", 0, HW_SEG_DS, LSEL(3, 0), 0xFFFF, 1, W, 0, 0x14FFF },
    { "LDT data past its limit", 0, HW_SEG_DS, LSEL(3, 0), 0x10000, 1, R, GP, 0 },
    { "invalid kind", 0, HW_SEG_DS, SEL(G_R0_DATA, 0), 0, 1, 3, GP, 0 },
    { "invalid register", 0, (hw_seg_t)7, SEL(G_R0_DATA, 0), 0, 1, R, GP, 0 },
};

static void test_translate_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(xlat_cases); i++) {
        const xlat_case_t *c = &xlat_cases[i];
        env_t e = std_env();
        ntmm_fault_t f = { 0, 0, 0, 0 };
        assert_true(hw_seg_lldt(e.cpu, SEL(G_LDT, 0), &f));
        enter_cpl(e.cpu, c->cpl);
        if (c->reg == HW_SEG_CS) assert_true(hw_seg_load_cs(e.cpu, c->sel, &f));
        else if (c->reg < HW_SEG_COUNT) assert_true(hw_seg_load(e.cpu, c->reg, c->sel, &f));
        assert_true(hw_seg_check(e.cpu));
        va_t la = 0xDEAD;
        bool ok = hw_seg_translate(e.cpu, c->reg, c->offset, c->size, c->kind, &la, &f);
        if (ok != (c->vector == NTMM_VEC_NONE) || (ok && la != c->la) ||
            (!ok && (f.vector != c->vector || f.error_code != 0 || f.address != c->offset)))
            fail_msg("translate case %zu (%s): ok %d, la %#llx, vector %u, error code %#x", i, c->what, (int)ok,
                     (unsigned long long)la, (unsigned)f.vector, (unsigned)f.error_code);
        env_free(&e);
    }
}

static void test_unusable_stack(void **state)
{
    (void)state;
    env_t e = std_env();
    ntmm_fault_t f;
    va_t la;
    /* An SS no load outside 64-bit mode can produce: its references give #SS(0). */
    e.cpu->seg[HW_SEG_SS].usable = false;
    assert_false(hw_seg_check(e.cpu));
    expect_fault(hw_seg_translate(e.cpu, HW_SEG_SS, 0, 4, W, &la, &f), &f, NTMM_VEC_SS, 0);
    e.cpu->seg[HW_SEG_SS].usable = true; /* undo the corruption before the machine check */
    env_free(&e);
}

/* ---- LLDT ------------------------------------------------------------------------------- */

static void test_lldt(void **state)
{
    (void)state;
    env_t e = std_env();
    ntmm_fault_t f;
    hw_segment_t ldtr;

    /* Without an LDT every TI = 1 selector is outside the table. */
    expect_fault(hw_seg_load(e.cpu, HW_SEG_DS, LSEL(1, 0), &f), &f, NTMM_VEC_GP, LSEL(1, 0));

    /* The error cases leave LDTR as it was. */
    ldtr = e.cpu->ldtr;
    expect_fault(hw_seg_lldt(e.cpu, LSEL(G_LDT, 0), &f), &f, NTMM_VEC_GP, LSEL(G_LDT, 0));       /* TI = 1 */
    expect_fault(hw_seg_lldt(e.cpu, SEL(G_COUNT, 0), &f), &f, NTMM_VEC_GP, SEL(G_COUNT, 0));     /* beyond */
    expect_fault(hw_seg_lldt(e.cpu, 0xFFF8, &f), &f, NTMM_VEC_GP, 0xFFF8);
    expect_fault(hw_seg_lldt(e.cpu, SEL(G_R0_DATA, 0), &f), &f, NTMM_VEC_GP, SEL(G_R0_DATA, 0)); /* data */
    expect_fault(hw_seg_lldt(e.cpu, SEL(G_TSS, 3), &f), &f, NTMM_VEC_GP, SEL(G_TSS, 0));         /* TSS */
    expect_fault(hw_seg_lldt(e.cpu, SEL(G_CALLGATE, 0), &f), &f, NTMM_VEC_GP, SEL(G_CALLGATE, 0));
    expect_fault(hw_seg_lldt(e.cpu, SEL(G_NP_LDT, 0), &f), &f, NTMM_VEC_NP, SEL(G_NP_LDT, 0));   /* absent */
    assert_memory_equal(&ldtr, &e.cpu->ldtr, sizeof ldtr);

    /* A good LDT: the descriptor's base and limit, RPL ignored. */
    assert_true(hw_seg_lldt(e.cpu, SEL(G_LDT, 2), &f));
    assert_true(e.cpu->ldtr.usable);
    assert_int_equal(e.cpu->ldtr.selector, SEL(G_LDT, 2));
    assert_int_equal(e.cpu->ldtr.base, LDT_PA);
    assert_int_equal(e.cpu->ldtr.limit, LDT_LIMIT);
    assert_int_equal(e.cpu->ldtr.attr, 0x0082);
    assert_true(hw_seg_check(e.cpu));

    /* LDT-relative loads: within the limit, at it, a zero (system, type 0) entry. */
    assert_true(hw_seg_load(e.cpu, HW_SEG_ES, LSEL(1, 0), &f));
    assert_true(hw_seg_load(e.cpu, HW_SEG_FS, LSEL(4, 3), &f));
    assert_int_equal(phys_get64(e.m, LDT_PA + 8), std_ldt_desc(1) | ABIT);
    expect_fault(hw_seg_load(e.cpu, HW_SEG_DS, LSEL(8, 0), &f), &f, NTMM_VEC_GP, LSEL(8, 0));
    expect_fault(hw_seg_load(e.cpu, HW_SEG_DS, LSEL(2, 0), &f), &f, NTMM_VEC_GP, LSEL(2, 0));
    expect_fault(hw_seg_load(e.cpu, HW_SEG_DS, LSEL(0, 0), &f), &f, NTMM_VEC_GP, LSEL(0, 0)); /* not null */
    assert_true(hw_seg_check(e.cpu));

    /* Privilege and mode. */
    enter_cpl(e.cpu, 3);
    expect_fault(hw_seg_lldt(e.cpu, SEL(G_LDT, 0), &f), &f, NTMM_VEC_GP, 0);
    expect_fault(hw_seg_lgdt(e.cpu, 0, 0xFFFF, &f), &f, NTMM_VEC_GP, 0);
    expect_fault(hw_seg_lidt(e.cpu, 0, 0xFFFF, &f), &f, NTMM_VEC_GP, 0);
    enter_cpl(e.cpu, 0);

    /* A null selector makes LDTR unusable; LDT selectors fail again. */
    assert_true(hw_seg_lldt(e.cpu, 0x0003, &f));
    assert_false(e.cpu->ldtr.usable);
    expect_fault(hw_seg_load(e.cpu, HW_SEG_DS, LSEL(1, 0), &f), &f, NTMM_VEC_GP, LSEL(1, 0));

    /* The LDT descriptor may be the last entry of the GDT (8 bytes outside IA-32e mode). */
    assert_true(hw_seg_lgdt(e.cpu, GDT_PA, (G_LDT + 1) * 8 - 1, &f));
    assert_true(hw_seg_lldt(e.cpu, SEL(G_LDT, 0), &f));
    assert_true(hw_seg_lgdt(e.cpu, GDT_PA, G_LDT * 8 + 6, &f));
    expect_fault(hw_seg_lldt(e.cpu, SEL(G_LDT, 0), &f), &f, NTMM_VEC_GP, SEL(G_LDT, 0));

    /* LGDT/LIDT outside 64-bit mode keep 32 bits of the base. */
    assert_true(hw_seg_lidt(e.cpu, 0x1234567890ull, 0x7FF, &f));
    assert_int_equal(e.cpu->idtr.base, 0x34567890);
    assert_int_equal(e.cpu->idtr.limit, 0x7FF);
    assert_true(hw_seg_check(e.cpu));
    env_free(&e);
}

/* ---- the Accessed bit ------------------------------------------------------------------- */

static void test_accessed_bit(void **state)
{
    (void)state;
    env_t e = std_env();
    ntmm_fault_t f;
    const uint64_t a = (uint64_t)HW_DESC_TYPE_A << HW_DESC_TYPE_SHIFT;
    /* enter_cpl(0) loaded R0 code, R0 data and R3 data 0: their A bits are set now. */
    assert_int_equal(phys_get64(e.m, GDT_PA + 8u * G_R0_CODE), std_desc(G_R0_CODE) | a);
    assert_int_equal(phys_get64(e.m, GDT_PA + 8u * G_R0_DATA), std_desc(G_R0_DATA) | a);
    assert_int_equal(phys_get64(e.m, GDT_PA + 8u * G_R3_DATA0), std_desc(G_R3_DATA0) | a);
    /* Untouched and failed loads leave it clear. */
    assert_int_equal(phys_get64(e.m, GDT_PA + 8u * G_SMALL), std_desc(G_SMALL));
    expect_fault(hw_seg_load(e.cpu, HW_SEG_DS, SEL(G_NP_DATA, 0), &f), &f, NTMM_VEC_NP, SEL(G_NP_DATA, 0));
    assert_int_equal(phys_get64(e.m, GDT_PA + 8u * G_NP_DATA), std_desc(G_NP_DATA));
    /* A successful load sets it, in memory and in the cache; only that byte changes. */
    assert_true(hw_seg_load(e.cpu, HW_SEG_GS, SEL(G_SMALL, 0), &f));
    assert_int_equal(phys_get64(e.m, GDT_PA + 8u * G_SMALL), std_desc(G_SMALL) | a);
    assert_int_equal(e.cpu->seg[HW_SEG_GS].attr & HW_SEG_ATTR_TYPE, 0x3);
    assert_int_equal(phys_get64(e.m, GDT_PA + 8u * (G_SMALL + 1)), std_desc(G_SMALL + 1));
    /* LLDT does not write (type 2 has no Accessed bit). */
    assert_true(hw_seg_lldt(e.cpu, SEL(G_LDT, 0), &f));
    assert_int_equal(phys_get64(e.m, GDT_PA + 8u * G_LDT), std_desc(G_LDT));
    env_free(&e);
}

/* ---- descriptor tables in paged memory -------------------------------------------------- */

#define PGDT_LA 0x80001000u   /* mapped, supervisor RW -> 0x200000; the next page is unmapped */
#define PGDT_RO_LA 0x80003000u /* mapped read-only -> 0x201000 */

static void test_paged_gdt(void **state)
{
    (void)state;
    env_t e = env_new(NULL);
    ntmm_fault_t f;
    ptb_t b;
    assert_true(ptb_init(&b, e.m, NTMM_PAGING_X86, 0x400000, 0x800000));
    assert_true(ptb_map(&b, PGDT_LA, 0x200000, NTMM_PAGE_SIZE, HW_PTE_RW));
    assert_true(ptb_map(&b, PGDT_RO_LA, 0x201000, NTMM_PAGE_SIZE, 0));
    write_std_tables(e.m, 0x200000);
    phys_put64(e.m, 0x201000 + 0x10, std_desc(G_R0_DATA));                              /* A clear */
    phys_put64(e.m, 0x201000 + 0x18, std_desc(G_R0_DATA) | ABIT);
    assert_true(hw_cpu_enter_paging(e.cpu, NTMM_PAGING_X86, b.root, &f));

    /* GDTR covers two pages; descriptor reads walk the page tables. */
    assert_true(hw_seg_lgdt(e.cpu, PGDT_LA, 0x1FFF, &f));
    uint64_t misses = hw_cpu_stats(e.cpu).tlb_misses;
    enter_cpl(e.cpu, 0);
    assert_true(hw_cpu_stats(e.cpu).tlb_misses > misses);
    hw_pte_t pte = ptb_read(&b, ptb_entry_pa(&b, PGDT_LA, 1));
    assert_true(pte & HW_PTE_A);
    assert_true(pte & HW_PTE_D); /* the Accessed-bit writes */
    assert_int_equal(phys_get64(e.m, 0x200000 + 8u * G_R0_CODE),
                     std_desc(G_R0_CODE) | ABIT);

    /* Implicit accesses are supervisor accesses: a CPL-3 load reads the supervisor page. */
    enter_cpl(e.cpu, 3);
    assert_true(hw_seg_load(e.cpu, HW_SEG_DS, SEL(G_R3_DATA, 3), &f));
    enter_cpl(e.cpu, 0);

    /* A descriptor in the unmapped page: #PF with CR2 at the descriptor, as is. */
    hw_segment_t ds = e.cpu->seg[HW_SEG_DS];
    expect_fault(hw_seg_load(e.cpu, HW_SEG_DS, SEL(0x200, 0), &f), &f, NTMM_VEC_PF, 0);
    assert_int_equal(f.address, PGDT_LA + 0x1000);
    assert_int_equal(e.cpu->cr2, PGDT_LA + 0x1000);
    expect_fault(hw_seg_load(e.cpu, HW_SEG_SS, SEL(0x3FF, 0), &f), &f, NTMM_VEC_PF, 0);
    assert_int_equal(e.cpu->cr2, PGDT_LA + 0x1FF8);
    expect_fault(hw_seg_load_cs(e.cpu, SEL(0x201, 0), &f), &f, NTMM_VEC_PF, 0);
    assert_int_equal(e.cpu->cr2, PGDT_LA + 0x1008);
    expect_fault(hw_seg_lldt(e.cpu, SEL(0x300, 0), &f), &f, NTMM_VEC_PF, 0);
    assert_int_equal(e.cpu->cr2, PGDT_LA + 0x1800);
    /* ... but the limit check comes first. */
    expect_fault(hw_seg_load(e.cpu, HW_SEG_DS, SEL(0x400, 0), &f), &f, NTMM_VEC_GP, SEL(0x400, 0));
    assert_memory_equal(&ds, &e.cpu->seg[HW_SEG_DS], sizeof ds);

    /* A read-only GDT page (CR0.WP = 1): setting a clear Accessed bit faults (P|W) and the
     * register keeps its old value; a descriptor already accessed loads without a write. */
    assert_true(hw_seg_lgdt(e.cpu, PGDT_RO_LA, 0x1F, &f));
    expect_fault(hw_seg_load(e.cpu, HW_SEG_DS, 0x10, &f), &f, NTMM_VEC_PF, NTMM_PF_P | NTMM_PF_W);
    assert_int_equal(e.cpu->cr2, PGDT_RO_LA + 0x15);
    assert_memory_equal(&ds, &e.cpu->seg[HW_SEG_DS], sizeof ds);
    assert_true(hw_seg_load(e.cpu, HW_SEG_DS, 0x18, &f));
    assert_true(hw_seg_check(e.cpu));
    env_free(&e);
}

/* ---- hw_seg_access ---------------------------------------------------------------------- */

static void test_seg_access(void **state)
{
    (void)state;
    env_t e = std_env();
    ntmm_fault_t f;
    size_t done = 99;
    uint8_t in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8] = { 0 }, mem[8];

    /* Within the small segment (base 0x1000, limit 0xFF). */
    assert_true(hw_seg_load(e.cpu, HW_SEG_DS, SEL(G_SMALL, 0), &f));
    assert_true(hw_seg_access(e.cpu, HW_SEG_DS, 0xF8, in, 8, W, &done, &f));
    assert_int_equal(done, 8);
    assert_int_equal(hw_phys_read(&e.m->phys, 0x10F8, mem, 8), NTMM_STATUS_SUCCESS);
    assert_memory_equal(mem, in, 8);
    assert_true(hw_seg_access(e.cpu, HW_SEG_DS, 0xF8, out, 8, R, &done, &f));
    assert_memory_equal(out, in, 8);

    /* Crossing the limit: #GP(0) before any byte moves. */
    uint8_t zero[8] = { 0 };
    assert_int_equal(hw_phys_write(&e.m->phys, 0x10F8, zero, 8), NTMM_STATUS_SUCCESS);
    done = 99;
    expect_fault(hw_seg_access(e.cpu, HW_SEG_DS, 0xFC, in, 8, W, &done, &f), &f, NTMM_VEC_GP, 0);
    assert_int_equal(done, 0);
    assert_int_equal(hw_phys_read(&e.m->phys, 0x10F8, mem, 8), NTMM_STATUS_SUCCESS);
    assert_memory_equal(mem, zero, 8);
    /* Same through SS: #SS(0). */
    assert_true(hw_seg_load(e.cpu, HW_SEG_SS, SEL(G_SMALL, 0), &f));
    expect_fault(hw_seg_access(e.cpu, HW_SEG_SS, 0xFC, in, 8, W, &done, &f), &f, NTMM_VEC_SS, 0);
    assert_int_equal(done, 0);
    assert_int_equal(hw_phys_read(&e.m->phys, 0x10F8, mem, 8), NTMM_STATUS_SUCCESS);
    assert_memory_equal(mem, zero, 8);
    /* A write to read-only data. */
    assert_true(hw_seg_load(e.cpu, HW_SEG_ES, SEL(G_R0_RODATA, 0), &f));
    expect_fault(hw_seg_access(e.cpu, HW_SEG_ES, 0x10F8, in, 8, W, &done, &f), &f, NTMM_VEC_GP, 0);
    assert_int_equal(hw_phys_read(&e.m->phys, 0x10F8, mem, 8), NTMM_STATUS_SUCCESS);
    assert_memory_equal(mem, zero, 8);
    /* A fetch through CS; zero-length accesses. */
    assert_true(hw_seg_access(e.cpu, HW_SEG_CS, 0x10F8, out, 8, X, &done, &f));
    assert_memory_equal(out, zero, 8);
    assert_true(hw_seg_access(e.cpu, HW_SEG_DS, 0x100, NULL, 0, R, &done, &f));
    assert_int_equal(done, 0);
    /* Linear memory past the segment check can still fault (#MC: no RAM at 0xA0000). */
    expect_fault(hw_seg_access(e.cpu, HW_SEG_CS, 0x9EFFC, out, 8, X, &done, &f), &f, NTMM_VEC_MC, 0);
    assert_int_equal(done, 4);
    assert_true(hw_seg_check(e.cpu));
    env_free(&e);
}

/* A paged access that faults halfway reports what moved; in compatibility mode a range that
 * runs past 4 GiB wraps to linear 0. */
static void test_seg_access_paged(void **state)
{
    (void)state;
    env_t e = env_new(NULL);
    ntmm_fault_t f;
    ptb_t b;
    size_t done;
    uint8_t in[16], mem[16];
    for (int i = 0; i < 16; i++) in[i] = (uint8_t)(0xA0 + i);
    write_std_tables(e.m, GDT_PA);
    assert_true(ptb_init(&b, e.m, NTMM_PAGING_X64, 0x400000, 0x800000));
    assert_true(ptb_map(&b, GDT_PA, GDT_PA, NTMM_PAGE_SIZE, HW_PTE_RW));
    assert_true(ptb_map(&b, 0xFFFFF000, 0x300000, NTMM_PAGE_SIZE, HW_PTE_RW));
    assert_true(ptb_map(&b, 0x0, 0x301000, NTMM_PAGE_SIZE, HW_PTE_RW));
    assert_true(ptb_map(&b, 0x80005000, 0x302000, NTMM_PAGE_SIZE, HW_PTE_RW));
    assert_true(hw_cpu_enter_paging(e.cpu, NTMM_PAGING_X64, b.root, &f));
    assert_true(e.cpu->efer & HW_EFER_LMA);
    assert_false(hw_seg_64bit(e.cpu)); /* CS.L = 0: compatibility mode */
    assert_true(hw_seg_lgdt(e.cpu, GDT_PA, G_COUNT * 8u - 1u, &f));
    enter_cpl(e.cpu, 0);

    /* Base 0x11111111 + 0xEEEEEEE8 = 0xFFFFFFF9: 7 bytes below 4 GiB, 9 from linear 0. */
    assert_true(hw_seg_load(e.cpu, HW_SEG_DS, SEL(G_R3_DATA, 0), &f));
    assert_true(hw_seg_access(e.cpu, HW_SEG_DS, 0xEEEEEEE8, in, 16, W, &done, &f));
    assert_int_equal(done, 16);
    assert_int_equal(hw_phys_read(&e.m->phys, 0x300FF9, mem, 7), NTMM_STATUS_SUCCESS);
    assert_memory_equal(mem, in, 7);
    assert_int_equal(hw_phys_read(&e.m->phys, 0x301000, mem, 9), NTMM_STATUS_SUCCESS);
    assert_memory_equal(mem, in + 7, 9);

    /* A write that runs into an unmapped page: #PF at the page, 4 bytes written. */
    assert_true(hw_seg_load(e.cpu, HW_SEG_ES, SEL(G_R0_DATA, 0), &f));
    expect_fault(hw_seg_access(e.cpu, HW_SEG_ES, 0x80005FFC, in, 8, W, &done, &f), &f, NTMM_VEC_PF,
                 NTMM_PF_W);
    assert_int_equal(done, 4);
    assert_int_equal(e.cpu->cr2, 0x80006000);
    assert_int_equal(hw_phys_read(&e.m->phys, 0x302FFC, mem, 4), NTMM_STATUS_SUCCESS);
    assert_memory_equal(mem, in, 4);
    assert_true(hw_seg_check(e.cpu));

    /* Far JMP to a 64-bit code segment enters 64-bit mode; L = D = 1 is refused in IA-32e. */
    expect_fault(hw_seg_load_cs(e.cpu, SEL(G_CODE_LD, 0), &f), &f, NTMM_VEC_GP, SEL(G_CODE_LD, 0));
    assert_true(hw_seg_load_cs(e.cpu, SEL(G_CODE64, 0), &f));
    assert_true(hw_seg_64bit(e.cpu));
    assert_true(hw_seg_check(e.cpu));
    /* Now DS's base is ignored and addresses past 4 GiB do not wrap. */
    va_t la;
    assert_true(hw_seg_translate(e.cpu, HW_SEG_DS, 0xEEEEEEE8, 16, W, &la, &f));
    assert_int_equal(la, 0xEEEEEEE8);
    assert_true(hw_seg_translate(e.cpu, HW_SEG_DS, 0xFFFFFFF9, 16, W, &la, &f));
    assert_int_equal(la, 0xFFFFFFF9);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_examples),
        cmocka_unit_test(test_selector_accessors),
        cmocka_unit_test(test_descriptor_roundtrip),
        cmocka_unit_test(test_load_rules),
        cmocka_unit_test(test_translate_rules),
        cmocka_unit_test(test_unusable_stack),
        cmocka_unit_test(test_lldt),
        cmocka_unit_test(test_accessed_bit),
        cmocka_unit_test(test_paged_gdt),
        cmocka_unit_test(test_seg_access),
        cmocka_unit_test(test_seg_access_paged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
