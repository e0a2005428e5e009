/* Interrupt plumbing to the in-kernel irqchip (api.rst 4.25 KVM_IRQ_LINE, 4.71 KVM_SIGNAL_MSI,
 * 4.59 KVM_IOEVENTFD, 4.75 KVM_IRQFD). All callable from any thread: they are VM-fd ioctls. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/vm.h"
#include "kvm/kvm_internal.h"
#include "util/log.h"

static int vm_fd_of(struct vm *vm)
{
    struct kvm_vm_state *ks = vm->accel_state;
    return ks->vm_fd;
}

int kvm_irq_set_line(struct vm *vm, unsigned gsi, bool level)
{
    /* The default routing of KVM_CREATE_IRQCHIP covers IOAPIC pins 0..23 (0..15 also on the PIC).
     */
    if (gsi >= KVM_GSI_COUNT) {
        log_error("kvm: interrupt line GSI %u out of range (0..%d)", gsi, KVM_GSI_COUNT - 1);
        return -EINVAL;
    }
    struct kvm_irq_level irq = {.irq = gsi, .level = level ? 1 : 0};
    if (ioctl(vm_fd_of(vm), KVM_IRQ_LINE, &irq) < 0) {
        int err = errno;
        log_error("kvm: KVM_IRQ_LINE gsi %u level %d failed: %s", gsi, level, strerror(err));
        return -err;
    }
    return 0;
}

int kvm_irq_signal_msi(struct vm *vm, uint64_t address, uint32_t data)
{
    struct kvm_msi msi = {
        .address_lo = (uint32_t)address,
        .address_hi = (uint32_t)(address >> 32),
        .data = data,
        .flags = 0,
    };
    /* > 0 delivered, 0 blocked by the guest (not an error), < 0 failure. */
    if (ioctl(vm_fd_of(vm), KVM_SIGNAL_MSI, &msi) < 0) {
        int err = errno;
        log_error("kvm: KVM_SIGNAL_MSI addr 0x%llx data 0x%x failed: %s",
                  (unsigned long long)address, data, strerror(err));
        return -err;
    }
    return 0;
}

static int ioeventfd(struct vm *vm, bool assign, bool pio, uint64_t addr, unsigned len,
                     bool match_data, uint64_t data, int fd)
{
    if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8) {
        log_error("kvm: ioeventfd length %u is not 0, 1, 2, 4 or 8", len);
        return -EINVAL;
    }
    if (match_data && len == 0) {
        log_error("kvm: ioeventfd data match needs a length");
        return -EINVAL;
    }
    struct kvm_ioeventfd io;
    memset(&io, 0, sizeof(io));
    io.addr = addr;
    io.len = len;
    io.fd = fd;
    io.datamatch = match_data ? data : 0;
    io.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
               (match_data ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
               (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);
    if (ioctl(vm_fd_of(vm), KVM_IOEVENTFD, &io) < 0) {
        int err = errno;
        log_error("kvm: KVM_IOEVENTFD %s %s 0x%llx len %u failed: %s",
                  assign ? "assign" : "deassign", pio ? "port" : "mmio", (unsigned long long)addr,
                  len, strerror(err));
        return -err;
    }
    return 0;
}

int kvm_irq_add_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned len, bool match_data,
                          uint64_t data, int fd)
{
    return ioeventfd(vm, true, pio, addr, len, match_data, data, fd);
}

int kvm_irq_del_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned len, bool match_data,
                          uint64_t data, int fd)
{
    return ioeventfd(vm, false, pio, addr, len, match_data, data, fd);
}

int kvm_irq_add_irqfd(struct vm *vm, unsigned gsi, int fd)
{
    if (gsi >= KVM_GSI_COUNT) {
        log_error("kvm: irqfd GSI %u out of range (0..%d)", gsi, KVM_GSI_COUNT - 1);
        return -EINVAL;
    }
    struct kvm_irqfd irqfd;
    memset(&irqfd, 0, sizeof(irqfd));
    irqfd.fd = (uint32_t)fd;
    irqfd.gsi = gsi;
    if (ioctl(vm_fd_of(vm), KVM_IRQFD, &irqfd) < 0) {
        int err = errno;
        log_error("kvm: KVM_IRQFD gsi %u failed: %s", gsi, strerror(err));
        return -err;
    }
    return 0;
}
