/* Unit tests for KVM exit handling on a synthetic kvm_run page (no /dev/kvm needed): string
 * I/O with count > 1 at data_offset, out-of-range data_offset/size/count rejected, MMIO of
 * bus sizes and odd lengths, and the exit reasons that stop the vCPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/memmap.h"
#include "core/vm.h"
#include "kvm/kvm_internal.h"

#define RUN_SIZE 8192
#define PORT     0x510

struct access {
    uint64_t offset, value;
    unsigned size;
    bool write;
};

struct recorder {
    struct access a[32];
    unsigned n;
    uint64_t next_read;
};

static void record(struct recorder *r, uint64_t offset, uint64_t value, unsigned size, bool write)
{
    if (r->n < 32)
        r->a[r->n] = (struct access){offset, value, size, write};
    r->n++;
}

static uint64_t rec_read(void *opaque, uint64_t offset, unsigned size)
{
    struct recorder *r = opaque;
    uint64_t v = r->next_read++;
    record(r, offset, v, size, false);
    return v;
}

static void rec_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    record(opaque, offset, value, size, true);
}

static const struct iobus_ops rec_ops = {.read = rec_read, .write = rec_write};

struct fixture {
    struct vm vm;
    struct vcpu vcpu;
    struct kvm_vcpu_state vs;
    struct recorder pio, mmio;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    if (iobus_init(&f->vm.pio, "pio") < 0 || iobus_init(&f->vm.mmio, "mmio") < 0)
        return -1;
    if (iobus_register(&f->vm.pio, PORT, 16, &rec_ops, &f->pio, "rec") < 0 ||
        iobus_register(&f->vm.mmio, MEMMAP_TESTDEV_BASE, 0x1000, &rec_ops, &f->mmio, "rec") < 0)
        return -1;
    f->vcpu.vm = &f->vm;
    f->vs.fd = -1; /* register dumps in error reports fail quietly */
    f->vs.run_size = RUN_SIZE;
    f->vs.run = calloc(1, RUN_SIZE);
    if (!f->vs.run)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->vs.run);
    iobus_destroy(&f->vm.mmio);
    iobus_destroy(&f->vm.pio);
    free(f);
    return 0;
}

static bool handle(struct fixture *f, enum vcpu_exit *out)
{
    return kvm_exit_handle(&f->vcpu, &f->vs, out);
}

static void set_io(struct fixture *f, uint8_t dir, uint8_t size, uint32_t count, uint64_t off)
{
    struct kvm_run *run = f->vs.run;
    run->exit_reason = KVM_EXIT_IO;
    run->io.direction = dir;
    run->io.size = size;
    run->io.port = PORT + 4;
    run->io.count = count;
    run->io.data_offset = off;
}

static void test_string_out(void **state)
{
    struct fixture *f = *state;
    set_io(f, KVM_EXIT_IO_OUT, 2, 3, 4096);
    const uint16_t words[3] = {0x1111, 0x2222, 0x3333};
    memcpy((uint8_t *)f->vs.run + 4096, words, sizeof(words));
    enum vcpu_exit out;
    assert_true(handle(f, &out));
    assert_true(f->vs.io_pending);
    assert_int_equal(f->pio.n, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_true(f->pio.a[i].write);
        assert_int_equal(f->pio.a[i].offset, 4);
        assert_int_equal(f->pio.a[i].size, 2);
        assert_int_equal(f->pio.a[i].value, words[i]);
    }
}

static void test_string_in(void **state)
{
    struct fixture *f = *state;
    set_io(f, KVM_EXIT_IO_IN, 4, 4, RUN_SIZE - 16); /* exactly fills the page end */
    f->pio.next_read = 0xA0;
    enum vcpu_exit out;
    assert_true(handle(f, &out));
    assert_int_equal(f->pio.n, 4);
    uint32_t got[4];
    memcpy(got, (uint8_t *)f->vs.run + RUN_SIZE - 16, sizeof(got));
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(got[i], 0xA0 + i);
}

static void test_io_out_of_range(void **state)
{
    struct fixture *f = *state;
    enum vcpu_exit out;
    set_io(f, KVM_EXIT_IO_IN, 4, 1, RUN_SIZE - 3); /* 4 bytes past the page */
    assert_false(handle(f, &out));
    assert_int_equal(out, VCPU_EXIT_ERROR);
    set_io(f, KVM_EXIT_IO_IN, 1, 2, RUN_SIZE - 1);
    assert_false(handle(f, &out));
    set_io(f, KVM_EXIT_IO_OUT, 1, 1, UINT64_MAX);
    assert_false(handle(f, &out));
    set_io(f, KVM_EXIT_IO_OUT, 1, UINT32_MAX, 4096);
    assert_false(handle(f, &out));
    set_io(f, KVM_EXIT_IO_OUT, 3, 1, 4096); /* no 3-byte port access */
    assert_false(handle(f, &out));
    set_io(f, KVM_EXIT_IO_OUT, 1, 0, 4096);
    assert_false(handle(f, &out));
    assert_int_equal(f->pio.n, 0); /* nothing reached the bus */
}

