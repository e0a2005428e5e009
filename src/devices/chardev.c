/* Console back ends: stdio (raw terminal with a Ctrl-A escape), file, Unix socket. */
#include "devices/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/vm.h"
#include "util/log.h"

#define ESCAPE_CHAR 0x01 /* Ctrl-A */

static int open_stdio(struct chardev *cd)
{
    cd->in_fd = STDIN_FILENO;
    cd->out_fd = STDOUT_FILENO;
    if (!isatty(STDIN_FILENO))
        return 0;
    if (tcgetattr(STDIN_FILENO, &cd->saved_tty) < 0) {
        int e = errno;
        log_error("reading terminal settings: %s", strerror(e));
        return -e;
    }
    struct termios raw = cd->saved_tty;
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR; /* keep newline translation on output */
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) {
        int e = errno;
        log_error("putting the terminal into raw mode: %s", strerror(e));
        return -e;
    }
    cd->raw_tty = true;
    return 0;
}

static int open_file(struct chardev *cd, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        log_error("console file %s: %s", path, strerror(e));
        return -e;
    }
    cd->out_fd = fd;
    return 0;
}

static void socket_accept(void *opaque, uint32_t events);

static int open_socket(struct chardev *cd, const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        log_error("console socket path %s is too long (at most %zu bytes)", path,
                  sizeof(addr.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    strcpy(addr.sun_path, path);
    strcpy(cd->path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        int e = errno;
        log_error("console socket: %s", strerror(e));
        return -e;
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0) {
        int e = errno;
        log_error("console socket %s: %s", path, strerror(e));
        close(fd);
        return -e;
    }
    cd->listen_fd = fd;
    int r = event_loop_add(&cd->vm->loop, fd, EPOLLIN, socket_accept, cd);
    if (r < 0) {
        log_error("console socket %s: %s", path, strerror(-r));
        close(fd);
        unlink(path);
        cd->listen_fd = -1;
    }
    return r;
}

int chardev_open(struct chardev *cd, struct vm *vm, const char *spec)
{
    memset(cd, 0, sizeof(*cd));
    cd->vm = vm;
    cd->in_fd = cd->out_fd = cd->listen_fd = -1;
    int r = pthread_mutex_init(&cd->lock, NULL);
    if (r != 0)
        return -r;
    if (strcmp(spec, "stdio") == 0) {
        cd->kind = CHARDEV_STDIO;
        return open_stdio(cd);
    }
    if (strcmp(spec, "none") == 0) {
        cd->kind = CHARDEV_NONE;
        return 0;
    }
    if (strncmp(spec, "file:", 5) == 0 && spec[5]) {
        cd->kind = CHARDEV_FILE;
        return open_file(cd, spec + 5);
    }
    if (strncmp(spec, "socket:", 7) == 0 && spec[7]) {
        cd->kind = CHARDEV_SOCKET;
        return open_socket(cd, spec + 7);
    }
    log_error("console '%s' is not one of stdio, none, file:PATH, socket:PATH", spec);
    return -EINVAL;
}

static void stop_watching(struct chardev *cd)
{
    if (cd->watching_input && cd->in_fd >= 0)
        event_loop_del(&cd->vm->loop, cd->in_fd);
    cd->watching_input = false;
}

void chardev_close(struct chardev *cd)
{
    stop_watching(cd);
    if (cd->raw_tty && tcsetattr(STDIN_FILENO, TCSANOW, &cd->saved_tty) < 0)
        log_warn("restoring terminal settings: %s", strerror(errno));
    if (cd->kind == CHARDEV_SOCKET) {
        if (cd->in_fd >= 0)
            close(cd->in_fd);
        if (cd->listen_fd >= 0) {
            event_loop_del(&cd->vm->loop, cd->listen_fd);
            close(cd->listen_fd);
            unlink(cd->path);
        }
    } else if (cd->kind == CHARDEV_FILE && cd->out_fd >= 0) {
        close(cd->out_fd);
    }
    cd->in_fd = cd->out_fd = cd->listen_fd = -1;
    pthread_mutex_destroy(&cd->lock);
}

/* Terminal escape: Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A. Returns bytes kept in buf. */
static size_t filter_escape(struct chardev *cd, uint8_t *buf, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = buf[i];
        if (cd->escape_pending) {
            cd->escape_pending = false;
            if (c == 'x' || c == 'X') {
                log_info("console escape: stopping the VM");
                vm_request_stop(cd->vm, VM_STOP_USER, 0);
                continue;
            }
            if (c != ESCAPE_CHAR)
                continue;
        } else if (c == ESCAPE_CHAR) {
            cd->escape_pending = true;
            continue;
        }
        buf[out++] = c;
    }
    return out;
}

/* Hands buffered input to the device. Called with cd->lock held. */
static void deliver(struct chardev *cd)
{
    while (cd->npending > 0) {
        size_t took = cd->on_input(cd->opaque, cd->pending, cd->npending);
        if (took == 0)
            return;
        memmove(cd->pending, cd->pending + took, cd->npending - took);
        cd->npending -= took;
    }
}

static void on_readable(void *opaque, uint32_t events)
{
    struct chardev *cd = opaque;
    pthread_mutex_lock(&cd->lock);
    if (cd->npending == sizeof(cd->pending)) {
        deliver(cd);
        if (cd->npending == sizeof(cd->pending)) {
            /* The device is full: stop polling until it takes input (chardev_accept_input). */
            stop_watching(cd);
            pthread_mutex_unlock(&cd->lock);
            return;
        }
    }
    ssize_t n = read(cd->in_fd, cd->pending + cd->npending, sizeof(cd->pending) - cd->npending);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            pthread_mutex_unlock(&cd->lock);
            return;
        }
        /* End of input (or a hard error): stop watching; a socket client may come again. */
        stop_watching(cd);
        if (cd->kind == CHARDEV_SOCKET) {
            close(cd->in_fd);
            cd->in_fd = cd->out_fd = -1;
        }
        pthread_mutex_unlock(&cd->lock);
        return;
    }
    size_t got = (size_t)n;
    if (cd->raw_tty)
        got = filter_escape(cd, cd->pending + cd->npending, got);
    cd->npending += got;
    deliver(cd);
    pthread_mutex_unlock(&cd->lock);
}

