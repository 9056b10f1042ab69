/*
 * bench_mmu.c - what a guest memory access costs: the TLB hit path, the miss path with a full
 * page-table walk, and the host-side read through the public API, beside a native loop over the
 * same host bytes and (when Unicorn is installed) beside Unicorn.
 *
 *   bench_mmu           the full run (a few seconds), a table per measurement
 *   bench_mmu --quick   a smoke run: tiny counts, one repetition; checks only the results
 *
 * Method. Every loop reads its addresses from the same table of offsets (built once from a
 * fixed seed), so the native loop does the same index computation and the same table load as
 * the guest loop. Each measurement is one untimed warm-up pass and then `reps` timed passes
 * (CLOCK_MONOTONIC); the table shows the fastest pass (the median is kept as well). Loaded
 * values are summed, checked against the sum the memory pattern predicts, and added into a
 * volatile sink; stores are checked by comparing the memory they leave with what the native
 * loop leaves. A wrong value, a fault or a TLB counter that contradicts the method makes the
 * program exit with status 1; timings never do (the targets are printed as information).
 *
 * Guest physical layout of each machine (256 MiB, default PC map, 1024-entry TLB per set):
 *   [1 MiB, 9 MiB)   page tables (ptbuild)
 *   16 MiB           hit block: 64 pages, of which each access uses 4 cache lines (16 KiB)
 *   17 MiB           miss block: 16 pages
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ntmm/ntmm.h>

#include "bench_util.h"
#include "base/rng.h"
#include "hw/access.h"
#include "hw/machine.h"
#include "ptbuild.h"

#ifdef NTMM_BENCH_UNICORN
#include <unicorn/unicorn.h>
#endif

#ifndef NTMM_BENCH_BUILD_TYPE
#define NTMM_BENCH_BUILD_TYPE "?"
#endif

#define BENCH_SEED       0x6E746D6D62656E63ull /* "ntmmbenc" */
#define TAB_COUNT        2048u                 /* offsets per pattern table (power of two) */
#define TAB_MASK         (TAB_COUNT - 1u)
#define HIT_PAGES        64u
#define HIT_LINES        4u                    /* cache lines used in each hit page */
#define MISS_PAGES       16u
#define TABLES_LO        0x100000u
#define TABLES_HI        0x900000u
#define HIT_PA           0x1000000u
#define MISS_PA          0x1100000u
#define MAX_REPS         15u

/* Targets of the issue, printed beside the measurements (information only). */
#define TARGET_HIT_RATIO  3.0  /* hit <= 3x native */
#define TARGET_MISS_NS    30.0 /* miss + walk <= 30 ns */
#define TARGET_UC_RATIO   5.0  /* host-side read >= 5x faster than uc_mem_read */

typedef struct bench_opts {
    bool quick;
    unsigned reps;
    size_t hit_n, miss_n, api_n, uc_hit_n, uc_miss_n;
} bench_opts_t;

/* The access patterns: offsets from a base, as 32-bit table entries. */
typedef struct patterns {
    uint32_t hit[TAB_COUNT];      /* offset in the hit block: guest linear and host alike */
    uint8_t miss_page[TAB_COUNT]; /* which of the 16 miss pages (round robin over a permutation) */
    uint16_t miss_in_page[TAB_COUNT];
} patterns_t;

typedef struct timing {
    double min_ns, med_ns; /* per access */
} timing_t;

typedef struct mode_result {
    ntmm_paging_mode_t mode;
    const char *name;
    unsigned levels;
    bool ran;
    timing_t load_hit, load_hit_native, store_hit, store_hit_native;
    timing_t load_miss, load_miss_native, store_miss, store_miss_native, walk;
    timing_t api_read;
    uint64_t hit_misses;     /* TLB misses during the timed hit passes (the method expects 0) */
    uint64_t miss_accesses;  /* accesses of the timed miss passes ... */
    uint64_t miss_misses;    /* ... and the TLB misses they counted (the method expects equal) */
    uint64_t miss_stride;    /* linear distance between the miss pages */
} mode_result_t;

typedef struct uc_result {
    bool compiled, ran;
    char version[64];
    char note[256];
    timing_t mem_read;            /* uc_mem_read of 8 bytes */
    timing_t loop_base;           /* the guest loop without its data load */
    timing_t loop_hit, loop_miss; /* the guest loop with `mov rax,[rbx+r8]`: softmmu TLB hit / miss */
    bool paging;                  /* the guest's page tables are really used */
} uc_result_t;

/* Counts the failed checks; a failed check prints why. */
typedef struct checks {
    unsigned failed;
    unsigned passed;
} checks_t;

/* ---------------------------------------------------------------------------------------- */

/* The value the pattern puts at guest physical address pa (every aligned 8-byte slot). */
static inline uint64_t pattern_value(uint64_t pa)
{
    return (pa ^ BENCH_SEED) * 0x9E3779B97F4A7C15ull;
}

static void check(checks_t *c, bool ok, const char *what, const char *mode)
{
    if (ok) {
        c->passed++;
        return;
    }
    c->failed++;
    fprintf(stderr, "bench_mmu: CHECK FAILED: %s%s%s\n", what, mode ? " in mode " : "", mode ? mode : "");
}

