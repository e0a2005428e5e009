/* The kernel-image dispatcher: reads --kernel, recognises ELF64 (magic), Linux bzImage ("HdrS"
 * at offset 0x202, Documentation/arch/x86/boot.rst) or else a flat binary, loads it and gives
 * vCPU 0 its 64-bit entry state. */
#include "boot/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/elf_loader.h"
#include "boot/flat_loader.h"
#include "boot/linux/linux_boot.h"
#include "boot/long_mode.h"
#include "core/memmap.h"
#include "core/vm.h"
#include "util/log.h"

#define BZIMAGE_MAGIC_OFFSET 0x202
#define BZIMAGE_MAGIC        "HdrS"

static int read_all(int fd, uint8_t *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO; /* file shrank while reading */
        done += (size_t)n;
    }
    return 0;
}

/* Reads a regular file no larger than max bytes into a malloc'd buffer. */
static int read_image(const char *path, uint64_t max, uint8_t **out, size_t *out_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        log_error("kernel %s: cannot open: %s", path, strerror(err));
        return -err;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        log_error("kernel %s: cannot stat: %s", path, strerror(-rc));
    } else if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        log_error("kernel %s: not a regular file", path);
    } else if ((uint64_t)st.st_size > max) {
        rc = -EFBIG;
        log_error("kernel %s: %lld bytes is larger than guest RAM", path, (long long)st.st_size);
    }
    uint8_t *buf = NULL;
    if (rc == 0) {
        buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
        if (!buf) {
            rc = -ENOMEM;
            log_error("kernel %s: out of memory reading it", path);
        }
    }
    if (rc == 0) {
        rc = read_all(fd, buf, (size_t)st.st_size);
        if (rc < 0)
            log_error("kernel %s: read failed: %s", path, strerror(-rc));
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_size = (size_t)st.st_size;
    return 0;
}

static bool is_bzimage(const uint8_t *img, size_t size)
{
    return size >= BZIMAGE_MAGIC_OFFSET + 4 &&
           memcmp(img + BZIMAGE_MAGIC_OFFSET, BZIMAGE_MAGIC, 4) == 0;
}

/* ELF or flat: load, then the long-mode entry state for vCPU 0. */
static int load_simple(struct vm *vm, const char *path, const uint8_t *img, size_t size,
                       const char *initrd, const char *cmdline)
{
    char why[256] = "";
    uint64_t entry = 0;
    bool elf = elf_loader_is_elf(img, size);
    int rc = elf ? elf_loader_load(&vm->mem, img, size, &entry, why, sizeof(why))
                 : flat_loader_load(&vm->mem, img, size, &entry, why, sizeof(why));
    if (rc < 0) {
        log_error("kernel %s: %s image rejected: %s", path, elf ? "ELF" : "flat", why);
        return rc;
    }
    if (initrd)
        log_warn("kernel %s: --initrd is ignored for %s images", path, elf ? "ELF" : "flat");
    if (cmdline)
        log_warn("kernel %s: --cmdline is ignored for %s images", path, elf ? "ELF" : "flat");

    rc = long_mode_prepare(&vm->mem, &vm->vcpus[0].boot_state, entry, MEMMAP_BOOT_STACK);
    if (rc < 0) {
        log_error("kernel %s: guest RAM too small for the boot page tables", path);
        return rc;
    }
    vm->vcpus[0].has_boot_state = true;
    for (unsigned i = 1; i < vm->ncpus; i++)
        vm->vcpus[i].has_boot_state = false;
    log_debug("kernel %s: %s image, entry 0x%llx", path, elf ? "ELF" : "flat",
              (unsigned long long)entry);
    return 0;
}

int boot_load_kernel(struct vm *vm, const char *path, const char *initrd, const char *cmdline)
{
    if (!path) {
        log_error("no kernel given");
        return -EINVAL;
    }
    uint8_t *img = NULL;
    size_t size = 0;
    int rc = read_image(path, vm->mem.ram_size, &img, &size);
    if (rc < 0)
        return rc;
    if (!elf_loader_is_elf(img, size) && is_bzimage(img, size)) {
        free(img);
        return linux_boot_load(vm, path, initrd, cmdline);
    }
    rc = load_simple(vm, path, img, size, initrd, cmdline);
    free(img);
    return rc;
}
