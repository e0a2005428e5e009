/* Unit tests of the modern virtio-pci transport, driven through BAR 0 and config space like a
 * guest driver (with virtio-rng as the device): capabilities, feature negotiation and its bad
 * sequences, status rules, queue setup validation, doorbells, MSI-X and INTx interrupts,
 * DEVICE_NEEDS_RESET on hostile rings, the PCI-cfg access window, ioeventfd placement. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/memmap.h"
#include "fake_machine.h"
#include "virtio/virtio.h"
#include "virtio/virtio_rng.h"

#define RNG_DEVICE_ID (VIRTIO_PCI_DEVICE_ID_BASE + VIRTIO_ID_RNG)
#define RING_BASE     0x10000
#define BUF           0x100000
#define F_V1          VIRTIO_BIT(VIRTIO_F_VERSION_1)

struct fixture {
    struct fake_machine fm;
    struct vdrv d;
    struct ring r;
};

static int setup_common(void **state, bool ioeventfd)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(fm_init(&f->fm, 4 * MiB), 0);
    f->fm.ioeventfd_supported = ioeventfd;
    assert_non_null(virtio_rng_create(&f->fm.vm, f->fm.host, NULL));
    assert_true(vdrv_find(&f->fm, RNG_DEVICE_ID, &f->d));
    ring_layout(&f->r, &f->fm.vm.mem, 8, RING_BASE);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_common(state, false);
}

static int setup_ioeventfd(void **state)
{
    return setup_common(state, true);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fm_destroy(&f->fm);
    free(f);
    return 0;
}

static unsigned find_vcap(struct fixture *f, uint8_t type)
{
    unsigned cap = fm_cfg_read(&f->fm, f->d.slot, PCI_CAPABILITY_LIST, 1);
    for (unsigned guard = 0; cap && guard < 48; guard++) {
        if (fm_cfg_read(&f->fm, f->d.slot, cap, 1) == PCI_CAP_ID_VNDR &&
            fm_cfg_read(&f->fm, f->d.slot, cap + 3, 1) == type)
            return cap;
        cap = fm_cfg_read(&f->fm, f->d.slot, cap + 1, 1);
    }
    return 0;
}

/* A working device: negotiated, queue 0 on vector 1, DRIVER_OK. */
static void bring_up(struct fixture *f, uint64_t features, bool msix)
{
    if (msix)
        vdrv_enable_msix(&f->d, 2);
    assert_true(vdrv_negotiate(&f->d, features) & VIRTIO_STATUS_FEATURES_OK);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_MSIX, 2, 0);
    vdrv_setup_queue(&f->d, 0, &f->r, 1);
    vdrv_driver_ok(&f->d);
    assert_true(vdrv_status(&f->d) & VIRTIO_STATUS_DRIVER_OK);
}

static void test_identity_and_capabilities(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fm_cfg_read(&f->fm, f->d.slot, PCI_REVISION_ID, 1), 1);
    assert_int_equal(fm_cfg_read(&f->fm, f->d.slot, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1AF4);
    static const struct {
        uint8_t type;
        uint32_t off;
    } want[] = {{VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF},
                {VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF},
                {VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF},
                {VIRTIO_PCI_CAP_PCI_CFG, 0}};
    for (unsigned i = 0; i < 4; i++) {
        unsigned cap = find_vcap(f, want[i].type);
        assert_true(cap >= 0x40);
        assert_int_equal(fm_cfg_read(&f->fm, f->d.slot, cap + 4, 1), 0);
        assert_int_equal(fm_cfg_read(&f->fm, f->d.slot, cap + 8, 4), want[i].off);
    }
    unsigned ncap = find_vcap(f, VIRTIO_PCI_CAP_NOTIFY_CFG);
    assert_int_equal(fm_cfg_read(&f->fm, f->d.slot, ncap + 2, 1), 20);
    assert_int_equal(fm_cfg_read(&f->fm, f->d.slot, ncap + 16, 4), VIRTIO_PCI_NOTIFY_MULT);
    assert_int_equal(find_vcap(f, VIRTIO_PCI_CAP_DEVICE_CFG), 0); /* rng has no config */
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
}

