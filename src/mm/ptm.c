/*
 * ptm.c - page-table management (ptm.h): entries, table frames from the PFN database, per-table
 * entry counts, creation on demand, freeing empty tables, and the range walker.
 *
 * NT routines modelled: MiMakePdeExistAndMakeValid, MI_WRITE_VALID_PTE / MI_WRITE_INVALID_PTE,
 * MI_INCREMENT_USED_PTES_BY_HANDLE / MI_DECREMENT_USED_PTES_BY_HANDLE, MiDeletePageTablesForRange,
 * and the x86 propagation of new system PDEs into every process.
 */
#include "mm/ptm.h"

#include "base/bugcheck.h"
#include "base/debug.h"
#include "mm/aspace.h"

/* ---- small helpers ---------------------------------------------------------------------------- */

static inline mm_system_space_t *ptm_sys(const mm_aspace_t *as) { return as->sys; }
static inline unsigned ptm_eb(const mm_aspace_t *as) { return as->mode->entry_bytes; }
static inline unsigned ptm_entries(const mm_aspace_t *as) { return NTMM_PAGE_SIZE / as->mode->entry_bytes; }

static inline uint8_t *ptm_host(const mm_aspace_t *as, pa_t pa)
{
    return hw_phys_host(&as->sys->machine->phys, pa);
}

static ntmm_status_t ptm_bugcheck(const mm_aspace_t *as, uint64_t why, uint64_t p2, uint64_t p3, uint64_t p4)
{
    return NTMM_BUGCHECK(&as->sys->machine->bugcheck, NTMM_BUGCHECK_MEMORY_MANAGEMENT, why, p2, p3, p4);
}

/* Sign-extends a linear address of a canonical mode from its top bit (identity for 32-bit modes). */
static inline va_t ptm_canon(const hw_paging_mode_t *m, va_t va)
{
    if (!m->canonical) return va;
    unsigned sh = 64u - m->va_bits;
    return (va_t)((int64_t)(va << sh) >> sh);
}

/* The linear address entry idx of a table at `level` maps, given the address its entry 0 maps. */
static inline va_t ptm_entry_va(const hw_paging_mode_t *m, va_t base, unsigned level, unsigned idx)
{
    return ptm_canon(m, base + (uint64_t)idx * hw_paging_level_size(m, level));
}

/* Entries a table at `level` has: 4 for the PAE PDPT, else a page's worth. */
static inline unsigned ptm_table_entries(const mm_aspace_t *as, unsigned level)
{
    return (as->mode->pdpte_registers && level == as->mode->levels) ? 4u : ptm_entries(as);
}

hw_pte_t mm_ptm_read(const mm_aspace_t *as, pa_t entry_pa)
{
    const uint8_t *p = ptm_host(as, entry_pa);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (ptm_eb(as) == 8) return __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_ACQUIRE);
    return __atomic_load_n((const uint32_t *)(const void *)p, __ATOMIC_ACQUIRE);
#else
    return ntmm_le_load(p, ptm_eb(as));
#endif
}

/* One atomic exchange of the entry; returns its previous contents. */
static hw_pte_t ptm_xchg(const mm_aspace_t *as, pa_t entry_pa, hw_pte_t value)
{
    uint8_t *p = ptm_host(as, entry_pa);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (ptm_eb(as) == 8) return __atomic_exchange_n((uint64_t *)(void *)p, value, __ATOMIC_ACQ_REL);
    return __atomic_exchange_n((uint32_t *)(void *)p, (uint32_t)value, __ATOMIC_ACQ_REL);
#else
    hw_pte_t old = ntmm_le_load(p, ptm_eb(as));
    ntmm_le_store(p, value, ptm_eb(as));
    return old;
#endif
}

pa_t mm_ptm_entry_pa(const mm_aspace_t *as, hw_pte_t e)
{
    return ptm_eb(as) == 4 ? (e & HW_PTE32_FRAME) : (e & NTMM_BITS(51, 12));
}

bool mm_ptm_is_large(const mm_aspace_t *as, hw_pte_t e, unsigned level)
{
    return level > 1 && (e & HW_PTE_P) && (e & HW_PTE_PS) && (as->mode->large_levels & (1u << level)) &&
           !(as->mode->pdpte_registers && level == as->mode->levels);
}

