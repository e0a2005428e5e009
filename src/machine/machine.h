/* The machine builder: the only place where a VM is wired up from what the user asked for
 * (struct machine_config, plain data) — RAM, accelerator, platform, console, devices, boot. */
#ifndef EMBER_MACHINE_MACHINE_H
#define EMBER_MACHINE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vm.h"
#include "devices/chardev.h"

#define MACHINE_DEFAULT_MEMORY (512ULL << 20)
#define MACHINE_MAX_DISKS      16
#define MACHINE_MAX_NETS       8

/* What the user asked for. Strings are borrowed from the caller. */
struct machine_config {
    const char *kernel;  /* required: ELF64, flat binary or bzImage */
    const char *initrd;  /* optional */
    const char *cmdline; /* optional kernel command line */
    uint64_t memory;     /* bytes */
    unsigned cpus;
    const struct accel_ops *accel;
    const char *console;                  /* chardev spec: stdio, none, file:PATH, socket:PATH */
    bool no_reboot;                       /* a guest reset stops the VM instead of rebooting it */
    const char *disks[MACHINE_MAX_DISKS]; /* --disk option strings */
    unsigned ndisks;
    const char *nets[MACHINE_MAX_NETS]; /* --net option strings */
    unsigned nnets;
    const char *virtio_console; /* --virtio-console spec, or NULL for none */
    const char *profile;        /* --profile FILE (guest profile, soft accelerator), or NULL */
};

struct machine {
    struct machine_config cfg;
    struct vm vm;
    struct chardev console;
    bool console_open;
    int signal_fd; /* SIGINT/SIGTERM/SIGHUP (and SIGUSR1 with --profile), on the event loop */
};

/* Builds the machine: creates the VM, devices and console and sets the boot hook. Errors are
 * logged with what went wrong; returns 0 or -errno (then nothing needs freeing). */
int machine_create(struct machine *m, const struct machine_config *cfg);
/* Runs until the VM stops; returns ember's exit code. */
int machine_run(struct machine *m);
void machine_destroy(struct machine *m);

#endif
