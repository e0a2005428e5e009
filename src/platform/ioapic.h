/* The I/O APIC (Intel 82093AA data sheet): 24 redirection entries behind IOREGSEL/IOWIN at
 * MEMMAP_IOAPIC_BASE, edge and level inputs, Remote IRR cleared by the LAPIC's EOI broadcast. */
#ifndef EMBER_PLATFORM_IOAPIC_H
#define EMBER_PLATFORM_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "platform/lapic.h"

#define IOAPIC_PINS 24

struct ioapic;
struct iobus;

/* A message the IOAPIC (or an MSI) sends to the LAPICs. */
struct irq_msg {
    uint8_t vector;
    enum lapic_delivery mode;
    uint8_t dest;
    bool logical;
    bool level_trig;
};
typedef void (*irq_msg_fn)(void *opaque, const struct irq_msg *msg);

struct ioapic *ioapic_create(irq_msg_fn deliver, void *opaque);
void ioapic_destroy(struct ioapic *io);
void ioapic_reset(struct ioapic *io);
int ioapic_register(struct ioapic *io, struct iobus *mmio);

/* Input pin to level (any thread). pin >= IOAPIC_PINS is ignored. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);
/* EOI broadcast from a LAPIC for a level-triggered vector. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* MMIO (offset from MEMMAP_IOAPIC_BASE); exposed for tests. */
uint64_t ioapic_mmio_read(struct ioapic *io, uint64_t offset, unsigned size);
void ioapic_mmio_write(struct ioapic *io, uint64_t offset, uint64_t value, unsigned size);

#endif
