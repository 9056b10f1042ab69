/*
 * test_paging_random.c - seeded random address spaces in every paging mode, checked against a
 * reference model that is independent of the walker (Intel SDM vol. 3A ch. 4).
 *
 * The generator writes paging-structure entries into guest memory and keeps its own record of
 * each one: where it lives, the value it wrote, what it points to (the next table or the page's
 * physical base, as a number, never decoded from the entry), and whether it carries a reserved
 * bit it put there on purpose. The model answers every access from those records and the SDM's
 * rules: 4.6 access rights (CPL, CR0.WP, SMEP, SMAP with RFLAGS.AC and implicit accesses, XD),
 * 4.7 the #PF error code (P, W/R, U/S, RSVD, I/D), #GP(0) for a non-canonical address, and the
 * machine's #MC for a table or a page frame that is not RAM. It never calls hw_walk.
 *
 * Each access takes one of four paths: hw_walk itself, hw_translate, a scalar
 * hw_load/hw_store/hw_fetch (possibly crossing a page), or bulk hw_access_linear (up to four
 * pages). After every access the model checks the outcome, the data against physical memory,
 * CR2, and every entry it knows: Accessed set in each entry a successful translation used,
 * Dirty in the leaf on a write, nothing else changed (a fault changes nothing).
 *
 * TLB: the model keeps every translation the TLB may still hold (SDM 4.10.2) until an
 * invalidation the SDM defines drops it (INVLPG, MOV to CR3 except global pages, CR4.PGE
 * changes, CR4.SMEP 0->1, a #PF on the page: 4.10.4.1). An access through the TLB may succeed
 * with such a stale translation only if the rights it recorded allow the access under the
 * current control registers (and, for a write, only if it was recorded dirty); anything else
 * must match a fresh walk exactly. The model has no paging-structure caches: a miss must use the
 * tables as they are in memory (the SDM would also allow cached upper-level entries; the
 * simulator has none).
 *
 * Every session: fixed seed, one machine configuration, a random address space, then a mix of
 * accesses, entry changes with or without INVLPG / CR3 reloads, and control-register changes,
 * with hw_tlb_check after every step and hw_machine_check after every step (every 200th on
 * machines with RAM above 4 GiB, where the check walks a million frames: ~25 ms under ASan).
 *
 * Where the SDM leaves the choice open the model accepts what the simulator does: a page-crossing
 * access whose second page faults has already set A (and D for a write) in the first page's
 * entries and wrote nothing; CR2 for a fault on the second page is that page's first byte; a
 * page frame that is not RAM faults with #MC after its walk set A/D.
 *
 * A failure prints the seed, the configuration and the step. To replay one session:
 *   PAGING_RANDOM_ONLY="<configuration>" PAGING_RANDOM_SEED=<seed> [PAGING_RANDOM_TRACE=1]
 * (the trace logs every step, the model's expectation and the outcome on stderr).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/rng.h"
#include "hw/access.h"
#include "hw/machine.h"
#include "hwenv.h"

/*
 * KNOWN DISCREPANCY switch (see test_large_page_at_top_of_address_space, which fails): large
 * pages in the top 1 GiB of a 64-bit linear address space make the TLB's large-page extent wrap.
 * With 0 the generator keeps 2 MiB / 1 GiB pages out of that range in 4/5-level paging, so that
 * the rest stays checked; set it to 1 once the TLB is fixed.
 */
#ifndef MODEL_TOP_LARGE_PAGES
#define MODEL_TOP_LARGE_PAGES 1
#endif

/* ---- what the model knows about the SDM's paging modes (its own tables, not paging.c's) ---- */

typedef struct mmode {
    ntmm_paging_mode_t id;
    const char *name;
    unsigned levels, esz, va_bits;
    unsigned shift[HW_MAX_LEVELS + 1], bits[HW_MAX_LEVELS + 1];
    unsigned large;  /* levels whose entries map a page when PS = 1 */
    bool canonical;  /* 64-bit linear addresses */
    bool pae;        /* top level = the four PDPTE registers */
} mmode_t;

static const mmode_t mmodes[] = {
    { NTMM_PAGING_X86, "x86", 2, 4, 32, { 0, 12, 22 }, { 0, 10, 10 }, 1u << 2, false, false },
    { NTMM_PAGING_PAE, "PAE", 3, 8, 32, { 0, 12, 21, 30 }, { 0, 9, 9, 2 }, 1u << 2, false, true },
    { NTMM_PAGING_X64, "x64", 4, 8, 48, { 0, 12, 21, 30, 39 }, { 0, 9, 9, 9, 9 }, (1u << 2) | (1u << 3),
      true, false },
    { NTMM_PAGING_X64_LA57, "LA57", 5, 8, 57, { 0, 12, 21, 30, 39, 48 }, { 0, 9, 9, 9, 9, 9 },
      (1u << 2) | (1u << 3), true, false },
};

static const mmode_t *mmode(ntmm_paging_mode_t id)
{
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(mmodes); i++)
        if (mmodes[i].id == id) return &mmodes[i];
    return NULL;
}

static unsigned midx(const mmode_t *md, va_t la, unsigned l)
{
    return (unsigned)((la >> md->shift[l]) & ((1u << md->bits[l]) - 1u));
}

static uint64_t msize(const mmode_t *md, unsigned l) { return NTMM_BIT(md->shift[l]); }

/* la with bits 63:bits copied from bit bits-1. */
static va_t sext(va_t la, unsigned bits)
{
    va_t low = la & NTMM_BITS(bits - 1u, 0);
    return (low & NTMM_BIT(bits - 1u)) ? (low | ~NTMM_BITS(bits - 1u, 0)) : low;
}

/* ---- machine configurations and the physical layout ---- */

typedef struct rcfg {
    const char *name;
    ntmm_paging_mode_t mode;
    uint8_t phys_bits;
    uint32_t absent;      /* NTMM_HW_NO_* */
    bool high;            /* RAM at [4 GiB, 4 GiB + 8 MiB) as well */
    uint32_t tlb_entries; /* small: many conflicts and evictions */
} rcfg_t;

static const rcfg_t cfgs[] = {
    { "x86 M=32", NTMM_PAGING_X86, 32, 0, false, 64 },
    { "x86 M=40 PSE-36, RAM above 4G", NTMM_PAGING_X86, 40, NTMM_HW_NO_SMAP, true, 256 },
    { "x86 M=36 PSE-36", NTMM_PAGING_X86, 36, NTMM_HW_NO_SMEP, false, 32 },
    { "x86 M=36 no PSE-36/PGE/NX", NTMM_PAGING_X86, 36, NTMM_HW_NO_PSE36 | NTMM_HW_NO_PGE | NTMM_HW_NO_NX,
      false, 16 },
    { "PAE M=36", NTMM_PAGING_PAE, 36, 0, false, 64 },
    { "PAE M=52 no NX/SMEP, RAM above 4G", NTMM_PAGING_PAE, 52, NTMM_HW_NO_NX | NTMM_HW_NO_SMEP, true, 32 },
    { "x64 M=39", NTMM_PAGING_X64, 39, 0, false, 64 },
    { "x64 M=52 no 1G/SMAP, RAM above 4G", NTMM_PAGING_X64, 52, NTMM_HW_NO_1GB_PAGES | NTMM_HW_NO_SMAP, true,
      128 },
    { "x64 M=46 no NX/PGE", NTMM_PAGING_X64, 46, NTMM_HW_NO_NX | NTMM_HW_NO_PGE, false, 16 },
    { "LA57 M=52", NTMM_PAGING_X64_LA57, 52, 0, false, 64 },
    { "LA57 M=40 no 1G/SMEP", NTMM_PAGING_X64_LA57, 40, NTMM_HW_NO_1GB_PAGES | NTMM_HW_NO_SMEP, false, 32 },
};

static const uint64_t seeds[] = { 1, 0x5EED0002, 20240611, 0xC0FFEE };

#define SESSION_STEPS 1200

/*
 *   0x00000000  RAM            data frames
 *   0x0009F000  reserved       (hole: #MC)
 *   0x00100000  RAM            data frames
 *   0x00400000  RAM            page-table pool: never written through a mapping
 *   0x00800000  RAM            data frames, with a BAD range at 12 MiB (#MC)
 *   0x01000000  end of low RAM
 *   4 GiB       RAM (8 MiB)    on "RAM above 4G" machines
 */
#define LOW_END  0x9F000u
#define MID_LO   0x100000u
#define POOL_LO  0x400000u
#define POOL_HI  0x800000u
#define DATA_LO  0x800000u
#define MID_HI   0x1000000u
#define BAD_LO   0xC00000u
#define BAD_HI   0xC10000u
#define HIGH_LO  NTMM_GIB(4)
#define HIGH_HI  (NTMM_GIB(4) + NTMM_MIB(8))

/* ---- the record of entries ---- */

enum { K_TABLE, K_LEAF, K_JUNK };

typedef struct mnode {
    pa_t epa;           /* where the entry is */
    hw_pte_t val;       /* what memory holds, as the model expects it */
    hw_pte_t rsv_bits;  /* reserved bits put there on purpose (included in val) */
    pa_t target;        /* K_TABLE: the next table; K_LEAF: the page's physical base */
    va_t la;            /* a linear address whose walk reached this entry when it was made */
    uint8_t level, kind;
    bool rsv;           /* when present, faults with RSVD whatever the control registers */
    bool bad_target;    /* K_TABLE whose table is not RAM */
} mnode_t;

/* A page an access recently got through, and the entries its walk used. */
typedef struct recent {
    va_t la;
    unsigned npath;
    int path[HW_MAX_LEVELS + 1];
} recent_t;

#define MAX_RECENT 32

typedef struct mtable {
    pa_t pa;
    unsigned level;     /* level of the entries in it */
    unsigned entries;
} mtable_t;

/* A translation the TLB may hold (SDM 4.10.2): what it recorded when it was cached. */
typedef struct trec {
    va_t page;                  /* 4 KiB linear page */
    va_t lp_base;               /* the page it came from (4 KiB .. 1 GiB) */
    uint64_t lp_size;
    pa_t pa_page;
    bool user, writable, xd, dirty, global;
} trec_t;

typedef struct acc {
    unsigned kind;   /* ntmm_access_t */
    bool user;       /* user-mode access: CPL 3 and not implicit */
    bool implicit;
    bool ac;         /* RFLAGS.AC */
} acc_t;

typedef struct expect {
    bool ok;                          /* the walk translates */
    ntmm_fault_t f;                   /* else the fault */
    pa_t pa;
    unsigned level;                   /* leaf level */
    bool user, writable, xd, global;  /* gathered rights; xd: an XD bit is set on the way */
    unsigned npath;
    int path[HW_MAX_LEVELS + 1];      /* entries whose A bit a success sets (not PDPTE registers) */
    int leaf;
} expect_t;

#define MAX_CAND  8
#define MAX_PARTS 4

typedef struct cand {
    pa_t pa;
    bool fresh, stale;
} cand_t;

typedef struct part {
    va_t la;
    size_t off, len;
    expect_t fx;        /* the fresh walk */
    bool fresh_ok;      /* the fresh outcome is a success (and the frame is RAM on TLB paths) */
    bool fresh_ad;      /* the fresh outcome sets A/D (its walk succeeded) */
    ntmm_fault_t fault; /* else the fresh outcome's fault */
    unsigned nc;
    cand_t c[MAX_CAND]; /* every success the SDM allows: fresh and stale translations */
    bool in_pool;       /* a candidate lies in the table pool: data not compared */
} part_t;

