/* i8042 controller: status, configuration byte, port enables, self and interface tests, and the
 * reset line (0xFE). */
#include "devices/i8042.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/memmap.h"
#include "core/vm.h"
#include "util/log.h"

static void put_output(struct i8042 *k, uint8_t v)
{
    k->out = v;
    k->status |= I8042_STATUS_OBF;
}

uint8_t i8042_read(struct i8042 *k, uint16_t port)
{
    if (port == PORT_I8042_CMD)
        return k->status;
    k->status &= ~I8042_STATUS_OBF;
    return k->out;
}

void i8042_write(struct i8042 *k, uint16_t port, uint8_t value)
{
    if (port == PORT_I8042_DATA) {
        if (k->pending_cmd == I8042_CMD_WRITE_CONFIG)
            k->config = value;
        /* Bytes for a keyboard that is not there are dropped. */
        k->pending_cmd = 0;
        return;
    }
    switch (value) {
    case I8042_CMD_READ_CONFIG:
        put_output(k, k->config);
        break;
    case I8042_CMD_WRITE_CONFIG:
        k->pending_cmd = value;
        break;
    case I8042_CMD_SELF_TEST:
        put_output(k, I8042_SELF_TEST_OK);
        break;
    case I8042_CMD_KBD_TEST:
        put_output(k, I8042_KBD_TEST_OK);
        break;
    case I8042_CMD_DISABLE_KBD:
        k->config |= I8042_CONFIG_KBD_OFF;
        break;
    case I8042_CMD_ENABLE_KBD:
        k->config &= (uint8_t)~I8042_CONFIG_KBD_OFF;
        break;
    case I8042_CMD_DISABLE_AUX:
        k->config |= I8042_CONFIG_AUX_OFF;
        break;
    case I8042_CMD_ENABLE_AUX:
        k->config &= (uint8_t)~I8042_CONFIG_AUX_OFF;
        break;
    case I8042_CMD_PULSE_RESET:
        log_info("i8042: reset requested by the guest");
        if (k->vm)
            vm_request_reset(k->vm);
        break;
    default:
        break;
    }
}

/* XXX: no lock; accesses are single bytes and the state a few bytes, so concurrent vCPUs could
 * only lose a status bit, never touch memory out of bounds. */
static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
    return i8042_read(opaque, PORT_I8042_DATA);
}

static void data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    i8042_write(opaque, PORT_I8042_DATA, (uint8_t)value);
}

static uint64_t cmd_read(void *opaque, uint64_t offset, unsigned size)
{
    return i8042_read(opaque, PORT_I8042_CMD);
}

static void cmd_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    i8042_write(opaque, PORT_I8042_CMD, (uint8_t)value);
}

static const struct iobus_ops i8042_data_ops = {.read = data_read, .write = data_write};
static const struct iobus_ops i8042_cmd_ops = {.read = cmd_read, .write = cmd_write};

static void i8042_reset(void *opaque)
{
    struct i8042 *k = opaque;
    k->config = 0;
    k->out = 0;
    k->pending_cmd = 0;
    k->status = I8042_STATUS_SYS | I8042_STATUS_UNLOCKED;
}

static void i8042_destroy(void *opaque)
{
    free(opaque);
}

int i8042_create(struct vm *vm)
{
    struct i8042 *k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    k->vm = vm;
    i8042_reset(k);
    /* Two single ports: 0x61 in between belongs to the PIT/speaker. */
    int r = iobus_register(&vm->pio, PORT_I8042_DATA, 1, &i8042_data_ops, k, "i8042-data");
    if (r == 0)
        r = iobus_register(&vm->pio, PORT_I8042_CMD, 1, &i8042_cmd_ops, k, "i8042-cmd");
    struct vm_device dev = {
        .name = "i8042", .opaque = k, .reset = i8042_reset, .destroy = i8042_destroy};
    if (r == 0)
        r = vm_add_device(vm, &dev);
    if (r < 0) {
        iobus_unregister(&vm->pio, PORT_I8042_DATA, k);
        iobus_unregister(&vm->pio, PORT_I8042_CMD, k);
        free(k);
        log_error("i8042: cannot claim its ports");
    }
    return r;
}
