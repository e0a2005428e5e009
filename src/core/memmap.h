/* The guest-physical memory map and fixed I/O ports of an ember machine, in one place.
 * RAM fills [0, RAM_LOW_END) and continues above 4 GiB; the hole below 4 GiB holds MMIO. */
#ifndef EMBER_CORE_MEMMAP_H
#define EMBER_CORE_MEMMAP_H

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* RAM */
#define MEMMAP_RAM_LOW_END   0xC0000000ULL  /* RAM below 4 GiB ends at 3 GiB */
#define MEMMAP_RAM_HIGH_BASE 0x100000000ULL /* the rest of RAM starts at 4 GiB */
#define MEMMAP_RAM_MIN       (2 * MiB)
#define MEMMAP_RAM_MAX       (1024 * GiB)

/* Legacy low-memory layout used by the loaders (all inside the first MiB). */
#define MEMMAP_BOOT_GDT    0x00000500ULL /* boot GDT (long-mode flat segments) */
#define MEMMAP_BOOT_IDT    0x00000520ULL /* empty boot IDT (limit 0) */
#define MEMMAP_ZERO_PAGE   0x00007000ULL /* Linux boot_params */
#define MEMMAP_BOOT_STACK  0x0008F000ULL /* initial RSP for non-Linux guests (grows down) */
#define MEMMAP_BOOT_PML4   0x00009000ULL /* boot page tables: PML4, PDPT, then PDs */
#define MEMMAP_BOOT_PDPT   0x0000A000ULL
#define MEMMAP_BOOT_PD     0x0000B000ULL /* 4 PDs: identity map of the first 4 GiB, 2 MiB pages */
#define MEMMAP_CMDLINE     0x00020000ULL /* kernel command line */
#define MEMMAP_CMDLINE_MAX (64 * KiB)
#define MEMMAP_EBDA_BASE   0x0009FC00ULL /* top of conventional memory as reported in e820 */
#define MEMMAP_ACPI_BASE   0x000E0000ULL /* RSDP and ACPI tables (BIOS area) */
#define MEMMAP_ACPI_SIZE   (128 * KiB)
#define MEMMAP_KERNEL_BASE 0x00100000ULL /* protected-mode kernel / flat binaries load here */

/* MMIO hole below 4 GiB */
#define MEMMAP_PCI_MMIO_BASE 0xC0000000ULL /* 32-bit PCI BARs */
#define MEMMAP_PCI_MMIO_SIZE 0x20000000ULL
#define MEMMAP_PCI_ECAM_BASE 0xE0000000ULL /* PCIe ECAM, buses 0..255 */
#define MEMMAP_PCI_ECAM_SIZE 0x10000000ULL
#define MEMMAP_TESTDEV_BASE                                                                        \
    0xFEB00000ULL /* ember test device (scratch registers for test guests) */
#define MEMMAP_TESTDEV_SIZE 0x1000ULL
#define MEMMAP_IOAPIC_BASE  0xFEC00000ULL
#define MEMMAP_HPET_BASE    0xFED00000ULL
#define MEMMAP_LAPIC_BASE   0xFEE00000ULL

/* Port I/O */
#define PORT_PIC_MASTER   0x20
#define PORT_PIT          0x40
#define PORT_I8042_DATA   0x60
#define PORT_I8042_CMD    0x64
#define PORT_RTC          0x70
#define PORT_PIC_SLAVE    0xA0
#define PORT_DEBUG_EXIT   0xF4 /* 1 byte: the VM ends with this exit code */
#define PORT_COM1         0x3F8
#define PORT_ACPI_PM_BASE 0x600 /* PM1a event/control and PM timer */
#define PORT_PCI_CONFIG   0xCF8

/* Legacy interrupt lines (GSIs on the IOAPIC / ISA IRQs on the PIC) */
#define IRQ_PIT  0
#define IRQ_KBD  1 /* i8042 keyboard port (announced; ember has no keyboard behind it) */
#define IRQ_COM1 4
#define IRQ_RTC  8
#define IRQ_SCI  9

/* PCI INTx routing (used by the host bridge and the ACPI _PRT): device slot s, pin p
 * (0 = INTA) raises IOAPIC GSI PCI_INTX_GSI(s, p). */
#define PCI_INTX_GSI_BASE       16
#define PCI_INTX_GSI(slot, pin) (PCI_INTX_GSI_BASE + (((slot) + (pin)) & 7))

#endif
