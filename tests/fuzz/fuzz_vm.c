/*
 * fuzz_vm.c - a fuzz target over sequences of virtual-memory API calls with arbitrary
 * arguments: NtAllocateVirtualMemory, NtFreeVirtualMemory, NtProtectVirtualMemory,
 * NtQueryVirtualMemory, NtLock/UnlockVirtualMemory, NtRead/WriteVirtualMemory,
 * NtGetWriteWatch/NtResetWriteWatch and guest accesses (ntmm_process_access) in user and
 * kernel mode, on one small machine (x64, PAE or x86 paging, 16 MiB so that physical memory
 * runs out) with one or two processes.
 *
 * The input is decoded as a byte stream (bytes past its end read as 0): a header byte picks the
 * paging mode, the layouts and the process count; then each operation is an opcode byte
 * followed by its arguments. Values are biased towards the interesting ones: page- and
 * granule-aligned addresses in a small arena, the user-space limits, 0, ~0, the valid MEM_* and
 * PAGE_* values and their combinations; any value may also be raw.
 *
 * Oracles (a violation calls abort(), which libFuzzer reports as a crash):
 *   - every status is one ntmm_status_name knows, and never STATUS_INTERNAL_ERROR
 *     (the halted machine's status); no bugcheck is ever recorded;
 *   - outputs are sane: successful allocations are page-aligned (granule-aligned when reserving)
 *     inside the user space, queries return the queried page and a known state, copies and
 *     accesses report no more bytes than asked (all of them on success), exception records carry
 *     the returned code, write-watch addresses lie in the range asked about;
 *   - every CHECK_EVERY operations and at the end, ntmm_process_check (for a process with at
 *     most CHECK_MAX_RESERVED reserved: the checker visits every reserved page) and
 *     ntmm_machine_check succeed;
 *   - once every process is destroyed, no PROCESS_PRIVATE frame is left.
 *
 * Limit: reserving, releasing and querying take time linear in the pages of a region (about
 * 2 s per 64 GiB under ASan), so an allocation size that could succeed is clamped below
 * HUGE_RESERVE; sizes past the user space are kept, to test their rejection.
 *
 * Built two ways from this file: with -DNTMM_LIBFUZZER and -fsanitize=fuzzer as the libFuzzer
 * target (`make fuzz`), and otherwise as fuzz_vm_replay, whose main() below runs seeded
 * pseudo-random inputs and then every file named on its command line (a CTest test).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ntmm/ntmm.h>

#include "base/base.h"
#include "base/rng.h"

#define P           0x1000ull
#define G           0x10000ull
#define ARENA       0x20000000ull /* inside the user space of every layout */
#define ARENA_PAGES 512u          /* 2 MiB */
#define MAX_OPS     512u          /* operations per input */
#define CHECK_EVERY 64u
#define CHECK_MAX_RESERVED (NTMM_GIB(1) << 17) /* see reserved_bytes: no longer limiting (huge VADs are cheap) */
#define HUGE_RESERVE (NTMM_GIB(1) << 17)       /* a power of two; see op_allocate */
#define BUF_BYTES   (4u * 0x1000u + 64u)
#define WATCH_MAX   64u

/* The decoder's cursor over one input. */
typedef struct fz_in {
    const uint8_t *data;
    size_t size, pos;
} fz_in_t;

typedef struct fz_proc {
    ntmm_process_t *p;
    ntmm_layout_t layout;
    uint64_t user_max; /* highest user address of the layout */
} fz_proc_t;

/* Everything one input uses: no state survives an input. */
typedef struct fz {
    fz_in_t in;
    ntmm_machine_t *m;
    fz_proc_t proc[2];
    unsigned nproc;
    unsigned op;
    const char *what;     /* the operation being run, for the failure message */
    uint8_t buf[BUF_BYTES];
    uint64_t watch[WATCH_MAX];
} fz_t;

