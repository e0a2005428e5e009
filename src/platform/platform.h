/* The PC platform of a VM: for the soft accelerator the userspace interrupt controllers
 * (LAPIC per vCPU, IOAPIC, 8259 PIC pair) and PIT; for every accelerator the CMOS RTC, the ACPI
 * PM block (PM1a event/control, PM timer, reset register) and the ACPI tables in guest RAM.
 * One struct platform per VM, reachable as vm->platform. */
#ifndef EMBER_PLATFORM_PLATFORM_H
#define EMBER_PLATFORM_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct lapic;
struct platform;

struct platform_config {
    /* true (soft accelerator): create the userspace LAPICs, IOAPIC, PICs and PIT and route
     * GSIs/MSIs through them. false (kvm): the kernel provides those. */
    bool irqchip;
};

/* Creates the platform devices of vm, registers them on vm->pio / vm->mmio and as VM devices
 * (reset/destroy hooks), writes the ACPI tables (again at every reset) and sets vm->platform.
 * Uses vm->cfg.ncpus, vm->mem, vm->loop, vm->clock. For the soft accelerator call it from
 * vm_init; for kvm from the machine builder after vm_create. Returns 0 or -errno (logged).
 * Teardown: the registered VM device destroy hook frees the devices. With an irqchip the LAPICs
 * (used by the vCPUs until vcpu_destroy) stay until platform_destroy, which the accelerator that
 * created the platform calls from its vm_destroy. */
int platform_create(struct vm *vm, const struct platform_config *cfg);
/* Frees what is left of vm->platform (everything, if the destroy hook has not run) and clears
 * it. Safe to call when vm->platform is NULL. */
void platform_destroy(struct vm *vm);

/* The LAPIC of vCPU index, or NULL (no irqchip, or index out of range). */
struct lapic *platform_lapic(struct platform *p, unsigned index);

/* Interrupt routing (soft accelerator's set_irq_line / signal_msi): a GSI's level (ISA IRQs
 * 0..15 also drive the PIC inputs), and an MSI write (address 0xFEExxxxx, data). Any thread.
 * Return 0, or -EINVAL for a GSI/MSI that does not exist. */
int platform_set_irq(struct platform *p, unsigned gsi, bool level);
int platform_signal_msi(struct platform *p, uint64_t address, uint32_t data);

/* The ACPI power button (graceful shutdown request: the guest powers off through S5). */
void platform_press_power_button(struct platform *p);

/* (Re)writes the ACPI tables into guest RAM at MEMMAP_ACPI_BASE. Done by platform_create and on
 * reset; exposed for loaders that clear low memory. */
int platform_write_acpi(struct platform *p);

#endif