#define MAX_NODES 8192
#define HASH_BITS 15
#define MAX_TABLES 1024
#define MAX_RECS 16384

typedef struct sess {
    const rcfg_t *cfg;
    const mmode_t *md;
    uint64_t seed;
    unsigned step;
    const char *what;     /* what the step is doing, for failure messages */
    base_rng_t rng;
    hw_machine_t *m;
    hw_cpu_t *cpu;
    unsigned M, m32;      /* MAXPHYADDR; physical width of a 32-bit 4 MiB page */
    bool has_nx, has_1g, has_smep, has_smap, has_pge;
    /* control state, as the model set it */
    bool wp, smep, smap, nxe, pge, ac;
    unsigned cpl;
    pa_t root;
    pa_t pool_next;
    mnode_t preg[4];      /* PAE PDPTE registers */
    mnode_t *nodes;
    unsigned nnodes;
    int32_t *hash;
    hw_pte_t *must, *may; /* A/D bits the current step must / may set, per node */
    mtable_t tables[MAX_TABLES];
    unsigned ntables;
    trec_t *recs;
    unsigned nrecs;
    recent_t recent[MAX_RECENT];
    unsigned nrecent;
    uint8_t (*snap)[MAX_CAND][NTMM_PAGE_SIZE];
    uint8_t *wbuf, *rbuf;
    /* what happened */
    unsigned long n_ok, n_pf, n_rsvd, n_gp, n_mc, n_stale, n_inval;
} sess_t;

static sess_t *cur; /* the session being run, for failure messages */
static bool tracing;  /* PAGING_RANDOM_TRACE set: every step on stderr */

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2)))
#endif
static void trace(const char *fmt, ...)
{
    if (!tracing) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%u] ", cur ? cur->step : 0u);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void report(int line, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cur)
        fail_msg("seed=%#llx config=\"%s\" step=%u (%s) line %d: %s", (unsigned long long)cur->seed,
                 cur->cfg->name, cur->step, cur->what ? cur->what : "-", line, msg);
    fail_msg("line %d: %s", line, msg);
}

#define CHECK(cond, ...) do { if (!(cond)) report(__LINE__, __VA_ARGS__); } while (0)
#define U64(x) ((unsigned long long)(x))

/* ---- small helpers ---- */

static uint64_t rnd(sess_t *s, uint64_t n) { return base_rng_below(&s->rng, n); }
static uint64_t rnd64(sess_t *s) { return base_rng_next(&s->rng); }
static bool chance(sess_t *s, unsigned pct) { return rnd(s, 100) < pct; }

/* RAM as the model's memory map says (not hw_phys). */
static bool model_ram(const sess_t *s, pa_t pa)
{
    if (pa < LOW_END) return true;
    if (pa >= MID_LO && pa < MID_HI) return !(pa >= BAD_LO && pa < BAD_HI);
    return s->cfg->high && pa >= HIGH_LO && pa < HIGH_HI;
}

static bool in_pool(pa_t pa, uint64_t len) { return pa < POOL_HI && pa + len > POOL_LO; }

static hw_pte_t mem_entry(const sess_t *s, pa_t epa)
{
    return ntmm_le_load(hw_phys_host(&s->m->phys, epa), s->md->esz);
}

static void mem_set_entry(sess_t *s, pa_t epa, hw_pte_t v)
{
    uint8_t b[8];
    ntmm_le_store(b, v, s->md->esz);
    CHECK(hw_phys_write(&s->m->phys, epa, b, s->md->esz) == NTMM_STATUS_SUCCESS, "entry write %#llx", U64(epa));
}

static unsigned hslot(pa_t epa) { return (unsigned)(((epa >> 2) * 0x9E3779B97F4A7C15ull) >> (64u - HASH_BITS)); }

static int node_find(const sess_t *s, pa_t epa)
{
    for (unsigned h = hslot(epa);; h = (h + 1u) & ((1u << HASH_BITS) - 1u)) {
        int32_t i = s->hash[h];
        if (i < 0) return -1;
        if (s->nodes[i].epa == epa) return i;
    }
}

/* Records a new entry and writes it to memory. */
static int node_add(sess_t *s, const mnode_t *n)
{
    CHECK(s->nnodes < MAX_NODES, "too many entries");
    unsigned h = hslot(n->epa);
    while (s->hash[h] >= 0) h = (h + 1u) & ((1u << HASH_BITS) - 1u);
    int i = (int)s->nnodes++;
    s->hash[h] = i;
    s->nodes[i] = *n;
    mem_set_entry(s, n->epa, n->val);
    return i;
}

static pa_t rand_aligned(sess_t *s, uint64_t lo, uint64_t hi, uint64_t align)
{
    lo = ntmm_align_up(lo, align);
    if (hi <= lo || hi - lo < align) return lo;
    return lo + rnd(s, (hi - lo) / align) * align;
}

/* Exclusive bound of the physical addresses a leaf (or table pointer) at `level` can hold. */
static uint64_t phys_limit(const sess_t *s, unsigned level, bool leaf)
{
    if (s->md->esz == 4) return leaf && level == 2 ? NTMM_BIT(s->m32) : NTMM_BIT(32);
    return NTMM_BIT(s->M);
}

/* A physical base for a page of `size`: mostly RAM, sometimes holes, BAD frames, far away. */
static pa_t pick_frame(sess_t *s, uint64_t size, uint64_t limit)
{
    unsigned r = (unsigned)rnd(s, 100);
    bool high_ok = s->cfg->high && limit >= HIGH_HI;
    if (size == NTMM_PAGE_SIZE) {
        if (r < 50) return rand_aligned(s, DATA_LO, MID_HI, size);
        if (r < 58) return rand_aligned(s, MID_LO, POOL_LO, size);
        if (r < 62) return rand_aligned(s, 0, LOW_END, size);
        if (r < 72 && high_ok) return rand_aligned(s, HIGH_LO, HIGH_HI, size);
        if (r < 78) return rand_aligned(s, LOW_END, MID_LO, size);
        if (r < 83) return rand_aligned(s, BAD_LO, BAD_HI, size);
    } else if (size < NTMM_GIB(1)) {
        if (r < 45) return rand_aligned(s, DATA_LO, MID_HI, size);
        if (r < 55) return rand_aligned(s, 0, POOL_HI, size);
        if (r < 70 && high_ok) return rand_aligned(s, HIGH_LO, HIGH_HI, size);
    } else {
        if (r < 40) return 0;
        if (r < 60 && limit > HIGH_LO) return HIGH_LO;
    }
    return rand_aligned(s, 0, limit, size);
}

/* A table address that is not RAM. */
static pa_t pick_bad_table(sess_t *s)
{
    unsigned r = (unsigned)rnd(s, 3);
    if (r == 0) return rand_aligned(s, LOW_END, MID_LO, NTMM_PAGE_SIZE);
    if (r == 1) return rand_aligned(s, BAD_LO, BAD_HI, NTMM_PAGE_SIZE);
    return rand_aligned(s, MID_HI, NTMM_GIB(4), NTMM_PAGE_SIZE);
}

/* The entry bits that hold a target, as the generator encodes them. */
static hw_pte_t enc_frame(const sess_t *s, unsigned level, bool leaf, pa_t target)
{
    if (s->md->esz == 4) {
        if (leaf && level == 2) return (target & NTMM_BITS(31, 22)) | (((target >> 32) & 0xFFu) << 13);
        return target & NTMM_BITS(31, 12);
    }
    return target;
}

static hw_pte_t frame_field(const sess_t *s, unsigned level, bool leaf)
{
    if (s->md->esz == 4) return leaf && level == 2 ? NTMM_BITS(31, 22) | NTMM_BITS(20, 13) : NTMM_BITS(31, 12);
    if (leaf && level == 2) return NTMM_BITS(51, 21);
    if (leaf && level == 3) return NTMM_BITS(51, 30);
    return NTMM_BITS(51, 12);
}

static bool is_pdpte(const sess_t *s, unsigned level) { return s->md->pae && level == 3; }

/* Bits 62:52 are ignored in 4-level and 5-level entries (CR4.PKE = 0): noise that must not matter. */
static hw_pte_t ignored_noise(sess_t *s)
{
    if (s->md->esz != 8 || s->md->pae || !chance(s, 10)) return 0;
    return rnd64(s) & NTMM_BITS(62, 52);
}

static hw_pte_t gen_table_flags(sess_t *s, unsigned level)
{
    hw_pte_t v = HW_PTE_P;
    if (rnd(s, 2)) v |= HW_PTE_PWT;
    if (rnd(s, 2)) v |= HW_PTE_PCD;
    v |= rnd(s, 8) << HW_PTE_AVL_SHIFT;
    if (is_pdpte(s, level)) return v; /* R/W, U/S, A, XD... are reserved in a PDPTE */
    if (chance(s, 94)) v |= HW_PTE_RW;
    if (chance(s, 94)) v |= HW_PTE_US;
    if (chance(s, 30)) v |= HW_PTE_A;
    if (rnd(s, 2)) v |= NTMM_BIT(6); /* ignored in non-leaf entries */
    if (rnd(s, 2)) v |= NTMM_BIT(8); /* ignored in non-leaf entries */
    if (s->md->esz == 8 && chance(s, s->has_nx ? 6 : 2)) v |= HW_PTE_XD;
    return v | ignored_noise(s);
}

static hw_pte_t gen_leaf_flags(sess_t *s, unsigned level)
{
    hw_pte_t v = HW_PTE_P;
    if (chance(s, 70)) v |= HW_PTE_RW;
    if (chance(s, 70)) v |= HW_PTE_US;
    if (rnd(s, 2)) v |= HW_PTE_PWT;
    if (rnd(s, 2)) v |= HW_PTE_PCD;
    if (chance(s, 30)) v |= HW_PTE_A;
    if (chance(s, 25)) v |= HW_PTE_D;
    if (chance(s, 25)) v |= HW_PTE_G;
    v |= rnd(s, 8) << HW_PTE_AVL_SHIFT;
    if (level == 1) {
        if (rnd(s, 2)) v |= HW_PTE_PAT;
    } else {
        v |= HW_PTE_PS;
        if (rnd(s, 2)) v |= HW_PTE_LPAT;
    }
    if (s->md->esz == 8 && chance(s, s->has_nx ? 25 : 3)) v |= HW_PTE_XD;
    return v | ignored_noise(s);
}

/* A bit the SDM reserves in this entry whatever the control registers, or 0 if it has none. */
static hw_pte_t pick_rsv(sess_t *s, unsigned level, unsigned kind)
{
    hw_pte_t opts[4];
    unsigned n = 0;
    if (s->md->esz == 4) {
        /* 32-bit paging: only a 4 MiB PDE has reserved bits, 21:(M-19) with M = min(MAXPHYADDR, 40)
         * under PSE-36, else 21:13 (SDM table 4-4) */
        if (kind != K_LEAF || level != 2) return 0;
        unsigned lo = s->m32 - 19u;
        return NTMM_BIT(lo + rnd(s, 22u - lo));
    }
    if (is_pdpte(s, level)) return 0; /* PDPTE registers are checked by CR3 loads: step_pdpte_gp */
    unsigned hi = s->md->pae ? 62u : 51u; /* PAE: 62:M reserved; 4/5-level: 51:M */
    if (s->M <= hi) opts[n++] = NTMM_BIT(s->M + rnd(s, hi - s->M + 1u));
    if (kind == K_LEAF && level == 2) opts[n++] = NTMM_BIT(13 + rnd(s, 8));  /* 20:13 of a 2 MiB PDE */
    if (kind == K_LEAF && level == 3) opts[n++] = NTMM_BIT(13 + rnd(s, 17)); /* 29:13 of a 1 GiB PDPTE */
    if (kind == K_TABLE && level >= 4) opts[n++] = HW_PTE_PS;                /* PS in a PML4E / PML5E */
    return n ? opts[rnd(s, n)] : 0;
}