static void fz_fail(const fz_t *f, const char *why, ntmm_status_t s)
{
    const ntmm_bugcheck_t *bc = f->m ? ntmm_machine_bugcheck(f->m) : NULL;
    fprintf(stderr, "fuzz_vm: op %u (%s): %s (status %#x %s)", f->op, f->what ? f->what : "-", why,
            (unsigned)s, ntmm_status_name(s) ? ntmm_status_name(s) : "<unnamed>");
    if (bc)
        fprintf(stderr, "; bugcheck %s (%#x) at %s params %#llx %#llx %#llx %#llx", ntmm_bugcheck_name(bc->code),
                (unsigned)bc->code, bc->where ? bc->where : "?", (unsigned long long)bc->param[0],
                (unsigned long long)bc->param[1], (unsigned long long)bc->param[2],
                (unsigned long long)bc->param[3]);
    fprintf(stderr, "\n");
    abort();
}

/* ---- decoding ---------------------------------------------------------------------------- */

static uint8_t in_u8(fz_t *f)
{
    return f->in.pos < f->in.size ? f->in.data[f->in.pos++] : 0;
}

static uint64_t in_bytes(fz_t *f, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)in_u8(f) << (8 * i);
    return v;
}

static uint64_t in_u64(fz_t *f) { return in_bytes(f, 8); }
static uint32_t in_u32(fz_t *f) { return (uint32_t)in_bytes(f, 4); }

/* An address: mostly in the arena, else the edges of the user spaces and raw values. */
static uint64_t in_addr(fz_t *f, const fz_proc_t *pr)
{
    static const uint64_t edges[] = {
        0, 1, 0xFFFF, 0x10000, 0x10001, 0x7FFE0000, 0x7FFEF000, 0x7FFEFFFF, 0x7FFF0000, 0x7FFFFFFF,
        0x80000000, 0xBFFEFFFF, 0xBFFF0000, 0xC0000000, 0xFFFEFFFF, 0xFFFF0000, 0xFFFFFFFF, 0x100000000ull,
        0x7FFFFFFE0000ull, 0x7FFFFFFEF000ull, 0x7FFFFFFEFFFFull, 0x7FFFFFFF0000ull, 0x7FFFFFFFFFFFull,
        0x800000000000ull, 0xFFFF800000000000ull, 0xFFFFF68000000000ull, 0xFFFFF80000000000ull,
        0xFFFFFFFFFFFFF000ull, ~0ull, 0x8000000000000000ull,
    };
    uint8_t sel = in_u8(f);
    switch (sel & 7) {
    case 0: case 1: case 2: /* a page of the arena, sometimes plus a byte offset */
        return ARENA + (uint64_t)(in_u8(f) | (in_u8(f) & 1) << 8) * P + ((sel & 0x80) ? in_bytes(f, 2) & 0xFFF : 0);
    case 3: /* a granule of the arena */
        return ARENA + (uint64_t)(in_u8(f) & 31) * G;
    case 4: /* an edge */
        return edges[in_u8(f) % NTMM_ARRAY_SIZE(edges)];
    case 5: /* near the end of this process's user space */
        return pr->user_max + 1 - (uint64_t)(in_u8(f) & 0x1F) * P - ((sel & 0x80) ? 0x10000 : 0);
    case 6: /* an edge plus or minus a small delta */
        return edges[in_u8(f) % NTMM_ARRAY_SIZE(edges)] + (uint64_t)(int64_t)(int8_t)in_u8(f);
    default:
        return in_u64(f);
    }
}

/* A size: mostly a few pages, else 0, ~0, huge and raw values. */
static uint64_t in_size(fz_t *f)
{
    uint8_t sel = in_u8(f);
    switch (sel & 7) {
    case 0: case 1: case 2:
        return (uint64_t)(in_u8(f) & 0x3F) * P;
    case 3:
        return (uint64_t)(in_u8(f) & 0x3F) * P + (in_bytes(f, 2) & 0xFFF);
    case 4:
        return (uint64_t)(in_u8(f) & 0x1F) * G;
    case 5: {
        static const uint64_t odd[] = { 0, 1, P - 1, P + 1, ~0ull, ~0ull - P + 1, 0x7FFFFFFF, 0x80000000,
                                        0xFFFFFFFF, 0x100000000ull, 0x7FFFFFFEFFFFull, 0x800000000000ull,
                                        NTMM_MIB(16), NTMM_MIB(15), NTMM_MIB(64), 1ull << 63 };
        return odd[in_u8(f) % NTMM_ARRAY_SIZE(odd)];
    }
    case 6:
        return in_u32(f);
    default:
        return in_u64(f);
    }
}

