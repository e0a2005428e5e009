/* ACPI table tests: every checksum, RSDP -> XSDT -> FADT/MADT/MCFG links, FADT fields (DSDT,
 * FACS, PM blocks, SCI, reset register), MADT entries per vCPU + IOAPIC + SCI override, MCFG
 * ECAM window, and the DSDT disassembled by iasl (acpica-tools) when it is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/memmap.h"
#include "platform/acpi_pm.h"
#include "platform/acpi_tables.h"

static uint8_t image[MEMMAP_ACPI_SIZE];

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static const uint8_t *at_gpa(uint64_t gpa)
{
    assert_true(gpa >= MEMMAP_ACPI_BASE && gpa < MEMMAP_ACPI_BASE + sizeof(image));
    return image + (gpa - MEMMAP_ACPI_BASE);
}

static void check_table(const uint8_t *t, const char *sig)
{
    assert_memory_equal(t, sig, 4);
    uint32_t len = rd32(t + 4);
    assert_true(len >= 36 && len <= sizeof(image));
    uint8_t sum = 0;
    for (uint32_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + t[i]);
    assert_int_equal(sum, 0);
}

static struct acpi_layout build(unsigned ncpus)
{
    struct acpi_config cfg = {.ncpus = ncpus, .base_gpa = MEMMAP_ACPI_BASE};
    struct acpi_layout lay;
    assert_int_equal(acpi_tables_build(&cfg, image, sizeof(image), &lay), 0);
    return lay;
}

static void test_rsdp_xsdt(void **state)
{
    (void)state;
    struct acpi_layout lay = build(2);
    const uint8_t *rsdp = image + lay.rsdp;
    assert_int_equal(lay.rsdp, 0); /* at MEMMAP_ACPI_BASE, where boot_params points */
    assert_memory_equal(rsdp, "RSD PTR ", 8);
    assert_int_equal(rsdp[15], 2);
    assert_int_equal(acpi_checksum(rsdp, 20), 0);
    assert_int_equal(acpi_checksum(rsdp, 36), 0);
    const uint8_t *xsdt = at_gpa(rd64(rsdp + 24));
    check_table(xsdt, "XSDT");
    uint32_t n = (rd32(xsdt + 4) - 36) / 8;
    assert_int_equal(n, 3);
    const char *want[] = {"FACP", "APIC", "MCFG"};
    for (uint32_t i = 0; i < n; i++)
        check_table(at_gpa(rd64(xsdt + 36 + 8 * i)), want[i]);
}

static void test_fadt(void **state)
{
    (void)state;
    struct acpi_layout lay = build(1);
    const uint8_t *fadt = image + lay.fadt;
    check_table(fadt, "FACP");
    assert_int_equal(rd32(fadt + 4), 276);
    const uint8_t *dsdt = at_gpa(rd64(fadt + 140));
    check_table(dsdt, "DSDT");
    assert_int_equal(rd32(fadt + 40), rd64(fadt + 140));
    const uint8_t *facs = at_gpa(rd64(fadt + 132));
    assert_memory_equal(facs, "FACS", 4);
    assert_int_equal((rd64(fadt + 132) & 63), 0);
    assert_int_equal(fadt[46], 9); /* SCI_INT */
    assert_int_equal(rd32(fadt + 56), ACPI_PM1A_EVT_BLK);
    assert_int_equal(rd32(fadt + 64), ACPI_PM1A_CNT_BLK);
    assert_int_equal(rd32(fadt + 76), ACPI_PM_TMR_BLK);
    assert_int_equal(fadt[91], 4);
    assert_true(rd32(fadt + 112) & (1u << 8));  /* 32-bit timer */
    assert_true(rd32(fadt + 112) & (1u << 10)); /* reset register supported */
    assert_int_equal(fadt[116], 1);             /* reset reg in I/O space */
    assert_int_equal(rd64(fadt + 120), ACPI_RESET_REG);
    assert_int_equal(fadt[128], ACPI_RESET_VALUE);
    assert_int_equal(rd64(fadt + 208 + 4), ACPI_PM_TMR_BLK); /* X_PM_TMR_BLK */
}

