/*
 * rng.h - a small seeded generator (xoshiro256**, seeded by splitmix64) for randomized
 * tests, benchmarks and the machine's own deterministic choices. State is a value the caller
 * owns: no global generator exists.
 */
#ifndef NTMM_RNG_H
#define NTMM_RNG_H

#include <stdint.h>

typedef struct base_rng { uint64_t s[4]; } base_rng_t;

static inline uint64_t base_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void base_rng_seed(base_rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = base_splitmix64(&seed);
}

static inline uint64_t base_rng_next(base_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5u;
    uint64_t result = ((x << 7) | (x >> 57)) * 9u;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* In [0, n), n > 0 (modulo; the tiny bias is irrelevant for tests and workloads). */
static inline uint64_t base_rng_below(base_rng_t *r, uint64_t n)
{
    return base_rng_next(r) % n;
}

#endif /* NTMM_RNG_H */
