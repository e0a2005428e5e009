/* Wires up the PC platform of a VM: creates the devices, claims their ports and MMIO, connects
 * their timers to host timers on the VM's event loop and their interrupt lines to the router
 * (soft accelerator) or to vm_set_irq (any accelerator), and writes the ACPI tables. */
#include "platform/platform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/memmap.h"
#include "core/vm.h"
#include "platform/acpi_pm.h"
#include "platform/acpi_tables.h"
#include "platform/host_timer.h"
#include "platform/ioapic.h"
#include "platform/irq_router.h"
#include "platform/lapic.h"
#include "platform/pic8259.h"
#include "platform/pit8254.h"
#include "platform/rtc_cmos.h"
#include "util/log.h"

struct platform {
    struct vm *vm;
    bool irqchip;
    unsigned ncpus;
    /* Userspace irqchip (soft accelerator only). */
    struct lapic *lapics[VM_MAX_VCPUS];
    struct lapic_bus lapic_bus[VM_MAX_VCPUS]; /* one each: the timer hook differs */
    struct host_timer lapic_timer[VM_MAX_VCPUS];
    struct ioapic *ioapic;
    struct pic8259 *pic;
    struct pit8254 *pit;
    struct host_timer pit_timer;
    struct irq_router router;
    /* Every accelerator. */
    struct rtc_cmos *rtc;
    struct host_timer rtc_timer;
    struct acpi_pm *pm;
    bool devices_freed; /* by the VM device destroy hook (irqchip: LAPICs remain) */
};

/* ---- glue callbacks ---- */

static void lapic_timer_fired(void *opaque)
{
    lapic_poll_timer(opaque);
}

static void pit_timer_fired(void *opaque)
{
    pit8254_poll(opaque);
}

static void rtc_timer_fired(void *opaque)
{
    rtc_cmos_poll(opaque);
}

static void pic_intr_changed(void *opaque)
{
    struct platform *p = opaque;
    if (p->lapics[0])
        lapic_extint_changed(p->lapics[0]);
}

static void lapic_eoi_to_ioapic(void *opaque, uint8_t vector)
{
    struct platform *p = opaque;
    if (p->ioapic)
        ioapic_eoi(p->ioapic, vector);
}

static void pit_irq(void *opaque, bool level)
{
    struct platform *p = opaque;
    irq_router_set_irq(&p->router, IRQ_PIT, level);
}

static void rtc_irq(void *opaque, bool level)
{
    struct platform *p = opaque;
    vm_set_irq(p->vm, IRQ_RTC, level);
}

static void pm_set_sci(void *opaque, bool level)
{
    struct platform *p = opaque;
    vm_set_irq(p->vm, IRQ_SCI, level);
}

static void pm_power_off(void *opaque)
{
    struct platform *p = opaque;
    vm_request_stop(p->vm, VM_STOP_POWEROFF, 0);
}

static void pm_reset(void *opaque)
{
    struct platform *p = opaque;
    vm_request_reset(p->vm);
}

static const struct acpi_pm_ops pm_ops = {
    .set_sci = pm_set_sci,
    .power_off = pm_power_off,
    .reset = pm_reset,
};

/* ---- lifecycle ---- */

int platform_write_acpi(struct platform *p)
{
    uint8_t *buf = malloc(MEMMAP_ACPI_SIZE);
    if (!buf) {
        log_error("acpi: out of memory");
        return -ENOMEM;
    }
    struct acpi_config cfg = {.ncpus = p->ncpus, .base_gpa = MEMMAP_ACPI_BASE};
    struct acpi_layout layout;
    int rc = acpi_tables_build(&cfg, buf, MEMMAP_ACPI_SIZE, &layout);
    if (rc == 0) {
        rc = guest_mem_write(&p->vm->mem, MEMMAP_ACPI_BASE, buf, layout.size);
        if (rc < 0)
            log_error("acpi: guest RAM does not cover the table area at %#llx",
                      (unsigned long long)MEMMAP_ACPI_BASE);
    }
    free(buf);
    return rc;
}

static void platform_reset(void *opaque)
{
    struct platform *p = opaque;
    for (unsigned i = 0; i < p->ncpus; i++)
        if (p->lapics[i])
            lapic_reset(p->lapics[i]);
    if (p->ioapic)
        ioapic_reset(p->ioapic);
    if (p->pic)
        pic8259_reset(p->pic);
    if (p->pit)
        pit8254_reset(p->pit);
    rtc_cmos_reset(p->rtc);
    acpi_pm_reset(p->pm);
    platform_write_acpi(p); /* logged on failure; the reset goes on */
}

/* Stops the host timers and frees every device except the LAPICs (which belong to the vCPUs
 * as much as to the platform: the accelerator may touch them until its vCPUs are destroyed). */
static void free_devices(struct platform *p)
{
    /* Timers first, so no callback runs on a freed device. */
    host_timer_destroy(&p->rtc_timer);
    host_timer_destroy(&p->pit_timer);
    for (unsigned i = 0; i < p->ncpus; i++)
        host_timer_destroy(&p->lapic_timer[i]);
    acpi_pm_destroy(p->pm);
    rtc_cmos_destroy(p->rtc);
    pit8254_destroy(p->pit);
    ioapic_destroy(p->ioapic);
    pic8259_destroy(p->pic);
    p->pm = NULL;
    p->rtc = NULL;
    p->pit = NULL;
    p->ioapic = NULL;
    p->pic = NULL;
    p->router.ioapic = NULL;
    p->router.pic = NULL;
    for (unsigned i = 0; i < p->ncpus; i++)
        p->lapic_bus[i].pic = NULL;
    p->devices_freed = true;
}

