/* Debug-exit port: a write stops the VM with the written byte as ember's exit code. */
#include "devices/debug_exit.h"

#include "core/memmap.h"
#include "core/vm.h"
#include "util/log.h"

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void debug_exit_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct vm *vm = opaque;
    int code = (int)(value & 0xff);
    log_info("debug-exit: guest exits with code %d", code);
    vm_request_stop(vm, VM_STOP_DEBUG_EXIT, code);
}

static const struct iobus_ops debug_exit_ops = {.read = debug_exit_read, .write = debug_exit_write};

int debug_exit_create(struct vm *vm)
{
    /* 4 ports so that 16- and 32-bit OUTs to the base are claimed whole. */
    return iobus_register(&vm->pio, PORT_DEBUG_EXIT, 4, &debug_exit_ops, vm, "debug-exit");
}
