/* VM lifecycle: creation and teardown, vCPU threads, pause/resume, reset and stop requests,
 * and the main-thread loop that serves the event loop until the VM stops. */
#include "core/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

static unsigned started_vcpus(const struct vm *vm)
{
    unsigned n = 0;
    for (unsigned i = 0; i < vm->ncpus; i++)
        n += vm->vcpus[i].thread_started;
    return n;
}

/* Asks every vCPU to leave guest mode. Called with vm->lock held. */
static void kick_all_locked(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        atomic_store(&v->stop_requested, true);
        if (v->thread_started && vm->accel->vcpu_kick)
            vm->accel->vcpu_kick(v);
    }
}

static void clear_stop_requests(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++)
        atomic_store(&vm->vcpus[i].stop_requested, false);
}

static void destroy_vcpus(struct vm *vm, unsigned count)
{
    for (unsigned i = count; i-- > 0;)
        if (vm->accel->vcpu_destroy)
            vm->accel->vcpu_destroy(&vm->vcpus[i]);
    free(vm->vcpus);
    vm->vcpus = NULL;
}

static int create_vcpus(struct vm *vm)
{
    vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
    if (!vm->vcpus)
        return -ENOMEM;
    for (unsigned i = 0; i < vm->ncpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        v->vm = vm;
        v->index = i;
        atomic_init(&v->stop_requested, false);
        int r = vm->accel->vcpu_init(v);
        if (r < 0) {
            log_error("creating vCPU %u on the %s accelerator failed", i, vm->accel->name);
            destroy_vcpus(vm, i);
            return r;
        }
    }
    return 0;
}

static int init_sync(struct vm *vm)
{
    int r = pthread_mutex_init(&vm->lock, NULL);
    if (r != 0)
        return -r;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    r = pthread_cond_init(&vm->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (r != 0) {
        pthread_mutex_destroy(&vm->lock);
        return -r;
    }
    return 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
    memset(vm, 0, sizeof(*vm));
    if (!cfg->accel) {
        log_error("no accelerator given");
        return -EINVAL;
    }
    if (cfg->ncpus < 1 || cfg->ncpus > VM_MAX_VCPUS) {
        log_error("%u vCPUs requested; ember supports 1 to %u", cfg->ncpus, VM_MAX_VCPUS);
        return -EINVAL;
    }
    vm->cfg = *cfg;
    vm->accel = cfg->accel;
    vm->ncpus = cfg->ncpus;
    vm->reboot_on_reset = true;
    vm->state = VM_STATE_CREATED;
    vclock_init(&vm->clock, VCLOCK_DEFAULT_TSC_HZ);

    int r = init_sync(vm);
    if (r < 0)
        return r;
    r = guest_mem_init(&vm->mem, cfg->ram_size);
    if (r < 0)
        goto fail_sync;
    if ((r = iobus_init(&vm->pio, "pio")) < 0)
        goto fail_mem;
    if ((r = iobus_init(&vm->mmio, "mmio")) < 0)
        goto fail_pio;
    if ((r = event_loop_init(&vm->loop)) < 0)
        goto fail_mmio;
    if ((r = vm->accel->vm_init(vm)) < 0) {
        log_error("setting up the VM on the %s accelerator failed", vm->accel->name);
        goto fail_loop;
    }
    if ((r = create_vcpus(vm)) < 0)
        goto fail_accel;
    return 0;

fail_accel:
    if (vm->accel->vm_destroy)
        vm->accel->vm_destroy(vm);
fail_loop:
    event_loop_destroy(&vm->loop);
fail_mmio:
    iobus_destroy(&vm->mmio);
fail_pio:
    iobus_destroy(&vm->pio);
fail_mem:
    guest_mem_destroy(&vm->mem);
fail_sync:
    pthread_cond_destroy(&vm->cond);
    pthread_mutex_destroy(&vm->lock);
    memset(vm, 0, sizeof(*vm));
    return r;
}

void vm_destroy(struct vm *vm)
{
    /* vCPUs first: their threads have been joined, and an accelerator's per-vCPU state may
     * point into devices (the soft CPU's LAPIC belongs to the platform device). Devices only
     * ever reach vCPUs through the VM, never through accelerator state. Then the devices,
     * newest first, then the accelerator's VM. */
    destroy_vcpus(vm, vm->ncpus);
    for (unsigned i = vm->ndevices; i-- > 0;)
        if (vm->devices[i].destroy)
            vm->devices[i].destroy(vm->devices[i].opaque);
    free(vm->devices);
    if (vm->accel->vm_destroy)
        vm->accel->vm_destroy(vm);
    event_loop_destroy(&vm->loop);
    iobus_destroy(&vm->mmio);
    iobus_destroy(&vm->pio);
    guest_mem_destroy(&vm->mem);
    pthread_cond_destroy(&vm->cond);
    pthread_mutex_destroy(&vm->lock);
    memset(vm, 0, sizeof(*vm));
}

int vm_add_device(struct vm *vm, const struct vm_device *dev)
{
    if (vm->ndevices == vm->devices_cap) {
        unsigned cap = vm->devices_cap ? vm->devices_cap * 2 : 16;
        struct vm_device *d = realloc(vm->devices, cap * sizeof(*d));
        if (!d)
            return -ENOMEM;
        vm->devices = d;
        vm->devices_cap = cap;
    }
    vm->devices[vm->ndevices++] = *dev;
    return 0;
}

void vm_set_boot(struct vm *vm, vm_boot_fn boot, void *opaque)
{
    vm->boot = boot;
    vm->boot_opaque = opaque;
}

/* Loads the guest and puts each vCPU with a boot state into it. vCPUs stopped. */
static int boot_vcpus(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++)
        vm->vcpus[i].has_boot_state = false;
    if (vm->boot) {
        int r = vm->boot(vm, vm->boot_opaque);
        if (r < 0)
            return r;
    }
    for (unsigned i = 0; i < vm->ncpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        if (!v->has_boot_state)
            continue;
        int r = vm->accel->vcpu_set_state(v, &v->boot_state);
        if (r < 0) {
            log_error("loading the boot state of vCPU %u failed", i);
            return r;
        }
    }
    return 0;
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct vm *vm = v->vm;
    pthread_mutex_lock(&vm->lock);
    for (;;) {
        while (vm->state == VM_STATE_PAUSED || vm->state == VM_STATE_CREATED) {
            vm->vcpus_parked++;
            pthread_cond_broadcast(&vm->cond);
            pthread_cond_wait(&vm->cond, &vm->lock);
            vm->vcpus_parked--;
        }
        if (vm->state == VM_STATE_STOPPED)
            break;
        pthread_mutex_unlock(&vm->lock);
        enum vcpu_exit why = vm->accel->vcpu_run(v);
        switch (why) {
        case VCPU_EXIT_STOP:
            break;
        case VCPU_EXIT_SHUTDOWN:
            log_info("vCPU %u: shutdown (triple fault); resetting the machine", v->index);
            vm_request_reset(vm);
            break;
        case VCPU_EXIT_RESET:
            vm_request_reset(vm);
            break;
        case VCPU_EXIT_ERROR:
            vm_request_stop(vm, VM_STOP_ERROR, 1);
            break;
        }
        pthread_mutex_lock(&vm->lock);
    }
    pthread_mutex_unlock(&vm->lock);
    return NULL;
}

