/* Test guest "fault": a triple fault must reset the machine (or stop it with --no-reboot),
 * never hang ember. First boot: leave a marker in RAM outside the image, then fault with an
 * empty IDT (#UD -> #GP -> #DF -> shutdown). After the reset ember reloads the image; the
 * marker survives, and the guest exits with 0. */
#include "guest.h"

#define MARKER_ADDR 0x300000UL /* 3 MiB: RAM, above the image, below the default RAM size */
#define MARKER      0xFA017ED0C0FFEE00ULL

int guest_main(void)
{
    volatile uint64_t *marker = (volatile uint64_t *)MARKER_ADDR;
    if (*marker == MARKER) {
        *marker = 0;
        puts_serial("fault: machine was reset after the triple fault\n");
        return report("fault");
    }
    *marker = MARKER;
    puts_serial("fault: triple-faulting now\n");
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) empty = {0, 0};
    __asm__ volatile("lidt %0; ud2" : : "m"(empty));
    puts_serial("fault: still running after the fault\n");
    return 1;
}
