/* The interface between the machine and an accelerator (kvm, soft). An accelerator runs vCPUs
 * and owns interrupt delivery; everything else (RAM, buses, devices, loaders) is the machine's.
 * Each accelerator provides one `const struct accel_ops`; the VM keeps a pointer to it and an
 * opaque per-VM state. */
#ifndef EMBER_CORE_ACCEL_H
#define EMBER_CORE_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct vm;
struct vcpu;
struct cpu_state;

/* Why vcpu_run returned. Port and MMIO accesses are dispatched to the VM's buses inside
 * vcpu_run and do not return; neither does HLT (the accelerator waits for an interrupt). */
enum vcpu_exit {
    VCPU_EXIT_STOP,     /* vcpu_kick was called or the VM asked vCPUs to stop (pause/shutdown) */
    VCPU_EXIT_SHUTDOWN, /* triple fault / shutdown condition: the machine resets or stops */
    VCPU_EXIT_RESET,    /* the guest asked for a reset through the CPU (not via a device) */
    VCPU_EXIT_ERROR,    /* unrecoverable: entry failure, internal error; already logged */
};

struct accel_ops {
    const char *name;
    /* Is this accelerator usable on this host? 0, or -errno with a reason in why. */
    int (*probe)(char *why, size_t whylen);
    /* Per-VM setup after guest RAM exists: map RAM, create interrupt controllers.
     * Sets vm->accel_state. Errors are logged; returns 0 or -errno. */
    int (*vm_init)(struct vm *vm);
    void (*vm_destroy)(struct vm *vm);
    /* Per-vCPU setup; sets vcpu->accel_state. Called on the VMM thread before vCPU threads start.
     */
    int (*vcpu_init)(struct vcpu *vcpu);
    void (*vcpu_destroy)(struct vcpu *vcpu);
    /* Architectural register state (boot, reset, snapshots). Only while the vCPU is stopped. */
    int (*vcpu_set_state)(struct vcpu *vcpu, const struct cpu_state *st);
    int (*vcpu_get_state)(struct vcpu *vcpu, struct cpu_state *st);
    /* Machine reset, on the VMM thread with every vCPU stopped, before the boot states are
     * loaded: interrupt controllers, timers and all vCPUs back to power-on state (APs wait
     * for INIT/SIPI again). NULL if the accelerator keeps no such state. */
    int (*vm_reset)(struct vm *vm);
    /* Runs the vCPU on its own thread until one of enum vcpu_exit happens. */
    enum vcpu_exit (*vcpu_run)(struct vcpu *vcpu);
    /* From any thread: make vcpu_run return VCPU_EXIT_STOP soon (after vcpu->stop_requested is
     * set). */
    void (*vcpu_kick)(struct vcpu *vcpu);
    /* Interrupts from devices, from any thread: level of a GSI (IOAPIC pin / ISA IRQ), or an MSI.
     */
    int (*set_irq_line)(struct vm *vm, unsigned gsi, bool level);
    int (*signal_msi)(struct vm *vm, uint64_t address, uint32_t data);
    /* Optional fast paths (NULL if absent; the core then emulates them with bus handlers
     * and direct calls): an eventfd signalled on a guest write to addr (with optional
     * datamatch), and an eventfd that raises a GSI edge when written. */
    int (*add_ioeventfd)(struct vm *vm, bool pio, uint64_t addr, unsigned len, bool match_data,
                         uint64_t data, int fd);
    int (*del_ioeventfd)(struct vm *vm, bool pio, uint64_t addr, unsigned len, bool match_data,
                         uint64_t data, int fd);
    int (*add_irqfd)(struct vm *vm, unsigned gsi, int fd);
    /* Guest profile (ember run --profile; the VM was created with cfg.profile): with every
     * vCPU stopped, writes the guest instructions completed per translated block since boot
     * (soft/profile.h's format) to f. 0 or -errno. NULL if the accelerator cannot count guest
     * instructions (kvm: the guest runs on the host CPU). */
    int (*profile_write)(struct vm *vm, FILE *f);
};

/* Registered accelerators, by name ("kvm", "soft"). NULL if unknown or not built in. */
const struct accel_ops *accel_find(const char *name);
/* "auto": kvm if the host CPU advertises vmx or svm and /dev/kvm works, else soft. */
const struct accel_ops *accel_pick_auto(char *why, size_t whylen);

extern const struct accel_ops kvm_accel_ops;
extern const struct accel_ops soft_accel_ops;

#endif