mm_ptm_counts_t mm_ptm_counts(const mm_aspace_t *as, pfn_t table)
{
    mm_ptm_counts_t c = { 0, 0 };
    const mm_system_space_t *sys = ptm_sys(as);
    if (table < sys->db->frames) {
        c.valid = __atomic_load_n(&sys->counts[table].valid, __ATOMIC_RELAXED);
        c.used = __atomic_load_n(&sys->counts[table].used, __ATOMIC_RELAXED);
    }
    return c;
}

/* Adds delta (-1, 0, +1) to a count of the table holding an entry; out of range is corruption. */
static void ptm_count_add(const mm_aspace_t *as, pfn_t table, uint16_t *count, int delta)
{
    if (delta == 0) return;
    uint16_t before = __atomic_fetch_add(count, (uint16_t)delta, __ATOMIC_RELAXED);
    if ((delta < 0 && before == 0) || (delta > 0 && before >= ptm_entries(as)))
        ptm_bugcheck(as, MM_BUGCHECK_TABLE_CORRUPT, table, before, (uint64_t)(int64_t)delta);
}

/* The counts follow an entry going from old to new. */
static void ptm_count(const mm_aspace_t *as, pa_t entry_pa, hw_pte_t old, hw_pte_t new_value)
{
    pfn_t table = entry_pa >> NTMM_PAGE_SHIFT;
    mm_ptm_counts_t *c = &ptm_sys(as)->counts[table];
    ptm_count_add(as, table, &c->valid, (int)((new_value & HW_PTE_P) != 0) - (int)((old & HW_PTE_P) != 0));
    ptm_count_add(as, table, &c->used, (int)(new_value != 0) - (int)(old != 0));
}

/* A write and its count update, without propagation. */
static hw_pte_t ptm_store(const mm_aspace_t *as, pa_t entry_pa, hw_pte_t value)
{
    hw_pte_t old = ptm_xchg(as, entry_pa, value);
    ptm_count(as, entry_pa, old, value);
    return old;
}

/* The copied-entries record of the System-process table at table_pa, or NULL. */
static const mm_sys_copied_t *ptm_copied(const mm_system_space_t *sys, pa_t table_pa)
{
    for (unsigned i = 0; i < sys->copied_count; i++)
        if (sys->copied[i].table == table_pa) return &sys->copied[i];
    return NULL;
}

static inline bool ptm_copied_index(const mm_sys_copied_t *c, unsigned idx)
{
    return idx >= c->first && idx < c->end && !(idx >= c->skip_first && idx < c->skip_end);
}

hw_pte_t mm_ptm_write(mm_aspace_t *as, pa_t entry_pa, hw_pte_t value)
{
    hw_pte_t old = ptm_store(as, entry_pa, value);
    const mm_system_space_t *sys = ptm_sys(as);
    const mm_sys_copied_t *c = sys->copied_count ? ptm_copied(sys, entry_pa & ~(pa_t)NTMM_PAGE_MASK) : NULL;
    if (c) {
        unsigned idx = (unsigned)((entry_pa & NTMM_PAGE_MASK) / ptm_eb(as));
        if (ptm_copied_index(c, idx))
            for (const mm_aspace_t *p = sys->processes; p; p = p->next) {
                pa_t table = c->level == p->mode->levels ? p->root : p->pae_pd[c->pae_slot];
                ptm_store(p, table + (pa_t)idx * ptm_eb(as), value);
            }
    }
    return old;
}

/* ---- table frames ------------------------------------------------------------------------------- */

