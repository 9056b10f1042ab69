/*
 * aspace.c - address spaces (aspace.h): the system space and the System process's tables,
 * process creation (MmCreateProcessAddressSpace), teardown (MmDeleteProcessAddressSpace),
 * loading CR3 (KiSwapProcess), and the invariant checkers.
 */
#include "mm/aspace.h"

#include "base/bugcheck.h"
#include "base/debug.h"

#define TABLE_RW (HW_PTE_P | HW_PTE_RW)

/* ---- shape of a mode under a layout ---------------------------------------------------------------- */

static inline unsigned as_eb(const mm_aspace_t *as) { return as->mode->entry_bytes; }

/* PAE: is PDPT slot i a directory of each process's own (it maps user space, or holds the self-map)? */
static bool pae_slot_private(const mm_system_space_t *sys, unsigned slot)
{
    return ((va_t)slot << 30) < sys->system_start || slot == sys->self_slot;
}

/* Entries of a table at `level` that map system space: [first, end). */
static void system_entries(const mm_system_space_t *sys, va_t base, unsigned level, unsigned *first, unsigned *end)
{
    const hw_paging_mode_t *m = sys->mode;
    unsigned n = (m->pdpte_registers && level == m->levels) ? 4u : NTMM_PAGE_SIZE / m->entry_bytes;
    uint64_t size = hw_paging_level_size(m, level);
    unsigned f = n;
    for (unsigned i = 0; i < n; i++) {
        va_t va = base + (uint64_t)i * size;
        if (m->canonical) {
            unsigned sh = 64u - m->va_bits;
            va = (va_t)((int64_t)(va << sh) >> sh);
        }
        if (va >= sys->system_start) {
            f = i;
            break;
        }
    }
    *first = f;
    *end = n;
}

/* Derives the self-map slot, checks the layout's alignment and fills the system's geometry. */
static bool system_geometry(mm_system_space_t *sys)
{
    const hw_paging_mode_t *m = sys->mode;
    va_t pte_base = sys->paging->pte_base;
    uint64_t window = mm_layout_window_size(m->id);
    sys->system_start = sys->paging->system_start;
    sys->window_first = pte_base;
    sys->window_last = pte_base + (window - 1u);
    if (pte_base & (window - 1u) || pte_base < sys->system_start) return false;
    if (m->pdpte_registers) {
        sys->self_level = 2;
        sys->self_slot = hw_paging_index(m, pte_base, 3);
        sys->self_first = hw_paging_index(m, pte_base, 2);
        sys->self_count = 4;
        /* The private system-space slots must be the self-map's alone (ptm skips one run). */
        for (unsigned s = 0; s < 4; s++)
            if (((va_t)s << 30) >= sys->system_start && pae_slot_private(sys, s) && s != sys->self_slot) return false;
        return (sys->system_start & (hw_paging_level_size(m, 2) - 1u)) == 0;
    }
    sys->self_level = m->levels;
    sys->self_slot = 0;
    sys->self_first = hw_paging_index(m, pte_base, m->levels);
    sys->self_count = 1;
    return (sys->system_start & (hw_paging_level_size(m, m->levels) - 1u)) == 0;
}

/* The copied-entry records, from the System process's tables. */
static void system_copied(mm_system_space_t *sys)
{
    const hw_paging_mode_t *m = sys->mode;
    mm_aspace_t *ms = &sys->master;
    mm_sys_copied_t *c;
    unsigned first, end;
    sys->copied_count = 0;
    system_entries(sys, 0, m->levels, &first, &end);
    if (!m->pdpte_registers) {
        c = &sys->copied[sys->copied_count++];
        *c = (mm_sys_copied_t){ ms->root, m->levels, 0, (uint16_t)first, (uint16_t)end, (uint16_t)sys->self_first,
                                (uint16_t)(sys->self_first + 1u) };
        return;
    }
    /* PDPT: shared slots; the self-map slot (and any private one) is skipped. */
    bool any = false;
    for (unsigned s = first; s < end; s++) any |= !pae_slot_private(sys, s);
    if (any) {
        c = &sys->copied[sys->copied_count++];
        *c = (mm_sys_copied_t){ ms->root, 3, 0, (uint16_t)first, (uint16_t)end, (uint16_t)sys->self_slot,
                                (uint16_t)(sys->self_slot + 1u) };
    }
    /* Private directories that map system space: their system PDEs. */
    for (unsigned s = 0; s < 4; s++) {
        if (!pae_slot_private(sys, s)) continue;
        system_entries(sys, (va_t)s << 30, 2, &first, &end);
        if (first == end) continue;
        c = &sys->copied[sys->copied_count++];
        bool self = s == sys->self_slot;
        *c = (mm_sys_copied_t){ ms->pae_pd[s], 2, (uint8_t)s, (uint16_t)first, (uint16_t)end,
                                (uint16_t)(self ? sys->self_first : 0), (uint16_t)(self ? sys->self_first + 4u : 0) };
    }
}

