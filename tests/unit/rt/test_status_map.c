/*
 * test_status_map.c - rt_nt_status_to_dos_error against Windows' RtlNtStatusToDosError.
 *
 * The expected pairs below are written out by hand, with literal numbers, from what Windows
 * returns: Wine's dlls/ntdll/tests/error.c (checks that pass on Windows), the conformance
 * catalog's section 23 (Win32 errors observed on Windows) and Windows' table as dumped into
 * Wine's error.h. They do not come from ntmm's headers or from the table under test; the
 * name beside each status is checked against ntmm_status_name, so a wrong value in
 * ntmm_status.h shows up here too. A seeded random run then compares the mapping with a
 * small reference model (the rules of RtlNtStatusToDosErrorNoTeb, then a linear search of
 * these pairs) on statuses next to the known ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/rng.h"
#include "rt/rt.h"

typedef struct pair {
    uint32_t status;
    const char *name;
    uint32_t error;
} pair_t;

/* Every status ntmm defines, with the Win32 error Windows gives for it. */
static const pair_t windows_pairs[] = {
    { 0x00000000u, "STATUS_SUCCESS", 0 },
    { 0x40000002u, "STATUS_WORKING_SET_LIMIT_RANGE", 87 },
    { 0x40000003u, "STATUS_IMAGE_NOT_AT_BASE", 700 },
    { 0x4000000Eu, "STATUS_IMAGE_MACHINE_TYPE_MISMATCH", 706 },
    /* warnings Windows leaves as they are: VirtualLock's GLE on a guard page is 0x80000001 */
    { 0x80000001u, "STATUS_GUARD_PAGE_VIOLATION", 0x80000001u },
    { 0x80000002u, "STATUS_DATATYPE_MISALIGNMENT", 998 },
    { 0x80000003u, "STATUS_BREAKPOINT", 0x80000003u },
    { 0x80000004u, "STATUS_SINGLE_STEP", 0x80000004u },
    { 0x80000005u, "STATUS_BUFFER_OVERFLOW", 234 },
    { 0x8000000Du, "STATUS_PARTIAL_COPY", 299 },
    { 0xC0000001u, "STATUS_UNSUCCESSFUL", 31 },
    { 0xC0000002u, "STATUS_NOT_IMPLEMENTED", 1 },
    { 0xC0000003u, "STATUS_INVALID_INFO_CLASS", 87 },
    { 0xC0000004u, "STATUS_INFO_LENGTH_MISMATCH", 24 },
    { 0xC0000005u, "STATUS_ACCESS_VIOLATION", 998 },
    { 0xC0000006u, "STATUS_IN_PAGE_ERROR", 999 },
    { 0xC0000007u, "STATUS_PAGEFILE_QUOTA", 1454 },
    { 0xC0000008u, "STATUS_INVALID_HANDLE", 6 },
    { 0xC000000Du, "STATUS_INVALID_PARAMETER", 87 },
    { 0xC0000017u, "STATUS_NO_MEMORY", 8 },
    { 0xC0000018u, "STATUS_CONFLICTING_ADDRESSES", 487 },
    { 0xC0000019u, "STATUS_NOT_MAPPED_VIEW", 487 },
    { 0xC000001Au, "STATUS_UNABLE_TO_FREE_VM", 87 },
    { 0xC000001Bu, "STATUS_UNABLE_TO_DELETE_SECTION", 87 },
    { 0xC000001Du, "STATUS_ILLEGAL_INSTRUCTION", 0xC000001Du },
    { 0xC000001Fu, "STATUS_INVALID_VIEW_SIZE", 5 },
    { 0xC0000020u, "STATUS_INVALID_FILE_FOR_SECTION", 193 },
    { 0xC0000021u, "STATUS_ALREADY_COMMITTED", 5 },
    { 0xC0000022u, "STATUS_ACCESS_DENIED", 5 },
    { 0xC0000023u, "STATUS_BUFFER_TOO_SMALL", 122 },
    { 0xC0000024u, "STATUS_OBJECT_TYPE_MISMATCH", 6 },
    { 0xC0000025u, "STATUS_NONCONTINUABLE_EXCEPTION", 0xC0000025u },
    { 0xC000002Au, "STATUS_NOT_LOCKED", 158 },
    { 0xC000002Cu, "STATUS_UNABLE_TO_DECOMMIT_VM", 487 },
    { 0xC000002Du, "STATUS_NOT_COMMITTED", 487 },
    { 0xC0000030u, "STATUS_INVALID_PARAMETER_MIX", 87 },
    { 0xC0000040u, "STATUS_SECTION_TOO_BIG", 8 },
    { 0xC0000044u, "STATUS_QUOTA_EXCEEDED", 1816 },
    { 0xC0000045u, "STATUS_INVALID_PAGE_PROTECTION", 87 },
    { 0xC0000049u, "STATUS_SECTION_NOT_IMAGE", 87 },
    { 0xC000004Cu, "STATUS_BAD_WORKING_SET_LIMIT", 87 },
    { 0xC000004Du, "STATUS_INCOMPATIBLE_FILE_MAP", 87 },
    { 0xC000004Eu, "STATUS_SECTION_PROTECTION", 87 },
    { 0xC0000061u, "STATUS_PRIVILEGE_NOT_HELD", 1314 },
    { 0xC000007Bu, "STATUS_INVALID_IMAGE_FORMAT", 193 },
    { 0xC000007Eu, "STATUS_RANGE_NOT_LOCKED", 158 },
    { 0xC000007Fu, "STATUS_DISK_FULL", 112 },
    { 0xC0000087u, "STATUS_SECTION_NOT_EXTENDED", 14 },
    { 0xC0000088u, "STATUS_NOT_MAPPED_DATA", 487 },
    { 0xC000008Cu, "STATUS_ARRAY_BOUNDS_EXCEEDED", 0xC000008Cu },
    { 0xC0000094u, "STATUS_INTEGER_DIVIDE_BY_ZERO", 0xC0000094u },
    { 0xC0000095u, "STATUS_INTEGER_OVERFLOW", 534 },
    { 0xC0000096u, "STATUS_PRIVILEGED_INSTRUCTION", 0xC0000096u },
    { 0xC0000097u, "STATUS_TOO_MANY_PAGING_FILES", 8 },
    { 0xC0000098u, "STATUS_FILE_INVALID", 1006 },
    { 0xC000009Au, "STATUS_INSUFFICIENT_RESOURCES", 1450 },
    { 0xC000009Fu, "STATUS_FREE_VM_NOT_AT_BASE", 487 },
    { 0xC00000A0u, "STATUS_MEMORY_NOT_ALLOCATED", 487 },
    { 0xC00000A1u, "STATUS_WORKING_SET_QUOTA", 1453 },
    { 0xC00000A3u, "STATUS_DEVICE_NOT_READY", 21 },
    { 0xC00000BBu, "STATUS_NOT_SUPPORTED", 50 },
    { 0xC00000D4u, "STATUS_NOT_SAME_DEVICE", 17 },
    { 0xC00000E5u, "STATUS_INTERNAL_ERROR", 1359 },
    { 0xC00000EAu, "STATUS_UNEXPECTED_MM_CREATE_ERR", 556 },
    { 0xC00000EBu, "STATUS_UNEXPECTED_MM_MAP_ERROR", 557 },
    { 0xC00000ECu, "STATUS_UNEXPECTED_MM_EXTEND_ERR", 558 },
    { 0xC00000EFu, "STATUS_INVALID_PARAMETER_1", 87 },
    { 0xC00000F0u, "STATUS_INVALID_PARAMETER_2", 87 },
    { 0xC00000F1u, "STATUS_INVALID_PARAMETER_3", 87 },
    { 0xC00000F2u, "STATUS_INVALID_PARAMETER_4", 87 },
    { 0xC00000F3u, "STATUS_INVALID_PARAMETER_5", 87 },
    { 0xC00000F4u, "STATUS_INVALID_PARAMETER_6", 87 },
    { 0xC00000F5u, "STATUS_INVALID_PARAMETER_7", 87 },
    { 0xC00000F6u, "STATUS_INVALID_PARAMETER_8", 87 },
    { 0xC00000F7u, "STATUS_INVALID_PARAMETER_9", 87 },
    { 0xC00000F8u, "STATUS_INVALID_PARAMETER_10", 87 },
    { 0xC00000F9u, "STATUS_INVALID_PARAMETER_11", 87 },
    { 0xC00000FAu, "STATUS_INVALID_PARAMETER_12", 87 },
    { 0xC00000FDu, "STATUS_STACK_OVERFLOW", 1001 },
    { 0xC000010Au, "STATUS_PROCESS_IS_TERMINATING", 5 },
    { 0xC000011Eu, "STATUS_MAPPED_FILE_SIZE_ZERO", 1006 },
    { 0xC000012Cu, "STATUS_PAGEFILE_QUOTA_EXCEEDED", 567 },
    { 0xC000012Du, "STATUS_COMMITMENT_LIMIT", 1455 },
    { 0xC000012Fu, "STATUS_INVALID_IMAGE_NOT_MZ", 193 },
    /* the real table entry (a network error); only NT-level queries return this status */
    { 0xC0000141u, "STATUS_INVALID_ADDRESS", 59 },
    { 0xC0000147u, "STATUS_NO_PAGEFILE", 578 },
    { 0xC0000220u, "STATUS_MAPPED_ALIGNMENT", 1132 },
    { 0xC0000243u, "STATUS_USER_MAPPED_FILE", 1224 },
    { 0xC00002C8u, "STATUS_COMMITMENT_MINIMUM", 635 },
    { 0xC0000374u, "STATUS_HEAP_CORRUPTION", 1359 },
};

