/* Unit tests of the split virtqueue parser against crafted rings in fake guest RAM: valid
 * chains, indirect tables, and every hostile case (loops, out-of-RAM buffers, out-of-range
 * indexes, absurd lengths, nested or malformed indirect tables, bad ring layouts). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/memmap.h"
#include "ring_builder.h"

#define RAM       (4 * MiB)
#define QSZ       16
#define RING_BASE 0x10000
#define BUF       0x100000
#define IND       0x200000

struct fixture {
    struct guest_mem gm;
    struct ring r;
    struct virtq vq;
    struct virtq_elem elem;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(guest_mem_init(&f->gm, RAM), 0);
    ring_layout(&f->r, &f->gm, QSZ, RING_BASE);
    virtq_init(&f->vq, &f->gm, 64);
    assert_int_equal(virtq_activate(&f->vq, QSZ, f->r.desc, f->r.avail, f->r.used, false, true), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    guest_mem_destroy(&f->gm);
    free(f);
    return 0;
}

static void expect_error(struct fixture *f, enum virtq_error e)
{
    assert_int_equal(virtq_pop(&f->vq, &f->elem), -EINVAL);
    assert_int_equal(f->vq.last_error, e);
}

static void test_simple_chain(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 0); /* nothing available */
    ring_set_desc(&f->r, 3, BUF, 16, VIRTQ_DESC_F_NEXT, 5);
    ring_set_desc(&f->r, 5, BUF + 0x1000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 7);
    ring_set_desc(&f->r, 7, BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->r, 3);
    assert_true(virtq_has_avail(&f->vq));
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(f->elem.head, 3);
    assert_int_equal(f->elem.n_out, 1);
    assert_int_equal(f->elem.n_in, 2);
    assert_int_equal(f->elem.out_len, 16);
    assert_int_equal(f->elem.in_len, 513);
    assert_ptr_equal(f->elem.iov[0].iov_base, guest_mem_ptr(&f->gm, BUF, 16));
    assert_ptr_equal(f->elem.iov[2].iov_base, guest_mem_ptr(&f->gm, BUF + 0x2000, 1));
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 0);

    virtq_push(&f->vq, 3, 513);
    assert_int_equal(ring_used_idx(&f->r), 1);
    uint32_t id, len;
    ring_used_elem(&f->r, 0, &id, &len);
    assert_int_equal(id, 3);
    assert_int_equal(len, 513);
    assert_true(virtq_should_notify(&f->vq));
}

static void test_loop_two(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
    ring_set_desc(&f->r, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_LOOP);
}

static void test_self_loop(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 2, BUF, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    ring_publish(&f->r, 2);
    expect_error(f, VIRTQ_ERR_LOOP);
}

static void test_full_length_chain_ok(void **state)
{
    struct fixture *f = *state;
    for (uint16_t i = 0; i < QSZ; i++)
        ring_set_desc(&f->r, i, BUF + 64 * i, 64, i + 1 < QSZ ? VIRTQ_DESC_F_NEXT : 0,
                      (uint16_t)(i + 1));
    ring_publish(&f->r, 0);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(f->elem.n_out, QSZ);
    assert_int_equal(f->elem.out_len, 64 * QSZ);
}

static void test_buffer_outside_ram(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 0, RAM - 8, 16, 0, 0); /* straddles the end of RAM */
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_NOT_RAM);
}

static void test_buffer_in_mmio_hole(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 0, MEMMAP_LAPIC_BASE, 4, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_NOT_RAM);
}

static void test_address_wraps(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 0, UINT64_MAX - 3, 16, 0, 0);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_NOT_RAM);
}

static void test_absurd_length(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 0, BUF, 0xFFFFFFFFu, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_NOT_RAM);
}

static void test_head_out_of_range(void **state)
{
    struct fixture *f = *state;
    ring_publish(&f->r, QSZ);
    expect_error(f, VIRTQ_ERR_HEAD_RANGE);
}