/* ---- building and freeing top levels ----------------------------------------------------------------- */

static ntmm_status_t aspace_init(mm_aspace_t *as, mm_system_space_t *sys, const mm_layout_t *layout, bool system)
{
    memset(as, 0, sizeof *as);
    as->sys = sys;
    as->layout = layout;
    as->mode = sys->mode;
    as->system = system;
    as->lock = host_mutex_create();
    return as->lock ? NTMM_STATUS_SUCCESS : NTMM_STATUS_NO_MEMORY;
}

/*
 * The top level of an address space: the root (x86/x64/LA57: with its self-map entry), and in
 * PAE the PDPT with the page directories (own ones allocated; shared ones, for a process, the
 * System process's) and the four self-map PDEs. System-space entries are copied separately.
 */
static ntmm_status_t aspace_build_top(mm_aspace_t *as)
{
    mm_system_space_t *sys = as->sys;
    const hw_paging_mode_t *m = as->mode;
    ntmm_status_t st;
    if (!m->pdpte_registers) {
        st = mm_ptm_new_table(as, 0, (int)sys->self_first, TABLE_RW, &as->root);
        as->cr3 = as->root;
        return st;
    }
    st = mm_ptm_new_table(as, 0, -1, 0, &as->root);
    if (st != NTMM_STATUS_SUCCESS) return st;
    as->cr3 = as->root;
    for (unsigned s = 0; s < 4; s++) {
        if (as->system || pae_slot_private(sys, s)) {
            st = mm_ptm_new_table(as, as->root + 8u * s, -1, HW_PTE_P, &as->pae_pd[s]);
            if (st != NTMM_STATUS_SUCCESS) return st;
            as->pae_own |= (uint8_t)(1u << s);
        } else {
            as->pae_pd[s] = sys->master.pae_pd[s];
        }
    }
    pa_t self_pd = as->pae_pd[sys->self_slot];
    for (unsigned i = 0; i < 4; i++) mm_ptm_write(as, self_pd + 8u * (sys->self_first + i), as->pae_pd[i] | TABLE_RW);
    return NTMM_STATUS_SUCCESS;
}

/* Copies the System process's system-space entries into a new process's top level. System lock held. */
static void aspace_copy_system(mm_aspace_t *as)
{
    mm_system_space_t *sys = as->sys;
    unsigned eb = as_eb(as);
    for (unsigned i = 0; i < sys->copied_count; i++) {
        const mm_sys_copied_t *c = &sys->copied[i];
        pa_t dst = c->level == as->mode->levels ? as->root : as->pae_pd[c->pae_slot];
        for (unsigned idx = c->first; idx < c->end; idx++) {
            if (idx >= c->skip_first && idx < c->skip_end) continue;
            hw_pte_t v = mm_ptm_read(&sys->master, c->table + (pa_t)idx * eb);
            if (v) mm_ptm_write(as, dst + (pa_t)idx * eb, v);
        }
    }
}

/* The last byte of the lower (user) half a process's tables cover. */
static va_t aspace_user_last(const mm_aspace_t *as)
{
    const hw_paging_mode_t *m = as->mode;
    va_t half_last = m->canonical ? NTMM_BIT(m->va_bits - 1u) - 1u : UINT32_MAX;
    va_t sys_last = as->sys->system_start - 1u;
    return sys_last < half_last ? sys_last : half_last;
}

/*
 * Frees whatever part of an address space's tables exists: user tables (process) or system
 * tables (System process), own PAE directories, the root.
 */
static ntmm_status_t aspace_free_tables(mm_aspace_t *as)
{
    mm_system_space_t *sys = as->sys;
    ntmm_status_t st = NTMM_STATUS_SUCCESS;
    if (!as->root) return st;
    if (as->system) st = mm_ptm_delete_range(as, sys->system_start, 0);
    else st = mm_ptm_delete_range(as, 0, aspace_user_last(as) + 1u);
    if (st != NTMM_STATUS_SUCCESS) return st;
    if (as->mode->pdpte_registers)
        for (unsigned s = 0; s < 4; s++) {
            if (!(as->pae_own & (1u << s))) continue;
            st = mm_ptm_delete_table(as, as->root + 8u * s, as->pae_pd[s], 2, (va_t)s << 30);
            if (st != NTMM_STATUS_SUCCESS) return st;
            as->pae_own &= (uint8_t) ~(1u << s);
        }
    st = mm_ptm_delete_table(as, 0, as->root, as->mode->levels, 0);
    if (st != NTMM_STATUS_SUCCESS) return st;
    as->root = 0;
    NTMM_ASSERT(as->table_frames == 0);
    return st;
}

