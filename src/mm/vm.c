/*
 * vm.c - NT's virtual-memory services on a process: reserve, commit, decommit, release,
 * protect and query (NtAllocateVirtualMemory, NtFreeVirtualMemory, NtProtectVirtualMemory,
 * NtQueryVirtualMemory; MiQueryAddressState, MiGetPageProtection, MiDecommitPages,
 * MiDeleteVirtualAddresses, MiSetProtectionOnSection's private-memory part), processes'
 * creation and teardown, and commit accounting; write watch (NtGetWriteWatch,
 * NtResetWriteWatch; MiCaptureWriteWatchDirtyBit), locking (NtLockVirtualMemory,
 * NtUnlockVirtualMemory; MiLockVirtualMemory) and the kernel's copies between address spaces
 * (NtReadVirtualMemory, NtWriteVirtualMemory; MmCopyVirtualMemory). The fault handler is in
 * fault.c.
 *
 * The validation order of each service follows NT's, because it decides which status a call
 * with several bad arguments gets.
 */
#include "mm/vm.h"

#include "base/bugcheck.h"
#include "host/host.h"
#include "mm/stack.h"

/* ---- commit ------------------------------------------------------------------------------------ */

void mm_vm_init(mm_vm_t *vm, mm_pfndb_t *db, mm_system_space_t *sys)
{
    memset(vm, 0, sizeof *vm);
    vm->db = db;
    vm->sys = sys;
    vm->fmt = mm_pte_fmt(sys->mode, db->machine->cpus[0].paging.nxe || hw_machine_has(db->machine, NTMM_HW_NO_NX));
    vm->commit_limit = db->ram_frames;
}

/* Charges n pages to p and the system; NTMM_STATUS_COMMITMENT_LIMIT past the limit. */
static ntmm_status_t vm_charge(mm_process_t *p, uint64_t n)
{
    mm_vm_t *vm = p->vm;
    uint64_t total = __atomic_add_fetch(&vm->commit_total, n, __ATOMIC_RELAXED);
    if (total > vm->commit_limit) {
        __atomic_sub_fetch(&vm->commit_total, n, __ATOMIC_RELAXED);
        return NTMM_STATUS_COMMITMENT_LIMIT;
    }
    uint64_t peak = __atomic_load_n(&vm->commit_peak, __ATOMIC_RELAXED);
    while (total > peak && !__atomic_compare_exchange_n(&vm->commit_peak, &peak, total, true, __ATOMIC_RELAXED,
                                                        __ATOMIC_RELAXED)) {
    }
    p->commit_charge += n;
    if (p->commit_charge > p->commit_peak) p->commit_peak = p->commit_charge;
    return NTMM_STATUS_SUCCESS;
}

static void vm_uncharge(mm_process_t *p, uint64_t n)
{
    __atomic_sub_fetch(&p->vm->commit_total, n, __ATOMIC_RELAXED);
    p->commit_charge -= n;
}

/* ---- VAD extensions (write watch, locked pages) ------------------------------------------------ */

/* A new extension for pages [base_vpn, base_vpn + pages); NULL if the host refuses memory. */
static mm_vm_vadx_t *vadx_new(vpn_t base_vpn, uint64_t pages)
{
    mm_vm_vadx_t *x = host_calloc(1, sizeof *x);
    if (!x) return NULL;
    x->base_vpn = base_vpn;
    if (!base_bitmap_create(&x->watch, pages) || !base_bitmap_create(&x->locked, pages)) {
        base_bitmap_destroy(&x->watch);
        host_free(x);
        return NULL;
    }
    return x;
}

static void vadx_free(mm_vm_vadx_t *x)
{
    if (!x) return;
    base_bitmap_destroy(&x->watch);
    base_bitmap_destroy(&x->locked);
    host_free(x);
}

/* vad's extension, created (covering the whole VAD) if it has none. NULL: no memory. */
static mm_vm_vadx_t *vadx_get(mm_vad_t *vad)
{
    mm_vm_vadx_t *x = mm_vm_vadx(vad);
    if (!x && vad->kind == MM_VAD_PRIVATE) {
        x = vadx_new(vad->start_vpn, mm_vad_pages(vad));
        vad->owner = x;
    }
    return x;
}

static inline uint64_t vadx_bit(const mm_vm_vadx_t *x, vpn_t v) { return v - x->base_vpn; }

bool mm_vm_page_locked(const mm_vad_t *vad, va_t va)
{
    const mm_vm_vadx_t *x = mm_vm_vadx(vad);
    return x && base_bitmap_test(&x->locked, vadx_bit(x, va >> NTMM_PAGE_SHIFT));
}

/* True if va of vad is watched and not written since the last reset. */
static bool vm_watch_pending(const mm_vad_t *vad, va_t va)
{
    const mm_vm_vadx_t *x = mm_vm_vadx(vad);
    return (vad->flags & MM_VAD_WRITE_WATCH) && x && !base_bitmap_test(&x->watch, vadx_bit(x, va >> NTMM_PAGE_SHIFT));
}

uint64_t mm_vm_valid_pte(mm_process_t *p, const mm_vad_t *vad, va_t va, pfn_t pfn, mm_prot_t prot)
{
    uint64_t pte = mm_pte_make_valid(&p->vm->fmt, pfn, prot, true);
    if (vm_watch_pending(vad, va)) pte &= ~(uint64_t)HW_PTE_RW;
    return pte;
}

void mm_vm_watch_mark(mm_process_t *p, const mm_vad_t *vad, va_t va)
{
    if (!vm_watch_pending(vad, va)) return;
    mm_vm_vadx_t *x = mm_vm_vadx(vad);
    base_bitmap_set_bit(&x->watch, vadx_bit(x, va >> NTMM_PAGE_SHIFT));
    mm_vm_page_t pg;
    mm_vm_page_state(p, vad, va, &pg);
    if (pg.kind == MM_PTE_KIND_VALID && mm_protect_is_writable(pg.prot) && !(pg.pte & HW_PTE_RW)) {
        mm_ptm_write(p->as, pg.pte_pa, pg.pte | HW_PTE_RW);
        mm_vm_flush_va(p, va);
    }
}

/* ---- the state of one page ---------------------------------------------------------------------- */

