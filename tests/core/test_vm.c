/* Unit tests for the VM lifecycle with a fake accelerator: two VMs in one process, pause and
 * resume, reset through the boot hook and device hooks, stop reasons and exit codes. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "core/memmap.h"
#include "core/vm.h"
#include "devices/debug_exit.h"

/* What the fake vCPU does on each step; returns true to leave vcpu_run with *exit. */
typedef bool (*fake_step_fn)(struct vcpu *v, unsigned long step, enum vcpu_exit *exit);

struct fake_vm {
    fake_step_fn step;
    atomic_ulong steps;
    bool fail_vm_init;
    uint64_t loaded_rip[VM_MAX_VCPUS];
};

static struct fake_vm *fake_of(struct vm *vm)
{
    return vm->accel_state;
}

/* The test sets this before vm_create; vm_init takes it (one VM created at a time). */
static struct fake_vm *next_fake;

static int fake_vm_init(struct vm *vm)
{
    if (next_fake->fail_vm_init)
        return -EIO;
    vm->accel_state = next_fake;
    return 0;
}

static int fake_vcpu_init(struct vcpu *v)
{
    return 0;
}

static int fake_set_state(struct vcpu *v, const struct cpu_state *st)
{
    fake_of(v->vm)->loaded_rip[v->index] = st->rip;
    return 0;
}

static enum vcpu_exit fake_run(struct vcpu *v)
{
    struct fake_vm *f = fake_of(v->vm);
    while (!atomic_load(&v->stop_requested)) {
        unsigned long n = atomic_fetch_add(&f->steps, 1);
        enum vcpu_exit e;
        if (f->step && f->step(v, n, &e))
            return e;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    return VCPU_EXIT_STOP;
}

static const struct accel_ops fake_accel = {
    .name = "fake",
    .vm_init = fake_vm_init,
    .vcpu_init = fake_vcpu_init,
    .vcpu_set_state = fake_set_state,
    .vcpu_run = fake_run,
};

static void create_vm(struct vm *vm, struct fake_vm *f, unsigned ncpus)
{
    next_fake = f;
    struct vm_config cfg = {.ram_size = 8 * MiB, .ncpus = ncpus, .accel = &fake_accel};
    assert_int_equal(vm_create(vm, &cfg), 0);
    assert_int_equal(debug_exit_create(vm), 0);
}

static bool exit_with_index_plus_3(struct vcpu *v, unsigned long step, enum vcpu_exit *e)
{
    if (step == 10)
        vm_pio_write(v->vm, PORT_DEBUG_EXIT, 1, 3 + (uintptr_t)v->vm->boot_opaque);
    return false;
}

struct runner {
    struct vm *vm;
    int code;
};

static void *run_thread(void *arg)
{
    struct runner *r = arg;
    r->code = vm_run(r->vm);
    return NULL;
}

static void test_two_vms_in_one_process(void **state)
{
    struct fake_vm fa = {.step = exit_with_index_plus_3}, fb = {.step = exit_with_index_plus_3};
    struct vm a, b;
    create_vm(&a, &fa, 2);
    create_vm(&b, &fb, 1);
    a.boot_opaque = (void *)0;
    b.boot_opaque = (void *)2;
    struct runner ra = {.vm = &a}, rb = {.vm = &b};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, run_thread, &ra), 0);
    assert_int_equal(pthread_create(&tb, NULL, run_thread, &rb), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(ra.code, 3);
    assert_int_equal(rb.code, 5);
    assert_int_equal(a.stop_reason, VM_STOP_DEBUG_EXIT);
    vm_destroy(&a);
    vm_destroy(&b);
}

