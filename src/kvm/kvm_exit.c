/* Handling of KVM_RUN exits (api.rst 5 "The kvm_run structure", exit reasons KVM_EXIT_*):
 * port and MMIO accesses go to the VM's buses; HLT, shutdown, system events and failures are
 * turned into enum vcpu_exit and reported clearly. kvm_run contents come from the kernel but
 * are still range-checked before use (data_offset, sizes, counts). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "core/vm.h"
#include "kvm/kvm_internal.h"
#include "util/log.h"

const char *kvm_exit_reason_name(uint32_t reason)
{
    switch (reason) {
    case KVM_EXIT_UNKNOWN:
        return "UNKNOWN";
    case KVM_EXIT_EXCEPTION:
        return "EXCEPTION";
    case KVM_EXIT_IO:
        return "IO";
    case KVM_EXIT_HYPERCALL:
        return "HYPERCALL";
    case KVM_EXIT_DEBUG:
        return "DEBUG";
    case KVM_EXIT_HLT:
        return "HLT";
    case KVM_EXIT_MMIO:
        return "MMIO";
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        return "IRQ_WINDOW_OPEN";
    case KVM_EXIT_SHUTDOWN:
        return "SHUTDOWN";
    case KVM_EXIT_FAIL_ENTRY:
        return "FAIL_ENTRY";
    case KVM_EXIT_INTR:
        return "INTR";
    case KVM_EXIT_SET_TPR:
        return "SET_TPR";
    case KVM_EXIT_TPR_ACCESS:
        return "TPR_ACCESS";
    case KVM_EXIT_NMI:
        return "NMI";
    case KVM_EXIT_INTERNAL_ERROR:
        return "INTERNAL_ERROR";
    case KVM_EXIT_SYSTEM_EVENT:
        return "SYSTEM_EVENT";
    case KVM_EXIT_IOAPIC_EOI:
        return "IOAPIC_EOI";
    case KVM_EXIT_X86_RDMSR:
        return "X86_RDMSR";
    case KVM_EXIT_X86_WRMSR:
        return "X86_WRMSR";
    default:
        return "unrecognised";
    }
}

static const char *internal_error_name(uint32_t suberror)
{
    switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION:
        return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX:
        return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV:
        return "exit during event delivery";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
        return "unexpected hardware exit reason";
    default:
        return "unknown suberror";
    }
}

/* Guest registers for error reports (best effort). */
static void log_guest_context(struct vcpu *vcpu, struct kvm_vcpu_state *vs)
{
    struct cpu_state st;
    if (kvm_regs_get_state(vs->fd, &st) < 0)
        return;
    log_error("kvm: vCPU %u: rip 0x%" PRIx64 " rsp 0x%" PRIx64 " rflags 0x%" PRIx64
              " cr0 0x%" PRIx64 " cr3 0x%" PRIx64 " cr4 0x%" PRIx64 " efer 0x%" PRIx64 " cs 0x%x",
              vcpu->index, st.rip, st.gpr[GPR_RSP], st.rflags, st.cr0, st.cr3, st.cr4, st.efer,
              st.seg[SEG_CS].selector);
}

/* KVM_EXIT_IO: `count` accesses of `size` bytes at data_offset in the kvm_run mapping (count
 * > 1 for string I/O, INS/OUTS with REP). */
static bool handle_io(struct vcpu *vcpu, struct kvm_vcpu_state *vs)
{
    struct kvm_run *run = vs->run;
    unsigned size = run->io.size;
    uint64_t count = run->io.count;
    uint64_t off = run->io.data_offset;
    if ((size != 1 && size != 2 && size != 4) || count == 0 || off > vs->run_size ||
        count > (vs->run_size - off) / size) {
        log_error("kvm: vCPU %u: malformed I/O exit (port 0x%x size %u count %" PRIu64
                  " data_offset %" PRIu64 ")",
                  vcpu->index, run->io.port, size, count, off);
        return false;
    }
    uint8_t *data = (uint8_t *)run + off;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t v = 0;
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            memcpy(&v, data + i * size, size);
            vm_pio_write(vcpu->vm, run->io.port, size, v);
        } else {
            v = vm_pio_read(vcpu->vm, run->io.port, size);
            memcpy(data + i * size, &v, size);
        }
    }
    vs->io_pending = true;
    return true;
}

static bool is_bus_size(unsigned len)
{
    return len == 1 || len == 2 || len == 4 || len == 8;
}

