/* libFuzzer target: a hostile driver poking a virtio device through the PCI transport. The
 * input is a sequence of config-space and BAR accesses (and doorbells) against a virtio-rng
 * function on a fake machine whose first 64 KiB of RAM also come from the input, so rings and
 * descriptors are arbitrary too. Nothing may crash or touch memory outside guest RAM. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/memmap.h"
#include "fake_machine.h"
#include "virtio/virtio.h"
#include "virtio/virtio_rng.h"

#define OP_SIZE     12 /* op, size, offset u16, value u64 */
#define RAM_SCRATCH (64 * KiB)

static struct fake_machine fm;
static struct vdrv drv;

static void setup_once(void)
{
    static int ready;
    if (ready)
        return;
    if (fm_init(&fm, 2 * MiB) < 0 || !virtio_rng_create(&fm.vm, fm.host, NULL) ||
        !vdrv_find(&fm, VIRTIO_PCI_DEVICE_ID_BASE + VIRTIO_ID_RNG, &drv))
        abort();
    ready = 1;
}

static unsigned access_size(uint8_t b)
{
    static const unsigned sizes[4] = {1, 2, 4, 8};
    return sizes[b & 3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    if (size < 2)
        return 0;
    size_t ram_len = (size_t)data[0] * 256;
    data++;
    size--;
    if (ram_len > size)
        ram_len = size;
    uint8_t *ram = guest_mem_ptr(&fm.vm.mem, 0, RAM_SCRATCH);
    memset(ram, 0, RAM_SCRATCH);
    memcpy(ram, data, ram_len < RAM_SCRATCH ? ram_len : RAM_SCRATCH);
    data += ram_len;
    size -= ram_len;

    for (; size >= OP_SIZE; data += OP_SIZE, size -= OP_SIZE) {
        unsigned sz = access_size(data[1]);
        uint16_t off = (uint16_t)(data[2] | data[3] << 8);
        uint64_t val;
        memcpy(&val, data + 4, 8);
        uint64_t bar0 = pci_device_bar_addr(fm.host->slots[drv.slot], 0);
        uint64_t bar1 = pci_device_bar_addr(fm.host->slots[drv.slot], 1);
        switch (data[0] % 7) {
        case 0:
            if (bar0)
                fm_mmio_write(&fm, bar0 + (off % VIRTIO_PCI_BAR_CFG_SIZE), sz, val);
            break;
        case 1:
            if (bar0)
                (void)fm_mmio_read(&fm, bar0 + (off % VIRTIO_PCI_BAR_CFG_SIZE), sz);
            break;
        case 2:
            fm_cfg_write(&fm, drv.slot, off & 0xFF, sz > 4 ? 4 : sz, (uint32_t)val);
            break;
        case 3:
            (void)fm_cfg_read(&fm, drv.slot, off & 0xFF, sz > 4 ? 4 : sz);
            break;
        case 4:
            if (bar1)
                fm_mmio_write(&fm, bar1 + (off % VIRTIO_PCI_BAR_MSIX_SIZE), sz, val);
            break;
        case 5:
            fm_mmio_write(&fm, MEMMAP_PCI_ECAM_BASE + ((uint64_t)drv.slot << 15) + (off & 0xFFF),
                          sz, val);
            break;
        default:
            fm_run(&fm, 0);
            break;
        }
    }
    fm_run(&fm, 0);
    /* Back to a clean machine for the next input. */
    for (unsigned i = 0; i < fm.vm.ndevices; i++)
        fm.vm.devices[i].reset(fm.vm.devices[i].opaque);
    pci_host_reset(fm.host);
    return 0;
}
