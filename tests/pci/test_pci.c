/* Unit tests of the PCI host bridge and device model: configuration mechanism #1 and ECAM,
 * absent functions, read-only registers, BAR sizing and remapping, capabilities, MSI-X table,
 * masking and pending bits, INTx, reset. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/memmap.h"
#include "fake_machine.h"
#include "pci/pci.h"

struct testdev {
    struct pci_device pci;
    unsigned reads, writes;
    uint64_t last_off, last_val;
};

static uint64_t mem_read(void *opaque, uint64_t off, unsigned size)
{
    struct testdev *t = opaque;
    t->reads++;
    t->last_off = off;
    return 0x1234 + off;
}

static void mem_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    struct testdev *t = opaque;
    t->writes++;
    t->last_off = off;
    t->last_val = v;
}

static const struct iobus_ops mem_ops = {.read = mem_read, .write = mem_write};

static uint64_t msix_read(void *opaque, uint64_t off, unsigned size)
{
    struct testdev *t = opaque;
    return pci_msix_bar_read(&t->pci, off, size);
}

static void msix_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    struct testdev *t = opaque;
    pci_msix_bar_write(&t->pci, off, v, size);
}

static const struct iobus_ops msix_ops = {.read = msix_read, .write = msix_write};

struct fixture {
    struct fake_machine fm;
    struct testdev dev;
    unsigned slot;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(fm_init(&f->fm, 4 * MiB), 0);
    struct pci_device *d = &f->dev.pci;
    pci_device_init(d, "testdev", 0x1AF4, 0x10FF, 3, 0x020000, 0x1AF4, 7, NULL, &f->dev);
    assert_int_equal(pci_device_add_bar(d, 0, PCI_BAR_MEM32, 0x4000, &mem_ops, &f->dev), 0);
    assert_int_equal(pci_device_add_bar(d, 1, PCI_BAR_MEM32, 0x1000, &msix_ops, &f->dev), 0);
    assert_int_equal(pci_device_add_bar(d, 2, PCI_BAR_IO, 0x20, &mem_ops, &f->dev), 0);
    assert_int_equal(pci_device_add_msix(d, 4, 1, 0, 0x800), 0);
    assert_int_equal(pci_device_register(f->fm.host, d), 0);
    f->slot = d->slot;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pci_device_unregister(&f->dev.pci);
    fm_destroy(&f->fm);
    free(f);
    return 0;
}

static uint32_t ecam_read(struct fixture *f, unsigned bus, unsigned dev, unsigned fn, unsigned reg,
                          unsigned size)
{
    uint64_t a = MEMMAP_PCI_ECAM_BASE + ((uint64_t)bus << 20 | dev << 15 | fn << 12 | reg);
    return (uint32_t)fm_mmio_read(&f->fm, a, size);
}

static void test_host_bridge_conf1(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fm_cfg_read(&f->fm, 0, PCI_VENDOR_ID, 2), 0x1B36);
    assert_int_equal(fm_cfg_read(&f->fm, 0, PCI_CLASS_DEVICE, 2), 0x0600);
    assert_int_equal(f->slot, 1);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_VENDOR_ID, 4), 0x10FF1AF4);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_REVISION_ID, 1), 3);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_CLASS_DEVICE + 1, 1), 0x02);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_SUBSYSTEM_ID, 2), 7);
    /* The address register reads back what was latched. */
    uint64_t v;
    iobus_read(&f->fm.vm.pio, PORT_PCI_CONFIG, 4, &v);
    assert_int_equal(v, 0x80000000u | 1 << 11 | (PCI_SUBSYSTEM_ID & 0xFC));
}

static void test_absent_functions_read_ones(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fm_cfg_read(&f->fm, 5, PCI_VENDOR_ID, 4), 0xFFFFFFFFu);
    assert_int_equal(fm_cfg_read(&f->fm, 31, PCI_VENDOR_ID, 2), 0xFFFF);
    /* Function 1 of a present device, bus 1, and a disabled address register. */
    iobus_write(&f->fm.vm.pio, PORT_PCI_CONFIG, 4, 0x80000000u | 1 << 11 | 1 << 8);
    uint64_t v;
    iobus_read(&f->fm.vm.pio, PORT_PCI_CONFIG + 4, 4, &v);
    assert_int_equal(v, 0xFFFFFFFFu);
    iobus_write(&f->fm.vm.pio, PORT_PCI_CONFIG, 4, 0x80000000u | 1 << 16 | 1 << 11);
    iobus_read(&f->fm.vm.pio, PORT_PCI_CONFIG + 4, 4, &v);
    assert_int_equal(v, 0xFFFFFFFFu);
    iobus_write(&f->fm.vm.pio, PORT_PCI_CONFIG, 4, 1 << 11);
    iobus_read(&f->fm.vm.pio, PORT_PCI_CONFIG + 4, 2, &v);
    assert_int_equal(v, 0xFFFF);
    /* Writes to absent functions go nowhere and do not crash. */
    fm_cfg_write(&f->fm, 9, PCI_COMMAND, 2, 0xFFFF);
    assert_int_equal(fm_cfg_read(&f->fm, 9, PCI_COMMAND, 2), 0xFFFF);
}