void mm_vm_page_state(mm_process_t *p, const mm_vad_t *vad, va_t va, mm_vm_page_t *pg)
{
    unsigned level = 0;
    pg->pte_pa = mm_ptm_lookup(p->as, va, &level);
    pg->span = 1;
    if (level != 1) {
        if (pg->pte_pa && level > 1) {
            uint64_t size = hw_paging_level_size(p->as->mode, level);
            pg->span = (ntmm_align_down(va, size) + size - ntmm_align_down(va, NTMM_PAGE_SIZE)) >> NTMM_PAGE_SHIFT;
        }
        pg->pte_pa = 0;
    }
    pg->pte = pg->pte_pa ? mm_ptm_read(p->as, pg->pte_pa) : 0;
    pg->kind = mm_pte_classify(&p->vm->fmt, pg->pte);
    pg->committed = true;
    switch (pg->kind) {
    case MM_PTE_KIND_ZERO:
        pg->committed = (vad->flags & MM_VAD_MEM_COMMIT) != 0;
        pg->prot = pg->committed ? mm_protect_from_win32(vad->protection) : 0;
        break;
    case MM_PTE_KIND_VALID: {
        const mm_pfn_t *e = mm_pfn_entry(p->vm->db, mm_pte_frame(&p->vm->fmt, pg->pte));
        pg->prot = mm_pte_sw_protection(e->original_pte);
        break;
    }
    case MM_PTE_KIND_DECOMMITTED:
        pg->committed = false;
        pg->prot = 0;
        break;
    default:
        pg->prot = mm_pte_sw_protection(pg->pte);
        break;
    }
}

/* Committed pages of [first, last] in vad, stepping over missing page tables whole. */
static uint64_t vm_count_committed(mm_process_t *p, const mm_vad_t *vad, vpn_t first, vpn_t last)
{
    uint64_t n = 0;
    for (vpn_t v = first; v <= last;) {
        mm_vm_page_t pg;
        mm_vm_page_state(p, vad, v << NTMM_PAGE_SHIFT, &pg);
        uint64_t k = pg.span < last - v + 1u ? pg.span : last - v + 1u;
        if (pg.committed) n += k;
        v += k;
    }
    return n;
}

/* The PTE slot of va, creating its page tables. */
static ntmm_status_t vm_pte_slot(mm_process_t *p, va_t va, pa_t *pte_pa)
{
    return mm_ptm_ensure(p->as, va, 1, pte_pa);
}

/*
 * Shoots va down on every CPU of the machine (NT: KeFlushSingleTb and its TB-flush IPI): a
 * request is posted to each CPU's mailbox, the caller's own CPU included, and no TLB is
 * touched here; each CPU applies it at its next instruction boundary (hw_cpu_poll). Race-free
 * because a TLB is only ever written by its CPU's owner, whoever calls this.
 */
void mm_vm_flush_va(mm_process_t *p, va_t va)
{
    hw_machine_t *m = p->vm->db->machine;
    for (unsigned i = 0; i < m->cpu_count; i++) hw_cpu_post_invalidate(&m->cpus[i], va);
}

/*
 * Takes a valid page's frame away: the PTE becomes `next` (0, decommitted...), the frame is
 * freed. NT: MiDeletePte. PFN lock taken inside.
 */
static void vm_drop_valid(mm_process_t *p, va_t va, pa_t pte_pa, uint64_t next)
{
    uint64_t old = mm_ptm_write(p->as, pte_pa, next);
    pfn_t pfn = mm_pte_frame(&p->vm->fmt, old);
    mm_vm_flush_va(p, va);
    mm_pfn_lock(p->vm->db);
    mm_pfn_free(p->vm->db, pfn);
    mm_pfn_unlock(p->vm->db);
    p->private_pages--;
}

/* ---- processes ------------------------------------------------------------------------------------ */

/*
 * KUSER_SHARED_DATA's user view at va (VQ-007): one page, MEM_PRIVATE, committed READONLY,
 * its own allocation, secured against the process (MM_VAD_NO_CHANGE). Simplification: NT maps
 * the one system page every process shares (MmSharedUserDataPte); without sections ntmm gives
 * each process a private demand-zero page. As the shared page is, it is charged to no commit
 * (the VAD's commit_charge stays 0; teardown returns nothing for it). Called on a new process.
 */
static ntmm_status_t vm_shared_data_create(mm_process_t *p, va_t va)
{
    mm_vad_t *vad = host_calloc(1, sizeof *vad);
    if (!vad) return NTMM_STATUS_NO_MEMORY;
    vpn_t v = va >> NTMM_PAGE_SHIFT;
    mm_vad_init(vad, v, v, MM_VAD_PRIVATE, NTMM_PAGE_READONLY, MM_VAD_MEM_COMMIT | MM_VAD_NO_CHANGE);
    ntmm_status_t st = mm_vad_insert(&p->vads, vad);
    if (st != NTMM_STATUS_SUCCESS) host_free(vad);
    return st;
}

ntmm_status_t mm_process_create(mm_vm_t *vm, mm_layout_id_t layout, mm_process_t **out)
{
    *out = NULL;
    mm_process_t *p = host_calloc(1, sizeof *p);
    if (!p) return NTMM_STATUS_NO_MEMORY;
    p->vm = vm;
    ntmm_status_t st = mm_aspace_create(vm->sys, layout, &p->as);
    if (st != NTMM_STATUS_SUCCESS) {
        host_free(p);
        return st;
    }
    const mm_layout_t *l = p->as->layout;
    mm_vad_tree_init(&p->vads, l->lowest_user >> NTMM_PAGE_SHIFT, l->highest_user >> NTMM_PAGE_SHIFT);
    if (l->shared_data_user) {
        st = vm_shared_data_create(p, l->shared_data_user);
        if (st != NTMM_STATUS_SUCCESS) {
            mm_aspace_destroy(p->as);
            host_free(p);
            return st;
        }
    }
    *out = p;
    return NTMM_STATUS_SUCCESS;
}

static ntmm_status_t vm_release_range_locked(mm_process_t *p, mm_vad_t *vad, vpn_t first, vpn_t last);

