/*
 * test_log.c - the logger: level filtering, queue-id prefix, sanitising
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"

static char last_line[4096];
static int lines;

static void
capture(int level, const char *line, void *arg)
{
    (void)level;
    (void)arg;
    lines++;
    strncpy(last_line, line, sizeof(last_line) - 1);
}

static void
test_log_sanitize_neutralises_control_and_bad_utf8(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain text", "plain text"},
        {"a\r\nFake: line", "a\\x0d\\x0aFake: line"},
        {"tab\there", "tab\\x09here"},
        {"caf\xc3\xa9", "caf\xc3\xa9"}, /* valid UTF-8 kept */
        {"bad\xc3(", "bad\\xc3("},      /* truncated sequence */
        {"\xff\xfe", "\\xff\\xfe"},
        {"back\\slash", "back\\x5cslash"}, /* so \\x sequences cannot be forged */
        {"\x1b[31mred", "\\x1b[31mred"},
    };
    char buf[256];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(log_sanitize(cases[i].in, buf, sizeof(buf)), cases[i].out);
}

static void
test_log_sanitize_truncates_without_splitting_escapes(void **state)
{
    char buf[8];
    (void)state;
    log_sanitize("abc\r\n\r\n", buf, sizeof(buf));
    assert_string_equal(buf, "abc\\x0d"); /* the second escape does not fit whole */
    log_sanitize("abcd\r\n", buf, sizeof(buf));
    assert_string_equal(buf, "abcd"); /* never half an escape */
    log_sanitize("abcdefghijkl", buf, sizeof(buf));
    assert_string_equal(buf, "abcdefg");
}

static void
test_log_levels_filter_in_one_place_and_prefix_queue_id(void **state)
{
    (void)state;
    log_capture(capture, NULL);
    log_set_level(LOG_INFO);
    lines = 0;
    log_msg(LOG_DEBUG, "ABC123", "hidden");
    assert_int_equal(lines, 0);
    log_msg(LOG_INFO, "ABC123", "shown %d", 7);
    assert_int_equal(lines, 1);
    assert_string_equal(last_line, "ABC123: shown 7");
    log_msg(LOG_ERR, NULL, "no id");
    assert_string_equal(last_line, "no id");
    assert_int_equal(log_level_parse("warning"), LOG_WARNING);
    assert_int_equal(log_level_parse("loud"), -1);
    assert_int_equal(log_facility_parse("local3"), LOG_LOCAL3);
    log_capture(NULL, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_sanitize_neutralises_control_and_bad_utf8),
        cmocka_unit_test(test_log_sanitize_truncates_without_splitting_escapes),
        cmocka_unit_test(test_log_levels_filter_in_one_place_and_prefix_queue_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
