/*
 * bench_pfn.c - what the PFN database's free-frame allocators cost (NT's lists, the two-level
 * bitmap, the binary buddy): single-frame allocate+free pairs at steady state, 2 MiB contiguous
 * runs after a churn that fragments memory, and how fragmented the churn leaves memory.
 *
 *   bench_pfn           the full run (4 GiB machine = 1 Mi frames; about 10-15 s)
 *   bench_pfn --quick   a smoke run: 64 MiB machine, tiny counts, one timed pass; checks only
 *                       the results
 *
 * Method. Every random choice comes from xoshiro256** with a fixed seed, so all three
 * allocators see the same victims and the same churn. Each measurement is one untimed warm-up
 * pass and then `reps` timed passes (CLOCK_MONOTONIC); the tables show the fastest pass and,
 * for part 1, the median. Results are checked: every allocation that must succeed does, the
 * frames held afterwards are the ones the database says are in use, the contiguous runs are
 * aligned and ACTIVE, the frame counts add up, and mm_pfn_check passes after each phase
 * (outside the timing). A failed check makes the program exit with status 1; timings never do
 * (the target is printed as information).
 *
 *   1. Pairs. One machine and PFN database (mm_pfndb_init(..., 8)) per allocator, all three
 *      alive at once; the passes run in rounds, each round one pass of every measurement for
 *      every allocator, because this host's memory latency drifts over seconds with other
 *      tenants' load. A pool of N frames (half of the usable RAM) is allocated first; a pair
 *      frees a random held frame (mm_pfn_free) and allocates one (mm_pfn_allocate,
 *      PROCESS_PRIVATE, no PTE) into its slot. The PFN lock is taken once per LOCK_BATCH
 *      pairs ("lock/1000") or around every pair ("lock/1"). Before every pass the zeroing
 *      step (mm_zero_step) turns the dirty free frames into zeroed ones, untimed, so that
 *      MM_ALLOC_ANY, which prefers dirty frames, gets back the frame just freed, and
 *      MM_ALLOC_ZEROED, which takes a frame off the zeroed pool and leaves the freed one
 *      dirty, finds the zeroed pool full: no timed allocation may zero a frame itself
 *      (zeroed_on_demand is checked). "hot" repeats ANY on a pool of its own, HOT_POOL
 *      frames allocated right after the pool (cache-resident entries): the code's own cost.
 *      A "floor" loop does the victim choice and one load of the victim's PFN entry and
 *      nothing else: what the memory costs. Before every pass the pool's entries are read
 *      once (untimed), since other passes ran in between.
 *   2-3. Churn. A fresh machine per allocator and churn. Every usable frame is allocated
 *      (MM_ALLOC_ANY until NO_MEMORY), then frames are freed in a random order: churn
 *      "frames" frees a random 60% of them, churn "blocks" frees every frame of a random 25%
 *      of the 2 MiB blocks and a random 60% of the others. The allocator's largest free run
 *      and free-frame count are printed beside the same figures computed from the PFN
 *      entries; then K requests for 512 frames aligned to 512 (mm_pfn_allocate_contiguous,
 *      not zeroed) are made, the runs that succeeded held until all K are made, then freed
 *      (mm_pfn_free_contiguous). After churn "blocks" the first K <= free-block-count
 *      requests must all succeed.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "base/rng.h"
#include "hw/machine.h"
#include "mm/pfn.h"

#ifndef NTMM_BENCH_BUILD_TYPE
#define NTMM_BENCH_BUILD_TYPE "?"
#endif

#define BENCH_SEED    0x6E746D6D70666E62ull /* "ntmmpfnb" */
#define MAX_REPS      15u
#define LOCK_BATCH    1000u /* pairs per PFN lock hold in the "batch" runs */
#define RUN_FRAMES    512u  /* a 2 MiB run */
#define FREE_PERCENT  60u   /* churn: frames freed */
#define BLOCK_PERCENT 25u   /* churn "blocks": 2 MiB blocks freed whole */
#define HOT_POOL      4096u /* "hot" pairs: a pool of 4096 frames of its own (128 KiB of entries) */

/* The figures, printed beside the measurements (information only). */
#define TARGET_NT_PAIR_NS 50.0 /* NT lists: <= 50 ns per allocate+free pair */

typedef struct allocator_desc {
    ntmm_frame_allocator_t kind;
    const char *name;
    double prototype_ns; /* a prototype on this machine, ns per pair over 1 Mi frames */
} allocator_desc_t;

static const allocator_desc_t bench_allocators[] = {
    { NTMM_FRAMES_NT_LISTS, "nt-lists", 71.0 },
    { NTMM_FRAMES_BITMAP, "bitmap", 31.0 },
    { NTMM_FRAMES_BUDDY, "buddy", 172.0 },
};
#define ALLOCATOR_COUNT NTMM_ARRAY_SIZE(bench_allocators)

typedef enum churn_kind { CHURN_FRAMES = 0, CHURN_BLOCKS = 1, CHURN_COUNT = 2 } churn_kind_t;
static const char *const churn_names[CHURN_COUNT] = { "frames", "blocks" };

typedef struct bench_opts {
    bool quick;
    uint64_t ram_bytes;
    unsigned reps;
    size_t pairs;      /* pairs per pass, MM_ALLOC_ANY and the floor loops */
    size_t zero_pairs; /* pairs per pass, MM_ALLOC_ZEROED (the zeroed pool must hold them) */
    unsigned k_frames; /* contiguous requests after churn "frames" */
    unsigned k_blocks; /* ... after churn "blocks" (at most the free 2 MiB blocks) */
} bench_opts_t;

