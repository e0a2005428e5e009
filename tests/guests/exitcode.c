/* Test guest "exitcode": exits through the debug-exit port with code 42; ember must exit
 * with exactly that status. */
#include "guest.h"

int guest_main(void)
{
    puts_serial("exitcode: exiting with 42\n");
    return 42;
}
