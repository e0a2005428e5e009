/* Host side of a console: stdio (raw mode on a terminal, Ctrl-A x quits), an output file, or a
 * Unix socket that one client at a time attaches to. Devices write bytes to it and receive
 * input bytes through a callback on the VM's event loop thread. */
#ifndef EMBER_DEVICES_CHARDEV_H
#define EMBER_DEVICES_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <termios.h>

struct vm;

enum chardev_kind { CHARDEV_NONE, CHARDEV_STDIO, CHARDEV_FILE, CHARDEV_SOCKET };

/* Input callback: returns how many of the n bytes it took; the rest stay buffered. */
typedef size_t (*chardev_input_fn)(void *opaque, const uint8_t *buf, size_t n);

#define CHARDEV_BUF 4096

struct chardev {
    enum chardev_kind kind;
    struct vm *vm;
    int in_fd;      /* -1 if no input */
    int out_fd;     /* -1 if output is discarded */
    int listen_fd;  /* socket: the listening socket */
    char path[108]; /* socket path, unlinked at close */
    bool watching_input;
    bool raw_tty; /* stdin put into raw mode; restore at close */
    struct termios saved_tty;
    bool escape_pending; /* saw Ctrl-A on a terminal */
    chardev_input_fn on_input;
    void *opaque;
    pthread_mutex_t lock;         /* guards pending/npending; taken before the device's lock */
    uint8_t pending[CHARDEV_BUF]; /* input not yet taken by the device */
    size_t npending;
};

/* spec: "stdio", "file:PATH", "socket:PATH", "none". Errors are logged; returns 0 or -errno. */
int chardev_open(struct chardev *cd, struct vm *vm, const char *spec);
void chardev_close(struct chardev *cd);
/* Starts delivering input to fn on the event loop thread. */
int chardev_set_input(struct chardev *cd, chardev_input_fn fn, void *opaque);
/* The device has room again: deliver buffered input now (any thread; the caller must not hold
 * the lock its input callback takes). */
void chardev_accept_input(struct chardev *cd);
/* Writes all bytes (blocking); output errors are logged once and the output is dropped. */
void chardev_write(struct chardev *cd, const uint8_t *buf, size_t n);

#endif
