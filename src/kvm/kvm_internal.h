/* Private state of the KVM accelerator (Documentation/virt/kvm/api.rst): the per-VM and
 * per-vCPU file descriptors and the shared kvm_run page, and the helpers the accelerator's
 * files share. Nothing here is global: two VMs in one process each have their own. */
#ifndef EMBER_KVM_INTERNAL_H
#define EMBER_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/accel.h"
#include "core/cpu_state.h"

struct vm;
struct vcpu;

/* Guest-physical pages KVM needs on Intel hosts (api.rst 4.48 KVM_SET_TSS_ADDR: three pages;
 * 4.47 KVM_SET_IDENTITY_MAP_ADDR: one page). Placed in the MMIO hole, clear of every range in
 * core/memmap.h (the LAPIC page ends at 0xFEE01000; nothing else lives up to 4 GiB). */
#define KVM_IDENTITY_MAP_ADDR 0xFEFFC000ULL
#define KVM_TSS_ADDR          0xFEFFD000ULL

/* IOAPIC pins of the in-kernel irqchip: valid GSIs for KVM_IRQ_LINE with the default routing. */
#define KVM_GSI_COUNT 24

struct kvm_vm_state {
    int kvm_fd;                         /* /dev/kvm */
    int vm_fd;                          /* KVM_CREATE_VM */
    size_t run_size;                    /* KVM_GET_VCPU_MMAP_SIZE */
    struct kvm_cpuid2 *supported_cpuid; /* KVM_GET_SUPPORTED_CPUID, filtered per vCPU */
    unsigned nslots;                    /* memory slots registered */
    /* Power-on state of the in-kernel devices, captured after creation, for machine resets. */
    struct kvm_irqchip reset_chips[3]; /* PIC master, PIC slave, IOAPIC */
    struct kvm_pit_state2 reset_pit;
};

struct kvm_vcpu_state {
    int fd;              /* KVM_CREATE_VCPU */
    struct kvm_run *run; /* mmap of the vCPU fd, run_size bytes */
    size_t run_size;
    bool io_pending;   /* last exit was PIO/MMIO: KVM completes it on the next KVM_RUN */
    bool signal_ready; /* the kick signal is unblocked on this vCPU's thread */
    /* Power-on state captured after creation (SDM vol. 3A 9.1.1), for machine resets. */
    struct kvm_regs reset_regs;
    struct kvm_sregs reset_sregs;
    struct kvm_lapic_state reset_lapic;
    struct kvm_mp_state reset_mp;
};

/* The signal that kicks a vCPU thread out of KVM_RUN (api.rst: "immediate_exit"). */
int kvm_kick_signal(void);
/* Installs the (empty, SA_RESTART) handler for the kick signal; idempotent. */
int kvm_kick_install_handler(void);

/* kvm_cpuid.c: builds the CPUID table for vCPU index of ncpus from KVM's supported set.
 * Returns a malloc'd table (caller frees) or NULL (logged). */
struct kvm_cpuid2 *kvm_cpuid_build(const struct kvm_cpuid2 *supported, unsigned index,
                                   unsigned ncpus);
/* Edits one entry in place (exposed for the unit tests). */
void kvm_cpuid_filter_entry(struct kvm_cpuid_entry2 *e, unsigned index, unsigned ncpus);
/* Adds the LAPIC TSC-deadline timer to leaf 01H: the in-kernel LAPIC has it when
 * KVM_CAP_TSC_DEADLINE_TIMER is present, but KVM_GET_SUPPORTED_CPUID leaves it out. */
void kvm_cpuid_set_tsc_deadline(struct kvm_cpuid2 *c);
/* Fetches KVM_GET_SUPPORTED_CPUID from the /dev/kvm fd, growing the buffer as needed. */
struct kvm_cpuid2 *kvm_cpuid_get_supported(int kvm_fd);

/* kvm_regs.c: conversions between struct cpu_state and KVM's register structures. */
void kvm_regs_from_state(struct kvm_regs *regs, const struct cpu_state *st);
void kvm_regs_to_state(struct cpu_state *st, const struct kvm_regs *regs);
void kvm_sregs_from_state(struct kvm_sregs *sregs, const struct cpu_state *st);
void kvm_sregs_to_state(struct cpu_state *st, const struct kvm_sregs *sregs);
void kvm_segment_from_cpu(struct kvm_segment *k, const struct cpu_segment *s);
void kvm_segment_to_cpu(struct cpu_segment *s, const struct kvm_segment *k);
int kvm_regs_set_state(int vcpu_fd, const struct cpu_state *st);
int kvm_regs_get_state(int vcpu_fd, struct cpu_state *st);

/* kvm_exit.c: handles one KVM_RUN exit. Returns true to re-enter the guest, false to return
 * *out from vcpu_run. */
bool kvm_exit_handle(struct vcpu *vcpu, struct kvm_vcpu_state *vs, enum vcpu_exit *out);
const char *kvm_exit_reason_name(uint32_t reason);

/* kvm_irq.c: interrupt lines, MSIs, ioeventfd and irqfd. */
int kvm_irq_set_line(struct vm *vm, unsigned gsi, bool level);
int kvm_irq_signal_msi(struct vm *vm, uint64_t address, uint32_t data);
int kvm_irq_add_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned len, bool match_data,
                          uint64_t data, int fd);
int kvm_irq_del_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned len, bool match_data,
                          uint64_t data, int fd);
int kvm_irq_add_irqfd(struct vm *vm, unsigned gsi, int fd);

/* kvm_vcpu.c */
int kvm_vcpu_init(struct vcpu *vcpu);
void kvm_vcpu_destroy(struct vcpu *vcpu);
int kvm_vcpu_set_state(struct vcpu *vcpu, const struct cpu_state *st);
int kvm_vcpu_get_state(struct vcpu *vcpu, struct cpu_state *st);
enum vcpu_exit kvm_vcpu_run(struct vcpu *vcpu);
void kvm_vcpu_kick(struct vcpu *vcpu);

/* kvm_reset.c: capture the power-on state of the in-kernel devices and vCPUs at creation, and
 * put them back for a machine reset (the vCPU then waits for a boot state or, as an AP, for
 * INIT/SIPI). */
int kvm_reset_save_vm(struct kvm_vm_state *ks);
int kvm_reset_save_vcpu(struct kvm_vcpu_state *vs);
int kvm_vm_reset(struct vm *vm);
int kvm_vcpu_reset(struct vcpu *vcpu);
/* Both, for every vCPU: the machine-reset hook (on the VMM thread, all vCPUs stopped). */
int kvm_reset_machine(struct vm *vm);

/* kvm_vm.c */
int kvm_probe(char *why, size_t whylen);
int kvm_vm_init(struct vm *vm);
void kvm_vm_destroy(struct vm *vm);

#endif