static uint32_t in_prot(fz_t *f)
{
    static const uint32_t prots[] = {
        NTMM_PAGE_NOACCESS, NTMM_PAGE_READONLY, NTMM_PAGE_READWRITE, NTMM_PAGE_WRITECOPY, NTMM_PAGE_EXECUTE,
        NTMM_PAGE_EXECUTE_READ, NTMM_PAGE_EXECUTE_READWRITE, NTMM_PAGE_EXECUTE_WRITECOPY,
    };
    static const uint32_t mods[] = { 0, 0, 0, 0, NTMM_PAGE_GUARD, NTMM_PAGE_NOCACHE, NTMM_PAGE_WRITECOMBINE,
                                     NTMM_PAGE_GUARD | NTMM_PAGE_NOCACHE };
    uint8_t sel = in_u8(f);
    switch (sel & 3) {
    case 0: case 1:
        return prots[(sel >> 2) & 7] | mods[(sel >> 5) & 7];
    case 2: /* a few bits of the low word */
        return (uint32_t)in_bytes(f, 2) & 0x7FF;
    default:
        return in_u32(f);
    }
}

static uint32_t in_alloc_type(fz_t *f)
{
    static const uint32_t types[] = {
        NTMM_MEM_RESERVE, NTMM_MEM_COMMIT, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT,
        NTMM_MEM_RESET, NTMM_MEM_RESET_UNDO, NTMM_MEM_RESERVE | NTMM_MEM_WRITE_WATCH,
        NTMM_MEM_RESERVE | NTMM_MEM_COMMIT | NTMM_MEM_WRITE_WATCH, NTMM_MEM_RESERVE | NTMM_MEM_TOP_DOWN,
        NTMM_MEM_RESERVE | NTMM_MEM_COMMIT | NTMM_MEM_TOP_DOWN, NTMM_MEM_COMMIT | NTMM_MEM_TOP_DOWN,
        NTMM_MEM_COMMIT | NTMM_MEM_WRITE_WATCH, NTMM_MEM_RESET | NTMM_MEM_COMMIT, NTMM_MEM_RESET | NTMM_MEM_RESET_UNDO,
        NTMM_MEM_RESERVE | NTMM_MEM_PHYSICAL, NTMM_MEM_RESERVE | NTMM_MEM_COMMIT | NTMM_MEM_LARGE_PAGES,
        NTMM_MEM_RESERVE | NTMM_MEM_RESERVE_PLACEHOLDER, NTMM_MEM_RESERVE | NTMM_MEM_REPLACE_PLACEHOLDER,
        NTMM_MEM_RELEASE, NTMM_MEM_DECOMMIT, 0,
    };
    uint8_t sel = in_u8(f);
    if (sel < 200) return types[sel % NTMM_ARRAY_SIZE(types)];
    if (sel < 240) return types[sel % NTMM_ARRAY_SIZE(types)] ^ (1u << (in_u8(f) & 31));
    return in_u32(f);
}

static uint32_t in_free_type(fz_t *f)
{
    static const uint32_t types[] = {
        NTMM_MEM_RELEASE, NTMM_MEM_RELEASE, NTMM_MEM_DECOMMIT, NTMM_MEM_DECOMMIT,
        NTMM_MEM_RELEASE | NTMM_MEM_DECOMMIT, 0, NTMM_MEM_RELEASE | NTMM_MEM_PRESERVE_PLACEHOLDER,
        NTMM_MEM_RELEASE | NTMM_MEM_COALESCE_PLACEHOLDERS, NTMM_MEM_COMMIT, NTMM_MEM_RESERVE,
    };
    uint8_t sel = in_u8(f);
    if (sel < 220) return types[sel % NTMM_ARRAY_SIZE(types)];
    return in_u32(f);
}

static uint64_t in_zero_bits(fz_t *f)
{
    uint8_t sel = in_u8(f);
    if (sel < 160) return 0;
    if (sel < 220) return in_u8(f) & 0x3F;
    if (sel < 240) {
        static const uint64_t masks[] = { 0x7FFFFFFF, 0xFFFFFFFF, 0x3FFFFFFF, 0xFFFFFF, 0x7FFFFFFFFFFFull,
                                          ~0ull, 0x80000000, 1 };
        return masks[sel % NTMM_ARRAY_SIZE(masks)];
    }
    return in_u64(f);
}

