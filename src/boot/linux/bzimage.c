/* bzImage setup-header validation (Linux Documentation/x86/boot.rst: "Details of header
 * fields", protocol 2.12+ for 64-bit entry). */
#include "boot/linux/bzimage.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SECTOR              512
#define DEFAULT_SETUP_SECTS 4
#define MAX_SETUP_SECTS     64           /* setup code runs below 0x10000 bytes + stack/heap */
#define MAX_INIT_SIZE       (1ULL << 30) /* sanity bound: no kernel needs a GiB to decompress */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -ENOEXEC;
}

int bzimage_parse(const uint8_t *img, size_t size, struct bzimage_info *info, char *err,
                  size_t errlen)
{
    memset(info, 0, sizeof(*info));
    if (size < BZ_HDR_MAX_END)
        return fail(err, errlen, "file too small for a bzImage header (%zu bytes)", size);
    if (rd16(img + BZ_BOOT_FLAG) != BZ_BOOT_FLAG_VALUE)
        return fail(err, errlen, "boot_flag is %#x, expected 0xaa55", rd16(img + BZ_BOOT_FLAG));
    if (memcmp(img + BZ_HEADER_MAGIC, "HdrS", 4) != 0)
        return fail(err, errlen, "no \"HdrS\" signature: not a bzImage");
    info->version = rd16(img + BZ_VERSION);
    if (info->version < BZ_MIN_VERSION)
        return fail(err, errlen, "boot protocol %u.%02u is too old (64-bit entry needs 2.12+)",
                    info->version >> 8, info->version & 0xFF);
    info->header_end = 0x202 + (size_t)img[BZ_JUMP_LEN];
    if (info->header_end < BZ_INIT_SIZE + 4 || info->header_end > BZ_HDR_MAX_END)
        return fail(err, errlen, "setup header length %#zx is out of range",
                    info->header_end - BZ_HDR_START);
    info->setup_sects = img[BZ_SETUP_SECTS] ? img[BZ_SETUP_SECTS] : DEFAULT_SETUP_SECTS;
    if (info->setup_sects > MAX_SETUP_SECTS)
        return fail(err, errlen, "setup_sects %u is too large", info->setup_sects);
    info->setup_size = (size_t)(info->setup_sects + 1) * SECTOR;
    if (info->setup_size < info->header_end || info->setup_size >= size)
        return fail(err, errlen, "setup_sects %u does not fit the %zu-byte file", info->setup_sects,
                    size);
    info->kernel_offset = info->setup_size;
    info->kernel_size = size - info->setup_size;
    uint64_t syssize = (uint64_t)rd32(img + BZ_SYSSIZE) * 16;
    if (syssize == 0 || syssize > info->kernel_size)
        return fail(err, errlen,
                    "syssize says %llu bytes of kernel but the file has %zu (truncated?)",
                    (unsigned long long)syssize, info->kernel_size);
    info->loadflags = img[BZ_LOADFLAGS];
    if (!(info->loadflags & BZ_LOADED_HIGH))
        return fail(err, errlen, "loadflags lack LOADED_HIGH: a zImage, not a bzImage");
    info->xloadflags = rd16(img + BZ_XLOADFLAGS);
    if (!(info->xloadflags & BZ_XLF_KERNEL_64))
        return fail(err, errlen, "xloadflags lack XLF_KERNEL_64: no 64-bit entry point");
    info->initrd_addr_max = rd32(img + BZ_INITRD_ADDR_MAX);
    if (info->initrd_addr_max < 0xFFFFF)
        return fail(err, errlen, "initrd_addr_max %#x is below 1 MiB", info->initrd_addr_max);
    info->cmdline_size = rd32(img + BZ_CMDLINE_SIZE);
    if (info->cmdline_size == 0)
        return fail(err, errlen, "cmdline_size is 0");
    info->kernel_alignment = rd32(img + BZ_KERNEL_ALIGNMENT);
    info->relocatable = img[BZ_RELOCATABLE];
    if (info->kernel_alignment == 0 || (info->kernel_alignment & (info->kernel_alignment - 1)) ||
        info->kernel_alignment > (1u << 30))
        return fail(err, errlen, "kernel_alignment %#x is not a power of two up to 1 GiB",
                    info->kernel_alignment);
    info->pref_address = rd64(img + BZ_PREF_ADDRESS);
    if (info->pref_address >= (4ULL << 30))
        return fail(err, errlen, "pref_address %#llx is above 4 GiB",
                    (unsigned long long)info->pref_address);
    info->init_size = rd32(img + BZ_INIT_SIZE);
    if (info->init_size < info->kernel_size || info->init_size > MAX_INIT_SIZE)
        return fail(err, errlen, "init_size %#x is out of range for a %zu-byte kernel",
                    info->init_size, info->kernel_size);
    return 0;
}
