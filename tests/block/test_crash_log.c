/* Unit tests of the crash test's flush log (crash_log.h): the verifier may only count flushes
 * the round under test completed. The old log format (a bare op number) let a round whose
 * writer was killed before it replaced the log inherit the previous round's flushes, which
 * the verifier then reported as ~98% of the disk "lost" (the issue 5 failure). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "crash_log.h"

static long long parse(const char *s, uint64_t seed)
{
    return crash_log_parse(s, strlen(s), seed);
}

static void test_last_record_of_the_round_counts(void **state)
{
    assert_int_equal(parse("", 3), -1);
    assert_int_equal(parse("3 7\n", 3), 7);
    assert_int_equal(parse("3 7\n3 15\n3 23\n", 3), 23);
}

static void test_previous_round_log_is_ignored(void **state)
{
    /* Round 8 flushed 855 ops; round 9's writer died before it replaced the log. */
    assert_int_equal(parse("8 7\n8 15\n8 855\n", 9), -1);
    /* Records of an older round in front of the new round's (a log that was not truncated). */
    assert_int_equal(parse("8 855\n9 7\n", 9), 7);
    assert_int_equal(parse("9 7\n8 855\n", 9), 7);
}

static void test_old_format_and_torn_lines_are_ignored(void **state)
{
    assert_int_equal(parse("855\n", 9), -1);        /* old format: no seed */
    assert_int_equal(parse("9 7\n9 15", 9), 7);     /* the last line was cut by the kill */
    assert_int_equal(parse("9 7\n9 1x\n", 9), 7);   /* garbage */
    assert_int_equal(parse("9 7\n9 15 3\n", 9), 7); /* trailing fields */
    assert_int_equal(parse("9 7\n\n", 9), 7);
}

static void test_file_round_trip(void **state)
{
    char path[] = "/tmp/ember-crashlog-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    fd = open(path, O_WRONLY | O_TRUNC | O_APPEND);
    assert_true(fd >= 0);
    for (uint64_t i = 7; i < 8000; i += 8)
        assert_int_equal(crash_log_append(fd, 42, i), 0);
    close(fd);
    assert_int_equal(crash_log_last(path, 42), 7999);
    assert_int_equal(crash_log_last(path, 43), -1);
    unlink(path);
    assert_int_equal(crash_log_last(path, 42), -1); /* no log: nothing flushed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_last_record_of_the_round_counts),
        cmocka_unit_test(test_previous_round_log_is_ignored),
        cmocka_unit_test(test_old_format_and_torn_lines_are_ignored),
        cmocka_unit_test(test_file_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