/* Statuses Windows has no entry for: ERROR_MR_MID_NOT_FOUND. */
static const uint32_t unknown_statuses[] = { 0xC0000000u, 0xC0FFFFFFu, 0x12345678u };

static uint32_t map(uint32_t status)
{
    return rt_nt_status_to_dos_error((ntmm_status_t)status);
}

static void test_windows_pairs(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(windows_pairs); i++) {
        const pair_t *p = &windows_pairs[i];
        const char *name = ntmm_status_name((ntmm_status_t)p->status);
        if (name == NULL || strcmp(name, p->name) != 0)
            fail_msg("0x%08X: ntmm names it %s, Windows %s", (unsigned)p->status, name ? name : "(none)", p->name);
        uint32_t got = map(p->status);
        if (got != p->error)
            fail_msg("%s (0x%08X): got %u (0x%X), Windows gives %u (0x%X)", p->name, (unsigned)p->status,
                     (unsigned)got, (unsigned)got, (unsigned)p->error, (unsigned)p->error);
    }
}

/* The mappings the Win32 virtual-memory functions are known for, spelled with ntmm's names. */
static void test_vm_mappings_by_name(void **state)
{
    (void)state;
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_CONFLICTING_ADDRESSES), NTMM_ERROR_INVALID_ADDRESS);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_MEMORY_NOT_ALLOCATED), NTMM_ERROR_INVALID_ADDRESS);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_NOT_COMMITTED), NTMM_ERROR_INVALID_ADDRESS);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_FREE_VM_NOT_AT_BASE), NTMM_ERROR_INVALID_ADDRESS);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_UNABLE_TO_FREE_VM), NTMM_ERROR_INVALID_PARAMETER);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_INVALID_PAGE_PROTECTION), NTMM_ERROR_INVALID_PARAMETER);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_NO_MEMORY), NTMM_ERROR_NOT_ENOUGH_MEMORY);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_COMMITMENT_LIMIT), NTMM_ERROR_COMMITMENT_LIMIT);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_ACCESS_VIOLATION), NTMM_ERROR_NOACCESS);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_GUARD_PAGE_VIOLATION), 0x80000001u);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_PRIVILEGE_NOT_HELD), NTMM_ERROR_PRIVILEGE_NOT_HELD);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_NOT_LOCKED), NTMM_ERROR_NOT_LOCKED);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_PARTIAL_COPY), NTMM_ERROR_PARTIAL_COPY);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_WORKING_SET_QUOTA), NTMM_ERROR_WORKING_SET_QUOTA);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_MAPPED_ALIGNMENT), NTMM_ERROR_MAPPED_ALIGNMENT);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_MAPPED_FILE_SIZE_ZERO), NTMM_ERROR_FILE_INVALID);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_COMMITMENT_MINIMUM), NTMM_ERROR_COMMITMENT_MINIMUM);
    assert_int_equal(rt_nt_status_to_dos_error(NTMM_STATUS_SUCCESS), NTMM_ERROR_SUCCESS);
    assert_int_equal(NTMM_ERROR_MR_MID_NOT_FOUND, 317);
}