typedef struct timing {
    double min_ns, med_ns;
} timing_t;

/* The measurements of part 1, in the order they run. */
typedef enum pair_variant {
    V_ANY_BATCH, V_ANY_PAIR, V_ANY_HOT, V_FLOOR_DEP, V_FLOOR_INDEP, V_ZERO_BATCH, V_ZERO_PAIR, V_COUNT
} pair_variant_t;

typedef struct pair_result {
    bool ran;
    uint64_t usable, pool;
    timing_t t[V_COUNT];       /* ns per pair (floors: per victim) */
    double any_same;           /* fraction of ANY pairs that got back the frame just freed */
    double zero_same;
    uint64_t zero_step_frames; /* frames the untimed refills zeroed ... */
    double zero_step_ns;       /* ... and what they took per frame */
} pair_result_t;

typedef struct churn_result {
    bool ran;
    uint64_t allocated;      /* frames "allocate all" got */
    double fill_ns, free_ns; /* per frame: allocating all, the churn's frees */
    uint64_t freed;          /* frames the churn freed */
    uint64_t zeroed, dirty;  /* free frames after the churn, by the allocator's count */
    uint64_t largest_run;    /* the allocator's figure (mm_pfn_stats) */
    uint64_t largest_run_entries; /* the same from the PFN entries */
    uint64_t free_blocks;    /* 512-aligned runs of 512 free frames, from the PFN entries */
    unsigned k, ok;          /* contiguous requests and how many succeeded */
    timing_t alloc;          /* ns per request (failed ones included) */
    timing_t release;        /* ns per run freed */
} churn_result_t;

/* Counts the failed checks; a failed check prints why. */
typedef struct checks {
    unsigned failed, passed;
} checks_t;

/* ---------------------------------------------------------------------------------------- */

static void check(checks_t *c, bool ok, const char *who, const char *what)
{
    if (ok) {
        c->passed++;
        return;
    }
    c->failed++;
    fprintf(stderr, "bench_pfn: CHECK FAILED: %s: %s\n", who, what);
}

/* A check about the machine: on failure also prints the bugcheck, if one was raised. */
static void check_machine(checks_t *c, bool ok, const hw_machine_t *m, const char *who, const char *what)
{
    check(c, ok, who, what);
    if (!ok && m->bugcheck.code)
        fprintf(stderr, "bench_pfn:   bugcheck %s (%#llx, %#llx, %#llx, %#llx) at %s\n",
                ntmm_bugcheck_name(m->bugcheck.code), (unsigned long long)m->bugcheck.param[0],
                (unsigned long long)m->bugcheck.param[1], (unsigned long long)m->bugcheck.param[2],
                (unsigned long long)m->bugcheck.param[3], m->bugcheck.where ? m->bugcheck.where : "?");
}

static timing_t timing_of(double *samples, unsigned count)
{
    qsort(samples, count, sizeof *samples, cmp_double);
    return (timing_t){ samples[0], samples[count / 2] };
}

/* Fisher-Yates with the bench's generator. */
static void shuffle(pfn_t *a, size_t n, base_rng_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)base_rng_below(rng, i);
        pfn_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* A machine and its PFN database. */

typedef struct env {
    hw_machine_t *m;
    mm_pfndb_t db;
} env_t;

static bool env_init(env_t *e, const bench_opts_t *o, ntmm_frame_allocator_t kind, checks_t *c, const char *who)
{
    ntmm_hw_config_t cfg = { .ram_bytes = o->ram_bytes };
    memset(e, 0, sizeof *e);
    if (hw_machine_create(&cfg, &e->m) != NTMM_STATUS_SUCCESS) {
        check(c, false, who, "hw_machine_create");
        return false;
    }
    ntmm_status_t st = mm_pfndb_init(&e->db, e->m, kind, 8);
    if (st != NTMM_STATUS_SUCCESS) {
        char msg[96];
        snprintf(msg, sizeof msg, "mm_pfndb_init: %s", ntmm_status_name(st));
        check(c, false, who, msg);
        hw_machine_destroy(e->m);
        e->m = NULL;
        return false;
    }
    return true;
}

static void env_destroy(env_t *e)
{
    if (!e->m) return;
    mm_pfndb_destroy(&e->db);
    hw_machine_destroy(e->m);
    e->m = NULL;
}

static uint64_t env_free_frames(env_t *e)
{
    ntmm_memory_stats_t s;
    mm_pfn_stats(&e->db, &s);
    return s.zeroed + s.free;
}

/*
 * Allocates up to `want` frames with MM_ALLOC_ANY into out[], the lock taken per LOCK_BATCH;
 * stops at the first failure. Returns how many it got; *st is the status that stopped it
 * (SUCCESS if it got them all).
 */
static size_t alloc_frames(mm_pfndb_t *db, pfn_t *out, size_t want, ntmm_status_t *st)
{
    size_t got = 0;
    *st = NTMM_STATUS_SUCCESS;
    while (got < want && *st == NTMM_STATUS_SUCCESS) {
        size_t end = want - got > LOCK_BATCH ? got + LOCK_BATCH : want;
        mm_pfn_lock(db);
        while (got < end && (*st = mm_pfn_allocate(db, MM_ALLOC_ANY, NTMM_USE_PROCESS_PRIVATE, 0, 0, &out[got])) ==
                                NTMM_STATUS_SUCCESS)
            got++;
        mm_pfn_unlock(db);
    }
    return got;
}

