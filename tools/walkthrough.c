/*
 * walkthrough.c - `ntmm demo` until the full CLI exists: builds an address space in each
 * paging mode on a fresh machine, performs a few accesses, and shows the translations the way
 * WinDbg's !pte does (entries addressed through the recursive self-map), then a few faults.
 */
#include <inttypes.h>
#include <stdio.h>

#include "hwenv.h"
#include "mm/pfn.h"
#include "walkthrough.h"

/* WinDbg's !pte status letters, in its order: C G L D A N T U/K W/R E V. */
static void pte_flags(char out[12], hw_pte_t e, bool has_nx, unsigned level)
{
    int i = 0;
    out[i++] = (e & NTMM_BIT(9)) ? 'C' : '-';
    out[i++] = (e & HW_PTE_G) && level == 1 ? 'G' : '-';
    out[i++] = (e & HW_PTE_PS) && level > 1 ? 'L' : '-';
    out[i++] = (e & HW_PTE_D) ? 'D' : '-';
    out[i++] = (e & HW_PTE_A) ? 'A' : '-';
    out[i++] = (e & HW_PTE_PCD) ? 'N' : '-';
    out[i++] = (e & HW_PTE_PWT) ? 'T' : '-';
    out[i++] = (e & HW_PTE_US) ? 'U' : 'K';
    out[i++] = (e & HW_PTE_RW) ? 'W' : 'R';
    out[i++] = has_nx && (e & HW_PTE_XD) ? '-' : 'E';
    out[i++] = (e & HW_PTE_P) ? 'V' : '-';
    out[i] = 0;
}

static const char *level_name(const hw_paging_mode_t *md, unsigned l)
{
    static const char *const names[] = { "", "PTE", "PDE", "PPE", "PXE", "P5E" };
    if (md->pdpte_registers && l == 3) return "PDPTE";
    return names[l];
}

/* One recursion step of the self-map: the linear address of the entry that maps va. */
static va_t self_step(const hw_paging_mode_t *md, va_t base, va_t va)
{
    uint64_t mask = md->canonical ? (NTMM_BIT(md->va_bits) - 1u) : UINT32_MAX;
    return base + ((va & mask) >> NTMM_PAGE_SHIFT) * md->entry_bytes;
}

static void show_pte(FILE *out, hwenv_t *e, va_t self_base, va_t va)
{
    const hw_paging_mode_t *md = e->b.mode;
    hw_walk_t w;
    ntmm_fault_t f;
    memset(&w, 0, sizeof w);
    bool ok = hw_walk(&e->cpu->paging, va, HW_ACC_INSPECT, &w, &f);
    bool nx = md->entry_bytes == 8;
    int wide = md->canonical ? 16 : 8;
    fprintf(out, "  kd> !pte %0*" PRIx64 "\n", wide, va);
    va_t entry_va[HW_MAX_LEVELS + 1];
    va_t a = va;
    for (unsigned l = 1; l <= md->levels; l++) entry_va[l] = a = self_step(md, self_base, a);
    unsigned lo = w.leaf_level ? w.leaf_level : 1;
    int col = nx ? 28 : 22; /* column width: "contains " + the entry */
    char line[3][512] = { "", "", "" };
    size_t n[3] = { 0, 0, 0 };
    for (unsigned l = md->levels; l >= lo; l--) {
        char cell[3][64], flags[12];
        pte_flags(flags, w.entry[l], nx, l);
        if (md->pdpte_registers && l == 3)
            snprintf(cell[0], sizeof cell[0], "PDPTE %u (register)", hw_paging_index(md, va, 3));
        else
            snprintf(cell[0], sizeof cell[0], "%s at %0*" PRIX64, level_name(md, l), wide, entry_va[l]);
        snprintf(cell[1], sizeof cell[1], "contains %0*" PRIX64, nx ? 16 : 8, w.entry[l]);
        if (!(w.entry[l] & HW_PTE_P)) snprintf(cell[2], sizeof cell[2], "not valid");
        else if (md->pdpte_registers && l == 3)
            snprintf(cell[2], sizeof cell[2], "pfn %-6" PRIx64 " present",
                     (w.entry[l] & e->cpu->paging.addr_mask) >> NTMM_PAGE_SHIFT);
        else
            snprintf(cell[2], sizeof cell[2], "pfn %-6" PRIx64 " %s",
                     (w.entry[l] & e->cpu->paging.addr_mask) >> NTMM_PAGE_SHIFT, flags);
        for (int k = 0; k < 3; k++)
            n[k] += (size_t)snprintf(line[k] + n[k], sizeof line[k] - n[k], "  %-*s", col, cell[k]);
        if (l == 1) break;
    }
    fprintf(out, "%s\n%s\n%s\n", line[0], line[1], line[2]);
    if (ok)
        fprintf(out, "  -> physical %0*" PRIx64 " (%s page)\n\n", nx ? 12 : 8, w.pa,
                w.page_size == NTMM_PAGE_SIZE ? "4 KiB" : w.page_size == NTMM_MIB(2) ? "2 MiB"
                : w.page_size == NTMM_MIB(4) ? "4 MiB" : "1 GiB");
    else
        fprintf(out, "  -> no translation: #PF error code %#x\n\n", f.error_code);
}