static pa_t table_alloc(sess_t *s, unsigned level)
{
    if (s->pool_next + NTMM_PAGE_SIZE > POOL_HI || s->ntables == MAX_TABLES) return 0;
    pa_t t = s->pool_next;
    s->pool_next += NTMM_PAGE_SIZE;
    CHECK(hw_phys_fill(&s->m->phys, t, 0, NTMM_PAGE_SIZE) == NTMM_STATUS_SUCCESS, "pool");
    s->tables[s->ntables++] = (mtable_t){ t, level, NTMM_PAGE_SIZE / s->md->esz };
    return t;
}

static void make_junk(sess_t *s, mnode_t *n, unsigned level)
{
    n->level = (uint8_t)level;
    n->kind = K_JUNK;
    n->val = rnd64(s) & ~HW_PTE_P; /* a software PTE: every other bit is the OS's */
    if (s->md->esz == 4) n->val &= 0xFFFFFFFFu;
    n->rsv_bits = 0;
    n->target = 0;
    n->rsv = n->bad_target = false;
}

static void make_leaf(sess_t *s, mnode_t *n, unsigned level)
{
    n->level = (uint8_t)level;
    n->kind = K_LEAF;
    n->bad_target = false;
    n->target = pick_frame(s, msize(s->md, level), phys_limit(s, level, true));
    n->rsv_bits = chance(s, 4) ? pick_rsv(s, level, K_LEAF) : 0;
    n->val = gen_leaf_flags(s, level) | enc_frame(s, level, true, n->target) | n->rsv_bits;
    n->rsv = n->rsv_bits != 0 || (level == 3 && !s->has_1g); /* PS in a PDPTE without 1 GiB pages */
}

/* A table entry: to a new table, to an existing one (`reuse`), or to a frame that is not RAM. */
static void make_table(sess_t *s, mnode_t *n, unsigned level, bool bad, bool reuse)
{
    pa_t t = 0;
    if (!bad && reuse) {
        unsigned cands = 0;
        for (unsigned i = 0; i < s->ntables; i++)
            if (s->tables[i].level == level - 1u && s->tables[i].entries == NTMM_PAGE_SIZE / s->md->esz &&
                rnd(s, ++cands) == 0)
                t = s->tables[i].pa;
    }
    if (!bad && !t) t = table_alloc(s, level - 1u);
    if (!bad && !t) {
        make_junk(s, n, level);
        return;
    }
    n->level = (uint8_t)level;
    n->kind = K_TABLE;
    n->bad_target = bad;
    n->target = bad ? pick_bad_table(s) : t;
    n->rsv_bits = 0;
    n->rsv = false;
    n->val = gen_table_flags(s, level) | enc_frame(s, level, false, n->target);
}

/* ---- the model ---- */

static void model_fault(expect_t *e, uint32_t vec, uint32_t code, uint64_t addr, unsigned kind)
{
    e->ok = false;
    e->f = (ntmm_fault_t){ vec, code, addr, kind };
}

/* SDM 4.7. */
static uint32_t model_pf_code(const sess_t *s, const acc_t *a, uint32_t extra)
{
    uint32_t c = extra;
    if (a->kind == NTMM_ACCESS_WRITE) c |= NTMM_PF_W;
    if (a->user) c |= NTMM_PF_U;
    /* I/D: a fetch, with SMEP, or with NXE when CR4.PAE = 1 (PAE or 4/5-level paging) */
    if (a->kind == NTMM_ACCESS_EXECUTE && (s->smep || (s->md->esz == 8 && s->nxe))) c |= NTMM_PF_I;
    return c;
}

/* SDM 4.6: may access a use a translation with these rights? */
static bool model_allows(const sess_t *s, bool user_page, bool writable, bool xd, const acc_t *a)
{
    bool nx = xd && s->nxe && s->md->esz == 8;
    if (a->user) {
        if (!user_page) return false;
        if (a->kind == NTMM_ACCESS_WRITE) return writable;
        if (a->kind == NTMM_ACCESS_EXECUTE) return !nx;
        return true;
    }
    if (a->kind == NTMM_ACCESS_EXECUTE) return !nx && !(user_page && s->smep);
    if (user_page && s->smap && (a->implicit || !a->ac)) return false;
    if (a->kind == NTMM_ACCESS_WRITE) return writable || !s->wp;
    return true;
}

static void model_walk(const sess_t *s, va_t la, const acc_t *a, expect_t *e)
{
    const mmode_t *md = s->md;
    memset(e, 0, sizeof *e);
    e->leaf = -1;
    if (md->canonical ? sext(la, md->va_bits) != la : la > UINT32_MAX) {
        model_fault(e, NTMM_VEC_GP, 0, la, a->kind);
        return;
    }
    bool user = true, wr = true, xd = false;
    pa_t table = s->root;
    const mnode_t *n = NULL;
    int ni = -1;
    unsigned l;
    for (l = md->levels;; l--) {
        CHECK(l >= 1, "model walked below level 1");
        unsigned idx = midx(md, la, l);
        bool reg = md->pae && l == md->levels;
        if (reg) {
            n = &s->preg[idx];
            ni = -1;
        } else {
            pa_t epa = table + (pa_t)idx * md->esz;
            if (!model_ram(s, epa)) {
                model_fault(e, NTMM_VEC_MC, 0, epa, a->kind);
                return;
            }
            ni = node_find(s, epa);
            n = ni >= 0 ? &s->nodes[ni] : NULL; /* no record: a zero entry of a zeroed table */
        }
        if (!n || !(n->val & HW_PTE_P)) {
            model_fault(e, NTMM_VEC_PF, model_pf_code(s, a, 0), la, a->kind);
            return;
        }
        if (n->rsv || (md->esz == 8 && (n->val & HW_PTE_XD) && !s->nxe)) {
            model_fault(e, NTMM_VEC_PF, model_pf_code(s, a, NTMM_PF_P | NTMM_PF_RSVD), la, a->kind);
            return;
        }
        if (!reg) {
            user = user && (n->val & HW_PTE_US);
            wr = wr && (n->val & HW_PTE_RW);
            xd = xd || (md->esz == 8 && (n->val & HW_PTE_XD));
            e->path[e->npath++] = ni;
        }
        if (n->kind == K_LEAF) break;
        CHECK(n->kind == K_TABLE, "present junk entry");
        table = n->target;
    }
    e->level = l;
    e->leaf = ni;
    e->pa = n->target + (la & (msize(md, l) - 1u));
    e->user = user;
    e->writable = wr;
    e->xd = xd;
    e->global = s->pge && (n->val & HW_PTE_G);
    if (!model_allows(s, user, wr, xd, a)) {
        model_fault(e, NTMM_VEC_PF, model_pf_code(s, a, NTMM_PF_P), la, a->kind);
        return;
    }
    e->ok = true;
}

/* The PDPTE registers a load would produce, from the model's record of the PDPT; false if the
 * load must fail with #GP (a present PDPTE with bits 2:1, 8:5 or 63:M set; SDM 4.4.1). */
static bool model_load_pdptes(const sess_t *s, mnode_t regs[4])
{
    for (unsigned i = 0; i < 4; i++) {
        int ni = node_find(s, s->root + 8u * i);
        if (ni >= 0) regs[i] = s->nodes[ni];
        else memset(&regs[i], 0, sizeof regs[i]);
        if ((regs[i].val & HW_PTE_P) &&
            (regs[i].val & (NTMM_BITS(2, 1) | NTMM_BITS(8, 5) | NTMM_BITS(63, s->M))))
            return false;
    }
    return true;
}

/* ---- TLB records ---- */

static void rec_drop_if(sess_t *s, bool (*drop)(const trec_t *, va_t), va_t la)
{
    unsigned k = 0;
    for (unsigned i = 0; i < s->nrecs; i++)
        if (!drop(&s->recs[i], la)) s->recs[k++] = s->recs[i];
    s->nrecs = k;
}

static bool rec_covers(const trec_t *r, va_t la) { return la - r->lp_base < r->lp_size; }
static bool rec_nonglobal(const trec_t *r, va_t la) { (void)la; return !r->global; }
static bool rec_any(const trec_t *r, va_t la) { (void)r; (void)la; return true; }

static void rec_add(sess_t *s, const part_t *p)
{
    const expect_t *e = &p->fx;
    const mnode_t *leaf = &s->nodes[e->leaf];
    uint64_t size = msize(s->md, e->level);
    trec_t r = { p->la & ~NTMM_PAGE_MASK, p->la & ~(size - 1u), size, e->pa & ~NTMM_PAGE_MASK,
                 e->user, e->writable, e->xd, (leaf->val & HW_PTE_D) != 0, s->pge && (leaf->val & HW_PTE_G) };
    for (unsigned i = 0; i < s->nrecs; i++) {
        const trec_t *q = &s->recs[i];
        if (q->page == r.page && q->lp_base == r.lp_base && q->lp_size == r.lp_size && q->pa_page == r.pa_page &&
            q->user == r.user && q->writable == r.writable && q->xd == r.xd && q->dirty == r.dirty &&
            q->global == r.global)
            return;
    }
    CHECK(s->nrecs < MAX_RECS, "too many TLB records");
    s->recs[s->nrecs++] = r;
}

/* ---- building an address space ---- */

static bool canonical_la(const sess_t *s, va_t la)
{
    return s->md->canonical ? sext(la, s->md->va_bits) == la : la <= UINT32_MAX;
}

/* Maps la at `level` (a leaf, sometimes junk), creating tables above it, sometimes dead ends. */
static void map_one(sess_t *s, va_t la, unsigned level)
{
    const mmode_t *md = s->md;
    if (!canonical_la(s, la)) return;
    pa_t table = s->root;
    for (unsigned l = md->levels;; l--) {
        pa_t epa = table + (pa_t)midx(md, la, l) * md->esz;
        int ni = node_find(s, epa);
        if (l == level) {
            if (ni >= 0) return;
            mnode_t n = { .epa = epa, .la = la };
            if (chance(s, 6)) make_junk(s, &n, l);
            else make_leaf(s, &n, l);
            node_add(s, &n);
            return;
        }
        if (ni < 0) {
            mnode_t n = { .epa = epa, .la = la };
            unsigned r = (unsigned)rnd(s, 100);
            if (r < 2) {
                make_junk(s, &n, l);
                node_add(s, &n);
                return;
            }
            make_table(s, &n, l, r < 4, false);
            if (r >= 4 && r < 6 && n.kind == K_TABLE) {
                n.rsv_bits = pick_rsv(s, l, K_TABLE);
                n.val |= n.rsv_bits;
                n.rsv = n.rsv_bits != 0;
            }
            ni = node_add(s, &n);
        }
        const mnode_t *p = &s->nodes[ni];
        if (p->kind != K_TABLE || p->bad_target) return;
        table = p->target;
    }
}

/* Whether a large page may cover la (see MODEL_TOP_LARGE_PAGES). */
static bool large_ok_at(const sess_t *s, va_t la)
{
    return MODEL_TOP_LARGE_PAGES || !s->md->canonical || la < (va_t)0 - NTMM_GIB(1);
}

