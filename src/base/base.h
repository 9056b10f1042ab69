/*
 * base.h - the vocabulary every layer shares: address types, alignment helpers,
 * little-endian loads and stores, branch hints.
 *
 * Depends on nothing but the C11 library. Header-only.
 */
#ifndef NTMM_BASE_H
#define NTMM_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint64_t va_t;  /* a linear (virtual) address of the simulated machine */
typedef uint64_t pa_t;  /* a physical address of the simulated machine */
typedef uint64_t pfn_t; /* a physical frame number: pa >> 12 */
typedef uint64_t vpn_t; /* a virtual page number: va >> 12 */

#define NTMM_PAGE_SHIFT 12u
#define NTMM_PAGE_SIZE  4096u
#define NTMM_PAGE_MASK  ((uint64_t)NTMM_PAGE_SIZE - 1u)

#define NTMM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NTMM_KIB(n) ((uint64_t)(n) << 10)
#define NTMM_MIB(n) ((uint64_t)(n) << 20)
#define NTMM_GIB(n) ((uint64_t)(n) << 30)

/* Bits lo..hi inclusive, as Intel's manuals write them ("bits 51:12"). */
#define NTMM_BITS(hi, lo) ((~(uint64_t)0 >> (63u - (hi))) & ~(((uint64_t)1 << (lo)) - 1u))
#define NTMM_BIT(n) ((uint64_t)1 << (n))

static inline uint64_t ntmm_align_down(uint64_t x, uint64_t align) { return x & ~(align - 1u); }
static inline uint64_t ntmm_align_up(uint64_t x, uint64_t align) { return (x + align - 1u) & ~(align - 1u); }
static inline bool ntmm_is_pow2(uint64_t x) { return x != 0 && (x & (x - 1u)) == 0; }

#if defined(__GNUC__) || defined(__clang__)
#define NTMM_LIKELY(x)   __builtin_expect(!!(x), 1)
#define NTMM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NTMM_NOINLINE    __attribute__((noinline))
#define NTMM_UNUSED      __attribute__((unused))
#else
#define NTMM_LIKELY(x)   (x)
#define NTMM_UNLIKELY(x) (x)
#define NTMM_NOINLINE
#define NTMM_UNUSED
#endif

/*
 * Guest memory is little-endian (x86). These read and write guest bytes in host memory
 * whatever the host's byte order; on a little-endian host they compile to one move.
 */
static inline uint64_t ntmm_le_load(const void *p, unsigned size)
{
    const uint8_t *b = (const uint8_t *)p;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v = 0;
    memcpy(&v, b, size);
    return v;
#else
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) v |= (uint64_t)b[i] << (8u * i);
    return v;
#endif
}

static inline void ntmm_le_store(void *p, uint64_t v, unsigned size)
{
    uint8_t *b = (uint8_t *)p;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(b, &v, size);
#else
    for (unsigned i = 0; i < size; i++) b[i] = (uint8_t)(v >> (8u * i));
#endif
}

#endif /* NTMM_BASE_H */