/* Frees frames[0..n) (each ACTIVE, share 1), the lock taken per LOCK_BATCH; false on a failure. */
static bool free_frames(mm_pfndb_t *db, const pfn_t *frames, size_t n)
{
    ntmm_status_t st = NTMM_STATUS_SUCCESS;
    for (size_t done = 0; done < n && st == NTMM_STATUS_SUCCESS;) {
        size_t end = n - done > LOCK_BATCH ? done + LOCK_BATCH : n;
        mm_pfn_lock(db);
        for (; done < end && st == NTMM_STATUS_SUCCESS; done++) st = mm_pfn_free(db, frames[done]);
        mm_pfn_unlock(db);
    }
    return st == NTMM_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------- */
/* 1. Pairs. */

typedef struct pair_ctx {
    mm_pfndb_t *db;
    pfn_t *pool;
    size_t n;          /* pool size */
    base_rng_t rng;    /* advances across passes: every pass frees other victims */
    mm_alloc_kind_t kind;
    size_t batch;      /* pairs per lock hold */
    uint64_t pairs, same;
    ntmm_status_t status; /* the failure that stopped a pass */
    uint64_t zero_frames, zero_ns;
    volatile uint64_t *sink;
} pair_ctx_t;

typedef bool (*pass_fn_t)(void *ctx, size_t n);

/* A slot in [0, n) from a 64-bit draw: the high half times n, shifted (no division). */
static inline size_t pick(uint64_t r, size_t n) { return (size_t)(((r >> 32) * (uint64_t)n) >> 32); }

static NTMM_NOINLINE bool pairs_pass(void *p, size_t pairs)
{
    pair_ctx_t *c = p;
    mm_pfndb_t *db = c->db;
    pfn_t *pool = c->pool;
    const mm_alloc_kind_t kind = c->kind;
    const size_t n = c->n;
    uint64_t same = 0;
    size_t done = 0;
    ntmm_status_t st = NTMM_STATUS_SUCCESS;
    while (done < pairs && st == NTMM_STATUS_SUCCESS) {
        size_t end = pairs - done > c->batch ? done + c->batch : pairs;
        mm_pfn_lock(db);
        for (; done < end; done++) {
            size_t i = pick(base_rng_next(&c->rng), n);
            pfn_t victim = pool[i], got = MM_NO_PFN;
            st = mm_pfn_free(db, victim);
            if (NTMM_LIKELY(st == NTMM_STATUS_SUCCESS))
                st = mm_pfn_allocate(db, kind, NTMM_USE_PROCESS_PRIVATE, 0, 0, &got);
            if (NTMM_UNLIKELY(st != NTMM_STATUS_SUCCESS)) break;
            same += got == victim;
            pool[i] = got;
        }
        mm_pfn_unlock(db);
    }
    c->pairs += done;
    c->same += same;
    if (st != NTMM_STATUS_SUCCESS) c->status = st;
    return st == NTMM_STATUS_SUCCESS;
}

/*
 * The floor: the victim choice and one load of the victim's PFN entry, no allocator. In the
 * dependent loop each draw is XORed with a value computed from the previous entry (0 for
 * every held frame), so the loads cannot overlap: the latency. In the independent loop they
 * can: the throughput. Both sum the share counts: n if every held frame is ACTIVE, share 1.
 */
static NTMM_NOINLINE bool floor_dep_pass(void *p, size_t n)
{
    pair_ctx_t *c = p;
    const mm_pfn_t *pfn = c->db->pfn;
    const pfn_t *pool = c->pool;
    uint64_t sum = 0, carry = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = pick(base_rng_next(&c->rng) ^ carry, c->n);
        const mm_pfn_t *e = &pfn[pool[i]];
        carry = (uint64_t)e->u1 + e->location - (1u + MM_ACTIVE);
        sum += e->u1;
    }
    *c->sink += sum;
    return sum == n;
}

static NTMM_NOINLINE bool floor_indep_pass(void *p, size_t n)
{
    pair_ctx_t *c = p;
    const mm_pfn_t *pfn = c->db->pfn;
    const pfn_t *pool = c->pool;
    uint64_t sum = 0;
    for (size_t k = 0; k < n; k++) sum += pfn[pool[pick(base_rng_next(&c->rng), c->n)]].u1;
    *c->sink += sum;
    return sum == n;
}

/* Before every pass: the zeroing step turns every dirty free frame into a zeroed one. */
static void zero_refill(void *p)
{
    pair_ctx_t *c = p;
    uint64_t t0 = now_ns();
    c->zero_frames += mm_zero_step(c->db, UINT64_MAX);
    c->zero_ns += now_ns() - t0;
}

/* Before every pass: the pool's PFN entries and slots brought into the cache (other passes and
 * the zeroing step ran in between and evicted them). */
static void prime(pair_ctx_t *c)
{
    const mm_pfn_t *pfn = c->db->pfn;
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) sum += pfn[c->pool[i]].u1;
    *c->sink += sum;
}

/* Every pool frame ACTIVE for PROCESS_PRIVATE with share 1, and no other such frame. */
static bool pool_consistent(env_t *e, const pfn_t *pool, size_t n)
{
    ntmm_memory_stats_t s;
    mm_pfn_stats(&e->db, &s);
    if (s.by_use[NTMM_USE_PROCESS_PRIVATE] != n) return false;
    for (size_t i = 0; i < n; i++) {
        if (pool[i] >= e->db.frames) return false;
        const mm_pfn_t *p = mm_pfn_entry(&e->db, pool[i]);
        if (p->location != MM_ACTIVE || p->use != NTMM_USE_PROCESS_PRIVATE || p->u1 != 1 || p->reference_count != 1)
            return false;
    }
    return true;
}