/* ---- checks ------------------------------------------------------------------------------ */

/* Every status must be a documented NTSTATUS and the machine must still run. */
static void check_status(fz_t *f, ntmm_status_t s)
{
    if (ntmm_machine_bugcheck(f->m)) fz_fail(f, "bugcheck recorded", s);
    if (!ntmm_status_name(s)) fz_fail(f, "unnamed status", s);
    if (s == NTMM_STATUS_MACHINE_HALTED) fz_fail(f, "machine halted", s);
}

/*
 * Bytes of the process's user space that are not free, by an NtQueryVirtualMemory walk; ~0 if
 * the walk does not finish. mm_process_check visits every reserved page, so the harness runs
 * it only below CHECK_MAX_RESERVED (a reservation of terabytes would take hours to check).
 */
static uint64_t reserved_bytes(fz_t *f, const fz_proc_t *pr)
{
    uint64_t a = 0, total = 0;
    for (unsigned n = 0; n < 100000u && a <= pr->user_max; n++) {
        ntmm_memory_basic_information_t mbi;
        ntmm_status_t s = ntmm_nt_query_virtual_memory(pr->p, a, &mbi);
        check_status(f, s);
        if (s != NTMM_STATUS_SUCCESS || mbi.region_size == 0) return ~0ull;
        if (mbi.state != NTMM_MEM_FREE) total += mbi.region_size;
        if (mbi.base_address + mbi.region_size <= a) return ~0ull;
        a = mbi.base_address + mbi.region_size;
    }
    return a > pr->user_max ? total : ~0ull;
}

static void check_all(fz_t *f)
{
    f->what = "check";
    for (unsigned i = 0; i < f->nproc; i++) {
        if (!f->proc[i].p) continue;
        if (reserved_bytes(f, &f->proc[i]) > CHECK_MAX_RESERVED) continue;
        f->what = "check";
        ntmm_status_t s = ntmm_process_check(f->proc[i].p);
        if (s != NTMM_STATUS_SUCCESS) fz_fail(f, "ntmm_process_check failed", s);
    }
    ntmm_status_t s = ntmm_machine_check(f->m);
    if (s != NTMM_STATUS_SUCCESS) fz_fail(f, "ntmm_machine_check failed", s);
    if (ntmm_machine_bugcheck(f->m)) fz_fail(f, "bugcheck recorded", s);
}

static bool prot_base_valid(uint32_t v)
{
    uint32_t b = v & 0xFF;
    return b && (b & (b - 1)) == 0;
}

/* A range the API returned must be page-aligned, non-empty and inside the user space. */
static void check_range(fz_t *f, const fz_proc_t *pr, uint64_t base, uint64_t size, ntmm_status_t s)
{
    if (base & (P - 1)) fz_fail(f, "returned base not page-aligned", s);
    if (size == 0 || (size & (P - 1))) fz_fail(f, "returned size zero or not page-aligned", s);
    if (base < 0x10000 || base + size - 1 < base || base + size - 1 > pr->user_max)
        fz_fail(f, "returned range outside the user space", s);
}

/* ---- operations -------------------------------------------------------------------------- */

static void op_allocate(fz_t *f, fz_proc_t *pr)
{
    f->what = "allocate";
    uint64_t base = (in_u8(f) & 3) == 0 ? 0 : in_addr(f, pr);
    uint64_t size = in_size(f), zb = in_zero_bits(f);
    uint32_t type = in_alloc_type(f), prot = in_prot(f);
    /* Reserving, decommitting, releasing and querying take time linear in a region's pages
     * (see the report of this harness): a size that could succeed is kept below HUGE_RESERVE;
     * sizes past the user space stay, to test their rejection. */
    if (size > HUGE_RESERVE && size <= pr->user_max) size &= HUGE_RESERVE - 1;
    uint64_t b = base, sz = size;
    ntmm_status_t s = ntmm_nt_allocate_virtual_memory(pr->p, &b, zb, &sz, type, prot);
    check_status(f, s);
    if (s != NTMM_STATUS_SUCCESS) return;
    if ((type & NTMM_MEM_RESET) || (type & NTMM_MEM_RESET_UNDO)) return; /* their outputs vary */
    check_range(f, pr, b, sz, s);
    if ((type & NTMM_MEM_RESERVE) && (b & (G - 1))) fz_fail(f, "reservation not granule-aligned", s);
    if (base && (b > base || base - b >= G || base + size > b + sz)) fz_fail(f, "range does not cover the request", s);
}

