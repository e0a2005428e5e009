/* virtio-console (virtio 1.2 sec. 5.3) without multiport: receiveq0 carries host input to the
 * guest, transmitq0 guest output to the host; VIRTIO_CONSOLE_F_EMERG_WRITE lets early code
 * write a byte through the config space. Host I/O runs on the event-loop thread. */
#include "virtio/virtio_console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/vm.h"
#include "util/log.h"
#include "virtio/virtio.h"

#define CONSOLE_QUEUE_SIZE           64
#define CONSOLE_RX                   0
#define CONSOLE_TX                   1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2
#define CONSOLE_CFG_SIZE             12 /* cols u16, rows u16, max_nr_ports u32, emerg_wr u32 */
#define CONSOLE_CFG_EMERG_WR         8
#define CONSOLE_PENDING_MAX          4096
#define PCI_CLASS_COMM_OTHER         0x078000

struct virtio_console {
    struct virtio_dev vdev;
    int in_fd, out_fd;
    bool own_in, own_out; /* close at teardown */
    bool in_watched;      /* in_fd is on the event loop */
    bool in_eof;          /* input ended or failed: never watched again */
    int pty_slave_fd;     /* kept open so the master never sees a hang-up */
    char pty_path[64];
    uint8_t config[CONSOLE_CFG_SIZE];
    uint8_t pending[CONSOLE_PENDING_MAX]; /* host input not yet given to the guest */
    size_t pending_len;
    struct virtq_elem elem; /* scratch, under vdev.lock */
};