ntmm_status_t mm_ptm_new_table(mm_aspace_t *owner, pa_t parent_pa, int self_index, hw_pte_t flags, pa_t *table)
{
    mm_system_space_t *sys = ptm_sys(owner);
    mm_pfndb_t *db = sys->db;
    /* 32-bit paging reaches 4 GiB only; CR3 holds 32 bits outside long mode (the PAE PDPT). */
    bool low = owner->mode->entry_bytes == 4 || (owner->mode->pdpte_registers && !parent_pa && self_index < 0);
    const pfn_t highest = (NTMM_GIB(4) >> NTMM_PAGE_SHIFT) - 1u;
    pfn_t pfn;
    *table = 0;
    mm_pfn_lock(db);
    ntmm_status_t st = mm_pfn_allocate(db, MM_ALLOC_ZEROED, NTMM_USE_PAGE_TABLE, self_index < 0 ? parent_pa : 0, 0, &pfn);
    if (st == NTMM_STATUS_SUCCESS && low && pfn > highest) {
        /* Too high: a zeroed frame below 4 GiB instead, made to look like mm_pfn_allocate's. */
        pfn_t high = pfn;
        st = mm_pfn_allocate_contiguous(db, 1, 1, highest, NTMM_USE_PAGE_TABLE, true, &pfn);
        if (st == NTMM_STATUS_SUCCESS) {
            /* contiguous frames come pinned (share 0, reference 1): become a mapped frame
             * instead (share 1, reference 1: the mapping's) */
            mm_pfn_entry(db, pfn)->pte_pa = self_index < 0 ? parent_pa : 0;
            st = mm_pfn_add_share(db, pfn);
            if (st == NTMM_STATUS_SUCCESS) st = mm_pfn_remove_ref(db, pfn);
        }
        ntmm_status_t st2 = mm_pfn_free(db, high);
        if (st == NTMM_STATUS_SUCCESS) st = st2;
    }
    if (st != NTMM_STATUS_SUCCESS) {
        mm_pfn_unlock(db);
        return st == NTMM_STATUS_MACHINE_HALTED ? st : NTMM_STATUS_NO_MEMORY;
    }
    pa_t t = pfn << NTMM_PAGE_SHIFT;
    sys->counts[pfn] = (mm_ptm_counts_t){ 0, 0 };
    if (self_index >= 0) {
        parent_pa = t + (pa_t)self_index * ptm_eb(owner);
        mm_pfn_entry(db, pfn)->pte_pa = parent_pa;
    }
    /* The table is zeroed before the entry that publishes it (release order in the exchange). */
    if (parent_pa) mm_ptm_write(owner, parent_pa, t | flags);
    mm_pfn_unlock(db);
    owner->table_frames++;
    *table = t;
    return NTMM_STATUS_SUCCESS;
}

/*
 * True if entry idx of table `table` (at level, entry 0 mapping base) is one the owner does not
 * own the meaning of: a copied system-space entry of a process, or a self-map entry.
 */
static bool ptm_entry_is_copy(const mm_aspace_t *owner, pa_t table, unsigned level, va_t base, unsigned idx)
{
    const mm_system_space_t *sys = ptm_sys(owner);
    if (level == sys->self_level && idx >= sys->self_first && idx < sys->self_first + sys->self_count &&
        table == (sys->self_level == owner->mode->levels ? owner->root : owner->pae_pd[sys->self_slot]))
        return true;
    return !owner->system && level > 1 && ptm_entry_va(owner->mode, base, level, idx) >= sys->system_start;
}

/* True if the frame an invalid entry names is remembered by it (a transition PTE). PFN lock held. */
static bool ptm_entry_references(const mm_aspace_t *as, pa_t entry_pa, hw_pte_t e)
{
    const mm_pfndb_t *db = ptm_sys(as)->db;
    pfn_t f = mm_ptm_entry_pa(as, e) >> NTMM_PAGE_SHIFT;
    if (f >= db->frames) return false;
    const mm_pfn_t *p = mm_pfn_entry(db, f);
    return p->pte_pa == entry_pa && p->location != MM_ZEROED && p->location != MM_FREE &&
           p->location != MM_BAD && p->location != MM_NOT_RAM && !(p->flags & MM_PFN_DELETED);
}

ntmm_status_t mm_ptm_delete_table(mm_aspace_t *owner, pa_t parent_pa, pa_t table, unsigned level, va_t va_base)
{
    mm_system_space_t *sys = ptm_sys(owner);
    mm_pfndb_t *db = sys->db;
    pfn_t pfn = table >> NTMM_PAGE_SHIFT;
    unsigned eb = ptm_eb(owner), n = ptm_table_entries(owner, level);
    mm_pfn_lock(db);
    /* An empty table (used count 0) holds only zeros: the scan that proves no entry still
     * maps or remembers a frame is needed only when it is not empty, or to validate the
     * counts themselves in a debug build. */
    bool scan = NTMM_DEBUG >= 2 || sys->counts[pfn].used != 0 || level == owner->mode->levels;
    for (unsigned i = 0; scan && i < n; i++) {
        pa_t epa = table + (pa_t)i * eb;
        hw_pte_t e = mm_ptm_read(owner, epa);
        if (e == 0 || ptm_entry_is_copy(owner, table, level, va_base, i)) continue;
        if ((e & HW_PTE_P) || ptm_entry_references(owner, epa, e)) {
            mm_pfn_unlock(db);
            return ptm_bugcheck(owner, MM_BUGCHECK_TABLE_CORRUPT, pfn, mm_ptm_counts(owner, pfn).used, epa);
        }
    }
    if (parent_pa) mm_ptm_write(owner, parent_pa, 0);
    sys->counts[pfn] = (mm_ptm_counts_t){ 0, 0 };
    ntmm_status_t st = mm_pfn_free(db, pfn);
    mm_pfn_unlock(db);
    if (st != NTMM_STATUS_SUCCESS) return st;
    NTMM_ASSERT(owner->table_frames > 0);
    owner->table_frames--;
    return NTMM_STATUS_SUCCESS;
}