/* Waits until every started vCPU thread is parked. Called with vm->lock held. */
static void wait_parked_locked(struct vm *vm)
{
    unsigned n = started_vcpus(vm);
    while (vm->vcpus_parked < n && vm->state == VM_STATE_PAUSED)
        pthread_cond_wait(&vm->cond, &vm->lock);
}

static void do_reset(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    vm->reset_requested = false;
    if (vm->state != VM_STATE_PAUSED || !vm->pause_for_reset) {
        pthread_mutex_unlock(&vm->lock);
        return;
    }
    wait_parked_locked(vm);
    if (vm->state != VM_STATE_PAUSED) { /* stopped meanwhile */
        pthread_mutex_unlock(&vm->lock);
        return;
    }
    pthread_mutex_unlock(&vm->lock);

    for (unsigned i = 0; i < vm->ndevices; i++)
        if (vm->devices[i].reset)
            vm->devices[i].reset(vm->devices[i].opaque);
    int r = vm->accel->vm_reset ? vm->accel->vm_reset(vm) : 0;
    if (r == 0)
        r = boot_vcpus(vm);

    pthread_mutex_lock(&vm->lock);
    vm->resets++;
    vm->pause_for_reset = false;
    if (r < 0) {
        pthread_mutex_unlock(&vm->lock);
        vm_request_stop(vm, VM_STOP_ERROR, 1);
        return;
    }
    if (vm->state == VM_STATE_PAUSED) {
        clear_stop_requests(vm);
        vm->state = VM_STATE_RUNNING;
        pthread_cond_broadcast(&vm->cond);
    }
    pthread_mutex_unlock(&vm->lock);
}

static void join_vcpus(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        if (!v->thread_started)
            continue;
        int r = pthread_join(v->thread, NULL);
        if (r != 0)
            log_error("joining vCPU %u: %s", i, strerror(r));
        v->thread_started = false;
    }
}

static int start_vcpus(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        int r = pthread_create(&v->thread, NULL, vcpu_thread, v);
        if (r != 0) {
            log_error("starting the thread of vCPU %u: %s", i, strerror(r));
            return -r;
        }
        pthread_mutex_lock(&vm->lock);
        v->thread_started = true;
        pthread_mutex_unlock(&vm->lock);
    }
    return 0;
}

