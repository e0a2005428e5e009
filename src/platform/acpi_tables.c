/* ACPI table construction (ACPI 6.4: 5.2.5 RSDP, 5.2.8 XSDT, 5.2.9 FADT, 5.2.10 FACS,
 * 5.2.11.1 DSDT, 5.2.12 MADT; PCI Firmware 3.2 4.1.2 MCFG) and the DSDT's AML contents: the
 * \_S5 sleep package, the PCI0 host bridge with _PRT INTx routing per PCI_INTX_GSI(), COM1,
 * the RTC and the motherboard resources that reserve ECAM and the PM block. */
#include "platform/acpi_tables.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "core/memmap.h"
#include "core/vm.h"
#include "platform/acpi_pm.h"
#include "platform/aml.h"
#include "platform/rtc_cmos.h"
#include "util/log.h"

#define ACPI_HEADER_LEN 36
#define ACPI_OEM_ID     "EMBER "
#define ACPI_OEM_TABLE  "EMBERVM "
#define ACPI_CREATOR    "EMBR"

#define RSDP_LEN   36
#define FADT_LEN   276
#define FADT_REV   6
#define FADT_MINOR 3
#define FACS_LEN   64

/* FADT flags (ACPI 6.4 table 5.10). */
#define FADT_F_WBINVD      (1u << 0)
#define FADT_F_PROC_C1     (1u << 2)
#define FADT_F_SLP_BUTTON  (1u << 5) /* no fixed sleep button */
#define FADT_F_TMR_VAL_EXT (1u << 8) /* 32-bit PM timer */
#define FADT_F_RESET_REG   (1u << 10)
/* IA-PC boot architecture flags (table 5.11). */
#define FADT_BOOT_LEGACY_DEVICES (1u << 0)
#define FADT_BOOT_8042           (1u << 1)
#define FADT_BOOT_NO_VGA         (1u << 2)

#define GAS_SYSTEM_IO    1
#define GAS_ACCESS_BYTE  1
#define GAS_ACCESS_WORD  2
#define GAS_ACCESS_DWORD 3

/* MADT structure types (table 5.21). */
#define MADT_LAPIC             0
#define MADT_IOAPIC            1
#define MADT_ISO               2
#define MADT_LAPIC_NMI         4
#define MADT_PCAT_COMPAT       1u
#define MPS_INTI_POLARITY_HIGH 0x1
#define MPS_INTI_TRIGGER_LEVEL 0xC

#define PCI_SLOTS 32
#define PCI_PINS  4

struct image {
    uint8_t *buf;
    size_t size, used;
    uint64_t base_gpa;
};

static void put8(uint8_t *p, uint8_t v)
{
    p[0] = v;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint8_t acpi_checksum(const uint8_t *p, size_t n)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)(0 - sum);
}

/* Reserves len bytes at the given alignment; returns the offset or (size_t)-1. */
static size_t alloc(struct image *img, size_t len, size_t align)
{
    size_t off = (img->used + align - 1) & ~(align - 1);
    if (off > img->size || len > img->size - off)
        return (size_t)-1;
    img->used = off + len;
    return off;
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put32(t + 4, len);
    put8(t + 8, rev);
    memcpy(t + 10, ACPI_OEM_ID, 6);
    memcpy(t + 16, ACPI_OEM_TABLE, 8);
    put32(t + 24, 1);
    memcpy(t + 28, ACPI_CREATOR, 4);
    put32(t + 32, 1);
}

static void finish_table(uint8_t *t, uint32_t len)
{
    t[9] = 0;
    t[9] = acpi_checksum(t, len);
}

static void gas_io(uint8_t *p, uint16_t port, uint8_t bits, uint8_t access)
{
    put8(p, GAS_SYSTEM_IO);
    put8(p + 1, bits);
    put8(p + 2, 0);
    put8(p + 3, access);
    put64(p + 4, port);
}

/* ---- DSDT ---- */

/* Names the finished resource template r as _CRS in a (a failure in r fails a) and frees r. */
static void emit_crs(struct aml *a, struct aml *r)
{
    aml_name(a, "_CRS");
    aml_buffer(a, r->buf, r->len);
    if (r->failed)
        a->failed = true;
    aml_free(r);
}

