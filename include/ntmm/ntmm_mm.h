/*
 * ntmm_mm.h - the memory manager's view of physical memory: which frame allocator a machine
 * uses, what frames are used for, and RAMMap-style statistics.
 */
#ifndef NTMM_MM_H
#define NTMM_MM_H

#include <stdint.h>

/* How free frames are kept (chosen when a machine is created). */
typedef enum ntmm_frame_allocator {
    NTMM_FRAMES_NT_LISTS = 0, /* NT's zeroed and free page lists (default) */
    NTMM_FRAMES_BITMAP = 1,   /* a bit per frame (seed 003), two-level */
    NTMM_FRAMES_BUDDY = 2,    /* a binary buddy allocator */
} ntmm_frame_allocator_t;

/* What a frame is used for: RAMMap's "Use" columns. */
typedef enum ntmm_page_use {
    NTMM_USE_UNUSED = 0,          /* on the free, zeroed or bad list */
    NTMM_USE_PROCESS_PRIVATE = 1, /* a process's private pages */
    NTMM_USE_SHAREABLE = 2,       /* page-file-backed sections */
    NTMM_USE_MAPPED_FILE = 3,     /* file-backed sections */
    NTMM_USE_PAGE_TABLE = 4,      /* page tables of every level */
    NTMM_USE_PAGED_POOL = 5,
    NTMM_USE_NONPAGED_POOL = 6,
    NTMM_USE_SYSTEM_PTE = 7,      /* system-space mappings */
    NTMM_USE_KERNEL_STACK = 8,
    NTMM_USE_DRIVER_LOCKED = 9,   /* MmAllocatePagesForMdl, contiguous memory */
    NTMM_USE_LARGE_PAGE = 10,     /* frames of large pages */
    NTMM_USE_FIRMWARE = 11,       /* RAM the firmware keeps (ACPI ranges): never allocated */
    NTMM_USE_COUNT = 12,
} ntmm_page_use_t;

/* Names for printing ("Process Private", ...). */
const char *ntmm_page_use_name(ntmm_page_use_t use);

/* Frames per page list and per use, as Sysinternals RAMMap shows them. */
typedef struct ntmm_memory_stats {
    const char *allocator;        /* "nt-lists", "bitmap", "buddy" */
    uint64_t ram_frames;          /* frames of RAM (4 KiB each) */
    uint64_t zeroed;              /* zeroed list */
    uint64_t free;                /* free list: free but not yet zeroed */
    uint64_t standby;             /* standby list: clean, reclaimable by a soft fault */
    uint64_t modified;            /* modified list: dirty, waiting for the modified page writer */
    uint64_t modified_nowrite;
    uint64_t bad;
    uint64_t active;              /* in use */
    uint64_t transition;          /* in I/O or being zeroed */
    uint64_t by_use[NTMM_USE_COUNT]; /* frames per use (the free lists count as UNUSED) */
    uint64_t largest_free_run;    /* longest physically contiguous run of free frames */
    uint64_t zeroed_by_step;      /* frames the zeroing step zeroed */
    uint64_t zeroed_on_demand;    /* frames zeroed synchronously because the zeroed list was empty */
    uint64_t repurposed;          /* standby frames taken for new owners */
} ntmm_memory_stats_t;

#endif /* NTMM_MM_H */