static void show_fault(FILE *out, const char *what, const ntmm_fault_t *f)
{
    static const char *const vec[] = { [NTMM_VEC_PF] = "#PF", [NTMM_VEC_GP] = "#GP", [NTMM_VEC_SS] = "#SS",
                                       [NTMM_VEC_NP] = "#NP", [NTMM_VEC_MC] = "#MC" };
    fprintf(out, "  %-44s %s", what, f->vector < NTMM_ARRAY_SIZE(vec) && vec[f->vector] ? vec[f->vector] : "?");
    if (f->vector == NTMM_VEC_PF)
        fprintf(out, " CR2=%" PRIx64 " error=%#x (%s, %s, %s%s%s)\n", f->address, f->error_code,
                f->error_code & NTMM_PF_P ? "protection" : "not present",
                f->error_code & NTMM_PF_W ? "write" : (f->error_code & NTMM_PF_I) ? "fetch" : "read",
                f->error_code & NTMM_PF_U ? "user" : "supervisor",
                f->error_code & NTMM_PF_RSVD ? ", reserved bit" : "", "");
    else
        fprintf(out, " error=%#x address=%" PRIx64 "\n", f->error_code, f->address);
}

static int walk_mode(FILE *out, ntmm_paging_mode_t mode)
{
    hwenv_t e;
    if (!hwenv_init(&e, mode, NULL)) {
        fprintf(stderr, "ntmm: cannot set up %d\n", (int)mode);
        return 1;
    }
    const hw_paging_mode_t *md = e.b.mode;
    bool wide = md->canonical;
    va_t user = wide ? 0x00007FF712345678ull : 0x08147258u;   /* seed 001's linear address */
    va_t kern = wide ? 0xFFFFF80000200000ull : 0x80400000u;   /* a kernel image, large page */
    va_t gone = wide ? 0x0000000000450000ull : 0x00450000u;   /* reserved, not committed */
    uint64_t large = md->entry_bytes == 4 ? NTMM_MIB(4) : NTMM_MIB(2);
    ptb_map(&e.b, user & ~(va_t)NTMM_PAGE_MASK, HWENV_DATA, NTMM_PAGE_SIZE, HW_PTE_RW | HW_PTE_US);
    ptb_map(&e.b, kern, ntmm_align_up(HWENV_DATA + NTMM_MIB(4), large), large, HW_PTE_RW | HW_PTE_G);
    ptb_map(&e.b, gone, HWENV_DATA + 0x3000, NTMM_PAGE_SIZE, HW_PTE_RW | HW_PTE_US);
    ptb_write(&e.b, ptb_entry_pa(&e.b, gone, 1), 0);
    va_t self = ptb_self_map(&e.b);
    ntmm_fault_t f;
    hwenv_reload_cr3(&e);

    fprintf(out, "== %s paging: %u levels, %u-byte entries, %u-bit linear addresses; self-map at %0*" PRIx64 "\n\n",
            md->name, md->levels, md->entry_bytes, md->va_bits, wide ? 16 : 8, self);
    uint64_t v = 0;
    for (unsigned i = 0; i < 64; i++) {
        hw_store64(e.cpu, user + 8u * (i % 8u), 0x6d6d746e, &f); /* writes: set A and D */
        hw_load64(e.cpu, kern + 0x1000 + 8u * i, &v, &f);         /* reads: set A */
    }
    show_pte(out, &e, self, user);
    show_pte(out, &e, self, kern + 0x1000);
    show_pte(out, &e, self, gone);

    hw_cpu_set_cpl(e.cpu, 3);
    hw_load64(e.cpu, gone, &v, &f);
    show_fault(out, "user read of a not-present page:", &f);
    hw_load64(e.cpu, kern, &v, &f);
    show_fault(out, "user read of a kernel page:", &f);
    if (wide) {
        hw_load64(e.cpu, md->va_bits == 57 ? 0x0100000000000000ull : 0x0000800000000000ull, &v, &f);
        show_fault(out, "non-canonical address:", &f);
    }
    hw_cpu_set_cpl(e.cpu, 0);
    hw_cpu_stats_t s = hw_cpu_stats(e.cpu);
    if (NTMM_STATS)
        fprintf(out, "  TLB: %" PRIu64 " hits, ", s.tlb_hits);
    else
        fprintf(out, "  TLB: hits not counted (NTMM_STATS=OFF), ");
    fprintf(out, "%" PRIu64 " misses, %" PRIu64 " flushes; %" PRIu64 " page faults\n\n", s.tlb_misses,
            s.tlb_flushes, s.page_faults);
    int rc = hw_machine_check(e.m) ? 0 : 1;
    hwenv_destroy(&e);
    return rc;
}