/* Whether entry n may point to an existing table (which may hold large pages). */
static bool reuse_ok(const sess_t *s, const mnode_t *n)
{
    uint64_t size = msize(s->md, n->level);
    va_t base = n->la & ~(size - 1u);
    return MODEL_TOP_LARGE_PAGES || !s->md->canonical || base + (size - 1u) < (va_t)0 - NTMM_GIB(1);
}

static unsigned pick_level(sess_t *s)
{
    unsigned r = (unsigned)rnd(s, 100);
    if (r < 58) return 1;
    if (r < 88 || !(s->md->large & (1u << 3))) return 2;
    return 3;
}

static va_t rand_la(sess_t *s)
{
    if (!s->md->canonical) return rnd64(s) & 0xFFFFFFFFu;
    return sext(rnd64(s), s->md->va_bits);
}

/* Linear pages at the edges: 0, the top of 4 GiB, both ends of each canonical half. */
static unsigned edge_pages(const sess_t *s, va_t *out)
{
    unsigned n = 0;
    out[n++] = 0;
    out[n++] = NTMM_PAGE_SIZE;
    if (!s->md->canonical) {
        out[n++] = 0xFFFFF000u;
        out[n++] = 0xFFFFE000u;
        out[n++] = 0x7FFFF000u;
        out[n++] = 0x80000000u;
    } else {
        va_t top = NTMM_BIT(s->md->va_bits - 1u);
        out[n++] = top - NTMM_PAGE_SIZE;        /* last page of the lower half */
        out[n++] = top - 2u * NTMM_PAGE_SIZE;
        out[n++] = (va_t)0 - top;               /* first page of the upper half */
        out[n++] = (va_t)0 - NTMM_PAGE_SIZE;    /* the very last page */
    }
    return n;
}

static void build(sess_t *s)
{
    const mmode_t *md = s->md;
    if (md->pae) {
        pa_t f = table_alloc(s, 3);
        CHECK(f != 0, "pool");
        s->tables[s->ntables - 1].entries = 4;
        s->root = f + 32u * rnd(s, NTMM_PAGE_SIZE / 32u); /* the PDPT is 32-byte aligned anywhere */
        s->tables[s->ntables - 1].pa = s->root;
        for (unsigned i = 0; i < 4; i++) {
            mnode_t n = { .epa = s->root + 8u * i, .la = (va_t)i << 30 };
            unsigned r = (unsigned)rnd(s, 100);
            if (r < 86) make_table(s, &n, 3, false, false);
            else if (r < 93) make_junk(s, &n, 3);
            else make_table(s, &n, 3, true, false);
            node_add(s, &n);
        }
    } else {
        s->root = table_alloc(s, md->levels);
        CHECK(s->root != 0, "pool");
    }
    va_t edges[8];
    unsigned ne = edge_pages(s, edges);
    for (unsigned i = 0; i < ne; i++) {
        unsigned level = chance(s, 40) ? pick_level(s) : 1;
        if (!large_ok_at(s, edges[i])) level = 1;
        map_one(s, edges[i], level);
        map_one(s, edges[i], 1); /* the 4 KiB page, when the large one did not take its place */
    }
    unsigned clusters = 10 + (unsigned)rnd(s, 8);
    for (unsigned c = 0; c < clusters; c++) {
        va_t base = rand_la(s) & ~(msize(md, 2) - 1u);
        if (chance(s, 30)) base = rand_la(s) & ~(msize(md, md->levels) - 1u);
        unsigned cnt = 1 + (unsigned)rnd(s, 18);
        bool run = chance(s, 50); /* consecutive 4 KiB pages: page-crossing accesses */
        for (unsigned j = 0; j < cnt; j++) {
            if (run) {
                map_one(s, base + (va_t)j * NTMM_PAGE_SIZE, 1);
                continue;
            }
            unsigned level = pick_level(s);
            va_t la = base + rnd(s, 12) * msize(md, level) + (level == 1 ? rnd(s, 512) * NTMM_PAGE_SIZE : 0);
            if (!md->canonical) la &= 0xFFFFFFFFu;
            if (level > 1 && !large_ok_at(s, la)) continue;
            map_one(s, la, level);
        }
    }
}

/* ---- checks ---- */

static void check_regs(sess_t *s)
{
    hw_cpu_t *c = s->cpu;
    CHECK(((c->cr0 & HW_CR0_WP) != 0) == s->wp, "CR0.WP %#llx", U64(c->cr0));
    CHECK(((c->cr4 & HW_CR4_SMEP) != 0) == s->smep, "CR4.SMEP %#llx", U64(c->cr4));
    CHECK(((c->cr4 & HW_CR4_SMAP) != 0) == s->smap, "CR4.SMAP %#llx", U64(c->cr4));
    CHECK(((c->cr4 & HW_CR4_PGE) != 0) == s->pge, "CR4.PGE %#llx", U64(c->cr4));
    CHECK(((c->efer & HW_EFER_NXE) != 0) == s->nxe, "EFER.NXE %#llx", U64(c->efer));
    CHECK(c->cpl == s->cpl, "CPL %u", c->cpl);
    CHECK(((c->rflags & HW_RFLAGS_AC) != 0) == s->ac, "RFLAGS %#llx", U64(c->rflags));
}

/* Every recorded entry: memory holds the model's value plus A/D bits the step must / may set. */
static void check_nodes(sess_t *s)
{
    for (unsigned i = 0; i < s->nnodes; i++) {
        mnode_t *n = &s->nodes[i];
        hw_pte_t mem = mem_entry(s, n->epa);
        hw_pte_t lo = n->val | s->must[i], hi = lo | s->may[i];
        CHECK((mem & lo) == lo && (mem & ~hi) == 0,
              "entry at %#llx (level %u, reached by %#llx): memory %#llx, model %#llx + must %#llx / may %#llx",
              U64(n->epa), n->level, U64(n->la), U64(mem), U64(n->val), U64(s->must[i]), U64(s->may[i]));
        n->val = mem;
        s->must[i] = s->may[i] = 0;
    }
}

/* Every table the generator made: entries it never wrote are still zero. */
static void check_tables(sess_t *s)
{
    for (unsigned t = 0; t < s->ntables; t++) {
        const mtable_t *tb = &s->tables[t];
        for (unsigned i = 0; i < tb->entries; i++) {
            pa_t epa = tb->pa + (pa_t)i * s->md->esz;
            hw_pte_t v = mem_entry(s, epa);
            if (v == 0) continue;
            int ni = node_find(s, epa);
            CHECK(ni >= 0 && s->nodes[ni].val == v, "entry at %#llx holds %#llx, the model %#llx", U64(epa),
                  U64(v), U64(ni >= 0 ? s->nodes[ni].val : 0));
        }
    }
}

static void check_machine(sess_t *s, bool full)
{
    CHECK(hw_tlb_check(&s->cpu->tlb), "hw_tlb_check");
    if (full || !s->cfg->high || s->step % 200u == 0) CHECK(hw_machine_check(s->m), "hw_machine_check");
}

/* ---- steps ---- */

static void note_fault(sess_t *s, const ntmm_fault_t *f)
{
    if (f->vector == NTMM_VEC_PF) {
        s->n_pf++;
        if (f->error_code & NTMM_PF_RSVD) s->n_rsvd++;
    } else if (f->vector == NTMM_VEC_GP) {
        s->n_gp++;
    } else if (f->vector == NTMM_VEC_MC) {
        s->n_mc++;
    }
}

static bool fault_eq(const ntmm_fault_t *a, const ntmm_fault_t *b)
{
    return a->vector == b->vector && a->error_code == b->error_code && a->address == b->address &&
           a->access == b->access;
}

#define FAULT_FMT "vector %u code %#x address %#llx access %u"
#define FAULT_ARG(f) (f).vector, (f).error_code, U64((f).address), (f).access

static va_t next_la(const sess_t *s, va_t la, uint64_t n)
{
    va_t x = la + n;
    return s->md->canonical ? x : (x & 0xFFFFFFFFu);
}

/* Splits [la, la+len) into pages and works out each one's allowed outcomes. */
static unsigned prepare(sess_t *s, va_t la, size_t len, const acc_t *a, bool tlb, part_t *parts)
{
    size_t done = 0;
    unsigned np = 0;
    va_t at = la;
    while (done < len) {
        CHECK(np < MAX_PARTS, "too many parts");
        part_t *p = &parts[np++];
        memset(p, 0, sizeof *p);
        p->la = at;
        p->off = done;
        p->len = NTMM_PAGE_SIZE - (at & NTMM_PAGE_MASK);
        if (p->len > len - done) p->len = len - done;
        model_walk(s, at, a, &p->fx);
        p->fresh_ad = p->fx.ok;
        p->fresh_ok = p->fx.ok && (!tlb || model_ram(s, p->fx.pa));
        if (!p->fx.ok) p->fault = p->fx.f;
        else if (!p->fresh_ok) p->fault = (ntmm_fault_t){ NTMM_VEC_MC, 0, p->fx.pa, a->kind };
        if (p->fresh_ok) p->c[p->nc++] = (cand_t){ p->fx.pa, true, false };
        if (tlb) {
            for (unsigned i = 0; i < s->nrecs; i++) {
                const trec_t *r = &s->recs[i];
                if (r->page != (at & ~NTMM_PAGE_MASK)) continue;
                if (!model_allows(s, r->user, r->writable, r->xd, a)) continue;
                if (a->kind == NTMM_ACCESS_WRITE && !r->dirty) continue; /* a clean entry re-walks to set D */
                pa_t pa = r->pa_page + (at & NTMM_PAGE_MASK);
                unsigned k;
                for (k = 0; k < p->nc && p->c[k].pa != pa; k++) {}
                if (k == p->nc) {
                    CHECK(p->nc < MAX_CAND, "too many candidates");
                    p->c[p->nc++] = (cand_t){ pa, false, true };
                } else {
                    p->c[k].stale = true;
                }
            }
        }
        for (unsigned k = 0; k < p->nc; k++)
            if (in_pool(p->c[k].pa, p->len)) p->in_pool = true;
        done += p->len;
        at = next_la(s, at, p->len);
    }
    return np;
}

/* A write must not land in the page tables, nor two pages of one write on the same bytes. */
static bool write_unsafe(const part_t *parts, unsigned np)
{
    for (unsigned i = 0; i < np; i++) {
        if (parts[i].in_pool) return true;
        for (unsigned j = i + 1; j < np; j++)
            for (unsigned a = 0; a < parts[i].nc; a++)
                for (unsigned b = 0; b < parts[j].nc; b++) {
                    pa_t x = parts[i].c[a].pa, y = parts[j].c[b].pa;
                    if (x < y + parts[j].len && y < x + parts[i].len) return true;
                }
    }
    return false;
}

static void mark_ad(sess_t *s, const expect_t *e, unsigned kind, bool must)
{
    hw_pte_t *v = must ? s->must : s->may;
    for (unsigned i = 0; i < e->npath; i++) v[e->path[i]] |= HW_PTE_A;
    if (kind == NTMM_ACCESS_WRITE) v[e->leaf] |= HW_PTE_D;
}

enum { PATH_WALK, PATH_TRANSLATE, PATH_SCALAR, PATH_BULK };
static const char *const path_names[] = { "hw_walk", "hw_translate", "scalar", "bulk" };
static const char *const kind_names[] = { "read", "write", "execute" };