static void dsdt_pci0(struct aml *a)
{
    aml_device(a, "PCI0");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0A08");
    aml_name(a, "_CID");
    aml_eisaid(a, "PNP0A03");
    aml_name(a, "_ADR");
    aml_integer(a, 0);
    aml_name(a, "_UID");
    aml_integer(a, 0);
    aml_name(a, "_SEG");
    aml_integer(a, 0);
    aml_name(a, "_BBN");
    aml_integer(a, 0);

    struct aml r;
    aml_init(&r);
    aml_res_word_bus(&r, 0, 0xFF);
    aml_res_io(&r, PORT_PCI_CONFIG, 8);
    aml_res_word_io(&r, 0x0000, PORT_PCI_CONFIG - 1);
    aml_res_word_io(&r, 0x0D00, 0xFFFF);
    aml_res_dword_mem(&r, (uint32_t)MEMMAP_PCI_MMIO_BASE,
                      (uint32_t)(MEMMAP_PCI_MMIO_BASE + MEMMAP_PCI_MMIO_SIZE - 1));
    aml_res_end(&r);
    emit_crs(a, &r);

    /* _PRT (ACPI 6.4 6.2.13): one entry per slot and pin, wired straight to an IOAPIC GSI. */
    aml_name(a, "_PRT");
    aml_package(a, PCI_SLOTS * PCI_PINS);
    for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
        for (unsigned pin = 0; pin < PCI_PINS; pin++) {
            aml_package(a, 4);
            aml_integer(a, (uint64_t)slot << 16 | 0xFFFF);
            aml_integer(a, pin);
            aml_integer(a, 0);
            aml_integer(a, PCI_INTX_GSI(slot, pin));
            aml_end(a);
        }
    }
    aml_end(a);
    aml_end(a);
}

static void dsdt_simple_device(struct aml *a, const char *name, const char *hid, unsigned uid,
                               uint16_t port, uint8_t len, int irq)
{
    aml_device(a, name);
    aml_name(a, "_HID");
    aml_eisaid(a, hid);
    aml_name(a, "_UID");
    aml_integer(a, uid);
    struct aml r;
    aml_init(&r);
    aml_res_io(&r, port, len);
    if (irq >= 0)
        aml_res_irq(&r, (unsigned)irq);
    aml_res_end(&r);
    emit_crs(a, &r);
    aml_end(a);
}

/* The i8042 keyboard controller (PNP0303): data port, command port, keyboard IRQ. No PS/2 mouse
 * device (PNP0F13) is announced, so Linux does not probe an AUX port, which would wait about a
 * second for the loopback and interface tests of a mouse port that is not there. */
static void dsdt_keyboard_controller(struct aml *a)
{
    aml_device(a, "KBD");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0303");
    struct aml r;
    aml_init(&r);
    aml_res_io(&r, PORT_I8042_DATA, 1);
    aml_res_io(&r, PORT_I8042_CMD, 1);
    aml_res_irq(&r, IRQ_KBD);
    aml_res_end(&r);
    emit_crs(a, &r);
    aml_end(a);
}

static void dsdt_motherboard(struct aml *a)
{
    aml_device(a, "MRES");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0C02");
    aml_name(a, "_UID");
    aml_integer(a, 1);
    struct aml r;
    aml_init(&r);
    aml_res_mem32_fixed(&r, (uint32_t)MEMMAP_PCI_ECAM_BASE, (uint32_t)MEMMAP_PCI_ECAM_SIZE);
    aml_res_io(&r, PORT_ACPI_PM_BASE, ACPI_PM_BLOCK_LEN);
    aml_res_end(&r);
    emit_crs(a, &r);
    aml_end(a);
}

/* Builds the DSDT body (AML after the header) into a. */
static void dsdt_body(struct aml *a)
{
    aml_name(a, "\\_S5");
    aml_package(a, 4);
    aml_integer(a, ACPI_SLP_TYP_S5);
    aml_integer(a, ACPI_SLP_TYP_S5);
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_end(a);

    aml_scope(a, "\\_SB");
    dsdt_pci0(a);
    dsdt_simple_device(a, "COM1", "PNP0501", 1, PORT_COM1, 8, IRQ_COM1);
    dsdt_simple_device(a, "RTC", "PNP0B00", 0, PORT_RTC, 2, IRQ_RTC);
    dsdt_keyboard_controller(a);
    dsdt_motherboard(a);
    aml_end(a);
}

