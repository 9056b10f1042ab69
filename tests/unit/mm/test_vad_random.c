/*
 * test_vad_random.c - a seeded random sequence of reservations, releases and placement
 * searches on a VAD tree against a brute-force page-array model, mm_vad_check after every
 * step. The hand-written cases are in test_vad.c.
 */
#include "vadenv.h"

/* --- seeded random sequence against a page-array model ------------------------------------ */

#define R_LO    0x10u  /* 64 KiB */
#define R_HI    0xFFFu /* 16 MiB - 1 */
#define R_PAGES (R_HI + 1u)
#define R_SLOTS 4096u

typedef struct rmodel {
    uint32_t owner[R_PAGES]; /* id of the VAD holding each page, 0 when free */
    tvad_t slot[R_SLOTS];    /* VAD storage; id i lives in slot[i] */
    uint32_t free_ids[R_SLOTS];
    uint32_t nfree;
    uint32_t live[R_SLOTS]; /* ids of VADs in the tree */
    uint32_t nlive;
} rmodel_t;

static uint32_t rm_alloc(rmodel_t *m)
{
    assert_true(m->nfree > 0);
    uint32_t id = m->free_ids[--m->nfree];
    m->slot[id].id = id;
    m->slot[id].label = (char)('a' + id % 26);
    m->live[m->nlive++] = id;
    return id;
}

static void rm_release_id(rmodel_t *m, uint32_t id)
{
    for (uint32_t i = 0; i < m->nlive; i++)
        if (m->live[i] == id) {
            m->live[i] = m->live[--m->nlive];
            m->free_ids[m->nfree++] = id;
            return;
        }
    fail_msg("id %u not live", id);
}

static void rm_set(rmodel_t *m, vpn_t first, vpn_t last, uint32_t id)
{
    for (vpn_t v = first; v <= last; v++) m->owner[v] = id;
}

/* The model's own reading of zero_bits: 1..21 count bits below 2^32, larger values are masks
 * (the random test only uses those). */
static va_t rm_zero_bits_high(uint64_t zb)
{
    if (zb == 0) return UINT64_MAX;
    if (zb < 32) return ((uint64_t)1 << (32 - zb)) - 1;
    va_t h = 1; /* the smallest power of two above zb */
    while (h - 1 < zb) h <<= 1;
    return h - 1;
}

/* Brute force over pages: every aligned start whose pages are all free and in bounds. */
static ntmm_status_t rm_find_free(const rmodel_t *m, const mm_vad_gap_request_t *r, vpn_t *out)
{
    uint64_t n = (r->size + 0xFFF) >> 12, a = (r->alignment ? r->alignment : 0x10000) >> 12;
    va_t high = rm_zero_bits_high(r->zero_bits);
    if (r->highest && r->highest < high) high = r->highest;
    bool found = false;
    for (vpn_t s = 0; s + n - 1 <= R_HI; s += a) {
        if (s < R_LO || s < r->lowest >> 12 || ((s + n) << 12) - 1 > high) continue;
        bool ok = true;
        for (vpn_t p = s; p < s + n && ok; p++) ok = m->owner[p] == 0;
        if (!ok) continue;
        *out = s;
        found = true;
        if (!r->top_down) break;
    }
    return found ? S_OK : S_NOMEM;
}

/* The tree against the page array: same runs, same owners, in order. */
static void rm_compare(const rmodel_t *m, const mm_vad_tree_t *t)
{
    vpn_t next = 0;
    uint64_t count = 0;
    for (const mm_vad_t *v = mm_vad_first(t); v; v = mm_vad_next(v), count++) {
        uint32_t id = ((const tvad_t *)(const void *)v)->id;
        assert_ptr_equal(v, &m->slot[id].vad);
        for (; next < v->start_vpn; next++) assert_int_equal(m->owner[next], 0);
        for (; next <= v->end_vpn; next++) assert_int_equal(m->owner[next], id);
    }
    for (; next < R_PAGES; next++) assert_int_equal(m->owner[next], 0);
    assert_int_equal(count, m->nlive);
    assert_int_equal(mm_vad_count(t), m->nlive);
}

