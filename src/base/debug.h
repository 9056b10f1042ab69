/*
 * debug.h - assertions by debug level (mimalloc's MI_DEBUG idea).
 *
 *   NTMM_DEBUG 0  no assertions (release)
 *   NTMM_DEBUG 1  cheap assertions (NTMM_ASSERT)
 *   NTMM_DEBUG 2  + internal consistency checks (NTMM_ASSERT_INTERNAL)
 *   NTMM_DEBUG 3  + expensive checks, e.g. whole-structure validators (NTMM_ASSERT_EXPENSIVE)
 *
 * An assertion guards the code's own invariants; a failure is a bug in ntmm and aborts the
 * host process with file and line. States that bad *guest* data can cause are never asserted:
 * they are architectural faults (hw) or named bugchecks of the simulated machine (bugcheck.h).
 */
#ifndef NTMM_DEBUG_H
#define NTMM_DEBUG_H

#ifndef NTMM_DEBUG
#define NTMM_DEBUG 0
#endif

void base_assert_fail(const char *expr, const char *file, int line);

#define NTMM_ASSERT_AT(level, e) \
    ((NTMM_DEBUG >= (level) && !(e)) ? base_assert_fail(#e, __FILE__, __LINE__) : (void)0)
#define NTMM_ASSERT(e)           NTMM_ASSERT_AT(1, e)
#define NTMM_ASSERT_INTERNAL(e)  NTMM_ASSERT_AT(2, e)
#define NTMM_ASSERT_EXPENSIVE(e) NTMM_ASSERT_AT(3, e)

#endif /* NTMM_DEBUG_H */
