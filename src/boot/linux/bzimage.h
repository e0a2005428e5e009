/* Parsing and validation of a Linux x86 bzImage setup header (Documentation/x86/boot.rst, "The
 * Real-Mode Kernel Header"). The image is untrusted: every field is checked before use. */
#ifndef EMBER_BOOT_LINUX_BZIMAGE_H
#define EMBER_BOOT_LINUX_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Offsets in the image / in boot_params (the setup header sits at the same place in both). */
#define BZ_HDR_START        0x1F1
#define BZ_SETUP_SECTS      0x1F1
#define BZ_SYSSIZE          0x1F4
#define BZ_BOOT_FLAG        0x1FE
#define BZ_JUMP_LEN         0x201 /* header end = 0x202 + this byte */
#define BZ_HEADER_MAGIC     0x202
#define BZ_VERSION          0x206
#define BZ_TYPE_OF_LOADER   0x210
#define BZ_LOADFLAGS        0x211
#define BZ_RAMDISK_IMAGE    0x218
#define BZ_RAMDISK_SIZE     0x21C
#define BZ_CMD_LINE_PTR     0x228
#define BZ_INITRD_ADDR_MAX  0x22C
#define BZ_KERNEL_ALIGNMENT 0x230
#define BZ_RELOCATABLE      0x234
#define BZ_XLOADFLAGS       0x236
#define BZ_CMDLINE_SIZE     0x238
#define BZ_PREF_ADDRESS     0x258
#define BZ_INIT_SIZE        0x260
#define BZ_HDR_MAX_END      0x290 /* end of the header area in boot_params */

#define BZ_BOOT_FLAG_VALUE   0xAA55
#define BZ_MIN_VERSION       0x020C /* 2.12: xloadflags, 64-bit entry */
#define BZ_LOADED_HIGH       0x01
#define BZ_XLF_KERNEL_64     0x01
#define BZ_STARTUP_64_OFFSET 0x200

struct bzimage_info {
    unsigned setup_sects;
    size_t setup_size;    /* bytes of real-mode setup (incl. boot sector) */
    size_t kernel_offset; /* file offset of the protected-mode kernel */
    size_t kernel_size;
    size_t header_end; /* end offset of the setup header */
    uint16_t version;
    uint8_t loadflags;
    uint16_t xloadflags;
    uint32_t initrd_addr_max;
    uint32_t cmdline_size; /* longest command line, excluding the NUL */
    uint32_t kernel_alignment;
    uint8_t relocatable;
    uint64_t pref_address;
    uint32_t init_size; /* bytes the kernel needs from its load address to decompress */
};

/* Validates img. Returns 0, or -ENOEXEC with a message naming the bad field in err. */
int bzimage_parse(const uint8_t *img, size_t size, struct bzimage_info *info, char *err,
                  size_t errlen);

#endif