static va_t pick_la(sess_t *s)
{
    unsigned r = (unsigned)rnd(s, 100);
    if (r < 30 && s->nrecent) { /* back to a page that worked: TLB hits, stale ones too */
        va_t la = s->recent[rnd(s, s->nrecent < MAX_RECENT ? s->nrecent : MAX_RECENT)].la;
        la = (la & ~NTMM_PAGE_MASK) + rnd(s, NTMM_PAGE_SIZE);
        return la;
    }
    if (r < 80) {
        const mnode_t *n = &s->nodes[rnd(s, s->nnodes)];
        for (unsigned tries = 0; tries < 8 && n->kind != K_LEAF; tries++) n = &s->nodes[rnd(s, s->nnodes)];
        uint64_t size = msize(s->md, n->level);
        va_t base = n->la & ~(size - 1u);
        uint64_t pages = size / NTMM_PAGE_SIZE;
        if (pages > 4096 && rnd(s, 2)) pages = rnd(s, 2) ? 64 : MID_HI / NTMM_PAGE_SIZE; /* a 1 GiB page's RAM */
        va_t la = base + rnd(s, pages) * NTMM_PAGE_SIZE + rnd(s, NTMM_PAGE_SIZE);
        return s->md->canonical ? la : (la & 0xFFFFFFFFu);
    }
    if (r < 90) {
        va_t edges[8];
        unsigned ne = edge_pages(s, edges);
        va_t la = edges[rnd(s, ne)] + rnd(s, NTMM_PAGE_SIZE);
        return s->md->canonical ? la : (la & 0xFFFFFFFFu);
    }
    if (r < 95 && s->md->canonical) { /* not canonical */
        va_t la = rand_la(s) ^ NTMM_BIT(s->md->va_bits + rnd(s, 64u - s->md->va_bits));
        return la;
    }
    return rand_la(s);
}

/* One access at a random address, or at *at. */
static void step_access(sess_t *s, const va_t *at)
{
    hw_cpu_t *cpu = s->cpu;
    unsigned path = (unsigned)rnd(s, 100);
    path = path < 20 ? PATH_WALK : path < 42 ? PATH_TRANSLATE : path < 78 ? PATH_SCALAR : PATH_BULK;
    acc_t a = { (unsigned)rnd(s, 3), false, false, s->ac };
    if (path != PATH_SCALAR && a.kind != NTMM_ACCESS_EXECUTE && chance(s, 12)) a.implicit = true;
    a.user = s->cpl == 3 && !a.implicit;
    va_t la = at ? *at : pick_la(s);
    size_t len = 1;
    unsigned size = 1;
    if (path == PATH_SCALAR) {
        size = 1u << rnd(s, 4);
        len = size;
        if (chance(s, 25) && size > 1) /* cross into the next page */
            la = next_la(s, la | NTMM_PAGE_MASK, 0) - rnd(s, size - 1u);
    } else if (path == PATH_BULK) {
        /* small lengths take hw_access_linear's one-page hit path, which must not cross */
        len = chance(s, 30) ? 1 + (size_t)rnd(s, 8) : 1 + (size_t)rnd(s, 3 * NTMM_PAGE_SIZE);
        if (len > 1 && len <= 8 && chance(s, 30)) la = next_la(s, la | NTMM_PAGE_MASK, 0) - rnd(s, len - 1u);
    }
    bool tlb = path != PATH_WALK;
    part_t parts[MAX_PARTS];
    unsigned np = prepare(s, la, len, &a, tlb, parts);
    if (a.kind == NTMM_ACCESS_WRITE && path != PATH_WALK && path != PATH_TRANSLATE && write_unsafe(parts, np)) {
        a.kind = NTMM_ACCESS_READ;
        np = prepare(s, la, len, &a, tlb, parts);
    }
    char what[160];
    snprintf(what, sizeof what, "%s %s%s of %zu at %#llx, CPL %u AC %d WP %d SMEP %d SMAP %d NXE %d",
             path_names[path], a.implicit ? "implicit " : "", kind_names[a.kind], len, U64(la), s->cpl, s->ac,
             s->wp, s->smep, s->smap, s->nxe);
    s->what = what;
    for (unsigned i = 0; i < np; i++)
        trace("%s: page %u %#llx fresh %s pa %#llx " FAULT_FMT ", %u candidates%s", what, i, U64(parts[i].la),
              parts[i].fresh_ok ? "ok" : "fault", U64(parts[i].fx.pa), FAULT_ARG(parts[i].fault), parts[i].nc,
              parts[i].nc > (parts[i].fresh_ok ? 1u : 0u) ? " (stale allowed)" : "");

    /* what physical memory holds now where the access may go, and distinct data to write */
    bool data = path == PATH_SCALAR || path == PATH_BULK;
    if (data) {
        for (unsigned i = 0; i < np; i++)
            for (unsigned k = 0; k < parts[i].nc; k++)
                CHECK(hw_phys_read(&s->m->phys, parts[i].c[k].pa, s->snap[i][k], parts[i].len) ==
                          NTMM_STATUS_SUCCESS,
                      "candidate %#llx is not RAM", U64(parts[i].c[k].pa));
        if (a.kind == NTMM_ACCESS_WRITE)
            for (unsigned i = 0; i < np; i++)
                for (size_t b = 0; b < parts[i].len; b++) {
                    uint8_t v = (uint8_t)rnd64(s);
                    for (unsigned tries = 0; tries <= MAX_CAND; tries++) {
                        bool clash = false;
                        for (unsigned k = 0; k < parts[i].nc; k++) clash = clash || s->snap[i][k][b] == v;
                        if (!clash) break;
                        v++;
                    }
                    s->wbuf[parts[i].off + b] = v;
                }
    }

    uint64_t cr2 = cpu->cr2;
    ntmm_fault_t f = { 0, 0, 0, 0 };
    bool ok = false;
    unsigned nsucc = 0;
    pa_t got_pa = 0;
    hw_walk_t w;
    memset(&w, 0, sizeof w);
    uint64_t value = 0;
    size_t done = 0;
    switch (path) {
    case PATH_WALK: {
        unsigned flags = a.kind | (a.user ? HW_ACC_USER : 0u) | (a.implicit ? HW_ACC_IMPLICIT : 0u) |
                         (a.ac ? HW_ACC_AC : 0u);
        ok = hw_walk(&cpu->paging, la, flags, &w, &f);
        nsucc = ok;
        break;
    }
    case PATH_TRANSLATE:
        ok = hw_translate(cpu, la, a.kind | (a.implicit ? HW_ACC_IMPLICIT : 0u), &got_pa, &f);
        nsucc = ok;
        break;
    case PATH_SCALAR:
        if (a.kind == NTMM_ACCESS_WRITE) {
            value = ntmm_le_load(s->wbuf, size);
            ok = size == 8 && rnd(s, 2) ? hw_store64(cpu, la, value, &f) : hw_store(cpu, la, size, value, &f);
        } else if (a.kind == NTMM_ACCESS_READ) {
            ok = size == 8 && rnd(s, 2) ? hw_load64(cpu, la, &value, &f) : hw_load(cpu, la, size, &value, &f);
        } else {
            ok = hw_fetch(cpu, la, size, &value, &f);
        }
        if (ok) {
            nsucc = np;
            ntmm_le_store(s->rbuf, value, size);
        } else {
            /* the first page whose fresh outcome is this fault, every page before it able to succeed */
            for (nsucc = 0; nsucc < np; nsucc++) {
                if (!parts[nsucc].fresh_ok && fault_eq(&parts[nsucc].fault, &f)) break;
                CHECK(parts[nsucc].nc > 0,
                      "faulted (" FAULT_FMT ") but page %u at %#llx must fault first: " FAULT_FMT, FAULT_ARG(f),
                      nsucc, U64(parts[nsucc].la), FAULT_ARG(parts[nsucc].fault));
            }
            CHECK(nsucc < np, "unexpected fault " FAULT_FMT, FAULT_ARG(f));
        }
        break;
    default:
        if (a.kind == NTMM_ACCESS_WRITE) memcpy(s->rbuf, s->wbuf, len);
        else memset(s->rbuf, 0, len);
        ok = hw_access_linear(cpu, la, s->rbuf, len, a.kind | (a.implicit ? HW_ACC_IMPLICIT : 0u), &done, &f);
        if (ok) {
            CHECK(done == len, "done %zu of %zu", done, len);
            nsucc = np;
        } else {
            for (nsucc = 0; nsucc < np && parts[nsucc].off != done; nsucc++) {}
            CHECK(nsucc < np, "stopped after %zu bytes, not at a page boundary", done);
        }
        break;
    }

    trace("  -> %s, %u pages succeeded, " FAULT_FMT, ok ? "ok" : "fault", nsucc, FAULT_ARG(f));
    /* the outcome of every page */
    for (unsigned i = 0; i < nsucc; i++) {
        part_t *p = &parts[i];
        CHECK(p->nc > 0, "page %u at %#llx translated; the model expects " FAULT_FMT, i, U64(p->la),
              FAULT_ARG(p->fault));
    }
    if (!ok) {
        part_t *p = &parts[nsucc];
        CHECK(!p->fresh_ok, "page %u at %#llx faulted (" FAULT_FMT "); the model expects pa %#llx", nsucc,
              U64(p->la), FAULT_ARG(f), U64(p->fx.pa));
        CHECK(fault_eq(&f, &p->fault), "page %u at %#llx: fault " FAULT_FMT ", the model expects " FAULT_FMT,
              nsucc, U64(p->la), FAULT_ARG(f), FAULT_ARG(p->fault));
        note_fault(s, &f);
        if (p->fresh_ad) mark_ad(s, &p->fx, a.kind, true); /* the walk succeeded; the frame is not RAM */
        if (tlb && f.vector == NTMM_VEC_PF) {
            /* SDM 4.10.4.1: a #PF invalidates the TLB entries for the faulting page */
            rec_drop_if(s, rec_covers, p->la);
        }
        CHECK(cpu->cr2 == (f.vector == NTMM_VEC_PF && tlb ? f.address : cr2), "CR2 %#llx after " FAULT_FMT,
              U64(cpu->cr2), FAULT_ARG(f));
    } else {
        s->n_ok++;
        CHECK(cpu->cr2 == cr2, "CR2 changed by a successful access");
    }

    bool fresh_used[MAX_PARTS] = { false };
    if (path == PATH_WALK) {
        if (ok) {
            const expect_t *e = &parts[0].fx;
            CHECK(w.pa == e->pa, "pa %#llx, the model %#llx", U64(w.pa), U64(e->pa));
            CHECK(w.page_size == msize(s->md, e->level) && w.leaf_level == e->level,
                  "page size %#llx level %u, model level %u", U64(w.page_size), w.leaf_level, e->level);
            CHECK(w.user == e->user && w.writable == e->writable && w.no_execute == (e->xd && s->nxe) &&
                      w.global == e->global,
                  "rights U%d W%d NX%d G%d, the model U%d W%d XD%d G%d", w.user, w.writable, w.no_execute,
                  w.global, e->user, e->writable, e->xd, e->global);
            CHECK(w.entry_pa[e->level] == s->nodes[e->leaf].epa, "leaf entry at %#llx, the model %#llx",
                  U64(w.entry_pa[e->level]), U64(s->nodes[e->leaf].epa));
            mark_ad(s, e, a.kind, true);
        }
    } else {
        for (unsigned i = 0; i < np; i++) {
            part_t *p = &parts[i];
            bool matched[MAX_CAND] = { false };
            bool any = false, fresh = false, stale = false;
            bool succ = i < nsucc;
            /* a scalar access that faults on its second page moves no byte of the first */
            bool moved = succ && (path == PATH_BULK || (path == PATH_SCALAR && ok));
            for (unsigned k = 0; k < p->nc; k++) {
                bool mt;
                if (!succ) {
                    mt = false;
                } else if (path == PATH_TRANSLATE) {
                    mt = got_pa == p->c[k].pa;
                } else if (!moved) {
                    mt = true;
                } else if (a.kind == NTMM_ACCESS_WRITE) {
                    uint8_t now[NTMM_PAGE_SIZE];
                    CHECK(hw_phys_read(&s->m->phys, p->c[k].pa, now, p->len) == NTMM_STATUS_SUCCESS, "read back");
                    mt = !memcmp(now, s->wbuf + p->off, p->len);
                } else {
                    mt = p->in_pool || !memcmp(s->rbuf + p->off, s->snap[i][k], p->len);
                }
                matched[k] = mt;
                any = any || mt;
                fresh = fresh || (mt && p->c[k].fresh);
                stale = stale || (mt && p->c[k].stale);
            }
            if (data && a.kind == NTMM_ACCESS_WRITE)
                for (unsigned k = 0; k < p->nc; k++) {
                    if (moved && matched[k]) continue;
                    uint8_t now[NTMM_PAGE_SIZE];
                    CHECK(hw_phys_read(&s->m->phys, p->c[k].pa, now, p->len) == NTMM_STATUS_SUCCESS, "read back");
                    CHECK(!memcmp(now, s->snap[i][k], p->len),
                          "page %u: bytes at %#llx changed but were not the write's", i, U64(p->c[k].pa));
                }
            if (i >= nsucc) continue;
            if (path == PATH_TRANSLATE)
                CHECK(any, "pa %#llx; the model allows %s%#llx%s", U64(got_pa), p->fresh_ok ? "" : "(stale only) ",
                      U64(p->c[0].pa), p->nc > 1 ? " or a stale one" : "");
            else
                CHECK(any, "page %u at %#llx: data does not come from %s%#llx%s", i, U64(p->la),
                      p->fresh_ok ? "" : "(stale only) ", U64(p->c[0].pa), p->nc > 1 ? " nor a stale frame" : "");
            if (stale && !fresh) s->n_stale++;
            if (p->fx.ok) {
                recent_t *rc = &s->recent[s->nrecent++ % MAX_RECENT];
                rc->la = p->la;
                rc->npath = p->fx.npath;
                memcpy(rc->path, p->fx.path, sizeof rc->path);
            }
            if (fresh) {
                mark_ad(s, &p->fx, a.kind, !stale);
                fresh_used[i] = true;
            }
        }
    }
    check_nodes(s);
    for (unsigned i = 0; i < nsucc; i++)
        if (fresh_used[i] && tlb) rec_add(s, &parts[i]);
    s->what = NULL;
}

