/* KVM vCPUs (api.rst 4.7 KVM_CREATE_VCPU, 4.10 KVM_RUN, 5 "The kvm_run structure"): creation
 * with the per-vCPU CPUID table, the run loop, and kicks. A kick sets kvm_run.immediate_exit
 * and sends a signal to the vCPU thread, as api.rst describes for KVM_CAP_IMMEDIATE_EXIT:
 * the signal interrupts a running KVM_RUN, the flag catches a KVM_RUN that is about to start. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/vm.h"
#include "kvm/kvm_internal.h"
#include "util/log.h"

int kvm_kick_signal(void)
{
    return SIGRTMIN + 1;
}

/* The handler does nothing: its only job is to make KVM_RUN return -EINTR. */
static void kick_handler(int sig)
{
    (void)sig;
}

int kvm_kick_install_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    /* SA_RESTART: other system calls on the vCPU thread (device back ends) resume; KVM_RUN
     * still returns -EINTR because KVM never restarts it. */
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(kvm_kick_signal(), &sa, NULL) < 0) {
        int err = errno;
        log_error("kvm: cannot install the vCPU kick signal handler: %s", strerror(err));
        return -err;
    }
    return 0;
}

static int unblock_kick_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, kvm_kick_signal());
    int rc = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (rc != 0) {
        log_error("kvm: cannot unblock the kick signal: %s", strerror(rc));
        return -rc;
    }
    return 0;
}

/* XXX: the guest TSC ticks at the host's rate, not vm->clock.tsc_hz: KVM_SET_TSC_KHZ needs
 * KVM_CAP_TSC_CONTROL (absent on this host). Guests use kvmclock and the in-kernel LAPIC
 * timer, which agree with that TSC; only ember's userspace timers use vm->clock. */
static int set_cpuid(struct vcpu *vcpu, int fd)
{
    struct kvm_vm_state *ks = vcpu->vm->accel_state;
    struct kvm_cpuid2 *cpuid = kvm_cpuid_build(ks->supported_cpuid, vcpu->index, vcpu->vm->ncpus);
    if (!cpuid)
        return -EINVAL;
    int rc = 0;
    if (ioctl(fd, KVM_SET_CPUID2, cpuid) < 0) {
        rc = -errno;
        log_error("kvm: vCPU %u: KVM_SET_CPUID2 failed: %s", vcpu->index, strerror(-rc));
    }
    free(cpuid);
    return rc;
}

static void vcpu_state_free(struct kvm_vcpu_state *vs)
{
    if (vs->run && vs->run != MAP_FAILED)
        munmap(vs->run, vs->run_size);
    if (vs->fd >= 0)
        close(vs->fd);
    free(vs);
}

int kvm_vcpu_init(struct vcpu *vcpu)
{
    struct kvm_vm_state *ks = vcpu->vm->accel_state;
    struct kvm_vcpu_state *vs = calloc(1, sizeof(*vs));
    if (!vs) {
        log_error("kvm: out of memory");
        return -ENOMEM;
    }
    vs->run_size = ks->run_size;
    vs->fd = ioctl(ks->vm_fd, KVM_CREATE_VCPU, (unsigned long)vcpu->index);
    if (vs->fd < 0) {
        int err = errno;
        log_error("kvm: KVM_CREATE_VCPU %u failed: %s", vcpu->index, strerror(err));
        free(vs);
        return -err;
    }
    vs->run = mmap(NULL, vs->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vs->fd, 0);
    if (vs->run == MAP_FAILED) {
        int err = errno;
        log_error("kvm: vCPU %u: mmap of kvm_run failed: %s", vcpu->index, strerror(err));
        vcpu_state_free(vs);
        return -err;
    }
    int rc = set_cpuid(vcpu, vs->fd);
    if (rc == 0)
        rc = kvm_reset_save_vcpu(vs);
    if (rc < 0) {
        vcpu_state_free(vs);
        return rc;
    }
    vcpu->accel_state = vs;
    return 0;
}

void kvm_vcpu_destroy(struct vcpu *vcpu)
{
    if (!vcpu->accel_state)
        return;
    vcpu_state_free(vcpu->accel_state);
    vcpu->accel_state = NULL;
}

int kvm_vcpu_set_state(struct vcpu *vcpu, const struct cpu_state *st)
{
    struct kvm_vcpu_state *vs = vcpu->accel_state;
    int rc = kvm_regs_set_state(vs->fd, st);
    if (rc < 0)
        return rc;
    /* A vCPU given a state runs it now, also an AP that was waiting for INIT/SIPI. */
    struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
    if (ioctl(vs->fd, KVM_SET_MP_STATE, &mp) < 0) {
        rc = -errno;
        log_error("kvm: vCPU %u: KVM_SET_MP_STATE failed: %s", vcpu->index, strerror(-rc));
    }
    return rc;
}

int kvm_vcpu_get_state(struct vcpu *vcpu, struct cpu_state *st)
{
    struct kvm_vcpu_state *vs = vcpu->accel_state;
    return kvm_regs_get_state(vs->fd, st);
}

/* api.rst: a PIO/MMIO exit is complete only after the next KVM_RUN; with immediate_exit set
 * that KVM_RUN finishes the instruction and returns -EINTR without running further. */
static int complete_pending_io(struct kvm_vcpu_state *vs)
{
    if (!vs->io_pending)
        return 0;
    vs->run->immediate_exit = 1;
    int rc = ioctl(vs->fd, KVM_RUN, 0);
    int err = errno;
    vs->run->immediate_exit = 0;
    vs->io_pending = false;
    if (rc < 0 && err != EINTR) {
        log_error("kvm: KVM_RUN to complete an I/O exit failed: %s", strerror(err));
        return -err;
    }
    return 0;
}

enum vcpu_exit kvm_vcpu_run(struct vcpu *vcpu)
{
    struct kvm_vcpu_state *vs = vcpu->accel_state;
    if (!vs->signal_ready) {
        if (unblock_kick_signal() < 0)
            return VCPU_EXIT_ERROR;
        vs->signal_ready = true;
    }
    for (;;) {
        /* Clear, then look at stop_requested: a kick after the clear is seen by KVM_RUN
         * (flag or signal); a kick before it is seen by the load below. */
        __atomic_store_n(&vs->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        if (atomic_load(&vcpu->stop_requested))
            return complete_pending_io(vs) < 0 ? VCPU_EXIT_ERROR : VCPU_EXIT_STOP;

        if (ioctl(vs->fd, KVM_RUN, 0) < 0) {
            int err = errno;
            if (err == EINTR || err == EAGAIN) {
                vs->io_pending = false; /* KVM completed it before checking for signals */
                continue;
            }
            log_error("kvm: vCPU %u: KVM_RUN failed: %s", vcpu->index, strerror(err));
            return VCPU_EXIT_ERROR;
        }
        vs->io_pending = false;
        enum vcpu_exit out;
        if (!kvm_exit_handle(vcpu, vs, &out))
            return out;
    }
}

void kvm_vcpu_kick(struct vcpu *vcpu)
{
    struct kvm_vcpu_state *vs = vcpu->accel_state;
    if (!vs)
        return;
    __atomic_store_n(&vs->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    /* From the vCPU's own thread (a device handler) the flag is enough. */
    if (!vcpu->thread_started || pthread_equal(pthread_self(), vcpu->thread))
        return;
    int rc = pthread_kill(vcpu->thread, kvm_kick_signal());
    if (rc != 0 && rc != ESRCH)
        log_error("kvm: vCPU %u: kick signal failed: %s", vcpu->index, strerror(rc));
}
