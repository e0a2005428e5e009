/* Unit tests for the i8042: configuration byte, self test, and the reset line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/memmap.h"
#include "devices/i8042.h"

static void test_config_and_self_test(void **state)
{
    struct i8042 k = {.status = I8042_STATUS_SYS};
    i8042_write(&k, PORT_I8042_CMD, I8042_CMD_WRITE_CONFIG);
    i8042_write(&k, PORT_I8042_DATA, 0x47);
    i8042_write(&k, PORT_I8042_CMD, I8042_CMD_READ_CONFIG);
    assert_true(i8042_read(&k, PORT_I8042_CMD) & I8042_STATUS_OBF);
    assert_int_equal(i8042_read(&k, PORT_I8042_DATA), 0x47);
    assert_false(i8042_read(&k, PORT_I8042_CMD) & I8042_STATUS_OBF);
    i8042_write(&k, PORT_I8042_CMD, I8042_CMD_SELF_TEST);
    assert_int_equal(i8042_read(&k, PORT_I8042_DATA), I8042_SELF_TEST_OK);
    /* A data byte without a pending command does not change the configuration. */
    i8042_write(&k, PORT_I8042_DATA, 0x00);
    i8042_write(&k, PORT_I8042_CMD, I8042_CMD_READ_CONFIG);
    assert_int_equal(i8042_read(&k, PORT_I8042_DATA), 0x47);
}

static void test_port_enables_and_interface_test(void **state)
{
    struct i8042 k = {.status = I8042_STATUS_SYS | I8042_STATUS_UNLOCKED};
    i8042_write(&k, PORT_I8042_CMD, I8042_CMD_DISABLE_KBD);
    i8042_write(&k, PORT_I8042_CMD, I8042_CMD_DISABLE_AUX);
    i8042_write(&k, PORT_I8042_CMD, I8042_CMD_READ_CONFIG);
    assert_int_equal(i8042_read(&k, PORT_I8042_DATA), I8042_CONFIG_KBD_OFF | I8042_CONFIG_AUX_OFF);
    i8042_write(&k, PORT_I8042_CMD, I8042_CMD_ENABLE_KBD);
    i8042_write(&k, PORT_I8042_CMD, I8042_CMD_READ_CONFIG);
    assert_int_equal(i8042_read(&k, PORT_I8042_DATA), I8042_CONFIG_AUX_OFF);
    i8042_write(&k, PORT_I8042_CMD, I8042_CMD_ENABLE_AUX);
    i8042_write(&k, PORT_I8042_CMD, I8042_CMD_KBD_TEST);
    assert_true(i8042_read(&k, PORT_I8042_CMD) & I8042_STATUS_OBF);
    assert_int_equal(i8042_read(&k, PORT_I8042_DATA), I8042_KBD_TEST_OK);
    i8042_write(&k, PORT_I8042_CMD, I8042_CMD_READ_CONFIG);
    assert_int_equal(i8042_read(&k, PORT_I8042_DATA), 0);
    /* Linux warns "Keylock active" unless the status says the keyboard is not inhibited. */
    assert_true(i8042_read(&k, PORT_I8042_CMD) & I8042_STATUS_UNLOCKED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_and_self_test),
        cmocka_unit_test(test_port_enables_and_interface_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
