/*
 * test_log.c - the logger: level filtering, queue-id prefix, sanitising
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/log.h"

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

/* bytes that are not UTF-8 a terminal would show as written, and code points that are
 * valid but reorder or hide text: each invalid byte as \xNN, each such code point as \u{N} */
static void
test_log_sanitize_escapes_c1_overlong_surrogates_and_bidi(void **state)
{
    static const struct {
        const char *what, *in, *out;
    } cases[] = {
        {"C1 control U+0085 (NEL)",
         "a\xc2\x85"
         "b",
         "a\\u{85}b"},
        {"C1 control U+009B (CSI)",
         "\xc2\x9b"
         "31m",
         "\\u{9b}31m"},
        {"DEL", "a\x7f", "a\\x7f"},
        {"U+00A0 is printable", "\xc2\xa0", "\xc2\xa0"},
        {"overlong 2 bytes (C0 AF = '/')", "\xc0\xaf", "\\xc0\\xaf"},
        {"overlong 3 bytes (E0 80 AF)", "\xe0\x80\xaf", "\\xe0\\x80\\xaf"},
        {"overlong 4 bytes (F0 80 80 AF)", "\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"},
        {"shortest 3-byte form kept (U+0800)", "\xe0\xa0\x80", "\xe0\xa0\x80"},
        {"surrogate U+D800", "\xed\xa0\x80", "\\xed\\xa0\\x80"},
        {"surrogate U+DFFF", "\xed\xbf\xbf", "\\xed\\xbf\\xbf"},
        {"U+D7FF kept", "\xed\x9f\xbf", "\xed\x9f\xbf"},
        {"above U+10FFFF (F4 90 80 80)", "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},
        {"F5 lead byte", "\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"},
        {"U+10FFFF, the last code point, kept", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},
        {"truncated 3-byte sequence at the end", "x\xe2\x80", "x\\xe2\\x80"},
        {"truncated 4-byte sequence before ASCII",
         "\xf0\x9f\x98"
         "a",
         "\\xf0\\x9f\\x98a"},
        {"lone continuation byte", "\x80", "\\x80"},
        {"emoji kept", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
        {"LRM U+200E",
         "a\xe2\x80\x8e"
         "b",
         "a\\u{200e}b"},
        {"RLM U+200F", "\xe2\x80\x8f", "\\u{200f}"},
        {"ALM U+061C", "\xd8\x9c", "\\u{61c}"},
        {"LRE U+202A", "\xe2\x80\xaa", "\\u{202a}"},
        {"RLO U+202E (reverses the rest of the line)",
         "evil\xe2\x80\xae"
         "gpj.exe",
         "evil\\u{202e}gpj.exe"},
        {"LRI U+2066", "\xe2\x81\xa6", "\\u{2066}"},
        {"PDI U+2069", "\xe2\x81\xa9", "\\u{2069}"},
        {"line separator U+2028",
         "a\xe2\x80\xa8"
         "b",
         "a\\u{2028}b"},
        {"paragraph separator U+2029", "\xe2\x80\xa9", "\\u{2029}"},
        {"U+2065 kept (unassigned, not bidi)", "\xe2\x81\xa5", "\xe2\x81\xa5"},
        {"U+2010 hyphen kept", "\xe2\x80\x90", "\xe2\x80\x90"},
    };
    char buf[256];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        log_sanitize(cases[i].in, buf, sizeof(buf));
        if (strcmp(buf, cases[i].out) != 0)
            fail_msg("%s: got \"%s\", expected \"%s\"", cases[i].what, buf, cases[i].out);
    }
}

/* whatever the input, the output is printable ASCII, escapes and well-formed UTF-8 of
 * shown code points only (fixed seed; the bytes that matter most often) */
static void
test_log_sanitize_output_is_always_clean(void **state)
{
    static const unsigned char alphabet[] = {'a',  '\\', '\r', 0x1b, 0x7f, 0x80, 0x85, 0x9f,
                                             0xa0, 0xbf, 0xc0, 0xc2, 0xd8, 0x9c, 0xe0, 0xe2,
                                             0x80, 0x8e, 0xae, 0xa8, 0x81, 0xa6, 0xed, 0xa0,
                                             0xf0, 0xf4, 0x8f, 0x90, 0xf5, 0xff, 'x',  '{'};
    uint32_t seed = 12345;
    (void)state;
    for (int n = 0; n < 20000; n++) {
        unsigned char in[24];
        char out[40];
        size_t len, outlen;

        seed = seed * 1103515245u + 12345u;
        len = (seed >> 16) % (sizeof(in) - 1);
        for (size_t k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            in[k] = alphabet[(seed >> 16) % sizeof(alphabet)];
        }
        in[len] = '\0';
        outlen = 1 + (seed >> 8) % sizeof(out);
        log_sanitize((const char *)in, out, outlen);
        assert_true(strlen(out) < outlen);
        for (const unsigned char *p = (const unsigned char *)out; *p;) {
            uint32_t cp = 0;
            size_t k;

            if (p[0] == '\\') {
                assert_true(p[1] == 'x' || (p[1] == 'u' && p[2] == '{'));
                p += 2;
            } else if (p[0] >= 0x80) {
                /* a shown character: 2..4 bytes decoding to a visible code point */
                k = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
                for (size_t j = 1; j < k; j++)
                    assert_int_equal(p[j] & 0xc0, 0x80);
                cp = k == 2 ? (p[0] & 0x1fu) : k == 3 ? (p[0] & 0x0fu) : (p[0] & 0x07u);
                for (size_t j = 1; j < k; j++)
                    cp = (cp << 6) | (p[j] & 0x3fu);
                assert_true(cp >= 0xa0 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff));
                assert_true(k == (cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u)); /* not overlong */
                assert_false(cp == 0x61c || cp == 0x200e || cp == 0x200f ||
                             (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069));
                p += k;
            } else {
                assert_true(p[0] >= 0x20 && p[0] < 0x7f);
                p++;
            }
        }
    }
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

/* a reload sets the level while mail threads log (ThreadSanitizer sees no race) */
static void *
level_setter(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++)
        log_set_level(i % 2 ? LOG_DEBUG : LOG_WARNING);
    return NULL;
}

static void
count_lines(int level, const char *line, void *arg)
{
    (void)level;
    (void)line;
    __atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED);
}

static void
test_log_level_changes_while_threads_log(void **state)
{
    pthread_t t;
    int n = 0, seen_on = 0;
    (void)state;
    log_capture(count_lines, &n);
    assert_int_equal(pthread_create(&t, NULL, level_setter, NULL), 0);
    for (int i = 0; i < 20000; i++) {
        seen_on += log_enabled(LOG_DEBUG);
        log_msg(LOG_INFO, "Q1", "line %d", i);
    }
    pthread_join(t, NULL);
    log_set_level(LOG_INFO);
    assert_int_equal(log_get_level(), LOG_INFO);
    assert_true(n >= 0 && n <= 20000 && seen_on >= 0);
    log_capture(NULL, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_sanitize_neutralises_control_and_bad_utf8),
        cmocka_unit_test(test_log_sanitize_escapes_c1_overlong_surrogates_and_bidi),
        cmocka_unit_test(test_log_sanitize_output_is_always_clean),
        cmocka_unit_test(test_log_sanitize_truncates_without_splitting_escapes),
        cmocka_unit_test(test_log_levels_filter_in_one_place_and_prefix_queue_id),
        cmocka_unit_test(test_log_level_changes_while_threads_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
