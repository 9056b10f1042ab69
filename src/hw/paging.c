/* paging.c - the paging-mode descriptors and the generic page-table walker (SDM 4.3-4.6). */
#include "hw/paging.h"

static const hw_paging_mode_t hw_modes[] = {
    { NTMM_PAGING_X86, "x86", 2, 4, 32, 1u << 2, { 0, 12, 22 }, { 0, 10, 10 }, false, false },
    { NTMM_PAGING_PAE, "PAE", 3, 8, 32, 1u << 2, { 0, 12, 21, 30 }, { 0, 9, 9, 2 }, false, true },
    { NTMM_PAGING_X64, "x64", 4, 8, 48, (1u << 2) | (1u << 3), { 0, 12, 21, 30, 39 },
      { 0, 9, 9, 9, 9 }, true, false },
    { NTMM_PAGING_X64_LA57, "x64-LA57", 5, 8, 57, (1u << 2) | (1u << 3), { 0, 12, 21, 30, 39, 48 },
      { 0, 9, 9, 9, 9, 9 }, true, false },
};

const hw_paging_mode_t *hw_paging_mode(ntmm_paging_mode_t id)
{
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(hw_modes); i++)
        if (hw_modes[i].id == id) return &hw_modes[i];
    return NULL;
}

bool hw_paging_canonical(const hw_paging_mode_t *m, va_t la)
{
    if (!m->canonical) return la <= UINT32_MAX;
    int64_t s = (int64_t)(la << (64u - m->va_bits)) >> (64u - m->va_bits);
    return (uint64_t)s == la;
}

void hw_paging_ctx_derive(hw_paging_ctx_t *ctx, bool has_1g_pages, bool has_pse36)
{
    const hw_paging_mode_t *m = ctx->mode;
    unsigned M = ctx->phys_bits;
    memset(ctx->rsvd, 0, sizeof ctx->rsvd);
    if (!m) {
        ctx->addr_mask = NTMM_BITS(M - 1, 12);
        return;
    }
    if (m->entry_bytes == 4) {
        /* 32-bit paging: only a 4 MiB PDE has reserved bits, 21:(M-19) with PSE-36. */
        unsigned m32 = has_pse36 ? (M > 40 ? 40 : M) : 32;
        ctx->addr_mask = HW_PTE32_FRAME;
        ctx->rsvd[2][1] = NTMM_BITS(21, m32 - 19);
        ctx->large_levels = ctx->pse ? m->large_levels : 0;
        return;
    }
    ctx->addr_mask = NTMM_BITS(M - 1, 12);
    ctx->large_levels = m->large_levels & (uint8_t)(has_1g_pages ? 0xFFu : ~(1u << 3));
    hw_pte_t high = m->pdpte_registers ? NTMM_BITS(62, M) : (M < 52 ? NTMM_BITS(51, M) : 0);
    if (!ctx->nxe) high |= HW_PTE_XD;
    for (unsigned l = 1; l <= m->levels; l++) {
        ctx->rsvd[l][0] = ctx->rsvd[l][1] = high;
        if (l >= 2 && !(ctx->large_levels & (1u << l))) ctx->rsvd[l][0] |= HW_PTE_PS;
    }
    ctx->rsvd[2][1] |= NTMM_BITS(20, 13);
    ctx->rsvd[3][1] |= NTMM_BITS(29, 13);
    if (m->pdpte_registers) ctx->rsvd[3][0] = ctx->rsvd[3][1] = HW_PDPTE_PAE_RSVD | NTMM_BITS(63, M);
}

/* Reads an entry with one aligned load: another CPU may be setting its A/D bits concurrently. */
static inline hw_pte_t walk_read_entry(const hw_paging_ctx_t *ctx, pa_t pa)
{
    const uint8_t *p = hw_phys_host(ctx->phys, pa);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (ctx->mode->entry_bytes == 8) return __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_RELAXED);
    return __atomic_load_n((const uint32_t *)(const void *)p, __ATOMIC_RELAXED);
#else
    return ntmm_le_load(p, ctx->mode->entry_bytes);
#endif
}

/* Sets bits in a paging-structure entry as the processor's locked read-modify-write does. */
static void walk_set_bits(const hw_paging_ctx_t *ctx, pa_t pa, hw_pte_t bits)
{
    uint8_t *p = hw_phys_host(ctx->phys, pa);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (ctx->mode->entry_bytes == 8)
        __atomic_fetch_or((uint64_t *)(void *)p, bits, __ATOMIC_RELAXED);
    else
        __atomic_fetch_or((uint32_t *)(void *)p, (uint32_t)bits, __ATOMIC_RELAXED);
#else
    ntmm_le_store(p, walk_read_entry(ctx, pa) | bits, ctx->mode->entry_bytes);
#endif
}

static bool walk_fault(ntmm_fault_t *f, uint32_t vector, uint32_t code, uint64_t addr, unsigned acc)
{
    f->vector = vector;
    f->error_code = code;
    f->address = addr;
    f->access = acc & HW_ACC_KIND;
    return false;
}

/* The #PF error code for an access (SDM 4.7), with P set for protection violations. */
static uint32_t walk_pf_code(const hw_paging_ctx_t *ctx, unsigned acc, uint32_t extra)
{
    uint32_t code = extra;
    unsigned kind = acc & HW_ACC_KIND;
    if (kind == NTMM_ACCESS_WRITE) code |= NTMM_PF_W;
    if (acc & HW_ACC_USER) code |= NTMM_PF_U;
    if (kind == NTMM_ACCESS_EXECUTE && ((ctx->nxe && ctx->mode && ctx->mode->entry_bytes == 8) || ctx->smep))
        code |= NTMM_PF_I;
    return code;
}

