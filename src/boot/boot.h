/* Loading the guest kernel named by --kernel: detects the format (ELF64 executable, Linux
 * bzImage, else a flat binary), loads it into guest RAM and sets vCPU 0's 64-bit entry state. */
#ifndef EMBER_BOOT_BOOT_H
#define EMBER_BOOT_BOOT_H

struct vm;

/* Reads the file at path and boots it: fills vm->vcpus[0].boot_state (other vCPUs wait for
 * INIT/SIPI). initrd and cmdline are used by the Linux loader; ELF and flat images ignore them
 * (with a warning). Errors are logged naming the file and the problem; returns 0 or -errno. */
int boot_load_kernel(struct vm *vm, const char *path, const char *initrd, const char *cmdline);

#endif
