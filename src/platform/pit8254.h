/* The 8254 programmable interval timer (Intel 82C54 data sheet) at ports 0x40-0x43, plus port
 * 0x61 (channel 2 gate, speaker enable, OUT2 and refresh status as on the PC/AT). Counters are
 * computed lazily from the VM's vclock at 1.193182 MHz; channel 0 raises IRQ 0 on time through a
 * host timer. */
#ifndef EMBER_PLATFORM_PIT8254_H
#define EMBER_PLATFORM_PIT8254_H

#include <stdbool.h>
#include <stdint.h>

#define PIT_HZ                1193182ULL
#define PORT_PIT_CONTROL      0x43
#define PORT_SYSTEM_CONTROL_B 0x61

struct pit8254;
struct iobus;
struct vclock;

/* The IRQ 0 line; the timer_arm hook gets the next interrupt time (vclock ns, UINT64_MAX: none). */
typedef void (*pit8254_irq_fn)(void *opaque, bool level);
typedef void (*pit8254_arm_fn)(void *opaque, uint64_t deadline_ns);

struct pit8254 *pit8254_create(const struct vclock *clock, pit8254_irq_fn irq, void *irq_opaque,
                               pit8254_arm_fn arm, void *arm_opaque);
void pit8254_destroy(struct pit8254 *pit);
void pit8254_reset(struct pit8254 *pit);
/* Registers ports 0x40-0x43 and 0x61. */
int pit8254_register(struct pit8254 *pit, struct iobus *pio);

/* Raises IRQ 0 if channel 0's output rose since the last poll and re-arms. Called when the
 * host timer fires. */
void pit8254_poll(struct pit8254 *pit);

uint8_t pit8254_io_read(struct pit8254 *pit, uint16_t port);
void pit8254_io_write(struct pit8254 *pit, uint16_t port, uint8_t value);

#endif