static int watch_input(struct chardev *cd)
{
    if (cd->in_fd < 0 || !cd->on_input || cd->watching_input)
        return 0;
    int r = event_loop_add(&cd->vm->loop, cd->in_fd, EPOLLIN, on_readable, cd);
    if (r == -EPERM)
        return 0; /* a regular file or /dev/null on stdin: no input to poll */
    if (r < 0) {
        log_error("console input (fd %d): %s", cd->in_fd, strerror(-r));
        return r;
    }
    cd->watching_input = true;
    return 0;
}

static void socket_accept(void *opaque, uint32_t events)
{
    struct chardev *cd = opaque;
    int fd = accept4(cd->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR)
            log_warn("console socket accept: %s", strerror(errno));
        return;
    }
    pthread_mutex_lock(&cd->lock);
    if (cd->in_fd >= 0) {
        /* One client at a time: the newcomer is turned away. */
        pthread_mutex_unlock(&cd->lock);
        close(fd);
        return;
    }
    cd->in_fd = cd->out_fd = fd;
    watch_input(cd);
    pthread_mutex_unlock(&cd->lock);
}

int chardev_set_input(struct chardev *cd, chardev_input_fn fn, void *opaque)
{
    pthread_mutex_lock(&cd->lock);
    cd->on_input = fn;
    cd->opaque = opaque;
    int r = watch_input(cd);
    pthread_mutex_unlock(&cd->lock);
    return r;
}

void chardev_accept_input(struct chardev *cd)
{
    pthread_mutex_lock(&cd->lock);
    if (cd->npending > 0 && cd->on_input)
        deliver(cd);
    if (cd->npending < sizeof(cd->pending))
        watch_input(cd);
    pthread_mutex_unlock(&cd->lock);
}

void chardev_write(struct chardev *cd, const uint8_t *buf, size_t n)
{
    pthread_mutex_lock(&cd->lock);
    while (cd->out_fd >= 0 && n > 0) {
        ssize_t w = write(cd->out_fd, buf, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || cd->kind == CHARDEV_SOCKET)
                break; /* a slow or departed socket client loses output; the vCPU never stalls */
            log_warn("console output: %s; further output dropped", strerror(errno));
            cd->out_fd = -1;
            break;
        }
        buf += w;
        n -= (size_t)w;
    }
    pthread_mutex_unlock(&cd->lock);
}
