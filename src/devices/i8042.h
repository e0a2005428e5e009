/* The i8042 keyboard controller, reduced to what a VM needs: the status/data ports, the
 * configuration byte with the port enable commands, the self and interface tests, and the CPU
 * reset line (command 0xFE pulses it). No keyboard or mouse is attached. */
#ifndef EMBER_DEVICES_I8042_H
#define EMBER_DEVICES_I8042_H

#include <stdint.h>

struct vm;

#define I8042_CMD_READ_CONFIG  0x20
#define I8042_CMD_WRITE_CONFIG 0x60
#define I8042_CMD_DISABLE_AUX  0xA7
#define I8042_CMD_ENABLE_AUX   0xA8
#define I8042_CMD_SELF_TEST    0xAA
#define I8042_CMD_KBD_TEST     0xAB
#define I8042_CMD_DISABLE_KBD  0xAD
#define I8042_CMD_ENABLE_KBD   0xAE
#define I8042_CMD_PULSE_RESET  0xFE
#define I8042_STATUS_OBF       0x01 /* output buffer full */
#define I8042_STATUS_SYS       0x04 /* system flag: self test passed */
#define I8042_STATUS_UNLOCKED  0x10 /* keyboard not inhibited (the key lock is off) */
#define I8042_CONFIG_KBD_OFF   0x10 /* configuration byte: keyboard clock disabled */
#define I8042_CONFIG_AUX_OFF   0x20 /* configuration byte: AUX clock disabled */
#define I8042_KBD_TEST_OK      0x00
#define I8042_SELF_TEST_OK     0x55

struct i8042 {
    struct vm *vm;
    uint8_t config; /* controller configuration byte */
    uint8_t out;    /* output buffer */
    uint8_t status;
    uint8_t pending_cmd; /* command waiting for its data byte on port 0x60 */
};

/* Claims ports 0x60 and 0x64; registers reset and teardown with the VM. 0 or -errno. */
int i8042_create(struct vm *vm);

/* Port handlers, exposed for unit tests: port is 0x60 or 0x64. */
uint8_t i8042_read(struct i8042 *k, uint16_t port);
void i8042_write(struct i8042 *k, uint16_t port, uint8_t value);

#endif
