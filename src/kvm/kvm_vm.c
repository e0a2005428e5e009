/* KVM VM setup and teardown (Documentation/virt/kvm/api.rst sections 4.1-4.4, 4.25, 4.35, 4.47,
 * 4.48): opens /dev/kvm, checks the API version and the capabilities ember relies on, creates
 * the VM with the in-kernel irqchip and PIT, and maps guest RAM as memory slots. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/vm.h"
#include "kvm/kvm_internal.h"
#include "util/log.h"

#define KVM_DEV_PATH         "/dev/kvm"
#define KVM_API_VERSION_WANT 12

/* Capabilities ember needs, with what each is for (named in errors). */
static const struct {
    int cap;
    const char *name;
} required_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY (guest RAM slots)"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID (KVM_GET_SUPPORTED_CPUID)"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP (in-kernel PIC/IOAPIC/LAPIC)"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2 (in-kernel PIT)"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT (vCPU kicks)"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
};

/* Opens /dev/kvm and checks version and capabilities. Returns the fd or -errno with why. */
static int open_and_check(char *why, size_t whylen)
{
    int fd = open(KVM_DEV_PATH, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        snprintf(why, whylen, "cannot open %s: %s", KVM_DEV_PATH, strerror(err));
        return -err;
    }
    int version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION_WANT) {
        snprintf(why, whylen, "%s reports KVM API version %d, ember needs %d", KVM_DEV_PATH,
                 version, KVM_API_VERSION_WANT);
        close(fd);
        return -ENOTSUP;
    }
    for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
        if (ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
            snprintf(why, whylen, "host KVM lacks %s", required_caps[i].name);
            close(fd);
            return -ENOTSUP;
        }
    }
    return fd;
}

int kvm_probe(char *why, size_t whylen)
{
    int fd = open_and_check(why, whylen);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

static int vm_ioctl_checked(int vm_fd, unsigned long req, void *arg, const char *what)
{
    if (ioctl(vm_fd, req, arg) < 0) {
        int err = errno;
        log_error("kvm: %s failed: %s", what, strerror(err));
        return -err;
    }
    return 0;
}

/* Intel hosts need the TSS and identity-map pages before any vCPU exists (api.rst 4.47/4.48);
 * AMD hosts accept and ignore them. */
static int setup_intel_pages(int vm_fd)
{
    uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
    int rc =
        vm_ioctl_checked(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap, "KVM_SET_IDENTITY_MAP_ADDR");
    if (rc < 0)
        return rc;
    if (ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
        int err = errno;
        log_error("kvm: KVM_SET_TSS_ADDR failed: %s", strerror(err));
        return -err;
    }
    return 0;
}

/* In-kernel PIC + IOAPIC + LAPICs, then the PIT (api.rst 4.24, 4.65: PIT2 after the irqchip). */
static int setup_irqchip(int vm_fd)
{
    if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        int err = errno;
        log_error("kvm: KVM_CREATE_IRQCHIP failed: %s", strerror(err));
        return -err;
    }
    struct kvm_pit_config pit = {.flags = 0};
    return vm_ioctl_checked(vm_fd, KVM_CREATE_PIT2, &pit, "KVM_CREATE_PIT2");
}

/* One slot per RAM region of the core's layout (guest_mem.h). */
static int setup_memory(struct kvm_vm_state *ks, const struct guest_mem *gm)
{
    for (unsigned i = 0; i < gm->nregions; i++) {
        const struct guest_mem_region *r = &gm->regions[i];
        struct kvm_userspace_memory_region slot = {
            .slot = i,
            .flags = 0,
            .guest_phys_addr = r->gpa,
            .memory_size = r->size,
            .userspace_addr = (uint64_t)(uintptr_t)r->host,
        };
        if (ioctl(ks->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
            int err = errno;
            log_error("kvm: KVM_SET_USER_MEMORY_REGION slot %u (gpa 0x%llx, %llu bytes) failed: %s",
                      i, (unsigned long long)r->gpa, (unsigned long long)r->size, strerror(err));
            return -err;
        }
        ks->nslots++;
    }
    return 0;
}

static int create_vm(struct kvm_vm_state *ks)
{
    char why[256];
    ks->kvm_fd = open_and_check(why, sizeof(why));
    if (ks->kvm_fd < 0) {
        log_error("kvm: %s", why);
        return ks->kvm_fd;
    }
    int run_size = ioctl(ks->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run)) {
        log_error("kvm: KVM_GET_VCPU_MMAP_SIZE returned %d", run_size);
        return run_size < 0 ? -errno : -EINVAL;
    }
    ks->run_size = (size_t)run_size;
    /* Type 0: the default x86 VM (api.rst 4.2). */
    ks->vm_fd = ioctl(ks->kvm_fd, KVM_CREATE_VM, 0);
    if (ks->vm_fd < 0) {
        int err = errno;
        log_error("kvm: KVM_CREATE_VM failed: %s", strerror(err));
        return -err;
    }
    ks->supported_cpuid = kvm_cpuid_get_supported(ks->kvm_fd);
    if (!ks->supported_cpuid)
        return -EIO;
    if (ioctl(ks->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
        kvm_cpuid_set_tsc_deadline(ks->supported_cpuid);
    return 0;
}

static void state_free(struct kvm_vm_state *ks)
{
    if (ks->vm_fd >= 0)
        close(ks->vm_fd);
    if (ks->kvm_fd >= 0)
        close(ks->kvm_fd);
    free(ks->supported_cpuid);
    free(ks);
}

int kvm_vm_init(struct vm *vm)
{
    struct kvm_vm_state *ks = calloc(1, sizeof(*ks));
    if (!ks) {
        log_error("kvm: out of memory");
        return -ENOMEM;
    }
    ks->kvm_fd = -1;
    ks->vm_fd = -1;

    int rc = kvm_kick_install_handler();
    if (rc == 0)
        rc = create_vm(ks);
    if (rc == 0)
        rc = setup_intel_pages(ks->vm_fd);
    if (rc == 0)
        rc = setup_irqchip(ks->vm_fd);
    if (rc == 0)
        rc = setup_memory(ks, &vm->mem);
    if (rc == 0)
        rc = kvm_reset_save_vm(ks);
    if (rc < 0) {
        state_free(ks);
        return rc;
    }
    vm->accel_state = ks;
    return 0;
}

void kvm_vm_destroy(struct vm *vm)
{
    struct kvm_vm_state *ks = vm->accel_state;
    if (!ks)
        return;
    state_free(ks);
    vm->accel_state = NULL;
}