typedef struct variant_desc {
    const char *name;
    pass_fn_t fn;
    mm_alloc_kind_t kind;
    size_t batch;
    bool zeroed;
    bool hot;        /* victims among the hot pool only */
    unsigned scale;  /* passes are scale x the usual number of pairs */
} variant_desc_t;

static const variant_desc_t pair_variants[V_COUNT] = {
    { "ANY pairs, lock per batch", pairs_pass, MM_ALLOC_ANY, LOCK_BATCH, false, false, 1 },
    { "ANY pairs, lock per pair", pairs_pass, MM_ALLOC_ANY, 1, false, false, 1 },
    { "ANY pairs, hot pool", pairs_pass, MM_ALLOC_ANY, LOCK_BATCH, false, true, 4 },
    { "floor, dependent loads", floor_dep_pass, MM_ALLOC_ANY, 0, false, false, 1 },
    { "floor, independent loads", floor_indep_pass, MM_ALLOC_ANY, 0, false, false, 1 },
    { "ZEROED pairs, lock per batch", pairs_pass, MM_ALLOC_ZEROED, LOCK_BATCH, true, false, 1 },
    { "ZEROED pairs, lock per pair", pairs_pass, MM_ALLOC_ZEROED, 1, true, false, 1 },
};

/* One allocator's side of part 1. */
typedef struct pair_env {
    const allocator_desc_t *a;
    pair_result_t *r;
    env_t e;
    pfn_t *pool;
    pair_ctx_t ctx;
    bool up;
    size_t held, hot;           /* frames in the pool, in the hot pool (after the pool in pool[]) */
    uint64_t same[2], pairs[2]; /* [zeroed] */
    char who[64];
} pair_env_t;

static bool pair_env_init(pair_env_t *pe, const allocator_desc_t *a, pair_result_t *r, const bench_opts_t *o,
                          checks_t *c, volatile uint64_t *sink)
{
    memset(pe, 0, sizeof *pe);
    pe->a = a;
    pe->r = r;
    snprintf(pe->who, sizeof pe->who, "%s, pairs", a->name);
    if (!env_init(&pe->e, o, a->kind, c, pe->who)) return false;
    r->usable = env_free_frames(&pe->e);
    size_t n = (size_t)(r->usable / 2u), hot = (size_t)(r->usable / 4u);
    if (hot > HOT_POOL) hot = HOT_POOL;
    r->pool = n;
    pe->pool = malloc((n + hot + 1u) * sizeof *pe->pool);
    if (!pe->pool || n < 2 || hot < 2) {
        check(c, false, pe->who, "host memory / RAM too small for a pool");
        return false;
    }
    /* The pool, then the hot pool: the next frames the allocator hands out, which only the
     * hot pairs use (the ZEROED pairs scatter the pool's frames over RAM). */
    ntmm_status_t st;
    check_machine(c, alloc_frames(&pe->e.db, pe->pool, n + hot, &st) == n + hot, pe->e.m, pe->who,
                  "allocating the pool (must succeed)");
    if (st != NTMM_STATUS_SUCCESS) return false;
    pe->ctx = (pair_ctx_t){ .db = &pe->e.db, .pool = pe->pool, .n = n, .sink = sink };
    pe->held = n;
    pe->hot = hot;
    base_rng_seed(&pe->ctx.rng, BENCH_SEED); /* the same victims for every allocator */
    pe->up = true;
    return true;
}

static void pair_env_finish(pair_env_t *pe, checks_t *c)
{
    pair_result_t *r = pe->r;
    if (pe->up) {
        r->any_same = pe->pairs[0] ? (double)pe->same[0] / (double)pe->pairs[0] : 0;
        r->zero_same = pe->pairs[1] ? (double)pe->same[1] / (double)pe->pairs[1] : 0;
        r->zero_step_frames = pe->ctx.zero_frames;
        r->zero_step_ns = pe->ctx.zero_frames ? (double)pe->ctx.zero_ns / (double)pe->ctx.zero_frames : 0;
        check(c, pool_consistent(&pe->e, pe->pool, pe->held + pe->hot), pe->who,
              "the held frames are not exactly the database's in-use frames");
        check(c, env_free_frames(&pe->e) == r->usable - pe->held - pe->hot, pe->who,
              "free frames + held frames != usable frames");
        check_machine(c, mm_pfn_check(&pe->e.db), pe->e.m, pe->who, "mm_pfn_check after the pairs");
        r->ran = true;
    }
    free(pe->pool);
    env_destroy(&pe->e);
}

/*
 * Part 1 for every allocator at once, in rounds: an untimed warm-up round, then `reps` timed
 * ones; in each round every measurement runs one pass per allocator. This host's memory
 * latency drifts over seconds (other tenants), so spreading every measurement of every
 * allocator over the whole run gives them all the same weather.
 */