bool hw_walk_allows(const hw_paging_ctx_t *ctx, const hw_walk_t *w, unsigned acc)
{
    unsigned kind = acc & HW_ACC_KIND;
    if (!ctx->mode) return true; /* paging off: no page-level protection, SMEP/SMAP included */
    if (acc & HW_ACC_USER) {
        if (!w->user) return false;
        if (kind == NTMM_ACCESS_WRITE) return w->writable;
        if (kind == NTMM_ACCESS_EXECUTE) return !w->no_execute;
        return true;
    }
    if (kind == NTMM_ACCESS_EXECUTE) return !w->no_execute && !(ctx->smep && w->user);
    if (w->user && ctx->smap && ((acc & HW_ACC_IMPLICIT) || !(acc & HW_ACC_AC))) return false;
    if (kind == NTMM_ACCESS_WRITE) return w->writable || !ctx->wp;
    return true;
}

bool hw_walk(const hw_paging_ctx_t *ctx, va_t la, unsigned acc, hw_walk_t *w, ntmm_fault_t *fault)
{
    const hw_paging_mode_t *m = ctx->mode;
    w->user = w->writable = true;
    w->no_execute = w->global = w->dirty = false;
    if (!m) {
        if (la > UINT32_MAX) return walk_fault(fault, NTMM_VEC_GP, 0, la, acc);
        w->top_level = w->leaf_level = 0;
        w->pa = la;
        w->page_size = NTMM_PAGE_SIZE;
        return true;
    }
    if (!hw_paging_canonical(m, la)) return walk_fault(fault, NTMM_VEC_GP, 0, la, acc);

    w->top_level = m->levels;
    pa_t table = ctx->root;
    unsigned l = m->levels;
    hw_pte_t e = 0;
    bool large = false;
    for (;; l--) {
        unsigned idx = hw_paging_index(m, la, l);
        pa_t epa = table + (pa_t)idx * m->entry_bytes;
        w->entry_pa[l] = epa;
        w->leaf_level = (uint8_t)l;
        if (m->pdpte_registers && l == m->levels) {
            e = ctx->pdpte[idx]; /* a register: checked when loaded, carries no rights, no A bit */
            w->entry[l] = e;
            if (!hw_pte_present(e)) goto not_present;
        } else {
            if (!hw_phys_frame_present(ctx->phys, epa >> NTMM_PAGE_SHIFT))
                return walk_fault(fault, NTMM_VEC_MC, 0, epa, acc);
            e = walk_read_entry(ctx, epa);
            w->entry[l] = e;
            if (!hw_pte_present(e)) goto not_present;
            large = (e & HW_PTE_PS) && (ctx->large_levels & (1u << l));
            if (e & ctx->rsvd[l][large])
                return walk_fault(fault, NTMM_VEC_PF, walk_pf_code(ctx, acc, NTMM_PF_P | NTMM_PF_RSVD), la, acc);
            w->user = w->user && (e & HW_PTE_US);
            w->writable = w->writable && (e & HW_PTE_RW);
            if (ctx->nxe && (e & HW_PTE_XD)) w->no_execute = true;
        }
        if (l == 1 || large) break;
        table = e & ctx->addr_mask;
    }

    w->page_size = hw_paging_level_size(m, l);
    pa_t frame;
    if (m->entry_bytes == 4 && large)
        frame = (e & HW_PDE32_4M_FRAME) | (((e & HW_PDE32_4M_HI) >> HW_PDE32_4M_HI_SHIFT) << 32);
    else
        frame = e & ctx->addr_mask & ~(w->page_size - 1u);
    w->pa = frame | (la & (w->page_size - 1u));
    w->global = ctx->pge && (e & HW_PTE_G);
    w->dirty = (e & HW_PTE_D) != 0;
    if (acc & HW_ACC_INSPECT) return true;
    if (!hw_walk_allows(ctx, w, acc))
        return walk_fault(fault, NTMM_VEC_PF, walk_pf_code(ctx, acc, NTMM_PF_P), la, acc);

    /* Success: Accessed in every entry used (not PAE's PDPTE registers), Dirty in the leaf. */
    for (unsigned k = m->levels; k >= l; k--) {
        if (m->pdpte_registers && k == m->levels) continue;
        hw_pte_t bits = HW_PTE_A;
        if (k == l && (acc & HW_ACC_KIND) == NTMM_ACCESS_WRITE) bits |= HW_PTE_D;
        if ((w->entry[k] & bits) != bits) walk_set_bits(ctx, w->entry_pa[k], bits);
    }
    if ((acc & HW_ACC_KIND) == NTMM_ACCESS_WRITE) w->dirty = true;
    return true;

not_present:
    return walk_fault(fault, NTMM_VEC_PF, walk_pf_code(ctx, acc, 0), la, acc);
}

bool hw_paging_load_pdptes(hw_paging_ctx_t *ctx, ntmm_fault_t *fault)
{
    pa_t base = ctx->root;
    if (!hw_phys_range_present(ctx->phys, base, 32))
        return walk_fault(fault, NTMM_VEC_GP, 0, base, NTMM_ACCESS_READ);
    hw_pte_t regs[4];
    for (unsigned i = 0; i < 4; i++) {
        regs[i] = ntmm_le_load(hw_phys_host(ctx->phys, base + 8u * i), 8);
        if (hw_pte_present(regs[i]) && (regs[i] & ctx->rsvd[3][0]))
            return walk_fault(fault, NTMM_VEC_GP, 0, base + 8u * i, NTMM_ACCESS_READ);
    }
    memcpy(ctx->pdpte, regs, sizeof regs);
    return true;
}