int vm_run(struct vm *vm)
{
    if (vm->state != VM_STATE_CREATED) {
        log_error("vm_run called twice");
        return 1;
    }
    if (boot_vcpus(vm) < 0)
        return 1;
    int r = start_vcpus(vm);
    pthread_mutex_lock(&vm->lock);
    if (r < 0) {
        vm->state = VM_STATE_STOPPED;
        vm->stop_reason = VM_STOP_ERROR;
        vm->exit_code = 1;
    } else if (vm->state == VM_STATE_CREATED) {
        vm->state = VM_STATE_RUNNING;
    }
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);

    for (;;) {
        pthread_mutex_lock(&vm->lock);
        bool stopped = vm->state == VM_STATE_STOPPED;
        bool reset = vm->reset_requested;
        pthread_mutex_unlock(&vm->lock);
        if (stopped)
            break;
        if (reset) {
            do_reset(vm);
            continue;
        }
        if (event_loop_run_once(&vm->loop, -1) < 0) {
            vm_request_stop(vm, VM_STOP_ERROR, 1);
        }
    }
    join_vcpus(vm);
    return vm->exit_code;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int exit_code)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->state != VM_STATE_STOPPED) {
        vm->state = VM_STATE_STOPPED;
        vm->stop_reason = reason;
        vm->exit_code = exit_code;
        kick_all_locked(vm);
        pthread_cond_broadcast(&vm->cond);
    }
    pthread_mutex_unlock(&vm->lock);
    event_loop_wake(&vm->loop);
}

void vm_request_reset(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    if (!vm->reboot_on_reset) {
        pthread_mutex_unlock(&vm->lock);
        log_info("guest reset with reboot disabled: stopping");
        vm_request_stop(vm, VM_STOP_RESET, 0);
        return;
    }
    if (vm->state == VM_STATE_RUNNING || (vm->state == VM_STATE_PAUSED && !vm->pause_for_reset)) {
        /* Park everyone now so no vCPU re-enters a machine that is about to reset. */
        vm->state = VM_STATE_PAUSED;
        vm->pause_for_reset = true;
        vm->reset_requested = true;
        kick_all_locked(vm);
    }
    pthread_mutex_unlock(&vm->lock);
    event_loop_wake(&vm->loop);
}

int vm_pause(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->state != VM_STATE_RUNNING) {
        int r = vm->state == VM_STATE_PAUSED ? 0 : -EINVAL;
        pthread_mutex_unlock(&vm->lock);
        return r;
    }
    vm->state = VM_STATE_PAUSED;
    kick_all_locked(vm);
    wait_parked_locked(vm);
    pthread_mutex_unlock(&vm->lock);
    return 0;
}

int vm_resume(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->state != VM_STATE_PAUSED || vm->pause_for_reset) {
        int r = vm->state == VM_STATE_RUNNING ? 0 : -EINVAL;
        pthread_mutex_unlock(&vm->lock);
        return r;
    }
    clear_stop_requests(vm);
    vm->state = VM_STATE_RUNNING;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    return 0;
}

enum vm_run_state vm_get_state(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    enum vm_run_state s = vm->state;
    pthread_mutex_unlock(&vm->lock);
    return s;
}

int vm_set_irq(struct vm *vm, unsigned gsi, bool level)
{
    if (!vm->accel->set_irq_line)
        return -EOPNOTSUPP;
    return vm->accel->set_irq_line(vm, gsi, level);
}

int vm_signal_msi(struct vm *vm, uint64_t address, uint32_t data)
{
    if (!vm->accel->signal_msi)
        return -EOPNOTSUPP;
    return vm->accel->signal_msi(vm, address, data);
}

int vm_add_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned len, bool match_data,
                     uint64_t data, int fd)
{
    if (!vm->accel->add_ioeventfd)
        return -EOPNOTSUPP;
    return vm->accel->add_ioeventfd(vm, pio, addr, len, match_data, data, fd);
}

int vm_del_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned len, bool match_data,
                     uint64_t data, int fd)
{
    if (!vm->accel->del_ioeventfd)
        return -EOPNOTSUPP;
    return vm->accel->del_ioeventfd(vm, pio, addr, len, match_data, data, fd);
}

uint64_t vm_pio_read(struct vm *vm, uint16_t port, unsigned size)
{
    uint64_t v;
    iobus_read(&vm->pio, port, size, &v);
    return v;
}

void vm_pio_write(struct vm *vm, uint16_t port, unsigned size, uint64_t value)
{
    iobus_write(&vm->pio, port, size, value);
}

uint64_t vm_mmio_read(struct vm *vm, uint64_t addr, unsigned size)
{
    uint64_t v;
    iobus_read(&vm->mmio, addr, size, &v);
    return v;
}

void vm_mmio_write(struct vm *vm, uint64_t addr, unsigned size, uint64_t value)
{
    iobus_write(&vm->mmio, addr, size, value);
}
