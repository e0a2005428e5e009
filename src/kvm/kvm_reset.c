/* Machine reset for the KVM accelerator: the power-on state of the in-kernel PIC, IOAPIC and
 * PIT (api.rst 4.26-4.27 KVM_GET/SET_IRQCHIP, 4.71-4.72 KVM_GET/SET_PIT2) and of each vCPU
 * (registers, LAPIC via KVM_GET/SET_LAPIC, MP state, pending events) is captured right after
 * creation and written back on reset, so no interrupt, timer or AP survives into the new boot. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/vm.h"
#include "kvm/kvm_internal.h"
#include "util/log.h"

static int checked_ioctl(int fd, unsigned long req, void *arg, const char *what)
{
    if (ioctl(fd, req, arg) < 0) {
        int err = errno;
        log_error("kvm: %s failed: %s", what, strerror(err));
        return -err;
    }
    return 0;
}

int kvm_reset_save_vm(struct kvm_vm_state *ks)
{
    static const unsigned chips[3] = {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
                                      KVM_IRQCHIP_IOAPIC};
    for (unsigned i = 0; i < 3; i++) {
        memset(&ks->reset_chips[i], 0, sizeof(ks->reset_chips[i]));
        ks->reset_chips[i].chip_id = chips[i];
        int rc = checked_ioctl(ks->vm_fd, KVM_GET_IRQCHIP, &ks->reset_chips[i], "KVM_GET_IRQCHIP");
        if (rc < 0)
            return rc;
    }
    return checked_ioctl(ks->vm_fd, KVM_GET_PIT2, &ks->reset_pit, "KVM_GET_PIT2");
}

int kvm_vm_reset(struct vm *vm)
{
    struct kvm_vm_state *ks = vm->accel_state;
    for (unsigned i = 0; i < 3; i++) {
        struct kvm_irqchip chip = ks->reset_chips[i];
        int rc = checked_ioctl(ks->vm_fd, KVM_SET_IRQCHIP, &chip, "KVM_SET_IRQCHIP");
        if (rc < 0)
            return rc;
    }
    struct kvm_pit_state2 pit = ks->reset_pit;
    return checked_ioctl(ks->vm_fd, KVM_SET_PIT2, &pit, "KVM_SET_PIT2");
}

int kvm_reset_save_vcpu(struct kvm_vcpu_state *vs)
{
    int rc = checked_ioctl(vs->fd, KVM_GET_REGS, &vs->reset_regs, "KVM_GET_REGS");
    if (rc == 0)
        rc = checked_ioctl(vs->fd, KVM_GET_SREGS, &vs->reset_sregs, "KVM_GET_SREGS");
    if (rc == 0)
        rc = checked_ioctl(vs->fd, KVM_GET_LAPIC, &vs->reset_lapic, "KVM_GET_LAPIC");
    if (rc == 0)
        rc = checked_ioctl(vs->fd, KVM_GET_MP_STATE, &vs->reset_mp, "KVM_GET_MP_STATE");
    return rc;
}

/* No pending or injected exception, interrupt, NMI or SMI. */
static int clear_events(int fd)
{
    struct kvm_vcpu_events ev;
    memset(&ev, 0, sizeof(ev));
    ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
    return checked_ioctl(fd, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS");
}

int kvm_vcpu_reset(struct vcpu *vcpu)
{
    struct kvm_vcpu_state *vs = vcpu->accel_state;
    struct kvm_sregs sregs = vs->reset_sregs;
    struct kvm_regs regs = vs->reset_regs;
    struct kvm_lapic_state lapic = vs->reset_lapic;
    struct kvm_mp_state mp = vs->reset_mp;
    int rc = checked_ioctl(vs->fd, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
    if (rc == 0)
        rc = checked_ioctl(vs->fd, KVM_SET_REGS, &regs, "KVM_SET_REGS");
    if (rc == 0)
        rc = checked_ioctl(vs->fd, KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC");
    if (rc == 0)
        rc = clear_events(vs->fd);
    if (rc == 0)
        rc = checked_ioctl(vs->fd, KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE");
    vs->io_pending = false;
    if (rc < 0)
        log_error("kvm: vCPU %u: reset failed", vcpu->index);
    return rc;
}

/* accel_ops.vm_reset: on a guest reset the in-kernel PIC/IOAPIC/PIT/LAPIC state and every vCPU
 * (APs back to waiting for INIT/SIPI) return to power-on state before the boot states load. */
int kvm_reset_machine(struct vm *vm)
{
    int rc = kvm_vm_reset(vm);
    for (unsigned i = 0; rc == 0 && i < vm->ncpus; i++)
        rc = kvm_vcpu_reset(&vm->vcpus[i]);
    return rc;
}