static uint64_t rnd_pages(base_rng_t *r)
{
    switch (base_rng_below(r, 4)) {
    case 0: return 1 + base_rng_below(r, 3);
    case 1: return 1 + base_rng_below(r, 16);
    case 2: return 1 + base_rng_below(r, 64);
    default: return 1 + base_rng_below(r, 400);
    }
}

static void random_run(uint64_t seed, unsigned steps)
{
    static const uint64_t zbs[] = { 0, 0, 0, 8, 9, 10, 11, 12, 16, 0x7FFFFF, 0x3FFFFF, 0x1FFFFF };
    static const uint64_t aligns[] = { 0, 0, 0, 0, 0x10000, 0x20000, 0x40000, 0x100000 };
    rmodel_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    for (uint32_t i = 1; i < R_SLOTS; i++) m->free_ids[m->nfree++] = R_SLOTS - i; /* ids 1.. */
    base_rng_t r;
    base_rng_seed(&r, seed);
    mm_vad_tree_t t;
    mm_vad_tree_init(&t, R_LO, R_HI);
    unsigned placed = 0, refused = 0, splits3 = 0, conflicts = 0;
    for (unsigned step = 0; step < steps; step++) {
        unsigned op = (unsigned)base_rng_below(&r, 100);
        bool fuller = m->nlive < 40;
        if (op < (fuller ? 35u : 25u)) { /* reserve anywhere */
            mm_vad_gap_request_t q = { .size = rnd_pages(&r) * 0x1000 - base_rng_below(&r, 0x1000),
                                       .alignment = aligns[base_rng_below(&r, 8)],
                                       .zero_bits = zbs[base_rng_below(&r, 12)],
                                       .masks_allowed = true,
                                       .top_down = base_rng_below(&r, 2) != 0 };
            if (base_rng_below(&r, 4) == 0) q.lowest = base_rng_below(&r, R_PAGES / 16) << 16;
            if (base_rng_below(&r, 4) == 0) q.highest = (base_rng_below(&r, R_PAGES) << 12) | 0xFFF;
            if (q.highest && q.lowest > q.highest) q.lowest = 0;
            vpn_t want = 0, got = 0;
            ntmm_status_t ws = rm_find_free(m, &q, &want), gs = mm_vad_find_free(&t, &q, &got);
            assert_int_equal(gs, ws);
            if (gs != S_OK) {
                refused++;
            } else {
                assert_int_equal(got, want);
                uint32_t id = rm_alloc(m);
                uint64_t n = (q.size + 0xFFF) >> 12;
                mm_vad_init(&m->slot[id].vad, got, got + n - 1, MM_VAD_PRIVATE, PAGE_NOACCESS,
                            q.top_down ? MM_VAD_TOP_DOWN : 0);
                assert_int_equal(mm_vad_insert(&t, &m->slot[id].vad), S_OK);
                rm_set(m, got, got + n - 1, id);
                placed++;
            }
        } else if (op < 50) { /* reserve at a chosen base (rounded down to 64 KiB) */
            vpn_t base = ntmm_align_down(base_rng_below(&r, R_PAGES + 32), 16);
            uint64_t n = rnd_pages(&r);
            vpn_t last = base + n - 1;
            const mm_vad_t *c = mm_vad_conflict(&t, base, last);
            uint32_t first_owner = 0;
            for (vpn_t p = base; p <= last && p <= R_HI; p++)
                if (m->owner[p]) {
                    first_owner = m->owner[p];
                    break;
                }
            assert_ptr_equal(c, first_owner ? &m->slot[first_owner].vad : NULL);
            ntmm_status_t want = base < R_LO || last > R_HI ? S_INVALID : first_owner ? S_CONFLICT : S_OK;
            uint32_t id = rm_alloc(m);
            mm_vad_init(&m->slot[id].vad, base, last, MM_VAD_PRIVATE, PAGE_READWRITE, 0);
            assert_int_equal(mm_vad_insert(&t, &m->slot[id].vad), want);
            if (want == S_OK)
                rm_set(m, base, last, id);
            else {
                rm_release_id(m, id);
                conflicts++;
            }
        } else if (op < 65 && m->nlive) { /* release a whole allocation */
            uint32_t id = m->live[base_rng_below(&r, m->nlive)];
            mm_vad_t *v = &m->slot[id].vad;
            rm_set(m, v->start_vpn, v->end_vpn, 0);
            if (base_rng_below(&r, 2)) {
                mm_vad_remove(&t, v);
            } else {
                assert_int_equal(mm_vad_split(&t, v, v->start_vpn, v->end_vpn, NULL), MM_VAD_SPLIT_NONE_LEFT);
            }
            rm_release_id(m, id);
        } else if (op < 80 && m->nlive) { /* release part of one */
            uint32_t id = m->live[base_rng_below(&r, m->nlive)];
            mm_vad_t *v = &m->slot[id].vad;
            uint64_t pages = mm_vad_pages(v);
            vpn_t first = v->start_vpn + base_rng_below(&r, pages);
            vpn_t last = first + base_rng_below(&r, v->end_vpn - first + 1);
            vpn_t start = v->start_vpn, end = v->end_vpn;
            uint32_t tid = m->nfree ? rm_alloc(m) : 0;
            if (!tid && first > start && last < end) continue; /* no storage for a tail */
            mm_vad_split_result_t res = mm_vad_split(&t, v, first, last, tid ? &m->slot[tid].vad : NULL);
            rm_set(m, first, last, 0);
            mm_vad_split_result_t want = first == start && last == end ? MM_VAD_SPLIT_NONE_LEFT
                                         : first == start              ? MM_VAD_SPLIT_KEPT_HIGH
                                         : last == end                 ? MM_VAD_SPLIT_KEPT_LOW
                                                                       : MM_VAD_SPLIT_KEPT_BOTH;
            assert_int_equal(res, want);
            if (res == MM_VAD_SPLIT_KEPT_BOTH) {
                rm_set(m, last + 1, end, tid);
                splits3++;
            } else if (tid) {
                rm_release_id(m, tid);
            }
            if (res == MM_VAD_SPLIT_NONE_LEFT) rm_release_id(m, id);
        } else { /* lookups */
            vpn_t p = base_rng_below(&r, R_PAGES);
            uint32_t o = m->owner[p];
            assert_ptr_equal(mm_vad_find(&t, p), o ? &m->slot[o].vad : NULL);
            uint32_t above = 0;
            for (vpn_t q = p; q < R_PAGES && !above; q++) above = m->owner[q];
            assert_ptr_equal(mm_vad_find_at_or_above(&t, p), above ? &m->slot[above].vad : NULL);
            vpn_t f, l;
            bool fr = mm_vad_free_range(&t, p, &f, &l);
            assert_int_equal(fr, o == 0 && p >= R_LO);
            if (fr) {
                vpn_t ef = p, el = p;
                while (ef > R_LO && m->owner[ef - 1] == 0) ef--;
                while (el < R_HI && m->owner[el + 1] == 0) el++;
                assert_int_equal(f, ef);
                assert_int_equal(l, el);
            }
        }
        check(&t);
        rm_compare(m, &t);
    }
    /* the run exercised every path */
    assert_true(placed > steps / 10);
    assert_true(refused > 0);
    assert_true(splits3 > 0);
    assert_true(conflicts > 0);
    mm_vad_tree_drain(&t, NULL, NULL);
    assert_int_equal(mm_vad_count(&t), 0);
    check(&t);
    free(m);
}

static void test_random_against_model(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) random_run(0x5EED0000 + seed, 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
