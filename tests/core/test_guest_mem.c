/* Unit tests for guest RAM: layout around the MMIO hole, bounds-checked pointers and copies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/guest_mem.h"
#include "core/memmap.h"

static void test_small_ram_is_one_region(void **state)
{
    struct guest_mem gm;
    assert_int_equal(guest_mem_init(&gm, 16 * MiB), 0);
    assert_int_equal(gm.nregions, 1);
    assert_int_equal(gm.regions[0].gpa, 0);
    assert_int_equal(gm.regions[0].size, 16 * MiB);
    assert_non_null(guest_mem_ptr(&gm, 0, 16 * MiB));
    assert_null(guest_mem_ptr(&gm, 0, 16 * MiB + 1));
    assert_null(guest_mem_ptr(&gm, 16 * MiB, 1));
    assert_null(guest_mem_ptr(&gm, UINT64_MAX, 2)); /* would wrap */
    assert_null(guest_mem_ptr(&gm, 1, UINT64_MAX));
    guest_mem_destroy(&gm);
}

static void test_large_ram_splits_around_hole(void **state)
{
    struct guest_mem gm;
    uint64_t size = MEMMAP_RAM_LOW_END + 64 * MiB;
    assert_int_equal(guest_mem_init(&gm, size), 0);
    assert_int_equal(gm.nregions, 2);
    assert_int_equal(gm.regions[1].gpa, MEMMAP_RAM_HIGH_BASE);
    assert_int_equal(gm.regions[1].size, 64 * MiB);
    assert_true(guest_mem_is_ram(&gm, MEMMAP_RAM_LOW_END - 4096, 4096));
    assert_false(guest_mem_is_ram(&gm, MEMMAP_RAM_LOW_END - 4096, 8192)); /* into the hole */
    assert_false(guest_mem_is_ram(&gm, MEMMAP_LAPIC_BASE, 4));
    assert_true(guest_mem_is_ram(&gm, MEMMAP_RAM_HIGH_BASE, 64 * MiB));
    assert_false(guest_mem_is_ram(&gm, MEMMAP_RAM_HIGH_BASE, 64 * MiB + 1));

    /* The high region is backed by the memfd right after the low one. */
    uint8_t *hi = guest_mem_ptr(&gm, MEMMAP_RAM_HIGH_BASE, 1);
    assert_ptr_equal(hi, gm.base + MEMMAP_RAM_LOW_END);
    guest_mem_destroy(&gm);
}

static void test_copies_are_checked(void **state)
{
    struct guest_mem gm;
    assert_int_equal(guest_mem_init(&gm, 4 * MiB), 0);
    uint8_t buf[64], out[64];
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(guest_mem_write(&gm, 4 * MiB - 64, buf, 64), 0);
    assert_int_equal(guest_mem_read(&gm, 4 * MiB - 64, out, 64), 0);
    assert_memory_equal(buf, out, 64);
    assert_int_equal(guest_mem_write(&gm, 4 * MiB - 32, buf, 64), -EFAULT);
    assert_int_equal(guest_mem_read(&gm, UINT64_MAX - 10, out, 64), -EFAULT);
    assert_int_equal(guest_mem_read(&gm, 0, out, 0), 0);
    guest_mem_destroy(&gm);
}

static void test_bad_sizes_rejected(void **state)
{
    struct guest_mem gm;
    assert_int_equal(guest_mem_init(&gm, 1 * MiB), -EINVAL);
    assert_int_equal(guest_mem_init(&gm, 4 * MiB + 1), -EINVAL);
    assert_int_equal(guest_mem_init(&gm, MEMMAP_RAM_MAX + 4096), -EINVAL);
}

struct notes {
    unsigned calls;
    uint64_t gpa, len;
};

static void note_write(void *opaque, uint64_t gpa, uint64_t len)
{
    struct notes *n = opaque;
    n->calls++;
    n->gpa = gpa;
    n->len = len;
}

/* Device and loader accesses are reported to write_notify (translated-code caches rely on
 * it); the accelerator's own CPU accesses and failed lookups are not. */
static void test_write_notify(void **state)
{
    struct guest_mem gm;
    struct notes n = {0};
    assert_int_equal(guest_mem_init(&gm, 16 << 20), 0);
    gm.write_notify = note_write;
    gm.write_notify_opaque = &n;
    assert_non_null(guest_mem_ptr(&gm, 0x3000, 100));
    assert_int_equal(n.calls, 1);
    assert_int_equal(n.gpa, 0x3000);
    assert_int_equal(n.len, 100);
    uint8_t buf[8] = {0};
    assert_int_equal(guest_mem_write(&gm, 0x5000, buf, sizeof buf), 0);
    assert_int_equal(n.calls, 2);
    assert_int_equal(n.gpa, 0x5000);
    assert_non_null(guest_mem_cpu_ptr(&gm, 0x3000, 100));
    assert_int_equal(guest_mem_read(&gm, 0x3000, buf, sizeof buf), 0);
    assert_null(guest_mem_ptr(&gm, (16 << 20) - 4, 8));
    assert_int_equal(guest_mem_write(&gm, (16 << 20) - 4, buf, 8), -EFAULT);
    assert_int_equal(n.calls, 2);
    guest_mem_destroy(&gm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_ram_is_one_region),
        cmocka_unit_test(test_large_ram_splits_around_hole),
        cmocka_unit_test(test_copies_are_checked),
        cmocka_unit_test(test_bad_sizes_rejected),
        cmocka_unit_test(test_write_notify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
