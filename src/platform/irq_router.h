/* Interrupt routing for the soft accelerator's userspace irqchip: a GSI drives an IOAPIC pin
 * (and, for ISA IRQs 0..15, the matching 8259 input); IOAPIC messages and MSIs are delivered
 * to the LAPICs they address (Intel SDM vol. 3A 10.6.2 destinations, 10.11 MSI format). */
#ifndef EMBER_PLATFORM_IRQ_ROUTER_H
#define EMBER_PLATFORM_IRQ_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "platform/ioapic.h"
#include "platform/lapic.h"
#include "platform/pic8259.h"

struct irq_router {
    struct lapic **lapics;
    unsigned nlapics;
    struct ioapic *ioapic; /* may be NULL until created */
    struct pic8259 *pic;   /* may be NULL */
};

/* gsi < IOAPIC_PINS; returns -EINVAL otherwise. Any thread. */
int irq_router_set_irq(struct irq_router *r, unsigned gsi, bool level);
/* address must be in the 0xFEExxxxx window; returns -EINVAL otherwise. */
int irq_router_msi(struct irq_router *r, uint64_t address, uint32_t data);
/* Delivers a message to every LAPIC it addresses (lowest priority: one of them). */
void irq_router_deliver(struct irq_router *r, const struct irq_msg *msg);
/* irq_msg_fn adapter for the IOAPIC (opaque = struct irq_router *). */
void irq_router_deliver_cb(void *opaque, const struct irq_msg *msg);

#endif