static void test_next_out_of_range(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 0xFFFF);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_NEXT_RANGE);
}

static void test_avail_idx_jump(void **state)
{
    struct fixture *f = *state;
    ring_set_avail_idx(&f->r, QSZ + 1); /* claims more entries than the ring holds */
    expect_error(f, VIRTQ_ERR_AVAIL_IDX);
}

static void test_readable_after_writable(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 0, BUF, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    ring_set_desc(&f->r, 1, BUF + 8, 8, 0, 0);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_ORDER);
}

static void test_zero_length_descriptor_skipped(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 0, 0xDEAD0000DEAD0000ULL, 0, VIRTQ_DESC_F_NEXT, 1);
    ring_set_desc(&f->r, 1, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->r, 0);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(f->elem.n_out, 0);
    assert_int_equal(f->elem.n_in, 1);
}

static void test_indirect_ok(void **state)
{
    struct fixture *f = *state;
    ring_set_desc_at(&f->gm, IND, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
    ring_set_desc_at(&f->gm, IND, 2, BUF + 0x100, 100, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    ring_set_desc_at(&f->gm, IND, 1, BUF + 0x200, 1, VIRTQ_DESC_F_WRITE, 0);
    ring_set_desc(&f->r, 4, IND, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
    ring_publish(&f->r, 4);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(f->elem.head, 4);
    assert_int_equal(f->elem.n_out, 1);
    assert_int_equal(f->elem.n_in, 2);
    assert_int_equal(f->elem.in_len, 101);
}

static void test_indirect_not_negotiated(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(virtq_activate(&f->vq, QSZ, f->r.desc, f->r.avail, f->r.used, false, false),
                     0);
    ring_set_desc_at(&f->gm, IND, 0, BUF, 16, 0, 0);
    ring_set_desc(&f->r, 0, IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_INDIRECT);
}

static void test_indirect_in_indirect(void **state)
{
    struct fixture *f = *state;
    ring_set_desc_at(&f->gm, IND, 0, IND + 0x1000, 16, VIRTQ_DESC_F_INDIRECT, 0);
    ring_set_desc_at(&f->gm, IND + 0x1000, 0, BUF, 16, 0, 0);
    ring_set_desc(&f->r, 0, IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_INDIRECT);
}

static void test_indirect_with_next(void **state)
{
    struct fixture *f = *state;
    ring_set_desc_at(&f->gm, IND, 0, BUF, 16, 0, 0);
    ring_set_desc(&f->r, 0, IND, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_INDIRECT);
}

static void test_indirect_bad_length(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 0, IND, 24, VIRTQ_DESC_F_INDIRECT, 0);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_INDIRECT);
    /* A zero-length table is just as malformed. */
    assert_int_equal(virtq_activate(&f->vq, QSZ, f->r.desc, f->r.avail, f->r.used, false, true), 0);
    ring_set_desc(&f->r, 0, IND, 0, VIRTQ_DESC_F_INDIRECT, 0);
    expect_error(f, VIRTQ_ERR_INDIRECT);
}

static void test_indirect_table_outside_ram(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 0, RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_NOT_RAM);
}

static void test_indirect_loop(void **state)
{
    struct fixture *f = *state;
    ring_set_desc_at(&f->gm, IND, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
    ring_set_desc_at(&f->gm, IND, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);
    ring_set_desc(&f->r, 0, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_LOOP);
}

static void test_indirect_next_outside_table(void **state)
{
    struct fixture *f = *state;
    ring_set_desc_at(&f->gm, IND, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 2); /* table has 2 entries */
    ring_set_desc(&f->r, 0, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_NEXT_RANGE);
}

static void test_indirect_table_too_big(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 0, IND, 16 * (VIRTQ_MAX_SEGS + 1), VIRTQ_DESC_F_INDIRECT, 0);
    ring_publish(&f->r, 0);
    expect_error(f, VIRTQ_ERR_TOO_LONG);
}