static int build_dsdt(struct image *img, size_t *off)
{
    struct aml a;
    aml_init(&a);
    dsdt_body(&a);
    if (a.failed || a.depth != 0) {
        aml_free(&a);
        return -ENOMEM;
    }
    size_t len = ACPI_HEADER_LEN + a.len;
    *off = alloc(img, len, 16);
    if (*off == (size_t)-1) {
        aml_free(&a);
        return -ENOSPC;
    }
    uint8_t *t = img->buf + *off;
    header(t, "DSDT", (uint32_t)len, 2);
    memcpy(t + ACPI_HEADER_LEN, a.buf, a.len);
    finish_table(t, (uint32_t)len);
    aml_free(&a);
    return 0;
}

/* ---- fixed tables ---- */

static int build_facs(struct image *img, size_t *off)
{
    *off = alloc(img, FACS_LEN, 64); /* FACS must be 64-byte aligned */
    if (*off == (size_t)-1)
        return -ENOSPC;
    uint8_t *t = img->buf + *off;
    memcpy(t, "FACS", 4);
    put32(t + 4, FACS_LEN);
    put8(t + 32, 2); /* version */
    return 0;
}

static int build_fadt(struct image *img, size_t facs, size_t dsdt, size_t *off)
{
    *off = alloc(img, FADT_LEN, 16);
    if (*off == (size_t)-1)
        return -ENOSPC;
    uint8_t *t = img->buf + *off;
    header(t, "FACP", FADT_LEN, FADT_REV);
    uint64_t facs_gpa = img->base_gpa + facs, dsdt_gpa = img->base_gpa + dsdt;
    put32(t + 36, (uint32_t)facs_gpa);
    put32(t + 40, (uint32_t)dsdt_gpa);
    put8(t + 45, 0); /* preferred PM profile: unspecified */
    put16(t + 46, IRQ_SCI);
    put32(t + 48, 0); /* no SMI command port: always in ACPI mode */
    put32(t + 56, ACPI_PM1A_EVT_BLK);
    put32(t + 64, ACPI_PM1A_CNT_BLK);
    put32(t + 76, ACPI_PM_TMR_BLK);
    put8(t + 88, ACPI_PM1_EVT_LEN);
    put8(t + 89, ACPI_PM1_CNT_LEN);
    put8(t + 91, ACPI_PM_TMR_LEN);
    put16(t + 96, 101);  /* C2 not supported */
    put16(t + 98, 1001); /* C3 not supported */
    put8(t + 108, RTC_REG_CENTURY);
    put16(t + 109, FADT_BOOT_LEGACY_DEVICES | FADT_BOOT_8042 | FADT_BOOT_NO_VGA);
    put32(t + 112, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_TMR_VAL_EXT |
                       FADT_F_RESET_REG);
    gas_io(t + 116, ACPI_RESET_REG, 8, GAS_ACCESS_BYTE);
    put8(t + 128, ACPI_RESET_VALUE);
    put8(t + 131, FADT_MINOR);
    put64(t + 132, facs_gpa);
    put64(t + 140, dsdt_gpa);
    gas_io(t + 148, ACPI_PM1A_EVT_BLK, 32, GAS_ACCESS_WORD);
    gas_io(t + 172, ACPI_PM1A_CNT_BLK, 16, GAS_ACCESS_WORD);
    gas_io(t + 208, ACPI_PM_TMR_BLK, 32, GAS_ACCESS_DWORD);
    memcpy(t + 268, "EMBERVMM", 8); /* hypervisor vendor identity */
    finish_table(t, FADT_LEN);
    return 0;
}

static int build_madt(struct image *img, unsigned ncpus, size_t *off)
{
    size_t len = 44 + (size_t)ncpus * 8 + 12 + 10 + 6;
    *off = alloc(img, len, 16);
    if (*off == (size_t)-1)
        return -ENOSPC;
    uint8_t *t = img->buf + *off;
    header(t, "APIC", (uint32_t)len, 5);
    put32(t + 36, (uint32_t)MEMMAP_LAPIC_BASE);
    put32(t + 40, MADT_PCAT_COMPAT); /* dual 8259s present (the OS masks them) */
    uint8_t *p = t + 44;
    for (unsigned i = 0; i < ncpus; i++, p += 8) {
        put8(p, MADT_LAPIC);
        put8(p + 1, 8);
        put8(p + 2, (uint8_t)i); /* ACPI processor UID */
        put8(p + 3, (uint8_t)i); /* APIC ID */
        put32(p + 4, 1);         /* enabled */
    }
    put8(p, MADT_IOAPIC);
    put8(p + 1, 12);
    put8(p + 2, 0); /* IOAPIC ID (APIC IDs of CPUs may overlap: separate namespace on xAPIC) */
    put32(p + 4, (uint32_t)MEMMAP_IOAPIC_BASE);
    put32(p + 8, 0); /* GSI base */
    p += 12;
    /* The SCI is level-triggered active-high on GSI 9 (ISA IRQs default to edge). */
    put8(p, MADT_ISO);
    put8(p + 1, 10);
    put8(p + 2, 0); /* ISA bus */
    put8(p + 3, IRQ_SCI);
    put32(p + 4, IRQ_SCI);
    put16(p + 8, MPS_INTI_POLARITY_HIGH | MPS_INTI_TRIGGER_LEVEL);
    p += 10;
    put8(p, MADT_LAPIC_NMI);
    put8(p + 1, 6);
    put8(p + 2, 0xFF); /* all processors */
    put16(p + 3, 0);
    put8(p + 5, 1); /* LINT1 */
    finish_table(t, (uint32_t)len);
    return 0;
}

