/* A virtual machine: guest RAM, the PIO and MMIO buses, devices, vCPUs (one host thread each),
 * the event loop, and the lifecycle: create, run, pause, resume, reset, shut down, exit code.
 * Everything lives in this struct, so several VMs can coexist in one process. */
#ifndef EMBER_CORE_VM_H
#define EMBER_CORE_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/accel.h"
#include "core/cpu_state.h"
#include "core/event_loop.h"
#include "core/guest_mem.h"
#include "core/iobus.h"
#include "core/vclock.h"

#define VM_MAX_VCPUS 64

/* What the user asked for (plain data). */
struct vm_config {
    uint64_t ram_size; /* bytes */
    unsigned ncpus;
    const struct accel_ops *accel;
    bool profile; /* keep a guest profile for accel->profile_write (which must exist) */
};

struct vcpu {
    struct vm *vm;
    unsigned index; /* 0 is the bootstrap processor */
    pthread_t thread;
    bool thread_started;
    void *accel_state;           /* owned by the accelerator */
    atomic_bool stop_requested;  /* set by the VM before kicking; accelerators poll it */
    struct cpu_state boot_state; /* loaded into the vCPU at start and at every reset */
    bool has_boot_state;         /* false: the accelerator's reset state (APs wait for INIT/SIPI) */
};

enum vm_run_state {
    VM_STATE_CREATED,
    VM_STATE_RUNNING,
    VM_STATE_PAUSED,
    VM_STATE_STOPPED,
};

enum vm_stop_reason {
    VM_STOP_NONE,
    VM_STOP_POWEROFF,   /* guest powered off (ACPI) — exit code 0 */
    VM_STOP_DEBUG_EXIT, /* guest wrote to the debug-exit port — its value */
    VM_STOP_USER,       /* the user or the API asked (console escape, signal) */
    VM_STOP_RESET,      /* guest reset with reboot disabled */
    VM_STOP_ERROR,      /* VMM or accelerator error */
};

/* A device's lifecycle hooks. reset runs with all vCPUs paused; destroy at VM teardown,
 * in reverse order of registration. */
struct vm_device {
    const char *name;
    void *opaque;
    void (*reset)(void *opaque);
    void (*destroy)(void *opaque);
};

/* Loads the guest into RAM and fills each vcpu->boot_state; called before the first run and
 * on every reset. Returns 0 or -errno (logged). */
typedef int (*vm_boot_fn)(struct vm *vm, void *opaque);

struct vm {
    struct vm_config cfg;
    struct guest_mem mem;
    struct iobus pio;
    struct iobus mmio;
    const struct accel_ops *accel;
    void *accel_state; /* owned by the accelerator */
    unsigned ncpus;
    struct vcpu *vcpus;
    struct event_loop loop;
    struct vclock clock; /* guest time and virtual TSC */
    void *platform;      /* the soft accelerator's userspace irqchip and timers (src/platform) */

    struct vm_device *devices;
    unsigned ndevices, devices_cap;

    vm_boot_fn boot;
    void *boot_opaque;
    bool reboot_on_reset; /* false: a guest reset stops the VM (VM_STOP_RESET) */

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;
    enum vm_run_state state;
    unsigned vcpus_parked; /* vCPU threads waiting while paused */
    bool pause_for_reset;
    bool reset_requested; /* handled on the main thread by vm_run */
    enum vm_stop_reason stop_reason;
    int exit_code;
    unsigned resets; /* number of resets done, for tests and logs */
};

/* Creates RAM, buses, the event loop and the accelerator's VM and vCPUs. Errors are logged.
 * On failure the vm is left destroyed (no need to call vm_destroy). */
int vm_create(struct vm *vm, const struct vm_config *cfg);
void vm_destroy(struct vm *vm);

int vm_add_device(struct vm *vm, const struct vm_device *dev);
void vm_set_boot(struct vm *vm, vm_boot_fn boot, void *opaque);

/* Boots (calls the boot hook), starts the vCPU threads and runs the event loop on the calling
 * thread until the VM stops. Returns the exit code: 0 on power-off, the debug-exit value,
 * 1 on error. */
int vm_run(struct vm *vm);

/* Lifecycle requests, from any thread (vCPU, device, API). */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int exit_code);
void vm_request_reset(struct vm *vm);
/* Pause and resume from a thread that is not a vCPU thread; pause returns once every vCPU
 * has left guest mode. */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
enum vm_run_state vm_get_state(struct vm *vm);

/* Interrupts for devices. */
int vm_set_irq(struct vm *vm, unsigned gsi, bool level);
int vm_signal_msi(struct vm *vm, uint64_t address, uint32_t data);
/* fd becomes readable when the guest writes to addr (optionally only with value data), through
 * the accelerator's ioeventfd. -EOPNOTSUPP when the accelerator has none (soft): the write then
 * reaches the device's own bus handler, which must handle the notification itself. */
int vm_add_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned len, bool match_data,
                     uint64_t data, int fd);
int vm_del_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned len, bool match_data,
                     uint64_t data, int fd);

/* Dispatch helpers for accelerators: an access from the guest to the PIO or MMIO bus. */
uint64_t vm_pio_read(struct vm *vm, uint16_t port, unsigned size);
void vm_pio_write(struct vm *vm, uint16_t port, unsigned size, uint64_t value);
uint64_t vm_mmio_read(struct vm *vm, uint64_t addr, unsigned size);
void vm_mmio_write(struct vm *vm, uint64_t addr, unsigned size, uint64_t value);

#endif