/* Changes one entry, then maybe INVLPG or a CR3 reload. */
static void reload_cr3(sess_t *s);

static void step_modify(sess_t *s, int forced, bool no_inval)
{
    const mmode_t *md = s->md;
    int ni = forced >= 0 ? forced : (int)rnd(s, s->nnodes);
    if (forced < 0 && s->nrecent && chance(s, 70)) { /* an entry a recent access used: it may be cached */
        const recent_t *rc = &s->recent[rnd(s, s->nrecent < MAX_RECENT ? s->nrecent : MAX_RECENT)];
        ni = rc->path[rc->npath - 1u - (chance(s, 75) ? 0 : (unsigned)rnd(s, rc->npath))];
    }
    mnode_t *n = &s->nodes[ni];
    unsigned l = n->level;
    bool pdpte = is_pdpte(s, l);
    unsigned r = (unsigned)rnd(s, 100);
    s->what = "modify";
    if (n->kind == K_JUNK || r >= 92) {
        /* a new entry of any kind */
        unsigned k = (unsigned)rnd(s, 100);
        bool leaf_ok = l == 1 || ((md->large & (1u << l)) && large_ok_at(s, n->la));
        if (l > 1 && (k < 40 || (!leaf_ok && k < 80)))
            make_table(s, n, l, chance(s, 8), rnd(s, 2) && reuse_ok(s, n));
        else if (k < 85 && leaf_ok) make_leaf(s, n, l);
        else make_junk(s, n, l);
        if (n->kind == K_TABLE && !pdpte && chance(s, 4)) {
            n->rsv_bits = pick_rsv(s, l, K_TABLE);
            n->val |= n->rsv_bits;
            n->rsv = n->rsv_bits != 0;
        }
    } else if (r < 22) {
        n->val ^= HW_PTE_P;
    } else if (r < 34 && !pdpte) {
        n->val ^= HW_PTE_RW;
    } else if (r < 46 && !pdpte) {
        n->val ^= HW_PTE_US;
    } else if (r < 54 && !pdpte && md->esz == 8) {
        n->val ^= HW_PTE_XD;
    } else if (r < 72 && n->kind == K_TABLE && chance(s, 60)) {
        n->val ^= HW_PTE_P; /* retargeting tables loses whole subtrees: mostly just toggle P */
    } else if (r < 72) {
        bool leaf = n->kind == K_LEAF;
        if (leaf) {
            n->target = pick_frame(s, msize(md, l), phys_limit(s, l, true));
        } else {
            mnode_t t = *n;
            make_table(s, &t, l, chance(s, 15), reuse_ok(s, n));
            if (t.kind != K_TABLE) return;
            n->target = t.target;
            n->bad_target = t.bad_target;
        }
        n->val = (n->val & ~frame_field(s, l, leaf)) | enc_frame(s, l, leaf, n->target) | n->rsv_bits;
    } else if (r < 80 && !pdpte) {
        n->val &= ~(HW_PTE_A | (n->kind == K_LEAF ? HW_PTE_D : 0));
    } else if (r < 86 && n->kind == K_LEAF) {
        n->val ^= HW_PTE_G;
    } else if (!pdpte) {
        if (n->rsv_bits) {
            n->val &= ~n->rsv_bits;
            n->rsv_bits = 0;
        } else {
            n->rsv_bits = pick_rsv(s, l, n->kind);
            n->val |= n->rsv_bits;
        }
        n->rsv = n->rsv_bits != 0 || (n->kind == K_LEAF && l == 3 && !s->has_1g);
    }
    mem_set_entry(s, n->epa, n->val);
    trace("modify entry %#llx level %u kind %u (reached by %#llx) -> %#llx target %#llx rsv %d", U64(n->epa), l,
          n->kind, U64(n->la), U64(n->val), U64(n->target), n->rsv);
    unsigned inv = no_inval ? 100u : (unsigned)rnd(s, 100);
    if (inv < 45) {
        /* INVLPG of a page the entry maps (and maybe a few more) */
        unsigned count = 1 + (chance(s, 30) ? (unsigned)rnd(s, 4) : 0);
        for (unsigned i = 0; i < count; i++) {
            uint64_t size = msize(md, l);
            va_t la = (n->la & ~(size - 1u)) + (i ? rnd(s, size / NTMM_PAGE_SIZE) * NTMM_PAGE_SIZE : 0) +
                      rnd(s, NTMM_PAGE_SIZE);
            if (!md->canonical) la &= 0xFFFFFFFFu;
            hw_tlb_invalidate(&s->cpu->tlb, la);
            rec_drop_if(s, rec_covers, la);
            s->n_inval++;
            trace("INVLPG %#llx", U64(la));
        }
    } else if (inv < 60) {
        reload_cr3(s);
    }
    s->what = NULL;
}

static uint64_t cr3_value(sess_t *s, pa_t root)
{
    if (s->md->pae) return root | rnd(s, 32); /* bits 4:0 are ignored / PWT / PCD */
    return root | (rnd(s, 2) ? HW_PTE_PWT : 0) | (rnd(s, 2) ? HW_PTE_PCD : 0);
}

static void reload_cr3(sess_t *s)
{
    ntmm_fault_t f;
    mnode_t regs[4];
    bool want = !s->md->pae || model_load_pdptes(s, regs);
    bool ok = hw_cpu_write_cr3(s->cpu, cr3_value(s, s->root), &f);
    CHECK(ok == want, "MOV CR3 %s", ok ? "succeeded" : "failed");
    if (!ok) return;
    if (s->md->pae) memcpy(s->preg, regs, sizeof regs);
    rec_drop_if(s, rec_nonglobal, 0); /* SDM 4.10.4.1: all but global translations */
    trace("MOV CR3 %#llx", U64(s->cpu->cr3));
}

/* A MOV to CR4 changing `bit`; PDPTEs reload in PAE mode when PGE, PSE or SMEP changes (SDM 4.4.1). */
static void toggle_cr4(sess_t *s, uint64_t bit, bool present, bool *state)
{
    ntmm_fault_t f;
    uint64_t old = s->cpu->cr4;
    mnode_t regs[4];
    bool reload = s->md->pae && (bit == HW_CR4_PGE || bit == HW_CR4_SMEP || bit == HW_CR4_PSE);
    bool want = present && (!reload || model_load_pdptes(s, regs));
    bool ok = hw_cpu_write_cr4(s->cpu, old ^ bit, &f);
    CHECK(ok == want, "MOV CR4 ^ %#llx %s", U64(bit), ok ? "succeeded" : "failed");
    if (!ok) {
        CHECK(f.vector == NTMM_VEC_GP && f.error_code == 0 && s->cpu->cr4 == old, "failed MOV CR4: " FAULT_FMT,
              FAULT_ARG(f));
        return;
    }
    *state = !*state;
    if (reload) memcpy(s->preg, regs, sizeof regs);
    if (bit == HW_CR4_PGE || (bit == HW_CR4_SMEP && *state)) rec_drop_if(s, rec_any, 0);
}

static void step_regs(sess_t *s)
{
    hw_cpu_t *cpu = s->cpu;
    ntmm_fault_t f;
    unsigned r = (unsigned)rnd(s, 100);
    s->what = "control registers";
    if (r < 25) {
        s->cpl = chance(s, 40) ? 3u : (unsigned)rnd(s, 3);
        hw_cpu_set_cpl(cpu, s->cpl);
    } else if (r < 40) {
        s->ac = !s->ac;
        hw_cpu_set_rflags(cpu, (cpu->rflags & ~HW_RFLAGS_AC) | (s->ac ? HW_RFLAGS_AC : 0));
    } else if (r < 55) {
        CHECK(hw_cpu_write_cr0(cpu, cpu->cr0 ^ HW_CR0_WP, &f), "MOV CR0 (WP)");
        s->wp = !s->wp;
    } else if (r < 67) {
        toggle_cr4(s, HW_CR4_SMEP, s->has_smep, &s->smep);
    } else if (r < 79) {
        toggle_cr4(s, HW_CR4_SMAP, s->has_smap, &s->smap);
    } else if (r < 85) {
        toggle_cr4(s, HW_CR4_PGE, s->has_pge, &s->pge);
    } else if (r < 88) {
        /* CR0.CD/NW (valid pairs only): no effect on translation, but PAE reloads its PDPTEs */
        static const uint64_t cdnw[3] = { 0, NTMM_BIT(30), NTMM_BIT(30) | NTMM_BIT(29) };
        uint64_t old = cpu->cr0, now = (old & ~NTMM_BITS(30, 29)) | cdnw[rnd(s, 3)];
        mnode_t regs[4];
        bool reload = s->md->pae && now != old;
        bool want = !reload || model_load_pdptes(s, regs);
        bool ok = hw_cpu_write_cr0(cpu, now, &f);
        CHECK(ok == want, "MOV CR0 (CD/NW %#llx) %s", U64(now & NTMM_BITS(30, 29)), ok ? "succeeded" : "failed");
        if (ok && reload) memcpy(s->preg, regs, sizeof regs);
    } else if (r < 91 && !s->md->pae && s->md->esz == 8) {
        /* CR4.PSE is ignored by 4/5-level paging */
        bool pse = (cpu->cr4 & HW_CR4_PSE) != 0;
        toggle_cr4(s, HW_CR4_PSE, true, &pse);
    } else if (r < 91 && s->md->pae) {
        bool pse = (cpu->cr4 & HW_CR4_PSE) != 0; /* PAE ignores it too, but reloads its PDPTEs */
        toggle_cr4(s, HW_CR4_PSE, true, &pse);
    } else if (r < 95 && (!s->nxe || chance(s, 30))) {
        uint64_t old = cpu->efer;
        bool ok = hw_cpu_write_efer(cpu, old ^ HW_EFER_NXE, &f);
        CHECK(ok == s->has_nx, "WRMSR EFER.NXE %s", ok ? "succeeded" : "failed");
        if (ok) s->nxe = !s->nxe;
        else CHECK(cpu->efer == old && f.vector == NTMM_VEC_GP, "failed WRMSR changed EFER");
    } else {
        reload_cr3(s);
    }
    check_regs(s);
    trace("registers: CPL %u AC %d WP %d SMEP %d SMAP %d PGE %d NXE %d", s->cpl, s->ac, s->wp, s->smep, s->smap,
          s->pge, s->nxe);
    s->what = NULL;
}