static void test_conf1_odd_accesses(void **state)
{
    struct fixture *f = *state;
    uint64_t v;
    /* Data port accesses that cross 0xCFF, and byte accesses to the address register. */
    iobus_write(&f->fm.vm.pio, PORT_PCI_CONFIG, 4, 0x80000000u | 1 << 11);
    iobus_read(&f->fm.vm.pio, PORT_PCI_CONFIG + 6, 4, &v);
    assert_int_equal(v & 0xFFFFFFFF, 0xFFFFFFFFu);
    iobus_write(&f->fm.vm.pio, PORT_PCI_CONFIG + 1, 1, 0xAA);
    iobus_read(&f->fm.vm.pio, PORT_PCI_CONFIG, 4, &v);
    assert_int_equal(v, 0x80000000u | 1 << 11);
    /* Sub-dword reads at byte offsets of the data port. */
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_DEVICE_ID, 2), 0x10FF);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_DEVICE_ID + 1, 1), 0x10);
}

static void test_ecam_matches_conf1(void **state)
{
    struct fixture *f = *state;
    for (unsigned reg = 0; reg < 0x40; reg += 4)
        assert_int_equal(ecam_read(f, 0, 1, 0, reg, 4), fm_cfg_read(&f->fm, 1, reg, 4));
    assert_int_equal(ecam_read(f, 0, 1, 0, PCI_DEVICE_ID, 2), 0x10FF);
    assert_int_equal(ecam_read(f, 0, 1, 0, PCI_HEADER_TYPE, 1), 0);
    assert_int_equal(ecam_read(f, 0, 2, 0, 0, 4), 0xFFFFFFFFu);
    assert_int_equal(ecam_read(f, 3, 1, 0, 0, 4), 0xFFFFFFFFu);
    assert_int_equal(ecam_read(f, 0, 1, 2, 0, 4), 0xFFFFFFFFu);
    /* Extended space exists through ECAM (empty), misaligned accesses read all-ones. */
    assert_int_equal(ecam_read(f, 0, 1, 0, 0x100, 4), 0);
    assert_int_equal(ecam_read(f, 0, 1, 0, 0xFFC, 4), 0);
    assert_int_equal(ecam_read(f, 0, 1, 0, 0x2, 4), 0xFFFFFFFFu);
    uint64_t q = fm_mmio_read(&f->fm, MEMMAP_PCI_ECAM_BASE + (1 << 15), 8);
    assert_int_equal(q & 0xFFFFFFFF, 0x10FF1AF4);
    /* ECAM writes reach the device. */
    uint64_t a = MEMMAP_PCI_ECAM_BASE + (1 << 15) + PCI_INTERRUPT_LINE;
    fm_mmio_write(&f->fm, a, 1, 0x5A);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_INTERRUPT_LINE, 1), 0x5A);
}

static void test_read_only_registers(void **state)
{
    struct fixture *f = *state;
    fm_cfg_write(&f->fm, 1, PCI_VENDOR_ID, 4, 0xDEADBEEF);
    fm_cfg_write(&f->fm, 1, PCI_CLASS_PROG, 1, 0x77);
    fm_cfg_write(&f->fm, 1, PCI_INTERRUPT_PIN, 1, 4);
    fm_cfg_write(&f->fm, 1, PCI_CAPABILITY_LIST, 1, 0x80);
    fm_cfg_write(&f->fm, 1, PCI_ROM_ADDRESS, 4, 0xFFFFFFFF);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_VENDOR_ID, 4), 0x10FF1AF4);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_CLASS_PROG, 1), 0);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_CAPABILITY_LIST, 1), 0x40);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_ROM_ADDRESS, 4), 0); /* no expansion ROM */
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_INTERRUPT_LINE, 1), PCI_INTX_GSI(1, 0));
}

