/* Unit tests for the PIO/MMIO bus: registration rules, dispatch, unclaimed accesses, and
 * re-registration while another thread dispatches. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/iobus.h"

struct fake_dev {
    uint64_t last_offset, last_value;
    unsigned last_size, reads, writes;
    uint64_t read_value;
};

static uint64_t fake_read(void *opaque, uint64_t offset, unsigned size)
{
    struct fake_dev *d = opaque;
    d->reads++;
    d->last_offset = offset;
    d->last_size = size;
    return d->read_value;
}

static void fake_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct fake_dev *d = opaque;
    d->writes++;
    d->last_offset = offset;
    d->last_value = value;
    d->last_size = size;
}

static const struct iobus_ops fake_ops = {.read = fake_read, .write = fake_write};

static void test_dispatch_and_offsets(void **state)
{
    struct iobus bus;
    struct fake_dev a = {.read_value = 0x1122334455667788ULL}, b = {0};
    assert_int_equal(iobus_init(&bus, "test"), 0);
    assert_int_equal(iobus_register(&bus, 0x1000, 0x100, &fake_ops, &a, "a"), 0);
    assert_int_equal(iobus_register(&bus, 0x100, 0x10, &fake_ops, &b, "b"), 0);

    uint64_t v;
    assert_true(iobus_read(&bus, 0x1010, 2, &v));
    assert_int_equal(v, 0x7788); /* masked to the access size */
    assert_int_equal(a.last_offset, 0x10);
    assert_int_equal(a.last_size, 2);
    assert_true(iobus_write(&bus, 0x10f, 1, 0xabcd));
    assert_int_equal(b.last_offset, 0xf);
    assert_int_equal(b.last_value, 0xcd);
    assert_true(iobus_read(&bus, 0x10f8, 8, &v));
    assert_int_equal(v, a.read_value);
    iobus_destroy(&bus);
}

static void test_unclaimed_and_straddling(void **state)
{
    struct iobus bus;
    struct fake_dev a = {0};
    assert_int_equal(iobus_init(&bus, "test"), 0);
    assert_int_equal(iobus_register(&bus, 0x1000, 0x10, &fake_ops, &a, "a"), 0);
    uint64_t v = 0;
    assert_false(iobus_read(&bus, 0x2000, 4, &v));
    assert_int_equal(v, 0xffffffffULL);
    assert_false(iobus_read(&bus, 0x100e, 4, &v)); /* straddles the end */
    assert_false(iobus_read(&bus, 0x0ffe, 4, &v)); /* straddles the start */
    assert_false(iobus_write(&bus, 0x1000, 3, 0)); /* bad size */
    assert_int_equal(a.reads + a.writes, 0);
    iobus_destroy(&bus);
}

static void test_overlaps_rejected(void **state)
{
    struct iobus bus;
    struct fake_dev a = {0};
    assert_int_equal(iobus_init(&bus, "test"), 0);
    assert_int_equal(iobus_register(&bus, 0x1000, 0x10, &fake_ops, &a, "a"), 0);
    assert_int_equal(iobus_register(&bus, 0x100f, 1, &fake_ops, &a, "x"), -EEXIST);
    assert_int_equal(iobus_register(&bus, 0xff0, 0x11, &fake_ops, &a, "x"), -EEXIST);
    assert_int_equal(iobus_register(&bus, 0xff0, 0x10, &fake_ops, &a, "ok"), 0);
    assert_int_equal(iobus_register(&bus, 0x1010, 0x10, &fake_ops, &a, "ok2"), 0);
    assert_int_equal(iobus_register(&bus, 0, 0, &fake_ops, &a, "empty"), -EINVAL);
    assert_int_equal(iobus_register(&bus, UINT64_MAX, 2, &fake_ops, &a, "wrap"), -EINVAL);
    assert_int_equal(iobus_register(&bus, UINT64_MAX, 1, &fake_ops, &a, "top"), 0);
    iobus_destroy(&bus);
}

static void test_unregister(void **state)
{
    struct iobus bus;
    struct fake_dev a = {0}, b = {0};
    assert_int_equal(iobus_init(&bus, "test"), 0);
    assert_int_equal(iobus_register(&bus, 0x1000, 0x10, &fake_ops, &a, "a"), 0);
    assert_int_equal(iobus_unregister(&bus, 0x1000, &b), -ENOENT);
    assert_int_equal(iobus_unregister(&bus, 0x1000, &a), 0);
    uint64_t v;
    assert_false(iobus_read(&bus, 0x1000, 1, &v));
    assert_int_equal(iobus_register(&bus, 0x1000, 0x10, &fake_ops, &b, "b"), 0);
    assert_true(iobus_read(&bus, 0x1000, 1, &v));
    assert_int_equal(b.reads, 1);
    iobus_destroy(&bus);
}

struct hammer {
    struct iobus *bus;
    atomic_bool stop;
    atomic_ulong hits;
};

static void *hammer_reads(void *arg)
{
    struct hammer *h = arg;
    while (!atomic_load(&h->stop)) {
        uint64_t v;
        if (iobus_read(h->bus, 0x10, 4, &v))
            atomic_fetch_add(&h->hits, 1);
    }
    return NULL;
}

/* A BAR moving while a vCPU dispatches: lookups never see a torn or freed table. */
static void test_remap_while_dispatching(void **state)
{
    struct iobus bus;
    struct fake_dev a = {0}, moving = {0};
    assert_int_equal(iobus_init(&bus, "test"), 0);
    assert_int_equal(iobus_register(&bus, 0x10, 4, &fake_ops, &a, "fixed"), 0);
    struct hammer h = {.bus = &bus};
    atomic_init(&h.stop, false);
    atomic_init(&h.hits, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hammer_reads, &h), 0);
    /* The reader must be running before the remapping starts (on a loaded machine it may not
     * be scheduled for a while), and the remapping goes on until it has overlapped many reads. */
    while (atomic_load(&h.hits) == 0)
        sched_yield();
    unsigned long start_hits = atomic_load(&h.hits);
    for (uint64_t i = 0; i < 2000 || atomic_load(&h.hits) - start_hits < 1000; i++) {
        uint64_t base = 0x1000 + (i % 16) * 0x100;
        assert_int_equal(iobus_register(&bus, base, 0x100, &fake_ops, &moving, "bar"), 0);
        assert_int_equal(iobus_unregister(&bus, base, &moving), 0);
    }
    atomic_store(&h.stop, true);
    assert_int_equal(pthread_join(t, NULL), 0);
    /* Every read of the fixed range was claimed by its handler, none by a moving BAR. */
    assert_int_equal(a.reads, atomic_load(&h.hits));
    assert_int_equal(moving.reads, 0);
    iobus_destroy(&bus);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_and_offsets),
        cmocka_unit_test(test_unclaimed_and_straddling),
        cmocka_unit_test(test_overlaps_rejected),
        cmocka_unit_test(test_unregister),
        cmocka_unit_test(test_remap_while_dispatching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