/* ---- system space ---------------------------------------------------------------------------------- */

static void system_free(mm_system_space_t *sys)
{
    if (sys->counts) host_mem_release(sys->counts, sys->counts_bytes);
    if (sys->master.lock) host_mutex_destroy(sys->master.lock);
    if (sys->lock) host_mutex_destroy(sys->lock);
    host_free(sys);
}

ntmm_status_t mm_system_space_create(mm_pfndb_t *db, ntmm_paging_mode_t mode, mm_layout_id_t layout,
                                     mm_system_space_t **out)
{
    *out = NULL;
    const mm_layout_t *l = mm_layout(layout);
    const hw_paging_mode_t *m = hw_paging_mode(mode);
    if (!db || !l || !m || !mm_layout_supports(l, mode) || db->pte_bytes != m->entry_bytes)
        return NTMM_STATUS_INVALID_PARAMETER;
    if (mode == NTMM_PAGING_X64_LA57 && !hw_machine_has(db->machine, NTMM_HW_NO_LA57))
        return NTMM_STATUS_INVALID_PARAMETER;
    mm_system_space_t *sys = host_calloc(1, sizeof *sys);
    if (!sys) return NTMM_STATUS_NO_MEMORY;
    sys->db = db;
    sys->machine = db->machine;
    sys->mode = m;
    sys->layout = l;
    sys->paging = mm_layout_paging(l, mode);
    if (!system_geometry(sys)) {
        system_free(sys);
        return NTMM_STATUS_INVALID_PARAMETER;
    }
    sys->lock = host_mutex_create();
    sys->counts_bytes = ntmm_align_up(db->frames * sizeof(mm_ptm_counts_t), NTMM_PAGE_SIZE);
    sys->counts = host_mem_reserve_lazy(sys->counts_bytes);
    ntmm_status_t st = aspace_init(&sys->master, sys, l, true);
    if (!sys->lock || !sys->counts || st != NTMM_STATUS_SUCCESS) {
        sys->counts = NULL;
        system_free(sys);
        return NTMM_STATUS_NO_MEMORY;
    }
    st = aspace_build_top(&sys->master);
    if (st == NTMM_STATUS_SUCCESS) system_copied(sys);
    /* x64, LA57: the tables under the shared top-level entries, for good. */
    if (st == NTMM_STATUS_SUCCESS && m->canonical) {
        const mm_sys_copied_t *c = &sys->copied[0];
        for (unsigned idx = c->first; idx < c->end && st == NTMM_STATUS_SUCCESS; idx++) {
            if (idx >= c->skip_first && idx < c->skip_end) continue;
            pa_t t;
            st = mm_ptm_new_table(&sys->master, c->table + (pa_t)idx * m->entry_bytes, -1, TABLE_RW, &t);
        }
    }
    if (st != NTMM_STATUS_SUCCESS) {
        if (st != NTMM_STATUS_MACHINE_HALTED) aspace_free_tables(&sys->master);
        system_free(sys);
        return st;
    }
    *out = sys;
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_system_space_destroy(mm_system_space_t *sys)
{
    if (!sys) return NTMM_STATUS_INVALID_PARAMETER;
    mm_system_lock(sys);
    if (sys->processes) {
        mm_system_unlock(sys);
        return NTMM_STATUS_INVALID_PARAMETER;
    }
    ntmm_status_t st = aspace_free_tables(&sys->master);
    mm_system_unlock(sys);
    system_free(sys);
    return st;
}

/* ---- processes -------------------------------------------------------------------------------------- */

ntmm_status_t mm_aspace_create(mm_system_space_t *sys, mm_layout_id_t layout, mm_aspace_t **out)
{
    *out = NULL;
    const mm_layout_t *l = mm_layout(layout);
    if (!sys || !l) return NTMM_STATUS_INVALID_PARAMETER;
    const mm_layout_paging_t *p = mm_layout_paging(l, sys->mode->id);
    if (!p || p->system_start != sys->paging->system_start || p->pte_base != sys->paging->pte_base)
        return NTMM_STATUS_INVALID_PARAMETER;
    mm_aspace_t *as = host_calloc(1, sizeof *as);
    if (!as) return NTMM_STATUS_NO_MEMORY;
    ntmm_status_t st = aspace_init(as, sys, l, false);
    if (st != NTMM_STATUS_SUCCESS) {
        host_free(as);
        return st;
    }
    mm_system_lock(sys);
    st = aspace_build_top(as);
    if (st == NTMM_STATUS_SUCCESS) {
        aspace_copy_system(as);
        as->next = sys->processes;
        if (sys->processes) sys->processes->prev = as;
        sys->processes = as;
        sys->process_count++;
    } else if (st != NTMM_STATUS_MACHINE_HALTED) {
        aspace_free_tables(as);
    }
    mm_system_unlock(sys);
    if (st != NTMM_STATUS_SUCCESS) {
        host_mutex_destroy(as->lock);
        host_free(as);
        return st;
    }
    *out = as;
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_aspace_destroy(mm_aspace_t *as)
{
    if (!as || as->system) return NTMM_STATUS_INVALID_PARAMETER;
    mm_system_space_t *sys = as->sys;
    mm_system_lock(sys);
    if (as->prev) as->prev->next = as->next;
    else sys->processes = as->next;
    if (as->next) as->next->prev = as->prev;
    as->next = as->prev = NULL;
    sys->process_count--;
    ntmm_status_t st = aspace_free_tables(as);
    mm_system_unlock(sys);
    /* After a bugcheck the frames stay as they are (the machine is halted); the object goes. */
    host_mutex_destroy(as->lock);
    host_free(as);
    return st;
}

bool mm_aspace_load(const mm_aspace_t *as, hw_cpu_t *cpu, ntmm_fault_t *fault)
{
    if (hw_cpu_paging_mode(cpu) == as->mode->id) return hw_cpu_write_cr3(cpu, as->cr3, fault);
    return hw_cpu_enter_paging(cpu, as->mode->id, as->cr3, fault);
}

/* ---- checks ------------------------------------------------------------------------------------------ */

typedef struct check {
    mm_aspace_t *as;
    mm_system_space_t *sys;
    uint64_t tables;
} check_t;

static bool check_fail(const check_t *c, uint64_t why, uint64_t p2, uint64_t p3, uint64_t p4)
{
    NTMM_BUGCHECK(&c->sys->machine->bugcheck, NTMM_BUGCHECK_MEMORY_MANAGEMENT, why, p2, p3, p4);
    return false;
}

/* The table of the System process that holds the copies of entry idx of table `table`, or 0. */
static pa_t check_master_table(const check_t *c, pa_t table, unsigned level)
{
    const mm_aspace_t *as = c->as;
    if (level == as->mode->levels) return table == as->root ? c->sys->master.root : 0;
    for (unsigned s = 0; s < 4; s++)
        if (as->mode->pdpte_registers && level == 2 && table == as->pae_pd[s]) return c->sys->master.pae_pd[s];
    return 0;
}

/*
 * Checks the table at `table` (level, entry 0 mapping base) whose PFN entry should point at
 * pte_pa, and the tables below it that the address space owns.
 */
static bool check_table(check_t *c, pa_t table, unsigned level, va_t base, pa_t pte_pa)
{
    mm_aspace_t *as = c->as;
    mm_system_space_t *sys = c->sys;
    const hw_paging_mode_t *m = as->mode;
    const mm_pfndb_t *db = sys->db;
    pfn_t pfn = table >> NTMM_PAGE_SHIFT;
    unsigned eb = m->entry_bytes;
    if (pfn >= db->frames) return check_fail(c, MM_BUGCHECK_PTE_PFN_MISMATCH, pte_pa, table, 0);
    const mm_pfn_t *e = mm_pfn_entry(db, pfn);
    if (e->location != MM_ACTIVE || e->use != NTMM_USE_PAGE_TABLE || e->pte_pa != pte_pa || mm_pfn_share(e) != 1 ||
        e->reference_count != 1)
        return check_fail(c, MM_BUGCHECK_PTE_PFN_MISMATCH, pte_pa, table, e->pte_pa);
    c->tables++;
    unsigned n = (m->pdpte_registers && level == m->levels) ? 4u : NTMM_PAGE_SIZE / eb;
    unsigned valid = 0, used = 0;
    pa_t master_table = as->system ? 0 : check_master_table(c, table, level);
    uint64_t size = hw_paging_level_size(m, level);
    for (unsigned i = 0; i < n; i++) {
        pa_t epa = table + (pa_t)i * eb;
        hw_pte_t v = mm_ptm_read(as, epa);
        valid += (v & HW_PTE_P) != 0;
        used += v != 0;
        if (level == 1) continue;
        va_t va = base + (uint64_t)i * size;
        if (m->canonical) {
            unsigned sh = 64u - m->va_bits;
            va = (va_t)((int64_t)(va << sh) >> sh);
        }
        /* self-map entries: this address space's own top level / PAE directories */
        if (level == sys->self_level && i >= sys->self_first && i < sys->self_first + sys->self_count &&
            table == (m->pdpte_registers ? as->pae_pd[sys->self_slot] : as->root)) {
            pa_t want = m->pdpte_registers ? as->pae_pd[i - sys->self_first] : as->root;
            if ((v & (HW_PTE_P | HW_PTE_RW | HW_PTE_US | HW_PTE_PS)) != TABLE_RW || mm_ptm_entry_pa(as, v) != want)
                return check_fail(c, MM_BUGCHECK_PTE_CORRUPT, epa, v, want | TABLE_RW);
            continue;
        }
        /* a process's system-space entries: copies of the System process's (a PAE PDPTE
         * pointing to the process's own directory excepted) */
        bool own_pd = m->pdpte_registers && level == m->levels && (as->pae_own & (1u << i));
        if (!as->system && va >= sys->system_start && !own_pd) {
            hw_pte_t mv = master_table ? mm_ptm_read(&sys->master, master_table + (pa_t)i * eb) : ~v;
            if ((v ^ mv) & ~(HW_PTE_A | HW_PTE_D)) return check_fail(c, MM_BUGCHECK_PTE_CORRUPT, epa, v, mv);
            continue;
        }
        if (v == 0) continue;
        if (!(v & HW_PTE_P)) return check_fail(c, MM_BUGCHECK_PTE_CORRUPT, epa, v, 0);
        if (mm_ptm_is_large(as, v, level)) continue;
        pa_t child = mm_ptm_entry_pa(as, v);
        if (m->pdpte_registers && level == m->levels && child != as->pae_pd[i])
            return check_fail(c, MM_BUGCHECK_PTE_CORRUPT, epa, v, as->pae_pd[i]);
        if (!check_table(c, child, level - 1u, va, epa)) return false;
    }
    mm_ptm_counts_t k = mm_ptm_counts(as, pfn);
    if (k.valid != valid) return check_fail(c, MM_BUGCHECK_TABLE_CORRUPT, pfn, k.valid, valid);
    if (k.used != used) return check_fail(c, MM_BUGCHECK_TABLE_CORRUPT, pfn, k.used, used);
    return true;
}

/* Checks one address space; system-space and PFN locks held. */
static bool check_aspace(mm_aspace_t *as)
{
    check_t c = { as, as->sys, 0 };
    const hw_paging_mode_t *m = as->mode;
    if (base_bugcheck_halted(&c.sys->machine->bugcheck)) return false;
    pa_t root_pte = m->pdpte_registers ? 0 : as->root + (pa_t)c.sys->self_first * m->entry_bytes;
    if (as->cr3 != as->root) return check_fail(&c, MM_BUGCHECK_PTE_CORRUPT, as->cr3, as->root, 0);
    if (!check_table(&c, as->root, m->levels, 0, root_pte)) return false;
    if (c.tables != as->table_frames) return check_fail(&c, MM_BUGCHECK_TABLE_CORRUPT, as->root >> NTMM_PAGE_SHIFT, as->table_frames, c.tables);
    return true;
}

bool mm_aspace_check(mm_aspace_t *as)
{
    mm_system_space_t *sys = as->sys;
    mm_system_lock(sys);
    mm_pfn_lock(sys->db);
    bool ok = check_aspace(as);
    mm_pfn_unlock(sys->db);
    mm_system_unlock(sys);
    return ok;
}

bool mm_system_space_check(mm_system_space_t *sys)
{
    mm_system_lock(sys);
    mm_pfn_lock(sys->db);
    check_t c = { &sys->master, sys, 0 };
    bool ok = check_aspace(&sys->master);
    uint64_t n = 0;
    for (mm_aspace_t *p = sys->processes; ok && p; p = p->next, n++) {
        if ((p->next && p->next->prev != p) || (p == sys->processes && p->prev) || p->sys != sys || p->system)
            ok = check_fail(&c, MM_BUGCHECK_PTE_CORRUPT, 0, (uint64_t)(uintptr_t)p, n);
        else
            ok = check_aspace(p);
    }
    if (ok && n != sys->process_count) ok = check_fail(&c, MM_BUGCHECK_PTE_CORRUPT, 0, n, sys->process_count);
    mm_pfn_unlock(sys->db);
    mm_system_unlock(sys);
    return ok;
}
