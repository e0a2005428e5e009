/* Linux x86 64-bit boot (Documentation/x86/boot.rst: "Loading the rest of the kernel",
 * "64-bit Boot Protocol", zero-page layout in Documentation/x86/zero-page.rst): places the
 * protected-mode kernel, initrd, command line and boot_params, then the long-mode entry state. */
#include "boot/linux/linux_boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/linux/bzimage.h"
#include "boot/linux/e820.h"
#include "boot/long_mode.h"
#include "core/memmap.h"
#include "core/vm.h"
#include "util/log.h"

/* boot_params fields outside the setup header (zero-page.rst). */
#define BP_SIZE              4096
#define BP_ACPI_RSDP_ADDR    0x070
#define BP_EXT_RAMDISK_IMAGE 0x0C0
#define BP_EXT_RAMDISK_SIZE  0x0C4
#define BP_EXT_CMD_LINE_PTR  0x0C8
#define BP_E820_ENTRIES      0x1E8
#define BP_E820_TABLE        0x2D0
#define BP_E820_ENTRY_SIZE   20

#define LOADER_TYPE_UNDEFINED 0xFF
#define BZ_VERSION_RSDP       0x020E /* acpi_rsdp_addr is honoured from 2.14 */
#define PAGE_SIZE_4K          4096ULL

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* End of the RAM region that holds MEMMAP_KERNEL_BASE (the loader keeps everything below 4 GiB
 * in that region), or 0. */
static uint64_t low_ram_end(const struct guest_mem *gm)
{
    for (unsigned i = 0; i < gm->nregions; i++) {
        const struct guest_mem_region *r = &gm->regions[i];
        if (r->gpa <= MEMMAP_KERNEL_BASE && MEMMAP_KERNEL_BASE < r->gpa + r->size)
            return r->gpa + r->size;
    }
    return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* The kernel decompresses to max(pref_address, load address rounded to kernel_alignment) and
 * needs init_size bytes there (boot.rst, init_size); everything it needs must be RAM. */
static uint64_t kernel_footprint_end(const struct bzimage_info *bz)
{
    uint64_t load_end = MEMMAP_KERNEL_BASE + bz->kernel_size;
    uint64_t run = align_up(MEMMAP_KERNEL_BASE, bz->kernel_alignment);
    if (bz->pref_address > run)
        run = bz->pref_address;
    uint64_t run_end = run + bz->init_size;
    return run_end > load_end ? run_end : load_end;
}

static int place_initrd(const struct bzimage_info *bz, const struct linux_boot_image *img,
                        uint64_t kernel_end, uint64_t ram_end, uint64_t *addr)
{
    uint64_t limit = (uint64_t)bz->initrd_addr_max + 1;
    if (limit > ram_end)
        limit = ram_end;
    if (img->initrd_size > limit || limit - img->initrd_size < kernel_end) {
        log_error("%s: initrd of %zu bytes does not fit between the kernel (ends at %#llx) and "
                  "%#llx; give the VM more memory",
                  img->name, img->initrd_size, (unsigned long long)kernel_end,
                  (unsigned long long)limit);
        return -ENOMEM;
    }
    *addr = (limit - img->initrd_size) & ~(PAGE_SIZE_4K - 1);
    if (*addr < kernel_end)
        return -ENOMEM;
    return 0;
}

static int write_boot_params(struct guest_mem *gm, const struct linux_boot_image *img,
                             const struct bzimage_info *bz, const struct linux_boot_layout *lay)
{
    uint8_t bp[BP_SIZE];
    memset(bp, 0, sizeof(bp));
    memcpy(bp + BZ_HDR_START, img->kernel + BZ_HDR_START, bz->header_end - BZ_HDR_START);
    bp[BZ_TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
    wr32(bp + BZ_CMD_LINE_PTR, (uint32_t)lay->cmdline_addr);
    wr32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(lay->cmdline_addr >> 32));
    if (img->initrd_size) {
        wr32(bp + BZ_RAMDISK_IMAGE, (uint32_t)lay->initrd_addr);
        wr32(bp + BZ_RAMDISK_SIZE, (uint32_t)img->initrd_size);
        wr32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(lay->initrd_addr >> 32));
        wr32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)img->initrd_size >> 32));
    }
    if (bz->version >= BZ_VERSION_RSDP)
        wr64(bp + BP_ACPI_RSDP_ADDR, MEMMAP_ACPI_BASE);

    struct e820_entry map[E820_MAX_ENTRIES];
    int n = e820_build(gm, map, E820_MAX_ENTRIES);
    if (n < 0) {
        log_error("%s: the e820 map has too many entries", img->name);
        return n;
    }
    bp[BP_E820_ENTRIES] = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        uint8_t *e = bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;
        wr64(e, map[i].addr);
        wr64(e + 8, map[i].size);
        wr32(e + 16, map[i].type);
    }
    return guest_mem_write(gm, MEMMAP_ZERO_PAGE, bp, sizeof(bp));
}