static void set_mmio(struct fixture *f, uint64_t addr, uint32_t len, bool write)
{
    struct kvm_run *run = f->vs.run;
    run->exit_reason = KVM_EXIT_MMIO;
    run->mmio.phys_addr = addr;
    run->mmio.len = len;
    run->mmio.is_write = write;
}

static void test_mmio(void **state)
{
    struct fixture *f = *state;
    struct kvm_run *run = f->vs.run;
    enum vcpu_exit out;
    set_mmio(f, MEMMAP_TESTDEV_BASE + 8, 8, true);
    uint64_t v = 0x0102030405060708ULL;
    memcpy(run->mmio.data, &v, 8);
    assert_true(handle(f, &out));
    assert_int_equal(f->mmio.n, 1);
    assert_int_equal(f->mmio.a[0].value, v);
    assert_int_equal(f->mmio.a[0].size, 8);
    assert_int_equal(f->mmio.a[0].offset, 8);

    set_mmio(f, MEMMAP_TESTDEV_BASE + 0x20, 2, false);
    f->mmio.next_read = 0xBEEF;
    memset(run->mmio.data, 0xFF, 8);
    assert_true(handle(f, &out));
    assert_int_equal(run->mmio.data[0], 0xEF);
    assert_int_equal(run->mmio.data[1], 0xBE);
    assert_int_equal(run->mmio.data[2], 0xFF); /* beyond len untouched */

    f->mmio.n = 0;
    set_mmio(f, MEMMAP_TESTDEV_BASE + 0x30, 3, true); /* odd length: byte by byte */
    memcpy(run->mmio.data, "\x01\x02\x03", 3);
    assert_true(handle(f, &out));
    assert_int_equal(f->mmio.n, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(f->mmio.a[i].offset, 0x30 + i);
        assert_int_equal(f->mmio.a[i].size, 1);
        assert_int_equal(f->mmio.a[i].value, i + 1);
    }

    f->mmio.n = 0;
    set_mmio(f, MEMMAP_TESTDEV_BASE, 9, true);
    assert_false(handle(f, &out));
    set_mmio(f, MEMMAP_TESTDEV_BASE, 0, false);
    assert_false(handle(f, &out));
    assert_int_equal(f->mmio.n, 0);
}

static void test_exit_reasons(void **state)
{
    struct fixture *f = *state;
    struct kvm_run *run = f->vs.run;
    enum vcpu_exit out;

    run->exit_reason = KVM_EXIT_SHUTDOWN;
    assert_false(handle(f, &out));
    assert_int_equal(out, VCPU_EXIT_SHUTDOWN);

    run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
    run->system_event.type = KVM_SYSTEM_EVENT_RESET;
    assert_false(handle(f, &out));
    assert_int_equal(out, VCPU_EXIT_RESET);
    run->system_event.type = KVM_SYSTEM_EVENT_CRASH;
    assert_false(handle(f, &out));
    assert_int_equal(out, VCPU_EXIT_ERROR);
    run->system_event.type = 999;
    assert_true(handle(f, &out));

    run->exit_reason = KVM_EXIT_FAIL_ENTRY;
    run->fail_entry.hardware_entry_failure_reason = 0x21;
    assert_false(handle(f, &out));
    assert_int_equal(out, VCPU_EXIT_ERROR);

    run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
    run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
    run->internal.ndata = 1000; /* more than the array holds: clamped */
    assert_false(handle(f, &out));
    assert_int_equal(out, VCPU_EXIT_ERROR);

    run->exit_reason = KVM_EXIT_HLT;
    assert_true(handle(f, &out));
    run->exit_reason = KVM_EXIT_INTR;
    assert_true(handle(f, &out));
    run->exit_reason = KVM_EXIT_DEBUG;
    assert_false(handle(f, &out));
    assert_int_equal(out, VCPU_EXIT_ERROR);
    run->exit_reason = 12345;
    assert_false(handle(f, &out));
    assert_string_equal(kvm_exit_reason_name(12345), "unrecognised");
    assert_string_equal(kvm_exit_reason_name(KVM_EXIT_MMIO), "MMIO");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_string_out), T(test_string_in),    T(test_io_out_of_range),
        T(test_mmio),       T(test_exit_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