ntmm_status_t mm_process_destroy(mm_process_t *p)
{
    if (!p) return NTMM_STATUS_INVALID_PARAMETER;
    mm_aspace_lock(p->as);
    mm_stack_forget_threads(p);
    mm_vad_t *vad;
    while ((vad = mm_vad_first(&p->vads)) != NULL) vm_release_range_locked(p, vad, vad->start_vpn, vad->end_vpn);
    mm_ptm_delete_range(p->as, p->as->layout->lowest_user, p->as->layout->highest_user + 1u);
    mm_aspace_unlock(p->as);
    ntmm_status_t st = mm_aspace_destroy(p->as);
    host_free(p);
    return st;
}

/* ---- releasing and decommitting ----------------------------------------------------------------- */

/*
 * Decommits pages [first, last] of vad: frames freed, commit returned, each PTE made
 * `next_pte` (decommitted, or 0 when the VAD is going away). Returns the pages that were
 * committed. Address-space lock held.
 */
static uint64_t vm_decommit_pages(mm_process_t *p, mm_vad_t *vad, vpn_t first, vpn_t last, bool release)
{
    uint64_t was = 0;
    uint64_t decommitted = mm_pte_make_decommitted(&p->vm->fmt);
    mm_vm_vadx_t *x = mm_vm_vadx(vad);
    if (x) { /* decommit forgets writes (WW-020) and unlocks */
        base_bitmap_clear_bits(&x->watch, vadx_bit(x, first), last - first + 1u);
        base_bitmap_clear_bits(&x->locked, vadx_bit(x, first), last - first + 1u);
    }
    for (vpn_t v = first; v <= last; v++) {
        va_t va = v << NTMM_PAGE_SHIFT;
        mm_vm_page_t pg;
        mm_vm_page_state(p, vad, va, &pg);
        if (pg.span > 1 && (release || !pg.committed)) {
            /* no page table: nothing to undo here, whatever the span's state */
            uint64_t k = pg.span < last - v + 1u ? pg.span : last - v + 1u;
            if (pg.committed) was += k;
            v += k - 1u;
            continue;
        }
        if (pg.committed) was++;
        uint64_t next = release ? 0 : decommitted;
        if (!release && !pg.committed && pg.kind == MM_PTE_KIND_ZERO) continue; /* already reserved */
        if (pg.kind == MM_PTE_KIND_VALID) {
            vm_drop_valid(p, va, pg.pte_pa, next);
        } else if (pg.kind == MM_PTE_KIND_TRANSITION) {
            /* a frame on the modified or standby list that this PTE remembers */
            mm_ptm_write(p->as, pg.pte_pa, next);
            mm_pfn_lock(p->vm->db);
            mm_pfn_delete(p->vm->db, mm_pte_frame(&p->vm->fmt, pg.pte));
            mm_pfn_unlock(p->vm->db);
        } else if (pg.pte_pa) {
            if (pg.pte != next) mm_ptm_write(p->as, pg.pte_pa, next);
        } else if (!release && pg.committed) {
            pa_t slot;
            if (vm_pte_slot(p, va, &slot) == NTMM_STATUS_SUCCESS) mm_ptm_write(p->as, slot, next);
        }
    }
    if (vad->flags & MM_VAD_NO_CHANGE) was = 0; /* KUSER_SHARED_DATA is charged to no one */
    if (was) {
        vm_uncharge(p, was);
        vad->commit_charge -= was < vad->commit_charge ? was : vad->commit_charge;
    }
    return was;
}

static ntmm_status_t vm_release_range_locked(mm_process_t *p, mm_vad_t *vad, vpn_t first, vpn_t last)
{
    mm_vm_vadx_t *x = mm_vm_vadx(vad), *tx = NULL;
    if (x && first > vad->start_vpn && last < vad->end_vpn) {
        /* the tail of a split gets its own copy of the bits above the released range */
        tx = vadx_new(last + 1u, vad->end_vpn - last);
        if (!tx) return NTMM_STATUS_NO_MEMORY;
        for (vpn_t v = last + 1u; v <= vad->end_vpn; v++) {
            if (base_bitmap_test(&x->watch, vadx_bit(x, v))) base_bitmap_set_bit(&tx->watch, vadx_bit(tx, v));
            if (base_bitmap_test(&x->locked, vadx_bit(x, v))) base_bitmap_set_bit(&tx->locked, vadx_bit(tx, v));
        }
    }
    mm_vad_t *tail = host_calloc(1, sizeof *tail);
    if (!tail) {
        vadx_free(tx);
        return NTMM_STATUS_NO_MEMORY;
    }
    vm_decommit_pages(p, vad, first, last, true);
    uint64_t before = vad->commit_charge;
    mm_vad_split_result_t r = mm_vad_split(&p->vads, vad, first, last, tail);
    if (r == MM_VAD_SPLIT_KEPT_BOTH) {
        tail->owner = tx;
        /* charges move with the pages: count the tail's committed pages */
        uint64_t n = vm_count_committed(p, tail, tail->start_vpn, tail->end_vpn);
        tail->commit_charge = n;
        vad->commit_charge = before - n;
    } else {
        host_free(tail);
    }
    if (r == MM_VAD_SPLIT_NONE_LEFT) {
        vadx_free(x);
        host_free(vad);
    }
    mm_ptm_free_range(p->as, first << NTMM_PAGE_SHIFT, (last + 1u) << NTMM_PAGE_SHIFT, NULL);
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_vm_free(mm_process_t *p, va_t *base, uint64_t *size, uint32_t type)
{
    if (type != NTMM_MEM_DECOMMIT && type != NTMM_MEM_RELEASE) return NTMM_STATUS_INVALID_PARAMETER_4;
    const mm_layout_t *l = p->as->layout;
    va_t b = *base;
    uint64_t s = *size;
    if (b > l->highest_user) return NTMM_STATUS_INVALID_PARAMETER_2;
    if (s > l->highest_user + 1u - b) return NTMM_STATUS_INVALID_PARAMETER_3;
    mm_aspace_lock(p->as);
    ntmm_status_t st = NTMM_STATUS_SUCCESS;
    mm_vad_t *vad = mm_vad_find(&p->vads, b >> NTMM_PAGE_SHIFT);
    vpn_t first, last;
    if (!vad) {
        st = NTMM_STATUS_MEMORY_NOT_ALLOCATED;
        goto out;
    }
    if (vad->flags & MM_VAD_NO_CHANGE) {
        st = NTMM_STATUS_INVALID_PAGE_PROTECTION; /* a secured VAD (MiCheckSecuredVad) */
        goto out;
    }
    if (s == 0) {
        /* the whole allocation from its base (RELEASE), or from b to its end (DECOMMIT) */
        if (type == NTMM_MEM_RELEASE && (b >> NTMM_PAGE_SHIFT) != vad->start_vpn) {
            st = NTMM_STATUS_FREE_VM_NOT_AT_BASE;
            goto out;
        }
        first = b >> NTMM_PAGE_SHIFT;
        last = vad->end_vpn;
    } else {
        first = b >> NTMM_PAGE_SHIFT;
        last = (b + s - 1u) >> NTMM_PAGE_SHIFT;
        if (last > vad->end_vpn) {
            st = NTMM_STATUS_UNABLE_TO_FREE_VM;
            goto out;
        }
    }
    if (type == NTMM_MEM_DECOMMIT) vm_decommit_pages(p, vad, first, last, false);
    else st = vm_release_range_locked(p, vad, first, last);
    if (st == NTMM_STATUS_SUCCESS) {
        *base = first << NTMM_PAGE_SHIFT;
        *size = (last - first + 1u) << NTMM_PAGE_SHIFT;
    }
out:
    mm_aspace_unlock(p->as);
    return st;
}

/* ---- reserving and committing ------------------------------------------------------------------- */

#define VM_ALLOC_TYPES (NTMM_MEM_COMMIT | NTMM_MEM_RESERVE | NTMM_MEM_RESET | NTMM_MEM_RESET_UNDO | \
                        NTMM_MEM_TOP_DOWN | NTMM_MEM_WRITE_WATCH | NTMM_MEM_PHYSICAL | NTMM_MEM_LARGE_PAGES)

