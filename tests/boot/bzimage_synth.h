/* Builds a synthetic bzImage (valid 2.15 setup header + a dummy protected-mode kernel) for the
 * loader tests; each test then breaks one field. */
#ifndef EMBER_TESTS_BOOT_BZIMAGE_SYNTH_H
#define EMBER_TESTS_BOOT_BZIMAGE_SYNTH_H

#include <stdint.h>
#include <string.h>

#define SYNTH_SETUP_SECTS 4
#define SYNTH_SETUP_SIZE  ((SYNTH_SETUP_SECTS + 1) * 512)
#define SYNTH_KERNEL_SIZE (64 * 1024)
#define SYNTH_SIZE        (SYNTH_SETUP_SIZE + SYNTH_KERNEL_SIZE)
#define SYNTH_INIT_SIZE   (8u << 20)

static inline void synth_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void synth_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void synth_bzimage(uint8_t *img)
{
    memset(img, 0, SYNTH_SIZE);
    img[0x1F1] = SYNTH_SETUP_SECTS;
    synth_put32(img + 0x1F4, SYNTH_KERNEL_SIZE / 16);
    synth_put16(img + 0x1FE, 0xAA55);
    img[0x200] = 0xEB;
    img[0x201] = 0x6A; /* header ends at 0x26C */
    memcpy(img + 0x202, "HdrS", 4);
    synth_put16(img + 0x206, 0x020F);
    img[0x211] = 0x01;                    /* LOADED_HIGH */
    synth_put32(img + 0x22C, 0x7FFFFFFF); /* initrd_addr_max */
    synth_put32(img + 0x230, 0x200000);   /* kernel_alignment */
    img[0x234] = 1;                       /* relocatable */
    synth_put16(img + 0x236, 0x0003);     /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
    synth_put32(img + 0x238, 2048);       /* cmdline_size */
    synth_put32(img + 0x258, 0x1000000);  /* pref_address (low dword) */
    synth_put32(img + 0x260, SYNTH_INIT_SIZE);
    for (size_t i = 0; i < SYNTH_KERNEL_SIZE; i++)
        img[SYNTH_SETUP_SIZE + i] = (uint8_t)(i * 7 + 3);
}

#endif