static void platform_free(struct platform *p)
{
    if (!p->devices_freed)
        free_devices(p);
    for (unsigned i = 0; i < p->ncpus; i++)
        lapic_destroy(p->lapics[i]);
    free(p);
}

/* VM device destroy hook (vm_destroy runs it before the vCPUs are destroyed). Without an irqchip
 * nothing outlives it; with one, the LAPICs stay until the accelerator calls platform_destroy. */
static void platform_destroy_hook(void *opaque)
{
    struct platform *p = opaque;
    if (p->irqchip) {
        free_devices(p);
        return;
    }
    if (p->vm->platform == p)
        p->vm->platform = NULL;
    platform_free(p);
}

void platform_destroy(struct vm *vm)
{
    struct platform *p = vm->platform;
    if (!p)
        return;
    vm->platform = NULL;
    platform_free(p);
}

static int create_irqchip(struct platform *p)
{
    struct vm *vm = p->vm;
    p->router.lapics = p->lapics;
    p->router.nlapics = p->ncpus;

    p->pic = pic8259_create(pic_intr_changed, p);
    if (!p->pic)
        return -ENOMEM;
    for (unsigned i = 0; i < p->ncpus; i++) {
        int rc =
            host_timer_init(&p->lapic_timer[i], &vm->loop, &vm->clock, lapic_timer_fired, NULL);
        if (rc < 0)
            return rc;
        p->lapic_bus[i] = (struct lapic_bus){
            .clock = &vm->clock,
            .lapics = p->lapics,
            .nlapics = p->ncpus,
            .pic = p->pic,
            .timer_arm = host_timer_arm_cb,
            .timer_arm_opaque = &p->lapic_timer[i],
        };
        p->lapics[i] = lapic_create(&p->lapic_bus[i], i, i == 0);
        if (!p->lapics[i])
            return -ENOMEM;
        p->lapic_timer[i].opaque = p->lapics[i];
        lapic_set_eoi_hook(p->lapics[i], lapic_eoi_to_ioapic, p);
    }
    p->ioapic = ioapic_create(irq_router_deliver_cb, &p->router);
    if (!p->ioapic)
        return -ENOMEM;
    p->router.ioapic = p->ioapic;
    p->router.pic = p->pic;

    int rc = host_timer_init(&p->pit_timer, &vm->loop, &vm->clock, pit_timer_fired, NULL);
    if (rc < 0)
        return rc;
    p->pit = pit8254_create(&vm->clock, pit_irq, p, host_timer_arm_cb, &p->pit_timer);
    if (!p->pit)
        return -ENOMEM;
    p->pit_timer.opaque = p->pit;

    if ((rc = pic8259_register(p->pic, &vm->pio)) < 0)
        return rc;
    if ((rc = ioapic_register(p->ioapic, &vm->mmio)) < 0)
        return rc;
    return pit8254_register(p->pit, &vm->pio);
}

static int create_common(struct platform *p)
{
    struct vm *vm = p->vm;
    int rc = host_timer_init(&p->rtc_timer, &vm->loop, &vm->clock, rtc_timer_fired, NULL);
    if (rc < 0)
        return rc;
    p->rtc = rtc_cmos_create(&vm->clock, time(NULL), rtc_irq, p, host_timer_arm_cb, &p->rtc_timer);
    if (!p->rtc)
        return -ENOMEM;
    p->rtc_timer.opaque = p->rtc;
    p->pm = acpi_pm_create(&vm->clock, &pm_ops, p);
    if (!p->pm)
        return -ENOMEM;
    if ((rc = rtc_cmos_register(p->rtc, &vm->pio)) < 0)
        return rc;
    return acpi_pm_register(p->pm, &vm->pio);
}

int platform_create(struct vm *vm, const struct platform_config *cfg)
{
    struct platform *p = calloc(1, sizeof(*p));
    if (!p) {
        log_error("platform: out of memory");
        return -ENOMEM;
    }
    p->vm = vm;
    p->irqchip = cfg->irqchip;
    p->ncpus = vm->cfg.ncpus;
    p->rtc_timer.fd = p->pit_timer.fd = -1;
    for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
        p->lapic_timer[i].fd = -1;
    if (p->ncpus == 0 || p->ncpus > VM_MAX_VCPUS) {
        log_error("platform: %u vCPUs is out of range", p->ncpus);
        free(p);
        return -EINVAL;
    }
    int rc = cfg->irqchip ? create_irqchip(p) : 0;
    if (rc == 0)
        rc = create_common(p);
    if (rc == 0)
        rc = platform_write_acpi(p);
    if (rc == 0) {
        struct vm_device dev = {
            .name = "platform",
            .opaque = p,
            .reset = platform_reset,
            .destroy = platform_destroy_hook,
        };
        rc = vm_add_device(vm, &dev);
    }
    if (rc < 0) {
        log_error("platform: setup failed: %s", strerror(-rc));
        /* Buses keep registrations until they are destroyed; they reference freed devices
         * only if the VM is used after this failure, which vm_create does not do. */
        platform_free(p);
        return rc;
    }
    vm->platform = p;
    return 0;
}

struct lapic *platform_lapic(struct platform *p, unsigned index)
{
    if (!p || index >= p->ncpus)
        return NULL;
    return p->lapics[index];
}

int platform_set_irq(struct platform *p, unsigned gsi, bool level)
{
    if (!p->irqchip)
        return -EINVAL;
    return irq_router_set_irq(&p->router, gsi, level);
}

int platform_signal_msi(struct platform *p, uint64_t address, uint32_t data)
{
    if (!p->irqchip)
        return -EINVAL;
    return irq_router_msi(&p->router, address, data);
}

void platform_press_power_button(struct platform *p)
{
    acpi_pm_press_power_button(p->pm);
}