static void test_bar_allocation_and_sizing(void **state)
{
    struct fixture *f = *state;
    uint32_t b0 = fm_cfg_read(&f->fm, 1, PCI_BASE_ADDRESS_0, 4);
    uint32_t b1 = fm_cfg_read(&f->fm, 1, PCI_BASE_ADDRESS_0 + 4, 4);
    uint32_t b2 = fm_cfg_read(&f->fm, 1, PCI_BASE_ADDRESS_0 + 8, 4);
    assert_true(b0 >= MEMMAP_PCI_MMIO_BASE && (b0 & 0x3FFF) == 0);
    assert_true(b1 >= MEMMAP_PCI_MMIO_BASE && (b1 & 0xFFF) == 0 && b1 != b0);
    assert_int_equal(b2 & 1, 1);
    assert_int_equal(b2 & 0x1C, 0);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_BASE_ADDRESS_0 + 12, 4), 0); /* unused BAR */
    assert_int_equal(pci_device_bar_addr(&f->dev.pci, 0), b0);
    uint16_t cmd = (uint16_t)fm_cfg_read(&f->fm, 1, PCI_COMMAND, 2);
    assert_true(cmd & PCI_COMMAND_MEMORY);
    assert_true(cmd & PCI_COMMAND_IO);

    /* The BAR is live: an MMIO read reaches the handler with a BAR-relative offset. */
    assert_int_equal(fm_mmio_read(&f->fm, b0 + 0x10, 4), 0x1234 + 0x10);
    uint64_t v;
    assert_true(iobus_read(&f->fm.vm.pio, (b2 & ~3u) + 4, 2, &v));
    assert_int_equal(v, 0x1234 + 4);

    /* Sizing as an OS does it: decode off, write all-ones, read the mask, restore. */
    fm_cfg_write(&f->fm, 1, PCI_COMMAND, 2, 0);
    assert_false(iobus_read(&f->fm.vm.mmio, b0, 4, &v));
    fm_cfg_write(&f->fm, 1, PCI_BASE_ADDRESS_0, 4, 0xFFFFFFFF);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_BASE_ADDRESS_0, 4), 0xFFFFC000u);
    fm_cfg_write(&f->fm, 1, PCI_BASE_ADDRESS_0 + 8, 4, 0xFFFFFFFF);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_BASE_ADDRESS_0 + 8, 4), 0xFFFFFFE1u);
    fm_cfg_write(&f->fm, 1, PCI_BASE_ADDRESS_0, 4, b0);
    fm_cfg_write(&f->fm, 1, PCI_BASE_ADDRESS_0 + 8, 4, b2);
    fm_cfg_write(&f->fm, 1, PCI_COMMAND, 2, cmd);
    assert_true(iobus_read(&f->fm.vm.mmio, b0, 4, &v));
}

static void test_bar_remap(void **state)
{
    struct fixture *f = *state;
    uint32_t b0 = fm_cfg_read(&f->fm, 1, PCI_BASE_ADDRESS_0, 4);
    uint32_t target = MEMMAP_PCI_MMIO_BASE + 0x100000;
    fm_cfg_write(&f->fm, 1, PCI_BASE_ADDRESS_0, 4, target);
    uint64_t v;
    assert_false(iobus_read(&f->fm.vm.mmio, b0, 4, &v));
    assert_true(iobus_read(&f->fm.vm.mmio, target + 8, 4, &v));
    assert_int_equal(v, 0x1234 + 8);
    fm_mmio_write(&f->fm, target + 0x20, 4, 99);
    assert_int_equal(f->dev.last_off, 0x20);
    assert_int_equal(f->dev.last_val, 99);
    assert_int_equal(pci_device_bar_addr(&f->dev.pci, 0), target);

    /* Outside the PCI window (over the LAPIC): not decoded at all. */
    fm_cfg_write(&f->fm, 1, PCI_BASE_ADDRESS_0, 4, (uint32_t)MEMMAP_LAPIC_BASE);
    assert_int_equal(pci_device_bar_addr(&f->dev.pci, 0), 0);
    assert_false(iobus_read(&f->fm.vm.mmio, MEMMAP_LAPIC_BASE, 4, &v));
    /* Overlapping BAR 1: the second mapping fails quietly, BAR 1 keeps working. */
    uint32_t b1 = fm_cfg_read(&f->fm, 1, PCI_BASE_ADDRESS_0 + 4, 4);
    fm_cfg_write(&f->fm, 1, PCI_BASE_ADDRESS_0, 4, b1);
    assert_int_equal(pci_device_bar_addr(&f->dev.pci, 1), b1);
    assert_int_equal(pci_device_bar_addr(&f->dev.pci, 0), 0);
    /* Reset puts everything back. */
    pci_host_reset(f->fm.host);
    assert_int_equal(fm_cfg_read(&f->fm, 1, PCI_BASE_ADDRESS_0, 4), b0);
    assert_int_equal(pci_device_bar_addr(&f->dev.pci, 0), b0);
}

