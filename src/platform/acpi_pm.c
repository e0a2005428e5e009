/* ACPI PM1 event/control registers, PM timer and reset register (ACPI 6.4 sections 4.8.3
 * "Fixed hardware registers", 4.8.3.3 PM timer, 4.8.3.6 reset register, 7.4.2 sleep states). */
#include "platform/acpi_pm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/iobus.h"
#include "core/vclock.h"
#include "util/log.h"

/* XXX: TMR_STS (PM timer bit-31 carry) is never set, so TMR_EN raises no SCI. */
#define PM1_STS_TMR    (1u << 0)
#define PM1_STS_PWRBTN (1u << 8)
#define PM1_STS_WAK    (1u << 15)
#define PM1_EN_TMR     (1u << 0)
#define PM1_EN_GBL     (1u << 5)
#define PM1_EN_PWRBTN  (1u << 8)
#define PM1_EN_SLPBTN  (1u << 9)
#define PM1_EN_RTC     (1u << 10)
/* Enable bits that exist (ACPI 6.4 table 4.16). They read back as written even for events that
 * never fire (global lock, RTC alarm): ACPICA checks GBL_EN reads back before using the lock. */
#define PM1_EN_MASK           (PM1_EN_TMR | PM1_EN_GBL | PM1_EN_PWRBTN | PM1_EN_SLPBTN | PM1_EN_RTC)
#define PM1_CNT_SCI_EN        (1u << 0)
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK  (7u << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN        (1u << 13)

struct acpi_pm {
    pthread_mutex_t lock;
    const struct vclock *clock;
    uint16_t sts, en, cnt;
    bool sci;
    const struct acpi_pm_ops *ops;
    void *opaque;
};

uint32_t acpi_pm_timer(struct acpi_pm *pm)
{
    uint64_t ns = vclock_ns(pm->clock);
    return (uint32_t)(((unsigned __int128)ns * ACPI_PM_TIMER_HZ) / 1000000000ULL);
}

/* Returns the SCI level the registers call for. */
static bool sci_level_locked(const struct acpi_pm *pm)
{
    return (pm->cnt & PM1_CNT_SCI_EN) && (pm->sts & pm->en & PM1_EN_MASK);
}

static void update_sci(struct acpi_pm *pm)
{
    bool level = sci_level_locked(pm);
    if (level != pm->sci) {
        pm->sci = level;
        if (pm->ops->set_sci)
            pm->ops->set_sci(pm->opaque, level);
    }
}

uint32_t acpi_pm_io_read(struct acpi_pm *pm, uint16_t port, unsigned size)
{
    uint32_t v = 0xFFFFFFFFu;
    pthread_mutex_lock(&pm->lock);
    /* Byte-wise view of the block so any access width works. */
    uint8_t bytes[ACPI_PM_BLOCK_LEN];
    memset(bytes, 0, sizeof(bytes));
    uint32_t tmr = acpi_pm_timer(pm);
    memcpy(&bytes[0], &pm->sts, 2);
    memcpy(&bytes[2], &pm->en, 2);
    uint16_t cnt = pm->cnt & ~PM1_CNT_SLP_EN; /* SLP_EN reads as zero */
    memcpy(&bytes[4], &cnt, 2);
    memcpy(&bytes[8], &tmr, 4);
    pthread_mutex_unlock(&pm->lock);
    unsigned off = port - PORT_ACPI_PM_BASE;
    /* Port and size come from the guest: check they lie inside the block. */
    if (port >= PORT_ACPI_PM_BASE && size <= 4 && off + size <= ACPI_PM_BLOCK_LEN) {
        v = 0;
        memcpy(&v, &bytes[off], size);
    }
    return v;
}

static void write_cnt_locked(struct acpi_pm *pm, uint16_t v, bool *off, bool *bad_sleep)
{
    pm->cnt = v & ~PM1_CNT_SLP_EN;
    if (!(v & PM1_CNT_SLP_EN))
        return;
    unsigned typ = (v & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT;
    if (typ == ACPI_SLP_TYP_S5)
        *off = true;
    else
        *bad_sleep = true;
}

void acpi_pm_io_write(struct acpi_pm *pm, uint16_t port, uint32_t value, unsigned size)
{
    unsigned off = port - PORT_ACPI_PM_BASE;
    if (port < PORT_ACPI_PM_BASE || size > 4 || off + size > ACPI_PM_BLOCK_LEN)
        return;
    bool power_off = false, reset = false, bad_sleep = false;
    pthread_mutex_lock(&pm->lock);
    for (unsigned i = 0; i < size; i++) {
        unsigned o = off + i;
        uint8_t b = (uint8_t)(value >> (8 * i));
        switch (o) {
        case 0:
            pm->sts &= (uint16_t)~b;
            break; /* write 1 to clear */
        case 1:
            pm->sts &= (uint16_t) ~((uint16_t)b << 8);
            break;
        case 2:
            pm->en = (uint16_t)(((pm->en & 0xFF00) | b) & PM1_EN_MASK);
            break;
        case 3:
            pm->en = (uint16_t)(((pm->en & 0x00FF) | (uint16_t)b << 8) & PM1_EN_MASK);
            break;
        case 4:
            if (size >= 2 && i + 1 < size) {
                uint16_t w = (uint16_t)(b | (uint16_t)(uint8_t)(value >> (8 * (i + 1))) << 8);
                write_cnt_locked(pm, w, &power_off, &bad_sleep);
                i++;
            } else {
                write_cnt_locked(pm, (uint16_t)((pm->cnt & 0xFF00) | b), &power_off, &bad_sleep);
            }
            break;
        case 5:
            write_cnt_locked(pm, (uint16_t)((pm->cnt & 0x00FF) | (uint16_t)b << 8), &power_off,
                             &bad_sleep);
            break;
        case ACPI_RESET_REG - PORT_ACPI_PM_BASE:
            reset = b == ACPI_RESET_VALUE;
            break;
        default:
            break; /* PM timer and reserved bytes are read-only */
        }
    }
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
    if (bad_sleep)
        log_warn("acpi: guest asked for a sleep state other than S5; ignored");
    if (power_off) {
        log_info("acpi: guest powered off (S5)");
        if (pm->ops->power_off)
            pm->ops->power_off(pm->opaque);
    }
    if (reset) {
        log_info("acpi: guest reset through the FADT reset register");
        if (pm->ops->reset)
            pm->ops->reset(pm->opaque);
    }
}

void acpi_pm_press_power_button(struct acpi_pm *pm)
{
    pthread_mutex_lock(&pm->lock);
    pm->sts |= PM1_STS_PWRBTN;
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_reset(struct acpi_pm *pm)
{
    pthread_mutex_lock(&pm->lock);
    pm->sts = 0;
    pm->en = 0;
    /* No SMI_CMD in the FADT: the platform starts in ACPI mode, so SCI_EN is set (ACPI 4.8.2.5). */
    pm->cnt = PM1_CNT_SCI_EN;
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}

struct acpi_pm *acpi_pm_create(const struct vclock *clock, const struct acpi_pm_ops *ops,
                               void *opaque)
{
    struct acpi_pm *pm = calloc(1, sizeof(*pm));
    if (!pm) {
        log_error("acpi pm: out of memory");
        return NULL;
    }
    int rc = pthread_mutex_init(&pm->lock, NULL);
    if (rc != 0) {
        log_error("acpi pm: pthread_mutex_init: %s", strerror(rc));
        free(pm);
        return NULL;
    }
    pm->clock = clock;
    pm->ops = ops;
    pm->opaque = opaque;
    acpi_pm_reset(pm);
    return pm;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
    if (!pm)
        return;
    pthread_mutex_destroy(&pm->lock);
    free(pm);
}

static uint64_t bus_read(void *opaque, uint64_t offset, unsigned size)
{
    return acpi_pm_io_read(opaque, (uint16_t)(PORT_ACPI_PM_BASE + offset), size);
}

static void bus_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    acpi_pm_io_write(opaque, (uint16_t)(PORT_ACPI_PM_BASE + offset), (uint32_t)value, size);
}

static const struct iobus_ops pm_ops = {.read = bus_read, .write = bus_write};

int acpi_pm_register(struct acpi_pm *pm, struct iobus *pio)
{
    int rc = iobus_register(pio, PORT_ACPI_PM_BASE, ACPI_PM_BLOCK_LEN, &pm_ops, pm, "acpi-pm");
    if (rc < 0)
        log_error("acpi pm: cannot claim ports %#x-%#x: %s", PORT_ACPI_PM_BASE,
                  PORT_ACPI_PM_BASE + ACPI_PM_BLOCK_LEN - 1, strerror(-rc));
    return rc;
}