static void test_unknown_gives_317(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(unknown_statuses); i++)
        assert_int_equal(map(unknown_statuses[i]), 317);
}

/* The rules before the table (as Wine's RtlNtStatusToDosErrorNoTeb, checked under Wine). */
static void test_rules_before_table(void **state)
{
    (void)state;
    /* the customer bit: returned unchanged, whatever the severity */
    assert_int_equal(map(0xE0001234u), 0xE0001234u);
    assert_int_equal(map(0x20000005u), 0x20000005u);
    assert_int_equal(map(0xA0000001u), 0xA0000001u);
    /* severity 0xD reads as 0xC */
    assert_int_equal(map(0xD0000017u), 8);
    assert_int_equal(map(0xD0000005u), 998);
    assert_int_equal(map(0xD00000A0u), 487);
    /* Win32 codes wrapped as NTSTATUS (FACILITY_NTWIN32) or HRESULT (HRESULT_FROM_WIN32) */
    assert_int_equal(map(0xC0070005u), 5);
    assert_int_equal(map(0x80070057u), 87);
    assert_int_equal(map(0xC0010002u), 2);
    assert_int_equal(map(0xD0070005u), 5);
}

static void test_table_check(void **state)
{
    (void)state;
    assert_true(rt_status_map_check());
}