static void op_free(fz_t *f, fz_proc_t *pr)
{
    f->what = "free";
    uint64_t b = in_addr(f, pr), sz = (in_u8(f) & 1) ? 0 : in_size(f);
    uint32_t type = in_free_type(f);
    ntmm_status_t s = ntmm_nt_free_virtual_memory(pr->p, &b, &sz, type);
    check_status(f, s);
    if (s == NTMM_STATUS_SUCCESS) check_range(f, pr, b, sz, s);
}

static void op_protect(fz_t *f, fz_proc_t *pr)
{
    f->what = "protect";
    uint64_t b = in_addr(f, pr), sz = in_size(f);
    uint32_t prot = in_prot(f), old = 0xDEADBEEF;
    bool null_old = in_u8(f) == 0xFF;
    ntmm_status_t s = ntmm_nt_protect_virtual_memory(pr->p, &b, &sz, prot, null_old ? NULL : &old);
    check_status(f, s);
    if (null_old && s != NTMM_STATUS_ACCESS_VIOLATION) fz_fail(f, "NULL old_protect accepted", s);
    if (s != NTMM_STATUS_SUCCESS) return;
    check_range(f, pr, b, sz, s);
    if (!prot_base_valid(old)) fz_fail(f, "old protection not a PAGE_* value", s);
}

static void op_query(fz_t *f, fz_proc_t *pr)
{
    f->what = "query";
    uint64_t a = in_addr(f, pr);
    ntmm_memory_basic_information_t mbi;
    memset(&mbi, 0xA5, sizeof mbi);
    ntmm_status_t s = ntmm_nt_query_virtual_memory(pr->p, a, &mbi);
    check_status(f, s);
    if (s != NTMM_STATUS_SUCCESS) return;
    if (mbi.base_address != (a & ~(P - 1))) fz_fail(f, "query: base_address is not the queried page", s);
    if (mbi.region_size == 0 || (mbi.region_size & (P - 1))) fz_fail(f, "query: bad region size", s);
    if (mbi.base_address + mbi.region_size < mbi.base_address) fz_fail(f, "query: region wraps", s);
    switch (mbi.state) {
    case NTMM_MEM_FREE:
        if (mbi.type != 0 || mbi.allocation_base != 0) fz_fail(f, "query: free region with a type or base", s);
        break;
    case NTMM_MEM_RESERVE:
    case NTMM_MEM_COMMIT:
        if (mbi.type != NTMM_MEM_PRIVATE && mbi.type != NTMM_MEM_MAPPED && mbi.type != NTMM_MEM_IMAGE)
            fz_fail(f, "query: allocated region of no type", s);
        if (mbi.allocation_base > mbi.base_address || (mbi.allocation_base & (P - 1)) || !mbi.allocation_base)
            fz_fail(f, "query: bad allocation base", s);
        if (mbi.base_address + mbi.region_size - 1 > pr->user_max) fz_fail(f, "query: region past user space", s);
        if (mbi.state == NTMM_MEM_COMMIT && !prot_base_valid(mbi.protect))
            fz_fail(f, "query: committed region without a protection", s);
        break;
    default:
        fz_fail(f, "query: unknown state", s);
    }
}

