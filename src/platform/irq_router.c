/* GSI -> IOAPIC/PIC and message -> LAPIC routing for the userspace irqchip (SDM vol. 3A 10.6.2,
 * 10.11.1 MSI address and 10.11.2 MSI data formats). */
#include "platform/irq_router.h"

#include <errno.h>
#include <stddef.h>

#include "util/log.h"

#define MSI_ADDR_MASK       0xFFF00000ULL
#define MSI_ADDR_BASE       0xFEE00000ULL
#define MSI_ADDR_DEST_SHIFT 12
#define MSI_ADDR_DM_LOGICAL (1u << 2)
#define MSI_DATA_DM_SHIFT   8
#define MSI_DATA_LEVEL_TRIG (1u << 15)

void irq_router_deliver(struct irq_router *r, const struct irq_msg *msg)
{
    struct lapic *lowest = NULL;
    uint8_t lowest_prio = 0xFF;
    for (unsigned i = 0; i < r->nlapics; i++) {
        struct lapic *l = r->lapics[i];
        if (!l || !lapic_match_dest(l, msg->dest, msg->logical))
            continue;
        /* XXX: lowest priority picks the lowest PPR, ties to the lowest APIC ID (no focus
         * processor, no round robin). */
        if (msg->mode == LAPIC_DM_LOWEST) {
            uint8_t p = lapic_arb_priority(l);
            if (!lowest || p < lowest_prio) {
                lowest = l;
                lowest_prio = p;
            }
            continue;
        }
        lapic_deliver(l, msg->mode, msg->vector, msg->level_trig);
    }
    if (lowest)
        lapic_deliver(lowest, msg->mode, msg->vector, msg->level_trig);
}

void irq_router_deliver_cb(void *opaque, const struct irq_msg *msg)
{
    irq_router_deliver(opaque, msg);
}

int irq_router_set_irq(struct irq_router *r, unsigned gsi, bool level)
{
    if (gsi >= IOAPIC_PINS)
        return -EINVAL;
    if (gsi < 16 && r->pic)
        pic8259_set_irq(r->pic, gsi, level);
    if (r->ioapic)
        ioapic_set_irq(r->ioapic, gsi, level);
    return 0;
}

int irq_router_msi(struct irq_router *r, uint64_t address, uint32_t data)
{
    /* Device-programmed (guest-controlled) address/data. */
    if ((address & MSI_ADDR_MASK) != MSI_ADDR_BASE) {
        log_debug("msi: write to %#llx is not an interrupt message", (unsigned long long)address);
        return -EINVAL;
    }
    struct irq_msg msg = {
        .vector = (uint8_t)data,
        .mode = (enum lapic_delivery)((data >> MSI_DATA_DM_SHIFT) & 7),
        .dest = (uint8_t)(address >> MSI_ADDR_DEST_SHIFT),
        .logical = address & MSI_ADDR_DM_LOGICAL,
        .level_trig = data & MSI_DATA_LEVEL_TRIG,
    };
    irq_router_deliver(r, &msg);
    return 0;
}