static void bench_pairs(const bench_opts_t *o, pair_result_t *res, checks_t *c, volatile uint64_t *sink)
{
    pair_env_t pe[ALLOCATOR_COUNT];
    static double samples[ALLOCATOR_COUNT][V_COUNT][MAX_REPS];
    for (size_t i = 0; i < ALLOCATOR_COUNT; i++)
        if (!pair_env_init(&pe[i], &bench_allocators[i], &res[i], o, c, sink)) pe[i].up = false;
    for (unsigned rep = 0; rep <= o->reps; rep++)
        for (int v = 0; v < V_COUNT; v++) {
            const variant_desc_t *vd = &pair_variants[v];
            size_t n = (vd->zeroed ? o->zero_pairs : o->pairs) * vd->scale;
            for (size_t i = 0; i < ALLOCATOR_COUNT; i++) {
                pair_ctx_t *ctx = &pe[i].ctx;
                if (!pe[i].up) continue;
                ctx->pool = pe[i].pool + (vd->hot ? pe[i].held : 0);
                ctx->n = vd->hot ? pe[i].hot : pe[i].held;
                ctx->kind = vd->kind;
                ctx->batch = vd->batch;
                ctx->pairs = ctx->same = 0;
                /* Every pass starts with no dirty free frame: ANY then takes back the frame it
                 * just freed, ZEROED finds the zeroed pool full. */
                zero_refill(ctx);
                uint64_t on_demand = pe[i].e.db.zeroed_on_demand;
                prime(ctx);
                uint64_t t0 = now_ns();
                bool ok = vd->fn(ctx, n);
                uint64_t t1 = now_ns();
                if (!ok) {
                    char msg[160];
                    if (vd->fn == pairs_pass)
                        snprintf(msg, sizeof msg, "%s: an allocation or free failed (%s)", vd->name,
                                 ntmm_status_name(ctx->status));
                    else
                        snprintf(msg, sizeof msg, "%s: a held frame is not ACTIVE with share 1", vd->name);
                    check_machine(c, false, pe[i].e.m, pe[i].who, msg);
                    pe[i].up = false;
                    continue;
                }
                if (rep > 0) samples[i][v][rep - 1] = (double)(t1 - t0) / (double)n;
                if (vd->fn != pairs_pass) continue;
                pe[i].pairs[vd->zeroed] += ctx->pairs;
                pe[i].same[vd->zeroed] += ctx->same;
                if (vd->zeroed && pe[i].e.db.zeroed_on_demand != on_demand)
                    check(c, false, pe[i].who, "a timed ZEROED allocation zeroed a frame itself (the zeroed pool ran dry)");
            }
        }
    for (size_t i = 0; i < ALLOCATOR_COUNT; i++) {
        if (pe[i].up)
            for (int v = 0; v < V_COUNT; v++) res[i].t[v] = timing_of(samples[i][v], o->reps);
        pair_env_finish(&pe[i], c);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* 2-3. Churn, fragmentation, contiguous runs. */

/* Longest run of free frames and count of free aligned 2 MiB blocks, from the entries. */
static void scan_free(const mm_pfndb_t *db, uint64_t *largest, uint64_t *blocks)
{
    uint64_t best = 0, run = 0, full = 0;
    for (pfn_t f = 0; f < db->frames; f++) {
        uint8_t loc = db->pfn[f].location;
        run = (loc == MM_ZEROED || loc == MM_FREE) ? run + 1u : 0;
        if (run > best) best = run;
        if ((f & (RUN_FRAMES - 1u)) == RUN_FRAMES - 1u && run >= RUN_FRAMES) full++;
    }
    *largest = best;
    *blocks = full;
}

/* Each frame of the run ACTIVE for LARGE_PAGE with reference 1 and share 0. */
static bool run_consistent(const mm_pfndb_t *db, pfn_t first)
{
    if (first % RUN_FRAMES != 0 || first >= db->frames || db->frames - first < RUN_FRAMES) return false;
    for (pfn_t f = first; f < first + RUN_FRAMES; f++) {
        const mm_pfn_t *p = &db->pfn[f];
        if (p->location != MM_ACTIVE || p->use != NTMM_USE_LARGE_PAGE || p->reference_count != 1 || p->u1 != 0)
            return false;
    }
    return true;
}

/* K requests per pass; the runs got are held until all K are made, then freed. */
static void measure_contiguous(env_t *e, const bench_opts_t *o, churn_result_t *r, bool must_succeed, checks_t *c,
                               const char *who)
{
    mm_pfndb_t *db = &e->db;
    double alloc_samples[MAX_REPS], free_samples[MAX_REPS];
    pfn_t *firsts = malloc((r->k ? r->k : 1u) * sizeof *firsts);
    if (!firsts) {
        check(c, false, who, "host memory");
        return;
    }
    bool ok = true;
    for (unsigned rep = 0; rep <= o->reps && ok; rep++) {
        unsigned got = 0;
        uint64_t t0 = now_ns();
        for (unsigned k = 0; k < r->k && ok; k++) {
            pfn_t first;
            mm_pfn_lock(db);
            ntmm_status_t st = mm_pfn_allocate_contiguous(db, RUN_FRAMES, RUN_FRAMES, db->frames - 1u,
                                                          NTMM_USE_LARGE_PAGE, false, &first);
            mm_pfn_unlock(db);
            if (st == NTMM_STATUS_SUCCESS) firsts[got++] = first;
            else ok = st == NTMM_STATUS_NO_MEMORY;
        }
        uint64_t t1 = now_ns();
        check_machine(c, ok, e->m, who, "mm_pfn_allocate_contiguous failed with another status than NO_MEMORY");
        for (unsigned k = 0; k < got && ok; k++) ok = run_consistent(db, firsts[k]);
        if (got) check(c, ok, who, "a contiguous run is misaligned or not ACTIVE/LARGE_PAGE with reference 1");
        if (rep == 0) r->ok = got;
        if (ok && got != r->ok) {
            ok = false;
            check(c, false, who, "the same requests succeeded a different number of times");
        }
        if (ok && must_succeed && got != r->k) {
            ok = false;
            check(c, false, who, "a contiguous request failed although enough free aligned 2 MiB blocks exist");
        }
        uint64_t t2 = now_ns();
        for (unsigned k = 0; k < got; k++) {
            mm_pfn_lock(db);
            ntmm_status_t st = mm_pfn_free_contiguous(db, firsts[k], RUN_FRAMES);
            mm_pfn_unlock(db);
            if (st != NTMM_STATUS_SUCCESS) ok = false;
        }
        uint64_t t3 = now_ns();
        if (got) check_machine(c, ok, e->m, who, "mm_pfn_free_contiguous failed");
        if (rep > 0) {
            alloc_samples[rep - 1] = r->k ? (double)(t1 - t0) / r->k : 0;
            free_samples[rep - 1] = got ? (double)(t3 - t2) / got : 0;
        }
    }
    if (ok) {
        r->alloc = timing_of(alloc_samples, o->reps);
        r->release = timing_of(free_samples, o->reps);
    }
    free(firsts);
}

static void bench_churn(const allocator_desc_t *a, churn_kind_t kind, const bench_opts_t *o, churn_result_t *r,
                        checks_t *c)
{
    char who[64];
    snprintf(who, sizeof who, "%s, churn %s", a->name, churn_names[kind]);
    env_t e;
    if (!env_init(&e, o, a->kind, c, who)) return;
    mm_pfndb_t *db = &e.db;
    uint64_t usable = env_free_frames(&e);
    pfn_t *held = malloc((size_t)db->frames * sizeof *held);
    pfn_t *order = malloc((size_t)db->frames * sizeof *order);
    uint8_t *block_whole = calloc((size_t)(db->frames / RUN_FRAMES + 1u), 1);
    if (!held || !order || !block_whole) {
        check(c, false, who, "host memory");
        goto out;
    }

    /* Allocate all: exactly the usable frames, then NO_MEMORY. */
    ntmm_status_t st;
    uint64_t t0 = now_ns();
    size_t got = alloc_frames(db, held, (size_t)db->frames, &st);
    uint64_t t1 = now_ns();
    r->allocated = got;
    r->fill_ns = got ? (double)(t1 - t0) / (double)got : 0;
    check_machine(c, st == NTMM_STATUS_NO_MEMORY && got == usable, e.m, who,
                  "allocating all: every usable frame must be allocated, then NO_MEMORY");
    if (got != usable) goto out;

    /* The frames in frame order: the same list whatever the allocator handed out first. */
    size_t n = 0;
    for (pfn_t f = 0; f < db->frames && n < got; f++)
        if (db->pfn[f].location == MM_ACTIVE && db->pfn[f].use == NTMM_USE_PROCESS_PRIVATE) order[n++] = f;
    check(c, n == got, who, "the frames allocated are not the in-use PROCESS_PRIVATE frames");
    if (n != got) goto out;

    /* Which frames to free, in a random order. */
    base_rng_t rng;
    base_rng_seed(&rng, BENCH_SEED ^ (0x100u + (unsigned)kind));
    size_t whole_frames = 0;
    if (kind == CHURN_BLOCKS) {
        size_t blocks = (size_t)(db->frames / RUN_FRAMES);
        pfn_t *ids = malloc((blocks ? blocks : 1u) * sizeof *ids);
        if (!ids) {
            check(c, false, who, "host memory");
            goto out;
        }
        for (size_t b = 0; b < blocks; b++) ids[b] = b;
        shuffle(ids, blocks, &rng);
        for (size_t b = 0; b < blocks * BLOCK_PERCENT / 100u; b++) block_whole[ids[b]] = 1;
        free(ids);
        for (size_t i = 0; i < n; i++) whole_frames += block_whole[order[i] / RUN_FRAMES];
    }
    shuffle(order, n, &rng);
    size_t others = (n - whole_frames) * FREE_PERCENT / 100u, freed = 0;
    for (size_t i = 0; i < n; i++) {
        if (block_whole[order[i] / RUN_FRAMES]) held[freed++] = order[i];
        else if (others) held[freed++] = order[i], others--;
    }
    r->freed = freed;
    t0 = now_ns();
    bool ok = free_frames(db, held, freed);
    t1 = now_ns();
    r->free_ns = freed ? (double)(t1 - t0) / (double)freed : 0;
    check_machine(c, ok, e.m, who, "the churn's frees");
    if (!ok) goto out;

    /* 3. Fragmentation. */
    ntmm_memory_stats_t s;
    mm_pfn_stats(db, &s);
    r->zeroed = s.zeroed;
    r->dirty = s.free;
    r->largest_run = s.largest_free_run;
    scan_free(db, &r->largest_run_entries, &r->free_blocks);
    check(c, s.zeroed + s.free == freed, who, "the allocator's free-frame count != frames the churn freed");

    /* 2. Contiguous runs. */
    r->k = kind == CHURN_BLOCKS ? (unsigned)(o->k_blocks < r->free_blocks ? o->k_blocks : r->free_blocks) : o->k_frames;
    measure_contiguous(&e, o, r, kind == CHURN_BLOCKS, c, who);
    check(c, env_free_frames(&e) == freed, who, "free frames after the contiguous runs != before");
    check_machine(c, mm_pfn_check(db), e.m, who, "mm_pfn_check after the churn and contiguous runs");
    r->ran = true;
out:
    free(held);
    free(order);
    free(block_whole);
    env_destroy(&e);
}

/* ---------------------------------------------------------------------------------------- */
/* The report. */

/* Tracks the largest median/min spread, to say how noisy the run was. */
typedef struct spread {
    double worst;
    const char *what, *who;
} spread_t;

static void spread_note(spread_t *s, timing_t t, const char *what, const char *who)
{
    double r = t.min_ns > 0 ? t.med_ns / t.min_ns : 1.0;
    if (r > s->worst) *s = (spread_t){ r, what, who };
}

static void report(const bench_opts_t *o, const pair_result_t *pr, churn_result_t cr[][CHURN_COUNT], double seconds)
{
    char cpu[128], cc[96];
    cpu_model(cpu, sizeof cpu);
    compiler_name(cc, sizeof cc);
    spread_t sp = { 1.0, "", "" };
    const pair_result_t *p0 = &pr[0];

    printf("ntmm bench_pfn%s: the PFN database's free-frame allocators\n",
           o->quick ? " --quick (smoke run: timings meaningless)" : "");
    printf("build %s, %s, %s\n", NTMM_BENCH_BUILD_TYPE, cc, cpu);
    printf("machine: %llu MiB of RAM (PC map), %llu usable frames; PFN entries %zu bytes (database %llu KiB)\n",
           (unsigned long long)(o->ram_bytes >> 20), (unsigned long long)p0->usable, sizeof(mm_pfn_t),
           (unsigned long long)((o->ram_bytes / NTMM_PAGE_SIZE * sizeof(mm_pfn_t)) >> 10));
    printf("ns: fastest of %u timed passes after an untimed warm-up pass; seed 0x%llx\n\n", o->reps,
           (unsigned long long)BENCH_SEED);

    printf("1. Allocate+free pairs at steady state, ns per pair. Pool: %llu frames held (half the usable RAM,\n"
           "   allocated first); a pair frees a random held frame (mm_pfn_free) and allocates one\n"
           "   (mm_pfn_allocate, PROCESS_PRIVATE, no PTE) into its slot. %zu pairs/pass (ZEROED: %zu).\n"
           "   lock/%u = PFN lock taken once per %u pairs; lock/1 = lock+unlock around every pair.\n",
           (unsigned long long)p0->pool, o->pairs, o->zero_pairs, LOCK_BATCH, LOCK_BATCH);
    printf("   Before every pass mm_zero_step zeroes the dirty free frames (untimed), so a pass starts with none.\n"
           "   ANY    = MM_ALLOC_ANY: prefers dirty frames, so it takes back the frame just freed (\"same\").\n"
           "   hot    = ANY/1000 on a pool of its own, the next %u frames allocated (%u KiB of PFN entries,\n"
           "            cache-resident): the allocator's code without the cache and TLB misses.\n"
           "   ZEROED = MM_ALLOC_ZEROED: takes a zeroed frame, the freed one stays dirty; the zeroing step before\n"
           "            each pass refills the zeroed pool; no timed allocation zeroes a frame (checked).\n"
           "   floor  = no allocator: the victim choice + one load of its PFN entry (dep: each load waits for\n"
           "            the previous one, the latency; indep: loads overlap).\n"
           "   Passes run in rounds, one pass of every measurement and allocator per round (this host's memory\n"
           "   latency drifts over seconds with other tenants' load).\n",
           HOT_POOL, HOT_POOL * (unsigned)sizeof(mm_pfn_t) / 1024u);
    printf("   Target: nt-lists ANY lock/%u <= %.0f ns (reference: a prototype measured 71 / 31 / 172 ns per pair\n"
           "   for list / two-level bitmap / buddy over 1 Mi frames on this machine).\n",
           LOCK_BATCH, TARGET_NT_PAIR_NS);
    printf("     %-9s %-7s | %8s %8s %6s %6s | %9s %8s %6s | %6s %6s | %9s | %s\n", "allocator", "", "ANY/1000",
           "ANY/1", "same", "hot", "ZERO/1000", "ZERO/1", "same", "floor", "indep", "prototype", "target");
    for (size_t i = 0; i < ALLOCATOR_COUNT; i++) {
        const pair_result_t *r = &pr[i];
        const allocator_desc_t *a = &bench_allocators[i];
        if (!r->ran) {
            printf("     %-9s | (did not run)\n", a->name);
            continue;
        }
        char target[32] = "-";
        if (a->kind == NTMM_FRAMES_NT_LISTS)
            snprintf(target, sizeof target, "<= %.0f: %s", TARGET_NT_PAIR_NS,
                     r->t[V_ANY_BATCH].min_ns <= TARGET_NT_PAIR_NS ? "met" : "MISSED");
        printf("     %-9s %-7s | %8.1f %8.1f %5.1f%% %6.1f | %9.1f %8.1f %5.1f%% | %6.1f %6.1f | %9.0f | %s\n",
               a->name, "fastest", r->t[V_ANY_BATCH].min_ns, r->t[V_ANY_PAIR].min_ns, 100.0 * r->any_same,
               r->t[V_ANY_HOT].min_ns, r->t[V_ZERO_BATCH].min_ns, r->t[V_ZERO_PAIR].min_ns, 100.0 * r->zero_same, r->t[V_FLOOR_DEP].min_ns,
               r->t[V_FLOOR_INDEP].min_ns, a->prototype_ns, target);
        printf("     %-9s %-7s | %8.1f %8.1f %6s %6.1f | %9.1f %8.1f %6s | %6.1f %6.1f | %9s |\n", "", "median",
               r->t[V_ANY_BATCH].med_ns, r->t[V_ANY_PAIR].med_ns, "", r->t[V_ANY_HOT].med_ns, r->t[V_ZERO_BATCH].med_ns,
               r->t[V_ZERO_PAIR].med_ns, "", r->t[V_FLOOR_DEP].med_ns, r->t[V_FLOOR_INDEP].med_ns, "");
        for (int v = 0; v < V_COUNT; v++) spread_note(&sp, r->t[v], pair_variants[v].name, a->name);
    }
    printf("     untimed zeroing step before the passes:");
    for (size_t i = 0; i < ALLOCATOR_COUNT; i++)
        if (pr[i].ran)
            printf(" %s %.0f ns/frame (%llu frames)", bench_allocators[i].name, pr[i].zero_step_ns,
                   (unsigned long long)pr[i].zero_step_frames);
    printf("\n\n");

    printf("2-3. After a seeded churn: every usable frame allocated, then freed in a random order either\n"
           "   \"frames\": a random %u%% of the frames, or \"blocks\": every frame of a random %u%% of the 2 MiB\n"
           "   blocks and a random %u%% of the other frames. Free frames and the largest free run as the\n"
           "   allocator counts them (mm_pfn_stats) and from the PFN entries; 2 MiB = free 512-aligned runs of\n"
           "   512 frames. Then K requests for 512 frames aligned to 512 (mm_pfn_allocate_contiguous, not\n"
           "   zeroed), held until all K are made, then freed: ns per request (failures included), per run freed.\n",
           FREE_PERCENT, BLOCK_PERCENT, FREE_PERCENT);
    printf("     %-9s %-6s | %8s %8s %8s | %9s %9s | %6s | %5s %5s | %10s %9s | %s\n", "allocator", "churn",
           "free", "zeroed", "dirty", "run", "(entries)", "2 MiB", "K", "ok", "alloc/req", "free/run",
           "all: alloc/free ns/frame");
    for (size_t i = 0; i < ALLOCATOR_COUNT; i++)
        for (int k = 0; k < CHURN_COUNT; k++) {
            const churn_result_t *r = &cr[i][k];
            if (!r->ran) {
                printf("     %-9s %-6s | (did not run)\n", bench_allocators[i].name, churn_names[k]);
                continue;
            }
            char run[24], fr[24];
            snprintf(run, sizeof run, "%llu%s", (unsigned long long)r->largest_run,
                     r->largest_run == r->largest_run_entries ? "" : "!");
            if (r->ok) snprintf(fr, sizeof fr, "%9.0f", r->release.min_ns);
            else snprintf(fr, sizeof fr, "%9s", "-");
            printf("     %-9s %-6s | %8llu %8llu %8llu | %9s %9llu | %6llu | %5u %5u | %10.0f %s | %.1f / %.1f\n",
                   bench_allocators[i].name, churn_names[k], (unsigned long long)(r->zeroed + r->dirty),
                   (unsigned long long)r->zeroed, (unsigned long long)r->dirty, run,
                   (unsigned long long)r->largest_run_entries, (unsigned long long)r->free_blocks, r->k, r->ok,
                   r->alloc.min_ns, fr, r->fill_ns, r->free_ns);
            spread_note(&sp, r->alloc, "contiguous alloc", bench_allocators[i].name);
        }
    bool mismatch = false;
    for (size_t i = 0; i < ALLOCATOR_COUNT; i++)
        for (int k = 0; k < CHURN_COUNT; k++)
            if (cr[i][k].ran && cr[i][k].largest_run != cr[i][k].largest_run_entries) mismatch = true;
    if (mismatch)
        printf("     ! the allocator's largest_free_run differs from the longest run of free frames in the entries\n");
    printf("\n");
    if (sp.worst > 1.0) printf("noise: largest median/fastest spread %.2fx (%s, %s)\n", sp.worst, sp.what, sp.who);
    printf("run time %.1f s\n", seconds);
}

/* ---------------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_pfn [--quick]\n"
               "  --quick  smoke run: 64 MiB machine, tiny counts, one timed pass; checks results, not timings\n");
}

int main(int argc, char **argv)
{
    bench_opts_t o = { false, NTMM_GIB(4), 9, (size_t)1 << 18, (size_t)1 << 15, 32, 256 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            o = (bench_opts_t){ true, NTMM_MIB(64), 1, 4096, 2048, 4, 4 };
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    volatile uint64_t sink = 0;
    checks_t c = { 0, 0 };
    pair_result_t pr[ALLOCATOR_COUNT];
    churn_result_t cr[ALLOCATOR_COUNT][CHURN_COUNT];
    memset(pr, 0, sizeof pr);
    memset(cr, 0, sizeof cr);

    uint64_t t0 = now_ns();
    if (!o.quick) {
        /* Let the core reach its steady clock before the first measurement. */
        uint64_t until = now_ns() + 200000000u, x = BENCH_SEED;
        while (now_ns() < until)
            for (int k = 0; k < 4096; k++) sink += base_splitmix64(&x);
    }
    bench_pairs(&o, pr, &c, &sink);
    for (size_t i = 0; i < ALLOCATOR_COUNT; i++)
        for (int k = 0; k < CHURN_COUNT; k++) bench_churn(&bench_allocators[i], (churn_kind_t)k, &o, &cr[i][k], &c);
    double seconds = (double)(now_ns() - t0) / 1e9;
    report(&o, pr, cr, seconds);
    printf("checks: %u passed, %u failed\n", c.passed, c.failed);
    return c.failed ? 1 : 0;
}
