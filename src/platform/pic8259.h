/* The pair of 8259A programmable interrupt controllers (master at 0x20, slave at 0xA0, cascaded
 * on master IRQ 2) plus the ELCR edge/level registers at 0x4D0/0x4D1 (Intel 8259A data sheet;
 * PIIX ELCR). Used by the soft accelerator's platform; its INTR output reaches the CPU through
 * the BSP's LAPIC LINT0 (ExtINT). */
#ifndef EMBER_PLATFORM_PIC8259_H
#define EMBER_PLATFORM_PIC8259_H

#include <stdbool.h>
#include <stdint.h>

struct pic8259;
struct iobus;

#define PIC_PORT_ELCR 0x4D0

/* Called (without the PIC lock) whenever the INTR output may have changed. */
typedef void (*pic8259_intr_fn)(void *opaque);

struct pic8259 *pic8259_create(pic8259_intr_fn intr, void *opaque);
void pic8259_destroy(struct pic8259 *pic);
void pic8259_reset(struct pic8259 *pic);
/* Registers ports 0x20-0x21, 0xA0-0xA1 and 0x4D0-0x4D1. */
int pic8259_register(struct pic8259 *pic, struct iobus *pio);

/* Input line irq (0..15) goes to level. Any thread. */
void pic8259_set_irq(struct pic8259 *pic, unsigned irq, bool level);
/* INTR output: is an unmasked request of sufficient priority pending? Lock-free. */
bool pic8259_has_intr(struct pic8259 *pic);
/* The vector INTA would return now, or -1 if INTR is low. */
int pic8259_peek_vector(struct pic8259 *pic);
/* The interrupt-acknowledge cycle: returns the vector (a spurious IRQ 7/15 vector if the request
 * went away) and moves the request to ISR. */
int pic8259_intack(struct pic8259 *pic);

/* Port access (also used by tests); port is the absolute I/O port. */
uint8_t pic8259_io_read(struct pic8259 *pic, uint16_t port);
void pic8259_io_write(struct pic8259 *pic, uint16_t port, uint8_t value);

#endif
