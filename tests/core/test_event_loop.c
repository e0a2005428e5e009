/* Unit tests for the epoll event loop: dispatch, removal (also from inside a callback), wake. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/event_loop.h"

struct counter {
    int fd;
    int calls;
    struct event_loop *loop;
    bool remove_self;
};

static void on_event(void *opaque, uint32_t events)
{
    struct counter *c = opaque;
    uint64_t v;
    assert_int_equal(read(c->fd, &v, sizeof(v)), sizeof(v));
    c->calls++;
    if (c->remove_self)
        assert_int_equal(event_loop_del(c->loop, c->fd), 0);
}

static void test_dispatch(void **state)
{
    struct event_loop loop;
    assert_int_equal(event_loop_init(&loop), 0);
    struct counter c = {.fd = eventfd(0, EFD_NONBLOCK), .loop = &loop};
    assert_true(c.fd >= 0);
    assert_int_equal(event_loop_add(&loop, c.fd, EPOLLIN, on_event, &c), 0);
    assert_int_equal(event_loop_add(&loop, c.fd, EPOLLIN, on_event, &c), -EEXIST);
    assert_int_equal(event_loop_run_once(&loop, 0), 0); /* nothing ready */
    uint64_t one = 1;
    assert_int_equal(write(c.fd, &one, sizeof(one)), sizeof(one));
    assert_int_equal(event_loop_run_once(&loop, 1000), 1);
    assert_int_equal(c.calls, 1);
    assert_int_equal(event_loop_del(&loop, c.fd), 0);
    assert_int_equal(event_loop_del(&loop, c.fd), -ENOENT);
    assert_int_equal(write(c.fd, &one, sizeof(one)), sizeof(one));
    assert_int_equal(event_loop_run_once(&loop, 0), 0);
    assert_int_equal(c.calls, 1);
    close(c.fd);
    event_loop_destroy(&loop);
}

static void test_remove_inside_callback(void **state)
{
    struct event_loop loop;
    assert_int_equal(event_loop_init(&loop), 0);
    struct counter c = {.fd = eventfd(0, EFD_NONBLOCK), .loop = &loop, .remove_self = true};
    assert_int_equal(event_loop_add(&loop, c.fd, EPOLLIN, on_event, &c), 0);
    uint64_t one = 1;
    assert_int_equal(write(c.fd, &one, sizeof(one)), sizeof(one));
    assert_int_equal(event_loop_run_once(&loop, 1000), 1);
    assert_int_equal(write(c.fd, &one, sizeof(one)), sizeof(one));
    assert_int_equal(event_loop_run_once(&loop, 0), 0);
    assert_int_equal(c.calls, 1);
    /* The fd can be watched again after removal. */
    c.remove_self = false;
    assert_int_equal(event_loop_add(&loop, c.fd, EPOLLIN, on_event, &c), 0);
    assert_int_equal(event_loop_run_once(&loop, 1000), 1);
    assert_int_equal(c.calls, 2);
    close(c.fd);
    event_loop_destroy(&loop);
}

static void *waker(void *arg)
{
    usleep(20000);
    event_loop_wake(arg);
    return NULL;
}

static void test_wake_from_other_thread(void **state)
{
    struct event_loop loop;
    assert_int_equal(event_loop_init(&loop), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waker, &loop), 0);
    /* Would block forever without the wake-up. */
    assert_int_equal(event_loop_run_once(&loop, -1), 0);
    pthread_join(t, NULL);
    event_loop_destroy(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_remove_inside_callback),
        cmocka_unit_test(test_wake_from_other_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
