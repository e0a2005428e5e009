/* ACPI tables for an ember machine (ACPI 6.4 chapter 5): RSDP, XSDT, FADT, FACS, DSDT (AML),
 * MADT (local APICs, IOAPIC, interrupt source override for the SCI, LINT1 NMI) and MCFG (PCIe
 * ECAM). Built into a byte image that is copied to guest RAM at MEMMAP_ACPI_BASE. */
#ifndef EMBER_PLATFORM_ACPI_TABLES_H
#define EMBER_PLATFORM_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

struct acpi_config {
    unsigned ncpus;    /* 1..VM_MAX_VCPUS; local APIC IDs are 0..ncpus-1 */
    uint64_t base_gpa; /* guest-physical address the image is copied to */
};

/* Offsets of the tables inside the image (for tests and loaders). */
struct acpi_layout {
    size_t rsdp, xsdt, fadt, facs, dsdt, madt, mcfg;
    size_t size; /* bytes used */
};

/* Builds the tables into buf (bufsize bytes, zeroed first). Returns 0, -EINVAL for a bad
 * config, -ENOSPC if they do not fit, -ENOMEM. */
int acpi_tables_build(const struct acpi_config *cfg, uint8_t *buf, size_t bufsize,
                      struct acpi_layout *out);

/* The byte sum that makes a table's checksum field right (ACPI 5.2.5/5.2.6). */
uint8_t acpi_checksum(const uint8_t *p, size_t n);

#endif