static void patterns_build(patterns_t *p)
{
    base_rng_t rng;
    base_rng_seed(&rng, BENCH_SEED);
    /* Hit: a random page, one of its 4 lines (lines chosen so that the 256 lines used spread
     * evenly over the L1 sets: line = page + 16k), a random word in the line. */
    for (unsigned i = 0; i < TAB_COUNT; i++) {
        uint64_t r = base_rng_next(&rng);
        unsigned page = (unsigned)(r % HIT_PAGES);
        unsigned k = (unsigned)((r >> 8) % HIT_LINES);
        unsigned line = (page + 16u * k) & 63u;
        unsigned word = (unsigned)((r >> 16) & 7u);
        p->hit[i] = page * NTMM_PAGE_SIZE + line * 64u + word * 8u;
    }
    /* Miss: round robin over a fixed permutation of the 16 pages, so that consecutive accesses
     * never share a page and each page comes back only after the 15 others. */
    uint8_t perm[MISS_PAGES];
    for (unsigned i = 0; i < MISS_PAGES; i++) perm[i] = (uint8_t)i;
    for (unsigned i = MISS_PAGES - 1; i > 0; i--) {
        unsigned j = (unsigned)(base_rng_next(&rng) % (i + 1u));
        uint8_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (unsigned i = 0; i < TAB_COUNT; i++) {
        p->miss_page[i] = perm[i % MISS_PAGES];
        p->miss_in_page[i] = (uint16_t)((base_rng_next(&rng) & 511u) * 8u);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The loops. Each is out of line so that no pass is merged with another. */

static NTMM_NOINLINE uint64_t loop_hw_load(hw_cpu_t *cpu, va_t va, const uint32_t *tab, size_t n, uint64_t *bad)
{
    uint64_t sum = 0, faults = 0;
    ntmm_fault_t f;
    for (size_t i = 0; i < n; i++) {
        uint64_t v; /* written by hw_load64 when it succeeds (no per-access initialising store) */
        if (NTMM_LIKELY(hw_load64(cpu, va + tab[i & TAB_MASK], &v, &f))) sum += v;
        else faults++;
    }
    *bad += faults;
    return sum;
}

static NTMM_NOINLINE uint64_t loop_native_load(const uint8_t *host, const uint32_t *tab, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += ntmm_le_load(host + tab[i & TAB_MASK], 8);
    return sum;
}

static NTMM_NOINLINE uint64_t loop_hw_store(hw_cpu_t *cpu, va_t va, const uint32_t *tab, size_t n, uint64_t *bad)
{
    uint64_t faults = 0;
    ntmm_fault_t f;
    for (size_t i = 0; i < n; i++)
        if (NTMM_UNLIKELY(!hw_store64(cpu, va + tab[i & TAB_MASK], i, &f))) faults++;
    *bad += faults;
    return 0;
}

static NTMM_NOINLINE uint64_t loop_native_store(uint8_t *host, const uint32_t *tab, size_t n)
{
    for (size_t i = 0; i < n; i++) ntmm_le_store(host + tab[i & TAB_MASK], i, 8);
    return 0;
}

/* The page-table walk alone (no TLB): the part of a miss spent in hw_walk. */
static NTMM_NOINLINE uint64_t loop_walk(const hw_paging_ctx_t *ctx, va_t va, const uint32_t *tab, size_t n,
                                        uint64_t *bad)
{
    uint64_t sum = 0, faults = 0;
    hw_walk_t w;
    ntmm_fault_t f;
    for (size_t i = 0; i < n; i++) {
        if (NTMM_LIKELY(hw_walk(ctx, va + tab[i & TAB_MASK], NTMM_ACCESS_READ, &w, &f))) sum += w.pa;
        else faults++;
    }
    *bad += faults;
    return sum;
}

static NTMM_NOINLINE uint64_t loop_api_read(ntmm_machine_t *m, va_t va, const uint32_t *tab, size_t n,
                                            uint64_t *bad)
{
    uint64_t sum = 0, faults = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b[8];
        if (NTMM_LIKELY(ntmm_cpu_access(m, 0, va + tab[i & TAB_MASK], b, 8, NTMM_ACCESS_READ, NULL, NULL) ==
                        NTMM_STATUS_SUCCESS))
            sum += ntmm_le_load(b, 8);
        else
            faults++;
    }
    *bad += faults;
    return sum;
}

#ifdef NTMM_BENCH_UNICORN
static NTMM_NOINLINE uint64_t loop_uc_read(uc_engine *uc, uint64_t addr, const uint32_t *tab, size_t n, uint64_t *bad)
{
    uint64_t sum = 0, faults = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b[8];
        if (NTMM_LIKELY(uc_mem_read(uc, addr + tab[i & TAB_MASK], b, 8) == UC_ERR_OK)) sum += ntmm_le_load(b, 8);
        else faults++;
    }
    *bad += faults;
    return sum;
}
#endif

typedef enum job_kind {
    JOB_HW_LOAD, JOB_HW_STORE, JOB_NATIVE_LOAD, JOB_NATIVE_STORE, JOB_WALK, JOB_API_READ, JOB_UC_READ
} job_kind_t;

typedef struct job {
    job_kind_t kind;
    size_t n;
    const uint32_t *tab;
    hw_cpu_t *cpu;       /* JOB_HW_*, JOB_WALK */
    va_t va;             /* guest linear base (JOB_UC_READ: Unicorn address) */
    uint8_t *host;       /* JOB_NATIVE_*: host address of the same bytes */
    ntmm_machine_t *pub; /* JOB_API_READ */
    void *uc;            /* JOB_UC_READ: uc_engine */
} job_t;

static uint64_t job_run(const job_t *j, uint64_t *bad)
{
    switch (j->kind) {
    case JOB_HW_LOAD: return loop_hw_load(j->cpu, j->va, j->tab, j->n, bad);
    case JOB_HW_STORE: return loop_hw_store(j->cpu, j->va, j->tab, j->n, bad);
    case JOB_NATIVE_LOAD: return loop_native_load(j->host, j->tab, j->n);
    case JOB_NATIVE_STORE: return loop_native_store(j->host, j->tab, j->n);
    case JOB_WALK: return loop_walk(&j->cpu->paging, j->va, j->tab, j->n, bad);
    case JOB_API_READ: return loop_api_read(j->pub, j->va, j->tab, j->n, bad);
    case JOB_UC_READ:
#ifdef NTMM_BENCH_UNICORN
        return loop_uc_read((uc_engine *)j->uc, j->va, j->tab, j->n, bad);
#else
        break;
#endif
    }
    (*bad)++;
    return 0;
}

static timing_t timing_of(double *samples, unsigned count)
{
    qsort(samples, count, sizeof *samples, cmp_double);
    return (timing_t){ samples[0], samples[count / 2] };
}

/*
 * One warm-up pass, then `reps` timed passes. *sum gets the warm-up pass's result; a timed
 * pass that returns another counts as a fault in *bad.
 */
static timing_t measure(const job_t *j, unsigned reps, uint64_t *sum, uint64_t *bad, volatile uint64_t *sink)
{
    double samples[MAX_REPS];
    *sum = job_run(j, bad);
    *sink += *sum;
    for (unsigned r = 0; r < reps; r++) {
        uint64_t t0 = now_ns();
        uint64_t s = job_run(j, bad);
        uint64_t t1 = now_ns();
        *sink += s;
        if (s != *sum) (*bad)++;
        samples[r] = (double)(t1 - t0) / (double)j->n;
    }
    return timing_of(samples, reps);
}

/* Σ pattern_value(base_pa + tab[i & mask]) for i < n: what a load loop must return. */
static uint64_t expected_sum(uint64_t base_pa, const uint32_t *tab, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += pattern_value(base_pa + tab[i & TAB_MASK]);
    return sum;
}

/* Σ (base_pa + tab[i & mask]) for i < n: what a loop of translations must return. */
static uint64_t expected_pa_sum(uint64_t base_pa, const uint32_t *tab, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += base_pa + tab[i & TAB_MASK];
    return sum;
}

static void fill_pattern(uint8_t *host, uint64_t pa, uint64_t bytes)
{
    for (uint64_t o = 0; o < bytes; o += 8) ntmm_le_store(host + o, pattern_value(pa + o), 8);
}

/* ---------------------------------------------------------------------------------------- */

typedef struct mode_layout {
    ntmm_paging_mode_t mode;
    va_t hit_va;  /* the 64 hit pages are contiguous from here */
    va_t miss_va; /* miss page j is at miss_va + j * (TLB entries * 4 KiB) */
} mode_layout_t;

static const mode_layout_t bench_layouts[] = {
    { NTMM_PAGING_X86, 0x10000000u, 0x40000000u },
    { NTMM_PAGING_PAE, 0x10000000u, 0x40000000u },
    { NTMM_PAGING_X64, 0x00007FF700000000ull, 0x0000600000000000ull },
    { NTMM_PAGING_X64_LA57, 0x00AB000000000000ull, 0x00CD000000000000ull },
};

/* Builds the address space of one mode in m and enters it on CPU 0. */
static bool mode_setup(hw_machine_t *m, const mode_layout_t *lay, ptb_t *b, uint64_t miss_stride)
{
    ntmm_fault_t f;
    if (!ptb_init(b, m, lay->mode, TABLES_LO, TABLES_HI)) return false;
    for (unsigned p = 0; p < HIT_PAGES; p++)
        if (!ptb_map(b, lay->hit_va + (uint64_t)p * NTMM_PAGE_SIZE, HIT_PA + (uint64_t)p * NTMM_PAGE_SIZE,
                     NTMM_PAGE_SIZE, HW_PTE_RW))
            return false;
    for (unsigned p = 0; p < MISS_PAGES; p++)
        if (!ptb_map(b, lay->miss_va + p * miss_stride, MISS_PA + (uint64_t)p * NTMM_PAGE_SIZE, NTMM_PAGE_SIZE,
                     HW_PTE_RW))
            return false;
    fill_pattern(hw_phys_host(&m->phys, HIT_PA), HIT_PA, (uint64_t)HIT_PAGES * NTMM_PAGE_SIZE);
    fill_pattern(hw_phys_host(&m->phys, MISS_PA), MISS_PA, (uint64_t)MISS_PAGES * NTMM_PAGE_SIZE);
    return hw_cpu_enter_paging(&m->cpus[0], lay->mode, b->root, &f);
}

/* The same address space in a machine created through the public API: copies the tables and
 * the data, then enters the mode. */
static ntmm_machine_t *mode_setup_public(hw_machine_t *m, const ptb_t *b, ntmm_paging_mode_t mode)
{
    ntmm_machine_t *pub = NULL;
    ntmm_fault_t f;
    if (ntmm_machine_create(NULL, &pub) != NTMM_STATUS_SUCCESS) return NULL;
    bool ok = ntmm_phys_write(pub, TABLES_LO, hw_phys_host(&m->phys, TABLES_LO), (size_t)(b->next - TABLES_LO)) ==
                  NTMM_STATUS_SUCCESS &&
              ntmm_phys_write(pub, HIT_PA, hw_phys_host(&m->phys, HIT_PA), (size_t)HIT_PAGES * NTMM_PAGE_SIZE) ==
                  NTMM_STATUS_SUCCESS &&
              ntmm_cpu_enter_paging(pub, 0, mode, b->root, &f) == NTMM_STATUS_SUCCESS;
    if (!ok) {
        ntmm_machine_destroy(pub);
        return NULL;
    }
    return pub;
}

static void bench_mode(const mode_layout_t *lay, const bench_opts_t *o, const patterns_t *pat, mode_result_t *r,
                       checks_t *c, volatile uint64_t *sink)
{
    const hw_paging_mode_t *pm = hw_paging_mode(lay->mode);
    r->mode = lay->mode;
    r->name = pm->name;
    r->levels = pm->levels;

    hw_machine_t *m = NULL;
    if (hw_machine_create(NULL, &m) != NTMM_STATUS_SUCCESS) {
        check(c, false, "hw_machine_create", r->name);
        return;
    }
    hw_cpu_t *cpu = &m->cpus[0];
    uint64_t miss_stride = cpu->tlb.entries * NTMM_PAGE_SIZE;
    r->miss_stride = miss_stride;
    ptb_t b;
    if (!mode_setup(m, lay, &b, miss_stride)) {
        check(c, false, "building the page tables / entering the mode", r->name);
        hw_machine_destroy(m);
        return;
    }
    r->ran = true;

    /* Tables of the miss pattern for this mode: linear offsets and physical offsets. */
    uint32_t *miss_la = malloc(TAB_COUNT * sizeof *miss_la);
    uint32_t *miss_pa = malloc(TAB_COUNT * sizeof *miss_pa);
    uint8_t *snapshot = malloc((size_t)HIT_PAGES * NTMM_PAGE_SIZE);
    if (!miss_la || !miss_pa || !snapshot) {
        check(c, false, "host memory", r->name);
        goto out;
    }
    for (unsigned i = 0; i < TAB_COUNT; i++) {
        miss_la[i] = (uint32_t)(pat->miss_page[i] * miss_stride + pat->miss_in_page[i]);
        miss_pa[i] = (uint32_t)(pat->miss_page[i] * NTMM_PAGE_SIZE + pat->miss_in_page[i]);
    }

    uint8_t *hit_host = hw_phys_host(&m->phys, HIT_PA);
    uint8_t *miss_host = hw_phys_host(&m->phys, MISS_PA);
    uint64_t bad = 0, sum = 0, before;
    const size_t hit_bytes = (size_t)HIT_PAGES * NTMM_PAGE_SIZE, miss_bytes = (size_t)MISS_PAGES * NTMM_PAGE_SIZE;

    /* 1. Loads that hit. */
    uint64_t want = expected_sum(HIT_PA, pat->hit, o->hit_n);
    job_t j = { .kind = JOB_HW_LOAD, .n = o->hit_n, .tab = pat->hit, .cpu = cpu, .va = lay->hit_va };
    loop_hw_load(cpu, lay->hit_va, pat->hit, TAB_COUNT, &bad); /* fills the TLB */
    before = hw_cpu_stats(cpu).tlb_misses;
    r->load_hit = measure(&j, o->reps, &sum, &bad, sink);
    r->hit_misses = hw_cpu_stats(cpu).tlb_misses - before;
    check(c, sum == want && bad == 0, "hw_load64 (TLB hit) returned wrong values or faulted", r->name);
    check(c, r->hit_misses == 0, "the hit loop's 64 pages must stay in the TLB", r->name);
    job_t jn = { .kind = JOB_NATIVE_LOAD, .n = o->hit_n, .tab = pat->hit, .host = hit_host };
    r->load_hit_native = measure(&jn, o->reps, &sum, &bad, sink);
    check(c, sum == want, "native hit loop sum", r->name);

    /* 3. Loads that miss and walk. */
    want = expected_sum(MISS_PA, miss_pa, o->miss_n);
    j = (job_t){ .kind = JOB_HW_LOAD, .n = o->miss_n, .tab = miss_la, .cpu = cpu, .va = lay->miss_va };
    before = hw_cpu_stats(cpu).tlb_misses;
    bad = 0;
    r->load_miss = measure(&j, o->reps, &sum, &bad, sink);
    r->miss_accesses = (uint64_t)o->miss_n * (o->reps + 1u);
    r->miss_misses = hw_cpu_stats(cpu).tlb_misses - before;
    check(c, sum == want && bad == 0, "hw_load64 (TLB miss) returned wrong values or faulted", r->name);
    check(c, r->miss_misses == r->miss_accesses, "every access of the miss loop must miss the TLB", r->name);
    jn = (job_t){ .kind = JOB_NATIVE_LOAD, .n = o->miss_n, .tab = miss_pa, .host = miss_host };
    r->load_miss_native = measure(&jn, o->reps, &sum, &bad, sink);
    check(c, sum == want, "native miss loop sum", r->name);
    job_t jw = { .kind = JOB_WALK, .n = o->miss_n, .tab = miss_la, .cpu = cpu, .va = lay->miss_va };
    r->walk = measure(&jw, o->reps, &sum, &bad, sink);
    check(c, sum == expected_pa_sum(MISS_PA, miss_pa, o->miss_n) && bad == 0, "hw_walk translations", r->name);

    /* 5. The host-side read through the public API (a TLB hit after the warm-up pass). */
    {
        ntmm_machine_t *pub = mode_setup_public(m, &b, lay->mode);
        if (!pub) {
            check(c, false, "public machine setup", r->name);
        } else {
            want = expected_sum(HIT_PA, pat->hit, o->api_n);
            job_t ja = { .kind = JOB_API_READ, .n = o->api_n, .tab = pat->hit, .va = lay->hit_va, .pub = pub };
            bad = 0;
            r->api_read = measure(&ja, o->reps, &sum, &bad, sink);
            check(c, sum == want && bad == 0, "ntmm_cpu_access returned wrong values or failed", r->name);
            ntmm_machine_destroy(pub);
        }
    }

    /* 2. Stores that hit; then the memory they leave must equal what the native stores leave. */
    bad = 0;
    j = (job_t){ .kind = JOB_HW_STORE, .n = o->hit_n, .tab = pat->hit, .cpu = cpu, .va = lay->hit_va };
    r->store_hit = measure(&j, o->reps, &sum, &bad, sink);
    check(c, bad == 0, "hw_store64 (TLB hit) faulted", r->name);
    memcpy(snapshot, hit_host, hit_bytes);
    fill_pattern(hit_host, HIT_PA, hit_bytes);
    jn = (job_t){ .kind = JOB_NATIVE_STORE, .n = o->hit_n, .tab = pat->hit, .host = hit_host };
    r->store_hit_native = measure(&jn, o->reps, &sum, &bad, sink);
    check(c, memcmp(snapshot, hit_host, hit_bytes) == 0, "hw_store64 (TLB hit) wrote other bytes than native stores",
          r->name);

    /* Stores that miss. */
    j = (job_t){ .kind = JOB_HW_STORE, .n = o->miss_n, .tab = miss_la, .cpu = cpu, .va = lay->miss_va };
    before = hw_cpu_stats(cpu).tlb_misses;
    r->store_miss = measure(&j, o->reps, &sum, &bad, sink);
    check(c, bad == 0, "hw_store64 (TLB miss) faulted", r->name);
    check(c, hw_cpu_stats(cpu).tlb_misses - before == (uint64_t)o->miss_n * (o->reps + 1u),
          "every store of the miss loop must miss the TLB", r->name);
    memcpy(snapshot, miss_host, miss_bytes);
    fill_pattern(miss_host, MISS_PA, miss_bytes);
    jn = (job_t){ .kind = JOB_NATIVE_STORE, .n = o->miss_n, .tab = miss_pa, .host = miss_host };
    r->store_miss_native = measure(&jn, o->reps, &sum, &bad, sink);
    check(c, memcmp(snapshot, miss_host, miss_bytes) == 0,
          "hw_store64 (TLB miss) wrote other bytes than native stores", r->name);

    check(c, hw_machine_check(m), "hw_machine_check after the run", r->name);
out:
    free(miss_la);
    free(miss_pa);
    free(snapshot);
    hw_machine_destroy(m);
}

/* ---------------------------------------------------------------------------------------- */
/* Unicorn: uc_mem_read, and a guest load loop in a paged long-mode guest. */

#ifdef NTMM_BENCH_UNICORN

/* Unicorn's physical memory: one 16 MiB block, plus the 16 miss pages 16 GiB apart. Every
 * page is mapped linear = physical by the guest's 4-level tables, except the probe page. */
#define UCB_CODE       0x1000u  /* the two loops below */
#define UCB_ZERO       0x2000u  /* a zero qword: the probe's offset table */
#define UCB_HIT_TAB    0x3000u  /* TAB_COUNT 64-bit offsets (16 KiB) */
#define UCB_MISS_TAB   0x7000u  /* TAB_COUNT 64-bit offsets (16 KiB) */
#define UCB_PT         0x10000u /* page tables, bump-allocated */
#define UCB_PT_END     0x80000u
#define UCB_HIT        0x800000u
#define UCB_PROBE_VA   0x900000u /* mapped by the tables to UCB_PROBE_PA */
#define UCB_PROBE_PA   0xA00000u
#define UCB_LOW_SIZE   0x1000000u
#define UCB_MISS_BASE  NTMM_GIB(64)
#define UCB_MISS_STRIDE NTMM_GIB(16) /* 2^22 pages: the same index in any softmmu TLB size */

/*
 *   loop: mov r10, rcx ; and r10, rdi ; mov r8, [r9 + r10*8]   offset = table[rcx & mask]
 *         mov rax, [rbx + r8]                                  the measured guest load
 *         add rdx, rax ; dec rcx ; jnz loop ; hlt
 * The second variant replaces the data load by `mov rax, r8; nop` (the loop's own cost).
 */
static const uint8_t ucb_loop_load[] = { 0x49, 0x89, 0xca, 0x49, 0x21, 0xfa, 0x4f, 0x8b, 0x04, 0xd1, 0x4a, 0x8b,
                                         0x04, 0x03, 0x48, 0x01, 0xc2, 0x48, 0xff, 0xc9, 0x75, 0xea, 0xf4 };
static const uint8_t ucb_loop_noload[] = { 0x49, 0x89, 0xca, 0x49, 0x21, 0xfa, 0x4f, 0x8b, 0x04, 0xd1, 0x4c, 0x89,
                                           0xc0, 0x90, 0x48, 0x01, 0xc2, 0x48, 0xff, 0xc9, 0x75, 0xea, 0xf4 };
#define UCB_CODE_LOAD   UCB_CODE
#define UCB_CODE_NOLOAD (UCB_CODE + 0x40u)

typedef struct ucb {
    uc_engine *uc;
    uint64_t pt_next, root;
} ucb_t;

static bool ucb_read64(ucb_t *u, uint64_t pa, uint64_t *v)
{
    uint8_t b[8];
    if (uc_mem_read(u->uc, pa, b, 8) != UC_ERR_OK) return false;
    *v = ntmm_le_load(b, 8);
    return true;
}

static bool ucb_write64(ucb_t *u, uint64_t pa, uint64_t v)
{
    uint8_t b[8];
    ntmm_le_store(b, v, 8);
    return uc_mem_write(u->uc, pa, b, 8) == UC_ERR_OK;
}

static uint64_t ucb_alloc_table(ucb_t *u)
{
    static const uint8_t zero[NTMM_PAGE_SIZE];
    if (u->pt_next >= UCB_PT_END) return 0;
    uint64_t t = u->pt_next;
    u->pt_next += NTMM_PAGE_SIZE;
    return uc_mem_write(u->uc, t, zero, sizeof zero) == UC_ERR_OK ? t : 0;
}

/* Maps the 4 KiB page at linear va to physical pa (4-level paging, supervisor, writable). */
static bool ucb_map(ucb_t *u, uint64_t va, uint64_t pa)
{
    uint64_t table = u->root;
    for (unsigned l = 4; l > 1; l--) {
        uint64_t epa = table + ((va >> (12u + 9u * (l - 1u))) & 511u) * 8u;
        uint64_t e;
        if (!ucb_read64(u, epa, &e)) return false;
        if (!(e & HW_PTE_P)) {
            uint64_t t = ucb_alloc_table(u);
            if (!t) return false;
            e = t | HW_PTE_P | HW_PTE_RW | HW_PTE_US;
            if (!ucb_write64(u, epa, e)) return false;
        }
        table = e & NTMM_BITS(51, 12);
    }
    return ucb_write64(u, table + ((va >> 12) & 511u) * 8u, pa | HW_PTE_P | HW_PTE_RW);
}

static bool ucb_fill(ucb_t *u, uint64_t pa, uint64_t bytes)
{
    uint8_t *buf = malloc((size_t)bytes);
    if (!buf) return false;
    fill_pattern(buf, pa, bytes);
    bool ok = uc_mem_write(u->uc, pa, buf, (size_t)bytes) == UC_ERR_OK;
    free(buf);
    return ok;
}

static bool ucb_write_table(ucb_t *u, uint64_t pa, const uint64_t *tab)
{
    uint8_t buf[TAB_COUNT * 8u];
    for (unsigned i = 0; i < TAB_COUNT; i++) ntmm_le_store(buf + 8u * i, tab[i], 8);
    return uc_mem_write(u->uc, pa, buf, sizeof buf) == UC_ERR_OK;
}

/* Runs one loop: rbx = base, r9 = table, rdi = mask, rcx = n. Returns rdx, or false. */
static bool ucb_run(ucb_t *u, uint64_t code, uint64_t base, uint64_t tab, uint64_t mask, uint64_t n,
                    uint64_t *rdx, uint64_t *elapsed_ns, uc_err *err)
{
    uint64_t zero = 0, rcx = 1;
    if (uc_reg_write(u->uc, UC_X86_REG_RBX, &base) || uc_reg_write(u->uc, UC_X86_REG_R9, &tab) ||
        uc_reg_write(u->uc, UC_X86_REG_RDI, &mask) || uc_reg_write(u->uc, UC_X86_REG_RCX, &n) ||
        uc_reg_write(u->uc, UC_X86_REG_RDX, &zero) || uc_reg_write(u->uc, UC_X86_REG_R8, &zero)) {
        *err = UC_ERR_ARG;
        return false;
    }
    uint64_t t0 = now_ns();
    *err = uc_emu_start(u->uc, code, code + sizeof ucb_loop_load - 1u, 0, 0);
    uint64_t t1 = now_ns();
    *elapsed_ns = t1 - t0;
    if (*err != UC_ERR_OK) return false;
    if (uc_reg_read(u->uc, UC_X86_REG_RDX, rdx) || uc_reg_read(u->uc, UC_X86_REG_RCX, &rcx) || rcx != 0) {
        *err = UC_ERR_ARG;
        return false;
    }
    return true;
}

/* Times a guest loop: a warm-up pass (translates the code) and `reps` passes, each checked. */
static bool ucb_time(ucb_t *u, uint64_t code, uint64_t base, uint64_t tab, uint64_t n, uint64_t want,
                     unsigned reps, timing_t *t, checks_t *c, const char *what, volatile uint64_t *sink)
{
    double samples[MAX_REPS];
    uint64_t rdx = 0, ns = 0;
    uc_err err = UC_ERR_OK;
    bool ok = true;
    for (unsigned r = 0; r <= reps && ok; r++) {
        ok = ucb_run(u, code, base, tab, TAB_MASK, n, &rdx, &ns, &err) && rdx == want;
        *sink += rdx;
        if (r > 0) samples[r - 1] = (double)ns / (double)n;
    }
    if (!ok) {
        char msg[160];
        snprintf(msg, sizeof msg, "Unicorn guest loop (%s): %s", what,
                 err != UC_ERR_OK ? uc_strerror(err) : "wrong sum");
        check(c, false, msg, NULL);
        return false;
    }
    check(c, true, what, NULL);
    *t = timing_of(samples, reps);
    return true;
}

static void bench_unicorn(const bench_opts_t *o, const patterns_t *pat, uc_result_t *r, checks_t *c,
                          volatile uint64_t *sink)
{
    unsigned major = 0, minor = 0;
    uc_version(&major, &minor);
    r->compiled = true;
    snprintf(r->version, sizeof r->version, "%u.%u (headers %d.%d.%d)", major, minor, UC_API_MAJOR, UC_API_MINOR,
             UC_API_PATCH);
    uc_engine *uc = NULL;
    uc_err err = uc_open(UC_ARCH_X86, UC_MODE_64, &uc);
    if (err != UC_ERR_OK) {
        snprintf(r->note, sizeof r->note, "uc_open failed: %s; Unicorn rows skipped", uc_strerror(err));
        return;
    }
    ucb_t u = { uc, UCB_PT, 0 };
    uint64_t *hit_tab = malloc(TAB_COUNT * sizeof *hit_tab), *miss_tab = malloc(TAB_COUNT * sizeof *miss_tab);
    const char *fail = NULL;
    if (!hit_tab || !miss_tab) {
        fail = "host memory";
        goto out;
    }
    for (unsigned i = 0; i < TAB_COUNT; i++) {
        hit_tab[i] = pat->hit[i];
        miss_tab[i] = pat->miss_page[i] * UCB_MISS_STRIDE + pat->miss_in_page[i];
    }

    /* Memory, tables, code, data. */
    if (uc_mem_map(uc, 0, UCB_LOW_SIZE, UC_PROT_ALL) != UC_ERR_OK) fail = "uc_mem_map";
    for (unsigned p = 0; !fail && p < MISS_PAGES; p++)
        if (uc_mem_map(uc, UCB_MISS_BASE + p * UCB_MISS_STRIDE, NTMM_PAGE_SIZE, UC_PROT_ALL) != UC_ERR_OK)
            fail = "uc_mem_map (miss pages)";
    if (!fail && !(u.root = ucb_alloc_table(&u))) fail = "page-table root";
    for (uint64_t pa = UCB_CODE; !fail && pa < UCB_MISS_TAB + TAB_COUNT * 8u; pa += NTMM_PAGE_SIZE)
        if (!ucb_map(&u, pa, pa)) fail = "mapping the code and tables";
    for (unsigned p = 0; !fail && p < HIT_PAGES; p++)
        if (!ucb_map(&u, UCB_HIT + (uint64_t)p * NTMM_PAGE_SIZE, UCB_HIT + (uint64_t)p * NTMM_PAGE_SIZE))
            fail = "mapping the hit pages";
    for (unsigned p = 0; !fail && p < MISS_PAGES; p++)
        if (!ucb_map(&u, UCB_MISS_BASE + p * UCB_MISS_STRIDE, UCB_MISS_BASE + p * UCB_MISS_STRIDE))
            fail = "mapping the miss pages";
    if (!fail && !ucb_map(&u, UCB_PROBE_VA, UCB_PROBE_PA)) fail = "mapping the probe page";
    if (!fail && (uc_mem_write(uc, UCB_CODE_LOAD, ucb_loop_load, sizeof ucb_loop_load) != UC_ERR_OK ||
                  uc_mem_write(uc, UCB_CODE_NOLOAD, ucb_loop_noload, sizeof ucb_loop_noload) != UC_ERR_OK ||
                  !ucb_write_table(&u, UCB_HIT_TAB, hit_tab) || !ucb_write_table(&u, UCB_MISS_TAB, miss_tab)))
        fail = "writing code and offset tables";
    if (!fail && (!ucb_fill(&u, UCB_HIT, (uint64_t)HIT_PAGES * NTMM_PAGE_SIZE) ||
                  !ucb_fill(&u, UCB_PROBE_VA, NTMM_PAGE_SIZE) || !ucb_fill(&u, UCB_PROBE_PA, NTMM_PAGE_SIZE)))
        fail = "writing data";
    for (unsigned p = 0; !fail && p < MISS_PAGES; p++)
        if (!ucb_fill(&u, UCB_MISS_BASE + p * UCB_MISS_STRIDE, NTMM_PAGE_SIZE)) fail = "writing miss data";
    if (fail) goto out;

    /* 4-level paging: CR4.PAE, CR3, CR0.PG (UC_MODE_64 starts with EFER.LME|LMA set). */
    {
        uint64_t cr4 = HW_CR4_PAE, cr3 = u.root, cr0 = HW_CR0_PE | NTMM_BIT(4) | HW_CR0_PG, back = 0;
        if (uc_reg_write(uc, UC_X86_REG_CR4, &cr4) || uc_reg_write(uc, UC_X86_REG_CR3, &cr3) ||
            uc_reg_write(uc, UC_X86_REG_CR0, &cr0) || uc_reg_read(uc, UC_X86_REG_CR0, &back) ||
            !(back & HW_CR0_PG)) {
            fail = "enabling paging";
            goto out;
        }
    }

    /* Does Unicorn use the guest's tables? The probe page maps linear PROBE_VA to PROBE_PA. */
    bool probed = false;
    {
        uint64_t rdx = 0, ns = 0;
        if (!ucb_run(&u, UCB_CODE_LOAD, UCB_PROBE_VA, UCB_ZERO, 0, 1, &rdx, &ns, &err)) {
            snprintf(r->note, sizeof r->note, "paging probe failed (%s); Unicorn guest rows skipped", uc_strerror(err));
        } else if (rdx == pattern_value(UCB_PROBE_PA)) {
            r->paging = probed = true;
        } else if (rdx == pattern_value(UCB_PROBE_VA)) {
            probed = true;
            snprintf(r->note, sizeof r->note,
                     "Unicorn %u.%u's x86 MMU maps linear = physical whatever CR0.PG says (Unicorn 2.1 walks the\n"
                     "   guest's tables), so no Unicorn figure here includes a page-table walk",
                     major, minor);
        } else {
            check(c, false, "Unicorn paging probe read an unexpected value", NULL);
        }
    }

    /* uc_mem_read of 8 bytes over the hit pattern. */
    {
        uint64_t sum = 0, bad = 0;
        job_t j = { .kind = JOB_UC_READ, .n = o->api_n, .tab = pat->hit, .va = UCB_HIT, .uc = uc };
        r->mem_read = measure(&j, o->reps, &sum, &bad, sink);
        check(c, sum == expected_sum(UCB_HIT, pat->hit, o->api_n) && bad == 0, "uc_mem_read values", NULL);
        r->ran = true;
    }

    /* The guest loops (only if the probe ran). */
    if (probed) {
        uint64_t want_base = 0, want_hit = 0, want_miss = 0;
        for (uint64_t i = o->uc_hit_n; i >= 1; i--) {
            want_base += hit_tab[i & TAB_MASK];
            want_hit += pattern_value(UCB_HIT + hit_tab[i & TAB_MASK]);
        }
        for (uint64_t i = o->uc_miss_n; i >= 1; i--) want_miss += pattern_value(UCB_MISS_BASE + miss_tab[i & TAB_MASK]);
        if (ucb_time(&u, UCB_CODE_NOLOAD, UCB_HIT, UCB_HIT_TAB, o->uc_hit_n, want_base, o->reps, &r->loop_base, c,
                     "loop without load", sink) &&
            ucb_time(&u, UCB_CODE_LOAD, UCB_HIT, UCB_HIT_TAB, o->uc_hit_n, want_hit, o->reps, &r->loop_hit, c,
                     "loop, softmmu TLB hit", sink))
            ucb_time(&u, UCB_CODE_LOAD, UCB_MISS_BASE, UCB_MISS_TAB, o->uc_miss_n, want_miss, o->reps, &r->loop_miss,
                     c, "loop, softmmu TLB miss", sink);
    }
out:
    if (fail) snprintf(r->note, sizeof r->note, "setting up Unicorn failed (%s); Unicorn rows skipped", fail);
    free(hit_tab);
    free(miss_tab);
    uc_close(uc);
}
#endif /* NTMM_BENCH_UNICORN */

/* ---------------------------------------------------------------------------------------- */
/* The report. */

static double ratio(timing_t a, timing_t b) { return b.min_ns > 0 ? a.min_ns / b.min_ns : 0.0; }

/* Tracks the largest median/min spread, to say how noisy the run was. */
typedef struct spread {
    double worst;
    const char *what, *mode;
} spread_t;

static void spread_note(spread_t *s, timing_t t, const char *what, const char *mode)
{
    double r = t.min_ns > 0 ? t.med_ns / t.min_ns : 1.0;
    if (r > s->worst) *s = (spread_t){ r, what, mode };
}

static void report(const bench_opts_t *o, const mode_result_t *res, size_t count, const uc_result_t *uc,
                   double seconds)
{
    char cpu[128];
    cpu_model(cpu, sizeof cpu);
    spread_t sp = { 1.0, "", "" };
    printf("ntmm bench_mmu%s: guest memory access cost\n", o->quick ? " --quick (smoke run: timings meaningless)" : "");
    char ccbuf[96];
    compiler_name(ccbuf, sizeof ccbuf);
    printf("build %s, %s, %s, TLB hit counting %s (NTMM_STATS=%d)\n", NTMM_BENCH_BUILD_TYPE, ccbuf, cpu,
           NTMM_STATS ? "on" : "compiled out", NTMM_STATS);
    printf("ns per 8-byte access: fastest of %u timed passes after a warm-up pass; seed 0x%llx\n", o->reps,
           (unsigned long long)BENCH_SEED);
    printf("native = the same loop (same offset table, same index computation) on the guest RAM's host bytes\n\n");

    printf("1-2. TLB hit: %zu accesses/pass over %u pages x %u cache lines (16 KiB, L1-resident), random order,\n"
           "     4 KiB pages, CPL 0. Target: hit <= %.1fx native.\n",
           o->hit_n, HIT_PAGES, HIT_LINES, TARGET_HIT_RATIO);
    printf("     %-9s %6s | %7s %7s %7s %-6s | %7s %7s %7s %-6s\n", "mode", "levels", "load", "native", "ratio",
           "target", "store", "native", "ratio", "target");
    for (size_t i = 0; i < count; i++) {
        const mode_result_t *r = &res[i];
        if (!r->ran) {
            printf("     %-9s   (did not run)\n", r->name ? r->name : "?");
            continue;
        }
        double rl = ratio(r->load_hit, r->load_hit_native), rs = ratio(r->store_hit, r->store_hit_native);
        printf("     %-9s %6u | %7.2f %7.2f %6.2fx %-6s | %7.2f %7.2f %6.2fx %-6s\n", r->name, r->levels,
               r->load_hit.min_ns, r->load_hit_native.min_ns, rl, rl <= TARGET_HIT_RATIO ? "met" : "MISSED",
               r->store_hit.min_ns, r->store_hit_native.min_ns, rs, rs <= TARGET_HIT_RATIO ? "met" : "MISSED");
        spread_note(&sp, r->load_hit, "load hit", r->name);
        spread_note(&sp, r->store_hit, "store hit", r->name);
    }
    uint64_t hit_misses = 0;
    for (size_t i = 0; i < count; i++) hit_misses += res[i].hit_misses;
    printf("     TLB misses counted during the timed hit load passes: %llu (all modes)\n\n",
           (unsigned long long)hit_misses);

    uint64_t stride = count ? res[0].miss_stride : 0;
    printf("3. TLB miss + full walk, page tables cache-hot. Method: %u pages whose linear addresses are\n"
           "   %llu MiB apart (a multiple of the TLB's 1024 entries x 4 KiB) all use the same entry of the\n"
           "   direct-mapped TLB; accesses go round-robin over them, so each access evicts the previous\n"
           "   translation, misses and walks every level. Checked per mode: TLB misses == accesses.\n"
           "   %zu accesses/pass. hw_walk = the walk alone (hw_walk in a loop, no TLB). Target: <= %.0f ns.\n",
           MISS_PAGES, (unsigned long long)(stride >> 20), o->miss_n, TARGET_MISS_NS);
    printf("     %-9s %6s | %7s %7s %7s %-6s | %7s %7s %7s | %7s | %s\n", "mode", "levels", "load", "native", "ratio",
           "target", "store", "native", "ratio", "hw_walk", "misses/accesses");
    for (size_t i = 0; i < count; i++) {
        const mode_result_t *r = &res[i];
        if (!r->ran) continue;
        printf("     %-9s %6u | %7.2f %7.2f %6.1fx %-6s | %7.2f %7.2f %6.1fx | %7.2f | %llu/%llu\n", r->name,
               r->levels, r->load_miss.min_ns, r->load_miss_native.min_ns, ratio(r->load_miss, r->load_miss_native),
               r->load_miss.min_ns <= TARGET_MISS_NS ? "met" : "MISSED", r->store_miss.min_ns,
               r->store_miss_native.min_ns, ratio(r->store_miss, r->store_miss_native), r->walk.min_ns,
               (unsigned long long)r->miss_misses, (unsigned long long)r->miss_accesses);
        spread_note(&sp, r->load_miss, "load miss", r->name);
        spread_note(&sp, r->store_miss, "store miss", r->name);
    }
    printf("\n");

    printf("5. Host-side 8-byte guest read, TLB hit, the hit pattern above (%zu reads/pass).\n", o->api_n);
    bool have_uc = uc->compiled && uc->ran;
    if (have_uc)
        printf("   uc_mem_read: Unicorn %s, x86-64 instance, 8 bytes from memory mapped with uc_mem_map.\n",
               uc->version);
    printf("   Target: ntmm_cpu_access >= %.0fx faster than uc_mem_read.\n", TARGET_UC_RATIO);
    printf("     %-9s | %15s | %9s | %11s | %9s %s\n", "mode", "ntmm_cpu_access", "hw_load64", "uc_mem_read",
           "uc/ntmm", "target");
    for (size_t i = 0; i < count; i++) {
        const mode_result_t *r = &res[i];
        if (!r->ran) continue;
        if (have_uc) {
            double rr = ratio(uc->mem_read, r->api_read);
            printf("     %-9s | %15.2f | %9.2f | %11.2f | %8.2fx %s\n", r->name, r->api_read.min_ns, r->load_hit.min_ns,
                   uc->mem_read.min_ns, rr, rr >= TARGET_UC_RATIO ? "met" : "MISSED");
        } else {
            printf("     %-9s | %15.2f | %9.2f | %11s | %9s %s\n", r->name, r->api_read.min_ns, r->load_hit.min_ns, "n/a",
                   "n/a", "n/a");
        }
        spread_note(&sp, r->api_read, "ntmm_cpu_access", r->name);
    }
    printf("\n");

    printf("Unicorn guest loop (x86-64 guest, 4-level page tables built by the bench, CR0.PG=1):\n");
    if (!uc->compiled) {
        printf("   not compiled in: libunicorn-dev (unicorn/unicorn.h, libunicorn) was not found at configure time.\n");
    } else if (uc->loop_hit.min_ns <= 0) {
        printf("   not measured: %s\n", uc->note[0] ? uc->note : "setup failed");
    } else {
        printf("   loop: mov r10,rcx; and r10,rdi; mov r8,[r9+r10*8]; mov rax,[rbx+r8]; add rdx,rax; dec rcx; jnz\n");
        printf("     %-46s %7.2f ns/iteration\n", "loop with the data load replaced by mov rax,r8", uc->loop_base.min_ns);
        printf("     %-46s %7.2f ns/iteration = %6.2f ns per guest load\n", "data load hits the softmmu TLB",
               uc->loop_hit.min_ns, uc->loop_hit.min_ns - uc->loop_base.min_ns);
        printf("     %-46s %7.2f ns/iteration = %6.2f ns per guest load\n",
               uc->paging ? "data load misses + walk (16 pages 16 GiB apart)" : "data load misses, refill WITHOUT a walk",
               uc->loop_miss.min_ns, uc->loop_miss.min_ns - uc->loop_base.min_ns);
        printf("   (16 pages 16 GiB apart share an index in any softmmu TLB size and outnumber its 8-entry victim\n"
               "   TLB; round-robin order, so every data load misses)\n");
        printf("   guest page tables used by Unicorn: %s\n",
               uc->paging ? "yes (a probe page mapped linear != physical read through its mapping)"
                          : "NO: a probe page mapped linear != physical was read at its linear address");
        if (uc->note[0]) printf("   note: %s\n", uc->note);
    }
    if (uc->compiled && uc->note[0] && uc->loop_hit.min_ns <= 0 && !uc->ran) printf("   note: %s\n", uc->note);
    printf("\n");
    if (sp.worst > 1.0)
        printf("noise: largest median/fastest spread %.2fx (%s, %s)\n", sp.worst, sp.what, sp.mode);
    printf("run time %.1f s\n", seconds);
}

/* ---------------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_mmu [--quick]\n"
               "  --quick  smoke run: tiny counts, one timed pass; checks results, not timings\n");
}

int main(int argc, char **argv)
{
    bench_opts_t o = { false, 11, (size_t)1 << 22, (size_t)1 << 18, (size_t)1 << 21, (size_t)1 << 21, (size_t)1 << 17 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            o = (bench_opts_t){ true, 1, 4u * TAB_COUNT, 2u * TAB_COUNT, 2u * TAB_COUNT, 2u * TAB_COUNT, TAB_COUNT };
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    patterns_t *pat = malloc(sizeof *pat);
    if (!pat) return 1;
    patterns_build(pat);
    volatile uint64_t sink = 0;
    checks_t c = { 0, 0 };
    mode_result_t res[NTMM_ARRAY_SIZE(bench_layouts)];
    uc_result_t ucr;
    memset(res, 0, sizeof res);
    memset(&ucr, 0, sizeof ucr);

    uint64_t t0 = now_ns();
    if (!o.quick) {
        /* Let the core reach its steady clock before the first measurement. */
        uint8_t *warm = calloc(HIT_PAGES, NTMM_PAGE_SIZE);
        if (warm) {
            uint64_t until = now_ns() + 200000000u;
            while (now_ns() < until) sink += loop_native_load(warm, pat->hit, (size_t)1 << 16);
            free(warm);
        }
    }
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(bench_layouts); i++) bench_mode(&bench_layouts[i], &o, pat, &res[i], &c, &sink);
#ifdef NTMM_BENCH_UNICORN
    bench_unicorn(&o, pat, &ucr, &c, &sink);
#endif
    double seconds = (double)(now_ns() - t0) / 1e9;
    report(&o, res, NTMM_ARRAY_SIZE(bench_layouts), &ucr, seconds);
    printf("checks: %u passed, %u failed\n", c.passed, c.failed);
    free(pat);
    return c.failed ? 1 : 0;
}
