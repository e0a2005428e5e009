/* Linux loader tests on real guest RAM: kernel placement, boot_params (setup header copy, loader
 * type, command line, initrd, RSDP, e820), 64-bit entry state, and the errors for too little RAM,
 * an over-long command line and an initrd that does not fit; the e820 map for RAM above 4 GiB;
 * the real Debian kernel when EMBER_GUEST_DIR has it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "boot/linux/e820.h"
#include "boot/linux/linux_boot.h"
#include "bzimage_synth.h"
#include "core/memmap.h"

static uint8_t img[SYNTH_SIZE];

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void test_load_synthetic(void **state)
{
    (void)state;
    struct guest_mem gm;
    assert_int_equal(guest_mem_init(&gm, 128 * MiB), 0);
    synth_bzimage(img);
    static uint8_t initrd[300000];
    for (size_t i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i ^ 0x5A);
    struct linux_boot_image bi = {.kernel = img,
                                  .kernel_size = sizeof(img),
                                  .initrd = initrd,
                                  .initrd_size = sizeof(initrd),
                                  .cmdline = "console=ttyS0 quiet",
                                  .name = "synthetic"};
    struct cpu_state st;
    struct linux_boot_layout lay;
    assert_int_equal(linux_boot_setup(&gm, &bi, &st, &lay), 0);

    /* Kernel at 1 MiB, entry at startup_64. */
    assert_memory_equal(guest_mem_ptr(&gm, MEMMAP_KERNEL_BASE, SYNTH_KERNEL_SIZE),
                        img + SYNTH_SETUP_SIZE, SYNTH_KERNEL_SIZE);
    assert_int_equal(st.rip, MEMMAP_KERNEL_BASE + 0x200);
    assert_int_equal(st.gpr[GPR_RSI], MEMMAP_ZERO_PAGE);
    assert_true(st.cr0 & CR0_PG);
    assert_true(st.efer & EFER_LMA);
    assert_int_equal(st.seg[SEG_CS].selector, 0x10);

    /* Decompression room: pref_address + init_size, and the initrd above it, page aligned. */
    assert_int_equal(lay.kernel_end, 0x1000000 + SYNTH_INIT_SIZE);
    assert_true(lay.initrd_addr >= lay.kernel_end);
    assert_int_equal(lay.initrd_addr & 0xFFF, 0);
    assert_true(lay.initrd_addr + sizeof(initrd) <= 128 * MiB);
    assert_memory_equal(guest_mem_ptr(&gm, lay.initrd_addr, sizeof(initrd)), initrd,
                        sizeof(initrd));

    const uint8_t *bp = guest_mem_ptr(&gm, MEMMAP_ZERO_PAGE, 4096);
    assert_memory_equal(bp + 0x202, "HdrS", 4);
    assert_int_equal(bp[0x210], 0xFF);
    assert_int_equal(rd32(bp + 0x228), MEMMAP_CMDLINE);
    assert_string_equal((const char *)guest_mem_ptr(&gm, MEMMAP_CMDLINE, 1), "console=ttyS0 quiet");
    assert_int_equal(rd32(bp + 0x218), lay.initrd_addr);
    assert_int_equal(rd32(bp + 0x21C), sizeof(initrd));
    assert_int_equal(rd64(bp + 0x070), MEMMAP_ACPI_BASE);
    /* e820: conventional RAM, EBDA reserved, ACPI area, RAM from 1 MiB to the end, ECAM. */
    unsigned n = bp[0x1E8];
    assert_int_equal(n, 5);
    const uint8_t *e = bp + 0x2D0;
    assert_int_equal(rd64(e), 0);
    assert_int_equal(rd64(e + 8), MEMMAP_EBDA_BASE);
    assert_int_equal(rd32(e + 16), E820_RAM);
    assert_int_equal(rd32(e + 20 * 1 + 16), E820_RESERVED);
    assert_int_equal(rd64(e + 20 * 2), MEMMAP_ACPI_BASE);
    assert_int_equal(rd32(e + 20 * 2 + 16), E820_ACPI);
    assert_int_equal(rd64(e + 20 * 3), MEMMAP_KERNEL_BASE);
    assert_int_equal(rd64(e + 20 * 3) + rd64(e + 20 * 3 + 8), 128 * MiB);
    assert_int_equal(rd64(e + 20 * 4), MEMMAP_PCI_ECAM_BASE);
    assert_int_equal(rd32(e + 20 * 4 + 16), E820_RESERVED);
    guest_mem_destroy(&gm);
}