static void show_lists(FILE *out, mm_pfndb_t *db, const char *when)
{
    ntmm_memory_stats_t s;
    mm_pfn_stats(db, &s);
    fprintf(out, "  %-48s %6" PRIu64 " %6" PRIu64 " %7" PRIu64 " %8" PRIu64 " %6" PRIu64 " %5" PRIu64 "\n", when,
            s.zeroed, s.free, s.standby, s.modified, s.active, s.bad);
}

/*
 * The PFN database at work (RAMMap's view): a process's pages go through the lists as NT
 * moves them. The "page table" is one frame whose slots stand for the process's PTEs.
 */
static int walk_pfn_database(FILE *out)
{
    hw_machine_t *m;
    mm_pfndb_t db;
    ntmm_hw_config_t cfg = { .ram_bytes = NTMM_MIB(8) };
    if (hw_machine_create(&cfg, &m) != NTMM_STATUS_SUCCESS) return 1;
    if (mm_pfndb_init(&db, m, NTMM_FRAMES_NT_LISTS, 8) != NTMM_STATUS_SUCCESS) {
        hw_machine_destroy(m);
        return 1;
    }
    enum { PAGES = 300 };
    pfn_t table, page[PAGES];
    fprintf(out, "== the PFN database: %" PRIu64 " frames of RAM, NT's page lists\n\n", db.ram_frames);
    fprintf(out, "  %-48s %6s %6s %7s %8s %6s %5s\n", "", "zeroed", "free", "standby", "modified", "active", "bad");
    show_lists(out, &db, "after boot (fresh RAM reads as zero)");
    mm_pfn_lock(&db);
    mm_pfn_allocate(&db, MM_ALLOC_ZEROED, NTMM_USE_PAGE_TABLE, 0, 0, &table);
    pa_t pt = table << NTMM_PAGE_SHIFT;
    for (unsigned i = 0; i < PAGES; i++) {
        pa_t pte = pt + 8u * (i % 512u);
        mm_pfn_allocate(&db, MM_ALLOC_ZEROED, NTMM_USE_PROCESS_PRIVATE, pte, 0, &page[i]);
        ntmm_le_store(hw_phys_host(&m->phys, pte), (page[i] << NTMM_PAGE_SHIFT) | HW_PTE_P | HW_PTE_RW, 8);
        memset(hw_phys_host(&m->phys, page[i] << NTMM_PAGE_SHIFT), 0x42, 64);
    }
    mm_pfn_unlock(&db);
    show_lists(out, &db, "a process demand-zeroes 300 pages");
    mm_pfn_lock(&db);
    for (unsigned i = 0; i < 150; i++) { /* the working-set manager trims half: transition PTEs */
        pa_t pte = pt + 8u * i;
        ntmm_le_store(hw_phys_host(&m->phys, pte), (page[i] << NTMM_PAGE_SHIFT) | NTMM_BIT(11), 8);
        if (i % 3 == 0) mm_pfn_set_modified(&db, page[i], true);
        mm_pfn_remove_share(&db, page[i]);
    }
    mm_pfn_unlock(&db);
    show_lists(out, &db, "150 trimmed: clean -> standby, dirty -> modified");
    mm_pfn_lock(&db);
    for (unsigned i = 200; i < PAGES; i++) {
        mm_pfn_free(&db, page[i]);
        ntmm_le_store(hw_phys_host(&m->phys, pt + 8u * i), 0, 8);
    }
    mm_pfn_unlock(&db);
    show_lists(out, &db, "100 released (VirtualFree): free list");
    mm_pfn_lock(&db);
    mm_pfn_reclaim(&db, page[1]);
    ntmm_le_store(hw_phys_host(&m->phys, pt + 8u), (page[1] << NTMM_PAGE_SHIFT) | HW_PTE_P | HW_PTE_RW, 8);
    mm_pfn_unlock(&db);
    show_lists(out, &db, "a soft fault takes one standby page back");
    mm_zero_step(&db, 64);
    show_lists(out, &db, "the zero page thread runs for 64 pages");
    mm_pfn_lock(&db);
    for (unsigned i = 0; i < 150; i += 3) mm_pfn_written(&db, page[i]);
    mm_pfn_unlock(&db);
    show_lists(out, &db, "the modified page writer writes 50 pages");
    pfn_t f;
    mm_pfn_lock(&db);
    while (mm_pfn_allocate(&db, MM_ALLOC_ANY, NTMM_USE_NONPAGED_POOL, 0, 0, &f) == NTMM_STATUS_SUCCESS) {
    }
    mm_pfn_unlock(&db);
    show_lists(out, &db, "nonpaged pool takes everything (repurposing)");
    ntmm_memory_stats_t s;
    mm_pfn_stats(&db, &s);
    fprintf(out, "\n  RAMMap use counts:");
    for (int u = 0; u < NTMM_USE_COUNT; u++)
        if (s.by_use[u]) fprintf(out, "  %s %" PRIu64, ntmm_page_use_name((ntmm_page_use_t)u), s.by_use[u]);
    fprintf(out, "\n  zeroed by the step %" PRIu64 ", zeroed on demand %" PRIu64 ", standby repurposed %" PRIu64 "\n\n",
            s.zeroed_by_step, s.zeroed_on_demand, s.repurposed);
    int rc = mm_pfn_check(&db) ? 0 : 1;
    mm_pfndb_destroy(&db);
    hw_machine_destroy(m);
    return rc;
}

int ntmm_walkthrough(FILE *out)
{
    hw_machine_t *m;
    if (hw_machine_create(NULL, &m) != NTMM_STATUS_SUCCESS) return 1;
    fprintf(out, "ntmm: a simulated machine with %" PRIu64 " MiB of RAM; physical memory map:\n",
            m->phys.ram_bytes >> 20);
    for (size_t i = 0; i < m->phys.map_count; i++) {
        const ntmm_mem_range_t *r = &m->phys.map[i];
        fprintf(out, "  %016" PRIx64 "-%016" PRIx64 "  %s\n", r->base, r->base + r->length - 1,
                r->type == NTMM_MEM_USABLE ? "usable" : "reserved");
    }
    fprintf(out, "\n");
    hw_machine_destroy(m);
    int rc = 0;
    const ntmm_paging_mode_t modes[] = { NTMM_PAGING_X86, NTMM_PAGING_PAE, NTMM_PAGING_X64, NTMM_PAGING_X64_LA57 };
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(modes); i++) rc |= walk_mode(out, modes[i]);
    rc |= walk_pfn_database(out);
    return rc;
}
