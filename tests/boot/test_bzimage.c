/* bzImage header validation: a valid synthetic header parses; each bad field is rejected with
 * a message naming it; the real Debian kernel parses when it has been built (EMBER_GUEST_DIR). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "boot/linux/bzimage.h"
#include "bzimage_synth.h"

static uint8_t img[SYNTH_SIZE];

static void test_valid(void **state)
{
    (void)state;
    synth_bzimage(img);
    struct bzimage_info bz;
    char err[160] = "";
    assert_int_equal(bzimage_parse(img, sizeof(img), &bz, err, sizeof(err)), 0);
    assert_int_equal(bz.setup_size, SYNTH_SETUP_SIZE);
    assert_int_equal(bz.kernel_offset, SYNTH_SETUP_SIZE);
    assert_int_equal(bz.kernel_size, SYNTH_KERNEL_SIZE);
    assert_int_equal(bz.version, 0x020F);
    assert_int_equal(bz.header_end, 0x26C);
    assert_int_equal(bz.init_size, SYNTH_INIT_SIZE);
    assert_int_equal(bz.pref_address, 0x1000000);
    /* setup_sects 0 means 4. */
    img[0x1F1] = 0;
    assert_int_equal(bzimage_parse(img, sizeof(img), &bz, err, sizeof(err)), 0);
    assert_int_equal(bz.setup_sects, 4);
}

struct breakage {
    const char *what;
    size_t off;
    unsigned width; /* 1, 2, 4 or 8 bytes */
    uint64_t value;
    const char *msg; /* substring of the error */
};

static const struct breakage cases[] = {
    {"boot flag", 0x1FE, 2, 0x1234, "boot_flag"},
    {"signature", 0x202, 4, 0x53726448 ^ 1, "HdrS"},
    {"old protocol", 0x206, 2, 0x020B, "too old"},
    {"short header", 0x201, 1, 0x10, "setup header length"},
    {"huge setup", 0x1F1, 1, 200, "setup_sects"},
    {"syssize 0", 0x1F4, 4, 0, "syssize"},
    {"syssize past file", 0x1F4, 4, SYNTH_KERNEL_SIZE / 16 + 1, "truncated"},
    {"zImage", 0x211, 1, 0, "LOADED_HIGH"},
    {"no 64-bit entry", 0x236, 2, 0x0002, "XLF_KERNEL_64"},
    {"initrd max", 0x22C, 4, 0x1000, "initrd_addr_max"},
    {"cmdline size", 0x238, 4, 0, "cmdline_size"},
    {"alignment", 0x230, 4, 0x300000, "kernel_alignment"},
    {"alignment 0", 0x230, 4, 0, "kernel_alignment"},
    {"pref above 4G", 0x258, 8, 0x100000000ULL, "pref_address"},
    {"init_size small", 0x260, 4, 16, "init_size"},
    {"init_size huge", 0x260, 4, 0xF0000000u, "init_size"},
};

static void test_each_bad_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct breakage *c = &cases[i];
        synth_bzimage(img);
        for (unsigned b = 0; b < c->width; b++)
            img[c->off + b] = (uint8_t)(c->value >> (8 * b));
        struct bzimage_info bz;
        char err[160] = "";
        int rc = bzimage_parse(img, sizeof(img), &bz, err, sizeof(err));
        if (rc != -ENOEXEC || !strstr(err, c->msg))
            fail_msg("case '%s': rc %d, message '%s' (wanted '%s')", c->what, rc, err, c->msg);
    }
}

static void test_truncated(void **state)
{
    (void)state;
    synth_bzimage(img);
    struct bzimage_info bz;
    char err[160] = "";
    assert_int_equal(bzimage_parse(img, 0x100, &bz, err, sizeof(err)), -ENOEXEC);
    assert_non_null(strstr(err, "too small"));
    /* Nothing after the setup code. */
    assert_int_equal(bzimage_parse(img, SYNTH_SETUP_SIZE, &bz, err, sizeof(err)), -ENOEXEC);
    assert_non_null(strstr(err, "does not fit"));
    /* Every prefix length is handled without reading past it (ASan checks). */
    for (size_t n = 0; n < SYNTH_SETUP_SIZE + 64; n += 7) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, img, n);
        assert_int_equal(bzimage_parse(copy, n, &bz, err, sizeof(err)), -ENOEXEC);
        free(copy);
    }
}

static void test_real_kernel(void **state)
{
    (void)state;
    const char *dir = getenv("EMBER_GUEST_DIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/vmlinuz", dir ? dir : "");
    FILE *f = dir ? fopen(path, "rb") : NULL;
    if (!f)
        skip();
    static uint8_t buf[64 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    struct bzimage_info bz;
    char err[160] = "";
    if (bzimage_parse(buf, n, &bz, err, sizeof(err)) != 0)
        fail_msg("%s: %s", path, err);
    assert_true(bz.version >= 0x020F);
    assert_true(bz.xloadflags & BZ_XLF_KERNEL_64);
    assert_true(bz.relocatable);
    assert_true(bz.init_size > bz.kernel_size);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_each_bad_field),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_real_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