static void test_errors(void **state)
{
    (void)state;
    struct guest_mem gm;
    struct cpu_state st;
    struct linux_boot_layout lay;
    synth_bzimage(img);
    /* 16 MiB: the kernel wants to decompress at 16 MiB + 8 MiB. */
    assert_int_equal(guest_mem_init(&gm, 16 * MiB), 0);
    struct linux_boot_image bi = {.kernel = img, .kernel_size = sizeof(img), .name = "synthetic"};
    assert_int_equal(linux_boot_setup(&gm, &bi, &st, &lay), -ENOMEM);
    guest_mem_destroy(&gm);

    assert_int_equal(guest_mem_init(&gm, 32 * MiB), 0);
    /* Command line longer than cmdline_size (2048). */
    static char longcmd[3000];
    memset(longcmd, 'x', sizeof(longcmd) - 1);
    bi.cmdline = longcmd;
    assert_int_equal(linux_boot_setup(&gm, &bi, &st, &lay), -E2BIG);
    bi.cmdline = NULL;
    /* Initrd that does not fit above the kernel. */
    static uint8_t big[10 * MiB];
    bi.initrd = big;
    bi.initrd_size = sizeof(big);
    assert_int_equal(linux_boot_setup(&gm, &bi, &st, &lay), -ENOMEM);
    /* Respecting initrd_addr_max. */
    bi.initrd_size = 4096;
    synth_put32(img + 0x22C, 0x01FFFFFF); /* 32 MiB - 1 */
    assert_int_equal(linux_boot_setup(&gm, &bi, &st, &lay), 0);
    assert_true(lay.initrd_addr + 4096 <= 0x2000000);
    /* A bad image is rejected before anything is written. */
    img[0x202] = 'X';
    assert_int_equal(linux_boot_setup(&gm, &bi, &st, &lay), -ENOEXEC);
    guest_mem_destroy(&gm);
}

static void test_e820_high_ram(void **state)
{
    (void)state;
    /* Only the region table matters to e820_build: no RAM is mapped. */
    struct guest_mem gm = {.nregions = 2};
    gm.regions[0] = (struct guest_mem_region){.gpa = 0, .size = MEMMAP_RAM_LOW_END};
    gm.regions[1] = (struct guest_mem_region){.gpa = MEMMAP_RAM_HIGH_BASE, .size = 2 * GiB};
    struct e820_entry map[E820_MAX_ENTRIES];
    int n = e820_build(&gm, map, E820_MAX_ENTRIES);
    assert_int_equal(n, 6);
    assert_int_equal(map[3].addr + map[3].size, MEMMAP_RAM_LOW_END);
    assert_int_equal(map[4].addr, MEMMAP_PCI_ECAM_BASE);
    assert_int_equal(map[5].addr, MEMMAP_RAM_HIGH_BASE);
    assert_int_equal(map[5].size, 2 * GiB);
    for (int i = 1; i < n; i++)
        assert_true(map[i].addr >= map[i - 1].addr + map[i - 1].size);
    assert_int_equal(e820_build(&gm, map, 3), -ENOSPC);
}

static void test_real_kernel(void **state)
{
    (void)state;
    const char *dir = getenv("EMBER_GUEST_DIR");
    if (!dir)
        skip();
    char kpath[512], ipath[512];
    snprintf(kpath, sizeof(kpath), "%s/vmlinuz", dir);
    snprintf(ipath, sizeof(ipath), "%s/initramfs.cpio.gz", dir);
    FILE *kf = fopen(kpath, "rb"), *inf = fopen(ipath, "rb");
    if (!kf || !inf) {
        if (kf)
            fclose(kf);
        if (inf)
            fclose(inf);
        skip();
    }
    static uint8_t kbuf[64 << 20], ibuf[64 << 20];
    size_t kn = fread(kbuf, 1, sizeof(kbuf), kf), in = fread(ibuf, 1, sizeof(ibuf), inf);
    fclose(kf);
    fclose(inf);
    struct guest_mem gm;
    assert_int_equal(guest_mem_init(&gm, 256 * MiB), 0);
    struct linux_boot_image bi = {.kernel = kbuf,
                                  .kernel_size = kn,
                                  .initrd = ibuf,
                                  .initrd_size = in,
                                  .cmdline = "console=ttyS0",
                                  .name = kpath};
    struct cpu_state st;
    struct linux_boot_layout lay;
    assert_int_equal(linux_boot_setup(&gm, &bi, &st, &lay), 0);
    assert_true(lay.initrd_addr >= lay.kernel_end);
    guest_mem_destroy(&gm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_synthetic),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_e820_high_ram),
        cmocka_unit_test(test_real_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