/* Commits [first, last] inside vad with protection prot (a recommit sets the protection of
 * pages already committed, VA-010/VA-018). Address-space lock held. */
static ntmm_status_t vm_commit_range(mm_process_t *p, mm_vad_t *vad, vpn_t first, vpn_t last, mm_prot_t prot)
{
    uint64_t newly = (last - first + 1u) - vm_count_committed(p, vad, first, last);
    ntmm_status_t st = vm_charge(p, newly);
    if (st != NTMM_STATUS_SUCCESS) return st;
    vad->commit_charge += newly;
    uint64_t dz = mm_pte_make_demand_zero(&p->vm->fmt, prot);
    bool user = true;
    for (vpn_t v = first; v <= last; v++) {
        va_t va = v << NTMM_PAGE_SHIFT;
        mm_vm_page_t pg;
        mm_vm_page_state(p, vad, va, &pg);
        if (pg.kind == MM_PTE_KIND_VALID) {
            /* already backed by a frame: only its protection changes */
            mm_pfn_t *e = mm_pfn_entry(p->vm->db, mm_pte_frame(&p->vm->fmt, pg.pte));
            e->original_pte = mm_pte_sw_set_protection(e->original_pte, prot);
            if (!(mm_protect_pte_bits(prot, p->vm->fmt.bytes, p->vm->fmt.nx, user) & HW_PTE_P)) {
                /* NOACCESS or GUARD: the page cannot stay valid, but its contents must survive
                 * (VP-014). As NT does, it leaves the working set: the PTE becomes a transition
                 * PTE with the new protection and the frame goes to the modified list (private
                 * pages are always dirty), from where an allowed access takes it back. */
                pfn_t pfn = mm_pte_frame(&p->vm->fmt, pg.pte);
                mm_ptm_write(p->as, pg.pte_pa, mm_pte_make_transition(&p->vm->fmt, pfn, prot, 0));
                mm_vm_flush_va(p, va);
                mm_pfn_lock(p->vm->db);
                mm_pfn_set_modified(p->vm->db, pfn, true);
                mm_pfn_remove_share(p->vm->db, pfn);
                mm_pfn_unlock(p->vm->db);
                p->private_pages--;
                /* leaving the working set unlocks a locked page (NT returns STATUS_WAS_UNLOCKED) */
                mm_vm_vadx_t *x = mm_vm_vadx(vad);
                if (x) base_bitmap_clear_bit(&x->locked, vadx_bit(x, v));
                continue;
            }
            uint64_t valid = mm_vm_valid_pte(p, vad, va, mm_pte_frame(&p->vm->fmt, pg.pte), prot); /* WW-011 */
            mm_ptm_write(p->as, pg.pte_pa, valid | (pg.pte & (HW_PTE_A | HW_PTE_D)));
            mm_vm_flush_va(p, va);
            continue;
        }
        if (pg.kind == MM_PTE_KIND_TRANSITION) {
            /* off the working set with its frame: only the protection changes */
            mm_pfn_t *e = mm_pfn_entry(p->vm->db, mm_pte_frame(&p->vm->fmt, pg.pte));
            e->original_pte = mm_pte_sw_set_protection(e->original_pte, prot);
            mm_ptm_write(p->as, pg.pte_pa, mm_pte_sw_set_protection(pg.pte, prot));
            continue;
        }
        if (pg.committed && pg.kind == MM_PTE_KIND_ZERO && prot == mm_protect_from_win32(vad->protection)) {
            if (pg.span > 1) v += (pg.span < last - v + 1u ? pg.span : last - v + 1u) - 1u; /* no table to write */
            continue;
        }
        pa_t slot;
        st = vm_pte_slot(p, va, &slot);
        if (st != NTMM_STATUS_SUCCESS) return st;
        mm_ptm_write(p->as, slot, dz);
    }
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_vm_commit_locked(mm_process_t *p, mm_vad_t *vad, vpn_t first, vpn_t last, mm_prot_t prot)
{
    return vm_commit_range(p, vad, first, last, prot);
}

ntmm_status_t mm_vm_allocate(mm_process_t *p, va_t *base, uint64_t zero_bits, uint64_t *size, uint32_t type,
                             uint32_t protect)
{
    const mm_layout_t *l = p->as->layout;
    /* the allocation type (parameter 5) */
    if ((type & ~VM_ALLOC_TYPES) || !(type & (NTMM_MEM_COMMIT | NTMM_MEM_RESERVE | NTMM_MEM_RESET | NTMM_MEM_RESET_UNDO)))
        return NTMM_STATUS_INVALID_PARAMETER_5;
    if ((type & NTMM_MEM_RESET) && type != NTMM_MEM_RESET) return NTMM_STATUS_INVALID_PARAMETER_5;
    if ((type & NTMM_MEM_RESET_UNDO) && type != NTMM_MEM_RESET_UNDO) return NTMM_STATUS_INVALID_PARAMETER_5;
    if ((type & NTMM_MEM_WRITE_WATCH) && !(type & NTMM_MEM_RESERVE)) return NTMM_STATUS_INVALID_PARAMETER_5;
    if (type & (NTMM_MEM_LARGE_PAGES | NTMM_MEM_PHYSICAL)) return NTMM_STATUS_NOT_IMPLEMENTED;
    /* the protection (parameter 6); MEM_RESET ignores it once it is valid */
    mm_prot_t prot = mm_protect_from_win32(protect);
    if (prot == MM_INVALID_PROTECTION) return NTMM_STATUS_INVALID_PAGE_PROTECTION;
    /* zero_bits (3), base (2), size (4) */
    va_t highest;
    ntmm_status_t st = mm_vad_zero_bits_limit(zero_bits, l->pointer_bits == 64 || l->id == MM_LAYOUT_WOW64 ||
                                              l->id == MM_LAYOUT_WOW64_LAA, &highest);
    if (st != NTMM_STATUS_SUCCESS) return st;
    va_t b = *base;
    uint64_t s = *size;
    if (b > l->highest_user) return NTMM_STATUS_INVALID_PARAMETER_2;
    if (s == 0 || s > l->highest_user + 1u - b) return NTMM_STATUS_INVALID_PARAMETER_4;
    if (b && zero_bits && b + s - 1u > highest) return NTMM_STATUS_INVALID_PARAMETER_3;

    mm_aspace_lock(p->as);
    vpn_t first, last;
    mm_vad_t *vad;
    if ((type & NTMM_MEM_RESERVE) || ((type & NTMM_MEM_COMMIT) && b == 0)) {
        /* a new allocation: the base rounds down to 64 KiB, the end up to a page (VA-013) */
        if (mm_protect_is_writecopy(prot)) {
            st = NTMM_STATUS_INVALID_PAGE_PROTECTION; /* no copy-on-write for private memory */
            goto out;
        }
        if (b) {
            first = ntmm_align_down(b, MM_VAD_GRANULARITY) >> NTMM_PAGE_SHIFT;
            last = (ntmm_align_up(b + s, NTMM_PAGE_SIZE) >> NTMM_PAGE_SHIFT) - 1u;
            if (mm_vad_conflict(&p->vads, first, last)) {
                st = NTMM_STATUS_CONFLICTING_ADDRESSES;
                goto out;
            }
        } else {
            mm_vad_gap_request_t req = { .size = ntmm_align_up(s, NTMM_PAGE_SIZE), .zero_bits = zero_bits,
                                         .masks_allowed = l->pointer_bits == 64,
                                         .top_down = (type & NTMM_MEM_TOP_DOWN) != 0 };
            st = mm_vad_find_free(&p->vads, &req, &first);
            if (st != NTMM_STATUS_SUCCESS) goto out;
            last = first + (ntmm_align_up(s, NTMM_PAGE_SIZE) >> NTMM_PAGE_SHIFT) - 1u;
        }
        uint64_t pages = last - first + 1u;
        if ((type & NTMM_MEM_COMMIT) && (st = vm_charge(p, pages)) != NTMM_STATUS_SUCCESS) goto out;
        vad = host_calloc(1, sizeof *vad);
        if (!vad) {
            if (type & NTMM_MEM_COMMIT) vm_uncharge(p, pages);
            st = NTMM_STATUS_NO_MEMORY;
            goto out;
        }
        uint32_t flags = ((type & NTMM_MEM_WRITE_WATCH) ? MM_VAD_WRITE_WATCH : 0u) |
                         ((type & NTMM_MEM_TOP_DOWN) ? MM_VAD_TOP_DOWN : 0u) |
                         ((type & NTMM_MEM_COMMIT) ? MM_VAD_MEM_COMMIT : 0u);
        mm_vad_init(vad, first, last, MM_VAD_PRIVATE, protect, flags);
        vad->commit_charge = (type & NTMM_MEM_COMMIT) ? pages : 0;
        if ((type & NTMM_MEM_WRITE_WATCH) && !vadx_get(vad)) st = NTMM_STATUS_NO_MEMORY;
        else st = mm_vad_insert(&p->vads, vad);
        if (st != NTMM_STATUS_SUCCESS) {
            if (type & NTMM_MEM_COMMIT) vm_uncharge(p, pages);
            vadx_free(mm_vm_vadx(vad));
            host_free(vad);
            goto out;
        }
    } else {
        /* commit, reset or reset-undo inside an existing allocation */
        first = b >> NTMM_PAGE_SHIFT;
        last = (b + s - 1u) >> NTMM_PAGE_SHIFT;
        vad = mm_vad_find(&p->vads, first);
        if (!vad || last > vad->end_vpn) {
            st = NTMM_STATUS_CONFLICTING_ADDRESSES; /* free, past the allocation, or across two (VA-015, VA-017) */
            goto out;
        }
        if (vad->flags & MM_VAD_NO_CHANGE) {
            st = NTMM_STATUS_INVALID_PAGE_PROTECTION; /* a secured VAD (MiCheckSecuredVad) */
            goto out;
        }
        if (type & (NTMM_MEM_RESET | NTMM_MEM_RESET_UNDO)) {
            /* contents may be discarded; nothing to do until pages can be written out (RS-001) */
            goto done;
        }
        if (mm_protect_is_writecopy(prot)) {
            st = NTMM_STATUS_INVALID_PAGE_PROTECTION;
            goto out;
        }
        st = vm_commit_range(p, vad, first, last, prot);
        if (st != NTMM_STATUS_SUCCESS) goto out;
    }
done:
    *base = first << NTMM_PAGE_SHIFT;
    *size = (last - first + 1u) << NTMM_PAGE_SHIFT;
out:
    mm_aspace_unlock(p->as);
    return st;
}

/* ---- protection ------------------------------------------------------------------------------------ */

ntmm_status_t mm_vm_protect(mm_process_t *p, va_t *base, uint64_t *size, uint32_t protect, uint32_t *old)
{
    const mm_layout_t *l = p->as->layout;
    *old = NTMM_PAGE_NOACCESS;
    mm_prot_t prot = mm_protect_from_win32(protect);
    if (prot == MM_INVALID_PROTECTION) return NTMM_STATUS_INVALID_PAGE_PROTECTION;
    va_t b = *base;
    uint64_t s = *size;
    if (b > l->highest_user) return NTMM_STATUS_INVALID_PARAMETER_2;
    if (s == 0 || s > l->highest_user + 1u - b) return NTMM_STATUS_INVALID_PARAMETER_3;
    vpn_t first = b >> NTMM_PAGE_SHIFT, last = (b + s - 1u) >> NTMM_PAGE_SHIFT;
    mm_aspace_lock(p->as);
    ntmm_status_t st = NTMM_STATUS_SUCCESS;
    mm_vad_t *vad = mm_vad_find(&p->vads, first);
    if (!vad || last > vad->end_vpn) {
        st = NTMM_STATUS_CONFLICTING_ADDRESSES;
        goto out;
    }
    if (mm_protect_is_writecopy(prot) || (vad->flags & MM_VAD_NO_CHANGE)) {
        st = NTMM_STATUS_INVALID_PAGE_PROTECTION;
        goto out;
    }
    /* NOCACHE / WRITECOMBINE apply only where the allocation asked for them (VP-013) */
    mm_prot_t alloc = mm_protect_from_win32(vad->protection);
    if ((mm_protect_is_nocache(prot) || mm_protect_is_writecombine(prot)) &&
        mm_protect_modifier(alloc) != mm_protect_modifier(prot))
        prot = mm_protect_base(prot);
    mm_vm_page_t pg;
    if (vm_count_committed(p, vad, first, last) != last - first + 1u) {
        st = NTMM_STATUS_NOT_COMMITTED;
        goto out;
    }
    mm_vm_page_state(p, vad, first << NTMM_PAGE_SHIFT, &pg);
    *old = mm_protect_to_win32(pg.prot);
    st = vm_commit_range(p, vad, first, last, prot);
    if (st == NTMM_STATUS_SUCCESS) {
        *base = first << NTMM_PAGE_SHIFT;
        *size = (last - first + 1u) << NTMM_PAGE_SHIFT;
    }
out:
    mm_aspace_unlock(p->as);
    return st;
}

/* ---- query ------------------------------------------------------------------------------------------ */

ntmm_status_t mm_vm_query(mm_process_t *p, va_t va, ntmm_memory_basic_information_t *mbi)
{
    const mm_layout_t *l = p->as->layout;
    if (va > l->highest_user) return NTMM_STATUS_INVALID_PARAMETER;
    memset(mbi, 0, sizeof *mbi);
    vpn_t vpn = va >> NTMM_PAGE_SHIFT;
    mbi->base_address = vpn << NTMM_PAGE_SHIFT;
    mm_aspace_lock(p->as);
    mm_vad_t *vad = mm_vad_find(&p->vads, vpn);
    if (!vad) {
        mm_vad_t *next = mm_vad_find_at_or_above(&p->vads, vpn);
        vpn_t end = next ? next->start_vpn : (l->highest_user >> NTMM_PAGE_SHIFT) + 1u;
        mbi->region_size = (end - vpn) << NTMM_PAGE_SHIFT;
        mbi->state = NTMM_MEM_FREE;
        mbi->protect = NTMM_PAGE_NOACCESS;
    } else {
        mm_vm_page_t first, pg;
        mm_vm_page_state(p, vad, va, &first);
        vpn_t v = vpn + first.span;
        while (v <= vad->end_vpn) {
            mm_vm_page_state(p, vad, v << NTMM_PAGE_SHIFT, &pg);
            if (pg.committed != first.committed || (first.committed && pg.prot != first.prot)) break;
            v += pg.span;
        }
        if (v > vad->end_vpn + 1u) v = vad->end_vpn + 1u;
        mbi->allocation_base = mm_vad_base(vad);
        mbi->allocation_protect = vad->protection;
        mbi->region_size = (v - vpn) << NTMM_PAGE_SHIFT;
        mbi->state = first.committed ? NTMM_MEM_COMMIT : NTMM_MEM_RESERVE;
        mbi->protect = first.committed ? mm_protect_to_win32(first.prot) : 0;
        mbi->type = NTMM_MEM_PRIVATE;
    }
    mm_aspace_unlock(p->as);
    return NTMM_STATUS_SUCCESS;
}

/* ---- write watch --------------------------------------------------------------------------------- */

/* The write-watch VAD holding [base, base + size) whole, with its page range; NULL if none
 * (the caller returns STATUS_INVALID_PARAMETER). Address-space lock held. */
static mm_vad_t *vm_watch_range(mm_process_t *p, va_t base, uint64_t size, vpn_t *first, vpn_t *last)
{
    const mm_layout_t *l = p->as->layout;
    if (size == 0 || base > l->highest_user || size > l->highest_user + 1u - base) return NULL;
    *first = base >> NTMM_PAGE_SHIFT;
    *last = (base + size - 1u) >> NTMM_PAGE_SHIFT;
    mm_vad_t *vad = mm_vad_find(&p->vads, *first);
    if (!vad || !(vad->flags & MM_VAD_WRITE_WATCH) || !mm_vm_vadx(vad) || *last > vad->end_vpn) return NULL;
    return vad;
}

/* Resets pages [first, last] of write-watch VAD vad. Address-space lock held. */
static void vm_watch_reset(mm_process_t *p, mm_vad_t *vad, vpn_t first, vpn_t last)
{
    mm_vm_vadx_t *x = mm_vm_vadx(vad);
    for (vpn_t v = first; v <= last; v++) {
        if (!base_bitmap_test(&x->watch, vadx_bit(x, v))) continue;
        base_bitmap_clear_bit(&x->watch, vadx_bit(x, v));
        va_t va = v << NTMM_PAGE_SHIFT;
        mm_vm_page_t pg;
        mm_vm_page_state(p, vad, va, &pg);
        if (pg.kind == MM_PTE_KIND_VALID && (pg.pte & HW_PTE_RW)) {
            mm_ptm_write(p->as, pg.pte_pa, pg.pte & ~(uint64_t)HW_PTE_RW);
            mm_vm_flush_va(p, va);
        }
    }
}

ntmm_status_t mm_vm_get_write_watch(mm_process_t *p, uint32_t flags, va_t base, uint64_t size, va_t *out,
                                    uint64_t *count, uint32_t *granularity)
{
    if (flags & ~NTMM_WRITE_WATCH_FLAG_RESET) return NTMM_STATUS_INVALID_PARAMETER;
    if (*count == 0) return NTMM_STATUS_INVALID_PARAMETER;
    mm_aspace_lock(p->as);
    vpn_t first, last;
    mm_vad_t *vad = vm_watch_range(p, base, size, &first, &last);
    if (!vad) {
        mm_aspace_unlock(p->as);
        return NTMM_STATUS_INVALID_PARAMETER;
    }
    mm_vm_vadx_t *x = mm_vm_vadx(vad);
    uint64_t n = 0, max = *count;
    vpn_t v = first, end = last;
    for (; v <= last; v++) {
        if (!base_bitmap_test(&x->watch, vadx_bit(x, v))) continue;
        out[n++] = v << NTMM_PAGE_SHIFT;
        if (n == max) {
            end = v;
            break;
        }
    }
    if (flags & NTMM_WRITE_WATCH_FLAG_RESET) vm_watch_reset(p, vad, first, end);
    mm_aspace_unlock(p->as);
    *count = n;
    *granularity = NTMM_PAGE_SIZE;
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_vm_reset_write_watch(mm_process_t *p, va_t base, uint64_t size)
{
    mm_aspace_lock(p->as);
    vpn_t first, last;
    mm_vad_t *vad = vm_watch_range(p, base, size, &first, &last);
    if (vad) vm_watch_reset(p, vad, first, last);
    mm_aspace_unlock(p->as);
    return vad ? NTMM_STATUS_SUCCESS : NTMM_STATUS_INVALID_PARAMETER;
}

/* ---- locking ------------------------------------------------------------------------------------- */

/* Validates a lock/unlock request and rounds it to pages [*first, *last]. */
static ntmm_status_t vm_lock_args(mm_process_t *p, va_t base, uint64_t size, uint32_t map_type, vpn_t *first,
                                  vpn_t *last)
{
    const mm_layout_t *l = p->as->layout;
    if (!(map_type & (MM_MAP_PROCESS | MM_MAP_SYSTEM)) || (map_type & ~(MM_MAP_PROCESS | MM_MAP_SYSTEM)))
        return NTMM_STATUS_INVALID_PARAMETER;
    if (map_type & MM_MAP_SYSTEM) return NTMM_STATUS_PRIVILEGE_NOT_HELD; /* SeLockMemoryPrivilege */
    if (base > l->highest_user) return NTMM_STATUS_INVALID_PARAMETER_2;
    if (size == 0 || size > l->highest_user + 1u - base) return NTMM_STATUS_INVALID_PARAMETER_3;
    *first = base >> NTMM_PAGE_SHIFT;
    *last = (base + size - 1u) >> NTMM_PAGE_SHIFT;
    return NTMM_STATUS_SUCCESS;
}

ntmm_status_t mm_vm_lock(mm_process_t *p, va_t *base, uint64_t *size, uint32_t map_type)
{
    vpn_t first, last;
    ntmm_status_t st = vm_lock_args(p, *base, *size, map_type, &first, &last);
    if (st != NTMM_STATUS_SUCCESS) return st;
    mm_aspace_lock(p->as);
    /* make every page resident first (a user read, as the probe does); lock only if all are */
    for (vpn_t v = first; v <= last && st == NTMM_STATUS_SUCCESS; v++) {
        va_t va = v << NTMM_PAGE_SHIFT;
        mm_vad_t *vad = mm_vad_find(&p->vads, v);
        if (!vad) {
            st = NTMM_STATUS_ACCESS_VIOLATION;
            break;
        }
        if (!vadx_get(vad)) {
            st = NTMM_STATUS_NO_MEMORY;
            break;
        }
        mm_vm_page_t pg;
        mm_vm_page_state(p, vad, va, &pg);
        if (pg.kind != MM_PTE_KIND_VALID) st = mm_fault_locked(p, va, NTMM_ACCESS_READ, true);
    }
    for (vpn_t v = first; v <= last && st == NTMM_STATUS_SUCCESS; v++) {
        mm_vad_t *vad = mm_vad_find(&p->vads, v);
        mm_vm_vadx_t *x = mm_vm_vadx(vad);
        base_bitmap_set_bit(&x->locked, vadx_bit(x, v));
    }
    mm_aspace_unlock(p->as);
    if (st == NTMM_STATUS_SUCCESS) {
        *base = first << NTMM_PAGE_SHIFT;
        *size = (last - first + 1u) << NTMM_PAGE_SHIFT;
    }
    return st;
}

ntmm_status_t mm_vm_unlock(mm_process_t *p, va_t *base, uint64_t *size, uint32_t map_type)
{
    vpn_t first, last;
    ntmm_status_t st = vm_lock_args(p, *base, *size, map_type, &first, &last);
    if (st != NTMM_STATUS_SUCCESS) return st;
    mm_aspace_lock(p->as);
    for (vpn_t v = first; v <= last; v++) {
        mm_vad_t *vad = mm_vad_find(&p->vads, v);
        if (!vad || !mm_vm_page_locked(vad, v << NTMM_PAGE_SHIFT)) {
            st = NTMM_STATUS_NOT_LOCKED;
            break;
        }
    }
    for (vpn_t v = first; v <= last && st == NTMM_STATUS_SUCCESS; v++) {
        mm_vm_vadx_t *x = mm_vm_vadx(mm_vad_find(&p->vads, v));
        base_bitmap_clear_bit(&x->locked, vadx_bit(x, v));
    }
    mm_aspace_unlock(p->as);
    if (st == NTMM_STATUS_SUCCESS) {
        *base = first << NTMM_PAGE_SHIFT;
        *size = (last - first + 1u) << NTMM_PAGE_SHIFT;
    }
    return st;
}

/* ---- copies by the kernel --------------------------------------------------------------------- */

/* The copy of mm_vm_read (rbuf) or mm_vm_write (wbuf). */
static ntmm_status_t vm_copy(mm_process_t *p, va_t va, uint8_t *rbuf, const uint8_t *wbuf, size_t len, size_t *done)
{
    bool write = wbuf != NULL;
    const mm_layout_t *l = p->as->layout;
    *done = 0;
    if (len == 0) return NTMM_STATUS_SUCCESS;
    if (va > l->highest_user || len > l->highest_user + 1u - va) return NTMM_STATUS_ACCESS_VIOLATION;
    ntmm_access_t acc = write ? NTMM_ACCESS_WRITE : NTMM_ACCESS_READ;
    hw_phys_t *phys = &p->vm->db->machine->phys;
    size_t moved = 0;
    mm_aspace_lock(p->as);
    while (moved < len) {
        va_t cur = va + moved;
        size_t off = (size_t)(cur & (NTMM_PAGE_SIZE - 1u));
        size_t n = NTMM_PAGE_SIZE - off;
        if (n > len - moved) n = len - moved;
        mm_vad_t *vad = mm_vad_find(&p->vads, cur >> NTMM_PAGE_SHIFT);
        if (!vad) break;
        mm_vm_page_t pg;
        mm_vm_page_state(p, vad, cur, &pg);
        if (pg.kind != MM_PTE_KIND_VALID) {
            if (mm_fault_locked(p, cur, acc, true) != NTMM_STATUS_SUCCESS) break;
            mm_vm_page_state(p, vad, cur, &pg);
            if (pg.kind != MM_PTE_KIND_VALID) break;
        }
        if (mm_protect_check_access(pg.prot, acc) != MM_ACCESS_ALLOWED) break;
        if (write) mm_vm_watch_mark(p, vad, cur); /* WW-012 */
        pa_t pa = ((pa_t)mm_pte_frame(&p->vm->fmt, pg.pte) << NTMM_PAGE_SHIFT) + off;
        ntmm_status_t st = write ? hw_phys_write(phys, pa, wbuf + moved, n) : hw_phys_read(phys, pa, rbuf + moved, n);
        if (st != NTMM_STATUS_SUCCESS) break;
        /* what the MMU would have recorded for the access */
        uint64_t pte = mm_ptm_read(p->as, pg.pte_pa);
        uint64_t ad = HW_PTE_A | (write ? HW_PTE_D : 0u);
        if ((pte & ad) != ad) mm_ptm_write(p->as, pg.pte_pa, pte | ad);
        moved += n;
    }
    mm_aspace_unlock(p->as);
    *done = moved;
    return moved == len ? NTMM_STATUS_SUCCESS : NTMM_STATUS_PARTIAL_COPY;
}

ntmm_status_t mm_vm_read(mm_process_t *p, va_t va, void *buf, size_t len, size_t *done)
{
    return vm_copy(p, va, buf, NULL, len, done);
}

ntmm_status_t mm_vm_write(mm_process_t *p, va_t va, const void *buf, size_t len, size_t *done)
{
    return vm_copy(p, va, NULL, buf, len, done);
}

/* ---- validation ---------------------------------------------------------------------------------------- */

bool mm_process_check(mm_process_t *p)
{
    mm_aspace_lock(p->as);
    const mm_vad_t *bad = NULL;
    bool ok = mm_vad_check(&p->vads, &bad);
    uint64_t charged = 0;
    for (mm_vad_t *vad = mm_vad_first(&p->vads); ok && vad; vad = mm_vad_next(vad)) {
        uint64_t n = 0;
        const mm_vm_vadx_t *x = mm_vm_vadx(vad);
        if ((vad->flags & MM_VAD_WRITE_WATCH) && !x) ok = false;
        if (x && (x->base_vpn > vad->start_vpn || vad->end_vpn - x->base_vpn >= x->watch.bits ||
                  x->watch.bits != x->locked.bits)) {
            x = NULL;
            ok = false;
        }
        for (vpn_t v = vad->start_vpn; v <= vad->end_vpn; v++) {
            mm_vm_page_t pg;
            mm_vm_page_state(p, vad, v << NTMM_PAGE_SHIFT, &pg);
            if (!x && pg.span > 1) { /* no table: the span shares one state */
                uint64_t k = pg.span < vad->end_vpn - v + 1u ? pg.span : vad->end_vpn - v + 1u;
                if (pg.committed) n += k;
                v += k - 1u;
                continue;
            }
            n += pg.committed;
            if (pg.kind == MM_PTE_KIND_BAD) ok = false;
            if (!x) continue;
            /* written pages are committed, locked ones resident; an unwritten watched page is not writable */
            bool written = base_bitmap_test(&x->watch, vadx_bit(x, v));
            if (written && !pg.committed) ok = false;
            if (base_bitmap_test(&x->locked, vadx_bit(x, v)) && pg.kind != MM_PTE_KIND_VALID) ok = false;
            if ((vad->flags & MM_VAD_WRITE_WATCH) && !written && pg.kind == MM_PTE_KIND_VALID && (pg.pte & HW_PTE_RW))
                ok = false;
        }
        if (vad->flags & MM_VAD_NO_CHANGE) n = 0; /* KUSER_SHARED_DATA: not charged */
        if (n != vad->commit_charge) ok = false;
        charged += n;
    }
    if (ok && charged != p->commit_charge) ok = false;
    if (ok) ok = mm_stack_check(p);
    mm_aspace_unlock(p->as);
    if (ok) ok = mm_aspace_check(p->as);
    else NTMM_BUGCHECK(&p->vm->db->machine->bugcheck, NTMM_BUGCHECK_MEMORY_MANAGEMENT, 0x41287u, charged,
                       p->commit_charge, 0);
    return ok;
}