/* ---- finding entries ------------------------------------------------------------------------------ */

/* The address space whose tables hold va: the System process's for system space. */
static mm_aspace_t *ptm_tree(mm_aspace_t *as, va_t va)
{
    return va >= ptm_sys(as)->system_start ? &ptm_sys(as)->master : as;
}

/* True if va exists in the mode's linear address space and in this address space. */
static bool ptm_va_ok(const mm_aspace_t *as, va_t va)
{
    const hw_paging_mode_t *m = as->mode;
    if (m->va_bits == 32 ? va > UINT32_MAX : !hw_paging_canonical(m, va)) return false;
    return !(as->system && va < ptm_sys(as)->system_start); /* the System process has no user space */
}

static inline bool ptm_in_window(const mm_system_space_t *sys, va_t first, va_t last)
{
    return first <= sys->window_last && last >= sys->window_first;
}

/* Flags of an entry at `level` that points to a new table mapping va. */
static hw_pte_t ptm_table_flags(const mm_aspace_t *as, va_t va, unsigned level)
{
    if (as->mode->pdpte_registers && level == as->mode->levels) return HW_PTE_P;
    if (va >= ptm_sys(as)->system_start) return HW_PTE_P | HW_PTE_RW;
    return HW_PTE_P | HW_PTE_RW | HW_PTE_US;
}

/* Creates the table an empty upper entry at `level` should point to; returns its address. */
static ntmm_status_t ptm_create_below(mm_aspace_t *tree, pa_t entry_pa, va_t va, unsigned level, pa_t *table)
{
    return mm_ptm_new_table(tree, entry_pa, -1, ptm_table_flags(tree, va, level), table);
}

/* An upper entry that is not present must be 0: tables are never paged out. */
static ntmm_status_t ptm_corrupt_upper(const mm_aspace_t *as, pa_t entry_pa, hw_pte_t e)
{
    return ptm_bugcheck(as, MM_BUGCHECK_PTE_CORRUPT, entry_pa, e, 0);
}

/*
 * Walks tree for va down to `target`, creating missing tables if create. On success *entry_pa is
 * va's entry at target. Stops early with *entry_pa and *level at a large page (CONFLICTING_ADDRESSES)
 * or, without create, at a missing table (its empty parent entry; status NOT_COMMITTED).
 */
static ntmm_status_t ptm_descend(mm_aspace_t *tree, va_t va, unsigned target, bool create, pa_t *entry_pa,
                                 unsigned *level)
{
    const hw_paging_mode_t *m = tree->mode;
    pa_t table = tree->root;
    for (unsigned l = m->levels;; l--) {
        pa_t epa = table + (pa_t)hw_paging_index(m, va, l) * m->entry_bytes;
        *entry_pa = epa;
        *level = l;
        if (l == target) return NTMM_STATUS_SUCCESS;
        hw_pte_t e = mm_ptm_read(tree, epa);
        if (!(e & HW_PTE_P)) {
            if (e != 0) return ptm_corrupt_upper(tree, epa, e);
            if (!create) return NTMM_STATUS_NOT_COMMITTED;
            ntmm_status_t st = ptm_create_below(tree, epa, va, l, &table);
            if (st != NTMM_STATUS_SUCCESS) return st;
            continue;
        }
        if (mm_ptm_is_large(tree, e, l)) return NTMM_STATUS_CONFLICTING_ADDRESSES;
        table = mm_ptm_entry_pa(tree, e);
    }
}