static void test_features_offered(void **state)
{
    struct fixture *f = *state;
    uint64_t feat = vdrv_device_features(&f->d);
    assert_int_equal(feat,
                     F_V1 | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_DFSELECT, 4, 7);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_DF, 4), 0);
}

static void test_negotiation_ok(void **state)
{
    struct fixture *f = *state;
    uint8_t s = vdrv_negotiate(&f->d, F_V1 | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
    assert_int_equal(s,
                     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void test_unsupported_feature_refused(void **state)
{
    struct fixture *f = *state;
    uint8_t s = vdrv_negotiate(&f->d, F_V1 | VIRTIO_BIT(40));
    assert_false(s & VIRTIO_STATUS_FEATURES_OK);
    s = vdrv_negotiate(&f->d, F_V1 | VIRTIO_BIT(5));
    assert_false(s & VIRTIO_STATUS_FEATURES_OK);
}

static void test_legacy_driver_refused(void **state)
{
    struct fixture *f = *state;
    uint8_t s = vdrv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
    assert_false(s & VIRTIO_STATUS_FEATURES_OK);
    /* And DRIVER_OK cannot be set without FEATURES_OK. */
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, s | VIRTIO_STATUS_DRIVER_OK);
    assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_DRIVER_OK);
}

static void test_feature_write_after_features_ok(void **state)
{
    struct fixture *f = *state;
    assert_true(vdrv_negotiate(&f->d, F_V1) & VIRTIO_STATUS_FEATURES_OK);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_GF, 4, 0xFFFFFFFF);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_GF, 4), 0);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_GF, 4), 1);
}

static void test_status_bits_cannot_be_cleared(void **state)
{
    struct fixture *f = *state;
    assert_true(vdrv_negotiate(&f->d, F_V1) & VIRTIO_STATUS_FEATURES_OK);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    assert_true(vdrv_status(&f->d) & VIRTIO_STATUS_FEATURES_OK);
    /* The driver cannot set DEVICE_NEEDS_RESET itself. */
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, vdrv_status(&f->d) | 0x40);
    assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    /* Writing 0 resets everything. */
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    assert_int_equal(vdrv_status(&f->d), 0);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_GF, 4), 0);
}

static void test_queue_setup_rules(void **state)
{
    struct fixture *f = *state;
    /* Before FEATURES_OK queue registers do not take writes. */
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2, 8);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
    /* A queue that does not exist reads as absent. */
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 5);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);

    /* A size that is not a power of two is refused when the queue is enabled. */
    assert_true(vdrv_negotiate(&f->d, F_V1) & VIRTIO_STATUS_FEATURES_OK);
    f->r.size = 12;
    vdrv_setup_queue(&f->d, 0, &f->r, VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    assert_true(vdrv_status(&f->d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

    /* Rings outside RAM are refused too. */
    assert_true(vdrv_negotiate(&f->d, F_V1) & VIRTIO_STATUS_FEATURES_OK);
    assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    f->r.size = 8;
    f->r.used = MEMMAP_PCI_ECAM_BASE;
    vdrv_setup_queue(&f->d, 0, &f->r, VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    assert_true(vdrv_status(&f->d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void test_queue_frozen_after_driver_ok(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1, false);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2, 4);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x3000);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 0);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 8);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_DESCLO, 4), RING_BASE);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_USEDLO, 8), f->r.used);
}

static void test_rng_fills_buffer_msix(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1, true);
    uint8_t *buf = guest_mem_ptr(&f->fm.vm.mem, BUF, 64);
    memset(buf, 0, 64);
    ring_set_desc(&f->r, 0, BUF, 48, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->r, 0);
    vdrv_kick(&f->d, 0);
    assert_int_equal(ring_used_idx(&f->r), 1);
    uint32_t id, len;
    ring_used_elem(&f->r, 0, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 48);
    unsigned nonzero = 0;
    for (int i = 0; i < 48; i++)
        nonzero += buf[i] != 0;
    assert_true(nonzero > 24);
    for (int i = 48; i < 64; i++)
        assert_int_equal(buf[i], 0); /* nothing past the buffer */
    assert_int_equal(fm_msi_count_for(&f->fm, 1), 1);
    /* A doorbell for a queue that does not exist is ignored. */
    vdrv_kick(&f->d, 3);
    assert_int_equal(ring_used_idx(&f->r), 1);
}

