/* Machine builder: VM + platform + console UART + i8042 + debug-exit + boot hook, the host
 * signals that stop the VM, and the guest profile file (--profile). */
#include "machine/machine.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "boot/boot.h"
#include "core/memmap.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/testdev.h"
#include "devices/uart16550.h"
#include "pci/pci.h"
#include "platform/platform.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_rng.h"
#include "util/log.h"

static int machine_boot(struct vm *vm, void *opaque)
{
    struct machine *m = opaque;
    return boot_load_kernel(vm, m->cfg.kernel, m->cfg.initrd, m->cfg.cmdline);
}

/* Writes the guest profile to cfg.profile (through a temporary file renamed over it, so a
 * reader never sees half a profile). Every vCPU must be stopped. */
static int write_profile(struct machine *m)
{
    const char *path = m->cfg.profile;
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        log_error("--profile %s: path too long", path);
        return -ENAMETOOLONG;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        int e = errno;
        log_error("--profile %s: %s", tmp, strerror(e));
        return -e;
    }
    int r = m->vm.accel->profile_write(&m->vm, f);
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) != 0)
        r = -errno;
    if (r < 0) {
        log_error("--profile %s: cannot write the guest profile: %s", path, strerror(-r));
        unlink(tmp);
        return r;
    }
    log_info("guest profile written to %s", path);
    return 0;
}

/* SIGUSR1 with --profile: a snapshot of the profile, with the vCPUs paused meanwhile. */
static void snapshot_profile(struct machine *m)
{
    if (vm_pause(&m->vm) < 0) {
        log_warn("--profile: the VM is not running; no snapshot written");
        return;
    }
    write_profile(m);
    if (vm_resume(&m->vm) < 0)
        log_warn("--profile: the VM did not resume after the snapshot");
}

static void on_signal(void *opaque, uint32_t events)
{
    struct machine *m = opaque;
    struct signalfd_siginfo si;
    ssize_t n = read(m->signal_fd, &si, sizeof(si));
    if (n != (ssize_t)sizeof(si))
        return;
    if (si.ssi_signo == SIGUSR1) {
        snapshot_profile(m);
        return;
    }
    log_info("received signal %u: stopping the VM", si.ssi_signo);
    vm_request_stop(&m->vm, VM_STOP_USER, 128 + (int)si.ssi_signo);
}

/* SIGINT/SIGTERM/SIGHUP are blocked in every thread (vCPU threads inherit the mask) and read
 * through a signalfd on the event loop, so they stop the VM cleanly. */
static int watch_signals(struct machine *m)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (m->cfg.profile)
        sigaddset(&set, SIGUSR1);
    int r = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (r != 0) {
        log_error("blocking signals: %s", strerror(r));
        return -r;
    }
    m->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (m->signal_fd < 0) {
        int e = errno;
        log_error("signalfd: %s", strerror(e));
        return -e;
    }
    return event_loop_add(&m->vm.loop, m->signal_fd, EPOLLIN, on_signal, m);
}

static int add_platform_devices(struct machine *m)
{
    struct vm *vm = &m->vm;
    int r = 0;
    /* The soft accelerator creates the platform (with its irqchip) in its vm_init; for kvm the
     * kernel has the irqchip and PIT and ember adds the rest. */
    if (!vm->platform) {
        struct platform_config pc = {.irqchip = false};
        if ((r = platform_create(vm, &pc)) < 0)
            return r;
    }
    if ((r = i8042_create(vm)) < 0)
        return r;
    if ((r = debug_exit_create(vm)) < 0)
        return r;
    /* XXX: the test device is always present (test guests need it); make it opt-in once the
     * test scripts pass a flag for it. It only holds a few registers of its own. */
    if ((r = testdev_create(vm)) < 0)
        return r;
    if ((r = chardev_open(&m->console, vm, m->cfg.console ? m->cfg.console : "stdio")) < 0)
        return r;
    m->console_open = true;
    if (!uart16550_create(vm, PORT_COM1, IRQ_COM1, &m->console))
        return -ENOMEM;
    return 0;
}

/* The PCI host bridge and the virtio functions on it: entropy always, then the second console,
 * the disks and the network cards in command-line order (which fixes their slots). */
static int add_virtio_devices(struct machine *m)
{
    struct vm *vm = &m->vm;
    struct pci_host *host = pci_host_create(vm);
    if (!host)
        return -ENOMEM;
    if (!virtio_rng_create(vm, host, NULL))
        return -EINVAL;
    if (m->cfg.virtio_console && !virtio_console_create(vm, host, m->cfg.virtio_console))
        return -EINVAL;
    for (unsigned i = 0; i < m->cfg.ndisks; i++)
        if (!virtio_blk_create(vm, host, m->cfg.disks[i]))
            return -EINVAL;
    for (unsigned i = 0; i < m->cfg.nnets; i++)
        if (!virtio_net_create(vm, host, m->cfg.nets[i]))
            return -EINVAL;
    return 0;
}

int machine_create(struct machine *m, const struct machine_config *cfg)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    m->signal_fd = -1;
    if (cfg->profile && !cfg->accel->profile_write) {
        log_error("--profile: the %s accelerator runs guest code on the host CPU and cannot "
                  "count its instructions; use --accel soft",
                  cfg->accel->name);
        return -ENOTSUP;
    }
    struct vm_config vc = {.ram_size = cfg->memory,
                           .ncpus = cfg->cpus,
                           .accel = cfg->accel,
                           .profile = cfg->profile != NULL};
    int r = vm_create(&m->vm, &vc);
    if (r < 0)
        return r;
    m->vm.reboot_on_reset = !cfg->no_reboot;
    if ((r = add_platform_devices(m)) < 0 || (r = watch_signals(m)) < 0) {
        machine_destroy(m);
        return r;
    }
    if ((r = add_virtio_devices(m)) < 0) {
        machine_destroy(m);
        return r;
    }
    vm_set_boot(&m->vm, machine_boot, m);
    return 0;
}

int machine_run(struct machine *m)
{
    int code = vm_run(&m->vm);
    /* The vCPU threads have ended; their state lives until machine_destroy. */
    if (m->cfg.profile && write_profile(m) < 0 && code == 0)
        code = 1;
    return code;
}

void machine_destroy(struct machine *m)
{
    /* The console leaves the event loop (and restores the terminal) while the VM still exists;
     * the vCPUs that could write to it have stopped, and the UART only keeps a pointer. */
    if (m->console_open)
        chardev_close(&m->console);
    vm_destroy(&m->vm);
    if (m->signal_fd >= 0)
        close(m->signal_fd);
    m->console_open = false;
    m->signal_fd = -1;
}