pa_t mm_ptm_lookup(mm_aspace_t *as, va_t va, unsigned *level)
{
    pa_t epa = 0;
    unsigned l = 0;
    if (!ptm_va_ok(as, va)) {
        if (level) *level = 0;
        return 0;
    }
    ntmm_status_t st = ptm_descend(ptm_tree(as, va), va, 1, false, &epa, &l);
    if (st == NTMM_STATUS_MACHINE_HALTED) epa = 0, l = 0;
    if (level) *level = l;
    return epa;
}

ntmm_status_t mm_ptm_ensure(mm_aspace_t *as, va_t va, unsigned level, pa_t *entry_pa)
{
    unsigned l;
    *entry_pa = 0;
    if (!ptm_va_ok(as, va) || level < 1 || level > as->mode->levels || ptm_in_window(ptm_sys(as), va, va))
        return NTMM_STATUS_INVALID_PARAMETER;
    ntmm_status_t st = ptm_descend(ptm_tree(as, va), va, level, true, entry_pa, &l);
    if (st != NTMM_STATUS_SUCCESS && st != NTMM_STATUS_CONFLICTING_ADDRESSES) *entry_pa = 0;
    return st;
}

/* ---- ranges --------------------------------------------------------------------------------------- */

/*
 * Validates [start, end) (end 0: the top of the address space) and gives its last byte: both
 * ends in the mode's address space, on the same side of the system start (one canonical half).
 */
static bool ptm_range(const mm_aspace_t *as, va_t start, va_t end, va_t *last)
{
    *last = end - 1u;
    if (end != 0 && end <= start) return false;
    if (as->mode->va_bits == 32 && end == 0) *last = UINT32_MAX;
    if (!ptm_va_ok(as, start) || !ptm_va_ok(as, *last)) return false;
    va_t sys_start = ptm_sys(as)->system_start;
    if ((start >= sys_start) != (*last >= sys_start)) return false;
    /* Canonical at both ends and on one side of the hole: the lower half starts at 0 and the
     * system start lies in the upper half, so the range cannot straddle the hole. */
    return !(as->mode->canonical && (start >> 63) != (*last >> 63));
}

/* The last byte of the entry at `level` covering va (wraps to the top at 2^64 - 1). */
static inline va_t ptm_entry_last(const hw_paging_mode_t *m, va_t va, unsigned level)
{
    uint64_t size = hw_paging_level_size(m, level);
    return ntmm_align_down(va, size) + (size - 1u);
}

/* Is the entry at `level` covering va a self-map entry (it points back up the tree)? */
static inline bool ptm_is_self_entry(const mm_aspace_t *tree, va_t va, unsigned level)
{
    const mm_system_space_t *sys = ptm_sys(tree);
    return level == sys->self_level && va >= sys->window_first && va <= sys->window_last;
}

/* Is the table at `level` mapping va one that is never freed while its owner lives? */
static bool ptm_permanent(const mm_aspace_t *tree, va_t va, unsigned level)
{
    const hw_paging_mode_t *m = tree->mode;
    if (level >= m->levels) return true;
    if (m->pdpte_registers && level == 2) return true;           /* PAE page directories */
    return m->canonical && level == m->levels - 1u && va >= ptm_sys(tree)->system_start; /* preallocated */
}

/*
 * Frees the tables below `table` (at `level`, entries covering [first, last]) that are empty, or
 * all of them if force; bottom-up. *freed counts frames.
 */
static ntmm_status_t ptm_free_tables(mm_aspace_t *tree, pa_t table, unsigned level, va_t first, va_t last,
                                     bool force, uint64_t *freed)
{
    const hw_paging_mode_t *m = tree->mode;
    if (level == 1) return NTMM_STATUS_SUCCESS;
    for (va_t va = first;;) {
        va_t entry_last = ptm_entry_last(m, va, level);
        va_t sub_last = entry_last < last ? entry_last : last;
        pa_t epa = table + (pa_t)hw_paging_index(m, va, level) * m->entry_bytes;
        hw_pte_t e = mm_ptm_read(tree, epa);
        if (ptm_is_self_entry(tree, va, level)) {
            /* the self-map: the tables it reaches are freed as what they are */
        } else if ((e & HW_PTE_P) && !mm_ptm_is_large(tree, e, level)) {
            pa_t child = mm_ptm_entry_pa(tree, e);
            ntmm_status_t st = ptm_free_tables(tree, child, level - 1u, va, sub_last, force, freed);
            if (st != NTMM_STATUS_SUCCESS) return st;
            bool perm = force ? (m->pdpte_registers && level - 1u == 2) : ptm_permanent(tree, va, level - 1u);
            if (!perm && (force || mm_ptm_counts(tree, child >> NTMM_PAGE_SHIFT).used == 0)) {
                va_t base = ntmm_align_down(va, hw_paging_level_size(m, level));
                st = mm_ptm_delete_table(tree, epa, child, level - 1u, base);
                if (st != NTMM_STATUS_SUCCESS) return st;
                if (freed) (*freed)++;
            }
        } else if (!(e & HW_PTE_P) && e != 0) {
            return ptm_corrupt_upper(tree, epa, e);
        }
        if (entry_last >= last) return NTMM_STATUS_SUCCESS;
        va = entry_last + 1u;
    }
}

