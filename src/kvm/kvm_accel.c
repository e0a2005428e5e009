/* The KVM accelerator's operations table (core/accel.h) on the /dev/kvm API
 * (Documentation/virt/kvm/api.rst). The work is in kvm_vm.c, kvm_vcpu.c, kvm_regs.c,
 * kvm_cpuid.c, kvm_exit.c and kvm_irq.c. */
#include "core/accel.h"
#include "kvm/kvm_internal.h"

const struct accel_ops kvm_accel_ops = {
    .name = "kvm",
    .probe = kvm_probe,
    .vm_init = kvm_vm_init,
    .vm_destroy = kvm_vm_destroy,
    .vcpu_init = kvm_vcpu_init,
    .vcpu_destroy = kvm_vcpu_destroy,
    .vcpu_set_state = kvm_vcpu_set_state,
    .vcpu_get_state = kvm_vcpu_get_state,
    .vm_reset = kvm_reset_machine,
    .vcpu_run = kvm_vcpu_run,
    .vcpu_kick = kvm_vcpu_kick,
    .set_irq_line = kvm_irq_set_line,
    .signal_msi = kvm_irq_signal_msi,
    .add_ioeventfd = kvm_irq_add_ioeventfd,
    .del_ioeventfd = kvm_irq_del_ioeventfd,
    .add_irqfd = kvm_irq_add_irqfd,
};