static int build_mcfg(struct image *img, size_t *off)
{
    size_t len = 44 + 16;
    *off = alloc(img, len, 16);
    if (*off == (size_t)-1)
        return -ENOSPC;
    uint8_t *t = img->buf + *off;
    header(t, "MCFG", (uint32_t)len, 1);
    uint8_t *e = t + 44;
    put64(e, MEMMAP_PCI_ECAM_BASE);
    put16(e + 8, 0); /* segment */
    put8(e + 10, 0); /* first bus */
    put8(e + 11, (uint8_t)(MEMMAP_PCI_ECAM_SIZE / MiB - 1));
    finish_table(t, (uint32_t)len);
    return 0;
}

static int build_xsdt(struct image *img, const size_t *tables, unsigned n, size_t *off)
{
    size_t len = ACPI_HEADER_LEN + 8 * (size_t)n;
    *off = alloc(img, len, 16);
    if (*off == (size_t)-1)
        return -ENOSPC;
    uint8_t *t = img->buf + *off;
    header(t, "XSDT", (uint32_t)len, 1);
    for (unsigned i = 0; i < n; i++)
        put64(t + ACPI_HEADER_LEN + 8 * i, img->base_gpa + tables[i]);
    finish_table(t, (uint32_t)len);
    return 0;
}

static void build_rsdp(struct image *img, size_t rsdp, size_t xsdt)
{
    uint8_t *t = img->buf + rsdp;
    memcpy(t, "RSD PTR ", 8);
    memcpy(t + 9, ACPI_OEM_ID, 6);
    put8(t + 15, 2);  /* ACPI 2.0+ */
    put32(t + 16, 0); /* no RSDT */
    put32(t + 20, RSDP_LEN);
    put64(t + 24, img->base_gpa + xsdt);
    t[8] = acpi_checksum(t, 20);
    t[32] = acpi_checksum(t, RSDP_LEN);
}

int acpi_tables_build(const struct acpi_config *cfg, uint8_t *buf, size_t bufsize,
                      struct acpi_layout *out)
{
    if (cfg->ncpus == 0 || cfg->ncpus > VM_MAX_VCPUS || cfg->base_gpa > 0xFFFFFFFFULL ||
        bufsize > 0xFFFFFFFFULL - cfg->base_gpa) {
        log_error("acpi: bad table configuration (%u CPUs)", cfg->ncpus);
        return -EINVAL;
    }
    memset(buf, 0, bufsize);
    memset(out, 0, sizeof(*out));
    struct image img = {.buf = buf, .size = bufsize, .base_gpa = cfg->base_gpa};
    /* The RSDP first, on a 16-byte boundary (where the OS scans for it). */
    out->rsdp = alloc(&img, RSDP_LEN, 16);
    if (out->rsdp == (size_t)-1)
        return -ENOSPC;
    int rc = build_dsdt(&img, &out->dsdt);
    if (rc == 0)
        rc = build_facs(&img, &out->facs);
    if (rc == 0)
        rc = build_fadt(&img, out->facs, out->dsdt, &out->fadt);
    if (rc == 0)
        rc = build_madt(&img, cfg->ncpus, &out->madt);
    if (rc == 0)
        rc = build_mcfg(&img, &out->mcfg);
    if (rc == 0) {
        const size_t tables[] = {out->fadt, out->madt, out->mcfg};
        rc = build_xsdt(&img, tables, 3, &out->xsdt);
    }
    if (rc < 0) {
        log_error("acpi: tables do not fit in %zu bytes", bufsize);
        return rc;
    }
    build_rsdp(&img, out->rsdp, out->xsdt);
    out->size = img.used;
    return 0;
}
