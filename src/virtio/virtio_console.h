/* virtio-console (virtio 1.2 sec. 5.3): a second console (hvc0 in Linux guests), single port,
 * connected to host file descriptors. */
#ifndef EMBER_VIRTIO_VIRTIO_CONSOLE_H
#define EMBER_VIRTIO_VIRTIO_CONSOLE_H

struct vm;
struct pci_host;
struct virtio_console;

/* opts: "stdio" (input from fd 0, output to fd 1), "file=PATH" (output appended to PATH, no
 * input), "pty" (a new pseudo-terminal; its path is logged at info level and available from
 * virtio_console_pty_path). Registered with vm_add_device. NULL on error (logged). */
struct virtio_console *virtio_console_create(struct vm *vm, struct pci_host *host,
                                             const char *opts);
/* The same over caller-owned descriptors (in_fd may be -1); the console does not close them. */
struct virtio_console *virtio_console_create_fds(struct vm *vm, struct pci_host *host, int in_fd,
                                                 int out_fd);
/* The slave side of a "pty" console, or NULL. */
const char *virtio_console_pty_path(const struct virtio_console *con);

#endif
