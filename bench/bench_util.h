/*
 * bench_util.h - what every benchmark program shares: a monotonic clock, a comparison for
 * sorting samples, and the CPU's and compiler's names for the report header.
 */
#ifndef NTMM_BENCH_UTIL_H
#define NTMM_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *v = strchr(line, ':');
        if (!v) break;
        v++;
        while (*v == ' ' || *v == '\t') v++;
        snprintf(buf, len, "%s", v);
        buf[strcspn(buf, "\n")] = '\0';
        break;
    }
    fclose(f);
}

/* The compiler and its version, for the report header. */
static inline void compiler_name(char *buf, size_t len)
{
#if defined(__clang__)
    snprintf(buf, len, "clang %s", __clang_version__);
#elif defined(__GNUC__)
    snprintf(buf, len, "gcc %s", __VERSION__);
#else
    snprintf(buf, len, "unknown compiler");
#endif
    for (size_t n = strlen(buf); n > 0 && buf[n - 1] == ' '; n--) buf[n - 1] = '\0';
}

#endif /* NTMM_BENCH_UTIL_H */
