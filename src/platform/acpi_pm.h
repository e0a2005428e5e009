/* The ACPI fixed-hardware PM block at PORT_ACPI_PM_BASE (ACPI 6.4 section 4.8): PM1a event
 * (PM1_STS/PM1_EN), PM1a control (SCI_EN, SLP_TYP, SLP_EN), the 32-bit PM timer at 3.579545 MHz,
 * and the FADT reset register. Sleep state S5 powers the VM off; the reset register resets it. */
#ifndef EMBER_PLATFORM_ACPI_PM_H
#define EMBER_PLATFORM_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/memmap.h"

/* Port layout inside the block (mirrored in the FADT). */
#define ACPI_PM1A_EVT_BLK (PORT_ACPI_PM_BASE + 0x0) /* PM1_STS (2), PM1_EN (2) */
#define ACPI_PM1_EVT_LEN  4
#define ACPI_PM1A_CNT_BLK (PORT_ACPI_PM_BASE + 0x4)
#define ACPI_PM1_CNT_LEN  2
#define ACPI_PM_TMR_BLK   (PORT_ACPI_PM_BASE + 0x8)
#define ACPI_PM_TMR_LEN   4
#define ACPI_RESET_REG    (PORT_ACPI_PM_BASE + 0xC)
#define ACPI_RESET_VALUE  0x0E
#define ACPI_PM_BLOCK_LEN 0x10

#define ACPI_PM_TIMER_HZ 3579545ULL
/* SLP_TYP value for S5 (soft off), as the DSDT's \_S5 package announces. */
#define ACPI_SLP_TYP_S5 5

struct acpi_pm;
struct iobus;
struct vclock;

/* Hooks into the VM: the SCI line level, power-off and reset requests. */
struct acpi_pm_ops {
    void (*set_sci)(void *opaque, bool level);
    void (*power_off)(void *opaque);
    void (*reset)(void *opaque);
};

struct acpi_pm *acpi_pm_create(const struct vclock *clock, const struct acpi_pm_ops *ops,
                               void *opaque);
void acpi_pm_destroy(struct acpi_pm *pm);
void acpi_pm_reset(struct acpi_pm *pm);
int acpi_pm_register(struct acpi_pm *pm, struct iobus *pio);

/* The power button was pressed (graceful shutdown request from the user or the API). */
void acpi_pm_press_power_button(struct acpi_pm *pm);
/* The PM timer value now (exposed for tests). */
uint32_t acpi_pm_timer(struct acpi_pm *pm);

/* Port access with absolute ports; size 1, 2 or 4. */
uint32_t acpi_pm_io_read(struct acpi_pm *pm, uint16_t port, unsigned size);
void acpi_pm_io_write(struct acpi_pm *pm, uint16_t port, uint32_t value, unsigned size);

#endif
