/* Test guest "hello": prints a greeting on COM1 and exits with code 0. */
#include "guest.h"

int guest_main(void)
{
    puts_serial("Hello from an ember test guest!\n");
    return 0;
}