static void test_indirect_max_table_ok(void **state)
{
    struct fixture *f = *state;
    for (uint16_t i = 0; i < VIRTQ_MAX_SEGS; i++)
        ring_set_desc_at(&f->gm, IND, i, BUF + 16 * i, 16,
                         i + 1 < VIRTQ_MAX_SEGS ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    ring_set_desc(&f->r, 0, IND, 16 * VIRTQ_MAX_SEGS, VIRTQ_DESC_F_INDIRECT, 0);
    ring_publish(&f->r, 0);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(f->elem.n_out, VIRTQ_MAX_SEGS);
}

static void test_activate_rejects_bad_layouts(void **state)
{
    struct fixture *f = *state;
    struct virtq *vq = &f->vq;
    assert_int_equal(virtq_activate(vq, 0, f->r.desc, f->r.avail, f->r.used, 0, 0), -EINVAL);
    assert_int_equal(virtq_activate(vq, 24, f->r.desc, f->r.avail, f->r.used, 0, 0), -EINVAL);
    assert_int_equal(virtq_activate(vq, 128, f->r.desc, f->r.avail, f->r.used, 0, 0), -EINVAL);
    assert_int_equal(virtq_activate(vq, QSZ, f->r.desc + 8, f->r.avail, f->r.used, 0, 0), -EINVAL);
    assert_int_equal(virtq_activate(vq, QSZ, f->r.desc, f->r.avail + 1, f->r.used, 0, 0), -EINVAL);
    assert_int_equal(virtq_activate(vq, QSZ, f->r.desc, f->r.avail, f->r.used + 2, 0, 0), -EINVAL);
    assert_int_equal(virtq_activate(vq, QSZ, RAM - 64, f->r.avail, f->r.used, 0, 0), -EINVAL);
    assert_int_equal(virtq_activate(vq, QSZ, f->r.desc, MEMMAP_PCI_MMIO_BASE, f->r.used, 0, 0),
                     -EINVAL);
    assert_int_equal(virtq_activate(vq, QSZ, f->r.desc, f->r.avail, UINT64_MAX - 3, 0, 0), -EINVAL);
    assert_false(vq->ready);
    assert_int_equal(virtq_pop(vq, &f->elem), 0); /* an unready queue yields nothing */
}

static void test_event_idx(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(virtq_activate(&f->vq, QSZ, f->r.desc, f->r.avail, f->r.used, true, false), 0);
    for (uint16_t i = 0; i < 4; i++) {
        ring_set_desc(&f->r, i, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
        ring_publish(&f->r, i);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(ring_avail_event(&f->r), 4); /* device asks to hear about entry 4 */

    ring_set_used_event(&f->r, 2); /* driver wants an interrupt once used idx passes 2 */
    virtq_push(&f->vq, 0, 8);
    assert_true(virtq_should_notify(&f->vq)); /* first notification is always sent */
    virtq_push(&f->vq, 1, 8);
    assert_false(virtq_should_notify(&f->vq)); /* used idx 2: event 2 not yet crossed */
    virtq_push(&f->vq, 2, 8);
    assert_true(virtq_should_notify(&f->vq)); /* used idx 3 crosses used_event 2 */
    virtq_push(&f->vq, 3, 8);
    assert_false(virtq_should_notify(&f->vq));
}

static void test_event_idx_empty_pop_publishes(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(virtq_activate(&f->vq, QSZ, f->r.desc, f->r.avail, f->r.used, true, false), 0);
    uint16_t junk = 77;
    guest_mem_write(&f->gm, f->r.used + 4 + 8 * QSZ, &junk, 2);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 0);
    assert_int_equal(ring_avail_event(&f->r), 0); /* "notify me at entry 0" */
}

static void test_no_interrupt_flag(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 0, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
    ring_publish(&f->r, 0);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    virtq_push(&f->vq, 0, 0);
    ring_set_avail_flags(&f->r, VIRTQ_AVAIL_F_NO_INTERRUPT);
    assert_false(virtq_should_notify(&f->vq));
    ring_set_avail_flags(&f->r, 0);
    assert_true(virtq_should_notify(&f->vq));
}

static void test_ring_wraparound(void **state)
{
    struct fixture *f = *state;
    ring_set_desc(&f->r, 1, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
    for (unsigned round = 0; round < 70000; round++) {
        ring_publish(&f->r, 1);
        assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
        virtq_push(&f->vq, 1, 4);
    }
    assert_int_equal(ring_used_idx(&f->r), (uint16_t)70000);
}

/* Several used entries become visible with one used->idx store, and only then. */
static void test_push_nopublish_then_publish(void **state)
{
    struct fixture *f = *state;
    for (uint16_t i = 0; i < 3; i++) {
        ring_set_desc(&f->r, i, BUF + 0x100 * i, 64, VIRTQ_DESC_F_WRITE, 0);
        ring_publish(&f->r, i);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    virtq_push_nopublish(&f->vq, 0, 64);
    virtq_push_nopublish(&f->vq, 1, 64);
    virtq_push_nopublish(&f->vq, 2, 10);
    assert_int_equal(ring_used_idx(&f->r), 0); /* nothing visible yet */
    uint32_t id, len;
    ring_used_elem(&f->r, 2, &id, &len);
    assert_int_equal(id, 2);
    assert_int_equal(len, 10);
    virtq_publish(&f->vq);
    assert_int_equal(ring_used_idx(&f->r), 3);
    assert_true(virtq_should_notify(&f->vq));
    /* virtq_push still publishes at once. */
    ring_publish(&f->r, 5);
    ring_set_desc(&f->r, 5, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    virtq_push(&f->vq, 5, 8);
    assert_int_equal(ring_used_idx(&f->r), 4);
}

/* Rewound chains are offered again in order; avail_event is not moved back (with EVENT_IDX
 * the driver must still notify for its next buffer). */
static void test_rewind(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(virtq_activate(&f->vq, QSZ, f->r.desc, f->r.avail, f->r.used, true, false), 0);
    for (uint16_t i = 0; i < 3; i++) {
        ring_set_desc(&f->r, i, BUF + 0x100 * i, 64, VIRTQ_DESC_F_WRITE, 0);
        ring_publish(&f->r, (uint16_t)(2 - i));
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 0);
    assert_int_equal(ring_avail_event(&f->r), 3);
    virtq_rewind(&f->vq, 2);
    assert_int_equal(ring_avail_event(&f->r), 3);
    assert_true(virtq_has_avail(&f->vq));
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(f->elem.head, 1); /* avail entry 1 again */
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(f->elem.head, 0);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 0);
    assert_int_equal(ring_used_idx(&f->r), 0);
    /* Across the 16-bit wrap of the avail index. */
    f->vq.last_avail = 1;
    virtq_rewind(&f->vq, 3);
    assert_int_equal(f->vq.last_avail, 0xFFFE);
}

static void test_iov_copy_helpers(void **state)
{
    (void)state;
    uint8_t a[3] = {0}, b[5] = {0};
    struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
    const uint8_t src[6] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(virtq_buf_to_iov(iov, 2, 2, src, sizeof(src)), 6);
    assert_int_equal(a[2], 1);
    assert_int_equal(b[4], 6);
    uint8_t out[10];
    assert_int_equal(virtq_iov_to_buf(iov, 2, 2, out, sizeof(out)), 6);
    assert_memory_equal(out, src, 6);
    assert_int_equal(virtq_iov_to_buf(iov, 2, 100, out, sizeof(out)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_simple_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_two, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_length_chain_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_in_mmio_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_address_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absurd_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avail_idx_jump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable_after_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_length_descriptor_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_not_negotiated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_in_indirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_with_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_bad_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_table_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_next_outside_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_table_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_max_table_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activate_rejects_bad_layouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_idx_empty_pop_publishes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_wraparound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_nopublish_then_publish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iov_copy_helpers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
