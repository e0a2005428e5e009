/* Fuzz target: guest register accesses to every userspace platform device (LAPICs, IOAPIC, PICs,
 * PIT, RTC, ACPI PM) plus IRQ line changes, MSIs and time steps, from a byte script. The guest
 * controls all of these, so no sequence may crash, hang or touch memory out of bounds.
 * Each 8-byte record: op, target, offset (2), value (4). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/vclock.h"
#include "platform/acpi_pm.h"
#include "platform/ioapic.h"
#include "platform/irq_router.h"
#include "platform/lapic.h"
#include "platform/pic8259.h"
#include "platform/pit8254.h"
#include "platform/rtc_cmos.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rig {
    struct vclock clock;
    struct lapic *lapics[2];
    struct lapic_bus bus;
    struct pic8259 *pic;
    struct ioapic *io;
    struct irq_router router;
    struct pit8254 *pit;
    struct rtc_cmos *rtc;
    struct acpi_pm *pm;
};

static void pit_irq(void *o, bool level)
{
    struct rig *r = o;
    irq_router_set_irq(&r->router, 0, level);
}

static void rtc_irq(void *o, bool level)
{
    struct rig *r = o;
    irq_router_set_irq(&r->router, 8, level);
}

static void sci(void *o, bool level)
{
    struct rig *r = o;
    irq_router_set_irq(&r->router, 9, level);
}

static void eoi(void *o, uint8_t v)
{
    struct rig *r = o;
    ioapic_eoi(r->io, v);
}

static const struct acpi_pm_ops pm_ops = {.set_sci = sci};

static void run(struct rig *r, const uint8_t *d, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint8_t op = d[i], target = d[i + 1];
        uint16_t off;
        uint32_t val;
        memcpy(&off, d + i + 2, 2);
        memcpy(&val, d + i + 4, 4);
        unsigned size = 1u << (op >> 6); /* 1, 2, 4, 8 */
        bool write = op & 1;
        struct lapic *l = r->lapics[target & 1];
        uint8_t vec = 0;
        switch ((op >> 1) & 0x1F) {
        case 0:
            if (write)
                lapic_mmio_write(l, off & 0xFFF, val, size);
            else
                lapic_mmio_read(l, off & 0xFFF, size);
            break;
        case 1:
            if (write)
                ioapic_mmio_write(r->io, off & 0x1F, val, size);
            else
                ioapic_mmio_read(r->io, off & 0x1F, size);
            break;
        case 2: {
            static const uint16_t ports[] = {0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1};
            uint16_t port = ports[off % 6];
            if (write)
                pic8259_io_write(r->pic, port, (uint8_t)val);
            else
                pic8259_io_read(r->pic, port);
            break;
        }
        case 3:
            if (write)
                pit8254_io_write(r->pit, (uint16_t)(off % 2 ? 0x61 : 0x40 + off % 4), (uint8_t)val);
            else
                pit8254_io_read(r->pit, (uint16_t)(off % 2 ? 0x61 : 0x40 + off % 4));
            break;
        case 4:
            if (write)
                rtc_cmos_io_write(r->rtc, (uint16_t)(0x70 + (off & 1)), (uint8_t)val);
            else
                rtc_cmos_io_read(r->rtc, (uint16_t)(0x70 + (off & 1)));
            break;
        case 5:
            if (write && (off & 0xF) == 4 && (val & (1u << 13)))
                val &= ~(1u << 13); /* no power-off hook in this rig */
            if (write)
                acpi_pm_io_write(r->pm, (uint16_t)(0x600 + (off & 0x1F)), val, size > 4 ? 4 : size);
            else
                acpi_pm_io_read(r->pm, (uint16_t)(0x600 + (off & 0x1F)), size > 4 ? 4 : size);
            break;
        case 6:
            irq_router_set_irq(&r->router, off % 32, val & 1);
            break;
        case 7:
            irq_router_msi(&r->router, 0xFEE00000ULL | (off << 4), val);
            break;
        case 8:
            r->clock.base_ns -= val;
            break; /* time passes */
        case 9:
            lapic_poll_timer(l);
            pit8254_poll(r->pit);
            rtc_cmos_poll(r->rtc);
            break;
        case 10: {
            int v = lapic_get_pending_vector(l);
            if (v >= 0)
                lapic_accept(l, v);
            break;
        }
        case 11:
            lapic_set_tsc_deadline(l, val);
            break;
        case 12:
            lapic_set_base_msr(l, (uint64_t)val << (off & 31));
            break;
        case 13:
            lapic_take_startup(l, &vec);
            break;
        case 14:
            lapic_set_cr8(l, val);
            break;
        default:
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_set_level(LOG_ERROR);
    static struct rig r;
    memset(&r, 0, sizeof(r));
    vclock_init(&r.clock, VCLOCK_DEFAULT_TSC_HZ);
    r.pic = pic8259_create(NULL, NULL);
    r.bus = (struct lapic_bus){.clock = &r.clock, .lapics = r.lapics, .nlapics = 2, .pic = r.pic};
    for (unsigned i = 0; i < 2; i++) {
        r.lapics[i] = lapic_create(&r.bus, i, i == 0);
        lapic_set_eoi_hook(r.lapics[i], eoi, &r);
    }
    r.router = (struct irq_router){.lapics = r.lapics, .nlapics = 2, .pic = r.pic};
    r.io = ioapic_create(irq_router_deliver_cb, &r.router);
    r.router.ioapic = r.io;
    r.pit = pit8254_create(&r.clock, pit_irq, &r, NULL, NULL);
    r.rtc = rtc_cmos_create(&r.clock, 1700000000, rtc_irq, &r, NULL, NULL);
    r.pm = acpi_pm_create(&r.clock, &pm_ops, &r);
    run(&r, data, size);
    acpi_pm_destroy(r.pm);
    rtc_cmos_destroy(r.rtc);
    pit8254_destroy(r.pit);
    ioapic_destroy(r.io);
    for (unsigned i = 0; i < 2; i++)
        lapic_destroy(r.lapics[i]);
    pic8259_destroy(r.pic);
    return 0;
}
