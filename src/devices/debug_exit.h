/* The debug-exit port: a guest (test guests above all) ends the VM with an exit code by
 * writing it to PORT_DEBUG_EXIT. ember then exits with exactly that value (0..255). */
#ifndef EMBER_DEVICES_DEBUG_EXIT_H
#define EMBER_DEVICES_DEBUG_EXIT_H

struct vm;

/* Claims PORT_DEBUG_EXIT (1 to 4 byte writes; the low byte is the exit code). 0 or -errno. */
int debug_exit_create(struct vm *vm);

#endif