/* The reference model: the rules, then a linear search of windows_pairs, else 317. */
static uint32_t model(uint32_t s)
{
    if (s == 0 || (s & 0x20000000u)) return s;
    if ((s >> 28) == 0xDu) s = (s & 0x0FFFFFFFu) | 0xC0000000u;
    if ((s >> 16) == 0xC001u || (s >> 16) == 0x8007u || (s >> 16) == 0xC007u) return s & 0xFFFFu;
    for (size_t i = 0; i < NTMM_ARRAY_SIZE(windows_pairs); i++)
        if (windows_pairs[i].status == s) return windows_pairs[i].error;
    return 317;
}

static void test_random_against_model(void **state)
{
    (void)state;
    base_rng_t rng;
    base_rng_seed(&rng, 0x5747A7u);
    for (int i = 0; i < 200000; i++) {
        uint32_t s;
        switch (base_rng_below(&rng, 4)) {
        case 0: /* a known status or a neighbour of one */
            s = windows_pairs[base_rng_below(&rng, NTMM_ARRAY_SIZE(windows_pairs))].status +
                (uint32_t)base_rng_below(&rng, 5) - 2u;
            break;
        case 1: /* a known status with its top nibble replaced */
            s = (windows_pairs[base_rng_below(&rng, NTMM_ARRAY_SIZE(windows_pairs))].status & 0x0FFFFFFFu) |
                ((uint32_t)base_rng_below(&rng, 16) << 28);
            break;
        case 2: /* a Win32-facility status with a random code */
            s = (base_rng_below(&rng, 2) ? 0xC0070000u : 0x80070000u) | (uint32_t)base_rng_below(&rng, 0x10000);
            break;
        default:
            s = (uint32_t)base_rng_next(&rng);
            break;
        }
        uint32_t want = model(s);
        uint32_t got = map(s);
        if (got != want)
            fail_msg("step %d: 0x%08X -> %u, model %u", i, (unsigned)s, (unsigned)got, (unsigned)want);
    }
    assert_true(rt_status_map_check());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_pairs),
        cmocka_unit_test(test_vm_mappings_by_name),
        cmocka_unit_test(test_unknown_gives_317),
        cmocka_unit_test(test_rules_before_table),
        cmocka_unit_test(test_table_check),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