/* MOV to CR3 that must fail: a PAE PDPT with a reserved bit in a present PDPTE or outside RAM,
 * or (4/5-level) a CR3 with bits above MAXPHYADDR. Nothing may change. In 32-bit paging, a root
 * outside RAM is accepted and every walk then stops with #MC on the directory entry. */
static void step_cr3_bad(sess_t *s)
{
    hw_cpu_t *cpu = s->cpu;
    ntmm_fault_t f;
    uint64_t cr3 = cpu->cr3, cr4 = cpu->cr4;
    s->what = "bad CR3";
    if (s->md->pae) {
        if (chance(s, 50)) {
            int ni = node_find(s, s->root + 8u * rnd(s, 4));
            CHECK(ni >= 0, "PDPTE record");
            mnode_t *n = &s->nodes[ni];
            hw_pte_t bad_bits[] = { NTMM_BIT(1), NTMM_BIT(2), NTMM_BIT(5), NTMM_BIT(6), NTMM_BIT(7), NTMM_BIT(8),
                                    NTMM_BIT(63), NTMM_BIT(s->M + rnd(s, 64u - s->M)) };
            hw_pte_t saved = n->val;
            n->val = (n->val | HW_PTE_P | bad_bits[rnd(s, NTMM_ARRAY_SIZE(bad_bits))]);
            mem_set_entry(s, n->epa, n->val);
            CHECK(!hw_cpu_write_cr3(cpu, cr3_value(s, s->root), &f),
                  "MOV CR3 with a reserved PDPTE bit succeeded");
            CHECK(f.vector == NTMM_VEC_GP && f.error_code == 0, "MOV CR3: " FAULT_FMT, FAULT_ARG(f));
            if (s->has_smep) {
                CHECK(!hw_cpu_write_cr4(cpu, cr4 ^ HW_CR4_SMEP, &f), "MOV CR4 reloading a bad PDPTE succeeded");
                CHECK(f.vector == NTMM_VEC_GP, "MOV CR4: " FAULT_FMT, FAULT_ARG(f));
            }
            n->val = saved;
            mem_set_entry(s, n->epa, n->val);
        } else {
            pa_t bad = rand_aligned(s, LOW_END, MID_LO - 32u, 32);
            CHECK(!hw_cpu_write_cr3(cpu, bad, &f), "MOV CR3 to a PDPT outside RAM succeeded");
            CHECK(f.vector == NTMM_VEC_GP && f.error_code == 0, "MOV CR3: " FAULT_FMT, FAULT_ARG(f));
        }
    } else if (s->md->canonical) {
        CHECK(!hw_cpu_write_cr3(cpu, s->root | NTMM_BIT(s->M + rnd(s, 64u - s->M)), &f),
              "MOV CR3 above MAXPHYADDR succeeded");
        CHECK(f.vector == NTMM_VEC_GP && f.error_code == 0, "MOV CR3: " FAULT_FMT, FAULT_ARG(f));
    } else {
        /* 32-bit paging: a directory outside RAM; walks stop with #MC at the PDE */
        pa_t good = s->root;
        s->root = pick_bad_table(s);
        reload_cr3(s);
        s->what = "accesses with CR3 outside RAM";
        for (unsigned i = 0; i < 3; i++) step_access(s, NULL);
        s->root = good;
        reload_cr3(s);
        return;
    }
    CHECK(cpu->cr3 == cr3 && cpu->cr4 == cr4, "a failed MOV changed CR3/CR4");
    s->what = NULL;
}

/* Changes the leaf of a page that just worked, without invalidating, and uses the page again:
 * the TLB may answer with the old translation, within the old rights only. */
static void step_stale_probe(sess_t *s)
{
    unsigned have = s->nrecent < 4 ? s->nrecent : 4;
    if (!have) return;
    const recent_t *rc = &s->recent[(s->nrecent - 1u - (unsigned)rnd(s, have)) % MAX_RECENT];
    va_t la = rc->la;
    step_modify(s, rc->path[rc->npath - 1u], !chance(s, 20));
    unsigned count = 1 + (unsigned)rnd(s, 3);
    for (unsigned i = 0; i < count; i++) {
        va_t at = (la & ~NTMM_PAGE_MASK) + rnd(s, NTMM_PAGE_SIZE);
        step_access(s, &at);
    }
}

/* ---- sessions ---- */

static void sess_free(sess_t *s)
{
    if (!s) return;
    hw_machine_destroy(s->m);
    free(s->nodes);
    free(s->hash);
    free(s->must);
    free(s->may);
    free(s->recs);
    free(s->snap);
    free(s->wbuf);
    free(s->rbuf);
    free(s);
    if (cur == s) cur = NULL;
}

/* After a failed session (cmocka jumps out of it). */
static int teardown(void **state)
{
    (void)state;
    sess_free(cur);
    return 0;
}

/* Fills RAM with a pattern that differs in every 8 bytes of every frame (and every session). */
static void fill_pattern(sess_t *s, pa_t lo, pa_t hi, uint64_t salt)
{
    uint8_t *p = hw_phys_host(&s->m->phys, lo);
    for (pa_t a = lo; a < hi; a += 8, p += 8) ntmm_le_store(p, ((a >> 3) ^ salt) * 0x9E3779B97F4A7C15ull, 8);
}

static void run_session(const rcfg_t *c, uint64_t seed)
{
    sess_t *s = calloc(1, sizeof *s);
    assert_non_null(s);
    cur = s;
    s->cfg = c;
    s->md = mmode(c->mode);
    s->seed = seed;
    base_rng_seed(&s->rng, seed ^ ((uint64_t)(c - cfgs) << 48));
    s->nodes = calloc(MAX_NODES, sizeof *s->nodes);
    s->hash = malloc(sizeof *s->hash << HASH_BITS);
    s->must = calloc(MAX_NODES, sizeof *s->must);
    s->may = calloc(MAX_NODES, sizeof *s->may);
    s->recs = calloc(MAX_RECS, sizeof *s->recs);
    s->snap = calloc(MAX_PARTS, sizeof *s->snap);
    s->wbuf = calloc(MAX_PARTS, NTMM_PAGE_SIZE);
    s->rbuf = calloc(MAX_PARTS, NTMM_PAGE_SIZE);
    assert_true(s->nodes && s->hash && s->must && s->may && s->recs && s->snap && s->wbuf && s->rbuf);
    memset(s->hash, 0xFF, sizeof *s->hash << HASH_BITS);

    ntmm_mem_range_t map[5] = {
        { 0, LOW_END, NTMM_MEM_USABLE },
        { LOW_END, MID_LO - LOW_END, NTMM_MEM_RESERVED },
        { MID_LO, MID_HI - MID_LO, NTMM_MEM_USABLE },
        { BAD_LO, BAD_HI - BAD_LO, NTMM_MEM_BAD },
        { HIGH_LO, HIGH_HI - HIGH_LO, NTMM_MEM_USABLE },
    };
    ntmm_hw_config_t hc = { .mem_map = map, .mem_map_count = c->high ? 5 : 4, .phys_addr_bits = c->phys_bits,
                            .tlb_entries = c->tlb_entries, .features_absent = c->absent };
    assert_int_equal(hw_machine_create(&hc, &s->m), NTMM_STATUS_SUCCESS);
    s->cpu = &s->m->cpus[0];
    s->M = s->m->phys_bits;
    s->has_nx = !(c->absent & NTMM_HW_NO_NX);
    s->has_1g = !(c->absent & NTMM_HW_NO_1GB_PAGES);
    s->has_smep = !(c->absent & NTMM_HW_NO_SMEP);
    s->has_smap = !(c->absent & NTMM_HW_NO_SMAP);
    s->has_pge = !(c->absent & NTMM_HW_NO_PGE);
    s->m32 = (c->absent & NTMM_HW_NO_PSE36) ? 32u : (s->M > 40 ? 40u : s->M);
    s->pool_next = POOL_LO;

    uint64_t salt = rnd64(s);
    fill_pattern(s, 0, LOW_END, salt);
    fill_pattern(s, MID_LO, POOL_LO, salt);
    fill_pattern(s, DATA_LO, BAD_LO, salt);
    fill_pattern(s, BAD_HI, MID_HI, salt);
    if (c->high) fill_pattern(s, HIGH_LO, HIGH_HI, salt);

    build(s);
    ntmm_fault_t f;
    assert_true(hw_cpu_enter_paging(s->cpu, c->mode, cr3_value(s, s->root), &f));
    /* enter_paging: WP, PSE, PGE if present, NXE if present and not 32-bit paging */
    s->wp = true;
    s->pge = s->has_pge;
    s->nxe = s->has_nx && c->mode != NTMM_PAGING_X86;
    if (s->md->pae) CHECK(model_load_pdptes(s, s->preg), "initial PDPTEs");
    check_regs(s);
    check_nodes(s);
    check_tables(s);
    check_machine(s, true);

    for (s->step = 1; s->step <= SESSION_STEPS; s->step++) {
        unsigned r = (unsigned)rnd(s, 1000);
        if (r < 760) step_access(s, NULL);
        else if (r < 860) step_modify(s, -1, false);
        else if (r < 880) step_stale_probe(s);
        else if (r < 975) step_regs(s);
        else if (r < 990) {
            va_t la = pick_la(s);
            s->what = "INVLPG";
            hw_tlb_invalidate(&s->cpu->tlb, la);
            rec_drop_if(s, rec_covers, la);
            s->n_inval++;
            trace("INVLPG %#llx", U64(la));
        } else step_cr3_bad(s);
        check_nodes(s);
        if (s->step % 128u == 0) check_tables(s);
        check_machine(s, false);
        CHECK(s->m->bugcheck.code == 0, "bugcheck %#x", s->m->bugcheck.code);
    }
    check_tables(s);
    check_machine(s, true);
    printf("  %-36s seed %#-10llx %4u entries %3u tables: %5lu ok, %4lu #PF (%lu RSVD), %3lu #GP, %4lu #MC, "
           "%3lu stale hits\n",
           c->name, U64(seed), s->nnodes, s->ntables, s->n_ok, s->n_pf, s->n_rsvd, s->n_gp, s->n_mc, s->n_stale);
    fflush(stdout);
    sess_free(s);
}