static void test_buffers_before_driver_ok_are_served(void **state)
{
    struct fixture *f = *state;
    assert_true(vdrv_negotiate(&f->d, F_V1) & VIRTIO_STATUS_FEATURES_OK);
    vdrv_setup_queue(&f->d, 0, &f->r, VIRTIO_MSI_NO_VECTOR);
    ring_set_desc(&f->r, 0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->r, 0);
    vdrv_kick(&f->d, 0); /* ignored: not DRIVER_OK yet */
    assert_int_equal(ring_used_idx(&f->r), 0);
    vdrv_driver_ok(&f->d);
    assert_int_equal(ring_used_idx(&f->r), 1);
}

static void test_hostile_ring_sets_needs_reset(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1, true);
    ring_set_desc(&f->r, 0, BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0); /* loop */
    ring_publish(&f->r, 0);
    vdrv_kick(&f->d, 0);
    assert_true(vdrv_status(&f->d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(ring_used_idx(&f->r), 0);
    assert_int_equal(fm_msi_count_for(&f->fm, 0), 1); /* config change interrupt */
    /* Further work is refused until reset. */
    ring_set_desc(&f->r, 1, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->r, 1);
    vdrv_kick(&f->d, 0);
    assert_int_equal(ring_used_idx(&f->r), 0);
    /* After a reset the device works again. */
    ring_layout(&f->r, &f->fm.vm.mem, 8, RING_BASE);
    bring_up(f, F_V1, true);
    assert_false(vdrv_status(&f->d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    ring_set_desc(&f->r, 1, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->r, 1);
    vdrv_kick(&f->d, 0);
    assert_int_equal(ring_used_idx(&f->r), 1);
}

static void test_buffer_outside_ram_sets_needs_reset(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1, true);
    ring_set_desc(&f->r, 0, 4 * MiB - 8, 64, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->r, 0);
    vdrv_kick(&f->d, 0);
    assert_true(vdrv_status(&f->d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(ring_used_idx(&f->r), 0);
}

static void test_vectors_and_config_range(void **state)
{
    struct fixture *f = *state;
    vdrv_enable_msix(&f->d, 2);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_MSIX, 2, 7); /* table has 2 entries */
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_MSIX, 2, 1);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_MSIX, 2), 1);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    /* Device config and unknown offsets read as zero; odd sizes are ignored. */
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF, 4), 0);
    vdrv_write(&f->d, VIRTIO_PCI_DEVICE_OFF + 0xFF8, 8, ~0ULL);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_DEVICE_OFF + 0xFF8, 8), 0);
    assert_int_equal(vdrv_read(&f->d, 0x800, 4), 0);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_STATUS, 4), 0);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_STATUS, 2, 0xFFFF);
    assert_int_equal(vdrv_status(&f->d), 0);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_NUMQ, 2, 9);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
}

static void test_intx_and_isr(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1, false);
    unsigned gsi = PCI_INTX_GSI(f->d.slot, 0);
    ring_set_desc(&f->r, 0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->r, 0);
    vdrv_kick(&f->d, 0);
    assert_int_equal(ring_used_idx(&f->r), 1);
    assert_true(f->fm.irq_level[gsi]);
    assert_int_equal(f->fm.msi_count, 0);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_ISR_OFF, 1), 1);
    assert_false(f->fm.irq_level[gsi]);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_ISR_OFF, 1), 0);
}

static void test_event_idx_suppresses(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1 | VIRTIO_BIT(VIRTIO_F_EVENT_IDX), true);
    ring_set_used_event(&f->r, 5); /* only wake me after the 6th buffer */
    for (uint16_t i = 0; i < 3; i++) {
        ring_set_desc(&f->r, i, BUF + 64 * i, 16, VIRTQ_DESC_F_WRITE, 0);
        ring_publish(&f->r, i);
        vdrv_kick(&f->d, 0);
    }
    assert_int_equal(ring_used_idx(&f->r), 3);
    assert_int_equal(fm_msi_count_for(&f->fm, 1), 1); /* the first is always sent */
    assert_int_equal(ring_avail_event(&f->r), 3);
}