static void wait_steps_above(struct fake_vm *f, unsigned long n)
{
    for (int i = 0; i < 5000 && atomic_load(&f->steps) <= n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_true(atomic_load(&f->steps) > n);
}

static void test_pause_resume_stop(void **state)
{
    struct fake_vm f = {0};
    struct vm vm;
    create_vm(&vm, &f, 2);
    struct runner r = {.vm = &vm};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_thread, &r), 0);
    wait_steps_above(&f, 5);
    assert_int_equal(vm_pause(&vm), 0);
    assert_int_equal(vm_get_state(&vm), VM_STATE_PAUSED);
    unsigned long frozen = atomic_load(&f.steps);
    struct timespec ts = {0, 30000000};
    nanosleep(&ts, NULL);
    assert_int_equal(atomic_load(&f.steps), frozen); /* nobody runs while paused */
    assert_int_equal(vm_resume(&vm), 0);
    wait_steps_above(&f, frozen + 5);
    vm_request_stop(&vm, VM_STOP_USER, 7);
    pthread_join(t, NULL);
    assert_int_equal(r.code, 7);
    assert_int_equal(vm.stop_reason, VM_STOP_USER);
    assert_int_equal(vm_pause(&vm), -EINVAL); /* stopped VMs cannot pause */
    vm_destroy(&vm);
}

static unsigned boots, device_resets;

static int count_boot(struct vm *vm, void *opaque)
{
    boots++;
    vm->vcpus[0].boot_state.rip = 0x100000 + boots;
    vm->vcpus[0].has_boot_state = true;
    return 0;
}

static void count_reset(void *opaque)
{
    device_resets++;
}

/* First boot: triple fault at once. After the reset: exit with code 0. */
static bool shutdown_then_exit(struct vcpu *v, unsigned long step, enum vcpu_exit *e)
{
    if (v->vm->resets == 0) {
        *e = VCPU_EXIT_SHUTDOWN;
        return true;
    }
    vm_pio_write(v->vm, PORT_DEBUG_EXIT, 1, 0);
    return false;
}

static void test_reset_reboots(void **state)
{
    struct fake_vm f = {.step = shutdown_then_exit};
    struct vm vm;
    boots = device_resets = 0;
    create_vm(&vm, &f, 1);
    vm_set_boot(&vm, count_boot, NULL);
    struct vm_device dev = {.name = "counter", .reset = count_reset};
    assert_int_equal(vm_add_device(&vm, &dev), 0);
    assert_int_equal(vm_run(&vm), 0);
    assert_int_equal(vm.resets, 1);
    assert_int_equal(boots, 2);
    assert_int_equal(device_resets, 1);
    assert_int_equal(f.loaded_rip[0], 0x100002); /* the boot state was loaded again */
    vm_destroy(&vm);
}

static void test_reset_without_reboot_stops(void **state)
{
    struct fake_vm f = {.step = shutdown_then_exit};
    struct vm vm;
    boots = 0;
    create_vm(&vm, &f, 1);
    vm_set_boot(&vm, count_boot, NULL);
    vm.reboot_on_reset = false;
    assert_int_equal(vm_run(&vm), 0);
    assert_int_equal(vm.stop_reason, VM_STOP_RESET);
    assert_int_equal(boots, 1);
    vm_destroy(&vm);
}

static bool fail_at_once(struct vcpu *v, unsigned long step, enum vcpu_exit *e)
{
    *e = VCPU_EXIT_ERROR;
    return true;
}

static void test_error_exit(void **state)
{
    struct fake_vm f = {.step = fail_at_once};
    struct vm vm;
    create_vm(&vm, &f, 3);
    assert_int_equal(vm_run(&vm), 1);
    assert_int_equal(vm.stop_reason, VM_STOP_ERROR);
    vm_destroy(&vm);
}

static void test_bad_configs(void **state)
{
    struct vm vm;
    struct fake_vm f = {0};
    next_fake = &f;
    struct vm_config cfg = {.ram_size = 8 * MiB, .ncpus = 0, .accel = &fake_accel};
    assert_int_equal(vm_create(&vm, &cfg), -EINVAL);
    cfg.ncpus = VM_MAX_VCPUS + 1;
    assert_int_equal(vm_create(&vm, &cfg), -EINVAL);
    cfg.ncpus = 1;
    cfg.ram_size = 3;
    assert_int_equal(vm_create(&vm, &cfg), -EINVAL);
    cfg.ram_size = 8 * MiB;
    f.fail_vm_init = true;
    assert_int_equal(vm_create(&vm, &cfg), -EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_vms_in_one_process),
        cmocka_unit_test(test_pause_resume_stop),
        cmocka_unit_test(test_reset_reboots),
        cmocka_unit_test(test_reset_without_reboot_stops),
        cmocka_unit_test(test_error_exit),
        cmocka_unit_test(test_bad_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