static void op_access(fz_t *f, fz_proc_t *pr)
{
    f->what = "access";
    uint64_t a = in_addr(f, pr);
    size_t len = (size_t)(in_bytes(f, 2) % (BUF_BYTES + 1));
    uint8_t sel = in_u8(f);
    ntmm_access_t acc = (ntmm_access_t)(sel % 3);
    int user = (sel >> 2) & 1 ? 0 : 1;
    unsigned cpu = (sel >> 3) & 1;
    if ((sel & 0xF0) == 0xF0) cpu = in_u8(f); /* rarely, a CPU the machine lacks */
    if (acc == NTMM_ACCESS_WRITE) memset(f->buf, sel, len);
    size_t done = (size_t)-1;
    ntmm_exception_record_t rec;
    memset(&rec, 0, sizeof rec);
    ntmm_status_t s = ntmm_process_access(pr->p, cpu, user, a, f->buf, len, acc, &done, &rec);
    check_status(f, s);
    if (s == NTMM_STATUS_INVALID_PARAMETER) return;
    if (done > len) fz_fail(f, "access: done > len", s);
    if (s == NTMM_STATUS_SUCCESS && done != len) fz_fail(f, "access: success with a short count", s);
    if ((s == NTMM_STATUS_ACCESS_VIOLATION || s == NTMM_STATUS_GUARD_PAGE_VIOLATION) && rec.code != (uint32_t)s)
        fz_fail(f, "access: exception record code differs from the status", s);
}

static void op_copy(fz_t *f, fz_proc_t *pr, bool write)
{
    f->what = write ? "write_vm" : "read_vm";
    uint64_t a = in_addr(f, pr);
    size_t len = (size_t)(in_bytes(f, 2) % (BUF_BYTES + 1));
    bool null_buf = in_u8(f) == 0xFF;
    size_t done = (size_t)-1;
    ntmm_status_t s = write ? ntmm_nt_write_virtual_memory(pr->p, a, null_buf ? NULL : f->buf, len, &done)
                            : ntmm_nt_read_virtual_memory(pr->p, a, null_buf ? NULL : f->buf, len, &done);
    check_status(f, s);
    if (null_buf && len > 0 && s != NTMM_STATUS_ACCESS_VIOLATION) fz_fail(f, "NULL buffer accepted", s);
    if (s == NTMM_STATUS_SUCCESS && done != len) fz_fail(f, "copy: success with a short count", s);
    if (s == NTMM_STATUS_PARTIAL_COPY && done >= len && len > 0) fz_fail(f, "copy: partial copy of everything", s);
}

static void op_lock(fz_t *f, fz_proc_t *pr, bool lock)
{
    f->what = lock ? "lock" : "unlock";
    uint64_t b = in_addr(f, pr), sz = in_size(f);
    uint8_t sel = in_u8(f);
    uint32_t map = sel < 200 ? NTMM_MAP_PROCESS : sel < 230 ? NTMM_MAP_SYSTEM : sel;
    ntmm_status_t s = lock ? ntmm_nt_lock_virtual_memory(pr->p, &b, &sz, map)
                           : ntmm_nt_unlock_virtual_memory(pr->p, &b, &sz, map);
    check_status(f, s);
    if (s == NTMM_STATUS_SUCCESS) check_range(f, pr, b, sz, s);
}

static void op_watch(fz_t *f, fz_proc_t *pr)
{
    f->what = "write_watch";
    uint8_t sel = in_u8(f);
    uint64_t b = in_addr(f, pr), sz = in_size(f);
    if (sel & 1) {
        ntmm_status_t s = ntmm_nt_reset_write_watch(pr->p, b, sz);
        check_status(f, s);
        return;
    }
    uint32_t flags = (sel & 2) ? NTMM_WRITE_WATCH_FLAG_RESET : 0;
    if ((sel & 0xC0) == 0xC0) flags = in_u32(f);
    uint64_t count = in_u8(f) % (WATCH_MAX + 1), asked = count;
    uint32_t gran = 0;
    bool null_addr = (sel & 0x3C) == 0x3C;
    ntmm_status_t s = ntmm_nt_get_write_watch(pr->p, flags, b, sz, null_addr ? NULL : f->watch, &count, &gran);
    check_status(f, s);
    if (null_addr && asked > 0 && s == NTMM_STATUS_SUCCESS) fz_fail(f, "NULL addresses accepted", s);
    if (s != NTMM_STATUS_SUCCESS) return;
    if (count > asked) fz_fail(f, "write watch: more addresses than room", s);
    if (gran != P) fz_fail(f, "write watch: granularity is not the page size", s);
    for (uint64_t i = 0; i < count; i++)
        if ((f->watch[i] & (P - 1)) || f->watch[i] < (b & ~(P - 1)) || f->watch[i] - b >= sz)
            fz_fail(f, "write watch: address outside the range", s);
}