static void test_pci_cfg_window(void **state)
{
    struct fixture *f = *state;
    unsigned cap = find_vcap(f, VIRTIO_PCI_CAP_PCI_CFG);
    unsigned s = f->d.slot;
    fm_cfg_write(&f->fm, s, cap + 4, 1, 0);
    fm_cfg_write(&f->fm, s, cap + 8, 4, VIRTIO_PCI_COMMON_STATUS);
    fm_cfg_write(&f->fm, s, cap + 12, 4, 1);
    fm_cfg_write(&f->fm, s, cap + 16, 4, VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(vdrv_status(&f->d), VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(fm_cfg_read(&f->fm, s, cap + 16, 1), VIRTIO_STATUS_ACKNOWLEDGE);
    /* Through the window: device features (dword). */
    fm_cfg_write(&f->fm, s, cap + 8, 4, VIRTIO_PCI_COMMON_DF);
    fm_cfg_write(&f->fm, s, cap + 12, 4, 4);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    assert_int_equal(fm_cfg_read(&f->fm, s, cap + 16, 4), 1);
    /* Bad windows (other BAR, odd length, misaligned, past the BAR) do nothing. */
    fm_cfg_write(&f->fm, s, cap + 4, 1, 1);
    fm_cfg_write(&f->fm, s, cap + 16, 4, 0);
    fm_cfg_write(&f->fm, s, cap + 4, 1, 0);
    fm_cfg_write(&f->fm, s, cap + 12, 4, 3);
    fm_cfg_write(&f->fm, s, cap + 16, 4, 0);
    fm_cfg_write(&f->fm, s, cap + 12, 4, 4);
    fm_cfg_write(&f->fm, s, cap + 8, 4, 0xFFFFFFFE);
    fm_cfg_write(&f->fm, s, cap + 16, 4, 0);
    fm_cfg_write(&f->fm, s, cap + 8, 4, VIRTIO_PCI_BAR_CFG_SIZE);
    fm_cfg_write(&f->fm, s, cap + 16, 4, 0);
    assert_int_equal(vdrv_status(&f->d), VIRTIO_STATUS_ACKNOWLEDGE);
}

static void test_ioeventfd_follows_bar(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->fm.ioeventfd_adds, 1);
    assert_int_equal(f->fm.ioeventfd_addr, f->d.bar0 + VIRTIO_PCI_NOTIFY_OFF);
    uint32_t target = MEMMAP_PCI_MMIO_BASE + 0x800000;
    fm_cfg_write(&f->fm, f->d.slot, PCI_BASE_ADDRESS_0, 4, target);
    assert_int_equal(f->fm.ioeventfd_dels, 1);
    assert_int_equal(f->fm.ioeventfd_adds, 2);
    assert_int_equal(f->fm.ioeventfd_addr, target + VIRTIO_PCI_NOTIFY_OFF);
    /* The device still works at the new address. */
    f->d.bar0 = target;
    bring_up(f, F_V1, true);
    ring_set_desc(&f->r, 0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->r, 0);
    vdrv_kick(&f->d, 0);
    assert_int_equal(ring_used_idx(&f->r), 1);
}

static void test_system_reset(void **state)
{
    struct fixture *f = *state;
    bring_up(f, F_V1, true);
    for (unsigned i = 0; i < f->fm.vm.ndevices; i++)
        if (f->fm.vm.devices[i].reset)
            f->fm.vm.devices[i].reset(f->fm.vm.devices[i].opaque);
    assert_int_equal(vdrv_status(&f->d), 0);
    vdrv_write(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    assert_int_equal(vdrv_read(&f->d, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity_and_capabilities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_features_offered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negotiation_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_feature_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_driver_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feature_write_after_features_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_bits_cannot_be_cleared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_setup_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_frozen_after_driver_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rng_fills_buffer_msix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffers_before_driver_ok_are_served, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_ring_sets_needs_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_outside_ram_sets_needs_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vectors_and_config_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intx_and_isr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_idx_suppresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_cfg_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ioeventfd_follows_bar, setup_ioeventfd, teardown),
        cmocka_unit_test_setup_teardown(test_system_reset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