static void test_capability_list(void **state)
{
    struct fixture *f = *state;
    assert_true(fm_cfg_read(&f->fm, 1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    unsigned cap = fm_cfg_read(&f->fm, 1, PCI_CAPABILITY_LIST, 1);
    assert_int_equal(cap, 0x40);
    assert_int_equal(fm_cfg_read(&f->fm, 1, cap, 1), PCI_CAP_ID_MSIX);
    assert_int_equal(fm_cfg_read(&f->fm, 1, cap + 1, 1), 0);              /* end of list */
    assert_int_equal(fm_cfg_read(&f->fm, 1, cap + PCI_MSIX_FLAGS, 2), 3); /* 4 vectors */
    assert_int_equal(fm_cfg_read(&f->fm, 1, cap + PCI_MSIX_TABLE, 4), 1);
    assert_int_equal(fm_cfg_read(&f->fm, 1, cap + PCI_MSIX_PBA, 4), 0x801);
    /* Capabilities past the 256-byte space do not fit. */
    struct pci_device d;
    pci_device_init(&d, "x", 1, 2, 0, 0, 0, 0, NULL, NULL);
    assert_true(pci_device_add_capability(&d, 9, 180) > 0);
    assert_int_equal(pci_device_add_capability(&d, 9, 48), -ENOSPC);
    assert_int_equal(pci_device_add_bar(&d, 0, PCI_BAR_MEM32, 3000, &mem_ops, NULL), -EINVAL);
    assert_int_equal(pci_device_add_bar(&d, 6, PCI_BAR_MEM32, 4096, &mem_ops, NULL), -EINVAL);
    assert_int_equal(pci_device_add_msix(&d, 4, 0, 0, 0x800), -EINVAL); /* no BAR 0 */
}

static void msix_entry(struct fixture *f, unsigned v, uint32_t data, bool masked)
{
    uint64_t e = pci_device_bar_addr(&f->dev.pci, 1) + 16 * v;
    fm_mmio_write(&f->fm, e, 8, MEMMAP_LAPIC_BASE | 0x1000);
    fm_mmio_write(&f->fm, e + 8, 4, data);
    fm_mmio_write(&f->fm, e + 12, 4, masked);
}

static void msix_control(struct fixture *f, uint16_t v)
{
    fm_cfg_write(&f->fm, 1, 0x40 + PCI_MSIX_FLAGS, 2, v);
}

static void test_msix_delivery_and_masking(void **state)
{
    struct fixture *f = *state;
    uint64_t bar1 = pci_device_bar_addr(&f->dev.pci, 1);
    /* Entries are masked after reset. */
    assert_int_equal(fm_mmio_read(&f->fm, bar1 + 12, 4), 1);
    msix_entry(f, 0, 0x41, false);
    msix_entry(f, 2, 0x43, true);
    assert_int_equal(fm_mmio_read(&f->fm, bar1 + 8, 4), 0x41);
    assert_int_equal(fm_mmio_read(&f->fm, bar1, 8), MEMMAP_LAPIC_BASE | 0x1000);

    /* Disabled: nothing is delivered. */
    pci_msix_notify(&f->dev.pci, 0);
    assert_int_equal(f->fm.msi_count, 0);
    assert_false(pci_msix_enabled(&f->dev.pci));

    msix_control(f, PCI_MSIX_FLAGS_ENABLE);
    assert_true(pci_msix_enabled(&f->dev.pci));
    pci_msix_notify(&f->dev.pci, 0);
    assert_int_equal(f->fm.msi_count, 1);
    assert_int_equal(f->fm.msi_data[0], 0x41);
    assert_int_equal(f->fm.msi_addr[0], MEMMAP_LAPIC_BASE | 0x1000);

    /* Masked vector: pending bit, delivered on unmask. */
    pci_msix_notify(&f->dev.pci, 2);
    assert_int_equal(f->fm.msi_count, 1);
    assert_int_equal(fm_mmio_read(&f->fm, bar1 + 0x800, 4), 1 << 2);
    fm_mmio_write(&f->fm, bar1 + 0x800, 4, 0); /* PBA is read-only */
    assert_int_equal(fm_mmio_read(&f->fm, bar1 + 0x800, 8), 1 << 2);
    fm_mmio_write(&f->fm, bar1 + 16 * 2 + 12, 4, 0);
    assert_int_equal(f->fm.msi_count, 2);
    assert_int_equal(f->fm.msi_data[1], 0x43);
    assert_int_equal(fm_mmio_read(&f->fm, bar1 + 0x800, 4), 0);

    /* Function mask holds everything back until cleared. */
    msix_control(f, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    pci_msix_notify(&f->dev.pci, 0);
    assert_int_equal(f->fm.msi_count, 2);
    msix_control(f, PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(f->fm.msi_count, 3);

    /* Vectors past the table and odd-sized or misaligned accesses are ignored. */
    pci_msix_notify(&f->dev.pci, 4);
    pci_msix_notify(&f->dev.pci, 1000);
    assert_int_equal(f->fm.msi_count, 3);
    fm_mmio_write(&f->fm, bar1 + 8, 2, 0xFFFF);
    fm_mmio_write(&f->fm, bar1 + 6, 4, 0xFFFFFFFF);
    assert_int_equal(fm_mmio_read(&f->fm, bar1 + 8, 4), 0x41);
    assert_int_equal(fm_mmio_read(&f->fm, bar1 + 8, 2), 0);
    assert_int_equal(fm_mmio_read(&f->fm, bar1 + 0x400, 4), 0); /* past the 4-entry table */
    fm_mmio_write(&f->fm, bar1 + 0x400, 4, 1);
    /* Only the mask bit of vector control is writable. */
    fm_mmio_write(&f->fm, bar1 + 12, 4, 0xFFFFFFFF);
    assert_int_equal(fm_mmio_read(&f->fm, bar1 + 12, 4), 1);
    /* The table-size field is read-only. */
    msix_control(f, 0x07FF);
    assert_int_equal(fm_cfg_read(&f->fm, 1, 0x40 + PCI_MSIX_FLAGS, 2), 3);
}

static void test_intx(void **state)
{
    struct fixture *f = *state;
    unsigned gsi = PCI_INTX_GSI(1, 0);
    pci_set_intx(&f->dev.pci, true);
    assert_true(f->fm.irq_level[gsi]);
    assert_true(fm_cfg_read(&f->fm, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    uint16_t cmd = (uint16_t)fm_cfg_read(&f->fm, 1, PCI_COMMAND, 2);
    fm_cfg_write(&f->fm, 1, PCI_COMMAND, 2, cmd | PCI_COMMAND_INTX_DISABLE);
    assert_false(f->fm.irq_level[gsi]);
    assert_true(fm_cfg_read(&f->fm, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    fm_cfg_write(&f->fm, 1, PCI_COMMAND, 2, cmd);
    assert_true(f->fm.irq_level[gsi]);
    pci_set_intx(&f->dev.pci, false);
    assert_false(f->fm.irq_level[gsi]);
    assert_false(fm_cfg_read(&f->fm, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    unsigned changes = f->fm.irq_changes;
    pci_set_intx(&f->dev.pci, false); /* no edge for a level that did not change */
    assert_int_equal(f->fm.irq_changes, changes);
}

static void test_slots_fill_up(void **state)
{
    struct fixture *f = *state;
    static struct pci_device extra[31];
    unsigned added = 0;
    for (unsigned i = 0; i < 31; i++) {
        pci_device_init(&extra[i], "extra", 1, 2, 0, 0, 0, 0, NULL, NULL);
        if (pci_device_register(f->fm.host, &extra[i]) == 0)
            added++;
        else
            break;
    }
    assert_int_equal(added, 30); /* slot 0 is the bridge, slot 1 the test device */
    for (unsigned i = 0; i < added; i++)
        pci_device_unregister(&extra[i]);
    assert_int_equal(fm_cfg_read(&f->fm, 2, 0, 4), 0xFFFFFFFFu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_host_bridge_conf1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_functions_read_ones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conf1_odd_accesses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecam_matches_conf1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_allocation_and_sizing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_remap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capability_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msix_delivery_and_masking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slots_fill_up, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