/* KVM_EXIT_MMIO: up to 8 bytes in mmio.data (little-endian). Odd lengths are split into bytes. */
static bool handle_mmio(struct vcpu *vcpu, struct kvm_vcpu_state *vs)
{
    struct kvm_run *run = vs->run;
    unsigned len = run->mmio.len;
    uint64_t addr = run->mmio.phys_addr;
    if (len == 0 || len > sizeof(run->mmio.data)) {
        log_error("kvm: vCPU %u: malformed MMIO exit (addr 0x%" PRIx64 " len %u)", vcpu->index,
                  addr, len);
        return false;
    }
    if (is_bus_size(len)) {
        uint64_t v = 0;
        if (run->mmio.is_write) {
            memcpy(&v, run->mmio.data, len);
            vm_mmio_write(vcpu->vm, addr, len, v);
        } else {
            v = vm_mmio_read(vcpu->vm, addr, len);
            memcpy(run->mmio.data, &v, len);
        }
    } else {
        for (unsigned i = 0; i < len; i++) {
            if (run->mmio.is_write)
                vm_mmio_write(vcpu->vm, addr + i, 1, run->mmio.data[i]);
            else
                run->mmio.data[i] = (uint8_t)vm_mmio_read(vcpu->vm, addr + i, 1);
        }
    }
    vs->io_pending = true;
    return true;
}

static bool handle_system_event(struct vcpu *vcpu, struct kvm_vcpu_state *vs, enum vcpu_exit *out)
{
    uint32_t type = vs->run->system_event.type;
    switch (type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        log_info("kvm: vCPU %u: guest requested power-off", vcpu->index);
        vm_request_stop(vcpu->vm, VM_STOP_POWEROFF, 0);
        *out = VCPU_EXIT_STOP;
        return false;
    case KVM_SYSTEM_EVENT_RESET:
        *out = VCPU_EXIT_RESET;
        return false;
    case KVM_SYSTEM_EVENT_CRASH:
        log_error("kvm: vCPU %u: guest crashed (system event)", vcpu->index);
        *out = VCPU_EXIT_ERROR;
        return false;
    default:
        log_warn("kvm: vCPU %u: ignoring system event type %u", vcpu->index, type);
        return true;
    }
}

static void log_internal_error(struct vcpu *vcpu, struct kvm_vcpu_state *vs)
{
    struct kvm_run *run = vs->run;
    uint32_t sub = run->internal.suberror;
    uint32_t ndata = run->internal.ndata;
    const uint32_t max = sizeof(run->internal.data) / sizeof(run->internal.data[0]);
    if (ndata > max)
        ndata = max;
    log_error("kvm: vCPU %u: KVM internal error %u (%s), %u data words", vcpu->index, sub,
              internal_error_name(sub), run->internal.ndata);
    for (uint32_t i = 0; i < ndata; i++)
        log_error("kvm:   data[%u] = 0x%llx", i, (unsigned long long)run->internal.data[i]);
    log_guest_context(vcpu, vs);
}

bool kvm_exit_handle(struct vcpu *vcpu, struct kvm_vcpu_state *vs, enum vcpu_exit *out)
{
    struct kvm_run *run = vs->run;
    *out = VCPU_EXIT_ERROR;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        return handle_io(vcpu, vs);
    case KVM_EXIT_MMIO:
        return handle_mmio(vcpu, vs);
    case KVM_EXIT_HLT:
        /* XXX: only happens without an in-kernel LAPIC, which ember always creates, so
         * there is no userspace HLT emulation: re-enter. */
        log_debug("kvm: vCPU %u: HLT exit", vcpu->index);
        return true;
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        return true; /* the loop checks stop_requested */
    case KVM_EXIT_SHUTDOWN:
        log_info("kvm: vCPU %u: shutdown (triple fault)", vcpu->index);
        *out = VCPU_EXIT_SHUTDOWN;
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        return handle_system_event(vcpu, vs, out);
    case KVM_EXIT_FAIL_ENTRY:
        log_error("kvm: vCPU %u: VM entry failed, hardware_entry_failure_reason 0x%llx (host "
                  "cpu %u)",
                  vcpu->index, (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
                  run->fail_entry.cpu);
        log_guest_context(vcpu, vs);
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        log_internal_error(vcpu, vs);
        return false;
    case KVM_EXIT_UNKNOWN:
        log_error("kvm: vCPU %u: unknown exit, hardware_exit_reason 0x%llx", vcpu->index,
                  (unsigned long long)run->hw.hardware_exit_reason);
        log_guest_context(vcpu, vs);
        return false;
    default:
        log_error("kvm: vCPU %u: unexpected exit reason %u (%s)", vcpu->index, run->exit_reason,
                  kvm_exit_reason_name(run->exit_reason));
        log_guest_context(vcpu, vs);
        return false;
    }
}