static void op_info(fz_t *f, fz_proc_t *pr)
{
    f->what = "memory_info";
    ntmm_process_memory_t pm;
    ntmm_status_t s = ntmm_process_memory(pr->p, &pm);
    check_status(f, s);
    if (s == NTMM_STATUS_SUCCESS && pm.peak_commit_bytes < pm.commit_bytes) fz_fail(f, "peak commit < commit", s);
    f->what = "zero_step";
    (void)ntmm_zero_step(f->m, in_u8(f));
}

static uint64_t layout_user_max(ntmm_layout_t l)
{
    switch (l) {
    case NTMM_LAYOUT_X86: return 0x7FFEFFFFull;
    case NTMM_LAYOUT_X86_3GB: return 0xBFFEFFFFull;
    case NTMM_LAYOUT_WOW64: return 0x7FFEFFFFull;
    case NTMM_LAYOUT_WOW64_LAA: return 0xFFFEFFFFull;
    default: return 0x7FFFFFFEFFFFull;
    }
}

/* Creates process i with layout l (the mode's default if the machine refuses l). */
static void proc_create(fz_t *f, unsigned i, ntmm_layout_t l)
{
    f->what = "process_create";
    ntmm_status_t s = ntmm_process_create(f->m, l, &f->proc[i].p);
    check_status(f, s);
    if (s != NTMM_STATUS_SUCCESS) {
        if (s != NTMM_STATUS_INVALID_PARAMETER) fz_fail(f, "process_create failed", s);
        l = NTMM_LAYOUT_DEFAULT;
        s = ntmm_process_create(f->m, l, &f->proc[i].p);
        if (s != NTMM_STATUS_SUCCESS) fz_fail(f, "process_create (default layout) failed", s);
    }
    f->proc[i].layout = l;
    f->proc[i].user_max = layout_user_max(l);
}

static void proc_destroy(fz_t *f, unsigned i)
{
    f->what = "process_destroy";
    ntmm_status_t s = ntmm_process_destroy(f->proc[i].p);
    f->proc[i].p = NULL;
    check_status(f, s);
    if (s != NTMM_STATUS_SUCCESS) fz_fail(f, "process_destroy failed", s);
}

static int fuzz_one(const uint8_t *data, size_t size)
{
    fz_t *f = calloc(1, sizeof *f);
    if (!f) abort();
    f->in = (fz_in_t){ data, size, 0 };

    /* Header: bits 0-1 the paging mode, bit 2 a second process, bits 3-5 the layouts. */
    uint8_t h = in_u8(f);
    static const ntmm_paging_mode_t modes[] = { NTMM_PAGING_X64, NTMM_PAGING_PAE, NTMM_PAGING_X86, NTMM_PAGING_X64 };
    ntmm_paging_mode_t mode = modes[h & 3];
    ntmm_machine_config_t cfg = { .hw = { .ram_bytes = NTMM_MIB(16), .cpu_count = 2 }, .paging = mode };
    ntmm_status_t s = ntmm_machine_create(&cfg, &f->m);
    if (s != NTMM_STATUS_SUCCESS) fz_fail(f, "machine_create failed", s);

    static const ntmm_layout_t l64[] = { NTMM_LAYOUT_X64, NTMM_LAYOUT_WOW64, NTMM_LAYOUT_WOW64_LAA, NTMM_LAYOUT_X64 };
    static const ntmm_layout_t l32[] = { NTMM_LAYOUT_X86, NTMM_LAYOUT_X86_3GB, NTMM_LAYOUT_X86, NTMM_LAYOUT_X86 };
    const ntmm_layout_t *lay = mode == NTMM_PAGING_X64 ? l64 : l32;
    f->nproc = (h & 4) ? 2 : 1;
    for (unsigned i = 0; i < f->nproc; i++) proc_create(f, i, lay[((h >> 3) + i) & 3]);

    for (f->op = 0; f->op < MAX_OPS && f->in.pos < f->in.size; f->op++) {
        uint8_t code = in_u8(f);
        unsigned pi = (code >> 7) % f->nproc;
        fz_proc_t *pr = &f->proc[pi];
        switch (code & 0x0F) {
        case 0: case 1: case 2: op_allocate(f, pr); break;
        case 3: case 4: op_free(f, pr); break;
        case 5: op_protect(f, pr); break;
        case 6: op_query(f, pr); break;
        case 7: case 8: case 9: op_access(f, pr); break;
        case 10: op_copy(f, pr, (code & 0x10) != 0); break;
        case 11: op_lock(f, pr, (code & 0x10) == 0); break;
        case 12: op_watch(f, pr); break;
        case 13: op_info(f, pr); break;
        case 14: /* destroy and re-create the process */
            if ((code & 0x70) == 0x70) {
                proc_destroy(f, pi);
                proc_create(f, pi, lay[(code >> 4) & 3]);
            } else {
                op_query(f, pr);
            }
            break;
        default: op_access(f, pr); break;
        }
        if (f->op % CHECK_EVERY == CHECK_EVERY - 1) check_all(f);
    }
    check_all(f);

    for (unsigned i = 0; i < f->nproc; i++) proc_destroy(f, i);
    f->what = "final";
    ntmm_memory_stats_t st;
    s = ntmm_memory_stats(f->m, &st);
    if (s != NTMM_STATUS_SUCCESS) fz_fail(f, "memory_stats failed", s);
    if (st.by_use[NTMM_USE_PROCESS_PRIVATE] != 0) fz_fail(f, "PROCESS_PRIVATE frames left after destroy", s);
    s = ntmm_machine_check(f->m);
    if (s != NTMM_STATUS_SUCCESS || ntmm_machine_bugcheck(f->m)) fz_fail(f, "machine_check after destroy", s);
    ntmm_machine_destroy(f->m);
    free(f);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_one(data, size);
}