static void test_madt(void **state)
{
    (void)state;
    for (unsigned ncpus = 1; ncpus <= 64; ncpus += 63) {
        struct acpi_layout lay = build(ncpus);
        const uint8_t *madt = image + lay.madt;
        check_table(madt, "APIC");
        assert_int_equal(rd32(madt + 36), MEMMAP_LAPIC_BASE);
        unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
        uint32_t len = rd32(madt + 4);
        for (uint32_t off = 44; off < len;) {
            const uint8_t *e = madt + off;
            assert_true(e[1] >= 2 && off + e[1] <= len);
            switch (e[0]) {
            case 0:
                assert_int_equal(e[3], lapics); /* APIC ID == index */
                assert_int_equal(rd32(e + 4) & 1, 1);
                lapics++;
                break;
            case 1:
                assert_int_equal(rd32(e + 4), MEMMAP_IOAPIC_BASE);
                assert_int_equal(rd32(e + 8), 0);
                ioapics++;
                break;
            case 2:
                assert_int_equal(e[3], 9);
                assert_int_equal(rd32(e + 4), 9);
                assert_int_equal(e[8] | e[9] << 8, 0xD); /* level, active high */
                isos++;
                break;
            case 4:
                nmis++;
                break;
            default:
                fail_msg("unexpected MADT entry type %u", e[0]);
            }
            off += e[1];
        }
        assert_int_equal(lapics, ncpus);
        assert_int_equal(ioapics, 1);
        assert_int_equal(isos, 1);
        assert_int_equal(nmis, 1);
    }
}

static void test_mcfg_and_errors(void **state)
{
    (void)state;
    struct acpi_layout lay = build(4);
    const uint8_t *mcfg = image + lay.mcfg;
    check_table(mcfg, "MCFG");
    assert_int_equal(rd64(mcfg + 44), MEMMAP_PCI_ECAM_BASE);
    assert_int_equal(mcfg[54], 0);
    assert_int_equal(mcfg[55], 255);
    struct acpi_config bad = {.ncpus = 0, .base_gpa = MEMMAP_ACPI_BASE};
    assert_int_equal(acpi_tables_build(&bad, image, sizeof(image), &lay), -22);
    bad.ncpus = 65;
    assert_int_equal(acpi_tables_build(&bad, image, sizeof(image), &lay), -22);
    struct acpi_config ok = {.ncpus = 1, .base_gpa = MEMMAP_ACPI_BASE};
    assert_int_equal(acpi_tables_build(&ok, image, 512, &lay), -28); /* ENOSPC */
}

/* Disassembles the DSDT with iasl and looks for what the kernel needs in it. */
static void test_dsdt_iasl(void **state)
{
    (void)state;
    if (system("command -v iasl >/dev/null 2>&1") != 0)
        skip();
    struct acpi_layout lay = build(2);
    const uint8_t *dsdt = image + lay.dsdt;
    char dir[] = "/tmp/ember-dsdt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], cmd[512], dsl[128];
    snprintf(path, sizeof(path), "%s/dsdt.aml", dir);
    snprintf(dsl, sizeof(dsl), "%s/dsdt.dsl", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(dsdt, 1, rd32(dsdt + 4), f), rd32(dsdt + 4));
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.aml >iasl.log 2>&1", dir);
    assert_int_equal(system(cmd), 0);
    f = fopen(dsl, "r");
    assert_non_null(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = 0;
    fclose(f);
    assert_non_null(strstr(text, "_S5, Package (0x04)"));
    assert_non_null(strstr(text, "Device (PCI0)"));
    assert_non_null(strstr(text, "EisaId (\"PNP0A08\")"));
    assert_non_null(strstr(text, "Name (_PRT, Package (0x80)"));
    /* Slot 1 pin A goes to GSI 17 per PCI_INTX_GSI. */
    assert_non_null(strstr(text, "0x0001FFFF"));
    assert_non_null(strstr(text, "0x11"));
    assert_non_null(strstr(text, "Device (COM1)"));
    assert_non_null(strstr(text, "EisaId (\"PNP0501\")"));
    assert_non_null(strstr(text, "IO (Decode16"));
    assert_non_null(strstr(text, "Device (KBD)"));
    assert_non_null(strstr(text, "EisaId (\"PNP0303\")"));
    assert_null(strstr(text, "PNP0F13")); /* no PS/2 mouse */
    assert_non_null(strstr(text, "0xE0000000"));
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsdp_xsdt), cmocka_unit_test(test_fadt),
        cmocka_unit_test(test_madt),      cmocka_unit_test(test_mcfg_and_errors),
        cmocka_unit_test(test_dsdt_iasl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