static void write_out(struct virtio_console *con, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = write(con->out_fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* XXX: a host side that does not read (full pty) loses guest output. */
            if (errno != EAGAIN)
                log_debug("virtio-console: output: %s", strerror(errno));
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

static void console_tx(struct virtio_console *con)
{
    struct virtio_dev *vdev = &con->vdev;
    struct virtq_elem *e = &con->elem;
    bool pushed = false;
    while (virtio_pop(vdev, CONSOLE_TX, e) > 0) {
        for (unsigned i = 0; i < e->n_out; i++)
            write_out(con, e->iov[i].iov_base, e->iov[i].iov_len);
        virtq_push(&vdev->queues[CONSOLE_TX].vq, e->head, 0);
        pushed = true;
    }
    if (pushed)
        virtio_notify_queue(vdev, CONSOLE_TX);
}

static void watch_input(struct virtio_console *con, bool on);

/* Moves pending host input into the guest's receive buffers. */
static void console_rx_flush(struct virtio_console *con)
{
    struct virtio_dev *vdev = &con->vdev;
    struct virtq_elem *e = &con->elem;
    bool pushed = false;
    while (con->pending_len && virtio_driver_ok(vdev)) {
        int rc = virtio_pop(vdev, CONSOLE_RX, e);
        if (rc <= 0)
            break;
        size_t n = virtq_buf_to_iov(&e->iov[e->n_out], e->n_in, 0, con->pending, con->pending_len);
        memmove(con->pending, con->pending + n, con->pending_len - n);
        con->pending_len -= n;
        virtq_push(&vdev->queues[CONSOLE_RX].vq, e->head, (uint32_t)n);
        pushed = true;
    }
    if (pushed)
        virtio_notify_queue(vdev, CONSOLE_RX);
    watch_input(con, con->pending_len < CONSOLE_PENDING_MAX);
}

static void input_cb(void *opaque, uint32_t events)
{
    struct virtio_console *con = opaque;
    pthread_mutex_lock(&con->vdev.lock);
    size_t room = CONSOLE_PENDING_MAX - con->pending_len;
    if (room) {
        ssize_t n = read(con->in_fd, con->pending + con->pending_len, room);
        if (n > 0) {
            con->pending_len += (size_t)n;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            /* End of input or a dead descriptor: stop watching it. */
            watch_input(con, false);
            con->in_eof = true;
        }
    }
    if (virtio_driver_ok(&con->vdev))
        console_rx_flush(con);
    else if (con->pending_len == CONSOLE_PENDING_MAX)
        watch_input(con, false); /* no driver yet: keep the input for later */
    pthread_mutex_unlock(&con->vdev.lock);
}

static void watch_input(struct virtio_console *con, bool on)
{
    if (con->in_fd < 0 || (on && con->in_eof) || on == con->in_watched)
        return;
    int rc = on ? event_loop_add(con->vdev.loop, con->in_fd, EPOLLIN, input_cb, con)
                : event_loop_del(con->vdev.loop, con->in_fd);
    if (rc < 0 && on) {
        log_warn("virtio-console: cannot watch input: %d", rc);
        return;
    }
    con->in_watched = on;
}

static void console_queue_notify(struct virtio_dev *vdev, unsigned q)
{
    struct virtio_console *con = vdev->opaque;
    if (q == CONSOLE_TX)
        console_tx(con);
    else
        console_rx_flush(con);
}

static void console_config_write(struct virtio_dev *vdev, unsigned off, unsigned size,
                                 uint64_t value)
{
    struct virtio_console *con = vdev->opaque;
    /* 5.3.4: emerg_wr is the only writable field; a write outputs one character. */
    if (off == CONSOLE_CFG_EMERG_WR && size == 4 &&
        virtio_has_feature(vdev, VIRTIO_CONSOLE_F_EMERG_WRITE)) {
        uint8_t c = (uint8_t)value;
        write_out(con, &c, 1);
    }
}

static void console_reset(struct virtio_dev *vdev)
{
    struct virtio_console *con = vdev->opaque;
    /* Input typed before the driver is ready is kept; resume watching if we stopped. */
    watch_input(con, con->pending_len < CONSOLE_PENDING_MAX);
}

static const struct virtio_dev_ops console_ops = {
    .queue_notify = console_queue_notify,
    .config_write = console_config_write,
    .reset = console_reset,
};

static void console_vm_reset(void *opaque)
{
    struct virtio_console *con = opaque;
    virtio_pci_reset(&con->vdev);
}

static void console_destroy(void *opaque)
{
    struct virtio_console *con = opaque;
    virtio_pci_teardown(&con->vdev);
    watch_input(con, false);
    if (con->own_in && con->in_fd >= 0)
        close(con->in_fd);
    if (con->own_out && con->out_fd >= 0 && con->out_fd != con->in_fd)
        close(con->out_fd);
    if (con->pty_slave_fd >= 0)
        close(con->pty_slave_fd);
    free(con);
}

static struct virtio_console *console_new(struct vm *vm, struct pci_host *host, int in_fd,
                                          int out_fd, bool own_in, bool own_out)
{
    struct virtio_console *con = calloc(1, sizeof(*con));
    if (!con) {
        log_error("virtio-console: out of memory");
        return NULL;
    }
    con->in_fd = in_fd;
    con->out_fd = out_fd;
    con->own_in = own_in;
    con->own_out = own_out;
    con->pty_slave_fd = -1;
    /* XXX: single port: no MULTIPORT, no console size (F_SIZE). */
    con->config[4] = 1; /* max_nr_ports = 1 (only meaningful with MULTIPORT) */
    struct virtio_dev_params p = {
        .name = "virtio-console",
        .device_id = VIRTIO_ID_CONSOLE,
        .pci_class = PCI_CLASS_COMM_OTHER,
        .features = VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE),
        .nqueues = 2,
        .queue_size = CONSOLE_QUEUE_SIZE,
        .config = con->config,
        .config_size = CONSOLE_CFG_SIZE,
        .ops = &console_ops,
        .opaque = con,
    };
    if (virtio_pci_init(&con->vdev, vm, host, &p) < 0) {
        free(con);
        return NULL;
    }
    pthread_mutex_lock(&con->vdev.lock);
    watch_input(con, true);
    pthread_mutex_unlock(&con->vdev.lock);
    struct vm_device d = {.name = "virtio-console",
                          .opaque = con,
                          .reset = console_vm_reset,
                          .destroy = console_destroy};
    if (vm_add_device(vm, &d) < 0) {
        log_error("virtio-console: cannot register with the VM");
        console_destroy(con);
        return NULL;
    }
    return con;
}

struct virtio_console *virtio_console_create_fds(struct vm *vm, struct pci_host *host, int in_fd,
                                                 int out_fd)
{
    if (out_fd < 0) {
        log_error("virtio-console: no output descriptor");
        return NULL;
    }
    return console_new(vm, host, in_fd, out_fd, false, false);
}

static int open_pty(char *path, size_t pathlen)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    if (grantpt(fd) < 0 || unlockpt(fd) < 0 || ptsname_r(fd, path, pathlen) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

struct virtio_console *virtio_console_create(struct vm *vm, struct pci_host *host, const char *opts)
{
    if (!opts || strcmp(opts, "stdio") == 0)
        return console_new(vm, host, STDIN_FILENO, STDOUT_FILENO, false, false);
    if (strncmp(opts, "file=", 5) == 0 && opts[5]) {
        int fd = open(opts + 5, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0) {
            log_error("virtio-console: cannot open '%s': %s", opts + 5, strerror(errno));
            return NULL;
        }
        struct virtio_console *con = console_new(vm, host, -1, fd, false, true);
        if (!con)
            close(fd);
        return con;
    }
    if (strcmp(opts, "pty") == 0) {
        char path[64];
        int fd = open_pty(path, sizeof(path));
        if (fd < 0) {
            log_error("virtio-console: cannot create a pseudo-terminal: %s", strerror(-fd));
            return NULL;
        }
        struct virtio_console *con = console_new(vm, host, fd, fd, true, true);
        if (!con) {
            close(fd);
            return NULL;
        }
        snprintf(con->pty_path, sizeof(con->pty_path), "%s", path);
        con->pty_slave_fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (con->pty_slave_fd < 0)
            log_warn("virtio-console: cannot hold %s open: %s", path, strerror(errno));
        log_info("virtio-console: hvc0 is on %s", path);
        return con;
    }
    log_error("virtio-console: bad options '%s' (expected stdio, file=PATH or pty)", opts);
    return NULL;
}

const char *virtio_console_pty_path(const struct virtio_console *con)
{
    return con->pty_path[0] ? con->pty_path : NULL;
}
