/*
 * pte.h - hardware paging-structure entry formats, bit-exact (Intel SDM vol. 3A, 4.3-4.5).
 *
 * Masks and shifts only: C bitfield layout is implementation-defined, and these entries are
 * read and written by the simulated MMU in guest memory. The NT memory manager's *software*
 * PTE formats (invalid entries with P = 0) are drawn in mm, not here.
 *
 * 32-bit paging, 4-byte entries (CR4.PAE = 0):
 *
 *   PTE (4 KiB page), PDE pointing to a page table:
 *    31                                   12 11  9 8 7 6 5 4 3 2 1 0
 *   +---------------------------------------+-----+-+-+-+-+-+-+-+-+-+
 *   |  page frame / page-table address      | AVL |G|S|D|A|C|W|U|R|P|   S: PAT in a PTE,
 *   +---------------------------------------+-----+-+-+-+-+-+-+-+-+-+      PS (=0) in a PDE
 *
 *   PDE mapping a 4 MiB page (CR4.PSE = 1, PS = 1), PSE-36 for physical bits 39:32:
 *    31                 22 21 20        13 12 11  9 8 7 6 5 4 3 2 1 0
 *   +---------------------+--+------------+--+-----+-+-+-+-+-+-+-+-+-+
 *   | PA bits 31:22       |0 | PA 39:32   |PAT| AVL|G|1|D|A|C|W|U|R|P|   bits 21:(M-19) reserved
 *   +---------------------+--+------------+--+-----+-+-+-+-+-+-+-+-+-+
 *
 * PAE, 4-level and 5-level paging, 8-byte entries:
 *
 *    63 62   52 51      M M-1                      12 11  9 8 7 6 5 4 3 2 1 0
 *   +--+-------+---------+---------------------------+-----+-+-+-+-+-+-+-+-+-+
 *   |XD|ignored| rsvd(0) | frame / next-table address| AVL |G|S|D|A|C|W|U|R|P|
 *   +--+-------+---------+---------------------------+-----+-+-+-+-+-+-+-+-+-+
 *   PAE only: bits 62:M are all reserved. XD (bit 63) is reserved unless EFER.NXE = 1.
 *   S = PS in a PDE/PDPTE (1: maps a 2 MiB / 1 GiB page; then bit 12 is PAT and bits
 *   20:13 / 29:13 are reserved), PAT in a PTE; PS is reserved in PML4Es and PML5Es.
 *
 *   PAE PDPTE (one of the four PDPTE registers loaded from CR3):
 *    63     M M-1                      12 11  9 8   5 4 3 2 1 0
 *   +--------+---------------------------+-----+-----+-+-+---+-+
 *   | rsvd   | page-directory address    | AVL |rsvd |C|W|rsv|P|
 *   +--------+---------------------------+-----+-----+-+-+---+-+
 *
 *   P present  R read/write  U user/supervisor  W write-through  C cache-disable
 *   A accessed  D dirty  G global (leaf only, with CR4.PGE)  AVL free for software
 */
#ifndef NTMM_HW_PTE_H
#define NTMM_HW_PTE_H

#include "base/base.h"

typedef uint64_t hw_pte_t; /* a paging-structure entry of any mode, zero-extended */

#define HW_PTE_P     NTMM_BIT(0)  /* present */
#define HW_PTE_RW    NTMM_BIT(1)  /* writable */
#define HW_PTE_US    NTMM_BIT(2)  /* user-mode accessible */
#define HW_PTE_PWT   NTMM_BIT(3)  /* write-through */
#define HW_PTE_PCD   NTMM_BIT(4)  /* cache disable */
#define HW_PTE_A     NTMM_BIT(5)  /* accessed: set by the MMU when the entry is used */
#define HW_PTE_D     NTMM_BIT(6)  /* dirty: set by the MMU on a write (leaf entries) */
#define HW_PTE_PS    NTMM_BIT(7)  /* page size (PDE/PDPTE); PAT in a 4 KiB PTE */
#define HW_PTE_PAT   NTMM_BIT(7)  /* PAT index bit of a 4 KiB PTE */
#define HW_PTE_G     NTMM_BIT(8)  /* global (leaf) */
#define HW_PTE_AVL   NTMM_BITS(11, 9) /* ignored by hardware: software's */
#define HW_PTE_AVL_SHIFT 9u
#define HW_PTE_LPAT  NTMM_BIT(12) /* PAT index bit of a large-page entry */
#define HW_PTE_XD    NTMM_BIT(63) /* execute-disable (with EFER.NXE) */

/* 32-bit paging: frame bits, and PSE-36's high physical bits of a 4 MiB PDE. */
#define HW_PTE32_FRAME      NTMM_BITS(31, 12)
#define HW_PDE32_4M_FRAME   NTMM_BITS(31, 22)
#define HW_PDE32_4M_HI      NTMM_BITS(20, 13) /* physical address bits 39:32 */
#define HW_PDE32_4M_HI_SHIFT 13u

/* PAE PDPTE bits that are reserved whatever MAXPHYADDR is. */
#define HW_PDPTE_PAE_RSVD   (NTMM_BITS(2, 1) | NTMM_BITS(8, 5))

static inline bool hw_pte_present(hw_pte_t e) { return (e & HW_PTE_P) != 0; }

#endif /* NTMM_HW_PTE_H */