ntmm_status_t mm_ptm_free_range(mm_aspace_t *as, va_t start, va_t end, uint64_t *freed)
{
    va_t last;
    if (freed) *freed = 0;
    if (!ptm_range(as, start, end, &last)) return NTMM_STATUS_INVALID_PARAMETER;
    mm_aspace_t *tree = ptm_tree(as, start);
    return ptm_free_tables(tree, tree->root, tree->mode->levels, start, last, false, freed);
}

ntmm_status_t mm_ptm_delete_range(mm_aspace_t *as, va_t start, va_t end)
{
    va_t last;
    if (!ptm_range(as, start, end, &last)) return NTMM_STATUS_INVALID_PARAMETER;
    mm_aspace_t *tree = ptm_tree(as, start);
    return ptm_free_tables(tree, tree->root, tree->mode->levels, start, last, true, NULL);
}

/* ---- the walker ----------------------------------------------------------------------------------- */

typedef struct ptm_walk {
    mm_aspace_t *as;   /* the caller's address space, passed to the visitor */
    mm_aspace_t *tree; /* whose tables hold the range */
    unsigned flags;
    mm_ptm_visit_t visit;
    void *ctx;
} ptm_walk_t;

static ntmm_status_t ptm_walk_table(const ptm_walk_t *w, pa_t table, unsigned level, va_t first, va_t last)
{
    const hw_paging_mode_t *m = w->tree->mode;
    for (va_t va = first;;) {
        va_t entry_last = ptm_entry_last(m, va, level);
        pa_t epa = table + (pa_t)hw_paging_index(m, va, level) * m->entry_bytes;
        ntmm_status_t st = NTMM_STATUS_SUCCESS;
        if (level == 1) {
            st = w->visit(w->ctx, w->as, va, epa, 1);
        } else if (ptm_is_self_entry(w->tree, va, level)) {
            /* the self-map window holds no slots of its own */
        } else {
            hw_pte_t e = mm_ptm_read(w->tree, epa);
            pa_t child = 0;
            if (!(e & HW_PTE_P)) {
                if (e != 0) return ptm_corrupt_upper(w->tree, epa, e);
                if (w->flags & MM_PTM_WALK_CREATE) st = ptm_create_below(w->tree, epa, va, level, &child);
                else if (w->flags & MM_PTM_WALK_HOLES) st = w->visit(w->ctx, w->as, va, epa, level);
            } else if (mm_ptm_is_large(w->tree, e, level)) {
                st = w->visit(w->ctx, w->as, va, epa, level);
            } else {
                child = mm_ptm_entry_pa(w->tree, e);
            }
            if (st == NTMM_STATUS_SUCCESS && child)
                st = ptm_walk_table(w, child, level - 1u, va, entry_last < last ? entry_last : last);
        }
        if (st != NTMM_STATUS_SUCCESS) return st;
        if (entry_last >= last) return NTMM_STATUS_SUCCESS;
        va = entry_last + 1u;
    }
}

ntmm_status_t mm_ptm_walk(mm_aspace_t *as, va_t start, va_t end, unsigned flags, mm_ptm_visit_t visit, void *ctx)
{
    va_t last;
    if (!visit || !ptm_range(as, start, end, &last)) return NTMM_STATUS_INVALID_PARAMETER;
    if ((flags & MM_PTM_WALK_CREATE) && ptm_in_window(ptm_sys(as), start, last)) return NTMM_STATUS_INVALID_PARAMETER;
    ptm_walk_t w = { as, ptm_tree(as, start), flags, visit, ctx };
    return ptm_walk_table(&w, w.tree->root, w.tree->mode->levels, start, last);
}