int linux_boot_setup(struct guest_mem *gm, const struct linux_boot_image *img, struct cpu_state *st,
                     struct linux_boot_layout *out)
{
    struct bzimage_info bz;
    char why[160];
    if (bzimage_parse(img->kernel, img->kernel_size, &bz, why, sizeof(why)) < 0) {
        log_error("%s: not a bootable 64-bit bzImage: %s", img->name, why);
        return -ENOEXEC;
    }
    const char *cmdline = img->cmdline ? img->cmdline : "";
    size_t cmdlen = strlen(cmdline);
    if (cmdlen > bz.cmdline_size || cmdlen >= MEMMAP_CMDLINE_MAX) {
        log_error("%s: command line of %zu bytes is longer than the kernel accepts (%u)", img->name,
                  cmdlen,
                  bz.cmdline_size < MEMMAP_CMDLINE_MAX - 1 ? bz.cmdline_size
                                                           : (unsigned)(MEMMAP_CMDLINE_MAX - 1));
        return -E2BIG;
    }

    memset(out, 0, sizeof(*out));
    uint64_t ram_end = low_ram_end(gm);
    out->kernel_addr = MEMMAP_KERNEL_BASE;
    out->kernel_end = kernel_footprint_end(&bz);
    out->entry = MEMMAP_KERNEL_BASE + BZ_STARTUP_64_OFFSET;
    out->cmdline_addr = MEMMAP_CMDLINE;
    if (out->kernel_end > ram_end) {
        log_error("%s: the kernel needs RAM up to %llu MiB to decompress; the VM has %llu MiB "
                  "below the PCI hole",
                  img->name, (unsigned long long)((out->kernel_end + MiB - 1) / MiB),
                  (unsigned long long)(ram_end / MiB));
        return -ENOMEM;
    }
    if (img->initrd && img->initrd_size) {
        int rc = place_initrd(&bz, img, out->kernel_end, ram_end, &out->initrd_addr);
        if (rc < 0)
            return rc;
        if (img->initrd_size > UINT32_MAX)
            return -E2BIG;
    }

    int rc =
        guest_mem_write(gm, MEMMAP_KERNEL_BASE, img->kernel + bz.kernel_offset, bz.kernel_size);
    if (rc == 0 && img->initrd && img->initrd_size)
        rc = guest_mem_write(gm, out->initrd_addr, img->initrd, img->initrd_size);
    if (rc == 0)
        rc = guest_mem_write(gm, MEMMAP_CMDLINE, cmdline, cmdlen + 1);
    if (rc < 0) {
        log_error("%s: guest RAM does not cover the kernel, initrd or command line", img->name);
        return -ENOMEM;
    }
    struct linux_boot_image with_cmdline = *img;
    with_cmdline.cmdline = cmdline;
    if ((rc = write_boot_params(gm, &with_cmdline, &bz, out)) < 0)
        return rc;
    if ((rc = long_mode_prepare(gm, st, out->entry, MEMMAP_BOOT_STACK)) < 0) {
        log_error("%s: cannot write the boot page tables", img->name);
        return rc;
    }
    st->gpr[GPR_RSI] = MEMMAP_ZERO_PAGE;
    return 0;
}

/* Reads a whole file of at most max bytes. */
static int read_file(const char *path, uint64_t max, uint8_t **data, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        log_error("%s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        log_error("%s: %s", path, strerror(e));
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        log_error("%s: not a regular file of at most %llu bytes", path, (unsigned long long)max);
        close(fd);
        return -EFBIG;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        log_error("%s: out of memory reading %zu bytes", path, len);
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            log_error("%s: read: %s", path, n < 0 ? strerror(e) : "file shrank while reading");
            free(buf);
            close(fd);
            return -e;
        }
        got += (size_t)n;
    }
    close(fd);
    *data = buf;
    *size = len;
    return 0;
}

int linux_boot_load(struct vm *vm, const char *kernel, const char *initrd, const char *cmdline)
{
    struct linux_boot_image img = {.cmdline = cmdline, .name = kernel};
    uint8_t *k = NULL, *i = NULL;
    int rc = read_file(kernel, vm->mem.ram_size, &k, &img.kernel_size);
    if (rc < 0)
        return rc;
    img.kernel = k;
    if (initrd) {
        rc = read_file(initrd, vm->mem.ram_size, &i, &img.initrd_size);
        if (rc < 0) {
            free(k);
            return rc;
        }
        img.initrd = i;
    }
    struct linux_boot_layout layout;
    struct cpu_state st;
    rc = linux_boot_setup(&vm->mem, &img, &st, &layout);
    free(k);
    free(i);
    if (rc < 0)
        return rc;
    vm->vcpus[0].boot_state = st;
    vm->vcpus[0].has_boot_state = true;
    for (unsigned n = 1; n < vm->ncpus; n++)
        vm->vcpus[n].has_boot_state = false;
    log_debug("linux: kernel at %#llx (entry %#llx), initrd at %#llx (%zu bytes)",
              (unsigned long long)layout.kernel_addr, (unsigned long long)layout.entry,
              (unsigned long long)layout.initrd_addr, img.initrd_size);
    return 0;
}