/*
 * PAGING_RANDOM_ONLY="config name" [PAGING_RANDOM_SEED=n]: one session (with PAGING_RANDOM_TRACE).
 * PAGING_RANDOM_SEEDS=n: a soak, n more seeds per configuration (0x100001, 0x100002, ...).
 */
static void run_mode(ntmm_paging_mode_t mode)
{
    const char *only = getenv("PAGING_RANDOM_ONLY"), *seed = getenv("PAGING_RANDOM_SEED");
    const char *soak = getenv("PAGING_RANDOM_SEEDS");
    tracing = getenv("PAGING_RANDOM_TRACE") != NULL;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(cfgs); i++) {
        if (cfgs[i].mode != mode) continue;
        if (only) {
            if (strcmp(only, cfgs[i].name) != 0) continue;
            if (seed) {
                run_session(&cfgs[i], strtoull(seed, NULL, 0));
                continue;
            }
        }
        /* the check of a machine with RAM above 4 GiB walks a million frames: fewer seeds there */
        size_t nseeds = cfgs[i].high ? 2 : NTMM_ARRAY_SIZE(seeds);
        for (size_t k = 0; k < nseeds; k++) run_session(&cfgs[i], seeds[k]);
        unsigned long extra = soak ? strtoul(soak, NULL, 0) : 0;
        for (unsigned long k = 1; k <= extra; k++) run_session(&cfgs[i], 0x100000u + k);
    }
}

static void test_random_x86(void **state)
{
    (void)state;
    run_mode(NTMM_PAGING_X86);
}

static void test_random_pae(void **state)
{
    (void)state;
    run_mode(NTMM_PAGING_PAE);
}

static void test_random_x64(void **state)
{
    (void)state;
    run_mode(NTMM_PAGING_X64);
}

static void test_random_la57(void **state)
{
    (void)state;
    run_mode(NTMM_PAGING_X64_LA57);
}

/*
 * Regression (found by the random model): SDM vol. 3A 4.10.4.1 - "a page-fault exception
 * resulting from an attempt to use a linear address will invalidate any TLB entries that are
 * for a page number corresponding to that linear address". Before access_fault invalidated the
 * page, a #PF left the page's other tags in the set it walked for, and its entries in the other
 * two sets (user; supervisor with AC), so a stale translation kept working after the fault.
 */
static void test_pf_invalidates_tlb_entries(void **state)
{
    (void)state;
    const va_t va = 0x00400000u;
    uint64_t v = 0;
    ntmm_fault_t f;
    hwenv_t e;
    assert_true(hwenv_init(&e, NTMM_PAGING_X64, NULL));
    assert_true(ptb_map(&e.b, va, HWENV_DATA, NTMM_PAGE_SIZE, HW_PTE_RW | HW_PTE_US));
    pa_t pte = ptb_entry_pa(&e.b, va, 1);

    /* 1. Same TLB set: a supervisor read caches the page (clean: reads and fetches only). The PTE
     *    is cleared without INVLPG; a write misses, walks and takes #PF (not present). That #PF
     *    invalidates the page: the next read must walk and fault too. */
    assert_true(hw_load64(e.cpu, va, &v, &f));
    ptb_write(&e.b, pte, ptb_read(&e.b, pte) & ~HW_PTE_P);
    assert_false(hw_store64(e.cpu, va, 1, &f));
    assert_int_equal(f.vector, NTMM_VEC_PF);
    assert_int_equal(f.error_code, NTMM_PF_W);
    bool read_after_pf = hw_load64(e.cpu, va, &v, &f);

    /* 2. Another set: a user read caches the page; the PTE is cleared; a supervisor read (its own
     *    set) walks and takes #PF. The user entry of the page must be gone as well. */
    ptb_write(&e.b, pte, ptb_read(&e.b, pte) | HW_PTE_P);
    hw_tlb_flush(&e.cpu->tlb, true);
    hw_cpu_set_cpl(e.cpu, 3);
    assert_true(hw_load64(e.cpu, va, &v, &f));
    ptb_write(&e.b, pte, ptb_read(&e.b, pte) & ~HW_PTE_P);
    hw_cpu_set_cpl(e.cpu, 0);
    assert_false(hw_load64(e.cpu, va, &v, &f));
    assert_int_equal(f.error_code, 0);
    hw_cpu_set_cpl(e.cpu, 3);
    bool user_after_pf = hw_load64(e.cpu, va, &v, &f);
    assert_true(hw_machine_check(e.m));
    hwenv_destroy(&e);

    if (read_after_pf || user_after_pf)
        fail_msg("after a #PF on the page, a stale TLB entry still translated it: same set %s, user set %s",
                 read_after_pf ? "YES" : "no", user_after_pf ? "YES" : "no");
}

/*
 * KNOWN DISCREPANCY - FAILS until cpu.c is fixed (lead: please fix; hw_cpu_write_cr0, cpu.c:96).
 *
 * SDM vol. 2A, MOV - Move to/from Control Registers, protected-mode exceptions: "#GP(0) If an
 * attempt is made to write invalid bit combinations in CR0 (such as setting the PG flag to 1 when
 * the PE flag is set to 0, or setting the CD flag to 0 when the NW flag is set to 1)"; vol. 3A
 * 2.5 (CR0.NW) and table 11-5 list CD = 0, NW = 1 as an invalid setting.
 *
 * hw_cpu_write_cr0 checks only unknown bits and PG without PE, so CD = 0 with NW = 1 is accepted
 * (and, in PAE mode, reloads the PDPTEs). Suggested fix: also return cpu_gp(fault) when
 * (value & NTMM_BIT(29)) && !(value & NTMM_BIT(30)).
 */
static void test_cr0_nw_without_cd_faults(void **state)
{
    (void)state;
    hwenv_t e;
    ntmm_fault_t f;
    assert_true(hwenv_init(&e, NTMM_PAGING_PAE, NULL));
    uint64_t cr0 = e.cpu->cr0;
    assert_true(hw_cpu_write_cr0(e.cpu, cr0 | NTMM_BIT(30) | NTMM_BIT(29), &f)); /* CD = 1, NW = 1: valid */
    assert_true(hw_cpu_write_cr0(e.cpu, cr0, &f));
    bool accepted = hw_cpu_write_cr0(e.cpu, (cr0 & ~NTMM_BIT(30)) | NTMM_BIT(29), &f);
    uint64_t after = e.cpu->cr0;
    hwenv_destroy(&e);
    if (accepted)
        fail_msg("MOV CR0 with CD = 0, NW = 1 succeeded (CR0 %#llx); the SDM requires #GP(0)", U64(after));
    assert_int_equal(f.vector, NTMM_VEC_GP);
    assert_int_equal(after, cr0);
}

/*
 * KNOWN DISCREPANCY - FAILS until access.c / tlb.c are fixed (lead: please fix). Found by the
 * random model's soak (PAGING_RANDOM_SEEDS=300: x64 "M=46 no NX/PGE", seed 0x1000ef, step 1166).
 *
 * hw_tlb_fill (access.c:72) records the extent of cached large pages as [lo, hi) with
 * hi = lo + page_size. For a large page at the top of the linear address space
 * (0xFFFFFFFFFFE00000 with 2 MiB, 0xFFFFFFFFC0000000 with 1 GiB; LA57 alike) hi wraps to 0:
 *  - hw_tlb_check (tlb.c:68) then rejects the granule (va_page >= large_hi = 0), so
 *    hw_machine_check raises WHEA_UNCORRECTABLE_ERROR on a machine doing nothing wrong;
 *  - hw_tlb_invalidate (tlb.c:47) no longer sees la inside a cached large page and drops only
 *    la's own 4 KiB granule, while SDM vol. 3A 4.10.4.1 (INVLPG) and 4.10.2.3 require every TLB
 *    entry derived from the large page to go ("INVLPG ... invalidate[s] all TLB entries
 *    corresponding to the translation specified by the paging structures"), so another granule
 *    of the page keeps translating to the old frame after INVLPG.
 * (Windows x64 reserves the top 4 MiB of the address space for the HAL, from 0xFFFFFFFFFFC00000.)
 * Suggested fix: keep an inclusive bound (large_last = lo + size - 1, empty when
 * large_lo > large_last) in hw_tlb_fill, hw_tlb_invalidate, hw_tlb_flush and hw_tlb_check; then
 * set MODEL_TOP_LARGE_PAGES to 1 so that the random sessions map large pages up there too.
 */
static void test_large_page_at_top_of_address_space(void **state)
{
    (void)state;
    const va_t top = 0xFFFFFFFFFFE00000ull; /* the last 2 MiB of the linear address space */
    const pa_t old_frame = HWENV_DATA, new_frame = HWENV_DATA + NTMM_MIB(2);
    uint64_t v = 0, a1 = 0x1111, a2 = 0x2222, b2 = 0xBBBB;
    ntmm_fault_t f;
    hwenv_t e;
    assert_true(hwenv_init(&e, NTMM_PAGING_X64, NULL));
    assert_true(ptb_map(&e.b, top, old_frame, NTMM_MIB(2), HW_PTE_RW));
    assert_int_equal(hw_phys_write(&e.m->phys, old_frame + 0x1000, &a1, 8), NTMM_STATUS_SUCCESS);
    assert_int_equal(hw_phys_write(&e.m->phys, old_frame + 0x2000, &a2, 8), NTMM_STATUS_SUCCESS);
    assert_int_equal(hw_phys_write(&e.m->phys, new_frame + 0x2000, &b2, 8), NTMM_STATUS_SUCCESS);

    assert_true(hw_load64(e.cpu, top + 0x1000, &v, &f));
    assert_int_equal(v, a1);
    bool tlb_ok = hw_tlb_check(&e.cpu->tlb);
    assert_true(hw_load64(e.cpu, top + 0x2000, &v, &f)); /* a second granule of the same 2 MiB page */
    assert_int_equal(v, a2);

    /* remap the 2 MiB page, then INVLPG one address in it: the whole page must be forgotten */
    pa_t pde = ptb_entry_pa(&e.b, top, 2);
    ptb_write(&e.b, pde, (ptb_read(&e.b, pde) & ~NTMM_BITS(51, 21)) | new_frame);
    hw_tlb_invalidate(&e.cpu->tlb, top + 0x1000);
    assert_true(hw_load64(e.cpu, top + 0x2000, &v, &f));
    hwenv_destroy(&e);

    if (!tlb_ok || v != b2)
        fail_msg("2 MiB page at %#llx: hw_tlb_check after the fill %s; after INVLPG %#llx, %#llx read %#llx "
                 "(old frame), the SDM requires %#llx (new frame)",
                 U64(top), tlb_ok ? "passed" : "FAILED", U64(top + 0x1000), U64(top + 0x2000), U64(v), U64(b2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_random_x86, teardown),
        cmocka_unit_test_teardown(test_random_pae, teardown),
        cmocka_unit_test_teardown(test_random_x64, teardown),
        cmocka_unit_test_teardown(test_random_la57, teardown),
        cmocka_unit_test(test_pf_invalidates_tlb_entries),
        cmocka_unit_test(test_cr0_nw_without_cd_faults), /* KNOWN DISCREPANCY: fails until cpu.c is fixed */
        cmocka_unit_test(test_large_page_at_top_of_address_space), /* KNOWN DISCREPANCY: fails, see above */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