#ifndef NTMM_LIBFUZZER
/*
 * The replay driver: FUZZ_VM_INPUTS (default 1000) seeded pseudo-random inputs (seed
 * FUZZ_VM_SEED, default 0xF022), then every file named on the command line. FUZZ_VM_TRACE
 * prints each input's number; FUZZ_VM_DUMP=n writes input n to ./fuzz_vm_input.
 */
static int replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        return 1;
    }
    uint8_t *data = NULL;
    size_t size = 0, cap = 0, n;
    uint8_t chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        if (size + n > cap) {
            cap = (size + n) * 2;
            uint8_t *d = realloc(data, cap);
            if (!d) abort();
            data = d;
        }
        memcpy(data + size, chunk, n);
        size += n;
    }
    fclose(fp);
    fprintf(stderr, "fuzz_vm_replay: %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput(data ? data : (const uint8_t *)"", size);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    const char *env_n = getenv("FUZZ_VM_INPUTS"), *env_seed = getenv("FUZZ_VM_SEED");
    unsigned inputs = env_n ? (unsigned)strtoul(env_n, NULL, 0) : 1000u;
    uint64_t seed = env_seed ? strtoull(env_seed, NULL, 0) : 0xF022u;
    if (argc > 1 && !env_n) inputs = 0; /* only the files, unless asked for both */
    base_rng_t r;
    base_rng_seed(&r, seed);
    uint8_t *buf = malloc(4096);
    if (!buf) abort();
    for (unsigned i = 0; i < inputs; i++) {
        size_t size = (size_t)base_rng_below(&r, 384);
        for (size_t j = 0; j < size; j++) buf[j] = (uint8_t)base_rng_next(&r);
        if (getenv("FUZZ_VM_TRACE")) fprintf(stderr, "fuzz_vm_replay: input %u (%zu bytes)\n", i, size);
        if (getenv("FUZZ_VM_DUMP") && strtoul(getenv("FUZZ_VM_DUMP"), NULL, 0) == i) {
            FILE *fp = fopen("fuzz_vm_input", "wb"); /* the input to replay or minimize */
            if (fp) {
                fwrite(buf, 1, size, fp);
                fclose(fp);
            }
        }
        LLVMFuzzerTestOneInput(buf, size);
    }
    free(buf);
    int rc = 0;
    for (int i = 1; i < argc; i++) rc |= replay_file(argv[i]);
    printf("fuzz_vm_replay: %u random inputs (seed %#llx), %d files: ok\n", inputs, (unsigned long long)seed,
           argc - 1);
    return rc;
}
#endif
